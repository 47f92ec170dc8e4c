/*
 * ophelp.c — what operator implementations call: attribute lookup with
 * defaults, output allocation (counted for the peak-memory report), error
 * messages that name the node, and splitting loops across threads.
 */
#include "onnx/exec.h"

enum kw_status kw__op_fail(struct kw__op_ctx *c, enum kw_status st,
                           const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const struct kw__node *n = c->node;
    return kw__err(c->err, c->err_size, st, "node '%s' (%s%s%s): %s",
                   n->name, n->domain[0] ? n->domain : "",
                   n->domain[0] ? ":" : "", n->op_type, msg);
}

/* Output 0 on the buffer of the node's donor input (exec.h), when that
 * is a tensor of the same type and size and the operator writes every
 * element itself (kw__out_tensor_raw); the donor keeps its value but no
 * longer owns the buffer. NULL: none. */
static struct kw_onnx_value *take_donor(struct kw__exec *e, int dtype,
                                        int rank, const int64_t *dims) {
    struct kw_onnx_value *d = e ? e->donor : NULL;
    if (!d || !e->no_zero || d->kind != KW_ONNX_TENSOR || d->dtype != dtype ||
        !d->owns_data || dtype == KW_ONNX_STRING || rank > KW_ONNX_MAX_RANK)
        return NULL;
    size_t bytes = kw_onnx_dtype_size(dtype);
    for (int i = 0; i < rank; i++)
        if (!kw__mul_size(bytes, (size_t)dims[i], &bytes)) return NULL;
    if (bytes != d->nbytes) return NULL;
    struct kw_onnx_value *v = kw__tensor_on(dtype, rank, dims, d->data, bytes);
    if (!v) return NULL;
    d->owns_data = 0;
    e->donor = NULL;
    return v;
}

struct kw_onnx_value *kw__out_tensor(struct kw__op_ctx *c, int k, int dtype,
                                     int rank, const int64_t *dims) {
    if (k >= c->n_out) {
        kw__op_fail(c, KW_STATUS_ERR_FORMAT, "output %d does not exist", k);
        return NULL;
    }
    for (int i = 0; i < rank; i++)
        if (dims[i] < 0) {
            kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                        "output %d would have negative dimension %lld", k,
                        (long long)dims[i]);
            return NULL;
        }
    struct kw_onnx_value *v = k == 0 ? take_donor(c->exec, dtype, rank, dims)
                                     : NULL;
    if (!v) v = kw__exec_tensor(c->exec, dtype, rank, dims);
    if (!v) {
        kw__op_fail(c, rank > KW_ONNX_MAX_RANK ? KW_STATUS_ERR_UNSUPPORTED
                                               : KW_STATUS_ERR_NOMEM,
                    "cannot allocate output %d (%s, rank %d)", k,
                    kw_onnx_dtype_name(dtype), rank);
        return NULL;
    }
    kw__out_set(c, k, v);
    return v;
}

void kw__out_set(struct kw__op_ctx *c, int k, struct kw_onnx_value *v) {
    if (k >= c->n_out) {
        kw_onnx_value_free(v);
        return;
    }
    if (c->out[k]) kw__exec_release(c->exec, c->out[k]);
    c->out[k] = v;
    kw__exec_account(c->exec, v);
}

const struct kw__attr *kw__attr(const struct kw__node *n, const char *name) {
    for (int i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}

int64_t kw__attr_i(const struct kw__op_ctx *c, const char *name, int64_t def) {
    const struct kw__attr *a = kw__attr(c->node, name);
    return a && a->type == KW_ATTR_INT ? a->i : def;
}

float kw__attr_f(const struct kw__op_ctx *c, const char *name, float def) {
    const struct kw__attr *a = kw__attr(c->node, name);
    if (!a) return def;
    if (a->type == KW_ATTR_FLOAT) return a->f;
    if (a->type == KW_ATTR_INT) return (float)a->i;
    return def;
}

const char *kw__attr_s(const struct kw__op_ctx *c, const char *name,
                       const char *def) {
    const struct kw__attr *a = kw__attr(c->node, name);
    return a && a->type == KW_ATTR_STRING ? a->s : def;
}

const int64_t *kw__attr_ints(const struct kw__op_ctx *c, const char *name,
                             size_t *n) {
    const struct kw__attr *a = kw__attr(c->node, name);
    if (!a || a->type != KW_ATTR_INTS) {
        *n = 0;
        return NULL;
    }
    *n = a->n;
    /* an empty list is present: hand out a valid pointer */
    static const int64_t none[1];
    return a->ints ? a->ints : none;
}

const float *kw__attr_floats(const struct kw__op_ctx *c, const char *name,
                             size_t *n) {
    const struct kw__attr *a = kw__attr(c->node, name);
    if (!a || a->type != KW_ATTR_FLOATS) {
        *n = 0;
        return NULL;
    }
    *n = a->n;
    static const float none[1];
    return a->floats ? a->floats : none;
}

const struct kw__graph *kw__attr_g(const struct kw__op_ctx *c,
                                   const char *name) {
    const struct kw__attr *a = kw__attr(c->node, name);
    return a && a->type == KW_ATTR_GRAPH ? a->g : NULL;
}

/* The range goes in chunks (about 4 per thread) that the threads claim
 * one at a time (kw__claim), in a shared run: a thread the OS delays for
 * a while (another process on the core) leaves its share to the others
 * instead of holding up the whole operator. */
struct range_job {
    kw__range_fn fn;
    void *ctx;
    struct kw__claim claim;
};

static void range_thread(void *arg, int ith, int nth) {
    struct range_job *j = arg;
    (void)nth;
    int64_t i0, i1;
    while (kw__claim_next(&j->claim, ith, &i0, &i1)) j->fn(j->ctx, i0, i1);
}

void kw__parallel_for(struct kw__op_ctx *c, int64_t n, int64_t min_per_thread,
                      kw__range_fn fn, void *ctx) {
    struct kw__pool *pool = c->exec ? kw__exec_pool(c->exec) : NULL;
    if (n <= 0) return;
    if (min_per_thread < 1) min_per_thread = 1;
    if (!pool || kw__pool_size(pool) < 2 || n < 2 * min_per_thread) {
        fn(ctx, 0, n);
        return;
    }
    const int64_t nth = kw__pool_size(pool);
    struct range_job j = {.fn = fn, .ctx = ctx};
    kw__claim_init(&j.claim, n,
                   KW_MAX(min_per_thread, (n + 4 * nth - 1) / (4 * nth)),
                   (int)nth);
    kw__pool_run_shared(pool, range_thread, &j);
}
