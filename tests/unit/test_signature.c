/*
 * tests/unit/test_signature.c - X-Hub-Signature-256: the published HMAC-SHA256
 * vector, header shape checks, raw-byte sensitivity (escaped Devanagari must
 * be verified as sent, never re-encoded), verify-token comparison.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/signature.h"

#include <sodium.h>
#include <string.h>

static void test_known_vector(void **state)
{
    /* RFC-style example: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog") */
    const char *msg = "The quick brown fox jumps over the lazy dog";
    const char *want =
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";
    char got[GW_SIG_HEADER_LEN + 1];

    (void)state;
    gw_sig_compute("key", 3, msg, strlen(msg), got);
    assert_string_equal(got, want);
    assert_int_equal(gw_sig_verify("key", 3, want, msg, strlen(msg)), GW_SIG_OK);
}

static void test_secret_of_any_length(void **state)
{
    /* Meta App Secrets are 32 hex chars, but the key length is not fixed. */
    const char *body = "{\"object\":\"whatsapp_business_account\"}";
    const char *want =
        "sha256=9f2bba46bfd63c13349308508efe72f9c337439788154501a2c03ee5159f8667";

    (void)state;
    assert_int_equal(gw_sig_verify("It's a secret", 13, want, body, strlen(body)), GW_SIG_OK);
}

static void test_header_shapes(void **state)
{
    const char *body = "x";
    char good[GW_SIG_HEADER_LEN + 1];
    char upper[GW_SIG_HEADER_LEN + 1];
    char bad[GW_SIG_HEADER_LEN + 2];
    size_t i;

    (void)state;
    gw_sig_compute("s", 1, body, 1, good);
    assert_int_equal(gw_sig_verify("s", 1, NULL, body, 1), GW_SIG_MISSING);
    assert_int_equal(gw_sig_verify("s", 1, "", body, 1), GW_SIG_MISSING);
    assert_int_equal(gw_sig_verify("s", 1, "sha256=abc", body, 1), GW_SIG_MALFORMED);
    assert_int_equal(gw_sig_verify("s", 1, good + 7, body, 1), GW_SIG_MALFORMED); /* no prefix */
    memcpy(bad, good, sizeof good);
    memcpy(bad, "sha512=", 7);
    assert_int_equal(gw_sig_verify("s", 1, bad, body, 1), GW_SIG_MALFORMED);
    memcpy(bad, good, sizeof good);
    bad[20] = 'g'; /* not hex */
    assert_int_equal(gw_sig_verify("s", 1, bad, body, 1), GW_SIG_MALFORMED);
    memcpy(bad, good, sizeof good);
    bad[GW_SIG_HEADER_LEN] = '0'; /* 72 characters */
    bad[GW_SIG_HEADER_LEN + 1] = '\0';
    assert_int_equal(gw_sig_verify("s", 1, bad, body, 1), GW_SIG_MALFORMED);
    memcpy(bad, good, sizeof good);
    bad[GW_SIG_HEADER_LEN - 1] = bad[GW_SIG_HEADER_LEN - 1] == '0' ? '1' : '0';
    assert_int_equal(gw_sig_verify("s", 1, bad, body, 1), GW_SIG_MISMATCH);
    /* hex case does not change the MAC */
    memcpy(upper, good, sizeof good);
    for (i = 7; i < GW_SIG_HEADER_LEN; i++)
        if (upper[i] >= 'a' && upper[i] <= 'f')
            upper[i] = (char)(upper[i] - 'a' + 'A');
    assert_int_equal(gw_sig_verify("s", 1, upper, body, 1), GW_SIG_OK);
    assert_int_equal(gw_sig_verify("other", 5, good, body, 1), GW_SIG_MISMATCH);
}

static void test_raw_bytes_not_reencoded(void **state)
{
    /* Meta signs the escaped form; the same text as raw UTF-8 is other bytes. */
    const char *escaped = "{\"text\":\"\\u0917\\u093e\\u0901\\u0935\"}";
    const char *utf8 = "{\"text\":\"\xe0\xa4\x97\xe0\xa4\xbe\xe0\xa4\x81\xe0\xa4\xb5\"}";
    char sig[GW_SIG_HEADER_LEN + 1];

    (void)state;
    gw_sig_compute("app", 3, escaped, strlen(escaped), sig);
    assert_int_equal(gw_sig_verify("app", 3, sig, escaped, strlen(escaped)), GW_SIG_OK);
    assert_int_equal(gw_sig_verify("app", 3, sig, utf8, strlen(utf8)), GW_SIG_MISMATCH);
    /* embedded NUL bytes are part of the body */
    gw_sig_compute("app", 3, "a\0b", 3, sig);
    assert_int_equal(gw_sig_verify("app", 3, sig, "a\0c", 3), GW_SIG_MISMATCH);
    assert_int_equal(gw_sig_verify("app", 3, sig, "a", 1), GW_SIG_MISMATCH);
}

static void test_token_equal(void **state)
{
    (void)state;
    assert_true(gw_sig_token_equal("verify-me", "verify-me"));
    assert_false(gw_sig_token_equal("verify-me", "verify-mE"));
    assert_false(gw_sig_token_equal("verify-me", "verify-me-too"));
    assert_false(gw_sig_token_equal("", "x"));
    assert_false(gw_sig_token_equal(NULL, "x"));
    assert_string_equal(gw_sig_result_name(GW_SIG_MISMATCH), "mismatch");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vector),
        cmocka_unit_test(test_secret_of_any_length),
        cmocka_unit_test(test_header_shapes),
        cmocka_unit_test(test_raw_bytes_not_reencoded),
        cmocka_unit_test(test_token_equal),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
