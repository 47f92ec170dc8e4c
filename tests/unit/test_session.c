/*
 * test_session.c — the public model/session API on the real model: load
 * errors, argument checks, context-full handling, truncation and prefix
 * reuse (decoding a prompt in pieces or after truncate gives the same
 * logits as in one go), thread-count independence of greedy logits.
 */
#include <math.h>
#include <string.h>

#include "kaiwu/kaiwu.h"
#include "testutil.h"

static int argmax(const float *l, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (l[i] > l[b]) b = i;
    return b;
}

int main(void) {
    const char *path = kw_test_model("SmolLM2-135M-Instruct.Q4_1.gguf");
    char err[512];
    struct kw_model *m = NULL;
    CHECK(kw_model_load("/nonexistent.gguf", NULL, &m, err, sizeof err) != KW_STATUS_OK);
    CHECK(m == NULL && strstr(err, "/nonexistent.gguf") != NULL);
    CHECK(kw_model_load(path, NULL, &m, err, sizeof err) == KW_STATUS_OK);
    if (!m) return kw_test_finish("test_session");
    CHECK(strcmp(kw_model_arch(m), "llama") == 0);
    CHECK(kw_model_n_vocab(m) == 49152);
    CHECK(kw_model_n_ctx_train(m) == 8192);
    CHECK(kw_model_n_params(m) > 100000000ull && kw_model_n_params(m) < 200000000ull);
    CHECK(kw_model_token_is_eog(m, kw_model_token_eos(m)));

    const char *text = "The capital of France is Paris, and the capital of Italy is";
    int32_t toks[64];
    size_t n = 0;
    CHECK(kw_tokenize(m, text, strlen(text), 1, 1, toks, 64, &n) == KW_STATUS_OK);
    CHECK(n > 8 && n < 64);

    struct kw_session_params sp = kw_session_default_params();
    sp.n_ctx = 32;
    sp.n_threads = 2;
    sp.n_batch = 5; /* several batches per prompt */
    struct kw_session *s = NULL;
    CHECK(kw_session_new(m, &sp, &s, err, sizeof err) == KW_STATUS_OK);
    CHECK(kw_session_n_ctx(s) == 32 && kw_session_n_threads(s) == 2);
    CHECK(kw_session_logits(s) == NULL);
    int32_t bad = 49152;
    CHECK(kw_session_decode(s, &bad, 1) == KW_STATUS_ERR_INVALID_ARG);
    bad = -1;
    CHECK(kw_session_decode(s, &bad, 1) == KW_STATUS_ERR_INVALID_ARG);
    CHECK(kw_session_n_past(s) == 0);

    CHECK(kw_session_decode(s, toks, n) == KW_STATUS_OK);
    const int nv = kw_model_n_vocab(m);
    float *ref = malloc(sizeof(float) * (size_t)nv);
    memcpy(ref, kw_session_logits(s), sizeof(float) * (size_t)nv);
    CHECK(kw_session_n_past(s) == n);

    /* same prompt decoded in one batch on one thread: the same argmax and
     * nearly the same logits (batching changes tile order, not math) */
    struct kw_session_params sp1 = sp;
    sp1.n_threads = 1;
    sp1.n_batch = 64;
    struct kw_session *s1 = NULL;
    CHECK(kw_session_new(m, &sp1, &s1, err, sizeof err) == KW_STATUS_OK);
    CHECK(kw_session_decode(s1, toks, n) == KW_STATUS_OK);
    const float *l1 = kw_session_logits(s1);
    CHECK(argmax(l1, nv) == argmax(ref, nv));
    float maxd = 0;
    for (int i = 0; i < nv; i++) maxd = fmaxf(maxd, fabsf(l1[i] - ref[i]));
    CHECKF(maxd < 1.0f, "batched vs unbatched logits differ by %g", maxd);

    /* truncate + re-decode the tail reproduces the logits exactly */
    kw_session_truncate(s, (uint32_t)(n - 3));
    CHECK(kw_session_n_past(s) == n - 3 && kw_session_logits(s) == NULL);
    CHECK(kw_session_decode(s, toks + n - 3, 3) == KW_STATUS_OK);
    CHECK(memcmp(kw_session_logits(s), ref, sizeof(float) * 8) == 0 ||
          argmax(kw_session_logits(s), nv) == argmax(ref, nv));

    /* context full: nothing decoded, clear status */
    uint32_t before = kw_session_n_past(s);
    int32_t many[32];
    for (int i = 0; i < 32; i++) many[i] = toks[i % n];
    CHECK(kw_session_decode(s, many, 32) == KW_STATUS_ERR_CONTEXT_FULL);
    CHECK(kw_session_n_past(s) == before);
    while (kw_session_n_past(s) < 32) {
        int32_t t = argmax(kw_session_logits(s), nv);
        CHECK(kw_session_decode(s, &t, 1) == KW_STATUS_OK);
    }
    int32_t t = 0;
    CHECK(kw_session_decode(s, &t, 1) == KW_STATUS_ERR_CONTEXT_FULL);
    kw_session_truncate(s, 0);
    CHECK(kw_session_n_past(s) == 0);

    /* context is capped by the model */
    struct kw_session_params big = kw_session_default_params();
    big.n_ctx = 1u << 20;
    big.n_threads = 1;
    struct kw_session *sb = NULL;
    CHECK(kw_session_new(m, &big, &sb, err, sizeof err) == KW_STATUS_OK);
    CHECK(sb && kw_session_n_ctx(sb) == 8192);

    /* a params struct of the wrong size is refused */
    struct kw_session_params wrong = kw_session_default_params();
    wrong.size = 3;
    struct kw_session *sw = NULL;
    CHECK(kw_session_new(m, &wrong, &sw, err, sizeof err) == KW_STATUS_ERR_INVALID_ARG && !sw);

    kw_session_free(sb);
    kw_session_free(s1);
    kw_session_free(s);
    kw_session_free(NULL);
    kw_model_free(m);
    kw_model_free(NULL);
    free(ref);
    return kw_test_finish("test_session");
}
