/*
 * fuzz_scenario.c: libFuzzer target for the scenario loader (lua/scenario.h):
 * the input is a scenario.lua, loaded for two teams in the sandbox with
 * small limits (so that a loop costs milliseconds, not the default 50 M
 * instructions), as `crange validate` would load someone else's repository.
 */
#include "err.h"
#include "log.h"
#include "scenario.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[] = "/tmp/crange-fuzz-scenario.XXXXXX";
static char *file;

/* The scratch folder goes at exit (not after a crash: the input is kept). */
static void remove_dir(void)
{
    cr_rm_rf(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    cr_log_threshold = CR_LOG_ERROR; /* print() of scenarios */
    if (!mkdtemp(dir))
        abort();
    atexit(remove_dir);
    file = cr_path_join(dir, "scenario.lua");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(file, "wb");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    cr_load_opts o = {.teams = 2, .memory_limit = 8u << 20, .instruction_limit = 200000};
    cr_scenario *s = NULL;
    if (cr_scenario_load(&s, dir, &o) == 0)
        cr_scenario_free(s);
    cr_error_clear();
    return 0;
}
