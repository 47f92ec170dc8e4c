/*
 * exif.c — EXIF orientation: a bounds-checked read of tag 0x0112 from the
 * first IFD of TIFF-structured EXIF data, and the eight rotations and
 * mirrors that make the image upright (as PIL's ImageOps.exif_transpose).
 * Entry points: kw__exif_orientation, kw__image_orient.
 */
#include "image/image_internal.h"

static unsigned rd16(const uint8_t *p, int le) {
    return le ? (unsigned)p[0] | (unsigned)p[1] << 8
              : (unsigned)p[0] << 8 | (unsigned)p[1];
}
static uint32_t rd32(const uint8_t *p, int le) {
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                    (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int kw__exif_orientation(const uint8_t *t, size_t n) {
    if (!t || n < 8) return 1;
    int le;
    if (t[0] == 'I' && t[1] == 'I') le = 1;
    else if (t[0] == 'M' && t[1] == 'M') le = 0;
    else return 1;
    if (rd16(t + 2, le) != 42) return 1;
    uint32_t ifd = rd32(t + 4, le);
    if (ifd > n || n - ifd < 2) return 1;
    unsigned count = rd16(t + ifd, le);
    size_t p = (size_t)ifd + 2;
    for (unsigned i = 0; i < count; i++, p += 12) {
        if (p > n || n - p < 12) return 1; /* entry runs past the data */
        if (rd16(t + p, le) != 0x0112) continue;
        unsigned type = rd16(t + p + 2, le);
        uint32_t cnt = rd32(t + p + 4, le);
        unsigned v;
        if (type == 3 && cnt >= 1) v = rd16(t + p + 8, le); /* SHORT */
        else if (type == 4 && cnt >= 1) v = rd32(t + p + 8, le); /* LONG */
        else return 1;
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

/* Output pixel (x, y) of the upright image takes input pixel
 * (sx, sy) = (ax * x + bx * y + cx, ay * x + by * y + cy). */
struct orient_map {
    int ax, bx, ay, by;
    int flip_x, flip_y; /* add (w-1) to sx / (h-1) to sy */
};

int kw__image_orient(struct kw_image *img, int o) {
    if (!img || o <= 1 || o > 8) return 1;
    /* columns: ax bx ay by, whether sx/sy count back from the far edge */
    static const struct orient_map maps[9] = {
        [2] = {-1, 0, 0, 1, 1, 0},  /* mirror left-right */
        [3] = {-1, 0, 0, -1, 1, 1}, /* rotate 180 */
        [4] = {1, 0, 0, -1, 0, 1},  /* mirror top-bottom */
        [5] = {0, 1, 1, 0, 0, 0},   /* transpose */
        [6] = {0, 1, -1, 0, 0, 1},  /* rotate 90 clockwise */
        [7] = {0, -1, -1, 0, 1, 1}, /* transverse */
        [8] = {0, -1, 1, 0, 1, 0},  /* rotate 90 counter-clockwise */
    };
    const struct orient_map *m = &maps[o];
    int w = img->width, h = img->height, c = img->channels;
    int swap = o >= 5;
    int ow = swap ? h : w, oh = swap ? w : h;
    size_t n = (size_t)w * (size_t)h * (size_t)c;
    uint8_t *dst = malloc(n);
    if (!dst) return 0;
    const uint8_t *src = img->data;
    int cx = m->flip_x ? w - 1 : 0, cy = m->flip_y ? h - 1 : 0;
    for (int y = 0; y < oh; y++) {
        uint8_t *d = dst + (size_t)y * (size_t)ow * (size_t)c;
        for (int x = 0; x < ow; x++, d += c) {
            int sx = m->ax * x + m->bx * y + cx;
            int sy = m->ay * x + m->by * y + cy;
            memcpy(d, src + ((size_t)sy * (size_t)w + (size_t)sx) * (size_t)c,
                   (size_t)c);
        }
    }
    free(img->data);
    img->data = dst;
    img->width = ow;
    img->height = oh;
    return 1;
}
