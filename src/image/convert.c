/*
 * convert.c — channel conversion between gray, RGB and RGBA with PIL's
 * rules (gray = 601-2 luma in 16-bit fixed point, alpha dropped without
 * compositing, added alpha opaque). Entry point: kw__image_convert.
 */
#include "image/image_internal.h"

struct kw_image *kw__image_convert(const struct kw_image *src, int channels) {
    struct kw_image *dst =
        kw__image_new(src->width, src->height, channels);
    if (!dst) return NULL;
    size_t n = (size_t)src->width * (size_t)src->height;
    int ci = src->channels;
    const uint8_t *s = src->data;
    uint8_t *d = dst->data;
    if (ci == channels) {
        memcpy(d, s, n * (size_t)ci);
        return dst;
    }
    for (size_t i = 0; i < n; i++, s += ci, d += channels) {
        uint8_t r, g, b;
        if (ci == 1) r = g = b = s[0];
        else r = s[0], g = s[1], b = s[2];
        if (channels == 1) {
            d[0] = ci == 1 ? r : kw__rgb_to_gray(r, g, b);
        } else {
            d[0] = r;
            d[1] = g;
            d[2] = b;
            if (channels == 4) d[3] = ci == 4 ? s[3] : 255;
        }
    }
    return dst;
}
