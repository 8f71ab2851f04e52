/*
 * cli.c: option parsing, help and error reporting shared by the commands.
 */
#include "cli.h"

#include "err.h"
#include "log.h"
#include "model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const cr_command *cr_cli_find(const char *name)
{
    for (const cr_command *c = cr_commands; c->name; c++)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

void cr_cli_help(const cr_command *cmd)
{
    printf("usage: crange %s\n\n%s\n", cmd->synopsis, cmd->summary);
    if (cmd->help)
        printf("\n%s", cmd->help);
    printf("\nGlobal options: --json --state DIR --connect URI --accel auto|kvm|tcg --jobs N -v|--verbose -q|--quiet\n"
           "(see crange --help)\n");
}

int cr_cli_usage(const cr_command *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "crange %s: %s\nusage: crange %s\n", cmd->name, msg, cmd->synopsis);
    return CR_EXIT_USAGE;
}

static const cr_optspec *find_spec(const cr_optspec *specs, const char *name, size_t len)
{
    for (const cr_optspec *s = specs; s && s->name; s++)
        if (strlen(s->name) == len && !strncmp(s->name, name, len))
            return s;
    return NULL;
}

/* Parses options and positionals; 0, CR_EXIT_USAGE (printed), or 1 after --help. */
static int parse(const cr_command *cmd, int argc, char **argv, const cr_optspec *specs, char **pos, int *npos)
{
    *npos = 0;
    bool options = true;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (options && !strcmp(a, "--")) {
            options = false;
            continue;
        }
        if (options && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
            cr_cli_help(cmd);
            return 1;
        }
        if (!options || strncmp(a, "--", 2) || a[2] == '\0') {
            pos[(*npos)++] = a;
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const cr_optspec *s = find_spec(specs, name, len);
        if (!s)
            return cr_cli_usage(cmd, "unknown option --%.*s", (int)len, name);
        if (s->flag) {
            if (eq)
                return cr_cli_usage(cmd, "--%s takes no value", s->name);
            *s->flag = true;
            continue;
        }
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!val)
            return cr_cli_usage(cmd, "--%s needs a value", s->name);
        if (s->value) {
            *s->value = val;
        } else {
            char *end;
            long n = strtol(val, &end, 10);
            if (*val == '\0' || *end || n < 0 || n > 1000000)
                return cr_cli_usage(cmd, "--%s needs a number, not '%s'", s->name, val);
            *s->number = (int)n;
        }
    }
    return 0;
}

int cr_cli_args(const cr_command *cmd, int argc, char **argv, const cr_optspec *specs, char **pos, int *npos,
                int min, int max, const char *expect)
{
    int rc = parse(cmd, argc, argv, specs, pos, npos);
    if (rc)
        return rc == 1 ? CR_EXIT_OK : rc;
    pos[*npos] = NULL;
    if (*npos < min || (max >= 0 && *npos > max))
        return cr_cli_usage(cmd, "%s", expect);
    return CR_CLI_GO;
}

int cr_cli_fail(const cr_config *cfg)
{
    /* The message may quote a scenario or a guest: shown safely, and as
     * valid UTF-8 so that the JSON error is never lost. */
    char msg[4096];
    cr_log_visible(msg, sizeof msg, cr_error_message(), cfg && cfg->json);
    if (cfg && cfg->json) {
        json_t *j = json_pack("{s:s}", "error", msg);
        cr_cli_print_json(j);
    } else {
        fprintf(stderr, "crange: %s\n", msg);
    }
    return CR_EXIT_FAIL;
}

void cr_cli_print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(j);
}

int cr_cli_team(const cr_command *cmd, const char *s, int *team)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (*s == '\0' || *end || n < 1 || n > CR_MAX_TEAMS)
        return cr_cli_usage(cmd, "team must be a number from 1 to %d, not '%s'", CR_MAX_TEAMS, s);
    *team = (int)n;
    return 0;
}
