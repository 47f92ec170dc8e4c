/*
 * control_util.h — shared by the control-flow family (control.c) and the
 * sequence/optional operators (sequence.c): element copies along an axis,
 * stacking slices along a new axis, optional construction, and the
 * sequence/optional operator entry points registered in kw__ops_control.
 */
#ifndef KW_ONNX_CONTROL_UTIL_H
#define KW_ONNX_CONTROL_UTIL_H

#include "onnx/onnx_internal.h"

/* For o in [0, outer): copies count*inner elements from src at
 * (o*src_axis + src_pos)*inner to dst at (o*dst_axis + dst_pos)*inner.
 * Same dtype required; strings are duplicated (a string already in dst is
 * freed). Returns 0 on out of memory. */
KW_HIDDEN int kw__axis_copy(struct kw_onnx_value *dst, int64_t dst_axis,
                            int64_t dst_pos, const struct kw_onnx_value *src,
                            int64_t src_axis, int64_t src_pos, int64_t count,
                            int64_t outer, int64_t inner);

/* Output k = vals[0..n) (tensors of one dtype and shape; NULL entries read
 * as zeros) stacked along a new axis inserted at `axis` of the slice shape
 * (already normalised to [0, slice rank]); with reverse, vals[i] lands at
 * n-1-i. n_lead > 1 (Scan-8) inserts several axes whose product is n.
 * decl describes the slice when every entry is NULL. */
KW_HIDDEN enum kw_status
kw__stack_out(struct kw__op_ctx *c, int k, struct kw_onnx_value *const *vals,
              int64_t n, int n_lead, const int64_t *lead, int64_t axis,
              int reverse, const struct kw__type_info *decl);

/* An optional holding item (taken; NULL: empty) whose element type is
 * elem_dtype. NULL when out of memory (item is freed then). */
KW_HIDDEN struct kw_onnx_value *kw__optional_new(struct kw_onnx_value *item,
                                                 int elem_dtype);

KW_HIDDEN enum kw_status kw__op_sequence_empty(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_sequence_construct(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_sequence_insert(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_sequence_at(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_sequence_erase(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_sequence_length(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_split_to_sequence(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_concat_from_sequence(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_optional(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_optional_has_element(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_optional_get_element(struct kw__op_ctx *c);

#endif /* KW_ONNX_CONTROL_UTIL_H */
