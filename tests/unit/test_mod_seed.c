/*
 * tests/unit/test_mod_seed.c - the data compiled into janseva
 * (moderation/seed_data.c) is exactly the .tsv files of moderation/seed/
 * and moderation/rules/ (run moderation/seed/embed.sh after editing them),
 * and every file is well formed: at least 150 posts per class, valid
 * labels, marks, phrase lists with entries in every list, and a notice in
 * Hindi and English for every class.
 *
 * The source tree is $JANSEVA_TEST_SRC, else the current directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "moderation/label.h"
#include "moderation/phrase.h"
#include "moderation/seed.h"
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
    static const char *const dirs[] = {"seed", "rules"};
    size_t on_disk = 0;
    size_t i;

    (void)state;
    for (i = 0; i < mod_seed_nfiles; i++) {
        char path[4096];
        size_t len;
        char *data;

        snprintf(path, sizeof path, "%s/moderation/%s", src(), mod_seed_files[i].name);
        data = th_read_file(path, &len);
        assert_non_null(data);
        if (len != mod_seed_files[i].len || memcmp(data, mod_seed_files[i].data, len) != 0)
            fail_msg("%s differs from the embedded copy: run moderation/seed/embed.sh", path);
        free(data);
    }
    /* and nothing on disk is missing from the embedded set */
    for (i = 0; i < 2; i++) {
        char path[4096];
        DIR *d;
        struct dirent *de;

        snprintf(path, sizeof path, "%s/moderation/%s", src(), dirs[i]);
        d = opendir(path);
        assert_non_null(d);
        while ((de = readdir(d)) != NULL) {
            size_t n = strlen(de->d_name);
            char name[300];

            if (n < 5 || strcmp(de->d_name + n - 4, ".tsv") != 0)
                continue;
            snprintf(name, sizeof name, "%s/%s", dirs[i], de->d_name);
            if (mod_seed_find(name) == NULL)
                fail_msg("moderation/%s is not embedded: run moderation/seed/embed.sh", name);
            on_disk++;
        }
        closedir(d);
    }
    assert_int_equal(on_disk, mod_seed_nfiles);
}

/* Call fn(line, len) for every non-comment, non-blank line of a file. */
static size_t each_line(const struct mod_seed_file *f, void (*fn)(const char *, size_t, void *),
                        void *ud)
{
    const char *s = f->data;
    size_t n = 0;

    while (*s != '\0') {
        size_t len = strcspn(s, "\n");

        if (len > 0 && s[0] != '#') {
            fn(s, len, ud);
            n++;
        }
        s += len + (s[len] == '\n');
    }
    return n;
}

static void count_seed_line(const char *s, size_t len, void *ud)
{
    size_t *per_class = ud;
    const char *tab = memchr(s, '\t', len);
    enum mod_label l;

    assert_non_null(tab);
    assert_int_equal(mod_label_parse(s, (unsigned long)(tab - s), &l), 0);
    assert_true((size_t)(tab - s) + 10 < len); /* a real post, not a stub */
    assert_null(memchr(tab + 1, '\t', len - (size_t)(tab + 1 - s)));
    per_class[l]++;
}

static void test_seed_corpus(void **state)
{
    size_t per_class[MOD_NLABELS] = {0};
    size_t i;

    (void)state;
    for (i = 0; i < mod_seed_nfiles; i++) {
        const struct mod_seed_file *f = &mod_seed_files[i];

        if (strncmp(f->name, "seed/", 5) != 0 || strcmp(f->name, "seed/marks.tsv") == 0)
            continue;
        each_line(f, count_seed_line, per_class);
    }
    for (i = 0; i < MOD_NLABELS; i++) {
        if (per_class[i] < 150)
            fail_msg("only %zu %s posts in the seed corpus", per_class[i],
                     mod_label_name((enum mod_label)i));
    }
}

static void check_mark_line(const char *s, size_t len, void *ud)
{
    const char *t1 = memchr(s, '\t', len);
    const char *t2 = t1 != NULL ? memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - s)) : NULL;
    enum mod_label l;

    (void)ud;
    assert_non_null(t2);
    assert_true((t1 - s == 3 && memcmp(s, "bad", 3) == 0) ||
                (t1 - s == 4 && memcmp(s, "good", 4) == 0));
    assert_int_equal(mod_label_parse(t1 + 1, (unsigned long)(t2 - t1 - 1), &l), 0);
}

static void check_notice_line(const char *s, size_t len, void *ud)
{
    unsigned *seen = ud;
    const char *t1 = memchr(s, '\t', len);
    const char *t2 = t1 != NULL ? memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - s)) : NULL;
    enum mod_label l;

    assert_non_null(t2);
    assert_int_equal(mod_label_parse(s, (unsigned long)(t1 - s), &l), 0);
    assert_int_equal(t2 - t1, 3);
    assert_true(memcmp(t1 + 1, "hi", 2) == 0 || memcmp(t1 + 1, "en", 2) == 0);
    seen[l] |= memcmp(t1 + 1, "hi", 2) == 0 ? 1u : 2u;
}

static void test_rules(void **state)
{
    const struct mod_seed_file *marks = mod_seed_find("seed/marks.tsv");
    const struct mod_seed_file *phrases = mod_seed_find("rules/phrases.tsv");
    const struct mod_seed_file *notices = mod_seed_find("rules/notices.tsv");
    struct mod_phrases *p = mod_phrases_new();
    struct core_err err;
    unsigned seen[MOD_NLABELS] = {0};
    unsigned l;

    (void)state;
    assert_non_null(marks);
    assert_non_null(phrases);
    assert_non_null(notices);
    assert_true(each_line(marks, check_mark_line, NULL) >= 10);
    assert_int_equal(mod_phrases_add_text(p, "rules/phrases.tsv", phrases->data, phrases->len,
                                          &err),
                     0);
    assert_true(mod_phrases_count(p) > 100);
    mod_phrases_free(p);
    each_line(notices, check_notice_line, seen);
    for (l = 0; l < MOD_NLABELS; l++)
        assert_int_equal(seen[l], 3); /* both languages */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedded_equals_files),
        cmocka_unit_test(test_seed_corpus),
        cmocka_unit_test(test_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
