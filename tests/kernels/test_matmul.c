/*
 * test_matmul.c — kw__mat_mul (tiles for several tokens, vec_dot for one)
 * against a float reference built from dequantized weights and activations,
 * on odd row/token counts and slices, with store and accumulate modes.
 */
#include <math.h>
#include <string.h>

#include "cpu/matmul.h"
#include "testutil.h"

static void run(uint32_t type, int64_t n_in, int64_t n_out, int64_t T,
                uint64_t *rng) {
    const struct kw__type_traits *tr = kw__traits(type);
    const struct kw__type_traits *at = kw__traits(tr->vec_dot_type);
    struct kw__mat w = {type, n_in, n_out, kw__row_size(type, n_in), NULL};
    float *wf = malloc(sizeof(float) * (size_t)(n_in * n_out));
    for (int64_t i = 0; i < n_in * n_out; i++) wf[i] = kw_test_randf(rng);
    uint8_t *wq = malloc(w.row_bytes * (size_t)n_out);
    for (int64_t r = 0; r < n_out; r++)
        tr->from_float(wf + r * n_in, wq + (size_t)r * w.row_bytes, n_in);
    w.data = wq;
    float *x = malloc(sizeof(float) * (size_t)(n_in * T));
    for (int64_t i = 0; i < n_in * T; i++) x[i] = kw_test_randf(rng);
    const size_t xq_row = kw__mat_act_row_bytes(&w);
    uint8_t *xq = malloc(xq_row * (size_t)T);
    kw__mat_quantize(&w, x, (size_t)n_in, xq, xq_row, 0, T);
    /* reference: dequantized operands, double sums */
    float *wd = malloc(sizeof(float) * (size_t)n_in), *xd = malloc(sizeof(float) * (size_t)n_in);
    float *y = malloc(sizeof(float) * (size_t)(n_out * T));
    for (int64_t i = 0; i < n_out * T; i++) y[i] = 1.0f;
    const int64_t r0 = n_out > 5 ? 3 : 0, r1 = n_out;
    kw__mat_mul(&w, xq, xq_row, T, y, (size_t)n_out, r0, r1, 1);
    for (int64_t t = 0; t < T; t++) {
        at->to_float(xq + (size_t)t * xq_row, xd, n_in);
        for (int64_t r = 0; r < n_out; r++) {
            float want = 1.0f;
            if (r >= r0 && r < r1) {
                tr->to_float(wq + (size_t)r * w.row_bytes, wd, n_in);
                double s = 0, mag = 0;
                for (int64_t i = 0; i < n_in; i++) {
                    s += (double)wd[i] * xd[i];
                    mag += fabs((double)wd[i] * xd[i]);
                }
                want = (float)(s + 1.0);
                const float got = y[t * n_out + r];
                /* q4_1/q5_1 pair with q8_1, whose per-block sum s is kept
                 * in fp16: its rounding (2^-11 relative) enters the min
                 * term, which the dequantized reference does not see */
                const double tol = tr->vec_dot_type == KW_TYPE_Q8_1 ? 2e-3 : 1e-4;
                CHECKF(fabs(got - want) <= tol * mag + 1e-5,
                       "%s n_in %lld T %lld row %lld token %lld: %g vs %g",
                       tr->name, (long long)n_in, (long long)T, (long long)r,
                       (long long)t, got, want);
            } else {
                CHECKF(y[t * n_out + r] == 1.0f, "row %lld outside slice written",
                       (long long)r);
            }
        }
    }
    free(wf), free(wq), free(x), free(xq), free(wd), free(xd), free(y);
}

int main(void) {
    uint64_t rng = 7;
    const uint32_t types[] = {KW_TYPE_Q4_0, KW_TYPE_Q4_1, KW_TYPE_Q5_0,
                              KW_TYPE_Q5_1, KW_TYPE_Q8_0, KW_TYPE_F32};
    const int64_t Ts[] = {1, 2, 3, 4, 5, 9};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        for (size_t j = 0; j < sizeof Ts / sizeof *Ts; j++) {
            run(types[i], 96, 37, Ts[j], &rng);
            run(types[i], 576, 19, Ts[j], &rng);
        }
    return kw_test_finish("test_matmul");
}
