/*
 * llm_load.c — builds a kw_model from a validated GGUF file: reads the
 * hyper-parameters of the llama/qwen2 families, checks every weight's type
 * and shape against them, and keeps zero-copy views into the mapping.
 */
#include <math.h>

#include "model/llm_internal.h"

struct loader {
    struct kw_model *m;
    const char *path;
    char *err;
    size_t err_size;
};

static int get_u64(const struct loader *L, const char *suffix, uint64_t *out,
                   int required, uint64_t def) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", L->m->arch, suffix);
    int64_t i = kw_gguf_find_key(L->m->g, key);
    if (i < 0) {
        *out = def;
        if (required)
            kw__err(L->err, L->err_size, KW_STATUS_ERR_FORMAT,
                    "%s: required key '%s' is missing", L->path, key);
        return !required;
    }
    if (!kw_gguf_get_u64(L->m->g, i, out)) {
        kw__err(L->err, L->err_size, KW_STATUS_ERR_FORMAT,
                "%s: key '%s' is not an unsigned integer", L->path, key);
        return 0;
    }
    return 1;
}

static int get_f32(const struct loader *L, const char *suffix, float *out,
                   float def) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", L->m->arch, suffix);
    int64_t i = kw_gguf_find_key(L->m->g, key);
    double v;
    if (i < 0) {
        *out = def;
        return 1;
    }
    if (!kw_gguf_get_f64(L->m->g, i, &v) || !isfinite(v)) {
        kw__err(L->err, L->err_size, KW_STATUS_ERR_FORMAT,
                "%s: key '%s' is not a finite float", L->path, key);
        return 0;
    }
    *out = (float)v;
    return 1;
}

/* Finds a tensor and checks it has exactly the dims (ne0, ne1) (ne1 = 1 for
 * vectors). Returns 0 with *found = 0 when absent and optional. */
static enum kw_status find_tensor(struct loader *L, const char *name,
                                  int64_t ne0, int64_t ne1, int optional,
                                  struct kw_gguf_tensor_info *ti, int *found) {
    *found = 0;
    int64_t idx = kw_gguf_find_tensor(L->m->g, name);
    if (idx < 0) {
        if (optional) return KW_STATUS_OK;
        return kw__err(L->err, L->err_size, KW_STATUS_ERR_FORMAT,
                       "%s: tensor '%s' is missing", L->path, name);
    }
    kw_gguf_tensor(L->m->g, idx, ti);
    int64_t n2 = ti->ne[2] * ti->ne[3];
    if (ti->ne[0] != ne0 || ti->ne[1] != ne1 || n2 != 1)
        return kw__err(L->err, L->err_size, KW_STATUS_ERR_FORMAT,
                       "%s: tensor '%s' has shape [%lld, %lld, %lld, %lld], "
                       "expected [%lld, %lld]",
                       L->path, name, (long long)ti->ne[0],
                       (long long)ti->ne[1], (long long)ti->ne[2],
                       (long long)ti->ne[3], (long long)ne0, (long long)ne1);
    const struct kw__type_traits *tr = kw__traits(ti->type);
    if (!tr || !tr->to_float)
        return kw__err(L->err, L->err_size, KW_STATUS_ERR_UNSUPPORTED,
                       "%s: tensor '%s' has type %s, which kaiwu cannot "
                       "compute with",
                       L->path, name, kw_type_name(ti->type) ? kw_type_name(ti->type) : "?");
    *found = 1;
    L->m->n_params += (uint64_t)(ne0 * ne1);
    return KW_STATUS_OK;
}

static enum kw_status load_mat(struct loader *L, const char *name,
                               int64_t n_in, int64_t n_out,
                               struct kw__mat *w) {
    struct kw_gguf_tensor_info ti;
    int found;
    enum kw_status st = find_tensor(L, name, n_in, n_out, 0, &ti, &found);
    if (st != KW_STATUS_OK) return st;
    const struct kw__type_traits *tr = kw__traits(ti.type);
    const struct kw__type_traits *act = kw__traits(tr->vec_dot_type);
    if (!tr->vec_dot || !act || !act->from_float ||
        n_in % act->blck_size != 0)
        return kw__err(L->err, L->err_size, KW_STATUS_ERR_UNSUPPORTED,
                       "%s: tensor '%s' (%s, %lld columns) has no matrix "
                       "product kernel",
                       L->path, name, tr->name, (long long)n_in);
    w->type = ti.type;
    w->n_in = n_in;
    w->n_out = n_out;
    w->row_bytes = kw__row_size(ti.type, n_in);
    w->data = ti.data;
    return KW_STATUS_OK;
}

/* A small vector as f32: a view when stored as aligned f32, else a copy. */
static enum kw_status load_vec(struct loader *L, const char *name, int64_t n,
                               int optional, const float **out) {
    struct kw_gguf_tensor_info ti;
    int found;
    *out = NULL;
    enum kw_status st = find_tensor(L, name, n, 1, optional, &ti, &found);
    if (st != KW_STATUS_OK || !found) return st;
    if (ti.type == KW_TYPE_F32 && ((uintptr_t)ti.data & 3) == 0) {
        *out = ti.data;
        return KW_STATUS_OK;
    }
    const struct kw__type_traits *tr = kw__traits(ti.type);
    struct kw_model *m = L->m;
    if (n % tr->blck_size)
        return kw__err(L->err, L->err_size, KW_STATUS_ERR_FORMAT,
                       "%s: tensor '%s' length %lld is not a multiple of "
                       "its block size",
                       L->path, name, (long long)n);
    if (m->n_owned == m->cap_owned) {
        size_t cap = m->cap_owned ? m->cap_owned * 2 : 16;
        float **p = realloc(m->owned, cap * sizeof *p);
        if (!p) return KW_STATUS_ERR_NOMEM;
        m->owned = p;
        m->cap_owned = cap;
    }
    float *v = kw__alloc_aligned((size_t)n * sizeof(float));
    if (!v) return KW_STATUS_ERR_NOMEM;
    tr->to_float(ti.data, v, n);
    m->owned[m->n_owned++] = v;
    *out = v;
    return KW_STATUS_OK;
}

static enum kw_status read_hparams(struct loader *L) {
    struct kw_model *m = L->m;
    struct kw__hparams *hp = &m->hp;
    uint64_t v;
    if (!get_u64(L, "embedding_length", &v, 1, 0)) return KW_STATUS_ERR_FORMAT;
    hp->n_embd = (int64_t)v;
    if (!get_u64(L, "block_count", &v, 1, 0)) return KW_STATUS_ERR_FORMAT;
    hp->n_layer = (int64_t)v;
    if (!get_u64(L, "feed_forward_length", &v, 1, 0)) return KW_STATUS_ERR_FORMAT;
    hp->n_ff = (int64_t)v;
    if (!get_u64(L, "attention.head_count", &v, 1, 0)) return KW_STATUS_ERR_FORMAT;
    hp->n_head = (int64_t)v;
    if (!get_u64(L, "attention.head_count_kv", &v, 0, (uint64_t)hp->n_head))
        return KW_STATUS_ERR_FORMAT;
    hp->n_head_kv = (int64_t)v;
    if (!get_u64(L, "context_length", &v, 0, 4096)) return KW_STATUS_ERR_FORMAT;
    hp->n_ctx_train = (uint32_t)KW_MIN(v, (uint64_t)1 << 24);
    const int64_t big = (int64_t)1 << 20;
    if (hp->n_embd < 1 || hp->n_embd > big || hp->n_layer < 1 ||
        hp->n_layer > 4096 || hp->n_ff < 1 || hp->n_ff > big ||
        hp->n_head < 1 || hp->n_head > 4096 || hp->n_head_kv < 1 ||
        hp->n_head % hp->n_head_kv != 0 || hp->n_ctx_train < 1)
        return kw__err(L->err, L->err_size, KW_STATUS_ERR_FORMAT,
                       "%s: inconsistent hyper-parameters (embd %lld, layers "
                       "%lld, ff %lld, heads %lld/%lld kv)",
                       L->path, (long long)hp->n_embd, (long long)hp->n_layer,
                       (long long)hp->n_ff, (long long)hp->n_head,
                       (long long)hp->n_head_kv);
    if (!get_u64(L, "attention.key_length", &v, 0,
                 (uint64_t)(hp->n_embd / hp->n_head)))
        return KW_STATUS_ERR_FORMAT;
    hp->head_dim = (int64_t)v;
    if (!get_u64(L, "rope.dimension_count", &v, 0, (uint64_t)hp->head_dim))
        return KW_STATUS_ERR_FORMAT;
    hp->n_rot = (int64_t)v;
    if (hp->head_dim < 2 || hp->head_dim > 1024 || hp->n_rot < 2 ||
        hp->n_rot > hp->head_dim || hp->n_rot % 2)
        return kw__err(L->err, L->err_size, KW_STATUS_ERR_FORMAT,
                       "%s: head dimension %lld / rotary dimension %lld are "
                       "not usable",
                       L->path, (long long)hp->head_dim, (long long)hp->n_rot);
    if (!get_f32(L, "attention.layer_norm_rms_epsilon", &hp->eps, 1e-5f) ||
        !get_f32(L, "rope.freq_base", &hp->rope_base, 10000.0f))
        return KW_STATUS_ERR_FORMAT;
    if (!(hp->eps > 0.0f) || !(hp->rope_base > 0.0f))
        return kw__err(L->err, L->err_size, KW_STATUS_ERR_FORMAT,
                       "%s: rms epsilon and rope base must be positive",
                       L->path);
    hp->rope_freq_scale = 1.0f;
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", m->arch);
    const char *st;
    size_t st_len;
    if (kw_gguf_find_str(m->g, key, &st, &st_len)) {
        if (st_len == 6 && memcmp(st, "linear", 6) == 0) {
            float f;
            if (!get_f32(L, "rope.scaling.factor", &f, 1.0f))
                return KW_STATUS_ERR_FORMAT;
            if (!(f > 0.0f))
                return kw__err(L->err, L->err_size, KW_STATUS_ERR_FORMAT,
                               "%s: rope.scaling.factor must be positive",
                               L->path);
            hp->rope_freq_scale = 1.0f / f;
        } else if (!(st_len == 4 && memcmp(st, "none", 4) == 0) &&
                   !(st_len == 6 && memcmp(st, "llama3", 6) == 0)) {
            return kw__err(L->err, L->err_size, KW_STATUS_ERR_UNSUPPORTED,
                           "%s: rope scaling '%.*s' is not supported "
                           "(linear, llama3 and none are)",
                           L->path, (int)KW_MIN(st_len, 32), st);
        }
    }
    hp->rope_neox = strcmp(m->arch, "qwen2") == 0;
    return KW_STATUS_OK;
}

static enum kw_status load_weights(struct loader *L) {
    struct kw_model *m = L->m;
    const struct kw__hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, D = hp->head_dim;
    const int64_t Q = hp->n_head * D, KV = hp->n_head_kv * D;
    enum kw_status st;
    char name[96];
    if ((st = load_mat(L, "token_embd.weight", E, hp->n_vocab, &m->tok_embd)))
        return st;
    if ((st = load_vec(L, "output_norm.weight", E, 0, &m->out_norm))) return st;
    if (kw_gguf_find_tensor(m->g, "output.weight") >= 0) {
        if ((st = load_mat(L, "output.weight", E, hp->n_vocab, &m->output)))
            return st;
    } else {
        m->output = m->tok_embd; /* tied embeddings */
    }
    if ((st = load_vec(L, "rope_freqs.weight", hp->n_rot / 2, 1, &m->rope_ff)))
        return st;
    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers) return KW_STATUS_ERR_NOMEM;
    for (int64_t l = 0; l < hp->n_layer; l++) {
        struct kw__layer *ly = &m->layers[l];
#define LAYER_NAME(s) (snprintf(name, sizeof name, "blk.%lld." s, (long long)l), name)
        if ((st = load_vec(L, LAYER_NAME("attn_norm.weight"), E, 0, &ly->attn_norm)) ||
            (st = load_vec(L, LAYER_NAME("ffn_norm.weight"), E, 0, &ly->ffn_norm)) ||
            (st = load_mat(L, LAYER_NAME("attn_q.weight"), E, Q, &ly->wq)) ||
            (st = load_mat(L, LAYER_NAME("attn_k.weight"), E, KV, &ly->wk)) ||
            (st = load_mat(L, LAYER_NAME("attn_v.weight"), E, KV, &ly->wv)) ||
            (st = load_mat(L, LAYER_NAME("attn_output.weight"), Q, E, &ly->wo)) ||
            (st = load_mat(L, LAYER_NAME("ffn_gate.weight"), E, hp->n_ff, &ly->wg)) ||
            (st = load_mat(L, LAYER_NAME("ffn_up.weight"), E, hp->n_ff, &ly->wu)) ||
            (st = load_mat(L, LAYER_NAME("ffn_down.weight"), hp->n_ff, E, &ly->wd)) ||
            (st = load_vec(L, LAYER_NAME("attn_q.bias"), Q, 1, &ly->bq)) ||
            (st = load_vec(L, LAYER_NAME("attn_k.bias"), KV, 1, &ly->bk)) ||
            (st = load_vec(L, LAYER_NAME("attn_v.bias"), KV, 1, &ly->bv)))
            return st;
#undef LAYER_NAME
    }
    return KW_STATUS_OK;
}

struct kw_model_params kw_model_default_params(void) {
    struct kw_model_params p = {sizeof(struct kw_model_params), 1};
    return p;
}

enum kw_status kw_model_load(const char *path,
                             const struct kw_model_params *params,
                             struct kw_model **out, char *err,
                             size_t err_size) {
    if (!out) return KW_STATUS_ERR_INVALID_ARG;
    *out = NULL;
    if (!path)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "model path is NULL");
    if (params && params->size != sizeof(struct kw_model_params))
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "kw_model_params.size mismatch");
    struct kw_model *m = calloc(1, sizeof *m);
    if (!m) return KW_STATUS_ERR_NOMEM;
    struct loader L = {m, path, err, err_size};
    enum kw_status st = kw_gguf_open(path, &m->g, err, err_size);
    if (st != KW_STATUS_OK) goto fail;
    const char *arch;
    size_t arch_len;
    if (!kw_gguf_find_str(m->g, "general.architecture", &arch, &arch_len)) {
        st = kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                     "%s: key 'general.architecture' is missing", path);
        goto fail;
    }
    if (!((arch_len == 5 && memcmp(arch, "llama", 5) == 0) ||
          (arch_len == 5 && memcmp(arch, "qwen2", 5) == 0))) {
        st = kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,
                     "%s: architecture '%.*s' is not supported (llama, "
                     "qwen2 are)",
                     path, (int)KW_MIN(arch_len, 64), arch);
        goto fail;
    }
    memcpy(m->arch, arch, arch_len);
    m->arch[arch_len] = 0;
    if ((st = read_hparams(&L))) goto fail;
    if ((st = kw__tokenizer_new(m->g, &m->tok, err, err_size))) goto fail;
    m->hp.n_vocab = kw__tokenizer_n_vocab(m->tok);
    if ((st = load_weights(&L))) goto fail;
    struct kw_gguf_tensor_info ti;
    for (int64_t i = 0; kw_gguf_tensor(m->g, i, &ti); i++)
        m->size_bytes += ti.size_bytes;
    snprintf(m->desc, sizeof m->desc,
             "%s %.0fM params, %.1f MiB, %lld layers, %lld heads (%lld kv), "
             "ctx %u",
             m->arch, (double)m->n_params / 1e6,
             (double)m->size_bytes / (1024.0 * 1024.0),
             (long long)m->hp.n_layer, (long long)m->hp.n_head,
             (long long)m->hp.n_head_kv, m->hp.n_ctx_train);
    *out = m;
    return KW_STATUS_OK;
fail:
    kw_model_free(m);
    return st;
}

void kw_model_free(struct kw_model *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_owned; i++) kw__free_aligned(m->owned[i]);
    free(m->owned);
    free(m->layers);
    kw__tokenizer_free(m->tok);
    kw_gguf_free(m->g);
    free(m);
}
