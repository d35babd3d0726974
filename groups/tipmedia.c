/*
 * groups/tipmedia.c - the tip media fetcher (see tipmedia.h).
 */
#include "groups/tipmedia.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"
#include "groups/media.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define ATTEMPTS 4
#define BLOCK_MS "1000"

CORE_COUNTER(m_stored, "janseva_tip_media_total", "result=\"stored\"",
             "Tip media fetched, by result");
CORE_COUNTER(m_large, "janseva_tip_media_total", "result=\"too_large\"",
             "Tip media fetched, by result");
CORE_COUNTER(m_failed, "janseva_tip_media_total", "result=\"failed\"",
             "Tip media fetched, by result");
CORE_COUNTER(m_retry, "janseva_tip_media_retries_total", NULL,
             "Tip media downloads tried again after a transient failure");

void grp_tipmedia_metrics_init(void)
{
    core_metrics_register(&m_stored);
    core_metrics_register(&m_large);
    core_metrics_register(&m_failed);
    core_metrics_register(&m_retry);
}

struct grp_tipmedia {
    const struct core_cfg *cfg;
    struct grp_tip *t;
    struct core_redis *r;
    struct grp_media_http http; /* Graph API handle (token wiped at the end) */
    char consumer[96];
    pthread_t thread;
    atomic_bool stop;
};

enum outcome { DONE, TOO_LARGE, TRANSIENT, PERMANENT };

/* ======================= fetch ======================= */

/* One attempt at item (cid, n) whose media id is `media_id`. */
static enum outcome fetch(struct grp_tipmedia *m, const char *cid, long n, const char *media_id,
                          int *stored)
{
    struct core_buf data;
    struct core_err err;
    char what[64];
    enum grp_media_result res;
    enum outcome out;

    *stored = 0;
    snprintf(what, sizeof what, "case %s item %ld", cid, n);
    core_buf_init(&data, (size_t)m->cfg->tip_media_max_bytes);
    res = grp_media_download(&m->http, what, media_id, (size_t)m->cfg->tip_media_max_bytes, &data,
                             NULL, 0);
    out = res == GRP_MEDIA_OK          ? DONE
          : res == GRP_MEDIA_TOO_LARGE ? TOO_LARGE
          : res == GRP_MEDIA_TRANSIENT ? TRANSIENT
                                       : PERMANENT;
    if (out == DONE) {
        if (grp_tip_media_store(m->t, m->r, cid, n, (const unsigned char *)data.data, data.len,
                                &err) != 0) {
            core_log_warn("tipmedia", NULL, "case %s item %ld: cannot store: %s", cid, n,
                          err.msg);
            out = TRANSIENT;
        } else {
            *stored = 1;
            core_log_info("tipmedia", NULL, "case %s item %ld: media stored sealed (%zu bytes)",
                          cid, n, data.len);
        }
    }
    if (data.data != NULL)
        sodium_memzero(data.data, data.cap);
    core_buf_cleanup(&data);
    return out;
}

/* ======================= jobs ======================= */

static const redisReply *field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        if (strcmp(fields->element[i]->str, name) == 0)
            return fields->element[i + 1];
    }
    return NULL;
}

static void wait_or_stop(struct grp_tipmedia *m, int64_t ms)
{
    int64_t end = core_mono_ms() + ms;

    while (!atomic_load(&m->stop) && core_mono_ms() < end)
        core_sleep_ms(50);
}

/* Handle one job; returns 0 when it can be acknowledged. */
static int job(struct grp_tipmedia *m, const char *cid, long n)
{
    struct core_err err;
    char state[24];
    json_t *item;
    const char *id;
    char media_id[256];
    enum outcome o = TRANSIENT;
    int stored = 0;

    if (!grp_tip_is_case_id(cid) || n < 1)
        return 0; /* malformed: drop */
    if (grp_tip_media_state(m->r, cid, n, state, sizeof state, &err) != 0)
        return -1;
    if (strcmp(state, "pending") != 0)
        return 0; /* done before (a replay), or not media */
    item = grp_tip_item_open(m->t, m->r, cid, n, &err);
    if (item == NULL)
        return err.code == CORE_EX_UNAVAILABLE ? -1 : 0;
    id = json_string_value(json_object_get(json_object_get(item, "media"), "id"));
    snprintf(media_id, sizeof media_id, "%s", id != NULL ? id : "");
    json_decref(item);
    for (int a = 0; a < ATTEMPTS && !atomic_load(&m->stop); a++) {
        int ok = media_id[0] != '\0' && strspn(media_id, "0123456789abcdefghijklmnopqrstuvwxyz"
                                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ._-") ==
                                            strlen(media_id);

        o = ok ? fetch(m, cid, n, media_id, &stored) : PERMANENT;
        if (o != TRANSIENT)
            break;
        if (a + 1 < ATTEMPTS) {
            core_metric_inc(&m_retry);
            wait_or_stop(m, 1000LL << a);
        }
    }
    sodium_memzero(media_id, sizeof media_id);
    if (atomic_load(&m->stop) && o == TRANSIENT && !stored)
        return -1; /* stopping: leave it pending for the next start */
    if (o == DONE) {
        core_metric_inc(&m_stored);
        return 0;
    }
    if (grp_tip_media_mark(m->r, cid, n, o == TOO_LARGE ? "too_large" : "failed", &err) != 0)
        return -1;
    core_metric_inc(o == TOO_LARGE ? &m_large : &m_failed);
    core_log_warn("tipmedia", NULL, "case %s item %ld: media %s", cid, n,
                  o == TOO_LARGE ? "too large, not stored" : "could not be fetched");
    return 0;
}

static void handle_entries(struct grp_tipmedia *m, const redisReply *entries)
{
    struct core_err err;

    for (size_t i = 0; entries != NULL && i < entries->elements && !atomic_load(&m->stop); i++) {
        const redisReply *e = entries->element[i];
        const redisReply *c, *nr;
        char cid[GRP_TIP_CASE_LEN] = "";
        int64_t n = 0;

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
            continue;
        if (e->element[1]->type == REDIS_REPLY_ARRAY) {
            c = field(e->element[1], "c");
            nr = field(e->element[1], "n");
            if (c != NULL && c->type == REDIS_REPLY_STRING && c->len == GRP_TIP_CASE_LEN - 1)
                memcpy(cid, c->str, c->len + 1);
            if (nr == NULL || nr->type != REDIS_REPLY_STRING || core_parse_i64(nr->str, &n) != 0)
                n = 0;
        }
        if (job(m, cid, (long)n) != 0)
            continue; /* stays pending */
        core_redis_cmdf(m->r, NULL, &err, "XACK %s %s %s", GRP_TIPMEDIA_STREAM,
                        GRP_TIPMEDIA_GROUP, e->element[0]->str);
        core_redis_cmdf(m->r, NULL, &err, "XDEL %s %s", GRP_TIPMEDIA_STREAM, e->element[0]->str);
    }
}

static void ensure_group(struct grp_tipmedia *m)
{
    struct core_err err;

    if (core_redis_cmdf(m->r, NULL, &err, "XGROUP CREATE %s %s 0 MKSTREAM", GRP_TIPMEDIA_STREAM,
                        GRP_TIPMEDIA_GROUP) != 0 &&
        !core_redis_err_is(&err, "BUSYGROUP") && err.code != CORE_EX_UNAVAILABLE)
        core_log_warn("tipmedia", NULL, "cannot create the consumer group: %s", err.msg);
}

static void *main_loop(void *arg)
{
    struct grp_tipmedia *m = arg;
    int history = 1;

    ensure_group(m);
    while (!atomic_load(&m->stop)) {
        struct core_err err;
        redisReply *rep;

        if (core_redis_cmdf(m->r, &rep, &err,
                            "XREADGROUP GROUP %s %s COUNT 4 BLOCK %s STREAMS %s %s",
                            GRP_TIPMEDIA_GROUP, m->consumer, BLOCK_MS, GRP_TIPMEDIA_STREAM,
                            history ? "0" : ">") != 0) {
            if (core_redis_err_is(&err, "NOGROUP"))
                ensure_group(m);
            wait_or_stop(m, 500);
            continue;
        }
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
            rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements == 2) {
            const redisReply *entries = rep->element[0]->element[1];

            if (history && entries->elements == 0)
                history = 0; /* our own pending entries are done: new ones now */
            handle_entries(m, entries);
        } else if (history) {
            history = 0;
        }
        freeReplyObject(rep);
        if (history)
            wait_or_stop(m, 100); /* entries left pending are retried, not spun on */
    }
    return NULL;
}

struct grp_tipmedia *grp_tipmedia_start(const struct core_cfg *cfg, struct grp_tip *t,
                                        struct core_err *err)
{
    struct grp_tipmedia *m = core_calloc(1, sizeof *m);
    struct core_redis_opts ro = {cfg->redis, cfg->redis_user, cfg->redis_password,
                                 cfg->redis_timeout_ms};
    char host[64] = "janseva";
    int ok;

    grp_tipmedia_metrics_init();
    m->cfg = cfg;
    m->t = t;
    m->r = core_redis_new(&ro);
    ok = grp_media_http_init(&m->http, cfg) == 0;
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(m->consumer, sizeof m->consumer, "%s-tm", host);
    atomic_init(&m->stop, false);
    if (!ok || pthread_create(&m->thread, NULL, main_loop, m) != 0) {
        core_err_set(err, CORE_EX_SOFTWARE, "tipmedia: cannot start the fetcher");
        grp_media_http_cleanup(&m->http);
        core_redis_free(m->r);
        free(m);
        return NULL;
    }
    return m;
}

void grp_tipmedia_stop(struct grp_tipmedia *m)
{
    if (m == NULL)
        return;
    atomic_store(&m->stop, true);
    pthread_join(m->thread, NULL);
    grp_media_http_cleanup(&m->http);
    core_redis_free(m->r);
    free(m);
}
