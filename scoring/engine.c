/*
 * engine.c: the exercise engine of engine.h: guest operations over the QEMU
 * guest agent for the Lua runtimes, scoring rounds (checks, transitions,
 * injects) over a worker pool, the solution, and the run loop.
 */
#include "engine.h"

#include "actions.h"
#include "agent.h"
#include "err.h"
#include "events.h"
#include "hosts.h"
#include "image.h"
#include "log.h"
#include "plan.h"
#include "pool.h"
#include "range.h"
#include "runtime.h"
#include "scenario.h"
#include "score.h"
#include "state.h"
#include "util.h"
#include "virt.h"
#include "vmwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* The last failure reason logged per (team, objective), so that a check
 * failing the same way every round is logged once, not every round. */
typedef struct reason_slot {
    char *reason;
} reason_slot;

struct cr_engine {
    const cr_config *cfg;
    char *range;
    char *db_path;
    cr_range_row row;
    int teams;
    int check_timeout_s;
    cr_scenario *scenario;      /* every team's model, from the same load */
    cr_runtime **rt;            /* per team */
    cr_state **st;              /* per worker: SQLite handles are not shared across transactions */
    int workers;
    /* the range's hosts (hosts.h): a connection and an action collector
     * each; vm_host[t][i] is the host of team t + 1's VM i (its index in
     * the team's model), an index into virts */
    cr_virt **virts;
    cr_actions **actions;
    size_t n_hosts;
    int **vm_host;
    pthread_mutex_t *team_lock; /* per team: its Lua runtime is used by one thread at a time */
    reason_slot **reasons;      /* [team-1][objective] */
    int lock_fd;                /* the engine lock, or -1 */
};

/* ------------------------------------------------------------ guest ops */

typedef struct guest_ctx {
    cr_engine *e;
    int team;
    int worker;
    bool solution;
} guest_ctx;

static int lookup(virDomainPtr *dom, guest_ctx *g, const char *vm)
{
    if (!cr_team_vm(&g->e->scenario->teams[g->team - 1], vm))
        return cr_error_set(CR_ENOTFOUND, "team %d has no vm '%s'", g->team, vm);
    char *name = cr_name_domain(g->e->range, g->team, vm);
    int rc = cr_virt_domain(dom, cr_engine_vm_virt(g->e, g->team, vm), g->worker, name);
    free(name);
    return rc;
}

static int op_exec(void *ctx, const char *vm, const char *const *argv, const void *input, size_t input_len,
                   int timeout_s, cr_exec_result *out)
{
    virDomainPtr dom = NULL;
    int rc = lookup(&dom, ctx, vm);
    if (rc == 0) {
        rc = cr_agent_exec(out, dom, argv, input, input_len, timeout_s);
        virDomainFree(dom);
    }
    return rc;
}

static int op_read_file(void *ctx, const char *vm, const char *path, size_t max, char **out, size_t *len)
{
    virDomainPtr dom = NULL;
    int rc = lookup(&dom, ctx, vm);
    if (rc == 0) {
        rc = cr_agent_read_file(out, len, dom, path, max);
        virDomainFree(dom);
    }
    return rc;
}

static int op_submit(void *ctx, const char *flag, const char *answer, char **verdict)
{
    guest_ctx *g = ctx;
    const cr_flag *f = cr_team_flag(&g->e->scenario->teams[g->team - 1], flag);
    if (!f)
        return cr_error_set(CR_ENOTFOUND, "no flag '%s'", flag);
    /* The reference solution answers every flag it knows; one the team has
     * already solved is not answered again, so that `solve` leaves no
     * rejected attempt in the team's record. */
    bool solved = false;
    int rc = cr_events_last(g->e->st[g->worker], g->team, "flag.correct", NULL, f->id, &solved, NULL, NULL);
    if (rc < 0)
        return rc;
    if (solved) {
        *verdict = cr_xstrdup(cr_submit_verdict_name(CR_SUBMIT_ALREADY_SOLVED));
        return 0;
    }
    cr_submit_verdict v;
    int left;
    rc = cr_score_submit(g->e->st[g->worker], g->team, f, answer, &v, &left);
    if (rc == 0)
        *verdict = cr_xstrdup(cr_submit_verdict_name(v));
    return rc;
}

static cr_guest_ops guest_ops(guest_ctx *g)
{
    return (cr_guest_ops){op_exec, op_read_file, g->solution ? op_submit : NULL, g};
}

/* ---------------------------------------------------------------- lock */

/* The holder's pid from the lock file, or 0 when it has not written it yet
 * (it takes the lock, then writes). */
static long lock_holder(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    return pid > 0 && end != buf && (*end == '\n' || *end == '\0') ? pid : 0;
}

int cr_engine_lock(int *fd, const char *state_dir, const char *range)
{
    *fd = -1;
    char *dir = cr_range_dir(state_dir, range);
    char *path = cr_path_join(dir, "engine.lock");
    int rc = 0;
    /* O_NOFOLLOW: the folder is ours, but a link planted there must not
     * make us truncate another file. */
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (f < 0) {
        rc = cr_error_set(CR_ERROR, "%s: %s", path, strerror(errno));
    } else if (flock(f, LOCK_EX | LOCK_NB) < 0) {
        int err = errno;
        long pid = err == EWOULDBLOCK ? lock_holder(f) : 0;
        if (err != EWOULDBLOCK)
            rc = cr_error_set(CR_ERROR, "%s: %s", path, strerror(err));
        else if (pid)
            rc = cr_error_set(CR_EBUSY, "range %s is already run by another crange run or serve (pid %ld)", range,
                              pid);
        else
            rc = cr_error_set(CR_EBUSY, "range %s is already run by another crange run or serve", range);
        close(f);
    } else {
        /* Ours now: say who holds it. A failed write only loses the pid
         * from the next one's message. */
        char pid[24];
        int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (ftruncate(f, 0) < 0 || pwrite(f, pid, (size_t)n, 0) != n)
            cr_log_debug("%s: cannot write the pid: %s", path, strerror(errno));
        *fd = f;
    }
    free(path);
    free(dir);
    return rc;
}

void cr_engine_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* ---------------------------------------------------------------- open */

void cr_engine_close(cr_engine *e)
{
    if (!e)
        return;
    size_t stored = 0;
    for (size_t h = 0; e->actions && h < e->n_hosts; h++)
        stored += cr_actions_stop(e->actions[h]);
    free(e->actions);
    if (stored)
        cr_log_info("stored %zu trainee actions", stored);
    for (int t = 0; e->rt && t < e->teams; t++)
        cr_runtime_free(e->rt[t]);
    free(e->rt);
    for (int t = 0; e->team_lock && t < e->teams; t++)
        pthread_mutex_destroy(&e->team_lock[t]);
    free(e->team_lock);
    for (int t = 0; e->reasons && t < e->teams; t++) {
        const cr_team_model *tm = &e->scenario->teams[t];
        for (size_t i = 0; i < tm->n_objectives; i++)
            free(e->reasons[t][i].reason);
        free(e->reasons[t]);
    }
    free(e->reasons);
    for (int w = 0; e->st && w < e->workers; w++)
        cr_state_close(e->st[w]);
    free(e->st);
    for (size_t h = 0; e->virts && h < e->n_hosts; h++)
        cr_virt_close(e->virts[h]);
    free(e->virts);
    for (int t = 0; e->vm_host && t < e->teams; t++)
        free(e->vm_host[t]);
    free(e->vm_host);
    cr_scenario_free(e->scenario);
    cr_range_row_free(&e->row);
    free(e->range);
    free(e->db_path);
    /* Last: whoever waits for the range finds everything above stopped. */
    cr_engine_unlock(e->lock_fd);
    free(e);
}

static int exercise_start(cr_engine *e)
{
    json_t *ev = json_object();
    bool inserted = false;
    int rc = cr_event_add(e->st[0], 0, 0, NULL, "exercise.start", ev, "exercise.start", &inserted);
    json_decref(ev);
    if (rc < 0)
        return rc;
    if (inserted)
        cr_log_info("exercise %s started", e->range);
    return 0;
}

int cr_engine_open(cr_engine **out, const cr_config *c, const cr_engine_opts *o)
{
    *out = NULL;
    if (!cr_range_name_valid(o->range))
        return cr_error_set(CR_EINVAL, "bad range name '%s'", o->range);
    cr_engine *e = cr_xcalloc(1, sizeof *e);
    e->lock_fd = -1;
    e->cfg = c;
    e->range = cr_xstrdup(o->range);
    e->check_timeout_s = o->check_timeout_s > 0 ? o->check_timeout_s : CR_CHECK_TIMEOUT_S;
    e->workers = c->jobs;
    e->st = cr_xcalloc((size_t)e->workers, sizeof *e->st);
    e->db_path = cr_range_db_path(c->state_dir, o->range);
    char *store = cr_config_images(c);
    char digest[65];
    int rc = 0;
    for (int w = 0; rc == 0 && w < e->workers; w++)
        rc = cr_state_open(&e->st[w], c->state_dir, o->range, false);
    /* Once the range is known to exist, before anything slow. */
    if (rc == 0 && (o->actions || o->exclusive))
        rc = cr_engine_lock(&e->lock_fd, c->state_dir, o->range);
    if (rc == 0)
        rc = cr_state_get_range(e->st[0], &e->row);
    if (rc < 0)
        goto fail;
    e->teams = e->row.teams;
    cr_load_opts lo = {.teams = e->teams, .secret = e->row.secret, .image_known = cr_image_known, .image_ctx = store};
    rc = cr_scenario_load(&e->scenario, e->row.scenario_dir, &lo);
    if (rc < 0)
        goto fail;
    cr_hex(digest, e->scenario->digest, sizeof e->scenario->digest);
    if (strcmp(digest, e->row.scenario_digest)) {
        rc = cr_error_set(CR_EINVAL,
                          "the scenario in %s changed since range '%s' was brought up; run `crange up --name %s` to "
                          "apply it first",
                          e->row.scenario_dir, o->range, o->range);
        goto fail;
    }
    e->rt = cr_xcalloc((size_t)e->teams, sizeof *e->rt);
    e->team_lock = cr_xcalloc((size_t)e->teams, sizeof *e->team_lock);
    for (int t = 0; t < e->teams; t++)
        pthread_mutex_init(&e->team_lock[t], NULL);
    e->reasons = cr_xcalloc((size_t)e->teams, sizeof *e->reasons);
    for (int t = 0; rc == 0 && t < e->teams; t++) {
        rc = cr_runtime_open(&e->rt[t], e->row.scenario_dir, t + 1, &lo, NULL);
        e->reasons[t] = cr_xcalloc(e->scenario->teams[t].n_objectives + 1, sizeof(reason_slot));
    }
    if (rc < 0)
        goto fail;

    /* Each VM's host (a spread team's VMs are on several), and the
     * distinct hosts, in the order first met. */
    size_t n_all = 0;
    for (int t = 0; t < e->teams; t++)
        n_all += e->scenario->teams[t].n_vms;
    char **host_uri = cr_xcalloc(n_all ? n_all : 1, sizeof *host_uri);
    e->vm_host = cr_xcalloc((size_t)e->teams, sizeof *e->vm_host);
    for (int t = 0; t < e->teams; t++) {
        const cr_team_model *tm = &e->scenario->teams[t];
        e->vm_host[t] = cr_xcalloc(tm->n_vms ? tm->n_vms : 1, sizeof **e->vm_host);
        for (size_t i = 0; i < tm->n_vms; i++) {
            char *uri = cr_range_vm_host(c, o->range, t + 1, tm->vms[i].name);
            size_t h = 0;
            while (h < e->n_hosts && strcmp(host_uri[h], uri))
                h++;
            if (h == e->n_hosts)
                host_uri[e->n_hosts++] = cr_xstrdup(uri);
            free(uri);
            e->vm_host[t][i] = (int)h;
        }
    }
    e->virts = cr_xcalloc(e->n_hosts ? e->n_hosts : 1, sizeof *e->virts);
    e->actions = cr_xcalloc(e->n_hosts ? e->n_hosts : 1, sizeof *e->actions);
    cr_actionlog_limits lim = CR_ACTIONLOG_DEFAULTS;
    if (o->action_budget_kib > 0)
        lim.budget = (int64_t)o->action_budget_kib * 1024;
    if (o->action_rate > 0) {
        lim.rate = o->action_rate;
        lim.burst = 10.0 * o->action_rate;
    }
    /* The collectors register libvirt's event loop: before any connection. */
    for (size_t h = 0; o->actions && rc == 0 && h < e->n_hosts; h++) {
        cr_actions_vm *vms = cr_xcalloc(n_all ? n_all : 1, sizeof *vms);
        char **names = cr_xcalloc(n_all ? n_all : 1, sizeof *names);
        size_t k = 0;
        for (int t = 0; t < e->teams; t++)
            for (size_t i = 0; i < e->scenario->teams[t].n_vms; i++) {
                if (e->vm_host[t][i] != (int)h)
                    continue;
                names[k] = cr_name_domain(o->range, t + 1, e->scenario->teams[t].vms[i].name);
                vms[k] = (cr_actions_vm){t + 1, e->scenario->teams[t].vms[i].name, names[k]};
                k++;
            }
        rc = cr_actions_start(&e->actions[h], host_uri[h], e->db_path, vms, k, &lim);
        for (size_t i = 0; i < k; i++)
            free(names[i]);
        free(names);
        free(vms);
    }
    for (size_t h = 0; rc == 0 && h < e->n_hosts; h++)
        rc = cr_virt_open(&e->virts[h], host_uri[h], (e->workers + 3) / 4);
    cr_strv_free(host_uri, e->n_hosts);
    if (rc == 0)
        rc = exercise_start(e);
    if (rc < 0)
        goto fail;
    free(store);
    *out = e;
    return 0;
fail:
    free(store);
    cr_engine_close(e);
    return rc;
}

const cr_team_model *cr_engine_team(cr_engine *e, int team)
{
    return team >= 1 && team <= e->teams ? &e->scenario->teams[team - 1] : NULL;
}

int cr_engine_teams(const cr_engine *e)
{
    return e->teams;
}

const cr_scenario *cr_engine_scenario(const cr_engine *e)
{
    return e->scenario;
}

const cr_range_row *cr_engine_range(const cr_engine *e)
{
    return &e->row;
}

cr_virt *cr_engine_vm_virt(const cr_engine *e, int team, const char *vm)
{
    if (team < 1 || team > e->teams)
        team = 1;
    const cr_team_model *tm = &e->scenario->teams[team - 1];
    size_t i = 0;
    while (i < tm->n_vms && strcmp(tm->vms[i].name, vm))
        i++;
    return e->virts[i < tm->n_vms ? e->vm_host[team - 1][i] : 0];
}

const char *cr_engine_uri(const cr_engine *e, int team, const char *vm)
{
    return cr_virt_uri(cr_engine_vm_virt(e, team, vm));
}

/* --------------------------------------------------------------- rounds */

typedef struct round_ctx {
    cr_engine *e;
    int only_team;          /* 0: all */
    double *ms;             /* check durations, per team slot */
    size_t *n_ms;
    size_t cap_per_team;
    size_t *met, *transitions, *injects;
    cr_clock clock;         /* the exercise clock when the round began */
} round_ctx;

static bool objective_done_once(cr_state *st, int team, const cr_objective *o)
{
    if (o->mode != CR_MODE_ONCE)
        return false;
    bool found = false;
    char *kind = NULL;
    int64_t t;
    if (cr_events_last(st, team, "objective.met", "objective.met", o->id, &found, &kind, &t) < 0) {
        cr_error_clear();
        return false;
    }
    free(kind);
    return found;
}

/* Logs a check's failure reason when it differs from last round's. */
static void note_reason(cr_engine *e, cr_state *st, int team, size_t idx, const cr_objective *o, const char *reason)
{
    reason_slot *slot = &e->reasons[team - 1][idx];
    bool is_error = reason && strcmp(reason, "returned false") && strcmp(reason, "returned nil");
    if (!is_error) {
        free(slot->reason);
        slot->reason = NULL;
        return;
    }
    if (slot->reason && !strcmp(slot->reason, reason))
        return;
    free(slot->reason);
    slot->reason = cr_xstrdup(reason);
    cr_log_warn("team %d objective '%s': check failed: %s", team, o->id, reason);
    json_t *ev = json_pack("{s:s, s:s}", "id", o->id, "reason", reason);
    if (cr_event_add(st, 0, team, NULL, "objective.failing", ev, NULL, NULL) < 0)
        cr_error_clear();
    json_decref(ev);
}

static bool inject_fired(cr_state *st, int team, const cr_inject *in)
{
    bool found = false;
    char *kind = NULL;
    int64_t t;
    if (cr_events_last(st, team, "inject.fired", "inject.fired", in->id, &found, &kind, &t) < 0)
        cr_error_clear();
    free(kind);
    return found;
}

/*
 * Fires an inject: recorded first, performed after, so that it fires at
 * most once even if this process dies half-way (the dedupe key), whether
 * its time came or the instructor fired it (by: who, or NULL). Called with
 * the team's lock held.
 */
static int fire(cr_engine *e, cr_state *st, const cr_guest_ops *ops, int team, const cr_inject *in, const char *by,
                bool *fired)
{
    *fired = false;
    char dedupe[96];
    snprintf(dedupe, sizeof dedupe, "inject:%d:%s", team, in->id);
    json_t *ev = json_pack("{s:s, s:{s:s?, s:s?}}", "id", in->id, "title", "ja", in->title.ja, "en", in->title.en);
    if (by)
        json_object_set_new(ev, "by", json_string(by));
    bool inserted = false;
    int rc = cr_event_add(st, 0, team, in->vm, "inject.fired", ev, dedupe, &inserted);
    json_decref(ev);
    if (rc < 0 || !inserted)
        return rc;
    *fired = true;
    cr_log_info("team %d: inject '%s' fired%s%s", team, in->id, by ? " by " : "", by ? by : "");
    if (cr_runtime_inject_fire(e->rt[team - 1], in->id, ops, e->check_timeout_s * 3) < 0) {
        json_t *fail = json_pack("{s:s, s:s}", "id", in->id, "error", cr_error_message());
        cr_log_warn("team %d: inject '%s' failed: %s", team, in->id, cr_error_message());
        cr_error_clear();
        rc = cr_event_add(st, 0, team, in->vm, "inject.failed", fail, NULL, NULL);
        json_decref(fail);
    }
    return rc;
}

static int team_round_locked(round_ctx *x, int team, int w, size_t job)
{
    cr_engine *e = x->e;
    const cr_team_model *tm = &e->scenario->teams[team - 1];
    cr_state *st = e->st[w];
    guest_ctx g = {e, team, w, false};
    cr_guest_ops ops = guest_ops(&g);
    size_t slot = x->only_team ? 0 : job;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < tm->n_objectives; i++) {
        const cr_objective *o = &tm->objectives[i];
        if (!o->has_check || objective_done_once(st, team, o))
            continue;
        bool ready = false;
        rc = cr_score_prereqs_met(st, team, tm, o, &ready);
        if (rc < 0 || !ready)
            continue;
        bool met = false;
        char *reason = NULL;
        double t0 = cr_now_seconds();
        rc = cr_runtime_check(e->rt[team - 1], o->id, &ops, e->check_timeout_s, &met, &reason);
        double ms = (cr_now_seconds() - t0) * 1000.0;
        if (x->n_ms[slot] < x->cap_per_team)
            x->ms[slot * x->cap_per_team + x->n_ms[slot]++] = ms;
        if (rc < 0) {
            free(reason);
            break;
        }
        note_reason(e, st, team, i, o, met ? NULL : reason);
        free(reason);
        bool changed = false;
        rc = cr_score_record_objective(st, team, o, met, &changed);
        x->met[slot] += met;
        if (changed) {
            x->transitions[slot]++;
            cr_log_info("team %d: objective '%s' %s (%s%d)", team, o->id, met ? "met" : "lost", met ? "+" : "-",
                        o->points);
        }
    }

    double elapsed = (double)x->clock.elapsed_ms / 1000.0;
    for (size_t i = 0; rc == 0 && i < tm->n_injects; i++) {
        const cr_inject *in = &tm->injects[i];
        if (inject_fired(st, team, in))
            continue;
        bool due = in->at_s >= 0 && elapsed >= in->at_s;
        if (in->at_s < 0 && in->has_when) {
            char *reason = NULL;
            rc = cr_runtime_inject_when(e->rt[team - 1], in->id, &ops, e->check_timeout_s, &due, &reason);
            free(reason);
        }
        if (rc < 0 || !due)
            continue;
        bool fired = false;
        rc = fire(e, st, &ops, team, in, NULL, &fired);
        x->injects[slot] += fired;
    }
    return rc;
}

static int team_round(size_t job, int w, void *ctx)
{
    round_ctx *x = ctx;
    int team = x->only_team ? x->only_team : (int)job + 1;
    pthread_mutex_lock(&x->e->team_lock[team - 1]);
    int rc = team_round_locked(x, team, w, job);
    pthread_mutex_unlock(&x->e->team_lock[team - 1]);
    return rc;
}

int cr_engine_fire_inject(cr_engine *e, cr_state *st, int team, const char *id, const char *by, bool *fired)
{
    *fired = false;
    const cr_team_model *tm = cr_engine_team(e, team);
    if (!tm)
        return cr_error_set(CR_EINVAL, "range '%s' has teams 1 to %d, not %d", e->range, e->teams, team);
    const cr_inject *in = NULL;
    for (size_t i = 0; i < tm->n_injects && !in; i++)
        if (!strcmp(tm->injects[i].id, id))
            in = &tm->injects[i];
    if (!in)
        return cr_error_set(CR_ENOTFOUND, "scenario '%s' has no inject '%s'", e->scenario->id, id);
    guest_ctx g = {e, team, 0, false};
    cr_guest_ops ops = guest_ops(&g);
    pthread_mutex_lock(&e->team_lock[team - 1]);
    int rc = fire(e, st, &ops, team, in, by, fired);
    pthread_mutex_unlock(&e->team_lock[team - 1]);
    return rc;
}

static int cmp_ms(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int cr_engine_round(cr_engine *e, int team, cr_round_report *rep)
{
    memset(rep, 0, sizeof *rep);
    if (team < 0 || team > e->teams)
        return cr_error_set(CR_EINVAL, "range '%s' has teams 1 to %d, not %d", e->range, e->teams, team);
    double t0 = cr_now_seconds();
    size_t n = 0;
    size_t slots = team ? 1 : (size_t)e->teams;
    size_t cap = 0;
    for (int t = 0; t < e->teams; t++)
        if (e->scenario->teams[t].n_objectives > cap)
            cap = e->scenario->teams[t].n_objectives;
    round_ctx x = {e, team, cr_xcalloc(slots * (cap ? cap : 1), sizeof(double)), cr_xcalloc(slots, sizeof(size_t)),
                   cap ? cap : 1, cr_xcalloc(slots, sizeof(size_t)), cr_xcalloc(slots, sizeof(size_t)),
                   cr_xcalloc(slots, sizeof(size_t)), {0}};
    int rc = cr_events_clock(e->st[0], cr_wall_ms(), &x.clock);
    if (rc < 0)
        goto done;
    /* A paused exercise stands still: no checks, no injects. */
    rep->paused = x.clock.paused;
    if (x.clock.paused)
        goto done;
    cr_pool_result res;
    cr_pool_run(&res, slots, e->workers, team_round, &x, NULL, NULL);
    for (size_t i = 0; i < res.n; i++) {
        if (res.codes[i] >= 0)
            continue;
        if (rc == 0)
            rc = cr_error_set(res.codes[i], "%s", res.messages[i]);
        else
            cr_log_error("%s", res.messages[i]);
    }
    cr_pool_result_free(&res);

    /* Gather durations into one sorted array for percentiles. */
    for (size_t s = 0; s < slots; s++) {
        memmove(&x.ms[n], &x.ms[s * x.cap_per_team], x.n_ms[s] * sizeof(double));
        n += x.n_ms[s];
        rep->met += x.met[s];
        rep->transitions += x.transitions[s];
        rep->injects += x.injects[s];
    }
    rep->checks = n;
done:
    if (n) {
        qsort(x.ms, n, sizeof(double), cmp_ms);
        rep->check_ms_p50 = x.ms[(n - 1) / 2];
        rep->check_ms_p95 = x.ms[(size_t)((double)(n - 1) * 0.95 + 0.5)];
        rep->check_ms_max = x.ms[n - 1];
    }
    free(x.ms);
    free(x.n_ms);
    free(x.met);
    free(x.transitions);
    free(x.injects);
    rep->seconds = cr_now_seconds() - t0;
    return rc;
}

int cr_engine_solve(cr_engine *e, int team, cr_round_report *rep)
{
    if (team < 1 || team > e->teams)
        return cr_error_set(CR_EINVAL, "range '%s' has teams 1 to %d, not %d", e->range, e->teams, team);
    if (!e->scenario->teams[team - 1].has_solution)
        return cr_error_set(CR_ENOTFOUND, "scenario '%s' has no reference solution", e->scenario->id);
    guest_ctx g = {e, team, 0, true};
    cr_guest_ops ops = guest_ops(&g);
    int rc = cr_runtime_solution(e->rt[team - 1], &ops, e->check_timeout_s * 30);
    char *err = rc < 0 ? cr_xstrdup(cr_error_message()) : NULL;
    cr_error_clear();
    json_t *ev = json_pack("{s:b, s:s?}", "ok", rc == 0, "error", err);
    if (cr_event_add(e->st[0], 0, team, NULL, "solution.run", ev, NULL, NULL) < 0)
        cr_error_clear();
    json_decref(ev);
    if (err) {
        rc = cr_error_set(rc, "%s", err);
        free(err);
        return rc;
    }
    return cr_engine_round(e, team, rep);
}

int cr_engine_run(cr_engine *e, int interval_s, volatile sig_atomic_t *stop)
{
    int rounds = 0;
    cr_vmwatch *watch = cr_vmwatch_new(e->cfg, e->range, e->scenario, e->teams);
    while (!*stop) {
        cr_round_report rep;
        int rc = cr_engine_round(e, 0, &rep);
        if (rc < 0) {
            /* A round can fail for a passing reason (libvirt restarting);
             * the engine keeps going and says so. */
            cr_log_error("round %d: %s", rounds + 1, cr_error_message());
            cr_error_clear();
        } else {
            cr_log_debug("round %d: %zu checks (%zu met), %zu changes, %zu injects in %.2f s (p95 %.0f ms)",
                         rounds + 1, rep.checks, rep.met, rep.transitions, rep.injects, rep.seconds,
                         rep.check_ms_p95);
        }
        rounds++;
        cr_vmwatch_poll(watch, cr_engine_vm_virt, e, e->st[0]);
        int64_t until = cr_now_ms() + (int64_t)interval_s * 1000;
        while (!*stop && cr_now_ms() < until)
            cr_sleep_ms(100);
    }
    cr_vmwatch_free(watch);
    return 0;
}

json_t *cr_round_report_json(const cr_round_report *r)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:{s:f, s:f, s:f}, s:f, s:b}", "checks", (json_int_t)r->checks, "met",
                     (json_int_t)r->met, "transitions", (json_int_t)r->transitions, "injects",
                     (json_int_t)r->injects, "check_ms", "p50", r->check_ms_p50, "p95", r->check_ms_p95, "max",
                     r->check_ms_max, "seconds", r->seconds, "paused", r->paused);
}
