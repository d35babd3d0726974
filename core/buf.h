/*
 * core/buf.h - a growable byte buffer with a hard size cap.
 *
 * The data is always NUL-terminated (the NUL is not counted in `len`), so a
 * buffer of text can be used as a C string. Appends that would grow the
 * buffer past `max` fail with -1 and leave it unchanged: that is how request
 * bodies are bounded. Embed the struct; pair core_buf_init with
 * core_buf_cleanup.
 */
#ifndef JANSEVA_CORE_BUF_H
#define JANSEVA_CORE_BUF_H

#include <stddef.h>

struct core_buf {
    char *data; /* owned; NULL until the first append */
    size_t len; /* bytes used, excluding the trailing NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* hard cap on len; 0 means unlimited */
};

/* Initialise an empty buffer; cannot fail. `max` 0 = no cap. */
void core_buf_init(struct core_buf *b, size_t max);

/* Release the memory; the buffer is empty and reusable afterwards. */
void core_buf_cleanup(struct core_buf *b);

/* Forget the contents but keep the allocation. */
void core_buf_reset(struct core_buf *b);

/* Append `n` bytes. Returns 0, or -1 if the cap would be exceeded. */
int core_buf_append(struct core_buf *b, const void *p, size_t n);

/* Append a NUL-terminated string. Returns 0 or -1 (cap). */
int core_buf_puts(struct core_buf *b, const char *s);

/* Append formatted text. Returns 0 or -1 (cap). */
int core_buf_printf(struct core_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Take the data out: returns a NUL-terminated heap string the caller frees
 * (never NULL; an empty buffer gives ""), and leaves the buffer empty.
 */
char *core_buf_steal(struct core_buf *b);

/* The contents as a C string (never NULL; "" when empty). Borrowed. */
const char *core_buf_str(const struct core_buf *b);

#endif
