/*
 * crypto/bidx.h - blind indexes: keyed BLAKE2b-256 of a normalised identity.
 *
 *   bidx(wa_id)  = BLAKE2b-256(key = K_bidx, "E164:" || digits)
 *   bidx(BSUID)  = BLAKE2b-256(key = K_bidx, "BSUID:" || user id)
 *
 * The full 32 bytes are used (never truncated: the index maps a number to
 * exactly one member, and truncation would merge people). The same identity
 * always gives the same index (equality leaks; that is the point of an
 * index), while without K_bidx nothing about it can be learned. K_bidx is
 * the crown jewel: with it, every Indian mobile number can be enumerated in
 * about half an hour (docs/threat-model.md).
 *
 * Normalisation: a wa_id may carry a leading '+' and must then be 3-20 ASCII
 * digits; a BSUID must look like one ("IN.1234...": two upper-case letters, a
 * dot, dot-separated alphanumerics, at most CRY_BIDX_MAX_ID bytes).
 */
#ifndef JANSEVA_CRYPTO_BIDX_H
#define JANSEVA_CRYPTO_BIDX_H

#include "core/err.h"
#include "crypto/keys.h"

#include <stddef.h>

#define CRY_BIDX_BYTES 32
#define CRY_BIDX_HEX (2 * CRY_BIDX_BYTES + 1)
#define CRY_BIDX_MAX_ID 192 /* longest BSUID accepted */

/*
 * Blind index of a wa_id (phone number digits). Returns 0, or -1 with
 * CORE_EX_DATAERR when `wa_id` is not 3-20 digits (the message never quotes
 * it).
 */
int cry_bidx_wa(const struct cry_keys *k, const char *wa_id, unsigned char out[CRY_BIDX_BYTES],
                struct core_err *err);

/* Blind index of a business-scoped user id. Returns 0 or -1 (CORE_EX_DATAERR). */
int cry_bidx_bsuid(const struct cry_keys *k, const char *user_id,
                   unsigned char out[CRY_BIDX_BYTES], struct core_err *err);

/* Copy the digits of a wa_id without its optional '+' into `out` (21 bytes).
 * Returns 0, or -1 if it is not 3-20 digits. */
int cry_bidx_normalise_wa(const char *wa_id, char out[21]);

/* True if `s` has the shape of a BSUID. */
int cry_bidx_is_bsuid(const char *s);

/* Lower-case hex of an index (CRY_BIDX_HEX bytes with the NUL). */
void cry_bidx_hex(const unsigned char bidx[CRY_BIDX_BYTES], char out[CRY_BIDX_HEX]);

#endif
