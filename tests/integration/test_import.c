/*
 * tests/integration/test_import.c - `janseva import` end to end on a real
 * redis-server: the sample hierarchy, idempotent re-import, moves, dry runs,
 * every kind of problem reported as FILE:LINE:COL with nothing written, and
 * the real Bihar geography (../shared/data) through tools/bihar-geo.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/redis.h"
#include "groups/hier.h"
#include "tests/harness/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    char *dir;
    struct th_redis redis;
    char env_redis[700];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = th_tmpdir("import");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    snprintf(f->env_redis, sizeof f->env_redis, "JANSEVA_REDIS=%s", f->redis.addr);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    th_redis_stop(&f->redis, 0);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Run `janseva import --kind KIND FILE [extra]`; returns the exit status. */
static int import(struct fixture *f, const char *kind, const char *file, const char *extra,
                  char **out, char **err)
{
    const char *argv[] = {th_bin(), "import", "--kind", kind, file, extra, NULL};
    const char *env[] = {f->env_redis, NULL};

    return th_run(argv, env, NULL, 0, out, err);
}

static void import_ok(struct fixture *f, const char *kind, const char *file, const char *want)
{
    char *out = NULL;
    char *err = NULL;
    int rc = import(f, kind, file, NULL, &out, &err);

    if (rc != 0 || strstr(out, want) == NULL)
        fail_msg("import %s %s: exit %d, stdout '%s', stderr '%s'", kind, file, rc, out, err);
    free(out);
    free(err);
}

static void import_sample(struct fixture *f)
{
    static const char *const kinds[] = {"state", "district", "thana", "beat", "locality"};
    static const char *const want[] = {"1 rows: 1 created", "2 rows: 2 created",
                                       "4 rows: 4 created", "6 rows: 6 created",
                                       "18 rows: 18 created"};
    char path[256];

    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "data/sample-hierarchy/%s.csv", kinds[i]);
        import_ok(f, kinds[i], path, want[i]);
    }
}

static char *write_tmp(struct fixture *f, const char *name, const char *text)
{
    char *path = NULL;

    if (asprintf(&path, "%s/%s", f->dir, name) < 0 ||
        th_write_file(path, text, strlen(text)) != 0)
        fail_msg("cannot write %s", name);
    return path;
}

static void test_sample_hierarchy(void **state)
{
    struct fixture *f = *state;
    struct core_redis_opts o = {f->redis.addr, NULL, NULL, 2000};
    struct core_redis *r = core_redis_new(&o);
    struct core_err err;
    struct grp_unit u;
    struct grp_near near[5];
    size_t n;
    char **codes;

    import_sample(f);
    /* again: nothing changes */
    import_ok(f, "locality", "data/sample-hierarchy/locality.csv",
              "18 rows: 0 created, 0 updated, 18 unchanged");
    assert_int_equal(grp_count(r, GRP_LOCALITY, &err), 18);
    assert_int_equal(grp_unit_get(r, "HLD-01", &u, &err), 1);
    assert_int_equal(u.kind, GRP_LOCALITY);
    assert_string_equal(u.parent, "PAT-DNP-2");
    assert_string_equal(u.name_hi, "हल्दी छपरा");
    assert_string_equal(u.pincode, "801108");
    assert_int_equal(u.population, 3520);
    assert_true(u.has_coords);
    grp_unit_cleanup(&u);
    assert_int_equal(grp_unit_get(r, "NOPE", &u, &err), 0);
    /* a citizen sharing a location in Khagaul */
    assert_int_equal(grp_nearest(r, 25.5795, 85.0455, 5, 5, near, &n, &err), 0);
    assert_true(n >= 2);
    assert_string_equal(near[0].code, "KHG-01");
    assert_true(near[0].km < 0.2);
    assert_true(near[1].km >= near[0].km);
    assert_int_equal(grp_by_pincode(r, "801108", &codes, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(codes[0], "HLD-01");
    grp_codes_free(codes, n);
    assert_int_equal(grp_children(r, "PAT", &codes, &n, &err), 0);
    assert_int_equal(n, 3); /* three thanas in Patna */
    grp_codes_free(codes, n);
    core_redis_free(r);
}

static void test_problems_reported_nothing_written(void **state)
{
    struct fixture *f = *state;
    char *out = NULL;
    char *err = NULL;
    char *bad;
    long long before;

    import_sample(f);
    before = th_redis_int(&f->redis, "DBSIZE");
    bad = write_tmp(f, "bad.csv",
                    "code,parent,name_en,name_hi,type,pincode,population,lat,lon\n"
                    "NEW-1,NO-SUCH-BEAT,Alpha,,village,,,,\n"            /* 3: unknown parent */
                    "NEW-2,PAT-DNP,Beta,,village,,,,\n"                  /* 4: wrong level */
                    "NEW-3,PAT-DNP-1,Gamma,,village,80110,,,\n"          /* 5: pincode */
                    "NEW-4,PAT-DNP-1,Delta,,village,,,85.04,25.57\n"     /* 6: swapped */
                    "NEW-5,PAT-DNP-1,Epsilon,,village,,,25.57,\n"        /* 7: lat alone */
                    "NEW-1,PAT-DNP-1,Zeta,,village,,,,\n"                /* 8: duplicate */
                    "NEW 7,PAT-DNP-1,Eta,,village,,,,\n"                 /* 9: bad code */
                    "NEW-8,PAT-DNP-1,,,village,,,,\n"                    /* 10: no name */
                    "NEW-9,PAT-DNP-1,Theta,,castle,,,,\n"                /* 11: type */
                    "NEW-10,PAT-DNP-1,\xe0\xa4\x97\xff,,village,,,,\n"   /* 12: encoding */
                    "NEW-11,PAT-DNP-1,Iota,,village,,-5,,\n"             /* 13: population */
                    "NEW-12,PAT-DNP-1,Kappa,,village\n"                  /* 14: fields */
                    "KHG-01,PAT-DNP-1,Khagaul renamed,,town,,,,\n"       /* fine on its own */
                    "PAT-DNP,PAT-DNP-1,Clash,,village,,,,\n");           /* 16: code clash */
    assert_int_equal(import(f, "locality", bad, NULL, &out, &err), 65);
    assert_non_null(strstr(err, "bad.csv:2:2: unknown parent 'NO-SUCH-BEAT'"));
    assert_non_null(strstr(err, "bad.csv:3:2: parent 'PAT-DNP' is a thana"));
    assert_non_null(strstr(err, "bad.csv:4:6: pincode must be 6 digits"));
    assert_non_null(strstr(err, "bad.csv:5:8: coordinates 85.0400,25.5700 are outside"));
    assert_non_null(strstr(err, "bad.csv:6:9: lat and lon must be given together"));
    assert_non_null(strstr(err, "bad.csv:7:1: duplicate code 'NEW-1' (first on line 2)"));
    assert_non_null(strstr(err, "bad.csv:8:1: code must be"));
    assert_non_null(strstr(err, "bad.csv:9:3: name_en is empty"));
    assert_non_null(strstr(err, "bad.csv:10:5: type must be"));
    assert_non_null(strstr(err, "bad.csv:11:3: not valid UTF-8"));
    assert_non_null(strstr(err, "bad.csv:12:7: population must be a whole number"));
    assert_non_null(strstr(err, "bad.csv:13:6: expected 9 fields, found 5"));
    assert_non_null(strstr(err, "bad.csv:15:1: code 'PAT-DNP' is already a thana"));
    assert_non_null(strstr(err, "nothing imported"));
    /* nothing at all was written, not even the valid row */
    assert_int_equal(th_redis_int(&f->redis, "DBSIZE"), before);
    assert_int_equal(th_redis_int(&f->redis, "HEXISTS js:u:{NEW-3} k"), 0);
    {
        struct core_redis_opts o = {f->redis.addr, NULL, NULL, 2000};
        struct core_redis *r = core_redis_new(&o);
        struct core_err e;
        struct grp_unit u;

        assert_int_equal(grp_unit_get(r, "KHG-01", &u, &e), 1);
        assert_string_equal(u.name_en, "Khagaul");
        grp_unit_cleanup(&u);
        core_redis_free(r);
    }
    free(out);
    free(err);
    free(bad);
}

static void test_header_problems(void **state)
{
    struct fixture *f = *state;
    char *out = NULL;
    char *err = NULL;
    char *a = write_tmp(f, "a.csv", "code,name_en,colour\nX,Y,red\n");
    char *b = write_tmp(f, "b.csv", "name_en,code,code\n");
    char *empty = write_tmp(f, "empty.csv", "");

    assert_int_equal(import(f, "district", a, NULL, &out, &err), 65);
    assert_non_null(strstr(err, "a.csv:1:3: unknown column 'colour' for district files"));
    assert_non_null(strstr(err, "a.csv:1:1: missing required column 'parent'"));
    free(out);
    free(err);
    assert_int_equal(import(f, "state", b, NULL, &out, &err), 65);
    assert_non_null(strstr(err, "b.csv:1:3: column 'code' appears twice"));
    free(out);
    free(err);
    assert_int_equal(import(f, "state", empty, NULL, &out, &err), 65);
    assert_non_null(strstr(err, "empty.csv:1:1: the file is empty"));
    free(out);
    free(err);
    assert_int_equal(import(f, "county", a, NULL, &out, &err), 64);
    free(out);
    free(err);
    assert_int_equal(import(f, "state", "/nonexistent.csv", NULL, &out, &err), 66);
    assert_int_equal(th_redis_int(&f->redis, "DBSIZE"), 0);
    free(out);
    free(err);
    free(a);
    free(b);
    free(empty);
}

static void test_move_update_and_dry_run(void **state)
{
    struct fixture *f = *state;
    char *out = NULL;
    char *err = NULL;
    char *moved = write_tmp(f, "moved.csv",
                            "code,parent,name_en,name_hi,type,pincode,lat,lon\n"
                            "HLD-01,PAT-BHT-1,Haldi Chhapra,हल्दी छपरा,village,801103,,\n");

    import_sample(f);
    /* a dry run reports but writes nothing */
    assert_int_equal(import(f, "locality", moved, "--dry-run", &out, &err), 0);
    assert_non_null(strstr(out, "dry run: locality: 1 rows: 0 created, 1 updated"));
    assert_int_equal(th_redis_int(&f->redis, "SISMEMBER js:u:{PAT-DNP-2}:c HLD-01"), 1);
    free(out);
    free(err);
    /* the real thing: new beat, new PIN, coordinates and population dropped */
    import_ok(f, "locality", moved, "1 rows: 0 created, 1 updated");
    assert_int_equal(th_redis_int(&f->redis, "SISMEMBER js:u:{PAT-DNP-2}:c HLD-01"), 0);
    assert_int_equal(th_redis_int(&f->redis, "SISMEMBER js:u:{PAT-BHT-1}:c HLD-01"), 1);
    assert_int_equal(th_redis_int(&f->redis, "SISMEMBER js:pin:{801108} HLD-01"), 0);
    assert_int_equal(th_redis_int(&f->redis, "SISMEMBER js:pin:{801103} HLD-01"), 1);
    assert_int_equal(th_redis_int(&f->redis, "HEXISTS js:u:{HLD-01} lat"), 0);
    assert_int_equal(th_redis_int(&f->redis, "HEXISTS js:u:{HLD-01} pop"), 0);
    {
        redisReply *rep = th_redis_cmd(&f->redis, "ZSCORE js:geo:loc HLD-01");

        assert_int_equal(rep->type, REDIS_REPLY_NIL);
        freeReplyObject(rep);
    }
    free(moved);
}

static void test_real_bihar_geography(void **state)
{
    struct fixture *f = *state;
    const char *data = th_data_dir();
    char conv[512];
    char out_dir[600];
    const char *argv[] = {conv, data, out_dir, NULL};
    static const char *const kinds[] = {"state", "district", "thana", "beat", "locality"};
    char *out = NULL;
    char *err = NULL;

    if (data == NULL) {
        printf("SKIP test_real_bihar_geography: ../shared/data is absent "
               "(set JANSEVA_TEST_DATA to run it)\n");
        skip();
    }
    snprintf(conv, sizeof conv, "%s/bihar-geo", th_build_dir());
    snprintf(out_dir, sizeof out_dir, "%s", f->dir);
    assert_int_equal(th_run(argv, NULL, NULL, 0, &out, &err), 0);
    /* every Census 2011 village; all habitations of known districts;
     * polling stations minus the 9 source rows with line breaks in names */
    assert_non_null(strstr(out, "villages 44934"));
    assert_non_null(strstr(out, "habitations 92375"));
    assert_non_null(strstr(out, "polling stations 105681"));
    free(out);
    free(err);
    for (int i = 0; i < 5; i++) {
        char path[700];
        int rc;

        snprintf(path, sizeof path, "%s/%s.csv", out_dir, kinds[i]);
        rc = import(f, kinds[i], path, NULL, &out, &err);
        if (rc != 0)
            fail_msg("import %s: exit %d: %.500s", kinds[i], rc, err);
        free(out);
        free(err);
    }
    assert_int_equal(th_redis_int(&f->redis, "SCARD js:kind:district"), 38);
    /* one synthetic thana per block, plus one "unmapped" per district that needs it */
    assert_true(th_redis_int(&f->redis, "SCARD js:kind:thana") >= 534);
    assert_int_equal(th_redis_int(&f->redis, "SCARD js:kind:locality"), 44934 + 92375 + 105681);
    assert_int_equal(th_redis_int(&f->redis, "ZCARD js:geo:loc"), 92375 + 86822);
    /* Patna's centre finds a polling station within a kilometre */
    {
        redisReply *rep = th_redis_cmd(&f->redis, "GEOSEARCH js:geo:loc FROMLONLAT 85.1376 "
                                                  "25.5941 BYRADIUS 1 km ASC COUNT 1");

        assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
        assert_int_equal(rep->elements, 1);
        freeReplyObject(rep);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sample_hierarchy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_problems_reported_nothing_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_problems, setup, teardown),
        cmocka_unit_test_setup_teardown(test_move_update_and_dry_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_bihar_geography, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
