/*
 * tests/unit/test_csv.c - the strict CSV reader: quoting, CRLF, BOM, blank
 * lines, multi-line quoted fields, and each malformation reported with its
 * line and column while reading goes on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/csv.h"

#include <string.h>

static void test_plain_and_quoted(void **state)
{
    const char *in = "\xEF\xBB\xBF"
                     "code,name\r\n"
                     "A1,\"Haldi Chhapra, west\"\r\n"
                     "\n"
                     "B2,\"say \"\"hello\"\"\"\n"
                     "C3,\n"
                     "D4,\"पटना\"";
    struct core_csv c;
    struct core_err err;

    (void)state;
    core_csv_init(&c, in, strlen(in));
    assert_int_equal(core_csv_next(&c, &err), 1);
    assert_int_equal(c.n_fields, 2);
    assert_string_equal(c.field[0], "code"); /* BOM skipped */
    assert_int_equal(core_csv_next(&c, &err), 1);
    assert_string_equal(c.field[1], "Haldi Chhapra, west");
    assert_int_equal(c.line, 2);
    assert_int_equal(core_csv_next(&c, &err), 1); /* blank line skipped */
    assert_int_equal(c.line, 4);
    assert_string_equal(c.field[1], "say \"hello\"");
    assert_int_equal(core_csv_next(&c, &err), 1);
    assert_int_equal(c.n_fields, 2);
    assert_string_equal(c.field[1], "");
    assert_int_equal(c.field_len[1], 0);
    assert_int_equal(core_csv_next(&c, &err), 1); /* no final newline */
    assert_string_equal(c.field[1], "पटना");
    assert_int_equal(core_csv_next(&c, &err), 0);
    core_csv_cleanup(&c);
}

static void test_errors_have_line_and_column_and_reading_continues(void **state)
{
    const char *in = "a,b,c\n"
                     "1,x\"y,3\n"        /* quote inside an unquoted field: col 2 */
                     "2,\"ok\"z,3\n"     /* text after closing quote: col 2 */
                     "3,\xff\xfe,3\n"    /* not UTF-8: col 2 */
                     "4,5,\"tab\tok\"\n" /* tab is fine */
                     "5,\"bell\x07\",6\n" /* control character: col 2 */
                     "6,\"never closed\n";
    struct core_csv c;
    struct core_err err;

    (void)state;
    core_csv_init(&c, in, strlen(in));
    assert_int_equal(core_csv_next(&c, &err), 1);
    assert_int_equal(core_csv_next(&c, &err), -1);
    assert_int_equal(c.line, 2);
    assert_int_equal(c.bad_column, 2);
    assert_non_null(strstr(err.msg, "quote"));
    assert_int_equal(core_csv_next(&c, &err), -1);
    assert_int_equal(c.line, 3);
    assert_int_equal(c.bad_column, 2);
    assert_int_equal(core_csv_next(&c, &err), -1);
    assert_int_equal(c.line, 4);
    assert_non_null(strstr(err.msg, "UTF-8"));
    assert_int_equal(core_csv_next(&c, &err), 1);
    assert_int_equal(c.line, 5);
    assert_string_equal(c.field[2], "tab\tok");
    assert_int_equal(core_csv_next(&c, &err), -1);
    assert_int_equal(c.line, 6);
    assert_non_null(strstr(err.msg, "control character"));
    assert_int_equal(core_csv_next(&c, &err), -1);
    assert_int_equal(c.line, 7);
    assert_non_null(strstr(err.msg, "not closed"));
    assert_int_equal(core_csv_next(&c, &err), 0);
    core_csv_cleanup(&c);
}

static void test_quoted_line_break_counts_lines(void **state)
{
    const char *in = "a,b\n1,\"two\nlines\"\n2,z\n";
    struct core_csv c;
    struct core_err err;

    (void)state;
    core_csv_init(&c, in, strlen(in));
    assert_int_equal(core_csv_next(&c, &err), 1);
    assert_int_equal(core_csv_next(&c, &err), -1); /* a line break is a control character */
    assert_int_equal(c.line, 2);
    assert_int_equal(core_csv_next(&c, &err), 1);
    assert_int_equal(c.line, 4); /* the next record starts after both lines */
    assert_string_equal(c.field[1], "z");
    core_csv_cleanup(&c);
}

static void test_text_check(void **state)
{
    (void)state;
    assert_int_equal(core_csv_text_check("क़ ज़ ok", strlen("क़ ज़ ok")), 0);
    assert_int_equal(core_csv_text_check("\xc3\x28", 2), -1);     /* bad continuation */
    assert_int_equal(core_csv_text_check("\xed\xa0\x80", 3), -1); /* surrogate */
    assert_int_equal(core_csv_text_check("a\rb", 3), -2);
    assert_int_equal(core_csv_text_check("", 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_quoted),
        cmocka_unit_test(test_errors_have_line_and_column_and_reading_continues),
        cmocka_unit_test(test_quoted_line_break_counts_lines),
        cmocka_unit_test(test_text_check),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
