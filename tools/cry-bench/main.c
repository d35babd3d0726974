/*
 * tools/cry-bench/main.c - crypto benchmarks for `make bench`.
 *
 *   cry-bench primitives     seal/open of a 12-byte field and a 2 KiB body,
 *                            blind indexes, mids, audit hashes and
 *                            signatures per second, on one core; prints
 *                            "RESULT <name> <per second>" lines
 *   cry-bench generate N     write N member records sealed at the current
 *                            version (numbers 9195xxxxxxxx) to the Redis of
 *                            JANSEVA_REDIS with the keys of JANSEVA_KEYS_DIR,
 *                            through one pipeline, as a registry would
 *
 * Keys for `primitives` are fixed test bytes: nothing here touches real keys
 * or data.
 */
#include "core/redis.h"
#include "core/util.h"
#include "crypto/audit.h"
#include "crypto/bidx.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "crypto/vault.h"

#include <hiredis/hiredis.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS 1000

static void result(const char *name, long n, int64_t ms)
{
    printf("RESULT %s %.0f\n", name, (double)n * 1000.0 / (double)(ms > 0 ? ms : 1));
    fflush(stdout);
}

static int primitives(void)
{
    unsigned char root[32], seed[32];
    unsigned char sealed[4096], plain[4096], b[CRY_BIDX_BYTES], h[32], sig[64];
    char body[2048], mid[CRY_MID_LEN], wa[16];
    struct core_err err;
    struct cry_keys *k;
    int64_t t0;
    long n;
    size_t len = 0, out = 0;

    memset(root, 7, sizeof root);
    memset(seed, 9, sizeof seed);
    memset(body, 'x', sizeof body);
    k = cry_keys_from_bytes(root, seed);
    cry_keys_set_version(k, 1);
#define LOOP(name, stmt)                                                                           \
    for (n = 0, t0 = core_mono_ms(); core_mono_ms() - t0 < MIN_MS;) {                           \
        int i_;                                                                                    \
        for (i_ = 0; i_ < 1000; i_++, n++) {                                                       \
            stmt;                                                                                  \
        }                                                                                          \
    }                                                                                              \
    result(name, n, core_mono_ms() - t0)
    LOOP("seal_field_12B", cry_vault_seal(k, CRY_VAULT_PII, "0123456789abcdef0123456789abcdef",
                                          "wa", "919812345678", 12, sealed, sizeof sealed, &len,
                                          &err));
    LOOP("open_field_12B",
         if (cry_vault_open(k, CRY_VAULT_PII, "0123456789abcdef0123456789abcdef", "wa", sealed,
                            len, plain, sizeof plain, &out, &err) != 0) abort());
    LOOP("seal_body_2KiB", cry_vault_seal(k, CRY_VAULT_INGRESS, "0123456789abcdef", "b", body,
                                          sizeof body, sealed, sizeof sealed, &len, &err));
    LOOP("open_body_2KiB",
         if (cry_vault_open(k, CRY_VAULT_INGRESS, "0123456789abcdef", "b", sealed, len, plain,
                            sizeof plain, &out, &err) != 0) abort());
    LOOP("bidx_wa", snprintf(wa, sizeof wa, "9198%08ld", n % 100000000);
         cry_bidx_wa(k, wa, b, &err));
    LOOP("mid", cry_identity_mid(k, b, 0, mid));
    LOOP("audit_chain_200B", cry_audit_chain(h, body, 200, h));
    LOOP("audit_sign", cry_keys_sign(k, body, 120, sig));
#undef LOOP
    sodium_memzero(plain, sizeof plain);
    cry_keys_free(k);
    return 0;
}

static int generate(long count)
{
    const char *addr = getenv("JANSEVA_REDIS");
    const char *dir = getenv("JANSEVA_KEYS_DIR");
    struct core_redis_opts o;
    struct core_redis *r;
    struct core_err err;
    struct cry_keys *k;
    int64_t t0 = core_mono_ms();
    long i;
    int pending = 0;

    if (addr == NULL || dir == NULL) {
        fprintf(stderr, "cry-bench: set JANSEVA_REDIS and JANSEVA_KEYS_DIR\n");
        return 64;
    }
    k = cry_keys_load(dir, 0, &err);
    if (k == NULL) {
        fprintf(stderr, "cry-bench: %s\n", err.msg);
        return 78;
    }
    memset(&o, 0, sizeof o);
    o.addr = addr;
    r = core_redis_new(&o);
    if (cry_keys_refresh(k, r, &err) != 0) {
        fprintf(stderr, "cry-bench: %s\n", err.msg);
        return 69;
    }
    for (i = 0; i < count; i++) {
        unsigned char bidx[CRY_BIDX_BYTES], swa[128], snm[128], mbin[CRY_MID_BYTES];
        char wa[24], name[32], mid[CRY_MID_LEN], mkey[64], ikey[96];
        size_t lwa = 0, lnm = 0;
        const char *argv[8];
        size_t lens[8];
        int j;

        snprintf(wa, sizeof wa, "9195%08ld", i % 100000000);
        snprintf(name, sizeof name, "Member %ld", i);
        if (cry_bidx_wa(k, wa, bidx, &err) != 0)
            return 70;
        cry_identity_mid(k, bidx, 0, mid);
        sodium_hex2bin(mbin, sizeof mbin, mid, 2 * CRY_MID_BYTES, NULL, NULL, NULL);
        if (cry_vault_seal(k, CRY_VAULT_PII, mid, "wa", wa, strlen(wa), swa, sizeof swa, &lwa,
                           &err) != 0 ||
            cry_vault_seal(k, CRY_VAULT_PII, mid, "nm", name, strlen(name), snm, sizeof snm,
                           &lnm, &err) != 0)
            return 70;
        cry_identity_member_key(mid, mkey, sizeof mkey);
        cry_identity_index_key(bidx, ikey, sizeof ikey);
        argv[0] = "HSET";
        argv[1] = mkey;
        argv[2] = "wa";
        argv[3] = (const char *)swa;
        argv[4] = "nm";
        argv[5] = (const char *)snm;
        argv[6] = "kv";
        argv[7] = "1";
        for (j = 0; j < 8; j++)
            lens[j] = strlen(argv[j]);
        lens[3] = lwa;
        lens[5] = lnm;
        if (core_redis_append(r, 8, argv, lens, &err) != 0 ||
            core_redis_appendf(r, &err, "HSET %s %b %b", ikey, (const char *)bidx,
                           (size_t)CRY_BIDX_BYTES, (const char *)mbin, sizeof mbin) != 0)
            return 69;
        pending += 2;
        if (pending >= 2000 || i + 1 == count) {
            while (pending-- > 0) {
                if (core_redis_get_reply(r, NULL, &err) != 0) {
                    fprintf(stderr, "cry-bench: %s\n", err.msg);
                    return 69;
                }
            }
            pending = 0;
        }
    }
    result("generate_records", count, core_mono_ms() - t0);
    core_redis_free(r);
    cry_keys_free(k);
    return 0;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0)
        return 70;
    if (argc == 2 && strcmp(argv[1], "primitives") == 0)
        return primitives();
    if (argc == 3 && strcmp(argv[1], "generate") == 0)
        return generate(strtol(argv[2], NULL, 10));
    fprintf(stderr, "usage: cry-bench primitives | cry-bench generate N\n");
    return 64;
}
