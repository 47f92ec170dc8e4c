/*
 * onnx_internal.h — the ONNX runtime's internal interfaces: the decoded
 * model (graphs, nodes, attributes), the operator registry, and what an
 * operator implementation gets (struct kw__op_ctx) with its helpers for
 * attributes, outputs, errors, broadcasting and element access.
 *
 * Operator files live in src/onnx/ops/ and each defines one table
 * (const struct kw__op kw__ops_FAMILY[], ended by {0}) listed in
 * src/onnx/registry.c.
 */
#ifndef KW_ONNX_INTERNAL_H
#define KW_ONNX_INTERNAL_H

#include <math.h>

#include "core/internal.h"
#include "kaiwu/onnx.h"

/* ---- decoded model ---- */

enum kw__attr_type {
    KW_ATTR_UNDEFINED = 0, KW_ATTR_FLOAT = 1, KW_ATTR_INT = 2,
    KW_ATTR_STRING = 3, KW_ATTR_TENSOR = 4, KW_ATTR_GRAPH = 5,
    KW_ATTR_FLOATS = 6, KW_ATTR_INTS = 7, KW_ATTR_STRINGS = 8,
    KW_ATTR_TENSORS = 9, KW_ATTR_GRAPHS = 10, KW_ATTR_SPARSE_TENSOR = 11,
    KW_ATTR_SPARSE_TENSORS = 12, KW_ATTR_TYPE_PROTO = 13,
    KW_ATTR_TYPE_PROTOS = 14
};

struct kw__graph;

struct kw__attr {
    const char *name; /* NUL-terminated, owned by the model */
    int type;         /* enum kw__attr_type */
    float f;
    int64_t i;
    const char *s;    /* NUL-terminated copy; s_len excludes the NUL */
    size_t s_len;
    struct kw_onnx_value *t;
    struct kw__graph *g;
    size_t n;         /* element count of the list forms below */
    float *floats;
    int64_t *ints;
    const char **strings;
    struct kw_onnx_value **tensors;
    struct kw__graph **graphs;
    /* TYPE_PROTO: the element type it names (tensor dtype), else 0 */
    int tp_kind, tp_dtype;
};

struct kw__op;

struct kw__node {
    const char *name;    /* "" when unnamed */
    const char *op_type;
    const char *domain;  /* "" for ai.onnx */
    int n_in, n_out;
    int *in, *out;       /* value slots of the graph; -1 for "" */
    struct kw__attr *attrs;
    int n_attrs;
    const struct kw__op *op; /* NULL: not supported */
    int opset;               /* version of the node's domain */
    /* an activation fused into this node at load (fuse.c): applied to
     * output 0 right after the operator ran */
    int fused_act;           /* enum kw__act */
    float act_alpha, act_beta;
    /* what the operator's prepare hook derived at load (packed weights),
     * freed with state_free; NULL: the operator works from its inputs */
    void *state;
    void (*state_free)(void *);
    /* set at prepare: the operator applies fused_act itself (inside its
     * own loops), so kw__node_epilogue leaves the output alone */
    int act_in_op;
    /* Conv input 0 / output 0 / the fused residual (input 3) in the
     * channel-blocked c16 layout (ops/dwc.h), chosen at load for values
     * that only convolutions see (fuse.c) */
    int blk_in, blk_out, blk_res;
    /* k > 0: output 0 may take over the buffer of input k - 1 when this
     * node is its last reader (the operator reads each element of that
     * input before it writes the same element of the output; exec.c) */
    int inplace_in1;
    /* a depthwise Conv that runs the pointwise one before it too (fuse.c
     * merge_pre): inputs 4 and 5 are that one's weights (kw__ct_pack
     * panels of 32) and bias, pre_act its activation; input 0 its input,
     * blk_in that input's layout */
    int pre, pre_act;
    float pre_alpha, pre_beta;
};

enum kw__act {
    KW_ACT_NONE = 0, KW_ACT_RELU, KW_ACT_CLIP, KW_ACT_LEAKY_RELU,
    KW_ACT_SIGMOID, KW_ACT_HARD_SIGMOID, KW_ACT_HARD_SWISH
};

/* One fused activation on one value (alpha a, beta b as in fuse.c); the
 * scalar definition every kernel's fused epilogue must match. */
static inline float kw__act_apply(int act, float x, float a, float b) {
    switch (act) {
    case KW_ACT_RELU: return x > 0 ? x : 0;
    case KW_ACT_CLIP: return x < a ? a : x > b ? b : x;
    case KW_ACT_LEAKY_RELU: return x >= 0 ? x : a * x;
    case KW_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case KW_ACT_HARD_SIGMOID: {
        float y = a * x + b;
        return y < 0 ? 0 : y > 1 ? 1 : y;
    }
    case KW_ACT_HARD_SWISH: {
        float y = x / 6.0f + 0.5f;
        return x * (y < 0 ? 0 : y > 1 ? 1 : y);
    }
    default: return x;
    }
}

/* What a ValueInfoProto declares. */
struct kw__type_info {
    int known;
    int kind;  /* enum kw_onnx_kind */
    int dtype; /* tensor, or element of sequence/optional */
    int rank;  /* -1 unknown */
    int64_t dims[KW_ONNX_MAX_RANK];
    const char *dim_names[KW_ONNX_MAX_RANK];
};

struct kw__graph {
    const struct kw__graph *parent;
    const char *name;
    struct kw__node *nodes; /* topologically sorted at load */
    int n_nodes;
    /* value slots */
    const char **names;
    int n_values;
    struct kw_onnx_value **init; /* per slot: initializer / Constant, or NULL */
    int *outer;   /* per slot: slot in the parent graph, or -1 */
    int *last_use; /* per slot: last node index reading it (-1: none) */
    int *inputs, n_inputs;   /* every graph input */
    int *outputs, n_outputs;
    struct kw__type_info *in_info, *out_info;
};

/* ---- operators ---- */

struct kw__exec;

/* What an implementation gets. in[k] is NULL for an input left out (""),
 * out[k] must be set for every k with kw__out_wanted(c, k). */
struct kw__op_ctx {
    const struct kw__node *node;
    int opset;
    struct kw_onnx_value *const *in;
    int n_in;
    struct kw_onnx_value **out;
    int n_out;
    struct kw__exec *exec;
    char *err;
    size_t err_size;
};

typedef enum kw_status (*kw__op_fn)(struct kw__op_ctx *c);

struct kw__op {
    const char *domain;  /* "" = ai.onnx; NULL ends a table */
    const char *op_type;
    int since;           /* first opset this implementation serves */
    int until;           /* last one (0: up to the newest) */
    kw__op_fn run;
};

/* The implementation of (domain, op_type) at opset, or NULL. */
KW_HIDDEN const struct kw__op *kw__op_find(const char *domain,
                                           const char *op_type, int opset);
/* Load-time preparation of one node of g after the fusions (ops/nn.c:
 * packed convolution weights); may set n->state / n->state_free and
 * n->act_in_op. Failing leaves the node as it was: run works without. */
KW_HIDDEN void kw__node_prepare(struct kw__node *n, const struct kw__graph *g);

/* ---- helpers for implementations (onnx_ophelp.c) ---- */

/* Error "node 'NAME' (OP): message"; returns st. */
KW_HIDDEN enum kw_status kw__op_fail(struct kw__op_ctx *c, enum kw_status st,
                                     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The input as a tensor; NULL when absent. A sequence/optional where a
 * tensor is expected is reported by the caller. */
static inline struct kw_onnx_value *kw__in(struct kw__op_ctx *c, int k) {
    return k < c->n_in ? c->in[k] : NULL;
}
static inline int kw__out_wanted(const struct kw__op_ctx *c, int k) {
    return k < c->n_out && c->node->out[k] >= 0;
}
/* New output tensor k (data zeroed); NULL after reporting ERR_NOMEM or an
 * invalid shape (the caller returns KW_STATUS_ERR_NOMEM/INVALID then; use
 * KW_OUT below). */
KW_HIDDEN struct kw_onnx_value *kw__out_tensor(struct kw__op_ctx *c, int k,
                                               int dtype, int rank,
                                               const int64_t *dims);
/* Output k becomes v (ownership moves to the runtime). */
KW_HIDDEN void kw__out_set(struct kw__op_ctx *c, int k,
                           struct kw_onnx_value *v);

/* Attributes; the defaults apply when the attribute is absent. */
KW_HIDDEN const struct kw__attr *kw__attr(const struct kw__node *n,
                                          const char *name);
KW_HIDDEN int64_t kw__attr_i(const struct kw__op_ctx *c, const char *name,
                             int64_t def);
KW_HIDDEN float kw__attr_f(const struct kw__op_ctx *c, const char *name,
                           float def);
KW_HIDDEN const char *kw__attr_s(const struct kw__op_ctx *c, const char *name,
                                 const char *def);
/* NULL (and *n = 0) when absent. */
KW_HIDDEN const int64_t *kw__attr_ints(const struct kw__op_ctx *c,
                                       const char *name, size_t *n);
KW_HIDDEN const float *kw__attr_floats(const struct kw__op_ctx *c,
                                       const char *name, size_t *n);
KW_HIDDEN const struct kw__graph *kw__attr_g(const struct kw__op_ctx *c,
                                             const char *name);

/* Runs a subgraph (If/Loop/Scan bodies) in the scope of the calling node:
 * inputs bind the subgraph's inputs in order; outputs get new values the
 * caller owns (free with kw_onnx_value_free or hand to kw__out_set). */
KW_HIDDEN enum kw_status kw__run_subgraph(struct kw__op_ctx *c,
                                          const struct kw__graph *g,
                                          struct kw_onnx_value *const *inputs,
                                          int n_in,
                                          struct kw_onnx_value **outputs,
                                          int n_out);

/* Items [0, n) claimed in chunks by the threads of a shared pool run
 * (kw__pool_run_shared): thread ith first from its own contiguous share,
 * then from the others'. So consecutive operators split their data the
 * same way, and with nobody late each thread reads what it wrote itself
 * (read from the other core's cache it costs more than the work on it),
 * while the share of a thread that is late still gets done. */
#define KW_CLAIM_SEGS 16
struct kw__claim {
    int64_t chunk;
    int nseg;
    struct {
        _Alignas(64) int64_t next;
        int64_t end;
    } seg[KW_CLAIM_SEGS];
};
static inline void kw__claim_init(struct kw__claim *c, int64_t n,
                                  int64_t chunk, int nth) {
    c->chunk = chunk < 1 ? 1 : chunk;
    c->nseg = nth < 1 ? 1 : nth > KW_CLAIM_SEGS ? KW_CLAIM_SEGS : nth;
    for (int s = 0; s < c->nseg; s++) {
        c->seg[s].next = n * s / c->nseg;
        c->seg[s].end = n * (s + 1) / c->nseg;
    }
}
/* The next chunk [*i0, *i1) for thread ith; 0 when all are claimed. */
static inline int kw__claim_next(struct kw__claim *c, int ith, int64_t *i0,
                                 int64_t *i1) {
    for (int k = 0; k < c->nseg; k++) {
        const int s = (ith + k) % c->nseg;
        if (__atomic_load_n(&c->seg[s].next, __ATOMIC_RELAXED) >= c->seg[s].end)
            continue;
        const int64_t a =
            __atomic_fetch_add(&c->seg[s].next, c->chunk, __ATOMIC_RELAXED);
        if (a >= c->seg[s].end) continue;
        *i0 = a;
        *i1 = a + c->chunk < c->seg[s].end ? a + c->chunk : c->seg[s].end;
        return 1;
    }
    return 0;
}

/* Runs fn(ctx, i0, i1) over [0, n) split across the runtime's threads
 * (inline when n is small or there is one thread), chunks claimed as by
 * kw__claim. */
typedef void (*kw__range_fn)(void *ctx, int64_t i0, int64_t i1);
KW_HIDDEN void kw__parallel_for(struct kw__op_ctx *c, int64_t n,
                                int64_t min_per_thread, kw__range_fn fn,
                                void *ctx);

/* ---- values ---- */

KW_HIDDEN struct kw_onnx_value *kw__value_clone(const struct kw_onnx_value *v);
/* A tensor of the same dtype/shape as v sharing nothing. */
KW_HIDDEN struct kw_onnx_value *kw__tensor_like(const struct kw_onnx_value *v);
/* A tensor of dtype / shape that owns data (nbytes, not checked against
 * the shape: the caller's); NULL when out of memory (data not freed). */
KW_HIDDEN struct kw_onnx_value *kw__tensor_on(int dtype, int rank,
                                             const int64_t *dims, void *data,
                                             size_t nbytes);
/* As kw_onnx_tensor_new, the data left unset (not zeroed) unless strings:
 * for outputs an operator writes in full. */
KW_HIDDEN struct kw_onnx_value *kw__tensor_new_uninit(int dtype, int rank,
                                                    const int64_t *dims);
KW_HIDDEN struct kw_onnx_value *kw__sequence_new(int elem_dtype);
/* Appends (takes ownership); 0 on out of memory. */
KW_HIDDEN int kw__sequence_push(struct kw_onnx_value *seq,
                                struct kw_onnx_value *item);
static inline int kw__is_tensor(const struct kw_onnx_value *v) {
    return v && v->kind == KW_ONNX_TENSOR;
}
static inline int kw__dtype_is_float(int t) {
    return t == KW_ONNX_FLOAT || t == KW_ONNX_DOUBLE ||
           t == KW_ONNX_FLOAT16 || t == KW_ONNX_BFLOAT16;
}
static inline int kw__dtype_is_int(int t) {
    return t == KW_ONNX_INT8 || t == KW_ONNX_INT16 || t == KW_ONNX_INT32 ||
           t == KW_ONNX_INT64 || t == KW_ONNX_UINT8 || t == KW_ONNX_UINT16 ||
           t == KW_ONNX_UINT32 || t == KW_ONNX_UINT64;
}
static inline int kw__dtype_is_signed(int t) {
    return t == KW_ONNX_INT8 || t == KW_ONNX_INT16 || t == KW_ONNX_INT32 ||
           t == KW_ONNX_INT64;
}
/* Element i as double / int64 (any numeric or bool dtype; float16 and
 * bfloat16 converted), and the reverse (rounding toward zero for ints,
 * wrapping like a C cast from int64). */
KW_HIDDEN double kw__get_f64(const struct kw_onnx_value *v, int64_t i);
KW_HIDDEN int64_t kw__get_i64(const struct kw_onnx_value *v, int64_t i);
KW_HIDDEN void kw__set_f64(struct kw_onnx_value *v, int64_t i, double x);
KW_HIDDEN void kw__set_i64(struct kw_onnx_value *v, int64_t i, int64_t x);

/* Normalises a possibly negative axis for rank r; 0 when out of range. */
static inline int kw__axis(int64_t axis, int r, int *out) {
    if (axis < -r || axis >= r) return 0;
    *out = (int)(axis < 0 ? axis + r : axis);
    return 1;
}
/* Row-major strides (in elements) of dims. */
KW_HIDDEN void kw__strides(int rank, const int64_t *dims, int64_t *strides);
/* Multidirectional (numpy) broadcast of a and b; 0 when incompatible. */
KW_HIDDEN int kw__broadcast(int ra, const int64_t *da, int rb,
                            const int64_t *db, int *rank, int64_t *dims);
/* Strides of an input of rank ri broadcast to (rank, dims): 0 where the
 * input's dimension is 1 or missing. */
KW_HIDDEN void kw__bcast_strides(int ri, const int64_t *di, int rank,
                                 const int64_t *dims, int64_t *strides);

#endif /* KW_ONNX_INTERNAL_H */
