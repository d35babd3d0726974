/*
 * tests/unit/test_audit.c - crypto/audit against a real redis-server: the
 * chain and checkpoints of 250 records verify; concurrent appenders keep the
 * sequence; a modified, deleted or reordered record, a forged checkpoint
 * signature, a chain recomputed by an attacker without the signing key and a
 * truncated tail are each detected and named; --from; export files verify and
 * their tampering, truncation and foreign keys are detected; bad fields are
 * refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/redis.h"
#include "core/util.h"
#include "crypto/audit.h"
#include "crypto/keys.h"
#include "tests/harness/harness.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_RECORDS 250

struct fixture {
    char *dir;
    struct th_redis redis;
    struct core_redis *r;
    struct cry_keys *keys;
    struct cry_audit *audit;
};

static struct cry_keys *keys_seeded(unsigned char first)
{
    unsigned char root[32];
    unsigned char seed[32];
    int i;

    for (i = 0; i < 32; i++) {
        root[i] = (unsigned char)i;
        seed[i] = (unsigned char)(first + i);
    }
    return cry_keys_from_bytes(root, seed);
}

static struct core_redis *connect_to(const struct fixture *f)
{
    struct core_redis_opts o = {f->redis.addr, NULL, NULL, 5000};

    return core_redis_new(&o);
}

static void append_n(struct fixture *f, int from, int to)
{
    struct core_err err;
    int i;

    for (i = from; i <= to; i++) {
        char object[64];
        uint64_t seq = 0;

        snprintf(object, sizeof object, "member 0123456789abcdef%016d", i);
        if (cry_audit_append(f->audit, f->r, "officer:hq-7", "tip.reveal.request", object,
                             "court order 12/2026", &seq, &err) != 0)
            fail_msg("append: %s", err.msg);
        assert_int_equal(seq, (uint64_t)i);
    }
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = th_tmpdir("audit");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    f->r = connect_to(f);
    f->keys = keys_seeded(32);
    f->audit = cry_audit_new(f->keys);
    append_n(f, 1, N_RECORDS);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cry_audit_free(f->audit);
    cry_keys_free(f->keys);
    core_redis_free(f->r);
    th_redis_stop(&f->redis, 0);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static const unsigned char *pk(const struct fixture *f)
{
    return cry_keys_meta(f->keys)->audit_public;
}

static void verify(struct fixture *f, const char *from, struct cry_audit_report *rep)
{
    struct core_err err;

    if (cry_audit_verify_redis(pk(f), f->r, from, rep, &err) != 0)
        fail_msg("verify: %s", err.msg);
}

static void assert_broken_at(const struct cry_audit_report *rep, uint64_t seq, const char *words)
{
    char name[48];

    if (!rep->broken)
        fail_msg("expected a broken log at record %llu", (unsigned long long)seq);
    snprintf(name, sizeof name, "record %llu", (unsigned long long)seq);
    if (rep->bad_seq != seq || strstr(rep->problem, name) == NULL ||
        strstr(rep->problem, words) == NULL)
        fail_msg("got bad_seq %llu: %s (wanted %s, '%s')", (unsigned long long)rep->bad_seq,
                 rep->problem, name, words);
}

/* Rewrite a stream with the same ids, letting `edit` change entries. */
static void rewrite(struct fixture *f, const char *key,
                    void (*edit)(size_t i, const char **fields, size_t *lens, char *scratch,
                                 void *ud),
                    void *ud)
{
    redisReply *all = th_redis_cmd(&f->redis, "XRANGE %s - +", key);
    size_t i;

    freeReplyObject(th_redis_cmd(&f->redis, "DEL %s", key));
    for (i = 0; i < all->elements; i++) {
        const redisReply *e = all->element[i];
        const redisReply *fl = e->element[1];
        const char *argv[64];
        size_t lens[64];
        const char *fields[32];
        size_t flens[32];
        char scratch[4096];
        size_t j;
        int argc = 0;
        redisReply *rep;

        for (j = 0; j < fl->elements; j++) {
            fields[j] = fl->element[j]->str;
            flens[j] = fl->element[j]->len;
        }
        if (edit != NULL)
            edit(i, fields, flens, scratch, ud);
        if (fields[0] == NULL)
            continue; /* deleted */
        argv[argc] = "XADD";
        lens[argc++] = 4;
        argv[argc] = key;
        lens[argc++] = strlen(key);
        argv[argc] = e->element[0]->str;
        lens[argc++] = e->element[0]->len;
        for (j = 0; j < fl->elements; j++) {
            argv[argc] = fields[j];
            lens[argc++] = flens[j];
        }
        rep = redisCommandArgv(f->redis.ctx, argc, argv, lens);
        assert_non_null(rep);
        assert_int_not_equal(rep->type, REDIS_REPLY_ERROR);
        freeReplyObject(rep);
    }
    freeReplyObject(all);
}

/* ---- a good log ---- */

static void test_good_log_verifies(void **state)
{
    struct fixture *f = *state;
    struct cry_audit_report rep;

    verify(f, NULL, &rep);
    assert_false(rep.broken);
    assert_int_equal(rep.records, N_RECORDS);
    assert_int_equal(rep.first_seq, 1);
    assert_int_equal(rep.last_seq, N_RECORDS);
    /* checkpoints: at record 1 (the first ever), then every 100 records */
    assert_int_equal(th_redis_int(&f->redis, "XLEN " CRY_AUDIT_CKPT), 3);
    assert_int_equal(rep.checkpoints, 3);
    assert_int_equal(rep.signed_upto, 201);
    /* a forced checkpoint covers the head */
    {
        uint64_t seq = 0;
        struct core_err err;

        assert_int_equal(cry_audit_checkpoint(f->audit, f->r, 1, &seq, &err), 0);
        assert_int_equal(seq, N_RECORDS);
        assert_int_equal(cry_audit_checkpoint(f->audit, f->r, 1, &seq, &err), 0);
        assert_int_equal(seq, 0); /* nothing new */
    }
    verify(f, NULL, &rep);
    assert_int_equal(rep.signed_upto, N_RECORDS);
    /* from a record number, and from a stream id */
    verify(f, "150", &rep);
    assert_false(rep.broken);
    assert_int_equal(rep.first_seq, 150);
    assert_int_equal(rep.records, N_RECORDS - 149);
    {
        redisReply *e = th_redis_cmd(&f->redis, "XRANGE %s - + COUNT 200", CRY_AUDIT_LOG);
        char id[64];

        snprintf(id, sizeof id, "%s", e->element[199]->element[0]->str);
        freeReplyObject(e);
        verify(f, id, &rep);
        assert_false(rep.broken);
        assert_int_equal(rep.first_seq, 200);
    }
    /* entries are canonical JSON holding ids only */
    {
        redisReply *e = th_redis_cmd(&f->redis, "XRANGE %s - + COUNT 1", CRY_AUDIT_LOG);

        assert_non_null(strstr(e->element[0]->element[1]->element[3]->str,
                               "{\"seq\":1,\"ts\":"));
        assert_non_null(strstr(e->element[0]->element[1]->element[3]->str,
                               "\"actor\":\"officer:hq-7\",\"action\":\"tip.reveal.request\""));
        freeReplyObject(e);
    }
}

struct appender {
    struct fixture *f;
    int n;
    int failures;
};

static void *append_thread(void *arg)
{
    struct appender *a = arg;
    struct core_redis *r = connect_to(a->f);
    struct cry_audit *audit = cry_audit_new(a->f->keys);
    struct core_err err;
    int i;

    for (i = 0; i < a->n; i++) {
        if (cry_audit_append(audit, r, "system", "test.concurrent", "x", NULL, NULL, &err) != 0)
            a->failures++;
    }
    cry_audit_free(audit);
    core_redis_free(r);
    return NULL;
}

static void test_concurrent_appenders_keep_the_sequence(void **state)
{
    struct fixture *f = *state;
    enum { THREADS = 4, EACH = 50 };
    struct appender a[THREADS];
    pthread_t t[THREADS];
    struct cry_audit_report rep;
    int i;

    for (i = 0; i < THREADS; i++) {
        a[i].f = f;
        a[i].n = EACH;
        a[i].failures = 0;
        pthread_create(&t[i], NULL, append_thread, &a[i]);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].failures, 0);
    }
    verify(f, NULL, &rep);
    assert_false(rep.broken);
    assert_int_equal(rep.records, N_RECORDS + THREADS * EACH);
    assert_int_equal(th_redis_int(&f->redis, "XLEN " CRY_AUDIT_LOG), N_RECORDS + THREADS * EACH);
}

/* ---- tampering ---- */

static void edit_modify_57(size_t i, const char **fields, size_t *lens, char *scratch, void *ud)
{
    (void)ud;
    if (i != 56)
        return;
    /* fields: seq, 57, e, <entry>, h, <hash>; change the action */
    snprintf(scratch, 4096, "%.*s", (int)lens[3], fields[3]);
    memcpy(strstr(scratch, "tip.reveal.request"), "tip.reveal.approve", 18);
    fields[3] = scratch;
}

static void test_modified_record_is_named(void **state)
{
    struct fixture *f = *state;
    struct cry_audit_report rep;

    rewrite(f, CRY_AUDIT_LOG, edit_modify_57, NULL);
    verify(f, NULL, &rep);
    assert_broken_at(&rep, 57, "modified");
}

static void test_deleted_record_is_named(void **state)
{
    struct fixture *f = *state;
    struct cry_audit_report rep;
    redisReply *e = th_redis_cmd(&f->redis, "XRANGE %s - + COUNT 57", CRY_AUDIT_LOG);

    freeReplyObject(th_redis_cmd(&f->redis, "XDEL %s %s", CRY_AUDIT_LOG,
                                 e->element[56]->element[0]->str));
    freeReplyObject(e);
    verify(f, NULL, &rep);
    assert_broken_at(&rep, 57, "missing");
}

/* ud: XRANGE reply holding records 57 and 58; their contents trade places. */
static void edit_swap_57_58(size_t i, const char **fields, size_t *lens, char *scratch, void *ud)
{
    const redisReply *two = ud;
    const redisReply *src;
    size_t j;

    (void)scratch;
    if (i != 56 && i != 57)
        return;
    src = two->element[i == 56 ? 1 : 0]->element[1];
    for (j = 0; j < src->elements; j++) {
        fields[j] = src->element[j]->str;
        lens[j] = src->element[j]->len;
    }
}

static void test_reordered_records_are_named(void **state)
{
    struct fixture *f = *state;
    struct cry_audit_report rep;
    redisReply *e = th_redis_cmd(&f->redis, "XRANGE %s - + COUNT 58", CRY_AUDIT_LOG);
    redisReply *two = th_redis_cmd(&f->redis, "XRANGE %s %s %s", CRY_AUDIT_LOG,
                                   e->element[56]->element[0]->str,
                                   e->element[57]->element[0]->str);

    /* Stream ids only grow, so an attacker reorders by rewriting the stream
     * with the same ids and records 57 and 58 trading places. */
    assert_int_equal(two->elements, 2);
    rewrite(f, CRY_AUDIT_LOG, edit_swap_57_58, two);
    freeReplyObject(two);
    freeReplyObject(e);
    verify(f, NULL, &rep);
    assert_broken_at(&rep, 57, "missing or out of order");
}

static void edit_bad_sig(size_t i, const char **fields, size_t *lens, char *scratch, void *ud)
{
    size_t j;

    (void)ud;
    if (i != 1)
        return; /* the checkpoint of record 101 */
    for (j = 0; j + 1 < 12; j += 2) {
        if (lens[j] == 3 && memcmp(fields[j], "sig", 3) == 0) {
            memcpy(scratch, fields[j + 1], lens[j + 1]);
            scratch[10] = scratch[10] == '0' ? '1' : '0';
            fields[j + 1] = scratch;
        }
    }
}

static void test_forged_checkpoint_is_named(void **state)
{
    struct fixture *f = *state;
    struct cry_audit_report rep;

    rewrite(f, CRY_AUDIT_CKPT, edit_bad_sig, NULL);
    verify(f, NULL, &rep);
    assert_broken_at(&rep, 101, "signature does not verify");
}

/* An attacker with Redis access but without the signing key rewrites
 * record 57 and recomputes every later hash and the head. */
static void test_recomputed_chain_is_caught_by_a_checkpoint(void **state)
{
    struct fixture *f = *state;
    struct cry_audit_report rep;
    redisReply *all = th_redis_cmd(&f->redis, "XRANGE %s - +", CRY_AUDIT_LOG);
    unsigned char prev[CRY_AUDIT_HASHBYTES] = {0};
    char head[128];
    size_t i;

    freeReplyObject(th_redis_cmd(&f->redis, "DEL %s", CRY_AUDIT_LOG));
    for (i = 0; i < all->elements; i++) {
        const redisReply *fl = all->element[i]->element[1];
        char entry[4096];
        char prev_hex[CRY_AUDIT_HASH_HEX];
        char h_hex[CRY_AUDIT_HASH_HEX];
        unsigned char h[CRY_AUDIT_HASHBYTES];
        char *p;

        snprintf(entry, sizeof entry, "%s", fl->element[3]->str);
        if (i == 56)
            memcpy(strstr(entry, "court order"), "no reason!!", 11);
        /* replace "prev":"<64 hex>" with the recomputed one */
        core_hex(prev_hex, prev, sizeof prev);
        p = strstr(entry, "\"prev\":\"") + 8;
        memcpy(p, prev_hex, 64);
        cry_audit_chain(prev, entry, strlen(entry), h);
        core_hex(h_hex, h, sizeof h);
        freeReplyObject(th_redis_cmd(&f->redis, "XADD %s %s seq %s e %s h %s", CRY_AUDIT_LOG,
                                     all->element[i]->element[0]->str, fl->element[1]->str,
                                     entry, h_hex));
        memcpy(prev, h, sizeof h);
        snprintf(head, sizeof head, "%s %s", fl->element[1]->str, h_hex);
    }
    freeReplyObject(all);
    freeReplyObject(th_redis_cmd(&f->redis, "SET %s %s", CRY_AUDIT_HEAD, head));
    verify(f, NULL, &rep);
    assert_broken_at(&rep, 101, "does not match signed checkpoint");
}

static void test_truncated_tail_is_named(void **state)
{
    struct fixture *f = *state;
    struct cry_audit_report rep;
    redisReply *last = th_redis_cmd(&f->redis, "XREVRANGE %s + - COUNT 1", CRY_AUDIT_LOG);

    freeReplyObject(th_redis_cmd(&f->redis, "XDEL %s %s", CRY_AUDIT_LOG,
                                 last->element[0]->element[0]->str));
    freeReplyObject(last);
    verify(f, NULL, &rep);
    assert_broken_at(&rep, N_RECORDS, "head");
}

static void test_bad_fields_refused(void **state)
{
    struct fixture *f = *state;
    struct core_err err;
    char big[CRY_AUDIT_FIELD_MAX + 2];

    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(cry_audit_append(f->audit, f->r, NULL, "a", "o", NULL, NULL, &err), -1);
    assert_int_equal(err.code, CORE_EX_USAGE);
    assert_int_equal(cry_audit_append(f->audit, f->r, "s", "", "o", NULL, NULL, &err), -1);
    assert_int_equal(cry_audit_append(f->audit, f->r, "s", "a", big, NULL, NULL, &err), -1);
    assert_int_equal(cry_audit_append(f->audit, f->r, "s", "a", "\xff\xfe", NULL, NULL, &err),
                     -1);
    assert_int_equal(th_redis_int(&f->redis, "XLEN " CRY_AUDIT_LOG), N_RECORDS);
}

/* ---- export files ---- */

static char *export_to(struct fixture *f, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&buf, &n);
    struct core_err err;
    uint64_t records = 0;

    assert_int_equal(cry_audit_export(f->audit, pk(f), cry_keys_meta(f->keys)->audit_id, f->r,
                                      out, &records, &err),
                     0);
    fclose(out);
    assert_int_equal(records, N_RECORDS);
    *len = n;
    return buf;
}

static void verify_text(const unsigned char *key, const char *text, size_t len,
                        struct cry_audit_report *rep)
{
    FILE *in = fmemopen((void *)(uintptr_t)text, len, "r");
    struct core_err err;

    assert_int_equal(cry_audit_verify_file(key, in, rep, &err), 0);
    fclose(in);
}

static void test_export_verifies_and_tampering_is_named(void **state)
{
    struct fixture *f = *state;
    struct cry_audit_report rep;
    size_t len;
    char *text = export_to(f, &len);
    char *p;
    char *copy;
    struct cry_keys *other = keys_seeded(77);

    verify_text(pk(f), text, len, &rep);
    assert_false(rep.broken);
    assert_int_equal(rep.records, N_RECORDS);
    assert_int_equal(rep.signed_upto, N_RECORDS);
    assert_int_equal(rep.checkpoints, 4);
    /* another trusted key */
    verify_text(cry_keys_meta(other)->audit_public, text, len, &rep);
    assert_true(rep.broken);
    cry_keys_free(other);
    /* a modified record */
    copy = malloc(len + 1);
    memcpy(copy, text, len + 1);
    p = strstr(copy, "\\\"seq\\\":57,");
    assert_non_null(p);
    p = strstr(p, "court order");
    p[0] = 'C';
    verify_text(pk(f), copy, len, &rep);
    assert_broken_at(&rep, 57, "modified");
    /* the last record cut off: the end is no longer covered by a checkpoint
     * and record 250 is missing */
    memcpy(copy, text, len + 1);
    p = strstr(copy, "\"seq\":250,\"e\"");
    assert_non_null(p);
    while (p > copy && p[-1] != '\n')
        p--;
    verify_text(pk(f), copy, (size_t)(p - copy), &rep);
    assert_broken_at(&rep, 250, "missing");
    /* not an export */
    verify_text(pk(f), "hello\n", 6, &rep);
    assert_true(rep.broken);
    verify_text(pk(f), "", 0, &rep);
    assert_true(rep.broken);
    free(copy);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_log_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_appenders_keep_the_sequence, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_modified_record_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_record_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reordered_records_are_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_checkpoint_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recomputed_chain_is_caught_by_a_checkpoint, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_truncated_tail_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_fields_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_verifies_and_tampering_is_named, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
