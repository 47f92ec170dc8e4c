/*
 * sched.c — the generation scheduler of `kaiwu serve`: `parallel` slot
 * sessions (each only a KV cache) and one runner session that owns the
 * threads; one thread admits queued jobs into free slots and runs one
 * batched forward pass per step (kw_session_decode_batch) in which every
 * generating slot adds its next token and every slot still reading its
 * prompt adds one chunk. Prompts are read in chunks of a fixed grid of
 * `batch` tokens, as `kaiwu generate` reads them, because the library's
 * results depend on how many tokens a pass holds: so a prompt's KV and
 * logits never depend on what else runs (greedy output of 8 concurrent
 * streams = each alone), and prefix reuse stops at a grid line.
 * Entry points: kws_sched_new/submit/stats/stop/free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_slot.h"

/* Ends every queued and running job with 503 (shutdown with cancel). */
static void cancel_everything(struct kws_sched *s) {
    static const char msg[] = "the server is shutting down";
    pthread_mutex_lock(&s->mu);
    while (s->q_n > 0) {
        struct kws_job *j = s->queue[s->q_head];
        s->q_head = (s->q_head + 1) % s->q_cap;
        s->q_n--;
        kws_job_fail(j, 503, msg);
        kws_job_release(j);
    }
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->n_slots; i++) {
        if (s->slots[i].state != SLOT_FREE)
            sched_slot_end(s, &s->slots[i], NULL, 503, msg);
    }
}

static void decode_failed(struct kws_sched *s, const int *who, size_t n,
                          enum kw_status rc) {
    char msg[128];
    snprintf(msg, sizeof msg, "decoding failed: %s", kw_status_str(rc));
    for (size_t i = 0; i < n; i++) {
        struct sched_slot *sl = &s->slots[who[i]];
        /* the cache content is uncertain now: forget it */
        kw_session_truncate(sl->sess, 0);
        sl->n_cache = sl->n_canon = 0;
        sched_slot_end(s, sl, NULL, 500, msg);
    }
}

/* One forward pass over all busy slots. */
static void step(struct kws_sched *s, struct kw_batch_item *items, int *who) {
    for (int i = 0; i < s->n_slots; i++) {
        struct sched_slot *sl = &s->slots[i];
        if (sl->state != SLOT_FREE && kws_job_is_cancelled(sl->job))
            sched_slot_end(s, sl, NULL, 0, NULL);
    }
    size_t n = 0;
    uint32_t budget = s->batch;
    for (int i = 0; i < s->n_slots && budget > 0; i++) {
        struct sched_slot *sl = &s->slots[i];
        if (sl->state != SLOT_GEN)
            continue;
        items[n] = (struct kw_batch_item){sl->sess, &sl->next_tok, 1};
        who[n++] = i;
        budget--;
    }
    /* prompt chunks, starting at a rotating slot so none starves when
     * the budget is short; a chunk is never split (fixed grid) */
    int first = (int)(s->rr++ % (uint64_t)s->n_slots);
    for (int k = 0; k < s->n_slots; k++) {
        struct sched_slot *sl = &s->slots[(first + k) % s->n_slots];
        if (sl->state != SLOT_PROMPT)
            continue;
        const struct kws_gen_params *p = &sl->job->p;
        size_t end = ((size_t)sl->n_cache / s->chunk + 1) * s->chunk;
        if (end > p->n_prompt)
            end = p->n_prompt;
        size_t len = end - sl->n_cache;
        if (len > budget)
            continue;
        items[n] = (struct kw_batch_item){sl->sess, p->prompt + sl->n_cache,
                                          len};
        who[n++] = sl->idx;
        budget -= (uint32_t)len;
    }
    if (n == 0)
        return;

    double t0 = kws_now();
    enum kw_status rc = kw_session_decode_batch(s->runner, items, n);
    double dt = kws_now() - t0;
    if (rc != KW_STATUS_OK) {
        decode_failed(s, who, n, rc);
        return;
    }
    s->n_steps++;
    s->step_seconds += dt;
    int n_ready = 0;
    for (size_t i = 0; i < n; i++) {
        struct sched_slot *sl = &s->slots[who[i]];
        uint32_t start = sl->n_cache;
        memcpy(sl->cache + start, items[i].tokens,
               items[i].n_tokens * sizeof *sl->cache);
        sl->n_cache += (uint32_t)items[i].n_tokens;
        s->n_tokens_decoded += items[i].n_tokens;
        if (sl->state == SLOT_PROMPT) {
            if (sl->n_canon == start && items[i].n_tokens == s->chunk)
                sl->n_canon = sl->n_cache; /* a full grid chunk */
            if (sl->n_cache < sl->job->p.n_prompt)
                continue;
        }
        s->ready[n_ready++] = sl;
    }
    /* sampling a full vocabulary costs up to a millisecond or two per slot
     * (more with a JSON mask): spread it over the cores the forward pass
     * just left idle */
    double t1 = kws_now();
    int costly = 0; /* greedy sampling is an argmax: not worth a handoff */
    for (int i = 0; i < n_ready; i++) {
        const struct sched_slot *sl = s->ready[i];
        costly += sl->masked || sl->want_lp || sl->job->p.temperature > 0;
    }
    if (s->par && costly > 1) {
        sched_par_sample(s->par, s->ready, n_ready);
    } else {
        for (int i = 0; i < n_ready; i++)
            sched_slot_sample(s, s->ready[i]);
    }
    s->sample_seconds += kws_now() - t1;
    for (int i = 0; i < n_ready; i++)
        sched_slot_emit(s, s->ready[i]);
}

static void publish_kv(struct kws_sched *s) {
    uint64_t kv = 0;
    for (int i = 0; i < s->n_slots; i++)
        kv += s->slots[i].n_cache;
    pthread_mutex_lock(&s->mu);
    s->kv_used = kv;
    pthread_mutex_unlock(&s->mu);
}

/* Drops queued jobs whose client went away (under mu), so they do not
 * hold queue places until their turn. */
static void purge_cancelled(struct kws_sched *s) {
    int kept = 0;
    for (int i = 0; i < s->q_n; i++) {
        struct kws_job *j = s->queue[(s->q_head + i) % s->q_cap];
        if (kws_job_is_cancelled(j))
            kws_job_release(j);
        else
            s->queue[(s->q_head + kept++) % s->q_cap] = j;
    }
    s->q_n = kept;
}

static void *sched_main(void *arg) {
    struct kws_sched *s = arg;
    for (;;) {
        int n_adm = 0, cancel = 0, quit = 0;
        pthread_mutex_lock(&s->mu);
        while (!s->cancel_all && !s->stopping && s->q_n == 0 && s->busy == 0)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->cancel_all) {
            cancel = 1;
        } else {
            purge_cancelled(s);
            int free_slots = s->n_slots - s->busy;
            while (free_slots-- > 0 && s->q_n > 0) {
                s->admit[n_adm++] = s->queue[s->q_head];
                s->q_head = (s->q_head + 1) % s->q_cap;
                s->q_n--;
                s->busy++; /* reserved now, so submit sees it at once */
            }
            quit = s->stopping && s->busy == 0 && s->q_n == 0 && n_adm == 0;
        }
        pthread_mutex_unlock(&s->mu);
        if (cancel) {
            cancel_everything(s);
            break;
        }
        if (quit)
            break;
        for (int i = 0; i < n_adm; i++) {
            struct kws_job *j = s->admit[i];
            if (kws_job_is_cancelled(j) || !sched_slot_admit(s, j)) {
                kws_job_release(j);
                pthread_mutex_lock(&s->mu);
                s->busy--;
                pthread_mutex_unlock(&s->mu);
            }
        }
        step(s, s->items, s->who);
        publish_kv(s);
    }
    publish_kv(s);
    if (s->verbose && s->n_steps)
        fprintf(stderr,
                "kaiwu: scheduler: %llu steps, %.2f ms per step (+%.2f ms "
                "sampling), %.1f tokens per step\n",
                (unsigned long long)s->n_steps,
                s->step_seconds * 1e3 / (double)s->n_steps,
                s->sample_seconds * 1e3 / (double)s->n_steps,
                (double)s->n_tokens_decoded / (double)s->n_steps);
    return NULL;
}

static void free_all(struct kws_sched *s) {
    if (s->slots) {
        for (int i = 0; i < s->n_slots; i++) {
            if (s->slots[i].state != SLOT_FREE)
                sched_slot_end(s, &s->slots[i], NULL, 503, "shutting down");
            kw_session_free(s->slots[i].sess);
            free(s->slots[i].cache);
        }
    }
    while (s->queue && s->q_n > 0) {
        kws_job_release(s->queue[s->q_head]);
        s->q_head = (s->q_head + 1) % s->q_cap;
        s->q_n--;
    }
    free(s->slots);
    free(s->queue);
    free(s->admit);
    free(s->ready);
    sched_par_free(s->par);
    free(s->items);
    free(s->who);
    kw_session_free(s->runner);
    kws_pieces_free(&s->pieces);
    pthread_cond_destroy(&s->done_cv);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int kws_sched_new(struct kw_model *m, const struct kws_config *cfg,
                  struct kws_metrics *metrics, struct kws_sched **out,
                  char *err, size_t err_size) {
    *out = NULL;
    if (!m || !cfg || cfg->parallel < 1 || cfg->parallel > 1024 ||
        cfg->batch < 1 || cfg->batch > 65536 || cfg->queue < 0 || cfg->queue > 1000000 ||
        cfg->threads < 0) {
        snprintf(err, err_size, "scheduler: invalid configuration");
        return -1;
    }
    struct kws_sched *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_size, "scheduler: out of memory");
        return -1;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_cond_init(&s->done_cv, NULL);
    s->model = m;
    s->metrics = metrics;
    s->n_vocab = kw_model_n_vocab(m);
    s->n_slots = cfg->parallel;
    s->verbose = cfg->verbose;
    /* every generating slot must fit in one pass */
    /* a whole chunk and every generating slot's token fit in one pass */
    s->chunk = (uint32_t)cfg->batch;
    s->batch = s->chunk + (uint32_t)cfg->parallel;
    s->queue_limit = cfg->queue;
    s->q_cap = cfg->queue + cfg->parallel;
    s->slots = calloc((size_t)s->n_slots, sizeof *s->slots);
    s->queue = calloc((size_t)s->q_cap, sizeof *s->queue);
    s->admit = calloc((size_t)s->n_slots, sizeof *s->admit);
    s->ready = calloc((size_t)s->n_slots, sizeof *s->ready);
    s->items = calloc((size_t)s->n_slots, sizeof *s->items);
    s->who = calloc((size_t)s->n_slots, sizeof *s->who);
    if (!s->slots || !s->queue || !s->admit || !s->ready || !s->items ||
        !s->who ||
        kws_pieces_build(&s->pieces, m) != 0) {
        snprintf(err, err_size, "scheduler: out of memory");
        free_all(s);
        return -1;
    }

    struct kw_session_params rp = kw_session_default_params();
    rp.n_threads = (uint32_t)cfg->threads;
    rp.n_batch = rp.n_ctx = s->batch;
    if (kw_session_new(m, &rp, &s->runner, err, err_size) != KW_STATUS_OK) {
        free_all(s);
        return -1;
    }
    for (int i = 0; i < s->n_slots; i++) {
        struct sched_slot *sl = &s->slots[i];
        struct kw_session_params sp = kw_session_default_params();
        sp.n_threads = 1;
        sp.n_batch = 1;
        sp.n_ctx = cfg->ctx;
        sl->idx = i;
        if (kw_session_new(m, &sp, &sl->sess, err, err_size) != KW_STATUS_OK) {
            free_all(s);
            return -1;
        }
        s->ctx = kw_session_n_ctx(sl->sess); /* after the model's cap */
        sl->cache = malloc((size_t)s->ctx * sizeof *sl->cache);
        if (!sl->cache) {
            snprintf(err, err_size, "scheduler: out of memory");
            free_all(s);
            return -1;
        }
    }

    /* helpers for sampling: as many as the runner has threads, less the
     * scheduler thread itself (NULL on failure: sampling stays serial) */
    int helpers = (int)kw_session_n_threads(s->runner) - 1;
    if (helpers > s->n_slots - 1)
        helpers = s->n_slots - 1;
    if (helpers > 0)
        s->par = sched_par_new(s, helpers);
    if (pthread_create(&s->thread, NULL, sched_main, s) != 0) {
        snprintf(err, err_size, "scheduler: cannot start its thread");
        kws_sched_free(s);
        return -1;
    }
    s->thread_started = 1;
    *out = s;
    return 0;
}

enum kws_submit kws_sched_submit(struct kws_sched *s, struct kws_job *j) {
    enum kws_submit r = KWS_SUBMIT_OK;
    if (!s || !j)
        return KWS_SUBMIT_STOPPING;
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        r = KWS_SUBMIT_STOPPING;
    } else if (s->q_n >= s->queue_limit + (s->n_slots - s->busy) ||
               s->q_n >= s->q_cap) {
        r = KWS_SUBMIT_QUEUE_FULL;
    } else {
        kws_job_retain(j);
        j->t_submit = kws_now();
        s->queue[(s->q_head + s->q_n) % s->q_cap] = j;
        s->q_n++;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

void kws_sched_stats(struct kws_sched *s, struct kws_sched_stats *out) {
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    out->slots = s->n_slots;
    out->busy_slots = s->busy;
    out->queued = s->q_n;
    out->queue_cap = s->queue_limit;
    out->kv_used = s->kv_used;
    out->kv_total = (uint64_t)s->n_slots * s->ctx;
    pthread_mutex_unlock(&s->mu);
}

void kws_sched_stop(struct kws_sched *s, int cancel_inflight) {
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    if (cancel_inflight)
        s->cancel_all = 1;
    pthread_cond_broadcast(&s->cv);
    if (!s->thread_started || s->joined) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (s->joining) { /* a second caller (e.g. to cancel) waits for the first */
        while (!s->joined)
            pthread_cond_wait(&s->done_cv, &s->mu);
        pthread_mutex_unlock(&s->mu);
        return;
    }
    s->joining = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_mutex_lock(&s->mu);
    s->joined = 1;
    pthread_cond_broadcast(&s->done_cv);
    pthread_mutex_unlock(&s->mu);
}

void kws_sched_free(struct kws_sched *s) {
    if (!s)
        return;
    kws_sched_stop(s, 1);
    free_all(s);
}
