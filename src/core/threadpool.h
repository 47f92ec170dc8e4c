/*
 * threadpool.h — a persistent pool for SPMD work: kw__pool_run makes every
 * thread (the caller is thread 0) run fn(ctx, ith, nth) and returns when all
 * are done. Inside fn, kw__pool_barrier synchronises the threads by spinning
 * (work phases are microseconds apart). Between runs an idle worker spins
 * for a short adaptive time (up to about 1 ms; less while waits keep
 * ending in sleep, none when there are more threads than cores) and then
 * sleeps on a condition variable, so an idle pool soon costs no CPU.
 */
#ifndef KW_CORE_THREADPOOL_H
#define KW_CORE_THREADPOOL_H

#include "core/internal.h"

struct kw__pool;
typedef void (*kw__pool_fn)(void *ctx, int ith, int nth);

/* n_threads >= 1 (1 = no worker threads). */
KW_HIDDEN enum kw_status kw__pool_new(int n_threads, struct kw__pool **out);
KW_HIDDEN void kw__pool_free(struct kw__pool *p);
KW_HIDDEN int kw__pool_size(const struct kw__pool *p);
KW_HIDDEN void kw__pool_run(struct kw__pool *p, kw__pool_fn fn, void *ctx);
/* A run whose fn claims its work from shared state (an atomic counter),
 * so that any thread may do any part, and a thread that never calls fn
 * leaves nothing undone: workers late to start (busy cores) are left out
 * instead of waited for. Returns when the caller's fn has returned and
 * every worker that entered has finished; fn must not use the barrier. */
KW_HIDDEN void kw__pool_run_shared(struct kw__pool *p, kw__pool_fn fn,
                                   void *ctx);
/* on: a burst of runs is under way (a graph's operators, microseconds
 * apart), so idle workers spin their longest (about a millisecond)
 * whatever the adaptation says, rather than sleep between runs and cost
 * a wake-up each (no effect with more threads than cores); off: back to
 * the adaptive spin. */
KW_HIDDEN void kw__pool_hold(struct kw__pool *p, int on);
/* Every thread of the current run must call it the same number of times. */
KW_HIDDEN void kw__pool_barrier(struct kw__pool *p);

/* Number of online CPUs (>= 1). */
KW_HIDDEN int kw__cpu_count(void);

#endif
