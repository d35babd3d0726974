/*
 * tests/fuzz/fuzz_tip_pseudonym.c - libFuzzer driver for the pseudonym
 * scanner (what citizens type when they quote their tip): never crashes;
 * whatever it finds is a canonical pseudonym with a valid check symbol, and
 * finding it again in its canonical form gives the same.
 */
#include "groups/tip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char p[GRP_TIP_PSEUDONYM_LEN];
    char q[GRP_TIP_PSEUDONYM_LEN];

    if (!grp_tip_pseudonym_scan((const char *)data, size, p))
        return 0;
    if (!grp_tip_pseudonym_valid(p))
        abort();
    if (!grp_tip_pseudonym_scan(p, strlen(p), q) || strcmp(p, q) != 0)
        abort();
    return 0;
}
