/*
 * value_pb.c — the public value <-> protobuf functions: TensorProto,
 * SequenceProto and OptionalProto as the ONNX test data stores them.
 * Reading copies (the bytes need not outlive the value); writing emits
 * dims, data_type and raw_data (string_data for strings).
 */
#include "onnx/tensor_pb.h"

/* SequenceProto/OptionalProto element kinds. */
enum { ELEM_TENSOR = 1, ELEM_SEQUENCE = 3, ELEM_OPTIONAL = 5 };

static enum kw_status read_value(struct kw__pb *r, int kind, int depth,
                                 struct kw_onnx_value **out, char *err,
                                 size_t err_size);

/* SequenceProto: tensor_values (3), sequence_values (5), optional (7). */
static enum kw_status read_container(struct kw__pb *r, int kind, int depth,
                                     struct kw_onnx_value **out, char *err,
                                     size_t err_size) {
    struct kw_onnx_value *v = calloc(1, sizeof *v);
    if (!v) return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    v->kind = kind;
    enum kw_status st = KW_STATUS_OK;
    uint32_t f, w;
    int k;
    while (!st && (k = kw__pb_next(r, &f, &w)) > 0) {
        uint64_t x;
        struct kw__pb sub;
        if (f == 2 && w == KW_PB_VARINT) {
            if (!kw__pb_varint(r, &x)) { k = -1; break; }
            continue;
        }
        int item_kind = f == 3 ? KW_ONNX_TENSOR : f == 5 ? KW_ONNX_SEQUENCE
                        : f == 7 ? KW_ONNX_OPTIONAL : 0;
        if (!item_kind || w != KW_PB_LEN) {
            if (f == 4 || f == 6)
                st = kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,
                             "sparse tensors and maps are not supported");
            else if (!kw__pb_skip(r, w))
                k = -1;
            if (k < 0) break;
            continue;
        }
        if (!kw__pb_sub(r, &sub)) { k = -1; break; }
        struct kw_onnx_value *item;
        st = read_value(&sub, item_kind, depth + 1, &item, err, err_size);
        if (!st && !kw__sequence_push(v, item)) {
            kw_onnx_value_free(item);
            st = kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
        }
    }
    v->kind = kind; /* kw__sequence_push does not change it */
    if (!st && k < 0)
        st = kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                     "malformed %s at offset %zu",
                     kind == KW_ONNX_SEQUENCE ? "SequenceProto" : "OptionalProto",
                     kw__pb_off(r));
    if (!st && kind == KW_ONNX_OPTIONAL && v->n_items > 1)
        st = kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                     "OptionalProto with %zu values", v->n_items);
    if (st) {
        kw_onnx_value_free(v);
        return st;
    }
    *out = v;
    return KW_STATUS_OK;
}

static enum kw_status read_value(struct kw__pb *r, int kind, int depth,
                                 struct kw_onnx_value **out, char *err,
                                 size_t err_size) {
    *out = NULL;
    if (depth > 16)
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "values nested deeper than 16");
    if (kind == KW_ONNX_TENSOR)
        return kw__tensor_decode(r, NULL, out, NULL, 0, err, err_size);
    if (kind == KW_ONNX_SEQUENCE || kind == KW_ONNX_OPTIONAL)
        return read_container(r, kind, depth, out, err, err_size);
    return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                   "unknown value kind %d", kind);
}

enum kw_status kw_onnx_value_read_pb(const void *bytes, size_t n, int kind,
                                     struct kw_onnx_value **out, char *err,
                                     size_t err_size) {
    if (!out || (!bytes && n))
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG, "NULL argument");
    struct kw__pb r = {bytes, (const uint8_t *)bytes + n, bytes};
    return read_value(&r, kind, 0, out, err, err_size);
}

/* ---- writing ---- */

struct buf {
    uint8_t *p;
    size_t n, cap;
    int failed;
};

static void put(struct buf *b, const void *data, size_t n) {
    if (b->failed) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_varint(struct buf *b, uint64_t v) {
    uint8_t tmp[10];
    int n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) tmp[n] |= 0x80;
        n++;
    } while (v);
    put(b, tmp, (size_t)n);
}

static void put_key(struct buf *b, uint32_t field, uint32_t wire) {
    put_varint(b, ((uint64_t)field << 3) | wire);
}

static void put_bytes(struct buf *b, uint32_t field, const void *p, size_t n) {
    put_key(b, field, KW_PB_LEN);
    put_varint(b, n);
    put(b, p, n);
}

static void write_value(struct buf *b, const struct kw_onnx_value *v,
                        const char *name, int depth);

static void write_tensor(struct buf *b, const struct kw_onnx_value *v,
                         const char *name) {
    for (int i = 0; i < v->rank; i++) {
        put_key(b, 1, KW_PB_VARINT);
        put_varint(b, (uint64_t)v->dims[i]);
    }
    put_key(b, 2, KW_PB_VARINT);
    put_varint(b, (uint64_t)v->dtype);
    if (name && *name) put_bytes(b, 8, name, strlen(name));
    if (v->dtype == KW_ONNX_STRING) {
        char *const *s = v->data;
        for (int64_t i = 0; i < kw_onnx_numel(v); i++)
            put_bytes(b, 6, s[i] ? s[i] : "", s[i] ? strlen(s[i]) : 0);
    } else {
        put_bytes(b, 9, v->data, v->nbytes);
    }
}

/* A nested message: written to its own buffer, then length-prefixed. */
static void put_message(struct buf *b, uint32_t field,
                        const struct kw_onnx_value *v, int depth) {
    struct buf sub = {0};
    write_value(&sub, v, NULL, depth + 1);
    if (sub.failed) b->failed = 1;
    put_bytes(b, field, sub.p ? sub.p : (const uint8_t *)"", sub.n);
    free(sub.p);
}

static int elem_kind(const struct kw_onnx_value *v) {
    return v->kind == KW_ONNX_SEQUENCE ? ELEM_SEQUENCE
           : v->kind == KW_ONNX_OPTIONAL || v->kind == KW_ONNX_NONE ? ELEM_OPTIONAL
                                                                    : ELEM_TENSOR;
}

static void write_value(struct buf *b, const struct kw_onnx_value *v,
                        const char *name, int depth) {
    if (depth > 16) {
        b->failed = 1;
        return;
    }
    if (v->kind == KW_ONNX_TENSOR) {
        write_tensor(b, v, name);
        return;
    }
    if (name && *name) put_bytes(b, 1, name, strlen(name));
    put_key(b, 2, KW_PB_VARINT);
    put_varint(b, v->n_items ? (uint64_t)elem_kind(v->items[0]) : ELEM_TENSOR);
    for (size_t i = 0; i < v->n_items; i++) {
        const struct kw_onnx_value *it = v->items[i];
        uint32_t field = it->kind == KW_ONNX_SEQUENCE ? 5
                         : it->kind == KW_ONNX_TENSOR ? 3 : 7;
        put_message(b, field, it, depth);
    }
}

enum kw_status kw_onnx_value_write_pb(const struct kw_onnx_value *v,
                                      const char *name, void **out, size_t *n,
                                      char *err, size_t err_size) {
    if (!v || !out || !n)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG, "NULL argument");
    struct buf b = {0};
    write_value(&b, v, name, 0);
    if (b.failed) {
        free(b.p);
        return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    }
    *out = b.p ? b.p : malloc(1);
    *n = b.n;
    return KW_STATUS_OK;
}
