/*
 * fuzz_image.c — libFuzzer target for image decoding and preprocessing:
 * decodes the input as JPEG/PNG (limits lowered so each run stays fast),
 * then pushes every decoded image through ImageNet, letterbox and
 * fixed-height preprocessing (EXIF parsing is reached through JPEG APP1
 * and PNG eXIf). Public API only. Any over-read, overflow or leak shows
 * up under ASan/UBSan. CTest replays tests/corpus/fuzz_image/ with it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kaiwu/image.h"
#include "kaiwu/onnx.h"

static volatile float g_sink;

static void run(const struct kw_image *img, const struct kw_preprocess *p) {
    const struct kw_image *one[1] = {img};
    struct kw_onnx_value *t = NULL;
    struct kw_image_xform xf;
    char err[256];
    if (kw_image_to_tensor(one, 1, p, &t, &xf, err, sizeof err) !=
        KW_STATUS_OK)
        return;
    int64_t n = kw_onnx_numel(t);
    const float *f = t->data;
    float s = 0;
    for (int64_t i = 0; i < n; i += 97) s += f[i];
    if (n > 0) s += f[n - 1];
    g_sink += s + xf.sx + xf.dy;
    kw_onnx_value_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct kw_image_limits lim = {1u << 21, 0}; /* 2 Mpx */
    int channels = size ? (int)(data[size - 1] % 5) : 0;
    if (channels == 2) channels = 0;
    struct kw_image *img = NULL;
    char err[256];
    if (kw_image_decode(data, size, "fuzz", channels, &lim, &img, err,
                        sizeof err) != KW_STATUS_OK) {
        if (img) abort(); /* an error never returns an image */
        return 0;
    }
    if (!img || img->width <= 0 || img->height <= 0 ||
        (uint64_t)img->width * (uint64_t)img->height > lim.max_pixels)
        abort();
    struct kw_preprocess p;
    kw_preprocess_imagenet(&p);
    p.resize_shorter = 32; /* keep runs fast; the same code paths */
    p.crop_w = p.crop_h = 24;
    run(img, &p);
    memset(&p, 0, sizeof p);
    p.resize_w = 40, p.resize_h = 24, p.letterbox = 1 + (int)(size & 1);
    p.pad_value = 114, p.bgr = 1, p.nhwc = 1;
    p.method = KW_RESIZE_AREA;
    run(img, &p);
    memset(&p, 0, sizeof p);
    p.resize_h = 16, p.channels = 1;
    if ((uint64_t)img->width <= 16u * (uint64_t)img->height) run(img, &p);
    kw_image_free(img);
    return 0;
}
