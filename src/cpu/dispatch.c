/*
 * dispatch.c — picks the kernels once from CPUID: the best ISA's table is
 * layered over the lower ones entry by entry, so a kernel missing at one
 * level falls back to the next (ultimately the scalar reference).
 * KW_FORCE_REF=1 selects the references only.
 */
#include <pthread.h>

#include "cpu/isa_table.h"
#include "cpu/ref/quant_ref.h"

KW_HIDDEN extern struct kw__type_traits kw__traits_table[KW_TYPE_COUNT];
KW_HIDDEN void kw__traits_init_geometry(void);

static struct kw__isa_table g_tables[KW__ISA_COUNT]; /* raw, per ISA */
static struct kw__isa_table g_layered[KW__ISA_COUNT]; /* with fallbacks */
static int g_has[KW__ISA_COUNT];
static enum kw__isa g_isa = KW__ISA_REF;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

#if KW_HAVE_X86
#include <cpuid.h>

/* XCR0: which register states the OS saves (AVX needs bits 1-2, AVX-512
 * bits 5-7 too); a CPU flag alone is not enough. */
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif

static void detect(void) {
    g_has[KW__ISA_REF] = 1;
#if KW_HAVE_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    const int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave) return;
    const uint64_t xcr0 = xgetbv0();
    const int os_avx = (xcr0 & 0x6) == 0x6, os_avx512 = (xcr0 & 0xe6) == 0xe6;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    const int avx2 = (b >> 5) & 1, bmi2 = (b >> 8) & 1;
    const int avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1;
    const int avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    const int avx512vnni = (c >> 11) & 1;
    g_has[KW__ISA_AVX2] = os_avx && avx2 && fma && f16c && bmi2;
    g_has[KW__ISA_AVX512] = g_has[KW__ISA_AVX2] && os_avx512 && avx512f &&
                            avx512dq && avx512bw && avx512vl && avx512vnni;
#endif
}

#define LAYER_FIELD(dst, src, f)                                              \
    do {                                                                      \
        if ((src)->f) (dst)->f = (src)->f;                                    \
    } while (0)

static void layer(struct kw__isa_table *dst, const struct kw__isa_table *src) {
    for (int i = 0; i < KW_TYPE_COUNT; i++) {
        LAYER_FIELD(dst, src, vec_dot[i]);
        LAYER_FIELD(dst, src, gemm[i]);
        LAYER_FIELD(dst, src, from_float[i]);
        LAYER_FIELD(dst, src, to_float[i]);
    }
    LAYER_FIELD(dst, src, ops.rmsnorm);
    LAYER_FIELD(dst, src, ops.rope);
    LAYER_FIELD(dst, src, ops.dot_f16);
    LAYER_FIELD(dst, src, ops.axpy_f16);
    LAYER_FIELD(dst, src, ops.to_f16);
    LAYER_FIELD(dst, src, ops.swiglu);
    LAYER_FIELD(dst, src, ops.softmax);
    LAYER_FIELD(dst, src, ops.add);
    LAYER_FIELD(dst, src, attn);
    LAYER_FIELD(dst, src, attn_tiled);
}

static void init_once(void) {
    detect();
    kw__fill_quant_ref(&g_tables[KW__ISA_REF]);
    kw__fill_ops_ref(&g_tables[KW__ISA_REF]);
    kw__fill_attn_ref(&g_tables[KW__ISA_REF]);
    kw__fill_attn_tiled_ref(&g_tables[KW__ISA_REF]);
#if KW_HAVE_X86
    /* the fill functions are compiled for their ISA too (the compiler may
     * store a table with AVX-512 moves), so only a CPU that has it runs
     * them */
    if (g_has[KW__ISA_AVX2]) {
        kw__fill_quant_avx2(&g_tables[KW__ISA_AVX2]);
        kw__fill_ops_avx2(&g_tables[KW__ISA_AVX2]);
        kw__fill_attn_avx2(&g_tables[KW__ISA_AVX2]);
        kw__fill_attn_tiled_avx2(&g_tables[KW__ISA_AVX2]);
    }
    if (g_has[KW__ISA_AVX512]) {
        kw__fill_quant_avx512(&g_tables[KW__ISA_AVX512]);
        kw__fill_ops_avx512(&g_tables[KW__ISA_AVX512]);
        kw__fill_attn_avx512(&g_tables[KW__ISA_AVX512]);
        kw__fill_attn_tiled_avx512(&g_tables[KW__ISA_AVX512]);
    }
#endif
    for (int isa = 0; isa < KW__ISA_COUNT; isa++) {
        if (isa > 0) g_layered[isa] = g_layered[isa - 1];
        layer(&g_layered[isa], &g_tables[isa]);
    }
    const char *force = getenv("KW_FORCE_REF");
    int forced = force && *force && strcmp(force, "0") != 0;
    g_isa = KW__ISA_REF;
    for (int isa = KW__ISA_COUNT - 1; isa > 0 && !forced; isa--) {
        if (g_has[isa]) {
            g_isa = (enum kw__isa)isa;
            break;
        }
    }
    kw__traits_init_geometry();
    const struct kw__isa_table *t = &g_layered[g_isa];
    for (int i = 0; i < KW_TYPE_COUNT; i++) {
        struct kw__type_traits *tr = &kw__traits_table[i];
        tr->vec_dot = t->vec_dot[i];
        tr->from_float = t->from_float[i];
        tr->to_float = t->to_float[i];
    }
}

void kw__cpu_init(void) { pthread_once(&g_once, init_once); }

enum kw__isa kw__cpu_isa(void) {
    kw__cpu_init();
    return g_isa;
}

int kw__cpu_has(enum kw__isa isa) {
    kw__cpu_init();
    return isa >= 0 && isa < KW__ISA_COUNT && g_has[isa];
}

const char *kw__isa_name(enum kw__isa isa) {
    static const char *names[] = {"ref", "avx2", "avx512"};
    return isa >= 0 && isa < KW__ISA_COUNT ? names[isa] : "?";
}

const char *kw_cpu_isa(void) { return kw__isa_name(kw__cpu_isa()); }

/* Variants are the raw (unlayered) entries so a test sees exactly what an
 * ISA implements; NULL when the CPU lacks the ISA. */
kw__vec_dot_fn kw__vec_dot_variant(uint32_t type, enum kw__isa isa) {
    if (!kw__cpu_has(isa) || type >= KW_TYPE_COUNT) return NULL;
    return g_tables[isa].vec_dot[type];
}

kw__from_float_fn kw__from_float_variant(uint32_t type, enum kw__isa isa) {
    if (!kw__cpu_has(isa) || type >= KW_TYPE_COUNT) return NULL;
    return g_tables[isa].from_float[type];
}

kw__gemm_fn kw__gemm_variant(uint32_t type, enum kw__isa isa) {
    if (!kw__cpu_has(isa) || type >= KW_TYPE_COUNT) return NULL;
    return g_tables[isa].gemm[type];
}

kw__gemm_fn kw__gemm(uint32_t type) {
    kw__cpu_init();
    return type < KW_TYPE_COUNT ? g_layered[g_isa].gemm[type] : NULL;
}

int kw__gemm_batch_invariant(uint32_t type) {
    if (type >= KW_TYPE_COUNT || kw__gemm_wide(type)) return 0;
    if (!kw__gemm(type)) return 1; /* vec_dot per cell */
    switch (type) {
    /* tiles with vec_dot's lanes and reduction, interleaved */
    case KW_TYPE_Q4_1:
    case KW_TYPE_Q5_0:
    case KW_TYPE_Q8_0:
    /* tiles that are loops over vec_dot */
    case KW_TYPE_Q5_1:
    case KW_TYPE_Q2_K:
    case KW_TYPE_Q3_K:
    case KW_TYPE_Q5_K:
    case KW_TYPE_Q6_K:
    case KW_TYPE_IQ4_NL:
    case KW_TYPE_IQ4_XS:
    case KW_TYPE_F16: return 1;
    /* q4_K follows ggml's 4-token groups; q4_0's AVX-512 tile is only
     * close to its vec_dot */
    default: return 0;
    }
}

const struct kw__ops *kw__ops_variant(enum kw__isa isa) {
    if (!kw__cpu_has(isa)) return NULL;
    return &g_layered[isa].ops;
}

const struct kw__ops *kw__ops(void) {
    kw__cpu_init();
    return &g_layered[g_isa].ops;
}

kw__attn_fn kw__attn(void) {
    kw__cpu_init();
    return g_layered[g_isa].attn;
}

kw__attn_fn kw__attn_variant(enum kw__isa isa) {
    if (!kw__cpu_has(isa)) return NULL;
    return g_tables[isa].attn;
}

kw__attn_tiled_fn kw__attn_tiled(void) {
    kw__cpu_init();
    return g_layered[g_isa].attn_tiled;
}

kw__attn_tiled_fn kw__attn_tiled_variant(enum kw__isa isa) {
    if (!kw__cpu_has(isa)) return NULL;
    return g_tables[isa].attn_tiled;
}
