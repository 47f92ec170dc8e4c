/*
 * unicode.c — code point classes and case from the generated tables
 * (unicode_data.c), plus UTF-8 decode/encode with llama.cpp's treatment of
 * malformed input. Entry points: kw__uni_flags, kw__uni_tolower,
 * kw__utf8_decode, kw__utf8_encode.
 */
#include "text/unicode.h"

unsigned kw__uni_flags(uint32_t cpt) {
    if (cpt < 256) return kw__uni_latin1[cpt];
    if (cpt >= 0x110000) return KW_UNI_UNDEF;
    /* last range whose start <= cpt */
    size_t lo = 0, hi = kw__uni_n_ranges;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if ((kw__uni_ranges[mid] >> 8) <= cpt) lo = mid;
        else hi = mid;
    }
    unsigned f = kw__uni_ranges[lo] & 0xFF;
    if (f & (KW_UNI_SEP | KW_UNI_CONTROL)) { /* all White_Space are Z or Cc */
        for (size_t i = 0; i < kw__uni_n_ws_high; i++)
            if (kw__uni_ws_high[i] == cpt) return f | KW_UNI_WS;
    }
    return f;
}

uint32_t kw__uni_tolower(uint32_t cpt) {
    if (cpt < 128) return (cpt >= 'A' && cpt <= 'Z') ? cpt + 32 : cpt;
    size_t lo = 0, hi = kw__uni_n_lower;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (kw__uni_lower[mid][0] < cpt) lo = mid + 1;
        else hi = mid;
    }
    if (lo < kw__uni_n_lower && kw__uni_lower[lo][0] == cpt)
        return kw__uni_lower[lo][1];
    return cpt;
}

uint32_t kw__utf8_decode(const uint8_t *s, size_t n, size_t *pos) {
    size_t i = *pos;
    uint8_t c = s[i];
    size_t need;
    uint32_t cpt;
    if (c < 0x80) {
        *pos = i + 1;
        return c;
    }
    if ((c & 0xE0) == 0xC0) { need = 1; cpt = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { need = 2; cpt = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { need = 3; cpt = c & 0x07; }
    else goto bad; /* stray continuation byte or 0xF8..0xFF */
    if (n - i <= need) goto bad;
    for (size_t k = 1; k <= need; k++) {
        if ((s[i + k] & 0xC0) != 0x80) goto bad;
        cpt = (cpt << 6) | (s[i + k] & 0x3F);
    }
    /* llama.cpp would throw re-encoding these; one U+FFFD per byte instead */
    if (cpt > 0x10FFFF) goto bad;
    *pos = i + need + 1;
    return cpt;
bad:
    *pos = i + 1;
    return KW_UNI_REPLACEMENT;
}

size_t kw__utf8_encode(uint32_t cpt, uint8_t out[4]) {
    if (cpt < 0x80) {
        out[0] = (uint8_t)cpt;
        return 1;
    }
    if (cpt < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cpt >> 6));
        out[1] = (uint8_t)(0x80 | (cpt & 0x3F));
        return 2;
    }
    if (cpt < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cpt >> 12));
        out[1] = (uint8_t)(0x80 | ((cpt >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cpt & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | ((cpt >> 18) & 0x07));
    out[1] = (uint8_t)(0x80 | ((cpt >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cpt >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cpt & 0x3F));
    return 4;
}
