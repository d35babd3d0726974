/*
 * tests/fuzz/fuzz_vault.c - libFuzzer driver for the sealed-value header
 * parser and cry_vault_open: any input must be rejected cleanly (-1, output
 * wiped, length 0) unless it is a genuine sealed value, never crash. Keys:
 * root 00..1f (the test vectors' root), record id "0123...cdef" (32 hex), so
 * the seeds written by tests/unit/crypto_kat.py --seeds open. Whatever opens
 * must round-trip through seal and open again.
 */
#include "crypto/keys.h"
#include "crypto/vault.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RECORD "0123456789abcdef0123456789abcdef"

static struct cry_keys *keys(void)
{
    static struct cry_keys *k;

    if (k == NULL) {
        unsigned char root[32];
        unsigned char seed[32];
        int i;

        if (sodium_init() < 0)
            abort();
        for (i = 0; i < 32; i++) {
            root[i] = (unsigned char)i;
            seed[i] = (unsigned char)(32 + i);
        }
        k = cry_keys_from_bytes(root, seed);
        cry_keys_set_version(k, 1);
    }
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fields[] = {"wa", "nm", "b"};
    static const enum cry_vault_purpose purposes[] = {CRY_VAULT_PII, CRY_VAULT_INGRESS,
                                                      CRY_VAULT_TIP};
    struct cry_vault_header h;
    size_t cap = cry_vault_open_size(size);
    unsigned char *out = malloc(cap + 1);
    int parsed = cry_vault_header_parse(data, size, &h);
    size_t p;
    size_t f;

    if (parsed == 0 && (h.key_version == 0 || h.nonce != data + 8 || cap == 0))
        abort();
    if (parsed != 0 && cry_vault_version(data, size) != 0)
        abort();
    for (p = 0; p < 3; p++) {
        for (f = 0; f < 3; f++) {
            struct core_err err;
            size_t n = 12345;
            int rc;

            memset(out, 0xAA, cap + 1);
            rc = cry_vault_open(keys(), purposes[p], RECORD, fields[f], data, size, out, cap, &n,
                                &err);
            if (rc != 0) {
                if (n != 0 || !all_zero(out, cap))
                    abort(); /* a failure must leave nothing behind */
                continue;
            }
            if (parsed != 0 || h.purpose != (unsigned)purposes[p] || n >= cap || out[n] != 0)
                abort();
            {
                /* what opened seals and opens again to the same bytes */
                size_t scap = cry_vault_sealed_size(n);
                unsigned char *c = malloc(scap);
                unsigned char *back = malloc(cap);
                size_t clen = 0;
                size_t blen = 0;

                if (cry_vault_seal(keys(), purposes[p], RECORD, fields[f], out, n, c, scap, &clen,
                                   &err) != 0 ||
                    cry_vault_open(keys(), purposes[p], RECORD, fields[f], c, clen, back, cap,
                                   &blen, &err) != 0 ||
                    blen != n || memcmp(back, out, n) != 0)
                    abort();
                free(c);
                free(back);
            }
        }
    }
    free(out);
    return 0;
}
