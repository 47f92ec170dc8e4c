/*
 * image_off.c — the image API in a build without libjpeg-turbo and libspng
 * (KW_IMAGE=OFF): every call says so.
 */
#include "core/internal.h"
#include "kaiwu/image.h"

#define OFF(err, err_size)                                                    \
    kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,                         \
            "image decoding was not built in (configure with -DKW_IMAGE=ON, " \
            "which needs libjpeg-turbo and libspng)")

enum kw_status kw_image_decode(const void *bytes, size_t n, const char *name,
                               int channels,
                               const struct kw_image_limits *limits,
                               struct kw_image **out, char *err,
                               size_t err_size) {
    if (out) *out = NULL;
    return OFF(err, err_size);
}
enum kw_status kw_image_load(const char *path, int channels,
                             const struct kw_image_limits *limits,
                             struct kw_image **out, char *err,
                             size_t err_size) {
    if (out) *out = NULL;
    return OFF(err, err_size);
}
void kw_image_free(struct kw_image *img) { (void)img; }
void kw_preprocess_imagenet(struct kw_preprocess *p) {
    if (p) memset(p, 0, sizeof *p);
}
enum kw_status kw_image_to_tensor(const struct kw_image *const *imgs, int n,
                                  const struct kw_preprocess *p,
                                  struct kw_onnx_value **out,
                                  struct kw_image_xform *xf, char *err,
                                  size_t err_size) {
    if (out) *out = NULL;
    return OFF(err, err_size);
}
