/*
 * sha256_shani.c — SHA-256 block function on the x86 SHA extensions
 * (kw__sha256_blocks_shani, chosen at run time by core/sha256.c). Each
 * sha256rnds2 does two rounds on the state split as ABEF / CDGH; msg1/msg2
 * extend the message schedule four words at a time. Built with -msha
 * -msse4.1 -mssse3; only called when CPUID reports SHA, SSSE3 and SSE4.1.
 */
#include <immintrin.h>

#include "core/sha256.h"

/* Four rounds q*4 .. q*4+3 with message words w (schedule order, lane 0 =
 * first). The first rnds2 leaves the new ABEF in *cdgh and the old ABEF is
 * the new CDGH, so the second call swaps roles back. */
static inline void rounds4(__m128i *abef, __m128i *cdgh, __m128i w, int q) {
    const __m128i wk = _mm_add_epi32(
        w, _mm_load_si128((const __m128i *)(kw__sha256_k + 4 * q)));
    *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
    *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, _mm_shuffle_epi32(wk, 0x0e));
}

/* Next four schedule words from the previous sixteen (w0 oldest):
 * W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]. msg1 adds the s0
 * terms, the alignr picks W[t-7..t-4], msg2 adds the s1 terms (chaining the
 * two words it has just produced). */
static inline __m128i schedule(__m128i w0, __m128i w1, __m128i w2,
                               __m128i w3) {
    __m128i t = _mm_sha256msg1_epu32(w0, w1);
    t = _mm_add_epi32(t, _mm_alignr_epi8(w3, w2, 4));
    return _mm_sha256msg2_epu32(t, w3);
}

void kw__sha256_blocks_shani(uint32_t h[8], const uint8_t *p,
                             size_t nblocks) {
    /* Byte swap within each 32-bit lane: the message is big-endian. */
    const __m128i bswap =
        _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
    /* h[0..3] = lanes A,B,C,D and h[4..7] = E,F,G,H (lane 0 first);
     * the instructions want lanes F,E,B,A and H,G,D,C. */
    const __m128i abcd = _mm_loadu_si128((const __m128i *)h);
    const __m128i efgh = _mm_loadu_si128((const __m128i *)(h + 4));
    const __m128i badc = _mm_shuffle_epi32(abcd, 0xb1); /* B,A,D,C */
    const __m128i hgfe = _mm_shuffle_epi32(efgh, 0x1b); /* H,G,F,E */
    __m128i abef = _mm_alignr_epi8(badc, hgfe, 8);      /* F,E,B,A */
    __m128i cdgh = _mm_blend_epi16(hgfe, badc, 0xf0);   /* H,G,D,C */

    for (; nblocks; nblocks--, p += 64) {
        const __m128i abef0 = abef, cdgh0 = cdgh;
        __m128i w0 = _mm_shuffle_epi8(
            _mm_loadu_si128((const __m128i *)p), bswap);
        __m128i w1 = _mm_shuffle_epi8(
            _mm_loadu_si128((const __m128i *)(p + 16)), bswap);
        __m128i w2 = _mm_shuffle_epi8(
            _mm_loadu_si128((const __m128i *)(p + 32)), bswap);
        __m128i w3 = _mm_shuffle_epi8(
            _mm_loadu_si128((const __m128i *)(p + 48)), bswap);
        rounds4(&abef, &cdgh, w0, 0);
        rounds4(&abef, &cdgh, w1, 1);
        rounds4(&abef, &cdgh, w2, 2);
        rounds4(&abef, &cdgh, w3, 3);
        for (int q = 4; q < 16; q++) {
            const __m128i w4 = schedule(w0, w1, w2, w3);
            rounds4(&abef, &cdgh, w4, q);
            w0 = w1, w1 = w2, w2 = w3, w3 = w4;
        }
        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
    }

    const __m128i abfe = _mm_shuffle_epi32(abef, 0x1b); /* A,B,E,F */
    const __m128i ghcd = _mm_shuffle_epi32(cdgh, 0xb1); /* G,H,C,D */
    _mm_storeu_si128((__m128i *)h, _mm_blend_epi16(abfe, ghcd, 0xf0));
    _mm_storeu_si128((__m128i *)(h + 4), _mm_alignr_epi8(ghcd, abfe, 8));
}
