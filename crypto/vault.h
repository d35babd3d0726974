/*
 * crypto/vault.h - seal and open one field of personal data.
 *
 * A sealed field is XChaCha20-Poly1305 (IETF AEAD) under the subkey of its
 * purpose and key version, with a small versioned header in front:
 *
 *   magic "JV" | u8 format (1) | u8 purpose | u32 key_version LE | nonce[24]
 *   | ciphertext || tag[16]
 *
 * The associated data is the whole 32-byte header, the record id, a 0x00
 * byte and the field name, so a ciphertext copied to another record, another
 * field, another purpose or edited to claim another key version fails to
 * open. Plaintexts are padded (ISO/IEC 7816-4, sodium_pad) to a multiple of
 * CRY_VAULT_PADBLOCK bytes before encryption so that the lengths of numbers
 * and short names do not show. Format 2 (CRY_VAULT_FORMAT_SHORT, written by
 * cry_vault_seal_short) pads to CRY_VAULT_PADBLOCK_SHORT instead: for values
 * whose lengths barely vary (phone numbers: 16 bytes hide every length up
 * to 15 digits) where the memory matters (one per member; issue #6).
 * Opening handles both formats. Nonces are random (24 bytes: no reuse worry).
 *
 * Buffers belong to the caller; sizes come from cry_vault_sealed_size and
 * cry_vault_open_size. Open is warn_unused_result; on every failure it
 * leaves `out` zeroed and *out_len 0. Error messages never contain data.
 * Everything here is thread-safe given a loaded struct cry_keys.
 */
#ifndef JANSEVA_CRYPTO_VAULT_H
#define JANSEVA_CRYPTO_VAULT_H

#include "core/err.h"
#include "crypto/keys.h"

#include <stddef.h>
#include <stdint.h>

#define CRY_VAULT_MAGIC0 'J'
#define CRY_VAULT_MAGIC1 'V'
#define CRY_VAULT_FORMAT 1
#define CRY_VAULT_NONCEBYTES 24
#define CRY_VAULT_HEADERBYTES 32 /* 2 + 1 + 1 + 4 + 24 */
#define CRY_VAULT_ABYTES 16      /* Poly1305 tag */
#define CRY_VAULT_PADBLOCK 64    /* plaintexts are padded to a multiple of this */
#define CRY_VAULT_FORMAT_SHORT 2 /* the same, padded to CRY_VAULT_PADBLOCK_SHORT */
#define CRY_VAULT_PADBLOCK_SHORT 16
#define CRY_VAULT_MAX_PLAIN (64UL * 1024 * 1024) /* larger fields are refused */
#define CRY_VAULT_MAX_ID 256     /* longest record id or field name */

/* What a sealed value is; stored in the header and bound as AD. */
enum cry_vault_purpose {
    CRY_VAULT_PII = 1,     /* member fields: key CRY_KEY_PII */
    CRY_VAULT_INGRESS = 2, /* webhook bodies: key CRY_KEY_INGRESS */
    CRY_VAULT_TIP = 3,     /* tip relay records: key CRY_KEY_TIP */
};

/* A parsed header. */
struct cry_vault_header {
    unsigned format;       /* CRY_VAULT_FORMAT */
    unsigned purpose;      /* enum cry_vault_purpose */
    uint32_t key_version;  /* >= 1 */
    const unsigned char *nonce; /* borrowed: points into the sealed value */
};

/* Size of the sealed form of `plain_len` bytes (header + padded + tag). */
size_t cry_vault_sealed_size(size_t plain_len);

/* The same for cry_vault_seal_short. */
size_t cry_vault_sealed_size_short(size_t plain_len);

/* Capacity `out` needs to open a sealed value of `sealed_len` bytes (0 if
 * the value is too short to be sealed). */
size_t cry_vault_open_size(size_t sealed_len);

/*
 * Parse and check the header of `len` bytes: magic, format, a known purpose,
 * a non-zero key version, and a length that can hold a header, one padded
 * block and a tag. Returns 0 or -1 (nothing else is checked).
 */
int cry_vault_header_parse(const unsigned char *c, size_t len, struct cry_vault_header *h)
    __attribute__((warn_unused_result));

/*
 * Seal `plain_len` bytes of `plain` for `purpose` at the current key version
 * of `k` (cry_keys_version; fails with CORE_EX_UNAVAILABLE while unknown),
 * bound to `record_id` and `field` (non-empty strings, at most
 * CRY_VAULT_MAX_ID bytes). `out` has cry_vault_sealed_size(plain_len) bytes;
 * *out_len receives the length written. Returns 0 or -1.
 */
int cry_vault_seal(const struct cry_keys *k, enum cry_vault_purpose purpose,
                   const char *record_id, const char *field, const void *plain,
                   size_t plain_len, unsigned char *out, size_t out_cap, size_t *out_len,
                   struct core_err *err);

/* cry_vault_seal with an explicit key version (>= 1): rotation uses it. */
int cry_vault_seal_version(const struct cry_keys *k, enum cry_vault_purpose purpose,
                           uint32_t version, const char *record_id, const char *field,
                           const void *plain, size_t plain_len, unsigned char *out,
                           size_t out_cap, size_t *out_len, struct core_err *err);

/* cry_vault_seal_version in format 2: padded to CRY_VAULT_PADBLOCK_SHORT
 * (`out` has cry_vault_sealed_size_short(plain_len) bytes). */
int cry_vault_seal_short(const struct cry_keys *k, enum cry_vault_purpose purpose,
                         uint32_t version, const char *record_id, const char *field,
                         const void *plain, size_t plain_len, unsigned char *out,
                         size_t out_cap, size_t *out_len, struct core_err *err);

/*
 * Open `c_len` bytes sealed for `purpose`, `record_id` and `field` into
 * `out` (cry_vault_open_size(c_len) bytes; the plaintext is NUL-terminated
 * when it fits, for convenience). The key version is taken from the header.
 * Returns 0 with *out_len set, or -1 (CORE_EX_DATAERR) for anything wrong:
 * bad header, wrong purpose, forged or moved ciphertext, bad padding. On
 * failure `out` is wiped.
 */
int cry_vault_open(const struct cry_keys *k, enum cry_vault_purpose purpose,
                   const char *record_id, const char *field, const unsigned char *c,
                   size_t c_len, unsigned char *out, size_t out_cap, size_t *out_len,
                   struct core_err *err) __attribute__((warn_unused_result));

/* The key version of a sealed value, or 0 if the header is bad. */
uint32_t cry_vault_version(const unsigned char *c, size_t len);

#endif
