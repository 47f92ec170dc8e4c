/*
 * test_store.c — the local model store without a network: reference
 * grammar (accepted and refused), blobs that must match their digest,
 * names written atomically, resolve/list, and removal with garbage
 * collection of unreferenced blobs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sha256.h"
#include "store/store_internal.h"
#include "testutil.h"

static void test_refs(void) {
    static const char *const good[] = {
        "127.0.0.1:5000/models/smollm2:q4_1",
        "localhost/a",
        "registry.example/team/llm/smollm2",
        "reg.example:443/a_b/c__d/e-f/g.h:V1.0-rc_1",
        "r.example/x@sha256:"
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        "r.example/x:tag@sha256:"
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    };
    static const char *const bad[] = {
        "", "127.0.0.1:5000/../etc:x", "127.0.0.1:5000/a/../b",
        "127.0.0.1:5000/Models/x", "127.0.0.1:5000//x", "127.0.0.1:5000/x/",
        "127.0.0.1:5000/.x", "127.0.0.1:5000/x:-tag", "127.0.0.1:5000/x:",
        "127.0.0.1:5000/x@sha256:zz", "127.0.0.1:5000/x@md5:00",
        "127.0.0.1:5000/x:" /* tag of 129 chars below */,
        "bad_host.example/x", "-h.example/x", "h.example:123456/x",
        "h.example/a b", "h.example/a\nb", "/abs/path", "no-host-given",
    };
    unsetenv("KAIWU_REGISTRY");
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct kw__ref r;
        char err[256];
        CHECKF(kw__ref_parse(good[i], &r, err, sizeof err) == KW_STATUS_OK,
               "%s: %s", good[i], err);
        CHECK(kw_ref_valid(good[i]));
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECKF(!kw_ref_valid(bad[i]), "accepted '%s'", bad[i]);
    char long_tag[200] = "h.example/x:";
    memset(long_tag + strlen(long_tag), 'a', 129);
    CHECK(!kw_ref_valid(long_tag));
    long_tag[12 + 128] = '\0';
    CHECK(kw_ref_valid(long_tag));

    struct kw__ref r;
    CHECK(kw__ref_parse("localhost:5000/a/b", &r, NULL, 0) == KW_STATUS_OK);
    CHECK(!strcmp(r.host, "localhost:5000") && !strcmp(r.repo, "a/b") &&
          !strcmp(r.tag, "latest") && !r.digest[0]);
    /* the default registry applies only to names without a host */
    setenv("KAIWU_REGISTRY", "reg.example:5000", 1);
    CHECK(kw__ref_parse("team/model:v2", &r, NULL, 0) == KW_STATUS_OK);
    CHECK(!strcmp(r.host, "reg.example:5000") && !strcmp(r.repo, "team/model") &&
          !strcmp(r.tag, "v2"));
    setenv("KAIWU_REGISTRY", "plainword", 1);
    CHECK(!kw_ref_valid("team/model:v2"));
    unsetenv("KAIWU_REGISTRY");
}

static void digest_of(const char *data, size_t n, char out[72]) {
    memcpy(out, "sha256:", 7);
    kw__sha256_buf(data, n, out + 7);
}

/* Stores a one-layer manifest for data under name; returns the layer
 * digest in layer. */
static void store_model(struct kw_store *s, const char *name,
                        const char *data, const char *title, char layer[72]) {
    char cfg_d[72], man_d[72], man[1024], err[256];
    const char *cfg = "{}";
    digest_of(cfg, 2, cfg_d);
    digest_of(data, strlen(data), layer);
    snprintf(man, sizeof man,
             "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{"
             "\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":2},\"layers\":[{"
             "\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,"
             "\"annotations\":{\"%s\":\"%s\"}}]}",
             KW_MT_OCI_MANIFEST, KW_MT_MODEL_CONFIG, cfg_d, KW_MT_MODEL_WEIGHT,
             layer, strlen(data), KW_ANN_TITLE, title);
    digest_of(man, strlen(man), man_d);
    CHECK(kw__store_put_blob(s, cfg_d, cfg, 2, err, sizeof err) == 0);
    CHECK(kw__store_put_blob(s, layer, data, strlen(data), err, sizeof err) ==
          0);
    CHECK(kw__store_put_blob(s, man_d, man, strlen(man), err, sizeof err) == 0);
    struct kw__ref r;
    CHECK(kw__ref_parse(name, &r, NULL, 0) == 0);
    CHECK(kw__store_set_name(s, &r, man_d, err, sizeof err) == 0);
}

static void test_store(void) {
    char home[] = "/tmp/kw-test-store-XXXXXX";
    CHECK(mkdtemp(home) != NULL);
    struct kw_store *s;
    char err[512], path[1024];
    CHECK(kw_store_open(home, &s, err, sizeof err) == KW_STATUS_OK);
    CHECK(!strcmp(kw_store_home(s), home));

    /* a blob whose bytes do not hash to its name is refused */
    char wrong[72];
    digest_of("other", 5, wrong);
    CHECK(kw__store_put_blob(s, wrong, "bytes", 5, err, sizeof err) ==
          KW_STATUS_ERR_DIGEST);
    CHECK(!kw__store_has_blob(s, wrong, 5));

    CHECK(kw_store_resolve(s, "localhost:1/m/a:v1", path, sizeof path, err,
                           sizeof err) == KW_STATUS_ERR_NOT_FOUND);
    CHECK(strstr(err, "kaiwu pull") != NULL);

    char la[72], lb[72];
    store_model(s, "localhost:1/m/a:v1", "model A bytes", "a.gguf", la);
    store_model(s, "localhost:1/m/a:v2", "model A bytes", "a.gguf", la);
    store_model(s, "localhost:1/m/b:v1", "model B", "b.onnx", lb);
    CHECK(kw_store_resolve(s, "localhost:1/m/a:v1", path, sizeof path, err,
                           sizeof err) == KW_STATUS_OK);
    size_t n;
    char *bytes = kw_test_read_file(path, &n);
    CHECK(bytes && n == 13 && !memcmp(bytes, "model A bytes", 13));
    free(bytes);

    struct kw_store_entry *e;
    CHECK(kw_store_list(s, &e, &n, err, sizeof err) == KW_STATUS_OK);
    CHECK(n == 3);
    if (n == 3) {
        CHECK(!strcmp(e[0].name, "localhost:1/m/a:v1"));
        CHECK(!strcmp(e[2].name, "localhost:1/m/b:v1"));
        CHECK(e[0].size == 13 && !strcmp(e[0].format, "gguf"));
        CHECK(!strcmp(e[2].format, "onnx") && !strcmp(e[2].file_name, "b.onnx"));
    }
    kw_store_list_free(e);

    /* removing one of two names sharing a blob frees only the manifest
     * that nothing else references (here: none, both manifests are equal) */
    uint64_t freed = 1;
    CHECK(kw_store_remove(s, "localhost:1/m/a:v1", &freed, err, sizeof err) ==
          KW_STATUS_OK);
    CHECK(freed == 0);
    CHECK(kw__store_has_blob(s, la, 13));
    CHECK(kw_store_remove(s, "localhost:1/m/a:v2", &freed, err, sizeof err) ==
          KW_STATUS_OK);
    CHECK(!kw__store_has_blob(s, la, 13));
    CHECK(freed > 13);
    CHECK(kw__store_has_blob(s, lb, 7)); /* still named */
    CHECK(kw_store_remove(s, "localhost:1/m/a:v2", &freed, err, sizeof err) ==
          KW_STATUS_ERR_NOT_FOUND);
    CHECK(kw_store_remove(s, "localhost:1/m/b:v1", &freed, err, sizeof err) ==
          KW_STATUS_OK);
    CHECK(kw_store_list(s, &e, &n, err, sizeof err) == KW_STATUS_OK && n == 0);
    kw_store_list_free(e);
    /* empty name folders are pruned */
    char names[1100];
    snprintf(names, sizeof names, "%s/names/localhost:1", home);
    struct stat st;
    CHECK(stat(names, &st) != 0);

    /* a corrupt name file is an error, not a crash */
    store_model(s, "localhost:1/m/c:v1", "C", "c.gguf", la);
    char nf[1100];
    snprintf(nf, sizeof nf, "%s/names/localhost:1/m/c/@tags/v1", home);
    FILE *f = fopen(nf, "w");
    fputs("sha256:nothex\n", f);
    fclose(f);
    CHECK(kw_store_resolve(s, "localhost:1/m/c:v1", path, sizeof path, err,
                           sizeof err) == KW_STATUS_ERR_FORMAT);
    kw_store_free(s);
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    CHECK(system(cmd) == 0);
}

int main(void) {
    test_refs();
    test_store();
    return kw_test_finish("test_store");
}
