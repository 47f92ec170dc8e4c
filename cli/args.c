/*
 * args.c — table-driven option parser for the kaiwu subcommands (see
 * args.h): --name VALUE, --name=VALUE, -x VALUE, -xVALUE, "--" ends options.
 * Numbers go through one checked conversion with the table's range, so every
 * command rejects "12abc", "nan" or out-of-range values the same way.
 */
#define _POSIX_C_SOURCE 200809L
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kaiwu/kaiwu.h"

void cli_err(const char *fmt, ...) {
    va_list ap;
    fflush(stdout); /* keep streamed output and the error in order */
    fputs("kaiwu: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage_err(const struct cli_cmd *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "kaiwu: %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'kaiwu %s --help'.\n", cmd->name);
    return 2;
}

void cli_lib_err(const char *path, const char *err, int status) {
    const char *what = (err && err[0]) ? err
                                       : kw_status_str((enum kw_status)status);
    if (path && !strstr(what, path))
        cli_err("%s: %s", path, what);
    else
        cli_err("%s", what);
}

double cli_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void cli_usage(const struct cli_cmd *cmd) {
    printf("usage: kaiwu %s %s\n\n%s\n\noptions:\n", cmd->name, cmd->synopsis,
           cmd->summary);
    for (size_t i = 0; i < cmd->n_opts; i++) {
        const struct cli_opt *o = &cmd->opts[i];
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name,
                     o->name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name,
                     o->metavar ? " " : "", o->metavar ? o->metavar : "");
        printf("  %-28s %s\n", left, o->help);
    }
    printf("  %-28s %s\n", "-h, --help", "show this help and exit");
}

static int set_value(const struct cli_cmd *cmd, const struct cli_opt *o,
                     const char *v) {
    char *end = NULL;
    switch (o->kind) {
    case CLI_STR:
        *(const char **)o->dst = v;
        return 0;
    case CLI_INT: {
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (!v[0] || *end || errno == ERANGE)
            return cli_usage_err(cmd, "--%s: '%s' is not an integer",
                                 o->name, v);
        if ((double)x < o->min || (double)x > o->max)
            return cli_usage_err(cmd, "--%s: %lld is out of range [%.0f, %.0f]",
                                 o->name, x, o->min, o->max);
        *(int64_t *)o->dst = (int64_t)x;
        return 0;
    }
    case CLI_NUM: {
        errno = 0;
        double x = strtod(v, &end);
        if (!v[0] || *end || errno == ERANGE || !isfinite(x))
            return cli_usage_err(cmd, "--%s: '%s' is not a number", o->name,
                                 v);
        if (x < o->min || x > o->max)
            return cli_usage_err(cmd, "--%s: %g is out of range [%g, %g]",
                                 o->name, x, o->min, o->max);
        *(double *)o->dst = x;
        return 0;
    }
    case CLI_FLAG:
        break;
    }
    return cli_usage_err(cmd, "--%s takes no value", o->name);
}

int cli_parse(const struct cli_cmd *cmd, int argc, char **argv,
              const char **pos, size_t *n_pos) {
    int only_pos = 0;
    *n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct cli_opt *o = NULL;
        const char *val = NULL; /* attached value (--x=V or -xV) */
        if (only_pos || a[0] != '-' || a[1] == 0) {
            if (*n_pos >= cmd->max_positional)
                return cli_usage_err(cmd, "unexpected argument '%s'", a);
            pos[(*n_pos)++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_usage(cmd);
            return -1;
        }
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            for (size_t k = 0; k < cmd->n_opts && !o; k++)
                if (strlen(cmd->opts[k].name) == len &&
                    !strncmp(cmd->opts[k].name, name, len))
                    o = &cmd->opts[k];
            if (o && eq)
                val = eq + 1;
        } else {
            for (size_t k = 0; k < cmd->n_opts && !o; k++)
                if (cmd->opts[k].short_name == a[1])
                    o = &cmd->opts[k];
            if (o && a[2]) {
                if (o->kind == CLI_FLAG)
                    o = NULL; /* no bundling of flags */
                else
                    val = a + 2;
            }
        }
        if (!o)
            return cli_usage_err(cmd, "unknown option '%s'", a);
        if (o->kind == CLI_FLAG) {
            if (val)
                return cli_usage_err(cmd, "--%s takes no value", o->name);
            *(int *)o->dst = 1;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc)
                return cli_usage_err(cmd, "option '%s' needs a value (%s)", a,
                                     o->metavar ? o->metavar : "VALUE");
            val = argv[++i];
        }
        int r = set_value(cmd, o, val);
        if (r)
            return r;
    }
    return 0;
}

const char **cli_parse_alloc(const struct cli_cmd *cmd, int argc, char **argv,
                             size_t *n_pos, int *rc) {
    /* argc + 1 slots: never fewer than the positional arguments there are */
    const char **pos = calloc((size_t)(argc > 0 ? argc : 0) + 1, sizeof *pos);
    if (!pos) {
        cli_err("out of memory");
        *rc = 1;
        return NULL;
    }
    *n_pos = 0;
    int r = cli_parse(cmd, argc, argv, pos, n_pos);
    if (r) {
        free(pos);
        *rc = r < 0 ? 0 : r;
        return NULL;
    }
    *rc = 0;
    return pos;
}
