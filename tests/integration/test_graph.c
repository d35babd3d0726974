/*
 * tests/integration/test_graph.c - the Graph API client: classification of
 * every class of answer (table from the brief), and live sends to the real
 * Cloud API simulator: accepted with wamids, throttling, token expiry,
 * validation errors, a lost response (ambiguous), a refused connection
 * (transient), many requests in flight.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/graph.h"
#include "tests/harness/cloudsim.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void classify(long http, const char *body, struct gw_graph_result *r)
{
    memset(r, 0, sizeof *r);
    gw_graph_classify(http, CURLE_OK, 1, body, body != NULL ? strlen(body) : 0, r);
}

static char *error_body(int code)
{
    char *s = NULL;

    if (asprintf(&s,
                 "{\"error\":{\"message\":\"(#%d) x\",\"type\":\"OAuthException\",\"code\":%d,"
                 "\"error_data\":{\"messaging_product\":\"whatsapp\",\"details\":"
                 "\"details for 919812345678\"},\"fbtrace_id\":\"A\"}}",
                 code, code) < 0)
        abort();
    return s;
}

static void test_classification_table(void **state)
{
    static const struct {
        int code;
        long http;
        enum gw_send_outcome want;
    } table[] = {
        {130429, 400, GW_SEND_THROTTLED}, {4, 400, GW_SEND_THROTTLED},
        {80007, 400, GW_SEND_THROTTLED},  {131048, 400, GW_SEND_THROTTLED},
        {133016, 400, GW_SEND_THROTTLED}, {131057, 400, GW_SEND_THROTTLED},
        {131056, 400, GW_SEND_PAIR_LIMIT}, {131056, 403, GW_SEND_PAIR_LIMIT},
        {131047, 400, GW_SEND_WINDOW_CLOSED}, {190, 401, GW_SEND_PAUSE},
        {368, 403, GW_SEND_PAUSE},        {133010, 400, GW_SEND_PAUSE},
        {131026, 400, GW_SEND_PERMANENT}, {131049, 400, GW_SEND_PERMANENT},
        {132000, 400, GW_SEND_PERMANENT}, {132001, 404, GW_SEND_PERMANENT},
        {131009, 400, GW_SEND_PERMANENT}, {100, 400, GW_SEND_PERMANENT},
        {131000, 500, GW_SEND_TRANSIENT}, {131053, 400, GW_SEND_TRANSIENT},
        {1, 500, GW_SEND_TRANSIENT},      {2, 503, GW_SEND_TRANSIENT},
    };
    struct gw_graph_result r;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        char *b = error_body(table[i].code);

        classify(table[i].http, b, &r);
        if (r.outcome != table[i].want)
            fail_msg("code %d: %s, want %s", table[i].code, gw_send_outcome_name(r.outcome),
                     gw_send_outcome_name(table[i].want));
        assert_int_equal(r.error_code, table[i].code);
        /* the phone number in Meta's details never survives */
        assert_null(strstr(r.details, "9812345678"));
        assert_non_null(strstr(r.details, "details for"));
        free(b);
    }
    classify(200, "{\"messaging_product\":\"whatsapp\",\"messages\":[{\"id\":\"wamid.X==\"}]}",
             &r);
    assert_int_equal(r.outcome, GW_SEND_OK);
    assert_string_equal(r.wamid, "wamid.X==");
    classify(200, "{\"success\":true}", &r);
    assert_int_equal(r.outcome, GW_SEND_OK);
    classify(200, "{}", &r); /* 200 without an id: did it go out? */
    assert_int_equal(r.outcome, GW_SEND_AMBIGUOUS);
    classify(429, NULL, &r);
    assert_int_equal(r.outcome, GW_SEND_THROTTLED);
    classify(502, "<html>bad gateway</html>", &r);
    assert_int_equal(r.outcome, GW_SEND_TRANSIENT);
    classify(404, "", &r);
    assert_int_equal(r.outcome, GW_SEND_PERMANENT);
    memset(&r, 0, sizeof r);
    gw_graph_classify(0, CURLE_OPERATION_TIMEDOUT, 1, NULL, 0, &r);
    assert_int_equal(r.outcome, GW_SEND_AMBIGUOUS);
    gw_graph_classify(0, CURLE_OPERATION_TIMEDOUT, 0, NULL, 0, &r);
    assert_int_equal(r.outcome, GW_SEND_TRANSIENT);
    gw_graph_classify(0, CURLE_COULDNT_CONNECT, 1, NULL, 0, &r);
    assert_int_equal(r.outcome, GW_SEND_TRANSIENT);
    gw_graph_classify(0, CURLE_GOT_NOTHING, 1, NULL, 0, &r);
    assert_int_equal(r.outcome, GW_SEND_AMBIGUOUS);
}

struct fixture {
    char *dir;
    struct th_cloudsim sim;
    struct gw_graph *g;
    char base[128];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    const char *args[] = {"--mps", "1000", "--pair-spacing-ms", "0", "--window-hours", "0",
                          NULL};
    struct gw_graph_opts o;

    f->dir = th_tmpdir("graph");
    if (th_cloudsim_start(&f->sim, f->dir, args) != 0)
        return -1;
    snprintf(f->base, sizeof f->base, "%s/%s", f->sim.url, TH_SIM_VERSION);
    memset(&o, 0, sizeof o);
    o.base_url = f->base;
    o.token = TH_SIM_TOKEN;
    o.timeout_ms = 2000;
    o.max_inflight = 64;
    f->g = gw_graph_new(&o);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int rc = 0;

    gw_graph_free(f->g);
    if (th_cloudsim_stop(&f->sim) != 0)
        rc = -1;
    if (rc == 0)
        th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return rc;
}

static const char text_body[] =
    "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\",\"to\":\"919800000001\","
    "\"type\":\"text\",\"text\":{\"body\":\"\\u0928\\u092e\\u0938\\u094d\\u0924\\u0947\"}}";

/* Send `n` copies and wait for all results. */
static void send_and_collect(struct fixture *f, int n, struct gw_graph_result *res)
{
    struct core_err err;
    size_t got = 0;
    int i;

    for (i = 0; i < n; i++)
        assert_int_equal(gw_graph_send(f->g, TH_SIM_PNID, text_body, strlen(text_body),
                                       (void *)(intptr_t)(i + 1), &err),
                         0);
    for (i = 0; i < 500 && got < (size_t)n; i++) {
        size_t k = 0;

        assert_int_equal(gw_graph_poll(f->g, 20, res + got, (size_t)n - got, &k), 0);
        got += k;
    }
    assert_int_equal(got, (size_t)n);
    assert_int_equal(gw_graph_inflight(f->g), 0);
}

static void test_accepted_in_parallel(void **state)
{
    struct fixture *f = *state;
    struct gw_graph_result res[64];
    struct core_err err;
    int seen[65] = {0};
    int i;

    send_and_collect(f, 64, res);
    for (i = 0; i < 64; i++) {
        assert_int_equal(res[i].outcome, GW_SEND_OK);
        assert_int_equal(res[i].http_status, 200);
        assert_int_equal(strncmp(res[i].wamid, "wamid.", 6), 0);
        seen[(intptr_t)res[i].ud]++;
    }
    for (i = 1; i <= 64; i++)
        assert_int_equal(seen[i], 1); /* each result comes back once, with its own ud */
    assert_int_equal(gw_graph_room(f->g), 64);
    assert_int_equal(th_cloudsim_counter(&f->sim, "accepted"), 64);
    /* the cap holds */
    for (i = 0; i < 64; i++)
        assert_int_equal(gw_graph_send(f->g, TH_SIM_PNID, text_body, strlen(text_body), NULL,
                                       &err),
                         0);
    assert_int_equal(gw_graph_send(f->g, TH_SIM_PNID, text_body, strlen(text_body), NULL, &err),
                     -1);
    /* freeing with transfers in flight aborts them cleanly (no leak under ASan) */
}

static void fault(struct fixture *f, const char *json)
{
    assert_int_equal(th_cloudsim_req(&f->sim, "POST", "/_sim/faults", json, NULL), 200);
}

static void test_errors_from_the_simulator(void **state)
{
    struct fixture *f = *state;
    struct gw_graph_result r;

    fault(f, "{\"mode\":\"throttle\",\"count\":1}");
    send_and_collect(f, 1, &r);
    assert_int_equal(r.outcome, GW_SEND_THROTTLED);
    assert_int_equal(r.error_code, 130429);
    fault(f, "{\"mode\":\"token_expired\",\"count\":1}");
    send_and_collect(f, 1, &r);
    assert_int_equal(r.outcome, GW_SEND_PAUSE);
    assert_int_equal(r.error_code, 190);
    assert_int_equal(r.http_status, 401);
    fault(f, "{\"mode\":\"5xx\",\"status\":503,\"count\":1}");
    send_and_collect(f, 1, &r);
    assert_int_equal(r.outcome, GW_SEND_TRANSIENT);
    fault(f, "{\"mode\":\"pair_limit\",\"count\":1}");
    send_and_collect(f, 1, &r);
    assert_int_equal(r.outcome, GW_SEND_PAIR_LIMIT);
    /* The response is lost after the simulator accepted the send: reported as
     * ambiguous, and libcurl's silent retry on a fresh connection must not
     * have sent it a second time. Warm the connection first so it is reused. */
    send_and_collect(f, 1, &r);
    {
        long long before = th_cloudsim_counter(&f->sim, "accepted");

        fault(f, "{\"mode\":\"reset\",\"process\":true,\"count\":1}");
        send_and_collect(f, 1, &r);
        assert_int_equal(r.outcome, GW_SEND_AMBIGUOUS);
        assert_int_equal(th_cloudsim_counter(&f->sim, "accepted"), before + 1);
    }
    fault(f, "{\"mode\":\"timeout\",\"delay_ms\":5000,\"count\":1}");
    send_and_collect(f, 1, &r);
    assert_int_equal(r.outcome, GW_SEND_AMBIGUOUS); /* client timeout (2 s) after sending */
    send_and_collect(f, 1, &r);
    assert_int_equal(r.outcome, GW_SEND_OK); /* faults used up */
}

static void test_bad_template_is_permanent(void **state)
{
    struct fixture *f = *state;
    const char *body = "{\"messaging_product\":\"whatsapp\",\"to\":\"919800000001\",\"type\":"
                       "\"template\",\"template\":{\"name\":\"no_such_template\",\"language\":"
                       "{\"code\":\"hi\"}}}";
    struct gw_graph_result r;
    struct core_err err;
    size_t n = 0;
    int i;

    assert_int_equal(gw_graph_send(f->g, TH_SIM_PNID, body, strlen(body), NULL, &err), 0);
    for (i = 0; i < 200 && n == 0; i++)
        gw_graph_poll(f->g, 20, &r, 1, &n);
    assert_int_equal(n, 1);
    assert_int_equal(r.outcome, GW_SEND_PERMANENT);
    assert_int_equal(r.error_code, 132001);
}

static int dropped;

static void drop_ud(void *ud)
{
    free(ud);
    dropped++;
}

/* Stopping with a send in flight: its ud is handed back, never leaked
 * (the dispatcher frees its job), and no result comes later. */
static void test_abort_hands_back_the_ud(void **state)
{
    struct fixture *f = *state;
    struct gw_graph_result r;
    struct core_err err;
    size_t n = 0;

    fault(f, "{\"mode\":\"slow\",\"count\":1,\"delay_ms\":3000}");
    assert_int_equal(gw_graph_send(f->g, TH_SIM_PNID, text_body, strlen(text_body),
                                   strdup("job"), &err),
                     0);
    gw_graph_poll(f->g, 50, &r, 1, &n);
    assert_int_equal(n, 0);
    assert_int_equal(gw_graph_inflight(f->g), 1);
    dropped = 0;
    gw_graph_abort(f->g, drop_ud);
    assert_int_equal(dropped, 1);
    assert_int_equal(gw_graph_inflight(f->g), 0);
    gw_graph_poll(f->g, 50, &r, 1, &n);
    assert_int_equal(n, 0);
}

static void test_refused_connection_is_transient(void **state)
{
    struct gw_graph_opts o = {"http://127.0.0.1:1/v25.0", "t", 2000, 4};
    struct gw_graph *g = gw_graph_new(&o);
    struct gw_graph_result r;
    struct core_err err;
    size_t n = 0;
    int i;

    (void)state;
    assert_int_equal(gw_graph_send(g, "1", "{}", 2, NULL, &err), 0);
    for (i = 0; i < 200 && n == 0; i++)
        gw_graph_poll(g, 20, &r, 1, &n);
    assert_int_equal(n, 1);
    assert_int_equal(r.outcome, GW_SEND_TRANSIENT);
    gw_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classification_table),
        cmocka_unit_test_setup_teardown(test_accepted_in_parallel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_from_the_simulator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_template_is_permanent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_hands_back_the_ud, setup, teardown),
        cmocka_unit_test(test_refused_connection_is_transient),
    };

    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
