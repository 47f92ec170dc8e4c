/*
 * model.h — the decoded ONNX file before graph building (model.c) and the
 * arena that holds it; graph.c turns a raw graph into struct kw__graph.
 */
#ifndef KW_ONNX_MODEL_H
#define KW_ONNX_MODEL_H

#include "onnx/onnx_internal.h"
#include "onnx/pb.h"
#include "onnx/tensor_pb.h"

struct arena_block;
struct kw__arena {
    struct arena_block *head;
};
/* Zeroed memory that lives until kw__arena_free. */
KW_HIDDEN void *kw__arena_alloc(struct kw__arena *a, size_t n);
KW_HIDDEN char *kw__arena_str(struct kw__arena *a, const uint8_t *p, size_t n);
KW_HIDDEN void kw__arena_free(struct kw__arena *a);

struct kw__raw_io {
    const char *name;
    struct kw__type_info info;
};
struct kw__raw_init {
    const char *name;
    struct kw_onnx_value *value;
};
/* Attributes are decoded straight into struct kw__attr; their g/graphs
 * hold struct kw__raw_graph pointers until graph.c replaces them. */
struct kw__raw_node {
    const char *name, *op_type, *domain;
    int n_in, n_out, n_attrs;
    const char **inputs, **outputs;
    struct kw__attr *attrs;
};
struct kw__raw_graph {
    const char *name;
    struct kw__raw_node *nodes;
    int n_nodes;
    struct kw__raw_init *inits;
    int n_inits;
    struct kw__raw_io *inputs, *outputs;
    int n_inputs, n_outputs;
};
struct kw__raw_opset {
    const char *domain;
    int64_t version;
};
struct kw__raw_model {
    struct kw__arena arena;
    int64_t ir_version;
    struct kw__raw_graph *graph;
    struct kw__raw_opset *opsets;
    int n_opsets;
    struct kw_onnx_value **tensors; /* every decoded tensor (owned) */
    size_t n_tensors;
};

KW_HIDDEN enum kw_status kw__model_decode(const uint8_t *data, size_t size,
                                          const struct kw__tensor_src *src,
                                          struct kw__raw_model *m, char *err,
                                          size_t err_size);
KW_HIDDEN void kw__raw_model_free(struct kw__raw_model *m);

/* Builds the runnable graph: value slots, outer-scope links, topological
 * order, liveness, operator binding at the model's opsets. */
KW_HIDDEN enum kw_status kw__graph_build(struct kw__raw_model *m,
                                         struct kw__graph **out, char *err,
                                         size_t err_size);

/* Calls fn for every slot node n reads: its inputs and the names its
 * subgraphs take from the enclosing graph. */
KW_HIDDEN void kw__node_reads(const struct kw__node *n,
                              void (*fn)(void *, int), void *ctx);
/* Keeps a tensor made at load until the model is freed; 0 when out of
 * memory (the caller still owns it then). */
KW_HIDDEN int kw__model_keep(struct kw__raw_model *raw, struct kw_onnx_value *v);
/* Recomputes every slot's last reader (after nodes were removed). */
KW_HIDDEN void kw__graph_liveness(struct kw__graph *g);

#endif /* KW_ONNX_MODEL_H */
