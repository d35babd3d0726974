/*
 * tests/integration/test_flows.c - the dialogue's tip and alert flows and
 * the dispatcher's send check, end to end: a real `janseva serve` (all
 * roles), the Cloud API simulator and Redis. Citizens and officers write
 * through the simulator; what they get is read from the simulator's sends.
 *
 *  - a Hindi tip: गुप्त सूचना -> notice + pseudonym; text, a photo, a
 *    location into the case (/api/tips); हो गया -> closing message; an
 *    officer's reply (CLI) reaches the tipster; the answer (WhatsApp
 *    "reply") joins the case; a later message quoting the pseudonym too;
 *    the village's other members receive none of it
 *  - an English officer ALERT with Confirm: the unit's members receive it,
 *    counters match, the officer gets the report; pressed twice, sent once;
 *    Cancel: nobody; a citizen's "ALERT x": no preview; उद्घोषणा in Hindi
 *  - STOP after an alert was queued (number paused): the member gets
 *    nothing of it; cancel after confirm: the queued messages never go
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/util.h"
#include "groups/broadcast.h"
#include "groups/tip.h"
#include "tests/harness/stack.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN "test-api-token-0123456789"
#define SHO_NUMBER "919800059001" /* SHO Danapur (PAT-DNP) */
#define BO1_NUMBER "919800059002" /* beat officer Danapur 1 (PAT-DNP-1) */

static struct th_stack S;

/* ======================= helpers ======================= */

struct env {
    char redis[700];
    char keys[700];
    const char *v[5];
};

static int cli(const char *const args[], char **out)
{
    struct env e;
    const char *argv[24];
    char *o = NULL;
    char *err = NULL;
    size_t n = 0;
    int rc;

    snprintf(e.redis, sizeof e.redis, "JANSEVA_REDIS=%s", S.redis.addr);
    snprintf(e.keys, sizeof e.keys, "JANSEVA_KEYS_DIR=%s", S.app.keys_dir);
    e.v[0] = e.redis;
    e.v[1] = e.keys;
    e.v[2] = "JANSEVA_PHONE_NUMBER_ID=" TH_SIM_PNID;
    e.v[3] = "JANSEVA_LOG_LEVEL=warn";
    e.v[4] = NULL;
    argv[n++] = th_bin();
    for (size_t i = 0; args[i] != NULL && n + 1 < sizeof argv / sizeof argv[0]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    rc = th_run(argv, e.v, NULL, 0, &o, &err);
    if (rc != 0)
        fprintf(stderr, "cli %s: %s %s\n", args[0], o != NULL ? o : "", err != NULL ? err : "");
    if (out != NULL)
        *out = o;
    else
        free(o);
    free(err);
    return rc;
}

static void number(int i, char out[16])
{
    snprintf(out, 16, "9198000%05d", 58000 + i);
}

/* Member i of locality `loc`, active, inside the 24 h window. */
static void member(int i, const char *loc)
{
    char num[16];
    char mid[CRY_MID_LEN];

    number(i, num);
    assert_int_equal(th_stack_member(&S, num, mid), 0);
    {
        char li[24];

        snprintf(li, sizeof li, "%lld", (long long)(core_now_ms() / 1000));
        th_member_set(&S.redis, mid, "st", "active", "g", loc, "lang", "hi", "li", li, NULL);
    }
    th_group_add(&S.redis, loc, mid);
    freeReplyObject(th_redis_cmd(&S.redis, "HINCRBY js:u:{%s} n 1", loc));
}

/* POST `req` (stolen) to the simulator: its answer; janseva took it (200). */
static json_t *inbound(json_t *req)
{
    json_t *j = th_stack_send(&S, req);

    if (j == NULL)
        fail_msg("inbound refused (log %s)", S.app.log_path);
    return j;
}

static void say(const char *wa, const char *text)
{
    json_decref(inbound(json_pack("{s:s,s:s,s:s}", "from", wa, "name", "Kamla Devi", "text",
                                  text)));
}

static void tap(const char *wa, const char *id)
{
    json_decref(inbound(json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s}}", "from", wa, "name",
                                  "Kamla Devi", "type", "interactive", "reply", "type",
                                  "button_reply", "id", id, "title", "OK")));
}

/* Accepted sends to `wa`, oldest first (the simulator's records, new ref). */
static json_t *sends_to(const char *wa)
{
    char path[200];
    json_t *j;
    json_t *out;

    snprintf(path, sizeof path, "/_sim/sends?outcome=accepted&limit=2000&to=%s", wa);
    j = th_cloudsim_json(&S.sim, path);
    assert_non_null(j);
    out = json_incref(json_object_get(j, "sends"));
    json_decref(j);
    return out;
}

struct want_body {
    const char *wa;
    const char *needle;
    size_t after; /* only sends after this many */
    json_t *found;
};

static int body_found(void *ud)
{
    struct want_body *w = ud;
    json_t *a = sends_to(w->wa);
    size_t i;
    json_t *e;

    json_array_foreach(a, i, e)
    {
        const char *b = json_string_value(json_object_get(e, "body"));

        if (i >= w->after && b != NULL && strstr(b, w->needle) != NULL) {
            w->found = json_incref(e);
            break;
        }
    }
    json_decref(a);
    return w->found != NULL;
}

static size_t n_sends(const char *wa)
{
    json_t *a = sends_to(wa);
    size_t n = json_array_size(a);

    json_decref(a);
    return n;
}

/* Wait for a send to `wa` (after the first `after`) whose Graph body holds
 * `needle`; returns the simulator's record (new ref). */
static json_t *wait_body(const char *wa, const char *needle, size_t after)
{
    struct want_body w = {wa, needle, after, NULL};

    if (th_wait(body_found, &w, 15000) != 0) {
        json_t *a = sends_to(wa);
        char *d = json_dumps(a, JSON_INDENT(1));

        fprintf(stderr, "sends to %s: %s\n", wa, d);
        free(d);
        json_decref(a);
        fail_msg("no message to %s with \"%s\" (log %s)", wa, needle, S.app.log_path);
    }
    return w.found;
}

/* The Graph body of a simulator record (new ref). */
static json_t *graph_body(const json_t *rec)
{
    json_t *b = json_loads(json_string_value(json_object_get(rec, "body")), 0, NULL);

    assert_non_null(b);
    return b;
}

static const char *text_of(const json_t *b)
{
    const char *t = json_string_value(json_object_get(json_object_get(b, "text"), "body"));

    if (t == NULL)
        t = json_string_value(
            json_object_get(json_object_get(json_object_get(b, "interactive"), "body"), "text"));
    return t != NULL ? t : "";
}

static long api_get(const char *path, char **body)
{
    char url[256];
    const char *headers[] = {"Authorization: Bearer " TOKEN, NULL};
    struct th_http_resp resp;
    long st;

    snprintf(url, sizeof url, "%s%s", S.app.url, path);
    if (th_http("GET", url, headers, NULL, 0, &resp) != 0)
        return -1;
    st = resp.status;
    *body = resp.body != NULL ? strndup(resp.body, resp.len) : strdup("");
    th_http_resp_free(&resp);
    return st;
}

struct want_view {
    const char *ps;
    const char *needle;
};

static int view_has(void *ud)
{
    struct want_view *w = ud;
    char path[128];
    char *body = NULL;
    int hit;

    snprintf(path, sizeof path, "/api/tips/%s", w->ps);
    hit = api_get(path, &body) == 200 && strstr(body, w->needle) != NULL;
    free(body);
    return hit;
}

static void wait_view(const char *ps, const char *needle)
{
    struct want_view w = {ps, needle};

    if (th_wait(view_has, &w, 15000) != 0)
        fail_msg("case %s never showed \"%s\" (log %s)", ps, needle, S.app.log_path);
}

/* ---- broadcasts ---- */

static long long counter(const char *id, const char *name)
{
    long long v = th_redis_int(&S.redis, "HGET js:bc:{%s} %s", id, name);

    return v < 0 ? 0 : v;
}

static int of_broadcast(const json_t *e, const char *id)
{
    const char *body = json_string_value(json_object_get(e, "body"));
    char tag[96];

    snprintf(tag, sizeof tag, ":%s\"", id);
    return body != NULL && strstr(body, tag) != NULL;
}

static long broadcast_sends(const char *id, const char *to)
{
    json_t *j = th_cloudsim_json(&S.sim, "/_sim/sends?outcome=accepted&limit=50000");
    size_t i;
    json_t *e;
    long n = 0;

    json_array_foreach(json_object_get(j, "sends"), i, e)
    {
        const char *t = json_string_value(json_object_get(e, "to"));

        /* members only (9198000580xx): the officer's report carries the id too */
        if (t == NULL || strncmp(t, "9198000580", 10) != 0)
            continue;
        if (to == NULL || strcmp(t, to) == 0)
            n += of_broadcast(e, id);
    }
    json_decref(j);
    return n;
}

struct want_counter {
    const char *id;
    const char *name;
    long long v;
};

static int counter_is(void *ud)
{
    struct want_counter *w = ud;

    return counter(w->id, w->name) == w->v;
}

static void wait_counter(const char *id, const char *name, long long v)
{
    struct want_counter w = {id, name, v};

    /* generous: on a loaded machine statuses and a 131047 resend take a while */
    if (th_wait(counter_is, &w, 60000) != 0)
        fail_msg("broadcast %s: %s is %lld, want %lld (queued %lld, sent %lld, failed %lld, "
                 "skipped %lld, dropped %lld; log %s)",
                 id, name, counter(id, name), v, counter(id, "queued"), counter(id, "sent"),
                 counter(id, "failed"), counter(id, "skipped"), counter(id, "dropped"),
                 S.app.log_path);
}

struct want_state {
    const char *id;
    const char *st;
};

static int state_is(void *ud)
{
    struct want_state *w = ud;
    redisReply *rep = th_redis_cmd(&S.redis, "HGET js:bc:{%s} st", w->id);
    int hit = rep != NULL && rep->type == REDIS_REPLY_STRING && strcmp(rep->str, w->st) == 0;

    freeReplyObject(rep);
    return hit;
}

static void wait_state(const char *id, const char *st)
{
    struct want_state w = {id, st};

    if (th_wait(state_is, &w, 20000) != 0) {
        redisReply *rep = th_redis_cmd(&S.redis, "HGETALL js:bc:{%s}", id);

        for (size_t i = 0; rep != NULL && i + 1 < rep->elements; i += 2)
            fprintf(stderr, "  %s=%.40s\n", rep->element[i]->str, rep->element[i + 1]->str);
        freeReplyObject(rep);
        fail_msg("broadcast %s never %s (log %s)", id, st, S.app.log_path);
    }
}

/* The officer writes `text`; the preview's Confirm id gives the BID. */
static void alert_preview(const char *wa, const char *text, const char *needle,
                          char bid[GRP_BC_ID_LEN])
{
    size_t before = n_sends(wa);
    json_t *rec;
    json_t *b;
    const char *id;

    say(wa, text);
    rec = wait_body(wa, "alert:ok:", before);
    b = graph_body(rec);
    id = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(json_object_get(json_object_get(
                                                           b, "interactive"),
                                                       "action"),
                                       "buttons"),
                        0),
                        "reply"),
        "id"));
    assert_non_null(id);
    snprintf(bid, GRP_BC_ID_LEN, "%s", id + strlen("alert:ok:"));
    if (needle != NULL && strstr(text_of(b), needle) == NULL)
        fail_msg("preview \"%s\" lacks \"%s\"", text_of(b), needle);
    json_decref(b);
    json_decref(rec);
}

static void pause_number(int on)
{
    if (on)
        freeReplyObject(th_redis_cmd(&S.redis, "SET js:out:{%s}:pause 1 PX 120000", TH_SIM_PNID));
    else
        freeReplyObject(th_redis_cmd(&S.redis, "DEL js:out:{%s}:pause", TH_SIM_PNID));
    th_sleep_ms(1300); /* the dispatcher reads the pause key once a second */
}

/* ======================= the world ======================= */

static int setup(void **state)
{
    static const char *const env[] = {"JANSEVA_API_TOKEN=" TOKEN, "JANSEVA_BROADCAST_BATCH=4",
                                      "JANSEVA_BROADCAST_REPORT_AFTER_S=30", NULL};
    static const char *const kinds[] = {"state", "district", "thana", "beat", "locality"};
    static const char officers[] = "code,unit,role,name,phone\n"
                                   "SHO-DNP,PAT-DNP,sho,SHO Danapur," SHO_NUMBER "\n"
                                   "BO-DNP1,PAT-DNP-1,beat,Beat officer Danapur 1," BO1_NUMBER
                                   "\n";
    char path[700];
    char shares[700];
    char *templates;
    size_t len = 0;

    (void)state;
    if (th_stack_start(&S, "flows", NULL, env) != 0)
        return -1;
    for (int i = 0; i < 5; i++) {
        char file[128];
        const char *args[] = {"import", "--kind", kinds[i], file, NULL};

        snprintf(file, sizeof file, "data/sample-hierarchy/%s.csv", kinds[i]);
        if (cli(args, NULL) != 0)
            return -1;
    }
    snprintf(path, sizeof path, "%s/officers.csv", S.dir);
    if (th_write_file(path, officers, strlen(officers)) != 0)
        return -1;
    {
        const char *args[] = {"import", "--kind", "officer", path, NULL};

        if (cli(args, NULL) != 0)
            return -1;
    }
    snprintf(shares, sizeof shares, "%s/shares", S.dir);
    {
        const char *args[] = {"keys", "init-reveal", "--out", shares, NULL};

        if (cli(args, NULL) != 0)
            return -1;
    }
    /* the service reads the new reveal key at start */
    if (th_janseva_stop(&S.app) != 0 || th_stack_restart_app(&S, env) != 0)
        return -1;
    templates = th_read_file("data/sandbox/templates.json", &len);
    if (templates == NULL ||
        th_cloudsim_req(&S.sim, "POST", "/_sim/templates", templates, NULL) != 200)
        return -1;
    free(templates);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return th_stack_stop(&S) == 0 ? 0 : -1;
}

/* ======================= the tip ======================= */

static void test_hindi_tip(void **state)
{
    char a[16], b[16], c[16];
    char ps[GRP_TIP_PSEUDONYM_LEN];
    char wamid[200];
    json_t *rec;
    json_t *g;

    (void)state;
    member(1, "BHT-01");
    member(2, "BHT-01");
    member(3, "BHT-01");
    number(1, a);
    number(2, b);
    number(3, c);
    say(a, "गुप्त सूचना");
    rec = wait_body(a, "T-", 0);
    g = graph_body(rec);
    assert_non_null(strstr(text_of(g), "WhatsApp (Meta)"));
    assert_int_equal(grp_tip_pseudonym_scan(text_of(g), strlen(text_of(g)), ps), 1);
    json_decref(g);
    json_decref(rec);
    say(a, "पुराने चावल मिल के पीछे हर गुरुवार रात शराब की भट्ठी");
    json_decref(wait_body(a, "tip:done", 1));
    {
        unsigned char photo[600];
        char b64[1000];

        for (size_t i = 0; i < sizeof photo; i++)
            photo[i] = (unsigned char)(i * 13 + 1);
        sodium_bin2base64(b64, sizeof b64, photo, sizeof photo, sodium_base64_VARIANT_ORIGINAL);
        json_decref(inbound(json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "from", a, "name", "Kamla Devi",
                                      "type", "image", "mime_type", "image/jpeg", "caption",
                                      "भट्ठी की फोटो", "media_base64", b64)));
    }
    json_decref(wait_body(a, "tip:done", 2));
    json_decref(inbound(json_pack("{s:s,s:s,s:s,s:f,s:f}", "from", a, "name", "Kamla Devi", "type",
                                  "location", "latitude", 25.6341, "longitude", 84.9239)));
    json_decref(wait_body(a, "tip:done", 3));
    say(a, "हो गया");
    rec = wait_body(a, "धन्यवाद", 4);
    g = graph_body(rec);
    assert_non_null(strstr(text_of(g), ps));
    json_decref(g);
    json_decref(rec);
    /* all three in the case, as officers see it */
    wait_view(ps, "शराब की भट्ठी");
    wait_view(ps, "\"image\"");
    wait_view(ps, "\"location\"");
    /* an officer's reply (CLI) reaches the tipster */
    {
        const char *args[] = {"tip", "reply", ps, "--text", "कौन सा घर? रंग बताइए।", NULL};

        assert_int_equal(cli(args, NULL), 0);
    }
    rec = wait_body(a, "कौन सा घर", 0);
    snprintf(wamid, sizeof wamid, "%s", json_string_value(json_object_get(rec, "wamid")));
    json_decref(rec);
    /* the answer with WhatsApp's "reply" joins the case */
    json_decref(inbound(json_pack("{s:s,s:s,s:s,s:s}", "from", a, "name", "Kamla Devi", "text",
                                  "नीला घर, दूसरी गली", "reply_to", wamid)));
    wait_view(ps, "नीला घर");
    /* a later message quoting the pseudonym too */
    {
        char text[200];

        snprintf(text, sizeof text, "%s आज रात फिर गाड़ी आई", ps);
        say(a, text);
        wait_view(ps, "फिर गाड़ी आई");
    }
    /* the village heard nothing of it */
    assert_int_equal(th_stack_accepted(&S, b), 0);
    assert_int_equal(th_stack_accepted(&S, c), 0);
}

/* ======================= alerts ======================= */

static void test_english_alert(void **state)
{
    char bid[GRP_BC_ID_LEN];
    char bid2[GRP_BC_ID_LEN];
    char id[64];
    char sho[CRY_MID_LEN];
    char x[16];
    size_t before;

    (void)state;
    /* 6 members in Danapur (thana), one in Bihta (another thana) */
    member(10, "KHG-01");
    member(11, "KHG-01");
    member(12, "JMP-01");
    member(13, "MNR-01");
    member(14, "HLD-01");
    member(15, "SHP-01");
    member(16, "BHT-01");
    assert_int_equal(th_stack_member(&S, SHO_NUMBER, sho), 0);
    th_member_set(&S.redis, sho, "lang", "en", NULL);
    alert_preview(SHO_NUMBER, "ALERT Water supply will be off tomorrow from 9 to 12.",
                  "Members: 6", bid);
    snprintf(id, sizeof id, "alert:ok:%s", bid);
    before = n_sends(SHO_NUMBER);
    tap(SHO_NUMBER, id);
    json_decref(wait_body(SHO_NUMBER, "is going out", before));
    wait_counter(bid, "sent", 6);
    assert_int_equal(counter(bid, "queued"), 6);
    assert_int_equal(broadcast_sends(bid, NULL), 6);
    for (int i = 10; i < 16; i++) {
        number(i, x);
        assert_int_equal(broadcast_sends(bid, x), 1);
    }
    number(16, x);
    assert_int_equal(th_stack_accepted(&S, x), 0);
    json_decref(wait_body(SHO_NUMBER, "Report on alert", before));
    /* pressed twice: once */
    before = n_sends(SHO_NUMBER);
    tap(SHO_NUMBER, id);
    json_decref(wait_body(SHO_NUMBER, "already confirmed", before));
    assert_int_equal(counter(bid, "queued"), 6);
    /* Cancel: nobody receives it */
    alert_preview(SHO_NUMBER, "ALERT This one is cancelled", NULL, bid2);
    snprintf(id, sizeof id, "alert:no:%s", bid2);
    before = n_sends(SHO_NUMBER);
    tap(SHO_NUMBER, id);
    json_decref(wait_body(SHO_NUMBER, "was cancelled", before));
    wait_state(bid2, "cancelled");
    assert_int_equal(counter(bid2, "queued"), 0);
    assert_int_equal(broadcast_sends(bid2, NULL), 0);
    /* a citizen's ALERT: the ordinary dialogue, no preview */
    number(10, x);
    before = n_sends(x);
    say(x, "ALERT there is a fire in the market");
    {
        struct want_body w = {x, "\"", before, NULL};

        assert_int_equal(th_wait(body_found, &w, 15000), 0);
        assert_null(strstr(json_string_value(json_object_get(w.found, "body")), "alert:ok"));
        json_decref(w.found);
    }
    /* उद्घोषणा in Hindi by the beat officer: the beat's members (KHG, JMP, SHP) */
    alert_preview(BO1_NUMBER, "उद्घोषणा कल खगौल में बिजली नहीं रहेगी", "सदस्य: 4", bid2);
    snprintf(id, sizeof id, "alert:ok:%s", bid2);
    before = n_sends(BO1_NUMBER);
    tap(BO1_NUMBER, id);
    json_decref(wait_body(BO1_NUMBER, bid2, before));
    wait_counter(bid2, "sent", 4);
    assert_int_equal(broadcast_sends(bid2, NULL), 4);
    number(13, x);
    assert_int_equal(broadcast_sends(bid2, x), 0);
}

/* ======================= STOP and cancel at send time ======================= */

static void test_stop_and_cancel_after_queueing(void **state)
{
    char bid[GRP_BC_ID_LEN];
    char id[64];
    char x[16];
    long long dropped0 = th_stack_metric(&S, "janseva_dispatch_dropped_total{reason=\"stopped\"}");

    (void)state;
    /* the members of test_english_alert (10..15) are still there */
    alert_preview(SHO_NUMBER, "ALERT Market closed today", "Members: 6", bid);
    pause_number(1);
    snprintf(id, sizeof id, "alert:ok:%s", bid);
    tap(SHO_NUMBER, id);
    wait_state(bid, "sending"); /* every message queued, none sent */
    assert_int_equal(counter(bid, "queued"), 6);
    assert_int_equal(counter(bid, "sent"), 0);
    /* member 11 sends STOP while the alert waits in the queue */
    number(11, x);
    say(x, "STOP");
    {
        char mid[CRY_MID_LEN];
        char *st;
        int left = 0;

        assert_int_equal(th_stack_member(&S, x, mid), 0);
        for (int i = 0; i < 200 && !left; i++) {
            st = th_member_get(&S.redis, mid, "st");
            left = st != NULL && strcmp(st, "left") == 0;
            free(st);
            if (!left)
                th_sleep_ms(50);
        }
        assert_true(left);
    }
    pause_number(0);
    wait_counter(bid, "sent", 5);
    wait_counter(bid, "dropped", 1);
    assert_int_equal(counter(bid, "queued"), 5);
    assert_int_equal(broadcast_sends(bid, x), 0);
    assert_int_equal(broadcast_sends(bid, NULL), 5);
    assert_true(th_stack_metric(&S, "janseva_dispatch_dropped_total{reason=\"stopped\"}") >=
                dropped0 + 1);
    /* the STOP confirmation itself (lane reply) did go */
    assert_true(th_stack_accepted(&S, x) >= 1);

    /* cancel after confirm: the queued messages never go */
    alert_preview(SHO_NUMBER, "ALERT Second notice", "Members: 5", bid);
    pause_number(1);
    snprintf(id, sizeof id, "alert:ok:%s", bid);
    tap(SHO_NUMBER, id);
    wait_state(bid, "sending");
    assert_int_equal(counter(bid, "queued"), 5);
    snprintf(id, sizeof id, "alert:no:%s", bid);
    tap(SHO_NUMBER, id);
    wait_state(bid, "cancelled");
    pause_number(0);
    wait_counter(bid, "dropped", 5);
    assert_int_equal(counter(bid, "queued"), 0);
    assert_int_equal(counter(bid, "sent"), 0);
    assert_int_equal(broadcast_sends(bid, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hindi_tip),
        cmocka_unit_test(test_english_alert),
        cmocka_unit_test(test_stop_and_cancel_after_queueing),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
