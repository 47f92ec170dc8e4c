/*
 * graph.c — from a decoded graph to a runnable one: every value name gets a
 * slot (hash table), names a subgraph takes from an enclosing graph become
 * outer-scope links, nodes are sorted topologically (Kahn; a cycle or a
 * name nobody produces is an error naming the node), each slot learns its
 * last reader for early freeing, and each node is bound to an operator at
 * the model's opset for its domain.
 */
#include "onnx/model.h"

struct builder {
    struct kw__arena *arena;
    const struct kw__raw_opset *opsets;
    int n_opsets;
    char *err;
    size_t err_size;
};

/* Growable slot table of one graph being built. */
struct slots {
    const char **names;
    int *outer;
    struct kw_onnx_value **init;
    int *producer; /* node index, -1 input/initializer/outer */
    int n, cap;
    int *hash;     /* open addressing over names, -1 empty */
    int hcap;
};

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

static int slot_find(const struct slots *t, const char *name) {
    if (!t->hcap) return -1;
    for (uint64_t i = hash_str(name) & (uint64_t)(t->hcap - 1);;
         i = (i + 1) & (uint64_t)(t->hcap - 1)) {
        int s = t->hash[i];
        if (s < 0) return -1;
        if (!strcmp(t->names[s], name)) return s;
    }
}

static int rehash(struct slots *t, int cap) {
    int *h = malloc((size_t)cap * sizeof *h);
    if (!h) return 0;
    for (int i = 0; i < cap; i++) h[i] = -1;
    for (int s = 0; s < t->n; s++) {
        uint64_t i = hash_str(t->names[s]) & (uint64_t)(cap - 1);
        while (h[i] >= 0) i = (i + 1) & (uint64_t)(cap - 1);
        h[i] = s;
    }
    free(t->hash);
    t->hash = h;
    t->hcap = cap;
    return 1;
}

/* Adds name (must be new); returns its slot or -1 on out of memory. */
static int slot_add(struct slots *t, const char *name) {
    if (t->n == t->cap) {
        int cap = t->cap ? t->cap * 2 : 64;
        const char **nm = realloc(t->names, (size_t)cap * sizeof *nm);
        if (nm) t->names = nm;
        int *ou = realloc(t->outer, (size_t)cap * sizeof *ou);
        if (ou) t->outer = ou;
        struct kw_onnx_value **in = realloc(t->init, (size_t)cap * sizeof *in);
        if (in) t->init = in;
        int *pr = realloc(t->producer, (size_t)cap * sizeof *pr);
        if (pr) t->producer = pr;
        if (!nm || !ou || !in || !pr) return -1;
        t->cap = cap;
    }
    if ((t->n + 1) * 2 > t->hcap && !rehash(t, t->hcap ? t->hcap * 2 : 128))
        return -1;
    int s = t->n++;
    t->names[s] = name;
    t->outer[s] = -1;
    t->init[s] = NULL;
    t->producer[s] = -1;
    uint64_t i = hash_str(name) & (uint64_t)(t->hcap - 1);
    while (t->hash[i] >= 0) i = (i + 1) & (uint64_t)(t->hcap - 1);
    t->hash[i] = s;
    return s;
}

static void slots_free(struct slots *t) {
    free(t->names);
    free(t->outer);
    free(t->init);
    free(t->producer);
    free(t->hash);
}

/* A graph under construction, linked to the enclosing one. */
struct scope {
    struct scope *parent;
    struct slots t;
};

/* Slot of name in scope sc, creating outer-scope links up the chain;
 * -1 when no enclosing graph defines it, -2 on out of memory. */
static int resolve(struct scope *sc, const char *name) {
    int s = slot_find(&sc->t, name);
    if (s >= 0) return s;
    if (!sc->parent) return -1;
    int ps = resolve(sc->parent, name);
    if (ps < 0) return ps;
    s = slot_add(&sc->t, name);
    if (s < 0) return -2;
    sc->t.outer[s] = ps;
    return s;
}

static int opset_of(const struct builder *b, const char *domain) {
    if (!strcmp(domain, "ai.onnx")) domain = "";
    for (int i = 0; i < b->n_opsets; i++) {
        const char *d = b->opsets[i].domain;
        if (!strcmp(d, "ai.onnx")) d = "";
        if (!strcmp(d, domain)) return (int)b->opsets[i].version;
    }
    return 0;
}

static enum kw_status build(struct builder *b, struct kw__raw_graph *rg,
                            struct scope *parent, const struct kw__graph *gparent,
                            struct kw__graph **out);

#define NOMEM() kw__err(b->err, b->err_size, KW_STATUS_ERR_NOMEM, "out of memory")

static enum kw_status build(struct builder *b, struct kw__raw_graph *rg,
                            struct scope *parent, const struct kw__graph *gparent,
                            struct kw__graph **out) {
    struct scope sc = {parent, {0}};
    struct slots *t = &sc.t;
    struct kw__graph *g = kw__arena_alloc(b->arena, sizeof *g);
    enum kw_status st = KW_STATUS_OK;
    int *order = NULL, *indeg = NULL, *queue = NULL, **users = NULL,
        *n_users = NULL;
    if (!g) return NOMEM();
    g->parent = gparent;
    g->name = rg->name;
    const char *gname = rg->name[0] ? rg->name : "main";
    /* graph inputs, then initializers (an input with an initializer is one
     * slot: the initializer is its default) */
    g->n_inputs = rg->n_inputs;
    g->inputs = kw__arena_alloc(b->arena, sizeof(int) * (size_t)(rg->n_inputs + 1));
    g->in_info = kw__arena_alloc(b->arena, sizeof *g->in_info * (size_t)(rg->n_inputs + 1));
    if (!g->inputs || !g->in_info) return NOMEM();
    for (int i = 0; i < rg->n_inputs; i++) {
        const char *nm = rg->inputs[i].name;
        if (slot_find(t, nm) >= 0) {
            st = kw__err(b->err, b->err_size, KW_STATUS_ERR_FORMAT,
                         "graph '%s': input '%s' is listed twice", gname, nm);
            goto out;
        }
        int s = slot_add(t, nm);
        if (s < 0) { st = NOMEM(); goto out; }
        g->inputs[i] = s;
        g->in_info[i] = rg->inputs[i].info;
    }
    for (int i = 0; i < rg->n_inits; i++) {
        const char *nm = rg->inits[i].name;
        int s = slot_find(t, nm);
        if (s < 0 && (s = slot_add(t, nm)) < 0) { st = NOMEM(); goto out; }
        if (t->init[s]) {
            st = kw__err(b->err, b->err_size, KW_STATUS_ERR_FORMAT,
                         "graph '%s': initializer '%s' is defined twice", gname, nm);
            goto out;
        }
        t->init[s] = rg->inits[i].value;
    }
    /* node outputs */
    int nn = rg->n_nodes;
    g->n_nodes = nn;
    g->nodes = kw__arena_alloc(b->arena, sizeof *g->nodes * (size_t)(nn + 1));
    if (!g->nodes) { st = NOMEM(); goto out; }
    for (int k = 0; k < nn; k++) {
        const struct kw__raw_node *rn = &rg->nodes[k];
        for (int o = 0; o < rn->n_out; o++) {
            const char *nm = rn->outputs[o];
            if (!nm[0]) continue;
            int s = slot_find(t, nm);
            if (s >= 0 && (t->producer[s] >= 0 || !t->init[s])) {
                st = kw__err(b->err, b->err_size, KW_STATUS_ERR_FORMAT,
                             "graph '%s': node '%s' (%s) writes '%s', which "
                             "already has a value",
                             gname, rn->name, rn->op_type, nm);
                goto out;
            }
            if (s < 0 && (s = slot_add(t, nm)) < 0) { st = NOMEM(); goto out; }
            t->producer[s] = k;
        }
    }
    /* node inputs: local, or from an enclosing graph */
    for (int k = 0; k < nn && !st; k++) {
        const struct kw__raw_node *rn = &rg->nodes[k];
        for (int i = 0; i < rn->n_in; i++) {
            const char *nm = rn->inputs[i];
            if (!nm[0]) continue;
            int s = resolve(&sc, nm);
            if (s == -2) { st = NOMEM(); break; }
            if (s < 0) {
                st = kw__err(b->err, b->err_size, KW_STATUS_ERR_FORMAT,
                             "graph '%s': input '%s' of node '%s' (%s) is "
                             "not produced by any node, input or initializer",
                             gname, nm, rn->name, rn->op_type);
                break;
            }
        }
    }
    if (st) goto out;
    /* topological order (Kahn), stable for graphs already in order */
    order = malloc(sizeof(int) * (size_t)(nn + 1));
    indeg = calloc((size_t)nn + 1, sizeof(int));
    queue = malloc(sizeof(int) * (size_t)(nn + 1));
    users = calloc((size_t)nn + 1, sizeof *users);
    n_users = calloc((size_t)nn + 1, sizeof(int));
    if (!order || !indeg || !queue || !users || !n_users) { st = NOMEM(); goto out; }
    for (int k = 0; k < nn; k++) {
        const struct kw__raw_node *rn = &rg->nodes[k];
        for (int i = 0; i < rn->n_in; i++) {
            if (!rn->inputs[i][0]) continue;
            int s = slot_find(t, rn->inputs[i]);
            int p = s >= 0 ? t->producer[s] : -1;
            if (p < 0) continue;
            int *u = realloc(users[p], sizeof(int) * (size_t)(n_users[p] + 1));
            if (!u) { st = NOMEM(); goto out; }
            users[p] = u;
            u[n_users[p]++] = k;
            indeg[k]++;
        }
    }
    int head = 0, tail = 0, done = 0;
    for (int k = 0; k < nn; k++)
        if (!indeg[k]) queue[tail++] = k;
    while (head < tail) {
        int k = queue[head++];
        order[done++] = k;
        for (int j = 0; j < n_users[k]; j++)
            if (--indeg[users[k][j]] == 0) queue[tail++] = users[k][j];
    }
    if (done != nn) {
        int k = 0;
        while (k < nn && !indeg[k]) k++;
        st = kw__err(b->err, b->err_size, KW_STATUS_ERR_FORMAT,
                     "graph '%s': cycle through node '%s' (%s)", gname,
                     k < nn ? rg->nodes[k].name : "?",
                     k < nn ? rg->nodes[k].op_type : "?");
        goto out;
    }
    /* nodes in order, with slots; subgraphs built in this scope */
    for (int j = 0; j < nn && !st; j++) {
        const struct kw__raw_node *rn = &rg->nodes[order[j]];
        struct kw__node *n = &g->nodes[j];
        n->name = rn->name;
        if (!n->name[0]) { /* messages need something to point at */
            char tmp[32];
            int len = snprintf(tmp, sizeof tmp, "#%d", order[j]);
            n->name = kw__arena_str(b->arena, (const uint8_t *)tmp, (size_t)len);
            if (!n->name) { st = NOMEM(); break; }
        }
        n->op_type = rn->op_type;
        n->domain = rn->domain;
        n->n_in = rn->n_in;
        n->n_out = rn->n_out;
        n->in = kw__arena_alloc(b->arena, sizeof(int) * (size_t)(rn->n_in + 1));
        n->out = kw__arena_alloc(b->arena, sizeof(int) * (size_t)(rn->n_out + 1));
        if (!n->in || !n->out) { st = NOMEM(); break; }
        for (int i = 0; i < rn->n_in; i++)
            n->in[i] = rn->inputs[i][0] ? slot_find(t, rn->inputs[i]) : -1;
        for (int o = 0; o < rn->n_out; o++)
            n->out[o] = rn->outputs[o][0] ? slot_find(t, rn->outputs[o]) : -1;
        n->attrs = rn->attrs;
        n->n_attrs = rn->n_attrs;
        n->opset = opset_of(b, n->domain);
        n->op = kw__op_find(n->domain, n->op_type, n->opset);
    }
    if (st) goto out;
    /* graph outputs */
    g->n_outputs = rg->n_outputs;
    g->outputs = kw__arena_alloc(b->arena, sizeof(int) * (size_t)(rg->n_outputs + 1));
    g->out_info = kw__arena_alloc(b->arena, sizeof *g->out_info * (size_t)(rg->n_outputs + 1));
    if (!g->outputs || !g->out_info) { st = NOMEM(); goto out; }
    for (int i = 0; i < rg->n_outputs; i++) {
        int s = resolve(&sc, rg->outputs[i].name);
        if (s == -2) { st = NOMEM(); goto out; }
        if (s < 0) {
            st = kw__err(b->err, b->err_size, KW_STATUS_ERR_FORMAT,
                         "graph '%s': output '%s' is not produced", gname,
                         rg->outputs[i].name);
            goto out;
        }
        g->outputs[i] = s;
        g->out_info[i] = rg->outputs[i].info;
    }
    /* subgraphs (after this graph's own names exist) */
    for (int j = 0; j < nn && !st; j++) {
        struct kw__node *n = &g->nodes[j];
        int before = t->n;
        for (int a = 0; a < n->n_attrs && !st; a++) {
            struct kw__attr *at = &n->attrs[a];
            if (at->type == KW_ATTR_GRAPH && at->g)
                st = build(b, (struct kw__raw_graph *)at->g, &sc, g, &at->g);
            for (size_t q = 0; !st && at->type == KW_ATTR_GRAPHS && q < at->n; q++)
                st = build(b, (struct kw__raw_graph *)at->graphs[q], &sc, g,
                           &at->graphs[q]);
        }
        (void)before;
    }
    if (st) goto out;
    /* the slot table is final: copy it out */
    g->n_values = t->n;
    g->names = kw__arena_alloc(b->arena, sizeof(char *) * (size_t)(t->n + 1));
    g->outer = kw__arena_alloc(b->arena, sizeof(int) * (size_t)(t->n + 1));
    g->init = kw__arena_alloc(b->arena, sizeof(void *) * (size_t)(t->n + 1));
    g->last_use = kw__arena_alloc(b->arena, sizeof(int) * (size_t)(t->n + 1));
    if (!g->names || !g->outer || !g->init || !g->last_use) { st = NOMEM(); goto out; }
    for (int s = 0; s < t->n; s++) {
        g->names[s] = t->names[s];
        g->outer[s] = t->outer[s];
        g->init[s] = t->init[s];
    }
    kw__graph_liveness(g);
    *out = g;
out:
    if (users)
        for (int k = 0; k < nn; k++) free(users[k]);
    free(users);
    free(n_users);
    free(order);
    free(indeg);
    free(queue);
    slots_free(t);
    return st;
}

void kw__node_reads(const struct kw__node *n, void (*fn)(void *, int),
                    void *ctx) {
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0) fn(ctx, n->in[i]);
    for (int a = 0; a < n->n_attrs; a++) {
        const struct kw__attr *at = &n->attrs[a];
        size_t cnt = at->type == KW_ATTR_GRAPH ? 1
                     : at->type == KW_ATTR_GRAPHS ? at->n : 0;
        for (size_t q = 0; q < cnt; q++) {
            const struct kw__graph *sg =
                at->type == KW_ATTR_GRAPH ? at->g : at->graphs[q];
            for (int s = 0; sg && s < sg->n_values; s++)
                if (sg->outer[s] >= 0) fn(ctx, sg->outer[s]);
        }
    }
}

struct live_ctx {
    int *last_use;
    int node;
};

static void mark_live(void *ctx, int slot) {
    struct live_ctx *l = ctx;
    l->last_use[slot] = l->node;
}

void kw__graph_liveness(struct kw__graph *g) {
    for (int s = 0; s < g->n_values; s++) g->last_use[s] = -1;
    struct live_ctx l = {g->last_use, 0};
    for (l.node = 0; l.node < g->n_nodes; l.node++)
        kw__node_reads(&g->nodes[l.node], mark_live, &l);
}

enum kw_status kw__graph_build(struct kw__raw_model *m, struct kw__graph **out,
                               char *err, size_t err_size) {
    struct builder b = {&m->arena, m->opsets, m->n_opsets, err, err_size};
    *out = NULL;
    return build(&b, m->graph, NULL, NULL, out);
}
