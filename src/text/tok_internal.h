/*
 * tok_internal.h — what tokenizer.c, bpe.c, spm.c and pretokenize.c share:
 * the vocabulary layout, token attributes, lookup tables and a growable id
 * vector. Not used outside src/text/.
 */
#ifndef KW_TEXT_TOK_INTERNAL_H
#define KW_TEXT_TOK_INTERNAL_H

#include "core/internal.h"
#include "text/tokenizer.h"

/* Token attributes (tokenizer.ggml.token_type mapped as llama.cpp does). */
enum {
    KW_TA_UNKNOWN = 1 << 0,
    KW_TA_UNUSED = 1 << 1,
    KW_TA_NORMAL = 1 << 2,
    KW_TA_CONTROL = 1 << 3,
    KW_TA_USER = 1 << 4,
    KW_TA_BYTE = 1 << 5,
    KW_TA_LSTRIP = 1 << 7,
    KW_TA_RSTRIP = 1 << 8
};

enum kw__tok_model { KW_TOK_SPM, KW_TOK_BPE };
enum kw__pre { KW_PRE_DEFAULT, KW_PRE_GPT2, KW_PRE_SMOLLM, KW_PRE_LLAMA3,
               KW_PRE_QWEN2 };

struct kw__tok {
    const char *text; /* borrowed from the gguf, or from t->owned */
    uint32_t len;
    uint16_t attr;
    uint8_t eog;
    float score;
};

/* Open-addressing table of indices (idx -1 = empty), size a power of 2;
 * tag is the hash's high half, so most probes never touch the entries. */
struct kw__slot {
    int32_t idx;
    uint32_t tag;
};
struct kw__itab {
    struct kw__slot *slot;
    size_t mask;
};

struct kw__merge {
    const char *s; /* "left right" */
    uint32_t left_len, right_len;
};

struct kw__tokenizer {
    enum kw__tok_model model;
    enum kw__pre pre;
    int ignore_merges, add_bos, add_eos, add_space_prefix;
    int32_t n_vocab;
    struct kw__tok *tok;
    struct kw__itab vocab; /* text -> id (the last id wins on duplicates) */
    struct kw__merge *merges; /* rank -> pair */
    int32_t n_merges;
    struct kw__itab merge_tab; /* pair -> rank (the first rank wins) */
    int32_t *special; /* control/user/unknown ids, longest text first */
    size_t n_special;
    int32_t bos, eos, eot, eom, unk;
    char *owned; /* texts for empty tokens */
    /* GPT-2 byte <-> printable code point map */
    uint8_t byte_utf8[256][2];
    uint8_t byte_utf8_len[256];
    int16_t cpt_byte[324]; /* code point < 324 -> byte, or -1 */
};

/* Growable id vector; after an allocation failure it stops growing and
 * remembers it (checked once at the end). */
struct kw__ids {
    int32_t *v;
    size_t n, cap;
    int oom;
};
KW_HIDDEN void kw__ids_push(struct kw__ids *ids, int32_t id);

/* Grows *buf to hold at least n elements of size es; 0 on failure. */
KW_HIDDEN int kw__grow(void **buf, size_t *cap, size_t n, size_t es);

KW_HIDDEN uint64_t kw__hash_bytes(uint64_t h, const void *p, size_t n);
#define KW_HASH_SEED 0xcbf29ce484222325ull
/* Id of text s[0..n), or -1. */
KW_HIDDEN int32_t kw__vocab_find(const struct kw__tokenizer *t, const char *s,
                                 size_t n);
/* Rank of the merge (l, r), or -1. */
KW_HIDDEN int32_t kw__merge_rank(const struct kw__tokenizer *t, const char *l,
                                 size_t ln, const char *r, size_t rn);

/* Pre-tokenizer: splits cpt[0..n) (fl: kw__uni_flags of each) into words;
 * writes their lengths in code points to out (n entries of room; tmp is
 * scratch of the same size) and returns the count. */
KW_HIDDEN size_t kw__pretokenize(enum kw__pre pre, const uint32_t *cpt,
                                 const uint16_t *fl, size_t n, size_t *out,
                                 size_t *tmp);

/* Scratch reused across the fragments of one encode call. */
struct kw__scratch { /* capacities in bytes */
    void *cpt; size_t cpt_cap;   /* uint32_t code points */
    void *fl; size_t fl_cap;     /* uint16_t classes */
    void *w1; size_t w1_cap;     /* size_t word lengths */
    void *w2; size_t w2_cap;
    void *enc; size_t enc_cap;   /* bytes */
    void *sym; size_t sym_cap;
    void *heap; size_t heap_cap;
};
KW_HIDDEN void kw__scratch_free(struct kw__scratch *s);

/* Byte-level BPE of one raw-text fragment; appends ids. */
KW_HIDDEN enum kw_status kw__bpe_encode(const struct kw__tokenizer *t,
                                        const char *text, size_t len,
                                        struct kw__scratch *s,
                                        struct kw__ids *out);
/* SentencePiece BPE of text (already escaped: spaces as U+2581). */
KW_HIDDEN enum kw_status kw__spm_encode(const struct kw__tokenizer *t,
                                        const char *text, size_t len,
                                        struct kw__scratch *s,
                                        struct kw__ids *out);
/* Id of the byte-fallback token for b ("<0xXX>", else the 1-byte text). */
KW_HIDDEN int32_t kw__spm_byte_token(const struct kw__tokenizer *t,
                                     uint8_t b);

#endif /* KW_TEXT_TOK_INTERNAL_H */
