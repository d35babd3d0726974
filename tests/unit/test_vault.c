/*
 * tests/unit/test_vault.c - crypto/vault, crypto/bidx and crypto/keys:
 * round trips, length hiding, every kind of tampering (flipped bit, swapped
 * field, moved record, wrong key version, truncated or extended ciphertext,
 * wrong purpose, bad magic or format, another root key) failing cleanly with
 * the output wiped; blind-index normalisation; key directories (init,
 * refusal to overwrite, permissions, symlinks, damaged files, mismatched
 * metadata, systemd credentials) and read-only key memory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/bidx.h"
#include "crypto/keys.h"
#include "crypto/vault.h"
#include "tests/harness/harness.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MID "0123456789abcdef0123456789abcdef"

static struct cry_keys *keys_with(unsigned char first)
{
    unsigned char root[32];
    unsigned char seed[32];
    struct cry_keys *k;
    int i;

    for (i = 0; i < 32; i++) {
        root[i] = (unsigned char)(first + i);
        seed[i] = (unsigned char)(100 + i);
    }
    k = cry_keys_from_bytes(root, seed);
    cry_keys_set_version(k, 1);
    return k;
}

static int all_zero(const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] != 0)
            return 0;
    }
    return 1;
}

/* Seal `s` for PII/MID/"wa" into a new buffer. */
static unsigned char *seal(struct cry_keys *k, const char *s, size_t *len)
{
    size_t cap = cry_vault_sealed_size(strlen(s));
    unsigned char *c = malloc(cap);
    struct core_err err;

    assert_int_equal(cry_vault_seal(k, CRY_VAULT_PII, MID, "wa", s, strlen(s), c, cap, len, &err),
                     0);
    assert_int_equal(*len, cap);
    return c;
}

/* Open must fail with -1, DATAERR, out wiped and *len 0. */
static void assert_open_fails(struct cry_keys *k, enum cry_vault_purpose p, const char *rec,
                              const char *field, const unsigned char *c, size_t len)
{
    unsigned char out[512];
    struct core_err err;
    size_t n = 99;

    memset(out, 0xAA, sizeof out);
    core_err_clear(&err);
    assert_int_equal(cry_vault_open(k, p, rec, field, c, len, out, sizeof out, &n, &err), -1);
    assert_int_equal(n, 0);
    assert_true(all_zero(out, sizeof out));
    assert_true(err.code == CORE_EX_DATAERR || err.code == CORE_EX_SOFTWARE);
    assert_null(strstr(err.msg, "9198")); /* never quotes data */
}

static void test_round_trip_sizes(void **state)
{
    static const size_t lens[] = {0, 1, 12, 63, 64, 65, 255, 1000, 100000};
    struct cry_keys *k = keys_with(1);
    size_t i;

    (void)state;
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t n = lens[i];
        unsigned char *plain = malloc(n + 1);
        size_t cap = cry_vault_sealed_size(n);
        unsigned char *c = malloc(cap);
        size_t ocap;
        unsigned char *out;
        struct cry_vault_header h;
        struct core_err err;
        size_t clen = 0;
        size_t olen = 0;

        randombytes_buf(plain, n + 1);
        assert_int_equal(cry_vault_seal(k, CRY_VAULT_INGRESS, "req-1", "b", plain, n, c, cap,
                                        &clen, &err),
                         0);
        assert_int_equal((clen - CRY_VAULT_HEADERBYTES - CRY_VAULT_ABYTES) % CRY_VAULT_PADBLOCK,
                         0);
        assert_int_equal(cry_vault_header_parse(c, clen, &h), 0);
        assert_int_equal(h.purpose, CRY_VAULT_INGRESS);
        assert_int_equal(h.key_version, 1);
        assert_int_equal(h.format, CRY_VAULT_FORMAT);
        ocap = cry_vault_open_size(clen);
        out = malloc(ocap);
        assert_int_equal(cry_vault_open(k, CRY_VAULT_INGRESS, "req-1", "b", c, clen, out, ocap,
                                        &olen, &err),
                         0);
        assert_int_equal(olen, n);
        if (n > 0)
            assert_memory_equal(out, plain, n);
        assert_int_equal(out[n], 0);
        free(out);
        free(c);
        free(plain);
    }
    cry_keys_free(k);
}

static void test_lengths_hidden_and_nonces_fresh(void **state)
{
    struct cry_keys *k = keys_with(1);
    size_t a_len, b_len, c_len;
    unsigned char *a = seal(k, "919", &a_len);
    unsigned char *b = seal(k, "919812345678", &b_len);
    unsigned char *c = seal(k, "919812345678", &c_len);

    (void)state;
    /* numbers of any length up to 63 bytes look alike */
    assert_int_equal(a_len, b_len);
    assert_int_equal(a_len, CRY_VAULT_HEADERBYTES + CRY_VAULT_PADBLOCK + CRY_VAULT_ABYTES);
    /* same value, fresh nonce: nothing in common after the header prefix */
    assert_int_equal(b_len, c_len);
    assert_memory_not_equal(b + 8, c + 8, b_len - 8);
    free(a);
    free(b);
    free(c);
    cry_keys_free(k);
}

/* Format 2: padded to 16 bytes; opens like format 1; relabelled, it fails. */
static void test_short_format(void **state)
{
    struct cry_keys *k = keys_with(1);
    unsigned char c[CRY_VAULT_HEADERBYTES + 2 * CRY_VAULT_PADBLOCK_SHORT + CRY_VAULT_ABYTES];
    unsigned char out[2 * CRY_VAULT_PADBLOCK_SHORT];
    struct cry_vault_header h;
    struct core_err err;
    size_t len = 0, len2 = 0, plen = 0;

    (void)state;
    assert_int_equal(cry_vault_seal_short(k, CRY_VAULT_PII, 1, MID, "wa", "919812345678", 12, c,
                                          sizeof c, &len, &err),
                     0);
    /* every number up to 15 digits takes 64 bytes */
    assert_int_equal(len, cry_vault_sealed_size_short(15));
    assert_int_equal(len, CRY_VAULT_HEADERBYTES + CRY_VAULT_PADBLOCK_SHORT + CRY_VAULT_ABYTES);
    assert_int_equal(cry_vault_header_parse(c, len, &h), 0);
    assert_int_equal(h.format, CRY_VAULT_FORMAT_SHORT);
    assert_int_equal(cry_vault_version(c, len), 1);
    assert_int_equal(cry_vault_open(k, CRY_VAULT_PII, MID, "wa", c, len, out, sizeof out, &plen,
                                    &err),
                     0);
    assert_int_equal(plen, 12);
    assert_memory_equal(out, "919812345678", 12);
    c[2] = CRY_VAULT_FORMAT; /* 16 bytes of body cannot be format 1 */
    assert_int_equal(cry_vault_header_parse(c, len, &h), -1);
    assert_int_equal(cry_vault_open(k, CRY_VAULT_PII, MID, "wa", c, len, out, sizeof out, &plen,
                                    &err),
                     -1);
    /* 16 to 31 bytes take the next block */
    assert_int_equal(cry_vault_seal_short(k, CRY_VAULT_PII, 1, MID, "wa", "1234567890123456",
                                          16, c, sizeof c, &len2, &err),
                     0);
    assert_int_equal(len2, len + CRY_VAULT_PADBLOCK_SHORT);
    cry_keys_free(k);
}

static void test_every_flipped_bit_fails(void **state)
{
    struct cry_keys *k = keys_with(1);
    size_t len;
    unsigned char *c = seal(k, "919812345678", &len);
    size_t i;
    int bit;

    (void)state;
    for (i = 0; i < len; i++) {
        for (bit = 0; bit < 8; bit++) {
            c[i] ^= (unsigned char)(1 << bit);
            assert_open_fails(k, CRY_VAULT_PII, MID, "wa", c, len);
            c[i] ^= (unsigned char)(1 << bit);
        }
    }
    {
        unsigned char out[64];
        struct core_err err;
        size_t n = 0;

        assert_int_equal(cry_vault_open(k, CRY_VAULT_PII, MID, "wa", c, len, out, sizeof out, &n,
                                        &err),
                         0); /* and the untouched value still opens */
        assert_int_equal(n, 12);
    }
    free(c);
    cry_keys_free(k);
}

static void test_moved_swapped_and_misused(void **state)
{
    struct cry_keys *k = keys_with(1);
    struct cry_keys *other = keys_with(2);
    size_t len;
    unsigned char *c = seal(k, "919812345678", &len);

    (void)state;
    /* another field of the same record (swapped field) */
    assert_open_fails(k, CRY_VAULT_PII, MID, "nm", c, len);
    assert_open_fails(k, CRY_VAULT_PII, MID, "w", c, len);
    /* the same field of another record (moved) */
    assert_open_fails(k, CRY_VAULT_PII, "0123456789abcdef0123456789abcdee", "wa", c, len);
    /* record/field boundary: "MID" + "wa" must not equal "MIDw" + "a" */
    assert_open_fails(k, CRY_VAULT_PII, MID "w", "a", c, len);
    /* another purpose */
    assert_open_fails(k, CRY_VAULT_INGRESS, MID, "wa", c, len);
    assert_open_fails(k, CRY_VAULT_TIP, MID, "wa", c, len);
    /* another root key */
    assert_open_fails(other, CRY_VAULT_PII, MID, "wa", c, len);
    free(c);
    cry_keys_free(other);
    cry_keys_free(k);
}

static void test_header_edits_fail(void **state)
{
    struct cry_keys *k = keys_with(1);
    size_t len;
    unsigned char *c = seal(k, "919812345678", &len);
    struct cry_vault_header h;

    (void)state;
    /* claims another key version (also changes the key and the AD) */
    c[4] = 2;
    assert_int_equal(cry_vault_version(c, len), 2);
    assert_open_fails(k, CRY_VAULT_PII, MID, "wa", c, len);
    c[4] = 0; /* version 0 does not exist */
    assert_int_equal(cry_vault_header_parse(c, len, &h), -1);
    assert_open_fails(k, CRY_VAULT_PII, MID, "wa", c, len);
    c[4] = 1;
    /* purpose byte relabelled and opened as that purpose */
    c[3] = CRY_VAULT_INGRESS;
    assert_open_fails(k, CRY_VAULT_INGRESS, MID, "wa", c, len);
    c[3] = 9; /* unknown purpose */
    assert_int_equal(cry_vault_header_parse(c, len, &h), -1);
    c[3] = CRY_VAULT_PII;
    /* bad magic, unknown format */
    c[0] = 'X';
    assert_open_fails(k, CRY_VAULT_PII, MID, "wa", c, len);
    c[0] = 'J';
    c[2] = 3;
    assert_open_fails(k, CRY_VAULT_PII, MID, "wa", c, len);
    assert_int_equal(cry_vault_header_parse(c, len, &h), -1);
    c[2] = CRY_VAULT_FORMAT_SHORT; /* a known format, but bound as AD */
    assert_open_fails(k, CRY_VAULT_PII, MID, "wa", c, len);
    c[2] = 1;
    assert_int_equal(cry_vault_header_parse(c, len, &h), 0);
    free(c);
    cry_keys_free(k);
}

static void test_truncated_and_extended_fail(void **state)
{
    struct cry_keys *k = keys_with(1);
    size_t len;
    unsigned char *c = seal(k, "919812345678", &len);
    unsigned char *longer = malloc(len + CRY_VAULT_PADBLOCK);
    size_t i;

    (void)state;
    for (i = 0; i < len; i++)
        assert_open_fails(k, CRY_VAULT_PII, MID, "wa", c, i);
    assert_open_fails(k, CRY_VAULT_PII, MID, "wa", NULL, 0);
    memcpy(longer, c, len);
    memset(longer + len, 0, CRY_VAULT_PADBLOCK);
    assert_open_fails(k, CRY_VAULT_PII, MID, "wa", longer, len + 1);
    assert_open_fails(k, CRY_VAULT_PII, MID, "wa", longer, len + CRY_VAULT_PADBLOCK);
    free(longer);
    free(c);
    cry_keys_free(k);
}

static void test_versions(void **state)
{
    struct cry_keys *k = keys_with(1);
    unsigned char c[256];
    unsigned char out[128];
    struct core_err err;
    size_t len = 0;
    size_t n = 0;

    (void)state;
    /* sealed at v1, the service moves to v3: still opens (version in header) */
    assert_int_equal(cry_vault_seal(k, CRY_VAULT_PII, MID, "nm", "Ramesh", 6, c, sizeof c, &len,
                                    &err),
                     0);
    cry_keys_set_version(k, 3);
    assert_int_equal(cry_vault_open(k, CRY_VAULT_PII, MID, "nm", c, len, out, sizeof out, &n,
                                    &err),
                     0);
    assert_int_equal(cry_vault_version(c, len), 1);
    /* new seals use v3; an explicit version for rotation */
    assert_int_equal(cry_vault_seal(k, CRY_VAULT_PII, MID, "nm", "Ramesh", 6, c, sizeof c, &len,
                                    &err),
                     0);
    assert_int_equal(cry_vault_version(c, len), 3);
    assert_int_equal(cry_vault_seal_version(k, CRY_VAULT_PII, 7, MID, "nm", "Ramesh", 6, c,
                                            sizeof c, &len, &err),
                     0);
    assert_int_equal(cry_vault_version(c, len), 7);
    assert_int_equal(cry_vault_open(k, CRY_VAULT_PII, MID, "nm", c, len, out, sizeof out, &n,
                                    &err),
                     0);
    /* unknown version: refuses to seal */
    cry_keys_set_version(k, 0);
    assert_int_equal(cry_vault_seal(k, CRY_VAULT_PII, MID, "nm", "x", 1, c, sizeof c, &len, &err),
                     -1);
    assert_int_equal(err.code, CORE_EX_UNAVAILABLE);
    cry_keys_free(k);
}

static void test_bad_arguments(void **state)
{
    struct cry_keys *k = keys_with(1);
    unsigned char c[256];
    unsigned char small[16];
    unsigned char out[128];
    char long_id[CRY_VAULT_MAX_ID + 2];
    struct core_err err;
    size_t len = 0;
    size_t n = 0;

    (void)state;
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal(cry_vault_seal(k, CRY_VAULT_PII, "", "wa", "x", 1, c, sizeof c, &len, &err),
                     -1);
    assert_int_equal(cry_vault_seal(k, CRY_VAULT_PII, MID, "", "x", 1, c, sizeof c, &len, &err),
                     -1);
    assert_int_equal(cry_vault_seal(k, CRY_VAULT_PII, long_id, "wa", "x", 1, c, sizeof c, &len,
                                    &err),
                     -1);
    assert_true(all_zero(c, CRY_VAULT_HEADERBYTES));
    assert_int_equal(cry_vault_seal(k, CRY_VAULT_PII, MID, "wa", "x", 1, small, sizeof small,
                                    &len, &err),
                     -1);
    assert_int_equal(cry_vault_seal(k, (enum cry_vault_purpose)9, MID, "wa", "x", 1, c, sizeof c,
                                    &len, &err),
                     -1);
    assert_int_equal(cry_vault_seal(k, CRY_VAULT_PII, MID, "wa", "x", 1, c, sizeof c, &len, &err),
                     0);
    /* output too small to open into */
    assert_int_equal(cry_vault_open(k, CRY_VAULT_PII, MID, "wa", c, len, out, 10, &n, &err), -1);
    assert_int_equal(n, 0);
    assert_int_equal(cry_vault_open_size(10), 0);
    cry_keys_free(k);
}

/* ---- blind index ---- */

static void test_bidx(void **state)
{
    struct cry_keys *k = keys_with(1);
    struct cry_keys *other = keys_with(2);
    unsigned char a[CRY_BIDX_BYTES], b[CRY_BIDX_BYTES];
    struct core_err err;
    char hex[CRY_BIDX_HEX];
    char norm[21];

    (void)state;
    assert_int_equal(cry_bidx_wa(k, "919812345678", a, &err), 0);
    assert_int_equal(cry_bidx_wa(k, "+919812345678", b, &err), 0);
    assert_memory_equal(a, b, sizeof a); /* '+' normalised away */
    assert_int_equal(cry_bidx_wa(k, "919812345679", b, &err), 0);
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(cry_bidx_wa(other, "919812345678", b, &err), 0);
    assert_memory_not_equal(a, b, sizeof a); /* keyed */
    cry_bidx_hex(a, hex);
    assert_int_equal(strlen(hex), 64); /* full length, never truncated */
    assert_int_equal(cry_bidx_normalise_wa("+91 98123", norm), -1);
    assert_int_equal(cry_bidx_normalise_wa("12", norm), -1);
    assert_int_equal(cry_bidx_normalise_wa("123456789012345678901", norm), -1);
    assert_int_equal(cry_bidx_normalise_wa("12345678901234567890", norm), 0);
    assert_int_equal(cry_bidx_wa(k, "98123abcde", a, &err), -1);
    assert_int_equal(err.code, CORE_EX_DATAERR);
    assert_null(strstr(err.msg, "98123"));
    assert_true(all_zero(a, sizeof a));
    assert_int_equal(cry_bidx_wa(k, NULL, a, &err), -1);
    assert_int_equal(cry_bidx_bsuid(k, "IN.15702938471625384950", a, &err), 0);
    assert_int_equal(cry_bidx_bsuid(k, "US.1349.12086", b, &err), 0);
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(cry_bidx_bsuid(k, "in.123", a, &err), -1);
    assert_int_equal(cry_bidx_bsuid(k, "IN.", a, &err), -1);
    assert_int_equal(cry_bidx_bsuid(k, "IN.12..3", a, &err), -1);
    assert_int_equal(cry_bidx_bsuid(k, "IN.12.", a, &err), -1);
    assert_int_equal(cry_bidx_bsuid(k, "919812345678", a, &err), -1);
    cry_keys_free(other);
    cry_keys_free(k);
}

/* ---- key directories ---- */

static char *keydir(const char *base)
{
    char *d = malloc(strlen(base) + 8);

    snprintf(d, strlen(base) + 8, "%s/keys", base);
    return d;
}

static void test_init_and_load(void **state)
{
    char *base = th_tmpdir("keys");
    char *dir = keydir(base);
    char path[1024];
    struct cry_keys_meta m;
    struct cry_keys_meta m2;
    struct core_err err;
    struct cry_keys *k;
    struct stat st;
    char *root_hex;
    unsigned char sub1[32], sub2[32];

    (void)state;
    assert_int_equal(cry_keys_init_dir(dir, &m, &err), 0);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    snprintf(path, sizeof path, "%s/root.key", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, 65);
    snprintf(path, sizeof path, "%s/audit.key", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    snprintf(path, sizeof path, "%s/keys.json", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    /* keys.json holds no secret */
    snprintf(path, sizeof path, "%s/root.key", dir);
    root_hex = th_read_file(path, NULL);
    root_hex[64] = '\0';
    snprintf(path, sizeof path, "%s/keys.json", dir);
    assert_int_equal(th_file_count(path, root_hex), 0);
    assert_int_equal(th_file_count(path, m.root_id), 1);
    sodium_memzero(root_hex, 64);
    free(root_hex);
    /* loads, with matching public facts */
    k = cry_keys_load(dir, 0, &err);
    assert_non_null(k);
    assert_string_equal(cry_keys_meta(k)->root_id, m.root_id);
    assert_string_equal(cry_keys_meta(k)->audit_id, m.audit_id);
    assert_memory_equal(cry_keys_meta(k)->audit_public, m.audit_public, 32);
    assert_string_equal(cry_keys_dir(k), dir);
    assert_int_equal(cry_keys_version(k), 0);
    /* subkeys are distinct per purpose and per version */
    assert_int_equal(cry_keys_derive(k, CRY_KEY_PII, 1, sub1), 0);
    assert_int_equal(cry_keys_derive(k, CRY_KEY_PII, 2, sub2), 0);
    assert_memory_not_equal(sub1, sub2, 32);
    assert_int_equal(cry_keys_derive(k, CRY_KEY_INGRESS, 1, sub2), 0);
    assert_memory_not_equal(sub1, sub2, 32);
    assert_memory_not_equal(cry_keys_get(k, CRY_KEY_BIDX), cry_keys_get(k, CRY_KEY_MID), 32);
    assert_memory_not_equal(cry_keys_get(k, CRY_KEY_BIDX), cry_keys_get(k, CRY_KEY_DEDUPE), 32);
    assert_int_equal(cry_keys_derive(k, CRY_KEY_PII, 0, sub1), -1);
    assert_int_equal(cry_keys_derive(k, CRY_KEY_PURPOSE_COUNT, 1, sub1), -1);
    sodium_memzero(sub1, 32);
    sodium_memzero(sub2, 32);
    print_message("key memory locked: %s\n", cry_keys_locked(k) ? "yes" : "no (RLIMIT_MEMLOCK)");
    cry_keys_free(k);
    /* a second init refuses and leaves the keys alone */
    assert_int_equal(cry_keys_init_dir(dir, &m2, &err), -1);
    assert_int_equal(err.code, CORE_EX_CANTCREAT);
    assert_non_null(strstr(err.msg, "refusing to overwrite"));
    k = cry_keys_load(dir, 0, &err);
    assert_non_null(k);
    assert_string_equal(cry_keys_meta(k)->root_id, m.root_id);
    cry_keys_free(k);
    th_rmrf(base);
    free(dir);
    free(base);
}

static void assert_load_fails(const char *dir, int creds, const char *needle)
{
    struct core_err err;
    struct cry_keys *k;

    core_err_clear(&err);
    k = cry_keys_load(dir, creds, &err);
    if (k != NULL)
        cry_keys_free(k);
    assert_null(k);
    assert_int_equal(err.code, CORE_EX_CONFIG);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("'%s' does not mention '%s'", err.msg, needle);
}

static void test_permissions_and_damage(void **state)
{
    char *base = th_tmpdir("keyperm");
    char *dir = keydir(base);
    char other[512];
    char path[1024];
    char link[1024];
    struct core_err err;
    char *saved;
    size_t saved_len;

    (void)state;
    assert_int_equal(cry_keys_init_dir(dir, NULL, &err), 0);
    /* directory 0755 or 0750: refused, naming the directory */
    chmod(dir, 0755);
    assert_load_fails(dir, 0, dir);
    assert_load_fails(dir, 0, "mode 0755");
    chmod(dir, 0750);
    assert_load_fails(dir, 0, "chmod 700");
    chmod(dir, 0700);
    /* a key file 0644 or 0640: refused, naming the file */
    snprintf(path, sizeof path, "%s/root.key", dir);
    chmod(path, 0644);
    assert_load_fails(dir, 0, path);
    chmod(path, 0640);
    assert_load_fails(dir, 0, "mode 0640");
    /* systemd credentials: group bits may show an ACL; others may not */
    {
        struct cry_keys *k = cry_keys_load(dir, 1, &err);

        assert_non_null(k);
        cry_keys_free(k);
    }
    chmod(path, 0604);
    assert_load_fails(dir, 1, "by others");
    chmod(path, 0600);
    snprintf(path, sizeof path, "%s/keys.json", dir);
    chmod(path, 0666);
    assert_load_fails(dir, 0, path);
    chmod(path, 0600);
    /* missing file, damaged file, symlinked file */
    snprintf(path, sizeof path, "%s/audit.key", dir);
    saved = th_read_file(path, &saved_len);
    unlink(path);
    assert_load_fails(dir, 0, "is missing");
    th_write_file(path, saved, saved_len - 2); /* 63 hex digits */
    chmod(path, 0600);
    assert_load_fails(dir, 0, "not a key file");
    unlink(path);
    snprintf(link, sizeof link, "%s/elsewhere.key", base);
    th_write_file(link, saved, saved_len);
    chmod(link, 0600);
    assert_int_equal(symlink(link, path), 0);
    assert_load_fails(dir, 0, "symbolic link");
    unlink(path);
    th_write_file(path, saved, saved_len);
    chmod(path, 0600);
    sodium_memzero(saved, saved_len);
    free(saved);
    /* keys of another directory: keys.json does not match */
    snprintf(other, sizeof other, "%s/other", base);
    assert_int_equal(cry_keys_init_dir(other, NULL, &err), 0);
    snprintf(path, sizeof path, "%s/root.key", dir);
    snprintf(link, sizeof link, "%s/root.key", other);
    saved = th_read_file(link, &saved_len);
    unlink(path);
    th_write_file(path, saved, saved_len);
    chmod(path, 0600);
    sodium_memzero(saved, saved_len);
    free(saved);
    assert_load_fails(dir, 0, "does not match");
    /* a directory that does not exist */
    snprintf(path, sizeof path, "%s/nope", base);
    assert_load_fails(path, 0, "does not exist");
    th_rmrf(base);
    free(dir);
    free(base);
}

static void test_dir_resolution(void **state)
{
    char out[CRY_KEYS_PATH_MAX];
    struct core_err err;
    int creds = -1;

    (void)state;
    unsetenv("CREDENTIALS_DIRECTORY");
    assert_int_equal(cry_keys_dir_resolve(NULL, out, &creds, &err), -1);
    assert_int_equal(err.code, CORE_EX_CONFIG);
    assert_non_null(strstr(err.msg, "JANSEVA_KEYS_DIR"));
    assert_int_equal(cry_keys_dir_resolve("/etc/janseva/keys", out, &creds, &err), 0);
    assert_string_equal(out, "/etc/janseva/keys");
    assert_int_equal(creds, 0);
    setenv("CREDENTIALS_DIRECTORY", "/run/credentials/janseva.service", 1);
    assert_int_equal(cry_keys_dir_resolve("", out, &creds, &err), 0);
    assert_string_equal(out, "/run/credentials/janseva.service");
    assert_int_equal(creds, 1);
    /* the setting wins over systemd's directory */
    assert_int_equal(cry_keys_dir_resolve("/k", out, &creds, &err), 0);
    assert_string_equal(out, "/k");
    assert_int_equal(creds, 0);
    unsetenv("CREDENTIALS_DIRECTORY");
}

static void on_segv(int sig)
{
    (void)sig;
    _exit(42);
}

static void test_key_memory_is_read_only(void **state)
{
    struct cry_keys *k = keys_with(1);
    pid_t pid;
    int st = 0;

    (void)state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsigned char *p = (unsigned char *)(uintptr_t)cry_keys_get(k, CRY_KEY_BIDX);

        signal(SIGSEGV, on_segv);
        signal(SIGBUS, on_segv);
        p[0] ^= 1; /* must fault: the region is mprotect'ed read-only */
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cry_keys_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_sizes),
        cmocka_unit_test(test_lengths_hidden_and_nonces_fresh),
        cmocka_unit_test(test_short_format),
        cmocka_unit_test(test_every_flipped_bit_fails),
        cmocka_unit_test(test_moved_swapped_and_misused),
        cmocka_unit_test(test_header_edits_fail),
        cmocka_unit_test(test_truncated_and_extended_fail),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_bidx),
        cmocka_unit_test(test_init_and_load),
        cmocka_unit_test(test_permissions_and_damage),
        cmocka_unit_test(test_dir_resolution),
        cmocka_unit_test(test_key_memory_is_read_only),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
