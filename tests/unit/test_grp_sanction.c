/*
 * tests/unit/test_grp_sanction.c - groups/sanction on a real redis-server:
 * action names; mute keeps the member in the group (receives) and unmute
 * restores; ban takes them out keeping g, unban brings them back; muting a
 * banned member is refused; repeats change nothing; a ban record written
 * before a crash is finished by the repeat; a member without a group gets
 * the record only; unbanning into a village that no longer exists leaves
 * the member free to join another; unknown members.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "groups/member.h"
#include "groups/sanction.h"
#include "tests/unit/grp_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MID_A "0123456789abcdef0123456789abcdef"
#define MID_B "fedcba9876543210fedcba9876543210"
#define GROUP "HLD-01"

struct fixture {
    char *dir;
    struct th_redis redis;
    struct core_redis *r;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct core_redis_opts o = {NULL, NULL, NULL, 5000};
    struct core_err err;

    f->dir = th_tmpdir("grp-sanction");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    o.addr = f->redis.addr;
    f->r = core_redis_new(&o);
    if (grp_fixture_import(f->r) != 0)
        return -1;
    /* member records as the identity registry creates them; A joins */
    th_member_set(&f->redis, MID_A, "ct", "1700000000", NULL);
    th_member_set(&f->redis, MID_B, "ct", "1700000000", NULL);
    if (grp_member_join(f->r, MID_A, GROUP, "c1", 100, NULL, &err) != 0)
        return -1;
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

static struct grp_member load(struct fixture *f, const char *mid)
{
    struct grp_member m;
    struct core_err err;

    if (grp_member_load(f->r, mid, &m, &err) != 0)
        fail_msg("load: %s", err.msg);
    return m;
}

static enum grp_sx_state sx_of(struct fixture *f, const char *mid)
{
    enum grp_sx_state s;
    struct core_err err;

    if (grp_sx_get(f->r, mid, &s, &err) != 0)
        fail_msg("get: %s", err.msg);
    return s;
}

/* Apply and return the rc; *changed into `ch`. */
static enum grp_sx_rc act(struct fixture *f, const char *mid, enum grp_sx_action a, int *ch)
{
    struct core_err err;

    core_err_clear(&err);
    return grp_sx_apply(f->r, NULL, "cli:test", mid, a, "test", ch, &err);
}

static int in_group(struct fixture *f, const char *mid)
{
    struct core_err err;

    return grp_member_in_group(f->r, GROUP, mid, &err);
}

static void test_names(void **state)
{
    enum grp_sx_action a;

    (void)state;
    assert_int_equal(grp_sx_action_parse("mute", &a), 0);
    assert_int_equal(a, GRP_SX_MUTE);
    assert_int_equal(grp_sx_action_parse("unban", &a), 0);
    assert_int_equal(a, GRP_SX_UNBAN);
    assert_int_equal(grp_sx_action_parse("kick", &a), -1);
    assert_int_equal(grp_sx_action_parse(NULL, &a), -1);
    assert_string_equal(grp_sx_action_name(GRP_SX_UNMUTE), "unmute");
    assert_string_equal(grp_sx_state_name(GRP_SX_BANNED), "banned");
    assert_string_equal(grp_sx_state_name(GRP_SX_NONE), "none");
}

static void test_mute_and_unmute(void **state)
{
    struct fixture *f = *state;
    struct grp_member m;
    int ch = -1;

    assert_int_equal(act(f, MID_A, GRP_SX_MUTE, &ch), GRP_SX_OK);
    assert_int_equal(ch, 1);
    m = load(f, MID_A);
    assert_int_equal(m.st, GRP_MEMBER_MUTED);
    assert_true(grp_member_receives(&m, GROUP)); /* still gets the group */
    assert_int_equal(in_group(f, MID_A), 1);
    assert_int_equal(sx_of(f, MID_A), GRP_SX_MUTED);
    assert_int_equal(act(f, MID_A, GRP_SX_MUTE, &ch), GRP_SX_OK);
    assert_int_equal(ch, 0); /* a repeat changes nothing */
    assert_int_equal(act(f, MID_A, GRP_SX_UNMUTE, &ch), GRP_SX_OK);
    assert_int_equal(ch, 1);
    assert_int_equal(load(f, MID_A).st, GRP_MEMBER_ACTIVE);
    assert_int_equal(sx_of(f, MID_A), GRP_SX_NONE);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS js:sx:{%s}", MID_A), 0);
    assert_int_equal(act(f, MID_A, GRP_SX_UNMUTE, &ch), GRP_SX_OK);
    assert_int_equal(ch, 0);
    assert_int_equal(act(f, MID_A, GRP_SX_UNBAN, &ch), GRP_SX_OK);
    assert_int_equal(ch, 0);
}

static void test_ban_and_unban(void **state)
{
    struct fixture *f = *state;
    struct grp_member m;
    int ch = -1;

    assert_int_equal(act(f, MID_A, GRP_SX_MUTE, &ch), GRP_SX_OK);
    assert_int_equal(act(f, MID_A, GRP_SX_BAN, &ch), GRP_SX_OK);
    assert_int_equal(ch, 1);
    m = load(f, MID_A);
    assert_int_equal(m.st, GRP_MEMBER_BANNED);
    assert_string_equal(m.group, GROUP); /* kept for the record */
    assert_false(grp_member_receives(&m, GROUP));
    assert_int_equal(in_group(f, MID_A), 0);
    assert_int_equal(th_redis_int(&f->redis, "HGET js:u:{%s} n", GROUP), 0);
    /* muting or unmuting a banned member: refused, nothing changes */
    assert_int_equal(act(f, MID_A, GRP_SX_MUTE, &ch), GRP_SX_ESTATE);
    assert_int_equal(act(f, MID_A, GRP_SX_UNMUTE, &ch), GRP_SX_ESTATE);
    assert_int_equal(sx_of(f, MID_A), GRP_SX_BANNED);
    assert_int_equal(act(f, MID_A, GRP_SX_BAN, &ch), GRP_SX_OK);
    assert_int_equal(ch, 0);
    /* unban: back in the group, active */
    assert_int_equal(act(f, MID_A, GRP_SX_UNBAN, &ch), GRP_SX_OK);
    assert_int_equal(ch, 1);
    m = load(f, MID_A);
    assert_int_equal(m.st, GRP_MEMBER_ACTIVE);
    assert_int_equal(in_group(f, MID_A), 1);
    assert_int_equal(th_redis_int(&f->redis, "HGET js:u:{%s} n", GROUP), 1);
    assert_int_equal(sx_of(f, MID_A), GRP_SX_NONE);
}

/* The record was written, then the process died before the state. */
static void test_repeat_finishes_after_a_crash(void **state)
{
    struct fixture *f = *state;
    int ch = -1;

    th_redis_int(&f->redis, "HSET js:sx:{%s} s banned t 1", MID_A);
    assert_int_equal(load(f, MID_A).st, GRP_MEMBER_ACTIVE);
    assert_int_equal(act(f, MID_A, GRP_SX_BAN, &ch), GRP_SX_OK);
    assert_int_equal(ch, 1); /* finished now (and audited now) */
    assert_int_equal(load(f, MID_A).st, GRP_MEMBER_BANNED);
    assert_int_equal(in_group(f, MID_A), 0);
}

static void test_member_without_group(void **state)
{
    struct fixture *f = *state;
    int ch = -1;

    assert_int_equal(act(f, MID_B, GRP_SX_BAN, &ch), GRP_SX_OK);
    assert_int_equal(ch, 1);
    assert_int_equal(sx_of(f, MID_B), GRP_SX_BANNED);
    assert_int_equal(load(f, MID_B).st, GRP_MEMBER_NEW); /* the record alone */
    assert_int_equal(act(f, MID_B, GRP_SX_UNBAN, &ch), GRP_SX_OK);
    assert_int_equal(ch, 1);
    assert_int_equal(sx_of(f, MID_B), GRP_SX_NONE);
}

static void test_unban_into_a_vanished_village(void **state)
{
    struct fixture *f = *state;
    struct grp_member m;
    int ch = -1;

    assert_int_equal(act(f, MID_A, GRP_SX_BAN, &ch), GRP_SX_OK);
    th_redis_int(&f->redis, "DEL js:u:{%s}", GROUP);
    assert_int_equal(act(f, MID_A, GRP_SX_UNBAN, &ch), GRP_SX_OK);
    m = load(f, MID_A);
    assert_int_equal(m.st, GRP_MEMBER_LEFT); /* free to join another village */
    assert_string_equal(m.group, "");
}

static void test_unknown_members(void **state)
{
    struct fixture *f = *state;
    int ch = -1;

    assert_int_equal(act(f, "00000000000000000000000000000000", GRP_SX_BAN, &ch),
                     GRP_SX_ENOTFOUND);
    assert_int_equal(act(f, "not-a-mid", GRP_SX_BAN, &ch), GRP_SX_ENOTFOUND);
    assert_int_equal(ch, 0);
    assert_int_equal(th_redis_int(&f->redis, "EXISTS js:sx:{00000000000000000000000000000000}"),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_mute_and_unmute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ban_and_unban, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeat_finishes_after_a_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_without_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unban_into_a_vanished_village, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_members, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
