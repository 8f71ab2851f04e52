/*
 * cmd_serve.c: `crange serve` (the exercise engine and the portal in one
 * process, portal/portal.h), `crange serve --set-admin-password`, and
 * `crange teams` (the teams' portal logins, for the instructor to hand out).
 */
#include "cli.h"
#include "commands.h"
#include "engine.h"
#include "err.h"
#include "log.h"
#include "plan.h"
#include "portal.h"
#include "state.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* One line from stdin; without echo when it is a terminal. New string. */
static char *read_password(const char *prompt)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios saved, quiet;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        tcgetattr(STDIN_FILENO, &saved);
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char buf[1024];
    char *line = fgets(buf, sizeof buf, stdin) ? cr_xstrdup(buf) : NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fprintf(stderr, "\n");
    }
    if (line)
        line[strcspn(line, "\r\n")] = '\0';
    return line;
}

static int set_admin_password(cr_config *cfg)
{
    char *pw = read_password("instructor password: ");
    if (!pw) {
        cr_error_set(CR_EINVAL, "no password on standard input");
        return cr_cli_fail(cfg);
    }
    if (isatty(STDIN_FILENO)) {
        char *again = read_password("again: ");
        bool same = again && !strcmp(pw, again);
        free(again);
        if (!same) {
            free(pw);
            cr_error_set(CR_EINVAL, "the two passwords differ");
            return cr_cli_fail(cfg);
        }
    }
    int rc = cr_portal_set_admin_password(cfg, pw);
    free(pw);
    if (rc < 0)
        return cr_cli_fail(cfg);
    if (cfg->json)
        cr_cli_print_json(json_pack("{s:b}", "admin_password_set", 1));
    else
        printf("instructor password set\n");
    return CR_EXIT_OK;
}

int cr_cmd_serve(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("serve");
    const char *listen = NULL;
    int interval = 15, timeout = 0, budget = 0, rate = 0;
    bool set_pw = false, no_actions = false;
    cr_optspec specs[] = {{"listen", &listen, NULL, NULL},
                          {"interval", NULL, NULL, &interval},
                          {"check-timeout", NULL, NULL, &timeout},
                          {"no-actions", NULL, &no_actions, NULL},
                          {"action-budget", NULL, NULL, &budget},
                          {"action-rate", NULL, NULL, &rate},
                          {"set-admin-password", NULL, &set_pw, NULL},
                          {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 0, 1, "expected one RANGE");
    if (go != CR_CLI_GO)
        return go;
    if (set_pw)
        return npos ? cr_cli_usage(cmd, "--set-admin-password takes no RANGE") : set_admin_password(cfg);
    if (npos != 1)
        return cr_cli_usage(cmd, "expected one RANGE");
    if (interval < 1)
        return cr_cli_usage(cmd, "--interval must be at least 1 second");
    if (budget < 0 || rate < 0)
        return cr_cli_usage(cmd, "--action-budget and --action-rate must be positive");

    cr_engine_opts o = {.range = pos[0],
                        .actions = !no_actions,
                        .check_timeout_s = timeout,
                        .action_budget_kib = budget,
                        .action_rate = rate};
    cr_engine *e = NULL;
    cr_portal *p = NULL;
    cr_portal_opts po = {.listen = listen};
    if (cr_engine_open(&e, cfg, &o) < 0 || cr_portal_start(&p, cfg, e, &po) < 0) {
        cr_engine_close(e);
        return cr_cli_fail(cfg);
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    const char *addr = listen ? listen : CR_PORTAL_LISTEN;
    if (cfg->json)
        cr_cli_print_json(json_pack("{s:s, s:i, s:i}", "range", pos[0], "port", cr_portal_port(p), "teams",
                                    cr_engine_teams(e)));
    else
        printf("portal of range %s on %s (port %d): trainees log in with `crange teams %s`; Ctrl-C stops\n", pos[0],
               addr, cr_portal_port(p), pos[0]);
    fflush(stdout);
    cr_log_info("scoring range %s every %d s", pos[0], interval);
    cr_engine_run(e, interval, &stop_requested);
    cr_log_info("stopping");
    cr_portal_stop(p);
    cr_engine_close(e);
    return CR_EXIT_OK;
}

int cr_cmd_teams(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("teams");
    bool csv = false;
    cr_optspec specs[] = {{"csv", NULL, &csv, NULL}, {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 1, 1, "expected one RANGE");
    if (go != CR_CLI_GO)
        return go;
    cr_state *st = NULL;
    cr_range_row row;
    int rc = cr_range_name_valid(pos[0]) ? cr_state_open(&st, cfg->state_dir, pos[0], false)
                                         : cr_error_set(CR_EINVAL, "bad range name '%s'", pos[0]);
    if (rc == 0)
        rc = cr_state_get_range(st, &row);
    cr_state_close(st);
    if (rc < 0)
        return cr_cli_fail(cfg);
    json_t *arr = json_array();
    if (csv)
        printf("range,team,token\r\n");
    else if (!cfg->json)
        printf("%-5s %s\n", "TEAM", "TOKEN (portal login)");
    for (int t = 1; t <= row.teams; t++) {
        char tok[CR_TEAM_TOKEN_LEN + 1];
        cr_portal_team_token(tok, row.secret, t);
        if (cfg->json)
            json_array_append_new(arr, json_pack("{s:i, s:s}", "team", t, "token", tok));
        else if (csv)
            printf("\"%s\",%d,\"%s\"\r\n", pos[0], t, tok);
        else
            printf("%-5d %s\n", t, tok);
    }
    cr_range_row_free(&row);
    if (cfg->json)
        cr_cli_print_json(json_pack("{s:s, s:o}", "range", pos[0], "teams", arr));
    else
        json_decref(arr);
    return CR_EXIT_OK;
}
