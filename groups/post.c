/*
 * groups/post.c - the flow "post": moderation decision, record, relay,
 * review queue, police inbox and urgent escalation (see post.h).
 */
#include "groups/post.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"
#include "crypto/identity.h"
#include "crypto/vault.h"
#include "gateway/outbox.h"
#include "groups/digest.h"
#include "groups/officer.h"
#include "groups/review.h"
#include "moderation/engine.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNC_EVERY_MS 5000 /* apply other processes' moderator feedback this often */
#define RATE_WINDOW_S 3600

/* ======================= metrics ======================= */

CORE_COUNTER(m_relay, "janseva_posts_total", "verdict=\"relay\"", "group posts by verdict");
CORE_COUNTER(m_hold, "janseva_posts_total", "verdict=\"hold\"", "group posts by verdict");
CORE_COUNTER(m_drop, "janseva_posts_total", "verdict=\"drop\"", "group posts by verdict");
CORE_COUNTER(m_refused, "janseva_posts_refused_total", NULL,
             "messages of muted, banned members or of kinds that cannot be relayed");
CORE_COUNTER(m_esc, "janseva_post_escalations_total", NULL,
             "urgent escalation messages queued to beat officers and SHOs");
CORE_COUNTER(m_noofficer, "janseva_post_escalations_unrouted_total", NULL,
             "urgent posts whose locality has no beat officer or SHO registered");
CORE_COUNTER(m_inbox, "janseva_post_inbox_total", NULL, "reports added to a thana's inbox");
CORE_COUNTER(m_held, "janseva_post_review_queued_total", NULL,
             "held posts added to the review queue");

void grp_post_metrics_init(void)
{
    core_metrics_register(&m_relay);
    core_metrics_register(&m_hold);
    core_metrics_register(&m_drop);
    core_metrics_register(&m_refused);
    core_metrics_register(&m_esc);
    core_metrics_register(&m_noofficer);
    core_metrics_register(&m_inbox);
    core_metrics_register(&m_held);
    grp_relay_metrics_init();
    grp_digest_metrics_init();
    grp_review_metrics_init();
}

/* ======================= the engine ======================= */

/* Owned copies of the strings the relay options borrow. */
struct posts_strings {
    struct grp_posts p; /* first: grp_posts_free casts back */
    char *template_name;
    char *alert_template;
};

struct grp_posts *grp_posts_new(const struct core_cfg *cfg, const struct cry_keys *keys,
                                struct cry_audit *audit, struct mod_engine *engine)
{
    struct posts_strings *s = core_calloc(1, sizeof *s);

    s->template_name = core_strdup(cfg->post_template != NULL ? cfg->post_template
                                                               : "janseva_group_post");
    s->alert_template = core_strdup(cfg->broadcast_template != NULL ? cfg->broadcast_template
                                                                     : "janseva_alert");
    s->p.keys = keys;
    s->p.audit = audit;
    s->p.engine = engine;
    s->p.relay.template_name = s->template_name;
    s->p.relay.price = cfg->price_utility;
    s->p.relay.budget = cfg->post_daily_budget;
    s->p.relay.window_margin_s = cfg->dispatch_window_margin_s;
    s->p.relay.digest_hour = cfg->digest_hour;
    s->p.relay.digest_utc_offset_min = cfg->digest_utc_offset_min;
    return &s->p;
}

void grp_posts_free(struct grp_posts *p)
{
    struct posts_strings *s = (struct posts_strings *)p;

    if (p == NULL)
        return;
    free(s->template_name);
    free(s->alert_template);
    free(s);
}

void grp_posts_set_media(struct grp_posts *p, bool on)
{
    p->media = on;
}

static const char *alert_template(const struct grp_posts *p)
{
    return ((const struct posts_strings *)p)->alert_template;
}

/* ======================= ids and records ======================= */

void grp_post_id(const char *event_key, char out[GRP_POST_ID_LEN])
{
    static const char dom[] = "janseva post v1";
    unsigned char h[8];
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)dom, sizeof dom - 1);
    crypto_generichash_update(&st, (const unsigned char *)event_key, strlen(event_key));
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(out, GRP_POST_ID_LEN, h, sizeof h);
}

bool grp_post_id_ok(const char *id)
{
    if (id == NULL || strlen(id) != GRP_POST_ID_LEN - 1)
        return false;
    for (size_t i = 0; i < GRP_POST_ID_LEN - 1; i++) {
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    }
    return true;
}

void grp_post_key(const char *id, char *out, size_t n)
{
    snprintf(out, n, "js:post:{%s}", id);
}

static void copy_str(char *dst, size_t cap, const redisReply *v)
{
    dst[0] = '\0';
    if (v != NULL && v->type == REDIS_REPLY_STRING)
        snprintf(dst, cap, "%.*s", (int)v->len, v->str);
}

void grp_post_rec_cleanup(struct grp_post_rec *rec)
{
    json_decref(rec->decision);
    json_decref(rec->content);
    rec->decision = NULL;
    rec->content = NULL;
}

static int open_content(const struct grp_posts *p, const char *id, const redisReply *v,
                        json_t **out, struct core_err *err)
{
    size_t cap;
    unsigned char *plain;
    size_t pl = 0;
    int rc = -1;

    *out = NULL;
    if (v == NULL || v->type != REDIS_REPLY_STRING)
        return core_err_set(err, CORE_EX_DATAERR, "post %s: no content", id);
    cap = cry_vault_open_size(v->len) + 1;
    plain = core_malloc(cap);
    if (cry_vault_open(p->keys, CRY_VAULT_PII, id, "post", (const unsigned char *)v->str, v->len,
                       plain, cap, &pl, err) == 0) {
        *out = json_loadb((const char *)plain, pl, 0, NULL);
        if (*out == NULL)
            core_err_set(err, CORE_EX_DATAERR, "post %s: content is not JSON", id);
        else
            rc = 0;
    }
    sodium_memzero(plain, cap);
    free(plain);
    return rc;
}

/* The record from the reply `rep` of HGETALL on post `id` (freed here):
 * as grp_post_load(). */
static int post_from_reply(const struct grp_posts *p, redisReply *rep, const char *id, bool open,
                           struct grp_post_rec *out, struct core_err *err)
{
    const redisReply *content = NULL;
    int rc = 1;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) {
        freeReplyObject(rep);
        return 0;
    }
    snprintf(out->id, sizeof out->id, "%s", id);
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        const char *k = rep->element[i]->str;
        const redisReply *v = rep->element[i + 1];
        int64_t x = 0;

        if (k == NULL)
            continue;
        if (strcmp(k, "g") == 0)
            copy_str(out->group, sizeof out->group, v);
        else if (strcmp(k, "th") == 0)
            copy_str(out->thana, sizeof out->thana, v);
        else if (strcmp(k, "m") == 0)
            copy_str(out->mid, sizeof out->mid, v);
        else if (strcmp(k, "lbl") == 0)
            copy_str(out->label, sizeof out->label, v);
        else if (strcmp(k, "n") == 0)
            copy_str(out->number, sizeof out->number, v);
        else if (strcmp(k, "ty") == 0)
            copy_str(out->type, sizeof out->type, v);
        else if (strcmp(k, "v") == 0)
            copy_str(out->verdict, sizeof out->verdict, v);
        else if (strcmp(k, "lb") == 0)
            copy_str(out->mlabel, sizeof out->mlabel, v);
        else if (strcmp(k, "st") == 0)
            copy_str(out->state, sizeof out->state, v);
        else if (strcmp(k, "k") == 0)
            copy_str(out->kind, sizeof out->kind, v);
        else if (strcmp(k, "by") == 0)
            copy_str(out->by, sizeof out->by, v);
        else if (strcmp(k, "why") == 0)
            copy_str(out->why, sizeof out->why, v);
        else if (strcmp(k, "ms") == 0)
            copy_str(out->media_state, sizeof out->media_state, v);
        else if (strcmp(k, "mu") == 0)
            copy_str(out->media_up, sizeof out->media_up, v);
        else if (strcmp(k, "u") == 0)
            out->urgent = v->type == REDIS_REPLY_STRING && strcmp(v->str, "1") == 0;
        else if (strcmp(k, "r") == 0)
            out->report = v->type == REDIS_REPLY_STRING && strcmp(v->str, "1") == 0;
        else if (strcmp(k, "t") == 0 && v->type == REDIS_REPLY_STRING &&
                 core_parse_i64(v->str, &x) == 0)
            out->t_ms = x;
        else if (strcmp(k, "dt") == 0 && v->type == REDIS_REPLY_STRING &&
                 core_parse_i64(v->str, &x) == 0)
            out->dt_ms = x;
        else if (strcmp(k, "d") == 0 && v->type == REDIS_REPLY_STRING)
            out->decision = json_loadb(v->str, v->len, 0, NULL);
        else if (strcmp(k, "c") == 0)
            content = v;
    }
    if (open && open_content(p, id, content, &out->content, err) != 0)
        rc = -1;
    freeReplyObject(rep);
    if (rc < 0)
        grp_post_rec_cleanup(out);
    return rc;
}

int grp_post_load(const struct grp_posts *p, struct core_redis *r, const char *id, bool open,
                  struct grp_post_rec *out, struct core_err *err)
{
    char key[64];
    redisReply *rep;

    memset(out, 0, sizeof *out);
    if (!grp_post_id_ok(id))
        return 0;
    grp_post_key(id, key, sizeof key);
    if (core_redis_cmdf(r, &rep, err, "HGETALL %s", key) != 0)
        return -1;
    return post_from_reply(p, rep, id, open, out, err);
}

/*
 * grp_post_load() of post `id` and, in the same round trip, the sender's
 * posts of the last hour (*rate: the flood counter js:post:rate:{MID}).
 */
static int post_load_and_rate(const struct grp_posts *p, struct core_redis *r, const char *id,
                              const char *mid, struct grp_post_rec *out, long long *rate,
                              struct core_err *err)
{
    char key[64];
    redisReply *rep = NULL;
    redisReply *rt = NULL;

    memset(out, 0, sizeof *out);
    *rate = 0;
    grp_post_key(id, key, sizeof key);
    if (core_redis_appendf(r, err, "HGETALL %s", key) != 0 ||
        core_redis_appendf(r, err, "GET js:post:rate:{%s}", mid) != 0)
        return -1;
    if (core_redis_get_reply(r, &rep, err) != 0) {
        core_redis_get_reply(r, NULL, err); /* the second reply, read and dropped */
        return -1;
    }
    if (core_redis_get_reply(r, &rt, err) != 0) {
        freeReplyObject(rep);
        return -1;
    }
    if (rt->type == REDIS_REPLY_STRING)
        *rate = core_redis_int(rt);
    freeReplyObject(rt);
    return post_from_reply(p, rep, id, true, out, err);
}

json_t *grp_post_rec_json(const struct grp_post_rec *rec)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:b,s:I}", "id", rec->id,
                          "group", rec->group, "thana", rec->thana, "member", rec->mid, "label",
                          rec->label, "type", rec->type, "state", rec->state, "verdict",
                          rec->verdict, "urgent", rec->urgent, "urgent_kind", rec->kind, "report",
                          rec->report, "time_ms", (json_int_t)rec->t_ms);

    json_object_set_new(j, "moderation_label", json_string(rec->mlabel));
    if (rec->by[0] != '\0') {
        json_object_set_new(j, "decided_by", json_string(rec->by));
        json_object_set_new(j, "decided_ms", json_integer(rec->dt_ms));
        if (rec->why[0] != '\0')
            json_object_set_new(j, "reason", json_string(rec->why));
    }
    if (rec->decision != NULL)
        json_object_set(j, "decision", rec->decision);
    if (rec->content != NULL) {
        json_t *c = json_deep_copy(rec->content);

        json_object_del(c, "media"); /* a Graph media id is of no use to a reader */
        json_object_set_new(j, "content", c);
    }
    return j;
}

void grp_post_mod_input(const struct grp_post_rec *rec, struct mod_post *mp)
{
    const char *text = json_string_value(json_object_get(rec->content, "text"));
    const char *type = json_string_value(json_object_get(rec->content, "type"));

    memset(mp, 0, sizeof *mp);
    mp->type = type != NULL ? type : "text";
    if (type == NULL || strcmp(type, "text") == 0) {
        mp->text = text;
        mp->len = text != NULL ? strlen(text) : 0;
    } else {
        mp->caption = text;
        mp->has_media = strcmp(type, "location") != 0;
    }
    mp->group_id = rec->group;
    mp->member_id = rec->mid;
}

/* ======================= hierarchy ======================= */

int grp_post_thana_of(struct core_redis *r, const char *code, char out[GRP_CODE_MAX + 1],
                      struct core_err *err)
{
    char cur[GRP_CODE_MAX + 1];

    out[0] = '\0';
    if (code == NULL || code[0] == '\0' || !grp_code_ok(code, strlen(code)))
        return 0;
    snprintf(cur, sizeof cur, "%s", code);
    for (int depth = 0; depth < 6 && cur[0] != '\0'; depth++) {
        struct grp_unit u;
        int found = grp_unit_get(r, cur, &u, err);
        enum grp_kind kind;

        if (found <= 0)
            return found;
        kind = u.kind;
        snprintf(cur, sizeof cur, "%s", u.parent);
        if (kind == GRP_THANA)
            snprintf(out, GRP_CODE_MAX + 1, "%s", u.code);
        grp_unit_cleanup(&u);
        if (kind <= GRP_THANA)
            return 0;
    }
    return 0;
}

/* The names of locality `code` (heap strings, never NULL). */
static int unit_names(struct core_redis *r, const char *code, char **hi, char **en,
                      struct core_err *err)
{
    struct grp_unit u;
    int found = grp_unit_get(r, code, &u, err);

    if (found < 0)
        return -1;
    if (found == 0) {
        *hi = core_strdup(code);
        *en = core_strdup(code);
        return 0;
    }
    *en = core_strdup(u.name_en != NULL && u.name_en[0] != '\0' ? u.name_en : code);
    *hi = core_strdup(u.name_hi != NULL && u.name_hi[0] != '\0' ? u.name_hi : *en);
    grp_unit_cleanup(&u);
    return 0;
}

/*
 * The thana and the names of locality `code`: from the dialogue's
 * in-memory hierarchy index when it has the unit, else from Redis (the
 * walk of grp_post_thana_of and unit_names). *hi and *en are heap strings
 * the caller frees. Returns 0 or -1 (Redis).
 */
static int place_info(struct grp_dlg *d, const char *code, char thana[GRP_CODE_MAX + 1],
                      char **hi, char **en)
{
    const struct grp_lookup *lk = grp_dlg_lookup(d);
    const struct grp_place *pl = lk != NULL ? grp_lookup_find(lk, code) : NULL;

    if (pl != NULL) {
        const struct grp_place *th = grp_lookup_ancestor(lk, pl, GRP_THANA);

        snprintf(thana, GRP_CODE_MAX + 1, "%s", th != NULL ? th->code : "");
        *en = core_strdup(pl->name_en != NULL && pl->name_en[0] != '\0' ? pl->name_en : code);
        *hi = core_strdup(pl->name_hi != NULL && pl->name_hi[0] != '\0' ? pl->name_hi : *en);
        return 0;
    }
    if (grp_post_thana_of(d->redis, code, thana, d->err) != 0)
        return -1;
    return unit_names(d->redis, code, hi, en, d->err);
}

/* ======================= relay, notices ======================= */

/* Relay `rec` with the group's names already known (borrowed). */
static int relay_named(const struct grp_posts *p, struct core_redis *r,
                       const struct grp_post_rec *rec, const char *hi, const char *en,
                       int64_t now_ms, struct grp_relay_stats *st, struct core_err *err)
{
    struct grp_relay_post rp;

    if (rec->content == NULL)
        return core_err_set(err, CORE_EX_SOFTWARE, "post %s: content not loaded", rec->id);
    memset(&rp, 0, sizeof rp);
    rp.pid = rec->id;
    rp.code = rec->group;
    rp.name_hi = hi;
    rp.name_en = en;
    rp.author_mid = rec->mid;
    rp.label_code = rec->label;
    rp.number = rec->number;
    rp.content = rec->content;
    rp.media_up = rec->media_up[0] != '\0' ? rec->media_up : NULL;
    return grp_relay_fanout(r, p->keys, &p->relay, &rp, now_ms / 1000, st, err);
}

/*
 * With media relay on, a media post without its uploaded copy waits for
 * the media worker: queue it once (1 = deferred, 0 = relay now, -1).
 */
static int media_defer(const struct grp_posts *p, struct core_redis *r,
                       const struct grp_post_rec *rec, struct core_err *err)
{
    char key[64];

    if (!p->media || !grp_relay_media_type(rec->type) || rec->media_up[0] != '\0' ||
        strcmp(rec->media_state, "failed") == 0 ||
        json_string_value(json_object_get(rec->content, "media")) == NULL)
        return 0;
    if (strcmp(rec->media_state, "pending") == 0)
        return 1; /* queued before: a replay */
    grp_post_key(rec->id, key, sizeof key);
    if (core_redis_cmdf(r, NULL, err, "XADD js:post:mq * p %s", rec->id) != 0 ||
        core_redis_cmdf(r, NULL, err, "HSET %s ms pending", key) != 0)
        return -1;
    return 1;
}

int grp_post_relay(const struct grp_posts *p, struct core_redis *r, const struct grp_post_rec *rec,
                   int64_t now_ms, struct grp_relay_stats *st, struct core_err *err)
{
    char *hi = NULL;
    char *en = NULL;
    int rc;

    if (rec->content == NULL)
        return core_err_set(err, CORE_EX_SOFTWARE, "post %s: content not loaded", rec->id);
    rc = media_defer(p, r, rec, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (unit_names(r, rec->group, &hi, &en, err) != 0)
        return -1;
    rc = relay_named(p, r, rec, hi, en, now_ms, st, err);
    free(hi);
    free(en);
    return rc;
}

int grp_post_notify_author(const struct grp_posts *p, struct core_redis *r,
                           const struct grp_post_rec *rec, const char *text_id, const char *what,
                           struct core_err *err)
{
    struct grp_member m;
    char key[GW_OUT_KEY_MAX + 1];
    struct gw_outmsg om;
    char *body;
    json_t *msg;
    int rc;

    if (rec->number[0] == '\0' || !cry_identity_is_mid(rec->mid))
        return 0;
    if (grp_member_load(r, rec->mid, &m, err) != 0)
        return -1;
    if (m.st == GRP_MEMBER_LEFT)
        return 0; /* STOP: nothing more */
    body = grp_text_fmt(m.lang, text_id, NULL, 0);
    msg = json_pack("{s:s,s:{s:s,s:b}}", "type", "text", "text", "body", body, "preview_url", 0);
    free(body);
    snprintf(key, sizeof key, "post:%s:%s", rec->id, what);
    memset(&om, 0, sizeof om);
    om.key = key;
    om.number = rec->number;
    om.lane = GW_LANE_REPLY;
    om.mid = rec->mid;
    om.message = msg;
    rc = gw_outbox_enqueue(r, p->keys, &om, NULL, err);
    json_decref(msg);
    return rc;
}

/* ======================= urgent escalation ======================= */

/* One line of the post for an officer: the text, or "[photo] caption", or
 * the coordinates. Caller frees. */
static char *post_line(const json_t *content, enum grp_lang lang)
{
    const char *type = json_string_value(json_object_get(content, "type"));
    const char *text = json_string_value(json_object_get(content, "text"));
    char kind_id[40];
    char *kind;
    char *out;
    size_t n;

    if (text == NULL)
        text = "";
    if (type == NULL || strcmp(type, "text") == 0)
        return core_strdup(text);
    snprintf(kind_id, sizeof kind_id, "post.kind.%s", type);
    if (grp_text_raw(lang, kind_id) == NULL)
        snprintf(kind_id, sizeof kind_id, "post.kind.document");
    kind = grp_text_fmt(lang, kind_id, NULL, 0);
    n = strlen(kind) + strlen(text) + 64;
    out = core_malloc(n);
    if (strcmp(type, "location") == 0)
        snprintf(out, n, "[%s] %.5f, %.5f %s", kind,
                 json_number_value(json_object_get(content, "lat")),
                 json_number_value(json_object_get(content, "lon")), text);
    else
        snprintf(out, n, "[%s] %s", kind, text);
    free(kind);
    return out;
}

static int escalate_one(const struct grp_posts *p, struct core_redis *r,
                        const struct grp_post_rec *rec, const struct grp_officer *o,
                        const char *name_hi, const char *name_en, int *queued,
                        struct core_err *err)
{
    struct grp_member om;
    struct grp_member author;
    char label[GRP_LABEL_MAX];
    char kind_id[64];
    char key[GW_OUT_KEY_MAX + 1];
    const char *args[4];
    char *kind;
    char *line;
    char *body;
    char *flat;
    char *fbtext;
    size_t fbn;
    json_t *msg;
    json_t *fb;
    struct gw_outmsg m;
    int dup = 0;
    int rc;

    if (grp_member_load(r, o->mid, &om, err) != 0)
        return -1;
    memset(&author, 0, sizeof author);
    snprintf(author.label, sizeof author.label, "%s", rec->label);
    grp_member_label(&author, om.lang, label, sizeof label);
    snprintf(kind_id, sizeof kind_id, "post.urgent.kind.%s", rec->kind);
    if (rec->kind[0] == '\0' || grp_text_raw(om.lang, kind_id) == NULL)
        snprintf(kind_id, sizeof kind_id, "post.urgent.kind.other");
    kind = grp_text_fmt(om.lang, kind_id, NULL, 0);
    line = post_line(rec->content, om.lang);
    grp_text_clip(line, 3000);
    args[0] = om.lang == GRP_LANG_EN ? name_en : name_hi;
    args[1] = kind;
    args[2] = label;
    args[3] = line;
    body = grp_text_fmt(om.lang, "post.urgent", args, 4);
    msg = json_pack("{s:s,s:{s:s,s:b}}", "type", "text", "text", "body", body, "preview_url", 0);
    fbn = strlen(kind) + strlen(label) + strlen(line) + 16;
    fbtext = core_malloc(fbn);
    snprintf(fbtext, fbn, "%s · %s: %s", kind, label, line);
    flat = grp_text_one_line(fbtext, 800);
    fb = json_pack("{s:s,s:{s:s,s:{s:s},s:[{s:s,s:[{s:s,s:s},{s:s,s:s}]}]}}", "type", "template",
                   "template", "name", alert_template(p), "language", "code",
                   grp_lang_code(om.lang), "components", "type", "body", "parameters", "type",
                   "text", "text", args[0], "type", "text", "text", flat);
    snprintf(key, sizeof key, "urg:%.16s:%.32s", rec->id, o->mid);
    memset(&m, 0, sizeof m);
    m.key = key;
    m.number = rec->number;
    m.lane = GW_LANE_ALERT;
    m.mid = o->mid;
    m.message = msg;
    m.fallback = fb;
    rc = gw_outbox_enqueue(r, p->keys, &m, &dup, err);
    if (rc == 0 && !dup)
        (*queued)++;
    json_decref(msg);
    json_decref(fb);
    free(kind);
    free(line);
    free(body);
    free(flat);
    free(fbtext);
    return rc;
}

static int escalate(const struct grp_posts *p, struct core_redis *r, const struct grp_post_rec *rec,
                    struct core_err *err)
{
    static const enum grp_off_role roles[] = {GRP_OFF_BEAT, GRP_OFF_SHO};
    char *hi = NULL;
    char *en = NULL;
    int queued = 0;
    size_t total = 0;
    int rc = -1;

    if (rec->number[0] == '\0')
        return 0;
    if (unit_names(r, rec->group, &hi, &en, err) != 0)
        return -1;
    for (size_t k = 0; k < sizeof roles / sizeof roles[0]; k++) {
        struct grp_officer offs[GRP_POST_OFFICERS_MAX];
        size_t n = 0;

        if (grp_off_responsible(r, rec->group, roles[k], offs, GRP_POST_OFFICERS_MAX, &n, err) !=
            0)
            goto out;
        for (size_t i = 0; i < n; i++) {
            if (escalate_one(p, r, rec, &offs[i], hi, en, &queued, err) != 0)
                goto out;
        }
        total += n;
    }
    core_metric_add(&m_esc, queued);
    if (total == 0) {
        core_metric_inc(&m_noofficer);
        core_log_kv(CORE_LOG_WARN, "post", NULL, "urgent post: no beat officer or SHO to alert",
                    json_pack("{s:s,s:s}", "post", rec->id, "group", rec->group));
    }
    rc = 0;
out:
    free(hi);
    free(en);
    return rc;
}

/* ======================= the decision ======================= */

/* KEYS[1] post. ARGV[1] ttl seconds (0: keep), ARGV[2..] field value pairs. */
static struct core_redis_script store_script = {
    "post_store",
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
    "redis.call('HSET', KEYS[1], unpack(ARGV, 2))\n"
    "if tonumber(ARGV[1]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end\n"
    "return 1\n",
    ""};

static bool supported_type(const char *t)
{
    static const char *const ok[] = {"text",     "image",   "video",   "audio",
                                     "document", "sticker", "location"};

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (strcmp(t, ok[i]) == 0)
            return true;
    }
    return false;
}

/* The content of the event as stored (new reference). */
static json_t *content_of(const struct gw_event *ev)
{
    json_t *c = json_pack("{s:s}", "type", ev->type);

    if (ev->text != NULL && ev->text[0] != '\0')
        json_object_set_new(c, "text", json_string(ev->text));
    if (strcmp(ev->type, "location") == 0 && ev->has_location) {
        json_object_set_new(c, "lat", json_real(ev->latitude));
        json_object_set_new(c, "lon", json_real(ev->longitude));
        if (ev->location_name != NULL)
            json_object_set_new(c, "name", json_string(ev->location_name));
        if (ev->location_address != NULL)
            json_object_set_new(c, "address", json_string(ev->location_address));
    }
    if (ev->media_id != NULL)
        json_object_set_new(c, "media", json_string(ev->media_id));
    return c;
}

static void maybe_sync(struct grp_posts *p, struct core_redis *r, int64_t now_ms)
{
    int64_t last = __atomic_load_n(&p->synced_ms, __ATOMIC_RELAXED);
    struct core_err err;

    if (p->engine == NULL || now_ms - last < SYNC_EVERY_MS)
        return;
    if (!__atomic_compare_exchange_n(&p->synced_ms, &last, now_ms, false, __ATOMIC_RELAXED,
                                     __ATOMIC_RELAXED))
        return; /* another thread syncs */
    core_err_clear(&err);
    if (mod_engine_sync(p->engine, r, &err) < 0)
        core_log_warn("post", NULL, "moderation feedback not applied: %s", err.msg);
}

struct fields {
    const char *argv[40];
    size_t lens[40];
    char nums[8][24];
    int n;
    int nn;
};

static void f_add(struct fields *f, const char *k, const char *v, size_t len)
{
    f->argv[f->n] = k;
    f->lens[f->n++] = strlen(k);
    f->argv[f->n] = v;
    f->lens[f->n++] = len;
}

static void f_str(struct fields *f, const char *k, const char *v)
{
    f_add(f, k, v, strlen(v));
}

static void f_num(struct fields *f, const char *k, long long v)
{
    snprintf(f->nums[f->nn], sizeof f->nums[f->nn], "%lld", v);
    f_str(f, k, f->nums[f->nn++]);
}

/*
 * Classify the event and store the post (`thana` of its group). *stored = 1
 * when this call wrote the record, and then `rec` is filled with what was
 * stored, content and decision included (0: it existed, a replay: load it).
 * Returns 0 or -1.
 */
static int decide_and_store(struct grp_dlg *d, struct grp_posts *p, const char *pid,
                            const char *thana, int64_t now_ms, long long rate, int *stored,
                            struct grp_post_rec *rec)
{
    struct mod_post mp;
    struct mod_result res;
    json_t *content = content_of(d->ev);
    json_t *dec = NULL;
    char *content_text = json_dumps(content, JSON_COMPACT);
    char *dec_text = NULL;
    unsigned char *sealed = NULL;
    size_t sealed_len = 0;
    size_t cap;
    char key[64];
    char ttl[24];
    struct fields f;
    redisReply *rep = NULL;
    const char *verdict;
    int rc = -1;

    *stored = 0;
    memset(&res, 0, sizeof res);
    memset(&mp, 0, sizeof mp);
    mp.type = d->ev->type;
    if (strcmp(d->ev->type, "text") == 0) {
        mp.text = d->text;
        mp.len = strlen(d->text);
    } else {
        mp.caption = d->text[0] != '\0' ? d->text : NULL;
        mp.has_media = d->ev->media_id != NULL;
    }
    mp.forwarded = d->ev->forwarded;
    mp.frequently_forwarded = d->ev->frequently_forwarded;
    mp.group_id = d->member.group;
    mp.member_id = d->member.mid;
    mp.sender.known = true;
    mp.sender.posts = (long)d->member.np;
    mp.sender.posts_last_hour = (long)rate;
    mp.sender.strikes = (int)d->member.sk;
    mp.sender.joined_ms = d->member.jt * 1000;
    mp.now_ms = now_ms;
    if (p->engine != NULL) {
        maybe_sync(p, d->redis, now_ms);
        if (mod_classify(p->engine, d->redis, &mp, &res, d->err) != 0)
            goto out;
        dec = mod_result_json(&res);
        verdict = mod_verdict_name(res.verdict);
    } else {
        /* no engine: a moderator decides everything */
        res.verdict = MOD_HOLD;
        res.label = MOD_LEGIT;
        dec = json_pack("{s:s,s:s}", "verdict", "hold", "rule", "no_engine");
        verdict = "hold";
    }
    dec_text = json_dumps(dec, JSON_COMPACT);
    cap = cry_vault_sealed_size(strlen(content_text));
    sealed = core_malloc(cap);
    if (cry_vault_seal(p->keys, CRY_VAULT_PII, pid, "post", content_text, strlen(content_text),
                       sealed, cap, &sealed_len, d->err) != 0)
        goto out;
    memset(&f, 0, sizeof f);
    grp_post_key(pid, key, sizeof key);
    snprintf(ttl, sizeof ttl, "%d",
             res.verdict == MOD_HOLD || res.is_report || res.urgent ? 0 : GRP_POST_KEEP_S);
    f.argv[f.n] = key;
    f.lens[f.n++] = strlen(key);
    f.argv[f.n] = ttl;
    f.lens[f.n++] = strlen(ttl);
    f_str(&f, "g", d->member.group);
    f_str(&f, "th", thana);
    f_str(&f, "m", d->member.mid);
    f_str(&f, "lbl", d->member.label);
    f_str(&f, "n", d->ev->phone_number_id != NULL ? d->ev->phone_number_id : "");
    f_str(&f, "ty", d->ev->type);
    f_num(&f, "t", now_ms);
    f_str(&f, "v", verdict);
    f_str(&f, "lb", mod_label_name(res.label));
    f_str(&f, "u", res.urgent ? "1" : "0");
    f_str(&f, "k", res.urgent_kind);
    f_str(&f, "r", res.is_report ? "1" : "0");
    f_str(&f, "d", dec_text != NULL ? dec_text : "{}");
    f_str(&f, "st", res.verdict == MOD_RELAY  ? "relayed"
                    : res.verdict == MOD_HOLD ? "held"
                                              : "dropped");
    f_add(&f, "c", (const char *)sealed, sealed_len);
    if (core_redis_eval(d->redis, &store_script, 1, f.n, f.argv, f.lens, &rep, d->err) != 0)
        goto out;
    *stored = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    if (*stored) {
        /* counters of the sender: once per post (a crash here loses one
         * count, never doubles it) */
        int counted;

        if (grp_member_append_count_post(d->redis, d->member.mid, d->err) != 0)
            goto out;
        if (core_redis_appendf(d->redis, d->err, "INCR js:post:rate:{%s}", d->member.mid) != 0 ||
            core_redis_appendf(d->redis, d->err, "EXPIRE js:post:rate:{%s} %d NX",
                               d->member.mid, RATE_WINDOW_S) != 0)
            goto out;
        counted = grp_member_count_reply(d->redis, d->err) == 0;
        for (int k = 0; k < 2; k++) {
            if (core_redis_get_reply(d->redis, NULL, d->err) != 0)
                goto out;
        }
        /* Redis lost the script (a restart): once more, loading it */
        if (!counted && (!core_redis_err_is(d->err, "NOSCRIPT") ||
                         grp_member_count_post(d->redis, d->member.mid, d->err) != 0))
            goto out;
        core_err_clear(d->err);
        if (res.verdict == MOD_DROP &&
            (res.label == MOD_HOSTILE || res.label == MOD_COMMERCIAL ||
             res.label == MOD_POLITICAL) &&
            grp_member_add_strike(d->redis, d->member.mid, d->err) != 0)
            goto out;
        core_metric_inc(res.verdict == MOD_RELAY  ? &m_relay
                        : res.verdict == MOD_HOLD ? &m_hold
                                                  : &m_drop);
        /* the record as grp_post_load would read it back */
        memset(rec, 0, sizeof *rec);
        snprintf(rec->id, sizeof rec->id, "%s", pid);
        snprintf(rec->group, sizeof rec->group, "%s", d->member.group);
        snprintf(rec->thana, sizeof rec->thana, "%s", thana);
        snprintf(rec->mid, sizeof rec->mid, "%s", d->member.mid);
        snprintf(rec->label, sizeof rec->label, "%s", d->member.label);
        snprintf(rec->number, sizeof rec->number, "%s",
                 d->ev->phone_number_id != NULL ? d->ev->phone_number_id : "");
        snprintf(rec->type, sizeof rec->type, "%s", d->ev->type);
        snprintf(rec->verdict, sizeof rec->verdict, "%s", verdict);
        snprintf(rec->mlabel, sizeof rec->mlabel, "%s", mod_label_name(res.label));
        snprintf(rec->state, sizeof rec->state, "%s",
                 res.verdict == MOD_RELAY  ? "relayed"
                 : res.verdict == MOD_HOLD ? "held"
                                           : "dropped");
        snprintf(rec->kind, sizeof rec->kind, "%s", res.urgent_kind);
        rec->urgent = res.urgent;
        rec->report = res.is_report;
        rec->t_ms = now_ms;
        rec->decision = dec;
        dec = NULL;
        rec->content = json_incref(content);
    }
    rc = 0;
out:
    json_decref(dec);
    if (rep != NULL)
        freeReplyObject(rep);
    if (sealed != NULL)
        free(sealed);
    if (content_text != NULL) {
        sodium_memzero(content_text, strlen(content_text));
        free(content_text);
    }
    free(dec_text);
    json_decref(content);
    mod_result_cleanup(&res);
    return rc;
}

/* ======================= the flow ======================= */

/* Without a posts engine: the honest acknowledgement of part A. */
static int post_ack_only(struct grp_dlg *d)
{
    int dup = d->n_dup;

    if (grp_dlg_reply_text(d, grp_dlg_text(d, "post.received", NULL, 0)) != 0)
        return -1;
    if (d->n_dup != dup)
        return 1;
    return grp_member_count_post(d->redis, d->member.mid, d->err) != 0 ? -1 : 1;
}

static int banned_once(struct grp_dlg *d)
{
    redisReply *rep;
    int seen;

    if (core_redis_cmdf(d->redis, &rep, d->err, "EXISTS js:post:bn:{%s}", d->member.mid) != 0)
        return -1;
    seen = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    freeReplyObject(rep);
    if (seen)
        return 1; /* answered once already: silence on purpose */
    if (grp_dlg_reply_text(d, grp_dlg_text(d, "post.banned", NULL, 0)) != 0)
        return -1;
    return core_redis_cmdf(d->redis, NULL, d->err, "SET js:post:bn:{%s} 1", d->member.mid) != 0
               ? -1
               : 1;
}

static int post_message(struct grp_dlg *d)
{
    struct grp_posts *p = grp_dlg_posts(d);
    char pid[GRP_POST_ID_LEN];
    struct grp_post_rec rec;
    int64_t now_ms = core_now_ms();
    char thana[GRP_CODE_MAX + 1];
    char *name_hi = NULL;
    char *name_en = NULL;
    long long rate = 0;
    int stored = 0;
    int found;
    int added = 0;
    int rc = -1;

    if (d->route != GRP_ROUTE_MEMBERSHIP)
        return 0;
    if (d->reply_id[0] != '\0')
        return 0; /* a tap on an old button no flow claimed: not a post */
    if (p == NULL)
        return post_ack_only(d);
    if (d->member.st == GRP_MEMBER_MUTED) {
        core_metric_inc(&m_refused);
        return grp_dlg_reply_text(d, grp_dlg_text(d, "post.muted", NULL, 0)) != 0 ? -1 : 1;
    }
    if (d->member.st == GRP_MEMBER_BANNED) {
        core_metric_inc(&m_refused);
        return banned_once(d);
    }
    if (d->member.st != GRP_MEMBER_ACTIVE || d->member.group[0] == '\0')
        return 0;
    if (!supported_type(d->ev->type) ||
        (strcmp(d->ev->type, "text") == 0 && d->text[0] == '\0') ||
        (strcmp(d->ev->type, "location") == 0 && !d->ev->has_location)) {
        core_metric_inc(&m_refused);
        return grp_dlg_reply_text(d, grp_dlg_text(d, "post.unsupported", NULL, 0)) != 0 ? -1 : 1;
    }
    grp_post_id(d->ctx->event_key, pid);
    if (place_info(d, d->member.group, thana, &name_hi, &name_en) != 0)
        return -1;
    found = post_load_and_rate(p, d->redis, pid, d->member.mid, &rec, &rate, d->err);
    if (found < 0)
        goto out_names;
    if (found == 0) {
        if (decide_and_store(d, p, pid, thana, now_ms, rate, &stored, &rec) != 0)
            goto out_names;
        found = stored ? 1 : grp_post_load(p, d->redis, pid, true, &rec, d->err);
        if (found <= 0) {
            if (found == 0)
                core_err_set(d->err, CORE_EX_TEMPFAIL, "post %s vanished", pid);
            goto out_names;
        }
    }
    /* effects, each idempotent: escalation first, then the inbox, then
     * what the verdict says */
    if (rec.urgent && escalate(p, d->redis, &rec, d->err) != 0)
        goto out;
    if (rec.report && rec.thana[0] != '\0') {
        if (grp_review_inbox_add(d->redis, rec.thana, pid, rec.t_ms, &added, d->err) != 0)
            goto out;
        if (added)
            core_metric_inc(&m_inbox);
    }
    if (strcmp(rec.verdict, "relay") == 0) {
        int deferred = media_defer(p, d->redis, &rec, d->err);

        if (deferred < 0 ||
            (deferred == 0 &&
             relay_named(p, d->redis, &rec, name_hi, name_en, now_ms, NULL, d->err) != 0))
            goto out;
        {
            const struct grp_lookup *lk = grp_dlg_lookup(d);
            const struct grp_place *pl = lk != NULL ? grp_lookup_find(lk, rec.group) : NULL;
            const char *name = pl != NULL ? grp_place_name(pl, d->member.lang) : rec.group;

            if (grp_dlg_reply_text(d, GRP_DLG_TEXT(d, "post.relayed", name)) != 0)
                goto out;
        }
    } else if (strcmp(rec.verdict, "hold") == 0) {
        if (grp_review_hold(d->redis, pid, rec.t_ms, &added, d->err) != 0)
            goto out;
        if (added)
            core_metric_inc(&m_held);
        if (grp_dlg_reply_text(d, grp_dlg_text(d, "post.held", NULL, 0)) != 0)
            goto out;
    } else {
        char id[48];

        snprintf(id, sizeof id, "post.drop.%s", rec.mlabel);
        if (grp_text_raw(d->member.lang, id) == NULL)
            snprintf(id, sizeof id, "post.drop.other");
        if (grp_dlg_reply_text(d, grp_dlg_text(d, id, NULL, 0)) != 0)
            goto out;
    }
    core_log_kv(CORE_LOG_INFO, "post", d->ctx->req_id, "post handled",
                json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:b}", "post", pid, "group", rec.group,
                          "verdict", rec.verdict, "label", rec.mlabel, "urgent", rec.urgent,
                          "report", rec.report, "replay", !stored));
    rc = 1;
out:
    grp_post_rec_cleanup(&rec);
out_names:
    free(name_hi);
    free(name_en);
    return rc;
}

const struct grp_flow grp_post_flow = {
    .name = "post",
    .state_prefix = "post:",
    .reply_prefix = "post:",
    .on_keyword = NULL,
    .on_message = post_message,
};
