/*
 * json_constraint.c — incremental check that some text is a prefix of one
 * JSON object (RFC 8259: strings with escapes and \u surrogate pairs, UTF-8,
 * numbers, true/false/null, nesting up to 128, whitespace). Used by the
 * scheduler to mask tokens for response_format json_object.
 * Entry points: kws_json_init, kws_json_feed (serve.h).
 */
#include <string.h>

#include "json_constraint.h"

enum {
    M_START,      /* before the top-level '{' */
    M_KEY_OR_END, /* after '{' */
    M_KEY,        /* after ',' in an object */
    M_COLON,      /* after a key */
    M_VALUE,      /* after ':' or ',' in an array */
    M_VAL_OR_END, /* after '[' */
    M_AFTER,      /* after a value: ',' or a closing bracket */
    M_STRING,     /* inside a value string */
    M_KEYSTR,     /* inside a key string */
    M_NUMBER,
    M_LITERAL,
    M_DONE,       /* the top-level object is closed */
};

/* String sub-state in aux: low 4 bits; bit 4 = a high surrogate waits for
 * its low half; \u digits accumulate in bits 8..23; UTF-8 continuation
 * bytes left in bits 8..9 and the first continuation's range in 10..12. */
enum { S_NORMAL, S_ESC, S_HEX0, S_HEX1, S_HEX2, S_HEX3, S_UTF8 };
#define S_PENDING_HI 0x10

/* Number sub-states (aux). */
enum { N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_EXP, N_EXPSIGN, N_EXPDIG };

static const char *const k_literals[3] = {"true", "false", "null"};

static int is_ws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Enters the container or scalar that c starts; 0 when c starts no value. */
static int start_value(struct kws_json_state *st, unsigned char c) {
    if (c == '{' || c == '[') {
        if (st->depth >= (int)sizeof st->stack)
            return 0;
        st->stack[st->depth++] = c;
        st->mode = c == '{' ? M_KEY_OR_END : M_VAL_OR_END;
        return 1;
    }
    if (c == '"') {
        st->mode = M_STRING;
        st->aux = S_NORMAL;
        return 1;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        st->mode = M_NUMBER;
        st->aux = c == '-' ? N_MINUS : c == '0' ? N_ZERO : N_INT;
        return 1;
    }
    for (int i = 0; i < 3; i++) {
        if (c == (unsigned char)k_literals[i][0]) {
            st->mode = M_LITERAL;
            st->aux = i << 4 | 1; /* literal index, bytes matched */
            return 1;
        }
    }
    return 0;
}

static void value_done(struct kws_json_state *st) {
    st->mode = M_AFTER;
}

/* A closing bracket or a comma after a value. */
static int after_value(struct kws_json_state *st, unsigned char c) {
    if (is_ws(c))
        return 1;
    if (st->depth <= 0)
        return 0;
    unsigned char top = st->stack[st->depth - 1];
    if (c == ',') {
        st->mode = top == '{' ? M_KEY : M_VALUE;
        return 1;
    }
    if ((c == '}' && top == '{') || (c == ']' && top == '[')) {
        st->depth--;
        if (st->depth == 0) {
            st->mode = M_DONE;
            st->done = 1;
        } else {
            st->mode = M_AFTER;
        }
        return 1;
    }
    return 0;
}

/* First continuation byte ranges after special UTF-8 lead bytes. */
static int utf8_lead(unsigned char c, int *left, int *range) {
    if (c >= 0xC2 && c <= 0xDF) {
        *left = 1, *range = 0;
    } else if (c == 0xE0) {
        *left = 2, *range = 1; /* A0..BF: no overlong */
    } else if (c == 0xED) {
        *left = 2, *range = 2; /* 80..9F: no surrogates */
    } else if (c >= 0xE1 && c <= 0xEF) {
        *left = 2, *range = 0;
    } else if (c == 0xF0) {
        *left = 3, *range = 3; /* 90..BF */
    } else if (c >= 0xF1 && c <= 0xF3) {
        *left = 3, *range = 0;
    } else if (c == 0xF4) {
        *left = 3, *range = 4; /* 80..8F: up to U+10FFFF */
    } else {
        return 0;
    }
    return 1;
}

static int utf8_cont_ok(unsigned char c, int range) {
    static const unsigned char lo[5] = {0x80, 0xA0, 0x80, 0x90, 0x80};
    static const unsigned char hi[5] = {0xBF, 0xBF, 0x9F, 0xBF, 0x8F};
    return c >= lo[range] && c <= hi[range];
}

static int string_byte(struct kws_json_state *st, unsigned char c) {
    int sub = st->aux & 0xF;
    int pending = st->aux & S_PENDING_HI;
    switch (sub) {
    case S_NORMAL:
        if (pending)
            return c == '\\' ? (st->aux = S_ESC | pending, 1) : 0;
        if (c == '"') {
            st->mode = st->mode == M_KEYSTR ? M_COLON : M_AFTER;
            st->aux = 0;
            return 1;
        }
        if (c == '\\') {
            st->aux = S_ESC;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c < 0x80)
            return 1;
        {
            int left, range;
            if (!utf8_lead(c, &left, &range))
                return 0;
            st->aux = S_UTF8 | left << 8 | range << 10;
        }
        return 1;
    case S_ESC:
        if (pending && c != 'u')
            return 0;
        if (c == 'u') {
            st->aux = S_HEX0 | pending;
            return 1;
        }
        if (strchr("\"\\/bfnrt", c) == NULL || c == 0)
            return 0;
        st->aux = S_NORMAL;
        return 1;
    case S_HEX0:
    case S_HEX1:
    case S_HEX2:
    case S_HEX3: {
        int h = hexval(c);
        if (h < 0)
            return 0;
        int v = (st->aux >> 8 & 0xFFFF) << 4 | h;
        if (sub < S_HEX3) {
            st->aux = (sub + 1) | pending | v << 8;
            return 1;
        }
        int is_hi = v >= 0xD800 && v <= 0xDBFF;
        int is_lo = v >= 0xDC00 && v <= 0xDFFF;
        if (pending ? !is_lo : is_lo)
            return 0;
        st->aux = S_NORMAL | (is_hi ? S_PENDING_HI : 0);
        return 1;
    }
    case S_UTF8: {
        int left = st->aux >> 8 & 3, range = st->aux >> 10 & 7;
        if (!utf8_cont_ok(c, range))
            return 0;
        left--;
        st->aux = left ? S_UTF8 | left << 8 : S_NORMAL;
        return 1;
    }
    }
    return 0;
}

/* Returns 1 when c extends the number, 0 when it is invalid, 2 when the
 * number ended before c (c must then be read as what follows a value). */
static int number_byte(struct kws_json_state *st, unsigned char c) {
    int digit = c >= '0' && c <= '9';
    switch (st->aux) {
    case N_MINUS:
        if (!digit)
            return 0;
        st->aux = c == '0' ? N_ZERO : N_INT;
        return 1;
    case N_ZERO:
    case N_INT:
        if (digit && st->aux == N_INT)
            return 1;
        if (digit)
            return 0; /* no leading zeros */
        if (c == '.') {
            st->aux = N_DOT;
            return 1;
        }
        if (c == 'e' || c == 'E') {
            st->aux = N_EXP;
            return 1;
        }
        return 2;
    case N_DOT:
        if (!digit)
            return 0;
        st->aux = N_FRAC;
        return 1;
    case N_FRAC:
        if (digit)
            return 1;
        if (c == 'e' || c == 'E') {
            st->aux = N_EXP;
            return 1;
        }
        return 2;
    case N_EXP:
        if (c == '+' || c == '-') {
            st->aux = N_EXPSIGN;
            return 1;
        }
        /* fall through */
    case N_EXPSIGN:
        if (!digit)
            return 0;
        st->aux = N_EXPDIG;
        return 1;
    case N_EXPDIG:
        return digit ? 1 : 2;
    }
    return 0;
}

static int step(struct kws_json_state *st, unsigned char c) {
    switch (st->mode) {
    case M_START:
        if (is_ws(c))
            return 1;
        return c == '{' && start_value(st, c);
    case M_KEY_OR_END:
        if (c == '}')
            return after_value(st, c);
        /* fall through */
    case M_KEY:
        if (is_ws(c))
            return 1;
        if (c != '"')
            return 0;
        st->mode = M_KEYSTR;
        st->aux = S_NORMAL;
        return 1;
    case M_COLON:
        if (is_ws(c))
            return 1;
        if (c != ':')
            return 0;
        st->mode = M_VALUE;
        return 1;
    case M_VAL_OR_END:
        if (c == ']')
            return after_value(st, c);
        /* fall through */
    case M_VALUE:
        if (is_ws(c))
            return 1;
        return start_value(st, c);
    case M_AFTER:
        return after_value(st, c);
    case M_STRING:
    case M_KEYSTR:
        return string_byte(st, c);
    case M_NUMBER: {
        int r = number_byte(st, c);
        if (r != 2)
            return r;
        value_done(st);
        return after_value(st, c);
    }
    case M_LITERAL: {
        const char *lit = k_literals[st->aux >> 4];
        int i = st->aux & 0xF;
        if (c != (unsigned char)lit[i])
            return 0;
        i++;
        if (lit[i] == '\0')
            value_done(st);
        else
            st->aux = (st->aux & ~0xF) | i;
        return 1;
    }
    case M_DONE:
        return is_ws(c);
    }
    return 0;
}

void kws_json_init(struct kws_json_state *st) {
    memset(st, 0, sizeof *st);
    st->mode = M_START;
}

int kws_json_feed(struct kws_json_state *st, const char *bytes, size_t n) {
    struct kws_json_state tmp = *st;
    for (size_t i = 0; i < n; i++) {
        if (!step(&tmp, (unsigned char)bytes[i]))
            return 0;
    }
    *st = tmp;
    return 1;
}

int kws_json_in_string(const struct kws_json_state *st) {
    return st->mode == M_STRING || st->mode == M_KEYSTR;
}

int kws_json_in_plain_string(const struct kws_json_state *st) {
    return (st->mode == M_STRING || st->mode == M_KEYSTR) &&
           st->aux == S_NORMAL;
}
