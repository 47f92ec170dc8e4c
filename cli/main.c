/*
 * main.c — the kaiwu command-line program: dispatches `kaiwu COMMAND ...` to
 * the cmd_*.c files, which use only the public API in include/kaiwu/.
 * Exit codes: 0 success, 1 runtime error, 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "kaiwu/kaiwu.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"info", cmd_info, "show a GGUF file's metadata and tensors"},
    {"tokenize", cmd_tokenize, "print the tokens of a text"},
    {"generate", cmd_generate, "generate text from a prompt"},
    {"chat", cmd_chat, "chat with a model interactively"},
    {"bench", cmd_bench, "measure prompt and generation speed"},
    {"pull", cmd_pull, "download a model from an OCI registry"},
    {"push", cmd_push, "upload a model file to an OCI registry"},
    {"mirror", cmd_mirror, "copy a model from one registry to another"},
    {"models", cmd_models, "list the models in the local store"},
    {"rm", cmd_rm, "remove a model from the local store"},
    {"onnx", cmd_onnx, "run, test and time ONNX models"},
    {"classify", cmd_classify, "label images with an ONNX classifier"},
    {"detect", cmd_detect, "find objects in an image (YOLOX ONNX model)"},
    {"ocr", cmd_ocr, "read a line of text in an image (CTC ONNX model)"},
#ifdef KW_HAVE_SERVER
    {"serve", cmd_serve, "serve models over an OpenAI-compatible HTTP API"},
#endif
};

static void print_version(void) {
    printf("kaiwu %s (cpu: %s)\n", kw_version(), kw_cpu_isa());
}

static void print_help(FILE *f) {
    fprintf(f, "usage: kaiwu COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-10s %s\n", "version", "print the version");
    fprintf(f, "\n'kaiwu COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
        print_help(stdout);
        return 0;
    }
    if (!strcmp(c, "--version") || !strcmp(c, "version")) {
        if (argc > 2 && strcmp(argv[2], "--help") && strcmp(argv[2], "-h")) {
            fprintf(stderr, "kaiwu: version: unexpected argument '%s'\n",
                    argv[2]);
            return 2;
        }
        if (argc > 2) {
            printf("usage: kaiwu version\n\nPrint the version and the CPU "
                   "kernel set in use.\n");
            return 0;
        }
        print_version();
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(c, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "kaiwu: unknown %s '%s'\nTry 'kaiwu --help'.\n",
            c[0] == '-' ? "option" : "command", c);
    return 2;
}
