/*
 * test_onnx_corrupt.c — the ONNX loader on damaged real models: every
 * model of the ONNX test data suites named below, truncated at many offsets
 * and with random bytes overwritten, must load or fail with a message —
 * never crash, hang or leak (this test also runs under ASan+UBSan).
 * Without the test data (Debian libonnx-testdata) it skips, unless
 * KW_REQUIRE_MODELS=1.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kaiwu/onnx.h"
#include "testutil.h"

#define DATA "/usr/share/libonnx-testdata/data"

static const char *const k_models[] = {
    "node/test_conv_with_strides_padding", "node/test_loop11",
    "node/test_if_seq", "node/test_scan9_sum", "node/test_resize_upsample_scales_cubic",
    "node/test_lstm_with_peepholes", "node/test_cast_FLOAT_to_STRING",
    "node/test_sequence_map_add_2_sequences", "node/test_layer_normalization_4d_axis0_expanded",
    "simple/test_gradient_of_add_and_mul", "pytorch-converted/test_Conv2d",
    "pytorch-operator/test_operator_convtranspose",
    "pytorch-converted/test_GLU", "pytorch-converted/test_BatchNorm2d_eval",
};

static int loads(const unsigned char *p, size_t n, int *ok) {
    struct kw_onnx_model *m;
    struct kw_onnx_options o = {1};
    char err[512] = "";
    enum kw_status st = kw_onnx_load_memory(p, n, "corrupt", &o, &m, err, sizeof err);
    if (st == KW_STATUS_OK) {
        (*ok)++;
        kw_onnx_free(m);
        return 1;
    }
    /* a failure must say something */
    CHECKF(err[0] != '\0', "status %d without a message", (int)st);
    return 0;
}

int main(void) {
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    int n_models = 0, n_cases = 0, n_loaded = 0;
    for (size_t i = 0; i < sizeof k_models / sizeof k_models[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, DATA "/%s/model.onnx", k_models[i]);
        size_t n;
        unsigned char *orig = kw_test_read_file(path, &n);
        if (!orig) continue;
        n_models++;
        int ok = 0;
        CHECKF(loads(orig, n, &ok), "%s does not load intact", path);
        unsigned char *buf = malloc(n + 1);
        /* every truncation of small files, ~400 of big ones */
        size_t step = n > 400 ? n / 400 : 1;
        for (size_t cut = 0; cut < n; cut += step) {
            memcpy(buf, orig, cut);
            loads(buf, cut, &n_loaded);
            n_cases++;
        }
        /* 300 random overwrites of 1-4 bytes */
        for (int r = 0; r < 300; r++) {
            memcpy(buf, orig, n);
            int k = 1 + (int)(kw_test_rand(&rng) % 4);
            for (int j = 0; j < k; j++)
                buf[kw_test_rand(&rng) % n] = (unsigned char)kw_test_rand(&rng);
            loads(buf, n, &n_loaded);
            n_cases++;
        }
        free(buf);
        free(orig);
    }
    if (!n_models) {
        fprintf(stderr, "no ONNX test data under " DATA "\n");
        return getenv("KW_REQUIRE_MODELS") ? 1 : 77;
    }
    printf("%d models, %d damaged copies, %d still loaded\n", n_models,
           n_cases, n_loaded);
    CHECK(n_models >= 10);
    return kw_test_finish("test_onnx_corrupt");
}
