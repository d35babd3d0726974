/*
 * tests/unit/test_crypto_kat.c - known-answer tests for every primitive
 * crypto/ relies on, and for janseva's own derivations and formats.
 *
 * Published vectors: BLAKE2b keyed (the official blake2b-kat.txt, key
 * 00..3f, input 00..n-1), XChaCha20-Poly1305 IETF (draft-irtf-cfrg-xchacha-03
 * A.3.1), Ed25519 (RFC 8032 section 7.1, tests 1-3). Janseva's derivations
 * (KDF subkeys per purpose and version, blind indexes, member ids, a sealed
 * field, an audit hash and a checkpoint signature) have no published vectors:
 * they were computed with independent implementations by
 * tests/unit/crypto_kat.py (Python hashlib, pyca/cryptography and a
 * from-the-draft HChaCha20), so these tests pin the formats stored data
 * depends on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/util.h"
#include "crypto/audit.h"
#include "crypto/bidx.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "crypto/vault.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void unhex(const char *hex, unsigned char *out, size_t n)
{
    size_t len = 0;

    assert_int_equal(strlen(hex), 2 * n);
    assert_int_equal(sodium_hex2bin(out, n, hex, 2 * n, NULL, &len, NULL), 0);
    assert_int_equal(len, n);
}

static void assert_hex(const unsigned char *bin, size_t n, const char *want)
{
    char *hex = malloc(2 * n + 1);

    core_hex(hex, bin, n);
    assert_string_equal(hex, want);
    free(hex);
}

/* root 00..1f, audit seed 20..3f */
static struct cry_keys *test_keys(void)
{
    unsigned char root[32];
    unsigned char seed[32];
    struct cry_keys *k;
    int i;

    for (i = 0; i < 32; i++) {
        root[i] = (unsigned char)i;
        seed[i] = (unsigned char)(32 + i);
    }
    k = cry_keys_from_bytes(root, seed);
    cry_keys_set_version(k, 1);
    return k;
}

/* ---- published vectors ---- */

static void test_blake2b_keyed_official(void **state)
{
    static const struct {
        size_t n;
        const char *out;
    } kat[] = {
        {0, "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786b5e996e8f0f4eb98"
            "1fc214b005f42d2ff4233499391653df7aefcbc13fc51568"},
        {1, "961f6dd1e4dd30f63901690c512e78e4b45e4742ed197c3c5e45c549fd25f2e4187b0bc9fe30492b"
            "16b0d0bc4ef9b0f34c7003fac09a5ef1532e69430234cebd"},
        {64, "65676d800617972fbd87e4b9514e1c67402b7a331096d3bfac22f1abb95374abc942f16e9ab0ead"
             "33b87c91968a6e509e119ff07787b3ef483e1dcdccf6e3022"},
        {255, "142709d62e28fcccd0af97fad0f8465b971e82201dc51070faa0372aa43e92484be1c1e73ba109"
              "06d5d1853db6a4106e0a7bf9800d373d6dee2d46d62ef2a461"},
    };
    unsigned char key[64];
    unsigned char in[255];
    unsigned char out[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof key; i++)
        key[i] = (unsigned char)i;
    for (i = 0; i < sizeof in; i++)
        in[i] = (unsigned char)i;
    for (i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        assert_int_equal(crypto_generichash(out, sizeof out, in, kat[i].n, key, sizeof key), 0);
        assert_hex(out, sizeof out, kat[i].out);
    }
    /* the 256-bit, 32-byte-key shape janseva uses */
    assert_int_equal(crypto_generichash(out, 32, (const unsigned char *)"abc", 3, key, 32), 0);
    assert_hex(out, 32, "d63a32d3e44738d7907f964316c241adaba0abfeabc32349677578a15a203f7f");
}

static void test_xchacha20poly1305_draft_vector(void **state)
{
    static const char pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you "
                             "only one tip for the future, sunscreen would be it.";
    static const char ct_hex[] =
        "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a8"
        "2f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369"
        "488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e";
    unsigned char key[32];
    unsigned char nonce[24];
    unsigned char ad[12];
    unsigned char c[sizeof pt - 1 + 16];
    unsigned char m[sizeof pt];
    unsigned long long clen = 0;
    unsigned long long mlen = 0;
    size_t i;

    (void)state;
    for (i = 0; i < 32; i++)
        key[i] = (unsigned char)(0x80 + i);
    for (i = 0; i < 24; i++)
        nonce[i] = (unsigned char)(0x40 + i);
    unhex("50515253c0c1c2c3c4c5c6c7", ad, sizeof ad);
    crypto_aead_xchacha20poly1305_ietf_encrypt(c, &clen, (const unsigned char *)pt,
                                               sizeof pt - 1, ad, sizeof ad, NULL, nonce, key);
    assert_int_equal(clen, sizeof c);
    assert_hex(c, sizeof pt - 1, ct_hex);
    assert_hex(c + sizeof pt - 1, 16, "c0875924c1c7987947deafd8780acf49");
    assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(m, &mlen, NULL, c, clen, ad,
                                                                sizeof ad, nonce, key),
                     0);
    assert_memory_equal(m, pt, sizeof pt - 1);
    c[0] ^= 1;
    assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(m, &mlen, NULL, c, clen, ad,
                                                                sizeof ad, nonce, key),
                     -1);
}

static void test_ed25519_rfc8032(void **state)
{
    static const struct {
        const char *seed, *pk, *msg, *sig;
    } kat[] = {
        {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39"
         "701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f36"
         "13d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
        {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
         "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f7"
         "60984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        unsigned char seed[32], pk[32], sk[64], sig[64], msg[2];
        size_t mlen = strlen(kat[i].msg) / 2;

        unhex(kat[i].seed, seed, 32);
        if (mlen > 0)
            unhex(kat[i].msg, msg, mlen);
        crypto_sign_seed_keypair(pk, sk, seed);
        assert_hex(pk, 32, kat[i].pk);
        crypto_sign_detached(sig, NULL, msg, mlen, sk);
        assert_hex(sig, 64, kat[i].sig);
        assert_int_equal(crypto_sign_verify_detached(sig, msg, mlen, pk), 0);
        sig[63] ^= 0x40;
        assert_int_equal(crypto_sign_verify_detached(sig, msg, mlen, pk), -1);
        sodium_memzero(sk, sizeof sk);
    }
}

/* ---- janseva's derivations (vectors from crypto_kat.py) ---- */

static void test_kdf_subkeys(void **state)
{
    static const struct {
        enum cry_key_purpose p;
        uint32_t v;
        const char *want;
    } kat[] = {
        {CRY_KEY_PII, 1, "c564db05c158c2db98d5618347b8501d71514b169fe11cacf2968c3de58b01b6"},
        {CRY_KEY_PII, 2, "feeca4818febdbd313e4fbc3f46bb71993fb78298c8ed17016a2b90ddd58343a"},
        {CRY_KEY_INGRESS, 1, "32f42003054d9bb657bf54f3fa72d4664fe8ebeb7106855aa4d9694fb787ca62"},
        {CRY_KEY_TIP, 1, "8cdc1536fd0a3a11a4eefce8e3af9615cc52895cbd5ded613e190747c7fc338b"},
        {CRY_KEY_BIDX, 0, "f1e76cc4ccc025bf56c7398fa1bc76ecb9a56ee84361ef73c2ae58b4bdcf5ecd"},
        {CRY_KEY_MID, 0, "550e85db977e73cf2974e8a2f7bb5d305488d79be4d19806078f64bbb212efb3"},
        {CRY_KEY_DEDUPE, 0, "f63477ab1924e10e662646222bdb1e03a79d977e782b676a9a523fbe8cb50115"},
        {CRY_KEY_SESSION, 0, "4fa21b8410238d0d129ab98e51ff8b4607dddc8eef400b48d4a28d8c7d8361c8"},
        {CRY_KEY_AUDIT_MAC, 0, "244d956c20662e3366b550880cef21256f88454c8a813ba9d281536b47e7779e"},
    };
    struct cry_keys *k = test_keys();
    unsigned char sub[CRY_KEYBYTES];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        assert_int_equal(cry_keys_derive(k, kat[i].p, kat[i].v, sub), 0);
        assert_hex(sub, sizeof sub, kat[i].want);
        if (!cry_keys_purpose_versioned(kat[i].p))
            assert_hex(cry_keys_get(k, kat[i].p), CRY_KEYBYTES, kat[i].want);
        else
            assert_null(cry_keys_get(k, kat[i].p));
    }
    sodium_memzero(sub, sizeof sub);
    cry_keys_free(k);
}

static void test_bidx_and_mid_vectors(void **state)
{
    struct cry_keys *k = test_keys();
    unsigned char b[CRY_BIDX_BYTES];
    char mid[CRY_MID_LEN];
    struct core_err err;

    (void)state;
    assert_int_equal(cry_bidx_wa(k, "919812345678", b, &err), 0);
    assert_hex(b, sizeof b, "722a5a3ca81271fcf0bc1683d3445d2fa3c5f09e3ce485aacaa31fee28979602");
    assert_int_equal(cry_bidx_bsuid(k, "IN.15702938471625384950", b, &err), 0);
    assert_hex(b, sizeof b, "6e4d9d4d5a57ad13e5415d44737bb59d98b151a0fab4d0daeb66d0d290936a5c");
    assert_int_equal(cry_bidx_wa(k, "+919812345678", b, &err), 0);
    cry_identity_mid(k, b, 0, mid);
    assert_string_equal(mid, "eb2fda1f732be1cf3e63d340a2ed75a9");
    cry_identity_mid(k, b, 1, mid);
    assert_string_equal(mid, "04bb366c95ca53e5af0d8c84e4b4b492");
    cry_keys_free(k);
}

static void test_vault_golden(void **state)
{
    static const char sealed_hex[] =
        "4a56010101000000000102030405060708090a0b0c0d0e0f1011121314151617d36f601a32381e4c950c42"
        "ab0243050a845b0ef7641dd0c11efae051aba422389a9fede721e62a766def292c38bc9250b4bda6d6743275"
        "73c5afde0c98f762a8a9dcf8f4f78e2ce05224b48146320e2a";
    struct cry_keys *k = test_keys();
    unsigned char sealed[sizeof sealed_hex / 2];
    unsigned char out[64];
    struct core_err err;
    size_t n = 0;

    (void)state;
    unhex(sealed_hex, sealed, sizeof sealed);
    assert_int_equal(sizeof sealed, cry_vault_sealed_size(12));
    assert_int_equal(cry_vault_open(k, CRY_VAULT_PII, "0123456789abcdef0123456789abcdef", "wa",
                                    sealed, sizeof sealed, out, sizeof out, &n, &err),
                     0);
    assert_int_equal(n, 12);
    assert_memory_equal(out, "919812345678", 12);
    assert_int_equal(out[12], 0); /* NUL-terminated, padding wiped */
    cry_keys_free(k);
}

static void test_audit_vectors(void **state)
{
    static const char entry[] =
        "{\"seq\":1,\"ts\":1700000000000,\"actor\":\"system\",\"action\":\"keys.init\","
        "\"object\":\"keys\",\"reason\":\"\",\"prev\":"
        "\"0000000000000000000000000000000000000000000000000000000000000000\"}";
    static const char h1[] = "fbd8c0003b5a8c99054561c61fb8e2600c6fcd4c633abe94d4734d315b9ffa3a";
    struct cry_keys *k = test_keys();
    unsigned char zero[CRY_AUDIT_HASHBYTES] = {0};
    unsigned char h[CRY_AUDIT_HASHBYTES];
    unsigned char sig[CRY_SIGN_BYTES];
    char msg[200];

    (void)state;
    cry_audit_chain(zero, entry, strlen(entry), h);
    assert_hex(h, sizeof h, h1);
    assert_hex(cry_keys_meta(k)->audit_public, CRY_SIGN_PUBLICKEYBYTES,
               "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7");
    cry_audit_ckpt_message(1, 1700000000000LL, h1, msg, sizeof msg);
    assert_string_equal(msg, "janseva-audit-checkpoint-v1|1|1700000000000|" /* */
                             "fbd8c0003b5a8c99054561c61fb8e2600c6fcd4c633abe94d4734d315b9ffa3a");
    cry_keys_sign(k, msg, strlen(msg), sig);
    assert_hex(sig, sizeof sig,
               "39901ac04a2355d3c3f03ade6e3fb12c5dda52180b582674f217d0b0b536e2a64f88021678a39e0a"
               "7b7df9415109ba0d898df8d229270ea031e5efd442dd0308");
    cry_keys_free(k);
}

/* The fuzz seeds written by crypto_kat.py --seeds: valid ones must open or
 * verify here, which checks the sealed and export formats against an
 * implementation that does not use libsodium. */
static void test_independent_seeds(void **state)
{
    static const struct {
        const char *file;
        enum cry_vault_purpose p;
        const char *field;
        const char *plain;
    } vault[] = {
        {"tests/fuzz/corpus/vault/pii-wa-12", CRY_VAULT_PII, "wa", "919812345678"},
        {"tests/fuzz/corpus/vault/pii-nm-v2", CRY_VAULT_PII, "nm",
         "\xe0\xa4\xb8\xe0\xa5\x81\xe0\xa4\xa8\xe0\xa5\x80\xe0\xa4\xa4\xe0\xa4\xbe "
         "\xe0\xa4\xa6\xe0\xa5\x87\xe0\xa4\xb5\xe0\xa5\x80"}, /* सुनीता देवी */
        {"tests/fuzz/corpus/vault/ingress-body", CRY_VAULT_INGRESS, "b",
         "{\"object\":\"whatsapp_business_account\"}"},
        {"tests/fuzz/corpus/vault/tip-v7", CRY_VAULT_TIP, "wa", "IN.15702938471625384950"},
    };
    struct cry_keys *k = test_keys();
    struct cry_audit_report rep;
    struct core_err err;
    size_t i;
    FILE *in;

    (void)state;
    for (i = 0; i < sizeof vault / sizeof vault[0]; i++) {
        unsigned char c[512];
        unsigned char out[512];
        size_t n = 0;
        FILE *fp = fopen(vault[i].file, "rb");
        size_t len;

        if (fp == NULL)
            fail_msg("%s missing (run from the repository root)", vault[i].file);
        len = fread(c, 1, sizeof c, fp);
        fclose(fp);
        assert_int_equal(cry_vault_open(k, vault[i].p, "0123456789abcdef0123456789abcdef",
                                        vault[i].field, c, len, out, sizeof out, &n, &err),
                         0);
        assert_int_equal(n, strlen(vault[i].plain));
        assert_memory_equal(out, vault[i].plain, n);
    }
    in = fopen("tests/fuzz/corpus/audit/export-ok.jsonl", "r");
    assert_non_null(in);
    assert_int_equal(cry_audit_verify_file(cry_keys_meta(k)->audit_public, in, &rep, &err), 0);
    fclose(in);
    assert_false(rep.broken);
    assert_int_equal(rep.records, 5);
    assert_int_equal(rep.signed_upto, 5);
    in = fopen("tests/fuzz/corpus/audit/export-swapped.jsonl", "r");
    assert_non_null(in);
    assert_int_equal(cry_audit_verify_file(cry_keys_meta(k)->audit_public, in, &rep, &err), 0);
    fclose(in);
    assert_true(rep.broken);
    cry_keys_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blake2b_keyed_official),
        cmocka_unit_test(test_xchacha20poly1305_draft_vector),
        cmocka_unit_test(test_ed25519_rfc8032),
        cmocka_unit_test(test_kdf_subkeys),
        cmocka_unit_test(test_bidx_and_mid_vectors),
        cmocka_unit_test(test_vault_golden),
        cmocka_unit_test(test_audit_vectors),
        cmocka_unit_test(test_independent_seeds),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
