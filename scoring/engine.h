/*
 * engine.h: the exercise engine behind `crange run`, `crange solve` and the
 * scoring commands. It keeps one Lua runtime per team (lua/runtime.h), runs
 * every team's objective checks through the guest agent in a bounded worker
 * pool, fires injects, collects trainee actions (actions.h) and records
 * everything as events (events.h, score.h).
 *
 * Restart safety: all state lives in the range database. Objective
 * transitions are recorded atomically (only on a change), injects carry a
 * dedupe key and are recorded before they are performed (at most once), and
 * actions are acknowledged to the guest only once stored. A `crange run`
 * killed with -9 and started again loses and duplicates nothing.
 *
 * Between rounds, the run loop (cr_engine_run) brings back a VM that
 * stopped: vmwatch.h.
 *
 * One engine at a time: an engine that collects actions (run, serve) or is
 * asked to be exclusive (the run loop) holds the range's engine lock for its
 * lifetime, so that two of them never read the same action channels or
 * check every objective twice. `solve` and `run --once` take no lock and may
 * run beside it: every write they share is transactional.
 *
 * Ownership: a cr_engine owns its runtimes, database handles, libvirt
 * connections and lock; it borrows the configuration. cr_engine_close
 * accepts NULL.
 */
#ifndef CRANGE_ENGINE_H
#define CRANGE_ENGINE_H

#include "config.h"
#include "model.h"
#include "state.h"

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>

#define CR_CHECK_TIMEOUT_S 10

typedef struct cr_engine cr_engine;

typedef struct cr_engine_opts {
    const char *range;
    bool actions;         /* collect action channels (crange run, serve); takes the engine lock */
    bool exclusive;       /* take the engine lock even without actions (run --no-actions) */
    int check_timeout_s;  /* 0: CR_CHECK_TIMEOUT_S */
    int action_budget_kib; /* bytes of action lines a VM may store, in KiB; 0: actionlog.h's default */
    int action_rate;      /* action lines a VM may store a second; 0: the default */
} cr_engine_opts;

/* Opens the range: its database, the engine lock (with actions or
 * exclusive: CR_EBUSY at once if another process holds it), the scenario
 * (which must be unchanged since `up`: same digest), one runtime per team,
 * libvirt connections. */
int cr_engine_open(cr_engine **out, const cr_config *c, const cr_engine_opts *o);
void cr_engine_close(cr_engine *e);

/*
 * The engine lock: an exclusive flock on <state>/ranges/<range>/engine.lock,
 * which holds the owner's pid for the message of the next one to try:
 * CR_EBUSY, "range RANGE is already run by another crange run or serve (pid
 * N)". The range's folder must exist. The lock dies with the process (kill
 * -9 included), and is not inherited across exec. *fd is -1 on failure;
 * cr_engine_unlock(fd) releases it (-1 is fine).
 */
int cr_engine_lock(int *fd, const char *state_dir, const char *range);
void cr_engine_unlock(int fd);

/* What a scoring round did. */
typedef struct cr_round_report {
    size_t checks;
    size_t met;          /* checks that held */
    size_t transitions;  /* objective.met / objective.lost recorded */
    size_t injects;      /* injects fired */
    double check_ms_p50;
    double check_ms_p95;
    double check_ms_max;
    double seconds;
    bool paused;         /* the exercise clock was paused: nothing ran */
} cr_round_report;

/* One round for one team (team >= 1) or every team (0). */
int cr_engine_round(cr_engine *e, int team, cr_round_report *rep);

/* Fires one of a team's injects now (the instructor's button), at most
 * once as ever: *fired is false when it had already fired. by names who
 * fired it, for the event. st: the caller's database handle. */
int cr_engine_fire_inject(cr_engine *e, cr_state *st, int team, const char *id, const char *by, bool *fired);

/* Runs the reference solution for a team, then a round for that team. */
int cr_engine_solve(cr_engine *e, int team, cr_round_report *rep);

/* Rounds every interval_s seconds until *stop is set (by a signal). */
int cr_engine_run(cr_engine *e, int interval_s, volatile sig_atomic_t *stop);

/* The team's model (borrowed), or NULL for a bad team number. */
const cr_team_model *cr_engine_team(cr_engine *e, int team);
int cr_engine_teams(const cr_engine *e);
/* The scenario every team's model comes from, the range's row and the
 * libvirt URI of a VM's host (hosts.h); borrowed, valid until
 * cr_engine_close. */
const cr_scenario *cr_engine_scenario(const cr_engine *e);
const cr_range_row *cr_engine_range(const cr_engine *e);
const char *cr_engine_uri(const cr_engine *e, int team, const char *vm);
/* The connection to the host of one VM (hosts.h; borrowed). */
struct cr_virt *cr_engine_vm_virt(const cr_engine *e, int team, const char *vm);

json_t *cr_round_report_json(const cr_round_report *r);

#endif
