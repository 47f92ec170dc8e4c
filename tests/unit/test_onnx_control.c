/*
 * test_onnx_control.c — the sequence and optional operators of the
 * 'control' family run on hand-built values through fake nodes (no
 * loader): results, position/axis handling, string elements, and refusal
 * of out-of-range positions and bad splits; If/Loop/Scan/SequenceMap with
 * hand-built pass-through bodies (outputs wired straight to inputs or
 * initializers, so no other operator is needed) against results worked
 * out here (Scan axes/directions, Scan-8 batches and sequence_lens, Loop
 * trip count/cond/zero trips).
 */
#include <string.h>

#include "onnx/exec.h"
#include "onnx/onnx_internal.h"
#include "onnx_fake.h"
#include "testutil.h"

static struct kw_onnx_value *vec_f(int n, const float *x) {
    int64_t d[1] = {n};
    struct kw_onnx_value *v = kw_onnx_tensor_new(KW_ONNX_FLOAT, 1, d);
    memcpy(v->data, x, (size_t)n * sizeof *x);
    return v;
}

static struct kw_onnx_value *scalar_i64(int64_t x) {
    struct kw_onnx_value *v = kw_onnx_tensor_new(KW_ONNX_INT64, 0, NULL);
    ((int64_t *)v->data)[0] = x;
    return v;
}

static struct kw_onnx_value *range_f(int rank, const int64_t *dims) {
    struct kw_onnx_value *v = kw_onnx_tensor_new(KW_ONNX_FLOAT, rank, dims);
    for (int64_t i = 0; i < kw_onnx_numel(v); i++)
        ((float *)v->data)[i] = (float)i;
    return v;
}

static int is_f(const struct kw_onnx_value *v, int rank, const int64_t *dims,
                const float *want) {
    if (!kw__is_tensor(v) || v->dtype != KW_ONNX_FLOAT || v->rank != rank)
        return 0;
    for (int d = 0; d < rank; d++)
        if (v->dims[d] != dims[d]) return 0;
    for (int64_t i = 0; i < kw_onnx_numel(v); i++)
        if (((float *)v->data)[i] != want[i]) return 0;
    return 1;
}

static void test_construct_at_insert_erase(void) {
    float a[] = {1, 2}, b[] = {3}, cc[] = {4, 5, 6};
    struct kw_onnx_value *in[3] = {vec_f(2, a), vec_f(1, b), vec_f(3, cc)};
    struct kwt_call k, k2;
    CHECK(kwt_call_run(&k, &k.bare, "SequenceConstruct", 11, in, 3, 1, NULL, 0) ==
          KW_STATUS_OK);
    struct kw_onnx_value *seq = k.out[0];
    CHECK(seq && seq->kind == KW_ONNX_SEQUENCE && seq->n_items == 3);
    CHECK(seq && seq->elem_dtype == KW_ONNX_FLOAT);

    struct kw_onnx_value *len_in[1] = {seq};
    CHECK(kwt_call_run(&k2, &k2.bare, "SequenceLength", 11, len_in, 1, 1, NULL, 0) ==
          KW_STATUS_OK);
    CHECK(k2.out[0] && k2.out[0]->dtype == KW_ONNX_INT64 &&
          k2.out[0]->rank == 0 && ((int64_t *)k2.out[0]->data)[0] == 3);
    kwt_call_free(&k2);

    /* SequenceAt -1 is the last item, -4 and 3 are out of range */
    struct kw_onnx_value *pos = scalar_i64(-1);
    struct kw_onnx_value *at_in[2] = {seq, pos};
    int64_t d3[1] = {3};
    CHECK(kwt_call_run(&k2, &k2.bare, "SequenceAt", 11, at_in, 2, 1, NULL, 0) == KW_STATUS_OK);
    CHECK(is_f(k2.out[0], 1, d3, cc));
    kwt_call_free(&k2);
    ((int64_t *)pos->data)[0] = -4;
    CHECK(kwt_call_run(&k2, &k2.bare, "SequenceAt", 11, at_in, 2, 1, NULL, 0) != KW_STATUS_OK);
    CHECK(strstr(k2.err, "out of range") != NULL);
    kwt_call_free(&k2);
    ((int64_t *)pos->data)[0] = 3;
    CHECK(kwt_call_run(&k2, &k2.bare, "SequenceAt", 11, at_in, 2, 1, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k2);

    /* insert at the front (position -3 == 0), at the back (absent), at 3 */
    float x[] = {9};
    int64_t d1[1] = {1};
    struct kw_onnx_value *t = vec_f(1, x);
    ((int64_t *)pos->data)[0] = -3;
    struct kw_onnx_value *ins_in[3] = {seq, t, pos};
    CHECK(kwt_call_run(&k2, &k2.bare, "SequenceInsert", 11, ins_in, 3, 1, NULL, 0) ==
          KW_STATUS_OK);
    CHECK(k2.out[0] && k2.out[0]->n_items == 4 &&
          is_f(k2.out[0]->items[0], 1, d1, x) &&
          is_f(k2.out[0]->items[3], 1, d3, cc));
    kwt_call_free(&k2);
    CHECK(kwt_call_run(&k2, &k2.bare, "SequenceInsert", 11, ins_in, 2, 1, NULL, 0) ==
          KW_STATUS_OK);
    CHECK(k2.out[0] && k2.out[0]->n_items == 4 &&
          is_f(k2.out[0]->items[3], 1, d1, x));
    kwt_call_free(&k2);
    ((int64_t *)pos->data)[0] = 4;
    CHECK(kwt_call_run(&k2, &k2.bare, "SequenceInsert", 11, ins_in, 3, 1, NULL, 0) !=
          KW_STATUS_OK);
    kwt_call_free(&k2);
    /* a tensor of another dtype does not go into a float sequence */
    struct kw_onnx_value *i64 = scalar_i64(1);
    struct kw_onnx_value *bad_in[2] = {seq, i64};
    CHECK(kwt_call_run(&k2, &k2.bare, "SequenceInsert", 11, bad_in, 2, 1, NULL, 0) !=
          KW_STATUS_OK);
    kwt_call_free(&k2);

    /* erase: default is the last; 0 removes the first */
    struct kw_onnx_value *er_in[2] = {seq, pos};
    CHECK(kwt_call_run(&k2, &k2.bare, "SequenceErase", 11, er_in, 1, 1, NULL, 0) ==
          KW_STATUS_OK);
    CHECK(k2.out[0] && k2.out[0]->n_items == 2 &&
          is_f(k2.out[0]->items[1], 1, d1, b));
    kwt_call_free(&k2);
    ((int64_t *)pos->data)[0] = 0;
    CHECK(kwt_call_run(&k2, &k2.bare, "SequenceErase", 11, er_in, 2, 1, NULL, 0) ==
          KW_STATUS_OK);
    CHECK(k2.out[0] && k2.out[0]->n_items == 2 &&
          is_f(k2.out[0]->items[0], 1, d1, b));
    kwt_call_free(&k2);

    /* SequenceEmpty with a dtype, then an insert fills it */
    struct kw__attr dt = kwt_a_int("dtype", KW_ONNX_INT64);
    CHECK(kwt_call_run(&k2, &k2.bare, "SequenceEmpty", 11, NULL, 0, 1, &dt, 1) == KW_STATUS_OK);
    CHECK(k2.out[0] && k2.out[0]->kind == KW_ONNX_SEQUENCE &&
          k2.out[0]->n_items == 0 && k2.out[0]->elem_dtype == KW_ONNX_INT64);
    struct kw_onnx_value *e_in[2] = {k2.out[0], i64};
    struct kwt_call k3;
    CHECK(kwt_call_run(&k3, &k3.bare, "SequenceInsert", 11, e_in, 2, 1, NULL, 0) ==
          KW_STATUS_OK);
    CHECK(k3.out[0] && k3.out[0]->n_items == 1);
    kwt_call_free(&k3);
    /* erasing from an empty sequence fails */
    CHECK(kwt_call_run(&k3, &k3.bare, "SequenceErase", 11, e_in, 1, 1, NULL, 0) !=
          KW_STATUS_OK);
    kwt_call_free(&k3);
    kwt_call_free(&k2);

    kw_onnx_value_free(i64);
    kw_onnx_value_free(t);
    kw_onnx_value_free(pos);
    kwt_call_free(&k);
    for (int i = 0; i < 3; i++) kw_onnx_value_free(in[i]);
}

static void test_split_concat(void) {
    int64_t dims[2] = {2, 5};
    struct kw_onnx_value *x = range_f(2, dims);
    struct kwt_call k, k2;
    /* no split: parts of 1 along axis 1; keepdims=0 drops the axis */
    struct kw__attr at[2] = {kwt_a_int("axis", 1), kwt_a_int("keepdims", 0)};
    struct kw_onnx_value *in[2] = {x, NULL};
    CHECK(kwt_call_run(&k, &k.bare, "SplitToSequence", 11, in, 1, 1, at, 2) == KW_STATUS_OK);
    int64_t d2[1] = {2};
    float col3[] = {3, 8};
    CHECK(k.out[0] && k.out[0]->n_items == 5 &&
          is_f(k.out[0]->items[3], 1, d2, col3));
    /* stacking them back along axis 1 gives x */
    struct kw__attr st[2] = {kwt_a_int("axis", -1), kwt_a_int("new_axis", 1)};
    struct kw_onnx_value *cin[1] = {k.out[0]};
    CHECK(kwt_call_run(&k2, &k2.bare, "ConcatFromSequence", 11, cin, 1, 1, st, 2) ==
          KW_STATUS_OK);
    CHECK(is_f(k2.out[0], 2, dims, x->data));
    kwt_call_free(&k2);
    kwt_call_free(&k);

    /* scalar split 2: parts of 2, 2, 1; concatenated back along axis 1 */
    struct kw_onnx_value *two = scalar_i64(2);
    in[1] = two;
    CHECK(kwt_call_run(&k, &k.bare, "SplitToSequence", 11, in, 2, 1, at, 2) == KW_STATUS_OK);
    int64_t d21[2] = {2, 1};
    float last[] = {4, 9};
    CHECK(k.out[0] && k.out[0]->n_items == 3 &&
          is_f(k.out[0]->items[2], 2, d21, last));
    struct kw__attr ax1 = kwt_a_int("axis", 1);
    cin[0] = k.out[0];
    CHECK(kwt_call_run(&k2, &k2.bare, "ConcatFromSequence", 11, cin, 1, 1, &ax1, 1) ==
          KW_STATUS_OK);
    CHECK(is_f(k2.out[0], 2, dims, x->data));
    kwt_call_free(&k2);
    /* axis 0 concatenation needs equal widths: 2, 2, 1 are not */
    struct kw__attr ax0 = kwt_a_int("axis", 0);
    CHECK(kwt_call_run(&k2, &k2.bare, "ConcatFromSequence", 11, cin, 1, 1, &ax0, 1) !=
          KW_STATUS_OK);
    kwt_call_free(&k2);
    kwt_call_free(&k);

    /* list split [1, 4] along axis 1; [2, 4] does not sum to 5 */
    int64_t d_sp[1] = {2};
    struct kw_onnx_value *sp = kw_onnx_tensor_new(KW_ONNX_INT64, 1, d_sp);
    ((int64_t *)sp->data)[0] = 1;
    ((int64_t *)sp->data)[1] = 4;
    in[1] = sp;
    CHECK(kwt_call_run(&k, &k.bare, "SplitToSequence", 11, in, 2, 1, at, 2) == KW_STATUS_OK);
    int64_t d24[2] = {2, 4};
    float rest[] = {1, 2, 3, 4, 6, 7, 8, 9};
    CHECK(k.out[0] && k.out[0]->n_items == 2 &&
          is_f(k.out[0]->items[1], 2, d24, rest));
    kwt_call_free(&k);
    ((int64_t *)sp->data)[0] = 2;
    CHECK(kwt_call_run(&k, &k.bare, "SplitToSequence", 11, in, 2, 1, at, 2) != KW_STATUS_OK);
    kwt_call_free(&k);
    ((int64_t *)sp->data)[0] = -1;
    ((int64_t *)sp->data)[1] = 6;
    CHECK(kwt_call_run(&k, &k.bare, "SplitToSequence", 11, in, 2, 1, at, 2) != KW_STATUS_OK);
    kwt_call_free(&k);
    struct kw__attr bad_axis = kwt_a_int("axis", 2);
    CHECK(kwt_call_run(&k, &k.bare, "SplitToSequence", 11, in, 1, 1, &bad_axis, 1) !=
          KW_STATUS_OK);
    kwt_call_free(&k);

    /* an empty sequence cannot be concatenated */
    struct kw_onnx_value *empty = kw__sequence_new(KW_ONNX_FLOAT);
    cin[0] = empty;
    CHECK(kwt_call_run(&k, &k.bare, "ConcatFromSequence", 11, cin, 1, 1, &ax0, 1) !=
          KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(empty);
    kw_onnx_value_free(sp);
    kw_onnx_value_free(two);
    kw_onnx_value_free(x);
}

static void test_strings(void) {
    int64_t d[1] = {3};
    struct kw_onnx_value *s = kw_onnx_tensor_new(KW_ONNX_STRING, 1, d);
    char **p = s->data;
    p[0] = strdup("a");
    p[1] = strdup("bc");
    p[2] = strdup("def");
    struct kw_onnx_value *in[1] = {s};
    struct kwt_call k, k2;
    CHECK(kwt_call_run(&k, &k.bare, "SplitToSequence", 11, in, 1, 1, NULL, 0) == KW_STATUS_OK);
    CHECK(k.out[0] && k.out[0]->n_items == 3 &&
          !strcmp(((char **)k.out[0]->items[2]->data)[0], "def"));
    struct kw__attr ax0 = kwt_a_int("axis", 0);
    struct kw_onnx_value *cin[1] = {k.out[0]};
    CHECK(kwt_call_run(&k2, &k2.bare, "ConcatFromSequence", 11, cin, 1, 1, &ax0, 1) ==
          KW_STATUS_OK);
    CHECK(k2.out[0] && k2.out[0]->dtype == KW_ONNX_STRING &&
          k2.out[0]->dims[0] == 3 &&
          !strcmp(((char **)k2.out[0]->data)[1], "bc"));
    kwt_call_free(&k2);
    kwt_call_free(&k);
    kw_onnx_value_free(s);
}

static void test_optional(void) {
    struct kwt_call k, k2;
    /* empty optional from the type attribute */
    struct kw__attr tp;
    memset(&tp, 0, sizeof tp);
    tp.name = "type";
    tp.type = KW_ATTR_TYPE_PROTO;
    tp.tp_kind = KW_ONNX_TENSOR;
    tp.tp_dtype = KW_ONNX_INT32;
    struct kw_onnx_value *none[1] = {NULL};
    CHECK(kwt_call_run(&k, &k.bare, "Optional", 15, none, 1, 1, &tp, 1) == KW_STATUS_OK);
    CHECK(k.out[0] && k.out[0]->kind == KW_ONNX_OPTIONAL &&
          k.out[0]->n_items == 0 && k.out[0]->elem_dtype == KW_ONNX_INT32);
    struct kw_onnx_value *in[1] = {k.out[0]};
    CHECK(kwt_call_run(&k2, &k2.bare, "OptionalHasElement", 15, in, 1, 1, NULL, 0) ==
          KW_STATUS_OK);
    CHECK(k2.out[0] && k2.out[0]->dtype == KW_ONNX_BOOL &&
          ((uint8_t *)k2.out[0]->data)[0] == 0);
    kwt_call_free(&k2);
    CHECK(kwt_call_run(&k2, &k2.bare, "OptionalGetElement", 15, in, 1, 1, NULL, 0) !=
          KW_STATUS_OK);
    kwt_call_free(&k2);
    kwt_call_free(&k);
    /* Optional without input nor type is refused */
    CHECK(kwt_call_run(&k, &k.bare, "Optional", 15, none, 1, 1, NULL, 0) != KW_STATUS_OK);
    kwt_call_free(&k);
    /* an absent input and a NONE value have no element */
    CHECK(kwt_call_run(&k2, &k2.bare, "OptionalHasElement", 18, none, 1, 1, NULL, 0) ==
          KW_STATUS_OK);
    CHECK(k2.out[0] && ((uint8_t *)k2.out[0]->data)[0] == 0);
    kwt_call_free(&k2);

    /* optional of a tensor and of a sequence */
    float x[] = {1, 2};
    int64_t d2[1] = {2};
    struct kw_onnx_value *t = vec_f(2, x);
    in[0] = t;
    CHECK(kwt_call_run(&k, &k.bare, "Optional", 15, in, 1, 1, NULL, 0) == KW_STATUS_OK);
    CHECK(k.out[0] && k.out[0]->kind == KW_ONNX_OPTIONAL &&
          k.out[0]->n_items == 1);
    in[0] = k.out[0];
    CHECK(kwt_call_run(&k2, &k2.bare, "OptionalHasElement", 15, in, 1, 1, NULL, 0) ==
          KW_STATUS_OK);
    CHECK(k2.out[0] && ((uint8_t *)k2.out[0]->data)[0] == 1);
    kwt_call_free(&k2);
    CHECK(kwt_call_run(&k2, &k2.bare, "OptionalGetElement", 15, in, 1, 1, NULL, 0) ==
          KW_STATUS_OK);
    CHECK(is_f(k2.out[0], 1, d2, x));
    kwt_call_free(&k2);
    kwt_call_free(&k);
    /* a plain tensor passes through OptionalGetElement (opset 18) */
    in[0] = t;
    CHECK(kwt_call_run(&k2, &k2.bare, "OptionalGetElement", 18, in, 1, 1, NULL, 0) ==
          KW_STATUS_OK);
    CHECK(is_f(k2.out[0], 1, d2, x));
    kwt_call_free(&k2);

    struct kw_onnx_value *seq = kw__sequence_new(KW_ONNX_FLOAT);
    kw__sequence_push(seq, kw__value_clone(t));
    in[0] = seq;
    CHECK(kwt_call_run(&k, &k.bare, "Optional", 15, in, 1, 1, NULL, 0) == KW_STATUS_OK);
    in[0] = k.out[0];
    CHECK(kwt_call_run(&k2, &k2.bare, "OptionalGetElement", 15, in, 1, 1, NULL, 0) ==
          KW_STATUS_OK);
    CHECK(k2.out[0] && k2.out[0]->kind == KW_ONNX_SEQUENCE &&
          k2.out[0]->n_items == 1 && is_f(k2.out[0]->items[0], 1, d2, x));
    kwt_call_free(&k2);
    kwt_call_free(&k);
    kw_onnx_value_free(seq);
    kw_onnx_value_free(t);
}

/* ---- subgraph operators with pass-through bodies ---- */

/* A body without nodes: slots 0..n_in-1 are its inputs, the next n_init
 * slots hold initializers (borrowed), outputs name slots. */
struct body {
    struct kw__graph g;
    const char *names[8];
    struct kw_onnx_value *init[8];
    int outer[8], last_use[8], inputs[8], outputs[8];
    struct kw__type_info in_info[8], out_info[8];
};

static void body_make(struct body *b, int n_in, struct kw_onnx_value **inits,
                      int n_init, const int *outs, int n_out) {
    static const char *const nm[8] = {"b0", "b1", "b2", "b3",
                                      "b4", "b5", "b6", "b7"};
    memset(b, 0, sizeof *b);
    for (int s = 0; s < 8; s++) {
        b->names[s] = nm[s];
        b->outer[s] = -1;
        b->last_use[s] = -1;
    }
    for (int i = 0; i < n_in; i++) b->inputs[i] = i;
    for (int i = 0; i < n_init; i++) b->init[n_in + i] = inits[i];
    for (int i = 0; i < n_out; i++) b->outputs[i] = outs[i];
    b->g.name = "body";
    b->g.names = b->names;
    b->g.n_values = n_in + n_init;
    b->g.init = b->init;
    b->g.outer = b->outer;
    b->g.last_use = b->last_use;
    b->g.inputs = b->inputs;
    b->g.n_inputs = n_in;
    b->g.outputs = b->outputs;
    b->g.n_outputs = n_out;
    b->g.in_info = b->in_info;
    b->g.out_info = b->out_info;
}

static struct kw__attr attr_graph(const char *name, struct body *b) {
    return (struct kw__attr){.name = name, .type = KW_ATTR_GRAPH, .g = &b->g};
}

static float at3(const struct kw_onnx_value *v, int64_t i, int64_t j,
                 int64_t k) {
    return ((float *)v->data)[(i * v->dims[1] + j) * v->dims[2] + k];
}

static void test_scan9(void) {
    /* body (s, x) -> (x, s): the state becomes the slice just read, the
     * scan output is the state before the step */
    struct body b;
    int outs[2] = {1, 0};
    body_make(&b, 2, NULL, 0, outs, 2);
    int64_t dx[3] = {3, 4, 5}, ds[2] = {3, 5};
    struct kw_onnx_value *x = range_f(3, dx), *init = range_f(2, ds);
    for (int i = 0; i < 15; i++) ((float *)init->data)[i] = -1.0f - (float)i;
    int64_t in_axes[1] = {1}, in_dirs[1] = {1}, out_axes[1] = {-1},
            out_dirs[1] = {1};
    struct kw__attr at[6] = {attr_graph("body", &b),
                             kwt_a_int("num_scan_inputs", 1),
                             kwt_a_ints("scan_input_axes", in_axes, 1),
                             kwt_a_ints("scan_input_directions", in_dirs, 1),
                             kwt_a_ints("scan_output_axes", out_axes, 1),
                             kwt_a_ints("scan_output_directions", out_dirs, 1)};
    struct kw_onnx_value *in[2] = {init, x};
    struct kwt_call k;
    CHECK(kwt_call_run(&k, &k.bare, "Scan", 16, in, 2, 2, at, 6) == KW_STATUS_OK);
    /* slices read X[:, 3-t, :]; the last one read is X[:, 0, :] */
    struct kw_onnx_value *fin = k.out[0], *y = k.out[1];
    CHECKF(fin && fin->rank == 2 && fin->dims[0] == 3 && fin->dims[1] == 5,
           "%s", k.err);
    CHECK(y && y->rank == 3 && y->dims[0] == 3 && y->dims[1] == 5 &&
          y->dims[2] == 4);
    int ok = fin && y && y->rank == 3;
    for (int a = 0; ok && a < 3; a++)
        for (int c = 0; c < 5; c++) {
            ok &= ((float *)fin->data)[a * 5 + c] == at3(x, a, 0, c);
            for (int t = 0; t < 4; t++) {
                /* step t's output lands at 3-t along the last axis */
                float want = t == 0 ? ((float *)init->data)[a * 5 + c]
                                    : at3(x, a, 4 - t, c);
                ok &= at3(y, a, c, 3 - t) == want;
            }
        }
    CHECK(ok);
    kwt_call_free(&k);
    /* an axis beyond the rank is refused */
    in_axes[0] = 3;
    CHECK(kwt_call_run(&k, &k.bare, "Scan", 16, in, 2, 2, at, 6) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(x);
    kw_onnx_value_free(init);
}

static void test_scan8(void) {
    struct body b;
    int outs[2] = {1, 0};
    body_make(&b, 2, NULL, 0, outs, 2);
    int64_t dx[3] = {2, 3, 4}, ds[2] = {2, 4}, dl[1] = {2};
    struct kw_onnx_value *x = range_f(3, dx), *init = range_f(2, ds);
    for (int i = 0; i < 8; i++) ((float *)init->data)[i] = -1.0f - (float)i;
    struct kw_onnx_value *lens = kw_onnx_tensor_new(KW_ONNX_INT64, 1, dl);
    ((int64_t *)lens->data)[0] = 3;
    ((int64_t *)lens->data)[1] = 1;
    int64_t dirs[1] = {1};
    struct kw__attr at[3] = {attr_graph("body", &b),
                             kwt_a_int("num_scan_inputs", 1),
                             kwt_a_ints("directions", dirs, 1)};
    struct kw_onnx_value *in[3] = {lens, init, x};
    struct kwt_call k;
    CHECK(kwt_call_run(&k, &k.bare, "Scan", 8, in, 3, 2, at, 3) == KW_STATUS_OK);
    struct kw_onnx_value *fin = k.out[0], *y = k.out[1];
    CHECKF(fin && y && fin->rank == 2 && y->rank == 3 && y->dims[1] == 3, "%s",
           k.err);
    int ok = fin && y && y->rank == 3;
    for (int c = 0; ok && c < 4; c++) {
        const float *iv = init->data, *fv = fin->data;
        /* reversed within each length: batch 0 reads rows 2, 1, 0 */
        ok &= fv[c] == at3(x, 0, 0, c) && fv[4 + c] == at3(x, 1, 0, c);
        ok &= at3(y, 0, 0, c) == iv[c] && at3(y, 0, 1, c) == at3(x, 0, 2, c) &&
              at3(y, 0, 2, c) == at3(x, 0, 1, c);
        /* batch 1 has one step; the rest stays zero */
        ok &= at3(y, 1, 0, c) == iv[4 + c] && at3(y, 1, 1, c) == 0 &&
              at3(y, 1, 2, c) == 0;
    }
    CHECK(ok);
    kwt_call_free(&k);
    ((int64_t *)lens->data)[1] = 4; /* beyond the 3 steps present */
    CHECK(kwt_call_run(&k, &k.bare, "Scan", 8, in, 3, 2, at, 3) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(lens);
    kw_onnx_value_free(x);
    kw_onnx_value_free(init);
}

static void test_loop(void) {
    /* body (i, cond, v) -> (cond, v, i): v carried unchanged, the
     * iteration numbers scanned out */
    struct body b;
    int outs[3] = {1, 2, 0};
    body_make(&b, 3, NULL, 0, outs, 3);
    b.out_info[2].known = 1;
    b.out_info[2].kind = KW_ONNX_TENSOR;
    b.out_info[2].dtype = KW_ONNX_INT64;
    b.out_info[2].rank = 0;
    struct kw__attr at[1] = {attr_graph("body", &b)};
    float vv[] = {7, 8};
    int64_t d2[1] = {2};
    struct kw_onnx_value *v = vec_f(2, vv), *m = scalar_i64(3);
    struct kw_onnx_value *cond = kw_onnx_tensor_new(KW_ONNX_BOOL, 0, NULL);
    struct kw_onnx_value *in[3] = {m, NULL, v};
    struct kwt_call k;
    CHECK(kwt_call_run(&k, &k.bare, "Loop", 13, in, 3, 2, at, 1) == KW_STATUS_OK);
    CHECKF(is_f(k.out[0], 1, d2, vv), "%s", k.err);
    CHECK(k.out[1] && k.out[1]->dtype == KW_ONNX_INT64 && k.out[1]->rank == 1 &&
          k.out[1]->dims[0] == 3 && ((int64_t *)k.out[1]->data)[2] == 2);
    kwt_call_free(&k);
    /* cond false: no iteration; the scan output is [0] from the body's
     * declared type */
    in[1] = cond;
    CHECK(kwt_call_run(&k, &k.bare, "Loop", 13, in, 3, 2, at, 1) == KW_STATUS_OK);
    CHECK(is_f(k.out[0], 1, d2, vv));
    CHECK(k.out[1] && k.out[1]->dtype == KW_ONNX_INT64 && k.out[1]->rank == 1 &&
          k.out[1]->dims[0] == 0);
    kwt_call_free(&k);
    /* cond true without M: the body keeps it true, M=3 bounds it */
    ((uint8_t *)cond->data)[0] = 1;
    CHECK(kwt_call_run(&k, &k.bare, "Loop", 13, in, 3, 2, at, 1) == KW_STATUS_OK);
    CHECK(k.out[1] && k.out[1]->dims[0] == 3);
    kwt_call_free(&k);
    /* neither M nor cond would never end */
    in[0] = in[1] = NULL;
    CHECK(kwt_call_run(&k, &k.bare, "Loop", 13, in, 3, 2, at, 1) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(cond);
    kw_onnx_value_free(m);
    kw_onnx_value_free(v);
}

static void test_if_and_map(void) {
    float av[] = {1, 2}, bv[] = {3};
    int64_t d2[1] = {2}, d1[1] = {1};
    struct kw_onnx_value *a = vec_f(2, av), *bt = vec_f(1, bv);
    struct body then_b, else_b;
    int out1[1] = {0};
    body_make(&then_b, 0, &a, 1, out1, 1);
    body_make(&else_b, 0, &bt, 1, out1, 1);
    struct kw__attr at[2] = {attr_graph("then_branch", &then_b),
                             attr_graph("else_branch", &else_b)};
    struct kw_onnx_value *cond = kw_onnx_tensor_new(KW_ONNX_BOOL, 0, NULL);
    struct kw_onnx_value *in[2] = {cond, NULL};
    struct kwt_call k;
    CHECK(kwt_call_run(&k, &k.bare, "If", 13, in, 1, 1, at, 2) == KW_STATUS_OK);
    CHECK(is_f(k.out[0], 1, d1, bv));
    kwt_call_free(&k);
    ((uint8_t *)cond->data)[0] = 1;
    CHECK(kwt_call_run(&k, &k.bare, "If", 13, in, 1, 1, at, 2) == KW_STATUS_OK);
    CHECK(is_f(k.out[0], 1, d2, av));
    kwt_call_free(&k);
    /* a condition of two elements is refused */
    in[0] = a;
    CHECK(kwt_call_run(&k, &k.bare, "If", 13, in, 1, 1, at, 2) != KW_STATUS_OK);
    kwt_call_free(&k);

    /* SequenceMap, body (x, y) -> (y, x): seq [a, b] with tensor t */
    struct body mb;
    int outs[2] = {1, 0};
    body_make(&mb, 2, NULL, 0, outs, 2);
    struct kw__attr mat[1] = {attr_graph("body", &mb)};
    struct kw_onnx_value *seq = kw__sequence_new(KW_ONNX_FLOAT);
    kw__sequence_push(seq, kw__value_clone(a));
    kw__sequence_push(seq, kw__value_clone(bt));
    in[0] = seq;
    in[1] = bt;
    CHECK(kwt_call_run(&k, &k.bare, "SequenceMap", 17, in, 2, 2, mat, 1) == KW_STATUS_OK);
    CHECKF(k.out[0] && k.out[0]->kind == KW_ONNX_SEQUENCE &&
               k.out[0]->n_items == 2 && is_f(k.out[0]->items[0], 1, d1, bv) &&
               is_f(k.out[0]->items[1], 1, d1, bv),
           "%s", k.err);
    CHECK(k.out[1] && k.out[1]->n_items == 2 &&
          is_f(k.out[1]->items[0], 1, d2, av));
    kwt_call_free(&k);
    /* sequences of different lengths are refused */
    struct kw_onnx_value *one = kw__sequence_new(KW_ONNX_FLOAT);
    kw__sequence_push(one, kw__value_clone(a));
    in[1] = one;
    CHECK(kwt_call_run(&k, &k.bare, "SequenceMap", 17, in, 2, 2, mat, 1) != KW_STATUS_OK);
    kwt_call_free(&k);
    kw_onnx_value_free(one);
    kw_onnx_value_free(seq);
    kw_onnx_value_free(cond);
    kw_onnx_value_free(a);
    kw_onnx_value_free(bt);
}

int main(void) {
    test_construct_at_insert_erase();
    test_split_concat();
    test_strings();
    test_optional();
    test_scan9();
    test_scan8();
    test_loop();
    test_if_and_map();
    return kw_test_finish("test_onnx_control");
}
