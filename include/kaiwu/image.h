/*
 * kaiwu/image.h — images in: JPEG (libjpeg-turbo) and PNG (libspng)
 * decoding with EXIF orientation applied, and the preprocessing vision
 * models expect (resize, centre crop, letterbox, mean/std normalisation,
 * HWC -> CHW, batching) into an ONNX float tensor.
 *
 * Decoding is bounded: the declared size is checked against the limits
 * before any pixel memory is allocated, so truncated, hostile or
 * decompression-bomb files fail with a message, never a crash.
 * Built without libjpeg/libspng (KW_IMAGE=OFF) every function here returns
 * KW_STATUS_ERR_UNSUPPORTED.
 */
#ifndef KAIWU_IMAGE_H
#define KAIWU_IMAGE_H

#include "kaiwu/kaiwu.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kw_onnx_value; /* kaiwu/onnx.h */

/* 8-bit pixels, rows top to bottom, channels interleaved (HWC). */
struct kw_image {
    int width, height;
    int channels; /* 1 gray, 3 RGB, 4 RGBA */
    uint8_t *data;
};

struct kw_image_limits {
    uint64_t max_pixels; /* width * height; 0: 64 Mpx (2^26) */
    uint64_t max_bytes;  /* encoded file size; 0: 256 MiB */
};

/* Decodes JPEG (grayscale, RGB, CMYK, YCCK; EXIF orientation applied) or
 * PNG (any bit depth, palette, alpha; 16-bit reduced to 8 by keeping the
 * high byte; an eXIf orientation applied too) found by the magic bytes.
 * channels: 0 keeps the stored layout (1 gray, 3 RGB, 4 when there is
 * alpha, gray+alpha included), 1 / 3 / 4 converts as PIL's convert does
 * (gray = 601-2 luma; alpha dropped without compositing). Pixels equal
 * PIL's Image.open + ImageOps.exif_transpose + convert. A truncated JPEG
 * is an error (libjpeg's other recoverable warnings are ignored, as PIL
 * does). limits may be NULL. name is for messages only: every error
 * message starts with it. */
KW_API enum kw_status kw_image_decode(const void *bytes, size_t n,
                                      const char *name, int channels,
                                      const struct kw_image_limits *limits,
                                      struct kw_image **out, char *err,
                                      size_t err_size);
KW_API enum kw_status kw_image_load(const char *path, int channels,
                                    const struct kw_image_limits *limits,
                                    struct kw_image **out, char *err,
                                    size_t err_size);
KW_API void kw_image_free(struct kw_image *img);

enum kw_resize_method {
    KW_RESIZE_BILINEAR = 0, /* PIL's Image.resize(BILINEAR), bit for bit
                               (antialiased when shrinking) */
    KW_RESIZE_AREA = 1      /* box average = PIL's BOX; exact for integer
                               factors */
};

/* How an image becomes one CHW slice of the input tensor. Steps in order:
 * resize (shorter side to resize_shorter with the longer side truncated
 * as torchvision's Resize(int); or to resize_w x resize_h — with letterbox
 * keeping the aspect ratio, the image int(side * r) with r the smaller
 * ratio, padding with pad_value; or only resize_h (resize_w) set: that
 * side fixed, the other int(side * ratio)), centre crop to crop_w x crop_h
 * (offset round((size - crop) / 2) with halves to even, as torchvision's
 * CenterCrop; a crop larger than the image pads), conversion to the
 * output channels (after the resize, so gray matches resizing RGB then
 * convert("L")), then per output channel (pixel * scale - mean[c]) /
 * std[c]. A zero scale or std counts as 1 (so a zeroed struct gives raw
 * 0..255 values). Only the kept window is resampled. */
struct kw_preprocess {
    int resize_shorter;           /* 0: off */
    int resize_w, resize_h;       /* 0: off */
    int letterbox;                /* with resize_w/h: keep aspect, pad;
                                     1 centred, 2 top-left (YOLOX) */
    int crop_w, crop_h;           /* 0: no crop */
    enum kw_resize_method method;
    float scale;                  /* typically 1/255 */
    float mean[4], std[4];        /* in output channel order (B, G, R
                                     with bgr) */
    float pad_value;              /* letterbox border, in pixel units */
    int channels;                 /* 1 or 3 (gray or RGB); 0: 3 */
    int bgr;                      /* 1: channel order B, G, R */
    int nhwc;                     /* 1: NHWC instead of NCHW */
};

/* ImageNet: shorter side 256, centre crop 224, bilinear, mean
 * (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225), RGB, NCHW. */
KW_API void kw_preprocess_imagenet(struct kw_preprocess *p);

/* Where a processed pixel (x, y) came from in the original image:
 * x_orig = (x - dx) / sx, y_orig = (y - dy) / sy, in continuous
 * coordinates (pixel edges, so box corners map directly). */
struct kw_image_xform {
    float sx, sy, dx, dy;
};

/* Preprocesses n images into one float tensor [n, C, H, W] (or NHWC).
 * All images must come out the same size (fixed resize_w/h or crop).
 * xf (may be NULL) receives n transforms for mapping boxes back. The
 * caller frees *out with kw_onnx_value_free. */
KW_API enum kw_status kw_image_to_tensor(const struct kw_image *const *imgs,
                                         int n, const struct kw_preprocess *p,
                                         struct kw_onnx_value **out,
                                         struct kw_image_xform *xf,
                                         char *err, size_t err_size);

#ifdef __cplusplus
}
#endif

#endif /* KAIWU_IMAGE_H */
