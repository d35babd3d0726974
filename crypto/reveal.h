/*
 * crypto/reveal.h - the reveal escrow: an X25519 key pair whose public key
 * seals every tipster's identity (crypto_box_seal) and whose private key
 * exists only as Shamir shares (libgfshare, GF(2^8)) held by custodians.
 *
 *   janseva keys init-reveal --custodians N --threshold K
 *     -> reveal.json in the key directory (public key, key id, threshold,
 *        custodian ids and their share numbers; nothing secret)
 *     -> one share file per custodian, written once (0600, O_EXCL)
 *
 * Rebuilding the key (cry_reveal_combine) needs K shares of K different
 * custodians; the result lives only in the caller's sodium_malloc'd buffer
 * and is checked against the stored public key (crypto_scalarmult_base),
 * because plain Shamir shares carry no MAC: a wrong or tampered share
 * silently yields another key, which this check refuses.
 *
 * libgfshare draws its randomness from a global hook that is NULL by
 * default and is also used to scrub buffers in gfshare_ctx_free.
 * cry_reveal_init() points it at a wrapper around libsodium's
 * randombytes_buf; call it once after sodium_init(), in every process that
 * splits OR recombines. Every function here refuses to run without it.
 *
 * Share file (text, so it can also be kept on paper):
 *
 *   # janseva reveal share ...comments...
 *   format: janseva-reveal-share-1
 *   key: <reveal key id, 16 hex>
 *   custodian: <custodian id>
 *   number: <share number 1-255>
 *   threshold: <K>
 *   data: <64 hex digits: the 32-byte share>
 *   check: <16 hex digits: BLAKE2b-64 of the fields above, catches typos>
 *
 * Secrets (private keys, shares) live in sodium_malloc'd memory (struct
 * cry_reveal_share, the caller's key buffers) and are wiped on every path.
 * Error messages never contain key material or identities.
 */
#ifndef JANSEVA_CRYPTO_REVEAL_H
#define JANSEVA_CRYPTO_REVEAL_H

#include "core/err.h"
#include "crypto/keys.h"

#include <stddef.h>

#define CRY_REVEAL_PUBLICKEYBYTES 32 /* X25519 */
#define CRY_REVEAL_SECRETKEYBYTES 32
#define CRY_REVEAL_SHAREBYTES 32     /* a share is as long as the secret */
#define CRY_REVEAL_SEALBYTES 48      /* crypto_box_SEALBYTES */
#define CRY_REVEAL_PADBLOCK 256      /* sealed plaintexts are padded to this */
#define CRY_REVEAL_MAX_PLAIN 65536   /* largest plaintext sealed */
#define CRY_REVEAL_MAX_CUSTODIANS 16
#define CRY_REVEAL_ID_MAX 40         /* custodian id: [A-Za-z0-9._-], 1-40 */
#define CRY_REVEAL_OFFICER_LEN 33    /* an officer's member id (32 hex) + NUL */
#define CRY_REVEAL_PATH_MAX 600
#define CRY_REVEAL_SHARE_FILE_MAX 4096
#define CRY_REVEAL_META_FILE "reveal.json"
#define CRY_REVEAL_META_FORMAT 1
#define CRY_REVEAL_SHARE_FORMAT "janseva-reveal-share-1"

/* One custodian as recorded in reveal.json. */
struct cry_reveal_custodian {
    char id[CRY_REVEAL_ID_MAX + 1];
    unsigned char number;                 /* share number (x coordinate), 1-255 */
    char officer[CRY_REVEAL_OFFICER_LEN]; /* officer member id, or "" */
};

/* The public facts of the reveal key (reveal.json). */
struct cry_reveal_meta {
    int format;
    char id[CRY_KEY_ID_LEN];              /* BLAKE2b-64 of a domain and the public key */
    char created[CRY_KEYS_DATE_LEN];
    unsigned char pk[CRY_REVEAL_PUBLICKEYBYTES];
    unsigned threshold;                   /* K */
    unsigned n;                           /* N custodians */
    struct cry_reveal_custodian custodians[CRY_REVEAL_MAX_CUSTODIANS];
};

/* One custodian's share, parsed. Allocate with cry_reveal_share_new. */
struct cry_reveal_share {
    char key_id[CRY_KEY_ID_LEN];
    char custodian[CRY_REVEAL_ID_MAX + 1];
    unsigned char number;
    unsigned threshold;
    unsigned char data[CRY_REVEAL_SHAREBYTES];
};

/* What `keys init-reveal` creates. Arrays may be NULL (defaults). */
struct cry_reveal_params {
    unsigned n;                       /* custodians, 2..CRY_REVEAL_MAX_CUSTODIANS */
    unsigned threshold;               /* 2..n */
    const char *const *ids;           /* n custodian ids; NULL: custodian-1..N */
    const char *const *officers;      /* n officer mids or NULL entries; NULL: none */
};

/* ---- setup ---- */

/* Point libgfshare's random hook at libsodium (after sodium_init). Idempotent. */
void cry_reveal_init(void);

/* True once cry_reveal_init has run. */
int cry_reveal_ready(void);

/* ---- Shamir over GF(2^8) (libgfshare) ---- */

/*
 * `n` distinct random share numbers in 1..255 into `out`.
 */
void cry_reveal_pick_numbers(unsigned n, unsigned char *out);

/*
 * Split `len` bytes of `secret` into `n` shares, any `k` of which rebuild
 * it; share i (numbers[i], which must be distinct and non-zero) goes to
 * shares + i * len (the caller's locked memory). 2 <= k <= n <= 255.
 * Returns 0 or -1 (CORE_EX_USAGE for bad arguments, CORE_EX_SOFTWARE
 * without cry_reveal_init).
 */
int cry_reveal_split(const unsigned char *secret, size_t len, unsigned k, unsigned n,
                     const unsigned char *numbers, unsigned char *shares, struct core_err *err);

/*
 * Rebuild a secret of `len` bytes from `count` shares (numbers distinct and
 * non-zero) into `secret`. Shamir cannot tell a wrong share: the result is
 * then simply another value (see cry_reveal_combine). Returns 0 or -1.
 */
int cry_reveal_recombine(const unsigned char *numbers, const unsigned char *const *shares,
                         unsigned count, size_t len, unsigned char *secret,
                         struct core_err *err) __attribute__((warn_unused_result));

/* ---- the reveal key ---- */

/* The key id of a reveal public key (16 hex digits). */
void cry_reveal_key_id(const unsigned char pk[CRY_REVEAL_PUBLICKEYBYTES], char out[CRY_KEY_ID_LEN]);

/* True for a well-formed custodian id. */
int cry_reveal_id_ok(const char *s);

/*
 * Create the reveal key: a fresh X25519 pair, the private key split K of N,
 * share i written to `share_dir`/reveal-<key id>-<custodian id>.share
 * (0600, O_EXCL; paths returned in `paths` when not NULL), then
 * `keys_dir`/reveal.json (0600, O_EXCL). The private key and the shares are
 * wiped. Refuses with CORE_EX_CANTCREAT when reveal.json or a share file
 * exists; on any failure removes what it created. Fills `out` (may be NULL).
 */
int cry_reveal_create(const char *keys_dir, const char *share_dir,
                      const struct cry_reveal_params *p, struct cry_reveal_meta *out,
                      char (*paths)[CRY_REVEAL_PATH_MAX], struct core_err *err);

/*
 * Parse reveal.json text into `m` and check it: format, key id matching the
 * public key, 2 <= K <= N <= CRY_REVEAL_MAX_CUSTODIANS, ids well formed and
 * distinct, share numbers distinct and non-zero. Returns 0 or -1
 * (CORE_EX_CONFIG).
 */
int cry_reveal_meta_parse(const char *json, size_t len, struct cry_reveal_meta *m,
                          struct core_err *err);

/*
 * Load `keys_dir`/reveal.json (regular file, not accessible by group or
 * others; by others only when `relaxed`, as for systemd credentials).
 * Returns 0, or -1 with CORE_EX_NOINPUT when there is no reveal key yet and
 * CORE_EX_CONFIG for every other problem.
 */
int cry_reveal_meta_load(const char *keys_dir, int relaxed, struct cry_reveal_meta *m,
                         struct core_err *err);

/* The custodian with id `id`, or NULL. Borrowed from `m`. */
const struct cry_reveal_custodian *cry_reveal_custodian_find(const struct cry_reveal_meta *m,
                                                             const char *id);

/* ---- shares ---- */

/* A zeroed share in sodium_malloc'd memory (aborts on OOM). */
struct cry_reveal_share *cry_reveal_share_new(void);

/* Wipe and free; NULL is a no-op. */
void cry_reveal_share_free(struct cry_reveal_share *s);

/*
 * Parse a share file's text (at most CRY_REVEAL_SHARE_FILE_MAX bytes) into
 * `s`. Every field is required once; the check must match. Returns 0 or -1
 * (CORE_EX_DATAERR: the message names the problem, never the data); on
 * failure `s` is wiped.
 */
int cry_reveal_share_parse(const char *text, size_t len, struct cry_reveal_share *s,
                           struct core_err *err) __attribute__((warn_unused_result));

/* Read and parse a share file (CORE_EX_NOINPUT when unreadable). */
int cry_reveal_share_read(const char *path, struct cry_reveal_share *s, struct core_err *err)
    __attribute__((warn_unused_result));

/*
 * The text of a share file into `out` (n bytes; the caller wipes it).
 * Returns the length, or -1 when it does not fit.
 */
int cry_reveal_share_format(const struct cry_reveal_share *s, char *out, size_t n);

/*
 * Rebuild the reveal private key from `count` shares into `sk` (the caller's
 * sodium_malloc'd buffer). Checks first: at least K shares, all of key `m`,
 * custodians known and distinct, each share number the one recorded for
 * its custodian, share numbers distinct. Then recombines and checks
 * crypto_scalarmult_base(sk) against m->pk: a mismatch ("the shares do not
 * rebuild the reveal key") wipes `sk`. Returns 0 or -1 (CORE_EX_DATAERR).
 */
int cry_reveal_combine(const struct cry_reveal_meta *m,
                       const struct cry_reveal_share *const *shares,
                       unsigned count, unsigned char sk[CRY_REVEAL_SECRETKEYBYTES],
                       struct core_err *err) __attribute__((warn_unused_result));

/* ---- sealing identities ---- */

/* Size of the sealed form of `len` bytes (padded to CRY_REVEAL_PADBLOCK). */
size_t cry_reveal_sealed_size(size_t len);

/*
 * Pad `len` bytes of `plain` and crypto_box_seal them to `pk` into `out`
 * (cap >= cry_reveal_sealed_size(len)); *out_len gets the length.
 * Returns 0 or -1 (CORE_EX_DATAERR when too long or `out` too small).
 */
int cry_reveal_seal(const unsigned char pk[CRY_REVEAL_PUBLICKEYBYTES], const void *plain,
                    size_t len, unsigned char *out, size_t cap, size_t *out_len,
                    struct core_err *err);

/*
 * Open a sealed value with the key pair (sk, pk) into `out` (cap >= len -
 * CRY_REVEAL_SEALBYTES + 1; NUL-terminated) and remove the padding.
 * Returns 0 or -1 (CORE_EX_DATAERR); on failure `out` is wiped.
 */
int cry_reveal_open(const unsigned char sk[CRY_REVEAL_SECRETKEYBYTES],
                    const unsigned char pk[CRY_REVEAL_PUBLICKEYBYTES], const unsigned char *c,
                    size_t len, unsigned char *out, size_t cap, size_t *out_len,
                    struct core_err *err) __attribute__((warn_unused_result));

#endif
