/*
 * tests/unit/test_tip_reveal.c - the reveal ceremony (groups/tipreveal)
 * against a real redis-server, with the requester's ceremony in a thread:
 * a 2-of-3 reveal opens exactly the case's identity, audited in order
 * (request, approvals, open) and notified to the requester and every
 * custodian (an officer custodian also by WhatsApp); nothing of it stays in
 * Redis. Every refusal path: unknown case, short reason, unknown request,
 * nobody holding the ceremony, a tampered share (the public-key check), the
 * same custodian twice, a share used twice, another custodian's share,
 * another key's share, an unknown custodian, an expired request, someone
 * else holding the ceremony, a custodian declining, a sealed identity moved
 * from another case, and an audit log that cannot be written (no record,
 * no reveal). Each refusal is audited and reveals nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/redis.h"
#include "core/util.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "crypto/reveal.h"
#include "groups/tip.h"
#include "groups/tipreveal.h"
#include "tests/harness/harness.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PNID "106540352242922"
#define WA1 "919812345678"
#define NAME1 "\xe0\xa4\xb8\xe0\xa5\x81\xe0\xa4\xa8\xe0\xa5\x80\xe0\xa4\xa4\xe0\xa4\xbe \"Sunita\""
#define REASON "FIR 112/2026 PS Danapur, court order dated 20.11.2026"
#define ACTOR "cli:requester"

struct fixture {
    char *dir;
    struct th_redis redis;
    struct core_redis *r;
    struct core_redis_opts ro;
    struct cry_keys *keys;
    struct cry_identity *id;
    struct core_cfg cfg;
    struct grp_tip *t;
    struct cry_reveal_meta rm;
    char paths[CRY_REVEAL_MAX_CUSTODIANS][CRY_REVEAL_PATH_MAX];
    struct cry_reveal_share *s[3];
    char mid1[CRY_MID_LEN];
    char officer[CRY_MID_LEN];
    struct grp_tip_case c;
    int seq;
};

static char phone_list[] = PNID;
static char *phones[1] = {phone_list};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct core_err err;
    const char *ids[3] = {"dig-patna", "sp-cid", "adg-hq"};
    const char *offs[3] = {NULL, NULL, NULL};
    struct cry_reveal_params p = {3, 2, ids, offs};
    unsigned char root[32], seed[32];
    char keys_dir[600], share_dir[600];
    struct gw_router_ctx ctx;
    struct gw_event ev;
    int created;

    f->dir = th_tmpdir("tiprv");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    f->ro.addr = f->redis.addr;
    f->ro.timeout_ms = 5000;
    f->r = core_redis_new(&f->ro);
    for (int i = 0; i < 32; i++) {
        root[i] = (unsigned char)(200 - i);
        seed[i] = (unsigned char)i;
    }
    f->keys = cry_keys_from_bytes(root, seed);
    cry_keys_set_version(f->keys, 1);
    f->id = cry_identity_new(f->keys);
    if (core_cfg_load(&f->cfg, NULL, &err) != 0)
        return -1;
    f->cfg.phone_numbers = phones;
    f->cfg.n_phone_numbers = 1;
    f->cfg.tip_reveal_ttl_s = 600;
    /* the officer custodian: a member with an officer record */
    if (cry_identity_resolve(f->id, f->r, "919900000001", NULL, "Officer", 1763800000, f->officer,
                             &created, &err) != 0)
        return -1;
    offs[1] = f->officer;
    f->t = grp_tip_new(&f->cfg, f->keys, f->id);
    snprintf(keys_dir, sizeof keys_dir, "%s/keys", f->dir);
    snprintf(share_dir, sizeof share_dir, "%s/shares", f->dir);
    mkdir(keys_dir, 0700);
    if (cry_reveal_create(keys_dir, share_dir, &p, &f->rm, f->paths, &err) != 0)
        return -1;
    grp_tip_set_reveal(f->t, &f->rm);
    for (int i = 0; i < 3; i++) {
        f->s[i] = cry_reveal_share_new();
        if (cry_reveal_share_read(f->paths[i], f->s[i], &err) != 0)
            return -1;
    }
    if (cry_identity_resolve(f->id, f->r, WA1, NULL, NAME1, 1763800000, f->mid1, &created,
                             &err) != 0)
        return -1;
    memset(&ctx, 0, sizeof ctx);
    ctx.redis = f->r;
    snprintf(ctx.member_id, sizeof ctx.member_id, "%s", f->mid1);
    snprintf(ctx.event_key, sizeof ctx.event_key, "%032x", 1);
    memset(&ev, 0, sizeof ev);
    ev.phone_number_id = PNID;
    ev.from = WA1;
    ev.name = NAME1; /* the profile name travels with the tip's message */
    ev.type = "text";
    ev.text = "TIP";
    if (grp_tip_open_case(f->t, &ctx, &ev, NULL, &f->c, &created, &err) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    for (int i = 0; i < 3; i++)
        cry_reveal_share_free(f->s[i]);
    grp_tip_free(f->t);
    f->cfg.phone_numbers = NULL;
    f->cfg.n_phone_numbers = 0;
    core_cfg_cleanup(&f->cfg);
    cry_identity_free(f->id);
    cry_keys_free(f->keys);
    core_redis_free(f->r);
    th_redis_stop(&f->redis, 0);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ======================= the requester's ceremony, in a thread ======================= */

struct waiter {
    struct fixture *f;
    char rid[GRP_TIPRV_ID_LEN];
    const char *actor;
    int64_t max_ms;
    int rc;
    struct core_err err;
    struct grp_tiprv_identity *id;
    pthread_t th;
};

static void *wait_main(void *arg)
{
    struct waiter *w = arg;
    struct core_redis *r = core_redis_new(&w->f->ro);

    w->rc = grp_tiprv_wait(w->f->t, r, w->actor, w->rid, w->max_ms, NULL, &w->id, &w->err);
    core_redis_free(r);
    return NULL;
}

struct live_cond {
    struct fixture *f;
    const char *rid;
};

static int is_live(void *ud)
{
    struct live_cond *l = ud;

    return th_redis_int(&l->f->redis, "EXISTS js:tip:rv:{%s}:live", l->rid) == 1;
}

static void start_waiter(struct fixture *f, struct waiter *w, const char *rid, const char *actor)
{
    struct live_cond l = {f, rid};

    memset(w, 0, sizeof *w);
    w->f = f;
    snprintf(w->rid, sizeof w->rid, "%s", rid);
    w->actor = actor;
    w->max_ms = 15000;
    assert_int_equal(pthread_create(&w->th, NULL, wait_main, w), 0);
    assert_int_equal(th_wait(is_live, &l, 5000), 0);
}

static void join_waiter(struct waiter *w)
{
    pthread_join(w->th, NULL);
}

static void request(struct fixture *f, struct grp_tiprv_info *in)
{
    struct core_err err;

    if (grp_tiprv_request(f->t, f->r, ACTOR, NULL, NULL, f->c.pseudonym, REASON, in, &err) != 0)
        fail_msg("request: %s", err.msg);
}

/* The audit actions so far, space-separated. */
static char *audit_actions(struct fixture *f)
{
    redisReply *rep = th_redis_cmd(&f->redis, "XRANGE js:{audit}:log - +");
    size_t cap = 65536, n = 0;
    char *out = calloc(1, cap);

    for (size_t i = 0; i < rep->elements; i++) {
        redisReply *fields = rep->element[i]->element[1];

        for (size_t k = 0; k + 1 < fields->elements; k += 2) {
            if (strcmp(fields->element[k]->str, "e") == 0) {
                json_t *e = json_loads(fields->element[k + 1]->str, 0, NULL);

                n += (size_t)snprintf(out + n, cap - n, "%s ",
                                      json_string_value(json_object_get(e, "action")));
                json_decref(e);
            }
        }
    }
    freeReplyObject(rep);
    return out;
}

static long count_of(const char *hay, const char *needle)
{
    long n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* ======================= success ======================= */

struct order_check {
    struct fixture *f;
    int opened;
    int audited_before;
};

/* At "opened" (the identity was just decrypted): is the reveal already in the log? */
static void check_order(const char *stage, void *ud)
{
    struct order_check *o = ud;
    char *actions;

    if (strcmp(stage, "opened") != 0)
        return;
    actions = audit_actions(o->f);
    o->opened = 1;
    o->audited_before = strstr(actions, "tip.reveal.open") != NULL;
    free(actions);
}

static void test_reveal_2_of_3(void **state)
{
    struct fixture *f = *state;
    struct grp_tiprv_info in, after;
    struct grp_tiprv_approval a;
    struct waiter w;
    struct core_err err;
    char *actions;
    json_t *notes;

    struct order_check order = {f, 0, 0};

    request(f, &in);
    assert_string_equal(in.state, "pending");
    assert_int_equal(in.threshold, 2);
    assert_string_equal(in.case_id, f->c.id);
    grp_tip_set_test_hook(f->t, check_order, &order);
    start_waiter(f, &w, in.id, ACTOR);
    assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:dig", in.id, "dig-patna", f->s[0], &a,
                                       &err),
                     0);
    assert_int_equal(a.count, 1);
    assert_int_equal(a.threshold, 2);
    assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:adg", in.id, "adg-hq", f->s[2], &a,
                                       &err),
                     0);
    assert_int_equal(a.count, 2);
    join_waiter(&w);
    grp_tip_set_test_hook(f->t, NULL, NULL);
    if (w.rc != 0)
        fail_msg("wait: %s", w.err.msg);
    /* the reveal was on record before the identity was decrypted */
    assert_int_equal(order.opened, 1);
    assert_int_equal(order.audited_before, 1);
    assert_non_null(w.id);
    assert_string_equal(w.id->wa_id, WA1);
    assert_string_equal(w.id->name, NAME1);
    assert_string_equal(w.id->case_id, f->c.id);
    assert_string_equal(w.id->pseudonym, f->c.pseudonym);
    assert_true(w.id->member_since > 1700000000);
    grp_tiprv_identity_free(w.id);
    assert_int_equal(grp_tiprv_get(f->t, f->r, in.id, &after, &err), 0);
    assert_string_equal(after.state, "revealed");
    /* the log: request, two approvals, then the reveal */
    actions = audit_actions(f);
    assert_non_null(strstr(actions, "tip.reveal.request tip.reveal.approve tip.reveal.approve "
                                    "tip.reveal.open "));
    free(actions);
    /* nothing of the ceremony stays */
    assert_int_equal(th_redis_int(&f->redis, "EXISTS js:tip:rv:{%s}:sh", in.id), 0);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS js:tip:rv:{%s}:live", in.id), 0);
    /* everyone is told: a notice per custodian and the requester */
    for (int i = 0; i < 4; i++) {
        const char *who[4] = {"custodian:dig-patna", "custodian:sp-cid", "custodian:adg-hq",
                              ACTOR};
        char *s;

        notes = grp_tiprv_notices(f->r, who[i], 50, &err);
        s = json_dumps(notes, JSON_COMPACT);
        assert_non_null(strstr(s, "\"event\":\"request\""));
        assert_non_null(strstr(s, "\"event\":\"approved\""));
        assert_non_null(strstr(s, "\"event\":\"revealed\""));
        assert_null(strstr(s, WA1)); /* notices never carry the identity */
        free(s);
        json_decref(notes);
    }
    /* the officer custodian also by WhatsApp (alert lane, to the officer's mid) */
    {
        redisReply *rep = th_redis_cmd(&f->redis, "XRANGE js:out:{" PNID "}:1 - +");
        int to_officer = 0;

        for (size_t i = 0; i < rep->elements; i++) {
            redisReply *fl = rep->element[i]->element[1];

            for (size_t k = 0; k + 1 < fl->elements; k += 2)
                if (strcmp(fl->element[k]->str, "m") == 0 &&
                    strcmp(fl->element[k + 1]->str, f->officer) == 0)
                    to_officer++;
        }
        assert_true(to_officer >= 4); /* request, two approvals, revealed */
        freeReplyObject(rep);
    }
    /* a revealed request cannot be approved again */
    assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:sp", in.id, "sp-cid", f->s[1], &a, &err),
                     -1);
    assert_non_null(strstr(err.msg, "revealed"));
}

/* ======================= refusals ======================= */

static long refusals(struct fixture *f)
{
    char *a = audit_actions(f);
    long n = count_of(a, "tip.reveal.refuse");

    free(a);
    return n;
}

static void test_refusals_before_the_ceremony(void **state)
{
    struct fixture *f = *state;
    struct grp_tiprv_info in;
    struct grp_tiprv_approval a;
    struct core_err err;
    long before = refusals(f);

    /* an unknown case */
    assert_int_equal(grp_tiprv_request(f->t, f->r, ACTOR, NULL, NULL, "T-2222-22", REASON, &in,
                                       &err),
                     -1);
    assert_int_equal(err.code, CORE_EX_NOINPUT);
    assert_non_null(strstr(err.msg, "unknown case"));
    assert_int_equal(refusals(f), before + 1);
    /* a reason is required */
    assert_int_equal(grp_tiprv_request(f->t, f->r, ACTOR, NULL, NULL, f->c.id, "because", &in,
                                       &err),
                     -1);
    assert_int_equal(err.code, CORE_EX_USAGE);
    /* an unknown request */
    assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:dig", "0123456789abcdef", "dig-patna",
                                       f->s[0], &a, &err),
                     -1);
    assert_int_equal(err.code, CORE_EX_NOINPUT);
    assert_int_equal(refusals(f), before + 2);
    /* nobody holds the ceremony */
    request(f, &in);
    assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:dig", in.id, "dig-patna", f->s[0], &a,
                                       &err),
                     -1);
    assert_int_equal(err.code, CORE_EX_TEMPFAIL);
    assert_non_null(strstr(err.msg, "nobody is holding the ceremony"));
    assert_int_equal(refusals(f), before + 3);
    assert_int_equal(th_redis_int(&f->redis, "HLEN js:tip:rv:{%s}:ap", in.id), 0);
}

static void test_refusals_during_the_ceremony(void **state)
{
    struct fixture *f = *state;
    struct grp_tiprv_info in;
    struct grp_tiprv_approval a;
    struct core_err err;
    struct waiter w;
    struct cry_reveal_share *other = cry_reveal_share_new();
    long before;

    request(f, &in);
    start_waiter(f, &w, in.id, ACTOR);
    before = refusals(f);
    assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:dig", in.id, "dig-patna", f->s[0], &a,
                                       &err),
                     0);
    /* the same custodian twice */
    assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:dig", in.id, "dig-patna", f->s[0], &a,
                                       &err),
                     -1);
    assert_int_equal(err.code, CORE_EX_NOPERM);
    assert_non_null(strstr(err.msg, "already approved"));
    /* a share used twice (custodian 2 with custodian 1's file) */
    assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:sp", in.id, "sp-cid", f->s[0], &a, &err),
                     -1);
    assert_int_equal(err.code, CORE_EX_NOPERM);
    assert_non_null(strstr(err.msg, "already used"));
    /* another custodian's share, not yet used */
    assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:sp", in.id, "sp-cid", f->s[2], &a, &err),
                     -1);
    assert_int_equal(err.code, CORE_EX_DATAERR);
    assert_non_null(strstr(err.msg, "not custodian sp-cid's"));
    /* an unknown custodian */
    assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:x", in.id, "intruder", f->s[1], &a,
                                       &err),
                     -1);
    assert_non_null(strstr(err.msg, "unknown custodian"));
    /* a share of another reveal key */
    *other = *f->s[1];
    memcpy(other->key_id, "0000000000000000", 17);
    assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:sp", in.id, "sp-cid", other, &a, &err),
                     -1);
    assert_non_null(strstr(err.msg, "another reveal key"));
    assert_int_equal(refusals(f), before + 5);
    assert_int_equal(th_redis_int(&f->redis, "HLEN js:tip:rv:{%s}:ap", in.id), 1);
    /* someone else cannot hold this ceremony */
    {
        struct grp_tiprv_identity *id = NULL;

        assert_int_equal(grp_tiprv_wait(f->t, f->r, "cli:other", in.id, 1000, NULL, &id, &err),
                         -1);
        assert_int_equal(err.code, CORE_EX_NOPERM);
        assert_null(id);
    }
    /* a tampered share (well formed): the public-key check refuses the request */
    {
        char text[CRY_REVEAL_SHARE_FILE_MAX];

        *other = *f->s[1];
        other->data[3] ^= 0x80;
        assert_true(cry_reveal_share_format(other, text, sizeof text) > 0);
        assert_int_equal(cry_reveal_share_parse(text, strlen(text), other, &err), 0);
        assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:sp", in.id, "sp-cid", other, &a,
                                           &err),
                         0);
    }
    join_waiter(&w);
    assert_int_equal(w.rc, -1);
    assert_int_equal(w.err.code, CORE_EX_DATAERR);
    assert_non_null(strstr(w.err.msg, "do not rebuild the reveal key"));
    assert_null(w.id);
    {
        char rid[GRP_TIPRV_ID_LEN];

        memcpy(rid, in.id, sizeof rid);
        assert_int_equal(grp_tiprv_get(f->t, f->r, rid, &in, &err), 0);
    }
    assert_string_equal(in.state, "refused");
    assert_int_equal(refusals(f), before + 6);
    {
        char *acts = audit_actions(f);

        assert_null(strstr(acts, "tip.reveal.open"));
        free(acts);
    }
    cry_reveal_share_free(other);
}

static void test_expired(void **state)
{
    struct fixture *f = *state;
    struct grp_tiprv_info in;
    struct grp_tiprv_approval a;
    struct grp_tiprv_identity *id = NULL;
    struct core_err err;
    long before;

    f->cfg.tip_reveal_ttl_s = 1;
    request(f, &in);
    before = refusals(f);
    th_sleep_ms(1300);
    assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:dig", in.id, "dig-patna", f->s[0], &a,
                                       &err),
                     -1);
    assert_int_equal(err.code, CORE_EX_TEMPFAIL);
    assert_non_null(strstr(err.msg, "expired"));
    assert_int_equal(grp_tiprv_wait(f->t, f->r, ACTOR, in.id, 1000, NULL, &id, &err), -1);
    assert_int_equal(err.code, CORE_EX_TEMPFAIL);
    assert_null(id);
    {
        char rid[GRP_TIPRV_ID_LEN];

        memcpy(rid, in.id, sizeof rid);
        assert_int_equal(grp_tiprv_get(f->t, f->r, rid, &in, &err), 0);
    }
    assert_string_equal(in.state, "expired");
    /* the expiry once, the refused approval once */
    assert_int_equal(refusals(f), before + 2);
    /* a ceremony that times out while waiting */
    f->cfg.tip_reveal_ttl_s = 2;
    request(f, &in);
    assert_int_equal(grp_tiprv_wait(f->t, f->r, ACTOR, in.id, 0, NULL, &id, &err), -1);
    assert_int_equal(err.code, CORE_EX_TEMPFAIL);
    assert_non_null(strstr(err.msg, "expired"));
}

static void test_denied(void **state)
{
    struct fixture *f = *state;
    struct grp_tiprv_info in;
    struct waiter w;
    struct core_err err;

    request(f, &in);
    start_waiter(f, &w, in.id, ACTOR);
    assert_int_equal(grp_tiprv_deny(f->t, f->r, "cli:adg", in.id, "adg-hq", "no court order",
                                    &err),
                     0);
    join_waiter(&w);
    assert_int_equal(w.rc, -1);
    assert_non_null(strstr(w.err.msg, "denied"));
    assert_null(w.id);
    {
        char rid[GRP_TIPRV_ID_LEN];

        memcpy(rid, in.id, sizeof rid);
        assert_int_equal(grp_tiprv_get(f->t, f->r, rid, &in, &err), 0);
    }
    assert_string_equal(in.state, "denied");
    assert_non_null(strstr(in.outcome, "no court order"));
}

static void test_moved_identity(void **state)
{
    struct fixture *f = *state;
    struct grp_tiprv_info in;
    struct grp_tiprv_approval a;
    struct grp_tip_case other;
    struct gw_router_ctx ctx;
    struct gw_event ev;
    struct waiter w;
    struct core_err err;
    redisReply *raw;
    int created;

    /* another case's sealed identity planted into this one */
    memset(&ctx, 0, sizeof ctx);
    ctx.redis = f->r;
    snprintf(ctx.member_id, sizeof ctx.member_id, "%s", f->officer);
    snprintf(ctx.event_key, sizeof ctx.event_key, "%032x", 99);
    memset(&ev, 0, sizeof ev);
    ev.type = "text";
    assert_int_equal(grp_tip_open_case(f->t, &ctx, &ev, NULL, &other, &created, &err), 0);
    raw = th_redis_cmd(&f->redis, "HGET js:tip:{%s} si", other.id);
    freeReplyObject(th_redis_cmd(&f->redis, "HSET js:tip:{%s} si %b", f->c.id, raw->str,
                                 raw->len));
    freeReplyObject(raw);
    request(f, &in);
    start_waiter(f, &w, in.id, ACTOR);
    assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:dig", in.id, "dig-patna", f->s[0], &a,
                                       &err),
                     0);
    assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:sp", in.id, "sp-cid", f->s[1], &a, &err),
                     0);
    join_waiter(&w);
    assert_int_equal(w.rc, -1);
    assert_int_equal(w.err.code, CORE_EX_DATAERR);
    assert_null(w.id);
    {
        char rid[GRP_TIPRV_ID_LEN];

        memcpy(rid, in.id, sizeof rid);
        assert_int_equal(grp_tiprv_get(f->t, f->r, rid, &in, &err), 0);
    }
    assert_string_equal(in.state, "refused");
}

static void break_audit(const char *stage, void *ud)
{
    struct fixture *f = ud;

    if (strcmp(stage, "combined") == 0)
        freeReplyObject(th_redis_cmd(&f->redis, "SET js:{audit}:head garbage"));
}

static void test_no_record_no_reveal(void **state)
{
    struct fixture *f = *state;
    struct grp_tiprv_info in;
    struct grp_tiprv_approval a;
    struct waiter w;
    struct core_err err;

    request(f, &in);
    start_waiter(f, &w, in.id, ACTOR);
    grp_tip_set_test_hook(f->t, break_audit, f);
    assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:dig", in.id, "dig-patna", f->s[0], &a,
                                       &err),
                     0);
    assert_int_equal(grp_tiprv_approve(f->t, f->r, "cli:sp", in.id, "sp-cid", f->s[1], &a, &err),
                     0);
    join_waiter(&w);
    grp_tip_set_test_hook(f->t, NULL, NULL);
    assert_int_equal(w.rc, -1);
    assert_int_equal(w.err.code, CORE_EX_UNAVAILABLE);
    assert_non_null(strstr(w.err.msg, "nothing was opened"));
    assert_null(w.id);
}

/* ======================= the identity parser ======================= */

static void test_identity_parse(void **state)
{
    struct grp_tiprv_identity *id = sodium_malloc(sizeof *id);
    static const char good[] =
        "{\"v\":1,\"case\":\"0123456789abcdef0123456789abcdef\",\"wa\":\"919812345678\","
        "\"uid\":\"\",\"name\":\"a \\\"q\\\" \\u0007 \\u00e9\",\"member_since\":17,"
        "\"opened_ms\":18}";

    (void)state;
    assert_int_equal(grp_tiprv_identity_parse(good, strlen(good), id), 0);
    assert_string_equal(id->wa_id, "919812345678");
    assert_string_equal(id->name, "a \"q\" \x07 \xc3\xa9");
    assert_int_equal(id->member_since, 17);
    assert_int_equal(grp_tiprv_identity_parse(good, strlen(good) - 1, id), -1);
    assert_int_equal(grp_tiprv_identity_parse("{}", 2, id), -1);
    assert_int_equal(grp_tiprv_identity_parse("{\"case\":\"x\"}", 12, id), -1);
    assert_int_equal(grp_tiprv_identity_parse("{\"case\":\"\\ud800\"}", 17, id), -1);
    assert_int_equal(grp_tiprv_identity_parse("[1]", 3, id), -1);
    sodium_free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reveal_2_of_3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_before_the_ceremony, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_during_the_ceremony, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_record_no_reveal, setup, teardown),
        cmocka_unit_test(test_identity_parse),
    };

    if (sodium_init() < 0)
        return 1;
    cry_reveal_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
