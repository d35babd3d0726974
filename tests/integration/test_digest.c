/*
 * tests/integration/test_digest.c - the daily digest through the real stack
 * (redis-server, the Cloud API simulator playing citizens, `janseva serve`
 * with every role, the `janseva` CLI): three citizens enrol in Khagaul over
 * WhatsApp, one in English; `janseva group set KHG-01 relay=digest`; the
 * windows of two of them are closed (last message two days ago). A legit
 * post reaches nobody outside the window at post time; `janseva digest run
 * --day DAY` sends each of them ONE janseva_group_digest template in their
 * language with the group, the count and the post (never the author's
 * number or name), the author nothing; a second run sends nothing more.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/util.h"
#include "groups/digest.h"
#include "groups/member.h"
#include "tests/harness/stack.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WA_A "919811180001" /* Hindi, the author */
#define WA_B "919811180002" /* Hindi, window closed */
#define WA_C "919811180003" /* English, window closed */
#define PROFILE "Sunita Devi Kushwaha"

static const char *src(void)
{
    const char *s = getenv("JANSEVA_TEST_SRC");

    return s != NULL && s[0] != '\0' ? s : ".";
}

/* ======================= commands ======================= */

static int cli(struct th_stack *s, const char *const args[], char **out)
{
    char redis[700];
    char keys[700];
    const char *env[] = {redis, keys, "JANSEVA_PHONE_NUMBER_ID=" TH_SIM_PNID,
                         "JANSEVA_LOG_LEVEL=warn", NULL};
    const char *argv[24];
    char *o = NULL;
    char *err = NULL;
    size_t n = 0;
    int rc;

    snprintf(redis, sizeof redis, "JANSEVA_REDIS=%s", s->redis.addr);
    snprintf(keys, sizeof keys, "JANSEVA_KEYS_DIR=%s", s->app.keys_dir);
    argv[n++] = th_bin();
    for (size_t i = 0; args[i] != NULL && n + 1 < sizeof argv / sizeof argv[0]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    rc = th_run(argv, env, NULL, 0, &o, &err);
    if (rc != 0)
        fprintf(stderr, "janseva %s: exit %d: %s\n", args[0], rc, err != NULL ? err : "");
    if (out != NULL)
        *out = o;
    else
        free(o);
    free(err);
    return rc;
}

/* ======================= citizens ======================= */

static json_t *inbound(struct th_stack *s, json_t *req)
{
    char *body = json_dumps(req, JSON_COMPACT);
    char *out = NULL;
    json_t *j;

    json_decref(req);
    if (th_cloudsim_req(&s->sim, "POST", "/_sim/inbound", body, &out) != 200)
        fail_msg("inbound refused: %s", out != NULL ? out : "");
    free(body);
    j = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "webhook_status")), 200);
    return j;
}

static json_t *say(struct th_stack *s, const char *wa, const char *text)
{
    return inbound(s, json_pack("{s:s,s:s,s:s}", "from", wa, "name", PROFILE, "text", text));
}

static void tap(struct th_stack *s, const char *wa, const char *id)
{
    json_decref(inbound(s, json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s}}", "from", wa, "name",
                                     PROFILE, "type", "interactive", "reply", "type",
                                     "button_reply", "id", id, "title", "OK")));
}

/* Accepted sends to `wa` as compact text of their Graph bodies (UTF-8). */
static json_t *sent_to(struct th_stack *s, const char *wa)
{
    char path[200];
    json_t *j;
    json_t *out = json_array();
    size_t i;
    json_t *e;

    snprintf(path, sizeof path, "/_sim/sends?outcome=accepted&limit=1000&to=%s", wa);
    j = th_cloudsim_json(&s->sim, path);
    assert_non_null(j);
    json_array_foreach(json_object_get(j, "sends"), i, e)
    {
        json_t *b = json_loads(json_string_value(json_object_get(e, "body")), 0, NULL);
        char *t;

        assert_non_null(b);
        json_object_del(b, "to"); /* the recipient; the rest is what they read */
        t = json_dumps(b, JSON_COMPACT);
        json_array_append_new(out, json_string(t));
        free(t);
        json_decref(b);
    }
    json_decref(j);
    return out;
}

/* Sends to `wa` whose body holds `needle`. */
static size_t count_with(struct th_stack *s, const char *wa, const char *needle)
{
    json_t *a = sent_to(s, wa);
    size_t i;
    json_t *e;
    size_t n = 0;

    json_array_foreach(a, i, e)
    {
        n += strstr(json_string_value(e), needle) != NULL;
    }
    json_decref(a);
    return n;
}

/* The newest send to `wa` holding `needle` (caller frees), or NULL. */
static char *last_with(struct th_stack *s, const char *wa, const char *needle)
{
    json_t *a = sent_to(s, wa);
    size_t i;
    json_t *e;
    char *hit = NULL;

    json_array_foreach(a, i, e)
    {
        if (strstr(json_string_value(e), needle) != NULL) {
            free(hit);
            hit = strdup(json_string_value(e));
        }
    }
    json_decref(a);
    return hit;
}

struct want {
    struct th_stack *s;
    const char *wa;
    const char *needle;
    size_t n;
};

static int reached(void *ud)
{
    struct want *w = ud;

    return count_with(w->s, w->wa, w->needle) >= w->n;
}

static void wait_for(struct th_stack *s, const char *wa, const char *needle, size_t n)
{
    struct want w = {s, wa, needle, n};

    if (th_wait(reached, &w, 15000) != 0)
        fail_msg("no send #%zu to %s with \"%s\" (log %s)", n, wa, needle, s->app.log_path);
}

static int quiet(void *ud)
{
    struct th_stack *s = ud;

    return th_redis_int(&s->redis, "XLEN js:in") == 0 &&
           th_redis_int(&s->redis, "XLEN js:out:{%s}:0", TH_SIM_PNID) == 0 &&
           th_redis_int(&s->redis, "XLEN js:out:{%s}:1", TH_SIM_PNID) == 0 &&
           th_redis_int(&s->redis, "XLEN js:out:{%s}:2", TH_SIM_PNID) == 0 &&
           th_redis_int(&s->redis, "ZCARD js:out:{%s}:delay", TH_SIM_PNID) <= 0;
}

static void wait_quiet(struct th_stack *s)
{
    if (th_wait(quiet, s, 15000) != 0)
        fail_msg("janseva did not settle (log %s)", s->app.log_path);
}

static void member_of(struct th_stack *s, const char *wa, struct grp_member *m)
{
    char mid[CRY_MID_LEN];
    struct core_err err;

    assert_int_equal(th_stack_member(s, wa, mid), 0);
    assert_int_equal(grp_member_load(s->r, mid, m, &err), 0);
}

/* Welcome, then the button of the confirmation: a member of Khagaul. */
static void enrol(struct th_stack *s, const char *wa, int english)
{
    struct grp_member m;

    json_decref(say(s, wa, "नमस्ते"));
    wait_for(s, wa, "\"type\":\"interactive\"", 1);
    tap(s, wa, "join:yes:KHG-01");
    wait_for(s, wa, "\"type\"", 2);
    if (english) {
        json_decref(say(s, wa, "english"));
        wait_for(s, wa, "\"type\"", 3);
    }
    wait_quiet(s);
    member_of(s, wa, &m);
    assert_int_equal(m.st, GRP_MEMBER_ACTIVE);
    assert_string_equal(m.group, "KHG-01");
}

/* No member's number or profile name in what others received. */
static void no_personal_data(struct th_stack *s, const char *wa)
{
    static const char *const bad[] = {WA_A, WA_B, WA_C, "9811180", PROFILE};
    json_t *a = sent_to(s, wa);
    size_t i;
    json_t *e;

    json_array_foreach(a, i, e)
    {
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            if (strstr(json_string_value(e), bad[k]) != NULL)
                fail_msg("personal data in a message to %s: %s", wa, json_string_value(e));
        }
    }
    json_decref(a);
}

/* ======================= the world ======================= */

static int setup(void **state)
{
    static const char *const kinds[] = {"state", "district", "thana", "beat", "locality"};
    struct th_stack *s = calloc(1, sizeof *s);
    char path[4096];
    char *templates;
    size_t len = 0;

    if (th_stack_start(s, "digest", NULL, NULL) != 0)
        return -1;
    for (int i = 0; i < 5; i++) {
        const char *args[] = {"import", "--kind", kinds[i], path, NULL};

        snprintf(path, sizeof path, "%s/data/sample-hierarchy/%s.csv", src(), kinds[i]);
        if (cli(s, args, NULL) != 0)
            return -1;
    }
    snprintf(path, sizeof path, "%s/data/sandbox/templates.json", src());
    templates = th_read_file(path, &len);
    if (templates == NULL ||
        th_cloudsim_req(&s->sim, "POST", "/_sim/templates", templates, NULL) != 200)
        return -1;
    free(templates);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct th_stack *s = *state;
    int rc = th_stack_stop(s);

    free(s);
    return rc == 0 ? 0 : -1;
}

/* Close the 24-hour window of `wa`: its last message two days ago. */
static void close_window(struct th_stack *s, const char *wa)
{
    char mid[CRY_MID_LEN];
    char li[24];

    assert_int_equal(th_stack_member(s, wa, mid), 0);

    snprintf(li, sizeof li, "%lld", (long long)(core_now_ms() / 1000 - 2 * 86400));
    th_member_set(&s->redis, mid, "li", li, NULL);
}

/* ======================= the conversation ======================= */

static void test_digest(void **state)
{
    struct th_stack *s = *state;
    struct grp_member ma;
    char lbl_hi[GRP_LABEL_MAX];
    char lbl_en[GRP_LABEL_MAX];
    char day[GRP_DIGEST_DAY_LEN];
    char *out = NULL;
    char *raw;

    enrol(s, WA_A, 0);
    enrol(s, WA_B, 0);
    enrol(s, WA_C, 1);
    member_of(s, WA_A, &ma);
    grp_member_label(&ma, GRP_LANG_HI, lbl_hi, sizeof lbl_hi);
    grp_member_label(&ma, GRP_LANG_EN, lbl_en, sizeof lbl_en);
    {
        const char *args[] = {"group", "set", "KHG-01", "relay=digest", NULL};

        assert_int_equal(cli(s, args, &out), 0);
        assert_non_null(strstr(out, "relay = digest"));
        free(out);
    }
    close_window(s, WA_B);
    close_window(s, WA_C);

    /* a legit post: relayed, but not to members outside the window */
    json_decref(say(s, WA_A, "गाँव में कल रात चोरी हुई है, थाना को सूचना दें"));
    wait_for(s, WA_A, "समूह में भेज दिया गया", 1);
    wait_quiet(s);
    assert_int_equal(count_with(s, WA_B, "चोरी हुई"), 0);
    assert_int_equal(count_with(s, WA_C, "चोरी हुई"), 0);
    assert_int_equal(count_with(s, WA_B, "janseva_group_post"), 0);
    {
        const char *args[] = {"group", "show", "KHG-01", NULL};

        assert_int_equal(cli(s, args, &out), 0);
        assert_non_null(strstr(out, "relay = digest"));
        assert_non_null(strstr(out, "1 posts, 2 members outside the window"));
        free(out);
    }

    /* the digest, now */
    grp_digest_day(core_now_ms() / 1000, 20, 330, day);
    {
        const char *args[] = {"digest", "run", "--day", day, NULL};

        assert_int_equal(cli(s, args, &out), 0);
        assert_non_null(strstr(out, "1 group sent"));
        assert_non_null(strstr(out, "2 queued"));
        free(out);
    }
    wait_for(s, WA_B, "janseva_group_digest", 1);
    wait_for(s, WA_C, "janseva_group_digest", 1);
    wait_quiet(s);
    raw = last_with(s, WA_B, "janseva_group_digest");
    assert_non_null(strstr(raw, "\"code\":\"hi\""));
    assert_non_null(strstr(raw, "खगौल"));
    assert_non_null(strstr(raw, "चोरी हुई"));
    assert_non_null(strstr(raw, lbl_hi));
    assert_null(strstr(raw, WA_A));
    assert_null(strstr(raw, PROFILE));
    free(raw);
    raw = last_with(s, WA_C, "janseva_group_digest");
    assert_non_null(strstr(raw, "\"code\":\"en\""));
    assert_non_null(strstr(raw, "Khagaul"));
    assert_non_null(strstr(raw, "चोरी हुई"));
    assert_non_null(strstr(raw, lbl_en));
    free(raw);
    assert_int_equal(count_with(s, WA_A, "janseva_group_digest"), 0);

    /* again: nothing more */
    {
        const char *args[] = {"digest", "run", "--day", day, "KHG-01", NULL};

        assert_int_equal(cli(s, args, &out), 0);
        assert_non_null(strstr(out, "0 groups sent (1 already)"));
        free(out);
    }
    th_sleep_ms(500);
    wait_quiet(s);
    assert_int_equal(count_with(s, WA_B, "janseva_group_digest"), 1);
    assert_int_equal(count_with(s, WA_C, "janseva_group_digest"), 1);
    no_personal_data(s, WA_B);
    no_personal_data(s, WA_C);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
