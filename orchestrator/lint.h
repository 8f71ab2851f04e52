/*
 * lint.h: `crange scenario lint`, the checks a scenario author runs in CI.
 *
 * Static checks (no libvirt): the scenario validates for several teams;
 * every objective has a check and every flag an answer; every image has a
 * recipe; every trainee-facing text has ja and en; per-team vars really
 * differ between teams; there is a reference solution.
 *
 * With solve: brings up 2 teams in a throw-away range, asserts that both
 * score 0 after a scoring round, runs the reference solution on team 1,
 * asserts full marks for team 1 and 0 for team 2, and tears the range down
 * whatever happened. Every failure names the objective or flag.
 *
 * Findings are a JSON array of {"severity": "error"|"warning", "message"};
 * messages about a place in the scenario start with "FILE:LINE: ".
 */
#ifndef CRANGE_LINT_H
#define CRANGE_LINT_H

#include "config.h"

#include <jansson.h>
#include <stdbool.h>

typedef struct cr_lint_opts {
    const char *path;  /* a scenario folder or catalog:NAME[/SUB] */
    bool solve;
    int teams;         /* teams for the static checks (0: max(2, the scenario's own)) */
} cr_lint_opts;

/* Runs the checks. Returns 0 when they could run (findings may hold
 * errors), negative when they could not (the message says why). *findings
 * is a new reference; *errors counts error findings. */
int cr_lint(json_t **findings, size_t *errors, const cr_config *c, const cr_lint_opts *o);

#endif
