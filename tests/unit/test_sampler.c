/*
 * test_sampler.c — the public sampler: greedy, top-k/top-p/min-p cut sets
 * (observed as the set of tokens drawn at a huge temperature, where every
 * kept token is equally likely), penalties (greedy flips at hand-computed
 * thresholds), seeding, an empirical distribution check, bad input.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "kaiwu/kaiwu.h"
#include "testutil.h"

static struct kw_sampler *make(struct kw_sampler_params p, int32_t n) {
    struct kw_sampler *s = NULL;
    enum kw_status st = kw_sampler_new(&p, n, &s);
    CHECKF(st == KW_STATUS_OK && s, "kw_sampler_new: %s", kw_status_str(st));
    return s;
}

/* Every filter off; the caller turns on what it tests. */
static struct kw_sampler_params plain(float temp, uint64_t seed) {
    struct kw_sampler_params p = kw_sampler_default_params();
    p.temperature = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = seed;
    return p;
}

/* Bit mask of the ids drawn in `draws` samples (n <= 64). */
static uint64_t drawn_set(struct kw_sampler_params p, const float *l, int n,
                          int draws) {
    struct kw_sampler *s = make(p, n);
    uint64_t mask = 0;
    for (int i = 0; s && i < draws; i++) {
        int32_t t = kw_sampler_sample(s, l);
        CHECK(t >= 0 && t < n);
        if (t >= 0 && t < 64) mask |= 1ull << t;
    }
    kw_sampler_free(s);
    return mask;
}

static void test_defaults_and_errors(void) {
    struct kw_sampler_params p = kw_sampler_default_params();
    CHECK(p.size == sizeof p);
    CHECK(p.top_k == 40 && p.top_p == 0.95f && p.min_p == 0.05f);
    CHECK(p.temperature == 0.8f && p.repeat_penalty == 1.0f);
    CHECK(p.penalty_last_n == 64 && p.frequency_penalty == 0.0f &&
          p.presence_penalty == 0.0f && p.seed == 0xFFFFFFFFu);

    struct kw_sampler *s = (struct kw_sampler *)&p; /* must be reset */
    CHECK(kw_sampler_new(&p, 0, &s) == KW_STATUS_ERR_INVALID_ARG && !s);
    CHECK(kw_sampler_new(&p, -5, &s) == KW_STATUS_ERR_INVALID_ARG && !s);
    CHECK(kw_sampler_new(&p, 10, NULL) == KW_STATUS_ERR_INVALID_ARG);
    struct kw_sampler_params bad = p;
    bad.temperature = NAN;
    CHECK(kw_sampler_new(&bad, 10, &s) == KW_STATUS_ERR_INVALID_ARG && !s);
    bad = p;
    bad.repeat_penalty = 0.0f;
    CHECK(kw_sampler_new(&bad, 10, &s) == KW_STATUS_ERR_INVALID_ARG);
    bad = p;
    bad.size = 0;
    CHECK(kw_sampler_new(&bad, 10, &s) == KW_STATUS_ERR_INVALID_ARG);
    /* NULL params: defaults */
    CHECK(kw_sampler_new(NULL, 10, &s) == KW_STATUS_OK && s);
    kw_sampler_free(s);
    /* a shorter (older) struct keeps defaults for the rest */
    bad = p;
    bad.size = offsetof(struct kw_sampler_params, top_k);
    bad.temperature = 0.0f;
    bad.top_k = -123;
    CHECK(kw_sampler_new(&bad, 10, &s) == KW_STATUS_OK && s);
    kw_sampler_free(s);
    kw_sampler_free(NULL);
    CHECK(kw_sampler_sample(NULL, NULL) == -1);
    s = make(p, 4);
    CHECK(kw_sampler_sample(s, NULL) == -1);
    kw_sampler_accept(s, -1); /* ignored, not a crash */
    kw_sampler_accept(s, 4);
    kw_sampler_accept(NULL, 0);
    kw_sampler_reset(NULL);
    kw_sampler_free(s);
}

static void test_greedy(void) {
    struct kw_sampler *s = make(plain(0.0f, 1), 6);
    const float a[6] = {0.1f, 3.0f, -2.0f, 3.0f, 2.9f, 0.0f};
    CHECK(kw_sampler_sample(s, a) == 1); /* tie -> lowest id */
    const float b[6] = {NAN, 1.0f, NAN, 5.0f, -INFINITY, 4.0f};
    CHECK(kw_sampler_sample(s, b) == 3);
    const float c[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
    int32_t t = kw_sampler_sample(s, c);
    CHECK(t >= 0 && t < 6);
    const float d[6] = {1.0f, INFINITY, 2.0f, INFINITY, NAN, 0.0f};
    CHECK(kw_sampler_sample(s, d) == 1);
    kw_sampler_free(s);
    /* negative temperature is greedy too */
    s = make(plain(-1.0f, 1), 6);
    CHECK(kw_sampler_sample(s, a) == 1);
    kw_sampler_free(s);
}

static void test_topk1_is_greedy(void) {
    enum { N = 1000 };
    static float l[N];
    uint64_t r = 42;
    const float temps[] = {0.3f, 1.0f, 5.0f, 1000.0f};
    for (int ti = 0; ti < 4; ti++) {
        struct kw_sampler_params p = kw_sampler_default_params();
        p.top_k = 1;
        p.temperature = temps[ti];
        p.seed = 7;
        struct kw_sampler *s = make(p, N);
        struct kw_sampler *g = make(plain(0.0f, 7), N);
        for (int it = 0; s && g && it < 50; it++) {
            for (int i = 0; i < N; i++) l[i] = kw_test_randf(&r) * 10.0f;
            if (it % 10 == 0) l[it] = l[it + 1] = 20.0f; /* a tie */
            CHECK(kw_sampler_sample(s, l) == kw_sampler_sample(g, l));
        }
        kw_sampler_free(s);
        kw_sampler_free(g);
    }
}

static void test_seeds(void) {
    enum { N = 500, T = 200 };
    static float l[N];
    uint64_t r = 3;
    for (int i = 0; i < N; i++) l[i] = kw_test_randf(&r);
    struct kw_sampler_params p = kw_sampler_default_params();
    p.temperature = 1.5f;
    int32_t a[T], b[T], c[T];
    p.seed = 1234;
    struct kw_sampler *s1 = make(p, N), *s2 = make(p, N);
    p.seed = 1235;
    struct kw_sampler *s3 = make(p, N);
    int diff = 0;
    for (int i = 0; s1 && s2 && s3 && i < T; i++) {
        a[i] = kw_sampler_sample(s1, l);
        b[i] = kw_sampler_sample(s2, l);
        c[i] = kw_sampler_sample(s3, l);
        CHECK(a[i] == b[i]);
        diff += a[i] != c[i];
    }
    CHECKF(diff > T / 2, "seeds 1234 and 1235 differ at %d of %d draws", diff,
           T);
    /* reset forgets penalties, not the random state: s1 continues */
    kw_sampler_reset(s1);
    p.seed = 1234;
    struct kw_sampler *s4 = make(p, N);
    int same = 0;
    for (int i = 0; s4 && i < T; i++)
        same += kw_sampler_sample(s1, l) == kw_sampler_sample(s4, l);
    CHECK(same < T / 2);
    kw_sampler_free(s1);
    kw_sampler_free(s2);
    kw_sampler_free(s3);
    kw_sampler_free(s4);
    /* clock seeds differ between samplers */
    p.seed = 0xFFFFFFFFu;
    s1 = make(p, N);
    s2 = make(p, N);
    diff = 0;
    for (int i = 0; s1 && s2 && i < T; i++)
        diff += kw_sampler_sample(s1, l) != kw_sampler_sample(s2, l);
    CHECK(diff > T / 2);
    kw_sampler_free(s1);
    kw_sampler_free(s2);
}

static void test_topk2_hot(void) {
    /* best two are ids 5 and 2 */
    const float l[8] = {0.0f, 1.0f, 4.0f, -1.0f, 2.0f, 6.0f, 3.5f, NAN};
    struct kw_sampler_params p = plain(1e6f, 99);
    p.top_k = 2;
    CHECK(drawn_set(p, l, 8, 2000) == ((1ull << 5) | (1ull << 2)));
    /* top_k >= n is no cut */
    p.top_k = 100;
    CHECK(drawn_set(p, l, 8, 4000) == 0x7full);
}

/* probabilities 0.5, 0.3, 0.15, 0.05 (ids permuted) plus a dead token */
static void cut_logits(float *l) {
    l[3] = logf(0.5f);
    l[0] = logf(0.3f);
    l[4] = logf(0.15f);
    l[1] = logf(0.05f);
    l[2] = -1000.0f;
}

static void test_top_p_min_p(void) {
    float l[5];
    cut_logits(l);
    const uint64_t b0 = 1u << 3, b1 = 1u << 0, b2 = 1u << 4, b3 = 1u << 1,
                   b4 = 1u << 2;
    struct kw_sampler_params p = plain(1e6f, 5);
    p.top_p = 0.4f;
    CHECK(drawn_set(p, l, 5, 3000) == b0);
    p.top_p = 0.75f;
    CHECK(drawn_set(p, l, 5, 3000) == (b0 | b1));
    p.top_p = 0.85f;
    CHECK(drawn_set(p, l, 5, 3000) == (b0 | b1 | b2));
    p.top_p = 0.97f;
    CHECK(drawn_set(p, l, 5, 3000) == (b0 | b1 | b2 | b3));
    /* min-p keeps p_i >= min_p * p_max; unsorted path (no top-k) */
    p = plain(1e6f, 6);
    p.min_p = 0.5f; /* >= 0.25 */
    CHECK(drawn_set(p, l, 5, 3000) == (b0 | b1));
    p.min_p = 0.2f; /* >= 0.1 */
    CHECK(drawn_set(p, l, 5, 3000) == (b0 | b1 | b2));
    p.min_p = 0.05f; /* >= 0.025 */
    CHECK(drawn_set(p, l, 5, 3000) == (b0 | b1 | b2 | b3));
    p.min_p = 2.0f; /* nothing reaches it: the best stays */
    CHECK(drawn_set(p, l, 5, 300) == b0);
    /* sorted path: after top-k */
    p.top_k = 4;
    p.min_p = 0.2f;
    CHECK(drawn_set(p, l, 5, 3000) == (b0 | b1 | b2));
    /* chained: top-k 3, then top-p 0.9 of those (0.5/0.95, 0.3/0.95 ...
     * cumulative 0.526, 0.842, 1.0) keeps 3; min-p 0.55 then keeps 2 */
    p.top_k = 3;
    p.top_p = 0.9f;
    p.min_p = 0.55f;
    CHECK(drawn_set(p, l, 5, 3000) == (b0 | b1));
    p.min_p = 0.0f;
    CHECK(drawn_set(p, l, 5, 3000) == (b0 | b1 | b2));
    /* top-p on a sorted (top-k) set: renormalised 0.5, 0.3, ... */
    p.top_k = 4;
    p.top_p = 0.75f;
    CHECK(drawn_set(p, l, 5, 3000) == (b0 | b1));
    p.top_p = 0.4f;
    CHECK(drawn_set(p, l, 5, 300) == b0);
    (void)b4;
}

/* top-p over a flat vocabulary larger than the first partial sort */
static void test_top_p_wide(void) {
    enum { N = 1000 };
    static float l[N];
    for (int i = 0; i < N; i++) l[i] = 0.25f;
    struct kw_sampler_params p = plain(1.0f, 11);
    p.top_p = 0.9f; /* keeps ~900 of the equal tokens: ids 0.. (tie order) */
    struct kw_sampler *s = make(p, N);
    int hi = 0;
    for (int i = 0; s && i < 6000; i++) {
        int32_t t = kw_sampler_sample(s, l);
        hi = t > hi ? t : hi;
    }
    CHECKF(hi >= 880 && hi <= 905, "highest id drawn %d", hi);
    kw_sampler_free(s);
}

static const float *ref_l;
static int by_logit_desc(const void *a, const void *b) {
    float x = ref_l[*(const int *)a], y = ref_l[*(const int *)b];
    return x < y ? 1 : x > y ? -1 : 0;
}

/* top-p on a few thousand random logits: the ids drawn at a huge
 * temperature are exactly the top-K computed here in double precision. */
static void test_top_p_reference(void) {
    enum { N = 400, DRAWS = 4000 };
    static float l[N];
    static int order[N];
    static unsigned char seen[N];
    uint64_t r = 77;
    for (int i = 0; i < N; i++) l[i] = kw_test_randf(&r) * 3.0f;
    for (int i = 0; i < N; i++) order[i] = i;
    ref_l = l;
    qsort(order, N, sizeof order[0], by_logit_desc);
    const float ps[] = {0.3f, 0.6f, 0.85f};
    for (int pi = 0; pi < 3; pi++) {
        /* sorted path: top-k N/2 first (K stays below it for these p) */
        for (int sorted_path = 0; sorted_path < 2; sorted_path++) {
            const int pool = sorted_path ? N / 2 : N;
            double z = 0.0;
            for (int i = 0; i < pool; i++)
                z += exp((double)l[order[i]] - l[order[0]]);
            int keep = 0;
            double cum = 0.0;
            while (keep < pool && cum < ps[pi])
                cum += exp((double)l[order[keep++]] - l[order[0]]) / z;
            struct kw_sampler_params p = plain(1e6f, 100 + pi);
            p.top_p = ps[pi];
            p.top_k = sorted_path ? pool : 0;
            struct kw_sampler *s = make(p, N);
            memset(seen, 0, sizeof seen);
            for (int i = 0; s && i < DRAWS; i++) {
                int32_t t = kw_sampler_sample(s, l);
                if (t >= 0 && t < N) seen[t] = 1;
            }
            int ok = 1;
            for (int i = 0; i < N; i++) ok &= seen[order[i]] == (i < keep);
            CHECKF(ok, "top_p %.2f (%s): want the best %d", ps[pi],
                   sorted_path ? "sorted" : "quickselect", keep);
            kw_sampler_free(s);
        }
    }
}

static int32_t greedy_after(struct kw_sampler_params p, const float *l, int n,
                            const int32_t *hist, int nh) {
    struct kw_sampler *s = make(p, n);
    if (!s) return -1;
    for (int i = 0; i < nh; i++) kw_sampler_accept(s, hist[i]);
    int32_t t = kw_sampler_sample(s, l);
    kw_sampler_free(s);
    return t;
}

static void test_penalties(void) {
    struct kw_sampler_params p = plain(0.0f, 1);
    p.repeat_penalty = 1.1f;
    const int32_t h0[] = {0};
    /* positive logits divide: 2.0 / 1.1 = 1.818 */
    const float a[3] = {2.0f, 1.81f, -5.0f}, b[3] = {2.0f, 1.83f, -5.0f};
    CHECK(greedy_after(p, a, 3, NULL, 0) == 0);
    CHECK(greedy_after(p, a, 3, h0, 1) == 0);
    CHECK(greedy_after(p, b, 3, h0, 1) == 1);
    /* negative logits multiply: -1.0 * 1.1 = -1.1 */
    const float c[3] = {-1.0f, -1.09f, -5.0f}, d[3] = {-1.0f, -1.11f, -5.0f};
    CHECK(greedy_after(p, c, 3, h0, 1) == 1);
    CHECK(greedy_after(p, d, 3, h0, 1) == 0);
    /* frequency: count * f; presence: once */
    p.repeat_penalty = 1.0f;
    p.frequency_penalty = 0.2f;
    const float e[3] = {1.0f, 0.5f, 0.0f};
    const int32_t h2[] = {0, 0}, h3[] = {0, 2, 0, 0};
    CHECK(greedy_after(p, e, 3, h2, 2) == 0); /* 1.0 - 0.4 = 0.6 > 0.5 */
    CHECK(greedy_after(p, e, 3, h3, 4) == 1); /* 1.0 - 0.6 = 0.4 < 0.5 */
    p.frequency_penalty = 0.0f;
    p.presence_penalty = 0.45f;
    CHECK(greedy_after(p, e, 3, h3, 4) == 0); /* 0.55 */
    p.presence_penalty = 0.55f;
    CHECK(greedy_after(p, e, 3, h0, 1) == 1); /* 0.45 */
    /* all three: 2.0/1.25 - 2*0.1 - 0.3 = 1.1 */
    p.repeat_penalty = 1.25f;
    p.frequency_penalty = 0.1f;
    p.presence_penalty = 0.3f;
    const float f1[3] = {2.0f, 1.09f, 0.0f}, f2[3] = {2.0f, 1.11f, 0.0f};
    CHECK(greedy_after(p, f1, 3, h2, 2) == 0);
    CHECK(greedy_after(p, f2, 3, h2, 2) == 1);
    /* the window: token 0 slides out after two newer tokens */
    p = plain(0.0f, 1);
    p.presence_penalty = 10.0f;
    p.penalty_last_n = 2;
    const int32_t w1[] = {0, 1}, w2[] = {0, 1, 1}, w3[] = {0, 2, 0, 1, 1};
    CHECK(greedy_after(p, e, 3, w1, 2) == 2);
    CHECK(greedy_after(p, e, 3, w2, 3) == 0);
    CHECK(greedy_after(p, e, 3, w3, 5) == 0);
    p.penalty_last_n = 0; /* off */
    CHECK(greedy_after(p, e, 3, w1, 2) == 0);
    /* reset forgets the history */
    p.penalty_last_n = 64;
    struct kw_sampler *s = make(p, 3);
    kw_sampler_accept(s, 0);
    CHECK(kw_sampler_sample(s, e) == 1);
    kw_sampler_reset(s);
    CHECK(kw_sampler_sample(s, e) == 0);
    kw_sampler_free(s);
    /* penalties act before top-k (direct path) and before the copy path */
    const float h[4] = {5.0f, 4.0f, 3.0f, 0.0f};
    struct kw_sampler_params q = plain(1e6f, 4);
    q.presence_penalty = 100.0f;
    q.top_k = 2;
    s = make(q, 4);
    kw_sampler_accept(s, 0);
    uint64_t mask = 0;
    for (int i = 0; s && i < 500; i++) mask |= 1ull << kw_sampler_sample(s, h);
    CHECK(mask == 0x6u);
    kw_sampler_free(s);
    q.top_k = 0;
    q.min_p = 0.1f; /* >= 4 + ln 0.1 = 1.7 */
    s = make(q, 4);
    kw_sampler_accept(s, 0);
    mask = 0;
    for (int i = 0; s && i < 500; i++) mask |= 1ull << kw_sampler_sample(s, h);
    CHECK(mask == 0x6u);
    kw_sampler_free(s);
    /* the caller's logits are not modified */
    float g[3] = {1.0f, 0.5f, 0.0f};
    p.temperature = 0.7f;
    s = make(p, 3);
    kw_sampler_accept(s, 0);
    kw_sampler_sample(s, g);
    CHECK(g[0] == 1.0f && g[1] == 0.5f && g[2] == 0.0f);
    kw_sampler_free(s);
}

/* chi-square with 3 degrees of freedom; 16.3 is the 0.1% tail */
static double chi2(const int *obs, const double *p, int n, int total) {
    double x = 0.0;
    for (int i = 0; i < n; i++) {
        double e = p[i] * total;
        x += (obs[i] - e) * (obs[i] - e) / e;
    }
    return x;
}

static void test_distribution(void) {
    enum { N = 100000 };
    const double prob[4] = {0.1, 0.2, 0.3, 0.4};
    float l[4];
    for (int i = 0; i < 4; i++) l[i] = (float)log(prob[i]) + 3.0f;
    struct kw_sampler *s = make(plain(1.0f, 2024), 4);
    int obs[4] = {0};
    for (int i = 0; s && i < N; i++) {
        int32_t t = kw_sampler_sample(s, l);
        CHECK(t >= 0 && t < 4);
        if (t >= 0 && t < 4) obs[t]++;
    }
    double x = chi2(obs, prob, 4, N);
    CHECKF(x < 16.3, "T=1: chi2 %.2f (counts %d %d %d %d)", x, obs[0], obs[1],
           obs[2], obs[3]);
    kw_sampler_free(s);
    /* temperature 2: p^(1/2), renormalised */
    double q[4], z = 0.0;
    for (int i = 0; i < 4; i++) z += q[i] = sqrt(prob[i]);
    for (int i = 0; i < 4; i++) q[i] /= z;
    s = make(plain(2.0f, 77), 4);
    memset(obs, 0, sizeof obs);
    for (int i = 0; s && i < N; i++) {
        int32_t t = kw_sampler_sample(s, l);
        if (t >= 0 && t < 4) obs[t]++;
    }
    x = chi2(obs, q, 4, N);
    CHECKF(x < 16.3, "T=2: chi2 %.2f", x);
    kw_sampler_free(s);
}

static void test_nonfinite(void) {
    const float a[6] = {1.0f, NAN, INFINITY, 2.0f, -INFINITY, NAN};
    struct kw_sampler_params p = kw_sampler_default_params();
    p.seed = 3;
    CHECK(drawn_set(p, a, 6, 500) == (1u << 2)); /* +inf takes all */
    const float b[4] = {NAN, NAN, NAN, NAN};
    uint64_t m = drawn_set(p, b, 4, 50);
    CHECK(m != 0 && (m & ~0xfull) == 0);
    const float c[4] = {NAN, 0.0f, NAN, -INFINITY};
    CHECK(drawn_set(p, c, 4, 200) == (1u << 1));
    /* tiny temperature overflows logits to +-inf */
    struct kw_sampler_params q = plain(1e-38f, 8);
    const float d[4] = {1.0f, 3.0f, 3.0f, -2.0f};
    CHECK(drawn_set(q, d, 4, 500) == ((1u << 1) | (1u << 2)));
    struct kw_sampler_params q2 = plain(1e-39f, 8); /* 1/1e-39 is +inf */
    CHECK(drawn_set(q2, d, 4, 500) == 0x7u);
    q.top_p = 0.5f;
    CHECK(drawn_set(q, c, 4, 50) == (1u << 1));
    q.top_p = 1.0f;
    const float e[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    m = drawn_set(q, e, 4, 20);
    CHECK(m != 0 && (m & ~0xfull) == 0);
}

/* The default chain on a real-sized vocabulary: always inside the top 40,
 * and fast (each call is one pass plus a 40-entry heap). */
static void test_default_chain_large(void) {
    enum { N = 49152 };
    static float l[N];
    uint64_t r = 9;
    struct kw_sampler_params p = kw_sampler_default_params();
    p.seed = 5;
    struct kw_sampler *s = make(p, N);
    if (!s) return;
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    int iters = 100;
    for (int it = 0; it < iters; it++) {
        for (int i = 0; i < N; i++) l[i] = kw_test_randf(&r) * 4.0f;
        int32_t t = kw_sampler_sample(s, l);
        CHECK(t >= 0 && t < N);
        if (t < 0 || t >= N) break;
        int above = 0;
        for (int i = 0; i < N; i++) above += l[i] > l[t];
        CHECKF(above < 40, "token of rank %d", above);
        kw_sampler_accept(s, t);
    }
    double dt = (double)clock() / CLOCKS_PER_SEC - t0;
    printf("default chain, n_vocab %d: %.1f us per sample (incl. test)\n", N,
           dt * 1e6 / iters);
    kw_sampler_free(s);
}

int main(void) {
    test_defaults_and_errors();
    test_greedy();
    test_topk1_is_greedy();
    test_seeds();
    test_topk2_hot();
    test_top_p_min_p();
    test_top_p_wide();
    test_top_p_reference();
    test_penalties();
    test_distribution();
    test_nonfinite();
    test_default_chain_large();
    return kw_test_finish("test_sampler");
}
