/*
 * groups/review.c - review queue, police inbox, decisions, CLI and HTTP API
 * (see review.h).
 */
#include "groups/review.h"
#include "core/cli.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"
#include "crypto/audit.h"
#include "crypto/cli.h"
#include "crypto/identity.h"
#include "groups/api.h"
#include "moderation/engine.h"

#include <getopt.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

CORE_COUNTER(m_approve, "janseva_post_reviews_total", "decision=\"approve\"",
             "moderator decisions on held posts");
CORE_COUNTER(m_reject, "janseva_post_reviews_total", "decision=\"reject\"",
             "moderator decisions on held posts");

void grp_review_metrics_init(void)
{
    core_metrics_register(&m_approve);
    core_metrics_register(&m_reject);
}

/* ======================= storage ======================= */

static int zadd_nx(struct core_redis *r, const char *key, const char *pid, int64_t t_ms,
                   int *added, struct core_err *err)
{
    redisReply *rep;
    char score[24];

    snprintf(score, sizeof score, "%lld", (long long)t_ms);
    if (core_redis_cmdf(r, &rep, err, "ZADD %s NX %s %s", key, score, pid) != 0)
        return -1;
    if (added != NULL)
        *added = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    freeReplyObject(rep);
    return 0;
}

int grp_review_hold(struct core_redis *r, const char *pid, int64_t t_ms, int *added,
                    struct core_err *err)
{
    return zadd_nx(r, GRP_REVIEW_KEY, pid, t_ms, added, err);
}

void grp_review_inbox_key(const char *thana, char *out, size_t n)
{
    snprintf(out, n, "js:inbox:{%s}", thana);
}

int grp_review_inbox_add(struct core_redis *r, const char *thana, const char *pid, int64_t t_ms,
                         int *added, struct core_err *err)
{
    char key[GRP_CODE_MAX + 16];

    grp_review_inbox_key(thana, key, sizeof key);
    return zadd_nx(r, key, pid, t_ms, added, err);
}

/* The posts named in a ZRANGE/ZREVRANGE reply, loaded with content. */
static json_t *load_all(const struct grp_posts *p, struct core_redis *r, redisReply *rep,
                        struct core_err *err)
{
    json_t *out = json_array();

    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        struct grp_post_rec rec;
        int found;

        if (rep->element[i]->type != REDIS_REPLY_STRING)
            continue;
        found = grp_post_load(p, r, rep->element[i]->str, true, &rec, err);
        if (found < 0 && err->code != CORE_EX_DATAERR) {
            json_decref(out);
            return NULL;
        }
        if (found < 0) {
            core_log_warn("review", NULL, "post %s: %s", rep->element[i]->str, err->msg);
            core_err_clear(err);
            continue;
        }
        if (found == 0)
            continue; /* expired meanwhile */
        json_array_append_new(out, grp_post_rec_json(&rec));
        grp_post_rec_cleanup(&rec);
    }
    return out;
}

json_t *grp_review_list(const struct grp_posts *p, struct core_redis *r, size_t limit,
                        struct core_err *err)
{
    redisReply *rep;
    json_t *out;
    char stop[24];

    snprintf(stop, sizeof stop, "%zu", limit > 0 ? limit - 1 : 0);
    if (core_redis_cmdf(r, &rep, err, "ZRANGE %s 0 %s", GRP_REVIEW_KEY, stop) != 0)
        return NULL;
    out = load_all(p, r, rep, err);
    freeReplyObject(rep);
    return out;
}

json_t *grp_review_inbox_list(const struct grp_posts *p, struct core_redis *r, const char *thana,
                              size_t limit, struct core_err *err)
{
    char key[GRP_CODE_MAX + 16];
    redisReply *rep;
    json_t *out;
    char stop[24];

    grp_review_inbox_key(thana, key, sizeof key);
    snprintf(stop, sizeof stop, "%zu", limit > 0 ? limit - 1 : 0);
    if (core_redis_cmdf(r, &rep, err, "ZREVRANGE %s 0 %s", key, stop) != 0)
        return NULL;
    out = load_all(p, r, rep, err);
    freeReplyObject(rep);
    return out;
}

/* ======================= decisions ======================= */

bool grp_review_may_moderate(const struct grp_review_actor *who)
{
    return !who->officer || who->off.role == GRP_OFF_HQ;
}

/* KEYS[1] post. ARGV target state, actor, ms, label, reason.
 * 1 = decided now, 0 = was already so, -1 = decided otherwise / not held. */
static struct core_redis_script decide_script = {
    "post_decide",
    "local st = redis.call('HGET', KEYS[1], 'st')\n"
    "if st == ARGV[1] then return 0 end\n"
    "if st ~= 'held' then return -1 end\n"
    "redis.call('HSET', KEYS[1], 'st', ARGV[1], 'by', ARGV[2], 'dt', ARGV[3], 'lb', ARGV[4],\n"
    "           'why', ARGV[5])\n"
    "return 1\n",
    ""};

static int text_chars(const char *s)
{
    int n = 0;

    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

enum grp_review_rc grp_review_decide(const struct grp_posts *p, struct core_redis *r,
                                     const struct grp_review_actor *who, const char *pid,
                                     bool approve, const char *label, const char *reason,
                                     json_t **out, struct core_err *err)
{
    struct grp_post_rec rec;
    enum mod_label lb = MOD_LEGIT;
    const char *target = approve ? "approved" : "rejected";
    char key[64];
    char ms[24];
    const char *argv[6];
    size_t lens[6];
    redisReply *rep = NULL;
    long long claimed;
    enum grp_review_rc rc = GRP_REVIEW_EFAIL;
    int found;

    if (out != NULL)
        *out = NULL;
    if (!grp_review_may_moderate(who)) {
        core_err_set(err, CORE_EX_NOPERM, "only moderators (HQ) decide held posts");
        return GRP_REVIEW_EFORBIDDEN;
    }
    if (label != NULL && mod_label_parse(label, strlen(label), &lb) != 0) {
        core_err_set(err, CORE_EX_DATAERR,
                     "label must be legit, greeting, political, commercial, rumour or hostile");
        return GRP_REVIEW_EINVALID;
    }
    if (!approve && label == NULL) {
        core_err_set(err, CORE_EX_USAGE, "a rejection needs the label of the post");
        return GRP_REVIEW_EINVALID;
    }
    if (reason != NULL && text_chars(reason) > GRP_REVIEW_REASON_MAX) {
        core_err_set(err, CORE_EX_DATAERR, "the reason is longer than %d characters",
                     GRP_REVIEW_REASON_MAX);
        return GRP_REVIEW_EINVALID;
    }
    found = grp_post_load(p, r, pid, true, &rec, err);
    if (found < 0)
        return GRP_REVIEW_EFAIL;
    if (found == 0) {
        core_err_set(err, CORE_EX_NOINPUT, "no such post");
        return GRP_REVIEW_ENOTFOUND;
    }
    grp_post_key(pid, key, sizeof key);
    snprintf(ms, sizeof ms, "%lld", (long long)core_now_ms());
    argv[0] = key;
    argv[1] = target;
    argv[2] = who->name;
    argv[3] = ms;
    argv[4] = mod_label_name(lb);
    argv[5] = reason != NULL ? reason : "";
    for (int i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    if (core_redis_eval(r, &decide_script, 1, 6, argv, lens, &rep, err) != 0)
        goto out;
    claimed = rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    if (claimed < 0) {
        core_err_set(err, CORE_EX_DATAERR, "post %s is %s, not held", pid, rec.state);
        rc = strcmp(rec.state, "approved") == 0 || strcmp(rec.state, "rejected") == 0
                 ? GRP_REVIEW_ESTATE
                 : GRP_REVIEW_ENOTFOUND;
        goto out;
    }
    /* approving: relay (again after a crash: keys queue nothing twice) */
    if (approve && grp_post_relay(p, r, &rec, core_now_ms(), NULL, err) != 0)
        goto out;
    if (core_redis_cmdf(r, NULL, err, "ZREM %s %s", GRP_REVIEW_KEY, pid) != 0)
        goto out;
    if (grp_post_notify_author(p, r, &rec, approve ? "post.approved" : "post.rejected", target,
                               err) != 0)
        goto out;
    if (claimed == 1) {
        char why[GRP_REVIEW_REASON_MAX * 4 + 64];

        if (p->engine != NULL) {
            struct mod_post mp;

            grp_post_mod_input(&rec, &mp);
            if (mod_feedback(p->engine, r, &mp, lb, MOD_FB_LEARN, err) != 0) {
                core_log_warn("review", NULL, "post %s: feedback not recorded: %s", pid,
                              err->msg);
                core_err_clear(err);
            }
        }
        snprintf(why, sizeof why, "label=%s%s%s", mod_label_name(lb),
                 reason != NULL ? " reason=" : "", reason != NULL ? reason : "");
        if (p->audit != NULL &&
            cry_audit_append(p->audit, r, who->name, approve ? "post.approve" : "post.reject",
                             pid, why, NULL, err) != 0)
            goto out;
        core_metric_inc(approve ? &m_approve : &m_reject);
    }
    if (out != NULL) {
        struct grp_post_rec now;

        if (grp_post_load(p, r, pid, true, &now, err) == 1) {
            *out = grp_post_rec_json(&now);
            grp_post_rec_cleanup(&now);
        }
    }
    rc = GRP_REVIEW_OK;
out:
    if (rep != NULL)
        freeReplyObject(rep);
    grp_post_rec_cleanup(&rec);
    return rc;
}

/* ======================= request body ======================= */

void grp_review_body_free(struct grp_review_body *b)
{
    json_decref(b->root);
    memset(b, 0, sizeof *b);
}

/* ======================= sanctions ======================= */

/* The member an ID names: a post id (its author) or a mid. 1 found, 0 not,
 * -1 error. */
static int member_of(const struct grp_posts *p, struct core_redis *r, const char *id,
                     char mid[CRY_MID_LEN], struct core_err *err)
{
    struct grp_post_rec rec;
    int found;

    if (cry_identity_is_mid(id)) {
        snprintf(mid, CRY_MID_LEN, "%s", id);
        return 1;
    }
    if (!grp_post_id_ok(id))
        return 0;
    found = grp_post_load(p, r, id, false, &rec, err);
    if (found == 1) {
        snprintf(mid, CRY_MID_LEN, "%s", rec.mid);
        grp_post_rec_cleanup(&rec);
    }
    return found;
}

json_t *grp_review_member_json(const struct grp_member *m, enum grp_sx_state sx)
{
    char label[GRP_LABEL_CODE_LEN];

    if (m->label[0] != '\0')
        memcpy(label, m->label, sizeof label);
    else
        grp_member_label_code(m->mid, label);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s}", "member", m->mid, "label", label,
                     "state", grp_member_state_name(m->st), "group", m->group, "lang",
                     m->lang == GRP_LANG_EN ? "en" : "hi", "joined", (json_int_t)m->jt, "posts",
                     (json_int_t)m->np, "strikes", (json_int_t)m->sk, "sanction",
                     grp_sx_state_name(sx));
}

enum grp_review_rc grp_review_member(const struct grp_posts *p, struct core_redis *r,
                                     const struct grp_review_actor *who, const char *id,
                                     const char *action, const char *reason, json_t **out,
                                     struct core_err *err)
{
    char mid[CRY_MID_LEN];
    struct grp_member m;
    enum grp_sx_state sx;
    enum grp_sx_action a = GRP_SX_MUTE;
    int found;

    if (out != NULL)
        *out = NULL;
    if (!grp_review_may_moderate(who)) {
        core_err_set(err, CORE_EX_NOPERM, "only moderators (HQ) sanction members");
        return GRP_REVIEW_EFORBIDDEN;
    }
    if (action != NULL && grp_sx_action_parse(action, &a) != 0) {
        core_err_set(err, CORE_EX_USAGE, "the action must be mute, unmute, ban or unban");
        return GRP_REVIEW_EINVALID;
    }
    if (reason != NULL && text_chars(reason) > GRP_REVIEW_REASON_MAX) {
        core_err_set(err, CORE_EX_DATAERR, "the reason is longer than %d characters",
                     GRP_REVIEW_REASON_MAX);
        return GRP_REVIEW_EINVALID;
    }
    found = member_of(p, r, id, mid, err);
    if (found < 0)
        return GRP_REVIEW_EFAIL;
    if (found == 0) {
        core_err_set(err, CORE_EX_NOINPUT, "no such post or member");
        return GRP_REVIEW_ENOTFOUND;
    }
    if (action != NULL) {
        switch (grp_sx_apply(r, p->audit, who->name, mid, a, reason, NULL, err)) {
        case GRP_SX_OK:
            break;
        case GRP_SX_ENOTFOUND:
            return GRP_REVIEW_ENOTFOUND;
        case GRP_SX_ESTATE:
            return GRP_REVIEW_ESTATE;
        case GRP_SX_EFAIL:
        default:
            return GRP_REVIEW_EFAIL;
        }
    }
    if (grp_member_load(r, mid, &m, err) != 0 || grp_sx_get(r, mid, &sx, err) != 0)
        return GRP_REVIEW_EFAIL;
    if (!m.exists) {
        core_err_set(err, CORE_EX_NOINPUT, "no such member");
        return GRP_REVIEW_ENOTFOUND;
    }
    if (out != NULL)
        *out = grp_review_member_json(&m, sx);
    return GRP_REVIEW_OK;
}

int grp_review_parse_body(const char *body, size_t len, struct grp_review_body *out, char *why,
                          size_t n)
{
    json_error_t jerr;
    const char *k;
    json_t *v;
    enum mod_label lb;

    memset(out, 0, sizeof *out);
    if (len == 0)
        return 0;
    if (len > GRP_REVIEW_BODY_MAX) {
        snprintf(why, n, "the body is too long");
        return -1;
    }
    out->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (out->root == NULL) {
        snprintf(why, n, "the body is not JSON (line %d, column %d)", jerr.line, jerr.column);
        return -1;
    }
    if (!json_is_object(out->root)) {
        snprintf(why, n, "the body must be a JSON object");
        return -1;
    }
    json_object_foreach(out->root, k, v)
    {
        if (strcmp(k, "label") != 0 && strcmp(k, "reason") != 0) {
            snprintf(why, n, "unknown field (known: label, reason)");
            return -1;
        }
        if (!json_is_string(v)) {
            snprintf(why, n, "label and reason must be strings");
            return -1;
        }
    }
    out->label = json_string_value(json_object_get(out->root, "label"));
    out->reason = json_string_value(json_object_get(out->root, "reason"));
    if (out->label != NULL && mod_label_parse(out->label, strlen(out->label), &lb) != 0) {
        snprintf(why, n, "label must be legit, greeting, political, commercial, rumour or "
                         "hostile");
        return -1;
    }
    if (out->reason != NULL && text_chars(out->reason) > GRP_REVIEW_REASON_MAX) {
        snprintf(why, n, "reason is longer than %d characters", GRP_REVIEW_REASON_MAX);
        return -1;
    }
    return 0;
}

/* ======================= HTTP ======================= */

struct grp_review_api {
    const struct grp_posts *p;
    struct core_redis_pool *pool;
    char *token;
    char operator_name[96];
};

struct grp_review_api *grp_review_api_new(const struct core_cfg *cfg, const struct grp_posts *p,
                                          struct core_redis_pool *pool)
{
    struct grp_review_api *a;

    if (!core_cfg_is_set(cfg->api_token))
        return NULL;
    a = core_calloc(1, sizeof *a);
    a->p = p;
    a->pool = pool;
    a->token = core_strdup(cfg->api_token);
    snprintf(a->operator_name, sizeof a->operator_name, "api:%s", cfg->api_operator);
    return a;
}

void grp_review_api_free(struct grp_review_api *a)
{
    if (a == NULL)
        return;
    memset(a->token, 0, strlen(a->token));
    free(a->token);
    free(a);
}

static void answer(struct core_http_resp *resp, int status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

    core_http_resp_json(resp, status, text != NULL ? text : "{}");
    free(text);
    json_decref(j);
}

static void answer_error(struct core_http_resp *resp, int status, const char *msg)
{
    answer(resp, status, json_pack("{s:s}", "error", msg));
}

static void answer_fail(struct core_http_resp *resp, const struct core_err *err)
{
    if (err->code == CORE_EX_UNAVAILABLE)
        answer_error(resp, MHD_HTTP_SERVICE_UNAVAILABLE, "storage unavailable, try again");
    else
        answer_error(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
}

/* Authenticate; find the actor. 0, or -1 with the answer made. */
static int authorise(struct grp_review_api *a, struct core_redis *r,
                     const struct core_http_req *req, struct core_http_resp *resp,
                     struct grp_review_actor *who)
{
    const char *code;
    struct core_err err;
    int found;

    memset(who, 0, sizeof *who);
    if (!grp_api_auth_ok(core_http_req_header(req, "Authorization"), a->token)) {
        core_http_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"janseva\"");
        answer_error(resp, MHD_HTTP_UNAUTHORIZED, "a valid API token is required");
        return -1;
    }
    code = core_http_req_header(req, GRP_API_OFFICER_HEADER);
    if (code == NULL) {
        snprintf(who->name, sizeof who->name, "%s", a->operator_name);
        return 0;
    }
    core_err_clear(&err);
    found = grp_off_find_code(r, code, &who->off, &err);
    if (found < 0) {
        answer_fail(resp, &err);
        return -1;
    }
    if (found == 0) {
        answer_error(resp, MHD_HTTP_FORBIDDEN, "unknown officer code");
        return -1;
    }
    who->officer = true;
    snprintf(who->name, sizeof who->name, "officer:%s", who->off.code);
    return 0;
}

static size_t limit_of(const struct core_http_req *req, int *bad)
{
    const char *ls = core_http_req_query(req, "limit");
    int64_t v = 100;

    *bad = 0;
    if (ls != NULL && (core_parse_i64(ls, &v) != 0 || v < 1 || v > GRP_REVIEW_LIST_MAX))
        *bad = 1;
    return (size_t)v;
}

/* GET .../member, POST .../mute|unmute|ban|unban of post `pid`'s author. */
static void on_member(struct grp_review_api *a, struct core_redis *r,
                      const struct core_http_req *req, struct core_http_resp *resp,
                      const struct grp_review_actor *who, const char *pid, const char *what)
{
    int look = strcmp(what, "member") == 0;
    struct grp_review_body b;
    struct core_err err;
    char why[200];
    json_t *j = NULL;
    enum grp_review_rc rc;

    core_err_clear(&err);
    if (strcmp(req->method, look ? "GET" : "POST") != 0) {
        answer_error(resp, MHD_HTTP_METHOD_NOT_ALLOWED, look ? "use GET" : "use POST");
        return;
    }
    if (grp_review_parse_body(look ? "" : req->body, look ? 0 : req->body_len, &b, why,
                              sizeof why) != 0 ||
        b.label != NULL) {
        if (b.label != NULL)
            snprintf(why, sizeof why, "a sanction takes only a reason");
        grp_review_body_free(&b);
        answer_error(resp, MHD_HTTP_BAD_REQUEST, why);
        return;
    }
    rc = grp_review_member(a->p, r, who, pid, look ? NULL : what, b.reason, &j, &err);
    grp_review_body_free(&b);
    switch (rc) {
    case GRP_REVIEW_OK:
        answer(resp, MHD_HTTP_OK, j);
        break;
    case GRP_REVIEW_ENOTFOUND:
        answer_error(resp, MHD_HTTP_NOT_FOUND, "no such post or member");
        break;
    case GRP_REVIEW_EFORBIDDEN:
        answer_error(resp, MHD_HTTP_FORBIDDEN, err.msg);
        break;
    case GRP_REVIEW_EINVALID:
        answer_error(resp, MHD_HTTP_BAD_REQUEST, err.msg);
        break;
    case GRP_REVIEW_ESTATE:
        answer_error(resp, MHD_HTTP_CONFLICT, err.msg);
        break;
    case GRP_REVIEW_EFAIL:
        core_log_warn("review", req->id, "%s", err.msg);
        answer_fail(resp, &err);
        break;
    }
}

static void on_review(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct grp_review_api *a = ud;
    struct core_redis *r = core_redis_pool_get(a->pool);
    struct grp_review_actor who;
    const char *rest = req->path + strlen("/api/review");
    struct core_err err;
    char pid[GRP_POST_ID_LEN];
    const char *action;
    int bad;

    core_err_clear(&err);
    if (authorise(a, r, req, resp, &who) != 0)
        goto out;
    if (!grp_review_may_moderate(&who)) {
        answer_error(resp, MHD_HTTP_FORBIDDEN, "only moderators (HQ) review held posts");
        goto out;
    }
    if (rest[0] == '\0') {
        size_t limit = limit_of(req, &bad);
        json_t *l;

        if (strcmp(req->method, "GET") != 0) {
            answer_error(resp, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
            goto out;
        }
        if (bad) {
            answer_error(resp, MHD_HTTP_BAD_REQUEST, "limit must be 1-500");
            goto out;
        }
        l = grp_review_list(a->p, r, limit, &err);
        if (l == NULL)
            answer_fail(resp, &err);
        else
            answer(resp, MHD_HTTP_OK, json_pack("{s:o}", "posts", l));
        goto out;
    }
    if (rest[0] != '/' || strlen(rest + 1) < GRP_POST_ID_LEN - 1) {
        answer_error(resp, MHD_HTTP_NOT_FOUND, "no such post");
        goto out;
    }
    memcpy(pid, rest + 1, GRP_POST_ID_LEN - 1);
    pid[GRP_POST_ID_LEN - 1] = '\0';
    action = rest + GRP_POST_ID_LEN;
    if (!grp_post_id_ok(pid) || (action[0] != '\0' && action[0] != '/')) {
        answer_error(resp, MHD_HTTP_NOT_FOUND, "no such post");
        goto out;
    }
    if (action[0] == '\0') {
        struct grp_post_rec rec;
        int found;

        if (strcmp(req->method, "GET") != 0) {
            answer_error(resp, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
            goto out;
        }
        found = grp_post_load(a->p, r, pid, true, &rec, &err);
        if (found < 0)
            answer_fail(resp, &err);
        else if (found == 0)
            answer_error(resp, MHD_HTTP_NOT_FOUND, "no such post");
        else
            answer(resp, MHD_HTTP_OK, grp_post_rec_json(&rec));
        if (found > 0)
            grp_post_rec_cleanup(&rec);
        goto out;
    }
    if (strcmp(action, "/approve") == 0 || strcmp(action, "/reject") == 0) {
        struct grp_review_body b;
        char why[200];
        json_t *j = NULL;
        enum grp_review_rc rc;

        if (strcmp(req->method, "POST") != 0) {
            answer_error(resp, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
            goto out;
        }
        if (grp_review_parse_body(req->body, req->body_len, &b, why, sizeof why) != 0) {
            grp_review_body_free(&b);
            answer_error(resp, MHD_HTTP_BAD_REQUEST, why);
            goto out;
        }
        rc = grp_review_decide(a->p, r, &who, pid, action[1] == 'a', b.label, b.reason, &j,
                               &err);
        grp_review_body_free(&b);
        switch (rc) {
        case GRP_REVIEW_OK:
            answer(resp, MHD_HTTP_OK, j != NULL ? j : json_object());
            break;
        case GRP_REVIEW_ENOTFOUND:
            answer_error(resp, MHD_HTTP_NOT_FOUND, "no such held post");
            break;
        case GRP_REVIEW_EFORBIDDEN:
            answer_error(resp, MHD_HTTP_FORBIDDEN, err.msg);
            break;
        case GRP_REVIEW_EINVALID:
            answer_error(resp, MHD_HTTP_BAD_REQUEST, err.msg);
            break;
        case GRP_REVIEW_ESTATE:
            answer_error(resp, MHD_HTTP_CONFLICT, "the post was decided the other way");
            break;
        case GRP_REVIEW_EFAIL:
            core_log_warn("review", req->id, "%s", err.msg);
            answer_fail(resp, &err);
            break;
        }
        goto out;
    }
    if (strcmp(action, "/member") == 0 || strcmp(action, "/mute") == 0 ||
        strcmp(action, "/unmute") == 0 || strcmp(action, "/ban") == 0 ||
        strcmp(action, "/unban") == 0) {
        on_member(a, r, req, resp, &who, pid, action + 1);
        goto out;
    }
    answer_error(resp, MHD_HTTP_NOT_FOUND, "no such resource");
out:
    core_redis_pool_put(a->pool, r);
}

static void on_inbox(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct grp_review_api *a = ud;
    struct core_redis *r = core_redis_pool_get(a->pool);
    struct grp_review_actor who;
    const char *unit = core_http_req_query(req, "unit");
    char thana[GRP_CODE_MAX + 1];
    struct core_err err;
    size_t limit;
    int bad;
    json_t *l;

    core_err_clear(&err);
    if (authorise(a, r, req, resp, &who) != 0)
        goto out;
    if (strcmp(req->method, "GET") != 0) {
        answer_error(resp, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
        goto out;
    }
    limit = limit_of(req, &bad);
    if (bad || unit == NULL || !grp_code_ok(unit, strlen(unit))) {
        answer_error(resp, MHD_HTTP_BAD_REQUEST, "give unit=CODE (and limit 1-500)");
        goto out;
    }
    if (grp_post_thana_of(r, unit, thana, &err) != 0) {
        answer_fail(resp, &err);
        goto out;
    }
    if (thana[0] == '\0') {
        answer_error(resp, MHD_HTTP_NOT_FOUND, "no thana at or above this unit");
        goto out;
    }
    if (who.officer) {
        int ok = 0;

        if (grp_off_may_reach(r, &who.off, thana, &ok, &err) != 0) {
            answer_fail(resp, &err);
            goto out;
        }
        if (!ok) {
            answer_error(resp, MHD_HTTP_FORBIDDEN, "the thana is outside your jurisdiction");
            goto out;
        }
    }
    l = grp_review_inbox_list(a->p, r, thana, limit, &err);
    if (l == NULL)
        answer_fail(resp, &err);
    else
        answer(resp, MHD_HTTP_OK, json_pack("{s:s,s:o}", "thana", thana, "posts", l));
out:
    core_redis_pool_put(a->pool, r);
}

void grp_review_api_register(struct grp_review_api *a, struct core_httpd *h)
{
    core_httpd_route(h, NULL, "/api/review", GRP_REVIEW_BODY_MAX, on_review, a);
    core_httpd_route(h, NULL, "/api/review/*", GRP_REVIEW_BODY_MAX, on_review, a);
    core_httpd_route(h, NULL, "/api/inbox", GRP_REVIEW_BODY_MAX, on_inbox, a);
}

/* ======================= command line ======================= */

static const char review_help[] =
    "Usage: janseva review COMMAND [OPTIONS]\n"
    "\n"
    "Held group posts waiting for a moderator (docs/operations.md).\n"
    "\n"
    "Commands:\n"
    "  list [--limit N]                       held posts, oldest first\n"
    "  show ID                                one post with its moderation decision\n"
    "  approve ID [--label L] [--reason TEXT] relay it to its group (label: what\n"
    "                                         it is, default legit)\n"
    "  reject ID --label L [--reason TEXT]    keep it out; L is legit, greeting,\n"
    "                                         political, commercial, rumour or\n"
    "                                         hostile\n"
    "\n"
    "  member ID                              the author of post ID (or member\n"
    "                                         ID, 32 hex digits): state, group,\n"
    "                                         posts, strikes, sanction\n"
    "  mute ID [--reason TEXT]                the author stays in the group and\n"
    "                                         receives it, but may not post\n"
    "  ban ID [--reason TEXT]                 the author is taken out of the\n"
    "                                         group and may not join any group\n"
    "  unmute ID, unban ID [--reason TEXT]    undo (an unbanned member returns\n"
    "                                         to their group)\n"
    "\n"
    "Both decisions teach the moderation engine the label, tell the author,\n"
    "and are audited. Deciding again the same way changes nothing.\n"
    "Sanctions outlast STOP and MOVE, are audited, and repeating one changes\n"
    "nothing. Members are shown by id and label, never by number or name.\n"
    "\n"
    "Options:\n"
    "  -l, --label L       the post's label\n"
    "  -r, --reason TEXT   why (audited; at most 200 characters)\n"
    "  -n, --limit N       at most N posts (1-500, default 100)\n"
    "  -j, --json          print JSON\n"
    "  -c, --config FILE   settings file; also $JANSEVA_CONFIG\n"
    "  -h, --help          show this help\n"
    "\n"
    "Exit status: 0 ok; 64 usage; 65 bad label or reason; 66 no such held\n"
    "post or member; 69 Redis unavailable; 77 decided the other way already\n"
    "(or muting a banned member); 78 settings or keys.\n";

static const char inbox_help[] =
    "Usage: janseva inbox list --unit CODE [--limit N] [--json]\n"
    "\n"
    "The police inbox of a thana: group posts that are reports to the police,\n"
    "newest first, urgent ones marked. CODE is the thana or a unit below it.\n"
    "\n"
    "Options:\n"
    "  -u, --unit CODE     the thana (or a beat or locality under it)\n"
    "  -n, --limit N       at most N posts (1-500, default 100)\n"
    "  -j, --json          print JSON\n"
    "  -c, --config FILE   settings file; also $JANSEVA_CONFIG\n"
    "  -h, --help          show this help\n"
    "\n"
    "Exit status: 0 ok; 64 usage; 66 no thana; 69 Redis unavailable; 78\n"
    "settings or keys.\n";

struct cli_opts {
    const char *config;
    const char *label;
    const char *reason;
    const char *unit;
    long limit;
    int json;
    const char *pos[3];
    int npos;
};

static int cli_parse(int argc, char **argv, const char *cmd, const char *help,
                     struct cli_opts *o)
{
    static const struct option lopts[] = {
        {"config", required_argument, NULL, 'c'}, {"label", required_argument, NULL, 'l'},
        {"reason", required_argument, NULL, 'r'}, {"unit", required_argument, NULL, 'u'},
        {"limit", required_argument, NULL, 'n'},  {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    int c;

    memset(o, 0, sizeof *o);
    o->limit = 100;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:l:r:u:n:jh", lopts, NULL)) != -1) {
        int64_t v;

        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case 'l':
            o->label = optarg;
            break;
        case 'r':
            o->reason = optarg;
            break;
        case 'u':
            o->unit = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'n':
            if (core_parse_i64(optarg, &v) != 0 || v < 1 || v > GRP_REVIEW_LIST_MAX)
                return core_cli_usage_error(cmd, "--limit takes 1-500");
            o->limit = (long)v;
            break;
        case 'h':
            fputs(help, stdout);
            return -1;
        default:
            return core_cli_usage_error(cmd, "unknown option");
        }
    }
    for (int i = optind; i < argc; i++) {
        if (o->npos == 3)
            return core_cli_usage_error(cmd, "too many arguments");
        o->pos[o->npos++] = argv[i];
    }
    return 0;
}

struct cli_ctx {
    struct core_cfg cfg;
    struct cry_keys *keys;
    struct core_redis *r;
    struct cry_audit *audit;
    struct mod_engine *engine;
    struct grp_posts *posts;
};

static void cli_close(struct cli_ctx *x)
{
    grp_posts_free(x->posts);
    mod_engine_free(x->engine);
    cry_audit_free(x->audit);
    core_redis_free(x->r);
    cry_keys_free(x->keys);
    core_cfg_cleanup(&x->cfg);
}

static int cli_open(struct cli_ctx *x, const struct cli_opts *o, int engine,
                    struct core_err *err)
{
    struct core_redis_opts ro;

    memset(x, 0, sizeof *x);
    if (core_cli_load_config(&x->cfg, o->config, err) != 0)
        return -1;
    x->keys = cry_keys_load_configured(x->cfg.keys_dir, NULL, err);
    if (x->keys == NULL)
        return -1;
    ro.addr = x->cfg.redis;
    ro.user = x->cfg.redis_user;
    ro.password = x->cfg.redis_password;
    ro.timeout_ms = x->cfg.redis_timeout_ms;
    x->r = core_redis_new(&ro);
    if (cry_keys_refresh(x->keys, x->r, err) != 0)
        return -1;
    x->audit = cry_audit_new(x->keys);
    if (engine) {
        struct mod_opts mo;

        mod_opts_default(&mo);
        x->engine = mod_engine_new(&mo, err);
        if (x->engine == NULL)
            return -1;
    }
    x->posts = grp_posts_new(&x->cfg, x->keys, x->audit, x->engine);
    grp_posts_set_media(x->posts, true); /* approved media: serve's media worker relays them */
    return 0;
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    if (s != NULL) {
        puts(s);
        free(s);
    }
}

static void print_post(json_t *j, int full)
{
    time_t t = (time_t)(json_integer_value(json_object_get(j, "time_ms")) / 1000);
    struct tm tm;
    char when[32];
    json_t *c = json_object_get(j, "content");
    const char *text = json_string_value(json_object_get(c, "text"));

    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    printf("%s  %s UTC  group %-12s %-6s %-8s %-10s%s%s\n",
           json_string_value(json_object_get(j, "id")), when,
           json_string_value(json_object_get(j, "group")),
           json_string_value(json_object_get(j, "label")),
           json_string_value(json_object_get(j, "state")),
           json_string_value(json_object_get(j, "moderation_label")),
           json_is_true(json_object_get(j, "urgent")) ? "  URGENT " : "",
           json_is_true(json_object_get(j, "urgent"))
               ? json_string_value(json_object_get(j, "urgent_kind"))
               : "");
    printf("    [%s] %s\n", json_string_value(json_object_get(c, "type")),
           text != NULL ? text : "");
    if (full) {
        char *d = json_dumps(json_object_get(j, "decision"), JSON_COMPACT);

        printf("    member %s, thana %s\n", json_string_value(json_object_get(j, "member")),
               json_string_value(json_object_get(j, "thana")));
        printf("    decision %s\n", d != NULL ? d : "{}");
        free(d);
        if (json_object_get(j, "decided_by") != NULL)
            printf("    decided by %s\n", json_string_value(json_object_get(j, "decided_by")));
    }
}

static int review_rc_exit(enum grp_review_rc rc, const struct core_err *err)
{
    switch (rc) {
    case GRP_REVIEW_OK:
        return 0;
    case GRP_REVIEW_ENOTFOUND:
        return CORE_EX_NOINPUT;
    case GRP_REVIEW_EFORBIDDEN:
    case GRP_REVIEW_ESTATE:
        return CORE_EX_NOPERM;
    case GRP_REVIEW_EINVALID:
        return CORE_EX_DATAERR;
    case GRP_REVIEW_EFAIL:
        break;
    }
    return err->code != 0 ? err->code : CORE_EX_SOFTWARE;
}

static void print_member(const json_t *j)
{
    printf("member %s  label %s  state %s  group %s  lang %s\n",
           json_string_value(json_object_get(j, "member")),
           json_string_value(json_object_get(j, "label")),
           json_string_value(json_object_get(j, "state")),
           json_string_value(json_object_get(j, "group")),
           json_string_value(json_object_get(j, "lang")));
    printf("    posts %lld  strikes %lld  sanction %s\n",
           (long long)json_integer_value(json_object_get(j, "posts")),
           (long long)json_integer_value(json_object_get(j, "strikes")),
           json_string_value(json_object_get(j, "sanction")));
}

/* review member|mute|unmute|ban|unban ID */
static int member_cli(const struct cli_opts *o, const char *cmd)
{
    int look = strcmp(cmd, "member") == 0;
    struct grp_review_actor who;
    enum grp_review_rc drc;
    struct cli_ctx x;
    struct core_err err;
    json_t *j = NULL;
    int rc = 0;

    if (o->npos != 2 || (!grp_post_id_ok(o->pos[1]) && !cry_identity_is_mid(o->pos[1])))
        return core_cli_usage_error("review", "%s takes a post id (16 hex digits) or a member "
                                              "id (32)", cmd);
    if (o->label != NULL)
        return core_cli_usage_error("review", "%s takes no --label", cmd);
    core_err_clear(&err);
    if (cli_open(&x, o, 0, &err) != 0) {
        rc = core_cli_fail(&err);
        goto out;
    }
    memset(&who, 0, sizeof who);
    cry_cli_actor(who.name, sizeof who.name);
    drc = grp_review_member(x.posts, x.r, &who, o->pos[1], look ? NULL : cmd, o->reason, &j,
                            &err);
    if (drc != GRP_REVIEW_OK) {
        fprintf(stderr, "janseva review: %s\n", err.msg);
        rc = review_rc_exit(drc, &err);
        goto out;
    }
    if (o->json)
        print_json(j);
    else
        print_member(j);
    json_decref(j);
out:
    cli_close(&x);
    return rc;
}

int grp_review_cli_main(int argc, char **argv)
{
    struct cli_opts o;
    struct cli_ctx x;
    struct core_err err;
    const char *cmd;
    int rc;

    rc = cli_parse(argc, argv, "review", review_help, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (o.npos == 0)
        return core_cli_usage_error("review", "give a command: list, show, approve or reject");
    cmd = o.pos[0];
    if (strcmp(cmd, "member") == 0 || grp_sx_action_parse(cmd, &(enum grp_sx_action){0}) == 0)
        return member_cli(&o, cmd);
    if (strcmp(cmd, "list") != 0 && strcmp(cmd, "show") != 0 && strcmp(cmd, "approve") != 0 &&
        strcmp(cmd, "reject") != 0)
        return core_cli_usage_error("review", "unknown command '%s'", cmd);
    if (strcmp(cmd, "list") != 0 && (o.npos != 2 || !grp_post_id_ok(o.pos[1])))
        return core_cli_usage_error("review", "%s takes one post id (16 hex digits)", cmd);
    if (strcmp(cmd, "reject") == 0 && o.label == NULL)
        return core_cli_usage_error("review", "reject needs --label");
    core_err_clear(&err);
    if (cli_open(&x, &o, strcmp(cmd, "approve") == 0 || strcmp(cmd, "reject") == 0, &err) !=
        0) {
        rc = core_cli_fail(&err);
        goto out;
    }
    if (strcmp(cmd, "list") == 0) {
        json_t *l = grp_review_list(x.posts, x.r, (size_t)o.limit, &err);
        size_t i;
        json_t *j;

        if (l == NULL) {
            rc = core_cli_fail(&err);
            goto out;
        }
        if (o.json)
            print_json(l);
        else if (json_array_size(l) == 0)
            printf("no held posts\n");
        json_array_foreach(l, i, j)
        {
            if (!o.json)
                print_post(j, 0);
        }
        json_decref(l);
    } else if (strcmp(cmd, "show") == 0) {
        struct grp_post_rec rec;
        int found = grp_post_load(x.posts, x.r, o.pos[1], true, &rec, &err);

        if (found < 0) {
            rc = core_cli_fail(&err);
            goto out;
        }
        if (found == 0) {
            fprintf(stderr, "janseva review: no such post\n");
            rc = CORE_EX_NOINPUT;
            goto out;
        }
        {
            json_t *j = grp_post_rec_json(&rec);

            if (o.json)
                print_json(j);
            else
                print_post(j, 1);
            json_decref(j);
        }
        grp_post_rec_cleanup(&rec);
    } else {
        struct grp_review_actor who;
        enum grp_review_rc drc;
        json_t *j = NULL;

        memset(&who, 0, sizeof who);
        cry_cli_actor(who.name, sizeof who.name);
        drc = grp_review_decide(x.posts, x.r, &who, o.pos[1], strcmp(cmd, "approve") == 0,
                                o.label, o.reason, &j, &err);
        if (drc != GRP_REVIEW_OK) {
            fprintf(stderr, "janseva review: %s\n", err.msg);
            rc = review_rc_exit(drc, &err);
            goto out;
        }
        if (o.json)
            print_json(j);
        else
            printf("%s %s\n", o.pos[1], strcmp(cmd, "approve") == 0 ? "approved" : "rejected");
        json_decref(j);
    }
    rc = 0;
out:
    cli_close(&x);
    return rc;
}

int grp_review_inbox_cli_main(int argc, char **argv)
{
    struct cli_opts o;
    struct cli_ctx x;
    struct core_err err;
    char thana[GRP_CODE_MAX + 1];
    json_t *l;
    size_t i;
    json_t *j;
    int rc;

    rc = cli_parse(argc, argv, "inbox", inbox_help, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (o.npos != 1 || strcmp(o.pos[0], "list") != 0)
        return core_cli_usage_error("inbox", "the command is: list --unit CODE");
    if (o.unit == NULL || !grp_code_ok(o.unit, strlen(o.unit)))
        return core_cli_usage_error("inbox", "list needs --unit CODE");
    core_err_clear(&err);
    if (cli_open(&x, &o, 0, &err) != 0) {
        rc = core_cli_fail(&err);
        goto out;
    }
    if (grp_post_thana_of(x.r, o.unit, thana, &err) != 0) {
        rc = core_cli_fail(&err);
        goto out;
    }
    if (thana[0] == '\0') {
        fprintf(stderr, "janseva inbox: no thana at or above %s\n", o.unit);
        rc = CORE_EX_NOINPUT;
        goto out;
    }
    l = grp_review_inbox_list(x.posts, x.r, thana, (size_t)o.limit, &err);
    if (l == NULL) {
        rc = core_cli_fail(&err);
        goto out;
    }
    if (o.json) {
        print_json(l);
    } else {
        printf("inbox of thana %s: %zu post(s)\n", thana, json_array_size(l));
        json_array_foreach(l, i, j)
        {
            print_post(j, 0);
        }
    }
    json_decref(l);
    rc = 0;
out:
    cli_close(&x);
    return rc;
}
