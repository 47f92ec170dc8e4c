/*
 * exec.c — runs a graph: nodes in topological order, each output freed
 * right after its last reader (liveness from load time), subgraphs in a
 * frame whose outer-scope names resolve to the enclosing frame's values;
 * a fused activation the operator left over runs on the SIMD kernel,
 * split over the threads. KW_ONNX_PROFILE=1 (or =cpu) prints the time
 * per node at exit. Public: kw_onnx_run.
 */
#include "onnx/exec.h"

#include <stdatomic.h>
#include <time.h>

#include "onnx/ops/nn_internal.h"

/* KW_ONNX_PROFILE=1: wall time per node of the top graph, summed over
 * runs and printed to stderr at exit, slowest first (a developer aid);
 * =cpu: the calling thread's CPU time instead (one thread, busy machine);
 * =order: graph order rather than slowest first (to set beside another
 * engine's per-node profile). */
struct prof_rec {
    const char *name, *op;
    double ms, min_ms;
    long calls;
    char shape[96]; /* input 0 -> output 0 */
};
static struct prof_rec *prof;
static int prof_n;
static const struct kw__graph *prof_g;
static atomic_int prof_decided;
static pthread_mutex_t prof_mu = PTHREAD_MUTEX_INITIALIZER;

static int prof_cmp(const void *a, const void *b) {
    const struct prof_rec *x = a, *y = b;
    return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : 0;
}

static int prof_cpu, prof_order;

static void prof_dump(void) {
    double tot = 0;
    for (int i = 0; i < prof_n; i++) tot += prof[i].ms;
    if (!prof_order) qsort(prof, (size_t)prof_n, sizeof *prof, prof_cmp);
    long runs = prof_n ? prof[0].calls : 0;
    double tot_min = 0;
    for (int i = 0; i < prof_n; i++) tot_min += prof[i].min_ms;
    fprintf(stderr, "profile: %d nodes, %.3f ms per run (sum of minima %.3f)\n",
            prof_n, runs ? tot / (double)runs : 0.0, tot_min);
    for (int i = 0; i < prof_n && prof[i].calls; i++)
        fprintf(stderr, "%9.4f ms (min %.4f) %5.1f%%  %-12s %-32s %s\n",
                prof[i].ms / (double)prof[i].calls, prof[i].min_ms,
                tot > 0 ? 100.0 * prof[i].ms / tot : 0.0, prof[i].op,
                prof[i].shape, prof[i].name);
}

static void prof_shape(char *b, size_t n, const struct kw_onnx_value *x,
                       const struct kw_onnx_value *y) {
    size_t o = 0;
    for (int pass = 0; pass < 2; pass++) {
        const struct kw_onnx_value *v = pass ? y : x;
        for (int i = 0; v->kind == KW_ONNX_TENSOR && i < v->rank && o < n; i++)
            o += (size_t)snprintf(b + o, n - o, "%s%lld", i ? "x" : "",
                                  (long long)v->dims[i]);
        if (!pass && o < n) o += (size_t)snprintf(b + o, n - o, " -> ");
    }
}

/* the first run decides; only its model's top graph is profiled (runs
 * of other models in parallel threads are not: a developer aid) */
static void prof_init(const struct kw__graph *g) {
    const char *pe = getenv("KW_ONNX_PROFILE");
    if (!pe || !*pe || !strcmp(pe, "0")) return;
    prof_cpu = !strcmp(pe, "cpu");
    prof_order = !strcmp(pe, "order");
    if ((prof = calloc((size_t)g->n_nodes + 1, sizeof *prof))) {
        prof_n = g->n_nodes;
        prof_g = g;
        atexit(prof_dump);
    }
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(prof_cpu ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

struct kw__frame {
    const struct kw__graph *g;
    const struct kw__frame *parent;
    struct kw_onnx_value **vals; /* per slot; NULL: not computed / borrowed */
    unsigned char *owned;        /* per slot: vals[slot] belongs to us */
};

static size_t value_bytes(const struct kw_onnx_value *v) {
    if (!v) return 0;
    size_t n = v->kind == KW_ONNX_TENSOR ? v->nbytes : 0;
    for (size_t i = 0; i < v->n_items; i++) n += value_bytes(v->items[i]);
    return n;
}

struct kw__pool *kw__exec_pool(struct kw__exec *e) {
    return e->model ? e->model->pool : NULL;
}

void kw__exec_account(struct kw__exec *e, const struct kw_onnx_value *v) {
    if (!e) return;
    e->live_bytes += value_bytes(v);
    if (e->live_bytes > e->peak_bytes) e->peak_bytes = e->live_bytes;
}

void kw__exec_release(struct kw__exec *e, struct kw_onnx_value *v) {
    size_t b = value_bytes(v);
    if (e) e->live_bytes = e->live_bytes > b ? e->live_bytes - b : 0;
    if (e && v && v->kind == KW_ONNX_TENSOR && v->owns_data &&
        v->dtype != KW_ONNX_STRING && v->nbytes >= KW_POOL_MIN_BYTES &&
        e->pool.n < KW_POOL_SLOTS) {
        e->pool.buf[e->pool.n] = v->data;
        e->pool.size[e->pool.n++] = v->nbytes;
        free(v);
        return;
    }
    kw_onnx_value_free(v);
}

struct kw_onnx_value *kw__exec_tensor(struct kw__exec *e, int dtype, int rank,
                                      const int64_t *dims) {
    size_t bytes = kw_onnx_dtype_size(dtype);
    int best = -1;
    for (int i = 0; bytes && i < rank && i < KW_ONNX_MAX_RANK; i++)
        if (dims[i] < 0 || !kw__mul_size(bytes, (size_t)dims[i], &bytes))
            bytes = 0;
    if (e && e->max_tensor_bytes && bytes > e->max_tensor_bytes) return NULL;
    /* best fit among kept buffers, wasting at most half */
    if (e && dtype != KW_ONNX_STRING && rank <= KW_ONNX_MAX_RANK &&
        bytes >= KW_POOL_MIN_BYTES)
        for (int i = 0; i < e->pool.n; i++)
            if (e->pool.size[i] >= bytes && e->pool.size[i] <= bytes + bytes / 2 &&
                (best < 0 || e->pool.size[i] < e->pool.size[best]))
                best = i;
    struct kw_onnx_value *v =
        best >= 0 ? kw__tensor_on(dtype, rank, dims, e->pool.buf[best], bytes)
                  : NULL;
    if (!v)
        return e && e->no_zero ? kw__tensor_new_uninit(dtype, rank, dims)
                               : kw_onnx_tensor_new(dtype, rank, dims);
    e->pool.buf[best] = e->pool.buf[--e->pool.n];
    e->pool.size[best] = e->pool.size[e->pool.n];
    if (!e->no_zero) memset(v->data, 0, bytes);
    return v;
}

struct kw_onnx_value *kw__out_tensor_raw(struct kw__op_ctx *c, int k,
                                         int dtype, int rank,
                                         const int64_t *dims) {
    if (c->exec) c->exec->no_zero = dtype != KW_ONNX_STRING;
    struct kw_onnx_value *v = kw__out_tensor(c, k, dtype, rank, dims);
    if (c->exec) c->exec->no_zero = 0;
    return v;
}

void kw__exec_pool_free(struct kw__exec *e) {
    for (int i = 0; i < e->pool.n; i++) free(e->pool.buf[i]);
    e->pool.n = 0;
}

/* The value of slot s as seen from frame f (outer scopes included). */
static struct kw_onnx_value *lookup(const struct kw__frame *f, int s) {
    while (f) {
        if (f->vals[s]) return f->vals[s];
        if (f->g->init[s]) return f->g->init[s];
        s = f->g->outer[s];
        if (s < 0) return NULL;
        f = f->parent;
    }
    return NULL;
}

/* A fused activation left to the executor: float32 outputs through the
 * SIMD kernel, split over the threads; the rest by kw__node_epilogue. */
struct act_job {
    const struct kw__nn_kern *k;
    float *y;
    int act;
    float a, b;
};

static void act_range(void *arg, int64_t i0, int64_t i1) {
    const struct act_job *j = arg;
    j->k->act(j->y + i0, i1 - i0, j->act, j->a, j->b);
}

static enum kw_status epilogue(struct kw__op_ctx *c) {
    const struct kw__node *n = c->node;
    struct kw_onnx_value *v = c->n_out ? c->out[0] : NULL;
    const struct kw__nn_kern *k = n->fused_act && !n->act_in_op && v &&
                                          kw__is_tensor(v) &&
                                          v->dtype == KW_ONNX_FLOAT
                                      ? kw__nn_kern()
                                      : NULL;
    if (!k) return kw__node_epilogue(c);
    struct act_job j = {k, v->data, n->fused_act, n->act_alpha, n->act_beta};
    kw__parallel_for(c, kw_onnx_numel(v), 16384, act_range, &j);
    return KW_STATUS_OK;
}

static int is_graph_output(const struct kw__graph *g, int s) {
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == s) return 1;
    return 0;
}

static void drop_slot(struct kw__exec *e, struct kw__frame *f, int s) {
    if (f->owned[s]) kw__exec_release(e, f->vals[s]);
    f->vals[s] = NULL;
    f->owned[s] = 0;
}

/* The value node k's output 0 may take over (kw__node.inplace_in1):
 * an owned intermediate that no later node nor the graph's outputs read,
 * and no other input of the node. */
static struct kw_onnx_value *donor(const struct kw__graph *g,
                                   const struct kw__frame *f,
                                   const struct kw__node *n, int k) {
    const int i = n->inplace_in1 - 1;
    if (i < 0 || i >= n->n_in) return NULL;
    const int s = n->in[i];
    if (s < 0 || g->last_use[s] != k || !f->owned[s] || is_graph_output(g, s))
        return NULL;
    for (int j = 0; j < n->n_in; j++)
        if (j != i && n->in[j] == s) return NULL;
    return f->vals[s];
}

static enum kw_status run_graph(struct kw__exec *e, const struct kw__graph *g,
                                const struct kw__frame *parent,
                                struct kw_onnx_value *const *inputs, int n_in,
                                struct kw_onnx_value **outputs, int n_out) {
    struct kw__frame f = {g, parent, NULL, NULL};
    enum kw_status st = KW_STATUS_OK;
    f.vals = calloc((size_t)g->n_values + 1, sizeof *f.vals);
    f.owned = calloc((size_t)g->n_values + 1, 1);
    struct kw_onnx_value **in = NULL, **out = NULL;
    int max_io = 1;
    for (int k = 0; k < g->n_nodes; k++)
        max_io = KW_MAX(max_io, KW_MAX(g->nodes[k].n_in, g->nodes[k].n_out));
    in = calloc((size_t)max_io, sizeof *in);
    out = calloc((size_t)max_io, sizeof *out);
    if (!f.vals || !f.owned || !in || !out) {
        st = kw__err(e->err, e->err_size, KW_STATUS_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n_in && i < g->n_inputs; i++)
        f.vals[g->inputs[i]] = inputs[i]; /* borrowed */
    for (int k = 0; k < g->n_nodes && !st; k++) {
        const struct kw__node *n = &g->nodes[k];
        if (!n->op) {
            st = kw__err(e->err, e->err_size, KW_STATUS_ERR_UNSUPPORTED,
                         "node '%s': operator %s%s%s (opset %d) is not "
                         "supported",
                         n->name, n->domain, n->domain[0] ? ":" : "",
                         n->op_type, n->opset);
            break;
        }
        for (int i = 0; i < n->n_in; i++) {
            in[i] = n->in[i] >= 0 ? lookup(&f, n->in[i]) : NULL;
            if (n->in[i] >= 0 && !in[i]) {
                st = kw__err(e->err, e->err_size, KW_STATUS_ERR_INVALID_ARG,
                             "node '%s' (%s): input %d '%s' has no value",
                             n->name, n->op_type, i, g->names[n->in[i]]);
                break;
            }
        }
        if (st) break;
        memset(out, 0, (size_t)n->n_out * sizeof *out);
        struct kw__op_ctx c = {n, n->opset, in, n->n_in, out, n->n_out, e,
                               e->err, e->err_size};
        const struct kw__frame *saved = e->frame;
        e->frame = &f;
        const int profiled = prof && g == prof_g && k < prof_n;
        const double t0 = profiled ? now_ms() : 0.0;
        e->donor = donor(g, &f, n, k);
        st = n->op->run(&c);
        e->donor = NULL;
        if (!st) st = epilogue(&c);
        if (profiled) {
            const double dt = now_ms() - t0;
            prof[k].ms += dt;
            if (!prof[k].calls || dt < prof[k].min_ms) prof[k].min_ms = dt;
            prof[k].calls++;
            prof[k].name = n->name;
            prof[k].op = n->op_type;
            if (!prof[k].shape[0] && n->n_in && in[0] && n->n_out && out[0])
                prof_shape(prof[k].shape, sizeof prof[k].shape, in[0], out[0]);
        }
        e->frame = saved;
        for (int o = 0; o < n->n_out; o++) {
            int s = n->out[o];
            if (!st && s >= 0 && !out[o])
                st = kw__err(e->err, e->err_size, KW_STATUS_ERR_FORMAT,
                             "node '%s' (%s) produced no output %d", n->name,
                             n->op_type, o);
            if (st || s < 0) {
                if (out[o]) kw__exec_release(e, out[o]);
                continue;
            }
            drop_slot(e, &f, s); /* SSA: only a malformed graph rewrites */
            f.vals[s] = out[o];
            f.owned[s] = 1;
            /* an output nobody reads goes right away */
            if (g->last_use[s] < 0 && !is_graph_output(g, s)) drop_slot(e, &f, s);
        }
        /* free what no later node (nor a graph output) reads */
        for (int i = 0; !st && i < n->n_in; i++) {
            int s = n->in[i];
            if (s >= 0 && g->last_use[s] == k && f.owned[s] &&
                !is_graph_output(g, s))
                drop_slot(e, &f, s);
        }
    }
    for (int i = 0; !st && i < n_out && i < g->n_outputs; i++) {
        int s = g->outputs[i];
        struct kw_onnx_value *v = lookup(&f, s);
        if (!v) {
            st = kw__err(e->err, e->err_size, KW_STATUS_ERR_FORMAT,
                         "graph output '%s' has no value", g->names[s]);
            break;
        }
        if (f.owned[s]) {
            outputs[i] = v;
            f.owned[s] = 0;
            f.vals[s] = NULL;
            /* the same slot may be listed twice */
            for (int j = i + 1; j < g->n_outputs; j++)
                if (g->outputs[j] == s) f.vals[s] = v;
        } else {
            outputs[i] = kw__value_clone(v);
            if (!outputs[i])
                st = kw__err(e->err, e->err_size, KW_STATUS_ERR_NOMEM,
                             "out of memory");
        }
    }
    if (st)
        for (int i = 0; i < n_out; i++) {
            kw_onnx_value_free(outputs[i]);
            outputs[i] = NULL;
        }
out:
    for (int s = 0; f.vals && s < g->n_values; s++)
        if (f.owned[s]) drop_slot(e, &f, s);
    free(f.vals);
    free(f.owned);
    free(in);
    free(out);
    return st;
}

enum kw_status kw__run_subgraph(struct kw__op_ctx *c,
                                const struct kw__graph *g,
                                struct kw_onnx_value *const *inputs, int n_in,
                                struct kw_onnx_value **outputs, int n_out) {
    for (int i = 0; i < n_out; i++) outputs[i] = NULL;
    if (n_out > g->n_outputs)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "subgraph has %d outputs, %d wanted", g->n_outputs,
                           n_out);
    if (n_in > g->n_inputs)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "subgraph has %d inputs, %d given", g->n_inputs,
                           n_in);
    struct kw__exec *e = c->exec;
    return run_graph(e, g, e->frame, inputs, n_in, outputs, n_out);
}

enum kw_status kw_onnx_run(const struct kw_onnx_model *m,
                           const struct kw_onnx_value *const *inputs,
                           struct kw_onnx_value **outputs, size_t *peak_bytes,
                           char *err, size_t err_size) {
    if (!m || !outputs)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "NULL argument");
    const struct kw__graph *g = m->graph;
    for (int i = 0; i < g->n_outputs; i++) outputs[i] = NULL;
    /* graph inputs: the caller's for user inputs, initializers otherwise */
    struct kw_onnx_value **bind = calloc((size_t)g->n_inputs + 1, sizeof *bind);
    if (!bind) return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    /* bfloat16 data often travels as uint16 (numpy has no bfloat16):
     * accept the bits under the declared type */
    struct kw_onnx_value *views = calloc((size_t)m->n_user_inputs + 1, sizeof *views);
    if (!views) {
        free(bind);
        return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    }
    for (int u = 0; u < m->n_user_inputs; u++) {
        const struct kw_onnx_value *v = inputs ? inputs[u] : NULL;
        int gi = m->user_inputs[u];
        const struct kw__type_info *ti = &g->in_info[gi];
        if (v && ti->known && ti->kind == KW_ONNX_TENSOR &&
            v->kind == KW_ONNX_TENSOR && ti->dtype == KW_ONNX_BFLOAT16 &&
            v->dtype == KW_ONNX_UINT16) {
            views[u] = *v;
            views[u].dtype = KW_ONNX_BFLOAT16;
            views[u].owns_data = 0;
            views[u].items = NULL;
            v = &views[u];
        }
        if (v && ti->known && ti->kind == KW_ONNX_TENSOR &&
            v->kind == KW_ONNX_TENSOR && ti->dtype && v->dtype != ti->dtype) {
            free(bind);
            free(views);
            return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                           "input '%s' is %s, the model declares %s",
                           g->names[g->inputs[gi]], kw_onnx_dtype_name(v->dtype),
                           kw_onnx_dtype_name(ti->dtype));
        }
        bind[gi] = (struct kw_onnx_value *)v;
    }
    struct kw__exec e = {.model = m, .err = err, .err_size = err_size};
    if (!atomic_load_explicit(&prof_decided, memory_order_acquire)) {
        pthread_mutex_lock(&prof_mu);
        if (!atomic_load_explicit(&prof_decided, memory_order_relaxed)) {
            prof_init(g);
            atomic_store_explicit(&prof_decided, 1, memory_order_release);
        }
        pthread_mutex_unlock(&prof_mu);
    }
    /* the model is immutable but for its buffer cache, guarded by run_lock */
    struct kw_onnx_model *mm = (struct kw_onnx_model *)m;
    pthread_mutex_lock(&mm->run_lock);
    e.pool = mm->kept;
    mm->kept.n = 0;
    if (m->pool) kw__pool_hold(m->pool, 1);
    enum kw_status st =
        run_graph(&e, g, NULL, bind, g->n_inputs, outputs, g->n_outputs);
    if (m->pool) kw__pool_hold(m->pool, 0);
    mm->kept = e.pool;
    pthread_mutex_unlock(&mm->run_lock);
    free(bind);
    free(views);
    if (peak_bytes) *peak_bytes = e.peak_bytes;
    return st;
}
