/*
 * tests/integration/test_moderation_redis.c - the moderation engine with a
 * real redis-server: near-duplicates are counted across members and
 * groups (a chain posted in many villages is held), feedback written by
 * one engine reaches another through js:mod:feedback exactly once and
 * carries no message text, operator phrases in js:mod:phrases take effect,
 * keys stay under js:mod: with expiry, and moderation goes on when Redis is
 * down.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/redis.h"
#include "moderation/engine.h"
#include "moderation/model.h"
#include "tests/harness/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    char *dir;
    struct th_redis redis;
    struct core_redis *conn;
    struct mod_engine *a;
    struct mod_engine *b;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct core_redis_opts o;
    struct mod_opts mo;
    struct core_err err;

    f->dir = th_tmpdir("mod-redis");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    memset(&o, 0, sizeof o);
    o.addr = f->redis.addr;
    o.timeout_ms = 2000;
    f->conn = core_redis_new(&o);
    mod_opts_default(&mo);
    f->a = mod_engine_new(&mo, &err);
    f->b = mod_engine_new(&mo, &err);
    if (f->a == NULL || f->b == NULL)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    mod_engine_free(f->a);
    mod_engine_free(f->b);
    core_redis_free(f->conn);
    th_redis_stop(&f->redis, 0);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static const char neutral[] =
    "कल शाम पंचायत भवन के पास एक सफेद "
        "गाड़ी बहुत देर तक खड़ी रही, "
    "उसमें चार लोग बैठे थे जो किसी से बात "
        "नहीं कर रहे थे";

static struct mod_post post_by(const char *text, const char *member, const char *group)
{
    struct mod_post p;

    memset(&p, 0, sizeof p);
    p.text = text;
    p.len = strlen(text);
    p.member_id = member;
    p.group_id = group;
    return p;
}

static void test_chain_across_members_and_groups(void **state)
{
    struct fixture *f = *state;
    struct core_err err;
    struct mod_result r;
    char member[32];
    char group[32];
    char first_fp[MOD_FP_ID_HEX];
    char text[1024];
    int i;

    /* one member posting it: relayed */
    struct mod_post p = post_by(neutral, "m0", "g0");

    assert_int_equal(mod_classify(f->a, f->conn, &p, &r, &err), 0);
    assert_int_equal(r.verdict, MOD_RELAY);
    assert_int_equal(r.seen_posts, 1);
    assert_int_equal(r.seen_members, 1);
    snprintf(first_fp, sizeof first_fp, "%s", r.fingerprint);
    assert_int_equal(strlen(first_fp), 16);
    mod_result_cleanup(&r);
    /* copies with personal lines, from other members in other villages,
     * through both engines (two processes sharing Redis) */
    for (i = 1; i < 6; i++) {
        struct mod_engine *e = i % 2 ? f->a : f->b;

        snprintf(member, sizeof member, "m%d", i);
        snprintf(group, sizeof group, "g%d", i % 4);
        snprintf(text, sizeof text, "%s %s",
            i % 2 ? "भाइयों ध्यान दें:" : "", neutral);
        p = post_by(text, member, group);
        assert_int_equal(mod_classify(e, f->conn, &p, &r, &err), 0);
        assert_string_equal(r.fingerprint, first_fp);
        assert_int_equal(r.seen_posts, i + 1);
        assert_int_equal(r.seen_members, i + 1);
        if (i < 4) {
            assert_int_equal(r.verdict, MOD_RELAY);
        } else {
            /* 5+ members in 3+ groups: a chain, however innocent it looks */
            assert_int_equal(r.verdict, MOD_HOLD);
            assert_string_equal(r.rule, "chain_spread");
            assert_non_null(strstr(core_buf_str(&r.reasons), "\"members\":"));
        }
        mod_result_cleanup(&r);
    }
    assert_int_equal(th_redis_int(&f->redis, "PFCOUNT js:mod:fp:{%s}:g", first_fp), 4);
    /* the same member again does not inflate the member count */
    p = post_by(neutral, "m0", "g0");
    assert_int_equal(mod_classify(f->a, f->conn, &p, &r, &err), 0);
    assert_int_equal(r.seen_members, 6);
    assert_int_equal(r.seen_posts, 7);
    mod_result_cleanup(&r);
    /* an unrelated post is another cluster */
    p = post_by("हमारे टोले में तीन दिन से बिजली "
        "नहीं है, ट्रांसफार्मर जल गया है, "
            "कोई सुनवाई "
                "नहीं हो रही",
                "m1", "g1");
    assert_int_equal(mod_classify(f->a, f->conn, &p, &r, &err), 0);
    assert_string_not_equal(r.fingerprint, first_fp);
    assert_int_equal(r.seen_posts, 1);
    mod_result_cleanup(&r);
}

static void test_keys_and_expiry(void **state)
{
    struct fixture *f = *state;
    struct mod_post p = post_by(neutral, "member-123", "group-456");
    struct mod_result r;
    struct core_err err;
    redisReply *keys;
    size_t i;

    assert_int_equal(mod_classify(f->a, f->conn, &p, &r, &err), 0);
    mod_result_cleanup(&r);
    keys = th_redis_cmd(&f->redis, "KEYS *");
    assert_non_null(keys);
    assert_true(keys->elements >= 4);
    for (i = 0; i < keys->elements; i++) {
        const char *k = keys->element[i]->str;

        assert_int_equal(strncmp(k, "js:mod:", 7), 0);
        assert_null(strstr(k, "member-123")); /* ids are hashed */
        if (strncmp(k, "js:mod:fp:", 10) == 0 || strncmp(k, "js:mod:lsh:", 11) == 0) {
            long long ttl = th_redis_int(&f->redis, "TTL %s", k);

            assert_true(ttl > 0 && ttl <= 86400);
        }
    }
    freeReplyObject(keys);
}

static void test_feedback_reaches_other_engines(void **state)
{
    static const char spam[] = "Jio lucky draw: aapka number jeeta hai iPhone, abhi claim "
                               "karo apna inaam turant link par";
    struct fixture *f = *state;
    struct mod_post p = post_by(spam, NULL, NULL);
    struct mod_post copy;
    struct mod_result r;
    struct core_err err;
    redisReply *entries;
    char buf[512];
    size_t i;

    snprintf(buf, sizeof buf, "dekho bhai %s 🙏", spam);
    copy = post_by(buf, NULL, NULL);
    assert_int_equal(mod_classify(f->b, f->conn, &copy, &r, &err), 0);
    assert_string_not_equal(r.rule, "known_bad");
    mod_result_cleanup(&r);
    /* a moderator's decision in process A */
    assert_int_equal(mod_feedback(f->a, f->conn, &p, MOD_COMMERCIAL, MOD_FB_LEARN | MOD_FB_MARK,
                                  &err),
                     0);
    assert_int_equal(th_redis_int(&f->redis, "XLEN js:mod:feedback"), 1);
    /* A applied it already; B applies it on its next sync, exactly once */
    assert_int_equal(mod_engine_sync(f->a, f->conn, &err), 0);
    assert_int_equal(mod_engine_sync(f->b, f->conn, &err), 1);
    assert_int_equal(mod_engine_sync(f->b, f->conn, &err), 0);
    assert_int_equal(mod_classify(f->b, f->conn, &copy, &r, &err), 0);
    assert_int_equal(r.verdict, MOD_DROP);
    assert_string_equal(r.rule, "known_bad");
    assert_int_equal(r.label, MOD_COMMERCIAL);
    mod_result_cleanup(&r);
    assert_true(mod_engine_model(f->b)->learned == mod_engine_model(f->a)->learned);
    /* the stream holds hashed features and a fingerprint, never the text */
    entries = th_redis_cmd(&f->redis, "XRANGE js:mod:feedback - +");
    assert_non_null(entries);
    assert_int_equal(entries->elements, 1);
    for (i = 0; i < entries->element[0]->element[1]->elements; i++) {
        const redisReply *v = entries->element[0]->element[1]->element[i];

        assert_null(memmem(v->str, v->len, "lucky", 5));
        assert_null(memmem(v->str, v->len, "iPhone", 6));
    }
    freeReplyObject(entries);
}

static void test_operator_phrases(void **state)
{
    struct fixture *f = *state;
    struct mod_post p = post_by("नया ऑफर: झुमरू स्कीम में "
        "पैसा लगाओ, बहुत फायदा होगा", NULL,
                                NULL);
    struct mod_result r;
    struct core_err err;
    redisReply *rep;

    rep = th_redis_cmd(&f->redis, "SADD js:mod:phrases %s",
        "block\tcommercial\tझुमरू स्कीम");
    freeReplyObject(rep);
    th_redis_int(&f->redis, "INCR js:mod:phrases:ver");
    assert_true(mod_engine_sync(f->b, f->conn, &err) >= 0);
    assert_int_equal(mod_classify(f->b, f->conn, &p, &r, &err), 0);
    assert_int_equal(r.verdict, MOD_DROP);
    assert_string_equal(r.rule, "block_list");
    mod_result_cleanup(&r);
    /* a malformed operator line is not applied, and the lists in use stay */
    rep = th_redis_cmd(&f->redis, "SADD js:mod:phrases %s", "nonsense line");
    freeReplyObject(rep);
    th_redis_int(&f->redis, "INCR js:mod:phrases:ver");
    assert_true(mod_engine_sync(f->b, f->conn, &err) >= 0);
    assert_int_equal(mod_classify(f->b, f->conn, &p, &r, &err), 0);
    assert_string_equal(r.rule, "block_list");
    mod_result_cleanup(&r);
}

static void test_redis_down(void **state)
{
    struct fixture *f = *state;
    struct mod_post p = post_by(neutral, "m9", "g9");
    struct mod_result r;
    struct core_err err;

    th_redis_stop(&f->redis, 1);
    assert_int_equal(mod_classify(f->a, f->conn, &p, &r, &err), 0);
    assert_int_equal(r.verdict, MOD_RELAY);
    assert_non_null(strstr(core_buf_str(&r.reasons), "fingerprint store unavailable"));
    assert_int_equal(r.seen_posts, -1);
    mod_result_cleanup(&r);
    assert_int_equal(mod_feedback(f->a, f->conn, &p, MOD_LEGIT, MOD_FB_LEARN, &err), -1);
    assert_int_equal(err.code, 69);
    assert_int_equal(mod_engine_sync(f->a, f->conn, &err), -1);
    /* back up: everything works again */
    assert_int_equal(th_redis_start(&f->redis, f->dir), 0);
    th_sleep_ms(2200); /* past the connection backoff */
    assert_int_equal(mod_classify(f->a, f->conn, &p, &r, &err), 0);
    assert_true(r.seen_posts >= 1);
    mod_result_cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chain_across_members_and_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feedback_reaches_other_engines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_operator_phrases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_down, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
