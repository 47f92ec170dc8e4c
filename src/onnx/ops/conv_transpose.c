/*
 * conv_transpose.c — ConvTranspose: per image and group, the GEMM
 * W^T (Mg*KK, Cg) x X (Cg, in) gives columns that col2im scatters into the
 * output planes (threads own whole output channels, so no races). Output
 * size from output_shape (padding derived), auto_pad or pads.
 */
#include "onnx/ops/nn_internal.h"

#define LIMIT ((int64_t)1 << 30)

static int64_t floordiv2(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

static enum kw_status ints_attr(struct kw__op_ctx *c, const char *name,
                                int n, int64_t lo, int64_t def, int64_t *out) {
    size_t k;
    const int64_t *v = kw__attr_ints(c, name, &k);
    for (int i = 0; i < n; i++) out[i] = def;
    if (!v) return KW_STATUS_OK;
    if (k != (size_t)n)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "attribute %s has %zu values, expected %d", name, k,
                           n);
    for (int i = 0; i < n; i++) {
        if (v[i] < lo || v[i] > LIMIT)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "attribute %s out of range", name);
        out[i] = v[i];
    }
    return KW_STATUS_OK;
}

/* Fills g (in, k, s, d, pb, out; pe unused) for ConvTranspose. */
static enum kw_status ct_geom(struct kw__op_ctx *c,
                              const struct kw_onnx_value *X,
                              const struct kw_onnx_value *W,
                              struct kw__nn_geom *g) {
    memset(g, 0, sizeof *g);
    const int n = g->nsp = X->rank - 2;
    enum kw_status st;
    for (int i = 0; i < n; i++) {
        g->in[i] = X->dims[i + 2];
        g->k[i] = W->dims[i + 2];
        if (g->in[i] > LIMIT || g->k[i] > LIMIT || g->k[i] < 1)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "bad sizes");
    }
    int64_t ks[KW_NN_MAX_SP], op[KW_NN_MAX_SP], pads[2 * KW_NN_MAX_SP];
    if ((st = ints_attr(c, "kernel_shape", n, 1, 0, ks))) return st;
    for (int i = 0; i < n; i++)
        if (ks[i] && ks[i] != g->k[i])
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "kernel_shape disagrees with W");
    if ((st = ints_attr(c, "strides", n, 1, 1, g->s))) return st;
    if ((st = ints_attr(c, "dilations", n, 1, 1, g->d))) return st;
    if ((st = ints_attr(c, "output_padding", n, 0, 0, op))) return st;
    if ((st = ints_attr(c, "pads", 2 * n, 0, 0, pads))) return st;
    size_t nos;
    const int64_t *os = kw__attr_ints(c, "output_shape", &nos);
    if (os && nos != (size_t)n && nos != (size_t)n + 2)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "output_shape has %zu values", nos);
    const char *ap = kw__attr_s(c, "auto_pad", "NOTSET");
    const int upper = !strcmp(ap, "SAME_UPPER"), lower = !strcmp(ap, "SAME_LOWER");
    size_t npads;
    kw__attr_ints(c, "pads", &npads);
    for (int i = 0; i < n; i++) {
        const int64_t ek = (g->k[i] - 1) * g->d[i] + 1;
        const int64_t full = g->s[i] * (g->in[i] - 1) + op[i] + ek;
        if (os || ((upper || lower) && !npads)) {
            int64_t out = os ? os[nos - (size_t)n + (size_t)i] : g->in[i] * g->s[i];
            if (out < 0 || out > LIMIT)
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "output_shape out of range");
            const int64_t total = full - out;
            g->pb[i] = upper ? floordiv2(total) : total - floordiv2(total);
            g->out[i] = out;
        } else {
            g->pb[i] = pads[i];
            g->out[i] = full - pads[i] - pads[i + n];
            if (g->out[i] < 0)
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "pads exceed the output");
        }
    }
    return KW_STATUS_OK;
}

struct col2im_job {
    const struct kw__nn_geom *g;
    const float *col; /* (Mg*KK, insz) */
    float *y;         /* (Mg, out...) */
    int64_t KK, insz, outsz;
};

static void col2im_ch(void *arg, int64_t m0, int64_t m1) {
    const struct col2im_job *j = arg;
    const struct kw__nn_geom *g = j->g;
    const int n = g->nsp;
    int64_t ost[KW_NN_MAX_SP];
    int64_t st = 1;
    for (int d = n - 1; d >= 0; d--) {
        ost[d] = st;
        st *= g->out[d];
    }
    for (int64_t m = m0; m < m1; m++) {
        float *yp = j->y + m * j->outsz;
        for (int64_t kk = 0; kk < j->KK; kk++) {
            int64_t kidx[KW_NN_MAX_SP], r = kk;
            for (int d = n - 1; d >= 0; d--) {
                kidx[d] = r % g->k[d];
                r /= g->k[d];
            }
            const float *src = j->col + (m * j->KK + kk) * j->insz;
            int64_t i[KW_NN_MAX_SP] = {0};
            for (int64_t p = 0; p < j->insz; p++) {
                int64_t off = 0;
                int ok = 1;
                for (int d = 0; d < n; d++) {
                    const int64_t o = i[d] * g->s[d] - g->pb[d] + kidx[d] * g->d[d];
                    if (o < 0 || o >= g->out[d]) {
                        ok = 0;
                        break;
                    }
                    off += o * ost[d];
                }
                if (ok) yp[off] += src[p];
                for (int d = n - 1; d >= 0; d--) {
                    if (++i[d] < g->in[d]) break;
                    i[d] = 0;
                }
            }
        }
    }
}

enum kw_status kw__op_conv_transpose(struct kw__op_ctx *c) {
    const struct kw_onnx_value *X = kw__in(c, 0), *W = kw__in(c, 1),
                               *B = kw__in(c, 2);
    if (!kw__is_tensor(X) || !kw__is_tensor(W))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "X and W are required");
    if (X->dtype != KW_ONNX_FLOAT || W->dtype != X->dtype ||
        (B && (!kw__is_tensor(B) || B->dtype != X->dtype)))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "only float32 is supported (got %s)",
                           kw_onnx_dtype_name(X->dtype));
    if (X->rank < 3 || W->rank != X->rank)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "X and W must be (N, C, ...) of equal rank >= 3");
    const int64_t N = X->dims[0], C = X->dims[1];
    const int64_t group = kw__attr_i(c, "group", 1);
    if (group < 1 || C % group || W->dims[0] != C)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "W must be (C=%lld, M/group, ...)", (long long)C);
    const int64_t Cg = C / group, Mg = W->dims[1], M = Mg * group;
    if (B && (B->rank != 1 || B->dims[0] != M))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "B must have %lld elements", (long long)M);
    struct kw__nn_geom g;
    enum kw_status st = ct_geom(c, X, W, &g);
    if (st) return st;
    const int n = g.nsp;
    int64_t ydims[KW_ONNX_MAX_RANK] = {N, M};
    for (int d = 0; d < n; d++) ydims[d + 2] = g.out[d];
    const int64_t insz = kw__nn_prod(g.in, n), outsz = kw__nn_prod(g.out, n);
    const int64_t KK = kw__nn_prod(g.k, n);
    const int64_t colsz = kw__nn_prod((int64_t[]){Mg, KK, insz}, 3);
    if (insz < 0 || outsz < 0 || KK < 0 || colsz < 0 ||
        kw__nn_prod(ydims, X->rank) < 0)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "sizes too large");
    struct kw_onnx_value *Y = kw__out_tensor(c, 0, X->dtype, X->rank, ydims);
    if (!Y) return KW_STATUS_ERR_NOMEM;
    float *y = Y->data;
    const float *x = X->data, *w = W->data;
    if (B)
        for (int64_t b = 0; b < N; b++)
            for (int64_t m = 0; m < M; m++)
                for (int64_t i = 0; i < outsz; i++)
                    y[(b * M + m) * outsz + i] = ((const float *)B->data)[m];
    if (!N || !M || !insz || !outsz) return KW_STATUS_OK;
    float *col = kw__alloc_aligned((size_t)colsz * sizeof(float));
    if (!col) return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    struct col2im_job j = {&g, col, NULL, KK, insz, outsz};
    for (int64_t b = 0; b < N; b++)
        for (int64_t gi = 0; gi < group; gi++) {
            memset(col, 0, (size_t)colsz * sizeof(float));
            struct kw__sgemm s = {Mg * KK, insz, Cg, w + gi * Cg * Mg * KK, 1,
                                  Mg * KK, x + (b * C + gi * Cg) * insz, insz,
                                  1, col, insz, 1.0f};
            kw__sgemm_run(c, &s);
            j.y = y + (b * M + gi * Mg) * outsz;
            kw__nn_parallel(c, Mg, 1, col2im_ch, &j);
        }
    kw__free_aligned(col);
    return KW_STATUS_OK;
}
