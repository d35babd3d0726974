/*
 * tests/unit/test_grp_texts.c - the text catalogue: the embedded copy
 * (groups/texts_data.c) equals the .tsv files of groups/texts/; every id exists in Hindi
 * and English with the same placeholders and within WhatsApp's limits for
 * its kind; WhatsApp bold markers are balanced; every text id the C code of
 * groups/ names exists; placeholders, fallbacks, clipping and the consent
 * version behave.
 *
 * The source tree is $JANSEVA_TEST_SRC, else the current directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "groups/texts.h"
#include "tests/harness/harness.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *src(void)
{
    const char *s = getenv("JANSEVA_TEST_SRC");

    return s != NULL && s[0] != '\0' ? s : ".";
}

static void test_embedded_equals_files(void **state)
{
    size_t on_disk = 0;
    size_t i;
    char path[4096];
    DIR *d;
    struct dirent *de;

    (void)state;
    /* LANG.tsv, PART_LANG.tsv (broadcast_, tip_) and words.tsv: one catalogue */
    assert_true(grp_text_nfiles >= 3);
    for (i = 0; i < grp_text_nfiles; i++) {
        size_t len;
        char *data;

        snprintf(path, sizeof path, "%s/groups/texts/%s", src(), grp_text_files[i].name);
        data = th_read_file(path, &len);
        assert_non_null(data);
        if (len != grp_text_files[i].len || memcmp(data, grp_text_files[i].data, len) != 0)
            fail_msg("%s differs from the embedded copy: run groups/texts/embed.sh", path);
        free(data);
    }
    snprintf(path, sizeof path, "%s/groups/texts", src());
    d = opendir(path);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);

        if (n > 4 && strcmp(de->d_name + n - 4, ".tsv") == 0)
            on_disk++;
    }
    closedir(d);
    assert_int_equal(on_disk, grp_text_nfiles);
    assert_string_equal(grp_text_problems(), "");
}

static void test_same_ids_and_placeholders(void **state)
{
    size_t i;

    (void)state;
    assert_true(grp_text_count(GRP_LANG_HI) > 50);
    assert_int_equal(grp_text_count(GRP_LANG_HI), grp_text_count(GRP_LANG_EN));
    for (i = 0; i < grp_text_count(GRP_LANG_HI); i++) {
        const char *id = grp_text_id_at(GRP_LANG_HI, i);
        const char *hi = grp_text_raw(GRP_LANG_HI, id);
        const char *en = grp_text_raw(GRP_LANG_EN, id);
        unsigned mh;

        if (en == NULL)
            fail_msg("%s: in hi.tsv, missing from en.tsv", id);
        assert_string_equal(id, grp_text_id_at(GRP_LANG_EN, i));
        mh = grp_text_placeholders(hi);
        if ((mh & 1u) != 0 || (grp_text_placeholders(en) & 1u) != 0)
            fail_msg("%s: a '{' that is not a placeholder {1}..{9}", id);
        if (mh != grp_text_placeholders(en))
            fail_msg("%s: placeholders differ between hi and en", id);
        /* placeholders are numbered from 1 without gaps */
        if (mh != 0 && ((mh >> 1) & ((mh >> 1) + 1)) != 0)
            fail_msg("%s: placeholders have a gap", id);
    }
}

static void check_text(const char *id, const char *lang, const char *t)
{
    size_t limit = grp_text_limit(id);
    size_t chars = grp_text_chars(t, strlen(t));
    size_t stars = 0;
    const char *p;

    if (chars == 0 || chars > limit)
        fail_msg("%s (%s): %zu characters, limit %zu", id, lang, chars, limit);
    if (t[0] == ' ' || t[strlen(t) - 1] == ' ' || t[strlen(t) - 1] == '\n')
        fail_msg("%s (%s): leading or trailing blank", id, lang);
    for (p = t; *p != '\0'; p++) {
        stars += *p == '*';
        if (*p == '\t' || *p == '\r')
            fail_msg("%s (%s): a tab or carriage return", id, lang);
    }
    if (stars % 2 != 0)
        fail_msg("%s (%s): unbalanced * (WhatsApp bold)", id, lang);
    /* titles and labels are one line */
    if (limit < GRP_TEXT_BODY_MAX && strchr(t, '\n') != NULL)
        fail_msg("%s (%s): a title or description with a line break", id, lang);
}

static void test_limits(void **state)
{
    size_t i;
    int l;

    (void)state;
    for (l = 0; l < GRP_LANG_COUNT; l++) {
        for (i = 0; i < grp_text_count((enum grp_lang)l); i++) {
            const char *id = grp_text_id_at((enum grp_lang)l, i);

            check_text(id, grp_lang_code((enum grp_lang)l), grp_text_raw((enum grp_lang)l, id));
        }
    }
    assert_int_equal(grp_text_limit("join.yes.btn"), 20);
    assert_int_equal(grp_text_limit("menu.list"), 20);
    assert_int_equal(grp_text_limit("menu.join.row"), 24);
    assert_int_equal(grp_text_limit("menu.join.desc"), 72);
    assert_int_equal(grp_text_limit("enrol.welcome.long"), 4096);
    assert_int_equal(grp_text_limit("join.done"), 1024);
}

/* The confirmation prompt is three texts in one button message (≤ 1024):
 * it must fit with long names. */
static void test_composed_confirmation_fits(void **state)
{
    static const char name[] = "Lohiya Nagar Ward 29 (Kankarbagh East) Purvi Tola No 2";
    static const char place[] = "Kankarbagh Police Station, Patna Sadar, Patna";
    int l;

    (void)state;
    for (l = 0; l < GRP_LANG_COUNT; l++) {
        const char *args[] = {name, place};
        char *q = grp_text_fmt((enum grp_lang)l, "join.confirm", args, 2);
        size_t n = grp_text_chars(q, strlen(q)) + 2 +
                   grp_text_chars(grp_text_raw((enum grp_lang)l, "rules.body"),
                                  strlen(grp_text_raw((enum grp_lang)l, "rules.body"))) +
                   2 +
                   grp_text_chars(grp_text_raw((enum grp_lang)l, "join.consent"),
                                  strlen(grp_text_raw((enum grp_lang)l, "join.consent")));

        if (n > GRP_TEXT_BODY_MAX)
            fail_msg("join confirmation (%s) is %zu characters", grp_lang_code((enum grp_lang)l),
                     n);
        free(q);
    }
}

static void test_fmt(void **state)
{
    const char *args[] = {"हल्दी छपरा", "सदस्य K7Q2"};
    char *s;

    (void)state;
    s = grp_text_fmt(GRP_LANG_HI, "join.done", args, 2);
    assert_non_null(strstr(s, "*हल्दी छपरा*"));
    assert_non_null(strstr(s, "*सदस्य K7Q2*"));
    assert_null(strchr(s, '{'));
    assert_non_null(strchr(s, '\n')); /* \n unescaped */
    free(s);
    /* missing arguments become empty */
    s = grp_text_fmt(GRP_LANG_EN, "member.label", NULL, 0);
    assert_string_equal(s, "Member ");
    free(s);
    s = grp_text_fmt(GRP_LANG_EN, "member.label", (const char *const[]){"K7Q2"}, 1);
    assert_string_equal(s, "Member K7Q2");
    free(s);
    /* an unknown id never yields silence */
    s = grp_text_fmt(GRP_LANG_EN, "no.such.text", NULL, 0);
    assert_string_equal(s, "no.such.text");
    free(s);
    assert_null(grp_text_raw(GRP_LANG_EN, "no.such.text"));
    assert_null(grp_text_raw((enum grp_lang)7, "join.done"));
    assert_int_equal(grp_text_placeholders("{1} {3} {x"), (1u << 1) | (1u << 3) | 1u);
}

static void test_lang_codes(void **state)
{
    enum grp_lang l = GRP_LANG_HI;

    (void)state;
    assert_string_equal(grp_lang_code(GRP_LANG_HI), "hi");
    assert_string_equal(grp_lang_code(GRP_LANG_EN), "en");
    assert_int_equal(grp_lang_parse("en", &l), 0);
    assert_int_equal(l, GRP_LANG_EN);
    assert_int_equal(grp_lang_parse("EN", &l), -1);
    assert_int_equal(grp_lang_parse(NULL, &l), -1);
    assert_int_equal(l, GRP_LANG_EN);
}

static void test_clip(void **state)
{
    char a[64];
    char b[64];
    char c[64];

    (void)state;
    snprintf(a, sizeof a, "%s", "Haldi Chhapra");
    assert_int_equal(grp_text_clip(a, 24), strlen("Haldi Chhapra"));
    assert_string_equal(a, "Haldi Chhapra");
    snprintf(a, sizeof a, "%s", "abcdef");
    grp_text_clip(a, 4);
    assert_string_equal(a, "abc…");
    assert_int_equal(grp_text_chars(a, strlen(a)), 4);
    snprintf(b, sizeof b, "%s", "कंकड़बाग वार्ड 28");
    grp_text_clip(b, 8);
    assert_int_equal(grp_text_chars(b, strlen(b)), 8);
    assert_non_null(strstr(b, "…"));
    /* a cut just before a space drops the space */
    snprintf(c, sizeof c, "%s", "abc defgh");
    grp_text_clip(c, 5);
    assert_string_equal(c, "abc…");
    /* room for the ellipsis even when only two ASCII characters are cut */
    snprintf(c, sizeof c, "%s", "abcdef");
    grp_text_clip(c, 5);
    assert_string_equal(c, "abc…");
    assert_true(grp_text_chars(c, strlen(c)) <= 5);
}

static void test_one_line(void **state)
{
    char *s;

    (void)state;
    s = grp_text_one_line("  गाँव में\n\nचोरी\t हुई  \r\n", 0);
    assert_string_equal(s, "गाँव में चोरी हुई");
    free(s);
    s = grp_text_one_line("", 0);
    assert_string_equal(s, "");
    free(s);
    s = grp_text_one_line("\n \t", 5);
    assert_string_equal(s, "");
    free(s);
    /* clipped after flattening: 5 code points, the last one the ellipsis */
    s = grp_text_one_line("one\ntwo three", 5);
    assert_string_equal(s, "one\xe2\x80\xa6");
    free(s);
    s = grp_text_one_line("एक\nदो", 10);
    assert_string_equal(s, "एक दो");
    free(s);
}

static void test_consent_version(void **state)
{
    const char *v = grp_text_consent_version();
    size_t i;

    (void)state;
    assert_int_equal(strlen(v), GRP_TEXT_VERSION_LEN - 1);
    assert_int_equal(v[0], 'c');
    for (i = 1; v[i] != '\0'; i++)
        assert_non_null(strchr("0123456789abcdef", v[i]));
    assert_ptr_equal(v, grp_text_consent_version());
}

/* Every string literal "ns.rest" in the groups/ C files whose namespace is one of
 * the catalogue's must be an id of the catalogue (typos fail here, not in
 * front of a citizen). */
static void test_ids_used_in_code_exist(void **state)
{
    char path[4096];
    DIR *d;
    struct dirent *de;
    size_t checked = 0;

    (void)state;
    snprintf(path, sizeof path, "%s/groups", src());
    d = opendir(path);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        char file[4400];
        char *data;
        char *p;

        if (n < 3 || strcmp(de->d_name + n - 2, ".c") != 0 ||
            strcmp(de->d_name, "texts_data.c") == 0)
            continue;
        snprintf(file, sizeof file, "%s/%s", path, de->d_name);
        data = th_read_file(file, NULL);
        assert_non_null(data);
        for (p = strchr(data, '"'); p != NULL; p = strchr(p + 1, '"')) {
            char lit[80];
            size_t k = 0;
            const char *q = p + 1;
            char ns[80];
            char *dot;

            while (k + 1 < sizeof lit && *q != '"' && *q != '\0' &&
                   (strchr("abcdefghijklmnopqrstuvwxyz0123456789_.", *q) != NULL))
                lit[k++] = *q++;
            lit[k] = '\0';
            /* a literal ending in '.' or '_' is a prefix, not an id */
            if (*q != '"' || k == 0 || (dot = strchr(lit, '.')) == NULL || dot == lit ||
                dot[1] == '\0' || lit[k - 1] == '.' || lit[k - 1] == '_')
                continue;
            {
                /* audit action names ("tip.reveal.refuse") share the tip namespace */
                const char *bol = p;

                while (bol > data && bol[-1] != '\n')
                    bol--;
                if (memmem(bol, (size_t)(p - bol), "audit", 5) != NULL)
                    continue;
            }
            memcpy(ns, lit, (size_t)(dot - lit));
            ns[dot - lit] = '\0';
            /* is ns a namespace of the catalogue? */
            for (size_t i = 0; i < grp_text_count(GRP_LANG_HI); i++) {
                const char *id = grp_text_id_at(GRP_LANG_HI, i);

                if (strncmp(id, ns, strlen(ns)) == 0 && id[strlen(ns)] == '.') {
                    if (grp_text_raw(GRP_LANG_HI, lit) == NULL)
                        fail_msg("groups/%s names the text \"%s\", which is not in the "
                                 "catalogue",
                                 de->d_name, lit);
                    checked++;
                    break;
                }
            }
            p = (char *)(uintptr_t)q;
        }
        free(data);
    }
    closedir(d);
    printf("text ids named in groups/*.c: %zu checked\n", checked);
}

struct words_seen {
    int n;
    int deva[20];
    int latin[20];
    char last[200][80];
};

static const char *const word_kinds[] = {"stop",    "help", "lang",  "join",   "move",
                                         "menu",    "tip",  "alert", "report", "hindi",
                                         "english", "yes",  "no",    "pin",    "filler", "done"};

static void word_seen(void *ud, const char *kind, const char *word)
{
    struct words_seen *w = ud;
    size_t k;
    char key[80];

    for (k = 0; k < sizeof word_kinds / sizeof word_kinds[0]; k++) {
        if (strcmp(kind, word_kinds[k]) == 0)
            break;
    }
    if (k == sizeof word_kinds / sizeof word_kinds[0])
        fail_msg("words.tsv: unknown kind \"%s\"", kind);
    if (word[0] == '\0')
        fail_msg("words.tsv: empty word for %s", kind);
    if ((unsigned char)word[0] >= 0x80)
        w->deva[k]++;
    else
        w->latin[k]++;
    snprintf(key, sizeof key, "%s\t%s", kind, word);
    for (int i = 0; i < w->n && i < 200; i++) {
        if (strcmp(w->last[i], key) == 0)
            fail_msg("words.tsv: %s \"%s\" twice", kind, word);
    }
    if (w->n < 200)
        snprintf(w->last[w->n], sizeof w->last[w->n], "%s", key);
    w->n++;
}

/* The word lists: known kinds, no repeats, and every keyword in both
 * scripts (a citizen types रोकें or STOP). */
static void test_words(void **state)
{
    struct words_seen *w = calloc(1, sizeof *w);

    (void)state;
    grp_text_words(word_seen, w);
    assert_true(w->n > 100);
    for (size_t k = 0; k < sizeof word_kinds / sizeof word_kinds[0]; k++) {
        if (w->deva[k] + w->latin[k] == 0)
            fail_msg("words.tsv: no word for %s", word_kinds[k]);
        if (k < 11 && (w->deva[k] == 0 || w->latin[k] == 0))
            fail_msg("words.tsv: keyword %s is not in both scripts", word_kinds[k]);
    }
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedded_equals_files),
        cmocka_unit_test(test_same_ids_and_placeholders),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_composed_confirmation_fits),
        cmocka_unit_test(test_fmt),
        cmocka_unit_test(test_lang_codes),
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_one_line),
        cmocka_unit_test(test_consent_version),
        cmocka_unit_test(test_ids_used_in_code_exist),
        cmocka_unit_test(test_words),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
