/*
 * nn_misc.c — Det (LU with partial pivoting in double), NonMaxSuppression
 * (greedy per batch and class, corner or center boxes) and RoiAlign
 * (bilinear sampling, avg or max, half_pixel or output_half_pixel).
 */
#include "onnx/ops/nn_internal.h"

/* ---- Det ---- */

enum kw_status kw__op_det(struct kw__op_ctx *c) {
    const struct kw_onnx_value *X = kw__in(c, 0);
    if (!kw__is_tensor(X) || !kw__dtype_is_float(X->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "X must be a float tensor");
    if (X->rank < 2 || X->dims[X->rank - 1] != X->dims[X->rank - 2])
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "X must be (..., M, M)");
    const int64_t m = X->dims[X->rank - 1];
    if (m > 2048)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "matrix too large");
    struct kw_onnx_value *Y = kw__out_tensor(c, 0, X->dtype, X->rank - 2,
                                             X->dims);
    if (!Y) return KW_STATUS_ERR_NOMEM;
    const int64_t nb = kw_onnx_numel(Y);
    double *a = malloc((size_t)(m * m + 1) * sizeof(double));
    if (!a) return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    for (int64_t b = 0; b < nb; b++) {
        for (int64_t i = 0; i < m * m; i++) a[i] = kw__get_f64(X, b * m * m + i);
        double det = 1.0;
        for (int64_t col = 0; col < m && det != 0.0; col++) {
            int64_t piv = col;
            for (int64_t r = col + 1; r < m; r++)
                if (fabs(a[r * m + col]) > fabs(a[piv * m + col])) piv = r;
            if (a[piv * m + col] == 0.0) {
                det = 0.0;
                break;
            }
            if (piv != col) {
                for (int64_t k = 0; k < m; k++) {
                    const double t = a[col * m + k];
                    a[col * m + k] = a[piv * m + k];
                    a[piv * m + k] = t;
                }
                det = -det;
            }
            const double d = a[col * m + col];
            det *= d;
            for (int64_t r = col + 1; r < m; r++) {
                const double f = a[r * m + col] / d;
                for (int64_t k = col; k < m; k++) a[r * m + k] -= f * a[col * m + k];
            }
        }
        kw__set_f64(Y, b, det);
    }
    free(a);
    return KW_STATUS_OK;
}

/* ---- NonMaxSuppression ---- */

struct nms_cand {
    float score;
    int64_t box;
};

static int cand_cmp(const void *pa, const void *pb) {
    const struct nms_cand *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->box < b->box ? -1 : a->box > b->box;
}

/* corners (y1, x1, y2, x2) with y1 <= y2, x1 <= x2 */
static void box_corners(const float *b, int center, float out[4]) {
    if (center) {
        out[0] = b[1] - b[3] / 2, out[2] = b[1] + b[3] / 2;
        out[1] = b[0] - b[2] / 2, out[3] = b[0] + b[2] / 2;
    } else {
        out[0] = fminf(b[0], b[2]), out[2] = fmaxf(b[0], b[2]);
        out[1] = fminf(b[1], b[3]), out[3] = fmaxf(b[1], b[3]);
    }
}

static float iou(const float a[4], const float b[4]) {
    const float ih = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
    const float iw = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (ih <= 0 || iw <= 0) return 0.0f;
    const float inter = ih * iw;
    const float ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return ua > 0 ? inter / ua : 0.0f;
}

enum kw_status kw__op_non_max_suppression(struct kw__op_ctx *c) {
    const struct kw_onnx_value *boxes = kw__in(c, 0), *scores = kw__in(c, 1);
    const struct kw_onnx_value *mo = kw__in(c, 2), *it = kw__in(c, 3),
                               *st_v = kw__in(c, 4);
    if (!kw__is_tensor(boxes) || !kw__is_tensor(scores) ||
        boxes->dtype != KW_ONNX_FLOAT || scores->dtype != KW_ONNX_FLOAT)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "boxes and scores must be float tensors");
    if (boxes->rank != 3 || boxes->dims[2] != 4 || scores->rank != 3 ||
        scores->dims[0] != boxes->dims[0] || scores->dims[2] != boxes->dims[1])
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "boxes must be (B, N, 4) and scores (B, C, N)");
    int64_t max_out = 0;
    float iou_th = 0.0f, score_th = 0.0f;
    int has_score_th = 0;
    if (mo && kw_onnx_numel(mo) > 0) max_out = kw__get_i64(mo, 0);
    if (it && kw_onnx_numel(it) > 0) iou_th = (float)kw__get_f64(it, 0);
    if (st_v && kw_onnx_numel(st_v) > 0) {
        score_th = (float)kw__get_f64(st_v, 0);
        has_score_th = 1;
    }
    const int center = kw__attr_i(c, "center_point_box", 0) != 0;
    const int64_t B = boxes->dims[0], N = boxes->dims[1], C = scores->dims[1];
    const float *bx = boxes->data, *sc = scores->data;
    if (max_out < 0) max_out = 0;
    if (max_out > N) max_out = N;
    struct nms_cand *cand = malloc((size_t)(N + 1) * sizeof *cand);
    int64_t *sel = malloc((size_t)(max_out + 1) * sizeof(int64_t));
    int64_t *res = NULL, nres = 0, cap = 0;
    enum kw_status st = KW_STATUS_OK;
    if (!cand || !sel) {
        st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t b = 0; b < B && max_out > 0; b++)
        for (int64_t cl = 0; cl < C; cl++) {
            const float *s = sc + (b * C + cl) * N;
            int64_t nc = 0;
            for (int64_t i = 0; i < N; i++)
                if (s[i] == s[i] && (!has_score_th || s[i] > score_th))
                    cand[nc++] = (struct nms_cand){s[i], i};
            qsort(cand, (size_t)nc, sizeof *cand, cand_cmp);
            int64_t ns = 0;
            for (int64_t i = 0; i < nc && ns < max_out; i++) {
                float bi[4], bj[4];
                box_corners(bx + (b * N + cand[i].box) * 4, center, bi);
                int keep = 1;
                for (int64_t k = 0; k < ns && keep; k++) {
                    box_corners(bx + (b * N + sel[k]) * 4, center, bj);
                    if (iou(bi, bj) > iou_th) keep = 0;
                }
                if (!keep) continue;
                sel[ns++] = cand[i].box;
                if (nres == cap) {
                    cap = cap ? cap * 2 : 64;
                    int64_t *nr = realloc(res, (size_t)cap * 3 * sizeof(int64_t));
                    if (!nr) {
                        st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
                        goto done;
                    }
                    res = nr;
                }
                res[nres * 3] = b;
                res[nres * 3 + 1] = cl;
                res[nres * 3 + 2] = cand[i].box;
                nres++;
            }
        }
    {
        const int64_t d[2] = {nres, 3};
        struct kw_onnx_value *Y = kw__out_tensor(c, 0, KW_ONNX_INT64, 2, d);
        if (!Y)
            st = KW_STATUS_ERR_NOMEM;
        else if (nres)
            memcpy(Y->data, res, (size_t)nres * 3 * sizeof(int64_t));
    }
done:
    free(cand);
    free(sel);
    free(res);
    return st;
}

/* ---- RoiAlign ---- */

struct bil {
    int64_t p[4];
    double w[4];
};

enum kw_status kw__op_roi_align(struct kw__op_ctx *c) {
    const struct kw_onnx_value *X = kw__in(c, 0), *R = kw__in(c, 1),
                               *BI = kw__in(c, 2);
    if (!kw__is_tensor(X) || !kw__is_tensor(R) || !kw__is_tensor(BI) ||
        !kw__dtype_is_float(X->dtype) || !kw__dtype_is_float(R->dtype) ||
        !kw__dtype_is_int(BI->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "needs float X, rois and integer batch_indices");
    if (X->rank != 4 || R->rank != 2 || R->dims[1] != 4 || BI->rank != 1 ||
        BI->dims[0] != R->dims[0])
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "X (N, C, H, W), rois (R, 4), batch_indices (R)");
    const int64_t oh = kw__attr_i(c, "output_height", 1);
    const int64_t ow = kw__attr_i(c, "output_width", 1);
    const int64_t sr = kw__attr_i(c, "sampling_ratio", 0);
    const double scale = kw__attr_f(c, "spatial_scale", 1.0f);
    const int is_max = !strcmp(kw__attr_s(c, "mode", "avg"), "max");
    const int half = !strcmp(kw__attr_s(c, "coordinate_transformation_mode",
                                        c->opset >= 16 ? "half_pixel"
                                                       : "output_half_pixel"),
                             "half_pixel");
    if (oh < 1 || ow < 1 || oh > 65536 || ow > 65536 || sr < 0 || sr > 4096)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "bad output size");
    const int64_t NB = X->dims[0], C = X->dims[1], H = X->dims[2], W = X->dims[3];
    const int64_t nr = R->dims[0];
    const int64_t yd[4] = {nr, C, oh, ow};
    struct kw_onnx_value *Y = kw__out_tensor(c, 0, X->dtype, 4, yd);
    if (!Y) return KW_STATUS_ERR_NOMEM;
    for (int64_t r = 0; r < nr; r++) {
        const int64_t b = kw__get_i64(BI, r);
        if (b < 0 || b >= NB)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "batch index %lld out of range", (long long)b);
        const double off = half ? 0.5 : 0.0;
        const double x0 = kw__get_f64(R, r * 4) * scale - off;
        const double y0 = kw__get_f64(R, r * 4 + 1) * scale - off;
        const double x1 = kw__get_f64(R, r * 4 + 2) * scale - off;
        const double y1 = kw__get_f64(R, r * 4 + 3) * scale - off;
        double rw = x1 - x0, rh = y1 - y0;
        if (!half) {
            rw = fmax(rw, 1.0);
            rh = fmax(rh, 1.0);
        }
        const double bh = rh / (double)oh, bw = rw / (double)ow;
        /* NaN or huge rois must not reach an integer cast */
        double ghd = sr > 0 ? (double)sr : ceil(rh / (double)oh);
        double gwd = sr > 0 ? (double)sr : ceil(rw / (double)ow);
        ghd = ghd >= 0 ? fmin(ghd, 4096.0) : 0.0;
        gwd = gwd >= 0 ? fmin(gwd, 4096.0) : 0.0;
        const int64_t gh = (int64_t)ghd, gw = (int64_t)gwd;
        if (oh * ow * gh * gw > ((int64_t)1 << 26))
            return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                               "too many sampling points");
        const double count = (double)KW_MAX(gh * gw, (int64_t)1);
        struct bil *pc = malloc((size_t)(oh * ow * gh * gw + 1) * sizeof *pc);
        if (!pc) return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        int64_t k = 0;
        for (int64_t ph = 0; ph < oh; ph++)
            for (int64_t pw = 0; pw < ow; pw++)
                for (int64_t iy = 0; iy < gh; iy++) {
                    const double yy = y0 + ph * bh + (iy + 0.5) * bh / (double)gh;
                    for (int64_t ix = 0; ix < gw; ix++, k++) {
                        double xx = x0 + pw * bw + (ix + 0.5) * bw / (double)gw;
                        double y = yy;
                        struct bil *q = &pc[k];
                        memset(q, 0, sizeof *q);
                        if (!(y >= -1.0 && y <= (double)H && xx >= -1.0 &&
                              xx <= (double)W))
                            continue;
                        if (y < 0) y = 0;
                        if (xx < 0) xx = 0;
                        int64_t yl = (int64_t)y, xl = (int64_t)xx, yh, xh;
                        if (yl >= H - 1) {
                            yh = yl = H - 1;
                            y = (double)yl;
                        } else {
                            yh = yl + 1;
                        }
                        if (xl >= W - 1) {
                            xh = xl = W - 1;
                            xx = (double)xl;
                        } else {
                            xh = xl + 1;
                        }
                        const double ly = y - yl, lx = xx - xl;
                        const double hy = 1 - ly, hx = 1 - lx;
                        q->p[0] = yl * W + xl, q->p[1] = yl * W + xh;
                        q->p[2] = yh * W + xl, q->p[3] = yh * W + xh;
                        q->w[0] = hy * hx, q->w[1] = hy * lx;
                        q->w[2] = ly * hx, q->w[3] = ly * lx;
                    }
                }
        for (int64_t ch = 0; ch < C; ch++) {
            const int64_t base = (b * C + ch) * H * W;
            k = 0;
            for (int64_t p = 0; p < oh * ow; p++) {
                double acc = 0.0;
                for (int64_t s = 0; s < gh * gw; s++, k++) {
                    const struct bil *q = &pc[k];
                    if (H == 0 || W == 0) continue;
                    double v[4];
                    for (int t = 0; t < 4; t++)
                        v[t] = q->w[t] * kw__get_f64(X, base + q->p[t]);
                    if (is_max) {
                        const double m = fmax(fmax(v[0], v[1]), fmax(v[2], v[3]));
                        acc = s == 0 ? m : fmax(acc, m);
                    } else {
                        acc += v[0] + v[1] + v[2] + v[3];
                    }
                }
                kw__set_f64(Y, (r * C + ch) * oh * ow + p,
                            is_max ? acc : acc / count);
            }
        }
        free(pc);
    }
    return KW_STATUS_OK;
}
