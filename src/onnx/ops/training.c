/*
 * training.c — the ai.onnx.preview.training optimizers: Adagrad, Adam and
 * Momentum (standard and Nesterov). Inputs are R (learning rate), T
 * (update count), then k groups of n tensors each (X..., G..., [V...,]
 * H...); outputs are the updated state in the same grouped order. Every
 * element is computed in double and stored in X's dtype (float or double).
 * Entry points: the table kw__ops_training.
 */
#include "onnx/onnx_internal.h"

static const char k_domain[] = "ai.onnx.preview.training";

/* The inputs after R and T, grouped: in(g, i) is tensor i of group g
 * (g = 0 is X, 1 is G, then the per-op state tensors). */
struct groups {
    int n;         /* tensors optimized */
    int k;         /* groups (kinds of tensor per optimized one) */
    double r;      /* R */
    int64_t t;     /* T */
    int dtype;     /* of every grouped tensor */
};

static inline const struct kw_onnx_value *grp(struct kw__op_ctx *c,
                                              const struct groups *g,
                                              int kind, int i) {
    return c->in[2 + kind * g->n + i];
}

static inline double ld(const struct kw_onnx_value *v, int64_t e) {
    return v->dtype == KW_ONNX_FLOAT ? (double)((const float *)v->data)[e]
                                     : ((const double *)v->data)[e];
}
static inline void st(struct kw_onnx_value *v, int64_t e, double x) {
    if (v->dtype == KW_ONNX_FLOAT) ((float *)v->data)[e] = (float)x;
    else ((double *)v->data)[e] = x;
}

static int scalar_tensor(const struct kw_onnx_value *v) {
    return kw__is_tensor(v) && kw_onnx_numel(v) == 1;
}

static int same_shape(const struct kw_onnx_value *a,
                      const struct kw_onnx_value *b) {
    if (a->rank != b->rank) return 0;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return 0;
    return 1;
}

/* Checks R, T, the grouping of the remaining inputs into k groups, dtypes
 * and shapes (every tensor of an optimized variable has X's shape), and
 * the output count; fills g. */
static enum kw_status parse(struct kw__op_ctx *c, int k, struct groups *g) {
    const struct kw_onnx_value *R = kw__in(c, 0), *T = kw__in(c, 1);
    if (!scalar_tensor(R) ||
        (R->dtype != KW_ONNX_FLOAT && R->dtype != KW_ONNX_DOUBLE))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "R must be a float or double scalar");
    if (!scalar_tensor(T) || T->dtype != KW_ONNX_INT64)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "T must be an int64 scalar");
    const int rest = c->n_in - 2;
    if (rest < k || rest % k)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "expects R, T and %d groups of equal size after "
                           "them, got %d inputs", k, c->n_in);
    g->k = k;
    g->n = rest / k;
    if (c->n_out < 1 || c->n_out > g->n * (k - 1))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "%d outputs for %d optimized tensors (at most %d)",
                           c->n_out, g->n, g->n * (k - 1));
    g->r = kw__get_f64(R, 0);
    g->t = kw__get_i64(T, 0);
    for (int i = 0; i < g->n; i++) {
        const struct kw_onnx_value *x = grp(c, g, 0, i);
        if (!kw__is_tensor(x) ||
            (x->dtype != KW_ONNX_FLOAT && x->dtype != KW_ONNX_DOUBLE))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "X%d must be a float or double tensor", i + 1);
        if (i == 0) g->dtype = x->dtype;
        for (int kind = 0; kind < k; kind++) {
            const struct kw_onnx_value *v = grp(c, g, kind, i);
            if (!kw__is_tensor(v) || v->dtype != g->dtype || !same_shape(v, x))
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "input %d must be a %s tensor shaped like "
                                   "X%d", 2 + kind * g->n + i,
                                   kw_onnx_dtype_name(g->dtype), i + 1);
        }
    }
    return KW_STATUS_OK;
}

/* Output (kind, i) — kind 0 is X_new, then the updated state tensors in
 * input order — shaped like X_i; NULL when not wanted. *ok = 0 after an
 * allocation failure (already reported). */
static struct kw_onnx_value *out_for(struct kw__op_ctx *c,
                                     const struct groups *g, int kind, int i,
                                     int *ok) {
    const int o = kind * g->n + i;
    if (!kw__out_wanted(c, o)) return NULL;
    const struct kw_onnx_value *x = grp(c, g, 0, i);
    struct kw_onnx_value *v = kw__out_tensor(c, o, g->dtype, x->rank, x->dims);
    if (!v) *ok = 0;
    return v;
}

/* The hyper-parameters of one update, read by the op before the loop. */
struct upd {
    double norm, r, alpha, beta, eps, post;
    int nesterov;
};

/* One element: in[] holds X, G and the state values of the group order;
 * out[] receives X_new and the updated state. */
typedef void (*elem_fn)(const struct upd *u, const double *in, double *out);

/* Applies f to every element of every optimized tensor, storing only the
 * wanted outputs. */
static enum kw_status run_update(struct kw__op_ctx *c, const struct groups *g,
                                 const struct upd *u, elem_fn f) {
    for (int i = 0; i < g->n; i++) {
        const struct kw_onnx_value *in[4];
        struct kw_onnx_value *out[3];
        int ok = 1;
        for (int kind = 0; kind < g->k; kind++) in[kind] = grp(c, g, kind, i);
        for (int kind = 0; kind < g->k - 1; kind++)
            out[kind] = out_for(c, g, kind, i, &ok);
        if (!ok) return KW_STATUS_ERR_NOMEM;
        const int64_t ne = kw_onnx_numel(in[0]);
        for (int64_t e = 0; e < ne; e++) {
            double iv[4], ov[3] = {0};
            for (int kind = 0; kind < g->k; kind++) iv[kind] = ld(in[kind], e);
            f(u, iv, ov);
            for (int kind = 0; kind < g->k - 1; kind++)
                if (out[kind]) st(out[kind], e, ov[kind]);
        }
    }
    return KW_STATUS_OK;
}

/* ---- Adagrad: inputs R, T, X..., G..., H...; outputs X_new..., H_new... */

static void adagrad_elem(const struct upd *u, const double *in, double *out) {
    const double xv = in[0], gv = u->norm * xv + in[1];
    const double hn = in[2] + gv * gv;
    out[0] = xv - u->r * gv / (sqrt(hn) + u->eps);
    out[1] = hn;
}

static enum kw_status op_adagrad(struct kw__op_ctx *c) {
    struct groups g = {0};
    enum kw_status s = parse(c, 3, &g);
    if (s != KW_STATUS_OK) return s;
    struct upd u = {0};
    u.norm = kw__attr_f(c, "norm_coefficient", 0.0f);
    const double decay = kw__attr_f(c, "decay_factor", 0.0f);
    u.eps = kw__attr_f(c, "epsilon", 1e-6f);
    /* the learning rate decays with the update count */
    u.r = g.r / (1.0 + (double)g.t * decay);
    return run_update(c, &g, &u, adagrad_elem);
}

/* ---- Adam: inputs R, T, X..., G..., V..., H...; outputs X..., V..., H... */

static void adam_elem(const struct upd *u, const double *in, double *out) {
    const double xv = in[0], gv = u->norm * xv + in[1];
    const double vn = u->alpha * in[2] + (1.0 - u->alpha) * gv;
    const double hn = u->beta * in[3] + (1.0 - u->beta) * gv * gv;
    const double xn = xv - u->r * vn / (sqrt(hn) + u->eps);
    out[0] = (1.0 - u->post) * xn;
    out[1] = vn;
    out[2] = hn;
}

static enum kw_status op_adam(struct kw__op_ctx *c) {
    struct groups g = {0};
    enum kw_status s = parse(c, 4, &g);
    if (s != KW_STATUS_OK) return s;
    struct upd u = {0};
    u.norm = kw__attr_f(c, "norm_coefficient", 0.0f);
    u.post = kw__attr_f(c, "norm_coefficient_post", 0.0f);
    u.alpha = kw__attr_f(c, "alpha", 0.9f);
    u.beta = kw__attr_f(c, "beta", 0.999f);
    u.eps = kw__attr_f(c, "epsilon", 1e-6f);
    /* bias correction of both moments, folded into the rate; T <= 0 means
     * no correction (the first update with 0-based counting) */
    u.r = g.r;
    if (g.t > 0)
        u.r = g.r * sqrt(1.0 - pow(u.beta, (double)g.t)) /
              (1.0 - pow(u.alpha, (double)g.t));
    return run_update(c, &g, &u, adam_elem);
}

/* ---- Momentum: inputs R, T, X..., G..., V...; outputs X..., V... ---- */

static void momentum_elem(const struct upd *u, const double *in,
                          double *out) {
    const double xv = in[0], gv = u->norm * xv + in[1];
    const double vn = u->alpha * in[2] + u->beta * gv;
    const double step = u->nesterov ? gv + u->alpha * vn : vn;
    out[0] = xv - u->r * step;
    out[1] = vn;
}

static enum kw_status op_momentum(struct kw__op_ctx *c) {
    static const char *const req[] = {"alpha", "beta", "norm_coefficient",
                                      "mode"};
    for (size_t a = 0; a < sizeof req / sizeof req[0]; a++)
        if (!kw__attr(c->node, req[a]))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "missing required attribute '%s'", req[a]);
    const char *mode = kw__attr_s(c, "mode", "");
    struct upd u = {0};
    u.nesterov = !strcmp(mode, "nesterov");
    if (!u.nesterov && strcmp(mode, "standard"))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "mode must be 'standard' or 'nesterov', not '%s'",
                           mode);
    struct groups g = {0};
    enum kw_status s = parse(c, 3, &g);
    if (s != KW_STATUS_OK) return s;
    u.norm = kw__attr_f(c, "norm_coefficient", 0.0f);
    u.alpha = kw__attr_f(c, "alpha", 0.0f);
    /* the gradient enters unscaled on the first update (T == 0) */
    u.beta = g.t > 0 ? (double)kw__attr_f(c, "beta", 0.0f) : 1.0;
    u.r = g.r;
    return run_update(c, &g, &u, momentum_elem);
}

const struct kw__op kw__ops_training[] = {
    {k_domain, "Adagrad", 1, 0, op_adagrad},
    {k_domain, "Adam", 1, 0, op_adam},
    {k_domain, "Momentum", 1, 0, op_momentum},
    {0},
};
