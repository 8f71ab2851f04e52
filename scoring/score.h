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

/* Replaces the stored content with the scenario's (team 1's model; every
 * team has the same objectives and flags, only answers differ). */
int cr_score_save_content(cr_state *st, const cr_scenario *s);

/* The scoreboard: {"full_marks", "teams": [{"rank", "team", "score",
 * "objectives": [ids met now], "flags": [ids], "hints_cost", "reached_ms",
 * "reached"}]}, sorted by rank. teams: the range's team count. */
int cr_score_board(json_t **out, cr_state *st, int teams);

/* Per team, the score after every event that changed it:
 * [{"team", "points": [[time_ms, score], ...]}], for reports. */
int cr_score_timeline(json_t **out, cr_state *st, int teams);

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
