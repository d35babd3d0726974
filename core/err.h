/*
 * core/err.h - the error struct every janseva function reports through.
 *
 * Functions return 0 on success and -1 on failure; on failure they fill a
 * caller-owned struct core_err with a sysexits-style code (so a CLI can exit
 * with it) and one line of text without a trailing newline. Messages never
 * carry phone numbers, WhatsApp ids, profile names or secrets.
 */
#ifndef JANSEVA_CORE_ERR_H
#define JANSEVA_CORE_ERR_H

#define CORE_ERR_LEN 256

/* sysexits(3) codes used across the project. */
#define CORE_EX_OK 0
#define CORE_EX_USAGE 64
#define CORE_EX_DATAERR 65
#define CORE_EX_NOINPUT 66
#define CORE_EX_UNAVAILABLE 69
#define CORE_EX_SOFTWARE 70
#define CORE_EX_CANTCREAT 73
#define CORE_EX_IOERR 74
#define CORE_EX_TEMPFAIL 75
#define CORE_EX_NOPERM 77
#define CORE_EX_CONFIG 78

struct core_err {
    int code;               /* CORE_EX_* value, 0 when clear */
    char msg[CORE_ERR_LEN]; /* one line, no newline */
};

/* Clear an error. `e` may be NULL. */
void core_err_clear(struct core_err *e);

/*
 * Record an error and return -1, so callers can write
 * `return core_err_set(err, CORE_EX_DATAERR, "bad %s", what);`.
 * `e` may be NULL (the error is then dropped). Newlines in the formatted
 * text are replaced by spaces.
 */
int core_err_set(struct core_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Prefix an existing error message with "prefix: " (context on the way up).
 * Returns -1. Keeps the code.
 */
int core_err_wrap(struct core_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
