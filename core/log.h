/*
 * core/log.h - structured logging: one JSON object per line on stderr.
 *
 *   {"ts":"2026-11-22T10:00:00.123Z","level":"info","module":"ingress",
 *    "req":"4f1c9a0b2d3e4f56","msg":"webhook accepted","bytes":1234}
 *
 * Rules (docs/internals/core.md): never log a phone number, WhatsApp id,
 * BSUID, profile name, message text or secret. Log pseudonymous ids (member
 * ids, case ids, request ids, stream ids) instead. Logging is thread-safe;
 * each line is written with one write and flushed.
 */
#ifndef JANSEVA_CORE_LOG_H
#define JANSEVA_CORE_LOG_H

#include <jansson.h>
#include <stdio.h>

enum core_log_level {
    CORE_LOG_DEBUG = 0,
    CORE_LOG_INFO = 1,
    CORE_LOG_WARN = 2,
    CORE_LOG_ERROR = 3,
};

/* Set the minimum level written (default info). Thread-safe. */
void core_log_set_level(enum core_log_level level);

/* Current minimum level. */
enum core_log_level core_log_get_level(void);

/* Redirect output (default stderr). `out` is borrowed; NULL = stderr. */
void core_log_set_output(FILE *out);

/* Parse "debug|info|warn|error" (case-insensitive). Returns 0 or -1. */
int core_log_level_parse(const char *s, enum core_log_level *out);

/* Name of a level ("debug", ...). */
const char *core_log_level_name(enum core_log_level level);

/* True if a message at `level` would be written. */
int core_log_enabled(enum core_log_level level);

/*
 * Write one line. `module` is a short subsystem name; `req` a request or
 * entry id, or NULL. The message is printf-formatted.
 */
void core_log(enum core_log_level level, const char *module, const char *req, const char *fmt,
              ...) __attribute__((format(printf, 4, 5)));

/*
 * Write one line with extra structured fields. `fields` is a JSON object or
 * NULL and is always consumed (stolen), whether or not the line is written.
 */
void core_log_kv(enum core_log_level level, const char *module, const char *req, const char *msg,
                 json_t *fields);

#define core_log_debug(mod, req, ...) core_log(CORE_LOG_DEBUG, mod, req, __VA_ARGS__)
#define core_log_info(mod, req, ...) core_log(CORE_LOG_INFO, mod, req, __VA_ARGS__)
#define core_log_warn(mod, req, ...) core_log(CORE_LOG_WARN, mod, req, __VA_ARGS__)
#define core_log_error(mod, req, ...) core_log(CORE_LOG_ERROR, mod, req, __VA_ARGS__)

#endif
