/*
 * bench_events.c: how many events per second the event log (events.h)
 * takes into a range database on disk (WAL, synchronous=NORMAL, as
 * cr_state_open_file sets it up): through cr_event_writer at batch sizes
 * 1, 100, 1000 and 10000, and through single cr_event_add calls (one
 * autocommit transaction each) for contrast.
 *
 * The events look like an exercise's: mostly trainee shell commands
 * (action.command, with a dedupe key, as the engine logs them), some
 * console sessions, wrong flag answers and failing checks. They are made
 * before the clock starts, so the figures are the log's alone.
 *
 * Usage: bench_events [N]   (N events per run, default 200000; the single
 * call run uses at most 20000). Prints a Markdown table. Files go to a
 * fresh folder under $TMPDIR (or /tmp) that is removed afterwards.
 */
#include "err.h"
#include "events.h"
#include "state.h"
#include "util.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SINGLE_MAX 20000

typedef struct ev {
    int64_t time_ms;
    int team;
    const char *vm;
    const char *kind;
    char *data;
    char *dedupe;
} ev;

static const char *const vms[] = {"web", "db", "ws1", "fw"};
static const char *const commands[] = {
    "ls -la /var/www/html", "cat /etc/passwd", "ps aux | grep -v grep | grep nc", "ss -tlnp",
    "grep -r 'eval(' /var/www/html", "journalctl -u ssh --since '10 min ago'", "sudo systemctl stop apache2",
    "find / -newer /tmp/marker -type f 2>/dev/null", "iptables -L -n -v", "tail -n 100 /var/log/auth.log",
};

static ev *make_events(size_t n, int64_t t0)
{
    ev *e = cr_xcalloc(n, sizeof *e);
    unsigned seed = 12345;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = (seed >> 8) % 100;
        ev *x = &e[i];
        x->time_ms = t0 + (int64_t)i * 7;
        x->team = (int)(i % 8) + 1;
        x->vm = vms[(i / 8) % 4];
        if (r < 90) {
            x->kind = "action.command";
            x->data = cr_xasprintf("{\"user\":\"trainee\",\"cwd\":\"/home/trainee\",\"command\":\"%s\","
                                   "\"spool\":3,\"seq\":%zu,\"guest_time\":%lld}",
                                   commands[(seed >> 4) % 10], i, (long long)(x->time_ms / 1000));
            x->dedupe = cr_xasprintf("action:%d:%s:3:%zu", x->team, x->vm, i);
        } else if (r < 95) {
            x->kind = r < 93 ? "console.attach" : "console.detach";
            x->data = cr_xstrdup("{}");
        } else if (r < 98) {
            x->kind = "flag.wrong";
            x->vm = NULL;
            x->data = cr_xasprintf("{\"id\":\"webshell-path\",\"attempt\":%zu,\"answer\":\"/var/www/html/x%zu.php\"}",
                                   i % 5 + 1, i);
        } else {
            x->kind = "objective.failing";
            x->vm = NULL;
            x->data = cr_xasprintf("{\"id\":\"stop-exfil\",\"reason\":\"port 4444 still open (%zu)\"}", i);
        }
    }
    return e;
}

static void free_events(ev *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].data);
        free(e[i].dedupe);
    }
    free(e);
}

static long long count_rows(cr_state *st)
{
    sqlite3_stmt *q = NULL;
    long long n = -1;
    if (sqlite3_prepare_v3(cr_state_db(st), "SELECT count(*) FROM events", -1, 0, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

static int fail(const char *what)
{
    fprintf(stderr, "bench_events: %s: %s\n", what, cr_error_message());
    return 1;
}

/* One run through the batching writer; *secs gets the elapsed time. */
static int run_writer(double *secs, const char *path, const ev *e, size_t n, size_t batch)
{
    cr_state *st = NULL;
    cr_event_writer *w = NULL;
    if (cr_state_open_file(&st, path, true) < 0)
        return fail(path);
    double t = cr_now_seconds();
    int rc = cr_event_writer_open(&w, st, batch);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = cr_event_writer_add(w, e[i].time_ms, e[i].team, e[i].vm, e[i].kind, e[i].data, e[i].dedupe);
    if (cr_event_writer_close(w) < 0)
        rc = -1;
    *secs = cr_now_seconds() - t;
    if (rc == 0 && count_rows(st) != (long long)n) {
        cr_error_set(CR_ERROR, "%lld rows, expected %zu", count_rows(st), n);
        rc = -1;
    }
    cr_state_close(st);
    return rc < 0 ? fail("writer") : 0;
}

/* One run of single cr_event_add calls (data as json_t, as callers hold it). */
static int run_single(double *secs, const char *path, const ev *e, size_t n)
{
    cr_state *st = NULL;
    if (cr_state_open_file(&st, path, true) < 0)
        return fail(path);
    json_t **data = cr_xcalloc(n, sizeof *data);
    for (size_t i = 0; i < n; i++)
        data[i] = json_loads(e[i].data, 0, NULL);
    double t = cr_now_seconds();
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = cr_event_add(st, e[i].time_ms, e[i].team, e[i].vm, e[i].kind, data[i], e[i].dedupe, NULL);
    *secs = cr_now_seconds() - t;
    for (size_t i = 0; i < n; i++)
        json_decref(data[i]);
    free(data);
    if (rc == 0 && count_rows(st) != (long long)n) {
        cr_error_set(CR_ERROR, "%lld rows, expected %zu", count_rows(st), n);
        rc = -1;
    }
    cr_state_close(st);
    return rc < 0 ? fail("cr_event_add") : 0;
}

int main(int argc, char **argv)
{
    size_t n = 200000;
    if (argc > 2 || (argc == 2 && (n = strtoul(argv[1], NULL, 10)) == 0)) {
        fprintf(stderr, "usage: bench_events [N]\n");
        return 2;
    }
    const char *tmp = getenv("TMPDIR");
    char *dir = cr_xasprintf("%s/bench-events-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        free(dir);
        return 1;
    }
    ev *e = make_events(n, 1700000000000LL);
    size_t n_single = n < SINGLE_MAX ? n : SINGLE_MAX;
    static const size_t batches[] = {1, 100, 1000, 10000};
    int rc = 0;
    double best = 0;

    printf("SQLite %s, WAL, synchronous=NORMAL, files in %s\n\n", sqlite3_libversion(), dir);
    printf("| batch | events | seconds | events/s |\n|---:|---:|---:|---:|\n");
    for (size_t b = 0; rc == 0 && b < sizeof batches / sizeof *batches; b++) {
        char *path = cr_xasprintf("%s/batch-%zu.db", dir, batches[b]);
        double secs = 0;
        rc = run_writer(&secs, path, e, n, batches[b]);
        if (rc == 0) {
            printf("| %zu | %zu | %.3f | %.0f |\n", batches[b], n, secs, (double)n / secs);
            if (batches[b] > 1 && (double)n / secs > best)
                best = (double)n / secs;
        }
        free(path);
        fflush(stdout);
    }
    if (rc == 0) {
        char *path = cr_xasprintf("%s/single.db", dir);
        double secs = 0;
        rc = run_single(&secs, path, e, n_single);
        if (rc == 0)
            printf("| single cr_event_add | %zu | %.3f | %.0f |\n", n_single, secs, (double)n_single / secs);
        free(path);
    }
    if (rc == 0)
        printf("\nbest batched: %.0f events/s (goal: 100000)\n", best);
    free_events(e, n);
    cr_error_clear();
    if (cr_rm_rf(dir) < 0)
        fprintf(stderr, "bench_events: %s\n", cr_error_message());
    free(dir);
    return rc;
}
