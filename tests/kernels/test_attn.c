/*
 * test_attn.c — every attention variant against the reference, bit for bit,
 * on odd head sizes and cache lengths (the reference fixes the numerics, so
 * tokens do not depend on the machine), plus the reference against a plain
 * double precision softmax(q.K) V (fp16 rounding bounds the error).
 */
#include <math.h>
#include <string.h>

#include "cpu/isa_table.h"
#include "testutil.h"

static void naive(float *out, const float *q, const uint16_t *k,
                  const uint16_t *v, size_t stride, int64_t n_kv, int64_t hd,
                  float scale) {
    double *p = malloc(sizeof(double) * (size_t)n_kv), mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < n_kv; j++) {
        double s = 0;
        for (int64_t i = 0; i < hd; i++)
            s += (double)kw__fp16_to_fp32(k[j * stride + i]) * q[i];
        p[j] = s * scale;
        if (p[j] > mx) mx = p[j];
    }
    for (int64_t j = 0; j < n_kv; j++) sum += (p[j] = exp(p[j] - mx));
    for (int64_t i = 0; i < hd; i++) {
        double o = 0;
        for (int64_t j = 0; j < n_kv; j++)
            o += p[j] * kw__fp16_to_fp32(v[j * stride + i]);
        out[i] = (float)(o / sum);
    }
    free(p);
}

int main(void) {
    uint64_t rng = 42;
    const int64_t hds[] = {1, 7, 16, 17, 63, 64, 65, 100, 128, 129};
    const int64_t kvs[] = {1, 2, 3, 31, 257, 1000};
    kw__attn_fn ref = kw__attn_variant(KW__ISA_REF);
    CHECK(ref != NULL);
    for (size_t a = 0; a < sizeof hds / sizeof *hds; a++) {
        for (size_t b = 0; b < sizeof kvs / sizeof *kvs; b++) {
            const int64_t hd = hds[a], n_kv = kvs[b];
            const size_t stride = (size_t)hd * 3 + 5; /* strided rows */
            uint16_t *k = malloc(2 * stride * (size_t)n_kv);
            uint16_t *v = malloc(2 * stride * (size_t)n_kv);
            float *q = malloc(4 * (size_t)hd), *o_ref = malloc(4 * (size_t)hd);
            float *o = malloc(4 * (size_t)hd), *o_nv = malloc(4 * (size_t)hd);
            uint16_t *scratch = malloc(4 * (size_t)hd);
            for (size_t i = 0; i < stride * (size_t)n_kv; i++) {
                k[i] = kw__fp32_to_fp16(kw_test_randf(&rng) * 2);
                v[i] = kw__fp32_to_fp16(kw_test_randf(&rng));
            }
            for (int64_t i = 0; i < hd; i++) q[i] = kw_test_randf(&rng) * 2;
            /* a rising trend in some rows makes the running maximum move
             * often, so the rescaling path runs many times */
            if (n_kv > 100)
                for (int64_t j = 0; j < n_kv; j += 2)
                    for (int64_t i = 0; i < hd; i++)
                        k[(size_t)j * stride + (size_t)i] = kw__fp32_to_fp16(
                            (q[i] > 0 ? 1.0f : -1.0f) * 4.0f * (float)j / (float)n_kv +
                            kw_test_randf(&rng) * 0.5f);
            const float scale = 1.0f / sqrtf((float)hd);
            ref(o_ref, q, k, v, stride, n_kv, hd, scale, scratch);
            naive(o_nv, q, k, v, stride, n_kv, hd, scale);
            for (int64_t i = 0; i < hd; i++)
                CHECKF(fabsf(o_ref[i] - o_nv[i]) <= 4e-3f,
                       "ref vs naive hd %lld n_kv %lld i %lld: %g vs %g",
                       (long long)hd, (long long)n_kv, (long long)i, o_ref[i],
                       o_nv[i]);
            for (int isa = 1; isa < KW__ISA_COUNT; isa++) {
                kw__attn_fn f = kw__attn_variant((enum kw__isa)isa);
                if (!f) continue;
                f(o, q, k, v, stride, n_kv, hd, scale, scratch);
                int64_t bad = 0, first = -1;
                for (int64_t i = 0; i < hd; i++)
                    if (memcmp(&o[i], &o_ref[i], sizeof o[i]) != 0) {
                        if (first < 0) first = i;
                        bad++;
                    }
                CHECKF(bad == 0, "%s hd %lld n_kv %lld: %lld values differ, "
                       "first at %lld: %a vs ref %a",
                       kw__isa_name((enum kw__isa)isa), (long long)hd,
                       (long long)n_kv, (long long)bad, (long long)first,
                       o[first < 0 ? 0 : first], o_ref[first < 0 ? 0 : first]);
            }
            free(k), free(v), free(q), free(o_ref), free(o), free(o_nv);
            free(scratch);
        }
    }
    return kw_test_finish("test_attn");
}
