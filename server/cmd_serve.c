/*
 * cmd_serve.c — `kaiwu serve`: the command line of the OpenAI-compatible
 * server (options into struct kws_config), then start listening, load the
 * models while /health says "loading", and wait for SIGTERM / SIGINT to
 * stop gracefully (exit 0). Entry point: cmd_serve.
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "args.h"
#include "model_arg.h"
#include "serve.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KWS_MAX_VISION 16

/* Reads the key from a file: the first line, surrounding blanks removed. */
static char *read_key_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_err("%s: %s", path, strerror(errno));
        return NULL;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *s = buf, *e;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    for (e = s; *e && *e != '\n' && *e != '\r'; e++)
        ;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *e = 0;
    if (!*s) {
        cli_err("%s: the API key file is empty", path);
        return NULL;
    }
    char *k = strdup(s);
    if (!k)
        cli_err("out of memory");
    return k;
}

struct loader {
    struct kws_server *srv;
    atomic_int state; /* 0 loading, 1 ready, 2 failed */
    char err[1024];
};

static void *load_thread(void *arg) {
    struct loader *ld = arg;
    int rc = kws_server_load(ld->srv, ld->err, sizeof ld->err);
    atomic_store(&ld->state, rc ? 2 : 1);
    return NULL;
}

/* --vision may repeat: take every occurrence out of argv before the
 * table-driven parser (which keeps one value per option) sees it. */
static int take_vision(const struct cli_cmd *cmd, int *argc, char **argv,
                       struct kws_vision_model *v, int *n_v) {
    int out = 1;
    *n_v = 0;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i], *val = NULL;
        if (!strcmp(a, "--")) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (!strcmp(a, "--vision")) {
            if (i + 1 >= *argc)
                return cli_usage_err(cmd, "--vision needs NAME=MODEL.onnx");
            val = argv[++i];
        } else if (!strncmp(a, "--vision=", 9)) {
            val = a + 9;
        } else {
            argv[out++] = argv[i];
            continue;
        }
        const char *eq = strchr(val, '=');
        if (!eq || eq == val || !eq[1])
            return cli_usage_err(cmd, "--vision takes NAME=MODEL.onnx, not "
                                 "'%s'", val);
        if (*n_v >= KWS_MAX_VISION)
            return cli_usage_err(cmd, "at most %d --vision models",
                                 KWS_MAX_VISION);
        char *name = strndup(val, (size_t)(eq - val));
        if (!name) {
            cli_err("out of memory");
            return 1;
        }
        for (int k = 0; k < *n_v; k++)
            if (!strcmp(v[k].name, name)) {
                free(name);
                return cli_usage_err(cmd, "--vision name '%s' given twice",
                                     v[k].name);
            }
        v[*n_v].name = name;
        v[*n_v].path = eq + 1;
        (*n_v)++;
    }
    *argc = out;
    return 0;
}

static int run(struct kws_config *cfg) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    /* every thread started from here on inherits the mask, so the signals
     * reach only the sigtimedwait below */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[1024] = "";
    struct kws_server *srv = NULL;
    if (kws_server_start(cfg, &srv, err, sizeof err)) {
        cli_err("%s", err);
        return 1;
    }
    struct loader ld;
    memset(&ld, 0, sizeof ld);
    ld.srv = srv;
    pthread_t t;
    if (pthread_create(&t, NULL, load_thread, &ld) != 0) {
        cli_err("cannot start the loader thread");
        kws_server_stop(srv);
        return 1;
    }
    int sig = 0, said_ready = 0;
    while (!sig && atomic_load(&ld.state) != 2) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        int s = sigtimedwait(&set, NULL, &ts);
        if (s > 0)
            sig = s;
        if (!said_ready && atomic_load(&ld.state) == 1) {
            said_ready = 1;
            fprintf(stderr, "kaiwu: model loaded, ready\n");
        }
    }
    pthread_join(t, NULL);
    if (atomic_load(&ld.state) == 2) {
        cli_err("%s", ld.err[0] ? ld.err : "loading the model failed");
        kws_server_stop(srv);
        return 1;
    }
    fprintf(stderr, "kaiwu: %s, stopping\n",
            sig == SIGINT ? "interrupted" : "terminated");
    kws_server_stop(srv);
    fprintf(stderr, "kaiwu: stopped\n");
    return 0;
}

int cmd_serve(int argc, char **argv) {
    const char *model = NULL, *alias = NULL, *host = "127.0.0.1",
               *api_key = NULL, *key_file = NULL, *cors = NULL,
               *tmpl = NULL, *vision_dummy = NULL;
    int64_t port = 8080, parallel = 4, ctx = 4096, queue = 64, threads = 0,
            batch = 512, body_max = 8 << 20, timeout = 600;
    int verbose = 0;
    const struct cli_opt opts[] = {
        {"model", 'm', CLI_STR, &model, 0, 0, "MODEL",
         "GGUF model file or stored model name"},
        {"alias", 0, CLI_STR, &alias, 0, 0, "NAME",
         "model id in the API (default: file name without .gguf)"},
        {"vision", 0, CLI_STR, &vision_dummy, 0, 0, "NAME=FILE",
         "serve an image classifier at /v1/images/classify (repeatable)"},
        {"host", 0, CLI_STR, &host, 0, 0, "ADDR",
         "address to bind (default 127.0.0.1)"},
        {"port", 0, CLI_INT, &port, 0, 65535, "N",
         "TCP port (default 8080; 0 picks a free one)"},
        {"api-key", 0, CLI_STR, &api_key, 0, 0, "KEY",
         "require 'Authorization: Bearer KEY' on /v1/* and /metrics"},
        {"api-key-file", 0, CLI_STR, &key_file, 0, 0, "FILE",
         "read the API key from FILE (first line)"},
        {"parallel", 0, CLI_INT, &parallel, 1, 256, "N",
         "requests generated together (slots; default 4)"},
        {"ctx", 0, CLI_INT, &ctx, 16, 1 << 20, "N",
         "context tokens per slot (default 4096, capped by the model)"},
        {"queue", 0, CLI_INT, &queue, 0, 1 << 20, "N",
         "requests waiting beyond the slots before 429 (default 64)"},
        {"threads", 't', CLI_INT, &threads, 0, 4096, "N",
         "compute threads (default: all cores)"},
        {"batch", 0, CLI_INT, &batch, 1, 65536, "N",
         "tokens per forward pass (default 512)"},
        {"cors", 0, CLI_STR, &cors, 0, 0, "ORIGIN",
         "allow browser requests from ORIGIN (default: no CORS)"},
        {"chat-template", 0, CLI_STR, &tmpl, 0, 0, "NAME",
         "chat template (default: the model's)"},
        {"body-max", 0, CLI_INT, &body_max, 1024, (double)(1u << 30), "BYTES",
         "request body limit (default 8 MiB)"},
        {"timeout", 0, CLI_INT, &timeout, 1, 86400, "S",
         "close idle connections after S seconds (default 600)"},
        {"verbose", 'v', CLI_FLAG, &verbose, 0, 0, NULL,
         "log more (including HTTP library errors)"},
    };
    const struct cli_cmd cmd = {
        "serve", "-m MODEL.gguf [options]",
        "Serve the model over an OpenAI-compatible HTTP API "
        "(/v1/chat/completions, /v1/completions, /v1/models, /health, "
        "/metrics, and a chat page at /). Stops on SIGTERM or SIGINT.",
        opts, sizeof opts / sizeof opts[0], 0};

    struct kws_vision_model vision[KWS_MAX_VISION];
    int n_vision = 0, rc;
    char **args = calloc((size_t)(argc > 0 ? argc : 0) + 1, sizeof *args);
    if (!args) {
        cli_err("out of memory");
        return 1;
    }
    memcpy(args, argv, (size_t)argc * sizeof *args);
    int n_args = argc;
    char *key_buf = NULL;
    if ((rc = take_vision(&cmd, &n_args, args, vision, &n_vision)))
        goto done;
    const char *pos[1];
    size_t n_pos = 0;
    int r = cli_parse(&cmd, n_args, args, pos, &n_pos);
    if (r) {
        rc = r < 0 ? 0 : r;
        goto done;
    }
    rc = 2;
    if (!model) {
        cli_usage_err(&cmd, "missing -m MODEL");
        goto done;
    }
    if (api_key && key_file) {
        cli_usage_err(&cmd, "give --api-key or --api-key-file, not both");
        goto done;
    }
    if (api_key && !api_key[0]) {
        cli_usage_err(&cmd, "--api-key must not be empty");
        goto done;
    }
    if (cors && !cors[0]) {
        cli_usage_err(&cmd, "--cors needs an origin (or '*')");
        goto done;
    }
    rc = 1;
    if (key_file && !(api_key = key_buf = read_key_file(key_file)))
        goto done;
    char stored[4096];
    const char *path = model_arg(model, stored, sizeof stored);
    if (!path)
        goto done;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? n : 1;
    }
    struct kws_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.model_path = path;
    /* a stored model's file is named by its digest: use the given name */
    cfg.alias = alias ? alias : (path != model ? model : NULL);
    cfg.host = host;
    cfg.port = (int)port;
    cfg.api_key = api_key;
    cfg.cors_origin = cors;
    cfg.chat_template = tmpl;
    cfg.parallel = (int)parallel;
    cfg.ctx = (uint32_t)ctx;
    cfg.queue = (int)queue;
    cfg.threads = (int)threads;
    cfg.batch = (int)batch;
    cfg.body_max = (size_t)body_max;
    cfg.timeout_s = (int)timeout;
    cfg.vision = n_vision ? vision : NULL;
    cfg.n_vision = n_vision;
    cfg.verbose = verbose;
    rc = run(&cfg);
done:
    for (int i = 0; i < n_vision; i++)
        free((char *)vision[i].name);
    if (key_buf) {
        memset(key_buf, 0, strlen(key_buf));
        free(key_buf);
    }
    free(args);
    (void)vision_dummy;
    return rc;
}
