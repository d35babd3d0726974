/*
 * tests/integration/test_router.c - the router's delivery guarantees with a
 * real redis-server and the real binary: nothing lost across kill -9,
 * entries of a dead consumer claimed, duplicates handled once, poison
 * entries dead-lettered (bodies sealed, never in clear), old `raw` entries
 * still routed, a lost consumer group recreated.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/keys.h"
#include "crypto/vault.h"
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

/* The value of field `name` in a stream entry's field array, or NULL. */
static const redisReply *field(const redisReply *entry, const char *name)
{
    const redisReply *fields = entry->element[1];
    size_t i;

    for (i = 0; i + 1 < fields->elements; i += 2) {
        if (strcmp(fields->element[i]->str, name) == 0)
            return fields->element[i + 1];
    }
    return NULL;
}

/* Open the sealed body of a stream entry (fields f, r, b) with the test's
 * keys; returns a malloc'd string or NULL. */
static char *open_body(const struct fixture *f, const redisReply *entry)
{
    const redisReply *fmt = field(entry, "f");
    const redisReply *req = field(entry, "r");
    const redisReply *b = field(entry, "b");
    struct core_err err;
    struct cry_keys *k;
    char *out = NULL;
    size_t n = 0;

    if (fmt == NULL || strcmp(fmt->str, "sealed") != 0 || req == NULL || b == NULL)
        return NULL;
    k = cry_keys_load(f->app.keys_dir, 0, &err);
    if (k == NULL)
        return NULL;
    out = calloc(1, cry_vault_open_size(b->len) + 1);
    if (cry_vault_open(k, CRY_VAULT_INGRESS, req->str, "b", (const unsigned char *)b->str,
                       b->len, (unsigned char *)out, cry_vault_open_size(b->len), &n,
                       &err) != 0) {
        free(out);
        out = NULL;
    }
    cry_keys_free(k);
    return out;
}

static void test_poison_entries_go_to_dead_letters(void **state)
{
    struct fixture *f = *state;
    const char *garbage = "this is signed but it is not JSON";
    const char *page = "{\"object\":\"page\",\"entry\":[]}";
    redisReply *rep;
    char *opened;

    assert_int_equal(start(f, "all"), 0);
    /* Signed, so accepted and durable; the router cannot use them. */
    assert_int_equal(th_post_webhook(&f->app, garbage, strlen(garbage)), 200);
    assert_int_equal(th_post_webhook(&f->app, page, strlen(page)), 200);
    assert_int_equal(th_wait(dead_lettered, f, 10000), 0);
    rep = th_redis_cmd(&f->redis, "XRANGE js:in:dead - +");
    assert_non_null(rep);
    assert_int_equal(rep->elements, 2);
    /* fields: reason, entry, deliveries, f, b, r — the body is kept for
     * replay, sealed exactly as ingress stored it. Two router threads: the
     * order of the two dead letters is not fixed. */
    {
        int json_first = strstr(rep->element[0]->element[1]->element[1]->str,
                                "invalid JSON") != NULL;
        const redisReply *garbage_e = rep->element[json_first ? 0 : 1];
        const redisReply *page_e = rep->element[json_first ? 1 : 0];

        assert_string_equal(garbage_e->element[1]->element[0]->str, "reason");
        assert_non_null(strstr(field(garbage_e, "reason")->str, "invalid JSON"));
        assert_string_equal(field(garbage_e, "f")->str, "sealed");
        assert_null(memmem(field(garbage_e, "b")->str, field(garbage_e, "b")->len,
                           "signed but", 10));
        opened = open_body(f, garbage_e);
        assert_non_null(opened);
        assert_string_equal(opened, garbage);
        free(opened);
        assert_non_null(strstr(field(page_e, "reason")->str, "object"));
    }
    freeReplyObject(rep);
}

static int dead_count(void *ud)
{
    struct fixture *f = ud;

    return th_redis_int(&f->redis, "XLEN js:in:dead") == 4 &&
           th_redis_int(&f->redis, "XLEN js:in") == 0;
}

/* The dead letter whose request id (field r) is `req`. */
static const redisReply *by_req(const redisReply *all, const char *req)
{
    size_t i;

    for (i = 0; i < all->elements; i++) {
        const redisReply *r = field(all->element[i], "r");

        if (r != NULL && strcmp(r->str, req) == 0)
            return all->element[i];
    }
    fail_msg("no dead letter for request %s", req);
    return NULL;
}

static void test_old_raw_entries_and_bad_formats(void **state)
{
    struct fixture *f = *state;
    char *body = batch_webhook(42);
    const char *bad = "not a webhook at all";
    struct want w = {f, 3};
    redisReply *rep;
    const redisReply *e;
    char *opened;
    size_t i;

    assert_int_equal(start(f, "all"), 0);
    /* An entry written before the upgrade (f=raw) is still routed. */
    rep = th_redis_cmd(&f->redis, "XADD js:in * f raw r 00000000000000aa b %s", body);
    freeReplyObject(rep);
    assert_int_equal(th_wait(all_handled, &w, 10000), 0);
    /* A raw poison entry is dead-lettered with its body sealed, never in clear. */
    rep = th_redis_cmd(&f->redis, "XADD js:in * f raw r 00000000000000bb b %s", bad);
    freeReplyObject(rep);
    /* Unknown formats, a sealed body that does not open, a body sealed for
     * another request id: dead letters with a reason. */
    rep = th_redis_cmd(&f->redis, "XADD js:in * f gzip r 00000000000000cc b x");
    freeReplyObject(rep);
    rep = th_redis_cmd(&f->redis, "XADD js:in * f sealed r 00000000000000dd b %s", "JV\x01garbage");
    freeReplyObject(rep);
    {
        /* a real sealed body under another request id: moved, so it fails */
        struct core_err err;
        struct cry_keys *k = cry_keys_load(f->app.keys_dir, 0, &err);
        size_t cap = cry_vault_sealed_size(strlen(body));
        unsigned char *sealed = malloc(cap);
        size_t n = 0;

        assert_non_null(k);
        cry_keys_set_version(k, 1);
        assert_int_equal(cry_vault_seal(k, CRY_VAULT_INGRESS, "00000000000000ee", "b", body,
                                        strlen(body), sealed, cap, &n, &err),
                         0);
        rep = th_redis_cmd(&f->redis, "XADD js:in * f sealed r 00000000000000ff b %b", sealed,
                           n);
        freeReplyObject(rep);
        free(sealed);
        cry_keys_free(k);
    }
    assert_int_equal(th_wait(dead_count, f, 10000), 0);
    rep = th_redis_cmd(&f->redis, "XRANGE js:in:dead - +");
    assert_non_null(rep);
    assert_int_equal(rep->elements, 4);
    /* two router threads: find each dead letter by its request id */
    e = by_req(rep, "00000000000000bb");
    assert_string_equal(field(e, "f")->str, "sealed");
    assert_string_equal(field(e, "of")->str, "raw");
    assert_null(memmem(field(e, "b")->str, field(e, "b")->len, bad, strlen(bad)));
    opened = open_body(f, e);
    assert_non_null(opened);
    assert_string_equal(opened, bad);
    free(opened);
    e = by_req(rep, "00000000000000cc");
    assert_string_equal(field(e, "reason")->str, "unknown body format");
    assert_string_equal(field(e, "of")->str, "gzip");
    assert_string_equal(field(by_req(rep, "00000000000000dd"), "reason")->str,
                        "undecryptable body");
    assert_string_equal(field(by_req(rep, "00000000000000ff"), "reason")->str,
                        "undecryptable body");
    for (i = 0; i < rep->elements; i++)
        assert_string_equal(field(rep->element[i], "f")->str, "sealed");
    freeReplyObject(rep);
    free(body);
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
        cmocka_unit_test_setup_teardown(test_old_raw_entries_and_bad_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_group_is_recreated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_events_are_skipped_others_handled, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
