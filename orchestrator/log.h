/*
 * log.h: leveled logging to stderr. Plain text for people, one JSON object a
 * line when --json is on. CR_LOG checks the level before it evaluates its
 * arguments, so debug logging costs nothing when it is off.
 */
#ifndef CRANGE_LOG_H
#define CRANGE_LOG_H

#include <stddef.h>

typedef enum { CR_LOG_ERROR = 0, CR_LOG_WARN, CR_LOG_INFO, CR_LOG_DEBUG } cr_log_level;

extern cr_log_level cr_log_threshold;

void cr_log_set_json(int on);

/*
 * What a log line shows of msg, in out (n > 0 bytes, always terminated):
 * valid UTF-8 is kept, bytes that are not UTF-8 become U+FFFD (so a message
 * cut in the middle of a character still makes a JSON line), and, for
 * people (!json), control characters (C0, DEL, C1) are shown as \xNN, so
 * that text typed by a trainee cannot move the cursor, recolour or fake
 * lines on the operator's terminal. Returns the length written.
 */
size_t cr_log_visible(char *out, size_t n, const char *msg, int json);
void cr_log_write(cr_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define CR_LOG(level, ...)                                  \
    do {                                                    \
        if ((level) <= cr_log_threshold)                    \
            cr_log_write((level), __VA_ARGS__);             \
    } while (0)

#define cr_log_error(...) CR_LOG(CR_LOG_ERROR, __VA_ARGS__)
#define cr_log_warn(...) CR_LOG(CR_LOG_WARN, __VA_ARGS__)
#define cr_log_info(...) CR_LOG(CR_LOG_INFO, __VA_ARGS__)
#define cr_log_debug(...) CR_LOG(CR_LOG_DEBUG, __VA_ARGS__)

#endif
