/*
 * tests/unit/test_grp_digest.c - the per-group relay mode and the daily
 * digest against a real redis-server: mode parse/store and the `janseva
 * group` CLI errors; digest days; in digest mode members inside the window
 * get the post at once and members outside it nothing (they and the post
 * are noted once, also on a replay); the digest run queues exactly one
 * template per recipient (parameters, language, key digest:CODE:DAY:MID)
 * and a second run nothing; a run stopped after some batches resumes and
 * queues each member once; the budget skips and counts; the scheduler runs
 * a day once; `each` mode is unchanged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/redis.h"
#include "core/util.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "gateway/outbox.h"
#include "groups/digest.h"
#include "groups/import.h"
#include "groups/relay.h"
#include "tests/harness/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PNID "106540352242922"
#define BULK_LANE "js:out:{" PNID "}:2"
#define PRICE 2000   /* 0.2 INR */
#define BUDGET 5000  /* 0.5 INR: two templates a day */

struct fixture {
    char *dir;
    struct th_redis redis;
    struct core_redis *r;
    struct cry_keys *keys;
    struct cry_identity *id;
    struct grp_relay_opts relay;
    struct grp_digest_opts dg;
    int serial;
};

static int setup(void **state)
{
    static const char *const kinds[] = {"state", "district", "thana", "beat", "locality"};
    struct fixture *f = calloc(1, sizeof *f);
    struct core_redis_opts o;
    struct core_err err;
    unsigned char root[32];
    unsigned char seed[32];

    f->dir = th_tmpdir("grp-digest");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    memset(&o, 0, sizeof o);
    o.addr = f->redis.addr;
    f->r = core_redis_new(&o);
    for (int i = 0; i < 32; i++) {
        root[i] = (unsigned char)(i + 11);
        seed[i] = (unsigned char)(90 + i);
    }
    f->keys = cry_keys_from_bytes(root, seed);
    cry_keys_set_version(f->keys, 1);
    f->id = cry_identity_new(f->keys);
    for (int i = 0; i < 5; i++) {
        char path[128];
        size_t len = 0;
        char *data;
        struct grp_import_opts io;
        struct grp_import_result res;

        snprintf(path, sizeof path, "data/sample-hierarchy/%s.csv", kinds[i]);
        data = th_read_file(path, &len);
        if (data == NULL)
            return -1;
        grp_import_opts_init(&io, (enum grp_kind)i);
        if (grp_import(f->r, path, data, len, &io, stderr, &res, &err) != 0)
            return -1;
        free(data);
    }
    f->relay.template_name = "janseva_group_post";
    f->relay.price = PRICE;
    f->relay.budget = BUDGET;
    f->relay.window_margin_s = 900;
    f->relay.digest_hour = 20;
    f->relay.digest_utc_offset_min = 330;
    f->dg.template_name = "janseva_group_digest";
    f->dg.price = PRICE;
    f->dg.budget = 1000L * 10000; /* tests of the budget lower it */
    f->dg.window_margin_s = 900;
    f->dg.hour = 20;
    f->dg.utc_offset_min = 330;
    f->dg.batch = GRP_DIGEST_BATCH;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cry_identity_free(f->id);
    cry_keys_free(f->keys);
    core_redis_free(f->r);
    th_redis_stop(&f->redis, 0);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* A member of `loc`; last inbound `ago` s ago (< 0 never). */
static void member(struct fixture *f, const char *loc, const char *st, const char *lang, long ago,
                   char mid[CRY_MID_LEN])
{
    char wa[24];
    struct core_err err;
    int created;

    snprintf(wa, sizeof wa, "9197200%05d", ++f->serial);
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

/* Entries of the bulk lane: recipient, key hash and opened payload. */
struct entry {
    char mid[CRY_MID_LEN];
    char kh[GW_KEY_HASH_LEN];
    json_t *payload;
};

static size_t bulk(struct fixture *f, struct entry *out, size_t max)
{
    redisReply *rep = th_redis_cmd(&f->redis, "XRANGE %s - +", BULK_LANE);
    size_t n = 0;

    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements && n < max; i++) {
        const redisReply *fl = rep->element[i]->element[1];
        struct core_err err;

        memset(&out[n], 0, sizeof out[n]);
        for (size_t k = 0; k + 1 < fl->elements; k += 2) {
            if (strcmp(fl->element[k]->str, "k") == 0)
                snprintf(out[n].kh, sizeof out[n].kh, "%s", fl->element[k + 1]->str);
            else if (strcmp(fl->element[k]->str, "m") == 0)
                snprintf(out[n].mid, sizeof out[n].mid, "%s", fl->element[k + 1]->str);
        }
        assert_true(out[n].kh[0] != '\0');
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

static const struct entry *find(const struct entry *e, size_t n, const char *mid)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(e[i].mid, mid) == 0)
            return &e[i];
    }
    return NULL;
}

static void set_mode(struct fixture *f, const char *code, enum grp_relay_mode m)
{
    struct core_err err;

    assert_int_equal(grp_relay_mode_set(f->r, code, m, &err), 0);
}

static void relay(struct fixture *f, const char *code, const char *pid, const char *author,
                  json_t *content, struct grp_relay_stats *st)
{
    struct grp_relay_post p;
    struct core_err err;

    memset(&p, 0, sizeof p);
    p.pid = pid;
    p.code = code;
    p.name_hi = "मनेर";
    p.name_en = "Maner";
    p.author_mid = author;
    p.label_code = "K7Q2";
    p.number = PNID;
    p.content = content;
    memset(st, 0, sizeof *st);
    assert_int_equal(grp_relay_fanout(f->r, f->keys, &f->relay, &p, core_now_ms() / 1000, st,
                                      &err),
                     0);
}

static void today(char day[GRP_DIGEST_DAY_LEN])
{
    grp_digest_day(core_now_ms() / 1000, 20, 330, day);
}

/* ======================= the mode, days, the CLI ======================= */

static void test_mode(void **state)
{
    struct fixture *f = *state;
    enum grp_relay_mode m = GRP_RELAY_DIGEST;
    struct core_err err;

    assert_int_equal(grp_relay_mode_parse("each", &m), 0);
    assert_int_equal(m, GRP_RELAY_EACH);
    assert_int_equal(grp_relay_mode_parse("digest", &m), 0);
    assert_int_equal(m, GRP_RELAY_DIGEST);
    assert_int_equal(grp_relay_mode_parse("Digest", &m), -1);
    assert_int_equal(grp_relay_mode_parse("", &m), -1);
    assert_string_equal(grp_relay_mode_name(GRP_RELAY_DIGEST), "digest");
    assert_string_equal(grp_relay_mode_name(GRP_RELAY_EACH), "each");
    /* default each; stored with the group (its slot); each removes it */
    assert_int_equal(grp_relay_mode_get(f->r, "SRP-01", &m, &err), 0);
    assert_int_equal(m, GRP_RELAY_EACH);
    set_mode(f, "SRP-01", GRP_RELAY_DIGEST);
    assert_int_equal(grp_relay_mode_get(f->r, "SRP-01", &m, &err), 0);
    assert_int_equal(m, GRP_RELAY_DIGEST);
    assert_int_equal(th_redis_int(&f->redis, "HEXISTS js:u:{SRP-01}:cfg relay"), 1);
    set_mode(f, "SRP-01", GRP_RELAY_EACH);
    assert_int_equal(grp_relay_mode_get(f->r, "SRP-01", &m, &err), 0);
    assert_int_equal(m, GRP_RELAY_EACH);
    assert_int_equal(th_redis_int(&f->redis, "HEXISTS js:u:{SRP-01}:cfg relay"), 0);
    /* only localities */
    assert_int_equal(grp_relay_mode_set(f->r, "NOPE-99", GRP_RELAY_DIGEST, &err), -1);
    assert_int_equal(err.code, CORE_EX_NOINPUT);
    assert_int_equal(grp_relay_mode_set(f->r, "PAT-DNP", GRP_RELAY_DIGEST, &err), -1);
    assert_int_equal(err.code, CORE_EX_NOINPUT);
    assert_int_equal(grp_relay_mode_set(f->r, "bad code!", GRP_RELAY_DIGEST, &err), -1);
    assert_int_equal(err.code, CORE_EX_NOINPUT);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS js:u:{PAT-DNP}:cfg"), 0);
}

static void test_days(void **state)
{
    char d[GRP_DIGEST_DAY_LEN];
    const int64_t t = 1795789799; /* 2026-11-27 14:29:59 UTC = 19:59:59 IST */

    (void)state;
    grp_digest_day(t, 20, 330, d);
    assert_string_equal(d, "20261127");
    grp_digest_due_day(t, 20, 330, d);
    assert_string_equal(d, "20261126");
    grp_digest_day(t + 1, 20, 330, d); /* 20:00 IST: the next day collects */
    assert_string_equal(d, "20261128");
    grp_digest_due_day(t + 1, 20, 330, d);
    assert_string_equal(d, "20261127");
    grp_digest_day(t - 14 * 3600, 20, 330, d); /* 05:59 IST */
    assert_string_equal(d, "20261127");
    grp_digest_day(t, 0, 0, d); /* midnight UTC digests: the next UTC day collects */
    assert_string_equal(d, "20261128");
    assert_true(grp_digest_day_ok("20261127"));
    assert_false(grp_digest_day_ok("2026112"));
    assert_false(grp_digest_day_ok("20261327"));
    assert_false(grp_digest_day_ok("2026-11-2"));
    assert_false(grp_digest_day_ok(NULL));
}

static int run_cli(struct fixture *f, const char *const *args, char **out, char **errs)
{
    const char *argv[8];
    char env_redis[700];
    char env_keys[700];
    const char *env[3];
    size_t n = 0;

    argv[n++] = th_bin();
    for (size_t i = 0; args[i] != NULL && n < 7; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    snprintf(env_redis, sizeof env_redis, "JANSEVA_REDIS=%s", f->redis.addr);
    snprintf(env_keys, sizeof env_keys, "JANSEVA_KEYS_DIR=%s/keys", f->dir);
    env[0] = env_redis;
    env[1] = env_keys;
    env[2] = NULL;
    return th_run(argv, env, NULL, 0, out, errs);
}

static void test_group_cli(void **state)
{
    struct fixture *f = *state;
    char *out = NULL;
    char *errs = NULL;
    enum grp_relay_mode m;
    struct core_err err;
    const char *set_ok[] = {"group", "set", "AMH-01", "relay=digest", NULL};
    const char *set_each[] = {"group", "set", "AMH-01", "relay=each", NULL};
    const char *bad_val[] = {"group", "set", "AMH-01", "relay=weekly", NULL};
    const char *bad_name[] = {"group", "set", "AMH-01", "colour=blue", NULL};
    const char *no_eq[] = {"group", "set", "AMH-01", "digest", NULL};
    const char *no_group[] = {"group", "set", "NOPE-99", "relay=digest", NULL};
    const char *thana[] = {"group", "show", "PAT-DNP", NULL};
    const char *show[] = {"group", "show", "AMH-01", NULL};
    const char *show_json[] = {"group", "show", "--json", "AMH-01", NULL};
    const char *help[] = {"group", "--help", NULL};
    const char *bad_cmd[] = {"group", "drop", "AMH-01", NULL};
    const char *dg_bad_day[] = {"digest", "run", "--day", "2026-01-01", NULL};
    const char *dg_help[] = {"digest", "--help", NULL};

    {
        const char *init[] = {"keys", "init", NULL};

        assert_int_equal(run_cli(f, init, &out, &errs), 0);
        free(out);
        free(errs);
    }
    assert_int_equal(run_cli(f, set_ok, &out, &errs), 0);
    assert_non_null(strstr(out, "relay = digest"));
    free(out);
    free(errs);
    assert_int_equal(grp_relay_mode_get(f->r, "AMH-01", &m, &err), 0);
    assert_int_equal(m, GRP_RELAY_DIGEST);
    /* the change is in the audit log, once: the same value again records nothing */
    assert_int_equal(th_audit_count(&f->redis, "group.set", "AMH-01", NULL), 1);
    assert_int_equal(run_cli(f, set_ok, &out, &errs), 0);
    assert_non_null(strstr(out, "(unchanged)"));
    free(out);
    free(errs);
    assert_int_equal(th_audit_count(&f->redis, "group.set", "AMH-01", NULL), 1);
    assert_int_equal(run_cli(f, show, &out, &errs), 0);
    assert_non_null(strstr(out, "relay = digest"));
    assert_non_null(strstr(out, "Amhara"));
    free(out);
    free(errs);
    assert_int_equal(run_cli(f, show_json, &out, &errs), 0);
    {
        json_t *j = json_loads(out, 0, NULL);

        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "settings"),
                                                              "relay")),
                            "digest");
        assert_non_null(json_object_get(j, "today"));
        json_decref(j);
    }
    free(out);
    free(errs);
    assert_int_equal(run_cli(f, bad_val, &out, &errs), CORE_EX_DATAERR);
    assert_non_null(strstr(errs, "each or digest"));
    free(out);
    free(errs);
    assert_int_equal(run_cli(f, bad_name, &out, &errs), CORE_EX_DATAERR);
    assert_non_null(strstr(errs, "unknown group setting"));
    free(out);
    free(errs);
    assert_int_equal(run_cli(f, no_eq, &out, &errs), CORE_EX_USAGE);
    free(out);
    free(errs);
    assert_int_equal(run_cli(f, no_group, &out, &errs), CORE_EX_NOINPUT);
    assert_non_null(strstr(errs, "no village group 'NOPE-99'"));
    free(out);
    free(errs);
    assert_int_equal(run_cli(f, thana, &out, &errs), CORE_EX_NOINPUT);
    assert_non_null(strstr(errs, "not a village group"));
    free(out);
    free(errs);
    assert_int_equal(run_cli(f, bad_cmd, &out, &errs), CORE_EX_USAGE);
    free(out);
    free(errs);
    assert_int_equal(run_cli(f, help, &out, &errs), 0);
    assert_non_null(strstr(out, "relay=each|digest"));
    free(out);
    free(errs);
    assert_int_equal(run_cli(f, dg_help, &out, &errs), 0);
    assert_non_null(strstr(out, "--day YYYYMMDD"));
    free(out);
    free(errs);
    assert_int_equal(run_cli(f, dg_bad_day, &out, &errs), CORE_EX_DATAERR);
    free(out);
    free(errs);
    /* the failed commands changed nothing; each removes the setting */
    assert_int_equal(grp_relay_mode_get(f->r, "AMH-01", &m, &err), 0);
    assert_int_equal(m, GRP_RELAY_DIGEST);
    /* nor do the refused ones */
    assert_int_equal(th_audit_count(&f->redis, "group.set", "AMH-01", NULL), 1);
    assert_int_equal(run_cli(f, set_each, &out, &errs), 0);
    free(out);
    free(errs);
    assert_int_equal(grp_relay_mode_get(f->r, "AMH-01", &m, &err), 0);
    assert_int_equal(m, GRP_RELAY_EACH);
    assert_int_equal(th_audit_count(&f->redis, "group.set", "AMH-01", NULL), 2);
}

/* ======================= digest mode ======================= */

static void test_digest_relay_and_run(void **state)
{
    struct fixture *f = *state;
    char author[CRY_MID_LEN], in_hi[CRY_MID_LEN], in_en[CRY_MID_LEN], out_hi[CRY_MID_LEN],
        out_en[CRY_MID_LEN], never[CRY_MID_LEN], other[CRY_MID_LEN];
    json_t *text = json_pack("{s:s,s:s}", "type", "text", "text", "पुल पर\nपानी भर गया है");
    json_t *loc = json_pack("{s:s,s:f,s:f}", "type", "location", "lat", 25.6441, "lon", 84.8792);
    struct grp_relay_stats st;
    struct grp_digest_stats ds;
    struct entry e[16];
    struct core_err err;
    char day[GRP_DIGEST_DAY_LEN];
    char mkey[80];
    size_t n;
    long long cost = -1;

    freeReplyObject(th_redis_cmd(&f->redis, "DEL " BULK_LANE));
    set_mode(f, "MNR-01", GRP_RELAY_DIGEST);
    member(f, "MNR-01", "active", "hi", 100, author);
    member(f, "MNR-01", "active", "hi", 100, in_hi);
    member(f, "MNR-01", "active", "en", 100, in_en);
    member(f, "MNR-01", "active", "hi", 200000, out_hi);
    member(f, "MNR-01", "active", "en", 90000, out_en);
    member(f, "MNR-01", "muted", "hi", -1, never);
    member(f, "MNR-02", "active", "hi", -1, other); /* another group */
    today(day);
    snprintf(mkey, sizeof mkey, "js:dg:{MNR-01}:%s:m", day);

    relay(f, "MNR-01", "00000000000000d1", author, text, &st);
    /* inside the window: at once, free; outside: nothing now, noted */
    assert_int_equal(st.queued, 2);
    assert_int_equal(st.charged, 0);
    assert_int_equal(st.digested, 3);
    assert_int_equal(st.skipped_budget, 0);
    n = bulk(f, e, 16);
    assert_int_equal(n, 2);
    assert_non_null(find(e, n, in_hi));
    assert_non_null(find(e, n, in_en));
    entries_free(e, n);
    assert_int_equal(th_redis_int(&f->redis, "ZCARD %s", mkey), 3);
    assert_int_equal(th_redis_int(&f->redis, "ZLEXCOUNT %s [%s [%s", mkey, out_hi, out_hi), 1);
    assert_int_equal(th_redis_int(&f->redis, "ZLEXCOUNT %s [%s [%s", mkey, in_hi, in_hi), 0);
    assert_int_equal(th_redis_int(&f->redis, "HLEN js:dg:{MNR-01}:%s", day), 1);
    assert_int_equal(th_redis_int(&f->redis, "SISMEMBER js:dg:days:%s MNR-01", day), 1);
    assert_true(th_redis_int(&f->redis, "TTL js:dg:{MNR-01}:%s", day) > 0);
    {
        /* the entry is sealed: the text is not in Redis in the clear */
        redisReply *rep = th_redis_cmd(&f->redis, "HGET js:dg:{MNR-01}:%s 00000000000000d1", day);

        assert_int_equal(rep->type, REDIS_REPLY_STRING);
        assert_null(memmem(rep->str, rep->len, "K7Q2", 4));
        freeReplyObject(rep);
    }
    assert_int_equal(grp_relay_day(f->r, "MNR-01", core_now_ms() / 1000, &cost, NULL, NULL, NULL,
                                   &err),
                     0);
    assert_int_equal(cost, 0);

    /* a replayed relay: nothing queued, the post noted once */
    relay(f, "MNR-01", "00000000000000d1", author, text, &st);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.duplicate, 2);
    assert_int_equal(th_redis_int(&f->redis, "XLEN %s", BULK_LANE), 2);
    assert_int_equal(th_redis_int(&f->redis, "HLEN js:dg:{MNR-01}:%s", day), 1);
    assert_int_equal(th_redis_int(&f->redis, "ZCARD %s", mkey), 3);

    /* a second post, a location */
    relay(f, "MNR-01", "00000000000000d2", in_hi, loc, &st);
    assert_int_equal(st.queued, 2); /* author, in_en; its author in_hi gets nothing */
    assert_int_equal(st.digested, 3);
    assert_int_equal(th_redis_int(&f->redis, "HLEN js:dg:{MNR-01}:%s", day), 2);
    assert_int_equal(th_redis_int(&f->redis, "XLEN %s", BULK_LANE), 4);
    freeReplyObject(th_redis_cmd(&f->redis, "DEL " BULK_LANE));

    /* the digest: one template per recipient still in the group */
    memset(&ds, 0, sizeof ds);
    assert_int_equal(grp_digest_run_group(f->r, f->keys, &f->dg, "MNR-01", day,
                                          core_now_ms() / 1000, &ds, &err),
                     0);
    assert_int_equal(ds.groups, 1);
    assert_int_equal(ds.posts, 2);
    assert_int_equal(ds.queued, 3);
    assert_int_equal(ds.charged, 3);
    assert_int_equal(ds.cost, 3 * PRICE);
    assert_int_equal(ds.skipped_budget, 0);
    n = bulk(f, e, 16);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        const json_t *msg = json_object_get(e[i].payload, "message");
        const json_t *tpl = json_object_get(msg, "template");
        const json_t *ps = json_object_get(
            json_array_get(json_object_get(tpl, "components"), 0), "parameters");
        const char *p3 = json_string_value(json_object_get(json_array_get(ps, 2), "text"));
        char key[2048];
        char kh[GW_KEY_HASH_LEN];
        int en = strcmp(e[i].mid, out_en) == 0;

        assert_true(strcmp(e[i].mid, out_hi) == 0 || en || strcmp(e[i].mid, never) == 0);
        snprintf(key, sizeof key, "digest:MNR-01:%s:%s", day, e[i].mid);
        gw_outbox_key_hash(key, kh);
        assert_string_equal(e[i].kh, kh);
        assert_string_equal(json_string_value(json_object_get(msg, "type")), "template");
        assert_null(json_object_get(e[i].payload, "fallback"));
        assert_string_equal(json_string_value(json_object_get(tpl, "name")),
                            "janseva_group_digest");
        assert_string_equal(json_string_value(json_object_get(json_object_get(tpl, "language"),
                                                              "code")),
                            en ? "en" : "hi");
        assert_int_equal(json_array_size(ps), 3);
        assert_string_equal(json_string_value(json_object_get(json_array_get(ps, 0), "text")),
                            en ? "Maner" : "मनेर");
        assert_string_equal(json_string_value(json_object_get(json_array_get(ps, 1), "text")),
                            "2");
        assert_non_null(p3);
        assert_null(strchr(p3, '\n')); /* one line */
        if (en) {
            assert_non_null(strstr(p3, "Member K7Q2: पुल पर पानी भर गया है"));
            assert_non_null(strstr(p3, "[location] 25.64410, 84.87920"));
        } else {
            assert_non_null(strstr(p3, "सदस्य K7Q2: पुल पर पानी भर गया है"));
            assert_non_null(strstr(p3, "[स्थान] 25.64410, 84.87920"));
        }
        /* oldest first */
        assert_true(strstr(p3, "पुल") < strstr(p3, "25.64410"));
    }
    entries_free(e, n);
    assert_int_equal(grp_relay_day(f->r, "MNR-01", core_now_ms() / 1000, &cost, NULL, NULL, NULL,
                                   &err),
                     0);
    assert_int_equal(cost, 3 * PRICE);

    /* a second run: nothing */
    memset(&ds, 0, sizeof ds);
    assert_int_equal(grp_digest_run_group(f->r, f->keys, &f->dg, "MNR-01", day,
                                          core_now_ms() / 1000, &ds, &err),
                     0);
    assert_int_equal(ds.already_done, 1);
    assert_int_equal(ds.queued, 0);
    assert_int_equal(th_redis_int(&f->redis, "XLEN %s", BULK_LANE), 3);
    assert_int_equal(grp_relay_day(f->r, "MNR-01", core_now_ms() / 1000, &cost, NULL, NULL, NULL,
                                   &err),
                     0);
    assert_int_equal(cost, 3 * PRICE);
    json_decref(text);
    json_decref(loc);
}

static void test_digest_resume(void **state)
{
    struct fixture *f = *state;
    char author[CRY_MID_LEN];
    char out[7][CRY_MID_LEN];
    json_t *text = json_pack("{s:s,s:s}", "type", "text", "text", "कल बाजार बंद रहेगा");
    struct grp_relay_stats st;
    struct grp_digest_stats ds;
    struct grp_digest_opts o = f->dg;
    struct entry e[16];
    struct core_err err;
    char day[GRP_DIGEST_DAY_LEN];
    size_t n;

    freeReplyObject(th_redis_cmd(&f->redis, "DEL " BULK_LANE));
    set_mode(f, "HLD-01", GRP_RELAY_DIGEST);
    member(f, "HLD-01", "active", "hi", 100, author);
    for (int i = 0; i < 7; i++)
        member(f, "HLD-01", "active", i % 2 ? "en" : "hi", -1, out[i]);
    today(day);
    relay(f, "HLD-01", "00000000000000e1", author, text, &st);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.digested, 7);
    /* batches of 2; "crash" after queueing batch 2, before saving its cursor */
    o.batch = 2;
    o.test_crash_after = 2;
    memset(&ds, 0, sizeof ds);
    assert_int_equal(grp_digest_run_group(f->r, f->keys, &o, "HLD-01", day, core_now_ms() / 1000,
                                          &ds, &err),
                     1);
    assert_int_equal(ds.queued, 4);
    assert_int_equal(ds.groups, 0);
    assert_int_equal(th_redis_int(&f->redis, "XLEN %s", BULK_LANE), 4);
    /* the restart resumes after batch 1: batch 2 again (queued before), then the rest */
    o.test_crash_after = 0;
    memset(&ds, 0, sizeof ds);
    assert_int_equal(grp_digest_run_group(f->r, f->keys, &o, "HLD-01", day, core_now_ms() / 1000,
                                          &ds, &err),
                     0);
    assert_int_equal(ds.duplicate, 2);
    assert_int_equal(ds.queued, 3);
    assert_int_equal(ds.groups, 1);
    n = bulk(f, e, 16);
    assert_int_equal(n, 7);
    for (int i = 0; i < 7; i++) {
        int seen = 0;

        for (size_t k = 0; k < n; k++)
            seen += strcmp(e[k].mid, out[i]) == 0;
        assert_int_equal(seen, 1);
    }
    entries_free(e, n);
    /* charged once per member, the re-walked batch not again */
    {
        long long cost = 0;
        long long charged = 0;

        assert_int_equal(grp_relay_day(f->r, "HLD-01", core_now_ms() / 1000, &cost, &charged,
                                       NULL, NULL, &err),
                         0);
        assert_int_equal(charged, 7);
        assert_int_equal(cost, 7 * PRICE);
    }
    json_decref(text);
}

static void test_digest_budget(void **state)
{
    struct fixture *f = *state;
    char author[CRY_MID_LEN], o1[CRY_MID_LEN], o2[CRY_MID_LEN], o3[CRY_MID_LEN],
        o4[CRY_MID_LEN], back[CRY_MID_LEN], gone[CRY_MID_LEN];
    json_t *text = json_pack("{s:s,s:s}", "type", "text", "text", "नाली जाम है");
    struct grp_relay_stats st;
    struct grp_digest_stats ds;
    struct grp_digest_opts o = f->dg;
    struct entry e[16];
    struct core_err err;
    char day[GRP_DIGEST_DAY_LEN];
    long long cost = 0, charged = 0, skipped = 0;
    size_t n;

    freeReplyObject(th_redis_cmd(&f->redis, "DEL " BULK_LANE));
    set_mode(f, "JMP-01", GRP_RELAY_DIGEST);
    member(f, "JMP-01", "active", "hi", 100, author);
    member(f, "JMP-01", "active", "hi", -1, o1);
    member(f, "JMP-01", "active", "hi", -1, o2);
    member(f, "JMP-01", "active", "hi", -1, o3);
    member(f, "JMP-01", "active", "hi", -1, o4);
    member(f, "JMP-01", "active", "en", -1, back);
    member(f, "JMP-01", "active", "hi", -1, gone);
    today(day);
    relay(f, "JMP-01", "00000000000000f1", author, text, &st);
    assert_int_equal(st.digested, 6);
    /* since the post: one wrote to us (window open: free), one sent STOP */
    {
        char li[24];

        snprintf(li, sizeof li, "%lld", (long long)(core_now_ms() / 1000 - 10));
        th_member_set(&f->redis, back, "li", li, NULL);
    }
    th_member_set(&f->redis, gone, "st", "left", NULL);
    o.budget = BUDGET; /* two templates */
    memset(&ds, 0, sizeof ds);
    assert_int_equal(grp_digest_run_group(f->r, f->keys, &o, "JMP-01", day, core_now_ms() / 1000,
                                          &ds, &err),
                     0);
    assert_int_equal(ds.queued, 3);       /* back (free) + two charged */
    assert_int_equal(ds.charged, 2);
    assert_int_equal(ds.skipped_budget, 2);
    assert_int_equal(ds.not_receiving, 1);
    assert_int_equal(ds.cost, 2 * PRICE);
    n = bulk(f, e, 16);
    assert_int_equal(n, 3);
    assert_non_null(find(e, n, back));
    assert_null(find(e, n, gone));
    assert_null(find(e, n, author));
    entries_free(e, n);
    assert_int_equal(grp_relay_day(f->r, "JMP-01", core_now_ms() / 1000, &cost, &charged, NULL,
                                   &skipped, &err),
                     0);
    assert_int_equal(cost, 2 * PRICE);
    assert_int_equal(charged, 2);
    assert_int_equal(skipped, 2);
    json_decref(text);
}

static void test_each_unchanged(void **state)
{
    struct fixture *f = *state;
    char author[CRY_MID_LEN], in1[CRY_MID_LEN], o1[CRY_MID_LEN], o2[CRY_MID_LEN],
        o3[CRY_MID_LEN];
    json_t *text = json_pack("{s:s,s:s}", "type", "text", "text", "मेला कल से");
    struct grp_relay_stats st;
    struct entry e[16];
    char day[GRP_DIGEST_DAY_LEN];
    size_t n;
    int templates = 0;

    freeReplyObject(th_redis_cmd(&f->redis, "DEL " BULK_LANE));
    member(f, "SHP-01", "active", "hi", 100, author);
    member(f, "SHP-01", "active", "hi", 100, in1);
    member(f, "SHP-01", "active", "hi", -1, o1);
    member(f, "SHP-01", "active", "hi", -1, o2);
    member(f, "SHP-01", "active", "hi", -1, o3);
    today(day);
    relay(f, "SHP-01", "00000000000000a1", author, text, &st);
    assert_int_equal(st.queued, 3); /* in1 + two templates within the budget */
    assert_int_equal(st.charged, 2);
    assert_int_equal(st.skipped_budget, 1);
    assert_int_equal(st.digested, 0);
    n = bulk(f, e, 16);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        templates += json_object_get(e[i].payload, "fallback") != NULL &&
                     strcmp(e[i].mid, in1) != 0;
    assert_int_equal(templates, 2);
    entries_free(e, n);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS js:dg:{SHP-01}:%s", day), 0);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS js:dg:{SHP-01}:%s:m", day), 0);
    /* a digest run finds nothing and does not close the day */
    {
        struct grp_digest_stats ds;
        struct core_err err;

        memset(&ds, 0, sizeof ds);
        assert_int_equal(grp_digest_run_group(f->r, f->keys, &f->dg, "SHP-01", day,
                                              core_now_ms() / 1000, &ds, &err),
                         0);
        assert_int_equal(ds.groups + ds.queued + ds.already_done, 0);
        assert_int_equal(th_redis_int(&f->redis, "EXISTS js:dg:{SHP-01}:%s:job", day), 0);
    }
    json_decref(text);
}

static void test_tick(void **state)
{
    struct fixture *f = *state;
    char m1[CRY_MID_LEN];
    const char *mids[1];
    struct grp_digest_post p;
    struct core_err err;
    const int64_t now = 1795789799 + 2 * 86400 + 3600; /* 2026-11-29 21:00 IST */
    int ran = -1;
    int added = 0;

    freeReplyObject(th_redis_cmd(&f->redis, "DEL " BULK_LANE));
    member(f, "BHT-01", "active", "hi", -1, m1);
    mids[0] = m1;
    memset(&p, 0, sizeof p);
    p.pid = "00000000000000b1";
    p.label = "Q2W3";
    p.type = "image";
    p.text = "";
    p.number = PNID;
    assert_int_equal(grp_digest_add_members(f->r, "BHT-01", "20261129", mids, 1, &err), 0);
    assert_int_equal(grp_digest_add_post(f->r, f->keys, "BHT-01", "20261129", &p, &added, &err),
                     0);
    assert_int_equal(added, 1);
    assert_int_equal(grp_digest_add_post(f->r, f->keys, "BHT-01", "20261129", &p, &added, &err),
                     0);
    assert_int_equal(added, 0);
    /* another process holds the day: this one leaves it */
    freeReplyObject(th_redis_cmd(&f->redis, "SET js:dg:lease:20261129 other PX 60000"));
    assert_int_equal(grp_digest_tick(f->r, f->keys, &f->dg, "me", now, &ran, &err), 0);
    assert_int_equal(th_redis_int(&f->redis, "XLEN %s", BULK_LANE), 0);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS js:dg:done:20261129"), 0);
    /* it died: the lease expired */
    freeReplyObject(th_redis_cmd(&f->redis, "DEL js:dg:lease:20261129"));
    assert_int_equal(grp_digest_tick(f->r, f->keys, &f->dg, "me", now, &ran, &err), 0);
    assert_int_equal(ran, 1); /* the due day (the empty day before ran in the first tick) */
    assert_int_equal(th_redis_int(&f->redis, "EXISTS js:dg:done:20261128"), 1);
    assert_int_equal(th_redis_int(&f->redis, "XLEN %s", BULK_LANE), 1);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS js:dg:done:20261129"), 1);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS js:dg:lease:20261129"), 0);
    /* once a day */
    assert_int_equal(grp_digest_tick(f->r, f->keys, &f->dg, "me", now + 60, &ran, &err), 0);
    assert_int_equal(ran, 0);
    assert_int_equal(th_redis_int(&f->redis, "XLEN %s", BULK_LANE), 1);
    /* before digest_hour the day is not due: an earlier clock sends nothing more */
    assert_int_equal(grp_digest_tick(f->r, f->keys, &f->dg, "me", now - 2 * 3600, &ran, &err),
                     0);
    assert_int_equal(th_redis_int(&f->redis, "XLEN %s", BULK_LANE), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode),
        cmocka_unit_test(test_days),
        cmocka_unit_test(test_group_cli),
        cmocka_unit_test(test_digest_relay_and_run),
        cmocka_unit_test(test_digest_resume),
        cmocka_unit_test(test_digest_budget),
        cmocka_unit_test(test_each_unchanged),
        cmocka_unit_test(test_tick),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
