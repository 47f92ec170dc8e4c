/*
 * json.c — JSON writer and UTF-8 helpers for the CLI (see json.h). Strings
 * are validated as strict UTF-8 (no overlongs, surrogates or values past
 * U+10FFFF) so every document printed is valid JSON whatever bytes a model
 * file or a token piece holds.
 */
#include "json.h"

#include <math.h>
#include <string.h>

int utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;      /* overlong */
        if (c == 0xED) hi = 0x9F;      /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) lo = 0x90;      /* overlong */
        if (c == 0xF4) hi = 0x8F;      /* > U+10FFFF */
    } else
        return -1;
    for (size_t i = 1; i < need; i++) {
        if (i >= n)
            return 0;
        unsigned b = s[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
            return -1;
    }
    return (int)need;
}

void jw_init(struct jw *w, FILE *f) {
    memset(w, 0, sizeof *w);
    w->f = f;
}

/* Comma before every value but the first at its level (not after a key). */
static void pre_value(struct jw *w) {
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->count[w->depth]++ > 0)
        fputc(',', w->f);
}

static void open_(struct jw *w, int ch) {
    pre_value(w);
    fputc(ch, w->f);
    if (w->depth + 1 < JW_MAX_DEPTH)
        w->depth++;
    w->count[w->depth] = 0;
}

static void close_(struct jw *w, int ch) {
    fputc(ch, w->f);
    if (w->depth > 0)
        w->depth--;
}

void jw_obj_begin(struct jw *w) { open_(w, '{'); }
void jw_obj_end(struct jw *w) { close_(w, '}'); }
void jw_arr_begin(struct jw *w) { open_(w, '['); }
void jw_arr_end(struct jw *w) { close_(w, ']'); }

static void put_escaped(FILE *f, const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', f);
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        if (c >= 0x80) {
            int k = utf8_seq(s + i, len - i);
            if (k > 0) {
                fwrite(s + i, 1, (size_t)k, f);
                i += (size_t)k;
            } else {
                fputs("\\ufffd", f);
                i++;
            }
            continue;
        }
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (c < 0x20 || c == 0x7F)
                fprintf(f, "\\u%04x", c);
            else
                fputc((int)c, f);
        }
        i++;
    }
    fputc('"', f);
}

void jw_key(struct jw *w, const char *key) {
    pre_value(w);
    put_escaped(w->f, key, strlen(key));
    fputc(':', w->f);
    w->after_key = 1;
}

void jw_strn(struct jw *w, const char *s, size_t len) {
    pre_value(w);
    put_escaped(w->f, s ? s : "", s ? len : 0);
}

void jw_str(struct jw *w, const char *s) { jw_strn(w, s, s ? strlen(s) : 0); }

void jw_int(struct jw *w, int64_t v) {
    pre_value(w);
    fprintf(w->f, "%lld", (long long)v);
}

void jw_uint(struct jw *w, uint64_t v) {
    pre_value(w);
    fprintf(w->f, "%llu", (unsigned long long)v);
}

void jw_num(struct jw *w, double v, int digits) {
    pre_value(w);
    if (!isfinite(v))
        fputs("null", w->f);
    else
        fprintf(w->f, "%.*g", digits, v);
}

void jw_bool(struct jw *w, int v) {
    pre_value(w);
    fputs(v ? "true" : "false", w->f);
}

void jw_null(struct jw *w) {
    pre_value(w);
    fputs("null", w->f);
}

void jw_end(struct jw *w) {
    fputc('\n', w->f);
    fflush(w->f);
}

int text_escaped(FILE *f, const char *str, size_t len, size_t max) {
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < len;) {
        if (max && i >= max)
            return 1;
        unsigned c = s[i];
        if (c >= 0x80) {
            int k = utf8_seq(s + i, len - i);
            if (k > 0) {
                fwrite(s + i, 1, (size_t)k, f);
                i += (size_t)k;
            } else {
                fprintf(f, "\\x%02x", c);
                i++;
            }
            continue;
        }
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (c < 0x20 || c == 0x7F)
                fprintf(f, "\\x%02x", c);
            else
                fputc((int)c, f);
        }
        i++;
    }
    return 0;
}

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

void text_sink_put(struct text_sink *t, const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    /* Complete a held-back sequence one byte at a time. */
    while (t->n_hold > 0 && i < len) {
        t->hold[t->n_hold++] = s[i++];
        int k = utf8_seq(t->hold, t->n_hold);
        if (k > 0) {
            fwrite(t->hold, 1, t->n_hold, t->f);
            t->n_hold = 0;
        } else if (k < 0) {
            /* The lead byte was bad: replace it, re-feed the rest. */
            unsigned char rest[4];
            size_t n_rest = t->n_hold - 1;
            memcpy(rest, t->hold + 1, n_rest);
            t->n_hold = 0;
            fputs(REPLACEMENT, t->f);
            text_sink_put(t, (const char *)rest, n_rest);
        }
    }
    size_t run = i; /* start of bytes not yet written */
    while (i < len) {
        int k = utf8_seq(s + i, len - i);
        if (k > 0) {
            i += (size_t)k;
            continue;
        }
        fwrite(s + run, 1, i - run, t->f);
        if (k == 0) { /* incomplete tail: hold it back */
            t->n_hold = len - i;
            memcpy(t->hold, s + i, t->n_hold);
            return;
        }
        fputs(REPLACEMENT, t->f);
        run = ++i;
    }
    fwrite(s + run, 1, i - run, t->f);
}

void text_sink_flush(struct text_sink *t) {
    if (t->n_hold > 0)
        fputs(REPLACEMENT, t->f);
    t->n_hold = 0;
    fflush(t->f);
}
