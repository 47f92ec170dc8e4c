/*
 * json_vocab.h — every token's bytes, computed once per model, with what
 * the JSON mask needs to skip most tokens quickly: flags and the tokens
 * grouped by first byte (and first byte after leading whitespace). Used by
 * the scheduler for its text too (json_vocab.c).
 */
#ifndef KW_SERVER_JSON_VOCAB_H
#define KW_SERVER_JSON_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "kaiwu/llm.h"

/* render_special 0: control tokens (EOS...) have empty pieces */
enum {
    KWS_PIECE_PLAIN = 1, /* complete UTF-8, no '"', '\\' or control bytes */
    KWS_PIECE_WS = 2,    /* non-empty, only JSON whitespace */
};

enum { KWS_BUCKET_WS = 512, KWS_BUCKET_EMPTY = 513, KWS_N_BUCKETS = 514 };

struct kws_pieces {
    int32_t n_vocab;
    uint32_t *off;  /* n_vocab + 1 offsets into bytes */
    char *bytes;
    uint8_t *flags; /* KWS_PIECE_* per token */
    uint8_t *lead_ws; /* leading JSON whitespace bytes (at most 255) */
    /* Tokens grouped by how they start, for the JSON mask: bucket b < 256:
     * first byte b; 256 + b: whitespace, then byte b; KWS_BUCKET_WS: only
     * whitespace; KWS_BUCKET_EMPTY: no bytes. Bucket k holds
     * order[bucket[k] .. bucket[k + 1]). */
    int32_t *order;
    uint32_t bucket[KWS_N_BUCKETS + 1];
};
/* 0 on success, -1 when out of memory. */
int kws_pieces_build(struct kws_pieces *p, const struct kw_model *m);
/* The same from n NUL-terminated strings (tests). */
int kws_pieces_from_list(struct kws_pieces *p, const char *const *pieces,
                         int32_t n);
void kws_pieces_free(struct kws_pieces *p);

static inline const char *kws_piece(const struct kws_pieces *p, int32_t tok,
                                    size_t *len)
{
    if (tok < 0 || tok >= p->n_vocab) {
        *len = 0;
        return "";
    }
    *len = p->off[tok + 1] - p->off[tok];
    return p->bytes + p->off[tok];
}

#endif
