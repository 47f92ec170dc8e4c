/*
 * test_server_json.c — the incremental JSON-object prefix checker of
 * `kaiwu serve` (server/json_constraint.c): complete objects, invalid
 * texts, valid unfinished prefixes, every byte split of a sample, nesting
 * limits, that a rejected feed leaves the state unchanged; and the token
 * mask built on it (server/json_mask.c, with server/textout.c's piece
 * table) against feeding every token, on a small synthetic vocabulary.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_constraint.h"
#include "testutil.h"

/* 1 valid and complete, 0 valid prefix, -1 invalid */
static int check(const char *s, size_t n)
{
    struct kws_json_state st;
    kws_json_init(&st);
    if (!kws_json_feed(&st, s, n))
        return -1;
    return st.done ? 1 : 0;
}

static int check_s(const char *s)
{
    return check(s, strlen(s));
}

/* byte by byte must agree with one feed, and a rejected byte must not
 * change the state */
static int bytewise(const char *s)
{
    struct kws_json_state st, before;
    kws_json_init(&st);
    for (size_t i = 0; s[i]; i++) {
        before = st;
        if (!kws_json_feed(&st, s + i, 1)) {
            CHECKF(memcmp(&before, &st, sizeof st) == 0, "state changed: %s",
                   s);
            return -1;
        }
    }
    return st.done ? 1 : 0;
}

static const char *const k_valid[] = {
    "{}",
    " \t\r\n{ } \n",
    "{\"a\":1}",
    ("{\"a\":-0.5e+3,\"b\":[1,2.0,3e10,-0,0.1E-2,1E5,0e0],\"c\":{\"d\":null,"
     "\"e\":true,\"f\":false}}"),
    "{\"s\":\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00\"}",
    "{\"u\":\"h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80\"}",
    "{\"\":\"\",\"k\":[],\"o\":{},\"n\":[[],[{}]]}",
    "{ \"a\" : [ 1 , \"x\" , { \"b\" : false } ] , \"c\" : 12.5 }",
    "{\"a\":[0,-1,10,123.456e-7]}",
};

static const char *const k_invalid[] = {
    "[1]", "\"x\"", "1", "null", "{\"a\"}", "{\"a\":}", "{a:1}",
    "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}", "{\"a\":1e}",
    "{\"a\":+1}", "{\"a\":1e+}", "{\"a\":tru}", "{\"a\":nul1}", "{\"a\":1,}",
    "{,}", "{\"a\":1 \"b\":2}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12G4\"}",
    "{\"a\":\"\n\"}", "{\"a\":\"\t\"}", "{\"a\":1}}", "{\"a\":1} x",
    "{\"a\":1}{}", "{\"a\":\"\\uDC00\"}", "{\"a\":\"\\uD800x\"}",
    "{\"a\":\"\\uD800\\u0041\"}", "{\"a\":\"\\uD800\\n\"}",
    "{\"a\":\"\xC0\x80\"}", "{\"a\":\"\xED\xA0\x80\"}",
    "{\"a\":\"\xF4\x90\x80\x80\"}", "{\"a\":\"\xFF\"}", "{\"a\":\"\xE0\x80\x80\"}",
    "{\"a\":\"\xC3\"}", "{\"a\":[1}", "{\"a\":{]}", "{\"a\":[1,]}",
    "{\"\xC3\xA9\":1,\xC3\xA9}", "{\"a\":Infinity}", "{\"a\":NaN}",
    "{\"a\":0x10}", "{\"a\":1}]",
};

static const char *const k_prefix[] = {
    "", "  ", "{", "{\"a", "{\"a\"", "{\"a\":", "{\"a\": \"ab", "{\"a\":-",
    "{\"a\":1.", "{\"a\":1e+", "{\"a\":0", "{\"a\":12", "{\"a\":[1,",
    "{\"a\":\"\\u00", "{\"a\":\"\xE6\x97", "{\"a\":\"\\uD83D", "{\"a\":\"\\",
    "{\"a\":t", "{\"a\":fals", "{\"a\":{\"b\":[{}", "{\"a\":1,",
};

static void test_tables(void)
{
    for (size_t i = 0; i < sizeof k_valid / sizeof *k_valid; i++) {
        CHECKF(check_s(k_valid[i]) == 1, "valid: %s", k_valid[i]);
        CHECKF(bytewise(k_valid[i]) == 1, "valid bytewise: %s", k_valid[i]);
    }
    for (size_t i = 0; i < sizeof k_invalid / sizeof *k_invalid; i++) {
        int r = check_s(k_invalid[i]);
        CHECKF(r == -1, "invalid: %s -> %d", k_invalid[i], r);
        CHECKF(bytewise(k_invalid[i]) == -1, "invalid bytewise: %s",
               k_invalid[i]);
    }
    for (size_t i = 0; i < sizeof k_prefix / sizeof *k_prefix; i++) {
        CHECKF(check_s(k_prefix[i]) == 0, "prefix: %s", k_prefix[i]);
        CHECKF(bytewise(k_prefix[i]) == 0, "prefix bytewise: %s",
               k_prefix[i]);
    }
}

/* Every split of a sample into two feeds gives the one-feed answer, and
 * every proper prefix is a valid, unfinished prefix. */
static void test_splits(void)
{
    const char *samples[] = {k_valid[3], k_valid[4], k_valid[5]};
    for (int k = 0; k < 3; k++) {
        const char *t = samples[k];
        size_t n = strlen(t);
        for (size_t i = 0; i <= n; i++) {
            struct kws_json_state st;
            kws_json_init(&st);
            CHECK(kws_json_feed(&st, t, i));
            CHECKF(i == n || !st.done, "done early at %zu of sample %d", i, k);
            CHECK(kws_json_feed(&st, t + i, n - i));
            CHECKF(st.done, "split at %zu of sample %d", i, k);
        }
    }
}

static void test_nesting(void)
{
    /* depth 128 (the object plus 127 arrays) is accepted, 129 is not */
    char buf[600];
    size_t n = 0;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "{\"a\":");
    for (int i = 0; i < 127; i++)
        buf[n++] = '[';
    for (int i = 0; i < 127; i++)
        buf[n++] = ']';
    buf[n++] = '}';
    CHECK(check(buf, n) == 1);
    n = 0;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "{\"a\":");
    for (int i = 0; i < 128; i++)
        buf[n++] = '[';
    CHECK(check(buf, n) == -1);
    CHECK(check(buf, n - 1) == 0);

    /* a rejected multi-byte feed leaves the state as it was */
    struct kws_json_state st, before;
    kws_json_init(&st);
    CHECK(kws_json_feed(&st, "{\"k\":[1,", 8));
    before = st;
    CHECK(!kws_json_feed(&st, "2]]", 3));
    CHECK(memcmp(&st, &before, sizeof st) == 0);
    CHECK(kws_json_feed(&st, "2]}", 3) && st.done);
    CHECK(kws_json_feed(&st, " \n", 2) && st.done);
    CHECK(!kws_json_feed(&st, "x", 1));
}

/* What the mask must allow: every token whose piece feeds, except empty
 * pieces, whitespace-only ones in the cases the mask documents, and any
 * leading whitespace before the object. */
static int naive_ok(const struct kws_json_state *st,
                    const struct kws_pieces *pc, int32_t t, int ws_run)
{
    size_t n;
    const char *p = kws_piece(pc, t, &n);
    struct kws_json_state tmp = *st;
    if (n == 0 || !kws_json_feed(&tmp, p, n))
        return 0;
    int no_ws = !kws_json_in_plain_string(st) &&
                (ws_run >= 3 || (st->depth == 0 && !st->done));
    if (no_ws && (pc->flags[t] & KWS_PIECE_WS))
        return 0;
    return !(st->depth == 0 && !st->done && pc->lead_ws[t]);
}

static void test_mask(void)
{
    static const char *const words[] = {
        "", "{", "{\"", "\":", "\": ", " \"", "\",", "},", "}", "]", "[",
        "true", "fal", "se", "null", "nul", " {", "\n  ", "\n", "  ", " ",
        "\t", "-0", ".5", "e+3", "E", "\\u00", "e9", "\\n", "\\", "\\\"",
        "\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC", "\xF0\x9F", "\x98\x80",
        "abc", " the", " and", "123", ",\n  \"", "\"}", "\"]}", "}}", "\n}",
        " }", " ]", " 1", " -", "0.", "\\uD83D", "\\uDE00", "\\ud", "\"a\"",
        "\xC3", "\xA9", "\xFF", " \n", "\r\n", "\"\n", ":[", "\":\"",
    };
    enum { N_WORDS = sizeof words / sizeof *words };
    static char singles[256][2];
    const char *list[256 + N_WORDS];
    int32_t n = 0;
    for (int b = 1; b < 256; b++) { /* every single byte is a token */
        singles[b][0] = (char)b;
        list[n++] = singles[b];
    }
    for (int i = 0; i < N_WORDS; i++)
        list[n++] = words[i];
    struct kws_pieces pc;
    CHECK(kws_pieces_from_list(&pc, list, n) == 0);
    float logits[256 + N_WORDS], out[256 + N_WORDS];
    for (int32_t t = 0; t < n; t++)
        logits[t] = (float)t;

    const char *samples[] = {k_valid[3], k_valid[4], k_valid[5], k_valid[7]};
    int states = 0;
    for (int k = 0; k < 4; k++) {
        size_t len = strlen(samples[k]);
        for (size_t i = 0; i <= len; i++) {
            struct kws_json_state st;
            kws_json_init(&st);
            CHECK(kws_json_feed(&st, samples[k], i));
            for (int ws = 0; ws <= 3; ws += 3) {
                int32_t allowed = kws_json_mask(&st, &pc, logits, out, ws);
                int32_t expect = 0;
                for (int32_t t = 0; t < n; t++) {
                    int ok = naive_ok(&st, &pc, t, ws);
                    expect += ok;
                    CHECKF(ok ? out[t] == logits[t] : out[t] == -INFINITY,
                           "sample %d prefix %zu ws %d token '%s'", k, i, ws,
                           list[t]);
                }
                CHECK(allowed == expect);
                states++;
            }
        }
    }
    CHECK(states > 300);
    kws_pieces_free(&pc);
}

int main(void)
{
    test_tables();
    test_splits();
    test_nesting();
    test_mask();
    return kw_test_finish("test_server_json");
}
