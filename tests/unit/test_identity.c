/*
 * tests/unit/test_identity.c - crypto/identity against a real redis-server:
 * members created once and found again, stable mids (known answer), BSUID
 * and wa_id linking, merges, number and user-id changes (idempotent, old
 * index removed, late messages cannot undo them), li as a maximum, names
 * never stored, the number sealed padded to 16 bytes, racing routers, moved
 * or swapped ciphertexts refused, nothing in clear in Redis, and the router
 * handler.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/redis.h"
#include "crypto/bidx.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "crypto/mrec.h"
#include "crypto/vault.h"
#include "gateway/webhook.h"
#include "tests/harness/harness.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WA "919812345678"
#define WA2 "919876501234"
#define UID "IN.15702938471625384950"
#define UID2 "IN.88213344556677889900"

struct fixture {
    char *dir;
    struct th_redis redis;
    struct core_redis *r;
    struct cry_keys *keys;
    struct cry_identity *id;
};

static struct cry_keys *test_keys(void)
{
    unsigned char root[32];
    unsigned char seed[32];
    struct cry_keys *k;
    int i;

    for (i = 0; i < 32; i++) {
        root[i] = (unsigned char)i;
        seed[i] = (unsigned char)(32 + i);
    }
    k = cry_keys_from_bytes(root, seed);
    cry_keys_set_version(k, 1);
    return k;
}

static struct core_redis *connect_to(const struct fixture *f)
{
    struct core_redis_opts o = {f->redis.addr, NULL, NULL, 5000};

    return core_redis_new(&o);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = th_tmpdir("identity");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    f->r = connect_to(f);
    f->keys = test_keys();
    f->id = cry_identity_new(f->keys);
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

static void resolve_ok(struct fixture *f, const char *wa, const char *uid, const char *name,
                       int64_t ts, char mid[CRY_MID_LEN], int *created)
{
    struct core_err err;

    core_err_clear(&err);
    if (cry_identity_resolve(f->id, f->r, wa, uid, name, ts, mid, created, &err) != 0)
        fail_msg("resolve: %s", err.msg);
    assert_true(cry_identity_is_mid(mid));
}

static struct cry_member_pii *open_ok(struct fixture *f, const char *mid)
{
    struct cry_member_pii *p = NULL;
    struct core_err err;

    if (cry_identity_open(f->id, f->r, mid, &p, &err) != 0)
        fail_msg("open: %s", err.msg);
    return p;
}

static int find(struct fixture *f, const char *wa, const char *uid, char mid[CRY_MID_LEN])
{
    struct core_err err;
    int found = 0;

    assert_int_equal(cry_identity_find(f->id, f->r, wa, uid, mid, &found, &err), 0);
    return found;
}

/* Every key and every value in Redis, concatenated (to look for plaintext):
 * read by type, so that no compressed DUMP hides a value. */
static char *dump_all(struct fixture *f, size_t *len)
{
    redisReply *keys = th_redis_cmd(&f->redis, "KEYS *");
    size_t cap = 1 << 20;
    char *out = malloc(cap);
    size_t n = 0;
    size_t i;

    for (i = 0; i < keys->elements; i++) {
        const char *k = keys->element[i]->str;
        redisReply *t = th_redis_cmd(&f->redis, "TYPE %s", k);
        redisReply *v;
        size_t e;

        if (strcmp(t->str, "hash") == 0)
            v = th_redis_cmd(&f->redis, "HGETALL %s", k);
        else if (strcmp(t->str, "set") == 0)
            v = th_redis_cmd(&f->redis, "SMEMBERS %s", k);
        else if (strcmp(t->str, "string") == 0)
            v = th_redis_cmd(&f->redis, "GET %s", k);
        else
            v = th_redis_cmd(&f->redis, "DUMP %s", k);
        freeReplyObject(t);
        for (e = 0; e <= (v->type == REDIS_REPLY_ARRAY ? v->elements : 1); e++) {
            const char *p = e == 0 ? k : v->type == REDIS_REPLY_ARRAY ? v->element[e - 1]->str
                                                                      : v->str;
            size_t l = e == 0 ? keys->element[i]->len
                       : v->type == REDIS_REPLY_ARRAY ? v->element[e - 1]->len
                       : v->type == REDIS_REPLY_STRING ? v->len
                                                       : 0;

            if (n + l + 1 > cap) {
                cap = (n + l + 1) * 2;
                out = realloc(out, cap);
            }
            memcpy(out + n, p, l);
            n += l;
        }
        freeReplyObject(v);
    }
    freeReplyObject(keys);
    *len = n;
    return out;
}

static void test_create_find_open(void **state)
{
    struct fixture *f = *state;
    char mid[CRY_MID_LEN], again[CRY_MID_LEN], found[CRY_MID_LEN];
    struct cry_member_pii *p;
    int created = -1;
    size_t len;
    char *all;

    assert_int_equal(find(f, WA, NULL, found), 0);
    resolve_ok(f, WA, NULL, "रमेश कुमार", 1763800000, mid, &created);
    assert_int_equal(created, 1);
    /* the known-answer mid of this number under the test root key */
    assert_string_equal(mid, "eb2fda1f732be1cf3e63d340a2ed75a9");
    resolve_ok(f, "+" WA, NULL, "रमेश कुमार", 1763800100, again, &created);
    assert_int_equal(created, 0);
    assert_string_equal(again, mid);
    assert_int_equal(find(f, WA, NULL, found), 1);
    assert_string_equal(found, mid);
    p = open_ok(f, mid);
    assert_string_equal(p->wa_id, WA);
    assert_string_equal(p->user_id, "");
    assert_int_equal(p->key_version, 1);
    assert_int_equal(p->last_inbound, 1763800100);
    assert_true(p->created > 0);
    assert_string_equal(p->merged_into, "");
    cry_member_pii_free(p);
    /* nothing identifying in clear anywhere in Redis */
    all = dump_all(f, &len);
    assert_null(memmem(all, len, "9812345678", 10));
    assert_null(memmem(all, len, "रमेश", strlen("रमेश")));
    free(all);
    assert_int_equal(th_redis_int(&f->redis, "DBSIZE"), 2); /* one index, one record */
}

static void test_li_is_a_maximum_and_names_not_stored(void **state)
{
    struct fixture *f = *state;
    char mid[CRY_MID_LEN], m2[CRY_MID_LEN];
    struct cry_member_pii *p;
    struct cry_mrec *before = malloc(sizeof *before);
    struct cry_mrec *after = malloc(sizeof *after);
    size_t blen = 0, alen = 0;
    size_t len;
    char *all;

    resolve_ok(f, WA, NULL, "Ramesh", 2000, mid, NULL);
    resolve_ok(f, WA, NULL, "Ramesh", 1000, m2, NULL); /* older message: li stays */
    p = open_ok(f, mid);
    assert_int_equal(p->last_inbound, 2000);
    cry_member_pii_free(p);
    assert_int_equal(th_member_load(&f->redis, mid, before), 0);
    assert_non_null(cry_mrec_raw(before, CRY_MR_WA, &blen));
    /* the number is sealed in the short format: 32 + 16 + 16 bytes */
    assert_int_equal(blen, CRY_VAULT_HEADERBYTES + CRY_VAULT_PADBLOCK_SHORT + CRY_VAULT_ABYTES);
    resolve_ok(f, WA, NULL, "Ramesh K", 3001, m2, NULL);
    assert_int_equal(th_member_load(&f->redis, mid, after), 0);
    assert_non_null(cry_mrec_raw(after, CRY_MR_WA, &alen));
    assert_int_equal(alen, blen);
    assert_memory_equal(cry_mrec_raw(before, CRY_MR_WA, NULL), cry_mrec_raw(after, CRY_MR_WA, NULL),
                        blen); /* not even re-sealed */
    assert_int_equal(cry_mrec_int(after, CRY_MR_LI), 3001);
    free(after);
    free(before);
    p = open_ok(f, mid);
    assert_int_equal(p->last_inbound, 3001);
    cry_member_pii_free(p);
    /* the profile name is stored nowhere, sealed or not */
    all = dump_all(f, &len);
    assert_null(memmem(all, len, "Ramesh", 6));
    free(all);
}

static void test_bsuid_and_wa_linking(void **state)
{
    struct fixture *f = *state;
    char a[CRY_MID_LEN], b[CRY_MID_LEN], c[CRY_MID_LEN];
    struct cry_member_pii *p;
    int created = 0;

    /* both together: one member, both indexes */
    resolve_ok(f, WA, UID, "Vikash", 100, a, &created);
    assert_int_equal(created, 1);
    resolve_ok(f, NULL, UID, NULL, 101, b, &created);
    assert_string_equal(a, b);
    assert_int_equal(created, 0);
    resolve_ok(f, WA, NULL, NULL, 102, c, NULL);
    assert_string_equal(a, c);
    p = open_ok(f, a);
    assert_string_equal(p->wa_id, WA);
    assert_string_equal(p->user_id, UID);
    cry_member_pii_free(p);
    /* BSUID first (a username user), the number shows up later */
    resolve_ok(f, NULL, UID2, "Anjali", 100, a, &created);
    assert_int_equal(created, 1);
    resolve_ok(f, WA2, UID2, NULL, 101, b, &created);
    assert_int_equal(created, 0);
    assert_string_equal(a, b);
    assert_int_equal(find(f, WA2, NULL, c), 1);
    assert_string_equal(a, c);
    p = open_ok(f, a);
    assert_string_equal(p->wa_id, WA2);
    assert_string_equal(p->user_id, UID2);
    cry_member_pii_free(p);
}

static void test_two_members_merge(void **state)
{
    struct fixture *f = *state;
    char a[CRY_MID_LEN], b[CRY_MID_LEN], c[CRY_MID_LEN], d[CRY_MID_LEN];
    struct cry_member_pii *p;

    resolve_ok(f, WA, NULL, NULL, 100, a, NULL);
    resolve_ok(f, NULL, UID, NULL, 101, b, NULL);
    assert_string_not_equal(a, b);
    resolve_ok(f, WA, UID, NULL, 102, c, NULL); /* one person after all */
    assert_string_equal(c, a);                  /* the number's member wins */
    assert_int_equal(find(f, NULL, UID, d), 1);
    assert_string_equal(d, a);
    p = open_ok(f, b);
    assert_string_equal(p->merged_into, a);
    cry_member_pii_free(p);
    p = open_ok(f, a);
    assert_string_equal(p->user_id, UID);
    cry_member_pii_free(p);
}

/* The buckets themselves: index entries are binary (32-byte index -> 16-byte
 * mid) in js:ib:{hhhh}; a merge marks the losing record's mg; a number
 * change deletes the old index entry from its bucket. */
static void test_bucket_layout(void **state)
{
    struct fixture *f = *state;
    char a[CRY_MID_LEN], b[CRY_MID_LEN], c[CRY_MID_LEN];
    unsigned char old_bidx[CRY_BIDX_BYTES], new_bidx[CRY_BIDX_BYTES];
    unsigned char abin[CRY_MID_BYTES];
    char key[32];
    struct cry_mrec *rec = malloc(sizeof *rec);
    char mg[CRY_MID_LEN];
    struct core_err err;
    redisReply *v;

    resolve_ok(f, WA, NULL, NULL, 100, a, NULL);
    resolve_ok(f, NULL, UID, NULL, 101, b, NULL);
    resolve_ok(f, WA, UID, NULL, 102, c, NULL);
    /* the loser's packed record names the winner */
    assert_int_equal(th_member_load(&f->redis, b, rec), 0);
    assert_int_equal(cry_mrec_str(rec, CRY_MR_MG, mg, sizeof mg), 1);
    assert_string_equal(mg, a);
    assert_int_equal(th_member_load(&f->redis, a, rec), 0);
    assert_null(cry_mrec_raw(rec, CRY_MR_MG, NULL));
    assert_non_null(cry_mrec_raw(rec, CRY_MR_UID, NULL));
    /* the number's index entry: binary field and value, in its bucket */
    assert_int_equal(cry_bidx_wa(f->keys, WA, old_bidx, &err), 0);
    cry_identity_index_key(old_bidx, key, sizeof key);
    assert_int_equal(strncmp(key, "js:ib:{", 7), 0);
    assert_int_equal(strlen(key), 12);
    v = th_redis_cmd(&f->redis, "HGET %s %b", key, (const char *)old_bidx,
                     (size_t)CRY_BIDX_BYTES);
    assert_int_equal(v->type, REDIS_REPLY_STRING);
    assert_int_equal(v->len, CRY_MID_BYTES);
    assert_int_equal(cry_mrec_mid_to_bin(a, abin), 0);
    assert_memory_equal(v->str, abin, CRY_MID_BYTES);
    freeReplyObject(v);
    /* a number change deletes the old entry, adds the new one */
    assert_int_equal(cry_identity_change_number(f->id, f->r, WA, WA2, 200, c, &err), 0);
    assert_string_equal(c, a);
    assert_int_equal(th_redis_int(&f->redis, "HEXISTS %s %b", key, (const char *)old_bidx,
                                  (size_t)CRY_BIDX_BYTES),
                     0);
    assert_int_equal(cry_bidx_wa(f->keys, WA2, new_bidx, &err), 0);
    cry_identity_index_key(new_bidx, key, sizeof key);
    assert_int_equal(th_redis_int(&f->redis, "HEXISTS %s %b", key, (const char *)new_bidx,
                                  (size_t)CRY_BIDX_BYTES),
                     1);
    /* no other kind of key: two index buckets at most, member buckets */
    v = th_redis_cmd(&f->redis, "KEYS *");
    for (size_t i = 0; i < v->elements; i++)
        assert_true(strncmp(v->element[i]->str, "js:ib:{", 7) == 0 ||
                    strncmp(v->element[i]->str, "js:mb:{", 7) == 0);
    freeReplyObject(v);
    free(rec);
}

static void test_change_number(void **state)
{
    struct fixture *f = *state;
    char a[CRY_MID_LEN], b[CRY_MID_LEN], c[CRY_MID_LEN];
    struct cry_member_pii *p;
    struct core_err err;
    int created = 0;

    resolve_ok(f, WA, UID, "Sunita", 100, a, NULL);
    assert_int_equal(cry_identity_change_number(f->id, f->r, WA, WA2, 200, b, &err), 0);
    assert_string_equal(a, b);
    assert_int_equal(find(f, WA, NULL, c), 0); /* the old index is gone */
    assert_int_equal(find(f, WA2, NULL, c), 1);
    assert_string_equal(c, a);
    /* replay: idempotent */
    assert_int_equal(cry_identity_change_number(f->id, f->r, WA, WA2, 200, b, &err), 0);
    assert_string_equal(a, b);
    p = open_ok(f, a);
    assert_string_equal(p->wa_id, WA2);
    assert_string_equal(p->user_id, UID);
    assert_int_equal(p->last_inbound, 200);
    cry_member_pii_free(p);
    /* a late message sent before the change (old number + same BSUID)
     * cannot undo it */
    resolve_ok(f, WA, UID, NULL, 150, c, NULL);
    assert_string_equal(c, a);
    assert_int_equal(find(f, WA, NULL, c), 0);
    p = open_ok(f, a);
    assert_string_equal(p->wa_id, WA2);
    cry_member_pii_free(p);
    /* the old number, recycled to someone else: a new member */
    resolve_ok(f, WA, NULL, "Someone else", 300, c, &created);
    assert_int_equal(created, 1);
    assert_string_not_equal(c, a);
}

static void test_change_number_edge_cases(void **state)
{
    struct fixture *f = *state;
    char a[CRY_MID_LEN], n[CRY_MID_LEN], b[CRY_MID_LEN];
    struct cry_member_pii *p;
    struct core_err err;

    /* unknown old number: the new one is just a sender */
    assert_int_equal(cry_identity_change_number(f->id, f->r, "919800000001", "919800000002",
                                                100, b, &err),
                     0);
    assert_int_equal(find(f, "919800000002", NULL, n), 1);
    assert_string_equal(n, b);
    /* the new number wrote before the change arrived: joined to the old member */
    resolve_ok(f, WA, NULL, "Old", 100, a, NULL);
    resolve_ok(f, WA2, NULL, "New", 101, n, NULL);
    assert_string_not_equal(a, n);
    assert_int_equal(cry_identity_change_number(f->id, f->r, WA, WA2, 102, b, &err), 0);
    assert_string_equal(b, a);
    assert_int_equal(find(f, WA2, NULL, b), 1);
    assert_string_equal(b, a);
    p = open_ok(f, n);
    assert_string_equal(p->merged_into, a);
    cry_member_pii_free(p);
    /* malformed input */
    assert_int_equal(cry_identity_change_number(f->id, f->r, "x", WA2, 1, b, &err), -1);
    assert_int_equal(err.code, CORE_EX_DATAERR);
}

static void test_change_user_id(void **state)
{
    struct fixture *f = *state;
    char a[CRY_MID_LEN], b[CRY_MID_LEN], c[CRY_MID_LEN];
    struct cry_member_pii *p;
    struct core_err err;

    resolve_ok(f, NULL, UID2, "Vikash", 100, a, NULL);
    assert_int_equal(cry_identity_change_user_id(f->id, f->r, UID2, UID, 200, b, &err), 0);
    assert_string_equal(a, b);
    assert_int_equal(find(f, NULL, UID2, c), 0);
    assert_int_equal(find(f, NULL, UID, c), 1);
    assert_string_equal(c, a);
    assert_int_equal(cry_identity_change_user_id(f->id, f->r, UID2, UID, 200, b, &err), 0);
    assert_string_equal(a, b);
    p = open_ok(f, a);
    assert_string_equal(p->user_id, UID);
    cry_member_pii_free(p);
}

static void test_bad_input(void **state)
{
    struct fixture *f = *state;
    char mid[CRY_MID_LEN];
    struct cry_member_pii *p = NULL;
    struct core_err err;

    assert_int_equal(cry_identity_resolve(f->id, f->r, NULL, NULL, "x", 1, mid, NULL, &err), -1);
    assert_int_equal(err.code, CORE_EX_DATAERR);
    assert_int_equal(cry_identity_resolve(f->id, f->r, "98765 43210", NULL, NULL, 1, mid, NULL,
                                          &err),
                     -1);
    assert_int_equal(err.code, CORE_EX_DATAERR);
    assert_null(strstr(err.msg, "98765"));
    assert_int_equal(cry_identity_resolve(f->id, f->r, NULL, "not-a-bsuid", NULL, 1, mid, NULL,
                                          &err),
                     -1);
    assert_int_equal(cry_identity_open(f->id, f->r, "00000000000000000000000000000000", &p, &err),
                     -1);
    assert_int_equal(err.code, CORE_EX_NOINPUT);
    assert_int_equal(cry_identity_open(f->id, f->r, "../etc", &p, &err), -1);
    assert_int_equal(err.code, CORE_EX_USAGE);
    assert_null(p);
    assert_int_equal(th_redis_int(&f->redis, "DBSIZE"), 0);
}

static void test_moved_and_swapped_ciphertexts_refused(void **state)
{
    struct fixture *f = *state;
    char a[CRY_MID_LEN], b[CRY_MID_LEN];
    struct cry_member_pii *p = NULL;
    struct core_err err;
    struct cry_mrec *ra = malloc(sizeof *ra);
    unsigned char wa[CRY_IDENTITY_SEALED_MAX];
    size_t wa_len = 0;

    resolve_ok(f, WA, NULL, "Ramesh", 1, a, NULL);
    resolve_ok(f, WA2, NULL, "Suresh", 1, b, NULL);
    assert_int_equal(th_member_load(&f->redis, a, ra), 0);
    assert_non_null(cry_mrec_raw(ra, CRY_MR_WA, &wa_len));
    memcpy(wa, cry_mrec_raw(ra, CRY_MR_WA, NULL), wa_len);
    /* move a field of one record to another field: wa sealed as uid */
    th_member_set_raw(&f->redis, a, "uid", wa, wa_len);
    assert_int_equal(cry_identity_open(f->id, f->r, a, &p, &err), -1);
    assert_int_equal(err.code, CORE_EX_DATAERR);
    assert_null(p);
    /* a's number copied into b's record: b no longer opens */
    th_member_set_raw(&f->redis, b, "wa", wa, wa_len);
    assert_int_equal(cry_identity_open(f->id, f->r, b, &p, &err), -1);
    assert_null(p);
    /* and a message from b's number is a transient-free data error, not a crash */
    assert_int_equal(cry_identity_resolve(f->id, f->r, WA2, NULL, NULL, 2, b, NULL, &err), -1);
    assert_int_equal(err.code, CORE_EX_DATAERR);
    free(ra);
}

/* ---- racing routers ---- */

struct racer {
    struct fixture *f;
    const char *wa;
    const char *uid;
    char mid[CRY_MID_LEN];
    int created;
    int rc;
    pthread_barrier_t *go;
};

static void *race(void *arg)
{
    struct racer *x = arg;
    struct core_redis *r = connect_to(x->f);
    struct core_err err;
    char name[32];

    snprintf(name, sizeof name, "n%p", (void *)x);
    pthread_barrier_wait(x->go);
    x->rc = cry_identity_resolve(x->f->id, r, x->wa, x->uid, name, 100, x->mid, &x->created,
                                 &err);
    core_redis_free(r);
    return NULL;
}

static void test_racing_routers_agree(void **state)
{
    struct fixture *f = *state;
    enum { THREADS = 6, ROUNDS = 20 };
    int round;

    for (round = 0; round < ROUNDS; round++) {
        struct racer x[THREADS];
        pthread_t t[THREADS];
        pthread_barrier_t go;
        char wa[16];
        char uid[32];
        char m1[CRY_MID_LEN], m2[CRY_MID_LEN];
        int created = 0;
        int i;

        snprintf(wa, sizeof wa, "9199%08d", round);
        snprintf(uid, sizeof uid, "IN.77%08d", round);
        pthread_barrier_init(&go, NULL, THREADS);
        for (i = 0; i < THREADS; i++) {
            x[i].f = f;
            /* a mix: the number alone, the BSUID alone, both */
            x[i].wa = i % 3 == 1 ? NULL : wa;
            x[i].uid = i % 3 == 0 ? NULL : uid;
            x[i].go = &go;
            pthread_create(&t[i], NULL, race, &x[i]);
        }
        for (i = 0; i < THREADS; i++) {
            pthread_join(t[i], NULL);
            assert_int_equal(x[i].rc, 0);
            created += x[i].created;
        }
        pthread_barrier_destroy(&go);
        /* however they interleaved, both identities end at one member */
        assert_int_equal(find(f, wa, NULL, m1), 1);
        assert_int_equal(find(f, NULL, uid, m2), 1);
        assert_string_equal(m1, m2);
        assert_true(created >= 1 && created <= 2); /* 2 only via a merge */
        for (i = 0; i < THREADS; i++) {
            if (x[i].wa != NULL)
                assert_string_equal(x[i].mid, m1);
        }
    }
}

struct changer {
    struct fixture *f;
    const char *old_wa;
    const char *new_wa;
    int change; /* 1: the system message; 0: a message from the new number */
    char mid[CRY_MID_LEN];
    int rc;
    pthread_barrier_t *go;
};

static void *change_or_write(void *arg)
{
    struct changer *x = arg;
    struct core_redis *r = connect_to(x->f);
    struct core_err err;

    pthread_barrier_wait(x->go);
    if (x->change)
        x->rc = cry_identity_change_number(x->f->id, r, x->old_wa, x->new_wa, 200, x->mid, &err);
    else
        x->rc = cry_identity_resolve(x->f->id, r, x->new_wa, NULL, NULL, 201, x->mid, NULL,
                                     &err);
    core_redis_free(r);
    return NULL;
}

/* Two routers: one handles user_changed_number, the other the new number's
 * first message, at the same time. The person keeps one live member. */
static void test_change_races_with_the_new_number(void **state)
{
    struct fixture *f = *state;
    int round;

    for (round = 0; round < 30; round++) {
        struct changer x[2];
        pthread_t t[2];
        pthread_barrier_t go;
        char old_wa[16], new_wa[16];
        char m[CRY_MID_LEN], cur[CRY_MID_LEN];
        struct cry_member_pii *p;
        int i;

        snprintf(old_wa, sizeof old_wa, "9198%08d", round);
        snprintf(new_wa, sizeof new_wa, "9197%08d", round);
        resolve_ok(f, old_wa, NULL, "Racer", 100, m, NULL);
        pthread_barrier_init(&go, NULL, 2);
        for (i = 0; i < 2; i++) {
            x[i].f = f;
            x[i].old_wa = old_wa;
            x[i].new_wa = new_wa;
            x[i].change = i == 0;
            x[i].go = &go;
            pthread_create(&t[i], NULL, change_or_write, &x[i]);
        }
        for (i = 0; i < 2; i++) {
            pthread_join(t[i], NULL);
            assert_int_equal(x[i].rc, 0);
        }
        pthread_barrier_destroy(&go);
        assert_string_equal(x[0].mid, m); /* the change lands on the member */
        assert_int_equal(find(f, new_wa, NULL, cur), 1);
        assert_string_equal(cur, m);
        assert_int_equal(find(f, old_wa, NULL, cur), 0);
        p = open_ok(f, m);
        assert_string_equal(p->wa_id, new_wa);
        assert_string_equal(p->merged_into, "");
        cry_member_pii_free(p);
        if (strcmp(x[1].mid, m) != 0) { /* it made a record first: merged */
            p = open_ok(f, x[1].mid);
            assert_string_equal(p->merged_into, m);
            cry_member_pii_free(p);
        }
    }
}

/* ---- the router handler ---- */

static void test_router_handler(void **state)
{
    struct fixture *f = *state;
    static const char body[] =
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{"
        "\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"1065\"},"
        "\"contacts\":[{\"profile\":{\"name\":\"सुनीता देवी\"},"
        "\"wa_id\":\"" WA "\","
        "\"user_id\":\"" UID "\"}],"
        "\"messages\":[{\"from\":\"" WA "\",\"id\":\"wamid.1\",\"timestamp\":\"100\","
        "\"type\":\"text\",\"text\":{\"body\":\"x\"}},"
        "{\"from\":\"" WA "\",\"id\":\"wamid.2\",\"timestamp\":\"200\",\"type\":\"system\","
        "\"system\":{\"body\":\"changed\",\"wa_id\":\"" WA2 "\","
        "\"type\":\"user_changed_number\"}}],"
        "\"statuses\":[{\"id\":\"wamid.3\",\"status\":\"sent\",\"timestamp\":\"300\","
        "\"recipient_id\":\"" WA2 "\"}]}}]}]}";
    struct gw_webhook hook;
    struct gw_router_ctx ctx;
    struct core_err err;
    char first[CRY_MID_LEN];
    struct cry_member_pii *p;
    size_t i;

    assert_int_equal(gw_webhook_parse(&hook, body, strlen(body), &err), 0);
    assert_int_equal(hook.n_events, 3);
    memset(&ctx, 0, sizeof ctx);
    ctx.redis = f->r;
    ctx.req_id = "0123456789abcdef";
    ctx.hook = &hook;
    for (i = 0; i < hook.n_events; i++) {
        snprintf(ctx.event_key, sizeof ctx.event_key, "%032zu", i);
        assert_int_equal(cry_identity_handler(f->id, &ctx, &hook.events[i], &err), 0);
        if (i == 0) {
            assert_true(cry_identity_is_mid(ctx.member_id));
            memcpy(first, ctx.member_id, sizeof first);
        } else if (i == 1) {
            assert_string_equal(ctx.member_id, first); /* same member, new number */
        } else {
            assert_string_equal(ctx.member_id, ""); /* statuses have no sender */
        }
    }
    /* replaying the whole webhook changes nothing */
    for (i = 0; i < hook.n_events; i++)
        assert_int_equal(cry_identity_handler(f->id, &ctx, &hook.events[i], &err), 0);
    gw_webhook_free(&hook);
    p = open_ok(f, first);
    assert_string_equal(p->wa_id, WA2);
    assert_string_equal(p->user_id, UID);
    assert_int_equal(p->last_inbound, 200);
    cry_member_pii_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_find_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_li_is_a_maximum_and_names_not_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bsuid_and_wa_linking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_members_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bucket_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_number_edge_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_user_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_and_swapped_ciphertexts_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_racing_routers_agree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_races_with_the_new_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_handler, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
