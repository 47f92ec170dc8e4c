/*
 * textout.h — the text a client sees: the per-job output filter that holds
 * back incomplete UTF-8 and possible starts of a stop string and cuts at a
 * stop string (textout.c), a UTF-8 sanitizer, and an inline UTF-8 sequence
 * check shared with the piece table (json_vocab.c).
 * Private to the scheduler side of `kaiwu serve`.
 */
#ifndef KW_SERVER_TEXTOUT_H
#define KW_SERVER_TEXTOUT_H

#include <stddef.h>
#include <stdint.h>

/* ---- one job's output filter ------------------------------------------ */
struct kws_textout {
    char *const *stop; /* borrowed; empty strings are ignored */
    int n_stop;
    size_t max_stop;   /* longest stop string */
    char *buf;         /* bytes not yet emitted */
    size_t len, cap;
};
void kws_textout_init(struct kws_textout *t, char *const *stop, int n_stop);
void kws_textout_free(struct kws_textout *t);
/* Appends bytes and hands back (in *out, malloc'd, NUL-terminated, valid
 * UTF-8, or NULL when nothing is ready) the text that can no longer be part
 * of a stop string or an incomplete character. Returns 1 when a stop string
 * was found (*out is the text before it; the job should end), 0 otherwise,
 * -1 when out of memory. */
int kws_textout_push(struct kws_textout *t, const char *bytes, size_t n,
                     char **out, size_t *out_len);
/* The generation ended: everything still held back (an incomplete UTF-8
 * sequence becomes U+FFFD) up to a stop string that can now be decided.
 * 1 when such a stop was found, 0 when not, -1 when out of memory. */
int kws_textout_flush(struct kws_textout *t, char **out, size_t *out_len);

/* ---- UTF-8 ------------------------------------------------------------- */
/* Length of the valid UTF-8 sequence at s[0..n), 0 when it is invalid or
 * incomplete. */
static inline size_t kws_utf8_seq(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F; /* beyond U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    }
    return len;
}
/* Copy of s[0..n) with each invalid or incomplete sequence replaced by
 * U+FFFD, NUL-terminated, malloc'd (NULL when out of memory). */
char *kws_utf8_sanitize(const char *s, size_t n, size_t *out_len);

#endif
