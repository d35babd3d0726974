/*
 * tests/fuzz/fuzz_mrec.c - libFuzzer driver for the packed member record
 * decoder (crypto/mrec.h): any input is either rejected cleanly (-1,
 * CORE_EX_DATAERR, nothing present) or decodes to fields that lie inside
 * the input and re-encode to exactly the same bytes (the encoding is
 * canonical when tags are in order); every field reads back in text form
 * without overrunning its buffer.
 */
#include "crypto/mrec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cry_mrec m;
    static unsigned char out[CRY_MREC_MAX];
    struct core_err err;
    char text[CRY_MREC_VALUE_MAX + 1];
    int ordered = 1;
    int last = 0;
    int t;

    if (cry_mrec_decode(data, size, &m, &err) != 0) {
        if (err.code != CORE_EX_DATAERR || m.exists)
            abort();
        for (t = 1; t < CRY_MR_TAGS; t++) {
            if (m.v[t] != NULL)
                abort();
        }
        return 0;
    }
    for (t = 1; t < CRY_MR_TAGS; t++) {
        if (m.v[t] == NULL)
            continue;
        if (m.v[t] < m.buf || m.v[t] + m.len[t] > m.buf + m.buf_len)
            abort();
        cry_mrec_str(&m, t, text, sizeof text);
        (void)cry_mrec_int(&m, t);
    }
    /* canonical inputs (tags ascending, short lengths in one byte)
     * re-encode to themselves */
    for (size_t i = 1; i < size;) {
        size_t l = data[i + 1];
        size_t hdr = 2;

        if (l >= 128) {
            l = (l - 128) + (size_t)data[i + 2] * 128;
            hdr = 3;
            if (l < 128)
                ordered = 0;
        }
        if (data[i] <= last)
            ordered = 0;
        last = data[i];
        i += hdr + l;
    }
    if (ordered) {
        size_t n = cry_mrec_encode(&m, out, sizeof out);

        if (n != size || memcmp(out, data, size) != 0)
            abort();
    }
    return 0;
}
