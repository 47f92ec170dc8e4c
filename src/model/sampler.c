/*
 * sampler.c — next-token choice from logits: greedy, or llama.cpp's default
 * chain (penalties -> top-k -> top-p -> min-p -> temperature -> draw).
 * Entry points: kw_sampler_default_params/new/free/sample/accept/reset.
 * Every buffer is allocated in kw_sampler_new; sampling itself never
 * allocates. Random numbers: xoshiro256** seeded through splitmix64, so a
 * seed gives the same draws on every platform (not llama.cpp's mt19937).
 */
#include <math.h>
#include <stdatomic.h>

#include "core/internal.h"

#define KW_SEED_FROM_CLOCK 0xFFFFFFFFu
/* Longest penalty window; longer requests behave the same for any text up
 * to this many tokens and would only reserve memory. */
#define MAX_WINDOW (1 << 20)

struct cand {
    float logit;
    int32_t id;
    float w; /* softmax weight, set by top-p and the draw */
};

struct kw_sampler {
    struct kw_sampler_params p;
    int32_t n_vocab;
    struct cand *cand; /* [n_vocab] working set */
    /* penalty window: the last `win` accepted tokens in a ring, and how
     * often each id occurs there */
    int32_t *ring, win, ring_len, ring_pos;
    int32_t *count;  /* [n_vocab] */
    float *pen;      /* [n_vocab] penalised logits, valid where stamped */
    uint32_t *stamp; /* [n_vocab] marks ids already penalised this call */
    uint32_t stamp_gen;
    uint64_t rng[4];
};

/* ---- random numbers --------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro_next(uint64_t s[4]) {
    const uint64_t out = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* uniform in [0, 1) with 53 random bits */
static double rng_uniform(uint64_t s[4]) {
    return (double)(xoshiro_next(s) >> 11) * 0x1.0p-53;
}

static void rng_seed(struct kw_sampler *s, uint64_t seed) {
    if (seed == KW_SEED_FROM_CLOCK) {
        /* clock, the object's address and a counter: distinct per sampler
         * even when two are made within one microsecond */
        static atomic_uint_fast64_t counter;
        uint64_t k = (uint64_t)atomic_fetch_add(&counter, 1) + 1;
        seed = (uint64_t)kw__time_us() ^ ((uint64_t)(uintptr_t)s << 16) ^
               (k * 0xD1B54A32D192ED03ull);
    }
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&x);
}

/* ---- ordering: higher logit first, then lower id (deterministic ties) -- */

static int better(const struct cand *a, const struct cand *b) {
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

/* Min-heap by `better` (root = worst kept candidate). */
static void sift_down(struct cand *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, worst = i;
        if (l < n && better(&h[worst], &h[l])) worst = l;
        if (l + 1 < n && better(&h[worst], &h[l + 1])) worst = l + 1;
        if (worst == i) return;
        struct cand t = h[i];
        h[i] = h[worst];
        h[worst] = t;
        i = worst;
    }
}

/* Moves the k best of c[0..n) to c[0..k), sorted best first; the rest stay
 * in c[k..n) in some order. O(n log k): a heap of the k best so far. */
static void select_top(struct cand *c, size_t n, size_t k) {
    if (k == 0) return;
    if (k > n) k = n;
    for (size_t i = k / 2; i-- > 0;) sift_down(c, k, i);
    for (size_t i = k; i < n; i++) {
        if (better(&c[i], &c[0])) {
            struct cand t = c[0];
            c[0] = c[i];
            c[i] = t;
            sift_down(c, k, 0);
        }
    }
    /* heap sort: the worst goes to the back each step */
    for (size_t m = k; m > 1; m--) {
        struct cand t = c[0];
        c[0] = c[m - 1];
        c[m - 1] = t;
        sift_down(c, m - 1, 0);
    }
}

/* ---- the chain ---------------------------------------------------------- */

static int penalties_on(const struct kw_sampler *s) {
    return s->win > 0 &&
           (s->p.repeat_penalty != 1.0f || s->p.frequency_penalty != 0.0f ||
            s->p.presence_penalty != 0.0f);
}

/* Penalised logits of the ids in the window go to pen[] and those ids get
 * this call's stamp; every other id keeps its logit. */
static void apply_penalties(struct kw_sampler *s, const float *logits) {
    if (++s->stamp_gen == 0) { /* wrapped: forget all marks */
        memset(s->stamp, 0, (size_t)s->n_vocab * sizeof *s->stamp);
        s->stamp_gen = 1;
    }
    for (int32_t i = 0; i < s->ring_len; i++) {
        int32_t t = s->ring[i];
        if (s->stamp[t] == s->stamp_gen) continue;
        s->stamp[t] = s->stamp_gen;
        float l = isnan(logits[t]) ? -INFINITY : logits[t];
        /* dividing a negative logit would raise it, so those multiply */
        l = l <= 0.0f ? l * s->p.repeat_penalty : l / s->p.repeat_penalty;
        l -= (float)s->count[t] * s->p.frequency_penalty +
             s->p.presence_penalty;
        s->pen[t] = isnan(l) ? -INFINITY : l;
    }
}

/* Logit of id i as the chain sees it: NaN is -inf, penalties applied. */
static inline float logit_of(const struct kw_sampler *s, const float *logits,
                             int pen, int32_t i) {
    if (pen && s->stamp[i] == s->stamp_gen) return s->pen[i];
    return isnan(logits[i]) ? -INFINITY : logits[i];
}

/* select_top straight from the logits: only ids entering the heap are
 * written, instead of copying the whole vocabulary first. */
static void top_k_direct(const struct kw_sampler *s, const float *logits,
                         int pen, size_t k) {
    struct cand *c = s->cand;
    for (size_t i = 0; i < k; i++) {
        c[i].logit = logit_of(s, logits, pen, (int32_t)i);
        c[i].id = (int32_t)i;
    }
    for (size_t i = k / 2; i-- > 0;) sift_down(c, k, i);
    const size_t n = (size_t)s->n_vocab;
    for (size_t i = k; i < n; i++) {
        const float l = logit_of(s, logits, pen, (int32_t)i);
        /* ids grow, so on a tie the heap's (lower) id stays */
        if (l > c[0].logit) {
            c[0].logit = l;
            c[0].id = (int32_t)i;
            sift_down(c, k, 0);
        }
    }
    select_top(c, k, k);
}

static void swap_cand(struct cand *a, struct cand *b) {
    struct cand t = *a;
    *a = *b;
    *b = t;
}

/* Reorders c[lo..hi) so that c[lo..K) are its best candidates, for the
 * smallest K whose weights (.w) sum to at least `need`; returns K (hi when
 * the range holds too little). Quickselect that recurses into one side by
 * mass, O(n) expected; after `depth` rounds it falls back to a heap sort,
 * so no input makes it quadratic. Needs no order on entry and leaves none
 * within the kept set. */
static size_t select_mass(struct cand *c, size_t lo, size_t hi, double need,
                          int depth) {
    while (hi - lo > 16 && depth-- > 0) {
        /* median of three as the pivot, moved to the end */
        size_t mid = lo + (hi - lo) / 2, last = hi - 1;
        if (better(&c[mid], &c[lo])) swap_cand(&c[mid], &c[lo]);
        if (better(&c[last], &c[lo])) swap_cand(&c[last], &c[lo]);
        if (better(&c[mid], &c[last])) swap_cand(&c[mid], &c[last]);
        const struct cand pv = c[last];
        size_t i = lo;
        double upper = 0.0;
        for (size_t j = lo; j < last; j++)
            if (better(&c[j], &pv)) {
                upper += c[j].w;
                swap_cand(&c[i++], &c[j]);
            }
        swap_cand(&c[i], &c[last]); /* pivot between the sides */
        if (upper >= need && i > lo) {
            hi = i;
        } else if (upper + pv.w >= need) {
            return i + 1;
        } else {
            need -= upper + pv.w;
            lo = i + 1;
        }
    }
    /* small (or stubborn) range: sort it and walk */
    select_top(c + lo, hi - lo, hi - lo);
    double run = 0.0;
    for (size_t i = lo; i < hi; i++) {
        run += c[i].w;
        if (run >= need) return i + 1;
    }
    return hi;
}

/* Keeps the fewest best candidates whose softmax mass reaches p. Sorted
 * input is cut by a running sum, as llama.cpp does; otherwise by mass
 * quickselect, which avoids sorting a flat vocabulary and keeps the same
 * set up to rounding at the boundary. */
static size_t top_p(struct cand *c, size_t m, int *sorted, float p) {
    float mx = -INFINITY;
    for (size_t i = 0; i < m; i++) mx = c[i].logit > mx ? c[i].logit : mx;
    if (mx == INFINITY || mx == -INFINITY) {
        /* degenerate softmax: keep the best (the +inf ones, or all) */
        if (!*sorted) select_top(c, m, m);
        *sorted = 1;
        size_t k = 1;
        while (k < m && c[k].logit == c[0].logit) k++;
        return k;
    }
    double sum = 0.0;
    for (size_t i = 0; i < m; i++) sum += c[i].w = expf(c[i].logit - mx);
    if (!*sorted) {
        size_t depth = 8;
        for (size_t x = m; x > 1; x >>= 1) depth += 2;
        return select_mass(c, 0, m, (double)p * sum, (int)depth);
    }
    float cum = 0.0f; /* llama.cpp also sums in float */
    for (size_t i = 0; i < m; i++) {
        cum += (float)(c[i].w / sum);
        if (cum >= p) return i + 1;
    }
    return m; /* rounding kept the mass just below p: keep all */
}

/* Keeps candidates whose probability is at least min_p times the best's. */
static size_t min_p(struct cand *c, size_t m, int sorted, float p) {
    float mx;
    size_t best = 0;
    if (sorted) {
        mx = c[0].logit;
    } else {
        for (size_t i = 1; i < m; i++)
            if (better(&c[i], &c[best])) best = i;
        mx = c[best].logit;
    }
    const float floor_l = mx + logf(p);
    size_t k = 0;
    if (sorted) {
        k = 1; /* the best always stays */
        while (k < m && c[k].logit >= floor_l) k++;
        return k;
    }
    for (size_t i = 0; i < m; i++)
        if (c[i].logit >= floor_l) c[k++] = c[i];
    if (k == 0) { /* min_p > 1 cuts everything: keep the best */
        c[0] = c[best];
        k = 1;
    }
    return k;
}

/* Draws from softmax(c[0..m).logit); returns an index into c. */
static size_t draw(struct kw_sampler *s, struct cand *c, size_t m) {
    if (m == 1) return 0;
    size_t best = 0;
    for (size_t i = 1; i < m; i++)
        if (better(&c[i], &c[best])) best = i;
    const float mx = c[best].logit;
    if (mx == -INFINITY) return best; /* nothing has any weight */
    double sum = 0.0;
    for (size_t i = 0; i < m; i++) {
        /* +inf logits (overflow at tiny temperatures) share all the mass */
        float w = mx == INFINITY ? (c[i].logit == INFINITY ? 1.0f : 0.0f)
                                 : expf(c[i].logit - mx);
        c[i].w = w;
        sum += w;
    }
    const double target = rng_uniform(s->rng) * sum;
    double run = 0.0;
    size_t last = best;
    for (size_t i = 0; i < m; i++) {
        if (c[i].w <= 0.0f) continue;
        run += c[i].w;
        last = i;
        if (run > target) return i;
    }
    return last; /* rounding left target just above the total */
}

static int32_t argmax(const float *l, int32_t n) {
    int32_t best = 0;
    float bl = isnan(l[0]) ? -INFINITY : l[0];
    for (int32_t i = 1; i < n; i++)
        if (l[i] > bl) { /* NaN compares false: never chosen */
            bl = l[i];
            best = i;
        }
    return best;
}

/* ---- public API --------------------------------------------------------- */

struct kw_sampler_params kw_sampler_default_params(void) {
    struct kw_sampler_params p;
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.temperature = 0.8f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.repeat_penalty = 1.0f;
    p.penalty_last_n = 64;
    p.frequency_penalty = 0.0f;
    p.presence_penalty = 0.0f;
    p.seed = KW_SEED_FROM_CLOCK;
    return p;
}

void kw_sampler_free(struct kw_sampler *s) {
    if (!s) return;
    free(s->cand);
    free(s->ring);
    free(s->count);
    free(s->pen);
    free(s->stamp);
    free(s);
}

enum kw_status kw_sampler_new(const struct kw_sampler_params *params,
                              int32_t n_vocab, struct kw_sampler **out) {
    if (!out) return KW_STATUS_ERR_INVALID_ARG;
    *out = NULL;
    if (n_vocab <= 0) return KW_STATUS_ERR_INVALID_ARG;
    struct kw_sampler_params p = kw_sampler_default_params();
    if (params) {
        /* a caller built against an older, shorter struct keeps the
         * defaults of the fields it does not know */
        if (params->size < sizeof(size_t)) return KW_STATUS_ERR_INVALID_ARG;
        memcpy(&p, params, KW_MIN(params->size, sizeof p));
        p.size = sizeof p;
    }
    if (isnan(p.temperature) || isnan(p.top_p) || isnan(p.min_p) ||
        !isfinite(p.repeat_penalty) || p.repeat_penalty <= 0.0f ||
        !isfinite(p.frequency_penalty) || !isfinite(p.presence_penalty))
        return KW_STATUS_ERR_INVALID_ARG;
    if (p.penalty_last_n < 0) p.penalty_last_n = 0; /* as llama.cpp: off */
    if (p.penalty_last_n > MAX_WINDOW) p.penalty_last_n = MAX_WINDOW;

    struct kw_sampler *s = calloc(1, sizeof *s);
    if (!s) return KW_STATUS_ERR_NOMEM;
    s->p = p;
    s->n_vocab = n_vocab;
    s->win = p.penalty_last_n;
    size_t nv = (size_t)n_vocab;
    s->cand = malloc(nv * sizeof *s->cand);
    s->count = calloc(nv, sizeof *s->count);
    s->pen = malloc(nv * sizeof *s->pen);
    s->stamp = calloc(nv, sizeof *s->stamp);
    s->ring = malloc((size_t)(s->win > 0 ? s->win : 1) * sizeof *s->ring);
    if (!s->cand || !s->pen || !s->count || !s->stamp || !s->ring) {
        kw_sampler_free(s);
        return KW_STATUS_ERR_NOMEM;
    }
    rng_seed(s, p.seed);
    *out = s;
    return KW_STATUS_OK;
}

/* Returns -1 only for a NULL sampler or logits. */
int32_t kw_sampler_sample(struct kw_sampler *s, const float *logits) {
    if (!s || !logits) return -1;
    const int32_t n = s->n_vocab;
    const int pen = penalties_on(s) && s->ring_len > 0;
    if (s->p.temperature <= 0.0f && !pen) return argmax(logits, n);
    if (pen) apply_penalties(s, logits);
    if (s->p.temperature <= 0.0f) {
        /* greedy after penalties; the filters all keep the best anyway */
        int32_t best = 0;
        float bl = logit_of(s, logits, pen, 0);
        for (int32_t i = 1; i < n; i++) {
            const float l = logit_of(s, logits, pen, i);
            if (l > bl) {
                bl = l;
                best = i;
            }
        }
        return best;
    }

    struct cand *c = s->cand;
    size_t m = (size_t)n;
    int sorted = 0;
    if (s->p.top_k > 0 && (size_t)s->p.top_k < m) {
        m = (size_t)s->p.top_k;
        top_k_direct(s, logits, pen, m);
        sorted = 1;
    } else {
        for (int32_t i = 0; i < n; i++) {
            c[i].logit = logit_of(s, logits, pen, i);
            c[i].id = i;
        }
    }
    if (s->p.top_p < 1.0f && m > 1) m = top_p(c, m, &sorted, s->p.top_p);
    if (s->p.min_p > 0.0f && m > 1) m = min_p(c, m, sorted, s->p.min_p);
    if (m == 1) return c[0].id;
    const float t = s->p.temperature;
    for (size_t i = 0; i < m; i++) c[i].logit /= t;
    return c[draw(s, c, m)].id;
}

void kw_sampler_accept(struct kw_sampler *s, int32_t tok) {
    if (!s || s->win <= 0 || tok < 0 || tok >= s->n_vocab) return;
    if (s->ring_len == s->win) { /* full: the oldest leaves the window */
        int32_t old = s->ring[s->ring_pos];
        s->count[old]--;
        s->ring[s->ring_pos] = tok;
        s->ring_pos = (s->ring_pos + 1) % s->win;
    } else {
        s->ring[s->ring_len++] = tok;
    }
    s->count[tok]++;
}

void kw_sampler_reset(struct kw_sampler *s) {
    if (!s) return;
    for (int32_t i = 0; i < s->ring_len; i++) s->count[s->ring[i]] = 0;
    s->ring_len = 0;
    s->ring_pos = 0;
}
