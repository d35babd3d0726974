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
#include "crypto/mrec.h"
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
    struct cry_identity *id;
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
    id = cry_identity_new(k);
    if (cry_mrec_prepare(r, &err) != 0) {
        fprintf(stderr, "cry-bench: %s\n", err.msg);
        return 69;
    }
    for (i = 0; i < count; i++) {
        char wa[24], mid[CRY_MID_LEN];
        int replies = 0;

        snprintf(wa, sizeof wa, "9195%08ld", i % 100000000);
        /* exactly what the registry writes for a new member */
        if (cry_identity_append_bulk(id, r, wa, 1763800000, 0, mid, &replies, &err) != 0)
            return 69;
        pending += replies;
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
    cry_identity_free(id);
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
