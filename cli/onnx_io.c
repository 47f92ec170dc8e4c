/*
 * onnx_io.c — helpers of the `kaiwu onnx` subcommands (see onnx_cli.h):
 * reading and writing .pb value files, repeated options (--input, --dim),
 * printable types, element access in any dtype and fixed-seed random
 * tensors for bench.
 */
#define _POSIX_C_SOURCE 200809L
#include "onnx_cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int oc_read_file(const char *path, void **buf, size_t *n, char *err,
                 size_t err_size) {
    *buf = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap);
    while (b) {
        if (len == cap) {
            char *nb = cap > ((size_t)1 << 40) ? NULL : realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int bad = !b || ferror(f);
    if (bad)
        snprintf(err, err_size, "%s: %s", path,
                 b ? "read error" : "out of memory");
    fclose(f);
    if (bad) {
        free(b);
        return -1;
    }
    *buf = b;
    *n = len;
    return 0;
}

enum kw_status oc_read_value(const char *path, int kind,
                             struct kw_onnx_value **out, char *err,
                             size_t err_size) {
    void *buf;
    size_t n;
    *out = NULL;
    if (oc_read_file(path, &buf, &n, err, err_size))
        return KW_STATUS_ERR_IO;
    if (kind != KW_ONNX_SEQUENCE && kind != KW_ONNX_OPTIONAL)
        kind = KW_ONNX_TENSOR;
    char e[768] = "";
    enum kw_status st = kw_onnx_value_read_pb(buf, n, kind, out, e, sizeof e);
    free(buf);
    if (st != KW_STATUS_OK)
        snprintf(err, err_size, "%s: %s", path,
                 e[0] ? e : kw_status_str(st));
    return st;
}

enum kw_status oc_write_value(const char *path,
                              const struct kw_onnx_value *v, const char *name,
                              char *err, size_t err_size) {
    void *buf = NULL;
    size_t n = 0;
    char e[768] = "";
    enum kw_status st = kw_onnx_value_write_pb(v, name, &buf, &n, e, sizeof e);
    if (st != KW_STATUS_OK) {
        snprintf(err, err_size, "%s: %s", path,
                 e[0] ? e : kw_status_str(st));
        return st;
    }
    FILE *f = fopen(path, "wb");
    int bad = !f || fwrite(buf, 1, n, f) != n;
    if (f && fclose(f) != 0)
        bad = 1;
    if (bad) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        st = KW_STATUS_ERR_IO;
    }
    free(buf);
    return st;
}

int oc_take_multi(const struct cli_cmd *cmd, int *argc, char **argv,
                  const char *name, const char **vals, size_t *n,
                  size_t max) {
    size_t len = strlen(name);
    int w = 1, only_pos = 0;
    *n = 0;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        int hit = 0;
        if (!only_pos && !strcmp(a, "--"))
            only_pos = 1;
        else if (!only_pos && a[0] == '-' && a[1] == '-' &&
                 !strncmp(a + 2, name, len) &&
                 (a[2 + len] == 0 || a[2 + len] == '=')) {
            hit = 1;
            if (a[2 + len] == '=') {
                val = a + 3 + len;
            } else if (i + 1 < *argc) {
                val = argv[++i];
            } else {
                return cli_usage_err(cmd, "option '--%s' needs a value",
                                     name);
            }
        }
        if (!hit) {
            argv[w++] = argv[i];
            continue;
        }
        if (*n >= max)
            return cli_usage_err(cmd, "too many --%s options (at most %zu)",
                                 name, max);
        vals[(*n)++] = val;
    }
    *argc = w;
    argv[w] = NULL;
    return 0;
}

const char *oc_io_type_str(const struct kw_onnx_io_info *io, char *buf,
                           size_t size) {
    const char *dt = kw_onnx_dtype_name(io->dtype);
    if (io->kind == KW_ONNX_SEQUENCE) {
        snprintf(buf, size, "sequence<%s>", dt);
        return buf;
    }
    if (io->kind == KW_ONNX_OPTIONAL) {
        snprintf(buf, size, "optional<%s>", dt);
        return buf;
    }
    size_t k = (size_t)snprintf(buf, size, "%s", dt);
    if (io->rank < 0) {
        if (k < size)
            snprintf(buf + k, size - k, "[?]");
        return buf;
    }
    for (int d = 0; d < io->rank && d < KW_ONNX_MAX_RANK && k < size; d++) {
        const char *sep = d ? "," : "[";
        if (io->dims[d] >= 0)
            k += (size_t)snprintf(buf + k, size - k, "%s%lld", sep,
                                  (long long)io->dims[d]);
        else
            k += (size_t)snprintf(buf + k, size - k, "%s%s", sep,
                                  io->dim_names[d] && io->dim_names[d][0]
                                      ? io->dim_names[d]
                                      : "?");
    }
    if (k < size)
        snprintf(buf + k, size - k, io->rank ? "]" : "[]");
    return buf;
}

/* IEEE half to float, by hand: the CLI only sees the public API. */
static double half_to_f64(uint16_t h) {
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v;
    if (e == 0)
        v = ldexp(m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexp(m + 1024, e - 25);
    return (h & 0x8000) ? -v : v;
}

static double bf16_to_f64(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

int oc_dtype_is_float(int dt) {
    return dt == KW_ONNX_FLOAT || dt == KW_ONNX_DOUBLE ||
           dt == KW_ONNX_FLOAT16 || dt == KW_ONNX_BFLOAT16 ||
           dt == KW_ONNX_COMPLEX64 || dt == KW_ONNX_COMPLEX128;
}

int64_t oc_n_scalars(const struct kw_onnx_value *t) {
    int64_t n = kw_onnx_numel(t);
    if (t->dtype == KW_ONNX_COMPLEX64 || t->dtype == KW_ONNX_COMPLEX128)
        n *= 2;
    return n;
}

double oc_elem_f64(const struct kw_onnx_value *t, int64_t i) {
    const void *p = t->data;
    switch (t->dtype) {
    case KW_ONNX_FLOAT: case KW_ONNX_COMPLEX64:
        return ((const float *)p)[i];
    case KW_ONNX_DOUBLE: case KW_ONNX_COMPLEX128:
        return ((const double *)p)[i];
    case KW_ONNX_FLOAT16: return half_to_f64(((const uint16_t *)p)[i]);
    case KW_ONNX_BFLOAT16: return bf16_to_f64(((const uint16_t *)p)[i]);
    case KW_ONNX_UINT8: case KW_ONNX_BOOL:
        return ((const uint8_t *)p)[i];
    case KW_ONNX_INT8: return ((const int8_t *)p)[i];
    case KW_ONNX_UINT16: return ((const uint16_t *)p)[i];
    case KW_ONNX_INT16: return ((const int16_t *)p)[i];
    case KW_ONNX_INT32: return ((const int32_t *)p)[i];
    case KW_ONNX_UINT32: return ((const uint32_t *)p)[i];
    case KW_ONNX_INT64: return (double)((const int64_t *)p)[i];
    case KW_ONNX_UINT64: return (double)((const uint64_t *)p)[i];
    default: return 0;
    }
}

static uint64_t next_rand(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

struct kw_onnx_value *oc_random_tensor(int dtype, int rank,
                                       const int64_t *dims, uint64_t *seed) {
    struct kw_onnx_value *t = kw_onnx_tensor_new(dtype, rank, dims);
    if (!t)
        return NULL;
    int64_t n = oc_n_scalars(t);
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = next_rand(seed);
        /* 24 random bits -> [-1, 1) */
        float f = (float)((double)(r >> 40) / 8388608.0 - 1.0);
        unsigned bit = (unsigned)(r >> 63);
        switch (dtype) {
        case KW_ONNX_FLOAT: case KW_ONNX_COMPLEX64:
            ((float *)t->data)[i] = f;
            break;
        case KW_ONNX_DOUBLE: case KW_ONNX_COMPLEX128:
            ((double *)t->data)[i] = f;
            break;
        case KW_ONNX_FLOAT16: {
            /* sign, exponent 14 (0.5..1), 10 random mantissa bits */
            uint16_t h = (uint16_t)((bit << 15) | (14u << 10) |
                                    ((r >> 20) & 0x3ff));
            ((uint16_t *)t->data)[i] = h;
            break;
        }
        case KW_ONNX_BFLOAT16: {
            uint32_t u;
            memcpy(&u, &f, sizeof u);
            ((uint16_t *)t->data)[i] = (uint16_t)(u >> 16);
            break;
        }
        case KW_ONNX_UINT8: case KW_ONNX_INT8: case KW_ONNX_BOOL:
            ((uint8_t *)t->data)[i] = (uint8_t)bit;
            break;
        case KW_ONNX_UINT16: case KW_ONNX_INT16:
            ((uint16_t *)t->data)[i] = (uint16_t)bit;
            break;
        case KW_ONNX_INT32: case KW_ONNX_UINT32:
            ((uint32_t *)t->data)[i] = bit;
            break;
        case KW_ONNX_INT64: case KW_ONNX_UINT64:
            ((uint64_t *)t->data)[i] = bit;
            break;
        case KW_ONNX_STRING: {
            char *s = strdup("a");
            if (!s) {
                kw_onnx_value_free(t);
                return NULL;
            }
            ((char **)t->data)[i] = s;
            break;
        }
        default:
            break;
        }
    }
    return t;
}
