/*
 * tests/unit/test_mrec.c - crypto/mrec, the packed member record, against a
 * real redis-server: pack/unpack round trips (every field, empty and absent
 * values, the largest values and integers), malformed records refused with a
 * clear error (by the codec, by loading and by the update script), every
 * update operation (set, delete, set-if-absent, raise, increment, compare),
 * bounds, a record deleted when emptied, the bucket keys and their listpack
 * encoding, and concurrent increments from several connections never lost.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/redis.h"
#include "crypto/mrec.h"
#include "tests/harness/harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MID "0123456789abcdef0123456789abcdef"
#define MID2 "0123ffffffffffffffffffffffffffff" /* same bucket as MID */
#define MID3 "fedcba98765432100123456789abcdef"

struct fixture {
    char *dir;
    struct th_redis redis;
    struct core_redis *r;
};

static struct core_redis *connect_to(const struct fixture *f)
{
    struct core_redis_opts o = {f->redis.addr, NULL, NULL, 5000};

    return core_redis_new(&o);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = th_tmpdir("mrec");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    f->r = connect_to(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    core_redis_free(f->r);
    th_redis_stop(&f->redis, 0);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static struct cry_mrec *new_rec(void)
{
    return calloc(1, sizeof(struct cry_mrec));
}

static void update_ok(struct fixture *f, const char *mid, const struct cry_mrec_ops *o,
                      int want_applied)
{
    struct core_err err;
    int applied = -1;

    if (cry_mrec_update(f->r, mid, o, &applied, &err) != 0)
        fail_msg("update: %s", err.msg);
    assert_int_equal(applied, want_applied);
}

/* Store raw bytes as member MID's record. */
static void plant(struct fixture *f, const char *mid, const void *raw, size_t len)
{
    char key[CRY_MREC_KEY_MAX];
    unsigned char bin[CRY_MREC_MID_BYTES];

    assert_int_equal(cry_mrec_mid_to_bin(mid, bin), 0);
    cry_mrec_key(mid, key);
    freeReplyObject(th_redis_cmd(&f->redis, "HSET %s %b %b", key, (const char *)bin, sizeof bin,
                                 (const char *)raw, len));
}

/* ---- codec ---- */

static void test_names_and_keys(void **state)
{
    char key[CRY_MREC_KEY_MAX];
    unsigned char bin[CRY_MREC_MID_BYTES];

    (void)state;
    cry_mrec_key(MID, key);
    assert_string_equal(key, "js:mb:{0123}");
    assert_int_equal(cry_mrec_mid_to_bin(MID, bin), 0);
    assert_int_equal(bin[0], 0x01);
    assert_int_equal(bin[15], 0xef);
    assert_int_equal(cry_mrec_mid_to_bin("0123", bin), -1);
    assert_int_equal(cry_mrec_mid_to_bin("0123456789ABCDEF0123456789abcdef", bin), -1);
    assert_int_equal(cry_mrec_mid_to_bin(MID "0", bin), -1);
    assert_int_equal(cry_mrec_tag("st"), CRY_MR_ST);
    assert_int_equal(cry_mrec_tag("nm"), -1); /* names are not member fields */
    assert_string_equal(cry_mrec_tag_name(CRY_MR_LI), "li");
}

static void test_round_trip(void **state)
{
    struct cry_mrec *a = new_rec();
    struct cry_mrec *b = new_rec();
    unsigned char *packed = malloc(CRY_MREC_MAX);
    unsigned char store[CRY_MR_TAGS][32];
    char *big = malloc(CRY_MREC_VALUE_MAX + 1);
    char out[CRY_MREC_VALUE_MAX + 1];
    struct core_err err;
    size_t n;
    int t;

    (void)state;
    /* every field present, the integers at 0 (empty value) and the maximum */
    assert_int_equal(cry_mrec_decode(NULL, 0, a, &err), 0);
    assert_false(a->exists);
    for (t = 1; t < CRY_MR_TAGS; t++) {
        static const char *const text[CRY_MR_TAGS] = {
            [CRY_MR_CT] = "0",        [CRY_MR_LI] = "281474976710655",
            [CRY_MR_MG] = MID3,       [CRY_MR_ST] = "muted",
            [CRY_MR_G] = "",          [CRY_MR_LANG] = "en",
            [CRY_MR_DS] = "join:pick", [CRY_MR_DD] = "{\"t\":1}",
            [CRY_MR_CV] = "3",        [CRY_MR_CTS] = "1763800000",
            [CRY_MR_JT] = "255",      [CRY_MR_NP] = "256",
            [CRY_MR_SK] = "65536",    [CRY_MR_LBL] = "K7Q2",
        };

        if (t == CRY_MR_WA || t == CRY_MR_UID) {
            memset(store[t], t, sizeof store[t]); /* binary, with no NUL */
            n = sizeof store[t];
        } else {
            assert_int_equal(cry_mrec_encode_value(t, text[t], store[t], sizeof store[t], &n), 0);
        }
        a->v[t] = store[t];
        a->len[t] = n;
    }
    n = cry_mrec_encode(a, packed, CRY_MREC_MAX);
    assert_true(n > 0);
    assert_int_equal(packed[0], CRY_MREC_FORMAT);
    assert_int_equal(cry_mrec_decode(packed, n, b, &err), 0);
    assert_true(b->exists);
    for (t = 1; t < CRY_MR_TAGS; t++) {
        assert_non_null(b->v[t]);
        assert_int_equal(b->len[t], a->len[t]);
        assert_memory_equal(b->v[t], a->v[t], a->len[t]);
    }
    assert_int_equal(cry_mrec_int(b, CRY_MR_CT), 0);
    assert_int_equal(cry_mrec_raw(b, CRY_MR_CT, NULL) != NULL, 1); /* 0 is present */
    assert_int_equal(cry_mrec_int(b, CRY_MR_LI), CRY_MREC_INT_MAX - 1);
    assert_int_equal(cry_mrec_int(b, CRY_MR_SK), 65536);
    assert_int_equal(cry_mrec_str(b, CRY_MR_ST, out, sizeof out), 1);
    assert_string_equal(out, "muted");
    assert_int_equal(cry_mrec_str(b, CRY_MR_MG, out, sizeof out), 1);
    assert_string_equal(out, MID3);
    assert_int_equal(cry_mrec_str(b, CRY_MR_G, out, sizeof out), 1); /* empty, present */
    assert_string_equal(out, "");
    assert_int_equal(cry_mrec_str(b, CRY_MR_CTS, out, sizeof out), 1);
    assert_string_equal(out, "1763800000");
    assert_int_equal(cry_mrec_int(b, CRY_MR_ST), 0); /* not an integer field */

    /* absent fields take no room and read as absent */
    memset(a, 0, sizeof *a);
    a->v[CRY_MR_ST] = store[CRY_MR_ST];
    a->len[CRY_MR_ST] = 1;
    n = cry_mrec_encode(a, packed, CRY_MREC_MAX);
    assert_int_equal(n, 1 + 2 + 1);
    assert_int_equal(cry_mrec_decode(packed, n, b, &err), 0);
    assert_null(cry_mrec_raw(b, CRY_MR_G, NULL));
    assert_int_equal(cry_mrec_str(b, CRY_MR_G, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(cry_mrec_int(b, CRY_MR_LI), 0);
    /* only the format byte: a record without fields */
    assert_int_equal(cry_mrec_decode(packed, 1, b, &err), 0);
    assert_true(b->exists);

    /* the largest value (2-byte length), and one byte more is refused */
    memset(big, 'x', CRY_MREC_VALUE_MAX);
    big[CRY_MREC_VALUE_MAX] = '\0';
    memset(a, 0, sizeof *a);
    a->v[CRY_MR_DD] = (const unsigned char *)big;
    a->len[CRY_MR_DD] = CRY_MREC_VALUE_MAX;
    n = cry_mrec_encode(a, packed, CRY_MREC_MAX);
    assert_int_equal(n, 1 + 3 + CRY_MREC_VALUE_MAX);
    assert_int_equal(cry_mrec_decode(packed, n, b, &err), 0);
    assert_int_equal(b->len[CRY_MR_DD], CRY_MREC_VALUE_MAX);
    assert_int_equal(cry_mrec_encode_value(CRY_MR_DD, big, (unsigned char *)out, sizeof out, &n),
                     0);
    big[CRY_MREC_VALUE_MAX] = 'x';
    big = realloc(big, CRY_MREC_VALUE_MAX + 2);
    big[CRY_MREC_VALUE_MAX + 1] = '\0';
    assert_int_equal(cry_mrec_encode_value(CRY_MR_DD, big, (unsigned char *)out, sizeof out, &n),
                     -1);
    /* a record longer than CRY_MREC_MAX does not encode */
    a->v[CRY_MR_DS] = (const unsigned char *)big;
    a->len[CRY_MR_DS] = CRY_MREC_VALUE_MAX;
    assert_int_equal(cry_mrec_encode(a, packed, CRY_MREC_MAX), 0);
    /* values that do not encode */
    assert_int_equal(cry_mrec_encode_value(CRY_MR_ST, "bogus", store[0], 32, &n), -1);
    assert_int_equal(cry_mrec_encode_value(CRY_MR_LI, "-1", store[0], 32, &n), -1);
    assert_int_equal(cry_mrec_encode_value(CRY_MR_LI, "281474976710656", store[0], 32, &n), -1);
    assert_int_equal(cry_mrec_encode_value(CRY_MR_LI, "12x", store[0], 32, &n), -1);
    assert_int_equal(cry_mrec_encode_value(CRY_MR_MG, "abc", store[0], 32, &n), -1);
    free(big);
    free(packed);
    free(b);
    free(a);
}

static void test_malformed(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *what;
        const char *raw;
        size_t len;
    } bad[] = {
        {"empty", "", 0},
        {"unknown format", "\x02\x06\x01\x02", 4},
        {"truncated header", "\x01\x06", 2},
        {"value past the end", "\x01\x07\x05" "ab", 5},
        {"2-byte length cut", "\x01\x0a\x80", 3},
        {"repeated tag", "\x01\x06\x01\x02\x06\x01\x02", 7},
        {"unknown tag", "\x01\x3f\x01\x02", 4},
        {"tag 0", "\x01\x00\x01\x02", 4},
        {"state out of range", "\x01\x06\x01\x09", 4},
        {"integer too long", "\x01\x04\x07\x01\x02\x03\x04\x05\x06\x07", 10},
        {"integer not minimal", "\x01\x04\x02\x05\x00", 5},
        {"mid too short", "\x01\x05\x02\x01\x02", 5},
    };
    struct cry_mrec *m = new_rec();
    struct cry_mrec_ops o;
    struct core_err err;
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cry_mrec_decode(bad[i].raw, bad[i].len, m, &err), -1);
        assert_int_equal(err.code, CORE_EX_DATAERR);
        assert_non_null(strstr(err.msg, "malformed"));
        assert_false(m->exists);
        assert_null(cry_mrec_raw(m, CRY_MR_ST, NULL));
    }
    /* through Redis: loading fails clearly, and so does an update (the
     * script refuses to build on it) - nothing is overwritten */
    plant(f, MID, "\x01\x07\x05" "ab", 5);
    assert_int_equal(cry_mrec_load(f->r, MID, m, &err), -1);
    assert_int_equal(err.code, CORE_EX_DATAERR);
    cry_mrec_ops_init(&o);
    cry_mrec_op_incr(&o, CRY_MR_NP, 1);
    assert_int_equal(cry_mrec_update(f->r, MID, &o, NULL, &err), -1);
    assert_int_equal(err.code, CORE_EX_DATAERR);
    assert_non_null(strstr(err.msg, "malformed"));
    plant(f, MID, "\x09", 1);
    assert_int_equal(cry_mrec_update(f->r, MID, &o, NULL, &err), -1);
    assert_int_equal(err.code, CORE_EX_DATAERR);
    free(m);
}

/* ---- updates ---- */

static void test_operations(void **state)
{
    struct fixture *f = *state;
    struct cry_mrec *m = new_rec();
    struct cry_mrec_ops o;
    struct core_err err;
    char out[64];
    static const unsigned char sealed[5] = {0, 1, 0, 2, 0}; /* binary, with NULs */
    static const unsigned char other[3] = {9, 9, 9};

    /* no record: loads as absent, exists reports it; so does a string
     * that is not a mid (pipelined too) */
    assert_int_equal(cry_mrec_load(f->r, MID, m, &err), 0);
    assert_false(m->exists);
    assert_int_equal(cry_mrec_exists(f->r, MID, &err), 0);
    assert_int_equal(cry_mrec_load(f->r, "nope", m, &err), 0);
    assert_false(m->exists);
    assert_int_equal(cry_mrec_exists(f->r, "", &err), 0);
    {
        redisReply *rep;

        assert_int_equal(cry_mrec_append_load(f->r, "not a mid", &err), 0);
        assert_int_equal(cry_mrec_append_load(f->r, MID, &err), 0);
        for (int k = 0; k < 2; k++) {
            assert_int_equal(core_redis_get_reply(f->r, &rep, &err), 0);
            assert_int_equal(cry_mrec_from_reply(rep, m, &err), 0);
            assert_false(m->exists);
            freeReplyObject(rep);
        }
    }
    /* set, set-if-absent, raise */
    cry_mrec_ops_init(&o);
    cry_mrec_op_set(&o, CRY_MR_ST, "active");
    cry_mrec_op_set(&o, CRY_MR_G, "HLD-01");
    cry_mrec_op_setnx_int(&o, CRY_MR_CT, 1000);
    cry_mrec_op_max(&o, CRY_MR_LI, 50);
    cry_mrec_op_set_raw(&o, CRY_MR_WA, sealed, sizeof sealed);
    update_ok(f, MID, &o, 1);
    assert_int_equal(cry_mrec_exists(f->r, MID, &err), 1);
    cry_mrec_ops_init(&o);
    cry_mrec_op_setnx_int(&o, CRY_MR_CT, 2000); /* kept */
    cry_mrec_op_max(&o, CRY_MR_LI, 40);         /* lower: kept */
    update_ok(f, MID, &o, 1);
    assert_int_equal(cry_mrec_load(f->r, MID, m, &err), 0);
    assert_true(m->exists);
    assert_int_equal(cry_mrec_int(m, CRY_MR_CT), 1000);
    assert_int_equal(cry_mrec_int(m, CRY_MR_LI), 50);
    cry_mrec_str(m, CRY_MR_ST, out, sizeof out);
    assert_string_equal(out, "active");
    cry_mrec_str(m, CRY_MR_G, out, sizeof out);
    assert_string_equal(out, "HLD-01");
    {
        size_t len = 0;
        const unsigned char *v = cry_mrec_raw(m, CRY_MR_WA, &len);

        assert_int_equal(len, sizeof sealed);
        assert_memory_equal(v, sealed, sizeof sealed);
    }
    /* compare: a stale expectation writes nothing, a right one writes */
    cry_mrec_ops_init(&o);
    cry_mrec_op_expect_raw(&o, CRY_MR_WA, other, sizeof other);
    cry_mrec_op_set(&o, CRY_MR_G, "SRP-01");
    update_ok(f, MID, &o, 0);
    cry_mrec_ops_init(&o);
    cry_mrec_op_set(&o, CRY_MR_G, "SRP-01"); /* compares apply first, wherever placed */
    cry_mrec_op_expect_raw(&o, CRY_MR_UID, NULL, 0);
    cry_mrec_op_expect_raw(&o, CRY_MR_UID, other, sizeof other);
    update_ok(f, MID, &o, 0);
    cry_mrec_ops_init(&o);
    cry_mrec_op_expect_raw(&o, CRY_MR_WA, sealed, sizeof sealed);
    cry_mrec_op_expect_raw(&o, CRY_MR_UID, NULL, 0);
    cry_mrec_op_set_raw(&o, CRY_MR_WA, other, sizeof other);
    cry_mrec_op_set(&o, CRY_MR_G, "SRP-01");
    update_ok(f, MID, &o, 1);
    assert_int_equal(cry_mrec_load(f->r, MID, m, &err), 0);
    cry_mrec_str(m, CRY_MR_G, out, sizeof out);
    assert_string_equal(out, "SRP-01");
    /* increments, from absent */
    cry_mrec_ops_init(&o);
    cry_mrec_op_incr(&o, CRY_MR_NP, 1);
    cry_mrec_op_incr(&o, CRY_MR_SK, 300);
    update_ok(f, MID, &o, 1);
    update_ok(f, MID, &o, 1);
    assert_int_equal(cry_mrec_load(f->r, MID, m, &err), 0);
    assert_int_equal(cry_mrec_int(m, CRY_MR_NP), 2);
    assert_int_equal(cry_mrec_int(m, CRY_MR_SK), 600);
    /* a counter never goes below 0 */
    cry_mrec_ops_init(&o);
    cry_mrec_op_incr(&o, CRY_MR_NP, -3);
    assert_int_equal(cry_mrec_update(f->r, MID, &o, NULL, &err), -1);
    assert_int_equal(err.code, CORE_EX_DATAERR);
    /* values that do not encode fail the whole update, before Redis */
    cry_mrec_ops_init(&o);
    cry_mrec_op_set(&o, CRY_MR_G, "X-01");
    cry_mrec_op_set(&o, CRY_MR_ST, "bogus");
    assert_int_equal(cry_mrec_update(f->r, MID, &o, NULL, &err), -1);
    assert_int_equal(err.code, CORE_EX_DATAERR);
    cry_mrec_ops_init(&o);
    cry_mrec_op_incr(&o, CRY_MR_G, 1); /* not an integer field */
    assert_int_equal(cry_mrec_update(f->r, MID, &o, NULL, &err), -1);
    assert_int_equal(cry_mrec_update(f->r, "not-a-mid", &o, NULL, &err), -1);
    assert_int_equal(cry_mrec_load(f->r, MID, m, &err), 0);
    cry_mrec_str(m, CRY_MR_G, out, sizeof out);
    assert_string_equal(out, "SRP-01"); /* untouched */
    /* a record longer than CRY_MREC_MAX is refused by the script */
    {
        char *big = malloc(CRY_MREC_VALUE_MAX + 1);

        memset(big, 'x', CRY_MREC_VALUE_MAX);
        big[CRY_MREC_VALUE_MAX] = '\0';
        cry_mrec_ops_init(&o);
        cry_mrec_op_set(&o, CRY_MR_DD, big);
        update_ok(f, MID, &o, 1);
        cry_mrec_ops_init(&o);
        cry_mrec_op_set(&o, CRY_MR_DS, big);
        assert_int_equal(cry_mrec_update(f->r, MID, &o, NULL, &err), -1);
        assert_int_equal(err.code, CORE_EX_DATAERR);
        free(big);
    }
    /* a second member in the same bucket is independent */
    cry_mrec_ops_init(&o);
    cry_mrec_op_set(&o, CRY_MR_ST, "left");
    update_ok(f, MID2, &o, 1);
    assert_int_equal(th_redis_int(&f->redis, "HLEN js:mb:{0123}"), 2);
    /* delete every field: the record goes, the bucket keeps the other */
    cry_mrec_ops_init(&o);
    for (int t = 1; t < CRY_MR_TAGS; t++)
        cry_mrec_op_del(&o, t);
    update_ok(f, MID, &o, 1);
    assert_int_equal(cry_mrec_exists(f->r, MID, &err), 0);
    assert_int_equal(th_redis_int(&f->redis, "HLEN js:mb:{0123}"), 1);
    /* more than CRY_MREC_OPS_MAX operations: refused */
    cry_mrec_ops_init(&o);
    for (int i = 0; i <= CRY_MREC_OPS_MAX; i++)
        cry_mrec_op_incr(&o, CRY_MR_NP, 1);
    assert_int_equal(cry_mrec_update(f->r, MID, &o, NULL, &err), -1);
    free(m);
}

/* Pipelined reads and updates, and the bucket stays a listpack when Redis
 * is configured as docs/operations.md says. */
static void test_pipeline_and_encoding(void **state)
{
    struct fixture *f = *state;
    struct cry_mrec *m = new_rec();
    struct cry_mrec_ops o;
    struct core_err err;
    redisReply *rep;
    char out[16];
    int i;

    freeReplyObject(th_redis_cmd(&f->redis, "CONFIG SET hash-max-listpack-entries %d",
                                 CRY_MREC_LISTPACK_ENTRIES));
    freeReplyObject(th_redis_cmd(&f->redis, "CONFIG SET hash-max-listpack-value %d",
                                 CRY_MREC_LISTPACK_VALUE));
    /* a new redis-server: the script is loaded before the pipeline */
    assert_int_equal(cry_mrec_prepare(f->r, &err), 0);
    for (i = 0; i < 300; i++) {
        char mid[40];

        snprintf(mid, sizeof mid, "abcd%028x", i);
        cry_mrec_ops_init(&o);
        cry_mrec_op_set(&o, CRY_MR_ST, "active");
        cry_mrec_op_set_int(&o, CRY_MR_LI, 1763800000 + i);
        assert_int_equal(cry_mrec_append_update(f->r, mid, &o, &err), 0);
    }
    for (i = 0; i < 300; i++) {
        int applied = 0;

        assert_int_equal(core_redis_get_reply(f->r, &rep, &err), 0);
        assert_int_equal(cry_mrec_update_reply(rep, &applied, &err), 0);
        assert_int_equal(applied, 1);
        freeReplyObject(rep);
    }
    assert_int_equal(th_redis_int(&f->redis, "HLEN js:mb:{abcd}"), 300);
    rep = th_redis_cmd(&f->redis, "OBJECT ENCODING js:mb:{abcd}");
    assert_string_equal(rep->str, "listpack");
    freeReplyObject(rep);
    for (i = 0; i < 300; i++) {
        char mid[40];

        snprintf(mid, sizeof mid, "abcd%028x", i);
        assert_int_equal(cry_mrec_append_load(f->r, mid, &err), 0);
    }
    for (i = 0; i < 300; i++) {
        assert_int_equal(core_redis_get_reply(f->r, &rep, &err), 0);
        assert_int_equal(cry_mrec_from_reply(rep, m, &err), 0);
        assert_int_equal(cry_mrec_int(m, CRY_MR_LI), 1763800000 + i);
        cry_mrec_str(m, CRY_MR_ST, out, sizeof out);
        assert_string_equal(out, "active");
        freeReplyObject(rep);
    }
    free(m);
}

/* ---- concurrency ---- */

#define THREADS 4
#define INCRS 300

struct worker {
    struct fixture *f;
    int rc;
};

static void *incr_worker(void *arg)
{
    struct worker *w = arg;
    struct core_redis *r = connect_to(w->f);
    struct cry_mrec_ops o;
    struct core_err err;

    for (int i = 0; i < INCRS && w->rc == 0; i++) {
        cry_mrec_ops_init(&o);
        cry_mrec_op_incr(&o, CRY_MR_NP, 1);
        /* a read-modify-write of another field at the same time */
        cry_mrec_op_max(&o, CRY_MR_LI, i);
        w->rc = cry_mrec_update(r, MID, &o, NULL, &err);
    }
    core_redis_free(r);
    return NULL;
}

static void test_concurrent_increments(void **state)
{
    struct fixture *f = *state;
    struct worker w[THREADS];
    pthread_t th[THREADS];
    struct cry_mrec *m = new_rec();
    struct core_err err;
    int i;

    for (i = 0; i < THREADS; i++) {
        w[i].f = f;
        w[i].rc = 0;
        assert_int_equal(pthread_create(&th[i], NULL, incr_worker, &w[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, 0);
    }
    assert_int_equal(cry_mrec_load(f->r, MID, m, &err), 0);
    assert_int_equal(cry_mrec_int(m, CRY_MR_NP), THREADS * INCRS);
    assert_int_equal(cry_mrec_int(m, CRY_MR_LI), INCRS - 1);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_keys),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_operations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_and_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_increments, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
