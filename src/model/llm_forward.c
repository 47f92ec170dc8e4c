/*
 * llm_forward.c — the decoder forward pass (llama / qwen2), written SPMD:
 * every pool thread runs forward_thread over the whole graph and takes its
 * slice of each step, with a barrier between dependent steps. With one
 * token, each thread normalises and quantizes the (tiny) activation row
 * itself instead of waiting at a barrier for one thread to do it.
 * One pass may carry several sequences (continuous batching): each is a
 * segment of the activation rows with its own KV cache and positions, and
 * every choice that changes rounding (matrix-product kernel, attention
 * path) is made per segment, so a sequence gets the same bits as alone.
 */
#include <math.h>

#include "cpu/isa_table.h"
#include "model/llm_internal.h"

struct fwd {
    struct kw_session *s; /* the runner: threads and activation buffers */
    const struct kw__seg *segs;
    int n_seg;
    int64_t T;
    float *logits;
};

/* The segment holding row t; *cur is a cursor for increasing t. */
static const struct kw__seg *seg_of(const struct fwd *f, int64_t t,
                                    int *cur) {
    while (t >= f->segs[*cur].t0 + f->segs[*cur].n) (*cur)++;
    return &f->segs[*cur];
}

/* y (+)= W . xq for every row of the pass, one segment at a time: ggml's
 * kernels round a row by its place in the batch (q4_K tiles of 4 tokens,
 * q6_K's kernel for 8+), so each sequence is multiplied as if alone. Types
 * whose kernels round every row alike (kw__gemm_batch_invariant) take all
 * segments in one call: the same bits, each weight block read once. */
static void mm(const struct fwd *f, const struct kw__mat *w, const void *xq,
               size_t xq_stride, float *y, size_t y_stride, int64_t r0,
               int64_t r1, int accumulate) {
    if (f->n_seg > 1 && kw__gemm_batch_invariant(w->type)) {
        kw__mat_mul(w, xq, xq_stride, f->T, y, y_stride, r0, r1, accumulate);
        return;
    }
    for (int i = 0; i < f->n_seg; i++) {
        const struct kw__seg *sg = &f->segs[i];
        kw__mat_mul(w, (const uint8_t *)xq + (size_t)sg->t0 * xq_stride,
                    xq_stride, sg->n, y + (size_t)sg->t0 * y_stride, y_stride,
                    r0, r1, accumulate);
    }
}

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
static void qkv(const struct fwd *f, const struct kw__layer *ly, int64_t l,
                const void *xq, size_t xq_stride, int ith, int nth) {
    struct kw_session *s = f->s;
    const int64_t T = f->T;
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
        mm(f, w, xq, xq_stride, dst, dst_stride, h * D, (h + 1) * D, 0);
        int cur = 0;
        for (int64_t t = 0; t < T; t++) {
            float *row = dst + (size_t)t * dst_stride + h * D;
            if (bias) ops->add(row, bias + h * D, D);
            if (kind < 2)
                ops->rope(row, 1, D, hp->n_rot, s->cs + (size_t)t * hp->n_rot,
                          hp->rope_neox);
            if (kind > 0) {
                const struct kw__seg *sg = seg_of(f, t, &cur);
                uint16_t *cache =
                    kind == 1 ? sg->s->k_cache[l] : sg->s->v_cache[l];
                const size_t pos = sg->pos0 + (size_t)(t - sg->t0);
                ops->to_f16(cache + pos * KVw + h * D, row, D);
            }
        }
    }
}

/* Per-token attention of row t (at position pos of sequence sg): one head
 * with the fp16 accumulator of llama.cpp's one_chunk path, which it takes
 * for batches of fewer than 64 tokens. */
static void attention_row(struct kw_session *s, const struct kw__seg *sg,
                          int64_t l, int64_t t, int64_t h, uint16_t *scratch) {
    const struct kw__hparams *hp = &s->m->hp;
    const int64_t D = hp->head_dim, Hq = hp->n_head, Hkv = hp->n_head_kv;
    const size_t kv_off = (size_t)((h / (Hq / Hkv)) * D);
    const size_t pos = sg->pos0 + (size_t)(t - sg->t0);
    kw__attn()(s->att + (size_t)t * Hq * D + h * D,
               s->q + (size_t)t * Hq * D + h * D, sg->s->k_cache[l] + kv_off,
               sg->s->v_cache[l] + kv_off, (size_t)(Hkv * D), pos + 1, D,
               1.0f / sqrtf((float)D), scratch);
}

/* Query tile j (KW__ATTN_TILE rows from the segment's start), one head:
 * llama.cpp's tiled path, which it takes for batches of >= KW__ATTN_TILE
 * tokens. */
static void attention_tile(struct kw_session *s, const struct kw__seg *sg,
                           int64_t l, int64_t j, int64_t h, float *scratch) {
    const struct kw__hparams *hp = &s->m->hp;
    const int64_t D = hp->head_dim, Hq = hp->n_head, Hkv = hp->n_head_kv;
    const int64_t lt0 = j * KW__ATTN_TILE;
    const int64_t nq = KW_MIN((int64_t)KW__ATTN_TILE, sg->n - lt0);
    const size_t row = (size_t)(Hq * D);
    const size_t kv_off = (size_t)((h / (Hq / Hkv)) * D);
    const size_t t0 = (size_t)(sg->t0 + lt0);
    kw__attn_tiled()(s->att + t0 * row + h * D, row, s->q + t0 * row + h * D,
                     row, nq, sg->s->k_cache[l] + kv_off,
                     sg->s->v_cache[l] + kv_off, (size_t)(Hkv * D),
                     sg->pos0 + (size_t)lt0, D, 1.0f / sqrtf((float)D),
                     scratch);
}

/* Units of attention work in a segment: (token, head) pairs, or (query
 * tile, head) pairs when the segment is long enough for the tiled path. */
static int64_t att_units(const struct kw__seg *sg, int64_t Hq) {
    if (sg->n < KW__ATTN_TILE) return sg->n * Hq;
    return (sg->n + KW__ATTN_TILE - 1) / KW__ATTN_TILE * Hq;
}

/* Units are dealt round-robin: later tiles see more keys, so contiguous
 * slices would leave the last thread with most of the work. */
static void attention(const struct fwd *f, int64_t l, int ith, int nth) {
    struct kw_session *s = f->s;
    const int64_t D = s->m->hp.head_dim, Hq = s->m->hp.n_head;
    uint16_t *scratch = s->priv_scratch + (size_t)ith * 2 * D;
    float *tscratch = s->tiled_scratch + (size_t)ith * s->tiled_stride;
    int64_t base = 0;
    int cur = 0;
    for (int64_t u = ith;; u += nth) {
        while (cur < f->n_seg && u >= base + att_units(&f->segs[cur], Hq))
            base += att_units(&f->segs[cur++], Hq);
        if (cur == f->n_seg) return;
        const struct kw__seg *sg = &f->segs[cur];
        const int64_t k = u - base;
        if (sg->n < KW__ATTN_TILE)
            attention_row(s, sg, l, sg->t0 + k / Hq, k % Hq, scratch);
        else
            attention_tile(s, sg, l, k / Hq, k % Hq, tscratch);
    }
}

/* Final norm and logits after each segment's last token. One segment
 * takes the one-token path; several are normalised and quantized into the
 * shared rows first. */
static void logits(const struct fwd *f, int ith, int nth) {
    struct kw_session *s = f->s;
    const struct kw_model *m = s->m;
    const int64_t E = m->hp.n_embd, V = m->hp.n_vocab, row_grain = 16;
    int64_t a, b;
    size_t st;
    const void *xq;
    if (f->n_seg == 1) {
        const float *last = s->x + (f->T - 1) * E;
        xq = norm_quant(s, last, m->out_norm, &m->output, 1, ith, nth, &st);
    } else {
        split(f->n_seg, 1, ith, nth, &a, &b);
        for (int64_t i = a; i < b; i++) {
            const struct kw__seg *sg = &f->segs[i];
            kw__ops()->rmsnorm(s->xn + i * E, s->x + (sg->t0 + sg->n - 1) * E,
                               m->out_norm, E, m->hp.eps);
        }
        kw__mat_quantize(&m->output, s->xn, (size_t)E, s->xq, s->xq_row, a,
                         b);
        kw__pool_barrier(s->pool);
        xq = s->xq, st = s->xq_row;
    }
    split(V, row_grain, ith, nth, &a, &b);
    /* each row as its sequence alone rounds it (a batch of one) */
    if (f->n_seg > 1 && kw__gemm_batch_invariant(m->output.type)) {
        kw__mat_mul(&m->output, xq, st, f->n_seg, f->logits, (size_t)V, a, b,
                    0);
        return;
    }
    for (int i = 0; i < f->n_seg; i++)
        kw__mat_mul(&m->output, (const uint8_t *)xq + (size_t)i * st, 0, 1,
                    f->logits + (size_t)i * (size_t)V, 0, a, b, 0);
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
    int cur = 0;
    for (int64_t t = a; t < b; t++) {
        const struct kw__seg *sg = seg_of(f, t, &cur);
        const int32_t tok = sg->tokens[t - sg->t0];
        emb->to_float(m->tok_embd.data + (size_t)tok * m->tok_embd.row_bytes,
                      s->x + t * E, E);
        kw__rope_cache(s->cs + (size_t)t * hp->n_rot, hp->n_rot,
                       (int32_t)(sg->pos0 + (t - sg->t0)), hp->rope_base,
                       hp->rope_freq_scale, m->rope_ff);
    }
    kw__pool_barrier(s->pool);

    for (int64_t l = 0; l < hp->n_layer; l++) {
        const struct kw__layer *ly = &m->layers[l];
        xq = norm_quant(s, s->x, ly->attn_norm, &ly->wq, T, ith, nth, &st);
        qkv(f, ly, l, xq, st, ith, nth);
        kw__pool_barrier(s->pool);
        attention(f, l, ith, nth);
        kw__pool_barrier(s->pool);
        xq = quant(s, s->att, (size_t)Qw, &ly->wo, T, ith, nth, &st);
        split(E, row_grain, ith, nth, &a, &b);
        mm(f, &ly->wo, xq, st, s->x, (size_t)E, a, b, 1);
        kw__pool_barrier(s->pool);

        xq = norm_quant(s, s->x, ly->ffn_norm, &ly->wg, T, ith, nth, &st);
        split(F, row_grain, ith, nth, &a, &b);
        mm(f, &ly->wg, xq, st, s->g, (size_t)F, a, b, 0);
        mm(f, &ly->wu, xq, st, s->u, (size_t)F, a, b, 0);
        for (int64_t t = 0; t < T && b > a; t++)
            ops->swiglu(s->g + t * F + a, s->g + t * F + a, s->u + t * F + a,
                        b - a);
        kw__pool_barrier(s->pool);
        xq = quant(s, s->g, (size_t)F, &ly->wd, T, ith, nth, &st);
        split(E, row_grain, ith, nth, &a, &b);
        mm(f, &ly->wd, xq, st, s->x, (size_t)E, a, b, 1);
        kw__pool_barrier(s->pool);
    }
    logits(f, ith, nth);
}

void kw__llm_forward(struct kw_session *runner, const struct kw__seg *segs,
                     int n_seg, int64_t T, float *logits) {
    struct fwd f = {runner, segs, n_seg, T, logits};
    kw__pool_run(runner->pool, forward_thread, &f);
}
