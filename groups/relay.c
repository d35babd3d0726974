/*
 * groups/relay.c - fan-out of a post to its group and the relay economics
 * (see relay.h).
 */
#include "groups/relay.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"
#include "crypto/identity.h"
#include "gateway/outbox.h"
#include "groups/digest.h"
#include "groups/member.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WINDOW_S 86400    /* WhatsApp's customer-service window */
#define PARAM_MAX 900     /* characters of the text parameter of the template */

CORE_COUNTER(m_queued, "janseva_post_relays_total", "result=\"queued\"",
             "relay messages of group posts, by what happened to them");
CORE_COUNTER(m_dup, "janseva_post_relays_total", "result=\"duplicate\"",
             "relay messages of group posts, by what happened to them");
CORE_COUNTER(m_budget, "janseva_post_relays_total", "result=\"over_budget\"",
             "relay messages of group posts, by what happened to them");
CORE_COUNTER(m_charged, "janseva_post_relay_templates_total", NULL,
             "relay messages queued with a charged template (members outside the window)");

void grp_relay_metrics_init(void)
{
    core_metrics_register(&m_queued);
    core_metrics_register(&m_dup);
    core_metrics_register(&m_budget);
    core_metrics_register(&m_charged);
}

void grp_relay_day_key(const char *code, int64_t now_s, char *out, size_t n)
{
    time_t t = (time_t)now_s;
    struct tm tm;
    char day[16];

    gmtime_r(&t, &tm);
    strftime(day, sizeof day, "%Y%m%d", &tm);
    snprintf(out, n, "js:relay:{%s}:%s", code, day);
}

static long long field_ll(const redisReply *v)
{
    int64_t x = 0;

    if (v != NULL && v->type == REDIS_REPLY_STRING)
        core_parse_i64(v->str, &x);
    return x;
}

int grp_relay_day(struct core_redis *r, const char *code, int64_t now_s, long long *cost,
                  long long *charged, long long *queued, long long *skipped,
                  struct core_err *err)
{
    char key[GRP_CODE_MAX + 40];
    redisReply *rep;

    grp_relay_day_key(code, now_s, key, sizeof key);
    if (core_redis_cmdf(r, &rep, err, "HMGET %s cost charged queued skipped", key) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4) {
        if (cost != NULL)
            *cost = field_ll(rep->element[0]);
        if (charged != NULL)
            *charged = field_ll(rep->element[1]);
        if (queued != NULL)
            *queued = field_ll(rep->element[2]);
        if (skipped != NULL)
            *skipped = field_ll(rep->element[3]);
    }
    freeReplyObject(rep);
    return 0;
}

/* ======================= messages ======================= */

static const char *str_of(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s != NULL ? s : "";
}

static json_t *template_of(const char *name, enum grp_lang lang, const char *group,
                           const char *label, const char *text)
{
    char *flat = grp_text_one_line(text[0] != '\0' ? text : "-", PARAM_MAX);
    json_t *t = json_pack("{s:s,s:{s:s}}", "name", name, "language", "code", grp_lang_code(lang));
    json_t *ps = json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "type", "text", "text", group,
                           "type", "text", "text", label, "type", "text", "text", flat);

    free(flat);
    json_object_set_new(t, "components",
                        json_pack("[{s:s,s:o}]", "type", "body", "parameters", ps));
    return json_pack("{s:s,s:o}", "type", "template", "template", t);
}

bool grp_relay_media_type(const char *type)
{
    static const char *const media[] = {"image", "video", "audio", "document", "sticker"};

    for (size_t i = 0; type != NULL && i < sizeof media / sizeof media[0]; i++) {
        if (strcmp(type, media[i]) == 0)
            return true;
    }
    return false;
}

/* The group's name in `lang` and the author's label (into label). */
static const char *names_of(const struct grp_relay_post *p, enum grp_lang lang, char *label,
                            size_t n)
{
    const char *group = lang == GRP_LANG_EN ? p->name_en : p->name_hi;
    struct grp_member m;

    if (group == NULL || group[0] == '\0')
        group = p->name_en != NULL && p->name_en[0] != '\0' ? p->name_en : p->code;
    memset(&m, 0, sizeof m);
    snprintf(m.label, sizeof m.label, "%s", p->label_code);
    grp_member_label(&m, lang, label, n);
    return group;
}

json_t *grp_relay_label_message(const struct grp_relay_post *p, enum grp_lang lang)
{
    const char *type = str_of(p->content, "type");
    char label[GRP_LABEL_MAX];
    const char *args[2];
    char *body;
    json_t *msg;

    if (p->media_up == NULL || p->media_up[0] == '\0' ||
        (strcmp(type, "audio") != 0 && strcmp(type, "sticker") != 0))
        return NULL;
    args[1] = names_of(p, lang, label, sizeof label);
    args[0] = label;
    body = grp_text_fmt(lang, "post.relay.label", args, 2);
    msg = json_pack("{s:s,s:{s:s,s:b}}", "type", "text", "text", "body", body, "preview_url", 0);
    free(body);
    return msg;
}

json_t *grp_relay_message(const struct grp_relay_opts *o, const struct grp_relay_post *p,
                          enum grp_lang lang, json_t **fallback)
{
    const char *type = str_of(p->content, "type");
    const char *text = str_of(p->content, "text");
    char label[GRP_LABEL_MAX];
    const char *group = names_of(p, lang, label, sizeof label);
    char *clipped = core_strdup(text);
    char *body = NULL;
    char kind_id[40];
    json_t *msg = NULL;
    char *fb_text = NULL;

    grp_text_clip(clipped, GRP_RELAY_TEXT_MAX);
    if (fallback != NULL)
        *fallback = NULL;
    if (strcmp(type, "location") == 0) {
        json_t *lat = json_object_get(p->content, "lat");
        json_t *lon = json_object_get(p->content, "lon");
        const char *args[2] = {label, group};

        if (!json_is_number(lat) || !json_is_number(lon))
            goto out;
        body = grp_text_fmt(lang, "post.relay.location", args, 2);
        grp_text_clip(body, 100);
        msg = json_pack("{s:s,s:{s:f,s:f,s:s}}", "type", "location", "location", "latitude",
                        json_number_value(lat), "longitude", json_number_value(lon), "name",
                        body);
        if (str_of(p->content, "address")[0] != '\0') {
            char *addr = core_strdup(str_of(p->content, "address"));

            grp_text_clip(addr, 200);
            json_object_set_new(json_object_get(msg, "location"), "address", json_string(addr));
            free(addr);
        }
        {
            char *kind = grp_text_fmt(lang, "post.kind.location", NULL, 0);
            size_t n = strlen(kind) + 64;

            fb_text = core_malloc(n);
            snprintf(fb_text, n, "[%s] %.5f, %.5f", kind, json_number_value(lat),
                     json_number_value(lon));
            free(kind);
        }
    } else if (strcmp(type, "text") == 0) {
        const char *args[3] = {label, group, clipped};

        if (clipped[0] == '\0')
            goto out;
        body = grp_text_fmt(lang, "post.relay", args, 3);
        msg = json_pack("{s:s,s:{s:s,s:b}}", "type", "text", "text", "body", body, "preview_url",
                        0);
        fb_text = core_strdup(clipped);
    } else {
        /* media: the re-uploaded copy when there is one, else the label,
         * the kind and the caption as text; the template is text either
         * way */
        char *kind;
        const char *args[4];
        size_t n;

        snprintf(kind_id, sizeof kind_id, "post.kind.%s", type);
        if (grp_text_raw(lang, kind_id) == NULL)
            snprintf(kind_id, sizeof kind_id, "post.kind.document");
        kind = grp_text_fmt(lang, kind_id, NULL, 0);
        args[0] = label;
        args[1] = group;
        args[2] = kind;
        args[3] = clipped;
        if (p->media_up != NULL && p->media_up[0] != '\0' && grp_relay_media_type(type)) {
            json_t *m = json_pack("{s:s}", "id", p->media_up);

            if (strcmp(type, "audio") != 0 && strcmp(type, "sticker") != 0) {
                const char *cargs[3] = {label, group, clipped};

                grp_text_clip(clipped, GRP_RELAY_CAPTION_MAX);
                body = clipped[0] != '\0' ? grp_text_fmt(lang, "post.relay", cargs, 3)
                                           : grp_text_fmt(lang, "post.relay.label", cargs, 2);
                json_object_set_new(m, "caption", json_string(body));
            }
            msg = json_pack("{s:s,s:o}", "type", type, type, m);
        } else {
            body = grp_text_fmt(lang, "post.relay.media", args, 4);
            msg = json_pack("{s:s,s:{s:s,s:b}}", "type", "text", "text", "body", body,
                            "preview_url", 0);
        }
        n = strlen(kind) + strlen(clipped) + 8;
        fb_text = core_malloc(n);
        snprintf(fb_text, n, "[%s] %s", kind, clipped);
        free(kind);
    }
    if (msg != NULL && fallback != NULL && o->template_name != NULL && o->template_name[0] != '\0')
        *fallback = template_of(o->template_name, lang, group, label, fb_text);
out:
    free(fb_text);
    free(body);
    free(clipped);
    return msg;
}

/* ======================= fan-out ======================= */

struct member_state {
    int receives; /* active or muted in this group, not merged */
    int en;
    int64_t li;
};

struct fan {
    struct core_redis *r;
    const struct cry_keys *keys;
    const struct grp_relay_opts *o;
    const struct grp_relay_post *p;
    int64_t now_s;
    struct grp_relay_stats *st;
    struct core_err *err;
    json_t *msg[2];
    json_t *fb[2];
    json_t *lbl[2]; /* audio, sticker: the frame sent before (NULL otherwise) */
    char day_key[GRP_CODE_MAX + 40];
    enum grp_relay_mode mode;
    int mode_read;                   /* mode read (with the first batch's states) */
    char dg_day[GRP_DIGEST_DAY_LEN]; /* digest mode: the digest day of the post */
    long dg_members;                 /* digest mode: members found outside the window */
};

/* The members' states and, in the same pipeline, the day's cost so far
 * (*spent) and, with the first batch, the group's relay mode. */
static int read_states(struct fan *f, const char *const *mids, size_t n, struct member_state *out,
                       long long *spent)
{
    redisReply *day;
    int with_mode = !f->mode_read;

    for (size_t i = 0; i < n; i++) {
        if (grp_member_append_load(f->r, mids[i], f->err) != 0)
            return -1;
    }
    if (core_redis_appendf(f->r, f->err, "HGET %s cost", f->day_key) != 0)
        return -1;
    if (with_mode && core_redis_appendf(f->r, f->err, "HGET js:u:{%s}:cfg relay", f->p->code) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        redisReply *rep;
        struct grp_member m;
        struct core_err perr;

        if (core_redis_get_reply(f->r, &rep, f->err) != 0)
            return -1;
        memset(&out[i], 0, sizeof out[i]);
        /* a malformed record receives nothing */
        if (grp_member_from_reply(rep, mids[i], &m, &perr) == 0) {
            out[i].receives = grp_member_receives(&m, f->p->code) && m.merged_into[0] == '\0';
            out[i].en = m.lang == GRP_LANG_EN;
            out[i].li = m.li;
        }
        freeReplyObject(rep);
    }
    if (core_redis_get_reply(f->r, &day, f->err) != 0) {
        if (with_mode)
            core_redis_get_reply(f->r, NULL, f->err); /* read, so that none is left */
        return -1;
    }
    *spent = field_ll(day);
    freeReplyObject(day);
    if (with_mode) {
        redisReply *m;

        if (core_redis_get_reply(f->r, &m, f->err) != 0)
            return -1;
        f->mode = GRP_RELAY_EACH; /* unset or unknown: each */
        if (m->type == REDIS_REPLY_STRING && grp_relay_mode_parse(m->str, &f->mode) != 0)
            f->mode = GRP_RELAY_EACH;
        freeReplyObject(m);
        if (f->mode == GRP_RELAY_DIGEST)
            grp_digest_day(f->now_s, f->o->digest_hour, f->o->digest_utc_offset_min, f->dg_day);
        f->mode_read = 1;
    }
    return 0;
}

static int batch(void *ud, const char *const *mids, size_t n)
{
    struct fan *f = ud;
    struct member_state *ms = core_calloc(n + 1, sizeof *ms);
    struct gw_outmsg *out = core_calloc(2 * n + 1, sizeof *out);
    char(*keys)[GW_OUT_KEY_MAX + 1] = core_calloc(2 * n + 1, sizeof *keys);
    int *dup = core_calloc(2 * n + 1, sizeof *dup);
    int *charged = core_calloc(2 * n + 1, sizeof *charged);
    int *extra = core_calloc(2 * n + 1, sizeof *extra);
    const char **dg = core_calloc(n + 1, sizeof *dg);
    size_t ndg = 0;
    size_t nm = 0;
    long long spent = 0;
    long new_charged = 0;
    long new_queued = 0;
    long skipped = 0;
    long dup_before = f->st->duplicate;
    int rc = -1;

    if (read_states(f, mids, n, ms, &spent) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        int inside;

        if (strcmp(mids[i], f->p->author_mid) == 0 || !cry_identity_is_mid(mids[i]))
            continue;
        if (!ms[i].receives) {
            f->st->not_receiving++;
            continue;
        }
        inside = ms[i].li > 0 && ms[i].li + WINDOW_S - f->o->window_margin_s > f->now_s;
        if (inside && f->lbl[ms[i].en] != NULL) {
            /* the frame of a voice note or sticker, just before it */
            snprintf(keys[nm], sizeof keys[nm], "post:%s:%s:l", f->p->pid, mids[i]);
            out[nm].key = keys[nm];
            out[nm].number = f->p->number;
            out[nm].lane = GW_LANE_BULK;
            out[nm].mid = mids[i];
            out[nm].group = f->p->code;
            out[nm].message = f->lbl[ms[i].en];
            extra[nm] = 1;
            nm++;
        }
        out[nm].fallback = f->fb[ms[i].en];
        if (!inside && f->mode == GRP_RELAY_DIGEST) {
            dg[ndg++] = mids[i]; /* the day's digest, not a template now */
            continue;
        }
        if (!inside) {
            if (f->fb[ms[i].en] == NULL || spent + f->o->price > f->o->budget) {
                skipped++;
                continue;
            }
            spent += f->o->price;
            charged[nm] = 1;
        }
        snprintf(keys[nm], sizeof keys[nm], "post:%s:%s", f->p->pid, mids[i]);
        out[nm].key = keys[nm];
        out[nm].number = f->p->number;
        out[nm].lane = GW_LANE_BULK;
        out[nm].mid = mids[i];
        out[nm].group = f->p->code; /* dropped at send time if they leave it */
        out[nm].message = f->msg[ms[i].en];
        nm++;
    }
    if (ndg > 0) {
        if (grp_digest_add_members(f->r, f->p->code, f->dg_day, dg, ndg, f->err) != 0)
            goto out;
        f->dg_members += (long)ndg;
        f->st->digested += (long)ndg;
    }
    if (nm > 0 &&
        gw_outbox_enqueue_batch(f->r, f->keys, out, nm, dup, NULL, f->err) != 0)
        goto out;
    for (size_t i = 0; i < nm; i++) {
        if (extra[i])
            continue; /* counted with the media it introduces */
        if (dup[i]) {
            f->st->duplicate++;
            continue;
        }
        new_queued++;
        new_charged += charged[i];
    }
    f->st->queued += new_queued;
    f->st->charged += new_charged;
    f->st->cost += (long long)new_charged * f->o->price;
    f->st->skipped_budget += skipped;
    core_metric_add(&m_queued, new_queued);
    core_metric_add(&m_dup, f->st->duplicate - dup_before);
    core_metric_add(&m_budget, skipped);
    core_metric_add(&m_charged, new_charged);
    if (new_queued > 0 || skipped > 0) {
        /* record what was newly spent: a replay adds nothing */
        if (core_redis_appendf(f->r, f->err, "HINCRBY %s cost %lld", f->day_key,
                               (long long)new_charged * f->o->price) != 0 ||
            core_redis_appendf(f->r, f->err, "HINCRBY %s charged %ld", f->day_key,
                               new_charged) != 0 ||
            core_redis_appendf(f->r, f->err, "HINCRBY %s queued %ld", f->day_key, new_queued) !=
                0 ||
            core_redis_appendf(f->r, f->err, "HINCRBY %s skipped %ld", f->day_key, skipped) !=
                0 ||
            core_redis_appendf(f->r, f->err, "EXPIRE %s %d", f->day_key, GRP_RELAY_DAY_TTL_S) !=
                0)
            goto out;
        for (int k = 0; k < 5; k++) {
            redisReply *rep;

            if (core_redis_get_reply(f->r, &rep, f->err) != 0)
                goto out;
            freeReplyObject(rep);
        }
    }
    if (skipped > 0)
        core_log_kv(CORE_LOG_WARN, "relay", NULL, "daily budget reached: members skipped",
                    json_pack("{s:s,s:s,s:i,s:I}", "post", f->p->pid, "group", f->p->code,
                              "skipped", (int)skipped, "spent", (json_int_t)spent));
    rc = 0;
out:
    free(ms);
    free(out);
    free(keys);
    free(dup);
    free(charged);
    free(extra);
    free(dg);
    return rc;
}

/* Digest mode: note the post in the day's digest (once). Returns 0 or -1. */
static int note_post(struct fan *f)
{
    const json_t *c = f->p->content;
    const char *type = str_of(c, "type");
    struct grp_digest_post dp;
    char loc[64];

    memset(&dp, 0, sizeof dp);
    dp.pid = f->p->pid;
    dp.label = f->p->label_code;
    dp.type = type[0] != '\0' ? type : "text";
    dp.text = str_of(c, "text");
    dp.number = f->p->number;
    if (strcmp(type, "location") == 0) {
        snprintf(loc, sizeof loc, "%.5f, %.5f", json_number_value(json_object_get(c, "lat")),
                 json_number_value(json_object_get(c, "lon")));
        dp.text = loc;
    }
    return grp_digest_add_post(f->r, f->keys, f->p->code, f->dg_day, &dp, NULL, f->err);
}

int grp_relay_fanout(struct core_redis *r, const struct cry_keys *keys,
                     const struct grp_relay_opts *o, const struct grp_relay_post *p,
                     int64_t now_s, struct grp_relay_stats *st, struct core_err *err)
{
    struct grp_relay_stats local;
    struct fan f;
    char cursor[GRP_CURSOR_MAX] = "0";
    int rc;

    memset(&local, 0, sizeof local);
    memset(&f, 0, sizeof f);
    f.r = r;
    f.keys = keys;
    f.o = o;
    f.p = p;
    f.now_s = now_s;
    f.st = st != NULL ? st : &local;
    f.err = err;
    grp_relay_day_key(p->code, now_s, f.day_key, sizeof f.day_key);
    /* the relay mode is read with the first batch's member states */
    for (int l = 0; l < 2; l++) {
        f.msg[l] = grp_relay_message(o, p, l == 1 ? GRP_LANG_EN : GRP_LANG_HI, &f.fb[l]);
        f.lbl[l] = grp_relay_label_message(p, l == 1 ? GRP_LANG_EN : GRP_LANG_HI);
        if (f.msg[l] == NULL) {
            core_log_warn("relay", NULL, "post %s: nothing to relay", p->pid);
            rc = 0;
            goto out;
        }
    }
    rc = grp_member_group_scan(r, p->code, cursor, GRP_RELAY_BATCH, batch, &f, err);
    if (rc == 0 && f.dg_members > 0)
        rc = note_post(&f);
out:
    for (int l = 0; l < 2; l++) {
        json_decref(f.msg[l]);
        json_decref(f.fb[l]);
        json_decref(f.lbl[l]);
    }
    return rc == 0 ? 0 : -1;
}
