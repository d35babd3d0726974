/*
 * tests/integration/test_posts.c - group posts through the real stack
 * (redis-server, the Cloud API simulator playing citizens and officers,
 * `janseva serve` with every role): three citizens enrol in Khagaul over
 * WhatsApp (welcome, then "join:yes:KHG-01"), one in English. A legit
 * Hindi report is relayed to the other two under the author's label (never
 * a number or profile name) and reaches the Danapur thana inbox (`janseva
 * inbox list`); a commercial spam post is dropped with a notice and a
 * strike, nobody else sees it; a political post is held, listed by
 * `janseva review list`, approved by the CLI and again through the API
 * (relayed once; an SHO may not review); an urgent Hindi post ("गोली चली")
 * reaches the beat officer and the SHO at once; a replayed webhook relays
 * nothing twice.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "groups/member.h"
#include "tests/harness/stack.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN "test-api-token-0123456789"
#define SHO_NUMBER "919800059001"
#define BO1_NUMBER "919800059002"
#define WA_A "919811170001" /* Hindi */
#define WA_B "919811170002" /* Hindi */
#define WA_C "919811170003" /* English */
#define PROFILE "Ramesh Kumar Yadav"

static const char *src(void)
{
    const char *s = getenv("JANSEVA_TEST_SRC");

    return s != NULL && s[0] != '\0' ? s : ".";
}

/* ======================= commands ======================= */

static long api(struct th_stack *s, const char *method, const char *path, const char *officer,
                const char *body, json_t **out)
{
    char url[256];
    char off[96];
    const char *headers[4];
    size_t n = 0;
    struct th_http_resp resp;
    long status;

    snprintf(url, sizeof url, "%s%s", s->app.url, path);
    headers[n++] = "Authorization: Bearer " TOKEN;
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
    th_http_resp_free(&resp);
    return status;
}

/* ================ citizens (helpers in tests/harness/stack.h) ================ */

static json_t *say(struct th_stack *s, const char *wa, const char *text)
{
    json_t *j = th_stack_say(s, wa, PROFILE, text);

    assert_non_null(j);
    return j;
}

static json_t *inbound(struct th_stack *s, json_t *req)
{
    json_t *j = th_stack_send(s, req);

    assert_non_null(j);
    return j;
}

static void tap(struct th_stack *s, const char *wa, const char *id)
{
    assert_int_equal(th_stack_tap(s, wa, PROFILE, id), 0);
}

static void wait_for(struct th_stack *s, const char *wa, const char *needle, size_t n)
{
    assert_int_equal(th_stack_wait_for(s, wa, needle, n, 15000), 0);
}

static void wait_quiet(struct th_stack *s)
{
    assert_int_equal(th_stack_wait_quiet(s, 15000), 0);
}

static void member_of(struct th_stack *s, const char *wa, struct grp_member *m)
{
    assert_int_equal(th_stack_member_load(s, wa, m), 0);
}

/* Welcome, then the button of the confirmation: a member of Khagaul. */
static void enrol(struct th_stack *s, const char *wa, int english)
{
    assert_int_equal(th_stack_enrol(s, wa, PROFILE, "KHG-01", english), 0);
}

/* No member's number or profile name in what others received. */
static void no_personal_data(struct th_stack *s, const char *wa)
{
    static const char *const bad[] = {WA_A, WA_B, WA_C, "9811170", PROFILE};
    json_t *a = th_stack_sent_to(s, wa);
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
    static const char officers[] = "code,unit,role,name,phone\n"
                                   "SHO-DNP,PAT-DNP,sho,SHO Danapur," SHO_NUMBER "\n"
                                   "BO-DNP1,PAT-DNP-1,beat,Beat officer Danapur 1," BO1_NUMBER "\n"
                                   "HQ-1,BR,hq,HQ control room,919800059003\n";
    const char *env[] = {"JANSEVA_API_TOKEN=" TOKEN, NULL};
    struct th_stack *s = calloc(1, sizeof *s);
    char path[4096];
    char *templates;
    size_t len = 0;

    if (th_stack_start(s, "posts", NULL, env) != 0)
        return -1;
    for (int i = 0; i < 5; i++) {
        const char *args[] = {"import", "--kind", kinds[i], path, NULL};

        snprintf(path, sizeof path, "%s/data/sample-hierarchy/%s.csv", src(), kinds[i]);
        if (th_stack_cli(s, args, NULL) != 0)
            return -1;
    }
    snprintf(path, sizeof path, "%s/officers.csv", s->dir);
    if (th_write_file(path, officers, strlen(officers)) != 0)
        return -1;
    {
        const char *args[] = {"import", "--kind", "officer", path, NULL};

        if (th_stack_cli(s, args, NULL) != 0)
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

/* ======================= the conversation ======================= */

static void test_posts(void **state)
{
    struct th_stack *s = *state;
    struct grp_member ma;
    struct grp_member mb;
    char lbl_hi[GRP_LABEL_MAX];
    char lbl_en[GRP_LABEL_MAX];
    char *out = NULL;
    char *raw;
    char pid[32];
    json_t *ans;
    json_t *j;

    enrol(s, WA_A, 0);
    enrol(s, WA_B, 0);
    enrol(s, WA_C, 1);
    member_of(s, WA_A, &ma);
    grp_member_label(&ma, GRP_LANG_HI, lbl_hi, sizeof lbl_hi);
    grp_member_label(&ma, GRP_LANG_EN, lbl_en, sizeof lbl_en);

    /* 1. a legit Hindi report: relayed under the label, in the inbox */
    ans = say(s, WA_A, "गाँव में कल रात चोरी हुई है, थाना को सूचना दें");
    wait_for(s, WA_B, "गाँव में कल रात चोरी हुई है", 1);
    wait_for(s, WA_C, "गाँव में कल रात चोरी हुई है", 1);
    wait_for(s, WA_A, "समूह में भेज दिया गया", 1);
    raw = th_stack_last_with(s, WA_B, "चोरी हुई");
    assert_non_null(strstr(raw, lbl_hi));
    assert_non_null(strstr(raw, "खगौल"));
    free(raw);
    raw = th_stack_last_with(s, WA_C, "चोरी हुई");
    assert_non_null(strstr(raw, lbl_en));
    assert_non_null(strstr(raw, "Khagaul"));
    free(raw);
    assert_int_equal(th_stack_count_with(s, WA_A, "चोरी हुई"), 0); /* not to the author */
    assert_int_equal(th_redis_int(&s->redis, "ZCARD js:inbox:{PAT-DNP}"), 1);
    {
        const char *args[] = {"inbox", "list", "--unit", "KHG-01", "--json", NULL};

        assert_int_equal(th_stack_cli(s, args, &out), 0);
        j = json_loads(out, 0, NULL);
        free(out);
        assert_int_equal(json_array_size(j), 1);
        assert_non_null(strstr(json_string_value(json_object_get(
                                    json_object_get(json_array_get(j, 0), "content"), "text")),
                                "चोरी"));
        json_decref(j);
    }
    /* the inbox over HTTP: the SHO sees it, an officer of another thana
     * would not (the beat officer's jurisdiction is below the thana) */
    assert_int_equal(api(s, "GET", "/api/inbox?unit=PAT-DNP", "SHO-DNP", NULL, NULL), 200);
    assert_int_equal(api(s, "GET", "/api/inbox?unit=PAT-DNP", "BO-DNP1", NULL, NULL), 403);

    /* a replayed webhook: nothing new */
    wait_quiet(s);
    {
        const char *body = json_string_value(json_object_get(ans, "body"));

        assert_non_null(body);
        assert_int_equal(th_post_webhook(&s->app, body, strlen(body)), 200);
    }
    json_decref(ans);
    th_sleep_ms(500);
    wait_quiet(s);
    assert_int_equal(th_stack_count_with(s, WA_B, "चोरी हुई"), 1);
    assert_int_equal(th_stack_count_with(s, WA_C, "चोरी हुई"), 1);

    /* 2. commercial spam in English: dropped, told, a strike */
    json_decref(say(s, WA_B, "Earn Rs 5000 daily from home, join now bit.ly/fast-earn"));
    wait_for(s, WA_B, "विज्ञापन", 1);
    wait_quiet(s);
    assert_int_equal(th_stack_count_with(s, WA_A, "fast-earn"), 0);
    assert_int_equal(th_stack_count_with(s, WA_C, "fast-earn"), 0);
    member_of(s, WA_B, &mb);
    assert_int_equal(mb.sk, 1);

    /* 3. a political post is held; approved twice, relayed once */
    json_decref(say(s, WA_C, "RJD zindabad, tejashwi bhaiya aage badho"));
    wait_for(s, WA_C, "waiting for a moderator", 1);
    {
        const char *args[] = {"review", "list", "--json", NULL};

        assert_int_equal(th_stack_cli(s, args, &out), 0);
        j = json_loads(out, 0, NULL);
        free(out);
        assert_int_equal(json_array_size(j), 1);
        snprintf(pid, sizeof pid, "%s",
                 json_string_value(json_object_get(json_array_get(j, 0), "id")));
        json_decref(j);
    }
    assert_int_equal(th_stack_count_with(s, WA_A, "tejashwi"), 0);
    {
        char path[96];

        snprintf(path, sizeof path, "/api/review/%s/approve", pid);
        assert_int_equal(api(s, "POST", path, "SHO-DNP", NULL, NULL), 403);
        assert_int_equal(api(s, "GET", "/api/review", "HQ-1", NULL, &j), 200);
        assert_int_equal(json_array_size(json_object_get(j, "posts")), 1);
        json_decref(j);
    }
    {
        const char *args[] = {"review", "approve", pid, "--label", "legit", "--reason", "ok",
                              NULL};

        assert_int_equal(th_stack_cli(s, args, NULL), 0);
    }
    wait_for(s, WA_A, "tejashwi", 1);
    wait_for(s, WA_B, "tejashwi", 1);
    wait_for(s, WA_C, "approved", 1);
    {
        char path[96];

        snprintf(path, sizeof path, "/api/review/%s/approve", pid);
        assert_int_equal(api(s, "POST", path, "HQ-1", "{\"label\":\"legit\"}", NULL), 200);
        snprintf(path, sizeof path, "/api/review/%s/reject", pid);
        assert_int_equal(api(s, "POST", path, "HQ-1", "{\"label\":\"political\"}", NULL), 409);
        assert_int_equal(api(s, "POST", path, "HQ-1", "{\"nope\":1}", NULL), 400);
    }
    th_sleep_ms(500);
    wait_quiet(s);
    assert_int_equal(th_stack_count_with(s, WA_A, "tejashwi"), 1);
    assert_int_equal(th_stack_count_with(s, WA_B, "tejashwi"), 1);
    assert_int_equal(th_redis_int(&s->redis, "ZCARD js:review"), 0);
    assert_true(th_redis_int(&s->redis, "XLEN js:{audit}:log") > 0);

    /* 4. urgent: the beat officer and the SHO at once */
    json_decref(say(s, WA_A, "बाजार में गोली चली है, एक आदमी घायल है, जल्दी पुलिस भेजो"));
    wait_for(s, BO1_NUMBER, "गोली", 1);
    wait_for(s, SHO_NUMBER, "गोली", 1);
    raw = th_stack_last_with(s, SHO_NUMBER, "गोली");
    assert_non_null(strstr(raw, lbl_hi));
    assert_non_null(strstr(raw, "गोलीबारी"));
    assert_non_null(strstr(raw, "खगौल"));
    free(raw);
    wait_quiet(s);
    assert_int_equal(th_redis_int(&s->redis, "ZCARD js:inbox:{PAT-DNP}"), 2);

    /* nothing personal in anything janseva sent */
    no_personal_data(s, WA_A);
    no_personal_data(s, WA_B);
    no_personal_data(s, WA_C);
    no_personal_data(s, SHO_NUMBER);
    no_personal_data(s, BO1_NUMBER);
}

/* Media posts: a photo with a caption and a voice note go to the others as
 * media the service re-uploaded (the simulator accepted the sends, so it
 * knows the ids), under the label. Runs after test_posts (same members). */
static void test_media_posts(void **state)
{
    struct th_stack *s = *state;
    struct grp_member ma;
    char lbl_hi[GRP_LABEL_MAX];
    char *raw;
    json_t *st;

    member_of(s, WA_A, &ma);
    grp_member_label(&ma, GRP_LANG_HI, lbl_hi, sizeof lbl_hi);
    json_decref(inbound(s, json_pack("{s:s,s:s,s:s,s:s,s:s}", "from", WA_A, "name", PROFILE,
                                     "type", "image", "mime_type", "image/jpeg", "caption",
                                     "मोहल्ले का नाला जाम है, सड़क पर पानी भर गया है")));
    wait_for(s, WA_B, "\"type\":\"image\"", 1);
    raw = th_stack_last_with(s, WA_B, "\"type\":\"image\"");
    assert_non_null(strstr(raw, "\"id\":\""));
    assert_non_null(strstr(raw, "नाला जाम है"));
    assert_non_null(strstr(raw, lbl_hi));
    free(raw);
    wait_for(s, WA_C, "\"type\":\"image\"", 1);
    st = th_cloudsim_json(&s->sim, "/_sim/counters");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "media"), "uploads")),
                     1);
    json_decref(st);
    assert_int_equal(th_stack_count_with(s, WA_A, "\"type\":\"image\""), 0);

    /* a voice note (nothing to classify: a moderator approves it), then
     * the label as text and the audio */
    json_decref(inbound(s, json_pack("{s:s,s:s,s:s,s:s}", "from", WA_A, "name", PROFILE, "type",
                                     "audio", "mime_type", "audio/ogg")));
    wait_quiet(s);
    {
        const char *args[] = {"review", "list", "--json", NULL};
        char *out = NULL;
        json_t *j;

        assert_int_equal(th_stack_cli(s, args, &out), 0);
        j = json_loads(out, 0, NULL);
        free(out);
        if (json_array_size(j) == 1) {
            const char *ap[] = {"review", "approve",
                                json_string_value(json_object_get(json_array_get(j, 0), "id")),
                                "--label", "legit", "--reason", "voice note", NULL};

            assert_int_equal(th_stack_cli(s, ap, NULL), 0);
        }
        json_decref(j);
    }
    wait_for(s, WA_B, "\"type\":\"audio\"", 1);
    raw = th_stack_last_with(s, WA_B, "\"type\":\"audio\"");
    assert_non_null(strstr(raw, "\"id\":\""));
    free(raw);
    assert_true(th_stack_count_with(s, WA_B, lbl_hi) >= 1);
    wait_quiet(s);
    /* relayed once each, uploaded once each */
    assert_int_equal(th_stack_count_with(s, WA_B, "\"type\":\"image\""), 1);
    assert_int_equal(th_stack_count_with(s, WA_B, "\"type\":\"audio\""), 1);
    st = th_cloudsim_json(&s->sim, "/_sim/counters");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "media"), "uploads")),
                     2);
    json_decref(st);
    no_personal_data(s, WA_B);
}

/* Sanctions: a moderator mutes, then bans the author of a held post (API
 * and CLI); the muted member receives but cannot post, the banned one
 * receives nothing and cannot join again, also after STOP; unban lets
 * them back; officers other than HQ may not; everything is audited. */
static void test_sanctions(void **state)
{
    struct th_stack *s = *state;
    struct grp_member mc;
    char pid[32];
    char mid[CRY_MID_LEN];
    char path[128];
    char *out = NULL;
    long long audit0;
    json_t *j;

    member_of(s, WA_C, &mc);
    assert_int_equal(mc.st, GRP_MEMBER_ACTIVE);
    json_decref(say(s, WA_C, "JDU zindabad, nitish babu aage badho"));
    wait_for(s, WA_C, "waiting for a moderator", 2);
    {
        const char *args[] = {"review", "list", "--json", NULL};

        assert_int_equal(th_stack_cli(s, args, &out), 0);
        j = json_loads(out, 0, NULL);
        free(out);
        assert_int_equal(json_array_size(j), 1);
        snprintf(pid, sizeof pid, "%s",
                 json_string_value(json_object_get(json_array_get(j, 0), "id")));
        json_decref(j);
    }
    audit0 = th_redis_int(&s->redis, "XLEN js:{audit}:log");

    /* the author, by post: id and label only */
    snprintf(path, sizeof path, "/api/review/%s/member", pid);
    assert_int_equal(api(s, "GET", path, "HQ-1", NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "active");
    assert_string_equal(json_string_value(json_object_get(j, "group")), "KHG-01");
    assert_string_equal(json_string_value(json_object_get(j, "sanction")), "none");
    snprintf(mid, sizeof mid, "%s", json_string_value(json_object_get(j, "member")));
    assert_string_equal(mid, mc.mid);
    {
        char *t = json_dumps(j, JSON_COMPACT);

        assert_null(strstr(t, "9811170"));
        assert_null(strstr(t, PROFILE));
        free(t);
    }
    json_decref(j);

    /* mute: only HQ; a label is not a reason */
    snprintf(path, sizeof path, "/api/review/%s/mute", pid);
    assert_int_equal(api(s, "POST", path, "SHO-DNP", NULL, NULL), 403);
    assert_int_equal(api(s, "POST", path, "HQ-1", "{\"label\":\"political\"}", NULL), 400);
    assert_int_equal(api(s, "POST", path, "HQ-1", "{\"reason\":\"party posts\"}", &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "muted");
    assert_string_equal(json_string_value(json_object_get(j, "sanction")), "muted");
    json_decref(j);
    assert_int_equal(api(s, "POST", path, "HQ-1", NULL, NULL), 200); /* again: no change */
    assert_int_equal(th_redis_int(&s->redis, "XLEN js:{audit}:log"), audit0 + 1);

    /* muted: cannot post (told in English), still receives the group */
    json_decref(say(s, WA_C, "Meeting at the panchayat bhawan tomorrow at 10"));
    wait_for(s, WA_C, "a moderator has paused your posts", 1);
    json_decref(say(s, WA_A, "कल सुबह पंचायत भवन में बैठक है, सब आइए"));
    wait_for(s, WA_C, "पंचायत भवन में बैठक", 1);
    wait_quiet(s);
    assert_int_equal(th_stack_count_with(s, WA_A, "panchayat bhawan"), 0);
    assert_int_equal(th_stack_count_with(s, WA_B, "panchayat bhawan"), 0);

    /* ban by the CLI, by member id: out of the group, nothing relayed */
    {
        const char *args[] = {"review", "ban", mid, "--reason", "repeated party posts", "--json",
                              NULL};

        assert_int_equal(th_stack_cli(s, args, &out), 0);
        j = json_loads(out, 0, NULL);
        free(out);
        assert_string_equal(json_string_value(json_object_get(j, "state")), "banned");
        json_decref(j);
    }
    {
        const char *args[] = {"review", "mute", pid, NULL};

        assert_int_equal(th_stack_cli(s, args, NULL), 77); /* banned: unban first */
    }
    {
        const char *args[] = {"review", "ban", "0123456789abcdef0123456789abcdef", NULL};

        assert_int_equal(th_stack_cli(s, args, NULL), 66); /* no such member */
    }
    member_of(s, WA_C, &mc);
    assert_int_equal(mc.st, GRP_MEMBER_BANNED);
    assert_int_equal(th_group_has(&s->redis, "KHG-01", mid), 0);
    json_decref(say(s, WA_A, "हैंडपंप ठीक हो गया है, पानी आ रहा है"));
    wait_for(s, WA_B, "हैंडपंप ठीक हो गया", 1);
    wait_quiet(s);
    assert_int_equal(th_stack_count_with(s, WA_C, "हैंडपंप"), 0);

    /* no way back in: MOVE, STOP then JOIN, an old "Yes" button */
    json_decref(say(s, WA_C, "MOVE"));
    wait_for(s, WA_C, "A moderator has removed you", 1);
    json_decref(say(s, WA_C, "STOP"));
    wait_quiet(s);
    json_decref(say(s, WA_C, "JOIN"));
    wait_for(s, WA_C, "A moderator has removed you", 2);
    tap(s, WA_C, "join:yes:KHG-01");
    wait_for(s, WA_C, "A moderator has removed you", 3);
    wait_quiet(s);
    member_of(s, WA_C, &mc);
    assert_int_equal(mc.st, GRP_MEMBER_LEFT);
    assert_int_equal(th_group_has(&s->redis, "KHG-01", mid), 0);

    /* unban (audited), then the member may join again */
    {
        const char *args[] = {"review", "unban", pid, NULL};

        assert_int_equal(th_stack_cli(s, args, NULL), 0);
    }
    tap(s, WA_C, "join:yes:KHG-01");
    wait_quiet(s);
    member_of(s, WA_C, &mc);
    assert_int_equal(mc.st, GRP_MEMBER_ACTIVE);
    assert_int_equal(th_redis_int(&s->redis, "XLEN js:{audit}:log"), audit0 + 3);
    {
        redisReply *r = th_redis_cmd(&s->redis, "XRANGE js:{audit}:log - +");
        int bans = 0;

        assert_non_null(r);
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *f = r->element[i]->element[1];

            for (size_t k = 0; k < f->elements; k++) {
                assert_null(strstr(f->element[k]->str, "9811170"));
                bans += strstr(f->element[k]->str, "\"action\":\"member.ban\"") != NULL;
            }
        }
        freeReplyObject(r);
        assert_int_equal(bans, 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_posts),
        cmocka_unit_test(test_media_posts),
        cmocka_unit_test(test_sanctions),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
