/*
 * fuzz_server_json.c — libFuzzer target for the JSON-object prefix checker
 * that constrains `kaiwu serve` output (response_format json_object).
 * Whatever the bytes, it must not crash; feeding them in two pieces must
 * agree with feeding them whole; and every text jansson accepts as one
 * object (not too deep, no raw NUL) must be accepted and complete.
 * CTest replays tests/corpus/fuzz_server_json/ with it.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

static void check(int ok) {
    if (!ok) abort();
}

/* Bytes accepted before the first refusal; *st is the state there. */
static size_t feed_all(struct kws_json_state *st, const uint8_t *d,
                       size_t n) {
    size_t i = 0;
    for (; i < n; i++)
        if (!kws_json_feed(st, (const char *)d + i, 1)) break;
    return i;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct kws_json_state a, b;
    kws_json_init(&a);
    const size_t ok_bytes = feed_all(&a, data, size);

    /* in two pieces: the first piece whole, then the rest byte by byte */
    kws_json_init(&b);
    const size_t cut = size ? data[0] % (size + 1) : 0;
    size_t ok2 = 0;
    if (kws_json_feed(&b, (const char *)data, cut))
        ok2 = cut + feed_all(&b, data + cut, size - cut);
    check((ok2 == size) == (ok_bytes == size));
    if (ok2 == size) check(a.done == b.done);

    int depth = 0;
    for (size_t i = 0; i < size; i++) depth += data[i] == '[' || data[i] == '{';
    /* jansson reads a raw NUL byte as the end of the text */
    if (depth < 100 && !memchr(data, 0, size)) {
        json_error_t err;
        json_t *j = json_loadb((const char *)data, size,
                               JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        if (j && json_is_object(j)) check(ok_bytes == size && a.done);
        json_decref(j);
    }
    return 0;
}
