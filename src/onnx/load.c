/*
 * load.c — kw_onnx_load and the model's read-only API: maps the file,
 * decodes it, reads external data (only from files inside the model's
 * folder: no absolute paths, no "..", no symlink leading out), builds the
 * graph and answers info queries.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx/exec.h"
#include "onnx/model.h"

struct ext_ctx {
    char dir[PATH_MAX];  /* the model's folder, resolved */
    const char *model;   /* for messages */
};

static enum kw_status read_external(void *user, const char *location,
                                    uint64_t offset, void *dst, size_t len,
                                    const char *tensor, char *err,
                                    size_t err_size) {
    const struct ext_ctx *x = user;
    if (location[0] == '/' || strstr(location, "..") || strchr(location, '\\'))
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "%s: tensor '%s': external data location '%s' must be "
                       "a relative path inside the model's folder",
                       x->model, tensor, location);
    char path[PATH_MAX * 2], real[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", x->dir, location);
    if (!realpath(path, real))
        return kw__err(err, err_size, KW_STATUS_ERR_IO,
                       "%s: tensor '%s': external data '%s': %s", x->model,
                       tensor, location, strerror(errno));
    size_t dl = strlen(x->dir);
    if (strncmp(real, x->dir, dl) || real[dl] != '/')
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "%s: tensor '%s': external data '%s' leads outside the "
                       "model's folder",
                       x->model, tensor, location);
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0) close(fd);
        return kw__err(err, err_size, KW_STATUS_ERR_IO,
                       "%s: tensor '%s': cannot open external data '%s'",
                       x->model, tensor, location);
    }
    uint64_t end;
    if (!kw__add_u64(offset, len, &end) || end > (uint64_t)sb.st_size) {
        close(fd);
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "%s: tensor '%s': external data '%s' has %lld bytes, "
                       "%llu needed at offset %llu",
                       x->model, tensor, location, (long long)sb.st_size,
                       (unsigned long long)len, (unsigned long long)offset);
    }
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, (char *)dst + got, len - got, (off_t)(offset + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != len)
        return kw__err(err, err_size, KW_STATUS_ERR_IO,
                       "%s: tensor '%s': short read of external data '%s'",
                       x->model, tensor, location);
    return KW_STATUS_OK;
}

/* Distinct (domain, op) pairs of g and its subgraphs. */
static void collect_ops(struct kw_onnx_model *m, const struct kw__graph *g,
                        int depth) {
    if (!g || depth > 40) return;
    for (int k = 0; k < g->n_nodes; k++) {
        const struct kw__node *n = &g->nodes[k];
        int seen = 0;
        for (int i = 0; i < m->n_ops && !seen; i++)
            seen = !strcmp(m->op_types[i], n->op_type) &&
                   !strcmp(m->op_domains[i], n->domain);
        if (!seen) {
            const char **d = realloc(m->op_domains, sizeof *d * (size_t)(m->n_ops + 1));
            if (d) m->op_domains = d;
            const char **t = realloc(m->op_types, sizeof *t * (size_t)(m->n_ops + 1));
            if (t) m->op_types = t;
            int *s = realloc(m->op_supported, sizeof *s * (size_t)(m->n_ops + 1));
            if (s) m->op_supported = s;
            if (!d || !t || !s) return;
            m->op_domains[m->n_ops] = n->domain;
            m->op_types[m->n_ops] = n->op_type;
            m->op_supported[m->n_ops] = n->op != NULL;
            m->n_ops++;
        }
        for (int a = 0; a < n->n_attrs; a++) {
            const struct kw__attr *at = &n->attrs[a];
            if (at->type == KW_ATTR_GRAPH) collect_ops(m, at->g, depth + 1);
            for (size_t q = 0; at->type == KW_ATTR_GRAPHS && q < at->n; q++)
                collect_ops(m, at->graphs[q], depth + 1);
        }
    }
}

/* Operator states of g and its subgraphs: prepared once after the
 * fusions (packed weights), freed with the model. */
static void walk_states(struct kw__graph *g, int prepare, int depth) {
    if (!g || depth > 40) return;
    for (int k = 0; k < g->n_nodes; k++) {
        struct kw__node *n = &g->nodes[k];
        if (prepare && n->op) {
            kw__node_prepare(n, g);
        } else if (!prepare && n->state) {
            if (n->state_free) n->state_free(n->state);
            n->state = NULL;
        }
        for (int a = 0; a < n->n_attrs; a++) {
            struct kw__attr *at = &n->attrs[a];
            if (at->type == KW_ATTR_GRAPH) walk_states(at->g, prepare, depth + 1);
            for (size_t q = 0; at->type == KW_ATTR_GRAPHS && q < at->n; q++)
                walk_states(at->graphs[q], prepare, depth + 1);
        }
    }
}

void kw_onnx_free(struct kw_onnx_model *m) {
    if (!m) return;
    for (int i = 0; i < m->kept.n; i++) free(m->kept.buf[i]);
    walk_states(m->graph, 0, 0);
    kw__pool_free(m->pool);
    if (m->arena) {
        kw__raw_model_free(m->arena);
        free(m->arena);
    }
    if (m->map) munmap(m->map, m->map_size);
    free(m->user_inputs);
    free(m->op_domains);
    free(m->op_types);
    free(m->op_supported);
    pthread_mutex_destroy(&m->run_lock);
    free(m);
}

/* Decodes and builds m from data; dir (may be NULL) is the folder external
 * data is read from. */
static enum kw_status finish_load(struct kw_onnx_model *m, const uint8_t *data,
                                  size_t size, const char *name,
                                  const char *dir,
                                  const struct kw_onnx_options *opts,
                                  char *err, size_t err_size) {
    struct ext_ctx x = {.model = name};
    if (!dir || !realpath(dir, x.dir)) x.dir[0] = '\0';
    /* aliasing is only safe over our own mapping */
    struct kw__tensor_src src = {m->map != NULL, &x, dir ? read_external : NULL};
    struct kw__raw_model *raw = calloc(1, sizeof *raw);
    m->arena = raw;
    char msg[512] = "";
    enum kw_status st = KW_STATUS_OK;
    if (!raw) st = kw__err(msg, sizeof msg, KW_STATUS_ERR_NOMEM, "out of memory");
    if (!st) st = kw__model_decode(data, size, &src, raw, msg, sizeof msg);
    if (!st) st = kw__graph_build(raw, &m->graph, msg, sizeof msg);
    if (st) return kw__err(err, err_size, st, "%s: %s", name, msg);
    m->n_opsets = raw->n_opsets;
    /* callers bind the inputs that have no initializer */
    const struct kw__graph *g = m->graph;
    m->user_inputs = malloc(sizeof(int) * (size_t)(g->n_inputs + 1));
    if (!m->user_inputs)
        return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    for (int i = 0; i < g->n_inputs; i++)
        if (!g->init[g->inputs[i]]) m->user_inputs[m->n_user_inputs++] = i;
    collect_ops(m, g, 0);
    m->n_nodes_loaded = g->n_nodes;
    int threads = opts && opts->n_threads > 0 ? opts->n_threads : kw__cpu_count();
    if (kw__pool_new(threads, &m->pool) != KW_STATUS_OK) m->pool = NULL;
    kw__fold_constants(m);
    if (!getenv("KW_ONNX_NO_FUSE")) kw__fuse(m);
    walk_states(m->graph, 1, 0);
    return KW_STATUS_OK;
}

static struct kw_onnx_model *model_new(void) {
    struct kw_onnx_model *m = calloc(1, sizeof *m);
    if (m) pthread_mutex_init(&m->run_lock, NULL);
    return m;
}

enum kw_status kw_onnx_load(const char *path,
                            const struct kw_onnx_options *opts,
                            struct kw_onnx_model **out, char *err,
                            size_t err_size) {
    if (!path || !out)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG, "NULL argument");
    *out = NULL;
    struct kw_onnx_model *m = model_new();
    if (!m) return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    enum kw_status st = KW_STATUS_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = kw__err(err, err_size, KW_STATUS_ERR_IO, "%s: %s", path,
                     fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0) close(fd);
        kw_onnx_free(m);
        return st;
    }
    m->map_size = (size_t)sb.st_size;
    if (m->map_size) {
        m->map = mmap(NULL, m->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m->map == MAP_FAILED) m->map = NULL;
    }
    close(fd);
    if (!m->map) {
        st = kw__err(err, err_size, KW_STATUS_ERR_IO, "%s: %s", path,
                     m->map_size ? "cannot map the file" : "empty file");
        kw_onnx_free(m);
        return st;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    st = finish_load(m, m->map, m->map_size, path, dir, opts, err, err_size);
    if (st) {
        kw_onnx_free(m);
        return st;
    }
    *out = m;
    return KW_STATUS_OK;
}

enum kw_status kw_onnx_load_memory(const void *data, size_t size,
                                   const char *name,
                                   const struct kw_onnx_options *opts,
                                   struct kw_onnx_model **out, char *err,
                                   size_t err_size) {
    if (!out || (!data && size))
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG, "NULL argument");
    *out = NULL;
    struct kw_onnx_model *m = model_new();
    if (!m) return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    enum kw_status st = finish_load(m, data, size, name ? name : "model", NULL,
                                    opts, err, err_size);
    if (st) {
        kw_onnx_free(m);
        return st;
    }
    *out = m;
    return KW_STATUS_OK;
}

int kw_onnx_n_inputs(const struct kw_onnx_model *m) {
    return m ? m->n_user_inputs : 0;
}

int kw_onnx_n_outputs(const struct kw_onnx_model *m) {
    return m ? m->graph->n_outputs : 0;
}

static void fill_info(const struct kw__graph *g, int slot,
                      const struct kw__type_info *ti,
                      struct kw_onnx_io_info *o) {
    memset(o, 0, sizeof *o);
    o->name = g->names[slot];
    o->kind = ti->known ? ti->kind : KW_ONNX_TENSOR;
    o->dtype = ti->dtype;
    o->rank = ti->known && ti->rank <= KW_ONNX_MAX_RANK ? ti->rank : -1;
    for (int i = 0; i < o->rank; i++) {
        o->dims[i] = ti->dims[i];
        o->dim_names[i] = ti->dim_names[i] ? ti->dim_names[i] : "";
    }
}

int kw_onnx_input_info(const struct kw_onnx_model *m, int i,
                       struct kw_onnx_io_info *out) {
    if (!m || i < 0 || i >= m->n_user_inputs || !out) return 0;
    int gi = m->user_inputs[i];
    fill_info(m->graph, m->graph->inputs[gi], &m->graph->in_info[gi], out);
    return 1;
}

int kw_onnx_output_info(const struct kw_onnx_model *m, int i,
                        struct kw_onnx_io_info *out) {
    if (!m || i < 0 || i >= m->graph->n_outputs || !out) return 0;
    fill_info(m->graph, m->graph->outputs[i], &m->graph->out_info[i], out);
    return 1;
}

int kw_onnx_n_opsets(const struct kw_onnx_model *m) { return m ? m->n_opsets : 0; }

int kw_onnx_opset(const struct kw_onnx_model *m, int i, const char **domain,
                  int64_t *version) {
    if (!m || i < 0 || i >= m->n_opsets) return 0;
    const struct kw__raw_model *raw = m->arena;
    if (domain) *domain = raw->opsets[i].domain;
    if (version) *version = raw->opsets[i].version;
    return 1;
}

int kw_onnx_n_ops(const struct kw_onnx_model *m) { return m ? m->n_ops : 0; }

int kw_onnx_n_nodes(const struct kw_onnx_model *m, int *n_run) {
    if (n_run) *n_run = m ? m->graph->n_nodes : 0;
    return m ? m->n_nodes_loaded : 0;
}

int kw_onnx_n_blocked(const struct kw_onnx_model *m) {
    int n = 0;
    for (int k = 0; m && k < m->graph->n_nodes; k++)
        n += m->graph->nodes[k].blk_out + m->graph->nodes[k].pre;
    return n;
}

int kw_onnx_op(const struct kw_onnx_model *m, int i, const char **domain,
               const char **op_type, int *supported) {
    if (!m || i < 0 || i >= m->n_ops) return 0;
    if (domain) *domain = m->op_domains[i];
    if (op_type) *op_type = m->op_types[i];
    if (supported) *supported = m->op_supported[i];
    return 1;
}
