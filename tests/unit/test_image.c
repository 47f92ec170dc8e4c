/*
 * test_image.c — image decoding and preprocessing on synthetic images
 * encoded here with libjpeg and libspng: EXIF orientations, CMYK/YCCK,
 * PNG colour types and depths, channel conversions, the resampler against
 * a double-precision reference, crop/letterbox/xform math, batching, and
 * hostile inputs (every truncation, huge declared sizes, flipped bytes).
 */
#include <math.h>
#include <setjmp.h>
#include <unistd.h>
#include <stdio.h>

#include <jpeglib.h>
#include <spng.h>

#include "image/image_internal.h"
#include "kaiwu/image.h"
#include "kaiwu/onnx.h"
#include "testutil.h"

/* ---- encoders ---------------------------------------------------------- */

struct enc_err {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
};
static void enc_error_exit(j_common_ptr c) {
    longjmp(((struct enc_err *)c->err)->jump, 1);
}

/* TIFF/EXIF payload "Exif\0\0" + header + one IFD entry (orientation). */
static size_t make_exif(uint8_t *b, int orientation, int big_endian) {
    memcpy(b, "Exif\0\0", 6);
    uint8_t *t = b + 6;
    int le = !big_endian;
#define W16(p, v) ((p)[le ? 0 : 1] = (uint8_t)(v), (p)[le ? 1 : 0] = (uint8_t)((v) >> 8))
#define W32(p, v)                                                             \
    do {                                                                      \
        for (int i_ = 0; i_ < 4; i_++)                                        \
            (p)[le ? i_ : 3 - i_] = (uint8_t)((uint32_t)(v) >> (8 * i_));     \
    } while (0)
    t[0] = t[1] = le ? 'I' : 'M';
    W16(t + 2, 42);
    W32(t + 4, 8);
    W16(t + 8, 2); /* two entries: an unrelated tag first */
    W16(t + 10, 0x010f); W16(t + 12, 2); W32(t + 14, 4); memcpy(t + 18, "kw\0\0", 4);
    W16(t + 22, 0x0112); W16(t + 24, 3); W32(t + 26, 1);
    W16(t + 30, orientation); W16(t + 32, 0);
    W32(t + 34, 0); /* next IFD */
#undef W16
#undef W32
    return 6 + 38;
}

/* in_cs: JCS_GRAYSCALE (1), JCS_RGB (3), JCS_CMYK (4); jpeg_cs is the
 * stored colour space (JCS_YCCK to store CMYK as YCCK). */
static uint8_t *encode_jpeg(const uint8_t *px, int w, int h, J_COLOR_SPACE in_cs,
                            J_COLOR_SPACE jpeg_cs, int progressive,
                            int orientation, int big_endian, size_t *n) {
    struct jpeg_compress_struct c;
    struct enc_err e;
    unsigned char *out = NULL;
    unsigned long size = 0;
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = enc_error_exit;
    if (setjmp(e.jump)) {
        jpeg_destroy_compress(&c);
        free(out);
        return NULL;
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &size);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = in_cs == JCS_GRAYSCALE ? 1 : in_cs == JCS_CMYK ? 4 : 3;
    c.in_color_space = in_cs;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, jpeg_cs);
    jpeg_set_quality(&c, 100, TRUE);
    for (int i = 0; i < c.num_components; i++) /* 4:4:4 */
        c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    if (orientation) {
        uint8_t ex[64];
        size_t en = make_exif(ex, orientation, big_endian);
        jpeg_write_marker(&c, JPEG_APP0 + 1, ex, (unsigned)en);
    }
    size_t stride = (size_t)w * (size_t)c.input_components;
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(px + c.next_scanline * stride);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *n = size;
    return out;
}

/* PNG of color_type (0 gray, 2 RGB, 3 palette, 4 GA, 6 RGBA) and depth;
 * px holds samples as stored (16-bit big-endian). */
static uint8_t *encode_png(const uint8_t *px, int w, int h, int color_type,
                           int depth, const struct spng_plte *plte,
                           const struct spng_trns *trns, size_t *n) {
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    if (!ctx) return NULL;
    spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    struct spng_ihdr ih = {0};
    ih.width = (uint32_t)w;
    ih.height = (uint32_t)h;
    ih.color_type = (uint8_t)color_type;
    ih.bit_depth = (uint8_t)depth;
    spng_set_ihdr(ctx, &ih);
    if (plte) spng_set_plte(ctx, (struct spng_plte *)plte);
    if (trns) spng_set_trns(ctx, (struct spng_trns *)trns);
    int spp = color_type == 2 ? 3 : color_type == 4 ? 2 : color_type == 6 ? 4 : 1;
    size_t len = (size_t)w * (size_t)h * (size_t)spp * (size_t)(depth / 8 ? depth / 8 : 1);
    if (depth < 8) len = ((size_t)w * (size_t)depth + 7) / 8 * (size_t)h;
    int rc = spng_encode_image(ctx, px, len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    uint8_t *out = NULL;
    if (!rc) {
        int e2 = 0;
        out = spng_get_png_buffer(ctx, n, &e2);
        if (e2) out = NULL;
    } else {
        fprintf(stderr, "png encode: %s\n", spng_strerror(rc));
    }
    spng_ctx_free(ctx);
    return out;
}

static struct kw_image *dec(const uint8_t *b, size_t n, int ch,
                            enum kw_status *st_out) {
    struct kw_image *img = NULL;
    char err[256];
    enum kw_status st = kw_image_decode(b, n, "t.img", ch, NULL, &img, err,
                                        sizeof err);
    if (st_out) *st_out = st;
    if (st != KW_STATUS_OK && !st_out) fprintf(stderr, "decode: %s\n", err);
    return img;
}

/* ---- EXIF orientation -------------------------------------------------- */

/* Reference: PIL's exif_transpose as compositions of two primitives. */
static struct kw_image *flip_lr(const struct kw_image *s) {
    struct kw_image *d = kw__image_new(s->width, s->height, s->channels);
    for (int y = 0; y < s->height; y++)
        for (int x = 0; x < s->width; x++)
            memcpy(d->data + ((size_t)y * s->width + x) * s->channels,
                   s->data + ((size_t)y * s->width + (s->width - 1 - x)) * s->channels,
                   (size_t)s->channels);
    return d;
}
static struct kw_image *rot_ccw(const struct kw_image *s) {
    struct kw_image *d = kw__image_new(s->height, s->width, s->channels);
    for (int y = 0; y < d->height; y++)
        for (int x = 0; x < d->width; x++) /* out(x,y) = in(w-1-y, x) */
            memcpy(d->data + ((size_t)y * d->width + x) * s->channels,
                   s->data + ((size_t)x * s->width + (s->width - 1 - y)) * s->channels,
                   (size_t)s->channels);
    return d;
}
static struct kw_image *apply_ops(const struct kw_image *s, const char *ops) {
    struct kw_image *cur = kw__image_convert(s, s->channels);
    for (const char *o = ops; *o; o++) {
        struct kw_image *nx = *o == 'f' ? flip_lr(cur) : rot_ccw(cur);
        kw_image_free(cur);
        cur = nx;
    }
    return cur;
}

static int max_diff(const struct kw_image *a, const struct kw_image *b) {
    if (a->width != b->width || a->height != b->height ||
        a->channels != b->channels)
        return 999;
    int m = 0;
    size_t n = (size_t)a->width * a->height * a->channels;
    for (size_t i = 0; i < n; i++) m = KW_MAX(m, abs(a->data[i] - b->data[i]));
    return m;
}

static uint8_t *blocks_rgb(int bw, int bh, uint64_t seed) {
    /* 8x8 solid blocks: JPEG at quality 100, 4:4:4 keeps them within +-2 */
    int w = bw * 8, h = bh * 8;
    uint8_t *px = malloc((size_t)w * h * 3);
    uint8_t col[64][3];
    for (int i = 0; i < bw * bh; i++)
        for (int c = 0; c < 3; c++) col[i][c] = (uint8_t)(kw_test_rand(&seed) >> 56);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(px + ((size_t)y * w + x) * 3, col[(y / 8) * bw + x / 8], 3);
    return px;
}

static void test_orientation(void) {
    /* ops per orientation: f = flip left-right, r = rotate 90 ccw */
    static const char *ops[9] = {"", "", "f", "rr", "rrf", "fr", "rrr", "frrr", "r"};
    int w = 24, h = 16;
    uint8_t *px = blocks_rgb(3, 2, 7);
    struct kw_image base = {w, h, 3, px};
    for (int o = 1; o <= 8; o++) {
        for (int be = 0; be < 2; be++) {
            size_t n;
            uint8_t *j = encode_jpeg(px, w, h, JCS_RGB, JCS_YCbCr, o == 3, o, be, &n);
            CHECK(j != NULL);
            struct kw_image *img = dec(j, n, 0, NULL);
            struct kw_image *want = apply_ops(&base, ops[o]);
            CHECKF(img && max_diff(img, want) <= 3, "orientation %d be %d", o, be);
            kw_image_free(img);
            kw_image_free(want);
            free(j);
        }
    }
    /* the parser itself: every prefix of a valid payload, junk, LONG type */
    uint8_t ex[64];
    size_t en = make_exif(ex, 6, 0);
    CHECK(kw__exif_orientation(ex + 6, en - 6) == 6);
    for (size_t k = 0; k < en - 6; k++) {
        int o = kw__exif_orientation(ex + 6, k);
        CHECK(o == 1 || (o == 6 && k >= 34));
    }
    make_exif(ex, 9, 1);
    CHECK(kw__exif_orientation(ex + 6, en - 6) == 1); /* out of range */
    make_exif(ex, 8, 1);
    CHECK(kw__exif_orientation(ex + 6, en - 6) == 8);
    ex[6 + 7] = 0xf0; /* IFD offset far past the end */
    CHECK(kw__exif_orientation(ex + 6, en - 6) == 1);
    make_exif(ex, 3, 0);
    ex[6 + 24] = 4; /* type LONG, value 3 */
    ex[6 + 30] = 3, ex[6 + 31] = ex[6 + 32] = ex[6 + 33] = 0;
    CHECK(kw__exif_orientation(ex + 6, en - 6) == 3);
    ex[6 + 8] = 0xff, ex[6 + 9] = 0xff; /* 65535 entries claimed */
    CHECK(kw__exif_orientation(ex + 6, en - 6) == 1 ||
          kw__exif_orientation(ex + 6, en - 6) == 3);
    CHECK(kw__exif_orientation(NULL, 0) == 1);
    free(px);
}

/* ---- colour spaces and PNG variants ------------------------------------ */

static void test_formats(void) {
    int w = 16, h = 8;
    /* CMYK stored the Adobe way (inverted): cyan | magenta */
    uint8_t cmyk[16 * 8 * 4];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = cmyk + ((size_t)y * w + x) * 4;
            uint8_t ink[4] = {x < 8 ? 255 : 0, x < 8 ? 0 : 255, 0, y < 4 ? 0 : 128};
            for (int c = 0; c < 4; c++) p[c] = (uint8_t)(255 - ink[c]);
        }
    J_COLOR_SPACE spaces[2] = {JCS_CMYK, JCS_YCCK};
    for (int s = 0; s < 2; s++) {
        size_t n;
        uint8_t *j = encode_jpeg(cmyk, w, h, JCS_CMYK, spaces[s], 0, 0, 0, &n);
        struct kw_image *img = dec(j, n, 0, NULL);
        CHECK(img && img->channels == 3);
        if (img) {
            const uint8_t *c0 = img->data, *c1 = img->data + 12 * 3;
            const uint8_t *c2 = img->data + (6 * 16 + 2) * 3;
            /* cyan (0,255,255), magenta (255,0,255), 50% black on cyan */
            CHECKF(c0[0] <= 3 && c0[1] >= 252 && c0[2] >= 252, "cmyk s%d cyan %d,%d,%d", s, c0[0], c0[1], c0[2]);
            CHECKF(c1[0] >= 252 && c1[1] <= 3 && c1[2] >= 252, "cmyk s%d magenta", s);
            CHECKF(c2[0] <= 3 && abs(c2[1] - 127) <= 3, "cmyk s%d k", s);
        }
        kw_image_free(img);
        free(j);
    }
    /* gray JPEG: stored 1 channel, converted on request */
    uint8_t gray[16 * 8];
    for (int i = 0; i < w * h; i++) gray[i] = (uint8_t)(i * 2);
    size_t n;
    uint8_t *j = encode_jpeg(gray, w, h, JCS_GRAYSCALE, JCS_GRAYSCALE, 1, 0, 0, &n);
    struct kw_image *img = dec(j, n, 0, NULL);
    CHECK(img && img->channels == 1 && abs(img->data[37] - 74) <= 2);
    kw_image_free(img);
    img = dec(j, n, 3, NULL);
    CHECK(img && img->channels == 3 && img->data[37 * 3] == img->data[37 * 3 + 2]);
    kw_image_free(img);
    free(j);

    /* PNG: 8-bit gray, 1-bit gray, 16-bit RGB, palette + tRNS, GA, RGBA */
    uint8_t *p;
    p = encode_png(gray, w, h, 0, 8, NULL, NULL, &n);
    img = dec(p, n, 0, NULL);
    CHECK(img && img->channels == 1 && memcmp(img->data, gray, sizeof gray) == 0);
    kw_image_free(img);
    free(p);

    uint8_t bits[2 * 8]; /* 16 px per row, 1 bit each: alternate bytes */
    for (int i = 0; i < 16; i++) bits[i] = i % 2 ? 0x0f : 0xf0;
    p = encode_png(bits, w, h, 0, 1, NULL, NULL, &n);
    img = dec(p, n, 0, NULL);
    CHECK(img && img->channels == 1 && img->data[0] == 255 && img->data[4] == 0 &&
          img->data[8] == 0 && img->data[12] == 255);
    kw_image_free(img);
    free(p);

    uint16_t rgb16[16 * 8 * 3]; /* spng takes 16-bit samples host-endian */
    for (int i = 0; i < w * h * 3; i++) rgb16[i] = (uint16_t)(i * 397);
    p = encode_png((const uint8_t *)rgb16, w, h, 2, 16, NULL, NULL, &n);
    img = dec(p, n, 0, NULL);
    CHECK(img && img->channels == 3);
    int ok16 = img != NULL; /* 16 -> 8 keeps the high byte, as PIL */
    for (int i = 0; img && i < w * h * 3; i++) ok16 &= img->data[i] == rgb16[i] >> 8;
    CHECK(ok16);
    kw_image_free(img);
    free(p);

    struct spng_plte plte = {0};
    plte.n_entries = 4;
    for (int i = 0; i < 4; i++) {
        plte.entries[i].red = (uint8_t)(i * 80);
        plte.entries[i].green = (uint8_t)(255 - i * 80);
        plte.entries[i].blue = 7;
    }
    uint8_t idx[16 * 8];
    for (int i = 0; i < w * h; i++) idx[i] = (uint8_t)(i % 4);
    p = encode_png(idx, w, h, 3, 8, &plte, NULL, &n);
    img = dec(p, n, 0, NULL);
    CHECK(img && img->channels == 3 && img->data[3 * 5] == 80 &&
          img->data[3 * 5 + 1] == 175 && img->data[3 * 5 + 2] == 7);
    kw_image_free(img);
    free(p);
    struct spng_trns trns = {0};
    trns.n_type3_entries = 2;
    trns.type3_alpha[0] = 0;
    trns.type3_alpha[1] = 128;
    p = encode_png(idx, w, h, 3, 8, &plte, &trns, &n);
    img = dec(p, n, 0, NULL);
    CHECK(img && img->channels == 4 && img->data[3] == 0 && img->data[7] == 128 &&
          img->data[11] == 255);
    kw_image_free(img);
    img = dec(p, n, 1, NULL); /* gray drops alpha */
    CHECK(img && img->channels == 1 && img->data[1] == kw__rgb_to_gray(80, 175, 7));
    kw_image_free(img);
    free(p);

    uint8_t ga[16 * 8 * 2];
    for (int i = 0; i < w * h; i++) ga[2 * i] = (uint8_t)i, ga[2 * i + 1] = 200;
    p = encode_png(ga, w, h, 4, 8, NULL, NULL, &n);
    img = dec(p, n, 0, NULL);
    CHECK(img && img->channels == 4 && img->data[4 * 9] == 9 && img->data[4 * 9 + 2] == 9 &&
          img->data[4 * 9 + 3] == 200);
    kw_image_free(img);
    free(p);
}

/* ---- channel conversions ------------------------------------------------ */

static void test_convert(void) {
    uint8_t rgba[3 * 4] = {255, 0, 0, 10, 0, 255, 0, 20, 12, 34, 56, 30};
    struct kw_image s4 = {3, 1, 4, rgba};
    struct kw_image *g = kw__image_convert(&s4, 1);
    /* PIL: L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16 */
    CHECK(g && g->data[0] == 76 && g->data[1] == 150 &&
          g->data[2] == (uint8_t)((12 * 19595 + 34 * 38470 + 56 * 7471 + 0x8000) >> 16));
    struct kw_image *c3 = kw__image_convert(&s4, 3);
    CHECK(c3 && c3->data[0] == 255 && c3->data[5] == 0 && c3->data[8] == 56);
    struct kw_image *back = kw__image_convert(c3, 4);
    CHECK(back && back->data[3] == 255 && back->data[8] == 12);
    struct kw_image *g3 = kw__image_convert(g, 3);
    CHECK(g3 && g3->data[3] == 150 && g3->data[4] == 150 && g3->data[5] == 150);
    struct kw_image *g4 = kw__image_convert(g, 4);
    CHECK(g4 && g4->data[4] == 150 && g4->data[7] == 255);
    struct kw_image *g1 = kw__image_convert(g3, 1);
    CHECK(g1 && g1->data[1] == 150);
    kw_image_free(g);
    kw_image_free(c3);
    kw_image_free(back);
    kw_image_free(g3);
    kw_image_free(g4);
    kw_image_free(g1);
}

/* ---- resampling ---------------------------------------------------------- */

/* Straightforward double-precision antialiased resample (one output
 * pixel at a time, both axes in floating point, no 8-bit intermediate). */
static double ref_weight(int area, double x) {
    if (area) return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
    x = fabs(x);
    return x < 1 ? 1 - x : 0;
}
static void ref_axis(int in, int out, int o, int area, double *wts) {
    double scale = (double)in / out, fs = scale > 1 ? scale : 1;
    double c = (o + 0.5) * scale, sum = 0;
    for (int i = 0; i < in; i++) sum += wts[i] = ref_weight(area, (i + 0.5 - c) / fs);
    for (int i = 0; i < in; i++) wts[i] /= sum;
}
static struct kw_image *ref_resize(const struct kw_image *s, int ow, int oh, int area) {
    struct kw_image *d = kw__image_new(ow, oh, s->channels);
    double *wx = malloc(sizeof(double) * (size_t)s->width);
    double *wy = malloc(sizeof(double) * (size_t)s->height);
    for (int y = 0; y < oh; y++) {
        ref_axis(s->height, oh, y, area, wy);
        for (int x = 0; x < ow; x++) {
            ref_axis(s->width, ow, x, area, wx);
            for (int c = 0; c < s->channels; c++) {
                double acc = 0;
                for (int yy = 0; yy < s->height; yy++) {
                    if (wy[yy] == 0) continue;
                    double row = 0;
                    for (int xx = 0; xx < s->width; xx++)
                        row += wx[xx] * s->data[((size_t)yy * s->width + xx) * s->channels + c];
                    acc += wy[yy] * row;
                }
                d->data[((size_t)y * ow + x) * s->channels + c] =
                    (uint8_t)fmin(255, fmax(0, floor(acc + 0.5)));
            }
        }
    }
    free(wx);
    free(wy);
    return d;
}

static struct kw_image *rand_image(int w, int h, int c, uint64_t *seed) {
    struct kw_image *im = kw__image_new(w, h, c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) /* gradient + noise + an edge */
                im->data[((size_t)y * w + x) * c + k] = (uint8_t)KW_MIN(
                    255, (x * 200 / w) + (int)(kw_test_rand(seed) >> 59) +
                             (y > h / 2 ? 40 : 0));
    return im;
}

static void test_resize(void) {
    uint64_t seed = 11;
    static const int cases[][4] = {{50, 37, 34, 25},  {37, 23, 100, 61},
                                   {64, 48, 7, 5},    {30, 20, 15, 10},
                                   {20, 30, 20, 11},  {1, 9, 3, 4},
                                   {45, 33, 45, 90},  {17, 19, 16, 18}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int c = 1; c <= 4; c += 2) {
            struct kw_image *s = rand_image(cases[i][0], cases[i][1], c, &seed);
            int ow = cases[i][2], oh = cases[i][3];
            for (int area = 0; area < 2; area++) {
                struct kw_image *got = kw__image_resize(s, ow, oh, 0, 0, ow, oh,
                                                        area ? KW_RESIZE_AREA : KW_RESIZE_BILINEAR);
                struct kw_image *want = ref_resize(s, ow, oh, area);
                /* +-1: the 8-bit intermediate and fixed-point weights */
                CHECKF(got && max_diff(got, want) <= 1, "resize %dx%d->%dx%d c%d area%d: %d",
                       s->width, s->height, ow, oh, c, area, got ? max_diff(got, want) : -1);
                /* a window equals the same part of the full result */
                if (got && ow > 3 && oh > 3) {
                    struct kw_image *win = kw__image_resize(s, ow, oh, 1, 2, ow - 3, oh - 3,
                                                            area ? KW_RESIZE_AREA : KW_RESIZE_BILINEAR);
                    int same = win != NULL;
                    for (int y = 0; same && y < oh - 3; y++)
                        same = !memcmp(win->data + (size_t)y * (ow - 3) * c,
                                       got->data + ((size_t)(y + 2) * ow + 1) * c,
                                       (size_t)(ow - 3) * c);
                    CHECKF(same, "resize window %zu c%d", i, c);
                    kw_image_free(win);
                }
                kw_image_free(got);
                kw_image_free(want);
            }
            kw_image_free(s);
        }
    }
    /* integer factor area = block mean (each pass rounds half up, as
     * PIL's two passes through 8 bits do) */
    uint8_t px[4 * 2] = {0, 1, 10, 20, 2, 3, 30, 40};
    struct kw_image s = {4, 2, 1, px};
    struct kw_image *a = kw__image_resize(&s, 2, 1, 0, 0, 2, 1, KW_RESIZE_AREA);
    CHECK(a && a->data[0] == 2 && a->data[1] == 25);
    kw_image_free(a);
    CHECK(kw__image_resize(&s, 2, 1, 1, 0, 2, 1, KW_RESIZE_AREA) == NULL); /* window out */

    /* speed: a 500x375 photo to shorter side 256 */
    struct kw_image *photo = rand_image(500, 375, 3, &seed);
    int64_t t0 = kw__time_us();
    int reps = 50;
    for (int r = 0; r < reps; r++)
        kw_image_free(kw__image_resize(photo, 341, 256, 0, 0, 341, 256, KW_RESIZE_BILINEAR));
    double ms = (double)(kw__time_us() - t0) / 1000.0 / reps;
    t0 = kw__time_us();
    for (int r = 0; r < reps; r++)
        kw_image_free(kw__image_resize(photo, 341, 256, 58, 16, 224, 224, KW_RESIZE_BILINEAR));
    double ms_crop = (double)(kw__time_us() - t0) / 1000.0 / reps;
    printf("resize 500x375 -> 341x256 RGB: %.3f ms (224x224 window: %.3f ms)\n", ms, ms_crop);
    kw_image_free(photo);
}

/* ---- preprocessing geometry ---------------------------------------------- */

static float *tensor_f(struct kw_onnx_value *t) { return (float *)t->data; }

static void test_preprocess(void) {
    char err[256];
    uint64_t seed = 5;
    struct kw_image *im = rand_image(300, 200, 3, &seed);
    const struct kw_image *one[1] = {im};
    struct kw_preprocess p;
    memset(&p, 0, sizeof p);
    p.scale = 1.0f;
    p.std[0] = p.std[1] = p.std[2] = 1.0f;
    p.channels = 3;

    /* shorter side 100 -> 150x100, centre crop 50x50 at (50, 25) */
    p.resize_shorter = 100;
    p.crop_w = p.crop_h = 50;
    struct kw_onnx_value *t = NULL;
    struct kw_image_xform xf;
    CHECK(kw_image_to_tensor(one, 1, &p, &t, &xf, err, sizeof err) == KW_STATUS_OK);
    CHECK(t && t->rank == 4 && t->dims[0] == 1 && t->dims[1] == 3 &&
          t->dims[2] == 50 && t->dims[3] == 50);
    CHECK(fabsf(xf.sx - 0.5f) < 1e-6f && fabsf(xf.sy - 0.5f) < 1e-6f &&
          xf.dx == -50.0f && xf.dy == -25.0f);
    struct kw_image *full = kw__image_resize(im, 150, 100, 0, 0, 150, 100, KW_RESIZE_BILINEAR);
    int same = t && full;
    for (int c = 0; same && c < 3; c++)
        for (int y = 0; y < 50; y++)
            for (int x = 0; x < 50; x++)
                same &= tensor_f(t)[(c * 50 + y) * 50 + x] ==
                        (float)full->data[((size_t)(y + 25) * 150 + x + 50) * 3 + c];
    CHECK(same);
    /* NHWC + BGR + mean/std on the same geometry */
    struct kw_onnx_value *t2 = NULL;
    p.nhwc = 1;
    p.bgr = 1;
    p.scale = 1.0f / 255.0f;
    p.mean[0] = 0.5f, p.std[0] = 0.25f;
    CHECK(kw_image_to_tensor(one, 1, &p, &t2, NULL, err, sizeof err) == KW_STATUS_OK);
    CHECK(t2 && t2->dims[1] == 50 && t2->dims[2] == 50 && t2->dims[3] == 3);
    if (t && t2) {
        int y = 7, x = 11;
        float b = tensor_f(t)[(2 * 50 + y) * 50 + x], r = tensor_f(t)[(0 * 50 + y) * 50 + x];
        const float *px = tensor_f(t2) + ((size_t)y * 50 + x) * 3;
        CHECK(fabsf(px[0] - (b / 255.0f - 0.5f) / 0.25f) < 1e-5f);
        CHECK(fabsf(px[2] - r / 255.0f) < 1e-6f);
    }
    kw_onnx_value_free(t);
    kw_onnx_value_free(t2);
    kw_image_free(full);

    /* letterbox 300x200 into 64x64: 64x42 at y 11 (centred) or 0 (YOLOX) */
    memset(&p, 0, sizeof p);
    p.resize_w = p.resize_h = 64;
    p.letterbox = 1;
    p.pad_value = 114;
    p.channels = 1;
    CHECK(kw_image_to_tensor(one, 1, &p, &t, &xf, err, sizeof err) == KW_STATUS_OK);
    CHECK(t && t->dims[1] == 1 && t->dims[2] == 64 && t->dims[3] == 64);
    CHECK(fabsf(xf.sx - 64.0f / 300) < 1e-6f && fabsf(xf.sy - 42.0f / 200) < 1e-6f &&
          xf.dx == 0 && xf.dy == 11.0f);
    if (t) {
        CHECK(tensor_f(t)[0] == 114.0f && tensor_f(t)[10 * 64 + 5] == 114.0f);
        CHECK(tensor_f(t)[53 * 64] == 114.0f && tensor_f(t)[52 * 64] != 114.0f);
    }
    /* a box corner maps back: processed (32, 11) -> original (150, 0) */
    CHECK(fabsf((32 - xf.dx) / xf.sx - 150.0f) < 1e-3f && fabsf((11 - xf.dy) / xf.sy) < 1e-4f);
    kw_onnx_value_free(t);
    p.letterbox = 2;
    CHECK(kw_image_to_tensor(one, 1, &p, &t, &xf, err, sizeof err) == KW_STATUS_OK);
    CHECK(xf.dy == 0 && t && tensor_f(t)[41 * 64] != 114.0f && tensor_f(t)[42 * 64] == 114.0f);
    kw_onnx_value_free(t);

    /* fixed height, width keeps aspect (OCR): 300x200 -> 96x64 gray */
    memset(&p, 0, sizeof p);
    p.resize_h = 64;
    p.channels = 1;
    CHECK(kw_image_to_tensor(one, 1, &p, &t, &xf, err, sizeof err) == KW_STATUS_OK);
    CHECK(t && t->dims[2] == 64 && t->dims[3] == 96);
    kw_onnx_value_free(t);

    /* batch: different sizes are fine with a crop, refused without */
    struct kw_image *im2 = rand_image(120, 160, 1, &seed);
    const struct kw_image *two[2] = {im, im2};
    kw_preprocess_imagenet(&p);
    struct kw_image_xform xf2[2];
    CHECK(kw_image_to_tensor(two, 2, &p, &t, xf2, err, sizeof err) == KW_STATUS_OK);
    CHECK(t && t->dims[0] == 2 && t->dims[1] == 3 && t->dims[2] == 224 && t->dims[3] == 224);
    /* image 2 is gray: its three planes are equal */
    if (t) {
        const float *b = tensor_f(t) + 3 * 224 * 224;
        float r0 = b[1000] * 0.229f + 0.485f, g0 = b[224 * 224 + 1000] * 0.224f + 0.456f;
        CHECK(fabsf(r0 - g0) < 1e-5f);
    }
    CHECK(fabsf(xf2[1].sx - 256.0f / 120) < 1e-5f && xf2[1].dx == -16.0f);
    kw_onnx_value_free(t);
    p.crop_w = p.crop_h = 0;
    CHECK(kw_image_to_tensor(two, 2, &p, &t, NULL, err, sizeof err) == KW_STATUS_ERR_INVALID_ARG);
    CHECK(t == NULL && strstr(err, "image 1") != NULL);
    /* bad arguments */
    p.channels = 2;
    CHECK(kw_image_to_tensor(one, 1, &p, &t, NULL, err, sizeof err) == KW_STATUS_ERR_INVALID_ARG);
    kw_preprocess_imagenet(&p);
    p.resize_w = 10;
    CHECK(kw_image_to_tensor(one, 1, &p, &t, NULL, err, sizeof err) == KW_STATUS_ERR_INVALID_ARG);
    CHECK(kw_image_to_tensor(NULL, 1, &p, &t, NULL, err, sizeof err) == KW_STATUS_ERR_INVALID_ARG);
    /* hostile aspect ratio: 1x60000 to shorter side 256 */
    struct kw_image *thin = kw__image_new(1, 60000, 1);
    memset(thin->data, 9, 60000);
    const struct kw_image *th[1] = {thin};
    kw_preprocess_imagenet(&p);
    CHECK(kw_image_to_tensor(th, 1, &p, &t, NULL, err, sizeof err) == KW_STATUS_OK);
    kw_onnx_value_free(t);
    p.crop_w = p.crop_h = 0;
    CHECK(kw_image_to_tensor(th, 1, &p, &t, NULL, err, sizeof err) != KW_STATUS_OK);
    kw_image_free(thin);
    kw_image_free(im);
    kw_image_free(im2);
}

/* ---- hostile input ----------------------------------------------------- */

static uint32_t crc32_bytes(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void hostile_all_prefixes(const uint8_t *b, size_t n, const char *what) {
    int fails = 0, bad_msgs = 0;
    for (size_t k = 0; k < n; k++) {
        uint8_t *copy = malloc(k ? k : 1); /* exact size so ASan sees over-reads */
        memcpy(copy, b, k);
        struct kw_image *img = NULL;
        char err[256] = "";
        enum kw_status st = kw_image_decode(copy, k, "cut.img", 0, NULL, &img, err, sizeof err);
        if (st != KW_STATUS_OK) {
            fails++;
            if (!strstr(err, "cut.img") || img) bad_msgs++;
        }
        kw_image_free(img);
        free(copy);
    }
    CHECKF(bad_msgs == 0, "%s: %d errors without the file name", what, bad_msgs);
    /* everything short of the last few bytes must fail */
    CHECKF(fails >= (int)n - 16, "%s: only %d of %zu truncations failed", what, fails, n);
}

static void test_hostile(void) {
    uint8_t *px = blocks_rgb(4, 3, 3);
    size_t nj, njp, np;
    uint8_t *j = encode_jpeg(px, 32, 24, JCS_RGB, JCS_YCbCr, 0, 6, 0, &nj);
    uint8_t *jp = encode_jpeg(px, 32, 24, JCS_RGB, JCS_YCbCr, 1, 0, 0, &njp);
    uint8_t *p = encode_png(px, 32, 24, 2, 8, NULL, NULL, &np);
    CHECK(j && jp && p);
    hostile_all_prefixes(j, nj, "jpeg");
    hostile_all_prefixes(jp, njp, "progressive jpeg");
    hostile_all_prefixes(p, np, "png");
    char err[256];
    struct kw_image *img = NULL;
    enum kw_status st;

    /* a truncated JPEG reports truncation */
    st = kw_image_decode(j, nj - 40, "a.jpg", 0, NULL, &img, err, sizeof err);
    CHECKF(st == KW_STATUS_ERR_FORMAT && strstr(err, "a.jpg") && strstr(err, "truncated"), "%s", err);

    /* declared 100000x100000: refused before allocating */
    uint8_t *big = malloc(nj);
    memcpy(big, j, nj);
    for (size_t i = 2; i + 8 < nj; i++)
        if (big[i] == 0xff && big[i + 1] == 0xc0) { /* SOF0: len, prec, h, w */
            big[i + 5] = 0xea, big[i + 6] = 0x60; /* 60000x60000 */
            big[i + 7] = 0xea, big[i + 8] = 0x60;
            break;
        }
    st = kw_image_decode(big, nj, "big.jpg", 0, NULL, &img, err, sizeof err);
    CHECKF(st == KW_STATUS_ERR_FORMAT && strstr(err, "big.jpg") && strstr(err, "limit"), "%s", err);
    for (size_t i = 2; i + 8 < nj; i++) /* 65535: past what JPEG allows */
        if (big[i] == 0xff && big[i + 1] == 0xc0) {
            big[i + 5] = big[i + 6] = big[i + 7] = big[i + 8] = 0xff;
            break;
        }
    st = kw_image_decode(big, nj, "big.jpg", 0, NULL, &img, err, sizeof err);
    CHECKF(st == KW_STATUS_ERR_FORMAT && strstr(err, "big.jpg"), "%s", err);
    free(big);
    big = malloc(np);
    memcpy(big, p, np);
    put_be32(big + 16, 100000);
    put_be32(big + 20, 100000);
    put_be32(big + 29, crc32_bytes(big + 12, 17));
    st = kw_image_decode(big, np, "big.png", 0, NULL, &img, err, sizeof err);
    CHECKF(st == KW_STATUS_ERR_FORMAT && strstr(err, "big.png") && strstr(err, "limit"), "%s", err);
    /* 1 x 100000000: each side fine, the area is not */
    put_be32(big + 16, 1);
    put_be32(big + 20, 100000000);
    put_be32(big + 29, crc32_bytes(big + 12, 17));
    st = kw_image_decode(big, np, "tall.png", 0, NULL, &img, err, sizeof err);
    CHECKF(st == KW_STATUS_ERR_FORMAT && strstr(err, "limit"), "%s", err);
    free(big);

    /* caller limits */
    struct kw_image_limits lim = {100, 0};
    st = kw_image_decode(j, nj, "small.jpg", 0, &lim, &img, err, sizeof err);
    CHECK(st == KW_STATUS_ERR_FORMAT && strstr(err, "limit of 100 pixels"));
    st = kw_image_decode(p, np, "small.png", 0, &lim, &img, err, sizeof err);
    CHECK(st == KW_STATUS_ERR_FORMAT && strstr(err, "small.png"));
    lim.max_pixels = 0;
    lim.max_bytes = 64;
    st = kw_image_decode(p, np, "bytes.png", 0, &lim, &img, err, sizeof err);
    CHECK(st == KW_STATUS_ERR_FORMAT && strstr(err, "over the limit of 64"));

    /* flipped bytes: no crash, and an error names the file */
    uint64_t seed = 99;
    const uint8_t *srcs[3] = {j, jp, p};
    size_t ns[3] = {nj, njp, np};
    int decoded = 0;
    for (int s = 0; s < 3; s++) {
        uint8_t *c = malloc(ns[s]);
        for (int it = 0; it < 700; it++) {
            memcpy(c, srcs[s], ns[s]);
            int flips = 1 + (int)(kw_test_rand(&seed) % 4);
            for (int f = 0; f < flips; f++)
                c[kw_test_rand(&seed) % ns[s]] = (uint8_t)kw_test_rand(&seed);
            img = NULL;
            err[0] = 0;
            st = kw_image_decode(c, ns[s], "flip.img", 0, NULL, &img, err, sizeof err);
            if (st == KW_STATUS_OK) {
                decoded++;
                CHECK(img && img->width > 0 && img->data);
            } else {
                CHECKF(img == NULL && strstr(err, "flip.img"), "%s", err);
            }
            kw_image_free(img);
        }
        free(c);
    }
    printf("corrupted inputs: %d of 2100 still decoded (the rest refused)\n", decoded);

    /* not an image, empty, other formats, bad arguments */
    st = kw_image_decode("GIF89a......", 12, "x.gif", 0, NULL, &img, err, sizeof err);
    CHECK(st == KW_STATUS_ERR_UNSUPPORTED && strstr(err, "GIF"));
    st = kw_image_decode("hello", 5, "x.txt", 0, NULL, &img, err, sizeof err);
    CHECK(st == KW_STATUS_ERR_FORMAT && strstr(err, "x.txt"));
    st = kw_image_decode("", 0, "empty", 0, NULL, &img, err, sizeof err);
    CHECK(st == KW_STATUS_ERR_FORMAT && strstr(err, "empty"));
    st = kw_image_decode(p, np, "x.png", 2, NULL, &img, err, sizeof err);
    CHECK(st == KW_STATUS_ERR_INVALID_ARG);
    st = kw_image_load("/nonexistent/kw/photo.jpg", 3, NULL, &img, err, sizeof err);
    CHECK(st == KW_STATUS_ERR_NOT_FOUND && strstr(err, "photo.jpg"));
    st = kw_image_load("/", 3, NULL, &img, err, sizeof err);
    CHECK(st == KW_STATUS_ERR_IO && img == NULL);
    kw_image_free(NULL);

    /* load from a file, with the EXIF rotation applied (32x24 -> 24x32) */
    char path[256];
    snprintf(path, sizeof path, "/tmp/kw_test_image_%d.jpg", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(j, 1, nj, f);
        fclose(f);
        st = kw_image_load(path, 0, NULL, &img, err, sizeof err);
        CHECK(st == KW_STATUS_OK && img && img->width == 24 && img->height == 32 &&
              img->channels == 3);
        kw_image_free(img);
        remove(path);
    }
    free(j);
    free(jp);
    free(p);
    free(px);
}

int main(void) {
    test_convert();
    test_orientation();
    test_formats();
    test_resize();
    test_preprocess();
    test_hostile();
    return kw_test_finish("test_image");
}
