/*
 * report.h: exercise reports from a range database: JSON (everything),
 * CSV (one row per team and objective/flag, with the time it was met), and
 * a self-contained HTML page (inline CSS and SVG, no scripts from a CDN):
 * the scoreboard, a per-team score timeline plot, and every objective and
 * flag with the time each team met it; and each team's coverage of the
 * scenario's ATT&CK techniques and skills (coverage.h). Texts are shown in
 * Japanese and English.
 */
#ifndef CRANGE_REPORT_H
#define CRANGE_REPORT_H

#include "state.h"

typedef enum { CR_REPORT_JSON = 1, CR_REPORT_CSV, CR_REPORT_HTML } cr_report_format;

/* Parses "json", "csv" or "html"; CR_EINVAL otherwise. */
int cr_report_format_parse(cr_report_format *out, const char *s);

/* Writes the report to path (atomically). */
int cr_report_write(cr_state *st, cr_report_format fmt, const char *path);

#endif
