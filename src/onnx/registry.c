/*
 * registry.c — the operator registry: every family's table, searched by
 * (domain, op type, opset). A node binds to the implementation whose
 * [since, until] range holds the model's opset for the node's domain.
 */
#include "onnx/onnx_internal.h"

extern const struct kw__op kw__ops_elementwise[];
extern const struct kw__op kw__ops_shape[];
extern const struct kw__op kw__ops_reduce[];
extern const struct kw__op kw__ops_nn[];
extern const struct kw__op kw__ops_control[];
extern const struct kw__op kw__ops_signal[];
extern const struct kw__op kw__ops_training[];

static const struct kw__op *const tables[] = {
    kw__ops_elementwise, kw__ops_shape,   kw__ops_reduce,
    kw__ops_nn,          kw__ops_control, kw__ops_signal,
    kw__ops_training,
};

const struct kw__op *kw__op_find(const char *domain, const char *op_type,
                                 int opset) {
    if (!strcmp(domain, "ai.onnx")) domain = "";
    const struct kw__op *best = NULL;
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const struct kw__op *o = tables[t]; o->domain; o++) {
            if (strcmp(o->domain, domain) || strcmp(o->op_type, op_type))
                continue;
            if (opset < o->since || (o->until && opset > o->until)) continue;
            if (!best || o->since > best->since) best = o;
        }
    return best;
}
