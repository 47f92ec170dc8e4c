/*
 * unicode.h — the little Unicode the tokenizers need: UTF-8 decoding that
 * turns each invalid byte into U+FFFD (as llama.cpp does), encoding, code
 * point classes (\p{L}, \p{N}, ... and \s) and simple lowercase. Tables are
 * generated into unicode_data.c by tools/gen_unicode_tables.py.
 */
#ifndef KW_TEXT_UNICODE_H
#define KW_TEXT_UNICODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

/* Class bits: exactly one of the first eight is set for any code point. */
enum {
    KW_UNI_UNDEF = 0x01,  /* unassigned (Cn) */
    KW_UNI_NUMBER = 0x02, /* \p{N} */
    KW_UNI_LETTER = 0x04, /* \p{L} */
    KW_UNI_SEP = 0x08,    /* \p{Z} */
    KW_UNI_MARK = 0x10,   /* \p{M} */
    KW_UNI_PUNCT = 0x20,  /* \p{P} */
    KW_UNI_SYMBOL = 0x40, /* \p{S} */
    KW_UNI_CONTROL = 0x80, /* \p{C} other than Cn */
    KW_UNI_WS = 0x100      /* \s: the White_Space property */
};

#define KW_UNI_REPLACEMENT 0xFFFDu

extern const uint32_t kw__uni_ranges[];
extern const size_t kw__uni_n_ranges;
extern const uint16_t kw__uni_latin1[256];
extern const uint32_t kw__uni_ws_high[];
extern const size_t kw__uni_n_ws_high;
extern const uint32_t kw__uni_lower[][2];
extern const size_t kw__uni_n_lower;

/* Class bits | KW_UNI_WS of cpt; code points past U+10FFFF are UNDEF. */
KW_HIDDEN unsigned kw__uni_flags(uint32_t cpt);
KW_HIDDEN uint32_t kw__uni_tolower(uint32_t cpt);

/* Decodes one code point at s[*pos] (pos < n) and advances *pos. A byte that
 * does not start a complete, well-formed sequence (lead/continuation bits;
 * overlong forms and surrogates are accepted like llama.cpp) decodes to
 * U+FFFD and advances by one byte. */
KW_HIDDEN uint32_t kw__utf8_decode(const uint8_t *s, size_t n, size_t *pos);
/* Writes 1..4 bytes of cpt (<= 0x10FFFF) to out; returns the count. */
KW_HIDDEN size_t kw__utf8_encode(uint32_t cpt, uint8_t out[4]);
/* Byte length implied by a lead byte (1 for continuation bytes, 4 for
 * 0xF0..0xFF), as SentencePiece-style splitting uses it. */
static inline size_t kw__utf8_len(uint8_t lead) {
    static const uint8_t len[16] = {1, 1, 1, 1, 1, 1, 1, 1,
                                    1, 1, 1, 1, 2, 2, 3, 4};
    return len[lead >> 4];
}

#endif /* KW_TEXT_UNICODE_H */
