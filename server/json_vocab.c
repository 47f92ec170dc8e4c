/*
 * json_vocab.c — the piece table (json_vocab.h): each token's bytes from
 * kw_token_to_piece (or a list of strings, for tests), its flags, and the
 * tokens sorted into buckets by how they start, for the JSON mask.
 * Entry points: kws_pieces_build, kws_pieces_from_list, kws_pieces_free.
 */
#include <stdlib.h>
#include <string.h>

#include "json_vocab.h"
#include "textout.h"

static uint8_t piece_flags(const char *s, size_t n) {
    if (n == 0)
        return 0;
    int plain = 1, ws = 1;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (!(c == ' ' || c == '\t' || c == '\n' || c == '\r'))
            ws = 0;
        if (c < 0x20 || c == '"' || c == '\\')
            plain = 0;
        size_t l = kws_utf8_seq(u + i, n - i);
        if (l == 0) {
            plain = 0;
            l = 1;
        }
        i += l;
    }
    return (uint8_t)((plain ? KWS_PIECE_PLAIN : 0) | (ws ? KWS_PIECE_WS : 0));
}

static int piece_bucket(const struct kws_pieces *p, int32_t t) {
    size_t n;
    const unsigned char *u = (const unsigned char *)kws_piece(p, t, &n);
    size_t w = p->lead_ws[t];
    if (n == 0)
        return KWS_BUCKET_EMPTY;
    if (w == 0)
        return u[0];
    return w < n ? 256 + u[w] : KWS_BUCKET_WS;
}

/* Piece source: a model's vocabulary or a list of strings (tests). */
struct piece_src {
    const struct kw_model *m;
    const char *const *list;
};

static size_t src_piece(const struct piece_src *src, int32_t t, char *buf,
                        size_t cap) {
    if (src->m)
        return kw_token_to_piece(src->m, t, buf, cap, 0);
    size_t n = strlen(src->list[t]);
    if (buf && cap >= n)
        memcpy(buf, src->list[t], n);
    return n;
}

static int build(struct kws_pieces *p, int32_t nv, const struct piece_src *src) {
    memset(p, 0, sizeof *p);
    if (nv <= 0)
        return -1;
    p->n_vocab = nv;
    p->off = malloc(((size_t)nv + 1) * sizeof *p->off);
    p->flags = malloc((size_t)nv);
    p->lead_ws = malloc((size_t)nv);
    p->order = malloc((size_t)nv * sizeof *p->order);
    size_t cap = (size_t)nv * 8 + 64, used = 0;
    p->bytes = malloc(cap);
    if (!p->off || !p->flags || !p->lead_ws || !p->order || !p->bytes)
        goto fail;
    for (int32_t t = 0; t < nv; t++) {
        size_t n = src_piece(src, t, NULL, 0);
        while (used + n + 1 > cap) {
            size_t ncap = cap * 2;
            if (ncap > UINT32_MAX)
                goto fail;
            char *nb = realloc(p->bytes, ncap);
            if (!nb)
                goto fail;
            p->bytes = nb;
            cap = ncap;
        }
        if (n)
            n = src_piece(src, t, p->bytes + used, cap - used);
        p->off[t] = (uint32_t)used;
        p->flags[t] = piece_flags(p->bytes + used, n);
        size_t w = 0;
        while (w < n && w < 255 && strchr(" \t\n\r", p->bytes[used + w]) &&
               p->bytes[used + w] != '\0')
            w++;
        p->lead_ws[t] = (uint8_t)w;
        used += n;
    }
    p->off[nv] = (uint32_t)used;
    /* counting sort of the tokens into their buckets */
    memset(p->bucket, 0, sizeof p->bucket);
    for (int32_t t = 0; t < nv; t++)
        p->bucket[piece_bucket(p, t) + 1]++;
    for (int k = 0; k < KWS_N_BUCKETS; k++)
        p->bucket[k + 1] += p->bucket[k];
    uint32_t fill[KWS_N_BUCKETS];
    memcpy(fill, p->bucket, sizeof fill);
    for (int32_t t = 0; t < nv; t++)
        p->order[fill[piece_bucket(p, t)]++] = t;
    return 0;
fail:
    kws_pieces_free(p);
    return -1;
}

int kws_pieces_build(struct kws_pieces *p, const struct kw_model *m) {
    struct piece_src src = {m, NULL};
    return build(p, kw_model_n_vocab(m), &src);
}

int kws_pieces_from_list(struct kws_pieces *p, const char *const *pieces,
                         int32_t n) {
    struct piece_src src = {NULL, pieces};
    return build(p, n, &src);
}

void kws_pieces_free(struct kws_pieces *p) {
    free(p->off);
    free(p->bytes);
    free(p->flags);
    free(p->lead_ws);
    free(p->order);
    memset(p, 0, sizeof *p);
}
