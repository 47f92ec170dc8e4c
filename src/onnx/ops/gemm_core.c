/*
 * gemm_core.c — the packed float32 GEMM behind Gemm, MatMul and Conv:
 * blocks of A (MC x KC, alpha folded in) and B (KC x NC) are packed into
 * MR-row / NR-column panels and fed to an ISA micro-kernel; output tiles
 * (MC x NC) are spread over threads, each packing its own blocks, so no
 * synchronisation is needed; matrix-vector products (a classifier head)
 * stream the matrix through the gemv.h kernels instead. A constant B
 * (a Gemm's weights) can be packed once at load (kw__bpack). Entry
 * points: kw__sgemm_run(_isa), kw__sgemm_run_bpack, kw__bpack_new/free,
 * and the scalar reference kw__sgemm_ref.
 */
#include "onnx/exec.h"
#include "onnx/ops/gemv.h"
#include "onnx/ops/nn_internal.h"

#define KC 256

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

int kw__nn_threads(struct kw__op_ctx *ctx) {
    if (!ctx || !ctx->exec) return 1;
    struct kw__pool *p = kw__exec_pool(ctx->exec);
    return p ? kw__pool_size(p) : 1;
}

void kw__nn_parallel(struct kw__op_ctx *ctx, int64_t n, int64_t min_per_thread,
                     kw__range_fn fn, void *arg) {
    if (n <= 0) return;
    if (!ctx) {
        fn(arg, 0, n);
        return;
    }
    kw__parallel_for(ctx, n, min_per_thread, fn, arg);
}

void kw__sgemm_ref(const struct kw__sgemm *g) {
    for (int64_t i = 0; i < g->M; i++) {
        float *crow = g->c + i * g->ldc;
        for (int64_t j = 0; j < g->N; j++) {
            float acc = 0.0f;
            for (int64_t k = 0; k < g->K; k++)
                acc += g->a[i * g->a_rs + k * g->a_cs] *
                       g->b[k * g->b_rs + j * g->b_cs];
            crow[j] += g->alpha * acc;
        }
    }
}

/* A rows [i0, i0+mc) x cols [k0, k0+kc) -> panels of mr rows, k-major. */
static void pack_a(const struct kw__sgemm *g, int64_t i0, int64_t mc,
                   int64_t k0, int64_t kc, int mr, float *dst) {
    for (int64_t p = 0; p < mc; p += mr) {
        const int64_t rows = KW_MIN((int64_t)mr, mc - p);
        const float *src = g->a + (i0 + p) * g->a_rs + k0 * g->a_cs;
        if (g->a_cs == 1) {
            for (int64_t r = 0; r < rows; r++) {
                const float *s = src + r * g->a_rs;
                for (int64_t k = 0; k < kc; k++) dst[k * mr + r] = g->alpha * s[k];
            }
        } else {
            for (int64_t k = 0; k < kc; k++) {
                const float *s = src + k * g->a_cs;
                for (int64_t r = 0; r < rows; r++)
                    dst[k * mr + r] = g->alpha * s[r * g->a_rs];
            }
        }
        for (int64_t r = rows; r < mr; r++)
            for (int64_t k = 0; k < kc; k++) dst[k * mr + r] = 0.0f;
        dst += kc * mr;
    }
}

/* B rows [k0, k0+kc) x cols [j0, j0+nc) -> panels of nr columns. */
static void pack_b(const struct kw__sgemm *g, int64_t k0, int64_t kc,
                   int64_t j0, int64_t nc, int nr, float *dst) {
    for (int64_t q = 0; q < nc; q += nr) {
        const int64_t cols = KW_MIN((int64_t)nr, nc - q);
        const float *src = g->b + k0 * g->b_rs + (j0 + q) * g->b_cs;
        if (g->b_cs == 1) {
            for (int64_t k = 0; k < kc; k++) {
                const float *s = src + k * g->b_rs;
                float *d = dst + k * nr;
                int64_t j = 0;
                for (; j < cols; j++) d[j] = s[j];
                for (; j < nr; j++) d[j] = 0.0f;
            }
        } else {
            for (int64_t j = 0; j < cols; j++) {
                const float *s = src + j * g->b_cs;
                for (int64_t k = 0; k < kc; k++) dst[k * nr + j] = s[k * g->b_rs];
            }
            for (int64_t j = cols; j < nr; j++)
                for (int64_t k = 0; k < kc; k++) dst[k * nr + j] = 0.0f;
        }
        dst += kc * nr;
    }
}

struct sgemm_job {
    const struct kw__sgemm *g;
    kw__sgemm_ukr_fn ukr;
    int mr, nr;
    int64_t mc, nc;      /* block sizes */
    int64_t m_blocks, n_blocks;
    const float *bpack; /* all of B packed (kw__bpack), or NULL */
};

static void sgemm_tiles(void *arg, int64_t t0, int64_t t1) {
    const struct sgemm_job *j = arg;
    const struct kw__sgemm *g = j->g;
    const int64_t kcmax = KW_MIN((int64_t)KC, g->K);
    float *pa = kw__alloc_aligned((size_t)(j->mc * kcmax) * sizeof(float));
    float *pb = j->bpack ? NULL
                         : kw__alloc_aligned((size_t)(j->nc * kcmax) *
                                             sizeof(float));
    if (!pa || (!pb && !j->bpack)) {
        /* no scratch: these tiles take the slow path rather than fail */
        kw__free_aligned(pa);
        kw__free_aligned(pb);
        for (int64_t t = t0; t < t1; t++) {
            const int64_t i0 = (t / j->n_blocks) * j->mc;
            const int64_t j0 = (t % j->n_blocks) * j->nc;
            struct kw__sgemm s = *g;
            s.M = KW_MIN(j->mc, g->M - i0);
            s.N = KW_MIN(j->nc, g->N - j0);
            s.a = g->a + i0 * g->a_rs;
            s.b = g->b + j0 * g->b_cs;
            s.c = g->c + i0 * g->ldc + j0;
            kw__sgemm_ref(&s);
        }
        return;
    }
    for (int64_t t = t0; t < t1; t++) {
        /* consecutive tiles share the A block: walk N fastest */
        const int64_t i0 = (t / j->n_blocks) * j->mc;
        const int64_t j0 = (t % j->n_blocks) * j->nc;
        const int64_t mc = KW_MIN(j->mc, g->M - i0);
        const int64_t nc = KW_MIN(j->nc, g->N - j0);
        for (int64_t k0 = 0; k0 < g->K; k0 += KC) {
            const int64_t kc = KW_MIN((int64_t)KC, g->K - k0);
            pack_a(g, i0, mc, k0, kc, j->mr, pa);
            /* prepacked: k block k0 holds ceil(N/nr) panels of kc x nr */
            const float *bblk =
                j->bpack ? j->bpack + k0 * ceil_div(g->N, j->nr) * j->nr +
                               j0 * kc
                         : pb;
            if (!j->bpack) pack_b(g, k0, kc, j0, nc, j->nr, pb);
            for (int64_t q = 0; q < nc; q += j->nr) {
                const float *bp = bblk + (q / j->nr) * kc * j->nr;
                const int n = (int)KW_MIN((int64_t)j->nr, nc - q);
                for (int64_t p = 0; p < mc; p += j->mr) {
                    const float *ap = pa + (p / j->mr) * kc * j->mr;
                    const int m = (int)KW_MIN((int64_t)j->mr, mc - p);
                    j->ukr(kc, ap, bp, g->c + (i0 + p) * g->ldc + j0 + q,
                           g->ldc, m, n);
                }
            }
        }
    }
    kw__free_aligned(pa);
    kw__free_aligned(pb);
}

/* Matrix-vector products (M == 1 or N == 1): packing would pad the vector
 * to a whole panel, so these stream the matrix once instead. Threads take
 * blocks of GEMV_UNIT rows so that the row kernel runs whole passes. */
#define GEMV_UNIT 8

struct gemv_job {
    const struct kw__sgemm *g;
    const struct kw__nn_kern *k; /* SIMD dot / axpy, or NULL */
    kw__sgemv_rows_fn rows;      /* several dot products a pass, or NULL */
    int64_t len;                 /* N (M == 1) or M (N == 1) */
};

static kw__sgemv_rows_fn gemv_rows_for(enum kw__isa isa) {
#if KW_HAVE_X86
    kw__cpu_init();
    if (isa == KW__ISA_AVX512 && kw__cpu_has(KW__ISA_AVX512))
        return kw__sgemv_rows_avx512;
    if (isa >= KW__ISA_AVX2 && kw__cpu_has(KW__ISA_AVX2))
        return kw__sgemv_rows_avx2;
#endif
    (void)isa;
    return NULL;
}

/* sum_k a[k*as] * b[k*bs]; the unit-stride case keeps 16 independent
 * partial sums, which the compiler vectorises without reassociating. */
static float dot(const float *a, int64_t as, const float *b, int64_t bs,
                 int64_t K) {
    float acc = 0.0f;
    int64_t k = 0;
    if (as == 1 && bs == 1) {
        float part[16] = {0};
        for (; k + 16 <= K; k += 16)
            for (int t = 0; t < 16; t++) part[t] += a[k + t] * b[k + t];
        for (int t = 0; t < 16; t++) acc += part[t];
    }
    for (; k < K; k++) acc += a[k * as] * b[k * bs];
    return acc;
}

static void gemv_cols(void *arg, int64_t j0, int64_t j1) {
    /* M == 1: c[j] += alpha * sum_k a[k] * B(k, j) */
    const struct gemv_job *v = arg;
    const struct kw__sgemm *g = v->g;
    if (v->rows && g->a_cs == 1 && g->b_rs == 1) {
        /* rows of B^T contiguous (Gemm transB = 1) */
        v->rows(j1 - j0, g->K, g->a, g->b + j0 * g->b_cs, g->b_cs, g->alpha,
                g->c + j0, 1);
        return;
    }
    if (g->b_cs == 1) {
        for (int64_t k = 0; k < g->K; k++) {
            const float s = g->alpha * g->a[k * g->a_cs];
            const float *row = g->b + k * g->b_rs;
            if (v->k) {
                v->k->axpy(g->c + j0, row + j0, s, j1 - j0);
                continue;
            }
            for (int64_t j = j0; j < j1; j++) g->c[j] += s * row[j];
        }
        return;
    }
    if (v->k && g->a_cs == 1 && g->b_rs == 1) {
        for (int64_t j = j0; j < j1; j++)
            g->c[j] += g->alpha * v->k->dot(g->a, g->b + j * g->b_cs, g->K);
        return;
    }
    for (int64_t j = j0; j < j1; j++)
        g->c[j] += g->alpha *
                   dot(g->a, g->a_cs, g->b + j * g->b_cs, g->b_rs, g->K);
}

static void gemv_rows(void *arg, int64_t i0, int64_t i1) {
    /* N == 1: c[i] += alpha * sum_k A(i, k) * b[k] */
    const struct gemv_job *v = arg;
    const struct kw__sgemm *g = v->g;
    if (v->rows && g->a_cs == 1 && g->b_rs == 1) {
        v->rows(i1 - i0, g->K, g->b, g->a + i0 * g->a_rs, g->a_rs, g->alpha,
                g->c + i0 * g->ldc, g->ldc);
        return;
    }
    if (v->k && g->a_cs == 1 && g->b_rs == 1) {
        for (int64_t i = i0; i < i1; i++)
            g->c[i * g->ldc] +=
                g->alpha * v->k->dot(g->a + i * g->a_rs, g->b, g->K);
        return;
    }
    if (g->a_rs == 1) {
        for (int64_t k = 0; k < g->K; k++) {
            const float s = g->alpha * g->b[k * g->b_rs];
            const float *col = g->a + k * g->a_cs;
            for (int64_t i = i0; i < i1; i++) g->c[i * g->ldc] += s * col[i];
        }
        return;
    }
    for (int64_t i = i0; i < i1; i++)
        g->c[i * g->ldc] += g->alpha * dot(g->a + i * g->a_rs, g->a_cs, g->b,
                                           g->b_rs, g->K);
}

/* blocks [u0, u1) of GEMV_UNIT rows -> rows */
static void gemv_units(void *arg, int64_t u0, int64_t u1) {
    const struct gemv_job *v = arg;
    const int64_t i0 = u0 * GEMV_UNIT, i1 = KW_MIN(u1 * GEMV_UNIT, v->len);
    if (v->g->M == 1)
        gemv_cols(arg, i0, i1);
    else
        gemv_rows(arg, i0, i1);
}

struct ref_job {
    const struct kw__sgemm *g;
};

static void ref_rows(void *arg, int64_t i0, int64_t i1) {
    const struct ref_job *r = arg;
    struct kw__sgemm s = *r->g;
    s.M = i1 - i0;
    s.a = r->g->a + i0 * r->g->a_rs;
    s.c = r->g->c + i0 * r->g->ldc;
    kw__sgemm_ref(&s);
}

static void sgemm_run(struct kw__op_ctx *ctx, const struct kw__sgemm *g,
                      enum kw__isa isa, const struct kw__bpack *bp) {
    if (g->M <= 0 || g->N <= 0 || g->K <= 0) return;
    struct sgemm_job j = {.g = g};
#if KW_HAVE_X86
    kw__cpu_init();
    if (isa == KW__ISA_AVX512 && kw__cpu_has(KW__ISA_AVX512)) {
        j.ukr = kw__sgemm_ukr_avx512;
        j.mr = KW_SGEMM_AVX512_MR;
        j.nr = KW_SGEMM_AVX512_NR;
    } else if (isa >= KW__ISA_AVX2 && kw__cpu_has(KW__ISA_AVX2)) {
        j.ukr = kw__sgemm_ukr_avx2;
        j.mr = KW_SGEMM_AVX2_MR;
        j.nr = KW_SGEMM_AVX2_NR;
    }
#endif
    const int nth = kw__nn_threads(ctx);
    const double flops = (double)g->M * (double)g->N * (double)g->K;
    if (!j.ukr) {
        struct ref_job r = {g};
        int64_t min_rows = (int64_t)(65536.0 / ((double)g->N * g->K)) + 1;
        kw__nn_parallel(nth > 1 ? ctx : NULL, g->M, min_rows, ref_rows, &r);
        return;
    }
    if (g->M == 1 || g->N == 1) {
        const int64_t len = g->M == 1 ? g->N : g->M;
        struct gemv_job v = {g, kw__nn_kern_isa(isa), gemv_rows_for(isa), len};
        const int64_t min = (32768 / (g->K + 1) + 16) / GEMV_UNIT + 1;
        kw__nn_parallel(nth > 1 ? ctx : NULL, ceil_div(len, GEMV_UNIT), min,
                        gemv_units, &v);
        return;
    }
    if (bp && bp->isa == isa && bp->nr == j.nr && bp->K == g->K &&
        bp->N == g->N)
        j.bpack = bp->p;
    /* MC: a few dozen rows of A stay in L2 while B panels stream from L1 */
    j.mc = (int64_t)j.mr * (j.mr == 12 ? 12 : 20);
    if (j.mc > g->M) j.mc = ceil_div(g->M, j.mr) * j.mr;
    j.nc = 512;
    j.m_blocks = ceil_div(g->M, j.mc);
    /* enough tiles that every thread gets work */
    if (nth > 1 && flops > 2e5) {
        int64_t want_n = ceil_div(4 * nth, j.m_blocks);
        int64_t nc = ceil_div(ceil_div(g->N, want_n), j.nr) * j.nr;
        if (nc < j.nc) j.nc = KW_MAX(nc, (int64_t)j.nr * 2);
    }
    if (j.nc > g->N) j.nc = ceil_div(g->N, j.nr) * j.nr;
    j.n_blocks = ceil_div(g->N, j.nc);
    const int64_t tiles = j.m_blocks * j.n_blocks;
    if (nth <= 1 || flops < 2e5)
        sgemm_tiles(&j, 0, tiles);
    else
        kw__nn_parallel(ctx, tiles, 1, sgemm_tiles, &j);
}

void kw__sgemm_run_isa(struct kw__op_ctx *ctx, const struct kw__sgemm *g,
                       enum kw__isa isa) {
    sgemm_run(ctx, g, isa, NULL);
}

void kw__sgemm_run(struct kw__op_ctx *ctx, const struct kw__sgemm *g) {
    kw__cpu_init();
    sgemm_run(ctx, g, kw__cpu_isa(), NULL);
}

void kw__sgemm_run_bpack(struct kw__op_ctx *ctx, const struct kw__sgemm *g,
                         const struct kw__bpack *bp) {
    kw__cpu_init();
    sgemm_run(ctx, g, kw__cpu_isa(), bp);
}

struct kw__bpack *kw__bpack_new(const float *b, int64_t b_rs, int64_t b_cs,
                                int64_t K, int64_t N, enum kw__isa isa) {
    int nr = 0;
#if KW_HAVE_X86
    kw__cpu_init();
    if (isa == KW__ISA_AVX512 && kw__cpu_has(KW__ISA_AVX512))
        nr = KW_SGEMM_AVX512_NR;
    else if (isa == KW__ISA_AVX2 && kw__cpu_has(KW__ISA_AVX2))
        nr = KW_SGEMM_AVX2_NR;
#endif
    const int64_t np = ceil_div(N, KW_MAX(nr, 1));
    if (!nr || K < 1 || N < 1 || K > ((int64_t)1 << 31) / np / nr)
        return NULL;
    struct kw__bpack *bp = calloc(1, sizeof *bp);
    if (!bp) return NULL;
    *bp = (struct kw__bpack){isa, nr, K, N, NULL};
    bp->p = kw__alloc_aligned((size_t)(K * np * nr) * sizeof(float));
    if (!bp->p) {
        free(bp);
        return NULL;
    }
    const struct kw__sgemm g = {1, N, K, NULL, 0, 0, b, b_rs, b_cs, NULL, 0, 1.0f};
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
        const int64_t kc = KW_MIN((int64_t)KC, K - k0);
        pack_b(&g, k0, kc, 0, N, nr, bp->p + k0 * np * nr);
    }
    return bp;
}

void kw__bpack_free(void *p) {
    struct kw__bpack *bp = p;
    if (!bp) return;
    kw__free_aligned(bp->p);
    free(bp);
}
