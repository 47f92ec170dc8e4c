/*
 * conv_pack.c — float32 Conv weights packed for the GEMM micro-kernels:
 * (M x Cg*KH*KW per group) into MR-row panels per K block, and for 3x3
 * stride-1 layers the Winograd-transformed weights too. Done at load for
 * constant weights (kw__conv_prepare, the Conv prepare hook), else per
 * run by the packed path. Entry points: kw__conv_pack_new,
 * kw__conv_pack_free, kw__conv_prepare.
 */
#include "onnx/ops/conv_internal.h"
#include "onnx/ops/wino.h"

void kw__conv_pack_free(void *p) {
    struct kw__conv_pack *k = p;
    if (!k) return;
    kw__conv_pack_free(k->wino);
    kw__conv_pack_free(k->wino4);
    kw__free_aligned(k->a);
    kw__free_aligned(k->ct);
    kw__free_aligned(k->pv);
    free(k);
}

float *kw__conv_pack_alt(struct kw__conv_pack *pk, int64_t n) {
    float *w = n > 0 && (uint64_t)n < SIZE_MAX / sizeof(float)
                   ? kw__alloc_aligned((size_t)n * sizeof(float))
                   : NULL;
    if (!w) return NULL;
    /* another geometry on this node would pack per run: ResNet-50 would
     * keep 60 MB twice */
    kw__free_aligned(pk->a);
    pk->a = NULL;
    return w;
}

static int ukr_for(enum kw__isa isa, struct kw__conv_pack *k) {
#if KW_HAVE_X86
    kw__cpu_init();
    if (isa == KW__ISA_AVX512 && kw__cpu_has(KW__ISA_AVX512)) {
        k->ukr = kw__sgemm_ukr_avx512;
        k->ukr_ex = kw__sgemm_ukr_ex_avx512;
        k->ukr_exd = kw__sgemm_ukr_exd_avx512;
        k->mr = KW_SGEMM_AVX512_MR;
        k->nr = KW_SGEMM_AVX512_NR;
        k->isa = KW__ISA_AVX512;
        return 1;
    }
    if (isa >= KW__ISA_AVX2 && kw__cpu_has(KW__ISA_AVX2)) {
        k->ukr = kw__sgemm_ukr_avx2;
        k->ukr_ex = kw__sgemm_ukr_ex_avx2;
        k->ukr_exd = kw__sgemm_ukr_exd_avx2;
        k->mr = KW_SGEMM_AVX2_MR;
        k->nr = KW_SGEMM_AVX2_NR;
        k->isa = KW__ISA_AVX2;
        return 1;
    }
#endif
    (void)isa;
    (void)k;
    return 0;
}

struct kw__conv_pack *kw__conv_pack_new(const float *w, int64_t group,
                                       int64_t Mg, int64_t Kdim,
                                       enum kw__isa isa) {
    struct kw__conv_pack *k = calloc(1, sizeof *k);
    if (!k || !ukr_for(isa, k) || group < 1 || Mg < 1 || Kdim < 1) {
        free(k);
        return NULL;
    }
    k->group = group;
    k->Mg = Mg;
    k->Kdim = Kdim;
    k->mgpad = (Mg + k->mr - 1) / k->mr * k->mr;
    const int64_t n = kw__nn_prod((int64_t[]){group, k->mgpad, Kdim}, 3);
    if (n < 0 || (uint64_t)n > SIZE_MAX / sizeof(float) ||
        !(k->a = kw__alloc_aligned((size_t)n * sizeof(float)))) {
        free(k);
        return NULL;
    }
    const int mr = k->mr;
    for (int64_t gi = 0; gi < group; gi++) {
        float *base = k->a + gi * k->mgpad * Kdim;
        for (int64_t k0 = 0; k0 < Kdim; k0 += KW_CONV_KC) {
            const int64_t kc = KW_MIN((int64_t)KW_CONV_KC, Kdim - k0);
            for (int64_t p = 0; p < k->mgpad; p += mr) {
                float *dst = base + k0 * k->mgpad + p * kc;
                for (int r = 0; r < mr; r++) {
                    const int64_t row = p + r;
                    const float *src = w + (gi * Mg + row) * Kdim + k0;
                    for (int64_t q = 0; q < kc; q++)
                        dst[q * mr + r] = row < Mg ? src[q] : 0.0f;
                }
            }
        }
    }
    return k;
}

/* w (M x C x 3 x 3) -> U = G g G^T, n x n of M x C (n = tile + 2),
 * packed as n*n "groups": F(2x2, 3x3) (tile 2) or F(4x4, 3x3) (4) */
struct kw__conv_pack *kw__wino_pack_new(const float *w, int64_t M, int64_t C,
                                        int tile, enum kw__isa isa) {
    static const double g2[4][3] = {
        {1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    static const double g4[6][3] = {{1.0 / 4, 0, 0},
                                    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                    {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                    {0, 0, 1}};
    const int n = tile + 2;
    const double(*G)[3] = tile == 4 ? g4 : g2;
    const int64_t cnt = kw__nn_prod((int64_t[]){n * n, M, C}, 3);
    float *u = cnt > 0 && (uint64_t)cnt < SIZE_MAX / sizeof(float)
                   ? malloc((size_t)cnt * sizeof(float))
                   : NULL;
    if (!u || (tile != 2 && tile != 4)) {
        free(u);
        return NULL;
    }
    for (int64_t m = 0; m < M; m++)
        for (int64_t ci = 0; ci < C; ci++) {
            const float *g = w + (m * C + ci) * 9;
            double t[6][3]; /* G g */
            for (int i = 0; i < n; i++)
                for (int j = 0; j < 3; j++)
                    t[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] +
                              G[i][2] * g[6 + j];
            for (int i = 0; i < n; i++) /* (G g) G^T */
                for (int j = 0; j < n; j++)
                    u[((int64_t)(i * n + j) * M + m) * C + ci] =
                        (float)(t[i][0] * G[j][0] + t[i][1] * G[j][1] +
                                t[i][2] * G[j][2]);
        }
    struct kw__conv_pack *pk = kw__conv_pack_new(u, n * n, M, C, isa);
    free(u);
    return pk;
}

void kw__conv_prepare(struct kw__node *n, const struct kw__graph *g) {
    if (n->n_in < 2 || n->in[1] < 0 || n->in[1] >= g->n_values) return;
    const struct kw_onnx_value *W = g->init[n->in[1]];
    if (!W || W->kind != KW_ONNX_TENSOR || W->dtype != KW_ONNX_FLOAT ||
        W->rank < 3)
        return;
    /* X must be float32 too (or the node fails), and every float32 path
     * of conv_f32 applies the activation */
    if (n->fused_act) n->act_in_op = 1;
    const struct kw__attr *ga = kw__attr(n, "group");
    const int64_t group = ga && ga->type == KW_ATTR_INT ? ga->i : 1;
    const int64_t M = W->dims[0], Cg = W->dims[1];
    const int64_t KK = kw__nn_prod(W->dims + 2, W->rank - 2);
    if (group < 1 || M < 1 || M % group || Cg < 1 || KK < 1 ||
        W->rank > 4 || (Cg == 1 && W->rank == 4) ||
        kw__nn_prod((int64_t[]){M, Cg, KK}, 3) != kw_onnx_numel(W))
        return;
    kw__cpu_init();
    struct kw__conv_pack *pk =
        kw__conv_pack_new(W->data, group, M / group, Cg * KK, kw__nn_isa());
    if (!pk) return;
    /* 3x3, stride and dilation 1, one group: Winograd's weights come at
     * the first run (pads and sizes are checked then) */
    const struct kw__attr *sa = kw__attr(n, "strides"),
                          *da = kw__attr(n, "dilations");
    /* (up to 256 x 256 channels with AVX-512: wider layers come late in
     * a network, on planes too small for it, and the copy costs 16/9 of
     * W; up to 512 x 512 with AVX2, where a 7x7 plane gains, conv_wino.c) */
    const int64_t wide = pk->isa == KW__ISA_AVX2 ? 512 * 512 : 256 * 256;
    int unit = W->rank == 4 && W->dims[2] == 3 && W->dims[3] == 3 &&
               group == 1 && M >= 16 && Cg >= 16 && M * Cg <= wide &&
               kw__wino_fns(pk->isa);
    for (size_t i = 0; unit && sa && i < sa->n; i++)
        if (sa->type != KW_ATTR_INTS || sa->ints[i] != 1) unit = 0;
    for (size_t i = 0; unit && da && i < da->n; i++)
        if (da->type != KW_ATTR_INTS || da->ints[i] != 1) unit = 0;
    pk->wino_unit = unit;
    n->state = pk;
    n->state_free = kw__conv_pack_free;
}
