/*
 * events.h: the append-only event log of a range (the `events` table of its
 * database, state.h). Everything that happens in an exercise is an event:
 * objectives met or lost, flag answers, hints, injects, trainee shell
 * commands, console sessions, range operations. Scores and reports are
 * computed from events alone, so the database is the whole record.
 *
 * Event kinds and their data (JSON object):
 *   exercise.start       {}                                  team 0, once
 *   exercise.pause / exercise.resume   {"by"}                team 0: the instructor stops and restarts the clock
 *   scoreboard.freeze / scoreboard.unfreeze   {}            team 0: the public scoreboard
 *   objective.met        {"id", "points", "mode"}
 *   objective.lost       {"id", "points"}
 *   objective.failing    {"id", "reason"}                    a check error, logged when the reason changes
 *   flag.correct         {"id", "points", "attempt"}
 *   flag.wrong           {"id", "attempt", "answer"}
 *   flag.rejected        {"id", "reason"}                    no attempts left, already solved
 *   hint.taken           {"id", "index", "cost", "text": {"ja", "en"}}
 *   inject.fired         {"id", "title": {"ja", "en"}}
 *   inject.failed        {"id", "error"}
 *   action.command       {"user", "cwd", "command", "spool", "seq", "guest_time"}   vm set
 *   action.status        {"user", "of", "status", "spool", "seq", "guest_time"}     vm set: the exit status
 *                        of the command line numbered "of" in the same spool
 *   action.dropped       {"<reason>": {"lines", "bytes"}, ...}   vm set: action lines not stored
 *                        (reasons: oversized, malformed, missing, rate, budget; actionlog.h)
 *   console.attach / console.detach   {}                     vm set
 *   solution.run         {"ok", "error"}
 *   range.up.start / range.up.done / range.up.failed / range.down   (the range engine)
 *
 * A dedupe key (may be NULL) makes an insert idempotent: a second event with
 * the same key is ignored. It is what lets the engine restart without
 * duplicating events (e.g. "action:<team>:<vm>:<spool>:<seq>").
 *
 * Ownership: the writer borrows the cr_state; query results are new JSON
 * references.
 */
#ifndef CRANGE_EVENTS_H
#define CRANGE_EVENTS_H

#include "state.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* One event; time_ms 0 means now. data may be NULL (borrowed). */
int cr_event_add(cr_state *st, int64_t time_ms, int team, const char *vm, const char *kind, json_t *data,
                 const char *dedupe, bool *inserted);

/* A batching writer: rows go in with one prepared statement, committed
 * every `batch` rows (and on flush/close) in BEGIN IMMEDIATE transactions. */
typedef struct cr_event_writer cr_event_writer;
int cr_event_writer_open(cr_event_writer **out, cr_state *st, size_t batch);
/* data_json: the data as JSON text, or NULL. */
int cr_event_writer_add(cr_event_writer *w, int64_t time_ms, int team, const char *vm, const char *kind,
                        const char *data_json, const char *dedupe);
int cr_event_writer_flush(cr_event_writer *w);
int cr_event_writer_close(cr_event_writer *w); /* flushes; accepts NULL */

/* Events in id order as a JSON array of {"id", "time", "time_ms", "team",
 * "vm", "kind", "data"}. team 0: all teams; since_ms 0: from the start;
 * kind_prefix NULL: every kind (else e.g. "flag." or "action."). */
int cr_events_query(json_t **out, cr_state *st, int team, int64_t since_ms, const char *kind_prefix);

/* The id of the newest event a viewer may see: every event for team 0,
 * else the team's own and the range-wide ones, among those after `after`
 * (`after` itself when there is none). The portal's live views poll it to
 * learn that something changed. */
int cr_events_last_id(cr_state *st, int team, int64_t after, int64_t *id);

/* The exercise clock, from the range-wide events exercise.start (the
 * first one starts it), exercise.pause and exercise.resume: whether it
 * started, whether it is paused now, and the exercise time that has run,
 * paused time left out. Timed injects go by it. */
typedef struct cr_clock {
    bool started;
    bool paused;
    int64_t start_ms;    /* wall time of exercise.start */
    int64_t elapsed_ms;  /* exercise time at now_ms */
} cr_clock;
int cr_events_clock(cr_state *st, int64_t now_ms, cr_clock *out);

/* The latest event of `kind` for (team, data.id == id); *found false if none. */
int cr_events_last(cr_state *st, int team, const char *kind_a, const char *kind_b, const char *id, bool *found,
                   char **kind_out, int64_t *time_ms);

/* ---- readers for the scoring engine, the reports and the collector */

/* One scoring event (objective.met, objective.lost, flag.correct,
 * hint.taken) as cr_events_scoring passes it. The strings are borrowed,
 * valid during the callback only; id and mode are NULL when the data lacks
 * them (an event this engine did not write). */
typedef struct cr_scoring_event {
    int team;
    int64_t time_ms;
    const char *kind;
    const char *id;
    int points;        /* data.points, else data.cost (hint.taken), else 0 */
    const char *mode;  /* data.mode: "once" or "hold" (objective.met) */
    int index;         /* data.index (hint.taken), else 0 */
} cr_scoring_event;
typedef void (*cr_scoring_event_fn)(void *ctx, const cr_scoring_event *ev);

/* Calls fn for every scoring event of teams 1..teams, in log (id) order,
 * the order the scores changed in. teams < 1: none. */
int cr_events_scoring(cr_state *st, int teams, cr_scoring_event_fn fn, void *ctx);

/* How many events of `kind` the team has for data.id == id. */
int cr_events_count(cr_state *st, int team, const char *kind, const char *id, int *n);

/* The index of the team's next hint for objective or flag `id`: one past
 * the highest data.index of its hint.taken events, 0 when none was taken. */
int cr_events_next_hint(cr_state *st, int team, const char *id, int64_t *next);

/* The first event of `kind` for (team, data.id == id) logged after the
 * latest `after_kind` event for the same (team, id); after_kind NULL: the
 * first one ever. *found false (and *time_ms 0) if none. The reports use it
 * for "met since": the objective.met after the last objective.lost. */
int cr_events_first_after(cr_state *st, int team, const char *kind, const char *after_kind, const char *id,
                          bool *found, int64_t *time_ms);

/* The earliest and the latest time_ms among events of `kind` (NULL: of any
 * kind); 0 each when there is none. Either out-parameter may be NULL. */
int cr_events_time_span(cr_state *st, const char *kind, int64_t *first_ms, int64_t *last_ms);

/* The highest data.seq among the action.command and action.status events of
 * (team, vm) from guest spool `spool`; 0 when none is stored. */
int cr_events_action_seq_max(cr_state *st, int team, const char *vm, const char *spool, int64_t *max);
/* The bytes of the data of every action.command and action.status event of
 * (team, vm): what its lines use of their budget (actionlog.h). */
int cr_events_action_bytes(cr_state *st, int team, const char *vm, int64_t *bytes);

#endif
