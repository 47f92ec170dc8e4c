/*
 * exec.h — the runtime state of one kw_onnx_run, shared by the executor
 * (exec.c) and the operator helpers (ophelp.c), and the loaded model.
 */
#ifndef KW_ONNX_EXEC_H
#define KW_ONNX_EXEC_H

#include <pthread.h>

#include "core/threadpool.h"
#include "onnx/onnx_internal.h"

struct kw__raw_model;

#define KW_POOL_MIN_BYTES (64u << 10) /* smaller buffers go to malloc */
#define KW_POOL_SLOTS 64

/* Freed intermediate buffers, reused by later outputs (and kept by the
 * model between runs, so steady-state runs allocate nothing big). */
struct kw__buf_pool {
    void *buf[KW_POOL_SLOTS];
    size_t size[KW_POOL_SLOTS];
    int n;
};

struct kw_onnx_model {
    struct kw__graph *graph;
    /* non-initializer graph inputs (what callers bind), as graph input
     * indices */
    int *user_inputs, n_user_inputs;
    int n_opsets;
    int n_nodes_loaded;
    /* distinct operators for kw_onnx_op */
    const char **op_domains, **op_types;
    int *op_supported, n_ops;
    struct kw__pool *pool;
    pthread_mutex_t run_lock; /* the pool serves one run at a time */
    struct kw__buf_pool kept;  /* buffers kept between runs (run_lock) */
    struct kw__raw_model *arena; /* everything the decoder allocated */
    void *map;                /* the file mapping */
    size_t map_size;
};

struct kw__frame;

struct kw__exec {
    const struct kw_onnx_model *model;
    const struct kw__frame *frame; /* of the node being run */
    size_t live_bytes, peak_bytes;
    char *err;
    size_t err_size;
    struct kw__buf_pool pool;
    size_t max_tensor_bytes; /* 0: only kw_onnx_tensor_new's limit */
    int no_zero; /* the next kw__exec_tensor may skip zeroing (see
                    kw__out_tensor_raw) */
    /* the input whose buffer the running node's output 0 may take over
     * (kw__node.inplace_in1), or NULL */
    struct kw_onnx_value *donor;
};

KW_HIDDEN struct kw__pool *kw__exec_pool(struct kw__exec *e);
/* Counts v's bytes as live (peak report). */
KW_HIDDEN void kw__exec_account(struct kw__exec *e,
                                const struct kw_onnx_value *v);
/* Frees v and stops counting it; a big tensor buffer is kept for reuse. */
KW_HIDDEN void kw__exec_release(struct kw__exec *e, struct kw_onnx_value *v);
/* A zeroed tensor, on a reused buffer when one fits; NULL like
 * kw_onnx_tensor_new. */
KW_HIDDEN struct kw_onnx_value *kw__exec_tensor(struct kw__exec *e, int dtype,
                                               int rank, const int64_t *dims);
/* kw__out_tensor for an operator that writes every element of the output
 * itself: a reused buffer is not zeroed first (its contents are
 * unspecified; a fresh one still comes from calloc). */
KW_HIDDEN struct kw_onnx_value *kw__out_tensor_raw(struct kw__op_ctx *c,
                                                   int k, int dtype, int rank,
                                                   const int64_t *dims);
/* Frees the reuse pool (end of a run). */
KW_HIDDEN void kw__exec_pool_free(struct kw__exec *e);

/* Runs nodes whose inputs are all constants once, at load (fold.c). */
KW_HIDDEN void kw__fold_constants(struct kw_onnx_model *m);
/* Load-time fusions (fuse.c), and the post-operation a fused node applies
 * to its output after its operator ran. */
KW_HIDDEN void kw__fuse(struct kw_onnx_model *m);
KW_HIDDEN enum kw_status kw__node_epilogue(struct kw__op_ctx *c);

#endif /* KW_ONNX_EXEC_H */
