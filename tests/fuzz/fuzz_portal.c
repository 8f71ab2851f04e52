/*
 * fuzz_portal.c: libFuzzer target for the exercise portal's request
 * handling: civetweb's parsing and crange's handlers (portal/), over a real
 * HTTP connection to a portal serving a range made with libvirt's test
 * driver (2 teams of the demo, nothing booted).
 *
 * The first byte chooses who asks: nobody (the raw input is the whole
 * request, as a browser or an attacker sends it), or a logged-in team 1 or
 * instructor, in which case the input is "METHOD PATH\nBODY" and the
 * session cookie, CSRF token and Content-Length are added (not
 * "Connection: close": the harness ends its side after the request, and the
 * server closes after its answer; with that header each connection took
 * about 330 ms to close in this instrumented build, 16 inputs a second in
 * all; without it, and with 32 workers (below), about 10,000; `crange
 * serve` itself closes such a connection in 0.1 ms). A crash or
 * sanitizer report anywhere in the server is a finding; so is a 5xx answer
 * (but 505, HTTP's answer to a version it does not speak), since every bad
 * request must get a 4xx.
 *
 * Left out: /api/logout (it would end the sessions), /api/stream and
 * /ws/ (they stay open by design) and /api/admin/revert (it starts a
 * reconcile of the whole range on the test driver, not a request).
 */
#include "engine.h"
#include "err.h"
#include "log.h"
#include "portal.h"
#include "range.h"
#include "state.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* LeakSanitizer: libgit2 1.5.1's git_remote_lookup (called by `up` for the
 * scenario's provenance) leaks pcre2 match data when the scenario folder is
 * in a git clone with an origin, as in CI's clean clone; valgrind showed the
 * whole stack (tests/e2e/valgrind.supp). ASan's unwinder stops in pcre2, so
 * the library is named here. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libpcre2-8.so\n";
}

static char dir[] = "/tmp/crange-fuzz-portal.XXXXXX";
static cr_config cfg;
static cr_engine *engine;
static cr_portal *portal;
static int port;
static char cookie[2][256];
static char csrf[2][128];

static void die(const char *what)
{
    fprintf(stderr, "fuzz_portal: %s: %s\n", what, cr_error_message());
    abort();
}

/* Sends req (len bytes) and reads the answer into buf (at most n - 1 bytes,
 * NUL-terminated); waits at most 2 s for it. Returns the bytes read. */
static size_t roundtrip(const char *req, size_t len, char *buf, size_t n)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* libFuzzer's -timeout is a SIGALRM every few seconds: a system call it
     * interrupts (EINTR) is tried again, a connect on a new socket. */
    int s = -1;
    for (int tries = 0; s < 0 && tries < 10; tries++) {
        s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
            int e = errno;
            close(s);
            s = -1;
            if (e != EINTR)
                break;
        }
    }
    if (s < 0) {
        perror("fuzz_portal: connect");
        abort(); /* the server is gone */
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(s, req + off, len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* the server may close on a bad request before reading it all */
        off += (size_t)w;
    }
    shutdown(s, SHUT_WR);
    size_t got = 0;
    struct pollfd p = {.fd = s, .events = POLLIN};
    while (got < n - 1) {
        int ready = poll(&p, 1, 2000);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            break;
        ssize_t r = recv(s, buf + got, n - 1 - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    close(s);
    return got;
}

/* Logs in with body, keeps the cookie and CSRF token in slot i. */
static void login(int i, const char *body)
{
    char req[1024], buf[8192];
    int n = snprintf(req, sizeof req,
                     "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     strlen(body), body);
    roundtrip(req, (size_t)n, buf, sizeof buf);
    const char *c = strstr(buf, "crange_session=");
    const char *t = strstr(buf, "\"csrf\":");
    if (!c || !t) {
        fprintf(stderr, "fuzz_portal: login failed:\n%s\n", buf);
        abort();
    }
    snprintf(cookie[i], sizeof cookie[i], "%.*s", (int)strcspn(c, ";\r\n"), c);
    t += strlen("\"csrf\":");
    t += strspn(t, " \"");
    snprintf(csrf[i], sizeof csrf[i], "%.*s", (int)strcspn(t, "\""), t);
}

/* At exit: the server first, then its state folder. */
static void finish(void)
{
    cr_portal_stop(portal);
    cr_engine_close(engine);
    cr_rm_rf(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    cr_log_threshold = CR_LOG_ERROR;
    if (!mkdtemp(dir))
        abort();
    atexit(finish);
    cfg = (cr_config){.state_dir = dir, .connect = "test:///default", .accel = "tcg", .jobs = 1};
    cr_up_opts u = {.path = CRANGE_SOURCE_DIR "/scenarios/demo", .range = "fz", .teams = 2, .no_provision = true};
    cr_up_report rep;
    if (cr_range_up(&cfg, &u, &rep) < 0)
        die("up");
    if (cr_portal_set_admin_password(&cfg, "fuzz-admin-password") < 0)
        die("admin password");
    cr_engine_opts o = {.range = "fz"};
    if (cr_engine_open(&engine, &cfg, &o) < 0)
        die("engine");
    /* 32 workers, not 1024: each keeps AddressSanitizer's per-thread
     * allocator cache once it has served a request, and with 1024 the
     * process grew by about 0.9 MB per thousand inputs (1.5 GB after
     * 535,000, its live heap 45 MB). The harness asks one request at a time. */
    cr_portal_opts po = {.listen = "127.0.0.1:0", .threads = 32};
    if (cr_portal_start(&portal, &cfg, engine, &po) < 0)
        die("portal");
    port = cr_portal_port(portal);

    cr_state *st = NULL;
    cr_range_row row;
    if (cr_state_open(&st, dir, "fz", false) < 0 || cr_state_get_range(st, &row) < 0)
        die("range row");
    char token[CR_TEAM_TOKEN_LEN + 1], body[128];
    cr_portal_team_token(token, row.secret, 1);
    cr_range_row_free(&row);
    cr_state_close(st);
    snprintf(body, sizeof body, "{\"team\":1,\"token\":\"%s\"}", token);
    login(0, body);
    login(1, "{\"password\":\"fuzz-admin-password\"}");
    return 0;
}

static bool left_out(const char *line, size_t n)
{
    static const char *const paths[] = {"logout", "/api/stream", "/ws/", "revert"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (memmem(line, n, paths[i], strlen(paths[i])))
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return -1;
    int who = data[0] % 3; /* 0: raw, 1: team 1, 2: instructor */
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    const char *nl = memchr(in, '\n', n);
    size_t line = nl ? (size_t)(nl - in) : n;
    if (left_out(in, who == 0 ? n : line))
        return -1;
    char *req;
    size_t len;
    if (who == 0) {
        req = cr_xmalloc(n ? n : 1);
        memcpy(req, in, n);
        len = n;
    } else {
        const char *body = nl ? nl + 1 : "";
        size_t blen = nl ? n - line - 1 : 0;
        char head[1024];
        int h = snprintf(head, sizeof head,
                         " HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\nX-CSRF-Token: %s\r\n"
                         "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                         cookie[who - 1], csrf[who - 1], blen);
        len = line + (size_t)h + blen;
        req = cr_xmalloc(len);
        memcpy(req, in, line);
        memcpy(req + line, head, (size_t)h);
        memcpy(req + line + (size_t)h, body, blen);
    }
    char buf[4096];
    roundtrip(req, len, buf, sizeof buf);
    free(req);
    /* "HTTP/1.1 5xx": a bad request must never be the server's error. 505
     * is the one 5xx HTTP defines for a bad request (an HTTP version the
     * server does not speak, "HTTP/1.2"), and civetweb answers it so. */
    if (!strncmp(buf, "HTTP/1.", 7) && buf[8] == ' ' && buf[9] == '5' && strncmp(buf + 9, "505 ", 4) != 0) {
        fprintf(stderr, "fuzz_portal: a 5xx answer:\n%.600s\n", buf);
        abort();
    }
    return 0;
}
