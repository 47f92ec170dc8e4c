/*
 * json_constraint.h — scheduler-private helpers around the JSON-object
 * prefix checker of serve.h (json_constraint.c) and the token mask built
 * on it for response_format json_object (json_mask.c).
 */
#ifndef KW_SERVER_JSON_CONSTRAINT_H
#define KW_SERVER_JSON_CONSTRAINT_H

#include "serve.h"
#include "json_vocab.h"

/* 1 inside a string (where whitespace is text, not a separator). */
int kws_json_in_string(const struct kws_json_state *st);
/* 1 when st is inside a string between characters, where any
 * KWS_PIECE_PLAIN piece is accepted and leaves st unchanged. */
int kws_json_in_plain_string(const struct kws_json_state *st);

/* out[t] = logits[t] for every token whose piece keeps the text a valid
 * prefix of one JSON object, -INFINITY for the others (and for empty pieces,
 * so end-of-generation tokens: the caller ends the job when the object is
 * complete). ws_run: whitespace-only tokens in a row so far; from 3 on
 * they are masked outside strings, and before the '{' no token may start
 * with whitespace, so a model cannot pad forever. Returns the number of
 * tokens left allowed. */
int32_t kws_json_mask(const struct kws_json_state *st,
                      const struct kws_pieces *pc, const float *logits,
                      float *out, int ws_run);

#endif
