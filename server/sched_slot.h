/*
 * sched_slot.h — the scheduler's private state (sched.c drives the thread,
 * the queue and the batched forward pass; sched_slot.c runs one slot:
 * admission with prefix reuse, sampling, logprobs, JSON masking, text and
 * final events).
 */
#ifndef KW_SERVER_SCHED_SLOT_H
#define KW_SERVER_SCHED_SLOT_H

#include <pthread.h>

#include "job.h"
#include "json_constraint.h"
#include "json_vocab.h"
#include "textout.h"

enum sched_slot_state { SLOT_FREE, SLOT_PROMPT, SLOT_GEN };

#define KWS_STOP_MAX 1024 /* longest stop string accepted, in bytes */

struct sched_slot {
    int idx;
    struct kw_session *sess; /* n_threads 1, n_batch 1: its KV cache */
    int32_t *cache;          /* the tokens in the KV cache (ctx of them) */
    uint32_t n_cache;        /* == kw_session_n_past(sess) */
    /* Leading cached positions that were decoded in full prompt chunks of
     * the fixed grid, so their KV is exactly what a fresh run computes;
     * prefix reuse is limited to them (greedy output must not depend on
     * what ran before). */
    uint32_t n_canon;
    uint64_t last_used;
    enum sched_slot_state state;
    struct kws_job *job;
    int32_t next_tok; /* SLOT_GEN: sampled, decoded at the next step */
    int n_gen, cached;
    struct kw_sampler *smp;
    struct kws_textout tout;
    struct kws_json_state js;
    int ws_run;
    float *masked;        /* n_vocab scratch for json_object */
    int want_lp, n_top;   /* logprobs requested, alternatives per token */
    struct kws_top *lp_chosen, *lp_top; /* since the last text event */
    int lp_n, lp_cap;
    double t_last;        /* time of the last sampled token (0: none yet) */
    int32_t sampled;      /* sched_slot_sample's result */
    int sample_rc;        /* SAMPLE_* */
};

enum { SAMPLE_OK, SAMPLE_DEAD_END, SAMPLE_FAILED, SAMPLE_NOMEM };

/* Helper threads for sched_slot_sample over many slots (sched_par.c). */
struct sched_par;
struct sched_par *sched_par_new(struct kws_sched *s, int n_threads);
/* Runs sched_slot_sample on slots[0..n), the caller's thread helping. */
void sched_par_sample(struct sched_par *p, struct sched_slot **slots, int n);
void sched_par_free(struct sched_par *p);

struct kws_sched {
    struct kw_model *model;
    struct kws_metrics *metrics;
    int32_t n_vocab;
    uint32_t ctx, batch, chunk;
    struct kws_pieces pieces;
    struct kw_session *runner;
    struct sched_slot *slots;
    int n_slots;
    uint64_t use_clock;

    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* work arrived / stop requested */
    pthread_cond_t done_cv; /* the thread has exited */
    struct kws_job **queue; /* ring */
    int q_head, q_n, q_cap, queue_limit;
    int busy;               /* slots holding or about to hold a job */
    uint64_t kv_used;       /* under mu */
    int stopping, cancel_all, joining, joined;
    /* owned by the scheduler thread */
    struct kws_job **admit;      /* n_slots: jobs taken off the queue */
    struct sched_slot **ready;   /* n_slots: slots to sample this step */
    struct sched_par *par;       /* NULL: sample on this thread only */
    struct kw_batch_item *items; /* n_slots: this step's batch */
    int *who;                    /* n_slots: slot of each item */
    uint64_t rr;                 /* rotates which prompt goes first */
    int verbose;
    uint64_t n_steps, n_tokens_decoded;
    double step_seconds, sample_seconds;
};

/* Assigns j to the free slot with the longest reusable prefix; a job whose
 * prompt cannot run gets a KWS_EV_ERROR instead. Returns 1 if a slot took
 * it. */
int sched_slot_admit(struct kws_sched *s, struct kws_job *j);
/* After the forward pass, for a slot whose prompt is in: first
 * sched_slot_sample (JSON mask, sampler, logprobs: touches only this slot,
 * so slots may run it on several threads at once), then, on the scheduler
 * thread, sched_slot_emit (metrics, text events, and ending the job on
 * EOG, a stop string, JSON complete, max_tokens or a full context). */
void sched_slot_sample(struct kws_sched *s, struct sched_slot *sl);
void sched_slot_emit(struct kws_sched *s, struct sched_slot *sl);
/* Ends the slot's job: DONE with finish_reason (after flushing held-back
 * text), or, with reason NULL, an error (status, msg), or, with msg NULL
 * too, silently (cancelled). Frees the slot. */
void sched_slot_end(struct kws_sched *s, struct sched_slot *sl,
                    const char *reason, int status, const char *msg);

/* ---- logprobs.c ----------------------------------------------------- */
/* log(sum(exp(logits))) over n logits; NaN counts as -inf. */
float kws_logsumexp(const float *logits, int32_t n);
/* chosen = tok's log-probability, top[0..n_top) = the n_top likeliest
 * tokens, best first; texts from the piece table as valid UTF-8. */
void kws_logprobs_fill(const struct kws_pieces *pc, const float *logits,
                       int32_t n, float lse, int32_t tok, int n_top,
                       struct kws_top *chosen, struct kws_top *top);

#endif
