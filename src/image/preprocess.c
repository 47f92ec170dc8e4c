/*
 * preprocess.c — images to a model's float input tensor: the geometry
 * (resize by shorter side / fixed size / letterbox, centre crop), only the
 * kept window resampled, then per-channel normalisation into NCHW or NHWC,
 * with the transform that maps boxes back. Entry points:
 * kw_preprocess_imagenet, kw_image_to_tensor.
 */
#include <math.h>

#include "image/image_internal.h"
#include "kaiwu/onnx.h"

/* Sides beyond 2^24 would lose PIL's float-box exactness and only come
 * from hostile aspect ratios; outputs beyond 64 Mpx are no model input. */
#define KW_PP_MAX_SIDE (1 << 24)
#define KW_PP_MAX_OUT_PIXELS ((int64_t)64 << 20)

void kw_preprocess_imagenet(struct kw_preprocess *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->resize_shorter = 256;
    p->crop_w = p->crop_h = 224;
    p->method = KW_RESIZE_BILINEAR;
    p->scale = 1.0f / 255.0f;
    p->mean[0] = 0.485f, p->mean[1] = 0.456f, p->mean[2] = 0.406f;
    p->std[0] = 0.229f, p->std[1] = 0.224f, p->std[2] = 0.225f;
    p->std[3] = 1.0f;
    p->channels = 3;
}

/* Where one image lands: resized to rw x rh, placed at (dx, dy) on a
 * cw x ch canvas, of which the ow x oh window at (left, top) is kept. */
struct geom {
    int rw, rh, cw, ch, dx, dy, ow, oh, left, top;
};

/* Python's round(d / 2): halves go to the even neighbour, so offsets
 * equal torchvision's CenterCrop. */
static int half_even(int d) { return (int)nearbyint(d / 2.0); }

static int clamp_side(double v, int64_t *out) {
    if (!(v < (double)KW_PP_MAX_SIDE)) return 0;
    *out = v < 1.0 ? 1 : (int64_t)v;
    return 1;
}

static enum kw_status compute_geom(const struct kw_image *img,
                                   const struct kw_preprocess *p, int idx,
                                   struct geom *g, char *err,
                                   size_t err_size) {
    int64_t w = img->width, h = img->height, rw = w, rh = h;
    int64_t cw, ch, dx = 0, dy = 0;
    int ok = 1;
    if (p->resize_shorter > 0) {
        /* torchvision Resize(int): long side truncated */
        int64_t s = p->resize_shorter;
        if (w <= h) rw = s, rh = s * h / w;
        else rh = s, rw = s * w / h;
        ok = rw < KW_PP_MAX_SIDE && rh < KW_PP_MAX_SIDE;
    } else if (p->resize_w > 0 && p->resize_h > 0 && p->letterbox) {
        double r = fmin((double)p->resize_w / (double)w,
                        (double)p->resize_h / (double)h);
        /* YOLOX: int(w * r); never past the canvas */
        rw = KW_MIN((int64_t)(w * r), (int64_t)p->resize_w);
        rh = KW_MIN((int64_t)(h * r), (int64_t)p->resize_h);
        if (rw < 1) rw = 1;
        if (rh < 1) rh = 1;
    } else if (p->resize_w > 0 && p->resize_h > 0) {
        rw = p->resize_w, rh = p->resize_h;
    } else if (p->resize_h > 0) { /* height fixed, width keeps aspect */
        rh = p->resize_h;
        ok = clamp_side((double)w * ((double)p->resize_h / (double)h), &rw);
    } else if (p->resize_w > 0) {
        rw = p->resize_w;
        ok = clamp_side((double)h * ((double)p->resize_w / (double)w), &rh);
    }
    if (!ok)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "image %d: %lldx%lld resizes to an absurd size "
                       "(aspect ratio)", idx, (long long)w, (long long)h);
    cw = rw, ch = rh;
    if (p->letterbox && p->resize_w > 0 && p->resize_h > 0) {
        cw = p->resize_w, ch = p->resize_h;
        if (p->letterbox != 2) { /* 1: centred; 2: top-left (YOLOX) */
            dx = (cw - rw) / 2;
            dy = (ch - rh) / 2;
        }
    }
    g->rw = (int)rw, g->rh = (int)rh, g->cw = (int)cw, g->ch = (int)ch;
    g->dx = (int)dx, g->dy = (int)dy;
    g->ow = p->crop_w > 0 ? p->crop_w : g->cw;
    g->oh = p->crop_h > 0 ? p->crop_h : g->ch;
    g->left = p->crop_w > 0 ? half_even(g->cw - p->crop_w) : 0;
    g->top = p->crop_h > 0 ? half_even(g->ch - p->crop_h) : 0;
    if ((int64_t)g->ow * g->oh > KW_PP_MAX_OUT_PIXELS)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "image %d: output %dx%d is over %lld pixels; set a "
                       "resize or crop",
                       idx, g->ow, g->oh, (long long)KW_PP_MAX_OUT_PIXELS);
    return KW_STATUS_OK;
}

/* Writes image idx of the batch. lut[c][v] is the normalised value of
 * pixel value v in output channel c; pad[c] that of the border. */
static enum kw_status write_image(const struct kw_image *img,
                                  const struct kw_preprocess *p,
                                  const struct geom *g, int C,
                                  float lut[][256], const float *pad,
                                  float *out, char *err, size_t err_size,
                                  int idx) {
    /* the part of the resized image that the kept window shows */
    int x0 = KW_MAX(g->left - g->dx, 0);
    int x1 = KW_MIN(g->left - g->dx + g->ow, g->rw);
    int y0 = KW_MAX(g->top - g->dy, 0);
    int y1 = KW_MIN(g->top - g->dy + g->oh, g->rh);
    struct kw_image *win = NULL;
    if (x1 > x0 && y1 > y0) {
        win = kw__image_resize(img, g->rw, g->rh, x0, y0, x1 - x0, y1 - y0,
                               p->method);
        if (!win)
            return kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                           "image %d: out of memory resizing %dx%d to %dx%d",
                           idx, img->width, img->height, g->rw, g->rh);
    }
    int ci = img->channels;
    size_t plane = (size_t)g->ow * (size_t)g->oh;
    for (int y = 0; y < g->oh; y++) {
        int ry = y + g->top - g->dy;
        for (int x = 0; x < g->ow; x++) {
            int rx = x + g->left - g->dx;
            size_t o = (size_t)y * (size_t)g->ow + (size_t)x;
            float v[3];
            if (win && rx >= x0 && rx < x1 && ry >= y0 && ry < y1) {
                const uint8_t *s =
                    win->data + ((size_t)(ry - y0) * (size_t)win->width +
                                 (size_t)(rx - x0)) * (size_t)ci;
                uint8_t r = s[0], gg = ci == 1 ? s[0] : s[1],
                        b = ci == 1 ? s[0] : s[2];
                if (C == 1) {
                    v[0] = lut[0][ci == 1 ? r : kw__rgb_to_gray(r, gg, b)];
                } else {
                    v[0] = lut[0][p->bgr ? b : r];
                    v[1] = lut[1][gg];
                    v[2] = lut[2][p->bgr ? r : b];
                }
            } else {
                for (int c = 0; c < C; c++) v[c] = pad[c];
            }
            if (p->nhwc)
                for (int c = 0; c < C; c++) out[o * (size_t)C + (size_t)c] = v[c];
            else
                for (int c = 0; c < C; c++) out[(size_t)c * plane + o] = v[c];
        }
    }
    kw_image_free(win);
    return KW_STATUS_OK;
}

enum kw_status kw_image_to_tensor(const struct kw_image *const *imgs, int n,
                                  const struct kw_preprocess *p,
                                  struct kw_onnx_value **out,
                                  struct kw_image_xform *xf, char *err,
                                  size_t err_size) {
    if (out) *out = NULL;
    if (!imgs || n <= 0 || !p || !out)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "image_to_tensor: no images, options or output");
    int C = p->channels ? p->channels : 3;
    if (C != 1 && C != 3)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "preprocess: channels must be 1 or 3 (got %d)",
                       p->channels);
    if (p->method != KW_RESIZE_BILINEAR && p->method != KW_RESIZE_AREA)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "preprocess: unknown resize method %d", (int)p->method);
    if (p->resize_shorter < 0 || p->resize_w < 0 || p->resize_h < 0 ||
        p->crop_w < 0 || p->crop_h < 0 ||
        (p->resize_shorter > 0 && (p->resize_w > 0 || p->resize_h > 0)))
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "preprocess: negative size, or both resize_shorter "
                       "and resize_w/resize_h set");
    struct geom *gs = calloc((size_t)n, sizeof *gs);
    if (!gs)
        return kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                       "image_to_tensor: out of memory");
    enum kw_status st = KW_STATUS_OK;
    for (int i = 0; i < n && st == KW_STATUS_OK; i++) {
        const struct kw_image *im = imgs[i];
        if (!im || !im->data || im->width <= 0 || im->height <= 0 ||
            (im->channels != 1 && im->channels != 3 && im->channels != 4)) {
            st = kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                         "image %d: missing or not 1/3/4-channel 8-bit", i);
            break;
        }
        st = compute_geom(im, p, i, &gs[i], err, err_size);
        if (st == KW_STATUS_OK && i > 0 &&
            (gs[i].ow != gs[0].ow || gs[i].oh != gs[0].oh))
            st = kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                         "image %d comes out %dx%d but image 0 %dx%d; a "
                         "batch needs a fixed resize or a crop",
                         i, gs[i].ow, gs[i].oh, gs[0].ow, gs[0].oh);
    }
    if (st != KW_STATUS_OK) {
        free(gs);
        return st;
    }
    int64_t dims[4] = {n, C, gs[0].oh, gs[0].ow};
    if (p->nhwc) dims[1] = gs[0].oh, dims[2] = gs[0].ow, dims[3] = C;
    int64_t total;
    if (__builtin_mul_overflow((int64_t)n * C, (int64_t)gs[0].oh * gs[0].ow,
                               &total) ||
        total > ((int64_t)1 << 32)) {
        st = kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                     "image_to_tensor: %d images of %dx%d are too many "
                     "values", n, gs[0].ow, gs[0].oh);
        free(gs);
        return st;
    }
    struct kw_onnx_value *t = kw_onnx_tensor_new(KW_ONNX_FLOAT, 4, dims);
    if (!t) {
        free(gs);
        return kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                       "image_to_tensor: out of memory for the tensor");
    }
    /* per output channel: source channel for mean/std follows the output
     * order, so with bgr the caller gives mean/std in B, G, R order */
    float lut[3][256], pad[3];
    float scale = p->scale != 0.0f ? p->scale : 1.0f;
    for (int c = 0; c < C; c++) {
        float sd = p->std[c] != 0.0f ? p->std[c] : 1.0f;
        for (int v = 0; v < 256; v++)
            lut[c][v] = ((float)v * scale - p->mean[c]) / sd;
        pad[c] = (p->pad_value * scale - p->mean[c]) / sd;
    }
    size_t per = (size_t)C * (size_t)gs[0].oh * (size_t)gs[0].ow;
    for (int i = 0; i < n && st == KW_STATUS_OK; i++) {
        st = write_image(imgs[i], p, &gs[i], C, lut, pad,
                         (float *)t->data + (size_t)i * per, err, err_size,
                         i);
        if (xf) {
            xf[i].sx = (float)gs[i].rw / (float)imgs[i]->width;
            xf[i].sy = (float)gs[i].rh / (float)imgs[i]->height;
            xf[i].dx = (float)(gs[i].dx - gs[i].left);
            xf[i].dy = (float)(gs[i].dy - gs[i].top);
        }
    }
    free(gs);
    if (st != KW_STATUS_OK) {
        kw_onnx_value_free(t);
        return st;
    }
    *out = t;
    return KW_STATUS_OK;
}
