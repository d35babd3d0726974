/*
 * tests/unit/test_reveal.c - crypto/reveal: libgfshare with libsodium's
 * randomness (the hook must be set, also for a recombine-only process),
 * 2-of-3 and 3-of-5 splits rebuilt by every subset, too few or tampered
 * shares refused by the public-key check, duplicate and zero share numbers
 * refused, the key directory files (0600, refuse to overwrite), the share
 * file format and every parse error, and identities sealed to the reveal key
 * that open only with the recombined key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/util.h"
#include "crypto/reveal.h"
#include "tests/harness/harness.h"

#include <libgfshare.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ======================= Shamir ======================= */

static void test_hook_required(void **state)
{
    pid_t pid;
    int st = 0;

    (void)state;
    assert_true(cry_reveal_ready());
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct core_err err;
        unsigned char secret[32] = {1};
        unsigned char nrs[3] = {1, 2, 3};
        unsigned char shares[96];

        gfshare_fill_rand = NULL; /* a process that never called cry_reveal_init */
        _exit(cry_reveal_split(secret, 32, 2, 3, nrs, shares, &err) == -1 &&
                      err.code == CORE_EX_SOFTWARE && !cry_reveal_ready()
                  ? 0
                  : 1);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* A process that only recombines still needs the hook: gfshare_ctx_free
 * scrubs through it (with NULL it crashes). */
static void test_recombine_only_process(void **state)
{
    unsigned char secret[32];
    unsigned char nrs[3] = {7, 99, 200};
    unsigned char shares[96];
    struct core_err err;
    pid_t pid;
    int st = 0;

    (void)state;
    randombytes_buf(secret, sizeof secret);
    assert_int_equal(cry_reveal_split(secret, 32, 2, 3, nrs, shares, &err), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsigned char out[32];
        const unsigned char *two[2] = {shares, shares + 64};
        unsigned char n2[2] = {7, 200};

        gfshare_fill_rand = NULL;
        if (sodium_init() < 0)
            _exit(2);
        cry_reveal_init();
        if (cry_reveal_recombine(n2, two, 2, 32, out, &err) != 0)
            _exit(3);
        _exit(memcmp(out, secret, 32) == 0 ? 0 : 4);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_split_2_of_3(void **state)
{
    unsigned char secret[32];
    unsigned char nrs[3];
    unsigned char shares[3 * 32];
    unsigned char again[3 * 32];
    unsigned char out[32];
    struct core_err err;

    (void)state;
    randombytes_buf(secret, sizeof secret);
    cry_reveal_pick_numbers(3, nrs);
    assert_true(nrs[0] != 0 && nrs[1] != 0 && nrs[2] != 0);
    assert_true(nrs[0] != nrs[1] && nrs[0] != nrs[2] && nrs[1] != nrs[2]);
    assert_int_equal(cry_reveal_split(secret, 32, 2, 3, nrs, shares, &err), 0);
    for (int a = 0; a < 3; a++) {
        for (int b = 0; b < 3; b++) {
            const unsigned char *two[2] = {shares + 32 * a, shares + 32 * b};
            unsigned char n2[2] = {nrs[a], nrs[b]};

            if (a == b) {
                assert_int_equal(cry_reveal_recombine(n2, two, 2, 32, out, &err), -1);
                continue;
            }
            assert_int_equal(cry_reveal_recombine(n2, two, 2, 32, out, &err), 0);
            assert_memory_equal(out, secret, 32);
        }
        /* one share alone is not the secret */
        {
            const unsigned char *one[1] = {shares + 32 * a};

            assert_int_equal(cry_reveal_recombine(&nrs[a], one, 1, 32, out, &err), 0);
            assert_memory_not_equal(out, secret, 32);
        }
    }
    /* the coefficients come from libsodium: a second split differs */
    assert_int_equal(cry_reveal_split(secret, 32, 2, 3, nrs, again, &err), 0);
    assert_memory_not_equal(shares, again, sizeof shares);
}

static void test_split_3_of_5(void **state)
{
    unsigned char secret[32];
    unsigned char nrs[5];
    unsigned char shares[5 * 32];
    unsigned char out[32];
    struct core_err err;
    int subsets = 0;

    (void)state;
    randombytes_buf(secret, sizeof secret);
    cry_reveal_pick_numbers(5, nrs);
    assert_int_equal(cry_reveal_split(secret, 32, 3, 5, nrs, shares, &err), 0);
    for (int a = 0; a < 5; a++) {
        for (int b = a + 1; b < 5; b++) {
            const unsigned char *two[2] = {shares + 32 * a, shares + 32 * b};
            unsigned char n2[2] = {nrs[a], nrs[b]};

            assert_int_equal(cry_reveal_recombine(n2, two, 2, 32, out, &err), 0);
            assert_memory_not_equal(out, secret, 32); /* two are not enough */
            for (int c = b + 1; c < 5; c++) {
                const unsigned char *three[3] = {shares + 32 * a, shares + 32 * b,
                                                 shares + 32 * c};
                unsigned char n3[3] = {nrs[a], nrs[b], nrs[c]};

                assert_int_equal(cry_reveal_recombine(n3, three, 3, 32, out, &err), 0);
                assert_memory_equal(out, secret, 32);
                subsets++;
            }
        }
    }
    assert_int_equal(subsets, 10);
}

static void test_share_numbers_checked(void **state)
{
    unsigned char secret[32] = {42};
    unsigned char shares[3 * 32];
    unsigned char out[32];
    unsigned char dup[3] = {5, 9, 5};
    unsigned char zero[3] = {5, 0, 9};
    unsigned char ok[3] = {5, 9, 11};
    const unsigned char *two[2] = {shares, shares + 32};
    struct core_err err;

    (void)state;
    /* libgfshare refuses 0 but not duplicates: janseva checks both */
    assert_int_equal(cry_reveal_split(secret, 32, 2, 3, dup, shares, &err), -1);
    assert_int_equal(err.code, CORE_EX_USAGE);
    assert_int_equal(cry_reveal_split(secret, 32, 2, 3, zero, shares, &err), -1);
    assert_int_equal(cry_reveal_split(secret, 32, 1, 3, ok, shares, &err), -1);
    assert_int_equal(cry_reveal_split(secret, 32, 4, 3, ok, shares, &err), -1);
    assert_int_equal(cry_reveal_split(secret, 32, 2, 3, ok, shares, &err), 0);
    {
        unsigned char n2[2] = {5, 5};

        assert_int_equal(cry_reveal_recombine(n2, two, 2, 32, out, &err), -1);
        assert_int_equal(err.code, CORE_EX_DATAERR);
        n2[1] = 0;
        assert_int_equal(cry_reveal_recombine(n2, two, 2, 32, out, &err), -1);
    }
}

/* ======================= the key on disk ======================= */

struct keyset {
    char *dir;
    char keys[600];
    char shares_dir[600];
    struct cry_reveal_meta m;
    char paths[CRY_REVEAL_MAX_CUSTODIANS][CRY_REVEAL_PATH_MAX];
    struct cry_reveal_share *s[3];
};

static void keyset_make(struct keyset *k, unsigned n, unsigned t)
{
    struct cry_reveal_params p = {n, t, NULL, NULL};
    struct core_err err;

    memset(k, 0, sizeof *k);
    k->dir = th_tmpdir("reveal");
    assert_non_null(k->dir);
    snprintf(k->keys, sizeof k->keys, "%s/keys", k->dir);
    snprintf(k->shares_dir, sizeof k->shares_dir, "%s/shares", k->dir);
    assert_int_equal(mkdir(k->keys, 0700), 0);
    if (cry_reveal_create(k->keys, k->shares_dir, &p, &k->m, k->paths, &err) != 0)
        fail_msg("create: %s", err.msg);
    for (unsigned i = 0; i < 3 && i < n; i++) {
        k->s[i] = cry_reveal_share_new();
        if (cry_reveal_share_read(k->paths[i], k->s[i], &err) != 0)
            fail_msg("read %s: %s", k->paths[i], err.msg);
    }
}

static void keyset_free(struct keyset *k)
{
    for (int i = 0; i < 3; i++)
        cry_reveal_share_free(k->s[i]);
    th_rmrf(k->dir);
    free(k->dir);
}

static mode_t mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void test_create_files(void **state)
{
    struct keyset k;
    struct cry_reveal_meta loaded;
    struct cry_reveal_params p = {3, 2, NULL, NULL};
    char meta[700];
    struct core_err err;
    char *text;

    (void)state;
    keyset_make(&k, 3, 2);
    snprintf(meta, sizeof meta, "%s/%s", k.keys, CRY_REVEAL_META_FILE);
    assert_int_equal(mode_of(meta), 0600);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(mode_of(k.paths[i]), 0600);
        assert_string_equal(k.s[i]->key_id, k.m.id);
        assert_int_equal(k.s[i]->number, k.m.custodians[i].number);
        assert_int_equal(k.s[i]->threshold, 2);
    }
    assert_string_equal(k.m.custodians[0].id, "custodian-1");
    /* the server keeps the public key only: no share data in reveal.json */
    text = th_read_file(meta, NULL);
    assert_non_null(text);
    {
        char hex[65];

        for (int i = 0; i < 3; i++) {
            core_hex(hex, k.s[i]->data, 32);
            assert_null(strstr(text, hex));
        }
    }
    free(text);
    assert_int_equal(cry_reveal_meta_load(k.keys, 0, &loaded, &err), 0);
    assert_memory_equal(loaded.pk, k.m.pk, 32);
    assert_string_equal(loaded.id, k.m.id);
    assert_int_equal(loaded.threshold, 2);
    assert_int_equal(loaded.n, 3);
    /* refuses to overwrite */
    assert_int_equal(cry_reveal_create(k.keys, k.shares_dir, &p, NULL, NULL, &err), -1);
    assert_int_equal(err.code, CORE_EX_CANTCREAT);
    assert_int_equal(cry_reveal_meta_load(k.keys, 0, &loaded, &err), 0);
    assert_memory_equal(loaded.pk, k.m.pk, 32);
    /* a loose mode is refused, a missing file is "no reveal key" */
    assert_int_equal(chmod(meta, 0644), 0);
    assert_int_equal(cry_reveal_meta_load(k.keys, 0, &loaded, &err), -1);
    assert_int_equal(err.code, CORE_EX_CONFIG);
    assert_non_null(strstr(err.msg, "chmod 600"));
    assert_int_equal(chmod(meta, 0640), 0);
    assert_int_equal(cry_reveal_meta_load(k.keys, 1, &loaded, &err), 0); /* credentials */
    assert_int_equal(unlink(meta), 0);
    assert_int_equal(cry_reveal_meta_load(k.keys, 0, &loaded, &err), -1);
    assert_int_equal(err.code, CORE_EX_NOINPUT);
    /* with reveal.json gone a new key can be made (new id, new share files) */
    assert_int_equal(cry_reveal_create(k.keys, k.shares_dir, &p, NULL, NULL, &err), 0);
    keyset_free(&k);
}

static void test_create_names_and_bounds(void **state)
{
    const char *ids[3] = {"dig-patna", "sp.cid", "adg_hq"};
    const char *offs[3] = {NULL, "0123456789abcdef0123456789abcdef", NULL};
    const char *bad_ids[3] = {"a", "b c", "d"};
    const char *same[3] = {"a", "b", "a"};
    const char *bad_off[3] = {NULL, "NOTHEX", NULL};
    struct cry_reveal_params p = {3, 2, ids, offs};
    struct cry_reveal_meta m;
    struct core_err err;
    char *dir = th_tmpdir("reveal-names");
    char keys[600];
    char shares[600];

    (void)state;
    snprintf(keys, sizeof keys, "%s/keys", dir);
    snprintf(shares, sizeof shares, "%s/out", dir);
    assert_int_equal(mkdir(keys, 0700), 0);
    p.ids = bad_ids;
    assert_int_equal(cry_reveal_create(keys, shares, &p, &m, NULL, &err), -1);
    p.ids = same;
    assert_int_equal(cry_reveal_create(keys, shares, &p, &m, NULL, &err), -1);
    p.ids = ids;
    p.officers = bad_off;
    assert_int_equal(cry_reveal_create(keys, shares, &p, &m, NULL, &err), -1);
    p.officers = offs;
    p.threshold = 1;
    assert_int_equal(cry_reveal_create(keys, shares, &p, &m, NULL, &err), -1);
    p.threshold = 4;
    assert_int_equal(cry_reveal_create(keys, shares, &p, &m, NULL, &err), -1);
    p.n = 17;
    p.threshold = 2;
    assert_int_equal(cry_reveal_create(keys, shares, &p, &m, NULL, &err), -1);
    p.n = 3;
    assert_int_equal(cry_reveal_create(keys, shares, &p, &m, NULL, &err), 0);
    assert_string_equal(m.custodians[0].id, "dig-patna");
    assert_string_equal(m.custodians[1].officer, "0123456789abcdef0123456789abcdef");
    assert_string_equal(m.custodians[2].officer, "");
    assert_non_null(cry_reveal_custodian_find(&m, "sp.cid"));
    assert_null(cry_reveal_custodian_find(&m, "nobody"));
    th_rmrf(dir);
    free(dir);
}

/* ======================= combining ======================= */

static void test_combine_and_refusals(void **state)
{
    struct keyset k;
    struct keyset other;
    unsigned char *sk = sodium_malloc(32);
    unsigned char pk[32];
    struct core_err err;

    (void)state;
    keyset_make(&k, 3, 2);
    for (int a = 0; a < 3; a++) {
        for (int b = 0; b < 3; b++) {
            const struct cry_reveal_share *two[2] = {k.s[a], k.s[b]};
            int rc;

            if (a == b)
                continue;
            rc = cry_reveal_combine(&k.m, two, 2, sk, &err);
            if (rc != 0)
                fail_msg("combine %d+%d: %s", a, b, err.msg);
            assert_int_equal(crypto_scalarmult_base(pk, sk), 0);
            assert_memory_equal(pk, k.m.pk, 32);
        }
    }
    {
        const struct cry_reveal_share *one[1] = {k.s[0]};
        const struct cry_reveal_share *twice[2] = {k.s[1], k.s[1]};

        assert_int_equal(cry_reveal_combine(&k.m, one, 1, sk, &err), -1);
        assert_non_null(strstr(err.msg, "needs 2"));
        assert_int_equal(cry_reveal_combine(&k.m, twice, 2, sk, &err), -1);
        assert_non_null(strstr(err.msg, "twice"));
    }
    /* a tampered share (still a well-formed file) fails the public-key check */
    {
        struct cry_reveal_share *bad = cry_reveal_share_new();
        const struct cry_reveal_share *two[2] = {k.s[0], bad};
        char text[CRY_REVEAL_SHARE_FILE_MAX];
        static const unsigned char zero[32];

        *bad = *k.s[1];
        bad->data[7] ^= 0x01;
        assert_true(cry_reveal_share_format(bad, text, sizeof text) > 0);
        assert_int_equal(cry_reveal_share_parse(text, strlen(text), bad, &err), 0);
        assert_int_equal(cry_reveal_combine(&k.m, two, 2, sk, &err), -1);
        assert_int_equal(err.code, CORE_EX_DATAERR);
        assert_non_null(strstr(err.msg, "do not rebuild the reveal key"));
        assert_memory_equal(sk, zero, 32); /* nothing left behind */
        /* a share given under another custodian's number */
        *bad = *k.s[1];
        bad->number = (unsigned char)(k.s[1]->number + 1);
        assert_int_equal(cry_reveal_combine(&k.m, two, 2, sk, &err), -1);
        assert_non_null(strstr(err.msg, "number"));
        /* an unknown custodian */
        *bad = *k.s[1];
        snprintf(bad->custodian, sizeof bad->custodian, "intruder");
        assert_int_equal(cry_reveal_combine(&k.m, two, 2, sk, &err), -1);
        assert_non_null(strstr(err.msg, "unknown custodian"));
        cry_reveal_share_free(bad);
    }
    /* a share of another reveal key */
    keyset_make(&other, 3, 2);
    {
        const struct cry_reveal_share *two[2] = {k.s[0], other.s[1]};

        assert_int_equal(cry_reveal_combine(&k.m, two, 2, sk, &err), -1);
        assert_non_null(strstr(err.msg, "another reveal key"));
    }
    keyset_free(&other);
    sodium_free(sk);
    keyset_free(&k);
}

/* ======================= sealed identities ======================= */

static void test_sealed_identity(void **state)
{
    static const char id[] =
        "{\"case\":\"c1\",\"wa\":\"919812345678\",\"nm\":\"\xe0\xa4\xb0\xe0\xa4\xbe\xe0\xa4\xae\"}";
    struct keyset k;
    unsigned char *sk = sodium_malloc(32);
    unsigned char sealed[1024];
    unsigned char sealed2[1024];
    unsigned char out[1024];
    unsigned char wrong_pk[32];
    unsigned char *wrong_sk = sodium_malloc(32);
    size_t n = 0;
    size_t n2 = 0;
    size_t ol = 0;
    struct core_err err;
    const struct cry_reveal_share *two[2];

    (void)state;
    keyset_make(&k, 3, 2);
    assert_int_equal(cry_reveal_seal(k.m.pk, id, strlen(id), sealed, sizeof sealed, &n, &err), 0);
    assert_int_equal(n, cry_reveal_sealed_size(strlen(id)));
    assert_int_equal(n, 256 + 48);
    assert_int_equal(cry_reveal_seal(k.m.pk, "x", 1, sealed2, sizeof sealed2, &n2, &err), 0);
    assert_int_equal(n2, n); /* lengths hidden */
    assert_null(memmem(sealed, n, "919812345678", 12));
    /* only the recombined key opens it */
    crypto_box_keypair(wrong_pk, wrong_sk);
    assert_int_equal(cry_reveal_open(wrong_sk, k.m.pk, sealed, n, out, sizeof out, &ol, &err), -1);
    assert_int_equal(ol, 0);
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 0);
    two[0] = k.s[2];
    two[1] = k.s[0];
    assert_int_equal(cry_reveal_combine(&k.m, two, 2, sk, &err), 0);
    assert_int_equal(cry_reveal_open(sk, k.m.pk, sealed, n, out, sizeof out, &ol, &err), 0);
    assert_int_equal(ol, strlen(id));
    assert_memory_equal(out, id, ol);
    assert_int_equal(out[ol], 0);
    /* tampered or cut ciphertexts fail */
    sealed[100] ^= 0x40;
    assert_int_equal(cry_reveal_open(sk, k.m.pk, sealed, n, out, sizeof out, &ol, &err), -1);
    sealed[100] ^= 0x40;
    assert_int_equal(cry_reveal_open(sk, k.m.pk, sealed, n - 1, out, sizeof out, &ol, &err), -1);
    assert_int_equal(cry_reveal_open(sk, k.m.pk, sealed, n, out, 10, &ol, &err), -1);
    sodium_free(sk);
    sodium_free(wrong_sk);
    keyset_free(&k);
}

/* ======================= the share file format ======================= */

static const char *const good =
    "# a comment\r\n"
    "\n"
    "format: janseva-reveal-share-1\r\n"
    "key: %s\n"
    "  custodian :  %s  \n"
    "number: %u\n"
    "threshold: 2\n"
    "data: %s\n"
    "check: %s\n";

static void test_share_parse(void **state)
{
    struct cry_reveal_share *s = cry_reveal_share_new();
    struct cry_reveal_share *t = cry_reveal_share_new();
    char text[CRY_REVEAL_SHARE_FILE_MAX];
    char buf[CRY_REVEAL_SHARE_FILE_MAX + 200];
    char hex[65];
    char *check;
    struct core_err err;
    int w;

    (void)state;
    memcpy(s->key_id, "0123456789abcdef", 17);
    snprintf(s->custodian, sizeof s->custodian, "sp-cid");
    s->number = 77;
    s->threshold = 2;
    randombytes_buf(s->data, sizeof s->data);
    w = cry_reveal_share_format(s, text, sizeof text);
    assert_true(w > 0);
    assert_int_equal(cry_reveal_share_parse(text, (size_t)w, t, &err), 0);
    assert_memory_equal(s, t, sizeof *s);
    /* spacing, CRLF, comments and blank lines are fine */
    core_hex(hex, s->data, 32);
    check = strstr(text, "check: ") + 7;
    check[16] = '\0';
    snprintf(buf, sizeof buf, good, s->key_id, "sp-cid", 77u, hex, check);
    if (cry_reveal_share_parse(buf, strlen(buf), t, &err) != 0)
        fail_msg("%s", err.msg);
    assert_memory_equal(s->data, t->data, 32);
    /* upper-case hex data is the same share */
    for (char *p = hex; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 32);
    snprintf(buf, sizeof buf, good, s->key_id, "sp-cid", 77u, hex, check);
    assert_int_equal(cry_reveal_share_parse(buf, strlen(buf), t, &err), 0);
    core_hex(hex, s->data, 32);

    /* every problem, with a message naming it and the output wiped */
    {
        struct {
            const char *custodian;
            unsigned number;
            const char *data;
            const char *extra;
            const char *want;
        } cases[] = {
            {"sp-cid", 77, hex, "custodian: x\n", "given twice"},
            {"sp-cid", 77, hex, "colour: red\n", "unknown field"},
            {"sp-cid", 77, hex, "no colon here\n", "is not 'field: value'"},
            {"sp-cid", 77, hex, "\x01\n", "control character"},
            {"sp cid", 77, hex, "", "not a custodian id"},
            {"sp-cid", 0, hex, "", "'number'"},
            {"sp-cid", 256, hex, "", "'number'"},
            {"sp-cid", 78, hex, "", "check does not match"},
            {"sp-cid", 77, "abcd", "", "'data'"},
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            snprintf(buf, sizeof buf, good, s->key_id, cases[i].custodian, cases[i].number,
                     cases[i].data, check);
            strncat(buf, cases[i].extra, sizeof buf - strlen(buf) - 1);
            memset(t, 0xAA, sizeof *t);
            assert_int_equal(cry_reveal_share_parse(buf, strlen(buf), t, &err), -1);
            if (strstr(err.msg, cases[i].want) == NULL)
                fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].want);
            assert_int_equal(err.code, CORE_EX_DATAERR);
            assert_null(strstr(err.msg, hex)); /* never the data */
            for (size_t b = 0; b < sizeof t->data; b++)
                assert_int_equal(t->data[b], 0);
        }
    }
    /* a typo in the data is caught by the check */
    {
        char typo[65];

        memcpy(typo, hex, sizeof typo);
        typo[10] = typo[10] == '0' ? '1' : '0';
        snprintf(buf, sizeof buf, good, s->key_id, "sp-cid", 77u, typo, check);
        assert_int_equal(cry_reveal_share_parse(buf, strlen(buf), t, &err), -1);
        assert_non_null(strstr(err.msg, "check"));
    }
    /* missing fields, wrong format, bad key, threshold 1, oversize */
    assert_int_equal(cry_reveal_share_parse("format: janseva-reveal-share-1\n", 31, t, &err), -1);
    assert_non_null(strstr(err.msg, "missing"));
    snprintf(buf, sizeof buf, good, s->key_id, "sp-cid", 77u, hex, check);
    memcpy(strstr(buf, "share-1"), "share-9", 7);
    assert_int_equal(cry_reveal_share_parse(buf, strlen(buf), t, &err), -1);
    assert_non_null(strstr(err.msg, "format"));
    snprintf(buf, sizeof buf, good, "0123456789ABCDEF", "sp-cid", 77u, hex, check);
    assert_int_equal(cry_reveal_share_parse(buf, strlen(buf), t, &err), -1);
    assert_non_null(strstr(err.msg, "'key'"));
    snprintf(buf, sizeof buf, good, s->key_id, "sp-cid", 77u, hex, check);
    memcpy(strstr(buf, "threshold: 2"), "threshold: 1", 12);
    assert_int_equal(cry_reveal_share_parse(buf, strlen(buf), t, &err), -1);
    assert_non_null(strstr(err.msg, "threshold"));
    memset(buf, '#', sizeof buf);
    assert_int_equal(cry_reveal_share_parse(buf, CRY_REVEAL_SHARE_FILE_MAX + 1, t, &err), -1);
    assert_int_equal(cry_reveal_share_read("/nonexistent/share", t, &err), -1);
    assert_int_equal(err.code, CORE_EX_NOINPUT);
    cry_reveal_share_free(s);
    cry_reveal_share_free(t);
}

static void test_meta_parse(void **state)
{
    struct keyset k;
    struct cry_reveal_meta m;
    struct core_err err;
    char path[700];
    char *text;
    char *p;

    (void)state;
    keyset_make(&k, 3, 2);
    snprintf(path, sizeof path, "%s/%s", k.keys, CRY_REVEAL_META_FILE);
    text = th_read_file(path, NULL);
    assert_int_equal(cry_reveal_meta_parse(text, strlen(text), &m, &err), 0);
    /* a public key that does not match the id */
    p = strstr(text, "\"public_key\": \"") + 15;
    *p = *p == 'a' ? 'b' : 'a';
    assert_int_equal(cry_reveal_meta_parse(text, strlen(text), &m, &err), -1);
    assert_non_null(strstr(err.msg, "key id"));
    *p = *p == 'a' ? 'b' : 'a';
    p = strstr(text, "\"threshold\": 2");
    p[13] = '4';
    assert_int_equal(cry_reveal_meta_parse(text, strlen(text), &m, &err), -1);
    p[13] = '2';
    assert_int_equal(cry_reveal_meta_parse("[]", 2, &m, &err), -1);
    assert_int_equal(cry_reveal_meta_parse("{\"format\":2}", 12, &m, &err), -1);
    free(text);
    keyset_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hook_required),
        cmocka_unit_test(test_recombine_only_process),
        cmocka_unit_test(test_split_2_of_3),
        cmocka_unit_test(test_split_3_of_5),
        cmocka_unit_test(test_share_numbers_checked),
        cmocka_unit_test(test_create_files),
        cmocka_unit_test(test_create_names_and_bounds),
        cmocka_unit_test(test_combine_and_refusals),
        cmocka_unit_test(test_sealed_identity),
        cmocka_unit_test(test_share_parse),
        cmocka_unit_test(test_meta_parse),
    };

    if (sodium_init() < 0)
        return 1;
    cry_reveal_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
