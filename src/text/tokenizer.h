/*
 * tokenizer.h — vocabularies from GGUF metadata: GPT-2 style byte-level BPE
 * (pre-tokenizer chosen by tokenizer.ggml.pre) and SentencePiece BPE with
 * byte fallback (tokenizer.ggml.model = "llama"). Special/control tokens,
 * BOS/EOS/EOT as the metadata says. Used by src/model/ for the public
 * kw_tokenize / kw_token_to_piece.
 */
#ifndef KW_TEXT_TOKENIZER_H
#define KW_TEXT_TOKENIZER_H

#include "core/internal.h"

struct kw__tokenizer;

/* Builds the tokenizer from g (borrowed; strings may point into it, so g
 * must outlive the tokenizer). Unknown tokenizer.ggml.model or .pre values
 * are a clear KW_STATUS_ERR_UNSUPPORTED naming the value. */
KW_HIDDEN enum kw_status kw__tokenizer_new(const struct kw_gguf *g,
                                           struct kw__tokenizer **out,
                                           char *err, size_t err_size);
KW_HIDDEN void kw__tokenizer_free(struct kw__tokenizer *t);

/* Same contract as kw_tokenize in kaiwu/llm.h. */
KW_HIDDEN enum kw_status kw__tokenizer_encode(const struct kw__tokenizer *t,
                                              const char *text, size_t len,
                                              int add_special,
                                              int parse_special,
                                              int32_t *tokens, size_t cap,
                                              size_t *n_tokens);
/* Same contract as kw_token_to_piece. */
KW_HIDDEN size_t kw__tokenizer_piece(const struct kw__tokenizer *t,
                                     int32_t tok, char *buf, size_t cap,
                                     int render_special);

KW_HIDDEN int32_t kw__tokenizer_n_vocab(const struct kw__tokenizer *t);
KW_HIDDEN int32_t kw__tokenizer_bos(const struct kw__tokenizer *t); /* -1 */
KW_HIDDEN int32_t kw__tokenizer_eos(const struct kw__tokenizer *t); /* -1 */
KW_HIDDEN int kw__tokenizer_is_eog(const struct kw__tokenizer *t,
                                   int32_t tok);
/* Id of the token whose text is exactly s[0..len), or -1. */
KW_HIDDEN int32_t kw__tokenizer_find(const struct kw__tokenizer *t,
                                     const char *s, size_t len);

#endif /* KW_TEXT_TOKENIZER_H */
