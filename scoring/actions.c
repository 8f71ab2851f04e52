/*
 * actions.c: the action-channel collector of actions.h. One thread runs
 * libvirt's default event loop; each VM's channel is a non-blocking stream
 * whose readable callback splits the data into lines, stores the next
 * expected line of the current spool, and acknowledges what is stored. A
 * one-second timer (re)opens channels that are not open yet.
 */
#include "actions.h"

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
#define MAX_LINE 65536
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
    cr_buf buf;        /* bytes after the last newline */
    char spool[64];    /* the spool being read; "" before the first line */
    long next;         /* next sequence number expected from that spool */
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
    size_t stored;
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
    c->buf.len = 0;
}

/* From the callback: stop watching; the timer closes and reopens later. */
static void mark_dead(chan *c)
{
    if (c->dead)
        return;
    c->dead = true;
    virStreamEventRemoveCallback(c->st);
}

/* The highest sequence number stored for (team, vm, spool), or 0. A failed
 * read counts as 0: the guest resends from there and the dedupe key drops
 * what is already stored. */
static long stored_max(cr_actions *a, const chan *c, const char *spool)
{
    int64_t max = 0;
    if (cr_events_action_seq_max(a->st, c->team, c->vm, spool, &max) < 0)
        cr_error_clear();
    return (long)max;
}

/* Handles one JSON line; returns true when it was a valid action line: a
 * command line, or the exit status of an earlier one ("of": its seq). */
static bool take_line(chan *c, const char *line)
{
    cr_actions *a = c->owner;
    json_t *j = json_loads(line, 0, NULL);
    json_t *seqv = json_object_get(j, "seq");
    const char *spool = json_string_value(json_object_get(j, "spool"));
    const char *cmd = json_string_value(json_object_get(j, "command"));
    json_t *status = json_object_get(j, "status"), *of = json_object_get(j, "of");
    bool is_status = !cmd && json_is_integer(status) && json_is_integer(of);
    bool ok = json_is_integer(seqv) && spool && *spool && strlen(spool) < sizeof c->spool && (cmd || is_status);
    if (!ok) {
        /* A fragment of a line cut short when a previous reader died: the
         * guest sends the whole line again. */
        cr_log_debug("action channel of %s: not an action line (%zu bytes)", c->domain, strlen(line));
        json_decref(j);
        return false;
    }
    if (strcmp(spool, c->spool)) {
        snprintf(c->spool, sizeof c->spool, "%s", spool);
        c->next = stored_max(a, c, spool) + 1;
    }
    long seq = (long)json_integer_value(seqv);
    if (seq != c->next)
        cr_log_debug("action channel of %s: line %ld of spool %s, waiting for %ld", c->domain, seq, spool, c->next);
    if (seq == c->next) {
        char dedupe[160];
        snprintf(dedupe, sizeof dedupe, "action:%d:%s:%s:%ld", c->team, c->vm, spool, seq);
        json_t *data = is_status
                           ? json_pack("{s:O?, s:O, s:O, s:s, s:I, s:O?}", "user", json_object_get(j, "user"), "of", of,
                                       "status", status, "spool", spool, "seq", (json_int_t)seq, "guest_time",
                                       json_object_get(j, "time"))
                           : json_pack("{s:O?, s:O?, s:s, s:s, s:I, s:O?}", "user", json_object_get(j, "user"), "cwd",
                                       json_object_get(j, "cwd"), "command", cmd, "spool", spool, "seq",
                                       (json_int_t)seq, "guest_time", json_object_get(j, "time"));
        bool inserted = false;
        if (cr_event_add(a->st, 0, c->team, c->vm, is_status ? "action.status" : "action.command", data, dedupe,
                         &inserted) == 0) {
            c->next++;
            if (inserted) {
                a->stored++;
                if (cmd)
                    cr_log_info("team %d %s: %s", c->team, c->vm, cmd);
            }
        } else {
            cr_log_warn("storing an action of team %d %s: %s", c->team, c->vm, cr_error_message());
            cr_error_clear();
        }
        json_decref(data);
    }
    json_decref(j);
    return true;
}

static void send_ack(chan *c)
{
    char ack[32];
    int n = snprintf(ack, sizeof ack, "ack %ld\n", c->next - 1);
    if (c->st && !c->dead && virStreamSend(c->st, ack, (size_t)n) < 0)
        cr_log_debug("ack to %s: %s", c->domain, virGetLastErrorMessage());
}

static void on_stream(virStreamPtr st, int events, void *opaque)
{
    chan *c = opaque;
    if (events & VIR_STREAM_EVENT_READABLE) {
        char data[4096];
        bool lines = false;
        for (;;) {
            int n = virStreamRecv(st, data, sizeof data);
            if (n == -2)
                break;
            if (n <= 0) {
                mark_dead(c);
                return;
            }
            cr_buf_addn(&c->buf, data, (size_t)n);
            char *start = c->buf.data, *nl;
            while ((nl = memchr(start, '\n', c->buf.len - (size_t)(start - c->buf.data)))) {
                *nl = '\0';
                lines |= take_line(c, start);
                start = nl + 1;
            }
            size_t rest = c->buf.len - (size_t)(start - c->buf.data);
            if (rest > MAX_LINE)
                rest = 0; /* garbage without newlines: drop it */
            memmove(c->buf.data, start, rest);
            c->buf.len = rest;
            c->buf.data[rest] = '\0';
        }
        if (lines)
            send_ack(c);
    }
    if (events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP))
        mark_dead(c);
}

static void open_chan(cr_actions *a, chan *c)
{
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
        for (size_t i = 0; i < a->n; i++)
            close_chan(&a->ch[i]);
        virEventUpdateTimeout(timer, -1); /* never fires again */
        pthread_mutex_lock(&stop_lock);
        a->closed = true;
        pthread_cond_broadcast(&stop_cond);
        pthread_mutex_unlock(&stop_lock);
        return;
    }
    virEventUpdateTimeout(timer, 1000);
    for (size_t i = 0; i < a->n && !atomic_load(&a->stop); i++) {
        if (a->ch[i].dead)
            close_chan(&a->ch[i]);
        if (!a->ch[i].st)
            open_chan(a, &a->ch[i]);
    }
}


int cr_actions_start(cr_actions **out, const char *uri, const char *db_path, const cr_actions_vm *vms, size_t n)
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
    for (size_t i = 0; i < a->n; i++) {
        cr_buf_free(&a->ch[i].buf);
        free(a->ch[i].vm);
        free(a->ch[i].domain);
    }
    free(a->ch);
    size_t stored = a->stored;
    virConnectClose(a->conn);
    cr_state_close(a->st);
    free(a->uri);
    free(a);
    cr_evloop_release();
    return stored;
}
