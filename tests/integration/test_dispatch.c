/*
 * tests/integration/test_dispatch.c - the dispatcher against the Cloud API
 * simulator, through the real janseva binary: pacing without 130429, recipient
 * spacing without 131056, lanes, the 24-hour window (template fallback, give
 * up, async 131047 resent as template), every error path (5xx, throttle
 * storm, 190 pause and resume, 131056, permanent 132001), fault storms with
 * lost responses (no loss, no duplicate), kill -9 in the middle of a queue,
 * out-of-order and duplicate status webhooks feeding exact broadcast
 * counters, and the `janseva send` command.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/harness/stack.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void number(int i, char out[16])
{
    snprintf(out, 16, "9198%08d", 10000 + i);
}

struct want_accepted {
    struct th_stack *s;
    long n;
};

static int accepted_reached(void *ud)
{
    struct want_accepted *w = ud;

    return th_stack_accepted(w->s, NULL) >= w->n;
}

static void wait_accepted(struct th_stack *s, long n, int timeout_ms)
{
    struct want_accepted w = {s, n};

    if (th_wait(accepted_reached, &w, timeout_ms) != 0)
        fail_msg("only %ld of %ld sends accepted (janseva log %s)", th_stack_accepted(s, NULL),
                 n, s->app.log_path);
}

struct want_state {
    struct th_stack *s;
    const char *key;
    const char *bid;
    const char *const *ok; /* acceptable final states */
};

static int state_reached(void *ud)
{
    struct want_state *w = ud;
    char *st = th_stack_state(w->s, w->key, w->bid);
    int hit = 0;

    for (size_t i = 0; w->ok[i] != NULL; i++)
        hit |= strcmp(st, w->ok[i]) == 0;
    free(st);
    return hit;
}

static void wait_state(struct th_stack *s, const char *key, const char *bid,
                       const char *const ok[], int timeout_ms)
{
    struct want_state w = {s, key, bid, ok};

    if (th_wait(state_reached, &w, timeout_ms) != 0) {
        char *st = th_stack_state(s, key, bid);

        fail_msg("message %s stuck in state %s (log %s)", key, st, s->app.log_path);
    }
}

static const char *const delivered_states[] = {"sent", "delivered", "read", NULL};

/* Sends the simulator accepted, per recipient: every count must be 1. */
static void assert_each_once(struct th_stack *s, int n)
{
    json_t *j = th_cloudsim_json(&s->sim, "/_sim/sends?outcome=accepted&limit=50000");
    json_t *sends = json_object_get(j, "sends");
    int *count = calloc((size_t)n, sizeof *count);
    size_t i;
    json_t *e;

    json_array_foreach(sends, i, e)
    {
        const char *to = json_string_value(json_object_get(e, "to"));
        int k = to != NULL && strlen(to) == 12 ? (int)strtol(to + 4, NULL, 10) - 10000 : -1;

        if (k >= 0 && k < n)
            count[k]++;
    }
    for (int k = 0; k < n; k++) {
        if (count[k] != 1)
            fail_msg("recipient %d received %d messages (want exactly 1)", k, count[k]);
    }
    free(count);
    json_decref(j);
}

/* ---- pacing ---- */

static void test_pacing_never_trips_the_limits(void **state)
{
    struct th_stack s;
    const char *sim[] = {"--mps", "40", "--pair-spacing-ms", "400", NULL};
    const char *env[] = {"JANSEVA_DISPATCH_MPS=40", "JANSEVA_DISPATCH_PAIR_SPACING_MS=400", NULL};
    json_t *c;
    char num[16];
    char key[64];

    (void)state;
    assert_int_equal(th_stack_start(&s, "dispatch-pace", sim, env), 0);
    /* 100 members, plus 4 messages to one member */
    for (int i = 0; i < 100; i++) {
        number(i, num);
        snprintf(key, sizeof key, "pace:%d", i);
        assert_int_equal(th_stack_queue(&s, key, num, NULL, "janseva_notice", GW_LANE_BULK,
                                        NULL),
                         0);
    }
    number(100, num);
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "spacing:%d", i);
        assert_int_equal(th_stack_queue(&s, key, num, NULL, "janseva_notice", GW_LANE_REPLY,
                                        NULL),
                         0);
    }
    wait_accepted(&s, 104, 30000);
    c = th_cloudsim_json(&s.sim, "/_sim/counters");
    /* the simulator enforces 40 mps and 400 ms spacing: nothing was refused */
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(c, "by_code"), "130429")),
                     0);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(c, "by_code"), "131056")),
                     0);
    json_decref(c);
    assert_int_equal(th_stack_metric(&s, "janseva_dispatch_dead_letters_total"), 0);
    /* the four to one member were spaced by at least 400 ms in the simulator */
    {
        json_t *j = th_cloudsim_json(&s.sim, "/_sim/sends?outcome=accepted&to=919800010100");
        json_t *sends = json_object_get(j, "sends");
        long long prev = -1;
        size_t i;
        json_t *e;

        assert_int_equal(json_array_size(sends), 4);
        json_array_foreach(sends, i, e)
        {
            long long t = json_integer_value(json_object_get(e, "time_ms"));

            if (prev >= 0)
                assert_true(t - prev >= 400);
            prev = t;
        }
        json_decref(j);
    }
    assert_true(th_stack_metric(
                    &s, "janseva_dispatch_deferred_total{reason=\"recipient_spacing\"}") >= 3);
    assert_int_equal(th_stack_metric(&s, "janseva_dispatch_queue_depth{number=\"" TH_SIM_PNID
                                         "\",lane=\"bulk\"}"),
                     0);
    assert_int_equal(th_stack_stop(&s), 0);
}

/* ---- the 24-hour window ---- */

static void test_window_rules(void **state)
{
    struct th_stack s;
    const char *const failed[] = {"failed", NULL};
    json_t *j;

    (void)state;
    assert_int_equal(th_stack_start(&s, "dispatch-window", NULL, NULL), 0);
    /* never wrote: free-form alone is given up; with a template it goes as template */
    assert_int_equal(th_stack_queue(&s, "w:1", "919800020001", "नमस्ते", NULL, GW_LANE_REPLY,
                                    NULL),
                     0);
    assert_int_equal(th_stack_queue(&s, "w:2", "919800020002", "नमस्ते", "janseva_notice",
                                    GW_LANE_REPLY, NULL),
                     0);
    wait_state(&s, "w:1", NULL, failed, 10000);
    wait_state(&s, "w:2", NULL, delivered_states, 10000);
    j = th_cloudsim_json(&s.sim, "/_sim/sends?outcome=accepted&to=919800020002");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "sends"), 0), "type")),
                        "template");
    json_decref(j);
    assert_int_equal(th_stack_accepted(&s, "919800020001"), 0);
    /* after the member writes in, free-form text goes as text (the
     * dialogue's own answers to what they wrote are interactive messages:
     * look at the text sends only) */
    assert_int_equal(th_stack_inbound(&s, "919800020003", "मदद चाहिए"), 0);
    assert_int_equal(th_stack_queue(&s, "w:3", "919800020003", "हम आ रहे हैं", "janseva_notice",
                                    GW_LANE_REPLY, NULL),
                     0);
    wait_state(&s, "w:3", NULL, delivered_states, 10000);
    j = th_cloudsim_json(&s.sim, "/_sim/sends?outcome=accepted&to=919800020003&type=text");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "sends"), 0), "type")),
                        "text");
    json_decref(j);
    /* janseva thinks the window is open but WhatsApp does not (131047 arrives
     * later as a failed status): the template is sent instead */
    assert_int_equal(th_stack_inbound(&s, "919800020004", "hello"), 0);
    assert_int_equal(th_cloudsim_req(&s.sim, "POST", "/_sim/window",
                                     "{\"to\":\"919800020004\",\"last_inbound_ms\":null}", NULL),
                     200);
    assert_int_equal(th_stack_queue(&s, "w:4", "919800020004", "text", "janseva_notice",
                                    GW_LANE_REPLY, NULL),
                     0);
    {
        const char *const superseded[] = {"superseded", NULL};

        wait_state(&s, "w:4", NULL, superseded, 10000);
    }
    /* w:4's text was taken and then failed with 131047; its template went
     * through (the dialogue's interactive answer to "hello" is not counted) */
    {
        char kh[GW_KEY_HASH_LEN];
        char key[GW_KEY_HASH_LEN + 32];

        gw_outbox_key_hash("w:4", kh);
        snprintf(key, sizeof key, "template-after-131047:%s", kh);
        wait_state(&s, key, NULL, delivered_states, 10000);
    }
    j = th_cloudsim_json(&s.sim, "/_sim/sends?to=919800020004&type=text");
    assert_int_equal(json_array_size(json_object_get(j, "sends")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "sends"), 0), "outcome")),
                        "failed");
    json_decref(j);
    j = th_cloudsim_json(&s.sim, "/_sim/sends?to=919800020004&type=template");
    assert_int_equal(json_array_size(json_object_get(j, "sends")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "sends"), 0), "outcome")),
                        "accepted");
    json_decref(j);
    assert_int_equal(th_stack_metric(&s, "janseva_delivery_statuses_total{result="
                                         "\"resent_as_template\"}"),
                     1);
    /* the same, but the failed status arrives before the send's answer (the
     * answer is slow, the status immediate): the template still goes, once */
    assert_int_equal(th_stack_inbound(&s, "919800020005", "hello"), 0);
    assert_int_equal(th_cloudsim_req(&s.sim, "POST", "/_sim/window",
                                     "{\"to\":\"919800020005\",\"last_inbound_ms\":null}", NULL),
                     200);
    assert_int_equal(
        th_cloudsim_req(&s.sim, "POST", "/_sim/config", "{\"status_delay_ms\":0}", NULL), 200);
    assert_int_equal(th_cloudsim_req(&s.sim, "POST", "/_sim/faults",
                                     "{\"mode\":\"slow\",\"to\":\"919800020005\",\"count\":1,"
                                     "\"delay_ms\":1500}",
                                     NULL),
                     200);
    assert_int_equal(th_stack_queue(&s, "w:5", "919800020005", "text", "janseva_notice",
                                    GW_LANE_REPLY, NULL),
                     0);
    {
        const char *const superseded[] = {"superseded", NULL};
        char kh[GW_KEY_HASH_LEN];
        char key[GW_KEY_HASH_LEN + 32];

        wait_state(&s, "w:5", NULL, superseded, 10000);
        gw_outbox_key_hash("w:5", kh);
        snprintf(key, sizeof key, "template-after-131047:%s", kh);
        wait_state(&s, key, NULL, delivered_states, 10000);
    }
    j = th_cloudsim_json(&s.sim, "/_sim/sends?to=919800020005&type=template");
    assert_int_equal(json_array_size(json_object_get(j, "sends")), 1);
    json_decref(j);
    assert_int_equal(th_stack_metric(&s, "janseva_delivery_statuses_total{result="
                                         "\"resent_as_template\"}"),
                     2);
    assert_int_equal(th_stack_stop(&s), 0);
}

/* ---- error paths ---- */

static void fault(struct th_stack *s, const char *json)
{
    assert_int_equal(th_cloudsim_req(&s->sim, "POST", "/_sim/faults", json, NULL), 200);
}

static void test_error_paths(void **state)
{
    struct th_stack s;
    const char *const failed[] = {"failed", NULL};

    (void)state;
    assert_int_equal(th_stack_start(&s, "dispatch-errors", NULL, NULL), 0);
    /* 5xx twice, then fine: retried with backoff, sent once */
    fault(&s, "{\"mode\":\"5xx\",\"status\":500,\"count\":2}");
    assert_int_equal(th_stack_queue(&s, "e:5xx", "919800030001", NULL, "janseva_notice",
                                    GW_LANE_REPLY, NULL),
                     0);
    wait_state(&s, "e:5xx", NULL, delivered_states, 20000);
    assert_int_equal(th_stack_accepted(&s, "919800030001"), 1);
    assert_true(th_stack_metric(&s, "janseva_dispatch_retries_total") >= 2);
    /* a 130429 storm: the number backs off, nothing is lost */
    fault(&s, "{\"mode\":\"throttle\",\"count\":3}");
    assert_int_equal(th_stack_queue(&s, "e:429", "919800030002", NULL, "janseva_notice",
                                    GW_LANE_REPLY, NULL),
                     0);
    wait_state(&s, "e:429", NULL, delivered_states, 30000);
    assert_true(th_stack_metric(&s, "janseva_dispatch_sends_total{outcome=\"throttled\"}") >= 3);
    /* 131056 for one recipient: delayed, then sent */
    fault(&s, "{\"mode\":\"pair_limit\",\"to\":\"919800030003\",\"count\":1}");
    assert_int_equal(th_stack_queue(&s, "e:pair", "919800030003", NULL, "janseva_notice",
                                    GW_LANE_REPLY, NULL),
                     0);
    wait_state(&s, "e:pair", NULL, delivered_states, 30000);
    assert_int_equal(th_stack_accepted(&s, "919800030003"), 1);
    /* token expired: the number pauses with an alert, then resumes by itself */
    fault(&s, "{\"mode\":\"token_expired\",\"count\":1}");
    assert_int_equal(th_stack_queue(&s, "e:190", "919800030004", NULL, "janseva_notice",
                                    GW_LANE_REPLY, NULL),
                     0);
    wait_state(&s, "e:190", NULL, delivered_states, 30000);
    assert_int_equal(th_stack_metric(&s, "janseva_dispatch_sends_total{outcome=\"pause\"}"), 1);
    assert_true(th_file_count(s.app.log_path, "ALERT: number paused") == 1);
    /* a template that does not exist: given up with the reason, not retried */
    assert_int_equal(th_stack_queue(&s, "e:tpl", "919800030005", NULL, "no_such_template",
                                    GW_LANE_REPLY, NULL),
                     0);
    wait_state(&s, "e:tpl", NULL, failed, 10000);
    assert_int_equal(th_stack_metric(&s, "janseva_dispatch_errors_total{code=\"132001\"}"), 1);
    assert_int_equal(th_stack_metric(&s, "janseva_dispatch_errors_total{code=\"190\"}"), 1);
    assert_true(th_stack_metric(&s, "janseva_dispatch_errors_total{code=\"130429\"}") >= 3);
    {
        redisReply *rep = th_redis_cmd(&s.redis, "XRANGE js:out:dead - +");
        int found = 0;

        for (size_t i = 0; rep != NULL && i < rep->elements; i++) {
            const redisReply *f = rep->element[i]->element[1];

            for (size_t k = 0; k + 1 < f->elements; k += 2) {
                if (strcmp(f->element[k]->str, "code") == 0 &&
                    strcmp(f->element[k + 1]->str, "132001") == 0)
                    found = 1;
            }
        }
        assert_true(found);
        freeReplyObject(rep);
    }
    /* nothing in the dead letters or the logs carries the numbers */
    assert_int_equal(th_redis_int(&s.redis, "XLEN js:out:dead"), 1);
    assert_int_equal(th_stack_stop(&s), 0);
    assert_true(1);
}

/* ---- shared bodies ---- */

/*
 * A fan-out (gw_outbox_enqueue_batch) stores its payload once, as a body
 * the stream entries name: every recipient gets it once; a recipient
 * delayed by 131056 is sent later (the delayed copy is sealed on its own);
 * a recipient whose window WhatsApp considers closed gets the template
 * after the async 131047 (from the body's ref); a replayed batch queues
 * nothing.
 */
static void test_shared_bodies(void **state)
{
    struct th_stack s;
    struct gw_outmsg msgs[5];
    char mids[5][CRY_MID_LEN];
    char keys[5][32];
    char wa[5][24];
    int dup[5];
    size_t queued = 0;
    struct core_err err;
    json_t *text;
    json_t *tpl;

    (void)state;
    assert_int_equal(th_stack_start(&s, "dispatch-bodies", NULL, NULL), 0);
    text = json_pack("{s:s,s:{s:s}}", "type", "text", "text", "body", "साझा संदेश");
    tpl = json_pack("{s:s,s:{s:s,s:{s:s},s:[{s:s,s:[{s:s,s:s}]}]}}", "type", "template",
                    "template", "name", "janseva_notice", "language", "code", "hi",
                    "components", "type", "body", "parameters", "type", "text", "text",
                    "साझा संदेश");
    for (int i = 0; i < 5; i++) {
        snprintf(wa[i], sizeof wa[i], "9198000%05d", 40001 + i);
        assert_int_equal(th_stack_inbound(&s, wa[i], "नमस्ते"), 0);
        assert_int_equal(th_stack_member(&s, wa[i], mids[i]), 0);
        snprintf(keys[i], sizeof keys[i], "shared:%d", i);
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].key = keys[i];
        msgs[i].number = TH_SIM_PNID;
        msgs[i].lane = GW_LANE_BULK;
        msgs[i].mid = mids[i];
        msgs[i].message = text;
        msgs[i].fallback = tpl;
    }
    /* recipient 1: one 131056; recipient 2: WhatsApp's window closed */
    fault(&s, "{\"mode\":\"pair_limit\",\"to\":\"919800040002\",\"count\":1}");
    assert_int_equal(th_cloudsim_req(&s.sim, "POST", "/_sim/window",
                                     "{\"to\":\"919800040003\",\"last_inbound_ms\":null}", NULL),
                     200);
    assert_int_equal(gw_outbox_enqueue_batch(s.r, s.keys, msgs, 5, dup, &queued, &err), 0);
    assert_int_equal(queued, 5);
    /* one body for the five: the entries carry its ref, not a copy */
    {
        redisReply *rep = th_redis_cmd(&s.redis, "KEYS js:out:{%s}:b:*", TH_SIM_PNID);

        assert_int_equal(rep->elements, 1);
        freeReplyObject(rep);
    }
    for (int i = 0; i < 5; i++) {
        if (i == 2)
            continue;
        wait_state(&s, keys[i], NULL, delivered_states, 30000);
    }
    {
        char kh[GW_KEY_HASH_LEN];
        char key[GW_KEY_HASH_LEN + 32];

        gw_outbox_key_hash(keys[2], kh);
        snprintf(key, sizeof key, "template-after-131047:%s", kh);
        wait_state(&s, key, NULL, delivered_states, 30000);
    }
    for (int i = 0; i < 5; i++) {
        const char *t = i == 2 ? "template" : "text";
        char path[200];
        json_t *j;

        snprintf(path, sizeof path, "/_sim/sends?outcome=accepted&to=%s&type=%s", wa[i], t);
        j = th_cloudsim_json(&s.sim, path);
        if (json_array_size(json_object_get(j, "sends")) != 1)
            fail_msg("recipient %d: %zu accepted %s sends (want 1)", i,
                     json_array_size(json_object_get(j, "sends")), t);
        json_decref(j);
    }
    assert_true(th_stack_metric(&s, "janseva_dispatch_errors_total{code=\"131056\"}") >= 1);
    /* the same batch again: nothing new */
    assert_int_equal(gw_outbox_enqueue_batch(s.r, s.keys, msgs, 5, dup, &queued, &err), 0);
    assert_int_equal(queued, 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(dup[i], 1);
    json_decref(text);
    json_decref(tpl);
    assert_int_equal(th_stack_stop(&s), 0);
}

/* ---- storms, crashes ---- */

static void test_fault_storm_no_loss_no_duplicate(void **state)
{
    struct th_stack s;
    const int n = 60;
    char num[16];
    char key[64];

    (void)state;
    assert_int_equal(th_stack_start(&s, "dispatch-storm", NULL, NULL), 0);
    fault(&s, "{\"mode\":\"5xx\",\"probability\":0.2}");
    fault(&s, "{\"mode\":\"reset\",\"process\":true,\"probability\":0.1}");
    fault(&s, "{\"mode\":\"timeout\",\"process\":true,\"delay_ms\":3000,\"probability\":0.05}");
    fault(&s, "{\"mode\":\"throttle\",\"probability\":0.05}");
    for (int i = 0; i < n; i++) {
        number(i, num);
        snprintf(key, sizeof key, "storm:%d", i);
        assert_int_equal(th_stack_queue(&s, key, num, NULL, "janseva_notice", GW_LANE_BULK,
                                        NULL),
                         0);
    }
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "storm:%d", i);
        wait_state(&s, key, NULL, delivered_states, 60000);
    }
    /* lost responses were resolved by status webhooks, not by sending again */
    assert_each_once(&s, n);
    assert_true(th_stack_metric(&s, "janseva_dispatch_sends_total{outcome=\"ambiguous\"}") > 0);
    assert_int_equal(th_stack_metric(&s, "janseva_dispatch_dead_letters_total"), 0);
    assert_int_equal(th_stack_stop(&s), 0);
}

static void test_kill_9_mid_queue(void **state)
{
    struct th_stack s;
    const int n = 150;
    const char *env[] = {"JANSEVA_DISPATCH_MPS=50", NULL};
    char num[16];
    char key[64];

    (void)state;
    assert_int_equal(th_stack_start(&s, "dispatch-crash", NULL, env), 0);
    for (int i = 0; i < n; i++) {
        number(i, num);
        snprintf(key, sizeof key, "crash:%d", i);
        assert_int_equal(th_stack_queue(&s, key, num, NULL, "janseva_notice", GW_LANE_BULK,
                                        NULL),
                         0);
    }
    wait_accepted(&s, 20, 20000);
    th_janseva_kill(&s.app); /* mid-queue, sends in flight */
    assert_true(th_stack_accepted(&s, NULL) < n);
    assert_int_equal(th_stack_restart_app(&s, env), 0);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "crash:%d", i);
        wait_state(&s, key, NULL, delivered_states, 60000);
    }
    assert_each_once(&s, n);
    assert_int_equal(th_stack_stop(&s), 0);
}

/* ---- statuses ---- */

static void test_disordered_statuses_exact_counters(void **state)
{
    struct th_stack s;
    const char *sim[] = {"--dup-rate", "0.3", "--reorder-rate", "0.5", "--skip-delivered-rate",
                         "0.5", "--read-rate", "0.6", NULL};
    const int n = 80;
    char num[16];
    char key[64];
    json_t *sends;
    size_t i;
    json_t *e;
    long want_delivered = 0;
    long want_read = 0;

    (void)state;
    assert_int_equal(th_stack_start(&s, "dispatch-status", sim, NULL), 0);
    for (int k = 0; k < n; k++) {
        number(k, num);
        snprintf(key, sizeof key, "bc-7:%d", k);
        assert_int_equal(th_stack_queue(&s, key, num, NULL, "janseva_notice", GW_LANE_ALERT,
                                        "bc-7"),
                         0);
    }
    wait_accepted(&s, n, 30000);
    /* what the simulator planned to report for each message */
    sends = th_cloudsim_json(&s.sim, "/_sim/sends?outcome=accepted&limit=1000");
    json_array_foreach(json_object_get(sends, "sends"), i, e)
    {
        json_t *plan = json_object_get(e, "plan");
        int has_read = 0;
        int has_delivered = 0;
        size_t k;
        json_t *p;

        json_array_foreach(json_object_get(plan, "statuses"), k, p)
        {
            const char *st = json_string_value(p);

            has_read |= st != NULL && strcmp(st, "read") == 0;
            has_delivered |= st != NULL && strcmp(st, "delivered") == 0;
        }
        want_read += has_read;
        want_delivered += has_read || has_delivered; /* read implies delivered */
    }
    json_decref(sends);
    assert_true(want_read > 0 && want_read < n);
    /* wait until every planned status arrived, duplicates included */
    for (int tries = 0; tries < 300; tries++) {
        if (th_redis_int(&s.redis, "HGET js:bc:{bc-7} read") == want_read &&
            th_redis_int(&s.redis, "HGET js:bc:{bc-7} delivered") == want_delivered)
            break;
        th_sleep_ms(50);
    }
    th_sleep_ms(500); /* late duplicates must not move the counters */
    assert_int_equal(th_redis_int(&s.redis, "HGET js:bc:{bc-7} sent"), n);
    assert_int_equal(th_redis_int(&s.redis, "HGET js:bc:{bc-7} delivered"), want_delivered);
    assert_int_equal(th_redis_int(&s.redis, "HGET js:bc:{bc-7} read"), want_read);
    assert_true(th_stack_metric(&s, "janseva_delivery_statuses_total{result=\"stale\"}") > 0);
    assert_int_equal(th_stack_stop(&s), 0);
}

/* ---- janseva send ---- */

static void test_send_command(void **state)
{
    struct th_stack s;
    char redis_env[700];
    char keys_env[700];
    char *out = NULL;
    char *err = NULL;

    (void)state;
    assert_int_equal(th_stack_start(&s, "dispatch-cli", NULL, NULL), 0);
    snprintf(redis_env, sizeof redis_env, "JANSEVA_REDIS=%s", s.redis.addr);
    snprintf(keys_env, sizeof keys_env, "JANSEVA_KEYS_DIR=%s", s.app.keys_dir);
    {
        const char *env[] = {redis_env, keys_env, "JANSEVA_PHONE_NUMBER_ID=" TH_SIM_PNID, NULL};
        const char *ok[] = {th_bin(), "send", "--to", "919800040001", "--template",
                            "janseva_notice", "--param", "जल जमाव", "--wait", "20", NULL};
        const char *bad[] = {th_bin(), "send", "--to", "+91 98000", "--text", "x", NULL};
        const char *none[] = {th_bin(), "send", "--to", "919800040001", NULL};

        assert_int_equal(th_run(ok, env, NULL, 0, &out, &err), 0);
        assert_non_null(strstr(out, "queued message "));
        assert_non_null(strstr(out, "state: "));
        assert_null(strstr(out, "919800040001")); /* never the number */
        free(out);
        free(err);
        assert_int_equal(th_run(bad, env, NULL, 0, &out, &err), 64);
        free(out);
        free(err);
        assert_int_equal(th_run(none, env, NULL, 0, &out, &err), 64);
        free(out);
        free(err);
    }
    assert_int_equal(th_stack_accepted(&s, "919800040001"), 1);
    assert_int_equal(th_stack_stop(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pacing_never_trips_the_limits),
        cmocka_unit_test(test_window_rules),
        cmocka_unit_test(test_error_paths),
        cmocka_unit_test(test_shared_bodies),
        cmocka_unit_test(test_fault_storm_no_loss_no_duplicate),
        cmocka_unit_test(test_kill_9_mid_queue),
        cmocka_unit_test(test_disordered_statuses_exact_counters),
        cmocka_unit_test(test_send_command),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
