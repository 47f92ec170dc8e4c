/*
 * progress.c — the progress display of push, pull and mirror (see
 * progress.h). Every blob the library reports is tracked by digest under one
 * mutex, because ranged downloads report from worker threads. Rates are
 * measured from each blob's first report on, so bytes a pull resumed (or a
 * blob already present) never count as speed; byte totals of what moved
 * come from the library's report, not from here.
 */
#include "progress.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "args.h"

#define MIB (1024.0 * 1024.0)
#define PROGRESS_MAX_BLOBS 4096
#define DRAW_EVERY_MS 100.0    /* terminal redraws */
#define PLAIN_EVERY_MS 2000.0  /* plain lines, per blob */
#define RATE_SAMPLES 20        /* one per >= 250 ms: a 5 s window */
#define RATE_SAMPLE_MS 250.0

struct blob {
    char digest[72];
    char title[128];
    uint64_t done, total;
    uint64_t base;      /* done at the first report: rates count from it */
    double first_ms, last_line_ms;
    int finished;
};

struct progress {
    pthread_mutex_t mu;
    int tty;
    char verb[16];
    struct blob *blobs;
    size_t n, cap;
    double start_ms, last_draw_ms;
    int drawn;
    /* (time, bytes moved) ring for the terminal's recent rate */
    double win_t[RATE_SAMPLES];
    uint64_t win_b[RATE_SAMPLES];
    int win_n, win_next;
};

void fmt_bytes(char *buf, size_t n, uint64_t bytes) {
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        snprintf(buf, n, "%u B", (unsigned)bytes);
        return;
    }
    double v = (double)bytes / 1024.0;
    int u = 0;
    while (v >= 1024.0 && u < 3) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, n, "%.1f %s", v, units[u]);
}

static void fmt_eta(char *buf, size_t n, double secs) {
    if (!(secs >= 0) || secs > 99 * 3600.0) {
        snprintf(buf, n, "--:--");
        return;
    }
    unsigned s = (unsigned)(secs + 0.5);
    if (s >= 3600)
        snprintf(buf, n, "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, n, "%u:%02u", s / 60, s % 60);
}

struct progress *progress_new(const char *verb, int tty) {
    struct progress *pg = calloc(1, sizeof *pg);
    if (!pg)
        return NULL;
    if (pthread_mutex_init(&pg->mu, NULL)) {
        free(pg);
        return NULL;
    }
    pg->tty = tty < 0 ? isatty(STDERR_FILENO) : tty;
    snprintf(pg->verb, sizeof pg->verb, "%s", verb);
    pg->start_ms = cli_now_ms();
    return pg;
}

static struct blob *find_blob(struct progress *pg,
                              const struct kw_transfer_progress *p,
                              double now) {
    const char *d = p->digest ? p->digest : "";
    for (size_t i = 0; i < pg->n; i++)
        if (!strcmp(pg->blobs[i].digest, d))
            return &pg->blobs[i];
    if (pg->n == pg->cap) {
        if (pg->cap >= PROGRESS_MAX_BLOBS)
            return NULL;
        size_t cap = pg->cap ? pg->cap * 2 : 8;
        struct blob *b = realloc(pg->blobs, cap * sizeof *b);
        if (!b)
            return NULL;
        pg->blobs = b;
        pg->cap = cap;
    }
    struct blob *b = &pg->blobs[pg->n++];
    memset(b, 0, sizeof *b);
    snprintf(b->digest, sizeof b->digest, "%s", d);
    if (p->title && p->title[0])
        snprintf(b->title, sizeof b->title, "%s", p->title);
    else /* "sha256:" + 12 hex, like `kaiwu models` */
        snprintf(b->title, sizeof b->title, "%.19s", d);
    b->base = p->done;
    b->first_ms = b->last_line_ms = now;
    return b;
}

static uint64_t moved_of(const struct blob *b) {
    return b->done > b->base ? b->done - b->base : 0;
}

/* bytes/s over the last few seconds; -1 while there is too little to
 * tell (the first half second) */
static double recent_rate(struct progress *pg, uint64_t moved, double now) {
    int last = (pg->win_next + RATE_SAMPLES - 1) % RATE_SAMPLES;
    if (pg->win_n == 0 || now - pg->win_t[last] >= RATE_SAMPLE_MS) {
        pg->win_t[pg->win_next] = now;
        pg->win_b[pg->win_next] = moved;
        pg->win_next = (pg->win_next + 1) % RATE_SAMPLES;
        if (pg->win_n < RATE_SAMPLES)
            pg->win_n++;
    }
    int oldest = pg->win_n < RATE_SAMPLES ? 0 : pg->win_next;
    double dt = now - pg->win_t[oldest];
    if (dt < 500.0 || moved < pg->win_b[oldest])
        return -1;
    return (double)(moved - pg->win_b[oldest]) * 1e3 / dt;
}

static int term_width(void) {
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

/* The terminal line: all blobs together, named after the largest one still
 * moving (the model file; naming the last to report would flicker between
 * blobs that move in parallel). */
static void draw(struct progress *pg, double now, int final) {
    uint64_t done = 0, total = 0, moved = 0;
    size_t open = 0;
    const struct blob *cur = NULL;
    for (size_t i = 0; i < pg->n; i++) {
        const struct blob *b = &pg->blobs[i];
        done += b->done;
        total += b->total;
        moved += moved_of(b);
        open += !b->finished;
        if (!cur || (cur->finished && !b->finished) ||
            (cur->finished == b->finished && b->total > cur->total))
            cur = b;
    }
    if (!cur)
        return;
    double rate = recent_rate(pg, moved, now);
    if (rate < 0 && final && now > pg->start_ms) /* quick: the average */
        rate = (double)moved * 1e3 / (now - pg->start_ms);
    char stats[160], speed[32], eta[24];
    if (rate >= 0)
        snprintf(speed, sizeof speed, "%.1f MiB/s", rate / MIB);
    else
        snprintf(speed, sizeof speed, "-- MiB/s");
    if (open == 0) {
        snprintf(eta, sizeof eta, "done");
    } else {
        char t[16];
        fmt_eta(t, sizeof t, rate > 0 ? (double)(total - done) / rate : -1);
        snprintf(eta, sizeof eta, "ETA %s", t);
    }
    snprintf(stats, sizeof stats, "  %.1f/%.1f MiB  %3d%%  %s  %s",
             (double)done / MIB, (double)total / MIB,
             total ? (int)((double)done * 100.0 / (double)total) : 100,
             speed, eta);
    char title[160];
    if (open > 1)
        snprintf(title, sizeof title, "%s (+%zu)", cur->title, open - 1);
    else
        snprintf(title, sizeof title, "%s", cur->title);
    int width = term_width() - 1; /* the last column would wrap */
    int room = width - (int)strlen(stats) - (int)strlen(pg->verb) - 1;
    if (room < 12)
        room = 12;
    size_t len = strlen(title);
    if (len > (size_t)room) { /* keep the tail: the end of a file name */
        size_t keep = (size_t)room - 3;
        const char *from = title + len - keep;
        while ((*from & 0xC0) == 0x80) /* not inside a UTF-8 sequence */
            from++;
        memmove(title + 3, from, strlen(from) + 1);
        memcpy(title, "...", 3);
    }
    char line[400];
    snprintf(line, sizeof line, "%s %s%s", pg->verb, title, stats);
    if ((int)strlen(line) > width) /* a narrow terminal: cut the stats */
        line[width] = 0;
    fprintf(stderr, "\r%s\033[K", line);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
    pg->drawn = 1;
    pg->last_draw_ms = now;
}

static void plain_line(const struct progress *pg, const struct blob *b,
                       double now) {
    double secs = (now - b->first_ms) / 1e3;
    /* bytes between this blob's first report and now: all of it when the
     * blob took a while, nothing for a blob reported once (tiny, or
     * already there), so its rate is only shown when measured */
    double rate = secs >= 0.5 ? (double)moved_of(b) / secs : -1;
    if (b->finished) {
        char size[32];
        fmt_bytes(size, sizeof size, b->total);
        if (rate >= 0)
            fprintf(stderr, "%s %s: done, %s, %.1f MiB/s\n", pg->verb,
                    b->title, size, rate / MIB);
        else
            fprintf(stderr, "%s %s: done, %s\n", pg->verb, b->title, size);
    } else {
        char eta[16], speed[32];
        fmt_eta(eta, sizeof eta,
                rate > 0 && b->total >= b->done
                    ? (double)(b->total - b->done) / rate : -1);
        if (rate >= 0)
            snprintf(speed, sizeof speed, "%.1f MiB/s", rate / MIB);
        else
            snprintf(speed, sizeof speed, "-- MiB/s");
        fprintf(stderr, "%s %s: %.1f/%.1f MiB (%d%%), %s, ETA %s\n",
                pg->verb, b->title, (double)b->done / MIB,
                (double)b->total / MIB,
                b->total ? (int)((double)b->done * 100.0 / (double)b->total)
                         : 100,
                speed, eta);
    }
    fflush(stderr);
}

void progress_cb(const struct kw_transfer_progress *p, void *user) {
    struct progress *pg = user;
    if (!pg || !p)
        return;
    pthread_mutex_lock(&pg->mu);
    double now = cli_now_ms();
    struct blob *b = find_blob(pg, p, now);
    if (!b || b->finished) { /* untracked, or a repeated last call */
        pthread_mutex_unlock(&pg->mu);
        return;
    }
    b->done = p->done;
    b->total = p->total > p->done ? p->total : p->done;
    if (p->finished)
        b->finished = 1;
    if (pg->tty) {
        if (p->finished || now - pg->last_draw_ms >= DRAW_EVERY_MS)
            draw(pg, now, 0);
    } else if (p->finished || now - b->last_line_ms >= PLAIN_EVERY_MS) {
        plain_line(pg, b, now);
        b->last_line_ms = now;
    }
    pthread_mutex_unlock(&pg->mu);
}

void progress_end(struct progress *pg) {
    if (!pg)
        return;
    pthread_mutex_lock(&pg->mu);
    if (pg->tty && pg->drawn) /* freshest numbers, then a newline */
        draw(pg, cli_now_ms(), 1);
    pthread_mutex_unlock(&pg->mu);
    pthread_mutex_destroy(&pg->mu);
    free(pg->blobs);
    free(pg);
}
