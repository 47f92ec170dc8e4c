/*
 * test_vision.c — the vision post-processing against hand-worked answers:
 * softmax, top-k order and ties, the ImageNet label table, box IoU and NMS
 * (per class and class-agnostic), YOLOX decoding of a synthetic head,
 * greedy CTC with blanks and repeats, and hostile shapes that must fail
 * with a message instead of reading out of bounds.
 */
#include <math.h>
#include <string.h>

#include "kaiwu/onnx.h"
#include "kaiwu/vision.h"
#include "testutil.h"

static int near(float a, float b, float tol) { return fabsf(a - b) <= tol; }

static void test_softmax(void) {
    float x[4] = {1, 2, 3, 4};
    kw_softmax(x, 4);
    double sum = 0;
    for (int i = 0; i < 4; i++)
        sum += x[i];
    CHECK(near((float)sum, 1.0f, 1e-6f));
    CHECK(near(x[3] / x[2], expf(1.0f), 1e-4f));
    /* large logits stay finite */
    float big[3] = {1000, 1001, -1000};
    kw_softmax(big, 3);
    CHECK(isfinite(big[0]) && isfinite(big[1]) && big[2] == 0.0f);
    CHECK(near(big[0] + big[1], 1.0f, 1e-6f));
    float inf[3] = {INFINITY, 1, INFINITY};
    kw_softmax(inf, 3);
    CHECK(inf[0] == 0.5f && inf[1] == 0.0f && inf[2] == 0.5f);
    float ninf[2] = {-INFINITY, -INFINITY};
    kw_softmax(ninf, 2);
    CHECK(ninf[0] == 0.5f && ninf[1] == 0.5f);
    kw_softmax(NULL, 3);
    kw_softmax(x, 0);
}

static void test_scores_to_probs(void) {
    float p[3] = {0.25f, 0.5f, 0.25f}; /* a distribution: kept */
    kw_scores_to_probs(p, 3);
    CHECK(p[0] == 0.25f && p[1] == 0.5f && p[2] == 0.25f);
    float l[3] = {0.5f, 0.5f, 0.5f}; /* in [0, 1] but sums to 1.5: logits */
    kw_scores_to_probs(l, 3);
    CHECK(near(l[0], 1.0f / 3, 1e-6f) && near(l[2], 1.0f / 3, 1e-6f));
    float g[2] = {2.0f, -1.0f};
    kw_scores_to_probs(g, 2);
    CHECK(near(g[0] + g[1], 1.0f, 1e-6f) && g[0] > g[1]);
    kw_scores_to_probs(NULL, 2);
}

static void test_topk(void) {
    float x[8] = {0.1f, 0.5f, 0.3f, 0.5f, NAN, 0.9f, 0.5f, -1.0f};
    int idx[8];
    float val[8];
    int k = kw_topk(x, 8, 4, idx, val);
    CHECK(k == 4);
    /* ties go to the lower index; NaN ranks last */
    CHECK(idx[0] == 5 && idx[1] == 1 && idx[2] == 3 && idx[3] == 6);
    CHECK(val[0] == 0.9f && val[3] == 0.5f);
    k = kw_topk(x, 8, 100, idx, val);
    CHECK(k == 8 && idx[7] == 4 && idx[6] == 7);
    CHECK(kw_topk(x, 8, 0, idx, val) == 0);
    CHECK(kw_topk(x, 0, 3, idx, val) == 0);
    CHECK(kw_topk(NULL, 8, 3, idx, val) == 0);
    /* values only */
    CHECK(kw_topk(x, 8, 2, NULL, val) == 2 && val[0] == 0.9f && val[1] == 0.5f);
    /* large k takes the sorting path and must agree with the small one */
    enum { N = 3000 };
    static float y[N];
    static int ia[N], ib[N];
    uint64_t rng = 42;
    for (int i = 0; i < N; i++)
        y[i] = (float)(kw_test_rand(&rng) % 50); /* many ties */
    CHECK(kw_topk(y, N, N, ia, NULL) == N);
    CHECK(kw_topk(y, N, 64, ib, NULL) == 64);
    CHECK(memcmp(ia, ib, 64 * sizeof(int)) == 0);
    int sorted = 1;
    for (int i = 1; i < N; i++)
        if (y[ia[i]] > y[ia[i - 1]] ||
            (y[ia[i]] == y[ia[i - 1]] && ia[i] < ia[i - 1]))
            sorted = 0;
    CHECK(sorted);
}

static void test_labels(void) {
    CHECK(kw_imagenet_label(0) && !strcmp(kw_imagenet_label(0), "tench"));
    CHECK(kw_imagenet_label(999) != NULL);
    CHECK(kw_imagenet_label(-1) == NULL && kw_imagenet_label(1000) == NULL);
}

static void test_iou_nms(void) {
    /* pixel-inclusive: [0, 9] covers 10 pixels */
    struct kw_box a = {0, 0, 9, 9, 1, 0}, b = {5, 0, 14, 9, 1, 0};
    CHECK(near(kw_box_iou(&a, &b), 50.0f / 150.0f, 1e-6f));
    CHECK(near(kw_box_iou(&a, &a), 1.0f, 1e-6f));
    struct kw_box far = {100, 100, 110, 110, 1, 0};
    CHECK(kw_box_iou(&a, &far) == 0.0f);
    struct kw_box degenerate = {5, 5, 2, 2, 1, 0}; /* inverted: no area */
    CHECK(kw_box_iou(&degenerate, &degenerate) == 0.0f);
    CHECK(kw_box_iou(NULL, &a) == 0.0f);

    struct kw_box bx[5] = {
        {0, 0, 9, 9, 0.5f, 0},     /* overlaps the 0.9 box by 0.82: gone */
        {0, 0, 10, 10, 0.9f, 0},
        {0, 0, 10, 10, 0.8f, 1},   /* same place, other class */
        {50, 50, 60, 60, 0.7f, 0},
        {0, 0, 10, 10, NAN, 0},    /* NaN score: last, suppressed */
    };
    struct kw_box cp[5];
    memcpy(cp, bx, sizeof bx);
    int k = kw_nms(cp, 5, 0.45f, 0);
    CHECK(k == 3);
    CHECK(cp[0].score == 0.9f && cp[1].score == 0.8f && cp[2].score == 0.7f);
    memcpy(cp, bx, sizeof bx);
    k = kw_nms(cp, 5, 0.45f, 1);
    CHECK(k == 2 && cp[0].score == 0.9f && cp[1].score == 0.7f);
    /* a threshold of 1 keeps everything, sorted */
    memcpy(cp, bx, sizeof bx);
    CHECK(kw_nms(cp, 5, 1.0f, 1) == 5 && cp[0].score == 0.9f);
    CHECK(kw_nms(NULL, 5, 0.5f, 0) == 0 && kw_nms(cp, 0, 0.5f, 0) == 0);
    /* equal scores keep input order (stable) */
    struct kw_box eq[3] = {{0, 0, 1, 1, 0.5f, 7},
                           {20, 20, 21, 21, 0.5f, 8},
                           {40, 40, 41, 41, 0.5f, 9}};
    CHECK(kw_nms(eq, 3, 0.5f, 1) == 3 && eq[0].cls == 7 && eq[2].cls == 9);
}

/* A 64x64 input with strides 8, 16, 32: 64 + 16 + 4 = 84 anchors. */
static struct kw_onnx_value *yolox_head(int n_cls) {
    int64_t dims[3] = {1, 84, 5 + n_cls};
    struct kw_onnx_value *v = kw_onnx_tensor_new(KW_ONNX_FLOAT, 3, dims);
    if (!v)
        return NULL;
    float *p = v->data;
    for (int a = 0; a < 84; a++) {
        float *r = p + a * (5 + n_cls);
        r[4] = 0.05f; /* objectness */
        for (int c = 0; c < n_cls; c++)
            r[5 + c] = 0.5f;
    }
    return v;
}

static void set_anchor(struct kw_onnx_value *v, int a, int n_cls,
                       const float *vals) {
    memcpy((float *)v->data + a * (5 + n_cls), vals, (5 + n_cls) * sizeof(float));
}

static void test_yolox(void) {
    const int strides[3] = {8, 16, 32};
    struct kw_yolox_options o = {64, 64, strides, 3, 0.1f, 0.45f, 1};
    char err[256];
    struct kw_box *b = NULL;
    int n = -1;
    struct kw_onnx_value *v = yolox_head(2);
    CHECK(v != NULL);
    if (!v)
        return;
    /* stride 8, cell (3, 2) is anchor 2 * 8 + 3 = 19: centre (28, 20),
     * size 16 x 32, score 0.9 * 0.8 (class 1 beats class 0) */
    const float a19[7] = {0.5f, 0.5f, logf(2), logf(4), 0.9f, 0.3f, 0.8f};
    set_anchor(v, 19, 2, a19);
    /* stride 16, cell (1, 1) is anchor 64 + 5: centre (28, 20), 16 x 32
     * again but a lower score: suppressed by NMS */
    const float a69[7] = {0.75f, 0.25f, 0, logf(2), 0.6f, 0.6f, 0.1f};
    set_anchor(v, 69, 2, a69);
    /* stride 32, cell (1, 1) is anchor 83: centre (48, 48), 8 x 8 */
    const float a83[7] = {0.5f, 0.5f, logf(0.25f), logf(0.25f), 0.5f, 0.4f, 0};
    set_anchor(v, 83, 2, a83);
    CHECK(kw_yolox_decode(v, &o, &b, &n, err, sizeof err) == KW_STATUS_OK);
    CHECK(n == 2);
    if (n == 2) {
        CHECK(near(b[0].x1, 20, 1e-4f) && near(b[0].y1, 4, 1e-4f));
        CHECK(near(b[0].x2, 36, 1e-4f) && near(b[0].y2, 36, 1e-4f));
        CHECK(near(b[0].score, 0.72f, 1e-6f) && b[0].cls == 1);
        CHECK(near(b[1].x1, 44, 1e-4f) && near(b[1].x2, 52, 1e-4f));
        CHECK(near(b[1].score, 0.2f, 1e-6f) && b[1].cls == 0);
    }
    free(b);
    /* without suppression the duplicate stays */
    o.iou_threshold = 1.0f;
    CHECK(kw_yolox_decode(v, &o, &b, &n, err, sizeof err) == KW_STATUS_OK);
    CHECK(n == 3);
    free(b);
    /* a threshold above every score: no boxes, still a valid array */
    o.score_threshold = 0.99f;
    CHECK(kw_yolox_decode(v, &o, &b, &n, err, sizeof err) == KW_STATUS_OK);
    CHECK(n == 0);
    free(b);
    o.score_threshold = 0.1f;

    /* hostile shapes and options */
    struct kw_yolox_options bad = o;
    bad.in_w = 32; /* 16 + 4 + 1 = 21... anchors != 84 */
    CHECK(kw_yolox_decode(v, &bad, &b, &n, err, sizeof err) != KW_STATUS_OK);
    CHECK(b == NULL && n == 0 && strstr(err, "anchors"));
    const int zero[1] = {0};
    bad = o;
    bad.strides = zero;
    bad.n_strides = 1;
    CHECK(kw_yolox_decode(v, &bad, &b, &n, err, sizeof err) != KW_STATUS_OK);
    bad = o;
    bad.n_strides = 1000;
    CHECK(kw_yolox_decode(v, &bad, &b, &n, err, sizeof err) != KW_STATUS_OK);
    size_t keep = v->nbytes;
    v->nbytes = keep - 4; /* data shorter than the shape says */
    CHECK(kw_yolox_decode(v, &o, &b, &n, err, sizeof err) != KW_STATUS_OK);
    v->nbytes = keep;
    v->dims[2] = 5; /* no class column */
    CHECK(kw_yolox_decode(v, &o, &b, &n, err, sizeof err) != KW_STATUS_OK);
    v->dims[2] = 7;
    v->dims[0] = 2; /* a batch of 2 is not a [1, N, 5 + C] head */
    CHECK(kw_yolox_decode(v, &o, &b, &n, err, sizeof err) != KW_STATUS_OK);
    v->dims[0] = 1;
    v->dtype = KW_ONNX_INT64;
    CHECK(kw_yolox_decode(v, &o, &b, &n, err, sizeof err) != KW_STATUS_OK);
    v->dtype = KW_ONNX_FLOAT;
    CHECK(kw_yolox_decode(NULL, &o, &b, &n, err, sizeof err) != KW_STATUS_OK);
    /* NaN everywhere: no box passes, nothing crashes */
    for (int i = 0; i < 84 * 7; i++)
        ((float *)v->data)[i] = NAN;
    CHECK(kw_yolox_decode(v, &o, &b, &n, err, sizeof err) == KW_STATUS_OK);
    CHECK(n == 0);
    free(b);
    kw_onnx_value_free(v);
}

static int ctc_float(const int64_t *dims, int rank, const float *data,
                     int blank, int *ids, int max) {
    struct kw_onnx_value *v = kw_onnx_tensor_new(KW_ONNX_FLOAT, rank, dims);
    if (!v)
        return -2;
    memcpy(v->data, data, v->nbytes);
    int *out = NULL, n = -1;
    char err[256];
    enum kw_status st = kw_ctc_greedy(v, blank, &out, &n, err, sizeof err);
    kw_onnx_value_free(v);
    if (st != KW_STATUS_OK)
        return -1;
    for (int i = 0; i < n && i < max; i++)
        ids[i] = out[i];
    free(out);
    return n;
}

static void test_ctc(void) {
    /* T = 7, C = 3 with blank 0: steps argmax 1 1 0 1 2 2 0 -> "1 1 2" */
    const float s[7 * 3] = {0, 5, 1,  0, 5, 1,  9, 1, 1,  0, 3, 2,
                            0, 1, 4,  1, 1, 4,  2, 1, 1};
    int ids[8];
    const int64_t tc[2] = {7, 3}, btc[3] = {1, 7, 3}, tbc[3] = {7, 1, 3};
    CHECK(ctc_float(tc, 2, s, 0, ids, 8) == 3 && ids[0] == 1 && ids[1] == 1 &&
          ids[2] == 2);
    CHECK(ctc_float(btc, 3, s, 0, ids, 8) == 3 && ids[2] == 2);
    CHECK(ctc_float(tbc, 3, s, 0, ids, 8) == 3 && ids[0] == 1);
    /* blank 2 instead: 1 0 1 0 */
    CHECK(ctc_float(tc, 2, s, 2, ids, 8) == 4 && ids[0] == 1 && ids[1] == 0 &&
          ids[2] == 1 && ids[3] == 0);
    /* no blank (-1): repeats still merge: 1 0 1 2 0 */
    CHECK(ctc_float(tc, 2, s, -1, ids, 8) == 5 && ids[3] == 2 && ids[4] == 0);
    /* ties pick the first class; NaN wins like numpy's argmax */
    const float tie[2 * 3] = {1, 3, 3, 1, NAN, 3};
    const int64_t t2[2] = {2, 3};
    CHECK(ctc_float(t2, 2, tie, 0, ids, 8) == 1 && ids[0] == 1);
    const int64_t t0[2] = {0, 3};
    CHECK(ctc_float(t0, 2, s, 0, ids, 8) == 0);

    /* int64 class ids */
    const int64_t cd[2] = {1, 6};
    struct kw_onnx_value *v = kw_onnx_tensor_new(KW_ONNX_INT64, 2, cd);
    CHECK(v != NULL);
    if (v) {
        const int64_t c[6] = {3, 3, 0, 3, 0, 0};
        memcpy(v->data, c, sizeof c);
        int *out = NULL, n = 0;
        char err[256];
        CHECK(kw_ctc_greedy(v, 0, &out, &n, err, sizeof err) == KW_STATUS_OK);
        CHECK(n == 2 && out[0] == 3 && out[1] == 3);
        free(out);
        ((int64_t *)v->data)[0] = (int64_t)1 << 40; /* not an int */
        CHECK(kw_ctc_greedy(v, 0, &out, &n, err, sizeof err) != KW_STATUS_OK);
        CHECK(out == NULL && n == 0);
        v->nbytes = 8; /* shorter than the shape */
        CHECK(kw_ctc_greedy(v, 0, &out, &n, err, sizeof err) != KW_STATUS_OK);
        kw_onnx_value_free(v);
    }
    /* hostile: rank 4, strings, short data, NULLs */
    const int64_t d4[4] = {1, 1, 2, 3};
    struct kw_onnx_value *w = kw_onnx_tensor_new(KW_ONNX_FLOAT, 4, d4);
    int *out = NULL, n = 0;
    char err[256];
    if (w) {
        CHECK(kw_ctc_greedy(w, 0, &out, &n, err, sizeof err) != KW_STATUS_OK);
        w->rank = 2;
        w->dims[0] = 1000;
        w->dims[1] = 1000; /* far more than the 6 floats present */
        CHECK(kw_ctc_greedy(w, 0, &out, &n, err, sizeof err) != KW_STATUS_OK);
        w->dims[1] = 0; /* time steps without classes */
        CHECK(kw_ctc_greedy(w, 0, &out, &n, err, sizeof err) != KW_STATUS_OK);
        w->dims[0] = -1;
        w->dims[1] = 3;
        CHECK(kw_ctc_greedy(w, 0, &out, &n, err, sizeof err) != KW_STATUS_OK);
        w->dims[0] = 2;
        w->dtype = KW_ONNX_BOOL;
        CHECK(kw_ctc_greedy(w, 0, &out, &n, err, sizeof err) != KW_STATUS_OK);
        w->dtype = KW_ONNX_FLOAT;
        kw_onnx_value_free(w);
    }
    CHECK(kw_ctc_greedy(NULL, 0, &out, &n, err, sizeof err) != KW_STATUS_OK);
}

int main(void) {
    test_softmax();
    test_scores_to_probs();
    test_topk();
    test_labels();
    test_iou_nms();
    test_yolox();
    test_ctc();
    return kw_test_finish("test_vision");
}
