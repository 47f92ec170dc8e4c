/*
 * types.c — names and block geometry of every ggml tensor type (so GGUF
 * validation can size any tensor), merged with the compute entry points the
 * dispatcher chose.
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
