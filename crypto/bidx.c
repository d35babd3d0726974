/*
 * crypto/bidx.c - blind indexes (see bidx.h).
 */
#include "crypto/bidx.h"
#include "core/util.h"

#include <sodium.h>
#include <string.h>

#define WA_PREFIX "E164:"
#define BSUID_PREFIX "BSUID:"

int cry_bidx_normalise_wa(const char *wa_id, char out[21])
{
    size_t n;
    size_t i;

    out[0] = '\0';
    if (wa_id == NULL)
        return -1;
    if (wa_id[0] == '+')
        wa_id++;
    n = strlen(wa_id);
    if (n < 3 || n > 20)
        return -1;
    for (i = 0; i < n; i++) {
        if (wa_id[i] < '0' || wa_id[i] > '9')
            return -1;
    }
    memcpy(out, wa_id, n + 1);
    return 0;
}

static int is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static int is_alnum(char c)
{
    return is_upper(c) || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int cry_bidx_is_bsuid(const char *s)
{
    size_t n;
    size_t i;

    if (s == NULL)
        return 0;
    n = strlen(s);
    if (n < 4 || n > CRY_BIDX_MAX_ID || !is_upper(s[0]) || !is_upper(s[1]) || s[2] != '.')
        return 0;
    for (i = 3; i < n; i++) {
        if (s[i] == '.') {
            if (s[i - 1] == '.' || i + 1 == n)
                return 0;
        } else if (!is_alnum(s[i])) {
            return 0;
        }
    }
    return 1;
}

static void keyed(const struct cry_keys *k, const char *prefix, const char *id,
                  unsigned char out[CRY_BIDX_BYTES])
{
    crypto_generichash_state st;

    crypto_generichash_init(&st, cry_keys_get(k, CRY_KEY_BIDX), CRY_KEYBYTES, CRY_BIDX_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)prefix, strlen(prefix));
    crypto_generichash_update(&st, (const unsigned char *)id, strlen(id));
    crypto_generichash_final(&st, out, CRY_BIDX_BYTES);
    sodium_memzero(&st, sizeof st);
}

int cry_bidx_wa(const struct cry_keys *k, const char *wa_id, unsigned char out[CRY_BIDX_BYTES],
                struct core_err *err)
{
    char digits[21];

    if (cry_bidx_normalise_wa(wa_id, digits) != 0) {
        sodium_memzero(out, CRY_BIDX_BYTES);
        return core_err_set(err, CORE_EX_DATAERR, "bidx: not a WhatsApp id (3-20 digits)");
    }
    keyed(k, WA_PREFIX, digits, out);
    sodium_memzero(digits, sizeof digits);
    return 0;
}

int cry_bidx_bsuid(const struct cry_keys *k, const char *user_id,
                   unsigned char out[CRY_BIDX_BYTES], struct core_err *err)
{
    if (!cry_bidx_is_bsuid(user_id)) {
        sodium_memzero(out, CRY_BIDX_BYTES);
        return core_err_set(err, CORE_EX_DATAERR, "bidx: not a business-scoped user id");
    }
    keyed(k, BSUID_PREFIX, user_id, out);
    return 0;
}

void cry_bidx_hex(const unsigned char bidx[CRY_BIDX_BYTES], char out[CRY_BIDX_HEX])
{
    core_hex(out, bidx, CRY_BIDX_BYTES);
}
