/*
 * tests/integration/test_tips.c - the tip line end to end on the stack
 * harness: a real `janseva serve` (all roles), the Cloud API simulator and
 * Redis. Citizens write through the simulator (signed webhooks into
 * janseva), whose dialogue runs the tip flow; the tip calls
 * (grp_tip_open_case / _add / _find_by_*) are also made in-process on the
 * same events with the router's event key, so they return what the flow
 * did (every call is idempotent by that key) and the test can look inside.
 *
 *  - a tip with text, a photo (the simulator's media id -> fetched by the
 *    service -> stored sealed -> served decrypted by the API) and a
 *    location; a media file over the limit is noted, not stored
 *  - an officer reply round trip: API reply -> dispatcher -> the simulator
 *    records the message to the tipster's number; the officer's view never
 *    contains the number, the name or the member id; the tipster answers
 *    with WhatsApp's "reply" and it joins the case; a reply outside the
 *    24-hour window goes as the template, without the officer's words;
 *    jurisdiction through X-Janseva-Officer; the CLI reply
 *  - a follow-up by pseudonym (and nobody else's)
 *  - `janseva keys init-reveal`, then a 2-of-3 reveal through the CLI that
 *    prints the identity to the requester only, with the officer custodian
 *    messaged on WhatsApp and the audit log verifying
 *  - each refusal through the CLI: unknown case, unknown request, a
 *    damaged share file, a tampered share (public-key check), the same
 *    custodian twice, a share used twice, an expired request
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/util.h"
#include "crypto/identity.h"
#include "crypto/reveal.h"
#include "gateway/webhook.h"
#include "groups/tip.h"
#include "tests/harness/stack.h"

#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN "test-api-token-0123456789"
#define WA_A "919800000101"
#define NAME_A "Kamla Devi"
#define WA_B "919800000202"
#define WA_C "919800000303"
#define WA_OFF "919900000777"
#define REASON "FIR 77/2026 PS Danapur; order of the CJM Patna dated 21.11.2026"

struct tfix {
    struct th_stack s;
    struct core_cfg cfg;
    struct grp_tip *t;
    char shares[3][700];
    char env_redis[700], env_keys[700];
    const char *cli_env[8];
    char officer[CRY_MID_LEN];
    char mid_a[CRY_MID_LEN];
    struct grp_tip_case case_a; /* the tip of citizen A, shared by the tests */
};

static struct tfix *F;
static char phone_list[] = TH_SIM_PNID;
static char *phones[1] = {phone_list};

/* ======================= helpers ======================= */

static int run_cli(const char *const argv[], char **out, char **err)
{
    return th_run(argv, F->cli_env, NULL, 0, out, err);
}

/* An API request; returns the HTTP status and the body in *body (caller frees). */
static long api(const char *method, const char *path, const char *json, const char *officer,
                char **body)
{
    struct th_http_resp resp;
    char url[300];
    char off[80];
    const char *h[4];
    int n = 0;
    long st;

    snprintf(url, sizeof url, "%s%s", F->s.app.url, path);
    h[n++] = "Authorization: Bearer " TOKEN;
    h[n++] = "Content-Type: application/json";
    if (officer != NULL) {
        snprintf(off, sizeof off, "X-Janseva-Officer: %s", officer);
        h[n++] = off;
    }
    h[n] = NULL;
    if (th_http(method, url, h, json, json != NULL ? strlen(json) : 0, &resp) != 0)
        return -1;
    st = resp.status;
    if (body != NULL) {
        *body = malloc(resp.len + 1);
        memcpy(*body, resp.body != NULL ? resp.body : "", resp.len);
        (*body)[resp.len] = '\0';
    }
    th_http_resp_free(&resp);
    return st;
}

struct member_wait {
    const char *wa;
    char mid[CRY_MID_LEN];
};

static int member_known(void *ud)
{
    struct member_wait *w = ud;
    struct core_err err;
    int found = 0;

    return cry_identity_find(F->s.ident, F->s.r, w->wa, NULL, w->mid, &found, &err) == 0 &&
           found;
}

/*
 * A citizen writes through the simulator. `fields` are extra JSON members
 * of /_sim/inbound ("\"text\":\"...\""). Parses what janseva received into
 * `hook` (free with gw_webhook_free) and gives the event and a router
 * context as the tip flow would have them. Returns the wamid (caller frees).
 */
static char *citizen(const char *wa, const char *fields, struct gw_webhook *hook,
                     const struct gw_event **ev, struct gw_router_ctx *ctx)
{
    char body[4096 + 300000];
    char *out = NULL;
    json_t *j;
    const char *posted;
    char *wamid;
    struct member_wait w = {wa, ""};
    struct core_err err;

    snprintf(body, sizeof body, "{\"from\":\"%s\",\"name\":\"%s\",%s}", wa,
             strcmp(wa, WA_A) == 0 ? NAME_A : "Test Citizen", fields);
    assert_int_equal(th_cloudsim_req(&F->s.sim, "POST", "/_sim/inbound", body, &out), 200);
    j = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "webhook_status")), 200);
    posted = json_string_value(json_object_get(j, "body"));
    assert_int_equal(gw_webhook_parse(hook, posted, strlen(posted), &err), 0);
    assert_true(hook->n_events >= 1);
    *ev = &hook->events[0];
    wamid = strdup(json_string_value(json_object_get(j, "wamid")));
    json_decref(j);
    assert_int_equal(th_wait(member_known, &w, 10000), 0);
    memset(ctx, 0, sizeof *ctx);
    ctx->redis = F->s.r;
    ctx->entry_id = "0-0";
    ctx->req_id = "test";
    memcpy(ctx->member_id, w.mid, CRY_MID_LEN);
    /* the router's event key: the service's tip flow handles the same
     * event, and every tip call is idempotent by this key */
    th_stack_event_key(&F->s, wamid, ctx->event_key);
    return wamid;
}

/* Citizen sends `fields` and it is added to case `cid`. */
static void tip_add(const char *wa, const char *cid, const char *fields,
                    struct grp_tip_added *out)
{
    struct gw_webhook hook;
    const struct gw_event *ev;
    struct gw_router_ctx ctx;
    struct core_err err;
    char *w = citizen(wa, fields, &hook, &ev, &ctx);

    if (grp_tip_add(F->t, &ctx, ev, cid, out, &err) != 0)
        fail_msg("add: %s", err.msg);
    gw_webhook_free(&hook);
    free(w);
}

/* An officer whose code is its member id (valid as a code: 32 hex digits). */
static void officer_record(const char *mid, const char *role, const char *unit)
{
    freeReplyObject(th_redis_cmd(&F->s.redis, "HSET js:off:{%s} role %s unit %s name test code %s",
                                 mid, role, unit, mid));
    freeReplyObject(th_redis_cmd(&F->s.redis, "HSET js:off:codes %s %s", mid, mid));
}

static void unit(const char *code, const char *kind, const char *parent)
{
    freeReplyObject(th_redis_cmd(&F->s.redis, "HSET js:u:{%s} k %s p %s en %s", code, kind,
                                 parent, code));
}

/* The accepted sends to `to` as a JSON array (new reference). */
static json_t *sends_to(const char *to)
{
    char path[160];
    json_t *j;
    json_t *s;

    snprintf(path, sizeof path, "/_sim/sends?outcome=accepted&limit=1000&to=%s", to);
    j = th_cloudsim_json(&F->s.sim, path);
    s = json_incref(json_object_get(j, "sends"));
    json_decref(j);
    return s;
}

struct sends_wait {
    const char *to;
    size_t n;
};

static int enough_sends(void *ud)
{
    struct sends_wait *w = ud;
    json_t *s = sends_to(w->to);
    size_t n = json_array_size(s);

    json_decref(s);
    return n >= w->n;
}

struct text_wait {
    const char *to;
    const char *text;
};

/* A send to `to` whose body contains `text` was recorded. */
static int text_sent(void *ud)
{
    struct text_wait *w = ud;
    json_t *s = sends_to(w->to);
    size_t i;
    json_t *e;
    int hit = 0;

    json_array_foreach(s, i, e)
    {
        const char *b = json_string_value(json_object_get(e, "body"));

        hit |= b != NULL && strstr(b, w->text) != NULL;
    }
    json_decref(s);
    return hit;
}

static void find_share(const char *dir, const char *name, char *out, size_t n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char suffix[64];

    snprintf(suffix, sizeof suffix, "-%s.share", name);
    assert_non_null(d);
    out[0] = '\0';
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);

        if (l > strlen(suffix) && strcmp(de->d_name + l - strlen(suffix), suffix) == 0)
            snprintf(out, n, "%s/%s", dir, de->d_name);
    }
    closedir(d);
    assert_true(out[0] != '\0');
}

/* Append every string of a reply (nested arrays included) to buf. */
static void flatten(const redisReply *v, char **buf, size_t *len, size_t *cap)
{
    if (v == NULL)
        return;
    if (v->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < v->elements; i++)
            flatten(v->element[i], buf, len, cap);
        return;
    }
    if (v->type != REDIS_REPLY_STRING && v->type != REDIS_REPLY_STATUS)
        return;
    while (*len + v->len + 2 > *cap) {
        *cap *= 2;
        *buf = realloc(*buf, *cap);
    }
    memcpy(*buf + *len, v->str, v->len);
    *len += v->len;
    (*buf)[(*len)++] = '\n';
}

/*
 * Nothing in Redis links the tipster's member id `mid` to a tip: no tip
 * record (js:tip:*, reveal requests, notices) holds `mid`, and no other key
 * holds both `mid` and a case id or pseudonym. (The member id itself does
 * appear elsewhere: the dialogue answers every citizen who writes in, through
 * queue entries addressed to their member id, just as for anyone else.)
 */
static void assert_mid_unlinked(const char *mid)
{
    redisReply *keys = th_redis_cmd(&F->s.redis, "KEYS js:*");
    size_t total = 0;
    int case_seen = 0;

    for (size_t i = 0; i < keys->elements; i++) {
        const char *k = keys->element[i]->str;
        size_t cap = 1 << 16, len = 0;
        char *buf = malloc(cap);
        redisReply *t;
        redisReply *v = NULL;
        int has_mid;
        int has_case;

        if (strncmp(k, "js:mb:", 6) == 0 || strncmp(k, "js:ib:", 6) == 0) {
            free(buf);
            continue;
        }
        flatten(keys->element[i], &buf, &len, &cap);
        t = th_redis_cmd(&F->s.redis, "TYPE %s", k);
        if (strcmp(t->str, "string") == 0)
            v = th_redis_cmd(&F->s.redis, "GET %s", k);
        else if (strcmp(t->str, "hash") == 0)
            v = th_redis_cmd(&F->s.redis, "HGETALL %s", k);
        else if (strcmp(t->str, "list") == 0)
            v = th_redis_cmd(&F->s.redis, "LRANGE %s 0 -1", k);
        else if (strcmp(t->str, "set") == 0)
            v = th_redis_cmd(&F->s.redis, "SMEMBERS %s", k);
        else if (strcmp(t->str, "zset") == 0)
            v = th_redis_cmd(&F->s.redis, "ZRANGE %s 0 -1", k);
        else if (strcmp(t->str, "stream") == 0)
            v = th_redis_cmd(&F->s.redis, "XRANGE %s - +", k);
        flatten(v, &buf, &len, &cap);
        freeReplyObject(v);
        freeReplyObject(t);
        has_mid = memmem(buf, len, mid, 32) != NULL;
        has_case = memmem(buf, len, F->case_a.id, 32) != NULL ||
                   memmem(buf, len, F->case_a.pseudonym, strlen(F->case_a.pseudonym)) != NULL;
        case_seen |= has_case;
        if (has_mid && (has_case || strncmp(k, "js:tip", 6) == 0))
            fail_msg("%s links the tipster's member id to a tip", k);
        total += len;
        free(buf);
    }
    freeReplyObject(keys);
    assert_true(total > 10000); /* it did read the tips, the outbox, the audit log */
    assert_true(case_seen);
}

/* ======================= setup ======================= */

static int group_setup(void **state)
{
    static const char *const env[] = {"JANSEVA_API_TOKEN=" TOKEN,
                                      "JANSEVA_TIP_MEDIA_MAX_BYTES=100000", NULL};
    struct core_err err;
    char shares_dir[700];
    char *out = NULL, *errs = NULL;

    F = calloc(1, sizeof *F);
    if (th_stack_start(&F->s, "tips", NULL, env) != 0)
        return -1;
    snprintf(F->env_redis, sizeof F->env_redis, "JANSEVA_REDIS=%s", F->s.redis.addr);
    snprintf(F->env_keys, sizeof F->env_keys, "JANSEVA_KEYS_DIR=%s", F->s.app.keys_dir);
    F->cli_env[0] = F->env_redis;
    F->cli_env[1] = F->env_keys;
    F->cli_env[2] = "JANSEVA_PHONE_NUMBER_ID=" TH_SIM_PNID;
    F->cli_env[3] = "JANSEVA_LOG_LEVEL=warn";
    F->cli_env[4] = NULL;
    /* the hierarchy */
    unit("BR", "state", "");
    unit("PAT", "district", "BR");
    unit("PAT-DNP", "thana", "PAT");
    unit("PAT-PHW", "thana", "PAT");
    unit("PAT-DNP-1", "beat", "PAT-DNP");
    unit("KHG-01", "locality", "PAT-DNP-1");
    /* the HQ officer who is also a custodian: writes in, so the window is open */
    if (th_stack_inbound(&F->s, WA_OFF, "hello") != 0 ||
        th_stack_member(&F->s, WA_OFF, F->officer) != 0)
        return -1;
    officer_record(F->officer, "hq", "BR");
    /* the reveal key, before any tip */
    snprintf(shares_dir, sizeof shares_dir, "%s/shares", F->s.dir);
    {
        char officers[64];
        const char *argv[] = {th_bin(),    "keys",   "init-reveal", "--out",  shares_dir,
                              "--names",   "dig-patna,sp-cid,adg-hq", "--officers", officers,
                              NULL};

        snprintf(officers, sizeof officers, ",,%s", F->officer);
        if (run_cli(argv, &out, &errs) != 0) {
            fprintf(stderr, "init-reveal: %s %s\n", out, errs);
            return -1;
        }
        if (strstr(out, "any 2 of 3 custodians") == NULL)
            return -1;
        free(out);
        free(errs);
    }
    find_share(shares_dir, "dig-patna", F->shares[0], sizeof F->shares[0]);
    find_share(shares_dir, "sp-cid", F->shares[1], sizeof F->shares[1]);
    find_share(shares_dir, "adg-hq", F->shares[2], sizeof F->shares[2]);
    /* the tip flow's store, in-process */
    if (core_cfg_load(&F->cfg, NULL, &err) != 0)
        return -1;
    F->cfg.phone_numbers = phones;
    F->cfg.n_phone_numbers = 1;
    F->t = grp_tip_new(&F->cfg, F->s.keys, F->s.ident);
    *state = F;
    return 0;
}

static int group_teardown(void **state)
{
    int rc;

    (void)state;
    grp_tip_free(F->t);
    F->cfg.phone_numbers = NULL;
    F->cfg.n_phone_numbers = 0;
    core_cfg_cleanup(&F->cfg);
    rc = th_stack_stop(&F->s);
    free(F);
    return rc == 0 ? 0 : -1;
}

/* ======================= a tip with media ======================= */

struct media_wait {
    const char *cid;
    long n;
    const char *want;
};

static int media_is(void *ud)
{
    struct media_wait *w = ud;
    char st[32] = "";
    struct core_err err;

    grp_tip_media_state(F->s.r, w->cid, w->n, st, sizeof st, &err);
    return strcmp(st, w->want) == 0;
}

static void test_tip_with_media(void **state)
{
    struct gw_webhook hook;
    const struct gw_event *ev;
    struct gw_router_ctx ctx;
    struct core_err err;
    struct grp_tip_added a;
    unsigned char photo[3000];
    char b64[sodium_base64_ENCODED_LEN(3000, sodium_base64_VARIANT_ORIGINAL)];
    char fields[8192];
    char *w;
    char *body = NULL;
    long photo_n;
    int created = 0;

    (void)state;
    /* TIP: the member is in locality KHG-01 (set before: the service's tip
     * flow opens the case as soon as the message arrives) */
    assert_int_equal(th_stack_member(&F->s, WA_A, F->mid_a), 0);
    th_member_set(&F->s.redis, F->mid_a, "g", "KHG-01", "lang", "en", NULL);
    w = citizen(WA_A, "\"text\":\"TIP\"", &hook, &ev, &ctx);
    assert_string_equal(ctx.member_id, F->mid_a);
    assert_int_equal(grp_tip_open_case(F->t, &ctx, ev, NULL, &F->case_a, &created, &err), 0);
    (void)created; /* the service's tip flow may have opened it first: the same case */
    assert_string_equal(F->case_a.thana, "PAT-DNP");
    assert_true(grp_tip_pseudonym_valid(F->case_a.pseudonym));
    gw_webhook_free(&hook);
    free(w);
    /* text, a photo, a location */
    tip_add(WA_A, F->case_a.id,
            "\"text\":\"Sharab ki bhatti behind the rice mill, every Thursday night\"", &a);
    assert_int_equal(a.n, 1);
    for (size_t i = 0; i < sizeof photo; i++)
        photo[i] = (unsigned char)(i * 7 + 3);
    sodium_bin2base64(b64, sizeof b64, photo, sizeof photo, sodium_base64_VARIANT_ORIGINAL);
    snprintf(fields, sizeof fields,
             "\"type\":\"image\",\"mime_type\":\"image/jpeg\",\"caption\":\"the still\","
             "\"media_base64\":\"%s\"",
             b64);
    tip_add(WA_A, F->case_a.id, fields, &a);
    photo_n = a.n;
    {
        /* a media item, queued for the fetcher (or, when the service's own
         * tip flow handled the event first, maybe fetched already) */
        char st[24] = "";

        assert_true(photo_n > 0);
        assert_int_equal(grp_tip_media_state(F->s.r, F->case_a.id, photo_n, st, sizeof st, &err),
                         0);
        if (strcmp(st, "pending") != 0 && strcmp(st, "stored") != 0)
            fail_msg("the photo's media state is \"%s\"", st);
    }
    tip_add(WA_A, F->case_a.id,
            "\"type\":\"location\",\"latitude\":25.579,\"longitude\":85.046,"
            "\"location_name\":\"Rice mill\"",
            &a);
    /* the service fetches the photo from the simulator and stores it sealed */
    {
        struct media_wait mw = {F->case_a.id, photo_n, "stored"};
        redisReply *raw;

        assert_int_equal(th_wait(media_is, &mw, 15000), 0);
        raw = th_redis_cmd(&F->s.redis, "GET js:tip:{%s}:md:%ld", F->case_a.id, photo_n);
        assert_int_equal(raw->type, REDIS_REPLY_STRING);
        assert_null(memmem(raw->str, raw->len, photo + 100, 64));
        freeReplyObject(raw);
    }
    /* the officer reads it through the API, decrypted */
    {
        char path[200];
        json_t *v;
        json_t *items;
        struct th_http_resp resp;
        char url[300];
        const char *h[] = {"Authorization: Bearer " TOKEN, NULL};

        snprintf(path, sizeof path, "/api/tips/%s", F->case_a.pseudonym);
        assert_int_equal(api("GET", path, NULL, NULL, &body), 200);
        assert_null(strstr(body, WA_A + 2));
        assert_null(strstr(body, NAME_A));
        assert_null(strstr(body, F->mid_a));
        v = json_loads(body, 0, NULL);
        items = json_object_get(v, "items");
        assert_int_equal(json_array_size(items), 3);
        assert_non_null(strstr(body, "Sharab ki bhatti"));
        assert_non_null(strstr(body, "\"state\":\"stored\""));
        assert_non_null(strstr(body, "Rice mill"));
        snprintf(url, sizeof url, "%s%s", F->s.app.url,
                 json_string_value(json_object_get(
                     json_object_get(json_array_get(items, 1), "media"), "url")));
        json_decref(v);
        free(body);
        assert_int_equal(th_http("GET", url, h, NULL, 0, &resp), 0);
        assert_int_equal(resp.status, 200);
        assert_int_equal(resp.len, sizeof photo);
        assert_memory_equal(resp.body, photo, sizeof photo);
        th_http_resp_free(&resp);
        /* no token, a wrong token */
        assert_int_equal(th_http("GET", url, NULL, NULL, 0, &resp), 0);
        assert_int_equal(resp.status, 401);
        th_http_resp_free(&resp);
        h[0] = "Authorization: Bearer wrong";
        assert_int_equal(th_http("GET", url, h, NULL, 0, &resp), 0);
        assert_int_equal(resp.status, 401);
        th_http_resp_free(&resp);
    }
    /* a file over tip_media_max_bytes (100000 here) is noted, not stored */
    {
        static unsigned char big[150000];
        static char big64[sodium_base64_ENCODED_LEN(150000, sodium_base64_VARIANT_ORIGINAL)];
        char *f2 = malloc(sizeof big64 + 200);
        struct media_wait mw = {F->case_a.id, 0, "too_large"};

        randombytes_buf(big, sizeof big);
        sodium_bin2base64(big64, sizeof big64, big, sizeof big, sodium_base64_VARIANT_ORIGINAL);
        snprintf(f2, sizeof big64 + 200,
                 "\"type\":\"document\",\"mime_type\":\"application/pdf\",\"filename\":"
                 "\"list.pdf\",\"media_base64\":\"%s\"",
                 big64);
        tip_add(WA_A, F->case_a.id, f2, &a);
        free(f2);
        mw.n = a.n;
        assert_int_equal(th_wait(media_is, &mw, 15000), 0);
    }
}

/* ======================= replies ======================= */

static void test_reply_round_trip(void **state)
{
    char path[200];
    char *body = NULL;
    json_t *sends;
    json_t *v;
    const char *sent_body;
    size_t reply_at = 0;
    char wamid[200];
    static const char sho[] = "cccccccccccccccccccccccccccccc01";
    static const char sho_other[] = "cccccccccccccccccccccccccccccc02";

    (void)state;
    assert_true(F->case_a.id[0] != '\0');
    /* jurisdiction: the SHO of the thana, not the SHO next door */
    officer_record(sho, "sho", "PAT-DNP");
    officer_record(sho_other, "sho", "PAT-PHW");
    snprintf(path, sizeof path, "/api/tips/%s", F->case_a.id);
    assert_int_equal(api("GET", path, NULL, sho_other, NULL), 404);
    assert_int_equal(api("GET", "/api/tips", NULL, sho_other, &body), 200);
    assert_null(strstr(body, F->case_a.id));
    free(body);
    assert_int_equal(api("GET", "/api/tips?state=open", NULL, sho, &body), 200);
    assert_non_null(strstr(body, F->case_a.id));
    free(body);
    /* the reply */
    snprintf(path, sizeof path, "/api/tips/%s/replies", F->case_a.id);
    assert_int_equal(api("POST", path, "{\"text\":\"Thank you. Which house exactly?\"}", sho,
                         &body),
                     202);
    free(body);
    {
        struct text_wait tw = {WA_A, "Which house exactly?"};

        assert_int_equal(th_wait(text_sent, &tw, 15000), 0);
    }
    sends = sends_to(WA_A);
    {
        /* the dialogue also answered the tipster's own messages: find the reply */
        size_t i;
        json_t *e;

        sent_body = NULL;
        json_array_foreach(sends, i, e)
        {
            const char *b = json_string_value(json_object_get(e, "body"));

            if (b != NULL && strstr(b, "Which house exactly?") != NULL) {
                sent_body = b;
                reply_at = i;
                break;
            }
        }
    }
    assert_non_null(sent_body);
    assert_non_null(strstr(sent_body, F->case_a.pseudonym));
    assert_non_null(strstr(sent_body, "\"type\":\"text\""));
    snprintf(wamid, sizeof wamid, "%s",
             json_string_value(json_object_get(json_array_get(sends, reply_at), "wamid")));
    json_decref(sends);
    /* the officer's view: the reply and its delivery, never who received it */
    snprintf(path, sizeof path, "/api/tips/%s", F->case_a.id);
    assert_int_equal(api("GET", path, NULL, sho, &body), 200);
    assert_non_null(strstr(body, "Which house exactly?"));
    assert_null(strstr(body, WA_A + 2));
    assert_null(strstr(body, NAME_A));
    assert_null(strstr(body, F->mid_a));
    free(body);
    /* the tipster answers with WhatsApp's "reply": it joins the case */
    {
        struct gw_webhook hook;
        const struct gw_event *ev;
        struct gw_router_ctx ctx;
        struct core_err err;
        struct grp_tip_added a;
        char cid[GRP_TIP_CASE_LEN];
        char fields[400];
        int found = 0;
        char *w;

        snprintf(fields, sizeof fields, "\"text\":\"The blue house, second lane\","
                                        "\"reply_to\":\"%s\"",
                 wamid);
        w = citizen(WA_A, fields, &hook, &ev, &ctx);
        assert_non_null(ev->context_id);
        /* the dispatcher records the reply's wamid just after Meta (the
         * simulator) accepted it: on a busy machine that may be a moment
         * after the simulator lists the send */
        for (int64_t end = core_mono_ms() + 15000; !found && core_mono_ms() < end;) {
            assert_int_equal(grp_tip_find_by_context(F->t, F->s.r, ev->context_id,
                                                     ctx.member_id, cid, &found, &err),
                             0);
            if (!found)
                th_sleep_ms(50);
        }
        assert_int_equal(found, 1);
        assert_string_equal(cid, F->case_a.id);
        assert_int_equal(grp_tip_add(F->t, &ctx, ev, cid, &a, &err), 0);
        gw_webhook_free(&hook);
        free(w);
    }
    assert_int_equal(api("GET", path, NULL, NULL, &body), 200);
    assert_non_null(strstr(body, "The blue house"));
    v = json_loads(body, 0, NULL);
    {
        json_t *items = json_object_get(v, "items");
        json_t *reply = NULL;
        size_t i;
        json_t *it;

        json_array_foreach(items, i, it)
        {
            if (json_is_string(json_object_get(it, "delivery")))
                reply = it;
        }
        assert_non_null(reply);
        assert_string_not_equal(json_string_value(json_object_get(reply, "delivery")), "failed");
    }
    json_decref(v);
    free(body);
    /* the CLI sends a reply the same way */
    {
        const char *argv[] = {th_bin(), "tip", "reply", F->case_a.pseudonym, "--text",
                              "We are coming.", NULL};
        char *out = NULL, *errs = NULL;
        struct sends_wait sw2 = {WA_A, 2};

        assert_int_equal(run_cli(argv, &out, &errs), 0);
        assert_non_null(strstr(out, "queued reply"));
        assert_null(strstr(out, WA_A + 2));
        free(out);
        free(errs);
        assert_int_equal(th_wait(enough_sends, &sw2, 15000), 0);
    }
    /* bad requests */
    snprintf(path, sizeof path, "/api/tips/%s/replies", F->case_a.id);
    assert_int_equal(api("POST", path, "{\"text\":\"\"}", NULL, NULL), 400);
    assert_int_equal(api("POST", path, "not json", NULL, NULL), 400);
    assert_int_equal(api("GET", path, NULL, NULL, NULL), 405);
    assert_int_equal(api("GET", "/api/tips/T-2222-22", NULL, NULL, NULL), 404);
}

static void test_reply_outside_window(void **state)
{
    char mid[CRY_MID_LEN];
    struct gw_router_ctx ctx;
    struct gw_event ev;
    struct grp_tip_case c;
    struct core_err err;
    char path[200];
    struct sends_wait sw = {WA_B, 1};
    json_t *sends;
    const char *b;
    int created = 0;

    (void)state;
    /* a member who has not written for more than a day (never, here) */
    assert_int_equal(th_stack_member(&F->s, WA_B, mid), 0);
    memset(&ctx, 0, sizeof ctx);
    ctx.redis = F->s.r;
    memcpy(ctx.member_id, mid, CRY_MID_LEN);
    snprintf(ctx.event_key, sizeof ctx.event_key, "%032x", 0xb0b);
    memset(&ev, 0, sizeof ev);
    ev.phone_number_id = TH_SIM_PNID;
    ev.type = "text";
    ev.text = "TIP";
    assert_int_equal(grp_tip_open_case(F->t, &ctx, &ev, NULL, &c, &created, &err), 0);
    snprintf(path, sizeof path, "/api/tips/%s/replies", c.id);
    assert_int_equal(api("POST", path, "{\"text\":\"Secret words for the tipster only\"}", NULL,
                         NULL),
                     202);
    assert_int_equal(th_wait(enough_sends, &sw, 15000), 0);
    sends = sends_to(WA_B);
    b = json_string_value(json_object_get(json_array_get(sends, 0), "body"));
    assert_non_null(strstr(b, "\"type\":\"template\""));
    assert_non_null(strstr(b, "janseva_notice"));
    assert_non_null(strstr(b, c.pseudonym));
    assert_null(strstr(b, "Secret words"));
    json_decref(sends);
}

/* ======================= follow-up ======================= */

static void test_follow_up_by_pseudonym(void **state)
{
    struct gw_webhook hook;
    const struct gw_event *ev;
    struct gw_router_ctx ctx;
    struct core_err err;
    struct grp_tip_added a;
    struct core_buf b;
    char cid[GRP_TIP_CASE_LEN];
    char fields[300];
    int found = 0;
    char *w;

    (void)state;
    /* the tipster quotes the pseudonym, in lower case and without dashes */
    snprintf(fields, sizeof fields, "\"text\":\"t%.4s%.2s two trucks came at 2 am\"",
             F->case_a.pseudonym + 2, F->case_a.pseudonym + 7);
    for (char *p = fields; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    w = citizen(WA_A, fields, &hook, &ev, &ctx);
    assert_int_equal(grp_tip_find_by_pseudonym(F->t, F->s.r, ev->text, ctx.member_id, cid, &found,
                                               &err),
                     0);
    assert_int_equal(found, 1);
    assert_string_equal(cid, F->case_a.id);
    assert_int_equal(grp_tip_add(F->t, &ctx, ev, cid, &a, &err), 0);
    core_buf_init(&b, 0);
    assert_int_equal(grp_tip_status_text(F->t, F->s.r, cid, "en", &b, &err), 0);
    assert_non_null(strstr(core_buf_str(&b), "Which house exactly?"));
    assert_non_null(strstr(core_buf_str(&b), F->case_a.pseudonym));
    core_buf_cleanup(&b);
    gw_webhook_free(&hook);
    free(w);
    /* someone else quoting it learns nothing */
    w = citizen(WA_C, fields, &hook, &ev, &ctx);
    assert_int_equal(grp_tip_find_by_pseudonym(F->t, F->s.r, ev->text, ctx.member_id, cid, &found,
                                               &err),
                     0);
    assert_int_equal(found, 0);
    gw_webhook_free(&hook);
    free(w);
}

/* ======================= the reveal ======================= */

struct log_wait {
    const char *path;
    const char *needle;
};

static int log_has(void *ud)
{
    struct log_wait *l = ud;

    return th_file_count(l->path, l->needle) > 0;
}

/* Start `tip reveal request`; returns the request id from its output. */
static void start_request(const char *log, struct th_proc *p, char rid[GRP_TIP_CASE_LEN])
{
    const char *argv[] = {th_bin(), "tip", "reveal", "request", F->case_a.pseudonym,
                          "--reason", REASON,    "--wait-seconds", "30",   NULL};
    struct log_wait lw = {log, "reveal request "};
    char *text;
    char *at;

    assert_int_equal(th_spawn(p, argv, F->cli_env, log), 0);
    assert_int_equal(th_wait(log_has, &lw, 10000), 0);
    lw.needle = "waiting for 2 custodians";
    assert_int_equal(th_wait(log_has, &lw, 10000), 0);
    text = th_read_file(log, NULL);
    at = strstr(text, "reveal request ") + strlen("reveal request ");
    memcpy(rid, at, 16);
    rid[16] = '\0';
    free(text);
}

static int approve(const char *rid, const char *custodian, const char *share, char **errs)
{
    const char *argv[] = {th_bin(), "tip",  "reveal", "approve", rid, "--custodian",
                          custodian, "--share", share,    NULL};
    char *out = NULL;
    int rc = run_cli(argv, &out, errs);

    free(out);
    return rc;
}

static void test_reveal_2_of_3(void **state)
{
    struct th_proc p;
    char log[800];
    char rid[GRP_TIP_CASE_LEN];
    char *errs = NULL;
    char *text;
    struct sends_wait sw = {WA_OFF, 2};

    (void)state;
    snprintf(log, sizeof log, "%s/reveal-ok.log", F->s.dir);
    start_request(log, &p, rid);
    assert_int_equal(approve(rid, "dig-patna", F->shares[0], &errs), 0);
    free(errs);
    assert_int_equal(approve(rid, "adg-hq", F->shares[2], &errs), 0);
    free(errs);
    assert_int_equal(th_stop(&p, 0, 20000), 0); /* waits for the exit */
    text = th_read_file(log, NULL);
    assert_non_null(strstr(text, "REVEALED to cli:"));
    assert_non_null(strstr(text, "+" WA_A));
    assert_non_null(strstr(text, NAME_A));
    free(text);
    /* the officer custodian got WhatsApp messages (request, approvals, reveal) */
    assert_int_equal(th_wait(enough_sends, &sw, 15000), 0);
    {
        json_t *s = sends_to(WA_OFF);
        char *all = json_dumps(s, 0);

        assert_non_null(strstr(all, rid));
        assert_null(strstr(all, WA_A)); /* never the tipster's number */
        free(all);
        json_decref(s);
    }
    /* the audit log verifies and holds request, approvals and the reveal */
    {
        const char *argv[] = {th_bin(), "audit", "verify", NULL};
        char *out = NULL;
        redisReply *rep;
        int opens = 0, approvals = 0, requests = 0;

        assert_int_equal(run_cli(argv, &out, &errs), 0);
        free(out);
        free(errs);
        rep = th_redis_cmd(&F->s.redis, "XRANGE js:{audit}:log - +");
        for (size_t i = 0; i < rep->elements; i++) {
            redisReply *fl = rep->element[i]->element[1];

            for (size_t k = 0; k + 1 < fl->elements; k += 2) {
                const char *e = fl->element[k + 1]->str;

                if (strcmp(fl->element[k]->str, "e") != 0 || strstr(e, rid) == NULL)
                    continue;
                requests += strstr(e, "\"tip.reveal.request\"") != NULL;
                approvals += strstr(e, "\"tip.reveal.approve\"") != NULL;
                opens += strstr(e, "\"tip.reveal.open\"") != NULL;
                assert_null(strstr(e, WA_A));
            }
        }
        freeReplyObject(rep);
        assert_int_equal(requests, 1);
        assert_int_equal(approvals, 2);
        assert_int_equal(opens, 1);
    }
    /* the notices */
    {
        const char *argv[] = {th_bin(), "tip", "reveal", "notices", "--for", "custodian:sp-cid",
                              NULL};
        char *out = NULL;

        assert_int_equal(run_cli(argv, &out, &errs), 0);
        assert_non_null(strstr(out, "\"revealed\""));
        assert_non_null(strstr(out, rid));
        free(out);
        free(errs);
    }
}

static void test_reveal_refusals(void **state)
{
    struct th_proc p;
    char log[800];
    char rid[GRP_TIP_CASE_LEN];
    char bad[800], damaged[800];
    char *errs = NULL;
    char *out = NULL;
    char *text;

    (void)state;
    /* an unknown case, an unknown request */
    {
        const char *argv[] = {th_bin(), "tip", "reveal", "request", "T-2222-22", "--reason",
                              REASON,   "--no-wait", NULL};

        assert_int_equal(run_cli(argv, &out, &errs), CORE_EX_NOINPUT);
        assert_non_null(strstr(errs, "unknown case"));
        free(out);
        free(errs);
    }
    assert_int_equal(approve("0123456789abcdef", "dig-patna", F->shares[0], &errs),
                     CORE_EX_NOINPUT);
    assert_non_null(strstr(errs, "unknown reveal request"));
    free(errs);
    /* a damaged file (a typo in the data) and a tampered share (well formed) */
    {
        struct cry_reveal_share *s = cry_reveal_share_new();
        struct core_err err;
        char t[CRY_REVEAL_SHARE_FILE_MAX];
        char *orig = th_read_file(F->shares[1], NULL);
        char *d = strstr(orig, "data: ") + 6;

        assert_int_equal(cry_reveal_share_read(F->shares[1], s, &err), 0);
        s->data[5] ^= 0x10;
        assert_true(cry_reveal_share_format(s, t, sizeof t) > 0);
        snprintf(bad, sizeof bad, "%s/tampered.share", F->s.dir);
        assert_int_equal(th_write_file(bad, t, strlen(t)), 0);
        d[3] = d[3] == '0' ? '1' : '0';
        snprintf(damaged, sizeof damaged, "%s/damaged.share", F->s.dir);
        assert_int_equal(th_write_file(damaged, orig, strlen(orig)), 0);
        free(orig);
        cry_reveal_share_free(s);
    }
    snprintf(log, sizeof log, "%s/reveal-refused.log", F->s.dir);
    start_request(log, &p, rid);
    assert_int_equal(approve(rid, "sp-cid", damaged, &errs), CORE_EX_DATAERR);
    assert_non_null(strstr(errs, "check does not match"));
    free(errs);
    assert_int_equal(approve(rid, "dig-patna", F->shares[0], &errs), 0);
    free(errs);
    /* the same custodian twice; a share used twice */
    assert_int_equal(approve(rid, "dig-patna", F->shares[0], &errs), CORE_EX_NOPERM);
    assert_non_null(strstr(errs, "already approved"));
    free(errs);
    assert_int_equal(approve(rid, "adg-hq", F->shares[0], &errs), CORE_EX_NOPERM);
    assert_non_null(strstr(errs, "already used"));
    free(errs);
    /* the tampered share is accepted as an approval, but the key check refuses */
    assert_int_equal(approve(rid, "sp-cid", bad, &errs), 0);
    free(errs);
    assert_int_equal(th_stop(&p, 0, 20000), CORE_EX_DATAERR);
    text = th_read_file(log, NULL);
    assert_non_null(strstr(text, "do not rebuild the reveal key"));
    assert_null(strstr(text, WA_A));
    assert_null(strstr(text, "REVEALED"));
    free(text);
    {
        const char *argv[] = {th_bin(), "tip", "reveal", "status", rid, NULL};

        assert_int_equal(run_cli(argv, &out, &errs), 0);
        assert_non_null(strstr(out, "refused"));
        free(out);
        free(errs);
    }
    /* an expired request */
    {
        const char *env[] = {F->env_redis, F->env_keys, "JANSEVA_PHONE_NUMBER_ID=" TH_SIM_PNID,
                             "JANSEVA_LOG_LEVEL=warn", "JANSEVA_TIP_REVEAL_TTL_S=1", NULL};
        const char *argv[] = {th_bin(), "tip", "reveal", "request", F->case_a.id, "--reason",
                              REASON,   "--no-wait", NULL};
        char *at;

        assert_int_equal(th_run(argv, env, NULL, 0, &out, &errs), 0);
        at = strstr(out, "reveal request ") + strlen("reveal request ");
        memcpy(rid, at, 16);
        rid[16] = '\0';
        free(out);
        free(errs);
        th_sleep_ms(1500);
        assert_int_equal(approve(rid, "dig-patna", F->shares[0], &errs), CORE_EX_TEMPFAIL);
        assert_non_null(strstr(errs, "expired"));
        free(errs);
    }
    /* every refusal is in the audit log */
    {
        redisReply *rep = th_redis_cmd(&F->s.redis, "XRANGE js:{audit}:log - +");
        int refusals = 0;

        for (size_t i = 0; i < rep->elements; i++) {
            redisReply *fl = rep->element[i]->element[1];

            for (size_t k = 0; k + 1 < fl->elements; k += 2)
                if (strcmp(fl->element[k]->str, "e") == 0 &&
                    strstr(fl->element[k + 1]->str, "\"tip.reveal.refuse\"") != NULL)
                    refusals++;
        }
        freeReplyObject(rep);
        /* unknown case, unknown request, damaged file, twice, reused, the key
         * check, expiry, the approval after it */
        assert_true(refusals >= 8);
    }
    /* after all of it, the tipster's member id is linked to nothing in Redis */
    assert_mid_unlinked(F->mid_a);
}

/* Retention by the CLI: no setting and no --older-than is a usage error;
 * a dry run counts; the purge (days from the setting) deletes every key of
 * the case, audited; the case is gone for officers. */
static void test_retention_cli(void **state)
{
    const char *cid = F->case_a.id;
    long long old = (long long)core_now_ms() - 45LL * 86400000;
    char *out = NULL;
    char *errs = NULL;
    redisReply *rep;
    int purges = 0;

    (void)state;
    {
        const char *argv[] = {th_bin(), "tip", "purge", NULL};

        assert_int_equal(run_cli(argv, &out, &errs), CORE_EX_USAGE);
        assert_non_null(strstr(errs, "tip_retention_days"));
        free(out);
        free(errs);
    }
    {
        const char *argv[] = {th_bin(), "tip", "close", cid, "--reason", "done", NULL};

        assert_int_equal(run_cli(argv, &out, &errs), 0);
        free(out);
        free(errs);
    }
    th_redis_int(&F->s.redis, "HSET js:tip:{%s} cl %lld ut %lld", cid, old, old);
    th_redis_int(&F->s.redis, "ZADD js:tip:all %lld %s", old, cid);
    {
        const char *argv[] = {th_bin(), "tip", "purge", "--older-than", "30", "--dry-run", NULL};

        assert_int_equal(run_cli(argv, &out, &errs), 0);
        assert_non_null(strstr(out, "would purge 1 closed cases"));
        free(out);
        free(errs);
    }
    assert_int_equal(th_redis_int(&F->s.redis, "EXISTS js:tip:{%s}", cid), 1);
    {
        const char *env[] = {F->env_redis, F->env_keys, "JANSEVA_PHONE_NUMBER_ID=" TH_SIM_PNID,
                             "JANSEVA_LOG_LEVEL=warn", "JANSEVA_TIP_RETENTION_DAYS=30", NULL};
        const char *argv[] = {th_bin(), "tip", "purge", "--json", NULL};
        json_t *j;

        assert_int_equal(th_run(argv, env, NULL, 0, &out, &errs), 0);
        j = json_loads(out, 0, NULL);
        assert_non_null(j);
        assert_int_equal(json_integer_value(json_object_get(j, "purged")), 1);
        assert_int_equal(json_integer_value(json_object_get(j, "days")), 30);
        json_decref(j);
        free(out);
        free(errs);
    }
    rep = th_redis_cmd(&F->s.redis, "KEYS js:tip:{%s}*", cid);
    assert_int_equal(rep->elements, 0);
    freeReplyObject(rep);
    {
        const char *argv[] = {th_bin(), "tip", "show", cid, NULL};

        assert_int_equal(run_cli(argv, &out, &errs), CORE_EX_NOINPUT);
        free(out);
        free(errs);
    }
    rep = th_redis_cmd(&F->s.redis, "XRANGE js:{audit}:log - +");
    for (size_t i = 0; i < rep->elements; i++) {
        redisReply *fl = rep->element[i]->element[1];

        for (size_t k = 0; k + 1 < fl->elements; k += 2)
            if (strcmp(fl->element[k]->str, "e") == 0 &&
                strstr(fl->element[k + 1]->str, "\"tip.case.purge\"") != NULL &&
                strstr(fl->element[k + 1]->str, cid) != NULL)
                purges++;
    }
    freeReplyObject(rep);
    assert_int_equal(purges, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tip_with_media),
        cmocka_unit_test(test_reply_round_trip),
        cmocka_unit_test(test_reply_outside_window),
        cmocka_unit_test(test_follow_up_by_pseudonym),
        cmocka_unit_test(test_reveal_2_of_3),
        cmocka_unit_test(test_reveal_refusals),
        cmocka_unit_test(test_retention_cli),
    };

    if (sodium_init() < 0)
        return 1;
    cry_reveal_init();
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
