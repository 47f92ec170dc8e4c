/*
 * cmd_info.c — `kaiwu info FILE [--json]`: the GGUF header, every metadata
 * key with its type and value (arrays: element type, length and the first
 * INFO_MAX_ELEMS elements) and the tensor table. Needs only the GGUF reader,
 * so it works on any valid GGUF file, vocab-only ones included.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "json.h"
#include "kaiwu/kaiwu.h"
#include "model_arg.h"

#define INFO_MAX_ELEMS 16
#define INFO_TEXT_MAX_STR 120 /* text mode shortens long strings */

static const char *gguf_type_name(int t) {
    static const char *const names[] = {
        "uint8", "int8",  "uint16", "int16", "uint32", "int32",  "float32",
        "bool",  "string", "array", "uint64", "int64", "float64"};
    return (t >= 0 && t < (int)(sizeof names / sizeof names[0])) ? names[t]
                                                                 : "unknown";
}

/* One metadata value, scalar or array element. */
struct val {
    int type, ok;
    int64_t i;
    uint64_t u;
    double d;
    const char *s;
    size_t len;
};

static void get_val(const struct kw_gguf *g, int64_t k, int in_arr,
                    uint64_t j, int type, struct val *v) {
    memset(v, 0, sizeof *v);
    v->type = type;
    switch (type) {
    case KW_GGUF_INT8: case KW_GGUF_INT16: case KW_GGUF_INT32:
    case KW_GGUF_INT64:
        v->ok = in_arr ? kw_gguf_arr_i64(g, k, j, &v->i)
                       : kw_gguf_get_i64(g, k, &v->i);
        break;
    case KW_GGUF_UINT8: case KW_GGUF_UINT16: case KW_GGUF_UINT32:
    case KW_GGUF_UINT64:
        v->ok = in_arr ? kw_gguf_arr_u64(g, k, j, &v->u)
                       : kw_gguf_get_u64(g, k, &v->u);
        break;
    case KW_GGUF_BOOL:
        if (in_arr) {
            v->ok = kw_gguf_arr_i64(g, k, j, &v->i);
        } else {
            int b = 0;
            v->ok = kw_gguf_get_bool(g, k, &b);
            v->i = b;
        }
        break;
    case KW_GGUF_FLOAT32: case KW_GGUF_FLOAT64:
        v->ok = in_arr ? kw_gguf_arr_f64(g, k, j, &v->d)
                       : kw_gguf_get_f64(g, k, &v->d);
        break;
    case KW_GGUF_STRING:
        v->ok = in_arr ? kw_gguf_arr_str(g, k, j, &v->s, &v->len)
                       : kw_gguf_get_str(g, k, &v->s, &v->len);
        break;
    default:
        break;
    }
}

static void val_text(const struct val *v) {
    if (!v->ok) {
        fputs("?", stdout);
        return;
    }
    switch (v->type) {
    case KW_GGUF_INT8: case KW_GGUF_INT16: case KW_GGUF_INT32:
    case KW_GGUF_INT64:
        printf("%" PRId64, v->i);
        break;
    case KW_GGUF_BOOL:
        fputs(v->i ? "true" : "false", stdout);
        break;
    case KW_GGUF_FLOAT32:
        printf("%.9g", v->d);
        break;
    case KW_GGUF_FLOAT64:
        printf("%.17g", v->d);
        break;
    case KW_GGUF_STRING:
        fputc('"', stdout);
        if (text_escaped(stdout, v->s, v->len, INFO_TEXT_MAX_STR))
            printf("\"... (%zu bytes)", v->len);
        else
            fputc('"', stdout);
        break;
    default:
        printf("%" PRIu64, v->u);
    }
}

static void val_json(struct jw *w, const struct val *v) {
    if (!v->ok) {
        jw_null(w);
        return;
    }
    switch (v->type) {
    case KW_GGUF_INT8: case KW_GGUF_INT16: case KW_GGUF_INT32:
    case KW_GGUF_INT64:
        jw_int(w, v->i);
        break;
    case KW_GGUF_BOOL:
        jw_bool(w, (int)v->i);
        break;
    case KW_GGUF_FLOAT32:
        jw_num(w, v->d, 9);
        break;
    case KW_GGUF_FLOAT64:
        jw_num(w, v->d, 17);
        break;
    case KW_GGUF_STRING:
        jw_strn(w, v->s, v->len);
        break;
    default:
        jw_uint(w, v->u);
    }
}

static void dims_text(const struct kw_gguf_tensor_info *t, char *buf,
                      size_t cap) {
    size_t n = 0;
    buf[0] = 0;
    for (uint32_t d = 0; d < t->n_dims && d < 4 && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%" PRId64, d ? " x " : "",
                              t->ne[d]);
}

static void info_text(const char *path, const struct kw_gguf *g) {
    int64_t n_kv = kw_gguf_n_kv(g), n_t = kw_gguf_n_tensors(g);
    printf("file:        %s\n", path);
    printf("version:     %" PRIu32 "\n", kw_gguf_version(g));
    printf("alignment:   %zu\n", kw_gguf_alignment(g));
    printf("data offset: %" PRIu64 "\n", kw_gguf_data_offset(g));
    printf("file size:   %" PRIu64 "\n", kw_gguf_file_size(g));
    printf("metadata:    %" PRId64 " keys\n", n_kv);
    for (int64_t k = 0; k < n_kv; k++) {
        int type = kw_gguf_kv_type(g, k);
        struct val v;
        printf("  %-40s ", kw_gguf_key(g, k));
        if (type == KW_GGUF_ARRAY) {
            int et = kw_gguf_arr_type(g, k);
            uint64_t n = kw_gguf_arr_n(g, k);
            char tname[48];
            snprintf(tname, sizeof tname, "%s[%" PRIu64 "]",
                     gguf_type_name(et), n);
            printf("%-16s [", tname);
            for (uint64_t j = 0; j < n && j < INFO_MAX_ELEMS; j++) {
                get_val(g, k, 1, j, et, &v);
                if (j)
                    fputs(", ", stdout);
                val_text(&v);
            }
            printf("%s]\n", n > INFO_MAX_ELEMS ? ", ..." : "");
        } else {
            get_val(g, k, 0, 0, type, &v);
            printf("%-16s ", gguf_type_name(type));
            val_text(&v);
            fputc('\n', stdout);
        }
    }
    printf("tensors:     %" PRId64 "\n", n_t);
    printf("  %5s  %-36s %-8s %-22s %12s %12s\n", "#", "name", "type", "dims",
           "offset", "bytes");
    for (int64_t i = 0; i < n_t; i++) {
        struct kw_gguf_tensor_info t;
        char dims[96], tid[16];
        if (!kw_gguf_tensor(g, i, &t))
            continue;
        const char *tn = kw_type_name(t.type);
        if (!tn) {
            snprintf(tid, sizeof tid, "type%" PRIu32, t.type);
            tn = tid;
        }
        dims_text(&t, dims, sizeof dims);
        printf("  %5" PRId64 "  %-36s %-8s %-22s %12" PRIu64 " %12" PRIu64
               "\n", i, t.name, tn, dims, t.offset, t.size_bytes);
    }
}

static void info_json(const char *path, const struct kw_gguf *g) {
    struct jw w;
    int64_t n_kv = kw_gguf_n_kv(g), n_t = kw_gguf_n_tensors(g);
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "file"); jw_str(&w, path);
    jw_key(&w, "version"); jw_uint(&w, kw_gguf_version(g));
    jw_key(&w, "alignment"); jw_uint(&w, kw_gguf_alignment(g));
    jw_key(&w, "data_offset"); jw_uint(&w, kw_gguf_data_offset(g));
    jw_key(&w, "file_size"); jw_uint(&w, kw_gguf_file_size(g));
    jw_key(&w, "n_kv"); jw_int(&w, n_kv);
    jw_key(&w, "metadata");
    jw_arr_begin(&w);
    for (int64_t k = 0; k < n_kv; k++) {
        int type = kw_gguf_kv_type(g, k);
        struct val v;
        jw_obj_begin(&w);
        jw_key(&w, "key"); jw_str(&w, kw_gguf_key(g, k));
        jw_key(&w, "type"); jw_str(&w, gguf_type_name(type));
        if (type == KW_GGUF_ARRAY) {
            int et = kw_gguf_arr_type(g, k);
            uint64_t n = kw_gguf_arr_n(g, k);
            jw_key(&w, "elem_type"); jw_str(&w, gguf_type_name(et));
            jw_key(&w, "length"); jw_uint(&w, n);
            jw_key(&w, "values");
            jw_arr_begin(&w);
            for (uint64_t j = 0; j < n && j < INFO_MAX_ELEMS; j++) {
                get_val(g, k, 1, j, et, &v);
                val_json(&w, &v);
            }
            jw_arr_end(&w);
            jw_key(&w, "truncated"); jw_bool(&w, n > INFO_MAX_ELEMS);
        } else {
            get_val(g, k, 0, 0, type, &v);
            jw_key(&w, "value");
            val_json(&w, &v);
        }
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_key(&w, "n_tensors"); jw_int(&w, n_t);
    jw_key(&w, "tensors");
    jw_arr_begin(&w);
    for (int64_t i = 0; i < n_t; i++) {
        struct kw_gguf_tensor_info t;
        if (!kw_gguf_tensor(g, i, &t))
            continue;
        const char *tn = kw_type_name(t.type);
        jw_obj_begin(&w);
        jw_key(&w, "name"); jw_str(&w, t.name);
        jw_key(&w, "type");
        if (tn) jw_str(&w, tn); else jw_null(&w);
        jw_key(&w, "type_id"); jw_uint(&w, t.type);
        jw_key(&w, "dims");
        jw_arr_begin(&w);
        for (uint32_t d = 0; d < t.n_dims && d < 4; d++)
            jw_int(&w, t.ne[d]);
        jw_arr_end(&w);
        jw_key(&w, "offset"); jw_uint(&w, t.offset);
        jw_key(&w, "bytes"); jw_uint(&w, t.size_bytes);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_end(&w);
}

int cmd_info(int argc, char **argv) {
    int json = 0;
    const struct cli_opt opts[] = {
        {"json", 0, CLI_FLAG, &json, 0, 0, NULL, "print one JSON object"},
    };
    const struct cli_cmd cmd = {
        "info", "MODEL [--json]",
        "Show a GGUF file's header, metadata (arrays: the first 16 elements) "
        "and tensors. MODEL is a file or a stored name HOST/REPO:TAG.",
        opts, sizeof opts / sizeof opts[0], 1};
    const char *pos[1];
    size_t n_pos;
    int r = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (r)
        return r < 0 ? 0 : r;
    if (n_pos != 1)
        return cli_usage_err(&cmd, "expected one FILE");

    struct kw_gguf *g = NULL;
    char err[512] = "", stored[4096];
    const char *path = model_arg(pos[0], stored, sizeof stored);
    if (!path)
        return 1;
    enum kw_status st = kw_gguf_open(path, &g, err, sizeof err);
    if (st != KW_STATUS_OK) {
        if (path != pos[0]) /* a stored name: say which, then the file */
            cli_err("%s: %s", pos[0], err[0] ? err : kw_status_str(st));
        else
            cli_lib_err(path, err, st);
        return 1;
    }
    if (json)
        info_json(path, g);
    else
        info_text(path, g);
    kw_gguf_free(g);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_err("error writing output");
        return 1;
    }
    return 0;
}
