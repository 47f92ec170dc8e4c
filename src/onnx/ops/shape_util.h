/*
 * shape_util.h — what the shape/indexing operators share: input checks,
 * integer-list inputs, element copies that deep-copy strings, and one
 * strided-copy engine (transpose, slice, expand, tile, depth/space moves
 * are all "read a strided view of the input in row-major output order").
 * The operator functions (kw__op_*) live in gather.c, layout.c, sort.c and
 * are bound in shape.c's table kw__ops_shape.
 */
#ifndef KW_ONNX_SHAPE_UTIL_H
#define KW_ONNX_SHAPE_UTIL_H

#include "onnx/onnx_internal.h"

/* views may have twice the tensor rank (Tile splits every axis in two) */
#define KW_SH_MAX_VIEW (2 * KW_ONNX_MAX_RANK)

/* Input k as a tensor; reports (and returns NULL) when absent or not a
 * tensor. */
KW_HIDDEN struct kw_onnx_value *kw__sh_req(struct kw__op_ctx *c, int k);
/* Optional input k: 1 with *v set (NULL when absent), 0 after reporting a
 * non-tensor value. */
KW_HIDDEN int kw__sh_opt(struct kw__op_ctx *c, int k,
                         struct kw_onnx_value **v);
/* Integer tensor (any int dtype, rank 0 or 1) to a list of at most max
 * values; 0 after reporting. */
KW_HIDDEN int kw__sh_ints(struct kw__op_ctx *c, const struct kw_onnx_value *v,
                          const char *what, int64_t *out, int max, int *n);
/* Single integer of a scalar / one-element tensor; 0 after reporting. */
KW_HIDDEN int kw__sh_scalar_i(struct kw__op_ctx *c,
                              const struct kw_onnx_value *v, const char *what,
                              int64_t *out);
/* Copies n elements (strings strdup'd); 0 when out of memory. */
KW_HIDDEN int kw__sh_copy(int dtype, void *dst, const void *src, size_t n);
/* Output k as a deep copy of x's data with another shape. */
KW_HIDDEN enum kw_status kw__sh_out_reshaped(struct kw__op_ctx *c, int k,
                                             const struct kw_onnx_value *x,
                                             int rank, const int64_t *dims);
/* dst (dense, row-major over dims) = src viewed with element strides sstr
 * (may be 0 or negative; src points at the view's first element). rank up
 * to KW_SH_MAX_VIEW. Splits the work across threads when c is not NULL.
 * 0 when out of memory (strings). */
KW_HIDDEN int kw__sh_view_copy(struct kw__op_ctx *c, int dtype, void *dst,
                               const void *src, int rank, const int64_t *dims,
                               const int64_t *sstr);
/* Normalises a list of axes against rank r (negative allowed); 0 after
 * reporting an out-of-range or repeated axis. */
KW_HIDDEN int kw__sh_axes(struct kw__op_ctx *c, const int64_t *axes, int n,
                          int r, int *out);

/* operators implemented outside shape.c */
KW_HIDDEN enum kw_status kw__op_transpose(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_concat(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_split(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_slice(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_tile(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_pad(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_depth_to_space(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_space_to_depth(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_trilu(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_reverse_sequence(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_gather(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_gather_elements(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_gather_nd(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_scatter_elements(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_scatter_nd(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_onehot(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_compress(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_nonzero(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_unique(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_topk(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_argmax(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_argmin(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_cumsum(struct kw__op_ctx *c);

#endif /* KW_ONNX_SHAPE_UTIL_H */
