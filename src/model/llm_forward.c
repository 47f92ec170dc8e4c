/*
 * llm_forward.c — the decoder forward pass (llama / qwen2), written SPMD:
 * every pool thread runs forward_thread over the whole graph and takes its
 * slice of each step, with a barrier between dependent steps. With one
 * token, each thread normalises and quantizes the (tiny) activation row
 * itself instead of waiting at a barrier for one thread to do it.
 */
#include <math.h>

#include "cpu/isa_table.h"
#include "model/llm_internal.h"

struct fwd {
    struct kw_session *s;
    const int32_t *tokens;
    int64_t T;
};

/* [*a, *b) = the ith of nth near-equal slices of [0, n), in multiples of g */
static void split(int64_t n, int64_t g, int ith, int nth, int64_t *a,
                  int64_t *b) {
    int64_t units = (n + g - 1) / g;
    int64_t u0 = units * ith / nth, u1 = units * (ith + 1) / nth;
    *a = KW_MIN(u0 * g, n);
    *b = KW_MIN(u1 * g, n);
}

/* Normalises rows of x with w and quantizes them for mat w_for. With T == 1
 * every thread does it privately (returns its private buffer); otherwise
 * threads split the rows and meet at a barrier. */
static const void *norm_quant(struct kw_session *s, const float *x,
                              const float *w, const struct kw__mat *w_for,
                              int64_t T, int ith, int nth, size_t *stride) {
    const struct kw__ops *ops = kw__ops();
    const struct kw__hparams *hp = &s->m->hp;
    const int64_t E = hp->n_embd;
    if (T == 1) {
        float *xn = s->priv_xn + (size_t)ith * s->priv_f;
        void *xq = (uint8_t *)s->priv_xq + (size_t)ith * s->priv_q;
        ops->rmsnorm(xn, x, w, E, hp->eps);
        kw__mat_quantize(w_for, xn, (size_t)E, xq, 0, 0, 1);
        *stride = 0;
        return xq;
    }
    int64_t t0, t1;
    split(T, 1, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++)
        ops->rmsnorm(s->xn + t * E, x + t * E, w, E, hp->eps);
    kw__mat_quantize(w_for, s->xn, (size_t)E, s->xq, s->xq_row, t0, t1);
    kw__pool_barrier(s->pool);
    *stride = s->xq_row;
    return s->xq;
}

/* Quantizes rows of x (n_in wide) for mat w without normalisation. */
static const void *quant(struct kw_session *s, const float *x, size_t x_stride,
                         const struct kw__mat *w, int64_t T, int ith, int nth,
                         size_t *stride) {
    if (T == 1) {
        void *xq = (uint8_t *)s->priv_xq + (size_t)ith * s->priv_q;
        kw__mat_quantize(w, x, x_stride, xq, 0, 0, 1);
        *stride = 0;
        return xq;
    }
    int64_t t0, t1;
    split(T, 1, ith, nth, &t0, &t1);
    kw__mat_quantize(w, x, x_stride, s->xq, s->xq_row, t0, t1);
    kw__pool_barrier(s->pool);
    *stride = s->xq_row;
    return s->xq;
}

/* Q, K and V projections split by heads, so each thread can add biases,
 * rotate its own heads and write its K/V heads into the cache. */
static void qkv(struct kw_session *s, const struct kw__layer *ly, int64_t l,
                const void *xq, size_t xq_stride, int64_t T, int ith,
                int nth) {
    const struct kw__ops *ops = kw__ops();
    const struct kw__hparams *hp = &s->m->hp;
    const int64_t D = hp->head_dim, Hq = hp->n_head, Hkv = hp->n_head_kv;
    const int64_t Qw = Hq * D, KVw = Hkv * D;
    int64_t u0, u1;
    split(Hq + 2 * Hkv, 1, ith, nth, &u0, &u1);
    for (int64_t u = u0; u < u1; u++) {
        const struct kw__mat *w;
        const float *bias;
        int64_t h;
        float *dst;
        size_t dst_stride;
        int kind; /* 0 q, 1 k, 2 v */
        if (u < Hq) {
            kind = 0, h = u, w = &ly->wq, bias = ly->bq;
            dst = s->q, dst_stride = (size_t)Qw;
        } else if (u < Hq + Hkv) {
            kind = 1, h = u - Hq, w = &ly->wk, bias = ly->bk;
            dst = s->att, dst_stride = (size_t)KVw; /* staging */
        } else {
            kind = 2, h = u - Hq - Hkv, w = &ly->wv, bias = ly->bv;
            dst = s->att + (size_t)T * KVw, dst_stride = (size_t)KVw;
        }
        kw__mat_mul(w, xq, xq_stride, T, dst, dst_stride, h * D, (h + 1) * D,
                    0);
        for (int64_t t = 0; t < T; t++) {
            float *row = dst + (size_t)t * dst_stride + h * D;
            if (bias) ops->add(row, bias + h * D, D);
            if (kind < 2)
                ops->rope(row, 1, D, hp->n_rot, s->cs + (size_t)t * hp->n_rot,
                          hp->rope_neox);
            if (kind > 0) {
                uint16_t *cache = kind == 1 ? s->k_cache[l] : s->v_cache[l];
                ops->to_f16(cache + (size_t)(s->n_past + t) * KVw + h * D,
                            row, D);
            }
        }
    }
}

/* Per-token attention: one (token, head) unit at a time with the fp16
 * accumulator of llama.cpp's one_chunk path, which it takes for batches of
 * fewer than 64 tokens. */
static void attention_rows(struct kw_session *s, int64_t l, int64_t t,
                           int64_t h, uint16_t *scratch) {
    const struct kw__hparams *hp = &s->m->hp;
    const int64_t D = hp->head_dim, Hq = hp->n_head, Hkv = hp->n_head_kv;
    const size_t kv_off = (size_t)((h / (Hq / Hkv)) * D);
    kw__attn()(s->att + (size_t)t * Hq * D + h * D,
               s->q + (size_t)t * Hq * D + h * D, s->k_cache[l] + kv_off,
               s->v_cache[l] + kv_off, (size_t)(Hkv * D), s->n_past + t + 1, D,
               1.0f / sqrtf((float)D), scratch);
}

/* Attention of the batch. Batches of >= KW__ATTN_TILE tokens take the
 * tiled kernel (llama.cpp's tiled path, chosen there by the same
 * threshold) over (query tile, head) units. */
static void attention(struct kw_session *s, int64_t l, int64_t T, int ith,
                      int nth) {
    const struct kw__hparams *hp = &s->m->hp;
    const int64_t D = hp->head_dim, Hq = hp->n_head, Hkv = hp->n_head_kv;
    uint16_t *scratch = s->priv_scratch + (size_t)ith * 2 * D;
    if (T < KW__ATTN_TILE) {
        int64_t u0, u1;
        split(T * Hq, 1, ith, nth, &u0, &u1);
        for (int64_t u = u0; u < u1; u++)
            attention_rows(s, l, u / Hq, u % Hq, scratch);
        return;
    }
    kw__attn_tiled_fn tiled = kw__attn_tiled();
    const int64_t group = Hq / Hkv, n_tiles = (T + KW__ATTN_TILE - 1) / KW__ATTN_TILE;
    const size_t row = (size_t)(Hq * D);
    /* dealt round-robin: later tiles see more keys, so contiguous slices
     * would leave the last thread with most of the work */
    for (int64_t u = ith; u < n_tiles * Hq; u += nth) {
        const int64_t t0 = (u / Hq) * KW__ATTN_TILE, h = u % Hq;
        const int64_t nq = KW_MIN((int64_t)KW__ATTN_TILE, T - t0);
        const size_t kv_off = (size_t)((h / group) * D);
        tiled(s->att + (size_t)t0 * row + h * D, row,
              s->q + (size_t)t0 * row + h * D, row, nq,
              s->k_cache[l] + kv_off, s->v_cache[l] + kv_off,
              (size_t)(Hkv * D), s->n_past + t0, D, 1.0f / sqrtf((float)D),
              s->tiled_scratch + (size_t)ith * s->tiled_stride);
    }
}

static void forward_thread(void *ctx, int ith, int nth) {
    struct fwd *f = ctx;
    struct kw_session *s = f->s;
    const struct kw_model *m = s->m;
    const struct kw__hparams *hp = &m->hp;
    const struct kw__ops *ops = kw__ops();
    const int64_t T = f->T, E = hp->n_embd, F = hp->n_ff;
    const int64_t Qw = hp->n_head * hp->head_dim;
    const struct kw__type_traits *emb = kw__traits(m->tok_embd.type);
    const int64_t row_grain = 16;
    int64_t a, b;
    size_t st;
    const void *xq;

    /* embeddings and rotary tables, split by token */
    split(T, 1, ith, nth, &a, &b);
    for (int64_t t = a; t < b; t++) {
        emb->to_float(m->tok_embd.data +
                          (size_t)f->tokens[t] * m->tok_embd.row_bytes,
                      s->x + t * E, E);
        kw__rope_cache(s->cs + (size_t)t * hp->n_rot, hp->n_rot,
                       (int32_t)(s->n_past + t), hp->rope_base,
                       hp->rope_freq_scale, m->rope_ff);
    }
    kw__pool_barrier(s->pool);

    for (int64_t l = 0; l < hp->n_layer; l++) {
        const struct kw__layer *ly = &m->layers[l];
        xq = norm_quant(s, s->x, ly->attn_norm, &ly->wq, T, ith, nth, &st);
        qkv(s, ly, l, xq, st, T, ith, nth);
        kw__pool_barrier(s->pool);
        attention(s, l, T, ith, nth);
        kw__pool_barrier(s->pool);
        xq = quant(s, s->att, (size_t)Qw, &ly->wo, T, ith, nth, &st);
        split(E, row_grain, ith, nth, &a, &b);
        kw__mat_mul(&ly->wo, xq, st, T, s->x, (size_t)E, a, b, 1);
        kw__pool_barrier(s->pool);

        xq = norm_quant(s, s->x, ly->ffn_norm, &ly->wg, T, ith, nth, &st);
        split(F, row_grain, ith, nth, &a, &b);
        kw__mat_mul(&ly->wg, xq, st, T, s->g, (size_t)F, a, b, 0);
        kw__mat_mul(&ly->wu, xq, st, T, s->u, (size_t)F, a, b, 0);
        for (int64_t t = 0; t < T && b > a; t++)
            ops->swiglu(s->g + t * F + a, s->g + t * F + a, s->u + t * F + a,
                        b - a);
        kw__pool_barrier(s->pool);
        xq = quant(s, s->g, (size_t)F, &ly->wd, T, ith, nth, &st);
        split(E, row_grain, ith, nth, &a, &b);
        kw__mat_mul(&ly->wd, xq, st, T, s->x, (size_t)E, a, b, 1);
        kw__pool_barrier(s->pool);
    }

    /* logits of the last token only */
    const float *last = s->x + (T - 1) * E;
    xq = norm_quant(s, last, m->out_norm, &m->output, 1, ith, nth, &st);
    split(hp->n_vocab, row_grain, ith, nth, &a, &b);
    kw__mat_mul(&m->output, xq, 0, 1, s->logits, 0, a, b, 0);
}

void kw__llm_forward(struct kw_session *s, const int32_t *tokens, int64_t T) {
    struct fwd f = {s, tokens, T};
    kw__pool_run(s->pool, forward_thread, &f);
}
