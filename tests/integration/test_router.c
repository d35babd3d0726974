/*
 * tests/integration/test_router.c - the router's delivery guarantees with a
 * real redis-server and the real binary: nothing lost across kill -9,
 * entries of a dead consumer claimed, duplicates handled once, poison
 * entries dead-lettered, a lost consumer group recreated.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/harness/harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    char *dir;
    struct th_redis redis;
    struct th_janseva app;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = th_tmpdir("router");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int rc = 0;

    if (f->app.proc.pid > 0 && th_janseva_stop(&f->app) != 0) {
        fprintf(stderr, "janseva did not stop cleanly (log: %s)\n", f->app.log_path);
        rc = -1;
    }
    th_redis_stop(&f->redis, 0);
    if (rc == 0)
        th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return rc;
}

static int start(struct fixture *f, const char *roles)
{
    char env_roles[64];
    const char *env[] = {env_roles, NULL};

    snprintf(env_roles, sizeof env_roles, "JANSEVA_ROLES=%s", roles);
    return th_janseva_start(&f->app, f->dir, &f->redis, env);
}

/* A webhook with two messages and one status, all unique to `n`. */
static char *batch_webhook(int n)
{
    char *out = NULL;

    if (asprintf(&out,
                 "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{"
                 "\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
                 "\"metadata\":{\"display_phone_number\":\"15550001111\",\"phone_number_id\":"
                 "\"106540352242922\"},\"contacts\":[{\"profile\":{\"name\":\"A\"},\"wa_id\":"
                 "\"9198%08d\"}],\"messages\":[{\"from\":\"9198%08d\",\"id\":\"wamid.a%d\","
                 "\"timestamp\":\"1763800000\",\"type\":\"text\",\"text\":{\"body\":\"x\"}},"
                 "{\"from\":\"9198%08d\",\"id\":\"wamid.b%d\",\"timestamp\":\"1763800001\","
                 "\"type\":\"text\",\"text\":{\"body\":\"y\"}}],\"statuses\":[{\"id\":"
                 "\"wamid.s%d\",\"status\":\"delivered\",\"timestamp\":\"1763800002\","
                 "\"recipient_id\":\"9198%08d\"}]}}]}]}",
                 n, n, n, n, n, n, n) < 0)
        return NULL;
    return out;
}

static long long count_keys(struct th_redis *r, const char *pattern)
{
    redisReply *rep = th_redis_cmd(r, "KEYS %s", pattern);
    long long n = rep != NULL && rep->type == REDIS_REPLY_ARRAY ? (long long)rep->elements : -1;

    if (rep != NULL)
        freeReplyObject(rep);
    return n;
}

struct want {
    struct fixture *f;
    long long seen;
};

static int all_handled(void *ud)
{
    struct want *w = ud;

    return th_redis_int(&w->f->redis, "XLEN js:in") == 0 &&
           count_keys(&w->f->redis, "js:seen:*") >= w->seen;
}

static void post_batches(struct fixture *f, int from, int to)
{
    int i;

    for (i = from; i < to; i++) {
        char *body = batch_webhook(i);

        assert_int_equal(th_post_webhook(&f->app, body, strlen(body)), 200);
        free(body);
    }
}

static void test_backlog_survives_kill_9(void **state)
{
    struct fixture *f = *state;
    struct want w = {f, 3 * 200};

    /* Only the endpoint runs: webhooks pile up, acknowledged with 200. */
    assert_int_equal(start(f, "http"), 0);
    post_batches(f, 0, 200);
    th_janseva_kill(&f->app);
    assert_int_equal(th_redis_int(&f->redis, "XLEN js:in"), 200);
    /* Redis itself restarts too (AOF) before the router comes up. */
    th_redis_stop(&f->redis, 0);
    assert_int_equal(th_redis_start(&f->redis, f->dir), 0);
    assert_int_equal(start(f, "all"), 0);
    assert_int_equal(th_wait(all_handled, &w, 30000), 0);
    assert_int_equal(count_keys(&f->redis, "js:seen:*"), 600); /* every event, once */
    assert_int_equal(th_redis_int(&f->redis, "XLEN js:in:dead"), 0);
    assert_int_equal(th_redis_int(&f->redis, "HGET js:router:stats messages"), 400);
    assert_int_equal(th_redis_int(&f->redis, "HGET js:router:stats statuses"), 200);
}

static void test_kill_9_while_routing_loses_nothing(void **state)
{
    struct fixture *f = *state;
    struct want w = {f, 3 * 300};
    int round;

    /* Crash the whole service three times while it is busy routing. */
    for (round = 0; round < 3; round++) {
        assert_int_equal(start(f, "all"), 0);
        post_batches(f, round * 100, round * 100 + 100);
        th_janseva_kill(&f->app);
    }
    assert_int_equal(start(f, "all"), 0);
    assert_int_equal(th_wait(all_handled, &w, 30000), 0);
    assert_int_equal(count_keys(&f->redis, "js:seen:*"), 900);
    assert_int_equal(th_redis_int(&f->redis, "XLEN js:in:dead"), 0);
    {
        redisReply *rep = th_redis_cmd(&f->redis, "XPENDING js:in router");

        assert_non_null(rep);
        assert_int_equal(rep->element[0]->integer, 0); /* nothing left pending */
        freeReplyObject(rep);
    }
}

static void test_entries_of_a_dead_consumer_are_claimed(void **state)
{
    struct fixture *f = *state;
    struct want w = {f, 3 * 5};
    redisReply *rep;

    assert_int_equal(start(f, "http"), 0);
    post_batches(f, 0, 5);
    assert_int_equal(th_janseva_stop(&f->app), 0);
    /* A consumer on another host reads them, then dies without acking. */
    rep = th_redis_cmd(&f->redis, "XGROUP CREATE js:in router 0 MKSTREAM");
    freeReplyObject(rep);
    rep = th_redis_cmd(&f->redis, "XREADGROUP GROUP router ghost-host-0 COUNT 100 STREAMS js:in >");
    assert_non_null(rep);
    freeReplyObject(rep);
    assert_int_equal(start(f, "all"), 0);
    /* claimed after router_claim_idle_ms (1 s in tests) */
    assert_int_equal(th_wait(all_handled, &w, 15000), 0);
    assert_int_equal(count_keys(&f->redis, "js:seen:*"), 15);
    assert_true(th_file_count(f->app.log_path, "claimed") >= 1);
}

static void test_duplicates_are_handled_once(void **state)
{
    struct fixture *f = *state;
    char *body = batch_webhook(7);
    struct want w = {f, 3};
    int i;

    assert_int_equal(start(f, "all"), 0);
    for (i = 0; i < 5; i++)
        assert_int_equal(th_post_webhook(&f->app, body, strlen(body)), 200);
    assert_int_equal(th_wait(all_handled, &w, 10000), 0);
    th_sleep_ms(300);
    assert_int_equal(th_redis_int(&f->redis, "XLEN js:in"), 0);
    assert_int_equal(count_keys(&f->redis, "js:seen:*"), 3);
    assert_int_equal(th_redis_int(&f->redis, "HGET js:router:stats messages"), 2);
    assert_int_equal(th_redis_int(&f->redis, "HGET js:router:stats statuses"), 1);
    free(body);
}

static int dead_lettered(void *ud)
{
    struct fixture *f = ud;

    return th_redis_int(&f->redis, "XLEN js:in:dead") == 2 &&
           th_redis_int(&f->redis, "XLEN js:in") == 0;
}

static void test_poison_entries_go_to_dead_letters(void **state)
{
    struct fixture *f = *state;
    const char *garbage = "this is signed but it is not JSON";
    const char *page = "{\"object\":\"page\",\"entry\":[]}";
    redisReply *rep;

    assert_int_equal(start(f, "all"), 0);
    /* Signed, so accepted and durable; the router cannot use them. */
    assert_int_equal(th_post_webhook(&f->app, garbage, strlen(garbage)), 200);
    assert_int_equal(th_post_webhook(&f->app, page, strlen(page)), 200);
    assert_int_equal(th_wait(dead_lettered, f, 10000), 0);
    rep = th_redis_cmd(&f->redis, "XRANGE js:in:dead - +");
    assert_non_null(rep);
    assert_int_equal(rep->elements, 2);
    /* fields: reason, entry, deliveries, f, b — the body is kept for replay */
    assert_string_equal(rep->element[0]->element[1]->element[0]->str, "reason");
    assert_non_null(strstr(rep->element[0]->element[1]->element[1]->str, "invalid JSON"));
    assert_string_equal(rep->element[0]->element[1]->element[9]->str, garbage);
    assert_non_null(strstr(rep->element[1]->element[1]->element[1]->str, "object"));
    freeReplyObject(rep);
}

static void test_lost_group_is_recreated(void **state)
{
    struct fixture *f = *state;
    struct want w = {f, 3};
    redisReply *rep;

    assert_int_equal(start(f, "all"), 0);
    th_sleep_ms(300);
    rep = th_redis_cmd(&f->redis, "XGROUP DESTROY js:in router");
    freeReplyObject(rep);
    post_batches(f, 0, 1);
    assert_int_equal(th_wait(all_handled, &w, 10000), 0);
}

static void test_malformed_events_are_skipped_others_handled(void **state)
{
    struct fixture *f = *state;
    const char *body =
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{"
        "\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"1065\"},"
        "\"messages\":[{\"from\":\"not a number\",\"id\":\"wamid.bad\",\"timestamp\":\"1\","
        "\"type\":\"text\",\"text\":{\"body\":\"x\"}},{\"from\":\"919800000001\",\"id\":"
        "\"wamid.good\",\"timestamp\":\"1763800000\",\"type\":\"text\",\"text\":{\"body\":"
        "\"y\"}}]}}]}]}";
    struct want w = {f, 1};

    assert_int_equal(start(f, "all"), 0);
    assert_int_equal(th_post_webhook(&f->app, body, strlen(body)), 200);
    assert_int_equal(th_wait(all_handled, &w, 10000), 0);
    assert_int_equal(count_keys(&f->redis, "js:seen:*"), 1);
    assert_int_equal(th_redis_int(&f->redis, "XLEN js:in:dead"), 0);
    assert_int_equal(th_janseva_stop(&f->app), 0);
    assert_int_equal(th_file_count(f->app.log_path, "malformed event skipped"), 1);
    assert_int_equal(th_file_count(f->app.log_path, "not a number"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backlog_survives_kill_9, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_9_while_routing_loses_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_entries_of_a_dead_consumer_are_claimed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_are_handled_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poison_entries_go_to_dead_letters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_group_is_recreated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_events_are_skipped_others_handled, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
