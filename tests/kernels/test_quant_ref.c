/*
 * test_quant_ref.c — the scalar quant reference (kw__fill_quant_ref):
 * hand-built blocks with known values for every type, quantize/dequantize
 * round trips, vec_dot against the float dot of the dequantized rows on 1,
 * 3, 7 and 33 blocks, the dispatched to_float against the reference, and
 * products pinned to llama.cpp's bits (values from tools/peer/kernel_parity
 * --pins) through the reference and through the dispatched kernels.
 * Run with "dequant TYPE N IN OUT" it instead dequantizes N elements of raw
 * TYPE blocks from file IN into f32 file OUT (used by test_dequant_vs_gguf).
 */
#include <math.h>
#include <string.h>

#include "cpu/isa_table.h"
#include "cpu/matmul.h"
#include "cpu/ref/quant_blocks.h"
#include "cpu/ref/quant_ref.h"
#include "testutil.h"

static struct kw__isa_table g_ref;

static uint16_t h(float f) { return kw__fp32_to_fp16(f); }

/* The types that have a reference dequantizer. */
static const uint32_t k_types[] = {
    KW_TYPE_F32,  KW_TYPE_F16,  KW_TYPE_BF16, KW_TYPE_Q4_0,   KW_TYPE_Q4_1,
    KW_TYPE_Q5_0, KW_TYPE_Q5_1, KW_TYPE_Q8_0, KW_TYPE_Q8_1,   KW_TYPE_Q2_K,
    KW_TYPE_Q3_K, KW_TYPE_Q4_K, KW_TYPE_Q5_K, KW_TYPE_Q6_K,   KW_TYPE_Q8_K,
    KW_TYPE_IQ4_NL, KW_TYPE_IQ4_XS,
};
#define N_TYPES (sizeof k_types / sizeof k_types[0])

static const char *tname(uint32_t t) { return kw_type_name(t); }

/* ---- traits ---------------------------------------------------------------- */

static void test_traits(void) {
    static const struct { uint32_t type, vdt; size_t size; } want[] = {
        {KW_TYPE_F32, KW_TYPE_F32, 4},
        {KW_TYPE_F16, KW_TYPE_F16, 2},
        {KW_TYPE_BF16, KW_TYPE_BF16, 2},
        {KW_TYPE_Q4_0, KW_TYPE_Q8_0, sizeof(struct kw_block_q4_0)},
        {KW_TYPE_Q4_1, KW_TYPE_Q8_1, sizeof(struct kw_block_q4_1)},
        {KW_TYPE_Q5_0, KW_TYPE_Q8_0, sizeof(struct kw_block_q5_0)},
        {KW_TYPE_Q5_1, KW_TYPE_Q8_1, sizeof(struct kw_block_q5_1)},
        {KW_TYPE_Q8_0, KW_TYPE_Q8_0, sizeof(struct kw_block_q8_0)},
        {KW_TYPE_Q8_1, KW_TYPE_Q8_1, sizeof(struct kw_block_q8_1)},
        {KW_TYPE_Q2_K, KW_TYPE_Q8_K, sizeof(struct kw_block_q2_K)},
        {KW_TYPE_Q3_K, KW_TYPE_Q8_K, sizeof(struct kw_block_q3_K)},
        {KW_TYPE_Q4_K, KW_TYPE_Q8_K, sizeof(struct kw_block_q4_K)},
        {KW_TYPE_Q5_K, KW_TYPE_Q8_K, sizeof(struct kw_block_q5_K)},
        {KW_TYPE_Q6_K, KW_TYPE_Q8_K, sizeof(struct kw_block_q6_K)},
        {KW_TYPE_Q8_K, KW_TYPE_Q8_K, sizeof(struct kw_block_q8_K)},
        {KW_TYPE_IQ4_NL, KW_TYPE_Q8_0, sizeof(struct kw_block_iq4_nl)},
        {KW_TYPE_IQ4_XS, KW_TYPE_Q8_K, sizeof(struct kw_block_iq4_xs)},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct kw__type_traits *tr = kw__traits(want[i].type);
        CHECKF(tr != NULL, "type %u", want[i].type);
        if (!tr) continue;
        CHECKF(tr->type_size == want[i].size, "%s size %zu", tr->name,
               tr->type_size);
        CHECKF(tr->vec_dot_type == want[i].vdt, "%s vec_dot_type %u",
               tr->name, tr->vec_dot_type);
        CHECKF(tr->to_float != NULL, "%s to_float", tr->name);
        CHECKF(g_ref.to_float[want[i].type] != NULL, "%s ref to_float",
               tr->name);
        /* every weight type has a dot and its activation type a quantizer */
        if (want[i].type != KW_TYPE_Q8_1 && want[i].type != KW_TYPE_Q8_K) {
            CHECKF(g_ref.vec_dot[want[i].type] != NULL, "%s ref vec_dot",
                   tr->name);
            CHECKF(tr->vec_dot != NULL, "%s vec_dot", tr->name);
        }
        CHECKF(g_ref.from_float[want[i].vdt] != NULL, "%s ref from_float",
               tname(want[i].vdt));
    }
}

/* ---- known values ------------------------------------------------------------ */

static int expect_row(uint32_t type, const void *blk, const float *want,
                      int n) {
    float got[256];
    g_ref.to_float[type](blk, got, n);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (got[i] != want[i] && bad++ < 3)
            fprintf(stderr, "%s[%d]: got %.9g want %.9g\n", tname(type), i,
                    got[i], want[i]);
    }
    CHECKF(bad == 0, "%s: %d wrong values", tname(type), bad);
    return bad;
}

/* q3_K scale packing, from the layout gguf-py documents: byte j (0..7) low
 * nibble = low bits of scale j, high nibble = scale j + 8; bytes 8..11 hold
 * the top 2 bits, scale j at byte 8 + j%4, shift 2*(j/4). */
static void pack_q3_scales(const int s[16], uint8_t out[12]) {
    memset(out, 0, 12);
    for (int j = 0; j < 8; j++)
        out[j] = (uint8_t)((s[j] & 15) | (s[j + 8] & 15) << 4);
    for (int j = 0; j < 16; j++)
        out[8 + j % 4] |= (uint8_t)(((s[j] >> 4) & 3) << (2 * (j / 4)));
}

/* q4_K/q5_K 6-bit scale/min packing (gguf-py's documented layout). */
static void pack_k4_scales(const int sc[8], const int m[8], uint8_t out[12]) {
    for (int j = 0; j < 4; j++) {
        out[j] = (uint8_t)((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
        out[j + 4] = (uint8_t)((m[j] & 63) | ((m[j + 4] >> 4) << 6));
        out[j + 8] = (uint8_t)((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
    }
}

static void test_known_values(void) {
    float want[256];

    { /* q4_0: d = 0.5, nibbles j (low) and 15 - j (high) */
        struct kw_block_q4_0 b = {.d = h(0.5f)};
        for (int j = 0; j < 16; j++) {
            b.qs[j] = (uint8_t)(j | (15 - j) << 4);
            want[j] = (j - 8) * 0.5f;
            want[j + 16] = (7 - j) * 0.5f;
        }
        expect_row(KW_TYPE_Q4_0, &b, want, 32);
    }
    { /* q4_1: d = 0.5, m = -1 */
        struct kw_block_q4_1 b = {.d = h(0.5f), .m = h(-1.0f)};
        for (int j = 0; j < 16; j++) {
            b.qs[j] = (uint8_t)(j | (15 - j) << 4);
            want[j] = j * 0.5f - 1.0f;
            want[j + 16] = (15 - j) * 0.5f - 1.0f;
        }
        expect_row(KW_TYPE_Q4_1, &b, want, 32);
    }
    { /* q5_0 / q5_1: the 5th bit of element i is bit i of qh */
        const uint32_t qh = 0xA5C3F00Fu;
        struct kw_block_q5_0 b0 = {.d = h(0.25f)};
        struct kw_block_q5_1 b1 = {.d = h(0.25f), .m = h(2.0f)};
        for (int i = 0; i < 4; i++)
            b0.qh[i] = b1.qh[i] = (uint8_t)(qh >> (8 * i));
        for (int j = 0; j < 16; j++)
            b0.qs[j] = b1.qs[j] = (uint8_t)((j * 7 % 16) | (j * 3 % 16) << 4);
        for (int i = 0; i < 32; i++) {
            const int nib = i < 16 ? (i * 7 % 16) : ((i - 16) * 3 % 16);
            const int q = nib + 16 * (int)((qh >> i) & 1);
            want[i] = (q - 16) * 0.25f;
        }
        expect_row(KW_TYPE_Q5_0, &b0, want, 32);
        for (int i = 0; i < 32; i++) want[i] = want[i] + 4.0f + 2.0f;
        expect_row(KW_TYPE_Q5_1, &b1, want, 32);
    }
    { /* q8_0, q8_1 */
        struct kw_block_q8_0 b = {.d = h(0.25f)};
        struct kw_block_q8_1 c = {.d = h(0.25f), .s = h(123.0f)};
        for (int j = 0; j < 32; j++) {
            b.qs[j] = c.qs[j] = (int8_t)(j * 7 - 100);
            want[j] = (j * 7 - 100) * 0.25f;
        }
        expect_row(KW_TYPE_Q8_0, &b, want, 32);
        expect_row(KW_TYPE_Q8_1, &c, want, 32);
    }
    { /* iq4_nl: d = 1 gives the codebook; d = -0.5 halves and negates */
        static const int book[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                     1,    13,   25,  38,  53,  69,  89,  113};
        struct kw_block_iq4_nl b = {.d = h(-0.5f)};
        for (int j = 0; j < 16; j++) {
            b.qs[j] = (uint8_t)(j | (15 - j) << 4);
            want[j] = book[j] * -0.5f;
            want[j + 16] = book[15 - j] * -0.5f;
        }
        expect_row(KW_TYPE_IQ4_NL, &b, want, 32);
    }
    { /* q2_K: scale s & 15 = s, min nibble = 15 - s; every byte 0xE4 puts
         quants 0,1,2,3 on the four 32-runs of each 128-half */
        struct kw_block_q2_K b = {.d = h(1.0f), .dmin = h(0.5f)};
        for (int s = 0; s < 16; s++) b.scales[s] = (uint8_t)(s | (15 - s) << 4);
        memset(b.qs, 0xE4, sizeof b.qs);
        for (int e = 0; e < 256; e++)
            want[e] = (float)(e / 16) * (float)((e % 128) / 32) -
                      0.5f * (float)(15 - e / 16);
        expect_row(KW_TYPE_Q2_K, &b, want, 256);
    }
    { /* q3_K: scales 20..35 (biased by 32), hmask alternating */
        struct kw_block_q3_K b = {.d = h(0.5f)};
        int s[16];
        for (int j = 0; j < 16; j++) s[j] = 20 + j;
        pack_q3_scales(s, b.scales);
        memset(b.qs, 0xE4, sizeof b.qs);
        for (int l = 0; l < 32; l++) b.hmask[l] = (uint8_t)(l & 1 ? 0xF0 : 0x0F);
        for (int e = 0; e < 256; e++) {
            const int run = e / 32, l = e % 32; /* run = hmask bit */
            const int low = (e % 128) / 32;
            const int hbit = ((l & 1 ? 0xF0 : 0x0F) >> run) & 1;
            want[e] = 0.5f * (float)(s[e / 16] - 32) *
                      (float)(low - (hbit ? 0 : 4));
        }
        expect_row(KW_TYPE_Q3_K, &b, want, 256);
    }
    { /* q4_K / q5_K: scales 60..(-7), mins 3j+1, nibble = l % 16 */
        int sc[8], m[8];
        for (int j = 0; j < 8; j++) sc[j] = 60 - 7 * j, m[j] = 3 * j + 1;
        struct kw_block_q4_K b4 = {.d = h(0.125f), .dmin = h(0.25f)};
        struct kw_block_q5_K b5 = {.d = h(0.125f), .dmin = h(0.25f)};
        pack_k4_scales(sc, m, b4.scales);
        pack_k4_scales(sc, m, b5.scales);
        for (int i = 0; i < 128; i++)
            b4.qs[i] = b5.qs[i] = (uint8_t)((i % 16) | ((i + 5) % 16) << 4);
        for (int l = 0; l < 32; l++) b5.qh[l] = (uint8_t)(l * 37);
        for (int e = 0; e < 256; e++) {
            const int chunk = e / 64, l = e % 32, high = (e / 32) % 2;
            const int byte = 32 * chunk + l;
            const int nib = high ? (byte + 5) % 16 : byte % 16;
            want[e] = 0.125f * (float)sc[e / 32] * (float)nib -
                      0.25f * (float)m[e / 32];
        }
        expect_row(KW_TYPE_Q4_K, &b4, want, 256);
        for (int e = 0; e < 256; e++) {
            const int chunk = e / 64, l = e % 32, high = (e / 32) % 2;
            const int byte = 32 * chunk + l;
            const int nib = high ? (byte + 5) % 16 : byte % 16;
            const int bit5 = ((l * 37) & 0xFF) >> (2 * chunk + high) & 1;
            want[e] = 0.125f * (float)sc[e / 32] * (float)(nib + 16 * bit5) -
                      0.25f * (float)m[e / 32];
        }
        expect_row(KW_TYPE_Q5_K, &b5, want, 256);
    }
    { /* q6_K: build the layout from per-element 6-bit values */
        struct kw_block_q6_K b = {.d = h(0.5f)};
        int q[256];
        for (int e = 0; e < 256; e++) q[e] = (e * 29 + 3) % 64;
        for (int s = 0; s < 16; s++) b.scales[s] = (int8_t)(s * 9 - 70);
        for (int half = 0; half < 2; half++) {
            for (int l = 0; l < 32; l++) {
                const int *v = q + 128 * half;
                b.ql[64 * half + l] = (uint8_t)((v[l] & 15) | (v[l + 64] & 15) << 4);
                b.ql[64 * half + l + 32] =
                    (uint8_t)((v[l + 32] & 15) | (v[l + 96] & 15) << 4);
                b.qh[32 * half + l] =
                    (uint8_t)((v[l] >> 4) | (v[l + 32] >> 4) << 2 |
                              (v[l + 64] >> 4) << 4 | (v[l + 96] >> 4) << 6);
            }
        }
        for (int e = 0; e < 256; e++)
            want[e] = 0.5f * (float)b.scales[e / 16] * (float)(q[e] - 32);
        expect_row(KW_TYPE_Q6_K, &b, want, 256);
    }
    { /* iq4_xs: 6-bit scales 5 + 7ib, codebook index e % 16 */
        static const int book[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                     1,    13,   25,  38,  53,  69,  89,  113};
        struct kw_block_iq4_xs b = {.d = h(0.25f)};
        for (int ib = 0; ib < 8; ib++) {
            const int ls = 5 + 7 * ib;
            b.scales_l[ib / 2] |= (uint8_t)((ls & 15) << (4 * (ib % 2)));
            b.scales_h |= (uint16_t)((ls >> 4) << (2 * ib));
        }
        for (int ib = 0; ib < 8; ib++)
            for (int j = 0; j < 16; j++)
                b.qs[16 * ib + j] = (uint8_t)(j | ((j + ib) % 16) << 4);
        for (int e = 0; e < 256; e++) {
            const int ib = e / 32, j = e % 32;
            const int idx = j < 16 ? j : ((j - 16) + ib) % 16;
            want[e] = 0.25f * (float)(5 + 7 * ib - 32) * (float)book[idx];
        }
        expect_row(KW_TYPE_IQ4_XS, &b, want, 256);
    }
    { /* q8_K: f32 d */
        struct kw_block_q8_K b = {.d = 0.375f};
        for (int e = 0; e < 256; e++) {
            b.qs[e] = (int8_t)(e - 128);
            want[e] = 0.375f * (float)(e - 128);
        }
        expect_row(KW_TYPE_Q8_K, &b, want, 256);
    }
    { /* f16 / bf16 / f32 */
        const uint16_t hf[4] = {0x3C00, 0xC000, 0x0001, 0x7BFF};
        const float hw[4] = {1.0f, -2.0f, 0x1p-24f, 65504.0f};
        expect_row(KW_TYPE_F16, hf, hw, 4);
        const uint16_t bf[3] = {0x3F80, 0xC040, 0x0000};
        const float bw[3] = {1.0f, -3.0f, 0.0f};
        expect_row(KW_TYPE_BF16, bf, bw, 3);
        expect_row(KW_TYPE_F32, hw, hw, 4);
    }
}

/* ---- quantizers ------------------------------------------------------------- */

/* Largest |x - dequant(quant(x))| allowed, as a fraction of the block's
 * largest |x|; 0 when the type has no reference quantizer. */
static double roundtrip_tolerance(uint32_t t) {
    switch (t) {
    case KW_TYPE_F32: return 0.0;
    case KW_TYPE_F16: return 1.0 / 2048;
    case KW_TYPE_BF16: return 1.0 / 256;
    case KW_TYPE_Q8_0: case KW_TYPE_Q8_1: case KW_TYPE_Q8_K: return 0.5 / 127 + 1e-3;
    /* q4_0/q5_0 map the extreme value to -8/-16: the opposite extreme
     * clamps at 7/15 steps, one step (amax/8, amax/16) off */
    case KW_TYPE_Q4_0: return 1.0 / 8 + 1e-2;
    case KW_TYPE_Q5_0: return 1.0 / 16 + 1e-2;
    case KW_TYPE_Q4_1: return 1.0 / 15 + 1e-2;  /* range = 2 amax */
    case KW_TYPE_Q5_1: return 1.0 / 31 + 1e-2;
    case KW_TYPE_IQ4_NL: return 0.15;
    default: return -1;
    }
}

static void test_roundtrip(void) {
    uint64_t rng = 42;
    enum { NB = 7 * 256 };
    static float x[NB], back[NB];
    static uint8_t q[NB * 4 + 1024];
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        const uint32_t t = k_types[ti];
        if (!g_ref.from_float[t]) continue;
        const double tol = roundtrip_tolerance(t);
        CHECKF(tol >= 0, "%s has a quantizer but no tolerance", tname(t));
        const int64_t blck = kw__traits(t)->blck_size;
        for (int i = 0; i < NB; i++) {
            /* blocks of different magnitude, some with an outlier */
            const float scale = powf(2.0f, (float)(i / 256 % 7) - 3.0f);
            x[i] = kw_test_randf(&rng) * scale * (i % 97 == 5 ? 4.0f : 1.0f);
        }
        g_ref.from_float[t](x, q, NB);
        g_ref.to_float[t](q, back, NB);
        double worst = 0;
        for (int64_t b0 = 0; b0 < NB; b0 += blck) {
            const int64_t bl = blck == 1 ? 1 : blck;
            double amax = 0;
            for (int64_t i = b0; i < b0 + bl; i++) amax = fmax(amax, fabs(x[i]));
            for (int64_t i = b0; i < b0 + bl; i++) {
                /* below 1e-7 absolute is fp16's subnormal spacing */
                const double err = fmax(0.0, fabs((double)back[i] - x[i]) - 1e-7);
                const double rel = amax > 0 ? err / amax : err;
                if (rel > worst) worst = rel;
            }
        }
        CHECKF(worst <= tol, "%s round trip error %.5g of block max > %.5g",
               tname(t), worst, tol);
    }

    /* q8_1's s is fp16(d * sum(q)); q8_K's bsums are the 16-run sums */
    struct kw_block_q8_1 b1[4];
    g_ref.from_float[KW_TYPE_Q8_1](x, b1, 128);
    for (int b = 0; b < 4; b++) {
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += b1[b].qs[j];
        const float d = kw__fp16_to_fp32(b1[b].d);
        /* d was rounded to fp16 after s was formed from the f32 d */
        const float s = kw__fp16_to_fp32(b1[b].s);
        CHECKF(fabsf(s - d * (float)sum) <= fabsf(d * (float)sum) * 2e-3f + 1e-6f,
               "q8_1 s %g vs d*sum %g", s, d * (float)sum);
    }
    struct kw_block_q8_K bk[2];
    g_ref.from_float[KW_TYPE_Q8_K](x, bk, 512);
    for (int b = 0; b < 2; b++) {
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += bk[b].qs[16 * g + l];
            CHECKF(bk[b].bsums[g] == sum, "q8_K bsums[%d]", g);
        }
        /* the value of largest magnitude maps to exactly -127 */
        int extreme = 0;
        for (int e = 0; e < 256; e++)
            if (bk[b].qs[e] == -127) extreme = 1;
        CHECK(extreme);
    }

    /* all-zero blocks quantize to d = 0, q = 0 */
    static const float zeros[256];
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        const uint32_t t = k_types[ti];
        if (!g_ref.from_float[t]) continue;
        memset(q, 0x5A, 1024);
        g_ref.from_float[t](zeros, q, 256);
        g_ref.to_float[t](q, back, 256);
        int nz = 0;
        for (int i = 0; i < 256; i++) nz += back[i] != 0.0f;
        CHECKF(nz == 0, "%s: zeros dequantize to %d non-zeros", tname(t), nz);
    }

    /* q8_0 / q8_1 round ties to even, as ggml's x86 quantizers (what
     * llama.cpp runs; its portable _ref rounds away from zero): amax 127
     * gives id = 1 exactly, so 2.5 -> 2, -3.5 -> -4, 0.5 -> 0, 1.5 -> 2 */
    float tie[32] = {127.0f, 2.5f, -3.5f, 0.5f, 1.5f};
    struct kw_block_q8_0 b0;
    g_ref.from_float[KW_TYPE_Q8_0](tie, &b0, 32);
    CHECK(b0.qs[0] == 127 && b0.qs[1] == 2 && b0.qs[2] == -4 &&
          b0.qs[3] == 0 && b0.qs[4] == 2);
    struct kw_block_q8_1 t1;
    g_ref.from_float[KW_TYPE_Q8_1](tie, &t1, 32);
    CHECK(t1.qs[1] == 2 && t1.qs[2] == -4 && t1.qs[3] == 0 && t1.qs[4] == 2);
}

/* ---- vec_dot -------------------------------------------------------------- */

/* Random weight blocks: random bytes with sane fp16 scale fields (quants of
 * every value, scales in a range that keeps products finite). */
static void random_weights(uint32_t t, void *dst, int64_t n, uint64_t *rng) {
    const struct kw__type_traits *tr = kw__traits(t);
    const int64_t nb = n / tr->blck_size;
    uint8_t *p = dst;
    if (t == KW_TYPE_F32 || t == KW_TYPE_F16 || t == KW_TYPE_BF16) {
        float *tmp = malloc((size_t)n * sizeof(float));
        for (int64_t i = 0; i < n; i++) tmp[i] = kw_test_randf(rng);
        g_ref.from_float[t](tmp, dst, n);
        free(tmp);
        return;
    }
    for (size_t i = 0; i < (size_t)nb * tr->type_size; i++)
        p[i] = (uint8_t)kw_test_rand(rng);
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *blk = p + (size_t)b * tr->type_size;
        const uint16_t d = h(0.001f + 0.01f * fabsf(kw_test_randf(rng)));
        const uint16_t m = h(0.02f * kw_test_randf(rng));
        switch (t) {
        case KW_TYPE_Q4_1: case KW_TYPE_Q5_1: {
            memcpy(blk, &d, 2);
            memcpy(blk + 2, &m, 2);
            break;
        }
        case KW_TYPE_Q4_K: case KW_TYPE_Q5_K: {
            const uint16_t dm = h(0.001f + 0.01f * fabsf(kw_test_randf(rng)));
            memcpy(blk, &d, 2);
            memcpy(blk + 2, &dm, 2);
            break;
        }
        case KW_TYPE_Q2_K: {
            const uint16_t dm = h(0.001f + 0.01f * fabsf(kw_test_randf(rng)));
            memcpy(blk + offsetof(struct kw_block_q2_K, d), &d, 2);
            memcpy(blk + offsetof(struct kw_block_q2_K, dmin), &dm, 2);
            break;
        }
        case KW_TYPE_Q3_K:
            memcpy(blk + offsetof(struct kw_block_q3_K, d), &d, 2);
            break;
        case KW_TYPE_Q6_K:
            memcpy(blk + offsetof(struct kw_block_q6_K, d), &d, 2);
            break;
        default: /* d leads q4_0 q5_0 q8_0 iq4_nl iq4_xs */
            memcpy(blk, &d, 2);
            break;
        }
    }
}

static void test_vec_dot(void) {
    static const int nblocks[] = {1, 3, 7, 33};
    uint64_t rng = 7;
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        const uint32_t t = k_types[ti];
        if (!g_ref.vec_dot[t]) continue;
        const struct kw__type_traits *tr = kw__traits(t);
        const uint32_t vt = tr->vec_dot_type;
        const int64_t qk = KW_MAX(tr->blck_size, kw__traits(vt)->blck_size);
        const int64_t unit = tr->blck_size == 1 ? 32 : qk;
        for (size_t k = 0; k < sizeof nblocks / sizeof nblocks[0]; k++) {
            const int64_t n = unit * nblocks[k];
            void *x = malloc(kw__row_size(t, n));
            void *y = malloc(kw__row_size(vt, n));
            float *xf = malloc((size_t)n * sizeof(float));
            float *yf = malloc((size_t)n * sizeof(float));
            random_weights(t, x, n, &rng);
            for (int64_t i = 0; i < n; i++) yf[i] = kw_test_randf(&rng) * 3.0f;
            g_ref.from_float[vt](yf, y, n);
            g_ref.to_float[t](x, xf, n);
            g_ref.to_float[vt](y, yf, n);
            double want = 0, mag = 0;
            for (int64_t i = 0; i < n; i++) {
                want += (double)xf[i] * yf[i];
                mag += fabs((double)xf[i] * yf[i]);
            }
            /* q8_1's s = d * sum(q) is stored in fp16: allow its rounding */
            double extra = 0;
            if (vt == KW_TYPE_Q8_1) {
                const struct kw_block_q8_1 *yb = y;
                for (int64_t b = 0; b < n / 32; b++) {
                    uint16_t mh;
                    memcpy(&mh, (const uint8_t *)x + b * tr->type_size + 2, 2);
                    extra += fabs(kw__fp16_to_fp32(mh)) *
                             fabs(kw__fp16_to_fp32(yb[b].s)) / 1024.0;
                }
            }
            float got = NAN;
            g_ref.vec_dot[t](n, &got, x, y);
            const double tol = 1e-5 * mag + extra + 1e-30;
            CHECKF(fabs(got - want) <= tol,
                   "%s x %s, %lld blocks: got %.9g want %.9g (tol %.3g)",
                   tname(t), tname(vt), (long long)nblocks[k], got, want, tol);
            /* the dispatched variant must agree closely too */
            float disp = NAN;
            tr->vec_dot(n, &disp, x, y);
            CHECKF(fabs(disp - want) <= tol + 1e-5 * mag,
                   "%s dispatched vec_dot %.9g vs %.9g", tname(t), disp, want);
            free(x), free(y), free(xf), free(yf);
        }
    }
}

/* The dispatched (maybe SIMD) dequantizers must equal the reference. */
static void test_dispatched_to_float(void) {
    uint64_t rng = 99;
    enum { N = 33 * 256 };
    static uint8_t buf[N * 4];
    static float a[N], b[N];
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        const uint32_t t = k_types[ti];
        if (t == KW_TYPE_Q8_K || t == KW_TYPE_Q8_1) {
            for (int i = 0; i < N; i++) a[i] = kw_test_randf(&rng);
            g_ref.from_float[t](a, buf, N);
        } else {
            random_weights(t, buf, N, &rng);
        }
        g_ref.to_float[t](buf, a, N);
        kw__traits(t)->to_float(buf, b, N);
        CHECKF(memcmp(a, b, sizeof a) == 0, "%s: dispatched to_float differs",
               tname(t));
    }
}

/* ---- products pinned to llama.cpp -------------------------------------- */

/* Outputs llama.cpp (x86, AVX-512 VNNI peer build) gives for the inputs of
 * pin_inputs: 8 rows for 1 token, then rows of tokens 0 and 7 of an
 * 8-token product (q4_K / q6_K switch kernels, and rounding, with the
 * batch). Regenerate with tools/peer/kernel_parity --pins. */
static const struct {
    uint32_t type;
    uint32_t bits[24];
} k_pins[] = {
    {KW_TYPE_Q4_1, {0xc0be3dd0, 0xc0233c39, 0xbfb71bec, 0x3f0709e3, 0xc05fb2f0, 0x3f953168,
        0xc1050b81, 0x3dcc7012, 0xc0be3dd0, 0xc0233c39, 0xbfb71bec, 0x3f0709e3,
        0xc05fb2f0, 0x3f953168, 0xc1050b81, 0x3dcc7012, 0xbf239591, 0xc02ae51e,
        0x40d9c713, 0x40c3e622, 0x404a4cc3, 0x40c34711, 0x40f7bb0a, 0x40824f47}},
    {KW_TYPE_Q8_0, {0xc2b23fba, 0x42761fb4, 0x40fa5378, 0x42029c64, 0x4241d6ad, 0xc1d391f3,
        0x41a3a2bb, 0x41870a04, 0xc2b23fba, 0x42761fb4, 0x40fa5378, 0x42029c64,
        0x4241d6ad, 0xc1d391f3, 0x41a3a2bb, 0x41870a04, 0x425e909a, 0xc20f8c80,
        0x409c5d50, 0xc10d2389, 0xbfc29b20, 0x4171a846, 0x4224170a, 0xc2037e0d}},
    {KW_TYPE_Q5_0, {0x40633e06, 0xc0a9f322, 0x3fc69b7a, 0xbf302858, 0x406ed362, 0xc0ec8f0b,
        0x40249ef0, 0x401fccd2, 0x40633e06, 0xc0a9f322, 0x3fc69b7a, 0xbf302858,
        0x406ed362, 0xc0ec8f0b, 0x40249ef0, 0x401fccd2, 0x41076696, 0x4095fd30,
        0xc12a6eb0, 0x3fb09380, 0x40a4bf2a, 0x4043d8e4, 0xbf807658, 0xc029cd65}},
    {KW_TYPE_Q4_K, {0x422e63d4, 0xc261ad02, 0xc29b0845, 0xc2049132, 0xc2338d63, 0x435899e7,
        0xc2a52be3, 0x408b02d8, 0x422e63d3, 0xc261ad02, 0xc29b0844, 0xc2049132,
        0xc2338d65, 0x435899e8, 0xc2a52be3, 0x408b02d8, 0x42a62740, 0xc1f2eb2c,
        0x42728209, 0x42cace10, 0x41a3e4d3, 0x438a0d96, 0xc2df40ac, 0x42359036}},
    {KW_TYPE_Q6_K, {0x427e9cae, 0x44b50bba, 0x441251c2, 0x42222ba0, 0xc3ed79ce, 0x44dc8e81,
        0x430e9738, 0x44bc9abc, 0x427e9cac, 0x44b50bbb, 0x441251c2, 0x42222b66,
        0xc3ed79cf, 0x44dc8e81, 0x430e9737, 0x44bc9abd, 0xc2808857, 0x43a3d06f,
        0x42b58e98, 0x4456b013, 0xc441e051, 0x44d4f0ab, 0xc42935fd, 0x429910a8}},
};

/* The same generator as kernel_parity.c's pin_inputs. */
static uint32_t g_pin;
static uint32_t pin_next(void) {
    g_pin = g_pin * 1664525u + 1013904223u;
    return g_pin >> 8;
}

static void pin_inputs(uint32_t type, int64_t n, uint8_t *w, float *x) {
    g_pin = 12345u + type;
    const size_t rb = kw__row_size(type, n);
    for (size_t i = 0; i < 8 * rb; i++) w[i] = (uint8_t)pin_next();
    const size_t bs = kw__traits(type)->type_size;
    for (size_t b = 0; b < 8 * rb / bs; b++) {
        uint8_t *blk = w + b * bs;
        const int d_off = type == KW_TYPE_Q6_K ? 208 : 0;
        const uint16_t d = h(0.001f + (float)(pin_next() % 1000) * 1e-5f);
        memcpy(blk + d_off, &d, 2);
        if (type == KW_TYPE_Q4_1 || type == KW_TYPE_Q4_K) {
            const float m = (float)(pin_next() % 1000) * 1e-5f;
            const uint16_t mh = h(type == KW_TYPE_Q4_1 ? -m : m);
            memcpy(blk + 2, &mh, 2);
        }
    }
    for (int64_t i = 0; i < 8 * n; i++)
        x[i] = (float)((int)(pin_next() % 2001) - 1000) * 0.00731f;
}

/* kw__mat_mul's tiling, on the reference kernels only */
static void mat_mul_ref(const struct kw__mat *m, const uint8_t *xq, size_t arb,
                        int64_t T, float *y) {
    kw__gemm_fn g = T >= KW__WIDE_BATCH ? kw__gemm_wide_variant(m->type, KW__ISA_REF)
                                        : NULL;
    if (!g) g = kw__gemm_variant(m->type, KW__ISA_REF);
    kw__vec_dot_fn d = g_ref.vec_dot[m->type];
    for (int64_t t = 0; t < T; t += 4)
        for (int64_t r = 0; r < m->n_out; r += 4) {
            const int ny = (int)KW_MIN(4, T - t), nx = (int)KW_MIN(4, m->n_out - r);
            if (g) {
                g(m->n_in, m->data + (size_t)r * m->row_bytes, m->row_bytes, nx,
                  xq + (size_t)t * arb, arb, ny, y + t * m->n_out + r,
                  (size_t)m->n_out);
                continue;
            }
            for (int j = 0; j < ny; j++)
                for (int i = 0; i < nx; i++)
                    d(m->n_in, &y[(t + j) * m->n_out + r + i],
                      m->data + (size_t)(r + i) * m->row_bytes,
                      xq + (size_t)(t + j) * arb);
        }
}

static void test_peer_pins(void) {
    for (size_t k = 0; k < sizeof k_pins / sizeof k_pins[0]; k++) {
        const uint32_t t = k_pins[k].type;
        const int64_t n = kw__traits(t)->blck_size == 256 ? 512 : 576;
        const size_t rb = kw__row_size(t, n);
        uint8_t *w = malloc(8 * rb);
        float *x = malloc(sizeof(float) * (size_t)(8 * n));
        pin_inputs(t, n, w, x);
        const struct kw__mat m = {t, n, 8, rb, w};
        const size_t arb = kw__mat_act_row_bytes(&m);
        uint8_t *xq = malloc(8 * arb);
        for (int path = 0; path < 2; path++) { /* reference, dispatched */
            const uint32_t vt = kw__traits(t)->vec_dot_type;
            for (int r = 0; r < 8; r++) {
                if (path == 0) g_ref.from_float[vt](x + r * n, xq + r * arb, n);
                else kw__mat_quantize(&m, x, (size_t)n, xq, arb, r, r + 1);
            }
            float y1[8], y8[64], got[24];
            if (path == 0) {
                mat_mul_ref(&m, xq, arb, 1, y1);
                mat_mul_ref(&m, xq, arb, 8, y8);
            } else {
                kw__mat_mul(&m, xq, arb, 1, y1, 8, 0, 8, 0);
                kw__mat_mul(&m, xq, arb, 8, y8, 8, 0, 8, 0);
            }
            for (int i = 0; i < 24; i++)
                got[i] = i < 8 ? y1[i] : i < 16 ? y8[i - 8] : y8[56 + i - 16];
            for (int i = 0; i < 24; i++) {
                uint32_t u;
                memcpy(&u, &got[i], 4);
                CHECKF(u == k_pins[k].bits[i],
                       "%s %s pin %d: 0x%08x, llama.cpp 0x%08x", tname(t),
                       path ? kw__isa_name(kw__cpu_isa()) : "ref", i, u,
                       k_pins[k].bits[i]);
            }
        }
        free(w);
        free(x);
        free(xq);
    }
}

/* ---- dump mode --------------------------------------------------------- */

static int dump(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s dequant TYPE N IN OUT\n", argv[0]);
        return 2;
    }
    const uint32_t t = (uint32_t)strtoul(argv[2], NULL, 10);
    const int64_t n = strtoll(argv[3], NULL, 10);
    const struct kw__type_traits *tr = kw__traits(t);
    if (!tr || !g_ref.to_float[t] || n <= 0 || !kw__row_size(t, n)) {
        fprintf(stderr, "dequant: unsupported type %u or bad count %lld\n", t,
                (long long)n);
        return 2;
    }
    size_t size = 0;
    void *in = kw_test_read_file(argv[4], &size);
    if (!in || size != kw__row_size(t, n)) {
        fprintf(stderr, "dequant: %s: want %zu bytes, got %zu\n", argv[4],
                kw__row_size(t, n), size);
        free(in);
        return 2;
    }
    float *out = malloc((size_t)n * sizeof(float));
    g_ref.to_float[t](in, out, n);
    FILE *f = fopen(argv[5], "wb");
    const int ok = f && fwrite(out, sizeof(float), (size_t)n, f) == (size_t)n;
    if (f) fclose(f);
    free(in);
    free(out);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    kw__cpu_init();
    kw__fill_quant_ref(&g_ref);
    if (argc > 1 && strcmp(argv[1], "dequant") == 0) return dump(argc, argv);
    test_traits();
    test_known_values();
    test_roundtrip();
    test_vec_dot();
    test_dispatched_to_float();
    test_peer_pins();
    return kw_test_finish("test_quant_ref");
}
