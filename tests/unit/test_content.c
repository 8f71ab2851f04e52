/*
 * test_content.c: the exercise content of the scenario language
 * (objective{}, flag{}, inject{}, solution()) lands in the C model exactly,
 * function answers are per team, and the rules that span declarations
 * (bilingual texts, ids, prerequisites, inject timing and targets) are
 * enforced with the right position. The error catalogue for each rule is in
 * tests/fixtures/bad/ (test_lang_errors); here are the cases that need more
 * than one message or a look at the model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "scenario.h"
#include "testutil.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HEAD[] =
    "scenario{ id = \"t\", title = { ja = \"題\", en = \"T\" }, description = { ja = \"説明\", en = \"D\" } }\n";

typedef struct fixture {
    char *dir;
    cr_scenario *s;
} fixture;

static int setup(void **state)
{
    fixture *f = cr_xcalloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cr_scenario_free(f->s);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Writes HEAD + body and loads it with TEAMS teams (0: the scenario's). */
static int load(fixture *f, const char *body, int teams)
{
    char *text = cr_xasprintf("%s%s", HEAD, body);
    tu_write(f->dir, "scenario.lua", text);
    free(text);
    cr_scenario_free(f->s);
    f->s = NULL;
    cr_load_opts o = {.teams = teams};
    cr_error_clear();
    return cr_scenario_load(&f->s, f->dir, &o);
}

static void load_ok(fixture *f, const char *body, int teams)
{
    if (load(f, body, teams) < 0)
        fail_msg("load failed: %s", cr_error_message());
}

static void load_fails(fixture *f, const char *body, const char *message)
{
    assert_int_equal(load(f, body, 0), CR_EINVAL);
    assert_null(f->s);
    assert_string_equal(cr_error_message(), message);
}

static const char CONTENT[] =
    /* 2 */ "local v = vars{ token = random.hex(8, { secret = true }), port = random.int(20000, 40000) }\n"
    /* 3 */ "vm{ name = \"router\", image = \"tiny\" }\n"
    /* 4 */ "local mail = vm{ name = \"mail\", image = \"tiny\" }\n"
    /* 5 */ "local recon = objective{\n"
    /* 6 */ "  id = \"find_c2\", title = { ja = \"C2 を特定\", en = \"Find the C2\" }, points = 10,\n"
    /* 7 */ "  hints = { { ja = \"ログを見よ\", en = \"Read the logs\", cost = 2 }, { ja = \"ポート\", en = \"Port\" } },\n"
    /* 8 */ "  check = function(ctx) return true end,\n"
    /* 9 */ "}\n"
    /* 10 */ "objective{\n"
    /* 11 */ "  id = \"block-c2\", title = { ja = \"C2 を遮断\", en = \"Block the C2\" }, points = 20,\n"
    /* 12 */ "  prereqs = { recon, \"c2-port\" }, mode = \"hold\",\n"
    /* 13 */ "  check = function(ctx) return false end,\n"
    /* 14 */ "}\n"
    /* 15 */ "flag{ id = \"c2-port\", question = { ja = \"ポートは?\", en = \"Which port?\" }, points = 5,\n"
    /* 16 */ "  answer = function(vars) return tostring(vars.port) end, max_attempts = 3 }\n"
    /* 17 */ "flag{ id = \"token\", question = { ja = \"トークン\", en = \"Token\" }, points = 7,\n"
    /* 18 */ "  answer = { pattern = \"flag\\\\{[0-9a-f]{16}\\\\}\" }, case_sensitive = true,\n"
    /* 19 */ "  hints = { { ja = \"形式\", en = \"Format\", cost = 1 } } }\n"
    /* 20 */ "flag{ id = \"plain\", question = { ja = \"名前\", en = \"Name\" }, points = 0, answer = \"Mirai\" }\n"
    /* 21 */ "inject{ id = \"phish\", title = { ja = \"フィッシング\", en = \"Phishing\" }, at = \"10m\",\n"
    /* 22 */ "  run = { vm = mail, cmd = \"deliver /tmp/phish\" } }\n"
    /* 23 */ "inject{ id = \"ddos\", title = { ja = \"DDoS\", en = \"DDoS\" },\n"
    /* 24 */ "  when = function(ctx) return true end,\n"
    /* 25 */ "  run = { vm = \"router\", argv = { \"/usr/sbin/flood\", \"-n\", \"3\" } },\n"
    /* 26 */ "  action = function(ctx) end }\n"
    /* 27 */ "inject{ id = \"note\", title = { ja = \"連絡\", en = \"Note\" }, at = 30, action = function(ctx) end }\n"
    /* 28 */ "solution(function(ctx) ctx.submit(\"plain\", \"Mirai\") end)\n";

static void test_content_declarations_load_into_the_exact_model(void **state)
{
    fixture *f = *state;
    load_ok(f, CONTENT, 2);
    for (size_t k = 0; k < 2; k++) {
        const cr_team_model *t = &f->s->teams[k];
        assert_int_equal(t->n_objectives, 2);
        const cr_objective *o = &t->objectives[0];
        assert_string_equal(o->id, "find_c2");
        assert_string_equal(o->title.ja, "C2 を特定");
        assert_string_equal(o->title.en, "Find the C2");
        assert_int_equal(o->points, 10);
        assert_non_null(o->prereqs);
        assert_null(o->prereqs[0]);
        assert_int_equal(o->n_hints, 2);
        assert_string_equal(o->hints[0].text.ja, "ログを見よ");
        assert_string_equal(o->hints[0].text.en, "Read the logs");
        assert_int_equal(o->hints[0].cost, 2);
        assert_int_equal(o->hints[1].cost, 0);
        assert_int_equal(o->mode, CR_MODE_ONCE);
        assert_true(o->has_check);
        assert_string_equal(o->where.file, "scenario.lua");
        assert_int_equal(o->where.line, 5);

        o = &t->objectives[1];
        assert_string_equal(o->id, "block-c2");
        assert_int_equal(o->mode, CR_MODE_HOLD);
        assert_string_equal(o->prereqs[0], "find_c2");
        assert_string_equal(o->prereqs[1], "c2-port");
        assert_null(o->prereqs[2]);
        assert_int_equal(o->n_hints, 0);
        assert_int_equal(o->where.line, 10);
        assert_ptr_equal(cr_team_objective(t, "block-c2"), o);
        assert_null(cr_team_objective(t, "c2-port"));

        assert_int_equal(t->n_flags, 3);
        const cr_flag *fl = &t->flags[0];
        assert_string_equal(fl->id, "c2-port");
        assert_string_equal(fl->question.en, "Which port?");
        assert_int_equal(fl->points, 5);
        assert_int_equal(fl->max_attempts, 3);
        assert_int_equal(fl->answer_kind, CR_ANSWER_LITERAL);
        assert_string_equal(fl->answer, cr_team_var(t, "port")->value);
        assert_false(fl->case_sensitive);
        assert_int_equal(fl->where.line, 15);
        fl = &t->flags[1];
        assert_int_equal(fl->answer_kind, CR_ANSWER_PATTERN);
        assert_string_equal(fl->answer, "flag\\{[0-9a-f]{16}\\}");
        assert_true(fl->case_sensitive);
        assert_int_equal(fl->max_attempts, 0);
        assert_int_equal(fl->n_hints, 1);
        assert_string_equal(fl->hints[0].text.ja, "形式");
        assert_int_equal(fl->hints[0].cost, 1);
        fl = &t->flags[2];
        assert_string_equal(fl->answer, "Mirai");
        assert_int_equal(fl->points, 0);
        assert_ptr_equal(cr_team_flag(t, "plain"), fl);
        assert_null(cr_team_flag(t, "find_c2"));

        assert_int_equal(t->n_injects, 3);
        const cr_inject *in = &t->injects[0];
        assert_string_equal(in->id, "phish");
        assert_string_equal(in->title.ja, "フィッシング");
        assert_int_equal(in->at_s, 600);
        assert_false(in->has_when);
        assert_false(in->has_action);
        assert_string_equal(in->vm, "mail");
        assert_string_equal(in->argv[0], "/bin/sh");
        assert_string_equal(in->argv[1], "-c");
        assert_string_equal(in->argv[2], "deliver /tmp/phish");
        assert_null(in->argv[3]);
        assert_int_equal(in->where.line, 21);
        in = &t->injects[1];
        assert_int_equal(in->at_s, -1);
        assert_true(in->has_when);
        assert_true(in->has_action);
        assert_string_equal(in->vm, "router");
        assert_string_equal(in->argv[0], "/usr/sbin/flood");
        assert_string_equal(in->argv[2], "3");
        assert_null(in->argv[3]);
        in = &t->injects[2];
        assert_int_equal(in->at_s, 30);
        assert_null(in->vm);
        assert_null(in->argv);
        assert_true(in->has_action);

        assert_true(t->has_solution);
    }
}

static void test_content_is_empty_and_solution_absent_by_default(void **state)
{
    fixture *f = *state;
    load_ok(f, "vm{ name = \"a\", image = \"tiny\" }\n", 0);
    const cr_team_model *t = &f->s->teams[0];
    assert_int_equal(t->n_objectives, 0);
    assert_int_equal(t->n_flags, 0);
    assert_int_equal(t->n_injects, 0);
    assert_false(t->has_solution);
    assert_null(cr_team_objective(t, "x"));
    assert_null(cr_team_flag(t, "x"));
}

static void test_function_answers_differ_per_team_and_follow_vars(void **state)
{
    fixture *f = *state;
    load_ok(f,
            "flag{ id = \"token\", question = { ja = \"問\", en = \"Q\" }, points = 1,\n"
            "  answer = function(v) return \"FLAG{\" .. v.token .. \"}\" end }\n"
            /* declared after the flag: answers see every vars{} of the script */
            "vars{ token = random.hex(8, { secret = true }) }\n",
            5);
    for (size_t k = 0; k < 5; k++) {
        const cr_team_model *t = &f->s->teams[k];
        char *expect = cr_xasprintf("FLAG{%s}", cr_team_var(t, "token")->value);
        assert_string_equal(t->flags[0].answer, expect);
        assert_int_equal(t->flags[0].answer_kind, CR_ANSWER_LITERAL);
        free(expect);
        for (size_t j = 0; j < k; j++)
            assert_string_not_equal(t->flags[0].answer, f->s->teams[j].flags[0].answer);
    }
}

static void test_function_answer_may_return_a_pattern(void **state)
{
    fixture *f = *state;
    load_ok(f,
            "local v = vars{ user = random.word() }\n"
            "flag{ id = \"who\", question = { ja = \"誰\", en = \"Who\" }, points = 1,\n"
            "  answer = function(vars) return { pattern = \"(user )?\" .. vars.user } end }\n",
            2);
    for (size_t k = 0; k < 2; k++) {
        const cr_team_model *t = &f->s->teams[k];
        char *expect = cr_xasprintf("(user )?%s", cr_team_var(t, "user")->value);
        assert_int_equal(t->flags[0].answer_kind, CR_ANSWER_PATTERN);
        assert_string_equal(t->flags[0].answer, expect);
        free(expect);
    }
}

static void test_patterns_are_compiled_at_load_whatever_made_them(void **state)
{
    fixture *f = *state;
    load_ok(f,
            "flag{ id = \"a\", question = { ja = \"問\", en = \"Q\" }, points = 1,\n"
            "  answer = { pattern = \"[[:alnum:]]+(-[0-9]{2,4})?\" } }\n",
            0);
    load_fails(f,
               "flag{ id = \"a\", question = { ja = \"問\", en = \"Q\" }, points = 1,\n"
               "  answer = function(v) return { pattern = \"a(\" } end }\n",
               "scenario.lua:2: flag 'a': bad pattern 'a(': Unmatched ( or \\(");
    load_fails(f,
               "flag{ id = \"a\", question = { ja = \"問\", en = \"Q\" }, points = 1,\n"
               "  answer = function(v) return { pattern = \"x\", extra = 1 } end }\n",
               "scenario.lua:2: flag 'a': the answer function must return a string or { pattern = \"...\" }, "
               "not another table");
}

static void test_trainee_texts_must_be_bilingual(void **state)
{
    fixture *f = *state;
    load_fails(f, "objective{ id = \"a\", title = { en = \"T\" }, points = 1, check = function() end }\n",
               "scenario.lua:2: objective: 'title' needs both 'ja' and 'en' as non-empty strings");
    load_fails(f, "objective{ id = \"a\", title = { ja = \"題\", en = \"\" }, points = 1, check = function() end }\n",
               "scenario.lua:2: objective: 'title' needs both 'ja' and 'en' as non-empty strings");
    load_fails(f, "objective{ id = \"a\", points = 1, check = function() end }\n",
               "scenario.lua:2: objective: missing required key 'title'");
    load_fails(f, "flag{ id = \"a\", question = { ja = \"問\" }, points = 1, answer = \"x\" }\n",
               "scenario.lua:2: flag: 'question' needs both 'ja' and 'en' as non-empty strings");
    load_fails(f,
               "flag{ id = \"a\", question = { ja = \"問\", en = \"Q\" }, points = 1, answer = \"x\",\n"
               "  hints = { { ja = \"ヒント\" } } }\n",
               "scenario.lua:2: flag: hints[1]: needs both 'ja' and 'en' as non-empty strings");
    load_fails(f,
               "flag{ id = \"a\", question = { ja = \"問\", en = \"Q\", fr = \"Question\" }, points = 1, answer = \"x\" }\n",
               "scenario.lua:2: flag: 'question': unknown key 'fr'");
    load_fails(f, "inject{ id = \"a\", title = { ja = \"題\" }, at = 1, action = function() end }\n",
               "scenario.lua:2: inject: 'title' needs both 'ja' and 'en' as non-empty strings");
}

static void test_ids_are_lowercase_with_digits_dash_and_underscore(void **state)
{
    fixture *f = *state;
    load_ok(f,
            "objective{ id = \"a_b-9\", title = { ja = \"題\", en = \"T\" }, points = 1, check = function() end }\n"
            "flag{ id = \"abcdefghijklmnopqrstuvwxyz01234\", question = { ja = \"問\", en = \"Q\" }, points = 1,\n"
            "  answer = \"x\" }\n",
            0);
    assert_non_null(cr_team_objective(&f->s->teams[0], "a_b-9"));
    static const char *const bad[] = {"_a", "9a", "Ab", "a b", "abcdefghijklmnopqrstuvwxyz012345", "", NULL};
    for (const char *const *id = bad; *id; id++) {
        char *body = cr_xasprintf("flag{ id = \"%s\", question = { ja = \"問\", en = \"Q\" }, points = 1, "
                                  "answer = \"x\" }\n",
                                  *id);
        char *msg = cr_xasprintf("scenario.lua:2: flag: 'id' must be a lowercase letter then lowercase letters, "
                                 "digits, '_' or '-' (at most 31), not '%s'",
                                 *id);
        load_fails(f, body, msg);
        free(msg);
        free(body);
    }
}

static void test_ids_are_unique_across_objectives_and_flags(void **state)
{
    fixture *f = *state;
    load_fails(f,
               "flag{ id = \"x\", question = { ja = \"問\", en = \"Q\" }, points = 1, answer = \"a\" }\n"
               "objective{ id = \"x\", title = { ja = \"題\", en = \"T\" }, points = 1, check = function() end }\n",
               "scenario.lua:3: objective: duplicate id 'x' (first declared at scenario.lua:2)");
    /* Injects have their own ids. */
    load_ok(f,
            "flag{ id = \"x\", question = { ja = \"問\", en = \"Q\" }, points = 1, answer = \"a\" }\n"
            "inject{ id = \"x\", title = { ja = \"題\", en = \"T\" }, at = 5, action = function() end }\n",
            0);
}

static void test_prereqs_must_exist_and_form_no_cycle(void **state)
{
    fixture *f = *state;
    const char *obj = "objective{ id = \"%s\", title = { ja = \"題\", en = \"T\" }, points = 1, prereqs = { %s },\n"
                      "  check = function() end }\n";
    char *a = cr_xasprintf(obj, "a", "\"b\"");
    char *b = cr_xasprintf(obj, "b", "\"flag1\"");
    char *body = cr_xasprintf("%s%sflag{ id = \"flag1\", question = { ja = \"問\", en = \"Q\" }, points = 1, "
                              "answer = \"z\" }\n",
                              a, b);
    load_ok(f, body, 0); /* a chain through a flag, declared later */
    free(body);
    free(b);

    b = cr_xasprintf(obj, "b", "\"ghost\"");
    body = cr_xasprintf("%s%s", a, b);
    load_fails(f, body, "scenario.lua:4: objective 'b': unknown prerequisite 'ghost' (not an objective or flag)");
    free(body);
    free(b);

    b = cr_xasprintf(obj, "b", "\"a\"");
    body = cr_xasprintf("%s%s", a, b);
    load_fails(f, body, "scenario.lua:2: objective 'a': prerequisites form a cycle (a -> b -> a)");
    free(body);
    free(b);
    free(a);
}

static void test_inject_needs_at_xor_when_and_run_or_action(void **state)
{
    fixture *f = *state;
    const char *head = "vm{ name = \"pc\", image = \"tiny\" }\n";
    char *body;
    body = cr_xasprintf("%sinject{ id = \"i\", title = { ja = \"題\", en = \"T\" }, at = 5, when = function() end,\n"
                        "  action = function() end }\n",
                        head);
    load_fails(f, body, "scenario.lua:3: inject: give exactly one of 'at' and 'when'");
    free(body);
    body = cr_xasprintf("%sinject{ id = \"i\", title = { ja = \"題\", en = \"T\" }, action = function() end }\n", head);
    load_fails(f, body, "scenario.lua:3: inject: give exactly one of 'at' and 'when'");
    free(body);
    body = cr_xasprintf("%sinject{ id = \"i\", title = { ja = \"題\", en = \"T\" }, when = function() end }\n", head);
    load_fails(f, body, "scenario.lua:3: inject: needs 'run', 'action' or both");
    free(body);
    body = cr_xasprintf("%sinject{ id = \"i\", title = { ja = \"題\", en = \"T\" }, when = function() end,\n"
                        "  run = { vm = \"pc\", argv = {} } }\n",
                        head);
    load_fails(f, body, "scenario.lua:3: inject: run: 'argv' must not be empty");
    free(body);
    body = cr_xasprintf("%sinject{ id = \"i\", title = { ja = \"題\", en = \"T\" }, when = function() end,\n"
                        "  run = { cmd = \"true\" } }\n",
                        head);
    load_fails(f, body, "scenario.lua:3: inject: run: missing required key 'vm'");
    free(body);
    body = cr_xasprintf("%sinject{ id = \"i\", title = { ja = \"題\", en = \"T\" }, when = function() end,\n"
                        "  run = { vm = \"pc\", cmd = \"true\" } }\n",
                        head);
    load_ok(f, body, 0);
    free(body);
}

static void test_inject_run_on_an_unknown_vm_is_an_error_at_the_inject(void **state)
{
    fixture *f = *state;
    load_fails(f,
               "vm{ name = \"pc\", image = \"tiny\" }\n"
               "local function later(id)\n"
               "  inject{ id = id, title = { ja = \"題\", en = \"T\" }, at = \"1h\", run = { vm = \"mail\", cmd = \"x\" } }\n"
               "end\n"
               "later(\"i\")\n"
               /* declared after the inject: the check runs once the script is done */
               "vm{ name = \"web\", image = \"tiny\" }\n",
               "scenario.lua:4: inject 'i': run: unknown vm 'mail'");
    load_ok(f,
            "inject{ id = \"i\", title = { ja = \"題\", en = \"T\" }, at = \"1h\", run = { vm = \"mail\", cmd = \"x\" } }\n"
            "vm{ name = \"mail\", image = \"tiny\" }\n",
            0);
}

static int inject_at(fixture *f, const char *at, int *out)
{
    char *body = cr_xasprintf("inject{ id = \"i\", title = { ja = \"題\", en = \"T\" }, at = %s, action = function() end }\n",
                              at);
    int rc = load(f, body, 0);
    free(body);
    if (rc == 0)
        *out = f->s->teams[0].injects[0].at_s;
    return rc;
}

static void test_at_takes_seconds_or_durations(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *at;
        int seconds;
    } good[] = {
        {"\"10m\"", 600}, {"\"90s\"", 90}, {"\"1h\"", 3600}, {"30", 30}, {"0", 0}, {"\"1h30m\"", 5400},
        {"\"2m5s\"", 125}, {"120.0", 120}, {"\"168h\"", 604800},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int s = -2;
        if (inject_at(f, good[i].at, &s) < 0)
            fail_msg("at = %s: %s", good[i].at, cr_error_message());
        assert_int_equal(s, good[i].seconds);
    }
    static const char *const bad[] = {"\"10\"", "\"10x\"", "\"\"", "-5", "1.5", "\"30m1h\"", "\"1h1h\"",
                                      "\"10 m\"", "\"169h\"", "true", NULL};
    for (const char *const *at = bad; *at; at++) {
        int s = -2;
        assert_int_equal(inject_at(f, *at, &s), CR_EINVAL);
        assert_string_equal(cr_error_message(), "scenario.lua:2: inject: 'at' must be a number of seconds or a "
                                                "duration like \"90s\", \"10m\", \"1h30m\" (at most 7 days)");
    }
}

static void test_solution_is_one_declaration_call(void **state)
{
    fixture *f = *state;
    load_ok(f, "solution(function(ctx) end)\n", 0);
    assert_true(f->s->teams[0].has_solution);
    load_fails(f, "solution(function(ctx) end)\nsolution(function(ctx) end)\n",
               "scenario.lua:3: solution: declared twice (first at scenario.lua:2)");
    load_fails(f, "function solution(ctx) end\n",
               "scenario.lua: solution: declare it as solution(function(ctx) ... end); "
               "assigning the global 'solution' is not supported");
}

static void test_objective_checks_are_required_functions(void **state)
{
    fixture *f = *state;
    load_fails(f, "objective{ id = \"a\", title = { ja = \"題\", en = \"T\" }, points = 1 }\n",
               "scenario.lua:2: objective: missing required key 'check'");
    load_fails(f, "objective{ id = \"a\", title = { ja = \"題\", en = \"T\" }, points = 1, check = \"true\" }\n",
               "scenario.lua:2: objective: 'check' must be a function(ctx) ... end");
    load_fails(f,
               "objective{ id = \"a\", title = { ja = \"題\", en = \"T\" }, points = 1.5, check = function() end }\n",
               "scenario.lua:2: objective: 'points' must be an integer >= 0");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_content_declarations_load_into_the_exact_model),
        T(test_content_is_empty_and_solution_absent_by_default),
        T(test_function_answers_differ_per_team_and_follow_vars),
        T(test_function_answer_may_return_a_pattern),
        T(test_patterns_are_compiled_at_load_whatever_made_them),
        T(test_trainee_texts_must_be_bilingual),
        T(test_ids_are_lowercase_with_digits_dash_and_underscore),
        T(test_ids_are_unique_across_objectives_and_flags),
        T(test_prereqs_must_exist_and_form_no_cycle),
        T(test_inject_needs_at_xor_when_and_run_or_action),
        T(test_inject_run_on_an_unknown_vm_is_an_error_at_the_inject),
        T(test_at_takes_seconds_or_durations),
        T(test_solution_is_one_declaration_call),
        T(test_objective_checks_are_required_functions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
