/*
 * postprocess.c — placeholder (being written).
 */
#include "core/internal.h"
#include "kaiwu/vision.h"

const char *kw_imagenet_label(int i) { return NULL; }
void kw_softmax(float *x, int n) {}
int kw_topk(const float *x, int n, int k, int *idx, float *val) { return 0; }
float kw_box_iou(const struct kw_box *a, const struct kw_box *b) { return 0; }
int kw_nms(struct kw_box *boxes, int n, float iou, int class_agnostic) { return 0; }
enum kw_status kw_yolox_decode(const struct kw_onnx_value *pred,
                               const struct kw_yolox_options *o,
                               struct kw_box **boxes, int *n, char *err,
                               size_t err_size) {
    return kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED, "not yet");
}
enum kw_status kw_ctc_greedy(const struct kw_onnx_value *out, int blank,
                             int **ids, int *n, char *err, size_t err_size) {
    return kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED, "not yet");
}
