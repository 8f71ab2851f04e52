/*
 * test_engine.c: the engine's per-range lock (engine.h). Two `crange run`
 * or `serve` on one range would collect the same action channels twice and
 * double every check; the second one must fail at once, naming the range
 * and the pid that holds it, and a holder killed with -9 must leave nothing
 * locked. The holder here is a child process; the range database is built
 * by hand, so no libvirt and no VM is involved: the lock is taken before
 * the scenario is loaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine.h"
#include "err.h"
#include "state.h"
#include "testutil.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct fixture {
    char *dir; /* the state folder */
    cr_config cfg;
    pid_t holder;
} fixture;

static int setup(void **state)
{
    fixture *f = cr_xcalloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    f->cfg = (cr_config){.state_dir = f->dir, .connect = "test:///default", .accel = "tcg", .jobs = 2};
    cr_state *st = NULL;
    cr_error_clear();
    if (cr_state_open(&st, f->dir, "drill", true) < 0)
        fail_msg("open: %s", cr_error_message());
    cr_range_row r = {.name = "drill", .scenario_id = "demo", .scenario_dir = "/nonexistent/demo",
                      .scenario_digest = "beef", .teams = 1, .hosts = "[\"test:///default\"]", .accel = "tcg",
                      .status = "up"};
    assert_int_equal(cr_state_put_range(st, &r), 0);
    cr_state_close(st);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->holder > 0) {
        kill(f->holder, SIGKILL);
        waitpid(f->holder, NULL, 0);
    }
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void hold_lock(fixture *f)
{
    f->holder = tu_hold_engine_lock(f->dir, "drill");
}

static void kill_holder(fixture *f)
{
    assert_int_equal(kill(f->holder, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(f->holder, &status, 0), f->holder);
    assert_true(WIFSIGNALED(status));
    f->holder = 0;
}

static int open_engine(fixture *f, bool actions, bool exclusive)
{
    cr_engine_opts o = {.range = "drill", .actions = actions, .exclusive = exclusive};
    cr_engine *e = NULL;
    cr_error_clear();
    int rc = cr_engine_open(&e, &f->cfg, &o);
    assert_null(e); /* never fully opens here: the scenario folder does not exist */
    return rc;
}

static void test_engine_a_second_run_on_a_range_fails_at_once(void **state)
{
    fixture *f = *state;
    hold_lock(f);
    char *want = cr_xasprintf("range drill is already run by another crange run or serve (pid %d)", (int)f->holder);

    /* run and serve (they collect actions), and run --no-actions. */
    double t0 = cr_now_seconds();
    assert_int_equal(open_engine(f, true, false), CR_EBUSY);
    assert_string_equal(cr_error_message(), want);
    assert_int_equal(open_engine(f, false, true), CR_EBUSY);
    assert_string_equal(cr_error_message(), want);
    assert_true(cr_now_seconds() - t0 < 2.0);

    /* solve and run --once take no lock: they may run beside a run. */
    assert_int_not_equal(open_engine(f, false, false), CR_EBUSY);
    assert_null(strstr(cr_error_message(), "already run"));
    cr_error_clear();
    free(want);
}

static void test_engine_lock_dies_with_a_holder_killed_with_9(void **state)
{
    fixture *f = *state;
    hold_lock(f);
    assert_int_equal(open_engine(f, true, false), CR_EBUSY);
    kill_holder(f);
    /* The open now goes past the lock (and stops at the missing scenario). */
    int rc = open_engine(f, true, false);
    assert_true(rc < 0);
    assert_int_not_equal(rc, CR_EBUSY);
    cr_error_clear();
    /* ...and gave the lock back when it failed. */
    int fd = -1;
    assert_int_equal(cr_engine_lock(&fd, f->dir, "drill"), 0);
    assert_true(fd >= 0);
    /* A second holder in this process is refused too, naming this pid. */
    int fd2 = -1;
    cr_error_clear();
    assert_int_equal(cr_engine_lock(&fd2, f->dir, "drill"), CR_EBUSY);
    assert_int_equal(fd2, -1);
    char *want = cr_xasprintf("range drill is already run by another crange run or serve (pid %d)", (int)getpid());
    assert_string_equal(cr_error_message(), want);
    free(want);
    cr_error_clear();
    cr_engine_unlock(fd);
    assert_int_equal(cr_engine_lock(&fd, f->dir, "drill"), 0);
    cr_engine_unlock(fd);
    cr_engine_unlock(-1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_engine_a_second_run_on_a_range_fails_at_once),
        T(test_engine_lock_dies_with_a_holder_killed_with_9),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
