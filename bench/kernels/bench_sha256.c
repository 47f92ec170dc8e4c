/*
 * bench_sha256.c — SHA-256 throughput (MB/s, 1 MB = 1e6 bytes) of the
 * reference and SHA-NI block functions and of the dispatched streaming API,
 * over a 256 MiB buffer (bigger than any cache, like a model blob). Each
 * number is the best of TRIALS passes (robust to a busy machine).
 *
 * Build by hand (not part of CMake), from the repository root:
 *   cc -O2 -Iinclude -Isrc bench/kernels/bench_sha256.c \
 *      BUILD/libkaiwu.a -lm -lpthread -o /tmp/bench_sha256
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sha256.h"

#define SIZE ((size_t)256 << 20)
#define TRIALS 3

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best MB/s of TRIALS passes of f over buf (f == NULL: streaming API). */
static double bench(kw__sha256_blocks_fn f, const uint8_t *buf,
                    uint32_t *sink) {
    double best = 1e30;
    for (int t = 0; t < TRIALS; t++) {
        const double t0 = now();
        if (f) {
            uint32_t h[8] = {0};
            f(h, buf, SIZE / 64);
            *sink ^= h[0];
        } else {
            struct kw__sha256 c;
            uint8_t d[32];
            kw__sha256_init(&c);
            /* 1 MiB + 3 updates, like reads from a file or a socket */
            for (size_t off = 0; off < SIZE; off += (1 << 20) + 3)
                kw__sha256_update(&c, buf + off,
                                  SIZE - off < (1 << 20) + 3 ? SIZE - off
                                                             : (1 << 20) + 3);
            kw__sha256_final(&c, d);
            *sink ^= d[0];
        }
        const double dt = now() - t0;
        if (dt < best) best = dt;
    }
    return (double)SIZE / best / 1e6;
}

int main(void) {
    uint8_t *buf = malloc(SIZE);
    if (!buf) return 1;
    for (size_t i = 0; i < SIZE; i++) buf[i] = (uint8_t)(i * 2654435761u >> 13);
    uint32_t sink = 0;
    printf("sha256 over %zu MiB, best of %d\n", SIZE >> 20, TRIALS);
    printf("  ref     %8.1f MB/s\n", bench(kw__sha256_blocks_ref, buf, &sink));
    kw__sha256_blocks_fn shani = kw__sha256_shani_variant();
    if (shani)
        printf("  sha-ni  %8.1f MB/s\n", bench(shani, buf, &sink));
    else
        printf("  sha-ni  (not available)\n");
    printf("  api     %8.1f MB/s (%s)\n", bench(NULL, buf, &sink),
           kw__sha256_impl());
    free(buf);
    return (int)(sink & 0); /* keeps the work alive */
}
