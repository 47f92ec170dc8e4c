/*
 * tensor_pb.c — TensorProto, SequenceProto and OptionalProto to values and
 * back. Data comes from raw_data (aliased in place when aligned, so model
 * weights are not copied) or the typed repeated fields; its byte length must
 * equal the element count times the element size. External data is read by
 * the loader through the hook in struct kw__tensor_src.
 */
#include "onnx/tensor_pb.h"

#define FAIL(...) kw__err(err, err_size, KW_STATUS_ERR_FORMAT, __VA_ARGS__)

/* Field numbers of TensorProto. */
enum {
    T_DIMS = 1, T_DATA_TYPE = 2, T_SEGMENT = 3, T_FLOAT = 4, T_INT32 = 5,
    T_STRING = 6, T_INT64 = 7, T_NAME = 8, T_RAW = 9, T_DOUBLE = 10,
    T_UINT64 = 11, T_EXTERNAL = 13, T_LOCATION = 14
};

/* Collects repeated values into dst[*count++] (counting only when dst is
 * NULL). kind: 'v' varint (int64), 'f' float, 'd' double. */
struct collect {
    void *dst;
    size_t *count, cap;
    int width;
};

static int collect_one(void *ctx, uint64_t bits) {
    struct collect *c = ctx;
    if (c->dst && *c->count < c->cap) {
        if (c->width == 4) {
            uint32_t b = (uint32_t)bits;
            memcpy((char *)c->dst + *c->count * 4, &b, 4);
        } else {
            memcpy((char *)c->dst + *c->count * 8, &bits, 8);
        }
    }
    (*c->count)++;
    return 1;
}

static int read_repeated(struct kw__pb *r, uint32_t wire, char kind,
                         void *dst, size_t *count, size_t cap) {
    int width = kind == 'f' ? 4 : kind == 'd' ? 8 : 0;
    struct collect c = {dst, count, cap, width};
    return kw__pb_repeated(r, wire, width, collect_one, &c);
}

struct field_span {
    const uint8_t *start; /* first occurrence (for a second pass) */
    size_t n;             /* elements */
};

enum kw_status kw__tensor_decode(struct kw__pb *msg,
                                 const struct kw__tensor_src *src,
                                 struct kw_onnx_value **out, char *name_buf,
                                 size_t name_size, char *err,
                                 size_t err_size) {
    *out = NULL;
    if (name_buf && name_size) name_buf[0] = '\0';
    size_t start_off = kw__pb_off(msg);
    int64_t dims[KW_ONNX_MAX_RANK];
    int rank = 0, dtype = 0, external = 0;
    const uint8_t *raw = NULL;
    size_t raw_n = 0;
    size_t n_typed = 0, n_strings = 0;
    int typed_field = 0;
    /* external data */
    const uint8_t *loc = NULL;
    size_t loc_n = 0;
    uint64_t ext_off = 0, ext_len = 0;
    int has_ext_len = 0;
    struct kw__pb r = *msg;
    uint32_t f, w;
    int k;
    while ((k = kw__pb_next(&r, &f, &w)) > 0) {
        uint64_t v;
        const uint8_t *p;
        size_t n;
        switch (f) {
        case T_DIMS: {
            size_t cnt = (size_t)rank;
            int64_t tmp[KW_ONNX_MAX_RANK + 1];
            size_t before = cnt;
            /* read into tmp then move: the count may exceed the max rank */
            struct kw__pb save = r;
            size_t c2 = 0;
            if (!read_repeated(&save, w, 'v', NULL, &c2, 0))
                return FAIL("tensor at offset %zu: malformed dims",
                            start_off);
            if (before + c2 > KW_ONNX_MAX_RANK)
                return kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,
                               "tensor at offset %zu: rank %zu (at most %d)",
                               start_off, before + c2, KW_ONNX_MAX_RANK);
            c2 = 0;
            read_repeated(&r, w, 'v', tmp, &c2, KW_ONNX_MAX_RANK + 1);
            for (size_t i = 0; i < c2; i++) dims[before + i] = tmp[i];
            rank = (int)(before + c2);
            break;
        }
        case T_DATA_TYPE:
            if (w != KW_PB_VARINT || !kw__pb_varint(&r, &v))
                return FAIL("tensor at offset %zu: malformed data_type",
                            start_off);
            dtype = (int)v;
            break;
        case T_NAME:
            if (w != KW_PB_LEN || !kw__pb_bytes(&r, &p, &n))
                return FAIL("tensor at offset %zu: malformed name", start_off);
            if (name_buf && name_size)
                snprintf(name_buf, name_size, "%.*s", (int)KW_MIN(n, 4000),
                         (const char *)p);
            break;
        case T_RAW:
            if (w != KW_PB_LEN || !kw__pb_bytes(&r, &raw, &raw_n))
                return FAIL("tensor at offset %zu: malformed raw_data",
                            start_off);
            break;
        case T_FLOAT: case T_INT32: case T_INT64: case T_DOUBLE:
        case T_UINT64: {
            char kind = f == T_FLOAT ? 'f' : f == T_DOUBLE ? 'd' : 'v';
            if (typed_field && typed_field != (int)f)
                return FAIL("tensor at offset %zu: data in two typed fields",
                            start_off);
            typed_field = (int)f;
            if (!read_repeated(&r, w, kind, NULL, &n_typed, 0))
                return FAIL("tensor at offset %zu: malformed field %u",
                            start_off, f);
            break;
        }
        case T_STRING:
            if (w != KW_PB_LEN || !kw__pb_bytes(&r, &p, &n))
                return FAIL("tensor at offset %zu: malformed string_data",
                            start_off);
            n_strings++;
            break;
        case T_EXTERNAL: {
            struct kw__pb e;
            if (w != KW_PB_LEN || !kw__pb_sub(&r, &e))
                return FAIL("tensor at offset %zu: malformed external_data",
                            start_off);
            const uint8_t *key = NULL, *val = NULL;
            size_t kn = 0, vn = 0;
            uint32_t ef, ew;
            int ek;
            while ((ek = kw__pb_next(&e, &ef, &ew)) > 0) {
                if (ew != KW_PB_LEN) {
                    if (!kw__pb_skip(&e, ew)) ek = -1;
                    if (ek < 0) break;
                    continue;
                }
                if (ef == 1 && kw__pb_bytes(&e, &key, &kn)) continue;
                if (ef == 2 && kw__pb_bytes(&e, &val, &vn)) continue;
                if (!kw__pb_skip(&e, ew)) { ek = -1; break; }
            }
            if (ek < 0 || !key || !val)
                return FAIL("tensor at offset %zu: malformed external_data "
                            "entry",
                            start_off);
            char num[32];
            snprintf(num, sizeof num, "%.*s", (int)KW_MIN(vn, 31),
                     (const char *)val);
            if (kn == 8 && !memcmp(key, "location", 8)) {
                loc = val;
                loc_n = vn;
            } else if (kn == 6 && !memcmp(key, "offset", 6)) {
                ext_off = strtoull(num, NULL, 10);
            } else if (kn == 6 && !memcmp(key, "length", 6)) {
                ext_len = strtoull(num, NULL, 10);
                has_ext_len = 1;
            }
            break;
        }
        case T_LOCATION:
            if (w != KW_PB_VARINT || !kw__pb_varint(&r, &v))
                return FAIL("tensor at offset %zu: malformed data_location",
                            start_off);
            external = v == 1;
            break;
        default:
            if (!kw__pb_skip(&r, w))
                return FAIL("tensor at offset %zu: malformed field %u",
                            start_off, f);
        }
    }
    if (k < 0) return FAIL("tensor at offset %zu: malformed field", start_off);
    size_t es = kw_onnx_dtype_size(dtype);
    if (!es)
        return kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,
                       "tensor '%s' at offset %zu: data type %d is not "
                       "supported",
                       name_buf ? name_buf : "", start_off, dtype);
    for (int i = 0; i < rank; i++)
        if (dims[i] < 0)
            return FAIL("tensor '%s' at offset %zu: negative dimension",
                        name_buf ? name_buf : "", start_off);
    struct kw_onnx_value hdr = {.kind = KW_ONNX_TENSOR, .dtype = dtype,
                                .rank = rank};
    memcpy(hdr.dims, dims, sizeof(int64_t) * (size_t)rank);
    uint64_t numel = 1;
    for (int i = 0; i < rank; i++)
        if (!kw__mul_u64(numel, (uint64_t)dims[i], &numel))
            return FAIL("tensor '%s': element count overflows",
                        name_buf ? name_buf : "");
    uint64_t want_bytes;
    if (!kw__mul_u64(numel, es, &want_bytes) || want_bytes > ((uint64_t)1 << 40))
        return FAIL("tensor '%s': %llu elements is too large",
                    name_buf ? name_buf : "", (unsigned long long)numel);

    if (external) {
        if (!src || !src->read_external)
            return kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,
                           "tensor '%s': external data is not allowed here",
                           name_buf ? name_buf : "");
        if (dtype == KW_ONNX_STRING)
            return FAIL("tensor '%s': external string data",
                        name_buf ? name_buf : "");
        if (has_ext_len && ext_len != want_bytes)
            return FAIL("tensor '%s': external length %llu, but %llu "
                        "elements of %zu bytes",
                        name_buf ? name_buf : "",
                        (unsigned long long)ext_len,
                        (unsigned long long)numel, es);
        char path[1024];
        snprintf(path, sizeof path, "%.*s", (int)KW_MIN(loc_n, 1000),
                 loc ? (const char *)loc : "");
        if (!loc || loc_n == 0 || loc_n > 1000 || memchr(loc, 0, loc_n))
            return FAIL("tensor '%s': external data without a valid location",
                        name_buf ? name_buf : "");
        struct kw_onnx_value *v = kw_onnx_tensor_new(dtype, rank, dims);
        if (!v)
            return kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                           "tensor '%s': out of memory", name_buf ? name_buf : "");
        enum kw_status st = src->read_external(src->user, path, ext_off, v->data,
                                               (size_t)want_bytes, name_buf, err,
                                               err_size);
        if (st) {
            kw_onnx_value_free(v);
            return st;
        }
        *out = v;
        return KW_STATUS_OK;
    }

    if (dtype == KW_ONNX_STRING) {
        if (n_strings != numel)
            return FAIL("tensor '%s' at offset %zu: %zu strings for %llu "
                        "elements",
                        name_buf ? name_buf : "", start_off, n_strings,
                        (unsigned long long)numel);
        struct kw_onnx_value *v = kw_onnx_tensor_new(dtype, rank, dims);
        if (!v) return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
        char **s = v->data;
        size_t i = 0;
        r = *msg;
        while (kw__pb_next(&r, &f, &w) > 0) {
            const uint8_t *p;
            size_t n;
            if (f == T_STRING && w == KW_PB_LEN && kw__pb_bytes(&r, &p, &n)) {
                s[i] = malloc(n + 1);
                if (!s[i]) {
                    kw_onnx_value_free(v);
                    return kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                                   "out of memory");
                }
                memcpy(s[i], p, n);
                s[i][n] = '\0';
                i++;
            } else if (!kw__pb_skip(&r, w)) {
                break;
            }
        }
        *out = v;
        return KW_STATUS_OK;
    }

    if (raw) {
        if (raw_n != want_bytes)
            return FAIL("tensor '%s' at offset %zu: raw_data has %zu bytes, "
                        "%llu elements of %zu bytes need %llu",
                        name_buf ? name_buf : "", start_off, raw_n,
                        (unsigned long long)numel, es,
                        (unsigned long long)want_bytes);
        if (src && src->alias_ok && ((uintptr_t)raw % es) == 0) {
            struct kw_onnx_value *v = calloc(1, sizeof *v);
            if (!v) return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
            *v = hdr;
            v->data = (void *)raw;
            v->nbytes = raw_n;
            v->owns_data = 0;
            *out = v;
            return KW_STATUS_OK;
        }
        struct kw_onnx_value *v = kw_onnx_tensor_new(dtype, rank, dims);
        if (!v) return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
        if (raw_n) memcpy(v->data, raw, raw_n);
        *out = v;
        return KW_STATUS_OK;
    }

    /* typed field: which one must match the dtype */
    int want_field;
    switch (dtype) {
    case KW_ONNX_FLOAT: case KW_ONNX_COMPLEX64: want_field = T_FLOAT; break;
    case KW_ONNX_DOUBLE: case KW_ONNX_COMPLEX128: want_field = T_DOUBLE; break;
    case KW_ONNX_INT64: want_field = T_INT64; break;
    case KW_ONNX_UINT32: case KW_ONNX_UINT64: want_field = T_UINT64; break;
    default: want_field = T_INT32;
    }
    uint64_t per = (dtype == KW_ONNX_COMPLEX64 || dtype == KW_ONNX_COMPLEX128) ? 2 : 1;
    if (typed_field && typed_field != want_field)
        return FAIL("tensor '%s' at offset %zu: %s data in field %d",
                    name_buf ? name_buf : "", start_off,
                    kw_onnx_dtype_name(dtype), typed_field);
    if (n_typed != numel * per)
        return FAIL("tensor '%s' at offset %zu: %zu values for %llu elements",
                    name_buf ? name_buf : "", start_off, n_typed,
                    (unsigned long long)numel);
    struct kw_onnx_value *v = kw_onnx_tensor_new(dtype, rank, dims);
    if (!v) return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    if (n_typed) {
        void *tmp = malloc(n_typed * 8);
        if (!tmp) {
            kw_onnx_value_free(v);
            return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
        }
        size_t cnt = 0;
        char kind = want_field == T_FLOAT ? 'f' : want_field == T_DOUBLE ? 'd' : 'v';
        r = *msg;
        while (kw__pb_next(&r, &f, &w) > 0) {
            if ((int)f == want_field)
                read_repeated(&r, w, kind, tmp, &cnt, n_typed);
            else if (!kw__pb_skip(&r, w))
                break;
        }
        const int64_t *iv = tmp;
        if (kind == 'f' || kind == 'd') {
            memcpy(v->data, tmp, n_typed * (kind == 'f' ? 4 : 8));
        } else {
            for (size_t i = 0; i < n_typed; i++) {
                switch (dtype) {
                case KW_ONNX_FLOAT16: case KW_ONNX_BFLOAT16:
                    ((uint16_t *)v->data)[i] = (uint16_t)iv[i];
                    break;
                default: kw__set_i64(v, (int64_t)i, iv[i]);
                }
            }
        }
        free(tmp);
    }
    *out = v;
    return KW_STATUS_OK;
}
