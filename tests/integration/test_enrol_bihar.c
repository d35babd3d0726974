/*
 * tests/integration/test_enrol_bihar.c - joining with the real Bihar
 * geography (../shared/data, $JANSEVA_TEST_DATA): tools/bihar-geo builds the
 * hierarchy (242,990 localities), `janseva import` loads it into the
 * stack's Redis, and citizens play through the simulator: real village
 * names in Latin script, with typos and in Devanagari (the data has them in
 * Latin script only), a PIN code with a handful of localities joined end to
 * end, and a PIN with hundreds paged and narrowed by a typed name. Prints
 * the index build time, the service's memory and reply latencies. Skips
 * loudly when the data is absent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/util.h"
#include "groups/member.h"
#include "tests/harness/stack.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WA1 "919822200001"
#define WA2 "919822200002"

static long vm_rss_kb(pid_t pid)
{
    char path[64];
    char *s;
    const char *p;
    long kb = -1;

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    s = th_read_file(path, NULL);
    if (s != NULL && (p = strstr(s, "VmRSS:")) != NULL)
        kb = strtol(p + 6, NULL, 10);
    free(s);
    return kb;
}

static json_t *inbound(struct th_stack *s, json_t *req)
{
    char *body = json_dumps(req, JSON_COMPACT);
    char *out = NULL;
    json_t *j;

    json_decref(req);
    assert_int_equal(th_cloudsim_req(&s->sim, "POST", "/_sim/inbound", body, &out), 200);
    free(body);
    j = json_loads(out, 0, NULL);
    free(out);
    assert_int_equal(json_integer_value(json_object_get(j, "webhook_status")), 200);
    return j;
}

static void say(struct th_stack *s, const char *wa, const char *text)
{
    json_decref(inbound(s, json_pack("{s:s,s:s}", "from", wa, "text", text)));
}

static void tap(struct th_stack *s, const char *wa, const char *id)
{
    json_decref(inbound(s, json_pack("{s:s,s:s,s:{s:s,s:s,s:s}}", "from", wa, "type", "interactive",
                                     "reply", "type", "list_reply", "id", id, "title", "x")));
}

struct want {
    struct th_stack *s;
    const char *wa;
    size_t n;
};

static size_t n_sent(struct th_stack *s, const char *wa)
{
    char path[160];
    json_t *j;
    size_t n;

    snprintf(path, sizeof path, "/_sim/sends?outcome=accepted&limit=1000&to=%s", wa);
    j = th_cloudsim_json(&s->sim, path);
    n = json_array_size(json_object_get(j, "sends"));
    json_decref(j);
    return n;
}

static int reached(void *ud)
{
    struct want *w = ud;

    return n_sent(w->s, w->wa) >= w->n;
}

/* Wait for the n-th send to `wa`; the message body (new ref). */
static json_t *nth(struct th_stack *s, const char *wa, size_t n, int timeout_ms)
{
    struct want w = {s, wa, n};
    char path[160];
    json_t *j;
    json_t *m;

    if (th_wait(reached, &w, timeout_ms) != 0)
        fail_msg("no reply #%zu (log %s)", n, s->app.log_path);
    snprintf(path, sizeof path, "/_sim/sends?outcome=accepted&limit=1000&to=%s", wa);
    j = th_cloudsim_json(&s->sim, path);
    m = json_loads(json_string_value(
                       json_object_get(json_array_get(json_object_get(j, "sends"), n - 1), "body")),
                   0, NULL);
    json_decref(j);
    assert_non_null(m);
    return m;
}

static json_t *rows_of(const json_t *m)
{
    return json_object_get(
        json_array_get(json_object_get(json_object_get(json_object_get(m, "interactive"), "action"),
                                       "sections"),
                       0),
        "rows");
}

/* Position of row `id` in list `m`, or -1. */
static int row_pos(const json_t *m, const char *id)
{
    size_t i;
    json_t *e;

    json_array_foreach(rows_of(m), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "id")), id) == 0)
            return (int)i;
    }
    return -1;
}

/* Send `text` as the n-th message and return the reply with its latency. */
static json_t *ask(struct th_stack *s, const char *wa, const char *text, size_t n, double *ms)
{
    int64_t t0 = core_mono_ms();
    json_t *m;

    say(s, wa, text);
    m = nth(s, wa, n, 30000);
    *ms = (double)(core_mono_ms() - t0);
    return m;
}

/* A PIN code with between lo and hi localities (the smallest code). */
static int pick_pin(struct th_stack *s, long lo, long hi, char pin[7])
{
    redisReply *keys = th_redis_cmd(&s->redis, "KEYS js:pin:*");
    int found = 0;

    pin[0] = '\0';
    for (size_t i = 0; keys != NULL && i < keys->elements; i++) {
        const char *k = keys->element[i]->str;
        long n = th_redis_int(&s->redis, "SCARD %s", k);
        const char *p = strchr(k, '{');

        if (n >= lo && n <= hi && p != NULL && (pin[0] == '\0' || strncmp(p + 1, pin, 6) < 0)) {
            memcpy(pin, p + 1, 6);
            pin[6] = '\0';
            found = 1;
        }
    }
    freeReplyObject(keys);
    return found;
}

static void test_real_villages_and_pins(void **state)
{
    static const char *const kinds[] = {"state", "district", "thana", "beat", "locality"};
    const char *data = th_data_dir();
    struct th_stack s;
    char conv[512];
    char env_redis[700];
    char small_pin[7];
    char big_pin[7];
    size_t n1 = 0;
    size_t n2 = 0;
    double ms;
    double first_ms;
    long rss0;
    long rss1;
    int64_t t0;
    json_t *m;
    struct grp_member mb;
    char mid[CRY_MID_LEN];
    struct core_err err;

    (void)state;
    if (data == NULL) {
        printf("SKIP test_real_villages_and_pins: ../shared/data is absent "
               "(set JANSEVA_TEST_DATA to run it)\n");
        skip();
    }
    assert_int_equal(th_stack_start(&s, "enrol-bihar", NULL, NULL), 0);
    snprintf(conv, sizeof conv, "%s/bihar-geo", th_build_dir());
    {
        const char *argv[] = {conv, data, s.dir, NULL};

        assert_int_equal(th_run(argv, NULL, NULL, 0, NULL, NULL), 0);
    }
    snprintf(env_redis, sizeof env_redis, "JANSEVA_REDIS=%s", s.redis.addr);
    t0 = core_mono_ms();
    for (int i = 0; i < 5; i++) {
        char path[700];
        const char *argv[] = {th_bin(), "import", "--kind", kinds[i], path, NULL};
        const char *env[] = {env_redis, NULL};

        snprintf(path, sizeof path, "%s/%s.csv", s.dir, kinds[i]);
        assert_int_equal(th_run(argv, env, NULL, 0, NULL, NULL), 0);
    }
    printf("import of the Bihar hierarchy: %.1f s\n", (double)(core_mono_ms() - t0) / 1000.0);
    assert_int_equal(th_redis_int(&s.redis, "SCARD js:kind:locality"), 242990);

    /* first contact builds the index on the first name search */
    rss0 = vm_rss_kb(s.app.proc.pid);
    m = ask(&s, WA1, "नमस्ते", ++n1, &ms);
    json_decref(m);
    m = ask(&s, WA1, "Haldi Chhapra", ++n1, &first_ms);
    rss1 = vm_rss_kb(s.app.proc.pid);
    printf("first name search (index build included): %.0f ms; janseva RSS %ld MB -> %ld MB\n",
           first_ms, rss0 / 1024, rss1 / 1024);
    /* the census village of that name is offered on the first page */
    assert_true(row_pos(m, "join:loc:V245221") >= 0);
    json_decref(m);
    m = ask(&s, WA1, "haldi chapra", ++n1, &ms);
    printf("name search with the index built: %.0f ms (webhook to reply sent)\n", ms);
    assert_true(row_pos(m, "join:loc:V245221") >= 0);
    json_decref(m);
    /* Devanagari for a name the data has in Latin letters only */
    m = ask(&s, WA1, "हल्दी छपरा", ++n1, &ms);
    assert_true(row_pos(m, "join:loc:V245221") >= 0);
    json_decref(m);
    /* a rarer name, exactly and with a letter missing */
    m = ask(&s, WA1, "Bhaisalotan", ++n1, &ms);
    assert_int_equal(row_pos(m, "join:loc:V215990"), 0);
    json_decref(m);
    m = ask(&s, WA1, "bhaisalotn", ++n1, &ms);
    assert_int_equal(row_pos(m, "join:loc:V215990"), 0);
    json_decref(m);
    tap(&s, WA1, "join:loc:V215990");
    json_decref(nth(&s, WA1, ++n1, 10000));
    m = ask(&s, WA1, "हाँ", ++n1, &ms);
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(m, "text"), "body")),
                           "Bhaisalotan"));
    json_decref(m);

    /* a PIN code with a few localities: all of them offered, join one */
    assert_true(pick_pin(&s, 3, 8, small_pin));
    m = ask(&s, WA2, "hello", ++n2, &ms);
    json_decref(m);
    m = ask(&s, WA2, small_pin, ++n2, &ms);
    {
        long k = th_redis_int(&s.redis, "SCARD js:pin:{%s}", small_pin);
        const char *id0;

        assert_true(json_array_size(rows_of(m)) >= (size_t)k);
        for (long i = 0; i < k; i++) {
            const char *id =
                json_string_value(json_object_get(json_array_get(rows_of(m), (size_t)i), "id"));

            assert_int_equal(th_redis_int(&s.redis, "SISMEMBER js:pin:{%s} %s", small_pin,
                                          id + strlen("join:loc:")),
                             1);
        }
        id0 = json_string_value(json_object_get(json_array_get(rows_of(m), 0), "id"));
        tap(&s, WA2, id0);
        json_decref(nth(&s, WA2, ++n2, 10000));
        json_decref(ask(&s, WA2, "yes", ++n2, &ms));
        assert_int_equal(th_stack_member(&s, WA2, mid), 0);
        assert_int_equal(grp_member_load(s.r, mid, &mb, &err), 0);
        assert_string_equal(mb.group, id0 + strlen("join:loc:"));
        assert_int_equal(grp_member_in_group(s.r, mb.group, mid, &err), 1);
    }
    json_decref(m);

    /* a PIN code with hundreds: nine and "More", then a name narrows it */
    assert_true(pick_pin(&s, 300, 5000, big_pin));
    json_decref(ask(&s, WA2, "MOVE", ++n2, &ms));
    m = ask(&s, WA2, big_pin, ++n2, &ms);
    printf("PIN %s with %lld localities: %.0f ms\n", big_pin,
           th_redis_int(&s.redis, "SCARD js:pin:{%s}", big_pin), ms);
    assert_int_equal(json_array_size(rows_of(m)), 10);
    {
        const char *more = json_string_value(json_object_get(json_array_get(rows_of(m), 9), "id"));
        char want[64];
        char id3[80];
        char code[80];
        redisReply *name;

        snprintf(id3, sizeof id3, "%s",
                 json_string_value(json_object_get(json_array_get(rows_of(m), 3), "id")));
        snprintf(want, sizeof want, "join:more:p:%s:9", big_pin);
        assert_string_equal(more, want);
        /* type the name of the 4th locality: found within the PIN */
        snprintf(code, sizeof code, "%s", id3 + strlen("join:loc:"));
        name = th_redis_cmd(&s.redis, "HGET js:u:{%s} en", code);
        assert_non_null(name);
        json_decref(m);
        m = ask(&s, WA2, name->str, ++n2, &ms);
        if (row_pos(m, id3) < 0)
            fail_msg("\"%s\" (%s) not offered", name->str, code);
        freeReplyObject(name);
    }
    json_decref(m);
    assert_int_equal(th_stack_stop(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_villages_and_pins),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
