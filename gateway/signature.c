/*
 * gateway/signature.c - HMAC-SHA256 webhook signatures (see signature.h).
 *
 * crypto_auth_hmacsha256_init() takes a key of any length, unlike the
 * one-shot crypto_auth_hmacsha256() which needs exactly 32 bytes; Meta App
 * Secrets are 32 hex characters but nothing guarantees it.
 */
#include "gateway/signature.h"

#include <sodium.h>
#include <string.h>

static void hmac(const char *secret, size_t secret_len, const void *body, size_t len,
                 unsigned char out[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, secret_len);
    crypto_auth_hmacsha256_update(&st, body, len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

enum gw_sig_result gw_sig_verify(const char *secret, size_t secret_len, const char *header,
                                 const void *body, size_t len)
{
    unsigned char want[crypto_auth_hmacsha256_BYTES];
    unsigned char got[crypto_auth_hmacsha256_BYTES];
    size_t got_len = 0;
    const char *end = NULL;
    int rc;

    if (header == NULL || header[0] == '\0')
        return GW_SIG_MISSING;
    if (strlen(header) != GW_SIG_HEADER_LEN || memcmp(header, GW_SIG_PREFIX, 7) != 0)
        return GW_SIG_MALFORMED;
    if (sodium_hex2bin(got, sizeof got, header + 7, 64, NULL, &got_len, &end) != 0 ||
        got_len != sizeof got || end != header + GW_SIG_HEADER_LEN)
        return GW_SIG_MALFORMED;
    hmac(secret, secret_len, body, len, want);
    rc = sodium_memcmp(want, got, sizeof want);
    sodium_memzero(want, sizeof want);
    return rc == 0 ? GW_SIG_OK : GW_SIG_MISMATCH;
}

void gw_sig_compute(const char *secret, size_t secret_len, const void *body, size_t len,
                    char out[GW_SIG_HEADER_LEN + 1])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];

    hmac(secret, secret_len, body, len, mac);
    memcpy(out, GW_SIG_PREFIX, 7);
    sodium_bin2hex(out + 7, 65, mac, sizeof mac);
    sodium_memzero(mac, sizeof mac);
}

int gw_sig_token_equal(const char *a, const char *b)
{
    unsigned char ha[32];
    unsigned char hb[32];
    int eq;

    if (a == NULL || b == NULL)
        return 0;
    /* Hash both so the comparison time depends on neither length. */
    crypto_generichash(ha, sizeof ha, (const unsigned char *)a, strlen(a), NULL, 0);
    crypto_generichash(hb, sizeof hb, (const unsigned char *)b, strlen(b), NULL, 0);
    eq = sodium_memcmp(ha, hb, sizeof ha) == 0;
    sodium_memzero(ha, sizeof ha);
    sodium_memzero(hb, sizeof hb);
    return eq;
}

const char *gw_sig_result_name(enum gw_sig_result r)
{
    switch (r) {
    case GW_SIG_OK:
        return "ok";
    case GW_SIG_MISSING:
        return "missing";
    case GW_SIG_MALFORMED:
        return "malformed";
    case GW_SIG_MISMATCH:
        return "mismatch";
    }
    return "unknown";
}
