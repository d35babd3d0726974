/*
 * tests/unit/test_grp_officer.c - officers on a real redis-server: the
 * import (records, unit sets, code index, idempotent re-import, moves,
 * new phones, audit records, dry run), every validation problem reported as
 * FILE:LINE:COL without quoting a phone and with nothing written, phones
 * never stored in clear, and jurisdiction (beat, SHO, district, HQ).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/redis.h"
#include "crypto/audit.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "groups/hier.h"
#include "groups/import.h"
#include "groups/officer.h"
#include "tests/harness/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    char *dir;
    struct th_redis redis;
    struct core_redis *r;
    struct cry_keys *keys;
    struct cry_identity *id;
    struct cry_audit *audit;
};

static const char officers_csv[] =
    "code,unit,role,name,phone\n"
    "SHO-DNP,PAT-DNP,sho,SHO Danapur,+91 98000 10001\n"
    "BO-DNP1,PAT-DNP-1,beat,Beat officer Danapur 1,919800010002\n"
    "BO-DNP2,PAT-DNP-2,beat,Beat officer Danapur 2,91-98000-10003\n"
    "SP-PAT,PAT,district,SSP Patna,919800010004\n"
    "HQ-1,BR,hq,HQ control room,919800010005\n";

static struct cry_keys *test_keys(void)
{
    unsigned char root[32];
    unsigned char seed[32];
    struct cry_keys *k;

    for (int i = 0; i < 32; i++) {
        root[i] = (unsigned char)(i + 3);
        seed[i] = (unsigned char)(70 + i);
    }
    k = cry_keys_from_bytes(root, seed);
    cry_keys_set_version(k, 1);
    return k;
}

static void import_sample(struct core_redis *r)
{
    static const char *const kinds[] = {"state", "district", "thana", "beat", "locality"};

    for (int i = 0; i < 5; i++) {
        char path[128];
        size_t len = 0;
        char *data;
        struct grp_import_opts o;
        struct grp_import_result res;
        struct core_err err;
        enum grp_kind k;

        snprintf(path, sizeof path, "data/sample-hierarchy/%s.csv", kinds[i]);
        data = th_read_file(path, &len);
        assert_non_null(data);
        assert_int_equal(grp_kind_parse(kinds[i], &k), 0);
        grp_import_opts_init(&o, k);
        assert_int_equal(grp_import(r, path, data, len, &o, stderr, &res, &err), 0);
        free(data);
    }
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct core_redis_opts o;

    f->dir = th_tmpdir("grp-officer");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    memset(&o, 0, sizeof o);
    o.addr = f->redis.addr;
    f->r = core_redis_new(&o);
    f->keys = test_keys();
    f->id = cry_identity_new(f->keys);
    f->audit = cry_audit_new(f->keys);
    import_sample(f->r);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

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

/* Import `csv`; problems are captured into *problems (caller frees). */
static int import(struct fixture *f, const char *csv, int dry, struct grp_import_result *res,
                  char **problems, struct core_err *err)
{
    struct grp_import_opts o;
    char *buf = NULL;
    size_t len = 0;
    FILE *p = open_memstream(&buf, &len);
    int rc;

    grp_import_opts_init(&o, GRP_LOCALITY);
    o.dry_run = dry;
    rc = grp_import_officers(f->r, f->id, f->audit, "cli:test", "officers.csv", csv,
                             strlen(csv), &o, p, res, err);
    fclose(p);
    if (problems != NULL)
        *problems = buf;
    else
        free(buf);
    return rc;
}

static long long count_keys(struct fixture *f, const char *pattern)
{
    redisReply *rep = th_redis_cmd(&f->redis, "KEYS %s", pattern);
    long long n = rep != NULL && rep->type == REDIS_REPLY_ARRAY ? (long long)rep->elements : -1;

    freeReplyObject(rep);
    return n;
}

static void test_import_records(void **state)
{
    struct fixture *f = *state;
    struct grp_import_result res;
    struct grp_officer o;
    struct core_err err;
    char **mids = NULL;
    size_t n = 0;

    assert_int_equal(import(f, officers_csv, 0, &res, NULL, &err), 0);
    assert_int_equal(res.rows, 5);
    assert_int_equal(res.created, 5);
    assert_int_equal(grp_off_find_code(f->r, "SHO-DNP", &o, &err), 1);
    assert_int_equal(o.role, GRP_OFF_SHO);
    assert_string_equal(o.unit, "PAT-DNP");
    assert_string_equal(o.name, "SHO Danapur");
    assert_true(cry_identity_is_mid(o.mid));
    /* the phone resolves to the same member through the identity registry */
    {
        char mid[CRY_MID_LEN];
        int found = 0;

        assert_int_equal(cry_identity_find(f->id, f->r, "919800010001", NULL, mid, &found, &err),
                         0);
        assert_true(found);
        assert_string_equal(mid, o.mid);
    }
    assert_int_equal(grp_off_list_unit(f->r, "PAT-DNP-1", &mids, &n, &err), 0);
    assert_int_equal(n, 1);
    grp_codes_free(mids, n);
    assert_int_equal(grp_off_find_code(f->r, "NOPE", &o, &err), 0);
    assert_int_equal(grp_off_get(f->r, "00000000000000000000000000000000", &o, &err), 0);
    /* audited: one record per officer, by id, without the number */
    assert_int_equal(th_redis_int(&f->redis, "XLEN %s", CRY_AUDIT_LOG), 5);
    {
        redisReply *rep = th_redis_cmd(&f->redis, "XRANGE %s - +", CRY_AUDIT_LOG);

        assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
        for (size_t i = 0; i < rep->elements; i++) {
            const redisReply *fields = rep->element[i]->element[1];

            for (size_t k = 0; k + 1 < fields->elements; k += 2) {
                if (strcmp(fields->element[k]->str, "e") == 0) {
                    assert_non_null(strstr(fields->element[k + 1]->str, "officer.register"));
                    assert_null(strstr(fields->element[k + 1]->str, "9800010"));
                }
            }
        }
        freeReplyObject(rep);
    }
    /* the same file again changes nothing */
    assert_int_equal(import(f, officers_csv, 0, &res, NULL, &err), 0);
    assert_int_equal(res.unchanged, 5);
    assert_int_equal(res.created + res.updated, 0);
    assert_int_equal(th_redis_int(&f->redis, "XLEN %s", CRY_AUDIT_LOG), 5);
}

static void test_moves_and_new_phone(void **state)
{
    struct fixture *f = *state;
    struct grp_import_result res;
    struct grp_officer before, after;
    struct core_err err;
    char key[64];
    static const char moved[] =
        "code,unit,role,name,phone\n"
        "BO-DNP1,PAT-DNP-2,beat,Beat officer Danapur 2 (relief),919800010002\n"
        "SHO-DNP,PAT-DNP,sho,SHO Danapur,919800019999\n";

    assert_int_equal(import(f, officers_csv, 0, &res, NULL, &err), 0);
    assert_int_equal(grp_off_find_code(f->r, "SHO-DNP", &before, &err), 1);
    /* dry run: reports and writes nothing */
    assert_int_equal(import(f, moved, 1, &res, NULL, &err), 0);
    assert_int_equal(res.updated, 2);
    assert_int_equal(grp_off_find_code(f->r, "BO-DNP1", &after, &err), 1);
    assert_string_equal(after.unit, "PAT-DNP-1");
    assert_int_equal(import(f, moved, 0, &res, NULL, &err), 0);
    assert_int_equal(res.updated, 2);
    /* moved: out of the old unit's set, into the new one */
    assert_int_equal(grp_off_find_code(f->r, "BO-DNP1", &after, &err), 1);
    assert_string_equal(after.unit, "PAT-DNP-2");
    assert_int_equal(th_redis_int(&f->redis, "SISMEMBER js:offs:{PAT-DNP-1} %s", after.mid), 0);
    assert_int_equal(th_redis_int(&f->redis, "SISMEMBER js:offs:{PAT-DNP-2} %s", after.mid), 1);
    /* a new phone: the old member is no officer any more */
    assert_int_equal(grp_off_find_code(f->r, "SHO-DNP", &after, &err), 1);
    assert_string_not_equal(after.mid, before.mid);
    assert_int_equal(grp_off_get(f->r, before.mid, &after, &err), 0);
    grp_off_key(before.mid, key, sizeof key);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS %s", key), 0);
    assert_int_equal(th_redis_int(&f->redis, "SISMEMBER js:offs:{PAT-DNP} %s", before.mid), 0);
    assert_int_equal(th_redis_int(&f->redis, "XLEN %s", CRY_AUDIT_LOG), 7);
}

static void test_problems_nothing_written(void **state)
{
    struct fixture *f = *state;
    struct grp_import_result res;
    struct core_err err;
    char *problems = NULL;
    static const char bad[] =
        "code,unit,role,name,phone\n"
        "SHO-X,PAT-DNP,beat,SHO Danapur,9800020001\n"          /* 2: unit level, 10 digits */
        "SHO-X,NOPE,sho,,919800020002\n"                       /* 3: dup code, unit, name */
        "Y,PAT-DNP-1,chief,x,919800020003\n"                   /* 4: role */
        "Z,PAT-DNP-1,beat,x,+91 98000 20003\n"                 /* 5: same phone as 4 */
        "bad code,PAT-DNP-1,beat,x,12ab\n"                     /* 6: code, phone */
        "W,PAT-DNP-1,beat\n";                                  /* 7: shape */
    static const char *const want[] = {
        "officers.csv:2:5: phone has 10 digits: write it with the country code (91 for India)",
        "officers.csv:2:2: unit 'PAT-DNP' is a thana; a beat officer's unit must be a beat",
        "officers.csv:3:4: name (the designation) is empty",
        "officers.csv:3:1: duplicate code 'SHO-X' (first on line 2)",
        "officers.csv:3:2: unknown unit 'NOPE'",
        "officers.csv:4:3: role must be beat, sho, district or hq",
        "officers.csv:5:5: the same phone as line 4 (one number per officer)",
        "officers.csv:6:1: code must be 1-40 characters of A-Z a-z 0-9 _ . : -",
        "officers.csv:6:5: phone must be a WhatsApp number with country code: 11-15 digits",
        "officers.csv:7:4: expected 5 fields, found 3",
    };

    assert_int_equal(import(f, bad, 0, &res, &problems, &err), -1);
    assert_int_equal(err.code, CORE_EX_DATAERR);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (strstr(problems, want[i]) == NULL)
            fail_msg("missing problem '%s' in:\n%s", want[i], problems);
    }
    assert_int_equal(res.problems, (long)(sizeof want / sizeof want[0]));
    /* no phone digits quoted */
    assert_null(strstr(problems, "98000"));
    assert_null(strstr(problems, "12ab"));
    free(problems);
    /* nothing written: no officer, no member, no audit record */
    assert_int_equal(count_keys(f, "js:off*"), 0);
    assert_int_equal(count_keys(f, "js:mb:*"), 0);
    assert_int_equal(count_keys(f, "js:ib:*"), 0);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS %s", CRY_AUDIT_LOG), 0);
    /* header problems */
    assert_int_equal(import(f, "code,unit,role,name\nA,B,beat,x\n", 0, &res, &problems, &err),
                     -1);
    assert_non_null(strstr(problems, "officers.csv:1:1: missing required column 'phone'"));
    free(problems);
    assert_int_equal(import(f, "code,unit,role,name,phone,mobile\n", 0, &res, &problems, &err),
                     -1);
    assert_non_null(strstr(problems, "officers.csv:1:6: unknown column 'mobile'"));
    free(problems);
    /* a phone that already belongs to another officer code */
    assert_int_equal(import(f, officers_csv, 0, &res, NULL, &err), 0);
    assert_int_equal(import(f, "code,unit,role,name,phone\nNEW,PAT-DNP-1,beat,x,919800010001\n",
                            0, &res, &problems, &err),
                     -1);
    assert_non_null(strstr(problems, "officers.csv:2:5: this phone already belongs to officer "
                                     "'SHO-DNP'"));
    free(problems);
}

/* True if any string in `rep` (recursively) contains `needle`. */
static int reply_has(const redisReply *rep, const char *needle)
{
    if (rep == NULL)
        return 0;
    if (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS)
        return memmem(rep->str, rep->len, needle, strlen(needle)) != NULL;
    if (rep->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < rep->elements; i++) {
            if (reply_has(rep->element[i], needle))
                return 1;
        }
    }
    if (rep->type == REDIS_REPLY_INTEGER) {
        char num[32];

        snprintf(num, sizeof num, "%lld", rep->integer);
        return strstr(num, needle) != NULL;
    }
    return 0;
}

/* Every key name and value in Redis, read by type, as one reply each. */
static int redis_has(struct fixture *f, const char *needle)
{
    redisReply *keys = th_redis_cmd(&f->redis, "KEYS *");
    int hit = 0;

    for (size_t i = 0; !hit && i < keys->elements; i++) {
        const char *k = keys->element[i]->str;
        redisReply *t = th_redis_cmd(&f->redis, "TYPE %s", k);
        redisReply *v = NULL;

        hit = strstr(k, needle) != NULL;
        if (strcmp(t->str, "string") == 0)
            v = th_redis_cmd(&f->redis, "GET %s", k);
        else if (strcmp(t->str, "hash") == 0)
            v = th_redis_cmd(&f->redis, "HGETALL %s", k);
        else if (strcmp(t->str, "set") == 0)
            v = th_redis_cmd(&f->redis, "SMEMBERS %s", k);
        else if (strcmp(t->str, "zset") == 0)
            v = th_redis_cmd(&f->redis, "ZRANGE %s 0 -1 WITHSCORES", k);
        else if (strcmp(t->str, "stream") == 0)
            v = th_redis_cmd(&f->redis, "XRANGE %s - +", k);
        else if (strcmp(t->str, "list") == 0)
            v = th_redis_cmd(&f->redis, "LRANGE %s 0 -1", k);
        else
            fail_msg("unexpected type %s of %s", t->str, k);
        hit |= reply_has(v, needle);
        freeReplyObject(v);
        freeReplyObject(t);
    }
    freeReplyObject(keys);
    return hit;
}

static void test_phones_never_in_clear(void **state)
{
    struct fixture *f = *state;
    struct grp_import_result res;
    struct core_err err;
    static const char *const needles[] = {"9800010001", "9800010002", "9800010003",
                                          "9800010004", "9800010005"};

    assert_int_equal(import(f, officers_csv, 0, &res, NULL, &err), 0);
    assert_true(count_keys(f, "*") > 10);
    for (size_t n = 0; n < sizeof needles / sizeof needles[0]; n++) {
        if (redis_has(f, needles[n]))
            fail_msg("an officer's number is stored in clear");
    }
    /* the scan finds a planted number (listpack stores it as an integer) */
    freeReplyObject(th_redis_cmd(&f->redis, "HSET js:planted a x b 919800010001 c y"));
    assert_true(redis_has(f, needles[0]));
    freeReplyObject(th_redis_cmd(&f->redis, "DEL js:planted"));
    /* the sealed number opens to the officer's number */
    {
        struct grp_officer o;
        struct cry_member_pii *pii = NULL;

        assert_int_equal(grp_off_find_code(f->r, "BO-DNP2", &o, &err), 1);
        assert_int_equal(cry_identity_open(f->id, f->r, o.mid, &pii, &err), 0);
        assert_string_equal(pii->wa_id, "919800010003");
        cry_member_pii_free(pii);
    }
}

static void test_jurisdiction(void **state)
{
    struct fixture *f = *state;
    struct grp_import_result res;
    struct core_err err;
    struct {
        const char *officer;
        const char *unit;
        int inside;
    } cases[] = {
        {"BO-DNP1", "PAT-DNP-1", 1}, {"BO-DNP1", "KHG-01", 1},  {"BO-DNP1", "JMP-01", 1},
        {"BO-DNP1", "MNR-01", 0},    {"BO-DNP1", "PAT-DNP-2", 0}, {"BO-DNP1", "PAT-DNP", 0},
        {"BO-DNP1", "PAT", 0},       {"BO-DNP1", "BR", 0},      {"SHO-DNP", "PAT-DNP", 1},
        {"SHO-DNP", "PAT-DNP-2", 1}, {"SHO-DNP", "MNR-01", 1},  {"SHO-DNP", "BHT-01", 0},
        {"SHO-DNP", "PAT-BHT", 0},   {"SHO-DNP", "PAT", 0},     {"SP-PAT", "PAT", 1},
        {"SP-PAT", "BHT-01", 1},     {"SP-PAT", "PAT-KKB-1", 1}, {"SP-PAT", "GAY", 0},
        {"SP-PAT", "BDG-W05", 0},    {"SP-PAT", "BR", 0},       {"HQ-1", "BR", 1},
        {"HQ-1", "SLP-01", 1},       {"HQ-1", "GAY-BDG", 1},    {"HQ-1", "NOPE", 0},
        {"SHO-DNP", "bad code!", 0},
    };

    assert_int_equal(import(f, officers_csv, 0, &res, NULL, &err), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct grp_officer o;
        int ok = -1;

        assert_int_equal(grp_off_find_code(f->r, cases[i].officer, &o, &err), 1);
        assert_int_equal(grp_off_may_reach(f->r, &o, cases[i].unit, &ok, &err), 0);
        if (ok != cases[i].inside)
            fail_msg("%s -> %s: got %d, want %d", cases[i].officer, cases[i].unit, ok,
                     cases[i].inside);
    }
    /* the officers responsible for a village: its beat's and its thana's */
    {
        struct grp_officer out[4];
        size_t n = 0;

        assert_int_equal(grp_off_responsible(f->r, "JMP-01", GRP_OFF_BEAT, out, 4, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(out[0].code, "BO-DNP1");
        assert_int_equal(grp_off_responsible(f->r, "JMP-01", GRP_OFF_SHO, out, 4, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(out[0].code, "SHO-DNP");
        assert_int_equal(grp_off_responsible(f->r, "BHT-01", GRP_OFF_SHO, out, 4, &n, &err), 0);
        assert_int_equal(n, 0);
        assert_int_equal(grp_off_responsible(f->r, "SLP-01", GRP_OFF_HQ, out, 4, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(out[0].code, "HQ-1");
        assert_int_equal(grp_off_responsible(f->r, "NOPE", GRP_OFF_HQ, out, 4, &n, &err), 0);
        assert_int_equal(n, 0);
    }
    assert_int_equal(grp_off_role_kind(GRP_OFF_HQ), GRP_STATE);
    assert_int_equal(grp_off_role_kind(GRP_OFF_BEAT), GRP_BEAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_import_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moves_and_new_phone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_problems_nothing_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_phones_never_in_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jurisdiction, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
