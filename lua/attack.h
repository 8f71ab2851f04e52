/*
 * attack.h: the MITRE ATT&CK Enterprise techniques crange knows, from
 * lua/attack-techniques.tsv (compiled in by cmake/embed.cmake; the file's
 * header says where its ids and names come from). Objectives and flags tag
 * themselves with these ids (attack = { "T1133" }), and reports show the
 * names beside them.
 *
 * The table is parsed once, on first use, and never freed: every pointer
 * returned here is static. Safe to call from any thread.
 */
#ifndef CRANGE_ATTACK_H
#define CRANGE_ATTACK_H

#include <stdbool.h>
#include <stddef.h>

/* Whether ID has the shape of a technique id: "T" and 4 digits, then for a
 * sub-technique "." and 3 digits ("T1133", "T1110.004"). Says nothing of
 * whether the table has it. */
bool cr_attack_id_shape(const char *id);

/* The name of technique ID ("External Remote Services"), or NULL when the
 * table does not have it. */
const char *cr_attack_name(const char *id);

/* How many techniques the table has (0 when crange was built without it). */
size_t cr_attack_count(void);

#endif
