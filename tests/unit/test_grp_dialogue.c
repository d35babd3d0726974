/*
 * tests/unit/test_grp_dialogue.c - the dialogue handler on a real
 * redis-server with the sample hierarchy, driven event by event as the
 * router would (identity first, then grp_dlg_handler), reading back what it
 * queued in the outbox (opened with the keys): keyword parsing in both
 * scripts, PIN and yes/no parsing, page arithmetic and the limits of list
 * and button bodies; then conversations: first contact, join by name /
 * PIN / location / menus with paging, confirmation and consent, move, STOP
 * (nothing more), LANG, HELP, unknown input, media, TIP without a tip flow,
 * posts of active members, expired states, stale and forged reply ids, and
 * replays that never answer twice.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/util.h"
#include "gateway/outbox.h"
#include "groups/dialogue.h"
#include "groups/enrol.h"
#include "tests/unit/grp_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PN "106540352242922"
#define WA1 "919800000101"
#define WA2 "919800000102"

/* ======================= pure parsers ======================= */

static void expect_kw(const char *text, enum grp_keyword kw)
{
    enum grp_keyword got = grp_dlg_keyword(text, strlen(text));

    if (got != kw)
        fail_msg("\"%s\": keyword %s, want %s", text, grp_keyword_name(got), grp_keyword_name(kw));
}

struct word_check {
    int n;
};

/* Every word of words.tsv means what its line says. */
static void check_word(void *ud, const char *kind, const char *word)
{
    struct word_check *c = ud;

    c->n++;
    if (strcmp(kind, "yes") == 0 || strcmp(kind, "no") == 0) {
        if (grp_dlg_yes_no(word, strlen(word)) != (kind[0] == 'y'))
            fail_msg("\"%s\" is not read as %s", word, kind);
        return;
    }
    if (strcmp(kind, "done") == 0) {
        if (!grp_dlg_done(word, strlen(word)))
            fail_msg("\"%s\" is not read as done", word);
        if (grp_dlg_keyword(word, strlen(word)) != GRP_KW_NONE)
            fail_msg("\"%s\" (done) is also a keyword", word);
        return;
    }
    if (strcmp(kind, "pin") == 0 || strcmp(kind, "filler") == 0)
        return;
    if (strcmp(grp_keyword_name(grp_dlg_keyword(word, strlen(word))), kind) != 0)
        fail_msg("\"%s\" is not the keyword %s but %s", word, kind,
                 grp_keyword_name(grp_dlg_keyword(word, strlen(word))));
}

static void test_keywords(void **state)
{
    struct word_check c = {0};

    (void)state;
    grp_text_words(check_word, &c);
    assert_true(c.n > 100);
    expect_kw("STOP", GRP_KW_STOP);
    expect_kw("stop", GRP_KW_STOP);
    expect_kw("Stop!", GRP_KW_STOP);
    expect_kw("  stop.  ", GRP_KW_STOP);
    expect_kw("ＳＴＯＰ", GRP_KW_STOP); /* fullwidth */
    expect_kw("रोकें", GRP_KW_STOP);
    expect_kw("रोको", GRP_KW_STOP);
    expect_kw("रुकें", GRP_KW_STOP);
    expect_kw("रोकें 🙏", GRP_KW_STOP);
    expect_kw("।रोकें।", GRP_KW_STOP);
    expect_kw("roken", GRP_KW_STOP);
    expect_kw("ROKO", GRP_KW_STOP);
    expect_kw("बंद करें", GRP_KW_STOP);
    expect_kw("HELP", GRP_KW_HELP);
    expect_kw("मदद", GRP_KW_HELP);
    expect_kw("help?", GRP_KW_HELP);
    expect_kw("LANG", GRP_KW_LANG);
    expect_kw("भाषा", GRP_KW_LANG);
    expect_kw("JOIN", GRP_KW_JOIN);
    expect_kw("जुड़ें", GRP_KW_JOIN); /* with nukta */
    expect_kw("जुडें", GRP_KW_JOIN); /* without */
    expect_kw("Join", GRP_KW_JOIN);
    expect_kw("MOVE", GRP_KW_MOVE);
    expect_kw("बदलें", GRP_KW_MOVE);
    expect_kw("change group", GRP_KW_MOVE);
    expect_kw("MENU", GRP_KW_MENU);
    expect_kw("मेनू", GRP_KW_MENU);
    expect_kw("TIP", GRP_KW_TIP);
    expect_kw("गुप्त सूचना", GRP_KW_TIP);
    expect_kw("ALERT", GRP_KW_ALERT);
    expect_kw("उद्घोषणा", GRP_KW_ALERT);
    expect_kw("हिंदी", GRP_KW_HINDI);
    expect_kw("हिन्दी", GRP_KW_HINDI);
    expect_kw("English", GRP_KW_ENGLISH);
    expect_kw("अंग्रेज़ी", GRP_KW_ENGLISH);
    expect_kw("अंग्रेजी", GRP_KW_ENGLISH);
    /* not keywords */
    expect_kw("stop the car near the school", GRP_KW_NONE);
    expect_kw("रोकें नहीं", GRP_KW_NONE);
    expect_kw("helpful", GRP_KW_NONE);
    expect_kw("s t o p x", GRP_KW_NONE);
    expect_kw("stopp", GRP_KW_NONE);
    expect_kw("", GRP_KW_NONE);
    expect_kw("🙏", GRP_KW_NONE);
    expect_kw("hi", GRP_KW_NONE);
    assert_int_equal(grp_dlg_keyword(NULL, 0), GRP_KW_NONE);
    {
        char long_text[2000];

        memset(long_text, 'x', sizeof long_text - 1);
        long_text[sizeof long_text - 1] = '\0';
        memcpy(long_text, "stop", 4);
        expect_kw(long_text, GRP_KW_NONE);
    }
    /* reply ids */
    assert_int_equal(grp_dlg_keyword_id("kw:stop"), GRP_KW_STOP);
    assert_int_equal(grp_dlg_keyword_id("kw:english"), GRP_KW_ENGLISH);
    assert_int_equal(grp_dlg_keyword_id("kw:report"), GRP_KW_REPORT);
    assert_int_equal(grp_dlg_keyword_id("kw:"), GRP_KW_NONE);
    assert_int_equal(grp_dlg_keyword_id("kw:STOP"), GRP_KW_NONE);
    assert_int_equal(grp_dlg_keyword_id("join:no"), GRP_KW_NONE);
    assert_int_equal(grp_dlg_keyword_id(NULL), GRP_KW_NONE);
    for (int i = 1; i < GRP_KW_COUNT; i++) {
        char id[32];

        snprintf(id, sizeof id, "kw:%s", grp_keyword_name((enum grp_keyword)i));
        assert_int_equal(grp_dlg_keyword_id(id), i);
    }
}

static void test_yes_no_pin(void **state)
{
    char pin[7];

    (void)state;
    assert_int_equal(grp_dlg_yes_no("हाँ", strlen("हाँ")), 1);
    assert_int_equal(grp_dlg_yes_no("हां", strlen("हां")), 1);
    assert_int_equal(grp_dlg_yes_no("Yes!", 4), 1);
    assert_int_equal(grp_dlg_yes_no("ji haan", 7), 1);
    assert_int_equal(grp_dlg_yes_no("नहीं", strlen("नहीं")), 0);
    assert_int_equal(grp_dlg_yes_no("No.", 3), 0);
    assert_int_equal(grp_dlg_yes_no("haldi chhapra", 13), -1);
    assert_int_equal(grp_dlg_yes_no("", 0), -1);
    assert_int_equal(grp_dlg_pincode("801108", 6, pin), 1);
    assert_string_equal(pin, "801108");
    assert_int_equal(grp_dlg_pincode(" 801 108 ", 9, pin), 1);
    assert_int_equal(grp_dlg_pincode("PIN 801108", 10, pin), 1);
    assert_int_equal(grp_dlg_pincode("pin code: 801-108", 17, pin), 1);
    {
        static const char deva[] = "मेरा पिन कोड ८०११०८ है";

        assert_int_equal(grp_dlg_pincode(deva, strlen(deva), pin), 1);
    }
    assert_string_equal(pin, "801108");
    assert_int_equal(grp_dlg_pincode("80110", 5, pin), 0);
    assert_int_equal(grp_dlg_pincode("8011088", 7, pin), 0);
    assert_int_equal(grp_dlg_pincode("012345", 6, pin), 0);      /* PINs do not start with 0 */
    assert_int_equal(grp_dlg_pincode("9198000001", 10, pin), 0); /* a phone number */
    assert_int_equal(grp_dlg_pincode("ward 801108", 11, pin), 0);
    assert_int_equal(grp_dlg_pincode("", 0, pin), 0);
    assert_string_equal(pin, "");
}

static void test_pages(void **state)
{
    size_t first;
    size_t count;
    int more;

    (void)state;
    grp_dlg_page(0, 0, &first, &count, &more);
    assert_int_equal(count, 0);
    grp_dlg_page(10, 0, &first, &count, &more);
    assert_int_equal(count, 10); /* ten fit without "More" */
    assert_false(more);
    grp_dlg_page(11, 0, &first, &count, &more);
    assert_int_equal(count, 9);
    assert_true(more);
    grp_dlg_page(11, 9, &first, &count, &more);
    assert_int_equal(first, 9);
    assert_int_equal(count, 2);
    assert_false(more);
    grp_dlg_page(28, 9, &first, &count, &more);
    assert_int_equal(count, 9);
    assert_true(more);
    grp_dlg_page(28, 18, &first, &count, &more);
    assert_int_equal(count, 10);
    assert_false(more);
    /* past the end: the last page */
    grp_dlg_page(28, 500, &first, &count, &more);
    assert_int_equal(first, 27);
    assert_int_equal(count, 1);
    grp_dlg_page(5, 9, &first, &count, &more);
    assert_int_equal(first, 0);
    assert_int_equal(count, 5);
    /* every page of every size: within limits, rows covered once */
    for (size_t n = 1; n < 200; n++) {
        size_t off = 0;
        size_t covered = 0;

        for (;;) {
            grp_dlg_page(n, off, &first, &count, &more);
            assert_int_equal(first, off);
            assert_true(count + (size_t)more <= GRP_DLG_ROWS_MAX);
            covered += count;
            if (!more)
                break;
            off = first + count;
        }
        assert_int_equal(covered, n);
    }
}

static size_t chars(const char *s)
{
    return grp_text_chars(s, strlen(s));
}

static void test_bodies_within_limits(void **state)
{
    struct grp_dlg_option rows[15];
    char ids[15][16];
    struct core_buf title;
    struct core_buf desc;
    char body[20000];
    json_t *j;
    json_t *r;
    size_t i;
    json_t *e;

    (void)state;
    core_buf_init(&title, 0);
    core_buf_init(&desc, 0);
    for (i = 0; i < 30; i++)
        core_buf_puts(&title, "गाँव");
    for (i = 0; i < 50; i++)
        core_buf_puts(&desc, "ab ");
    memset(body, 'x', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    for (i = 0; i < 15; i++) {
        snprintf(ids[i], sizeof ids[i], "id%zu", i % 12); /* 3 duplicates */
        rows[i] = (struct grp_dlg_option){ids[i], title.data, desc.data};
    }
    j = grp_dlg_list_json(body, "a button label that is far too long", rows, 15);
    assert_non_null(j);
    r = json_object_get(json_object_get(json_object_get(j, "interactive"), "action"), "sections");
    r = json_object_get(json_array_get(r, 0), "rows");
    assert_int_equal(json_array_size(r), 10);
    json_array_foreach(r, i, e)
    {
        assert_true(chars(json_string_value(json_object_get(e, "title"))) <= 24);
        assert_true(chars(json_string_value(json_object_get(e, "description"))) <= 72);
    }
    assert_true(chars(json_string_value(json_object_get(
                    json_object_get(json_object_get(j, "interactive"), "body"), "text"))) <= 4096);
    assert_true(chars(json_string_value(json_object_get(
                    json_object_get(json_object_get(j, "interactive"), "action"), "button"))) <=
                20);
    json_decref(j);
    j = grp_dlg_buttons_json(body, rows, 3);
    assert_non_null(j);
    assert_true(chars(json_string_value(json_object_get(
                    json_object_get(json_object_get(j, "interactive"), "body"), "text"))) <= 1024);
    r = json_object_get(json_object_get(json_object_get(j, "interactive"), "action"), "buttons");
    assert_int_equal(json_array_size(r), 3);
    json_array_foreach(r, i, e)
    {
        assert_true(
            chars(json_string_value(json_object_get(json_object_get(e, "reply"), "title"))) <= 20);
    }
    json_decref(j);
    assert_null(grp_dlg_buttons_json("b", rows, 4));
    assert_null(grp_dlg_buttons_json("b", rows, 0));
    assert_null(grp_dlg_list_json("b", "x", rows, 0));
    core_buf_cleanup(&title);
    core_buf_cleanup(&desc);
}

/* ======================= conversations ======================= */

struct fixture {
    char *dir;
    struct th_redis redis;
    struct core_redis *r;
    struct cry_keys *keys;
    struct cry_identity *id;
    struct grp_dialogue *dlg;
    unsigned seq;
    char cursor[64]; /* last outbox entry read */
    char last_key[GW_EVENT_KEY_HEX];
    struct gw_event last_ev;
};

static struct cry_keys *test_keys(void)
{
    unsigned char root[32];
    unsigned char seed[32];
    struct cry_keys *k;

    for (int i = 0; i < 32; i++) {
        root[i] = (unsigned char)(i * 7);
        seed[i] = (unsigned char)(99 + i);
    }
    k = cry_keys_from_bytes(root, seed);
    cry_keys_set_version(k, 1);
    return k;
}

/* 25 more villages under Bihta's beat: a thana of 28 localities. */
static int import_more(struct core_redis *r)
{
    struct core_buf b;
    struct grp_import_opts o;
    struct grp_import_result res;
    struct core_err err;
    int rc;

    core_buf_init(&b, 0);
    core_buf_puts(&b, "code,parent,name_en,name_hi,type,pincode\n");
    for (int i = 1; i <= 25; i++)
        core_buf_printf(&b, "BXT-%02d,PAT-BHT-1,Bihta Tola %02d,बिहटा टोला %02d,village,801103\n",
                        i, i, i);
    grp_import_opts_init(&o, GRP_LOCALITY);
    rc = grp_import(r, "more", b.data, b.len, &o, stderr, &res, &err);
    core_buf_cleanup(&b);
    return rc;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct core_redis_opts o = {NULL, NULL, NULL, 5000};
    struct grp_dlg_opts dopts;

    f->dir = th_tmpdir("grp-dialogue");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    o.addr = f->redis.addr;
    f->r = core_redis_new(&o);
    if (grp_fixture_import(f->r) != 0 || import_more(f->r) != 0)
        return -1;
    f->keys = test_keys();
    f->id = cry_identity_new(f->keys);
    grp_dlg_opts_default(&dopts);
    dopts.lookup_check_ms = 10;
    f->dlg = grp_dlg_new(&dopts, f->keys, f->id);
    snprintf(f->cursor, sizeof f->cursor, "0-0");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    grp_dlg_free(f->dlg);
    cry_identity_free(f->id);
    cry_keys_free(f->keys);
    core_redis_free(f->r);
    th_redis_stop(&f->redis, 0);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void mid_of(struct fixture *f, const char *wa, char mid[CRY_MID_LEN])
{
    struct core_err err;

    if (cry_identity_resolve(f->id, f->r, wa, NULL, "Test Citizen", 1700000000, mid, NULL, &err) !=
        0)
        fail_msg("resolve: %s", err.msg);
}

/* Deliver `ev` from `wa` as the router does (key given, or a fresh one). */
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

static void share_location(struct fixture *f, const char *wa, double lat, double lon)
{
    struct gw_event ev;

    memset(&ev, 0, sizeof ev);
    ev.type = "location";
    ev.has_location = true;
    ev.latitude = lat;
    ev.longitude = lon;
    deliver_key(f, wa, &ev, NULL);
}

static void send_type(struct fixture *f, const char *wa, const char *type)
{
    struct gw_event ev;

    memset(&ev, 0, sizeof ev);
    ev.type = type;
    deliver_key(f, wa, &ev, NULL);
}

/* The replay of the last event, same event key. */
static void replay(struct fixture *f, const char *wa)
{
    struct gw_event ev = f->last_ev;
    char key[GW_EVENT_KEY_HEX];

    memcpy(key, f->last_key, sizeof key);
    deliver_key(f, wa, &ev, key);
}

/* Replies queued since the last call (array of Graph bodies, new ref). */
static json_t *replies(struct fixture *f)
{
    redisReply *rep = th_redis_cmd(&f->redis, "XRANGE js:out:{%s}:0 (%s +", PN, f->cursor);
    json_t *out = json_array();

    assert_non_null(rep);
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *e = rep->element[i];
        const redisReply *fields = e->element[1];
        const char *kh = NULL;
        const redisReply *p = NULL;
        struct core_err err;
        json_t *payload;

        snprintf(f->cursor, sizeof f->cursor, "%s", e->element[0]->str);
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

/* Exactly one new reply; returned (new ref). Checks WhatsApp's limits. */
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

static const char *itype(const json_t *m)
{
    const char *t = json_string_value(json_object_get(json_object_get(m, "interactive"), "type"));

    return t != NULL ? t : json_string_value(json_object_get(m, "type"));
}

static json_t *rows(const json_t *m)
{
    json_t *s =
        json_object_get(json_object_get(json_object_get(m, "interactive"), "action"), "sections");

    return json_object_get(json_array_get(s, 0), "rows");
}

static json_t *buttons(const json_t *m)
{
    return json_object_get(json_object_get(json_object_get(m, "interactive"), "action"), "buttons");
}

static const char *row_id(const json_t *m, size_t i)
{
    return json_string_value(json_object_get(json_array_get(rows(m), i), "id"));
}

static const char *row_title(const json_t *m, size_t i)
{
    return json_string_value(json_object_get(json_array_get(rows(m), i), "title"));
}

static const char *button_id(const json_t *m, size_t i)
{
    return json_string_value(
        json_object_get(json_object_get(json_array_get(buttons(m), i), "reply"), "id"));
}

static int has_row(const json_t *m, const char *id)
{
    for (size_t i = 0; i < json_array_size(rows(m)); i++) {
        if (strcmp(row_id(m, i), id) == 0)
            return 1;
    }
    return 0;
}

static void load(struct fixture *f, const char *wa, struct grp_member *m)
{
    char mid[CRY_MID_LEN];
    struct core_err err;

    mid_of(f, wa, mid);
    assert_int_equal(grp_member_load(f->r, mid, m, &err), 0);
}

static void expect_text(struct fixture *f, const char *id_hi_or_en, enum grp_lang lang)
{
    json_t *m = one_reply(f);
    const char *want = grp_text_raw(lang, id_hi_or_en);
    char prefix[40];

    assert_non_null(want);
    /* compare the start (texts may have placeholders further on) */
    snprintf(prefix, sizeof prefix, "%.30s", want);
    if (strncmp(body(m), prefix, strlen(prefix) - 3) != 0)
        fail_msg("reply \"%.80s\" is not %s", body(m), id_hi_or_en);
    json_decref(m);
}

/* First contact, then join by a typed name, confirm, done. */
static void join_by_name(struct fixture *f, const char *wa, const char *name, const char *code)
{
    char id[64];
    json_t *m;

    say(f, wa, "नमस्ते");
    json_decref(one_reply(f));
    say(f, wa, name);
    m = one_reply(f);
    assert_string_equal(itype(m), "list");
    snprintf(id, sizeof id, "join:loc:%s", code);
    assert_string_equal(row_id(m, 0), id);
    json_decref(m);
    tap(f, wa, id);
    m = one_reply(f);
    snprintf(id, sizeof id, "join:yes:%s", code);
    assert_string_equal(button_id(m, 0), id);
    json_decref(m);
    tap(f, wa, id);
    json_decref(one_reply(f));
}

static void test_first_contact(void **state)
{
    struct fixture *f = *state;
    struct grp_member mb;
    json_t *m;

    say(f, WA1, "नमस्ते");
    m = one_reply(f);
    assert_string_equal(itype(m), "list");
    assert_non_null(strstr(body(m), "बिहार पुलिस"));
    assert_non_null(strstr(body(m), "मिशन जन सेवा"));
    assert_non_null(strstr(body(m), "Meta")); /* WhatsApp always knows the number */
    assert_non_null(strstr(body(m), "एन्क्रिप्ट"));
    assert_int_equal(json_array_size(rows(m)), 5);
    assert_string_equal(row_id(m, 0), "kw:join");
    assert_string_equal(row_id(m, 1), "kw:report");
    assert_string_equal(row_id(m, 2), "kw:tip");
    assert_string_equal(row_id(m, 3), "kw:help");
    assert_string_equal(row_id(m, 4), "kw:lang");
    json_decref(m);
    load(f, WA1, &mb);
    assert_int_equal(mb.st, GRP_MEMBER_ENROLLING);
    /* the same event again: nothing more */
    replay(f, WA1);
    no_reply(f);
    /* a second message is not welcomed again: unknown input gets help */
    say(f, WA1, "asdf qwerty zxcv");
    expect_text(f, "dlg.unknown", GRP_LANG_HI);
    /* a photo before joining */
    send_type(f, WA1, "image");
    expect_text(f, "dlg.media", GRP_LANG_HI);
    /* statuses, reactions and system messages are not answered */
    send_type(f, WA1, "reaction");
    send_type(f, WA1, "system");
    no_reply(f);
}

static void test_new_member_sees_privacy_first(void **state)
{
    struct fixture *f = *state;
    json_t *m;

    /* a first message that is JOIN gets the welcome (privacy notice) */
    say(f, WA1, "JOIN");
    m = one_reply(f);
    assert_non_null(strstr(body(m), "आपकी निजता"));
    json_decref(m);
    say(f, WA1, "JOIN");
    m = one_reply(f);
    assert_string_equal(itype(m), "button");
    assert_string_equal(button_id(m, 0), "join:how:loc");
    assert_string_equal(button_id(m, 1), "join:how:menu");
    assert_string_equal(button_id(m, 2), "join:how:pin");
    json_decref(m);
}

static void test_join_by_name_and_consent(void **state)
{
    struct fixture *f = *state;
    struct grp_member mb;
    char mid[CRY_MID_LEN];
    json_t *m;
    struct core_err err;

    say(f, WA1, "hi");
    json_decref(one_reply(f));
    /* typed straight away, with a typo and in Latin script */
    say(f, WA1, "haldi chapra");
    m = one_reply(f);
    assert_string_equal(itype(m), "list");
    assert_string_equal(row_id(m, 0), "join:loc:HLD-01");
    assert_string_equal(row_title(m, 0), "हल्दी छपरा"); /* shown in Hindi */
    assert_non_null(strstr(
        json_string_value(json_object_get(json_array_get(rows(m), 0), "description")), "दानापुर"));
    json_decref(m);
    tap(f, WA1, "join:loc:HLD-01");
    m = one_reply(f);
    assert_string_equal(itype(m), "button");
    assert_non_null(strstr(body(m), "हल्दी छपरा"));
    assert_non_null(strstr(body(m), "समूह के नियम"));
    assert_true(chars(body(m)) <= 1024);
    assert_string_equal(button_id(m, 0), "join:yes:HLD-01");
    assert_string_equal(button_id(m, 1), "join:no");
    json_decref(m);
    load(f, WA1, &mb);
    assert_string_equal(mb.ds, "join:confirm");
    assert_int_equal(mb.st, GRP_MEMBER_ENROLLING); /* nothing joined before consent */
    tap(f, WA1, "join:yes:HLD-01");
    m = one_reply(f);
    assert_non_null(strstr(body(m), "हल्दी छपरा"));
    load(f, WA1, &mb);
    {
        char label[GRP_LABEL_MAX];

        grp_member_label(&mb, GRP_LANG_HI, label, sizeof label);
        assert_non_null(strstr(body(m), label));
    }
    json_decref(m);
    assert_int_equal(mb.st, GRP_MEMBER_ACTIVE);
    assert_string_equal(mb.group, "HLD-01");
    assert_string_equal(mb.cv, grp_text_consent_version());
    assert_true(mb.cts > 1700000000);
    assert_string_equal(mb.ds, "");
    mid_of(f, WA1, mid);
    assert_int_equal(grp_member_in_group(f->r, "HLD-01", mid, &err), 1);
    assert_int_equal(grp_member_group_count(f->r, "HLD-01", &err), 1);
    /* the same "Yes" webhook replayed: no second confirmation, one member */
    replay(f, WA1);
    no_reply(f);
    assert_int_equal(grp_member_group_count(f->r, "HLD-01", &err), 1);
    /* an old "Yes" tapped again later */
    tap(f, WA1, "join:yes:HLD-01");
    expect_text(f, "join.already", GRP_LANG_HI);
}

static void test_join_by_typed_yes_and_devanagari(void **state)
{
    struct fixture *f = *state;
    struct grp_member mb;
    json_t *m;

    say(f, WA1, "नमस्ते");
    json_decref(one_reply(f));
    say(f, WA1, "JOIN");
    json_decref(one_reply(f));
    say(f, WA1, "मेरा गाँव सुजाता गढ़ है");
    m = one_reply(f);
    assert_string_equal(row_id(m, 0), "join:loc:SJT-01");
    json_decref(m);
    tap(f, WA1, "join:loc:SJT-01");
    json_decref(one_reply(f));
    /* a typed "हाँ" confirms */
    say(f, WA1, "हाँ");
    json_decref(one_reply(f));
    load(f, WA1, &mb);
    assert_string_equal(mb.group, "SJT-01");
}

static void test_join_by_pin_then_move(void **state)
{
    struct fixture *f = *state;
    struct grp_member mb;
    json_t *m;
    struct core_err err;
    char mid[CRY_MID_LEN];

    join_by_name(f, WA1, "हल्दी छपरा", "HLD-01");
    /* MOVE: the three ways, with the current group named */
    say(f, WA1, "MOVE");
    m = one_reply(f);
    assert_string_equal(itype(m), "button");
    assert_non_null(strstr(body(m), "हल्दी छपरा"));
    json_decref(m);
    /* an active member in join:ask: a typed PIN is a search, not a post */
    say(f, WA1, "PIN 801105");
    m = one_reply(f);
    assert_string_equal(itype(m), "list");
    assert_non_null(strstr(body(m), "801105"));
    /* Khagaul, Jamalpur, Shivala (PIN 801105) first, sorted by Hindi name */
    assert_string_equal(row_id(m, 0), "join:loc:KHG-01");
    assert_string_equal(row_id(m, 1), "join:loc:JMP-01");
    assert_string_equal(row_id(m, 2), "join:loc:SHP-01");
    /* no other village within 10 km of them in the sample */
    assert_int_equal(json_array_size(rows(m)), 3);
    json_decref(m);
    /* inside the PIN's list, a typed name searches the PIN's villages */
    say(f, WA1, "shivala");
    m = one_reply(f);
    assert_string_equal(row_id(m, 0), "join:loc:SHP-01");
    json_decref(m);
    tap(f, WA1, "join:loc:JMP-01");
    json_decref(one_reply(f));
    tap(f, WA1, "join:yes:JMP-01");
    json_decref(one_reply(f));
    load(f, WA1, &mb);
    assert_string_equal(mb.group, "JMP-01");
    mid_of(f, WA1, mid);
    assert_int_equal(grp_member_in_group(f->r, "HLD-01", mid, &err), 0);
    assert_int_equal(grp_member_group_count(f->r, "HLD-01", &err), 0);
    assert_int_equal(grp_member_group_count(f->r, "JMP-01", &err), 1);
    /* a PIN with few villages: the nearest others follow its own */
    say(f, WA1, "MOVE");
    json_decref(one_reply(f));
    say(f, WA1, "801108");
    m = one_reply(f);
    assert_string_equal(row_id(m, 0), "join:loc:MNR-01");
    assert_string_equal(row_id(m, 1), "join:loc:SRP-01");
    assert_string_equal(row_id(m, 2), "join:loc:HLD-01");
    assert_true(has_row(m, "join:loc:KNP-01"));  /* Kanpa, 9 km away, PIN 801103 */
    assert_false(has_row(m, "join:loc:KHG-01")); /* Khagaul, 17 km */
    json_decref(m);
    /* an unknown PIN */
    say(f, WA1, "MOVE");
    json_decref(one_reply(f));
    say(f, WA1, "110001");
    m = one_reply(f);
    assert_non_null(strstr(body(m), "110001"));
    assert_string_equal(itype(m), "text");
    json_decref(m);
}

static void test_join_by_location(void **state)
{
    struct fixture *f = *state;
    json_t *m;
    const char *desc;

    say(f, WA1, "hello");
    json_decref(one_reply(f));
    tap(f, WA1, "kw:join");
    json_decref(one_reply(f));
    tap(f, WA1, "join:how:loc");
    m = one_reply(f);
    assert_string_equal(itype(m), "location_request_message");
    json_decref(m);
    /* a few hundred metres from Haldi Chhapra */
    share_location(f, WA1, 25.6655, 84.8940);
    m = one_reply(f);
    assert_string_equal(itype(m), "list");
    assert_string_equal(row_id(m, 0), "join:loc:HLD-01");
    desc = json_string_value(json_object_get(json_array_get(rows(m), 0), "description"));
    assert_non_null(strstr(desc, "0.2 किमी"));
    assert_true(json_array_size(rows(m)) >= 2);
    json_decref(m);
    /* far from every village (the sea off Chennai) */
    share_location(f, WA1, 13.0, 81.0);
    m = one_reply(f);
    assert_string_equal(itype(m), "text");
    assert_non_null(strstr(body(m), "10"));
    json_decref(m);
}

static void test_join_by_menus_with_paging(void **state)
{
    struct fixture *f = *state;
    json_t *m;
    struct grp_member mb;

    say(f, WA2, "hello");
    json_decref(one_reply(f));
    say(f, WA2, "english");
    json_decref(one_reply(f));
    say(f, WA2, "join");
    json_decref(one_reply(f));
    tap(f, WA2, "join:how:menu");
    m = one_reply(f);
    assert_int_equal(json_array_size(rows(m)), 2);
    assert_string_equal(row_id(m, 0), "join:unit:GAY"); /* Gaya < Patna in English */
    assert_string_equal(row_id(m, 1), "join:unit:PAT");
    json_decref(m);
    tap(f, WA2, "join:unit:PAT");
    m = one_reply(f);
    assert_int_equal(json_array_size(rows(m)), 3);
    assert_string_equal(row_id(m, 0), "join:unit:PAT-BHT");
    json_decref(m);
    /* Bihta: 28 localities -> 9 + More, 9 + More, 10 */
    tap(f, WA2, "join:unit:PAT-BHT");
    m = one_reply(f);
    assert_int_equal(json_array_size(rows(m)), 10);
    assert_string_equal(row_id(m, 9), "join:more:u:PAT-BHT:9");
    assert_string_equal(row_title(m, 9), "More ▸");
    assert_string_equal(row_id(m, 0), "join:loc:AMH-01"); /* Amhara first */
    json_decref(m);
    tap(f, WA2, "join:more:u:PAT-BHT:9");
    m = one_reply(f);
    assert_int_equal(json_array_size(rows(m)), 10);
    assert_string_equal(row_id(m, 9), "join:more:u:PAT-BHT:18");
    json_decref(m);
    tap(f, WA2, "join:more:u:PAT-BHT:18");
    m = one_reply(f);
    assert_int_equal(json_array_size(rows(m)), 10);
    assert_false(has_row(m, "join:more:u:PAT-BHT:27"));
    assert_true(has_row(m, "join:loc:KNP-01")); /* Kanpa, the last by name */
    json_decref(m);
    tap(f, WA2, "join:loc:BXT-17");
    m = one_reply(f);
    assert_non_null(strstr(body(m), "Bihta Tola 17"));
    assert_non_null(strstr(body(m), "Group rules"));
    json_decref(m);
    tap(f, WA2, "join:no");
    m = one_reply(f);
    assert_string_equal(itype(m), "button");
    json_decref(m);
    tap(f, WA2, "join:loc:BXT-17");
    json_decref(one_reply(f));
    say(f, WA2, "yes");
    m = one_reply(f);
    assert_non_null(strstr(body(m), "You have joined"));
    json_decref(m);
    load(f, WA2, &mb);
    assert_string_equal(mb.group, "BXT-17");
    assert_int_equal(mb.lang, GRP_LANG_EN);
}

static void test_stop_then_nothing(void **state)
{
    struct fixture *f = *state;
    struct grp_member mb;
    struct core_err err;
    char mid[CRY_MID_LEN];
    json_t *m;

    join_by_name(f, WA1, "khagaul", "KHG-01");
    say(f, WA1, "रोकें");
    m = one_reply(f);
    assert_non_null(strstr(body(m), "खगौल"));
    json_decref(m);
    load(f, WA1, &mb);
    assert_int_equal(mb.st, GRP_MEMBER_LEFT);
    assert_string_equal(mb.group, "");
    mid_of(f, WA1, mid);
    assert_int_equal(grp_member_in_group(f->r, "KHG-01", mid, &err), 0);
    assert_int_equal(grp_member_group_count(f->r, "KHG-01", &err), 0);
    assert_false(grp_member_receives(&mb, "KHG-01"));
    /* the STOP webhook again: no second confirmation */
    replay(f, WA1);
    no_reply(f);
    /* writing again: a note on how to rejoin, never a relay */
    say(f, WA1, "kya hua");
    expect_text(f, "left.note", GRP_LANG_HI);
    /* STOP again */
    say(f, WA1, "STOP");
    expect_text(f, "stop.done_nogroup", GRP_LANG_HI);
    /* and back */
    say(f, WA1, "JOIN");
    m = one_reply(f);
    assert_string_equal(itype(m), "button");
    json_decref(m);
}

static void test_lang_help_menu_tip_report(void **state)
{
    struct fixture *f = *state;
    struct grp_member mb;
    json_t *m;

    say(f, WA1, "hi");
    json_decref(one_reply(f));
    say(f, WA1, "भाषा");
    m = one_reply(f);
    assert_string_equal(button_id(m, 0), "kw:hindi");
    assert_string_equal(button_id(m, 1), "kw:english");
    json_decref(m);
    tap(f, WA1, "kw:english");
    expect_text(f, "lang.set", GRP_LANG_EN);
    load(f, WA1, &mb);
    assert_int_equal(mb.lang, GRP_LANG_EN);
    say(f, WA1, "help");
    m = one_reply(f);
    assert_non_null(strstr(body(m), "Help: Mission Jan Seva"));
    json_decref(m);
    say(f, WA1, "TIP");
    expect_text(f, "tip.soon", GRP_LANG_EN);
    tap(f, WA1, "kw:report");
    m = one_reply(f);
    assert_string_equal(button_id(m, 0), "kw:join");
    json_decref(m);
    say(f, WA1, "menu");
    m = one_reply(f);
    assert_string_equal(row_id(m, 0), "kw:join");
    json_decref(m);
    say(f, WA1, "हिंदी");
    expect_text(f, "lang.set", GRP_LANG_HI);
    /* a member: help names the group and label; the menu offers move/leave */
    join_by_name(f, WA1, "sherpur", "SRP-01");
    say(f, WA1, "मदद");
    m = one_reply(f);
    assert_non_null(strstr(body(m), "शेरपुर"));
    assert_non_null(strstr(body(m), "सदस्य "));
    json_decref(m);
    say(f, WA1, "मेनू");
    m = one_reply(f);
    assert_false(has_row(m, "kw:join"));
    assert_true(has_row(m, "kw:move"));
    assert_true(has_row(m, "kw:stop"));
    json_decref(m);
    tap(f, WA1, "kw:report");
    expect_text(f, "report.howto", GRP_LANG_HI);
}

static void test_posts_of_active_members(void **state)
{
    struct fixture *f = *state;
    struct grp_member mb;

    join_by_name(f, WA1, "मोचारिम", "MCR-01");
    say(f, WA1, "गाँव के पास सड़क पर पेड़ गिरा है");
    expect_text(f, "post.received", GRP_LANG_HI);
    replay(f, WA1);
    no_reply(f);
    send_type(f, WA1, "image");
    expect_text(f, "post.received", GRP_LANG_HI);
    load(f, WA1, &mb);
    assert_int_equal(mb.np, 2); /* the replay counted once */
    /* an ALERT from a citizen is not a command */
    say(f, WA1, "alert");
    expect_text(f, "post.received", GRP_LANG_HI);
}

static void test_states_expire_and_forged_ids(void **state)
{
    struct fixture *f = *state;
    struct grp_member mb;
    char mid[CRY_MID_LEN];
    json_t *m;

    join_by_name(f, WA1, "bakraur", "BKR-01");
    say(f, WA1, "MOVE");
    json_decref(one_reply(f));
    load(f, WA1, &mb);
    assert_string_equal(mb.ds, "join:ask");
    /* 31 minutes later the question is forgotten: the text is a post */
    mid_of(f, WA1, mid);
    th_member_set(&f->redis, mid, "dd", "{\"t\":1000}", NULL);
    say(f, WA1, "sherpur");
    expect_text(f, "post.received", GRP_LANG_HI);
    load(f, WA1, &mb);
    assert_string_equal(mb.ds, "");
    /* forged or stale ids: never an error, never a join without a locality */
    tap(f, WA1, "join:yes:PAT-DNP");
    expect_text(f, "join.gone", GRP_LANG_HI);
    tap(f, WA1, "join:yes:NOPE-99");
    expect_text(f, "join.gone", GRP_LANG_HI);
    tap(f, WA1, "join:loc:bad code!");
    expect_text(f, "join.gone", GRP_LANG_HI);
    tap(f, WA1, "join:unit:NOPE");
    expect_text(f, "join.gone", GRP_LANG_HI);
    tap(f, WA1, "join:more:c:9"); /* no kept results: start again */
    m = one_reply(f);
    assert_string_equal(itype(m), "button");
    json_decref(m);
    tap(f, WA1, "join:more:u:PAT:abc");
    json_decref(one_reply(f));
    tap(f, WA1, "join:whatever");
    json_decref(one_reply(f));
    load(f, WA1, &mb);
    assert_string_equal(mb.group, "BKR-01");
    /* an unknown state is forgotten */
    {
        char dd[48];

        snprintf(dd, sizeof dd, "{\"t\":%lld}", (long long)(core_now_ms() / 1000));
        th_member_set(&f->redis, mid, "ds", "zzz:1", "dd", dd, NULL);
    }
    say(f, WA1, "सड़क टूटी है");
    expect_text(f, "post.received", GRP_LANG_HI);
}

static void test_name_results_page_and_none(void **state)
{
    struct fixture *f = *state;
    json_t *m;

    say(f, WA2, "hi");
    json_decref(one_reply(f));
    say(f, WA2, "join");
    json_decref(one_reply(f));
    /* 25 "Bihta Tola" + Bihta Bazar: pages of the kept results */
    say(f, WA2, "bihta tola");
    m = one_reply(f);
    assert_int_equal(json_array_size(rows(m)), 10);
    assert_string_equal(row_id(m, 9), "join:more:c:9");
    json_decref(m);
    tap(f, WA2, "join:more:c:9");
    m = one_reply(f);
    assert_int_equal(json_array_size(rows(m)), 10);
    json_decref(m);
    tap(f, WA2, "join:more:c:18");
    m = one_reply(f);
    assert_true(json_array_size(rows(m)) <= 10);
    assert_false(has_row(m, "join:more:c:27"));
    json_decref(m);
    /* asked for a name: nothing close gets a clear answer */
    say(f, WA2, "qqqq zzzz");
    expect_text(f, "join.name_none", GRP_LANG_HI);
}

/* Redis gone: a transient failure the router retries, never a crash or an
 * answer made up without state. */
/* A member whose record is inconsistent (a group but state "new", e.g. set
 * by hand): the dialogue cannot act on it, and must not pretend it is a
 * passing outage (the router would retry ten times, then dead-letter the
 * whole webhook). It logs, answers nothing more and returns 0. */
static void test_permanent_problem_is_not_retried(void **state)
{
    struct fixture *f = *state;
    struct gw_router_ctx ctx;
    struct gw_event ev;
    struct core_err err;

    say(f, WA1, "नमस्ते");
    json_decref(one_reply(f));
    memset(&ctx, 0, sizeof ctx);
    ctx.redis = f->r;
    ctx.entry_id = "1-2";
    ctx.req_id = "test";
    snprintf(ctx.event_key, sizeof ctx.event_key, "%032x", 998u);
    mid_of(f, WA1, ctx.member_id);
    th_member_set(&f->redis, ctx.member_id, "g", "HLD-01", "st", "new", NULL);
    memset(&ev, 0, sizeof ev);
    ev.kind = GW_EVENT_MESSAGE;
    ev.phone_number_id = PN;
    ev.from = WA1;
    ev.type = "text";
    ev.text = "haldi chapra";
    core_err_clear(&err);
    assert_int_equal(grp_dlg_handler(f->dlg, &ctx, &ev, &err), 0);
    assert_int_equal(err.code, 0);
}

static void test_redis_down_is_transient(void **state)
{
    struct fixture *f = *state;
    struct gw_router_ctx ctx;
    struct gw_event ev;
    struct core_err err;

    say(f, WA1, "नमस्ते");
    json_decref(one_reply(f));
    memset(&ctx, 0, sizeof ctx);
    ctx.redis = f->r;
    ctx.entry_id = "1-1";
    ctx.req_id = "test";
    snprintf(ctx.event_key, sizeof ctx.event_key, "%032x", 999u);
    mid_of(f, WA1, ctx.member_id);
    memset(&ev, 0, sizeof ev);
    ev.kind = GW_EVENT_MESSAGE;
    ev.phone_number_id = PN;
    ev.from = WA1;
    ev.type = "text";
    ev.text = "haldi chapra";
    th_redis_stop(&f->redis, 1);
    core_err_clear(&err);
    assert_int_equal(grp_dlg_handler(f->dlg, &ctx, &ev, &err), -1);
    assert_int_equal(err.code, CORE_EX_UNAVAILABLE);
    /* statuses and events without a member never touch Redis */
    ev.kind = GW_EVENT_STATUS;
    assert_int_equal(grp_dlg_handler(f->dlg, &ctx, &ev, &err), 0);
    ev.kind = GW_EVENT_MESSAGE;
    {
        char mid[CRY_MID_LEN];

        memcpy(mid, ctx.member_id, sizeof mid);
        ctx.member_id[0] = '\0';
        assert_int_equal(grp_dlg_handler(f->dlg, &ctx, &ev, &err), 0);
        memcpy(ctx.member_id, mid, sizeof mid);
    }
    /* back (AOF kept everything): the same event is answered, once (the
     * connection retries with backoff; up to 20 s for a slow restart) */
    assert_int_equal(th_redis_start(&f->redis, f->dir), 0);
    {
        int rc = -1;

        for (int i = 0; i < 400 && rc != 0; i++) {
            core_err_clear(&err);
            rc = grp_dlg_handler(f->dlg, &ctx, &ev, &err);
            if (rc != 0)
                th_sleep_ms(50);
        }
        assert_int_equal(rc, 0);
    }
    {
        json_t *m = one_reply(f);

        assert_string_equal(row_id(m, 0), "join:loc:HLD-01");
        json_decref(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_yes_no_pin),
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_bodies_within_limits),
        cmocka_unit_test_setup_teardown(test_first_contact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_member_sees_privacy_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_by_name_and_consent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_by_typed_yes_and_devanagari, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_by_pin_then_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_by_location, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_by_menus_with_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_then_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lang_help_menu_tip_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_posts_of_active_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_states_expire_and_forged_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_results_page_and_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_down_is_transient, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permanent_problem_is_not_retried, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
