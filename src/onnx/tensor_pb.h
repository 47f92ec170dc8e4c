/*
 * tensor_pb.h — decoding TensorProto messages (model initializers,
 * attribute tensors, test-data files) into values.
 */
#ifndef KW_ONNX_TENSOR_PB_H
#define KW_ONNX_TENSOR_PB_H

#include "onnx/onnx_internal.h"
#include "onnx/pb.h"

/* Where tensor bytes may come from besides the message itself. */
struct kw__tensor_src {
    int alias_ok; /* raw_data may be used in place (the bytes outlive it) */
    void *user;
    /* Reads len bytes at offset of the external file 'location' into dst. */
    enum kw_status (*read_external)(void *user, const char *location,
                                    uint64_t offset, void *dst, size_t len,
                                    const char *tensor, char *err,
                                    size_t err_size);
};

/* Decodes the TensorProto in msg (from its current position to its end).
 * src may be NULL (no aliasing, no external data). The tensor's name goes
 * to name_buf when given. */
KW_HIDDEN enum kw_status kw__tensor_decode(struct kw__pb *msg,
                                           const struct kw__tensor_src *src,
                                           struct kw_onnx_value **out,
                                           char *name_buf, size_t name_size,
                                           char *err, size_t err_size);

#endif /* KW_ONNX_TENSOR_PB_H */
