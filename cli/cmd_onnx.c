/*
 * cmd_onnx.c — `kaiwu onnx SUBCOMMAND`: info (inputs, outputs, opsets and
 * operators of a model), run (input .pb files in, DIR/output_K.pb out) and
 * bench (load, first and steady-state run times). The backend-test runner,
 * `kaiwu onnx test`, is in onnx_test.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "json.h"
#include "onnx_cli.h"

#define ONNX_MAX_INPUTS 1024

static int load_model(const char *path, int64_t threads,
                      struct kw_onnx_model **m, double *ms) {
    struct kw_onnx_options o = {(int)threads};
    char err[1024] = "";
    double t0 = cli_now_ms();
    enum kw_status st = kw_onnx_load(path, &o, m, err, sizeof err);
    if (ms)
        *ms = cli_now_ms() - t0;
    if (st != KW_STATUS_OK) {
        cli_lib_err(path, err, st);
        return 1;
    }
    return 0;
}

static int flush_stdout(void) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_err("error writing output");
        return 1;
    }
    return 0;
}

/* ---- info ------------------------------------------------------------ */

static void json_io(struct jw *w, const struct kw_onnx_io_info *io) {
    static const char *const kinds[] = {"none", "tensor", "sequence",
                                        "optional"};
    jw_obj_begin(w);
    jw_key(w, "name"); jw_str(w, io->name ? io->name : "");
    jw_key(w, "kind");
    jw_str(w, io->kind >= 0 && io->kind < 4 ? kinds[io->kind] : "?");
    jw_key(w, "dtype"); jw_str(w, kw_onnx_dtype_name(io->dtype));
    /* shape: numbers for fixed dims, the name (or null) for dynamic ones,
     * null when the rank is unknown */
    jw_key(w, "shape");
    if (io->rank < 0 || io->kind != KW_ONNX_TENSOR) {
        jw_null(w);
    } else {
        jw_arr_begin(w);
        for (int d = 0; d < io->rank && d < KW_ONNX_MAX_RANK; d++) {
            if (io->dims[d] >= 0)
                jw_int(w, io->dims[d]);
            else if (io->dim_names[d] && io->dim_names[d][0])
                jw_str(w, io->dim_names[d]);
            else
                jw_null(w);
        }
        jw_arr_end(w);
    }
    jw_obj_end(w);
}

static int onnx_info(int argc, char **argv) {
    int json = 0;
    const struct cli_opt opts[] = {
        {"json", 0, CLI_FLAG, &json, 0, 0, NULL, "print one JSON object"},
    };
    const struct cli_cmd cmd = {
        "onnx info", "MODEL.onnx [--json]",
        "Show a model's inputs, outputs, opset imports and the operators it "
        "uses, with whether kaiwu implements each.",
        opts, sizeof opts / sizeof opts[0], 1};
    const char *pos[1];
    size_t n_pos;
    int r = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (r)
        return r < 0 ? 0 : r;
    if (n_pos != 1)
        return cli_usage_err(&cmd, "missing MODEL.onnx");
    struct kw_onnx_model *m = NULL;
    if (load_model(pos[0], 1, &m, NULL))
        return 1;
    int n_in = kw_onnx_n_inputs(m), n_out = kw_onnx_n_outputs(m);
    int n_ops = kw_onnx_n_ops(m), n_sets = kw_onnx_n_opsets(m);
    int n_unsup = 0, n_run = 0, n_nodes = kw_onnx_n_nodes(m, &n_run);
    for (int i = 0; i < n_ops; i++) {
        const char *dom, *op;
        int sup = 0;
        if (kw_onnx_op(m, i, &dom, &op, &sup) && !sup)
            n_unsup++;
    }
    struct kw_onnx_io_info io;
    char buf[512];
    if (json) {
        struct jw w;
        jw_init(&w, stdout);
        jw_obj_begin(&w);
        jw_key(&w, "file"); jw_str(&w, pos[0]);
        for (int k = 0; k < 2; k++) {
            jw_key(&w, k ? "outputs" : "inputs");
            jw_arr_begin(&w);
            for (int i = 0; i < (k ? n_out : n_in); i++) {
                memset(&io, 0, sizeof io);
                if ((k ? kw_onnx_output_info(m, i, &io)
                       : kw_onnx_input_info(m, i, &io)))
                    json_io(&w, &io);
            }
            jw_arr_end(&w);
        }
        jw_key(&w, "opsets");
        jw_arr_begin(&w);
        for (int i = 0; i < n_sets; i++) {
            const char *dom = "";
            int64_t ver = 0;
            if (!kw_onnx_opset(m, i, &dom, &ver))
                continue;
            jw_obj_begin(&w);
            jw_key(&w, "domain"); jw_str(&w, dom ? dom : "");
            jw_key(&w, "version"); jw_int(&w, ver);
            jw_obj_end(&w);
        }
        jw_arr_end(&w);
        jw_key(&w, "ops");
        jw_arr_begin(&w);
        for (int i = 0; i < n_ops; i++) {
            const char *dom = "", *op = "";
            int sup = 0;
            if (!kw_onnx_op(m, i, &dom, &op, &sup))
                continue;
            jw_obj_begin(&w);
            jw_key(&w, "domain"); jw_str(&w, dom ? dom : "");
            jw_key(&w, "op_type"); jw_str(&w, op ? op : "");
            jw_key(&w, "supported"); jw_bool(&w, sup);
            jw_obj_end(&w);
        }
        jw_arr_end(&w);
        jw_key(&w, "all_supported"); jw_bool(&w, n_unsup == 0);
        jw_key(&w, "nodes"); jw_int(&w, n_nodes);
        jw_key(&w, "nodes_to_run"); jw_int(&w, n_run);
        jw_key(&w, "blocked_values"); jw_int(&w, kw_onnx_n_blocked(m));
        jw_obj_end(&w);
        jw_end(&w);
    } else {
        printf("file: %s\n", pos[0]);
        for (int k = 0; k < 2; k++) {
            int n = k ? n_out : n_in;
            printf("%s (%d):\n", k ? "outputs" : "inputs", n);
            for (int i = 0; i < n; i++) {
                memset(&io, 0, sizeof io);
                if (!(k ? kw_onnx_output_info(m, i, &io)
                       : kw_onnx_input_info(m, i, &io)))
                    continue;
                printf("  %2d  %-24s %s\n", i, io.name ? io.name : "",
                       oc_io_type_str(&io, buf, sizeof buf));
            }
        }
        printf("opsets:");
        for (int i = 0; i < n_sets; i++) {
            const char *dom = "";
            int64_t ver = 0;
            if (kw_onnx_opset(m, i, &dom, &ver))
                printf(" %s %lld", dom && dom[0] ? dom : "ai.onnx",
                       (long long)ver);
        }
        printf("\nnodes: %d (%d to run after constant folding and fusion)\n",
               n_nodes, n_run);
        printf("channel-blocked values: %d\n", kw_onnx_n_blocked(m));
        printf("ops (%d, %d unsupported):\n", n_ops, n_unsup);
        for (int i = 0; i < n_ops; i++) {
            const char *dom = "", *op = "";
            int sup = 0;
            if (!kw_onnx_op(m, i, &dom, &op, &sup))
                continue;
            snprintf(buf, sizeof buf, "%s%s%s", dom && dom[0] ? dom : "",
                     dom && dom[0] ? "." : "", op ? op : "");
            printf("  %-32s %s\n", buf, sup ? "supported" : "UNSUPPORTED");
        }
    }
    kw_onnx_free(m);
    return flush_stdout();
}

/* ---- input binding (run, bench) --------------------------------------- */

/* Binds positional files and NAME=FILE pairs to the model's inputs:
 * vals[i] for input i (NULL when not given). Returns 0 or 1 after an
 * error message. */
static int bind_inputs(const struct kw_onnx_model *m, const char *const *files,
                       size_t n_files, const char *const *named,
                       size_t n_named, struct kw_onnx_value **vals) {
    int n_in = kw_onnx_n_inputs(m);
    char err[1024];
    if (n_files > (size_t)n_in) {
        cli_err("%zu input files given, but the model has %d input%s",
                n_files, n_in, n_in == 1 ? "" : "s");
        return 1;
    }
    for (size_t k = 0; k < n_files + n_named; k++) {
        const char *file;
        int i = -1;
        struct kw_onnx_io_info io;
        if (k < n_files) {
            i = (int)k;
            file = files[k];
        } else {
            const char *a = named[k - n_files];
            const char *eq = strchr(a, '=');
            if (!eq || eq == a || !eq[1]) {
                cli_err("--input '%s': expected NAME=FILE.pb", a);
                return 1;
            }
            file = eq + 1;
            for (int j = 0; j < n_in && i < 0; j++) {
                memset(&io, 0, sizeof io);
                if (kw_onnx_input_info(m, j, &io) && io.name &&
                    strlen(io.name) == (size_t)(eq - a) &&
                    !strncmp(io.name, a, (size_t)(eq - a)))
                    i = j;
            }
            if (i < 0) {
                cli_err("--input '%s': the model has no input named '%.*s'",
                        a, (int)(eq - a), a);
                return 1;
            }
        }
        if (vals[i]) {
            cli_err("%s: input %d is given twice", file, i);
            return 1;
        }
        memset(&io, 0, sizeof io);
        if (!kw_onnx_input_info(m, i, &io))
            io.kind = KW_ONNX_TENSOR;
        enum kw_status st = oc_read_value(file, io.kind, &vals[i], err,
                                          sizeof err);
        if (st != KW_STATUS_OK) {
            cli_lib_err(file, err, st);
            return 1;
        }
    }
    return 0;
}

static void free_values(struct kw_onnx_value **v, int n) {
    for (int i = 0; v && i < n; i++)
        kw_onnx_value_free(v[i]);
    free(v);
}

/* cli_parse_alloc, then MODEL.onnx must be the first positional argument. */
static const char **parse_model_args(const struct cli_cmd *cmd, int argc,
                                     char **argv, size_t *n_pos, int *rc) {
    const char **pos = cli_parse_alloc(cmd, argc, argv, n_pos, rc);
    if (pos && *n_pos < 1) {
        free(pos);
        *rc = cli_usage_err(cmd, "missing MODEL.onnx");
        return NULL;
    }
    return pos;
}

/* A loaded model with arrays for its input and output values. */
struct session {
    struct kw_onnx_model *m;
    struct kw_onnx_value **in, **out;
    int n_in, n_out;
};

/* Loads path (load time in *ms when not NULL) and allocates the value
 * arrays; 1 after an error (printed). session_close frees it either way. */
static int session_open(struct session *s, const char *path, int64_t threads,
                        double *ms) {
    memset(s, 0, sizeof *s);
    if (load_model(path, threads, &s->m, ms))
        return 1;
    s->n_in = kw_onnx_n_inputs(s->m);
    s->n_out = kw_onnx_n_outputs(s->m);
    s->in = calloc((size_t)s->n_in + 1, sizeof *s->in);
    s->out = calloc((size_t)s->n_out + 1, sizeof *s->out);
    if (!s->in || !s->out) {
        cli_err("out of memory");
        return 1;
    }
    return 0;
}

static void session_close(struct session *s) {
    free_values(s->in, s->n_in);
    free_values(s->out, s->n_out);
    kw_onnx_free(s->m);
}

/* ---- run --------------------------------------------------------------- */

static int onnx_run(int argc, char **argv) {
    const char *out_dir = NULL, *dummy = NULL;
    int64_t threads = 0;
    int quiet = 0;
    const struct cli_opt opts[] = {
        {"input", 0, CLI_STR, &dummy, 0, 0, "NAME=FILE.pb",
         "bind the input NAME (repeatable)"},
        {"output-dir", 'o', CLI_STR, &out_dir, 0, 0, "DIR",
         "write DIR/output_K.pb (created when missing)"},
        {"threads", 't', CLI_INT, &threads, 0, 4096, "N",
         "threads (0 = all cores)"},
        {"quiet", 'q', CLI_FLAG, &quiet, 0, 0, NULL,
         "print nothing on success"},
    };
    const struct cli_cmd cmd = {
        "onnx run",
        "MODEL.onnx [IN.pb ...] [--input NAME=IN.pb ...] --output-dir DIR",
        "Run a model once. Inputs are serialized TensorProto files (or "
        "SequenceProto/OptionalProto for sequence/optional inputs); "
        "positional ones bind to the graph's non-initializer inputs in "
        "order. Outputs go to DIR/output_K.pb in graph-output order.",
        opts, sizeof opts / sizeof opts[0], ONNX_MAX_INPUTS + 1};
    const char *named[ONNX_MAX_INPUTS];
    size_t n_named = 0;
    int r = oc_take_multi(&cmd, &argc, argv, "input", named, &n_named,
                          ONNX_MAX_INPUTS);
    if (r)
        return r;
    size_t n_pos;
    const char **pos = parse_model_args(&cmd, argc, argv, &n_pos, &r);
    if (!pos)
        return r;
    if (!out_dir) {
        free(pos);
        return cli_usage_err(&cmd, "missing --output-dir DIR");
    }

    int rc = 1;
    struct session s = {0};
    char err[1024] = "";
    if (session_open(&s, pos[0], threads, NULL))
        goto done;
    if (bind_inputs(s.m, pos + 1, n_pos - 1, named, n_named, s.in))
        goto done;
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        cli_err("%s: %s", out_dir, strerror(errno));
        goto done;
    }
    double t0 = cli_now_ms();
    size_t peak = 0;
    enum kw_status st =
        kw_onnx_run(s.m, (const struct kw_onnx_value *const *)s.in, s.out,
                    &peak, err, sizeof err);
    double ms = cli_now_ms() - t0;
    if (st != KW_STATUS_OK) {
        cli_lib_err(pos[0], err, st);
        goto done;
    }
    for (int k = 0; k < s.n_out; k++) {
        struct kw_onnx_io_info io;
        char path[4096], e2[1024] = "";
        memset(&io, 0, sizeof io);
        kw_onnx_output_info(s.m, k, &io);
        if ((size_t)snprintf(path, sizeof path, "%s/output_%d.pb", out_dir,
                             k) >= sizeof path) {
            cli_err("%s: path too long", out_dir);
            goto done;
        }
        st = oc_write_value(path, s.out[k], io.name ? io.name : "", e2,
                            sizeof e2);
        if (st != KW_STATUS_OK) {
            cli_lib_err(path, e2, st);
            goto done;
        }
        if (!quiet) {
            char buf[512];
            struct kw_onnx_io_info got = io;
            const struct kw_onnx_value *v = s.out[k];
            got.kind = v ? v->kind : KW_ONNX_NONE;
            if (v && v->kind == KW_ONNX_TENSOR) {
                got.dtype = v->dtype;
                got.rank = v->rank;
                for (int d = 0; d < v->rank && d < KW_ONNX_MAX_RANK; d++)
                    got.dims[d] = v->dims[d];
            } else if (v && v->kind == KW_ONNX_NONE) {
                got.kind = KW_ONNX_OPTIONAL;
            }
            printf("%s  %s %s\n", path, io.name ? io.name : "",
                   oc_io_type_str(&got, buf, sizeof buf));
        }
    }
    if (!quiet)
        printf("ran in %.2f ms, peak intermediate memory %.2f MiB\n", ms,
               (double)peak / (1024.0 * 1024.0));
    rc = flush_stdout();
done:
    session_close(&s);
    free(pos);
    return rc;
}

/* ---- bench ------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Random inputs for the inputs not given, from the declared shapes with
 * dynamic dims taken from NAME=VALUE pairs (default 1). */
static int random_inputs(const struct kw_onnx_model *m,
                         const char *const *dims, size_t n_dims,
                         struct kw_onnx_value **vals) {
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (size_t k = 0; k < n_dims; k++) {
        const char *eq = strchr(dims[k], '=');
        char *end = NULL;
        long long v = eq ? strtoll(eq + 1, &end, 10) : -1;
        if (!eq || eq == dims[k] || !eq[1] || *end || v < 0) {
            cli_err("--dim '%s': expected NAME=VALUE (VALUE >= 0)", dims[k]);
            return 1;
        }
    }
    for (int i = 0; i < kw_onnx_n_inputs(m); i++) {
        struct kw_onnx_io_info io;
        if (vals[i])
            continue;
        memset(&io, 0, sizeof io);
        if (!kw_onnx_input_info(m, i, &io)) {
            cli_err("input %d: no type information", i);
            return 1;
        }
        if (io.kind != KW_ONNX_TENSOR || io.rank < 0 ||
            io.rank > KW_ONNX_MAX_RANK || !kw_onnx_dtype_size(io.dtype)) {
            char buf[256];
            cli_err("input '%s' (%s): cannot make a random value; give it "
                    "as a .pb file",
                    io.name ? io.name : "", oc_io_type_str(&io, buf,
                                                           sizeof buf));
            return 1;
        }
        int64_t shape[KW_ONNX_MAX_RANK];
        for (int d = 0; d < io.rank; d++) {
            shape[d] = io.dims[d];
            if (shape[d] >= 0)
                continue;
            shape[d] = 1;
            for (size_t k = 0; k < n_dims; k++) {
                const char *eq = strchr(dims[k], '=');
                const char *nm = io.dim_names[d] ? io.dim_names[d] : "";
                if (nm[0] && strlen(nm) == (size_t)(eq - dims[k]) &&
                    !strncmp(nm, dims[k], (size_t)(eq - dims[k])))
                    shape[d] = strtoll(eq + 1, NULL, 10);
            }
        }
        vals[i] = oc_random_tensor(io.dtype, io.rank, shape, &seed);
        if (!vals[i]) {
            cli_err("input '%s': cannot allocate the random tensor",
                    io.name ? io.name : "");
            return 1;
        }
    }
    return 0;
}

static int onnx_bench(int argc, char **argv) {
    int64_t threads = 0, runs = 10;
    int json = 0;
    const char *dummy = NULL;
    const struct cli_opt opts[] = {
        {"threads", 't', CLI_INT, &threads, 0, 4096, "N",
         "threads (0 = all cores)"},
        {"runs", 'r', CLI_INT, &runs, 1, 100000, "R",
         "timed runs after the first (default 10)"},
        {"input", 0, CLI_STR, &dummy, 0, 0, "NAME=FILE.pb",
         "bind the input NAME (repeatable)"},
        {"dim", 0, CLI_STR, &dummy, 0, 0, "NAME=VALUE",
         "size of the dynamic dimension NAME for random inputs "
         "(repeatable; default 1)"},
        {"json", 0, CLI_FLAG, &json, 0, 0, NULL,
         "print one JSON object: {\"load_ms\", \"first_ms\", \"median_ms\", "
         "\"min_ms\", \"peak_rss_mb\", ...}"},
    };
    const struct cli_cmd cmd = {
        "onnx bench", "MODEL.onnx [-t THREADS] [--runs R] [IN.pb ...] "
                      "[--dim NAME=VALUE ...] [--json]",
        "Time loading a model, its first run and R more runs. Inputs not "
        "given as files are fixed-seed random tensors of the declared "
        "shapes.",
        opts, sizeof opts / sizeof opts[0], ONNX_MAX_INPUTS + 1};
    const char *named[ONNX_MAX_INPUTS], *dims[ONNX_MAX_INPUTS];
    size_t n_named = 0, n_dims = 0;
    int r = oc_take_multi(&cmd, &argc, argv, "input", named, &n_named,
                          ONNX_MAX_INPUTS);
    if (!r)
        r = oc_take_multi(&cmd, &argc, argv, "dim", dims, &n_dims,
                          ONNX_MAX_INPUTS);
    if (r)
        return r;
    size_t n_pos;
    const char **pos = parse_model_args(&cmd, argc, argv, &n_pos, &r);
    if (!pos)
        return r;

    int rc = 1;
    struct session s = {0};
    double *t = NULL, load_ms = 0, first_ms = 0;
    size_t peak = 0;
    if (session_open(&s, pos[0], threads, &load_ms))
        goto done;
    t = malloc((size_t)runs * sizeof *t);
    if (!t) {
        cli_err("out of memory");
        goto done;
    }
    if (bind_inputs(s.m, pos + 1, n_pos - 1, named, n_named, s.in) ||
        random_inputs(s.m, dims, n_dims, s.in))
        goto done;
    for (int64_t k = -1; k < runs; k++) {
        char err[1024] = "";
        double t0 = cli_now_ms();
        enum kw_status st = kw_onnx_run(
            s.m, (const struct kw_onnx_value *const *)s.in, s.out, &peak, err,
            sizeof err);
        double ms = cli_now_ms() - t0;
        if (st != KW_STATUS_OK) {
            cli_lib_err(pos[0], err, st);
            goto done;
        }
        for (int i = 0; i < s.n_out; i++) {
            kw_onnx_value_free(s.out[i]);
            s.out[i] = NULL;
        }
        if (k < 0)
            first_ms = ms;
        else
            t[k] = ms;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    double median = runs % 2 ? t[runs / 2]
                             : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
    struct rusage ru;
    double rss_mb = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        rss_mb = (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
    if (json) {
        struct jw w;
        jw_init(&w, stdout);
        jw_obj_begin(&w);
        jw_key(&w, "load_ms"); jw_num(&w, load_ms, 6);
        jw_key(&w, "first_ms"); jw_num(&w, first_ms, 6);
        jw_key(&w, "median_ms"); jw_num(&w, median, 6);
        jw_key(&w, "min_ms"); jw_num(&w, t[0], 6);
        jw_key(&w, "peak_rss_mb"); jw_num(&w, rss_mb, 6);
        jw_key(&w, "peak_intermediate_mb");
        jw_num(&w, (double)peak / (1024.0 * 1024.0), 6);
        jw_key(&w, "runs"); jw_int(&w, runs);
        jw_key(&w, "threads"); jw_int(&w, threads);
        jw_key(&w, "isa"); jw_str(&w, kw_cpu_isa());
        jw_obj_end(&w);
        jw_end(&w);
    } else {
        printf("model: %s (isa %s, threads %lld)\n", pos[0], kw_cpu_isa(),
               (long long)threads);
        printf("load %.3f ms, first run %.3f ms\n", load_ms, first_ms);
        printf("%lld runs: median %.3f ms, min %.3f ms\n", (long long)runs,
               median, t[0]);
        printf("peak RSS %.1f MiB, peak intermediate memory %.2f MiB\n",
               rss_mb, (double)peak / (1024.0 * 1024.0));
    }
    rc = flush_stdout();
done:
    free(t);
    session_close(&s);
    free(pos);
    return rc;
}

/* ---- dispatch ----------------------------------------------------------- */

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subs[] = {
    {"info", onnx_info, "show a model's inputs, outputs, opsets and ops"},
    {"run", onnx_run, "run a model on .pb inputs, write .pb outputs"},
    {"test", cmd_onnx_test, "run ONNX backend-test folders and compare"},
    {"bench", onnx_bench, "time loading and running a model"},
};

static void onnx_help(FILE *f) {
    fprintf(f, "usage: kaiwu onnx SUBCOMMAND [options]\n\n"
               "Run ONNX models (.onnx files) on the CPU.\n\nsubcommands:\n");
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        fprintf(f, "  %-8s %s\n", subs[i].name, subs[i].summary);
    fprintf(f, "\n'kaiwu onnx SUBCOMMAND --help' describes its options.\n");
}

int cmd_onnx(int argc, char **argv) {
    if (argc < 2) {
        onnx_help(stderr);
        return 2;
    }
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
        onnx_help(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (!strcmp(c, subs[i].name))
            return subs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "kaiwu: onnx: unknown %s '%s'\nTry 'kaiwu onnx --help'.\n",
            c[0] == '-' ? "option" : "subcommand", c);
    return 2;
}
