/*
 * fold.c — constant folding at load time: a node whose inputs are all
 * initializers (Constant nodes, shape arithmetic on weights, ...) runs once
 * and its outputs become initializers, so kw_onnx_run never repeats it.
 * Random operators and nodes with subgraphs are left alone; a node that
 * fails here stays in the graph and reports its error at run time.
 */
#include "onnx/exec.h"
#include "onnx/model.h"

static int is_random(const char *op) {
    return !strncmp(op, "Random", 6) || !strcmp(op, "Bernoulli") ||
           !strcmp(op, "Multinomial") || !strcmp(op, "Dropout");
}

static int foldable(const struct kw__graph *g, const struct kw__node *n) {
    if (!n->op || is_random(n->op_type)) return 0;
    for (int a = 0; a < n->n_attrs; a++)
        if (n->attrs[a].type == KW_ATTR_GRAPH || n->attrs[a].type == KW_ATTR_GRAPHS)
            return 0;
    for (int i = 0; i < n->n_in; i++) {
        int s = n->in[i];
        if (s < 0) continue;
        if (!g->init[s]) return 0;
        /* a graph input's initializer is only a default */
        for (int k = 0; k < g->n_inputs; k++)
            if (g->inputs[k] == s) return 0;
    }
    for (int o = 0; o < n->n_out; o++)
        if (n->out[o] >= 0 && g->init[n->out[o]]) return 0;
    return 1;
}

void kw__fold_constants(struct kw_onnx_model *m) {
    struct kw__graph *g = m->graph;
    struct kw__raw_model *raw = m->arena;
    /* folding runs on untrusted constants before anyone asked for a run:
     * a node that wants a huge output is left for run time instead */
    struct kw__exec e = {.model = m, .max_tensor_bytes = (size_t)256 << 20};
    int kept = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        struct kw__node *n = &g->nodes[k];
        int folded = 0;
        if (foldable(g, n) && n->n_out <= 16 && n->n_in <= 64) {
            struct kw_onnx_value *in[64], *out[16] = {0};
            for (int i = 0; i < n->n_in; i++)
                in[i] = n->in[i] >= 0 ? g->init[n->in[i]] : NULL;
            char err[256];
            struct kw__op_ctx c = {n, n->opset, in, n->n_in, out, n->n_out,
                                   &e, err, sizeof err};
            enum kw_status st = n->op->run(&c);
            int ok = st == KW_STATUS_OK;
            for (int o = 0; ok && o < n->n_out; o++)
                if (n->out[o] >= 0 && !out[o]) ok = 0;
            for (int o = 0; ok && o < n->n_out; o++)
                if (out[o] && !kw__model_keep(raw, out[o])) ok = 0;
            if (ok) {
                for (int o = 0; o < n->n_out; o++)
                    if (n->out[o] >= 0) g->init[n->out[o]] = out[o];
                    else kw_onnx_value_free(out[o]);
                folded = 1;
            } else {
                /* outputs already handed to raw stay there; free the rest */
                for (int o = 0; o < n->n_out; o++) {
                    int owned = 0;
                    for (size_t t = 0; t < raw->n_tensors; t++)
                        owned |= raw->tensors[t] == out[o];
                    if (!owned) kw_onnx_value_free(out[o]);
                }
            }
        }
        if (!folded) g->nodes[kept++] = *n;
    }
    kw__exec_pool_free(&e);
    if (kept == g->n_nodes) return;
    g->n_nodes = kept;
    kw__graph_liveness(g);
}
