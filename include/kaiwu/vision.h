/*
 * kaiwu/vision.h — what turns a vision model's output into an answer:
 * softmax and top-k with the built-in ImageNet-1k labels (classification),
 * YOLOX-style box decoding with non-maximum suppression (detection), and
 * greedy CTC decoding (text lines). Pure functions over ONNX values; no
 * state, thread-safe.
 */
#ifndef KAIWU_VISION_H
#define KAIWU_VISION_H

#include "kaiwu/kaiwu.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kw_onnx_value; /* kaiwu/onnx.h */

/* The ImageNet-1k class names in the standard index order ("tench", ...);
 * NULL when i is outside 0..999. Static storage. */
KW_API const char *kw_imagenet_label(int i);

/* Numerically stable softmax of x[0..n) in place. */
KW_API void kw_softmax(float *x, int n);

/* Turns a classifier's scores into probabilities in place: kept when they
 * already are a distribution (each in [0, 1], summing to 1 within 1e-3: a
 * softmax inside the graph), otherwise read as logits (kw_softmax). */
KW_API void kw_scores_to_probs(float *x, int n);

/* The k largest of x[0..n), best first (ties: lower index first); returns
 * how many were written (min(k, n)). */
KW_API int kw_topk(const float *x, int n, int k, int *idx, float *val);

struct kw_box {
    float x1, y1, x2, y2; /* pixels of the original image */
    float score;
    int cls;
};

/* Intersection over union of two boxes. */
KW_API float kw_box_iou(const struct kw_box *a, const struct kw_box *b);

/* Sorts boxes by score (descending) and keeps those overlapping no kept
 * box of the same class (class_agnostic: of any class) by more than iou;
 * returns the count kept (moved to the front). */
KW_API int kw_nms(struct kw_box *boxes, int n, float iou, int class_agnostic);

struct kw_yolox_options {
    int in_w, in_h;         /* the network's input size */
    const int *strides;     /* e.g. {8, 16, 32} */
    int n_strides;
    float score_threshold;  /* objectness * class score */
    float iou_threshold;    /* for NMS */
    int class_agnostic;
};

/* Decodes a YOLOX head output [1, N, 5 + classes] (cx, cy, w, h grid
 * offsets and log sizes, objectness, class scores) into boxes in network
 * input pixels, thresholds and applies NMS. *boxes is malloc'd (free()). */
KW_API enum kw_status kw_yolox_decode(const struct kw_onnx_value *pred,
                                      const struct kw_yolox_options *o,
                                      struct kw_box **boxes, int *n,
                                      char *err, size_t err_size);

/* Greedy CTC over logits/probabilities shaped [T, C], [1, T, C] or
 * [T, 1, C] (time_major), or class ids [T] / [1, T] (int64): best class
 * per step, repeats merged, blank dropped. *ids is malloc'd (free()). */
KW_API enum kw_status kw_ctc_greedy(const struct kw_onnx_value *out,
                                    int blank, int **ids, int *n, char *err,
                                    size_t err_size);

#ifdef __cplusplus
}
#endif

#endif /* KAIWU_VISION_H */
