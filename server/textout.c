/*
 * textout.c — the text a client sees from `kaiwu serve`: the per-job
 * stop-string / UTF-8 holdback filter and a UTF-8 sanitizer, so that every
 * text event is complete UTF-8 and never contains (or ends with the start
 * of) a stop string. Token bytes come from the piece table (json_vocab.c).
 * Entry points: kws_textout_push/flush, kws_utf8_sanitize (textout.h).
 */
#include <stdlib.h>
#include <string.h>

#include "textout.h"

/* ---- UTF-8 ------------------------------------------------------------- */
char *kws_utf8_sanitize(const char *s, size_t n, size_t *out_len) {
    /* each bad byte may grow to 3 */
    if (n > (SIZE_MAX - 1) / 3)
        return NULL;
    char *out = malloc(n * 3 + 1);
    if (!out)
        return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t l = kws_utf8_seq(u + i, n - i);
        if (l == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, l);
            o += l;
            i += l;
        }
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return out;
}

/* Where a trailing sequence that may still complete starts (k if none). */
static size_t incomplete_tail(const unsigned char *s, size_t k) {
    for (size_t back = 1; back <= 3 && back <= k; back++) {
        unsigned char c = s[k - back];
        if ((c & 0xC0) == 0x80)
            continue; /* continuation: keep looking for the lead */
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (c >= 0xC2 && c <= 0xF4 && back < need)
            return k - back;
        return k;
    }
    return k;
}

/* ---- output filter ----------------------------------------------------- */
void kws_textout_init(struct kws_textout *t, char *const *stop, int n_stop) {
    memset(t, 0, sizeof *t);
    t->stop = stop;
    t->n_stop = stop ? n_stop : 0;
    for (int i = 0; i < t->n_stop; i++) {
        size_t l = stop[i] ? strlen(stop[i]) : 0;
        if (l > t->max_stop)
            t->max_stop = l;
    }
}

void kws_textout_free(struct kws_textout *t) {
    free(t->buf);
    memset(t, 0, sizeof *t);
}

/* Moves buf[0..k) out (sanitized) and keeps the rest. */
static int emit(struct kws_textout *t, size_t k, char **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    if (k > 0) {
        *out = kws_utf8_sanitize(t->buf, k, out_len);
        if (!*out)
            return -1;
    }
    memmove(t->buf, t->buf + k, t->len - k);
    t->len -= k;
    return 0;
}

/* Earliest occurrence of any stop string in buf, or len. */
static size_t find_stop(const struct kws_textout *t) {
    size_t best = t->len;
    for (int i = 0; i < t->n_stop; i++) {
        size_t l = t->stop[i] ? strlen(t->stop[i]) : 0;
        if (l == 0 || l > t->len)
            continue;
        for (size_t p = 0; p + l <= t->len && p < best; p++) {
            if (memcmp(t->buf + p, t->stop[i], l) == 0) {
                best = p;
                break;
            }
        }
    }
    return best;
}

/* First position from which the rest of buf is a proper prefix of a stop
 * string (so it may still become one), or len. */
static size_t stop_prefix_start(const struct kws_textout *t) {
    if (t->max_stop == 0)
        return t->len;
    size_t from = t->len >= t->max_stop ? t->len - t->max_stop + 1 : 0;
    for (size_t p = from; p < t->len; p++) {
        size_t rest = t->len - p;
        for (int i = 0; i < t->n_stop; i++) {
            size_t l = t->stop[i] ? strlen(t->stop[i]) : 0;
            if (l > rest && memcmp(t->buf + p, t->stop[i], rest) == 0)
                return p;
        }
    }
    return t->len;
}

int kws_textout_push(struct kws_textout *t, const char *bytes, size_t n,
                     char **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    if (n > SIZE_MAX - t->len - 1)
        return -1;
    if (t->len + n > t->cap) {
        size_t ncap = t->cap ? t->cap : 64;
        while (ncap < t->len + n)
            ncap *= 2;
        char *nb = realloc(t->buf, ncap);
        if (!nb)
            return -1;
        t->buf = nb;
        t->cap = ncap;
    }
    if (n)
        memcpy(t->buf + t->len, bytes, n);
    t->len += n;

    /* A stop found at `at` ends the output only when no earlier position
     * may still grow into another stop (the earliest stop in the final
     * text wins, however the text was split into pieces). */
    size_t at = find_stop(t);
    size_t k = stop_prefix_start(t);
    if (at < t->len && at <= k) {
        if (emit(t, at, out, out_len) < 0)
            return -1;
        t->len = 0; /* the stop string and anything after it are dropped */
        return 1;
    }
    if (at < k)
        k = at;
    k = incomplete_tail((const unsigned char *)t->buf, k);
    return emit(t, k, out, out_len);
}

int kws_textout_flush(struct kws_textout *t, char **out, size_t *out_len) {
    size_t at = find_stop(t);
    if (emit(t, at, out, out_len) < 0)
        return -1;
    int hit = t->len > 0;
    t->len = 0;
    return hit;
}
