/*
 * png.c — PNG decoding through libspng: image and chunk limits set before
 * any pixel is decoded, every colour type and bit depth reduced to 8-bit
 * gray, RGB or RGBA (16-bit keeps the high byte, as PIL does), and an
 * eXIf orientation applied like for JPEG. Entry point: kw__png_decode.
 */
#include <spng.h>

#include "image/image_internal.h"

/* Ancillary chunks (text, ICC profiles...) are kept in memory by spng;
 * this bounds them, and with them zTXt/iCCP decompression bombs (spng
 * also stops after 1000 ancillary chunks by default). */
#define KW_PNG_CHUNK_CACHE (32u << 20)

enum { PNG_GRAY = 0, PNG_RGB = 2, PNG_PALETTE = 3, PNG_GA = 4, PNG_RGBA = 6 };

static enum kw_status spng_fail(int rc, const char *name, char *err,
                                size_t err_size) {
    enum kw_status st = KW_STATUS_ERR_FORMAT;
    if (rc == SPNG_EMEM) st = KW_STATUS_ERR_NOMEM;
    const char *what = spng_strerror(rc);
    if (rc == SPNG_EOF || rc == SPNG_EIDAT_TOO_SHORT)
        what = "truncated (data ends early)";
    return kw__err(err, err_size, st, "%s: PNG: %s", name, what);
}

enum kw_status kw__png_decode(const uint8_t *b, size_t n, const char *name,
                              uint64_t max_pixels, struct kw_image **out,
                              char *err, size_t err_size) {
    *out = NULL;
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx)
        return kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                       "%s: PNG: out of memory", name);
    struct kw_image *img = NULL;
    uint8_t *rgba = NULL;
    enum kw_status st = KW_STATUS_OK;
    int rc;
    /* per side: max_pixels, capped at what spng accepts (2^31 - 1) */
    uint32_t side = max_pixels > 0x7fffffffu ? 0x7fffffffu
                                             : (uint32_t)max_pixels;
    if ((rc = spng_set_png_buffer(ctx, b, n)) ||
        (rc = spng_set_image_limits(ctx, side, side)) ||
        (rc = spng_set_chunk_limits(ctx, n, KW_PNG_CHUNK_CACHE))) {
        st = spng_fail(rc, name, err, err_size);
        goto done;
    }
    struct spng_ihdr ihdr;
    if ((rc = spng_get_ihdr(ctx, &ihdr))) {
        if (rc == SPNG_EWIDTH || rc == SPNG_EHEIGHT || rc == SPNG_EUSER_WIDTH ||
            rc == SPNG_EUSER_HEIGHT)
            st = kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                         "%s: PNG: declared size is over the limit of %llu "
                         "pixels (%s)",
                         name, (unsigned long long)max_pixels,
                         spng_strerror(rc));
        else
            st = spng_fail(rc, name, err, err_size);
        goto done;
    }
    uint64_t px = (uint64_t)ihdr.width * ihdr.height;
    if (px > max_pixels) {
        st = kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                     "%s: PNG: declared size %ux%u (%llu pixels) is over the "
                     "limit of %llu pixels",
                     name, (unsigned)ihdr.width, (unsigned)ihdr.height,
                     (unsigned long long)px, (unsigned long long)max_pixels);
        goto done;
    }
    struct spng_trns trns;
    int has_trns = spng_get_trns(ctx, &trns) == 0;
    int gray = ihdr.color_type == PNG_GRAY || ihdr.color_type == PNG_GA;
    int alpha = ihdr.color_type == PNG_GA || ihdr.color_type == PNG_RGBA ||
                has_trns;
    int channels = gray && !alpha ? 1 : alpha ? 4 : 3;
    int w = (int)ihdr.width, h = (int)ihdr.height;
    img = kw__image_new(w, h, channels);
    if (!img) {
        st = kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                     "%s: PNG: out of memory for %dx%d pixels", name, w, h);
        goto done;
    }
    if (channels == 1 && ihdr.bit_depth == 8) {
        /* 8-bit gray is stored as is: decode straight into the image */
        rc = spng_decode_image(ctx, img->data, (size_t)w * (size_t)h,
                               SPNG_FMT_PNG, 0);
        if (rc) {
            st = spng_fail(rc, name, err, err_size);
            goto done;
        }
    } else {
        /* everything else through RGBA8, which spng supports for every
         * colour type and depth (scaling low depths, >> 8 for 16-bit) */
        size_t len;
        if ((rc = spng_decoded_image_size(ctx, SPNG_FMT_RGBA8, &len))) {
            st = spng_fail(rc, name, err, err_size);
            goto done;
        }
        rgba = malloc(len);
        if (!rgba) {
            st = kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                         "%s: PNG: out of memory for %dx%d pixels", name, w,
                         h);
            goto done;
        }
        rc = spng_decode_image(ctx, rgba, len, SPNG_FMT_RGBA8,
                               SPNG_DECODE_TRNS);
        if (rc) {
            st = spng_fail(rc, name, err, err_size);
            goto done;
        }
        size_t npx = (size_t)w * (size_t)h;
        if (channels == 4) {
            memcpy(img->data, rgba, npx * 4);
        } else {
            for (size_t i = 0; i < npx; i++)
                for (int c = 0; c < channels; c++)
                    img->data[i * (size_t)channels + (size_t)c] =
                        rgba[i * 4 + (size_t)c];
        }
    }
    struct spng_exif exif;
    int orientation = 1;
    if (spng_get_exif(ctx, &exif) == 0 && exif.data)
        orientation =
            kw__exif_orientation((const uint8_t *)exif.data, exif.length);
    if (!kw__image_orient(img, orientation)) {
        st = kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                     "%s: out of memory applying EXIF orientation", name);
        goto done;
    }
    *out = img;
    img = NULL;
done:
    spng_ctx_free(ctx);
    free(rgba);
    kw_image_free(img);
    return st;
}
