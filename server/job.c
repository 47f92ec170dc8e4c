/*
 * job.c — a refcounted generation request shared by the scheduler thread
 * (producer of events) and one HTTP connection (consumer): a mutex+condvar
 * event queue whose last event (DONE/ERROR) needs no allocation, and a
 * cancelled flag. Entry points: kws_job_new/release/cancel/next (serve.h),
 * kws_job_push/finish/fail (job.h), kws_event_clear. kws_job_next:
 * timeout_ms < 0 waits without limit, 0 polls, and once the last event was
 * taken it returns 0 at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job.h"

double kws_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void kws_event_clear(struct kws_event *ev) {
    if (!ev)
        return;
    free(ev->text);
    free(ev->chosen);
    free(ev->top);
    memset(ev, 0, sizeof *ev);
}

static void free_params(struct kws_gen_params *p) {
    free(p->prompt);
    if (p->stop) {
        for (int i = 0; i < p->n_stop; i++)
            free(p->stop[i]);
        free(p->stop);
    }
    p->prompt = NULL;
    p->stop = NULL;
    p->n_stop = 0;
}

struct kws_job *kws_job_new(struct kws_gen_params *p) {
    if (!p)
        return NULL;
    struct kws_job *j = calloc(1, sizeof *j);
    pthread_condattr_t ca;
    int ok = j != NULL;
    if (ok && pthread_condattr_init(&ca) == 0) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        ok = pthread_cond_init(&j->cv, &ca) == 0;
        pthread_condattr_destroy(&ca);
        if (ok && pthread_mutex_init(&j->mu, NULL) != 0) {
            pthread_cond_destroy(&j->cv);
            ok = 0;
        }
    } else {
        ok = 0;
    }
    if (!ok) {
        free(j);
        free_params(p);
        return NULL;
    }
    j->refs = 1;
    j->p = *p;
    if (j->p.n_stop < 0 || !j->p.stop)
        j->p.n_stop = 0;
    p->prompt = NULL; /* the job owns them now */
    p->stop = NULL;
    p->n_stop = 0;
    return j;
}

void kws_job_retain(struct kws_job *j) {
    pthread_mutex_lock(&j->mu);
    j->refs++;
    pthread_mutex_unlock(&j->mu);
}

void kws_job_release(struct kws_job *j) {
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mu);
    if (left > 0)
        return;
    for (size_t i = 0; i < j->n; i++)
        kws_event_clear(&j->q[(j->head + i) % j->cap]);
    free(j->q);
    if (j->final_ready)
        kws_event_clear(&j->final);
    free_params(&j->p);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

void kws_job_cancel(struct kws_job *j) {
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    j->cancelled = 1;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

int kws_job_is_cancelled(struct kws_job *j) {
    pthread_mutex_lock(&j->mu);
    int c = j->cancelled;
    pthread_mutex_unlock(&j->mu);
    return c;
}

int kws_job_push(struct kws_job *j, struct kws_event *ev) {
    int rc = 0;
    pthread_mutex_lock(&j->mu);
    if (j->cancelled || j->final_ready || j->final_taken) {
        kws_event_clear(ev);
        goto out;
    }
    if (j->n == j->cap) {
        size_t ncap = j->cap ? j->cap * 2 : 16;
        struct kws_event *nq = malloc(ncap * sizeof *nq);
        if (!nq) {
            kws_event_clear(ev);
            rc = -1;
            goto out;
        }
        for (size_t i = 0; i < j->n; i++)
            nq[i] = j->q[(j->head + i) % j->cap];
        free(j->q);
        j->q = nq;
        j->cap = ncap;
        j->head = 0;
    }
    j->q[(j->head + j->n) % j->cap] = *ev;
    j->n++;
    memset(ev, 0, sizeof *ev);
    pthread_cond_broadcast(&j->cv);
out:
    pthread_mutex_unlock(&j->mu);
    return rc;
}

void kws_job_finish(struct kws_job *j, struct kws_event *ev) {
    pthread_mutex_lock(&j->mu);
    if (j->final_ready || j->final_taken) {
        kws_event_clear(ev);
    } else {
        j->final = *ev;
        j->final_ready = 1;
        memset(ev, 0, sizeof *ev);
        pthread_cond_broadcast(&j->cv);
    }
    pthread_mutex_unlock(&j->mu);
}

void kws_job_fail(struct kws_job *j, int status, const char *msg) {
    struct kws_event ev = {.kind = KWS_EV_ERROR, .status = status};
    size_t n = strlen(msg);
    ev.text = malloc(n + 1);
    if (ev.text) { /* without memory the error still ends the job */
        memcpy(ev.text, msg, n + 1);
        ev.len = n;
    }
    kws_job_finish(j, &ev);
}

int kws_job_next(struct kws_job *j, struct kws_event *ev, int timeout_ms) {
    memset(ev, 0, sizeof *ev);
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    if (timeout_ms > 0) {
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
    }
    int got = 0;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        if (j->n > 0) {
            *ev = j->q[j->head];
            j->head = (j->head + 1) % j->cap;
            j->n--;
            got = 1;
            break;
        }
        if (j->final_ready) {
            *ev = j->final;
            memset(&j->final, 0, sizeof j->final);
            j->final_ready = 0;
            j->final_taken = 1;
            got = 1;
            break;
        }
        if (j->final_taken || timeout_ms == 0)
            break;
        int rc = timeout_ms < 0 ? pthread_cond_wait(&j->cv, &j->mu)
                                : pthread_cond_timedwait(&j->cv, &j->mu, &dl);
        if (rc == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&j->mu);
    return got;
}
