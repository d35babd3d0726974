/*
 * tests/unit/test_grp_bc.c - broadcast jobs on a real redis-server, the
 * worker driven step by step: preview numbers (reach, 24 h window with its
 * margin, cost from the configured prices for texts and templates), sampled
 * previews, request checks, jurisdiction, the fan-out (exact counters,
 * one outbox entry per active member with the right language and template
 * fallback, SSCAN for big localities), a crash between queueing and saving
 * the cursor (resumed without a second message to anyone, also when the
 * whole fan-out runs again), leases, cancel, states, the final report
 * (officer's language; operators get none on WhatsApp; timeout), lists,
 * texts, the API body parser, token checks and money settings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/redis.h"
#include "core/util.h"
#include "crypto/audit.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "gateway/outbox.h"
#include "groups/api.h"
#include "groups/bctext.h"
#include "groups/broadcast.h"
#include "groups/hier.h"
#include "groups/import.h"
#include "groups/officer.h"
#include "tests/harness/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PNID "106540352242922"
#define ALERT_LANE "js:out:{" PNID "}:1"
#define REPLY_LANE "js:out:{" PNID "}:0"

struct fixture {
    char *dir;
    struct th_redis redis;
    struct core_redis *r;
    struct cry_keys *keys;
    struct cry_identity *id;
    struct cry_audit *audit;
    struct core_cfg cfg;
    struct grp_bc *bc;
    struct grp_bc_actor op;
    int serial;
};

static const char officers_csv[] = "code,unit,role,name,phone\n"
                                   "SHO-DNP,PAT-DNP,sho,SHO Danapur,919800030001\n"
                                   "BO-DNP1,PAT-DNP-1,beat,Beat officer Danapur 1,919800030002\n"
                                   "BO-DNP2,PAT-DNP-2,beat,Beat officer Danapur 2,919800030003\n"
                                   "HQ-1,BR,hq,HQ control room,919800030004\n";

static struct cry_keys *test_keys(void)
{
    unsigned char root[32];
    unsigned char seed[32];
    struct cry_keys *k;

    for (int i = 0; i < 32; i++) {
        root[i] = (unsigned char)(i + 11);
        seed[i] = (unsigned char)(90 + i);
    }
    k = cry_keys_from_bytes(root, seed);
    cry_keys_set_version(k, 1);
    return k;
}

static void import_all(struct fixture *f)
{
    static const char *const kinds[] = {"state", "district", "thana", "beat", "locality"};
    struct grp_import_opts o;
    struct grp_import_result res;
    struct core_err err;

    for (int i = 0; i < 5; i++) {
        char path[128];
        size_t len = 0;
        char *data;
        enum grp_kind k;

        snprintf(path, sizeof path, "data/sample-hierarchy/%s.csv", kinds[i]);
        data = th_read_file(path, &len);
        assert_non_null(data);
        assert_int_equal(grp_kind_parse(kinds[i], &k), 0);
        grp_import_opts_init(&o, k);
        assert_int_equal(grp_import(f->r, path, data, len, &o, stderr, &res, &err), 0);
        free(data);
    }
    grp_import_opts_init(&o, GRP_LOCALITY);
    assert_int_equal(grp_import_officers(f->r, f->id, NULL, "cli:test", "officers.csv",
                                         officers_csv, strlen(officers_csv), &o, stderr, &res,
                                         &err),
                     0);
}

/* (Re)create the engine after changing f->cfg. */
static void engine(struct fixture *f)
{
    grp_bc_free(f->bc);
    f->bc = grp_bc_new(&f->cfg, f->keys, f->audit);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct core_redis_opts o;
    struct core_err err;

    f->dir = th_tmpdir("grp-bc");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    memset(&o, 0, sizeof o);
    o.addr = f->redis.addr;
    f->r = core_redis_new(&o);
    f->keys = test_keys();
    f->id = cry_identity_new(f->keys);
    f->audit = cry_audit_new(f->keys);
    setenv("JANSEVA_PHONE_NUMBER_ID", PNID, 1);
    setenv("JANSEVA_PRICE_UTILITY_INR", "0.2", 1);
    setenv("JANSEVA_PRICE_MARKETING_INR", "1.5", 1);
    if (core_cfg_load(&f->cfg, NULL, &err) != 0) {
        fprintf(stderr, "config: %s\n", err.msg);
        return -1;
    }
    unsetenv("JANSEVA_PHONE_NUMBER_ID");
    unsetenv("JANSEVA_PRICE_UTILITY_INR");
    unsetenv("JANSEVA_PRICE_MARKETING_INR");
    f->cfg.broadcast_batch = 4;
    engine(f);
    grp_bc_actor_operator(&f->op, "cli:test");
    import_all(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    grp_bc_free(f->bc);
    core_cfg_cleanup(&f->cfg);
    cry_audit_free(f->audit);
    cry_identity_free(f->id);
    cry_keys_free(f->keys);
    core_redis_free(f->r);
    th_redis_stop(&f->redis, 0);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* A member of locality `loc`: st, lang, last inbound `ago` seconds ago
 * (< 0: never). */
static void member(struct fixture *f, const char *loc, const char *st, const char *lang,
                   long ago, char mid[CRY_MID_LEN])
{
    char wa[24];
    struct core_err err;
    int created;

    snprintf(wa, sizeof wa, "9197000%05d", ++f->serial);
    assert_int_equal(cry_identity_resolve(f->id, f->r, wa, NULL, NULL, 0, mid, &created, &err),
                     0);
    th_member_set(&f->redis, mid, "st", st, "g", loc, "lang", lang, NULL);
    if (ago >= 0) {
        char li[24];

        snprintf(li, sizeof li, "%lld", (long long)(core_now_ms() / 1000 - ago));
        th_member_set(&f->redis, mid, "li", li, NULL);
    }
    th_group_add(&f->redis, loc, mid);
}

static void actor(struct fixture *f, const char *code, struct grp_bc_actor *a)
{
    struct core_err err;

    assert_int_equal(grp_bc_actor_officer_code(f->r, code, a, &err), GRP_BC_OK);
}

/* Run the worker until job `id` leaves confirmed/running (or `max` passes). */
static void run_fanout(struct fixture *f, const char *owner, const char *id, int max)
{
    struct grp_bc_status st;
    struct core_err err;

    for (int i = 0; i < max; i++) {
        assert_int_equal(grp_bc_work_once(f->bc, f->r, owner, NULL, &err), 0);
        assert_int_equal(grp_bc_status(f->bc, f->r, NULL, id, &st, &err), GRP_BC_OK);
        if (strcmp(st.state, "confirmed") != 0 && strcmp(st.state, "running") != 0)
            return;
    }
    fail_msg("fan-out of %s did not finish", id);
}

static void make_due(struct fixture *f, const char *id)
{
    freeReplyObject(th_redis_cmd(&f->redis, "ZADD " GRP_BC_LIVE_KEY " 0 %s", id));
}

/* The entries of a lane as (member, opened payload) pairs. */
struct entry {
    char mid[CRY_MID_LEN];
    char bid[32];
    json_t *payload;
};

static size_t lane_entries(struct fixture *f, const char *lane, struct entry *out, size_t max)
{
    redisReply *rep = th_redis_cmd(&f->redis, "XRANGE %s - +", lane);
    size_t n = 0;

    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements && n < max; i++) {
        const redisReply *fl = rep->element[i]->element[1];
        const char *kh = NULL;
        struct core_err err;

        memset(&out[n], 0, sizeof out[n]);
        for (size_t k = 0; k + 1 < fl->elements; k += 2) {
            const char *name = fl->element[k]->str;

            if (strcmp(name, "k") == 0)
                kh = fl->element[k + 1]->str;
            else if (strcmp(name, "m") == 0)
                snprintf(out[n].mid, sizeof out[n].mid, "%s", fl->element[k + 1]->str);
            else if (strcmp(name, "b") == 0)
                snprintf(out[n].bid, sizeof out[n].bid, "%s", fl->element[k + 1]->str);
        }
        assert_non_null(kh);
        /* a fan-out's entries name a shared body ("r"), others carry "p" */
        out[n].payload = gw_outbox_entry_open(f->r, f->keys, PNID, fl, &err);
        if (out[n].payload == NULL)
            fail_msg("entry %zu: %s", i, err.msg);
        n++;
    }
    freeReplyObject(rep);
    return n;
}

static void entries_free(struct entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(e[i].payload);
}

/* ======================= previews ======================= */

static void test_preview_numbers(void **state)
{
    struct fixture *f = *state;
    struct grp_bc_reach r;
    struct grp_bc_req req;
    struct grp_bc_actor bo2;
    struct core_err err;
    char mid[CRY_MID_LEN];

    /* PAT-DNP-1: KHG-01, JMP-01, SHP-01 */
    member(f, "KHG-01", "active", "hi", 3600, mid);       /* in window */
    member(f, "KHG-01", "active", "hi", 86400 - 1000, mid); /* in window (margin 900 s) */
    member(f, "KHG-01", "active", "hi", 86400 - 600, mid);  /* within the margin: outside */
    member(f, "KHG-01", "active", "hi", 2 * 86400, mid);  /* outside */
    member(f, "KHG-01", "active", "hi", -1, mid);         /* never wrote */
    member(f, "KHG-01", "left", "hi", 60, mid);           /* not active */
    member(f, "JMP-01", "banned", "en", 60, mid);         /* not active */
    member(f, "JMP-01", "active", "en", 60, mid);         /* in window */
    member(f, "SHP-01", "active", "en", -1, mid);         /* merged into another record */
    th_member_set(&f->redis, mid, "mg", "0123456789abcdef0123456789abcdef", NULL);
    member(f, "MNR-01", "active", "hi", 60, mid); /* another beat */

    memset(&req, 0, sizeof req);
    req.text = "x";
    assert_int_equal(grp_bc_estimate(f->bc, f->r, &f->op, "PAT-DNP-1", &req, &r, &err),
                     GRP_BC_OK);
    assert_string_equal(r.scope, "PAT-DNP-1");
    assert_int_equal(r.kind, GRP_BEAT);
    assert_int_equal(r.localities, 3);
    assert_int_equal(r.members, 9);
    assert_int_equal(r.reach, 6);
    assert_int_equal(r.in_window, 3);
    assert_false(r.estimated);
    /* text: templates outside the window, utility at the configured 0.2 */
    assert_string_equal(r.category, "utility");
    assert_int_equal(r.charged, 3);
    assert_int_equal(r.price, 2000);
    assert_int_equal(r.cost, 6000);
    /* a marketing template is charged for everybody, at 1.5 */
    req.text = NULL;
    req.template_name = "janseva_notice";
    req.category = "marketing";
    assert_int_equal(grp_bc_estimate(f->bc, f->r, &f->op, "PAT-DNP-1", &req, &r, &err),
                     GRP_BC_OK);
    assert_int_equal(r.charged, 6);
    assert_int_equal(r.cost, 6 * 15000);
    /* a utility template: only outside the window */
    req.category = "utility";
    assert_int_equal(grp_bc_estimate(f->bc, f->r, &f->op, "PAT-DNP-1", &req, &r, &err),
                     GRP_BC_OK);
    assert_int_equal(r.charged, 3);
    assert_int_equal(r.cost, 6000);
    {
        char money[32];

        grp_bc_money(6000, money, sizeof money);
        assert_string_equal(money, "0.60");
        grp_bc_money(8631 * 3, money, sizeof money);
        assert_string_equal(money, "2.59");
    }
    /* the thana adds MNR-01; another beat's officer may not look at this beat */
    req.template_name = NULL;
    req.category = NULL;
    req.text = "x";
    assert_int_equal(grp_bc_estimate(f->bc, f->r, NULL, "PAT-DNP", &req, &r, &err), GRP_BC_OK);
    assert_int_equal(r.reach, 7);
    actor(f, "BO-DNP2", &bo2);
    assert_int_equal(grp_bc_estimate(f->bc, f->r, &bo2, "PAT-DNP-1", &req, &r, &err),
                     GRP_BC_EFORBIDDEN);
    assert_int_equal(err.code, CORE_EX_NOPERM);
    /* an officer's default scope is their unit */
    assert_int_equal(grp_bc_estimate(f->bc, f->r, &bo2, NULL, &req, &r, &err), GRP_BC_OK);
    assert_string_equal(r.scope, "PAT-DNP-2");
    assert_int_equal(r.reach, 1);
    assert_int_equal(grp_bc_estimate(f->bc, f->r, &f->op, "NOPE", &req, &r, &err),
                     GRP_BC_ENOTFOUND);
}

static void test_preview_sampled(void **state)
{
    struct fixture *f = *state;
    struct grp_bc_reach r;
    struct grp_bc_req req;
    struct core_err err;
    char mid[CRY_MID_LEN];
    static const char *const locs[] = {"KHG-01", "MNR-01", "BHT-01", "AMH-01", "PAT-W28"};

    for (int i = 0; i < 200; i++)
        member(f, locs[i % 5], "active", "hi", i % 4 == 0 ? 60 : 3 * 86400, mid);
    f->cfg.broadcast_preview_max = 20;
    engine(f);
    memset(&req, 0, sizeof req);
    req.text = "x";
    assert_int_equal(grp_bc_estimate(f->bc, f->r, &f->op, "PAT", &req, &r, &err), GRP_BC_OK);
    assert_true(r.estimated);
    assert_int_equal(r.members, 200);
    assert_true(r.sampled >= 10 && r.sampled <= 30);
    assert_int_equal(r.reach, 200); /* every member sampled is active */
    assert_true(r.in_window <= 200);
    assert_int_equal(r.charged, r.reach - r.in_window);
}

static void test_request_checks(void **state)
{
    struct fixture *f = *state;
    struct grp_bc_preview p;
    struct grp_bc_req req;
    struct core_err err;
    char long_text[GRP_BC_TEXT_MAX * 3 + 8];
    const char *params[11] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"};
    struct {
        const char *text, *text_hi, *template_name, *lang, *category;
        size_t n_params;
        const char *want;
    } bad[] = {
        {NULL, NULL, NULL, NULL, NULL, 0, "needs a text"},
        {"x", NULL, "janseva_notice", NULL, NULL, 0, "not both"},
        {"x", "y", NULL, NULL, NULL, 0, "not both"},
        {"", NULL, NULL, NULL, NULL, 0, "1-900 characters"},
        {"a\x01b", NULL, NULL, NULL, NULL, 0, "control characters"},
        {"\xff\xfe", NULL, NULL, NULL, NULL, 0, "UTF-8"},
        {NULL, NULL, "Bad-Name", NULL, NULL, 0, "template name"},
        {NULL, NULL, "janseva_notice", NULL, NULL, 11, "at most 10"},
        {"x", NULL, NULL, NULL, NULL, 1, "belong to a template"},
        {NULL, NULL, "janseva_notice", "fr", NULL, 0, "hi or en"},
        {"x", NULL, NULL, "en", NULL, 0, "template's language"},
        {NULL, NULL, "janseva_notice", NULL, "service", 0, "utility or marketing"},
        {"x", NULL, NULL, NULL, "utility", 0, "belongs to a template"},
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&req, 0, sizeof req);
        req.scope = "PAT-DNP";
        req.text = bad[i].text;
        req.text_hi = bad[i].text_hi;
        req.template_name = bad[i].template_name;
        req.lang = bad[i].lang;
        req.category = bad[i].category;
        req.params = params;
        req.n_params = bad[i].n_params;
        core_err_clear(&err);
        if (grp_bc_prepare(f->bc, f->r, &f->op, &req, &p, &err) != GRP_BC_EINVALID ||
            strstr(err.msg, bad[i].want) == NULL)
            fail_msg("case %zu: got '%s', want '%s'", i, err.msg, bad[i].want);
    }
    /* 900 characters of Devanagari are fine, 901 are not */
    long_text[0] = '\0';
    for (int i = 0; i < GRP_BC_TEXT_MAX; i++)
        strcat(long_text, "क"); /* check-style: allow (test data) */
    memset(&req, 0, sizeof req);
    req.scope = "PAT-DNP";
    req.text = long_text;
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &f->op, &req, &p, &err), GRP_BC_OK);
    strcat(long_text, "क"); /* check-style: allow (test data) */
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &f->op, &req, &p, &err), GRP_BC_EINVALID);
    /* operators name a scope; an unknown unit */
    req.text = "x";
    req.scope = NULL;
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &f->op, &req, &p, &err), GRP_BC_EINVALID);
    req.scope = "NOPE";
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &f->op, &req, &p, &err), GRP_BC_ENOTFOUND);
    /* without a business number nothing can be drafted */
    free(f->cfg.phone_numbers[0]);
    f->cfg.n_phone_numbers = 0;
    engine(f);
    req.scope = "PAT-DNP";
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &f->op, &req, &p, &err), GRP_BC_EFAIL);
    assert_int_equal(err.code, CORE_EX_CONFIG);
}

/* ======================= fan-out ======================= */

struct crowd {
    char active[64][CRY_MID_LEN];
    int en[64];
    int n_active;
    int n_all;
};

/* 26 members under PAT-DNP: MNR-01 is big (12 > 2 x batch: SSCAN). */
static void crowd(struct fixture *f, struct crowd *c)
{
    static const struct {
        const char *loc;
        int n;
    } spread[] = {{"KHG-01", 5}, {"JMP-01", 3}, {"SHP-01", 2}, {"MNR-01", 12}, {"HLD-01", 4}};

    memset(c, 0, sizeof *c);
    for (size_t s = 0; s < sizeof spread / sizeof spread[0]; s++) {
        for (int i = 0; i < spread[s].n; i++) {
            char mid[CRY_MID_LEN];
            int inactive = (c->n_all % 7) == 3;
            int en = c->n_all % 3 == 0;

            member(f, spread[s].loc, inactive ? "left" : "active", en ? "en" : "hi",
                   c->n_all % 2 ? 60 : -1, mid);
            c->n_all++;
            if (!inactive) {
                snprintf(c->active[c->n_active], CRY_MID_LEN, "%s", mid);
                c->en[c->n_active++] = en;
            }
        }
    }
}

static int find_active(const struct crowd *c, const char *mid)
{
    for (int i = 0; i < c->n_active; i++) {
        if (strcmp(c->active[i], mid) == 0)
            return i;
    }
    return -1;
}

/* Each active member exactly once in the alert lane; nobody else. */
static void assert_lane_exact(struct fixture *f, const struct crowd *c, const char *bid)
{
    struct entry e[128];
    size_t n = lane_entries(f, ALERT_LANE, e, 128);
    int seen[64] = {0};

    assert_int_equal((int)n, c->n_active);
    for (size_t i = 0; i < n; i++) {
        int k = find_active(c, e[i].mid);

        if (k < 0)
            fail_msg("a message to a member who is not active");
        seen[k]++;
        assert_string_equal(e[i].bid, bid);
    }
    for (int k = 0; k < c->n_active; k++)
        assert_int_equal(seen[k], 1);
    entries_free(e, n);
}

static void test_fanout_exact(void **state)
{
    struct fixture *f = *state;
    struct crowd c;
    struct grp_bc_req req;
    struct grp_bc_preview p;
    struct grp_bc_status st;
    struct grp_bc_actor sho;
    struct core_err err;
    struct entry e[128];
    size_t n;

    crowd(f, &c);
    actor(f, "SHO-DNP", &sho);
    memset(&req, 0, sizeof req);
    req.text_hi = "बाढ़ की चेतावनी:\nनदी से दूर रहें";
    req.text_en = "Flood warning:\n\tkeep   away from the river";
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &sho, &req, &p, &err), GRP_BC_OK);
    assert_true(grp_bc_id_ok(p.id));
    assert_string_equal(p.reach.scope, "PAT-DNP");
    assert_int_equal(p.reach.reach, c.n_active);
    /* a draft: nothing happens before the confirmation */
    assert_int_equal(grp_bc_work_once(f->bc, f->r, "w1", NULL, &err), 0);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS " ALERT_LANE), 0);
    assert_int_equal(grp_bc_confirm(f->bc, f->r, &sho, p.id, &err), GRP_BC_OK);
    run_fanout(f, "w1", p.id, 50);
    assert_int_equal(grp_bc_status(f->bc, f->r, &sho, p.id, &st, &err), GRP_BC_OK);
    assert_string_equal(st.state, "sending");
    assert_int_equal(st.targeted, c.n_all);
    assert_int_equal(st.queued, c.n_active);
    assert_int_equal(st.skipped, c.n_all - c.n_active);
    assert_true(st.fanned_ms >= st.confirmed_ms);
    assert_lane_exact(f, &c, p.id);
    /* the handled-members set is gone once the fan-out ends */
    assert_int_equal(th_redis_int(&f->redis, "EXISTS js:bc:{%s}:q", p.id), 0);
    /* the message each member gets: their language, the template outside the window */
    n = lane_entries(f, ALERT_LANE, e, 128);
    for (size_t i = 0; i < n; i++) {
        int k = find_active(&c, e[i].mid);
        json_t *msg = json_object_get(e[i].payload, "message");
        json_t *fb = json_object_get(e[i].payload, "fallback");
        const char *body = json_string_value(json_object_get(json_object_get(msg, "text"),
                                                             "body"));
        json_t *tpl = json_object_get(fb, "template");
        json_t *params = json_object_get(json_array_get(json_object_get(tpl, "components"), 0),
                                         "parameters");

        assert_non_null(body);
        assert_string_equal(json_string_value(json_object_get(tpl, "name")), "janseva_alert");
        if (c.en[k]) {
            assert_non_null(strstr(body, "Bihar Police notice – Danapur"));
            assert_non_null(strstr(body, "Flood warning:\n\tkeep   away from the river"));
            assert_string_equal(json_string_value(json_object_get(
                                    json_object_get(tpl, "language"), "code")),
                                "en");
            assert_string_equal(json_string_value(json_object_get(json_array_get(params, 0),
                                                                  "text")),
                                "Danapur");
            /* template parameters are one line without runs of spaces */
            assert_string_equal(json_string_value(json_object_get(json_array_get(params, 1),
                                                                  "text")),
                                "Flood warning: keep away from the river");
        } else {
            assert_non_null(strstr(body, "बिहार पुलिस सूचना – दानापुर"));
            assert_non_null(strstr(body, "नदी से दूर रहें"));
            assert_string_equal(json_string_value(json_object_get(json_array_get(params, 0),
                                                                  "text")),
                                "दानापुर");
        }
    }
    entries_free(e, n);
    /* audited: create and confirm, by the officer, without the text */
    {
        redisReply *rep = th_redis_cmd(&f->redis, "XRANGE %s - +", CRY_AUDIT_LOG);
        int create = 0;
        int confirm = 0;

        for (size_t i = 0; i < rep->elements; i++) {
            const redisReply *fl = rep->element[i]->element[1];

            for (size_t k = 0; k + 1 < fl->elements; k += 2) {
                const char *v = fl->element[k + 1]->str;

                if (strcmp(fl->element[k]->str, "e") != 0)
                    continue;
                create += strstr(v, "broadcast.create") != NULL &&
                          strstr(v, "officer:SHO-DNP") != NULL;
                confirm += strstr(v, "broadcast.confirm") != NULL;
                assert_null(strstr(v, "river"));
            }
        }
        freeReplyObject(rep);
        assert_int_equal(create, 1);
        assert_int_equal(confirm, 1);
    }
    /* the stored text is sealed */
    {
        redisReply *rep = th_redis_cmd(&f->redis, "HGET js:bc:{%s} msg", p.id);

        assert_null(memmem(rep->str, rep->len, "river", 5));
        freeReplyObject(rep);
    }
}

static void test_resume_after_crash(void **state)
{
    struct fixture *f = *state;
    struct crowd c;
    struct grp_bc_req req;
    struct grp_bc_preview p;
    struct grp_bc_status st;
    struct core_err err;
    int did = 0;
    long long queued_at_crash;

    crowd(f, &c);
    f->cfg.broadcast_batch = 3;
    engine(f);
    memset(&req, 0, sizeof req);
    req.text = "सावधान";
    req.scope = "PAT-DNP";
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &f->op, &req, &p, &err), GRP_BC_OK);
    assert_int_equal(grp_bc_confirm(f->bc, f->r, &f->op, p.id, &err), GRP_BC_OK);
    /* worker w1 dies after queueing the second batch, before saving its cursor */
    grp_bc_test_crash_after(f->bc, 2);
    assert_int_equal(grp_bc_work_once(f->bc, f->r, "w1", &did, &err), 0);
    assert_int_equal(did, 1);
    grp_bc_test_crash_after(f->bc, 0);
    assert_int_equal(grp_bc_status(f->bc, f->r, NULL, p.id, &st, &err), GRP_BC_OK);
    assert_string_equal(st.state, "running");
    queued_at_crash = st.queued;
    assert_true(queued_at_crash > 0 && queued_at_crash < c.n_active);
    assert_int_equal(th_redis_int(&f->redis, "XLEN " ALERT_LANE), queued_at_crash);
    /* w1's lease still holds: w2 leaves the job alone */
    assert_int_equal(grp_bc_work_once(f->bc, f->r, "w2", &did, &err), 0);
    assert_int_equal(did, 0);
    /* the lease expires: w2 resumes from the saved cursor, repeating batch 2 */
    freeReplyObject(th_redis_cmd(&f->redis, "DEL js:bc:{%s}:lease", p.id));
    run_fanout(f, "w2", p.id, 50);
    assert_int_equal(grp_bc_status(f->bc, f->r, NULL, p.id, &st, &err), GRP_BC_OK);
    assert_string_equal(st.state, "sending");
    assert_int_equal(st.queued, c.n_active);
    assert_int_equal(st.targeted, c.n_all);
    assert_lane_exact(f, &c, p.id);
    /* even a complete second run queues nothing and counts nothing again */
    freeReplyObject(th_redis_cmd(&f->redis, "HSET js:bc:{%s} st running cl \"\" cc \"\"",
                                 p.id));
    freeReplyObject(th_redis_cmd(&f->redis, "HDEL js:bc:{%s} ft", p.id));
    freeReplyObject(th_redis_cmd(&f->redis, "SADD js:bc:{%s}:q x", p.id));
    freeReplyObject(th_redis_cmd(&f->redis, "DEL js:bc:{%s}:q", p.id));
    make_due(f, p.id);
    run_fanout(f, "w3", p.id, 50);
    assert_lane_exact(f, &c, p.id);
}

static void test_cancel(void **state)
{
    struct fixture *f = *state;
    struct crowd c;
    struct grp_bc_req req;
    struct grp_bc_preview p;
    struct grp_bc_status st;
    struct grp_bc_actor sho, bo2, bo1;
    struct core_err err;
    struct entry e[4];
    size_t n;
    long long queued;

    crowd(f, &c);
    f->cfg.broadcast_batch = 2;
    engine(f);
    actor(f, "SHO-DNP", &sho);
    actor(f, "BO-DNP1", &bo1);
    actor(f, "BO-DNP2", &bo2);
    memset(&req, 0, sizeof req);
    req.text = "जाँच";
    req.scope = "PAT-DNP-1";
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &bo1, &req, &p, &err), GRP_BC_OK);
    /* another beat's officer may neither confirm nor cancel it */
    assert_int_equal(grp_bc_confirm(f->bc, f->r, &bo2, p.id, &err), GRP_BC_EFORBIDDEN);
    assert_int_equal(grp_bc_confirm(f->bc, f->r, &bo1, p.id, &err), GRP_BC_OK);
    assert_int_equal(grp_bc_confirm(f->bc, f->r, &bo1, p.id, &err), GRP_BC_OK);
    grp_bc_test_crash_after(f->bc, 1);
    assert_int_equal(grp_bc_work_once(f->bc, f->r, "w1", NULL, &err), 0);
    grp_bc_test_crash_after(f->bc, 0);
    assert_int_equal(grp_bc_cancel(f->bc, f->r, &bo2, p.id, &err), GRP_BC_EFORBIDDEN);
    /* the SHO above may */
    assert_int_equal(grp_bc_cancel(f->bc, f->r, &sho, p.id, &err), GRP_BC_OK);
    assert_int_equal(grp_bc_cancel(f->bc, f->r, &sho, p.id, &err), GRP_BC_OK);
    freeReplyObject(th_redis_cmd(&f->redis, "DEL js:bc:{%s}:lease", p.id));
    assert_int_equal(grp_bc_work_once(f->bc, f->r, "w2", NULL, &err), 0);
    assert_int_equal(grp_bc_status(f->bc, f->r, NULL, p.id, &st, &err), GRP_BC_OK);
    assert_string_equal(st.state, "cancelled");
    queued = st.queued;
    assert_true(queued > 0 && queued < 8);
    /* nothing more was queued after the cancel */
    assert_int_equal(th_redis_int(&f->redis, "XLEN " ALERT_LANE), queued);
    assert_int_equal(grp_bc_confirm(f->bc, f->r, &bo1, p.id, &err), GRP_BC_ESTATE);
    /* the report waits for the statuses of what was queued */
    make_due(f, p.id);
    assert_int_equal(grp_bc_work_once(f->bc, f->r, "w2", NULL, &err), 0);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS " REPLY_LANE), 0);
    freeReplyObject(th_redis_cmd(&f->redis, "HSET js:bc:{%s} sent %lld", p.id, queued));
    make_due(f, p.id);
    assert_int_equal(grp_bc_work_once(f->bc, f->r, "w2", NULL, &err), 0);
    n = lane_entries(f, REPLY_LANE, e, 4);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].mid, bo1.officer.mid);
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_object_get(json_object_get(e[0].payload, "message"), "text"),
                               "body")),
                           "रद्द की गई उद्घोषणा"));
    entries_free(e, n);
    assert_int_equal(grp_bc_status(f->bc, f->r, NULL, p.id, &st, &err), GRP_BC_OK);
    assert_string_equal(st.state, "cancelled");
    assert_true(st.report_ms > 0);
    assert_true(st.report_sent);
    /* a cancelled draft needs no report */
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &bo1, &req, &p, &err), GRP_BC_OK);
    assert_int_equal(grp_bc_cancel(f->bc, f->r, &bo1, p.id, &err), GRP_BC_OK);
    assert_int_equal(grp_bc_confirm(f->bc, f->r, &bo1, p.id, &err), GRP_BC_ESTATE);
}

static void test_states_and_report(void **state)
{
    struct fixture *f = *state;
    struct crowd c;
    struct grp_bc_req req;
    struct grp_bc_preview p, p2;
    struct grp_bc_status st;
    struct grp_bc_actor sho;
    struct core_err err;
    struct entry e[4];
    size_t n;
    long long audits;
    json_t *j;

    crowd(f, &c);
    actor(f, "SHO-DNP", &sho);
    th_member_set(&f->redis, sho.officer.mid, "lang", "en", NULL);
    memset(&req, 0, sizeof req);
    req.text = "Road closed";
    req.idem = "event-key-1";
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &sho, &req, &p, &err), GRP_BC_OK);
    audits = th_redis_int(&f->redis, "XLEN %s", CRY_AUDIT_LOG);
    /* the same message replayed: the same draft, no new record */
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &sho, &req, &p2, &err), GRP_BC_OK);
    assert_string_equal(p.id, p2.id);
    assert_int_equal(p2.reach.reach, p.reach.reach);
    assert_int_equal(th_redis_int(&f->redis, "XLEN %s", CRY_AUDIT_LOG), audits);
    /* an expired draft cannot be confirmed */
    req.idem = "event-key-2";
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &sho, &req, &p2, &err), GRP_BC_OK);
    freeReplyObject(th_redis_cmd(&f->redis, "HSET js:bc:{%s} exp 1", p2.id));
    assert_int_equal(grp_bc_confirm(f->bc, f->r, &sho, p2.id, &err), GRP_BC_EEXPIRED);
    assert_int_equal(grp_bc_status(f->bc, f->r, NULL, p2.id, &st, &err), GRP_BC_OK);
    assert_string_equal(st.state, "expired");
    assert_int_equal(grp_bc_confirm(f->bc, f->r, &sho, "0123456789abcdef", &err),
                     GRP_BC_ENOTFOUND);
    assert_int_equal(grp_bc_confirm(f->bc, f->r, &sho, "../x", &err), GRP_BC_ENOTFOUND);
    /* fan-out, then the report once every message is sent or failed */
    assert_int_equal(grp_bc_confirm(f->bc, f->r, &sho, p.id, &err), GRP_BC_OK);
    run_fanout(f, "w1", p.id, 50);
    freeReplyObject(th_redis_cmd(&f->redis, "HSET js:bc:{%s} sent %d failed 1 delivered 4 "
                                            "read 2",
                                 p.id, c.n_active - 2));
    make_due(f, p.id);
    assert_int_equal(grp_bc_work_once(f->bc, f->r, "w1", NULL, &err), 0);
    assert_int_equal(grp_bc_status(f->bc, f->r, NULL, p.id, &st, &err), GRP_BC_OK);
    assert_string_equal(st.state, "sending"); /* one message still unaccounted for */
    freeReplyObject(th_redis_cmd(&f->redis, "HINCRBY js:bc:{%s} sent 1", p.id));
    make_due(f, p.id);
    assert_int_equal(grp_bc_work_once(f->bc, f->r, "w1", NULL, &err), 0);
    assert_int_equal(grp_bc_status(f->bc, f->r, NULL, p.id, &st, &err), GRP_BC_OK);
    assert_string_equal(st.state, "done");
    assert_true(st.report_sent);
    /* everything has gone out: too late to cancel */
    assert_int_equal(grp_bc_cancel(f->bc, f->r, &sho, p.id, &err), GRP_BC_ESTATE);
    n = lane_entries(f, REPLY_LANE, e, 4);
    assert_int_equal(n, 1);
    {
        char want[160];
        const char *body = json_string_value(json_object_get(
            json_object_get(json_object_get(e[0].payload, "message"), "text"), "body"));
        json_t *fb = json_object_get(json_object_get(e[0].payload, "fallback"), "template");

        snprintf(want, sizeof want, "Report on alert %s (Danapur): sent to %d members; %d sent, "
                 "4 delivered, 2 read, 1 failed.",
                 p.id, c.n_active, c.n_active - 1);
        assert_string_equal(body, want);
        assert_string_equal(json_string_value(json_object_get(fb, "name")), "janseva_notice");
    }
    entries_free(e, n);
    j = grp_bc_status_json(&st);
    assert_true(json_is_true(json_object_get(json_object_get(j, "report"), "sent_to_officer")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "counters"),
                                                        "queued")),
                     c.n_active);
    json_decref(j);
    /* once only */
    make_due(f, p.id);
    assert_int_equal(grp_bc_work_once(f->bc, f->r, "w1", NULL, &err), 0);
    assert_int_equal(th_redis_int(&f->redis, "XLEN " REPLY_LANE), 1);
    assert_int_equal(th_redis_int(&f->redis, "ZCARD " GRP_BC_LIVE_KEY), 0);
}

static void test_report_timeout_and_operator(void **state)
{
    struct fixture *f = *state;
    struct crowd c;
    struct grp_bc_req req;
    struct grp_bc_preview p;
    struct grp_bc_status st;
    struct core_err err;

    crowd(f, &c);
    f->cfg.broadcast_report_after_s = 1;
    engine(f);
    memset(&req, 0, sizeof req);
    req.scope = "PAT-DNP";
    req.template_name = "janseva_notice";
    req.lang = "hi";
    {
        const char *params[] = {"परीक्षण"};

        req.params = params;
        req.n_params = 1;
        assert_int_equal(grp_bc_prepare(f->bc, f->r, &f->op, &req, &p, &err), GRP_BC_OK);
    }
    assert_int_equal(grp_bc_confirm(f->bc, f->r, &f->op, p.id, &err), GRP_BC_OK);
    run_fanout(f, "w1", p.id, 50);
    /* a template broadcast: the template itself, no fallback */
    {
        struct entry e[64];
        size_t n = lane_entries(f, ALERT_LANE, e, 64);

        assert_int_equal((int)n, c.n_active);
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(e[0].payload, "message"), "type")),
                            "template");
        assert_null(json_object_get(e[0].payload, "fallback"));
        entries_free(e, n);
    }
    /* no statuses at all: the report comes after broadcast_report_after_s */
    freeReplyObject(th_redis_cmd(&f->redis, "HSET js:bc:{%s} ft %lld", p.id,
                                 (long long)(core_now_ms() - 1500)));
    make_due(f, p.id);
    assert_int_equal(grp_bc_work_once(f->bc, f->r, "w1", NULL, &err), 0);
    assert_int_equal(grp_bc_status(f->bc, f->r, NULL, p.id, &st, &err), GRP_BC_OK);
    assert_string_equal(st.state, "done");
    assert_true(st.report_ms > 0);
    /* an operator's broadcast: the report is in the status, not on WhatsApp */
    assert_false(st.report_sent);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS " REPLY_LANE), 0);
}

static void test_list_visibility(void **state)
{
    struct fixture *f = *state;
    struct grp_bc_req req;
    struct grp_bc_preview p1, p2, p3;
    struct grp_bc_actor bo1, bo2, sho;
    struct core_err err;
    char **ids = NULL;
    size_t n = 0;
    struct grp_bc_status st;

    actor(f, "BO-DNP1", &bo1);
    actor(f, "BO-DNP2", &bo2);
    actor(f, "SHO-DNP", &sho);
    memset(&req, 0, sizeof req);
    req.text = "x";
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &bo1, &req, &p1, &err), GRP_BC_OK);
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &bo2, &req, &p2, &err), GRP_BC_OK);
    req.scope = "GAY";
    th_sleep_ms(3); /* the index orders by creation time in ms */
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &f->op, &req, &p3, &err), GRP_BC_OK);
    assert_int_equal(grp_bc_list(f->bc, f->r, &bo1, 10, &ids, &n, &err), GRP_BC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], p1.id);
    grp_codes_free(ids, n);
    assert_int_equal(grp_bc_list(f->bc, f->r, &sho, 10, &ids, &n, &err), GRP_BC_OK);
    assert_int_equal(n, 2);
    grp_codes_free(ids, n);
    assert_int_equal(grp_bc_list(f->bc, f->r, &f->op, 10, &ids, &n, &err), GRP_BC_OK);
    assert_int_equal(n, 3);
    assert_string_equal(ids[0], p3.id); /* newest first */
    grp_codes_free(ids, n);
    assert_int_equal(grp_bc_status(f->bc, f->r, &bo1, p2.id, &st, &err), GRP_BC_EFORBIDDEN);
    assert_int_equal(grp_bc_status(f->bc, f->r, &sho, p2.id, &st, &err), GRP_BC_OK);
}

/* The text of a draft, read back for the ALERT conversation's area picker. */
static void test_draft_text(void **state)
{
    struct fixture *f = *state;
    struct grp_bc_req req;
    struct grp_bc_preview p1, p2;
    struct grp_bc_actor bo1, bo2, sho;
    struct core_err err;
    const char *params[] = {"Danapur", "x"};
    char *text = NULL;

    actor(f, "BO-DNP1", &bo1);
    actor(f, "BO-DNP2", &bo2);
    actor(f, "SHO-DNP", &sho);
    memset(&req, 0, sizeof req);
    req.text = "कल खगौल में बिजली नहीं रहेगी";
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &bo1, &req, &p1, &err), GRP_BC_OK);
    assert_int_equal(grp_bc_draft_text(f->bc, f->r, &bo1, p1.id, &text, &err), GRP_BC_OK);
    assert_string_equal(text, req.text);
    free(text);
    /* the SHO above may read it, another beat's officer not */
    assert_int_equal(grp_bc_draft_text(f->bc, f->r, &sho, p1.id, &text, &err), GRP_BC_OK);
    free(text);
    assert_int_equal(grp_bc_draft_text(f->bc, f->r, &bo2, p1.id, &text, &err), GRP_BC_EFORBIDDEN);
    assert_null(text);
    assert_int_equal(grp_bc_draft_text(f->bc, f->r, NULL, "0123456789abcdef", &text, &err),
                     GRP_BC_ENOTFOUND);
    assert_int_equal(grp_bc_draft_text(f->bc, f->r, NULL, "nope", &text, &err), GRP_BC_ENOTFOUND);
    /* a template has no one text */
    memset(&req, 0, sizeof req);
    req.scope = "PAT-DNP";
    req.template_name = "janseva_alert";
    req.params = params;
    req.n_params = 2;
    assert_int_equal(grp_bc_prepare(f->bc, f->r, &f->op, &req, &p2, &err), GRP_BC_OK);
    assert_int_equal(grp_bc_draft_text(f->bc, f->r, NULL, p2.id, &text, &err), GRP_BC_EINVALID);
    assert_null(text);
}

/* ======================= texts, parser, tokens, settings ======================= */

static void test_texts(void **state)
{
    char why[256] = "";
    struct core_buf b;
    const char *args[2] = {"दानापुर", "सावधान"};

    (void)state;
    if (grp_bc_texts_check(why, sizeof why) != 0)
        fail_msg("%s", why);
    /* the compiled-in copy is checked by test_grp_texts (one catalogue) */
    core_buf_init(&b, 0);
    assert_int_equal(grp_bc_text(&b, "hi", "bc.alert", args, 2), 0);
    assert_string_equal(core_buf_str(&b), "📢 बिहार पुलिस सूचना – दानापुर\n\nसावधान");
    core_buf_reset(&b);
    assert_int_equal(grp_bc_text(&b, "xx", "bc.btn_confirm", NULL, 0), 0);
    assert_string_equal(core_buf_str(&b), "भेजें"); /* Hindi by default */
    core_buf_reset(&b);
    assert_int_equal(grp_bc_text(&b, "en", "bc.btn_cancel", NULL, 0), 0);
    assert_string_equal(core_buf_str(&b), "Cancel");
    assert_int_equal(grp_bc_text(&b, "en", "bc.nope", NULL, 0), -1);
    core_buf_cleanup(&b);
    /* buttons fit WhatsApp's 20 characters */
    assert_true(strlen(grp_bc_text_raw("en", "bc.btn_confirm")) <= 20);
    assert_true(strlen(grp_bc_text_raw("hi", "bc.btn_cancel")) <= 60);
}

static void test_preview_text(void **state)
{
    struct grp_bc_preview p;
    struct core_buf b;

    (void)state;
    memset(&p, 0, sizeof p);
    snprintf(p.reach.name_en, sizeof p.reach.name_en, "Danapur");
    snprintf(p.reach.name_hi, sizeof p.reach.name_hi, "दानापुर");
    p.reach.reach = 1200;
    p.reach.in_window = 300;
    p.reach.cost = 900 * 1150;
    p.reach.estimated = 1;
    core_buf_init(&b, 0);
    assert_int_equal(grp_bc_preview_text(&p, "en", "Stay indoors", &b), 0);
    assert_string_equal(core_buf_str(&b),
                        "Alert preview\nArea: Danapur\nMembers: 1200 (300 now inside the 24-hour "
                        "window, free)\nEstimated cost: ₹103.50\n\nStay indoors\n(numbers "
                        "estimated from a sample)");
    core_buf_reset(&b);
    assert_int_equal(grp_bc_preview_text(&p, "hi", "x", &b), 0);
    assert_non_null(strstr(core_buf_str(&b), "क्षेत्र: दानापुर"));
    core_buf_cleanup(&b);
}

static void test_api_parser(void **state)
{
    struct grp_api_create c;
    char why[200];
    static const char ok[] = "{\"scope\":\"PAT-DNP\",\"template\":\"janseva_notice\","
                             "\"params\":[\"a\",\"ब\"],\"lang\":\"hi\",\"category\":\"utility\","
                             "\"confirm\":true}";
    static const char *const bad[] = {
        "",
        "not json",
        "[1,2]",
        "{\"scope\":1}",
        "{\"text\":\"a\",\"text\":\"b\"}",
        "{\"secret\":\"919812345678\"}",
        "{\"params\":\"a\"}",
        "{\"params\":[1]}",
        "{\"params\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\"]}",
        "{\"confirm\":\"yes\"}",
        "{\"text\":\"a\\u0000b\"}",
    };

    (void)state;
    assert_int_equal(grp_api_parse_create(ok, strlen(ok), &c, why, sizeof why), 0);
    assert_string_equal(c.req.scope, "PAT-DNP");
    assert_string_equal(c.req.template_name, "janseva_notice");
    assert_int_equal(c.req.n_params, 2);
    assert_string_equal(c.req.params[1], "ब");
    assert_true(c.confirm);
    grp_api_create_free(&c);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        if (grp_api_parse_create(bad[i], strlen(bad[i]), &c, why, sizeof why) != -1)
            fail_msg("accepted: %s", bad[i]);
        assert_true(why[0] != '\0');
        assert_null(strstr(why, "919812345678"));
        grp_api_create_free(&c);
    }
}

static void test_tokens(void **state)
{
    const char *token = "s3cret-token-0123456789";

    (void)state;
    assert_true(grp_api_auth_ok("Bearer s3cret-token-0123456789", token));
    assert_false(grp_api_auth_ok("Bearer s3cret-token-012345678", token));
    assert_false(grp_api_auth_ok("Bearer s3cret-token-01234567890", token));
    assert_false(grp_api_auth_ok("s3cret-token-0123456789", token));
    assert_false(grp_api_auth_ok("bearer s3cret-token-0123456789", token));
    assert_false(grp_api_auth_ok("Bearer ", token));
    assert_false(grp_api_auth_ok(NULL, token));
}

static void test_money_settings(void **state)
{
    struct core_cfg cfg;
    struct core_err err;
    static const char *const bad[] = {"abc", "0.12345", "-1", "1.", ".5", "1e3", "1001"};

    (void)state;
    setenv("JANSEVA_PRICE_UTILITY_INR", "0.115", 1);
    setenv("JANSEVA_PRICE_MARKETING_INR", "2", 1);
    assert_int_equal(core_cfg_load(&cfg, NULL, &err), 0);
    assert_int_equal(cfg.price_utility, 1150);
    assert_int_equal(cfg.price_marketing, 20000);
    core_cfg_cleanup(&cfg);
    unsetenv("JANSEVA_PRICE_MARKETING_INR");
    assert_int_equal(core_cfg_load(&cfg, NULL, &err), 0);
    assert_int_equal(cfg.price_marketing, 8631); /* the default, 0.8631 */
    core_cfg_cleanup(&cfg);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("JANSEVA_PRICE_UTILITY_INR", bad[i], 1);
        if (core_cfg_load(&cfg, NULL, &err) == 0)
            fail_msg("accepted price %s", bad[i]);
        assert_int_equal(err.code, CORE_EX_CONFIG);
        assert_non_null(strstr(err.msg, "JANSEVA_PRICE_UTILITY_INR"));
        core_cfg_cleanup(&cfg);
    }
    unsetenv("JANSEVA_PRICE_UTILITY_INR");
    setenv("JANSEVA_BROADCAST_CATEGORY", "service", 1);
    assert_int_equal(core_cfg_load(&cfg, NULL, &err), -1);
    core_cfg_cleanup(&cfg);
    unsetenv("JANSEVA_BROADCAST_CATEGORY");
    setenv("JANSEVA_API_TOKEN", "short", 1);
    assert_int_equal(core_cfg_load(&cfg, NULL, &err), -1);
    assert_null(strstr(err.msg, "short"));
    core_cfg_cleanup(&cfg);
    unsetenv("JANSEVA_API_TOKEN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_preview_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_preview_sampled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fanout_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_after_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_states_and_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_timeout_and_operator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_visibility, setup, teardown),
        cmocka_unit_test_setup_teardown(test_draft_text, setup, teardown),
        cmocka_unit_test(test_texts),
        cmocka_unit_test(test_preview_text),
        cmocka_unit_test(test_api_parser),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_money_settings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
