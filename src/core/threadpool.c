/*
 * threadpool.c — see threadpool.h. Barrier: a sense-reversing counter in
 * C11 atomics; waiters spin with a pause hint and yield after a while so an
 * oversubscribed machine still makes progress. Runs are published through
 * an atomic generation: an idle worker spins on it for a while (graph
 * executors start runs microseconds apart, and a futex wake-up costs tens
 * of microseconds) before it sleeps on the condition variable, and the
 * caller waits for the run's end by spinning on an atomic count.
 */
#include "core/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

/* Spin budgets (pause hints, ~10-40 ns each) adapt to the machine: a
 * wait that ends while spinning doubles the budget, as does a sleep that
 * a run ends within a millisecond; a longer sleep halves it. On idle
 * cores runs start and end in well under a microsecond; when other
 * processes hold the cores, the spinning thread would only steal time
 * from the one it waits for, and the budget shrinks towards plain
 * sleeping. */
#define SPIN_MIN 32u
#define SPIN_MAX 32768u
#define SPIN_START 2048u

static unsigned spin_adapt(unsigned cur, int hit) {
    if (hit) return cur < SPIN_MAX ? cur * 2 : SPIN_MAX;
    return cur > SPIN_MIN ? cur / 2 : SPIN_MIN;
}

struct kw__pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv_start;
    pthread_cond_t cv_done;
    int sleepers;        /* workers waiting on cv_start, under mu */
    unsigned spin_limit; /* pause-spins before yielding at a barrier */
    int may_spin;        /* no more threads than cores */
    unsigned wait_spin;  /* the caller's budget for a run's end */
    kw__pool_fn fn;      /* written before generation is bumped */
    void *ctx;
    _Alignas(64) atomic_ulong generation; /* bumped by 2 per run; bit 0:
                                             a shared run */
    /* a shared run: generation << 17 | CLOSED | threads inside */
    _Alignas(64) atomic_ulong shared;
    atomic_int stop;
    atomic_int hold; /* kw__pool_hold: idle workers spin their longest */
    _Alignas(64) atomic_int running; /* workers still in the current run */
    atomic_int caller_sleeps;        /* the caller waits on cv_done */
    _Alignas(64) atomic_int bar_count;
    _Alignas(64) atomic_int bar_phase;
};

struct worker_arg {
    struct kw__pool *p;
    int ith;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

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

/* The generation after seen (or any when the pool stops); *budget is
 * the worker's spin budget. */
static unsigned long wait_run(struct kw__pool *p, unsigned long seen,
                              unsigned *budget) {
    unsigned spins = 0;
    for (;;) {
        unsigned long g =
            atomic_load_explicit(&p->generation, memory_order_acquire);
        if (g != seen || atomic_load_explicit(&p->stop, memory_order_acquire)) {
            if (spins) *budget = spin_adapt(*budget, 1);
            return g;
        }
        /* held: the full budget whatever the adaptation says (a long
         * serial stretch still ends in sleep) */
        const unsigned lim =
            p->may_spin && atomic_load_explicit(&p->hold, memory_order_relaxed)
                ? SPIN_MAX
                : *budget;
        if (++spins < lim) {
            cpu_relax();
            continue;
        }
        /* the caller bumps generation before it looks at sleepers under
         * mu, so a wake-up cannot be lost between the check and the wait */
        const double t0 = now_s();
        pthread_mutex_lock(&p->mu);
        p->sleepers++;
        while (atomic_load_explicit(&p->generation, memory_order_acquire) ==
                   seen &&
               !atomic_load_explicit(&p->stop, memory_order_acquire))
            pthread_cond_wait(&p->cv_start, &p->mu);
        p->sleepers--;
        pthread_mutex_unlock(&p->mu);
        /* the next run came within a millisecond: spinning that long
         * would have caught it (the runs of a caller that works in short
         * bursts); after a longer idle time, sleeping was right */
        *budget = spin_adapt(*budget, now_s() - t0 < 1e-3);
        spins = 0;
    }
}

#define SH_COUNT 0xffffu
#define SH_CLOSED 0x10000u
#define SH_GEN(g) ((unsigned long)(g) << 17)

/* Joins shared run gen unless the caller has closed it (or moved on):
 * the caller never waits for a thread that was late to start. */
static void shared_enter(struct kw__pool *p, unsigned long gen, int ith) {
    unsigned long s = atomic_load(&p->shared);
    do {
        if ((s & ~(unsigned long)(SH_CLOSED | SH_COUNT)) != SH_GEN(gen) ||
            (s & SH_CLOSED))
            return;
    } while (!atomic_compare_exchange_weak(&p->shared, &s, s + 1));
    /* inside: the caller waits for us, so fn / ctx stay this run's */
    p->fn(p->ctx, ith, p->n);
    /* seq_cst against the caller's caller_sleeps store / count load */
    s = atomic_fetch_sub(&p->shared, 1) - 1;
    if (!(s & SH_COUNT) && atomic_load(&p->caller_sleeps)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_signal(&p->cv_done);
        pthread_mutex_unlock(&p->mu);
    }
}

static void *worker_main(void *arg_) {
    struct worker_arg *arg = arg_;
    struct kw__pool *p = arg->p;
    int ith = arg->ith;
    free(arg);
    unsigned long seen = 0;
    unsigned budget = p->may_spin ? SPIN_START : 0;
    for (;;) {
        seen = wait_run(p, seen, &budget);
        if (atomic_load_explicit(&p->stop, memory_order_acquire)) return NULL;
        if (seen & 1) {
            shared_enter(p, seen, ith);
            continue;
        }
        p->fn(p->ctx, ith, p->n);
        /* seq_cst against the caller's caller_sleeps store / running load:
         * one of the two sides sees the other */
        if (atomic_fetch_sub(&p->running, 1) == 1 &&
            atomic_load(&p->caller_sleeps)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
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
    p->may_spin = n_threads <= kw__cpu_count();
    p->wait_spin = p->may_spin ? SPIN_START : 0;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_start, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    atomic_init(&p->caller_sleeps, 0);
    atomic_init(&p->generation, 0);
    atomic_init(&p->shared, SH_CLOSED);
    atomic_init(&p->stop, 0);
    atomic_init(&p->running, 0);
    atomic_init(&p->hold, 0);
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
        atomic_store_explicit(&p->stop, 1, memory_order_release);
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

void kw__pool_hold(struct kw__pool *p, int on) {
    atomic_store_explicit(&p->hold, on, memory_order_relaxed);
}

/* The next run's generation (odd: shared), published to the workers;
 * sleeping ones are woken. fn / ctx are written before. */
static void publish(struct kw__pool *p, int shared) {
    const unsigned long g =
        (atomic_load_explicit(&p->generation, memory_order_relaxed) | 1) + 1 +
        (unsigned long)shared;
    if (shared) atomic_store(&p->shared, SH_GEN(g));
    atomic_store_explicit(&p->generation, g, memory_order_release);
    pthread_mutex_lock(&p->mu);
    if (p->sleepers) pthread_cond_broadcast(&p->cv_start);
    pthread_mutex_unlock(&p->mu);
}

/* Workers still inside the current run (shared: those that entered). */
static int busy(struct kw__pool *p, int shared) {
    return shared ? (atomic_load(&p->shared) & SH_COUNT) != 0
                  : atomic_load(&p->running) > 0;
}

/* The caller's wait for the run's end: spinning its adaptive budget,
 * then asleep on cv_done (a worker was preempted or has a long share:
 * sleep rather than take the CPU it needs). The seq_cst loads pair with
 * the workers' decrement then caller_sleeps load: one side sees the
 * other. */
static void caller_wait(struct kw__pool *p, int shared) {
    for (unsigned spins = 0; spins < p->wait_spin; spins++) {
        if (!busy(p, shared)) {
            p->wait_spin = spin_adapt(p->wait_spin, 1);
            return;
        }
        cpu_relax();
    }
    if (p->may_spin) p->wait_spin = spin_adapt(p->wait_spin, 0);
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->caller_sleeps, 1);
    while (busy(p, shared)) pthread_cond_wait(&p->cv_done, &p->mu);
    atomic_store(&p->caller_sleeps, 0);
    pthread_mutex_unlock(&p->mu);
}

void kw__pool_run_shared(struct kw__pool *p, kw__pool_fn fn, void *ctx) {
    if (p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    publish(p, 1);
    fn(ctx, 0, p->n);
    /* closed: a worker not inside yet stays out; wait for those inside */
    if (atomic_fetch_or(&p->shared, SH_CLOSED) & SH_COUNT) caller_wait(p, 1);
}

void kw__pool_run(struct kw__pool *p, kw__pool_fn fn, void *ctx) {
    if (p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    /* every worker has finished the previous run (running was 0), so
     * nobody reads fn / ctx now */
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->running, p->n - 1, memory_order_relaxed);
    publish(p, 0);

    fn(ctx, 0, p->n);
    caller_wait(p, 0);
}

int kw__cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? (int)KW_MIN(n, 1024) : 1;
}
