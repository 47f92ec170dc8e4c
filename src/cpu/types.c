/*
 * types.c — names and block geometry of every ggml tensor type (so GGUF
 * validation can size any tensor) and the activation type each one's dot
 * product pairs with, merged with the compute entry points the dispatcher
 * chose. Geometry matches ggml's type_traits (checked against gguf-py's
 * GGML_QUANT_SIZES, which wrongly says 40 bytes for q8_1: ggml's block_q8_1
 * has two fp16 fields, 36 bytes).
 */
#include "cpu/kernels.h"

struct type_geom {
    const char *name;
    int64_t blck;
    size_t size;
};

/* Indexed by ggml type id; ids ggml removed have no name. */
static const struct type_geom k_geom[KW_TYPE_COUNT] = {
    [0] = {"f32", 1, 4},       [1] = {"f16", 1, 2},
    [2] = {"q4_0", 32, 18},    [3] = {"q4_1", 32, 20},
    [6] = {"q5_0", 32, 22},    [7] = {"q5_1", 32, 24},
    [8] = {"q8_0", 32, 34},    [9] = {"q8_1", 32, 36},
    [10] = {"q2_K", 256, 84},  [11] = {"q3_K", 256, 110},
    [12] = {"q4_K", 256, 144}, [13] = {"q5_K", 256, 176},
    [14] = {"q6_K", 256, 210}, [15] = {"q8_K", 256, 292},
    [16] = {"iq2_xxs", 256, 66}, [17] = {"iq2_xs", 256, 74},
    [18] = {"iq3_xxs", 256, 98}, [19] = {"iq1_s", 256, 50},
    [20] = {"iq4_nl", 32, 18},  [21] = {"iq3_s", 256, 110},
    [22] = {"iq2_s", 256, 82},  [23] = {"iq4_xs", 256, 136},
    [24] = {"i8", 1, 1},        [25] = {"i16", 1, 2},
    [26] = {"i32", 1, 4},       [27] = {"i64", 1, 8},
    [28] = {"f64", 1, 8},       [29] = {"iq1_m", 256, 56},
    [30] = {"bf16", 1, 2},      [34] = {"tq1_0", 256, 54},
    [35] = {"tq2_0", 256, 66},  [39] = {"mxfp4", 32, 17},
};

/* ggml-cpu's vec_dot_type: the activation type a weight row dots with. */
static const uint8_t k_vec_dot_type[KW_TYPE_COUNT] = {
    [KW_TYPE_F32] = KW_TYPE_F32,     [KW_TYPE_F16] = KW_TYPE_F16,
    [KW_TYPE_BF16] = KW_TYPE_BF16,   [KW_TYPE_Q4_0] = KW_TYPE_Q8_0,
    [KW_TYPE_Q4_1] = KW_TYPE_Q8_1,   [KW_TYPE_Q5_0] = KW_TYPE_Q8_0,
    [KW_TYPE_Q5_1] = KW_TYPE_Q8_1,   [KW_TYPE_Q8_0] = KW_TYPE_Q8_0,
    [KW_TYPE_Q8_1] = KW_TYPE_Q8_1,   [KW_TYPE_Q2_K] = KW_TYPE_Q8_K,
    [KW_TYPE_Q3_K] = KW_TYPE_Q8_K,   [KW_TYPE_Q4_K] = KW_TYPE_Q8_K,
    [KW_TYPE_Q5_K] = KW_TYPE_Q8_K,   [KW_TYPE_Q6_K] = KW_TYPE_Q8_K,
    [KW_TYPE_Q8_K] = KW_TYPE_Q8_K,   [16] = KW_TYPE_Q8_K, /* iq2_xxs */
    [17] = KW_TYPE_Q8_K, /* iq2_xs */ [18] = KW_TYPE_Q8_K, /* iq3_xxs */
    [19] = KW_TYPE_Q8_K, /* iq1_s */  [KW_TYPE_IQ4_NL] = KW_TYPE_Q8_0,
    [21] = KW_TYPE_Q8_K, /* iq3_s */  [22] = KW_TYPE_Q8_K, /* iq2_s */
    [KW_TYPE_IQ4_XS] = KW_TYPE_Q8_K, [29] = KW_TYPE_Q8_K, /* iq1_m */
    [34] = KW_TYPE_Q8_K, /* tq1_0 */  [35] = KW_TYPE_Q8_K, /* tq2_0 */
    [39] = KW_TYPE_Q8_0, /* mxfp4 */
};

const char *kw_type_name(uint32_t type) {
    return type < KW_TYPE_COUNT ? k_geom[type].name : NULL;
}

/* Filled by dispatch.c (kw__cpu_init) with the chosen entry points. */
KW_HIDDEN struct kw__type_traits kw__traits_table[KW_TYPE_COUNT];
KW_HIDDEN void kw__traits_init_geometry(void);

void kw__traits_init_geometry(void) {
    for (uint32_t i = 0; i < KW_TYPE_COUNT; i++) {
        kw__traits_table[i].name = k_geom[i].name;
        kw__traits_table[i].blck_size = k_geom[i].blck;
        kw__traits_table[i].type_size = k_geom[i].size;
        /* types without a pairing (integers, f64) pair with themselves */
        kw__traits_table[i].vec_dot_type =
            k_geom[i].name && (k_vec_dot_type[i] || i == KW_TYPE_F32)
                ? k_vec_dot_type[i]
                : i;
    }
}

const struct kw__type_traits *kw__traits(uint32_t type) {
    if (type >= KW_TYPE_COUNT || !k_geom[type].name) return NULL;
    kw__cpu_init();
    return &kw__traits_table[type];
}

size_t kw__row_size(uint32_t type, int64_t n) {
    if (type >= KW_TYPE_COUNT || !k_geom[type].name || n < 0) return 0;
    if (n % k_geom[type].blck) return 0;
    return (size_t)(n / k_geom[type].blck) * k_geom[type].size;
}
