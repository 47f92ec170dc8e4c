/*
 * pretokenize.c — splits text (as code points) into the "words" that
 * byte-level BPE merges within, by hand-written matchers equivalent to the
 * regexes llama.cpp applies for each tokenizer.ggml.pre (GPT-2, Llama-3,
 * Qwen2, SmolLM/StarCoder digit isolation, and its "default" set).
 * Entry point: kw__pretokenize.
 */
#include "text/tok_internal.h"
#include "text/unicode.h"

/* One pass works on a segment [a, b) left by the previous pass; lookahead
 * never crosses the segment, exactly as chained regexes see it. */
struct seg {
    const uint32_t *cpt;
    const uint16_t *fl;
    size_t a, b;     /* segment */
    size_t prev;     /* end of the last emitted word */
    size_t *out;
    size_t n_out;
};

static inline unsigned F(const struct seg *s, size_t i) {
    return (i >= s->a && i < s->b) ? s->fl[i] : 0u;
}
static inline uint32_t C(const struct seg *s, size_t i) {
    return (i >= s->a && i < s->b) ? s->cpt[i] : 0xFFFFFFFFu;
}
static inline void emit(struct seg *s, size_t end) {
    if (end > s->prev) s->out[s->n_out++] = end - s->prev;
    s->prev = end;
}

#define LNW (KW_UNI_LETTER | KW_UNI_NUMBER | KW_UNI_WS)

/* 's 't 'm 'd 're 've 'll after an apostrophe at pos; returns the length
 * matched (0, 2 or 3). fold: case-insensitive (Llama-3, Qwen2). */
static size_t contraction(const struct seg *s, size_t pos, int fold) {
    if (C(s, pos) != '\'' || pos + 1 >= s->b) return 0;
    uint32_t c1 = C(s, pos + 1);
    if (fold) c1 = kw__uni_tolower(c1);
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
    if (pos + 2 >= s->b) return 0;
    uint32_t c2 = C(s, pos + 2);
    if (fold) c2 = kw__uni_tolower(c2);
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') ||
        (c1 == 'l' && c2 == 'l'))
        return 3;
    return 0;
}

/* Whitespace tail shared by all three patterns: \s+(?!\S) | \s+ . With
 * rn set, \s*[\r\n]+ is tried first (Llama-3 / Qwen2). */
static void whitespace(struct seg *s, size_t *pos, int rn) {
    size_t p = *pos, k = 0, last_rn = 0;
    while (F(s, p + k) & KW_UNI_WS) {
        uint32_t c = C(s, p + k);
        if (rn && (c == '\r' || c == '\n')) last_rn = p + k + 1;
        k++;
    }
    if (last_rn) p = last_rn;
    else if (k > 1 && p + k < s->b) p += k - 1; /* leave one for the next word */
    else if (k > 0) p += k;
    else p += 1; /* nothing matched: a word of one code point */
    emit(s, p);
    *pos = p;
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static void split_gpt2(struct seg *s) {
    size_t pos = s->a;
    while (pos < s->b) {
        uint32_t c = C(s, pos);
        size_t k = contraction(s, pos, 0);
        if (k) {
            pos += k;
            emit(s, pos);
            continue;
        }
        unsigned f2 = (c == ' ') ? F(s, pos + 1) : F(s, pos);
        unsigned cls = 0;
        if (f2 & KW_UNI_LETTER) cls = KW_UNI_LETTER;
        else if (f2 & KW_UNI_NUMBER) cls = KW_UNI_NUMBER;
        if (cls) {
            pos += (c == ' ');
            while (F(s, pos) & cls) pos++;
            emit(s, pos);
            continue;
        }
        if (!(f2 & LNW) && f2) { /* other: punctuation, symbols, marks... */
            pos += (c == ' ');
            for (unsigned f = F(s, pos); !(f & LNW) && f; f = F(s, pos)) pos++;
            emit(s, pos);
            continue;
        }
        whitespace(s, &pos, 0);
    }
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * max_digits 3: Llama-3; 1: Qwen2. */
static void split_llama3(struct seg *s, size_t max_digits) {
    size_t pos = s->a;
    while (pos < s->b) {
        uint32_t c = C(s, pos);
        unsigned f = F(s, pos);
        size_t k = contraction(s, pos, 1);
        if (k) {
            pos += k;
            emit(s, pos);
            continue;
        }
        if (!(c == '\r' || c == '\n' || (f & KW_UNI_NUMBER)) &&
            ((f & KW_UNI_LETTER) || (F(s, pos + 1) & KW_UNI_LETTER))) {
            pos++; /* the optional lead, or the first letter */
            while (F(s, pos) & KW_UNI_LETTER) pos++;
            emit(s, pos);
            continue;
        }
        if (f & KW_UNI_NUMBER) {
            size_t run = 0;
            while (F(s, pos) & KW_UNI_NUMBER) {
                pos++;
                if (++run == max_digits) {
                    emit(s, pos);
                    run = 0;
                }
            }
            emit(s, pos);
            continue;
        }
        unsigned f2 = (c == ' ') ? F(s, pos + 1) : f;
        if (!(f2 & LNW) && f) {
            pos += (c == ' ');
            for (f2 = F(s, pos); !(f2 & LNW) && f2; f2 = F(s, pos)) pos++;
            for (uint32_t c2 = C(s, pos); c2 == '\r' || c2 == '\n';
                 c2 = C(s, pos))
                pos++;
            emit(s, pos);
            continue;
        }
        whitespace(s, &pos, 1);
    }
}

/* Chained regex passes of the form "X+" (runs isolated) or "X" (each
 * code point isolated); the text between matches stays one segment. */
enum run_class { RUN_NUMBER, RUN_PUNCT_DEFAULT, RUN_ASCII_DIGIT };

static int in_class(enum run_class rc, uint32_t c, unsigned f) {
    switch (rc) {
    case RUN_NUMBER: return (f & KW_UNI_NUMBER) != 0;
    case RUN_PUNCT_DEFAULT: /* [\p{P}\$\+<=>\^~\|] */
        return (f & KW_UNI_PUNCT) || c == '$' || c == '+' || c == '<' ||
               c == '=' || c == '>' || c == '^' || c == '~' || c == '|';
    case RUN_ASCII_DIGIT: return c >= '0' && c <= '9';
    }
    return 0;
}

static void split_runs(struct seg *s, enum run_class rc, int single) {
    size_t pos = s->a;
    while (pos < s->b) {
        if (!in_class(rc, s->cpt[pos], s->fl[pos])) {
            pos++;
            continue;
        }
        emit(s, pos); /* text before the match */
        pos++;
        if (!single)
            while (pos < s->b && in_class(rc, s->cpt[pos], s->fl[pos])) pos++;
        emit(s, pos);
    }
    emit(s, s->b);
}

/* [0-9][0-9][0-9]: leftmost non-overlapping triples of ASCII digits. */
static void split_digit_triples(struct seg *s) {
    size_t pos = s->a;
    while (pos + 3 <= s->b) {
        if (in_class(RUN_ASCII_DIGIT, s->cpt[pos], 0) &&
            in_class(RUN_ASCII_DIGIT, s->cpt[pos + 1], 0) &&
            in_class(RUN_ASCII_DIGIT, s->cpt[pos + 2], 0)) {
            emit(s, pos);
            pos += 3;
            emit(s, pos);
        } else {
            pos++;
        }
    }
    emit(s, s->b);
}

enum pass { P_GPT2, P_LLAMA3, P_QWEN2, P_NUMBER_EACH, P_NUMBER_RUNS,
            P_PUNCT_RUNS, P_DIGIT3 };

static size_t run_pass(enum pass p, const uint32_t *cpt, const uint16_t *fl,
                       const size_t *in, size_t n_in, size_t *out) {
    struct seg s = {cpt, fl, 0, 0, 0, out, 0};
    size_t start = 0;
    for (size_t i = 0; i < n_in; i++) {
        s.a = s.prev = start;
        s.b = start + in[i];
        start = s.b;
        switch (p) {
        case P_GPT2: split_gpt2(&s); break;
        case P_LLAMA3: split_llama3(&s, 3); break;
        case P_QWEN2: split_llama3(&s, 1); break;
        case P_NUMBER_EACH: split_runs(&s, RUN_NUMBER, 1); break;
        case P_NUMBER_RUNS: split_runs(&s, RUN_NUMBER, 0); break;
        case P_PUNCT_RUNS: split_runs(&s, RUN_PUNCT_DEFAULT, 0); break;
        case P_DIGIT3: split_digit_triples(&s); break;
        }
    }
    return s.n_out;
}

size_t kw__pretokenize(enum kw__pre pre, const uint32_t *cpt,
                       const uint16_t *fl, size_t n, size_t *out,
                       size_t *tmp) {
    static const enum pass gpt2[] = {P_GPT2};
    static const enum pass llama3[] = {P_LLAMA3};
    static const enum pass qwen2[] = {P_QWEN2};
    static const enum pass smollm[] = {P_NUMBER_EACH, P_GPT2};
    static const enum pass dflt[] = {P_PUNCT_RUNS, P_GPT2, P_NUMBER_RUNS,
                                     P_DIGIT3};
    const enum pass *passes = gpt2;
    size_t n_passes = 1;
    switch (pre) {
    case KW_PRE_GPT2: break;
    case KW_PRE_LLAMA3: passes = llama3; break;
    case KW_PRE_QWEN2: passes = qwen2; break;
    case KW_PRE_SMOLLM: passes = smollm; n_passes = 2; break;
    case KW_PRE_DEFAULT: passes = dflt; n_passes = 4; break;
    }
    if (n == 0) return 0;
    /* ping-pong so the last pass lands in out */
    size_t *bufs[2] = {(n_passes & 1) ? out : tmp, (n_passes & 1) ? tmp : out};
    size_t whole = n, n_seg = 1;
    const size_t *in = &whole;
    for (size_t k = 0; k < n_passes; k++) {
        size_t *dst = bufs[k & 1];
        n_seg = run_pass(passes[k], cpt, fl, in, n_seg, dst);
        in = dst;
    }
    return n_seg;
}
