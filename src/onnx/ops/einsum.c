/*
 * einsum.c — Einsum: parses the equation (explicit or implicit output,
 * "..." broadcasting, repeated labels for diagonals) and evaluates it by
 * walking every label combination with per-operand label strides,
 * accumulating in double. Simple and exact; not tuned for large operands.
 */
#include <ctype.h>

#include "onnx/ops/nn_internal.h"

#define MAX_OPS 16
#define ELL0 52 /* labels 52.. stand for the ellipsis dimensions */
#define NLAB (ELL0 + KW_ONNX_MAX_RANK)

static int label_of(char ch) {
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    return -1;
}

/* Parses one term into labels; ell_rank: how many dims "..." covers here
 * (computed from the operand's rank, or the output's ellipsis rank). */
static int parse_term(const char *s, size_t len, int rank, int *labels,
                      int *n_out, int *ell_rank, int ell_total) {
    int n = 0, letters = 0, has_ell = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (has_ell || i + 2 >= len + 0 || s[i + 1] != '.' || s[i + 2] != '.')
                return 0;
            has_ell = 1;
            i += 2;
        } else if (label_of(s[i]) >= 0) {
            letters++;
        } else {
            return 0;
        }
    }
    const int er = rank >= 0 ? rank - letters : ell_total;
    if (er < 0 || (!has_ell && rank >= 0 && er != 0) || er > KW_ONNX_MAX_RANK)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            for (int e = 0; e < er; e++) labels[n++] = ELL0 + (ell_total - er) + e;
            i += 2;
        } else {
            labels[n++] = label_of(s[i]);
        }
        if (n > KW_ONNX_MAX_RANK) return 0;
    }
    *n_out = n;
    *ell_rank = has_ell ? er : -1;
    return 1;
}

enum kw_status kw__op_einsum(struct kw__op_ctx *c) {
    const char *eq_in = kw__attr_s(c, "equation", NULL);
    if (!eq_in) return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "no equation");
    char eq[512];
    size_t el = 0;
    for (const char *p = eq_in; *p; p++)
        if (!isspace((unsigned char)*p)) {
            if (el + 1 >= sizeof eq)
                return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                                   "equation too long");
            eq[el++] = *p;
        }
    eq[el] = 0;
    const int nin = c->n_in;
    if (nin < 1 || nin > MAX_OPS)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "%d operands", nin);
    const struct kw_onnx_value *in[MAX_OPS];
    for (int i = 0; i < nin; i++) {
        in[i] = kw__in(c, i);
        if (!kw__is_tensor(in[i]) || in[i]->dtype != in[0]->dtype ||
            (!kw__dtype_is_float(in[i]->dtype) && !kw__dtype_is_int(in[i]->dtype)))
            return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                               "operands must be numeric of one dtype");
    }
    const char *arrow = strstr(eq, "->");
    const size_t lhs_len = arrow ? (size_t)(arrow - eq) : el;
    int lab[MAX_OPS][KW_ONNX_MAX_RANK], nlab[MAX_OPS];
    int ell_total = 0;
    /* first pass: ellipsis ranks */
    const char *t = eq;
    for (int i = 0; i < nin; i++) {
        const char *end = memchr(t, ',', lhs_len - (size_t)(t - eq));
        const size_t len = end ? (size_t)(end - t) : lhs_len - (size_t)(t - eq);
        if ((i < nin - 1) != (end != NULL))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "equation has a different number of operands");
        int er;
        if (!parse_term(t, len, in[i]->rank, lab[i], &nlab[i], &er, 0) &&
            !parse_term(t, len, in[i]->rank, lab[i], &nlab[i], &er,
                        KW_ONNX_MAX_RANK))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "term %d does not match operand rank %d", i,
                               in[i]->rank);
        if (er > ell_total) ell_total = er;
        t += len + 1;
    }
    /* second pass with the common ellipsis rank (right-aligned) */
    int64_t size[NLAB];
    for (int l = 0; l < NLAB; l++) size[l] = -1;
    int count[NLAB] = {0};
    t = eq;
    for (int i = 0; i < nin; i++) {
        const char *end = memchr(t, ',', lhs_len - (size_t)(t - eq));
        const size_t len = end ? (size_t)(end - t) : lhs_len - (size_t)(t - eq);
        int er;
        parse_term(t, len, in[i]->rank, lab[i], &nlab[i], &er, ell_total);
        for (int d = 0; d < nlab[i]; d++) {
            const int l = lab[i][d];
            const int64_t sz = in[i]->dims[d];
            count[l]++;
            if (size[l] < 0 || (l >= ELL0 && size[l] == 1))
                size[l] = sz;
            else if (sz != size[l] && !(l >= ELL0 && sz == 1))
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "label sizes disagree (%lld vs %lld)",
                                   (long long)sz, (long long)size[l]);
        }
        t += len + 1;
    }
    int out[KW_ONNX_MAX_RANK], nout = 0, is_out[NLAB] = {0};
    if (arrow) {
        int er;
        if (!parse_term(arrow + 2, strlen(arrow + 2), -1, out, &nout, &er,
                        ell_total))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "bad output term");
        for (int d = 0; d < nout; d++) {
            if (size[out[d]] < 0 || is_out[out[d]])
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "output label not in inputs or repeated");
            is_out[out[d]] = 1;
        }
    } else {
        for (int e = 0; e < ell_total; e++) out[nout++] = ELL0 + e;
        for (int l = 0; l < ELL0; l++)
            if (count[l] == 1) {
                if (nout >= KW_ONNX_MAX_RANK)
                    return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                                       "output rank too large");
                out[nout++] = l;
            }
        for (int d = 0; d < nout; d++) is_out[out[d]] = 1;
    }
    /* loop order: output labels, then the summed ones */
    int order[NLAB], norder = 0;
    for (int d = 0; d < nout; d++) order[norder++] = out[d];
    for (int l = 0; l < NLAB; l++)
        if (size[l] >= 0 && !is_out[l]) order[norder++] = l;
    int64_t ydims[KW_ONNX_MAX_RANK];
    for (int d = 0; d < nout; d++) ydims[d] = size[out[d]];
    int64_t osz = kw__nn_prod(ydims, nout), total = 1;
    for (int k = 0; k < norder; k++) {
        const int64_t s = size[order[k]];
        if (s && total > INT64_MAX / s) total = -1;
        if (total >= 0) total *= s;
    }
    if (osz < 0 || total < 0 || total > ((int64_t)1 << 34))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "contraction too large");
    /* stride of each loop label in each operand */
    int64_t lst[MAX_OPS][NLAB];
    for (int i = 0; i < nin; i++) {
        int64_t st[KW_ONNX_MAX_RANK];
        kw__strides(in[i]->rank, in[i]->dims, st);
        for (int k = 0; k < norder; k++) lst[i][k] = 0;
        for (int d = 0; d < nlab[i]; d++)
            for (int k = 0; k < norder; k++)
                if (order[k] == lab[i][d] && in[i]->dims[d] != 1)
                    lst[i][k] += st[d];
    }
    struct kw_onnx_value *Y = kw__out_tensor(c, 0, in[0]->dtype, nout, ydims);
    if (!Y) return KW_STATUS_ERR_NOMEM;
    if (osz == 0) return KW_STATUS_OK;
    const int64_t inner = total / osz;
    int64_t idx[NLAB] = {0}, off[MAX_OPS] = {0};
    const int as_int = kw__dtype_is_int(Y->dtype);
    for (int64_t o = 0; o < osz; o++) {
        double acc = 0.0;
        int64_t iacc = 0;
        for (int64_t s = 0; s < inner; s++) {
            if (as_int) {
                int64_t p = 1;
                for (int i = 0; i < nin; i++) p *= kw__get_i64(in[i], off[i]);
                iacc += p;
            } else {
                double p = 1.0;
                for (int i = 0; i < nin; i++) p *= kw__get_f64(in[i], off[i]);
                acc += p;
            }
            /* odometer over all labels; the output ones advance as the
             * summed ones wrap */
            for (int k = norder - 1; k >= 0; k--) {
                for (int i = 0; i < nin; i++) off[i] += lst[i][k];
                if (++idx[k] < size[order[k]]) break;
                for (int i = 0; i < nin; i++) off[i] -= lst[i][k] * size[order[k]];
                idx[k] = 0;
            }
        }
        if (as_int)
            kw__set_i64(Y, o, iacc);
        else
            kw__set_f64(Y, o, acc);
    }
    return KW_STATUS_OK;
}
