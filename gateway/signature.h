/*
 * gateway/signature.h - Meta's X-Hub-Signature-256 and the verify token.
 *
 * Meta signs every webhook POST with HMAC-SHA256 keyed by the App Secret
 * over the exact raw body bytes; the header is "sha256=" followed by 64
 * lower-case hex digits (71 characters). Verification must run on the raw
 * bytes before any JSON parsing and compares in constant time.
 */
#ifndef JANSEVA_GATEWAY_SIGNATURE_H
#define JANSEVA_GATEWAY_SIGNATURE_H

#include <stddef.h>

#define GW_SIG_HEADER "X-Hub-Signature-256"
#define GW_SIG_PREFIX "sha256="
#define GW_SIG_HEADER_LEN 71 /* "sha256=" + 64 hex digits */

enum gw_sig_result {
    GW_SIG_OK = 0,
    GW_SIG_MISSING,   /* no header */
    GW_SIG_MALFORMED, /* wrong length, prefix or hex */
    GW_SIG_MISMATCH,  /* well-formed but wrong */
};

/*
 * Check `header` (may be NULL) against HMAC-SHA256(secret, body). Returns
 * GW_SIG_OK only for an exact match. Never reads past `len` bytes of body.
 */
enum gw_sig_result gw_sig_verify(const char *secret, size_t secret_len, const char *header,
                                 const void *body, size_t len)
    __attribute__((warn_unused_result));

/* Write the header value for `body` into `out` (GW_SIG_HEADER_LEN + 1). */
void gw_sig_compute(const char *secret, size_t secret_len, const void *body, size_t len,
                    char out[GW_SIG_HEADER_LEN + 1]);

/* Constant-time equality of two tokens (lengths may differ). */
int gw_sig_token_equal(const char *a, const char *b);

/* "ok", "missing", "malformed", "mismatch". */
const char *gw_sig_result_name(enum gw_sig_result r);

#endif
