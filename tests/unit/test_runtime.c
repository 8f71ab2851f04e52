/*
 * test_runtime.c: a team's kept Lua state at exercise time (runtime.h).
 * Checks, inject conditions and actions and the solution run against a fake
 * cr_guest_ops that answers from canned results keyed by VM and command, so
 * that these tests prove the runtime's own behaviour: what ctx gives a
 * check, how results and failures become met / not met with a reason, the
 * per-call limits, the solution's privileges, and that a runtime's model is
 * the loader's. Real guests are the end-to-end tests' business.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "log.h"
#include "runtime.h"
#include "scenario.h"
#include "testutil.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The scenario ------------------------------------------------------ */

static const char SCENARIO[] =
    "scenario{ id = \"rt\", title = { ja = \"題\", en = \"T\" }, description = { ja = \"説明\", en = \"D\" },\n"
    "  teams = 3 }\n"
    "local v = vars{ token = random.hex(8, { secret = true }), port = random.int(20000, 40000) }\n"
    "local lan = network{ name = \"lan\", cidr = \"10.20.0.0/24\" }\n"
    "local router = vm{ name = \"router\", image = \"tiny\", nics = { { network = lan, address = lan:host(1) } } }\n"
    "vm{ name = \"mail\", image = \"tiny\", nics = { { network = lan, address = lan:host(25) } },\n"
    "  provision = { user{ name = \"u\", password = v.token }, run \"echo ready\" } }\n"
    "vm{ name = \"attacker\", image = \"tiny\", nics = { { network = lan, address = lan:host(66) } } }\n"
    "local T = { ja = \"題\", en = \"T\" }\n"
    "objective{ id = \"nft\", title = T, points = 1, check = function(ctx)\n"
    "  local r = ctx.vm(router):exec{ \"nft\", \"list\", \"ruleset\" } -- a vm{} handle works too\n"
    "  return r.code == 0 and r.stdout:find(\"drop\", 1, true) ~= nil\n"
    "end }\n"
    "objective{ id = \"shell\", title = T, points = 1, check = function(ctx)\n"
    "  local r = ctx.vm(\"router\"):exec(\"ip route | grep -c default\")\n"
    "  return r.code == 3 and r.stdout == \"1\\n\" and r.stderr == \"warn\\n\" and r.signal == 0\n"
    "end }\n"
    "objective{ id = \"files\", title = T, points = 1, check = function(ctx)\n"
    "  local m = ctx.vm(\"mail\")\n"
    "  local c, err = m:read_file(\"/etc/motd\")\n"
    "  local n, why = m:read_file(\"/nosuch\")\n"
    "  return c == \"hello\\0world\" and err == nil and n == nil and why == \"/nosuch: no such file\"\n"
    "    and m:file_exists(\"/etc/motd\") and not m:file_exists(\"/nosuch\")\n"
    "end }\n"
    "objective{ id = \"smtp\", title = T, points = 1, check = function(ctx)\n"
    "  return ctx.vm(\"attacker\"):tcp_open(\"10.20.0.25\", 25)\n"
    "end }\n"
    "objective{ id = \"submission\", title = T, points = 1, check = function(ctx)\n"
    "  return ctx.vm(\"attacker\"):tcp_open(\"10.20.0.25\", 587, 5)\n"
    "end }\n"
    "objective{ id = \"bad-port\", title = T, points = 1, check = function(ctx)\n"
    "  return ctx.vm(\"attacker\"):tcp_open(\"10.20.0.25\", 70000) -- bad-port\n"
    "end }\n"
    "objective{ id = \"boom\", title = T, points = 1, check = function(ctx)\n"
    "  error(\"boom\") -- boom\n"
    "end }\n"
    "objective{ id = \"index\", title = T, points = 1, check = function(ctx)\n"
    "  local t = nil\n"
    "  return t.x -- index\n"
    "end }\n"
    "objective{ id = \"nil\", title = T, points = 1, check = function(ctx) end }\n"
    "objective{ id = \"false\", title = T, points = 1, check = function(ctx) return false end }\n"
    "objective{ id = \"number\", title = T, points = 1, check = function(ctx) return 1 end }\n"
    "objective{ id = \"string\", title = T, points = 1, check = function(ctx) return \"true\" end }\n"
    "objective{ id = \"loop\", title = T, points = 1, check = function(ctx)\n"
    "  while true do end -- loop\n"
    "end }\n"
    "objective{ id = \"loop-pcall\", title = T, points = 1, check = function(ctx)\n"
    "  for i = 1, 10 do pcall(function() while true do end end) end -- loop-pcall\n"
    "  return true\n"
    "end }\n"
    "objective{ id = \"slow\", title = T, points = 1, check = function(ctx)\n"
    "  return ctx.vm(\"router\"):exec(\"sleep 60\").code == 0 -- slow\n"
    "end }\n"
    "objective{ id = \"ghost\", title = T, points = 1, check = function(ctx)\n"
    "  return ctx.vm(\"nosuch\"):exec(\"true\").code == 0 -- ghost\n"
    "end }\n"
    "objective{ id = \"submit\", title = T, points = 1, check = function(ctx)\n"
    "  return ctx.submit(\"answer\", \"x\") == \"correct\" -- submit\n"
    "end }\n"
    "objective{ id = \"agent-down\", title = T, points = 1, check = function(ctx)\n"
    "  return ctx.vm(\"mail\"):exec(\"true\").code == 0 -- agent-down\n"
    "end }\n"
    "objective{ id = \"agent-down-caught\", title = T, points = 1, check = function(ctx)\n"
    "  local ok, err = pcall(function() return ctx.vm(\"mail\"):exec(\"true\") end)\n"
    "  return not ok and err:find(\"exec on vm 'mail': guest agent is not responding\", 1, true) ~= nil\n"
    "end }\n"
    "objective{ id = \"ctx\", title = T, points = 1, check = function(ctx)\n"
    "  local ok = ctx.team == team.number and ctx.vars.token == v.token and ctx.vars.port == v.port\n"
    "  ctx.vars.token = \"changed\"\n"
    "  ctx.log(\"checked team \" .. ctx.team)\n"
    "  return ok\n"
    "end }\n"
    "objective{ id = \"token\", title = T, points = 1, check = function(ctx)\n"
    "  return ctx.vm(\"router\"):exec(\"cat /token\").stdout == ctx.vars.token\n"
    "end }\n"
    "objective{ id = \"hog\", title = T, points = 1, check = function(ctx)\n"
    "  local t = {}\n"
    "  while true do t[#t + 1] = string.rep(\"x\", 65536) .. #t end -- hog\n"
    "end }\n"
    "objective{ id = \"declare\", title = T, points = 1, check = function(ctx)\n"
    "  objective{ id = \"late\", title = T, points = 1, check = function() return true end } -- declare\n"
    "  return true\n"
    "end }\n"
    "flag{ id = \"answer\", question = { ja = \"問\", en = \"Q\" }, points = 1,\n"
    "  answer = function(vars) return \"T-\" .. vars.token end }\n"
    "inject{ id = \"phish\", title = T, at = \"10m\", run = { vm = \"mail\", cmd = \"deliver /tmp/phish\" },\n"
    "  action = function(ctx) ctx.vm(\"mail\"):exec(\"echo action\") end }\n"
    "inject{ id = \"failing\", title = T, at = 1, run = { vm = \"mail\", argv = { \"/bin/false\", \"x\" } },\n"
    "  action = function(ctx) ctx.vm(\"mail\"):exec(\"echo action\") end }\n"
    "inject{ id = \"cond\", title = T,\n"
    "  when = function(ctx) return ctx.vm(\"router\"):exec(\"cat /up\").code == 0 end,\n"
    "  action = function(ctx) error(\"action failed\") end } -- cond\n"
    "solution(function(ctx)\n"
    "  local verdict = ctx.submit(\"answer\", \"T-\" .. ctx.vars.token)\n"
    "  if verdict ~= \"correct\" then error(\"verdict was \" .. verdict) end -- verdict\n"
    "end)\n";

/* The line of SCENARIO that contains MARKER. */
static int line_of(const char *marker)
{
    const char *p = strstr(SCENARIO, marker);
    assert_non_null(p);
    int line = 1;
    for (const char *q = SCENARIO; q < p; q++)
        line += *q == '\n';
    return line;
}

/* ---- The fake guest operations ----------------------------------------- */

#define FAKE_ROWS 32

typedef struct fake_row {
    const char *vm;
    const char *cmd; /* argv joined by single spaces */
    int rc;          /* < 0: the operation fails with this code and message */
    const char *message;
    int code;
    const char *out;
    size_t out_len;  /* 0: strlen(out) */
    const char *err;
    int delay_ms;    /* sleeps min(delay, timeout + 50 ms) first; a longer delay is a timeout */
} fake_row;

typedef struct fake {
    fake_row rows[FAKE_ROWS];
    size_t n_rows;
    cr_buf log;          /* "vm: cmd\n" per exec, in order */
    int calls;
    int last_timeout;
    const char *last_argv[16];
    char argv_store[16][512];
    const char *verdict; /* what submit answers */
    char submitted[256]; /* "flag=answer" */
} fake;

static void fake_set(fake *f, fake_row row)
{
    for (size_t i = 0; i < f->n_rows; i++) {
        if (!strcmp(f->rows[i].vm, row.vm) && !strcmp(f->rows[i].cmd, row.cmd)) {
            f->rows[i] = row;
            return;
        }
    }
    assert_true(f->n_rows < FAKE_ROWS);
    f->rows[f->n_rows++] = row;
}

static int fake_exec(void *ctx, const char *vm, const char *const *argv, const void *input, size_t input_len,
                     int timeout_s, cr_exec_result *out)
{
    (void)input;
    (void)input_len;
    fake *f = ctx;
    cr_buf cmd = {0};
    memset(out, 0, sizeof *out);
    size_t i = 0;
    for (; argv[i]; i++) {
        cr_buf_add(&cmd, i ? " " : "");
        cr_buf_add(&cmd, argv[i]);
        if (i < 15) {
            snprintf(f->argv_store[i], sizeof f->argv_store[i], "%s", argv[i]);
            f->last_argv[i] = f->argv_store[i];
        }
    }
    f->last_argv[i < 15 ? i : 15] = NULL;
    f->calls++;
    f->last_timeout = timeout_s;
    cr_buf_addf(&f->log, "%s: %s\n", vm, cmd.data);
    const fake_row *r = NULL;
    for (size_t k = 0; k < f->n_rows && !r; k++)
        if (!strcmp(f->rows[k].vm, vm) && !strcmp(f->rows[k].cmd, cmd.data))
            r = &f->rows[k];
    int rc = 0;
    if (!r) {
        rc = cr_error_set(CR_ERROR, "fake: nothing canned for %s: %s", vm, cmd.data);
    } else if (r->delay_ms) {
        int limit = timeout_s * 1000 + 50;
        cr_sleep_ms(r->delay_ms < limit ? r->delay_ms : limit);
        if (r->delay_ms >= limit)
            rc = cr_error_set(CR_ETIMEOUT, "command timed out after %d s", timeout_s);
    }
    if (rc == 0 && r->rc < 0)
        rc = cr_error_set(r->rc, "%s", r->message);
    if (rc == 0) {
        out->exit_code = r->code;
        out->out_len = r->out ? (r->out_len ? r->out_len : strlen(r->out)) : 0;
        out->out = cr_xmalloc(out->out_len + 1);
        memcpy(out->out, r->out ? r->out : "", out->out_len);
        out->out[out->out_len] = '\0';
        out->err = cr_xstrdup(r->err ? r->err : "");
        out->err_len = strlen(out->err);
    }
    cr_buf_free(&cmd);
    return rc;
}

static int fake_read_file(void *ctx, const char *vm, const char *path, size_t max, char **out, size_t *len)
{
    (void)ctx;
    (void)max;
    if (!strcmp(vm, "mail") && !strcmp(path, "/etc/motd")) {
        *out = cr_xmalloc(12);
        memcpy(*out, "hello\0world", 12);
        *len = 11;
        return 0;
    }
    return cr_error_set(CR_ENOTFOUND, "%s: no such file", path);
}

static int fake_submit(void *ctx, const char *flag, const char *answer, char **verdict)
{
    fake *f = ctx;
    snprintf(f->submitted, sizeof f->submitted, "%s=%s", flag, answer);
    *verdict = cr_xstrdup(f->verdict ? f->verdict : "correct");
    return 0;
}

static void fake_init(fake *f)
{
    memset(f, 0, sizeof *f);
    fake_set(f, (fake_row){.vm = "router", .cmd = "nft list ruleset", .out = "table inet f { chain c { drop } }\n"});
    fake_set(f, (fake_row){.vm = "router", .cmd = "/bin/sh -c ip route | grep -c default", .code = 3,
                           .out = "1\n", .err = "warn\n"});
    fake_set(f, (fake_row){.vm = "mail", .cmd = "/bin/sh -c test -e \"$1\" || test -L \"$1\" sh /etc/motd"});
    fake_set(f, (fake_row){.vm = "mail", .cmd = "/bin/sh -c test -e \"$1\" || test -L \"$1\" sh /nosuch", .code = 1});
    fake_set(f, (fake_row){.vm = "router", .cmd = "/bin/sh -c sleep 60", .delay_ms = 60000});
    fake_set(f, (fake_row){.vm = "mail", .cmd = "/bin/sh -c true", .rc = CR_ERROR,
                           .message = "guest agent is not responding"});
    fake_set(f, (fake_row){.vm = "mail", .cmd = "/bin/sh -c deliver /tmp/phish"});
    fake_set(f, (fake_row){.vm = "mail", .cmd = "/bin/sh -c echo action", .out = "action\n"});
    fake_set(f, (fake_row){.vm = "mail", .cmd = "/bin/false x", .code = 1, .err = "no luck\nsecond line\n"});
    fake_set(f, (fake_row){.vm = "router", .cmd = "/bin/sh -c cat /up", .code = 1});
}

static void fake_free(fake *f)
{
    cr_buf_free(&f->log);
}

static cr_guest_ops ops_of(fake *f, bool solution)
{
    return (cr_guest_ops){fake_exec, fake_read_file, solution ? fake_submit : NULL, f};
}

/* ---- Fixture ----------------------------------------------------------- */

static const unsigned char SECRET[CR_SECRET_LEN] = "0123456789abcdef0123456789abcdef";

typedef struct fixture {
    char *dir;
    cr_load_opts opts;
    cr_runtime *rt;
    const cr_team_model *model;
    fake fk;
    cr_guest_ops ops;
} fixture;

static int setup(void **state)
{
    fixture *f = cr_xcalloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    tu_write(f->dir, "scenario.lua", SCENARIO);
    f->opts.secret = SECRET;
    f->opts.instruction_limit = 2000000; /* a runaway check stops in milliseconds */
    cr_error_clear();
    if (cr_runtime_open(&f->rt, f->dir, 2, &f->opts, &f->model) < 0)
        fail_msg("open: %s", cr_error_message());
    fake_init(&f->fk);
    f->ops = ops_of(&f->fk, false);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cr_runtime_free(f->rt);
    fake_free(&f->fk);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Runs check ID; returns met and leaves the reason (or "") in REASON. */
static bool check(fixture *f, const char *id, int timeout_s, char reason[512])
{
    bool met = true;
    char *why = NULL;
    assert_int_equal(cr_runtime_check(f->rt, id, &f->ops, timeout_s, &met, &why), 0);
    snprintf(reason, 512, "%s", why ? why : "");
    if (met)
        assert_null(why);
    else
        assert_non_null(why);
    free(why);
    return met;
}

static char *at_line(const char *marker, const char *what)
{
    return cr_xasprintf("scenario.lua:%d: %s", line_of(marker), what);
}

/* ---- Checks ------------------------------------------------------------ */

static void test_check_sees_the_guest_exec_result_and_returns_true_or_false(void **state)
{
    fixture *f = *state;
    char reason[512];
    assert_true(check(f, "nft", 10, reason));
    assert_string_equal(f->fk.log.data, "router: nft list ruleset\n");
    assert_true(f->fk.last_timeout >= 1 && f->fk.last_timeout <= 10);

    fake_set(&f->fk, (fake_row){.vm = "router", .cmd = "nft list ruleset", .out = "table inet f { }\n"});
    assert_false(check(f, "nft", 10, reason));
    assert_string_equal(reason, "returned false");

    fake_set(&f->fk, (fake_row){.vm = "router", .cmd = "nft list ruleset", .code = 1, .out = "drop"});
    assert_false(check(f, "nft", 10, reason));
}

static void test_exec_of_a_shell_string_runs_sh_and_returns_code_stdout_stderr(void **state)
{
    fixture *f = *state;
    char reason[512];
    assert_true(check(f, "shell", 10, reason));
    assert_string_equal(f->fk.last_argv[0], "/bin/sh");
    assert_string_equal(f->fk.last_argv[1], "-c");
    assert_string_equal(f->fk.last_argv[2], "ip route | grep -c default");
    assert_null(f->fk.last_argv[3]);
}

static void test_read_file_and_file_exists(void **state)
{
    fixture *f = *state;
    char reason[512];
    if (!check(f, "files", 10, reason))
        fail_msg("not met: %s", reason);
    assert_string_equal(f->fk.log.data,
                        "mail: /bin/sh -c test -e \"$1\" || test -L \"$1\" sh /etc/motd\n"
                        "mail: /bin/sh -c test -e \"$1\" || test -L \"$1\" sh /nosuch\n");
}

static const char TCP_PROBE[] = "if nc -h 2>&1 | grep -q -e -z; then exec nc -z -w \"$1\" \"$2\" \"$3\"; fi; "
                                "timeout $(($1 + 1)) nc -w \"$1\" \"$2\" \"$3\" </dev/null >/dev/null 2>&1; rc=$?; "
                                "[ $rc -eq 0 ] || [ $rc -eq 124 ] || [ $rc -eq 143 ]";

static void test_tcp_open_builds_the_probe_command_and_maps_exit_codes(void **state)
{
    fixture *f = *state;
    char reason[512];
    char *cmd = cr_xasprintf("/bin/sh -c %s sh 2 10.20.0.25 25", TCP_PROBE);
    fake_set(&f->fk, (fake_row){.vm = "attacker", .cmd = cmd, .code = 0});
    assert_true(check(f, "smtp", 10, reason));
    const char *expect[] = {"/bin/sh", "-c", TCP_PROBE, "sh", "2", "10.20.0.25", "25", NULL};
    for (size_t i = 0; i < 8; i++) {
        if (expect[i])
            assert_string_equal(f->fk.last_argv[i], expect[i]);
        else
            assert_null(f->fk.last_argv[i]);
    }
    fake_set(&f->fk, (fake_row){.vm = "attacker", .cmd = cmd, .code = 1});
    assert_false(check(f, "smtp", 10, reason));
    assert_string_equal(reason, "returned false");

    char *cmd5 = cr_xasprintf("/bin/sh -c %s sh 5 10.20.0.25 587", TCP_PROBE);
    fake_set(&f->fk, (fake_row){.vm = "attacker", .cmd = cmd5, .code = 0});
    assert_true(check(f, "submission", 10, reason));

    /* `return vm:tcp_open(...)` is a tail call: Lua forgets the line that
     * made it, so the message names the line where the check starts. */
    assert_false(check(f, "bad-port", 10, reason));
    char *expect_reason = at_line("objective{ id = \"bad-port\"", "tcp_open: the port must be an integer from 1 to 65535");
    assert_string_equal(reason, expect_reason);
    free(expect_reason);
    free(cmd5); /* the fake's rows borrow them */
    free(cmd);
}

static void test_check_that_raises_is_not_met_with_its_line(void **state)
{
    fixture *f = *state;
    char reason[512];
    assert_false(check(f, "boom", 10, reason));
    char *expect = at_line("-- boom", "boom");
    assert_string_equal(reason, expect);
    free(expect);
    assert_false(check(f, "index", 10, reason));
    expect = at_line("-- index", "attempt to index a nil value (local 't')");
    assert_string_equal(reason, expect);
    free(expect);
    assert_false(cr_error_pending()); /* a check's failure is an outcome, not an error */
}

static void test_only_exactly_true_is_met(void **state)
{
    fixture *f = *state;
    char reason[512];
    assert_false(check(f, "nil", 10, reason));
    assert_string_equal(reason, "returned nil");
    assert_false(check(f, "false", 10, reason));
    assert_string_equal(reason, "returned false");
    assert_false(check(f, "number", 10, reason));
    assert_string_equal(reason, "returned a number (only true counts)");
    assert_false(check(f, "string", 10, reason));
    assert_string_equal(reason, "returned a string (only true counts)");
}

static void test_infinite_loop_stops_at_the_instruction_limit_and_the_runtime_still_works(void **state)
{
    fixture *f = *state;
    char reason[512];
    int64_t t0 = cr_now_ms();
    assert_false(check(f, "loop", 10, reason));
    char *expect = at_line("-- loop\n", "instruction limit exceeded");
    assert_string_equal(reason, expect);
    free(expect);
    /* pcall cannot swallow the limit */
    assert_false(check(f, "loop-pcall", 10, reason));
    expect = at_line("-- loop-pcall", "instruction limit exceeded");
    assert_string_equal(reason, expect);
    free(expect);
    assert_true(cr_now_ms() - t0 < 1500);
    /* the budget is per call, and the hook is re-armed */
    for (int i = 0; i < 3; i++) {
        assert_true(check(f, "nft", 10, reason));
        assert_false(check(f, "loop", 10, reason));
    }
    assert_true(check(f, "ctx", 10, reason));
}

/* One deadline case, run in its own thread with its own runtime, so that
 * both cases' second of waiting overlaps. */
typedef struct deadline_case {
    const char *dir;
    const char *id;
    uint64_t instruction_limit;
    char reason[512];
    int64_t ms;
    int op_timeout;
    bool recovered;
    char error[512];
} deadline_case;

static void *run_deadline(void *arg)
{
    deadline_case *c = arg;
    cr_load_opts o = {.secret = SECRET, .instruction_limit = c->instruction_limit};
    cr_runtime *rt = NULL;
    fake fk;
    fake_init(&fk);
    cr_guest_ops ops = ops_of(&fk, false);
    if (cr_runtime_open(&rt, c->dir, 2, &o, NULL) < 0) {
        snprintf(c->error, sizeof c->error, "open: %s", cr_error_message());
    } else {
        bool met = true;
        char *why = NULL;
        int64_t t0 = cr_now_ms();
        if (cr_runtime_check(rt, c->id, &ops, 1, &met, &why) < 0 || met)
            snprintf(c->error, sizeof c->error, "%s: expected not met", c->id);
        c->ms = cr_now_ms() - t0;
        c->op_timeout = fk.last_timeout;
        snprintf(c->reason, sizeof c->reason, "%s", why ? why : "");
        free(why);
        c->recovered = cr_runtime_check(rt, "nft", &ops, 10, &met, NULL) == 0 && met;
    }
    cr_runtime_free(rt);
    fake_free(&fk);
    return NULL;
}

static void test_deadline_stops_a_slow_guest_operation_and_a_busy_loop(void **state)
{
    fixture *f = *state;
    deadline_case c[2] = {
        /* the fake sleeps through the op's timeout: caught when the op returns */
        {.dir = f->dir, .id = "slow", .instruction_limit = 2000000},
        /* only the clock can stop this one: caught by the count hook */
        {.dir = f->dir, .id = "loop", .instruction_limit = 1000000000000ull},
    };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, run_deadline, &c[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    const char *markers[2] = {"-- slow", "-- loop\n"};
    for (int i = 0; i < 2; i++) {
        assert_string_equal(c[i].error, "");
        char *expect = at_line(markers[i], "timed out after 1 s");
        assert_string_equal(c[i].reason, expect);
        free(expect);
        assert_true(c[i].ms >= 1000 && c[i].ms < 1800);
        assert_true(c[i].recovered);
    }
    assert_int_equal(c[0].op_timeout, 1); /* the time left, at least 1 s */
}

/* A check whose time goes into one long C call (a backtracking pattern)
 * escapes the hook, which sees the clock only between instructions, and
 * returns true after its limit: it is not met. */
static void test_a_check_that_returns_true_after_its_time_limit_is_not_met(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    tu_write(dir, "scenario.lua",
             "scenario{ id = \"t\", title = { ja = \"題\", en = \"T\" }, description = { ja = \"説明\", en = \"D\" } }\n"
             "local lan = network{ name = \"lan\", cidr = \"10.0.0.0/24\" }\n"
             "vm{ name = \"ws\", image = \"tiny\", nics = { { network = lan, address = lan:host(10) } } }\n"
             "objective{ id = \"slow\", title = { ja = \"遅\", en = \"Slow\" }, points = 1,\n"
             "  check = function(ctx) string.find(string.rep(\"a\", 30000), \".-b\") return true end }\n");
    cr_load_opts o = {.secret = SECRET};
    cr_runtime *rt = NULL;
    if (cr_runtime_open(&rt, dir, 1, &o, NULL) < 0)
        fail_msg("open: %s", cr_error_message());
    fake fk;
    fake_init(&fk);
    cr_guest_ops ops = ops_of(&fk, false);
    bool met = true;
    char *why = NULL;
    int64_t t0 = cr_now_ms();
    assert_int_equal(cr_runtime_check(rt, "slow", &ops, 1, &met, &why), 0);
    int64_t took = cr_now_ms() - t0;
    bool slow_enough = took > 1100;
    if (slow_enough) {
        assert_false(met);
        assert_non_null(why);
        assert_non_null(strstr(why, "timed out after 1 s (it returned after "));
    }
    free(why);
    cr_runtime_free(rt);
    fake_free(&fk);
    tu_rmtree(dir);
    free(dir);
    if (!slow_enough) {
        /* Too fast a machine to go past the limit: nothing to see. */
        fprintf(stderr, "the pattern took only %lld ms; skipping\n", (long long)took);
        skip();
    }
}

static void test_unknown_vm_or_objective_is_reported_clearly(void **state)
{
    fixture *f = *state;
    char reason[512];
    assert_false(check(f, "ghost", 10, reason));
    char *expect = at_line("-- ghost", "ctx.vm: no vm 'nosuch' in this team");
    assert_string_equal(reason, expect);
    free(expect);
    assert_int_equal(f->fk.calls, 0);

    bool met = true;
    char *why = NULL;
    cr_error_clear();
    assert_int_equal(cr_runtime_check(f->rt, "nosuch", &f->ops, 10, &met, &why), CR_ENOTFOUND);
    assert_false(met);
    assert_null(why);
    assert_string_equal(cr_error_message(), "objective 'nosuch' does not exist");
    cr_error_clear();
}

static void test_guest_failure_is_a_lua_error_a_check_may_catch(void **state)
{
    fixture *f = *state;
    char reason[512];
    assert_false(check(f, "agent-down", 10, reason));
    char *expect = at_line("-- agent-down", "exec on vm 'mail': guest agent is not responding");
    assert_string_equal(reason, expect);
    free(expect);
    assert_true(check(f, "agent-down-caught", 10, reason));
    assert_false(cr_error_pending());
}

static void test_ctx_has_the_team_and_a_fresh_copy_of_its_vars(void **state)
{
    fixture *f = *state;
    char reason[512];
    for (int i = 0; i < 2; i++)
        if (!check(f, "ctx", 10, reason))
            fail_msg("call %d: %s", i, reason);
}

static void test_memory_hog_is_not_met_and_the_runtime_recovers(void **state)
{
    fixture *f = *state;
    char reason[512];
    cr_runtime_free(f->rt);
    f->opts.memory_limit = 16u * 1024 * 1024;
    assert_int_equal(cr_runtime_open(&f->rt, f->dir, 2, &f->opts, NULL), 0);
    for (int i = 0; i < 3; i++) {
        assert_false(check(f, "hog", 10, reason));
        char *expect = at_line("-- hog", "memory limit exceeded (16 MiB)");
        assert_string_equal(reason, expect);
        free(expect);
        assert_true(check(f, "nft", 10, reason));
    }
}

static void test_checks_cannot_declare(void **state)
{
    fixture *f = *state;
    char reason[512];
    assert_false(check(f, "declare", 10, reason));
    char *expect = at_line("-- declare", "objective: declarations are only allowed while the scenario loads");
    assert_string_equal(reason, expect);
    free(expect);
}

static void test_guest_operations_need_ops(void **state)
{
    fixture *f = *state;
    bool met = true;
    char *why = NULL;
    assert_int_equal(cr_runtime_check(f->rt, "nft", NULL, 10, &met, &why), 0);
    assert_false(met);
    assert_non_null(strstr(why, "exec: no guest operations were given to this call"));
    free(why);
}

/* ---- The solution ------------------------------------------------------ */

static void test_submit_works_only_in_the_solution(void **state)
{
    fixture *f = *state;
    char reason[512];
    /* Even with a submit operation at hand, a check may not submit. */
    f->ops = ops_of(&f->fk, true);
    assert_false(check(f, "submit", 10, reason));
    char *expect = at_line("-- submit", "ctx.submit: only the solution may submit flag answers");
    assert_string_equal(reason, expect);
    free(expect);
    assert_string_equal(f->fk.submitted, "");

    cr_error_clear();
    assert_int_equal(cr_runtime_solution(f->rt, &f->ops, 10), 0);
    char *submitted = cr_xasprintf("answer=%s", f->model->flags[0].answer);
    assert_string_equal(f->fk.submitted, submitted);
    free(submitted);
    assert_false(cr_error_pending());
}

static void test_solution_errors_carry_file_and_line(void **state)
{
    fixture *f = *state;
    f->ops = ops_of(&f->fk, true);
    f->fk.verdict = "wrong";
    cr_error_clear();
    assert_int_equal(cr_runtime_solution(f->rt, &f->ops, 10), CR_EINVAL);
    char *expect = at_line("-- verdict", "verdict was wrong");
    assert_string_equal(cr_error_message(), expect);
    free(expect);
    cr_error_clear();

    /* A solution without a submit operation cannot submit. */
    f->ops = ops_of(&f->fk, false);
    assert_int_equal(cr_runtime_solution(f->rt, &f->ops, 10), CR_EINVAL);
    assert_non_null(strstr(cr_error_message(), "ctx.submit: not available in this call"));
    cr_error_clear();
}

static void test_scenario_without_solution_is_not_found(void **state)
{
    fixture *f = *state;
    char *dir = tu_tmpdir();
    tu_write(dir, "scenario.lua",
             "scenario{ id = \"nosol\", title = { ja = \"題\", en = \"T\" }, description = { ja = \"説明\", en = \"D\" } }\n");
    cr_runtime *rt = NULL;
    const cr_team_model *m = NULL;
    assert_int_equal(cr_runtime_open(&rt, dir, 1, NULL, &m), 0);
    assert_false(m->has_solution);
    cr_error_clear();
    assert_int_equal(cr_runtime_solution(rt, &f->ops, 5), CR_ENOTFOUND);
    cr_error_clear();
    cr_runtime_free(rt);
    tu_rmtree(dir);
    free(dir);
}

/* ---- Injects ----------------------------------------------------------- */

static void test_inject_when_is_true_only_when_its_condition_holds(void **state)
{
    fixture *f = *state;
    bool holds = true;
    char *why = NULL;
    assert_int_equal(cr_runtime_inject_when(f->rt, "cond", &f->ops, 10, &holds, &why), 0);
    assert_false(holds);
    assert_string_equal(why, "returned false");
    free(why);
    fake_set(&f->fk, (fake_row){.vm = "router", .cmd = "/bin/sh -c cat /up", .code = 0});
    assert_int_equal(cr_runtime_inject_when(f->rt, "cond", &f->ops, 10, &holds, NULL), 0);
    assert_true(holds);

    cr_error_clear();
    assert_int_equal(cr_runtime_inject_when(f->rt, "nosuch", &f->ops, 10, &holds, NULL), CR_ENOTFOUND);
    assert_false(holds);
    cr_error_clear();
    assert_int_equal(cr_runtime_inject_when(f->rt, "phish", &f->ops, 10, &holds, NULL), CR_EINVAL);
    assert_string_equal(cr_error_message(), "inject 'phish' has no when condition (it fires at 600 s)");
    cr_error_clear();
}

static void test_inject_fire_runs_its_command_on_its_vm_then_its_action(void **state)
{
    fixture *f = *state;
    cr_error_clear();
    assert_int_equal(cr_runtime_inject_fire(f->rt, "phish", &f->ops, 10), 0);
    assert_string_equal(f->fk.log.data, "mail: /bin/sh -c deliver /tmp/phish\n"
                                        "mail: /bin/sh -c echo action\n");
    assert_false(cr_error_pending());
}

static void test_inject_fire_fails_when_its_command_fails_and_skips_the_action(void **state)
{
    fixture *f = *state;
    cr_error_clear();
    assert_int_equal(cr_runtime_inject_fire(f->rt, "failing", &f->ops, 10), CR_ERROR);
    char *expect = cr_xasprintf("scenario.lua:%d: inject 'failing': run on vm 'mail' exited with code 1: no luck",
                                line_of("inject{ id = \"failing\""));
    assert_string_equal(cr_error_message(), expect);
    free(expect);
    assert_string_equal(f->fk.log.data, "mail: /bin/false x\n");
    cr_error_clear();

    assert_int_equal(cr_runtime_inject_fire(f->rt, "cond", &f->ops, 10), CR_EINVAL);
    expect = at_line("-- cond", "action failed");
    assert_string_equal(cr_error_message(), expect);
    free(expect);
    cr_error_clear();
    assert_int_equal(cr_runtime_inject_fire(f->rt, "nosuch", &f->ops, 10), CR_ENOTFOUND);
    cr_error_clear();
}

/* ---- Threads ----------------------------------------------------------- */

typedef struct worker {
    const char *dir;
    int team;
    int rounds;
    int wrong;      /* results other than expected */
    char error[512];
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    cr_load_opts o = {.secret = SECRET, .instruction_limit = 2000000};
    cr_runtime *rt = NULL;
    const cr_team_model *m = NULL;
    fake fk;
    fake_init(&fk);
    cr_error_clear();
    if (cr_runtime_open(&rt, w->dir, w->team, &o, &m) < 0) {
        snprintf(w->error, sizeof w->error, "open: %s", cr_error_message());
        fake_free(&fk);
        return NULL;
    }
    /* This team's token, as its own guest would show it. */
    fake_set(&fk, (fake_row){.vm = "router", .cmd = "/bin/sh -c cat /token", .out = cr_team_var(m, "token")->value});
    cr_guest_ops ops = ops_of(&fk, false);
    for (int i = 0; i < w->rounds; i++) {
        bool met = false;
        char *why = NULL;
        const char *id = i % 50 == 49 ? "loop" : i % 5 == 4 ? "boom" : "token";
        if (cr_runtime_check(rt, id, &ops, 10, &met, &why) < 0)
            w->wrong++;
        else if (met != !strcmp(id, "token"))
            w->wrong++;
        else if (!met && !strstr(why, !strcmp(id, "boom") ? ": boom" : ": instruction limit exceeded"))
            w->wrong++;
        free(why);
    }
    if (cr_error_pending())
        snprintf(w->error, sizeof w->error, "pending: %s", cr_error_message());
    cr_runtime_free(rt);
    fake_free(&fk);
    return NULL;
}

static void test_two_runtimes_in_two_threads_do_not_interfere(void **state)
{
    fixture *f = *state;
    worker w[2] = {{.dir = f->dir, .team = 1, .rounds = 200}, {.dir = f->dir, .team = 3, .rounds = 200}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(w[i].error, "");
        assert_int_equal(w[i].wrong, 0);
    }
}

/* ---- The model --------------------------------------------------------- */

static void eq_str(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void eq_strv(char **a, char **b)
{
    if (!a || !b) {
        assert_ptr_equal(a, b);
        return;
    }
    size_t i = 0;
    for (; a[i] && b[i]; i++)
        assert_string_equal(a[i], b[i]);
    assert_ptr_equal(a[i], b[i]);
}

static void eq_text(const cr_text *a, const cr_text *b)
{
    eq_str(a->ja, b->ja);
    eq_str(a->en, b->en);
}

static void eq_where(const cr_where *a, const cr_where *b)
{
    eq_str(a->file, b->file);
    assert_int_equal(a->line, b->line);
}

static void eq_hints(const cr_hint *a, size_t na, const cr_hint *b, size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        eq_text(&a[i].text, &b[i].text);
        assert_int_equal(a[i].cost, b[i].cost);
    }
}

static void eq_vm(const cr_vm *a, const cr_vm *b)
{
    eq_str(a->name, b->name);
    eq_str(a->image, b->image);
    assert_int_equal(a->memory_mib, b->memory_mib);
    assert_int_equal(a->vcpus, b->vcpus);
    assert_int_equal(a->gateway, b->gateway);
    assert_int_equal(a->entry, b->entry);
    eq_text(&a->description, &b->description);
    eq_where(&a->where, &b->where);
    assert_int_equal(a->n_nics, b->n_nics);
    for (size_t i = 0; i < a->n_nics; i++) {
        eq_str(a->nics[i].network, b->nics[i].network);
        assert_int_equal(a->nics[i].addr, b->nics[i].addr);
        eq_where(&a->nics[i].where, &b->nics[i].where);
    }
    assert_int_equal(a->n_steps, b->n_steps);
    for (size_t i = 0; i < a->n_steps; i++) {
        const cr_step *x = &a->steps[i], *y = &b->steps[i];
        assert_int_equal(x->kind, y->kind);
        eq_where(&x->where, &y->where);
        eq_str(x->src, y->src);
        assert_int_equal(x->content_len, y->content_len);
        if (x->content || y->content)
            assert_memory_equal(x->content, y->content, x->content_len);
        eq_str(x->dest, y->dest);
        assert_int_equal(x->mode, y->mode);
        eq_str(x->user, y->user);
        eq_str(x->password, y->password);
        eq_str(x->shell, y->shell);
        eq_strv(x->groups, y->groups);
        eq_strv(x->argv, y->argv);
        assert_int_equal(x->timeout_s, y->timeout_s);
    }
}

static void assert_team_equal(const cr_team_model *a, const cr_team_model *b)
{
    assert_int_equal(a->number, b->number);
    assert_int_equal(a->n_networks, b->n_networks);
    for (size_t i = 0; i < a->n_networks; i++) {
        eq_str(a->networks[i].name, b->networks[i].name);
        assert_int_equal(a->networks[i].addr, b->networks[i].addr);
        assert_int_equal(a->networks[i].prefix, b->networks[i].prefix);
        assert_int_equal(a->networks[i].dhcp, b->networks[i].dhcp);
        eq_str(a->networks[i].forward, b->networks[i].forward);
        eq_where(&a->networks[i].where, &b->networks[i].where);
    }
    assert_int_equal(a->n_vms, b->n_vms);
    for (size_t i = 0; i < a->n_vms; i++)
        eq_vm(&a->vms[i], &b->vms[i]);
    assert_int_equal(a->n_vars, b->n_vars);
    for (size_t i = 0; i < a->n_vars; i++) {
        eq_str(a->vars[i].name, b->vars[i].name);
        eq_str(a->vars[i].value, b->vars[i].value);
        assert_int_equal(a->vars[i].secret, b->vars[i].secret);
        eq_where(&a->vars[i].where, &b->vars[i].where);
    }
    assert_int_equal(a->n_objectives, b->n_objectives);
    for (size_t i = 0; i < a->n_objectives; i++) {
        const cr_objective *x = &a->objectives[i], *y = &b->objectives[i];
        eq_str(x->id, y->id);
        eq_text(&x->title, &y->title);
        assert_int_equal(x->points, y->points);
        eq_strv(x->prereqs, y->prereqs);
        eq_hints(x->hints, x->n_hints, y->hints, y->n_hints);
        assert_int_equal(x->mode, y->mode);
        assert_int_equal(x->has_check, y->has_check);
        eq_where(&x->where, &y->where);
    }
    assert_int_equal(a->n_flags, b->n_flags);
    for (size_t i = 0; i < a->n_flags; i++) {
        const cr_flag *x = &a->flags[i], *y = &b->flags[i];
        eq_str(x->id, y->id);
        eq_text(&x->question, &y->question);
        assert_int_equal(x->points, y->points);
        assert_int_equal(x->max_attempts, y->max_attempts);
        assert_int_equal(x->answer_kind, y->answer_kind);
        eq_str(x->answer, y->answer);
        assert_int_equal(x->case_sensitive, y->case_sensitive);
        eq_hints(x->hints, x->n_hints, y->hints, y->n_hints);
        eq_where(&x->where, &y->where);
    }
    assert_int_equal(a->n_injects, b->n_injects);
    for (size_t i = 0; i < a->n_injects; i++) {
        const cr_inject *x = &a->injects[i], *y = &b->injects[i];
        eq_str(x->id, y->id);
        eq_text(&x->title, &y->title);
        assert_int_equal(x->at_s, y->at_s);
        assert_int_equal(x->has_when, y->has_when);
        assert_int_equal(x->has_action, y->has_action);
        eq_str(x->vm, y->vm);
        eq_strv(x->argv, y->argv);
        eq_where(&x->where, &y->where);
    }
    assert_int_equal(a->has_solution, b->has_solution);
}

static void test_runtime_model_equals_the_loaders_for_that_team(void **state)
{
    fixture *f = *state;
    cr_load_opts o = {.secret = SECRET}; /* teams: the scenario's own 3 */
    cr_scenario *s = NULL;
    cr_error_clear();
    assert_int_equal(cr_scenario_load(&s, f->dir, &o), 0);
    assert_int_equal(s->n_teams, 3);
    for (int team = 1; team <= 3; team++) {
        cr_runtime *rt = NULL;
        const cr_team_model *m = NULL;
        assert_int_equal(cr_runtime_open(&rt, f->dir, team, &o, &m), 0);
        assert_team_equal(m, &s->teams[team - 1]);
        cr_runtime_free(rt);
    }
    /* The fixture's runtime: team 2, the same secret. */
    assert_team_equal(f->model, &s->teams[1]);
    assert_string_not_equal(s->teams[0].flags[0].answer, s->teams[1].flags[0].answer);
    cr_scenario_free(s);
}

static void test_runtime_open_refuses_a_team_the_range_does_not_have(void **state)
{
    fixture *f = *state;
    cr_runtime *rt = NULL;
    cr_error_clear();
    assert_int_equal(cr_runtime_open(&rt, f->dir, 4, NULL, NULL), CR_EINVAL); /* the scenario says 3 */
    assert_null(rt);
    char *expect = cr_xasprintf("%s: no team 4 (the range has 3)", f->dir);
    assert_string_equal(cr_error_message(), expect);
    free(expect);
    cr_error_clear();
    cr_load_opts o = {.teams = 5};
    assert_int_equal(cr_runtime_open(&rt, f->dir, 5, &o, NULL), 0);
    cr_runtime_free(rt);
    assert_int_equal(cr_runtime_open(&rt, f->dir, 0, &o, NULL), CR_EINVAL);
    cr_error_clear();
}

int main(void)
{
    cr_log_threshold = CR_LOG_WARN; /* ctx.log lines are info */
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_check_sees_the_guest_exec_result_and_returns_true_or_false),
        T(test_exec_of_a_shell_string_runs_sh_and_returns_code_stdout_stderr),
        T(test_read_file_and_file_exists),
        T(test_tcp_open_builds_the_probe_command_and_maps_exit_codes),
        T(test_check_that_raises_is_not_met_with_its_line),
        T(test_only_exactly_true_is_met),
        T(test_infinite_loop_stops_at_the_instruction_limit_and_the_runtime_still_works),
        T(test_deadline_stops_a_slow_guest_operation_and_a_busy_loop),
        cmocka_unit_test(test_a_check_that_returns_true_after_its_time_limit_is_not_met),
        T(test_unknown_vm_or_objective_is_reported_clearly),
        T(test_guest_failure_is_a_lua_error_a_check_may_catch),
        T(test_ctx_has_the_team_and_a_fresh_copy_of_its_vars),
        T(test_memory_hog_is_not_met_and_the_runtime_recovers),
        T(test_checks_cannot_declare),
        T(test_guest_operations_need_ops),
        T(test_submit_works_only_in_the_solution),
        T(test_solution_errors_carry_file_and_line),
        T(test_scenario_without_solution_is_not_found),
        T(test_inject_when_is_true_only_when_its_condition_holds),
        T(test_inject_fire_runs_its_command_on_its_vm_then_its_action),
        T(test_inject_fire_fails_when_its_command_fails_and_skips_the_action),
        T(test_two_runtimes_in_two_threads_do_not_interfere),
        T(test_runtime_model_equals_the_loaders_for_that_team),
        T(test_runtime_open_refuses_a_team_the_range_does_not_have),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
