/*
 * tests/unit/test_mod_fp.c - moderation/fp.c: near-duplicate fingerprints.
 * A chain message must be recognised with a personal line added before or
 * after it, and in its Hinglish copy; unrelated posts must not collide;
 * short posts match only exactly; the template store keeps marks, and
 * clustering keeps near-duplicates together.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "moderation/fp.h"
#include "moderation/hash.h"
#include "moderation/norm.h"
#include "moderation/token.h"

#include <stdio.h>
#include <string.h>

static const char chain[] =
    "सावधान! इलाके में किडनी चोर गिरोह "
        "घूम रहा है, "
    "बच्चों को अकेले बाहर न जाने दें, "
    "यह मैसेज 10 ग्रुप में भेजें";
static const char chain_hinglish[] =
    "savdhan! ilake mein kidney chor giroh ghoom raha hai, bachchon ko akele bahar na jane "
    "den, yah message 10 group mein bhejen";
static const char prefix[] = "भाइयों यह मेरे मौसा जी ने "
    "भेजा है, ध्यान दें: ";
static const char suffix[] = " 🙏 जय हिंद, सब लोग सतर्क "
    "रहना";
static const char unrelated[] =
    "गाँव के स्कूल में मिड डे मील नहीं बन "
        "रहा है, शिक्षक भी समय पर नहीं आते, "
    "कृपया जांच कराएं";

static struct mod_norm nm;
static struct mod_toks tk;

static struct mod_fp fp_of(const char *text)
{
    struct mod_fp f;

    mod_norm_run(&nm, text, strlen(text));
    mod_tokenise(&tk, nm.key, nm.len);
    mod_toks_skeletons(&tk);
    mod_fp_compute(&tk, &f);
    return f;
}

static struct mod_fp fp_cat(const char *a, const char *b, const char *c)
{
    char buf[2048];

    snprintf(buf, sizeof buf, "%s%s%s", a, b, c);
    return fp_of(buf);
}

static void test_identical_and_unrelated(void **state)
{
    struct mod_fp a = fp_of(chain);
    struct mod_fp b = fp_of(chain);
    struct mod_fp u = fp_of(unrelated);
    char id1[MOD_FP_ID_HEX];
    char id2[MOD_FP_ID_HEX];

    (void)state;
    assert_false(mod_fp_is_short(&a));
    assert_true(mod_fp_resemblance(&a, &b) == 1.0);
    assert_true(mod_fp_near(&a, &b, NULL));
    mod_fp_id(&a, id1);
    mod_fp_id(&b, id2);
    assert_string_equal(id1, id2);
    assert_true(mod_fp_resemblance(&a, &u) < 0.3);
    assert_false(mod_fp_near(&a, &u, NULL));
    assert_false(mod_fp_near(&u, &a, NULL));
}

static void test_personal_prefix_and_suffix(void **state)
{
    struct mod_fp known = fp_of(chain);
    struct mod_fp p1 = fp_cat(prefix, chain, "");
    struct mod_fp p2 = fp_cat("", chain, suffix);
    struct mod_fp p3 = fp_cat(prefix, chain, suffix);
    double sc;

    (void)state;
    assert_true(mod_fp_near(&known, &p1, &sc));
    assert_true(sc >= 0.75);
    assert_true(mod_fp_near(&known, &p2, NULL));
    assert_true(mod_fp_near(&known, &p3, NULL));
    /* containment, not resemblance, carries the personal line */
    assert_true(mod_fp_containment(&known, &p3) > mod_fp_resemblance(&known, &p3));
    /* but a short known text does not match everything that contains it */
    {
        struct mod_fp tiny = fp_of("किडनी चोर");

        assert_true(mod_fp_is_short(&tiny));
        assert_false(mod_fp_near(&tiny, &p1, NULL));
    }
}

static void test_devanagari_and_hinglish_copies(void **state)
{
    struct mod_fp deva = fp_of(chain);
    struct mod_fp latin = fp_of(chain_hinglish);
    double sc = 0;

    (void)state;
    assert_true(mod_fp_near(&deva, &latin, &sc) || mod_fp_near(&latin, &deva, &sc));
    assert_true(sc >= 0.75);
}

static void test_short_posts_match_exactly(void **state)
{
    struct mod_fp a = fp_of("सुप्रभात 🙏");
    struct mod_fp b = fp_of("सुप्रभात🙏🙏🙏");
    struct mod_fp c = fp_of("शुभ रात्रि");

    (void)state;
    assert_true(mod_fp_is_short(&a));
    assert_true(mod_fp_near(&a, &b, NULL)); /* emoji and repeats are not in the text */
    assert_false(mod_fp_near(&a, &c, NULL));
}

static void test_pack_roundtrip(void **state)
{
    struct mod_fp a = fp_of(chain);
    struct mod_fp b;
    unsigned char buf[MOD_FP_PACKED];

    (void)state;
    mod_fp_pack(&a, buf);
    mod_fp_unpack(buf, &b);
    assert_memory_equal(a.sig, b.sig, sizeof a.sig);
    assert_int_equal(a.n, b.n);
    assert_true(a.exact == b.exact);
}

static void test_template_store(void **state)
{
    struct mod_fpstore *s = mod_fpstore_new();
    struct mod_fp bad = fp_of(chain);
    struct mod_fp good = fp_of(unrelated);
    struct mod_fp post = fp_cat(prefix, chain, suffix);
    const struct mod_fp_entry *e;
    double sc;
    int i;

    (void)state;
    assert_null(mod_fpstore_lookup(s, &post, NULL));
    mod_fpstore_add(s, &bad, MOD_MARK_BAD, MOD_RUMOUR);
    mod_fpstore_add(s, &good, MOD_MARK_GOOD, MOD_LEGIT);
    /* many unrelated templates do not get in the way */
    for (i = 0; i < 300; i++) {
        char text[128];
        struct mod_fp f;

        snprintf(text, sizeof text, "template number %d about topic %d in village %d", i,
                 i * 7, i * 13);
        f = fp_of(text);
        mod_fpstore_add(s, &f, MOD_MARK_BAD, MOD_COMMERCIAL);
    }
    assert_int_equal(mod_fpstore_count(s), 302);
    e = mod_fpstore_lookup(s, &post, &sc);
    assert_non_null(e);
    assert_int_equal(e->mark, MOD_MARK_BAD);
    assert_int_equal(e->label, MOD_RUMOUR);
    e = mod_fpstore_lookup(s, &good, NULL);
    assert_non_null(e);
    assert_int_equal(e->mark, MOD_MARK_GOOD);
    /* re-marking the same text replaces the mark instead of adding */
    mod_fpstore_add(s, &bad, MOD_MARK_GOOD, MOD_LEGIT);
    assert_int_equal(mod_fpstore_count(s), 302);
    e = mod_fpstore_lookup(s, &post, NULL);
    assert_int_equal(e->mark, MOD_MARK_GOOD);
    mod_fpstore_free(s);
}

static void test_clustering(void **state)
{
    struct mod_fp f[5];
    uint32_t g[5];

    (void)state;
    f[0] = fp_of(chain);
    f[1] = fp_of(unrelated);
    f[2] = fp_cat(prefix, chain, "");
    f[3] = fp_of("सुप्रभात");
    f[4] = fp_of("सुप्रभात!!");
    mod_fp_cluster(f, 5, g);
    assert_int_equal(g[0], 0);
    assert_int_equal(g[2], 0);
    assert_int_equal(g[1], 1);
    assert_int_equal(g[3], 3);
    assert_int_equal(g[4], 3);
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

/* The hash of the feature ids in model files: the tail without a loop must
 * equal the byte-by-byte definition (and so stay stable across versions). */
static uint64_t hash_reference(const unsigned char *s, size_t n, uint64_t seed)
{
    uint64_t h = seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(n + 1));
    uint64_t w = 0;
    size_t i;

    for (; n >= 8; s += 8, n -= 8) {
        w = 0;
        for (i = 0; i < 8; i++)
            w |= (uint64_t)s[i] << (8 * i);
        h = mod_mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
    }
    if (n > 0) {
        w = 0;
        for (i = 0; i < n; i++)
            w |= (uint64_t)s[i] << (8 * i);
        h = mod_mix64(h ^ w ^ 0x5555555555555555ULL);
    }
    return mod_mix64(h);
}

static void test_hash_tail(void **state)
{
    unsigned char buf[40];
    size_t n;
    size_t off;

    (void)state;
    for (n = 0; n < sizeof buf; n++)
        buf[n] = (unsigned char)(n * 37 + 200);
    for (off = 0; off < 8; off++) {
        for (n = 0; off + n <= sizeof buf; n++)
            assert_true(mod_hash64(buf + off, n, 7 + off) == hash_reference(buf + off, n, 7 + off));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_tail),
        cmocka_unit_test(test_identical_and_unrelated),
        cmocka_unit_test(test_personal_prefix_and_suffix),
        cmocka_unit_test(test_devanagari_and_hinglish_copies),
        cmocka_unit_test(test_short_posts_match_exactly),
        cmocka_unit_test(test_pack_roundtrip),
        cmocka_unit_test(test_template_store),
        cmocka_unit_test(test_clustering),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
