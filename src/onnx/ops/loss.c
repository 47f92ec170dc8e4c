/*
 * loss.c — NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (entries
 * in reduce.c's table). Input (N, C, d1..dk), target (N, d1..dk) of class
 * indices, optional per-class weights; reduction none / sum / mean, where
 * mean divides by the summed weights of the targets not ignored.
 * SoftmaxCrossEntropyLoss is NLL over log-softmax along C, which is also
 * its optional second output.
 * Entry points: kw__op_nllloss, kw__op_sceloss.
 */
#include <string.h>

#include "onnx/ops/rowops.h"

/* lp: log-probabilities (N, C, D) in double; writes the loss outputs. */
static enum kw_status nll_finish(struct kw__op_ctx *c, const double *lp,
                                 const struct kw_onnx_value *x,
                                 const struct kw_onnx_value *t,
                                 const struct kw_onnx_value *w, int64_t N,
                                 int64_t C, int64_t D) {
    const char *red = kw__attr_s(c, "reduction", "mean");
    const int none = !strcmp(red, "none"), sum = !strcmp(red, "sum");
    if (!none && !sum && strcmp(red, "mean"))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "reduction '%s'", red);
    const struct kw__attr *ia = kw__attr(c->node, "ignore_index");
    const int has_ii = ia && ia->type == KW_ATTR_INT;
    const int64_t ii = has_ii ? ia->i : 0;
    struct kw_onnx_value *out;
    if (none) out = kw__out_tensor(c, 0, x->dtype, t->rank, t->dims);
    else out = kw__out_tensor(c, 0, x->dtype, 0, NULL);
    if (!out) return KW_STATUS_ERR_NOMEM;
    double total = 0, wsum = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t d = 0; d < D; d++) {
            const int64_t k = kw__get_i64(t, n * D + d);
            double l = 0, wt = 0;
            if (!(has_ii && k == ii)) {
                if (k < 0 || k >= C)
                    return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                       "target %lld out of range [0, %lld)",
                                       (long long)k, (long long)C);
                wt = w ? kw__get_f64(w, k) : 1.0;
                l = -lp[(n * C + k) * D + d] * wt;
            }
            if (none) kw__set_f64(out, n * D + d, l);
            total += l;
            wsum += wt;
        }
    if (sum) kw__set_f64(out, 0, total);
    else if (!none) kw__set_f64(out, 0, total / wsum);
    return KW_STATUS_OK;
}

/* Checks the shapes; N, C, D of the input viewed as (N, C, D). */
static enum kw_status loss_shapes(struct kw__op_ctx *c,
                                  const struct kw_onnx_value *x,
                                  const struct kw_onnx_value *t,
                                  const struct kw_onnx_value *w, int64_t *N,
                                  int64_t *C, int64_t *D) {
    if (!kw__is_tensor(x) || !kw__dtype_is_float(x->dtype) || x->rank < 2)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "input must be a float tensor (N, C, ...)");
    if (!kw__is_tensor(t) || !kw__dtype_is_int(t->dtype) ||
        t->rank != x->rank - 1)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "target must be an integer tensor of rank %d",
                           x->rank - 1);
    *N = x->dims[0];
    *C = x->dims[1];
    *D = 1;
    for (int i = 2; i < x->rank; i++) *D *= x->dims[i];
    if (t->dims[0] != *N)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "target batch mismatch");
    for (int i = 1; i < t->rank; i++)
        if (t->dims[i] != x->dims[i + 1])
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "target shape mismatch at axis %d", i);
    if (w && (!kw__is_tensor(w) || !kw__dtype_is_float(w->dtype) ||
              w->rank != 1 || w->dims[0] != *C))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "weight must be a float tensor of shape [%lld]",
                           (long long)*C);
    return KW_STATUS_OK;
}

/* lp = log-softmax of x along C, per (n, d). */
static void log_softmax(double *lp, const struct kw_onnx_value *x, int64_t N,
                        int64_t C, int64_t D) {
    for (int64_t nn = 0; nn < N; nn++)
        for (int64_t d = 0; d < D; d++) {
            const int64_t b = nn * C * D + d;
            double m = -INFINITY, s = 0;
            for (int64_t k = 0; k < C; k++) {
                lp[b + k * D] = kw__get_f64(x, b + k * D);
                if (lp[b + k * D] > m) m = lp[b + k * D];
            }
            for (int64_t k = 0; k < C; k++) s += exp(lp[b + k * D] - m);
            const double ls = log(s);
            for (int64_t k = 0; k < C; k++) lp[b + k * D] = (lp[b + k * D] - m) - ls;
        }
}

/* Both losses: NLL of the input itself, or (softmax) of its log-softmax,
 * which is then also the optional second output. */
static enum kw_status loss_op(struct kw__op_ctx *c, int softmax) {
    const struct kw_onnx_value *x = kw__in(c, 0), *t = kw__in(c, 1),
                               *w = kw__in(c, 2);
    int64_t N = 0, C = 0, D = 0;
    enum kw_status st = loss_shapes(c, x, t, w, &N, &C, &D);
    if (st != KW_STATUS_OK) return st;
    const int64_t n = kw_onnx_numel(x);
    double *lp = malloc((size_t)(n ? n : 1) * sizeof(double));
    if (!lp) return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    if (softmax) log_softmax(lp, x, N, C, D);
    else
        for (int64_t i = 0; i < n; i++) lp[i] = kw__get_f64(x, i);
    st = nll_finish(c, lp, x, t, w, N, C, D);
    if (softmax && st == KW_STATUS_OK && kw__out_wanted(c, 1)) {
        struct kw_onnx_value *o = kw__out_tensor(c, 1, x->dtype, x->rank, x->dims);
        if (!o) st = KW_STATUS_ERR_NOMEM;
        else
            for (int64_t i = 0; i < n; i++) kw__set_f64(o, i, lp[i]);
    }
    free(lp);
    return st;
}

enum kw_status kw__op_nllloss(struct kw__op_ctx *c) { return loss_op(c, 0); }

enum kw_status kw__op_sceloss(struct kw__op_ctx *c) { return loss_op(c, 1); }
