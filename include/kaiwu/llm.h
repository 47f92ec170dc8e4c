/*
 * kaiwu/llm.h — decoder language models from GGUF: load, tokenize, decode,
 * sample, chat templates.
 *
 * Typical use:
 *   kw_model_load(path, NULL, &m, err, sizeof err);
 *   kw_session_new(m, NULL, &s, err, sizeof err);
 *   kw_tokenize(m, text, len, 1, 1, toks, cap, &n);
 *   kw_session_decode(s, toks, n);           // prompt, batched
 *   tok = kw_sampler_sample(smp, kw_session_logits(s));
 *   kw_session_decode(s, &tok, 1);           // one step
 */
#ifndef KAIWU_LLM_H
#define KAIWU_LLM_H

#include "kaiwu/kaiwu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- model ----------------------------------------------------------- */
struct kw_model;

struct kw_model_params {
    size_t size; /* sizeof(struct kw_model_params), set by the default fn */
    int use_mmap; /* 1 (default): weights stay in the file mapping */
};
KW_API struct kw_model_params kw_model_default_params(void);

/* Loads a GGUF decoder model (architectures llama, qwen2). params may be
 * NULL for defaults. The model owns its file mapping. */
KW_API enum kw_status kw_model_load(const char *path,
                                    const struct kw_model_params *params,
                                    struct kw_model **out, char *err,
                                    size_t err_size);
KW_API void kw_model_free(struct kw_model *m);

/* The validated GGUF file under the model (borrowed). */
KW_API const struct kw_gguf *kw_model_gguf(const struct kw_model *m);
KW_API const char *kw_model_arch(const struct kw_model *m);
/* One-line description, e.g. "llama 135M q4_1, 30 layers, ctx 8192". */
KW_API const char *kw_model_desc(const struct kw_model *m);
KW_API int32_t kw_model_n_vocab(const struct kw_model *m);
KW_API uint32_t kw_model_n_ctx_train(const struct kw_model *m);
KW_API uint64_t kw_model_n_params(const struct kw_model *m);
KW_API uint64_t kw_model_size_bytes(const struct kw_model *m);

/* ---- vocabulary and tokenizer ----------------------------------------- */
/* -1 when the model has no such token. */
KW_API int32_t kw_model_token_bos(const struct kw_model *m);
KW_API int32_t kw_model_token_eos(const struct kw_model *m);
/* 1 when tok ends a generation (EOS, EOT, <|im_end|>, ...). */
KW_API int kw_model_token_is_eog(const struct kw_model *m, int32_t tok);

/* Tokenizes text[0..len). add_special: prepend BOS / append EOS as the GGUF
 * metadata asks. parse_special: text that spells a control or user-defined
 * token becomes that token. Writes up to cap ids to tokens and the full
 * count to *n_tokens; returns KW_STATUS_ERR_BUFFER_TOO_SMALL when cap was
 * too small (call again with *n_tokens). Invalid UTF-8 is never rejected:
 * byte-level BPE reads each invalid byte as U+FFFD and SentencePiece keeps
 * it through its <0xXX> byte tokens, as llama.cpp does. */
KW_API enum kw_status kw_tokenize(const struct kw_model *m, const char *text,
                                  size_t len, int add_special,
                                  int parse_special, int32_t *tokens,
                                  size_t cap, size_t *n_tokens);

/* Writes the UTF-8 bytes of tok (not NUL-terminated) to buf, up to cap, and
 * returns the full length (0 for an invalid id). Control tokens render as
 * their text only when render_special is set. A piece may be a partial UTF-8
 * sequence: callers that print stream must buffer until it completes. */
KW_API size_t kw_token_to_piece(const struct kw_model *m, int32_t tok,
                                char *buf, size_t cap, int render_special);

/* ---- session: KV cache and forward pass -------------------------------- */
struct kw_session;

struct kw_session_params {
    size_t size;        /* sizeof(struct kw_session_params) */
    uint32_t n_ctx;     /* KV cache length; 0 = 4096; capped by the model */
    uint32_t n_threads; /* 0 = all online cores */
    uint32_t n_batch;   /* prompt tokens per forward pass; 0 = 512 */
};
KW_API struct kw_session_params kw_session_default_params(void);

/* The model is borrowed and must outlive the session. */
KW_API enum kw_status kw_session_new(const struct kw_model *m,
                                     const struct kw_session_params *params,
                                     struct kw_session **out, char *err,
                                     size_t err_size);
KW_API void kw_session_free(struct kw_session *s);

/* Appends n tokens at the current position and runs the model over them
 * (in batches of n_batch). Afterwards kw_session_logits() holds the logits
 * after the last token. Returns KW_STATUS_ERR_CONTEXT_FULL (and decodes
 * nothing) when the tokens would not fit, KW_STATUS_ERR_INVALID_ARG for an
 * id outside the vocabulary, KW_STATUS_ERR_CANCELLED when the abort callback
 * asked to stop (the tokens decoded so far stay in the cache). */
KW_API enum kw_status kw_session_decode(struct kw_session *s,
                                        const int32_t *tokens, size_t n);
/* n_vocab floats, borrowed; valid until the next decode/reset. NULL before
 * the first decode. */
KW_API const float *kw_session_logits(const struct kw_session *s);
KW_API uint32_t kw_session_n_past(const struct kw_session *s);
KW_API uint32_t kw_session_n_ctx(const struct kw_session *s);
KW_API uint32_t kw_session_n_threads(const struct kw_session *s);
/* Drops cached positions >= n_keep (n_keep = 0 empties the cache). */
KW_API void kw_session_truncate(struct kw_session *s, uint32_t n_keep);
/* cb(user) is polled before each batch of n_batch tokens; non-zero
 * cancels the decode. */
KW_API void kw_session_set_abort(struct kw_session *s, int (*cb)(void *),
                                 void *user);

/* ---- continuous batching ---------------------------------------------- */
struct kw_batch_item {
    struct kw_session *session; /* distinct sessions of one model */
    const int32_t *tokens;      /* appended at the session's position */
    size_t n_tokens;            /* >= 1 */
};

/* One forward pass over the tokens of several sessions at once, so each
 * weight is read once per step for all of them (a server's slots decoding
 * together). It runs on runner's threads and activation buffers; runner may
 * also be one of the items' sessions or an otherwise idle session, and the
 * total of n_tokens must not exceed runner's n_batch. Each session gets its
 * tokens appended and its logits refreshed, bit-identical to
 * kw_session_decode(session, tokens, n_tokens) run alone. Nothing is
 * decoded on error: KW_STATUS_ERR_INVALID_ARG (a session twice, sessions of
 * different models, a token id outside the vocabulary, n_tokens 0, total
 * over runner's n_batch), KW_STATUS_ERR_CONTEXT_FULL (an item would not fit
 * its session). Abort callbacks are not polled: the caller owns the step. */
KW_API enum kw_status kw_session_decode_batch(struct kw_session *runner,
                                              const struct kw_batch_item *items,
                                              size_t n_items);

/* ---- sampling --------------------------------------------------------- */
struct kw_sampler;

struct kw_sampler_params {
    size_t size;             /* sizeof(struct kw_sampler_params) */
    float temperature;       /* <= 0: greedy (argmax) */
    int32_t top_k;           /* <= 0: off; default 40 */
    float top_p;             /* >= 1: off; default 0.95 */
    float min_p;             /* <= 0: off; default 0.05 */
    float repeat_penalty;    /* 1: off (default) */
    int32_t penalty_last_n;  /* window for the penalties; default 64 */
    float frequency_penalty; /* 0: off */
    float presence_penalty;  /* 0: off */
    uint64_t seed;           /* default: 0xFFFFFFFF = from the clock */
};
KW_API struct kw_sampler_params kw_sampler_default_params(void);
KW_API enum kw_status kw_sampler_new(const struct kw_sampler_params *params,
                                     int32_t n_vocab, struct kw_sampler **out);
KW_API void kw_sampler_free(struct kw_sampler *s);
/* Picks a token from logits (n_vocab floats, borrowed, not modified) using
 * penalties -> top-k -> top-p -> min-p -> temperature -> draw, llama.cpp's
 * default order (penalties apply before greedy too). Returns the id, or -1
 * for a NULL sampler or logits; call kw_sampler_accept with the token that
 * was actually used. NaN logits count as -inf. kw_sampler_new refuses
 * repeat_penalty <= 0 and NaN parameters (KW_STATUS_ERR_INVALID_ARG); a
 * negative penalty_last_n turns the penalties off. */
KW_API int32_t kw_sampler_sample(struct kw_sampler *s, const float *logits);
KW_API void kw_sampler_accept(struct kw_sampler *s, int32_t tok);
/* Forgets the penalty history (not the random state). */
KW_API void kw_sampler_reset(struct kw_sampler *s);

/* ---- chat templates --------------------------------------------------- */
struct kw_chat_message {
    const char *role;    /* "system", "user", "assistant" */
    const char *content; /* UTF-8, NUL-terminated */
};

/* Renders msgs[0..n) as a prompt string. tmpl: a template name ("chatml",
 * "llama3", "llama2", "mistral", "gemma", "phi3") or NULL to recognise the
 * model's tokenizer.chat_template; every llama.cpp built-in template name is
 * accepted, and "mistral" is the original [INST] (llama2) format. The output
 * is byte-identical to llama.cpp's llama_chat_apply_template, which adds no
 * default system prompt. add_assistant: end with the opening of an
 * assistant turn. Writes up to cap bytes plus a NUL and the full length to
 * *len; KW_STATUS_ERR_BUFFER_TOO_SMALL when cap <= length.
 * KW_STATUS_ERR_TEMPLATE when the template is unknown (err says which). */
KW_API enum kw_status kw_chat_apply(const struct kw_model *m, const char *tmpl,
                                    const struct kw_chat_message *msgs,
                                    size_t n, int add_assistant, char *buf,
                                    size_t cap, size_t *len, char *err,
                                    size_t err_size);
/* Name of the template recognised from the model's metadata, or NULL. */
KW_API const char *kw_chat_template_detect(const struct kw_model *m);

#ifdef __cplusplus
}
#endif
#endif /* KAIWU_LLM_H */
