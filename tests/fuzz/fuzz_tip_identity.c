/*
 * tests/fuzz/fuzz_tip_identity.c - libFuzzer driver for the parser of a
 * revealed identity (the plaintext of a sealed identity): refuses or
 * accepts without a crash; what it accepts names a case id.
 */
#include "groups/tip.h"
#include "groups/tipreveal.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct grp_tiprv_identity *id;

    if (id == NULL) {
        if (sodium_init() < 0)
            abort();
        id = sodium_malloc(sizeof *id);
    }
    if (grp_tiprv_identity_parse((const char *)data, size, id) != 0)
        return 0;
    if (!grp_tip_is_case_id(id->case_id) || strlen(id->wa_id) > CRY_WA_ID_MAX ||
        strlen(id->name) > CRY_NAME_MAX)
        abort();
    return 0;
}
