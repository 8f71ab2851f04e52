/*
 * fuzz_actionlog.c: libFuzzer target for the host's reading of a guest's
 * action channel (scoring/actionlog.h): any bytes, cut into two reads at a
 * point the input chooses, into a fresh log over a real range database.
 * The database is made anew every few thousand inputs so that its size, and
 * the cost of an input, stay bounded.
 */
#include "actionlog.h"
#include "err.h"
#include "log.h"
#include "state.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/crange-fuzz-actionlog.XXXXXX";
static char *path;
static cr_state *st;
static unsigned runs;

static void reopen(void)
{
    if (st)
        cr_state_close(st);
    st = NULL;
    unlink(path);
    char *wal = cr_xasprintf("%s-wal", path), *shm = cr_xasprintf("%s-shm", path);
    unlink(wal);
    unlink(shm);
    free(wal);
    free(shm);
    if (cr_state_open_file(&st, path, true) < 0) {
        fprintf(stderr, "fuzz_actionlog: %s\n", cr_error_message());
        abort();
    }
}

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
    cr_log_threshold = CR_LOG_ERROR; /* every stored line is an info line */
    if (!mkdtemp(dir))
        abort();
    atexit(remove_dir);
    path = cr_path_join(dir, "range.db");
    reopen();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (++runs % 4096 == 0)
        reopen();
    cr_actionlog_limits lim = CR_ACTIONLOG_DEFAULTS;
    lim.max_line = 1024; /* small, so that inputs reach the oversized path */
    lim.burst = 20;
    lim.budget = 256 << 10;
    cr_actionlog *l = cr_actionlog_new(st, 1, "ws", &lim);
    size_t cut = size ? data[0] % (size + 1) : 0;
    cr_actionlog_feed(l, (const char *)data, cut, 1000);
    cr_actionlog_reopened(l);
    cr_actionlog_feed(l, (const char *)data + cut, size - cut, 2000);
    (void)cr_actionlog_ack(l);
    cr_actionlog_flush(l, 3000, true);
    cr_actionlog_free(l);
    cr_error_clear();
    return 0;
}
