/*
 * kaiwu.h — the public C API of libkaiwu (umbrella header).
 *
 * Conventions for every function below:
 *  - Handles are opaque and always passed by pointer. Constructors return an
 *    enum kw_status and write the new object through an out-pointer that stays
 *    NULL on failure. Every *_free(NULL) is a no-op.
 *  - Error detail goes to a caller-supplied buffer (err, err_size); it may be
 *    NULL/0. Messages name the file, key, tensor and byte offset involved.
 *  - Strings passed in are borrowed for the duration of the call unless a
 *    comment says otherwise. Pointers returned from getters are borrowed from
 *    the object and stay valid until that object is freed.
 *  - Thread-safety: a kw_model (and the kw_gguf it holds) is immutable after
 *    load and may be shared by threads; a kw_session and a kw_sampler are used
 *    by one thread at a time.
 */
#ifndef KAIWU_H
#define KAIWU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define KW_API __declspec(dllexport)
#else
#define KW_API __attribute__((visibility("default")))
#endif

#define KW_VERSION_MAJOR 0
#define KW_VERSION_MINOR 1
#define KW_VERSION_PATCH 0
#define KW_VERSION_STRING "0.1.0"

/* Run-time version ("MAJOR.MINOR.PATCH"); static storage. */
KW_API const char *kw_version(void);

/* ---- Status codes (append-only; numbers are stable) ------------------- */
#define KW_STATUS_LIST(X)                                                     \
    X(OK, 0, "ok")                                                            \
    X(ERR_INVALID_ARG, 1, "invalid argument")                                 \
    X(ERR_NOMEM, 2, "out of memory")                                          \
    X(ERR_IO, 3, "I/O error")                                                 \
    X(ERR_FORMAT, 4, "malformed input")                                       \
    X(ERR_UNSUPPORTED, 5, "unsupported feature")                              \
    X(ERR_NOT_FOUND, 6, "not found")                                          \
    X(ERR_BUFFER_TOO_SMALL, 7, "buffer too small")                            \
    X(ERR_CONTEXT_FULL, 8, "context is full")                                 \
    X(ERR_CANCELLED, 9, "cancelled")                                          \
    X(ERR_TEMPLATE, 10, "chat template error")                               \
    X(ERR_AUTH, 11, "authentication failed")                                  \
    X(ERR_DIGEST, 12, "digest mismatch")                                      \
    X(ERR_NETWORK, 13, "network error")

enum kw_status {
#define KW_STATUS_ENUM_(name, num, str) KW_STATUS_##name = num,
    KW_STATUS_LIST(KW_STATUS_ENUM_)
#undef KW_STATUS_ENUM_
};

/* Human-readable text for a status; static storage, never NULL. */
KW_API const char *kw_status_str(enum kw_status status);

/* ---- CPU ------------------------------------------------------------- */
/* Name of the kernel set chosen at run time from CPUID ("avx512", "avx2",
 * "ref"); KW_FORCE_REF=1 in the environment forces "ref". Static storage. */
KW_API const char *kw_cpu_isa(void);

/* ---- Tensor element types (numbers equal ggml's, as stored in GGUF) --- */
enum kw_type {
    KW_TYPE_F32 = 0, KW_TYPE_F16 = 1, KW_TYPE_Q4_0 = 2, KW_TYPE_Q4_1 = 3,
    KW_TYPE_Q5_0 = 6, KW_TYPE_Q5_1 = 7, KW_TYPE_Q8_0 = 8, KW_TYPE_Q8_1 = 9,
    KW_TYPE_Q2_K = 10, KW_TYPE_Q3_K = 11, KW_TYPE_Q4_K = 12, KW_TYPE_Q5_K = 13,
    KW_TYPE_Q6_K = 14, KW_TYPE_Q8_K = 15, KW_TYPE_IQ4_NL = 20,
    KW_TYPE_IQ4_XS = 23, KW_TYPE_BF16 = 30,
    KW_TYPE_COUNT = 40 /* one past the largest ggml type id known */
};

/* Name of a type id ("q4_K"), or NULL when the id is unknown. */
KW_API const char *kw_type_name(uint32_t type);

#ifdef __cplusplus
}
#endif

#include "kaiwu/gguf.h"
#include "kaiwu/llm.h"
#include "kaiwu/store.h"
#include "kaiwu/onnx.h"
#include "kaiwu/image.h"
#include "kaiwu/vision.h"

#endif /* KAIWU_H */
