/*
 * test_onnx_claim.c — kw__claim (the work claiming of the ONNX kernels'
 * shared pool runs): a thread starts on its own contiguous share and
 * then takes the others' chunks, every item is claimed exactly once
 * whatever the chunk, the item count (including fewer items than
 * threads) and the thread count, and a shared run with late or absent
 * workers still does every item once.
 */
#include <stdatomic.h>
#include <unistd.h>

#include "core/threadpool.h"
#include "onnx/onnx_internal.h"
#include "testutil.h"

enum { NMAX = 5000 };

struct run_job {
    struct kw__claim c;
    int late;
    atomic_int hits[NMAX];
};

static void worker(void *ctx, int ith, int nth) {
    struct run_job *j = ctx;
    (void)nth;
    if (ith == j->late) usleep(300);
    int64_t i0, i1;
    while (kw__claim_next(&j->c, ith, &i0, &i1))
        for (int64_t i = i0; i < i1; i++) atomic_fetch_add(&j->hits[i], 1);
}

int main(void) {
    /* one thread alone: its own share first, then the rest, all once */
    static const int64_t ns[] = {0, 1, 2, 3, 17, 1000, NMAX};
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (int nth = 1; nth <= KW_CLAIM_SEGS + 3; nth += 2)
            for (int64_t chunk = 1; chunk <= 9; chunk += 4)
                for (int ith = 0; ith < nth; ith += 3) {
                    static int seen[NMAX];
                    const int64_t n = ns[a];
                    memset(seen, 0, sizeof seen);
                    struct kw__claim c;
                    kw__claim_init(&c, n, chunk, nth);
                    int64_t i0, i1, first = -1, bad = 0;
                    while (kw__claim_next(&c, ith, &i0, &i1)) {
                        if (first < 0) first = i0;
                        if (i0 >= i1 || i1 - i0 > chunk || i0 < 0 || i1 > n) {
                            bad++;
                            break;
                        }
                        for (int64_t i = i0; i < i1; i++) seen[i]++;
                    }
                    for (int64_t i = 0; i < n; i++) bad += seen[i] != 1;
                    const int segs = nth < KW_CLAIM_SEGS ? nth : KW_CLAIM_SEGS;
                    const int s = ith % segs;
                    /* the first chunk is the start of its own share,
                     * unless that share is empty */
                    const int64_t own = n * s / segs, end = n * (s + 1) / segs;
                    CHECKF(bad == 0 && (own == end || first == own),
                           "n %lld nth %d chunk %lld ith %d: bad %lld first %lld",
                           (long long)n, nth, (long long)chunk, ith,
                           (long long)bad, (long long)first);
                }
    /* real threads, one of them late in every third run */
    for (int n = 1; n <= 4; n++) {
        struct kw__pool *p = NULL;
        CHECK(kw__pool_new(n, &p) == KW_STATUS_OK);
        for (int run = 0; run < 30; run++) {
            static struct run_job j;
            memset(&j, 0, sizeof j);
            j.late = run % 3 == 0 ? run % n : -1;
            kw__claim_init(&j.c, 1000 + run, 1 + run % 5, n);
            kw__pool_run_shared(p, worker, &j);
            int bad = 0;
            for (int i = 0; i < 1000 + run; i++) bad += atomic_load(&j.hits[i]) != 1;
            CHECKF(bad == 0, "threads %d run %d: %d items not done once", n, run,
                   bad);
        }
        kw__pool_free(p);
    }
    return kw_test_finish("test_onnx_claim");
}
