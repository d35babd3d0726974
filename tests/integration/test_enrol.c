/*
 * tests/integration/test_enrol.c - whole enrolment conversations through
 * the real stack: redis-server, the Cloud API simulator playing citizens
 * (/_sim/inbound: text, interactive replies, shared locations) and the real
 * `janseva serve` with the sample hierarchy imported by `janseva import`.
 * Every assertion is on what janseva actually sent (/_sim/sends: message
 * types, bodies, list rows and buttons within WhatsApp's limits, the
 * language) and on the member state in Redis: first contact, join by
 * location, by PIN, by name and by menus with paging, in Hindi and English;
 * LANG, HELP, MOVE, unknown input, posts, STOP followed by nothing, a
 * replayed webhook answered once; and no phone number, name or typed text
 * in Redis (outside sealed values) or in the log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "groups/member.h"
#include "groups/texts.h"
#include "tests/harness/stack.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HI_A "919811100001" /* Hindi: location, PIN, STOP */
#define EN_B "919811100002" /* English: menus with paging, LANG */
#define EN_C "919811100003" /* English: name, unknown input, replay */

static const char *src(void)
{
    const char *s = getenv("JANSEVA_TEST_SRC");

    return s != NULL && s[0] != '\0' ? s : ".";
}

/* ======================= the stack ======================= */

static int import_file(struct th_stack *s, const char *kind, const char *path)
{
    char env_redis[700];
    const char *argv[] = {th_bin(), "import", "--kind", kind, path, NULL};
    const char *env[] = {env_redis, NULL};
    char *out = NULL;
    char *err = NULL;
    int rc;

    snprintf(env_redis, sizeof env_redis, "JANSEVA_REDIS=%s", s->redis.addr);
    rc = th_run(argv, env, NULL, 0, &out, &err);
    if (rc != 0)
        fprintf(stderr, "import %s: exit %d: %s\n", kind, rc, err != NULL ? err : "");
    free(out);
    free(err);
    return rc;
}

static int setup(void **state)
{
    static const char *const kinds[] = {"state", "district", "thana", "beat", "locality"};
    struct th_stack *s = calloc(1, sizeof *s);
    char path[4096];
    FILE *fp;

    if (th_stack_start(s, "enrol", NULL, NULL) != 0)
        return -1;
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/data/sample-hierarchy/%s.csv", src(), kinds[i]);
        if (import_file(s, kinds[i], path) != 0)
            return -1;
    }
    /* 25 more villages under Bihta: a police station of 28 localities */
    snprintf(path, sizeof path, "%s/more.csv", s->dir);
    fp = fopen(path, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp, "code,parent,name_en,name_hi,type,pincode\n");
    for (int i = 1; i <= 25; i++)
        fprintf(fp, "BXT-%02d,PAT-BHT-1,Bihta Tola %02d,बिहटा टोला %02d,village,801103\n", i, i, i);
    fclose(fp);
    if (import_file(s, "locality", path) != 0)
        return -1;
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

/* ======================= playing a citizen ======================= */

static int posted; /* inbound messages posted in this test program */

/* POST /_sim/inbound with `req` (stolen); returns the answer (new ref). */
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
    if (json_integer_value(json_object_get(j, "webhook_status")) != 200)
        fail_msg("janseva answered the webhook with %lld",
                 (long long)json_integer_value(json_object_get(j, "webhook_status")));
    posted++;
    return j;
}

static void say(struct th_stack *s, const char *wa, const char *text)
{
    json_decref(inbound(
        s, json_pack("{s:s,s:s,s:s}", "from", wa, "name", "Ramesh Kumar Yadav", "text", text)));
}

static void tap(struct th_stack *s, const char *wa, const char *kind, const char *id,
                const char *title)
{
    json_decref(inbound(s, json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s}}", "from", wa, "name",
                                     "Ramesh Kumar Yadav", "type", "interactive", "reply", "type",
                                     kind, "id", id, "title", title)));
}

static void share(struct th_stack *s, const char *wa, double lat, double lon)
{
    json_decref(
        inbound(s, json_pack("{s:s,s:s,s:s,s:f,s:f}", "from", wa, "name", "Ramesh Kumar Yadav",
                             "type", "location", "latitude", lat, "longitude", lon)));
}

/* ======================= what janseva sent ======================= */

/* Accepted sends to `wa`, oldest first: the Graph bodies (new ref). */
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

        assert_non_null(b);
        json_array_append_new(out, b);
    }
    json_decref(j);
    return out;
}

struct want_sends {
    struct th_stack *s;
    const char *wa;
    size_t n;
};

static int sends_reached(void *ud)
{
    struct want_sends *w = ud;
    json_t *a = sent_to(w->s, w->wa);
    size_t n = json_array_size(a);

    json_decref(a);
    return n >= w->n;
}

/* Wait for the n-th send to `wa` (1-based) and return it (new ref). */
static json_t *nth_send(struct th_stack *s, const char *wa, size_t n)
{
    struct want_sends w = {s, wa, n};
    json_t *a;
    json_t *m;

    if (th_wait(sends_reached, &w, 10000) != 0)
        fail_msg("janseva sent no reply #%zu (log %s)", n, s->app.log_path);
    a = sent_to(s, wa);
    m = json_incref(json_array_get(a, n - 1));
    json_decref(a);
    return m;
}

static const char *body_text(const json_t *m)
{
    const char *t = json_string_value(json_object_get(json_object_get(m, "text"), "body"));

    if (t == NULL)
        t = json_string_value(
            json_object_get(json_object_get(json_object_get(m, "interactive"), "body"), "text"));
    assert_non_null(t);
    return t;
}

static const char *kind_of(const json_t *m)
{
    const char *t = json_string_value(json_object_get(json_object_get(m, "interactive"), "type"));

    return t != NULL ? t : json_string_value(json_object_get(m, "type"));
}

static json_t *rows_of(const json_t *m)
{
    return json_object_get(
        json_array_get(json_object_get(json_object_get(json_object_get(m, "interactive"), "action"),
                                       "sections"),
                       0),
        "rows");
}

static const char *row_id(const json_t *m, size_t i)
{
    return json_string_value(json_object_get(json_array_get(rows_of(m), i), "id"));
}

static const char *button_id(const json_t *m, size_t i)
{
    return json_string_value(json_object_get(
        json_object_get(
            json_array_get(
                json_object_get(json_object_get(json_object_get(m, "interactive"), "action"),
                                "buttons"),
                i),
            "reply"),
        "id"));
}

static int has_devanagari(const char *s)
{
    /* U+0900..U+097F are E0 A4 xx / E0 A5 xx in UTF-8 */
    for (; s[0] != '\0' && s[1] != '\0'; s++) {
        if ((unsigned char)s[0] == 0xE0 &&
            ((unsigned char)s[1] == 0xA4 || (unsigned char)s[1] == 0xA5))
            return 1;
    }
    return 0;
}

/* The n-th reply to `wa`, checked to be of `kind` and in `lang`. */
static json_t *reply(struct th_stack *s, const char *wa, size_t n, const char *kind,
                     enum grp_lang lang)
{
    json_t *m = nth_send(s, wa, n);

    if (strcmp(kind_of(m), kind) != 0)
        fail_msg("reply #%zu to %s is a %s, want %s: %.200s", n, wa + 8, kind_of(m), kind,
                 body_text(m));
    /* the English texts carry no Devanagari except the language choices */
    if (lang == GRP_LANG_HI && !has_devanagari(body_text(m)))
        fail_msg("reply #%zu is not in Hindi: %.200s", n, body_text(m));
    if (lang == GRP_LANG_EN && has_devanagari(body_text(m)) &&
        strstr(body_text(m), "ENGLISH") == NULL && strstr(body_text(m), "Language") == NULL &&
        strstr(body_text(m), "हिंदी लिखकर") == NULL)
        fail_msg("reply #%zu is not in English: %.200s", n, body_text(m));
    return m;
}

static void member_of(struct th_stack *s, const char *wa, struct grp_member *m)
{
    assert_int_equal(th_stack_member_load(s, wa, m), 0);
}

/* Everything posted is handled and everything queued is sent. */
static void wait_quiet(struct th_stack *s)
{
    if (th_stack_wait_quiet(s, 10000) != 0)
        fail_msg("janseva did not settle (log %s)", s->app.log_path);
}

static size_t count_sent(struct th_stack *s, const char *wa)
{
    json_t *a = sent_to(s, wa);
    size_t n = json_array_size(a);

    json_decref(a);
    return n;
}

/* ======================= conversations ======================= */

/* Hindi: location, PIN, MOVE, HELP, a post, STOP and then nothing. */
static void test_hindi_location_pin_move_stop(void **state)
{
    struct th_stack *s = *state;
    struct grp_member mb;
    char mid[CRY_MID_LEN];
    struct core_err err;
    json_t *m;
    size_t n = 0;

    say(s, HI_A, "नमस्ते");
    m = reply(s, HI_A, ++n, "list", GRP_LANG_HI);
    assert_non_null(strstr(body_text(m), "बिहार पुलिस"));
    assert_non_null(strstr(body_text(m), "WhatsApp (Meta)"));
    assert_int_equal(json_array_size(rows_of(m)), 5);
    assert_string_equal(row_id(m, 0), "kw:join");
    json_decref(m);
    member_of(s, HI_A, &mb);
    assert_int_equal(mb.st, GRP_MEMBER_ENROLLING);

    tap(s, HI_A, "list_reply", "kw:join", "समूह से जुड़ें");
    m = reply(s, HI_A, ++n, "button", GRP_LANG_HI);
    assert_string_equal(button_id(m, 0), "join:how:loc");
    json_decref(m);
    tap(s, HI_A, "button_reply", "join:how:loc", "लोकेशन भेजें");
    json_decref(reply(s, HI_A, ++n, "location_request_message", GRP_LANG_HI));
    share(s, HI_A, 25.6655, 84.8940);
    m = reply(s, HI_A, ++n, "list", GRP_LANG_HI);
    assert_string_equal(row_id(m, 0), "join:loc:HLD-01");
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows_of(m), 0), "title")),
                        "हल्दी छपरा");
    json_decref(m);
    tap(s, HI_A, "list_reply", "join:loc:HLD-01", "हल्दी छपरा");
    m = reply(s, HI_A, ++n, "button", GRP_LANG_HI);
    assert_non_null(strstr(body_text(m), "समूह के नियम"));
    assert_string_equal(button_id(m, 0), "join:yes:HLD-01");
    json_decref(m);
    tap(s, HI_A, "button_reply", "join:yes:HLD-01", "हाँ, जुड़ें");
    m = reply(s, HI_A, ++n, "text", GRP_LANG_HI);
    assert_non_null(strstr(body_text(m), "*हल्दी छपरा* समूह से जुड़ गए"));
    json_decref(m);
    wait_quiet(s);
    member_of(s, HI_A, &mb);
    assert_int_equal(mb.st, GRP_MEMBER_ACTIVE);
    assert_string_equal(mb.group, "HLD-01");
    assert_string_equal(mb.cv, grp_text_consent_version());
    assert_true(mb.cts > 0);
    assert_int_equal(th_stack_member(s, HI_A, mid), 0);
    assert_int_equal(grp_member_in_group(s->r, "HLD-01", mid, &err), 1);

    /* MOVE by PIN, confirmed by a typed "हाँ" */
    say(s, HI_A, "बदलें");
    m = reply(s, HI_A, ++n, "button", GRP_LANG_HI);
    assert_non_null(strstr(body_text(m), "हल्दी छपरा"));
    json_decref(m);
    say(s, HI_A, "801108");
    m = reply(s, HI_A, ++n, "list", GRP_LANG_HI);
    assert_string_equal(row_id(m, 0), "join:loc:MNR-01");
    json_decref(m);
    tap(s, HI_A, "list_reply", "join:loc:SRP-01", "शेरपुर");
    json_decref(reply(s, HI_A, ++n, "button", GRP_LANG_HI));
    say(s, HI_A, "हाँ");
    m = reply(s, HI_A, ++n, "text", GRP_LANG_HI);
    assert_non_null(strstr(body_text(m), "शेरपुर"));
    json_decref(m);
    wait_quiet(s);
    member_of(s, HI_A, &mb);
    assert_string_equal(mb.group, "SRP-01");
    assert_int_equal(grp_member_in_group(s->r, "HLD-01", mid, &err), 0);
    assert_int_equal(grp_member_group_count(s->r, "HLD-01", &err), 0);
    assert_int_equal(grp_member_group_count(s->r, "SRP-01", &err), 1);

    say(s, HI_A, "मदद");
    m = reply(s, HI_A, ++n, "text", GRP_LANG_HI);
    assert_non_null(strstr(body_text(m), "शेरपुर"));
    assert_non_null(strstr(body_text(m), "112"));
    json_decref(m);
    say(s, HI_A, "गाँव के स्कूल के पास बिजली का तार टूटा पड़ा है");
    json_decref(reply(s, HI_A, ++n, "text", GRP_LANG_HI));

    /* STOP: the one confirmation, out of the group, then nothing */
    say(s, HI_A, "रोकें");
    m = reply(s, HI_A, ++n, "text", GRP_LANG_HI);
    assert_non_null(strstr(body_text(m), "शेरपुर"));
    json_decref(m);
    wait_quiet(s);
    member_of(s, HI_A, &mb);
    assert_int_equal(mb.st, GRP_MEMBER_LEFT);
    assert_int_equal(grp_member_in_group(s->r, "SRP-01", mid, &err), 0);
    assert_int_equal(grp_member_group_count(s->r, "SRP-01", &err), 0);
    assert_false(grp_member_receives(&mb, "SRP-01"));
    assert_int_equal(count_sent(s, HI_A), n);
    /* a group broadcast now walks the set: they are not in it */
    assert_int_equal(th_group_has(&s->redis, "SRP-01", mid), 0);
    th_sleep_ms(300); /* nothing trickles in later either */
    wait_quiet(s);
    assert_int_equal(count_sent(s, HI_A), n);
}

/* English: LANG, menus with paging, confirmation, back to Hindi. */
static void test_english_menus_with_paging(void **state)
{
    struct th_stack *s = *state;
    struct grp_member mb;
    json_t *m;
    size_t n = 0;

    say(s, EN_B, "Hello");
    json_decref(reply(s, EN_B, ++n, "list", GRP_LANG_HI));
    tap(s, EN_B, "list_reply", "kw:lang", "भाषा / Language");
    m = reply(s, EN_B, ++n, "button", GRP_LANG_HI);
    assert_string_equal(button_id(m, 1), "kw:english");
    json_decref(m);
    tap(s, EN_B, "button_reply", "kw:english", "English");
    m = reply(s, EN_B, ++n, "text", GRP_LANG_EN);
    assert_non_null(strstr(body_text(m), "in English"));
    json_decref(m);
    say(s, EN_B, "JOIN");
    m = reply(s, EN_B, ++n, "button", GRP_LANG_EN);
    assert_non_null(strstr(body_text(m), "PIN code"));
    json_decref(m);
    tap(s, EN_B, "button_reply", "join:how:menu", "Choose from list");
    m = reply(s, EN_B, ++n, "list", GRP_LANG_EN);
    assert_int_equal(json_array_size(rows_of(m)), 2);
    assert_string_equal(row_id(m, 1), "join:unit:PAT");
    json_decref(m);
    tap(s, EN_B, "list_reply", "join:unit:PAT", "Patna");
    m = reply(s, EN_B, ++n, "list", GRP_LANG_EN);
    assert_int_equal(json_array_size(rows_of(m)), 3);
    json_decref(m);
    tap(s, EN_B, "list_reply", "join:unit:PAT-BHT", "Bihta");
    m = reply(s, EN_B, ++n, "list", GRP_LANG_EN);
    assert_int_equal(json_array_size(rows_of(m)), 10);
    assert_string_equal(row_id(m, 9), "join:more:u:PAT-BHT:9");
    json_decref(m);
    tap(s, EN_B, "list_reply", "join:more:u:PAT-BHT:9", "More");
    m = reply(s, EN_B, ++n, "list", GRP_LANG_EN);
    assert_string_equal(row_id(m, 9), "join:more:u:PAT-BHT:18");
    json_decref(m);
    tap(s, EN_B, "list_reply", "join:more:u:PAT-BHT:18", "More");
    m = reply(s, EN_B, ++n, "list", GRP_LANG_EN);
    assert_int_equal(json_array_size(rows_of(m)), 10); /* the last 10, no "More" */
    assert_string_equal(row_id(m, 9), "join:loc:KNP-01");
    json_decref(m);
    tap(s, EN_B, "list_reply", "join:loc:KNP-01", "Kanpa");
    m = reply(s, EN_B, ++n, "button", GRP_LANG_EN);
    assert_non_null(strstr(body_text(m), "Kanpa"));
    assert_non_null(strstr(body_text(m), "Group rules"));
    json_decref(m);
    tap(s, EN_B, "button_reply", "join:yes:KNP-01", "Yes, join");
    m = reply(s, EN_B, ++n, "text", GRP_LANG_EN);
    assert_non_null(strstr(body_text(m), "You have joined the *Kanpa* group"));
    assert_non_null(strstr(body_text(m), "Member "));
    json_decref(m);
    wait_quiet(s);
    member_of(s, EN_B, &mb);
    assert_string_equal(mb.group, "KNP-01");
    assert_int_equal(mb.lang, GRP_LANG_EN);
    /* and back to Hindi */
    say(s, EN_B, "हिंदी");
    m = reply(s, EN_B, ++n, "text", GRP_LANG_HI);
    assert_non_null(strstr(body_text(m), "हिन्दी में"));
    json_decref(m);
}

/* English by name; unknown input; a replayed webhook answered once. */
static void test_english_name_unknown_replay(void **state)
{
    struct th_stack *s = *state;
    struct grp_member mb;
    json_t *m;
    json_t *ans;
    size_t n = 0;
    long status;
    const char *raw;

    say(s, EN_C, "english");
    /* a new member choosing English first gets the welcome in English */
    m = reply(s, EN_C, ++n, "list", GRP_LANG_EN);
    assert_non_null(strstr(body_text(m), "Bihar Police"));
    json_decref(m);
    say(s, EN_C, "qwerty asdf");
    m = reply(s, EN_C, ++n, "text", GRP_LANG_EN);
    assert_non_null(strstr(body_text(m), "did not understand"));
    json_decref(m);
    say(s, EN_C, "haldi chapra");
    m = reply(s, EN_C, ++n, "list", GRP_LANG_EN);
    assert_string_equal(row_id(m, 0), "join:loc:HLD-01");
    json_decref(m);
    tap(s, EN_C, "list_reply", "join:loc:HLD-01", "Haldi Chhapra");
    json_decref(reply(s, EN_C, ++n, "button", GRP_LANG_EN));
    ans = inbound(s, json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s}}", "from", EN_C, "name",
                               "Ramesh Kumar Yadav", "type", "interactive", "reply", "type",
                               "button_reply", "id", "join:yes:HLD-01", "title", "Yes, join"));
    json_decref(reply(s, EN_C, ++n, "text", GRP_LANG_EN));
    /* Meta delivers the same webhook again: the same body, signed */
    raw = json_string_value(json_object_get(ans, "body"));
    assert_non_null(raw);
    status = th_post_webhook(&s->app, raw, strlen(raw));
    assert_int_equal(status, 200);
    json_decref(ans);
    wait_quiet(s);
    assert_int_equal(count_sent(s, EN_C), n);
    member_of(s, EN_C, &mb);
    assert_string_equal(mb.group, "HLD-01");
    assert_int_equal(th_redis_int(&s->redis, "HGET js:u:{HLD-01} n"), 1);
}

/* ======================= no personal data ======================= */

static int contains(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);

    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(hay + i, needle, k) == 0)
            return 1;
    }
    return 0;
}

/* Numbers (with and without the country code), the profile name, and
 * texts the citizens typed. */
static const char *const secrets[] = {
    HI_A,     HI_A + 2, EN_B,           EN_B + 2,      EN_C,           EN_C + 2,
    "Ramesh", "Yadav",  "haldi chapra", "qwerty asdf", "बिजली का तार", "Test Citizen",
};

/* The first secret found in `v`, or NULL. */
static const char *find_secret(const char *v, size_t n)
{
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        if (contains(v, n, secrets[i]))
            return secrets[i];
    }
    return NULL;
}

static const char *scan_reply(const redisReply *r)
{
    const char *hit = NULL;

    if (r == NULL)
        return NULL;
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
        return find_secret(r->str, r->len);
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && hit == NULL; i++)
        hit = scan_reply(r->element[i]);
    return hit;
}

/* Every key name and value in Redis; the first secret found, with its key. */
static const char *scan_redis(struct th_stack *s, char *where, size_t n)
{
    redisReply *keys = th_redis_cmd(&s->redis, "KEYS *");
    const char *hit = NULL;

    assert_non_null(keys);
    assert_true(keys->elements > 50);
    for (size_t i = 0; i < keys->elements && hit == NULL; i++) {
        const char *k = keys->element[i]->str;
        redisReply *t = th_redis_cmd(&s->redis, "TYPE %s", k);
        redisReply *v = NULL;

        hit = find_secret(k, strlen(k));
        if (strcmp(t->str, "string") == 0)
            v = th_redis_cmd(&s->redis, "GET %s", k);
        else if (strcmp(t->str, "hash") == 0)
            v = th_redis_cmd(&s->redis, "HGETALL %s", k);
        else if (strcmp(t->str, "set") == 0)
            v = th_redis_cmd(&s->redis, "SMEMBERS %s", k);
        else if (strcmp(t->str, "zset") == 0)
            v = th_redis_cmd(&s->redis, "ZRANGE %s 0 -1", k);
        else if (strcmp(t->str, "stream") == 0)
            v = th_redis_cmd(&s->redis, "XRANGE %s - +", k);
        else if (strcmp(t->str, "list") == 0)
            v = th_redis_cmd(&s->redis, "LRANGE %s 0 -1", k);
        if (hit == NULL)
            hit = scan_reply(v);
        if (hit != NULL)
            snprintf(where, n, "%s", k);
        freeReplyObject(v);
        freeReplyObject(t);
    }
    freeReplyObject(keys);
    return hit;
}

static void test_no_personal_data(void **state)
{
    struct th_stack *s = *state;
    char where[300] = "";
    const char *hit;
    char *log;
    size_t len;

    wait_quiet(s);
    /* the scan finds what is there: a value planted in a hash field */
    th_redis_int(&s->redis, "HSET js:test:plant x %s", "name: Ramesh Kumar");
    hit = scan_redis(s, where, sizeof where);
    assert_non_null(hit);
    assert_string_equal(where, "js:test:plant");
    th_redis_int(&s->redis, "DEL js:test:plant");
    /* and nothing else holds a number, a name or a typed text */
    hit = scan_redis(s, where, sizeof where);
    if (hit != NULL)
        fail_msg("Redis key %s holds \"%s\" in clear", where, hit);
    log = th_read_file(s->app.log_path, &len);
    assert_non_null(log);
    assert_true(len > 10000); /* debug logging of every event */
    hit = find_secret(log, len);
    if (hit != NULL)
        fail_msg("the log holds \"%s\"", hit);
    free(log);
    /* counters exposed */
    assert_true(th_stack_metric(s, "janseva_enrol_joins_total") >= 3);
    assert_true(th_stack_metric(s, "janseva_enrol_leaves_total") >= 1);
    assert_true(th_stack_metric(s, "janseva_dialogue_replies_total") >= 30);
    assert_true(posted > 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hindi_location_pin_move_stop),
        cmocka_unit_test(test_english_menus_with_paging),
        cmocka_unit_test(test_english_name_unknown_replay),
        cmocka_unit_test(test_no_personal_data),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
