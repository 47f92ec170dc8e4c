/*
 * bpe.c — GPT-2 style byte-level BPE for one raw-text fragment: decode to
 * code points, pre-tokenize into words, map each byte to its printable
 * stand-in, then merge adjacent symbols lowest rank first (leftmost on
 * ties) until no ranked pair is left. Entry point: kw__bpe_encode.
 */
#include "text/tok_internal.h"
#include "text/unicode.h"

struct bsym {
    int32_t prev, next;
    uint32_t off, n; /* bytes of the encoded word; n == 0: merged away */
};

struct bigram {
    int32_t rank, left, right;
    uint32_t nl, nr; /* symbol lengths when queued: stale if they changed */
};

static int bigram_before(const struct bigram *a, const struct bigram *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static void heap_push(struct bigram *h, size_t *n, struct bigram x) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!bigram_before(&x, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

static struct bigram heap_pop(struct bigram *h, size_t *n) {
    struct bigram top = h[0], last = h[--(*n)];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && bigram_before(&h[c + 1], &h[c])) c++;
        if (!bigram_before(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (m) h[i] = last;
    return top;
}

static void try_pair(const struct kw__tokenizer *t, const uint8_t *enc,
                     struct bsym *sym, struct bigram *heap, size_t *nh,
                     int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    int32_t rank = kw__merge_rank(t, (const char *)enc + sym[l].off, sym[l].n,
                                  (const char *)enc + sym[r].off, sym[r].n);
    if (rank < 0) return;
    struct bigram b = {rank, l, r, sym[l].n, sym[r].n};
    heap_push(heap, nh, b);
}

/* Merges the symbols of one encoded word and appends their ids. */
static void merge_word(const struct kw__tokenizer *t, const uint8_t *enc,
                       struct bsym *sym, int32_t nsym, struct bigram *heap,
                       struct kw__ids *out) {
    size_t nh = 0;
    for (int32_t i = 1; i < nsym; i++) try_pair(t, enc, sym, heap, &nh, i - 1, i);
    while (nh > 0) {
        struct bigram b = heap_pop(heap, &nh);
        struct bsym *L = &sym[b.left], *R = &sym[b.right];
        if (L->n == 0 || R->n == 0 || L->n != b.nl || R->n != b.nr ||
            L->next != b.right)
            continue;
        L->n += R->n;
        R->n = 0;
        L->next = R->next;
        if (R->next >= 0) sym[R->next].prev = b.left;
        try_pair(t, enc, sym, heap, &nh, L->prev, b.left);
        try_pair(t, enc, sym, heap, &nh, b.left, L->next);
    }
    for (int32_t i = 0; i >= 0; i = sym[i].next) {
        const char *s = (const char *)enc + sym[i].off;
        int32_t id = kw__vocab_find(t, s, sym[i].n);
        if (id >= 0) {
            kw__ids_push(out, id);
            continue;
        }
        /* not a token: fall back to the single bytes that are */
        for (uint32_t j = 0; j < sym[i].n; j++) {
            id = kw__vocab_find(t, s + j, 1);
            if (id >= 0) kw__ids_push(out, id);
        }
    }
}

enum kw_status kw__bpe_encode(const struct kw__tokenizer *t, const char *text,
                              size_t len, struct kw__scratch *s,
                              struct kw__ids *out) {
    const uint8_t *u = (const uint8_t *)text;
    if (len == 0) return KW_STATUS_OK;
    if (!kw__grow(&s->cpt, &s->cpt_cap, len, sizeof(uint32_t)) ||
        !kw__grow(&s->fl, &s->fl_cap, len, sizeof(uint16_t)) ||
        !kw__grow(&s->w1, &s->w1_cap, len, sizeof(size_t)) ||
        !kw__grow(&s->w2, &s->w2_cap, len, sizeof(size_t)))
        return KW_STATUS_ERR_NOMEM;
    uint32_t *cpt = s->cpt;
    uint16_t *fl = s->fl;
    size_t n = 0;
    for (size_t pos = 0; pos < len;) {
        cpt[n] = kw__utf8_decode(u, len, &pos);
        fl[n] = (uint16_t)kw__uni_flags(cpt[n]);
        n++;
    }
    size_t nw = kw__pretokenize(t->pre, cpt, fl, n, s->w1, s->w2);
    const size_t *wlen = s->w1;
    size_t start = 0;
    for (size_t w = 0; w < nw; w++) {
        size_t wl = wlen[w];
        /* <= 4 UTF-8 bytes per code point, each mapped to <= 2 bytes */
        if (wl > (size_t)INT32_MAX / 8 ||
            !kw__grow(&s->enc, &s->enc_cap, wl * 8, 1) ||
            !kw__grow(&s->sym, &s->sym_cap, wl * 4, sizeof(struct bsym)) ||
            !kw__grow(&s->heap, &s->heap_cap, wl * 12, sizeof(struct bigram)))
            return KW_STATUS_ERR_NOMEM;
        uint8_t *enc = s->enc;
        struct bsym *sym = s->sym;
        uint32_t e = 0;
        int32_t nsym = 0;
        for (size_t i = start; i < start + wl; i++) {
            uint8_t b[4];
            size_t k = kw__utf8_encode(cpt[i], b);
            for (size_t j = 0; j < k; j++) {
                uint8_t ml = t->byte_utf8_len[b[j]];
                sym[nsym].prev = nsym - 1;
                sym[nsym].next = nsym + 1;
                sym[nsym].off = e;
                sym[nsym].n = ml;
                memcpy(enc + e, t->byte_utf8[b[j]], ml);
                e += ml;
                nsym++;
            }
        }
        start += wl;
        sym[nsym - 1].next = -1;
        if (t->ignore_merges) {
            int32_t id = kw__vocab_find(t, (const char *)enc, e);
            if (id >= 0) {
                kw__ids_push(out, id);
                continue;
            }
        }
        merge_word(t, enc, sym, nsym, s->heap, out);
    }
    return out->oom ? KW_STATUS_ERR_NOMEM : KW_STATUS_OK;
}
