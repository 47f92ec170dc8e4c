/* testutil.c — see testutil.h. */
#include "testutil.h"

#include <string.h>

int kw_test_failures = 0;

int kw_test_finish(const char *name) {
    if (kw_test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, kw_test_failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

static const char *env_or(const char *k, const char *def) {
    const char *v = getenv(k);
    return v && *v ? v : def;
}

const char *kw_test_model(const char *file) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", env_or("KW_MODELS_DIR", "models"),
             file);
    FILE *f = fopen(path, "rb");
    if (f) {
        fclose(f);
        return path;
    }
    const char *req = getenv("KW_REQUIRE_MODELS");
    if (req && strcmp(req, "1") == 0) {
        fprintf(stderr, "required model missing: %s (run 'make models')\n",
                path);
        exit(1);
    }
    fprintf(stderr, "skipping: model missing: %s\n", path);
    exit(77);
}

const char *kw_test_src_path(const char *rel) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", env_or("KW_SOURCE_DIR", "."), rel);
    return path;
}

void *kw_test_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return NULL; }
    char *buf = malloc((size_t)n + 1);
    if (!buf) { fclose(f); return NULL; }
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); fclose(f); return NULL; }
    buf[n] = 0;
    fclose(f);
    *size = (size_t)n;
    return buf;
}

uint64_t kw_test_rand(uint64_t *s) {
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

float kw_test_randf(uint64_t *s) {
    return (float)((kw_test_rand(s) >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}
