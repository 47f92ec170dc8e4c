/*
 * logprobs.c — OpenAI logprobs for `kaiwu serve`: log-softmax of the raw
 * logits (before penalties, masks and temperature), the chosen token's
 * value and the top alternatives, with each token's text as valid UTF-8.
 * Entry points: kws_logsumexp, kws_logprobs_fill (sched_slot.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sched_slot.h"

float kws_logsumexp(const float *logits, int32_t n) {
    float mx = -INFINITY;
    for (int32_t i = 0; i < n; i++) {
        if (logits[i] > mx) /* false for NaN */
            mx = logits[i];
    }
    if (!isfinite(mx))
        return mx;
    double sum = 0;
    for (int32_t i = 0; i < n; i++) {
        if (logits[i] > -INFINITY)
            sum += exp((double)(logits[i] - mx));
    }
    return mx + (float)log(sum);
}

static void set_entry(const struct kws_pieces *pc, const float *logits,
                      float lse, int32_t tok, struct kws_top *e) {
    float l = logits[tok];
    e->token = tok;
    e->logprob = l == l ? l - lse : -INFINITY;
    size_t n, o;
    const char *p = kws_piece(pc, tok, &n);
    char *s = kws_utf8_sanitize(p, n, &o);
    if (!s)
        o = 0;
    /* cut on a character boundary to fit the fixed field */
    while (o >= sizeof e->text) {
        o--;
        while (o > 0 && ((unsigned char)s[o] & 0xC0) == 0x80)
            o--;
    }
    if (o)
        memcpy(e->text, s, o);
    e->text[o] = '\0';
    free(s);
}

void kws_logprobs_fill(const struct kws_pieces *pc, const float *logits,
                       int32_t n, float lse, int32_t tok, int n_top,
                       struct kws_top *chosen, struct kws_top *top) {
    set_entry(pc, logits, lse, tok, chosen);
    if (n_top <= 0)
        return;
    if (n_top > KWS_MAX_TOP)
        n_top = KWS_MAX_TOP;
    int32_t ids[KWS_MAX_TOP];
    int k = 0;
    /* insertion into a short sorted list: n_top <= 20 */
    for (int32_t i = 0; i < n; i++) {
        float v = logits[i];
        if (v != v)
            continue;
        if (k == n_top && !(v > logits[ids[k - 1]]))
            continue;
        int pos = k < n_top ? k++ : k - 1;
        while (pos > 0 && v > logits[ids[pos - 1]]) {
            ids[pos] = ids[pos - 1];
            pos--;
        }
        ids[pos] = i;
    }
    for (int i = 0; i < k; i++)
        set_entry(pc, logits, lse, ids[i], &top[i]);
    for (int i = k; i < n_top; i++) { /* fewer tokens than asked */
        memset(&top[i], 0, sizeof top[i]);
        top[i].token = -1;
        top[i].logprob = -INFINITY;
    }
}
