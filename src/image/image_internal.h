/*
 * image_internal.h — interfaces between the files of src/image/: the JPEG
 * and PNG decoders (jpeg.c, png.c), EXIF orientation (exif.c), channel
 * conversion (convert.c) and the PIL-compatible resampler (resize.c) that
 * decode.c and preprocess.c build the public API from.
 */
#ifndef KW_IMAGE_INTERNAL_H
#define KW_IMAGE_INTERNAL_H

#include "core/internal.h"
#include "kaiwu/image.h"

/* Defaults when a kw_image_limits field is 0 (or limits is NULL). */
#define KW_IMAGE_DEFAULT_MAX_PIXELS ((uint64_t)64 << 20) /* 64 Mpx */
#define KW_IMAGE_DEFAULT_MAX_BYTES ((uint64_t)256 << 20) /* 256 MiB */

/* A new image with uninitialised pixels; NULL when out of memory or when
 * w * h * channels overflows. */
KW_HIDDEN struct kw_image *kw__image_new(int w, int h, int channels);

/* Decoders. max_pixels is the resolved limit; the declared size is
 * checked against it before pixel memory is allocated. *out keeps the
 * stored layout (1, 3 or 4 channels) with EXIF orientation applied.
 * Messages start with name. */
KW_HIDDEN enum kw_status kw__jpeg_decode(const uint8_t *b, size_t n,
                                         const char *name,
                                         uint64_t max_pixels,
                                         struct kw_image **out, char *err,
                                         size_t err_size);
KW_HIDDEN enum kw_status kw__png_decode(const uint8_t *b, size_t n,
                                        const char *name, uint64_t max_pixels,
                                        struct kw_image **out, char *err,
                                        size_t err_size);

/* EXIF orientation (1..8) from TIFF-structured EXIF data (starting at the
 * "II"/"MM" byte-order mark); 1 when absent or malformed. */
KW_HIDDEN int kw__exif_orientation(const uint8_t *tiff, size_t n);
/* Rotates / mirrors *img in place (a new buffer when the sides swap) so
 * it displays upright. Returns 0 when out of memory (*img unchanged). */
KW_HIDDEN int kw__image_orient(struct kw_image *img, int orientation);

/* Gray from RGB with PIL's "L" weights (ITU-R 601-2, 16-bit fixed point),
 * so converted images equal Image.convert("L"). */
static inline uint8_t kw__rgb_to_gray(unsigned r, unsigned g, unsigned b) {
    return (uint8_t)((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
}

/* A new image with `channels` (1, 3, 4) channels: gray <-> RGB <-> RGBA
 * as PIL converts (alpha dropped, or 255 when added). NULL when out of
 * memory. */
KW_HIDDEN struct kw_image *kw__image_convert(const struct kw_image *src,
                                             int channels);

/* Resamples src to a full size of out_w x out_h but computes only the
 * window [x0, x0 + win_w) x [y0, y0 + win_h) of that result (what a
 * following crop keeps). Bilinear reproduces PIL's Image.resize(BILINEAR)
 * bit for bit: triangle filter widened by the downscale factor, 22-bit
 * fixed-point weights, horizontal pass to 8 bits, then vertical. Area is
 * PIL's BOX filter. Returns NULL when out of memory. */
KW_HIDDEN struct kw_image *kw__image_resize(const struct kw_image *src,
                                            int out_w, int out_h, int x0,
                                            int y0, int win_w, int win_h,
                                            enum kw_resize_method method);

#endif /* KW_IMAGE_INTERNAL_H */
