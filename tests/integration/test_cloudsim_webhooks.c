/*
 * tests/integration/test_cloudsim_webhooks.c - the webhooks the Cloud API
 * simulator sends: signed status webhooks (the 24 h window's failed 131047,
 * templates and pricing, duplicates, reordering, reads without delivered,
 * batching, biz_opaque echo, reproducible plans, async faults, retries and
 * giving up), received by the harness sink that checks every signature;
 * and inbound messages and statuses accepted by a real `janseva serve` on
 * a real redis-server, which verifies the signature itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/harness/cloudsim.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS 10000

struct fixture {
    char *dir;
    struct th_cloudsim sim;
    struct th_sink *sink;
    struct th_redis redis;
    struct th_janseva app;
    int with_gateway;
};

/* ---- fixtures ---- */

/* Start a sink and the simulator posting to it with `extra` arguments. */
static int start_with(void **state, const char *const extra[])
{
    struct fixture *f = calloc(1, sizeof *f);
    const char *args[40];
    size_t n = 0;
    size_t i;

    *state = f;
    f->dir = th_tmpdir("cloudsim-hooks");
    f->sink = th_sink_start(TH_APP_SECRET);
    if (f->dir == NULL || f->sink == NULL)
        return -1;
    args[n++] = "--webhook-url";
    args[n++] = th_sink_url(f->sink);
    args[n++] = "--seed";
    args[n++] = "42";
    args[n++] = "--status-delay-ms";
    args[n++] = "5";
    for (i = 0; extra != NULL && extra[i] != NULL && n + 1 < sizeof args / sizeof args[0]; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    return th_cloudsim_start(&f->sim, f->dir, args);
}

static int setup_plain(void **state)
{
    const char *args[] = {"--dup-rate", "0", "--reorder-rate", "0", "--read-rate", "0", NULL};

    return start_with(state, args);
}

static int setup_realistic(void **state)
{
    const char *args[] = {"--dup-rate",
                          "0.3",
                          "--reorder-rate",
                          "0.3",
                          "--read-rate",
                          "1",
                          "--skip-delivered-rate",
                          "0.3",
                          "--window-hours",
                          "0",
                          "--pair-spacing-ms",
                          "0",
                          "--status-delay-ms",
                          "20",
                          NULL};

    return start_with(state, args);
}

static int setup_retry(void **state)
{
    const char *args[] = {"--dup-rate",
                          "0",
                          "--reorder-rate",
                          "0",
                          "--read-rate",
                          "0",
                          "--deliver-rate",
                          "0",
                          "--window-hours",
                          "0",
                          "--webhook-retry-base-ms",
                          "50",
                          "--webhook-retry-for-ms",
                          "600",
                          NULL};

    return start_with(state, args);
}

/* A real gateway: redis-server + janseva serve; the simulator posts to /webhook. */
static int setup_gateway(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char url[128];
    const char *args[] = {"--webhook-url",
                          url,
                          "--status-delay-ms",
                          "5",
                          "--dup-rate",
                          "0.2",
                          "--reorder-rate",
                          "0.2",
                          "--seed",
                          "7",
                          "--pair-spacing-ms",
                          "0",
                          NULL};

    *state = f;
    f->with_gateway = 1;
    f->dir = th_tmpdir("cloudsim-gw");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0 ||
        th_janseva_start(&f->app, f->dir, &f->redis, NULL) != 0)
        return -1;
    snprintf(url, sizeof url, "%s/webhook", f->app.url);
    return th_cloudsim_start(&f->sim, f->dir, args);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int rc = 0;

    if (f == NULL)
        return 0;
    if (f->sim.proc.pid > 0 && th_cloudsim_stop(&f->sim) != 0) {
        fprintf(stderr, "cloudsim did not stop cleanly (log: %s)\n", f->sim.log_path);
        rc = -1;
    }
    th_sink_free(f->sink);
    if (f->with_gateway) {
        if (f->app.proc.pid > 0 && th_janseva_stop(&f->app) != 0) {
            fprintf(stderr, "janseva did not stop cleanly (log: %s)\n", f->app.log_path);
            rc = -1;
        }
        th_redis_stop(&f->redis, 0);
    }
    if (rc == 0 && f->dir != NULL)
        th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return rc;
}

/* ---- helpers ---- */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
    va_list ap;
    char *out = NULL;

    va_start(ap, f);
    if (vasprintf(&out, f, ap) < 0)
        out = NULL;
    va_end(ap);
    assert_non_null(out);
    return out;
}

/* Send `json` expecting 200; returns the wamid (caller frees). */
static char *send_ok(const struct fixture *f, const char *json)
{
    char *body = NULL;
    long st = th_cloudsim_send(&f->sim, TH_SIM_TOKEN, json, &body);
    json_t *v;
    char *id;

    if (st != 200)
        fprintf(stderr, "send: HTTP %ld %s\n", st, body != NULL ? body : "");
    assert_int_equal(st, 200);
    v = json_loads(body, 0, NULL);
    id = strdup(json_string_value(
        json_object_get(json_array_get(json_object_get(v, "messages"), 0), "id")));
    json_decref(v);
    free(body);
    return id;
}

static long post(const struct fixture *f, const char *path, const char *json)
{
    return th_cloudsim_req(&f->sim, "POST", path, json, NULL);
}

struct status_wait {
    struct th_sink *sink;
    const char *wamid;
    const char *status;
    size_t want;
};

/* Statuses of `wamid` (NULL = all) with `status` (NULL = any) received so far. */
static size_t count_statuses(struct th_sink *sink, const char *wamid, const char *status)
{
    json_t *all = th_sink_statuses(sink);
    json_t *e;
    size_t i;
    size_t n = 0;

    json_array_foreach(all, i, e)
    {
        json_t *s = json_object_get(e, "status");

        if ((wamid == NULL || strcmp(json_string_value(json_object_get(s, "id")), wamid) == 0) &&
            (status == NULL ||
             strcmp(json_string_value(json_object_get(s, "status")), status) == 0))
            n++;
    }
    json_decref(all);
    return n;
}

static int statuses_arrived(void *ud)
{
    struct status_wait *w = ud;

    return count_statuses(w->sink, w->wamid, w->status) >= w->want;
}

/* The first status object of `wamid` with `status` (new reference; must exist). */
static json_t *wait_status(const struct fixture *f, const char *wamid, const char *status)
{
    struct status_wait w = {f->sink, wamid, status, 1};
    json_t *all;
    json_t *e;
    json_t *found = NULL;
    size_t i;

    if (th_wait(statuses_arrived, &w, WAIT_MS) != 0)
        fail_msg("no %s status for a message within %d ms", status, WAIT_MS);
    all = th_sink_statuses(f->sink);
    json_array_foreach(all, i, e)
    {
        json_t *s = json_object_get(e, "status");

        if (found == NULL && strcmp(json_string_value(json_object_get(s, "id")), wamid) == 0 &&
            strcmp(json_string_value(json_object_get(s, "status")), status) == 0) {
            assert_true(json_is_true(json_object_get(e, "sig_ok")));
            found = json_incref(s);
        }
    }
    json_decref(all);
    return found;
}

static int error_code_of(const json_t *status)
{
    return (int)json_integer_value(
        json_object_get(json_array_get(json_object_get(status, "errors"), 0), "code"));
}

static const char *pricing(const json_t *status, const char *key)
{
    return json_string_value(json_object_get(json_object_get(status, "pricing"), key));
}

static int billable(const json_t *status)
{
    return json_is_true(json_object_get(json_object_get(status, "pricing"), "billable"));
}

static char *text_to(const char *to, const char *text)
{
    return fmt("{\"messaging_product\":\"whatsapp\",\"to\":\"%s\",\"text\":{\"body\":\"%s\"}}", to,
               text);
}

/* ======================= window, templates, pricing ======================= */

static void test_window_and_templates(void **state)
{
    struct fixture *f = *state;
    const char *a = "919800001001";
    char *body;
    char *wamid;
    json_t *st;
    char *out = NULL;

    assert_int_equal(post(f, "/_sim/templates",
                          "[{\"name\":\"alert_v1\",\"language\":\"hi\",\"category\":\"UTILITY\","
                          "\"components\":[{\"type\":\"BODY\",\"text\":\"{{1}}\"}]},"
                          "{\"name\":\"promo\",\"language\":\"hi\",\"category\":\"MARKETING\"}]"),
                     200);
    assert_int_equal(post(f, "/_sim/clock", "{\"freeze\":true}"), 200);
    /* nobody wrote: free-form is accepted, then fails with 131047 */
    body = text_to(a, "hello");
    wamid = send_ok(f, body);
    st = wait_status(f, wamid, "failed");
    assert_int_equal(error_code_of(st), 131047);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(st, "errors"), 0), "title")),
                        "Re-engagement message");
    assert_null(json_object_get(st, "pricing"));
    assert_string_equal(json_string_value(json_object_get(st, "recipient_id")), a);
    json_decref(st);
    th_sleep_ms(100);
    assert_int_equal(count_statuses(f->sink, wamid, NULL), 1); /* only the failure */
    free(wamid);
    /* a template goes through outside the window, and is billed */
    assert_int_equal(post(f, "/_sim/clock", "{\"advance_ms\":6000}"), 200);
    free(body);
    body = fmt("{\"messaging_product\":\"whatsapp\",\"to\":\"%s\",\"type\":\"template\","
               "\"template\":{\"name\":\"alert_v1\",\"language\":{\"code\":\"hi\"},"
               "\"components\":[{\"type\":\"body\",\"parameters\":[{\"type\":\"text\","
               "\"text\":\"x\"}]}]}}",
               a);
    wamid = send_ok(f, body);
    st = wait_status(f, wamid, "sent");
    assert_string_equal(pricing(st, "category"), "utility");
    assert_string_equal(pricing(st, "pricing_model"), "PMP");
    assert_string_equal(pricing(st, "type"), "regular");
    assert_true(billable(st));
    json_decref(st);
    json_decref(wait_status(f, wamid, "delivered"));
    free(wamid);
    /* the citizen writes (the inbound webhook reaches the sink too): free-form is free */
    assert_int_equal(th_cloudsim_req(&f->sim, "POST", "/_sim/inbound",
                                     "{\"from\":\"919800001001\",\"text\":\"help\"}", &out),
                     200);
    assert_non_null(strstr(out, "\"webhook_status\":200"));
    free(out);
    assert_int_equal(post(f, "/_sim/clock", "{\"advance_ms\":6000}"), 200);
    free(body);
    body = text_to(a, "we are coming");
    wamid = send_ok(f, body);
    st = wait_status(f, wamid, "sent");
    assert_string_equal(pricing(st, "category"), "service");
    assert_string_equal(pricing(st, "type"), "free_customer_service");
    assert_false(billable(st));
    json_decref(st);
    free(wamid);
    /* a utility template inside the window is free; marketing is not */
    assert_int_equal(post(f, "/_sim/clock", "{\"advance_ms\":6000}"), 200);
    free(body);
    body = fmt("{\"messaging_product\":\"whatsapp\",\"to\":\"%s\",\"type\":\"template\","
               "\"template\":{\"name\":\"promo\",\"language\":{\"code\":\"hi\"}}}",
               a);
    wamid = send_ok(f, body);
    st = wait_status(f, wamid, "sent");
    assert_string_equal(pricing(st, "category"), "marketing");
    assert_true(billable(st));
    json_decref(st);
    free(wamid);
    /* 25 hours later the window is closed again */
    assert_int_equal(post(f, "/_sim/clock", "{\"advance_ms\":90000000}"), 200);
    free(body);
    body = text_to(a, "still there?");
    wamid = send_ok(f, body);
    st = wait_status(f, wamid, "failed");
    assert_int_equal(error_code_of(st), 131047);
    json_decref(st);
    free(wamid);
    /* a control call opens it without a webhook */
    assert_int_equal(post(f, "/_sim/window", "{\"to\":\"919800001001\",\"ago_ms\":1000}"), 200);
    assert_int_equal(post(f, "/_sim/clock", "{\"advance_ms\":6000}"), 200);
    wamid = send_ok(f, body);
    json_decref(wait_status(f, wamid, "sent"));
    free(wamid);
    free(body);
    assert_int_equal(th_cloudsim_counter(&f->sim, "by_code.131047"), 2);
    assert_int_equal(th_cloudsim_counter(&f->sim, "webhooks.failed"), 0);
}

/* ======================= realistic statuses ======================= */

#define N_MSG 60

/* Index of `status` in sent < delivered < read. */
static int rank(const char *status)
{
    return strcmp(status, "sent") == 0 ? 0 : strcmp(status, "delivered") == 0 ? 1 : 2;
}

static void test_statuses_like_meta(void **state)
{
    struct fixture *f = *state;
    char *wamids[N_MSG];
    struct status_wait w = {f->sink, NULL, NULL, 0};
    json_t *sends;
    json_t *all;
    json_t *e;
    size_t i;
    size_t j;
    int dups = 0, out_of_order = 0, read_no_delivered = 0, batched = 0;

    for (i = 0; i < N_MSG; i++) {
        char *b = fmt("{\"messaging_product\":\"whatsapp\",\"to\":\"9198000020%02zu\",\"text\":{"
                      "\"body\":\"m\"},\"biz_opaque_callback_data\":\"broadcast-7:%zu\"}",
                      i, i);

        wamids[i] = send_ok(f, b);
        free(b);
    }
    /* the records hold each message's plan: wait until every planned status arrived */
    sends = th_cloudsim_json(&f->sim, "/_sim/sends?limit=1000");
    json_array_foreach(json_object_get(sends, "sends"), i, e)
    {
        w.want += json_array_size(json_object_get(json_object_get(e, "plan"), "order"));
    }
    assert_true(w.want >= 2 * N_MSG);
    if (th_wait(statuses_arrived, &w, WAIT_MS) != 0)
        fail_msg("only %zu of %zu statuses arrived", count_statuses(f->sink, NULL, NULL), w.want);
    th_sleep_ms(100);
    all = th_sink_statuses(f->sink);
    assert_int_equal(json_array_size(all), w.want); /* and nothing more */
    for (i = 0; i < N_MSG; i++) {
        json_t *plan = json_object_get(json_array_get(json_object_get(sends, "sends"), i), "plan");
        int seen[3] = {0, 0, 0};
        int first_rank_seen = -1;
        char opaque[32];

        snprintf(opaque, sizeof opaque, "broadcast-7:%zu", i);
        json_array_foreach(all, j, e)
        {
            json_t *s = json_object_get(e, "status");
            const char *name = json_string_value(json_object_get(s, "status"));

            if (strcmp(json_string_value(json_object_get(s, "id")), wamids[i]) != 0)
                continue;
            assert_true(json_is_true(json_object_get(e, "sig_ok")));
            assert_string_equal(json_string_value(json_object_get(s, "biz_opaque_callback_data")),
                                opaque);
            assert_non_null(json_string_value(json_object_get(s, "recipient_id")));
            assert_string_equal(pricing(s, "category"), "service");
            assert_non_null(json_string_value(json_object_get(s, "timestamp")));
            if (first_rank_seen < 0)
                first_rank_seen = rank(name);
            else if (rank(name) < first_rank_seen)
                out_of_order = 1;
            seen[rank(name)]++;
        }
        /* exactly what the plan says, counting duplicates */
        assert_int_equal(seen[0] + seen[1] + seen[2],
                         json_array_size(json_object_get(plan, "order")));
        assert_true(seen[0] >= 1);
        if (seen[0] > 1 || seen[1] > 1 || seen[2] > 1)
            dups = 1;
        if (seen[2] > 0 && seen[1] == 0)
            read_no_delivered = 1;
        free(wamids[i]);
    }
    json_array_foreach(all, i, e)
    {
        if (i > 0 && json_integer_value(json_object_get(e, "post")) ==
                         json_integer_value(json_object_get(json_array_get(all, i - 1), "post")))
            batched = 1;
    }
    assert_true(dups);
    assert_true(out_of_order);
    assert_true(read_no_delivered);
    assert_true(batched);
    assert_int_equal(th_cloudsim_counter(&f->sim, "webhooks.ok"),
                     (long long)th_sink_count(f->sink));
    assert_int_equal(th_cloudsim_counter(&f->sim, "webhooks.failed"), 0);
    assert_true(th_cloudsim_counter(&f->sim, "statuses.duplicates") > 0);
    json_decref(all);
    json_decref(sends);
}

/* The plans of 30 sends, as one string. */
static char *plans_of_30(const struct fixture *f)
{
    json_t *v;
    json_t *e;
    json_t *plans = json_array();
    char *text;
    size_t i;

    for (i = 0; i < 30; i++) {
        char *b = fmt("{\"messaging_product\":\"whatsapp\",\"to\":\"9198000030%02zu\",\"text\":{"
                      "\"body\":\"m\"}}",
                      i);

        free(send_ok(f, b));
        free(b);
    }
    v = th_cloudsim_json(&f->sim, "/_sim/sends?limit=1000");
    json_array_foreach(json_object_get(v, "sends"), i, e)
    {
        json_array_append(plans, json_object_get(e, "plan"));
    }
    text = json_dumps(plans, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(plans);
    json_decref(v);
    return text;
}

static void test_plans_are_reproducible(void **state)
{
    struct fixture *f = *state;
    char *first = plans_of_30(f);
    char *second;

    assert_int_equal(post(f, "/_sim/reset", NULL), 200);
    second = plans_of_30(f);
    assert_string_equal(first, second);
    assert_non_null(strstr(first, "\"reordered\":true"));
    assert_non_null(strstr(first, "\"duplicates\":[\""));
    free(first);
    free(second);
}

/* ======================= async faults ======================= */

static void test_async_faults(void **state)
{
    struct fixture *f = *state;
    char *body;
    char *wamid;
    json_t *st;

    assert_int_equal(post(f, "/_sim/config", "{\"window_hours\":0}"), 200);
    assert_int_equal(
        post(f, "/_sim/faults", "{\"mode\":\"undeliverable\",\"to\":\"919800004001\",\"count\":1}"),
        200);
    body = text_to("919800004001", "x");
    wamid = send_ok(f, body);
    st = wait_status(f, wamid, "failed");
    assert_int_equal(error_code_of(st), 131026);
    json_decref(st);
    free(wamid);
    free(body);
    assert_int_equal(post(f, "/_sim/faults",
                          "{\"mode\":\"error\",\"async\":true,\"code\":131049,\"details\":"
                          "\"marketing limit\",\"count\":1}"),
                     200);
    body = fmt("{\"messaging_product\":\"whatsapp\",\"to\":\"919800004002\",\"text\":{\"body\":"
               "\"x\"},\"biz_opaque_callback_data\":\"job-9\"}");
    wamid = send_ok(f, body);
    st = wait_status(f, wamid, "failed");
    assert_int_equal(error_code_of(st), 131049);
    assert_string_equal(json_string_value(json_object_get(st, "biz_opaque_callback_data")),
                        "job-9");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(st, "errors"), 0), "error_data"),
            "details")),
        "marketing limit");
    json_decref(st);
    free(wamid);
    free(body);
    assert_int_equal(th_cloudsim_counter(&f->sim, "failed"), 2);
    assert_int_equal(th_cloudsim_counter(&f->sim, "statuses.failed"), 2);
}

/* ======================= retries ======================= */

static int counter_at_least(const struct fixture *f, const char *name, long long n)
{
    return th_cloudsim_counter(&f->sim, name) >= n;
}

struct counter_wait {
    const struct fixture *f;
    const char *name;
    long long n;
};

static int counter_reached(void *ud)
{
    struct counter_wait *c = ud;

    return counter_at_least(c->f, c->name, c->n);
}

static void wait_counter(const struct fixture *f, const char *name, long long n)
{
    struct counter_wait c = {f, name, n};

    if (th_wait(counter_reached, &c, WAIT_MS) != 0)
        fail_msg("counter %s stayed at %lld (want >= %lld)", name,
                 th_cloudsim_counter(&f->sim, name), n);
}

static void test_webhook_retries(void **state)
{
    struct fixture *f = *state;
    char *body = text_to("919800005001", "x");
    char *wamid;
    char *first;
    char *later;
    int ok = 0;
    size_t n;

    /* the receiver fails: the same signed body is posted again, then delivered */
    th_sink_set_status(f->sink, 500);
    wamid = send_ok(f, body);
    wait_counter(f, "webhooks.retries", 2);
    th_sink_set_status(f->sink, 200);
    wait_counter(f, "webhooks.ok", 1);
    n = th_sink_count(f->sink);
    assert_true(n >= 3);
    first = th_sink_body(f->sink, 0, &ok);
    assert_true(ok);
    later = th_sink_body(f->sink, n - 1, &ok);
    assert_true(ok);
    assert_string_equal(first, later);
    {
        /* the id is inside as JSON: '/' in a wamid is escaped as Meta does ("\/") */
        json_t *v = json_loads(first, 0, NULL);
        json_t *value = json_object_get(
            json_array_get(
                json_object_get(json_array_get(json_object_get(v, "entry"), 0), "changes"), 0),
            "value");

        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(value, "statuses"), 0), "id")),
                            wamid);
        json_decref(v);
    }
    free(first);
    free(later);
    free(wamid);
    assert_true(th_cloudsim_counter(&f->sim, "webhooks.failed") >= 2);
    /* a receiver that never recovers: given up after --webhook-retry-for-ms */
    th_sink_set_status(f->sink, 503);
    assert_int_equal(post(f, "/_sim/clock", "{\"advance_ms\":7000}"), 200);
    wamid = send_ok(f, body);
    wait_counter(f, "webhooks.given_up", 1);
    free(wamid);
    /* nobody listening at all (connection refused) is retried the same way */
    {
        char *cfg = fmt("{\"webhook_url\":\"http://127.0.0.1:%d/webhook\"}", th_free_port());

        assert_int_equal(post(f, "/_sim/config", cfg), 200);
        free(cfg);
    }
    assert_int_equal(post(f, "/_sim/clock", "{\"advance_ms\":7000}"), 200);
    wamid = send_ok(f, body);
    wait_counter(f, "webhooks.given_up", 2);
    free(wamid);
    assert_int_equal(th_cloudsim_counter(&f->sim, "webhooks.queue.queued"), 0);
    free(body);
}

/* ======================= into the real gateway ======================= */

struct redis_wait {
    struct fixture *f;
    const char *field;
    long long n;
};

static int router_counted(void *ud)
{
    struct redis_wait *w = ud;
    char cmd[64];

    snprintf(cmd, sizeof cmd, "HGET js:router:stats %s", w->field);
    return th_redis_int(&w->f->redis, cmd) >= w->n;
}

static long inbound(const struct fixture *f, const char *json)
{
    char *out = NULL;
    json_t *v;
    long st;

    assert_int_equal(th_cloudsim_req(&f->sim, "POST", "/_sim/inbound", json, &out), 200);
    v = json_loads(out, 0, NULL);
    st = (long)json_integer_value(json_object_get(v, "webhook_status"));
    assert_true(strncmp(json_string_value(json_object_get(v, "wamid")), "wamid.", 6) == 0);
    json_decref(v);
    free(out);
    return st;
}

static void test_gateway_accepts_inbound_and_statuses(void **state)
{
    struct fixture *f = *state;
    struct redis_wait rw = {f, "messages", 8};
    struct th_cloudsim wrong;
    const char *wrong_args[6];
    char url[128];
    size_t i;

    /* every kind of citizen message, signed by the simulator, accepted by the gateway */
    assert_int_equal(inbound(f, "{\"from\":\"919800006001\",\"name\":\"\xe0\xa4\xb0\xe0\xa4\xbe"
                                "\xe0\xa4\xae\",\"text\":\"\xe0\xa4\x97\xe0\xa4\xbe\xe0\xa4\x81"
                                "\xe0\xa4\xb5 / \\\"help\\\"\"}"),
                     200);
    assert_int_equal(inbound(f, "{\"from\":\"919800006002\",\"type\":\"image\",\"caption\":"
                                "\"photo\"}"),
                     200);
    assert_int_equal(inbound(f, "{\"from\":\"919800006003\",\"type\":\"location\",\"latitude\":"
                                "25.6,\"longitude\":85.1,\"location_name\":\"Thana\"}"),
                     200);
    assert_int_equal(inbound(f, "{\"from\":\"919800006004\",\"type\":\"interactive\",\"reply\":{"
                                "\"type\":\"button_reply\",\"id\":\"v:1\",\"title\":\"Yes\"},"
                                "\"reply_to\":\"wamid.HBgMQUJD\"}"),
                     200);
    assert_int_equal(inbound(f, "{\"user_id\":\"IN.7788990011\",\"name\":\"No Number\",\"text\":"
                                "\"bsuid only\"}"),
                     200);
    assert_int_equal(inbound(f, "{\"from\":\"919800006005\",\"text\":\"fwd\","
                                "\"frequently_forwarded\":true}"),
                     200);
    assert_int_equal(inbound(f, "{\"from\":\"919800006006\",\"type\":\"audio\",\"voice\":true}"),
                     200);
    assert_int_equal(inbound(f, "{\"from\":\"919800006007\",\"type\":\"unsupported\"}"), 200);
    if (th_wait(router_counted, &rw, WAIT_MS) != 0)
        fail_msg("the router handled %lld of 8 messages",
                 th_redis_int(&f->redis, "HGET js:router:stats messages"));
    assert_int_equal(th_cloudsim_counter(&f->sim, "inbound.ok"), 8);
    /* their windows are open: replies go out and their statuses are accepted too */
    for (i = 1; i <= 7; i++) {
        char *b = fmt("{\"messaging_product\":\"whatsapp\",\"to\":\"91980000600%zu\",\"text\":{"
                      "\"body\":\"received\"}}",
                      i);

        free(send_ok(f, b));
        free(b);
    }
    free(send_ok(f, "{\"messaging_product\":\"whatsapp\",\"recipient\":\"IN.7788990011\","
                    "\"text\":{\"body\":\"received\"}}"));
    rw.field = "statuses";
    rw.n = 16; /* at least sent + delivered of each of the 8 */
    if (th_wait(router_counted, &rw, WAIT_MS) != 0)
        fail_msg("the router handled %lld statuses",
                 th_redis_int(&f->redis, "HGET js:router:stats statuses"));
    assert_int_equal(th_cloudsim_counter(&f->sim, "failed"), 0);
    assert_int_equal(th_cloudsim_counter(&f->sim, "webhooks.failed"), 0);
    assert_int_equal(th_file_count(f->app.log_path, "malformed"), 0);
    assert_int_equal(th_file_count(f->app.log_path, "signature"), 0);
    /* the signature matters: a simulator with another secret is refused (401) */
    snprintf(url, sizeof url, "%s/webhook", f->app.url);
    wrong_args[0] = "--webhook-url";
    wrong_args[1] = url;
    wrong_args[2] = "--app-secret";
    wrong_args[3] = "not-the-app-secret";
    wrong_args[4] = NULL;
    assert_int_equal(th_cloudsim_start(&wrong, f->dir, wrong_args), 0);
    {
        char *out = NULL;

        assert_int_equal(th_cloudsim_req(&wrong, "POST", "/_sim/inbound",
                                         "{\"from\":\"919800006009\",\"text\":\"x\"}", &out),
                         200);
        assert_non_null(strstr(out, "\"webhook_status\":401"));
        free(out);
    }
    assert_int_equal(th_cloudsim_stop(&wrong), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_window_and_templates, setup_plain, teardown),
        cmocka_unit_test_setup_teardown(test_statuses_like_meta, setup_realistic, teardown),
        cmocka_unit_test_setup_teardown(test_plans_are_reproducible, setup_realistic, teardown),
        cmocka_unit_test_setup_teardown(test_async_faults, setup_plain, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_retries, setup_retry, teardown),
        cmocka_unit_test_setup_teardown(test_gateway_accepts_inbound_and_statuses, setup_gateway,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
