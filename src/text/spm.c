/*
 * spm.c — SentencePiece BPE (tokenizer.ggml.model = "llama"): start from
 * UTF-8 characters, repeatedly merge the adjacent pair whose concatenation
 * is the vocabulary token with the highest score (leftmost on ties); what
 * is left unmatched falls back to <0xXX> byte tokens. Entry points:
 * kw__spm_encode, kw__spm_byte_token.
 */
#include "text/tok_internal.h"
#include "text/unicode.h"

struct ssym {
    int32_t prev, next;
    uint32_t off, n; /* bytes of text; n == 0: merged away */
};

struct sbigram {
    float score;
    int32_t left, right;
    uint32_t size;
};

static int sb_before(const struct sbigram *a, const struct sbigram *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void sheap_push(struct sbigram *h, size_t *n, struct sbigram x) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!sb_before(&x, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

static struct sbigram sheap_pop(struct sbigram *h, size_t *n) {
    struct sbigram top = h[0], last = h[--(*n)];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && sb_before(&h[c + 1], &h[c])) c++;
        if (!sb_before(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (m) h[i] = last;
    return top;
}

static void try_pair(const struct kw__tokenizer *t, const char *text,
                     const struct ssym *sym, struct sbigram *heap, size_t *nh,
                     int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    uint32_t size = sym[l].n + sym[r].n;
    int32_t id = kw__vocab_find(t, text + sym[l].off, size);
    if (id < 0) return;
    struct sbigram b = {t->tok[id].score, l, r, size};
    sheap_push(heap, nh, b);
}

int32_t kw__spm_byte_token(const struct kw__tokenizer *t, uint8_t b) {
    static const char hex[] = "0123456789ABCDEF";
    char buf[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
    int32_t id = kw__vocab_find(t, buf, 6);
    if (id < 0) id = kw__vocab_find(t, (const char *)&b, 1);
    /* llama.cpp throws here; a vocabulary without byte tokens gets <unk> */
    if (id < 0) id = t->unk;
    return id;
}

enum kw_status kw__spm_encode(const struct kw__tokenizer *t, const char *text,
                              size_t len, struct kw__scratch *s,
                              struct kw__ids *out) {
    if (len == 0) return KW_STATUS_OK;
    if (len > (size_t)INT32_MAX / 4 ||
        !kw__grow(&s->sym, &s->sym_cap, len, sizeof(struct ssym)) ||
        !kw__grow(&s->heap, &s->heap_cap, len * 3, sizeof(struct sbigram)))
        return KW_STATUS_ERR_NOMEM;
    struct ssym *sym = s->sym;
    struct sbigram *heap = s->heap;
    int32_t nsym = 0;
    for (size_t off = 0; off < len;) {
        size_t n = KW_MIN(kw__utf8_len((uint8_t)text[off]), len - off);
        sym[nsym].prev = nsym - 1;
        sym[nsym].next = nsym + 1;
        sym[nsym].off = (uint32_t)off;
        sym[nsym].n = (uint32_t)n;
        off += n;
        nsym++;
    }
    sym[nsym - 1].next = -1;
    size_t nh = 0;
    for (int32_t i = 1; i < nsym; i++) try_pair(t, text, sym, heap, &nh, i - 1, i);
    while (nh > 0) {
        struct sbigram b = sheap_pop(heap, &nh);
        struct ssym *L = &sym[b.left], *R = &sym[b.right];
        if (L->n == 0 || R->n == 0 || L->n + R->n != b.size) continue;
        L->n += R->n;
        R->n = 0;
        L->next = R->next;
        if (R->next >= 0) sym[R->next].prev = b.left;
        try_pair(t, text, sym, heap, &nh, L->prev, b.left);
        try_pair(t, text, sym, heap, &nh, b.left, L->next);
    }
    for (int32_t i = 0; i >= 0; i = sym[i].next) {
        int32_t id = kw__vocab_find(t, text + sym[i].off, sym[i].n);
        if (id >= 0) {
            kw__ids_push(out, id);
            continue;
        }
        for (uint32_t j = 0; j < sym[i].n; j++) {
            id = kw__spm_byte_token(t, (uint8_t)text[sym[i].off + j]);
            if (id >= 0) kw__ids_push(out, id);
        }
    }
    return out->oom ? KW_STATUS_ERR_NOMEM : KW_STATUS_OK;
}
