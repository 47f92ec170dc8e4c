/*
 * model.c — ModelProto/GraphProto/NodeProto/AttributeProto/ValueInfoProto
 * decoding into struct kw__graph. Strings and small arrays go to one arena
 * freed with the model; tensors alias the file mapping where they can.
 * Errors name the graph, node or initializer and the byte offset.
 */
#include "onnx/model.h"

#define MAX_DEPTH 32 /* graphs nested in attributes */

/* ---- arena ---- */

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

void *kw__arena_alloc(struct kw__arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > (1u << 16) ? n : (1u << 16);
        struct arena_block *b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = (char *)a->head->data + a->head->used;
    a->head->used += n;
    memset(p, 0, n);
    return p;
}

char *kw__arena_str(struct kw__arena *a, const uint8_t *p, size_t n) {
    char *s = kw__arena_alloc(a, n + 1);
    if (!s) return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

void kw__arena_free(struct kw__arena *a) {
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
}

/* A growable array in malloc'd memory, moved into the arena when done. */
struct vec {
    void *p;
    size_t n, cap, elem;
};

static void *vec_push(struct vec *v) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        void *p = realloc(v->p, cap * v->elem);
        if (!p) return NULL;
        v->p = p;
        v->cap = cap;
    }
    void *slot = (char *)v->p + v->n * v->elem;
    memset(slot, 0, v->elem);
    v->n++;
    return slot;
}

static void *vec_finish(struct kw__arena *a, struct vec *v) {
    void *p = kw__arena_alloc(a, v->n * v->elem + 1);
    if (p && v->n) memcpy(p, v->p, v->n * v->elem);
    free(v->p);
    v->p = NULL;
    return p;
}

/* ---- decoding ---- */

struct dec {
    struct kw__arena *arena;
    const struct kw__tensor_src *src;
    char *err;
    size_t err_size;
    /* every tensor decoded, for freeing with the model */
    struct vec *tensors;
};

#define BAD(d, ...) kw__err((d)->err, (d)->err_size, KW_STATUS_ERR_FORMAT, __VA_ARGS__)

static int keep_tensor(struct dec *d, struct kw_onnx_value *t) {
    struct kw_onnx_value **slot = vec_push(d->tensors);
    if (!slot) return 0;
    *slot = t;
    return 1;
}

static enum kw_status decode_graph(struct dec *d, struct kw__pb *msg,
                                   int depth, struct kw__raw_graph **out);

/* TypeProto into info. */
static int decode_type(struct dec *d, struct kw__pb *msg,
                       struct kw__type_info *ti, int depth) {
    uint32_t f, w;
    int k;
    if (depth > 8) return 0;
    while ((k = kw__pb_next(msg, &f, &w)) > 0) {
        struct kw__pb sub;
        if (w != KW_PB_LEN) {
            if (!kw__pb_skip(msg, w)) return 0;
            continue;
        }
        if (!kw__pb_sub(msg, &sub)) return 0;
        if (f == 1) { /* tensor_type */
            ti->known = 1;
            ti->kind = KW_ONNX_TENSOR;
            ti->rank = -1;
            uint32_t tf, tw;
            int tk;
            while ((tk = kw__pb_next(&sub, &tf, &tw)) > 0) {
                uint64_t v;
                if (tf == 1 && tw == KW_PB_VARINT) {
                    if (!kw__pb_varint(&sub, &v)) return 0;
                    ti->dtype = (int)v;
                } else if (tf == 2 && tw == KW_PB_LEN) {
                    struct kw__pb shape;
                    if (!kw__pb_sub(&sub, &shape)) return 0;
                    ti->rank = 0;
                    uint32_t sf, sw;
                    int sk;
                    while ((sk = kw__pb_next(&shape, &sf, &sw)) > 0) {
                        struct kw__pb dim;
                        if (sf != 1 || sw != KW_PB_LEN) {
                            if (!kw__pb_skip(&shape, sw)) return 0;
                            continue;
                        }
                        if (!kw__pb_sub(&shape, &dim)) return 0;
                        int r = ti->rank;
                        if (r >= KW_ONNX_MAX_RANK) {
                            ti->rank = KW_ONNX_MAX_RANK + 1;
                            continue;
                        }
                        ti->dims[r] = -1;
                        ti->dim_names[r] = "";
                        uint32_t df, dw;
                        int dk;
                        while ((dk = kw__pb_next(&dim, &df, &dw)) > 0) {
                            const uint8_t *p;
                            size_t n;
                            if (df == 1 && dw == KW_PB_VARINT) {
                                if (!kw__pb_varint(&dim, &v)) return 0;
                                ti->dims[r] = (int64_t)v;
                            } else if (df == 2 && dw == KW_PB_LEN) {
                                if (!kw__pb_bytes(&dim, &p, &n)) return 0;
                                ti->dim_names[r] = kw__arena_str(d->arena, p, n);
                            } else if (!kw__pb_skip(&dim, dw)) {
                                return 0;
                            }
                        }
                        if (dk < 0) return 0;
                        ti->rank = r + 1;
                    }
                    if (sk < 0) return 0;
                } else if (!kw__pb_skip(&sub, tw)) {
                    return 0;
                }
            }
            if (tk < 0) return 0;
        } else if (f == 4 || f == 9) { /* sequence_type, optional_type */
            struct kw__type_info inner = {0};
            uint32_t sf, sw;
            int sk;
            while ((sk = kw__pb_next(&sub, &sf, &sw)) > 0) {
                struct kw__pb e;
                if (sf == 1 && sw == KW_PB_LEN) {
                    if (!kw__pb_sub(&sub, &e) ||
                        !decode_type(d, &e, &inner, depth + 1))
                        return 0;
                } else if (!kw__pb_skip(&sub, sw)) {
                    return 0;
                }
            }
            if (sk < 0) return 0;
            ti->known = 1;
            ti->kind = f == 4 ? KW_ONNX_SEQUENCE : KW_ONNX_OPTIONAL;
            ti->dtype = inner.dtype;
            ti->rank = -1;
        }
    }
    return k == 0;
}

static enum kw_status decode_value_info(struct dec *d, struct kw__pb *msg,
                                        const char **name,
                                        struct kw__type_info *ti) {
    size_t off = kw__pb_off(msg);
    uint32_t f, w;
    int k;
    *name = "";
    memset(ti, 0, sizeof *ti);
    ti->rank = -1;
    while ((k = kw__pb_next(msg, &f, &w)) > 0) {
        const uint8_t *p;
        size_t n;
        if (f == 1 && w == KW_PB_LEN) {
            if (!kw__pb_bytes(msg, &p, &n)) break;
            *name = kw__arena_str(d->arena, p, n);
        } else if (f == 2 && w == KW_PB_LEN) {
            struct kw__pb t;
            if (!kw__pb_sub(msg, &t) || !decode_type(d, &t, ti, 0)) {
                k = -1;
                break;
            }
        } else if (!kw__pb_skip(msg, w)) {
            k = -1;
            break;
        }
    }
    if (k != 0 || !*name)
        return BAD(d, "value info at offset %zu: malformed", off);
    return KW_STATUS_OK;
}

static enum kw_status decode_tensor(struct dec *d, struct kw__pb *msg,
                                    struct kw_onnx_value **t, char *name,
                                    size_t name_size) {
    enum kw_status st =
        kw__tensor_decode(msg, d->src, t, name, name_size, d->err, d->err_size);
    if (st) return st;
    if (!keep_tensor(d, *t)) {
        kw_onnx_value_free(*t);
        return kw__err(d->err, d->err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    }
    return KW_STATUS_OK;
}

static int push_bits(void *ctx, uint64_t bits) {
    struct vec *v = ctx;
    void *slot = vec_push(v);
    if (!slot) return 0;
    if (v->elem == 4) {
        uint32_t b = (uint32_t)bits;
        memcpy(slot, &b, 4);
    } else {
        memcpy(slot, &bits, 8);
    }
    return 1;
}

/* Repeated scalars of an attribute (packed or not) appended to v. */
static int attr_repeated(struct kw__pb *r, uint32_t wire, int is_float,
                         struct vec *v) {
    return kw__pb_repeated(r, wire, is_float ? 4 : 0, push_bits, v);
}

static enum kw_status decode_attr(struct dec *d, struct kw__pb *msg,
                                  struct kw__attr *a, const char *node,
                                  int depth) {
    size_t off = kw__pb_off(msg);
    struct vec floats = {.elem = sizeof(float)}, ints = {.elem = sizeof(int64_t)},
               strs = {.elem = sizeof(char *)},
               tens = {.elem = sizeof(struct kw_onnx_value *)},
               graphs = {.elem = sizeof(struct kw__raw_graph *)};
    enum kw_status st = KW_STATUS_OK;
    uint32_t f, w;
    int k;
    a->name = "";
    while (!st && (k = kw__pb_next(msg, &f, &w)) > 0) {
        const uint8_t *p;
        size_t n;
        uint64_t v;
        uint32_t x;
        struct kw__pb sub;
        switch (f) {
        case 1:
            if (w != KW_PB_LEN || !kw__pb_bytes(msg, &p, &n)) goto bad;
            a->name = kw__arena_str(d->arena, p, n);
            break;
        case 20:
            if (w != KW_PB_VARINT || !kw__pb_varint(msg, &v)) goto bad;
            a->type = (int)v;
            break;
        case 2:
            if (w != KW_PB_I32 || !kw__pb_fixed32(msg, &x)) goto bad;
            memcpy(&a->f, &x, 4);
            break;
        case 3:
            if (w != KW_PB_VARINT || !kw__pb_varint(msg, &v)) goto bad;
            a->i = (int64_t)v;
            break;
        case 4:
            if (w != KW_PB_LEN || !kw__pb_bytes(msg, &p, &n)) goto bad;
            a->s = kw__arena_str(d->arena, p, n);
            a->s_len = n;
            break;
        case 5: {
            char tn[256];
            if (w != KW_PB_LEN || !kw__pb_sub(msg, &sub)) goto bad;
            st = decode_tensor(d, &sub, &a->t, tn, sizeof tn);
            break;
        }
        case 6:
            if (w != KW_PB_LEN || !kw__pb_sub(msg, &sub)) goto bad;
            if (depth >= MAX_DEPTH) {
                st = BAD(d, "node '%s': subgraphs nested deeper than %d",
                         node, MAX_DEPTH);
                break;
            }
            st = decode_graph(d, &sub, depth + 1,
                              (struct kw__raw_graph **)&a->g);
            break;
        case 7:
            if (!attr_repeated(msg, w, 1, &floats)) goto bad;
            break;
        case 8:
            if (!attr_repeated(msg, w, 0, &ints)) goto bad;
            break;
        case 9: {
            if (w != KW_PB_LEN || !kw__pb_bytes(msg, &p, &n)) goto bad;
            char **slot = vec_push(&strs);
            if (!slot || !(*slot = kw__arena_str(d->arena, p, n))) goto nomem;
            break;
        }
        case 10: {
            char tn[256];
            struct kw_onnx_value **slot;
            if (w != KW_PB_LEN || !kw__pb_sub(msg, &sub)) goto bad;
            if (!(slot = vec_push(&tens))) goto nomem;
            st = decode_tensor(d, &sub, slot, tn, sizeof tn);
            break;
        }
        case 11: {
            struct kw__raw_graph **slot;
            if (w != KW_PB_LEN || !kw__pb_sub(msg, &sub)) goto bad;
            if (depth >= MAX_DEPTH) {
                st = BAD(d, "node '%s': subgraphs nested deeper than %d",
                         node, MAX_DEPTH);
                break;
            }
            if (!(slot = vec_push(&graphs))) goto nomem;
            st = decode_graph(d, &sub, depth + 1, slot);
            break;
        }
        case 14: { /* type proto: keep the element type it names */
            struct kw__type_info ti = {0};
            if (w != KW_PB_LEN || !kw__pb_sub(msg, &sub) ||
                !decode_type(d, &sub, &ti, 0))
                goto bad;
            a->tp_kind = ti.kind;
            a->tp_dtype = ti.dtype;
            break;
        }
        default:
            if (!kw__pb_skip(msg, w)) goto bad;
        }
        continue;
    bad:
        st = BAD(d, "node '%s': malformed attribute at offset %zu", node, off);
        break;
    nomem:
        st = kw__err(d->err, d->err_size, KW_STATUS_ERR_NOMEM, "out of memory");
        break;
    }
    if (!st && k < 0)
        st = BAD(d, "node '%s': malformed attribute at offset %zu", node, off);
    /* old writers leave the type out: infer it from what is set */
    if (!st && a->type == KW_ATTR_UNDEFINED) {
        a->type = floats.n ? KW_ATTR_FLOATS : ints.n ? KW_ATTR_INTS
                  : strs.n ? KW_ATTR_STRINGS : a->t ? KW_ATTR_TENSOR
                  : a->g ? KW_ATTR_GRAPH : a->s ? KW_ATTR_STRING
                  : KW_ATTR_INT;
    }
    a->n = a->type == KW_ATTR_FLOATS ? floats.n : a->type == KW_ATTR_INTS ? ints.n
           : a->type == KW_ATTR_STRINGS ? strs.n : a->type == KW_ATTR_TENSORS ? tens.n
           : a->type == KW_ATTR_GRAPHS ? graphs.n : 0;
    a->floats = floats.n ? vec_finish(d->arena, &floats) : NULL;
    a->ints = ints.n ? vec_finish(d->arena, &ints) : NULL;
    a->strings = strs.n ? vec_finish(d->arena, &strs) : NULL;
    a->tensors = tens.n ? vec_finish(d->arena, &tens) : NULL;
    a->graphs = graphs.n ? vec_finish(d->arena, &graphs) : NULL;
    free(floats.p);
    free(ints.p);
    free(strs.p);
    free(tens.p);
    free(graphs.p);
    if (!st && a->s == NULL && a->type == KW_ATTR_STRING) a->s = "";
    return st;
}

static enum kw_status decode_node(struct dec *d, struct kw__pb *msg,
                                  struct kw__raw_node *rn, int depth) {
    size_t off = kw__pb_off(msg);
    struct vec in = {.elem = sizeof(char *)}, out = {.elem = sizeof(char *)},
               attrs = {.elem = sizeof(struct kw__attr)};
    enum kw_status st = KW_STATUS_OK;
    uint32_t f, w;
    int k;
    rn->name = rn->op_type = rn->domain = "";
    /* name and op first, so attribute errors can name the node */
    struct kw__pb pre = *msg;
    while ((k = kw__pb_next(&pre, &f, &w)) > 0) {
        const uint8_t *p;
        size_t n;
        if ((f == 3 || f == 4 || f == 7) && w == KW_PB_LEN) {
            if (!kw__pb_bytes(&pre, &p, &n)) break;
            char *s = kw__arena_str(d->arena, p, n);
            if (f == 3) rn->name = s;
            else if (f == 4) rn->op_type = s;
            else rn->domain = s;
        } else if (!kw__pb_skip(&pre, w)) {
            break;
        }
    }
    while (!st && (k = kw__pb_next(msg, &f, &w)) > 0) {
        const uint8_t *p;
        size_t n;
        if ((f == 1 || f == 2) && w == KW_PB_LEN) {
            if (!kw__pb_bytes(msg, &p, &n)) break;
            char **slot = vec_push(f == 1 ? &in : &out);
            if (!slot || !(*slot = kw__arena_str(d->arena, p, n)))
                st = kw__err(d->err, d->err_size, KW_STATUS_ERR_NOMEM, "out of memory");
        } else if (f == 5 && w == KW_PB_LEN) {
            struct kw__pb sub;
            if (!kw__pb_sub(msg, &sub)) break;
            struct kw__attr *a = vec_push(&attrs);
            if (!a)
                st = kw__err(d->err, d->err_size, KW_STATUS_ERR_NOMEM, "out of memory");
            else
                st = decode_attr(d, &sub, a, rn->name, depth);
        } else if (!kw__pb_skip(msg, w)) {
            k = -1;
            break;
        }
    }
    if (!st && k != 0)
        st = BAD(d, "node '%s' (%s) at offset %zu: malformed", rn->name,
                 rn->op_type, off);
    if (!st && !rn->op_type[0])
        st = BAD(d, "node '%s' at offset %zu: no op_type", rn->name, off);
    rn->n_in = (int)in.n;
    rn->n_out = (int)out.n;
    rn->n_attrs = (int)attrs.n;
    rn->inputs = vec_finish(d->arena, &in);
    rn->outputs = vec_finish(d->arena, &out);
    rn->attrs = vec_finish(d->arena, &attrs);
    if (!st && (!rn->inputs || !rn->outputs || !rn->attrs))
        st = kw__err(d->err, d->err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    if (!st && (in.n > 4096 || out.n > 4096))
        st = BAD(d, "node '%s': more than 4096 inputs or outputs", rn->name);
    return st;
}

static enum kw_status decode_graph(struct dec *d, struct kw__pb *msg,
                                   int depth, struct kw__raw_graph **out) {
    struct kw__raw_graph *g = kw__arena_alloc(d->arena, sizeof *g);
    if (!g) return kw__err(d->err, d->err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    *out = g;
    g->name = "";
    struct vec nodes = {.elem = sizeof(struct kw__raw_node)},
               inits = {.elem = sizeof(struct kw__raw_init)},
               ins = {.elem = sizeof(struct kw__raw_io)},
               outs = {.elem = sizeof(struct kw__raw_io)};
    enum kw_status st = KW_STATUS_OK;
    uint32_t f, w;
    int k;
    while (!st && (k = kw__pb_next(msg, &f, &w)) > 0) {
        struct kw__pb sub;
        const uint8_t *p;
        size_t n;
        if (w != KW_PB_LEN) {
            if (!kw__pb_skip(msg, w)) {
                k = -1;
                break;
            }
            continue;
        }
        size_t off = kw__pb_off(msg);
        switch (f) {
        case 1: {
            struct kw__raw_node *rn = vec_push(&nodes);
            if (!rn || !kw__pb_sub(msg, &sub)) {
                st = BAD(d, "graph '%s': malformed node at offset %zu", g->name, off);
                break;
            }
            st = decode_node(d, &sub, rn, depth);
            break;
        }
        case 2:
            if (!kw__pb_bytes(msg, &p, &n)) {
                k = -1;
                break;
            }
            g->name = kw__arena_str(d->arena, p, n);
            break;
        case 5: {
            struct kw__raw_init *ri = vec_push(&inits);
            char name[512];
            if (!ri || !kw__pb_sub(msg, &sub)) {
                st = BAD(d, "graph '%s': malformed initializer at offset %zu",
                         g->name, off);
                break;
            }
            st = decode_tensor(d, &sub, &ri->value, name, sizeof name);
            if (!st) ri->name = kw__arena_str(d->arena, (const uint8_t *)name, strlen(name));
            if (!st && !ri->name[0])
                st = BAD(d, "graph '%s': initializer without a name at offset %zu",
                         g->name, off);
            break;
        }
        case 11: case 12: {
            struct kw__raw_io *io = vec_push(f == 11 ? &ins : &outs);
            if (!io || !kw__pb_sub(msg, &sub)) {
                st = BAD(d, "graph '%s': malformed %s at offset %zu", g->name,
                         f == 11 ? "input" : "output", off);
                break;
            }
            st = decode_value_info(d, &sub, &io->name, &io->info);
            break;
        }
        case 15:
            st = kw__err(d->err, d->err_size, KW_STATUS_ERR_UNSUPPORTED,
                         "graph '%s': sparse initializers are not supported",
                         g->name);
            break;
        default:
            if (!kw__pb_bytes(msg, &p, &n)) k = -1;
        }
        if (k < 0) break;
    }
    if (!st && k < 0)
        st = BAD(d, "graph '%s': malformed at offset %zu", g->name, kw__pb_off(msg));
    g->n_nodes = (int)nodes.n;
    g->n_inits = (int)inits.n;
    g->n_inputs = (int)ins.n;
    g->n_outputs = (int)outs.n;
    g->nodes = vec_finish(d->arena, &nodes);
    g->inits = vec_finish(d->arena, &inits);
    g->inputs = vec_finish(d->arena, &ins);
    g->outputs = vec_finish(d->arena, &outs);
    if (!st && (!g->nodes || !g->inits || !g->inputs || !g->outputs))
        st = kw__err(d->err, d->err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    return st;
}

enum kw_status kw__model_decode(const uint8_t *data, size_t size,
                                const struct kw__tensor_src *src,
                                struct kw__raw_model *m, char *err,
                                size_t err_size) {
    memset(m, 0, sizeof *m);
    struct vec tensors = {.elem = sizeof(struct kw_onnx_value *)};
    struct vec opsets = {.elem = sizeof(struct kw__raw_opset)};
    struct dec d = {&m->arena, src, err, err_size, &tensors};
    struct kw__pb r = {data, data + size, data};
    enum kw_status st = KW_STATUS_OK;
    uint32_t f, w;
    int k, have_graph = 0;
    while (!st && (k = kw__pb_next(&r, &f, &w)) > 0) {
        size_t off = kw__pb_off(&r);
        struct kw__pb sub;
        uint64_t v;
        if (f == 1 && w == KW_PB_VARINT) {
            if (!kw__pb_varint(&r, &v)) { k = -1; break; }
            m->ir_version = (int64_t)v;
        } else if (f == 7 && w == KW_PB_LEN) {
            if (have_graph) {
                st = BAD(&d, "model: a second graph at offset %zu", off);
                break;
            }
            if (!kw__pb_sub(&r, &sub)) { k = -1; break; }
            st = decode_graph(&d, &sub, 0, &m->graph);
            have_graph = 1;
        } else if (f == 8 && w == KW_PB_LEN) {
            struct kw__raw_opset *o = vec_push(&opsets);
            if (!o || !kw__pb_sub(&r, &sub)) { k = -1; break; }
            o->domain = "";
            uint32_t of, ow;
            int ok;
            while ((ok = kw__pb_next(&sub, &of, &ow)) > 0) {
                const uint8_t *p;
                size_t n;
                if (of == 1 && ow == KW_PB_LEN && kw__pb_bytes(&sub, &p, &n))
                    o->domain = kw__arena_str(&m->arena, p, n);
                else if (of == 2 && ow == KW_PB_VARINT && kw__pb_varint(&sub, &v))
                    o->version = (int64_t)v;
                else if (!kw__pb_skip(&sub, ow)) { ok = -1; break; }
            }
            if (ok < 0) st = BAD(&d, "model: malformed opset_import at offset %zu", off);
        } else if (!kw__pb_skip(&r, w)) {
            k = -1;
            break;
        }
    }
    if (!st && k < 0)
        st = BAD(&d, "model: malformed protobuf at offset %zu", kw__pb_off(&r));
    if (!st && !have_graph)
        st = BAD(&d, "model: no graph (is this an ONNX file?)");
    m->n_opsets = (int)opsets.n;
    m->opsets = vec_finish(&m->arena, &opsets);
    m->tensors = tensors.p;
    m->n_tensors = tensors.n;
    if (!st && !m->opsets)
        st = kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    return st;
}

int kw__model_keep(struct kw__raw_model *raw, struct kw_onnx_value *v) {
    void *p = realloc(raw->tensors, sizeof *raw->tensors * (raw->n_tensors + 1));
    if (!p) return 0;
    raw->tensors = p;
    raw->tensors[raw->n_tensors++] = v;
    return 1;
}

void kw__raw_model_free(struct kw__raw_model *m) {
    for (size_t i = 0; i < m->n_tensors; i++) kw_onnx_value_free(m->tensors[i]);
    free(m->tensors);
    kw__arena_free(&m->arena);
}
