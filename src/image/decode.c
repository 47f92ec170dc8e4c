/*
 * decode.c — the public decoding entry points: kw_image_decode (format by
 * magic bytes, limits, channel conversion), kw_image_load (bounded file
 * read), kw_image_free, and the kw__image_new allocator the decoders share.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image_internal.h"

struct kw_image *kw__image_new(int w, int h, int channels) {
    size_t n;
    if (w <= 0 || h <= 0 || channels <= 0 ||
        !kw__mul_size((size_t)w, (size_t)h, &n) ||
        !kw__mul_size(n, (size_t)channels, &n))
        return NULL;
    struct kw_image *img = calloc(1, sizeof *img);
    if (!img) return NULL;
    img->data = malloc(n);
    if (!img->data) {
        free(img);
        return NULL;
    }
    img->width = w;
    img->height = h;
    img->channels = channels;
    return img;
}

void kw_image_free(struct kw_image *img) {
    if (!img) return;
    free(img->data);
    free(img);
}

static void resolve_limits(const struct kw_image_limits *l, uint64_t *px,
                           uint64_t *bytes) {
    *px = l && l->max_pixels ? l->max_pixels : KW_IMAGE_DEFAULT_MAX_PIXELS;
    *bytes = l && l->max_bytes ? l->max_bytes : KW_IMAGE_DEFAULT_MAX_BYTES;
}

/* Names formats we recognise but do not decode, for a clearer message. */
static const char *other_format(const uint8_t *b, size_t n) {
    if (n >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6)))
        return "GIF";
    if (n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4))
        return "WebP";
    if (n >= 2 && b[0] == 'B' && b[1] == 'M') return "BMP";
    if (n >= 4 && (!memcmp(b, "II*\0", 4) || !memcmp(b, "MM\0*", 4)))
        return "TIFF";
    return NULL;
}

enum kw_status kw_image_decode(const void *bytes, size_t n, const char *name,
                               int channels,
                               const struct kw_image_limits *limits,
                               struct kw_image **out, char *err,
                               size_t err_size) {
    if (out) *out = NULL;
    if (!name) name = "image";
    if (!out || (!bytes && n))
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "%s: no image bytes or output", name);
    if (channels != 0 && channels != 1 && channels != 3 && channels != 4)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "%s: channels must be 0, 1, 3 or 4 (got %d)", name,
                       channels);
    uint64_t max_px, max_bytes;
    resolve_limits(limits, &max_px, &max_bytes);
    if ((uint64_t)n > max_bytes)
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "%s: file is %zu bytes, over the limit of %llu", name,
                       n, (unsigned long long)max_bytes);
    const uint8_t *b = bytes;
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a,
                                       0x1a, 0x0a};
    struct kw_image *img = NULL;
    enum kw_status st;
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) {
        st = kw__jpeg_decode(b, n, name, max_px, &img, err, err_size);
    } else if (n >= 8 && !memcmp(b, png_sig, 8)) {
        st = kw__png_decode(b, n, name, max_px, &img, err, err_size);
    } else {
        const char *f = other_format(b, n);
        if (f)
            return kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,
                           "%s: %s images are not supported (JPEG and PNG "
                           "are)", name, f);
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "%s: not a JPEG or PNG file (%s)", name,
                       n == 0 ? "empty" : "unknown signature");
    }
    if (st != KW_STATUS_OK) return st;
    if (channels && channels != img->channels) {
        struct kw_image *c = kw__image_convert(img, channels);
        kw_image_free(img);
        if (!c)
            return kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                           "%s: out of memory converting channels", name);
        img = c;
    }
    *out = img;
    return KW_STATUS_OK;
}

enum kw_status kw_image_load(const char *path, int channels,
                             const struct kw_image_limits *limits,
                             struct kw_image **out, char *err,
                             size_t err_size) {
    if (out) *out = NULL;
    if (!path || !out)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "image path or output missing");
    uint64_t max_px, max_bytes;
    resolve_limits(limits, &max_px, &max_bytes);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kw__err(err, err_size,
                       errno == ENOENT ? KW_STATUS_ERR_NOT_FOUND
                                       : KW_STATUS_ERR_IO,
                       "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return kw__err(err, err_size, KW_STATUS_ERR_IO,
                       "%s: not a regular file", path);
    }
    /* refuse before reading, so a huge file costs nothing */
    if ((uint64_t)sb.st_size > max_bytes || (uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "%s: file is %lld bytes, over the limit of %llu", path,
                       (long long)sb.st_size, (unsigned long long)max_bytes);
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                       "%s: out of memory for %zu bytes", path, n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        free(buf);
        return kw__err(err, err_size, KW_STATUS_ERR_IO,
                       "%s: read %zu of %zu bytes", path, got, n);
    }
    enum kw_status st =
        kw_image_decode(buf, n, path, channels, limits, out, err, err_size);
    free(buf);
    return st;
}
