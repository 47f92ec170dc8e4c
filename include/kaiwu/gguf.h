/*
 * kaiwu/gguf.h — read-only access to GGUF files (versions 2 and 3).
 *
 * kw_gguf_open maps the file and validates all of it before returning: every
 * count, string and array length, dimension, type and offset is checked
 * against the real file size; tensor data must be aligned, in bounds and not
 * overlapping. After a successful open, every getter is safe on any index
 * (out-of-range indices return 0/NULL/-1) and never touches bytes outside the
 * file. A kw_gguf is immutable and may be read from several threads.
 */
#ifndef KAIWU_GGUF_H
#define KAIWU_GGUF_H

#include "kaiwu/kaiwu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Metadata value types, numbered as in the GGUF specification. */
enum kw_gguf_type {
    KW_GGUF_UINT8 = 0, KW_GGUF_INT8 = 1, KW_GGUF_UINT16 = 2, KW_GGUF_INT16 = 3,
    KW_GGUF_UINT32 = 4, KW_GGUF_INT32 = 5, KW_GGUF_FLOAT32 = 6, KW_GGUF_BOOL = 7,
    KW_GGUF_STRING = 8, KW_GGUF_ARRAY = 9, KW_GGUF_UINT64 = 10,
    KW_GGUF_INT64 = 11, KW_GGUF_FLOAT64 = 12
};

struct kw_gguf;

/* Opens and validates path (mmap). On failure *out stays NULL and err gets
 * "FILE: what (key 'K' / tensor 'T', offset N)". */
KW_API enum kw_status kw_gguf_open(const char *path, struct kw_gguf **out,
                                   char *err, size_t err_size);
/* Same over a caller buffer (borrowed: it must outlive the kw_gguf). name is
 * used in messages only and may be NULL. */
KW_API enum kw_status kw_gguf_open_memory(const void *data, size_t size,
                                          const char *name,
                                          struct kw_gguf **out, char *err,
                                          size_t err_size);
KW_API void kw_gguf_free(struct kw_gguf *g);

KW_API uint32_t kw_gguf_version(const struct kw_gguf *g);
KW_API size_t kw_gguf_alignment(const struct kw_gguf *g);
/* Offset of the tensor data section from the start of the file. */
KW_API uint64_t kw_gguf_data_offset(const struct kw_gguf *g);
KW_API uint64_t kw_gguf_file_size(const struct kw_gguf *g);

/* ---- key/value metadata ---- */
KW_API int64_t kw_gguf_n_kv(const struct kw_gguf *g);
/* Index of key, or -1. */
KW_API int64_t kw_gguf_find_key(const struct kw_gguf *g, const char *key);
/* NUL-terminated key of entry i, or NULL. */
KW_API const char *kw_gguf_key(const struct kw_gguf *g, int64_t i);
/* Type of entry i; -1 when i is out of range. */
KW_API int kw_gguf_kv_type(const struct kw_gguf *g, int64_t i);

/* Scalar getters: return 1 and write *out when entry i holds a value that
 * converts exactly (any integer type or bool for _i64/_u64 when in range;
 * FLOAT32/FLOAT64 for _f64; BOOL for _bool), else return 0. */
KW_API int kw_gguf_get_i64(const struct kw_gguf *g, int64_t i, int64_t *out);
KW_API int kw_gguf_get_u64(const struct kw_gguf *g, int64_t i, uint64_t *out);
KW_API int kw_gguf_get_f64(const struct kw_gguf *g, int64_t i, double *out);
KW_API int kw_gguf_get_bool(const struct kw_gguf *g, int64_t i, int *out);
/* STRING: pointer into the mapping (not NUL-terminated) and its length. */
KW_API int kw_gguf_get_str(const struct kw_gguf *g, int64_t i, const char **s,
                           size_t *len);

/* ARRAY entries: element type (-1 if entry i is not an array), count, and
 * per-element getters with the same conversion rules as above. */
KW_API int kw_gguf_arr_type(const struct kw_gguf *g, int64_t i);
KW_API uint64_t kw_gguf_arr_n(const struct kw_gguf *g, int64_t i);
KW_API int kw_gguf_arr_i64(const struct kw_gguf *g, int64_t i, uint64_t j,
                           int64_t *out);
KW_API int kw_gguf_arr_u64(const struct kw_gguf *g, int64_t i, uint64_t j,
                           uint64_t *out);
KW_API int kw_gguf_arr_f64(const struct kw_gguf *g, int64_t i, uint64_t j,
                           double *out);
KW_API int kw_gguf_arr_str(const struct kw_gguf *g, int64_t i, uint64_t j,
                           const char **s, size_t *len);

/* Convenience lookups by key name (same rules as the getters). */
KW_API int kw_gguf_find_u64(const struct kw_gguf *g, const char *key,
                            uint64_t *out);
KW_API int kw_gguf_find_f64(const struct kw_gguf *g, const char *key,
                            double *out);
KW_API int kw_gguf_find_bool(const struct kw_gguf *g, const char *key,
                             int *out);
KW_API int kw_gguf_find_str(const struct kw_gguf *g, const char *key,
                            const char **s, size_t *len);

/* ---- tensors ---- */
struct kw_gguf_tensor_info {
    const char *name;    /* NUL-terminated, borrowed from g */
    uint32_t type;       /* enum kw_type value */
    uint32_t n_dims;     /* 1..4 */
    int64_t ne[4];       /* elements per dimension, ne[0] fastest; unused = 1 */
    uint64_t offset;     /* relative to kw_gguf_data_offset() */
    uint64_t size_bytes; /* bytes of data */
    const void *data;    /* into the mapping; aligned to kw_gguf_alignment() */
};

KW_API int64_t kw_gguf_n_tensors(const struct kw_gguf *g);
/* Index of the tensor named name, or -1. */
KW_API int64_t kw_gguf_find_tensor(const struct kw_gguf *g, const char *name);
/* Returns 1 and fills *out for a valid index, else 0. */
KW_API int kw_gguf_tensor(const struct kw_gguf *g, int64_t i,
                          struct kw_gguf_tensor_info *out);

#ifdef __cplusplus
}
#endif
#endif /* KAIWU_GGUF_H */
