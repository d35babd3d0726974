/*
 * tests/integration/test_cloudsim.c - the Cloud API simulator's Graph API
 * and control API against the real binary: the command line, every
 * validation error, templates, throughput and pair limits, tokens,
 * mark-as-read, every fault mode, media round trips, the inspection API,
 * the record cap, private logs and a clean stop with held connections.
 * Webhooks (statuses, windows, inbound into the real gateway) are in
 * test_cloudsim_webhooks.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/harness/cloudsim.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fixture {
    char *dir;
    struct th_cloudsim sim;
};

/* ---- fixtures ---- */

static int start_with(void **state, const char *const args[])
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = th_tmpdir("cloudsim");
    *state = f;
    if (f->dir == NULL || th_cloudsim_start(&f->sim, f->dir, args) != 0)
        return -1;
    return 0;
}

/* Open windows and no pair limit: every valid body is accepted. */
static int setup_open(void **state)
{
    const char *args[] = {"--window-hours", "0", "--pair-spacing-ms", "0", "--mps", "100000", NULL};

    return start_with(state, args);
}

static int setup_default(void **state)
{
    return start_with(state, NULL);
}

static int setup_templates(void **state)
{
    static const char tpl[] =
        "{\"data\":["
        "{\"name\":\"alert_v1\",\"language\":\"hi\",\"category\":\"UTILITY\","
        "\"status\":\"APPROVED\",\"components\":["
        "{\"type\":\"HEADER\",\"format\":\"TEXT\",\"text\":\"{{1}} alert\"},"
        "{\"type\":\"BODY\",\"text\":\"Dear {{1}}, {{2}} near {{ 3 }}. Again {{1}}.\"},"
        "{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":\"QUICK_REPLY\",\"text\":\"OK\"},"
        "{\"type\":\"URL\",\"text\":\"More\",\"url\":\"https://x.example/{{1}}\"}]}]},"
        "{\"name\":\"photo_alert\",\"language\":\"en\",\"category\":\"MARKETING\","
        "\"components\":[{\"type\":\"HEADER\",\"format\":\"IMAGE\"},"
        "{\"type\":\"BODY\",\"text\":\"No parameters\"}]},"
        "{\"name\":\"paused\",\"language\":\"en\",\"status\":\"PAUSED\","
        "\"components\":[{\"type\":\"BODY\",\"text\":\"x\"}]}]}";
    char path[600];
    char *dir = th_tmpdir("cloudsim-tpl");
    const char *args[] = {"--templates", path, "--window-hours", "0", "--pair-spacing-ms",
                          "0",           NULL};
    int rc;

    snprintf(path, sizeof path, "%s/templates.json", dir);
    th_write_file(path, tpl, strlen(tpl));
    rc = start_with(state, args);
    th_rmrf(dir);
    free(dir);
    return rc;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int rc = 0;

    if (f == NULL)
        return 0;
    if (f->sim.proc.pid > 0) {
        int status = th_cloudsim_stop(&f->sim);

        if (status != 0) {
            fprintf(stderr, "cloudsim exited %d on SIGTERM (log: %s)\n", status, f->sim.log_path);
            rc = -1;
        }
    }
    if (rc == 0 && f->dir != NULL)
        th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return rc;
}

/* ---- helpers ---- */

/* The Graph error code of an answer (0 for a success), checking Meta's error shape. */
static int error_code(const char *body)
{
    json_t *v = json_loads(body != NULL ? body : "", 0, NULL);
    json_t *e = json_object_get(v, "error");
    int code = 0;

    if (e != NULL) {
        char prefix[32];
        const char *msg = json_string_value(json_object_get(e, "message"));
        json_t *data = json_object_get(e, "error_data");

        code = (int)json_integer_value(json_object_get(e, "code"));
        snprintf(prefix, sizeof prefix, "(#%d) ", code);
        assert_non_null(msg);
        assert_true(strncmp(msg, prefix, strlen(prefix)) == 0);
        assert_string_equal(json_string_value(json_object_get(e, "type")), "OAuthException");
        assert_string_equal(json_string_value(json_object_get(data, "messaging_product")),
                            "whatsapp");
        assert_non_null(json_string_value(json_object_get(data, "details")));
        assert_true(strlen(json_string_value(json_object_get(e, "fbtrace_id"))) > 10);
    } else {
        assert_non_null(v);
    }
    json_decref(v);
    return code;
}

/* Send `json`; returns the Graph error code (0 = accepted) and the HTTP status in *http. */
static int send_code(const struct fixture *f, const char *json, long *http)
{
    char *body = NULL;
    long st = th_cloudsim_send(&f->sim, TH_SIM_TOKEN, json, &body);
    int code;

    if (http != NULL)
        *http = st;
    assert_true(st != 0);
    code = error_code(body);
    free(body);
    return code;
}

/* The wamid of an accepted send (caller frees). */
static char *send_ok(const struct fixture *f, const char *json)
{
    char *body = NULL;
    long st = th_cloudsim_send(&f->sim, TH_SIM_TOKEN, json, &body);
    json_t *v;
    const char *id;
    char *out;

    if (st != 200)
        fprintf(stderr, "send_ok: %ld %s\n", st, body != NULL ? body : "");
    assert_int_equal(st, 200);
    v = json_loads(body, 0, NULL);
    id =
        json_string_value(json_object_get(json_array_get(json_object_get(v, "messages"), 0), "id"));
    assert_non_null(id);
    out = strdup(id);
    json_decref(v);
    free(body);
    return out;
}

static char *repeat(const char *unit, size_t n)
{
    size_t ul = strlen(unit);
    char *s = malloc(ul * n + 1);
    size_t i;

    for (i = 0; i < n; i++)
        memcpy(s + i * ul, unit, ul);
    s[ul * n] = '\0';
    return s;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
    va_list ap;
    char *out = NULL;

    va_start(ap, f);
    if (vasprintf(&out, f, ap) < 0)
        out = NULL;
    va_end(ap);
    assert_non_null(out);
    return out;
}

static long post(const struct fixture *f, const char *path, const char *json)
{
    return th_cloudsim_req(&f->sim, "POST", path, json, NULL);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ======================= command line ======================= */

static void test_cli(void **state)
{
    static const char *const options[] = {
        "--bind",
        "--port",
        "--threads",
        "--public-url",
        "--max-body-bytes",
        "--log-level",
        "--token",
        "--phone-number-id",
        "--display-phone-number",
        "--waba-id",
        "--templates",
        "--mps",
        "--mps-burst",
        "--pair-spacing-ms",
        "--window-hours",
        "--webhook-url",
        "--app-secret",
        "--status-delay-ms",
        "--deliver-rate",
        "--read-rate",
        "--skip-delivered-rate",
        "--dup-rate",
        "--reorder-rate",
        "--batch-max",
        "--batch-window-ms",
        "--seed",
        "--webhook-timeout-ms",
        "--webhook-retry-base-ms",
        "--webhook-retry-for-ms",
        "--webhook-concurrency",
        "--webhook-queue-max",
        "--record-cap",
        "--media-max-bytes",
        "--help",
        "--version",
    };
    char bin[600];
    char *out = NULL;
    char *err = NULL;
    char *dir = th_tmpdir("cloudsim-cli");
    char bad_tpl[700];
    size_t i;

    (void)state;
    snprintf(bin, sizeof bin, "%s/cloudsim", th_build_dir());
    {
        const char *argv[] = {bin, "--help", NULL};

        assert_int_equal(th_run(argv, NULL, NULL, 0, &out, &err), 0);
        for (i = 0; i < sizeof options / sizeof options[0]; i++) {
            if (strstr(out, options[i]) == NULL)
                fail_msg("--help does not list %s", options[i]);
        }
        free(out);
        free(err);
    }
    {
        const char *argv[] = {bin, "--version", NULL};

        assert_int_equal(th_run(argv, NULL, NULL, 0, &out, &err), 0);
        assert_non_null(strstr(out, "cloudsim"));
        free(out);
        free(err);
    }
    {
        const char *argv[] = {bin, "--no-such-option", NULL};

        assert_int_equal(th_run(argv, NULL, NULL, 0, &out, &err), 64);
        assert_non_null(strstr(err, "cloudsim: "));
        assert_non_null(strchr(err, '\n'));
        assert_null(strchr(err, '\n') + 1 == NULL ? NULL : strchr(strchr(err, '\n') + 1, '\n'));
        free(out);
        free(err);
    }
    {
        const char *argv[] = {bin, "--mps", "many", NULL};

        assert_int_equal(th_run(argv, NULL, NULL, 0, &out, &err), 64);
        assert_non_null(strstr(err, "--mps"));
        free(out);
        free(err);
    }
    {
        const char *argv[] = {bin, "--dup-rate", "1.5", NULL};

        assert_int_equal(th_run(argv, NULL, NULL, 0, &out, &err), 64);
        free(out);
        free(err);
    }
    {
        const char *argv[] = {bin, "--port", "0", "--templates", "/nonexistent/t.json", NULL};

        assert_int_equal(th_run(argv, NULL, NULL, 0, &out, &err), 78);
        assert_non_null(strstr(err, "templates"));
        free(out);
        free(err);
    }
    {
        const char *argv[] = {bin, "--port", "0", "--templates", bad_tpl, NULL};

        snprintf(bad_tpl, sizeof bad_tpl, "%s/bad.json", dir);
        th_write_file(bad_tpl, "[{\"name\":\"x\"}]", 14);
        assert_int_equal(th_run(argv, NULL, NULL, 0, &out, &err), 78);
        assert_non_null(strstr(err, "language"));
        free(out);
        free(err);
    }
    {
        struct th_cloudsim first;
        char port[16];
        const char *argv[] = {bin, "--port", port, NULL};

        assert_int_equal(th_cloudsim_start(&first, dir, NULL), 0);
        snprintf(port, sizeof port, "%d", first.port);
        assert_int_equal(th_run(argv, NULL, NULL, 0, &out, &err), 69);
        free(out);
        free(err);
        assert_int_equal(th_cloudsim_stop(&first), 0);
    }
    th_rmrf(dir);
    free(dir);
}

/* ======================= sends ======================= */

static void test_text_send_and_answer_shape(void **state)
{
    struct fixture *f = *state;
    char *body = NULL;
    json_t *v;
    json_t *contact;
    const char *id;
    char *second;

    assert_int_equal(th_cloudsim_send(&f->sim, TH_SIM_TOKEN,
                                      "{\"messaging_product\":\"whatsapp\",\"recipient_type\":"
                                      "\"individual\",\"to\":\"+91 98000-00001\",\"type\":"
                                      "\"text\",\"text\":{\"body\":\"Simple\",\"preview_url\":"
                                      "false}}",
                                      &body),
                     200);
    v = json_loads(body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(v, "messaging_product")), "whatsapp");
    contact = json_array_get(json_object_get(v, "contacts"), 0);
    assert_string_equal(json_string_value(json_object_get(contact, "input")), "+91 98000-00001");
    assert_string_equal(json_string_value(json_object_get(contact, "wa_id")), "919800000001");
    id =
        json_string_value(json_object_get(json_array_get(json_object_get(v, "messages"), 0), "id"));
    assert_non_null(id);
    assert_true(strncmp(id, "wamid.", 6) == 0 && strlen(id) > 20 && strlen(id) <= 128);
    /* unique ids; a BSUID recipient goes in "recipient" and comes back as user_id */
    second = send_ok(f, "{\"messaging_product\":\"whatsapp\",\"recipient\":\"IN.13491208655302741"
                        "918\",\"type\":\"text\",\"text\":{\"body\":\"x\"}}");
    assert_string_not_equal(second, id);
    free(second);
    json_decref(v);
    free(body);
    assert_int_equal(th_cloudsim_send(&f->sim, TH_SIM_TOKEN,
                                      "{\"messaging_product\":\"whatsapp\",\"recipient\":\"IN.1"
                                      "3491208655302741918\",\"text\":{\"body\":\"x\"}}",
                                      &body),
                     200);
    v = json_loads(body, 0, NULL);
    contact = json_array_get(json_object_get(v, "contacts"), 0);
    assert_string_equal(json_string_value(json_object_get(contact, "user_id")),
                        "IN.13491208655302741918");
    assert_null(json_object_get(contact, "wa_id"));
    json_decref(v);
    free(body);
}

struct bad_case {
    const char *what;
    int code;
    long http;
    char *body; /* malloc'd */
};

#define OK_TO "\"messaging_product\":\"whatsapp\",\"to\":\"919800000002\""

static void test_validation_errors(void **state)
{
    struct fixture *f = *state;
    char *t4097 = repeat("a", 4097);
    char *c1025 = repeat("\xe0\xa4\x95", 1025); /* Devanagari: characters, not bytes */
    char *t21 = repeat("b", 21);
    char *id257 = repeat("i", 257);
    char *t25 = repeat("r", 25);
    char *d73 = repeat("d", 73);
    char *o513 = repeat("o", 513);
    char *rows11 = NULL;
    char *sections11 = NULL;
    size_t i;
    struct bad_case cases[64];
    size_t n = 0;

    {
        char *r = strdup("");
        char *sct = strdup("");

        for (i = 0; i < 11; i++) {
            char *nr = fmt("%s%s{\"id\":\"r%zu\",\"title\":\"Row %zu\"}", r, i ? "," : "", i, i);
            char *ns = fmt("%s%s{\"title\":\"S%zu\",\"rows\":[{\"id\":\"s%zu\",\"title\":\"t\"}]}",
                           sct, i ? "," : "", i, i);

            free(r);
            free(sct);
            r = nr;
            sct = ns;
        }
        rows11 = r;
        sections11 = sct;
    }
#define CASE(w, c, h, ...)                                                                         \
    do {                                                                                           \
        cases[n].what = (w);                                                                       \
        cases[n].code = (c);                                                                       \
        cases[n].http = (h);                                                                       \
        cases[n].body = fmt(__VA_ARGS__);                                                          \
        n++;                                                                                       \
    } while (0)
    CASE("not JSON", 100, 400, "{not json");
    CASE("not an object", 100, 400, "[1,2]");
    CASE("no messaging_product", 131008, 400,
         "{\"to\":\"919800000002\",\"text\":{\"body\":\"x\"}}");
    CASE("other product", 100, 400,
         "{\"messaging_product\":\"sms\",\"to\":\"919800000002\",\"text\":{\"body\":\"x\"}}");
    CASE("no recipient", 131008, 400,
         "{\"messaging_product\":\"whatsapp\",\"text\":{\"body\":\"x\"}}");
    CASE("recipient not a number", 131009, 400,
         "{\"messaging_product\":\"whatsapp\",\"to\":\"call-me\",\"text\":{\"body\":\"x\"}}");
    CASE("recipient not a string", 100, 400,
         "{\"messaging_product\":\"whatsapp\",\"to\":919800000002,\"text\":{\"body\":\"x\"}}");
    CASE("group recipient", 100, 400,
         "{" OK_TO ",\"recipient_type\":\"group\",\"text\":{\"body\":\"x\"}}");
    CASE("unknown type", 100, 400, "{" OK_TO ",\"type\":\"poll\",\"poll\":{}}");
    CASE("text object missing", 131008, 400, "{" OK_TO ",\"type\":\"text\"}");
    CASE("text body missing", 131008, 400, "{" OK_TO ",\"text\":{}}");
    CASE("text body empty", 131009, 400, "{" OK_TO ",\"text\":{\"body\":\"\"}}");
    CASE("text body 4097", 131009, 400, "{" OK_TO ",\"text\":{\"body\":\"%s\"}}", t4097);
    CASE("preview_url not bool", 100, 400,
         "{" OK_TO ",\"text\":{\"body\":\"x\",\"preview_url\":\"yes\"}}");
    CASE("context without id", 131008, 400, "{" OK_TO ",\"context\":{},\"text\":{\"body\":\"x\"}}");
    CASE("opaque 513", 131009, 400,
         "{" OK_TO ",\"biz_opaque_callback_data\":\"%s\",\"text\":{\"body\":\"x\"}}", o513);
    CASE("caption 1025", 131009, 400,
         "{" OK_TO ",\"type\":\"image\",\"image\":{\"link\":\"https://x.example/a.jpg\","
         "\"caption\":\"%s\"}}",
         c1025);
    CASE("media link and id", 131009, 400,
         "{" OK_TO ",\"type\":\"video\",\"video\":{\"link\":\"https://x.example/a.mp4\",\"id\":"
         "\"1\"}}");
    CASE("media neither", 131008, 400, "{" OK_TO ",\"type\":\"document\",\"document\":{}}");
    CASE("media link not http", 131009, 400,
         "{" OK_TO ",\"type\":\"image\",\"image\":{\"link\":\"file:///etc/passwd\"}}");
    CASE("audio caption", 100, 400,
         "{" OK_TO ",\"type\":\"audio\",\"audio\":{\"id\":\"1\",\"caption\":\"x\"}}");
    CASE("reaction without message", 131008, 400,
         "{" OK_TO ",\"type\":\"reaction\",\"reaction\":{\"emoji\":\"x\"}}");
    CASE("location out of range", 131009, 400,
         "{" OK_TO ",\"type\":\"location\",\"location\":{\"latitude\":91,\"longitude\":85}}");
    CASE("location missing longitude", 131008, 400,
         "{" OK_TO ",\"type\":\"location\",\"location\":{\"latitude\":25}}");
    CASE("interactive type unknown", 100, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"carousel\",\"action\":"
         "{}}}");
    CASE("four buttons", 131009, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"button\",\"body\":{"
         "\"text\":\"b\"},\"action\":{\"buttons\":["
         "{\"type\":\"reply\",\"reply\":{\"id\":\"1\",\"title\":\"a\"}},"
         "{\"type\":\"reply\",\"reply\":{\"id\":\"2\",\"title\":\"b\"}},"
         "{\"type\":\"reply\",\"reply\":{\"id\":\"3\",\"title\":\"c\"}},"
         "{\"type\":\"reply\",\"reply\":{\"id\":\"4\",\"title\":\"d\"}}]}}}");
    CASE("no buttons", 131009, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"button\",\"body\":{"
         "\"text\":\"b\"},\"action\":{\"buttons\":[]}}}");
    CASE("button title 21", 131009, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"button\",\"body\":{"
         "\"text\":\"b\"},\"action\":{\"buttons\":[{\"type\":\"reply\",\"reply\":{\"id\":\"1\","
         "\"title\":\"%s\"}}]}}}",
         t21);
    CASE("button titles repeat", 131009, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"button\",\"body\":{"
         "\"text\":\"b\"},\"action\":{\"buttons\":["
         "{\"type\":\"reply\",\"reply\":{\"id\":\"1\",\"title\":\"Same\"}},"
         "{\"type\":\"reply\",\"reply\":{\"id\":\"2\",\"title\":\"Same\"}}]}}}");
    CASE("button id 257", 131009, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"button\",\"body\":{"
         "\"text\":\"b\"},\"action\":{\"buttons\":[{\"type\":\"reply\",\"reply\":{\"id\":\"%s\","
         "\"title\":\"t\"}}]}}}",
         id257);
    CASE("button body 1025", 131009, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"button\",\"body\":{"
         "\"text\":\"%s\"},\"action\":{\"buttons\":[{\"type\":\"reply\",\"reply\":{\"id\":\"1\","
         "\"title\":\"t\"}}]}}}",
         c1025);
    CASE("button body missing", 131008, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"button\",\"action\":{"
         "\"buttons\":[{\"type\":\"reply\",\"reply\":{\"id\":\"1\",\"title\":\"t\"}}]}}}");
    CASE("list 11 rows", 131009, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"list\",\"body\":{"
         "\"text\":\"b\"},\"action\":{\"button\":\"Pick\",\"sections\":[{\"title\":\"s\","
         "\"rows\":[%s]}]}}}",
         rows11);
    CASE("list 11 sections", 131009, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"list\",\"body\":{"
         "\"text\":\"b\"},\"action\":{\"button\":\"Pick\",\"sections\":[%s]}}}",
         sections11);
    CASE("row title 25", 131009, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"list\",\"body\":{"
         "\"text\":\"b\"},\"action\":{\"button\":\"Pick\",\"sections\":[{\"rows\":[{\"id\":"
         "\"1\",\"title\":\"%s\"}]}]}}}",
         t25);
    CASE("row description 73", 131009, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"list\",\"body\":{"
         "\"text\":\"b\"},\"action\":{\"button\":\"Pick\",\"sections\":[{\"rows\":[{\"id\":"
         "\"1\",\"title\":\"t\",\"description\":\"%s\"}]}]}}}",
         d73);
    CASE("list button 21", 131009, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"list\",\"body\":{"
         "\"text\":\"b\"},\"action\":{\"button\":\"%s\",\"sections\":[{\"rows\":[{\"id\":"
         "\"1\",\"title\":\"t\"}]}]}}}",
         t21);
    CASE("list row ids repeat", 131009, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"list\",\"body\":{"
         "\"text\":\"b\"},\"action\":{\"button\":\"P\",\"sections\":[{\"rows\":[{\"id\":\"1\","
         "\"title\":\"a\"},{\"id\":\"1\",\"title\":\"b\"}]}]}}}");
    CASE("two sections without titles", 131008, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"list\",\"body\":{"
         "\"text\":\"b\"},\"action\":{\"button\":\"P\",\"sections\":[{\"rows\":[{\"id\":\"1\","
         "\"title\":\"a\"}]},{\"rows\":[{\"id\":\"2\",\"title\":\"b\"}]}]}}}");
    CASE("list header image", 131009, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"list\",\"header\":{"
         "\"type\":\"image\",\"image\":{\"link\":\"https://x.example/i.jpg\"}},\"body\":{"
         "\"text\":\"b\"},\"action\":{\"button\":\"P\",\"sections\":[{\"rows\":[{\"id\":\"1\","
         "\"title\":\"a\"}]}]}}}");
    CASE("footer 61", 131009, 400,
         "{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"button\",\"body\":{"
         "\"text\":\"b\"},\"footer\":{\"text\":\"%s%s%s\"},\"action\":{\"buttons\":[{\"type\":"
         "\"reply\",\"reply\":{\"id\":\"1\",\"title\":\"t\"}}]}}}",
         t21, t21, t21 + 2);
    CASE("mark read status other", 100, 400,
         "{\"messaging_product\":\"whatsapp\",\"status\":\"delivered\",\"message_id\":\"w\"}");
    CASE("mark read without id", 131008, 400,
         "{\"messaging_product\":\"whatsapp\",\"status\":\"read\"}");
    CASE("template object missing", 131008, 400, "{" OK_TO ",\"type\":\"template\"}");
#undef CASE
    for (i = 0; i < n; i++) {
        long http = 0;
        int code = send_code(f, cases[i].body, &http);

        if (code != cases[i].code || http != cases[i].http)
            fail_msg("%s: got %d (HTTP %ld), want %d (HTTP %ld)", cases[i].what, code, http,
                     cases[i].code, cases[i].http);
        free(cases[i].body);
    }
    /* nothing was accepted; every rejection is counted and recorded */
    assert_int_equal(th_cloudsim_counter(&f->sim, "accepted"), 0);
    assert_int_equal(th_cloudsim_counter(&f->sim, "rejected"), (long long)n);
    free(t4097);
    free(c1025);
    free(t21);
    free(id257);
    free(t25);
    free(d73);
    free(o513);
    free(rows11);
    free(sections11);
}

static void test_valid_bodies_at_the_limits(void **state)
{
    struct fixture *f = *state;
    char *t4096 = repeat("\xe0\xa4\x97", 4096);
    char *c1024 = repeat("c", 1024);
    char *t20 = repeat("t", 20);
    char *t24 = repeat("r", 24);
    char *d72 = repeat("d", 72);
    char *rows10 = strdup("");
    char *bodies[20];
    size_t n = 0;
    size_t i;

    for (i = 0; i < 10; i++) {
        char *nr = fmt("%s%s{\"id\":\"r%zu\",\"title\":\"%s\",\"description\":\"%s\"}", rows10,
                       i ? "," : "", i, i == 0 ? t24 : "Row", d72);

        free(rows10);
        rows10 = nr;
    }
    bodies[n++] = fmt("{" OK_TO ",\"text\":{\"body\":\"%s\"}}", t4096);
    bodies[n++] = fmt("{" OK_TO ",\"type\":\"image\",\"image\":{\"link\":\"https://x.example/"
                      "a.jpg\",\"caption\":\"%s\"}}",
                      c1024);
    bodies[n++] = fmt("{" OK_TO ",\"type\":\"video\",\"video\":{\"link\":\"https://x.example/"
                      "a.mp4\"}}");
    bodies[n++] = fmt("{" OK_TO ",\"type\":\"audio\",\"audio\":{\"link\":\"https://x.example/"
                      "a.ogg\"}}");
    bodies[n++] = fmt("{" OK_TO ",\"type\":\"document\",\"document\":{\"link\":\"https://"
                      "x.example/a.pdf\",\"filename\":\"fir.pdf\",\"caption\":\"FIR\"}}");
    bodies[n++] = fmt("{" OK_TO ",\"type\":\"sticker\",\"sticker\":{\"link\":\"https://"
                      "x.example/s.webp\"}}");
    bodies[n++] = fmt("{" OK_TO ",\"type\":\"reaction\",\"reaction\":{\"message_id\":\"wamid.X\","
                      "\"emoji\":\"\xf0\x9f\x91\x8d\"}}");
    bodies[n++] = fmt("{" OK_TO ",\"type\":\"location\",\"location\":{\"latitude\":25.61,"
                      "\"longitude\":85.14,\"name\":\"Thana\",\"address\":\"Patna\"}}");
    bodies[n++] =
        fmt("{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"button\",\"header\":{"
            "\"type\":\"text\",\"text\":\"h\"},\"body\":{\"text\":\"%s\"},\"footer\":{\"text\":"
            "\"f\"},\"action\":{\"buttons\":[{\"type\":\"reply\",\"reply\":{\"id\":\"1\",\"title\":"
            "\"%s\"}},{\"type\":\"reply\",\"reply\":{\"id\":\"2\",\"title\":\"b\"}},{\"type\":"
            "\"reply\",\"reply\":{\"id\":\"3\",\"title\":\"c\"}}]}}}",
            c1024, t20);
    bodies[n++] = fmt("{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"list\","
                      "\"body\":{\"text\":\"b\"},\"action\":{\"button\":\"%s\",\"sections\":[{"
                      "\"title\":\"%s\",\"rows\":[%s]}]}}}",
                      t20, t24, rows10);
    bodies[n++] = fmt("{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":\"cta_url\","
                      "\"body\":{\"text\":\"b\"},\"action\":{\"name\":\"cta_url\",\"parameters\":"
                      "{\"display_text\":\"Open\",\"url\":\"https://x.example\"}}}}");
    bodies[n++] = fmt("{" OK_TO ",\"type\":\"interactive\",\"interactive\":{\"type\":"
                      "\"location_request_message\",\"body\":{\"text\":\"Share your location\"},"
                      "\"action\":{\"name\":\"send_location\"}}}");
    bodies[n++] = fmt("{" OK_TO ",\"context\":{\"message_id\":\"wamid.Q\"},\"text\":{\"body\":"
                      "\"reply\"}}");
    for (i = 0; i < n; i++) {
        long http = 0;
        int code = send_code(f, bodies[i], &http);

        if (code != 0)
            fail_msg("body %zu rejected with %d", i, code);
        assert_int_equal(http, 200);
        free(bodies[i]);
    }
    assert_int_equal(th_cloudsim_counter(&f->sim, "accepted"), (long long)n);
    free(t4096);
    free(c1024);
    free(t20);
    free(t24);
    free(d72);
    free(rows10);
}

/* ======================= templates ======================= */

#define TPL(name, lang, comps)                                                                     \
    "{" OK_TO ",\"type\":\"template\",\"template\":{\"name\":\"" name "\",\"language\":{"          \
    "\"policy\":\"deterministic\",\"code\":\"" lang "\"},\"components\":[" comps "]}}"
#define P "{\"type\":\"text\",\"text\":\"p\"}"

static void test_templates(void **state)
{
    struct fixture *f = *state;
    long http = 0;
    char *body = NULL;
    json_t *list;

    /* header 1, body 3 distinct placeholders ({{1}} twice, {{ 3 }} spaced), URL button 1 */
    assert_int_equal(
        send_code(f,
                  TPL("alert_v1", "hi",
                      "{\"type\":\"header\",\"parameters\":[" P "]},"
                      "{\"type\":\"body\",\"parameters\":[" P "," P "," P "]},"
                      "{\"type\":\"button\",\"sub_type\":\"url\",\"index\":\"1\",\"parameters\":"
                      "[" P "]}"),
                  &http),
        0);
    assert_int_equal(th_cloudsim_send(&f->sim, TH_SIM_TOKEN,
                                      TPL("alert_v1", "hi",
                                          "{\"type\":\"header\",\"parameters\":[" P "]},"
                                          "{\"type\":\"body\",\"parameters\":[" P "," P "," P
                                          "]},{\"type\":\"button\",\"sub_type\":\"quick_reply\","
                                          "\"index\":0,\"parameters\":[{\"type\":\"payload\","
                                          "\"payload\":\"ok\"}]},{\"type\":\"button\","
                                          "\"index\":\"1\",\"parameters\":[" P "]}"),
                                      &body),
                     200);
    assert_non_null(strstr(body, "\"message_status\":\"accepted\""));
    free(body);
    /* unknown name, unknown language, not approved: 132001 with HTTP 404 */
    assert_int_equal(send_code(f, TPL("alert_v2", "hi", ""), &http), 132001);
    assert_int_equal(http, 404);
    assert_int_equal(send_code(f, TPL("alert_v1", "en", ""), &http), 132001);
    assert_int_equal(send_code(f, TPL("paused", "en", ""), &http), 132001);
    /* parameter counts */
    assert_int_equal(send_code(f,
                               TPL("alert_v1", "hi",
                                   "{\"type\":\"header\",\"parameters\":[" P "]},"
                                   "{\"type\":\"body\",\"parameters\":[" P "," P "]},"
                                   "{\"type\":\"button\",\"index\":\"1\",\"parameters\":[" P "]}"),
                               &http),
                     132000);
    assert_int_equal(http, 400);
    assert_int_equal(send_code(f,
                               TPL("alert_v1", "hi",
                                   "{\"type\":\"body\",\"parameters\":[" P "," P "," P "]},"
                                   "{\"type\":\"button\",\"index\":\"1\",\"parameters\":[" P "]}"),
                               &http),
                     132000); /* header missing */
    assert_int_equal(send_code(f,
                               TPL("alert_v1", "hi",
                                   "{\"type\":\"header\",\"parameters\":[" P "]},"
                                   "{\"type\":\"body\",\"parameters\":[" P "," P "," P "]}"),
                               &http),
                     132000); /* URL button parameter missing */
    assert_int_equal(send_code(f, TPL("photo_alert", "en", ""), &http), 132000);
    assert_int_equal(send_code(f,
                               TPL("photo_alert", "en",
                                   "{\"type\":\"header\",\"parameters\":[{\"type\":\"image\","
                                   "\"image\":{\"link\":\"https://x.example/a.jpg\"}}]}"),
                               &http),
                     0);
    assert_int_equal(send_code(f,
                               "{" OK_TO ",\"type\":\"template\",\"template\":{\"name\":"
                               "\"alert_v1\"}}",
                               &http),
                     131008);
    /* templates added and cleared at run time */
    assert_int_equal(post(f, "/_sim/templates",
                          "{\"name\":\"hello\",\"language\":\"en_US\",\"components\":[{\"type\":"
                          "\"BODY\",\"text\":\"Hello {{name}}\"}]}"),
                     200);
    assert_int_equal(send_code(f,
                               TPL("hello", "en_US",
                                   "{\"type\":\"body\",\"parameters\":[{\"type\":\"text\","
                                   "\"parameter_name\":\"name\",\"text\":\"Asha\"}]}"),
                               &http),
                     0);
    assert_int_equal(post(f, "/_sim/templates", "{\"name\":\"broken\"}"), 400);
    list = th_cloudsim_json(&f->sim, "/_sim/templates");
    assert_int_equal(json_array_size(json_object_get(list, "templates")), 3);
    json_decref(list);
    assert_int_equal(th_cloudsim_req(&f->sim, "DELETE", "/_sim/templates", NULL, NULL), 200);
    assert_int_equal(send_code(f, TPL("hello", "en_US", ""), &http), 132001);
}

/* ======================= limits ======================= */

static char *text_to(unsigned n)
{
    return fmt("{\"messaging_product\":\"whatsapp\",\"to\":\"91980000%04u\",\"text\":{\"body\":"
               "\"alert\"}}",
               n);
}

static void test_mps_limit(void **state)
{
    struct fixture *f = *state;
    const char *cfg = "{\"mps\":10,\"window_hours\":0}";
    unsigned i;
    long http = 0;

    /* a frozen clock: no refill while the test runs, however slow the machine */
    assert_int_equal(post(f, "/_sim/config", cfg), 200);
    assert_int_equal(post(f, "/_sim/clock", "{\"freeze\":true}"), 200);
    for (i = 0; i < 10; i++) { /* exactly at the limit: all accepted */
        char *b = text_to(i);

        assert_int_equal(send_code(f, b, &http), 0);
        free(b);
    }
    {
        char *b = text_to(10);

        assert_int_equal(send_code(f, b, &http), 130429);
        assert_int_equal(http, 400);
        free(b);
    }
    /* 100 ms later one token is back; a full second refills the bucket (10) */
    assert_int_equal(post(f, "/_sim/clock", "{\"advance_ms\":100}"), 200);
    {
        char *a = text_to(11);
        char *b = text_to(12);

        assert_int_equal(send_code(f, a, &http), 0);
        assert_int_equal(send_code(f, b, &http), 130429);
        free(a);
        free(b);
    }
    assert_int_equal(post(f, "/_sim/clock", "{\"advance_ms\":5000}"), 200);
    for (i = 20; i < 30; i++) {
        char *b = text_to(i);

        assert_int_equal(send_code(f, b, &http), 0);
        free(b);
    }
    {
        char *b = text_to(30);

        assert_int_equal(send_code(f, b, &http), 130429);
        free(b);
    }
    /* a smaller bucket: bursts of 3, still 10 per second */
    assert_int_equal(post(f, "/_sim/config", "{\"mps_burst\":3}"), 200);
    assert_int_equal(post(f, "/_sim/clock", "{\"advance_ms\":5000}"), 200);
    for (i = 40; i < 43; i++) {
        char *b = text_to(i);

        assert_int_equal(send_code(f, b, &http), 0);
        free(b);
    }
    {
        char *b = text_to(43);

        assert_int_equal(send_code(f, b, &http), 130429);
        free(b);
    }
    assert_int_equal(th_cloudsim_counter(&f->sim, "by_code.130429"), 4);
    assert_int_equal(th_cloudsim_counter(&f->sim, "numbers." TH_SIM_PNID ".throttled"), 4);
    assert_int_equal(th_cloudsim_counter(&f->sim, "numbers." TH_SIM_PNID ".accepted"), 24);
    /* mark-as-read and rejected bodies do not take tokens */
    assert_int_equal(send_code(f, "{\"messaging_product\":\"whatsapp\",\"to\":\"x\"}", &http),
                     131009);
}

static void test_pair_spacing(void **state)
{
    struct fixture *f = *state;
    char *a = text_to(1);
    char *b = text_to(2);
    long http = 0;

    assert_int_equal(post(f, "/_sim/config", "{\"window_hours\":0}"), 200);
    assert_int_equal(post(f, "/_sim/clock", "{\"freeze\":true}"), 200);
    assert_int_equal(send_code(f, a, &http), 0);
    assert_int_equal(send_code(f, a, &http), 131056); /* same recipient at once */
    assert_int_equal(http, 400);
    assert_int_equal(send_code(f, b, &http), 0); /* others are not held back */
    assert_int_equal(post(f, "/_sim/clock", "{\"advance_ms\":5999}"), 200);
    assert_int_equal(send_code(f, a, &http), 131056);
    assert_int_equal(post(f, "/_sim/clock", "{\"advance_ms\":1}"), 200);
    assert_int_equal(send_code(f, a, &http), 0); /* 6000 ms after the last accepted send */
    assert_int_equal(send_code(f, a, &http), 131056);
    /* spacing is a knob: 0 turns it off */
    assert_int_equal(post(f, "/_sim/config", "{\"pair_spacing_ms\":0}"), 200);
    assert_int_equal(send_code(f, a, &http), 0);
    assert_int_equal(send_code(f, a, &http), 0);
    assert_int_equal(th_cloudsim_counter(&f->sim, "by_code.131056"), 3);
    free(a);
    free(b);
}

/* ======================= tokens ======================= */

static void test_tokens(void **state)
{
    struct fixture *f = *state;
    const char *body = "{\"messaging_product\":\"whatsapp\",\"to\":\"919800000003\",\"text\":{"
                       "\"body\":\"x\"}}";
    char *out = NULL;

    assert_int_equal(post(f, "/_sim/config", "{\"window_hours\":0,\"pair_spacing_ms\":0}"), 200);
    assert_int_equal(th_cloudsim_send(&f->sim, "wrong-token", body, &out), 401);
    assert_int_equal(error_code(out), 190);
    free(out);
    assert_int_equal(th_cloudsim_send(&f->sim, NULL, body, &out), 401);
    assert_int_equal(error_code(out), 190);
    free(out);
    assert_int_equal(th_cloudsim_send(&f->sim, TH_SIM_TOKEN, body, NULL), 200);
    /* revoked: 190 until it is valid again */
    assert_int_equal(post(f, "/_sim/tokens",
                          "{\"token\":\"" TH_SIM_TOKEN "\",\"state\":"
                          "\"revoked\"}"),
                     200);
    assert_int_equal(th_cloudsim_send(&f->sim, TH_SIM_TOKEN, body, &out), 401);
    assert_int_equal(error_code(out), 190);
    assert_non_null(strstr(out, "invalidated"));
    free(out);
    assert_int_equal(post(f, "/_sim/tokens",
                          "{\"token\":\"" TH_SIM_TOKEN "\",\"state\":"
                          "\"expired\"}"),
                     200);
    assert_int_equal(th_cloudsim_send(&f->sim, TH_SIM_TOKEN, body, &out), 401);
    assert_non_null(strstr(out, "Session has expired"));
    free(out);
    assert_int_equal(post(f, "/_sim/tokens",
                          "{\"token\":\"" TH_SIM_TOKEN "\",\"state\":"
                          "\"valid\"}"),
                     200);
    assert_int_equal(th_cloudsim_send(&f->sim, TH_SIM_TOKEN, body, NULL), 200);
    /* a rotated token is added to the accepted set */
    assert_int_equal(post(f, "/_sim/tokens", "{\"token\":\"rotated\",\"state\":\"valid\"}"), 200);
    assert_int_equal(th_cloudsim_send(&f->sim, "rotated", body, NULL), 200);
    assert_int_equal(post(f, "/_sim/tokens", "{\"token\":\"x\",\"state\":\"maybe\"}"), 400);
    assert_int_equal(th_cloudsim_counter(&f->sim, "by_code.190"), 4);
}

/* ======================= mark as read ======================= */

static void test_mark_as_read(void **state)
{
    struct fixture *f = *state;
    char *out = NULL;
    json_t *v;
    char *body;

    /* a citizen writes (no webhook URL: recorded, not posted) */
    assert_int_equal(th_cloudsim_req(&f->sim, "POST", "/_sim/inbound",
                                     "{\"from\":\"919800000004\",\"text\":\"hello\"}", &out),
                     200);
    v = json_loads(out, 0, NULL);
    free(out);
    body = fmt("{\"messaging_product\":\"whatsapp\",\"status\":\"read\",\"message_id\":\"%s\","
               "\"typing_indicator\":{\"type\":\"text\"}}",
               json_string_value(json_object_get(v, "wamid")));
    assert_int_equal(json_integer_value(json_object_get(v, "webhook_status")), 0);
    json_decref(v);
    assert_int_equal(th_cloudsim_send(&f->sim, TH_SIM_TOKEN, body, &out), 200);
    assert_string_equal(out, "{\"success\":true}");
    free(out);
    free(body);
    assert_int_equal(send_code(f,
                               "{\"messaging_product\":\"whatsapp\",\"status\":\"read\","
                               "\"message_id\":\"wamid.HBgMNOTKNOWN=\"}",
                               NULL),
                     131009);
    assert_int_equal(th_cloudsim_counter(&f->sim, "marked_read"), 1);
}

/* ======================= faults ======================= */

static long fault(const struct fixture *f, const char *json)
{
    char *out = NULL;
    long st = th_cloudsim_req(&f->sim, "POST", "/_sim/faults", json, &out);
    json_t *v = json_loads(out != NULL ? out : "", 0, NULL);
    long id = st == 200 ? (long)json_integer_value(json_object_get(v, "id")) : -st;

    json_decref(v);
    free(out);
    return id;
}

static void test_faults_answering(void **state)
{
    struct fixture *f = *state;
    char *a = text_to(1);
    char *b = text_to(2);
    long http = 0;
    char path[64];
    json_t *list;
    long id;

    assert_int_equal(post(f, "/_sim/config", "{\"window_hours\":0,\"pair_spacing_ms\":0}"), 200);
    /* 5xx for the next 2 requests, then normal */
    assert_true(fault(f, "{\"mode\":\"5xx\",\"count\":2}") > 0);
    assert_int_equal(send_code(f, a, &http), 1);
    assert_int_equal(http, 500);
    assert_int_equal(send_code(f, a, &http), 1);
    assert_int_equal(send_code(f, a, &http), 0);
    assert_true(fault(f, "{\"mode\":\"5xx\",\"count\":1,\"status\":503}") > 0);
    assert_int_equal(send_code(f, a, &http), 2);
    assert_int_equal(http, 503);
    /* throttle storms: Meta's 130429 with HTTP 400, or a plain 429 */
    assert_true(fault(f, "{\"mode\":\"throttle\",\"count\":3}") > 0);
    assert_int_equal(send_code(f, a, &http), 130429);
    assert_int_equal(http, 400);
    assert_int_equal(send_code(f, b, &http), 130429);
    assert_int_equal(send_code(f, b, &http), 130429);
    assert_int_equal(send_code(f, b, &http), 0);
    assert_true(fault(f, "{\"mode\":\"throttle\",\"count\":1,\"status\":429,\"code\":4}") > 0);
    assert_int_equal(send_code(f, b, &http), 4);
    assert_int_equal(http, 429);
    /* account-level codes */
    assert_true(fault(f, "{\"mode\":\"blocked\",\"count\":1}") > 0);
    assert_int_equal(send_code(f, b, &http), 368);
    assert_int_equal(http, 403);
    assert_true(fault(f, "{\"mode\":\"not_registered\",\"count\":1}") > 0);
    assert_int_equal(send_code(f, b, &http), 133010);
    assert_true(fault(f, "{\"mode\":\"error\",\"count\":1,\"code\":131048,\"status\":400}") > 0);
    assert_int_equal(send_code(f, b, &http), 131048);
    /* token expiry until cleared */
    id = fault(f, "{\"mode\":\"token_expired\"}");
    assert_true(id > 0);
    assert_int_equal(send_code(f, a, &http), 190);
    assert_int_equal(http, 401);
    assert_int_equal(send_code(f, b, &http), 190);
    snprintf(path, sizeof path, "/_sim/faults/%ld", id);
    assert_int_equal(th_cloudsim_req(&f->sim, "DELETE", path, NULL, NULL), 200);
    assert_int_equal(th_cloudsim_req(&f->sim, "DELETE", path, NULL, NULL), 404);
    assert_int_equal(send_code(f, a, &http), 0);
    /* a fault for another number leaves this one alone */
    assert_true(fault(f, "{\"mode\":\"5xx\",\"phone_number_id\":\"999\"}") > 0);
    assert_int_equal(send_code(f, a, &http), 0);
    assert_int_equal(th_cloudsim_req(&f->sim, "DELETE", "/_sim/faults", NULL, NULL), 200);
    /* 131056 for one recipient only */
    assert_true(fault(f, "{\"mode\":\"pair_limit\",\"to\":\"+91 9800000001\"}") > 0);
    assert_int_equal(send_code(f, a, &http), 131056);
    assert_int_equal(send_code(f, b, &http), 0);
    list = th_cloudsim_json(&f->sim, "/_sim/faults");
    assert_int_equal(json_array_size(json_object_get(list, "faults")), 1);
    json_decref(list);
    assert_int_equal(th_cloudsim_req(&f->sim, "DELETE", "/_sim/faults", NULL, NULL), 200);
    assert_int_equal(send_code(f, a, &http), 0);
    /* for a duration */
    assert_true(fault(f, "{\"mode\":\"5xx\",\"duration_ms\":300}") > 0);
    assert_int_equal(send_code(f, a, &http), 1);
    th_sleep_ms(350);
    assert_int_equal(send_code(f, a, &http), 0);
    /* bad descriptions */
    assert_int_equal(fault(f, "{\"mode\":\"gremlins\"}"), -400);
    assert_int_equal(fault(f, "{\"mode\":\"5xx\",\"status\":200}"), -400);
    assert_int_equal(fault(f, "{\"mode\":\"5xx\",\"probability\":2}"), -400);
    assert_int_equal(th_cloudsim_counter(&f->sim, "faults"), 14);
    free(a);
    free(b);
}

static void test_fault_probability_is_seeded(void **state)
{
    struct fixture *f = *state;
    char *a = text_to(1);
    char pattern[2][41];
    int round;
    int hits = 0;
    int i;

    assert_int_equal(post(f, "/_sim/config", "{\"window_hours\":0,\"pair_spacing_ms\":0}"), 200);
    for (round = 0; round < 2; round++) {
        assert_int_equal(post(f, "/_sim/reset", NULL), 200);
        assert_int_equal(post(f, "/_sim/config", "{\"window_hours\":0,\"pair_spacing_ms\":0}"),
                         200);
        assert_true(fault(f, "{\"mode\":\"5xx\",\"probability\":0.5}") > 0);
        for (i = 0; i < 40; i++) {
            long http = 0;

            pattern[round][i] = send_code(f, a, &http) == 0 ? '.' : 'X';
        }
        pattern[round][40] = '\0';
    }
    assert_string_equal(pattern[0], pattern[1]); /* same seed, same requests: same faults */
    for (i = 0; i < 40; i++)
        hits += pattern[0][i] == 'X';
    assert_true(hits > 5 && hits < 35);
    free(a);
}

/* A send with a client timeout of `timeout_ms`; returns the libcurl result, *http the status. */
static CURLcode raw_send(const struct fixture *f, const char *json, long timeout_ms, long *http)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[256];
    CURLcode rc;
    FILE *devnull = fopen("/dev/null", "w");

    snprintf(url, sizeof url, "%s/%s/%s/messages", f->sim.url, TH_SIM_VERSION, TH_SIM_PNID);
    h = curl_slist_append(h, "Authorization: Bearer " TH_SIM_TOKEN);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
    *http = 0;
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    fclose(devnull);
    return rc;
}

static void test_faults_connection(void **state)
{
    struct fixture *f = *state;
    char *a = text_to(1);
    json_t *v;
    json_t *sends;
    long http = 0;
    int64_t t0;
    CURLcode rc;

    assert_int_equal(post(f, "/_sim/config", "{\"window_hours\":0,\"pair_spacing_ms\":0}"), 200);
    /* slow: the answer comes, late */
    assert_true(fault(f, "{\"mode\":\"slow\",\"count\":1,\"delay_ms\":400}") > 0);
    t0 = mono_ms();
    assert_int_equal(raw_send(f, a, 5000, &http), CURLE_OK);
    assert_int_equal(http, 200);
    assert_true(mono_ms() - t0 >= 390);
    /* timeout: no answer until the client gives up; others are served meanwhile */
    assert_true(fault(f, "{\"mode\":\"timeout\",\"count\":1,\"delay_ms\":20000}") > 0);
    t0 = mono_ms();
    rc = raw_send(f, a, 300, &http);
    assert_int_equal(rc, CURLE_OPERATION_TIMEDOUT);
    assert_true(mono_ms() - t0 < 5000);
    assert_int_equal(raw_send(f, a, 5000, &http), CURLE_OK);
    assert_int_equal(http, 200);
    /* reset: the connection closes without an answer */
    assert_true(fault(f, "{\"mode\":\"reset\",\"count\":1}") > 0);
    rc = raw_send(f, a, 5000, &http);
    assert_true(rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR);
    /* process: true - accepted (recorded with a wamid), but the answer is lost */
    assert_true(fault(f, "{\"mode\":\"reset\",\"count\":1,\"process\":true}") > 0);
    rc = raw_send(f, a, 5000, &http);
    assert_true(rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR);
    v = th_cloudsim_json(&f->sim, "/_sim/sends?limit=100");
    sends = json_object_get(v, "sends");
    {
        size_t i;
        int dropped = 0;
        int processed = 0;
        json_t *s;

        json_array_foreach(sends, i, s)
        {
            const char *outcome = json_string_value(json_object_get(s, "outcome"));

            if (strcmp(outcome, "no_response") == 0)
                dropped++;
            if (strcmp(outcome, "accepted") == 0 &&
                json_integer_value(json_object_get(s, "http_status")) == 0)
                processed++;
        }
        assert_int_equal(dropped, 2);
        assert_int_equal(processed, 1);
    }
    json_decref(v);
    assert_int_equal(th_cloudsim_counter(&f->sim, "no_response"), 3);
    assert_int_equal(send_code(f, a, &http), 0);
    free(a);
}

/* ======================= media ======================= */

struct mem {
    char *data;
    size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    struct mem *m = ud;

    m->data = realloc(m->data, m->len + size * n + 1);
    memcpy(m->data + m->len, p, size * n);
    m->len += size * n;
    m->data[m->len] = '\0';
    return size * n;
}

/* Upload `len` bytes as `mime`; returns HTTP status and the body in *out. */
static long upload(const struct fixture *f, const void *data, size_t len, const char *mime,
                   int with_product, struct mem *out)
{
    CURL *c = curl_easy_init();
    curl_mime *form = curl_mime_init(c);
    curl_mimepart *part;
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " TH_SIM_TOKEN);
    char url[256];
    long http = 0;

    snprintf(url, sizeof url, "%s/%s/%s/media", f->sim.url, TH_SIM_VERSION, TH_SIM_PNID);
    if (with_product) {
        part = curl_mime_addpart(form);
        curl_mime_name(part, "messaging_product");
        curl_mime_data(part, "whatsapp", CURL_ZERO_TERMINATED);
    }
    part = curl_mime_addpart(form);
    curl_mime_name(part, "file");
    curl_mime_filename(part, "photo.jpg");
    curl_mime_type(part, mime);
    curl_mime_data(part, data, len);
    part = curl_mime_addpart(form);
    curl_mime_name(part, "type");
    curl_mime_data(part, mime, CURL_ZERO_TERMINATED);
    memset(out, 0, sizeof *out);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, form);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
    curl_mime_free(form);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return http;
}

/* GET `url` with or without the bearer token. */
static long fetch(const char *url, int bearer, struct mem *out)
{
    struct th_http_resp resp;
    const char *with[] = {"Authorization: Bearer " TH_SIM_TOKEN, NULL};
    long st;

    memset(out, 0, sizeof *out);
    if (th_http("GET", url, bearer ? with : NULL, NULL, 0, &resp) != 0)
        return 0;
    st = resp.status;
    out->data = resp.body;
    out->len = resp.len;
    return st;
}

/* GET /v25.0/<id>: the JSON answer (new reference) and status. */
static json_t *media_info(const struct fixture *f, const char *id, long *http)
{
    struct mem m;
    char url[256];
    json_t *v;

    snprintf(url, sizeof url, "%s/%s/%s", f->sim.url, TH_SIM_VERSION, id);
    *http = fetch(url, 1, &m);
    v = json_loads(m.data != NULL ? m.data : "", 0, NULL);
    free(m.data);
    return v;
}

static void test_media_round_trip(void **state)
{
    struct fixture *f = *state;
    unsigned char bytes[3000];
    struct mem m;
    struct mem got;
    json_t *v;
    json_t *info;
    char id[64];
    char url[512];
    char sha[65];
    unsigned char digest[32];
    long http = 0;
    size_t i;
    char *body;
    char *inbound = NULL;

    for (i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)(i * 7 + 3);
    assert_int_equal(upload(f, bytes, sizeof bytes, "image/jpeg", 1, &m), 200);
    v = json_loads(m.data, 0, NULL);
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(v, "id")));
    assert_true(strlen(id) >= 15);
    json_decref(v);
    free(m.data);
    /* info: url, mime, sha256, size, id */
    info = media_info(f, id, &http);
    assert_int_equal(http, 200);
    assert_string_equal(json_string_value(json_object_get(info, "messaging_product")), "whatsapp");
    assert_string_equal(json_string_value(json_object_get(info, "mime_type")), "image/jpeg");
    assert_string_equal(json_string_value(json_object_get(info, "id")), id);
    assert_int_equal(json_integer_value(json_object_get(info, "file_size")), sizeof bytes);
    crypto_hash_sha256(digest, bytes, sizeof bytes);
    sodium_bin2hex(sha, sizeof sha, digest, sizeof digest);
    assert_string_equal(json_string_value(json_object_get(info, "sha256")), sha);
    snprintf(url, sizeof url, "%s", json_string_value(json_object_get(info, "url")));
    json_decref(info);
    /* bytes with the bearer token; refused without */
    assert_int_equal(fetch(url, 1, &got), 200);
    assert_int_equal(got.len, sizeof bytes);
    assert_memory_equal(got.data, bytes, sizeof bytes);
    free(got.data);
    assert_int_equal(fetch(url, 0, &got), 401);
    free(got.data);
    /* the URL expires after 5 minutes; a fresh info call gives a new one */
    assert_int_equal(post(f, "/_sim/clock", "{\"advance_ms\":301000}"), 200);
    assert_int_equal(fetch(url, 1, &got), 404);
    free(got.data);
    info = media_info(f, id, &http);
    assert_int_equal(fetch(json_string_value(json_object_get(info, "url")), 1, &got), 200);
    free(got.data);
    json_decref(info);
    /* sending by id: known ids are accepted, unknown fail later with 131053 */
    assert_int_equal(post(f, "/_sim/config", "{\"window_hours\":0}"), 200);
    body = fmt("{\"messaging_product\":\"whatsapp\",\"to\":\"919800000005\",\"type\":\"image\","
               "\"image\":{\"id\":\"%s\"}}",
               id);
    assert_int_equal(send_code(f, body, &http), 0);
    free(body);
    assert_int_equal(send_code(f,
                               "{\"messaging_product\":\"whatsapp\",\"to\":\"919800000006\","
                               "\"type\":\"image\",\"image\":{\"id\":\"999\"}}",
                               &http),
                     0);
    assert_int_equal(th_cloudsim_counter(&f->sim, "by_code.131053"), 1);
    /* upload errors */
    assert_int_equal(upload(f, bytes, sizeof bytes, "application/x-msdownload", 1, &m), 400);
    assert_int_equal(error_code(m.data), 131053);
    free(m.data);
    assert_int_equal(upload(f, bytes, sizeof bytes, "image/png", 0, &m), 400);
    assert_int_equal(error_code(m.data), 131008);
    free(m.data);
    /* an inbound image with given bytes is served too */
    {
        char b64[5000];
        char *req;
        json_t *r;

        sodium_bin2base64(b64, sizeof b64, bytes, 1000, sodium_base64_VARIANT_ORIGINAL);
        req = fmt("{\"from\":\"919800000007\",\"type\":\"image\",\"mime_type\":\"image/png\","
                  "\"media_base64\":\"%s\",\"caption\":\"see\"}",
                  b64);
        assert_int_equal(th_cloudsim_req(&f->sim, "POST", "/_sim/inbound", req, &inbound), 200);
        free(req);
        r = json_loads(inbound, 0, NULL);
        info = media_info(f, json_string_value(json_object_get(r, "media_id")), &http);
        assert_int_equal(http, 200);
        assert_int_equal(json_integer_value(json_object_get(info, "file_size")), 1000);
        assert_non_null(
            strstr(json_string_value(json_object_get(r, "body")), "\"caption\":\"see\""));
        assert_int_equal(fetch(json_string_value(json_object_get(info, "url")), 1, &got), 200);
        assert_memory_equal(got.data, bytes, 1000);
        free(got.data);
        json_decref(info);
        json_decref(r);
        free(inbound);
    }
    /* delete */
    snprintf(url, sizeof url, "/%s/%s", TH_SIM_VERSION, id);
    {
        const char *hdr[] = {"Authorization: Bearer " TH_SIM_TOKEN, NULL};
        struct th_http_resp resp;
        char full[600];

        snprintf(full, sizeof full, "%s%s", f->sim.url, url);
        assert_int_equal(th_http("DELETE", full, hdr, NULL, 0, &resp), 0);
        assert_int_equal(resp.status, 200);
        th_http_resp_free(&resp);
    }
    info = media_info(f, id, &http);
    assert_int_equal(http, 400);
    json_decref(info);
    assert_int_equal(th_cloudsim_counter(&f->sim, "media.uploads"), 1);
    /* faults scoped to media hit media requests only */
    assert_int_equal(post(f, "/_sim/faults", "{\"mode\":\"5xx\",\"scope\":\"media\"}"), 200);
    info = media_info(f, "1000000000000001", &http);
    assert_int_equal(http, 500);
    json_decref(info);
    assert_int_equal(send_code(f,
                               "{\"messaging_product\":\"whatsapp\",\"to\":\"919800000011\","
                               "\"text\":{\"body\":\"x\"}}",
                               &http),
                     0);
}

/* ======================= inspection ======================= */

static void test_inspection(void **state)
{
    struct fixture *f = *state;
    const char *exact = "{ \"messaging_product\" : \"whatsapp\", \"to\":\"919800000008\","
                        "\"type\":\"text\",\"text\":{\"body\":\"\xe0\xa4\x95 exact\"} }";
    json_t *v;
    json_t *s;
    long long next;
    char path[128];
    long http = 0;

    assert_int_equal(post(f, "/_sim/config", "{\"window_hours\":0,\"pair_spacing_ms\":0}"), 200);
    assert_int_equal(send_code(f, exact, &http), 0);
    assert_int_equal(send_code(f,
                               "{\"messaging_product\":\"whatsapp\",\"to\":\"919800000009\","
                               "\"type\":\"location\",\"location\":{\"latitude\":1,"
                               "\"longitude\":2}}",
                               &http),
                     0);
    assert_int_equal(
        send_code(f, "{\"messaging_product\":\"whatsapp\",\"to\":\"919800000008\"}", &http),
        131008);
    /* filter by recipient (any spelling), exact body kept */
    v = th_cloudsim_json(&f->sim, "/_sim/sends?to=%2B919800000008");
    assert_int_equal(json_array_size(json_object_get(v, "sends")), 2);
    s = json_array_get(json_object_get(v, "sends"), 0);
    assert_string_equal(json_string_value(json_object_get(s, "body")), exact);
    assert_string_equal(json_string_value(json_object_get(s, "outcome")), "accepted");
    assert_string_equal(json_string_value(json_object_get(s, "type")), "text");
    assert_true(strncmp(json_string_value(json_object_get(s, "wamid")), "wamid.", 6) == 0);
    assert_non_null(json_object_get(json_object_get(s, "plan"), "statuses"));
    s = json_array_get(json_object_get(v, "sends"), 1);
    assert_string_equal(json_string_value(json_object_get(s, "outcome")), "rejected");
    assert_int_equal(json_integer_value(json_object_get(s, "error_code")), 131008);
    assert_int_equal(json_integer_value(json_object_get(s, "http_status")), 400);
    json_decref(v);
    v = th_cloudsim_json(&f->sim, "/_sim/sends?type=location");
    assert_int_equal(json_array_size(json_object_get(v, "sends")), 1);
    json_decref(v);
    v = th_cloudsim_json(&f->sim, "/_sim/sends?outcome=rejected&code=131008");
    assert_int_equal(json_array_size(json_object_get(v, "sends")), 1);
    json_decref(v);
    /* cursor: after=next returns only newer records */
    v = th_cloudsim_json(&f->sim, "/_sim/sends");
    next = json_integer_value(json_object_get(v, "next"));
    assert_int_equal(next, 3);
    json_decref(v);
    assert_int_equal(send_code(f,
                               "{\"messaging_product\":\"whatsapp\",\"to\":\"919800000010\","
                               "\"text\":{\"body\":\"x\"}}",
                               &http),
                     0);
    snprintf(path, sizeof path, "/_sim/sends?after=%lld", next);
    v = th_cloudsim_json(&f->sim, path);
    assert_int_equal(json_array_size(json_object_get(v, "sends")), 1);
    json_decref(v);
    /* since (simulator ms): the clock is the reference */
    v = th_cloudsim_json(&f->sim, "/_sim/clock");
    snprintf(path, sizeof path, "/_sim/sends?since=%lld",
             (long long)json_integer_value(json_object_get(v, "now_ms")) + 1000);
    json_decref(v);
    v = th_cloudsim_json(&f->sim, path);
    assert_int_equal(json_array_size(json_object_get(v, "sends")), 0);
    json_decref(v);
    v = th_cloudsim_json(&f->sim, "/_sim/sends?limit=1");
    assert_int_equal(json_array_size(json_object_get(v, "sends")), 1);
    json_decref(v);
    /* counters */
    assert_int_equal(th_cloudsim_counter(&f->sim, "requests"), 4);
    assert_int_equal(th_cloudsim_counter(&f->sim, "accepted"), 3);
    assert_int_equal(th_cloudsim_counter(&f->sim, "rejected"), 1);
    assert_int_equal(th_cloudsim_counter(&f->sim, "by_code.131008"), 1);
    assert_true(th_cloudsim_counter(&f->sim, "numbers." TH_SIM_PNID ".peak_mps") >= 0);
    /* config round trip and errors */
    v = th_cloudsim_json(&f->sim, "/_sim/config");
    assert_int_equal(json_integer_value(json_object_get(v, "pair_spacing_ms")), 0);
    assert_int_equal(json_integer_value(json_object_get(v, "mps")), 80);
    json_decref(v);
    assert_int_equal(post(f, "/_sim/config", "{\"no_such_knob\":1}"), 400);
    assert_int_equal(post(f, "/_sim/config", "{\"dup_rate\":3}"), 400);
    assert_int_equal(post(f, "/_sim/config", "not json"), 400);
    /* reset: records, counters and settings back to the start */
    assert_int_equal(post(f, "/_sim/reset", NULL), 200);
    v = th_cloudsim_json(&f->sim, "/_sim/sends");
    assert_int_equal(json_array_size(json_object_get(v, "sends")), 0);
    json_decref(v);
    assert_int_equal(th_cloudsim_counter(&f->sim, "requests"), 0);
    v = th_cloudsim_json(&f->sim, "/_sim/config");
    assert_int_equal(json_integer_value(json_object_get(v, "pair_spacing_ms")), 6000);
    json_decref(v);
    /* unknown paths */
    assert_int_equal(th_cloudsim_req(&f->sim, "GET", "/_sim/nothing", NULL, NULL), 404);
    assert_int_equal(th_cloudsim_req(&f->sim, "GET", "/nothing", NULL, NULL), 400);
}

static int setup_small_ring(void **state)
{
    const char *args[] = {
        "--record-cap", "5", "--window-hours", "0", "--pair-spacing-ms", "0", NULL};

    return start_with(state, args);
}

static void test_record_cap(void **state)
{
    struct fixture *f = *state;
    json_t *v;
    unsigned i;

    for (i = 0; i < 8; i++) {
        char *b = text_to(i);

        assert_int_equal(send_code(f, b, NULL), 0);
        free(b);
    }
    v = th_cloudsim_json(&f->sim, "/_sim/sends");
    assert_int_equal(json_array_size(json_object_get(v, "sends")), 5);
    assert_int_equal(json_integer_value(json_object_get(v, "dropped")), 3);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(json_object_get(v, "sends"), 0), "seq")),
        4);
    json_decref(v);
    assert_int_equal(th_cloudsim_counter(&f->sim, "records.stored"), 5);
}

/* ======================= known numbers ======================= */

static int setup_numbers(void **state)
{
    const char *args[] = {"--phone-number-id",
                          "111222333444555:919431000000",
                          "--phone-number-id",
                          "666777888999000",
                          "--window-hours",
                          "0",
                          NULL};

    return start_with(state, args);
}

static long send_via(const struct fixture *f, const char *pnid, const char *json, char **out)
{
    struct th_http_resp resp;
    const char *headers[] = {"Authorization: Bearer " TH_SIM_TOKEN, NULL};
    char url[256];

    snprintf(url, sizeof url, "%s/%s/%s/messages", f->sim.url, TH_SIM_VERSION, pnid);
    if (th_http("POST", url, headers, json, strlen(json), &resp) != 0)
        return 0;
    *out = resp.body;
    return resp.status;
}

static void test_known_numbers(void **state)
{
    struct fixture *f = *state;
    const char *body = "{\"messaging_product\":\"whatsapp\",\"to\":\"919800000012\",\"text\":"
                       "{\"body\":\"x\"}}";
    char *out = NULL;
    json_t *v;

    /* only the listed numbers exist */
    assert_int_equal(send_via(f, TH_SIM_PNID, body, &out), 400);
    assert_int_equal(error_code(out), 100);
    free(out);
    assert_int_equal(send_via(f, "111222333444555", body, &out), 200);
    free(out);
    assert_int_equal(send_via(f, "666777888999000", body, &out), 200);
    free(out);
    /* each number has its own bucket */
    v = th_cloudsim_json(&f->sim, "/_sim/counters");
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(v, "numbers"), "666777888999000"), "accepted")),
        1);
    json_decref(v);
    /* inbound messages go to the first number, with its display number */
    assert_int_equal(th_cloudsim_req(&f->sim, "POST", "/_sim/inbound",
                                     "{\"from\":\"919800000012\",\"text\":\"hi\"}", &out),
                     200);
    assert_non_null(strstr(out, "\\\"phone_number_id\\\":\\\"111222333444555\\\""));
    assert_non_null(strstr(out, "\\\"display_phone_number\\\":\\\"919431000000\\\""));
    free(out);
}

/* ======================= privacy and shutdown ======================= */

static void test_logs_are_private(void **state)
{
    struct fixture *f = *state;
    long http = 0;

    assert_int_equal(post(f, "/_sim/inbound",
                          "{\"from\":\"919812345678\",\"user_id\":\"IN.55512345678901\",\"name\":"
                          "\"Sunita Devi\",\"text\":\"secret complaint\"}"),
                     200);
    assert_int_equal(send_code(f,
                               "{\"messaging_product\":\"whatsapp\",\"to\":\"919812345678\","
                               "\"text\":{\"body\":\"reply about the complaint\"}}",
                               &http),
                     0);
    assert_int_equal(send_code(f,
                               "{\"messaging_product\":\"whatsapp\",\"to\":\"919812345678\","
                               "\"text\":{\"body\":\"again\"}}",
                               &http),
                     131056);
    assert_true(fault(f, "{\"mode\":\"pair_limit\",\"to\":\"919812345678\"}") > 0);
    assert_int_equal(th_cloudsim_stop(&f->sim), 0);
    assert_int_equal(th_file_count(f->sim.log_path, "9812345678"), 0);
    assert_int_equal(th_file_count(f->sim.log_path, "55512345678901"), 0);
    assert_int_equal(th_file_count(f->sim.log_path, "Sunita"), 0);
    assert_int_equal(th_file_count(f->sim.log_path, "complaint"), 0);
    assert_int_equal(th_file_count(f->sim.log_path, TH_SIM_TOKEN), 0);
    assert_int_equal(th_file_count(f->sim.log_path, TH_APP_SECRET), 0);
    assert_true(th_file_count(f->sim.log_path, "\"level\"") > 3); /* it did log */
}

static void test_stop_with_held_connections(void **state)
{
    struct fixture *f = *state;
    char *a = text_to(1);
    long http = 0;
    int64_t t0;
    int status;

    /* hold a connection open (timeout fault), then stop: exit 0 at once, no leak */
    assert_true(fault(f, "{\"mode\":\"timeout\",\"delay_ms\":60000}") > 0);
    assert_int_equal(raw_send(f, a, 200, &http), CURLE_OPERATION_TIMEDOUT);
    t0 = mono_ms();
    status = th_cloudsim_stop(&f->sim);
    assert_int_equal(status, 0);
    assert_true(mono_ms() - t0 < 5000);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli),
        cmocka_unit_test_setup_teardown(test_text_send_and_answer_shape, setup_open, teardown),
        cmocka_unit_test_setup_teardown(test_validation_errors, setup_open, teardown),
        cmocka_unit_test_setup_teardown(test_valid_bodies_at_the_limits, setup_open, teardown),
        cmocka_unit_test_setup_teardown(test_templates, setup_templates, teardown),
        cmocka_unit_test_setup_teardown(test_mps_limit, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_pair_spacing, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_mark_as_read, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_faults_answering, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_fault_probability_is_seeded, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_faults_connection, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_media_round_trip, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_inspection, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_record_cap, setup_small_ring, teardown),
        cmocka_unit_test_setup_teardown(test_known_numbers, setup_numbers, teardown),
        cmocka_unit_test_setup_teardown(test_logs_are_private, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_held_connections, setup_default, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
