/*
 * err.c: the per-thread error message behind err.h. A message is kept in a
 * fixed thread-local buffer, so setting it never allocates or fails.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char err_msg[1024];
static _Thread_local int err_set;

static void err_vformat(const char *fmt, va_list ap)
{
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    err_set = 1;
}

int cr_error_set(int code, const char *fmt, ...)
{
    if (!err_set) {
        va_list ap;
        va_start(ap, fmt);
        err_vformat(fmt, ap);
        va_end(ap);
    }
    return code;
}

int cr_error_replace(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vformat(fmt, ap);
    va_end(ap);
    return code;
}

const char *cr_error_message(void)
{
    return err_set ? err_msg : "unknown error";
}

int cr_error_pending(void)
{
    return err_set;
}

void cr_error_clear(void)
{
    err_set = 0;
    err_msg[0] = '\0';
}
