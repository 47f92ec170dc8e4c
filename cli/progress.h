/*
 * progress.h — transfer progress on stderr for push, pull and mirror. On a
 * terminal: one line redrawn with '\r' (blob, MiB done/total, percent,
 * rate, ETA) over all blobs together; otherwise a plain line per blob at
 * most every 2 s, and one when each blob finishes. progress_cb is a
 * kw_progress_fn and may be called from several library threads at once.
 */
#ifndef KW_CLI_PROGRESS_H
#define KW_CLI_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "kaiwu/kaiwu.h"

struct progress;

/* verb: "pull", "push", "mirror" (prefixes the plain lines). tty: -1 to ask
 * isatty(stderr), else 0/1. NULL when out of memory (the transfer then runs
 * without progress). */
struct progress *progress_new(const char *verb, int tty);
/* The kw_progress_fn; user is the struct progress. */
void progress_cb(const struct kw_transfer_progress *p, void *user);
/* Ends the terminal line (so messages that follow start on their own
 * line) and frees pg; NULL is a no-op. */
void progress_end(struct progress *pg);

/* "512 B", "3.0 KiB", "97.6 MiB", "1.2 GiB" */
void fmt_bytes(char *buf, size_t n, uint64_t bytes);

#endif /* KW_CLI_PROGRESS_H */
