/*
 * tests/unit/test_redis.c - core/redis against a real redis-server: argv and
 * format commands with binary data, error replies, pipelining, scripts
 * reloaded after SCRIPT FLUSH, fast failure while Redis is down and
 * reconnection after it returns, ACL authentication, TCP, the pool.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/redis.h"
#include "core/util.h"
#include "tests/harness/harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    char *dir;
    struct th_redis srv;
    struct core_redis *r;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct core_redis_opts o = {NULL, NULL, NULL, 2000};

    f->dir = th_tmpdir("redis");
    if (th_redis_start(&f->srv, f->dir) != 0)
        return -1;
    o.addr = f->srv.addr;
    f->r = core_redis_new(&o);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    core_redis_free(f->r);
    th_redis_stop(&f->srv, 0);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void test_commands_and_binary_data(void **state)
{
    struct fixture *f = *state;
    struct core_err err;
    redisReply *rep;
    const char bin[] = {'a', '\0', 'b', '\r', '\n', 'c'};
    const char *argv[] = {"SET", "js:test:bin", bin};
    size_t lens[] = {3, 11, sizeof bin};

    assert_int_equal(core_redis_cmdv(f->r, 3, argv, lens, NULL, &err), 0);
    assert_int_equal(core_redis_cmdf(f->r, &rep, &err, "GET %s", "js:test:bin"), 0);
    assert_int_equal(rep->type, REDIS_REPLY_STRING);
    assert_int_equal(rep->len, sizeof bin);
    assert_memory_equal(rep->str, bin, sizeof bin);
    freeReplyObject(rep);
    /* %b carries arbitrary bytes; user data can never become extra arguments */
    assert_int_equal(core_redis_cmdf(f->r, NULL, &err, "SET %s %b", "js:test:inj",
                                     "x\r\nFLUSHALL\r\n", (size_t)13),
                     0);
    assert_int_equal(th_redis_int(&f->srv, "EXISTS js:test:bin"), 1);
    assert_int_equal(core_redis_cmdf(f->r, &rep, &err, "INCR %s", "js:test:n"), 0);
    assert_int_equal(core_redis_int(rep), 1);
    freeReplyObject(rep);
}

static void test_error_reply(void **state)
{
    struct fixture *f = *state;
    struct core_err err;

    assert_int_equal(core_redis_cmdf(f->r, NULL, &err, "SET %s %s", "js:test:s", "x"), 0);
    assert_int_equal(core_redis_cmdf(f->r, NULL, &err, "HGET %s %s", "js:test:s", "f"), -1);
    assert_int_equal(err.code, CORE_EX_SOFTWARE);
    assert_true(core_redis_err_is(&err, "WRONGTYPE"));
    assert_false(core_redis_err_is(&err, "NOGROUP"));
    assert_int_equal(core_redis_cmdf(f->r, NULL, &err, "XREADGROUP GROUP g c STREAMS %s >",
                                     "js:none"),
                     -1);
    assert_true(core_redis_err_is(&err, "NOGROUP"));
    /* the connection is still good afterwards */
    assert_int_equal(core_redis_ping(f->r, &err), 0);
}

static void test_pipeline_keeps_order(void **state)
{
    struct fixture *f = *state;
    struct core_err err;
    redisReply *rep;
    int i;

    for (i = 0; i < 100; i++)
        assert_int_equal(core_redis_appendf(f->r, &err, "RPUSH %s %d", "js:test:list", i), 0);
    assert_int_equal(core_redis_appendf(f->r, &err, "HGET %s x", "js:test:list"), 0);
    assert_int_equal(core_redis_appendf(f->r, &err, "LLEN %s", "js:test:list"), 0);
    for (i = 0; i < 100; i++) {
        assert_int_equal(core_redis_get_reply(f->r, &rep, &err), 0);
        assert_int_equal(core_redis_int(rep), i + 1);
        freeReplyObject(rep);
    }
    assert_int_equal(core_redis_get_reply(f->r, &rep, &err), -1); /* WRONGTYPE in the middle */
    assert_true(core_redis_err_is(&err, "WRONGTYPE"));
    assert_int_equal(core_redis_get_reply(f->r, &rep, &err), 0);
    assert_int_equal(core_redis_int(rep), 100);
    freeReplyObject(rep);
}

static struct core_redis_script add_script = {
    "add", "return redis.call('INCRBY', KEYS[1], ARGV[1])", ""};

static void test_script_reloaded_after_flush(void **state)
{
    struct fixture *f = *state;
    struct core_err err;
    redisReply *rep;
    const char *argv[] = {"js:test:sum", "5"};

    assert_int_equal(core_redis_eval(f->r, &add_script, 1, 2, argv, NULL, &rep, &err), 0);
    assert_int_equal(core_redis_int(rep), 5);
    freeReplyObject(rep);
    assert_int_equal(strlen(add_script.sha), 40);
    /* what a Redis restart without persistence of scripts does */
    freeReplyObject(th_redis_cmd(&f->srv, "SCRIPT FLUSH"));
    assert_int_equal(core_redis_eval(f->r, &add_script, 1, 2, argv, NULL, &rep, &err), 0);
    assert_int_equal(core_redis_int(rep), 10);
    freeReplyObject(rep);
}

static void test_down_fails_fast_then_reconnects(void **state)
{
    struct fixture *f = *state;
    struct core_err err;
    int64_t t0;
    int ok = 0;
    int i;

    assert_int_equal(core_redis_ping(f->r, &err), 0);
    th_redis_stop(&f->srv, 1);
    assert_int_equal(core_redis_ping(f->r, &err), -1);
    assert_int_equal(err.code, CORE_EX_UNAVAILABLE);
    /* while backing off, calls fail at once instead of waiting for a timeout */
    t0 = core_mono_ms();
    for (i = 0; i < 50; i++)
        assert_int_equal(core_redis_ping(f->r, &err), -1);
    assert_true(core_mono_ms() - t0 < 1000);
    assert_int_equal(th_redis_start(&f->srv, f->dir), 0);
    for (i = 0; i < 300 && !ok; i++) {
        ok = core_redis_ping(f->r, &err) == 0;
        if (!ok)
            th_sleep_ms(20);
    }
    assert_true(ok); /* backoff is capped at 2 s */
    assert_int_equal(th_redis_int(&f->srv, "EXISTS js:test:bin"), 0);
}

static void test_stale_connection_is_retried_once(void **state)
{
    struct fixture *f = *state;
    struct core_err err;

    assert_int_equal(core_redis_ping(f->r, &err), 0);
    /* Redis restarts between two commands: the next command still works. */
    th_redis_stop(&f->srv, 0);
    assert_int_equal(th_redis_start(&f->srv, f->dir), 0);
    assert_int_equal(core_redis_cmdf(f->r, NULL, &err, "SET %s %s", "js:test:after", "1"), 0);
}

static void test_acl_authentication(void **state)
{
    struct fixture *f = *state;
    struct core_redis_opts good = {f->srv.addr, "janseva", "correct horse", 2000};
    struct core_redis_opts bad = {f->srv.addr, "janseva", "wrong", 2000};
    struct core_redis *r1;
    struct core_redis *r2;
    struct core_err err;

    freeReplyObject(th_redis_cmd(&f->srv, "ACL SETUSER janseva on >correct%s ~js:* +@all",
                                 " horse"));
    r1 = core_redis_new(&good);
    r2 = core_redis_new(&bad);
    assert_int_equal(core_redis_cmdf(r1, NULL, &err, "SET %s %s", "js:ok", "1"), 0);
    assert_int_equal(core_redis_cmdf(r1, NULL, &err, "SET %s %s", "other:key", "1"), -1);
    assert_true(core_redis_err_is(&err, "NOPERM"));
    assert_int_equal(core_redis_ping(r2, &err), -1);
    assert_int_equal(err.code, CORE_EX_CONFIG);
    assert_null(strstr(err.msg, "wrong")); /* the password is never echoed */
    core_redis_free(r1);
    core_redis_free(r2);
}

static void test_tcp_address(void **state)
{
    char port_s[16];
    char addr[64];
    const char *argv[] = {"/usr/bin/redis-server", "--port", port_s, "--save", "",
                          "--appendonly", "no", NULL};
    struct th_proc p;
    struct core_redis_opts o = {addr, NULL, NULL, 2000};
    struct core_redis *r;
    struct core_err err;
    int port = th_free_port();
    int ok = 0;
    int i;

    (void)state;
    snprintf(port_s, sizeof port_s, "%d", port);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    assert_int_equal(th_spawn(&p, argv, NULL, NULL), 0);
    r = core_redis_new(&o);
    for (i = 0; i < 200 && !ok; i++) {
        ok = core_redis_ping(r, &err) == 0;
        if (!ok)
            th_sleep_ms(25);
    }
    assert_true(ok);
    core_redis_free(r);
    assert_int_equal(th_stop(&p, SIGTERM, 5000), 0);
}

struct pool_arg {
    struct core_redis_pool *pool;
    int failures;
};

static void *pool_worker(void *ud)
{
    struct pool_arg *a = ud;
    struct core_err err;
    int i;

    for (i = 0; i < 200; i++) {
        struct core_redis *r = core_redis_pool_get(a->pool);

        if (core_redis_cmdf(r, NULL, &err, "INCR %s", "js:test:pool") != 0)
            a->failures++;
        core_redis_pool_put(a->pool, r);
    }
    return NULL;
}

static void test_pool_shared_by_threads(void **state)
{
    struct fixture *f = *state;
    struct core_redis_opts o = {f->srv.addr, NULL, NULL, 2000};
    struct pool_arg arg = {core_redis_pool_new(&o, 2), 0};
    pthread_t t[6];
    int i;

    for (i = 0; i < 6; i++)
        pthread_create(&t[i], NULL, pool_worker, &arg);
    for (i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(arg.failures, 0);
    assert_int_equal(th_redis_int(&f->srv, "GET js:test:pool"), 1200);
    core_redis_pool_free(arg.pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commands_and_binary_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_keeps_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_script_reloaded_after_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_down_fails_fast_then_reconnects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_connection_is_retried_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acl_authentication, setup, teardown),
        cmocka_unit_test(test_tcp_address),
        cmocka_unit_test_setup_teardown(test_pool_shared_by_threads, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
