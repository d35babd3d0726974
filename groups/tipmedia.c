/*
 * groups/tipmedia.c - the tip media fetcher (see tipmedia.h).
 */
#include "groups/tipmedia.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/sworker.h"
#include "core/util.h"
#include "groups/media.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ATTEMPTS 4

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
    struct core_sworker *w;     /* owned: the stream consumer */
};

enum outcome { DONE, TOO_LARGE, TRANSIENT, PERMANENT };

/* ======================= fetch ======================= */

/* One attempt at item (cid, n) whose media id is `media_id`. */
static enum outcome fetch(struct grp_tipmedia *m, struct core_redis *r, const char *cid, long n,
                          const char *media_id, int *stored)
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
        if (grp_tip_media_store(m->t, r, cid, n, (const unsigned char *)data.data, data.len,
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

/* Handle one job; returns 0 when it can be acknowledged. */
static int job(struct grp_tipmedia *m, struct core_redis *r, const char *cid, long n)
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
    if (grp_tip_media_state(r, cid, n, state, sizeof state, &err) != 0)
        return -1;
    if (strcmp(state, "pending") != 0)
        return 0; /* done before (a replay), or not media */
    item = grp_tip_item_open(m->t, r, cid, n, &err);
    if (item == NULL)
        return err.code == CORE_EX_UNAVAILABLE ? -1 : 0;
    id = json_string_value(json_object_get(json_object_get(item, "media"), "id"));
    snprintf(media_id, sizeof media_id, "%s", id != NULL ? id : "");
    json_decref(item);
    for (int a = 0; a < ATTEMPTS && !core_sworker_stopping(m->w); a++) {
        int ok = media_id[0] != '\0' && strspn(media_id, "0123456789abcdefghijklmnopqrstuvwxyz"
                                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ._-") ==
                                            strlen(media_id);

        o = ok ? fetch(m, r, cid, n, media_id, &stored) : PERMANENT;
        if (o != TRANSIENT)
            break;
        if (a + 1 < ATTEMPTS) {
            core_metric_inc(&m_retry);
            core_sworker_wait(m->w, 1000LL << a);
        }
    }
    sodium_memzero(media_id, sizeof media_id);
    if (core_sworker_stopping(m->w) && o == TRANSIENT && !stored)
        return -1; /* stopping: leave it pending for the next start */
    if (o == DONE) {
        core_metric_inc(&m_stored);
        return 0;
    }
    if (grp_tip_media_mark(r, cid, n, o == TOO_LARGE ? "too_large" : "failed", &err) != 0)
        return -1;
    core_metric_inc(o == TOO_LARGE ? &m_large : &m_failed);
    core_log_warn("tipmedia", NULL, "case %s item %ld: media %s", cid, n,
                  o == TOO_LARGE ? "too large, not stored" : "could not be fetched");
    return 0;
}

/* The worker's handler: one entry (c = case id, n = item number). */
static int handle(struct core_sworker *w, struct core_redis *r, const redisReply *fields,
                  void *arg)
{
    struct grp_tipmedia *m = arg;
    const redisReply *c = core_sworker_field(fields, "c");
    const redisReply *nr = core_sworker_field(fields, "n");
    char cid[GRP_TIP_CASE_LEN] = "";
    int64_t n = 0;

    (void)w;
    if (c != NULL && c->len == GRP_TIP_CASE_LEN - 1)
        memcpy(cid, c->str, c->len + 1);
    if (nr == NULL || core_parse_i64(nr->str, &n) != 0)
        n = 0;
    return job(m, r, cid, (long)n);
}

struct grp_tipmedia *grp_tipmedia_start(const struct core_cfg *cfg, struct grp_tip *t,
                                        struct core_err *err)
{
    struct grp_tipmedia *m = core_calloc(1, sizeof *m);
    struct core_redis_opts ro = {cfg->redis, cfg->redis_user, cfg->redis_password,
                                 cfg->redis_timeout_ms};
    struct core_sworker_opts so = {"tipmedia", GRP_TIPMEDIA_STREAM, GRP_TIPMEDIA_GROUP, "tm",
                                   handle, m};

    grp_tipmedia_metrics_init();
    m->cfg = cfg;
    m->t = t;
    if (grp_media_http_init(&m->http, cfg) != 0) {
        core_err_set(err, CORE_EX_SOFTWARE, "tipmedia: cannot start the fetcher");
        free(m);
        return NULL;
    }
    m->w = core_sworker_start(&ro, &so, err);
    if (m->w == NULL) {
        grp_media_http_cleanup(&m->http);
        free(m);
        return NULL;
    }
    return m;
}

void grp_tipmedia_stop(struct grp_tipmedia *m)
{
    if (m == NULL)
        return;
    core_sworker_stop(m->w);
    grp_media_http_cleanup(&m->http);
    free(m);
}
