/*
 * json.h — a small streaming JSON writer for the CLI's --json output (commas
 * and nesting tracked for the caller) plus the UTF-8 helpers shared with
 * text output: sequence validation, escaping for display, and a streaming
 * sink that holds back incomplete sequences so printed text is valid UTF-8.
 */
#ifndef KW_CLI_JSON_H
#define KW_CLI_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JW_MAX_DEPTH 16

struct jw {
    FILE *f;
    int depth;
    int count[JW_MAX_DEPTH]; /* values written at each level */
    int after_key;
};

void jw_init(struct jw *w, FILE *f);
void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
/* Strings: invalid UTF-8 becomes \ufffd; control characters are escaped. */
void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t len);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
/* Non-finite numbers are written as null. digits: %.*g precision. */
void jw_num(struct jw *w, double v, int digits);
void jw_bool(struct jw *w, int v);
void jw_null(struct jw *w);
/* Ends the document with a newline. */
void jw_end(struct jw *w);

/* Length of the valid UTF-8 sequence at s[0..n): >0 valid, 0 when s is a
 * valid but incomplete prefix (needs more bytes), -1 when invalid. */
int utf8_seq(const unsigned char *s, size_t n);

/* Writes s[0..len) for humans: printable text as is, \n \t \" \\ and other
 * control bytes escaped, invalid UTF-8 bytes as \xNN. Stops after max bytes
 * of input (0 = no limit) and returns 1 when it stopped early. */
int text_escaped(FILE *f, const char *s, size_t len, size_t max);

/* Streaming UTF-8 sink: text_sink_put buffers a trailing incomplete
 * sequence until the next piece completes it; invalid bytes print as U+FFFD.
 * text_sink_flush prints what is held back (as U+FFFD). */
struct text_sink {
    FILE *f;
    unsigned char hold[4];
    size_t n_hold;
};
void text_sink_put(struct text_sink *t, const char *s, size_t len);
void text_sink_flush(struct text_sink *t);

#endif /* KW_CLI_JSON_H */
