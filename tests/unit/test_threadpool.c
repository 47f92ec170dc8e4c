/*
 * test_threadpool.c — every thread runs each job once with its own index,
 * barriers order phases (no thread sees a phase's writes missing), and the
 * pool survives many back-to-back runs and idle periods; a shared run
 * does every item once, with workers that start late or not at all, and
 * regular runs after it still get every thread, held or not.
 */
#include <stdatomic.h>
#include <unistd.h>

#include "core/threadpool.h"
#include "testutil.h"

struct job {
    struct kw__pool *p;
    int n;
    atomic_int calls;
    int slots[64];
    int errors;
};

static void phases(void *ctx, int ith, int nth) {
    struct job *j = ctx;
    atomic_fetch_add(&j->calls, 1);
    for (int phase = 1; phase <= 20; phase++) {
        j->slots[ith] = phase;
        kw__pool_barrier(j->p);
        for (int t = 0; t < nth; t++)
            if (j->slots[t] != phase) j->errors++;
        kw__pool_barrier(j->p);
    }
}

struct shared_job {
    atomic_int next;
    int run;
    atomic_int hits[300];
};

static void claim(void *ctx, int ith, int nth) {
    struct shared_job *j = ctx;
    (void)nth;
    if (ith == 1 && j->run % 3 == 0) usleep(300); /* a late worker */
    for (int i; (i = atomic_fetch_add(&j->next, 1)) < 300;)
        atomic_fetch_add(&j->hits[i], 1);
}

static void shared_runs(int n) {
    struct kw__pool *p = NULL;
    CHECK(kw__pool_new(n, &p) == KW_STATUS_OK);
    struct job pj = {.p = p};
    for (int run = 0; run < 60; run++) {
        kw__pool_hold(p, run / 10 % 2); /* held stretches too */
        struct shared_job j = {.run = run};
        kw__pool_run_shared(p, claim, &j);
        int bad = 0;
        for (int i = 0; i < 300; i++) bad += atomic_load(&j.hits[i]) != 1;
        CHECKF(bad == 0, "n=%d run %d: %d items not done once", n, run, bad);
        if (run % 7 == 0) usleep(2000); /* asleep before the next */
        if (run % 5 == 0) kw__pool_run(p, phases, &pj);
    }
    kw__pool_hold(p, 0);
    CHECKF(atomic_load(&pj.calls) == 12 * n, "n=%d regular calls=%d", n,
           atomic_load(&pj.calls));
    CHECKF(pj.errors == 0, "n=%d barrier errors=%d", n, pj.errors);
    kw__pool_free(p);
}

int main(void) {
    for (int n = 1; n <= 4; n++) shared_runs(n);
    for (int n = 1; n <= 5; n++) {
        struct job j = {0};
        CHECK(kw__pool_new(n, &j.p) == KW_STATUS_OK);
        CHECK(kw__pool_size(j.p) == n);
        for (int run = 0; run < 50; run++) kw__pool_run(j.p, phases, &j);
        usleep(2000); /* workers asleep; the next run must wake them */
        kw__pool_run(j.p, phases, &j);
        CHECKF(atomic_load(&j.calls) == 51 * n, "n=%d calls=%d", n,
               atomic_load(&j.calls));
        CHECKF(j.errors == 0, "n=%d barrier errors=%d", n, j.errors);
        kw__pool_free(j.p);
    }
    struct kw__pool *p = NULL;
    CHECK(kw__pool_new(0, &p) == KW_STATUS_ERR_INVALID_ARG && p == NULL);
    kw__pool_free(NULL);
    CHECK(kw__cpu_count() >= 1);
    return kw_test_finish("test_threadpool");
}
