/*
 * llm_internal.h — the decoder model as loaded (hyper-parameters, weight
 * views into the GGUF mapping) and the session state (KV cache, activation
 * buffers). Shared by llm_load.c, llm_forward.c and llm_api.c.
 */
#ifndef KW_MODEL_LLM_INTERNAL_H
#define KW_MODEL_LLM_INTERNAL_H

#include "core/internal.h"
#include "core/threadpool.h"
#include "cpu/matmul.h"
#include "text/tokenizer.h"

struct kw__hparams {
    int64_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab;
    int64_t n_rot;
    uint32_t n_ctx_train;
    float eps, rope_base, rope_freq_scale;
    int rope_neox; /* 1: pairs (i, i + n_rot/2) as qwen2; 0: llama */
};

struct kw__layer {
    struct kw__mat wq, wk, wv, wo, wg, wu, wd;
    const float *attn_norm, *ffn_norm; /* (n_embd) */
    const float *bq, *bk, *bv;         /* biases or NULL (qwen2 has them) */
};

struct kw_model {
    struct kw_gguf *g;
    char arch[32];
    char desc[192];
    struct kw__hparams hp;
    struct kw__mat tok_embd, output; /* output may alias tok_embd (tied) */
    const float *out_norm;           /* (n_embd) */
    const float *rope_ff;            /* (n_rot/2) llama3 freq factors or NULL */
    struct kw__layer *layers;
    struct kw__tokenizer *tok;
    float **owned; /* f32 copies of small non-f32 vectors */
    size_t n_owned, cap_owned;
    uint64_t n_params, size_bytes;
};

struct kw_session {
    const struct kw_model *m;
    struct kw__pool *pool;
    uint32_t n_ctx, n_batch, n_past;
    int have_logits;
    int (*abort_cb)(void *);
    void *abort_user;
    /* KV cache, fp16: per layer (n_ctx, n_head_kv * head_dim) */
    uint16_t **k_cache, **v_cache;
    /* activations for up to n_batch tokens */
    float *x, *xn, *q, *att, *g, *u, *cs, *logits;
    float *batch_logits;   /* kw_session_decode_batch: one row per item */
    size_t batch_rows;     /* rows allocated in batch_logits */
    void *xq;              /* quantized activations (n_batch rows) */
    size_t xq_row;         /* bytes per quantized row (largest input) */
    float *priv_xn;        /* per thread (n_embd, n_ff max) */
    void *priv_xq;         /* per thread one quantized row */
    uint16_t *priv_scratch; /* per thread attention scratch (2*head_dim) */
    float *tiled_scratch;   /* per thread tiled-attention scratch */
    size_t tiled_stride;    /* floats per thread in tiled_scratch */
    size_t priv_f, priv_q;  /* strides of the per-thread areas */
};

/* One sequence's tokens in a forward pass: activation rows [t0, t0 + n). */
struct kw__seg {
    struct kw_session *s; /* owner of the KV cache */
    const int32_t *tokens;
    int64_t t0, n;
    uint32_t pos0; /* the sequence's n_past before the pass */
};

/* Runs the model on runner's threads and buffers over the T = sum of n
 * tokens of segs (T <= runner's n_batch), writing each sequence's K/V into
 * its own cache, and the logits after each segment's last token to row i
 * of logits (n_vocab floats apart). Ids were validated by the caller;
 * n_past is not advanced here. */
KW_HIDDEN void kw__llm_forward(struct kw_session *runner,
                               const struct kw__seg *segs, int n_seg,
                               int64_t T, float *logits);

#endif
