/*
 * testutil.c: the helpers of testutil.h. They abort the test on failure,
 * since a test that cannot set itself up proves nothing.
 */
#include "testutil.h"

#include "engine.h"
#include "err.h"
#include "scenario.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = cr_xasprintf("%s/crange-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        abort();
    }
    return tmpl;
}

void tu_rmtree(const char *path)
{
    if (path)
        cr_rm_rf(path);
}

void tu_write(const char *dir, const char *relpath, const char *text)
{
    char *full = cr_path_join(dir, relpath);
    char *slash = strrchr(full, '/');
    *slash = '\0';
    if (cr_mkdir_p(full, 0755) < 0)
        abort();
    *slash = '/';
    FILE *f = fopen(full, "w");
    if (!f) {
        perror(full);
        abort();
    }
    fputs(text, f);
    fclose(f);
    free(full);
}

static char *from_env(const char *var, const char *relpath)
{
    const char *base = getenv(var);
    if (!base) {
        fprintf(stderr, "%s is not set (run the tests through ctest)\n", var);
        abort();
    }
    return cr_path_join(base, relpath);
}

char *tu_fixture(const char *relpath)
{
    return from_env("CRANGE_FIXTURES", relpath);
}

char *tu_source(const char *relpath)
{
    return from_env("CRANGE_SOURCE", relpath);
}

pid_t tu_hold_engine_lock(const char *state_dir, const char *range)
{
    int p[2];
    if (pipe(p) < 0) {
        perror("pipe");
        abort();
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        abort();
    }
    if (pid == 0) {
        /* Never outlive the test, even one that fails half-way. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        alarm(120);
        close(p[0]);
        int fd = -1;
        char ok = cr_engine_lock(&fd, state_dir, range) == 0 ? '1' : '0';
        if (write(p[1], &ok, 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(p[1]);
    char ok = 0;
    if (read(p[0], &ok, 1) != 1 || ok != '1') {
        fprintf(stderr, "tu_hold_engine_lock: the child could not take the lock of %s\n", range);
        abort();
    }
    close(p[0]);
    return pid;
}

struct cr_scenario *tu_scenario_from_text(char **dir, const char *text)
{
    *dir = tu_tmpdir();
    tu_write(*dir, "scenario.lua", text);
    cr_load_opts o = {0};
    cr_scenario *s = NULL;
    cr_error_clear();
    if (cr_scenario_load(&s, *dir, &o) < 0) {
        fprintf(stderr, "loading the scenario in %s: %s\n", *dir, cr_error_message());
        abort();
    }
    return s;
}
