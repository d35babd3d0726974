/*
 * core/redis.c - Redis connections with reconnect/backoff, pipelining,
 * scripts and a small pool (see redis.h).
 */
#include "core/redis.h"
#include "core/mem.h"
#include "core/util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 2000

struct core_redis {
    char *addr;
    char *user;
    char *password;
    int timeout_ms;
    redisContext *ctx;   /* NULL when disconnected */
    int answered;        /* this connection has answered a command */
    int backoff_ms;      /* current backoff, 0 after success */
    int64_t next_try_ms; /* monotonic time of the next connect attempt */
};

struct core_redis *core_redis_new(const struct core_redis_opts *opts)
{
    struct core_redis *r = core_calloc(1, sizeof *r);

    r->addr = core_strdup(opts->addr);
    r->user = core_strdup(opts->user);
    r->password = core_strdup(opts->password);
    r->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;
    return r;
}

static void drop(struct core_redis *r)
{
    if (r->ctx != NULL)
        redisFree(r->ctx);
    r->ctx = NULL;
    r->answered = 0;
}

static void schedule_retry(struct core_redis *r)
{
    int jitter;

    r->backoff_ms = r->backoff_ms == 0 ? BACKOFF_FIRST_MS : r->backoff_ms * 2;
    if (r->backoff_ms > BACKOFF_MAX_MS)
        r->backoff_ms = BACKOFF_MAX_MS;
    jitter = (int)core_random_below((uint32_t)(r->backoff_ms / 4 + 1));
    r->next_try_ms = core_mono_ms() + r->backoff_ms + jitter;
}

void core_redis_free(struct core_redis *r)
{
    if (r == NULL)
        return;
    drop(r);
    free(r->addr);
    free(r->user);
    if (r->password != NULL) {
        /* not sodium_memzero: core/redis stays usable without sodium_init */
        volatile char *p = r->password;
        while (*p != '\0')
            *p++ = '\0';
        free(r->password);
    }
    free(r);
}

static redisContext *open_ctx(const struct core_redis *r)
{
    struct timeval tv;
    const char *colon;
    char host[256];
    size_t hl;
    int64_t port;

    tv.tv_sec = r->timeout_ms / 1000;
    tv.tv_usec = (r->timeout_ms % 1000) * 1000;
    if (strncmp(r->addr, "unix:", 5) == 0)
        return redisConnectUnixWithTimeout(r->addr + 5, tv);
    colon = strrchr(r->addr, ':');
    if (colon == NULL)
        return NULL;
    hl = (size_t)(colon - r->addr);
    if (hl >= sizeof host)
        return NULL;
    memcpy(host, r->addr, hl);
    host[hl] = '\0';
    if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    if (core_parse_i64(colon + 1, &port) != 0 || port < 1 || port > 65535)
        return NULL;
    return redisConnectWithTimeout(host, (int)port, tv);
}

int core_redis_connect(struct core_redis *r, struct core_err *err)
{
    redisReply *reply;
    struct timeval tv;

    if (r->ctx != NULL)
        return 0;
    if (r->next_try_ms != 0 && core_mono_ms() < r->next_try_ms)
        return core_err_set(err, CORE_EX_UNAVAILABLE, "redis: unavailable at %s (retrying)",
                            r->addr);
    r->ctx = open_ctx(r);
    if (r->ctx == NULL || r->ctx->err != 0) {
        core_err_set(err, CORE_EX_UNAVAILABLE, "redis: cannot connect to %s: %s", r->addr,
                     r->ctx != NULL ? r->ctx->errstr : "bad address");
        drop(r);
        schedule_retry(r);
        return -1;
    }
    tv.tv_sec = r->timeout_ms / 1000;
    tv.tv_usec = (r->timeout_ms % 1000) * 1000;
    redisSetTimeout(r->ctx, tv);
    if (strncmp(r->addr, "unix:", 5) != 0)
        redisEnableKeepAlive(r->ctx);
    if (r->password != NULL && r->password[0] != '\0') {
        if (r->user != NULL && r->user[0] != '\0')
            reply = redisCommand(r->ctx, "AUTH %s %s", r->user, r->password);
        else
            reply = redisCommand(r->ctx, "AUTH %s", r->password);
        if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
            int io = reply == NULL;

            if (reply != NULL)
                freeReplyObject(reply);
            drop(r);
            schedule_retry(r);
            if (io)
                return core_err_set(err, CORE_EX_UNAVAILABLE,
                                    "redis: connection lost during AUTH at %s", r->addr);
            return core_err_set(err, CORE_EX_CONFIG,
                                "redis: authentication failed at %s (check JANSEVA_REDIS_USER "
                                "and JANSEVA_REDIS_PASSWORD)",
                                r->addr);
        }
        freeReplyObject(reply);
    }
    r->backoff_ms = 0;
    r->next_try_ms = 0;
    return 0;
}

int core_redis_connected(const struct core_redis *r)
{
    return r->ctx != NULL;
}

/* Turn a reply into the result rules of redis.h. Consumes `reply`. */
static int finish(struct core_redis *r, redisReply *reply, redisReply **out, struct core_err *err)
{
    if (out != NULL)
        *out = NULL;
    r->answered = 1;
    if (reply->type == REDIS_REPLY_ERROR) {
        core_err_set(err, CORE_EX_SOFTWARE, "redis: %.200s", reply->str);
        freeReplyObject(reply);
        return -1;
    }
    if (out != NULL)
        *out = reply;
    else
        freeReplyObject(reply);
    return 0;
}

/* Handle a NULL reply (I/O error). Returns 1 if the caller may retry. */
static int io_failure(struct core_redis *r, int attempt, struct core_err *err)
{
    int was_answering = r->answered;

    core_err_set(err, CORE_EX_UNAVAILABLE, "redis: connection to %s lost: %s", r->addr,
                 r->ctx != NULL && r->ctx->errstr[0] ? r->ctx->errstr : "I/O error");
    drop(r);
    if (attempt == 0 && was_answering) {
        r->next_try_ms = 0; /* stale connection: try a fresh one at once */
        return 1;
    }
    schedule_retry(r);
    return 0;
}

int core_redis_cmdv(struct core_redis *r, int argc, const char **argv, const size_t *lens,
                    redisReply **out, struct core_err *err)
{
    int attempt;

    if (out != NULL)
        *out = NULL;
    for (attempt = 0; attempt < 2; attempt++) {
        redisReply *reply;

        if (core_redis_connect(r, err) != 0)
            return -1;
        reply = redisCommandArgv(r->ctx, argc, argv, lens);
        if (reply != NULL)
            return finish(r, reply, out, err);
        if (!io_failure(r, attempt, err))
            return -1;
    }
    return -1;
}

int core_redis_cmdf(struct core_redis *r, redisReply **out, struct core_err *err, const char *fmt,
                    ...)
{
    int attempt;

    if (out != NULL)
        *out = NULL;
    for (attempt = 0; attempt < 2; attempt++) {
        redisReply *reply;
        va_list ap;

        if (core_redis_connect(r, err) != 0)
            return -1;
        va_start(ap, fmt);
        reply = redisvCommand(r->ctx, fmt, ap);
        va_end(ap);
        if (reply != NULL)
            return finish(r, reply, out, err);
        if (!io_failure(r, attempt, err))
            return -1;
    }
    return -1;
}

int core_redis_append(struct core_redis *r, int argc, const char **argv, const size_t *lens,
                      struct core_err *err)
{
    if (core_redis_connect(r, err) != 0)
        return -1;
    if (redisAppendCommandArgv(r->ctx, argc, argv, lens) != REDIS_OK)
        return core_err_set(err, CORE_EX_SOFTWARE, "redis: cannot queue command");
    return 0;
}

int core_redis_appendf(struct core_redis *r, struct core_err *err, const char *fmt, ...)
{
    va_list ap;
    int rc;

    if (core_redis_connect(r, err) != 0)
        return -1;
    va_start(ap, fmt);
    rc = redisvAppendCommand(r->ctx, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK)
        return core_err_set(err, CORE_EX_SOFTWARE, "redis: cannot queue command");
    return 0;
}

int core_redis_get_reply(struct core_redis *r, redisReply **out, struct core_err *err)
{
    void *reply = NULL;

    if (out != NULL)
        *out = NULL;
    if (r->ctx == NULL)
        return core_err_set(err, CORE_EX_UNAVAILABLE, "redis: connection to %s lost", r->addr);
    if (redisGetReply(r->ctx, &reply) != REDIS_OK || reply == NULL) {
        io_failure(r, 1, err);
        return -1;
    }
    return finish(r, reply, out, err);
}

static pthread_mutex_t script_lock = PTHREAD_MUTEX_INITIALIZER;

static int script_load(struct core_redis *r, struct core_redis_script *s, struct core_err *err)
{
    redisReply *reply;

    if (core_redis_cmdf(r, &reply, err, "SCRIPT LOAD %s", s->src) != 0)
        return core_err_wrap(err, "loading script %s", s->name);
    if (reply->type != REDIS_REPLY_STRING || reply->len != 40) {
        freeReplyObject(reply);
        return core_err_set(err, CORE_EX_SOFTWARE, "redis: SCRIPT LOAD %s: unexpected reply",
                            s->name);
    }
    pthread_mutex_lock(&script_lock);
    memcpy(s->sha, reply->str, 40);
    s->sha[40] = '\0';
    pthread_mutex_unlock(&script_lock);
    freeReplyObject(reply);
    return 0;
}

int core_redis_script_load(struct core_redis *r, struct core_redis_script *s,
                           struct core_err *err)
{
    return script_load(r, s, err);
}

int core_redis_eval(struct core_redis *r, struct core_redis_script *s, int nkeys, int argc,
                    const char **argv, const size_t *lens, redisReply **out,
                    struct core_err *err)
{
    const char **av = core_calloc((size_t)argc + 3, sizeof *av);
    size_t *al = core_calloc((size_t)argc + 3, sizeof *al);
    char nk[16];
    char sha[41];
    int loads = 0;
    int rc = -1;

    snprintf(nk, sizeof nk, "%d", nkeys);
    av[0] = "EVALSHA";
    al[0] = 7;
    av[1] = sha;
    al[1] = 40;
    av[2] = nk;
    al[2] = strlen(nk);
    for (int i = 0; i < argc; i++) {
        av[i + 3] = argv[i];
        al[i + 3] = lens != NULL ? lens[i] : strlen(argv[i]);
    }
    /* At most two loads: the first use, and once after NOSCRIPT (Redis
     * restarted or SCRIPT FLUSH). */
    for (;;) {
        pthread_mutex_lock(&script_lock);
        memcpy(sha, s->sha, sizeof sha);
        pthread_mutex_unlock(&script_lock);
        if (sha[0] == '\0') {
            if (loads++ == 2 || script_load(r, s, err) != 0)
                break;
            continue;
        }
        rc = core_redis_cmdv(r, argc + 3, av, al, out, err);
        if (rc == 0 || !core_redis_err_is(err, "NOSCRIPT") || loads == 2)
            break;
        pthread_mutex_lock(&script_lock);
        s->sha[0] = '\0';
        pthread_mutex_unlock(&script_lock);
    }
    free(av);
    free(al);
    return rc;
}

int core_redis_eval_append(struct core_redis *r, struct core_redis_script *s, int nkeys,
                           int argc, const char **argv, const size_t *lens, struct core_err *err)
{
    const char **av;
    size_t *al;
    char nk[16];
    char sha[41];
    int rc;

    pthread_mutex_lock(&script_lock);
    memcpy(sha, s->sha, sizeof sha);
    pthread_mutex_unlock(&script_lock);
    if (sha[0] == '\0') {
        if (script_load(r, s, err) != 0)
            return -1;
        pthread_mutex_lock(&script_lock);
        memcpy(sha, s->sha, sizeof sha);
        pthread_mutex_unlock(&script_lock);
    }
    av = core_calloc((size_t)argc + 3, sizeof *av);
    al = core_calloc((size_t)argc + 3, sizeof *al);
    snprintf(nk, sizeof nk, "%d", nkeys);
    av[0] = "EVALSHA";
    al[0] = 7;
    av[1] = sha;
    al[1] = 40;
    av[2] = nk;
    al[2] = strlen(nk);
    for (int i = 0; i < argc; i++) {
        av[i + 3] = argv[i];
        al[i + 3] = lens != NULL ? lens[i] : strlen(argv[i]);
    }
    rc = core_redis_append(r, argc + 3, av, al, err);
    free(av);
    free(al);
    return rc;
}

void core_redis_script_forget(struct core_redis_script *s)
{
    pthread_mutex_lock(&script_lock);
    s->sha[0] = '\0';
    pthread_mutex_unlock(&script_lock);
}

int core_redis_ping(struct core_redis *r, struct core_err *err)
{
    redisReply *reply;

    if (core_redis_cmdf(r, &reply, err, "PING") != 0)
        return -1;
    freeReplyObject(reply);
    return 0;
}

int core_redis_err_is(const struct core_err *err, const char *prefix)
{
    size_t n = strlen(prefix);

    if (err == NULL || err->code != CORE_EX_SOFTWARE || strncmp(err->msg, "redis: ", 7) != 0)
        return 0;
    return strncmp(err->msg + 7, prefix, n) == 0;
}

long long core_redis_int(const redisReply *reply)
{
    int64_t v;

    if (reply == NULL)
        return -1;
    if (reply->type == REDIS_REPLY_INTEGER)
        return reply->integer;
    if (reply->type == REDIS_REPLY_STRING && core_parse_i64n(reply->str, reply->len, &v) == 0)
        return v;
    return -1;
}

/* ---- pool ---- */

struct core_redis_pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct core_redis **all;
    struct core_redis **idle;
    size_t n;
    size_t n_idle;
};

struct core_redis_pool *core_redis_pool_new(const struct core_redis_opts *opts, size_t n)
{
    struct core_redis_pool *p = core_calloc(1, sizeof *p);
    size_t i;

    if (n == 0)
        n = 1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->all = core_calloc(n, sizeof *p->all);
    p->idle = core_calloc(n, sizeof *p->idle);
    p->n = n;
    for (i = 0; i < n; i++) {
        p->all[i] = core_redis_new(opts);
        p->idle[i] = p->all[i];
    }
    p->n_idle = n;
    return p;
}

struct core_redis *core_redis_pool_get(struct core_redis_pool *p)
{
    struct core_redis *r;

    pthread_mutex_lock(&p->lock);
    while (p->n_idle == 0)
        pthread_cond_wait(&p->cond, &p->lock);
    r = p->idle[--p->n_idle];
    pthread_mutex_unlock(&p->lock);
    return r;
}

void core_redis_pool_put(struct core_redis_pool *p, struct core_redis *r)
{
    pthread_mutex_lock(&p->lock);
    p->idle[p->n_idle++] = r;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

void core_redis_pool_free(struct core_redis_pool *p)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < p->n; i++)
        core_redis_free(p->all[i]);
    free(p->all);
    free(p->idle);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
