/*
 * tests/unit/test_tip_texts.c - the tip line's texts: the embedded copy
 * equals groups/texts/tip_*.tsv, every id exists in Hindi and English with
 * the same placeholders, texts fit WhatsApp's limits (4,096 characters; the
 * template parameter 1,024) and are valid UTF-8 without control characters,
 * formatting substitutes placeholders, and the intro says honestly what is
 * and is not protected in both languages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "groups/tiptext.h"
#include "tests/harness/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Code points of valid UTF-8, or -1. */
static long utf8_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;

    while (*p != 0) {
        int k = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
                          : (*p & 0xF8) == 0xF0 ? 3 : -1;

        if (k < 0)
            return -1;
        if (*p < 0x20 && *p != '\n')
            return -1;
        p++;
        for (int i = 0; i < k; i++, p++) {
            if ((*p & 0xC0) != 0x80)
                return -1;
        }
        n++;
    }
    return n;
}

/* Bit i set when {i+1} occurs. */
static unsigned placeholders(const char *s)
{
    unsigned m = 0;

    for (; *s != '\0'; s++) {
        if (s[0] == '{' && s[1] >= '1' && s[1] <= '9' && s[2] == '}')
            m |= 1u << (s[1] - '1');
    }
    return m;
}

static void test_both_languages(void **state)
{
    size_t n = grp_tiptext_count("hi");

    (void)state;
    assert_true(n >= 20);
    assert_int_equal(grp_tiptext_count("en"), n);
    for (size_t i = 0; i < n; i++) {
        const char *id = grp_tiptext_id_at("hi", i);
        const char *hi = grp_tiptext_get("hi", id);
        const char *en = grp_tiptext_get("en", id);
        long chars;

        assert_non_null(id);
        assert_true(strncmp(id, "tip.", 4) == 0);
        if (en == NULL)
            fail_msg("%s has no English text", id);
        if (placeholders(hi) != placeholders(en))
            fail_msg("%s: placeholders differ between hi and en", id);
        for (int l = 0; l < 2; l++) {
            const char *t = l == 0 ? hi : en;

            chars = utf8_chars(t);
            if (chars <= 0 || chars > 3800) /* room for a 200-character argument */
                fail_msg("%s (%s): %ld characters or bad UTF-8", id, l ? "en" : "hi", chars);
            assert_null(strchr(t, '\t'));
            assert_null(strstr(t, "\\n"));
        }
        /* each id once */
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(grp_tiptext_id_at("hi", j), id);
    }
    /* the template parameter of a reply outside the window: <= 1024 */
    for (int l = 0; l < 2; l++) {
        struct core_buf b;
        const char *args[] = {"T-4KQ9-27"};

        core_buf_init(&b, 0);
        assert_int_equal(grp_tiptext_format(l ? "en" : "hi", "tip.reply_notice", args, 1, &b),
                         0);
        assert_true(utf8_chars(core_buf_str(&b)) <= 1024);
        assert_null(strchr(core_buf_str(&b), '\n')); /* template parameters: no newlines */
        core_buf_cleanup(&b);
    }
}

static void test_format(void **state)
{
    struct core_buf b;
    const char *args[] = {"T-4KQ9-27", "Please come to the thana."};

    (void)state;
    core_buf_init(&b, 0);
    assert_int_equal(grp_tiptext_format("en", "tip.reply", args, 2, &b), 0);
    assert_string_equal(core_buf_str(&b), "Police reply about your tip T-4KQ9-27:\n"
                                          "Please come to the thana.\n\n"
                                          "Answer here to send more information.");
    core_buf_reset(&b);
    assert_int_equal(grp_tiptext_format("en", "tip.reply", args, 1, &b), 0);
    assert_null(strstr(core_buf_str(&b), "{2}")); /* a missing argument is empty */
    core_buf_reset(&b);
    assert_int_equal(grp_tiptext_format("en", "tip.nope", args, 2, &b), -1);
    assert_int_equal(grp_tiptext_format("xx", "tip.reply", args, 2, &b), 0); /* Hindi */
    assert_non_null(strstr(core_buf_str(&b), "पुलिस का जवाब"));
    core_buf_cleanup(&b);
    assert_null(grp_tiptext_get("en", NULL));
}

/* The intro must not promise what janseva cannot keep. */
static void test_intro_is_honest(void **state)
{
    const char *en = grp_tiptext_get("en", "tip.intro");
    const char *hi = grp_tiptext_get("hi", "tip.intro");

    (void)state;
    assert_non_null(strstr(en, "WhatsApp (Meta) always knows your number"));
    assert_non_null(strstr(en, "two senior officers"));
    assert_non_null(strstr(en, "NOT protected"));
    assert_non_null(strstr(hi, "Meta"));
    assert_non_null(strstr(hi, "दो वरिष्ठ अधिकारी"));
    assert_non_null(strstr(hi, "सुरक्षित नहीं"));
    assert_non_null(strstr(grp_tiptext_get("en", "tip.unavailable"), "112"));
    assert_non_null(strstr(grp_tiptext_get("hi", "tip.unavailable"), "112"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_languages),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_intro_is_honest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
