/*
 * core/sworker.c - the stream consumer thread (see sworker.h).
 */
#include "core/sworker.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK_MS "1000"
#define COUNT "4"

struct core_sworker {
    char *name;
    char *stream;
    char *group;
    char consumer[96];
    core_sworker_fn handle;
    void *arg;
    struct core_redis *r; /* owned */
    pthread_t thread;
    atomic_bool stop;
};

bool core_sworker_stopping(const struct core_sworker *w)
{
    return atomic_load(&w->stop);
}

void core_sworker_wait(const struct core_sworker *w, int64_t ms)
{
    int64_t end = core_mono_ms() + ms;

    while (!atomic_load(&w->stop) && core_mono_ms() < end)
        core_sleep_ms(50);
}

const redisReply *core_sworker_field(const redisReply *fields, const char *name)
{
    if (fields == NULL || fields->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i];
        const redisReply *v = fields->element[i + 1];

        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0)
            return v->type == REDIS_REPLY_STRING ? v : NULL;
    }
    return NULL;
}

static void ensure_group(struct core_sworker *w)
{
    struct core_err err;

    if (core_redis_cmdf(w->r, NULL, &err, "XGROUP CREATE %s %s 0 MKSTREAM", w->stream,
                        w->group) != 0 &&
        !core_redis_err_is(&err, "BUSYGROUP") && err.code != CORE_EX_UNAVAILABLE)
        core_log_warn(w->name, NULL, "cannot create the consumer group: %s", err.msg);
}

static void handle_entries(struct core_sworker *w, const redisReply *entries)
{
    for (size_t i = 0; i < entries->elements && !atomic_load(&w->stop); i++) {
        const redisReply *e = entries->element[i];
        struct core_err err;

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            continue;
        /* A deleted entry still pending reads back with nil fields: done. */
        if (e->element[1]->type == REDIS_REPLY_ARRAY &&
            w->handle(w, w->r, e->element[1], w->arg) != 0)
            continue; /* stays pending */
        core_redis_cmdf(w->r, NULL, &err, "XACK %s %s %s", w->stream, w->group,
                        e->element[0]->str);
        core_redis_cmdf(w->r, NULL, &err, "XDEL %s %s", w->stream, e->element[0]->str);
    }
}

static void *main_loop(void *arg)
{
    struct core_sworker *w = arg;
    int history = 1;

    ensure_group(w);
    while (!atomic_load(&w->stop)) {
        struct core_err err;
        redisReply *rep;

        if (core_redis_cmdf(w->r, &rep, &err,
                            "XREADGROUP GROUP %s %s COUNT " COUNT " BLOCK " BLOCK_MS
                            " STREAMS %s %s",
                            w->group, w->consumer, w->stream, history ? "0" : ">") != 0) {
            if (core_redis_err_is(&err, "NOGROUP"))
                ensure_group(w);
            core_sworker_wait(w, 500);
            continue;
        }
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
            rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements == 2 &&
            rep->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
            const redisReply *entries = rep->element[0]->element[1];

            if (history && entries->elements == 0)
                history = 0; /* our own pending entries are done: new ones now */
            handle_entries(w, entries);
        } else if (history) {
            history = 0;
        }
        freeReplyObject(rep);
        if (history)
            core_sworker_wait(w, 100); /* entries left pending are retried, not spun on */
    }
    return NULL;
}

static void sworker_free(struct core_sworker *w)
{
    core_redis_free(w->r);
    free(w->name);
    free(w->stream);
    free(w->group);
    free(w);
}

struct core_sworker *core_sworker_start(const struct core_redis_opts *ro,
                                        const struct core_sworker_opts *o, struct core_err *err)
{
    struct core_sworker *w = core_calloc(1, sizeof *w);
    char host[64] = "janseva";

    w->name = core_strdup(o->name);
    w->stream = core_strdup(o->stream);
    w->group = core_strdup(o->group);
    w->handle = o->handle;
    w->arg = o->arg;
    w->r = core_redis_new(ro);
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(w->consumer, sizeof w->consumer, "%s-%s", host, o->suffix);
    atomic_init(&w->stop, false);
    if (pthread_create(&w->thread, NULL, main_loop, w) != 0) {
        core_err_set(err, CORE_EX_SOFTWARE, "%s: cannot start the worker", o->name);
        sworker_free(w);
        return NULL;
    }
    return w;
}

void core_sworker_stop(struct core_sworker *w)
{
    if (w == NULL)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
    sworker_free(w);
}
