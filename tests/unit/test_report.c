/*
 * test_report.c: exercise reports (report.h) from a range database with a
 * hand-built scenario and a few scoring events: the JSON parses and holds
 * the scoreboard, the CSV has one row per team and item plus totals with
 * RFC 4180 quoting, and the HTML is one self-contained, escaped page with
 * the timeline plot and both languages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "events.h"
#include "report.h"
#include "score.h"
#include "state.h"
#include "testutil.h"
#include "util.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000000LL /* 2023-11-14T22:13:20Z */

static cr_hint hints[] = {{{"ログ", "Logs"}, 4}};
static cr_objective objectives[] = {
    {.id = "o_block", .title = {"攻撃を<b>&\"遮断\"", "Stop \"evil\", now"}, .points = 10, .hints = hints,
     .n_hints = 1, .mode = CR_MODE_HOLD},
    {.id = "o_find", .title = {"痕跡を発見", "Find the trace"}, .points = 5, .mode = CR_MODE_ONCE},
};
static cr_flag flags[] = {
    {.id = "f_pw", .question = {"パスワード", "Password\nline two"}, .points = 20, .answer_kind = CR_ANSWER_LITERAL,
     .answer = "hunter2"},
};
static cr_team_model team_model = {.number = 1, .objectives = objectives, .n_objectives = 2, .flags = flags,
                                   .n_flags = 1};
static cr_scenario scenario = {.id = "demo", .teams = &team_model, .n_teams = 1};

typedef struct fixture {
    char *dir;
    cr_state *st;
} fixture;

static void add(cr_state *st, int64_t t, int team, const char *kind, const char *data_json)
{
    json_t *data = json_loads(data_json, 0, NULL);
    assert_non_null(data);
    assert_int_equal(cr_event_add(st, t, team, NULL, kind, data, NULL, NULL), 0);
    json_decref(data);
}

static int setup(void **state)
{
    fixture *f = cr_xcalloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    char *path = cr_path_join(f->dir, "range.db");
    cr_error_clear();
    if (cr_state_open_file(&f->st, path, true) < 0)
        fail_msg("open: %s", cr_error_message());
    free(path);
    cr_range_row r = {
        .name = "drill",
        .scenario_id = "demo",
        .scenario_dir = "/srv/demo",
        .scenario_digest = "beef",
        .title_ja = "演習 <b>&\"タイトル\"",
        .title_en = "Drill <b>&\"title\"",
        .teams = 3,
        .hosts = "[]",
        .accel = "tcg",
        .status = "up",
        .created_ms = T0 - 60000,
    };
    assert_int_equal(cr_state_put_range(f->st, &r), 0);
    assert_int_equal(cr_score_save_content(f->st, &scenario), 0);
    add(f->st, T0, 0, "exercise.start", "{}");
    add(f->st, T0 + 60000, 1, "objective.met", "{\"id\":\"o_block\",\"points\":10,\"mode\":\"hold\"}");
    add(f->st, T0 + 90000, 2, "flag.wrong", "{\"id\":\"f_pw\",\"attempt\":1,\"answer\":\"<script>\"}");
    add(f->st, T0 + 120000, 2, "flag.correct", "{\"id\":\"f_pw\",\"points\":20,\"attempt\":2}");
    add(f->st, T0 + 180000, 1, "hint.taken",
        "{\"id\":\"o_block\",\"index\":0,\"cost\":4,\"text\":{\"ja\":\"ログ\",\"en\":\"Logs\"}}");
    add(f->st, T0 + 240000, 1, "objective.met", "{\"id\":\"o_find\",\"points\":5,\"mode\":\"once\"}");
    add(f->st, T0 + 300000, 1, "objective.lost", "{\"id\":\"o_block\",\"points\":10}");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cr_state_close(f->st);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Writes the report and reads it back (a new string). */
static char *write_report(fixture *f, const char *format, const char *name)
{
    cr_report_format fmt = 0;
    assert_int_equal(cr_report_format_parse(&fmt, format), 0);
    char *path = cr_path_join(f->dir, name);
    cr_error_clear();
    if (cr_report_write(f->st, fmt, path) < 0)
        fail_msg("report %s: %s", format, cr_error_message());
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(cr_read_file(&text, &len, path), 0);
    assert_int_equal(strlen(text), len);
    free(path);
    return text;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_report_format_names_parse(void **state)
{
    (void)state;
    cr_report_format fmt = 0;
    assert_int_equal(cr_report_format_parse(&fmt, "json"), 0);
    assert_int_equal(fmt, CR_REPORT_JSON);
    assert_int_equal(cr_report_format_parse(&fmt, "csv"), 0);
    assert_int_equal(fmt, CR_REPORT_CSV);
    assert_int_equal(cr_report_format_parse(&fmt, "html"), 0);
    assert_int_equal(fmt, CR_REPORT_HTML);
    cr_error_clear();
    assert_int_equal(cr_report_format_parse(&fmt, "pdf"), CR_EINVAL);
    assert_non_null(strstr(cr_error_message(), "'pdf'"));
    cr_error_clear();
}

static void test_report_json_parses_and_holds_the_scoreboard(void **state)
{
    fixture *f = *state;
    char *text = write_report(f, "json", "report.json");
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    if (!doc)
        fail_msg("JSON: %s at line %d", jerr.text, jerr.line);
    json_t *range = json_object_get(doc, "range");
    assert_string_equal(json_string_value(json_object_get(range, "name")), "drill");
    assert_int_equal(json_integer_value(json_object_get(range, "teams")), 3);
    json_t *scen = json_object_get(range, "scenario");
    assert_string_equal(json_string_value(json_object_get(scen, "id")), "demo");
    assert_string_equal(json_string_value(json_object_get(scen, "digest")), "beef");
    assert_string_equal(json_string_value(json_object_get(json_object_get(scen, "title"), "en")),
                        "Drill <b>&\"title\"");

    json_t *board = json_object_get(doc, "scoreboard");
    assert_int_equal(json_integer_value(json_object_get(board, "full_marks")), 35);
    json_t *teams = json_object_get(board, "teams");
    assert_int_equal(json_array_size(teams), 3);
    /* Team 2: 20. Team 1: 10 - 4 + 5 - 10 = 1. Team 3: nothing. */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(teams, 0), "team")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(teams, 0), "score")), 20);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(teams, 1), "score")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(teams, 2), "team")), 3);

    assert_int_equal(json_array_size(json_object_get(doc, "content")), 3);
    json_t *c0 = json_array_get(json_object_get(doc, "content"), 0);
    assert_string_equal(json_string_value(json_object_get(c0, "id")), "o_block");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(c0, "hints"), 0), "cost")), 4);
    assert_int_equal(json_array_size(json_object_get(doc, "timeline")), 3);
    assert_int_equal(json_array_size(json_object_get(doc, "events")), 7);
    assert_null(strstr(text, "hunter2")); /* no answers in reports */
    json_decref(doc);
    free(text);
}

static void test_report_csv_has_a_row_per_team_and_item_with_quoting(void **state)
{
    fixture *f = *state;
    char *text = write_report(f, "csv", "report.csv");
    /* 1 header + 3 teams x (3 items + 1 total), each line ending in CRLF. */
    assert_int_equal(count(text, "\r\n"), 1 + 3 * 4);
    assert_int_equal(strncmp(text, "team,kind,id,title_en,points,met,met_at\r\n", 41), 0);
    /* Team 1: o_block was met, then lost: not met now. */
    assert_non_null(strstr(text, "\r\n1,objective,o_block,\"Stop \"\"evil\"\", now\",10,no,\r\n"));
    assert_non_null(strstr(text, "\r\n1,objective,o_find,Find the trace,5,yes,2023-11-14T22:17:20Z\r\n"));
    assert_non_null(strstr(text, "\r\n1,flag,f_pw,\"Password\nline two\",20,no,\r\n"));
    assert_non_null(strstr(text, "\r\n1,total,,,1,,2023-11-14T22:18:20Z\r\n"));
    assert_non_null(strstr(text, "\r\n2,flag,f_pw,\"Password\nline two\",20,yes,2023-11-14T22:15:20Z\r\n"));
    assert_non_null(strstr(text, "\r\n2,total,,,20,,2023-11-14T22:15:20Z\r\n"));
    assert_non_null(strstr(text, "\r\n3,total,,,0,,\r\n"));
    free(text);
}

static void test_report_html_is_self_contained_escaped_and_bilingual(void **state)
{
    fixture *f = *state;
    char *text = write_report(f, "html", "report.html");
    /* Self-contained: nothing fetched from anywhere. */
    assert_null(strstr(text, "http://"));
    assert_null(strstr(text, "https://"));
    assert_null(strstr(text, "<script"));
    assert_null(strstr(text, "<link"));
    assert_non_null(strstr(text, "<style>"));
    assert_non_null(strstr(text, "<svg"));
    /* Escaped: the raw markup of the titles never appears. */
    assert_null(strstr(text, "<b>&"));
    assert_non_null(strstr(text, "演習 &lt;b&gt;&amp;&quot;タイトル&quot;"));
    assert_non_null(strstr(text, "Drill &lt;b&gt;&amp;&quot;title&quot;"));
    assert_non_null(strstr(text, "攻撃を&lt;b&gt;&amp;&quot;遮断&quot;"));
    assert_non_null(strstr(text, "Stop &quot;evil&quot;, now"));
    /* Both languages, the scoreboard, and a step line plus legend per team. */
    assert_non_null(strstr(text, "得点表 / Scoreboard"));
    assert_non_null(strstr(text, "経過時間"));
    assert_non_null(strstr(text, "elapsed time (min)"));
    assert_int_equal(count(text, "<path class=\"line\""), 3);
    assert_non_null(strstr(text, "チーム 3 / team 3"));
    /* The met time of each team, as elapsed time with the UTC time as a tooltip. */
    assert_non_null(strstr(text, "<td title=\"2023-11-14T22:15:20Z\">+0:02:00</td>"));
    free(text);

    /* Written atomically: no temporary file is left behind. */
    DIR *d = opendir(f->dir);
    struct dirent *e;
    while ((e = readdir(d)))
        assert_null(strstr(e->d_name, ".tmp"));
    closedir(d);
}

static void test_report_of_a_database_without_a_range_is_an_error(void **state)
{
    fixture *f = *state;
    char *path = cr_path_join(f->dir, "empty.db");
    char *out = cr_path_join(f->dir, "empty.html");
    cr_state *st = NULL;
    assert_int_equal(cr_state_open_file(&st, path, true), 0);
    cr_error_clear();
    assert_int_equal(cr_report_write(st, CR_REPORT_HTML, out), CR_ENOTFOUND);
    assert_false(cr_path_exists(out));
    cr_error_clear();
    cr_state_close(st);
    free(path);
    free(out);
}

/* A cell a spreadsheet would take for a formula (= + - @, a tab or a CR
 * first, and the full-width forms Japanese input produces) gets a leading
 * apostrophe, as OWASP advises; a number, negative or not, stays a number. */
static void test_report_csv_cells_cannot_be_formulas(void **state)
{
    fixture *f = *state;
    static cr_objective evil[] = {
        {.id = "o1", .title = {"あ", "=HYPERLINK(\"http://x/\",\"y\")"}, .points = 1, .mode = CR_MODE_ONCE},
        {.id = "o2", .title = {"い", "+cmd|' /C calc'!A0"}, .points = 1, .mode = CR_MODE_ONCE},
        {.id = "o3", .title = {"う", "-2+3"}, .points = 1, .mode = CR_MODE_ONCE},
        {.id = "o4", .title = {"え", "@SUM(A1)"}, .points = 1, .mode = CR_MODE_ONCE},
        {.id = "o5", .title = {"お", "\t=1"}, .points = 1, .mode = CR_MODE_ONCE},
        {.id = "o6", .title = {"か", "\r=1"}, .points = 1, .mode = CR_MODE_ONCE},
        {.id = "o7", .title = {"き", "\xef\xbc\x9d" "1+1"}, .points = 1, .mode = CR_MODE_ONCE}, /* ＝1+1 */
        {.id = "o8", .title = {"く", "-42"}, .points = 1, .mode = CR_MODE_ONCE},
        {.id = "o9", .title = {"け", "safe = text"}, .points = 1, .mode = CR_MODE_ONCE},
    };
    cr_team_model tm = {.number = 1, .objectives = evil, .n_objectives = 9};
    cr_scenario s = {.id = "evil", .teams = &tm, .n_teams = 1};
    assert_int_equal(cr_score_save_content(f->st, &s), 0);
    /* Team 3 takes a hint and nothing else: a negative total. */
    add(f->st, T0 + 360000, 3, "hint.taken", "{\"id\":\"o1\",\"index\":0,\"cost\":7}");
    char *text = write_report(f, "csv", "evil.csv");
    assert_non_null(strstr(text, "\r\n1,objective,o1,\"'=HYPERLINK(\"\"http://x/\"\",\"\"y\"\")\",1,no,\r\n"));
    assert_non_null(strstr(text, "\r\n1,objective,o2,'+cmd|' /C calc'!A0,1,no,\r\n"));
    assert_non_null(strstr(text, "\r\n1,objective,o3,'-2+3,1,no,\r\n"));
    assert_non_null(strstr(text, "\r\n1,objective,o4,'@SUM(A1),1,no,\r\n"));
    assert_non_null(strstr(text, "\r\n1,objective,o5,'\t=1,1,no,\r\n"));
    assert_non_null(strstr(text, "\r\n1,objective,o6,\"'\r=1\",1,no,\r\n"));
    assert_non_null(strstr(text, "\r\n1,objective,o7,'\xef\xbc\x9d" "1+1,1,no,\r\n"));
    assert_non_null(strstr(text, "\r\n1,objective,o8,-42,1,no,\r\n"));
    assert_non_null(strstr(text, "\r\n1,objective,o9,safe = text,1,no,\r\n"));
    assert_non_null(strstr(text, "\r\n3,total,,,-7,,2023-11-14T22:19:20Z\r\n"));
    free(text);
}

/* Coverage: the tags of what each team met against all the scenario has,
 * in every format. Team 1 met o_find (T1110, T1110.004, "log analysis")
 * and lost o_block; team 2 solved f_pw (T1110.004, "password policy");
 * team 3 nothing. A technique is covered at the earliest time an item
 * carrying it was met. */
static char *tag_block[] = {"T1133", "T1110", NULL};
static char *skill_block[] = {"nftables", NULL};
static char *tag_find[] = {"T1110", "T1110.004", NULL};
static char *skill_find[] = {"log analysis", "ログ解析", NULL};
static char *tag_pw[] = {"T1110.004", NULL};
static char *skill_pw[] = {"password policy", "log analysis", NULL};

static void save_tagged(fixture *f)
{
    static cr_objective objs[] = {
        {.id = "o_block", .title = {"遮断", "Block"}, .points = 10, .mode = CR_MODE_HOLD, .attack = tag_block,
         .skills = skill_block},
        {.id = "o_find", .title = {"発見", "Find"}, .points = 5, .mode = CR_MODE_ONCE, .attack = tag_find,
         .skills = skill_find},
    };
    static cr_flag flg[] = {
        {.id = "f_pw", .question = {"パスワード", "Password"}, .points = 20, .answer_kind = CR_ANSWER_LITERAL,
         .answer = "hunter2", .attack = tag_pw, .skills = skill_pw},
    };
    cr_team_model tm = {.number = 1, .objectives = objs, .n_objectives = 2, .flags = flg, .n_flags = 1};
    cr_scenario s = {.id = "demo", .teams = &tm, .n_teams = 1};
    assert_int_equal(cr_score_save_content(f->st, &s), 0);
}

static json_t *find_tag(json_t *list, const char *key, const char *value)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) if (!strcmp(json_string_value(json_object_get(e, key)), value)) return e;
    fail_msg("no %s '%s'", key, value);
    return NULL;
}

static void test_report_json_has_each_teams_coverage(void **state)
{
    fixture *f = *state;
    save_tagged(f);
    char *text = write_report(f, "json", "tags.json");
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    /* The content keeps each item's tags. */
    json_t *c1 = json_array_get(json_object_get(doc, "content"), 1);
    assert_string_equal(json_string_value(json_object_get(c1, "id")), "o_find");
    assert_string_equal(json_string_value(json_array_get(json_object_get(c1, "attack"), 1)), "T1110.004");
    assert_string_equal(json_string_value(json_array_get(json_object_get(c1, "skills"), 1)), "ログ解析");

    json_t *cov = json_object_get(doc, "coverage");
    assert_int_equal(json_array_size(cov), 3);
    json_t *t1 = json_array_get(cov, 0);
    assert_int_equal(json_integer_value(json_object_get(t1, "team")), 1);
    assert_int_equal(json_integer_value(json_object_get(t1, "attack_total")), 3);
    assert_int_equal(json_integer_value(json_object_get(t1, "attack_met")), 2);
    assert_int_equal(json_integer_value(json_object_get(t1, "skills_total")), 4);
    assert_int_equal(json_integer_value(json_object_get(t1, "skills_met")), 2);
    /* Sorted by id, with names; T1133 only on the lost hold objective. */
    json_t *attack = json_object_get(t1, "attack");
    assert_string_equal(json_string_value(json_object_get(json_array_get(attack, 0), "id")), "T1110");
    assert_string_equal(json_string_value(json_object_get(json_array_get(attack, 2), "id")), "T1133");
    json_t *stuffing = find_tag(attack, "id", "T1110.004");
    assert_string_equal(json_string_value(json_object_get(stuffing, "name")), "Credential Stuffing");
    assert_true(json_is_true(json_object_get(stuffing, "met")));
    assert_string_equal(json_string_value(json_object_get(stuffing, "met_at")), "2023-11-14T22:17:20Z");
    assert_true(json_is_false(json_object_get(find_tag(attack, "id", "T1133"), "met")));
    assert_null(json_object_get(find_tag(attack, "id", "T1133"), "met_at"));
    /* Skills in the order the content first names them. */
    json_t *skills = json_object_get(t1, "skills");
    assert_string_equal(json_string_value(json_object_get(json_array_get(skills, 0), "skill")), "nftables");
    assert_string_equal(json_string_value(json_object_get(json_array_get(skills, 3), "skill")), "password policy");
    assert_true(json_is_true(json_object_get(find_tag(skills, "skill", "log analysis"), "met")));

    json_t *t2 = json_array_get(cov, 1);
    assert_int_equal(json_integer_value(json_object_get(t2, "attack_met")), 1);
    assert_int_equal(json_integer_value(json_object_get(t2, "skills_met")), 2);
    assert_true(json_is_false(json_object_get(find_tag(json_object_get(t2, "attack"), "id", "T1110"), "met")));
    json_t *t3 = json_array_get(cov, 2);
    assert_int_equal(json_integer_value(json_object_get(t3, "attack_met")), 0);
    assert_int_equal(json_integer_value(json_object_get(t3, "skills_met")), 0);
    json_decref(doc);
    free(text);
}

static void test_report_csv_and_html_show_coverage(void **state)
{
    fixture *f = *state;
    save_tagged(f);
    char *text = write_report(f, "csv", "tags.csv");
    /* 1 header + 3 teams x (3 items + 3 techniques + 4 skills + 1 total). */
    assert_int_equal(count(text, "\r\n"), 1 + 3 * 11);
    assert_non_null(strstr(text, "\r\n1,attack,T1110,Brute Force,,yes,2023-11-14T22:17:20Z\r\n"));
    assert_non_null(strstr(text, "\r\n1,attack,T1133,External Remote Services,,no,\r\n"));
    assert_non_null(strstr(text, "\r\n1,skill,ログ解析,,,yes,2023-11-14T22:17:20Z\r\n"));
    assert_non_null(strstr(text, "\r\n2,attack,T1110.004,Credential Stuffing,,yes,2023-11-14T22:15:20Z\r\n"));
    assert_non_null(strstr(text, "\r\n2,skill,password policy,,,yes,2023-11-14T22:15:20Z\r\n"));
    assert_non_null(strstr(text, "\r\n3,skill,nftables,,,no,\r\n"));
    /* The totals still close each team's rows. */
    assert_non_null(strstr(text, "\r\n3,skill,password policy,,,no,\r\n3,total,,,0,,\r\n"));
    free(text);

    text = write_report(f, "html", "tags.html");
    assert_non_null(strstr(text, "ATT&amp;CK and skills coverage"));
    assert_non_null(strstr(text, "<td><code>T1110.004</code></td><td>Credential Stuffing</td>"));
    assert_non_null(strstr(text, "<td class=\"yes\" title=\"2023-11-14T22:15:20Z\">✓ +0:02:00</td>"));
    /* Team 1: 2 of 3 techniques; team 3: none of 4 skills. */
    assert_non_null(strstr(text, "<td class=\"num\">2 / 3</td><td class=\"num\">1 / 3</td><td class=\"num\">0 / 3</td>"));
    assert_non_null(strstr(text, "<td class=\"num\">0 / 4</td></tr>"));
    /* The tags under each item's title. */
    assert_non_null(strstr(text, "<span class=\"tags\"><code>T1133</code> · <code>T1110</code> · nftables</span>"));
    free(text);
}

/* Without tags there is no coverage section or rows (the fixture's
 * content has none). */
static void test_report_without_tags_has_no_coverage_section(void **state)
{
    fixture *f = *state;
    char *text = write_report(f, "html", "plain.html");
    assert_null(strstr(text, "coverage"));
    assert_null(strstr(text, "class=\"tags\""));
    free(text);
    text = write_report(f, "json", "plain.json");
    json_t *doc = json_loads(text, 0, NULL);
    json_t *t1 = json_array_get(json_object_get(doc, "coverage"), 0);
    assert_int_equal(json_integer_value(json_object_get(t1, "attack_total")), 0);
    assert_int_equal(json_array_size(json_object_get(t1, "skills")), 0);
    json_decref(doc);
    free(text);
}

/* Runs SQL on the fixture's database through its read-write handle. */
static void sql(fixture *f, const char *text)
{
    char *msg = NULL;
    if (sqlite3_exec(cr_state_db(f->st), text, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", text, msg);
}

/* Closes the fixture's handle and opens its file read-only, as `crange
 * report FILE.db` does. */
static void reopen_readonly(fixture *f)
{
    cr_state_close(f->st);
    f->st = NULL;
    char *path = cr_path_join(f->dir, "range.db");
    cr_error_clear();
    if (cr_state_open_file_readonly(&f->st, path) < 0)
        fail_msg("open read-only: %s", cr_error_message());
    free(path);
}

/* A forged file's views and triggers are refused, not run, and nothing can
 * be written through the handle. */
static void test_report_of_a_forged_file_runs_none_of_its_sql(void **state)
{
    fixture *f = *state;
    sql(f, "ALTER TABLE content RENAME TO content_real;"
           "CREATE VIEW content AS SELECT * FROM content_real;"
           "CREATE TABLE log (x); CREATE TRIGGER t AFTER INSERT ON events BEGIN INSERT INTO log VALUES (1); END");
    reopen_readonly(f);
    char *out = cr_path_join(f->dir, "forged.json");
    cr_error_clear();
    assert_int_equal(cr_report_write(f->st, CR_REPORT_JSON, out), CR_ERROR);
    assert_string_equal(cr_error_message(), "report: content: access to view \"content\" prohibited");
    assert_false(cr_path_exists(out));
    cr_error_clear();
    char *msg = NULL;
    assert_int_not_equal(sqlite3_exec(cr_state_db(f->st), "INSERT INTO log VALUES (2)", NULL, NULL, &msg),
                         SQLITE_OK);
    assert_string_equal(msg, "attempt to write a readonly database");
    sqlite3_free(msg);
    free(out);
}

/* Times at the ends of int64 and points at the ends of int render without
 * overflow (UBSan checks it in the sanitizer build); a team count no range
 * has is refused before anything is allocated for it. */
static void test_report_of_a_forged_file_with_extreme_numbers(void **state)
{
    fixture *f = *state;
    add(f->st, INT64_MIN + 1, 0, "exercise.start", "{}");
    add(f->st, INT64_MAX, 3, "objective.met", "{\"id\":\"o_find\",\"points\":2147483647,\"mode\":\"once\"}");
    add(f->st, INT64_MIN, 1, "flag.correct", "{\"id\":\"f_pw\",\"points\":-2147483647,\"attempt\":1}");
    sql(f, "UPDATE content SET points = -2147483647 WHERE id = 'o_block'");
    reopen_readonly(f);
    static const char *const formats[] = {"json", "csv", "html"};
    for (size_t i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "extreme.%s", formats[i]);
        free(write_report(f, formats[i], name));
    }
    cr_state_close(f->st);
    char *path = cr_path_join(f->dir, "range.db");
    assert_int_equal(cr_state_open_file(&f->st, path, false), 0);
    sql(f, "UPDATE range SET teams = 1000000000");
    reopen_readonly(f);
    char *out = cr_path_join(f->dir, "teams.html");
    cr_error_clear();
    assert_int_equal(cr_report_write(f->st, CR_REPORT_HTML, out), CR_EINVAL);
    assert_string_equal(cr_error_message(), "scoring: 1000000000 teams (at most 999)");
    cr_error_clear();
    free(out);
    free(path);
}

/* A file that is not SQLite at all: one line naming it. */
static void test_report_read_only_open_of_a_non_database_names_the_file(void **state)
{
    fixture *f = *state;
    char *path = cr_path_join(f->dir, "notes.db");
    tu_write(f->dir, "notes.db", "these are not the pages you are looking for, and there are enough of them here\n");
    cr_state *st = NULL;
    cr_error_clear();
    assert_int_equal(cr_state_open_file_readonly(&st, path), CR_EINVAL);
    assert_null(st);
    char *want = cr_xasprintf("%s: file is not a database", path);
    assert_string_equal(cr_error_message(), want);
    free(want);
    cr_error_clear();
    char *missing = cr_path_join(f->dir, "missing.db");
    assert_int_equal(cr_state_open_file_readonly(&st, missing), CR_ENOTFOUND);
    want = cr_xasprintf("%s: no such state database", missing);
    assert_string_equal(cr_error_message(), want);
    free(want);
    cr_error_clear();
    free(missing);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_format_names_parse),
        cmocka_unit_test_setup_teardown(test_report_json_parses_and_holds_the_scoreboard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_csv_has_a_row_per_team_and_item_with_quoting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_html_is_self_contained_escaped_and_bilingual, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_of_a_database_without_a_range_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_csv_cells_cannot_be_formulas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_json_has_each_teams_coverage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_csv_and_html_show_coverage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_without_tags_has_no_coverage_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_of_a_forged_file_runs_none_of_its_sql, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_of_a_forged_file_with_extreme_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_read_only_open_of_a_non_database_names_the_file, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
