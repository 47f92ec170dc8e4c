/*
 * conv_dwf_avx512.c — depthwise 2-D convolution of one plane on a flat
 * output grid (dwc.h, struct kw__dwf), for stride-2 planes: the plane is
 * copied into zero-bordered stride-phase planes of pitch W, so that every
 * kernel tap reads all output lanes at one fixed offset, and the plane
 * becomes a run of whole-vector FMAs whatever its width; the lanes past
 * the row's end are dropped (squeezed out by a compress when rows do not
 * start on a vector) as each vector is stored, the activation applied in
 * registers. Rows are copied in just ahead of the vectors that read
 * them. Entry point: kw__dwf_plane_avx512.
 */
#include <immintrin.h>

#include "onnx/ops/dwc.h"

static inline __m512 act_v(__m512 x, int act, __m512 va, __m512 vb) {
    if (act == KW_ACT_RELU) return _mm512_max_ps(x, _mm512_setzero_ps());
    if (act == KW_ACT_CLIP) return _mm512_min_ps(vb, _mm512_max_ps(va, x));
    return x;
}

/* Input rows [h0, h1) into the phase planes (their borders stay zero:
 * the geometry, hence the written cells, is the same for every plane). */
static void fill(const struct kw__dwf *f, const float *x, float *scr,
                 int64_t h0, int64_t h1) {
    const int64_t W = f->W, plane = f->hp2 * W, iw = f->iw;
    for (int64_t h = h0; h < h1; h++) {
        const int64_t hp = h + f->pt;
        const int64_t a = f->sh == 2 ? hp & 1 : 0, i = f->sh == 2 ? hp >> 1 : hp;
        const float *src = x + h * iw;
        float *row = scr + a * f->sw * plane + i * W;
        if (f->sw == 1) {
            float *d = row + f->pl;
            int64_t c = 0;
            for (; c + 16 <= iw; c += 16)
                _mm512_storeu_ps(d + c, _mm512_loadu_ps(src + c));
            if (c < iw) {
                const __mmask16 m = (__mmask16)((1u << (iw - c)) - 1);
                _mm512_mask_storeu_ps(d + c, m, _mm512_maskz_loadu_ps(m, src + c));
            }
            continue;
        }
        /* padded column pl + j: phase (pl + j) & 1, column (pl + j) >> 1 */
        const int64_t pl = f->pl;
        float *p0 = row, *p1 = row + plane;
        float *ev = pl & 1 ? p1 + (pl - 1) / 2 : p0 + pl / 2;
        float *od = pl & 1 ? p0 + (pl + 1) / 2 : p1 + pl / 2;
        kw__deint2_avx512(src, iw, ev, od);
    }
}

/* NB grid vectors from vector v: all taps, then the stores */
static inline __attribute__((always_inline)) void
block(const int NB, const struct kw__dwf *f, const uint16_t *masks,
      const float *scr, const float *w, __m512 bias, int64_t v, float **yp,
      __m512 va, __m512 vb) {
    __m512 acc[8];
    for (int b = 0; b < NB; b++) acc[b] = bias;
    const float *base = scr + v * 16;
    for (int t = 0; t < f->ntaps; t++) {
        const __m512 wv = _mm512_set1_ps(w[t]);
        const float *s = base + f->off[t];
        for (int b = 0; b < NB; b++)
            acc[b] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(s + 16 * b), acc[b]);
    }
    float *y = *yp;
    for (int b = 0; b < NB; b++) {
        const __m512 o = act_v(acc[b], f->act, va, vb);
        const __mmask16 m = masks[v + b];
        if (m == 0xffff) {
            _mm512_storeu_ps(y, o);
            y += 16;
        } else if (!(m & (m + 1))) { /* the first lanes: no compress */
            _mm512_mask_storeu_ps(y, m, o);
            y += __builtin_popcount(m);
        } else {
            const int n = __builtin_popcount(m);
            _mm512_mask_storeu_ps(y, (__mmask16)((1u << n) - 1),
                                  _mm512_maskz_compress_ps(m, o));
            y += n;
        }
    }
    *yp = y;
}

void kw__dwf_plane_avx512(const struct kw__dwf *f, const uint16_t *masks,
                          const float *x, const float *w, float bias,
                          float *y, float *scr) {
    const __m512 vbias = _mm512_set1_ps(bias);
    const __m512 va = _mm512_set1_ps(f->a), vb = _mm512_set1_ps(f->b);
    /* rows go in just ahead of the vectors that read them, so a big
     * plane is read back from L1 rather than L2 */
    int64_t v = 0, h = 0;
    for (; v + 8 <= f->nvec; v += 8) {
        const int64_t need = (v * 16 + f->reach) / f->W;
        const int64_t h1 = KW_MIN(f->ih, (need + 1) * f->sh - f->pt);
        if (h1 > h) fill(f, x, scr, h, h1);
        h = KW_MAX(h, h1);
        block(8, f, masks, scr, w, vbias, v, &y, va, vb);
    }
    if (h < f->ih) fill(f, x, scr, h, f->ih);
    for (; v + 4 <= f->nvec; v += 4)
        block(4, f, masks, scr, w, vbias, v, &y, va, vb);
    for (; v < f->nvec; v++) block(1, f, masks, scr, w, vbias, v, &y, va, vb);
}
