/*
 * tests/unit/test_webhook.c - gateway/webhook.c through its API: identity
 * validation (wa_id, BSUID), timestamps in seconds and milliseconds, sender
 * and contact matching, error codes, id length, event order across entries
 * and changes, ignored fields, problems that never quote the input, the JSON
 * output, and a 3 MB body with 10,000 status events.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "gateway/webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENVELOPE_HEAD                                                                      \
    "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"104567890123456\","     \
    "\"changes\":[{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","  \
    "\"metadata\":{\"display_phone_number\":\"916122201234\","                             \
    "\"phone_number_id\":\"108765432109876\"},"
#define ENVELOPE_TAIL "}}]}]}"

/* Parse ENVELOPE_HEAD `inner` ENVELOPE_TAIL; asserts the body is a webhook. */
static void parse_value(struct gw_webhook *h, const char *inner)
{
    struct core_buf b;
    struct core_err err;

    core_buf_init(&b, 0);
    assert_int_equal(core_buf_printf(&b, "%s%s%s", ENVELOPE_HEAD, inner, ENVELOPE_TAIL), 0);
    core_err_clear(&err);
    assert_int_equal(gw_webhook_parse(h, core_buf_str(&b), b.len, &err), 0);
    core_buf_cleanup(&b);
}

/* One text message with the given JSON fragments for sender and timestamp. */
static void parse_text(struct gw_webhook *h, const char *contacts, const char *sender,
                       const char *timestamp)
{
    char inner[2048];

    snprintf(inner, sizeof inner,
             "%s\"messages\":[{%s\"id\":\"wamid.UNIT1\",\"timestamp\":%s,"
             "\"type\":\"text\",\"text\":{\"body\":\"hello\"}}]",
             contacts, sender, timestamp);
    parse_value(h, inner);
    assert_int_equal(h->n_events, 1);
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* ---- identity ---- */

static void test_is_wa_id(void **state)
{
    (void)state;
    assert_true(gw_is_wa_id("919835012345"));
    assert_true(gw_is_wa_id("123"));                  /* 3 digits: shortest */
    assert_true(gw_is_wa_id("12345678901234567890")); /* 20 digits: longest */
    assert_false(gw_is_wa_id("123456789012345678901"));
    assert_false(gw_is_wa_id("12"));
    assert_false(gw_is_wa_id(""));
    assert_false(gw_is_wa_id(NULL));
    assert_false(gw_is_wa_id("+919835012345"));
    assert_false(gw_is_wa_id("abc+12"));
    assert_false(gw_is_wa_id("9198 3501 2345"));
    assert_false(gw_is_wa_id("91983501234\xef\xbc\x95")); /* full-width 5 */
    assert_false(gw_is_wa_id("US.13491208655302741918"));
}

static void test_is_bsuid(void **state)
{
    char *s;

    (void)state;
    assert_true(gw_is_bsuid("US.13491208655302741918"));
    assert_true(gw_is_bsuid("US.1"));
    assert_true(gw_is_bsuid("IN.ENT.abc"));
    assert_true(gw_is_bsuid("IN.15702938471625384950"));
    assert_false(gw_is_bsuid("us.123"));
    assert_false(gw_is_bsuid("Us.123"));
    assert_false(gw_is_bsuid("US."));
    assert_false(gw_is_bsuid("US..1"));
    assert_false(gw_is_bsuid("US.1."));
    assert_false(gw_is_bsuid("US.1..2"));
    assert_false(gw_is_bsuid("U.1"));
    assert_false(gw_is_bsuid("USA.1"));
    assert_false(gw_is_bsuid("US-1"));
    assert_false(gw_is_bsuid("US"));
    assert_false(gw_is_bsuid("U"));
    assert_false(gw_is_bsuid(""));
    assert_false(gw_is_bsuid(NULL));
    assert_false(gw_is_bsuid("US.1 2"));
    assert_false(gw_is_bsuid("US.12_3"));
    assert_false(gw_is_bsuid("919835012345"));

    /* at most 160 characters in all */
    s = repeat('7', 160);
    memcpy(s, "IN.", 3);
    assert_true(gw_is_bsuid(s));
    free(s);
    s = repeat('7', 161);
    memcpy(s, "IN.", 3);
    assert_false(gw_is_bsuid(s));
    free(s);
    s = repeat('7', 100000);
    memcpy(s, "IN.", 3);
    assert_false(gw_is_bsuid(s));
    free(s);
}

/* ---- timestamps ---- */

static void expect_timestamp(const char *json, int64_t want)
{
    struct gw_webhook h;

    parse_text(&h, "", "\"from\":\"919835012345\",", json);
    if (want < 0) {
        assert_non_null(h.events[0].problem);
        assert_string_equal(h.events[0].problem, "message has a missing or bad timestamp");
    } else {
        assert_null(h.events[0].problem);
        assert_true(h.events[0].timestamp == want);
    }
    gw_webhook_free(&h);
}

static void test_timestamp_seconds_and_milliseconds(void **state)
{
    (void)state;
    expect_timestamp("\"1781242500\"", 1781242500);
    expect_timestamp("1781242500", 1781242500);         /* a JSON number works too */
    expect_timestamp("\"1781242500123\"", 1781242500); /* milliseconds */
    expect_timestamp("1781242500999", 1781242500);     /* truncated, not rounded */
    expect_timestamp("\"999999999999\"", 999999999999); /* below 1e12: seconds */
    expect_timestamp("\"1000000000000\"", 1000000000);  /* 1e12: milliseconds */
    expect_timestamp("\"1\"", 1);
    expect_timestamp("\"0\"", -1);
    expect_timestamp("\"-1781242500\"", -1);
    expect_timestamp("-1781242500", -1);
    expect_timestamp("\"-0\"", -1);
    expect_timestamp("\"yesterday\"", -1);
    expect_timestamp("\"\"", -1);
    expect_timestamp("\" 1781242500\"", -1);
    expect_timestamp("\"+1781242500\"", -1);
    expect_timestamp("\"1.7e9\"", -1);
    expect_timestamp("1781242500.0", -1);
    expect_timestamp("\"99999999999999999999\"", -1); /* overflows int64 */
    expect_timestamp("null", -1);
    expect_timestamp("true", -1);
    expect_timestamp("{}", -1);
}

/* ---- senders and contacts ---- */

static void test_sender_shapes(void **state)
{
    struct gw_webhook h;
    const struct gw_event *ev;

    (void)state;
    /* digits in from, contact matched by wa_id gives name and the BSUID */
    parse_text(&h,
               "\"contacts\":[{\"profile\":{\"name\":\"Ramesh\",\"username\":\"ramesh.p\"},"
               "\"wa_id\":\"919835012345\",\"user_id\":\"IN.123456\"}],",
               "\"from\":\"919835012345\",", "\"1781242500\"");
    ev = &h.events[0];
    assert_null(ev->problem);
    assert_string_equal(ev->from, "919835012345");
    assert_string_equal(ev->user_id, "IN.123456");
    assert_string_equal(ev->name, "Ramesh");
    assert_string_equal(ev->username, "ramesh.p");
    gw_webhook_free(&h);

    /* BSUID only, contact matched by user_id also shares the number */
    parse_text(&h,
               "\"contacts\":[{\"profile\":{\"name\":\"Vikash\"},"
               "\"wa_id\":\"919801122334\",\"user_id\":\"IN.98765\"}],",
               "\"from_user_id\":\"IN.98765\",", "\"1781242500\"");
    ev = &h.events[0];
    assert_null(ev->problem);
    assert_string_equal(ev->from, "919801122334");
    assert_string_equal(ev->user_id, "IN.98765");
    gw_webhook_free(&h);

    /* BSUID in from, no contacts at all */
    parse_text(&h, "", "\"from\":\"US.13491208655302741918\",", "\"1781242500\"");
    ev = &h.events[0];
    assert_null(ev->problem);
    assert_null(ev->from);
    assert_string_equal(ev->user_id, "US.13491208655302741918");
    assert_null(ev->name);
    gw_webhook_free(&h);

    /* a lone contact with no id at all (a bare profile) gives the name */
    parse_text(&h, "\"contacts\":[{\"profile\":{\"name\":\"Sunita\"}}],",
               "\"from\":\"919934567821\",", "\"1781242500\"");
    assert_null(h.events[0].problem);
    assert_string_equal(h.events[0].name, "Sunita");
    gw_webhook_free(&h);

    /* a lone contact for somebody else gives neither a name nor an identity */
    parse_text(&h,
               "\"contacts\":[{\"profile\":{\"name\":\"Other\"},"
               "\"wa_id\":\"919800000001\",\"user_id\":\"IN.555\"}],",
               "\"from\":\"919835012345\",", "\"1781242500\"");
    ev = &h.events[0];
    assert_null(ev->problem);
    assert_string_equal(ev->from, "919835012345");
    assert_null(ev->user_id);
    assert_null(ev->name);
    gw_webhook_free(&h);

    /* no sender on the message: a contact does not make one up */
    parse_text(&h,
               "\"contacts\":[{\"profile\":{\"name\":\"Kamlesh\"},"
               "\"wa_id\":\"919812340000\"}],",
               "", "\"1781242500\"");
    assert_non_null(h.events[0].problem);
    assert_string_equal(h.events[0].problem, "message has no sender");
    gw_webhook_free(&h);

    /* null senders are no senders */
    parse_text(&h, "", "\"from\":null,\"from_user_id\":null,", "\"1781242500\"");
    assert_string_equal(h.events[0].problem, "message has no sender");
    gw_webhook_free(&h);

    /* malformed senders */
    parse_text(&h, "", "\"from\":\"abc+12\",", "\"1781242500\"");
    assert_string_equal(h.events[0].problem,
                        "sender is neither digits nor a business-scoped user id");
    gw_webhook_free(&h);
    parse_text(&h, "", "\"from\":919835012345,", "\"1781242500\"");
    assert_string_equal(h.events[0].problem,
                        "sender is neither digits nor a business-scoped user id");
    gw_webhook_free(&h);
    parse_text(&h, "", "\"from\":\"919835012345\",\"from_user_id\":\"us.1\",",
               "\"1781242500\"");
    assert_string_equal(h.events[0].problem,
                        "sender is neither digits nor a business-scoped user id");
    gw_webhook_free(&h);
    parse_text(&h, "", "\"from\":\"\",", "\"1781242500\"");
    assert_string_equal(h.events[0].problem,
                        "sender is neither digits nor a business-scoped user id");
    gw_webhook_free(&h);
}

/* ---- system messages ---- */

static void test_system_ids(void **state)
{
    struct gw_webhook h;

    (void)state;
    parse_value(&h, "\"messages\":[{\"from_user_id\":\"IN.222\",\"id\":\"wamid.S1\","
                    "\"timestamp\":\"1781242500\",\"type\":\"system\",\"system\":{"
                    "\"body\":\"changed\",\"type\":\"user_changed_user_id\","
                    "\"user_id\":\"IN.222\",\"previous_user_id\":\"IN.111\"}},"
                    "{\"from\":\"919835012345\",\"id\":\"wamid.S2\","
                    "\"timestamp\":\"1781242501\",\"type\":\"system\",\"system\":{"
                    "\"type\":\"user_changed_number\",\"wa_id\":\"+919876501234\"}},"
                    "{\"from_user_id\":\"IN.222\",\"id\":\"wamid.S3\","
                    "\"timestamp\":\"1781242502\",\"type\":\"system\",\"system\":{"
                    "\"type\":\"user_changed_user_id\",\"user_id\":\"IN.333\","
                    "\"previous_user_id\":\"in.111\"}}]");
    assert_int_equal(h.n_events, 3);
    assert_null(h.events[0].problem);
    assert_string_equal(h.events[0].system_type, "user_changed_user_id");
    assert_string_equal(h.events[0].new_user_id, "IN.222");
    assert_string_equal(h.events[0].previous_user_id, "IN.111");
    assert_string_equal(h.events[1].problem,
                        "system message carries a malformed new wa_id");
    assert_string_equal(h.events[2].problem,
                        "system message carries a malformed previous user id");
    gw_webhook_free(&h);
}

/* ---- error codes ---- */

static void test_error_codes(void **state)
{
    struct gw_webhook h;
    const struct gw_event *ev;

    (void)state;
    parse_value(&h, "\"statuses\":[{\"id\":\"wamid.E1\",\"status\":\"failed\","
                    "\"timestamp\":\"1781242500\",\"recipient_id\":\"919835012345\","
                    "\"errors\":[{\"code\":131047},{\"code\":\"131026\"},"
                    "{\"code\":99999999999},{\"code\":-5},{\"code\":\"x1\"},{\"title\":\"t\"},"
                    "{\"code\":1.5},{\"code\":4},{\"code\":130429},{\"code\":131056},"
                    "{\"code\":131000},{\"code\":368},{\"code\":190},{\"code\":131053}]}]");
    assert_int_equal(h.n_events, 1);
    ev = &h.events[0];
    assert_null(ev->problem);
    assert_int_equal(ev->n_errors, GW_MAX_ERROR_CODES);
    assert_int_equal(ev->error_codes[0], 131047);
    assert_int_equal(ev->error_codes[1], 131026); /* a string code */
    assert_int_equal(ev->error_codes[2], 4);      /* out-of-range and odd codes skipped */
    assert_int_equal(ev->error_codes[3], 130429);
    assert_int_equal(ev->error_codes[7], 190);    /* then capped */
    gw_webhook_free(&h);
}

/* ---- ids ---- */

static void test_id_length_limit(void **state)
{
    struct gw_webhook h;
    struct core_buf b;
    char *id_ok = repeat('A', GW_MAX_ID_LEN);
    char *id_long = repeat('B', GW_MAX_ID_LEN + 1);

    (void)state;
    core_buf_init(&b, 0);
    assert_int_equal(core_buf_printf(&b,
                                     "\"messages\":[{\"from\":\"919835012345\",\"id\":\"%s\","
                                     "\"timestamp\":\"1781242500\",\"type\":\"text\"},"
                                     "{\"from\":\"919835012345\",\"id\":\"%s\","
                                     "\"timestamp\":\"1781242500\",\"type\":\"text\"},"
                                     "{\"from\":\"919835012345\",\"id\":\"\","
                                     "\"timestamp\":\"1781242500\",\"type\":\"text\"}],"
                                     "\"statuses\":[{\"id\":\"%s\",\"status\":\"read\","
                                     "\"timestamp\":\"1781242500\"}]",
                                     id_ok, id_long, id_long),
                     0);
    parse_value(&h, core_buf_str(&b));
    assert_int_equal(h.n_events, 4);
    assert_null(h.events[0].problem);
    assert_int_equal(strlen(h.events[0].id), GW_MAX_ID_LEN);
    assert_string_equal(h.events[1].problem, "id is too long");
    assert_null(h.events[1].id);
    assert_string_equal(h.events[2].problem, "message has no id");
    assert_string_equal(h.events[3].problem, "id is too long");
    assert_int_equal(gw_webhook_problems(&h), 3);
    gw_webhook_free(&h);
    core_buf_cleanup(&b);
    free(id_ok);
    free(id_long);
}

/* ---- structure ---- */

static void test_entries_and_changes_in_order(void **state)
{
    static const char body[] =
        "{\"object\":\"whatsapp_business_account\",\"entry\":["
        "{\"id\":\"1\",\"changes\":["
        "{\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"P1\"},"
        "\"messages\":[{\"from\":\"919835012345\",\"id\":\"m1\",\"timestamp\":\"1781242501\","
        "\"type\":\"text\"},{\"from\":\"919835012345\",\"id\":\"m2\","
        "\"timestamp\":\"1781242502\",\"type\":\"text\"}],"
        "\"statuses\":[{\"id\":\"s1\",\"status\":\"sent\",\"timestamp\":\"1781242503\"}],"
        "\"errors\":[{\"code\":131000}]}},"
        "{\"field\":\"account_update\",\"value\":{\"event\":\"VERIFIED_ACCOUNT\"}},"
        "{\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"P1\"},"
        "\"statuses\":[{\"id\":\"s2\",\"status\":\"delivered\","
        "\"timestamp\":\"1781242504\"}]}}]},"
        "{\"id\":\"2\",\"changes\":["
        "{\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"P2\"},"
        "\"messages\":[{\"from\":\"919934567821\",\"id\":\"m3\",\"timestamp\":\"1781242505\","
        "\"type\":\"text\"}]}}]}]}";
    static const struct {
        enum gw_event_kind kind;
        const char *id;
        size_t entry, change, index;
        const char *pnid;
    } want[] = {
        {GW_EVENT_MESSAGE, "m1", 0, 0, 0, "P1"}, {GW_EVENT_MESSAGE, "m2", 0, 0, 1, "P1"},
        {GW_EVENT_STATUS, "s1", 0, 0, 0, "P1"},  {GW_EVENT_ERROR, NULL, 0, 0, 0, "P1"},
        {GW_EVENT_STATUS, "s2", 0, 2, 0, "P1"},  {GW_EVENT_MESSAGE, "m3", 1, 0, 0, "P2"},
    };
    struct gw_webhook h;
    struct core_err err;
    size_t i;

    (void)state;
    assert_int_equal(gw_webhook_parse(&h, body, sizeof body - 1, &err), 0);
    assert_int_equal(h.n_events, sizeof want / sizeof want[0]);
    assert_int_equal(gw_webhook_problems(&h), 0);
    for (i = 0; i < h.n_events; i++) {
        const struct gw_event *ev = &h.events[i];

        assert_int_equal(ev->kind, want[i].kind);
        if (want[i].id != NULL)
            assert_string_equal(ev->id, want[i].id);
        assert_int_equal(ev->entry, want[i].entry);
        assert_int_equal(ev->change, want[i].change);
        assert_int_equal(ev->index, want[i].index);
        assert_string_equal(ev->phone_number_id, want[i].pnid);
    }
    assert_int_equal(h.events[3].n_errors, 1);
    assert_int_equal(h.events[3].error_codes[0], 131000);
    assert_int_equal(h.ignored, 1);
    assert_string_equal(h.ignored_field[0], "account_update");
    gw_webhook_free(&h);
}

static void test_ignored_fields(void **state)
{
    static const char body[] =
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":["
        "{\"field\":\"message_template_status_update\",\"value\":{\"event\":\"APPROVED\"}},"
        "{\"field\":\"phone_number_quality_update\",\"value\":{\"event\":\"FLAGGED\"}},"
        "{\"value\":{\"metadata\":{\"phone_number_id\":\"P1\"},\"messages\":[]}},"
        "{\"field\":\"group_lifecycle_update\",\"value\":{}}]},"
        "{\"id\":\"2\",\"changes\":[]}]}";
    struct gw_webhook h;
    struct core_err err;

    (void)state;
    assert_int_equal(gw_webhook_parse(&h, body, sizeof body - 1, &err), 0);
    assert_int_equal(h.n_events, 0);
    assert_int_equal(h.ignored, 4);
    assert_string_equal(h.ignored_field[0], "message_template_status_update");
    assert_string_equal(h.ignored_field[1], "phone_number_quality_update");
    assert_string_equal(h.ignored_field[2], "(none)");
    assert_string_equal(h.ignored_field[3], "group_lifecycle_update");
    gw_webhook_free(&h);
}

static void test_structural_problems(void **state)
{
    static const char body[] =
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\"},"
        "{\"id\":\"2\",\"changes\":[{\"field\":\"messages\"},"
        "{\"field\":\"messages\",\"value\":{\"messages\":[{\"from\":\"919835012345\","
        "\"id\":\"m\",\"timestamp\":\"1781242500\",\"type\":\"text\"}]}},"
        "{\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"P\"},"
        "\"messages\":[\"text\",{\"from\":\"919835012345\",\"id\":\"m2\","
        "\"timestamp\":\"1781242500\"}],\"statuses\":[7]}}]}]}";
    struct gw_webhook h;
    struct core_err err;

    (void)state;
    assert_int_equal(gw_webhook_parse(&h, body, sizeof body - 1, &err), 0);
    assert_int_equal(h.n_events, 6);
    assert_string_equal(h.events[0].problem, "entry has no changes array");
    assert_string_equal(h.events[1].problem, "change has no value object");
    assert_string_equal(h.events[2].problem, "change has no metadata.phone_number_id");
    assert_string_equal(h.events[3].problem, "message is not an object");
    assert_string_equal(h.events[4].problem, "message has no type");
    assert_string_equal(h.events[5].problem, "status is not an object");
    assert_int_equal(gw_webhook_problems(&h), 6);
    gw_webhook_free(&h);
}

static void expect_not_webhook(const char *body, const char *why)
{
    struct gw_webhook h;
    struct core_err err;

    core_err_clear(&err);
    assert_int_equal(gw_webhook_parse(&h, body, strlen(body), &err), -1);
    assert_int_equal(err.code, CORE_EX_DATAERR);
    assert_non_null(strstr(err.msg, "not a WhatsApp webhook"));
    assert_non_null(strstr(err.msg, why));
    assert_null(strchr(err.msg, '\n'));
    gw_webhook_free(&h);
}

static void test_not_a_webhook(void **state)
{
    (void)state;
    expect_not_webhook("", "invalid JSON");
    expect_not_webhook("{\"object\":\"whatsapp_business_account\",", "invalid JSON");
    expect_not_webhook("{\"object\":\"whatsapp_business_account\",\"entry\":[]} x",
                       "invalid JSON");
    expect_not_webhook("{\"object\":\"whatsapp_business_account\","
                       "\"object\":\"whatsapp_business_account\",\"entry\":[]}",
                       "invalid JSON"); /* duplicate keys */
    expect_not_webhook("[]", "not a JSON object");
    expect_not_webhook("[{\"object\":\"whatsapp_business_account\",\"entry\":[]}]",
                       "not a JSON object");
    expect_not_webhook("{\"object\":\"page\",\"entry\":[]}", "\"object\"");
    expect_not_webhook("{\"entry\":[]}", "\"object\"");
    expect_not_webhook("{\"object\":\"WhatsApp_Business_Account\",\"entry\":[]}", "\"object\"");
    expect_not_webhook("{\"object\":\"whatsapp_business_account\"}", "\"entry\"");
    expect_not_webhook("{\"object\":\"whatsapp_business_account\",\"entry\":{}}", "\"entry\"");
}

/* ---- privacy ---- */

#define SECRET_NUMBER "919812345678"
#define SECRET_NAME "Gupta Secretname"

static void assert_not_quoted(const char *text)
{
    assert_null(strstr(text, SECRET_NUMBER));
    assert_null(strstr(text, "12345"));
    assert_null(strstr(text, "Secretname"));
}

static void test_problems_never_quote_input(void **state)
{
    static const char *const bad[] = {
        /* JSON errors: jansson's own text would quote the input */
        "{\"object\":\"whatsapp_business_account\",\"entry\":[" SECRET_NUMBER " " SECRET_NAME,
        "{\"object\":\"" SECRET_NUMBER SECRET_NAME "\",\"entry\":[]}",
        "{\"" SECRET_NAME "\":1,\"" SECRET_NAME "\":2}",
        "[\"" SECRET_NUMBER "\"]",
    };
    static const char events[] =
        "\"contacts\":[{\"profile\":{\"name\":\"" SECRET_NAME "\"},"
        "\"wa_id\":\"" SECRET_NUMBER "\"}],"
        "\"messages\":["
        "{\"from\":\"" SECRET_NUMBER SECRET_NAME "\",\"id\":\"wamid.1\","
        "\"timestamp\":\"1781242500\",\"type\":\"text\"},"
        "{\"from_user_id\":\"" SECRET_NAME "\",\"id\":\"wamid.2\","
        "\"timestamp\":\"1781242500\",\"type\":\"text\"},"
        "{\"from\":\"" SECRET_NUMBER "\",\"id\":\"wamid.3\","
        "\"timestamp\":\"" SECRET_NUMBER SECRET_NAME "\",\"type\":\"text\"},"
        "{\"from\":\"" SECRET_NUMBER "\",\"id\":\"wamid.4\",\"timestamp\":\"1781242500\","
        "\"type\":\"location\",\"location\":{\"latitude\":\"" SECRET_NAME "\","
        "\"longitude\":1}},"
        "{\"from\":\"" SECRET_NUMBER "\",\"id\":\"wamid.5\",\"timestamp\":\"1781242500\","
        "\"type\":\"system\",\"system\":{\"type\":\"user_changed_number\","
        "\"wa_id\":\"" SECRET_NAME "\"}}],"
        "\"statuses\":[{\"id\":\"wamid.6\",\"status\":\"" SECRET_NAME "\","
        "\"timestamp\":\"1781242500\",\"recipient_id\":\"" SECRET_NUMBER "\"},"
        "{\"id\":\"wamid.7\",\"status\":\"read\",\"timestamp\":\"" SECRET_NUMBER "x\","
        "\"recipient_id\":\"" SECRET_NUMBER "\"}]";
    struct gw_webhook h;
    struct core_err err;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        core_err_clear(&err);
        assert_int_equal(gw_webhook_parse(&h, bad[i], strlen(bad[i]), &err), -1);
        assert_not_quoted(err.msg);
        gw_webhook_free(&h);
    }
    parse_value(&h, events);
    assert_int_equal(h.n_events, 7);
    assert_int_equal(gw_webhook_problems(&h), 7);
    for (i = 0; i < h.n_events; i++) {
        assert_non_null(h.events[i].problem);
        assert_not_quoted(h.events[i].problem);
    }
    gw_webhook_free(&h);
}

/* ---- JSON output ---- */

static void expect_json(const struct gw_event *ev, const char *want)
{
    json_t *o = gw_event_to_json(ev);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

    assert_non_null(s);
    assert_string_equal(s, want);
    free(s);
    json_decref(o);
}

static void test_event_to_json(void **state)
{
    struct gw_webhook h;

    (void)state;
    parse_value(&h,
                "\"contacts\":[{\"profile\":{\"name\":\"Ajay\",\"username\":\"ajay_y\"},"
                "\"wa_id\":\"919801122334\",\"user_id\":\"IN.4091\"}],"
                "\"messages\":[{\"from\":\"919801122334\",\"id\":\"wamid.J1\","
                "\"timestamp\":\"1781242500\",\"type\":\"location\","
                "\"context\":{\"frequently_forwarded\":true},"
                "\"group_id\":\"G1\",\"referral\":{\"source_type\":\"ad\"},"
                "\"location\":{\"latitude\":\"25.5\",\"longitude\":-85,"
                "\"name\":\"Thana\",\"address\":\"Patna\"}}],"
                "\"statuses\":[{\"id\":\"wamid.J2\",\"status\":\"failed\","
                "\"timestamp\":1781242600,\"recipient_id\":\"919801122334\","
                "\"biz_opaque_callback_data\":\"relay:7\","
                "\"errors\":[{\"code\":131047}]}],"
                "\"errors\":[{\"code\":131000},{\"code\":\"131026\"}]");
    assert_int_equal(h.n_events, 4);
    assert_int_equal(gw_webhook_problems(&h), 0);
    /* frequently_forwarded implies forwarded; string and integer coordinates */
    expect_json(&h.events[0],
                "{\"kind\":\"message\",\"phone_number_id\":\"108765432109876\","
                "\"id\":\"wamid.J1\",\"from\":\"919801122334\",\"user_id\":\"IN.4091\","
                "\"name\":\"Ajay\",\"timestamp\":1781242500,\"type\":\"location\","
                "\"voice\":false,\"text\":null,\"reply_id\":null,\"context_id\":null,"
                "\"forwarded\":true,\"frequently_forwarded\":true,\"latitude\":25.5,"
                "\"longitude\":-85.0,\"media_id\":null,\"errors\":[],"
                "\"username\":\"ajay_y\",\"group_id\":\"G1\",\"location_name\":\"Thana\","
                "\"location_address\":\"Patna\",\"referral\":true}");
    expect_json(&h.events[1],
                "{\"kind\":\"status\",\"phone_number_id\":\"108765432109876\","
                "\"id\":\"wamid.J2\",\"status\":\"failed\",\"recipient\":\"919801122334\","
                "\"timestamp\":1781242600,\"errors\":[131047],\"pricing_category\":null,"
                "\"biz_opaque_callback_data\":\"relay:7\"}");
    /* one event per value-level error */
    expect_json(&h.events[2],
                "{\"kind\":\"error\",\"phone_number_id\":\"108765432109876\","
                "\"errors\":[131000]}");
    expect_json(&h.events[3],
                "{\"kind\":\"error\",\"phone_number_id\":\"108765432109876\","
                "\"errors\":[131026]}");
    assert_string_equal(gw_event_kind_name(GW_EVENT_MESSAGE), "message");
    assert_string_equal(gw_event_kind_name(GW_EVENT_STATUS), "status");
    assert_string_equal(gw_event_kind_name(GW_EVENT_ERROR), "error");
    gw_webhook_free(&h);
}

/* ---- size ---- */

static void test_big_body_10000_statuses(void **state)
{
    static const char *const names[] = {"sent", "delivered", "read", "failed"};
    struct core_buf b;
    struct gw_webhook h;
    struct core_err err;
    char *pad = repeat('x', 110);
    size_t i;

    (void)state;
    core_buf_init(&b, 0);
    assert_int_equal(core_buf_puts(&b, ENVELOPE_HEAD "\"statuses\":["), 0);
    for (i = 0; i < 10000; i++) {
        assert_int_equal(core_buf_printf(&b,
                                         "%s{\"id\":\"wamid.HBgMOTE5ODM1MDEyMzQ1FQIAERgS%08zu\","
                                         "\"status\":\"%s\",\"timestamp\":\"%zu\","
                                         "\"recipient_id\":\"9198%08zu\","
                                         "\"biz_opaque_callback_data\":\"%s\","
                                         "\"pricing\":{\"billable\":true,"
                                         "\"pricing_model\":\"PMP\",\"category\":\"utility\"}}",
                                         i == 0 ? "" : ",", i, names[i % 4],
                                         (size_t)1781240000 + i, i, pad),
                         0);
    }
    assert_int_equal(core_buf_puts(&b, "]" ENVELOPE_TAIL), 0);
    assert_true(b.len >= 3u * 1024 * 1024); /* Meta's largest POST */
    assert_true(b.len < 4u * 1024 * 1024);
    core_err_clear(&err);
    assert_int_equal(gw_webhook_parse(&h, core_buf_str(&b), b.len, &err), 0);
    assert_int_equal(h.n_events, 10000);
    assert_int_equal(gw_webhook_problems(&h), 0);
    for (i = 0; i < h.n_events; i++) {
        assert_int_equal(h.events[i].kind, GW_EVENT_STATUS);
        assert_int_equal(h.events[i].index, i);
        assert_true(h.events[i].timestamp == (int64_t)(1781240000 + i));
        assert_string_equal(h.events[i].status_name, names[i % 4]);
    }
    gw_webhook_free(&h);
    assert_null(h.events);
    assert_int_equal(h.n_events, 0);
    gw_webhook_free(&h); /* twice is harmless */
    core_buf_cleanup(&b);
    free(pad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_wa_id),
        cmocka_unit_test(test_is_bsuid),
        cmocka_unit_test(test_timestamp_seconds_and_milliseconds),
        cmocka_unit_test(test_sender_shapes),
        cmocka_unit_test(test_system_ids),
        cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_id_length_limit),
        cmocka_unit_test(test_entries_and_changes_in_order),
        cmocka_unit_test(test_ignored_fields),
        cmocka_unit_test(test_structural_problems),
        cmocka_unit_test(test_not_a_webhook),
        cmocka_unit_test(test_problems_never_quote_input),
        cmocka_unit_test(test_event_to_json),
        cmocka_unit_test(test_big_body_10000_statuses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
