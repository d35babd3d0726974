/*
 * tests/fuzz/fuzz_reveal_share.c - libFuzzer driver for the reveal share
 * file parser: any input is parsed or refused cleanly (the output wiped);
 * what parses formats back to a file that parses to the same share.
 */
#include "crypto/reveal.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cry_reveal_share *s, *t;
    static char text[CRY_REVEAL_SHARE_FILE_MAX];
    struct core_err err;

    if (s == NULL) {
        if (sodium_init() < 0)
            abort();
        s = cry_reveal_share_new();
        t = cry_reveal_share_new();
    }
    if (cry_reveal_share_parse((const char *)data, size, s, &err) != 0) {
        for (size_t i = 0; i < sizeof s->data; i++) {
            if (s->data[i] != 0)
                abort(); /* refused: nothing left behind */
        }
        return 0;
    }
    if (s->number == 0 || s->threshold < 2 || !cry_reveal_id_ok(s->custodian))
        abort();
    if (cry_reveal_share_format(s, text, sizeof text) < 0 ||
        cry_reveal_share_parse(text, strlen(text), t, &err) != 0 ||
        memcmp(s, t, sizeof *s) != 0)
        abort();
    return 0;
}
