/*
 * tests/unit/test_grp_member.c - groups/member on a real redis-server:
 * defaults of a fresh record, labels (stable, known answer, alphabet,
 * spread), language and dialogue state, join / move / leave (idempotent,
 * set and count always agree, a repeat after each possible crash point
 * finishes the job), membership states keep the "in the set exactly when
 * active or muted" invariant, the SSCAN walk (batches, resume from a saved
 * cursor), and that no field holds anything personal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/mrec.h"
#include "groups/member.h"
#include "tests/unit/grp_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MID_A "0123456789abcdef0123456789abcdef"
#define MID_B "fedcba9876543210fedcba9876543210"

struct fixture {
    char *dir;
    struct th_redis redis;
    struct core_redis *r;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct core_redis_opts o = {NULL, NULL, NULL, 5000};

    f->dir = th_tmpdir("grp-member");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    o.addr = f->redis.addr;
    f->r = core_redis_new(&o);
    if (grp_fixture_import(f->r) != 0)
        return -1;
    /* member records as the identity registry creates them */
    th_member_set(&f->redis, MID_A, "ct", "1700000000", NULL);
    th_member_set(&f->redis, MID_B, "ct", "1700000000", NULL);
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

static void load(struct fixture *f, const char *mid, struct grp_member *m)
{
    struct core_err err;

    if (grp_member_load(f->r, mid, m, &err) != 0)
        fail_msg("load: %s", err.msg);
}

static long long count(struct fixture *f, const char *code)
{
    struct core_err err;

    return grp_member_group_count(f->r, code, &err);
}

static long long scard(struct fixture *f, const char *code)
{
    return th_redis_int(&f->redis, "HLEN js:u:{%s}:mem", code);
}

static void ok(int rc, const struct core_err *err)
{
    if (rc != 0)
        fail_msg("%s", err->msg);
}

static void test_defaults(void **state)
{
    struct fixture *f = *state;
    struct grp_member m;

    load(f, MID_A, &m);
    assert_true(m.exists);
    assert_int_equal(m.st, GRP_MEMBER_NEW);
    assert_string_equal(m.group, "");
    assert_int_equal(m.lang, GRP_LANG_HI);
    assert_string_equal(m.ds, "");
    assert_string_equal(m.cv, "");
    assert_int_equal(m.np, 0);
    assert_int_equal(strlen(m.label), 4);
    load(f, "00000000000000000000000000000000", &m);
    assert_false(m.exists);
    assert_int_equal(m.st, GRP_MEMBER_NEW);
    /* garbage in a text field reads as the default (a state that is not
     * one cannot even be stored: test_mrec) */
    th_member_set(&f->redis, MID_B, "lang", "xx", NULL);
    load(f, MID_B, &m);
    assert_int_equal(m.st, GRP_MEMBER_NEW);
    assert_int_equal(m.lang, GRP_LANG_HI);
}

static void test_labels(void **state)
{
    char a[GRP_LABEL_CODE_LEN];
    char b[GRP_LABEL_CODE_LEN];
    struct grp_member m;
    char shown[GRP_LABEL_MAX];
    int seen[32] = {0};
    static const char alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    int distinct = 0;

    (void)state;
    grp_member_label_code(MID_A, a);
    grp_member_label_code(MID_A, b);
    assert_string_equal(a, b);
    /* known answer (Python: blake2b(b"janseva label v1" + mid, digest_size=8),
     * 5 bits at a time from the low end of the first 4 bytes, little
     * endian): a label must never change for a member */
    assert_string_equal(a, "GYA2");
    grp_member_label_code(MID_B, b);
    assert_string_not_equal(a, b);
    memset(&m, 0, sizeof m);
    snprintf(m.mid, sizeof m.mid, "%s", MID_A);
    grp_member_label(&m, GRP_LANG_HI, shown, sizeof shown);
    assert_string_equal(shown, "सदस्य GYA2");
    grp_member_label(&m, GRP_LANG_EN, shown, sizeof shown);
    assert_string_equal(shown, "Member GYA2");
    /* 2,000 mids: only the alphabet, every character used, few repeats */
    for (int i = 0; i < 2000; i++) {
        char mid[CRY_MID_LEN];
        char code[GRP_LABEL_CODE_LEN];

        snprintf(mid, sizeof mid, "%032x", i * 2654435761u);
        grp_member_label_code(mid, code);
        for (int k = 0; k < 4; k++) {
            const char *p = strchr(alphabet, code[k]);

            assert_non_null(p);
            seen[p - alphabet]++;
        }
    }
    for (int k = 0; k < 32; k++)
        distinct += seen[k] > 0;
    assert_int_equal(distinct, 32);
    for (int k = 0; k < 32; k++)
        assert_true(seen[k] > 8000 / 32 / 2 && seen[k] < 8000 / 32 * 2);
}

static void test_lang_and_dialogue(void **state)
{
    struct fixture *f = *state;
    struct grp_member m;
    struct core_err err;
    json_t *dd = json_pack("{s:s,s:[s,s]}", "k", "c", "c", "HLD-01", "SRP-01");
    char big[3000];

    ok(grp_member_set_lang(f->r, MID_A, GRP_LANG_EN, &err), &err);
    load(f, MID_A, &m);
    assert_int_equal(m.lang, GRP_LANG_EN);
    ok(grp_member_set_lang(f->r, MID_A, GRP_LANG_HI, &err), &err);
    assert_null(th_member_get(&f->redis, MID_A, "lang"));
    ok(grp_member_set_dialogue(f->r, MID_A, "join:pick", dd, 1700000123, &err), &err);
    load(f, MID_A, &m);
    assert_string_equal(m.ds, "join:pick");
    assert_int_equal(m.ds_time, 1700000123);
    assert_non_null(strstr(m.dd, "\"HLD-01\""));
    /* dd was borrowed, not changed */
    assert_null(json_object_get(dd, "t"));
    json_decref(dd);
    ok(grp_member_set_dialogue(f->r, MID_A, "join:ask", NULL, 1700000200, &err), &err);
    load(f, MID_A, &m);
    assert_string_equal(m.dd, "{\"t\":1700000200}");
    ok(grp_member_set_dialogue(f->r, MID_A, NULL, NULL, 0, &err), &err);
    load(f, MID_A, &m);
    assert_string_equal(m.ds, "");
    assert_string_equal(m.dd, "");
    /* too large, or not an object */
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    dd = json_pack("{s:s}", "x", big);
    assert_int_equal(grp_member_set_dialogue(f->r, MID_A, "join:pick", dd, 1, &err), -1);
    assert_int_equal(err.code, CORE_EX_DATAERR);
    json_decref(dd);
    dd = json_array();
    assert_int_equal(grp_member_set_dialogue(f->r, MID_A, "join:pick", dd, 1, &err), -1);
    json_decref(dd);
}

static void test_join_move_leave(void **state)
{
    struct fixture *f = *state;
    struct grp_member m;
    struct core_err err;
    int moved = -1;

    /* not a locality, not a unit */
    assert_int_equal(grp_member_join(f->r, MID_A, "PAT-DNP", "c1", 100, &moved, &err), -1);
    assert_int_equal(err.code, CORE_EX_NOINPUT);
    assert_int_equal(grp_member_join(f->r, MID_A, "NOPE-1", "c1", 100, &moved, &err), -1);
    assert_int_equal(grp_member_join(f->r, MID_A, "bad code!", "c1", 100, &moved, &err), -1);
    assert_int_equal(scard(f, "PAT-DNP"), 0);
    /* join, twice */
    ok(grp_member_set_dialogue(f->r, MID_A, "join:confirm", NULL, 99, &err), &err);
    ok(grp_member_join(f->r, MID_A, "HLD-01", "c1", 100, &moved, &err), &err);
    assert_int_equal(moved, 0);
    ok(grp_member_join(f->r, MID_A, "HLD-01", "c2", 150, &moved, &err), &err);
    load(f, MID_A, &m);
    assert_int_equal(m.st, GRP_MEMBER_ACTIVE);
    assert_string_equal(m.group, "HLD-01");
    assert_int_equal(m.jt, 100);     /* joined once */
    assert_string_equal(m.cv, "c2"); /* consent renewed */
    assert_int_equal(m.cts, 150);
    assert_string_equal(m.ds, ""); /* dialogue over */
    assert_true(grp_member_receives(&m, "HLD-01"));
    assert_false(grp_member_receives(&m, "SRP-01"));
    assert_int_equal(count(f, "HLD-01"), 1);
    assert_int_equal(scard(f, "HLD-01"), 1);
    assert_int_equal(grp_member_in_group(f->r, "HLD-01", MID_A, &err), 1);
    /* the label is derived from the mid, not stored */
    assert_null(th_member_get(&f->redis, MID_A, "lbl"));
    load(f, MID_A, &m);
    {
        char code[GRP_LABEL_CODE_LEN];

        grp_member_label_code(MID_A, code);
        assert_string_equal(m.label, code);
    }
    /* a second member, then a move */
    ok(grp_member_join(f->r, MID_B, "HLD-01", "c1", 100, NULL, &err), &err);
    assert_int_equal(count(f, "HLD-01"), 2);
    ok(grp_member_join(f->r, MID_A, "SRP-01", "c2", 200, &moved, &err), &err);
    assert_int_equal(moved, 1);
    load(f, MID_A, &m);
    assert_string_equal(m.group, "SRP-01");
    assert_int_equal(m.jt, 200);
    assert_int_equal(count(f, "HLD-01"), 1);
    assert_int_equal(count(f, "SRP-01"), 1);
    assert_int_equal(grp_member_in_group(f->r, "HLD-01", MID_A, &err), 0);
    /* leave, twice */
    ok(grp_member_leave(f->r, MID_A, &err), &err);
    ok(grp_member_leave(f->r, MID_A, &err), &err);
    load(f, MID_A, &m);
    assert_int_equal(m.st, GRP_MEMBER_LEFT);
    assert_string_equal(m.group, "");
    assert_false(grp_member_receives(&m, "SRP-01"));
    assert_int_equal(count(f, "SRP-01"), 0);
    assert_int_equal(scard(f, "SRP-01"), 0);
    /* rejoin after STOP */
    ok(grp_member_join(f->r, MID_A, "SRP-01", "c2", 300, &moved, &err), &err);
    assert_int_equal(moved, 0);
    load(f, MID_A, &m);
    assert_int_equal(m.st, GRP_MEMBER_ACTIVE);
    assert_int_equal(count(f, "SRP-01"), 1);
}

/* A move interrupted after each step, then repeated: always consistent. */
static void test_move_after_crash(void **state)
{
    struct fixture *f = *state;
    struct grp_member m;
    struct core_err err;

    ok(grp_member_join(f->r, MID_A, "HLD-01", "c1", 100, NULL, &err), &err);
    /* crash after step 1 of a move to SRP-01: in both sets, record says HLD-01 */
    th_group_add(&f->redis, "SRP-01", MID_A);
    th_redis_int(&f->redis, "HINCRBY js:u:{SRP-01} n 1");
    ok(grp_member_join(f->r, MID_A, "SRP-01", "c1", 200, NULL, &err), &err);
    assert_int_equal(count(f, "HLD-01"), 0);
    assert_int_equal(count(f, "SRP-01"), 1);
    /* crash after step 2 of a move back: in no set, record says SRP-01 */
    th_group_add(&f->redis, "HLD-01", MID_A);
    th_redis_int(&f->redis, "HINCRBY js:u:{HLD-01} n 1");
    th_group_del(&f->redis, "SRP-01", MID_A);
    th_redis_int(&f->redis, "HINCRBY js:u:{SRP-01} n -1");
    ok(grp_member_join(f->r, MID_A, "HLD-01", "c1", 300, NULL, &err), &err);
    load(f, MID_A, &m);
    assert_string_equal(m.group, "HLD-01");
    assert_int_equal(count(f, "HLD-01"), 1);
    assert_int_equal(scard(f, "HLD-01"), 1);
    assert_int_equal(count(f, "SRP-01"), 0);
    /* a leave interrupted after st = left: repeated, it leaves the set */
    th_member_set(&f->redis, MID_A, "st", "left", NULL);
    load(f, MID_A, &m);
    assert_false(grp_member_receives(&m, "HLD-01")); /* relays stop at once */
    ok(grp_member_leave(f->r, MID_A, &err), &err);
    assert_int_equal(count(f, "HLD-01"), 0);
    assert_int_equal(scard(f, "HLD-01"), 0);
}

static void test_states_keep_the_invariant(void **state)
{
    struct fixture *f = *state;
    struct grp_member m;
    struct core_err err;

    ok(grp_member_set_state(f->r, MID_A, GRP_MEMBER_ENROLLING, &err), &err);
    load(f, MID_A, &m);
    assert_int_equal(m.st, GRP_MEMBER_ENROLLING);
    ok(grp_member_join(f->r, MID_A, "KHG-01", "c1", 100, NULL, &err), &err);
    /* enrolling with a group: refused */
    assert_int_equal(grp_member_set_state(f->r, MID_A, GRP_MEMBER_ENROLLING, &err), -1);
    assert_int_equal(err.code, CORE_EX_DATAERR);
    /* muted: stays in the set, still receives */
    ok(grp_member_set_state(f->r, MID_A, GRP_MEMBER_MUTED, &err), &err);
    load(f, MID_A, &m);
    assert_true(grp_member_receives(&m, "KHG-01"));
    assert_int_equal(count(f, "KHG-01"), 1);
    /* banned: out of the set, group kept for the record */
    ok(grp_member_set_state(f->r, MID_A, GRP_MEMBER_BANNED, &err), &err);
    ok(grp_member_set_state(f->r, MID_A, GRP_MEMBER_BANNED, &err), &err);
    load(f, MID_A, &m);
    assert_int_equal(m.st, GRP_MEMBER_BANNED);
    assert_string_equal(m.group, "KHG-01");
    assert_false(grp_member_receives(&m, "KHG-01"));
    assert_int_equal(count(f, "KHG-01"), 0);
    /* active again (unbanned): back in */
    ok(grp_member_set_state(f->r, MID_A, GRP_MEMBER_ACTIVE, &err), &err);
    assert_int_equal(count(f, "KHG-01"), 1);
    /* left = leave */
    ok(grp_member_set_state(f->r, MID_A, GRP_MEMBER_LEFT, &err), &err);
    load(f, MID_A, &m);
    assert_string_equal(m.group, "");
    assert_int_equal(count(f, "KHG-01"), 0);
    assert_int_equal(grp_member_set_state(f->r, MID_A, (enum grp_member_state)42, &err), -1);
    /* names */
    for (int i = 0; i < GRP_MEMBER_STATE_COUNT; i++) {
        enum grp_member_state st;

        assert_int_equal(
            grp_member_state_parse(grp_member_state_name((enum grp_member_state)i), &st), 0);
        assert_int_equal(st, i);
    }
    assert_int_equal(grp_member_state_parse("gone", &m.st), -1);
}

struct walk {
    int calls;
    size_t seen;
    size_t stop_after;
    char mids[1200][CRY_MID_LEN];
};

static int walk_fn(void *ud, const char *const *mids, size_t n)
{
    struct walk *w = ud;

    w->calls++;
    for (size_t i = 0; i < n && w->seen < 1200; i++)
        snprintf(w->mids[w->seen++], CRY_MID_LEN, "%s", mids[i]);
    return w->stop_after != 0 && w->seen >= w->stop_after ? 7 : 0;
}

static int cmp_mid(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_scan(void **state)
{
    struct fixture *f = *state;
    struct core_err err;
    char cursor[GRP_CURSOR_MAX] = "";
    struct walk *w = calloc(1, sizeof *w);
    size_t distinct = 0;

    for (int i = 0; i < 1000; i++) {
        char mid[CRY_MID_LEN];

        snprintf(mid, sizeof mid, "%032x", i);
        th_member_set(&f->redis, mid, "ct", "1", NULL);
        ok(grp_member_join(f->r, mid, "MNR-01", "c1", 100, NULL, &err), &err);
    }
    assert_int_equal(count(f, "MNR-01"), 1000);
    /* stop part way, then resume from the cursor */
    w->stop_after = 300;
    assert_int_equal(grp_member_group_scan(f->r, "MNR-01", cursor, 100, walk_fn, w, &err), 7);
    assert_string_not_equal(cursor, "0");
    w->stop_after = 0;
    assert_int_equal(grp_member_group_scan(f->r, "MNR-01", cursor, 100, walk_fn, w, &err), 0);
    assert_string_equal(cursor, "0");
    assert_true(w->calls >= 10);
    qsort(w->mids, w->seen, CRY_MID_LEN, cmp_mid);
    for (size_t i = 0; i < w->seen; i++)
        distinct += i == 0 || strcmp(w->mids[i], w->mids[i - 1]) != 0;
    assert_int_equal(distinct, 1000);
    /* an empty group */
    snprintf(cursor, sizeof cursor, "0");
    w->calls = 0;
    assert_int_equal(grp_member_group_scan(f->r, "BTR-01", cursor, 100, walk_fn, w, &err), 0);
    assert_int_equal(w->calls, 0);
    free(w);
}

/* The fields groups write hold codes, states and numbers, nothing else. */
static void test_nothing_personal(void **state)
{
    struct fixture *f = *state;
    struct core_err err;
    json_t *dd = json_pack("{s:s}", "k", "u");
    struct cry_mrec *rec = malloc(sizeof *rec);

    ok(grp_member_join(f->r, MID_A, "HLD-01", grp_text_consent_version(), 100, NULL, &err), &err);
    ok(grp_member_set_lang(f->r, MID_A, GRP_LANG_EN, &err), &err);
    ok(grp_member_set_dialogue(f->r, MID_A, "join:pick", dd, 5, &err), &err);
    ok(grp_member_count_post(f->r, MID_A, &err), &err);
    json_decref(dd);
    assert_int_equal(th_member_load(&f->redis, MID_A, rec), 0);
    assert_true(rec->exists);
    for (int t = 1; t < CRY_MR_TAGS; t++) {
        char v[GRP_DD_MAX];

        if (!cry_mrec_str(rec, t, v, sizeof v))
            continue;
        assert_true(t != CRY_MR_WA && t != CRY_MR_UID);
        for (const char *p = v; *p != '\0'; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || strchr("-:{}\",", *p) != NULL))
                fail_msg("field %s holds an unexpected character", cry_mrec_tag_name(t));
    }
    free(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test(test_labels),
        cmocka_unit_test_setup_teardown(test_lang_and_dialogue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_move_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_move_after_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_states_keep_the_invariant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_personal, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
