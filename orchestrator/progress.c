/*
 * progress.c: the progress display of progress.h.
 */
#include "progress.h"

#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cr_progress {
    char *phase;
    size_t total;
    bool tty;
    bool quiet;
    double started;
    pthread_mutex_t lock;
};

cr_progress *cr_progress_new(const char *phase, size_t total, bool tty, bool quiet)
{
    cr_progress *p = cr_xcalloc(1, sizeof *p);
    p->phase = cr_xstrdup(phase);
    p->total = total;
    p->tty = tty && !quiet;
    p->quiet = quiet;
    p->started = cr_now_seconds();
    pthread_mutex_init(&p->lock, NULL);
    if (p->tty)
        cr_progress_step(p, 0, NULL);
    return p;
}

void cr_progress_step(cr_progress *p, size_t done, const char *what)
{
    if (!p || !p->tty)
        return;
    pthread_mutex_lock(&p->lock);
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    size_t fill = p->total ? done * WIDTH / p->total : WIDTH;
    for (size_t i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    printf("\r\033[K[%s] %zu/%zu %s%s%.40s", bar, done, p->total, p->phase, what ? ": " : "", what ? what : "");
    fflush(stdout);
    pthread_mutex_unlock(&p->lock);
}

void cr_progress_end(cr_progress *p, size_t failed)
{
    if (!p)
        return;
    double secs = cr_now_seconds() - p->started;
    if (p->tty) {
        printf("\r\033[K");
        fflush(stdout);
    }
    if (!p->quiet && p->total > 0)
        fprintf(stderr, "%s: %zu/%zu in %.1f s%s\n", p->phase, p->total - failed, p->total, secs,
                failed ? " (with failures)" : "");
    pthread_mutex_destroy(&p->lock);
    free(p->phase);
    free(p);
}
