/*
 * text.c — the text operators: StringNormalizer (stop-word removal and
 * Unicode case change of a [C] or [1, C] string tensor) and TfIdfVectorizer
 * (counting pooled n-grams, with skips, over int or string rows).
 * Entry points: kw__op_string_normalizer, kw__op_tfidf_vectorizer.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/ops/signal_ops.h"
#include "text/unicode.h"

/* ---- StringNormalizer ---- */

static uint32_t uni_toupper(uint32_t cpt) {
    if (cpt < 128) return (cpt >= 'a' && cpt <= 'z') ? cpt - 32 : cpt;
    for (size_t i = 0; i < kw__uni_n_lower; i++)
        if (kw__uni_lower[i][1] == cpt && kw__uni_lower[i][0] != cpt)
            return kw__uni_lower[i][0];
    return cpt;
}

/* A malloc'd copy of s with every code point mapped (dir: 0 none, 1 lower,
 * 2 upper); NULL when out of memory. */
static char *recase(const char *s, int dir) {
    size_t n = strlen(s), pos = 0, o = 0;
    char *d = malloc(4 * n + 1);
    if (!d) return NULL;
    if (!dir) {
        memcpy(d, s, n + 1);
        return d;
    }
    while (pos < n) {
        size_t start = pos;
        uint32_t cp = kw__utf8_decode((const uint8_t *)s, n, &pos);
        if (cp == 0xFFFD && pos == start + 1 && (uint8_t)s[start] >= 0x80) {
            d[o++] = s[start]; /* keep a stray byte as it is */
            continue;
        }
        cp = dir == 1 ? kw__uni_tolower(cp) : uni_toupper(cp);
        o += kw__utf8_encode(cp, (uint8_t *)d + o);
    }
    d[o] = 0;
    return d;
}

enum kw_status kw__op_string_normalizer(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0);
    if (!kw__is_tensor(x) || x->dtype != KW_ONNX_STRING ||
        !(x->rank == 1 || (x->rank == 2 && x->dims[0] == 1)))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "input must be a string tensor [C] or [1, C]");
    const char *act = kw__attr_s(c, "case_change_action", "NONE");
    int dir = !strcmp(act, "LOWER") ? 1 : !strcmp(act, "UPPER") ? 2 : 0;
    if (!dir && strcmp(act, "NONE"))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "case_change_action '%s'", act);
    int sensitive = kw__attr_i(c, "is_case_sensitive", 0) != 0;
    const struct kw__attr *sw = kw__attr(c->node, "stopwords");
    size_t nsw = sw && sw->type == KW_ATTR_STRINGS ? sw->n : 0;
    int64_t n = kw_onnx_numel(x);
    char *const *in = x->data;
    char **stop = calloc(nsw + 1, sizeof *stop);
    char **kept = calloc((size_t)n + 1, sizeof *kept);
    enum kw_status st = KW_STATUS_OK;
    int64_t nk = 0;
    if (!stop || !kept) goto nomem;
    for (size_t i = 0; i < nsw; i++)
        if (!(stop[i] = recase(sw->strings[i], sensitive ? 0 : 1))) goto nomem;
    for (int64_t i = 0; i < n; i++) {
        const char *s = in[i] ? in[i] : "";
        int drop = 0;
        if (nsw) {
            char *key = recase(s, sensitive ? 0 : 1);
            if (!key) goto nomem;
            for (size_t k = 0; k < nsw && !drop; k++) drop = !strcmp(key, stop[k]);
            free(key);
        }
        if (drop) continue;
        if (!(kept[nk] = recase(s, dir))) goto nomem;
        nk++;
    }
    /* everything filtered out: one empty string, as the spec asks */
    if (nk == 0) {
        if (!(kept[0] = calloc(1, 1))) goto nomem;
        nk = 1;
    }
    int64_t dims[2] = {1, nk};
    struct kw_onnx_value *y = kw__out_tensor(c, 0, KW_ONNX_STRING, x->rank,
                                             x->rank == 2 ? dims : dims + 1);
    if (!y) {
        st = KW_STATUS_ERR_NOMEM;
        goto done;
    }
    char **out = y->data;
    for (int64_t i = 0; i < nk; i++) {
        free(out[i]);
        out[i] = kept[i];
        kept[i] = NULL;
    }
    goto done;
nomem:
    st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
done:
    if (stop)
        for (size_t i = 0; i < nsw; i++) free(stop[i]);
    if (kept)
        for (int64_t i = 0; i <= n; i++) free(kept[i]);
    free(stop);
    free(kept);
    return st;
}

/* ---- TfIdfVectorizer ---- */

/* The pool's n-grams of one length, sorted for binary search. */
struct ngram_set {
    int len;
    size_t count;
    size_t *start; /* pool offset of each n-gram, sorted by content */
    int64_t *id;   /* its global n-gram number (index into ngram_indexes) */
};

struct tfidf {
    int strings;
    const int64_t *pool_i;
    const char *const *pool_s;
    const struct kw_onnx_value *x;
};

/* Compares pool n-gram at p with the input items x[pos], x[pos+step], ... */
static int cmp_pool_input(const struct tfidf *t, size_t p, int len,
                          int64_t pos, int64_t step) {
    for (int k = 0; k < len; k++) {
        int64_t e = pos + k * step;
        if (t->strings) {
            const char *a = t->pool_s[p + (size_t)k];
            const char *b = ((char *const *)t->x->data)[e];
            int r = strcmp(a, b ? b : "");
            if (r) return r;
        } else {
            int64_t a = t->pool_i[p + (size_t)k], b = kw__get_i64(t->x, e);
            if (a != b) return a < b ? -1 : 1;
        }
    }
    return 0;
}

/* Orders pool n-grams a and b of length len by content, then by position
 * (so the sort is stable). */
static int cmp_pool_pool(const struct tfidf *t, int len, size_t a, size_t b) {
    for (int k = 0; k < len; k++) {
        if (t->strings) {
            int r = strcmp(t->pool_s[a + (size_t)k], t->pool_s[b + (size_t)k]);
            if (r) return r;
        } else if (t->pool_i[a + (size_t)k] != t->pool_i[b + (size_t)k]) {
            return t->pool_i[a + (size_t)k] < t->pool_i[b + (size_t)k] ? -1 : 1;
        }
    }
    return a < b ? -1 : a > b;
}

/* Bottom-up merge sort of v[0..n) (tmp: n scratch slots); qsort has no
 * context argument and this may run on several threads at once. */
static void sort_pool(const struct tfidf *t, int len, size_t *v, size_t *tmp,
                      size_t n) {
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = KW_MIN(lo + w, n), hi = KW_MIN(lo + 2 * w, n);
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = cmp_pool_pool(t, len, v[i], v[j]) <= 0 ? v[i++] : v[j++];
            while (i < mid) tmp[k++] = v[i++];
            while (j < hi) tmp[k++] = v[j++];
        }
        memcpy(v, tmp, n * sizeof *v);
    }
}

enum kw_status kw__op_tfidf_vectorizer(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0);
    if (!kw__is_tensor(x) || (x->rank != 1 && x->rank != 2))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "input must be [C] or [N, C]");
    struct tfidf t = {0};
    t.x = x;
    size_t npool_i, npool_s = 0, ncounts, nidx, nw;
    t.pool_i = kw__attr_ints(c, "pool_int64s", &npool_i);
    const struct kw__attr *ps = kw__attr(c->node, "pool_strings");
    if (ps && ps->type == KW_ATTR_STRINGS) {
        t.pool_s = ps->strings;
        npool_s = ps->n;
    }
    t.strings = x->dtype == KW_ONNX_STRING;
    if (t.strings ? !t.pool_s : (!t.pool_i || !kw__dtype_is_int(x->dtype)))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "string input needs pool_strings, int input pool_int64s");
    size_t npool = t.strings ? npool_s : npool_i;
    const int64_t *counts = kw__attr_ints(c, "ngram_counts", &ncounts);
    const int64_t *indexes = kw__attr_ints(c, "ngram_indexes", &nidx);
    const float *weights = kw__attr_floats(c, "weights", &nw);
    int64_t min_len = kw__attr_i(c, "min_gram_length", 1);
    int64_t max_len = kw__attr_i(c, "max_gram_length", 1);
    int64_t max_skip = kw__attr_i(c, "max_skip_count", 0);
    const char *mode = kw__attr_s(c, "mode", "TF");
    int m = !strcmp(mode, "TF") ? 1 : !strcmp(mode, "IDF") ? 2 : !strcmp(mode, "TFIDF") ? 3 : 0;
    if (!m) return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "mode '%s'", mode);
    if (!counts || !indexes || min_len < 1 || max_len < min_len || max_len > 64 ||
        max_skip < 0 || max_skip > (1 << 20) || ncounts > 64)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "bad ngram_counts/ngram_indexes/gram lengths/skip");
    int64_t out_size = 0;
    for (size_t i = 0; i < nidx; i++) {
        if (indexes[i] < 0 || indexes[i] > (1 << 28))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "ngram_indexes out of range");
        out_size = KW_MAX(out_size, indexes[i] + 1);
    }
    if (nw && (int64_t)nw < out_size)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "fewer weights than outputs");

    /* n-grams of length i+1 occupy pool[counts[i], counts[i+1]) */
    struct ngram_set sets[64];
    memset(sets, 0, sizeof sets);
    enum kw_status st = KW_STATUS_OK;
    int64_t gid = 0;
    for (size_t i = 0; i < ncounts; i++) {
        int64_t b = counts[i], e = i + 1 < ncounts ? counts[i + 1] : (int64_t)npool;
        if (b < 0 || e < b || e > (int64_t)npool) {
            st = kw__op_fail(c, KW_STATUS_ERR_FORMAT, "ngram_counts out of range");
            goto done;
        }
        int len = (int)i + 1;
        size_t cnt = (size_t)(e - b) / (size_t)len;
        sets[i].len = len;
        sets[i].count = cnt;
        sets[i].start = malloc((cnt + 1) * sizeof(size_t));
        sets[i].id = malloc((cnt + 1) * sizeof(int64_t));
        if (!sets[i].start || !sets[i].id) goto nomem;
        for (size_t k = 0; k < cnt; k++) sets[i].start[k] = (size_t)b + k * (size_t)len;
        size_t *tmp = malloc((cnt + 1) * sizeof *tmp);
        if (!tmp) goto nomem;
        sort_pool(&t, len, sets[i].start, tmp, cnt);
        free(tmp);
        for (size_t k = 0; k < cnt; k++)
            sets[i].id[k] = gid + (int64_t)((sets[i].start[k] - (size_t)b) / (size_t)len);
        gid += (int64_t)cnt;
        if ((size_t)gid > nidx) {
            st = kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                             "more pool n-grams than ngram_indexes");
            goto done;
        }
    }

    int64_t rows = x->rank == 2 ? x->dims[0] : 1, cols = x->dims[x->rank - 1];
    int64_t odims[2] = {rows, out_size};
    struct kw_onnx_value *y = kw__out_tensor(c, 0, KW_ONNX_FLOAT, x->rank,
                                             x->rank == 2 ? odims : odims + 1);
    if (!y) {
        st = KW_STATUS_ERR_NOMEM;
        goto done;
    }
    float *out = y->data;
    for (int64_t row = 0; row < rows; row++) {
        float *freq = out + row * out_size;
        int64_t base = row * cols;
        int64_t start_len = min_len;
        for (int64_t skip = 1; skip <= max_skip + 1; skip++) {
            for (int64_t s = 0; s < cols; s++)
                for (int64_t len = start_len; len <= max_len; len++) {
                    if (s + (len - 1) * skip >= cols) break;
                    if ((size_t)len > ncounts) break;
                    struct ngram_set *set = &sets[len - 1];
                    /* last equal entry wins, as duplicates overwrite */
                    size_t lo = 0, hi = set->count;
                    while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        if (cmp_pool_input(&t, set->start[mid], (int)len, base + s, skip) <= 0)
                            lo = mid + 1;
                        else
                            hi = mid;
                    }
                    if (lo > 0 &&
                        cmp_pool_input(&t, set->start[lo - 1], (int)len, base + s, skip) == 0)
                        freq[indexes[set->id[lo - 1]]] += 1;
                }
            /* unigrams are counted once, not once per skip distance */
            if (start_len == 1) {
                start_len = 2;
                if (start_len > max_len) break;
            }
        }
        for (int64_t i = 0; i < out_size; i++) {
            float f = freq[i];
            if (m == 2) freq[i] = f > 0 ? (nw ? weights[i] : 1) : 0;
            else if (m == 3) freq[i] = nw ? weights[i] * f : f;
        }
    }
    goto done;
nomem:
    st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
done:
    for (int i = 0; i < 64; i++) {
        free(sets[i].start);
        free(sets[i].id);
    }
    return st;
}
