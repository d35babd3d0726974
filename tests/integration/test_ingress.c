/*
 * tests/integration/test_ingress.c - the webhook endpoint end to end: a real
 * redis-server, the real janseva binary, real HTTP. Verification handshake,
 * signature checks, body limits, persistence before 200, 503 while Redis is
 * down and recovery, backlog limit, ops endpoints, clean shutdown.
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

static int start_with(void **state, const char *const env[])
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = th_tmpdir("ingress");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    if (th_janseva_start(&f->app, f->dir, &f->redis, env) != 0)
        return -1;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return start_with(state, NULL);
}

static int setup_http_only(void **state)
{
    const char *env[] = {"JANSEVA_ROLES=http", "JANSEVA_INGRESS_MAX_BACKLOG=3", NULL};

    return start_with(state, env);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int rc = 0;

    if (f == NULL)
        return 0;
    if (f->app.proc.pid > 0) {
        /* A clean stop exits 0; under ASan a leak would make it non-zero. */
        int status = th_janseva_stop(&f->app);

        if (status != 0) {
            fprintf(stderr, "janseva exited %d on SIGTERM (log: %s)\n", status, f->app.log_path);
            rc = -1;
        }
    }
    th_redis_stop(&f->redis, 0);
    if (rc == 0)
        th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return rc;
}

static long get_status(const struct fixture *f, const char *path, char **body)
{
    struct th_http_resp resp;
    char url[512];

    snprintf(url, sizeof url, "%s%s", f->app.url, path);
    if (th_http("GET", url, NULL, NULL, 0, &resp) != 0)
        return -1;
    if (body != NULL)
        *body = resp.body;
    else
        th_http_resp_free(&resp);
    return resp.status;
}

static long post_raw(const struct fixture *f, const char *sig_header, const char *body,
                     size_t len)
{
    struct th_http_resp resp;
    char url[128];
    const char *headers[] = {sig_header, NULL};
    long status;

    snprintf(url, sizeof url, "%s/webhook", f->app.url);
    if (th_http("POST", url, sig_header != NULL ? headers : NULL, body, len, &resp) != 0)
        return -1;
    status = resp.status;
    th_http_resp_free(&resp);
    return status;
}

/* The value of one metric line ("name{labels} value") or -1. */
static long long metric(const struct fixture *f, const char *series)
{
    char *body = NULL;
    long long v = -1;
    const char *p;

    if (get_status(f, "/metrics", &body) != 200) {
        free(body);
        return -1;
    }
    for (p = body; (p = strstr(p, series)) != NULL; p++) {
        if ((p == body || p[-1] == '\n') && p[strlen(series)] == ' ') {
            v = strtoll(p + strlen(series) + 1, NULL, 10);
            break;
        }
    }
    free(body);
    return v;
}

static void test_verify_handshake(void **state)
{
    struct fixture *f = *state;
    char *body = NULL;

    assert_int_equal(get_status(f,
                                "/webhook?hub.mode=subscribe&hub.verify_token=" TH_VERIFY_TOKEN
                                "&hub.challenge=1158201444",
                                &body),
                     200);
    assert_string_equal(body, "1158201444"); /* the raw challenge, nothing else */
    free(body);
    assert_int_equal(get_status(f,
                                "/webhook?hub.mode=subscribe&hub.verify_token=wrong"
                                "&hub.challenge=1",
                                NULL),
                     403);
    assert_int_equal(get_status(f,
                                "/webhook?hub.mode=unsubscribe&hub.verify_token=" TH_VERIFY_TOKEN
                                "&hub.challenge=1",
                                NULL),
                     403);
    assert_int_equal(get_status(f, "/webhook?hub.mode=subscribe&hub.verify_token=" TH_VERIFY_TOKEN,
                                NULL),
                     403);
    assert_int_equal(get_status(f, "/webhook", NULL), 403);
    assert_int_equal(metric(f, "janseva_webhook_verifications_total{result=\"ok\"}"), 1);
    assert_int_equal(metric(f, "janseva_webhook_verifications_total{result=\"forbidden\"}"), 4);
}

struct drained {
    struct fixture *f;
    long long want;
};

static int router_done(void *ud)
{
    struct drained *d = ud;
    long long handled = th_redis_int(&d->f->redis, "HGET js:router:stats messages");

    if (handled < 0)
        handled = 0; /* no message handled yet: the hash does not exist */
    return handled >= d->want && th_redis_int(&d->f->redis, "XLEN js:in") == 0;
}

static void test_signed_post_is_persisted_and_routed(void **state)
{
    struct fixture *f = *state;
    char *body = th_text_webhook("919812345678", "wamid.HBgMOTE5ODEyMzQ1Njc4FQIAEhgg",
                                 "\\u0917\\u093e\\u0901\\u0935 \\u092e\\u0947\\u0902 "
                                 "\\u091a\\u094b\\u0930\\u0940");
    struct drained d = {f, 1};

    assert_int_equal(th_post_webhook(&f->app, body, strlen(body)), 200);
    assert_int_equal(th_wait(router_done, &d, 10000), 0);
    assert_int_equal(metric(f, "janseva_webhooks_accepted_total"), 1);
    assert_int_equal(metric(f, "janseva_router_events_total{kind=\"message\"}"), 1);
    assert_int_equal(metric(f, "janseva_ingress_stream_length"), 0);
    assert_int_equal(metric(f, "janseva_ingress_pending"), 0);
    free(body);
}

static void test_forged_and_unsigned_posts_get_401(void **state)
{
    struct fixture *f = *state;
    char *body = th_text_webhook("919812345678", "wamid.forged", "hello");
    char *sig = th_sign("not-the-app-secret", body, strlen(body));
    char hdr[128];
    char *good = th_sign(TH_APP_SECRET, body, strlen(body));

    snprintf(hdr, sizeof hdr, "X-Hub-Signature-256: %s", sig);
    assert_int_equal(post_raw(f, hdr, body, strlen(body)), 401);
    assert_int_equal(post_raw(f, NULL, body, strlen(body)), 401);
    assert_int_equal(post_raw(f, "X-Hub-Signature-256: sha1=abc", body, strlen(body)), 401);
    /* the right signature over other bytes: one changed character */
    snprintf(hdr, sizeof hdr, "X-Hub-Signature-256: %s", good);
    body[strlen(body) - 5] ^= 1;
    assert_int_equal(post_raw(f, hdr, body, strlen(body)), 401);
    /* upper-case hex of the right signature is still the same MAC */
    assert_int_equal(metric(f, "janseva_webhooks_rejected_total{reason=\"signature_invalid\"}"),
                     3);
    assert_int_equal(metric(f, "janseva_webhooks_rejected_total{reason=\"signature_missing\"}"),
                     1);
    /* nothing reached Redis */
    assert_int_equal(th_redis_int(&f->redis, "XLEN js:in"), 0);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS js:router:stats"), 0);
    free(body);
    free(sig);
    free(good);
}

/* The counter is raised just after the entry is acknowledged and deleted,
 * so wait for it rather than for the empty stream. */
static int one_entry_counted(void *ud)
{
    return metric(ud, "janseva_router_entries_total") == 1;
}

static void test_body_limit(void **state)
{
    struct fixture *f = *state;
    size_t limit = 3 * 1024 * 1024;
    char *big = malloc(limit + 2);
    const char *head = "{\"object\":\"whatsapp_business_account\",\"entry\":[]";
    char *sig;
    char hdr[128];
    struct drained d = {f, 0};

    /* exactly the limit: accepted (a valid webhook padded with spaces) */
    memset(big, ' ', limit);
    memcpy(big, head, strlen(head));
    big[limit - 1] = '}';
    big[limit] = '\0';
    sig = th_sign(TH_APP_SECRET, big, limit);
    snprintf(hdr, sizeof hdr, "X-Hub-Signature-256: %s", sig);
    assert_int_equal(post_raw(f, hdr, big, limit), 200);
    free(sig);
    /* one byte more: 413, before the signature is even looked at */
    big[limit] = ' ';
    big[limit + 1] = '\0';
    sig = th_sign(TH_APP_SECRET, big, limit + 1);
    snprintf(hdr, sizeof hdr, "X-Hub-Signature-256: %s", sig);
    assert_int_equal(post_raw(f, hdr, big, limit + 1), 413);
    /* chunked, no Content-Length: still 413 once the limit is passed */
    {
        const char *headers[] = {hdr, "Transfer-Encoding: chunked", NULL};
        struct th_http_resp resp;
        char url[128];

        snprintf(url, sizeof url, "%s/webhook", f->app.url);
        assert_int_equal(th_http("POST", url, headers, big, limit + 1, &resp), 0);
        assert_int_equal(resp.status, 413);
        th_http_resp_free(&resp);
    }
    /* a client that waits for 100-continue gets the 413 before sending the body */
    {
        const char *headers[] = {hdr, "Expect: 100-continue", NULL};
        struct th_http_resp resp;
        char url[128];

        snprintf(url, sizeof url, "%s/webhook", f->app.url);
        assert_int_equal(th_http("POST", url, headers, big, limit + 1, &resp), 0);
        assert_int_equal(resp.status, 413);
        th_http_resp_free(&resp);
    }
    assert_int_equal(metric(f, "janseva_webhooks_rejected_total{reason=\"too_large\"}"), 3);
    assert_int_equal(th_wait(router_done, &d, 10000), 0);
    assert_int_equal(th_wait(one_entry_counted, f, 10000), 0);
    free(sig);
    free(big);
}

static void test_routes_and_methods(void **state)
{
    struct fixture *f = *state;
    struct th_http_resp resp;
    char url[128];
    char *body = NULL;

    assert_int_equal(get_status(f, "/healthz", NULL), 200);
    assert_int_equal(get_status(f, "/readyz", NULL), 200);
    assert_int_equal(get_status(f, "/nope", NULL), 404);
    snprintf(url, sizeof url, "%s/webhook", f->app.url);
    assert_int_equal(th_http("PUT", url, NULL, "x", 1, &resp), 0);
    assert_int_equal(resp.status, 405);
    th_http_resp_free(&resp);
    assert_int_equal(get_status(f, "/metrics", &body), 200);
    assert_non_null(strstr(body, "# TYPE janseva_webhooks_rejected_total counter"));
    assert_non_null(strstr(body, "janseva_redis_up 1"));
    assert_non_null(strstr(body, "janseva_router_lag_seconds"));
    free(body);
}

static int redis_503(void *ud)
{
    struct fixture *f = ud;
    char *body = th_text_webhook("919812345678", "wamid.during-outage", "x");
    long st = th_post_webhook(&f->app, body, strlen(body));

    free(body);
    return st == 503;
}

static int accepted_again(void *ud)
{
    struct fixture *f = ud;
    char *body = th_text_webhook("919812345678", "wamid.after-outage", "x");
    long st = th_post_webhook(&f->app, body, strlen(body));

    free(body);
    return st == 200;
}

static void test_redis_down_gives_503_then_recovers(void **state)
{
    struct fixture *f = *state;
    struct drained d = {f, 1};

    th_redis_stop(&f->redis, 1); /* crash Redis */
    assert_int_equal(th_wait(redis_503, f, 5000), 0);
    assert_int_equal(get_status(f, "/readyz", NULL), 503);
    assert_int_equal(get_status(f, "/healthz", NULL), 200);
    assert_true(metric(f, "janseva_webhooks_rejected_total{reason=\"redis_unavailable\"}") >= 1);
    assert_int_equal(metric(f, "janseva_redis_up"), 0);
    /* Redis comes back on the same socket and data directory */
    assert_int_equal(th_redis_start(&f->redis, f->dir), 0);
    assert_int_equal(th_wait(accepted_again, f, 10000), 0);
    assert_int_equal(get_status(f, "/readyz", NULL), 200);
    /* the router reconnected by itself and processed it */
    assert_int_equal(th_wait(router_done, &d, 10000), 0);
}

static void test_backlog_limit_gives_503(void **state)
{
    struct fixture *f = *state; /* roles=http, backlog 3: nothing consumes */
    int i;

    for (i = 0; i < 3; i++) {
        char id[32];
        char *body;

        snprintf(id, sizeof id, "wamid.backlog-%d", i);
        body = th_text_webhook("919812345678", id, "x");
        assert_int_equal(th_post_webhook(&f->app, body, strlen(body)), 200);
        free(body);
    }
    {
        char *body = th_text_webhook("919812345678", "wamid.backlog-x", "x");

        assert_int_equal(th_post_webhook(&f->app, body, strlen(body)), 503);
        free(body);
    }
    assert_int_equal(th_redis_int(&f->redis, "XLEN js:in"), 3);
    assert_int_equal(metric(f, "janseva_webhooks_rejected_total{reason=\"backlog_full\"}"), 1);
}

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

static void test_bodies_are_sealed_in_the_stream(void **state)
{
    struct fixture *f = *state; /* roles=http: entries stay in the stream */
    char *body = th_text_webhook("919876501234", "wamid.sealed",
                                 "\\u0917\\u093e\\u0901\\u0935 my number 9876501234");
    struct core_err err;
    struct cry_keys *k;
    redisReply *rep;
    const redisReply *e;
    unsigned char *plain;
    size_t cap;
    size_t n = 0;

    assert_int_equal(th_post_webhook(&f->app, body, strlen(body)), 200);
    rep = th_redis_cmd(&f->redis, "XRANGE js:in - +");
    assert_non_null(rep);
    assert_int_equal(rep->elements, 1);
    e = rep->element[0];
    assert_string_equal(field(e, "f")->str, "sealed");
    assert_int_equal(field(e, "r")->len, 16);
    /* the stored bytes hold neither the number nor the text */
    assert_null(memmem(field(e, "b")->str, field(e, "b")->len, "9876501234", 10));
    assert_null(memmem(field(e, "b")->str, field(e, "b")->len, "whatsapp", 8));
    assert_int_equal(cry_vault_version((const unsigned char *)field(e, "b")->str,
                                       field(e, "b")->len),
                     1);
    /* and it opens, with the request id as record id, to the exact body */
    k = cry_keys_load(f->app.keys_dir, 0, &err);
    assert_non_null(k);
    cap = cry_vault_open_size(field(e, "b")->len);
    plain = calloc(1, cap);
    assert_int_equal(cry_vault_open(k, CRY_VAULT_INGRESS, field(e, "r")->str, "b",
                                    (const unsigned char *)field(e, "b")->str,
                                    field(e, "b")->len, plain, cap, &n, &err),
                     0);
    assert_int_equal(n, strlen(body));
    assert_memory_equal(plain, body, n);
    /* not under another request id */
    assert_int_equal(cry_vault_open(k, CRY_VAULT_INGRESS, "0123456789abcdef", "b",
                                    (const unsigned char *)field(e, "b")->str,
                                    field(e, "b")->len, plain, cap, &n, &err),
                     -1);
    free(plain);
    cry_keys_free(k);
    freeReplyObject(rep);
    free(body);
}

static void test_missing_settings_exit_78(void **state)
{
    const char *argv[] = {th_bin(), "serve", NULL};
    const char *env[] = {"JANSEVA_VERIFY_TOKEN=x", "JANSEVA_REDIS=unix:/nonexistent.sock",
                         "JANSEVA_HTTP_PORT=1", NULL};
    const char *env2[] = {"JANSEVA_APP_SECRET=x", "JANSEVA_VERIFY_TOKEN=x",
                          "JANSEVA_LOG_LEVEL=loud", NULL};
    char *out = NULL;
    char *err = NULL;

    (void)state;
    assert_int_equal(th_run(argv, env, NULL, 0, &out, &err), 78);
    assert_non_null(strstr(err, "JANSEVA_APP_SECRET is not set"));
    /* exactly one line on stderr from the CLI (after any JSON log lines) */
    assert_non_null(strstr(err, "janseva: config:"));
    free(out);
    free(err);
    assert_int_equal(th_run(argv, env2, NULL, 0, &out, &err), 78);
    assert_non_null(strstr(err, "JANSEVA_LOG_LEVEL"));
    free(out);
    free(err);
}

static void test_no_pii_in_logs(void **state)
{
    struct fixture *f = *state;
    char *body = th_text_webhook("919876501234", "wamid.pii", "my number is 9876501234");
    struct drained d = {f, 1};

    assert_int_equal(th_post_webhook(&f->app, body, strlen(body)), 200);
    assert_int_equal(th_wait(router_done, &d, 10000), 0);
    assert_int_equal(th_janseva_stop(&f->app), 0);
    assert_int_equal(th_file_count(f->app.log_path, "9876501234"), 0);
    assert_int_equal(th_file_count(f->app.log_path, "Test User"), 0);
    assert_int_equal(th_file_count(f->app.log_path, "wamid.pii"), 0);
    assert_int_equal(th_file_count(f->app.log_path, TH_APP_SECRET), 0);
    assert_true(th_file_count(f->app.log_path, "\"webhook accepted\"") == 1);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_verify_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signed_post_is_persisted_and_routed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_forged_and_unsigned_posts_get_401, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routes_and_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_down_gives_503_then_recovers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_backlog_limit_gives_503, setup_http_only, teardown),
        cmocka_unit_test_setup_teardown(test_bodies_are_sealed_in_the_stream, setup_http_only,
                                        teardown),
        cmocka_unit_test(test_missing_settings_exit_78),
        cmocka_unit_test_setup_teardown(test_no_pii_in_logs, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
