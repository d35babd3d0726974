/*
 * core/buf.c - growable capped buffer (see buf.h).
 */
#include "core/buf.h"
#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void core_buf_init(struct core_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void core_buf_cleanup(struct core_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void core_buf_reset(struct core_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

/* Make room for `extra` more bytes plus the NUL. */
static int reserve(struct core_buf *b, size_t extra)
{
    size_t need;
    size_t cap;

    if (extra > ((size_t)-1) / 2 - b->len)
        return -1;
    need = b->len + extra;
    if (b->max != 0 && need > b->max)
        return -1;
    if (need + 1 <= b->cap)
        return 0;
    cap = b->cap == 0 ? 64 : b->cap;
    while (cap < need + 1)
        cap *= 2;
    b->data = core_realloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int core_buf_append(struct core_buf *b, const void *p, size_t n)
{
    if (reserve(b, n) != 0)
        return -1;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int core_buf_puts(struct core_buf *b, const char *s)
{
    return core_buf_append(b, s, strlen(s));
}

int core_buf_printf(struct core_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *core_buf_steal(struct core_buf *b)
{
    char *s = b->data;

    if (s == NULL)
        s = core_strdup("");
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return s;
}

const char *core_buf_str(const struct core_buf *b)
{
    return b->data != NULL ? b->data : "";
}
