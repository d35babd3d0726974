/*
 * tests/integration/test_parse_webhook.c - golden tests for `janseva
 * parse-webhook`: every tests/golden/parse-webhook/NAME.json is run through
 * the real binary (as a FILE and on standard input) and must print exactly
 * NAME.out, exit with NAME.rc and, when NAME.err exists, write each of its
 * lines to stderr (and nothing else). Malformed input must never be quoted
 * on stderr. Also: --help, unreadable files, usage errors.
 *
 * The corpus is found under $JANSEVA_TEST_SRC, else the current directory
 * (tests run from the repository root).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/util.h"
#include "tests/harness/harness.h"

#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_FIXTURES 35
#define MAX_FIXTURES 1000

struct corpus {
    char dir[2048];
    char *names[MAX_FIXTURES]; /* "text", "bad-no-sender", ... (no .json) */
    size_t n;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Fill `c` with the sorted fixture names; 0 or -1 when the directory is missing. */
static int corpus_load(struct corpus *c)
{
    const char *src = getenv("JANSEVA_TEST_SRC");
    struct dirent *de;
    DIR *d;

    memset(c, 0, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "%s/tests/golden/parse-webhook",
             src != NULL && src[0] != '\0' ? src : ".");
    d = opendir(c->dir);
    if (d == NULL) {
        fprintf(stderr, "cannot open the corpus %s\n", c->dir);
        return -1;
    }
    while ((de = readdir(d)) != NULL && c->n < MAX_FIXTURES) {
        size_t len = strlen(de->d_name);

        if (len > 5 && de->d_name[0] != '.' && strcmp(de->d_name + len - 5, ".json") == 0)
            c->names[c->n++] = strndup(de->d_name, len - 5);
    }
    closedir(d);
    qsort(c->names, c->n, sizeof c->names[0], cmp_str);
    return 0;
}

static void corpus_free(struct corpus *c)
{
    size_t i;

    for (i = 0; i < c->n; i++)
        free(c->names[i]);
    c->n = 0;
}

/* DIR/NAME.EXT into `out`. */
static void fixture_path(char *out, size_t size, const struct corpus *c, const char *name,
                         const char *ext)
{
    snprintf(out, size, "%s/%s.%s", c->dir, name, ext);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        if (*s == '\n')
            n++;
    }
    return n;
}

/* ---- privacy: stderr must never quote the input ---- */

/* Keys whose string values are personal data or message content. */
static const char *const private_keys[] = {
    "from",       "from_user_id", "wa_id",     "user_id", "previous_user_id",
    "recipient_id", "recipient_user_id", "name", "username", "formatted_name",
    "first_name", "last_name",    "phone",     "body",    "caption",
    "text",       "customer",     "emoji",     "timestamp", "id",
};

static bool is_private_key(const char *key)
{
    size_t i;

    for (i = 0; i < sizeof private_keys / sizeof private_keys[0]; i++) {
        if (strcmp(key, private_keys[i]) == 0)
            return true;
    }
    return false;
}

/* Report (and count) every private string of `v` (recursively) found in `err`. */
static int find_leaks(json_t *v, const char *key, const char *err, const char *name)
{
    const char *k;
    json_t *item;
    size_t i;
    int leaks = 0;

    if (json_is_object(v)) {
        json_object_foreach(v, k, item) leaks += find_leaks(item, k, err, name);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, item) leaks += find_leaks(item, key, err, name);
    } else if (json_is_string(v) && key != NULL && is_private_key(key) &&
               json_string_length(v) >= 4 && strstr(err, json_string_value(v)) != NULL) {
        fprintf(stderr, "%s: stderr quotes the value of \"%s\"\n", name, key);
        leaks++;
    }
    return leaks;
}

/* 0 when stderr is plain ASCII without digit runs that could be numbers. */
static int check_stderr_private(const char *name, const char *body, size_t len, const char *err)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    bool non_ascii = false, digits = false;
    size_t run = 0;
    const char *p;
    int bad = 0;

    for (p = err; *p != '\0'; p++) {
        if ((unsigned char)*p >= 0x80)
            non_ascii = true;
        run = (*p >= '0' && *p <= '9') ? run + 1 : 0;
        if (run >= 5)
            digits = true;
    }
    if (non_ascii) {
        fprintf(stderr, "%s: stderr holds non-ASCII text (a quoted name?)\n", name);
        bad++;
    }
    if (digits) {
        fprintf(stderr, "%s: stderr holds a run of 5+ digits (a quoted number?)\n", name);
        bad++;
    }
    if (root != NULL) {
        bad += find_leaks(root, NULL, err, name);
        json_decref(root);
    }
    return bad;
}

/* ---- one fixture ---- */

struct run_result {
    int rc;
    char *out;
    char *err;
};

static void run_result_free(struct run_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* Compare one run against the expectations; returns the number of mismatches. */
static int check_run(const char *name, const char *how, const struct run_result *r,
                     const char *want_out, int want_rc, const char *want_err)
{
    int bad = 0;

    if (r->out == NULL || r->err == NULL) {
        fprintf(stderr, "%s (%s): the command could not be run\n", name, how);
        return 1;
    }
    if (strcmp(r->out, want_out) != 0) {
        fprintf(stderr, "%s (%s): stdout differs\n--- want\n%s--- got\n%s---\n", name, how,
                want_out, r->out);
        bad++;
    }
    if (r->rc != want_rc) {
        fprintf(stderr, "%s (%s): exit %d, want %d\n", name, how, r->rc, want_rc);
        bad++;
    }
    if (want_err == NULL) {
        if (r->err[0] != '\0') {
            fprintf(stderr, "%s (%s): unexpected stderr:\n%s", name, how, r->err);
            bad++;
        }
        return bad;
    }
    /* each expected line appears, and there is no other line */
    {
        char *copy = strdup(want_err);
        char *save = NULL;
        char *line;

        for (line = strtok_r(copy, "\n", &save); line != NULL;
             line = strtok_r(NULL, "\n", &save)) {
            if (strstr(r->err, line) == NULL) {
                fprintf(stderr, "%s (%s): stderr lacks \"%s\"; got:\n%s", name, how, line,
                        r->err);
                bad++;
            }
        }
        free(copy);
    }
    if (count_lines(r->err) != count_lines(want_err)) {
        fprintf(stderr, "%s (%s): %zu stderr line(s), want %zu:\n%s", name, how,
                count_lines(r->err), count_lines(want_err), r->err);
        bad++;
    }
    return bad;
}

static int check_fixture(const struct corpus *c, const char *name)
{
    char path[2600], out_path[2600], rc_path[2600], err_path[2600];
    const char *file_argv[] = {th_bin(), "parse-webhook", path, NULL};
    const char *stdin_argv[] = {th_bin(), "parse-webhook", "-", NULL};
    struct run_result r = {0, NULL, NULL};
    char *body, *want_out, *want_rc_text, *want_err;
    size_t len, rc_len;
    int64_t want_rc = -1;
    int bad = 0;

    fixture_path(path, sizeof path, c, name, "json");
    fixture_path(out_path, sizeof out_path, c, name, "out");
    fixture_path(rc_path, sizeof rc_path, c, name, "rc");
    fixture_path(err_path, sizeof err_path, c, name, "err");
    body = th_read_file(path, &len);
    want_out = th_read_file(out_path, NULL);
    want_rc_text = th_read_file(rc_path, &rc_len);
    want_err = th_read_file(err_path, NULL);
    while (want_rc_text != NULL && rc_len > 0 &&
           (want_rc_text[rc_len - 1] == '\n' || want_rc_text[rc_len - 1] == ' '))
        want_rc_text[--rc_len] = '\0';
    if (body == NULL || want_out == NULL || want_rc_text == NULL ||
        core_parse_i64(want_rc_text, &want_rc) != 0) {
        fprintf(stderr, "%s: needs NAME.json, NAME.out and NAME.rc (a number)\n", name);
        bad++;
        goto done;
    }
    if (want_rc != 0 && want_err == NULL) {
        fprintf(stderr, "%s: a failing fixture needs NAME.err saying why\n", name);
        bad++;
    }

    /* as a FILE argument */
    r.rc = th_run(file_argv, NULL, NULL, 0, &r.out, &r.err);
    bad += check_run(name, "file", &r, want_out, (int)want_rc, want_err);
    if (r.err != NULL) {
        bad += check_stderr_private(name, body, len, r.err);
        if (strncmp(name, "not-", 4) == 0 && count_lines(r.err) != 1) {
            fprintf(stderr, "%s: not a webhook must give exactly one line on stderr\n", name);
            bad++;
        }
    }
    run_result_free(&r);

    /* the same bytes on standard input */
    r.rc = th_run(stdin_argv, NULL, body, len, &r.out, &r.err);
    bad += check_run(name, "stdin", &r, want_out, (int)want_rc, want_err);
    run_result_free(&r);

done:
    free(body);
    free(want_out);
    free(want_rc_text);
    free(want_err);
    return bad;
}

/* ---- tests ---- */

static void test_corpus_is_big_enough(void **state)
{
    struct corpus c;
    size_t i, malformed = 0, not_webhook = 0;

    (void)state;
    assert_int_equal(corpus_load(&c), 0);
    for (i = 0; i < c.n; i++) {
        if (strncmp(c.names[i], "bad-", 4) == 0)
            malformed++;
        if (strncmp(c.names[i], "not-", 4) == 0)
            not_webhook++;
    }
    printf("corpus %s: %zu fixtures (%zu malformed events, %zu not a webhook)\n", c.dir, c.n,
           malformed, not_webhook);
    assert_true(c.n >= MIN_FIXTURES);
    assert_true(malformed >= 5);
    assert_true(not_webhook >= 4);
    corpus_free(&c);
}

static void test_golden_fixtures(void **state)
{
    struct corpus c;
    size_t i;
    int failed = 0;

    (void)state;
    assert_int_equal(corpus_load(&c), 0);
    assert_true(c.n >= MIN_FIXTURES);
    for (i = 0; i < c.n; i++) {
        int bad = check_fixture(&c, c.names[i]);

        if (bad != 0) {
            fprintf(stderr, "FAIL %s (%d problem(s))\n", c.names[i], bad);
            failed++;
        }
    }
    printf("golden: %zu fixtures, %d failed\n", c.n, failed);
    corpus_free(&c);
    assert_int_equal(failed, 0);
}

static void test_stdin_without_argument(void **state)
{
    struct corpus c;
    char path[2600];
    const char *argv[] = {th_bin(), "parse-webhook", NULL};
    char *body, *want, *out = NULL, *err = NULL;
    size_t len;

    (void)state;
    assert_int_equal(corpus_load(&c), 0);
    fixture_path(path, sizeof path, &c, "batch-mixed", "json");
    body = th_read_file(path, &len);
    assert_non_null(body);
    fixture_path(path, sizeof path, &c, "batch-mixed", "out");
    want = th_read_file(path, NULL);
    assert_non_null(want);
    assert_int_equal(th_run(argv, NULL, body, len, &out, &err), 0);
    assert_string_equal(out, want);
    assert_string_equal(err, "");
    free(out);
    free(err);
    free(body);
    free(want);
    corpus_free(&c);
}

static void test_help(void **state)
{
    const char *argv[] = {th_bin(), "parse-webhook", "--help", NULL};
    const char *argv_short[] = {th_bin(), "parse-webhook", "-h", NULL};
    char *out = NULL, *err = NULL;

    (void)state;
    assert_int_equal(th_run(argv, NULL, NULL, 0, &out, &err), 0);
    assert_non_null(strstr(out, "Usage: janseva parse-webhook"));
    assert_non_null(strstr(out, "65"));
    free(out);
    free(err);
    assert_int_equal(th_run(argv_short, NULL, NULL, 0, &out, &err), 0);
    assert_non_null(strstr(out, "Usage: janseva parse-webhook"));
    free(out);
    free(err);
}

static void test_unreadable_file(void **state)
{
    char *dir = th_tmpdir("parse-webhook");
    char missing[1024];
    const char *argv_missing[] = {th_bin(), "parse-webhook", missing, NULL};
    const char *argv_dir[] = {th_bin(), "parse-webhook", dir, NULL};
    char *out = NULL, *err = NULL;

    (void)state;
    assert_non_null(dir);
    snprintf(missing, sizeof missing, "%s/no-such-webhook.json", dir);
    assert_int_equal(th_run(argv_missing, NULL, NULL, 0, &out, &err), 66);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "cannot read"));
    free(out);
    free(err);
    /* a directory opens but cannot be read */
    assert_int_equal(th_run(argv_dir, NULL, NULL, 0, &out, &err), 66);
    assert_string_equal(out, "");
    free(out);
    free(err);
    th_rmrf(dir);
    free(dir);
}

static void test_usage_errors(void **state)
{
    const char *argv_two[] = {th_bin(), "parse-webhook", "a.json", "b.json", NULL};
    const char *argv_opt[] = {th_bin(), "parse-webhook", "--bogus", NULL};
    char *out = NULL, *err = NULL;

    (void)state;
    assert_int_equal(th_run(argv_two, NULL, NULL, 0, &out, &err), 64);
    assert_string_equal(out, "");
    free(out);
    free(err);
    assert_int_equal(th_run(argv_opt, NULL, NULL, 0, &out, &err), 64);
    assert_string_equal(out, "");
    free(out);
    free(err);
}

/* A malformed event full of personal data: stderr names the place, never the data. */
static void test_malformed_event_is_not_quoted(void **state)
{
    static const char body[] =
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"104567890123456\","
        "\"changes\":[{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
        "\"metadata\":{\"display_phone_number\":\"916122201234\","
        "\"phone_number_id\":\"108765432109876\"},"
        "\"contacts\":[{\"profile\":{\"name\":\"Kamla Devi Secretname\"},"
        "\"wa_id\":\"919876543210\"}],"
        "\"messages\":[{\"from\":\"919876543210x\",\"id\":\"wamid.PRIVACY1\","
        "\"timestamp\":\"1781245400\",\"type\":\"text\",\"text\":{\"body\":\"hello\"}},"
        "{\"from\":\"919876543210\",\"id\":\"wamid.PRIVACY2\",\"timestamp\":\"9876543210x\","
        "\"type\":\"text\",\"text\":{\"body\":\"hello\"}}],"
        "\"statuses\":[{\"id\":\"wamid.PRIVACY3\",\"status\":\"Kamla Devi Secretname\","
        "\"timestamp\":\"1781245401\",\"recipient_id\":\"919876543210\"}]}}]}]}";
    const char *argv[] = {th_bin(), "parse-webhook", "-", NULL};
    char *out = NULL, *err = NULL;

    (void)state;
    assert_int_equal(th_run(argv, NULL, body, sizeof body - 1, &out, &err), 65);
    assert_string_equal(out, "");
    assert_int_equal(count_lines(err), 3);
    assert_null(strstr(err, "98765"));
    assert_null(strstr(err, "Secretname"));
    assert_null(strstr(err, "Kamla"));
    assert_null(strstr(err, "PRIVACY"));
    assert_int_equal(check_stderr_private("inline", body, sizeof body - 1, err), 0);
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_is_big_enough),
        cmocka_unit_test(test_golden_fixtures),
        cmocka_unit_test(test_stdin_without_argument),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_unreadable_file),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_malformed_event_is_not_quoted),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
