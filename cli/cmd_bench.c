/*
 * cmd_bench.c — `kaiwu bench -m MODEL`: llama-bench style throughput. ppP
 * decodes P fixed-seed random tokens as one prompt on an empty cache; tgN
 * decodes N tokens one at a time on an empty cache (no sampling). Each test
 * runs once to warm up, then -r times; tokens/s mean and sample stddev.
 */
#define _POSIX_C_SOURCE 200809L
#include "gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

struct stats {
    double mean, std;
};

static struct stats stats_of(const double *x, size_t n) {
    struct stats s = {0, 0};
    for (size_t i = 0; i < n; i++)
        s.mean += x[i];
    s.mean /= (double)n;
    if (n > 1) {
        double v = 0;
        for (size_t i = 0; i < n; i++)
            v += (x[i] - s.mean) * (x[i] - s.mean);
        s.std = sqrt(v / (double)(n - 1));
    }
    return s;
}

/* Decodes toks[0..n) on an empty cache, in one call (pp) or one token per
 * call (tg). Returns tokens/s, or -1 after printing an error. */
static double run_once(struct kw_session *s, const int32_t *toks, size_t n,
                       int one_by_one) {
    enum kw_status st = KW_STATUS_OK;
    kw_session_truncate(s, 0);
    double t0 = cli_now_ms();
    if (one_by_one) {
        for (size_t i = 0; i < n && st == KW_STATUS_OK; i++)
            st = kw_session_decode(s, &toks[i], 1);
    } else {
        st = kw_session_decode(s, toks, n);
    }
    double ms = cli_now_ms() - t0;
    if (st != KW_STATUS_OK) {
        cli_err("decode failed: %s", kw_status_str(st));
        return -1;
    }
    return gen_rate(n, ms);
}

static int run_test(struct kw_session *s, const int32_t *toks, size_t n,
                    int one_by_one, size_t reps, struct stats *out) {
    double *rate = malloc(reps * sizeof *rate);
    if (!rate) {
        cli_err("out of memory");
        return 1;
    }
    /* warm-up: a short run is enough to touch every weight once */
    int bad = run_once(s, toks, one_by_one ? (n < 8 ? n : 8) : n,
                       one_by_one) < 0;
    for (size_t r = 0; r < reps && !bad; r++)
        bad = (rate[r] = run_once(s, toks, n, one_by_one)) < 0;
    if (!bad)
        *out = stats_of(rate, reps);
    free(rate);
    return bad;
}

int cmd_bench(int argc, char **argv) {
    const char *model = NULL;
    int64_t threads = 0, n_prompt = 512, n_gen = 128, reps = 3, batch = 0;
    int json = 0;
    const struct cli_opt opts[] = {
        {"model", 'm', CLI_STR, &model, 0, 0, "MODEL",
         "GGUF file, or a stored name HOST/REPO:TAG (kaiwu pull)"},
        {"threads", 't', CLI_INT, &threads, 0, 4096, "N",
         "threads (0 = all cores)"},
        {"n-prompt", 'p', CLI_INT, &n_prompt, 0, 1048576, "N",
         "prompt tokens for the ppN test (0 = skip; default 512)"},
        {"n-gen", 'n', CLI_INT, &n_gen, 0, 1048576, "N",
         "generated tokens for the tgN test (0 = skip; default 128)"},
        {"repetitions", 'r', CLI_INT, &reps, 1, 1000, "N",
         "timed runs per test after one warm-up (default 3)"},
        {"batch", 'b', CLI_INT, &batch, 0, 1048576, "N",
         "prompt tokens per forward pass (0 = 512)"},
        {"json", 0, CLI_FLAG, &json, 0, 0, NULL,
         "print one JSON object: {\"ppN\": tok/s, \"tgN\": tok/s, ...}"},
    };
    const struct cli_cmd cmd = {
        "bench", "-m MODEL [options]",
        "Measure prompt processing (ppN) and generation (tgN) speed in "
        "tokens/s.",
        opts, sizeof opts / sizeof opts[0], 0};
    const char *pos[1];
    size_t n_pos;
    int r = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (r)
        return r < 0 ? 0 : r;
    if (!model)
        return cli_usage_err(&cmd, "missing -m MODEL");

    struct kw_model *m = NULL;
    struct kw_session *s = NULL;
    int32_t *toks = NULL;
    double load_ms = 0;
    struct stats pp = {0, 0}, tg = {0, 0};
    int rc = 1;
    size_t n_max = (size_t)(n_prompt > n_gen ? n_prompt : n_gen);
    if (gen_load(model, &m, &load_ms))
        goto done;
    struct gen_opts o;
    gen_opts_init(&o, 0);
    o.threads = threads;
    o.batch = batch;
    o.ctx = n_max > 0 ? (int64_t)n_max : 1;
    if (gen_session(m, &o, 0, &s))
        goto done;
    if (kw_session_n_ctx(s) < n_max) {
        cli_err("%zu tokens do not fit the context of %u tokens",
                n_max, kw_session_n_ctx(s));
        goto done;
    }
    /* fixed-seed tokens (xorshift64) so that runs are comparable */
    toks = malloc((n_max + 1) * sizeof *toks);
    if (!toks) {
        cli_err("out of memory");
        goto done;
    }
    uint64_t x = 0x9E3779B97F4A7C15ull;
    int32_t n_vocab = kw_model_n_vocab(m);
    for (size_t i = 0; i < n_max; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        toks[i] = (int32_t)(x % (uint64_t)(n_vocab > 0 ? n_vocab : 1));
    }
    if (n_prompt > 0 && run_test(s, toks, (size_t)n_prompt, 0, (size_t)reps,
                                 &pp))
        goto done;
    if (n_gen > 0 && run_test(s, toks, (size_t)n_gen, 1, (size_t)reps, &tg))
        goto done;

    struct rusage ru;
    double rss_mb = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        rss_mb = (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
    unsigned n_thr = kw_session_n_threads(s);
    char key[48];
    if (json) {
        struct jw w;
        jw_init(&w, stdout);
        jw_obj_begin(&w);
        if (n_prompt > 0) {
            snprintf(key, sizeof key, "pp%lld", (long long)n_prompt);
            jw_key(&w, key); jw_num(&w, pp.mean, 6);
            snprintf(key, sizeof key, "pp%lld_std", (long long)n_prompt);
            jw_key(&w, key); jw_num(&w, pp.std, 6);
        }
        if (n_gen > 0) {
            snprintf(key, sizeof key, "tg%lld", (long long)n_gen);
            jw_key(&w, key); jw_num(&w, tg.mean, 6);
            snprintf(key, sizeof key, "tg%lld_std", (long long)n_gen);
            jw_key(&w, key); jw_num(&w, tg.std, 6);
        }
        jw_key(&w, "repetitions"); jw_int(&w, reps);
        jw_key(&w, "threads"); jw_uint(&w, n_thr);
        jw_key(&w, "isa"); jw_str(&w, kw_cpu_isa());
        jw_key(&w, "load_ms"); jw_num(&w, load_ms, 6);
        jw_key(&w, "peak_rss_mb"); jw_num(&w, rss_mb, 6);
        jw_key(&w, "model"); jw_str(&w, kw_model_desc(m));
        jw_key(&w, "model_bytes"); jw_uint(&w, kw_model_size_bytes(m));
        jw_key(&w, "model_params"); jw_uint(&w, kw_model_n_params(m));
        jw_obj_end(&w);
        jw_end(&w);
    } else {
        printf("model: %s\n", kw_model_desc(m));
        printf("size %.2f MiB, %.2fM params, load %.1f ms, peak RSS %.1f "
               "MiB\n\n",
               (double)kw_model_size_bytes(m) / (1024.0 * 1024.0),
               (double)kw_model_n_params(m) / 1e6, load_ms, rss_mb);
        printf("| %-7s | %7s | %8s | %20s |\n", "isa", "threads", "test",
               "t/s");
        printf("| %-7s | %7s | %8s | %20s |\n", "-------", "------:",
               "-------:", "-------------------:");
        for (int k = 0; k < 2; k++) {
            int64_t n = k ? n_gen : n_prompt;
            const struct stats *st = k ? &tg : &pp;
            char val[48];
            if (n <= 0)
                continue;
            snprintf(key, sizeof key, "%s%lld", k ? "tg" : "pp",
                     (long long)n);
            snprintf(val, sizeof val, "%.2f ± %.2f", st->mean, st->std);
            /* "±" is two bytes: pad one more */
            printf("| %-7s | %7u | %8s | %21s |\n", kw_cpu_isa(), n_thr, key,
                   val);
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_err("error writing output");
        goto done;
    }
    rc = 0;
done:
    free(toks);
    kw_session_free(s);
    kw_model_free(m);
    return rc;
}
