/*
 * gemm.c — Gemm, MatMul (numpy batch broadcasting, 1-D operands),
 * MatMulInteger and QLinearMatMul. float32 goes through the packed GEMM
 * (gemm_core.c), a Gemm's constant B packed once, by the first run with
 * more than one row (kw__gemm_prepare notes it); other dtypes through a
 * plain loop in double / int64.
 */
#include "onnx/ops/nn_internal.h"

/* ---- shared batch plan ---- */

struct mm_plan {
    int64_t M, N, K, nb;
    int rank;
    int64_t dims[KW_ONNX_MAX_RANK]; /* output */
    int64_t *aoff, *boff;           /* per batch, in elements */
};

static void mm_plan_free(struct mm_plan *p) {
    free(p->aoff);
    free(p->boff);
}

static enum kw_status mm_plan_init(struct kw__op_ctx *c,
                                   const struct kw_onnx_value *A,
                                   const struct kw_onnx_value *B,
                                   struct mm_plan *p) {
    memset(p, 0, sizeof *p);
    if (A->rank < 1 || B->rank < 1)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "MatMul operands must have rank >= 1");
    const int ra = A->rank > 1 ? A->rank - 2 : 0;
    const int rb = B->rank > 1 ? B->rank - 2 : 0;
    p->M = A->rank > 1 ? A->dims[A->rank - 2] : 1;
    p->K = A->dims[A->rank - 1];
    const int64_t K2 = B->rank > 1 ? B->dims[B->rank - 2] : B->dims[0];
    p->N = B->rank > 1 ? B->dims[B->rank - 1] : 1;
    if (p->K != K2)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "inner dimensions differ: %lld vs %lld",
                           (long long)p->K, (long long)K2);
    int brank;
    int64_t bdims[KW_ONNX_MAX_RANK];
    if (!kw__broadcast(ra, A->dims, rb, B->dims, &brank, bdims))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "batch dimensions do not broadcast");
    p->rank = brank;
    memcpy(p->dims, bdims, sizeof(int64_t) * (size_t)brank);
    if (A->rank > 1) p->dims[p->rank++] = p->M;
    if (B->rank > 1) p->dims[p->rank++] = p->N;
    if (p->rank > KW_ONNX_MAX_RANK)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "rank too large");
    p->nb = kw__nn_prod(bdims, brank);
    if (p->nb < 0)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "batch too large");
    int64_t sa[KW_ONNX_MAX_RANK], sb[KW_ONNX_MAX_RANK];
    kw__bcast_strides(ra, A->dims, brank, bdims, sa);
    kw__bcast_strides(rb, B->dims, brank, bdims, sb);
    const size_t nb = (size_t)(p->nb ? p->nb : 1);
    p->aoff = malloc(nb * sizeof(int64_t));
    p->boff = malloc(nb * sizeof(int64_t));
    if (!p->aoff || !p->boff) {
        mm_plan_free(p);
        return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    }
    int64_t idx[KW_ONNX_MAX_RANK] = {0};
    for (int64_t b = 0; b < p->nb; b++) {
        int64_t oa = 0, ob = 0;
        for (int d = 0; d < brank; d++) {
            oa += idx[d] * sa[d];
            ob += idx[d] * sb[d];
        }
        p->aoff[b] = oa * p->M * p->K;
        p->boff[b] = ob * p->K * p->N;
        for (int d = brank - 1; d >= 0; d--) {
            if (++idx[d] < bdims[d]) break;
            idx[d] = 0;
        }
    }
    return KW_STATUS_OK;
}

/* ---- MatMul ---- */

struct mm_batch_job {
    const struct mm_plan *p;
    const float *a, *b;
    float *y;
};

static void mm_batches(void *arg, int64_t b0, int64_t b1) {
    const struct mm_batch_job *j = arg;
    const struct mm_plan *p = j->p;
    for (int64_t b = b0; b < b1; b++) {
        struct kw__sgemm g = {p->M, p->N, p->K, j->a + p->aoff[b], p->K, 1,
                              j->b + p->boff[b], p->N, 1,
                              j->y + b * p->M * p->N, p->N, 1.0f};
        kw__sgemm_run(NULL, &g);
    }
}

static void mm_generic(const struct mm_plan *p, const struct kw_onnx_value *A,
                       const struct kw_onnx_value *B,
                       struct kw_onnx_value *Y) {
    const int as_int = kw__dtype_is_int(Y->dtype);
    for (int64_t b = 0; b < p->nb; b++)
        for (int64_t i = 0; i < p->M; i++)
            for (int64_t j = 0; j < p->N; j++) {
                const int64_t ao = p->aoff[b] + i * p->K, bo = p->boff[b] + j;
                const int64_t yo = (b * p->M + i) * p->N + j;
                if (as_int) {
                    uint64_t acc = 0; /* wraps like the C integer types */
                    for (int64_t k = 0; k < p->K; k++)
                        acc += (uint64_t)kw__get_i64(A, ao + k) *
                               (uint64_t)kw__get_i64(B, bo + k * p->N);
                    kw__set_i64(Y, yo, (int64_t)acc);
                } else {
                    double acc = 0;
                    for (int64_t k = 0; k < p->K; k++)
                        acc += kw__get_f64(A, ao + k) *
                               kw__get_f64(B, bo + k * p->N);
                    kw__set_f64(Y, yo, acc);
                }
            }
}

static int mm_dtype_ok(int t) {
    return kw__dtype_is_float(t) || t == KW_ONNX_INT32 ||
           t == KW_ONNX_INT64 || t == KW_ONNX_UINT32 || t == KW_ONNX_UINT64;
}

enum kw_status kw__op_matmul(struct kw__op_ctx *c) {
    const struct kw_onnx_value *A = kw__in(c, 0), *B = kw__in(c, 1);
    if (!kw__is_tensor(A) || !kw__is_tensor(B))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "needs two tensors");
    if (A->dtype != B->dtype || !mm_dtype_ok(A->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "unsupported dtypes %s x %s",
                           kw_onnx_dtype_name(A->dtype),
                           kw_onnx_dtype_name(B->dtype));
    struct mm_plan p;
    enum kw_status st = mm_plan_init(c, A, B, &p);
    if (st) return st;
    struct kw_onnx_value *Y = kw__out_tensor(c, 0, A->dtype, p.rank, p.dims);
    if (!Y) {
        mm_plan_free(&p);
        return KW_STATUS_ERR_NOMEM;
    }
    if (A->dtype != KW_ONNX_FLOAT) {
        mm_generic(&p, A, B, Y);
    } else {
        struct mm_batch_job j = {&p, A->data, B->data, Y->data};
        const double flops = (double)p.M * (double)p.N * (double)p.K;
        if (p.nb > 1 && flops < 1e6) {
            kw__nn_parallel(c, p.nb, (int64_t)(1e5 / (flops + 1)) + 1,
                            mm_batches, &j);
        } else {
            for (int64_t b = 0; b < p.nb; b++) {
                struct kw__sgemm g = {p.M, p.N, p.K, j.a + p.aoff[b], p.K, 1,
                                      j.b + p.boff[b], p.N, 1,
                                      j.y + b * p.M * p.N, p.N, 1.0f};
                kw__sgemm_run(c, &g);
            }
        }
    }
    mm_plan_free(&p);
    return KW_STATUS_OK;
}

/* ---- Gemm ---- */

/* What kw__gemm_prepare keeps: a constant B and its layout, and B
 * packed, done by the first run with more than one row (a classifier
 * head at batch 1 streams B as it is, and never needs the copy; runs of
 * a model do not overlap, see kw_onnx_run). */
struct gemm_state {
    const float *b;
    int tb;
    struct kw__bpack *bp;
    int tried;
};

static void gemm_state_free(void *p) {
    struct gemm_state *s = p;
    if (s) kw__bpack_free(s->bp);
    free(s);
}

void kw__gemm_prepare(struct kw__node *n, const struct kw__graph *g) {
    if (n->n_in < 2 || n->in[1] < 0 || n->in[1] >= g->n_values) return;
    const struct kw_onnx_value *B = g->init[n->in[1]];
    if (!B || B->kind != KW_ONNX_TENSOR || B->dtype != KW_ONNX_FLOAT ||
        B->rank != 2 || B->dims[0] < 1 || B->dims[1] < 1)
        return;
    const struct kw__attr *ta = kw__attr(n, "transB");
    const int tb = ta && ta->type == KW_ATTR_INT && ta->i != 0;
    struct gemm_state *s = calloc(1, sizeof *s);
    if (!s) return;
    *s = (struct gemm_state){B->data, tb, NULL, 0};
    n->state = s;
    n->state_free = gemm_state_free;
}

enum kw_status kw__op_gemm(struct kw__op_ctx *c) {
    const struct kw_onnx_value *A = kw__in(c, 0), *B = kw__in(c, 1),
                               *C = kw__in(c, 2);
    if (!kw__is_tensor(A) || !kw__is_tensor(B) || (C && !kw__is_tensor(C)))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "needs tensors");
    if (A->dtype != B->dtype || (C && C->dtype != A->dtype) ||
        !mm_dtype_ok(A->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "unsupported dtype %s",
                           kw_onnx_dtype_name(A->dtype));
    if (A->rank != 2 || B->rank != 2)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "A and B must be matrices (ranks %d, %d)", A->rank,
                           B->rank);
    const int ta = kw__attr_i(c, "transA", 0) != 0;
    const int tb = kw__attr_i(c, "transB", 0) != 0;
    const float alpha = kw__attr_f(c, "alpha", 1.0f);
    const float beta = kw__attr_f(c, "beta", 1.0f);
    const int64_t M = ta ? A->dims[1] : A->dims[0];
    const int64_t K = ta ? A->dims[0] : A->dims[1];
    const int64_t K2 = tb ? B->dims[1] : B->dims[0];
    const int64_t N = tb ? B->dims[0] : B->dims[1];
    if (K != K2)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "inner dimensions differ: %lld vs %lld",
                           (long long)K, (long long)K2);
    const int64_t ydims[2] = {M, N};
    int64_t cst[2] = {0, 0};
    if (C) {
        if (C->rank > 2)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "C has rank %d",
                               C->rank);
        for (int i = 0; i < C->rank; i++) {
            const int64_t want = ydims[2 - C->rank + i];
            if (C->dims[i] != want && C->dims[i] != 1)
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "C does not broadcast to (%lld, %lld)",
                                   (long long)M, (long long)N);
        }
        kw__bcast_strides(C->rank, C->dims, 2, ydims, cst);
    }
    struct kw_onnx_value *Y = kw__out_tensor(c, 0, A->dtype, 2, ydims);
    if (!Y) return KW_STATUS_ERR_NOMEM;
    const int64_t a_rs = ta ? 1 : K, a_cs = ta ? M : 1;
    const int64_t b_rs = tb ? 1 : N, b_cs = tb ? K : 1;
    if (A->dtype == KW_ONNX_FLOAT) {
        float *y = Y->data;
        if (C && beta != 0.0f) {
            const float *cd = C->data;
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++)
                    y[i * N + j] = beta * cd[i * cst[0] + j * cst[1]];
        }
        struct kw__sgemm g = {M, N, K, A->data, a_rs, a_cs, B->data,
                              b_rs, b_cs, y, N, alpha};
        struct gemm_state *gs = c->node->state;
        if (gs && (gs->b != B->data || gs->tb != tb)) gs = NULL;
        if (gs && !gs->tried && M > 1 && N > 1) {
            kw__cpu_init();
            gs->bp = kw__bpack_new(B->data, b_rs, b_cs, K, N, kw__cpu_isa());
            gs->tried = 1;
        }
        kw__sgemm_run_bpack(c, &g, gs ? gs->bp : NULL);
        return KW_STATUS_OK;
    }
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += kw__get_f64(A, i * a_rs + k * a_cs) *
                       kw__get_f64(B, k * b_rs + j * b_cs);
            double v = alpha * acc;
            if (C && beta != 0.0f)
                v += beta * kw__get_f64(C, i * cst[0] + j * cst[1]);
            kw__set_f64(Y, i * N + j, v);
        }
    return KW_STATUS_OK;
}

/* ---- integer matmuls ---- */

static int is_q8(const struct kw_onnx_value *v) {
    return kw__is_tensor(v) &&
           (v->dtype == KW_ONNX_UINT8 || v->dtype == KW_ONNX_INT8);
}

/* acc[b, i, j] = sum_k (A - azp[i]) * (B - bzp[j]) in int32 (wrapping). */
static enum kw_status int_matmul(struct kw__op_ctx *c,
                                 const struct kw_onnx_value *A,
                                 const struct kw_onnx_value *azp_v,
                                 const struct kw_onnx_value *B,
                                 const struct kw_onnx_value *bzp_v,
                                 struct mm_plan *p, int32_t **acc_out) {
    *acc_out = NULL;
    if (!is_q8(A) || !is_q8(B))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "A and B must be uint8 or int8");
    if ((azp_v && (!kw__is_tensor(azp_v) || azp_v->dtype != A->dtype)) ||
        (bzp_v && (!kw__is_tensor(bzp_v) || bzp_v->dtype != B->dtype)))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "zero points must match their operand's dtype");
    enum kw_status st = mm_plan_init(c, A, B, p);
    if (st) return st;
    double *azp = NULL, *bzp = NULL;
    if (!kw__nn_qparam(c, azp_v, "A zero point", p->M, 0, &azp) ||
        !kw__nn_qparam(c, bzp_v, "B zero point", p->N, 0, &bzp)) {
        free(azp);
        mm_plan_free(p);
        return KW_STATUS_ERR_FORMAT;
    }
    int64_t total = kw__nn_prod((int64_t[]){p->nb, p->M, p->N}, 3);
    int32_t *acc = total < 0 ? NULL
                             : malloc((size_t)(total ? total : 1) * 4);
    if (!acc) {
        free(azp);
        free(bzp);
        mm_plan_free(p);
        return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    }
    for (int64_t b = 0; b < p->nb; b++)
        for (int64_t i = 0; i < p->M; i++)
            for (int64_t j = 0; j < p->N; j++) {
                const int64_t ao = p->aoff[b] + i * p->K, bo = p->boff[b] + j;
                const int64_t za = (int64_t)azp[i], zb = (int64_t)bzp[j];
                uint32_t s = 0;
                for (int64_t k = 0; k < p->K; k++)
                    s += (uint32_t)((kw__get_i64(A, ao + k) - za) *
                                    (kw__get_i64(B, bo + k * p->N) - zb));
                acc[(b * p->M + i) * p->N + j] = (int32_t)s;
            }
    free(azp);
    free(bzp);
    *acc_out = acc;
    return KW_STATUS_OK;
}

enum kw_status kw__op_matmul_integer(struct kw__op_ctx *c) {
    struct mm_plan p;
    int32_t *acc;
    enum kw_status st = int_matmul(c, kw__in(c, 0), kw__in(c, 2),
                                   kw__in(c, 1), kw__in(c, 3), &p, &acc);
    if (st) return st;
    struct kw_onnx_value *Y = kw__out_tensor(c, 0, KW_ONNX_INT32, p.rank,
                                             p.dims);
    if (Y) memcpy(Y->data, acc, Y->nbytes);
    free(acc);
    mm_plan_free(&p);
    return Y ? KW_STATUS_OK : KW_STATUS_ERR_NOMEM;
}

enum kw_status kw__op_qlinear_matmul(struct kw__op_ctx *c) {
    const struct kw_onnx_value *yzp_v = kw__in(c, 7);
    if (!is_q8(yzp_v))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "y_zero_point must be a uint8/int8 tensor");
    struct mm_plan p;
    int32_t *acc;
    enum kw_status st = int_matmul(c, kw__in(c, 0), kw__in(c, 2),
                                   kw__in(c, 3), kw__in(c, 5), &p, &acc);
    if (st) return st;
    double *as = NULL, *bs = NULL, *ys = NULL, *yzp = NULL;
    struct kw_onnx_value *Y = NULL;
    if (!kw__nn_qparam(c, kw__in(c, 1), "a_scale", p.M, 1, &as) ||
        !kw__nn_qparam(c, kw__in(c, 4), "b_scale", p.N, 1, &bs) ||
        !kw__nn_qparam(c, kw__in(c, 6), "y_scale", 0, 1, &ys) ||
        !kw__nn_qparam(c, yzp_v, "y_zero_point", 0, 0, &yzp)) {
        st = KW_STATUS_ERR_FORMAT;
        goto done;
    }
    Y = kw__out_tensor(c, 0, yzp_v->dtype, p.rank, p.dims);
    if (!Y) {
        st = KW_STATUS_ERR_NOMEM;
        goto done;
    }
    for (int64_t b = 0; b < p.nb; b++)
        for (int64_t i = 0; i < p.M; i++)
            for (int64_t j = 0; j < p.N; j++) {
                const int64_t o = (b * p.M + i) * p.N + j;
                /* the scale product in float, as the runtimes do */
                const float m = (float)as[i] * (float)bs[j] / (float)ys[0];
                const float v = (float)acc[o] * m;
                kw__set_i64(Y, o, kw__nn_saturate((double)v + yzp[0],
                                                  Y->dtype));
            }
done:
    free(as);
    free(bs);
    free(ys);
    free(yzp);
    free(acc);
    mm_plan_free(&p);
    return st;
}
