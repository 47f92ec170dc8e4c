/*
 * job.h — the scheduler's view of a job (job.c): the request parameters,
 * the event queue it fills, and the cancelled flag the HTTP side sets.
 * Private to the server's generation side (sched*.c, job.c).
 */
#ifndef KW_SERVER_JOB_H
#define KW_SERVER_JOB_H

#include <pthread.h>

#include "serve.h"

struct kws_job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    int cancelled;
    int final_ready;     /* final holds DONE or ERROR, not yet taken */
    int final_taken;
    struct kws_event final;
    struct kws_event *q; /* ring of pending events */
    size_t head, n, cap;
    struct kws_gen_params p; /* owned: prompt and stop strings */
    double t_submit;         /* monotonic seconds, set by the scheduler */
};

void kws_job_retain(struct kws_job *j);
int kws_job_is_cancelled(struct kws_job *j);
/* Queues a TEXT event (takes ownership of its buffers; they are freed when
 * the job is cancelled or finished). 0, or -1 when out of memory. */
int kws_job_push(struct kws_job *j, struct kws_event *ev);
/* Sets the last event (DONE or ERROR); needs no memory, so a job always
 * ends. Ignored after the first call. */
void kws_job_finish(struct kws_job *j, struct kws_event *ev);
/* Ends the job with KWS_EV_ERROR: status and a copy of msg. */
void kws_job_fail(struct kws_job *j, int status, const char *msg);

double kws_now(void); /* monotonic seconds */

#endif
