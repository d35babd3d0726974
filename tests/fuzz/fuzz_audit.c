/*
 * tests/fuzz/fuzz_audit.c - libFuzzer driver for the audit export parser
 * and verifier (cry_audit_verify_file): any input must produce a report,
 * never a crash. The trusted key is the Ed25519 key of seed 20..3f, which
 * signed the seeds written by tests/unit/crypto_kat.py --seeds. A report
 * that says "ok" must be consistent: records first..last all counted and
 * signed to the end.
 */
#include "crypto/audit.h"
#include "crypto/keys.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char *public_key(void)
{
    static unsigned char pk[32];
    static int done;

    if (!done) {
        unsigned char seed[32];
        unsigned char sk[64];
        int i;

        if (sodium_init() < 0)
            abort();
        for (i = 0; i < 32; i++)
            seed[i] = (unsigned char)(32 + i);
        crypto_sign_seed_keypair(pk, sk, seed);
        done = 1;
    }
    return pk;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cry_audit_report rep;
    struct core_err err;
    FILE *in;

    if (size == 0)
        return 0;
    in = fmemopen((void *)(uintptr_t)data, size, "r");
    if (in == NULL)
        return 0;
    if (cry_audit_verify_file(public_key(), in, &rep, &err) != 0)
        abort(); /* memory streams have no I/O errors */
    fclose(in);
    if (!rep.broken && rep.records > 0 &&
        (rep.last_seq - rep.first_seq + 1 != rep.records || rep.signed_upto < rep.last_seq))
        abort();
    if (rep.broken && rep.problem[0] == '\0')
        abort();
    return 0;
}
