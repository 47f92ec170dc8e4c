/*
 * nn.c — operator family 'nn': the table (convolutions, GEMM/MatMul,
 * pooling, quantization, Einsum, Det, NonMaxSuppression, RoiAlign; the
 * implementations live in conv.c, gemm.c, pool.c, quant.c, einsum.c and
 * nn_misc.c) and the shared convolution/pooling geometry.
 */
#include "onnx/ops/nn_internal.h"

const struct kw__op kw__ops_nn[] = {
    {"", "Conv", 1, 0, kw__op_conv},
    {"", "ConvTranspose", 1, 0, kw__op_conv_transpose},
    {"", "ConvInteger", 10, 0, kw__op_conv_integer},
    {"", "QLinearConv", 10, 0, kw__op_qlinear_conv},
    {"", "Gemm", 1, 0, kw__op_gemm},
    {"", "MatMul", 1, 0, kw__op_matmul},
    {"", "MatMulInteger", 10, 0, kw__op_matmul_integer},
    {"", "QLinearMatMul", 10, 0, kw__op_qlinear_matmul},
    {"", "MaxPool", 1, 0, kw__op_max_pool},
    {"", "AveragePool", 1, 0, kw__op_average_pool},
    {"", "LpPool", 1, 0, kw__op_lp_pool},
    {"", "GlobalAveragePool", 1, 0, kw__op_global_average_pool},
    {"", "GlobalMaxPool", 1, 0, kw__op_global_max_pool},
    {"", "GlobalLpPool", 1, 0, kw__op_global_lp_pool},
    {"", "MaxUnpool", 9, 0, kw__op_max_unpool},
    {"", "QuantizeLinear", 10, 0, kw__op_quantize_linear},
    {"", "DequantizeLinear", 10, 0, kw__op_dequantize_linear},
    {"", "DynamicQuantizeLinear", 11, 0, kw__op_dynamic_quantize_linear},
    {"", "Einsum", 12, 0, kw__op_einsum},
    {"", "Det", 11, 0, kw__op_det},
    {"", "NonMaxSuppression", 10, 0, kw__op_non_max_suppression},
    {"", "RoiAlign", 10, 0, kw__op_roi_align},
    {0},
};

void kw__node_prepare(struct kw__node *n, const struct kw__graph *g) {
    if (!n->op || n->state) return;
    if (n->op->run == kw__op_conv) kw__conv_prepare(n, g);
    else if (n->op->run == kw__op_gemm) kw__gemm_prepare(n, g);
}

const struct kw__nn_kern *kw__nn_kern_isa(enum kw__isa isa) {
#if KW_HAVE_X86
    kw__cpu_init();
    if (isa == KW__ISA_AVX512 && kw__cpu_has(KW__ISA_AVX512))
        return &kw__nn_kern_avx512;
    if (isa >= KW__ISA_AVX2 && kw__cpu_has(KW__ISA_AVX2))
        return &kw__nn_kern_avx2;
#endif
    (void)isa;
    return NULL;
}

static int g_force_isa = -1;

void kw__nn_force_isa(int isa) { g_force_isa = isa; }

enum kw__isa kw__nn_isa(void) {
    kw__cpu_init();
    if (g_force_isa >= 0 && g_force_isa < KW__ISA_COUNT &&
        (g_force_isa == KW__ISA_REF || kw__cpu_has((enum kw__isa)g_force_isa)))
        return (enum kw__isa)g_force_isa;
    return kw__cpu_isa();
}

const struct kw__nn_kern *kw__nn_kern(void) {
    return kw__nn_kern_isa(kw__nn_isa());
}

void kw__nn_act_ref(float *y, int64_t n, int act, float a, float b) {
    for (int64_t i = 0; i < n; i++) {
        const float x = y[i];
        float r = x;
        switch (act) {
        case KW_ACT_RELU: r = x > 0 ? x : 0; break;
        case KW_ACT_CLIP: r = x < a ? a : x > b ? b : x; break;
        case KW_ACT_LEAKY_RELU: r = x >= 0 ? x : a * x; break;
        case KW_ACT_SIGMOID: r = 1.0f / (1.0f + expf(-x)); break;
        case KW_ACT_HARD_SIGMOID: {
            const float t = a * x + b;
            r = t < 0 ? 0 : t > 1 ? 1 : t;
            break;
        }
        case KW_ACT_HARD_SWISH: {
            const float t = x / 6.0f + 0.5f;
            r = x * (t < 0 ? 0 : t > 1 ? 1 : t);
            break;
        }
        default: break;
        }
        y[i] = r;
    }
}

/* Geometry values beyond this are refused: they keep every product of a
 * few of them far from int64 overflow. */
#define GEOM_LIMIT ((int64_t)1 << 30)

int64_t kw__nn_prod(const int64_t *d, int n) {
    int64_t p = 1;
    for (int i = 0; i < n; i++) {
        if (d[i] < 0) return -1;
        if (d[i] && p > INT64_MAX / d[i]) return -1;
        p *= d[i];
    }
    return p;
}

static enum kw_status read_ints(struct kw__op_ctx *c, const char *name,
                                size_t want, int64_t lo, int64_t def,
                                int64_t *out) {
    size_t n;
    const int64_t *v = kw__attr_ints(c, name, &n);
    for (size_t i = 0; i < want; i++) out[i] = def;
    if (!v) return KW_STATUS_OK;
    if (n != want)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "attribute %s has %zu values, expected %zu", name,
                           n, want);
    for (size_t i = 0; i < n; i++) {
        if (v[i] < lo || v[i] > GEOM_LIMIT)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "attribute %s[%zu] = %lld is out of range",
                               name, i, (long long)v[i]);
        out[i] = v[i];
    }
    return KW_STATUS_OK;
}

enum kw_status kw__nn_geom_init(struct kw__op_ctx *c,
                                const struct kw_onnx_value *x,
                                const int64_t *kshape, int ceil,
                                struct kw__nn_geom *g) {
    memset(g, 0, sizeof *g);
    if (x->rank < 3)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "input must be (N, C, spatial...), got rank %d",
                           x->rank);
    const int n = g->nsp = x->rank - 2;
    enum kw_status st;
    for (int i = 0; i < n; i++) {
        g->in[i] = x->dims[i + 2];
        if (g->in[i] > GEOM_LIMIT)
            return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                               "spatial size %lld too large",
                               (long long)g->in[i]);
    }
    size_t nk;
    kw__attr_ints(c, "kernel_shape", &nk);
    if (nk || !kshape) {
        if (!nk)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "attribute kernel_shape is required");
        if ((st = read_ints(c, "kernel_shape", (size_t)n, 1, 1, g->k)))
            return st;
    } else {
        for (int i = 0; i < n; i++) {
            if (kshape[i] < 1 || kshape[i] > GEOM_LIMIT)
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "kernel dimension %lld out of range",
                                   (long long)kshape[i]);
            g->k[i] = kshape[i];
        }
    }
    if ((st = read_ints(c, "strides", (size_t)n, 1, 1, g->s))) return st;
    if ((st = read_ints(c, "dilations", (size_t)n, 1, 1, g->d))) return st;
    int64_t pads[2 * KW_NN_MAX_SP];
    if ((st = read_ints(c, "pads", (size_t)(2 * n), 0, 0, pads))) return st;
    const char *ap = kw__attr_s(c, "auto_pad", "NOTSET");
    const int same_upper = !strcmp(ap, "SAME_UPPER");
    const int same_lower = !strcmp(ap, "SAME_LOWER");
    const int valid = !strcmp(ap, "VALID");
    if (!same_upper && !same_lower && !valid && strcmp(ap, "NOTSET") &&
        ap[0])
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "unknown auto_pad '%s'",
                           ap);
    for (int i = 0; i < n; i++) {
        const int64_t ek = (g->k[i] - 1) * g->d[i] + 1;
        if (same_upper || same_lower) {
            g->out[i] = (g->in[i] + g->s[i] - 1) / g->s[i];
            int64_t total = (g->out[i] - 1) * g->s[i] + ek - g->in[i];
            if (total < 0) total = 0;
            g->pb[i] = same_upper ? total / 2 : total - total / 2;
            g->pe[i] = total - g->pb[i];
            continue;
        }
        if (!valid) {
            g->pb[i] = pads[i];
            g->pe[i] = pads[i + n];
        }
        const int64_t span = g->in[i] + g->pb[i] + g->pe[i] - ek;
        if (span < 0)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "kernel extent %lld exceeds padded input %lld",
                               (long long)ek,
                               (long long)(g->in[i] + g->pb[i] + g->pe[i]));
        if (ceil) {
            g->out[i] = (span + g->s[i] - 1) / g->s[i] + 1;
            /* the last window must start inside the input or its left pad */
            if ((g->out[i] - 1) * g->s[i] >= g->in[i] + g->pb[i]) g->out[i]--;
        } else {
            g->out[i] = span / g->s[i] + 1;
        }
    }
    return KW_STATUS_OK;
}
