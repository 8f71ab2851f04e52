/*
 * log.c: writes log lines to stderr, whole lines at a time so that lines from
 * worker threads never interleave mid-line, with what they show made safe
 * for a terminal and for JSON (cr_log_visible).
 */
#include "log.h"

#include "util.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

cr_log_level cr_log_threshold = CR_LOG_INFO;
static int log_json;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void cr_log_set_json(int on)
{
    log_json = on;
}

size_t cr_log_visible(char *out, size_t n, const char *msg, int json)
{
    const unsigned char *s = (const unsigned char *)msg;
    size_t left = strlen(msg), o = 0;
    while (left) {
        uint32_t cp = 0;
        size_t len = cr_utf8_decode(s, left, 0, &cp);
        char esc[8];
        const char *put = (const char *)s;
        size_t put_len = len;
        if (!len) {
            put = "\xef\xbf\xbd";
            put_len = 3;
            len = 1;
        } else if (!json && (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))) {
            put_len = (size_t)snprintf(esc, sizeof esc, "\\x%02x", (unsigned)cp);
            put = esc;
        }
        if (o + put_len >= n)
            break;
        memcpy(out + o, put, put_len);
        o += put_len;
        s += len;
        left -= len;
    }
    out[o] = '\0';
    return o;
}

void cr_log_write(cr_log_level level, const char *fmt, ...)
{
    char raw[2048], msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    cr_log_visible(msg, sizeof msg, raw, log_json);

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
