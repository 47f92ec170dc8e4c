/*
 * onnx_test.c — `kaiwu onnx test DIR...`: runs ONNX backend-test folders
 * (model.onnx + test_data_set_N/{input_K,output_K}.pb) and compares the
 * outputs like ONNX's backend runner (same kind, dtype and shape; floats
 * within |a-b| <= atol + rtol*|b|, NaN equal to NaN; everything else
 * exact). One line (or JSON object) per test and a total. With --isolate
 * each test runs in a forked child, so a crash costs only that test.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "onnx_cli.h"

#define RTOL 1e-3
#define ATOL 1e-7
#define MAX_SETS 256
#define MAX_FILES 1024

enum { T_PASS, T_FAIL, T_UNSUPPORTED, T_ERROR };
static const char *const status_word[] = {"PASS", "FAIL", "UNSUPPORTED",
                                          "ERROR"};

/* The outcome of one test; plain data so a child can send it through a
 * pipe. */
struct tres {
    int status;
    char msg[1536];
    /* value mismatches: where and how much */
    int has_detail;
    int output, data_set;
    int64_t index;
    double abs_err, got, want;
    double ms;
};

static int set_msg(struct tres *r, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int set_msg(struct tres *r, int status, const char *fmt, ...) {
    va_list ap;
    r->status = status;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    return 1;
}

/* ---- comparison ------------------------------------------------------ */

static const char *kind_name(int k) {
    switch (k) {
    case KW_ONNX_NONE: return "an empty optional";
    case KW_ONNX_TENSOR: return "a tensor";
    case KW_ONNX_SEQUENCE: return "a sequence";
    case KW_ONNX_OPTIONAL: return "an optional";
    default: return "an unknown value";
    }
}

static void shape_str(const struct kw_onnx_value *t, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < t->rank && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? "," : "",
                              (long long)t->dims[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

/* Optionals holding a value compare as that value; an empty optional and
 * NONE are the same thing. */
static const struct kw_onnx_value *unwrap(const struct kw_onnx_value *v) {
    while (v && v->kind == KW_ONNX_OPTIONAL && v->n_items == 1 && v->items)
        v = v->items[0];
    return v;
}

static int is_empty(const struct kw_onnx_value *v) {
    return !v || v->kind == KW_ONNX_NONE ||
           (v->kind == KW_ONNX_OPTIONAL && v->n_items == 0);
}

/* Returns 0 when got matches want, else 1 with r filled. where names the
 * output ("output_0", "output_0 item 2"). */
static int compare(const struct kw_onnx_value *got,
                   const struct kw_onnx_value *want, const char *where,
                   struct tres *r) {
    got = unwrap(got);
    want = unwrap(want);
    if (is_empty(got) || is_empty(want)) {
        if (is_empty(got) && is_empty(want))
            return 0;
        return set_msg(r, T_FAIL, "kind mismatch in %s: got %s, want %s",
                       where, kind_name(got ? got->kind : KW_ONNX_NONE),
                       kind_name(want ? want->kind : KW_ONNX_NONE));
    }
    if (got->kind != want->kind)
        return set_msg(r, T_FAIL, "kind mismatch in %s: got %s, want %s",
                       where, kind_name(got->kind), kind_name(want->kind));
    if (got->kind == KW_ONNX_SEQUENCE) {
        if (got->n_items != want->n_items)
            return set_msg(r, T_FAIL,
                           "sequence length mismatch in %s: got %zu, want %zu",
                           where, got->n_items, want->n_items);
        for (size_t i = 0; i < got->n_items; i++) {
            char w2[128];
            snprintf(w2, sizeof w2, "%.80s item %zu", where, i);
            if (compare(got->items[i], want->items[i], w2, r))
                return 1;
        }
        return 0;
    }
    if (got->kind != KW_ONNX_TENSOR)
        return set_msg(r, T_FAIL, "cannot compare %s in %s",
                       kind_name(got->kind), where);
    /* numpy has no bfloat16, so ONNX's test data stores expected bfloat16
     * tensors as uint16 bit patterns: read them back as bfloat16 */
    struct kw_onnx_value as_bf16;
    if (got->dtype == KW_ONNX_BFLOAT16 && want->dtype == KW_ONNX_UINT16) {
        as_bf16 = *want;
        as_bf16.dtype = KW_ONNX_BFLOAT16;
        want = &as_bf16;
    }
    if (got->dtype != want->dtype)
        return set_msg(r, T_FAIL, "dtype mismatch in %s: got %s, want %s",
                       where, kw_onnx_dtype_name(got->dtype),
                       kw_onnx_dtype_name(want->dtype));
    int same = got->rank == want->rank;
    for (int d = 0; same && d < got->rank; d++)
        same = got->dims[d] == want->dims[d];
    if (!same) {
        char a[256], b[256];
        shape_str(got, a, sizeof a);
        shape_str(want, b, sizeof b);
        return set_msg(r, T_FAIL, "shape mismatch in %s: got %s, want %s",
                       where, a, b);
    }
    int64_t n = oc_n_scalars(got);
    size_t es = kw_onnx_dtype_size(got->dtype);
    if (got->dtype == KW_ONNX_COMPLEX64 || got->dtype == KW_ONNX_COMPLEX128)
        es /= 2;
    if (n < 0 || (uint64_t)n * es > got->nbytes ||
        (uint64_t)n * es > want->nbytes || (n && (!got->data || !want->data)))
        return set_msg(r, T_ERROR, "inconsistent tensor in %s", where);
    if (got->dtype == KW_ONNX_STRING) {
        char *const *gs = got->data, *const *ws = want->data;
        for (int64_t i = 0; i < n; i++) {
            const char *g = gs[i] ? gs[i] : "", *w = ws[i] ? ws[i] : "";
            if (strcmp(g, w))
                return set_msg(r, T_FAIL,
                               "string mismatch at index %lld (got \"%.60s\", "
                               "want \"%.60s\") in %s",
                               (long long)i, g, w, where);
        }
        return 0;
    }
    int fl = oc_dtype_is_float(got->dtype);
    int64_t worst = -1;
    double worst_err = -1;
    int wide = got->dtype == KW_ONNX_INT64 || got->dtype == KW_ONNX_UINT64;
    for (int64_t i = 0; i < n; i++) {
        double g = oc_elem_f64(got, i), w = oc_elem_f64(want, i);
        if (wide) {
            /* 64-bit integers beyond 2^53 lose bits as doubles */
            if (((const int64_t *)got->data)[i] ==
                ((const int64_t *)want->data)[i])
                continue;
        } else if (g == w || (isnan(g) && isnan(w)) ||
                   (fl && fabs(g - w) <= ATOL + RTOL * fabs(w))) {
            continue;
        }
        double e = fabs(g - w);
        if (isnan(e))
            e = INFINITY;
        if (e > worst_err) {
            worst_err = e;
            worst = i;
        }
    }
    if (worst < 0)
        return 0;
    r->has_detail = 1;
    r->index = worst;
    r->got = oc_elem_f64(got, worst);
    r->want = oc_elem_f64(want, worst);
    r->abs_err = fabs(r->got - r->want);
    return set_msg(r, T_FAIL,
                   "worst abs err %.9g at index %lld (got %.9g, want %.9g) "
                   "in %s",
                   r->abs_err, (long long)worst, r->got, r->want, where);
}

/* ---- one test -------------------------------------------------------- */

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Numbers N of DIR/test_data_set_N, sorted; returns the count or -1. */
static int list_sets(const char *dir, int *sets, int max) {
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *p = "test_data_set_";
        if (strncmp(e->d_name, p, strlen(p)))
            continue;
        char *end = NULL;
        long v = strtol(e->d_name + strlen(p), &end, 10);
        if (end == e->d_name + strlen(p) || *end || v < 0 || v > 1000000)
            continue;
        if (n < max)
            sets[n++] = (int)v;
    }
    closedir(d);
    for (int i = 1; i < n; i++) /* insertion sort: a handful of sets */
        for (int j = i; j > 0 && sets[j - 1] > sets[j]; j--) {
            int t = sets[j];
            sets[j] = sets[j - 1];
            sets[j - 1] = t;
        }
    return n;
}

static int count_files(const char *set_dir, const char *stem) {
    char path[4096 + 64]; /* set_dir is at most 4095 bytes */
    int n = 0;
    while (n < MAX_FILES) {
        snprintf(path, sizeof path, "%s/%s_%d.pb", set_dir, stem, n);
        if (!file_exists(path))
            break;
        n++;
    }
    return n;
}

static void free_vals(struct kw_onnx_value **v, int n) {
    for (int i = 0; v && i < n; i++)
        kw_onnx_value_free(v[i]);
    free(v);
}

static int io_kind(const struct kw_onnx_model *m, int i, int output) {
    struct kw_onnx_io_info io;
    memset(&io, 0, sizeof io);
    if (!(output ? kw_onnx_output_info(m, i, &io)
                : kw_onnx_input_info(m, i, &io)))
        return KW_ONNX_TENSOR;
    return io.kind;
}

/* Runs one data set; 0 when it passed, else 1 with r filled. */
static int run_set(const struct kw_onnx_model *m, const char *set_dir,
                   int set_no, int multi_set, struct tres *r) {
    int n_in = kw_onnx_n_inputs(m), n_out = kw_onnx_n_outputs(m);
    int f_in = count_files(set_dir, "input");
    int f_out = count_files(set_dir, "output");
    char path[4096 + 64], err[1024] = ""; /* set_dir: < 4096 bytes */
    if (f_in > n_in)
        return set_msg(r, T_ERROR,
                       "test_data_set_%d has %d inputs, the model takes %d",
                       set_no, f_in, n_in);
    if (f_out != n_out)
        return set_msg(r, T_FAIL,
                       "test_data_set_%d has %d outputs, the model makes %d",
                       set_no, f_out, n_out);
    struct kw_onnx_value **in = calloc((size_t)n_in + 1, sizeof *in);
    struct kw_onnx_value **out = calloc((size_t)n_out + 1, sizeof *out);
    struct kw_onnx_value *want = NULL;
    int bad = 0;
    if (!in || !out) {
        bad = set_msg(r, T_ERROR, "out of memory");
        goto done;
    }
    for (int i = 0; i < f_in && !bad; i++) {
        snprintf(path, sizeof path, "%s/input_%d.pb", set_dir, i);
        enum kw_status st = oc_read_value(path, io_kind(m, i, 0), &in[i],
                                          err, sizeof err);
        if (st != KW_STATUS_OK)
            bad = set_msg(r, T_ERROR, "%s", err);
    }
    if (bad)
        goto done;
    enum kw_status st = kw_onnx_run(m, (const struct kw_onnx_value *const *)in,
                                    out, NULL, err, sizeof err);
    if (st != KW_STATUS_OK) {
        bad = set_msg(r, st == KW_STATUS_ERR_UNSUPPORTED ? T_UNSUPPORTED
                                                         : T_ERROR,
                      "%s", err[0] ? err : kw_status_str(st));
        goto done;
    }
    for (int k = 0; k < n_out && !bad; k++) {
        snprintf(path, sizeof path, "%s/output_%d.pb", set_dir, k);
        st = oc_read_value(path, io_kind(m, k, 1), &want, err, sizeof err);
        if (st != KW_STATUS_OK) {
            bad = set_msg(r, T_ERROR, "%s", err);
            break;
        }
        char where[96];
        if (multi_set)
            snprintf(where, sizeof where, "output_%d of test_data_set_%d", k,
                     set_no);
        else
            snprintf(where, sizeof where, "output_%d", k);
        if (compare(out[k], want, where, r)) {
            r->output = k;
            r->data_set = set_no;
            bad = 1;
        }
        kw_onnx_value_free(want);
        want = NULL;
    }
done:
    free_vals(in, n_in);
    free_vals(out, n_out);
    return bad;
}

static void run_test(const char *dir, int64_t threads, struct tres *r) {
    char path[4096], err[1024] = "";
    memset(r, 0, sizeof *r);
    r->status = T_PASS;
    double t0 = cli_now_ms();
    if ((size_t)snprintf(path, sizeof path, "%s/model.onnx", dir) >=
        sizeof path) {
        set_msg(r, T_ERROR, "path too long");
        return;
    }
    if (!file_exists(path)) {
        set_msg(r, T_ERROR, "%s: no model.onnx", dir);
        return;
    }
    int sets[MAX_SETS];
    int n_sets = list_sets(dir, sets, MAX_SETS);
    if (n_sets <= 0) {
        set_msg(r, T_ERROR, "%s: no test_data_set_N folder", dir);
        return;
    }
    struct kw_onnx_options o = {(int)threads};
    struct kw_onnx_model *m = NULL;
    enum kw_status st = kw_onnx_load(path, &o, &m, err, sizeof err);
    if (st != KW_STATUS_OK) {
        set_msg(r, st == KW_STATUS_ERR_UNSUPPORTED ? T_UNSUPPORTED : T_ERROR,
                "%s", err[0] ? err : kw_status_str(st));
        r->ms = cli_now_ms() - t0;
        return;
    }
    for (int s = 0; s < n_sets; s++) {
        snprintf(path, sizeof path, "%s/test_data_set_%d", dir, sets[s]);
        if (run_set(m, path, sets[s], n_sets > 1, r))
            break;
    }
    kw_onnx_free(m);
    r->ms = cli_now_ms() - t0;
}

/* Runs the test in a forked child that sends its struct tres back. */
static void run_isolated(const char *dir, int64_t threads, int64_t timeout,
                         struct tres *r) {
    int fd[2];
    memset(r, 0, sizeof *r);
    double t0 = cli_now_ms();
    if (pipe(fd) != 0) {
        set_msg(r, T_ERROR, "pipe: %s", strerror(errno));
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        set_msg(r, T_ERROR, "fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return;
    }
    if (pid == 0) {
        close(fd[0]);
        if (timeout > 0)
            alarm((unsigned)timeout);
        struct tres cr;
        run_test(dir, threads, &cr);
        const char *p = (const char *)&cr;
        size_t left = sizeof cr;
        while (left) {
            ssize_t k = write(fd[1], p, left);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                _exit(3);
            p += k;
            left -= (size_t)k;
        }
        _exit(0);
    }
    close(fd[1]);
    size_t got = 0;
    while (got < sizeof *r) {
        ssize_t k = read(fd[0], (char *)r + got, sizeof *r - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    if (got == sizeof *r && WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
        return;
    memset(r, 0, sizeof *r);
    r->ms = cli_now_ms() - t0;
    if (WIFSIGNALED(ws) && WTERMSIG(ws) == SIGALRM && timeout > 0)
        set_msg(r, T_ERROR, "timed out after %lld s", (long long)timeout);
    else if (WIFSIGNALED(ws))
        set_msg(r, T_ERROR, "crashed (signal %d)", WTERMSIG(ws));
    else
        set_msg(r, T_ERROR, "test process exited with status %d",
                WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
}

/* "DIR/" and "a/b/DIR" -> "DIR" */
static void test_name(const char *dir, char *buf, size_t n) {
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    snprintf(buf, n, "%.*s", (int)(len - start), dir + start);
}

int cmd_onnx_test(int argc, char **argv) {
    int64_t threads = 0, timeout = 0;
    int json = 0, isolate = 0, failures_only = 0;
    const struct cli_opt opts[] = {
        {"threads", 't', CLI_INT, &threads, 0, 4096, "N",
         "threads per model (0 = all cores)"},
        {"isolate", 0, CLI_FLAG, &isolate, 0, 0, NULL,
         "run each test in its own process (a crash fails only that test)"},
        {"timeout", 0, CLI_INT, &timeout, 0, 86400, "SEC",
         "with --isolate: give up on a test after SEC seconds (0 = never)"},
        {"failures-only", 0, CLI_FLAG, &failures_only, 0, 0, NULL,
         "print only the tests that do not pass (and the total)"},
        {"json", 0, CLI_FLAG, &json, 0, 0, NULL,
         "one JSON object per test per line, then a totals object"},
    };
    const struct cli_cmd cmd = {
        "onnx test", "DIR... [-t THREADS] [--isolate] [--json]",
        "Run ONNX backend-test folders (model.onnx and "
        "test_data_set_N/input_K.pb, output_K.pb) and compare the outputs "
        "(floats: |got-want| <= 1e-7 + 1e-3*|want|, NaN equals NaN; other "
        "types exactly). Prints PASS, FAIL, UNSUPPORTED or ERROR per test "
        "and a total; exits 0 only when every test passed.",
        opts, sizeof opts / sizeof opts[0], (size_t)(argc > 0 ? argc : 1)};
    const char **pos = malloc((size_t)(argc + 1) * sizeof *pos);
    size_t n_pos;
    if (!pos) {
        cli_err("out of memory");
        return 1;
    }
    int rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc) {
        free(pos);
        return rc < 0 ? 0 : rc;
    }
    if (n_pos == 0) {
        free(pos);
        return cli_usage_err(&cmd, "missing DIR");
    }
    if (timeout && !isolate) {
        free(pos);
        return cli_usage_err(&cmd, "--timeout needs --isolate");
    }
    size_t count[4] = {0, 0, 0, 0};
    static const char *const json_status[] = {"pass", "fail", "unsupported",
                                              "error"};
    for (size_t i = 0; i < n_pos; i++) {
        struct tres r;
        char name[512];
        test_name(pos[i], name, sizeof name);
        if (isolate)
            run_isolated(pos[i], threads, timeout, &r);
        else
            run_test(pos[i], threads, &r);
        if (r.status < 0 || r.status > 3)
            r.status = T_ERROR;
        r.msg[sizeof r.msg - 1] = 0;
        count[r.status]++;
        if (failures_only && r.status == T_PASS)
            continue;
        if (json) {
            struct jw w;
            jw_init(&w, stdout);
            jw_obj_begin(&w);
            jw_key(&w, "name"); jw_str(&w, name);
            jw_key(&w, "dir"); jw_str(&w, pos[i]);
            jw_key(&w, "status"); jw_str(&w, json_status[r.status]);
            jw_key(&w, "message"); jw_str(&w, r.msg);
            jw_key(&w, "ms"); jw_num(&w, r.ms, 6);
            if (r.has_detail) {
                jw_key(&w, "output"); jw_int(&w, r.output);
                jw_key(&w, "data_set"); jw_int(&w, r.data_set);
                jw_key(&w, "index"); jw_int(&w, r.index);
                jw_key(&w, "abs_err"); jw_num(&w, r.abs_err, 9);
                jw_key(&w, "got"); jw_num(&w, r.got, 9);
                jw_key(&w, "want"); jw_num(&w, r.want, 9);
            }
            jw_obj_end(&w);
            jw_end(&w);
        } else if (r.status == T_PASS) {
            printf("PASS %s\n", name);
        } else {
            printf("%s %s: %s\n", status_word[r.status], name, r.msg);
        }
        fflush(stdout);
    }
    if (json) {
        struct jw w;
        jw_init(&w, stdout);
        jw_obj_begin(&w);
        jw_key(&w, "passed"); jw_uint(&w, count[T_PASS]);
        jw_key(&w, "failed"); jw_uint(&w, count[T_FAIL]);
        jw_key(&w, "unsupported"); jw_uint(&w, count[T_UNSUPPORTED]);
        jw_key(&w, "errors"); jw_uint(&w, count[T_ERROR]);
        jw_key(&w, "total"); jw_uint(&w, n_pos);
        jw_obj_end(&w);
        jw_end(&w);
    } else {
        printf("%zu passed, %zu failed, %zu unsupported, %zu errors of %zu\n",
               count[T_PASS], count[T_FAIL], count[T_UNSUPPORTED],
               count[T_ERROR], n_pos);
    }
    free(pos);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_err("error writing output");
        return 1;
    }
    return count[T_PASS] == n_pos ? 0 : 1;
}
