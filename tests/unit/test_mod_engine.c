/*
 * tests/unit/test_mod_engine.c - moderation/engine.c decision logic with
 * the built-in model (no Redis): greetings and ads are kept out, reports
 * are relayed and flagged for the police inbox, urgent incidents are never
 * dropped, lists and marked templates decide before the classifier, the
 * sender's history and WhatsApp's forward flags make the engine stricter,
 * every decision comes with parseable reasons, moderator feedback takes
 * effect at once, notices exist in Hindi and English, and the engine is
 * safe to call from several threads while feedback is applied.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "moderation/engine.h"
#include "tests/harness/harness.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct mod_engine *eng;

static struct mod_post post_of(const char *text)
{
    struct mod_post p;

    memset(&p, 0, sizeof p);
    p.text = text;
    p.len = text != NULL ? strlen(text) : 0;
    return p;
}

/* Classify with `e`; the caller cleans up the result. */
static void run(struct mod_engine *e, const struct mod_post *p, struct mod_result *r)
{
    struct core_err err;

    assert_int_equal(mod_classify(e, NULL, p, r, &err), 0);
}

static void check(const char *text, enum mod_verdict v, enum mod_label l, const char *rule)
{
    struct mod_post p = post_of(text);
    struct mod_result r;

    run(eng, &p, &r);
    if (r.verdict != v || r.label != l || (rule != NULL && strcmp(r.rule, rule) != 0))
        fail_msg("'%s': got %s/%s by %s, want %s/%s by %s", text, mod_verdict_name(r.verdict),
                 mod_label_name(r.label), r.rule, mod_verdict_name(v), mod_label_name(l),
                 rule != NULL ? rule : "any rule");
    mod_result_cleanup(&r);
}

static void test_classes_and_verdicts(void **state)
{
    (void)state;
    check("सुप्रभात 🙏🌹 आपका दिन शुभ हो", MOD_DROP,
        MOD_GREETING, NULL);
    check("Good morning friends, have a nice day", MOD_DROP, MOD_GREETING, NULL);
    check("छठ पूजा की हार्दिक शुभकामनाएं",
        MOD_DROP, MOD_GREETING, NULL);
    check("लोन चाहिए? सिर्फ आधार से 2 लाख, कॉल "
        "करें 9876501234", MOD_DROP, MOD_COMMERCIAL,
          NULL);
    check("वोट फॉर रमेश यादव, चुनाव चिन्ह "
        "साइकिल", MOD_DROP, MOD_POLITICAL, NULL);
    check("इन लोगों को गांव से भगाओ, ये सब "
        "गद्दार हैं", MOD_DROP, MOD_HOSTILE, NULL);
    check("नल से पानी नहीं आ रहा है 4 दिन से",
        MOD_RELAY, MOD_LEGIT, "classifier_relay");
    check("कोई बताए बिजली बिल कहाँ जमा होता "
        "है?", MOD_RELAY, MOD_LEGIT, NULL);
    check("", MOD_RELAY, MOD_LEGIT, "no_evidence");
}

static void test_reports_and_urgent(void **state)
{
    struct mod_post p = post_of("गाँव में कल रात चोरी हुई, "
        "थाना को सूचना दी गई है");
    struct mod_result r;

    (void)state;
    run(eng, &p, &r);
    assert_int_equal(r.verdict, MOD_RELAY);
    assert_true(r.is_report);
    assert_false(r.urgent);
    assert_string_equal(r.lang, "hi");
    mod_result_cleanup(&r);
    /* an urgent incident inside a block-listed chain: held, never dropped */
    p = post_of("बाजार में गोली चली है, यह मैसेज "
        "10 ग्रुप में भेजें");
    run(eng, &p, &r);
    assert_int_equal(r.verdict, MOD_HOLD);
    assert_true(r.urgent);
    assert_true(r.is_report);
    assert_string_equal(r.urgent_kind, "firing");
    assert_string_equal(r.rule, "urgent_never_dropped");
    mod_result_cleanup(&r);
    /* Hinglish and English incidents */
    p = post_of("hamare gaon me aag lag gayi hai, fire brigade bhejo");
    run(eng, &p, &r);
    assert_true(r.urgent);
    assert_string_equal(r.urgent_kind, "fire");
    assert_int_not_equal(r.verdict, MOD_DROP);
    mod_result_cleanup(&r);
    p = post_of("Road accident near the bridge, two people injured");
    run(eng, &p, &r);
    assert_true(r.urgent);
    assert_string_equal(r.urgent_kind, "accident");
    assert_string_equal(r.lang, "en");
    mod_result_cleanup(&r);
}

/* The notice language: every Hinglish word of engine.c's list, twice, makes
 * a post Hindi; once next to English, or a near miss twice, does not (the
 * words are found by their token hash, then confirmed by their text). */
static void test_lang_hinglish_words(void **state)
{
    static const char *const words[] = {
        "aur", "aap", "ap", "abhi", "apna", "apne", "bhi", "bhai", "baithe", "chahiye", "diya",
        "gaon", "gaya", "gayi", "hai", "hain", "ho", "hum", "hamare", "hamara", "ji", "jaldi",
        "ka", "ki", "ke", "ko", "kya", "kar", "karo", "kare", "karen", "kal", "kaise", "kahan",
        "log", "liye", "mein", "me", "mera", "meri", "nahi", "nhi", "par", "pe", "raha", "rahe",
        "se", "sab", "sabhi", "tum", "woh", "wo", "yeh", "ye",
    };
    static const char *const misses[] = {"kyaa", "hainn", "a", "mai", "bh", "sabh", "yes"};
    struct mod_result r;
    char text[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof words / sizeof words[0]; i++) {
        struct mod_post p;

        snprintf(text, sizeof text, "%s %s", words[i], words[i]);
        p = post_of(text);
        run(eng, &p, &r);
        assert_string_equal(r.lang, "hi");
        mod_result_cleanup(&r);
        snprintf(text, sizeof text, "%s weather report", words[i]);
        p = post_of(text);
        run(eng, &p, &r);
        assert_string_equal(r.lang, "en");
        mod_result_cleanup(&r);
    }
    for (i = 0; i < sizeof misses / sizeof misses[0]; i++) {
        struct mod_post p;

        snprintf(text, sizeof text, "%s %s", misses[i], misses[i]);
        p = post_of(text);
        run(eng, &p, &r);
        assert_string_equal(r.lang, "en");
        mod_result_cleanup(&r);
    }
}

/* The JSON writer takes the label names' lengths from a table. */
static void test_label_name_lengths(void **state)
{
    unsigned c;

    (void)state;
    for (c = 0; c < MOD_NLABELS; c++)
        assert_int_equal(mod_label_name_len((enum mod_label)c),
                         strlen(mod_label_name((enum mod_label)c)));
    assert_int_equal(mod_label_name_len((enum mod_label)MOD_NLABELS), 1);
}

static void test_templates(void **state)
{
    struct mod_post p;
    struct mod_result r;

    (void)state;
    /* a known chain with a personal line: dropped as a known rumour */
    p = post_of("भाइयों ध्यान दें, सावधान! इलाके "
        "में किडनी चोर गिरोह घूम रहा है, "
            "बच्चों को "
                "अकेले बाहर न जाने दें 🙏");
    run(eng, &p, &r);
    assert_int_equal(r.verdict, MOD_DROP);
    assert_int_equal(r.label, MOD_RUMOUR);
    assert_string_equal(r.rule, "known_bad");
    mod_result_cleanup(&r);
    /* the official advisory, even forwarded many times: relayed */
    p = post_of("बिहार पुलिस कभी भी फोन पर "
        "ओटीपी, पिन या बैंक की जानकारी नहीं "
            "मांगती। ऐसे कॉल "
                "आएं तो तुरंत 1930 पर शिकायत करें।");
    p.frequently_forwarded = true;
    run(eng, &p, &r);
    assert_int_equal(r.verdict, MOD_RELAY);
    assert_string_equal(r.rule, "known_good");
    mod_result_cleanup(&r);
}

static void test_sender_and_signals(void **state)
{
    static const char ok[] = "नल से पानी नहीं आ रहा है 4 "
        "दिन से";
    static const char link[] = "पंचायत की सूची यहाँ "
        "देखें www.example.in";
    struct mod_post p = post_of(ok);
    struct mod_result r;
    double u;

    (void)state;
    p.sender.known = true;
    p.sender.posts = 10;
    p.sender.strikes = 3;
    run(eng, &p, &r);
    assert_int_equal(r.verdict, MOD_HOLD);
    assert_string_equal(r.rule, "strikes");
    mod_result_cleanup(&r);
    p.sender.strikes = 0;
    p.sender.posts_last_hour = 25;
    run(eng, &p, &r);
    assert_string_equal(r.rule, "flood");
    mod_result_cleanup(&r);
    /* a link from a new member waits; from an established one it goes */
    p = post_of(link);
    p.sender.known = true;
    p.sender.posts = 0;
    run(eng, &p, &r);
    assert_int_equal(r.verdict, MOD_HOLD);
    assert_string_equal(r.rule, "new_member");
    mod_result_cleanup(&r);
    p.sender.posts = 50;
    run(eng, &p, &r);
    assert_int_equal(r.verdict, MOD_RELAY);
    mod_result_cleanup(&r);
    /* many posts, but joined an hour ago: still on probation */
    p.now_ms = 1700000000000;
    p.sender.joined_ms = p.now_ms - 3600 * 1000;
    run(eng, &p, &r);
    assert_string_equal(r.rule, "new_member");
    mod_result_cleanup(&r);
    p.sender.joined_ms = p.now_ms - 72 * 3600 * 1000;
    run(eng, &p, &r);
    assert_int_equal(r.verdict, MOD_RELAY);
    mod_result_cleanup(&r);
    /* forwarded: +2 log-odds; frequently forwarded: held */
    p = post_of(ok);
    run(eng, &p, &r);
    u = r.unwanted;
    mod_result_cleanup(&r);
    p.forwarded = true;
    run(eng, &p, &r);
    assert_true(r.unwanted > u + 1.99 && r.unwanted < u + 2.01);
    mod_result_cleanup(&r);
    p.frequently_forwarded = true;
    run(eng, &p, &r);
    assert_int_equal(r.verdict, MOD_HOLD);
    assert_string_equal(r.rule, "forwarded_many");
    mod_result_cleanup(&r);
    /* a forwarded image without caption waits for review */
    p = post_of(NULL);
    p.type = "image";
    p.has_media = true;
    p.forwarded = true;
    run(eng, &p, &r);
    assert_int_equal(r.verdict, MOD_HOLD);
    assert_string_equal(r.rule, "media_no_caption");
    assert_non_null(strstr(core_buf_str(&r.reasons), "MEDIA_NO_CAPTION"));
    mod_result_cleanup(&r);
    /* obfuscation is seen through: spaced, zero-width and fullwidth letters */
    check("F R E E recharge offer click karo", MOD_DROP, MOD_COMMERCIAL, NULL);
    check("ＬＯＡＮ chahiye? ghar baithe loan paaye, call 9123456780", MOD_DROP, MOD_COMMERCIAL,
          NULL);
}

static void test_reasons_json(void **state)
{
    struct mod_post p = post_of("loan chahiye to call kare 98765 43210, ghar baithe kamaye");
    struct mod_result r;
    struct core_buf b;
    json_t *o;
    json_t *reasons;
    json_t *last;
    json_error_t jerr;

    (void)state;
    run(eng, &p, &r);
    core_buf_init(&b, 0);
    assert_int_equal(mod_result_write_json(&r, &b), 0);
    o = json_loads(core_buf_str(&b), 0, &jerr);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "verdict")), "drop");
    assert_string_equal(json_string_value(json_object_get(o, "label")), "commercial");
    assert_true(json_is_false(json_object_get(o, "urgent")));
    assert_int_equal(json_object_size(json_object_get(o, "scores")), 6);
    reasons = json_object_get(o, "reasons");
    assert_true(json_array_size(reasons) >= 3);
    last = json_array_get(reasons, json_array_size(reasons) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "check")), "decision");
    assert_string_equal(json_string_value(json_object_get(o, "rule")),
                        json_string_value(json_object_get(last, "rule")));
    /* the phone number itself never appears, only the PHONE signal */
    assert_null(strstr(core_buf_str(&b), "98765"));
    assert_non_null(strstr(core_buf_str(&b), "\"PHONE\""));
    json_decref(o);
    o = mod_result_json(&r);
    assert_string_equal(json_string_value(json_object_get(o, "lang")), "hi");
    json_decref(o);
    core_buf_cleanup(&b);
    mod_result_cleanup(&r);
}

static void test_notices(void **state)
{
    unsigned l;

    (void)state;
    for (l = MOD_GREETING; l < MOD_NLABELS; l++) {
        const char *hi = mod_notice((enum mod_label)l, "hi");
        const char *en = mod_notice((enum mod_label)l, "en");

        assert_non_null(strstr(hi, "\xe0\xa4")); /* Devanagari */
        assert_null(strstr(en, "\xe0\xa4"));
        assert_true(strlen(en) > 40);
        assert_string_not_equal(hi, en);
    }
    assert_string_equal(mod_notice(MOD_RUMOUR, "xx"), mod_notice(MOD_RUMOUR, "en"));
}

static void test_feedback_takes_effect_at_once(void **state)
{
    static const char spam[] = "Jio lucky draw: aapka number jeeta hai iPhone, abhi claim karo "
                               "apna inaam turant";
    struct mod_opts o;
    struct mod_engine *e;
    struct core_err err;
    struct mod_post p = post_of(spam);
    struct mod_post copy;
    struct mod_result r;
    char buf[256];

    (void)state;
    mod_opts_default(&o);
    e = mod_engine_new(&o, &err);
    assert_non_null(e);
    /* a moderator rejects it as commercial and marks the template */
    assert_int_equal(mod_feedback(e, NULL, &p, MOD_COMMERCIAL, MOD_FB_LEARN | MOD_FB_MARK, &err),
                     0);
    snprintf(buf, sizeof buf, "bhaiyo dekho %s 🙏🙏", spam);
    copy = post_of(buf);
    run(e, &copy, &r);
    assert_int_equal(r.verdict, MOD_DROP);
    assert_int_equal(r.label, MOD_COMMERCIAL);
    assert_string_equal(r.rule, "known_bad");
    mod_result_cleanup(&r);
    /* a wrong call taken back: marked known-good, it is relayed */
    assert_int_equal(mod_feedback(e, NULL, &p, MOD_LEGIT, MOD_FB_MARK, &err), 0);
    run(e, &copy, &r);
    assert_int_equal(r.verdict, MOD_RELAY);
    assert_string_equal(r.rule, "known_good");
    mod_result_cleanup(&r);
    assert_int_equal(mod_feedback(e, NULL, &p, MOD_LEGIT, 0, &err), -1); /* no flags */
    mod_engine_free(e);
}

static void test_lists_from_a_file(void **state)
{
    struct mod_opts o;
    struct mod_engine *e;
    struct core_err err;
    char *dir = th_tmpdir("mod-lists");
    char path[600];
    struct mod_post p = post_of("जिला प्रशासन की सूचना: कल "
        "सभी स्कूल बंद रहेंगे, आगे भेजें");
    struct mod_result r;

    (void)state;
    snprintf(path, sizeof path, "%s/lists.tsv", dir);
    assert_int_equal(th_write_file(path,
        "allow\tlegit\tजिला प्रशासन की सूचना\n",
                                   strlen("allow\tlegit\tजिला प्रशासन की "
                                       "सूचना\n")),
                     0);
    mod_opts_default(&o);
    o.phrases_path = path;
    e = mod_engine_new(&o, &err);
    assert_non_null(e);
    run(e, &p, &r);
    assert_int_equal(r.verdict, MOD_RELAY);
    assert_string_equal(r.rule, "allow_list");
    mod_result_cleanup(&r);
    mod_engine_free(e);
    /* a bad list file stops the engine from starting, naming the line */
    assert_int_equal(th_write_file(path, "allow\tlegit\tok\nnonsense\n", 24), 0);
    e = mod_engine_new(&o, &err);
    assert_null(e);
    assert_int_equal(err.code, 65);
    assert_non_null(strstr(err.msg, ":2"));
    th_rmrf(dir);
    free(dir);
}

/* ---- threads ---- */

static void *classify_many(void *ud)
{
    static const char *const texts[] = {
        "सुप्रभात 🙏", "गाँव में चोरी हुई",
            "loan chahiye call karo 9876543210",
        "vote for tractor chhap", "बाजार में गोली चली",
    };
    struct mod_engine *e = ud;
    int i;

    for (i = 0; i < 400; i++) {
        struct mod_post p = post_of(texts[i % 5]);
        struct mod_result r;
        struct core_err err;

        if (mod_classify(e, NULL, &p, &r, &err) != 0)
            return (void *)1;
        if (i % 5 == 4 && !r.urgent)
            return (void *)1;
        mod_result_cleanup(&r);
    }
    return NULL;
}

static void test_threads_with_feedback(void **state)
{
    pthread_t th[4];
    struct core_err err;
    void *rv;
    int i;

    (void)state;
    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, classify_many, eng), 0);
    for (i = 0; i < 50; i++) {
        struct mod_post p = post_of("lucky draw jeeto inaam abhi claim karo");

        assert_int_equal(mod_feedback(eng, NULL, &p, MOD_COMMERCIAL, MOD_FB_LEARN, &err), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], &rv), 0);
        assert_null(rv);
    }
}

static int setup(void **state)
{
    struct core_err err;
    struct mod_opts o;

    (void)state;
    mod_opts_default(&o);
    eng = mod_engine_new(&o, &err);
    return eng == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    mod_engine_free(eng);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes_and_verdicts),
        cmocka_unit_test(test_reports_and_urgent),
        cmocka_unit_test(test_lang_hinglish_words),
        cmocka_unit_test(test_label_name_lengths),
        cmocka_unit_test(test_templates),
        cmocka_unit_test(test_sender_and_signals),
        cmocka_unit_test(test_reasons_json),
        cmocka_unit_test(test_notices),
        cmocka_unit_test(test_feedback_takes_effect_at_once),
        cmocka_unit_test(test_lists_from_a_file),
        cmocka_unit_test(test_threads_with_feedback),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
