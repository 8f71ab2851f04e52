/*
 * console.c: VM serial consoles in the browser. A WebSocket at
 * /ws/console?team=T&vm=NAME[&watch=1][&cols=C&rows=R] is bridged to the
 * VM's serial console through libvirt (virDomainOpenConsole on a
 * non-blocking virStream, read on the shared event loop of evloop.h).
 *
 * One console hub per VM holds the single libvirt console stream and fans
 * its output out to every browser attached: the team typing, and any
 * number of instructors watching read-only. New clients get the last
 * SCROLLBACK bytes first, so a watcher sees the current screen.
 *
 * Each client has its own writer thread and a bounded queue, so a browser
 * that never reads loses its connection instead of delaying the others or
 * the event loop (which also carries the trainee action channels).
 *
 * Every browser session is recorded as it passes through, in asciicast v2
 * (<range dir>/recordings/<id>.cast, 0600), and logged as console.attach /
 * console.detach events naming the recording.
 *
 * Protocol: the server sends binary frames of console output and text
 * frames of status ("{\"status\":...}"); the client sends text frames whose
 * first byte says what follows: 'i' input bytes, 'r' "COLSxROWS" (a serial
 * console has no window size; it is recorded for the replay).
 */
#include "internal.h"

#include "err.h"
#include "events.h"
#include "log.h"
#include "plan.h"
#include "util.h"

#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SCROLLBACK 16384           /* bytes of output replayed to a new client */
#define QUEUE_MAX (1 << 20)        /* output a client may fall behind before it is dropped */
#define RECORDING_MAX (16 << 20)   /* bytes of one recording; the rest is not kept */
#define INPUT_MAX 4096             /* bytes of one input frame */

typedef struct ws_client ws_client;

struct cr_console_hub {
    cr_portal *p;
    int team;
    char vm[CR_NAME_MAX + 1];
    virDomainPtr dom;
    virStreamPtr st;
    pthread_mutex_t mu;            /* clients, scrollback, dead */
    ws_client *clients;
    unsigned char ring[SCROLLBACK];
    size_t ring_len, ring_pos;
    bool dead;
    int refs;                      /* clients + the stream callback; under p->lock */
    cr_console_hub *next;
};

struct ws_client {
    cr_portal *p;
    struct mg_connection *conn;
    cr_console_hub *hub;
    int team;
    char vm[CR_NAME_MAX + 1];
    bool control;                  /* may type */
    cr_portal_role role;
    int cols, rows;

    pthread_mutex_t mu;            /* queue, closing */
    pthread_cond_t cv;
    cr_buf queue;
    char *status;                  /* a status message to send, then close */
    bool closing;
    bool gone;                     /* the browser closed: write nothing more */
    bool writer_started;
    pthread_t writer;

    FILE *cast;                    /* under hub->mu */
    char rec[33];
    int64_t t0_ms;
    size_t cast_bytes;
    unsigned char carry[4];        /* an incomplete UTF-8 sequence at the end of the last chunk */
    size_t n_carry;
    ws_client *next;
};

/* ------------------------------------------------------------ recording */

/* Length of the valid UTF-8 sequence at s (n bytes left): 1-4, 0 when
 * invalid, -1 when it may be valid but is cut off. */
static int utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    int len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || (len == 2 && c < 0xc2) || (len == 4 && c > 0xf4))
        return 0;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    }
    if ((len == 3 && c == 0xe0 && s[1] < 0xa0) || (len == 3 && c == 0xed && s[1] > 0x9f) ||
        (len == 4 && c == 0xf0 && s[1] < 0x90) || (len == 4 && c == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

/* Appends output to a client's recording as valid UTF-8 (invalid bytes
 * become U+FFFD; a sequence cut at the end waits for the next chunk). */
static void record(ws_client *c, const unsigned char *data, size_t n)
{
    if (!c->cast || c->cast_bytes > RECORDING_MAX)
        return;
    cr_buf text = {0};
    unsigned char tmp[4 + 16384];
    size_t len = 0;
    memcpy(tmp, c->carry, c->n_carry);
    len = c->n_carry;
    size_t take = n < sizeof tmp - len ? n : sizeof tmp - len;
    memcpy(tmp + len, data, take);
    len += take;
    c->n_carry = 0;
    size_t i = 0;
    while (i < len) {
        int k = utf8_seq(tmp + i, len - i);
        if (k < 0) {
            c->n_carry = len - i;
            memcpy(c->carry, tmp + i, c->n_carry);
            break;
        }
        if (k == 0) {
            cr_buf_add(&text, "\xef\xbf\xbd");
            i++;
        } else {
            cr_buf_addn(&text, (const char *)tmp + i, (size_t)k);
            i += (size_t)k;
        }
    }
    if (text.len) {
        json_t *ev = json_pack("[f, s, s%]", (double)(cr_now_ms() - c->t0_ms) / 1000.0, "o", text.data, text.len);
        char *line = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
        if (line) {
            c->cast_bytes += strlen(line) + 1;
            fprintf(c->cast, "%s\n", line);
            fflush(c->cast);
        }
        free(line);
        json_decref(ev);
    }
    cr_buf_free(&text);
    if (take < n)
        record(c, data + take, n - take);
}

static void open_recording(ws_client *c)
{
    unsigned char id[16];
    randombytes_buf(id, sizeof id);
    cr_hex(c->rec, id, sizeof id);
    if (cr_mkdir_p(c->p->recordings, 0700) < 0) {
        cr_log_warn("console recording: %s", cr_error_message());
        cr_error_clear();
        c->rec[0] = '\0';
        return;
    }
    char *path = cr_xasprintf("%s/%s.cast", c->p->recordings, c->rec);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    c->cast = fd >= 0 ? fdopen(fd, "w") : NULL;
    free(path);
    if (!c->cast) {
        c->rec[0] = '\0';
        return;
    }
    c->t0_ms = cr_now_ms();
    char title[128];
    snprintf(title, sizeof title, "team %d %s (%s%s)", c->team, c->vm,
             c->role == CR_ROLE_TEAM ? "trainee" : "instructor", c->control ? "" : ", watching");
    json_t *hdr = json_pack("{s:i, s:i, s:i, s:I, s:s, s:{s:s}}", "version", 2, "width", c->cols, "height", c->rows,
                            "timestamp", (json_int_t)(cr_wall_ms() / 1000), "title", title, "env", "TERM",
                            "xterm-256color");
    char *line = json_dumps(hdr, JSON_COMPACT);
    fprintf(c->cast, "%s\n", line);
    fflush(c->cast);
    free(line);
    json_decref(hdr);
}

static void console_event(ws_client *c, const char *kind)
{
    cr_state *st = NULL;
    json_t *data = json_pack("{s:s, s:s, s:s}", "via", "portal", "role",
                             c->role == CR_ROLE_TEAM ? "trainee" : "instructor", "mode", c->control ? "control" : "watch");
    if (c->rec[0])
        json_object_set_new(data, "recording", json_string(c->rec));
    if (cr_portal_db(c->p, &st) < 0 || cr_event_add(st, 0, c->team, c->vm, kind, data, NULL, NULL) < 0)
        cr_log_warn("cannot record %s: %s", kind, cr_error_message());
    cr_error_clear();
    cr_state_close(st);
    json_decref(data);
}

/* ------------------------------------------------------------- clients */

static void client_enqueue(ws_client *c, const void *data, size_t n)
{
    pthread_mutex_lock(&c->mu);
    if (!c->closing) {
        if (c->queue.len + n > QUEUE_MAX) {
            /* It does not read: drop it rather than hold everyone up. */
            c->closing = true;
            free(c->status);
            c->status = cr_xstrdup("{\"status\":\"dropped\",\"reason\":\"the browser did not keep up\"}");
        } else {
            cr_buf_addn(&c->queue, data, n);
        }
        pthread_cond_signal(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
}

static void client_close(ws_client *c, const char *status_json)
{
    pthread_mutex_lock(&c->mu);
    if (!c->closing) {
        c->closing = true;
        free(c->status);
        c->status = status_json ? cr_xstrdup(status_json) : NULL;
    }
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static int ws_write(ws_client *c, int opcode, const void *data, size_t n)
{
    mg_lock_connection(c->conn);
    int r = mg_websocket_write(c->conn, opcode, data, n);
    mg_unlock_connection(c->conn);
    return r;
}

static void *writer_main(void *arg)
{
    ws_client *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->queue.len && !c->closing)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->queue.len) {
            cr_buf out = c->queue;
            c->queue = (cr_buf){0};
            pthread_mutex_unlock(&c->mu);
            int r = ws_write(c, MG_WEBSOCKET_OPCODE_BINARY, out.data, out.len);
            cr_buf_free(&out);
            pthread_mutex_lock(&c->mu);
            if (r <= 0)
                c->closing = true;
            continue;
        }
        break; /* closing, queue empty */
    }
    char *status = c->status;
    c->status = NULL;
    bool gone = c->gone;
    pthread_mutex_unlock(&c->mu);
    if (!gone) {
        if (status)
            ws_write(c, MG_WEBSOCKET_OPCODE_TEXT, status, strlen(status));
        ws_write(c, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, "\x03\xe8", 2);
    }
    free(status);
    return NULL;
}

static void send_status(ws_client *c, const char *json)
{
    ws_write(c, MG_WEBSOCKET_OPCODE_TEXT, json, strlen(json));
}

/* ---------------------------------------------------------------- hubs */

static void hub_unref_locked(cr_console_hub *h)
{
    if (--h->refs > 0)
        return;
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static void on_stream(virStreamPtr st, int events, void *opaque)
{
    cr_console_hub *h = opaque;
    if (events & VIR_STREAM_EVENT_READABLE) {
        unsigned char buf[16384];
        for (;;) {
            int n = virStreamRecv(st, (char *)buf, sizeof buf);
            if (n == -2)
                break;
            if (n <= 0) {
                events |= VIR_STREAM_EVENT_HANGUP;
                break;
            }
            pthread_mutex_lock(&h->mu);
            for (int i = 0; i < n; i++) {
                h->ring[h->ring_pos] = buf[i];
                h->ring_pos = (h->ring_pos + 1) % SCROLLBACK;
            }
            h->ring_len = h->ring_len + (size_t)n > SCROLLBACK ? SCROLLBACK : h->ring_len + (size_t)n;
            for (ws_client *c = h->clients; c; c = c->next) {
                client_enqueue(c, buf, (size_t)n);
                record(c, buf, (size_t)n);
            }
            pthread_mutex_unlock(&h->mu);
        }
    }
    if (events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP)) {
        pthread_mutex_lock(&h->mu);
        if (!h->dead) {
            h->dead = true;
            for (ws_client *c = h->clients; c; c = c->next)
                client_close(c, "{\"status\":\"closed\",\"reason\":\"the console closed (VM stopped, or taken "
                                "over with crange console --force)\"}");
        }
        pthread_mutex_unlock(&h->mu);
        virStreamEventUpdateCallback(st, 0);
    }
}

/* Under p->lock: the live hub of a VM, opening its console when there is
 * none. NULL with the message set when libvirt refuses. */
static cr_console_hub *hub_get(cr_portal *p, int team, const char *vm)
{
    for (cr_console_hub *h = p->hubs; h; h = h->next)
        if (h->team == team && !strcmp(h->vm, vm) && !h->dead)
            return h;
    /* The VM's own host: teams may be placed, or spread, over several
     * (hosts.h). */
    virConnectPtr conn = virConnectOpen(cr_engine_uri(p->engine, team, vm));
    if (!conn) {
        cr_error_set(CR_ERROR, "cannot connect to libvirt: %s", virGetLastErrorMessage());
        return NULL;
    }
    char *domain = cr_name_domain(p->range, team, vm);
    cr_console_hub *h = cr_xcalloc(1, sizeof *h);
    h->p = p;
    h->team = team;
    snprintf(h->vm, sizeof h->vm, "%s", vm);
    pthread_mutex_init(&h->mu, NULL);
    h->dom = virDomainLookupByName(conn, domain);
    h->st = h->dom ? virStreamNew(conn, VIR_STREAM_NONBLOCK) : NULL;
    if (!h->st || virDomainOpenConsole(h->dom, NULL, h->st, 0) < 0 ||
        virStreamEventAddCallback(h->st, VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP,
                                  on_stream, h, NULL) < 0) {
        cr_error_set(CR_ERROR, "console of %s: %s", domain, virGetLastErrorMessage());
        if (h->st)
            virStreamFree(h->st);
        if (h->dom)
            virDomainFree(h->dom);
        pthread_mutex_destroy(&h->mu);
        free(h);
        h = NULL;
    } else {
        h->refs = 1; /* the stream callback's, dropped by hub_close_timer */
        h->next = p->hubs;
        p->hubs = h;
    }
    /* The domain and the stream keep the connection alive. */
    virConnectClose(conn);
    free(domain);
    return h;
}

/*
 * The event-loop thread: takes the stream callback off a hub nobody is
 * attached to, closes its stream and drops the callback's reference.
 *
 * This runs on the event loop's own thread because that is where libvirt
 * calls on_stream (a remote stream's events come from a timer of the loop):
 * once the callback is removed here, on_stream is not running and will not
 * run again, so the hub can go. The reference is not handed back through
 * virStreamEventAddCallback's free function: libvirt's remote driver never
 * calls it (remoteStreamCallbackFree tests a callback pointer that is never
 * NULL; a fix was proposed upstream in June 2025, after Debian 12's 9.0), and
 * every hub of a serve's life leaked, as test_valgrind.sh showed. When the
 * removal fails (libvirt refuses it on a stream that holds an error), the
 * callback stays and so does its reference: the hub is kept rather than
 * freed under a callback that may still fire.
 */
static void hub_close_timer(int timer, void *opaque)
{
    cr_console_hub *h = opaque;
    cr_portal *p = h->p;
    virEventRemoveTimeout(timer);
    bool removed = virStreamEventRemoveCallback(h->st) == 0;
    pthread_mutex_lock(&p->lock);
    virStreamPtr st = h->st;
    virDomainPtr dom = h->dom;
    h->st = NULL;
    h->dom = NULL;
    if (removed)
        hub_unref_locked(h);
    p->hubs_closing--;
    pthread_mutex_unlock(&p->lock);
    virStreamAbort(st);
    virStreamFree(st);
    virDomainFree(dom);
}

/* Under p->lock: closes the hub's stream once nobody is attached. */
static void hub_release_locked(cr_portal *p, cr_console_hub *h)
{
    if (h->clients) {
        hub_unref_locked(h);
        return;
    }
    for (cr_console_hub **pp = &p->hubs; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    hub_unref_locked(h); /* the client's; the callback's goes in hub_close_timer */
    if (virEventAddTimeout(0, hub_close_timer, h, NULL) < 0) {
        /* No timer, no safe moment to free: the hub stays, closed. */
        cr_log_warn("console of team %d vm %s: cannot close its stream: %s", h->team, h->vm,
                    virGetLastErrorMessage());
        return;
    }
    p->hubs_closing++;
}

/* Waits, at most 5 s, for the event loop to close the hubs released last. */
void cr_console_wait_closed(cr_portal *p)
{
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&p->lock);
        int left = p->hubs_closing;
        pthread_mutex_unlock(&p->lock);
        if (left == 0)
            return;
        cr_sleep_ms(10);
    }
    cr_log_warn("%d console streams were still closing when the portal stopped", p->hubs_closing);
}

/* ------------------------------------------------------ civetweb hooks */

static int query_int(const char *qs, const char *name, int dflt)
{
    char buf[16];
    if (!qs || mg_get_var(qs, strlen(qs), name, buf, sizeof buf) <= 0)
        return dflt;
    char *end;
    long v = strtol(buf, &end, 10);
    return *end || v < 0 || v > 100000 ? -1 : (int)v;
}

/* Same-origin only: the cookie is SameSite=Strict, and a page of another
 * origin must not even get to try (cross-site WebSocket hijacking). */
static bool origin_ok(const struct mg_connection *conn)
{
    const char *origin = mg_get_header(conn, "Origin");
    const char *host = mg_get_header(conn, "Host");
    if (!origin || !host)
        return false;
    const char *o = !strncmp(origin, "http://", 7) ? origin + 7 : !strncmp(origin, "https://", 8) ? origin + 8 : NULL;
    return o && !strcmp(o, host);
}

static int on_connect(const struct mg_connection *conn, void *cbdata)
{
    cr_portal *p = cbdata;
    cr_session s;
    const char *qs = mg_get_request_info(conn)->query_string;
    char vm[CR_NAME_MAX + 1] = "";
    if (!origin_ok(conn) || !cr_auth_session(p, conn, &s))
        return 1;
    int team = query_int(qs, "team", -1);
    int watch = query_int(qs, "watch", 0);
    if (!qs || mg_get_var(qs, strlen(qs), "vm", vm, sizeof vm) <= 0)
        return 1;
    const cr_team_model *tm = cr_engine_team(p->engine, team);
    const cr_vm *v = tm ? cr_team_vm(tm, vm) : NULL;
    if (!v || watch < 0)
        return 1;
    /* A team types in its own entry VMs; the instructor opens any VM. */
    if (s.role == CR_ROLE_TEAM && (s.team != team || !v->entry || watch))
        return 1;
    if (s.role != CR_ROLE_TEAM && s.role != CR_ROLE_INSTRUCTOR)
        return 1;
    ws_client *c = cr_xcalloc(1, sizeof *c);
    c->p = p;
    c->team = team;
    snprintf(c->vm, sizeof c->vm, "%s", vm);
    c->role = s.role;
    c->control = !watch;
    c->cols = query_int(qs, "cols", 80);
    c->rows = query_int(qs, "rows", 24);
    if (c->cols < 10 || c->cols > 1000)
        c->cols = 80;
    if (c->rows < 5 || c->rows > 500)
        c->rows = 24;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    mg_set_user_connection_data(conn, c);
    return 0;
}

static void on_ready(struct mg_connection *conn, void *cbdata)
{
    cr_portal *p = cbdata;
    ws_client *c = mg_get_user_connection_data(conn);
    if (!c)
        return;
    c->conn = conn;
    pthread_mutex_lock(&p->lock);
    cr_console_hub *h = p->stopping ? NULL : hub_get(p, c->team, c->vm);
    if (h) {
        h->refs++;
        c->hub = h;
        open_recording(c);
        pthread_mutex_lock(&h->mu);
        /* The scrollback first, oldest byte first. */
        size_t start = (h->ring_pos + SCROLLBACK - h->ring_len) % SCROLLBACK;
        for (size_t i = 0; i < h->ring_len; i++) {
            unsigned char b = h->ring[(start + i) % SCROLLBACK];
            cr_buf_addn(&c->queue, (const char *)&b, 1);
        }
        c->next = h->clients;
        h->clients = c;
        pthread_mutex_unlock(&h->mu);
    }
    pthread_mutex_unlock(&p->lock);
    if (!h) {
        char msg[600];
        json_t *j = json_pack("{s:s, s:s}", "status", "error", "reason", cr_error_message());
        char *t = json_dumps(j, JSON_COMPACT);
        snprintf(msg, sizeof msg, "%s", t ? t : "{\"status\":\"error\"}");
        free(t);
        json_decref(j);
        cr_error_clear();
        send_status(c, msg);
        ws_write(c, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, "\x03\xf3", 2);
        return;
    }
    send_status(c, c->control ? "{\"status\":\"attached\",\"mode\":\"control\"}"
                              : "{\"status\":\"attached\",\"mode\":\"watch\"}");
    c->writer_started = pthread_create(&c->writer, NULL, writer_main, c) == 0;
    if (!c->writer_started)
        client_close(c, NULL);
    console_event(c, "console.attach");
}

static int on_data(struct mg_connection *conn, int flags, char *data, size_t len, void *cbdata)
{
    cr_portal *p = cbdata;
    ws_client *c = mg_get_user_connection_data(conn);
    int op = flags & 0xf;
    if (op == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
        return 0;
    if (!c || !c->hub || (op != MG_WEBSOCKET_OPCODE_TEXT && op != MG_WEBSOCKET_OPCODE_BINARY) || len < 1)
        return 1;
    if (data[0] == 'r' && len < 32) {
        int cols, rows;
        char tmp[32];
        memcpy(tmp, data + 1, len - 1);
        tmp[len - 1] = '\0';
        if (sscanf(tmp, "%dx%d", &cols, &rows) == 2 && cols >= 10 && cols <= 1000 && rows >= 5 && rows <= 500) {
            c->cols = cols;
            c->rows = rows;
        }
        return 1;
    }
    if (data[0] != 'i' || !c->control || len - 1 > INPUT_MAX)
        return 1; /* watchers cannot type; anything else is ignored */
    pthread_mutex_lock(&p->lock);
    virStreamPtr st = c->hub->dead ? NULL : c->hub->st;
    if (st)
        virStreamRef(st);
    pthread_mutex_unlock(&p->lock);
    if (!st)
        return 1;
    const char *q = data + 1;
    size_t n = len - 1;
    int64_t deadline = cr_now_ms() + 2000;
    while (n > 0 && cr_now_ms() < deadline) {
        int w = virStreamSend(st, q, n);
        if (w == -2) {
            cr_sleep_ms(5);
            continue;
        }
        if (w < 0)
            break;
        q += w;
        n -= (size_t)w;
    }
    virStreamFree(st);
    return 1;
}

static void on_close(const struct mg_connection *conn, void *cbdata)
{
    cr_portal *p = cbdata;
    ws_client *c = mg_get_user_connection_data(conn);
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->closing = true;
    c->gone = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->writer_started)
        pthread_join(c->writer, NULL);
    if (c->hub) {
        pthread_mutex_lock(&p->lock);
        pthread_mutex_lock(&c->hub->mu);
        for (ws_client **pp = &c->hub->clients; *pp; pp = &(*pp)->next)
            if (*pp == c) {
                *pp = c->next;
                break;
            }
        if (c->cast)
            fclose(c->cast);
        c->cast = NULL;
        pthread_mutex_unlock(&c->hub->mu);
        hub_release_locked(p, c->hub);
        pthread_mutex_unlock(&p->lock);
        console_event(c, "console.detach");
    }
    cr_buf_free(&c->queue);
    free(c->status);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void cr_console_register(cr_portal *p)
{
    mg_set_websocket_handler(p->ctx, "/ws/console", on_connect, on_ready, on_data, on_close, p);
}

json_t *cr_console_list(cr_portal *p)
{
    json_t *out = json_array();
    pthread_mutex_lock(&p->lock);
    for (cr_console_hub *h = p->hubs; h; h = h->next) {
        int control = 0, watch = 0;
        pthread_mutex_lock(&h->mu);
        for (ws_client *c = h->clients; c; c = c->next)
            c->control ? control++ : watch++;
        pthread_mutex_unlock(&h->mu);
        json_array_append_new(out, json_pack("{s:i, s:s, s:i, s:i}", "team", h->team, "vm", h->vm, "clients", control,
                                             "watchers", watch));
    }
    pthread_mutex_unlock(&p->lock);
    return out;
}

void cr_console_close_all(cr_portal *p)
{
    pthread_mutex_lock(&p->lock);
    for (cr_console_hub *h = p->hubs; h; h = h->next) {
        pthread_mutex_lock(&h->mu);
        for (ws_client *c = h->clients; c; c = c->next)
            client_close(c, "{\"status\":\"closed\",\"reason\":\"the portal is stopping\"}");
        pthread_mutex_unlock(&h->mu);
    }
    pthread_mutex_unlock(&p->lock);
}
