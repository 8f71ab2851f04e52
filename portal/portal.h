/*
 * portal.h: the exercise portal behind `crange serve`. One HTTP server
 * (civetweb: HTTP, WebSocket, server-sent events; nothing parsed by hand)
 * over the exercise engine of the same process:
 *
 *   trainees   log in per team, read the briefing, their VMs and objectives,
 *              answer flags, take hints, and type in their entry VMs'
 *              serial consoles in the page (xterm.js over a WebSocket);
 *   instructor logs in with the admin password, watches the class live
 *              (matrix, timelines, range health), watches any console
 *              read-only beside the team, and replays recorded sessions;
 *   anyone     the public scoreboard, for a projector.
 *
 * The API is documented in portal/openapi.yaml; the pages use nothing else.
 * Pages and vendored browser code are compiled into the binary.
 *
 * Ownership: a cr_portal borrows the configuration and the engine, which
 * must outlive it; cr_portal_stop accepts NULL.
 */
#ifndef CRANGE_PORTAL_H
#define CRANGE_PORTAL_H

#include "config.h"
#include "engine.h"

#include <stdbool.h>

#define CR_PORTAL_LISTEN "127.0.0.1:8080"
#define CR_TEAM_TOKEN_LEN 24 /* "xxxx-xxxx-xxxx-xxxx-xxxx" */

typedef struct cr_portal cr_portal;

typedef struct cr_portal_opts {
    const char *listen;   /* civetweb's listening_ports syntax, e.g. 127.0.0.1:8080; NULL: the default */
    int threads;          /* civetweb's workers, one per open connection (consoles and live views
                           * hold theirs); 0: the default, 1024 (tests/fuzz uses fewer) */
} cr_portal_opts;

/* Starts serving the engine's range. Fails when the address is taken or no
 * admin password is set (cr_portal_set_admin_password). */
int cr_portal_start(cr_portal **out, const cr_config *c, cr_engine *e, const cr_portal_opts *o);
void cr_portal_stop(cr_portal *p);
/* The port actually bound (useful with port 0). */
int cr_portal_port(const cr_portal *p);

/* A team's login token, derived from the range secret (so it exists from
 * `up` on and needs no table): out gets CR_TEAM_TOKEN_LEN + 1 bytes. */
void cr_portal_team_token(char *out, const unsigned char *secret, int team);

/* Stores the instructor password's argon2id hash in the state folder
 * (<state>/portal/admin.argon2id, 0600 in a 0700 folder). */
int cr_portal_set_admin_password(const cr_config *c, const char *password);

#endif
