/*
 * tests/unit/test_pacer.c - the shared pacing rules on a real redis-server:
 * the token bucket gives a number its rate (never more, even to two
 * dispatchers at once, even with greedy requests), and recipient slots
 * space messages to one member without touching others.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/redis.h"
#include "core/util.h"
#include "gateway/pacer.h"
#include "tests/harness/harness.h"

#include <stdlib.h>

struct fixture {
    char *dir;
    struct th_redis srv;
    struct core_redis *a;
    struct core_redis *b;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct core_redis_opts o = {NULL, NULL, NULL, 2000};

    f->dir = th_tmpdir("pacer");
    if (th_redis_start(&f->srv, f->dir) != 0)
        return -1;
    o.addr = f->srv.addr;
    f->a = core_redis_new(&o);
    f->b = core_redis_new(&o);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    core_redis_free(f->a);
    core_redis_free(f->b);
    th_redis_stop(&f->srv, 0);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/*
 * Two greedy dispatchers ask for 500 tokens every 2 ms. Whatever the host's
 * load, they may never get more than rate x elapsed + capacity; speed and
 * accuracy are measured by make bench, not here.
 */
static void check_bucket(struct fixture *f, double mps, int64_t ms)
{
    double cap = mps / 20 < 1 ? 1 : mps / 20;
    int64_t start = core_mono_ms();
    int64_t elapsed;
    long total = 0;
    struct core_err err;
    int g;

    /* empty the bucket, then measure from here */
    assert_int_equal(gw_pacer_take(f->a, "1065", mps, 100000, &g, &err), 0);
    assert_true(g <= (int)cap);
    start = core_mono_ms();
    while (core_mono_ms() - start < ms) {
        int g1 = 0;
        int g2 = 0;

        assert_int_equal(gw_pacer_take(f->a, "1065", mps, 500, &g1, &err), 0);
        assert_int_equal(gw_pacer_take(f->b, "1065", mps, 500, &g2, &err), 0);
        total += g1 + g2;
        th_sleep_ms(2);
    }
    elapsed = core_mono_ms() - start;
    /* never more than the rate allows (+1 for the clock tick at the edges) */
    assert_true(total <= (long)(mps * (double)(elapsed + 1) / 1000.0 + 1));
    assert_true(total > 0); /* it does refill */
}

static void test_bucket_rate_80(void **state)
{
    check_bucket(*state, 80, 1000);
}

static void test_bucket_rate_1000(void **state)
{
    check_bucket(*state, 1000, 1000);
}

static void test_numbers_are_independent(void **state)
{
    struct fixture *f = *state;
    struct core_err err;
    int g = 0;

    assert_int_equal(gw_pacer_take(f->a, "111", 20, 100, &g, &err), 0);
    assert_int_equal(g, 1); /* capacity of a 20/s bucket is one token */
    assert_int_equal(gw_pacer_take(f->a, "111", 20, 100, &g, &err), 0);
    assert_int_equal(g, 0);
    assert_int_equal(gw_pacer_take(f->a, "222", 20, 100, &g, &err), 0);
    assert_int_equal(g, 1);
    assert_int_equal(gw_pacer_take(f->a, "222", 20, 0, &g, &err), 0);
    assert_int_equal(g, 0);
}

static void test_recipient_spacing(void **state)
{
    struct fixture *f = *state;
    struct core_err err;
    int64_t wait;

    assert_int_equal(gw_pacer_recipient(f->a, "1065", "m1", 6000, &wait, &err), 0);
    assert_int_equal(wait, 0); /* free: taken */
    assert_int_equal(gw_pacer_recipient(f->b, "1065", "m1", 6000, &wait, &err), 0);
    assert_true(wait > 5000 && wait <= 6000); /* busy for the rest of 6 s */
    assert_int_equal(gw_pacer_recipient(f->b, "1065", "m2", 6000, &wait, &err), 0);
    assert_int_equal(wait, 0); /* another member is not held up */
    assert_int_equal(gw_pacer_recipient(f->b, "2000", "m1", 6000, &wait, &err), 0);
    assert_int_equal(wait, 0); /* nor the same member on another number */
    /* after a 131056 the member waits longer */
    assert_int_equal(gw_pacer_recipient_hold(f->a, "1065", "m2", 30000, &err), 0);
    assert_int_equal(gw_pacer_recipient(f->a, "1065", "m2", 6000, &wait, &err), 0);
    assert_true(wait > 25000);
    /* slots expire */
    assert_int_equal(gw_pacer_recipient(f->a, "1065", "m3", 50, &wait, &err), 0);
    th_sleep_ms(80);
    assert_int_equal(gw_pacer_recipient(f->a, "1065", "m3", 50, &wait, &err), 0);
    assert_int_equal(wait, 0);
    /* no spacing configured: always free */
    assert_int_equal(gw_pacer_recipient(f->a, "1065", "m1", 0, &wait, &err), 0);
    assert_int_equal(wait, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bucket_rate_80, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bucket_rate_1000, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers_are_independent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recipient_spacing, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
