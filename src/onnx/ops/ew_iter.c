/*
 * ew_iter.c — the elementwise family's machinery: numpy broadcasting plans
 * (kw__ew_plan_init), the threaded row driver (kw__ew_run), rounding of
 * doubles to half/bfloat16, and the float32 reference kernels with the
 * choice of SIMD variant (kw__ew_bin_f32, kw__ew_un_f32).
 */
#include "onnx/ops/ew.h"

#include "cpu/kernels.h"

int kw__ew_bcast_shape(const struct kw_onnx_value *const *ins, int n,
                       int *rank, int64_t *dims) {
    int r = 0;
    int64_t d[KW_ONNX_MAX_RANK], t[KW_ONNX_MAX_RANK];
    for (int k = 0; k < n; k++) {
        const struct kw_onnx_value *v = ins[k];
        /* kw__broadcast must not write over its own input */
        if (!kw__broadcast(r, d, v->rank, v->dims, &r, t)) return 0;
        memcpy(d, t, sizeof(int64_t) * (size_t)r);
    }
    *rank = r;
    memcpy(dims, d, sizeof(int64_t) * (size_t)r);
    return 1;
}

int kw__ew_plan_init(struct kw__ew_plan *p, int n_in,
                     const struct kw_onnx_value *const *ins, int rank,
                     const int64_t *dims, size_t ysz) {
    int64_t st[KW__EW_MAX_IN][KW_ONNX_MAX_RANK];
    memset(p, 0, sizeof *p);
    p->n_in = n_in;
    p->ysz = ysz;
    p->numel = 1;
    for (int i = 0; i < rank; i++) p->numel *= dims[i];
    for (int k = 0; k < n_in; k++) {
        const struct kw_onnx_value *v = ins[k];
        if (v->rank > rank) return 0;
        for (int i = 0; i < v->rank; i++) {
            int64_t dv = v->dims[i], dy = dims[i + rank - v->rank];
            if (dv != dy && dv != 1) return 0;
        }
        kw__bcast_strides(v->rank, v->dims, rank, dims, st[k]);
        p->esz[k] = kw_onnx_dtype_size(v->dtype);
    }
    /* drop unit dimensions, merge a dimension into the one before it when
     * every input walks both as one */
    int r = 0;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 1) continue;
        int merge = r > 0;
        for (int k = 0; merge && k < n_in; k++)
            if (p->st[k][r - 1] != st[k][i] * dims[i]) merge = 0;
        if (merge) {
            p->dims[r - 1] *= dims[i];
            for (int k = 0; k < n_in; k++) p->st[k][r - 1] = st[k][i];
        } else {
            p->dims[r] = dims[i];
            for (int k = 0; k < n_in; k++) p->st[k][r] = st[k][i];
            r++;
        }
    }
    if (r == 0) {
        p->dims[0] = 1;
        r = 1;
    }
    p->rank = r;
    return 1;
}

/* Rows are split into blocks so one long row still spreads over threads. */
#define EW_BLOCK 16384

struct run_job {
    const struct kw__ew_plan *p;
    void *y;
    const void *const *x;
    kw__ew_row_fn row;
    const void *ctx;
    int64_t len, nblk;
};

static void run_range(void *arg, int64_t u0, int64_t u1) {
    const struct run_job *j = arg;
    const struct kw__ew_plan *p = j->p;
    int64_t s[KW__EW_MAX_IN];
    for (int k = 0; k < p->n_in; k++) s[k] = p->st[k][p->rank - 1];
    for (int64_t u = u0; u < u1; u++) {
        int64_t r = u / j->nblk, b0 = (u % j->nblk) * EW_BLOCK;
        int64_t n = KW_MIN(EW_BLOCK, j->len - b0);
        /* unravel the row index over the outer dimensions */
        int64_t off[KW__EW_MAX_IN] = {0};
        int64_t rem = r;
        for (int d = p->rank - 2; d >= 0; d--) {
            int64_t idx = rem % p->dims[d];
            rem /= p->dims[d];
            for (int k = 0; k < p->n_in; k++) off[k] += idx * p->st[k][d];
        }
        const void *xp[KW__EW_MAX_IN];
        for (int k = 0; k < p->n_in; k++)
            xp[k] = (const char *)j->x[k] +
                    (size_t)(off[k] + b0 * s[k]) * p->esz[k];
        void *yp = (char *)j->y + (size_t)(r * j->len + b0) * p->ysz;
        j->row(j->ctx, yp, xp, s, n);
    }
}

void kw__ew_run(struct kw__op_ctx *c, const struct kw__ew_plan *p, void *y,
                const void *const *x, kw__ew_row_fn row, const void *ctx) {
    if (p->numel <= 0) return;
    struct run_job j = {p, y, x, row, ctx, p->dims[p->rank - 1], 0};
    j.nblk = (j.len + EW_BLOCK - 1) / EW_BLOCK;
    int64_t units = p->numel / j.len * j.nblk;
    int64_t per_unit = KW_MIN(j.len, EW_BLOCK);
    if (!c) {
        run_range(&j, 0, units);
        return;
    }
    kw__parallel_for(c, units, (32768 + per_unit - 1) / per_unit, run_range,
                     &j);
}

/* ---- rounding to 16-bit floats ---- */

uint16_t kw__ew_f64_to_f16(double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    uint16_t sign = (uint16_t)((u >> 48) & 0x8000u);
    double x = fabs(d);
    if (x != x) return sign | 0x7e00u;
    if (x >= 65520.0) return sign | 0x7c00u; /* rounds past the largest */
    if (x < 0x1p-14) /* subnormal: whole units of 2^-24, ties to even */
        return sign | (uint16_t)rint(x * 0x1p24);
    int e;
    double m = frexp(x, &e); /* x = m * 2^e, m in [0.5, 1) */
    uint32_t mant = (uint32_t)rint(ldexp(m, 11));
    int be = e - 1 + 15;
    if (mant == 2048) {
        mant = 1024;
        be++;
    }
    if (be >= 31) return sign | 0x7c00u;
    return sign | (uint16_t)((uint32_t)be << 10 | (mant - 1024));
}

uint16_t kw__ew_f64_to_bf16(double d) {
    /* double to float rounds once more than needed only for values exactly
     * between two bfloat16 after float rounding; accepted */
    return kw__fp32_to_bf16((float)d);
}

/* ---- float32 reference kernels and variant choice ---- */

void kw__ew_bin_f32_ref(int op, float *y, const float *a, int64_t sa,
                        const float *b, int64_t sb, int64_t n) {
    switch (op) {
    case KW__EW_ADD:
        for (int64_t i = 0; i < n; i++) y[i] = a[i * sa] + b[i * sb];
        break;
    case KW__EW_SUB:
        for (int64_t i = 0; i < n; i++) y[i] = a[i * sa] - b[i * sb];
        break;
    case KW__EW_MUL:
        for (int64_t i = 0; i < n; i++) y[i] = a[i * sa] * b[i * sb];
        break;
    case KW__EW_DIV:
        for (int64_t i = 0; i < n; i++) y[i] = a[i * sa] / b[i * sb];
        break;
    default: break;
    }
}

void kw__ew_un_f32_ref(int op, float *y, const float *x, int64_t n) {
    switch (op) {
    case KW__EW_RELU:
        /* NaN passes through like numpy's maximum(x, 0) */
        for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
        break;
    case KW__EW_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            y[i] = (float)(1.0 / (1.0 + exp(-(double)x[i])));
        break;
    case KW__EW_TANH:
        for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
        break;
    case KW__EW_EXP:
        for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
        break;
    default: break;
    }
}

kw__ew_bin_f32_fn kw__ew_bin_f32(void) {
#ifdef KW_HAVE_X86
    switch (kw__cpu_isa()) {
    case KW__ISA_AVX512: return kw__ew_bin_f32_avx512;
    case KW__ISA_AVX2: return kw__ew_bin_f32_avx2;
    default: break;
    }
#endif
    return kw__ew_bin_f32_ref;
}

kw__ew_un_f32_fn kw__ew_un_f32(void) {
#ifdef KW_HAVE_X86
    switch (kw__cpu_isa()) {
    case KW__ISA_AVX512: return kw__ew_un_f32_avx512;
    case KW__ISA_AVX2: return kw__ew_un_f32_avx2;
    default: break;
    }
#endif
    return kw__ew_un_f32_ref;
}
