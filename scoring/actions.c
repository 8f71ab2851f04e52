/*
 * actions.c: the action-channel collector of actions.h. One thread runs
 * libvirt's default event loop; each VM's channel is a non-blocking stream
 * whose readable callback hands the data to the VM's action log
 * (actionlog.h: lines checked, stored or dropped and counted) and
 * acknowledges what it placed. A one-second timer (re)opens channels that
 * are not open yet and records what each log dropped.
 */
#include "actions.h"

#include "actionlog.h"
#include "err.h"
#include "evloop.h"
#include "events.h"
#include "log.h"
#include "state.h"
#include "util.h"

#include <jansson.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHANNEL "org.crange.actions.0"
/* Bytes read from one channel before the loop serves the others: a guest
 * that floods its channel delays the rest by at most this much parsing. */
#define READ_SLICE 65536
/* A channel that cannot be opened for this long is reported at warning level:
 * before, a channel held by a stale libvirt lock file silently recorded no
 * command for a whole exercise. Shorter failures are normal while a guest
 * boots or is reverted. */
#define WARN_AFTER_MS 10000

typedef struct chan {
    int team;
    char *vm;
    char *domain;
    virStreamPtr st;
    cr_actionlog *log;
    bool opened_once;
    int64_t failing_since; /* cr_now_ms() of the first failed open in a row, or 0 */
    bool warned;       /* the instructor was told this channel cannot be read */
    bool dead;         /* EOF or error seen; the timer frees and reopens */
    struct cr_actions *owner;
} chan;

struct cr_actions {
    char *uri;
    virConnectPtr conn;
    cr_state *st;
    chan *ch;
    size_t n;
    atomic_bool stop;
    bool closed;       /* set by the loop thread once every channel is closed */
    int timer;
};

static void on_stream(virStreamPtr st, int events, void *opaque);

/* Frees a channel's stream; never called from the stream's own callback. */
static void close_chan(chan *c)
{
    if (!c->st)
        return;
    if (!c->dead)
        virStreamEventRemoveCallback(c->st);
    virStreamAbort(c->st);
    virStreamFree(c->st);
    c->st = NULL;
    c->dead = false;
    cr_actionlog_reopened(c->log);
}

/* From the callback: stop watching; the timer closes and reopens later. */
static void mark_dead(chan *c)
{
    if (c->dead)
        return;
    c->dead = true;
    virStreamEventRemoveCallback(c->st);
}

static void send_ack(chan *c)
{
    char ack[32];
    int n = snprintf(ack, sizeof ack, "ack %ld\n", cr_actionlog_ack(c->log));
    if (c->st && !c->dead && virStreamSend(c->st, ack, (size_t)n) < 0)
        cr_log_debug("ack to %s: %s", c->domain, virGetLastErrorMessage());
}

static void on_stream(virStreamPtr st, int events, void *opaque)
{
    chan *c = opaque;
    if (events & VIR_STREAM_EVENT_READABLE) {
        char data[4096];
        bool placed = false;
        for (size_t got = 0; got < READ_SLICE;) {
            int n = virStreamRecv(st, data, sizeof data);
            if (n == -2)
                break;
            if (n <= 0) {
                if (placed)
                    send_ack(c);
                mark_dead(c);
                return;
            }
            placed |= cr_actionlog_feed(c->log, data, (size_t)n, cr_now_ms());
            got += (size_t)n;
        }
        if (placed)
            send_ack(c);
    }
    if (events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP))
        mark_dead(c);
}

static void open_chan(cr_actions *a, chan *c)
{
    if (!a->conn)
        return;
    virDomainPtr d = virDomainLookupByName(a->conn, c->domain);
    if (!d || virDomainIsActive(d) != 1) {
        if (d)
            virDomainFree(d);
        return;
    }
    c->st = virStreamNew(a->conn, VIR_STREAM_NONBLOCK);
    if (!c->st || virDomainOpenChannel(d, CHANNEL, c->st, VIR_DOMAIN_CHANNEL_FORCE) < 0 ||
        virStreamEventAddCallback(c->st, VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP,
                                  on_stream, c, NULL) < 0) {
        int64_t now = cr_now_ms();
        if (!c->failing_since)
            c->failing_since = now;
        if (!c->warned && now - c->failing_since >= WARN_AFTER_MS) {
            c->warned = true;
            cr_log_warn("commands typed on %s are not being recorded: %s", c->domain, virGetLastErrorMessage());
        } else {
            cr_log_debug("action channel of %s: %s", c->domain, virGetLastErrorMessage());
        }
        if (c->st) {
            virStreamFree(c->st);
            c->st = NULL;
        }
    } else {
        if (c->warned)
            cr_log_info("commands typed on %s are recorded again", c->domain);
        else if (!c->opened_once)
            cr_log_debug("reading the action channel of %s", c->domain);
        c->opened_once = true;
        c->failing_since = 0;
        c->warned = false;
    }
    virDomainFree(d);
}

/* cr_actions_stop waits on these until the loop thread has closed the
 * channels; static, so that no thread touches the collector once freed. */
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cond = PTHREAD_COND_INITIALIZER;

/* Runs on the event-loop thread, so it never races a stream callback:
 * (re)opens channels every second and, once stop is asked, closes them all. */
static void on_timer(int timer, void *opaque)
{
    cr_actions *a = opaque;
    if (a->closed)
        return;
    if (atomic_load(&a->stop)) {
        for (size_t i = 0; i < a->n; i++) {
            close_chan(&a->ch[i]);
            cr_actionlog_flush(a->ch[i].log, cr_now_ms(), true);
        }
        virEventUpdateTimeout(timer, -1); /* never fires again */
        pthread_mutex_lock(&stop_lock);
        a->closed = true;
        pthread_cond_broadcast(&stop_cond);
        pthread_mutex_unlock(&stop_lock);
        return;
    }
    virEventUpdateTimeout(timer, 1000);
    /* libvirtd restarted: its streams and the connection are dead. Close
     * them, connect again once it answers, and reopen every channel; the
     * guests resend what was not acknowledged, and the logs skip what they
     * already stored. */
    if (a->conn && virConnectIsAlive(a->conn) == 0) {
        cr_log_warn("lost the connection to libvirt at %s; reconnecting", a->uri);
        for (size_t i = 0; i < a->n; i++)
            close_chan(&a->ch[i]);
        virConnectClose(a->conn);
        a->conn = NULL;
    }
    if (!a->conn) {
        a->conn = virConnectOpen(a->uri);
        if (!a->conn) {
            cr_log_debug("libvirt at %s: %s", a->uri, virGetLastErrorMessage());
            return;
        }
        cr_log_info("connected to libvirt at %s again; reading the action channels", a->uri);
    }
    int64_t now = cr_now_ms();
    for (size_t i = 0; i < a->n && !atomic_load(&a->stop); i++) {
        cr_actionlog_flush(a->ch[i].log, now, false);
        if (a->ch[i].dead)
            close_chan(&a->ch[i]);
        if (!a->ch[i].st)
            open_chan(a, &a->ch[i]);
    }
}


int cr_actions_start(cr_actions **out, const char *uri, const char *db_path, const cr_actions_vm *vms, size_t n,
                     const cr_actionlog_limits *limits)
{
    *out = NULL;
    if (cr_evloop_acquire() < 0)
        return CR_ERROR;
    cr_actions *a = cr_xcalloc(1, sizeof *a);
    a->uri = cr_xstrdup(uri);
    int rc = cr_state_open_file(&a->st, db_path, false);
    if (rc < 0)
        goto fail;
    a->conn = virConnectOpen(uri);
    if (!a->conn) {
        rc = cr_error_set(CR_ERROR, "cannot connect to libvirt at %s: %s", uri, virGetLastErrorMessage());
        goto fail;
    }
    a->ch = cr_xcalloc(n, sizeof *a->ch);
    a->n = n;
    for (size_t i = 0; i < n; i++) {
        a->ch[i].team = vms[i].team;
        a->ch[i].vm = cr_xstrdup(vms[i].vm);
        a->ch[i].domain = cr_xstrdup(vms[i].domain);
        a->ch[i].owner = a;
        a->ch[i].log = cr_actionlog_new(a->st, vms[i].team, vms[i].vm, limits);
    }
    /* The first pass runs at once, later ones every second. */
    a->timer = virEventAddTimeout(0, on_timer, a, NULL);
    if (a->timer < 0) {
        rc = cr_error_set(CR_ERROR, "cannot add the action collector's timer");
        goto fail;
    }
    *out = a;
    return 0;
fail:
    for (size_t i = 0; i < a->n; i++) {
        cr_actionlog_free(a->ch[i].log);
        free(a->ch[i].vm);
        free(a->ch[i].domain);
    }
    free(a->ch);
    if (a->conn)
        virConnectClose(a->conn);
    cr_state_close(a->st);
    free(a->uri);
    free(a);
    cr_evloop_release();
    return rc;
}

size_t cr_actions_stop(cr_actions *a)
{
    if (!a)
        return 0;
    atomic_store(&a->stop, true);
    virEventUpdateTimeout(a->timer, 0);
    pthread_mutex_lock(&stop_lock);
    while (!a->closed)
        pthread_cond_wait(&stop_cond, &stop_lock);
    pthread_mutex_unlock(&stop_lock);
    virEventRemoveTimeout(a->timer);
    size_t stored = 0;
    for (size_t i = 0; i < a->n; i++) {
        stored += cr_actionlog_stored(a->ch[i].log);
        cr_actionlog_free(a->ch[i].log);
        free(a->ch[i].vm);
        free(a->ch[i].domain);
    }
    free(a->ch);
    if (a->conn)
        virConnectClose(a->conn);
    cr_state_close(a->st);
    free(a->uri);
    free(a);
    cr_evloop_release();
    return stored;
}
