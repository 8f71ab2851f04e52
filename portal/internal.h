/*
 * internal.h: what the portal's modules share: the server struct, the
 * request helpers (http.c), sessions and credentials (auth.c), the JSON API
 * (api.c), the browser consoles (console.c) and the embedded pages
 * (assets.c). Not part of the portal's contract (portal.h).
 */
#ifndef CRANGE_PORTAL_INTERNAL_H
#define CRANGE_PORTAL_INTERNAL_H

#include "portal.h"
#include "state.h"

#include <civetweb.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define CR_PORTAL_MAX_BODY 65536      /* JSON bodies; a flag answer is far smaller */
#define CR_SESSION_ID_LEN 64          /* hex of 32 random bytes */
#define CR_CSRF_LEN 32                /* hex of 16 random bytes */

typedef enum { CR_ROLE_NONE = 0, CR_ROLE_TEAM, CR_ROLE_INSTRUCTOR } cr_portal_role;

typedef struct cr_session {
    char id[CR_SESSION_ID_LEN + 1];
    char csrf[CR_CSRF_LEN + 1];
    cr_portal_role role;
    int team;                /* CR_ROLE_TEAM */
    int64_t expires_ms;      /* monotonic */
} cr_session;

typedef struct cr_console_hub cr_console_hub;

struct cr_portal {
    const cr_config *cfg;
    cr_engine *engine;
    const cr_scenario *scenario;
    char *range;
    char *recordings;                /* <state>/ranges/<range>/recordings */
    unsigned char secret[32];
    char *admin_hash;                /* argon2id string */
    struct mg_context *ctx;
    int port;
    char start_error[256];           /* civetweb's message when it could not start */

    pthread_mutex_t lock;            /* sessions, rate limits, hubs, freeze */
    cr_session *sessions;
    size_t n_sessions, cap_sessions;
    double *flag_tokens;             /* per team: token bucket of flag submissions */
    int64_t *flag_refill_ms;
    json_t *frozen_board;            /* the public scoreboard as frozen, or NULL */
    cr_console_hub *hubs;
    int hubs_closing;                /* released hubs the event loop has yet to close */
    pthread_mutex_t admin_lock;      /* one argon2id verification at a time (64 MiB each) */
    pthread_mutex_t report_lock;     /* one report written at a time */
    bool stopping;
    bool reverting;                  /* one VM revert at a time, beside the server */
    bool revert_started;             /* revert_thread is joinable */
    pthread_t revert_thread;
};

/* ---- http.c */

/* Sends a JSON body (stolen) with the given status and no-store headers. */
int cr_http_json(struct mg_connection *conn, int status, json_t *body);
/* The same with one more header, e.g. Retry-After. */
int cr_http_json_with(struct mg_connection *conn, int status, json_t *body, const char *name, const char *value);
/* Sends {"error": message} with the status. */
int cr_http_error(struct mg_connection *conn, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reads a JSON object body, refusing a wrong Content-Type (415), a body over
 * CR_PORTAL_MAX_BODY (413) and malformed JSON (400); on refusal the
 * response is sent and the status returned with *out NULL. */
int cr_http_read_json(struct mg_connection *conn, json_t **out);
/* Sends bytes with a content type (asset or file), with security headers. */
int cr_http_send(struct mg_connection *conn, int status, const char *type, const void *data, size_t len,
                 const char *cache);
/* Headers every response carries (CSP and friends), for handlers that build
 * their own response. */
void cr_http_security_headers(struct mg_connection *conn);

/* ---- auth.c */

/* The caller's session (copied into *out) from the session cookie; false
 * when there is none or it expired. */
bool cr_auth_session(cr_portal *p, const struct mg_connection *conn, cr_session *out);
/* Whether a state-changing request carries the session's CSRF token. */
bool cr_auth_csrf_ok(const cr_session *s, const struct mg_connection *conn);
/* Creates a session and sends its cookie with the JSON body (stolen). */
int cr_auth_login_reply(cr_portal *p, struct mg_connection *conn, cr_portal_role role, int team, json_t *body);
void cr_auth_logout(cr_portal *p, const cr_session *s);
bool cr_auth_team_token_ok(const cr_portal *p, int team, const char *token);
bool cr_auth_admin_ok(cr_portal *p, const char *password);
/* Takes one flag submission from the team's bucket; false: over the rate
 * (*retry_s gets the seconds to wait). */
bool cr_auth_flag_rate(cr_portal *p, int team, int *retry_s);
char *cr_auth_admin_hash_path(const cr_config *c);

/* ---- api.c */

int cr_api_handle(struct mg_connection *conn, cr_portal *p);

/* ---- console.c */

void cr_console_register(cr_portal *p);
void cr_console_close_all(cr_portal *p);
void cr_console_wait_closed(cr_portal *p);
/* Console sessions now open, for the health view: [{"team","vm","clients","watchers"}]. */
json_t *cr_console_list(cr_portal *p);

/* ---- assets.c */

/* Serves an embedded file by its path under portal/www; 0 when unknown. */
int cr_assets_serve(struct mg_connection *conn, const char *path);

/* ---- shared */

/* Opens the range database for one request (the caller closes it). */
int cr_portal_db(cr_portal *p, cr_state **st);

#endif
