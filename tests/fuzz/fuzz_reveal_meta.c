/*
 * tests/fuzz/fuzz_reveal_meta.c - libFuzzer driver for the reveal.json
 * parser: any input is accepted or refused without a crash; what is
 * accepted is consistent (key id of the public key, 2 <= K <= N, distinct
 * non-zero share numbers).
 */
#include "crypto/reveal.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct cry_reveal_meta m;
    struct core_err err;
    char id[CRY_KEY_ID_LEN];

    if (!ready) {
        if (sodium_init() < 0)
            abort();
        ready = 1;
    }
    if (cry_reveal_meta_parse((const char *)data, size, &m, &err) != 0)
        return 0;
    cry_reveal_key_id(m.pk, id);
    if (strcmp(id, m.id) != 0 || m.threshold < 2 || m.threshold > m.n ||
        m.n > CRY_REVEAL_MAX_CUSTODIANS)
        abort();
    for (unsigned i = 0; i < m.n; i++) {
        if (m.custodians[i].number == 0 || !cry_reveal_id_ok(m.custodians[i].id) ||
            cry_reveal_custodian_find(&m, m.custodians[i].id) != &m.custodians[i])
            abort();
        for (unsigned j = 0; j < i; j++) {
            if (m.custodians[j].number == m.custodians[i].number)
                abort();
        }
    }
    return 0;
}
