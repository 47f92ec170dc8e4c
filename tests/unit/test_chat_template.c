/*
 * test_chat_template.c — chat formats against llama.cpp's own output.
 * tests/fixtures/chat/render.txt holds conversations and llama.cpp's
 * renderings of them under every template name; detect.txt names the format
 * llama.cpp recognises in each real template text under templates/. Both
 * are made by tools/make_chat_fixtures.py. Also: buffer contract, errors.
 */
#include <string.h>

#include "testutil.h"

/* The tests' include path may lack src/; the two entry points are then
 * declared here (they are hidden in the shared library but linkable from
 * the static one). */
#if defined(__has_include) && __has_include("text/chat_template.h")
#include "text/chat_template.h"
#else
#include "kaiwu/kaiwu.h"
const char *kw__chat_detect(const char *tmpl, size_t len);
enum kw_status kw__chat_render(const char *name, const char *bos,
                               const char *eos,
                               const struct kw_chat_message *msgs, size_t n,
                               int add_assistant, char *buf, size_t cap,
                               size_t *len, char *err, size_t err_size);
#endif

#define MAX_CONV 8
#define MAX_MSG 8

struct conv {
    char name[32];
    size_t n;
    struct kw_chat_message m[MAX_MSG];
};
static struct conv convs[MAX_CONV];
static size_t n_convs;

static struct conv *conv_get(const char *name, int create) {
    for (size_t i = 0; i < n_convs; i++)
        if (strcmp(convs[i].name, name) == 0) return &convs[i];
    if (!create || n_convs == MAX_CONV) return NULL;
    struct conv *c = &convs[n_convs++];
    snprintf(c->name, sizeof c->name, "%s", name);
    return c;
}

/* Cursor over "@kind fields... len\n<len bytes>\n" records; the bytes are
 * NUL-terminated in place (the buffer is ours). Returns 0 at the end. */
static int next_record(char **p, char *end, char *fields[4], int *nf,
                       char **data, size_t *len) {
    if (*p >= end) return 0;
    char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl || **p != '@') return -1;
    *nl = '\0';
    *nf = 0;
    char *save = NULL;
    char *tokens[6];
    int nt = 0;
    for (char *t = strtok_r(*p + 1, " ", &save); t && nt < 6;
         t = strtok_r(NULL, " ", &save))
        tokens[nt++] = t;
    if (nt < 2) return -1;
    *len = strtoul(tokens[nt - 1], NULL, 10);
    for (int i = 0; i < nt - 1 && i < 4; i++) fields[(*nf)++] = tokens[i];
    *data = nl + 1;
    if (*len > (size_t)(end - *data) - 1) return -1;
    (*data)[*len] = '\0';
    *p = *data + *len + 1;
    return 1;
}

static int known(const char *name) {
    size_t len;
    return kw__chat_render(name, "", "", NULL, 0, 0, NULL, 0, &len, NULL,
                           0) != KW_STATUS_ERR_TEMPLATE;
}

/* Names the library must render, llama.cpp's spelling plus kaiwu's alias. */
static const char *const REQUIRED[] = {
    "chatml", "llama3", "llama2", "llama2-sys", "llama2-sys-bos",
    "llama2-sys-strip", "mistral", "mistral-v1", "mistral-v3",
    "mistral-v3-tekken", "mistral-v7", "mistral-v7-tekken", "gemma", "phi3",
    "phi4", "zephyr", "deepseek", "deepseek2", "deepseek3", "vicuna",
    "command-r", "falcon3"};

static void test_render_fixtures(void) {
    size_t size;
    char *text = kw_test_read_file(
        kw_test_src_path("tests/fixtures/chat/render.txt"), &size);
    CHECKF(text != NULL, "cannot read render.txt");
    if (!text) return;
    char *p = text, *end = text + size, *fields[4] = {0}, *data = NULL;
    int nf, r, n_out = 0, n_skipped = 0;
    size_t len;
    static char buf[1 << 14];
    while ((r = next_record(&p, end, fields, &nf, &data, &len)) == 1) {
        if (strcmp(fields[0], "conv") == 0 && nf == 2) {
            CHECK(conv_get(fields[1], 1) != NULL);
            continue;
        }
        if (strcmp(fields[0], "msg") == 0 && nf == 4) {
            struct conv *c = conv_get(fields[1], 1);
            CHECK(c && c->n < MAX_MSG);
            if (!c || c->n >= MAX_MSG) break;
            c->m[c->n].role = fields[3];
            c->m[c->n].content = data;
            c->n++;
            continue;
        }
        CHECK(strcmp(fields[0], "out") == 0 && nf == 4);
        if (nf != 4) break;
        const char *name = fields[1];
        struct conv *c = conv_get(fields[2], 0);
        int add = atoi(fields[3]);
        CHECKF(c != NULL, "unknown conversation %s", fields[2]);
        if (!c) continue;
        if (!known(name)) {
            n_skipped++;
            continue;
        }
        size_t got = 0;
        char err[256] = "";
        enum kw_status st = kw__chat_render(name, "<s>", "</s>", c->m, c->n,
                                            add, buf, sizeof buf, &got, err,
                                            sizeof err);
        CHECKF(st == KW_STATUS_OK, "%s/%s: %s", name, c->name, err);
        int same = got == len && memcmp(buf, data, len) == 0;
        CHECKF(same, "%s/%s/add=%d:\n  want [%s]\n  got  [%s]", name,
               c->name, add, data, buf);
        n_out += same;
    }
    CHECK(r == 0);
    CHECK(n_convs >= 4);
    CHECK(n_out >= 400);
    printf("render: %d renderings equal llama.cpp's, %d of unsupported "
           "names skipped\n",
           n_out, n_skipped);
    for (size_t i = 0; i < sizeof REQUIRED / sizeof REQUIRED[0]; i++)
        CHECKF(known(REQUIRED[i]), "%s not supported", REQUIRED[i]);
    free(text);
}

static void test_detect_fixtures(void) {
    size_t size;
    char *list = kw_test_read_file(
        kw_test_src_path("tests/fixtures/chat/detect.txt"), &size);
    CHECKF(list != NULL, "cannot read detect.txt");
    if (!list) return;
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(list, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');
        CHECK(tab != NULL);
        if (!tab) continue;
        *tab = '\0';
        const char *want = strcmp(tab + 1, "-") == 0 ? NULL : tab + 1;
        char rel[512];
        snprintf(rel, sizeof rel, "tests/fixtures/chat/templates/%s", line);
        size_t tlen;
        char *tmpl = kw_test_read_file(kw_test_src_path(rel), &tlen);
        CHECKF(tmpl != NULL, "cannot read %s", rel);
        if (!tmpl) continue;
        const char *got = kw__chat_detect(tmpl, tlen);
        /* a format llama.cpp knows but we cannot render must give NULL */
        if (want && !known(want)) want = NULL;
        CHECKF((got == NULL && want == NULL) ||
                   (got && want && strcmp(got, want) == 0),
               "%s: want %s, got %s", line, want ? want : "(none)",
               got ? got : "(none)");
        free(tmpl);
        n++;
    }
    CHECK(n >= 20);
    printf("detect: %d template texts\n", n);
    free(list);
}

static void test_detect_misc(void) {
    CHECK(kw__chat_detect(NULL, 0) == NULL);
    CHECK(kw__chat_detect("", 0) == NULL);
    CHECK(kw__chat_detect("hello {{ messages }}", 20) == NULL);
    /* bare names and the alias */
    const char *s = kw__chat_detect("gemma", 5);
    CHECK(s && strcmp(s, "gemma") == 0);
    s = kw__chat_detect("mistral", 7);
    CHECK(s && strcmp(s, "llama2") == 0);
    s = kw__chat_detect("mistral-v7", 10);
    CHECK(s && strcmp(s, "mistral-v7") == 0);
    /* the length is honoured: the marker lies past it */
    const char *t = "xxxxxxxx<|im_start|>";
    CHECK(kw__chat_detect(t, 8) == NULL);
    s = kw__chat_detect(t, strlen(t));
    CHECK(s && strcmp(s, "chatml") == 0);
    /* markers from the brief */
    s = kw__chat_detect("{{ '[INST] <<SYS>>' }}", 22);
    CHECK(s && strcmp(s, "llama2-sys") == 0);
    s = kw__chat_detect("<|user|>x<|end|><|assistant|>", 29);
    CHECK(s && strcmp(s, "phi3") == 0);
}

static const struct kw_chat_message CONV3[] = {
    {"system", "S"}, {"user", "U1"}, {"assistant", "A"}, {"user", "U2"}};

static void test_buffer_contract(void) {
    const char *want = "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n"
                       "U1<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n"
                       "<|im_start|>user\nU2<|im_end|>\n"
                       "<|im_start|>assistant\n";
    size_t wl = strlen(want), len = 0;
    char buf[512];
    /* size query */
    CHECK(kw__chat_render("chatml", "", "", CONV3, 4, 1, NULL, 0, &len, NULL,
                          0) == KW_STATUS_ERR_BUFFER_TOO_SMALL);
    CHECK(len == wl);
    /* exact fit needs room for the NUL */
    memset(buf, 'x', sizeof buf);
    CHECK(kw__chat_render("chatml", "", "", CONV3, 4, 1, buf, wl, &len, NULL,
                          0) == KW_STATUS_ERR_BUFFER_TOO_SMALL);
    CHECK(len == wl && buf[wl - 1] == '\0' && memcmp(buf, want, wl - 1) == 0);
    CHECK(buf[wl] == 'x');
    CHECK(kw__chat_render("chatml", "", "", CONV3, 4, 1, buf, wl + 1, &len,
                          NULL, 0) == KW_STATUS_OK);
    CHECK(len == wl && strcmp(buf, want) == 0);
    /* a tiny buffer still gets a NUL */
    buf[0] = 'x';
    CHECK(kw__chat_render("chatml", "", "", CONV3, 4, 1, buf, 1, &len, NULL,
                          0) == KW_STATUS_ERR_BUFFER_TOO_SMALL);
    CHECK(buf[0] == '\0' && len == wl);
    /* without add_assistant, no opening */
    CHECK(kw__chat_render("chatml", "", "", CONV3, 4, 0, buf, sizeof buf, &len,
                          NULL, 0) == KW_STATUS_OK);
    CHECK(len == wl - strlen("<|im_start|>assistant\n"));
    /* chatml adds no default system prompt (unlike SmolLM2's Jinja) */
    CHECK(kw__chat_render("chatml", "", "", CONV3 + 1, 1, 1, buf, sizeof buf,
                          &len, NULL, 0) == KW_STATUS_OK);
    CHECK(strcmp(buf, "<|im_start|>user\nU1<|im_end|>\n"
                      "<|im_start|>assistant\n") == 0);
}

static void test_errors(void) {
    char buf[64], err[512];
    size_t len = 99;
    err[0] = '\0';
    CHECK(kw__chat_render("nope", "", "", CONV3, 4, 1, buf, sizeof buf, &len,
                          err, sizeof err) == KW_STATUS_ERR_TEMPLATE);
    CHECK(strstr(err, "nope") && strstr(err, "chatml") &&
          strstr(err, "llama3") && strstr(err, "mistral-v7"));
    /* the message is cut, not overflowed */
    CHECK(kw__chat_render("nope", "", "", CONV3, 4, 1, buf, sizeof buf, &len,
                          err, 10) == KW_STATUS_ERR_TEMPLATE);
    CHECK(strlen(err) == 9);
    CHECK(kw__chat_render(NULL, "", "", CONV3, 4, 1, buf, sizeof buf, &len,
                          err, sizeof err) == KW_STATUS_ERR_INVALID_ARG);
    CHECK(kw__chat_render("chatml", "", "", NULL, 2, 1, buf, sizeof buf, &len,
                          err, sizeof err) == KW_STATUS_ERR_INVALID_ARG);
    CHECK(kw__chat_render("chatml", "", "", CONV3, 4, 1, NULL, 10, &len, err,
                          sizeof err) == KW_STATUS_ERR_INVALID_ARG);
    struct kw_chat_message bad[] = {{"user", "x"}, {"tool", "y"}};
    CHECK(kw__chat_render("chatml", "", "", bad, 2, 1, buf, sizeof buf, &len,
                          err, sizeof err) == KW_STATUS_ERR_INVALID_ARG);
    CHECK(strstr(err, "tool") != NULL);
    struct kw_chat_message nul[] = {{"user", NULL}};
    CHECK(kw__chat_render("chatml", "", "", nul, 1, 1, buf, sizeof buf, &len,
                          err, sizeof err) == KW_STATUS_ERR_INVALID_ARG);
    nul[0].role = NULL;
    nul[0].content = "x";
    CHECK(kw__chat_render("gemma", "", "", nul, 1, 1, buf, sizeof buf, &len,
                          err, sizeof err) == KW_STATUS_ERR_INVALID_ARG);
    /* empty conversation is fine; NULL msgs allowed when n == 0 */
    CHECK(kw__chat_render("chatml", "", "", NULL, 0, 1, buf, sizeof buf, &len,
                          NULL, 0) == KW_STATUS_OK);
    CHECK(strcmp(buf, "<|im_start|>assistant\n") == 0);
    /* long conversations take the heap path */
    static struct kw_chat_message many[300];
    for (int i = 0; i < 300; i++) {
        many[i].role = i % 2 ? "assistant" : "user";
        many[i].content = "a";
    }
    CHECK(kw__chat_render("llama3", "", "", many, 300, 1, NULL, 0, &len, NULL,
                          0) == KW_STATUS_ERR_BUFFER_TOO_SMALL);
    size_t per = strlen("<|start_header_id|>user<|end_header_id|>\n\na"
                        "<|eot_id|>");
    CHECK(len == 150 * per + 150 * (per + 5) +
                     strlen("<|start_header_id|>assistant<|end_header_id|>"
                            "\n\n"));
}

int main(void) {
    test_render_fixtures();
    test_detect_fixtures();
    test_detect_misc();
    test_buffer_contract();
    test_errors();
    return kw_test_finish("test_chat_template");
}
