/*
 * tests/fuzz/fuzz_signature.c - libFuzzer driver for the X-Hub-Signature-256
 * header check: the first bytes (up to a NUL) are the header, the rest the
 * body. Only the true HMAC may verify.
 */
#include "gateway/signature.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char secret[] = "fuzz-app-secret";
    const uint8_t *nul = memchr(data, 0, size);
    char header[128];
    char good[GW_SIG_HEADER_LEN + 1];
    size_t hl;
    const uint8_t *body;
    size_t body_len;
    enum gw_sig_result r;

    if (nul == NULL)
        return 0;
    hl = (size_t)(nul - data);
    if (hl >= sizeof header)
        return 0;
    memcpy(header, data, hl);
    header[hl] = '\0';
    body = nul + 1;
    body_len = size - hl - 1;
    r = gw_sig_verify(secret, sizeof secret - 1, header, body, body_len);
    gw_sig_compute(secret, sizeof secret - 1, body, body_len, good);
    /* OK exactly when the header equals the true value (hex case aside) */
    if (r == GW_SIG_OK && strncasecmp(header, good, sizeof good) != 0)
        abort();
    if (gw_sig_verify(secret, sizeof secret - 1, good, body, body_len) != GW_SIG_OK)
        abort();
    return 0;
}
