/*
 * cli.h: what every command shares: its signature, option parsing, and the
 * one place where an error is printed (cr_cli_fail).
 *
 * Exit codes: 0 success, 1 failure, 2 bad usage. `crange exec` exits with the
 * guest command's code, or 124 when it timed out and 125 when crange itself
 * failed (as timeout(1) and docker exec do).
 */
#ifndef CRANGE_CLI_H
#define CRANGE_CLI_H

#include "config.h"

#include <jansson.h>
#include <stdbool.h>

#define CR_EXIT_OK 0
#define CR_EXIT_FAIL 1
#define CR_EXIT_USAGE 2

typedef int (*cr_cmd_fn)(cr_config *cfg, int argc, char **argv);

typedef struct cr_command {
    const char *name;        /* "up", "image build", ... */
    cr_cmd_fn fn;
    const char *synopsis;    /* "up PATH --name RANGE [--teams N]" */
    const char *summary;     /* one line */
    const char *help;        /* the options and details, may be NULL */
} cr_command;

extern const cr_command cr_commands[];

/* Option specs for cr_cli_parse: exactly one of value/flag/number is set. */
typedef struct cr_optspec {
    const char *name;        /* without dashes: "teams" */
    const char **value;      /* takes an argument */
    bool *flag;              /* a switch */
    int *number;             /* takes an integer argument */
} cr_optspec;

/* What cr_cli_args returns when the command should go on. */
#define CR_CLI_GO (-1)

/*
 * Parses argv[0..argc) against specs (terminated by a zero entry; NULL for
 * none). Options may come before or after positionals; "--" ends options,
 * and what follows is positional. Positionals are collected into pos (an
 * array of argc + 1 pointers the caller provides) and counted in *npos,
 * which must be from min to max (max -1: no limit); `expect` describes them
 * in the usage error ("expected one RANGE").
 * Returns CR_CLI_GO, or the exit code to return at once: CR_EXIT_OK after
 * printing --help/-h, CR_EXIT_USAGE after printing a usage error.
 */
int cr_cli_args(const cr_command *cmd, int argc, char **argv, const cr_optspec *specs, char **pos, int *npos,
                int min, int max, const char *expect);

/* Prints the command's help to stdout. */
void cr_cli_help(const cr_command *cmd);
const cr_command *cr_cli_find(const char *name);

/* Reports a usage problem ("crange up: ..."), returns CR_EXIT_USAGE. */
int cr_cli_usage(const cr_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports the pending error once (stderr, or a JSON object on stdout with
 * --json) and returns CR_EXIT_FAIL. */
int cr_cli_fail(const cr_config *cfg);

/* Prints JSON to stdout (indented), consumes the reference. */
void cr_cli_print_json(json_t *j);

/* Parses a team number (1..CR_MAX_TEAMS); prints usage on error. */
int cr_cli_team(const cr_command *cmd, const char *s, int *team);

#endif
