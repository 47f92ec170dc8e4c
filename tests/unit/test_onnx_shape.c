/*
 * test_onnx_shape.c — the shape/indexing operators run on hand-built values
 * through fake nodes: strided copies (Transpose, Slice, Tile, Expand,
 * DepthToSpace) against naive index math on odd shapes and every element
 * size, string elements deep-copied, Pad in all four modes, and refusal of
 * hostile inputs (out-of-range indices and axes, bad shapes, huge steps).
 */
#include <string.h>

#include "onnx/onnx_internal.h"
#include "onnx_fake.h"
#include "testutil.h"

/* Tensor whose element i has value i (wrapping in small types). */
static struct kw_onnx_value *iota(int dtype, int rank, const int64_t *dims) {
    struct kw_onnx_value *v = kw_onnx_tensor_new(dtype, rank, dims);
    for (int64_t i = 0; i < kw_onnx_numel(v); i++) {
        if (dtype == KW_ONNX_STRING) {
            char buf[32];
            snprintf(buf, sizeof buf, "s%lld", (long long)i);
            ((char **)v->data)[i] = strdup(buf);
        } else {
            kw__set_i64(v, i, i);
        }
    }
    return v;
}

static struct kw_onnx_value *ints(int n, const int64_t *x) {
    int64_t d[1] = {n};
    struct kw_onnx_value *v = kw_onnx_tensor_new(KW_ONNX_INT64, 1, d);
    if (n) memcpy(v->data, x, (size_t)n * sizeof *x);
    return v;
}

/* element i of a and element j of b are equal */
static int same_elem(const struct kw_onnx_value *a, int64_t i,
                     const struct kw_onnx_value *b, int64_t j) {
    if (a->dtype == KW_ONNX_STRING) {
        const char *x = ((char **)a->data)[i], *y = ((char **)b->data)[j];
        return x && y && x != y && !strcmp(x, y); /* deep copy, same text */
    }
    size_t es = kw_onnx_dtype_size(a->dtype);
    return !memcmp((const char *)a->data + i * es,
                   (const char *)b->data + j * es, es);
}

static int shape_is(const struct kw_onnx_value *v, int rank,
                    const int64_t *dims) {
    if (!kw__is_tensor(v) || v->rank != rank) return 0;
    for (int i = 0; i < rank; i++)
        if (v->dims[i] != dims[i]) return 0;
    return 1;
}

static int vals_i64(const struct kw_onnx_value *v, const int64_t *want) {
    for (int64_t i = 0; i < kw_onnx_numel(v); i++)
        if (kw__get_i64(v, i) != want[i]) return 0;
    return 1;
}

static const int dtypes[] = {KW_ONNX_UINT8, KW_ONNX_INT16, KW_ONNX_FLOAT,
                             KW_ONNX_INT64, KW_ONNX_STRING, KW_ONNX_BOOL};

/* Transpose of every element size vs index math, 4-D odd shape. */
static void test_transpose(void) {
    int64_t d[4] = {3, 1, 5, 7}, perm[4] = {2, 0, 3, 1};
    for (size_t t = 0; t < sizeof dtypes / sizeof dtypes[0]; t++) {
        if (dtypes[t] == KW_ONNX_BOOL) continue;
        struct kw_onnx_value *x = iota(dtypes[t], 4, d);
        struct kw__attr a = kwt_a_ints("perm", perm, 4);
        struct kwt_call k;
        CHECK(kwt_call_run(&k, NULL, "Transpose", 13, &x, 1, 1, &a, 1) == KW_STATUS_OK);
        int64_t od[4] = {5, 3, 7, 1};
        CHECK(shape_is(k.out[0], 4, od));
        int bad = 0;
        for (int64_t i0 = 0; i0 < 5; i0++)
            for (int64_t i1 = 0; i1 < 3; i1++)
                for (int64_t i2 = 0; i2 < 7; i2++) {
                    int64_t o = (i0 * 3 + i1) * 7 + i2;
                    int64_t s = (i1 * 5 + i0) * 7 + i2;
                    bad += !same_elem(k.out[0], o, x, s);
                }
        CHECKF(!bad, "dtype %d", dtypes[t]);
        kwt_call_free(&k);
        /* bad permutation: repeated axis */
        int64_t p2[4] = {0, 0, 1, 2};
        a = kwt_a_ints("perm", p2, 4);
        CHECK(kwt_call_run(&k, NULL, "Transpose", 13, &x, 1, 1, &a, 1) != KW_STATUS_OK);
        kwt_call_free(&k);
        kw_onnx_value_free(x);
    }
    /* batched last-two-axes swaps take the tiled path: every element size,
     * sizes that are not multiples of the tile */
    int64_t d3[3] = {3, 13, 11}, p3[3] = {0, 2, 1};
    for (size_t t = 0; t < sizeof dtypes / sizeof dtypes[0]; t++) {
        struct kw_onnx_value *x = iota(dtypes[t], 3, d3);
        struct kw__attr a = kwt_a_ints("perm", p3, 3);
        struct kwt_call k;
        CHECK(kwt_call_run(&k, NULL, "Transpose", 13, &x, 1, 1, &a, 1) == KW_STATUS_OK);
        int bad = !k.out[0];
        for (int64_t b = 0; !bad && b < 3; b++)
            for (int64_t i = 0; i < 11; i++)
                for (int64_t j = 0; j < 13; j++)
                    bad += !same_elem(k.out[0], (b * 11 + i) * 13 + j, x,
                                      (b * 13 + j) * 11 + i);
        CHECKF(!bad, "dtype %d", dtypes[t]);
        kwt_call_free(&k);
        kw_onnx_value_free(x);
    }
    /* a larger 2-D float case that the thread split and row merging see */
    int64_t d2[2] = {131, 257};
    struct kw_onnx_value *x = iota(KW_ONNX_FLOAT, 2, d2);
    struct kwt_call k;
    CHECK(kwt_call_run(&k, NULL, "Transpose", 13, &x, 1, 1, NULL, 0) == KW_STATUS_OK);
    int bad = 0;
    for (int64_t i = 0; i < 257; i++)
        for (int64_t j = 0; j < 131; j++)
            bad += !same_elem(k.out[0], i * 131 + j, x, j * 257 + i);
    CHECK(!bad);
    kwt_call_free(&k);
    kw_onnx_value_free(x);
}

/* Slice with negative steps and extreme starts/ends vs a naive walk. */
static void test_slice(void) {
    int64_t d[2] = {6, 9};
    struct kw_onnx_value *x = iota(KW_ONNX_INT32, 2, d);
    struct {
        int64_t s, e, step;
        int64_t want[10];
        int n;
    } cases[] = {
        {INT64_MAX, INT64_MIN, -1, {8, 7, 6, 5, 4, 3, 2, 1, 0}, 9},
        {-2, -100, -3, {7, 4, 1}, 3},
        {1, INT64_MAX, 4, {1, 5}, 2},
        {0, 9, INT64_MAX, {0}, 1},
        {8, 0, INT64_MIN, {8}, 1},
        {5, 5, 1, {0}, 0},
        {-100, 3, 1, {0, 1, 2}, 3},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        int64_t s = cases[t].s, e = cases[t].e, ax = -1, st = cases[t].step;
        int64_t rows[1] = {1}, rowe[1] = {-2}, ax0[1] = {0};
        struct kw_onnx_value *in[5] = {x, ints(1, &s), ints(1, &e),
                                       ints(1, &ax), ints(1, &st)};
        struct kwt_call k;
        CHECK(kwt_call_run(&k, NULL, "Slice", 13, in, 5, 1, NULL, 0) == KW_STATUS_OK);
        int64_t od[2] = {6, cases[t].n};
        CHECKF(shape_is(k.out[0], 2, od), "case %zu", t);
        int bad = 0;
        for (int64_t r = 0; k.out[0] && r < 6; r++)
            for (int j = 0; j < cases[t].n; j++)
                bad += kw__get_i64(k.out[0], r * cases[t].n + j) !=
                       r * 9 + cases[t].want[j];
        CHECKF(!bad, "case %zu", t);
        kwt_call_free(&k);
        /* the same on rows 1..3 with axis 0 too (two axes at once) */
        int64_t s2[2] = {rows[0], s}, e2[2] = {rowe[0], e},
                a2[2] = {ax0[0], 1}, t2[2] = {1, st};
        struct kw_onnx_value *in2[5] = {x, ints(2, s2), ints(2, e2),
                                        ints(2, a2), ints(2, t2)};
        CHECK(kwt_call_run(&k, NULL, "Slice", 13, in2, 5, 1, NULL, 0) == KW_STATUS_OK);
        int64_t od2[2] = {3, cases[t].n};
        CHECKF(shape_is(k.out[0], 2, od2), "case %zu", t);
        bad = 0;
        for (int64_t r = 0; k.out[0] && r < 3; r++)
            for (int j = 0; j < cases[t].n; j++)
                bad += kw__get_i64(k.out[0], r * cases[t].n + j) !=
                       (r + 1) * 9 + cases[t].want[j];
        CHECKF(!bad, "case %zu (2 axes)", t);
        kwt_call_free(&k);
        for (int i = 1; i < 5; i++) {
            kw_onnx_value_free(in[i]);
            kw_onnx_value_free(in2[i]);
        }
    }
    /* step 0, repeated axis, axis out of range */
    int64_t z = 0, one = 1, big = 7, two[2] = {1, 1}, dup[2] = {0, -2};
    struct kw_onnx_value *in[5] = {x, ints(1, &z), ints(1, &one),
                                   ints(1, &z), ints(1, &z)};
    struct kwt_call k;
    CHECK(kwt_call_run(&k, NULL, "Slice", 13, in, 5, 1, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(in[3]);
    in[3] = ints(1, &big);
    ((int64_t *)in[4]->data)[0] = 1;
    CHECK(kwt_call_run(&k, NULL, "Slice", 13, in, 5, 1, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    for (int i = 1; i < 5; i++) kw_onnx_value_free(in[i]);
    struct kw_onnx_value *in2[4] = {x, ints(2, two), ints(2, two),
                                    ints(2, dup)};
    CHECK(kwt_call_run(&k, NULL, "Slice", 13, in2, 4, 1, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    for (int i = 1; i < 4; i++) kw_onnx_value_free(in2[i]);
    kw_onnx_value_free(x);
}

static void test_gather_strings(void) {
    int64_t d[2] = {3, 2};
    struct kw_onnx_value *x = iota(KW_ONNX_STRING, 2, d);
    int64_t idx[3] = {-1, 0, 2};
    struct kw_onnx_value *in[2] = {x, ints(3, idx)};
    struct kwt_call k;
    CHECK(kwt_call_run(&k, NULL, "Gather", 13, in, 2, 1, NULL, 0) == KW_STATUS_OK);
    int64_t od[2] = {3, 2};
    CHECK(shape_is(k.out[0], 2, od));
    CHECK(k.out[0] && same_elem(k.out[0], 0, x, 4) &&
          same_elem(k.out[0], 3, x, 1) && same_elem(k.out[0], 5, x, 5));
    kwt_call_free(&k);
    /* axis 1 */
    struct kw__attr a = kwt_a_int("axis", 1);
    ((int64_t *)in[1]->data)[2] = 1;
    CHECK(kwt_call_run(&k, NULL, "Gather", 13, in, 2, 1, &a, 1) == KW_STATUS_OK);
    int64_t od1[3] = {3, 3};
    CHECK(shape_is(k.out[0], 2, od1) && same_elem(k.out[0], 0, x, 1) &&
          same_elem(k.out[0], 5, x, 3));
    kwt_call_free(&k);
    /* out of range both ways */
    ((int64_t *)in[1]->data)[2] = 2;
    CHECK(kwt_call_run(&k, NULL, "Gather", 13, in, 2, 1, &a, 1) ==
          KW_STATUS_ERR_INVALID_ARG);
    CHECK(strstr(k.err, "out of range") != NULL);
    kwt_call_free(&k);
    ((int64_t *)in[1]->data)[2] = -4;
    CHECK(kwt_call_run(&k, NULL, "Gather", 13, in, 2, 1, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(in[1]);

    /* Concat of strings along axis 1, and a shape mismatch */
    struct kw_onnx_value *y = iota(KW_ONNX_STRING, 2, d);
    struct kw_onnx_value *cin[2] = {x, y};
    CHECK(kwt_call_run(&k, NULL, "Concat", 13, cin, 2, 1, &a, 1) == KW_STATUS_OK);
    int64_t cd[2] = {3, 4};
    CHECK(shape_is(k.out[0], 2, cd) && same_elem(k.out[0], 2, y, 0) &&
          same_elem(k.out[0], 5, x, 3) && same_elem(k.out[0], 11, y, 5));
    kwt_call_free(&k);
    int64_t d3[2] = {2, 2};
    struct kw_onnx_value *z = iota(KW_ONNX_STRING, 2, d3);
    cin[1] = z;
    CHECK(kwt_call_run(&k, NULL, "Concat", 13, cin, 2, 1, &a, 1) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(z);
    kw_onnx_value_free(y);
    kw_onnx_value_free(x);
}

/* Pad with numpy's results for the four modes. */
static void test_pad(void) {
    int64_t d[2] = {2, 3};
    struct kw_onnx_value *x = iota(KW_ONNX_INT32, 2, d); /* [[0 1 2][3 4 5]] */
    int64_t pads[4] = {1, 2, 0, 3};                       /* rows +1, cols +2/+3 */
    static const int64_t want[4][3 * 8] = {
        /* constant 9 */
        {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 0, 1, 2, 9, 9, 9, 9, 9, 3, 4, 5, 9,
         9, 9},
        /* reflect */
        {5, 4, 3, 4, 5, 4, 3, 4, 2, 1, 0, 1, 2, 1, 0, 1, 5, 4, 3, 4, 5, 4,
         3, 4},
        /* edge */
        {0, 0, 0, 1, 2, 2, 2, 2, 0, 0, 0, 1, 2, 2, 2, 2, 3, 3, 3, 4, 5, 5,
         5, 5},
        /* wrap */
        {4, 5, 3, 4, 5, 3, 4, 5, 1, 2, 0, 1, 2, 0, 1, 2, 4, 5, 3, 4, 5, 3,
         4, 5},
    };
    const char *modes[4] = {"constant", "reflect", "edge", "wrap"};
    int32_t nine = 9;
    struct kw_onnx_value *cv = kw_onnx_tensor_new(KW_ONNX_INT32, 0, NULL);
    memcpy(cv->data, &nine, 4);
    for (int m = 0; m < 4; m++) {
        struct kw_onnx_value *in[3] = {x, ints(4, pads), cv};
        struct kw__attr a = kwt_a_str("mode", modes[m]);
        struct kwt_call k;
        CHECK(kwt_call_run(&k, NULL, "Pad", 13, in, 3, 1, &a, 1) == KW_STATUS_OK);
        int64_t od[2] = {3, 8};
        CHECKF(shape_is(k.out[0], 2, od) && vals_i64(k.out[0], want[m]),
               "mode %s", modes[m]);
        kwt_call_free(&k);
        kw_onnx_value_free(in[1]);
    }
    /* negative pads crop; a pad that makes a negative size is refused */
    int64_t crop[4] = {0, -1, 0, -1}, neg[4] = {0, -2, 0, -2};
    struct kw_onnx_value *in[2] = {x, ints(4, crop)};
    struct kwt_call k;
    CHECK(kwt_call_run(&k, NULL, "Pad", 13, in, 2, 1, NULL, 0) == KW_STATUS_OK);
    int64_t od[2] = {2, 1}, w[2] = {1, 4};
    CHECK(shape_is(k.out[0], 2, od) && vals_i64(k.out[0], w));
    kwt_call_free(&k);
    kw_onnx_value_free(in[1]);
    in[1] = ints(4, neg);
    CHECK(kwt_call_run(&k, NULL, "Pad", 13, in, 2, 1, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(in[1]);
    kw_onnx_value_free(cv);
    kw_onnx_value_free(x);
}

static void test_tile_expand_d2s(void) {
    int64_t d[2] = {2, 3}, rep[2] = {2, 3};
    struct kw_onnx_value *x = iota(KW_ONNX_INT64, 2, d);
    struct kw_onnx_value *in[2] = {x, ints(2, rep)};
    struct kwt_call k;
    CHECK(kwt_call_run(&k, NULL, "Tile", 13, in, 2, 1, NULL, 0) == KW_STATUS_OK);
    int64_t od[2] = {4, 9};
    CHECK(shape_is(k.out[0], 2, od));
    int bad = 0;
    for (int64_t i = 0; k.out[0] && i < 4; i++)
        for (int64_t j = 0; j < 9; j++)
            bad += kw__get_i64(k.out[0], i * 9 + j) != (i % 2) * 3 + j % 3;
    CHECK(!bad);
    kwt_call_free(&k);
    ((int64_t *)in[1]->data)[0] = -1;
    CHECK(kwt_call_run(&k, NULL, "Tile", 13, in, 2, 1, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(in[1]);

    /* Expand [2,3] -> [4,2,3] and [2,1] broadcast both ways */
    int64_t sh[3] = {4, 1, 3};
    in[1] = ints(3, sh);
    CHECK(kwt_call_run(&k, NULL, "Expand", 13, in, 2, 1, NULL, 0) == KW_STATUS_OK);
    int64_t ed[3] = {4, 2, 3};
    CHECK(shape_is(k.out[0], 3, ed));
    bad = 0;
    for (int64_t i = 0; k.out[0] && i < 24; i++)
        bad += kw__get_i64(k.out[0], i) != i % 6;
    CHECK(!bad);
    kwt_call_free(&k);
    ((int64_t *)in[1]->data)[2] = 2; /* 3 vs 2 does not broadcast */
    CHECK(kwt_call_run(&k, NULL, "Expand", 13, in, 2, 1, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(in[1]);
    kw_onnx_value_free(x);

    /* DepthToSpace (both modes) then SpaceToDepth round trip for DCR */
    int64_t dd[4] = {2, 8, 3, 5};
    x = iota(KW_ONNX_FLOAT, 4, dd);
    struct kw__attr a[2] = {kwt_a_int("blocksize", 2), kwt_a_str("mode", "CRD")};
    CHECK(kwt_call_run(&k, NULL, "DepthToSpace", 13, &x, 1, 1, a, 2) == KW_STATUS_OK);
    int64_t sd[4] = {2, 2, 6, 10};
    CHECK(shape_is(k.out[0], 4, sd));
    bad = 0; /* CRD: y[n,c,h*2+i,w*2+j] = x[n, c*4 + i*2 + j, h, w] */
    for (int64_t n = 0; k.out[0] && n < 2; n++)
        for (int64_t c = 0; c < 2; c++)
            for (int64_t h = 0; h < 6; h++)
                for (int64_t w = 0; w < 10; w++) {
                    int64_t src = ((n * 8 + c * 4 + (h % 2) * 2 + w % 2) * 3 +
                                   h / 2) * 5 + w / 2;
                    bad += !same_elem(k.out[0], ((n * 2 + c) * 6 + h) * 10 + w,
                                      x, src);
                }
    CHECK(!bad);
    kwt_call_free(&k);
    CHECK(kwt_call_run(&k, NULL, "DepthToSpace", 13, &x, 1, 1, a, 1) == KW_STATUS_OK);
    struct kwt_call k2;
    CHECK(kwt_call_run(&k2, NULL, "SpaceToDepth", 13, k.out, 1, 1, a, 1) == KW_STATUS_OK);
    CHECK(shape_is(k2.out[0], 4, dd) &&
          !memcmp(k2.out[0]->data, x->data, x->nbytes));
    kwt_call_free(&k2);
    kwt_call_free(&k);
    a[0] = kwt_a_int("blocksize", 3); /* 8 channels are not divisible by 9 */
    CHECK(kwt_call_run(&k, NULL, "DepthToSpace", 13, &x, 1, 1, a, 1) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(x);
}

static void test_reshape_squeeze(void) {
    int64_t d[3] = {2, 1, 6};
    struct kw_onnx_value *x = iota(KW_ONNX_FLOAT, 3, d);
    int64_t s1[3] = {0, -1, 3}, s2[2] = {-1, -1}, s3[2] = {5, -1},
            s4[4] = {0, 0, 0, 0};
    struct kw_onnx_value *in[2] = {x, ints(3, s1)};
    struct kwt_call k;
    CHECK(kwt_call_run(&k, NULL, "Reshape", 14, in, 2, 1, NULL, 0) == KW_STATUS_OK);
    int64_t w1[3] = {2, 2, 3};
    CHECK(shape_is(k.out[0], 3, w1) &&
          !memcmp(k.out[0]->data, x->data, x->nbytes));
    kwt_call_free(&k);
    struct kw__attr az = kwt_a_int("allowzero", 1);
    CHECK(kwt_call_run(&k, NULL, "Reshape", 14, in, 2, 1, &az, 1) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(in[1]);
    in[1] = ints(2, s2);
    CHECK(kwt_call_run(&k, NULL, "Reshape", 14, in, 2, 1, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(in[1]);
    in[1] = ints(2, s3);
    CHECK(kwt_call_run(&k, NULL, "Reshape", 14, in, 2, 1, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(in[1]);
    in[1] = ints(4, s4); /* copies a dimension the input does not have */
    CHECK(kwt_call_run(&k, NULL, "Reshape", 14, in, 2, 1, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(in[1]);

    /* Squeeze: all ones by default; a non-1 axis is refused */
    CHECK(kwt_call_run(&k, NULL, "Squeeze", 13, &x, 1, 1, NULL, 0) == KW_STATUS_OK);
    int64_t w2[2] = {2, 6};
    CHECK(shape_is(k.out[0], 2, w2));
    kwt_call_free(&k);
    int64_t ax = -1;
    in[1] = ints(1, &ax);
    CHECK(kwt_call_run(&k, NULL, "Squeeze", 13, in, 2, 1, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    /* Unsqueeze (attribute form, opset 11) at -1 and 0 */
    int64_t uax[2] = {-1, 0};
    struct kw__attr ua = kwt_a_ints("axes", uax, 2);
    CHECK(kwt_call_run(&k, NULL, "Unsqueeze", 11, &x, 1, 1, &ua, 1) == KW_STATUS_OK);
    int64_t w3[5] = {1, 2, 1, 6, 1};
    CHECK(shape_is(k.out[0], 5, w3));
    kwt_call_free(&k);
    int64_t far = 6;
    ua = kwt_a_ints("axes", &far, 1);
    CHECK(kwt_call_run(&k, NULL, "Unsqueeze", 11, &x, 1, 1, &ua, 1) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(in[1]);
    kw_onnx_value_free(x);
}

static void test_split(void) {
    int64_t d[1] = {7};
    struct kw_onnx_value *x = iota(KW_ONNX_INT16, 1, d);
    struct kwt_call k;
    /* 7 into 3: refused before opset 18, 3/3/1 from 18 on */
    CHECK(kwt_call_run(&k, NULL, "Split", 13, &x, 1, 3, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    CHECK(kwt_call_run(&k, NULL, "Split", 18, &x, 1, 3, NULL, 0) == KW_STATUS_OK);
    CHECK(k.out[2] && k.out[2]->dims[0] == 1 && kw__get_i64(k.out[2], 0) == 6);
    kwt_call_free(&k);
    int64_t sz[3] = {2, 0, 5}, bad[3] = {4, -1, 4};
    struct kw_onnx_value *in[2] = {x, ints(3, sz)};
    CHECK(kwt_call_run(&k, NULL, "Split", 13, in, 2, 3, NULL, 0) == KW_STATUS_OK);
    int64_t w[5] = {2, 3, 4, 5, 6};
    CHECK(k.out[1] && k.out[1]->dims[0] == 0 && k.out[2]->dims[0] == 5 &&
          vals_i64(k.out[2], w));
    kwt_call_free(&k);
    kw_onnx_value_free(in[1]);
    in[1] = ints(3, bad);
    CHECK(kwt_call_run(&k, NULL, "Split", 13, in, 2, 3, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(in[1]);
    kw_onnx_value_free(x);
}

static void test_scatter_gathernd(void) {
    int64_t d[2] = {3, 4};
    struct kw_onnx_value *x = iota(KW_ONNX_INT64, 2, d);
    int64_t idx[2] = {2, -3};
    int64_t id[2] = {2, 1};
    struct kw_onnx_value *iv = kw_onnx_tensor_new(KW_ONNX_INT64, 2, id);
    memcpy(iv->data, idx, sizeof idx);
    int64_t ud[2] = {2, 4};
    struct kw_onnx_value *u = iota(KW_ONNX_INT64, 2, ud);
    struct kw_onnx_value *in[3] = {x, iv, u};
    struct kw__attr red = kwt_a_str("reduction", "add");
    struct kwt_call k;
    CHECK(kwt_call_run(&k, NULL, "ScatterND", 16, in, 3, 1, &red, 1) == KW_STATUS_OK);
    int64_t w[12] = {4, 6, 8, 10, 4, 5, 6, 7, 8, 10, 12, 14};
    CHECK(k.out[0] && vals_i64(k.out[0], w));
    kwt_call_free(&k);
    /* GatherND picks the same rows back */
    CHECK(kwt_call_run(&k, NULL, "GatherND", 13, in, 2, 1, NULL, 0) == KW_STATUS_OK);
    int64_t w2[8] = {8, 9, 10, 11, 0, 1, 2, 3};
    CHECK(shape_is(k.out[0], 2, ud) && vals_i64(k.out[0], w2));
    kwt_call_free(&k);
    ((int64_t *)iv->data)[1] = 3;
    CHECK(kwt_call_run(&k, NULL, "ScatterND", 16, in, 3, 1, NULL, 0) ==
          KW_STATUS_ERR_INVALID_ARG);
    kwt_call_free(&k);
    CHECK(kwt_call_run(&k, NULL, "GatherND", 13, in, 2, 1, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(u);
    kw_onnx_value_free(iv);

    /* ScatterElements axis 1 with mul and an out-of-range index */
    int64_t e[3] = {3, -1, 0};
    int64_t ed[2] = {3, 1};
    iv = kw_onnx_tensor_new(KW_ONNX_INT64, 2, ed);
    memcpy(iv->data, e, sizeof e);
    u = iota(KW_ONNX_INT64, 2, ed);
    in[1] = iv;
    in[2] = u;
    struct kw__attr sa[2] = {kwt_a_int("axis", 1), kwt_a_str("reduction", "mul")};
    CHECK(kwt_call_run(&k, NULL, "ScatterElements", 16, in, 3, 1, sa, 2) == KW_STATUS_OK);
    int64_t w3[12] = {0, 1, 2, 0, 4, 5, 6, 7, 16, 9, 10, 11};
    CHECK(k.out[0] && vals_i64(k.out[0], w3));
    kwt_call_free(&k);
    ((int64_t *)iv->data)[2] = 4;
    CHECK(kwt_call_run(&k, NULL, "ScatterElements", 16, in, 3, 1, sa, 2) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(u);
    kw_onnx_value_free(iv);
    kw_onnx_value_free(x);
}

static void test_unique_topk(void) {
    float v[8] = {2, 1, 1, 3, 4, 3, 2, 1};
    int64_t d[1] = {8};
    struct kw_onnx_value *x = kw_onnx_tensor_new(KW_ONNX_FLOAT, 1, d);
    memcpy(x->data, v, sizeof v);
    struct kwt_call k;
    struct kw__attr s0 = kwt_a_int("sorted", 0);
    CHECK(kwt_call_run(&k, NULL, "Unique", 11, &x, 1, 4, &s0, 1) == KW_STATUS_OK);
    int64_t y[4] = {2, 1, 3, 4}, fi[4] = {0, 1, 3, 4},
            inv[8] = {0, 1, 1, 2, 3, 2, 0, 1}, cnt[4] = {2, 3, 2, 1};
    CHECK(k.out[0] && k.out[0]->dims[0] == 4 && vals_i64(k.out[0], y) &&
          vals_i64(k.out[1], fi) && vals_i64(k.out[2], inv) &&
          vals_i64(k.out[3], cnt));
    kwt_call_free(&k);
    CHECK(kwt_call_run(&k, NULL, "Unique", 11, &x, 1, 4, NULL, 0) == KW_STATUS_OK);
    int64_t ys[4] = {1, 2, 3, 4}, fis[4] = {1, 0, 3, 4},
            invs[8] = {1, 0, 0, 2, 3, 2, 1, 0};
    CHECK(k.out[0] && vals_i64(k.out[0], ys) && vals_i64(k.out[1], fis) &&
          vals_i64(k.out[2], invs));
    kwt_call_free(&k);

    /* TopK: ties keep the lower index first; k beyond the axis refused */
    int64_t kk = 3;
    struct kw_onnx_value *in[2] = {x, ints(1, &kk)};
    CHECK(kwt_call_run(&k, NULL, "TopK", 11, in, 2, 2, NULL, 0) == KW_STATUS_OK);
    int64_t tv[3] = {4, 3, 3}, ti[3] = {4, 3, 5};
    CHECK(k.out[0] && vals_i64(k.out[0], tv) && vals_i64(k.out[1], ti));
    kwt_call_free(&k);
    struct kw__attr sm = kwt_a_int("largest", 0);
    CHECK(kwt_call_run(&k, NULL, "TopK", 11, in, 2, 2, &sm, 1) == KW_STATUS_OK);
    int64_t sv[3] = {1, 1, 1}, si[3] = {1, 2, 7};
    CHECK(k.out[0] && vals_i64(k.out[0], sv) && vals_i64(k.out[1], si));
    kwt_call_free(&k);
    ((int64_t *)in[1]->data)[0] = 9;
    CHECK(kwt_call_run(&k, NULL, "TopK", 11, in, 2, 2, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(in[1]);

    /* ArgMax first vs last of ties */
    struct kw__attr am[2] = {kwt_a_int("keepdims", 0),
                             kwt_a_int("select_last_index", 1)};
    CHECK(kwt_call_run(&k, NULL, "ArgMin", 13, &x, 1, 1, am, 2) == KW_STATUS_OK);
    CHECK(k.out[0] && k.out[0]->rank == 0 && kw__get_i64(k.out[0], 0) == 7);
    kwt_call_free(&k);
    CHECK(kwt_call_run(&k, NULL, "ArgMin", 13, &x, 1, 1, am, 1) == KW_STATUS_OK);
    CHECK(k.out[0] && kw__get_i64(k.out[0], 0) == 1);
    kwt_call_free(&k);
    kw_onnx_value_free(x);
}

static void test_misc(void) {
    struct kwt_call k;
    /* CumSum int32 reverse exclusive */
    int64_t d[1] = {5};
    struct kw_onnx_value *x = iota(KW_ONNX_INT32, 1, d);
    struct kw_onnx_value *ax = kw_onnx_tensor_new(KW_ONNX_INT32, 0, NULL);
    struct kw_onnx_value *in[2] = {x, ax};
    struct kw__attr ca[2] = {kwt_a_int("exclusive", 1), kwt_a_int("reverse", 1)};
    CHECK(kwt_call_run(&k, NULL, "CumSum", 14, in, 2, 1, ca, 2) == KW_STATUS_OK);
    int64_t w[5] = {10, 9, 7, 4, 0};
    CHECK(k.out[0] && vals_i64(k.out[0], w));
    kwt_call_free(&k);
    ((int32_t *)ax->data)[0] = 1;
    CHECK(kwt_call_run(&k, NULL, "CumSum", 14, in, 2, 1, ca, 2) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(ax);

    /* Range int and a range too long to allocate */
    int64_t r0 = 10, r1 = -3, r2 = -4;
    struct kw_onnx_value *rin[3] = {ints(1, &r0), ints(1, &r1), ints(1, &r2)};
    for (int i = 0; i < 3; i++) rin[i]->rank = 0;
    CHECK(kwt_call_run(&k, NULL, "Range", 11, rin, 3, 1, NULL, 0) == KW_STATUS_OK);
    int64_t rw[4] = {10, 6, 2, -2};
    CHECK(k.out[0] && k.out[0]->dims[0] == 4 && vals_i64(k.out[0], rw));
    kwt_call_free(&k);
    ((int64_t *)rin[0]->data)[0] = INT64_MAX;
    ((int64_t *)rin[1]->data)[0] = INT64_MIN;
    ((int64_t *)rin[2]->data)[0] = -1;
    CHECK(kwt_call_run(&k, NULL, "Range", 11, rin, 3, 1, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    ((int64_t *)rin[2]->data)[0] = 0;
    CHECK(kwt_call_run(&k, NULL, "Range", 11, rin, 3, 1, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    for (int i = 0; i < 3; i++) kw_onnx_value_free(rin[i]);

    /* OneHot with negative and out-of-range indices, string values */
    int64_t oi[3] = {-1, 2, 7}, od[1] = {2};
    struct kw_onnx_value *vals = kw_onnx_tensor_new(KW_ONNX_STRING, 1, od);
    ((char **)vals->data)[0] = strdup("off");
    ((char **)vals->data)[1] = strdup("on");
    struct kw_onnx_value *depth = kw_onnx_tensor_new(KW_ONNX_FLOAT, 0, NULL);
    ((float *)depth->data)[0] = 3;
    struct kw_onnx_value *oin[3] = {ints(3, oi), depth, vals};
    struct kw__attr oa = kwt_a_int("axis", 0);
    CHECK(kwt_call_run(&k, NULL, "OneHot", 11, oin, 3, 1, &oa, 1) == KW_STATUS_OK);
    int64_t ohd[2] = {3, 3};
    CHECK(shape_is(k.out[0], 2, ohd));
    /* column j holds index j: -1 -> row 2, 2 -> row 2, 7 -> nothing */
    const char *want[9] = {"off", "off", "off", "off", "off", "off",
                           "on",  "on",  "off"};
    int bad = 0;
    for (int i = 0; k.out[0] && i < 9; i++)
        bad += strcmp(((char **)k.out[0]->data)[i], want[i]) != 0;
    CHECK(!bad);
    kwt_call_free(&k);
    ((float *)depth->data)[0] = -5;
    CHECK(kwt_call_run(&k, NULL, "OneHot", 11, oin, 3, 1, &oa, 1) != KW_STATUS_OK);
    kwt_call_free(&k);
    for (int i = 0; i < 3; i++) kw_onnx_value_free(oin[i]);

    /* Compress without axis, NonZero, Trilu with a huge k */
    struct kw_onnx_value *cond = kw_onnx_tensor_new(KW_ONNX_BOOL, 1, d);
    ((uint8_t *)cond->data)[1] = ((uint8_t *)cond->data)[4] = 1;
    struct kw_onnx_value *cin[2] = {x, cond};
    CHECK(kwt_call_run(&k, NULL, "Compress", 11, cin, 2, 1, NULL, 0) == KW_STATUS_OK);
    int64_t cw[2] = {1, 4};
    CHECK(k.out[0] && k.out[0]->dims[0] == 2 && vals_i64(k.out[0], cw));
    kwt_call_free(&k);
    CHECK(kwt_call_run(&k, NULL, "NonZero", 13, &cond, 1, 1, NULL, 0) == KW_STATUS_OK);
    int64_t nd[2] = {1, 2};
    CHECK(shape_is(k.out[0], 2, nd) && vals_i64(k.out[0], cw));
    kwt_call_free(&k);
    kw_onnx_value_free(cond);
    int64_t td[2] = {3, 4};
    struct kw_onnx_value *m = iota(KW_ONNX_INT64, 2, td);
    int64_t big = INT64_MIN;
    struct kw_onnx_value *tin[2] = {m, ints(1, &big)};
    tin[1]->rank = 0;
    CHECK(kwt_call_run(&k, NULL, "Trilu", 14, tin, 2, 1, NULL, 0) == KW_STATUS_OK);
    CHECK(k.out[0] && !memcmp(k.out[0]->data, m->data, m->nbytes));
    kwt_call_free(&k);
    ((int64_t *)tin[1]->data)[0] = 1;
    struct kw__attr lo = kwt_a_int("upper", 0);
    CHECK(kwt_call_run(&k, NULL, "Trilu", 14, tin, 2, 1, &lo, 1) == KW_STATUS_OK);
    int64_t tw[12] = {0, 1, 0, 0, 4, 5, 6, 0, 8, 9, 10, 11};
    CHECK(k.out[0] && vals_i64(k.out[0], tw));
    kwt_call_free(&k);
    kw_onnx_value_free(tin[1]);
    kw_onnx_value_free(m);
    kw_onnx_value_free(x);

    /* Shape with start/end clamped, Constant from value_strings */
    int64_t sd[3] = {2, 3, 4};
    x = iota(KW_ONNX_FLOAT, 3, sd);
    struct kw__attr sa[2] = {kwt_a_int("start", -2), kwt_a_int("end", 100)};
    CHECK(kwt_call_run(&k, NULL, "Shape", 15, &x, 1, 1, sa, 2) == KW_STATUS_OK);
    int64_t shw[2] = {3, 4};
    CHECK(k.out[0] && k.out[0]->dims[0] == 2 && vals_i64(k.out[0], shw));
    kwt_call_free(&k);
    kw_onnx_value_free(x);
    const char *strs[2] = {"a", "bc"};
    struct kw__attr cs;
    memset(&cs, 0, sizeof cs);
    cs.name = "value_strings";
    cs.type = KW_ATTR_STRINGS;
    cs.strings = strs;
    cs.n = 2;
    CHECK(kwt_call_run(&k, NULL, "Constant", 13, NULL, 0, 1, &cs, 1) == KW_STATUS_OK);
    CHECK(k.out[0] && k.out[0]->dtype == KW_ONNX_STRING &&
          k.out[0]->dims[0] == 2 &&
          !strcmp(((char **)k.out[0]->data)[1], "bc"));
    kwt_call_free(&k);
}

int main(void) {
    test_transpose();
    test_slice();
    test_gather_strings();
    test_pad();
    test_tile_expand_d2s();
    test_reshape_squeeze();
    test_split();
    test_scatter_gathernd();
    test_unique_topk();
    test_misc();
    return kw_test_finish("test_onnx_shape");
}
