/*
 * portal.c: the portal's server: civetweb's lifecycle and options, the one
 * request handler that routes to the pages (assets.c) and the API (api.c),
 * and the WebSocket consoles (console.c).
 *
 * civetweb serves each connection on a worker thread until it closes, and
 * consoles and event streams stay open. A class needs about a hundred (30
 * teams, each with a stream and a console, plus watchers and polls); the
 * pool is ten times that, so that a flood of idle connections (1,000 in the
 * API tests) takes threads, not the service: each is cut after
 * REQUEST_TIMEOUT, and an idle thread costs little (its stack is mapped,
 * not touched).
 */
#include "internal.h"

#include "err.h"
#include "evloop.h"
#include "log.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 1024
#define REQUEST_TIMEOUT "10000"    /* ms a connection may stay idle between requests */
#define WS_TIMEOUT "60000"         /* ms without a frame (pings keep a live console open) */

/* The portal being started: civetweb logs a failed start without a
 * connection, before mg_start has returned a context. */
static cr_portal *start_portal;

int cr_portal_db(cr_portal *p, cr_state **st)
{
    return cr_state_open(st, p->cfg->state_dir, p->range, false);
}

static int on_request(struct mg_connection *conn, void *cbdata)
{
    cr_portal *p = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *path = ri->local_uri ? ri->local_uri : "";
    if (!strncmp(path, "/api/", 5))
        return cr_api_handle(conn, p);
    if (strcmp(ri->request_method, "GET") && strcmp(ri->request_method, "HEAD"))
        return cr_http_error(conn, 405, "use GET");
    /* The pages are one application; these paths are its views. */
    if (!strcmp(path, "/") || !strcmp(path, "/team") || !strcmp(path, "/admin") || !strcmp(path, "/scoreboard"))
        return cr_assets_serve(conn, "index.html");
    if (!strcmp(path, "/favicon.ico"))
        return cr_assets_serve(conn, "favicon.svg");
    if (!strncmp(path, "/assets/", 8)) {
        int rc = cr_assets_serve(conn, path + 8);
        if (rc)
            return rc;
    }
    return cr_http_error(conn, 404, "not found");
}

/* civetweb's messages: kept for a failed start (address in use, bad
 * address), otherwise debug output. */
static int on_log(const struct mg_connection *conn, const char *message)
{
    cr_portal *p = conn ? mg_get_user_data(mg_get_context(conn)) : NULL;
    if (!p && start_portal)
        snprintf(start_portal->start_error, sizeof start_portal->start_error, "%s", message);
    cr_log_debug("portal: %s", message);
    return 1;
}

int cr_portal_port(const cr_portal *p)
{
    return p->port;
}

int cr_portal_start(cr_portal **out, const cr_config *c, cr_engine *e, const cr_portal_opts *o)
{
    *out = NULL;
    if (sodium_init() < 0)
        return cr_error_set(CR_ERROR, "libsodium did not initialise");
    cr_portal *p = cr_xcalloc(1, sizeof *p);
    p->cfg = c;
    p->engine = e;
    p->scenario = cr_engine_scenario(e);
    const cr_range_row *row = cr_engine_range(e);
    p->range = cr_xstrdup(row->name);
    memcpy(p->secret, row->secret, sizeof p->secret);
    char *dir = cr_range_dir(c->state_dir, p->range);
    p->recordings = cr_path_join(dir, "recordings");
    free(dir);
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->admin_lock, NULL);
    pthread_mutex_init(&p->report_lock, NULL);
    int teams = cr_engine_teams(e);
    p->flag_tokens = cr_xcalloc((size_t)teams, sizeof *p->flag_tokens);
    p->flag_refill_ms = cr_xcalloc((size_t)teams, sizeof *p->flag_refill_ms);
    bool evloop = false;

    char *hash_path = cr_auth_admin_hash_path(c);
    size_t len;
    int rc = cr_read_file(&p->admin_hash, &len, hash_path);
    if (rc < 0) {
        cr_error_replace(CR_ENOTFOUND, "no instructor password is set (%s); set one with `crange serve "
                         "--set-admin-password`", hash_path);
        free(hash_path);
        goto fail;
    }
    free(hash_path);
    p->admin_hash[strcspn(p->admin_hash, "\r\n")] = '\0';
    if ((rc = cr_evloop_acquire()) < 0)
        goto fail;
    evloop = true;

    mg_init_library(MG_FEATURES_WEBSOCKET);
    char threads[16];
    snprintf(threads, sizeof threads, "%d", o && o->threads > 0 ? o->threads : THREADS);
    const char *options[] = {"listening_ports",
                             o && o->listen ? o->listen : CR_PORTAL_LISTEN,
                             "num_threads",
                             threads,
                             "request_timeout_ms",
                             REQUEST_TIMEOUT,
                             "websocket_timeout_ms",
                             WS_TIMEOUT,
                             "enable_websocket_ping_pong",
                             "yes",
                             "enable_keep_alive",
                             "yes",
                             "keep_alive_timeout_ms",
                             "5000",
                             NULL};
    struct mg_callbacks cb = {.log_message = on_log};
    start_portal = p;
    p->ctx = mg_start(&cb, p, options);
    start_portal = NULL;
    if (!p->ctx) {
        rc = cr_error_set(CR_ERROR, "cannot listen on %s: %s", o && o->listen ? o->listen : CR_PORTAL_LISTEN,
                          p->start_error[0] ? p->start_error : "civetweb did not start");
        goto fail;
    }
    mg_set_request_handler(p->ctx, "/", on_request, p);
    cr_console_register(p);
    struct mg_server_port ports[4];
    int n = mg_get_server_ports(p->ctx, 4, ports);
    p->port = n > 0 ? ports[0].port : 0;
    *out = p;
    return 0;
fail:
    if (!evloop)
        p->stopping = true;
    cr_portal_stop(p);
    if (evloop)
        cr_evloop_release();
    return rc;
}

void cr_portal_stop(cr_portal *p)
{
    if (!p)
        return;
    bool started = p->ctx != NULL;
    p->stopping = true;
    if (started) {
        cr_console_close_all(p);
        mg_stop(p->ctx); /* waits for every connection: consoles close, streams end */
        if (p->revert_started)
            pthread_join(p->revert_thread, NULL); /* a revert under way finishes */
        cr_console_wait_closed(p); /* before the event loop that closes them stops */
        mg_exit_library();
        cr_evloop_release();
    }
    json_decref(p->frozen_board);
    free(p->sessions);
    free(p->flag_tokens);
    free(p->flag_refill_ms);
    free(p->admin_hash);
    free(p->recordings);
    free(p->range);
    sodium_memzero(p->secret, sizeof p->secret);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->admin_lock);
    pthread_mutex_destroy(&p->report_lock);
    free(p);
}
