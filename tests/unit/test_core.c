/*
 * tests/unit/test_core.c - core/: error struct, buffers, integer parsing,
 * config loading (defaults, file, environment, validation, masking).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/util.h"
#include "core/waiter.h"
#include "tests/harness/harness.h"
#include <pthread.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_err_set_and_wrap(void **state)
{
    struct core_err e;

    (void)state;
    core_err_clear(&e);
    assert_int_equal(core_err_set(&e, CORE_EX_DATAERR, "bad %s\nline", "thing"), -1);
    assert_int_equal(e.code, CORE_EX_DATAERR);
    assert_string_equal(e.msg, "bad thing line"); /* newlines never survive */
    assert_int_equal(core_err_wrap(&e, "reading %d", 7), -1);
    assert_string_equal(e.msg, "reading 7: bad thing line");
    assert_int_equal(e.code, CORE_EX_DATAERR);
    assert_int_equal(core_err_set(NULL, 1, "x"), -1); /* NULL tolerated */
}

static void test_buf_cap_and_steal(void **state)
{
    struct core_buf b;
    char *s;

    (void)state;
    core_buf_init(&b, 10);
    assert_string_equal(core_buf_str(&b), "");
    assert_int_equal(core_buf_puts(&b, "hello"), 0);
    assert_int_equal(core_buf_printf(&b, "%d", 1234), 0);
    assert_int_equal(b.len, 9);
    assert_int_equal(core_buf_append(&b, "xy", 2), -1); /* would exceed 10 */
    assert_string_equal(core_buf_str(&b), "hello1234");  /* unchanged */
    assert_int_equal(core_buf_append(&b, "x", 1), 0);
    s = core_buf_steal(&b);
    assert_string_equal(s, "hello1234x");
    assert_int_equal(b.len, 0);
    free(s);
    core_buf_cleanup(&b);
}

static void test_parse_i64(void **state)
{
    int64_t v;

    (void)state;
    assert_int_equal(core_parse_i64("1700000000", &v), 0);
    assert_true(v == 1700000000);
    assert_int_equal(core_parse_i64("-5", &v), 0);
    assert_true(v == -5);
    assert_int_equal(core_parse_i64("9223372036854775807", &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(core_parse_i64("9223372036854775808", &v), -1); /* overflow */
    assert_int_equal(core_parse_i64("12a", &v), -1);
    assert_int_equal(core_parse_i64("", &v), -1);
    assert_int_equal(core_parse_i64(" 1", &v), -1);
    assert_int_equal(core_parse_i64("-", &v), -1);
    assert_int_equal(core_parse_i64n("123456", 3, &v), 0);
    assert_true(v == 123);
}

static void test_req_id_is_random_hex(void **state)
{
    char a[CORE_REQ_ID_LEN], b[CORE_REQ_ID_LEN];

    (void)state;
    core_req_id(a);
    core_req_id(b);
    assert_int_equal(strlen(a), 16);
    assert_int_equal(strspn(a, "0123456789abcdef"), 16);
    assert_string_not_equal(a, b);
}

/* Clear every JANSEVA_ variable so tests see only what they set. */
static void clean_env(void)
{
    extern char **environ;
    char name[128];

    for (;;) {
        char **e;
        int found = 0;

        for (e = environ; *e != NULL; e++) {
            if (strncmp(*e, "JANSEVA_", 8) == 0) {
                size_t n = strcspn(*e, "=");

                snprintf(name, sizeof name, "%.*s", (int)n, *e);
                unsetenv(name);
                found = 1;
                break;
            }
        }
        if (!found)
            return;
    }
}

static void test_config_defaults(void **state)
{
    struct core_cfg cfg;
    struct core_err err;

    (void)state;
    clean_env();
    assert_int_equal(core_cfg_load(&cfg, NULL, &err), 0);
    assert_string_equal(cfg.mode, "sandbox");
    assert_string_equal(cfg.graph_url, "https://graph.facebook.com/v25.0");
    assert_int_equal(cfg.http_port, 8080);
    assert_int_equal(cfg.webhook_max_bytes, 3145728);
    assert_false(core_cfg_is_set(cfg.app_secret));
    assert_int_equal(cfg.n_phone_numbers, 0);
    core_cfg_cleanup(&cfg);
}

static void test_config_file_then_env(void **state)
{
    char *dir = th_tmpdir("cfg");
    char path[600];
    const char *text = "# janseva\n"
                       "app_secret = \"from-file\"\n"
                       "JANSEVA_VERIFY_TOKEN=tok\n"
                       "export http_port = 9000\n"
                       "phone_number_id = 111, 222\n"
                       "log_level = warn\n";
    struct core_cfg cfg;
    struct core_err err;

    (void)state;
    clean_env();
    snprintf(path, sizeof path, "%s/janseva.conf", dir);
    assert_int_equal(th_write_file(path, text, strlen(text)), 0);
    setenv("JANSEVA_HTTP_PORT", "9100", 1);
    setenv("JANSEVA_ACCESS_TOKEN", "tok-2", 1);
    assert_int_equal(core_cfg_load(&cfg, path, &err), 0);
    assert_string_equal(cfg.app_secret, "from-file");
    assert_string_equal(cfg.verify_token, "tok");
    assert_int_equal(cfg.http_port, 9100); /* environment wins over the file */
    assert_int_equal(cfg.n_phone_numbers, 2);
    assert_string_equal(cfg.phone_numbers[1], "222");
    assert_int_equal(cfg.log_level, CORE_LOG_WARN);
    assert_string_equal(cfg.mode, "live"); /* an access token means live */
    core_cfg_cleanup(&cfg);
    clean_env();
    th_rmrf(dir);
    free(dir);
}

static void test_config_errors_name_the_setting(void **state)
{
    struct core_cfg cfg;
    struct core_err err;
    char *dir = th_tmpdir("cfg");
    char path[600];

    (void)state;
    clean_env();
    setenv("JANSEVA_HTTP_PORT", "http", 1);
    assert_int_equal(core_cfg_load(&cfg, NULL, &err), -1);
    assert_int_equal(err.code, CORE_EX_CONFIG);
    assert_non_null(strstr(err.msg, "JANSEVA_HTTP_PORT"));
    core_cfg_cleanup(&cfg);
    clean_env();

    setenv("JANSEVA_REDIS", "nowhere", 1);
    assert_int_equal(core_cfg_load(&cfg, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "JANSEVA_REDIS"));
    core_cfg_cleanup(&cfg);
    clean_env();

    setenv("JANSEVA_PHONE_NUMBER_ID", "12x", 1);
    assert_int_equal(core_cfg_load(&cfg, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "JANSEVA_PHONE_NUMBER_ID"));
    core_cfg_cleanup(&cfg);
    clean_env();

    snprintf(path, sizeof path, "%s/bad.conf", dir);
    assert_int_equal(th_write_file(path, "colour = blue\n", 14), 0);
    assert_int_equal(core_cfg_load(&cfg, path, &err), -1);
    assert_non_null(strstr(err.msg, ":1: unknown setting 'colour'"));
    core_cfg_cleanup(&cfg);

    assert_int_equal(core_cfg_load(&cfg, "/nonexistent/janseva.conf", &err), -1);
    assert_int_equal(err.code, CORE_EX_CONFIG);
    core_cfg_cleanup(&cfg);

    assert_int_equal(core_cfg_require(NULL, "JANSEVA_APP_SECRET", "needed", &err), -1);
    assert_string_equal(err.msg, "config: JANSEVA_APP_SECRET is not set (needed)");
    th_rmrf(dir);
    free(dir);
}

static void test_config_print_masks_secrets(void **state)
{
    struct core_cfg cfg;
    struct core_err err;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    (void)state;
    clean_env();
    setenv("JANSEVA_APP_SECRET", "very-secret-value", 1);
    setenv("JANSEVA_REDIS_PASSWORD", "hunter2hunter2", 1);
    setenv("JANSEVA_TYPO_SETTING", "x", 1);
    assert_int_equal(core_cfg_load(&cfg, NULL, &err), 0);
    core_cfg_print(&cfg, f);
    fclose(f);
    assert_null(strstr(text, "very-secret-value"));
    assert_null(strstr(text, "hunter2"));
    assert_non_null(strstr(text, "app_secret             = (set)"));
    assert_int_equal(cfg.n_warnings, 2); /* unknown variable + password without user */
    assert_non_null(strstr(cfg.warnings[0], "JANSEVA_TYPO_SETTING"));
    free(text);
    core_cfg_cleanup(&cfg);
    clean_env();
}

static void test_config_roles(void **state)
{
    struct core_cfg cfg;
    struct core_err err;

    (void)state;
    clean_env();
    setenv("JANSEVA_ROLES", "http, router", 1);
    assert_int_equal(core_cfg_load(&cfg, NULL, &err), 0);
    assert_true(core_cfg_has_role(&cfg, "http"));
    assert_true(core_cfg_has_role(&cfg, "router"));
    assert_false(core_cfg_has_role(&cfg, "dispatch"));
    assert_false(core_cfg_has_role(&cfg, "rout"));
    core_cfg_cleanup(&cfg);
    clean_env();
}

/* Every setting `janseva config` knows is documented in docs/configuration.md. */
static void test_every_setting_is_documented(void **state)
{
    struct core_cfg cfg;
    struct core_err err;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    char *doc = th_read_file("docs/configuration.md", NULL);
    char *line;
    char *save = NULL;
    int n = 0;

    (void)state;
    assert_non_null(doc);
    clean_env();
    assert_int_equal(core_cfg_load(&cfg, NULL, &err), 0);
    core_cfg_print(&cfg, f);
    fclose(f);
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char name[64];
        char needle[80];

        assert_int_equal(sscanf(line, "%63s", name), 1);
        snprintf(needle, sizeof needle, "| `%s` |", name);
        if (strstr(doc, needle) == NULL)
            fail_msg("setting %s is missing from docs/configuration.md", name);
        n++;
    }
    assert_true(n >= 20);
    free(text);
    free(doc);
    core_cfg_cleanup(&cfg);
}

static void *stop_later(void *arg)
{
    core_sleep_ms(100);
    core_waiter_stop(arg);
    return NULL;
}

/* A pause lasts its time; a stop from another thread ends it at once, and
 * every later pause returns at once. */
static void test_waiter(void **state)
{
    struct core_waiter w;
    pthread_t t;
    int64_t t0;

    (void)state;
    core_waiter_init(&w);
    assert_false(core_waiter_stopping(&w));
    t0 = core_mono_ms();
    core_waiter_pause(&w, 50);
    assert_true(core_mono_ms() - t0 >= 45);
    assert_int_equal(pthread_create(&t, NULL, stop_later, &w), 0);
    t0 = core_mono_ms();
    core_waiter_pause(&w, 60000);
    assert_true(core_waiter_stopping(&w));
    assert_true(core_mono_ms() - t0 < 30000); /* woken, not timed out */
    pthread_join(t, NULL);
    t0 = core_mono_ms();
    core_waiter_pause(&w, 60000);
    assert_true(core_mono_ms() - t0 < 30000);
    core_waiter_cleanup(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set_and_wrap),
        cmocka_unit_test(test_buf_cap_and_steal),
        cmocka_unit_test(test_parse_i64),
        cmocka_unit_test(test_req_id_is_random_hex),
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_file_then_env),
        cmocka_unit_test(test_config_errors_name_the_setting),
        cmocka_unit_test(test_config_print_masks_secrets),
        cmocka_unit_test(test_config_roles),
        cmocka_unit_test(test_every_setting_is_documented),
        cmocka_unit_test(test_waiter),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
