/*
 * gguf.c — GGUF v2/v3 reader (see include/kaiwu/gguf.h for the contract).
 * kw_gguf_open maps the file read-only, kw_gguf_open_memory borrows a buffer;
 * both run parse_all, which validates the whole header in one forward pass
 * (every count and length bounded by the bytes left before anything is
 * allocated) and builds hash indexes, so every getter afterwards is O(1) and
 * cannot step outside the file. Strings stay in the mapping; only keys and
 * tensor names are copied (NUL-terminated).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "cpu/kernels.h"
#include "kaiwu/gguf.h"

#define GGUF_HEADER_BYTES 24 /* magic, version, n_tensors, n_kv */
/* Smallest possible encodings, used to bound counts by the bytes left:
 * a kv is key length + 1-byte key + type + 1-byte value; a tensor info is
 * name length + 1-byte name + n_dims + one dim + type + offset. */
#define GGUF_MIN_KV_BYTES 14
#define GGUF_MIN_TENSOR_BYTES 33
#define GGUF_MAX_NAME 63                   /* ggml's GGML_MAX_NAME - 1 */
#define GGUF_MAX_STRING (1ull << 30)       /* same caps as ggml */
#define GGUF_MAX_ARRAY (1ull << 30)
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_N_TYPES 13

/* Where a key or tensor name sits in the file; first member of both
 * gguf_kv and gguf_tensor so the name hash tables can serve both. */
struct name_ref {
    uint64_t off;
    uint64_t len;
};

struct gguf_kv {
    struct name_ref ref; /* the key bytes in the file */
    const char *key;     /* NUL-terminated copy in g->names */
    uint32_t type;     /* enum kw_gguf_type */
    uint32_t arr_type; /* element type when type == ARRAY */
    uint64_t n;        /* STRING: byte length; ARRAY: element count */
    uint64_t off;      /* file offset of the value (of element 0 for arrays,
                          of the bytes for a STRING) */
    uint64_t *str_off; /* ARRAY of STRING: offset of each element's bytes
                          (its 8-byte length sits just before) */
};

struct gguf_tensor {
    struct name_ref ref; /* the name bytes in the file */
    const char *name;    /* NUL-terminated copy in g->names */
    uint64_t info_off; /* file offset of the n_dims field, for messages */
    uint32_t type;
    uint32_t n_dims;
    int64_t ne[4];
    uint64_t offset; /* relative to data_offset */
    uint64_t size;   /* bytes */
};

struct kw_gguf {
    const uint8_t *base;
    uint64_t size;
    void *map; /* non-NULL when we own an mmap of map_size bytes */
    size_t map_size;
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;
    int64_t n_kv;
    int64_t n_tensors;
    struct gguf_kv *kv; /* kv_cap entries, the first n_kv in use */
    struct gguf_tensor *tensors;
    uint64_t kv_cap, tensor_cap;
    int64_t *kv_hash; /* open addressing, -1 = empty */
    uint64_t kv_hash_mask;
    int64_t *tensor_hash;
    uint64_t tensor_hash_mask;
    char *names; /* all keys and tensor names, NUL-terminated */
};

/* Bytes per element of the scalar value types; 0 for STRING and ARRAY. */
static const uint8_t k_value_size[GGUF_N_TYPES] = {1, 1, 2, 2, 4, 4, 4,
                                                   1, 0, 0, 8, 8, 8};
static const char *const k_value_name[GGUF_N_TYPES] = {
    "uint8", "int8",  "uint16", "int16",  "uint32", "int32", "float32",
    "bool",  "string", "array", "uint64", "int64",  "float64"};

static const char *value_name(uint32_t t) {
    return t < GGUF_N_TYPES ? k_value_name[t] : "unknown";
}

/* ---- little-endian loads (unaligned) -------------------------------- */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf.c reads GGUF fields with native loads: little-endian hosts only"
#endif

static uint16_t ld_u16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}
static uint32_t ld_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t ld_u64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* ---- hashing of names (FNV-1a) ---------------------------------------- */

static uint64_t hash_bytes(const uint8_t *p, uint64_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* A table of at least 2n slots (power of two), all -1; NULL on overflow or
 * allocation failure. n is already bounded by the file size. */
static int64_t *hash_new(uint64_t n, uint64_t *mask) {
    uint64_t cap = 2;
    while (cap < 2 * n) cap *= 2;
    size_t bytes;
    if (cap > SIZE_MAX || !kw__mul_size((size_t)cap, sizeof(int64_t), &bytes))
        return NULL;
    int64_t *t = malloc(bytes);
    if (!t) return NULL;
    memset(t, 0xff, bytes); /* every slot -1 */
    *mask = cap - 1;
    return t;
}

/* ---- the validating reader ------------------------------------------- */

struct rd {
    const uint8_t *p;
    uint64_t size;
    uint64_t pos;
    const char *name; /* file name for messages */
    char *err;
    size_t err_size;
    char ctx[128]; /* "key 'x': " / "tensor 'y': " prefix for messages */
};

static enum kw_status rd_fail_st(struct rd *r, enum kw_status st,
                                 uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum kw_status rd_fail_st(struct rd *r, enum kw_status st,
                                 uint64_t off, const char *fmt, ...) {
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return kw__err(r->err, r->err_size, st, "%s: %s%s (offset %llu)",
                   r->name, r->ctx, msg, (unsigned long long)off);
}
#define rd_fail(r, off, ...) rd_fail_st(r, KW_STATUS_ERR_FORMAT, off, __VA_ARGS__)
#define TRY(x)                                                                \
    do {                                                                      \
        enum kw_status st_ = (x);                                             \
        if (st_ != KW_STATUS_OK) return st_;                                  \
    } while (0)

static uint64_t rd_left(const struct rd *r) { return r->size - r->pos; }

/* Message-safe rendering of an untrusted name: printable ASCII and UTF-8
 * bytes kept, control bytes and quotes shown as '?', long names cut. */
static void printable(char *dst, size_t cap, const uint8_t *s, uint64_t n) {
    size_t o = 0;
    const size_t keep = cap > 4 ? cap - 4 : 0;
    for (uint64_t i = 0; i < n && o < keep; i++)
        dst[o++] = (s[i] < 0x20 || s[i] == 0x7f || s[i] == '\'') ? '?'
                                                                : (char)s[i];
    if (o < n && cap > 4) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = 0;
}

static void rd_ctx(struct rd *r, const char *what, const uint8_t *s,
                   uint64_t n) {
    char shown[96];
    printable(shown, sizeof shown, s, n);
    snprintf(r->ctx, sizeof r->ctx, "%s '%s': ", what, shown);
}

static enum kw_status rd_need(struct rd *r, uint64_t n, const char *what) {
    if (n > rd_left(r))
        return rd_fail(r, r->pos,
                       "%s needs %llu bytes but only %llu are left", what,
                       (unsigned long long)n,
                       (unsigned long long)rd_left(r));
    return KW_STATUS_OK;
}

static enum kw_status rd_u32(struct rd *r, uint32_t *v, const char *what) {
    TRY(rd_need(r, 4, what));
    *v = ld_u32(r->p + r->pos);
    r->pos += 4;
    return KW_STATUS_OK;
}

static enum kw_status rd_u64(struct rd *r, uint64_t *v, const char *what) {
    TRY(rd_need(r, 8, what));
    *v = ld_u64(r->p + r->pos);
    r->pos += 8;
    return KW_STATUS_OK;
}

/* A length-prefixed string: *off = offset of its bytes, *len its length. */
static enum kw_status rd_str(struct rd *r, uint64_t *off, uint64_t *len,
                             const char *what) {
    const uint64_t at = r->pos;
    uint64_t n;
    TRY(rd_u64(r, &n, what));
    if (n > rd_left(r))
        return rd_fail(r, at, "%s length %llu exceeds the %llu bytes left",
                       what, (unsigned long long)n,
                       (unsigned long long)rd_left(r));
    if (n > GGUF_MAX_STRING)
        return rd_fail(r, at, "%s length %llu exceeds the 1 GiB limit", what,
                       (unsigned long long)n);
    *off = r->pos;
    *len = n;
    r->pos += n;
    return KW_STATUS_OK;
}

static const struct name_ref *ref_at(const void *items, size_t stride,
                                     int64_t idx) {
    return (const struct name_ref *)((const char *)items +
                                     (size_t)idx * stride);
}

/* Inserts entry idx (name at p, n bytes) unless the name is already there;
 * returns the earlier index or -1. items/stride: the kv or tensor array. */
static int64_t hash_insert(int64_t *tab, uint64_t mask, const uint8_t *base,
                           const uint8_t *p, uint64_t n, int64_t idx,
                           const void *items, size_t stride) {
    uint64_t h = hash_bytes(p, n) & mask;
    for (;;) {
        const int64_t e = tab[h];
        if (e < 0) {
            tab[h] = idx;
            return -1;
        }
        const struct name_ref *ref = ref_at(items, stride, e);
        if (ref->len == n && memcmp(base + ref->off, p, (size_t)n) == 0)
            return e;
        h = (h + 1) & mask;
    }
}

static int64_t hash_find(const int64_t *tab, uint64_t mask,
                         const uint8_t *base, const char *name,
                         const void *items, size_t stride) {
    if (!tab || !items || !name) return -1;
    const uint64_t n = strlen(name);
    uint64_t h = hash_bytes((const uint8_t *)name, n) & mask;
    for (;;) {
        const int64_t e = tab[h];
        if (e < 0) return -1;
        const struct name_ref *ref = ref_at(items, stride, e);
        if (ref->len == n && memcmp(base + ref->off, name, (size_t)n) == 0)
            return e;
        h = (h + 1) & mask;
    }
}

/* Entry arrays and their name hashes grow geometrically while entries are
 * parsed, so a count that the file cannot back costs no more memory than
 * the bytes parsed so far. next_cap: the capacity after cap (final count n,
 * cap < n). rehash: a new table of n_alloc's size over entries [0, used). */
static uint64_t next_cap(uint64_t cap, uint64_t n) {
    const uint64_t nc = cap ? cap * 2 : 64;
    return nc < n ? nc : n;
}

static int rehash(int64_t **tab, uint64_t *mask, uint64_t n_alloc,
                  const void *items, size_t stride, uint64_t used,
                  const uint8_t *base) {
    uint64_t m;
    int64_t *t = hash_new(n_alloc, &m);
    if (!t) return 0;
    for (uint64_t k = 0; k < used; k++) {
        const struct name_ref *ref = ref_at(items, stride, (int64_t)k);
        hash_insert(t, m, base, base + ref->off, ref->len, (int64_t)k, items,
                    stride);
    }
    free(*tab);
    *tab = t;
    *mask = m;
    return 1;
}

/* ---- header pieces ---------------------------------------------------- */

static enum kw_status parse_header(struct rd *r, struct kw_gguf *g,
                                   uint64_t *n_tensors, uint64_t *n_kv) {
    if (r->size < GGUF_HEADER_BYTES)
        return rd_fail(r, 0,
                       "file is %llu bytes, too small for a GGUF header "
                       "(%d bytes)",
                       (unsigned long long)r->size, GGUF_HEADER_BYTES);
    if (memcmp(r->p, "GGUF", 4) != 0)
        return rd_fail(r, 0, "not a GGUF file (magic %02x %02x %02x %02x)",
                       r->p[0], r->p[1], r->p[2], r->p[3]);
    r->pos = 4;
    uint32_t v;
    TRY(rd_u32(r, &v, "version"));
    if (v == 0) return rd_fail(r, 4, "invalid version 0");
    if ((v & 0xffffu) == 0)
        return rd_fail_st(r, KW_STATUS_ERR_UNSUPPORTED, 4,
                          "version field 0x%08x looks byte-swapped: "
                          "big-endian GGUF files are not supported",
                          v);
    if (v == 1)
        return rd_fail_st(r, KW_STATUS_ERR_UNSUPPORTED, 4,
                          "GGUF v1 is not supported (only v2 and v3); "
                          "convert it with a current llama.cpp");
    if (v > 3)
        return rd_fail_st(r, KW_STATUS_ERR_UNSUPPORTED, 4,
                          "GGUF version %u is not supported (only v2 and v3)",
                          v);
    g->version = v;
    TRY(rd_u64(r, n_tensors, "tensor count"));
    TRY(rd_u64(r, n_kv, "key/value count"));
    /* Bound both counts by the bytes left before allocating anything;
     * each product below cannot overflow once its factor is bounded. */
    const uint64_t left = rd_left(r);
    if (*n_kv > left / GGUF_MIN_KV_BYTES)
        return rd_fail(r, 16,
                       "key/value count %llu cannot fit in the %llu bytes "
                       "left (each needs at least %d)",
                       (unsigned long long)*n_kv, (unsigned long long)left,
                       GGUF_MIN_KV_BYTES);
    if (*n_tensors > left / GGUF_MIN_TENSOR_BYTES ||
        *n_kv * GGUF_MIN_KV_BYTES + *n_tensors * GGUF_MIN_TENSOR_BYTES > left)
        return rd_fail(r, 8,
                       "tensor count %llu cannot fit in the %llu bytes left "
                       "after %llu key/value pairs (each tensor needs at "
                       "least %d)",
                       (unsigned long long)*n_tensors,
                       (unsigned long long)left, (unsigned long long)*n_kv,
                       GGUF_MIN_TENSOR_BYTES);
    return KW_STATUS_OK;
}

/* The value of kv (type already read); r->pos at its first byte. */
static enum kw_status parse_value(struct rd *r, struct gguf_kv *kv,
                                  uint64_t type_off) {
    if (kv->type == KW_GGUF_STRING)
        return rd_str(r, &kv->off, &kv->n, "string");
    if (kv->type != KW_GGUF_ARRAY) {
        if (kv->type >= GGUF_N_TYPES)
            return rd_fail(r, type_off, "unknown value type %u", kv->type);
        kv->off = r->pos;
        TRY(rd_need(r, k_value_size[kv->type], value_name(kv->type)));
        r->pos += k_value_size[kv->type];
        return KW_STATUS_OK;
    }
    const uint64_t at = r->pos;
    TRY(rd_u32(r, &kv->arr_type, "array element type"));
    if (kv->arr_type == KW_GGUF_ARRAY)
        return rd_fail(r, at, "nested arrays are not supported");
    if (kv->arr_type >= GGUF_N_TYPES)
        return rd_fail(r, at, "unknown array element type %u", kv->arr_type);
    const uint64_t n_at = r->pos;
    TRY(rd_u64(r, &kv->n, "array length"));
    const uint64_t n = kv->n;
    /* a string element needs at least its 8-byte length */
    const uint64_t min_elem = kv->arr_type == KW_GGUF_STRING
                                  ? 8
                                  : k_value_size[kv->arr_type];
    if (n > rd_left(r) / min_elem)
        return rd_fail(r, n_at,
                       "array length %llu exceeds the %llu bytes left",
                       (unsigned long long)n,
                       (unsigned long long)rd_left(r));
    if (n > GGUF_MAX_ARRAY)
        return rd_fail(r, n_at, "array length %llu exceeds the 2^30 limit",
                       (unsigned long long)n);
    kv->off = r->pos;
    if (kv->arr_type != KW_GGUF_STRING) {
        r->pos += n * min_elem;
        return KW_STATUS_OK;
    }
    kv->str_off = malloc(n ? (size_t)n * sizeof(uint64_t) : 1);
    if (!kv->str_off)
        return rd_fail_st(r, KW_STATUS_ERR_NOMEM, n_at,
                          "out of memory for %llu string offsets",
                          (unsigned long long)n);
    for (uint64_t j = 0; j < n; j++) {
        const uint64_t at_j = r->pos;
        uint64_t len;
        if (rd_left(r) < 8)
            return rd_fail(r, at_j,
                           "string element %llu: length needs 8 bytes but "
                           "only %llu are left",
                           (unsigned long long)j,
                           (unsigned long long)rd_left(r));
        len = ld_u64(r->p + at_j);
        r->pos += 8;
        if (len > rd_left(r))
            return rd_fail(r, at_j,
                           "string element %llu: length %llu exceeds the "
                           "%llu bytes left",
                           (unsigned long long)j, (unsigned long long)len,
                           (unsigned long long)rd_left(r));
        if (len > GGUF_MAX_STRING)
            return rd_fail(r, at_j,
                           "string element %llu: length %llu exceeds the "
                           "1 GiB limit",
                           (unsigned long long)j, (unsigned long long)len);
        kv->str_off[j] = r->pos;
        r->pos += len;
    }
    return KW_STATUS_OK;
}

static enum kw_status parse_kvs(struct rd *r, struct kw_gguf *g,
                                uint64_t n_kv) {
    for (uint64_t i = 0; i < n_kv; i++) {
        if (i == g->kv_cap) {
            const uint64_t nc = next_cap(g->kv_cap, n_kv);
            struct gguf_kv *p = realloc(g->kv, (size_t)nc * sizeof *p);
            if (p) {
                memset(p + g->kv_cap, 0, (size_t)(nc - g->kv_cap) * sizeof *p);
                g->kv = p;
                g->kv_cap = nc;
            }
            if (!p || !rehash(&g->kv_hash, &g->kv_hash_mask, nc, p, sizeof *p,
                              i, r->p))
                return rd_fail_st(r, KW_STATUS_ERR_NOMEM, r->pos,
                                  "out of memory for %llu key/value pairs",
                                  (unsigned long long)n_kv);
        }
        struct gguf_kv *kv = &g->kv[i];
        const uint64_t at = r->pos;
        snprintf(r->ctx, sizeof r->ctx, "key #%llu: ",
                 (unsigned long long)i);
        TRY(rd_str(r, &kv->ref.off, &kv->ref.len, "key"));
        if (kv->ref.len == 0) return rd_fail(r, at, "empty key");
        const uint8_t *key = r->p + kv->ref.off;
        rd_ctx(r, "key", key, kv->ref.len);
        if (memchr(key, 0, (size_t)kv->ref.len))
            return rd_fail(r, at, "key contains a NUL byte");
        const int64_t prev =
            hash_insert(g->kv_hash, g->kv_hash_mask, r->p, key, kv->ref.len,
                        (int64_t)i, (g)->kv, sizeof(struct gguf_kv));
        if (prev >= 0)
            return rd_fail(r, at, "duplicate key (also entry #%lld)",
                           (long long)prev);
        const uint64_t type_off = r->pos;
        TRY(rd_u32(r, &kv->type, "value type"));
        TRY(parse_value(r, kv, type_off));
    }
    g->n_kv = (int64_t)n_kv;
    r->ctx[0] = 0;
    return KW_STATUS_OK;
}

static enum kw_status parse_alignment(struct rd *r, struct kw_gguf *g) {
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const int64_t i = kw_gguf_find_key(g, "general.alignment");
    if (i < 0) return KW_STATUS_OK;
    const struct gguf_kv *kv = &g->kv[i];
    snprintf(r->ctx, sizeof r->ctx, "key 'general.alignment': ");
    if (kv->type != KW_GGUF_UINT32)
        return rd_fail(r, kv->ref.off, "must be uint32 but is %s",
                       value_name(kv->type));
    const uint32_t a = ld_u32(r->p + kv->off);
    if (a == 0 || (a & (a - 1)) != 0)
        return rd_fail(r, kv->off,
                       "alignment %u is not a non-zero power of two", a);
    g->alignment = a;
    r->ctx[0] = 0;
    return KW_STATUS_OK;
}

/* One tensor info; checks everything that does not need the data offset. */
static enum kw_status parse_tensor(struct rd *r, struct kw_gguf *g,
                                   struct gguf_tensor *t, int64_t idx) {
    const uint64_t at = r->pos;
    snprintf(r->ctx, sizeof r->ctx, "tensor #%lld: ", (long long)idx);
    TRY(rd_str(r, &t->ref.off, &t->ref.len, "tensor name"));
    const uint8_t *name = r->p + t->ref.off;
    if (t->ref.len == 0) return rd_fail(r, at, "empty tensor name");
    rd_ctx(r, "tensor", name, t->ref.len);
    if (t->ref.len > GGUF_MAX_NAME)
        return rd_fail(r, at, "name is %llu bytes, longer than the %d allowed",
                       (unsigned long long)t->ref.len, GGUF_MAX_NAME);
    if (memchr(name, 0, (size_t)t->ref.len))
        return rd_fail(r, at, "name contains a NUL byte");
    const int64_t prev =
        hash_insert(g->tensor_hash, g->tensor_hash_mask, r->p, name,
                    t->ref.len, idx, (g)->tensors, sizeof(struct gguf_tensor));
    if (prev >= 0)
        return rd_fail(r, at, "duplicate tensor name (also tensor #%lld)",
                       (long long)prev);

    t->info_off = r->pos;
    TRY(rd_u32(r, &t->n_dims, "n_dims"));
    if (t->n_dims < 1 || t->n_dims > 4)
        return rd_fail(r, t->info_off, "n_dims %u is not in 1..4",
                       t->n_dims);
    int64_t n_elem = 1;
    for (uint32_t d = 0; d < 4; d++) {
        t->ne[d] = 1;
        if (d >= t->n_dims) continue;
        const uint64_t d_at = r->pos;
        uint64_t ne;
        TRY(rd_u64(r, &ne, "dimension"));
        if (ne == 0 || ne > (uint64_t)INT64_MAX)
            return rd_fail(r, d_at,
                           "dimension %u is %llu, must be in 1..2^63-1", d,
                           (unsigned long long)ne);
        t->ne[d] = (int64_t)ne;
        if (__builtin_mul_overflow(n_elem, t->ne[d], &n_elem))
            return rd_fail(r, d_at,
                           "shape overflows: more than 2^63-1 elements at "
                           "dimension %u",
                           d);
    }
    const uint64_t type_at = r->pos;
    TRY(rd_u32(r, &t->type, "tensor type"));
    const struct kw__type_traits *tr = kw__traits(t->type);
    if (!tr) return rd_fail(r, type_at, "unknown tensor type %u", t->type);
    if (t->ne[0] % tr->blck_size != 0)
        return rd_fail(r, t->info_off,
                       "ne[0] = %lld is not a multiple of the block size "
                       "%lld of type %s",
                       (long long)t->ne[0], (long long)tr->blck_size,
                       tr->name);
    uint64_t bytes = 0;
    int ok = kw__mul_u64((uint64_t)(t->ne[0] / tr->blck_size), tr->type_size,
                         &bytes);
    for (int d = 1; d < 4 && ok; d++)
        ok = kw__mul_u64(bytes, (uint64_t)t->ne[d], &bytes);
    if (!ok) return rd_fail(r, t->info_off, "size in bytes overflows");
    t->size = bytes;
    const uint64_t off_at = r->pos;
    TRY(rd_u64(r, &t->offset, "data offset"));
    if (t->offset % g->alignment != 0)
        return rd_fail(r, off_at,
                       "data offset %llu is not a multiple of the alignment "
                       "%llu",
                       (unsigned long long)t->offset,
                       (unsigned long long)g->alignment);
    return KW_STATUS_OK;
}

struct span {
    uint64_t begin;
    uint64_t end;
    int64_t idx;
};

static int by_offset(const void *a, const void *b) {
    const struct span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Data bounds and overlaps, once the data section's start is known. */
static enum kw_status check_data(struct rd *r, struct kw_gguf *g) {
    const uint64_t room = r->size - g->data_offset;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        const struct gguf_tensor *t = &g->tensors[i];
        if (t->offset > room || t->size > room - t->offset) {
            rd_ctx(r, "tensor", r->p + t->ref.off, t->ref.len);
            return rd_fail(r, t->info_off,
                           "data of %llu bytes at data offset %llu "
                           "(file offset %llu) runs past the end of the file "
                           "(%llu bytes)",
                           (unsigned long long)t->size,
                           (unsigned long long)t->offset,
                           (unsigned long long)(g->data_offset + t->offset),
                           (unsigned long long)r->size);
        }
    }
    if (g->n_tensors < 2) return KW_STATUS_OK;
    struct span *s = malloc((size_t)g->n_tensors * sizeof *s);
    if (!s)
        return rd_fail_st(r, KW_STATUS_ERR_NOMEM, g->data_offset,
                          "out of memory checking tensor overlaps");
    for (int64_t i = 0; i < g->n_tensors; i++) {
        s[i].begin = g->tensors[i].offset;
        s[i].end = g->tensors[i].offset + g->tensors[i].size;
        s[i].idx = i;
    }
    qsort(s, (size_t)g->n_tensors, sizeof *s, by_offset);
    for (int64_t i = 1; i < g->n_tensors; i++) {
        if (s[i].begin >= s[i - 1].end) continue;
        const struct gguf_tensor *a = &g->tensors[s[i - 1].idx];
        const struct gguf_tensor *b = &g->tensors[s[i].idx];
        char an[96];
        printable(an, sizeof an, r->p + a->ref.off, a->ref.len);
        rd_ctx(r, "tensor", r->p + b->ref.off, b->ref.len);
        const uint64_t b_off = b->offset, a0 = a->offset, a1 = a0 + a->size;
        free(s);
        return rd_fail(r, b->info_off,
                       "data at data offset %llu overlaps tensor '%s' "
                       "[%llu, %llu)",
                       (unsigned long long)b_off, an, (unsigned long long)a0,
                       (unsigned long long)a1);
    }
    free(s);
    return KW_STATUS_OK;
}

static enum kw_status parse_tensors(struct rd *r, struct kw_gguf *g,
                                    uint64_t n) {
    if (n > rd_left(r) / GGUF_MIN_TENSOR_BYTES)
        return rd_fail(r, r->pos,
                       "tensor count %llu cannot fit in the %llu bytes left",
                       (unsigned long long)n, (unsigned long long)rd_left(r));
    for (uint64_t i = 0; i < n; i++) {
        if (i == g->tensor_cap) {
            const uint64_t nc = next_cap(g->tensor_cap, n);
            struct gguf_tensor *p = realloc(g->tensors, (size_t)nc * sizeof *p);
            if (p) {
                g->tensors = p;
                g->tensor_cap = nc;
            }
            if (!p || !rehash(&g->tensor_hash, &g->tensor_hash_mask, nc, p,
                              sizeof *p, i, r->p))
                return rd_fail_st(r, KW_STATUS_ERR_NOMEM, r->pos,
                                  "out of memory for %llu tensors",
                                  (unsigned long long)n);
        }
        TRY(parse_tensor(r, g, &g->tensors[i], (int64_t)i));
    }
    g->n_tensors = (int64_t)n;
    r->ctx[0] = 0;
    const uint64_t end = r->pos;
    if (n == 0) { /* nothing to align to; ggml does the same */
        g->data_offset = end;
        return KW_STATUS_OK;
    }
    const uint64_t pad = (g->alignment - end % g->alignment) % g->alignment;
    if (pad > r->size - end)
        return rd_fail(r, end,
                       "tensor data would start at %llu, past the end of "
                       "the file (%llu bytes)",
                       (unsigned long long)(end + pad),
                       (unsigned long long)r->size);
    g->data_offset = end + pad;
    return check_data(r, g);
}

/* NUL-terminated copies of every key and tensor name, in one block. */
static enum kw_status copy_names(struct rd *r, struct kw_gguf *g) {
    uint64_t total = 1;
    for (int64_t i = 0; i < g->n_kv; i++) total += g->kv[i].ref.len + 1;
    for (int64_t i = 0; i < g->n_tensors; i++)
        total += g->tensors[i].ref.len + 1;
    /* total <= file size + counts, so it fits size_t once the file did */
    g->names = malloc((size_t)total);
    if (!g->names)
        return rd_fail_st(r, KW_STATUS_ERR_NOMEM, 0,
                          "out of memory for %llu bytes of names",
                          (unsigned long long)total);
    char *o = g->names;
    for (int64_t i = 0; i < g->n_kv; i++) {
        memcpy(o, r->p + g->kv[i].ref.off, (size_t)g->kv[i].ref.len);
        g->kv[i].key = o;
        o += g->kv[i].ref.len;
        *o++ = 0;
    }
    for (int64_t i = 0; i < g->n_tensors; i++) {
        struct gguf_tensor *t = &g->tensors[i];
        memcpy(o, r->p + t->ref.off, (size_t)t->ref.len);
        t->name = o;
        o += t->ref.len;
        *o++ = 0;
    }
    return KW_STATUS_OK;
}

static enum kw_status parse_all(struct rd *r, struct kw_gguf *g) {
    uint64_t n_tensors = 0, n_kv = 0;
    TRY(parse_header(r, g, &n_tensors, &n_kv));
    TRY(parse_kvs(r, g, n_kv));
    TRY(parse_alignment(r, g));
    TRY(parse_tensors(r, g, n_tensors));
    return copy_names(r, g);
}

/* Takes ownership of map (may be NULL) whatever the outcome. */
static enum kw_status open_bytes(const uint8_t *base, uint64_t size,
                                 const char *name, void *map, size_t map_size,
                                 struct kw_gguf **out, char *err,
                                 size_t err_size) {
    struct kw_gguf *g = calloc(1, sizeof *g);
    if (!g) {
        if (map) munmap(map, map_size);
        return kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                       "%s: out of memory", name);
    }
    g->base = base;
    g->size = size;
    g->map = map;
    g->map_size = map_size;
    struct rd r = {.p = base, .size = size, .name = name, .err = err,
                   .err_size = err_size};
    r.ctx[0] = 0;
    const enum kw_status st = parse_all(&r, g);
    if (st != KW_STATUS_OK) {
        kw_gguf_free(g);
        return st;
    }
    *out = g;
    return KW_STATUS_OK;
}

/* ---- public: open / free -------------------------------------------- */

enum kw_status kw_gguf_open(const char *path, struct kw_gguf **out,
                            char *err, size_t err_size) {
    if (out) *out = NULL;
    if (!path || !out)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "kw_gguf_open: path and out must not be NULL");
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kw__err(err, err_size, KW_STATUS_ERR_IO, "%s: cannot open: %s",
                       path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        const int e = errno;
        close(fd);
        return kw__err(err, err_size, KW_STATUS_ERR_IO, "%s: cannot stat: %s",
                       path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return kw__err(err, err_size, KW_STATUS_ERR_IO,
                       "%s: not a regular file", path);
    }
    const uint64_t size = (uint64_t)sb.st_size;
    if (size < GGUF_HEADER_BYTES) {
        close(fd);
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "%s: file is %llu bytes, too small for a GGUF header "
                       "(%d bytes) (offset 0)",
                       path, (unsigned long long)size, GGUF_HEADER_BYTES);
    }
    if (size > SIZE_MAX) {
        close(fd);
        return kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,
                       "%s: file of %llu bytes is too large to map", path,
                       (unsigned long long)size);
    }
    void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int e = errno;
    close(fd);
    if (m == MAP_FAILED)
        return kw__err(err, err_size,
                       e == ENOMEM ? KW_STATUS_ERR_NOMEM : KW_STATUS_ERR_IO,
                       "%s: cannot map %llu bytes: %s", path,
                       (unsigned long long)size, strerror(e));
    return open_bytes(m, size, path, m, (size_t)size, out, err, err_size);
}

enum kw_status kw_gguf_open_memory(const void *data, size_t size,
                                   const char *name, struct kw_gguf **out,
                                   char *err, size_t err_size) {
    if (out) *out = NULL;
    if (!name) name = "<memory>";
    if (!out || (!data && size))
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "%s: data (when size > 0) and out must not be NULL",
                       name);
    static const uint8_t empty[1];
    return open_bytes(data ? data : empty, size, name, NULL, 0, out, err,
                      err_size);
}

void kw_gguf_free(struct kw_gguf *g) {
    if (!g) return;
    if (g->kv)
        for (uint64_t i = 0; i < g->kv_cap; i++) free(g->kv[i].str_off);
    free(g->kv);
    free(g->kv_hash);
    free(g->tensors);
    free(g->tensor_hash);
    free(g->names);
    if (g->map) munmap(g->map, g->map_size);
    free(g);
}

uint32_t kw_gguf_version(const struct kw_gguf *g) { return g ? g->version : 0; }
size_t kw_gguf_alignment(const struct kw_gguf *g) {
    return g ? (size_t)g->alignment : 0;
}
uint64_t kw_gguf_data_offset(const struct kw_gguf *g) {
    return g ? g->data_offset : 0;
}
uint64_t kw_gguf_file_size(const struct kw_gguf *g) { return g ? g->size : 0; }

/* ---- key/value getters ----------------------------------------------- */

static const struct gguf_kv *kv_at(const struct kw_gguf *g, int64_t i) {
    return g && i >= 0 && i < g->n_kv ? &g->kv[i] : NULL;
}

int64_t kw_gguf_n_kv(const struct kw_gguf *g) { return g ? g->n_kv : 0; }

int64_t kw_gguf_find_key(const struct kw_gguf *g, const char *key) {
    if (!g || !key) return -1;
    return hash_find(g->kv_hash, g->kv_hash_mask, g->base, key,
                     (g)->kv, sizeof(struct gguf_kv));
}

const char *kw_gguf_key(const struct kw_gguf *g, int64_t i) {
    const struct gguf_kv *kv = kv_at(g, i);
    return kv ? kv->key : NULL;
}

int kw_gguf_kv_type(const struct kw_gguf *g, int64_t i) {
    const struct gguf_kv *kv = kv_at(g, i);
    return kv ? (int)kv->type : -1;
}

/* Conversions of one stored scalar of type t at p. */
static int conv_i64(const uint8_t *p, uint32_t t, int64_t *out) {
    int64_t v;
    switch (t) {
    case KW_GGUF_UINT8: v = p[0]; break;
    case KW_GGUF_INT8: v = (int8_t)p[0]; break;
    case KW_GGUF_UINT16: v = ld_u16(p); break;
    case KW_GGUF_INT16: v = (int16_t)ld_u16(p); break;
    case KW_GGUF_UINT32: v = ld_u32(p); break;
    case KW_GGUF_INT32: v = (int32_t)ld_u32(p); break;
    case KW_GGUF_BOOL: v = p[0] != 0; break;
    case KW_GGUF_INT64: v = (int64_t)ld_u64(p); break;
    case KW_GGUF_UINT64: {
        const uint64_t u = ld_u64(p);
        if (u > (uint64_t)INT64_MAX) return 0;
        v = (int64_t)u;
        break;
    }
    default: return 0;
    }
    if (out) *out = v;
    return 1;
}

static int conv_u64(const uint8_t *p, uint32_t t, uint64_t *out) {
    if (t == KW_GGUF_UINT64) {
        if (out) *out = ld_u64(p);
        return 1;
    }
    int64_t v;
    if (!conv_i64(p, t, &v) || v < 0) return 0;
    if (out) *out = (uint64_t)v;
    return 1;
}

static int conv_f64(const uint8_t *p, uint32_t t, double *out) {
    double v;
    if (t == KW_GGUF_FLOAT32) {
        float f;
        memcpy(&f, p, 4);
        v = f;
    } else if (t == KW_GGUF_FLOAT64) {
        memcpy(&v, p, 8);
    } else {
        return 0;
    }
    if (out) *out = v;
    return 1;
}

static int conv_bool(const uint8_t *p, uint32_t t, int *out) {
    if (t != KW_GGUF_BOOL) return 0;
    if (out) *out = p[0] != 0;
    return 1;
}

/* Scalar entry i (not STRING/ARRAY): pointer to its bytes, else NULL. */
static const uint8_t *scalar_at(const struct kw_gguf *g, int64_t i,
                                uint32_t *t) {
    const struct gguf_kv *kv = kv_at(g, i);
    if (!kv || kv->type == KW_GGUF_STRING || kv->type == KW_GGUF_ARRAY)
        return NULL;
    *t = kv->type;
    return g->base + kv->off;
}

int kw_gguf_get_i64(const struct kw_gguf *g, int64_t i, int64_t *out) {
    uint32_t t;
    const uint8_t *p = scalar_at(g, i, &t);
    return p ? conv_i64(p, t, out) : 0;
}

int kw_gguf_get_u64(const struct kw_gguf *g, int64_t i, uint64_t *out) {
    uint32_t t;
    const uint8_t *p = scalar_at(g, i, &t);
    return p ? conv_u64(p, t, out) : 0;
}

int kw_gguf_get_f64(const struct kw_gguf *g, int64_t i, double *out) {
    uint32_t t;
    const uint8_t *p = scalar_at(g, i, &t);
    return p ? conv_f64(p, t, out) : 0;
}

int kw_gguf_get_bool(const struct kw_gguf *g, int64_t i, int *out) {
    uint32_t t;
    const uint8_t *p = scalar_at(g, i, &t);
    return p ? conv_bool(p, t, out) : 0;
}

int kw_gguf_get_str(const struct kw_gguf *g, int64_t i, const char **s,
                    size_t *len) {
    const struct gguf_kv *kv = kv_at(g, i);
    if (!kv || kv->type != KW_GGUF_STRING) return 0;
    if (s) *s = (const char *)g->base + kv->off;
    if (len) *len = (size_t)kv->n;
    return 1;
}

/* ---- arrays ----------------------------------------------------------- */

static const struct gguf_kv *arr_at(const struct kw_gguf *g, int64_t i) {
    const struct gguf_kv *kv = kv_at(g, i);
    return kv && kv->type == KW_GGUF_ARRAY ? kv : NULL;
}

int kw_gguf_arr_type(const struct kw_gguf *g, int64_t i) {
    const struct gguf_kv *kv = arr_at(g, i);
    return kv ? (int)kv->arr_type : -1;
}

uint64_t kw_gguf_arr_n(const struct kw_gguf *g, int64_t i) {
    const struct gguf_kv *kv = arr_at(g, i);
    return kv ? kv->n : 0;
}

/* Element j of a scalar array: pointer to its bytes, else NULL. */
static const uint8_t *elem_at(const struct kw_gguf *g, int64_t i, uint64_t j,
                              uint32_t *t) {
    const struct gguf_kv *kv = arr_at(g, i);
    if (!kv || j >= kv->n || kv->arr_type == KW_GGUF_STRING) return NULL;
    *t = kv->arr_type;
    return g->base + kv->off + j * k_value_size[kv->arr_type];
}

int kw_gguf_arr_i64(const struct kw_gguf *g, int64_t i, uint64_t j,
                    int64_t *out) {
    uint32_t t;
    const uint8_t *p = elem_at(g, i, j, &t);
    return p ? conv_i64(p, t, out) : 0;
}

int kw_gguf_arr_u64(const struct kw_gguf *g, int64_t i, uint64_t j,
                    uint64_t *out) {
    uint32_t t;
    const uint8_t *p = elem_at(g, i, j, &t);
    return p ? conv_u64(p, t, out) : 0;
}

int kw_gguf_arr_f64(const struct kw_gguf *g, int64_t i, uint64_t j,
                    double *out) {
    uint32_t t;
    const uint8_t *p = elem_at(g, i, j, &t);
    return p ? conv_f64(p, t, out) : 0;
}

int kw_gguf_arr_str(const struct kw_gguf *g, int64_t i, uint64_t j,
                    const char **s, size_t *len) {
    const struct gguf_kv *kv = arr_at(g, i);
    if (!kv || kv->arr_type != KW_GGUF_STRING || j >= kv->n) return 0;
    const uint64_t off = kv->str_off[j];
    if (s) *s = (const char *)g->base + off;
    if (len) *len = (size_t)ld_u64(g->base + off - 8);
    return 1;
}

/* ---- lookups by key ---------------------------------------------------- */

int kw_gguf_find_u64(const struct kw_gguf *g, const char *key,
                     uint64_t *out) {
    return kw_gguf_get_u64(g, kw_gguf_find_key(g, key), out);
}

int kw_gguf_find_f64(const struct kw_gguf *g, const char *key, double *out) {
    return kw_gguf_get_f64(g, kw_gguf_find_key(g, key), out);
}

int kw_gguf_find_bool(const struct kw_gguf *g, const char *key, int *out) {
    return kw_gguf_get_bool(g, kw_gguf_find_key(g, key), out);
}

int kw_gguf_find_str(const struct kw_gguf *g, const char *key,
                     const char **s, size_t *len) {
    return kw_gguf_get_str(g, kw_gguf_find_key(g, key), s, len);
}

/* ---- tensors ---------------------------------------------------------- */

int64_t kw_gguf_n_tensors(const struct kw_gguf *g) {
    return g ? g->n_tensors : 0;
}

int64_t kw_gguf_find_tensor(const struct kw_gguf *g, const char *name) {
    if (!g || !name) return -1;
    return hash_find(g->tensor_hash, g->tensor_hash_mask, g->base, name,
                     (g)->tensors, sizeof(struct gguf_tensor));
}

int kw_gguf_tensor(const struct kw_gguf *g, int64_t i,
                   struct kw_gguf_tensor_info *out) {
    if (!g || i < 0 || i >= g->n_tensors || !out) return 0;
    const struct gguf_tensor *t = &g->tensors[i];
    out->name = t->name;
    out->type = t->type;
    out->n_dims = t->n_dims;
    memcpy(out->ne, t->ne, sizeof out->ne);
    out->offset = t->offset;
    out->size_bytes = t->size;
    out->data = g->base + g->data_offset + t->offset;
    return 1;
}
