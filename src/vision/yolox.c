/*
 * yolox.c — YOLOX detection heads: one prediction per grid cell of every
 * stride level, (x, y) offsets in cells and log sizes, objectness and
 * class scores. Decoded to corner boxes in network-input pixels, kept when
 * objectness * best class score passes the threshold (each anchor gives
 * one box, of its best class, as in the YOLOX demo), then NMS. Entry
 * point: kw_yolox_decode.
 */
#include <math.h>

#include "core/internal.h"
#include "kaiwu/onnx.h"
#include "kaiwu/vision.h"

#define MAX_STRIDES 16

enum kw_status kw_yolox_decode(const struct kw_onnx_value *pred,
                               const struct kw_yolox_options *o,
                               struct kw_box **boxes, int *n, char *err,
                               size_t err_size) {
    static const int default_strides[] = {8, 16, 32};
    if (boxes)
        *boxes = NULL;
    if (n)
        *n = 0;
    if (!pred || !o || !boxes || !n)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "YOLOX: NULL argument");
    const int *strides = o->strides ? o->strides : default_strides;
    int n_strides = o->strides ? o->n_strides : 3;
    if (o->in_w <= 0 || o->in_h <= 0 || n_strides <= 0 ||
        n_strides > MAX_STRIDES)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "YOLOX: bad input size %dx%d or stride count %d",
                       o->in_w, o->in_h, n_strides);
    /* Anchors the head must have: one per cell of every level. */
    int64_t want = 0;
    for (int s = 0; s < n_strides; s++) {
        if (strides[s] <= 0)
            return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                           "YOLOX: stride %d is not positive", strides[s]);
        want += (int64_t)(o->in_h / strides[s]) * (o->in_w / strides[s]);
    }
    if (pred->kind != KW_ONNX_TENSOR || pred->dtype != KW_ONNX_FLOAT)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "YOLOX: the prediction is not a float tensor");
    /* [1, N, 5 + C] (or [N, 5 + C]) */
    int r = pred->rank;
    if (!(r == 3 && pred->dims[0] == 1) && r != 2)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "YOLOX: expected a prediction shaped [1, N, 5 + "
                       "classes], got rank %d", r);
    int64_t n_anchor = pred->dims[r - 2], width = pred->dims[r - 1];
    if (width < 6 || width > INT32_MAX)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "YOLOX: %lld values per anchor, need 5 + classes",
                       (long long)width);
    if (n_anchor != want || n_anchor > INT32_MAX)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "YOLOX: %lld anchors, but a %dx%d input with these "
                       "strides has %lld", (long long)n_anchor, o->in_w,
                       o->in_h, (long long)want);
    size_t need = 0;
    if (!kw__mul_size((size_t)n_anchor, (size_t)width, &need) ||
        !kw__mul_size(need, sizeof(float), &need) || need > pred->nbytes ||
        (need && !pred->data))
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "YOLOX: prediction data smaller than its shape");
    int n_cls = (int)(width - 5);
    const float *p = pred->data;

    /* Two passes: count the boxes that pass, then fill them in. */
    struct kw_box *out = NULL;
    int count = 0;
    for (int pass = 0; pass < 2; pass++) {
        int m = 0;
        int64_t a = 0;
        for (int s = 0; s < n_strides; s++) {
            int st = strides[s];
            int gh = o->in_h / st, gw = o->in_w / st;
            for (int gy = 0; gy < gh; gy++) {
                for (int gx = 0; gx < gw; gx++, a++) {
                    const float *v = p + a * width;
                    int best = 0;
                    float bs = v[4] * v[5];
                    for (int c = 1; c < n_cls; c++) {
                        float sc = v[4] * v[5 + c];
                        if (sc > bs || (isnan(sc) && !isnan(bs))) {
                            bs = sc;
                            best = c;
                        }
                    }
                    if (!(bs > o->score_threshold))
                        continue;
                    if (pass == 1) {
                        float cx = (v[0] + (float)gx) * (float)st;
                        float cy = (v[1] + (float)gy) * (float)st;
                        float w = expf(v[2]) * (float)st;
                        float h = expf(v[3]) * (float)st;
                        struct kw_box *b = &out[m];
                        b->x1 = cx - w / 2;
                        b->y1 = cy - h / 2;
                        b->x2 = cx + w / 2;
                        b->y2 = cy + h / 2;
                        b->score = bs;
                        b->cls = best;
                    }
                    m++;
                }
            }
        }
        if (pass == 0) {
            count = m;
            out = malloc((size_t)(count > 0 ? count : 1) * sizeof *out);
            if (!out)
                return kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                               "YOLOX: out of memory for %d boxes", count);
        }
    }
    *n = kw_nms(out, count, o->iou_threshold, o->class_agnostic);
    *boxes = out;
    return KW_STATUS_OK;
}
