/*
 * onnx_fake.h — shared scaffolding for the ONNX operator unit tests: runs
 * one operator on hand-built values without the loader. kwt_call_run is a
 * one-shot call (inputs and attributes passed in); struct kwt_fake builds a
 * node and its context step by step (kwt_fake_init/in/outs/int...). Also
 * attribute constructors and small tensor builders. Header-only (static
 * inline) so each test executable takes what it uses.
 */
#ifndef KW_TESTS_ONNX_FAKE_H
#define KW_TESTS_ONNX_FAKE_H

#include <stdio.h>
#include <string.h>

#include "onnx/exec.h"
#include "onnx/onnx_internal.h"

/* ---- attributes by value (fields not named are zero) ---- */

static inline struct kw__attr kwt_a_int(const char *name, int64_t i) {
    return (struct kw__attr){.name = name, .type = KW_ATTR_INT, .i = i};
}
static inline struct kw__attr kwt_a_float(const char *name, float f) {
    return (struct kw__attr){.name = name, .type = KW_ATTR_FLOAT, .f = f};
}
static inline struct kw__attr kwt_a_ints(const char *name, int64_t *v,
                                         size_t n) {
    return (struct kw__attr){
        .name = name, .type = KW_ATTR_INTS, .ints = v, .n = n};
}
static inline struct kw__attr kwt_a_str(const char *name, const char *s) {
    return (struct kw__attr){
        .name = name, .type = KW_ATTR_STRING, .s = s, .s_len = strlen(s)};
}

/* ---- one-shot call: op type, inputs (NULL = absent), attributes ---- */

#define KWT_MAXIO 8
struct kwt_call {
    struct kw__node node;
    int in_slots[KWT_MAXIO], out_slots[KWT_MAXIO];
    struct kw_onnx_value *out[KWT_MAXIO];
    char err[512];
    struct kw__exec bare; /* pass &k->bare: a zeroed executor, errors in err */
};

/* Runs op (default domain) at opset; exec may be NULL (no executor). */
static inline enum kw_status kwt_call_run(struct kwt_call *k,
                                          struct kw__exec *exec,
                                          const char *op, int opset,
                                          struct kw_onnx_value *const *in,
                                          int n_in, int n_out,
                                          struct kw__attr *attrs,
                                          int n_attrs) {
    const int bare = exec == &k->bare;
    memset(k, 0, sizeof *k);
    if (bare) {
        k->bare.err = k->err;
        k->bare.err_size = sizeof k->err;
    }
    for (int i = 0; i < KWT_MAXIO; i++) {
        k->in_slots[i] = i < n_in && in[i] ? i : -1;
        k->out_slots[i] = i;
    }
    k->node.name = "t";
    k->node.op_type = op;
    k->node.domain = "";
    k->node.n_in = n_in;
    k->node.n_out = n_out;
    k->node.in = k->in_slots;
    k->node.out = k->out_slots;
    k->node.attrs = attrs;
    k->node.n_attrs = n_attrs;
    k->node.opset = opset;
    k->node.op = kw__op_find("", op, opset);
    if (!k->node.op) {
        snprintf(k->err, sizeof k->err, "no implementation of %s", op);
        return KW_STATUS_ERR_UNSUPPORTED;
    }
    struct kw__op_ctx c = {&k->node, opset, in,     n_in,         k->out,
                           n_out,    exec,  k->err, sizeof k->err};
    return k->node.op->run(&c);
}

/* Frees the outputs and forgets them (a second free is harmless). */
static inline void kwt_call_free(struct kwt_call *k) {
    for (int i = 0; i < KWT_MAXIO; i++) kw_onnx_value_free(k->out[i]);
    memset(k->out, 0, sizeof k->out);
}

/* ---- a node with its context, built step by step ---- */

#define KWT_FAKE_IO 16
#define KWT_FAKE_ATTRS 16
struct kwt_fake {
    struct kw__node node;
    struct kw__attr attrs[KWT_FAKE_ATTRS];
    int ins[KWT_FAKE_IO], outs[KWT_FAKE_IO];
    struct kw_onnx_value *in[KWT_FAKE_IO], *out[KWT_FAKE_IO];
    char err[512];
    struct kw__op_ctx ctx;
};

static inline void kwt_fake_init(struct kwt_fake *f, const char *domain,
                                 const char *op, int opset) {
    memset(f, 0, sizeof *f);
    f->node.name = "t";
    f->node.op_type = op;
    f->node.domain = domain;
    f->node.attrs = f->attrs;
    f->node.in = f->ins;
    f->node.out = f->outs;
    f->node.opset = opset;
    f->ctx.node = &f->node;
    f->ctx.opset = opset;
    f->ctx.in = f->in;
    f->ctx.out = f->out;
    f->ctx.err = f->err;
    f->ctx.err_size = sizeof f->err;
}

/* Appends input v (NULL = absent); the fake owns it from here on. */
static inline void kwt_fake_in(struct kwt_fake *f, struct kw_onnx_value *v) {
    const int k = f->node.n_in++;
    f->ins[k] = v ? k : -1;
    f->in[k] = v;
    f->ctx.n_in = f->node.n_in;
}

static inline void kwt_fake_outs(struct kwt_fake *f, int n) {
    for (int k = 0; k < n; k++) f->outs[k] = KWT_FAKE_IO + k;
    f->node.n_out = f->ctx.n_out = n;
}

static inline void kwt_fake_attr(struct kwt_fake *f, struct kw__attr a) {
    f->attrs[f->node.n_attrs++] = a;
}
static inline void kwt_fake_int(struct kwt_fake *f, const char *name,
                                int64_t v) {
    kwt_fake_attr(f, kwt_a_int(name, v));
}
static inline void kwt_fake_float(struct kwt_fake *f, const char *name,
                                  float v) {
    kwt_fake_attr(f, kwt_a_float(name, v));
}
static inline void kwt_fake_str(struct kwt_fake *f, const char *name,
                                const char *s) {
    kwt_fake_attr(f, kwt_a_str(name, s));
}
static inline void kwt_fake_ints(struct kwt_fake *f, const char *name,
                                 int64_t *v, size_t n) {
    kwt_fake_attr(f, kwt_a_ints(name, v, n));
}

/* Runs the registered operator for the node's domain, type and opset. */
static inline enum kw_status kwt_fake_run(struct kwt_fake *f) {
    const struct kw__op *op =
        kw__op_find(f->node.domain, f->node.op_type, f->node.opset);
    if (!op) {
        fprintf(stderr, "  no implementation of %s\n", f->node.op_type);
        return KW_STATUS_ERR_UNSUPPORTED;
    }
    return op->run(&f->ctx);
}

static inline void kwt_fake_free(struct kwt_fake *f) {
    for (int k = 0; k < f->node.n_in; k++) kw_onnx_value_free(f->in[k]);
    for (int k = 0; k < f->node.n_out; k++) kw_onnx_value_free(f->out[k]);
}

/* ---- values ---- */

/* A tensor of dtype (a fixed-size element type) holding x's elements. */
static inline struct kw_onnx_value *kwt_tensor(int dtype, int rank,
                                               const int64_t *dims,
                                               const void *x) {
    struct kw_onnx_value *v = kw_onnx_tensor_new(dtype, rank, dims);
    if (v->nbytes) memcpy(v->data, x, v->nbytes);
    return v;
}
static inline struct kw_onnx_value *kwt_tensor_f32(int rank,
                                                   const int64_t *dims,
                                                   const float *x) {
    return kwt_tensor(KW_ONNX_FLOAT, rank, dims, x);
}
static inline struct kw_onnx_value *kwt_tensor_i64(int rank,
                                                   const int64_t *dims,
                                                   const int64_t *x) {
    return kwt_tensor(KW_ONNX_INT64, rank, dims, x);
}

#endif
