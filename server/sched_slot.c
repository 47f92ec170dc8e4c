/*
 * sched_slot.c — one slot of the `kaiwu serve` scheduler: admitting a job
 * (prompt checks, the slot with the longest reusable prefix, sampler and
 * output filter), what happens after each forward pass (JSON mask, sample,
 * logprobs, text events, finish on EOG / stop string / max_tokens / full
 * context) and ending a job.
 * Entry points: sched_slot_admit, sched_slot_sample, sched_slot_emit,
 * sched_slot_end.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_slot.h"

static void free_lp(struct sched_slot *sl) {
    free(sl->lp_chosen);
    free(sl->lp_top);
    sl->lp_chosen = sl->lp_top = NULL;
    sl->lp_n = sl->lp_cap = 0;
}

/* The longest prompt prefix this slot can reuse, rounded down to the chunk
 * grid and leaving at least one token to compute logits from. */
static uint32_t reusable(const struct kws_sched *s, const struct sched_slot *sl,
                         const int32_t *prompt, size_t n_prompt) {
    size_t lim = sl->n_canon < n_prompt - 1 ? sl->n_canon : n_prompt - 1;
    size_t lcp = 0;
    while (lcp < lim && sl->cache[lcp] == prompt[lcp])
        lcp++;
    return (uint32_t)(lcp / s->chunk * s->chunk);
}

int sched_slot_admit(struct kws_sched *s, struct kws_job *j) {
    const struct kws_gen_params *p = &j->p;
    char msg[160];
    if (!p->prompt || p->n_prompt == 0) {
        kws_job_fail(j, 400, "the prompt is empty");
        return 0;
    }
    if (p->n_prompt > s->ctx) {
        snprintf(msg, sizeof msg, "prompt is %zu tokens, the context is %u",
                 p->n_prompt, (unsigned)s->ctx);
        kws_job_fail(j, 400, msg);
        return 0;
    }
    for (size_t i = 0; i < p->n_prompt; i++) {
        if (p->prompt[i] < 0 || p->prompt[i] >= s->n_vocab) {
            snprintf(msg, sizeof msg,
                     "prompt token %ld is outside the vocabulary (0..%ld)",
                     (long)p->prompt[i], (long)s->n_vocab - 1);
            kws_job_fail(j, 400, msg);
            return 0;
        }
    }

    /* the output filter's work per token grows with the square of the
     * stop strings' length */
    for (int i = 0; i < p->n_stop; i++) {
        if (p->stop[i] && strlen(p->stop[i]) > KWS_STOP_MAX) {
            snprintf(msg, sizeof msg,
                     "stop strings longer than %d bytes are not supported",
                     KWS_STOP_MAX);
            kws_job_fail(j, 400, msg);
            return 0;
        }
    }

    struct sched_slot *best = NULL;
    uint32_t best_keep = 0;
    for (int i = 0; i < s->n_slots; i++) {
        struct sched_slot *sl = &s->slots[i];
        if (sl->state != SLOT_FREE)
            continue;
        uint32_t keep = reusable(s, sl, p->prompt, p->n_prompt);
        if (!best || keep > best_keep ||
            (keep == best_keep && sl->last_used < best->last_used)) {
            best = sl;
            best_keep = keep;
        }
    }
    if (!best) {
        kws_job_fail(j, 503, "no free slot");
        return 0;
    }

    struct kw_sampler_params sp = kw_sampler_default_params();
    sp.temperature = p->temperature;
    sp.top_k = p->top_k;
    sp.top_p = p->top_p;
    sp.min_p = p->min_p;
    sp.repeat_penalty = p->repeat_penalty;
    sp.frequency_penalty = p->frequency_penalty;
    sp.presence_penalty = p->presence_penalty;
    sp.seed = p->seed;
    struct kw_sampler *smp = NULL;
    if (kw_sampler_new(&sp, s->n_vocab, &smp) != KW_STATUS_OK) {
        kws_job_fail(j, 400, "invalid sampling parameters");
        return 0;
    }
    float *masked = NULL;
    if (p->json_object) {
        masked = malloc((size_t)s->n_vocab * sizeof *masked);
        if (!masked) {
            kw_sampler_free(smp);
            kws_job_fail(j, 500, "out of memory");
            return 0;
        }
    }
    /* like llama-server, the penalties see the prompt too */
    for (size_t i = 0; i < p->n_prompt; i++)
        kw_sampler_accept(smp, p->prompt[i]);

    struct sched_slot *sl = best;
    kw_session_truncate(sl->sess, best_keep);
    sl->n_cache = best_keep;
    sl->n_canon = best_keep;
    sl->state = SLOT_PROMPT;
    sl->job = j;
    sl->next_tok = -1;
    sl->n_gen = 0;
    sl->cached = (int)best_keep;
    sl->smp = smp;
    sl->masked = masked;
    kws_textout_init(&sl->tout, p->stop, p->n_stop);
    kws_json_init(&sl->js);
    sl->ws_run = 0;
    sl->want_lp = p->logprobs || p->top_logprobs > 0;
    sl->n_top = p->top_logprobs < 0 ? 0
              : p->top_logprobs > KWS_MAX_TOP ? KWS_MAX_TOP : p->top_logprobs;
    sl->lp_n = 0;
    sl->t_last = 0;
    sl->last_used = ++s->use_clock;
    return 1;
}

static void emit_text(struct sched_slot *sl, char *text, size_t len) {
    struct kws_event ev = {.kind = KWS_EV_TEXT, .text = text, .len = len};
    if (sl->want_lp && sl->lp_n > 0) {
        ev.n_tokens = sl->lp_n;
        ev.chosen = sl->lp_chosen;
        ev.top = sl->n_top ? sl->lp_top : NULL;
        ev.n_top = sl->n_top;
        if (!sl->n_top)
            free(sl->lp_top);
        sl->lp_chosen = sl->lp_top = NULL;
        sl->lp_n = sl->lp_cap = 0;
    }
    kws_job_push(sl->job, &ev);
}

void sched_slot_end(struct kws_sched *s, struct sched_slot *sl,
                    const char *reason, int status, const char *msg) {
    struct kws_job *j = sl->job;
    if (j && reason) {
        char *out = NULL;
        size_t ol = 0;
        int fr = kws_textout_flush(&sl->tout, &out, &ol);
        if (fr == 1)
            reason = "stop"; /* a stop string could only be decided now */
        if (fr >= 0 && !out && sl->lp_n > 0)
            out = calloc(1, 1); /* logprobs of tokens that left no text */
        if (fr >= 0 && out)
            emit_text(sl, out, ol);
        struct kws_event ev = {.kind = KWS_EV_DONE,
                               .finish_reason = reason,
                               .prompt_tokens = (int)j->p.n_prompt,
                               .completion_tokens = sl->n_gen,
                               .cached_tokens = sl->cached};
        kws_job_finish(j, &ev);
        if (s->metrics)
            kws_metrics_tokens(s->metrics, j->p.n_prompt, (uint64_t)sl->n_gen);
    } else if (j && msg) {
        kws_job_fail(j, status, msg);
    }
    kw_sampler_free(sl->smp);
    sl->smp = NULL;
    kws_textout_free(&sl->tout);
    free(sl->masked);
    sl->masked = NULL;
    free_lp(sl);
    if (j)
        kws_job_release(j);
    sl->job = NULL;
    sl->state = SLOT_FREE;
    sl->last_used = ++s->use_clock;
    pthread_mutex_lock(&s->mu);
    s->busy--;
    pthread_mutex_unlock(&s->mu);
}

static int push_lp(struct kws_sched *s, struct sched_slot *sl,
                   const float *logits, int32_t tok) {
    if (sl->lp_n == sl->lp_cap) {
        int ncap = sl->lp_cap ? sl->lp_cap * 2 : 4;
        struct kws_top *c = realloc(sl->lp_chosen, (size_t)ncap * sizeof *c);
        if (!c)
            return -1;
        sl->lp_chosen = c;
        if (sl->n_top) {
            struct kws_top *t = realloc(
                sl->lp_top, (size_t)ncap * (size_t)sl->n_top * sizeof *t);
            if (!t)
                return -1;
            sl->lp_top = t;
        }
        sl->lp_cap = ncap;
    }
    float lse = kws_logsumexp(logits, s->n_vocab);
    kws_logprobs_fill(&s->pieces, logits, s->n_vocab, lse, tok, sl->n_top,
                      &sl->lp_chosen[sl->lp_n],
                      sl->n_top ? &sl->lp_top[sl->lp_n * sl->n_top] : NULL);
    sl->lp_n++;
    return 0;
}

void sched_slot_sample(struct kws_sched *s, struct sched_slot *sl) {
    sl->sampled = -1;
    const float *logits = kw_session_logits(sl->sess);
    const float *use = logits;
    if (!logits) {
        sl->sample_rc = SAMPLE_FAILED;
        return;
    }
    if (sl->masked) {
        if (kws_json_mask(&sl->js, &s->pieces, logits, sl->masked,
                          sl->ws_run) == 0) {
            sl->sample_rc = SAMPLE_DEAD_END;
            return;
        }
        use = sl->masked;
    }
    int32_t tok = kw_sampler_sample(sl->smp, use);
    if (tok < 0 || tok >= s->n_vocab) {
        sl->sample_rc = SAMPLE_FAILED;
        return;
    }
    kw_sampler_accept(sl->smp, tok);
    sl->sampled = tok;
    sl->sample_rc = SAMPLE_OK;
    if (sl->want_lp && !kw_model_token_is_eog(s->model, tok) &&
        push_lp(s, sl, logits, tok) < 0)
        sl->sample_rc = SAMPLE_NOMEM;
}

void sched_slot_emit(struct kws_sched *s, struct sched_slot *sl) {
    struct kws_job *j = sl->job;
    switch (sl->sample_rc) {
    case SAMPLE_OK:
        break;
    case SAMPLE_DEAD_END: /* json_object: no token can follow */
        sched_slot_end(s, sl, "stop", 0, NULL);
        return;
    case SAMPLE_NOMEM:
        sched_slot_end(s, sl, NULL, 500, "out of memory");
        return;
    default:
        sched_slot_end(s, sl, NULL, 500, "sampling failed");
        return;
    }
    int32_t tok = sl->sampled;

    double now = kws_now();
    if (s->metrics) {
        if (sl->t_last == 0)
            kws_metrics_ttft(s->metrics, now - j->t_submit);
        else
            kws_metrics_itl(s->metrics, now - sl->t_last);
    }
    sl->t_last = now;

    /* the end-of-generation token is not part of the completion (nor of
     * completion_tokens, nor of the logprobs) */
    if (kw_model_token_is_eog(s->model, tok)) {
        sched_slot_end(s, sl, "stop", 0, NULL);
        return;
    }
    sl->n_gen++;
    size_t n;
    const char *piece = kws_piece(&s->pieces, tok, &n);
    if (sl->masked) {
        if (!kws_json_feed(&sl->js, piece, n)) { /* the mask forbids this */
            sched_slot_end(s, sl, "stop", 0, NULL);
            return;
        }
        sl->ws_run = (s->pieces.flags[tok] & KWS_PIECE_WS) ? sl->ws_run + 1 : 0;
    }
    char *out = NULL;
    size_t ol = 0;
    int r = kws_textout_push(&sl->tout, piece, n, &out, &ol);
    if (r < 0) {
        sched_slot_end(s, sl, NULL, 500, "out of memory");
        return;
    }
    if (out)
        emit_text(sl, out, ol);
    if (r == 1 || (sl->masked && sl->js.done)) {
        sched_slot_end(s, sl, "stop", 0, NULL);
        return;
    }
    if ((j->p.max_tokens > 0 && sl->n_gen >= j->p.max_tokens) ||
        sl->n_cache >= s->ctx) {
        sched_slot_end(s, sl, "length", 0, NULL);
        return;
    }
    sl->next_tok = tok;
    sl->state = SLOT_GEN;
}
