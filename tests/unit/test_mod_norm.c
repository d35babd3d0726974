/*
 * tests/unit/test_mod_norm.c - moderation/norm.c, token.c and translit.c:
 * every Devanagari and obfuscation trap of the moderation brief (राम/रामा,
 * है, क्ष with ZWJ, ज़/ज, हँ/हं,
     शुभकामनाएं/शुभकामनाएँ, fullwidth and
 * mathematical letters, zero-width characters inside words, spaced
 * letters), tokens (URL, phone, UPI, emoji), cross-script skeletons, and
 * that the fast Devanagari path gives exactly what the general utf8proc
 * path gives, on the seed corpus and (when present) the shared Hindi data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "moderation/norm.h"
#include "moderation/seed.h"
#include "moderation/token.h"
#include "moderation/translit.h"
#include "tests/harness/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct mod_norm nm;

static const char *key(const char *s)
{
    mod_norm_run(&nm, s, strlen(s));
    return nm.key;
}

/* Both texts normalise to the same key. */
static void same(const char *a, const char *b)
{
    char *ka = strdup(key(a));

    assert_string_equal(ka, key(b));
    free(ka);
}

static void test_nfkc_casefold(void **state)
{
    (void)state;
    assert_string_equal(key("ＦＲＥＥ"), "free");          /* fullwidth */
    assert_string_equal(key("𝐅𝐑𝐄𝐄"), "free");              /* mathematical bold */
    assert_string_equal(key("𝓯𝓻𝓮𝓮"), "free");              /* mathematical script */
    assert_string_equal(key("Ⓕⓡⓔⓔ"), "free");              /* circled */
    assert_string_equal(key("① ﬁ"), "1 fi");
    assert_string_equal(key("LOAN Offer"), "loan offer");
    assert_int_equal(nm.flags, 0);
}

static void test_invisible_inside_words(void **state)
{
    (void)state;
    assert_string_equal(key("F\u200bR\u200bEE"), "free"); /* zero-width space */
    assert_true(nm.flags & MOD_NORM_INVISIBLE);
    assert_int_equal(nm.n_invisible, 2);
    assert_string_equal(key("lo\u00adan"), "loan"); /* soft hyphen */
    assert_true(nm.flags & MOD_NORM_INVISIBLE);
    assert_string_equal(key("fr\u200dee"), "free"); /* ZWJ between Latin letters */
    assert_true(nm.flags & MOD_NORM_INVISIBLE);
    /* क्‍ष: a ZWJ inside Devanagari is orthography, not obfuscation */
    assert_string_equal(key("क्\u200dष"), "क्ष");
    assert_int_equal(nm.flags & MOD_NORM_INVISIBLE, 0);
    same("क्\u200cष", "क्ष"); /* ZWNJ */
    /* emoji ZWJ sequences and variation selectors are not flagged */
    key("👨\u200d👩\u200d👧 ❤\ufe0f");
    assert_int_equal(nm.flags & MOD_NORM_INVISIBLE, 0);
    assert_int_equal(nm.n_emoji, 4);
}

static void test_nukta_and_nasals(void **state)
{
    (void)state;
    same("ज़मीन", "जमीन");                 /* precomposed U+095B */
    same("ज\u093cमीन", "जमीन");            /* decomposed: base + nukta */
    same("क़ानून", "कानून");
    same("फ़ोन", "फोन");
    same("पढ़ाई", "पढाई");
    same("\u0929", "न");                     /* ऩ: NFC keeps it composed */
    same("हँसी", "हंसी");                    /* chandrabindu = anusvara */
    same("शुभकामनाएँ", "शुभकामनाएं");
    same("हिन्दी",
        "हिंदी");                  /* nasal + virama before a stop */
    same("सम्बन्ध", "संबंध");
    assert_string_equal(key("तुम्हारा"),
        "तुम्हारा"); /* not before a stop */
    assert_string_equal(key("कन्या"), "कन्या");
    same("डॉक्टर", "डाक्टर");                  /* candra o */
    assert_string_equal(key("फोन ९८७६५"), "फोन 98765");
}

static void test_marks_are_kept(void **state)
{
    (void)state;
    /* never STRIPMARK: every matra and the anusvara survive */
    assert_string_equal(key("शुभकामनाएं"), "शुभकामनाएं");
    assert_string_equal(key("है"), "है");
    assert_string_equal(key("राम रामा"), "राम रामा");
    assert_string_equal(key("पुलिस थाना में शिकायत"),
        "पुलिस थाना में शिकायत");
}

static void test_repeats(void **state)
{
    (void)state;
    assert_string_equal(key("freeeeee!!!!!"), "free!!");
    assert_string_equal(key("WWW.Goooogle.com wwww"), "www.goooogle.com ww"); /* URLs kept */
    assert_string_equal(key("बधाईईईई"), "बधाईई");
    assert_string_equal(key("🙏🙏🙏🙏"), "🙏🙏");
    assert_int_equal(nm.n_emoji, 4); /* counted before the collapse */
    assert_string_equal(key("9999999999 ₹100000"), "9999999999 ₹100000"); /* digits stay */
}

static void test_spaced_letters(void **state)
{
    (void)state;
    assert_string_equal(key("F R E E offer"), "free offer");
    assert_true(nm.flags & MOD_NORM_SPACED);
    assert_string_equal(key("ब धा ई हो"), "बधाई हो"); /* हो is a word,
        kept apart */
    assert_true(nm.flags & MOD_NORM_SPACED);
    assert_string_equal(key("u r a star"), "u r a star"); /* SMS words */
    assert_int_equal(nm.flags & MOD_NORM_SPACED, 0);
    assert_string_equal(key("राम की माँ को है"),
        "राम की मां को है");
    assert_int_equal(nm.flags & MOD_NORM_SPACED, 0);
    assert_string_equal(key("l o a n d e d"), "loanded");
    assert_string_equal(key("L O A N"), "loan");
    assert_string_equal(key("f f f"), "ff"); /* joined, then collapsed: a fixed point */
}

static void test_spaces_scripts_bad_input(void **state)
{
    char big[MOD_NORM_MAX_BYTES + 100];

    (void)state;
    assert_string_equal(key("  a\t\tb\r\n\u00a0c\u2003 "), "a b c");
    assert_string_equal(key("p\u0430yp\u0430l"), "paypal"); /* Cyrillic а in a Latin word */
    assert_true(nm.flags & MOD_NORM_MIXED_SCRIPT);
    key("police पुलिस");
    assert_int_equal(nm.flags & MOD_NORM_MIXED_SCRIPT, 0); /* two words, one script each */
    assert_string_equal(key("a\xff" "b\xc3"), "a\xef\xbf\xbd" "b\xef\xbf\xbd");
    assert_true(nm.flags & MOD_NORM_BAD_UTF8);
    mod_norm_run(&nm, NULL, 0);
    assert_string_equal(nm.key, "");
    memset(big, 'a', sizeof big);
    mod_norm_run(&nm, big, sizeof big);
    assert_true(nm.flags & MOD_NORM_TRUNCATED);
    assert_true(nm.len <= MOD_NORM_MAX_BYTES);
    assert_int_equal(strlen(key(" \t ")), 0);
}

static void test_key_is_a_fixed_point(void **state)
{
    static const char *const cases[] = {
        "b b b b", "F R E E", "ज़मीन हँसी", "aaaa   bbbb", "ब धा ई",
            "p\u0430yp\u0430l",
        "हिन्दी", "F\u200bR\u200bEE", "𝐅𝐑𝐄𝐄 ①",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *k1 = strdup(key(cases[i]));

        assert_string_equal(key(k1), k1);
        free(k1);
    }
}

/* ---- the fast path must equal the general path ---- */

static size_t compare_paths(const char *text, size_t len, struct mod_norm *slow)
{
    mod_norm_run(&nm, text, len);
    mod_norm_run(slow, text, len);
    if (strcmp(nm.key, slow->key) != 0 || nm.flags != slow->flags ||
        nm.n_invisible != slow->n_invisible || nm.n_emoji != slow->n_emoji ||
        nm.n_graphemes != slow->n_graphemes || nm.n_latin != slow->n_latin ||
        nm.n_deva != slow->n_deva) {
        fprintf(stderr, "paths differ on a %zu-byte text: '%s' vs '%s'\n", len, nm.key,
                slow->key);
        return 1;
    }
    return 0;
}

static void test_fast_path_equals_general_path(void **state)
{
    static const char *const cases[] = {
        "ज़मीन क़ानून ऩ ऱ ऴ हँसी डॉक्टर "
            "ऑफिस ऍ ९८७",
        "गोली चली 🙏🏽 ❤\ufe0f क्\u200dष क्\u200cष",
        "\u00a0NBSP ‘quotes’ “more” – — ₹500",
        "हिन्दी सम्बन्ध तुम्हारा",
        /* Latin-1 (the UCI SMS corpus has £, ü, Ü, C1 controls and …) */
        "Ünited £100 café ÀÉÎÕÜÞ ×÷ ¡¿ «» ©® soft\u00adhyphen ß ª ² ³ µ ¼ ¨ ´ ¸ ¯ ÿ",
        "win \xc2\x92" "free\xc2\x93 \xc2\x85 prize… now…… é\u0301 e\u0301 Å",
    };
    struct mod_norm slow;
    size_t bad = 0;
    size_t lines = 0;
    size_t i;
    const char *data;
    char path[4096];
    FILE *f;

    (void)state;
    mod_norm_init(&slow);
    slow.no_fast_path = 1;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        bad += compare_paths(cases[i], strlen(cases[i]), &slow);
    for (i = 0; i < mod_seed_nfiles; i++) {
        const char *s = mod_seed_files[i].data;

        while (*s != '\0') {
            size_t n = strcspn(s, "\n");

            bad += compare_paths(s, n, &slow);
            lines++;
            s += n + (s[n] == '\n');
        }
    }
    data = th_data_dir();
    if (data == NULL) {
        fprintf(stderr, "SKIP: shared data not found ($JANSEVA_TEST_DATA unset): fast path "
                        "checked on the seed corpus only\n");
    } else {
        /* the Hindi SMS corpus (Devanagari) and UCI SMS (Latin-1 symbols,
         * C1 controls and the like: the fast path's Latin-1 cases) */
        static const char *const files[] = {"text/hindi-sms-translated/hindi_sms_data.csv",
                                            "text/uci-sms/SMSSpamCollection"};

        for (i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(path, sizeof path, "%s/%s", data, files[i]);
            f = fopen(path, "r");
            if (f == NULL) {
                fprintf(stderr, "SKIP: %s missing\n", path);
            } else {
                char *line = NULL;
                size_t cap = 0;
                ssize_t n;

                while ((n = getline(&line, &cap, f)) > 0) {
                    bad += compare_paths(line, (size_t)n, &slow);
                    lines++;
                }
                free(line);
                fclose(f);
            }
        }
    }
    mod_norm_cleanup(&slow);
    assert_true(lines > 900);
    assert_int_equal(bad, 0);
}

/*
 * The ASCII byte path (no code point array) against the general path, on
 * random ASCII texts made of what it handles itself: case, blanks and
 * controls, repeats (digits, URLs), and spaced letters (left to the
 * general code).
 */
static void test_ascii_bytes_equal_general_path(void **state)
{
    static const char *const parts[] = {
        " ", "  ", "\t", "\x01", "\x7f", "a", "B", "z", "aaa", "AAAA", "!!!", "...", "0000",
        "free", "WIN", "www.aaa.com", "http://xxx.in/ooo", "x://", "hi:/", ":", "/", "f r e e",
        " u r ", "F R E E", "-", "e", "\"", "\\", "mmmmm", "lol", "9999 11", "WWW.BBB.IN",
        "Http://AAA.in/OOO", "wWw.", "W",
        /* the inert symbols the byte path copies, alone, repeated, glued */
        "\xC2\xA3", "\xC2\xA3\xC2\xA3\xC2\xA3", "\xC2\xA5", "\xE2\x80\x93", "\xE2\x80\x94",
        "\xE2\x80\x98", "\xE2\x80\x99\xE2\x80\x99\xE2\x80\x99", "\xE2\x80\x9C",
        "\xE2\x80\x9D", "\xE2\x80\xA2", "\xE2\x82\xAC",
        "\xE2\x82\xB9\xE2\x82\xB9\xE2\x82\xB9\xE2\x82\xB9",
        "\xC2\xA3" "500", "a\xE2\x80\x99s",
        /* and others it leaves to the general code */
        "\xC3\xBC", "\xC3\x9C", "\xE2\x80\xA6", "\xC2\xA0", "\xE2\x80\x8B", "\xE2\x82",
    };
    struct mod_norm slow;
    char buf[256];
    uint64_t r = 0x2545F4914F6CDD1DULL;
    size_t bad = 0;
    size_t i;

    (void)state;
    mod_norm_init(&slow);
    slow.no_fast_path = 1;
    for (i = 0; i < 60000; i++) {
        size_t len = 0;
        size_t nparts;

        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        nparts = (size_t)(r % 12);
        while (nparts-- > 0) {
            const char *p;
            size_t n;

            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            p = parts[r % (sizeof parts / sizeof parts[0])];
            n = strlen(p);
            if (len + n >= sizeof buf)
                break;
            memcpy(buf + len, p, n);
            len += n;
        }
        bad += compare_paths(buf, len, &slow);
    }
    mod_norm_cleanup(&slow);
    assert_int_equal(bad, 0);
}

/* ---- tokens ---- */

static struct mod_toks tk;

static void toks(const char *s)
{
    mod_norm_run(&nm, s, strlen(s));
    mod_tokenise(&tk, nm.key, nm.len);
    mod_toks_skeletons(&tk);
}

/* Token i rendered as in reasons ("URL:bit.ly", "PHONE", words as such). */
static const char *tok(size_t i)
{
    static char buf[256];

    assert_true(i < tk.n);
    mod_tok_render(&tk, i, buf, sizeof buf);
    return buf;
}

static void test_devanagari_word_boundaries(void **state)
{
    (void)state;
    toks("राम रामा आया, है ना?");
    assert_int_equal(tk.n, 5);
    assert_string_equal(tok(0), "राम");
    assert_string_equal(tok(1), "रामा"); /* the matra belongs to the word */
    assert_string_equal(tok(3), "है");
    toks("क्षमा शुभकामनाएं।धन्यवाद");
    assert_int_equal(tk.n, 3); /* danda separates; virama and matras do not */
    assert_string_equal(tok(1), "शुभकामनाएं");
    assert_int_equal(tk.v[1].deva, 1);
}

static void test_special_tokens(void **state)
{
    (void)state;
    toks("Visit https://Bit.ly/x?y=1 or www.example.com/a and shop.xyz now");
    assert_string_equal(tok(1), "URL:bit.ly");
    assert_string_equal(tok(3), "URL:example.com");
    assert_string_equal(tok(5), "URL:shop.xyz");
    assert_int_equal(tk.count[MOD_TOK_URL], 3);
    toks("call +91 98765 43210 or 98765-43210 or 9876543210 or 0612-2219999");
    assert_int_equal(tk.count[MOD_TOK_PHONE], 4);
    toks("years 2023 2024 2025, code 12345, rs.500");
    assert_int_equal(tk.count[MOD_TOK_PHONE], 0);
    assert_int_equal(tk.count[MOD_TOK_URL], 0);
    toks("pay to ramesh.k@okaxis or 9876543210@paytm, mail me@example.com");
    assert_string_equal(tok(2), "UPI:okaxis");
    assert_string_equal(tok(4), "UPI:paytm");
    assert_int_equal(tk.count[MOD_TOK_EMAIL], 1);
    toks("सुप्रभात 🙏🌹 ₹500");
    assert_string_equal(tok(1), "EMOJI:🙏");
    assert_string_equal(tok(2), "EMOJI:🌹");
    assert_int_equal(tk.v[3].type, MOD_TOK_CURRENCY);
    assert_int_equal(tk.v[4].type, MOD_TOK_NUM);
    mod_toks_add_meta(&tk, "FWD");
    assert_string_equal(tok(tk.n - 1), "FWD");
}

/* ---- skeletons ---- */

static const char *skel(const char *w)
{
    static char out[MOD_SKEL_MAX];
    const char *k = key(w);

    mod_skeleton(k, strlen(k), out);
    return out;
}

static void test_cross_script_skeleton(void **state)
{
    static const char *const pairs[][2] = {
        {"शिकायत", "shikayat"}, {"शुभकामनाएं", "shubhkamnayein"},
            {"पुलिस", "police"},
        {"थाना", "thana"},       {"नहीं", "nahi"},                  {"नहीं",
            "nhi"},
        {"बच्चा", "bachcha"},    {"किडनी", "kidney"},
            {"गोली", "goli"},
        {"सुप्रभात", "suprabhat"}, {"हत्या", "hatya"},
            {"है", "hai"},
        {"एक्सीडेंट", "accident"}, {"तुम्हारा", "tumhara"},
            {"ज़मीन", "zameen"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char a[MOD_SKEL_MAX];

        snprintf(a, sizeof a, "%s", skel(pairs[i][0]));
        assert_true(a[0] != '\0');
        if (strcmp(a, skel(pairs[i][1])) != 0)
            fail_msg("skeleton of %s (%s) != skeleton of %s (%s)", pairs[i][0], a,
                     pairs[i][1], skel(pairs[i][1]));
    }
    assert_string_equal(skel("शिकायत"), "skt");
    /* lossy by design (राम and रामा share "rm"), but consonants count */
    {
        char c1[MOD_SKEL_MAX];

        snprintf(c1, sizeof c1, "%s", skel("चोरी"));
        assert_string_not_equal(c1, skel("मोरी"));
    }
    assert_string_equal(skel("123"), "");
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
        cmocka_unit_test(test_nfkc_casefold),
        cmocka_unit_test(test_ascii_bytes_equal_general_path),
        cmocka_unit_test(test_invisible_inside_words),
        cmocka_unit_test(test_nukta_and_nasals),
        cmocka_unit_test(test_marks_are_kept),
        cmocka_unit_test(test_repeats),
        cmocka_unit_test(test_spaced_letters),
        cmocka_unit_test(test_spaces_scripts_bad_input),
        cmocka_unit_test(test_key_is_a_fixed_point),
        cmocka_unit_test(test_fast_path_equals_general_path),
        cmocka_unit_test(test_devanagari_word_boundaries),
        cmocka_unit_test(test_special_tokens),
        cmocka_unit_test(test_cross_script_skeleton),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
