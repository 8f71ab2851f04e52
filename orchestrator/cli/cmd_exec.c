/*
 * cmd_exec.c: `crange exec RANGE TEAM VM -- CMD ARGS...` runs a command in a
 * guest through the QEMU guest agent, prints its output as it was, and exits
 * with its exit code.
 */
#include "agent.h"
#include "cli.h"
#include "commands.h"
#include "err.h"
#include "range.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define EXIT_TIMEOUT 124
#define EXIT_CRANGE 125

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

int cr_cmd_exec(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("exec");
    int timeout = 120;
    cr_optspec specs[] = {{"timeout", NULL, NULL, &timeout}, {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 4, -1, "expected RANGE TEAM VM -- CMD [ARGS...]");
    if (go != CR_CLI_GO)
        return go;
    int team;
    if (cr_cli_team(cmd, pos[1], &team))
        return CR_EXIT_USAGE;

    virDomainPtr dom = NULL;
    cr_virt *v = NULL;
    if (cr_range_domain(&dom, &v, cfg, pos[0], team, pos[2]) < 0) {
        cr_cli_fail(cfg);
        return EXIT_CRANGE;
    }
    cr_exec_result res;
    int rc = cr_agent_exec(&res, dom, (const char *const *)&pos[3], NULL, 0, timeout);
    virDomainFree(dom);
    cr_virt_close(v);
    if (rc < 0) {
        cr_cli_fail(cfg);
        return rc == CR_ETIMEOUT ? EXIT_TIMEOUT : EXIT_CRANGE;
    }
    int code = res.signal ? 128 + res.signal : res.exit_code;
    if (cfg->json) {
        cr_cli_print_json(json_pack("{s:i, s:i, s:s%, s:s%, s:b}", "exit_code", res.exit_code, "signal", res.signal,
                                    "stdout", res.out, res.out_len, "stderr", res.err, res.err_len, "truncated",
                                    res.truncated));
    } else {
        write_all(STDOUT_FILENO, res.out, res.out_len);
        write_all(STDERR_FILENO, res.err, res.err_len);
        if (res.truncated)
            fprintf(stderr, "crange: the guest agent truncated the output\n");
    }
    cr_exec_result_free(&res);
    return code;
}
