/*
 * tests/unit/test_mod_phrase.c - moderation/phrase.c: operator phrase
 * lists matched as sequences of normalised tokens. The Marie/Meedan class
 * of bugs (a Devanagari keyword matching inside a longer word because a
 * matra counts as a boundary, or never matching at all) must not exist;
 * nukta, chandrabindu and width differences must not matter; list files
 * are parsed strictly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "moderation/norm.h"
#include "moderation/phrase.h"
#include "moderation/token.h"

#include <stdio.h>
#include <string.h>

static struct mod_norm nm;
static struct mod_toks tk;

/* Number of hits of `p` in `text`; the first hit is copied to *first. */
static size_t match(const struct mod_phrases *p, const char *text, struct mod_phrase_hit *first)
{
    struct mod_phrase_hit hits[MOD_PHRASE_MAX_HITS];
    size_t n;

    mod_norm_run(&nm, text, strlen(text));
    mod_tokenise(&tk, nm.key, nm.len);
    mod_toks_skeletons(&tk);
    n = mod_phrases_match(p, &tk, hits, MOD_PHRASE_MAX_HITS);
    if (n > 0 && first != NULL)
        *first = hits[0];
    return n;
}

static struct mod_phrases *one(enum mod_phrase_list list, const char *tag, const char *phrase)
{
    struct mod_phrases *p = mod_phrases_new();
    struct core_err err;

    assert_int_equal(mod_phrases_add(p, list, tag, phrase, &err), 0);
    return p;
}

static void test_whole_words_only(void **state)
{
    struct mod_phrases *p = one(MOD_LIST_BLOCK, "hostile", "राम");

    (void)state;
    assert_int_equal(match(p, "रामा आया", NULL),
        0); /* the matra is part of the word */
    assert_int_equal(match(p, "रामू भैया", NULL), 0);
    assert_int_equal(match(p, "राम आया", NULL), 1);
    assert_int_equal(match(p, "जय श्री राम!", NULL), 1);
    mod_phrases_free(p);
    p = one(MOD_LIST_REPORT, "x", "है");
    assert_int_equal(match(p, "चोरी हुई है", NULL),
        1); /* a one-letter word matches */
    assert_int_equal(match(p, "हैं", NULL), 0);
    mod_phrases_free(p);
    p = one(MOD_LIST_URGENT, "accident", "accident");
    assert_int_equal(match(p, "accidental", NULL), 0);
    assert_int_equal(match(p, "ACCIDENT near bridge", NULL), 1);
    mod_phrases_free(p);
}

static void test_sequences_and_hit_fields(void **state)
{
    struct mod_phrases *p = one(MOD_LIST_URGENT, "firing", "गोली चली");
    struct mod_phrase_hit h;

    (void)state;
    assert_int_equal(match(p, "बाजार में गोली चली है", &h), 1);
    assert_int_equal(h.list, MOD_LIST_URGENT);
    assert_string_equal(h.tag, "firing");
    assert_string_equal(h.phrase, "गोली चली");
    assert_int_equal(h.at, 2);
    assert_int_equal(match(p, "गोली, चली!", NULL), 1); /* punctuation is no token */
    assert_int_equal(match(p, "चली गोली", NULL), 0);  /* order matters */
    assert_int_equal(match(p, "गोली नहीं चली", NULL), 0);
    mod_phrases_free(p);
}

static void test_normalisation_insensitive(void **state)
{
    struct mod_phrases *p = mod_phrases_new();
    struct core_err err;

    (void)state;
    assert_int_equal(mod_phrases_add(p, MOD_LIST_REPORT, "land", "ज़मीन", &err), 0);
    assert_int_equal(mod_phrases_add(p, MOD_LIST_BLOCK, "commercial", "FREE offer", &err), 0);
    assert_int_equal(mod_phrases_add(p, MOD_LIST_HOLD, "greeting", "हँसी", &err), 0);
    assert_int_equal(match(p, "जमीन पर कब्जा", NULL), 1);    /* nukta */
    assert_int_equal(match(p, "ＦＲＥＥ ＯＦＦＥＲ", NULL), 1); /* width and case */
    assert_int_equal(match(p, "F\u200bR\u200bEE offer", NULL), 1); /* zero-width */
    assert_int_equal(match(p, "F R E E offer", NULL), 1);     /* spaced letters */
    assert_int_equal(match(p, "हंसी मजाक", NULL), 1);          /* chandrabindu */
    mod_phrases_free(p);
}

static void test_prefix_and_cross_script(void **state)
{
    struct mod_phrases *p = mod_phrases_new();
    struct core_err err;
    struct mod_phrase_hit h;

    (void)state;
    assert_int_equal(mod_phrases_add(p, MOD_LIST_URGENT, "firing", "गोली*", &err), 0);
    assert_int_equal(mod_phrases_add(p, MOD_LIST_URGENT, "fire", "~aag lagi", &err), 0);
    assert_int_equal(match(p, "गोलीबारी हुई", &h), 1);
    assert_string_equal(h.tag, "firing");
    assert_int_equal(match(p, "घर में आग लगी", &h), 1); /* Hinglish phrase,
        Devanagari post */
    assert_string_equal(h.tag, "fire");
    assert_int_equal(match(p, "aag lagi hai", NULL), 1);
    assert_int_equal(match(p, "राम आया", NULL), 0);
    mod_phrases_free(p);
}

static void test_list_files(void **state)
{
    static const char good[] = "# comment\n\nblock\tcommercial\tloan chahiye\r\n"
                               "urgent\tmurder\tहत्या\nallow\tlegit\tबिहार "
                                   "पुलिस एडवाइजरी\n";
    static const char bad_list[] = "block\tcommercial\tloan\nsometimes\tx\ty\n";
    static const char bad_cols[] = "block\tcommercial\tloan\nhold\tonly-two-columns\n";
    static const char bad_phrase[] = "block\tcommercial\tloan\nhold\trumour\t!!!\n";
    struct mod_phrases *p = mod_phrases_new();
    struct core_err err;

    (void)state;
    assert_int_equal(mod_phrases_add_text(p, "good.tsv", good, strlen(good), &err), 0);
    assert_int_equal(mod_phrases_count(p), 3);
    assert_int_equal(match(p, "Loan chahiye? call", NULL), 1);
    /* a bad line: -1, the file and line named, nothing of that text added */
    assert_int_equal(mod_phrases_add_text(p, "x.tsv", bad_list, strlen(bad_list), &err), -1);
    assert_int_equal(err.code, 65);
    assert_non_null(strstr(err.msg, "x.tsv:2"));
    assert_int_equal(mod_phrases_count(p), 3);
    assert_int_equal(match(p, "loan", NULL), 0); /* the first line of x.tsv is gone too */
    assert_int_equal(mod_phrases_add_text(p, "y.tsv", bad_cols, strlen(bad_cols), &err), -1);
    assert_non_null(strstr(err.msg, "y.tsv:2"));
    assert_int_equal(mod_phrases_add_text(p, "z.tsv", bad_phrase, strlen(bad_phrase), &err),
                     -1);
    assert_non_null(strstr(err.msg, "z.tsv:2"));
    assert_int_equal(mod_phrases_count(p), 3);
    assert_int_equal(match(p, "Loan chahiye? call", NULL), 1); /* older phrases intact */
    assert_int_equal(match(p, "हत्या हुई", NULL), 1);
    mod_phrases_free(p);
}

static void test_many_phrases_and_hits(void **state)
{
    struct mod_phrases *p = mod_phrases_new();
    struct core_err err;
    char phrase[32];
    int i;

    (void)state;
    for (i = 0; i < 5000; i++) {
        snprintf(phrase, sizeof phrase, "word%d next", i);
        assert_int_equal(mod_phrases_add(p, MOD_LIST_HOLD, "rumour", phrase, &err), 0);
    }
    assert_int_equal(match(p, "x word4999 next y word17 next word17 next", NULL), 2);
    assert_int_equal(match(p, "word4999", NULL), 0);
    mod_phrases_free(p);
}

static int setup(void **state)
{
    (void)state;
    mod_norm_init(&nm);
    mod_toks_init(&tk);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mod_norm_cleanup(&nm);
    mod_toks_cleanup(&tk);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_words_only),
        cmocka_unit_test(test_sequences_and_hit_fields),
        cmocka_unit_test(test_normalisation_insensitive),
        cmocka_unit_test(test_prefix_and_cross_script),
        cmocka_unit_test(test_list_files),
        cmocka_unit_test(test_many_phrases_and_hits),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
