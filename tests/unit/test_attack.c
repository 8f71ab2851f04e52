/*
 * test_attack.c: the ATT&CK technique table compiled into crange
 * (lua/attack-techniques.tsv through lua/attack.h): every line of the file
 * is well formed, sorted and unique, and makes it into the binary; ids are
 * looked up by exact match only; and every id the bundled scenarios use is
 * in it (the language refuses the others, so a missing one would break
 * `crange validate`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "attack.h"
#include "err.h"
#include "scenario.h"
#include "testutil.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_attack_known_ids_have_their_names(void **state)
{
    (void)state;
    assert_string_equal(cr_attack_name("T1133"), "External Remote Services");
    assert_string_equal(cr_attack_name("T1110"), "Brute Force");
    assert_string_equal(cr_attack_name("T1110.004"), "Credential Stuffing");
    assert_string_equal(cr_attack_name("T1003.008"), "/etc/passwd and /etc/shadow");
    assert_string_equal(cr_attack_name("T1498.001"), "Direct Network Flood");
}

static void test_attack_unknown_and_malformed_ids_have_no_name(void **state)
{
    (void)state;
    static const char *const bad[] = {"T9999", "T1110.999", "t1133", "T113", "T11333", "T1133.", "T1133.4",
                                      "T1133.0040", " T1133", "T1133 ", "1133", "", "TA0001"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (cr_attack_name(bad[i]))
            fail_msg("'%s' has a name", bad[i]);
    }
    assert_null(cr_attack_name(NULL));
    assert_true(cr_attack_id_shape("T1110.004"));
    assert_true(cr_attack_id_shape("T9999"));
    assert_false(cr_attack_id_shape("T1110.04"));
    assert_false(cr_attack_id_shape("T1110-004"));
}

/* Every line of the file: a comment, empty, or "ID<TAB>NAME" with a
 * well-formed id and a name without tabs or leading and trailing spaces;
 * ids strictly increasing; a sub-technique after its technique. All of
 * them are in the compiled table. */
static void test_attack_table_file_is_well_formed_and_compiled_in(void **state)
{
    (void)state;
    const char *src = getenv("CRANGE_SOURCE");
    assert_non_null(src);
    char *path = cr_path_join(src, "lua/attack-techniques.tsv");
    char *text = NULL;
    assert_int_equal(cr_read_file(&text, NULL, path), 0);
    size_t n = 0, lineno = 0;
    char prev[16] = "", parent[16] = "";
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (line[0] == '#')
            continue;
        char *tab = strchr(line, '\t');
        if (!tab)
            fail_msg("line %zu: no tab: %s", lineno, line);
        *tab = '\0';
        const char *id = line, *name = tab + 1;
        if (!cr_attack_id_shape(id))
            fail_msg("line %zu: bad id '%s'", lineno, id);
        if (!*name || strchr(name, '\t') || name[0] == ' ' || name[strlen(name) - 1] == ' ')
            fail_msg("line %zu: bad name '%s'", lineno, name);
        if (strcmp(prev, id) >= 0)
            fail_msg("line %zu: '%s' after '%s' (sorted, unique)", lineno, id, prev);
        if (strlen(id) == 5)
            snprintf(parent, sizeof parent, "%s", id);
        else if (strncmp(parent, id, 5) != 0)
            fail_msg("line %zu: sub-technique '%s' without its technique", lineno, id);
        snprintf(prev, sizeof prev, "%s", id);
        const char *got = cr_attack_name(id);
        if (!got || strcmp(got, name) != 0)
            fail_msg("line %zu: '%s' compiled in as '%s', not '%s'", lineno, id, got ? got : "(none)", name);
        n++;
    }
    assert_true(n >= 300);
    assert_int_equal(cr_attack_count(), n);
    free(text);
    free(path);
}

static bool has_tags(char **attack, char **skills)
{
    return (attack && attack[0]) || (skills && skills[0]);
}

/* The tagged scenarios load, and their tags reach the model. */
static void test_attack_bundled_scenarios_use_known_techniques(void **state)
{
    (void)state;
    static const char *const names[] = {"telework-router", "cnc-takedown", "invoice-trust"};
    const char *src = getenv("CRANGE_SOURCE");
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char *dir = cr_xasprintf("%s/scenarios/%s", src, names[i]);
        cr_load_opts o = {.teams = 1};
        cr_scenario *s = NULL;
        cr_error_clear();
        if (cr_scenario_load(&s, dir, &o) < 0)
            fail_msg("%s: %s", names[i], cr_error_message());
        const cr_team_model *t = &s->teams[0];
        size_t tagged = 0;
        for (size_t k = 0; k < t->n_objectives; k++) {
            for (char **p = t->objectives[k].attack; p && *p; p++)
                assert_non_null(cr_attack_name(*p));
            tagged += has_tags(t->objectives[k].attack, t->objectives[k].skills);
        }
        for (size_t k = 0; k < t->n_flags; k++) {
            for (char **p = t->flags[k].attack; p && *p; p++)
                assert_non_null(cr_attack_name(*p));
            tagged += has_tags(t->flags[k].attack, t->flags[k].skills);
        }
        /* Every objective and flag of the bundled scenarios is tagged. */
        assert_int_equal(tagged, t->n_objectives + t->n_flags);
        cr_scenario_free(s);
        free(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attack_known_ids_have_their_names),
        cmocka_unit_test(test_attack_unknown_and_malformed_ids_have_no_name),
        cmocka_unit_test(test_attack_table_file_is_well_formed_and_compiled_in),
        cmocka_unit_test(test_attack_bundled_scenarios_use_known_techniques),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
