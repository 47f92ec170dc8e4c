/*
 * nn_kern_avx2.c — the NN float32 kernels of nn_kern.h (pooling, depthwise
 * convolution, activations, dot/axpy) compiled for AVX2.
 * Entry point: the table kw__nn_kern_avx2 (see nn_internal.h).
 */
#define KW_NN_KERN_NAME kw__nn_kern_avx2
#include "onnx/ops/nn_kern.h"
