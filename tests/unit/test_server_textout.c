/*
 * test_server_textout.c — the output filter of `kaiwu serve`
 * (server/textout.c): stop strings split across pieces, held-back prefixes
 * that turn out not to be stops, the earliest of several stops, multi-byte
 * UTF-8 split across pieces, invalid bytes, and a randomized check that
 * the emitted text is the text before the first stop whatever the split.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "textout.h"

/* Feeds pieces (NULL-terminated) and returns the concatenated output
 * (static buffer); *stopped = index of the piece that hit a stop (the
 * piece count when the flush found it), or -1.
 * With flush, the end of generation is signalled after the last piece. */
static const char *run(char *const *stop, int n_stop, const char *const *pcs,
                       int flush, int *stopped, char outs[][64])
{
    static char all[1024];
    struct kws_textout t;
    kws_textout_init(&t, stop, n_stop);
    size_t n = 0;
    *stopped = -1;
    int i;
    for (i = 0; pcs[i]; i++) {
        char *o;
        size_t ol;
        int r = kws_textout_push(&t, pcs[i], strlen(pcs[i]), &o, &ol);
        CHECK(r >= 0);
        if (outs)
            snprintf(outs[i], 64, "%s", o ? o : "");
        if (o) {
            CHECK(strlen(o) == ol);
            memcpy(all + n, o, ol);
            n += ol;
            free(o);
        }
        if (r == 1) {
            *stopped = i;
            break;
        }
    }
    if (flush && *stopped < 0) {
        char *o;
        size_t ol;
        int r = kws_textout_flush(&t, &o, &ol);
        CHECK(r >= 0);
        if (r == 1)
            *stopped = i; /* decided at the end */
        if (o) {
            memcpy(all + n, o, ol);
            n += ol;
            free(o);
        }
    }
    all[n] = '\0';
    kws_textout_free(&t);
    return all;
}

static void test_stops(void)
{
    int st;
    char outs[8][64];
    char *end[] = {"END"};
    const char *p1[] = {"Hel", "lo", NULL};
    CHECK(strcmp(run(NULL, 0, p1, 1, &st, outs), "Hello") == 0 && st == -1);
    CHECK(strcmp(outs[0], "Hel") == 0 && strcmp(outs[1], "lo") == 0);

    const char *p2[] = {"abc E", "N", "D more", NULL};
    CHECK(strcmp(run(end, 1, p2, 1, &st, outs), "abc ") == 0 && st == 2);
    CHECK(strcmp(outs[0], "abc ") == 0 && outs[1][0] == '\0');

    /* a held-back prefix that does not become the stop is released */
    const char *p3[] = {"E", "N", "X", NULL};
    CHECK(strcmp(run(end, 1, p3, 0, &st, outs), "ENX") == 0 && st == -1);
    CHECK(outs[0][0] == '\0' && outs[1][0] == '\0');
    CHECK(strcmp(outs[2], "ENX") == 0);
    /* ... and flushed when the generation ends */
    const char *p4[] = {"ok E", "N", NULL};
    CHECK(strcmp(run(end, 1, p4, 1, &st, NULL), "ok EN") == 0);

    char *tag[] = {"</s>"};
    const char *p5[] = {"xx<", "/s", ">tail", NULL};
    CHECK(strcmp(run(tag, 1, p5, 1, &st, outs), "xx") == 0 && st == 2);
    CHECK(strcmp(outs[0], "xx") == 0);

    /* the earliest stop in the text wins, however it was split: "b" is
     * complete first, but "abc" starts earlier */
    char *two[] = {"b", "abc"};
    const char *p6[] = {"xab", "c", NULL};
    CHECK(strcmp(run(two, 2, p6, 1, &st, outs), "x") == 0 && st == 1);
    CHECK(strcmp(outs[0], "x") == 0);
    const char *p7[] = {"xa", "bd", NULL};
    CHECK(strcmp(run(two, 2, p7, 1, &st, NULL), "xa") == 0 && st == 1);
    /* decided only when the generation ends */
    const char *p7b[] = {"xab", NULL};
    CHECK(strcmp(run(two, 2, p7b, 1, &st, NULL), "xa") == 0 && st == 1);

    /* a stop in the first piece, empty stops ignored */
    char *mix[] = {"", "\n\n"};
    const char *p8[] = {"\n\nhi", NULL};
    CHECK(strcmp(run(mix, 2, p8, 1, &st, NULL), "") == 0 && st == 0);
    const char *p9[] = {"a\n", "b\n", "\n", NULL};
    CHECK(strcmp(run(mix, 2, p9, 1, &st, NULL), "a\nb") == 0 && st == 2);
}

static void test_utf8(void)
{
    int st;
    char outs[8][64];
    const char *p1[] = {"caf\xC3", "\xA9!", NULL};
    CHECK(strcmp(run(NULL, 0, p1, 1, &st, outs), "caf\xC3\xA9!") == 0);
    CHECK(strcmp(outs[0], "caf") == 0);
    const char *p2[] = {"\xF0", "\x9F", "\x98", "\x80", NULL};
    CHECK(strcmp(run(NULL, 0, p2, 1, &st, outs), "\xF0\x9F\x98\x80") == 0);
    CHECK(!outs[0][0] && !outs[1][0] && !outs[2][0]);
    /* invalid bytes become U+FFFD at once; a cut sequence at the end too */
    const char *p3[] = {"a\xFF", "b\xC3", NULL};
    CHECK(strcmp(run(NULL, 0, p3, 1, &st, outs),
                 "a\xEF\xBF\xBD" "b\xEF\xBF\xBD") == 0);
    CHECK(strcmp(outs[0], "a\xEF\xBF\xBD") == 0 && strcmp(outs[1], "b") == 0);
    /* a stop made of multi-byte characters, split inside a character */
    char *jp[] = {"\xE6\x97\xA5\xE6\x9C\xAC"};
    const char *p4[] = {"a\xE6\x97\xA5\xE6", "\x9C", "\xAC", NULL};
    CHECK(strcmp(run(jp, 1, p4, 1, &st, NULL), "a") == 0 && st == 2);
    const char *p5[] = {"a\xE6\x97\xA5", "\xE6\x9C\xAD", NULL};
    CHECK(strcmp(run(jp, 1, p5, 1, &st, outs),
                 "a\xE6\x97\xA5\xE6\x9C\xAD") == 0 && st == -1);
    CHECK(strcmp(outs[0], "a") == 0);

    size_t n;
    char *s = kws_utf8_sanitize("ok\xED\xA0\x80!", 6, &n);
    CHECK(s && n == 12 && memcmp(s, "ok\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD!",
                                 12) == 0);
    free(s);
    CHECK(kws_utf8_seq((const unsigned char *)"\xF4\x8F\xBF\xBF", 4) == 4);
    CHECK(kws_utf8_seq((const unsigned char *)"\xF4\x90\x80\x80", 4) == 0);
    CHECK(kws_utf8_seq((const unsigned char *)"\xE0\x9F\x80", 3) == 0);
    CHECK(kws_utf8_seq((const unsigned char *)"\xC3", 1) == 0);
}

/* Random texts split at random points: the output is the text before the
 * earliest stop, every piece of output is valid UTF-8 with no stop in it. */
static void test_random(void)
{
    static const char *const atoms[] = {"a", "b", "<", "/", ">", " ",
                                        "\xC3\xA9", "\xF0\x9F\x98\x80"};
    const char *pool[] = {"</", "b>", "\xC3\xA9\xC3\xA9", "a a", "b",
                          "ab<", "\xC3\xA9<"};
    uint64_t rng = 7;
    for (int iter = 0; iter < 3000; iter++) {
        char text[256];
        size_t n = 0;
        int n_atoms = 1 + (int)(kw_test_rand(&rng) % 30);
        for (int i = 0; i < n_atoms; i++) {
            const char *a = atoms[kw_test_rand(&rng) % 8];
            memcpy(text + n, a, strlen(a));
            n += strlen(a);
        }
        char *stops[4];
        int n_stop = (int)(kw_test_rand(&rng) % 5);
        for (int k = 0; k < n_stop; k++)
            stops[k] = (char *)pool[kw_test_rand(&rng) % 7];
        size_t cut = n;
        for (int k = 0; k < n_stop; k++) {
            size_t l = strlen(stops[k]);
            for (size_t p = 0; p + l <= n; p++) {
                if (memcmp(text + p, stops[k], l) == 0) {
                    if (p < cut)
                        cut = p;
                    break;
                }
            }
        }
        struct kws_textout t;
        kws_textout_init(&t, stops, n_stop);
        char got[512];
        size_t gl = 0;
        int hit = 0;
        for (size_t p = 0; p < n && !hit;) {
            size_t len = 1 + kw_test_rand(&rng) % 4;
            if (len > n - p)
                len = n - p;
            char *o;
            size_t ol;
            int r = kws_textout_push(&t, text + p, len, &o, &ol);
            p += len;
            if (o) {
                size_t v = 0;
                while (v < ol) {
                    size_t l = kws_utf8_seq((unsigned char *)o + v, ol - v);
                    CHECK(l > 0);
                    v += l ? l : 1;
                }
                for (int k = 0; k < n_stop; k++)
                    CHECK(strstr(o, stops[k]) == NULL);
                memcpy(got + gl, o, ol);
                gl += ol;
                free(o);
            }
            hit = r == 1;
        }
        if (!hit) {
            char *o;
            size_t ol;
            hit = kws_textout_flush(&t, &o, &ol) == 1;
            if (o) {
                memcpy(got + gl, o, ol);
                gl += ol;
                free(o);
            }
        }
        kws_textout_free(&t);
        CHECKF(hit == (cut < n), "iteration %d: stop hit %d", iter, hit);
        CHECKF(gl == cut && memcmp(got, text, cut) == 0,
               "iteration %d: %zu bytes out, %zu expected", iter, gl, cut);
    }
}

int main(void)
{
    test_stops();
    test_utf8();
    test_random();
    return kw_test_finish("test_server_textout");
}
