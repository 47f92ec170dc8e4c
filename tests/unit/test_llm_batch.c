/*
 * test_llm_batch.c — kw_session_decode_batch: several sequences in one
 * forward pass get logits bit-identical to decoding each alone with the
 * same chunks, whatever else shares the pass (prompt chunks long enough for
 * the wide-batch matmul and tiled attention next to one-token steps), and
 * bad batches are refused without decoding anything.
 */
#include <string.h>

#include "kaiwu/llm.h"
#include "testutil.h"

#define N_SEQ 4
#define STEPS 6

/* chunk sizes: 40 takes the tiled attention, 9 the wide matmul, 3 neither */
static const size_t chunks[N_SEQ][2] = {{40, 5}, {9, 3}, {3, 1}, {1, 12}};

static void make_tokens(int32_t *t, size_t n, uint64_t seed, int32_t vocab) {
    for (size_t i = 0; i < n; i++)
        t[i] = (int32_t)(kw_test_rand(&seed) % (uint64_t)vocab);
}

static int32_t argmax(const float *x, int32_t n) {
    int32_t b = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static struct kw_session *session(struct kw_model *m, uint32_t threads,
                                  uint32_t batch) {
    struct kw_session_params p = kw_session_default_params();
    p.n_ctx = 256;
    p.n_threads = threads;
    p.n_batch = batch;
    struct kw_session *s = NULL;
    char err[256];
    CHECKF(kw_session_new(m, &p, &s, err, sizeof err) == KW_STATUS_OK, "%s",
           err);
    return s;
}

static void run_model(const char *file) {
    const char *path = kw_test_model(file);
    struct kw_model *m = NULL;
    char err[256];
    if (kw_model_load(path, NULL, &m, err, sizeof err) != KW_STATUS_OK) {
        CHECKF(0, "%s", err);
        return;
    }
    const int32_t V = kw_model_n_vocab(m);
    int32_t prompt[N_SEQ][64];
    float *alone = malloc((size_t)N_SEQ * (STEPS + 2) * (size_t)V *
                          sizeof(float));
    int32_t gen[N_SEQ][STEPS];

    /* each sequence alone: its two prompt chunks, then greedy steps */
    for (int i = 0; i < N_SEQ; i++) {
        make_tokens(prompt[i], chunks[i][0] + chunks[i][1], 7 + (uint64_t)i,
                    V);
        struct kw_session *s = session(m, 2, 64);
        size_t off = 0;
        for (int c = 0; c < 2; c++) {
            CHECK(kw_session_decode(s, prompt[i] + off, chunks[i][c]) ==
                  KW_STATUS_OK);
            off += chunks[i][c];
            memcpy(alone + ((size_t)i * (STEPS + 2) + (size_t)c) * (size_t)V,
                   kw_session_logits(s), (size_t)V * sizeof(float));
        }
        for (int k = 0; k < STEPS; k++) {
            gen[i][k] = argmax(kw_session_logits(s), V);
            CHECK(kw_session_decode(s, &gen[i][k], 1) == KW_STATUS_OK);
            memcpy(alone + ((size_t)i * (STEPS + 2) + 2 + (size_t)k) *
                               (size_t)V,
                   kw_session_logits(s), (size_t)V * sizeof(float));
        }
        kw_session_free(s);
    }

    /* together: slots with one thread, a runner with the threads */
    struct kw_session *runner = session(m, 2, 64), *slot[N_SEQ];
    for (int i = 0; i < N_SEQ; i++) slot[i] = session(m, 1, 1);
    struct kw_batch_item it[N_SEQ];
    for (int c = 0; c < 2; c++) {
        size_t off;
        for (int i = 0; i < N_SEQ; i++) {
            off = c ? chunks[i][0] : 0;
            it[i] = (struct kw_batch_item){slot[i], prompt[i] + off,
                                           chunks[i][c]};
        }
        CHECK(kw_session_decode_batch(runner, it, N_SEQ) == KW_STATUS_OK);
        for (int i = 0; i < N_SEQ; i++)
            CHECKF(!memcmp(kw_session_logits(slot[i]),
                           alone + ((size_t)i * (STEPS + 2) + (size_t)c) *
                                       (size_t)V,
                           (size_t)V * sizeof(float)),
                   "%s: sequence %d prompt chunk %d differs from alone", file,
                   i, c);
    }
    for (int k = 0; k < STEPS; k++) {
        /* a different order each step: results must not depend on it */
        for (int j = 0; j < N_SEQ; j++) {
            const int i = (j + k) % N_SEQ;
            it[j] = (struct kw_batch_item){slot[i], &gen[i][k], 1};
        }
        CHECK(kw_session_decode_batch(runner, it, N_SEQ) == KW_STATUS_OK);
        for (int i = 0; i < N_SEQ; i++)
            CHECKF(!memcmp(kw_session_logits(slot[i]),
                           alone + ((size_t)i * (STEPS + 2) + 2 + (size_t)k) *
                                       (size_t)V,
                           (size_t)V * sizeof(float)),
                   "%s: sequence %d step %d differs from alone", file, i, k);
    }

    /* refusals leave every session as it was */
    uint32_t past = kw_session_n_past(slot[0]);
    int32_t bad = V, ok = 1;
    struct kw_batch_item two[2] = {{slot[0], &ok, 1}, {slot[0], &ok, 1}};
    CHECK(kw_session_decode_batch(runner, two, 2) == KW_STATUS_ERR_INVALID_ARG);
    two[1] = (struct kw_batch_item){slot[1], &bad, 1};
    CHECK(kw_session_decode_batch(runner, two, 2) == KW_STATUS_ERR_INVALID_ARG);
    two[1] = (struct kw_batch_item){slot[1], &ok, 0};
    CHECK(kw_session_decode_batch(runner, two, 2) == KW_STATUS_ERR_INVALID_ARG);
    int32_t many[65] = {0};
    two[1] = (struct kw_batch_item){slot[1], many, 64};
    CHECK(kw_session_decode_batch(runner, two, 2) == KW_STATUS_ERR_INVALID_ARG);
    kw_session_truncate(slot[1], 0);
    for (int i = 0; i < 4; i++) /* fill slot 1 to its 256 positions */
        CHECK(kw_session_decode(slot[1], many, 64) == KW_STATUS_OK);
    two[1] = (struct kw_batch_item){slot[1], &ok, 1};
    CHECK(kw_session_decode_batch(runner, two, 2) ==
          KW_STATUS_ERR_CONTEXT_FULL);
    CHECK(kw_session_n_past(slot[0]) == past);
    CHECK(kw_session_n_past(slot[1]) == 256);
    CHECK(kw_session_decode_batch(runner, NULL, 1) == KW_STATUS_ERR_INVALID_ARG);
    CHECK(kw_session_decode_batch(NULL, it, 1) == KW_STATUS_ERR_INVALID_ARG);

    for (int i = 0; i < N_SEQ; i++) kw_session_free(slot[i]);
    kw_session_free(runner);
    free(alone);
    kw_model_free(m);
}

int main(void) {
    run_model("SmolLM2-135M-Instruct.Q4_1.gguf");
    /* q6_K switches kernels for batches of 8+ tokens */
    run_model("SmolLM2-135M-Instruct.Q6_K.gguf");
    run_model("SmolLM2-135M-Instruct.Q4_K_M.gguf");
    return kw_test_finish("llm_batch");
}
