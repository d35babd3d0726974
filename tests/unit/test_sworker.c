/*
 * tests/unit/test_sworker.c - core/sworker against a real redis-server:
 * entries handled in order and then acknowledged and deleted; an entry the
 * handler refuses stays pending and is handled again by the next worker of
 * the same consumer; a deleted stream (NOGROUP) is recreated; an entry
 * deleted while pending is dropped without calling the handler.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/sworker.h"
#include "core/util.h"
#include "tests/harness/harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM "js:test:q"
#define GROUP "testers"
#define WAIT_MS 15000

struct seen {
    pthread_mutex_t mu;
    char v[32][16]; /* the "v" field of every call, in order */
    int n;
    int refuse; /* refuse (leave pending) calls whose v equals this number */
};

struct fixture {
    char *dir;
    struct th_redis srv;
    struct core_redis_opts ro;
    struct seen seen;
};

static int handle(struct core_sworker *w, struct core_redis *r, const redisReply *fields,
                  void *arg)
{
    struct seen *s = arg;
    const redisReply *v = core_sworker_field(fields, "v");
    int refuse;
    int64_t num = -2;

    (void)w;
    (void)r;
    pthread_mutex_lock(&s->mu);
    if (s->n < 32)
        snprintf(s->v[s->n++], sizeof s->v[0], "%s", v != NULL ? v->str : "(none)");
    if (v != NULL && core_parse_i64(v->str, &num) != 0)
        num = -2;
    refuse = num == s->refuse;
    if (refuse)
        s->refuse = -1; /* only once */
    pthread_mutex_unlock(&s->mu);
    return refuse ? -1 : 0;
}

static int calls(struct seen *s)
{
    int n;

    pthread_mutex_lock(&s->mu);
    n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Poll until the handler ran `n` times; fails the test naming `what`. */
static void await_calls(struct fixture *f, int n, const char *what)
{
    int64_t end = core_mono_ms() + WAIT_MS;

    while (calls(&f->seen) < n && core_mono_ms() < end)
        core_sleep_ms(20);
    if (calls(&f->seen) < n)
        fail_msg("%s: %d handler calls, expected %d", what, calls(&f->seen), n);
}

/* Poll until the stream has `n` entries and `p` pending. */
static void await_stream(struct fixture *f, long n, long p, const char *what)
{
    int64_t end = core_mono_ms() + WAIT_MS;
    long len = -1, pend = -1;

    while (core_mono_ms() < end) {
        redisReply *x = th_redis_cmd(&f->srv, "XPENDING %s %s", STREAM, GROUP);

        len = th_redis_int(&f->srv, "XLEN " STREAM);
        pend = x != NULL && x->type == REDIS_REPLY_ARRAY && x->elements > 0
                   ? (long)x->element[0]->integer
                   : -1;
        freeReplyObject(x);
        if (len == n && pend == p)
            return;
        core_sleep_ms(20);
    }
    fail_msg("%s: stream has %ld entries, %ld pending; expected %ld and %ld", what, len, pend, n,
             p);
}

static struct core_sworker *start(struct fixture *f)
{
    struct core_sworker_opts o = {"test", STREAM, GROUP, "t", handle, &f->seen};
    struct core_err err;
    struct core_sworker *w = core_sworker_start(&f->ro, &o, &err);

    assert_non_null(w);
    return w;
}

static void add(struct fixture *f, const char *v)
{
    freeReplyObject(th_redis_cmd(&f->srv, "XADD %s * v %s", STREAM, v));
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = th_tmpdir("sworker");
    if (th_redis_start(&f->srv, f->dir) != 0)
        return -1;
    f->ro.addr = f->srv.addr;
    f->ro.timeout_ms = 3000;
    pthread_mutex_init(&f->seen.mu, NULL);
    f->seen.refuse = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    pthread_mutex_destroy(&f->seen.mu);
    th_redis_stop(&f->srv, 0);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void test_in_order_then_acked_and_deleted(void **state)
{
    struct fixture *f = *state;
    struct core_sworker *w = start(f);

    add(f, "1");
    add(f, "2");
    add(f, "3");
    await_calls(f, 3, "three entries");
    await_stream(f, 0, 0, "all acknowledged and deleted");
    assert_string_equal(f->seen.v[0], "1");
    assert_string_equal(f->seen.v[1], "2");
    assert_string_equal(f->seen.v[2], "3");
    assert_false(core_sworker_stopping(w));
    core_sworker_stop(w);
    assert_int_equal(calls(&f->seen), 3);
}

static void test_refused_entry_stays_pending_for_the_next_start(void **state)
{
    struct fixture *f = *state;
    struct core_sworker *w;

    f->seen.refuse = 7;
    w = start(f);
    add(f, "7");
    add(f, "8");
    await_calls(f, 2, "7 refused, 8 done");
    await_stream(f, 1, 1, "7 left pending");
    core_sworker_stop(w);

    w = start(f); /* same consumer name: reads its own pending history first */
    await_calls(f, 3, "7 again after the restart");
    assert_string_equal(f->seen.v[2], "7");
    await_stream(f, 0, 0, "7 finished");
    core_sworker_stop(w);
}

static void test_deleted_stream_is_recreated(void **state)
{
    struct fixture *f = *state;
    struct core_sworker *w = start(f);

    add(f, "1");
    await_calls(f, 1, "before the stream is deleted");
    freeReplyObject(th_redis_cmd(&f->srv, "DEL " STREAM));
    core_sleep_ms(300);
    add(f, "2"); /* a new stream, without the group: NOGROUP, then recreated */
    await_calls(f, 2, "after the group is recreated");
    assert_string_equal(f->seen.v[1], "2");
    core_sworker_stop(w);
}

static void test_entry_deleted_while_pending_is_dropped(void **state)
{
    struct fixture *f = *state;
    struct core_sworker *w;
    redisReply *id;

    f->seen.refuse = 5;
    w = start(f);
    id = th_redis_cmd(&f->srv, "XADD %s * v 5", STREAM);
    assert_non_null(id);
    await_calls(f, 1, "5 refused");
    core_sworker_stop(w);
    freeReplyObject(th_redis_cmd(&f->srv, "XDEL %s %s", STREAM, id->str));
    freeReplyObject(id);

    w = start(f);
    await_stream(f, 0, 0, "the deleted entry acknowledged");
    add(f, "6");
    await_calls(f, 2, "the next entry");
    assert_string_equal(f->seen.v[1], "6"); /* the handler never saw the deleted one again */
    core_sworker_stop(w);
}

static void test_field_lookup(void **state)
{
    redisReply k1 = {.type = REDIS_REPLY_STRING, .str = (char *)(uintptr_t)"a", .len = 1};
    redisReply v1 = {.type = REDIS_REPLY_STRING, .str = (char *)(uintptr_t)"x", .len = 1};
    redisReply k2 = {.type = REDIS_REPLY_STRING, .str = (char *)(uintptr_t)"b", .len = 1};
    redisReply v2 = {.type = REDIS_REPLY_INTEGER, .integer = 3};
    redisReply *el[] = {&k1, &v1, &k2, &v2};
    redisReply arr = {.type = REDIS_REPLY_ARRAY, .elements = 4, .element = el};

    (void)state;
    assert_ptr_equal(core_sworker_field(&arr, "a"), &v1);
    assert_null(core_sworker_field(&arr, "b")); /* not a string */
    assert_null(core_sworker_field(&arr, "c"));
    assert_null(core_sworker_field(NULL, "a"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_in_order_then_acked_and_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_entry_stays_pending_for_the_next_start,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_stream_is_recreated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_deleted_while_pending_is_dropped, setup,
                                        teardown),
        cmocka_unit_test(test_field_lookup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
