/*
 * core/sworker.h - a worker thread that consumes a Redis stream through a
 * consumer group, one entry at a time, acknowledging only finished work.
 *
 * The loop every stream job queue of janseva needs (the media of group posts,
 * the media of tips):
 *
 *   XGROUP CREATE <stream> <group> 0 MKSTREAM      (BUSYGROUP is fine)
 *   XREADGROUP GROUP <group> <consumer> COUNT 4 BLOCK 1000 STREAMS <stream> 0
 *       first our own pending entries (work a crash left unfinished), and
 *       once none is left, ">" (new entries)
 *   handle(entry) == 0  ->  XACK + XDEL       (done: never read again)
 *   handle(entry) != 0  ->  left pending      (retried: after a restart, or
 *                                              when the history is re-read)
 *
 * A NOGROUP error (the stream was deleted, e.g. by FLUSHALL in tests)
 * recreates the group; other Redis errors wait half a second. The consumer
 * name is "<hostname>-<suffix>", so a restarted process on the same host
 * picks up its own pending entries. Handlers must be idempotent: an entry
 * whose XACK was lost in a crash is handled again.
 *
 * Threads: the worker owns one Redis connection, which it lends to the
 * handler for the duration of a call; handlers run on the worker's thread
 * only.
 */
#ifndef JANSEVA_CORE_SWORKER_H
#define JANSEVA_CORE_SWORKER_H

#include "core/err.h"
#include "core/redis.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>

struct core_sworker;

/*
 * Handle one entry: `fields` is the entry's array of field/value strings
 * (use core_sworker_field); `r` is the worker's connection (borrowed for the
 * call); `arg` is core_sworker_opts.arg. Return 0 when the entry is done
 * (acknowledged and deleted, also for a malformed entry that can never
 * succeed), non-zero to leave it pending.
 */
typedef int (*core_sworker_fn)(struct core_sworker *w, struct core_redis *r,
                               const redisReply *fields, void *arg);

/* What to consume. Strings are copied by core_sworker_start. */
struct core_sworker_opts {
    const char *name;   /* in log lines: "postmedia" */
    const char *stream; /* "js:post:mq" */
    const char *group;  /* consumer group: "postmedia" */
    const char *suffix; /* of the consumer name: "pm" */
    core_sworker_fn handle;
    void *arg; /* borrowed; must outlive the worker */
};

/*
 * Start the thread with its own connection over `ro`. Returns NULL with err
 * (CORE_EX_SOFTWARE) when the thread cannot start.
 */
struct core_sworker *core_sworker_start(const struct core_redis_opts *ro,
                                        const struct core_sworker_opts *o, struct core_err *err);

/* Ask the thread to stop, wait for it (about a second: the block time plus
 * whatever the running handler needs) and free. NULL is a no-op. */
void core_sworker_stop(struct core_sworker *w);

/* True once core_sworker_stop was called: long handlers check it. */
bool core_sworker_stopping(const struct core_sworker *w);

/* Sleep `ms`, waking early (within 50 ms) when the worker is stopping. */
void core_sworker_wait(const struct core_sworker *w, int64_t ms);

/* The string value of field `name` of an entry, or NULL when absent or not
 * a string. Borrowed from `fields`. */
const redisReply *core_sworker_field(const redisReply *fields, const char *name);

#endif
