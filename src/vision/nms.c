/*
 * nms.c — box overlap and greedy non-maximum suppression. Areas count
 * pixels inclusively ((x2 - x1 + 1) * (y2 - y1 + 1)), the convention of the
 * YOLOX reference post-processing that ddddocr uses, so the same boxes
 * survive. Entry points: kw_box_iou, kw_nms.
 */
#include <math.h>

#include "core/internal.h"
#include "kaiwu/vision.h"

static float area(const struct kw_box *b) {
    float w = b->x2 - b->x1 + 1.0f, h = b->y2 - b->y1 + 1.0f;
    return w > 0 && h > 0 ? w * h : 0.0f;
}

float kw_box_iou(const struct kw_box *a, const struct kw_box *b) {
    if (!a || !b)
        return 0.0f;
    float w = fminf(a->x2, b->x2) - fmaxf(a->x1, b->x1) + 1.0f;
    float h = fminf(a->y2, b->y2) - fmaxf(a->y1, b->y1) + 1.0f;
    float inter = (w > 0 ? w : 0.0f) * (h > 0 ? h : 0.0f);
    float uni = area(a) + area(b) - inter;
    return uni > 0 ? inter / uni : 0.0f;
}

/* a ranks before b: higher score; NaN scores rank last. The sort is
 * stable, so equal scores keep their input order. */
static int higher(const struct kw_box *a, const struct kw_box *b) {
    if (isnan(b->score))
        return !isnan(a->score);
    return a->score > b->score;
}

/* Stable sort by score, descending: merge sort with a scratch copy, or
 * insertion sort (no memory) when the scratch cannot be had. */
static void sort_boxes(struct kw_box *b, int n) {
    struct kw_box *t = malloc((size_t)n * sizeof *t);
    if (!t) {
        for (int i = 1; i < n; i++) {
            struct kw_box v = b[i];
            int j = i;
            while (j > 0 && higher(&v, &b[j - 1])) {
                b[j] = b[j - 1];
                j--;
            }
            b[j] = v;
        }
        return;
    }
    for (int w = 1; w < n; w *= 2) {
        for (int lo = 0; lo < n; lo += 2 * w) {
            int mid = KW_MIN(lo + w, n), hi = KW_MIN(lo + 2 * w, n);
            int i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                t[o++] = higher(&b[j], &b[i]) ? b[j++] : b[i++];
            while (i < mid)
                t[o++] = b[i++];
            while (j < hi)
                t[o++] = b[j++];
        }
        memcpy(b, t, (size_t)n * sizeof *b);
    }
    free(t);
}

int kw_nms(struct kw_box *boxes, int n, float iou, int class_agnostic) {
    if (!boxes || n <= 0)
        return 0;
    sort_boxes(boxes, n);
    /* Greedy: a box survives when no better surviving box overlaps it by
     * more than iou. Survivors are compacted to the front in score order. */
    int kept = 0;
    for (int i = 0; i < n; i++) {
        int keep = 1;
        for (int j = 0; j < kept && keep; j++) {
            if (!class_agnostic && boxes[j].cls != boxes[i].cls)
                continue;
            if (kw_box_iou(&boxes[j], &boxes[i]) > iou)
                keep = 0;
        }
        if (keep)
            boxes[kept++] = boxes[i];
    }
    return kept;
}
