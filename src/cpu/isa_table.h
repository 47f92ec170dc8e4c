/*
 * isa_table.h — what each kernel file contributes to dispatch. Every ISA
 * (ref, avx2, avx512) has a quant file and an ops file; each fills the
 * entries it implements and leaves the rest NULL, and dispatch.c layers the
 * tables: best ISA first, falling back entry by entry to the reference.
 */
#ifndef KW_CPU_ISA_TABLE_H
#define KW_CPU_ISA_TABLE_H

#include "cpu/kernels.h"

/* Small matrix tile: s[j * s_stride + i] = dot(x_i, y_j) for i < nx rows of
 * weights (type t, x_stride bytes apart) and j < ny activation rows (its
 * vec_dot_type, y_stride bytes apart); nx, ny in 1..4. Lets prompt
 * processing reuse loaded blocks across rows and tokens. */
typedef void (*kw__gemm_fn)(int64_t n, const void *x, size_t x_stride, int nx,
                            const void *y, size_t y_stride, int ny, float *s,
                            size_t s_stride);

/* One query head against n_kv cached positions: out[hd] = softmax(scale *
 * q.K^T) V, with llama.cpp's flash-attention numerics (q rounded to fp16,
 * online softmax, V accumulated in fp16) so greedy decoding matches it.
 * k, v: fp16 rows kv_stride elements apart. scratch: 2*hd uint16_t. */
typedef void (*kw__attn_fn)(float *out, const float *q, const uint16_t *k,
                            const uint16_t *v, size_t kv_stride, int64_t n_kv,
                            int64_t hd, float scale, uint16_t *scratch);

/* Batched attention for up to KW__ATTN_TILE query rows of one head, with
 * the numerics of llama.cpp's tiled CPU flash attention (the path it takes
 * for batches of >= 64 tokens): q stays f32, scores are serial FMA chains
 * over the head dims, softmax runs per 64-key tile (ggml's polynomial exp,
 * sums in 16-lane groups into double), V accumulates in f32 by FMA.
 * q, out: nq rows (1..KW__ATTN_TILE) q_stride / out_stride floats apart;
 * row i is at position pos0 + i and sees cached keys 0..pos0+i (causal).
 * k, v: fp16 rows kv_stride elements apart. scratch: 64-byte aligned,
 * KW__ATTN_TILED_SCRATCH(hd) floats. */
#define KW__ATTN_TILE 64
#define KW__ATTN_TILED_SCRATCH(hd)                                            \
    ((size_t)4 * KW__ATTN_TILE * (size_t)(((hd) + 15) & ~(int64_t)15) +       \
     (size_t)KW__ATTN_TILE * KW__ATTN_TILE + 2 * KW__ATTN_TILE)
typedef void (*kw__attn_tiled_fn)(float *out, size_t out_stride,
                                  const float *q, size_t q_stride, int64_t nq,
                                  const uint16_t *k, const uint16_t *v,
                                  size_t kv_stride, int64_t pos0, int64_t hd,
                                  float scale, float *scratch);

struct kw__isa_table {
    kw__vec_dot_fn vec_dot[KW_TYPE_COUNT];
    kw__gemm_fn gemm[KW_TYPE_COUNT];
    kw__from_float_fn from_float[KW_TYPE_COUNT];
    kw__to_float_fn to_float[KW_TYPE_COUNT];
    struct kw__ops ops; /* NULL members fall back */
    kw__attn_fn attn;
    kw__attn_tiled_fn attn_tiled;
};

KW_HIDDEN void kw__fill_quant_ref(struct kw__isa_table *t);
KW_HIDDEN void kw__fill_ops_ref(struct kw__isa_table *t);
KW_HIDDEN void kw__fill_attn_ref(struct kw__isa_table *t);
KW_HIDDEN void kw__fill_attn_tiled_ref(struct kw__isa_table *t);
#if KW_HAVE_X86
KW_HIDDEN void kw__fill_quant_avx2(struct kw__isa_table *t);
KW_HIDDEN void kw__fill_ops_avx2(struct kw__isa_table *t);
KW_HIDDEN void kw__fill_quant_avx512(struct kw__isa_table *t);
KW_HIDDEN void kw__fill_ops_avx512(struct kw__isa_table *t);
KW_HIDDEN void kw__fill_attn_avx2(struct kw__isa_table *t);
KW_HIDDEN void kw__fill_attn_tiled_avx2(struct kw__isa_table *t);
KW_HIDDEN void kw__fill_attn_avx512(struct kw__isa_table *t);
KW_HIDDEN void kw__fill_attn_tiled_avx512(struct kw__isa_table *t);
#endif

/* The chosen gemm tile for a type, or NULL (callers loop over vec_dot). */
KW_HIDDEN kw__gemm_fn kw__gemm(uint32_t type);
KW_HIDDEN kw__gemm_fn kw__gemm_variant(uint32_t type, enum kw__isa isa);
/* 1 when the chosen kernels give every (weight row, token) cell of a
 * product the same bits however the tokens are batched: no wide-batch
 * kernel (kw__gemm_wide), and the tile, if any, equals vec_dot cell by cell
 * for every nx, ny (test_gemm_tiles.c checks this on every ISA). Then the
 * rows of several sequences may share one kw__mat_mul call, so each weight
 * block is read once per pass instead of once per sequence. */
KW_HIDDEN int kw__gemm_batch_invariant(uint32_t type);

/* The chosen attention kernel, and one ISA's own (NULL if absent). */
KW_HIDDEN kw__attn_fn kw__attn(void);
KW_HIDDEN kw__attn_fn kw__attn_variant(enum kw__isa isa);
/* The chosen tiled attention kernel, and one ISA's own (NULL if absent). */
KW_HIDDEN kw__attn_tiled_fn kw__attn_tiled(void);
KW_HIDDEN kw__attn_tiled_fn kw__attn_tiled_variant(enum kw__isa isa);

#endif
