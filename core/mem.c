/*
 * core/mem.c - allocation wrappers that abort on out-of-memory (see mem.h).
 */
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "{\"level\":\"fatal\",\"module\":\"mem\",\"msg\":\"out of memory "
                    "allocating %zu bytes\"}\n",
            n);
    abort();
}

void *core_malloc(size_t n)
{
    void *p = malloc(n == 0 ? 1 : n);

    if (p == NULL)
        oom(n);
    return p;
}

void *core_calloc(size_t count, size_t size)
{
    void *p;

    if (count == 0 || size == 0)
        return core_malloc(1);
    p = calloc(count, size);
    if (p == NULL)
        oom(count * size);
    return p;
}

void *core_realloc(void *p, size_t n)
{
    void *q = realloc(p, n == 0 ? 1 : n);

    if (q == NULL)
        oom(n);
    return q;
}

char *core_strdup(const char *s)
{
    if (s == NULL)
        return NULL;
    return core_memdup(s, strlen(s));
}

char *core_strndup(const char *s, size_t n)
{
    size_t len = 0;

    while (len < n && s[len] != '\0')
        len++;
    return core_memdup(s, len);
}

void *core_memdup(const void *p, size_t n)
{
    char *q = core_malloc(n + 1);

    if (n > 0)
        memcpy(q, p, n);
    q[n] = '\0';
    return q;
}
