/*
 * tests/unit/test_grp_post.c - group posts against a real redis-server: the
 * relay fan-out (who receives, labels and language frames, the 24-hour
 * window, the daily budget, a replay queues and charges nothing twice),
 * post ids, the thana of a locality, the review decisions (approve relays
 * once, the other decision is refused, rejection needs a label, only HQ
 * officers moderate, audit records) and the inbox, and the API body parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/redis.h"
#include "core/util.h"
#include "crypto/audit.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "crypto/vault.h"
#include "gateway/outbox.h"
#include "groups/import.h"
#include "groups/post.h"
#include "groups/relay.h"
#include "groups/review.h"
#include "tests/harness/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PNID "106540352242922"
#define BULK_LANE "js:out:{" PNID "}:2"

struct fixture {
    char *dir;
    struct th_redis redis;
    struct core_redis *r;
    struct cry_keys *keys;
    struct cry_identity *id;
    struct cry_audit *audit;
    struct core_cfg cfg;
    struct grp_posts *posts;
    int serial;
};

static int setup(void **state)
{
    static const char *const kinds[] = {"state", "district", "thana", "beat", "locality"};
    struct fixture *f = calloc(1, sizeof *f);
    struct core_redis_opts o;
    struct core_err err;
    unsigned char root[32];
    unsigned char seed[32];

    f->dir = th_tmpdir("grp-post");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    memset(&o, 0, sizeof o);
    o.addr = f->redis.addr;
    f->r = core_redis_new(&o);
    for (int i = 0; i < 32; i++) {
        root[i] = (unsigned char)(i + 7);
        seed[i] = (unsigned char)(60 + i);
    }
    f->keys = cry_keys_from_bytes(root, seed);
    cry_keys_set_version(f->keys, 1);
    f->id = cry_identity_new(f->keys);
    f->audit = cry_audit_new(f->keys);
    setenv("JANSEVA_PRICE_UTILITY_INR", "0.2", 1);
    setenv("JANSEVA_POST_DAILY_BUDGET_INR", "0.5", 1); /* two templates a day */
    if (core_cfg_load(&f->cfg, NULL, &err) != 0)
        return -1;
    unsetenv("JANSEVA_PRICE_UTILITY_INR");
    unsetenv("JANSEVA_POST_DAILY_BUDGET_INR");
    f->posts = grp_posts_new(&f->cfg, f->keys, f->audit, NULL);
    for (int i = 0; i < 5; i++) {
        char path[128];
        size_t len = 0;
        char *data;
        struct grp_import_opts io;
        struct grp_import_result res;

        snprintf(path, sizeof path, "data/sample-hierarchy/%s.csv", kinds[i]);
        data = th_read_file(path, &len);
        if (data == NULL)
            return -1;
        grp_import_opts_init(&io, (enum grp_kind)i);
        if (grp_import(f->r, path, data, len, &io, stderr, &res, &err) != 0)
            return -1;
        free(data);
    }
    {
        static const char offs[] = "code,unit,role,name,phone\n"
                                   "SHO-DNP,PAT-DNP,sho,SHO Danapur,919800040001\n"
                                   "HQ-1,BR,hq,HQ control room,919800040004\n";
        struct grp_import_opts io;
        struct grp_import_result res;

        grp_import_opts_init(&io, GRP_LOCALITY);
        if (grp_import_officers(f->r, f->id, NULL, "cli:test", "o.csv", offs, strlen(offs), &io,
                                stderr, &res, &err) != 0)
            return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    grp_posts_free(f->posts);
    core_cfg_cleanup(&f->cfg);
    cry_audit_free(f->audit);
    cry_identity_free(f->id);
    cry_keys_free(f->keys);
    core_redis_free(f->r);
    th_redis_stop(&f->redis, 0);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* A member of `loc`; last inbound `ago` s ago (< 0 never). */
static void member(struct fixture *f, const char *loc, const char *st, const char *lang, long ago,
                   char mid[CRY_MID_LEN])
{
    char wa[24];
    struct core_err err;
    int created;

    snprintf(wa, sizeof wa, "9197100%05d", ++f->serial);
    assert_int_equal(cry_identity_resolve(f->id, f->r, wa, NULL, NULL, 0, mid, &created, &err),
                     0);
    th_member_set(&f->redis, mid, "st", st, "g", loc, "lang", lang, NULL);
    if (ago >= 0) {
        char li[24];

        snprintf(li, sizeof li, "%lld", (long long)(core_now_ms() / 1000 - ago));
        th_member_set(&f->redis, mid, "li", li, NULL);
    }
    th_group_add(&f->redis, loc, mid);
}

/* Entries of the bulk lane: recipient and opened payload. */
struct entry {
    char mid[CRY_MID_LEN];
    json_t *payload;
};

static size_t bulk(struct fixture *f, struct entry *out, size_t max)
{
    redisReply *rep = th_redis_cmd(&f->redis, "XRANGE %s - +", BULK_LANE);
    size_t n = 0;

    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements && n < max; i++) {
        const redisReply *fl = rep->element[i]->element[1];
        const char *kh = NULL;
        struct core_err err;

        memset(&out[n], 0, sizeof out[n]);
        for (size_t k = 0; k + 1 < fl->elements; k += 2) {
            if (strcmp(fl->element[k]->str, "k") == 0)
                kh = fl->element[k + 1]->str;
            else if (strcmp(fl->element[k]->str, "m") == 0)
                snprintf(out[n].mid, sizeof out[n].mid, "%s", fl->element[k + 1]->str);
        }
        assert_non_null(kh);
        /* a fan-out's entries name a shared body ("r"), others carry "p" */
        out[n].payload = gw_outbox_entry_open(f->r, f->keys, PNID, fl, &err);
        if (out[n].payload == NULL)
            fail_msg("entry %zu: %s", i, err.msg);
        n++;
    }
    freeReplyObject(rep);
    return n;
}

static void entries_free(struct entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(e[i].payload);
}

static const char *body_of(const struct entry *e)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(e->payload, "message"), "text"),
                        "body"));
}

static void test_ids_and_thana(void **state)
{
    struct fixture *f = *state;
    char a[GRP_POST_ID_LEN];
    char b[GRP_POST_ID_LEN];
    char th[GRP_CODE_MAX + 1];
    struct core_err err;

    grp_post_id("event-1", a);
    grp_post_id("event-1", b);
    assert_string_equal(a, b); /* a replayed event names the same post */
    grp_post_id("event-2", b);
    assert_string_not_equal(a, b);
    assert_true(grp_post_id_ok(a));
    assert_false(grp_post_id_ok("ABCDEF0123456789"));
    assert_false(grp_post_id_ok("0123"));
    assert_int_equal(grp_post_thana_of(f->r, "KHG-01", th, &err), 0);
    assert_string_equal(th, "PAT-DNP");
    assert_int_equal(grp_post_thana_of(f->r, "PAT-DNP", th, &err), 0);
    assert_string_equal(th, "PAT-DNP");
    assert_int_equal(grp_post_thana_of(f->r, "BR", th, &err), 0);
    assert_string_equal(th, "");
    assert_int_equal(grp_post_thana_of(f->r, "NOPE", th, &err), 0);
    assert_string_equal(th, "");
}

static void test_fanout_window_budget_replay(void **state)
{
    struct fixture *f = *state;
    char author[CRY_MID_LEN];
    char hi_in[CRY_MID_LEN], en_in[CRY_MID_LEN], out1[CRY_MID_LEN], out2[CRY_MID_LEN],
        out3[CRY_MID_LEN], left[CRY_MID_LEN], muted[CRY_MID_LEN], other[CRY_MID_LEN];
    json_t *content = json_pack("{s:s,s:s}", "type", "text", "text", "सड़क पर पेड़ गिरा है");
    struct grp_relay_post p;
    struct grp_relay_stats st;
    struct entry e[16];
    struct core_err err;
    size_t n;
    long long cost = 0, charged = 0, skipped = 0;
    int seen_hi = 0, seen_en = 0, seen_out = 0;

    member(f, "MNR-01", "active", "hi", 100, author);
    member(f, "MNR-01", "active", "hi", 100, hi_in);
    member(f, "MNR-01", "active", "en", 100, en_in);
    member(f, "MNR-01", "active", "hi", 200000, out1);
    member(f, "MNR-01", "active", "hi", -1, out2);
    member(f, "MNR-01", "active", "hi", -1, out3);
    member(f, "MNR-01", "muted", "hi", 100, muted);
    member(f, "MNR-01", "active", "hi", 100, left);
    th_member_set(&f->redis, left, "st", "left", NULL);
    member(f, "MNR-02", "active", "hi", 100, other); /* another group: never */
    memset(&p, 0, sizeof p);
    p.pid = "00000000000000aa";
    p.code = "MNR-01";
    p.name_hi = "मनेर";
    p.name_en = "Maner";
    p.author_mid = author;
    p.label_code = "K7Q2";
    p.number = PNID;
    p.content = content;
    memset(&st, 0, sizeof st);
    assert_int_equal(grp_relay_fanout(f->r, f->keys, &f->posts->relay, &p, core_now_ms() / 1000,
                                      &st, &err),
                     0);
    /* hi_in, en_in, muted (in window, free) + 2 of the 3 outside (budget 0.5 / 0.2) */
    assert_int_equal(st.queued, 5);
    assert_int_equal(st.charged, 2);
    assert_int_equal(st.skipped_budget, 1);
    assert_int_equal(st.not_receiving, 1);
    assert_int_equal(st.cost, 4000);
    n = bulk(f, e, 16);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        const char *b = body_of(&e[i]);

        assert_string_not_equal(e[i].mid, author);
        assert_string_not_equal(e[i].mid, left);
        assert_string_not_equal(e[i].mid, other);
        assert_non_null(strstr(b, "सड़क पर पेड़ गिरा है"));
        if (strcmp(e[i].mid, en_in) == 0) {
            assert_non_null(strstr(b, "Member K7Q2"));
            assert_non_null(strstr(b, "Maner"));
            seen_en = 1;
        } else {
            assert_non_null(strstr(b, "सदस्य K7Q2"));
            assert_non_null(strstr(b, "मनेर"));
            seen_hi = 1;
        }
        if (strcmp(e[i].mid, out1) == 0 || strcmp(e[i].mid, out2) == 0 ||
            strcmp(e[i].mid, out3) == 0) {
            json_t *fb = json_object_get(e[i].payload, "fallback");

            seen_out++;
            assert_string_equal(json_string_value(json_object_get(
                                    json_object_get(fb, "template"), "name")),
                                "janseva_group_post");
        }
    }
    assert_true(seen_hi && seen_en);
    assert_int_equal(seen_out, 2);
    entries_free(e, n);
    assert_int_equal(grp_relay_day(f->r, "MNR-01", core_now_ms() / 1000, &cost, &charged, NULL,
                                   &skipped, &err),
                     0);
    assert_int_equal(cost, 4000);
    assert_int_equal(charged, 2);
    assert_int_equal(skipped, 1);
    /* a replay (event redelivered, approval repeated): nothing new, nothing charged */
    memset(&st, 0, sizeof st);
    assert_int_equal(grp_relay_fanout(f->r, f->keys, &f->posts->relay, &p, core_now_ms() / 1000,
                                      &st, &err),
                     0);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.duplicate, 3); /* the free ones; the budget is spent now */
    assert_int_equal(th_redis_int(&f->redis, "XLEN %s", BULK_LANE), 5);
    assert_int_equal(grp_relay_day(f->r, "MNR-01", core_now_ms() / 1000, &cost, NULL, NULL, NULL,
                                   &err),
                     0);
    assert_int_equal(cost, 4000);
    json_decref(content);
}

/* A stored held post, as the flow writes it. */
static void held_post(struct fixture *f, const char *pid, const char *author, const char *text)
{
    char *c = NULL;
    json_t *content = json_pack("{s:s,s:s}", "type", "text", "text", text);
    unsigned char sealed[1024];
    size_t sl = 0;
    struct core_err err;
    int added;

    c = json_dumps(content, JSON_COMPACT);
    assert_int_equal(cry_vault_seal(f->keys, CRY_VAULT_PII, pid, "post", c, strlen(c), sealed,
                                    sizeof sealed, &sl, &err),
                     0);
    freeReplyObject(th_redis_cmd(&f->redis,
                                 "HSET js:post:{%s} g MNR-01 th PAT-DNP m %s lbl K7Q2 n " PNID
                                 " ty text t 1000 v hold lb political u 0 r 0 st held d {} c %b",
                                 pid, author, sealed, sl));
    assert_int_equal(grp_review_hold(f->r, pid, 1000, &added, &err), 0);
    assert_int_equal(added, 1);
    assert_int_equal(grp_review_hold(f->r, pid, 1000, &added, &err), 0);
    assert_int_equal(added, 0);
    free(c);
    json_decref(content);
}

static void test_review_decisions(void **state)
{
    struct fixture *f = *state;
    char author[CRY_MID_LEN];
    char reader[CRY_MID_LEN];
    struct grp_review_actor op;
    struct grp_review_actor sho;
    struct core_err err;
    json_t *l;
    json_t *j = NULL;
    const char *pid = "00000000000000bb";

    freeReplyObject(th_redis_cmd(&f->redis, "DEL " BULK_LANE " js:review"));
    member(f, "MNR-03", "active", "hi", 100, author);
    member(f, "MNR-03", "active", "hi", 100, reader);
    th_group_del(&f->redis, "MNR-03", author);
    th_group_del(&f->redis, "MNR-03", reader);
    th_member_set(&f->redis, author, "g", "MNR-01", NULL);
    th_member_set(&f->redis, reader, "g", "MNR-01", NULL);
    freeReplyObject(th_redis_cmd(&f->redis, "DEL js:u:{MNR-01}:mem"));
    th_group_add(&f->redis, "MNR-01", author);
    th_group_add(&f->redis, "MNR-01", reader);
    held_post(f, pid, author, "कल मुखिया जी की सभा है");
    l = grp_review_list(f->posts, f->r, 10, &err);
    assert_int_equal(json_array_size(l), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(l, 0), "content"), "text")),
                        "कल मुखिया जी की सभा है");
    json_decref(l);
    memset(&op, 0, sizeof op);
    snprintf(op.name, sizeof op.name, "cli:test");
    memset(&sho, 0, sizeof sho);
    sho.officer = true;
    assert_int_equal(grp_off_find_code(f->r, "SHO-DNP", &sho.off, &err), 1);
    snprintf(sho.name, sizeof sho.name, "officer:SHO-DNP");
    assert_int_equal(grp_review_decide(f->posts, f->r, &sho, pid, true, NULL, NULL, NULL, &err),
                     GRP_REVIEW_EFORBIDDEN);
    assert_int_equal(grp_review_decide(f->posts, f->r, &op, pid, false, NULL, NULL, NULL, &err),
                     GRP_REVIEW_EINVALID);
    assert_int_equal(grp_review_decide(f->posts, f->r, &op, pid, true, "nonsense", NULL, NULL,
                                       &err),
                     GRP_REVIEW_EINVALID);
    assert_int_equal(grp_review_decide(f->posts, f->r, &op, "00000000000000cc", true, NULL, NULL,
                                       NULL, &err),
                     GRP_REVIEW_ENOTFOUND);
    assert_int_equal(grp_review_decide(f->posts, f->r, &op, pid, true, "legit", "useful", &j,
                                       &err),
                     GRP_REVIEW_OK);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "approved");
    assert_string_equal(json_string_value(json_object_get(j, "decided_by")), "cli:test");
    json_decref(j);
    assert_int_equal(th_redis_int(&f->redis, "XLEN %s", BULK_LANE), 1); /* the reader */
    assert_int_equal(th_redis_int(&f->redis, "ZCARD js:review"), 0);
    /* again: OK, nothing more; the other way: refused */
    assert_int_equal(grp_review_decide(f->posts, f->r, &op, pid, true, NULL, NULL, NULL, &err),
                     GRP_REVIEW_OK);
    assert_int_equal(th_redis_int(&f->redis, "XLEN %s", BULK_LANE), 1);
    assert_int_equal(grp_review_decide(f->posts, f->r, &op, pid, false, "political", NULL, NULL,
                                       &err),
                     GRP_REVIEW_ESTATE);
    {
        redisReply *rep = th_redis_cmd(&f->redis, "XREVRANGE js:{audit}:log + - COUNT 1");

        assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
        assert_int_equal(rep->elements, 1);
        freeReplyObject(rep);
    }
}

static void test_inbox(void **state)
{
    struct fixture *f = *state;
    struct core_err err;
    int added;
    json_t *l;

    freeReplyObject(th_redis_cmd(&f->redis, "HSET js:post:{00000000000000dd} st relayed t 5"));
    assert_int_equal(grp_review_inbox_add(f->r, "PAT-DNP", "00000000000000dd", 5, &added, &err),
                     0);
    assert_int_equal(added, 1);
    assert_int_equal(grp_review_inbox_add(f->r, "PAT-DNP", "00000000000000dd", 5, &added, &err),
                     0);
    assert_int_equal(added, 0);
    assert_int_equal(th_redis_int(&f->redis, "ZCARD js:inbox:{PAT-DNP}"), 1);
    l = grp_review_inbox_list(f->posts, f->r, "PAT-DNP", 10, &err);
    assert_non_null(l);
    assert_int_equal(json_array_size(l), 0); /* a record whose content is missing is skipped */
    json_decref(l);
}

static int parse(const char *body, struct grp_review_body *b)
{
    char why[200];

    return grp_review_parse_body(body, strlen(body), b, why, sizeof why);
}

static void test_body_parser(void **state)
{
    struct grp_review_body b;

    (void)state;
    assert_int_equal(parse("", &b), 0);
    grp_review_body_free(&b);
    assert_int_equal(parse("{\"label\":\"hostile\",\"reason\":\"x\"}", &b), 0);
    assert_string_equal(b.label, "hostile");
    grp_review_body_free(&b);
    assert_int_equal(parse("{\"label\":\"x\"}", &b), -1);
    grp_review_body_free(&b);
    assert_int_equal(parse("{\"who\":\"x\"}", &b), -1);
    grp_review_body_free(&b);
    assert_int_equal(parse("[1]", &b), -1);
    grp_review_body_free(&b);
    assert_int_equal(parse("{\"label\":1}", &b), -1);
    grp_review_body_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_and_thana),
        cmocka_unit_test(test_fanout_window_budget_replay),
        cmocka_unit_test(test_review_decisions),
        cmocka_unit_test(test_inbox),
        cmocka_unit_test(test_body_parser),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
