/*
 * threadpool.c — see threadpool.h. Barrier: a sense-reversing counter in
 * C11 atomics; waiters spin with a pause hint and yield after a while so an
 * oversubscribed machine still makes progress.
 */
#include "core/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

struct kw__pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv_start;
    pthread_cond_t cv_done;
    uint64_t generation; /* bumped per run, under mu */
    int running;         /* workers still in the current run, under mu */
    int stop;
    unsigned spin_limit; /* pause-spins before yielding at a barrier */
    kw__pool_fn fn;
    void *ctx;
    _Alignas(64) atomic_int bar_count;
    _Alignas(64) atomic_int bar_phase;
};

struct worker_arg {
    struct kw__pool *p;
    int ith;
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

void kw__pool_barrier(struct kw__pool *p) {
    if (p->n == 1) return;
    int phase = atomic_load_explicit(&p->bar_phase, memory_order_relaxed);
    if (atomic_fetch_add_explicit(&p->bar_count, 1, memory_order_acq_rel) ==
        p->n - 1) {
        atomic_store_explicit(&p->bar_count, 0, memory_order_relaxed);
        atomic_store_explicit(&p->bar_phase, phase + 1, memory_order_release);
        return;
    }
    unsigned spins = 0;
    while (atomic_load_explicit(&p->bar_phase, memory_order_acquire) == phase) {
        if (++spins < p->spin_limit) cpu_relax();
        else sched_yield();
    }
}

static void *worker_main(void *arg_) {
    struct worker_arg *arg = arg_;
    struct kw__pool *p = arg->p;
    int ith = arg->ith;
    free(arg);
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->generation == seen && !p->stop)
            pthread_cond_wait(&p->cv_start, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = p->generation;
        kw__pool_fn fn = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->mu);

        fn(ctx, ith, p->n);

        pthread_mutex_lock(&p->mu);
        if (--p->running == 0) pthread_cond_signal(&p->cv_done);
        pthread_mutex_unlock(&p->mu);
    }
}

enum kw_status kw__pool_new(int n_threads, struct kw__pool **out) {
    *out = NULL;
    if (n_threads < 1 || n_threads > 1024) return KW_STATUS_ERR_INVALID_ARG;
    struct kw__pool *p = calloc(1, sizeof *p);
    if (!p) return KW_STATUS_ERR_NOMEM;
    p->n = n_threads;
    /* with more threads than cores a spinning waiter only delays the thread
     * it waits for, so yield at once */
    p->spin_limit = n_threads <= kw__cpu_count() ? 4000 : 0;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_start, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    atomic_init(&p->bar_count, 0);
    atomic_init(&p->bar_phase, 0);
    if (n_threads > 1) {
        p->threads = calloc((size_t)n_threads, sizeof *p->threads);
        if (!p->threads) {
            kw__pool_free(p);
            return KW_STATUS_ERR_NOMEM;
        }
        for (int i = 1; i < n_threads; i++) {
            struct worker_arg *a = malloc(sizeof *a);
            if (!a || (a->p = p, a->ith = i,
                       pthread_create(&p->threads[i], NULL, worker_main, a))) {
                free(a);
                p->n = i; /* only threads 1..i-1 exist */
                kw__pool_free(p);
                return KW_STATUS_ERR_NOMEM;
            }
        }
    }
    *out = p;
    return KW_STATUS_OK;
}

void kw__pool_free(struct kw__pool *p) {
    if (!p) return;
    if (p->threads) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->cv_start);
        pthread_mutex_unlock(&p->mu);
        for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
        free(p->threads);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv_start);
    pthread_cond_destroy(&p->cv_done);
    free(p);
}

int kw__pool_size(const struct kw__pool *p) { return p->n; }

void kw__pool_run(struct kw__pool *p, kw__pool_fn fn, void *ctx) {
    if (p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->running = p->n - 1;
    p->generation++;
    pthread_cond_broadcast(&p->cv_start);
    pthread_mutex_unlock(&p->mu);

    fn(ctx, 0, p->n);

    pthread_mutex_lock(&p->mu);
    while (p->running > 0) pthread_cond_wait(&p->cv_done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

int kw__cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? (int)KW_MIN(n, 1024) : 1;
}
