/*
 * kaiwu/onnx.h — running ONNX models (.onnx files) on the CPU.
 *
 * kw_onnx_load decodes the protobuf file with a checked, zero-copy decoder
 * (every length, varint and nesting depth is checked against the bytes
 * present; a tensor whose byte length is not its element count times its
 * element size is refused; external data must stay inside the model's
 * folder), sorts the graph, binds every node to an operator implementation
 * and plans buffer reuse. Nodes without an implementation do not fail the
 * load: kw_onnx_run then refuses with a message naming the node and op, and
 * kw_onnx_op_supported tells beforehand.
 *
 * Values are tensors, sequences of tensors, or optionals, as in ONNX.
 * Ownership: kw_onnx_value objects returned by the library belong to the
 * caller and are released with kw_onnx_value_free. A kw_onnx_model is
 * immutable after load and may be run from several threads at once.
 */
#ifndef KAIWU_ONNX_H
#define KAIWU_ONNX_H

#include "kaiwu/kaiwu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element types, numbered as TensorProto.DataType. */
enum kw_onnx_dtype {
    KW_ONNX_UNDEFINED = 0, KW_ONNX_FLOAT = 1, KW_ONNX_UINT8 = 2,
    KW_ONNX_INT8 = 3, KW_ONNX_UINT16 = 4, KW_ONNX_INT16 = 5,
    KW_ONNX_INT32 = 6, KW_ONNX_INT64 = 7, KW_ONNX_STRING = 8,
    KW_ONNX_BOOL = 9, KW_ONNX_FLOAT16 = 10, KW_ONNX_DOUBLE = 11,
    KW_ONNX_UINT32 = 12, KW_ONNX_UINT64 = 13, KW_ONNX_COMPLEX64 = 14,
    KW_ONNX_COMPLEX128 = 15, KW_ONNX_BFLOAT16 = 16
};
#define KW_ONNX_MAX_RANK 8

/* Bytes per element (STRING: sizeof(char *)), 0 when unknown. */
KW_API size_t kw_onnx_dtype_size(int dtype);
/* "float", "int64", ...; "?" when unknown. Static storage. */
KW_API const char *kw_onnx_dtype_name(int dtype);

enum kw_onnx_kind {
    KW_ONNX_NONE = 0,     /* an empty optional */
    KW_ONNX_TENSOR = 1,
    KW_ONNX_SEQUENCE = 2, /* of values (tensors) */
    KW_ONNX_OPTIONAL = 3  /* holding items[0], or empty when n_items == 0 */
};

struct kw_onnx_value {
    int kind;                        /* enum kw_onnx_kind */
    /* tensor */
    int dtype;                       /* enum kw_onnx_dtype */
    int rank;
    int64_t dims[KW_ONNX_MAX_RANK];
    void *data;   /* elements, row-major; STRING: char *[n], each malloc'd */
    size_t nbytes;
    /* sequence / optional */
    struct kw_onnx_value **items;
    size_t n_items;
    int elem_dtype; /* declared element type of an empty sequence/optional */
    /* private: how data is held */
    int owns_data;
};

/* Number of elements of a tensor (product of dims; 1 for rank 0). */
KW_API int64_t kw_onnx_numel(const struct kw_onnx_value *v);
/* A new tensor with zeroed data; NULL when out of memory or invalid. */
KW_API struct kw_onnx_value *kw_onnx_tensor_new(int dtype, int rank,
                                                const int64_t *dims);
KW_API void kw_onnx_value_free(struct kw_onnx_value *v);

/* TensorProto / SequenceProto / OptionalProto bytes (the test-data .pb
 * files) to a value, and a value to TensorProto/SequenceProto/OptionalProto
 * bytes (*out malloc'd). The kind is given because the files carry none. */
KW_API enum kw_status kw_onnx_value_read_pb(const void *bytes, size_t n,
                                            int kind,
                                            struct kw_onnx_value **out,
                                            char *err, size_t err_size);
KW_API enum kw_status kw_onnx_value_write_pb(const struct kw_onnx_value *v,
                                             const char *name, void **out,
                                             size_t *n, char *err,
                                             size_t err_size);

struct kw_onnx_model;

struct kw_onnx_options {
    int n_threads; /* 0: all cores */
};

KW_API enum kw_status kw_onnx_load(const char *path,
                                   const struct kw_onnx_options *opts,
                                   struct kw_onnx_model **out, char *err,
                                   size_t err_size);
/* The same from bytes in memory (copied where needed: they may be freed
 * after the call). External data is refused. name is for messages. */
KW_API enum kw_status kw_onnx_load_memory(const void *data, size_t size,
                                          const char *name,
                                          const struct kw_onnx_options *opts,
                                          struct kw_onnx_model **out,
                                          char *err, size_t err_size);
KW_API void kw_onnx_free(struct kw_onnx_model *m);

/* Graph inputs that are not initializers, and graph outputs. */
KW_API int kw_onnx_n_inputs(const struct kw_onnx_model *m);
KW_API int kw_onnx_n_outputs(const struct kw_onnx_model *m);

/* What the graph declares about input/output i. dims[k] is -1 for a
 * dynamic dimension, whose name (or "") goes to dim_names[k]; rank -1 when
 * unknown. kind is enum kw_onnx_kind. Strings are borrowed from m.
 * These getters (and kw_onnx_opset, kw_onnx_op) return 1, or 0 when i is
 * out of range. */
struct kw_onnx_io_info {
    const char *name;
    int kind;
    int dtype;
    int rank;
    int64_t dims[KW_ONNX_MAX_RANK];
    const char *dim_names[KW_ONNX_MAX_RANK];
};
KW_API int kw_onnx_input_info(const struct kw_onnx_model *m, int i,
                              struct kw_onnx_io_info *out);
KW_API int kw_onnx_output_info(const struct kw_onnx_model *m, int i,
                               struct kw_onnx_io_info *out);

/* Opset imports: domain ("" = ai.onnx) and version of entry i. */
KW_API int kw_onnx_n_opsets(const struct kw_onnx_model *m);
KW_API int kw_onnx_opset(const struct kw_onnx_model *m, int i,
                         const char **domain, int64_t *version);
/* Nodes of the main graph as loaded, and how many remain to run after
 * constant folding and fusions. */
KW_API int kw_onnx_n_nodes(const struct kw_onnx_model *m, int *n_run);
/* Values of the main graph that pass between two convolutions in a
 * channel-blocked layout chosen at load (0 without AVX-512). */
KW_API int kw_onnx_n_blocked(const struct kw_onnx_model *m);
/* Distinct operators used (subgraphs included): domain, op type, and
 * whether kaiwu implements it at the model's opset. */
KW_API int kw_onnx_n_ops(const struct kw_onnx_model *m);
KW_API int kw_onnx_op(const struct kw_onnx_model *m, int i,
                      const char **domain, const char **op_type,
                      int *supported);

/* Runs the graph. inputs[i] binds graph input i (NULL for an optional
 * input left out); outputs receives kw_onnx_n_outputs(m) new values the
 * caller frees. Peak bytes of intermediate buffers go to *peak_bytes
 * (may be NULL). */
KW_API enum kw_status kw_onnx_run(const struct kw_onnx_model *m,
                                  const struct kw_onnx_value *const *inputs,
                                  struct kw_onnx_value **outputs,
                                  size_t *peak_bytes, char *err,
                                  size_t err_size);

#ifdef __cplusplus
}
#endif

#endif /* KAIWU_ONNX_H */
