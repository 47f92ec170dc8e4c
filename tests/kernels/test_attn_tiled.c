/*
 * test_attn_tiled.c — the batched (tiled) attention: every variant against
 * the reference bit for bit, on odd batch sizes split into query tiles the
 * way llm_forward.c does, fresh and continued caches (n_past 0 and > 0),
 * head dims 64 and 17; and the reference against a double precision
 * causal softmax(q.K) V.
 */
#include <math.h>
#include <string.h>

#include "cpu/isa_table.h"
#include "testutil.h"

/* out[hd] for a query at position p over keys 0..p, in double */
static void naive(float *out, const float *q, const uint16_t *k,
                  const uint16_t *v, size_t stride, int64_t p, int64_t hd,
                  float scale) {
    const int64_t n = p + 1;
    double *w = malloc(sizeof(double) * (size_t)n), mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < n; j++) {
        double s = 0;
        for (int64_t i = 0; i < hd; i++)
            s += (double)kw__fp16_to_fp32(k[(size_t)j * stride + (size_t)i]) * q[i];
        w[j] = s * scale;
        if (w[j] > mx) mx = w[j];
    }
    for (int64_t j = 0; j < n; j++) sum += (w[j] = exp(w[j] - mx));
    for (int64_t i = 0; i < hd; i++) {
        double o = 0;
        for (int64_t j = 0; j < n; j++)
            o += w[j] * kw__fp16_to_fp32(v[(size_t)j * stride + (size_t)i]);
        out[i] = (float)(o / sum);
    }
    free(w);
}

/* all T rows through f, in tiles of KW__ATTN_TILE after a first one of
 * `first` rows (rows are independent, so any split gives the same) */
static void run(kw__attn_tiled_fn f, float *out, const float *q,
                size_t q_stride, int64_t T, const uint16_t *k,
                const uint16_t *v, size_t stride, int64_t n_past, int64_t hd,
                float scale, float *scratch, int64_t first) {
    for (int64_t t = 0, nq; t < T; t += nq) {
        nq = KW_MIN(t == 0 ? first : (int64_t)KW__ATTN_TILE, T - t);
        f(out + (size_t)t * (size_t)hd, (size_t)hd, q + (size_t)t * q_stride,
          q_stride, nq, k, v, stride, n_past + t, hd, scale, scratch);
    }
}

int main(void) {
    uint64_t rng = 7;
    const int64_t hds[] = {64, 17};
    const int64_t Ts[] = {64, 65, 100, 130};
    const int64_t pasts[] = {0, 37, 200};
    kw__attn_tiled_fn ref = kw__attn_tiled_variant(KW__ISA_REF);
    CHECK(ref != NULL);
    CHECK(kw__attn_tiled() != NULL);
    if (kw__cpu_has(KW__ISA_AVX512))
        CHECK(kw__attn_tiled_variant(KW__ISA_AVX512) != NULL);
    for (size_t a = 0; a < sizeof hds / sizeof *hds; a++)
    for (size_t b = 0; b < sizeof Ts / sizeof *Ts; b++)
    for (size_t c = 0; c < sizeof pasts / sizeof *pasts; c++) {
        const int64_t hd = hds[a], T = Ts[b], n_past = pasts[c];
        const int64_t n_kv = n_past + T;
        const size_t stride = (size_t)hd * 3 + 5; /* strided rows */
        const size_t q_stride = (size_t)hd + 3;
        uint16_t *k = malloc(2 * stride * (size_t)n_kv);
        uint16_t *v = malloc(2 * stride * (size_t)n_kv);
        float *q = malloc(4 * q_stride * (size_t)T);
        float *o_ref = malloc(4 * (size_t)(T * hd));
        float *o = malloc(4 * (size_t)(T * hd));
        float *o_nv = malloc(4 * (size_t)hd);
        float *scratch = kw__alloc_aligned(4 * KW__ATTN_TILED_SCRATCH(hd));
        for (size_t i = 0; i < stride * (size_t)n_kv; i++) {
            k[i] = kw__fp32_to_fp16(kw_test_randf(&rng) * 2);
            v[i] = kw__fp32_to_fp16(kw_test_randf(&rng));
        }
        for (size_t i = 0; i < q_stride * (size_t)T; i++)
            q[i] = kw_test_randf(&rng) * 2;
        /* a rising trend over the keys makes the running maximum move from
         * tile to tile, so the rescaling path runs */
        if (c == 2)
            for (int64_t j = 0; j < n_kv; j += 2)
                for (int64_t i = 0; i < hd; i++)
                    k[(size_t)j * stride + (size_t)i] = kw__fp32_to_fp16(
                        (q[i] > 0 ? 1.0f : -1.0f) * 3.0f * (float)j / (float)n_kv +
                        kw_test_randf(&rng) * 0.5f);
        const float scale = 1.0f / sqrtf((float)hd);
        run(ref, o_ref, q, q_stride, T, k, v, stride, n_past, hd, scale, scratch,
            KW__ATTN_TILE);
        for (int64_t t = 0; t < T; t += 7) { /* some rows vs double */
            naive(o_nv, q + (size_t)t * q_stride, k, v, stride, n_past + t, hd,
                  scale);
            for (int64_t i = 0; i < hd; i++)
                CHECKF(fabsf(o_ref[t * hd + i] - o_nv[i]) <= 1e-4f,
                       "ref vs naive hd %lld T %lld past %lld t %lld i %lld: "
                       "%g vs %g", (long long)hd, (long long)T,
                       (long long)n_past, (long long)t, (long long)i,
                       o_ref[t * hd + i], o_nv[i]);
        }
        for (int isa = 1; isa < KW__ISA_COUNT; isa++) {
            kw__attn_tiled_fn f = kw__attn_tiled_variant((enum kw__isa)isa);
            if (!f) continue;
            memset(o, 0xff, 4 * (size_t)(T * hd));
            run(f, o, q, q_stride, T, k, v, stride, n_past, hd, scale, scratch,
                c == 1 ? 13 : KW__ATTN_TILE);
            int64_t bad = 0, first = -1;
            for (int64_t i = 0; i < T * hd; i++)
                if (memcmp(&o[i], &o_ref[i], sizeof o[i]) != 0) {
                    if (first < 0) first = i;
                    bad++;
                }
            CHECKF(bad == 0, "%s hd %lld T %lld past %lld: %lld values differ, "
                   "first [%lld] %.9g vs %.9g", kw__isa_name((enum kw__isa)isa),
                   (long long)hd, (long long)T, (long long)n_past,
                   (long long)bad, (long long)first,
                   first >= 0 ? o[first] : 0.0f, first >= 0 ? o_ref[first] : 0.0f);
        }
        free(k), free(v), free(q), free(o_ref), free(o), free(o_nv);
        kw__free_aligned(scratch);
    }
    return kw_test_finish("attn_tiled");
}
