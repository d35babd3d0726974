/*
 * core/redis.h - the one way janseva talks to Redis.
 *
 * A `struct core_redis` is one connection (not thread-safe: one per thread,
 * or borrowed from a `struct core_redis_pool`). It connects lazily over a
 * unix socket ("unix:/path") or TCP ("host:port"), authenticates as an ACL
 * user when configured, and reconnects by itself with exponential backoff
 * (100 ms doubling to 2 s, with jitter) after the server goes away. While
 * backing off, commands fail at once with CORE_EX_UNAVAILABLE so callers such
 * as the webhook endpoint can answer 503 without waiting.
 *
 * Errors: every call returns 0 or -1. err->code is CORE_EX_UNAVAILABLE for
 * connection problems (retry later) and CORE_EX_SOFTWARE for an error reply
 * from the server; in the latter case err->msg is "redis: <server error>" and
 * core_redis_err_is() tests its prefix (e.g. "NOGROUP", "NOSCRIPT").
 *
 * Arguments always travel as binary-safe argv (never spliced into command
 * text), so user data cannot inject commands. Replies are hiredis
 * `redisReply` objects the caller frees with freeReplyObject().
 *
 * A command that fails with an I/O error on a connection that used to work
 * (typically after a Redis restart) is retried once on a fresh connection;
 * janseva's writes are idempotent or deduplicated downstream, which makes
 * that safe.
 *
 * Key naming: every key starts with "js:"; keys that a script or MULTI uses
 * together share a {hash tag}, so the same code runs on Redis Cluster.
 */
#ifndef JANSEVA_CORE_REDIS_H
#define JANSEVA_CORE_REDIS_H

#include "core/err.h"

#include <hiredis/hiredis.h>
#include <stddef.h>

struct core_redis;
struct core_redis_pool;

/* Connection settings; strings are copied by core_redis_new(). */
struct core_redis_opts {
    const char *addr;     /* "unix:/path" or "host:port" */
    const char *user;     /* ACL user or NULL */
    const char *password; /* ACL password or NULL */
    int timeout_ms;       /* connect and command timeout (<= 0: 5000) */
};

/* A Lua script run with EVALSHA (loaded on first use, and again after
 * NOSCRIPT). Define as a static with only `name` and `src` set. */
struct core_redis_script {
    const char *name; /* for error messages */
    const char *src;  /* Lua source */
    char sha[41];     /* filled on first use */
};

/* ---- one connection ---- */

/* Create an unconnected handle (never fails). Free with core_redis_free(). */
struct core_redis *core_redis_new(const struct core_redis_opts *opts);

/* Close and free; NULL is a no-op. */
void core_redis_free(struct core_redis *r);

/* Connect now if not connected (respects the backoff). */
int core_redis_connect(struct core_redis *r, struct core_err *err);

/* True if the handle currently holds a live connection. */
int core_redis_connected(const struct core_redis *r);

/*
 * Run one command given as argv. On success *out (if not NULL) receives the
 * reply, which the caller frees; error replies fail (see above).
 */
int core_redis_cmdv(struct core_redis *r, int argc, const char **argv, const size_t *lens,
                    redisReply **out, struct core_err *err);

/*
 * Run one command in hiredis format: only %s (C string) and %b (pointer,
 * size_t length) are used by janseva. Same result rules as core_redis_cmdv.
 */
int core_redis_cmdf(struct core_redis *r, redisReply **out, struct core_err *err, const char *fmt,
                    ...);

/* ---- pipelining: queue several commands, then read the replies in order ---- */

/* Queue a command (argv form). Nothing is sent until a reply is read. */
int core_redis_append(struct core_redis *r, int argc, const char **argv, const size_t *lens,
                      struct core_err *err);

/* Queue a command (format form). */
int core_redis_appendf(struct core_redis *r, struct core_err *err, const char *fmt, ...);

/* Read the next queued reply; same result rules as core_redis_cmdv. After a
 * connection error the remaining replies are lost and the connection is
 * reset. */
int core_redis_get_reply(struct core_redis *r, redisReply **out, struct core_err *err);

/* ---- scripts ---- */

/*
 * EVALSHA `s` with `nkeys` keys followed by the other arguments in argv.
 * Loads the script on first use or after NOSCRIPT (e.g. Redis restarted).
 */
int core_redis_eval(struct core_redis *r, struct core_redis_script *s, int nkeys, int argc,
                    const char **argv, const size_t *lens, redisReply **out,
                    struct core_err *err);

/*
 * Queue (pipelining) an EVALSHA of `s`, loading the script first when this
 * process has not yet. A NOSCRIPT reply (Redis restarted meanwhile) is an
 * error reply like any other: call core_redis_script_forget() and run the
 * pipeline again, which is safe only for idempotent scripts.
 */
int core_redis_eval_append(struct core_redis *r, struct core_redis_script *s, int nkeys,
                           int argc, const char **argv, const size_t *lens, struct core_err *err);

/* SCRIPT LOAD `s` now (nothing may be pending on `r`): before a pipeline
 * of core_redis_eval_append, whose first use would otherwise load it while
 * replies are pending and read one of them. */
int core_redis_script_load(struct core_redis *r, struct core_redis_script *s,
                           struct core_err *err);

/* Forget the loaded sha of `s` (after NOSCRIPT): the next use loads it. */
void core_redis_script_forget(struct core_redis_script *s);

/* ---- helpers ---- */

/* PING; 0 if Redis answered. */
int core_redis_ping(struct core_redis *r, struct core_err *err);

/* True if `err` holds a server error reply starting with `prefix`. */
int core_redis_err_is(const struct core_err *err, const char *prefix);

/* Integer value of a reply (integer, or a string holding digits); -1 on
 * other types. */
long long core_redis_int(const redisReply *reply);

/* ---- pool: share connections between threads ---- */

/* A pool of `n` lazily connected handles. */
struct core_redis_pool *core_redis_pool_new(const struct core_redis_opts *opts, size_t n);

/* Borrow a handle; blocks while all are in use. Return it with _put. */
struct core_redis *core_redis_pool_get(struct core_redis_pool *p);

/* Return a borrowed handle. */
void core_redis_pool_put(struct core_redis_pool *p, struct core_redis *r);

/* Free the pool and every handle (none may be borrowed). NULL is a no-op. */
void core_redis_pool_free(struct core_redis_pool *p);

#endif
