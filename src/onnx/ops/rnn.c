/*
 * rnn.c — the recurrent operators RNN, GRU and LSTM (opset 7..22):
 * forward/reverse/bidirectional, custom activations with alpha/beta, clip,
 * sequence_lens, initial states, GRU linear_before_reset, LSTM peepholes
 * and input_forget, and the batch-first layout (opset 14). float32 inputs
 * take a float path built on the packed GEMM; other dtypes are computed in
 * double precision. Entry points: kw__op_rnn, kw__op_gru, kw__op_lstm.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "onnx/ops/nn_internal.h"
#include "onnx/ops/signal_ops.h"

enum { K_RNN, K_GRU, K_LSTM };

enum { A_SIGMOID, A_TANH, A_RELU, A_AFFINE, A_LEAKY_RELU, A_THRESHOLDED_RELU,
       A_SCALED_TANH, A_HARD_SIGMOID, A_ELU, A_SOFTSIGN, A_SOFTPLUS };

struct act {
    int kind;
    double alpha, beta;
};

static double act_apply(const struct act *a, double x) {
    switch (a->kind) {
    case A_SIGMOID: return 1 / (1 + exp(-x));
    case A_TANH: return tanh(x);
    case A_RELU: return x > 0 ? x : 0;
    case A_AFFINE: return a->alpha * x + a->beta;
    case A_LEAKY_RELU: return x >= 0 ? x : a->alpha * x;
    case A_THRESHOLDED_RELU: return x > a->alpha ? x : 0;
    case A_SCALED_TANH: return a->alpha * tanh(a->beta * x);
    case A_HARD_SIGMOID: {
        double v = a->alpha * x + a->beta;
        return v < 0 ? 0 : v > 1 ? 1 : v;
    }
    case A_ELU: return x >= 0 ? x : a->alpha * (exp(x) - 1);
    case A_SOFTSIGN: return x / (1 + fabs(x));
    default: return log1p(exp(-fabs(x))) + (x > 0 ? x : 0); /* softplus */
    }
}

/* Name to activation with its default alpha/beta; 0 when unknown. The
 * attribute lists are consumed in order by the functions that use them. */
static int act_parse(const char *name, struct act *a, const float *alphas,
                     size_t na, size_t *ia, const float *betas, size_t nb,
                     size_t *ib) {
    static const struct { const char *name; int kind, n_alpha, n_beta; double alpha, beta; } t[] = {
        {"Sigmoid", A_SIGMOID, 0, 0, 0, 0},
        {"Tanh", A_TANH, 0, 0, 0, 0},
        {"Relu", A_RELU, 0, 0, 0, 0},
        {"Affine", A_AFFINE, 1, 1, 1, 0},
        {"LeakyRelu", A_LEAKY_RELU, 1, 0, 0.01, 0},
        {"ThresholdedRelu", A_THRESHOLDED_RELU, 1, 0, 1, 0},
        {"ScaledTanh", A_SCALED_TANH, 1, 1, 1, 1},
        {"HardSigmoid", A_HARD_SIGMOID, 1, 1, 0.2, 0.5},
        {"Elu", A_ELU, 1, 0, 1, 0},
        {"Softsign", A_SOFTSIGN, 0, 0, 0, 0},
        {"Softplus", A_SOFTPLUS, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (strcasecmp(name, t[i].name)) continue;
        a->kind = t[i].kind;
        a->alpha = t[i].alpha;
        a->beta = t[i].beta;
        if (t[i].n_alpha && *ia < na) a->alpha = alphas[(*ia)++];
        if (t[i].n_beta && *ib < nb) a->beta = betas[(*ib)++];
        return 1;
    }
    return 0;
}

/* A float input as a new double array of its n elements; NULL on
 * allocation failure (n may be 0). */
static double *to_f64(const struct kw_onnx_value *v, int64_t n) {
    double *d = malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
    if (d)
        for (int64_t i = 0; i < n; i++) d[i] = kw__get_f64(v, i);
    return d;
}

static int shape_is(const struct kw_onnx_value *v, int rank, const int64_t *dims) {
    if (!kw__is_tensor(v) || v->rank != rank || !kw__dtype_is_float(v->dtype)) return 0;
    for (int i = 0; i < rank; i++)
        if (v->dims[i] != dims[i]) return 0;
    return 1;
}

struct rnn {
    int kind, G; /* gates per op: 1, 3, 4 */
    int64_t T, B, I, H, D;
    int layout, lbr, input_forget;
    double clip; /* 0: none */
    struct act acts[2][3];
    double *x, *w, *r, *b, *h0, *c0, *p;
    int64_t *seqlen;
};

static double clipv(const struct rnn *m, double v) {
    if (m->clip > 0) v = v < -m->clip ? -m->clip : v > m->clip ? m->clip : v;
    return v;
}

/* Runs direction d over every batch row; Y (may be NULL) is [T, D, B, H],
 * yh/yc [D, B, H] in the default layout (permuted by the caller). */
static void rnn_dir(const struct rnn *m, int d, int reverse, double *y,
                    double *yh, double *yc, double *scratch) {
    int64_t H = m->H, I = m->I, G = m->G, GH = G * H;
    const double *W = m->w + d * GH * I, *R = m->r + d * GH * H;
    const double *Wb = m->b ? m->b + d * 2 * GH : NULL, *Rb = Wb ? Wb + GH : NULL;
    const double *P = m->p ? m->p + d * 3 * H : NULL;
    const struct act *a = m->acts[d];
    double *gx = scratch, *gh = gx + GH, *hn = gh + GH, *rh = hn + H;
    for (int64_t bi = 0; bi < m->B; bi++) {
        double *h = yh + (d * m->B + bi) * H;
        double *cst = yc + (d * m->B + bi) * H;
        for (int64_t j = 0; j < H; j++) {
            h[j] = m->h0 ? m->h0[(d * m->B + bi) * H + j] : 0;
            cst[j] = m->c0 ? m->c0[(d * m->B + bi) * H + j] : 0;
        }
        int64_t len = m->seqlen ? m->seqlen[bi] : m->T;
        for (int64_t s = 0; s < len; s++) {
            int64_t t = reverse ? len - 1 - s : s;
            const double *xt = m->x + (t * m->B + bi) * I;
            /* gx = W xt + Wb; gh = R h + Rb */
            for (int64_t g = 0; g < GH; g++) {
                double sx = Wb ? Wb[g] : 0, sh = Rb ? Rb[g] : 0;
                const double *wr = W + g * I, *rr = R + g * H;
                for (int64_t i = 0; i < I; i++) sx += wr[i] * xt[i];
                if (m->kind != K_GRU || g < 2 * H || m->lbr)
                    for (int64_t i = 0; i < H; i++) sh += rr[i] * h[i];
                gx[g] = sx;
                gh[g] = sh;
            }
            if (m->kind == K_RNN) {
                for (int64_t j = 0; j < H; j++)
                    hn[j] = act_apply(&a[0], clipv(m, gx[j] + gh[j]));
            } else if (m->kind == K_GRU) {
                /* gates z, r, h */
                for (int64_t j = 0; j < H; j++) {
                    double r = act_apply(&a[0], clipv(m, gx[H + j] + gh[H + j]));
                    rh[j] = r * h[j];
                    gx[H + j] = r;
                }
                if (!m->lbr)
                    for (int64_t j = 0; j < H; j++) {
                        double sh = Rb ? Rb[2 * H + j] : 0;
                        const double *rr = R + (2 * H + j) * H;
                        for (int64_t i = 0; i < H; i++) sh += rr[i] * rh[i];
                        gh[2 * H + j] = sh;
                    }
                for (int64_t j = 0; j < H; j++) {
                    double z = act_apply(&a[0], clipv(m, gx[j] + gh[j]));
                    double hh = m->lbr ? gx[2 * H + j] + gx[H + j] * gh[2 * H + j]
                                       : gx[2 * H + j] + gh[2 * H + j];
                    hh = act_apply(&a[1], clipv(m, hh));
                    hn[j] = (1 - z) * hh + z * h[j];
                }
            } else {
                /* gates i, o, f, c; peepholes i, o, f */
                for (int64_t j = 0; j < H; j++) {
                    double c = cst[j];
                    double gi = gx[j] + gh[j] + (P ? P[j] * c : 0);
                    double i_ = act_apply(&a[0], clipv(m, gi));
                    double f_;
                    if (m->input_forget) f_ = 1 - i_;
                    else f_ = act_apply(&a[0], clipv(m, gx[2 * H + j] + gh[2 * H + j] +
                                                             (P ? P[2 * H + j] * c : 0)));
                    double cc = act_apply(&a[1], clipv(m, gx[3 * H + j] + gh[3 * H + j]));
                    double cn = f_ * c + i_ * cc;
                    double o_ = act_apply(&a[0], clipv(m, gx[H + j] + gh[H + j] +
                                                              (P ? P[H + j] * cn : 0)));
                    cst[j] = cn;
                    hn[j] = o_ * act_apply(&a[2], cn);
                }
            }
            memcpy(h, hn, (size_t)H * sizeof *h);
            if (y) memcpy(y + ((t * m->D + d) * m->B + bi) * H, h, (size_t)H * sizeof *h);
        }
    }
}

/* Shape of an output: [T,] D, B, H in layout 0, B, [T,] D, H in layout 1
 * (T only for Y). Returns the rank. */
static int out_dims(const struct rnn *m, int has_t, int64_t *dims) {
    int rank = 0;
    if (m->layout) {
        dims[rank++] = m->B;
        if (has_t) dims[rank++] = m->T;
        dims[rank++] = m->D;
    } else {
        if (has_t) dims[rank++] = m->T;
        dims[rank++] = m->D;
        dims[rank++] = m->B;
    }
    dims[rank++] = m->H;
    return rank;
}

/* out[k] from a double buffer in the default layout [A, D, B, H] (A = T
 * for Y, absent for the states), permuted to layout 1 when asked. */
static enum kw_status emit(struct kw__op_ctx *c, int k, int dtype,
                           const struct rnn *m, const double *buf, int has_t) {
    if (!kw__out_wanted(c, k)) return KW_STATUS_OK;
    int64_t dims[4];
    int rank = out_dims(m, has_t, dims);
    struct kw_onnx_value *v = kw__out_tensor(c, k, dtype, rank, dims);
    if (!v) return KW_STATUS_ERR_NOMEM;
    int64_t A = has_t ? m->T : 1;
    for (int64_t t = 0; t < A; t++)
        for (int64_t d = 0; d < m->D; d++)
            for (int64_t b = 0; b < m->B; b++) {
                const double *src = buf + ((t * m->D + d) * m->B + b) * m->H;
                int64_t o = m->layout ? ((b * A + t) * m->D + d) * m->H
                                      : ((t * m->D + d) * m->B + b) * m->H;
                for (int64_t j = 0; j < m->H; j++) kw__set_f64(v, o + j, src[j]);
            }
    return KW_STATUS_OK;
}

/* ---- float32 path ----
 * The input projection X W^T + biases for every step at once with the
 * packed GEMM, then per step only R h (a GEMV for one or two batch rows,
 * the GEMM otherwise) and the gates, in float with the activation chosen
 * once per vector rather than per element. */

static float act_f(const struct act *a, float x) {
    float al = (float)a->alpha, be = (float)a->beta;
    switch (a->kind) {
    case A_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case A_TANH: return tanhf(x);
    case A_RELU: return x > 0 ? x : 0;
    case A_AFFINE: return al * x + be;
    case A_LEAKY_RELU: return x >= 0 ? x : al * x;
    case A_THRESHOLDED_RELU: return x > al ? x : 0;
    case A_SCALED_TANH: return al * tanhf(be * x);
    case A_HARD_SIGMOID: {
        float v = al * x + be;
        return v < 0 ? 0 : v > 1 ? 1 : v;
    }
    case A_ELU: return x >= 0 ? x : al * (expf(x) - 1);
    case A_SOFTSIGN: return x / (1 + fabsf(x));
    default: return log1pf(expf(-fabsf(x))) + (x > 0 ? x : 0); /* softplus */
    }
}

/* x[0..n) = act(clip(x)) in place (clip only when clip > 0); the common
 * activations get their own loops. */
static void act_vec(const struct act *a, float clip, float *x, int64_t n) {
    if (clip > 0)
        for (int64_t i = 0; i < n; i++)
            x[i] = x[i] < -clip ? -clip : x[i] > clip ? clip : x[i];
    switch (a->kind) {
    case A_SIGMOID:
        for (int64_t i = 0; i < n; i++) x[i] = 1.0f / (1.0f + expf(-x[i]));
        return;
    case A_TANH:
        for (int64_t i = 0; i < n; i++) x[i] = tanhf(x[i]);
        return;
    case A_RELU:
        for (int64_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
        return;
    default:
        for (int64_t i = 0; i < n; i++) x[i] = act_f(a, x[i]);
    }
}

struct rnnf {
    const struct rnn *m;
    struct kw__op_ctx *c;
    const float *x;          /* [T, B, I] */
    const float *w, *r, *b;  /* [D, GH, I], [D, GH, H], [D, 2 GH] or NULL */
    const float *p;          /* [D, 3 H] or NULL */
    const float *h0, *c0;    /* [D, B, H] or NULL */
    float *y, *yh, *yc;      /* [T, D, B, H], [D, B, H], [D, B, H] */
    float *xw;               /* [T, B, GH]: projections, then gate values */
    float *gh;               /* [B, GH]: R h (+ Rb where not folded) */
    float *rh, *tmp;         /* [B, H] */
    float *xwt;              /* [GH, T, B]: xw before its transpose */
};

/* gh[:, n0 .. n0+n) = init + h' R[n0 .. n0+n)^T for the B rows of h
 * ([B, H]); Rd is one direction's R. */
static void rec_gemm(const struct rnnf *f, const float *Rd, const float *h,
                     int64_t n0, int64_t n, const float *init) {
    const struct rnn *m = f->m;
    int64_t H = m->H, GH = m->G * m->H;
    for (int64_t bi = 0; bi < m->B; bi++) {
        float *row = f->gh + bi * GH + n0;
        if (init) memcpy(row, init, (size_t)n * sizeof *row);
        else memset(row, 0, (size_t)n * sizeof *row);
    }
    /* one or two rows: streaming R per row beats packing it every step */
    int64_t rows = m->B <= 2 ? 1 : m->B;
    for (int64_t b0 = 0; b0 < m->B; b0 += rows) {
        struct kw__sgemm g = {rows, n, H, h + b0 * H, H, 1, Rd + n0 * H, 1, H,
                              f->gh + b0 * GH + n0, GH, 1.0f};
        kw__sgemm_run(f->c, &g);
    }
}

static void rnn_dir_f32(const struct rnnf *f, int d, int reverse) {
    const struct rnn *m = f->m;
    int64_t T = m->T, B = m->B, I = m->I, H = m->H, G = m->G, GH = G * H;
    const float *Wd = f->w + d * GH * I, *Rd = f->r + d * GH * H;
    const float *Wb = f->b ? f->b + d * 2 * GH : NULL, *Rb = Wb ? Wb + GH : NULL;
    const float *P = f->p ? f->p + d * 3 * H : NULL;
    const struct act *a = m->acts[d];
    float clip = (float)m->clip;
    int gru_split = m->kind == K_GRU; /* h gate's Rb stays out of xw */
    /* xw = Wb + Rb (folded) + X W^T, computed as W X^T [GH, T B]: the
     * GEMM then packs W by contiguous rows, and only the (usually smaller)
     * result is transposed. */
    int64_t TB = T * B;
    memset(f->xwt, 0, (size_t)(GH * TB) * sizeof *f->xwt);
    if (TB > 0 && I > 0) {
        struct kw__sgemm g = {GH, TB, I, Wd, I, 1, f->x, 1, I, f->xwt, TB, 1.0f};
        kw__sgemm_run(f->c, &g);
    }
    for (int64_t t0 = 0; t0 < TB; t0 += 16)
        for (int64_t g = 0; g < GH; g++) {
            float bias = Wb ? Wb[g] + (gru_split && g >= 2 * H ? 0 : Rb[g]) : 0;
            for (int64_t tb = t0; tb < TB && tb < t0 + 16; tb++)
                f->xw[tb * GH + g] = bias + f->xwt[g * TB + tb];
        }
    float *h = f->yh + d * B * H, *cs = f->yc + d * B * H;
    for (int64_t i = 0; i < B * H; i++) {
        h[i] = f->h0 ? f->h0[d * B * H + i] : 0;
        cs[i] = f->c0 ? f->c0[d * B * H + i] : 0;
    }
    int64_t steps = 0;
    for (int64_t bi = 0; bi < B; bi++) {
        int64_t len = m->seqlen ? m->seqlen[bi] : T;
        steps = len > steps ? len : steps;
    }
    const float *rbh = Rb ? Rb + 2 * H : NULL;
    for (int64_t s = 0; s < steps; s++) {
        if (m->kind == K_GRU && !m->lbr) rec_gemm(f, Rd, h, 0, 2 * H, NULL);
        else if (m->kind == K_GRU) {
            rec_gemm(f, Rd, h, 0, 2 * H, NULL);
            rec_gemm(f, Rd, h, 2 * H, H, rbh);
        } else rec_gemm(f, Rd, h, 0, GH, NULL);
        /* the first phase: everything that needs only R h */
        for (int64_t bi = 0; bi < B; bi++) {
            int64_t len = m->seqlen ? m->seqlen[bi] : T;
            if (s >= len) continue;
            int64_t t = reverse ? len - 1 - s : s;
            float *g = f->xw + (t * B + bi) * GH;
            const float *q = f->gh + bi * GH;
            float *hb = h + bi * H, *cb = cs + bi * H, *tmp = f->tmp + bi * H;
            if (m->kind == K_RNN) {
                for (int64_t j = 0; j < H; j++) g[j] += q[j];
                act_vec(&a[0], clip, g, H);
                memcpy(hb, g, (size_t)H * sizeof *hb);
            } else if (m->kind == K_GRU) {
                for (int64_t j = 0; j < 2 * H; j++) g[j] += q[j];
                act_vec(&a[0], clip, g, 2 * H); /* z, r */
                float *rh = f->rh + bi * H;
                for (int64_t j = 0; j < H; j++) rh[j] = g[H + j] * hb[j];
            } else {
                /* gates i, o, f, c; peepholes i, o, f */
                float *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;
                for (int64_t j = 0; j < GH; j++) g[j] += q[j];
                if (P)
                    for (int64_t j = 0; j < H; j++) {
                        gi[j] += P[j] * cb[j];
                        gf[j] += P[2 * H + j] * cb[j];
                    }
                act_vec(&a[0], clip, gi, H);
                if (m->input_forget)
                    for (int64_t j = 0; j < H; j++) gf[j] = 1 - gi[j];
                else act_vec(&a[0], clip, gf, H);
                act_vec(&a[1], clip, gc, H);
                for (int64_t j = 0; j < H; j++) {
                    float cn = gf[j] * cb[j] + gi[j] * gc[j];
                    cb[j] = tmp[j] = cn;
                    if (P) go[j] += P[H + j] * cn;
                }
                act_vec(&a[0], clip, go, H);
                act_vec(&a[2], 0, tmp, H);
                for (int64_t j = 0; j < H; j++) hb[j] = go[j] * tmp[j];
            }
        }
        if (m->kind == K_GRU) {
            /* h gate: linear_before_reset applies r after R h + Rb */
            if (!m->lbr) rec_gemm(f, Rd, f->rh, 2 * H, H, rbh);
            for (int64_t bi = 0; bi < B; bi++) {
                int64_t len = m->seqlen ? m->seqlen[bi] : T;
                if (s >= len) continue;
                int64_t t = reverse ? len - 1 - s : s;
                float *g = f->xw + (t * B + bi) * GH, *hb = h + bi * H;
                const float *q = f->gh + bi * GH + 2 * H;
                float *hh = g + 2 * H;
                if (m->lbr)
                    for (int64_t j = 0; j < H; j++) hh[j] += g[H + j] * q[j];
                else
                    for (int64_t j = 0; j < H; j++) hh[j] += q[j];
                act_vec(&a[1], clip, hh, H);
                for (int64_t j = 0; j < H; j++)
                    hb[j] = (1 - g[j]) * hh[j] + g[j] * hb[j];
            }
        }
        if (f->y)
            for (int64_t bi = 0; bi < B; bi++) {
                int64_t len = m->seqlen ? m->seqlen[bi] : T;
                if (s >= len) continue;
                int64_t t = reverse ? len - 1 - s : s;
                memcpy(f->y + ((t * m->D + d) * B + bi) * H, h + bi * H,
                       (size_t)H * sizeof *h);
            }
    }
}

/* out[k] from a float buffer in the default layout [A, D, B, H] (see
 * emit). */
static enum kw_status emit_f32(struct kw__op_ctx *c, int k, const struct rnn *m,
                               const float *buf, int has_t) {
    if (!kw__out_wanted(c, k)) return KW_STATUS_OK;
    int64_t dims[4];
    int rank = out_dims(m, has_t, dims);
    struct kw_onnx_value *v = kw__out_tensor(c, k, KW_ONNX_FLOAT, rank, dims);
    if (!v) return KW_STATUS_ERR_NOMEM;
    float *out = v->data;
    int64_t A = has_t ? m->T : 1;
    for (int64_t t = 0; t < A; t++)
        for (int64_t d = 0; d < m->D; d++)
            for (int64_t b = 0; b < m->B; b++) {
                int64_t o = m->layout ? ((b * A + t) * m->D + d) * m->H
                                      : ((t * m->D + d) * m->B + b) * m->H;
                memcpy(out + o, buf + ((t * m->D + d) * m->B + b) * m->H,
                       (size_t)m->H * sizeof *out);
            }
    return KW_STATUS_OK;
}

static int is_f32(const struct kw_onnx_value *v) {
    return !v || v->dtype == KW_ONNX_FLOAT;
}

/* [D, B, H] from a state input in either layout; NULL on allocation
 * failure. */
static float *state_f32(const struct rnn *m, const struct kw_onnx_value *v) {
    float *dst = malloc((size_t)(m->D * m->B * m->H) * sizeof *dst + 1);
    const float *src = v->data;
    if (dst)
        for (int64_t d = 0; d < m->D; d++)
            for (int64_t b = 0; b < m->B; b++)
                memcpy(dst + (d * m->B + b) * m->H,
                       src + (m->layout ? b * m->D + d : d * m->B + b) * m->H,
                       (size_t)m->H * sizeof *dst);
    return dst;
}

/* The whole operator for float32 inputs (shapes already checked). */
static enum kw_status rnn_run_f32(struct kw__op_ctx *c, const struct rnn *m, int rev,
                                  const struct kw_onnx_value *const in[8]) {
    const struct kw_onnx_value *X = in[0];
    int64_t GH = m->G * m->H;
    size_t tb, nxw, ny, ns = (size_t)(m->D * m->B * m->H);
    if (!kw__mul_size((size_t)m->T, (size_t)m->B, &tb) ||
        !kw__mul_size(tb, (size_t)GH, &nxw) || !kw__mul_size(nxw, sizeof(float), &nxw) ||
        !kw__mul_size(tb, (size_t)(m->D * m->H), &ny) || !kw__mul_size(ny, sizeof(float), &ny))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "sequence too long");
    struct rnnf f = {.m = m, .c = c, .w = in[1]->data, .r = in[2]->data};
    f.b = in[3] ? in[3]->data : NULL;
    f.p = in[7] ? in[7]->data : NULL;
    float *xt = NULL, *h0 = NULL, *c0 = NULL;
    enum kw_status st = KW_STATUS_OK;
    if (m->layout) {
        /* [B, T, I] -> [T, B, I] */
        xt = malloc((size_t)(m->T * m->B * m->I) * sizeof *xt + 1);
        if (!xt) goto nomem;
        const float *src = X->data;
        for (int64_t t = 0; t < m->T; t++)
            for (int64_t b = 0; b < m->B; b++)
                memcpy(xt + (t * m->B + b) * m->I, src + (b * m->T + t) * m->I,
                       (size_t)m->I * sizeof *xt);
        f.x = xt;
    } else f.x = X->data;
    if (in[5] && !(f.h0 = h0 = state_f32(m, in[5]))) goto nomem;
    if (in[6] && !(f.c0 = c0 = state_f32(m, in[6]))) goto nomem;
    f.y = calloc(1, ny + 1);
    f.yh = calloc(ns + 1, sizeof *f.yh);
    f.yc = calloc(ns + 1, sizeof *f.yc);
    f.xw = malloc(nxw + 1);
    f.gh = malloc((size_t)(m->B * GH) * sizeof *f.gh + 1);
    f.rh = calloc((size_t)(m->B * m->H) + 1, sizeof *f.rh);
    f.tmp = malloc((size_t)(m->B * m->H) * sizeof *f.tmp + 1);
    f.xwt = malloc(nxw + 1);
    if (!f.y || !f.yh || !f.yc || !f.xw || !f.gh || !f.rh || !f.tmp || !f.xwt) goto nomem;
    /* the directions share the GEMM's threads rather than one each */
    for (int d = 0; d < m->D; d++) rnn_dir_f32(&f, d, rev || d == 1);
    if ((st = emit_f32(c, 0, m, f.y, 1)) != KW_STATUS_OK) goto done;
    if ((st = emit_f32(c, 1, m, f.yh, 0)) != KW_STATUS_OK) goto done;
    if (m->kind == K_LSTM) st = emit_f32(c, 2, m, f.yc, 0);
    goto done;
nomem:
    st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
done:
    free(xt);
    free(h0);
    free(c0);
    free(f.y);
    free(f.yh);
    free(f.yc);
    free(f.xw);
    free(f.gh);
    free(f.rh);
    free(f.tmp);
    free(f.xwt);
    return st;
}

static enum kw_status rnn_run(struct kw__op_ctx *c, int kind) {
    static const char *const op_names[] = {"RNN", "GRU", "LSTM"};
    struct rnn m;
    memset(&m, 0, sizeof m);
    m.kind = kind;
    m.G = kind == K_RNN ? 1 : kind == K_GRU ? 3 : 4;
    const struct kw_onnx_value *X = kw__in(c, 0), *W = kw__in(c, 1), *R = kw__in(c, 2);
    const struct kw_onnx_value *B = kw__in(c, 3), *SL = kw__in(c, 4), *H0 = kw__in(c, 5);
    const struct kw_onnx_value *C0 = kind == K_LSTM ? kw__in(c, 6) : NULL;
    const struct kw_onnx_value *P = kind == K_LSTM ? kw__in(c, 7) : NULL;
    if (!kw__is_tensor(X) || X->rank != 3 || !kw__dtype_is_float(X->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "X must be a 3-D float tensor");
    m.layout = c->opset >= 14 && kw__attr_i(c, "layout", 0) != 0;
    m.T = X->dims[m.layout ? 1 : 0];
    m.B = X->dims[m.layout ? 0 : 1];
    m.I = X->dims[2];
    const char *dir = kw__attr_s(c, "direction", "forward");
    int bidir = !strcmp(dir, "bidirectional"), rev = !strcmp(dir, "reverse");
    if (!bidir && !rev && strcmp(dir, "forward"))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "direction '%s'", dir);
    m.D = bidir ? 2 : 1;
    if (!kw__is_tensor(R) || R->rank != 3)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "R must be a 3-D tensor");
    m.H = kw__attr_i(c, "hidden_size", R->dims[2]);
    if (m.H < 1 || m.H > (1 << 24) || m.I > (1 << 24))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "hidden_size out of range");
    int64_t GH = m.G * m.H;
    int64_t wd[3] = {m.D, GH, m.I}, rd[3] = {m.D, GH, m.H}, bd[2] = {m.D, 2 * GH};
    int64_t hd[3] = {m.D, m.B, m.H}, hdl[3] = {m.B, m.D, m.H}, pd[2] = {m.D, 3 * m.H};
    if (!shape_is(W, 3, wd) || !shape_is(R, 3, rd))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "W must be [%lld, %lld, %lld] and R [%lld, %lld, %lld]",
                           (long long)m.D, (long long)GH, (long long)m.I,
                           (long long)m.D, (long long)GH, (long long)m.H);
    if (B && !shape_is(B, 2, bd))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "B must be [%lld, %lld]",
                           (long long)m.D, (long long)(2 * GH));
    if ((H0 && !shape_is(H0, 3, m.layout ? hdl : hd)) ||
        (C0 && !shape_is(C0, 3, m.layout ? hdl : hd)))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "initial state shape mismatch");
    if (P && !shape_is(P, 2, pd))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "P must be [%lld, %lld]",
                           (long long)m.D, (long long)(3 * m.H));
    if (SL && (!kw__is_tensor(SL) || kw_onnx_numel(SL) != m.B || !kw__dtype_is_int(SL->dtype)))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "sequence_lens must hold %lld ints",
                           (long long)m.B);
    m.clip = kw__attr_f(c, "clip", 0.0f);
    m.lbr = kind == K_GRU && kw__attr_i(c, "linear_before_reset", 0) != 0;
    m.input_forget = kind == K_LSTM && kw__attr_i(c, "input_forget", 0) != 0;

    /* activations: per direction, f (+ g (+ h)) */
    int nact = kind == K_RNN ? 1 : kind == K_GRU ? 2 : 3;
    static const char *const defaults[3][3] = {
        {"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    const struct kw__attr *aa = kw__attr(c->node, "activations");
    size_t na, nb, ia = 0, ib = 0;
    const float *alphas = kw__attr_floats(c, "activation_alpha", &na);
    const float *betas = kw__attr_floats(c, "activation_beta", &nb);
    if (aa && aa->type == KW_ATTR_STRINGS && aa->n != (size_t)nact &&
        aa->n != (size_t)(nact * m.D))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "%s expects %d activations per direction", op_names[kind], nact);
    for (int d = 0; d < m.D; d++)
        for (int k = 0; k < nact; k++) {
            const char *name = defaults[kind][k];
            if (aa && aa->type == KW_ATTR_STRINGS) {
                size_t idx = aa->n == (size_t)(nact * m.D) ? (size_t)(d * nact + k) : (size_t)k;
                name = aa->strings[idx];
            }
            if (!act_parse(name, &m.acts[d][k], alphas, na, &ia, betas, nb, &ib))
                return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "activation '%s'", name);
        }

    enum kw_status st = KW_STATUS_OK;
    size_t ny = (size_t)(m.T * m.D * m.B * m.H), ns = (size_t)(m.D * m.B * m.H);
    double *y = NULL, *yh = NULL, *yc = NULL, *scratch = NULL;
    if (SL) {
        m.seqlen = malloc((size_t)(m.B ? m.B : 1) * sizeof *m.seqlen);
        if (!m.seqlen) goto nomem;
        for (int64_t b = 0; b < m.B; b++) {
            m.seqlen[b] = kw__get_i64(SL, b);
            if (m.seqlen[b] < 0 || m.seqlen[b] > m.T) {
                st = kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                 "sequence_lens[%lld] = %lld outside [0, %lld]", (long long)b,
                                 (long long)m.seqlen[b], (long long)m.T);
                goto done;
            }
        }
    }
    if (is_f32(X) && is_f32(W) && is_f32(R) && is_f32(B) && is_f32(H0) && is_f32(C0) &&
        is_f32(P)) {
        const struct kw_onnx_value *const in[8] = {X, W, R, B, SL, H0, C0, P};
        st = rnn_run_f32(c, &m, rev, in);
        goto done;
    }
    /* X in time-major order [T, B, I] */
    m.x = malloc((size_t)(m.T * m.B * m.I > 0 ? m.T * m.B * m.I : 1) * sizeof *m.x);
    if (!m.x) goto nomem;
    for (int64_t t = 0; t < m.T; t++)
        for (int64_t b = 0; b < m.B; b++)
            for (int64_t i = 0; i < m.I; i++)
                m.x[(t * m.B + b) * m.I + i] =
                    kw__get_f64(X, m.layout ? (b * m.T + t) * m.I + i : (t * m.B + b) * m.I + i);
    m.w = to_f64(W, kw_onnx_numel(W));
    m.r = to_f64(R, kw_onnx_numel(R));
    if (!m.w || !m.r) goto nomem;
    if (B && !(m.b = to_f64(B, kw_onnx_numel(B)))) goto nomem;
    if (P && !(m.p = to_f64(P, kw_onnx_numel(P)))) goto nomem;
    for (int s = 0; s < 2; s++) {
        const struct kw_onnx_value *v = s ? C0 : H0;
        if (!v) continue;
        double *dst = malloc(ns * sizeof *dst + 1);
        if (!dst) goto nomem;
        for (int64_t d = 0; d < m.D; d++)
            for (int64_t b = 0; b < m.B; b++)
                for (int64_t j = 0; j < m.H; j++)
                    dst[(d * m.B + b) * m.H + j] = kw__get_f64(
                        v, m.layout ? (b * m.D + d) * m.H + j : (d * m.B + b) * m.H + j);
        if (s) m.c0 = dst;
        else m.h0 = dst;
    }
    y = calloc(ny + 1, sizeof *y);
    yh = calloc(ns + 1, sizeof *yh);
    yc = calloc(ns + 1, sizeof *yc);
    scratch = malloc((size_t)(2 * GH + 2 * m.H) * sizeof *scratch);
    if (!y || !yh || !yc || !scratch) goto nomem;
    for (int d = 0; d < m.D; d++) rnn_dir(&m, d, rev || d == 1, y, yh, yc, scratch);
    if ((st = emit(c, 0, X->dtype, &m, y, 1)) != KW_STATUS_OK) goto done;
    if ((st = emit(c, 1, X->dtype, &m, yh, 0)) != KW_STATUS_OK) goto done;
    if (kind == K_LSTM) st = emit(c, 2, X->dtype, &m, yc, 0);
    goto done;
nomem:
    st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
done:
    free(m.seqlen);
    free(m.x);
    free(m.w);
    free(m.r);
    free(m.b);
    free(m.p);
    free(m.h0);
    free(m.c0);
    free(y);
    free(yh);
    free(yc);
    free(scratch);
    return st;
}

enum kw_status kw__op_rnn(struct kw__op_ctx *c) { return rnn_run(c, K_RNN); }
enum kw_status kw__op_gru(struct kw__op_ctx *c) { return rnn_run(c, K_GRU); }
enum kw_status kw__op_lstm(struct kw__op_ctx *c) { return rnn_run(c, K_LSTM); }
