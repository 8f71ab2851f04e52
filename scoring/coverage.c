/*
 * coverage.c: a team's coverage of a scenario's ATT&CK techniques and
 * skills (coverage.h). Scenarios have tens of items with a few tags each,
 * so the tags are gathered by linear search.
 */
#include "coverage.h"

#include "attack.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

typedef struct tags {
    cr_coverage_tag *v;
    size_t n, cap, met;
} tags;

static void tags_add(tags *t, const char *id, const cr_coverage_item *it)
{
    cr_coverage_tag *g = NULL;
    for (size_t i = 0; i < t->n && !g; i++)
        if (!strcmp(t->v[i].id, id))
            g = &t->v[i];
    if (!g) {
        cr_grow(&t->v, &t->cap, t->n + 1, sizeof *t->v);
        g = &t->v[t->n++];
        *g = (cr_coverage_tag){.id = id};
    }
    if (!it->met)
        return;
    if (!g->met) {
        g->met = true;
        g->met_ms = it->met_ms;
        t->met++;
    } else if (it->met_ms && (!g->met_ms || it->met_ms < g->met_ms)) {
        g->met_ms = it->met_ms;
    }
}

static int cmp_tag(const void *a, const void *b)
{
    return strcmp(((const cr_coverage_tag *)a)->id, ((const cr_coverage_tag *)b)->id);
}

void cr_coverage_build(cr_coverage *out, const cr_coverage_item *items, size_t n)
{
    tags attack = {0}, skills = {0};
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        for (char *const *p = items[i].attack; p && *p; p++)
            tags_add(&attack, *p, &items[i]);
        for (char *const *p = items[i].skills; p && *p; p++)
            tags_add(&skills, *p, &items[i]);
    }
    if (attack.n)
        qsort(attack.v, attack.n, sizeof *attack.v, cmp_tag);
    for (size_t i = 0; i < attack.n; i++)
        attack.v[i].name = cr_attack_name(attack.v[i].id);
    *out = (cr_coverage){.attack = attack.v, .n_attack = attack.n, .n_attack_met = attack.met,
                         .skills = skills.v, .n_skills = skills.n, .n_skills_met = skills.met};
}

void cr_coverage_clear(cr_coverage *c)
{
    if (!c)
        return;
    free(c->attack);
    free(c->skills);
    memset(c, 0, sizeof *c);
}

static void set_met(json_t *o, const cr_coverage_tag *g)
{
    json_object_set_new(o, "met", json_boolean(g->met));
    if (g->met && g->met_ms) {
        char iso[32];
        cr_iso8601(iso, g->met_ms);
        json_object_set_new(o, "met_at", json_string(iso));
    }
}

json_t *cr_coverage_json(const cr_coverage *c)
{
    json_t *attack = json_array(), *skills = json_array();
    for (size_t i = 0; i < c->n_attack; i++) {
        const cr_coverage_tag *g = &c->attack[i];
        json_t *o = json_pack("{s:s, s:s?}", "id", g->id, "name", g->name);
        if (!o) /* a forged file's text that is not UTF-8 */
            continue;
        set_met(o, g);
        json_array_append_new(attack, o);
    }
    for (size_t i = 0; i < c->n_skills; i++) {
        const cr_coverage_tag *g = &c->skills[i];
        json_t *o = json_pack("{s:s}", "skill", g->id);
        if (!o)
            continue;
        set_met(o, g);
        json_array_append_new(skills, o);
    }
    return json_pack("{s:o, s:o, s:I, s:I, s:I, s:I}", "attack", attack, "skills", skills, "attack_met",
                     (json_int_t)c->n_attack_met, "attack_total", (json_int_t)c->n_attack, "skills_met",
                     (json_int_t)c->n_skills_met, "skills_total", (json_int_t)c->n_skills);
}
