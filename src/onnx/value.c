/*
 * value.c — ONNX values (tensors, sequences, optionals): allocation with
 * checked sizes, deep copies (string elements included), element access in
 * any numeric dtype, and the shape helpers operators share.
 */
#include "onnx/onnx_internal.h"

size_t kw_onnx_dtype_size(int t) {
    switch (t) {
    case KW_ONNX_FLOAT: case KW_ONNX_INT32: case KW_ONNX_UINT32: return 4;
    case KW_ONNX_UINT8: case KW_ONNX_INT8: case KW_ONNX_BOOL: return 1;
    case KW_ONNX_UINT16: case KW_ONNX_INT16: case KW_ONNX_FLOAT16:
    case KW_ONNX_BFLOAT16: return 2;
    case KW_ONNX_INT64: case KW_ONNX_UINT64: case KW_ONNX_DOUBLE:
    case KW_ONNX_COMPLEX64: return 8;
    case KW_ONNX_COMPLEX128: return 16;
    case KW_ONNX_STRING: return sizeof(char *);
    default: return 0;
    }
}

const char *kw_onnx_dtype_name(int t) {
    static const char *const names[] = {
        "undefined", "float", "uint8", "int8", "uint16", "int16", "int32",
        "int64", "string", "bool", "float16", "double", "uint32", "uint64",
        "complex64", "complex128", "bfloat16"};
    return t >= 0 && t < (int)(sizeof names / sizeof names[0]) ? names[t]
                                                               : "?";
}

int64_t kw_onnx_numel(const struct kw_onnx_value *v) {
    if (!v || v->kind != KW_ONNX_TENSOR) return 0;
    int64_t n = 1;
    for (int i = 0; i < v->rank; i++) n *= v->dims[i];
    return n;
}

/* Element count of a shape, or -1 when negative or overflowing. */
static int64_t shape_numel(int rank, const int64_t *dims) {
    uint64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || !kw__mul_u64(n, (uint64_t)dims[i], &n) ||
            n > (uint64_t)INT64_MAX)
            return -1;
    }
    return (int64_t)n;
}

static struct kw_onnx_value *tensor_new(int dtype, int rank,
                                        const int64_t *dims, int zero) {
    size_t es = kw_onnx_dtype_size(dtype);
    if (!es || rank < 0 || rank > KW_ONNX_MAX_RANK) return NULL;
    int64_t n = shape_numel(rank, dims);
    size_t bytes;
    if (n < 0 || !kw__mul_size((size_t)n, es, &bytes)) return NULL;
    /* 1 TiB is beyond anything real: refuse before calloc tries */
    if (bytes > ((size_t)1 << 40)) return NULL;
    void *data = zero || dtype == KW_ONNX_STRING ? calloc(1, bytes ? bytes : 1)
                                               : malloc(bytes ? bytes : 1);
    struct kw_onnx_value *v = data ? kw__tensor_on(dtype, rank, dims, data, bytes)
                                   : NULL;
    if (!v) free(data);
    return v;
}

struct kw_onnx_value *kw__tensor_on(int dtype, int rank, const int64_t *dims,
                                    void *data, size_t nbytes) {
    struct kw_onnx_value *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->kind = KW_ONNX_TENSOR;
    v->dtype = dtype;
    v->rank = rank;
    for (int i = 0; i < rank; i++) v->dims[i] = dims[i];
    v->data = data;
    v->nbytes = nbytes;
    v->owns_data = 1;
    return v;
}

struct kw_onnx_value *kw_onnx_tensor_new(int dtype, int rank,
                                         const int64_t *dims) {
    return tensor_new(dtype, rank, dims, 1);
}

struct kw_onnx_value *kw__tensor_new_uninit(int dtype, int rank,
                                            const int64_t *dims) {
    return tensor_new(dtype, rank, dims, 0);
}

void kw_onnx_value_free(struct kw_onnx_value *v) {
    if (!v) return;
    if (v->kind == KW_ONNX_TENSOR && v->owns_data) {
        if (v->dtype == KW_ONNX_STRING) {
            char **s = v->data;
            for (size_t i = 0; i < v->nbytes / sizeof(char *); i++) free(s[i]);
        }
        free(v->data);
    }
    for (size_t i = 0; i < v->n_items; i++) kw_onnx_value_free(v->items[i]);
    free(v->items);
    free(v);
}

struct kw_onnx_value *kw__tensor_like(const struct kw_onnx_value *v) {
    return kw_onnx_tensor_new(v->dtype, v->rank, v->dims);
}

struct kw_onnx_value *kw__value_clone(const struct kw_onnx_value *v) {
    if (!v) return NULL;
    if (v->kind == KW_ONNX_TENSOR) {
        struct kw_onnx_value *c = kw__tensor_like(v);
        if (!c) return NULL;
        if (v->dtype == KW_ONNX_STRING) {
            char *const *src = v->data;
            char **dst = c->data;
            for (size_t i = 0; i < v->nbytes / sizeof(char *); i++) {
                dst[i] = strdup(src[i] ? src[i] : "");
                if (!dst[i]) {
                    kw_onnx_value_free(c);
                    return NULL;
                }
            }
        } else if (v->nbytes) {
            memcpy(c->data, v->data, v->nbytes);
        }
        return c;
    }
    struct kw_onnx_value *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->kind = v->kind;
    c->elem_dtype = v->elem_dtype;
    c->dtype = v->dtype;
    if (v->n_items) {
        c->items = calloc(v->n_items, sizeof *c->items);
        if (!c->items) {
            free(c);
            return NULL;
        }
        for (size_t i = 0; i < v->n_items; i++) {
            c->items[i] = kw__value_clone(v->items[i]);
            c->n_items = i + 1;
            if (!c->items[i]) {
                kw_onnx_value_free(c);
                return NULL;
            }
        }
    }
    return c;
}

struct kw_onnx_value *kw__sequence_new(int elem_dtype) {
    struct kw_onnx_value *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->kind = KW_ONNX_SEQUENCE;
    s->elem_dtype = elem_dtype;
    return s;
}

int kw__sequence_push(struct kw_onnx_value *seq, struct kw_onnx_value *item) {
    void *p = realloc(seq->items, (seq->n_items + 1) * sizeof *seq->items);
    if (!p) return 0;
    seq->items = p;
    seq->items[seq->n_items++] = item;
    if (!seq->elem_dtype && item && item->kind == KW_ONNX_TENSOR)
        seq->elem_dtype = item->dtype;
    return 1;
}

/* ---- element access ---- */

double kw__get_f64(const struct kw_onnx_value *v, int64_t i) {
    const void *d = v->data;
    switch (v->dtype) {
    case KW_ONNX_FLOAT: return ((const float *)d)[i];
    case KW_ONNX_DOUBLE: return ((const double *)d)[i];
    case KW_ONNX_FLOAT16: return kw__fp16_to_fp32(((const uint16_t *)d)[i]);
    case KW_ONNX_BFLOAT16: return kw__bf16_to_fp32(((const uint16_t *)d)[i]);
    case KW_ONNX_INT8: return ((const int8_t *)d)[i];
    case KW_ONNX_INT16: return ((const int16_t *)d)[i];
    case KW_ONNX_INT32: return ((const int32_t *)d)[i];
    case KW_ONNX_INT64: return (double)((const int64_t *)d)[i];
    case KW_ONNX_UINT8: case KW_ONNX_BOOL: return ((const uint8_t *)d)[i];
    case KW_ONNX_UINT16: return ((const uint16_t *)d)[i];
    case KW_ONNX_UINT32: return ((const uint32_t *)d)[i];
    case KW_ONNX_UINT64: return (double)((const uint64_t *)d)[i];
    default: return 0;
    }
}

int64_t kw__get_i64(const struct kw_onnx_value *v, int64_t i) {
    const void *d = v->data;
    switch (v->dtype) {
    case KW_ONNX_INT8: return ((const int8_t *)d)[i];
    case KW_ONNX_INT16: return ((const int16_t *)d)[i];
    case KW_ONNX_INT32: return ((const int32_t *)d)[i];
    case KW_ONNX_INT64: return ((const int64_t *)d)[i];
    case KW_ONNX_UINT8: case KW_ONNX_BOOL: return ((const uint8_t *)d)[i];
    case KW_ONNX_UINT16: return ((const uint16_t *)d)[i];
    case KW_ONNX_UINT32: return ((const uint32_t *)d)[i];
    case KW_ONNX_UINT64: return (int64_t)((const uint64_t *)d)[i];
    default: {
        double x = kw__get_f64(v, i);
        if (!(x == x)) return 0; /* NaN */
        if (x >= 9.2233720368547758e18) return INT64_MAX;
        if (x <= -9.2233720368547758e18) return INT64_MIN;
        return (int64_t)x;
    }
    }
}

void kw__set_f64(struct kw_onnx_value *v, int64_t i, double x) {
    void *d = v->data;
    switch (v->dtype) {
    case KW_ONNX_FLOAT: ((float *)d)[i] = (float)x; return;
    case KW_ONNX_DOUBLE: ((double *)d)[i] = x; return;
    case KW_ONNX_FLOAT16: ((uint16_t *)d)[i] = kw__fp32_to_fp16((float)x); return;
    case KW_ONNX_BFLOAT16: ((uint16_t *)d)[i] = kw__fp32_to_bf16((float)x); return;
    case KW_ONNX_BOOL: ((uint8_t *)d)[i] = x != 0; return;
    default: {
        int64_t k;
        if (!(x == x)) k = 0;
        else if (x >= 9.2233720368547758e18) k = INT64_MAX;
        else if (x <= -9.2233720368547758e18) k = INT64_MIN;
        else k = (int64_t)x;
        kw__set_i64(v, i, k);
    }
    }
}

void kw__set_i64(struct kw_onnx_value *v, int64_t i, int64_t x) {
    void *d = v->data;
    switch (v->dtype) {
    case KW_ONNX_INT8: ((int8_t *)d)[i] = (int8_t)x; return;
    case KW_ONNX_INT16: ((int16_t *)d)[i] = (int16_t)x; return;
    case KW_ONNX_INT32: ((int32_t *)d)[i] = (int32_t)x; return;
    case KW_ONNX_INT64: ((int64_t *)d)[i] = x; return;
    case KW_ONNX_UINT8: ((uint8_t *)d)[i] = (uint8_t)x; return;
    case KW_ONNX_BOOL: ((uint8_t *)d)[i] = x != 0; return;
    case KW_ONNX_UINT16: ((uint16_t *)d)[i] = (uint16_t)x; return;
    case KW_ONNX_UINT32: ((uint32_t *)d)[i] = (uint32_t)x; return;
    case KW_ONNX_UINT64: ((uint64_t *)d)[i] = (uint64_t)x; return;
    default: kw__set_f64(v, i, (double)x);
    }
}

/* ---- shapes ---- */

void kw__strides(int rank, const int64_t *dims, int64_t *strides) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

int kw__broadcast(int ra, const int64_t *da, int rb, const int64_t *db,
                  int *rank, int64_t *dims) {
    int r = ra > rb ? ra : rb;
    if (r > KW_ONNX_MAX_RANK) return 0;
    int64_t out[KW_ONNX_MAX_RANK]; /* dims may alias da or db */
    for (int i = 0; i < r; i++) {
        int ia = i - (r - ra), ib = i - (r - rb);
        int64_t a = ia >= 0 ? da[ia] : 1, b = ib >= 0 ? db[ib] : 1;
        if (a == b || b == 1)
            out[i] = a;
        else if (a == 1)
            out[i] = b;
        else
            return 0;
    }
    memcpy(dims, out, sizeof(int64_t) * (size_t)r);
    *rank = r;
    return 1;
}

void kw__bcast_strides(int ri, const int64_t *di, int rank,
                       const int64_t *dims, int64_t *strides) {
    int64_t own[KW_ONNX_MAX_RANK];
    kw__strides(ri, di, own);
    for (int i = 0; i < rank; i++) {
        int k = i - (rank - ri);
        strides[i] = (k < 0 || di[k] == 1) ? 0 : own[k];
    }
    (void)dims;
}
