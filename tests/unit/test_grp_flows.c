/*
 * tests/unit/test_grp_flows.c - the dialogue's "tip" and "alert" flows and
 * the dispatcher's send check (groups/tipflow.c, groups/alertflow.c,
 * groups/sendcheck.c), driven event by event against a real Redis with the
 * sample hierarchy, a tip store with a reveal key and the broadcast engine;
 * replies are read back from the outbox. The alert flow's menu row (officers
 * only) and area picker (pages, Hindi names, forged rows refused, the first
 * draft superseded) are here too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/util.h"
#include "crypto/mrec.h"
#include "crypto/reveal.h"
#include "gateway/outbox.h"
#include "groups/alertflow.h"
#include "groups/broadcast.h"
#include "groups/dialogue.h"
#include "groups/sendcheck.h"
#include "groups/tip.h"
#include "groups/tipflow.h"
#include "tests/unit/grp_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PN "106540352242922"
#define WA1 "919800000101"
#define WA2 "919800000102"
#define WA_SHO "919800030001" /* SHO Danapur */
#define WA_BO2 "919800030003" /* beat officer Danapur 2 */

static const char officers_csv[] = "code,unit,role,name,phone\n"
                                   "SHO-DNP,PAT-DNP,sho,SHO Danapur,919800030001\n"
                                   "BO-DNP1,PAT-DNP-1,beat,Beat officer Danapur 1,919800030002\n"
                                   "BO-DNP2,PAT-DNP-2,beat,Beat officer Danapur 2,919800030003\n";

struct fixture {
    char *dir;
    struct th_redis redis;
    struct core_redis *r;
    struct cry_keys *keys;
    struct cry_identity *id;
    struct core_cfg cfg;
    struct grp_tip *tip;
    struct grp_bc *bc;
    struct cry_reveal_meta rm;
    char shares[CRY_REVEAL_MAX_CUSTODIANS][CRY_REVEAL_PATH_MAX];
    struct grp_dialogue *dlg;
    unsigned seq;
    char cursor[64];
    char last_key[GW_EVENT_KEY_HEX];
    struct gw_event last_ev;
};

static struct cry_keys *test_keys(void)
{
    unsigned char root[32];
    unsigned char seed[32];
    struct cry_keys *k;

    for (int i = 0; i < 32; i++) {
        root[i] = (unsigned char)(i * 5);
        seed[i] = (unsigned char)(17 + i);
    }
    k = cry_keys_from_bytes(root, seed);
    cry_keys_set_version(k, 1);
    return k;
}

static void mid_of(struct fixture *f, const char *wa, char mid[CRY_MID_LEN])
{
    struct core_err err;

    if (cry_identity_resolve(f->id, f->r, wa, NULL, "Test Person", 1700000000, mid, NULL, &err) !=
        0)
        fail_msg("resolve: %s", err.msg);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct core_redis_opts o = {NULL, NULL, NULL, 5000};
    struct grp_dlg_opts dopts;
    struct core_err err;
    struct cry_reveal_params p = {3, 2, NULL, NULL};
    char keys_dir[600], share_dir[600];
    struct grp_import_opts io;
    struct grp_import_result res;

    f->dir = th_tmpdir("grp-flows");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    o.addr = f->redis.addr;
    f->r = core_redis_new(&o);
    f->keys = test_keys();
    f->id = cry_identity_new(f->keys);
    if (grp_fixture_import(f->r) != 0)
        return fprintf(stderr, "setup: import\n"), -1;
    grp_import_opts_init(&io, GRP_LOCALITY);
    if (grp_import_officers(f->r, f->id, NULL, "cli:test", "officers.csv", officers_csv,
                            strlen(officers_csv), &io, stderr, &res, &err) != 0)
        return fprintf(stderr, "setup: officers: %s\n", err.msg), -1;
    setenv("JANSEVA_PHONE_NUMBER_ID", PN, 1);
    if (core_cfg_load(&f->cfg, NULL, &err) != 0)
        return fprintf(stderr, "setup: config: %s\n", err.msg), -1;
    unsetenv("JANSEVA_PHONE_NUMBER_ID");
    f->tip = grp_tip_new(&f->cfg, f->keys, f->id);
    snprintf(keys_dir, sizeof keys_dir, "%s/keys", f->dir);
    snprintf(share_dir, sizeof share_dir, "%s/shares", f->dir);
    mkdir(keys_dir, 0700);
    if (cry_reveal_create(keys_dir, share_dir, &p, &f->rm, f->shares, &err) != 0)
        return fprintf(stderr, "setup: reveal: %s\n", err.msg), -1;
    grp_tip_set_reveal(f->tip, &f->rm);
    f->bc = grp_bc_new(&f->cfg, f->keys, NULL);
    grp_dlg_opts_default(&dopts);
    dopts.lookup_check_ms = 10;
    f->dlg = grp_dlg_new(&dopts, f->keys, f->id);
    grp_dlg_set_tips(f->dlg, f->tip);
    grp_dlg_set_broadcast(f->dlg, f->bc);
    snprintf(f->cursor, sizeof f->cursor, "0-0");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    grp_dlg_free(f->dlg);
    grp_bc_free(f->bc);
    grp_tip_free(f->tip);
    core_cfg_cleanup(&f->cfg);
    cry_identity_free(f->id);
    cry_keys_free(f->keys);
    core_redis_free(f->r);
    th_redis_stop(&f->redis, 0);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- events and replies (as in test_grp_dialogue.c) ---- */

static void deliver_key(struct fixture *f, const char *wa, struct gw_event *ev, const char *key)
{
    struct gw_router_ctx ctx;
    struct core_err err;

    memset(&ctx, 0, sizeof ctx);
    ctx.redis = f->r;
    ctx.entry_id = "1-1";
    ctx.req_id = "test";
    if (key != NULL)
        snprintf(ctx.event_key, sizeof ctx.event_key, "%s", key);
    else
        snprintf(ctx.event_key, sizeof ctx.event_key, "%032x", ++f->seq);
    mid_of(f, wa, ctx.member_id);
    ev->kind = GW_EVENT_MESSAGE;
    ev->phone_number_id = PN;
    ev->from = wa;
    if (ev->type == NULL)
        ev->type = "text";
    core_err_clear(&err);
    if (grp_dlg_handler(f->dlg, &ctx, ev, &err) != 0)
        fail_msg("handler: %s", err.msg);
    memcpy(f->last_key, ctx.event_key, sizeof f->last_key);
    f->last_ev = *ev;
}

static void say(struct fixture *f, const char *wa, const char *text)
{
    struct gw_event ev;

    memset(&ev, 0, sizeof ev);
    ev.text = text;
    deliver_key(f, wa, &ev, NULL);
}

static void tap(struct fixture *f, const char *wa, const char *id)
{
    struct gw_event ev;

    memset(&ev, 0, sizeof ev);
    ev.type = "interactive";
    ev.reply_id = id;
    ev.text = "(title)";
    deliver_key(f, wa, &ev, NULL);
}

static void replay(struct fixture *f, const char *wa)
{
    struct gw_event ev = f->last_ev;
    char key[GW_EVENT_KEY_HEX];

    memcpy(key, f->last_key, sizeof key);
    deliver_key(f, wa, &ev, key);
}

static json_t *replies(struct fixture *f)
{
    redisReply *rep = th_redis_cmd(&f->redis, "XRANGE js:out:{%s}:0 (%s +", PN, f->cursor);
    json_t *out = json_array();

    assert_non_null(rep);
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *fields = rep->element[i]->element[1];
        const char *kh = NULL;
        const redisReply *p = NULL;
        struct core_err err;
        json_t *payload;

        snprintf(f->cursor, sizeof f->cursor, "%s", rep->element[i]->element[0]->str);
        for (size_t k = 0; k + 1 < fields->elements; k += 2) {
            if (strcmp(fields->element[k]->str, "k") == 0)
                kh = fields->element[k + 1]->str;
            else if (strcmp(fields->element[k]->str, "p") == 0)
                p = fields->element[k + 1];
        }
        assert_non_null(kh);
        assert_non_null(p);
        payload = gw_outbox_open(f->keys, kh, (const unsigned char *)p->str, p->len, &err);
        if (payload == NULL)
            fail_msg("open: %s", err.msg);
        json_array_append(out, json_object_get(payload, "message"));
        json_decref(payload);
    }
    freeReplyObject(rep);
    return out;
}

static json_t *one_reply(struct fixture *f)
{
    json_t *all = replies(f);
    json_t *m;

    if (json_array_size(all) != 1)
        fail_msg("%zu replies, want 1", json_array_size(all));
    m = json_incref(json_array_get(all, 0));
    json_decref(all);
    return m;
}

static void no_reply(struct fixture *f)
{
    json_t *all = replies(f);

    if (json_array_size(all) != 0)
        fail_msg("%zu replies, want none", json_array_size(all));
    json_decref(all);
}

static const char *body(const json_t *m)
{
    const char *t = json_string_value(json_object_get(json_object_get(m, "text"), "body"));

    if (t == NULL)
        t = json_string_value(
            json_object_get(json_object_get(json_object_get(m, "interactive"), "body"), "text"));
    assert_non_null(t);
    return t;
}

static const char *button_id(const json_t *m, size_t i)
{
    json_t *b =
        json_object_get(json_object_get(json_object_get(m, "interactive"), "action"), "buttons");

    return json_string_value(json_object_get(json_object_get(json_array_get(b, i), "reply"), "id"));
}

/* The reply's body starts like catalogue text `id` (up to its first
 * placeholder or 30 bytes). */
static void starts_like(const json_t *m, const char *id, enum grp_lang lang)
{
    const char *want = grp_text_raw(lang, id);
    const char *ph;
    size_t n;

    assert_non_null(want);
    ph = strchr(want, '{');
    n = ph != NULL ? (size_t)(ph - want) : strlen(want);
    if (n > 30)
        n = 30;
    if (strncmp(body(m), want, n) != 0)
        fail_msg("reply \"%s\" is not %s", body(m), id);
}

static void expect(struct fixture *f, const char *id, enum grp_lang lang)
{
    json_t *m = one_reply(f);

    starts_like(m, id, lang);
    json_decref(m);
}

static void load(struct fixture *f, const char *wa, struct grp_member *m)
{
    char mid[CRY_MID_LEN];
    struct core_err err;

    mid_of(f, wa, mid);
    assert_int_equal(grp_member_load(f->r, mid, m, &err), 0);
}

static void join(struct fixture *f, const char *wa, const char *code)
{
    char mid[CRY_MID_LEN];
    struct core_err err;
    int moved;

    mid_of(f, wa, mid);
    assert_int_equal(grp_member_join(f->r, mid, code, grp_text_consent_version(), 1700000000,
                                     &moved, &err),
                     0);
    /* inside the 24 h window */
    {
        char li[24];

        snprintf(li, sizeof li, "%lld", (long long)(core_now_ms() / 1000));
        th_member_set(&f->redis, mid, "li", li, NULL);
    }
}

static long case_items(struct fixture *f, const char *ps)
{
    char cid[GRP_TIP_CASE_LEN];
    struct grp_tip_case c;
    struct core_err err;

    assert_int_equal(grp_tip_resolve_ref(f->r, ps, cid, &err), 0);
    assert_int_equal(grp_tip_load(f->r, cid, &c, &err), 0);
    return c.items;
}

/* ======================= pure parts ======================= */

static void test_keyword_lead_and_done(void **state)
{
    size_t rest = 0;
    struct grp_alert_cmd c;
    const char *s;

    (void)state;
    s = "ALERT Road closed near the school";
    assert_int_equal(grp_dlg_keyword_lead(s, strlen(s), &rest), GRP_KW_ALERT);
    assert_string_equal(s + rest, "Road closed near the school");
    s = "alert:\n  बाढ़ की चेतावनी";
    assert_int_equal(grp_dlg_keyword_lead(s, strlen(s), &rest), GRP_KW_ALERT);
    assert_string_equal(s + rest, "बाढ़ की चेतावनी");
    s = "उद्घोषणा कल बिजली नहीं रहेगी";
    assert_int_equal(grp_dlg_keyword_lead(s, strlen(s), &rest), GRP_KW_ALERT);
    assert_string_equal(s + rest, "कल बिजली नहीं रहेगी");
    s = "ALERT";
    assert_int_equal(grp_dlg_keyword_lead(s, strlen(s), &rest), GRP_KW_ALERT);
    assert_int_equal(rest, strlen(s));
    /* only ALERT leads a message; other keywords stay whole-message */
    s = "stop the car";
    assert_int_equal(grp_dlg_keyword_lead(s, strlen(s), &rest), GRP_KW_NONE);
    s = "TIP about a thief";
    assert_int_equal(grp_dlg_keyword_lead(s, strlen(s), &rest), GRP_KW_NONE);
    s = "alerted the police";
    assert_int_equal(grp_dlg_keyword_lead(s, strlen(s), &rest), GRP_KW_NONE);
    assert_int_equal(grp_dlg_keyword_lead("", 0, &rest), GRP_KW_NONE);

    assert_int_equal(grp_alertflow_parse("ALERT PAT-DNP-1 Road closed", 27, 1, &c), 1);
    assert_string_equal(c.scope, "PAT-DNP-1");
    assert_string_equal("ALERT PAT-DNP-1 Road closed" + c.text_off, "Road closed");
    assert_string_equal("ALERT PAT-DNP-1 Road closed" + c.scope_off, "PAT-DNP-1 Road closed");
    s = "ALERT 112 is the number";
    assert_int_equal(grp_alertflow_parse(s, strlen(s), 1, &c), 1);
    assert_string_equal(c.scope, ""); /* digits only: text */
    s = "ALERT road closed";
    assert_int_equal(grp_alertflow_parse(s, strlen(s), 1, &c), 1);
    assert_string_equal(c.scope, "");
    assert_int_equal(c.text_off, 6);
    s = "hello ALERT";
    assert_int_equal(grp_alertflow_parse(s, strlen(s), 1, &c), 0);
    s = "MNR-01 flood";
    assert_int_equal(grp_alertflow_parse(s, strlen(s), 0, &c), 1);
    assert_string_equal(c.scope, "MNR-01");

    assert_true(grp_dlg_done("DONE", 4));
    assert_true(grp_dlg_done("हो गया", strlen("हो गया")));
    assert_true(grp_dlg_done("Ho gaya!", 8));
    assert_false(grp_dlg_done("done with the car", 17));
    assert_false(grp_dlg_done("", 0));
}

/* ======================= the tip flow ======================= */

static void test_tip_hindi_session(void **state)
{
    struct fixture *f = *state;
    struct grp_member mb;
    struct gw_event ev;
    char ps[GRP_TIP_PSEUDONYM_LEN];
    char mid[CRY_MID_LEN];
    char cid[GRP_TIP_CASE_LEN];
    struct core_err err;
    int found = 0;
    json_t *m;

    join(f, WA1, "SRP-01");
    say(f, WA1, "गुप्त सूचना");
    m = one_reply(f);
    starts_like(m, "tip.intro", GRP_LANG_HI);
    assert_non_null(strstr(body(m), "WhatsApp (Meta)"));
    assert_int_equal(grp_tip_pseudonym_scan(body(m), strlen(body(m)), ps), 1);
    json_decref(m);
    load(f, WA1, &mb);
    assert_string_equal(mb.ds, GRP_TIPFLOW_STATE);
    /* the member record never holds the case id */
    mid_of(f, WA1, mid);
    assert_int_equal(grp_tip_session_get(f->tip, f->r, mid, cid, &found, &err), 0);
    assert_true(found);
    {
        /* the member's record does not name the case */
        struct cry_mrec *rec = malloc(sizeof *rec);

        assert_int_equal(th_member_load(&f->redis, mid, rec), 0);
        assert_true(rec->exists);
        assert_null(memmem(rec->buf, rec->buf_len, cid, strlen(cid)));
        free(rec);
    }
    assert_int_equal(case_items(f, ps), 0);
    /* text, a photo, a location: all in the case, each acknowledged with Done */
    say(f, WA1, "पुराने मिल के पास शराब की भट्ठी है");
    m = one_reply(f);
    starts_like(m, "tip.received", GRP_LANG_HI);
    assert_string_equal(button_id(m, 0), GRP_TIPFLOW_DONE_ID);
    json_decref(m);
    memset(&ev, 0, sizeof ev);
    ev.type = "image";
    ev.media_id = "media-1";
    ev.mime_type = "image/jpeg";
    ev.text = "फोटो";
    deliver_key(f, WA1, &ev, NULL);
    expect(f, "tip.received", GRP_LANG_HI);
    memset(&ev, 0, sizeof ev);
    ev.type = "location";
    ev.has_location = true;
    ev.latitude = 25.63;
    ev.longitude = 84.92;
    deliver_key(f, WA1, &ev, NULL);
    expect(f, "tip.received", GRP_LANG_HI);
    {
        /* the shared place routed the case (Sherpur: the same thana) */
        struct grp_tip_viewer v;
        struct grp_tip_case c;

        grp_tip_viewer_operator(&v, "cli:test");
        assert_int_equal(grp_tip_get(f->tip, f->r, &v, ps, &c, &err), 0);
        assert_string_equal(c.routing, "place");
        assert_string_equal(c.thana, "PAT-DNP");
    }
    /* a replayed event adds nothing and answers nothing */
    replay(f, WA1);
    no_reply(f);
    assert_int_equal(case_items(f, ps), 3);
    /* ALERT from a citizen in a tip: still the tip */
    say(f, WA1, "alert: वे रात में आते हैं");
    expect(f, "tip.received", GRP_LANG_HI);
    assert_int_equal(case_items(f, ps), 4);
    /* HELP is answered, the session goes on */
    say(f, WA1, "मदद");
    json_decref(one_reply(f));
    say(f, WA1, "गुरुवार की रात");
    expect(f, "tip.received", GRP_LANG_HI);
    assert_int_equal(case_items(f, ps), 5);
    /* हो गया: the closing message with the pseudonym; the session ends */
    say(f, WA1, "हो गया");
    m = one_reply(f);
    starts_like(m, "tip.done", GRP_LANG_HI);
    assert_non_null(strstr(body(m), ps));
    json_decref(m);
    assert_int_equal(grp_tip_session_get(f->tip, f->r, mid, cid, &found, &err), 0);
    assert_false(found);
    load(f, WA1, &mb);
    assert_string_equal(mb.ds, "");
    /* now an ordinary group post: not in the case */
    say(f, WA1, "गाँव में आज मेला है");
    expect(f, "post.received", GRP_LANG_HI);
    assert_int_equal(case_items(f, ps), 5);
    /* the old Done button: the session has ended, said plainly */
    tap(f, WA1, GRP_TIPFLOW_DONE_ID);
    expect(f, "tip.ended", GRP_LANG_HI);
    /* the pseudonym alone: the news of the case */
    say(f, WA1, ps);
    m = one_reply(f);
    assert_non_null(strstr(body(m), ps));
    json_decref(m);
    assert_int_equal(case_items(f, ps), 5);
    /* a sentence quoting it: added to the case */
    {
        char text[200];

        snprintf(text, sizeof text, "%s के बारे में: आज फिर गाड़ी आई थी", ps);
        say(f, WA1, text);
        expect(f, "tip.followup", GRP_LANG_HI);
        assert_int_equal(case_items(f, ps), 6);
        /* someone else quoting it learns nothing and adds nothing */
        join(f, WA2, "SRP-01");
        say(f, WA2, ps);
        expect(f, "tip.unknown", GRP_LANG_HI);
        say(f, WA2, text);
        expect(f, "post.received", GRP_LANG_HI);
        assert_int_equal(case_items(f, ps), 6);
    }
}

static void test_tip_stop_menu_and_unavailable(void **state)
{
    struct fixture *f = *state;
    struct grp_member mb;
    char ps[GRP_TIP_PSEUDONYM_LEN];
    json_t *m;

    join(f, WA2, "HLD-01");
    tap(f, WA2, "kw:lang");
    json_decref(one_reply(f));
    tap(f, WA2, "kw:english");
    json_decref(one_reply(f));
    /* the menu's row */
    tap(f, WA2, "kw:tip");
    m = one_reply(f);
    starts_like(m, "tip.intro", GRP_LANG_EN);
    assert_int_equal(grp_tip_pseudonym_scan(body(m), strlen(body(m)), ps), 1);
    json_decref(m);
    say(f, WA2, "A man sells stolen phones at the market");
    expect(f, "tip.received", GRP_LANG_EN);
    /* MENU replaces the state, the session keeps what is sent */
    say(f, WA2, "menu");
    json_decref(one_reply(f));
    load(f, WA2, &mb);
    assert_string_equal(mb.ds, "");
    say(f, WA2, "He comes on Mondays");
    expect(f, "tip.received", GRP_LANG_EN);
    assert_int_equal(case_items(f, ps), 2);
    /* STOP works during a tip, and ends it: nothing more is kept */
    say(f, WA2, "STOP");
    m = one_reply(f);
    json_decref(m);
    load(f, WA2, &mb);
    assert_int_equal(mb.st, GRP_MEMBER_LEFT);
    say(f, WA2, "hello?");
    json_decref(one_reply(f));
    assert_int_equal(case_items(f, ps), 2);
    /* without a reveal key the line is closed, and says to call 112 */
    {
        struct grp_tip *bare = grp_tip_new(&f->cfg, f->keys, f->id);

        grp_dlg_set_tips(f->dlg, bare);
        say(f, WA2, "TIP");
        m = one_reply(f);
        starts_like(m, "tip.unavailable", GRP_LANG_EN);
        assert_non_null(strstr(body(m), "112"));
        json_decref(m);
        grp_dlg_set_tips(f->dlg, NULL);
        say(f, WA2, "TIP");
        expect(f, "tip.soon", GRP_LANG_EN);
        grp_dlg_set_tips(f->dlg, f->tip);
        grp_tip_free(bare);
    }
}

/* ======================= the alert flow ======================= */

static void bc_state(struct fixture *f, const char *bid, char *out, size_t n)
{
    struct grp_bc_status st;
    struct core_err err;

    assert_int_equal(grp_bc_status(f->bc, f->r, NULL, bid, &st, &err), GRP_BC_OK);
    snprintf(out, n, "%s", st.state);
}

/* The preview: buttons alert:ok:<BID> / alert:no:<BID>; the BID into `bid`. */
static void expect_preview(struct fixture *f, char bid[GRP_BC_ID_LEN], const char *members)
{
    json_t *m = one_reply(f);
    const char *ok = button_id(m, 0);
    const char *no = button_id(m, 1);

    assert_non_null(ok);
    assert_non_null(no);
    assert_int_equal(strncmp(ok, GRP_ALERTFLOW_OK, strlen(GRP_ALERTFLOW_OK)), 0);
    assert_int_equal(strncmp(no, GRP_ALERTFLOW_NO, strlen(GRP_ALERTFLOW_NO)), 0);
    snprintf(bid, GRP_BC_ID_LEN, "%s", ok + strlen(GRP_ALERTFLOW_OK));
    assert_string_equal(no + strlen(GRP_ALERTFLOW_NO), bid);
    if (members != NULL && strstr(body(m), members) == NULL)
        fail_msg("preview \"%s\" lacks \"%s\"", body(m), members);
    json_decref(m);
}

static void test_alert_english_confirm_cancel(void **state)
{
    struct fixture *f = *state;
    char bid[GRP_BC_ID_LEN];
    char bid2[GRP_BC_ID_LEN];
    char id[64];
    char st[16];
    char mid[CRY_MID_LEN];
    struct grp_bc_status s;
    struct core_err err;
    struct grp_member mb;

    join(f, WA1, "SRP-01");
    join(f, WA2, "KHG-01");
    mid_of(f, WA_SHO, mid);
    th_member_set(&f->redis, mid, "lang", "en", NULL);
    say(f, WA_SHO, "ALERT Water supply will be off tomorrow from 9 to 12.");
    expect_preview(f, bid, "Members: 2");
    bc_state(f, bid, st, sizeof st);
    assert_string_equal(st, "draft");
    /* a replayed ALERT gives the same draft */
    replay(f, WA_SHO);
    no_reply(f);
    /* someone else's Confirm is refused */
    snprintf(id, sizeof id, "%s%s", GRP_ALERTFLOW_OK, bid);
    tap(f, WA_BO2, id);
    expect(f, "bc.not_yours", GRP_LANG_HI);
    bc_state(f, bid, st, sizeof st);
    assert_string_equal(st, "draft");
    /* a citizen's forged button: the normal dialogue, no alert text */
    tap(f, WA1, id);
    {
        json_t *m = one_reply(f);

        assert_null(strstr(body(m), "Alert"));
        json_decref(m);
    }
    tap(f, WA_SHO, id);
    expect(f, "bc.confirmed", GRP_LANG_EN);
    bc_state(f, bid, st, sizeof st);
    assert_string_equal(st, "confirmed");
    /* pressed twice: confirmed once */
    tap(f, WA_SHO, id);
    expect(f, "bc.already", GRP_LANG_EN);
    assert_int_equal(grp_bc_status(f->bc, f->r, NULL, bid, &s, &err), GRP_BC_OK);
    assert_string_equal(s.state, "confirmed");

    /* ALERT alone asks for the text; the answer makes the preview; Cancel */
    say(f, WA_SHO, "alert");
    expect(f, "bc.ask_text", GRP_LANG_EN);
    load(f, WA_SHO, &mb);
    assert_string_equal(mb.ds, GRP_ALERTFLOW_STATE);
    say(f, WA_SHO, "Flood warning for the river bank villages");
    expect_preview(f, bid2, NULL);
    assert_string_not_equal(bid, bid2);
    load(f, WA_SHO, &mb);
    assert_string_equal(mb.ds, "");
    snprintf(id, sizeof id, "%s%s", GRP_ALERTFLOW_NO, bid2);
    tap(f, WA_SHO, id);
    expect(f, "bc.cancelled", GRP_LANG_EN);
    bc_state(f, bid2, st, sizeof st);
    assert_string_equal(st, "cancelled");
    snprintf(id, sizeof id, "%s%s", GRP_ALERTFLOW_OK, bid2);
    tap(f, WA_SHO, id);
    expect(f, "bc.cancelled", GRP_LANG_EN);
    bc_state(f, bid2, st, sizeof st);
    assert_string_equal(st, "cancelled");

    /* a sub-unit by code: the scope is that beat (1 member) */
    say(f, WA_SHO, "ALERT PAT-DNP-1 Road closed at Khagaul crossing");
    expect_preview(f, bid2, "Members: 1");
    assert_int_equal(grp_bc_status(f->bc, f->r, NULL, bid2, &s, &err), GRP_BC_OK);
    assert_string_equal(s.reach.scope, "PAT-DNP-1");
    /* beyond the jurisdiction: refused */
    say(f, WA_SHO, "ALERT GAY-BDG Road closed");
    expect(f, "bc.outside", GRP_LANG_EN);
    /* a word that looks like a code but is no unit stays text */
    say(f, WA_SHO, "ALERT NH30 closed near Danapur");
    expect_preview(f, bid2, "NH30 closed");
    /* an expired draft is answered plainly */
    freeReplyObject(th_redis_cmd(&f->redis, "HSET js:bc:{%s} exp 1", bid2));
    snprintf(id, sizeof id, "%s%s", GRP_ALERTFLOW_OK, bid2);
    tap(f, WA_SHO, id);
    expect(f, "bc.expired", GRP_LANG_EN);
    bc_state(f, bid2, st, sizeof st);
    assert_string_not_equal(st, "confirmed");
}

static void test_alert_hindi_and_citizens(void **state)
{
    struct fixture *f = *state;
    char bid[GRP_BC_ID_LEN];
    json_t *m;

    join(f, WA1, "MNR-01");
    /* a beat officer in Hindi, by default their beat */
    say(f, WA_BO2, "उद्घोषणा कल मनेर में बिजली नहीं रहेगी");
    m = one_reply(f);
    assert_non_null(button_id(m, 0));
    assert_non_null(strstr(body(m), "मनेर"));
    json_decref(m);
    say(f, WA_BO2, "उद्घोषणा सड़क बंद है");
    expect_preview(f, bid, NULL);
    /* the beat officer cannot reach the thana */
    say(f, WA_BO2, "उद्घोषणा PAT-DNP सड़क बंद है");
    expect(f, "bc.outside", GRP_LANG_HI);
    /* a citizen's ALERT: the normal dialogue, no preview, no draft */
    say(f, WA1, "ALERT there is a fire in the market");
    m = one_reply(f);
    assert_null(button_id(m, 0));
    starts_like(m, "post.received", GRP_LANG_HI);
    json_decref(m);
    say(f, WA1, "ALERT");
    m = one_reply(f);
    assert_null(strstr(body(m), "उद्घोषणा का"));
    json_decref(m);
}

/* ---- the area picker ---- */

/* Row `i` of a list reply: its id and title (borrowed), NULL past the end. */
static const char *row_field(const json_t *m, size_t i, const char *field)
{
    json_t *sec = json_array_get(
        json_object_get(json_object_get(json_object_get(m, "interactive"), "action"), "sections"),
        0);

    json_t *row = json_array_get(json_object_get(sec, "rows"), i);

    return json_string_value(json_object_get(row, field));
}

static size_t n_rows(const json_t *m)
{
    json_t *sec = json_array_get(
        json_object_get(json_object_get(json_object_get(m, "interactive"), "action"), "sections"),
        0);

    return json_array_size(json_object_get(sec, "rows"));
}

/* The row whose id ends with ":<code>", or -1. */
static long row_of(const json_t *m, const char *code)
{
    for (size_t i = 0; i < n_rows(m); i++) {
        const char *id = row_field(m, i, "id");
        size_t n = strlen(id);

        if (n > strlen(code) && strcmp(id + n - strlen(code), code) == 0 &&
            id[n - strlen(code) - 1] == ':')
            return (long)i;
    }
    return -1;
}

/* The preview's "Choose area" id (button 3), asserted. */
static const char *pick_id(const json_t *m)
{
    const char *id = button_id(m, 2);

    assert_non_null(id);
    assert_int_equal(strncmp(id, GRP_ALERTFLOW_PICK, strlen(GRP_ALERTFLOW_PICK)), 0);
    return id;
}

static void test_alert_page(void **state)
{
    struct grp_alert_page pg;
    size_t seen;

    (void)state;
    grp_alertflow_page(0, 0, 0, &pg);
    assert_int_equal(pg.count, 0);
    assert_false(pg.back || pg.more);
    grp_alertflow_page(10, 0, 0, &pg);
    assert_int_equal(pg.count, 10);
    assert_false(pg.back || pg.more);
    grp_alertflow_page(11, 0, 0, &pg);
    assert_int_equal(pg.count, 9);
    assert_true(pg.more);
    assert_false(pg.back);
    assert_int_equal(pg.next, 9);
    grp_alertflow_page(11, 9, 0, &pg);
    assert_int_equal(pg.first, 9);
    assert_int_equal(pg.count, 2);
    assert_true(pg.back);
    assert_false(pg.more);
    assert_int_equal(pg.prev, 0);
    /* a "Wider area" row on the first page: one sub-unit fewer there */
    grp_alertflow_page(9, 0, 1, &pg);
    assert_int_equal(pg.count, 9);
    assert_false(pg.more);
    grp_alertflow_page(10, 0, 1, &pg);
    assert_int_equal(pg.count, 8);
    assert_true(pg.more);
    assert_int_equal(pg.next, 8);
    /* every sub-unit once, walking the "more" rows; never more than 10 rows
     * (the reserved ones included) */
    for (size_t n = 1; n < 60; n++) {
        for (size_t reserve = 0; reserve < 2; reserve++) {
            size_t off = 0;
            size_t last = 0;

            seen = 0;
            for (;;) {
                grp_alertflow_page(n, off, reserve, &pg);
                assert_int_equal(pg.first, seen);
                assert_true(pg.count + (size_t)pg.back + (size_t)pg.more +
                                (pg.first == 0 ? reserve : 0) <=
                            GRP_DLG_ROWS_MAX);
                assert_true(pg.count > 0);
                if (pg.back)
                    assert_int_equal(pg.prev, last);
                seen += pg.count;
                if (!pg.more)
                    break;
                last = pg.first;
                off = pg.next;
            }
            assert_int_equal(seen, n);
        }
    }
    /* a forged offset: the page that holds it; past the end: the last page */
    grp_alertflow_page(25, 12, 0, &pg);
    assert_int_equal(pg.first, 9);
    grp_alertflow_page(25, 1000, 0, &pg);
    assert_int_equal(pg.first + pg.count, 25);
    assert_false(pg.more);
}

static void test_alert_menu_row(void **state)
{
    struct fixture *f = *state;
    struct grp_member mb;
    json_t *m;
    char mid[CRY_MID_LEN];
    struct core_err err;

    join(f, WA1, "SRP-01");
    /* a citizen's menu: no alert row */
    say(f, WA1, "MENU");
    m = one_reply(f);
    assert_true(n_rows(m) > 0);
    assert_int_equal(row_of(m, "alert"), -1);
    json_decref(m);
    /* an officer's (in English): "Alert / उद्घोषणा" first */
    mid_of(f, WA_SHO, mid);
    assert_int_equal(grp_member_set_lang(f->r, mid, GRP_LANG_EN, &err), 0);
    say(f, WA_SHO, "menu");
    m = one_reply(f);
    assert_string_equal(row_field(m, 0, "id"), "kw:alert");
    assert_string_equal(row_field(m, 0, "title"), "Alert / उद्घोषणा");
    assert_true(n_rows(m) <= GRP_DLG_ROWS_MAX);
    json_decref(m);
    tap(f, WA_SHO, "kw:alert");
    expect(f, "bc.ask_text", GRP_LANG_EN);
    load(f, WA_SHO, &mb);
    assert_string_equal(mb.ds, GRP_ALERTFLOW_STATE);
    /* an officer who is also a member of a group: 7 rows */
    join(f, WA_BO2, "MNR-01");
    say(f, WA_BO2, "मेनू");
    m = one_reply(f);
    assert_string_equal(row_field(m, 0, "id"), "kw:alert");
    assert_int_equal(n_rows(m), 7);
    json_decref(m);
    /* a citizen's forged kw:alert: no alert conversation */
    tap(f, WA1, "kw:alert");
    m = one_reply(f);
    assert_null(strstr(body(m), "Write the text of the alert"));
    assert_null(strstr(body(m), "उद्घोषणा का पाठ"));
    json_decref(m);
    load(f, WA1, &mb);
    assert_string_not_equal(mb.ds, GRP_ALERTFLOW_STATE);
}

static void test_alert_area_picker(void **state)
{
    struct fixture *f = *state;
    char bid[GRP_BC_ID_LEN];
    char bid2[GRP_BC_ID_LEN];
    char bid3[GRP_BC_ID_LEN];
    char id[128];
    char st[16];
    char mid[CRY_MID_LEN];
    struct grp_bc_status s;
    struct core_err err;
    json_t *m;
    long r;

    join(f, WA1, "SRP-01");
    join(f, WA2, "KHG-01");
    mid_of(f, WA_SHO, mid);
    assert_int_equal(grp_member_set_lang(f->r, mid, GRP_LANG_EN, &err), 0);
    /* the SHO's whole thana, with "Choose area" */
    say(f, WA_SHO, "ALERT Road closed at the crossing");
    m = one_reply(f);
    snprintf(bid, sizeof bid, "%s", button_id(m, 0) + strlen(GRP_ALERTFLOW_OK));
    snprintf(id, sizeof id, "%s", pick_id(m));
    assert_non_null(strstr(body(m), "Members: 2"));
    json_decref(m);
    tap(f, WA_SHO, id);
    m = one_reply(f);
    starts_like(m, "bc.pick_body", GRP_LANG_EN);
    assert_int_equal(n_rows(m), 2); /* the thana's two beats */
    r = row_of(m, "PAT-DNP-1");
    assert_true(r >= 0);
    assert_string_equal(row_field(m, (size_t)r, "title"), "Danapur Beat 1 (Khagaul)");
    assert_non_null(strstr(row_field(m, (size_t)r, "description"), "Beat"));
    snprintf(id, sizeof id, "%s", row_field(m, (size_t)r, "id"));
    json_decref(m);
    /* a beat: its preview (1 member), the first draft cancelled */
    tap(f, WA_SHO, id);
    m = one_reply(f);
    snprintf(bid2, sizeof bid2, "%s", button_id(m, 0) + strlen(GRP_ALERTFLOW_OK));
    assert_non_null(strstr(body(m), "Members: 1"));
    assert_non_null(strstr(body(m), "Road closed at the crossing"));
    assert_string_not_equal(bid, bid2);
    json_decref(m);
    assert_int_equal(grp_bc_status(f->bc, f->r, NULL, bid2, &s, &err), GRP_BC_OK);
    assert_string_equal(s.reach.scope, "PAT-DNP-1");
    assert_string_equal(s.state, "draft");
    bc_state(f, bid, st, sizeof st);
    assert_string_equal(st, "cancelled");
    /* a replayed choice: the same draft, nothing answered twice */
    replay(f, WA_SHO);
    no_reply(f);
    assert_int_equal(grp_bc_status(f->bc, f->r, NULL, bid2, &s, &err), GRP_BC_OK);
    assert_string_equal(s.state, "draft");
    /* Send on the superseded preview: nothing goes */
    snprintf(id, sizeof id, "%s%s", GRP_ALERTFLOW_OK, bid);
    tap(f, WA_SHO, id);
    expect(f, "bc.cancelled", GRP_LANG_EN);
    bc_state(f, bid, st, sizeof st);
    assert_string_equal(st, "cancelled");
    /* forged rows: outside the jurisdiction, outside the draft's area, unknown */
    snprintf(id, sizeof id, "%s%s:GAY-BDG-1", GRP_ALERTFLOW_SUB, bid2);
    tap(f, WA_SHO, id);
    expect(f, "bc.outside", GRP_LANG_EN);
    snprintf(id, sizeof id, "%s%s:MNR-01", GRP_ALERTFLOW_SUB, bid2);
    tap(f, WA_SHO, id);
    expect(f, "bc.pick_invalid", GRP_LANG_EN);
    snprintf(id, sizeof id, "%s%s:NOWHERE-9", GRP_ALERTFLOW_SUB, bid2);
    tap(f, WA_SHO, id);
    expect(f, "bc.outside", GRP_LANG_EN);
    bc_state(f, bid2, st, sizeof st);
    assert_string_equal(st, "draft");
    /* malformed ids */
    tap(f, WA_SHO, GRP_ALERTFLOW_PICK "0123456789abcdef0:3");
    expect(f, "bc.expired", GRP_LANG_EN);
    tap(f, WA_SHO, GRP_ALERTFLOW_SUB "0123456789abcdef");
    expect(f, "bc.expired", GRP_LANG_EN);
    /* another officer's tap on the SHO's list */
    snprintf(id, sizeof id, "%s%s", GRP_ALERTFLOW_PICK, bid2);
    tap(f, WA_BO2, id);
    expect(f, "bc.not_yours", GRP_LANG_HI);
    /* one level further down: the beat's villages, after "Wider area" (the
     * beat is narrower than the SHO's thana) */
    tap(f, WA_SHO, id);
    m = one_reply(f);
    assert_int_equal(n_rows(m), 4);
    snprintf(id, sizeof id, "%s%s", GRP_ALERTFLOW_UP, bid2);
    assert_string_equal(row_field(m, 0, "id"), id);
    assert_string_equal(row_field(m, 0, "title"), "Wider area");
    r = row_of(m, "SHP-01");
    assert_true(r >= 0);
    snprintf(id, sizeof id, "%s", row_field(m, (size_t)r, "id"));
    /* Shivala has nobody: said so, and the beat's draft stays open */
    tap(f, WA_SHO, id);
    expect(f, "bc.empty", GRP_LANG_EN);
    bc_state(f, bid2, st, sizeof st);
    assert_string_equal(st, "draft");
    r = row_of(m, "KHG-01");
    assert_true(r >= 0);
    snprintf(id, sizeof id, "%s", row_field(m, (size_t)r, "id"));
    json_decref(m);
    tap(f, WA_SHO, id);
    m = one_reply(f);
    snprintf(bid3, sizeof bid3, "%s", button_id(m, 0) + strlen(GRP_ALERTFLOW_OK));
    /* a village has no sub-units: Send, Cancel and "Wider area" */
    snprintf(id, sizeof id, "%s%s", GRP_ALERTFLOW_UP, bid3);
    assert_string_equal(button_id(m, 2), id);
    assert_non_null(strstr(body(m), "Khagaul"));
    json_decref(m);
    bc_state(f, bid2, st, sizeof st);
    assert_string_equal(st, "cancelled");
    /* up: the beat again (a new draft), the village's cancelled */
    tap(f, WA_SHO, id);
    m = one_reply(f);
    snprintf(bid2, sizeof bid2, "%s", button_id(m, 0) + strlen(GRP_ALERTFLOW_OK));
    assert_non_null(strstr(body(m), "Road closed at the crossing"));
    json_decref(m);
    assert_int_equal(grp_bc_status(f->bc, f->r, NULL, bid2, &s, &err), GRP_BC_OK);
    assert_string_equal(s.reach.scope, "PAT-DNP-1");
    bc_state(f, bid3, st, sizeof st);
    assert_string_equal(st, "cancelled");
    /* and up from the beat's list: the whole thana, where it stops */
    snprintf(id, sizeof id, "%s%s", GRP_ALERTFLOW_UP, bid2);
    tap(f, WA_SHO, id);
    m = one_reply(f);
    snprintf(bid3, sizeof bid3, "%s", button_id(m, 0) + strlen(GRP_ALERTFLOW_OK));
    assert_non_null(strstr(body(m), "Members: 2"));
    json_decref(m);
    assert_int_equal(grp_bc_status(f->bc, f->r, NULL, bid3, &s, &err), GRP_BC_OK);
    assert_string_equal(s.reach.scope, "PAT-DNP");
    snprintf(id, sizeof id, "%s%s", GRP_ALERTFLOW_PICK, bid3);
    tap(f, WA_SHO, id);
    m = one_reply(f);
    assert_int_equal(n_rows(m), 2); /* the SHO's own thana: no "Wider area" */
    json_decref(m);
    snprintf(id, sizeof id, "%s%s", GRP_ALERTFLOW_UP, bid3); /* forged */
    tap(f, WA_SHO, id);
    expect(f, "bc.up_none", GRP_LANG_EN);
    bc_state(f, bid3, st, sizeof st);
    assert_string_equal(st, "draft");
    tap(f, WA_SHO, GRP_ALERTFLOW_UP "0123456789abcdef0");
    expect(f, "bc.expired", GRP_LANG_EN);
    snprintf(id, sizeof id, "%s%s", GRP_ALERTFLOW_OK, bid3);
    tap(f, WA_SHO, id);
    expect(f, "bc.confirmed", GRP_LANG_EN);
    /* after Send, the area can no longer be changed */
    snprintf(id, sizeof id, "%s%s", GRP_ALERTFLOW_PICK, bid3);
    tap(f, WA_SHO, id);
    expect(f, "bc.already", GRP_LANG_EN);
}

static void test_alert_area_picker_hindi_pages(void **state)
{
    struct fixture *f = *state;
    char csv[4096];
    size_t n = 0;
    char bid[GRP_BC_ID_LEN];
    char id[128];
    char more[128];
    struct grp_import_opts io;
    struct grp_import_result res;
    struct core_err err;
    json_t *m;
    long r;

    /* 12 more villages in beat Danapur 2: 15 in all, two pages */
    n += (size_t)snprintf(csv + n, sizeof csv - n,
                          "code,parent,name_en,name_hi,type,pincode,population,lat,lon\n");
    for (int i = 1; i <= 12; i++)
        n += (size_t)snprintf(csv + n, sizeof csv - n,
                              "XV-%02d,PAT-DNP-2,Extra Village %d,अतिरिक्त गाँव %d,village,801108,"
                              "100,25.64,84.88\n",
                              i, i, i);
    grp_import_opts_init(&io, GRP_LOCALITY);
    if (grp_import(f->r, "extra.csv", csv, n, &io, stderr, &res, &err) != 0)
        fail_msg("import: %s", err.msg);
    join(f, WA1, "XV-11");
    /* the beat officer in Hindi: उद्घोषणा, the villages in Hindi */
    say(f, WA_BO2, "उद्घोषणा कल बिजली नहीं रहेगी");
    m = one_reply(f);
    snprintf(bid, sizeof bid, "%s", button_id(m, 0) + strlen(GRP_ALERTFLOW_OK));
    snprintf(id, sizeof id, "%s", pick_id(m));
    json_decref(m);
    tap(f, WA_BO2, id);
    m = one_reply(f);
    starts_like(m, "bc.pick_body", GRP_LANG_HI);
    assert_int_equal(n_rows(m), GRP_DLG_ROWS_MAX);
    assert_string_equal(row_field(m, 9, "title"), grp_text_raw(GRP_LANG_HI, "bc.pick_more.row"));
    assert_string_equal(row_field(m, 0, "title"), "हल्दी छपरा"); /* HLD-01 sorts first */
    assert_int_equal(row_of(m, "XV-11"), -1);
    snprintf(more, sizeof more, "%s", row_field(m, 9, "id"));
    json_decref(m);
    tap(f, WA_BO2, more);
    m = one_reply(f);
    assert_int_equal(n_rows(m), 7); /* back + the last 6 */
    assert_string_equal(row_field(m, 0, "title"), grp_text_raw(GRP_LANG_HI, "bc.pick_back.row"));
    r = row_of(m, "XV-11");
    assert_true(r > 0);
    assert_string_equal(row_field(m, (size_t)r, "title"), "अतिरिक्त गाँव 11");
    assert_non_null(strstr(row_field(m, (size_t)r, "description"), "गाँव"));
    snprintf(id, sizeof id, "%s", row_field(m, (size_t)r, "id"));
    /* back: the first page again */
    {
        char back[128];

        snprintf(back, sizeof back, "%s", row_field(m, 0, "id"));
        json_decref(m);
        tap(f, WA_BO2, back);
        m = one_reply(f);
        assert_string_equal(row_field(m, 9, "id"), more);
        json_decref(m);
    }
    tap(f, WA_BO2, id);
    m = one_reply(f);
    assert_non_null(strstr(body(m), "सदस्य: 1"));
    assert_non_null(strstr(body(m), "अतिरिक्त गाँव 11"));
    json_decref(m);
    /* the beat officer cannot reach the thana, even by a forged row */
    snprintf(id, sizeof id, "%s%s:PAT-DNP", GRP_ALERTFLOW_SUB, bid);
    tap(f, WA_BO2, id);
    expect(f, "bc.cancelled", GRP_LANG_HI); /* that draft was superseded */
    {
        char bid2[GRP_BC_ID_LEN];

        say(f, WA_BO2, "उद्घोषणा दूसरी सूचना");
        m = one_reply(f);
        snprintf(bid2, sizeof bid2, "%s", button_id(m, 0) + strlen(GRP_ALERTFLOW_OK));
        json_decref(m);
        snprintf(id, sizeof id, "%s%s:PAT-DNP", GRP_ALERTFLOW_SUB, bid2);
        tap(f, WA_BO2, id);
        expect(f, "bc.outside", GRP_LANG_HI);
        snprintf(id, sizeof id, "%s%s:KHG-01", GRP_ALERTFLOW_SUB, bid2);
        tap(f, WA_BO2, id);
        expect(f, "bc.outside", GRP_LANG_HI);
    }
}

/* ======================= the send check ======================= */

static void test_send_check(void **state)
{
    struct fixture *f = *state;
    char m1[CRY_MID_LEN];
    char m2[CRY_MID_LEN];
    char off[CRY_MID_LEN];
    const char *reason = NULL;
    struct core_err err;

    join(f, WA1, "SRP-01");
    join(f, WA2, "SRP-01");
    mid_of(f, WA1, m1);
    mid_of(f, WA2, m2);
    mid_of(f, WA_SHO, off);
    assert_int_equal(grp_sendcheck(NULL, f->r, m1, "", "", &reason, &err), 1);
    assert_int_equal(grp_sendcheck(NULL, f->r, m1, "", "SRP-01", &reason, &err), 1);
    /* a relay for a group the member is not in */
    assert_int_equal(grp_sendcheck(NULL, f->r, m1, "", "HLD-01", &reason, &err), 0);
    assert_string_equal(reason, "left_group");
    /* an officer without a group still gets alert-lane reports */
    assert_int_equal(grp_sendcheck(NULL, f->r, off, "", "", &reason, &err), 1);
    /* STOP */
    assert_int_equal(grp_member_leave(f->r, m2, &err), 0);
    assert_int_equal(grp_sendcheck(NULL, f->r, m2, "", "", &reason, &err), 0);
    assert_string_equal(reason, "stopped");
    /* banned */
    assert_int_equal(grp_member_set_state(f->r, m1, GRP_MEMBER_BANNED, &err), 0);
    assert_int_equal(grp_sendcheck(NULL, f->r, m1, "", "", &reason, &err), 0);
    assert_string_equal(reason, "banned");
    assert_int_equal(grp_member_set_state(f->r, m1, GRP_MEMBER_ACTIVE, &err), 0);
    /* a cancelled broadcast */
    freeReplyObject(th_redis_cmd(&f->redis, "HSET js:bc:{00112233aabbccdd} st running"));
    assert_int_equal(grp_sendcheck(NULL, f->r, m1, "00112233aabbccdd", "", &reason, &err), 1);
    freeReplyObject(th_redis_cmd(&f->redis, "HSET js:bc:{00112233aabbccdd} st cancelled"));
    assert_int_equal(grp_sendcheck(NULL, f->r, m1, "00112233aabbccdd", "", &reason, &err), 0);
    assert_string_equal(reason, "cancelled");
    /* Redis down: an error the dispatcher retries */
    th_redis_stop(&f->redis, 1);
    assert_int_equal(grp_sendcheck(NULL, f->r, m1, "00112233aabbccdd", "", &reason, &err), -1);
    assert_int_equal(err.code, CORE_EX_UNAVAILABLE);
    assert_int_equal(th_redis_start(&f->redis, f->dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyword_lead_and_done),
        cmocka_unit_test_setup_teardown(test_tip_hindi_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tip_stop_menu_and_unavailable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_english_confirm_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_hindi_and_citizens, setup, teardown),
        cmocka_unit_test(test_alert_page),
        cmocka_unit_test_setup_teardown(test_alert_menu_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_area_picker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_area_picker_hindi_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_check, setup, teardown),
    };

    cry_reveal_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
