/*
 * jpeg.c — JPEG decoding through libjpeg-turbo's libjpeg API. Every
 * libjpeg error comes back through setjmp/longjmp (libjpeg never exits),
 * the header's size is checked before jpeg_start_decompress, CMYK/YCCK
 * become RGB, and the EXIF orientation from APP1 is applied.
 * Entry point: kw__jpeg_decode.
 */
#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE and size_t first */

#include <jpeglib.h>
#include <jerror.h>

#include "image/image_internal.h"

/* A progressive file can carry thousands of tiny scans that each cost a
 * full pass over the coefficients; real encoders write about ten. */
#define KW_JPEG_MAX_SCANS 500

struct jpeg_guard {
    struct jpeg_error_mgr pub; /* first: libjpeg casts to this */
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX + 64];
};

static void guard_error_exit(j_common_ptr c) {
    struct jpeg_guard *g = (struct jpeg_guard *)c->err;
    c->err->format_message(c, g->msg);
    longjmp(g->jump, 1);
}

/* Warnings are ignored as PIL ignores them (libjpeg recovers), except
 * running out of data: then libjpeg would invent gray pixels. */
static void guard_emit_message(j_common_ptr c, int level) {
    struct jpeg_guard *g = (struct jpeg_guard *)c->err;
    if (level >= 0) return; /* trace messages */
    c->err->num_warnings++;
    if (c->err->msg_code == JWRN_JPEG_EOF) {
        snprintf(g->msg, sizeof g->msg, "truncated (data ends early)");
        longjmp(g->jump, 1);
    }
}

static void guard_output_message(j_common_ptr c) { (void)c; }

static void guard_progress(j_common_ptr c) {
    struct jpeg_guard *g = (struct jpeg_guard *)c->err;
    if (!c->is_decompressor) return;
    int scans = ((j_decompress_ptr)c)->input_scan_number;
    if (scans > KW_JPEG_MAX_SCANS) {
        snprintf(g->msg, sizeof g->msg,
                 "more than %d progressive scans (a decoding-time bomb)",
                 KW_JPEG_MAX_SCANS);
        longjmp(g->jump, 1);
    }
}

/* EXIF orientation from the saved APP1 markers ("Exif\0\0" + TIFF). */
static int jpeg_orientation(j_decompress_ptr d) {
    for (jpeg_saved_marker_ptr m = d->marker_list; m; m = m->next) {
        if (m->marker != JPEG_APP0 + 1 || m->data_length < 6) continue;
        if (memcmp(m->data, "Exif\0\0", 6) != 0) continue;
        return kw__exif_orientation(m->data + 6, m->data_length - 6);
    }
    return 1;
}

/* CMYK -> RGB as PIL converts: R = (255 - C) * (255 - K) / 255 rounded.
 * Adobe files store the inks inverted (255 = no ink). */
static void cmyk_row_to_rgb(const uint8_t *in, uint8_t *out, int w,
                            int inverted) {
    for (int x = 0; x < w; x++, in += 4, out += 3) {
        unsigned k = inverted ? in[3] : 255u - in[3]; /* 255 - ink */
        for (int c = 0; c < 3; c++) {
            unsigned ink = inverted ? 255u - in[c] : in[c];
            unsigned t = ink * k + 128u;
            out[c] = (uint8_t)(k - (((t >> 8) + t) >> 8));
        }
    }
}

enum kw_status kw__jpeg_decode(const uint8_t *b, size_t n, const char *name,
                               uint64_t max_pixels, struct kw_image **out,
                               char *err, size_t err_size) {
    struct jpeg_decompress_struct d;
    struct jpeg_guard g;
    /* touched after setjmp and read after longjmp: volatile */
    struct kw_image *volatile img = NULL;
    uint8_t *volatile row = NULL;
    volatile int created = 0;

    *out = NULL;
    memset(&d, 0, sizeof d);
    memset(&g, 0, sizeof g);
    d.err = jpeg_std_error(&g.pub);
    g.pub.error_exit = guard_error_exit;
    g.pub.emit_message = guard_emit_message;
    g.pub.output_message = guard_output_message;
    g.msg[0] = 0;
    if (setjmp(g.jump)) {
        if (created) jpeg_destroy_decompress(&d);
        kw_image_free(img);
        free(row);
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT, "%s: JPEG: %s",
                       name, g.msg[0] ? g.msg : "decoding failed");
    }
    jpeg_create_decompress(&d);
    created = 1;
    g.progress.progress_monitor = guard_progress;
    d.progress = &g.progress;
    if ((uint64_t)n > (uint64_t)(unsigned long)-1) n = (unsigned long)-1;
    jpeg_mem_src(&d, b, (unsigned long)n);
    jpeg_save_markers(&d, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(&d, TRUE);

    uint64_t px = (uint64_t)d.image_width * d.image_height;
    if (d.image_width == 0 || d.image_height == 0 || px > max_pixels) {
        enum kw_status st = kw__err(
            err, err_size, KW_STATUS_ERR_FORMAT,
            "%s: JPEG: declared size %ux%u (%llu pixels) is over the limit "
            "of %llu pixels",
            name, (unsigned)d.image_width, (unsigned)d.image_height,
            (unsigned long long)px, (unsigned long long)max_pixels);
        jpeg_destroy_decompress(&d);
        return st;
    }
    int channels, cmyk = 0;
    switch (d.jpeg_color_space) {
    case JCS_GRAYSCALE:
        d.out_color_space = JCS_GRAYSCALE;
        channels = 1;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        d.out_color_space = JCS_RGB;
        channels = 3;
        break;
    case JCS_CMYK:
    case JCS_YCCK: /* libjpeg turns YCCK into CMYK */
        d.out_color_space = JCS_CMYK;
        channels = 3;
        cmyk = 1;
        break;
    default: {
        enum kw_status st = kw__err(
            err, err_size, KW_STATUS_ERR_UNSUPPORTED,
            "%s: JPEG: unsupported colour space (%d components)", name,
            d.num_components);
        jpeg_destroy_decompress(&d);
        return st;
    }
    }
    int orientation = jpeg_orientation(&d);
    jpeg_start_decompress(&d);
    int w = (int)d.output_width, h = (int)d.output_height;
    if ((int)d.output_components != (cmyk ? 4 : channels)) {
        snprintf(g.msg, sizeof g.msg, "unexpected %d output components",
                 d.output_components);
        longjmp(g.jump, 1);
    }
    img = kw__image_new(w, h, channels);
    if (cmyk) row = malloc((size_t)w * 4);
    if (!img || (cmyk && !row)) {
        jpeg_destroy_decompress(&d);
        kw_image_free(img);
        free(row);
        return kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                       "%s: JPEG: out of memory for %dx%d pixels", name, w,
                       h);
    }
    size_t stride = (size_t)w * (size_t)channels;
    while (d.output_scanline < d.output_height) {
        uint8_t *dst = img->data + (size_t)d.output_scanline * stride;
        JSAMPROW rows[1] = {cmyk ? row : dst};
        if (jpeg_read_scanlines(&d, rows, 1) != 1) {
            snprintf(g.msg, sizeof g.msg, "truncated (no more scanlines)");
            longjmp(g.jump, 1);
        }
        if (cmyk) cmyk_row_to_rgb(row, dst, w, d.saw_Adobe_marker);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    created = 0;
    free(row);
    row = NULL;
    struct kw_image *done = img;
    if (!kw__image_orient(done, orientation)) {
        kw_image_free(done);
        return kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                       "%s: out of memory applying EXIF orientation", name);
    }
    *out = done;
    return KW_STATUS_OK;
}
