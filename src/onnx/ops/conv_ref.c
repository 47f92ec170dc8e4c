/*
 * conv_ref.c — the reference convolutions: float32 by im2col +
 * kw__sgemm_run (1x1 straight to the GEMM, depthwise 2-D by a direct
 * loop), used under KW_FORCE_REF, for 3-D and whatever the fast paths
 * decline; and the direct convolution in double behind the integer and
 * rare-dtype Conv. Entry points: kw__conv_f32_ref, kw__nn_conv_direct.
 */
#include "onnx/ops/conv_internal.h"

#define COL_BUDGET ((int64_t)1 << 21)

static void sp_strides(int n, const int64_t *d, int64_t *st) {
    int64_t s = 1;
    for (int i = n - 1; i >= 0; i--) {
        st[i] = s;
        s *= d[i];
    }
}

/* ---- im2col ---- */

struct im2col_job {
    const struct kw__nn_geom *g;
    const float *x; /* (Cg, in...) */
    float *col;     /* (Kdim, pc) */
    int64_t KK, q0, q1, L, pc;
    int64_t ist[KW_NN_MAX_SP];
};

static void im2col_rows(void *arg, int64_t r0, int64_t r1) {
    const struct im2col_job *j = arg;
    const struct kw__nn_geom *g = j->g;
    const int n = g->nsp, last = n - 1;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t ci = r / j->KK;
        int64_t kk = r % j->KK, kidx[KW_NN_MAX_SP];
        for (int d = n - 1; d >= 0; d--) {
            kidx[d] = kk % g->k[d];
            kk /= g->k[d];
        }
        const float *xc = j->x + ci * j->ist[0] * g->in[0];
        /* valid output columns [lo, hi) of the last dimension */
        const int64_t sL = g->s[last];
        const int64_t off = kidx[last] * g->d[last] - g->pb[last];
        int64_t lo = off >= 0 ? 0 : (-off + sL - 1) / sL;
        int64_t hi = g->in[last] - 1 - off < 0
                         ? 0
                         : (g->in[last] - 1 - off) / sL + 1;
        if (hi > j->L) hi = j->L;
        if (lo > hi) lo = hi;
        for (int64_t q = j->q0; q < j->q1; q++) {
            float *dst = j->col + r * j->pc + (q - j->q0) * j->L;
            int64_t qq = q, base = 0;
            int ok = 1;
            for (int d = last - 1; d >= 0; d--) {
                const int64_t o = qq % g->out[d];
                qq /= g->out[d];
                const int64_t id = o * g->s[d] - g->pb[d] + kidx[d] * g->d[d];
                if (id < 0 || id >= g->in[d]) ok = 0;
                base += id * j->ist[d];
            }
            if (!ok || lo == hi) {
                memset(dst, 0, (size_t)j->L * sizeof(float));
                continue;
            }
            const float *src = xc + base + off;
            int64_t w = 0;
            for (; w < lo; w++) dst[w] = 0.0f;
            if (sL == 1)
                memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
            else
                for (w = lo; w < hi; w++) dst[w] = src[w * sL];
            for (w = hi; w < j->L; w++) dst[w] = 0.0f;
        }
    }
}

/* ---- depthwise 2-D ---- */

struct dw_job {
    const struct kw__nn_geom *g;
    const float *x, *w;
    float *y;
    int64_t C, M, Mg;
};

static void dw_planes(void *arg, int64_t p0, int64_t p1) {
    const struct dw_job *j = arg;
    const struct kw__nn_geom *g = j->g;
    const int64_t IH = g->in[0], IW = g->in[1], OH = g->out[0],
                  OW = g->out[1], KH = g->k[0], KW = g->k[1];
    const int64_t sh = g->s[0], sw = g->s[1], dh = g->d[0], dw = g->d[1];
    for (int64_t p = p0; p < p1; p++) {
        const int64_t n = p / j->M, oc = p % j->M, ic = oc / j->Mg;
        const float *x = j->x + (n * j->C + ic) * IH * IW;
        const float *w = j->w + oc * KH * KW;
        float *y = j->y + p * OH * OW;
        for (int64_t kw = 0; kw < KW; kw++) {
            const int64_t off = kw * dw - g->pb[1];
            int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
            int64_t hi = IW - 1 - off < 0 ? 0 : (IW - 1 - off) / sw + 1;
            if (hi > OW) hi = OW;
            if (lo >= hi) continue;
            for (int64_t oh = 0; oh < OH; oh++) {
                float *yr = y + oh * OW;
                for (int64_t kh = 0; kh < KH; kh++) {
                    const int64_t ih = oh * sh - g->pb[0] + kh * dh;
                    if (ih < 0 || ih >= IH) continue;
                    const float wv = w[kh * KW + kw];
                    const float *xr = x + ih * IW + off;
                    if (sw == 1)
                        for (int64_t ow = lo; ow < hi; ow++)
                            yr[ow] += wv * xr[ow];
                    else
                        for (int64_t ow = lo; ow < hi; ow++)
                            yr[ow] += wv * xr[ow * sw];
                }
            }
        }
    }
}

/* ---- float32 Conv: the reference (im2col + kw__sgemm_run) ---- */

enum kw_status kw__conv_f32_ref(struct kw__op_ctx *c,
                               const struct kw__nn_geom *g, int64_t N,
                               int64_t C, int64_t M, int64_t group,
                               const float *x, const float *w,
                               const float *bias, float *y) {
    const int n = g->nsp;
    const int64_t Cg = C / group, Mg = M / group;
    const int64_t insz = kw__nn_prod(g->in, n), outsz = kw__nn_prod(g->out, n);
    const int64_t KK = kw__nn_prod(g->k, n), Kdim = Cg * KK;
    /* y comes unzeroed (kw__out_tensor_raw): bias or zeros first */
    if (bias)
        for (int64_t b = 0; b < N; b++)
            for (int64_t m = 0; m < M; m++) {
                float *yp = y + (b * M + m) * outsz;
                for (int64_t i = 0; i < outsz; i++) yp[i] = bias[m];
            }
    else
        memset(y, 0, (size_t)(N * M * outsz) * sizeof(float));
    if (outsz == 0 || N == 0 || M == 0 || Kdim == 0) return KW_STATUS_OK;
    if (Cg == 1 && n == 2) {
        struct dw_job j = {g, x, w, y, C, M, Mg};
        kw__nn_parallel(c, N * M, 1, dw_planes, &j);
        return KW_STATUS_OK;
    }
    int pointwise = 1;
    for (int d = 0; d < n; d++)
        if (g->k[d] != 1 || g->s[d] != 1 || g->pb[d] || g->pe[d])
            pointwise = 0;
    if (pointwise) {
        for (int64_t b = 0; b < N; b++)
            for (int64_t gi = 0; gi < group; gi++) {
                struct kw__sgemm s = {Mg, outsz, Cg, w + gi * Mg * Cg, Cg, 1,
                                      x + (b * C + gi * Cg) * insz, insz, 1,
                                      y + (b * M + gi * Mg) * outsz, outsz,
                                      1.0f};
                kw__sgemm_run(c, &s);
            }
        return KW_STATUS_OK;
    }
    const int64_t L = g->out[n - 1], outer = outsz / L;
    int64_t rows = COL_BUDGET / (Kdim * L);
    if (rows < 1) rows = 1;
    if (rows > outer) rows = outer;
    float *col = kw__alloc_aligned((size_t)(Kdim * rows * L) * sizeof(float));
    if (!col) return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    struct im2col_job j = {.g = g, .col = col, .KK = KK, .L = L};
    sp_strides(n, g->in, j.ist);
    for (int64_t b = 0; b < N; b++)
        for (int64_t gi = 0; gi < group; gi++) {
            j.x = x + (b * C + gi * Cg) * insz;
            for (int64_t q0 = 0; q0 < outer; q0 += rows) {
                j.q0 = q0;
                j.q1 = KW_MIN(outer, q0 + rows);
                j.pc = (j.q1 - q0) * L;
                kw__nn_parallel(c, Kdim, 16, im2col_rows, &j);
                struct kw__sgemm s = {Mg, j.pc, Kdim, w + gi * Mg * Kdim,
                                      Kdim, 1, col, j.pc, 1,
                                      y + (b * M + gi * Mg) * outsz + q0 * L,
                                      outsz, 1.0f};
                kw__sgemm_run(c, &s);
            }
        }
    kw__free_aligned(col);
    return KW_STATUS_OK;
}

/* ---- direct convolution in double ---- */

struct direct_job {
    const struct kw__nn_geom *g;
    int64_t C, M, group;
    const double *x, *w, *bias;
    double *y;
};

static void direct_planes(void *arg, int64_t p0, int64_t p1) {
    const struct direct_job *j = arg;
    const struct kw__nn_geom *g = j->g;
    const int n = g->nsp;
    const int64_t Cg = j->C / j->group, Mg = j->M / j->group;
    const int64_t insz = kw__nn_prod(g->in, n), outsz = kw__nn_prod(g->out, n);
    const int64_t KK = kw__nn_prod(g->k, n);
    int64_t ist[KW_NN_MAX_SP];
    sp_strides(n, g->in, ist);
    for (int64_t p = p0; p < p1; p++) {
        const int64_t b = p / j->M, m = p % j->M, gi = m / Mg;
        const double *xb = j->x + (b * j->C + gi * Cg) * insz;
        const double *wm = j->w + m * Cg * KK;
        double *yp = j->y + p * outsz;
        int64_t o[KW_NN_MAX_SP] = {0};
        for (int64_t op = 0; op < outsz; op++) {
            double acc = j->bias ? j->bias[m] : 0.0;
            for (int64_t kk = 0; kk < KK; kk++) {
                int64_t r = kk, off = 0;
                int ok = 1;
                for (int d = n - 1; d >= 0; d--) {
                    const int64_t kd = r % g->k[d];
                    r /= g->k[d];
                    const int64_t id = o[d] * g->s[d] - g->pb[d] + kd * g->d[d];
                    if (id < 0 || id >= g->in[d]) ok = 0;
                    off += id * ist[d];
                }
                if (!ok) continue;
                for (int64_t ci = 0; ci < Cg; ci++)
                    acc += xb[ci * insz + off] * wm[ci * KK + kk];
            }
            yp[op] = acc;
            for (int d = n - 1; d >= 0; d--) {
                if (++o[d] < g->out[d]) break;
                o[d] = 0;
            }
        }
    }
}

void kw__nn_conv_direct(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                        int64_t N, int64_t C, int64_t M, int64_t group,
                        const double *x, const double *w, const double *bias,
                        double *y) {
    struct direct_job j = {g, C, M, group, x, w, bias, y};
    kw__nn_parallel(c, N * M, 1, direct_planes, &j);
}
