/*
 * progress.h: progress of long work. On a TTY it redraws one line on stdout
 * ("[#####.....] 12/40 starting VMs"); elsewhere it prints nothing until the
 * phase ends, then one summary line on stderr, so logs stay readable.
 * Thread-safe: workers report from any thread.
 */
#ifndef CRANGE_PROGRESS_H
#define CRANGE_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cr_progress cr_progress;

/* tty: draw the bar; quiet: print no summary either (for --json). */
cr_progress *cr_progress_new(const char *phase, size_t total, bool tty, bool quiet);
void cr_progress_step(cr_progress *p, size_t done, const char *what);
/* Ends the phase; prints "phase: done/total in X.Y s" unless quiet. Frees p
 * (accepts NULL). */
void cr_progress_end(cr_progress *p, size_t failed);

#endif
