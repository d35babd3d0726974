/*
 * groups/postmedia.c - the media worker of group posts (see postmedia.h).
 */
#include "groups/postmedia.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/sworker.h"
#include "core/util.h"
#include "groups/media.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATTEMPTS 4

struct grp_postmedia {
    const struct core_cfg *cfg;
    const struct grp_posts *posts;
    struct core_sworker *w; /* owned: the stream consumer */
};

/* A MIME type for an upload when Meta gave none. */
static const char *default_mime(const char *type)
{
    if (strcmp(type, "image") == 0)
        return "image/jpeg";
    if (strcmp(type, "video") == 0)
        return "video/mp4";
    if (strcmp(type, "audio") == 0)
        return "audio/ogg";
    if (strcmp(type, "sticker") == 0)
        return "image/webp";
    return "application/pdf";
}

/* Download and re-upload; the new id into `up`. */
static enum grp_media_result copy_media(struct grp_media_http *h, const struct grp_post_rec *rec,
                                        const char *media_id, char up[GRP_MEDIA_ID_MAX])
{
    struct core_buf data;
    char mime[GRP_MEDIA_MIME_MAX];
    char what[64];
    size_t max = grp_media_limit(rec->type);
    enum grp_media_result res;

    snprintf(what, sizeof what, "post %s", rec->id);
    core_buf_init(&data, max);
    res = grp_media_download(h, what, media_id, max, &data, mime, sizeof mime);
    if (res == GRP_MEDIA_OK)
        res = grp_media_upload(h, what, rec->number, mime[0] != '\0' ? mime
                                                                     : default_mime(rec->type),
                               (const unsigned char *)data.data, data.len, up);
    if (data.data != NULL)
        sodium_memzero(data.data, data.cap);
    core_buf_cleanup(&data);
    return res;
}

int grp_postmedia_job(const struct core_cfg *cfg, const struct grp_posts *posts,
                      struct core_redis *r, const char *pid, struct core_err *err)
{
    struct grp_post_rec rec;
    struct grp_media_http h;
    char key[64];
    char up[GRP_MEDIA_ID_MAX] = "";
    char media_id[GRP_MEDIA_ID_MAX] = "";
    enum grp_media_result res = GRP_MEDIA_TRANSIENT;
    int found;
    int rc = -1;

    found = grp_post_load(posts, r, pid, true, &rec, err);
    if (found <= 0)
        return found < 0 && err->code == CORE_EX_UNAVAILABLE ? -1 : 0;
    if (strcmp(rec.state, "relayed") != 0 && strcmp(rec.state, "approved") != 0) {
        rc = 0; /* rejected, or not to be relayed */
        goto out;
    }
    if (rec.media_up[0] == '\0' && strcmp(rec.media_state, "failed") != 0) {
        const char *id = json_string_value(json_object_get(rec.content, "media"));

        snprintf(media_id, sizeof media_id, "%s", id != NULL ? id : "");
        if (grp_media_http_init(&h, cfg) != 0) {
            core_err_set(err, CORE_EX_SOFTWARE, "postmedia: no HTTP handle");
            goto out;
        }
        for (int a = 0; a < ATTEMPTS; a++) {
            res = grp_media_id_ok(media_id) ? copy_media(&h, &rec, media_id, up)
                                            : GRP_MEDIA_PERMANENT;
            if (res != GRP_MEDIA_TRANSIENT)
                break;
            if (a + 1 < ATTEMPTS)
                core_sleep_ms(1000LL << a);
        }
        grp_media_http_cleanup(&h);
        sodium_memzero(media_id, sizeof media_id);
        grp_post_key(pid, key, sizeof key);
        if (res == GRP_MEDIA_OK) {
            if (core_redis_cmdf(r, NULL, err, "HSET %s mu %s ms uploaded", key, up) != 0)
                goto out;
            snprintf(rec.media_up, sizeof rec.media_up, "%s", up);
            snprintf(rec.media_state, sizeof rec.media_state, "uploaded");
        } else {
            if (core_redis_cmdf(r, NULL, err, "HSET %s ms failed", key) != 0)
                goto out;
            snprintf(rec.media_state, sizeof rec.media_state, "failed");
            core_log_warn("postmedia", NULL, "post %s: media %s: relayed as text", pid,
                          res == GRP_MEDIA_TOO_LARGE ? "too large" : "could not be copied");
        }
    }
    rc = grp_post_relay(posts, r, &rec, core_now_ms(), NULL, err);
    if (rc == 0)
        core_log_info("postmedia", NULL, "post %s: relayed with %s", pid,
                      rec.media_up[0] != '\0' ? "its media" : "a text in place of the media");
out:
    grp_post_rec_cleanup(&rec);
    return rc;
}

/* ======================= the worker ======================= */

static int handle(struct core_sworker *w, struct core_redis *r, const redisReply *fields,
                  void *arg)
{
    struct grp_postmedia *m = arg;
    const redisReply *p = core_sworker_field(fields, "p");
    char pid[GRP_POST_ID_LEN] = "";
    struct core_err err;

    (void)w;
    if (p != NULL && p->len == GRP_POST_ID_LEN - 1)
        memcpy(pid, p->str, GRP_POST_ID_LEN);
    if (!grp_post_id_ok(pid))
        return 0; /* malformed: never succeeds */
    core_err_clear(&err);
    if (grp_postmedia_job(m->cfg, m->posts, r, pid, &err) != 0) {
        core_log_warn("postmedia", NULL, "post %s: %s (tried again later)", pid, err.msg);
        return -1; /* stays pending */
    }
    return 0;
}

struct grp_postmedia *grp_postmedia_start(const struct core_cfg *cfg,
                                          const struct grp_posts *posts, struct core_err *err)
{
    struct grp_postmedia *m = core_calloc(1, sizeof *m);
    struct core_redis_opts ro = {cfg->redis, cfg->redis_user, cfg->redis_password,
                                 cfg->redis_timeout_ms};
    struct core_sworker_opts so = {"postmedia", GRP_POSTMEDIA_STREAM, GRP_POSTMEDIA_GROUP,
                                   "pm", handle, m};

    m->cfg = cfg;
    m->posts = posts;
    m->w = core_sworker_start(&ro, &so, err);
    if (m->w == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

void grp_postmedia_stop(struct grp_postmedia *m)
{
    if (m == NULL)
        return;
    core_sworker_stop(m->w);
    free(m);
}
