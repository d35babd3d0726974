/*
 * tests/integration/test_broadcast.c - officer broadcasts through the real
 * janseva (every role), the Cloud API simulator and Redis: officers
 * imported with `janseva import --kind officer`; the HTTP API (401 without
 * or with a wrong token, 403 outside an officer's jurisdiction or for an
 * unknown officer, 400, 404); an SHO's alert previewed (reach, 24 h window,
 * cost), confirmed and delivered: every active member exactly once at the
 * simulator (text inside the window, the template outside), nobody else,
 * counters equal to the simulator's statuses, the final report on the
 * officer's WhatsApp; kill -9 in the middle of a fan-out and a restart:
 * every member still exactly once; cancel through the CLI, and its exit
 * codes.
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

#define TOKEN "test-api-token-0123456789"
#define SHO_NUMBER "919800059001"
#define BO1_NUMBER "919800059002"

struct env {
    char redis[700];
    char keys[700];
    const char *v[5];
};

static void cli_env(struct th_stack *s, struct env *e)
{
    snprintf(e->redis, sizeof e->redis, "JANSEVA_REDIS=%s", s->redis.addr);
    snprintf(e->keys, sizeof e->keys, "JANSEVA_KEYS_DIR=%s", s->app.keys_dir);
    e->v[0] = e->redis;
    e->v[1] = e->keys;
    e->v[2] = "JANSEVA_PHONE_NUMBER_ID=" TH_SIM_PNID;
    e->v[3] = "JANSEVA_LOG_LEVEL=warn";
    e->v[4] = NULL;
}

/* Run `janseva ARGS...`; returns the exit status; *out (may be NULL) gets stdout. */
static int cli(struct th_stack *s, const char *const args[], char **out)
{
    struct env e;
    const char *argv[24];
    char *o = NULL;
    char *err = NULL;
    size_t n = 0;
    int rc;

    cli_env(s, &e);
    argv[n++] = th_bin();
    for (size_t i = 0; args[i] != NULL && n + 1 < sizeof argv / sizeof argv[0]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    rc = th_run(argv, e.v, NULL, 0, &o, &err);
    if (out != NULL)
        *out = o;
    else
        free(o);
    /* errors never quote a phone number */
    if (err != NULL && (strstr(err, "9800059") != NULL || strstr(err, "9800058") != NULL))
        fail_msg("a phone number on stderr: %s", err);
    free(err);
    return rc;
}

static void setup_world(struct th_stack *s)
{
    static const char *const kinds[] = {"state", "district", "thana", "beat", "locality"};
    static const char officers[] = "code,unit,role,name,phone\n"
                                   "SHO-DNP,PAT-DNP,sho,SHO Danapur," SHO_NUMBER "\n"
                                   "BO-DNP1,PAT-DNP-1,beat,Beat officer Danapur 1," BO1_NUMBER "\n"
                                   "HQ-1,BR,hq,HQ control room,919800059003\n";
    char path[700];
    char *templates;
    size_t len = 0;

    for (int i = 0; i < 5; i++) {
        char file[128];
        const char *args[] = {"import", "--kind", kinds[i], file, NULL};

        snprintf(file, sizeof file, "data/sample-hierarchy/%s.csv", kinds[i]);
        assert_int_equal(cli(s, args, NULL), 0);
    }
    snprintf(path, sizeof path, "%s/officers.csv", s->dir);
    assert_int_equal(th_write_file(path, officers, strlen(officers)), 0);
    {
        const char *args[] = {"import", "--kind", "officer", path, NULL};
        char *out = NULL;

        assert_int_equal(cli(s, args, &out), 0);
        assert_non_null(strstr(out, "officer: 3 rows: 3 created"));
        free(out);
    }
    templates = th_read_file("data/sandbox/templates.json", &len);
    assert_non_null(templates);
    assert_int_equal(th_cloudsim_req(&s->sim, "POST", "/_sim/templates", templates, NULL), 200);
    free(templates);
}

static void number(int i, char out[16])
{
    snprintf(out, 16, "9198000%05d", 58000 + i);
}

/* Member i of locality `loc` with status `st`. */
static void member(struct th_stack *s, int i, const char *loc, const char *st, const char *lang)
{
    char num[16];
    char mid[CRY_MID_LEN];

    number(i, num);
    assert_int_equal(th_stack_member(s, num, mid), 0);
    th_member_set(&s->redis, mid, "st", st, "g", loc, "lang", lang, NULL);
    th_group_add(&s->redis, loc, mid);
}

/* ---- HTTP ---- */

static long api(struct th_stack *s, const char *method, const char *path, const char *token,
                const char *officer, const char *body, json_t **out)
{
    char url[256];
    char auth[128];
    char off[96];
    const char *headers[4];
    size_t n = 0;
    struct th_http_resp resp;
    long status;

    snprintf(url, sizeof url, "%s%s", s->app.url, path);
    if (token != NULL) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        headers[n++] = auth;
    }
    if (officer != NULL) {
        snprintf(off, sizeof off, "X-Janseva-Officer: %s", officer);
        headers[n++] = off;
    }
    headers[n++] = "Content-Type: application/json";
    headers[n] = NULL;
    if (th_http(method, url, headers, body, body != NULL ? strlen(body) : 0, &resp) != 0)
        return -1;
    status = resp.status;
    if (out != NULL)
        *out = json_loadb(resp.body != NULL ? resp.body : "", resp.len, 0, NULL);
    if (resp.body != NULL && (strstr(resp.body, "9800058") || strstr(resp.body, "9800059")))
        fail_msg("a phone number in an API answer");
    th_http_resp_free(&resp);
    return status;
}

struct want_state {
    struct th_stack *s;
    const char *id;
    const char *const *states;
};

static int state_is(void *ud)
{
    struct want_state *w = ud;
    redisReply *rep = th_redis_cmd(&w->s->redis, "HGET js:bc:{%s} st", w->id);
    int hit = 0;

    for (size_t i = 0; rep != NULL && rep->type == REDIS_REPLY_STRING && w->states[i]; i++)
        hit |= strcmp(rep->str, w->states[i]) == 0;
    freeReplyObject(rep);
    return hit;
}

static void wait_state(struct th_stack *s, const char *id, const char *const states[],
                       int timeout_ms)
{
    struct want_state w = {s, id, states};

    if (th_wait(state_is, &w, timeout_ms) != 0)
        fail_msg("broadcast %s never reached %s (log %s)", id, states[0], s->app.log_path);
}

static long long counter(struct th_stack *s, const char *id, const char *name)
{
    long long v = th_redis_int(&s->redis, "HGET js:bc:{%s} %s", id, name);

    return v < 0 ? 0 : v;
}

/* True if simulator record `e` is a message of broadcast `id`: the dispatcher
 * sends "<key>:<broadcast>" as biz_opaque_callback_data. Members who wrote
 * in also get the dialogue's replies, which are not part of the broadcast. */
static int of_broadcast(const json_t *e, const char *id)
{
    const char *body = json_string_value(json_object_get(e, "body"));
    char tag[96];

    snprintf(tag, sizeof tag, ":%s\"", id);
    return body != NULL && strstr(body, "\"biz_opaque_callback_data\"") != NULL &&
           strstr(body, tag) != NULL;
}

static long broadcast_sends(struct th_stack *s, const char *id)
{
    json_t *j = th_cloudsim_json(&s->sim, "/_sim/sends?outcome=accepted&limit=50000");
    size_t i;
    json_t *e;
    long n = 0;

    json_array_foreach(json_object_get(j, "sends"), i, e) n += of_broadcast(e, id);
    json_decref(j);
    return n;
}

/* Accepted sends of broadcast `id` per member 0..n-1; also the message types. */
static void sends_per_member(struct th_stack *s, const char *id, int n, int *count, int *texts)
{
    json_t *j = th_cloudsim_json(&s->sim, "/_sim/sends?outcome=accepted&limit=50000");
    size_t i;
    json_t *e;

    memset(count, 0, (size_t)n * sizeof *count);
    memset(texts, 0, (size_t)n * sizeof *texts);
    json_array_foreach(json_object_get(j, "sends"), i, e)
    {
        const char *to = json_string_value(json_object_get(e, "to"));
        const char *type = json_string_value(json_object_get(e, "type"));
        int k;

        if (to == NULL || strncmp(to, "9198000", 7) != 0 || strlen(to) != 12 ||
            !of_broadcast(e, id))
            continue;
        k = (int)strtol(to + 7, NULL, 10) - 58000;
        if (k >= 0 && k < n) {
            count[k]++;
            texts[k] += type != NULL && strcmp(type, "text") == 0;
        }
    }
    json_decref(j);
}

/* Accepted sends to `to` (the report), polled until there are `n`. */
struct want_sends {
    struct th_stack *s;
    const char *to;
    long n;
};

static int sends_reached(void *ud)
{
    struct want_sends *w = ud;

    return th_stack_accepted(w->s, w->to) >= w->n;
}

static json_t *sends_to(struct th_stack *s, const char *to, long n)
{
    struct want_sends w = {s, to, n};
    char q[160];

    if (th_wait(sends_reached, &w, 10000) != 0)
        fail_msg("%ld message(s) to the officer never arrived (log %s)", n, s->app.log_path);
    snprintf(q, sizeof q, "/_sim/sends?outcome=accepted&to=%s", to);
    return th_cloudsim_json(&s->sim, q);
}

/* ---- the API, end to end ---- */

struct settle {
    struct th_stack *s;
    const char *id;
    long long delivered, read;
};

static int counters_settled(void *ud)
{
    struct settle *w = ud;

    return counter(w->s, w->id, "delivered") == w->delivered &&
           counter(w->s, w->id, "read") == w->read;
}

static const char *relay_of(json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "settings"), "relay"));
}

/*
 * A group's settings over the API: read by the operator, changed by an
 * officer inside their jurisdiction (audited, once per change), refused
 * outside it, for a unit that is not a village group and for bad bodies,
 * which change nothing.
 */
static void test_api_group_settings(void **state)
{
    struct th_stack s;
    const char *env[] = {"JANSEVA_API_TOKEN=" TOKEN, NULL};
    json_t *j = NULL;

    (void)state;
    assert_int_equal(th_stack_start(&s, "bc-settings", NULL, env), 0);
    setup_world(&s);
    member(&s, 1, "KHG-01", "active", "hi");
    member(&s, 2, "KHG-01", "active", "en");
    freeReplyObject(th_redis_cmd(&s.redis, "HINCRBY js:u:{KHG-01} n 2")); /* as enrolment does */
    assert_int_equal(api(&s, "GET", "/api/units/KHG-01/settings", NULL, NULL, NULL, NULL), 401);
    assert_int_equal(api(&s, "GET", "/api/units/KHG-01/settings", TOKEN, NULL, NULL, &j), 200);
    assert_string_equal(relay_of(j), "each");
    assert_string_equal(json_string_value(json_object_get(j, "code")), "KHG-01");
    assert_int_equal(json_integer_value(json_object_get(j, "members")), 2);
    assert_non_null(json_object_get(json_object_get(j, "today"), "budget_inr"));
    json_decref(j);
    /* the beat officer of KHG-01 switches it to the daily digest */
    assert_int_equal(api(&s, "PUT", "/api/units/KHG-01/settings", TOKEN, "BO-DNP1",
                         "{\"relay\":\"digest\"}", &j),
                     200);
    assert_string_equal(relay_of(j), "digest");
    json_decref(j);
    assert_int_equal(th_audit_count(&s.redis, "group.set", "KHG-01", "officer:BO-DNP1"), 1);
    /* the same again: no change, no record */
    assert_int_equal(api(&s, "PUT", "/api/units/KHG-01/settings", TOKEN, "BO-DNP1",
                         "{\"relay\":\"digest\"}", NULL),
                     200);
    assert_int_equal(th_audit_count(&s.redis, "group.set", "KHG-01", "officer:BO-DNP1"), 1);
    /* outside the jurisdiction: Bihta is another thana */
    assert_int_equal(api(&s, "PUT", "/api/units/BHT-01/settings", TOKEN, "BO-DNP1",
                         "{\"relay\":\"digest\"}", NULL),
                     403);
    assert_int_equal(api(&s, "GET", "/api/units/BHT-01/settings", TOKEN, "SHO-DNP", NULL, NULL),
                     403);
    /* bad requests change nothing */
    assert_int_equal(api(&s, "PUT", "/api/units/KHG-01/settings", TOKEN, NULL,
                         "{\"relay\":\"weekly\"}", &j),
                     400);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "each or digest"));
    json_decref(j);
    assert_int_equal(api(&s, "PUT", "/api/units/KHG-01/settings", TOKEN, NULL,
                         "{\"relay\":\"each\",\"colour\":\"blue\"}", &j),
                     400);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "unknown group"));
    json_decref(j);
    assert_int_equal(
        api(&s, "PUT", "/api/units/KHG-01/settings", TOKEN, NULL, "{\"relay\":1}", NULL), 400);
    assert_int_equal(api(&s, "PUT", "/api/units/KHG-01/settings", TOKEN, NULL, "{", NULL), 400);
    assert_int_equal(api(&s, "PUT", "/api/units/KHG-01/settings", TOKEN, NULL, "{}", NULL), 400);
    assert_int_equal(api(&s, "DELETE", "/api/units/KHG-01/settings", TOKEN, NULL, NULL, NULL),
                     405);
    assert_int_equal(api(&s, "GET", "/api/units/PAT-DNP/settings", TOKEN, NULL, NULL, &j), 404);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "not a village group"));
    json_decref(j);
    assert_int_equal(api(&s, "GET", "/api/units/KHG-01/colour", TOKEN, NULL, NULL, NULL), 404);
    assert_int_equal(api(&s, "GET", "/api/units/KHG-01/settings", TOKEN, "SHO-DNP", NULL, &j),
                     200);
    assert_string_equal(relay_of(j), "digest");
    json_decref(j);
    /* the operator switches it back */
    assert_int_equal(api(&s, "PUT", "/api/units/KHG-01/settings", TOKEN, NULL,
                         "{\"relay\":\"each\"}", &j),
                     200);
    assert_string_equal(relay_of(j), "each");
    json_decref(j);
    assert_int_equal(th_audit_count(&s.redis, "group.set", "KHG-01", "api:dashboard"), 1);
    assert_int_equal(th_stack_stop(&s), 0);
}

static void test_api_alert_end_to_end(void **state)
{
    struct th_stack s;
    const char *env[] = {"JANSEVA_API_TOKEN=" TOKEN, "JANSEVA_BROADCAST_LEASE_MS=1000",
                         "JANSEVA_BROADCAST_BATCH=8", NULL};
    static const char *const locs[] = {"KHG-01", "JMP-01", "MNR-01", "HLD-01", "BHT-01"};
    const int n = 45;
    int count[64], texts[64];
    int active[64];
    json_t *j = NULL;
    char id[32];
    char path[128];
    const char *body = "{\"text_hi\":\"बाढ़ की चेतावनी: नदी से दूर रहें\","
                       "\"text_en\":\"Flood warning: keep away from the river\"}";

    (void)state;
    assert_int_equal(th_stack_start(&s, "bc-api", NULL, env), 0);
    setup_world(&s);
    /* 45 members: 36 under PAT-DNP (5 left), 9 in Bihta (another thana) */
    for (int i = 0; i < n; i++) {
        const char *loc = locs[i % 5];
        int left = i % 9 == 4;

        member(&s, i, loc, left ? "left" : "active", i % 2 ? "en" : "hi");
        active[i] = !left && strcmp(loc, "BHT-01") != 0;
    }
    /* ten write in: their 24 h window is open */
    for (int i = 0; i < 10; i++) {
        char num[16];

        number(i * 2, num);
        assert_int_equal(th_stack_inbound(&s, num, "नमस्ते"), 0);
    }

    /* authentication and jurisdiction */
    assert_int_equal(api(&s, "GET", "/api/broadcasts", NULL, NULL, NULL, NULL), 401);
    assert_int_equal(api(&s, "GET", "/api/broadcasts", "wrong-token-0123456789", NULL, NULL,
                         NULL),
                     401);
    assert_int_equal(api(&s, "POST", "/api/broadcasts", TOKEN "x", NULL, body, NULL), 401);
    assert_int_equal(api(&s, "GET", "/api/units/PAT-DNP/reach", TOKEN, "BO-DNP1", NULL, NULL),
                     403);
    assert_int_equal(api(&s, "GET", "/api/units/PAT-DNP-1/reach", TOKEN, "NOBODY", NULL, NULL),
                     403);
    {
        char b[600];

        snprintf(b, sizeof b, "{\"scope\":\"PAT-DNP\",%s", body + 1);
        assert_int_equal(api(&s, "POST", "/api/broadcasts", TOKEN, "BO-DNP1", b, &j), 403);
        assert_non_null(strstr(json_string_value(json_object_get(j, "error")),
                               "outside the jurisdiction"));
        json_decref(j);
    }
    assert_int_equal(api(&s, "POST", "/api/broadcasts", TOKEN, "SHO-DNP", "{nope", &j), 400);
    json_decref(j);
    assert_int_equal(api(&s, "GET", "/api/broadcasts/0123456789abcdef", TOKEN, NULL, NULL, NULL),
                     404);
    assert_int_equal(api(&s, "GET", "/api/units/NOPE/reach", TOKEN, NULL, NULL, NULL), 404);

    /* the reach of the thana as its SHO sees it */
    assert_int_equal(api(&s, "GET", "/api/units/PAT-DNP/reach", TOKEN, "SHO-DNP", NULL, &j), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "members")), 36);
    assert_int_equal(json_integer_value(json_object_get(j, "reach")), 32);
    assert_int_equal(json_integer_value(json_object_get(j, "in_window")), 8);
    json_decref(j);

    /* the SHO drafts the alert (scope: their thana) and confirms it */
    assert_int_equal(api(&s, "POST", "/api/broadcasts", TOKEN, "SHO-DNP", body, &j), 201);
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(j, "id")));
    assert_string_equal(json_string_value(json_object_get(j, "state")), "draft");
    {
        json_t *r = json_object_get(j, "reach");
        json_t *cost = json_object_get(r, "cost");

        assert_string_equal(json_string_value(json_object_get(r, "scope")), "PAT-DNP");
        assert_int_equal(json_integer_value(json_object_get(r, "reach")), 32);
        assert_int_equal(json_integer_value(json_object_get(r, "in_window")), 8);
        assert_int_equal(json_integer_value(json_object_get(cost, "charged")), 24);
        assert_string_equal(json_string_value(json_object_get(cost, "estimated_inr")), "2.76");
    }
    json_decref(j);
    /* nothing goes out before the confirmation */
    th_sleep_ms(400);
    assert_int_equal(broadcast_sends(&s, id), 0);
    snprintf(path, sizeof path, "/api/broadcasts/%s", id);
    assert_int_equal(api(&s, "GET", path, TOKEN, "BO-DNP1", NULL, NULL), 403);
    snprintf(path, sizeof path, "/api/broadcasts/%s/confirm", id);
    assert_int_equal(api(&s, "POST", path, TOKEN, "BO-DNP1", "", NULL), 403);
    assert_int_equal(api(&s, "POST", path, TOKEN, "SHO-DNP", "", &j), 200);
    json_decref(j);
    {
        const char *const done[] = {"done", NULL};

        wait_state(&s, id, done, 30000);
    }

    /* every active member of the thana exactly once; text only inside the window */
    sends_per_member(&s, id, n, count, texts);
    for (int i = 0; i < n; i++) {
        if (count[i] != (active[i] ? 1 : 0))
            fail_msg("member %d received %d messages (want %d)", i, count[i], active[i]);
        if (active[i] && texts[i] != (i % 2 == 0 && i < 20 ? 1 : 0))
            fail_msg("member %d: %d texts", i, texts[i]);
    }
    assert_int_equal(counter(&s, id, "queued"), 32);
    assert_int_equal(counter(&s, id, "skipped"), 4);
    assert_int_equal(counter(&s, id, "targeted"), 36);
    assert_int_equal(counter(&s, id, "sent"), 32);
    /* delivered and read as the simulator reported them */
    {
        json_t *sends = th_cloudsim_json(&s.sim, "/_sim/sends?outcome=accepted&limit=50000");
        struct settle w = {&s, id, 0, 0};
        size_t i;
        json_t *e;

        json_array_foreach(json_object_get(sends, "sends"), i, e)
        {
            const char *to = json_string_value(json_object_get(e, "to"));
            size_t k;
            json_t *p;
            int rd = 0, dl = 0;

            if (strcmp(to, SHO_NUMBER) == 0 || !of_broadcast(e, id))
                continue; /* the report and dialogue replies are not the broadcast */
            json_array_foreach(json_object_get(json_object_get(e, "plan"), "statuses"), k, p)
            {
                rd |= strcmp(json_string_value(p), "read") == 0;
                dl |= strcmp(json_string_value(p), "delivered") == 0;
            }
            w.read += rd;
            w.delivered += rd || dl;
        }
        json_decref(sends);
        if (th_wait(counters_settled, &w, 10000) != 0)
            fail_msg("counters delivered %lld read %lld, simulator %lld / %lld",
                     counter(&s, id, "delivered"), counter(&s, id, "read"), w.delivered, w.read);
    }
    /* the final report went to the SHO */
    {
        json_t *sends = sends_to(&s, SHO_NUMBER, 1);
        const char *rb;

        th_sleep_ms(200); /* a second report would show up now */
        json_decref(sends);
        sends = sends_to(&s, SHO_NUMBER, 1);
        assert_int_equal(json_array_size(json_object_get(sends, "sends")), 1);
        rb = json_string_value(json_object_get(json_array_get(json_object_get(sends, "sends"), 0),
                                               "body"));
        assert_non_null(strstr(rb, id));
        assert_non_null(strstr(rb, "janseva_notice")); /* the SHO's window is closed */
        json_decref(sends);
    }
    snprintf(path, sizeof path, "/api/broadcasts/%s", id);
    assert_int_equal(api(&s, "GET", path, TOKEN, "SHO-DNP", NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "done");
    assert_true(json_is_true(json_object_get(json_object_get(j, "report"), "sent_to_officer")));
    json_decref(j);
    /* the list, as HQ */
    assert_int_equal(api(&s, "GET", "/api/broadcasts?limit=5", TOKEN, "HQ-1", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "broadcasts")), 1);
    json_decref(j);
    assert_true(th_file_count(s.app.log_path, "9800058") == 0);
    assert_int_equal(th_stack_stop(&s), 0);
}

/* ---- kill -9 in the middle of a fan-out ---- */

struct want_queued {
    struct th_stack *s;
    const char *id;
    long long n;
};

static int queued_reached(void *ud)
{
    struct want_queued *w = ud;

    return counter(w->s, w->id, "queued") >= w->n;
}

static void test_kill_9_mid_fanout(void **state)
{
    struct th_stack s;
    const char *env[] = {"JANSEVA_BROADCAST_LEASE_MS=1000", "JANSEVA_BROADCAST_BATCH=10",
                         "JANSEVA_BROADCAST_BATCH_PAUSE_MS=60", NULL};
    const int n = 300;
    int count[300], texts[300];
    char id[32];
    char *out = NULL;
    long long at_kill;

    (void)state;
    assert_int_equal(th_stack_start(&s, "bc-crash", NULL, env), 0);
    setup_world(&s);
    /* 200 in one big village (read with SSCAN), 100 spread over others */
    for (int i = 0; i < n; i++)
        member(&s, i, i < 200 ? "KHG-01" : (i % 2 ? "JMP-01" : "MNR-01"), "active", "hi");
    {
        const char *args[] = {"broadcast", "create", "--scope", "PAT-DNP", "--text",
                              "सड़क बंद है", "--confirm", "--json", NULL};
        json_t *j;

        assert_int_equal(cli(&s, args, &out), 0);
        j = json_loads(out, 0, NULL);
        snprintf(id, sizeof id, "%s", json_string_value(json_object_get(j, "id")));
        assert_string_equal(json_string_value(json_object_get(j, "state")), "confirmed");
        json_decref(j);
        free(out);
    }
    {
        struct want_queued w = {&s, id, 40};

        assert_int_equal(th_wait(queued_reached, &w, 20000), 0);
    }
    th_janseva_kill(&s.app);
    at_kill = counter(&s, id, "queued");
    if (at_kill >= n)
        fail_msg("the fan-out finished before the kill (%lld queued)", at_kill);
    assert_int_equal(th_stack_restart_app(&s, env), 0);
    {
        const char *const fanned[] = {"sending", "done", NULL};

        wait_state(&s, id, fanned, 30000);
    }
    assert_int_equal(counter(&s, id, "queued"), n);
    assert_int_equal(counter(&s, id, "targeted"), n);
    assert_true(th_stack_metric(&s, "janseva_broadcasts_total{event=\"resumed\"}") == 1);
    /* every member exactly once at the simulator */
    {
        struct want_sends w = {&s, NULL, n};

        assert_int_equal(th_wait(sends_reached, &w, 20000), 0);
    }
    th_sleep_ms(300); /* a duplicate would show up now */
    sends_per_member(&s, id, n, count, texts);
    for (int i = 0; i < n; i++) {
        if (count[i] != 1)
            fail_msg("member %d received %d messages (want exactly 1)", i, count[i]);
    }
    assert_int_equal(th_stack_stop(&s), 0);
}

/* ---- the CLI: exit codes and cancel ---- */

static void test_cli_and_cancel(void **state)
{
    struct th_stack s;
    const char *env[] = {"JANSEVA_BROADCAST_LEASE_MS=1000", "JANSEVA_BROADCAST_BATCH=5",
                         "JANSEVA_BROADCAST_BATCH_PAUSE_MS=100", NULL};
    const int n = 100;
    int count[100], texts[100];
    char id[32];
    char *out = NULL;
    long long queued;

    (void)state;
    assert_int_equal(th_stack_start(&s, "bc-cli", NULL, env), 0);
    setup_world(&s);
    for (int i = 0; i < n; i++)
        member(&s, i, i % 2 ? "KHG-01" : "HLD-01", "active", "en");
    {
        const char *none[] = {"broadcast", NULL};
        const char *unknown[] = {"broadcast", "shout", NULL};
        const char *no_content[] = {"broadcast", "create", "--scope", "PAT-DNP", NULL};
        const char *outside[] = {"broadcast", "preview", "--scope", "PAT-DNP", "--text", "x",
                                 "--officer", "BO-DNP1", NULL};
        const char *no_unit[] = {"broadcast", "preview", "--scope", "NOPE", "--text", "x", NULL};
        const char *no_officer[] = {"broadcast", "preview", "--text", "x", "--officer", "X",
                                    NULL};
        const char *no_bc[] = {"broadcast", "confirm", "0123456789abcdef", NULL};
        const char *bad_text[] = {"broadcast", "create", "--scope", "PAT-DNP", "--text", "x",
                                  "--template", "janseva_notice", NULL};
        const char *help[] = {"broadcast", "--help", NULL};
        const char *preview[] = {"broadcast", "preview", "--scope", "PAT-DNP-1", "--text", "x",
                                 "--officer", "BO-DNP1", NULL};

        assert_int_equal(cli(&s, none, NULL), 64);
        assert_int_equal(cli(&s, unknown, NULL), 64);
        assert_int_equal(cli(&s, no_content, NULL), 64);
        assert_int_equal(cli(&s, outside, NULL), 77);
        assert_int_equal(cli(&s, no_unit, NULL), 66);
        assert_int_equal(cli(&s, no_officer, NULL), 66);
        assert_int_equal(cli(&s, no_bc, NULL), 66);
        assert_int_equal(cli(&s, bad_text, NULL), 65);
        assert_int_equal(cli(&s, help, &out), 0);
        assert_non_null(strstr(out, "Usage: janseva broadcast"));
        free(out);
        assert_int_equal(cli(&s, preview, &out), 0);
        assert_non_null(strstr(out, "members: 50 in the groups; 50 active"));
        free(out);
    }
    {
        const char *args[] = {"broadcast", "create", "--officer", "SHO-DNP", "--text",
                              "Road closed near the market", "--json", NULL};
        const char *confirm[] = {"broadcast", "confirm", id, "--officer", "SHO-DNP", NULL};
        json_t *j;

        assert_int_equal(cli(&s, args, &out), 0);
        j = json_loads(out, 0, NULL);
        snprintf(id, sizeof id, "%s", json_string_value(json_object_get(j, "id")));
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "reach"),
                                                            "reach")),
                         n);
        json_decref(j);
        free(out);
        assert_int_equal(cli(&s, confirm, NULL), 0);
    }
    {
        struct want_queued w = {&s, id, 10};
        const char *cancel_bo[] = {"broadcast", "cancel", id, "--officer", "BO-DNP1", NULL};
        const char *cancel[] = {"broadcast", "cancel", id, "--officer", "SHO-DNP", NULL};
        const char *confirm[] = {"broadcast", "confirm", id, NULL};
        const char *status[] = {"broadcast", "status", id, "--json", NULL};
        const char *const cancelled[] = {"cancelled", NULL};

        assert_int_equal(th_wait(queued_reached, &w, 20000), 0);
        /* the beat officer is below the SHO: not theirs to cancel */
        assert_int_equal(cli(&s, cancel_bo, NULL), 77);
        assert_int_equal(cli(&s, cancel, NULL), 0);
        wait_state(&s, id, cancelled, 10000);
        th_sleep_ms(400); /* a batch in progress finishes, nothing after it */
        queued = counter(&s, id, "queued");
        assert_true(queued >= 10 && queued < n);
        assert_int_equal(cli(&s, confirm, NULL), 65);
        assert_int_equal(cli(&s, status, &out), 0);
        assert_non_null(strstr(out, "\"state\": \"cancelled\""));
        free(out);
    }
    /* exactly the queued members got it, once; then the report of the cancelled alert */
    {
        json_t *sends = sends_to(&s, SHO_NUMBER, 1);
        int total = 0;

        assert_int_equal(json_array_size(json_object_get(sends, "sends")), 1);
        assert_non_null(strstr(json_string_value(json_object_get(
                                   json_array_get(json_object_get(sends, "sends"), 0), "body")),
                               "रद्द"));
        json_decref(sends);
        sends_per_member(&s, id, n, count, texts);
        for (int i = 0; i < n; i++) {
            assert_true(count[i] <= 1);
            total += count[i];
        }
        assert_int_equal(total, queued);
    }
    assert_int_equal(th_stack_stop(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_alert_end_to_end),
        cmocka_unit_test(test_api_group_settings),
        cmocka_unit_test(test_kill_9_mid_fanout),
        cmocka_unit_test(test_cli_and_cancel),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
