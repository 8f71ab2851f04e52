/*
 * coverage.h: a team's coverage of a scenario's tags. Objectives and flags
 * carry MITRE ATT&CK technique ids (attack = { ... }) and skills (skills =
 * { ... }, LANGUAGE.md); a team has covered a tag when an item carrying it
 * is met (counting now, as on the scoreboard) or solved. Reports (report.c)
 * and the portal (api.c) build one per team from their own view of which
 * items are met, and show it the same way.
 */
#ifndef CRANGE_COVERAGE_H
#define CRANGE_COVERAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One objective or flag as coverage sees it. The lists are borrowed and
 * NULL-terminated; either may be NULL (no tags). */
typedef struct cr_coverage_item {
    char *const *attack;
    char *const *skills;
    bool met;
    int64_t met_ms;   /* when it started to count; 0 when not known */
} cr_coverage_item;

typedef struct cr_coverage_tag {
    const char *id;   /* a technique id or a skill, borrowed from the items */
    const char *name; /* the technique's name (attack.h), NULL when unknown and for skills */
    bool met;
    int64_t met_ms;   /* the earliest met_ms of a met item carrying it; 0 when not met or not known */
} cr_coverage_tag;

typedef struct cr_coverage {
    cr_coverage_tag *attack; /* every technique of the items, sorted by id, once */
    size_t n_attack, n_attack_met;
    cr_coverage_tag *skills; /* every skill, in the order the items first name it, once */
    size_t n_skills, n_skills_met;
} cr_coverage;

/* Fills *out (zeroed first) from the N items. The tags borrow the items'
 * strings, which must outlive *out. */
void cr_coverage_build(cr_coverage *out, const cr_coverage_item *items, size_t n);

/* Frees what *c holds and zeroes it; NULL is fine. */
void cr_coverage_clear(cr_coverage *c);

/* {"attack": [{"id", "name", "met", "met_at"?}, ...], "skills": [{"skill", "met", "met_at"?}, ...],
 *  "attack_met", "attack_total", "skills_met", "skills_total"}, met_at in ISO 8601 UTC (only when
 * met with a known time). A new reference. */
json_t *cr_coverage_json(const cr_coverage *c);

#endif
