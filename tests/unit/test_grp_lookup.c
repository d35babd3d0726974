/*
 * tests/unit/test_grp_lookup.c - the hierarchy index of the dialogue, on the
 * sample hierarchy: tolerant locality-name search (Devanagari and Latin
 * spellings of the same village, typos, fillers such as "mera gaon",
 * cross-script names known in one script only, restriction to a set),
 * ranking (whole names before parts, villages before polling stations),
 * menus sorted by name in each language, ancestors, and the Redis loader
 * with its version-driven cache.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/grp_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int setup(void **state)
{
    struct grp_lookup *lk = grp_fixture_lookup();

    if (lk == NULL)
        return -1;
    *state = lk;
    return 0;
}

static int teardown(void **state)
{
    grp_lookup_free(*state);
    return 0;
}

/* The code of the best match of `q`, or "" when nothing matched. */
static const char *best(const struct grp_lookup *lk, const char *q)
{
    struct grp_match m[9];
    size_t n = grp_lookup_search(lk, q, strlen(q), NULL, 0, m, 9);

    return n > 0 ? m[0].place->code : "";
}

static void expect_best(const struct grp_lookup *lk, const char *q, const char *code)
{
    const char *got = best(lk, q);

    if (strcmp(got, code) != 0)
        fail_msg("query \"%s\": best match %s, want %s", q, got[0] != '\0' ? got : "(none)", code);
}

static void test_same_village_every_spelling(void **state)
{
    static const char *const spellings[] = {
        "हल्दी छपरा",
        "Haldi Chhapra",
        "haldi chhapra",
        "haldi chapra",
        "HALDI CHAPARA",
        "haldichhapra",
        "hladi chhapra",
        "haldi chhpra",
        "हलदी छपड़ा",
        "हल्दी छपरा गाँव",
        "mera gaon haldi chapra hai",
        "  Haldi-Chhapra!",
        "haldee chapra",
        "halde chapra",
    };

    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++)
        expect_best(*state, spellings[i], "HLD-01");
}

static void test_other_sample_names(void **state)
{
    const struct grp_lookup *lk = *state;

    expect_best(lk, "खगौल", "KHG-01");
    expect_best(lk, "khagaul", "KHG-01");
    expect_best(lk, "khagol", "KHG-01");
    expect_best(lk, "सुजाता गढ़", "SJT-01");
    expect_best(lk, "sujata garh", "SJT-01");
    expect_best(lk, "sujatagarh", "SJT-01");
    expect_best(lk, "मोचारिम", "MCR-01");
    expect_best(lk, "mocharim", "MCR-01");
    expect_best(lk, "शेरपुर", "SRP-01");
    expect_best(lk, "sherpur", "SRP-01");
    expect_best(lk, "bodh gaya ward 5", "BDG-W05");
    expect_best(lk, "बोधगया वार्ड 5", "BDG-W05");
    expect_best(lk, "bihta bazar", "BHT-01");
    expect_best(lk, "बिहटा बाज़ार", "BHT-01");
    /* part of a name: the first words */
    expect_best(lk, "bihta", "BHT-01");
    expect_best(lk, "kankarbag", "PAT-W28");
    /* the number decides between wards of one name */
    expect_best(lk, "ward 29", "PAT-W29");
    expect_best(lk, "lohiya nagar", "PAT-W29");
    expect_best(lk, "लोहिया नगर", "PAT-W29");
    /* Hindi script for a name written in Latin letters */
    expect_best(lk, "अमहारा", "AMH-01");
    expect_best(lk, "silaunja", "SLP-01");
    expect_best(lk, "सिलौंजा", "SLP-01");
}

static void test_nothing_close(void **state)
{
    const struct grp_lookup *lk = *state;
    struct grp_match m[9];

    assert_string_equal(best(lk, "xyzzy qwerty"), "");
    assert_string_equal(best(lk, "मुंबई"), "");
    assert_string_equal(best(lk, ""), "");
    assert_string_equal(best(lk, "a"), "");
    assert_string_equal(best(lk, "🙏🙏"), "");
    assert_string_equal(best(lk, "mera gaon"), ""); /* only fillers */
    assert_int_equal(grp_lookup_search(lk, "haldi", 5, NULL, 0, m, 0), 0);
    assert_int_equal(grp_lookup_search(NULL, "haldi", 5, NULL, 0, m, 9), 0);
    /* a long query is cut, never overrun */
    {
        char q[4000];

        memset(q, 'a', sizeof q - 1);
        q[sizeof q - 1] = '\0';
        (void)grp_lookup_search(lk, q, strlen(q), NULL, 0, m, 9);
    }
}

static void test_only_and_limits(void **state)
{
    const struct grp_lookup *lk = *state;
    static const char *const gaya[] = {"BDG-W05", "BKR-01", "SJT-01", "MCR-01",
                                       "BTR-01",  "SLP-01", "NOPE-1", "GAY"};
    struct grp_match m[9];
    size_t n;

    /* "ward" inside Gaya only: Bodh Gaya Ward 5, not the Patna wards */
    n = grp_lookup_search(lk, "ward", 4, gaya, sizeof gaya / sizeof gaya[0], m, 9);
    assert_int_equal(n, 1);
    assert_string_equal(m[0].place->code, "BDG-W05");
    /* "ward" everywhere: four wards, ranks ascending */
    n = grp_lookup_search(lk, "ward", 4, NULL, 0, m, 9);
    assert_int_equal(n, 4);
    for (size_t i = 1; i < n; i++)
        assert_true(m[i - 1].rank <= m[i].rank);
    /* max respected, and the best kept */
    n = grp_lookup_search(lk, "ward", 4, NULL, 0, m, 2);
    assert_int_equal(n, 2);
}

static void test_ranking(void **state)
{
    struct grp_lookup *lk = grp_lookup_new();
    struct grp_match m[9];
    size_t n;

    (void)state;
    grp_lookup_add(lk, "D", GRP_DISTRICT, "", "District", "", NULL, NULL, -1);
    grp_lookup_add(lk, "T", GRP_THANA, "D", "Thana", "", NULL, NULL, -1);
    grp_lookup_add(lk, "B", GRP_BEAT, "T", "Beat", "", NULL, NULL, -1);
    grp_lookup_add(lk, "PS-1", GRP_LOCALITY, "B", "Primary School Pipra", "", NULL,
                   "polling_station", -1);
    grp_lookup_add(lk, "PS-2", GRP_LOCALITY, "B", "Pipra", "", NULL, "polling_station", -1);
    grp_lookup_add(lk, "HAB-1", GRP_LOCALITY, "B", "Pipra", "", NULL, "habitation", 900);
    grp_lookup_add(lk, "V-2", GRP_LOCALITY, "B", "Pipra", "", NULL, "village", 300);
    grp_lookup_add(lk, "V-1", GRP_LOCALITY, "B", "Pipra", "", NULL, "village", 5000);
    grp_lookup_add(lk, "V-3", GRP_LOCALITY, "B", "Pipra Tola", "", NULL, "village", 9000);
    grp_lookup_add(lk, "V-4", GRP_LOCALITY, "B", "Piprahi", "", NULL, "village", 9000);
    grp_lookup_add(lk, "V-1", GRP_LOCALITY, "B", "Duplicate", "", NULL, "village", 1);
    grp_lookup_finish(lk);
    assert_int_equal(grp_lookup_size(lk), 10);
    n = grp_lookup_search(lk, "पिपरा", strlen("पिपरा"), NULL, 0, m, 9);
    /* whole-name villages by population, then habitation, then polling
     * station, then a name starting with the word; the skeleton of पिपरा
     * ("pr") is too short to look inside names or allow a change */
    assert_int_equal(n, 5);
    assert_string_equal(m[0].place->code, "V-1");
    assert_string_equal(m[1].place->code, "V-2");
    assert_string_equal(m[2].place->code, "HAB-1");
    assert_string_equal(m[3].place->code, "PS-2");
    assert_string_equal(m[4].place->code, "V-3");
    /* in Latin letters: the same, then the word inside a name (Piprahi is
     * two letters more than a five-letter name allows) */
    n = grp_lookup_search(lk, "pipra", 5, NULL, 0, m, 9);
    assert_int_equal(n, 6);
    assert_string_equal(m[0].place->code, "V-1");
    assert_string_equal(m[4].place->code, "V-3");
    assert_string_equal(m[5].place->code, "PS-1");
    n = grp_lookup_search(lk, "piprahi", 7, NULL, 0, m, 9);
    assert_string_equal(m[0].place->code, "V-4");
    assert_string_equal(grp_lookup_find(lk, "V-1")->name_en, "Pipra");
    grp_lookup_free(lk);
}

static void test_menus(void **state)
{
    const struct grp_lookup *lk = *state;
    const struct grp_place **v;
    size_t n;

    n = grp_lookup_menu(lk, NULL, GRP_LANG_EN, &v);
    assert_int_equal(n, 2);
    assert_string_equal(v[0]->code, "GAY");
    assert_string_equal(v[1]->code, "PAT");
    free(v);
    n = grp_lookup_menu(lk, "", GRP_LANG_HI, &v);
    assert_int_equal(n, 2);
    assert_string_equal(grp_place_name(v[0], GRP_LANG_HI), "गया");
    free(v);
    n = grp_lookup_menu(lk, "BR", GRP_LANG_EN, &v);
    assert_int_equal(n, 2);
    free(v);
    /* a district: its thanas, sorted by name */
    n = grp_lookup_menu(lk, "PAT", GRP_LANG_EN, &v);
    assert_int_equal(n, 3);
    assert_string_equal(v[0]->name_en, "Bihta");
    assert_string_equal(v[1]->name_en, "Danapur");
    assert_string_equal(v[2]->name_en, "Kankarbagh");
    free(v);
    /* a thana: the localities of both its beats */
    n = grp_lookup_menu(lk, "PAT-DNP", GRP_LANG_EN, &v);
    assert_int_equal(n, 6);
    assert_string_equal(v[0]->name_en, "Haldi Chhapra");
    assert_string_equal(v[5]->name_en, "Shivala");
    free(v);
    n = grp_lookup_menu(lk, "PAT-DNP-2", GRP_LANG_HI, &v);
    assert_int_equal(n, 3);
    free(v);
    assert_int_equal(grp_lookup_menu(lk, "HLD-01", GRP_LANG_EN, &v), 0);
    assert_null(v);
    assert_int_equal(grp_lookup_menu(lk, "NOPE", GRP_LANG_EN, &v), 0);
}

static void test_places(void **state)
{
    const struct grp_lookup *lk = *state;
    const struct grp_place *p = grp_lookup_find(lk, "HLD-01");

    assert_non_null(p);
    assert_int_equal(p->kind, GRP_LOCALITY);
    assert_string_equal(p->pin, "801108");
    assert_int_equal(p->population, 3520);
    assert_string_equal(grp_place_name(p, GRP_LANG_HI), "हल्दी छपरा");
    assert_string_equal(grp_place_name(p, GRP_LANG_EN), "Haldi Chhapra");
    assert_string_equal(grp_lookup_ancestor(lk, p, GRP_THANA)->code, "PAT-DNP");
    assert_string_equal(grp_lookup_ancestor(lk, p, GRP_DISTRICT)->code, "PAT");
    assert_string_equal(grp_lookup_ancestor(lk, p, GRP_LOCALITY)->code, "HLD-01");
    assert_null(grp_lookup_ancestor(lk, grp_lookup_find(lk, "PAT"), GRP_THANA));
    assert_null(grp_lookup_find(lk, "NOPE"));
    assert_null(grp_lookup_find(lk, NULL));
    assert_int_equal(grp_lookup_size(lk), 1 + 2 + 4 + 6 + 18);
}

/* The loader and the cache on a real Redis. */
static void test_redis_cache(void **state)
{
    char *dir = th_tmpdir("grp-lookup");
    struct th_redis rs;
    struct core_redis_opts o = {NULL, NULL, NULL, 5000};
    struct core_redis *r;
    struct core_err err;
    struct grp_lookup_cache *c;
    const struct grp_lookup *a;
    const struct grp_lookup *b;
    struct grp_match m[9];

    (void)state;
    assert_int_equal(th_redis_start(&rs, dir), 0);
    o.addr = rs.addr;
    r = core_redis_new(&o);
    c = grp_lookup_cache_new(1); /* check the version on nearly every call */
    /* empty Redis: an empty index */
    a = grp_lookup_cache_get(c, r, &err);
    assert_non_null(a);
    assert_int_equal(grp_lookup_size(a), 0);
    grp_lookup_release(a);
    th_sleep_ms(5);
    /* an import bumps js:hier:ver: the next get rebuilds */
    assert_int_equal(grp_fixture_import(r), 0);
    a = grp_lookup_cache_get(c, r, &err);
    assert_int_equal(grp_lookup_size(a), 31);
    assert_int_equal(grp_lookup_search(a, "haldi chapra", 12, NULL, 0, m, 9) > 0, 1);
    assert_string_equal(m[0].place->code, "HLD-01");
    th_sleep_ms(5);
    b = grp_lookup_cache_get(c, r, &err);
    assert_ptr_equal(a, b); /* same version: same index */
    grp_lookup_release(b);
    /* Redis gone: the index we have keeps serving */
    th_redis_stop(&rs, 1);
    th_sleep_ms(5);
    b = grp_lookup_cache_get(c, r, &err);
    assert_ptr_equal(a, b);
    grp_lookup_release(b);
    /* `a` stays valid while held, even after the cache is gone */
    grp_lookup_cache_free(c);
    assert_string_equal(grp_lookup_find(a, "HLD-01")->name_en, "Haldi Chhapra");
    grp_lookup_release(a);
    core_redis_free(r);
    th_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_village_every_spelling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_sample_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_and_limits, setup, teardown),
        cmocka_unit_test(test_ranking),
        cmocka_unit_test_setup_teardown(test_menus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_places, setup, teardown),
        cmocka_unit_test(test_redis_cache),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
