/*
 * main.c: crange's entry point. It takes the global options (anywhere before
 * "--"), resolves the configuration, finds the command (one or two words:
 * "up", "image build") and hands it the remaining arguments.
 */
#include "cli.h"
#include "config.h"
#include "err.h"
#include "log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "crange %s: an open cyber range orchestrator on libvirt/QEMU\n\n"
                 "usage: crange [GLOBAL OPTIONS] COMMAND [ARGS]\n\nCommands:\n", CRANGE_VERSION);
    for (const cr_command *c = cr_commands; c->name; c++)
        fprintf(out, "  %-64s\n      %s\n", c->synopsis, c->summary);
    fprintf(out, "\nGlobal options (each also an environment variable):\n"
                 "  --json             machine-readable output (CRANGE_JSON=1)\n"
                 "  --state DIR        state folder (CRANGE_STATE; default /var/lib/crange as root)\n"
                 "  --connect URI      libvirt URI (CRANGE_CONNECT; default qemu:///system)\n"
                 "  --accel MODE       auto, kvm or tcg (CRANGE_ACCEL; default auto: KVM only after a\n"
                 "                     probe boot proved it works)\n"
                 "  --jobs N           parallel libvirt operations (CRANGE_JOBS; default 8)\n"
                 "  -v, --verbose      debug logging;  -q, --quiet: errors only\n"
                 "  -h, --help         this help; `crange COMMAND --help` for a command\n"
                 "  --version          print the version\n");
}

/* Removes the global options from argv (before any "--"), filling cfg. */
static int take_globals(cr_config *cfg, int *argc, char **argv)
{
    int out = 1;
    bool done = false;
    for (int i = 1; i < *argc; i++) {
        char *a = argv[i];
        const char *val = NULL;
        char **slot = NULL;
        if (done || strncmp(a, "-", 1)) {
            argv[out++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            done = true;
            argv[out++] = a;
            continue;
        }
        if (!strcmp(a, "--json")) {
            cfg->json = true;
            continue;
        }
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            cr_log_threshold = CR_LOG_DEBUG;
            continue;
        }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            cr_log_threshold = CR_LOG_ERROR;
            continue;
        }
        const char *names[] = {"--state", "--connect", "--accel", "--jobs"};
        char **slots[] = {&cfg->state_dir, &cfg->connect, &cfg->accel, NULL};
        for (size_t k = 0; k < 4; k++) {
            size_t n = strlen(names[k]);
            if (!strncmp(a, names[k], n) && (a[n] == '\0' || a[n] == '=')) {
                val = a[n] == '=' ? a + n + 1 : (i + 1 < *argc ? argv[++i] : NULL);
                if (!val) {
                    fprintf(stderr, "crange: %s needs a value\n", names[k]);
                    return CR_EXIT_USAGE;
                }
                slot = slots[k];
                if (!slot)
                    cfg->jobs = atoi(val) > 0 ? atoi(val) : -1;
                break;
            }
        }
        if (slot) {
            free(*slot);
            *slot = strdup(val);
            continue;
        }
        if (val)
            continue;
        argv[out++] = a;
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

int main(int argc, char **argv)
{
    /* libvirt's client writes its socket with write(): a write after
     * libvirtd went away raises SIGPIPE, which killed `crange run` (status
     * 141) in CI when test_scoring restarted libvirtd. Ignored, it is an
     * EPIPE that libvirt reports as a lost connection, which the engine
     * survives. Children get the default back (proc.c). */
    signal(SIGPIPE, SIG_IGN);
    cr_config cfg;
    cr_config_defaults(&cfg);
    int rc = take_globals(&cfg, &argc, argv);
    if (rc) {
        cr_config_free(&cfg);
        return rc;
    }
    cr_log_set_json(cfg.json);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        const cr_command *c = argc >= 3 ? cr_cli_find(argv[2]) : NULL;
        if (c)
            cr_cli_help(c);
        else
            usage(argc < 2 ? stderr : stdout);
        cr_config_free(&cfg);
        return argc < 2 ? CR_EXIT_USAGE : CR_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("crange %s\n", CRANGE_VERSION);
        cr_config_free(&cfg);
        return CR_EXIT_OK;
    }

    /* Two-word commands first ("image build"), then one word. */
    const cr_command *cmd = NULL;
    int skip = 1;
    if (argc >= 3) {
        char two[64];
        snprintf(two, sizeof two, "%s %s", argv[1], argv[2]);
        cmd = cr_cli_find(two);
        skip = 2;
    }
    if (!cmd) {
        cmd = cr_cli_find(argv[1]);
        skip = 1;
    }
    if (!cmd) {
        bool group = false;
        for (const cr_command *c = cr_commands; c->name; c++)
            group = group || (!strncmp(c->name, argv[1], strlen(argv[1])) && c->name[strlen(argv[1])] == ' ');
        if (group)
            fprintf(stderr, "crange: '%s' needs a subcommand; see crange --help\n", argv[1]);
        else
            fprintf(stderr, "crange: unknown command '%s'; see crange --help\n", argv[1]);
        cr_config_free(&cfg);
        return CR_EXIT_USAGE;
    }
    if (cr_config_finish(&cfg) < 0) {
        rc = cr_cli_fail(&cfg);
        cr_config_free(&cfg);
        return rc;
    }
    rc = cmd->fn(&cfg, argc - 1 - skip, argv + 1 + skip);
    cr_config_free(&cfg);
    return rc;
}
