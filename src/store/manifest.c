/*
 * manifest.c — OCI / Docker v2 image manifests: parsing what a registry
 * sends (every field type- and size-checked), choosing the model layer, and
 * building the ModelPack config and manifest that kaiwu push uploads.
 */
#include <jansson.h>
#include <sys/stat.h>
#include <time.h>

#include "core/sha256.h"
#include "store/store_internal.h"

static int copy_str(json_t *o, const char *key, char *dst, size_t n,
                    int required) {
    json_t *v = json_object_get(o, key);
    if (!v) {
        dst[0] = '\0';
        return !required;
    }
    const char *s = json_string_value(v);
    if (!s || strlen(s) >= n) return 0;
    memcpy(dst, s, strlen(s) + 1);
    return 1;
}

/* A title is used as a display name only; keep it to a plain file name. */
static void safe_title(const char *in, char *out, size_t n) {
    out[0] = '\0';
    if (!in || !*in || strchr(in, '/') || !strcmp(in, ".") ||
        !strcmp(in, ".."))
        return;
    for (const char *p = in; *p; p++)
        if ((unsigned char)*p < 0x20) return;
    snprintf(out, n, "%s", in);
}

static enum kw_status parse_desc(json_t *o, struct kw__desc *d,
                                 const char *what, char *err,
                                 size_t err_size) {
    memset(d, 0, sizeof *d);
    if (!json_is_object(o))
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "manifest: %s is not an object", what);
    if (!copy_str(o, "mediaType", d->media_type, sizeof d->media_type, 1) ||
        !copy_str(o, "digest", d->digest, sizeof d->digest, 1))
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "manifest: %s: mediaType/digest missing or too long",
                       what);
    if (!kw__digest_valid(d->digest))
        return kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,
                       "manifest: %s: digest '%s' is not sha256", what,
                       d->digest);
    json_t *size = json_object_get(o, "size");
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "manifest: %s: size missing or negative", what);
    d->size = (uint64_t)json_integer_value(size);
    json_t *ann = json_object_get(o, "annotations");
    if (ann && !json_is_object(ann))
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "manifest: %s: annotations is not an object", what);
    const char *title = json_string_value(json_object_get(ann, KW_ANN_TITLE));
    if (!title)
        title = json_string_value(json_object_get(ann, KW_ANN_FILEPATH));
    safe_title(title, d->title, sizeof d->title);
    return KW_STATUS_OK;
}

enum kw_status kw__manifest_parse(const char *data, size_t n,
                                  struct kw__manifest *m, char *err,
                                  size_t err_size) {
    memset(m, 0, sizeof *m);
    json_error_t je;
    json_t *root = json_loadb(data, n, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "manifest: invalid JSON at byte %d: %s", je.position,
                       je.text);
    enum kw_status st = KW_STATUS_OK;
    json_t *schema = json_object_get(root, "schemaVersion");
    if (!json_is_object(root) || !json_is_integer(schema) ||
        json_integer_value(schema) != 2) {
        st = kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,
                     "manifest: only schemaVersion 2 is supported");
        goto out;
    }
    if (!copy_str(root, "mediaType", m->media_type, sizeof m->media_type, 0) ||
        !copy_str(root, "artifactType", m->artifact_type,
                  sizeof m->artifact_type, 0)) {
        st = kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                     "manifest: mediaType/artifactType is not a string");
        goto out;
    }
    if (json_object_get(root, "manifests") ||
        !strcmp(m->media_type, KW_MT_OCI_INDEX) ||
        !strcmp(m->media_type, KW_MT_DOCKER_LIST)) {
        st = kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,
                     "manifest: an image index (several manifests) is not a "
                     "model; name one manifest by digest");
        goto out;
    }
    if (m->media_type[0] && strcmp(m->media_type, KW_MT_OCI_MANIFEST) &&
        strcmp(m->media_type, KW_MT_DOCKER_MANIFEST)) {
        st = kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,
                     "manifest: unsupported mediaType '%s'", m->media_type);
        goto out;
    }
    if ((st = parse_desc(json_object_get(root, "config"), &m->config,
                         "config", err, err_size)))
        goto out;
    json_t *layers = json_object_get(root, "layers");
    if (!json_is_array(layers)) {
        st = kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                     "manifest: layers is missing or not an array");
        goto out;
    }
    if (json_array_size(layers) > KW_MAX_LAYERS) {
        st = kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,
                     "manifest: %zu layers (at most %d supported)",
                     json_array_size(layers), KW_MAX_LAYERS);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(layers); i++) {
        char what[32];
        snprintf(what, sizeof what, "layers[%zu]", i);
        if ((st = parse_desc(json_array_get(layers, i), &m->layers[i], what,
                             err, err_size)))
            goto out;
        m->n_layers++;
    }
out:
    json_decref(root);
    return st;
}

const char *kw__format_from_title(const char *title) {
    size_t n = title ? strlen(title) : 0;
    if (n >= 5 && !strcmp(title + n - 5, ".gguf")) return "gguf";
    if (n >= 5 && !strcmp(title + n - 5, ".onnx")) return "onnx";
    return "";
}

int kw__manifest_model_layer(const struct kw__manifest *m) {
    for (int i = 0; i < m->n_layers; i++)
        if (!strcmp(m->layers[i].media_type, KW_MT_MODEL_WEIGHT)) return i;
    int found = -1, n_found = 0;
    for (int i = 0; i < m->n_layers; i++)
        if (*kw__format_from_title(m->layers[i].title)) {
            found = i;
            n_found++;
        }
    if (n_found == 1) return found;
    return m->n_layers == 1 ? 0 : -1;
}

/* ---- building what push uploads ---- */

/* "135M", "1.5B": ModelPack's paramSize. */
static void param_size_text(uint64_t n, char *buf, size_t size) {
    static const struct { double scale; char c; } units[] = {
        {1e15, 'Q'}, {1e12, 'T'}, {1e9, 'B'}, {1e6, 'M'}, {1e3, 'K'}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if ((double)n >= units[i].scale) {
            double v = (double)n / units[i].scale;
            if (v >= 100)
                snprintf(buf, size, "%.0f%c", v, units[i].c);
            else
                snprintf(buf, size, "%.1f%c", v, units[i].c);
            return;
        }
    snprintf(buf, size, "%llu", (unsigned long long)n);
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* GGUF facts for the config: architecture, parameter count, the type most
 * of the weight bytes use. */
static void gguf_facts(const char *file, json_t *cfg, json_t *desc) {
    struct kw_gguf *g;
    if (kw_gguf_open(file, &g, NULL, 0) != KW_STATUS_OK) return;
    const char *s;
    size_t len;
    if (kw_gguf_find_str(g, "general.architecture", &s, &len)) {
        json_object_set_new(cfg, "architecture", json_stringn(s, len));
        json_object_set_new(desc, "family", json_stringn(s, len));
    }
    if (kw_gguf_find_str(g, "general.name", &s, &len))
        json_object_set_new(desc, "name", json_stringn(s, len));
    uint64_t params = 0, bytes_by_type[KW_TYPE_COUNT] = {0};
    for (int64_t t = 0; t < kw_gguf_n_tensors(g); t++) {
        struct kw_gguf_tensor_info ti;
        if (!kw_gguf_tensor(g, t, &ti)) continue;
        uint64_t ne = 1;
        for (uint32_t d = 0; d < ti.n_dims; d++) ne *= (uint64_t)ti.ne[d];
        params += ne;
        if (ti.type < KW_TYPE_COUNT) bytes_by_type[ti.type] += ti.size_bytes;
    }
    if (params) {
        char buf[32];
        param_size_text(params, buf, sizeof buf);
        json_object_set_new(cfg, "paramSize", json_string(buf));
    }
    uint32_t best = 0;
    for (uint32_t t = 1; t < KW_TYPE_COUNT; t++)
        if (bytes_by_type[t] > bytes_by_type[best]) best = t;
    const char *tn = kw_type_name(best);
    if (tn && bytes_by_type[best]) {
        char up[16];
        size_t i = 0;
        for (; tn[i] && i < sizeof up - 1; i++)
            up[i] = (char)(tn[i] >= 'a' && tn[i] <= 'z' ? tn[i] - 32 : tn[i]);
        up[i] = '\0';
        json_object_set_new(cfg, "quantization", json_string(up));
    }
    kw_gguf_free(g);
}

enum kw_status kw__modelpack_build(const char *file, const char *layer_digest,
                                   uint64_t layer_size, char **config_out,
                                   char **manifest_out, char *config_digest,
                                   char *err, size_t err_size) {
    *config_out = *manifest_out = NULL;
    const char *name = base_name(file);
    const char *format = kw__format_from_title(name);
    FILE *f = fopen(file, "rb");
    char magic[4] = {0};
    if (f) {
        if (fread(magic, 1, 4, f) != 4) magic[0] = 0;
        fclose(f);
    }
    if (!memcmp(magic, "GGUF", 4)) format = "gguf";
    if (!*format)
        return kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,
                       "%s: not a GGUF file and not named *.onnx", file);

    /* the file's own time, not the clock: pushing the same file again gives
     * the same config and manifest digests */
    char created[32];
    struct stat sb;
    time_t when = stat(file, &sb) == 0 ? sb.st_mtime : 0;
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);

    json_t *desc = json_object(), *cfg = json_object();
    json_object_set_new(desc, "createdAt", json_string(created));
    json_object_set_new(cfg, "format", json_string(format));
    if (!strcmp(format, "gguf")) gguf_facts(file, cfg, desc);
    if (!json_object_get(desc, "name"))
        json_object_set_new(desc, "name", json_string(name));
    json_t *config = json_pack("{s:o,s:o,s:{s:s,s:[s]}}", "descriptor", desc,
                               "config", cfg, "modelfs", "type", "layers",
                               "diff_ids", layer_digest);
    char *config_text = config ? json_dumps(config, JSON_COMPACT) : NULL;
    json_decref(config);
    if (!config_text)
        return kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                       "cannot build the model config");
    memcpy(config_digest, "sha256:", 7);
    kw__sha256_buf(config_text, strlen(config_text), config_digest + 7);

    json_t *manifest = json_pack(
        "{s:i,s:s,s:s,s:{s:s,s:s,s:I},s:[{s:s,s:s,s:I,s:{s:s,s:s}}],"
        "s:{s:s}}",
        "schemaVersion", 2, "mediaType", KW_MT_OCI_MANIFEST, "artifactType",
        KW_MT_MODEL_ARTIFACT, "config", "mediaType", KW_MT_MODEL_CONFIG,
        "digest", config_digest, "size", (json_int_t)strlen(config_text),
        "layers", "mediaType", KW_MT_MODEL_WEIGHT, "digest", layer_digest,
        "size", (json_int_t)layer_size, "annotations", KW_ANN_TITLE, name,
        KW_ANN_FILEPATH, name, "annotations",
        "org.opencontainers.image.created", created);
    char *manifest_text = manifest ? json_dumps(manifest, JSON_COMPACT) : NULL;
    json_decref(manifest);
    if (!manifest_text) {
        free(config_text);
        return kw__err(err, err_size, KW_STATUS_ERR_NOMEM,
                       "cannot build the manifest");
    }
    *config_out = config_text;
    *manifest_out = manifest_text;
    return KW_STATUS_OK;
}
