/*
 * status.c — status strings, version, error formatting and small allocation
 * helpers used across the library.
 */
#include <time.h>

#include "core/internal.h"

const char *kw_version(void) { return KW_VERSION_STRING; }

const char *kw_status_str(enum kw_status status) {
    switch (status) {
#define KW_STATUS_CASE_(name, num, str)                                       \
    case KW_STATUS_##name:                                                    \
        return str;
        KW_STATUS_LIST(KW_STATUS_CASE_)
#undef KW_STATUS_CASE_
    }
    return "unknown status";
}

enum kw_status kw__err(char *err, size_t err_size, enum kw_status st,
                       const char *fmt, ...) {
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return st;
}

void *kw__alloc_aligned(size_t size) {
    void *p = NULL;
    if (size == 0) size = 64;
    if (posix_memalign(&p, 64, (size + 63) & ~(size_t)63) != 0) return NULL;
    return p;
}

void kw__free_aligned(void *p) { free(p); }

int64_t kw__time_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
