/*
 * fuzz_onnx_model.c — libFuzzer target for the ONNX model decoder: the
 * input is a whole .onnx file. Loading must succeed or fail cleanly; a
 * loaded model's info queries must stay in bounds. CTest replays
 * tests/corpus/fuzz_onnx_model/ with it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "kaiwu/onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct kw_onnx_model *m;
    struct kw_onnx_options o = {1};
    char err[512];
    if (kw_onnx_load_memory(data, size, "fuzz", &o, &m, err, sizeof err))
        return 0;
    struct kw_onnx_io_info info;
    for (int i = 0; i < kw_onnx_n_inputs(m); i++)
        if (!kw_onnx_input_info(m, i, &info) || info.rank > KW_ONNX_MAX_RANK)
            abort();
    for (int i = 0; i < kw_onnx_n_outputs(m); i++)
        if (!kw_onnx_output_info(m, i, &info) || info.rank > KW_ONNX_MAX_RANK)
            abort();
    for (int i = 0; i < kw_onnx_n_ops(m); i++) {
        const char *d, *t;
        int sup;
        if (!kw_onnx_op(m, i, &d, &t, &sup) || !d || !t) abort();
    }
    kw_onnx_free(m);
    return 0;
}
