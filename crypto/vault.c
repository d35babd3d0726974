/*
 * crypto/vault.c - XChaCha20-Poly1305 field sealing with a versioned header
 * (see vault.h).
 */
#include "crypto/vault.h"

#include <sodium.h>
#include <string.h>

#define AD_MAX (CRY_VAULT_HEADERBYTES + 2 * CRY_VAULT_MAX_ID + 1)

_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == CRY_VAULT_NONCEBYTES, "nonce");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == CRY_VAULT_ABYTES, "tag");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == CRY_KEYBYTES, "key");
_Static_assert(CRY_VAULT_HEADERBYTES == 2 + 1 + 1 + 4 + CRY_VAULT_NONCEBYTES, "header layout");

#define OFF_FORMAT 2
#define OFF_PURPOSE 3
#define OFF_VERSION 4
#define OFF_NONCE 8

static size_t padded_block(size_t plain_len, size_t block)
{
    return (plain_len / block + 1) * block;
}

static size_t padded_size(size_t plain_len)
{
    return padded_block(plain_len, CRY_VAULT_PADBLOCK);
}

/* The padding block of a format (0 for an unknown format). */
static size_t block_of(unsigned format)
{
    return format == CRY_VAULT_FORMAT         ? CRY_VAULT_PADBLOCK
           : format == CRY_VAULT_FORMAT_SHORT ? CRY_VAULT_PADBLOCK_SHORT
                                              : 0;
}

size_t cry_vault_sealed_size(size_t plain_len)
{
    return CRY_VAULT_HEADERBYTES + padded_size(plain_len) + CRY_VAULT_ABYTES;
}

size_t cry_vault_sealed_size_short(size_t plain_len)
{
    return CRY_VAULT_HEADERBYTES + padded_block(plain_len, CRY_VAULT_PADBLOCK_SHORT) +
           CRY_VAULT_ABYTES;
}

size_t cry_vault_open_size(size_t sealed_len)
{
    if (sealed_len < CRY_VAULT_HEADERBYTES + CRY_VAULT_PADBLOCK_SHORT + CRY_VAULT_ABYTES)
        return 0;
    return sealed_len - CRY_VAULT_HEADERBYTES - CRY_VAULT_ABYTES;
}

static int key_purpose(unsigned purpose, enum cry_key_purpose *out)
{
    switch (purpose) {
    case CRY_VAULT_PII:
        *out = CRY_KEY_PII;
        return 0;
    case CRY_VAULT_INGRESS:
        *out = CRY_KEY_INGRESS;
        return 0;
    case CRY_VAULT_TIP:
        *out = CRY_KEY_TIP;
        return 0;
    default:
        return -1;
    }
}

int cry_vault_header_parse(const unsigned char *c, size_t len, struct cry_vault_header *h)
{
    enum cry_key_purpose kp;
    size_t body;
    size_t block;

    memset(h, 0, sizeof *h);
    if (c == NULL || len < CRY_VAULT_HEADERBYTES + CRY_VAULT_PADBLOCK_SHORT + CRY_VAULT_ABYTES)
        return -1;
    block = block_of(c[OFF_FORMAT]);
    if (c[0] != CRY_VAULT_MAGIC0 || c[1] != CRY_VAULT_MAGIC1 || block == 0)
        return -1;
    if (len < CRY_VAULT_HEADERBYTES + block + CRY_VAULT_ABYTES)
        return -1;
    if (key_purpose(c[OFF_PURPOSE], &kp) != 0)
        return -1;
    body = len - CRY_VAULT_HEADERBYTES - CRY_VAULT_ABYTES;
    if (body % block != 0 || body > padded_size(CRY_VAULT_MAX_PLAIN))
        return -1;
    h->format = c[OFF_FORMAT];
    h->purpose = c[OFF_PURPOSE];
    h->key_version = (uint32_t)c[OFF_VERSION] | (uint32_t)c[OFF_VERSION + 1] << 8 |
                     (uint32_t)c[OFF_VERSION + 2] << 16 | (uint32_t)c[OFF_VERSION + 3] << 24;
    h->nonce = c + OFF_NONCE;
    if (h->key_version == 0) {
        memset(h, 0, sizeof *h);
        return -1;
    }
    return 0;
}

uint32_t cry_vault_version(const unsigned char *c, size_t len)
{
    struct cry_vault_header h;

    if (cry_vault_header_parse(c, len, &h) != 0)
        return 0;
    return h.key_version;
}

/* AD = header || record id || 0x00 || field. Returns its length or 0. */
static size_t build_ad(unsigned char ad[AD_MAX], const unsigned char *header,
                       const char *record_id, const char *field)
{
    size_t rl;
    size_t fl;

    if (record_id == NULL || field == NULL)
        return 0;
    rl = strlen(record_id);
    fl = strlen(field);
    if (rl == 0 || fl == 0 || rl > CRY_VAULT_MAX_ID || fl > CRY_VAULT_MAX_ID)
        return 0;
    memcpy(ad, header, CRY_VAULT_HEADERBYTES);
    memcpy(ad + CRY_VAULT_HEADERBYTES, record_id, rl);
    ad[CRY_VAULT_HEADERBYTES + rl] = 0x00;
    memcpy(ad + CRY_VAULT_HEADERBYTES + rl + 1, field, fl);
    return CRY_VAULT_HEADERBYTES + rl + 1 + fl;
}

static int seal(const struct cry_keys *k, enum cry_vault_purpose purpose, uint32_t version,
                unsigned format, const char *record_id, const char *field, const void *plain,
                size_t plain_len, unsigned char *out, size_t out_cap, size_t *out_len,
                struct core_err *err)
{
    unsigned char key[CRY_KEYBYTES];
    unsigned char ad[AD_MAX];
    enum cry_key_purpose kp;
    size_t padded;
    size_t padded_len = 0;
    size_t ad_len;
    size_t need;
    unsigned char *body;

    *out_len = 0;
    if (key_purpose((unsigned)purpose, &kp) != 0)
        return core_err_set(err, CORE_EX_SOFTWARE, "vault: unknown purpose");
    if (version == 0)
        return core_err_set(err, CORE_EX_UNAVAILABLE, "vault: current key version unknown");
    if (plain_len > CRY_VAULT_MAX_PLAIN || (plain == NULL && plain_len > 0))
        return core_err_set(err, CORE_EX_DATAERR, "vault: value too large to seal");
    padded = padded_block(plain_len, block_of(format));
    need = CRY_VAULT_HEADERBYTES + padded + CRY_VAULT_ABYTES;
    if (out_cap < need)
        return core_err_set(err, CORE_EX_SOFTWARE, "vault: output buffer too small");
    out[0] = CRY_VAULT_MAGIC0;
    out[1] = CRY_VAULT_MAGIC1;
    out[OFF_FORMAT] = (unsigned char)format;
    out[OFF_PURPOSE] = (unsigned char)purpose;
    out[OFF_VERSION] = (unsigned char)(version & 0xff);
    out[OFF_VERSION + 1] = (unsigned char)((version >> 8) & 0xff);
    out[OFF_VERSION + 2] = (unsigned char)((version >> 16) & 0xff);
    out[OFF_VERSION + 3] = (unsigned char)((version >> 24) & 0xff);
    randombytes_buf(out + OFF_NONCE, CRY_VAULT_NONCEBYTES);
    ad_len = build_ad(ad, out, record_id, field);
    if (ad_len == 0) {
        sodium_memzero(out, CRY_VAULT_HEADERBYTES);
        return core_err_set(err, CORE_EX_SOFTWARE, "vault: bad record id or field name");
    }
    /* Pad and encrypt in place in `out`: the plaintext is there only
     * transiently and is overwritten by the ciphertext. */
    body = out + CRY_VAULT_HEADERBYTES;
    if (plain_len > 0)
        memmove(body, plain, plain_len);
    if (sodium_pad(&padded_len, body, plain_len, block_of(format), padded) != 0 ||
        padded_len != padded || cry_keys_derive(k, kp, version, key) != 0) {
        sodium_memzero(out, need);
        sodium_memzero(key, sizeof key);
        return core_err_set(err, CORE_EX_SOFTWARE, "vault: cannot prepare the value");
    }
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(body, body + padded, NULL, body, padded,
                                                        ad, ad_len, NULL, out + OFF_NONCE, key);
    sodium_memzero(key, sizeof key);
    *out_len = need;
    return 0;
}

int cry_vault_seal_version(const struct cry_keys *k, enum cry_vault_purpose purpose,
                           uint32_t version, const char *record_id, const char *field,
                           const void *plain, size_t plain_len, unsigned char *out,
                           size_t out_cap, size_t *out_len, struct core_err *err)
{
    return seal(k, purpose, version, CRY_VAULT_FORMAT, record_id, field, plain, plain_len, out,
                out_cap, out_len, err);
}

int cry_vault_seal_short(const struct cry_keys *k, enum cry_vault_purpose purpose,
                         uint32_t version, const char *record_id, const char *field,
                         const void *plain, size_t plain_len, unsigned char *out,
                         size_t out_cap, size_t *out_len, struct core_err *err)
{
    return seal(k, purpose, version, CRY_VAULT_FORMAT_SHORT, record_id, field, plain,
                plain_len, out, out_cap, out_len, err);
}

int cry_vault_seal(const struct cry_keys *k, enum cry_vault_purpose purpose,
                   const char *record_id, const char *field, const void *plain,
                   size_t plain_len, unsigned char *out, size_t out_cap, size_t *out_len,
                   struct core_err *err)
{
    return cry_vault_seal_version(k, purpose, cry_keys_version(k), record_id, field, plain,
                                  plain_len, out, out_cap, out_len, err);
}

int cry_vault_open(const struct cry_keys *k, enum cry_vault_purpose purpose,
                   const char *record_id, const char *field, const unsigned char *c,
                   size_t c_len, unsigned char *out, size_t out_cap, size_t *out_len,
                   struct core_err *err)
{
    struct cry_vault_header h;
    unsigned char key[CRY_KEYBYTES];
    unsigned char ad[AD_MAX];
    enum cry_key_purpose kp;
    size_t padded;
    size_t plain_len = 0;
    size_t ad_len;
    int rc;

    *out_len = 0;
    if (out != NULL && out_cap > 0)
        sodium_memzero(out, out_cap);
    if (cry_vault_header_parse(c, c_len, &h) != 0)
        return core_err_set(err, CORE_EX_DATAERR, "vault: not a sealed value (bad header)");
    if (h.purpose != (unsigned)purpose || key_purpose(h.purpose, &kp) != 0)
        return core_err_set(err, CORE_EX_DATAERR, "vault: sealed for another purpose");
    padded = c_len - CRY_VAULT_HEADERBYTES - CRY_VAULT_ABYTES;
    if (out == NULL || out_cap < padded)
        return core_err_set(err, CORE_EX_SOFTWARE, "vault: output buffer too small");
    ad_len = build_ad(ad, c, record_id, field);
    if (ad_len == 0)
        return core_err_set(err, CORE_EX_SOFTWARE, "vault: bad record id or field name");
    if (cry_keys_derive(k, kp, h.key_version, key) != 0) {
        sodium_memzero(key, sizeof key);
        return core_err_set(err, CORE_EX_DATAERR, "vault: no key for this value");
    }
    /* Verifies the tag before writing anything to `out`. */
    rc = crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
        out, NULL, c + CRY_VAULT_HEADERBYTES, padded, c + CRY_VAULT_HEADERBYTES + padded, ad,
        ad_len, h.nonce, key);
    sodium_memzero(key, sizeof key);
    if (rc != 0) {
        sodium_memzero(out, out_cap);
        return core_err_set(err, CORE_EX_DATAERR,
                            "vault: sealed value does not open (forged, damaged or moved)");
    }
    if (sodium_unpad(&plain_len, out, padded, block_of(h.format)) != 0) {
        sodium_memzero(out, out_cap);
        return core_err_set(err, CORE_EX_DATAERR, "vault: sealed value has bad padding");
    }
    /* Wipe the padding bytes and terminate for text callers. */
    sodium_memzero(out + plain_len, padded - plain_len);
    *out_len = plain_len;
    return 0;
}
