/*
 * signal.c — operator family 'signal': spectral ops (DFT, STFT, window
 * functions, MelWeightMatrix), random ops (Bernoulli, RandomUniformLike),
 * and the table kw__ops_signal, which also lists the image (resize.c,
 * gridsample.c), recurrent (rnn.c) and text (text.c) operators.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "onnx/ops/dft.h"
#include "onnx/ops/signal_ops.h"

/* A scalar (or one-element) integer input; 0 when absent or not integer. */
static int scalar_i64(const struct kw_onnx_value *v, int64_t *out) {
    if (!kw__is_tensor(v) || kw_onnx_numel(v) != 1 || !kw__dtype_is_int(v->dtype))
        return 0;
    *out = kw__get_i64(v, 0);
    return 1;
}

static int scalar_f64(const struct kw_onnx_value *v, double *out) {
    if (!kw__is_tensor(v) || kw_onnx_numel(v) != 1 || v->dtype == KW_ONNX_STRING)
        return 0;
    *out = kw__get_f64(v, 0);
    return 1;
}

static int numeric_dtype(int t) {
    return kw__dtype_is_float(t) || kw__dtype_is_int(t);
}

/* ---- window functions (opset 17) ---- */

enum { WIN_HANN, WIN_HAMMING, WIN_BLACKMAN };

static enum kw_status window_op(struct kw__op_ctx *c, int kind) {
    int64_t n;
    if (!scalar_i64(kw__in(c, 0), &n) || n < 0 || n > ((int64_t)1 << 40))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "size must be a non-negative integer scalar");
    int dt = (int)kw__attr_i(c, "output_datatype", KW_ONNX_FLOAT);
    if (!numeric_dtype(dt))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "output_datatype %d", dt);
    int periodic = kw__attr_i(c, "periodic", 1) != 0;
    struct kw_onnx_value *y = kw__out_tensor(c, 0, dt, 1, &n);
    if (!y) return KW_STATUS_ERR_NOMEM;
    double den = periodic ? (double)n : (double)(n - 1);
    const double two_pi = 6.283185307179586476925286766559;
    for (int64_t i = 0; i < n; i++) {
        double a = den > 0 ? two_pi * (double)i / den : 0, v;
        switch (kind) {
        case WIN_HANN: v = 0.5 - 0.5 * cos(a); break;
        case WIN_HAMMING: v = 25.0 / 46 - (21.0 / 46) * cos(a); break;
        default: v = 0.42 - 0.5 * cos(a) + 0.08 * cos(2 * a); break;
        }
        if (den <= 0) v = 1; /* a one-point symmetric window */
        kw__set_f64(y, i, v);
    }
    return KW_STATUS_OK;
}

static enum kw_status op_hann(struct kw__op_ctx *c) { return window_op(c, WIN_HANN); }
static enum kw_status op_hamming(struct kw__op_ctx *c) { return window_op(c, WIN_HAMMING); }
static enum kw_status op_blackman(struct kw__op_ctx *c) { return window_op(c, WIN_BLACKMAN); }

/* ---- DFT ---- */

/* x: [..., L, ..., 1|2] with the signal along axis; every line is
 * transformed independently. */
static enum kw_status op_dft(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0);
    if (!kw__is_tensor(x) || x->rank < 2 || !kw__dtype_is_float(x->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "input must be a float tensor of rank >= 2");
    int r = x->rank;
    int64_t cdim = x->dims[r - 1];
    if (cdim != 1 && cdim != 2)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "last dimension must be 1 (real) or 2 (complex)");
    int64_t axis_i = c->opset >= 20 ? -2 : 1;
    if (c->opset >= 20) {
        const struct kw_onnx_value *av = kw__in(c, 2);
        if (av && !scalar_i64(av, &axis_i))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axis must be an integer scalar");
    } else {
        axis_i = kw__attr_i(c, "axis", 1);
    }
    int axis;
    if (!kw__axis(axis_i, r, &axis) || axis == r - 1)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axis %lld out of range",
                           (long long)axis_i);
    int inverse = kw__attr_i(c, "inverse", 0) != 0;
    int onesided = kw__attr_i(c, "onesided", 0) != 0;
    int64_t len = x->dims[axis], n;
    const struct kw_onnx_value *lv = kw__in(c, 1);
    if (lv && kw_onnx_numel(lv) > 0) {
        if (!scalar_i64(lv, &n) || n < 1)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "dft_length must be a positive integer scalar");
    } else {
        n = inverse && onesided ? 2 * (len - 1) : len;
    }
    if (n < 1 || n > ((int64_t)1 << 28))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "dft_length %lld out of range",
                           (long long)n);
    int64_t dims[KW_ONNX_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    /* inverse+onesided reads n/2+1 bins (Hermitian) and writes n reals */
    int c2r = inverse && onesided;
    dims[axis] = !inverse && onesided ? n / 2 + 1 : n;
    dims[r - 1] = c2r ? 1 : 2;
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, r, dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < axis; k++) outer *= x->dims[k];
    for (int k = axis + 1; k < r - 1; k++) inner *= x->dims[k];
    if (kw_onnx_numel(y) == 0) return KW_STATUS_OK;
    struct kw__dft_plan *p = kw__dft_plan_new(n);
    double *re = malloc((size_t)n * sizeof *re), *im = malloc((size_t)n * sizeof *im);
    if (!p || !re || !im) {
        kw__dft_plan_free(p);
        free(re);
        free(im);
        return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    }
    int64_t out_len = dims[axis], ocd = dims[r - 1];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            for (int64_t j = 0; j < n; j++) re[j] = im[j] = 0;
            if (c2r) {
                /* rebuild the full spectrum from bins 0..n/2 */
                for (int64_t j = 0; j <= n / 2 && j < len; j++) {
                    int64_t e = ((o * len + j) * inner + in) * cdim;
                    re[j] = kw__get_f64(x, e);
                    im[j] = cdim == 2 ? kw__get_f64(x, e + 1) : 0;
                }
                for (int64_t j = n / 2 + 1; j < n; j++) {
                    re[j] = re[n - j];
                    im[j] = -im[n - j];
                }
            } else {
                for (int64_t j = 0; j < len && j < n; j++) {
                    int64_t e = ((o * len + j) * inner + in) * cdim;
                    re[j] = kw__get_f64(x, e);
                    im[j] = cdim == 2 ? kw__get_f64(x, e + 1) : 0;
                }
            }
            kw__dft_line(p, re, im, inverse);
            for (int64_t k = 0; k < out_len; k++) {
                int64_t e = ((o * out_len + k) * inner + in) * ocd;
                kw__set_f64(y, e, re[k]);
                if (ocd == 2) kw__set_f64(y, e + 1, im[k]);
            }
        }
    kw__dft_plan_free(p);
    free(re);
    free(im);
    return KW_STATUS_OK;
}

/* ---- STFT ---- */

/* signal [batch, length, 1|2] -> [batch, frames, bins, 2] */
static enum kw_status op_stft(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0), *win = kw__in(c, 2);
    if (!kw__is_tensor(x) || x->rank != 3 || !kw__dtype_is_float(x->dtype) ||
        (x->dims[2] != 1 && x->dims[2] != 2))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "signal must be a float tensor [batch, length, 1|2]");
    int64_t step, flen = -1;
    if (!scalar_i64(kw__in(c, 1), &step) || step < 1)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "frame_step must be a positive integer scalar");
    if (kw__in(c, 3) && !scalar_i64(kw__in(c, 3), &flen))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "frame_length must be an integer scalar");
    if (win) {
        if (!kw__is_tensor(win) || win->rank != 1 || win->dtype == KW_ONNX_STRING)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "window must be 1-D");
        if (flen >= 0 && flen != win->dims[0])
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "window length %lld != frame_length %lld",
                               (long long)win->dims[0], (long long)flen);
        flen = win->dims[0];
    }
    int64_t batch = x->dims[0], len = x->dims[1], cdim = x->dims[2];
    if (flen < 0) flen = len;
    if (flen < 1 || flen > len)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "frame_length %lld must be in [1, %lld]", (long long)flen,
                           (long long)len);
    int onesided = kw__attr_i(c, "onesided", 1) != 0;
    int64_t frames = 1 + (len - flen) / step;
    int64_t bins = onesided ? flen / 2 + 1 : flen;
    int64_t dims[4] = {batch, frames, bins, 2};
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, 4, dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    if (kw_onnx_numel(y) == 0) return KW_STATUS_OK;
    struct kw__dft_plan *p = kw__dft_plan_new(flen);
    double *re = malloc((size_t)flen * sizeof *re), *im = malloc((size_t)flen * sizeof *im);
    if (!p || !re || !im) {
        kw__dft_plan_free(p);
        free(re);
        free(im);
        return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    }
    for (int64_t b = 0; b < batch; b++)
        for (int64_t f = 0; f < frames; f++) {
            for (int64_t j = 0; j < flen; j++) {
                int64_t e = (b * len + f * step + j) * cdim;
                double w = win ? kw__get_f64(win, j) : 1.0;
                re[j] = w * kw__get_f64(x, e);
                im[j] = cdim == 2 ? w * kw__get_f64(x, e + 1) : 0;
            }
            kw__dft_line(p, re, im, 0);
            for (int64_t k = 0; k < bins; k++) {
                int64_t e = ((b * frames + f) * bins + k) * 2;
                kw__set_f64(y, e, re[k]);
                kw__set_f64(y, e + 1, im[k]);
            }
        }
    kw__dft_plan_free(p);
    free(re);
    free(im);
    return KW_STATUS_OK;
}

/* ---- MelWeightMatrix ---- */

/* [dft_length/2+1, num_mel_bins] triangular filters, spaced evenly on the
 * mel scale between the edge frequencies. */
static enum kw_status op_mel_weight_matrix(struct kw__op_ctx *c) {
    int64_t nmel, dftlen, rate;
    double lo, hi;
    if (!scalar_i64(kw__in(c, 0), &nmel) || !scalar_i64(kw__in(c, 1), &dftlen) ||
        !scalar_i64(kw__in(c, 2), &rate) || !scalar_f64(kw__in(c, 3), &lo) ||
        !scalar_f64(kw__in(c, 4), &hi))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "expects integer scalars num_mel_bins, dft_length, "
                           "sample_rate and float scalars for the edges");
    if (nmel < 1 || nmel > (1 << 20) || dftlen < 1 || dftlen > (1 << 28) || rate < 1)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "sizes out of range");
    int dt = (int)kw__attr_i(c, "output_datatype", KW_ONNX_FLOAT);
    if (!numeric_dtype(dt))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "output_datatype %d", dt);
    int64_t nspec = dftlen / 2 + 1;
    int64_t dims[2] = {nspec, nmel};
    struct kw_onnx_value *y = kw__out_tensor(c, 0, dt, 2, dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    int64_t *bin = malloc((size_t)(nmel + 2) * sizeof *bin);
    double *w = calloc((size_t)(nspec * nmel), sizeof *w);
    if (!bin || !w) {
        free(bin);
        free(w);
        return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    }
    double mlo = 2595 * log10(1 + lo / 700), mhi = 2595 * log10(1 + hi / 700);
    double step = (mhi - mlo) / (double)(nmel + 2);
    for (int64_t i = 0; i < nmel + 2; i++) {
        double hz = 700 * (pow(10, ((double)i * step + mlo) / 2595) - 1);
        double b = floor((double)(dftlen + 1) * hz / (double)rate);
        bin[i] = b < 0 ? 0 : b > (double)(nspec - 1) ? nspec - 1 : (int64_t)b;
    }
    for (int64_t i = 0; i < nmel; i++) {
        int64_t l = bin[i], m = bin[i + 1], h = bin[i + 2];
        if (m == l) {
            w[m * nmel + i] = 1;
        } else {
            for (int64_t j = l; j <= m; j++)
                w[j * nmel + i] = (double)(j - l) / (double)(m - l);
        }
        for (int64_t j = m; j < h; j++)
            w[j * nmel + i] = (double)(h - j) / (double)(h - m);
    }
    for (int64_t i = 0; i < nspec * nmel; i++) kw__set_f64(y, i, w[i]);
    free(bin);
    free(w);
    return KW_STATUS_OK;
}

/* ---- random ops ---- */

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Seeded from the 'seed' attribute when present (reproducible), else from
 * the clock and a process-wide counter. */
static uint64_t rng_seed(struct kw__op_ctx *c) {
    const struct kw__attr *a = kw__attr(c->node, "seed");
    if (a && a->type == KW_ATTR_FLOAT) {
        uint32_t bits;
        memcpy(&bits, &a->f, 4);
        return 0x5EED0000ull ^ bits;
    }
    static uint64_t counter;
    uint64_t k = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (k * 0x9E3779B97F4A7C15ull);
}

/* uniform in [0, 1) with 53 random bits */
static double rng_unit(uint64_t *s) {
    return (double)(splitmix(s) >> 11) * (1.0 / 9007199254740992.0);
}

static enum kw_status op_bernoulli(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0);
    if (!kw__is_tensor(x) || !kw__dtype_is_float(x->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "input must be a float tensor");
    int dt = (int)kw__attr_i(c, "dtype", x->dtype);
    if (!numeric_dtype(dt) && dt != KW_ONNX_BOOL)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "dtype %d", dt);
    struct kw_onnx_value *y = kw__out_tensor(c, 0, dt, x->rank, x->dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    uint64_t s = rng_seed(c);
    int64_t n = kw_onnx_numel(x);
    for (int64_t i = 0; i < n; i++)
        kw__set_i64(y, i, rng_unit(&s) < kw__get_f64(x, i) ? 1 : 0);
    return KW_STATUS_OK;
}

static enum kw_status op_random_uniform_like(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0);
    if (!kw__is_tensor(x))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "input must be a tensor");
    int dt = (int)kw__attr_i(c, "dtype", x->dtype);
    if (!kw__dtype_is_float(dt))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "dtype %d (float types only)", dt);
    double lo = kw__attr_f(c, "low", 0.0f), hi = kw__attr_f(c, "high", 1.0f);
    struct kw_onnx_value *y = kw__out_tensor(c, 0, dt, x->rank, x->dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    uint64_t s = rng_seed(c);
    int64_t n = kw_onnx_numel(x);
    for (int64_t i = 0; i < n; i++) kw__set_f64(y, i, lo + (hi - lo) * rng_unit(&s));
    return KW_STATUS_OK;
}

const struct kw__op kw__ops_signal[] = {
    {"", "Resize", 10, 0, kw__op_resize},
    {"", "Upsample", 7, 0, kw__op_upsample},
    {"", "GridSample", 16, 0, kw__op_grid_sample},
    {"", "RNN", 7, 0, kw__op_rnn},
    {"", "GRU", 7, 0, kw__op_gru},
    {"", "LSTM", 7, 0, kw__op_lstm},
    {"", "DFT", 17, 0, op_dft},
    {"", "STFT", 17, 0, op_stft},
    {"", "HannWindow", 17, 0, op_hann},
    {"", "HammingWindow", 17, 0, op_hamming},
    {"", "BlackmanWindow", 17, 0, op_blackman},
    {"", "MelWeightMatrix", 17, 0, op_mel_weight_matrix},
    {"", "StringNormalizer", 10, 0, kw__op_string_normalizer},
    {"", "TfIdfVectorizer", 9, 0, kw__op_tfidf_vectorizer},
    {"", "Bernoulli", 15, 0, op_bernoulli},
    {"", "RandomUniformLike", 1, 0, op_random_uniform_like},
    {0},
};
