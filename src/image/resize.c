/*
 * resize.c — separable resampling that reproduces PIL's Image.resize for
 * BILINEAR (triangle filter whose support grows with the downscale factor,
 * i.e. antialiased shrinking) and BOX (area): weights computed in double
 * and rounded to 22-bit fixed point, a horizontal pass to 8 bits, then a
 * vertical pass, each with PIL's rounding. Entry point: kw__image_resize.
 */
#include <math.h>

#include "image/image_internal.h"

#define FIX_BITS 22 /* 32 - 8 bits of pixel - 2 of headroom, as PIL */
#define FIX_HALF (1 << (FIX_BITS - 1))

static double filter_triangle(double x) {
    if (x < 0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}
static double filter_box(double x) { return x > -0.5 && x <= 0.5 ? 1.0 : 0.0; }

/* Filter taps of outputs [first, first + n) along one axis: output i reads
 * inputs start[i] .. start[i] + count[i] - 1 with weights w[i * ksize ..]. */
struct taps {
    int ksize;
    int *start, *count;
    int32_t *w;
};

static void taps_free(struct taps *t) {
    free(t->start);
    free(t->count);
    free(t->w);
}

static int taps_build(struct taps *t, int in_size, int out_size, int first,
                      int n, enum kw_resize_method method) {
    double (*filter)(double) =
        method == KW_RESIZE_AREA ? filter_box : filter_triangle;
    double support = method == KW_RESIZE_AREA ? 0.5 : 1.0;
    /* PIL passes the source extent through a float box */
    double scale = (double)(float)in_size / out_size;
    double fscale = scale < 1.0 ? 1.0 : scale;
    double inv = 1.0 / fscale; /* multiplied, not divided: as PIL */
    support *= fscale;
    int ksize = (int)ceil(support) * 2 + 1;
    memset(t, 0, sizeof *t);
    t->ksize = ksize;
    size_t nw;
    double *tmp = malloc((size_t)ksize * sizeof *tmp);
    t->start = malloc((size_t)n * sizeof *t->start);
    t->count = malloc((size_t)n * sizeof *t->count);
    if (kw__mul_size((size_t)n, (size_t)ksize, &nw))
        t->w = calloc(nw, sizeof *t->w);
    if (!tmp || !t->start || !t->count || !t->w) {
        free(tmp);
        taps_free(t);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        double center = (first + i + 0.5) * scale;
        int lo = (int)(center - support + 0.5);
        int hi = (int)(center + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > in_size) hi = in_size;
        int cnt = hi - lo;
        if (cnt < 1) { /* cannot happen for sane sizes; stay in range */
            lo = KW_MIN(lo, in_size - 1);
            cnt = 1;
        }
        double sum = 0;
        for (int k = 0; k < cnt; k++) {
            tmp[k] = filter((k + lo - center + 0.5) * inv);
            sum += tmp[k];
        }
        int32_t *w = t->w + (size_t)i * (size_t)ksize;
        for (int k = 0; k < cnt; k++) {
            double v = sum != 0.0 ? tmp[k] / sum : tmp[k];
            v *= (double)(1 << FIX_BITS);
            w[k] = (int32_t)(v < 0 ? v - 0.5 : v + 0.5);
        }
        t->start[i] = lo;
        t->count[i] = cnt;
    }
    free(tmp);
    return 1;
}

static inline uint8_t clip_fix(int32_t acc) {
    if (acc < 0) return 0;
    acc >>= FIX_BITS;
    return (uint8_t)(acc > 255 ? 255 : acc);
}

/* One row along x; C is a constant after inlining, so the channel loop
 * unrolls. */
static inline __attribute__((always_inline)) void
hrow(const uint8_t *src, uint8_t *dst, int out_n, const struct taps *t,
     int C) {
    for (int x = 0; x < out_n; x++) {
        const uint8_t *p = src + (size_t)t->start[x] * (size_t)C;
        const int32_t *w = t->w + (size_t)x * (size_t)t->ksize;
        int cnt = t->count[x];
        int32_t acc[4] = {FIX_HALF, FIX_HALF, FIX_HALF, FIX_HALF};
        for (int k = 0; k < cnt; k++, p += C)
            for (int c = 0; c < C; c++) acc[c] += p[c] * w[k];
        for (int c = 0; c < C; c++)
            dst[(size_t)x * (size_t)C + (size_t)c] = clip_fix(acc[c]);
    }
}

static void hpass(const struct kw_image *src, int row0, int rows,
                  uint8_t *dst, int out_n, const struct taps *t) {
    int C = src->channels;
    size_t sstride = (size_t)src->width * (size_t)C;
    size_t dstride = (size_t)out_n * (size_t)C;
    for (int r = 0; r < rows; r++) {
        const uint8_t *s = src->data + (size_t)(row0 + r) * sstride;
        uint8_t *d = dst + (size_t)r * dstride;
        switch (C) {
        case 1: hrow(s, d, out_n, t, 1); break;
        case 3: hrow(s, d, out_n, t, 3); break;
        case 4: hrow(s, d, out_n, t, 4); break;
        default: break; /* refused by kw__image_resize */
        }
    }
}

/* Rows along y: src holds rows row0.. of the (horizontally resampled)
 * image, each `elems` bytes. Columns go in blocks small enough for the
 * accumulators to stay in registers across the taps. */
#define VBLOCK 32
static inline __attribute__((always_inline)) void
vpass_body(const uint8_t *src, int row0, size_t elems, uint8_t *dst,
           int out_n, const struct taps *t) {
    for (int y = 0; y < out_n; y++) {
        const int32_t *w = t->w + (size_t)y * (size_t)t->ksize;
        const uint8_t *s0 = src + (size_t)(t->start[y] - row0) * elems;
        int cnt = t->count[y];
        uint8_t *d = dst + (size_t)y * elems;
        size_t e = 0;
        for (; e + VBLOCK <= elems; e += VBLOCK) {
            int32_t acc[VBLOCK];
            for (int i = 0; i < VBLOCK; i++) acc[i] = FIX_HALF;
            for (int k = 0; k < cnt; k++) {
                const uint8_t *s = s0 + (size_t)k * elems + e;
                int32_t wk = w[k];
                for (int i = 0; i < VBLOCK; i++) acc[i] += s[i] * wk;
            }
            for (int i = 0; i < VBLOCK; i++) d[e + (size_t)i] = clip_fix(acc[i]);
        }
        for (; e < elems; e++) {
            int32_t acc = FIX_HALF;
            for (int k = 0; k < cnt; k++)
                acc += s0[(size_t)k * elems + e] * w[k];
            d[e] = clip_fix(acc);
        }
    }
}

/* The same loops compiled for AVX2 where the CPU has it (8 products per
 * instruction instead of SSE2's emulated 32-bit multiply); the integer
 * results are identical. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2"))) static void
vpass_avx2(const uint8_t *src, int row0, size_t elems, uint8_t *dst,
           int out_n, const struct taps *t) {
    vpass_body(src, row0, elems, dst, out_n, t);
}
#define HAVE_VPASS_AVX2 1
#endif

static void vpass(const uint8_t *src, int row0, size_t elems, uint8_t *dst,
                  int out_n, const struct taps *t) {
#ifdef HAVE_VPASS_AVX2
    if (__builtin_cpu_supports("avx2")) {
        vpass_avx2(src, row0, elems, dst, out_n, t);
        return;
    }
#endif
    vpass_body(src, row0, elems, dst, out_n, t);
}

struct kw_image *kw__image_resize(const struct kw_image *src, int out_w,
                                  int out_h, int x0, int y0, int win_w,
                                  int win_h, enum kw_resize_method method) {
    if (!src || out_w <= 0 || out_h <= 0 || win_w <= 0 || win_h <= 0 ||
        x0 < 0 || y0 < 0 || x0 > out_w - win_w || y0 > out_h - win_h ||
        (src->channels != 1 && src->channels != 3 && src->channels != 4))
        return NULL;
    int C = src->channels;
    int need_h = out_w != src->width, need_v = out_h != src->height;
    struct kw_image *dst = kw__image_new(win_w, win_h, C);
    if (!dst) return NULL;
    struct taps th = {0}, tv = {0};
    uint8_t *mid = NULL;
    int ok = 0;
    if (need_h && !taps_build(&th, src->width, out_w, x0, win_w, method))
        goto done;
    if (need_v && !taps_build(&tv, src->height, out_h, y0, win_h, method))
        goto done;
    /* source rows the vertical pass reads (or the window when it is off) */
    int r0 = need_v ? tv.start[0] : y0;
    int r1 = need_v ? tv.start[win_h - 1] + tv.count[win_h - 1] : y0 + win_h;
    for (int y = 0; need_v && y < win_h; y++) { /* monotonic; be safe */
        r0 = KW_MIN(r0, tv.start[y]);
        r1 = KW_MAX(r1, tv.start[y] + tv.count[y]);
    }
    size_t elems = (size_t)win_w * (size_t)C;
    const uint8_t *rows; /* rows r0..r1-1 with win_w columns */
    if (need_h) {
        mid = malloc((size_t)(r1 - r0) * elems);
        if (!mid) goto done;
        hpass(src, r0, r1 - r0, mid, win_w, &th);
        rows = mid;
    } else if (x0 == 0 && win_w == src->width) {
        rows = src->data + (size_t)r0 * elems;
    } else {
        mid = malloc((size_t)(r1 - r0) * elems);
        if (!mid) goto done;
        for (int r = r0; r < r1; r++)
            memcpy(mid + (size_t)(r - r0) * elems,
                   src->data + ((size_t)r * (size_t)src->width + (size_t)x0) *
                                   (size_t)C,
                   elems);
        rows = mid;
    }
    if (need_v) {
        vpass(rows, r0, elems, dst->data, win_h, &tv);
    } else {
        memcpy(dst->data, rows, (size_t)win_h * elems);
    }
    ok = 1;
done:
    taps_free(&th);
    taps_free(&tv);
    free(mid);
    if (!ok) {
        kw_image_free(dst);
        return NULL;
    }
    return dst;
}
