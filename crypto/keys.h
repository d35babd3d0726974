/*
 * crypto/keys.h - the key directory and every key derived from it.
 *
 * A key directory (0700) holds three files (0600), written once by
 * `janseva keys init` and never rewritten:
 *
 *   root.key    64 hex digits: the 32-byte root key every data key derives from
 *   audit.key   64 hex digits: the Ed25519 seed that signs audit checkpoints
 *   keys.json   metadata: key ids (short fingerprints), creation dates, the
 *               audit public key; no secret
 *
 * Loading checks that the directory and each file are not accessible by
 * group or others, that the files are regular (no symlinks) and well formed,
 * and that keys.json matches the keys; any problem is one line naming the
 * path and CORE_EX_CONFIG (78). Nothing is ever generated silently.
 *
 * In memory the root key, the signing key and the unversioned subkeys live in
 * one sodium_malloc'd region (guard pages, canary, MADV_DONTDUMP), locked with
 * mlock when the limit allows (cry_keys_locked tells) and made read-only once
 * filled; cry_keys_free wipes it. The struct is safe to share between threads
 * after loading: keys are read-only, the data-key version is atomic.
 *
 * Subkeys come from crypto_kdf_derive_from_key (libsodium 1.0.18 has no HKDF)
 * with one 8-byte context per purpose. Versioned purposes (PII fields, ingress
 * bodies, tip relay records) use subkey_id = version, so every old version
 * stays derivable for decryption; the others use subkey_id 0. The current
 * data-key version is not secret and lives in Redis (CRY_KEYS_VERSION_KEY):
 * services read it at startup and every CRY_KEYS_REFRESH_MS, so that
 * `janseva keys rotate` takes effect without a restart.
 */
#ifndef JANSEVA_CRYPTO_KEYS_H
#define JANSEVA_CRYPTO_KEYS_H

#include "core/err.h"
#include "core/redis.h"

#include <stddef.h>
#include <stdint.h>

#define CRY_KEYBYTES 32           /* every symmetric key and subkey */
#define CRY_KEY_ID_LEN 17         /* key id: 16 hex digits + NUL */
#define CRY_SIGN_PUBLICKEYBYTES 32 /* Ed25519 public key */
#define CRY_SIGN_BYTES 64          /* Ed25519 signature */
#define CRY_KEYS_PATH_MAX 512      /* longest key directory path accepted */
#define CRY_KEYS_DATE_LEN 32       /* "2026-11-22T07:30:00Z" + room */

#define CRY_KEYS_ROOT_FILE "root.key"
#define CRY_KEYS_AUDIT_FILE "audit.key"
#define CRY_KEYS_META_FILE "keys.json"
#define CRY_KEYS_FORMAT 1

/* Redis key holding the current data-key version (a decimal integer). */
#define CRY_KEYS_VERSION_KEY "js:keys:version"
/* Services re-read the version at least this often. */
#define CRY_KEYS_REFRESH_MS 2000

/* What a subkey is for. Each has its own 8-byte KDF context. */
enum cry_key_purpose {
    CRY_KEY_PII = 0,   /* versioned: vault fields (wa_id, BSUID, names) */
    CRY_KEY_INGRESS,   /* versioned: webhook bodies in the ingress stream */
    CRY_KEY_TIP,       /* versioned: tip relay records (later feature) */
    CRY_KEY_BIDX,      /* blind index of identities */
    CRY_KEY_MID,       /* member ids (pseudonyms) from blind indexes */
    CRY_KEY_DEDUPE,    /* router event hashes (wamids embed numbers) */
    CRY_KEY_SESSION,   /* dashboard session token hashing (later feature) */
    CRY_KEY_AUDIT_MAC, /* reserved for a forward-secure audit MAC */
    CRY_KEY_PURPOSE_COUNT
};

struct cry_keys;

/* Public facts about a key directory (what `keys status` prints). */
struct cry_keys_meta {
    int format;                                   /* CRY_KEYS_FORMAT */
    char root_id[CRY_KEY_ID_LEN];                 /* fingerprint of the root key */
    char root_created[CRY_KEYS_DATE_LEN];         /* ISO 8601 UTC */
    char audit_id[CRY_KEY_ID_LEN];                /* fingerprint of the audit public key */
    char audit_created[CRY_KEYS_DATE_LEN];
    unsigned char audit_public[CRY_SIGN_PUBLICKEYBYTES];
};

/* ---- the key directory ---- */

/*
 * Choose the key directory: `configured` (keys_dir / JANSEVA_KEYS_DIR) when
 * set, else $CREDENTIALS_DIRECTORY (systemd credentials). Copies it into
 * `out` (CRY_KEYS_PATH_MAX bytes); `*from_credentials` (may be NULL) tells
 * which. Fails with CORE_EX_CONFIG when neither is set.
 */
int cry_keys_dir_resolve(const char *configured, char out[CRY_KEYS_PATH_MAX],
                         int *from_credentials, struct core_err *err);

/*
 * Resolve the configured key directory (JANSEVA_KEYS_DIR, else systemd
 * credentials) and load it: the one way commands and the service get their
 * keys. *from_credentials (may be NULL) tells where they came from. Returns
 * NULL with err set (CORE_EX_CONFIG for a missing or unsafe directory).
 */
struct cry_keys *cry_keys_load_configured(const char *keys_dir, int *from_credentials,
                                          struct core_err *err);

/*
 * Create a key directory at `dir`: the directory (0700; created when missing,
 * tightened when it exists and is empty of key files), a fresh root key, a
 * fresh audit signing key and keys.json (all 0600, O_EXCL). Refuses with
 * CORE_EX_CANTCREAT when any key file already exists; on failure removes what
 * it created. Fills `meta` (may be NULL).
 */
int cry_keys_init_dir(const char *dir, struct cry_keys_meta *meta, struct core_err *err);

/*
 * Load and check a key directory (see the top of this file). Returns a new
 * handle (free with cry_keys_free) or NULL with err (CORE_EX_CONFIG for every
 * problem with the directory or its files). `from_credentials` relaxes the
 * group-permission check to "not accessible by others", because systemd may
 * grant the service access to its credentials through an ACL, which shows in
 * the group bits.
 */
struct cry_keys *cry_keys_load(const char *dir, int from_credentials, struct core_err *err);

/*
 * Keys from raw bytes instead of a directory: for tests, fuzzers and tools.
 * `root` is the root key, `audit_seed` the Ed25519 seed (both copied into
 * locked memory; the caller wipes its copies). Never fails except on
 * allocation (aborts).
 */
struct cry_keys *cry_keys_from_bytes(const unsigned char root[CRY_KEYBYTES],
                                     const unsigned char audit_seed[CRY_KEYBYTES]);

/* Wipe and free; NULL is a no-op. */
void cry_keys_free(struct cry_keys *k);

/* ---- using the keys ---- */

/*
 * Derive the subkey of a versioned purpose (CRY_KEY_PII, _INGRESS, _TIP) for
 * `version` (>= 1) into `out`, which the caller wipes with sodium_memzero
 * after use. Unversioned purposes ignore `version` and give the same key as
 * cry_keys_get. Returns 0, or -1 for version 0 or an unknown purpose.
 */
int cry_keys_derive(const struct cry_keys *k, enum cry_key_purpose p, uint32_t version,
                    unsigned char out[CRY_KEYBYTES]) __attribute__((warn_unused_result));

/*
 * The subkey of an unversioned purpose (BIDX, MID, DEDUPE, SESSION,
 * AUDIT_MAC): a borrowed pointer into read-only locked memory, valid until
 * cry_keys_free. NULL for a versioned purpose.
 */
const unsigned char *cry_keys_get(const struct cry_keys *k, enum cry_key_purpose p);

/* True for the purposes that take a version. */
int cry_keys_purpose_versioned(enum cry_key_purpose p);

/* The 8-byte KDF context of a purpose (not NUL-terminated), or NULL. */
const char *cry_keys_context(enum cry_key_purpose p);

/* Sign `len` bytes of `m` with the audit key (Ed25519, detached). */
void cry_keys_sign(const struct cry_keys *k, const void *m, size_t len,
                   unsigned char sig[CRY_SIGN_BYTES]);

/* The directory's public facts (borrowed; valid until cry_keys_free). */
const struct cry_keys_meta *cry_keys_meta(const struct cry_keys *k);

/* The directory the keys came from ("" for cry_keys_from_bytes). Borrowed. */
const char *cry_keys_dir(const struct cry_keys *k);

/* True if the key memory is locked in RAM (mlock succeeded). */
int cry_keys_locked(const struct cry_keys *k);

/*
 * The id of a data key: 16 hex digits of a keyed hash, so it identifies the
 * key without revealing anything about it. Same rule for the root key id.
 */
void cry_keys_data_id(const struct cry_keys *k, enum cry_key_purpose p, uint32_t version,
                      char out[CRY_KEY_ID_LEN]);

/* ---- the current data-key version ---- */

/* The version new seals use; 0 while unknown (Redis not yet reached). */
uint32_t cry_keys_version(const struct cry_keys *k);

/* Set the current version (thread-safe). */
void cry_keys_set_version(struct cry_keys *k, uint32_t version);

/*
 * Read the current version from Redis (creating it as 1 when absent) into
 * `*version`. Returns 0 or -1 (CORE_EX_UNAVAILABLE; CORE_EX_DATAERR when the
 * stored value is not a positive integer).
 */
int cry_keys_read_version(struct core_redis *r, uint32_t *version, struct core_err *err);

/* cry_keys_read_version, then cry_keys_set_version. */
int cry_keys_refresh(struct cry_keys *k, struct core_redis *r, struct core_err *err);

#endif
