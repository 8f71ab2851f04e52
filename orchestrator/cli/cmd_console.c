/*
 * console.c: `crange console RANGE TEAM VM` attaches the terminal to the
 * VM's serial console through a libvirt stream (so it works on remote hosts
 * too). Ctrl-] detaches. When stdin is not a terminal, its bytes are sent as
 * typed and the console is left --linger seconds after stdin ends, which
 * lets scripts and tests drive a console.
 */
#include "cli.h"
#include "commands.h"
#include "err.h"
#include "log.h"
#include "events.h"
#include "state.h"
#include "range.h"
#include "util.h"

#include <errno.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define ESCAPE_CHAR 0x1d /* Ctrl-] */

typedef struct console {
    virStreamPtr stream;
    bool quit;
    bool stdin_done;
    bool tty;
    int64_t linger_until; /* ms; 0: not lingering yet */
    int linger_ms;
    int stdin_watch;
    int failed;
} console;

static void on_stream(virStreamPtr st, int events, void *opaque)
{
    console *c = opaque;
    if (events & VIR_STREAM_EVENT_READABLE) {
        char buf[4096];
        for (;;) {
            int n = virStreamRecv(st, buf, sizeof buf);
            if (n == -2)
                break;
            if (n <= 0) {
                c->quit = true;
                if (n < 0)
                    c->failed = 1;
                break;
            }
            ssize_t off = 0;
            while (off < n) {
                ssize_t w = write(STDOUT_FILENO, buf + off, (size_t)(n - off));
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0) {
                    c->quit = true; /* whoever read our output is gone */
                    return;
                }
                off += w;
            }
        }
    }
    if (events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP))
        c->quit = true;
}

static int send_all(console *c, const char *p, size_t n)
{
    while (n > 0) {
        int w = virStreamSend(c->stream, p, n);
        if (w == -2) {
            cr_sleep_ms(5);
            continue;
        }
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void on_stdin(int watch, int fd, int events, void *opaque)
{
    (void)watch;
    (void)events;
    console *c = opaque;
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) {
        if (n < 0 && errno == EINTR)
            return;
        virEventRemoveHandle(c->stdin_watch);
        c->stdin_watch = -1;
        c->stdin_done = true;
        c->linger_until = cr_now_ms() + c->linger_ms;
        return;
    }
    if (c->tty) {
        char *esc = memchr(buf, ESCAPE_CHAR, (size_t)n);
        if (esc) {
            n = esc - buf;
            c->quit = true;
        }
    }
    if (n > 0 && send_all(c, buf, (size_t)n) < 0)
        c->quit = true;
}

static void on_timer(int timer, void *opaque)
{
    (void)timer;
    console *c = opaque;
    if (c->linger_until && cr_now_ms() >= c->linger_until)
        c->quit = true;
}

/* Records a console session in the range's event log, when it has one. */
static void console_event(const cr_config *cfg, const char *range, int team, const char *vm, const char *kind)
{
    cr_state *st = NULL;
    if (cr_state_open(&st, cfg->state_dir, range, false) == 0 &&
        cr_event_add(st, 0, team, vm, kind, NULL, NULL, NULL) < 0)
        cr_log_warn("cannot record %s: %s", kind, cr_error_message());
    cr_state_close(st);
    cr_error_clear();
}

int cr_cmd_console(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("console");
    bool force = false;
    int linger = 3;
    cr_optspec specs[] = {{"force", NULL, &force, NULL}, {"linger", NULL, NULL, &linger}, {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 3, 3, "expected RANGE TEAM VM");
    if (go != CR_CLI_GO)
        return go;
    int team;
    if (cr_cli_team(cmd, pos[1], &team))
        return CR_EXIT_USAGE;

    /* Streams need an event loop, registered before connecting. */
    virEventRegisterDefaultImpl();
    virDomainPtr dom = NULL;
    cr_virt *v = NULL;
    if (cr_range_domain(&dom, &v, cfg, pos[0], team, pos[2]) < 0)
        return cr_cli_fail(cfg);

    console c = {.tty = isatty(STDIN_FILENO), .linger_ms = linger * 1000, .stdin_watch = -1};
    struct termios saved;
    int rc = CR_EXIT_OK;
    c.stream = virStreamNew(virDomainGetConnect(dom), VIR_STREAM_NONBLOCK);
    if (!c.stream || virDomainOpenConsole(dom, NULL, c.stream, force ? VIR_DOMAIN_CONSOLE_FORCE : 0) < 0) {
        char *lverr = cr_xstrdup(virGetLastErrorMessage());
        cr_error_set(CR_ERROR, "console of %s: %s%s", virDomainGetName(dom), lverr,
                     force ? "" : " (use --force to take it over)");
        free(lverr);
        rc = cr_cli_fail(cfg);
        goto cleanup;
    }
    if (virStreamEventAddCallback(c.stream, VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR |
                                                VIR_STREAM_EVENT_HANGUP,
                                  on_stream, &c, NULL) < 0) {
        cr_error_set(CR_ERROR, "console stream: %s", virGetLastErrorMessage());
        rc = cr_cli_fail(cfg);
        goto cleanup;
    }
    c.stdin_watch = virEventAddHandle(STDIN_FILENO, VIR_EVENT_HANDLE_READABLE, on_stdin, &c, NULL);
    int timer = virEventAddTimeout(200, on_timer, &c, NULL);
    console_event(cfg, pos[0], team, pos[2], "console.attach");
    if (c.tty) {
        fprintf(stderr, "Connected to %s (escape character is ^])\r\n", virDomainGetName(dom));
        tcgetattr(STDIN_FILENO, &saved);
        struct termios raw = saved;
        cfmakeraw(&raw);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
    }
    while (!c.quit)
        if (virEventRunDefaultImpl() < 0)
            break;
    if (c.tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fprintf(stderr, "\nDetached from %s\n", virDomainGetName(dom));
    }
    if (timer >= 0)
        virEventRemoveTimeout(timer);
    if (c.stdin_watch >= 0)
        virEventRemoveHandle(c.stdin_watch);
    virStreamEventRemoveCallback(c.stream);
    virStreamFinish(c.stream);
    console_event(cfg, pos[0], team, pos[2], "console.detach");
    if (c.failed) {
        cr_error_set(CR_ERROR, "console of %s closed with an error", virDomainGetName(dom));
        rc = cr_cli_fail(cfg);
    }
cleanup:
    if (c.stream)
        virStreamFree(c.stream);
    virDomainFree(dom);
    cr_virt_close(v);
    return rc;
}
