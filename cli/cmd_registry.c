/*
 * cmd_registry.c — sharing models through OCI registries: `kaiwu push`,
 * `pull`, `mirror` (transfers, with progress.c on stderr and an optional
 * JSON report on stdout) and `kaiwu models`, `rm` (the local store). All of
 * it is kw_store_* / kw_registry_* from include/kaiwu/store.h; this file only
 * parses options, shows progress and prints results.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "json.h"
#include "kaiwu/kaiwu.h"
#include "progress.h"

#define MIB (1024.0 * 1024.0)
#define CHUNK_MIN (1ull << 20)
#define CHUNK_MAX (1ull << 30)

#define REF_HELP                                                              \
    "\nREF is [HOST[:PORT]/]REPO[:TAG][@sha256:HEX], as in `docker pull`: "   \
    "HOST\ndefaults to $KAIWU_REGISTRY, TAG to \"latest\".\n"

static const char env_transfer[] = REF_HELP
    "\nenvironment:\n"
    "  KAIWU_HOME               the model store (default ~/.cache/kaiwu)\n"
    "  KAIWU_REGISTRY           registry for references without a HOST\n"
    "  KAIWU_REGISTRY_USER      registry user name (with the password "
    "below)\n"
    "  KAIWU_REGISTRY_PASSWORD  registry password or token\n"
    "  REGISTRY_AUTH_FILE       Docker-style auth file used without "
    "--auth-file\n"
    "                           (else $KAIWU_HOME/auth.json); the one "
    "`docker login`,\n"
    "                           `podman login` and `skopeo login` write\n";

static const char env_store[] =
    "\nenvironment:\n"
    "  KAIWU_HOME      the model store (default ~/.cache/kaiwu)\n"
    "  KAIWU_REGISTRY  registry for names without a HOST\n";

/* What a command shows in --help and which positional arguments it takes;
 * parse_cmd checks them. */
struct cmd_spec {
    const char *name, *synopsis, *summary;
    const char *more_help; /* printed after the options by --help */
    const char *env;       /* env_transfer or env_store, printed last */
    size_t n_args;         /* positional arguments, exactly */
    size_t first_ref;      /* pos[first_ref..n_args) are model references */
    const char *arity_err; /* the usage error when n_args is not met */
};

/* ---- push, pull and mirror: one command each, run by xfer_main ---------- */

enum xfer_kind { XFER_PUSH, XFER_PULL, XFER_MIRROR };

static const struct cmd_spec xfer_specs[] = {
    [XFER_PUSH] = {
        "push", "FILE REF [options]",
        "Upload a model file (GGUF, ONNX, ...) to an OCI registry as a "
        "ModelPack artifact\n(one config blob, one weight layer, an OCI "
        "image manifest) and tag it REF.\nBlobs the registry already has are "
        "not sent again; blobs kaiwu has seen in\nanother repository of the "
        "same registry are mounted from there.",
        "\nOutput: a summary (manifest digest, bytes moved) on stdout; with "
        "-q only the\nmanifest digest. Progress goes to stderr.\n"
        "Example: kaiwu push model.gguf "
        "registry.example/models/smollm2:q4_1\n",
        env_transfer, 2, 1, "expected FILE and REF"},
    [XFER_PULL] = {
        "pull", "REF [options]",
        "Download a model from an OCI registry into the local store "
        "($KAIWU_HOME).\nThe manifest may be a kaiwu/ModelPack artifact or "
        "any OCI or Docker v2 image\nmanifest with one model layer (e.g. "
        "pushed by `oras push`). Every blob is\nchecked against its sha256 "
        "before it is stored; an interrupted pull resumes\nwhere it stopped. "
        "Afterwards REF works as -m MODEL for generate, chat, bench,\n"
        "tokenize and info.",
        "\nOutput: a summary (digest, stored file, bytes moved) on stdout; "
        "with -q only\nthe path of the stored model file. Progress goes to "
        "stderr.\n"
        "Example: kaiwu pull registry.example/models/smollm2:q4_1 && kaiwu "
        "generate \\\n           -m registry.example/models/smollm2:q4_1 "
        "-p 'Hello'\n",
        env_transfer, 1, 0, "expected one REF"},
    [XFER_MIRROR] = {
        "mirror", "SRC_REF DST_REF [options]",
        "Copy a model artifact from one registry or repository to another "
        "without\nstoring it locally: blobs stream through memory with their "
        "sha256 checked on\nthe way, and the manifest keeps its bytes, so "
        "DST_REF has the same digest as\nSRC_REF. Blobs DST already has are "
        "skipped; blobs in another repository of the\nsame registry are "
        "mounted. --plain-http and --auth-file apply to both sides\n(the "
        "auth file may hold entries for both hosts).",
        "\nOutput: a summary on stdout; with -q only the manifest digest. "
        "Progress goes\nto stderr.\n"
        "Example: kaiwu mirror a.example/models/smollm2:q4_1 "
        "b.example/models/smollm2:q4_1\n",
        env_transfer, 2, 0, "expected SRC_REF and DST_REF"},
};

struct xfer_args {
    int plain_http, json, quiet;
    const char *auth_file, *ca_file, *chunk, *rate;
    int64_t connections; /* 0: the library's default */
};

#define XFER_MAX_OPTS 8

/* Fills opts (XFER_MAX_OPTS rows) for kind; returns how many. Only pull
 * downloads, so only pull has --connections and --limit-rate. */
static size_t xfer_opts(enum xfer_kind kind, struct xfer_args *a,
                        struct cli_opt *opts) {
    const int pull = kind == XFER_PULL;
    size_t n = 0;
    opts[n++] = (struct cli_opt){
        "plain-http", 0, CLI_FLAG, &a->plain_http, 0, 0, NULL,
        "talk http:// instead of https:// (loopback or trusted networks)"};
    opts[n++] = (struct cli_opt){
        "auth-file", 0, CLI_STR, &a->auth_file, 0, 0, "FILE",
        "Docker-style credentials {\"auths\":{HOST:{\"auth\":...}}}"};
    opts[n++] = (struct cli_opt){
        "ca-file", 0, CLI_STR, &a->ca_file, 0, 0, "FILE",
        "extra CA certificates (PEM) to trust for https"};
    if (pull)
        opts[n++] = (struct cli_opt){
            "connections", 0, CLI_INT, &a->connections, 1, 16, "N",
            "parallel ranged downloads per blob, 1..16 (default 4)"};
    opts[n++] = (struct cli_opt){
        "chunk-size", 0, CLI_STR, &a->chunk, 0, 0, "BYTES",
        pull ? "bytes per ranged request, 1M..1G (K/M/G suffixes; default "
               "16M)"
             : "upload chunk size, 1M..1G (K/M/G suffixes; default 16M)"};
    if (pull)
        opts[n++] = (struct cli_opt){
            "limit-rate", 0, CLI_STR, &a->rate, 0, 0, "BYTES",
            "at most BYTES/s per connection (K/M/G suffixes; 0 = no limit)"};
    opts[n++] = (struct cli_opt){
        "json", 0, CLI_FLAG, &a->json, 0, 0, NULL,
        "print one JSON report on stdout at the end"};
    opts[n++] = (struct cli_opt){
        "quiet", 'q', CLI_FLAG, &a->quiet, 0, 0, NULL,
        "no progress; print only the result (see below)"};
    return n;
}

/* "16M", "1.5G", "512KiB", "1048576": binary multiples. 0 on success. */
static int parse_bytes(const char *s, uint64_t *out) {
    if (!s || *s < '0' || *s > '9')
        return -1;
    uint64_t whole = 0, frac_num = 0, frac_den = 1;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (whole > (UINT64_MAX - d) / 10)
            return -1;
        whole = whole * 10 + d;
    }
    if (*s == '.') {
        if (*++s < '0' || *s > '9')
            return -1;
        for (; *s >= '0' && *s <= '9'; s++)
            if (frac_den < 1000000u) { /* six digits are plenty */
                frac_num = frac_num * 10 + (unsigned)(*s - '0');
                frac_den *= 10;
            }
    }
    int shift = 0;
    switch (*s) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    default: break;
    }
    if (shift) {
        s++;
        if (*s == 'i')
            s++;
    }
    if (*s == 'b' || *s == 'B')
        s++;
    if (*s || whole > (UINT64_MAX >> shift) >> 1)
        return -1;
    /* the fraction of the unit: frac_num < 1e6, so << 40 fits 64 bits */
    *out = (whole << shift) + ((frac_num << shift) / frac_den);
    return 0;
}

/* Checks the options and fills o; 2 after a usage error, 1 after a runtime
 * error (a named file that cannot be read), else 0. */
static int xfer_options(const struct cli_cmd *cmd, const struct xfer_args *a,
                        struct kw_registry_options *o) {
    kw_registry_options_init(o);
    o->plain_http = a->plain_http;
    if (a->connections)
        o->connections = (int)a->connections;
    if (a->chunk) {
        uint64_t v;
        if (parse_bytes(a->chunk, &v))
            return cli_usage_err(cmd, "--chunk-size: '%s' is not a size "
                                 "(e.g. 16M, 1G, 4194304)", a->chunk);
        if (v < CHUNK_MIN || v > CHUNK_MAX)
            return cli_usage_err(cmd, "--chunk-size: %s is out of range "
                                 "[1 MiB, 1 GiB]", a->chunk);
        o->chunk_size = v;
    }
    if (a->rate) {
        uint64_t v;
        if (parse_bytes(a->rate, &v))
            return cli_usage_err(cmd, "--limit-rate: '%s' is not a rate in "
                                 "bytes/s (e.g. 50M, 800K; 0 = no limit)",
                                 a->rate);
        o->max_rate = v;
    }
    const char *files[2][2] = {{"--auth-file", a->auth_file},
                               {"--ca-file", a->ca_file}};
    for (int i = 0; i < 2; i++)
        if (files[i][1] && access(files[i][1], R_OK) != 0) {
            cli_err("%s %s: %s", files[i][0], files[i][1], strerror(errno));
            return 1;
        }
    o->auth_file = a->auth_file;
    o->ca_file = a->ca_file;
    return 0;
}

/* "kaiwu: VERB[ [SRC to ]REF]: message", the message being err or, when
 * that is empty, the status text. */
static void say_err(const char *verb, const char *src, const char *ref,
                    const char *err, enum kw_status st) {
    const char *msg = err && err[0] ? err : kw_status_str(st);
    if (src)
        cli_err("%s %s to %s: %s", verb, src, ref, msg);
    else if (ref)
        cli_err("%s %s: %s", verb, ref, msg);
    else
        cli_err("%s: %s", verb, msg);
}

/* 0 when ref is a valid reference, else the exit code after a message. */
static int check_ref(const struct cli_cmd *cmd, const char *ref) {
    if (kw_ref_valid(ref))
        return 0;
    /* A build without the store (KW_REGISTRY=OFF) accepts no reference:
     * say that rather than blame the user's spelling. */
    struct kw_store *s = NULL;
    char err[512] = "";
    enum kw_status st = kw_store_open(NULL, &s, err, sizeof err);
    kw_store_free(s);
    if (st == KW_STATUS_ERR_UNSUPPORTED) {
        say_err(cmd->name, NULL, NULL, err, st);
        return 1;
    }
    return cli_usage_err(cmd, "'%s' is not a model reference "
                         "([HOST[:PORT]/]REPO[:TAG][@sha256:HEX]%s)", ref,
                         getenv("KAIWU_REGISTRY") ? ""
                         : "; without KAIWU_REGISTRY it needs a HOST");
}

/* Parses argv with opts into *cmd (kept for later usage errors) and pos;
 * after --help prints sp's extra help. Then checks the positional
 * arguments. -1 to go on, else the exit code. */
static int parse_cmd(const struct cmd_spec *sp, const struct cli_opt *opts,
                     size_t n_opts, int argc, char **argv,
                     struct cli_cmd *cmd, const char **pos) {
    *cmd = (struct cli_cmd){sp->name, sp->synopsis, sp->summary,
                            opts,     n_opts,       sp->n_args};
    size_t n_pos;
    int r = cli_parse(cmd, argc, argv, pos, &n_pos);
    if (r < 0) {
        fputs(sp->more_help, stdout);
        fputs(sp->env, stdout);
        return 0;
    }
    if (r)
        return r;
    if (n_pos != sp->n_args)
        return cli_usage_err(cmd, "%s", sp->arity_err);
    for (size_t i = sp->first_ref; i < n_pos; i++)
        if ((r = check_ref(cmd, pos[i])))
            return r;
    return -1;
}

/* push's FILE must be a regular file: 0, else 1 after a message. */
static int check_file(const char *ref, const char *path) {
    struct stat sb;
    const char *why = stat(path, &sb) != 0  ? strerror(errno)
                      : !S_ISREG(sb.st_mode) ? "not a regular file"
                                             : NULL;
    if (!why)
        return 0;
    cli_err("push %s: %s: %s", ref, path, why);
    return 1;
}

static const char *action_name(enum kw_blob_action a) {
    switch (a) {
    case KW_BLOB_TRANSFERRED: return "transferred";
    case KW_BLOB_PRESENT: return "present";
    case KW_BLOB_MOUNTED: return "mounted";
    }
    return "unknown";
}

static int n_listed(const struct kw_transfer_report *r) {
    int n = r->n_blobs;
    int cap = (int)(sizeof r->blobs / sizeof r->blobs[0]);
    return n < 0 ? 0 : n > cap ? cap : n;
}

/* One "key": value pair of a JSON object. */
static void kv_str(struct jw *w, const char *key, const char *v) {
    jw_key(w, key);
    jw_str(w, v);
}
static void kv_uint(struct jw *w, const char *key, uint64_t v) {
    jw_key(w, key);
    jw_uint(w, v);
}

/* src: mirror's source (else NULL); the stored path only for pull. */
static void report_json(const char *src, const char *ref,
                        const struct kw_transfer_report *r, int with_path) {
    struct jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    kv_str(&w, "ref", ref);
    if (src)
        kv_str(&w, "source", src);
    kv_str(&w, "digest", r->digest);
    if (with_path)
        kv_str(&w, "path", r->path);
    kv_uint(&w, "bytes_total", r->bytes_total);
    kv_uint(&w, "bytes_moved", r->bytes_moved);
    kv_uint(&w, "bytes_resumed", r->bytes_resumed);
    jw_key(&w, "seconds"); jw_num(&w, r->seconds, 6);
    jw_key(&w, "blobs");
    jw_arr_begin(&w);
    for (int i = 0; i < n_listed(r); i++) {
        jw_obj_begin(&w);
        kv_str(&w, "digest", r->blobs[i].digest);
        kv_uint(&w, "size", r->blobs[i].size);
        kv_str(&w, "action", action_name(r->blobs[i].action));
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_end(&w);
}

/* The human summary: "DONE [SRC to ]REF", then "2 blobs: 1 transferred,
 * 1 present" and the bytes. */
static void report_text(const char *done, const char *src, const char *ref,
                        const struct kw_transfer_report *r, int with_path) {
    int counts[3] = {0, 0, 0};
    for (int i = 0; i < n_listed(r); i++)
        if ((unsigned)r->blobs[i].action < 3)
            counts[r->blobs[i].action]++;
    char total[32], moved[32], resumed[32];
    fmt_bytes(total, sizeof total, r->bytes_total);
    fmt_bytes(moved, sizeof moved, r->bytes_moved);
    fmt_bytes(resumed, sizeof resumed, r->bytes_resumed);
    if (src)
        printf("%s %s to %s\n", done, src, ref);
    else
        printf("%s %s\n", done, ref);
    printf("  digest  %s\n", r->digest);
    if (with_path)
        printf("  file    %s\n", r->path);
    printf("  blobs   %d:", r->n_blobs);
    const char *sep = " ";
    for (int a = 0; a < 3; a++)
        if (counts[a]) {
            printf("%s%d %s", sep, counts[a],
                   action_name((enum kw_blob_action)a));
            sep = ", ";
        }
    printf("\n  bytes   %s moved of %s in %.1f s", moved, total, r->seconds);
    if (r->seconds > 0 && r->bytes_moved)
        printf(" (%.1f MiB/s)", (double)r->bytes_moved / MIB / r->seconds);
    if (r->bytes_resumed)
        printf(", %s resumed", resumed);
    putchar('\n');
}

static int finish_output(void) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_err("error writing output");
        return 1;
    }
    return 0;
}

/* 0 with *s open, else 1 after a message. An optional store that cannot
 * be opened is no error: *s is then NULL. */
static int open_store(const char *verb, struct kw_store **s, int optional) {
    char err[1024] = "";
    enum kw_status st = kw_store_open(NULL, s, err, sizeof err);
    if (st == KW_STATUS_OK)
        return 0;
    *s = NULL;
    if (optional)
        return 0;
    cli_err("%s: cannot open the model store: %s", verb,
            err[0] ? err : kw_status_str(st));
    return 1;
}

/* Runs one transfer (push FILE REF, pull REF, mirror SRC DST) with progress
 * and reports it. */
static int run_xfer(enum xfer_kind kind, const struct xfer_args *a,
                    struct kw_registry_options *o, struct kw_store *s,
                    const char *const *pos) {
    static const char *const done_words[] = {"pushed", "pulled", "mirrored"};
    const char *verb = xfer_specs[kind].name;
    /* what messages name: REF, or for a mirror "SRC to DST" */
    const char *src = kind == XFER_MIRROR ? pos[0] : NULL;
    const char *ref = kind == XFER_PULL ? pos[0] : pos[1];
    struct kw_transfer_report rep;
    char err[1024] = "";
    memset(&rep, 0, sizeof rep);

    struct progress *pg = a->quiet ? NULL : progress_new(verb, -1);
    o->progress = pg ? progress_cb : NULL;
    o->progress_user = pg;
    enum kw_status st;
    switch (kind) {
    case XFER_PUSH:
        st = kw_registry_push(s, pos[0], pos[1], o, &rep, err, sizeof err);
        break;
    case XFER_PULL:
        st = kw_registry_pull(s, pos[0], o, &rep, err, sizeof err);
        break;
    default:
        st = kw_registry_mirror(s, pos[0], pos[1], o, &rep, err, sizeof err);
        break;
    }
    progress_end(pg);
    if (st != KW_STATUS_OK) {
        /* the usual cause of a TLS failure on a loopback or lab registry */
        if (st == KW_STATUS_ERR_NETWORK && !o->plain_http &&
            (strstr(err, "SSL") || strstr(err, "TLS")) &&
            strlen(err) + 64 < sizeof err)
            strcat(err, " (for a registry without TLS, add --plain-http)");
        say_err(verb, src, ref, err, st);
        return 1;
    }
    if (a->json)
        report_json(src, ref, &rep, kind == XFER_PULL);
    else if (a->quiet)
        printf("%s\n", kind == XFER_PULL ? rep.path : rep.digest);
    else
        report_text(done_words[kind], src, ref, &rep, kind == XFER_PULL);
    return finish_output();
}

/* The whole of `kaiwu push`, `pull` or `mirror`. */
static int xfer_main(enum xfer_kind kind, int argc, char **argv) {
    struct xfer_args a;
    struct cli_opt opts[XFER_MAX_OPTS];
    struct cli_cmd cmd;
    const char *pos[2] = {NULL, NULL};
    memset(&a, 0, sizeof a);
    size_t n_opts = xfer_opts(kind, &a, opts);
    int r = parse_cmd(&xfer_specs[kind], opts, n_opts, argc, argv, &cmd, pos);
    if (r >= 0)
        return r;
    struct kw_registry_options o;
    if ((r = xfer_options(&cmd, &a, &o)))
        return r;
    if (kind == XFER_PUSH && check_file(pos[1], pos[0]))
        return 1;
    /* a mirror stores nothing: the store only remembers where blobs live
     * (for later mounts), so one that cannot be opened does not stop it */
    struct kw_store *s = NULL;
    if (open_store(cmd.name, &s, kind == XFER_MIRROR))
        return 1;
    r = run_xfer(kind, &a, &o, s, pos);
    kw_store_free(s);
    return r;
}

int cmd_push(int argc, char **argv) {
    return xfer_main(XFER_PUSH, argc, argv);
}
int cmd_pull(int argc, char **argv) {
    return xfer_main(XFER_PULL, argc, argv);
}
int cmd_mirror(int argc, char **argv) {
    return xfer_main(XFER_MIRROR, argc, argv);
}

/* ---- models and rm: the local store ------------------------------------- */

enum store_kind { STORE_MODELS, STORE_RM };

static const struct cmd_spec store_specs[] = {
    [STORE_MODELS] = {
        "models", "[--json]",
        "List the models in the local store ($KAIWU_HOME): NAME (use it as "
        "-m MODEL or\nwith `kaiwu rm`), the manifest DIGEST (first 12 hex "
        "digits), the model file's\nSIZE and FORMAT. --json adds the stored "
        "file's path (\"file\") and its original\nname (\"file_name\").",
        "", env_store, 0, 0, "takes no arguments"},
    [STORE_RM] = {
        "rm", "NAME [--json]",
        "Remove the stored model NAME (as `kaiwu models` lists it) from the "
        "local store,\nthen every blob no other name uses. Prints the bytes "
        "freed; a blob shared\nwith another name stays. Registries are not "
        "touched.",
        "", env_store, 1, 0, "expected one NAME"},
};

/* Parses the arguments of models or rm (whose one option is --json, with
 * json_help in --help), then opens the store. -1 to go on with *s open,
 * else the exit code. */
static int store_cmd_begin(enum store_kind kind, const char *json_help,
                           int argc, char **argv, int *json, const char **pos,
                           struct kw_store **s) {
    const struct cli_opt opt = {"json", 0, CLI_FLAG, json, 0, 0, NULL,
                                json_help};
    struct cli_cmd cmd;
    int r = parse_cmd(&store_specs[kind], &opt, 1, argc, argv, &cmd, pos);
    if (r >= 0)
        return r;
    return open_store(cmd.name, s, 0) ? 1 : -1;
}

/* ---- models ------------------------------------------------------------- */

/* "sha256:0123456789ab" -> "0123456789ab" */
static const char *short_digest(const char *d, char *buf, size_t n) {
    const char *hex = strncmp(d, "sha256:", 7) ? d : d + 7;
    snprintf(buf, n, "%.12s", hex);
    return buf;
}

int cmd_models(int argc, char **argv) {
    int json = 0;
    const char *pos[1];
    struct kw_store *s = NULL;
    int r = store_cmd_begin(STORE_MODELS,
                            "print a JSON array of {\"name\", \"digest\", "
                            "\"size\", \"format\", \"file\", \"file_name\"}",
                            argc, argv, &json, pos, &s);
    if (r >= 0)
        return r;

    struct kw_store_entry *e = NULL;
    size_t n = 0;
    char err[1024] = "";
    enum kw_status st = kw_store_list(s, &e, &n, err, sizeof err);
    if (st != KW_STATUS_OK) {
        say_err("models", NULL, NULL, err, st);
        kw_store_free(s);
        return 1;
    }
    if (json) {
        struct jw w;
        jw_init(&w, stdout);
        jw_arr_begin(&w);
        for (size_t i = 0; i < n; i++) {
            char path[4096];
            int have = kw_store_resolve(s, e[i].name, path, sizeof path,
                                        err, sizeof err) == KW_STATUS_OK;
            jw_obj_begin(&w);
            kv_str(&w, "name", e[i].name);
            kv_str(&w, "digest", e[i].digest);
            kv_uint(&w, "size", e[i].size);
            kv_str(&w, "format", e[i].format);
            jw_key(&w, "file");
            if (have)
                jw_str(&w, path);
            else
                jw_null(&w);
            kv_str(&w, "file_name", e[i].file_name);
            jw_obj_end(&w);
        }
        jw_arr_end(&w);
        jw_end(&w);
    } else {
        int wn = 4;
        for (size_t i = 0; i < n; i++) {
            int l = (int)strnlen(e[i].name, sizeof e[i].name);
            if (l > wn)
                wn = l;
        }
        printf("%-*s  %-12s  %10s  %s\n", wn, "NAME", "DIGEST", "SIZE",
               "FORMAT");
        for (size_t i = 0; i < n; i++) {
            char d[16], size[32];
            fmt_bytes(size, sizeof size, e[i].size);
            printf("%-*.*s  %-12s  %10s  %s\n", wn, (int)sizeof e[i].name,
                   e[i].name,
                   short_digest(e[i].digest, d, sizeof d), size,
                   e[i].format[0] ? e[i].format : "-");
        }
    }
    kw_store_list_free(e);
    kw_store_free(s);
    return finish_output();
}

/* ---- rm ----------------------------------------------------------------- */

int cmd_rm(int argc, char **argv) {
    int json = 0;
    const char *pos[1];
    struct kw_store *s = NULL;
    int r = store_cmd_begin(STORE_RM,
                            "print {\"name\": NAME, \"freed\": BYTES}",
                            argc, argv, &json, pos, &s);
    if (r >= 0)
        return r;

    uint64_t freed = 0;
    char err[1024] = "";
    enum kw_status st = kw_store_remove(s, pos[0], &freed, err, sizeof err);
    kw_store_free(s);
    if (st == KW_STATUS_ERR_NOT_FOUND) {
        cli_err("rm %s: no such stored model (see 'kaiwu models')", pos[0]);
        return 1;
    }
    if (st != KW_STATUS_OK) {
        say_err("rm", NULL, pos[0], err, st);
        return 1;
    }
    if (json) {
        struct jw w;
        jw_init(&w, stdout);
        jw_obj_begin(&w);
        kv_str(&w, "name", pos[0]);
        kv_uint(&w, "freed", freed);
        jw_obj_end(&w);
        jw_end(&w);
    } else {
        printf("removed %s (freed %.1f MiB)\n", pos[0], (double)freed / MIB);
    }
    return finish_output();
}
