/*
 * cmd_vision.c — `kaiwu classify`, `kaiwu detect` and `kaiwu ocr`: image
 * files in, labels, boxes or text out (text or one JSON line per image).
 * classify uses the library's ImageNet preprocessing; detect and ocr
 * reproduce the resizing of their reference pipelines (ddddocr: OpenCV's
 * fixed-point bilinear for detection, Pillow's Lanczos for text lines)
 * so that boxes and text come out the same. Entry points: cmd_classify,
 * cmd_detect, cmd_ocr.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "json.h"
#include "kaiwu/image.h"
#include "kaiwu/onnx.h"
#include "kaiwu/vision.h"

/* ---- shared ---------------------------------------------------------- */

static struct kw_onnx_model *load_model(const char *path, int64_t threads) {
    struct kw_onnx_options o = {(int)threads};
    struct kw_onnx_model *m = NULL;
    char err[1024] = "";
    enum kw_status st = kw_onnx_load(path, &o, &m, err, sizeof err);
    if (st != KW_STATUS_OK) {
        cli_lib_err(path, err, st);
        return NULL;
    }
    if (kw_onnx_n_inputs(m) < 1 || kw_onnx_n_outputs(m) < 1) {
        cli_err("%s: the model needs an image input and an output", path);
        kw_onnx_free(m);
        return NULL;
    }
    return m;
}

/* The image input's declared [N, C, H, W] (or NHWC) dims; -1 when
 * dynamic or unknown. */
static void input_dims(const struct kw_onnx_model *m, int64_t d[4]) {
    struct kw_onnx_io_info io;
    memset(&io, 0, sizeof io);
    for (int i = 0; i < 4; i++)
        d[i] = -1;
    if (kw_onnx_input_info(m, 0, &io) && io.rank == 4)
        for (int i = 0; i < 4; i++)
            d[i] = io.dims[i] > 0 ? io.dims[i] : -1;
}

/* Runs the model on one input; the first output goes to *out. */
static int run_model(const struct kw_onnx_model *m, struct kw_onnx_value *in,
                     struct kw_onnx_value **out, const char *image) {
    int n_out = kw_onnx_n_outputs(m);
    struct kw_onnx_value **outs = calloc((size_t)n_out, sizeof *outs);
    if (!outs) {
        cli_err("out of memory");
        return 1;
    }
    const struct kw_onnx_value *ins[1] = {in};
    char err[1024] = "";
    enum kw_status st = kw_onnx_run(m, ins, outs, NULL, err, sizeof err);
    if (st != KW_STATUS_OK) {
        cli_lib_err(image, err, st);
        free(outs);
        return 1;
    }
    *out = outs[0];
    for (int i = 1; i < n_out; i++)
        kw_onnx_value_free(outs[i]);
    free(outs);
    if (!*out || (*out)->kind != KW_ONNX_TENSOR) {
        cli_err("%s: the model's first output is not a tensor", image);
        kw_onnx_value_free(*out);
        *out = NULL;
        return 1;
    }
    return 0;
}

static struct kw_image *load_image(const char *path, int channels) {
    struct kw_image *img = NULL;
    char err[1024] = "";
    enum kw_status st = kw_image_load(path, channels, NULL, &img, err,
                                      sizeof err);
    if (st != KW_STATUS_OK) {
        cli_lib_err(path, err, st);
        return NULL;
    }
    return img;
}

/* "a,b,c" or "a" (all channels) into v[0..3). */
static int parse_triple(const char *s, float v[3]) {
    char *end;
    for (int i = 0; i < 3; i++) {
        double x = strtod(s, &end);
        if (end == s || !isfinite(x))
            return -1;
        v[i] = (float)x;
        if (i == 0 && *end == 0) {
            v[1] = v[2] = v[0];
            return 0;
        }
        if (i < 2 && *end != ',')
            return -1;
        s = end + 1;
    }
    return *end == 0 ? 0 : -1;
}

/* Lines of a text file (without "\n" / "\r\n"); *n lines. NULL on error
 * (printed). Empty lines are kept: an OCR charset's blank is one. */
static char **read_lines(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_err("%s: cannot open", path);
        return NULL;
    }
    char **lines = NULL, *line = NULL;
    size_t cap = 0, count = 0, lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = 0;
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = 0;
        if (count == cap) {
            size_t nc = cap ? cap * 2 : 256;
            char **nl = realloc(lines, nc * sizeof *nl);
            if (!nl)
                goto fail;
            lines = nl;
            cap = nc;
        }
        if (!(lines[count] = strdup(line)))
            goto fail;
        count++;
    }
    if (ferror(f))
        goto fail;
    free(line);
    fclose(f);
    *n = count;
    if (!lines)
        lines = calloc(1, sizeof *lines);
    return lines;
fail:
    cli_err("%s: cannot read", path);
    for (size_t i = 0; i < count; i++)
        free(lines[i]);
    free(lines);
    free(line);
    fclose(f);
    return NULL;
}

static void free_lines(char **l, size_t n) {
    for (size_t i = 0; l && i < n; i++)
        free(l[i]);
    free(l);
}

/* cli_parse_alloc for the vision commands, which need -m MODEL, then *need
 * when need is not NULL (need_msg names it), then at least one IMAGE. */
static const char **parse_images(const struct cli_cmd *cmd, int argc,
                                 char **argv, const char *const *model,
                                 const char *const *need, const char *need_msg,
                                 size_t *n_pos, int *rc) {
    const char **pos = cli_parse_alloc(cmd, argc, argv, n_pos, rc);
    if (!pos)
        return NULL;
    const char *miss = !*model ? "missing -m MODEL"
                       : need && !*need ? need_msg
                       : *n_pos == 0 ? "missing IMAGE"
                                     : NULL;
    if (miss) {
        free(pos);
        *rc = cli_usage_err(cmd, "%s", miss);
        return NULL;
    }
    return pos;
}

/* Reads the lines of lines_path (labels, charset; skipped when NULL), then
 * loads the model and reads its input dims into d. NULL after an error
 * (printed), with nothing left to free. */
static struct kw_onnx_model *open_model(const char *model, int64_t threads,
                                        const char *lines_path, char ***lines,
                                        size_t *n_lines, int64_t d[4]) {
    *lines = NULL;
    *n_lines = 0;
    if (lines_path && !(*lines = read_lines(lines_path, n_lines)))
        return NULL;
    struct kw_onnx_model *m = load_model(model, threads);
    if (!m) {
        free_lines(*lines, *n_lines);
        *lines = NULL;
        return NULL;
    }
    input_dims(m, d);
    return m;
}

static int finish(int failed) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_err("error writing output");
        return 1;
    }
    return failed ? 1 : 0;
}

/* ---- classify ---------------------------------------------------------- */

int cmd_classify(int argc, char **argv) {
    const char *model = NULL, *labels_path = NULL, *mean_s = NULL,
               *std_s = NULL;
    int64_t top = 5, threads = 0, resize = 0, crop = 0;
    int json = 0, bgr = 0;
    const struct cli_opt opts[] = {
        {"model", 'm', CLI_STR, &model, 0, 0, "MODEL", "ONNX classifier"},
        {"top", 'k', CLI_INT, &top, 1, 100000, "K",
         "how many classes to show per image (default 5)"},
        {"labels", 0, CLI_STR, &labels_path, 0, 0, "FILE",
         "class names, one per line (default: ImageNet-1k built in)"},
        {"json", 0, CLI_FLAG, &json, 0, 0, NULL,
         "one JSON object per image per line"},
        {"threads", 't', CLI_INT, &threads, 0, 4096, "N",
         "threads (default: all cores)"},
        {"resize", 0, CLI_INT, &resize, 1, 65536, "N",
         "resize the shorter side to N (default 256)"},
        {"crop", 0, CLI_INT, &crop, 1, 65536, "N",
         "centre crop N x N (default 224 or the model's input size)"},
        {"mean", 0, CLI_STR, &mean_s, 0, 0, "A,B,C",
         "per-channel mean of 0..1 pixels (default ImageNet)"},
        {"std", 0, CLI_STR, &std_s, 0, 0, "A,B,C",
         "per-channel std (default ImageNet)"},
        {"bgr", 0, CLI_FLAG, &bgr, 0, 0, NULL, "feed channels as B, G, R"},
    };
    const struct cli_cmd cmd = {
        "classify", "-m MODEL.onnx IMAGE... [options]",
        "Classify images (JPEG, PNG) with an ImageNet-style model: resize, "
        "centre crop, normalise, run, softmax, top K.",
        opts, sizeof opts / sizeof opts[0], (size_t)(argc > 0 ? argc : 1)};
    size_t n_pos = 0;
    int r;
    const char **pos =
        parse_images(&cmd, argc, argv, &model, NULL, NULL, &n_pos, &r);
    if (!pos)
        return r;
    struct kw_preprocess p;
    kw_preprocess_imagenet(&p);
    if ((mean_s && parse_triple(mean_s, p.mean)) ||
        (std_s && parse_triple(std_s, p.std))) {
        free(pos);
        return cli_usage_err(&cmd, "--mean/--std take A,B,C or one number");
    }
    for (int c = 0; c < 3; c++)
        if (!(p.std[c] != 0)) {
            free(pos);
            return cli_usage_err(&cmd, "--std must not be zero");
        }
    p.bgr = bgr;
    size_t n_labels;
    char **labels;
    int64_t d[4];
    struct kw_onnx_model *m =
        open_model(model, threads, labels_path, &labels, &n_labels, d);
    if (!m) {
        free(pos);
        return 1;
    }
    /* Follow the model's declared input: NHWC, one channel, or a fixed
     * size other than 224 (then resize keeps ImageNet's 256:224 ratio). */
    if (d[3] == 3 && d[1] != 3)
        p.nhwc = 1;
    int64_t ch = p.nhwc ? d[3] : d[1], ih = p.nhwc ? d[1] : d[2],
            iw = p.nhwc ? d[2] : d[3];
    if (ch == 1)
        p.channels = 1;
    if (crop) {
        p.crop_w = p.crop_h = (int)crop;
    } else if (ih > 0 && iw > 0) {
        p.crop_w = (int)iw;
        p.crop_h = (int)ih;
    }
    if (resize)
        p.resize_shorter = (int)resize;
    else if (!crop && (p.crop_w != 224 || p.crop_h != 224))
        p.resize_shorter = (int)((p.crop_w > p.crop_h ? p.crop_w : p.crop_h) *
                                 256.0 / 224.0 + 0.5);

    int failed = 0;
    int *idx = malloc((size_t)top * sizeof *idx);
    float *val = malloc((size_t)top * sizeof *val);
    if (!idx || !val) {
        cli_err("out of memory");
        failed = 1;
    }
    for (size_t i = 0; i < n_pos && idx && val; i++) {
        const char *path = pos[i];
        struct kw_image *img = load_image(path, 3);
        if (!img) {
            failed = 1;
            continue;
        }
        struct kw_onnx_value *in = NULL, *out = NULL;
        char err[1024] = "";
        const struct kw_image *const imgs[1] = {img};
        enum kw_status st = kw_image_to_tensor(imgs, 1, &p, &in, NULL, err,
                                               sizeof err);
        kw_image_free(img);
        if (st != KW_STATUS_OK) {
            cli_lib_err(path, err, st);
            failed = 1;
            continue;
        }
        r = run_model(m, in, &out, path);
        kw_onnx_value_free(in);
        if (r) {
            failed = 1;
            continue;
        }
        int64_t n_cls = kw_onnx_numel(out);
        if (out->dtype != KW_ONNX_FLOAT || n_cls <= 0 || n_cls > INT32_MAX ||
            out->nbytes < (size_t)n_cls * sizeof(float) ||
            (out->rank >= 2 && out->dims[0] != 1)) {
            cli_err("%s: expected float scores [1, classes] from the model",
                    path);
            kw_onnx_value_free(out);
            failed = 1;
            continue;
        }
        float *s = out->data;
        kw_scores_to_probs(s, (int)n_cls);
        int k = kw_topk(s, (int)n_cls, (int)top, idx, val);
        char num[32];
        if (json) {
            struct jw w;
            jw_init(&w, stdout);
            jw_obj_begin(&w);
            jw_key(&w, "image"); jw_str(&w, path);
            jw_key(&w, "top");
            jw_arr_begin(&w);
            for (int j = 0; j < k; j++) {
                const char *name = labels
                    ? ((size_t)idx[j] < n_labels ? labels[idx[j]] : NULL)
                    : (n_cls == 1000 ? kw_imagenet_label(idx[j]) : NULL);
                snprintf(num, sizeof num, "%d", idx[j]);
                jw_obj_begin(&w);
                jw_key(&w, "index"); jw_int(&w, idx[j]);
                jw_key(&w, "label"); jw_str(&w, name ? name : num);
                jw_key(&w, "prob"); jw_num(&w, val[j], 6);
                jw_obj_end(&w);
            }
            jw_arr_end(&w);
            jw_obj_end(&w);
            jw_end(&w);
        } else {
            printf("%s\n", path);
            for (int j = 0; j < k; j++) {
                const char *name = labels
                    ? ((size_t)idx[j] < n_labels ? labels[idx[j]] : NULL)
                    : (n_cls == 1000 ? kw_imagenet_label(idx[j]) : NULL);
                printf("  %8.4f  %5d  ", val[j], idx[j]);
                if (name)
                    text_escaped(stdout, name, strlen(name), 0);
                putchar('\n');
            }
        }
        kw_onnx_value_free(out);
    }
    free(idx);
    free(val);
    kw_onnx_free(m);
    free_lines(labels, n_labels);
    free(pos);
    return finish(failed);
}

/* ---- detect ------------------------------------------------------------ */

/* OpenCV's cv::resize(INTER_LINEAR) on 8-bit pixels, bit for bit: source
 * positions from (d + 0.5) * scale - 0.5 in float, weights in 11-bit fixed
 * point, the horizontal pass exact in integers, the vertical pass with the
 * rounding of OpenCV's SIMD code (which also covers row tails), and an
 * exact halving taken as the 2x2 average OpenCV switches to. src and dst
 * are HWC with c channels. */
#define CV_BITS 11
#define CV_ONE (1 << CV_BITS)

static short cv_weight(float f) {
    float v = f * CV_ONE;
    return (short)lrintf(v); /* round half to even, as cvRound */
}

static int cv_resize_linear(const uint8_t *src, int sw, int sh, uint8_t *dst,
                            int dw, int dh, int c) {
    if (sw == 2 * dw && sh == 2 * dh) {
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++)
                for (int k = 0; k < c; k++) {
                    const uint8_t *a = src + ((size_t)(2 * y) * sw + 2 * x) * c + k;
                    const uint8_t *b = a + (size_t)sw * c;
                    dst[((size_t)y * dw + x) * c + k] =
                        (uint8_t)((a[0] + a[c] + b[0] + b[c] + 2) >> 2);
                }
        return 0;
    }
    int *xo = malloc((size_t)dw * sizeof *xo);
    short *xa = malloc((size_t)dw * 2 * sizeof *xa);
    int *rows = malloc((size_t)2 * dw * c * sizeof *rows);
    if (!xo || !xa || !rows) {
        free(xo);
        free(xa);
        free(rows);
        return -1;
    }
    double scale_x = 1.0 / ((double)dw / sw), scale_y = 1.0 / ((double)dh / sh);
    for (int x = 0; x < dw; x++) {
        float fx = (float)((x + 0.5) * scale_x - 0.5);
        int sx = (int)floorf(fx);
        fx -= (float)sx;
        if (sx < 0)
            fx = 0, sx = 0;
        if (sx >= sw - 1)
            fx = 0, sx = sw - 1;
        xo[x] = sx;
        xa[2 * x] = cv_weight(1.0f - fx);
        xa[2 * x + 1] = cv_weight(fx);
    }
    int width = dw * c;
    for (int y = 0; y < dh; y++) {
        float fy = (float)((y + 0.5) * scale_y - 0.5);
        int sy = (int)floorf(fy);
        fy -= (float)sy;
        short b0 = cv_weight(1.0f - fy), b1 = cv_weight(fy);
        for (int t = 0; t < 2; t++) {
            int yy = sy + t;
            yy = yy < 0 ? 0 : yy >= sh ? sh - 1 : yy;
            const uint8_t *s = src + (size_t)yy * sw * c;
            int *row = rows + (size_t)t * width;
            for (int x = 0; x < dw; x++) {
                const uint8_t *p = s + (size_t)xo[x] * c;
                for (int k = 0; k < c; k++)
                    row[x * c + k] = xo[x] + 1 < sw
                        ? p[k] * xa[2 * x] + p[c + k] * xa[2 * x + 1]
                        : p[k] * xa[2 * x];
            }
        }
        uint8_t *o = dst + (size_t)y * width;
        const int *r0 = rows, *r1 = rows + width;
        for (int x = 0; x < width; x++) {
            /* (a >> 4) * b >> 16 per row, then a rounding >> 2 */
            int h0 = (int)(((int64_t)(r0[x] >> 4) * b0) >> 16);
            int h1 = (int)(((int64_t)(r1[x] >> 4) * b1) >> 16);
            int v = (h0 + h1 + 2) >> 2;
            o[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    free(xo);
    free(xa);
    free(rows);
    return 0;
}

/* ddddocr's detector input: scale by r = min(H / h, W / w) to
 * (int)(w * r) x (int)(h * r), place at the top left of an H x W canvas
 * of 114, B, G, R planes of raw 0..255 values. */
static struct kw_onnx_value *det_tensor(const struct kw_image *img, int in_w,
                                        int in_h, struct kw_image_xform *xf,
                                        const char *path) {
    double r = fmin((double)in_h / img->height, (double)in_w / img->width);
    int nw = (int)(img->width * r), nh = (int)(img->height * r);
    if (nw < 1 || nh < 1 || nw > in_w || nh > in_h) {
        cli_err("%s: %dx%d image cannot be scaled to %dx%d", path,
                img->width, img->height, in_w, in_h);
        return NULL;
    }
    uint8_t *px = malloc((size_t)nw * nh * 3);
    int64_t dims[4] = {1, 3, in_h, in_w};
    struct kw_onnx_value *t = kw_onnx_tensor_new(KW_ONNX_FLOAT, 4, dims);
    if (!px || !t || cv_resize_linear(img->data, img->width, img->height, px,
                                      nw, nh, 3)) {
        cli_err("out of memory");
        free(px);
        kw_onnx_value_free(t);
        return NULL;
    }
    float *f = t->data;
    size_t plane = (size_t)in_w * in_h;
    for (int c = 0; c < 3; c++) {
        float *pl = f + (size_t)c * plane;
        for (size_t i = 0; i < plane; i++)
            pl[i] = 114.0f;
        for (int y = 0; y < nh; y++)
            for (int x = 0; x < nw; x++)
                pl[(size_t)y * in_w + x] =
                    (float)px[((size_t)y * nw + x) * 3 + (2 - c)];
    }
    free(px);
    xf->sx = xf->sy = (float)r;
    xf->dx = xf->dy = 0;
    return t;
}

/* A box corner in whole pixels of the original image, clipped to it the
 * way ddddocr reports its boxes (truncation toward zero). */
static int to_pixel(float v, int limit) {
    if (!(v > 0))
        return 0; /* negative or NaN */
    if (v > (float)limit)
        return limit;
    return (int)v;
}

int cmd_detect(int argc, char **argv) {
    const char *model = NULL;
    int64_t threads = 0;
    double score = 0.1, iou = 0.45;
    int json = 0;
    const struct cli_opt opts[] = {
        {"model", 'm', CLI_STR, &model, 0, 0, "MODEL", "ONNX YOLOX detector"},
        {"json", 0, CLI_FLAG, &json, 0, 0, NULL,
         "one JSON object per image per line"},
        {"score", 0, CLI_NUM, &score, 0, 1, "T",
         "keep boxes scoring above T (default 0.1)"},
        {"iou", 0, CLI_NUM, &iou, 0, 1, "T",
         "suppress boxes overlapping a better one by more than T (0.45)"},
        {"threads", 't', CLI_INT, &threads, 0, 4096, "N",
         "threads (default: all cores)"},
    };
    const struct cli_cmd cmd = {
        "detect", "-m MODEL.onnx IMAGE... [options]",
        "Detect objects with a YOLOX model (strides 8, 16, 32), the way "
        "ddddocr's detector does: boxes in pixels of the original image.",
        opts, sizeof opts / sizeof opts[0], (size_t)(argc > 0 ? argc : 1)};
    size_t n_pos = 0;
    int r;
    const char **pos =
        parse_images(&cmd, argc, argv, &model, NULL, NULL, &n_pos, &r);
    if (!pos)
        return r;
    struct kw_onnx_model *m = load_model(model, threads);
    if (!m) {
        free(pos);
        return 1;
    }
    int64_t d[4];
    input_dims(m, d);
    int in_h = d[2] > 0 && d[2] <= 8192 ? (int)d[2] : 416;
    int in_w = d[3] > 0 && d[3] <= 8192 ? (int)d[3] : 416;
    static const int strides[3] = {8, 16, 32};
    /* NMS runs after the boxes are scaled back to the original image, as
     * in the reference: the decoder keeps every box (threshold 1). */
    struct kw_yolox_options yo = {in_w, in_h, strides, 3, (float)score, 1.0f,
                                  1};
    int failed = 0;
    for (size_t i = 0; i < n_pos; i++) {
        const char *path = pos[i];
        struct kw_image *img = load_image(path, 3);
        if (!img) {
            failed = 1;
            continue;
        }
        struct kw_image_xform xf;
        struct kw_onnx_value *in = det_tensor(img, in_w, in_h, &xf, path);
        int iw = img->width, ih = img->height;
        kw_image_free(img);
        struct kw_onnx_value *out = NULL;
        if (!in || run_model(m, in, &out, path)) {
            kw_onnx_value_free(in);
            failed = 1;
            continue;
        }
        kw_onnx_value_free(in);
        struct kw_box *b = NULL;
        int n = 0;
        char err[1024] = "";
        enum kw_status st = kw_yolox_decode(out, &yo, &b, &n, err, sizeof err);
        kw_onnx_value_free(out);
        if (st != KW_STATUS_OK) {
            cli_lib_err(path, err, st);
            failed = 1;
            continue;
        }
        for (int j = 0; j < n; j++) {
            b[j].x1 = (b[j].x1 - xf.dx) / xf.sx;
            b[j].x2 = (b[j].x2 - xf.dx) / xf.sx;
            b[j].y1 = (b[j].y1 - xf.dy) / xf.sy;
            b[j].y2 = (b[j].y2 - xf.dy) / xf.sy;
        }
        n = kw_nms(b, n, (float)iou, 1);
        struct jw w;
        if (json) {
            jw_init(&w, stdout);
            jw_obj_begin(&w);
            jw_key(&w, "image"); jw_str(&w, path);
            jw_key(&w, "boxes");
            jw_arr_begin(&w);
        } else {
            printf("%s: %d box%s\n", path, n, n == 1 ? "" : "es");
        }
        for (int j = 0; j < n; j++) {
            int x1 = to_pixel(b[j].x1, iw), y1 = to_pixel(b[j].y1, ih);
            int x2 = to_pixel(b[j].x2, iw), y2 = to_pixel(b[j].y2, ih);
            if (json) {
                jw_obj_begin(&w);
                jw_key(&w, "x1"); jw_int(&w, x1);
                jw_key(&w, "y1"); jw_int(&w, y1);
                jw_key(&w, "x2"); jw_int(&w, x2);
                jw_key(&w, "y2"); jw_int(&w, y2);
                jw_key(&w, "score"); jw_num(&w, b[j].score, 6);
                jw_key(&w, "class"); jw_int(&w, b[j].cls);
                jw_obj_end(&w);
            } else {
                printf("  %5d %5d %5d %5d  %.4f  class %d\n", x1, y1, x2, y2,
                       b[j].score, b[j].cls);
            }
        }
        if (json) {
            jw_arr_end(&w);
            jw_obj_end(&w);
            jw_end(&w);
        }
        free(b);
    }
    kw_onnx_free(m);
    free(pos);
    return finish(failed);
}

/* ---- ocr --------------------------------------------------------------- */

/* Pillow's Image.resize(LANCZOS) on 8-bit pixels, bit for bit: per output
 * pixel a window of the a = 3 Lanczos kernel widened by the scale when
 * shrinking, weights normalised then rounded to 22-bit fixed point,
 * horizontal pass first, each pass rounded and clipped to 8 bits. */
#define PIL_BITS 22
#define PI_D 3.14159265358979323846

static double lanczos3(double x) {
    if (!(x >= -3.0 && x < 3.0))
        return 0.0;
    double s1 = x == 0.0 ? 1.0 : sin(x * PI_D) / (x * PI_D);
    double x3 = x / 3.0;
    double s3 = x3 == 0.0 ? 1.0 : sin(x3 * PI_D) / (x3 * PI_D);
    return s1 * s3;
}

struct pil_taps {
    int ksize;
    int *lo, *cnt; /* first source index and tap count per output */
    int32_t *k;    /* [out][ksize] fixed-point weights */
};

static void pil_taps_free(struct pil_taps *t) {
    free(t->lo);
    free(t->cnt);
    free(t->k);
}

static int pil_taps(int in, int out, struct pil_taps *t) {
    memset(t, 0, sizeof *t);
    double scale = (double)in / out, fscale = scale < 1.0 ? 1.0 : scale;
    double support = 3.0 * fscale, inv = 1.0 / fscale;
    t->ksize = (int)ceil(support) * 2 + 1;
    t->lo = malloc((size_t)out * sizeof *t->lo);
    t->cnt = malloc((size_t)out * sizeof *t->cnt);
    t->k = calloc((size_t)out * t->ksize, sizeof *t->k);
    double *w = malloc((size_t)t->ksize * sizeof *w);
    if (!t->lo || !t->cnt || !t->k || !w) {
        free(w);
        pil_taps_free(t);
        return -1;
    }
    for (int o = 0; o < out; o++) {
        double center = (o + 0.5) * scale, sum = 0.0;
        int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
        if (lo < 0)
            lo = 0;
        if (hi > in)
            hi = in;
        int n = hi - lo;
        if (n > t->ksize)
            n = t->ksize;
        for (int j = 0; j < n; j++) {
            w[j] = lanczos3((j + lo - center + 0.5) * inv);
            sum += w[j];
        }
        for (int j = 0; j < n; j++) {
            double v = sum != 0.0 ? w[j] / sum : w[j];
            v *= (double)(1 << PIL_BITS);
            t->k[(size_t)o * t->ksize + j] = (int32_t)(v < 0 ? v - 0.5 : v + 0.5);
        }
        t->lo[o] = lo;
        t->cnt[o] = n;
    }
    free(w);
    return 0;
}

static uint8_t pil_clip(int64_t v) {
    v >>= PIL_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* src HWC with c channels, sw x sh, to dst dw x dh. */
static int pil_resize_lanczos(const uint8_t *src, int sw, int sh,
                              uint8_t *dst, int dw, int dh, int c) {
    struct pil_taps th, tv;
    int need_h = dw != sw, need_v = dh != sh;
    if (!need_h && !need_v) {
        memcpy(dst, src, (size_t)sw * sh * c);
        return 0;
    }
    uint8_t *mid = need_h && need_v ? malloc((size_t)dw * sh * c) : NULL;
    if (need_h && need_v && !mid)
        return -1;
    if (need_h) {
        if (pil_taps(sw, dw, &th)) {
            free(mid);
            return -1;
        }
        uint8_t *o = need_v ? mid : dst;
        for (int y = 0; y < sh; y++)
            for (int x = 0; x < dw; x++) {
                const int32_t *k = th.k + (size_t)x * th.ksize;
                const uint8_t *s = src + ((size_t)y * sw + th.lo[x]) * c;
                for (int ch = 0; ch < c; ch++) {
                    int64_t acc = 1 << (PIL_BITS - 1);
                    for (int j = 0; j < th.cnt[x]; j++)
                        acc += (int64_t)s[(size_t)j * c + ch] * k[j];
                    o[((size_t)y * dw + x) * c + ch] = pil_clip(acc);
                }
            }
        pil_taps_free(&th);
    }
    if (need_v) {
        const uint8_t *s0 = need_h ? mid : src;
        if (pil_taps(sh, dh, &tv)) {
            free(mid);
            return -1;
        }
        for (int y = 0; y < dh; y++) {
            const int32_t *k = tv.k + (size_t)y * tv.ksize;
            for (int x = 0; x < dw; x++)
                for (int ch = 0; ch < c; ch++) {
                    int64_t acc = 1 << (PIL_BITS - 1);
                    for (int j = 0; j < tv.cnt[y]; j++)
                        acc += (int64_t)s0[((size_t)(tv.lo[y] + j) * dw + x) * c + ch] *
                               k[j];
                    dst[((size_t)y * dw + x) * c + ch] = pil_clip(acc);
                }
        }
        pil_taps_free(&tv);
    }
    free(mid);
    return 0;
}

/* ddddocr's text-line input: height H, width (int)(w * (H / h)), Lanczos
 * on the image as stored (gray, RGB, or RGBA premultiplied by alpha for
 * the resize and divided again after it, as Pillow does), then Pillow's
 * luma (299, 587, 114 per mille in 16-bit fixed point; alpha ignored),
 * then / 255: a [1, 1, H, W] tensor. */
static struct kw_onnx_value *ocr_tensor(struct kw_image *img, int th,
                                        const char *path) {
    double tw_d = img->width * ((double)th / img->height);
    int c = img->channels;
    if (!(tw_d >= 1.0) || tw_d > 16384.0 || c < 1 || c > 4 || c == 2) {
        cli_err("%s: a %dx%d image cannot become a text line of height %d",
                path, img->width, img->height, th);
        return NULL;
    }
    int tw = (int)tw_d;
    size_t n_in = (size_t)img->width * img->height, n_out = (size_t)tw * th;
    if (c == 4) /* RGBA -> RGBa: channel * alpha / 255, rounded */
        for (size_t i = 0; i < n_in; i++) {
            uint8_t *p = img->data + i * 4;
            for (int k = 0; k < 3; k++) {
                unsigned t = (unsigned)p[k] * p[3] + 128;
                p[k] = (uint8_t)(((t >> 8) + t) >> 8);
            }
        }
    uint8_t *px = malloc(n_out * c);
    int64_t dims[4] = {1, 1, th, tw};
    struct kw_onnx_value *t = kw_onnx_tensor_new(KW_ONNX_FLOAT, 4, dims);
    if (!px || !t || pil_resize_lanczos(img->data, img->width, img->height,
                                        px, tw, th, c)) {
        cli_err("out of memory");
        free(px);
        kw_onnx_value_free(t);
        return NULL;
    }
    float *f = t->data;
    for (size_t i = 0; i < n_out; i++) {
        uint8_t *p = px + i * c;
        uint32_t l;
        if (c == 1) {
            l = p[0];
        } else {
            if (c == 4 && p[3] != 0 && p[3] != 255) /* RGBa -> RGBA */
                for (int k = 0; k < 3; k++) {
                    unsigned v = 255u * p[k] / p[3];
                    p[k] = (uint8_t)(v > 255 ? 255 : v);
                }
            l = ((uint32_t)p[0] * 19595 + (uint32_t)p[1] * 38470 +
                 (uint32_t)p[2] * 7471 + 0x8000) >> 16;
        }
        f[i] = (float)l / 255.0f;
    }
    free(px);
    return t;
}

int cmd_ocr(int argc, char **argv) {
    const char *model = NULL, *charset_path = NULL;
    int64_t threads = 0, blank = 0;
    int json = 0;
    const struct cli_opt opts[] = {
        {"model", 'm', CLI_STR, &model, 0, 0, "MODEL",
         "ONNX text-line recogniser (CTC)"},
        {"charset", 'c', CLI_STR, &charset_path, 0, 0, "FILE",
         "symbols, one per line, in the model's class order"},
        {"json", 0, CLI_FLAG, &json, 0, 0, NULL,
         "one JSON object per image per line"},
        {"blank", 0, CLI_INT, &blank, -1, 1000000, "N",
         "the CTC blank class (default 0; -1: none)"},
        {"threads", 't', CLI_INT, &threads, 0, 4096, "N",
         "threads (default: all cores)"},
    };
    const struct cli_cmd cmd = {
        "ocr", "-m MODEL.onnx IMAGE... --charset FILE [options]",
        "Read the text line in each image the way ddddocr does: scale to "
        "the model's height, gray, run, greedy CTC.",
        opts, sizeof opts / sizeof opts[0], (size_t)(argc > 0 ? argc : 1)};
    size_t n_pos = 0;
    int r;
    const char **pos = parse_images(&cmd, argc, argv, &model, &charset_path,
                                    "missing --charset FILE", &n_pos, &r);
    if (!pos)
        return r;
    size_t n_sym;
    char **sym;
    int64_t d[4];
    struct kw_onnx_model *m =
        open_model(model, threads, charset_path, &sym, &n_sym, d);
    if (!m) {
        free(pos);
        return 1;
    }
    int th = d[2] > 0 && d[2] <= 4096 ? (int)d[2] : 64;
    if (d[1] > 1) {
        cli_err("%s: expected a one-channel [1, 1, H, W] text-line input",
                model);
        kw_onnx_free(m);
        free_lines(sym, n_sym);
        free(pos);
        return 1;
    }
    int failed = 0, warned = 0;
    for (size_t i = 0; i < n_pos; i++) {
        const char *path = pos[i];
        struct kw_image *img = load_image(path, 0);
        if (!img) {
            failed = 1;
            continue;
        }
        struct kw_onnx_value *in = ocr_tensor(img, th, path), *out = NULL;
        kw_image_free(img);
        if (!in || run_model(m, in, &out, path)) {
            kw_onnx_value_free(in);
            failed = 1;
            continue;
        }
        kw_onnx_value_free(in);
        int64_t classes = out->rank >= 1 ? out->dims[out->rank - 1] : 0;
        if (!warned && out->dtype == KW_ONNX_FLOAT &&
            (size_t)classes != n_sym) {
            fprintf(stderr, "kaiwu: warning: the model has %lld classes, "
                    "the charset %zu symbols\n", (long long)classes, n_sym);
            warned = 1;
        }
        int *ids = NULL, n = 0;
        char err[1024] = "";
        enum kw_status st = kw_ctc_greedy(out, (int)blank, &ids, &n, err,
                                          sizeof err);
        kw_onnx_value_free(out);
        if (st != KW_STATUS_OK) {
            cli_lib_err(path, err, st);
            failed = 1;
            continue;
        }
        /* ids outside the charset are dropped, as ddddocr does */
        size_t len = 0;
        for (int j = 0; j < n; j++)
            if (ids[j] >= 0 && (size_t)ids[j] < n_sym)
                len += strlen(sym[ids[j]]);
        char *text = malloc(len + 1);
        if (!text) {
            cli_err("out of memory");
            free(ids);
            failed = 1;
            continue;
        }
        len = 0;
        for (int j = 0; j < n; j++)
            if (ids[j] >= 0 && (size_t)ids[j] < n_sym) {
                size_t l = strlen(sym[ids[j]]);
                memcpy(text + len, sym[ids[j]], l);
                len += l;
            }
        text[len] = 0;
        free(ids);
        if (json) {
            struct jw w;
            jw_init(&w, stdout);
            jw_obj_begin(&w);
            jw_key(&w, "image"); jw_str(&w, path);
            jw_key(&w, "text"); jw_strn(&w, text, len);
            jw_obj_end(&w);
            jw_end(&w);
        } else {
            if (n_pos > 1)
                printf("%s: ", path);
            text_escaped(stdout, text, len, 0);
            putchar('\n');
        }
        free(text);
    }
    kw_onnx_free(m);
    free_lines(sym, n_sym);
    free(pos);
    return finish(failed);
}
