/*
 * log.c: writes log lines to stderr, whole lines at a time so that lines from
 * worker threads never interleave mid-line, with what they show made safe
 * for a terminal and for JSON (cr_log_visible).
 */
#include "log.h"

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

/* Bytes of the valid UTF-8 sequence at s (n bytes left), or 0; *cp gets
 * its code point. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
    size_t len;
    unsigned min;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0)
        len = 2, *cp = s[0] & 0x1f, min = 0x80;
    else if ((s[0] & 0xf0) == 0xe0)
        len = 3, *cp = s[0] & 0x0f, min = 0x800;
    else if ((s[0] & 0xf8) == 0xf0)
        len = 4, *cp = s[0] & 0x07, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return len;
}

size_t cr_log_visible(char *out, size_t n, const char *msg, int json)
{
    const unsigned char *s = (const unsigned char *)msg;
    size_t left = strlen(msg), o = 0;
    while (left) {
        unsigned cp = 0;
        size_t len = utf8_seq(s, left, &cp);
        char esc[8];
        const char *put = (const char *)s;
        size_t put_len = len;
        if (!len) {
            put = "\xef\xbf\xbd";
            put_len = 3;
            len = 1;
        } else if (!json && (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))) {
            put_len = (size_t)snprintf(esc, sizeof esc, "\\x%02x", cp);
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
