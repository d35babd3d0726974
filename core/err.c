/*
 * core/err.c - error struct helpers (see err.h).
 */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void core_err_clear(struct core_err *e)
{
    if (e == NULL)
        return;
    e->code = 0;
    e->msg[0] = '\0';
}

static void strip_newlines(char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\n' || *s == '\r')
            *s = ' ';
    }
}

int core_err_set(struct core_err *e, int code, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return -1;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    strip_newlines(e->msg);
    return -1;
}

int core_err_wrap(struct core_err *e, const char *fmt, ...)
{
    char prefix[CORE_ERR_LEN];
    char old[CORE_ERR_LEN];
    va_list ap;

    if (e == NULL)
        return -1;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    /* Truncation is acceptable: the message stays one bounded line. */
    if (snprintf(e->msg, sizeof e->msg, "%s: %s", prefix, old) >= (int)sizeof e->msg)
        e->msg[sizeof e->msg - 1] = '\0';
    strip_newlines(e->msg);
    return -1;
}
