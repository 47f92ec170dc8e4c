/*
 * signal_ops.h — operators of the signal/recurrent/image/misc family that
 * live outside signal.c (resize.c, gridsample.c, rnn.c, text.c); signal.c
 * lists them all in kw__ops_signal.
 */
#ifndef KW_ONNX_SIGNAL_OPS_H
#define KW_ONNX_SIGNAL_OPS_H

#include "onnx/onnx_internal.h"

KW_HIDDEN enum kw_status kw__op_resize(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_upsample(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_grid_sample(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_rnn(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_gru(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_lstm(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_string_normalizer(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_tfidf_vectorizer(struct kw__op_ctx *c);

#endif /* KW_ONNX_SIGNAL_OPS_H */
