/*
 * groups/tipreveal.c - reveal requests, approvals and the ceremony (see
 * tipreveal.h and docs/tips.md).
 */
#include "groups/tipreveal.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"
#include "crypto/audit.h"
#include "gateway/outbox.h"
#include "groups/member.h"
#include "groups/tiptext.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOTICES_KEEP 500
#define POLL_MS 200
#define SEALED_SHARE_MAX (CRY_REVEAL_SHARE_FILE_MAX + 128)
#define PLAIN_MAX 8192

CORE_COUNTER(m_requests, "janseva_tip_reveals_total", "event=\"request\"",
             "Reveal requests and their outcomes");
CORE_COUNTER(m_revealed, "janseva_tip_reveals_total", "event=\"revealed\"",
             "Reveal requests and their outcomes");
CORE_COUNTER(m_refused, "janseva_tip_reveals_total", "event=\"refused\"",
             "Reveal requests and their outcomes");

void grp_tiprv_metrics_init(void)
{
    core_metrics_register(&m_requests);
    core_metrics_register(&m_revealed);
    core_metrics_register(&m_refused);
}

int grp_tiprv_is_id(const char *s)
{
    if (s == NULL || strlen(s) != GRP_TIPRV_ID_LEN - 1)
        return 0;
    for (size_t i = 0; i < GRP_TIPRV_ID_LEN - 1; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

static void rv_key(const char *rid, const char *suffix, char *out, size_t n)
{
    snprintf(out, n, "js:tip:rv:{%s}%s", rid, suffix);
}

static void copy_reply(char *dst, size_t n, const redisReply *v)
{
    size_t k = 0;

    if (v != NULL && v->type == REDIS_REPLY_STRING) {
        k = v->len < n - 1 ? v->len : n - 1;
        memcpy(dst, v->str, k);
    }
    dst[k] = '\0';
}

static int64_t i64_of(const redisReply *v)
{
    int64_t x = 0;

    if (v != NULL && v->type == REDIS_REPLY_STRING)
        core_parse_i64(v->str, &x);
    return x;
}

static void iso(int64_t ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M UTC", &tm);
}

/* ======================= audit and notices ======================= */

static int audit(struct grp_tip *t, struct core_redis *r, const char *actor, const char *action,
                 const struct grp_tiprv_info *in, const char *rid, const char *reason,
                 struct core_err *err)
{
    char object[96];

    if (in != NULL)
        snprintf(object, sizeof object, "reveal:%s case:%s", in->id, in->case_id);
    else
        snprintf(object, sizeof object, "reveal:%s", grp_tiprv_is_id(rid) ? rid : "unknown");
    return cry_audit_append(grp_tip_audit(t), r, actor, action, object, reason, NULL, err);
}

/* The language of officer `mid` ("hi" unless set to "en"). */
static const char *officer_lang(struct core_redis *r, const char *mid)
{
    struct core_err err;
    struct grp_member m;
    const char *lang = "hi";

    if (grp_member_load(r, mid, &m, &err) == 0 && m.lang == GRP_LANG_EN)
        lang = "en";
    return lang;
}

/* An outbox message to officer `mid` (alert lane; template outside the window). */
static void message_officer(struct grp_tip *t, struct core_redis *r, const char *mid,
                            const char *key, const char *text)
{
    const struct core_cfg *cfg = grp_tip_cfg(t);
    struct core_err err;
    struct gw_outmsg m;
    json_t *msg;
    json_t *fb;
    char flat[1024];
    size_t k = 0;

    if (cfg->n_phone_numbers == 0 || !cry_identity_is_mid(mid))
        return;
    for (const char *p = text; *p != '\0' && k + 1 < sizeof flat; p++)
        flat[k++] = *p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p;
    while (k > 0 && ((unsigned char)flat[k] & 0xC0) == 0x80)
        k--; /* cut on a character boundary */
    flat[k] = '\0';
    msg = json_pack("{s:s,s:{s:s}}", "type", "text", "text", "body", text);
    fb = json_pack("{s:s,s:{s:s,s:{s:s},s:[{s:s,s:[{s:s,s:s}]}]}}", "type", "template",
                   "template", "name", cfg->tip_reply_template, "language", "code",
                   officer_lang(r, mid), "components", "type", "body", "parameters", "type",
                   "text", "text", flat);
    memset(&m, 0, sizeof m);
    m.key = key;
    m.number = cfg->phone_numbers[0];
    m.lane = GW_LANE_ALERT;
    m.mid = mid;
    m.message = msg;
    m.fallback = fb;
    if (gw_outbox_enqueue(r, grp_tip_keys(t), &m, NULL, &err) != 0)
        core_log_warn("tipreveal", NULL, "notice to an officer not queued: %s", err.msg);
    json_decref(msg);
    json_decref(fb);
}

/*
 * Tell the requester and every custodian: a notice record each
 * (js:tip:inbox:<who>), and a WhatsApp message to those who are registered
 * officers. `args` fill the text `text_id`.
 */
static void notify(struct grp_tip *t, struct core_redis *r, const struct grp_tiprv_info *in,
                   const char *event, const char *detail, const char *text_id,
                   const char *const *args, size_t nargs)
{
    struct cry_reveal_meta meta;
    struct core_err err;
    char key[96];
    char who[GRP_TIP_ACTOR_MAX + 16];
    char okey[GW_OUT_KEY_MAX];
    redisReply *rep;
    long long seq = 0;
    json_t *note;
    char *ns;
    char ro[CRY_MID_LEN] = "";

    rv_key(in->id, "", key, sizeof key);
    if (core_redis_cmdf(r, &rep, &err, "HINCRBY %s nn 1", key) == 0) {
        seq = core_redis_int(rep);
        freeReplyObject(rep);
    }
    if (core_redis_cmdf(r, &rep, &err, "HGET %s ro", key) == 0) {
        copy_reply(ro, sizeof ro, rep);
        freeReplyObject(rep);
    }
    note = json_pack("{s:I,s:s,s:s,s:s,s:s}", "ts", (json_int_t)core_now_ms(), "request", in->id,
                     "case", in->pseudonym, "event", event, "detail", detail != NULL ? detail : "");
    ns = json_dumps(note, JSON_COMPACT);
    json_decref(note);
    if (grp_tip_reveal_meta(t, &meta, &err) != 0)
        meta.n = 0;
    for (unsigned i = 0; i <= meta.n; i++) {
        const char *mid = NULL;
        struct core_buf text;

        if (i < meta.n) {
            snprintf(who, sizeof who, "custodian:%s", meta.custodians[i].id);
            mid = meta.custodians[i].officer;
        } else {
            snprintf(who, sizeof who, "%s", in->requester);
            mid = ro;
        }
        if (ns != NULL &&
            (core_redis_cmdf(r, NULL, &err, "LPUSH js:tip:inbox:%s %s", who, ns) != 0 ||
             core_redis_cmdf(r, NULL, &err, "LTRIM js:tip:inbox:%s 0 %d", who,
                             NOTICES_KEEP - 1) != 0))
            core_log_warn("tipreveal", NULL, "request %s: notice not recorded: %s", in->id,
                          err.msg);
        if (mid == NULL || mid[0] == '\0')
            continue;
        core_buf_init(&text, 4096);
        grp_tiptext_format(officer_lang(r, mid), text_id, args, nargs, &text);
        snprintf(okey, sizeof okey, "tip-rv:%s:%s:%lld:%u", in->id, event, seq, i);
        message_officer(t, r, mid, okey, core_buf_str(&text));
        core_buf_cleanup(&text);
    }
    free(ns);
}

/* ======================= loading and state ======================= */

/* KEYS[1] request; ARGV from, to, outcome. Moves the state once. */
static struct core_redis_script move_script = {
    "tiprv_move",
    "if redis.call('HGET', KEYS[1], 'st') ~= ARGV[1] then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'st', ARGV[2], 'oc', ARGV[3], 'dt', ARGV[4])\n"
    "return 1\n",
    ""};

static int move(struct core_redis *r, const char *rid, const char *from, const char *to,
                const char *outcome, int *moved, struct core_err *err)
{
    char key[96], now[24];
    const char *argv[5];
    redisReply *rep;

    *moved = 0;
    rv_key(rid, "", key, sizeof key);
    snprintf(now, sizeof now, "%lld", (long long)core_now_ms());
    argv[0] = key;
    argv[1] = from;
    argv[2] = to;
    argv[3] = outcome;
    argv[4] = now;
    if (core_redis_eval(r, &move_script, 1, 5, argv, NULL, &rep, err) != 0)
        return -1;
    *moved = core_redis_int(rep) == 1;
    freeReplyObject(rep);
    return 0;
}

static int load(struct core_redis *r, const char *rid_in, struct grp_tiprv_info *in,
                struct core_err *err)
{
    char key[96], ap[96], live[96];
    char rid[GRP_TIPRV_ID_LEN];
    redisReply *rep;

    if (!grp_tiprv_is_id(rid_in)) {
        memset(in, 0, sizeof *in);
        return core_err_set(err, CORE_EX_NOINPUT, "no such reveal request");
    }
    memcpy(rid, rid_in, sizeof rid); /* `rid_in` may point into `in` */
    memset(in, 0, sizeof *in);
    rv_key(rid, "", key, sizeof key);
    rv_key(rid, ":ap", ap, sizeof ap);
    rv_key(rid, ":live", live, sizeof live);
    if (core_redis_cmdf(r, &rep, err, "HMGET %s c ps rq st rs oc rk k ct ex", key) != 0)
        return -1;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 10 ||
        rep->element[0]->type != REDIS_REPLY_STRING) {
        freeReplyObject(rep);
        return core_err_set(err, CORE_EX_NOINPUT, "no such reveal request");
    }
    snprintf(in->id, sizeof in->id, "%s", rid);
    copy_reply(in->case_id, sizeof in->case_id, rep->element[0]);
    copy_reply(in->pseudonym, sizeof in->pseudonym, rep->element[1]);
    copy_reply(in->requester, sizeof in->requester, rep->element[2]);
    copy_reply(in->state, sizeof in->state, rep->element[3]);
    copy_reply(in->reason, sizeof in->reason, rep->element[4]);
    copy_reply(in->outcome, sizeof in->outcome, rep->element[5]);
    copy_reply(in->key_id, sizeof in->key_id, rep->element[6]);
    in->threshold = (unsigned)i64_of(rep->element[7]);
    in->created_ms = i64_of(rep->element[8]);
    in->expires_ms = i64_of(rep->element[9]);
    freeReplyObject(rep);
    if (core_redis_cmdf(r, &rep, err, "HLEN %s", ap) != 0)
        return -1;
    in->approvals = (unsigned)core_redis_int(rep);
    freeReplyObject(rep);
    if (core_redis_cmdf(r, &rep, err, "EXISTS %s", live) != 0)
        return -1;
    in->live = core_redis_int(rep) == 1;
    freeReplyObject(rep);
    return 0;
}

/* Mark a pending request past its time as expired (audited once). */
static int check_expiry(struct grp_tip *t, struct core_redis *r, struct grp_tiprv_info *in,
                        struct core_err *err)
{
    int moved = 0;
    struct core_err e;

    if (strcmp(in->state, "pending") != 0 || core_now_ms() <= in->expires_ms)
        return 0;
    if (move(r, in->id, "pending", "expired", "the time limit passed", &moved, err) != 0)
        return -1;
    snprintf(in->state, sizeof in->state, "expired");
    if (moved) {
        const char *args[3] = {in->id, in->pseudonym, "the time limit passed"};

        if (audit(t, r, "system", "tip.reveal.refuse", in, NULL, "expired", &e) != 0)
            core_log_warn("tipreveal", NULL, "request %s: expiry not audited: %s", in->id,
                          e.msg);
        notify(t, r, in, "expired", "the time limit passed", "tip.rv_refused", args, 3);
        core_metric_inc(&m_refused);
    }
    return 0;
}

int grp_tiprv_get(struct grp_tip *t, struct core_redis *r, const char *rid,
                  struct grp_tiprv_info *out, struct core_err *err)
{
    if (load(r, rid, out, err) != 0)
        return -1;
    return check_expiry(t, r, out, err);
}

/* An audited, notified refusal; returns -1 with `code` and the reason. */
static int refuse(struct grp_tip *t, struct core_redis *r, const char *actor,
                  const struct grp_tiprv_info *in, const char *rid, int code, const char *why,
                  struct core_err *err)
{
    struct core_err e;

    if (audit(t, r, actor, "tip.reveal.refuse", in, rid, why, &e) != 0)
        core_log_warn("tipreveal", NULL, "refusal not audited: %s", e.msg);
    if (in != NULL) {
        const char *args[3] = {in->id, in->pseudonym, why};

        notify(t, r, in, "refused", why, "tip.rv_refused", args, 3);
    }
    core_metric_inc(&m_refused);
    return core_err_set(err, code, "reveal refused: %s; nothing was revealed", why);
}

/* ======================= request ======================= */

int grp_tiprv_request(struct grp_tip *t, struct core_redis *r, const char *actor,
                      const char *officer, const struct grp_tip_viewer *viewer,
                      const char *case_ref, const char *reason, struct grp_tiprv_info *out,
                      struct core_err *err)
{
    struct cry_reveal_meta meta;
    struct grp_tip_case c;
    unsigned char rnd[8];
    char key[96], ct[24], ex[24], k[8];
    char clean[GRP_TIPRV_REASON_MAX + 1];
    char when[40], th[8];
    size_t rl = reason != NULL ? strlen(reason) : 0;
    char cid[GRP_TIP_CASE_LEN];
    int found;
    struct core_err e;

    memset(out, 0, sizeof *out);
    if (rl < GRP_TIPRV_REASON_MIN || rl > GRP_TIPRV_REASON_MAX)
        return core_err_set(err, CORE_EX_USAGE,
                            "a reveal needs a written legal reason of %d-%d bytes",
                            GRP_TIPRV_REASON_MIN, GRP_TIPRV_REASON_MAX);
    for (size_t i = 0; i <= rl; i++)
        clean[i] = (unsigned char)reason[i] < 0x20 && reason[i] != '\0' ? ' ' : reason[i];
    if (grp_tip_reveal_meta(t, &meta, err) != 0)
        return -1;
    if (viewer != NULL)
        found = grp_tip_get(t, r, viewer, case_ref, &c, &e) == 0;
    else
        found = grp_tip_resolve_ref(r, case_ref, cid, &e) == 0 &&
                grp_tip_load(r, cid, &c, &e) == 0;
    if (!found) {
        if (e.code != CORE_EX_NOINPUT) {
            *err = e;
            return -1;
        }
        return refuse(t, r, actor, NULL, NULL, CORE_EX_NOINPUT, "unknown case", err);
    }
    if (strcmp(c.reveal_key, meta.id) != 0)
        return core_err_set(err, CORE_EX_CONFIG,
                            "case %s is sealed to reveal key %s, not the current %s", c.id,
                            c.reveal_key, meta.id);
    randombytes_buf(rnd, sizeof rnd);
    core_hex(out->id, rnd, sizeof rnd);
    snprintf(out->case_id, sizeof out->case_id, "%s", c.id);
    snprintf(out->pseudonym, sizeof out->pseudonym, "%s", c.pseudonym);
    snprintf(out->requester, sizeof out->requester, "%s", actor);
    snprintf(out->state, sizeof out->state, "pending");
    snprintf(out->reason, sizeof out->reason, "%s", clean);
    snprintf(out->key_id, sizeof out->key_id, "%s", meta.id);
    out->threshold = meta.threshold;
    out->created_ms = core_now_ms();
    out->expires_ms = out->created_ms + (int64_t)grp_tip_cfg(t)->tip_reveal_ttl_s * 1000;
    rv_key(out->id, "", key, sizeof key);
    snprintf(ct, sizeof ct, "%lld", (long long)out->created_ms);
    snprintf(ex, sizeof ex, "%lld", (long long)out->expires_ms);
    snprintf(k, sizeof k, "%u", out->threshold);
    {
        const char *argv[] = {"HSET", key,  "c",  c.id,       "ps", c.pseudonym, "rq", actor,
                              "ro",   officer != NULL ? officer : "", "rs", clean, "st",
                              "pending", "rk", meta.id, "k", k, "ct", ct, "ex", ex};

        if (core_redis_cmdv(r, (int)(sizeof argv / sizeof argv[0]), argv, NULL, NULL, err) != 0)
            return -1;
    }
    core_redis_cmdf(r, NULL, err, "ZADD js:tip:rvs %s %s", ct, out->id);
    if (audit(t, r, actor, "tip.reveal.request", out, NULL, clean, err) != 0) {
        move(r, out->id, "pending", "refused", "could not be audited", &(int){0}, &e);
        return core_err_set(err, CORE_EX_UNAVAILABLE,
                            "the request could not be recorded in the audit log; nothing was "
                            "requested");
    }
    iso(out->expires_ms, when, sizeof when);
    snprintf(th, sizeof th, "%u", out->threshold);
    {
        const char *args[6] = {out->id, c.pseudonym, actor, clean, th, when};

        notify(t, r, out, "request", clean, "tip.rv_request", args, 6);
    }
    core_metric_inc(&m_requests);
    core_log_info("tipreveal", NULL, "reveal request %s for case %s by %s", out->id, c.id,
                  actor);
    return 0;
}

/* ======================= approve ======================= */

/*
 * KEYS[1] request, KEYS[2] approvals, KEYS[3] sealed shares.
 * ARGV custodian, share number, sealed share. Returns {verdict, count}.
 */
static struct core_redis_script approve_script = {
    "tiprv_approve",
    "local st = redis.call('HGET', KEYS[1], 'st')\n"
    "if st ~= 'pending' then return {'state', st or ''} end\n"
    "if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return {'twice', ''} end\n"
    "for _, v in ipairs(redis.call('HVALS', KEYS[2])) do\n"
    "  if v == ARGV[2] then return {'reused', ''} end\n"
    "end\n"
    "redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])\n"
    "redis.call('RPUSH', KEYS[3], ARGV[3])\n"
    "return {'ok', tostring(redis.call('HLEN', KEYS[2]))}\n",
    ""};

int grp_tiprv_approve(struct grp_tip *t, struct core_redis *r, const char *actor, const char *rid,
                      const char *custodian, const struct cry_reveal_share *share,
                      struct grp_tiprv_approval *out, struct core_err *err)
{
    struct grp_tiprv_info in;
    struct cry_reveal_meta meta;
    const struct cry_reveal_custodian *cu;
    char key[96], ap[96], sh[96], live[96];
    char why[200];
    char nr[8];
    unsigned char epk[CRY_REVEAL_PUBLICKEYBYTES];
    unsigned char *sealed = NULL;
    char *plain;
    size_t bin = 0;
    size_t sl;
    redisReply *rep;
    int n;
    int rc;

    memset(out, 0, sizeof *out);
    if (grp_tiprv_get(t, r, rid, &in, err) != 0) {
        if (err->code != CORE_EX_NOINPUT)
            return -1;
        return refuse(t, r, actor, NULL, rid, CORE_EX_NOINPUT, "unknown reveal request", err);
    }
    if (strcmp(in.state, "pending") != 0) {
        snprintf(why, sizeof why, "the request is %s", in.state);
        return refuse(t, r, actor, &in, NULL,
                      strcmp(in.state, "expired") == 0 ? CORE_EX_TEMPFAIL : CORE_EX_NOPERM, why,
                      err);
    }
    if (grp_tip_reveal_meta(t, &meta, err) != 0)
        return -1;
    cu = cry_reveal_custodian_find(&meta, custodian);
    if (cu == NULL)
        return refuse(t, r, actor, &in, NULL, CORE_EX_NOPERM, "unknown custodian", err);
    if (strcmp(share->key_id, meta.id) != 0 || strcmp(in.key_id, meta.id) != 0)
        return refuse(t, r, actor, &in, NULL, CORE_EX_DATAERR,
                      "the share belongs to another reveal key", err);
    rv_key(rid, "", key, sizeof key);
    rv_key(rid, ":ap", ap, sizeof ap);
    rv_key(rid, ":sh", sh, sizeof sh);
    rv_key(rid, ":live", live, sizeof live);
    snprintf(nr, sizeof nr, "%u", (unsigned)share->number);
    if (core_redis_cmdf(r, &rep, err, "HGETALL %s", ap) != 0)
        return -1;
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        if (strcmp(rep->element[i]->str, custodian) == 0) {
            freeReplyObject(rep);
            snprintf(why, sizeof why, "custodian %s already approved this request", custodian);
            return refuse(t, r, actor, &in, NULL, CORE_EX_NOPERM, why, err);
        }
        if (strcmp(rep->element[i + 1]->str, nr) == 0) {
            freeReplyObject(rep);
            return refuse(t, r, actor, &in, NULL, CORE_EX_NOPERM,
                          "this share was already used for this request", err);
        }
    }
    freeReplyObject(rep);
    if (strcmp(share->custodian, custodian) != 0 || share->number != cu->number) {
        snprintf(why, sizeof why, "the share is not custodian %s's", custodian);
        return refuse(t, r, actor, &in, NULL, CORE_EX_DATAERR, why, err);
    }
    /* the ceremony's ephemeral key */
    if (core_redis_cmdf(r, &rep, err, "GET %s", live) != 0)
        return -1;
    rc = rep->type == REDIS_REPLY_STRING && rep->len == 2 * sizeof epk &&
                 sodium_hex2bin(epk, sizeof epk, rep->str, rep->len, NULL, &bin, NULL) == 0 &&
                 bin == sizeof epk
             ? 0
             : -1;
    freeReplyObject(rep);
    if (rc != 0) {
        snprintf(why, sizeof why,
                 "nobody is holding the ceremony (the requester must run 'janseva tip reveal "
                 "wait %s')",
                 rid);
        return refuse(t, r, actor, &in, NULL, CORE_EX_TEMPFAIL, why, err);
    }
    /* the share, bound to this request, sealed to the ceremony only */
    plain = sodium_malloc(PLAIN_MAX);
    if (plain == NULL)
        abort();
    n = snprintf(plain, PLAIN_MAX, "rid:%s\n", rid);
    rc = cry_reveal_share_format(share, plain + n, PLAIN_MAX - (size_t)n);
    if (rc > 0) {
        sl = (size_t)(n + rc) + crypto_box_SEALBYTES;
        sealed = core_malloc(sl);
        rc = crypto_box_seal(sealed, (const unsigned char *)plain, (size_t)(n + rc), epk);
    } else {
        rc = -1;
        sl = 0;
    }
    sodium_free(plain);
    if (rc != 0) {
        free(sealed);
        return core_err_set(err, CORE_EX_SOFTWARE, "reveal: cannot seal the share");
    }
    /* on the record before it counts */
    snprintf(why, sizeof why, "custodian %s", custodian);
    if (audit(t, r, actor, "tip.reveal.approve", &in, NULL, why, err) != 0) {
        free(sealed);
        return core_err_set(err, CORE_EX_UNAVAILABLE,
                            "the approval could not be recorded in the audit log; it does not "
                            "count");
    }
    {
        const char *argv[6] = {key, ap, sh, custodian, nr, (const char *)sealed};
        size_t lens[6] = {strlen(key), strlen(ap), strlen(sh), strlen(custodian), strlen(nr),
                          sl};

        rc = core_redis_eval(r, &approve_script, 3, 6, argv, lens, &rep, err);
    }
    free(sealed);
    if (rc != 0)
        return -1;
    {
        char verdict[16] = "", count[16] = "";

        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
            copy_reply(verdict, sizeof verdict, rep->element[0]);
            copy_reply(count, sizeof count, rep->element[1]);
        }
        freeReplyObject(rep);
        if (strcmp(verdict, "twice") == 0) {
            snprintf(why, sizeof why, "custodian %s already approved this request", custodian);
            return refuse(t, r, actor, &in, NULL, CORE_EX_NOPERM, why, err);
        }
        if (strcmp(verdict, "reused") == 0)
            return refuse(t, r, actor, &in, NULL, CORE_EX_NOPERM,
                          "this share was already used for this request", err);
        if (strcmp(verdict, "ok") != 0) {
            snprintf(why, sizeof why, "the request is %s", count);
            return refuse(t, r, actor, &in, NULL, CORE_EX_NOPERM, why, err);
        }
        {
            int64_t cnt = 0;

            core_parse_i64(count, &cnt);
            out->count = (unsigned)cnt;
        }
    }
    out->threshold = in.threshold;
    snprintf(why, sizeof why, "custodian %s", custodian);
    {
        char c1[8], c2[8];
        const char *args[5] = {in.id, in.pseudonym, custodian, c1, c2};

        snprintf(c1, sizeof c1, "%u", out->count);
        snprintf(c2, sizeof c2, "%u", out->threshold);
        notify(t, r, &in, "approved", why, "tip.rv_approved", args, 5);
    }
    core_log_info("tipreveal", NULL, "reveal request %s: custodian %s approved (%u of %u)", rid,
                  custodian, out->count, out->threshold);
    return 0;
}

int grp_tiprv_refuse(struct grp_tip *t, struct core_redis *r, const char *actor, const char *rid,
                     const char *why, struct core_err *err)
{
    struct grp_tiprv_info in;
    struct core_err e;
    int have = grp_tiprv_get(t, r, rid, &in, &e) == 0;

    refuse(t, r, actor, have ? &in : NULL, rid, CORE_EX_DATAERR, why, &e);
    (void)err;
    return 0;
}

int grp_tiprv_deny(struct grp_tip *t, struct core_redis *r, const char *actor, const char *rid,
                   const char *custodian, const char *reason, struct core_err *err)
{
    struct grp_tiprv_info in;
    struct cry_reveal_meta meta;
    char why[320];
    int moved = 0;

    if (grp_tiprv_get(t, r, rid, &in, err) != 0)
        return -1;
    if (grp_tip_reveal_meta(t, &meta, err) != 0)
        return -1;
    if (cry_reveal_custodian_find(&meta, custodian) == NULL)
        return core_err_set(err, CORE_EX_NOPERM, "unknown custodian");
    snprintf(why, sizeof why, "declined by custodian %s%s%.200s", custodian,
             reason != NULL && reason[0] ? ": " : "", reason != NULL ? reason : "");
    for (char *p = why; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    }
    if (move(r, rid, "pending", "denied", why, &moved, err) != 0)
        return -1;
    if (!moved)
        return core_err_set(err, CORE_EX_NOPERM, "the request is %s", in.state);
    snprintf(in.state, sizeof in.state, "denied");
    refuse(t, r, actor, &in, NULL, CORE_EX_NOPERM, why, err);
    return 0;
}

/* ======================= the ceremony ======================= */

void grp_tiprv_identity_free(struct grp_tiprv_identity *id)
{
    if (id != NULL)
        sodium_free(id);
}

/* A JSON string at *p into out (cap); advances *p past it. */
static int json_str(const char **p, const char *e, char *out, size_t cap)
{
    const char *s = *p;
    size_t k = 0;

    if (s >= e || *s != '"')
        return -1;
    s++;
    while (s < e && *s != '"') {
        unsigned c = (unsigned char)*s;

        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if (++s >= e)
                return -1;
            switch (*s) {
            case '"':
            case '\\':
            case '/':
                c = (unsigned char)*s;
                break;
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'u': {
                unsigned v = 0;

                if (e - s < 5)
                    return -1;
                for (int i = 1; i <= 4; i++) {
                    char h = s[i];

                    v <<= 4;
                    if (h >= '0' && h <= '9')
                        v |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f')
                        v |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F')
                        v |= (unsigned)(h - 'A' + 10);
                    else
                        return -1;
                }
                s += 4;
                if (v >= 0xD800 && v <= 0xDFFF)
                    return -1;
                if (v >= 0x80) {
                    unsigned char u[3];
                    size_t ul = v < 0x800 ? 2 : 3;

                    if (ul == 2) {
                        u[0] = (unsigned char)(0xC0 | (v >> 6));
                        u[1] = (unsigned char)(0x80 | (v & 0x3F));
                    } else {
                        u[0] = (unsigned char)(0xE0 | (v >> 12));
                        u[1] = (unsigned char)(0x80 | ((v >> 6) & 0x3F));
                        u[2] = (unsigned char)(0x80 | (v & 0x3F));
                    }
                    if (k + ul >= cap)
                        return -1;
                    memcpy(out + k, u, ul);
                    k += ul;
                    s++;
                    continue;
                }
                c = v;
                break;
            }
            default:
                return -1;
            }
        }
        if (k + 1 >= cap)
            return -1;
        out[k++] = (char)c;
        s++;
    }
    if (s >= e)
        return -1;
    out[k] = '\0';
    *p = s + 1;
    return 0;
}

static void skip_ws(const char **p, const char *e)
{
    while (*p < e && (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r'))
        (*p)++;
}

int grp_tiprv_identity_parse(const char *json, size_t len, struct grp_tiprv_identity *out)
{
    const char *p = json;
    const char *e = json + len;
    char name[16];
    char scratch[CRY_NAME_MAX * 4 + 8];
    int have_case = 0;

    memset(out, 0, sizeof *out);
    skip_ws(&p, e);
    if (p >= e || *p++ != '{')
        return -1;
    for (;;) {
        int64_t num = 0;
        int is_num = 0;

        skip_ws(&p, e);
        if (p < e && *p == '}' && !have_case)
            return -1;
        if (json_str(&p, e, name, sizeof name) != 0)
            return -1;
        skip_ws(&p, e);
        if (p >= e || *p++ != ':')
            return -1;
        skip_ws(&p, e);
        if (p < e && *p == '"') {
            if (json_str(&p, e, scratch, sizeof scratch) != 0)
                return -1;
        } else {
            const char *s = p;

            while (p < e && ((*p >= '0' && *p <= '9') || *p == '-'))
                p++;
            if (p == s || core_parse_i64n(s, (size_t)(p - s), &num) != 0)
                return -1;
            is_num = 1;
        }
#define TAKE(field)                                                                                \
    do {                                                                                           \
        if (is_num || strlen(scratch) >= sizeof out->field)                                        \
            return -1;                                                                             \
        memcpy(out->field, scratch, strlen(scratch) + 1);                                          \
    } while (0)
        if (strcmp(name, "case") == 0) {
            TAKE(case_id);
            have_case = 1;
        } else if (strcmp(name, "wa") == 0) {
            TAKE(wa_id);
        } else if (strcmp(name, "uid") == 0) {
            TAKE(user_id);
        } else if (strcmp(name, "name") == 0) {
            TAKE(name);
        } else if (strcmp(name, "member_since") == 0 && is_num) {
            out->member_since = num;
        } else if (strcmp(name, "opened_ms") == 0 && is_num) {
            out->opened_ms = num;
        }
#undef TAKE
        skip_ws(&p, e);
        if (p < e && *p == ',') {
            p++;
            continue;
        }
        if (p < e && *p == '}')
            break;
        return -1;
    }
    sodium_memzero(scratch, sizeof scratch);
    return have_case && grp_tip_is_case_id(out->case_id) ? 0 : -1;
}

/* Locked memory of one ceremony. */
struct ceremony {
    unsigned char epk[CRY_REVEAL_PUBLICKEYBYTES];
    unsigned char esk[CRY_REVEAL_SECRETKEYBYTES];
    unsigned char sk[CRY_REVEAL_SECRETKEYBYTES];
    unsigned char plain[PLAIN_MAX];
    unsigned char ident[PLAIN_MAX];
};

/* Take the sealed shares that arrived; returns how many usable shares we hold. */
static unsigned take_shares(struct core_redis *r, const struct grp_tiprv_info *in,
                            struct ceremony *c, struct cry_reveal_share **shares, unsigned have,
                            unsigned max, FILE *progress)
{
    char sh[96], ap[96];
    struct core_err err;

    rv_key(in->id, ":sh", sh, sizeof sh);
    rv_key(in->id, ":ap", ap, sizeof ap);
    while (have < max) {
        redisReply *rep;
        char prefix[32];
        size_t pl;
        int ok;

        if (core_redis_cmdf(r, &rep, &err, "LPOP %s", sh) != 0)
            break;
        if (rep->type != REDIS_REPLY_STRING) {
            freeReplyObject(rep);
            break;
        }
        ok = rep->len > crypto_box_SEALBYTES && rep->len <= SEALED_SHARE_MAX &&
             crypto_box_seal_open(c->plain, (const unsigned char *)rep->str, rep->len, c->epk,
                                  c->esk) == 0;
        pl = ok ? rep->len - crypto_box_SEALBYTES : 0;
        freeReplyObject(rep);
        snprintf(prefix, sizeof prefix, "rid:%s\n", in->id);
        if (!ok || pl < strlen(prefix) || memcmp(c->plain, prefix, strlen(prefix)) != 0 ||
            cry_reveal_share_parse((const char *)c->plain + strlen(prefix), pl - strlen(prefix),
                                   shares[have], &err) != 0) {
            sodium_memzero(c->plain, sizeof c->plain);
            if (progress != NULL)
                fprintf(progress, "reveal: a share that does not belong to this ceremony was "
                                  "ignored\n");
            continue;
        }
        sodium_memzero(c->plain, sizeof c->plain);
        /* only shares whose approval is on record */
        ok = 0;
        if (core_redis_cmdf(r, &rep, &err, "HGET %s %s", ap, shares[have]->custodian) == 0) {
            char want[8];

            snprintf(want, sizeof want, "%u", (unsigned)shares[have]->number);
            ok = rep->type == REDIS_REPLY_STRING && strcmp(rep->str, want) == 0;
            freeReplyObject(rep);
        }
        for (unsigned i = 0; ok && i < have; i++)
            ok = strcmp(shares[i]->custodian, shares[have]->custodian) != 0;
        if (!ok) {
            sodium_memzero(shares[have], sizeof *shares[have]);
            continue;
        }
        have++;
        if (progress != NULL) {
            fprintf(progress, "reveal: custodian %s approved (%u of %u)\n",
                    shares[have - 1]->custodian, have, in->threshold);
            fflush(progress);
        }
    }
    return have;
}

int grp_tiprv_wait(struct grp_tip *t, struct core_redis *r, const char *actor, const char *rid,
                   int64_t max_wait_ms, FILE *progress, struct grp_tiprv_identity **out,
                   struct core_err *err)
{
    struct grp_tiprv_info in;
    struct cry_reveal_meta meta;
    struct ceremony *c = NULL;
    struct cry_reveal_share *shares[CRY_REVEAL_MAX_CUSTODIANS];
    struct grp_tiprv_identity *id = NULL;
    char key[96], live[96], ap[96], sh[96];
    char hex[2 * CRY_REVEAL_PUBLICKEYBYTES + 1];
    char ttl[16];
    unsigned have = 0;
    int64_t start = core_mono_ms();
    int64_t beat = 0;
    unsigned char *box = NULL;
    size_t box_len = 0;
    size_t il = 0;
    int moved = 0;
    int rc = -1;
    struct core_err e;

    *out = NULL;
    memset(shares, 0, sizeof shares);
    if (grp_tiprv_get(t, r, rid, &in, err) != 0)
        return -1;
    if (strcmp(in.requester, actor) != 0)
        return core_err_set(err, CORE_EX_NOPERM,
                            "only the requester (%s) can hold the ceremony of request %s",
                            in.requester, rid);
    if (strcmp(in.state, "pending") != 0)
        return core_err_set(err, strcmp(in.state, "expired") == 0 ? CORE_EX_TEMPFAIL
                                                                   : CORE_EX_NOPERM,
                            "request %s is %s%s%s", rid, in.state, in.outcome[0] ? ": " : "",
                            in.outcome);
    if (grp_tip_reveal_meta(t, &meta, err) != 0)
        return -1;
    if (meta.n > CRY_REVEAL_MAX_CUSTODIANS)
        return core_err_set(err, CORE_EX_CONFIG, "reveal: too many custodians");
    rv_key(rid, "", key, sizeof key);
    rv_key(rid, ":live", live, sizeof live);
    rv_key(rid, ":ap", ap, sizeof ap);
    rv_key(rid, ":sh", sh, sizeof sh);
    c = sodium_malloc(sizeof *c);
    if (c == NULL)
        abort();
    crypto_box_keypair(c->epk, c->esk);
    core_hex(hex, c->epk, sizeof c->epk);
    for (unsigned i = 0; i < meta.n; i++)
        shares[i] = cry_reveal_share_new();
    /* a fresh ceremony: approvals given to an earlier one cannot be read */
    if (in.approvals > 0) {
        if (audit(t, r, actor, "tip.reveal.restart", &in, NULL,
                  "a new ceremony; earlier approvals must be given again", &e) != 0)
            core_log_warn("tipreveal", NULL, "restart not audited: %s", e.msg);
        if (progress != NULL)
            fprintf(progress, "reveal: %u earlier approval(s) belonged to a ceremony that ended; "
                              "they must be given again\n",
                    in.approvals);
    }
    snprintf(ttl, sizeof ttl, "%d", GRP_TIPRV_LIVE_MS);
    if (core_redis_cmdf(r, NULL, err, "DEL %s %s", ap, sh) != 0 ||
        core_redis_cmdf(r, NULL, err, "SET %s %s PX %s", live, hex, ttl) != 0)
        goto out;
    if (progress != NULL) {
        char when[40];

        iso(in.expires_ms, when, sizeof when);
        fprintf(progress,
                "reveal: request %s for case %s: waiting for %u custodians until %s\n"
                "reveal: each runs: janseva tip reveal approve %s --custodian ID --share FILE\n",
                rid, in.pseudonym, in.threshold, when, rid);
        fflush(progress);
    }
    for (;;) {
        int64_t now = core_mono_ms();

        if (core_now_ms() > in.expires_ms) {
            check_expiry(t, r, &in, &e);
            core_err_set(err, CORE_EX_TEMPFAIL,
                         "request %s expired before %u custodians approved; nothing was revealed",
                         rid, in.threshold);
            goto out;
        }
        if (max_wait_ms > 0 && now - start > max_wait_ms) {
            core_err_set(err, CORE_EX_TEMPFAIL,
                         "gave up waiting; request %s stays pending (run 'janseva tip reveal wait "
                         "%s' to hold the ceremony again)",
                         rid, rid);
            goto out;
        }
        if (now - beat >= GRP_TIPRV_HEARTBEAT_MS) {
            struct grp_tiprv_info cur;

            beat = now;
            if (core_redis_cmdf(r, NULL, &e, "SET %s %s PX %s", live, hex, ttl) != 0)
                core_log_warn("tipreveal", NULL, "heartbeat: %s", e.msg);
            if (load(r, rid, &cur, &e) == 0 && strcmp(cur.state, "pending") != 0) {
                core_err_set(err, CORE_EX_NOPERM, "request %s is %s: %s", rid, cur.state,
                             cur.outcome);
                goto out;
            }
        }
        have = take_shares(r, &in, c, shares, have, meta.n, progress);
        if (have >= meta.threshold)
            break;
        core_sleep_ms(POLL_MS);
    }
    /* K shares: the key, checked against the public key */
    if (cry_reveal_combine(&meta, (const struct cry_reveal_share *const *)shares, have, c->sk,
                           err) != 0) {
        char why[CORE_ERR_LEN];

        snprintf(why, sizeof why, "%s", err->msg + (strncmp(err->msg, "reveal: ", 8) == 0 ? 8 : 0));
        move(r, rid, "pending", "refused", why, &moved, &e);
        refuse(t, r, actor, &in, NULL, CORE_EX_DATAERR, why, err);
        goto out;
    }
    grp_tip_test_hook(t, "combined");
    /* the record first: no record, no reveal */
    if (audit(t, r, actor, "tip.reveal.open", &in, NULL, in.reason, &e) != 0) {
        core_err_set(err, CORE_EX_UNAVAILABLE,
                     "the reveal could not be recorded in the audit log (%s); nothing was "
                     "opened",
                     e.msg);
        goto out;
    }
    if (grp_tip_sealed_identity(t, r, in.case_id, &box, &box_len, err) != 0 ||
        cry_reveal_open(c->sk, meta.pk, box, box_len, c->ident, sizeof c->ident, &il, err) != 0) {
        char why[CORE_ERR_LEN];

        snprintf(why, sizeof why, "the case's sealed identity does not open");
        move(r, rid, "pending", "refused", why, &moved, &e);
        refuse(t, r, actor, &in, NULL, CORE_EX_DATAERR, why, err);
        goto out;
    }
    sodium_memzero(c->sk, sizeof c->sk); /* used once, for one case */
    grp_tip_test_hook(t, "opened");
    id = sodium_malloc(sizeof *id);
    if (id == NULL)
        abort();
    if (grp_tiprv_identity_parse((const char *)c->ident, il, id) != 0 ||
        strcmp(id->case_id, in.case_id) != 0) {
        const char *why = "the sealed identity belongs to another case";

        grp_tiprv_identity_free(id);
        id = NULL;
        move(r, rid, "pending", "refused", why, &moved, &e);
        refuse(t, r, actor, &in, NULL, CORE_EX_DATAERR, why, err);
        goto out;
    }
    snprintf(id->pseudonym, sizeof id->pseudonym, "%s", in.pseudonym);
    {
        char what[160];
        const char *args[3] = {in.id, in.pseudonym, actor};

        snprintf(what, sizeof what, "revealed to %s", actor);
        move(r, rid, "pending", "revealed", what, &moved, &e);
        notify(t, r, &in, "revealed", what, "tip.rv_revealed", args, 3);
    }
    core_metric_inc(&m_revealed);
    core_log_warn("tipreveal", NULL, "reveal request %s: the identity behind case %s was "
                                     "revealed to %s",
                  rid, in.case_id, actor);
    *out = id;
    rc = 0;
out:
    {
        struct core_err e2;

        core_redis_cmdf(r, NULL, &e2, "DEL %s %s", live, sh);
    }
    free(box);
    for (unsigned i = 0; i < meta.n && i < CRY_REVEAL_MAX_CUSTODIANS; i++)
        cry_reveal_share_free(shares[i]);
    sodium_free(c); /* the rebuilt key, the ephemeral key, every plaintext */
    return rc;
}

/* ======================= listing ======================= */

json_t *grp_tiprv_list(struct grp_tip *t, struct core_redis *r, size_t limit,
                       struct core_err *err)
{
    redisReply *ids;
    json_t *arr = json_array();

    if (core_redis_cmdf(r, &ids, err, "ZREVRANGE js:tip:rvs 0 %d", (int)limit - 1) != 0) {
        json_decref(arr);
        return NULL;
    }
    for (size_t i = 0; i < ids->elements; i++) {
        struct grp_tiprv_info in;
        struct core_err e;

        if (grp_tiprv_get(t, r, ids->element[i]->str, &in, &e) != 0)
            continue;
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:I,s:I,s:s}", "request", in.id, "case",
                           in.pseudonym, "requester", in.requester, "state", in.state, "reason",
                           in.reason, "approvals", (int)in.approvals, "threshold",
                           (int)in.threshold, "created_ms", (json_int_t)in.created_ms,
                           "expires_ms", (json_int_t)in.expires_ms, "outcome", in.outcome));
    }
    freeReplyObject(ids);
    return arr;
}

json_t *grp_tiprv_notices(struct core_redis *r, const char *who, size_t limit,
                          struct core_err *err)
{
    redisReply *rep;
    json_t *arr = json_array();

    if (core_redis_cmdf(r, &rep, err, "LRANGE js:tip:inbox:%s 0 %d", who, (int)limit - 1) != 0) {
        json_decref(arr);
        return NULL;
    }
    for (size_t i = 0; i < rep->elements; i++) {
        json_t *j = json_loadb(rep->element[i]->str, rep->element[i]->len, 0, NULL);

        if (j != NULL)
            json_array_append_new(arr, j);
    }
    freeReplyObject(rep);
    return arr;
}
