/*
 * tests/unit/test_tip.c - groups/tip against a real redis-server:
 * pseudonyms (format, check symbol catching every single-symbol error and
 * most transpositions, scanning citizens' spellings, uniqueness and the
 * collision retry), opening cases (routing by locality, by choice, to HQ;
 * idempotent per event), nothing identifying in clear in Redis, the sealed
 * identity opening only with the recombined reveal key, the routing record
 * resolving for the dispatcher, items (every kind, replay, other senders
 * refused, media queued, full cases), officer views within jurisdiction
 * without identifiers, replies queued to "tip:<case>", follow-ups by
 * pseudonym and by WhatsApp reply context (owner only), sessions, closing
 * and reopening, listing, stored media.
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
#include "crypto/reveal.h"
#include "gateway/outbox.h"
#include "groups/tip.h"
#include "tests/harness/harness.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PNID "106540352242922"
#define WA1 "919812345678"
#define WA2 "919876501234"
#define NAME1 "Sunita Devi"
#define SECRET_TEXT "Sharab ki bhatti near the old mill, Thursday night"

struct fixture {
    char *dir;
    struct th_redis redis;
    struct core_redis *r;
    struct cry_keys *keys;
    struct cry_identity *id;
    struct core_cfg cfg;
    struct grp_tip *t;
    struct cry_reveal_meta rm;
    char shares[CRY_REVEAL_MAX_CUSTODIANS][CRY_REVEAL_PATH_MAX];
    char mid1[CRY_MID_LEN];
    char mid2[CRY_MID_LEN];
    int seq;
};

static struct cry_keys *test_keys(void)
{
    unsigned char root[32];
    unsigned char seed[32];
    struct cry_keys *k;

    for (int i = 0; i < 32; i++) {
        root[i] = (unsigned char)(i * 3);
        seed[i] = (unsigned char)(64 + i);
    }
    k = cry_keys_from_bytes(root, seed);
    cry_keys_set_version(k, 1);
    return k;
}

static void hset_unit(struct fixture *f, const char *code, const char *kind, const char *parent)
{
    freeReplyObject(th_redis_cmd(&f->redis, "HSET js:u:{%s} k %s p %s en %s", code, kind, parent,
                                 code));
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct core_redis_opts o;
    struct core_err err;
    struct cry_reveal_params p = {3, 2, NULL, NULL};
    char keys_dir[600], share_dir[600];
    int created;

    f->dir = th_tmpdir("tip");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    o.addr = f->redis.addr;
    o.user = NULL;
    o.password = NULL;
    o.timeout_ms = 5000;
    f->r = core_redis_new(&o);
    f->keys = test_keys();
    f->id = cry_identity_new(f->keys);
    if (core_cfg_load(&f->cfg, NULL, &err) != 0)
        return -1;
    f->t = grp_tip_new(&f->cfg, f->keys, f->id);
    snprintf(keys_dir, sizeof keys_dir, "%s/keys", f->dir);
    snprintf(share_dir, sizeof share_dir, "%s/shares", f->dir);
    mkdir(keys_dir, 0700);
    if (cry_reveal_create(keys_dir, share_dir, &p, &f->rm, f->shares, &err) != 0)
        return -1;
    grp_tip_set_reveal(f->t, &f->rm);
    /* hierarchy: state > district > thana > beat > locality */
    hset_unit(f, "BR", "state", "");
    hset_unit(f, "PAT", "district", "BR");
    hset_unit(f, "GAYA", "district", "BR");
    hset_unit(f, "PAT-DNP", "thana", "PAT");
    hset_unit(f, "PAT-PHW", "thana", "PAT");
    hset_unit(f, "GAYA-1", "thana", "GAYA");
    hset_unit(f, "PAT-DNP-1", "beat", "PAT-DNP");
    hset_unit(f, "KHG-01", "locality", "PAT-DNP-1");
    if (cry_identity_resolve(f->id, f->r, WA1, NULL, NAME1, 1763800000, f->mid1, &created,
                             &err) != 0 ||
        cry_identity_resolve(f->id, f->r, WA2, NULL, "Ramesh", 1763800000, f->mid2, &created,
                             &err) != 0)
        return -1;
    th_member_set(&f->redis, f->mid1, "g", "KHG-01", "lang", "en", NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    grp_tip_free(f->t);
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

/* A router context for member `mid` and a fresh event key. */
static void ctx_for(struct fixture *f, struct gw_router_ctx *ctx, const char *mid)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->redis = f->r;
    ctx->entry_id = "1-0";
    ctx->req_id = "test";
    snprintf(ctx->member_id, sizeof ctx->member_id, "%s", mid);
    snprintf(ctx->event_key, sizeof ctx->event_key, "%032x", ++f->seq);
}

static struct gw_event ev_text(const char *text)
{
    struct gw_event ev;

    memset(&ev, 0, sizeof ev);
    ev.kind = GW_EVENT_MESSAGE;
    ev.phone_number_id = PNID;
    ev.from = WA1;
    ev.name = NAME1; /* the profile name travels with every message */
    ev.type = "text";
    ev.text = text;
    return ev;
}

static void open_case(struct fixture *f, const char *mid, const char *unit,
                      struct grp_tip_case *c)
{
    struct gw_router_ctx ctx;
    struct gw_event ev = ev_text("TIP");
    struct core_err err;
    int created = 0;

    ctx_for(f, &ctx, mid);
    if (grp_tip_open_case(f->t, &ctx, &ev, unit, c, &created, &err) != 0)
        fail_msg("open: %s", err.msg);
    assert_int_equal(created, 1);
}

static void add(struct fixture *f, const char *mid, const char *cid, struct gw_event *ev,
                struct grp_tip_added *out)
{
    struct gw_router_ctx ctx;
    struct core_err err;

    ctx_for(f, &ctx, mid);
    if (grp_tip_add(f->t, &ctx, ev, cid, out, &err) != 0)
        fail_msg("add: %s", err.msg);
}

/* ======================= pseudonyms ======================= */

static void test_pseudonym_format_and_check(void **state)
{
    char p[GRP_TIP_PSEUDONYM_LEN];
    long transpositions = 0, caught = 0;

    (void)state;
    for (int i = 0; i < 2000; i++) {
        grp_tip_pseudonym_new(p);
        assert_int_equal(strlen(p), 9);
        assert_true(p[0] == 'T' && p[1] == '-' && p[6] == '-');
        for (int k = 2; k < 9; k++) {
            if (k != 6)
                assert_non_null(strchr(GRP_TIP_ALPHABET, p[k]));
        }
        assert_true(grp_tip_pseudonym_valid(p));
        /* every single-symbol error is caught */
        for (int k = 2; k < 9; k++) {
            char saved = p[k];

            if (k == 6)
                continue;
            for (const char *a = GRP_TIP_ALPHABET; *a != '\0'; a++) {
                if (*a == saved)
                    continue;
                p[k] = *a;
                if (grp_tip_pseudonym_valid(p))
                    fail_msg("substitution not caught at %d", k);
            }
            p[k] = saved;
        }
        /* adjacent transpositions of different symbols: most are caught */
        {
            static const int pos[][2] = {{2, 3}, {3, 4}, {4, 5}, {7, 8}};

            for (size_t q = 0; q < 4; q++) {
                char a = p[pos[q][0]], b = p[pos[q][1]];

                if (a == b)
                    continue;
                p[pos[q][0]] = b;
                p[pos[q][1]] = a;
                transpositions++;
                caught += !grp_tip_pseudonym_valid(p);
                p[pos[q][0]] = a;
                p[pos[q][1]] = b;
            }
        }
    }
    print_message("transpositions caught: %ld of %ld\n", caught, transpositions);
    assert_true(caught * 100 >= transpositions * 90);
    /* ambiguous symbols never appear */
    assert_null(strpbrk(GRP_TIP_ALPHABET, "01OILSZB"));
    assert_false(grp_tip_pseudonym_valid("T-4KQ9-2"));
    assert_false(grp_tip_pseudonym_valid("X-4KQ9-27"));
    assert_false(grp_tip_pseudonym_valid(NULL));
}

static void test_pseudonym_scan(void **state)
{
    char p[GRP_TIP_PSEUDONYM_LEN];
    char lower[GRP_TIP_PSEUDONYM_LEN];
    char out[GRP_TIP_PSEUDONYM_LEN];
    char text[256];

    (void)state;
    /* one with a digit in the last group, to try Devanagari digits */
    do
        grp_tip_pseudonym_new(p);
    while (!(p[7] >= '2' && p[7] <= '9'));
    for (int i = 0; i < 10; i++)
        lower[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
    {
        const char *before[] = {"", "my tip ", "",
                                "\xe0\xa4\xae\xe0\xa5\x87\xe0\xa4\xb0\xe0\xa5\x80 ", "("};
        const char *after[] = {"", " please", "\n", "", ")"};

        for (size_t i = 0; i < sizeof before / sizeof before[0]; i++) {
            snprintf(text, sizeof text, "%s%s%s", before[i], p, after[i]);
            assert_int_equal(grp_tip_pseudonym_scan(text, strlen(text), out), 1);
            assert_string_equal(out, p);
        }
    }
    snprintf(text, sizeof text, "%s", lower);
    assert_int_equal(grp_tip_pseudonym_scan(text, strlen(text), out), 1);
    assert_string_equal(out, p);
    snprintf(text, sizeof text, "%.4s%.2s", p + 2, p + 7); /* no T, no dashes */
    assert_int_equal(grp_tip_pseudonym_scan(text, strlen(text), out), 1);
    assert_string_equal(out, p);
    snprintf(text, sizeof text, "t %.4s %.2s", lower + 2, lower + 7);
    assert_int_equal(grp_tip_pseudonym_scan(text, strlen(text), out), 1);
    assert_string_equal(out, p);
    /* the digit of the last group in Devanagari (U+0966 + d) */
    snprintf(text, sizeof text, "T-%.4s-\xe0\xa5%c%c", p + 2, (char)(0xA6 + (p[7] - '0')), p[8]);
    assert_int_equal(grp_tip_pseudonym_scan(text, strlen(text), out), 1);
    assert_string_equal(out, p);
    /* a wrong check symbol, glued letters, nothing */
    snprintf(text, sizeof text, "%s", p);
    text[8] = text[8] == 'A' ? 'C' : 'A';
    assert_int_equal(grp_tip_pseudonym_scan(text, strlen(text), out), 0);
    snprintf(text, sizeof text, "%sX", p);
    assert_int_equal(grp_tip_pseudonym_scan(text, strlen(text), out), 0);
    assert_int_equal(grp_tip_pseudonym_scan("hello", 5, out), 0);
    assert_int_equal(grp_tip_pseudonym_scan(NULL, 0, out), 0);
}

static const char *const forced[] = {"T-4KQ9-2", "T-4KQ9-3"};
static int forced_i;

/* Two fixed pseudonyms (with their check symbols), then random. */
static void forced_source(char out[GRP_TIP_PSEUDONYM_LEN])
{
    if (forced_i < 4) {
        char body[5];

        memcpy(body, forced[forced_i % 2] + 2, 4);
        body[4] = forced[forced_i % 2][7];
        snprintf(out, GRP_TIP_PSEUDONYM_LEN, "%s%c", forced[forced_i % 2],
                 grp_tip_pseudonym_check(body));
        forced_i++;
        return;
    }
    grp_tip_pseudonym_new(out);
}

static void test_pseudonyms_unique(void **state)
{
    struct fixture *f = *state;
    struct grp_tip_case a, b, c;
    char seen[300][GRP_TIP_PSEUDONYM_LEN];

    /* the second case gets the first pseudonym, taken: it retries */
    forced_i = 0;
    grp_tip_set_pseudonym_source(f->t, forced_source);
    open_case(f, f->mid1, NULL, &a);
    forced_i = 0;
    open_case(f, f->mid1, NULL, &b);
    grp_tip_set_pseudonym_source(f->t, NULL);
    assert_string_not_equal(a.pseudonym, b.pseudonym);
    assert_int_equal(strncmp(a.pseudonym, "T-4KQ9-2", 8), 0);
    assert_int_equal(strncmp(b.pseudonym, "T-4KQ9-3", 8), 0);
    /* 300 cases: distinct pseudonyms, each indexed to its case */
    for (int i = 0; i < 300; i++) {
        char cid[GRP_TIP_CASE_LEN];
        struct core_err err;

        open_case(f, f->mid2, NULL, &c);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(seen[j], c.pseudonym);
        memcpy(seen[i], c.pseudonym, sizeof seen[i]);
        assert_int_equal(grp_tip_resolve_ref(f->r, c.pseudonym, cid, &err), 0);
        assert_string_equal(cid, c.id);
    }
}

/* ======================= opening ======================= */

static void test_open_routing(void **state)
{
    struct fixture *f = *state;
    struct grp_tip_case c, again;
    struct gw_router_ctx ctx;
    struct gw_event ev = ev_text("TIP");
    struct core_err err;
    int created = -1;

    open_case(f, f->mid1, NULL, &c);
    assert_true(grp_tip_is_case_id(c.id));
    assert_true(grp_tip_pseudonym_valid(c.pseudonym));
    assert_string_equal(c.state, "open");
    assert_string_equal(c.thana, "PAT-DNP");
    assert_string_equal(c.district, "PAT");
    assert_string_equal(c.routing, "locality");
    assert_string_equal(c.lang, "en");
    assert_string_equal(c.number, PNID);
    assert_string_equal(c.reveal_key, f->rm.id);
    /* the same event again: the same case */
    ctx_for(f, &ctx, f->mid1);
    assert_int_equal(grp_tip_open_case(f->t, &ctx, &ev, NULL, &c, &created, &err), 0);
    assert_int_equal(created, 1);
    assert_int_equal(grp_tip_open_case(f->t, &ctx, &ev, NULL, &again, &created, &err), 0);
    assert_int_equal(created, 0);
    assert_string_equal(again.id, c.id);
    assert_string_equal(again.pseudonym, c.pseudonym);
    /* chosen by the citizen (a thana, or a district) */
    open_case(f, f->mid1, "PAT-PHW", &c);
    assert_string_equal(c.thana, "PAT-PHW");
    assert_string_equal(c.routing, "chosen");
    open_case(f, f->mid1, "GAYA", &c);
    assert_string_equal(c.thana, "");
    assert_string_equal(c.district, "GAYA");
    /* no locality: HQ only */
    open_case(f, f->mid2, NULL, &c);
    assert_string_equal(c.routing, "hq");
    assert_string_equal(c.thana, "");
    assert_string_equal(c.lang, "hi");
    /* not a member; no reveal key */
    ctx_for(f, &ctx, "nope");
    assert_int_equal(grp_tip_open_case(f->t, &ctx, &ev, NULL, &c, &created, &err), -1);
    assert_int_equal(err.code, CORE_EX_NOINPUT);
    {
        struct grp_tip *bare = grp_tip_new(&f->cfg, f->keys, f->id); /* no key directory */

        ctx_for(f, &ctx, f->mid1);
        assert_int_equal(grp_tip_open_case(bare, &ctx, &ev, NULL, &c, &created, &err), -1);
        assert_int_equal(err.code, CORE_EX_CONFIG);
        grp_tip_free(bare);
    }
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

/* Every key name and value in Redis but the identity registry's own
 * (js:mb:*, js:ib:*), read by type (no compressed DUMP). */
static char *dump_tip_keys(struct fixture *f, size_t *len)
{
    redisReply *keys = th_redis_cmd(&f->redis, "KEYS js:*");
    size_t cap = 1 << 20;
    char *buf = malloc(cap);

    *len = 0;
    for (size_t i = 0; i < keys->elements; i++) {
        const char *k = keys->element[i]->str;
        redisReply *t;
        redisReply *v = NULL;

        if (strncmp(k, "js:mb:", 6) == 0 || strncmp(k, "js:ib:", 6) == 0)
            continue;
        flatten(keys->element[i], &buf, len, &cap);
        t = th_redis_cmd(&f->redis, "TYPE %s", k);
        if (strcmp(t->str, "string") == 0)
            v = th_redis_cmd(&f->redis, "GET %s", k);
        else if (strcmp(t->str, "hash") == 0)
            v = th_redis_cmd(&f->redis, "HGETALL %s", k);
        else if (strcmp(t->str, "list") == 0)
            v = th_redis_cmd(&f->redis, "LRANGE %s 0 -1", k);
        else if (strcmp(t->str, "set") == 0)
            v = th_redis_cmd(&f->redis, "SMEMBERS %s", k);
        else if (strcmp(t->str, "zset") == 0)
            v = th_redis_cmd(&f->redis, "ZRANGE %s 0 -1", k);
        else if (strcmp(t->str, "stream") == 0)
            v = th_redis_cmd(&f->redis, "XRANGE %s - +", k);
        flatten(v, &buf, len, &cap);
        freeReplyObject(v);
        freeReplyObject(t);
    }
    freeReplyObject(keys);
    return buf;
}

static void test_nothing_in_clear(void **state)
{
    struct fixture *f = *state;
    struct grp_tip_case c;
    struct grp_tip_added a;
    struct gw_event ev = ev_text(SECRET_TEXT);
    struct grp_tip_viewer v;
    struct grp_tip_reply_result rr;
    struct core_err err;
    size_t len;
    char *dump;

    open_case(f, f->mid1, NULL, &c);
    add(f, f->mid1, c.id, &ev, &a);
    grp_tip_viewer_operator(&v, "cli:test");
    assert_int_equal(grp_tip_reply(f->t, f->r, &v, c.id, "Officer secret answer", NULL, &rr, &err),
                     0);
    dump = dump_tip_keys(f, &len);
    assert_non_null(memmem(dump, len, c.id, 32)); /* the scan does see keys */
    assert_null(memmem(dump, len, WA1, strlen(WA1)));
    assert_null(memmem(dump, len, WA1 + 2, 10));
    assert_null(memmem(dump, len, NAME1, strlen(NAME1)));
    assert_null(memmem(dump, len, "Sharab", 6));
    assert_null(memmem(dump, len, "Officer secret", 14));
    assert_null(memmem(dump, len, f->mid1, 32)); /* no member id next to a case */
    free(dump);
}

/* ======================= the two protected forms ======================= */

static void test_sealed_identity_and_relay(void **state)
{
    struct fixture *f = *state;
    struct grp_tip_case c;
    unsigned char *si = NULL;
    size_t si_len = 0;
    unsigned char *sk = sodium_malloc(32);
    unsigned char *out = sodium_malloc(4096);
    size_t ol = 0;
    char mid[CRY_MID_LEN];
    char rcpt[64];
    struct core_err err;
    struct cry_reveal_share *s[3];
    json_t *j;

    open_case(f, f->mid1, NULL, &c);
    assert_int_equal(grp_tip_sealed_identity(f->t, f->r, c.id, &si, &si_len, &err), 0);
    for (int i = 0; i < 3; i++) {
        s[i] = cry_reveal_share_new();
        assert_int_equal(cry_reveal_share_read(f->shares[i], s[i], &err), 0);
    }
    /* a random key does not open it; the recombined one does */
    randombytes_buf(sk, 32);
    assert_int_equal(cry_reveal_open(sk, f->rm.pk, si, si_len, out, 4096, &ol, &err), -1);
    {
        const struct cry_reveal_share *two[2] = {s[1], s[2]};

        assert_int_equal(cry_reveal_combine(&f->rm, two, 2, sk, &err), 0);
    }
    assert_int_equal(cry_reveal_open(sk, f->rm.pk, si, si_len, out, 4096, &ol, &err), 0);
    j = json_loadb((const char *)out, ol, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "case")), c.id);
    assert_string_equal(json_string_value(json_object_get(j, "wa")), WA1);
    assert_string_equal(json_string_value(json_object_get(j, "name")), NAME1);
    assert_true(json_integer_value(json_object_get(j, "member_since")) > 0);
    json_decref(j);
    /* a sealed identity copied from another case does not open there */
    {
        struct grp_tip_case other;
        unsigned char *x = NULL;
        size_t xl = 0;

        redisReply *raw = th_redis_cmd(&f->redis, "HGET js:tip:{%s} si", c.id);

        open_case(f, f->mid2, NULL, &other);
        freeReplyObject(th_redis_cmd(&f->redis, "HSET js:tip:{%s} si %b", other.id, raw->str,
                                     raw->len));
        freeReplyObject(raw);
        assert_int_equal(grp_tip_sealed_identity(f->t, f->r, other.id, &x, &xl, &err), -1);
        assert_int_equal(err.code, CORE_EX_DATAERR);
        assert_null(x);
    }
    /* the routing record gives the dispatcher the member id, nothing else does */
    snprintf(rcpt, sizeof rcpt, "tip:%s", c.id);
    assert_int_equal(grp_tip_resolve_recipient(f->t, f->r, rcpt, mid, &err), 0);
    assert_string_equal(mid, f->mid1);
    assert_int_equal(grp_tip_resolve_recipient(f->t, f->r, "tip:nothex", mid, &err), -1);
    assert_int_equal(err.code, CORE_EX_NOINPUT);
    snprintf(rcpt, sizeof rcpt, "tip:%032d", 7);
    assert_int_equal(grp_tip_resolve_recipient(f->t, f->r, rcpt, mid, &err), -1);
    assert_int_equal(err.code, CORE_EX_NOINPUT);
    /* a routing record copied to another case does not open there */
    {
        struct grp_tip_case other;

        open_case(f, f->mid2, NULL, &other);
        freeReplyObject(th_redis_cmd(&f->redis, "COPY js:tip:{%s}:rl js:tip:{%s}:rl REPLACE",
                                     c.id, other.id));
        snprintf(rcpt, sizeof rcpt, "tip:%s", other.id);
        assert_int_equal(grp_tip_resolve_recipient(f->t, f->r, rcpt, mid, &err), -1);
        assert_int_equal(err.code, CORE_EX_DATAERR);
    }
    for (int i = 0; i < 3; i++)
        cry_reveal_share_free(s[i]);
    free(si);
    sodium_free(sk);
    sodium_free(out);
}

/* ======================= items ======================= */

static void test_items(void **state)
{
    struct fixture *f = *state;
    struct grp_tip_case c;
    struct grp_tip_added a;
    struct gw_router_ctx ctx;
    struct gw_event ev = ev_text(SECRET_TEXT);
    struct core_err err;
    json_t *it;

    open_case(f, f->mid1, NULL, &c);
    ctx_for(f, &ctx, f->mid1);
    assert_int_equal(grp_tip_add(f->t, &ctx, &ev, c.id, &a, &err), 0);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.kept, 1);
    assert_int_equal(a.duplicate, 0);
    /* a replayed event adds nothing */
    assert_int_equal(grp_tip_add(f->t, &ctx, &ev, c.id, &a, &err), 0);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.duplicate, 1);
    it = grp_tip_item_open(f->t, f->r, c.id, 1, &err);
    assert_string_equal(json_string_value(json_object_get(it, "text")), SECRET_TEXT);
    assert_string_equal(json_string_value(json_object_get(it, "from")), "tipster");
    json_decref(it);
    /* a photo: queued for fetching */
    ev.type = "image";
    ev.text = "the still";
    ev.media_id = "1000000000000042";
    ev.mime_type = "image/jpeg";
    add(f, f->mid1, c.id, &ev, &a);
    assert_int_equal(a.n, 2);
    assert_int_equal(a.media, 1);
    assert_int_equal(th_redis_int(&f->redis, "XLEN js:tip:mq"), 1);
    {
        char st[16];

        assert_int_equal(grp_tip_media_state(f->r, c.id, 2, st, sizeof st, &err), 0);
        assert_string_equal(st, "pending");
    }
    /* a location, a voice note, a document */
    memset(&ev, 0, sizeof ev);
    ev.type = "location";
    ev.has_location = true;
    ev.latitude = 25.5790;
    ev.longitude = 85.0460;
    ev.location_name = "Old mill";
    add(f, f->mid1, c.id, &ev, &a);
    it = grp_tip_item_open(f->t, f->r, c.id, a.n, &err);
    assert_true(json_real_value(json_object_get(it, "lat")) > 25.57);
    json_decref(it);
    ev.type = "audio";
    ev.has_location = false;
    ev.voice = true;
    ev.media_id = "2000";
    add(f, f->mid1, c.id, &ev, &a);
    assert_int_equal(a.media, 1);
    ev.type = "document";
    ev.voice = false;
    ev.media_id = "3000";
    ev.filename = "list.pdf";
    add(f, f->mid1, c.id, &ev, &a);
    assert_int_equal(a.n, 5);
    /* a reaction is not kept */
    ev.type = "reaction";
    add(f, f->mid1, c.id, &ev, &a);
    assert_int_equal(a.kept, 0);
    assert_int_equal(a.n, 0);
    /* someone else cannot add to this case */
    ev = ev_text("me too");
    ctx_for(f, &ctx, f->mid2);
    assert_int_equal(grp_tip_add(f->t, &ctx, &ev, c.id, &a, &err), -1);
    assert_int_equal(err.code, CORE_EX_NOPERM);
    ctx_for(f, &ctx, f->mid1);
    assert_int_equal(grp_tip_add(f->t, &ctx, &ev, "0123", &a, &err), -1);
    assert_int_equal(err.code, CORE_EX_NOINPUT);
    /* a full case refuses more */
    {
        struct core_cfg small = f->cfg;
        struct grp_tip *t2;

        small.tip_max_items = 5;
        t2 = grp_tip_new(&small, f->keys, f->id);
        grp_tip_set_reveal(t2, &f->rm);
        ctx_for(f, &ctx, f->mid1);
        assert_int_equal(grp_tip_add(t2, &ctx, &ev, c.id, &a, &err), -1);
        assert_int_equal(err.code, CORE_EX_DATAERR);
        grp_tip_free(t2);
    }
}

/* ======================= officers ======================= */

static void officer(struct fixture *f, const char *mid, const char *role, const char *unit)
{
    freeReplyObject(th_redis_cmd(&f->redis, "HSET js:off:{%s} role %s unit %s name test", mid,
                                 role, unit));
}

static void test_views_and_jurisdiction(void **state)
{
    struct fixture *f = *state;
    struct grp_tip_case c, got;
    struct grp_tip_added a;
    struct gw_event ev = ev_text(SECRET_TEXT);
    struct grp_tip_viewer v;
    struct core_err err;
    json_t *view;
    char *s;
    static const char sho[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1";
    static const char sho_other[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2";
    static const char dist[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3";
    static const char dist_other[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa4";
    static const char beat[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa5";
    static const char hq[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa6";

    open_case(f, f->mid1, NULL, &c);
    add(f, f->mid1, c.id, &ev, &a);
    ev.type = "image";
    ev.media_id = "1000000000000042";
    ev.mime_type = "image/jpeg";
    ev.text = NULL;
    add(f, f->mid1, c.id, &ev, &a);
    officer(f, sho, "sho", "PAT-DNP");
    officer(f, sho_other, "sho", "PAT-PHW");
    officer(f, dist, "district", "PAT");
    officer(f, dist_other, "district", "GAYA");
    officer(f, beat, "beat", "PAT-DNP-1");
    officer(f, hq, "hq", "BR");
    /* who may read it */
    assert_int_equal(grp_tip_viewer_officer(f->r, sho, &v, &err), 0);
    assert_int_equal(grp_tip_get(f->t, f->r, &v, c.pseudonym, &got, &err), 0);
    assert_int_equal(grp_tip_viewer_officer(f->r, dist, &v, &err), 0);
    assert_int_equal(grp_tip_get(f->t, f->r, &v, c.id, &got, &err), 0);
    assert_int_equal(grp_tip_viewer_officer(f->r, hq, &v, &err), 0);
    assert_int_equal(grp_tip_get(f->t, f->r, &v, c.id, &got, &err), 0);
    assert_int_equal(grp_tip_viewer_officer(f->r, sho_other, &v, &err), 0);
    assert_int_equal(grp_tip_get(f->t, f->r, &v, c.id, &got, &err), -1);
    assert_int_equal(err.code, CORE_EX_NOINPUT); /* as if it did not exist */
    assert_null(grp_tip_view(f->t, f->r, &v, c.id, &err));
    assert_int_equal(grp_tip_viewer_officer(f->r, dist_other, &v, &err), 0);
    assert_int_equal(grp_tip_get(f->t, f->r, &v, c.id, &got, &err), -1);
    assert_int_equal(grp_tip_viewer_officer(f->r, beat, &v, &err), -1);
    assert_int_equal(err.code, CORE_EX_NOPERM);
    assert_int_equal(grp_tip_viewer_officer(f->r, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", &v, &err),
                     -1);
    /* the view: content, no identifier */
    assert_int_equal(grp_tip_viewer_officer(f->r, sho, &v, &err), 0);
    view = grp_tip_view(f->t, f->r, &v, c.id, &err);
    assert_non_null(view);
    s = json_dumps(view, JSON_COMPACT);
    assert_non_null(strstr(s, SECRET_TEXT));
    assert_non_null(strstr(s, c.pseudonym));
    assert_non_null(strstr(s, "\"state\":\"pending\""));
    assert_null(strstr(s, f->mid1));
    assert_null(strstr(s, WA1 + 2));
    assert_null(strstr(s, NAME1));
    assert_null(strstr(s, "1000000000000042")); /* Meta's media id stays inside */
    free(s);
    json_decref(view);
    /* listing follows the same rules */
    {
        json_t *l = grp_tip_list(f->t, f->r, &v, NULL, 100, &err);

        assert_int_equal(json_array_size(l), 1);
        json_decref(l);
        assert_int_equal(grp_tip_viewer_officer(f->r, sho_other, &v, &err), 0);
        l = grp_tip_list(f->t, f->r, &v, NULL, 100, &err);
        assert_int_equal(json_array_size(l), 0);
        json_decref(l);
        grp_tip_viewer_operator(&v, "cli:test");
        l = grp_tip_list(f->t, f->r, &v, "closed", 100, &err);
        assert_int_equal(json_array_size(l), 0);
        json_decref(l);
    }
    /* every view is in the audit log */
    assert_true(th_redis_int(&f->redis, "XLEN js:{audit}:log") >= 2);
}

static void test_reply(void **state)
{
    struct fixture *f = *state;
    struct grp_tip_case c;
    struct grp_tip_viewer v;
    struct grp_tip_reply_result rr, again;
    struct core_err err;
    redisReply *rep;
    json_t *payload;
    char *s;
    char kh[GW_KEY_HASH_LEN];

    open_case(f, f->mid1, NULL, &c);
    grp_tip_viewer_operator(&v, "cli:test");
    assert_int_equal(grp_tip_reply(f->t, f->r, &v, c.pseudonym, "Please call the SHO.", "k1", &rr,
                                   &err),
                     0);
    assert_int_equal(rr.n, 1);
    assert_int_equal(rr.duplicate, 0);
    assert_int_equal(grp_tip_reply(f->t, f->r, &v, c.id, "Please call the SHO.", "k1", &again,
                                   &err),
                     0);
    assert_int_equal(again.duplicate, 1);
    assert_int_equal(again.n, 1);
    /* queued once, to "tip:<case>", never to a member id */
    rep = th_redis_cmd(&f->redis, "XRANGE js:out:{" PNID "}:0 - +");
    assert_int_equal(rep->elements, 1);
    {
        redisReply *fields = rep->element[0]->element[1];
        const char *m = NULL;
        const redisReply *p = NULL;

        for (size_t i = 0; i + 1 < fields->elements; i += 2) {
            if (strcmp(fields->element[i]->str, "m") == 0)
                m = fields->element[i + 1]->str;
            if (strcmp(fields->element[i]->str, "p") == 0)
                p = fields->element[i + 1];
        }
        assert_non_null(m);
        assert_int_equal(strncmp(m, "tip:", 4), 0);
        assert_string_equal(m + 4, c.id);
        gw_outbox_key_hash(rr.key, kh);
        payload = gw_outbox_open(f->keys, kh, (const unsigned char *)p->str, p->len, &err);
        assert_non_null(payload);
    }
    freeReplyObject(rep);
    s = json_dumps(payload, JSON_COMPACT);
    assert_non_null(strstr(s, "Police reply about your tip"));
    assert_non_null(strstr(s, "Please call the SHO."));
    assert_non_null(strstr(s, "\"template\""));
    assert_non_null(strstr(s, "janseva_notice"));
    free(s);
    /* the template (outside the window) does not carry the officer's words */
    s = json_dumps(json_object_get(payload, "fallback"), JSON_COMPACT);
    assert_null(strstr(s, "Please call"));
    assert_non_null(strstr(s, c.pseudonym));
    free(s);
    json_decref(payload);
    /* in the view, with its delivery state */
    {
        json_t *view = grp_tip_view(f->t, f->r, &v, c.id, &err);
        json_t *it = json_array_get(json_object_get(view, "items"), 0);

        assert_string_equal(json_string_value(json_object_get(it, "from")), "officer");
        assert_string_equal(json_string_value(json_object_get(it, "by")), "cli:test");
        assert_string_equal(json_string_value(json_object_get(it, "delivery")), "queued");
        assert_int_equal(json_integer_value(json_object_get(view, "replies")), 1);
        json_decref(view);
    }
    /* bad texts */
    assert_int_equal(grp_tip_reply(f->t, f->r, &v, c.id, "", NULL, &rr, &err), -1);
    {
        char *big = malloc(4000);

        memset(big, 'x', 3999);
        big[3999] = '\0';
        assert_int_equal(grp_tip_reply(f->t, f->r, &v, c.id, big, NULL, &rr, &err), -1);
        assert_int_equal(err.code, CORE_EX_DATAERR);
        free(big);
    }
}

/* ======================= the tipster comes back ======================= */

static void test_follow_up(void **state)
{
    struct fixture *f = *state;
    struct grp_tip_case c;
    struct grp_tip_viewer v;
    struct grp_tip_reply_result rr;
    struct core_err err;
    struct core_buf b;
    char cid[GRP_TIP_CASE_LEN];
    char text[128];
    int found = -1;

    open_case(f, f->mid1, NULL, &c);
    snprintf(text, sizeof text, "more about %s: two trucks came", c.pseudonym);
    assert_int_equal(grp_tip_find_by_pseudonym(f->t, f->r, text, f->mid1, cid, &found, &err), 0);
    assert_int_equal(found, 1);
    assert_string_equal(cid, c.id);
    /* another member quoting it finds nothing */
    assert_int_equal(grp_tip_find_by_pseudonym(f->t, f->r, text, f->mid2, cid, &found, &err), 0);
    assert_int_equal(found, 0);
    assert_string_equal(cid, "");
    assert_int_equal(grp_tip_find_by_pseudonym(f->t, f->r, "T-2222-22", f->mid1, cid, &found,
                                               &err),
                     0);
    assert_int_equal(found, 0);
    /* answering an officer's reply with WhatsApp's "reply" */
    grp_tip_viewer_operator(&v, "cli:test");
    assert_int_equal(grp_tip_reply(f->t, f->r, &v, c.id, "Where exactly?", NULL, &rr, &err), 0);
    {
        char kh[GW_KEY_HASH_LEN];
        char wh[GW_KEY_HASH_LEN];

        gw_outbox_key_hash(rr.key, kh);
        gw_outbox_key_hash("w|wamid.SENT1", wh); /* what the dispatcher records */
        freeReplyObject(th_redis_cmd(&f->redis, "SET js:wamid:%s %s:", wh, kh));
    }
    assert_int_equal(grp_tip_find_by_context(f->t, f->r, "wamid.SENT1", f->mid1, cid, &found,
                                             &err),
                     0);
    assert_int_equal(found, 1);
    assert_string_equal(cid, c.id);
    assert_int_equal(grp_tip_find_by_context(f->t, f->r, "wamid.SENT1", f->mid2, cid, &found,
                                             &err),
                     0);
    assert_int_equal(found, 0);
    assert_int_equal(grp_tip_find_by_context(f->t, f->r, "wamid.OTHER", f->mid1, cid, &found,
                                             &err),
                     0);
    assert_int_equal(found, 0);
    /* news */
    core_buf_init(&b, 0);
    assert_int_equal(grp_tip_status_text(f->t, f->r, c.id, "en", &b, &err), 0);
    assert_non_null(strstr(core_buf_str(&b), c.pseudonym));
    assert_non_null(strstr(core_buf_str(&b), "Where exactly?"));
    assert_non_null(strstr(core_buf_str(&b), "0 message(s)"));
    core_buf_cleanup(&b);
}

static void test_sessions_close_reopen(void **state)
{
    struct fixture *f = *state;
    struct grp_tip_case c, got;
    struct grp_tip_viewer v;
    struct grp_tip_added a;
    struct gw_event ev = ev_text("later news");
    struct core_err err;
    char cid[GRP_TIP_CASE_LEN];
    int found = 0;
    long long ttl;

    open_case(f, f->mid1, NULL, &c);
    assert_int_equal(grp_tip_session_get(f->t, f->r, f->mid1, cid, &found, &err), 0);
    assert_int_equal(found, 1);
    assert_string_equal(cid, c.id);
    assert_int_equal(grp_tip_session_get(f->t, f->r, f->mid2, cid, &found, &err), 0);
    assert_int_equal(found, 0);
    {
        redisReply *k = th_redis_cmd(&f->redis, "KEYS js:tip:ss:*");

        assert_int_equal(k->elements, 1);
        ttl = th_redis_int(&f->redis, "TTL %s", k->element[0]->str);
        assert_true(ttl > 0 && ttl <= f->cfg.tip_session_idle_s);
        freeReplyObject(k);
    }
    assert_int_equal(grp_tip_session_end(f->t, f->r, f->mid1, &err), 0);
    assert_int_equal(grp_tip_session_get(f->t, f->r, f->mid1, cid, &found, &err), 0);
    assert_int_equal(found, 0);
    /* closing starts the routing record's countdown; the tipster reopens */
    grp_tip_viewer_operator(&v, "cli:test");
    assert_int_equal(grp_tip_close(f->t, f->r, &v, c.id, "raid done", &err), 0);
    assert_int_equal(grp_tip_get(f->t, f->r, &v, c.id, &got, &err), 0);
    assert_string_equal(got.state, "closed");
    assert_true(got.closed_ms > 0);
    ttl = th_redis_int(&f->redis, "TTL js:tip:{%s}:rl", c.id);
    assert_true(ttl > 0 && ttl <= (long long)f->cfg.tip_relay_keep_days * 86400);
    add(f, f->mid1, c.id, &ev, &a);
    assert_int_equal(a.reopened, 1);
    assert_int_equal(grp_tip_get(f->t, f->r, &v, c.id, &got, &err), 0);
    assert_string_equal(got.state, "open");
    assert_int_equal(th_redis_int(&f->redis, "TTL js:tip:{%s}:rl", c.id), -1);
}

static void test_media_store(void **state)
{
    struct fixture *f = *state;
    struct grp_tip_case c;
    struct grp_tip_added a;
    struct gw_event ev;
    struct grp_tip_viewer v;
    struct core_err err;
    unsigned char bytes[5000];
    unsigned char *got = NULL;
    size_t len = 0;
    char mime[80];
    redisReply *raw;

    open_case(f, f->mid1, NULL, &c);
    memset(&ev, 0, sizeof ev);
    ev.type = "image";
    ev.media_id = "77";
    ev.mime_type = "image/jpeg";
    add(f, f->mid1, c.id, &ev, &a);
    grp_tip_viewer_operator(&v, "cli:test");
    assert_int_equal(grp_tip_media(f->t, f->r, &v, c.id, a.n, &got, &len, mime, &err), -1);
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)("JPEGPHOTO"[i % 9]);
    assert_int_equal(grp_tip_media_store(f->t, f->r, c.id, a.n, bytes, sizeof bytes, &err), 0);
    raw = th_redis_cmd(&f->redis, "GET js:tip:{%s}:md:%ld", c.id, a.n);
    assert_null(memmem(raw->str, raw->len, "JPEGPHOTO", 9));
    freeReplyObject(raw);
    assert_int_equal(grp_tip_media(f->t, f->r, &v, c.id, a.n, &got, &len, mime, &err), 0);
    assert_int_equal(len, sizeof bytes);
    assert_memory_equal(got, bytes, len);
    assert_string_equal(mime, "image/jpeg");
    grp_tip_media_release(got, len);
    /* not media */
    ev = ev_text("x");
    add(f, f->mid1, c.id, &ev, &a);
    assert_int_equal(grp_tip_media(f->t, f->r, &v, c.id, a.n, &got, &len, mime, &err), -1);
}

/* A shared location routes an automatically routed case to the thana of
 * the nearest locality (once); a chosen routing, a second place, a place
 * far from every locality, and a bad point change nothing. */
static void test_route_by_place(void **state)
{
    struct fixture *f = *state;
    struct grp_tip_case c, got;
    struct grp_tip_viewer v;
    struct core_err err;
    int moved = -1;

    hset_unit(f, "PAT-PHW-1", "beat", "PAT-PHW");
    hset_unit(f, "PHW-07", "locality", "PAT-PHW-1");
    hset_unit(f, "GAYA-1-1", "beat", "GAYA-1");
    hset_unit(f, "GAYA-05", "locality", "GAYA-1-1");
    th_redis_int(&f->redis, "GEOADD js:geo:loc 85.046 25.579 KHG-01 85.190 25.610 PHW-07 "
                            "85.000 24.790 GAYA-05");
    grp_tip_viewer_operator(&v, "cli:test");
    /* the member lives in Khagaul (PAT-DNP); the tip is about Phulwari */
    open_case(f, f->mid1, NULL, &c);
    assert_string_equal(c.thana, "PAT-DNP");
    assert_int_equal(grp_tip_route_by_place(f->t, f->r, c.id, 25.611, 85.191, &moved, &err), 0);
    assert_int_equal(moved, 1);
    assert_int_equal(grp_tip_get(f->t, f->r, &v, c.id, &got, &err), 0);
    assert_string_equal(got.thana, "PAT-PHW");
    assert_string_equal(got.district, "PAT");
    assert_string_equal(got.routing, "place");
    /* only the first place counts */
    assert_int_equal(grp_tip_route_by_place(f->t, f->r, c.id, 24.79, 85.0, &moved, &err), 0);
    assert_int_equal(moved, 0);
    assert_int_equal(grp_tip_get(f->t, f->r, &v, c.id, &got, &err), 0);
    assert_string_equal(got.thana, "PAT-PHW");
    /* HQ (no locality) moves to Gaya; a point near nothing leaves it at HQ */
    open_case(f, f->mid2, NULL, &c);
    assert_string_equal(c.routing, "hq");
    assert_int_equal(grp_tip_route_by_place(f->t, f->r, c.id, 28.6, 77.2, &moved, &err), 0);
    assert_int_equal(moved, 0);
    assert_int_equal(grp_tip_get(f->t, f->r, &v, c.id, &got, &err), 0);
    assert_string_equal(got.routing, "hq");
    assert_int_equal(grp_tip_route_by_place(f->t, f->r, c.id, 24.80, 85.01, &moved, &err), 0);
    assert_int_equal(moved, 1);
    assert_int_equal(grp_tip_get(f->t, f->r, &v, c.id, &got, &err), 0);
    assert_string_equal(got.thana, "GAYA-1");
    assert_string_equal(got.district, "GAYA");
    /* a thana chosen on opening stays; nonsense points are ignored */
    open_case(f, f->mid1, "PAT-PHW", &c);
    assert_int_equal(grp_tip_route_by_place(f->t, f->r, c.id, 24.79, 85.0, &moved, &err), 0);
    assert_int_equal(moved, 0);
    assert_int_equal(grp_tip_get(f->t, f->r, &v, c.id, &got, &err), 0);
    assert_string_equal(got.thana, "PAT-PHW");
    assert_string_equal(got.routing, "chosen");
    assert_int_equal(grp_tip_route_by_place(f->t, f->r, c.id, 999.0, 85.0, &moved, &err), 0);
    assert_int_equal(moved, 0);
}

/* Retention: closed long enough ago ⇒ every key gone (dry run first);
 * open cases, however old, and recently closed ones stay; a leftover of a
 * crashed purge is finished; days < 1 refused. */
static void test_retention_purge(void **state)
{
    struct fixture *f = *state;
    struct grp_tip_case a, b, c, d;
    struct grp_tip_case got;
    struct grp_tip_added ad;
    struct grp_tip_viewer v;
    struct grp_tip_purge_stats st;
    struct gw_event ev = ev_text(SECRET_TEXT);
    struct core_err err;
    unsigned char bytes[100] = {1, 2, 3};
    long long old = (long long)core_now_ms() - 40LL * 86400000;
    long long recent = (long long)core_now_ms() - 10LL * 86400000;
    char code[8];
    redisReply *k;

    grp_tip_viewer_operator(&v, "cli:test");
    open_case(f, f->mid1, NULL, &a);
    add(f, f->mid1, a.id, &ev, &ad);
    memset(&ev, 0, sizeof ev);
    ev.type = "image";
    ev.media_id = "78";
    ev.mime_type = "image/jpeg";
    add(f, f->mid1, a.id, &ev, &ad);
    assert_int_equal(grp_tip_media_store(f->t, f->r, a.id, ad.n, bytes, sizeof bytes, &err), 0);
    assert_int_equal(grp_tip_close(f->t, f->r, &v, a.id, NULL, &err), 0);
    open_case(f, f->mid2, NULL, &b); /* stays open */
    assert_int_equal(grp_tip_session_end(f->t, f->r, f->mid1, &err), 0);
    open_case(f, f->mid1, NULL, &c); /* closed recently */
    assert_int_equal(grp_tip_close(f->t, f->r, &v, c.id, NULL, &err), 0);
    assert_int_equal(grp_tip_session_end(f->t, f->r, f->mid1, &err), 0);
    open_case(f, f->mid1, NULL, &d); /* a crashed purge's leftover */
    assert_int_equal(grp_tip_close(f->t, f->r, &v, d.id, NULL, &err), 0);
    /* age them: a and d closed 40 days ago, b idle as long, c closed 10 */
    th_redis_int(&f->redis, "HSET js:tip:{%s} cl %lld ut %lld", a.id, old, old);
    th_redis_int(&f->redis, "HSET js:tip:{%s} cl %lld ut %lld", d.id, old, old);
    th_redis_int(&f->redis, "HSET js:tip:{%s} cl %lld ut %lld", c.id, recent, old);
    th_redis_int(&f->redis, "ZADD js:tip:all %lld %s %lld %s %lld %s %lld %s", old, a.id, old,
                 b.id, old, c.id, old, d.id);
    th_redis_int(&f->redis, "DEL js:tip:{%s}", d.id);

    assert_int_equal(grp_tip_purge(f->t, f->r, 0, 0, "cli:test", &st, &err), -1);
    assert_int_equal(grp_tip_purge(f->t, f->r, 30, 1, "cli:test", &st, &err), 0);
    assert_int_equal(st.purged, 2); /* a, and d's leftover */
    assert_int_equal(st.open_old, 1);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS js:tip:{%s}", a.id), 1); /* dry */
    assert_int_equal(grp_tip_purge(f->t, f->r, 30, 0, "cli:test", &st, &err), 0);
    assert_int_equal(st.purged, 1); /* the leftover is finished, not counted */
    assert_int_equal(st.items, 2);
    assert_int_equal(st.open_old, 1);
    k = th_redis_cmd(&f->redis, "KEYS js:tip:{%s}*", a.id);
    assert_int_equal(k->elements, 0);
    freeReplyObject(k);
    snprintf(code, sizeof code, "%.4s%.2s", a.pseudonym + 2, a.pseudonym + 7);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS js:tip:ps:%s", code), 0);
    assert_int_equal(th_redis_int(&f->redis, "ZSCORE js:tip:all %s", a.id), -1);
    assert_int_equal(th_redis_int(&f->redis, "ZSCORE js:tip:all %s", d.id), -1);
    assert_int_equal(grp_tip_get(f->t, f->r, &v, a.id, &got, &err), -1);
    assert_int_equal(err.code, CORE_EX_NOINPUT);
    assert_int_equal(grp_tip_get(f->t, f->r, &v, a.pseudonym, &got, &err), -1);
    /* b (open) and c (closed 10 days ago) are untouched */
    assert_int_equal(grp_tip_get(f->t, f->r, &v, b.id, &got, &err), 0);
    assert_string_equal(got.state, "open");
    assert_int_equal(grp_tip_get(f->t, f->r, &v, c.pseudonym, &got, &err), 0);
    assert_string_equal(got.id, c.id);
    assert_int_equal(grp_tip_purge(f->t, f->r, 30, 0, "cli:test", &st, &err), 0);
    assert_int_equal(st.purged, 0); /* nothing twice */
    assert_int_equal(grp_tip_purge(f->t, f->r, 5, 0, "cli:test", &st, &err), 0);
    assert_int_equal(st.purged, 1); /* c, with a shorter retention */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pseudonym_format_and_check),
        cmocka_unit_test(test_pseudonym_scan),
        cmocka_unit_test_setup_teardown(test_pseudonyms_unique, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_routing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_in_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sealed_identity_and_relay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_items, setup, teardown),
        cmocka_unit_test_setup_teardown(test_views_and_jurisdiction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follow_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions_close_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_media_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_by_place, setup, teardown),
    };

    if (sodium_init() < 0)
        return 1;
    cry_reveal_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
