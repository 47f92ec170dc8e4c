/*
 * sched_par.c — a few helper threads that run sched_slot_sample for the
 * slots of one step in parallel while the runner's threads sit idle
 * between forward passes. Work is handed out per slot through an atomic
 * counter; each step is one generation of a mutex+condvar handshake.
 * Entry points: sched_par_new, sched_par_sample, sched_par_free.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "sched_slot.h"

struct sched_par {
    struct kws_sched *s;
    pthread_t *th;
    int n_th;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    uint64_t gen;       /* bumped for each batch of work */
    int active;         /* helpers still working on this generation */
    int quit;
    struct sched_slot **work;
    int n_work;
    atomic_int next;
};

static void drain(struct sched_par *p) {
    for (;;) {
        int i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n_work)
            return;
        sched_slot_sample(p->s, p->work[i]);
    }
}

static void *helper_main(void *arg) {
    struct sched_par *p = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->gen == seen && !p->quit)
            pthread_cond_wait(&p->go, &p->mu);
        if (p->quit)
            break;
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        drain(p);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct sched_par *sched_par_new(struct kws_sched *s, int n_threads) {
    struct sched_par *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->s = s;
    p->th = calloc((size_t)n_threads, sizeof *p->th);
    if (!p->th) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->next, 0);
    for (int i = 0; i < n_threads; i++) {
        if (pthread_create(&p->th[i], NULL, helper_main, p) != 0)
            break;
        p->n_th++;
    }
    if (p->n_th == 0) {
        sched_par_free(p);
        return NULL;
    }
    return p;
}

void sched_par_sample(struct sched_par *p, struct sched_slot **slots, int n) {
    pthread_mutex_lock(&p->mu);
    p->work = slots;
    p->n_work = n;
    atomic_store(&p->next, 0);
    p->active = p->n_th;
    p->gen++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    drain(p);
    pthread_mutex_lock(&p->mu);
    while (p->active > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void sched_par_free(struct sched_par *p) {
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_th; i++)
        pthread_join(p->th[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->go);
    pthread_mutex_destroy(&p->mu);
    free(p->th);
    free(p);
}
