/*
 * vmwatch.c: brings back a VM that stopped during the exercise (vmwatch.h).
 *
 * Two looks in a row, not one: `crange revert` and `up` define a domain
 * before they start it, and a look in between sees it shut off. Such a
 * domain's reason is "unknown" (never started), which is ignored anyway;
 * the second look keeps a short window (a reboot on the way) from counting.
 */
#include "vmwatch.h"

#include "err.h"
#include "events.h"
#include "log.h"
#include "plan.h"
#include "range.h"
#include "util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct seen {
    int looks;    /* consecutive looks that found it stopped */
    int restarts; /* reverts started by this watch */
} seen;

struct cr_vmwatch {
    cr_config cfg; /* a copy, without progress output */
    char *range;
    const cr_scenario *scenario;
    int teams;
    seen **vms; /* [team - 1][vm index] */

    pthread_mutex_t lock;
    pthread_t thread;
    bool started; /* thread was created and not joined yet */
    bool busy;    /* a revert is running */
    int job_team;
    char job_vm[CR_NAME_MAX + 1];
};

/* Why a shut-off domain stopped; NULL for one that never ran. */
static const char *stop_reason(int state, int reason)
{
    if (state == VIR_DOMAIN_CRASHED)
        return "crashed";
    if (state != VIR_DOMAIN_SHUTOFF)
        return NULL;
    switch (reason) {
    case VIR_DOMAIN_SHUTOFF_SHUTDOWN: return "shut down";
    case VIR_DOMAIN_SHUTOFF_DESTROYED: return "destroyed";
    case VIR_DOMAIN_SHUTOFF_CRASHED: return "crashed";
    case VIR_DOMAIN_SHUTOFF_FAILED: return "failed";
    default: return NULL; /* unknown (defined, never started), saved, migrated, from snapshot */
    }
}

cr_vmwatch *cr_vmwatch_new(const cr_config *c, const char *range, const cr_scenario *s, int teams)
{
    cr_vmwatch *w = cr_xcalloc(1, sizeof *w);
    w->cfg = *c;
    w->cfg.progress = false;
    w->range = cr_xstrdup(range);
    w->scenario = s;
    w->teams = teams;
    w->vms = cr_xcalloc((size_t)teams, sizeof *w->vms);
    for (int t = 0; t < teams; t++)
        w->vms[t] = cr_xcalloc(s->teams[t].n_vms ? s->teams[t].n_vms : 1, sizeof **w->vms);
    pthread_mutex_init(&w->lock, NULL);
    return w;
}

static void record(const cr_vmwatch *w, int team, const char *vm, const char *kind, json_t *data)
{
    cr_state *st = NULL;
    if (cr_state_open(&st, w->cfg.state_dir, w->range, false) < 0 ||
        cr_event_add(st, 0, team, vm, kind, data, NULL, NULL) < 0)
        cr_log_warn("cannot record %s: %s", kind, cr_error_message());
    cr_error_clear();
    cr_state_close(st);
    json_decref(data);
}

static void *revert_main(void *arg)
{
    cr_vmwatch *w = arg;
    cr_up_report rep;
    int rc = cr_range_revert(&w->cfg, w->range, w->job_team, w->job_vm, &rep);
    if (rc == 0) {
        cr_log_info("team %d vm '%s' is back (reverted in %.1f s)", w->job_team, w->job_vm, rep.seconds);
        record(w, w->job_team, w->job_vm, "vm.revert.done", json_pack("{s:f, s:s}", "seconds", rep.seconds, "by", "engine"));
    } else {
        cr_log_warn("team %d vm '%s' could not be brought back: %s", w->job_team, w->job_vm, cr_error_message());
        record(w, w->job_team, w->job_vm, "vm.revert.failed",
               json_pack("{s:s, s:s}", "error", cr_error_message(), "by", "engine"));
    }
    cr_error_clear();
    pthread_mutex_lock(&w->lock);
    w->busy = false;
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Starts the revert of (team, vm) unless one runs; true if started. */
static bool start_revert(cr_vmwatch *w, int team, const char *vm)
{
    pthread_mutex_lock(&w->lock);
    bool go = !w->busy;
    if (go) {
        if (w->started)
            pthread_join(w->thread, NULL);
        w->started = false;
        w->job_team = team;
        snprintf(w->job_vm, sizeof w->job_vm, "%s", vm);
        w->busy = pthread_create(&w->thread, NULL, revert_main, w) == 0;
        w->started = w->busy;
        go = w->busy;
    }
    pthread_mutex_unlock(&w->lock);
    return go;
}

void cr_vmwatch_poll(cr_vmwatch *w, cr_vmwatch_where where, const struct cr_engine *ctx, cr_state *st)
{
    pthread_mutex_lock(&w->lock);
    bool busy = w->busy;
    int busy_team = w->job_team;
    char busy_vm[CR_NAME_MAX + 1];
    snprintf(busy_vm, sizeof busy_vm, "%s", w->job_vm);
    pthread_mutex_unlock(&w->lock);
    for (int t = 1; t <= w->teams; t++) {
        const cr_team_model *tm = &w->scenario->teams[t - 1];
        for (size_t i = 0; i < tm->n_vms; i++) {
            const char *vm = tm->vms[i].name;
            seen *s = &w->vms[t - 1][i];
            if (busy && busy_team == t && !strcmp(busy_vm, vm)) {
                s->looks = 0; /* its revert removes and makes it */
                continue;
            }
            char *name = cr_name_domain(w->range, t, vm);
            virDomainPtr dom = NULL;
            int state = 0, reason = 0;
            const char *why = NULL;
            if (cr_virt_domain(&dom, where(ctx, t, vm), 0, name) == 0) {
                if (virDomainGetState(dom, &state, &reason, 0) == 0)
                    why = stop_reason(state, reason);
                virDomainFree(dom);
            }
            cr_error_clear(); /* gone (down) or libvirt restarting: nothing to bring back now */
            free(name);
            if (!why) {
                s->looks = 0;
                continue;
            }
            if (++s->looks < 2)
                continue;
            if (s->looks == 2) {
                bool again = s->restarts < CR_VMWATCH_MAX;
                cr_log_warn("team %d vm '%s' stopped (%s)%s", t, vm, why,
                            again ? "; reverting it" : "; brought back too often already, left stopped");
                json_t *ev = json_pack("{s:s, s:b}", "reason", why, "revert", again);
                if (cr_event_add(st, 0, t, vm, "vm.stopped", ev, NULL, NULL) < 0) {
                    cr_log_warn("cannot record vm.stopped: %s", cr_error_message());
                    cr_error_clear();
                }
                json_decref(ev);
            }
            if (s->restarts < CR_VMWATCH_MAX && !busy && start_revert(w, t, vm)) {
                s->restarts++;
                s->looks = 0;
                busy = true;
                busy_team = t;
                snprintf(busy_vm, sizeof busy_vm, "%s", vm);
            }
        }
    }
}

void cr_vmwatch_free(cr_vmwatch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    bool started = w->started;
    pthread_mutex_unlock(&w->lock);
    if (started)
        pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    for (int t = 0; t < w->teams; t++)
        free(w->vms[t]);
    free(w->vms);
    free(w->range);
    free(w);
}
