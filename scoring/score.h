/*
 * score.h: scoring, from the event log alone.
 *
 * Score of a team = points of objectives met (`once`: ever met; `hold`: met
 * now) + points of flags answered correctly - costs of hints taken. Ties are
 * broken by the time the score was reached (the last event that changed it):
 * earlier ranks first.
 *
 * The scenario's content (objectives, flags, points, hints) is stored in the
 * range database at `up` (cr_score_save_content), so that scoreboards and
 * reports need nothing but the database.
 */
#ifndef CRANGE_SCORE_H
#define CRANGE_SCORE_H

#include "model.h"
#include "state.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Replaces the stored content with the scenario's (team 1's model; every
 * team has the same objectives and flags, only answers differ). */
int cr_score_save_content(cr_state *st, const cr_scenario *s);

/* ---- the scoreboard and the timeline -------------------------------- */

/* One team's row of the scoreboard. */
typedef struct cr_score_board_team {
    int rank;             /* 1 = best */
    int team;
    int score;
    int hints_cost;       /* what the hints taken cost (positive) */
    bool scored;          /* some event changed the score */
    int64_t reached_ms;   /* wall time of the last change; 0 unless scored */
    char **objectives;    /* ids counting now (once: ever met; hold: met now), in log order of their first event */
    size_t n_objectives;
    char **flags;         /* ids solved, in the order solved */
    size_t n_flags;
} cr_score_board_team;

/* The scoreboard. Everything in it is owned by it (cr_score_board_free). */
typedef struct cr_score_board {
    int full_marks;             /* the sum of the stored content's points */
    cr_score_board_team *teams; /* every team 1..n, sorted by rank */
    size_t n_teams;
} cr_score_board;

/* Computes the scoreboard of teams 1..teams (the range's team count) from
 * the event log and the stored content. On success *out is new (the
 * caller's); on failure NULL. CR_EINVAL when teams < 0. */
int cr_score_board_new(cr_score_board **out, cr_state *st, int teams);
void cr_score_board_free(cr_score_board *b); /* accepts NULL */

/* The row of team `team`, borrowed from b, or NULL (b may be NULL). */
const cr_score_board_team *cr_score_board_find(const cr_score_board *b, int team);

/* Whether an objective counts now / a flag is solved for the row (NULL: no). */
bool cr_score_board_team_met(const cr_score_board_team *t, const char *objective_id);
bool cr_score_board_team_solved(const cr_score_board_team *t, const char *flag_id);

/* The JSON form (CLI --json, the portal API, the JSON report), a new
 * reference: {"full_marks", "teams": [{"rank", "team", "score",
 * "objectives": [ids], "flags": [ids], "hints_cost", "reached_ms",
 * "reached"}]}; reached_ms and reached (ISO 8601, UTC) are null for a team
 * that never scored. */
json_t *cr_score_board_json(const cr_score_board *b);

/* A team's score after every event that changed it, in order. */
typedef struct cr_score_point {
    int64_t time_ms;
    int score;
} cr_score_point;

typedef struct cr_score_series {
    int team;
    cr_score_point *points;
    size_t n_points;
} cr_score_series;

/* Per team (1..n, in team order), for reports. Owned as the board is. */
typedef struct cr_score_timeline {
    cr_score_series *teams;
    size_t n_teams;
} cr_score_timeline;

int cr_score_timeline_new(cr_score_timeline **out, cr_state *st, int teams);
void cr_score_timeline_free(cr_score_timeline *tl); /* accepts NULL */

/* [{"team", "points": [[time_ms, score], ...]}], a new reference. */
json_t *cr_score_timeline_json(const cr_score_timeline *tl);

/*
 * Records an objective's state for a team if it changed: objective.met or
 * objective.lost, atomically (BEGIN IMMEDIATE: read the last state, insert
 * only on a change), so concurrent engines never duplicate a transition. A
 * `once` objective, once met, is never lost. *changed (may be NULL).
 */
int cr_score_record_objective(cr_state *st, int team, const cr_objective *o, bool met, bool *changed);

/* Whether all of an objective's prerequisites are satisfied for the team
 * (objective ids: met now for hold, ever for once; flag ids: solved). */
int cr_score_prereqs_met(cr_state *st, int team, const cr_team_model *tm, const cr_objective *o, bool *ok);

typedef enum {
    CR_SUBMIT_CORRECT = 1,
    CR_SUBMIT_WRONG,
    CR_SUBMIT_ALREADY_SOLVED,
    CR_SUBMIT_NO_ATTEMPTS_LEFT,
} cr_submit_verdict;

/* Checks an answer and records flag.correct / flag.wrong / flag.rejected.
 * *attempts_left is -1 when unlimited. */
int cr_score_submit(cr_state *st, int team, const cr_flag *f, const char *answer, cr_submit_verdict *verdict,
                    int *attempts_left);
const char *cr_submit_verdict_name(cr_submit_verdict v);

/* Takes the next hint of an objective or flag; *hint_out gets
 * {"id", "index", "cost", "text": {"ja", "en"}} or CR_ENOTFOUND when none
 * is left ("no more hints for 'x'"). */
int cr_score_hint(cr_state *st, int team, const cr_team_model *tm, const char *id, json_t **hint_out);

#endif
