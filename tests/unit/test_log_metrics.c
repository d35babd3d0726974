/*
 * tests/unit/test_log_metrics.c - the JSON-lines logger (valid JSON per line,
 * levels, structured fields, invalid UTF-8, concurrent writers) and the
 * Prometheus rendering of metrics (HELP/TYPE once per name, label sets,
 * collectors).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/log.h"
#include "core/metrics.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Capture log output in memory; returns the text after `fn` ran. */
static char *capture(void (*fn)(void))
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    core_log_set_output(f);
    fn();
    core_log_set_output(NULL);
    fclose(f);
    return text;
}

static void write_some(void)
{
    core_log_set_level(CORE_LOG_INFO);
    core_log_debug("test", NULL, "hidden %d", 1);
    core_log_info("test", "req123", "shown %s", "here \"quoted\"");
    core_log_kv(CORE_LOG_WARN, "test", NULL, "with fields",
                json_pack("{s:i,s:s,s:s}", "n", 42, "msg", "must not override", "k", "v"));
    core_log_kv(CORE_LOG_DEBUG, "test", NULL, "dropped", json_pack("{s:i}", "n", 1));
    core_log_error("test", NULL, "bad utf-8 \xff\xfe end");
}

static void test_lines_are_json(void **state)
{
    char *text = capture(write_some);
    char *save = NULL;
    char *line;
    int n = 0;

    (void)state;
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);

        assert_non_null(o);
        assert_non_null(json_string_value(json_object_get(o, "ts")));
        assert_string_equal(json_string_value(json_object_get(o, "module")), "test");
        if (n == 0) {
            assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
            assert_string_equal(json_string_value(json_object_get(o, "req")), "req123");
            assert_string_equal(json_string_value(json_object_get(o, "msg")),
                                "shown here \"quoted\"");
        } else if (n == 1) {
            assert_int_equal(json_integer_value(json_object_get(o, "n")), 42);
            assert_string_equal(json_string_value(json_object_get(o, "msg")), "with fields");
            assert_string_equal(json_string_value(json_object_get(o, "k")), "v");
        } else {
            assert_string_equal(json_string_value(json_object_get(o, "level")), "error");
            assert_non_null(strstr(json_string_value(json_object_get(o, "msg")), "UTF-8"));
        }
        json_decref(o);
        n++;
    }
    assert_int_equal(n, 3); /* debug lines filtered out */
    free(text);
}

static void *log_worker(void *ud)
{
    int i;

    (void)ud;
    for (i = 0; i < 500; i++)
        core_log_info("thread", NULL, "line %d with some padding to make it longer", i);
    return NULL;
}

static void write_threads(void)
{
    pthread_t t[4];
    int i;

    for (i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, log_worker, NULL);
    for (i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
}

static void test_concurrent_lines_never_interleave(void **state)
{
    char *text = capture(write_threads);
    char *save = NULL;
    char *line;
    int n = 0;

    (void)state;
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        json_t *o = json_loads(line, 0, NULL);

        assert_non_null(o);
        json_decref(o);
        n++;
    }
    assert_int_equal(n, 2000);
    free(text);
}

static void test_level_parse(void **state)
{
    enum core_log_level l;

    (void)state;
    assert_int_equal(core_log_level_parse("DEBUG", &l), 0);
    assert_int_equal(l, CORE_LOG_DEBUG);
    assert_int_equal(core_log_level_parse("warning", &l), 0);
    assert_int_equal(l, CORE_LOG_WARN);
    assert_int_equal(core_log_level_parse("loud", &l), -1);
}

CORE_COUNTER(m_a, "test_things_total", "kind=\"a\"", "Things, by kind");
CORE_COUNTER(m_plain, "test_plain_total", NULL, "Plain counter");
CORE_COUNTER(m_b, "test_things_total", "kind=\"b\"", "Things, by kind");
CORE_GAUGE(m_g, "test_depth", NULL, "A gauge");

static void collector(void *ud, struct core_buf *out)
{
    core_buf_printf(out, "# HELP test_collected x\n# TYPE test_collected gauge\n"
                         "test_collected %d\n",
                    *(int *)ud);
}

static void test_metrics_render(void **state)
{
    struct core_buf b;
    int seven = 7;
    const char *s;

    (void)state;
    core_metrics_register(&m_a);
    core_metrics_register(&m_plain);
    core_metrics_register(&m_b);
    core_metrics_register(&m_g);
    core_metrics_register(&m_a); /* idempotent */
    core_metric_inc(&m_a);
    core_metric_add(&m_b, 5);
    core_metric_set(&m_g, -3);
    core_metrics_add_collector(collector, &seven);
    core_buf_init(&b, 0);
    core_metrics_render(&b);
    s = core_buf_str(&b);
    assert_non_null(strstr(s, "# HELP test_things_total Things, by kind\n"
                              "# TYPE test_things_total counter\n"
                              "test_things_total{kind=\"a\"} 1\n"
                              "test_things_total{kind=\"b\"} 5\n"));
    assert_non_null(strstr(s, "test_plain_total 0\n"));
    assert_non_null(strstr(s, "# TYPE test_depth gauge\ntest_depth -3\n"));
    assert_non_null(strstr(s, "test_collected 7\n"));
    /* HELP appears once per metric name */
    assert_ptr_equal(strstr(strstr(s, "# HELP test_things_total") + 1, "# HELP test_things_total"),
                     NULL);
    core_metrics_clear_collectors();
    core_buf_reset(&b);
    core_metrics_render(&b);
    assert_null(strstr(core_buf_str(&b), "test_collected"));
    core_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_are_json),
        cmocka_unit_test(test_concurrent_lines_never_interleave),
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_metrics_render),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
