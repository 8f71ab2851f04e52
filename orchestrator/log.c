/*
 * log.c: writes log lines to stderr, whole lines at a time so that lines from
 * worker threads never interleave mid-line.
 */
#include "log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

cr_log_level cr_log_threshold = CR_LOG_INFO;
static int log_json;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void cr_log_set_json(int on)
{
    log_json = on;
}

void cr_log_write(cr_log_level level, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    if (log_json) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        json_t *obj = json_pack("{s:s, s:f, s:s}", "level", level_names[level], "time",
                                (double)ts.tv_sec + ts.tv_nsec / 1e9, "message", msg);
        char *line = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
        if (line)
            fprintf(stderr, "%s\n", line);
        free(line);
        json_decref(obj);
        return;
    }
    if (level == CR_LOG_INFO)
        fprintf(stderr, "%s\n", msg);
    else
        fprintf(stderr, "crange: %s: %s\n", level_names[level], msg);
}
