/*
 * args.h — option parsing shared by every kaiwu subcommand: one table of
 * options per command drives parsing, range-checked numbers, --help text and
 * the exit-code-2 usage errors. Also the "kaiwu: " error printer, timing and
 * the entry points of the subcommands (cmd_*.c).
 */
#ifndef KW_CLI_ARGS_H
#define KW_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>

enum cli_opt_kind { CLI_FLAG, CLI_INT, CLI_NUM, CLI_STR };

struct cli_opt {
    const char *name;    /* long name without "--" */
    char short_name;     /* 0 = none */
    enum cli_opt_kind kind;
    void *dst;           /* int* (FLAG), int64_t* (INT), double* (NUM),
                            const char ** (STR) */
    double min, max;     /* inclusive range for INT and NUM */
    const char *metavar; /* "N", "TEXT"... */
    const char *help;
};

struct cli_cmd {
    const char *name;     /* "generate" */
    const char *synopsis; /* "-m MODEL -p TEXT [options]" */
    const char *summary;  /* one line */
    const struct cli_opt *opts;
    size_t n_opts;
    size_t max_positional;
};

/* Parses argv[1..argc) (argv[0] is the command name). Positional arguments
 * go to pos[0..*n_pos). Returns 0 to go on, -1 when --help was printed
 * (exit 0), 2 after a usage error was printed (exit 2). */
int cli_parse(const struct cli_cmd *cmd, int argc, char **argv,
              const char **pos, size_t *n_pos);
/* cli_parse into a new array of positional arguments (free it). NULL when
 * the command should end at once, with *rc its exit code: 0 after --help,
 * 1 out of memory (printed), 2 after a usage error. */
const char **cli_parse_alloc(const struct cli_cmd *cmd, int argc, char **argv,
                             size_t *n_pos, int *rc);
void cli_usage(const struct cli_cmd *cmd);

/* "kaiwu: " + message on stderr. */
void cli_err(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Usage error: prints "kaiwu: CMD: message" and a --help hint; returns 2. */
int cli_usage_err(const struct cli_cmd *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints a library error: err when it names path, else "path: err"; falls
 * back to the status text when err is empty. */
void cli_lib_err(const char *path, const char *err, int status);

/* Monotonic clock in milliseconds. */
double cli_now_ms(void);

int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_bench(int argc, char **argv);
/* cmd_registry.c: the model store and OCI registries */
int cmd_push(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_mirror(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_rm(int argc, char **argv);
/* cmd_onnx.c: ONNX models (info, run, test, bench) */
int cmd_onnx(int argc, char **argv);
/* cmd_vision.c: image recognition with ONNX models */
int cmd_classify(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_ocr(int argc, char **argv);
/* server/cmd_serve.c: the OpenAI-compatible HTTP server */
int cmd_serve(int argc, char **argv);

#endif /* KW_CLI_ARGS_H */
