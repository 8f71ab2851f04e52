/*
 * auth.c: who is asking. Teams log in with a token derived from the range
 * secret (cr_portal_team_token), the instructor with a password whose
 * argon2id hash lives in the state folder. A login creates a session: a
 * random id in an HttpOnly, SameSite=Strict cookie, and a CSRF token that
 * every state-changing request must echo in X-CSRF-Token. Sessions live in
 * memory: restarting `crange serve` logs everyone out, which is the right
 * default for a class.
 *
 * Flag answers are rate-limited per team with a token bucket, so a team
 * cannot brute-force a pattern flag without attempt limit.
 */
#include "internal.h"

#include "err.h"
#include "paths.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define COOKIE "crange_session"
#define SESSION_TTL_MS (12LL * 3600 * 1000)
#define MAX_SESSIONS 4096
#define FLAG_BURST 10.0          /* answers a team may send at once */
#define FLAG_PER_MINUTE 10.0     /* and then per minute */

void cr_portal_team_token(char *out, const unsigned char *secret, int team)
{
    char msg[64];
    int n = snprintf(msg, sizeof msg, "crange.portal.team-login.%d", team);
    unsigned char h[10];
    crypto_generichash(h, sizeof h, (const unsigned char *)msg, (size_t)n, secret, 32);
    char hex[21];
    cr_hex(hex, h, sizeof h);
    size_t o = 0;
    for (size_t i = 0; i < 20; i++) {
        if (i && i % 4 == 0)
            out[o++] = '-';
        out[o++] = hex[i];
    }
    out[o] = '\0';
}

bool cr_auth_team_token_ok(const cr_portal *p, int team, const char *token)
{
    if (team < 1 || team > cr_engine_teams(p->engine) || !token || strlen(token) != CR_TEAM_TOKEN_LEN)
        return false;
    char want[CR_TEAM_TOKEN_LEN + 1];
    cr_portal_team_token(want, p->secret, team);
    return sodium_memcmp(want, token, CR_TEAM_TOKEN_LEN) == 0;
}

char *cr_auth_admin_hash_path(const cr_config *c)
{
    return cr_xasprintf("%s/portal/admin.argon2id", c->state_dir);
}

int cr_portal_set_admin_password(const cr_config *c, const char *password)
{
    if (sodium_init() < 0)
        return cr_error_set(CR_ERROR, "libsodium did not initialise");
    size_t len = strlen(password);
    if (len < 8)
        return cr_error_set(CR_EINVAL, "the admin password needs at least 8 characters");
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(hash, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return cr_error_set(CR_ERROR, "argon2id ran out of memory");
    char *dir = cr_xasprintf("%s/portal", c->state_dir);
    char *path = cr_auth_admin_hash_path(c);
    /* Not cr_mkdir_p(dir, 0700): it would make a missing state folder 0700
     * too, and QEMU could no longer pass through it to the images. */
    int rc = cr_dir_make(c->state_dir, CR_STATE_DIR_MODE);
    if (rc == 0)
        rc = cr_dir_make(dir, CR_PRIVATE_DIR_MODE);
    if (rc == 0 && chmod(dir, CR_PRIVATE_DIR_MODE) < 0)
        rc = cr_error_set(CR_ERROR, "%s: cannot make it private", dir);
    if (rc == 0)
        rc = cr_write_file_atomic(path, hash, strlen(hash), CR_SECRET_FILE_MODE);
    free(dir);
    free(path);
    return rc;
}

bool cr_auth_admin_ok(cr_portal *p, const char *password)
{
    if (!p->admin_hash || !password)
        return false;
    /* Each verification takes 64 MiB: one at a time bounds the memory a
     * flood of logins can take. */
    pthread_mutex_lock(&p->admin_lock);
    bool ok = crypto_pwhash_str_verify(p->admin_hash, password, strlen(password)) == 0;
    pthread_mutex_unlock(&p->admin_lock);
    return ok;
}

static void random_hex(char *out, size_t bytes)
{
    unsigned char b[32];
    randombytes_buf(b, bytes);
    cr_hex(out, b, bytes);
}

/* Under p->lock: drops expired sessions, then the oldest over the cap. */
static void prune(cr_portal *p, int64_t now)
{
    size_t o = 0;
    for (size_t i = 0; i < p->n_sessions; i++)
        if (p->sessions[i].expires_ms > now)
            p->sessions[o++] = p->sessions[i];
    p->n_sessions = o;
    if (p->n_sessions >= MAX_SESSIONS) {
        size_t drop = p->n_sessions - MAX_SESSIONS + 1;
        memmove(p->sessions, p->sessions + drop, (p->n_sessions - drop) * sizeof *p->sessions);
        p->n_sessions -= drop;
    }
}

int cr_auth_login_reply(cr_portal *p, struct mg_connection *conn, cr_portal_role role, int team, json_t *body)
{
    cr_session s = {.role = role, .team = team, .expires_ms = cr_now_ms() + SESSION_TTL_MS};
    random_hex(s.id, CR_SESSION_ID_LEN / 2);
    random_hex(s.csrf, CR_CSRF_LEN / 2);
    pthread_mutex_lock(&p->lock);
    prune(p, cr_now_ms());
    cr_grow(&p->sessions, &p->cap_sessions, p->n_sessions + 1, sizeof *p->sessions);
    p->sessions[p->n_sessions++] = s;
    pthread_mutex_unlock(&p->lock);

    json_object_set_new(body, "csrf", json_string(s.csrf));
    const char *proto = mg_get_header(conn, "X-Forwarded-Proto");
    bool tls = mg_get_request_info(conn)->is_ssl || (proto && !strcmp(proto, "https"));
    char cookie[256];
    snprintf(cookie, sizeof cookie, COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", s.id,
             SESSION_TTL_MS / 1000, tls ? "; Secure" : "");
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(body);
    char n[32];
    snprintf(n, sizeof n, "%zu", strlen(text));
    mg_response_header_start(conn, 200);
    mg_response_header_add(conn, "Content-Type", "application/json; charset=utf-8", -1);
    mg_response_header_add(conn, "Content-Length", n, -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    mg_response_header_add(conn, "Set-Cookie", cookie, -1);
    cr_http_security_headers(conn);
    mg_response_header_send(conn);
    mg_write(conn, text, strlen(text));
    free(text);
    return 200;
}

bool cr_auth_session(cr_portal *p, const struct mg_connection *conn, cr_session *out)
{
    const char *cookies = mg_get_header(conn, "Cookie");
    char id[CR_SESSION_ID_LEN + 2];
    if (!cookies || mg_get_cookie(cookies, COOKIE, id, sizeof id) != CR_SESSION_ID_LEN)
        return false;
    bool found = false;
    int64_t now = cr_now_ms();
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n_sessions && !found; i++)
        if (p->sessions[i].expires_ms > now && sodium_memcmp(p->sessions[i].id, id, CR_SESSION_ID_LEN) == 0) {
            *out = p->sessions[i];
            found = true;
        }
    pthread_mutex_unlock(&p->lock);
    return found;
}

bool cr_auth_csrf_ok(const cr_session *s, const struct mg_connection *conn)
{
    const char *t = mg_get_header(conn, "X-CSRF-Token");
    return t && strlen(t) == CR_CSRF_LEN && sodium_memcmp(t, s->csrf, CR_CSRF_LEN) == 0;
}

void cr_auth_logout(cr_portal *p, const cr_session *s)
{
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n_sessions; i++)
        if (!strcmp(p->sessions[i].id, s->id)) {
            p->sessions[i] = p->sessions[--p->n_sessions];
            break;
        }
    pthread_mutex_unlock(&p->lock);
}

bool cr_auth_flag_rate(cr_portal *p, int team, int *retry_s)
{
    int64_t now = cr_now_ms();
    pthread_mutex_lock(&p->lock);
    double *tok = &p->flag_tokens[team - 1];
    int64_t *last = &p->flag_refill_ms[team - 1];
    if (*last == 0) {
        *tok = FLAG_BURST;
    } else {
        *tok += (double)(now - *last) * FLAG_PER_MINUTE / 60000.0;
        if (*tok > FLAG_BURST)
            *tok = FLAG_BURST;
    }
    *last = now;
    bool ok = *tok >= 1.0;
    if (ok)
        *tok -= 1.0;
    else
        *retry_s = (int)((1.0 - *tok) * 60.0 / FLAG_PER_MINUTE) + 1;
    pthread_mutex_unlock(&p->lock);
    return ok;
}
