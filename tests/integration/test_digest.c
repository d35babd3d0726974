/*
 * tests/integration/test_digest.c - the daily digest through the real stack
 * (redis-server, the Cloud API simulator playing citizens, `janseva serve`
 * with every role, the `janseva` CLI): three citizens enrol in Khagaul over
 * WhatsApp, one in English; `janseva group set KHG-01 relay=digest`; the
 * windows of two of them are closed (last message two days ago). A legit
 * post reaches nobody outside the window at post time; `janseva digest run
 * --day DAY` sends each of them ONE janseva_group_digest template in their
 * language with the group, the count and the post (never the author's
 * number or name), the author nothing; a second run sends nothing more.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/util.h"
#include "groups/digest.h"
#include "groups/member.h"
#include "tests/harness/stack.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WA_A "919811180001" /* Hindi, the author */
#define WA_B "919811180002" /* Hindi, window closed */
#define WA_C "919811180003" /* English, window closed */
#define PROFILE "Sunita Devi Kushwaha"

static const char *src(void)
{
    const char *s = getenv("JANSEVA_TEST_SRC");

    return s != NULL && s[0] != '\0' ? s : ".";
}

/* ================ citizens (helpers in tests/harness/stack.h) ================ */

static json_t *say(struct th_stack *s, const char *wa, const char *text)
{
    json_t *j = th_stack_say(s, wa, PROFILE, text);

    assert_non_null(j);
    return j;
}

static void wait_for(struct th_stack *s, const char *wa, const char *needle, size_t n)
{
    assert_int_equal(th_stack_wait_for(s, wa, needle, n, 15000), 0);
}

static void wait_quiet(struct th_stack *s)
{
    assert_int_equal(th_stack_wait_quiet(s, 15000), 0);
}

static void member_of(struct th_stack *s, const char *wa, struct grp_member *m)
{
    assert_int_equal(th_stack_member_load(s, wa, m), 0);
}

/* Welcome, then the button of the confirmation: a member of Khagaul. */
static void enrol(struct th_stack *s, const char *wa, int english)
{
    assert_int_equal(th_stack_enrol(s, wa, PROFILE, "KHG-01", english), 0);
}

/* No member's number or profile name in what others received. */
static void no_personal_data(struct th_stack *s, const char *wa)
{
    static const char *const bad[] = {WA_A, WA_B, WA_C, "9811180", PROFILE};
    json_t *a = th_stack_sent_to(s, wa);
    size_t i;
    json_t *e;

    json_array_foreach(a, i, e)
    {
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            if (strstr(json_string_value(e), bad[k]) != NULL)
                fail_msg("personal data in a message to %s: %s", wa, json_string_value(e));
        }
    }
    json_decref(a);
}

/* ======================= the world ======================= */

static int setup(void **state)
{
    static const char *const kinds[] = {"state", "district", "thana", "beat", "locality"};
    struct th_stack *s = calloc(1, sizeof *s);
    char path[4096];
    char *templates;
    size_t len = 0;

    if (th_stack_start(s, "digest", NULL, NULL) != 0)
        return -1;
    for (int i = 0; i < 5; i++) {
        const char *args[] = {"import", "--kind", kinds[i], path, NULL};

        snprintf(path, sizeof path, "%s/data/sample-hierarchy/%s.csv", src(), kinds[i]);
        if (th_stack_cli(s, args, NULL) != 0)
            return -1;
    }
    snprintf(path, sizeof path, "%s/data/sandbox/templates.json", src());
    templates = th_read_file(path, &len);
    if (templates == NULL ||
        th_cloudsim_req(&s->sim, "POST", "/_sim/templates", templates, NULL) != 200)
        return -1;
    free(templates);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct th_stack *s = *state;
    int rc = th_stack_stop(s);

    free(s);
    return rc == 0 ? 0 : -1;
}

/* Close the 24-hour window of `wa`: its last message two days ago. */
static void close_window(struct th_stack *s, const char *wa)
{
    char mid[CRY_MID_LEN];
    char li[24];

    assert_int_equal(th_stack_member(s, wa, mid), 0);

    snprintf(li, sizeof li, "%lld", (long long)(core_now_ms() / 1000 - 2 * 86400));
    th_member_set(&s->redis, mid, "li", li, NULL);
}

/* ======================= the conversation ======================= */

static void test_digest(void **state)
{
    struct th_stack *s = *state;
    struct grp_member ma;
    char lbl_hi[GRP_LABEL_MAX];
    char lbl_en[GRP_LABEL_MAX];
    char day[GRP_DIGEST_DAY_LEN];
    char *out = NULL;
    char *raw;

    enrol(s, WA_A, 0);
    enrol(s, WA_B, 0);
    enrol(s, WA_C, 1);
    member_of(s, WA_A, &ma);
    grp_member_label(&ma, GRP_LANG_HI, lbl_hi, sizeof lbl_hi);
    grp_member_label(&ma, GRP_LANG_EN, lbl_en, sizeof lbl_en);
    {
        const char *args[] = {"group", "set", "KHG-01", "relay=digest", NULL};

        assert_int_equal(th_stack_cli(s, args, &out), 0);
        assert_non_null(strstr(out, "relay = digest"));
        free(out);
    }
    close_window(s, WA_B);
    close_window(s, WA_C);

    /* a legit post: relayed, but not to members outside the window */
    json_decref(say(s, WA_A, "गाँव में कल रात चोरी हुई है, थाना को सूचना दें"));
    wait_for(s, WA_A, "समूह में भेज दिया गया", 1);
    wait_quiet(s);
    assert_int_equal(th_stack_count_with(s, WA_B, "चोरी हुई"), 0);
    assert_int_equal(th_stack_count_with(s, WA_C, "चोरी हुई"), 0);
    assert_int_equal(th_stack_count_with(s, WA_B, "janseva_group_post"), 0);
    {
        const char *args[] = {"group", "show", "KHG-01", NULL};

        assert_int_equal(th_stack_cli(s, args, &out), 0);
        assert_non_null(strstr(out, "relay = digest"));
        assert_non_null(strstr(out, "1 posts, 2 members outside the window"));
        free(out);
    }

    /* the digest, now */
    grp_digest_day(core_now_ms() / 1000, 20, 330, day);
    {
        const char *args[] = {"digest", "run", "--day", day, NULL};

        assert_int_equal(th_stack_cli(s, args, &out), 0);
        assert_non_null(strstr(out, "1 group sent"));
        assert_non_null(strstr(out, "2 queued"));
        free(out);
    }
    wait_for(s, WA_B, "janseva_group_digest", 1);
    wait_for(s, WA_C, "janseva_group_digest", 1);
    wait_quiet(s);
    raw = th_stack_last_with(s, WA_B, "janseva_group_digest");
    assert_non_null(strstr(raw, "\"code\":\"hi\""));
    assert_non_null(strstr(raw, "खगौल"));
    assert_non_null(strstr(raw, "चोरी हुई"));
    assert_non_null(strstr(raw, lbl_hi));
    assert_null(strstr(raw, WA_A));
    assert_null(strstr(raw, PROFILE));
    free(raw);
    raw = th_stack_last_with(s, WA_C, "janseva_group_digest");
    assert_non_null(strstr(raw, "\"code\":\"en\""));
    assert_non_null(strstr(raw, "Khagaul"));
    assert_non_null(strstr(raw, "चोरी हुई"));
    assert_non_null(strstr(raw, lbl_en));
    free(raw);
    assert_int_equal(th_stack_count_with(s, WA_A, "janseva_group_digest"), 0);

    /* again: nothing more */
    {
        const char *args[] = {"digest", "run", "--day", day, "KHG-01", NULL};

        assert_int_equal(th_stack_cli(s, args, &out), 0);
        assert_non_null(strstr(out, "0 groups sent (1 already)"));
        free(out);
    }
    th_sleep_ms(500);
    wait_quiet(s);
    assert_int_equal(th_stack_count_with(s, WA_B, "janseva_group_digest"), 1);
    assert_int_equal(th_stack_count_with(s, WA_C, "janseva_group_digest"), 1);
    no_personal_data(s, WA_B);
    no_personal_data(s, WA_C);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
