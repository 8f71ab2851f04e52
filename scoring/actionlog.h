/*
 * actionlog.h: one VM's action log as the host takes it in. The bytes read
 * from the VM's action channel (actions.h) are split into lines; each line
 * is checked, placed in its spool's sequence, and stored as an
 * action.command or action.status event, or dropped and counted.
 *
 * Everything a guest sends is hostile input: the guest's root is the
 * trainee. So no line, however bad, stops the log:
 *   - a line longer than max_line is cut there and counted "oversized";
 *   - a line that is not a well-formed action line (bad JSON, a NUL, a
 *     field of the wrong type) is counted "malformed";
 *   - bytes that are not UTF-8 are replaced by U+FFFD, and the line is kept;
 *   - either way, when the line's spool and seq can still be read from its
 *     start ({"seq":N,"spool":"ID", as both images' helpers write it), that
 *     seq is passed over, so the guest's resend ends; lines the guest
 *     skipped are counted "missing" and passed over too;
 *   - per VM, at most `burst` lines at once and `rate` a second after that
 *     are stored ("rate" counts the rest), and at most `budget` bytes of
 *     lines over the whole exercise ("budget").
 * Dropped lines are acknowledged like stored ones, so the guest forgets
 * them. What was dropped is recorded as one action.dropped event a VM at
 * most every flush_ms, with the lines and bytes of each reason.
 *
 * Each line costs the same however long the log: the spool's last seq is
 * read through an index (schema version 4, state.c), and only when the spool
 * changes.
 *
 * Ownership: the log borrows the cr_state; it owns its buffer.
 */
#ifndef CRANGE_ACTIONLOG_H
#define CRANGE_ACTIONLOG_H

#include "state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cr_actionlog_limits {
    size_t max_line;   /* bytes of one line, newline excluded */
    double rate;       /* lines a second stored, sustained */
    double burst;      /* lines stored at once before the rate applies */
    int64_t budget;    /* bytes of lines stored over the exercise */
    int64_t flush_ms;  /* at most one action.dropped event a VM this often */
} cr_actionlog_limits;

/* 64 KiB lines, 10 lines a second after a burst of 100, 4 MiB, 10 s. */
extern const cr_actionlog_limits CR_ACTIONLOG_DEFAULTS;

typedef struct cr_actionlog cr_actionlog;

/* A log for (team, vm), with limits (NULL: the defaults). Reads what the
 * VM's lines already use of the budget from st. */
cr_actionlog *cr_actionlog_new(cr_state *st, int team, const char *vm, const cr_actionlog_limits *limits);
void cr_actionlog_free(cr_actionlog *l);

/* Takes n bytes read from the channel at now_ms. Returns true when at least
 * one line was placed, so that an acknowledgement is due. */
bool cr_actionlog_feed(cr_actionlog *l, const char *data, size_t n, int64_t now_ms);

/* The number to acknowledge ("ack N"): every line of the current spool up
 * to it is stored or dropped. */
long cr_actionlog_ack(const cr_actionlog *l);

/* The channel was reopened: a partial line is dropped, and the first line
 * read next may be the tail of one cut when the old reader ended. */
void cr_actionlog_reopened(cr_actionlog *l);

/* Records what was dropped since the last call as one action.dropped event,
 * when anything was and flush_ms have passed (or force). */
void cr_actionlog_flush(cr_actionlog *l, int64_t now_ms, bool force);

/* Lines stored by this log. */
size_t cr_actionlog_stored(const cr_actionlog *l);

#endif
