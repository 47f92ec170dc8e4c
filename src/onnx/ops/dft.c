/*
 * dft.c — the transforms behind DFT and STFT: one complex line of length n
 * (radix-2 FFT when n is a power of two, otherwise a direct sum over a
 * twiddle table), in double precision.
 * Entry points: kw__dft_plan_new/free, kw__dft_line.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/ops/dft.h"

struct kw__dft_plan {
    int64_t n;
    int pow2;
    double *cs, *sn; /* cos/sin of 2*pi*j/n, j < n */
    double *wr, *wi; /* scratch line */
};

struct kw__dft_plan *kw__dft_plan_new(int64_t n) {
    if (n < 1 || n > ((int64_t)1 << 28)) return NULL;
    struct kw__dft_plan *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n;
    p->pow2 = (n & (n - 1)) == 0;
    p->cs = malloc((size_t)n * sizeof(double));
    p->sn = malloc((size_t)n * sizeof(double));
    p->wr = malloc((size_t)n * sizeof(double));
    p->wi = malloc((size_t)n * sizeof(double));
    if (!p->cs || !p->sn || !p->wr || !p->wi) {
        kw__dft_plan_free(p);
        return NULL;
    }
    const double two_pi = 6.283185307179586476925286766559;
    for (int64_t j = 0; j < n; j++) {
        p->cs[j] = cos(two_pi * (double)j / (double)n);
        p->sn[j] = sin(two_pi * (double)j / (double)n);
    }
    return p;
}

void kw__dft_plan_free(struct kw__dft_plan *p) {
    if (!p) return;
    free(p->cs);
    free(p->sn);
    free(p->wr);
    free(p->wi);
    free(p);
}

/* In-place iterative radix-2 transform of (re, im); sign -1 forward. */
static void fft_pow2(const struct kw__dft_plan *p, double *re, double *im,
                     int sign) {
    int64_t n = p->n;
    for (int64_t i = 1, j = 0; i < n; i++) {
        int64_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            double t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (int64_t len = 2; len <= n; len <<= 1) {
        int64_t step = n / len;
        for (int64_t s = 0; s < n; s += len)
            for (int64_t k = 0; k < len / 2; k++) {
                double c = p->cs[k * step], si = sign * p->sn[k * step];
                int64_t a = s + k, b = a + len / 2;
                double xr = re[b] * c - im[b] * si;
                double xi = re[b] * si + im[b] * c;
                re[b] = re[a] - xr;
                im[b] = im[a] - xi;
                re[a] += xr;
                im[a] += xi;
            }
    }
}

void kw__dft_line(struct kw__dft_plan *p, double *re, double *im,
                  int inverse) {
    int64_t n = p->n;
    int sign = inverse ? 1 : -1;
    if (p->pow2) {
        fft_pow2(p, re, im, sign);
    } else {
        for (int64_t k = 0; k < n; k++) {
            double sr = 0, si = 0;
            int64_t idx = 0; /* k*j mod n, kept without overflow */
            for (int64_t j = 0; j < n; j++) {
                double c = p->cs[idx], s = sign * p->sn[idx];
                sr += re[j] * c - im[j] * s;
                si += re[j] * s + im[j] * c;
                idx += k;
                if (idx >= n) idx -= n;
            }
            p->wr[k] = sr;
            p->wi[k] = si;
        }
        memcpy(re, p->wr, (size_t)n * sizeof(double));
        memcpy(im, p->wi, (size_t)n * sizeof(double));
    }
    if (inverse)
        for (int64_t k = 0; k < n; k++) {
            re[k] /= (double)n;
            im[k] /= (double)n;
        }
}
