/*
 * api_misc.c — the small endpoints: GET /health, GET /v1/models[/{id}],
 * GET /metrics, and POST /v1/images/classify (--vision models: a JSON body
 * with a base64 or data-URL image, or a multipart upload; ImageNet
 * preprocessing as `kaiwu classify` does, one run at a time per model).
 * Also loads and frees the vision models (kws_vision_load / _free).
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kaiwu/image.h"
#include "kaiwu/onnx.h"
#include "kaiwu/vision.h"

struct kws_vision {
    const char *name;
    struct kw_onnx_model *m;
    struct kw_preprocess p;
    pthread_mutex_t mu; /* runs are serialised */
};

/* ---- health, models, metrics ------------------------------------------- */

enum MHD_Result kws_api_health(struct kws_req *r) {
    static const char ok[] = "{\"status\":\"ok\"}";
    static const char loading[] = "{\"status\":\"loading\"}";
    if (atomic_load(&r->srv->ready))
        return kws_reply_static(r, 200, "application/json", ok,
                                sizeof ok - 1);
    return kws_reply_static(r, 503, "application/json", loading,
                            sizeof loading - 1);
}

static json_t *model_obj(const struct kws_server *srv, const char *id) {
    return json_pack("{s:s,s:s,s:I,s:s}", "id", id, "object", "model",
                     "created", (json_int_t)srv->created, "owned_by",
                     "kaiwu");
}

enum MHD_Result kws_api_models(struct kws_req *r, const char *id) {
    struct kws_server *srv = r->srv;
    const struct kws_config *c = &srv->cfg;
    if (id) {
        int found = !strcmp(id, srv->model_id);
        for (int i = 0; i < c->n_vision && !found; i++)
            found = !strcmp(id, c->vision[i].name);
        if (!found)
            return kws_reply_error(r, 404, NULL, "model", "model_not_found",
                                   "model '%.128s' not found", id);
        return kws_reply_json(r, 200, model_obj(srv, id));
    }
    json_t *data = json_array();
    json_array_append_new(data, model_obj(srv, srv->model_id));
    for (int i = 0; i < c->n_vision; i++)
        json_array_append_new(data, model_obj(srv, c->vision[i].name));
    return kws_reply_json(r, 200,
                          json_pack("{s:s,s:o}", "object", "list", "data",
                                    data));
}

enum MHD_Result kws_api_metrics(struct kws_req *r) {
    struct kws_server *srv = r->srv;
    struct kws_sched_stats st;
    memset(&st, 0, sizeof st);
    int ready = atomic_load(&srv->ready);
    if (ready)
        kws_sched_stats(srv->sched, &st);
    size_t len = 0;
    char *text = kws_metrics_render(srv->metrics, &st, ready, &len);
    if (!text)
        return kws_reply_error(r, 500, NULL, NULL, NULL, "out of memory");
    return kws_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                     len);
}

/* ---- vision models ------------------------------------------------------ */

/* Preprocessing for the model's declared input, as `kaiwu classify`:
 * NHWC or one channel when declared, a fixed size other than 224 resized
 * with ImageNet's 256:224 ratio. */
static void plan_preprocess(struct kws_vision *v) {
    struct kw_onnx_io_info io;
    int64_t d[4] = {-1, -1, -1, -1};
    memset(&io, 0, sizeof io);
    if (kw_onnx_input_info(v->m, 0, &io) && io.rank == 4)
        for (int i = 0; i < 4; i++)
            d[i] = io.dims[i] > 0 ? io.dims[i] : -1;
    kw_preprocess_imagenet(&v->p);
    if (d[3] == 3 && d[1] != 3)
        v->p.nhwc = 1;
    int64_t ch = v->p.nhwc ? d[3] : d[1], ih = v->p.nhwc ? d[1] : d[2],
            iw = v->p.nhwc ? d[2] : d[3];
    if (ch == 1)
        v->p.channels = 1;
    if (ih > 0 && iw > 0 && ih <= 65536 && iw <= 65536) {
        v->p.crop_w = (int)iw;
        v->p.crop_h = (int)ih;
    }
    if (v->p.crop_w != 224 || v->p.crop_h != 224)
        v->p.resize_shorter =
            (int)((v->p.crop_w > v->p.crop_h ? v->p.crop_w : v->p.crop_h) *
                      256.0 / 224.0 + 0.5);
}

int kws_vision_load(struct kws_server *srv, char *err, size_t err_size) {
    const struct kws_config *c = &srv->cfg;
    if (c->n_vision <= 0)
        return 0;
    srv->vision = calloc((size_t)c->n_vision, sizeof *srv->vision);
    if (!srv->vision) {
        snprintf(err, err_size, "out of memory");
        return 1;
    }
    for (int i = 0; i < c->n_vision; i++) {
        struct kws_vision *v = &srv->vision[i];
        struct kw_onnx_options o = {c->threads};
        char e[512] = "";
        enum kw_status st = kw_onnx_load(c->vision[i].path, &o, &v->m, e,
                                         sizeof e);
        if (st != KW_STATUS_OK) {
            if (e[0] && strstr(e, c->vision[i].path))
                snprintf(err, err_size, "%s", e);
            else
                snprintf(err, err_size, "%s: %s", c->vision[i].path,
                         e[0] ? e : kw_status_str(st));
            return 1;
        }
        srv->n_vision = i + 1; /* freed from here on */
        pthread_mutex_init(&v->mu, NULL);
        v->name = c->vision[i].name;
        if (kw_onnx_n_inputs(v->m) < 1 || kw_onnx_n_outputs(v->m) < 1) {
            snprintf(err, err_size, "%s: the model needs an image input and "
                     "an output", c->vision[i].path);
            return 1;
        }
        plan_preprocess(v);
    }
    return 0;
}

void kws_vision_free(struct kws_server *srv) {
    for (int i = 0; i < srv->n_vision; i++) {
        kw_onnx_free(srv->vision[i].m);
        pthread_mutex_destroy(&srv->vision[i].mu);
    }
    free(srv->vision);
    srv->vision = NULL;
    srv->n_vision = 0;
}

/* ---- classify: request decoding ----------------------------------------- */

struct classify_in {
    unsigned char *image;
    size_t n_image, cap;
    char model[256];
    char top_k[32];
    int bad;        /* an unknown field or an oversized value */
    char bad_field[64];
};

static int b64_val(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Base64 (standard or URL alphabet, padding optional, whitespace
 * skipped), or a data URL holding it. 0 on malformed input. */
static int b64_decode(const char *s, size_t n, unsigned char **out,
                      size_t *out_n) {
    if (n >= 5 && !strncasecmp(s, "data:", 5)) {
        const char *comma = memchr(s, ',', n);
        if (!comma || comma - s < 12 ||
            strncasecmp(comma - 7, ";base64", 7))
            return 0;
        n -= (size_t)(comma + 1 - s);
        s = comma + 1;
    }
    unsigned char *o = malloc(n / 4 * 3 + 3);
    if (!o)
        return 0;
    size_t k = 0;
    unsigned acc = 0;
    int bits = 0, pad = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = b64_val(c);
        if (v < 0 || pad) {
            free(o);
            return 0;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits >= 6 || pad > 2) { /* a lone 6-bit group is not base64 */
        free(o);
        return 0;
    }
    *out = o;
    *out_n = k;
    return 1;
}

static void copy_field(char *dst, size_t size, const char *data,
                       uint64_t off, size_t n, struct classify_in *in,
                       const char *key) {
    if (off + n >= size) {
        in->bad = 1;
        snprintf(in->bad_field, sizeof in->bad_field, "%s", key);
        return;
    }
    memcpy(dst + off, data, n);
    dst[off + n] = 0;
}

static enum MHD_Result post_iter(void *cls, enum MHD_ValueKind kind,
                                 const char *key, const char *filename,
                                 const char *ctype, const char *enc,
                                 const char *data, uint64_t off,
                                 size_t size) {
    struct classify_in *in = cls;
    (void)kind, (void)filename, (void)ctype, (void)enc;
    if (!key)
        return MHD_YES;
    if (size == 0 || !data) { /* an empty piece: only note the field */
        if (strcmp(key, "image") && strcmp(key, "model") &&
            strcmp(key, "top_k")) {
            in->bad = 1;
            snprintf(in->bad_field, sizeof in->bad_field, "%.48s", key);
        }
        return MHD_YES;
    }
    if (!strcmp(key, "image")) {
        if (in->n_image + size > in->cap) {
            size_t cap = in->cap ? in->cap * 2 : 65536;
            while (cap < in->n_image + size)
                cap *= 2;
            unsigned char *b = realloc(in->image, cap);
            if (!b)
                return MHD_NO;
            in->image = b;
            in->cap = cap;
        }
        memcpy(in->image + in->n_image, data, size);
        in->n_image += size;
    } else if (!strcmp(key, "model")) {
        copy_field(in->model, sizeof in->model, data, off, size, in, key);
    } else if (!strcmp(key, "top_k")) {
        copy_field(in->top_k, sizeof in->top_k, data, off, size, in, key);
    } else {
        in->bad = 1;
        snprintf(in->bad_field, sizeof in->bad_field, "%.48s", key);
    }
    return MHD_YES;
}

/* Fills in from the body; 0 after an error reply (*res). */
static int read_input(struct kws_req *r, struct classify_in *in,
                      enum MHD_Result *res) {
    const char *ct = MHD_lookup_connection_value(
        r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct && !strncasecmp(ct, "multipart/form-data", 19)) {
        struct MHD_PostProcessor *pp =
            MHD_create_post_processor(r->conn, 65536, post_iter, in);
        int ok = pp && MHD_post_process(pp, r->body ? r->body : "", r->len)
                           == MHD_YES;
        if (pp && MHD_destroy_post_processor(pp) != MHD_YES)
            ok = 0;
        if (!ok || in->bad) {
            *res = kws_reply_error(r, 400, NULL, in->bad ? in->bad_field
                                                        : NULL, NULL,
                                   in->bad ? "unknown or oversized field "
                                             "'%s'" : "malformed "
                                             "multipart body%s",
                                   in->bad ? in->bad_field : "");
            return 0;
        }
        return 1;
    }
    json_t *root = kws_parse_body(r, res);
    if (!root)
        return 0;
    const char *k;
    json_t *v;
    int rc = 1;
    json_object_foreach(root, k, v) {
        if (!strcmp(k, "image") && json_is_string(v)) {
            if (!b64_decode(json_string_value(v), json_string_length(v),
                            &in->image, &in->n_image)) {
                *res = kws_reply_error(r, 400, NULL, "image", NULL,
                                       "'image' is not base64 or a base64 "
                                       "data URL");
                rc = 0;
                break;
            }
        } else if (!strcmp(k, "model") && json_is_string(v) &&
                   json_string_length(v) < sizeof in->model) {
            snprintf(in->model, sizeof in->model, "%s", json_string_value(v));
        } else if (!strcmp(k, "top_k") && json_is_integer(v)) {
            snprintf(in->top_k, sizeof in->top_k, "%lld",
                     (long long)json_integer_value(v));
        } else {
            int known = !strcmp(k, "image") || !strcmp(k, "model") ||
                        !strcmp(k, "top_k");
            *res = known ? kws_reply_error(r, 400, NULL, k, NULL,
                                           "'%s' has the wrong type", k)
                         : kws_reply_error(r, 400, NULL, k, NULL,
                                           "unknown field '%.64s'", k);
            rc = 0;
            break;
        }
    }
    json_decref(root);
    return rc;
}

/* ---- classify ------------------------------------------------------------ */

static enum MHD_Result classify(struct kws_req *r, struct kws_vision *v,
                                const struct classify_in *in, int top_k) {
    char err[512] = "";
    struct kw_image *img = NULL;
    /* 16 Mpx: a request is small but may decode to a large image */
    struct kw_image_limits lim = {(uint64_t)1 << 24, 0};
    enum kw_status st = kw_image_decode(in->image, in->n_image, "image", 3,
                                        &lim, &img, err, sizeof err);
    if (st != KW_STATUS_OK)
        return kws_reply_error(r, 400, NULL, "image", NULL, "%s",
                               err[0] ? err : kw_status_str(st));
    struct kw_onnx_value *x = NULL;
    const struct kw_image *const imgs[1] = {img};
    st = kw_image_to_tensor(imgs, 1, &v->p, &x, NULL, err, sizeof err);
    kw_image_free(img);
    if (st != KW_STATUS_OK)
        return kws_reply_error(r, 400, NULL, "image", NULL, "%s",
                               err[0] ? err : kw_status_str(st));
    int n_out = kw_onnx_n_outputs(v->m);
    struct kw_onnx_value **outs = calloc((size_t)n_out, sizeof *outs);
    const struct kw_onnx_value *ins[1] = {x};
    if (!outs) {
        kw_onnx_value_free(x);
        return kws_reply_error(r, 500, NULL, NULL, NULL, "out of memory");
    }
    pthread_mutex_lock(&v->mu);
    st = kw_onnx_run(v->m, ins, outs, NULL, err, sizeof err);
    pthread_mutex_unlock(&v->mu);
    kw_onnx_value_free(x);
    struct kw_onnx_value *out = st == KW_STATUS_OK ? outs[0] : NULL;
    for (int i = 1; st == KW_STATUS_OK && i < n_out; i++)
        kw_onnx_value_free(outs[i]);
    free(outs);
    if (st != KW_STATUS_OK)
        return kws_reply_error(r, 500, NULL, NULL, NULL, "%s: %s", v->name,
                               err[0] ? err : kw_status_str(st));
    int64_t n_cls = out ? kw_onnx_numel(out) : 0;
    if (!out || out->kind != KW_ONNX_TENSOR || out->dtype != KW_ONNX_FLOAT ||
        n_cls <= 0 || n_cls > INT32_MAX ||
        out->nbytes < (size_t)n_cls * sizeof(float) ||
        (out->rank >= 2 && out->dims[0] != 1)) {
        kw_onnx_value_free(out);
        return kws_reply_error(r, 500, NULL, NULL, NULL,
                               "%s: expected float scores [1, classes]",
                               v->name);
    }
    float *s = out->data;
    kw_scores_to_probs(s, (int)n_cls);
    int k = top_k < n_cls ? top_k : (int)n_cls;
    int *idx = malloc((size_t)k * sizeof *idx);
    float *val = malloc((size_t)k * sizeof *val);
    if (!idx || !val) {
        free(idx);
        free(val);
        kw_onnx_value_free(out);
        return kws_reply_error(r, 500, NULL, NULL, NULL, "out of memory");
    }
    k = kw_topk(s, (int)n_cls, k, idx, val);
    json_t *data = json_array();
    for (int j = 0; j < k; j++) {
        char num[24];
        const char *label = n_cls == 1000 ? kw_imagenet_label(idx[j]) : NULL;
        snprintf(num, sizeof num, "%d", idx[j]);
        json_array_append_new(data,
                              json_pack("{s:i,s:s,s:f}", "index", idx[j],
                                        "label", label ? label : num, "prob",
                                        (double)val[j]));
    }
    free(idx);
    free(val);
    kw_onnx_value_free(out);
    return kws_reply_json(r, 200,
                          json_pack("{s:s,s:s,s:o}", "object", "list",
                                    "model", v->name, "data", data));
}

enum MHD_Result kws_api_classify(struct kws_req *r) {
    struct kws_server *srv = r->srv;
    if (!atomic_load(&srv->ready))
        return kws_reply_error(r, 503, NULL, NULL, "model_loading",
                               "the models are loading; retry shortly");
    struct classify_in in;
    memset(&in, 0, sizeof in);
    enum MHD_Result res;
    if (!read_input(r, &in, &res)) {
        free(in.image);
        return res;
    }
    long top_k = 5;
    if (in.top_k[0]) {
        char *end;
        top_k = strtol(in.top_k, &end, 10);
        if (*end || top_k < 1 || top_k > 1000) {
            free(in.image);
            return kws_reply_error(r, 400, NULL, "top_k", NULL,
                                   "'top_k' must be an integer 1..1000");
        }
    }
    struct kws_vision *v = NULL;
    for (int i = 0; i < srv->n_vision && in.model[0]; i++)
        if (!strcmp(srv->vision[i].name, in.model))
            v = &srv->vision[i];
    if (!in.model[0] && srv->n_vision == 1)
        v = &srv->vision[0];
    if (!v) {
        free(in.image);
        if (!in.model[0])
            return kws_reply_error(r, 400, NULL, "model", NULL,
                                   "'model' is required: %d vision models "
                                   "are loaded", srv->n_vision);
        return kws_reply_error(r, 404, NULL, "model", "model_not_found",
                               "vision model '%.128s' not found", in.model);
    }
    if (!in.image || in.n_image == 0) {
        free(in.image);
        return kws_reply_error(r, 400, NULL, "image", NULL,
                               "'image' is required");
    }
    res = classify(r, v, &in, (int)top_k);
    free(in.image);
    return res;
}
