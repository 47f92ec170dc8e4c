/*
 * ctc.c — greedy CTC decoding of a text-line recogniser's output: the best
 * class at each time step, runs of the same class merged, the blank class
 * dropped. Takes scores [T, C], [1, T, C] or [T, 1, C] (float) or class ids
 * [T] / [1, T] (int64 or int32). Entry point: kw_ctc_greedy.
 */
#include <math.h>

#include "core/internal.h"
#include "kaiwu/onnx.h"
#include "kaiwu/vision.h"

/* Index of the best score in p[0..c): the first maximum, and like numpy's
 * argmax the first NaN wins (NaN compares above every number there). */
static int argmax(const float *p, int64_t c) {
    int64_t best = 0;
    for (int64_t i = 0; i < c; i++) {
        if (isnan(p[i]))
            return (int)i;
        if (p[i] > p[best])
            best = i;
    }
    return (int)best;
}

enum kw_status kw_ctc_greedy(const struct kw_onnx_value *out, int blank,
                             int **ids, int *n, char *err, size_t err_size) {
    if (ids)
        *ids = NULL;
    if (n)
        *n = 0;
    if (!out || !ids || !n)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "CTC: NULL argument");
    if (out->kind != KW_ONNX_TENSOR)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "CTC: the model output is not a tensor");
    int dt = out->dtype, r = out->rank;
    for (int d = 0; d < r && d < KW_ONNX_MAX_RANK; d++)
        if (out->dims[d] < 0)
            return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                           "CTC: negative dimension in the output");
    int64_t t_len, c_len = 1, t_stride;
    if (dt == KW_ONNX_FLOAT) {
        /* time step t's scores start at t * t_stride */
        if (r == 2) {
            t_len = out->dims[0];
            c_len = out->dims[1];
            t_stride = c_len;
        } else if (r == 3 && out->dims[1] == 1) {
            t_len = out->dims[0]; /* [T, 1, C]: time major */
            c_len = out->dims[2];
            t_stride = c_len;
        } else if (r == 3) {
            /* [1, T, C], or [B, T, C] of which the first line is read */
            t_len = out->dims[1];
            c_len = out->dims[2];
            t_stride = c_len;
        } else {
            return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                           "CTC: expected scores shaped [T, C], [1, T, C] "
                           "or [T, 1, C], got rank %d", r);
        }
        if (c_len <= 0 && t_len > 0)
            return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                           "CTC: the output has no classes");
        if (c_len > INT32_MAX)
            return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                           "CTC: too many classes (%lld)", (long long)c_len);
    } else if (dt == KW_ONNX_INT64 || dt == KW_ONNX_INT32) {
        if (r == 1)
            t_len = out->dims[0];
        else if (r == 2 && out->dims[0] == 1)
            t_len = out->dims[1];
        else
            return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                           "CTC: expected class ids shaped [T] or [1, T]");
        t_stride = 1;
    } else {
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "CTC: unsupported output type %s",
                       kw_onnx_dtype_name(dt));
    }
    /* The data must hold every element that is read. */
    size_t need = 0, esz = kw_onnx_dtype_size(dt);
    if (t_len > 0 &&
        (!kw__mul_size((size_t)t_len, (size_t)t_stride, &need) ||
         !kw__mul_size(need, esz, &need) || need > out->nbytes || !out->data))
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "CTC: output data smaller than its shape");
    if (t_len > INT32_MAX)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "CTC: too many time steps");
    int *res = malloc((size_t)(t_len > 0 ? t_len : 1) * sizeof *res);
    if (!res)
        return kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                       "CTC: out of memory");
    int m = 0;
    int64_t prev = INT64_MIN;
    for (int64_t t = 0; t < t_len; t++) {
        int64_t id;
        if (dt == KW_ONNX_FLOAT)
            id = argmax((const float *)out->data + t * t_stride, c_len);
        else if (dt == KW_ONNX_INT64)
            id = ((const int64_t *)out->data)[t];
        else
            id = ((const int32_t *)out->data)[t];
        if (id != prev && id != blank) {
            if (id < INT32_MIN || id > INT32_MAX) {
                free(res);
                return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                               "CTC: class id %lld out of range",
                               (long long)id);
            }
            res[m++] = (int)id;
        }
        prev = id;
    }
    *ids = res;
    *n = m;
    return KW_STATUS_OK;
}
