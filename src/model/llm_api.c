/*
 * llm_api.c — the public session, tokenizer and chat entry points over a
 * loaded kw_model: allocates the KV cache and activation buffers once per
 * session (nothing is allocated per token), validates arguments and feeds
 * the forward pass in batches.
 */
#include <string.h>

#include "cpu/isa_table.h"
#include "model/llm_internal.h"
#include "text/chat_template.h"

/* ---- model getters ---- */
const struct kw_gguf *kw_model_gguf(const struct kw_model *m) { return m->g; }
const char *kw_model_arch(const struct kw_model *m) { return m->arch; }
const char *kw_model_desc(const struct kw_model *m) { return m->desc; }
int32_t kw_model_n_vocab(const struct kw_model *m) {
    return (int32_t)m->hp.n_vocab;
}
uint32_t kw_model_n_ctx_train(const struct kw_model *m) {
    return m->hp.n_ctx_train;
}
uint64_t kw_model_n_params(const struct kw_model *m) { return m->n_params; }
uint64_t kw_model_size_bytes(const struct kw_model *m) {
    return m->size_bytes;
}
int32_t kw_model_token_bos(const struct kw_model *m) {
    return kw__tokenizer_bos(m->tok);
}
int32_t kw_model_token_eos(const struct kw_model *m) {
    return kw__tokenizer_eos(m->tok);
}
int kw_model_token_is_eog(const struct kw_model *m, int32_t tok) {
    return kw__tokenizer_is_eog(m->tok, tok);
}

enum kw_status kw_tokenize(const struct kw_model *m, const char *text,
                           size_t len, int add_special, int parse_special,
                           int32_t *tokens, size_t cap, size_t *n_tokens) {
    if (!m || (!text && len) || !n_tokens || (!tokens && cap))
        return KW_STATUS_ERR_INVALID_ARG;
    return kw__tokenizer_encode(m->tok, text ? text : "", len, add_special,
                                parse_special, tokens, cap, n_tokens);
}

size_t kw_token_to_piece(const struct kw_model *m, int32_t tok, char *buf,
                         size_t cap, int render_special) {
    if (!m || (!buf && cap)) return 0;
    return kw__tokenizer_piece(m->tok, tok, buf, cap, render_special);
}

/* ---- chat ---- */
static const char *model_template(const struct kw_model *m, size_t *len) {
    const char *t;
    if (!kw_gguf_find_str(m->g, "tokenizer.chat_template", &t, len))
        return NULL;
    return t;
}

const char *kw_chat_template_detect(const struct kw_model *m) {
    size_t len;
    const char *t = m ? model_template(m, &len) : NULL;
    return t ? kw__chat_detect(t, len) : NULL;
}

/* Text of a special token as a NUL-terminated string ("" if none). */
static void token_text(const struct kw_model *m, int32_t tok, char *buf,
                       size_t cap) {
    buf[0] = 0;
    if (tok < 0) return;
    size_t n = kw__tokenizer_piece(m->tok, tok, buf, cap - 1, 1);
    buf[n < cap ? n : 0] = 0;
}

enum kw_status kw_chat_apply(const struct kw_model *m, const char *tmpl,
                             const struct kw_chat_message *msgs, size_t n,
                             int add_assistant, char *buf, size_t cap,
                             size_t *len, char *err, size_t err_size) {
    if (!m || (!msgs && n) || !len || (!buf && cap))
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "kw_chat_apply: invalid argument");
    if (!tmpl) {
        size_t tl;
        const char *t = model_template(m, &tl);
        if (!t)
            return kw__err(err, err_size, KW_STATUS_ERR_TEMPLATE,
                           "the model has no tokenizer.chat_template; "
                           "choose one with --chat-template");
        tmpl = kw__chat_detect(t, tl);
        if (!tmpl)
            return kw__err(err, err_size, KW_STATUS_ERR_TEMPLATE,
                           "the model's chat template is not one kaiwu "
                           "recognises; choose one with --chat-template");
    }
    char bos[64], eos[64];
    token_text(m, kw__tokenizer_bos(m->tok), bos, sizeof bos);
    token_text(m, kw__tokenizer_eos(m->tok), eos, sizeof eos);
    return kw__chat_render(tmpl, bos, eos, msgs, n, add_assistant, buf, cap,
                           len, err, err_size);
}

/* ---- session ---- */
struct kw_session_params kw_session_default_params(void) {
    struct kw_session_params p = {sizeof(struct kw_session_params), 0, 0, 0};
    return p;
}

static int alloc_f(float **p, size_t n) {
    *p = kw__alloc_aligned(n * sizeof(float));
    return *p != NULL;
}

enum kw_status kw_session_new(const struct kw_model *m,
                              const struct kw_session_params *params,
                              struct kw_session **out, char *err,
                              size_t err_size) {
    if (!out) return KW_STATUS_ERR_INVALID_ARG;
    *out = NULL;
    if (!m)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "kw_session_new: model is NULL");
    struct kw_session_params p = kw_session_default_params();
    if (params) {
        if (params->size != sizeof p)
            return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                           "kw_session_params.size mismatch");
        p = *params;
    }
    const struct kw__hparams *hp = &m->hp;
    uint32_t n_ctx = p.n_ctx ? p.n_ctx : 4096;
    n_ctx = KW_MIN(n_ctx, hp->n_ctx_train);
    uint32_t n_batch = p.n_batch ? p.n_batch : 512;
    n_batch = KW_MIN(n_batch, n_ctx);
    int n_threads = p.n_threads ? (int)KW_MIN(p.n_threads, 1024u)
                                : kw__cpu_count();

    struct kw_session *s = calloc(1, sizeof *s);
    if (!s) return KW_STATUS_ERR_NOMEM;
    s->m = m;
    s->n_ctx = n_ctx;
    s->n_batch = n_batch;
    enum kw_status st = kw__pool_new(n_threads, &s->pool);
    if (st != KW_STATUS_OK) goto fail;

    const size_t E = (size_t)hp->n_embd, F = (size_t)hp->n_ff;
    const size_t D = (size_t)hp->head_dim;
    const size_t Qw = (size_t)hp->n_head * D, KVw = (size_t)hp->n_head_kv * D;
    const size_t B = n_batch;
    const size_t kv_elems = (size_t)n_ctx * KVw;
    st = KW_STATUS_ERR_NOMEM;
    s->k_cache = calloc((size_t)hp->n_layer, sizeof *s->k_cache);
    s->v_cache = calloc((size_t)hp->n_layer, sizeof *s->v_cache);
    if (!s->k_cache || !s->v_cache) goto fail;
    for (int64_t l = 0; l < hp->n_layer; l++) {
        s->k_cache[l] = kw__alloc_aligned(kv_elems * sizeof(uint16_t));
        s->v_cache[l] = kw__alloc_aligned(kv_elems * sizeof(uint16_t));
        if (!s->k_cache[l] || !s->v_cache[l]) goto fail;
    }
    /* the largest input row any matrix sees, quantized for any of them */
    const struct kw__mat *mats[] = {&m->layers[0].wq, &m->layers[0].wo,
                                    &m->layers[0].wg, &m->layers[0].wd,
                                    &m->output};
    size_t xq_row = 0;
    for (int64_t l = 0; l < hp->n_layer; l++) {
        const struct kw__layer *ly = &m->layers[l];
        const struct kw__mat *lm[] = {&ly->wq, &ly->wk, &ly->wv, &ly->wo,
                                      &ly->wg, &ly->wu, &ly->wd};
        for (size_t i = 0; i < sizeof lm / sizeof *lm; i++)
            xq_row = KW_MAX(xq_row, kw__mat_act_row_bytes(lm[i]));
    }
    for (size_t i = 0; i < sizeof mats / sizeof *mats; i++)
        xq_row = KW_MAX(xq_row, kw__mat_act_row_bytes(mats[i]));
    s->xq_row = (xq_row + 63) & ~(size_t)63;
    s->priv_f = (KW_MAX(E, F) + 15) & ~(size_t)15;
    s->priv_q = s->xq_row;
    const size_t att_w = KW_MAX(Qw, 2 * KVw);
    if (!alloc_f(&s->x, B * E) || !alloc_f(&s->xn, B * E) ||
        !alloc_f(&s->q, B * Qw) || !alloc_f(&s->att, B * att_w) ||
        !alloc_f(&s->g, B * F) || !alloc_f(&s->u, B * F) ||
        !alloc_f(&s->cs, B * (size_t)hp->n_rot) ||
        !alloc_f(&s->logits, (size_t)hp->n_vocab) ||
        !alloc_f(&s->priv_xn, (size_t)n_threads * s->priv_f))
        goto fail;
    s->xq = kw__alloc_aligned(B * s->xq_row);
    s->priv_xq = kw__alloc_aligned((size_t)n_threads * s->priv_q);
    s->priv_scratch =
        kw__alloc_aligned((size_t)n_threads * 2 * D * sizeof(uint16_t));
    s->tiled_stride = (KW__ATTN_TILED_SCRATCH(hp->head_dim) + 15) & ~(size_t)15;
    s->tiled_scratch =
        kw__alloc_aligned((size_t)n_threads * s->tiled_stride * sizeof(float));
    if (!s->xq || !s->priv_xq || !s->priv_scratch || !s->tiled_scratch)
        goto fail;
    *out = s;
    return KW_STATUS_OK;
fail:
    kw_session_free(s);
    if (st == KW_STATUS_ERR_NOMEM)
        return kw__err(err, err_size, st,
                       "out of memory allocating a %u-token session", n_ctx);
    return kw__err(err, err_size, st, "cannot create session: %s",
                   kw_status_str(st));
}

void kw_session_free(struct kw_session *s) {
    if (!s) return;
    kw__pool_free(s->pool);
    if (s->k_cache)
        for (int64_t l = 0; l < s->m->hp.n_layer; l++)
            kw__free_aligned(s->k_cache[l]);
    if (s->v_cache)
        for (int64_t l = 0; l < s->m->hp.n_layer; l++)
            kw__free_aligned(s->v_cache[l]);
    free(s->k_cache);
    free(s->v_cache);
    void *bufs[] = {s->x,      s->xn,      s->q,       s->att,
                    s->g,      s->u,       s->cs,      s->logits,
                    s->priv_xn, s->xq,     s->priv_xq, s->priv_scratch,
                    s->tiled_scratch, s->batch_logits};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        kw__free_aligned(bufs[i]);
    free(s);
}

enum kw_status kw_session_decode(struct kw_session *s, const int32_t *tokens,
                                 size_t n) {
    if (!s || (!tokens && n)) return KW_STATUS_ERR_INVALID_ARG;
    if (n == 0) return KW_STATUS_OK;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= s->m->hp.n_vocab)
            return KW_STATUS_ERR_INVALID_ARG;
    if (n > s->n_ctx - s->n_past) return KW_STATUS_ERR_CONTEXT_FULL;
    for (size_t i = 0; i < n; i += s->n_batch) {
        if (s->abort_cb && s->abort_cb(s->abort_user))
            return KW_STATUS_ERR_CANCELLED;
        const int64_t T = (int64_t)KW_MIN((size_t)s->n_batch, n - i);
        const struct kw__seg seg = {s, tokens + i, 0, T, s->n_past};
        kw__llm_forward(s, &seg, 1, T, s->logits);
        s->n_past += (uint32_t)T;
        s->have_logits = 1;
    }
    return KW_STATUS_OK;
}

static enum kw_status check_batch(const struct kw_session *runner,
                                  const struct kw_batch_item *items,
                                  size_t n_items, size_t *total) {
    if (!runner || !items || n_items == 0) return KW_STATUS_ERR_INVALID_ARG;
    *total = 0;
    for (size_t i = 0; i < n_items; i++) {
        const struct kw_batch_item *it = &items[i];
        if (!it->session || it->session->m != runner->m || !it->tokens ||
            it->n_tokens == 0)
            return KW_STATUS_ERR_INVALID_ARG;
        for (size_t j = 0; j < i; j++)
            if (items[j].session == it->session)
                return KW_STATUS_ERR_INVALID_ARG;
        for (size_t k = 0; k < it->n_tokens; k++)
            if (it->tokens[k] < 0 || it->tokens[k] >= runner->m->hp.n_vocab)
                return KW_STATUS_ERR_INVALID_ARG;
        *total += it->n_tokens;
        if (*total > runner->n_batch) return KW_STATUS_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < n_items; i++)
        if (items[i].n_tokens >
            items[i].session->n_ctx - items[i].session->n_past)
            return KW_STATUS_ERR_CONTEXT_FULL;
    return KW_STATUS_OK;
}

enum kw_status kw_session_decode_batch(struct kw_session *runner,
                                       const struct kw_batch_item *items,
                                       size_t n_items) {
    size_t total;
    enum kw_status st = check_batch(runner, items, n_items, &total);
    if (st != KW_STATUS_OK) return st;
    const size_t V = (size_t)runner->m->hp.n_vocab;
    if (n_items > 1 && runner->batch_rows < n_items) {
        float *p = kw__alloc_aligned(n_items * V * sizeof(float));
        if (!p) return KW_STATUS_ERR_NOMEM;
        kw__free_aligned(runner->batch_logits);
        runner->batch_logits = p;
        runner->batch_rows = n_items;
    }
    struct kw__seg *segs = malloc(n_items * sizeof *segs);
    if (!segs) return KW_STATUS_ERR_NOMEM;
    int64_t t = 0;
    for (size_t i = 0; i < n_items; i++) {
        segs[i] = (struct kw__seg){items[i].session, items[i].tokens, t,
                                   (int64_t)items[i].n_tokens,
                                   items[i].session->n_past};
        t += (int64_t)items[i].n_tokens;
    }
    float *logits =
        n_items == 1 ? items[0].session->logits : runner->batch_logits;
    kw__llm_forward(runner, segs, (int)n_items, (int64_t)total, logits);
    for (size_t i = 0; i < n_items; i++) {
        struct kw_session *s = items[i].session;
        if (n_items > 1)
            memcpy(s->logits, runner->batch_logits + i * V, V * sizeof(float));
        s->n_past += (uint32_t)items[i].n_tokens;
        s->have_logits = 1;
    }
    free(segs);
    return KW_STATUS_OK;
}

const float *kw_session_logits(const struct kw_session *s) {
    return s && s->have_logits ? s->logits : NULL;
}
uint32_t kw_session_n_past(const struct kw_session *s) { return s->n_past; }
uint32_t kw_session_n_ctx(const struct kw_session *s) { return s->n_ctx; }
uint32_t kw_session_n_threads(const struct kw_session *s) {
    return (uint32_t)kw__pool_size(s->pool);
}

void kw_session_truncate(struct kw_session *s, uint32_t n_keep) {
    if (!s) return;
    if (n_keep < s->n_past) {
        s->n_past = n_keep;
        s->have_logits = 0;
    }
}

void kw_session_set_abort(struct kw_session *s, int (*cb)(void *),
                          void *user) {
    if (!s) return;
    s->abort_cb = cb;
    s->abort_user = user;
}
