/*
 * test_pool.c: the worker pool of pool.h on real threads: every job runs
 * exactly once, worker indexes stay below the worker count and are never
 * shared by two jobs at the same time, each failure keeps its own
 * thread-local message, and progress reaches the total.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "pool.h"
#include "util.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORKERS 64

typedef struct run_ctx {
    size_t n;
    int workers;
    atomic_int *runs;              /* per job */
    atomic_int busy[MAX_WORKERS];  /* per worker index: jobs running on it now */
    atomic_int max_worker;
    atomic_int overlap;            /* set when a worker index ran two jobs at once */
    int (*outcome)(size_t job);    /* the code a job returns */
} run_ctx;

static int always_ok(size_t job)
{
    (void)job;
    return 0;
}

/* Job j fails when j % 7 == 3, with a code that depends on j. */
static int some_fail(size_t job)
{
    if (job % 7 != 3)
        return 0;
    return job % 2 ? CR_EINVAL : CR_ETIMEOUT;
}

static int job_fn(size_t job, int worker, void *arg)
{
    run_ctx *c = arg;
    if (worker < 0 || worker >= MAX_WORKERS) {
        atomic_store(&c->overlap, 1);
        return CR_ERROR;
    }
    if (atomic_fetch_add(&c->busy[worker], 1) != 0)
        atomic_store(&c->overlap, 1);
    int prev = atomic_load(&c->max_worker);
    while (worker > prev && !atomic_compare_exchange_weak(&c->max_worker, &prev, worker))
        ;
    atomic_fetch_add(&c->runs[job], 1);
    /* Some work, so that jobs overlap in time across workers. */
    if (job % 5 == 0)
        cr_sleep_ms(1);
    int code = c->outcome(job);
    atomic_fetch_sub(&c->busy[worker], 1);
    if (code < 0)
        return cr_error_set(code, "job %zu failed on its own (code %d)", job, code);
    return 0;
}

static void init_ctx(run_ctx *c, size_t n, int workers, int (*outcome)(size_t))
{
    memset(c, 0, sizeof *c);
    c->n = n;
    c->workers = workers;
    c->runs = cr_xcalloc(n ? n : 1, sizeof *c->runs);
    c->outcome = outcome;
    atomic_store(&c->max_worker, -1);
}

typedef struct progress_log {
    size_t calls;
    size_t last_done;
    size_t total;
    bool monotonic;
    bool *seen; /* per job */
    bool dup;
} progress_log;

static void on_progress(size_t done, size_t total, size_t job, int code, void *arg)
{
    (void)code;
    progress_log *l = arg; /* called under the pool's lock */
    if (done != l->last_done + 1)
        l->monotonic = false;
    l->last_done = done;
    l->total = total;
    l->calls++;
    if (l->seen[job])
        l->dup = true;
    l->seen[job] = true;
}

static void test_pool_runs_each_of_500_jobs_exactly_once_on_8_workers(void **state)
{
    (void)state;
    run_ctx c;
    init_ctx(&c, 500, 8, always_ok);
    cr_pool_result res;
    assert_int_equal(cr_pool_run(&res, c.n, c.workers, job_fn, &c, NULL, NULL), 0);
    assert_int_equal(res.n, 500);
    assert_int_equal(res.failed, 0);
    for (size_t j = 0; j < c.n; j++) {
        if (atomic_load(&c.runs[j]) != 1)
            fail_msg("job %zu ran %d times", j, atomic_load(&c.runs[j]));
        assert_int_equal(res.codes[j], 0);
        assert_null(res.messages[j]);
    }
    assert_true(atomic_load(&c.max_worker) < 8);
    assert_true(atomic_load(&c.max_worker) >= 0);
    assert_int_equal(atomic_load(&c.overlap), 0);
    cr_pool_result_free(&res);
    free(c.runs);
}

static void test_pool_failures_keep_their_own_thread_local_messages(void **state)
{
    (void)state;
    run_ctx c;
    init_ctx(&c, 100, 4, some_fail);
    /* The caller's own pending message is not touched by the workers. */
    cr_error_clear();
    cr_error_set(CR_ERROR, "the caller's message");

    cr_pool_result res;
    int rc = cr_pool_run(&res, c.n, c.workers, job_fn, &c, NULL, NULL);
    /* The code of the first failed job by index: job 3 (odd: CR_EINVAL). */
    assert_int_equal(rc, CR_EINVAL);
    assert_string_equal(cr_error_message(), "the caller's message");
    cr_error_clear();

    size_t failed = 0;
    for (size_t j = 0; j < c.n; j++) {
        assert_int_equal(atomic_load(&c.runs[j]), 1);
        int want = some_fail(j);
        assert_int_equal(res.codes[j], want);
        if (want < 0) {
            failed++;
            char expect[64];
            snprintf(expect, sizeof expect, "job %zu failed on its own (code %d)", j, want);
            assert_non_null(res.messages[j]);
            assert_string_equal(res.messages[j], expect);
        } else {
            assert_null(res.messages[j]);
        }
    }
    assert_int_equal(res.failed, failed);
    assert_int_equal(failed, 14);
    assert_true(atomic_load(&c.max_worker) < 4);
    cr_pool_result_free(&res);
    assert_null(res.codes);
    assert_null(res.messages);
    cr_pool_result_free(NULL);
    free(c.runs);
}

/* A job that leaves a message behind and still succeeds must not lend it to
 * the next job on the same worker (the message is set-once). */
static int stale_then_fail(size_t job, int worker, void *arg)
{
    (void)worker;
    (void)arg;
    if (job == 0) {
        cr_error_set(CR_ERROR, "stale message of job 0");
        return 0;
    }
    return cr_error_set(CR_ENOTFOUND, "job %zu's own message", job);
}

static void test_pool_does_not_carry_a_message_from_one_job_to_the_next(void **state)
{
    (void)state;
    cr_pool_result res;
    assert_int_equal(cr_pool_run(&res, 2, 1, stale_then_fail, NULL, NULL, NULL), CR_ENOTFOUND);
    assert_int_equal(res.codes[0], 0);
    assert_null(res.messages[0]);
    assert_string_equal(res.messages[1], "job 1's own message");
    assert_int_equal(res.failed, 1);
    cr_pool_result_free(&res);
    assert_false(cr_error_pending()); /* the jobs ran on another thread */
}

static void test_pool_progress_reaches_the_total_once_per_job(void **state)
{
    (void)state;
    run_ctx c;
    init_ctx(&c, 300, 6, some_fail);
    progress_log l = {.monotonic = true, .seen = cr_xcalloc(300, sizeof(bool))};
    cr_pool_result res;
    cr_pool_run(&res, c.n, c.workers, job_fn, &c, on_progress, &l);
    assert_int_equal(l.calls, 300);
    assert_int_equal(l.last_done, 300);
    assert_int_equal(l.total, 300);
    assert_true(l.monotonic);
    assert_false(l.dup);
    for (size_t j = 0; j < 300; j++)
        assert_true(l.seen[j]);
    cr_pool_result_free(&res);
    free(l.seen);
    free(c.runs);
}

static void test_pool_more_workers_than_jobs_keeps_indexes_in_range(void **state)
{
    (void)state;
    run_ctx c;
    init_ctx(&c, 3, 16, always_ok);
    cr_pool_result res;
    assert_int_equal(cr_pool_run(&res, c.n, c.workers, job_fn, &c, NULL, NULL), 0);
    for (size_t j = 0; j < 3; j++)
        assert_int_equal(atomic_load(&c.runs[j]), 1);
    /* Below the worker count asked for, and no more threads than jobs. */
    assert_true(atomic_load(&c.max_worker) < 3);
    cr_pool_result_free(&res);
    free(c.runs);
}

static void test_pool_zero_or_negative_workers_mean_one(void **state)
{
    (void)state;
    int counts[] = {0, -5};
    for (size_t i = 0; i < 2; i++) {
        run_ctx c;
        init_ctx(&c, 20, counts[i], always_ok);
        cr_pool_result res;
        assert_int_equal(cr_pool_run(&res, c.n, c.workers, job_fn, &c, NULL, NULL), 0);
        for (size_t j = 0; j < 20; j++)
            assert_int_equal(atomic_load(&c.runs[j]), 1);
        assert_int_equal(atomic_load(&c.max_worker), 0);
        cr_pool_result_free(&res);
        free(c.runs);
    }
}

static void test_pool_with_no_jobs_returns_at_once(void **state)
{
    (void)state;
    run_ctx c;
    init_ctx(&c, 0, 4, always_ok);
    progress_log l = {.monotonic = true, .seen = cr_xcalloc(1, sizeof(bool))};
    cr_pool_result res;
    assert_int_equal(cr_pool_run(&res, 0, 4, job_fn, &c, on_progress, &l), 0);
    assert_int_equal(res.n, 0);
    assert_int_equal(res.failed, 0);
    assert_int_equal(l.calls, 0);
    assert_int_equal(atomic_load(&c.max_worker), -1);
    cr_pool_result_free(&res);
    free(l.seen);
    free(c.runs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_runs_each_of_500_jobs_exactly_once_on_8_workers),
        cmocka_unit_test(test_pool_failures_keep_their_own_thread_local_messages),
        cmocka_unit_test(test_pool_does_not_carry_a_message_from_one_job_to_the_next),
        cmocka_unit_test(test_pool_progress_reaches_the_total_once_per_job),
        cmocka_unit_test(test_pool_more_workers_than_jobs_keeps_indexes_in_range),
        cmocka_unit_test(test_pool_zero_or_negative_workers_mean_one),
        cmocka_unit_test(test_pool_with_no_jobs_returns_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
