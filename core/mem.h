/*
 * core/mem.h - the project's single allocation policy.
 *
 * Every heap allocation goes through these wrappers. On out-of-memory they
 * write one line to stderr and abort(): janseva never continues with a
 * silently dropped buffer. Free with free(3).
 */
#ifndef JANSEVA_CORE_MEM_H
#define JANSEVA_CORE_MEM_H

#include <stddef.h>

/* Allocate `n` bytes (n == 0 allocates 1). Never returns NULL. Caller frees. */
void *core_malloc(size_t n);

/* Allocate a zeroed array of `count` * `size` bytes; aborts on overflow. */
void *core_calloc(size_t count, size_t size);

/* Resize `p` to `n` bytes. Never returns NULL. */
void *core_realloc(void *p, size_t n);

/* Duplicate a NUL-terminated string; `s` may be NULL (returns NULL). */
char *core_strdup(const char *s);

/* Duplicate at most `n` bytes of `s` and NUL-terminate. */
char *core_strndup(const char *s, size_t n);

/* Duplicate `n` bytes of `p` into a new buffer with one extra NUL byte. */
void *core_memdup(const void *p, size_t n);

#endif
