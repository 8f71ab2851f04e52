/*
 * convert.h: turns the declarations a scenario made in a sandbox (lang.h)
 * into one team's C model (model.h).
 */
#ifndef CRANGE_CONVERT_H
#define CRANGE_CONVERT_H

#include "model.h"
#include "sandbox.h"

/*
 * After the script ran in SB: fills *t from its declarations, and the
 * scenario-wide fields of *s when s->id is still NULL (the first team).
 * Runs the prelude's finish(), which calls flag answer functions, so it can
 * fail like any scenario code: returns 0 or a negative code with
 * "FILE:LINE: message" set. On failure *s and *t may be partly filled; the
 * owner frees them as usual.
 */
int cr_convert_team(cr_sandbox *sb, cr_scenario *s, cr_team_model *t);

#endif
