/*
 * testutil.h — tiny test harness: CHECK macros that count failures, helpers
 * to find models and fixtures, deterministic random numbers.
 */
#ifndef KW_TESTUTIL_H
#define KW_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern int kw_test_failures;

#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,  \
                    #c);                                                      \
            kw_test_failures++;                                               \
        }                                                                     \
    } while (0)

#define CHECKF(c, ...)                                                        \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__,  \
                    #c);                                                      \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
            kw_test_failures++;                                               \
        }                                                                     \
    } while (0)

/* Prints a summary and returns the process exit code (0 when all passed). */
int kw_test_finish(const char *name);

/* Path of a model file under KW_MODELS_DIR (static buffer). When the file is
 * missing: exits 77 (skip), or fails (exit 1) when KW_REQUIRE_MODELS=1. */
const char *kw_test_model(const char *file);
/* Path under the source tree (static buffer). */
const char *kw_test_src_path(const char *rel);
/* Reads a whole file; caller frees. NULL on error. */
void *kw_test_read_file(const char *path, size_t *size);

/* xorshift64* random numbers for reproducible inputs */
uint64_t kw_test_rand(uint64_t *state);
float kw_test_randf(uint64_t *state); /* uniform in [-1, 1) */

#endif
