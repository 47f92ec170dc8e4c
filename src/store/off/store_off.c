/*
 * store_off.c — the store API in a build without libcurl and jansson
 * (KW_REGISTRY=OFF): every call says so instead of failing to link.
 */
#include "core/internal.h"
#include "kaiwu/store.h"

#define OFF(err, err_size)                                                    \
    kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,                         \
            "the model store was not built in (configure with "              \
            "-DKW_REGISTRY=ON, which needs libcurl and jansson)")

enum kw_status kw_store_open(const char *home, struct kw_store **out,
                             char *err, size_t err_size) {
    if (out) *out = NULL;
    return OFF(err, err_size);
}
void kw_store_free(struct kw_store *s) { (void)s; }
const char *kw_store_home(const struct kw_store *s) { return ""; }
enum kw_status kw_store_resolve(struct kw_store *s, const char *ref,
                                char *path, size_t path_size, char *err,
                                size_t err_size) {
    return OFF(err, err_size);
}
enum kw_status kw_store_list(struct kw_store *s,
                             struct kw_store_entry **entries, size_t *count,
                             char *err, size_t err_size) {
    if (entries) *entries = NULL;
    if (count) *count = 0;
    return OFF(err, err_size);
}
void kw_store_list_free(struct kw_store_entry *entries) { (void)entries; }
enum kw_status kw_store_remove(struct kw_store *s, const char *ref,
                               uint64_t *freed, char *err, size_t err_size) {
    return OFF(err, err_size);
}
void kw_registry_options_init(struct kw_registry_options *o) {
    if (o) memset(o, 0, sizeof *o);
}
enum kw_status kw_registry_push(struct kw_store *s, const char *file,
                                const char *ref,
                                const struct kw_registry_options *o,
                                struct kw_transfer_report *report, char *err,
                                size_t err_size) {
    return OFF(err, err_size);
}
enum kw_status kw_registry_pull(struct kw_store *s, const char *ref,
                                const struct kw_registry_options *o,
                                struct kw_transfer_report *report, char *err,
                                size_t err_size) {
    return OFF(err, err_size);
}
enum kw_status kw_registry_mirror(struct kw_store *s, const char *src,
                                  const char *dst,
                                  const struct kw_registry_options *o,
                                  struct kw_transfer_report *report,
                                  char *err, size_t err_size) {
    return OFF(err, err_size);
}
