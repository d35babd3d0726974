/*
 * tests/unit/test_mod_classifier.c - moderation/bayes.c, model.c and
 * train.c: the multi-class naive Bayes learns, learns incrementally and
 * unlearns exactly; thresholds are calibrated within their bounds; the
 * model file round-trips and the loader rejects damaged or inconsistent
 * files with a message saying why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "moderation/bayes.h"
#include "moderation/engine.h"
#include "moderation/model.h"
#include "moderation/prep.h"
#include "moderation/train.h"
#include "tests/harness/harness.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
    enum mod_label label;
    const char *text;
} corpus[] = {
    {MOD_LEGIT,
        "गाँव में कल रात चोरी हुई, थाना को "
            "खबर दें"},
    {MOD_LEGIT,
        "बिजली तीन दिन से नहीं है, "
            "ट्रांसफार्मर जल गया"},
    {MOD_LEGIT, "मेरी बाइक चोरी हो गई बाजार से"},
    {MOD_LEGIT, "hand pump kharab hai, pani nahi hai"},
    {MOD_LEGIT, "my phone was stolen at the bus stand"},
    {MOD_LEGIT,
        "सड़क पर बड़ा गड्ढा है, रोज लोग "
            "गिरते हैं"},
    {MOD_GREETING, "सुप्रभात, आपका दिन शुभ हो"},
    {MOD_GREETING,
        "छठ पूजा की हार्दिक शुभकामनाएं"},
    {MOD_GREETING, "good morning friends have a nice day"},
    {MOD_GREETING,
        "जन्मदिन की हार्दिक शुभकामनाएं "
            "भाई"},
    {MOD_GREETING, "happy diwali to all"},
    {MOD_GREETING,
        "दीपावली की हार्दिक शुभकामनाएं"},
    {MOD_COMMERCIAL,
        "घर बैठे लोन पाएं, अभी कॉल करें"},
    {MOD_COMMERCIAL, "personal loan in 10 minutes call now"},
    {MOD_COMMERCIAL,
        "सस्ते प्लॉट बिक्री, बुकिंग चालू, "
            "कॉल करें"},
    {MOD_COMMERCIAL, "online game khelo paise jeeto bonus"},
    {MOD_COMMERCIAL, "loan chahiye to call karo"},
    {MOD_COMMERCIAL, "sale 50% off on all clothes call now"},
};

static struct mod_prep prep;

static size_t feats(const struct mod_model *m, const char *text)
{
    struct mod_post p;

    memset(&p, 0, sizeof p);
    p.text = text;
    p.len = strlen(text);
    mod_prep_run(&prep, &p, &m->fopts, 0);
    return prep.feats.n;
}

static enum mod_label best(const struct mod_model *m, const char *text, double logp[6])
{
    unsigned c;
    unsigned b = 0;

    feats(m, text);
    mod_bayes_classify(&m->nb, prep.feats.v, prep.feats.n, logp);
    for (c = 1; c < MOD_NLABELS; c++) {
        if (logp[c] > logp[b])
            b = c;
    }
    return (enum mod_label)b;
}

static struct mod_model *small_model(void)
{
    struct mod_trainer *t = mod_trainer_new(NULL);
    struct mod_model *m;
    size_t i;

    for (i = 0; i < sizeof corpus / sizeof corpus[0]; i++)
        assert_int_equal(mod_trainer_add(t, corpus[i].label, corpus[i].text,
                                         strlen(corpus[i].text)),
                         1);
    /* an exact duplicate after normalisation is learned once */
    assert_int_equal(mod_trainer_add(t, MOD_LEGIT,
        "गांव में कल रात चोरी हुई, थाना को "
            "खबर दें!!!",
                                     strlen("गांव में कल रात चोरी "
                                         "हुई, थाना को खबर दें!!!")),
                     0);
    assert_int_equal(mod_trainer_duplicates(t), 1);
    m = mod_trainer_build(t, NULL, NULL, 3, 0.003, 0.0005, NULL, NULL);
    mod_trainer_free(t);
    return m;
}

static void test_learns_three_classes(void **state)
{
    struct mod_model *m = small_model();
    double lp[6];
    double sum = 0;
    unsigned c;

    (void)state;
    assert_int_equal(m->nb.docs[MOD_LEGIT], 6);
    assert_int_equal(m->nb.docs[MOD_POLITICAL], 0);
    assert_int_equal(best(m,
        "कल रात मेरी बाइक चोरी हो गई", lp), MOD_LEGIT);
    assert_int_equal(best(m,
        "होली की हार्दिक शुभकामनाएं", lp),
            MOD_GREETING);
    assert_int_equal(best(m, "instant loan, call now", lp), MOD_COMMERCIAL);
    for (c = 0; c < MOD_NLABELS; c++)
        sum += exp(lp[c]);
    assert_true(fabs(sum - 1.0) < 1e-9);
    assert_true(lp[MOD_POLITICAL] == -INFINITY); /* never trained: probability 0 */
    assert_true(lp[MOD_RUMOUR] == -INFINITY);
    assert_true(m->relay_max >= 0);
    assert_true(m->drop_min >= m->relay_max + 2);
    mod_model_free(m);
}

static void test_incremental_learning_and_unlearning(void **state)
{
    static const char post[] = "लकी ड्रा में इनाम जीतिए, "
        "आज ही रजिस्टर करें";
    struct mod_model *m = small_model();
    uint64_t docs0[6];
    uint64_t total0[6];
    uint32_t *f;
    uint32_t n0[6];
    size_t nf;
    size_t used0 = m->nb.used;
    double lp[6];
    int i;

    (void)state;
    memcpy(docs0, m->nb.docs, sizeof docs0);
    memcpy(total0, m->nb.total, sizeof total0);
    nf = feats(m, post);
    f = malloc(nf * sizeof f[0]);
    memcpy(f, prep.feats.v, nf * sizeof f[0]);
    /* a moderator labels it commercial three times (three such posts) */
    for (i = 0; i < 3; i++)
        mod_bayes_learn(&m->nb, f, nf, MOD_COMMERCIAL, 1);
    assert_int_equal(best(m, post, lp), MOD_COMMERCIAL);
    assert_int_equal(best(m, "लकी ड्रा इनाम जीतिए", lp),
        MOD_COMMERCIAL);
    assert_true(mod_bayes_counts(&m->nb, f[0], n0));
    assert_int_equal(n0[MOD_COMMERCIAL] >= 3, 1);
    /* and takes it back: every count is exactly as before */
    for (i = 0; i < 3; i++)
        mod_bayes_learn(&m->nb, f, nf, MOD_COMMERCIAL, -1);
    assert_memory_equal(docs0, m->nb.docs, sizeof docs0);
    assert_memory_equal(total0, m->nb.total, sizeof total0);
    assert_int_equal(m->nb.used, used0 + (m->nb.used - used0)); /* slots may stay */
    /* unlearning more than was learned never goes below zero */
    mod_bayes_learn(&m->nb, f, nf, MOD_POLITICAL, -1);
    assert_int_equal(m->nb.docs[MOD_POLITICAL], 0);
    free(f);
    mod_model_free(m);
}

/* ---- model file ---- */

static void test_model_file_roundtrip(void **state)
{
    struct mod_model *m = small_model();
    struct mod_model *m2;
    struct core_err err;
    char *dir = th_tmpdir("mod-model");
    char path[600];
    double a[6];
    double b[6];
    unsigned c;
    struct stat st;

    (void)state;
    mod_fpstore_add(m->marks, &prep.fp, MOD_MARK_BAD, MOD_RUMOUR);
    snprintf(m->feedback_id, sizeof m->feedback_id, "1700000000000-5");
    snprintf(path, sizeof path, "%s/m.model", dir);
    assert_int_equal(mod_model_save(m, path, &err), 0);
    m2 = mod_model_load(path, &err);
    assert_non_null(m2);
    assert_int_equal(m2->nb.used, m->nb.used);
    assert_memory_equal(m2->nb.docs, m->nb.docs, sizeof m->nb.docs);
    assert_true(m2->relay_max == m->relay_max && m2->drop_min == m->drop_min);
    assert_string_equal(m2->feedback_id, "1700000000000-5");
    assert_int_equal(m2->fopts.score_norm, m->fopts.score_norm);
    assert_int_equal(mod_fpstore_count(m2->marks), 1);
    best(m, "बिजली नहीं है और चोरी हुई", a);
    best(m2, "बिजली नहीं है और चोरी हुई", b);
    for (c = 0; c < MOD_NLABELS; c++)
        assert_true(a[c] == b[c] || (isinf(a[c]) && isinf(b[c])));
    /* an unwritable place: -1 and nothing left behind */
    snprintf(path, sizeof path, "%s/no/such/dir/m.model", dir);
    assert_int_equal(mod_model_save(m, path, &err), -1);
    assert_int_equal(err.code, 74);
    assert_int_not_equal(stat(path, &st), 0);
    mod_model_free(m2);
    mod_model_free(m);
    th_rmrf(dir);
    free(dir);
}

/* Recompute the trailing BLAKE2b after editing a serialised model. */
static void reseal(unsigned char *buf, size_t len)
{
    crypto_generichash(buf + len - 32, 32, buf, len - 32, NULL, 0);
}

static void expect_bad(const unsigned char *buf, size_t len, unsigned flags, const char *why)
{
    struct core_err err;
    struct mod_model *m;

    core_err_clear(&err);
    m = mod_model_load_mem(buf, len, flags, &err);
    assert_null(m);
    assert_int_equal(err.code, 65);
    if (strstr(err.msg, why) == NULL)
        fail_msg("expected '%s' in '%s'", why, err.msg);
}

static void test_model_loader_rejects_bad_files(void **state)
{
    struct mod_model *m = small_model();
    unsigned char *buf;
    unsigned char *cp;
    size_t len;
    size_t totals = 8 + 4 + 4 + 8 + 4 + 8 * 4 + 8 + 8 * 6; /* offset of totals[legit] */

    (void)state;
    mod_model_serialise(m, &buf, &len);
    cp = malloc(len);
    /* intact */
    {
        struct core_err err;
        struct mod_model *ok = mod_model_load_mem(buf, len, 0, &err);

        assert_non_null(ok);
        mod_model_free(ok);
    }
    expect_bad(buf, 10, 0, "not a janseva model");
    expect_bad((const unsigned char *)"hello world, not a model at all, not even close", 48, 0,
               "not a janseva model");
    memcpy(cp, buf, len);
    cp[len / 2] ^= 0x40; /* one flipped bit anywhere */
    expect_bad(cp, len, 0, "checksum");
    expect_bad(buf, len - 7, 0, "checksum"); /* truncated */
    memcpy(cp, buf, len);
    cp[8] = 2; /* version 2 */
    reseal(cp, len);
    expect_bad(cp, len, 0, "unsupported version 2");
    memcpy(cp, buf, len);
    cp[totals] ^= 1; /* totals[legit] changed: the counts no longer add up */
    expect_bad(cp, len, MOD_MODEL_NO_CHECKSUM, "counts");
    memcpy(cp, buf, len);
    cp[16] = 99; /* osb window 99 */
    expect_bad(cp, len, MOD_MODEL_NO_CHECKSUM, "feature options");
    /* trailing garbage before the checksum */
    {
        unsigned char *big = malloc(len + 5);

        memcpy(big, buf, len - 32);
        memset(big + len - 32, 0, 5);
        memcpy(big + len - 27, buf + len - 32, 32);
        reseal(big, len + 5);
        expect_bad(big, len + 5, 0, "unexpected bytes");
        free(big);
    }
    free(cp);
    free(buf);
    mod_model_free(m);
}

static void test_unwanted_log_odds(void **state)
{
    double lp[6] = {log(0.5), log(0.25), log(0.25), -INFINITY, -INFINITY, -INFINITY};
    double only_legit[6] = {0, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    double no_legit[6] = {-INFINITY, 0, -INFINITY, -INFINITY, -INFINITY, -INFINITY};

    (void)state;
    assert_true(fabs(mod_model_unwanted(lp)) < 1e-12); /* 0.5 vs 0.5 */
    assert_true(mod_model_unwanted(only_legit) == -1000);
    assert_true(mod_model_unwanted(no_legit) == 1000);
}

/* The score the thresholds apply to: u for short posts, u * sqrt(K / known)
 * for posts with more than K known features; sentinels kept. */
static void test_length_normalised_score(void **state)
{
    double lp[6] = {log(0.2), log(0.8), -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    double no_legit[6] = {-INFINITY, 0, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    struct mod_feat_opts o;
    double u = log(4.0);

    (void)state;
    mod_feat_opts_default(&o);
    assert_int_equal(o.score_norm, 32);
    assert_true(fabs(mod_model_score(&o, lp, 10) - u) < 1e-12);
    assert_true(fabs(mod_model_score(&o, lp, 32) - u) < 1e-12);
    assert_true(fabs(mod_model_score(&o, lp, 128) - u / 2) < 1e-12);
    assert_true(mod_model_score(&o, no_legit, 500) == 1000);
    o.score_norm = 0; /* models written before the option: u itself */
    assert_true(fabs(mod_model_score(&o, lp, 128) - u) < 1e-12);
    assert_int_equal(mod_feat_opts_parse("osb=3,norm=64", &o), 0);
    assert_int_equal(o.score_norm, 64);
    assert_int_equal(mod_feat_opts_parse("norm=0", &o), 0);
    assert_int_equal(o.score_norm, 0);
    assert_int_equal(mod_feat_opts_parse("norm=256", &o), -1);
    assert_int_equal(mod_feat_opts_parse("norm=", &o), -1);
}

static void test_builtin_model(void **state)
{
    struct mod_model *m = mod_builtin_model();
    unsigned c;

    (void)state;
    for (c = 0; c < MOD_NLABELS; c++)
        assert_true(m->nb.docs[c] >= 150); /* the seed corpus: 150+ per class */
    assert_true(mod_fpstore_count(m->marks) >= 10);
    assert_true(m->relay_max >= 0 && m->drop_min > m->relay_max);
    assert_true(mod_model_memory(m) > 0);
    mod_model_free(m);
}

static int setup(void **state)
{
    (void)state;
    mod_prep_init(&prep);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mod_prep_cleanup(&prep);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_three_classes),
        cmocka_unit_test(test_incremental_learning_and_unlearning),
        cmocka_unit_test(test_model_file_roundtrip),
        cmocka_unit_test(test_model_loader_rejects_bad_files),
        cmocka_unit_test(test_unwanted_log_odds),
        cmocka_unit_test(test_length_normalised_score),
        cmocka_unit_test(test_builtin_model),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, setup, teardown);
}
