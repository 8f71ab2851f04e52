/*
 * http.c: request and response helpers over civetweb for the portal's
 * handlers: JSON in (with the size, type and syntax checks every hostile
 * request meets first) and JSON or bytes out, with security headers.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* script-src 'self': nothing typed by a trainee can run in a page, even if
 * an escaping bug let markup through. xterm.js sets element styles, and its
 * DOM renderer adds a <style> element, hence style-src 'unsafe-inline'. */
#define CSP "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " \
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

void cr_http_security_headers(struct mg_connection *conn)
{
    mg_response_header_add(conn, "Content-Security-Policy", CSP, -1);
    mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
    mg_response_header_add(conn, "X-Frame-Options", "DENY", -1);
    mg_response_header_add(conn, "Referrer-Policy", "no-referrer", -1);
}

/* extra: one more header ("Name", "value"), or NULL. */
static int send_bytes(struct mg_connection *conn, int status, const char *type, const void *data, size_t len,
                      const char *cache, const char *const *extra)
{
    char n[32];
    snprintf(n, sizeof n, "%zu", len);
    mg_response_header_start(conn, status);
    mg_response_header_add(conn, "Content-Type", type, -1);
    mg_response_header_add(conn, "Content-Length", n, -1);
    mg_response_header_add(conn, "Cache-Control", cache ? cache : "no-store", -1);
    if (extra)
        mg_response_header_add(conn, extra[0], extra[1], -1);
    cr_http_security_headers(conn);
    mg_response_header_send(conn);
    if (len && strcmp(mg_get_request_info(conn)->request_method, "HEAD"))
        mg_write(conn, data, len);
    return status;
}

int cr_http_send(struct mg_connection *conn, int status, const char *type, const void *data, size_t len,
                 const char *cache)
{
    return send_bytes(conn, status, type, data, len, cache, NULL);
}

int cr_http_json_with(struct mg_connection *conn, int status, json_t *body, const char *name, const char *value)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(body);
    if (!text)
        text = strdup("{}");
    const char *extra[2] = {name, value};
    send_bytes(conn, status, "application/json; charset=utf-8", text, strlen(text), NULL, name ? extra : NULL);
    free(text);
    return status;
}

int cr_http_json(struct mg_connection *conn, int status, json_t *body)
{
    return cr_http_json_with(conn, status, body, NULL, NULL);
}

int cr_http_error(struct mg_connection *conn, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cr_http_json(conn, status, json_pack("{s:s}", "error", msg));
}

int cr_http_read_json(struct mg_connection *conn, json_t **out)
{
    *out = NULL;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *type = mg_get_header(conn, "Content-Type");
    if (!type || strncasecmp(type, "application/json", 16) || (type[16] && type[16] != ';'))
        return cr_http_error(conn, 415, "the body must be application/json");
    if (ri->content_length > CR_PORTAL_MAX_BODY)
        return cr_http_error(conn, 413, "the body is over %d bytes", CR_PORTAL_MAX_BODY);
    /* content_length is -1 for a chunked body: read up to the cap plus one. */
    char *buf = malloc(CR_PORTAL_MAX_BODY + 1);
    if (!buf)
        return cr_http_error(conn, 503, "out of memory");
    size_t n = 0;
    for (;;) {
        int r = mg_read(conn, buf + n, CR_PORTAL_MAX_BODY + 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n > CR_PORTAL_MAX_BODY) {
            free(buf);
            return cr_http_error(conn, 413, "the body is over %d bytes", CR_PORTAL_MAX_BODY);
        }
    }
    json_error_t jerr;
    json_t *j = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    if (!j)
        return cr_http_error(conn, 400, "malformed JSON at character %d: %s", jerr.position, jerr.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return cr_http_error(conn, 400, "the body must be a JSON object");
    }
    *out = j;
    return 0;
}
