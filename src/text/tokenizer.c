/*
 * tokenizer.c — builds a kw__tokenizer from GGUF metadata (vocabulary, token
 * types, scores, merges, special ids, llama.cpp's text-based special-token
 * detection) and drives encoding: special tokens are split out of the text
 * first (longest first), the rest goes to bpe.c or spm.c. Also decoding of
 * single tokens. Entry points: the kw__tokenizer_* functions of tokenizer.h.
 */
#include "text/tok_internal.h"
#include "text/unicode.h"

#include "kaiwu/gguf.h"

/* ---- small shared helpers ------------------------------------------- */

int kw__grow(void **buf, size_t *cap, size_t n, size_t es) {
    size_t need;
    if (!kw__mul_size(n, es, &need)) return 0;
    if (need <= *cap) return 1;
    size_t nc = *cap > SIZE_MAX / 2 ? need : *cap * 2;
    if (nc < need) nc = need;
    if (nc < 256) nc = 256;
    void *p = realloc(*buf, nc);
    if (!p) return 0;
    *buf = p;
    *cap = nc;
    return 1;
}

void kw__ids_push(struct kw__ids *ids, int32_t id) {
    if (ids->oom) return;
    if (ids->n == ids->cap) {
        size_t bytes = ids->cap * sizeof(int32_t);
        void *p = ids->v;
        if (!kw__grow(&p, &bytes, ids->n + 1, sizeof(int32_t))) {
            ids->oom = 1;
            return;
        }
        ids->v = p;
        ids->cap = bytes / sizeof(int32_t);
    }
    ids->v[ids->n++] = id;
}

void kw__scratch_free(struct kw__scratch *s) {
    free(s->cpt);
    free(s->fl);
    free(s->w1);
    free(s->w2);
    free(s->enc);
    free(s->sym);
    free(s->heap);
    memset(s, 0, sizeof *s);
}

/* Word-at-a-time multiplicative hash; the length goes into the last word
 * so "a" + "bc" and "ab" + "c" differ when pairs are hashed piecewise. */
uint64_t kw__hash_bytes(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    const uint64_t k = 0x9e3779b97f4a7c15ull;
    for (; n >= 8; b += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        h = (h ^ w) * k;
        h ^= h >> 32;
    }
    uint64_t w = (uint64_t)n << 56;
    for (size_t i = 0; i < n; i++) w |= (uint64_t)b[i] << (8 * i);
    h = (h ^ w) * k;
    return h ^ (h >> 29);
}

/* Final avalanche so the low bits that index the table see every input
 * bit. */
static uint64_t finish(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 29;
    return h;
}

static uint64_t text_hash(const char *s, size_t n) {
    return finish(kw__hash_bytes(KW_HASH_SEED, s, n));
}

static uint64_t pair_hash(const char *l, size_t ln, const char *r, size_t rn) {
    return finish(kw__hash_bytes(kw__hash_bytes(KW_HASH_SEED, l, ln), r, rn));
}

#define KW_HASH_BATCH 32

static int itab_init(struct kw__itab *tab, size_t n) {
    size_t size = 16;
    while (size < n * 2) {
        if (size > SIZE_MAX / 4 / sizeof(struct kw__slot)) return 0;
        size *= 2;
    }
    tab->slot = malloc(size * sizeof(struct kw__slot));
    if (!tab->slot) return 0;
    memset(tab->slot, 0xFF, size * sizeof(struct kw__slot)); /* idx -1 */
    tab->mask = size - 1;
    return 1;
}

static int tok_eq(const struct kw__tok *k, const char *s, size_t n) {
    return k->len == n && memcmp(k->text, s, n) == 0;
}

static int merge_eq(const struct kw__merge *e, const char *l, size_t ln,
                    const char *r, size_t rn) {
    return e->left_len == ln && e->right_len == rn &&
           memcmp(e->s, l, ln) == 0 && memcmp(e->s + ln + 1, r, rn) == 0;
}

int32_t kw__vocab_find(const struct kw__tokenizer *t, const char *s,
                       size_t n) {
    uint64_t h = text_hash(s, n);
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t i = h & t->vocab.mask;; i = (i + 1) & t->vocab.mask) {
        struct kw__slot sl = t->vocab.slot[i];
        if (sl.idx < 0) return -1;
        if (sl.tag == tag && tok_eq(&t->tok[sl.idx], s, n)) return sl.idx;
    }
}

int32_t kw__merge_rank(const struct kw__tokenizer *t, const char *l,
                       size_t ln, const char *r, size_t rn) {
    if (!t->merge_tab.slot) return -1;
    uint64_t h = pair_hash(l, ln, r, rn);
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t i = h & t->merge_tab.mask;; i = (i + 1) & t->merge_tab.mask) {
        struct kw__slot sl = t->merge_tab.slot[i];
        if (sl.idx < 0) return -1;
        if (sl.tag == tag && merge_eq(&t->merges[sl.idx], l, ln, r, rn))
            return sl.idx;
    }
}

/* ---- loading --------------------------------------------------------- */

struct pre_name {
    const char *name;
    enum kw__pre pre;
    int llama3_flags; /* ignore_merges and add_bos by default */
};

/* tokenizer.ggml.pre values whose pre-tokenizer (and nothing else) we
 * implement, grouped as llama.cpp groups them. */
static const struct pre_name k_pre_names[] = {
    {"default", KW_PRE_DEFAULT, 0},
    {"gpt-2", KW_PRE_GPT2, 0}, {"phi-2", KW_PRE_GPT2, 0},
    {"gigachat", KW_PRE_GPT2, 0}, {"a.x-4.0", KW_PRE_GPT2, 0},
    {"mellum", KW_PRE_GPT2, 0}, {"mpt", KW_PRE_GPT2, 0},
    {"olmo", KW_PRE_GPT2, 0}, {"jais", KW_PRE_GPT2, 0},
    {"trillion", KW_PRE_GPT2, 0}, {"granite-docling", KW_PRE_GPT2, 0},
    {"exaone4", KW_PRE_GPT2, 0},
    {"smollm", KW_PRE_SMOLLM, 0}, {"starcoder", KW_PRE_SMOLLM, 0},
    {"refact", KW_PRE_SMOLLM, 0}, {"command-r", KW_PRE_SMOLLM, 0},
    {"codeshell", KW_PRE_SMOLLM, 0}, {"exaone", KW_PRE_SMOLLM, 0},
    {"minerva-7b", KW_PRE_SMOLLM, 0}, {"mellum2", KW_PRE_SMOLLM, 0},
    {"llama3", KW_PRE_LLAMA3, 1}, {"llama-v3", KW_PRE_LLAMA3, 1},
    {"llama-bpe", KW_PRE_LLAMA3, 1}, {"falcon3", KW_PRE_LLAMA3, 1},
    {"falcon-h1", KW_PRE_LLAMA3, 1}, {"pixtral", KW_PRE_LLAMA3, 1},
    {"midm-2.0", KW_PRE_LLAMA3, 1}, {"lfm2", KW_PRE_LLAMA3, 1},
    {"dbrx", KW_PRE_LLAMA3, 0}, {"smaug-bpe", KW_PRE_LLAMA3, 0},
    {"qwen2", KW_PRE_QWEN2, 0}, {"deepseek-r1-qwen", KW_PRE_QWEN2, 0},
    {"megrez", KW_PRE_QWEN2, 0}, {"stablelm2", KW_PRE_QWEN2, 0},
};

static int str_eq(const char *s, size_t n, const char *z) {
    return strlen(z) == n && memcmp(s, z, n) == 0;
}

/* Special ids read from metadata, in llama.cpp's order (later keys of the
 * same slot override earlier ones). */
enum { SID_BOS, SID_EOS, SID_EOT, SID_EOM, SID_UNK, SID_FIM_PRE, SID_FIM_SUF,
       SID_FIM_MID, SID_FIM_PAD, SID_FIM_REP, SID_FIM_SEP, SID_COUNT };

static const struct {
    const char *key;
    int slot;
} k_sid_keys[] = {
    {"tokenizer.ggml.bos_token_id", SID_BOS},
    {"tokenizer.ggml.eos_token_id", SID_EOS},
    {"tokenizer.ggml.eot_token_id", SID_EOT},
    {"tokenizer.ggml.eom_token_id", SID_EOM},
    {"tokenizer.ggml.unknown_token_id", SID_UNK},
    {"tokenizer.ggml.fim_pre_token_id", SID_FIM_PRE},
    {"tokenizer.ggml.fim_suf_token_id", SID_FIM_SUF},
    {"tokenizer.ggml.fim_mid_token_id", SID_FIM_MID},
    {"tokenizer.ggml.fim_pad_token_id", SID_FIM_PAD},
    {"tokenizer.ggml.fim_rep_token_id", SID_FIM_REP},
    {"tokenizer.ggml.fim_sep_token_id", SID_FIM_SEP},
    {"tokenizer.ggml.prefix_token_id", SID_FIM_PRE},
    {"tokenizer.ggml.suffix_token_id", SID_FIM_SUF},
    {"tokenizer.ggml.middle_token_id", SID_FIM_MID},
};

/* Token texts that mark a special id when the metadata did not give one;
 * the first matching token (lowest id) is taken and made a control token. */
static const char *const k_eot_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
    "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
    "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
    "<end_of_utterance>", NULL};
static const char *const k_eom_texts[] = {"<|eom_id|>", NULL};
static const char *const k_fim_pre_texts[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
    "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>", "<PRE>",
    "\xe2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>", NULL};
static const char *const k_fim_suf_texts[] = {
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
    "<\xef\xbd\x9c" "fim\xe2\x96\x81hole\xef\xbd\x9c>", "<SUF>",
    "\xe2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>", NULL};
static const char *const k_fim_mid_texts[] = {
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>",
    "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>", "<MID>",
    "\xe2\x96\x81<MID>", "<|code_middle|>", "<|middle|>", NULL};
static const char *const k_fim_pad_texts[] = {
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL};
static const char *const k_fim_rep_texts[] = {
    "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>",
    NULL};
static const char *const k_fim_sep_texts[] = {"<|file_sep|>", NULL};
/* Texts that end a generation (llama.cpp's list). */
static const char *const k_eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",
    "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>",
    "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
    "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
    "[e~[", NULL};

static int32_t find_z(const struct kw__tokenizer *t, const char *z) {
    return kw__vocab_find(t, z, strlen(z));
}

/* Lowest id whose text is in list (llama.cpp takes whichever its hash map
 * yields first; real vocabularies hold at most one of them). */
static int32_t find_any(const struct kw__tokenizer *t,
                        const char *const *list) {
    int32_t best = -1;
    for (; *list; list++) {
        int32_t id = find_z(t, *list);
        if (id >= 0 && (best < 0 || id < best)) best = id;
    }
    return best;
}

static int tok_is(const struct kw__tokenizer *t, int32_t id, const char *z) {
    return str_eq(t->tok[id].text, t->tok[id].len, z);
}

static void detect_specials(struct kw__tokenizer *t, int32_t sid[SID_COUNT]) {
    static const struct {
        int slot;
        const char *const *texts;
    } auto_ids[] = {
        {SID_EOT, k_eot_texts},         {SID_EOM, k_eom_texts},
        {SID_FIM_PRE, k_fim_pre_texts}, {SID_FIM_SUF, k_fim_suf_texts},
        {SID_FIM_MID, k_fim_mid_texts}, {SID_FIM_PAD, k_fim_pad_texts},
        {SID_FIM_REP, k_fim_rep_texts}, {SID_FIM_SEP, k_fim_sep_texts},
    };
    for (size_t a = 0; a < sizeof auto_ids / sizeof auto_ids[0]; a++) {
        int32_t *slot = &sid[auto_ids[a].slot];
        if (*slot >= 0) continue;
        *slot = find_any(t, auto_ids[a].texts);
        if (*slot >= 0) t->tok[*slot].attr |= KW_TA_CONTROL;
    }
    /* end-of-generation set, kept as a short list while it is built */
    int32_t eog[64];
    size_t n_eog = 0;
    static const int eog_slots[] = {SID_FIM_PAD, SID_FIM_REP, SID_FIM_SEP};
    for (size_t i = 0; i < 3; i++)
        if (sid[eog_slots[i]] >= 0) eog[n_eog++] = sid[eog_slots[i]];
    for (const char *const *z = k_eog_texts; *z; z++) {
        int32_t id = find_z(t, *z);
        if (id < 0) continue;
        eog[n_eog++] = id;
        t->tok[id].attr |= KW_TA_CONTROL;
    }
    /* gpt-oss: these always render */
    static const char *const always_render[] = {
        "<|channel|>", "<|message|>", "<|start|>", "<|constrain|>", NULL};
    for (const char *const *z = always_render; *z; z++) {
        int32_t id = find_z(t, *z);
        if (id >= 0) t->tok[id].attr = KW_TA_USER;
    }
    if (sid[SID_EOS] >= 0) eog[n_eog++] = sid[SID_EOS];
    if (sid[SID_EOT] >= 0) eog[n_eog++] = sid[SID_EOT];
    if (sid[SID_EOM] >= 0) eog[n_eog++] = sid[SID_EOM];
    for (size_t i = 0; i < n_eog; i++) t->tok[eog[i]].eog = 1;

    /* o200k_harmony / solar-open: "<|end|>" is not an end there; a normal
     * "</s>" next to gemma4/plamo markers is not either */
    int has_return = 0, has_call = 0, has_flush = 0, has_marker = 0;
    int32_t end_id = -1, s_id = -1;
    for (size_t i = 0; i < n_eog; i++) {
        int32_t id = eog[i];
        if (tok_is(t, id, "<|return|>")) has_return = 1;
        else if (tok_is(t, id, "<|call|>") || tok_is(t, id, "<|calls|>"))
            has_call = 1;
        else if (tok_is(t, id, "<|flush|>")) has_flush = 1;
        else if (tok_is(t, id, "<|end|>")) end_id = id;
        else if (tok_is(t, id, "<|tool_response>") ||
                 tok_is(t, id, "<|plamo:eos|>"))
            has_marker = 1;
        else if (tok_is(t, id, "</s>")) s_id = id;
    }
    if (end_id >= 0 && has_call && (has_return || has_flush)) {
        t->tok[end_id].eog = 0;
        t->tok[end_id].attr = KW_TA_USER;
    }
    if (has_marker && s_id >= 0) {
        t->tok[s_id].eog = 0;
        t->tok[s_id].attr = KW_TA_NORMAL;
    }
}

struct len_id {
    uint32_t len;
    int32_t id;
};

static int cmp_len_id(const void *a, const void *b) {
    const struct len_id *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static int build_special_cache(struct kw__tokenizer *t) {
    size_t n = 0;
    for (int32_t id = 0; id < t->n_vocab; id++)
        if (t->tok[id].attr & (KW_TA_CONTROL | KW_TA_USER | KW_TA_UNKNOWN)) n++;
    t->n_special = n;
    if (!n) return 1;
    struct len_id *tmp = malloc(n * sizeof *tmp);
    t->special = malloc(n * sizeof(int32_t));
    if (!tmp || !t->special) {
        free(tmp);
        return 0;
    }
    n = 0;
    for (int32_t id = 0; id < t->n_vocab; id++)
        if (t->tok[id].attr & (KW_TA_CONTROL | KW_TA_USER | KW_TA_UNKNOWN))
            tmp[n++] = (struct len_id){t->tok[id].len, id};
    /* llama.cpp's sort is not stable; equal lengths go by id here */
    qsort(tmp, n, sizeof *tmp, cmp_len_id);
    for (size_t i = 0; i < n; i++) t->special[i] = tmp[i].id;
    free(tmp);
    return 1;
}

/* Phi-3 GGUFs: llama.cpp strips spaces after most special tokens. */
static void phi3_attrs(struct kw__tokenizer *t, const struct kw_gguf *g) {
    const char *name;
    size_t n;
    char low[256];
    if (!kw_gguf_find_str(g, "general.name", &name, &n)) return;
    n = KW_MIN(n, sizeof low);
    for (size_t i = 0; i < n; i++)
        low[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32
                                                           : name[i]);
    if (!memmem(low, n, "phi-3", 5) && !memmem(low, n, "phi3", 4)) return;
    for (size_t i = 0; i < t->n_special; i++)
        t->tok[t->special[i]].attr |= KW_TA_RSTRIP;
    int32_t id = find_z(t, "</s>");
    if (id >= 0) t->tok[id].attr |= KW_TA_RSTRIP;
    static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
    for (size_t i = 0; i < 3; i++) {
        id = find_z(t, keep[i]);
        if (id >= 0) t->tok[id].attr &= (uint16_t)~KW_TA_RSTRIP;
    }
}

static void build_byte_map(struct kw__tokenizer *t) {
    int n = 0;
    for (int i = 0; i < 324; i++) t->cpt_byte[i] = -1;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
                        (b >= 0xAE && b <= 0xFF);
        uint32_t cpt = printable ? (uint32_t)b : (uint32_t)(256 + n++);
        uint8_t u[4];
        size_t k = kw__utf8_encode(cpt, u);
        memcpy(t->byte_utf8[b], u, k);
        t->byte_utf8_len[b] = (uint8_t)k;
        t->cpt_byte[cpt] = (int16_t)b;
    }
}

static enum kw_status load_vocab(struct kw__tokenizer *t,
                                 const struct kw_gguf *g, char *err,
                                 size_t esz) {
    int64_t ki = kw_gguf_find_key(g, "tokenizer.ggml.tokens");
    if (ki < 0)
        return kw__err(err, esz, KW_STATUS_ERR_FORMAT,
                       "tokenizer: key 'tokenizer.ggml.tokens' missing");
    if (kw_gguf_kv_type(g, ki) != KW_GGUF_ARRAY ||
        kw_gguf_arr_type(g, ki) != KW_GGUF_STRING)
        return kw__err(err, esz, KW_STATUS_ERR_FORMAT,
                       "tokenizer: key 'tokenizer.ggml.tokens' is not a "
                       "string array");
    uint64_t n = kw_gguf_arr_n(g, ki);
    if (n == 0 || n > (uint64_t)INT32_MAX / 2)
        return kw__err(err, esz, KW_STATUS_ERR_FORMAT,
                       "tokenizer: key 'tokenizer.ggml.tokens' has %llu "
                       "entries", (unsigned long long)n);
    t->n_vocab = (int32_t)n;

    int64_t si = kw_gguf_find_key(g, "tokenizer.ggml.scores");
    int stype = -1;
    if (si >= 0) {
        stype = kw_gguf_arr_type(g, si);
        if (stype != KW_GGUF_FLOAT32 && stype != KW_GGUF_INT32)
            return kw__err(err, esz, KW_STATUS_ERR_FORMAT,
                           "tokenizer: key 'tokenizer.ggml.scores' is not a "
                           "float32/int32 array");
        if (kw_gguf_arr_n(g, si) < n)
            return kw__err(err, esz, KW_STATUS_ERR_FORMAT,
                           "tokenizer: key 'tokenizer.ggml.scores' has fewer "
                           "entries than the vocabulary");
    }
    int64_t ti = kw_gguf_find_key(g, "tokenizer.ggml.token_type");
    if (ti >= 0) {
        if (kw_gguf_arr_type(g, ti) != KW_GGUF_INT32)
            return kw__err(err, esz, KW_STATUS_ERR_FORMAT,
                           "tokenizer: key 'tokenizer.ggml.token_type' is not "
                           "an int32 array");
        if (kw_gguf_arr_n(g, ti) < n)
            return kw__err(err, esz, KW_STATUS_ERR_FORMAT,
                           "tokenizer: key 'tokenizer.ggml.token_type' has "
                           "fewer entries than the vocabulary");
    }

    t->tok = calloc((size_t)n, sizeof *t->tok);
    if (!t->tok) return KW_STATUS_ERR_NOMEM;
    size_t n_empty = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        struct kw__tok *k = &t->tok[i];
        const char *s = NULL;
        size_t len = 0;
        if (!kw_gguf_arr_str(g, ki, (uint64_t)i, &s, &len) || len > UINT32_MAX)
            return kw__err(err, esz, KW_STATUS_ERR_FORMAT,
                           "tokenizer: token %d unreadable", i);
        k->text = s;
        k->len = (uint32_t)len;
        if (len == 0) n_empty++;
        if (stype == KW_GGUF_FLOAT32) {
            double v = 0;
            kw_gguf_arr_f64(g, si, (uint64_t)i, &v);
            k->score = (float)v;
        } else if (stype == KW_GGUF_INT32) {
            int64_t v = 0;
            kw_gguf_arr_i64(g, si, (uint64_t)i, &v);
            k->score = (float)v;
        }
        k->attr = KW_TA_NORMAL;
        if (ti >= 0) {
            int64_t ty = 0;
            kw_gguf_arr_i64(g, ti, (uint64_t)i, &ty);
            switch (ty) {
            case 1: k->attr = KW_TA_NORMAL; break;
            case 2: k->attr = KW_TA_UNKNOWN; break;
            case 3: k->attr = KW_TA_CONTROL; break;
            case 4: k->attr = KW_TA_USER; break;
            case 5: k->attr = KW_TA_UNUSED; break;
            case 6: k->attr = KW_TA_BYTE; break;
            default: k->attr = 0; break; /* undefined */
            }
        }
    }
    if (n_empty) { /* llama.cpp renames empty tokens "[EMPTY_<id>]" */
        t->owned = malloc(n_empty * 24);
        if (!t->owned) return KW_STATUS_ERR_NOMEM;
        char *p = t->owned;
        for (int32_t i = 0; i < t->n_vocab; i++) {
            if (t->tok[i].len) continue;
            int w = snprintf(p, 24, "[EMPTY_%d]", i);
            t->tok[i].text = p;
            t->tok[i].len = (uint32_t)w;
            p += 24;
        }
    }
    if (!itab_init(&t->vocab, (size_t)n)) return KW_STATUS_ERR_NOMEM;
    /* tables outgrow the caches: hash a batch ahead and prefetch its slots
     * so the misses overlap */
    uint64_t hb[KW_HASH_BATCH];
    for (int32_t b0 = 0; b0 < t->n_vocab; b0 += KW_HASH_BATCH) {
        int32_t nb = KW_MIN(KW_HASH_BATCH, t->n_vocab - b0);
        for (int32_t j = 0; j < nb; j++) {
            const struct kw__tok *k = &t->tok[b0 + j];
            hb[j] = text_hash(k->text, k->len);
            __builtin_prefetch(&t->vocab.slot[hb[j] & t->vocab.mask], 1);
        }
        for (int32_t j = 0; j < nb; j++) {
            const struct kw__tok *k = &t->tok[b0 + j];
            uint32_t tag = (uint32_t)(hb[j] >> 32);
            size_t i = hb[j] & t->vocab.mask;
            for (struct kw__slot sl; (sl = t->vocab.slot[i]).idx >= 0;
                 i = (i + 1) & t->vocab.mask)
                if (sl.tag == tag && tok_eq(&t->tok[sl.idx], k->text, k->len))
                    break; /* duplicate text: the later id replaces it */
            t->vocab.slot[i].idx = b0 + j;
            t->vocab.slot[i].tag = tag;
        }
    }
    return KW_STATUS_OK;
}

static enum kw_status load_merges(struct kw__tokenizer *t,
                                  const struct kw_gguf *g, char *err,
                                  size_t esz) {
    int64_t mi = kw_gguf_find_key(g, "tokenizer.ggml.merges");
    if (mi < 0)
        return kw__err(err, esz, KW_STATUS_ERR_FORMAT,
                       "tokenizer: key 'tokenizer.ggml.merges' missing");
    if (kw_gguf_kv_type(g, mi) != KW_GGUF_ARRAY ||
        kw_gguf_arr_type(g, mi) != KW_GGUF_STRING)
        return kw__err(err, esz, KW_STATUS_ERR_FORMAT,
                       "tokenizer: key 'tokenizer.ggml.merges' is not a "
                       "string array");
    uint64_t n = kw_gguf_arr_n(g, mi);
    if (n > (uint64_t)INT32_MAX / 2)
        return kw__err(err, esz, KW_STATUS_ERR_FORMAT,
                       "tokenizer: too many merges (%llu)",
                       (unsigned long long)n);
    t->n_merges = (int32_t)n;
    t->merges = calloc(n ? (size_t)n : 1, sizeof *t->merges);
    if (!t->merges || !itab_init(&t->merge_tab, (size_t)n))
        return KW_STATUS_ERR_NOMEM;
    uint64_t hb[KW_HASH_BATCH];
    for (int32_t b0 = 0; b0 < t->n_merges; b0 += KW_HASH_BATCH) {
        int32_t nb = KW_MIN(KW_HASH_BATCH, t->n_merges - b0);
        for (int32_t j = 0; j < nb; j++) {
            int32_t r = b0 + j;
            const char *s = NULL;
            size_t len = 0;
            if (!kw_gguf_arr_str(g, mi, (uint64_t)r, &s, &len) ||
                len > UINT32_MAX)
                return kw__err(err, esz, KW_STATUS_ERR_FORMAT,
                               "tokenizer: merge %d unreadable", r);
            /* split at the first space after the first byte; without one
             * the merge can never match two non-empty symbols */
            const char *sp = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
            struct kw__merge *e = &t->merges[r];
            hb[j] = 0;
            if (!sp) continue;
            e->s = s;
            e->left_len = (uint32_t)(sp - s);
            e->right_len = (uint32_t)(len - e->left_len - 1);
            hb[j] = pair_hash(s, e->left_len, sp + 1, e->right_len);
            __builtin_prefetch(&t->merge_tab.slot[hb[j] & t->merge_tab.mask],
                               1);
        }
        for (int32_t j = 0; j < nb; j++) {
            const struct kw__merge *e = &t->merges[b0 + j];
            if (!e->s) continue;
            uint32_t tag = (uint32_t)(hb[j] >> 32);
            size_t i = hb[j] & t->merge_tab.mask;
            int dup = 0;
            for (struct kw__slot sl; (sl = t->merge_tab.slot[i]).idx >= 0;
                 i = (i + 1) & t->merge_tab.mask) {
                if (sl.tag == tag &&
                    merge_eq(&t->merges[sl.idx], e->s, e->left_len,
                             e->s + e->left_len + 1, e->right_len)) {
                    dup = 1; /* the lower rank stays */
                    break;
                }
            }
            if (!dup) {
                t->merge_tab.slot[i].idx = b0 + j;
                t->merge_tab.slot[i].tag = tag;
            }
        }
    }
    return KW_STATUS_OK;
}

static int get_flag(const struct kw_gguf *g, const char *key, int *v) {
    int b;
    if (!kw_gguf_find_bool(g, key, &b)) return 0;
    *v = b != 0;
    return 1;
}

enum kw_status kw__tokenizer_new(const struct kw_gguf *g,
                                 struct kw__tokenizer **out, char *err,
                                 size_t err_size) {
    if (!out) return KW_STATUS_ERR_INVALID_ARG;
    *out = NULL;
    if (!g) return KW_STATUS_ERR_INVALID_ARG;
    const char *model, *pre = NULL;
    size_t model_n, pre_n = 0;
    if (!kw_gguf_find_str(g, "tokenizer.ggml.model", &model, &model_n))
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "tokenizer: key 'tokenizer.ggml.model' missing");
    struct kw__tokenizer *t = calloc(1, sizeof *t);
    if (!t) return KW_STATUS_ERR_NOMEM;
    enum kw_status st = KW_STATUS_OK;
    int32_t sid[SID_COUNT];
    for (int i = 0; i < SID_COUNT; i++) sid[i] = -1;

    if (str_eq(model, model_n, "llama")) {
        t->model = KW_TOK_SPM;
        t->add_bos = 1;
        t->add_space_prefix = 1;
        sid[SID_BOS] = 1;
        sid[SID_EOS] = 2;
        sid[SID_UNK] = 0;
    } else if (str_eq(model, model_n, "gpt2")) {
        t->model = KW_TOK_BPE;
        sid[SID_BOS] = 11;
        sid[SID_EOS] = 11;
        t->pre = KW_PRE_DEFAULT; /* llama.cpp's choice when .pre is absent */
        if (kw_gguf_find_str(g, "tokenizer.ggml.pre", &pre, &pre_n)) {
            size_t i, np = sizeof k_pre_names / sizeof k_pre_names[0];
            for (i = 0; i < np; i++)
                if (str_eq(pre, pre_n, k_pre_names[i].name)) break;
            if (i == np) {
                st = kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,
                             "tokenizer: tokenizer.ggml.pre '%.*s' is not "
                             "supported", (int)KW_MIN(pre_n, 64), pre);
                goto fail;
            }
            t->pre = k_pre_names[i].pre;
            t->ignore_merges = t->add_bos = k_pre_names[i].llama3_flags;
        }
    } else {
        st = kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,
                     "tokenizer: tokenizer.ggml.model '%.*s' is not supported",
                     (int)KW_MIN(model_n, 64), model);
        goto fail;
    }
    get_flag(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix);

    if ((st = load_vocab(t, g, err, err_size)) != KW_STATUS_OK) goto fail;
    if (t->model == KW_TOK_BPE &&
        (st = load_merges(t, g, err, err_size)) != KW_STATUS_OK)
        goto fail;
    build_byte_map(t);

    for (size_t i = 0; i < sizeof k_sid_keys / sizeof k_sid_keys[0]; i++) {
        int32_t *id = &sid[k_sid_keys[i].slot];
        uint64_t v;
        if (*id >= t->n_vocab) *id = -1;
        /* out-of-range values keep the default, as llama.cpp does */
        if (kw_gguf_find_u64(g, k_sid_keys[i].key, &v) &&
            v < (uint64_t)t->n_vocab)
            *id = (int32_t)v;
    }
    get_flag(g, "tokenizer.ggml.add_bos_token", &t->add_bos);
    get_flag(g, "tokenizer.ggml.add_eos_token", &t->add_eos);
    detect_specials(t, sid);
    t->bos = sid[SID_BOS];
    t->eos = sid[SID_EOS];
    t->eot = sid[SID_EOT];
    t->eom = sid[SID_EOM];
    t->unk = sid[SID_UNK];
    if (!build_special_cache(t)) {
        st = KW_STATUS_ERR_NOMEM;
        goto fail;
    }
    phi3_attrs(t, g);
    *out = t;
    return KW_STATUS_OK;
fail:
    if (st == KW_STATUS_ERR_NOMEM)
        kw__err(err, err_size, st, "tokenizer: out of memory");
    kw__tokenizer_free(t);
    return st;
}

void kw__tokenizer_free(struct kw__tokenizer *t) {
    if (!t) return;
    free(t->tok);
    free(t->vocab.slot);
    free(t->merges);
    free(t->merge_tab.slot);
    free(t->special);
    free(t->owned);
    free(t);
}

/* ---- encoding -------------------------------------------------------- */

struct frag {
    size_t off, len; /* raw text span when tok < 0 */
    int32_t tok;
    int32_t next;
};

struct frags {
    struct frag *v;
    size_t n, cap_bytes;
    int32_t head;
};

static int frag_add(struct frags *f, size_t off, size_t len, int32_t tok) {
    void *p = f->v;
    if (f->n >= (size_t)INT32_MAX ||
        !kw__grow(&p, &f->cap_bytes, f->n + 1, sizeof(struct frag)))
        return -1;
    f->v = p;
    f->v[f->n] = (struct frag){off, len, tok, -1};
    return (int)f->n++;
}

static int ascii_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
           c == '\r';
}

/* First occurrence of k's text inside text[off, off+len); *at = position. */
static int find_in(const char *text, size_t off, size_t len,
                   const struct kw__tok *k, size_t *at) {
    if (k->len > len) return 0;
    const char *p = text + off, *end = text + off + len - k->len + 1;
    while (p < end) {
        const char *q = memchr(p, (unsigned char)k->text[0], (size_t)(end - p));
        if (!q) return 0;
        if (memcmp(q, k->text, k->len) == 0) {
            *at = (size_t)(q - text);
            return 1;
        }
        p = q + 1;
    }
    return 0;
}

/* Splits the text into raw spans and special tokens: every special token in
 * turn, longest first, is cut out of every raw span left (llama.cpp's
 * tokenizer_st_partition). */
static int partition(const struct kw__tokenizer *t, const char *text,
                     size_t len, int parse_special, struct frags *f) {
    f->n = 0;
    f->head = -1;
    if (len == 0) return 1;
    if (frag_add(f, 0, len, -1) < 0) return 0;
    f->head = 0;
    for (size_t si = 0; si < t->n_special; si++) {
        int32_t id = t->special[si];
        const struct kw__tok *k = &t->tok[id];
        if (!parse_special && (k->attr & (KW_TA_CONTROL | KW_TA_UNKNOWN)))
            continue; /* user-defined tokens are split out regardless */
        int32_t prev = -1;
        for (int32_t cur = f->head; cur >= 0;) {
            struct frag fr = f->v[cur];
            size_t m;
            if (fr.tok >= 0 || !find_in(text, fr.off, fr.len, k, &m)) {
                prev = cur;
                cur = fr.next;
                continue;
            }
            int32_t first = -1, last = -1;
#define KW_LINK_(idx)                                                         \
    do {                                                                      \
        int32_t ni_ = (idx);                                                  \
        if (ni_ < 0) return 0;                                                \
        if (last >= 0) f->v[last].next = ni_;                                 \
        else first = ni_;                                                     \
        last = ni_;                                                           \
    } while (0)
            size_t off = fr.off, flen = fr.len;
            for (;;) {
                size_t ll = m - off;
                if (k->attr & KW_TA_LSTRIP)
                    while (ll > 0 && ascii_space(text[off + ll - 1])) ll--;
                if (ll) KW_LINK_(frag_add(f, off, ll, -1));
                KW_LINK_(frag_add(f, 0, 0, id));
                size_t roff = m + k->len, rlen = off + flen - roff;
                if (k->attr & KW_TA_RSTRIP)
                    while (rlen > 0 && ascii_space(text[roff])) {
                        roff++;
                        rlen--;
                    }
                if (!rlen) break;
                off = roff;
                flen = rlen;
                if (!find_in(text, off, flen, k, &m)) {
                    KW_LINK_(frag_add(f, off, flen, -1));
                    break;
                }
            }
#undef KW_LINK_
            f->v[last].next = fr.next;
            if (prev >= 0) f->v[prev].next = first;
            else f->head = first;
            prev = last;
            cur = fr.next;
        }
    }
    return 1;
}

/* SentencePiece input: optional leading space, every ' ' as U+2581. */
static enum kw_status spm_fragment(const struct kw__tokenizer *t,
                                   const char *s, size_t n, int prefix,
                                   struct kw__scratch *sc,
                                   struct kw__ids *out) {
    size_t need;
    if (!kw__mul_size(n, 3, &need) || !kw__add_size(need, 3, &need))
        return KW_STATUS_ERR_NOMEM;
    if (!kw__grow(&sc->enc, &sc->enc_cap, need, 1)) return KW_STATUS_ERR_NOMEM;
    char *e = sc->enc;
    size_t k = 0;
    for (size_t i = 0; i < n + (prefix != 0); i++) {
        char c = (prefix && i == 0) ? ' ' : s[i - (prefix != 0)];
        if (c == ' ') {
            memcpy(e + k, "\xe2\x96\x81", 3);
            k += 3;
        } else {
            e[k++] = c;
        }
    }
    /* spm_encode reuses sym/heap only, so e stays valid */
    return kw__spm_encode(t, e, k, sc, out);
}

enum kw_status kw__tokenizer_encode(const struct kw__tokenizer *t,
                                    const char *text, size_t len,
                                    int add_special, int parse_special,
                                    int32_t *tokens, size_t cap,
                                    size_t *n_tokens) {
    if (n_tokens) *n_tokens = 0;
    if (!t || !n_tokens || (!text && len) || (!tokens && cap))
        return KW_STATUS_ERR_INVALID_ARG;
    struct frags f = {0};
    struct kw__scratch sc = {0};
    struct kw__ids ids = {0};
    enum kw_status st = KW_STATUS_OK;
    if (!partition(t, text, len, parse_special, &f)) {
        st = KW_STATUS_ERR_NOMEM;
        goto done;
    }
    if (add_special && t->add_bos && t->bos >= 0) kw__ids_push(&ids, t->bos);
    int prev_special = 1; /* SPM: a space prefix at the start */
    for (int32_t i = f.head; i >= 0 && st == KW_STATUS_OK; i = f.v[i].next) {
        const struct frag *fr = &f.v[i];
        if (fr->tok >= 0) {
            kw__ids_push(&ids, fr->tok);
            prev_special = 1;
        } else if (t->model == KW_TOK_SPM) {
            st = spm_fragment(t, text + fr->off, fr->len,
                              t->add_space_prefix && prev_special, &sc, &ids);
            prev_special = 0;
        } else {
            st = kw__bpe_encode(t, text + fr->off, fr->len, &sc, &ids);
        }
    }
    if (add_special && t->add_eos && t->eos >= 0) kw__ids_push(&ids, t->eos);
    if (st == KW_STATUS_OK && ids.oom) st = KW_STATUS_ERR_NOMEM;
    if (st == KW_STATUS_OK) {
        *n_tokens = ids.n;
        if (cap && ids.n)
            memcpy(tokens, ids.v, KW_MIN(ids.n, cap) * sizeof(int32_t));
        if (ids.n > cap) st = KW_STATUS_ERR_BUFFER_TOO_SMALL;
    }
done:
    free(f.v);
    free(ids.v);
    kw__scratch_free(&sc);
    return st;
}

/* ---- decoding -------------------------------------------------------- */

struct outbuf {
    char *buf;
    size_t cap, n; /* n counts every byte, written or not */
};

static void put(struct outbuf *o, const void *p, size_t n) {
    if (o->n < o->cap) {
        size_t k = KW_MIN(n, o->cap - o->n);
        memcpy(o->buf + o->n, p, k);
    }
    o->n += n;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t kw__tokenizer_piece(const struct kw__tokenizer *t, int32_t tok,
                           char *buf, size_t cap, int render_special) {
    if (!t || tok < 0 || tok >= t->n_vocab) return 0;
    if (!buf) cap = 0;
    const struct kw__tok *k = &t->tok[tok];
    struct outbuf o = {buf, cap, 0};
    if (!render_special && (k->attr & (KW_TA_UNKNOWN | KW_TA_CONTROL)))
        return 0;
    if (k->attr & (KW_TA_UNKNOWN | KW_TA_CONTROL | KW_TA_USER)) {
        put(&o, k->text, k->len);
    } else if (k->attr & KW_TA_NORMAL) {
        if (t->model == KW_TOK_SPM) {
            for (size_t i = 0; i < k->len;) {
                if (k->len - i >= 3 && memcmp(k->text + i, "\xe2\x96\x81", 3) == 0) {
                    put(&o, " ", 1);
                    i += 3;
                } else {
                    put(&o, k->text + i, 1);
                    i++;
                }
            }
        } else {
            const uint8_t *u = (const uint8_t *)k->text;
            for (size_t i = 0; i < k->len;) {
                uint32_t c = kw__utf8_decode(u, k->len, &i);
                if (c < 324 && t->cpt_byte[c] >= 0) {
                    uint8_t b = (uint8_t)t->cpt_byte[c];
                    put(&o, &b, 1);
                    continue;
                }
                /* not from the byte map: llama.cpp's marker text */
                uint8_t e[4];
                size_t n = kw__utf8_encode(c, e);
                char hx[8];
                put(&o, "[UNK_BYTE_0x", 12);
                for (size_t j = 0; j < n; j++) {
                    snprintf(hx, sizeof hx, "%02x", e[j]);
                    put(&o, hx, 2);
                }
                put(&o, k->text, k->len);
                put(&o, "]", 1);
            }
        }
    } else if (k->attr & KW_TA_BYTE) {
        /* "<0xXX>": hex digits at [3, 5), as many as parse */
        int v = 0;
        for (size_t i = 3; i < 5 && i < k->len && hexval(k->text[i]) >= 0; i++)
            v = v * 16 + hexval(k->text[i]);
        uint8_t b = (uint8_t)v;
        if (k->len >= 3) put(&o, &b, 1);
    }
    return o.n;
}

int32_t kw__tokenizer_n_vocab(const struct kw__tokenizer *t) {
    return t ? t->n_vocab : 0;
}
int32_t kw__tokenizer_bos(const struct kw__tokenizer *t) {
    return t ? t->bos : -1;
}
int32_t kw__tokenizer_eos(const struct kw__tokenizer *t) {
    return t ? t->eos : -1;
}
int kw__tokenizer_is_eog(const struct kw__tokenizer *t, int32_t tok) {
    return t && tok >= 0 && tok < t->n_vocab && t->tok[tok].eog;
}
int32_t kw__tokenizer_find(const struct kw__tokenizer *t, const char *s,
                           size_t len) {
    if (!t || (!s && len)) return -1;
    return kw__vocab_find(t, s ? s : "", len);
}
