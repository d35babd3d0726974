/*
 * crypto/identity.h - the identity registry: WhatsApp identities to stable
 * member pseudonyms, with the identities themselves sealed.
 *
 * Redis layout (no identifier ever appears in a key name or in clear):
 *
 *   js:ib:{hhhh}       hash, a bucket of the blind index: field = the 32-byte
 *                      binary blind index, value = the 16-byte binary mid of
 *                      that identity; one entry per wa_id ("E164:" index) and
 *                      one per BSUID ("BSUID:" index). hhhh = hex of the
 *                      index's first two bytes: 65,536 buckets, so that Redis
 *                      keeps each a small listpack (docs/internals/crypto.md,
 *                      "Memory layout").
 *   js:mb:{hhhh}       the member record: one packed value per member in a
 *                      bucket hash (crypto/mrec.h: field = the 16-byte
 *                      binary mid, hhhh = its first 4 hex digits; the {}
 *                      hash tag is the member's cluster slot). The registry
 *                      owns these fields of it:
 *       wa   sealed wa_id       (vault purpose PII, record id = mid, field "wa";
 *            format 2: padded to 16 bytes, crypto/vault.h)
 *       uid  sealed BSUID       (field "uid")
 *       ct   created, Unix seconds
 *       li   last inbound message, Unix seconds (the maximum seen)
 *       mg   only on a record merged into another: the surviving mid
 *       (the key version of the seals is in each seal's header)
 *
 * mid = lower-case hex of BLAKE2b-128(key = K_mid, bidx || u32 LE n) where
 * bidx is the blind index of the first identity seen (the wa_id when a
 * message carries both) and n is 0 unless a record for that value already
 * exists (a recycled number whose former owner moved on): a stable
 * pseudonym that reveals nothing without the key.
 *
 * Races: two routers resolving the same new identity derive the same mid and
 * create the index with HSETNX, so they agree. Records are written with a
 * compare-and-set Lua script on the sealed values read, so concurrent updates
 * (another router, key rotation) never lose data: the loser retries.
 * Everything is idempotent, so a replayed event changes nothing.
 *
 * Number and user-id changes (system messages): the new identity's index is
 * pointed at the existing member, the sealed field updated, and the old index
 * DELETED: a recycled number must never reach the former owner's record (an
 * officer's reply would otherwise go to the tipster's old number, and the new
 * owner would inherit a tipster's history). A late message from the old
 * identity therefore starts a new member; see docs/internals/crypto.md.
 *
 * If two members turn out to be one person (a wa_id and a BSUID first seen
 * separately, then together), the BSUID index is pointed at the wa_id's member
 * and the other record gets `mg` = surviving mid; nothing is deleted.
 *
 * All functions take a caller's Redis connection (not thread-safe; one per
 * thread) and a shared struct cry_identity (thread-safe).
 */
#ifndef JANSEVA_CRYPTO_IDENTITY_H
#define JANSEVA_CRYPTO_IDENTITY_H

#include "core/err.h"
#include "core/redis.h"
#include "crypto/bidx.h"
#include "crypto/keys.h"
#include "gateway/router.h"

#include <stdint.h>

#define CRY_MID_BYTES 16
#define CRY_MID_LEN (2 * CRY_MID_BYTES + 1) /* 32 hex digits + NUL */
#define CRY_WA_ID_MAX 20                     /* digits */
#define CRY_USER_ID_MAX CRY_BIDX_MAX_ID
#define CRY_NAME_MAX 255                     /* bytes of UTF-8; longer names are cut */
#define CRY_INDEX_KEY_PREFIX "js:ib:{"

_Static_assert(CRY_MID_LEN == GW_MEMBER_ID_LEN, "gw_router_ctx.member_id holds a mid");

struct cry_identity;

/* A member's identities in clear: sodium_malloc'd (locked, guarded). Free
 * with cry_member_pii_free, which wipes it. Empty strings when unknown. */
struct cry_member_pii {
    char wa_id[CRY_WA_ID_MAX + 1];
    char user_id[CRY_USER_ID_MAX + 1];
    uint32_t key_version; /* the oldest key version of its seals */
    int64_t created;      /* ct */
    int64_t last_inbound; /* li */
    char merged_into[CRY_MID_LEN]; /* mg, or "" */
};

/* Create the registry over `keys` (borrowed; must outlive it). Never fails. */
struct cry_identity *cry_identity_new(const struct cry_keys *keys);

/* Free; NULL is a no-op. */
void cry_identity_free(struct cry_identity *id);

/* Register the identity metrics. */
void cry_identity_metrics_init(void);

/*
 * Find or create the member of a sender. `wa_id` (digits) and `user_id`
 * (BSUID) may each be NULL but not both; `name` (the profile name) is
 * ignored: it is never stored with the member (a tip seals the name its
 * message carries into the case's escrow, groups/tip.c). `ts` is the
 * message time (Unix s; 0 = do not touch li). Links a wa_id and a BSUID
 * that arrive together to one member and raises li to `ts`. Writes the mid
 * to `mid` and whether this call created the member to `*created` (may be
 * NULL). Returns 0 or -1
 * (CORE_EX_DATAERR for a malformed identity; CORE_EX_UNAVAILABLE and
 * CORE_EX_SOFTWARE from Redis: retry later).
 */
int cry_identity_resolve(struct cry_identity *id, struct core_redis *r, const char *wa_id,
                         const char *user_id, const char *name, int64_t ts,
                         char mid[CRY_MID_LEN], int *created, struct core_err *err);

/*
 * A member's number changed (system message user_changed_number): the member
 * of `old_wa_id` now has `new_wa_id`. Idempotent. When `old_wa_id` is
 * unknown, resolves `new_wa_id` as a sender instead. Writes the member's mid.
 */
int cry_identity_change_number(struct cry_identity *id, struct core_redis *r,
                               const char *old_wa_id, const char *new_wa_id, int64_t ts,
                               char mid[CRY_MID_LEN], struct core_err *err);

/* The same for a business-scoped user id (system message user_changed_user_id). */
int cry_identity_change_user_id(struct cry_identity *id, struct core_redis *r,
                                const char *old_user_id, const char *new_user_id, int64_t ts,
                                char mid[CRY_MID_LEN], struct core_err *err);

/*
 * Look up without creating: `*found` is 1 and `mid` filled when `wa_id` or
 * `user_id` (either may be NULL) is known. Returns 0 or -1.
 */
int cry_identity_find(struct cry_identity *id, struct core_redis *r, const char *wa_id,
                      const char *user_id, char mid[CRY_MID_LEN], int *found,
                      struct core_err *err);

/*
 * Open a member's record: on success *out is a new sodium_malloc'd struct the
 * caller frees with cry_member_pii_free. Returns -1 with CORE_EX_NOINPUT when
 * there is no such member, CORE_EX_DATAERR when a sealed field does not open.
 */
int cry_identity_open(struct cry_identity *id, struct core_redis *r, const char *mid,
                      struct cry_member_pii **out, struct core_err *err)
    __attribute__((warn_unused_result));

/* Wipe and free; NULL is a no-op. */
void cry_member_pii_free(struct cry_member_pii *p);

/*
 * The mid derived from a blind index and a collision counter (see above).
 * Exposed for tools and tests that generate records in bulk.
 */
void cry_identity_mid(const struct cry_keys *k, const unsigned char bidx[CRY_BIDX_BYTES],
                      uint32_t n, char mid[CRY_MID_LEN]);

/* The index bucket of a blind index, "js:ib:{<hex of its first 2 bytes>}",
 * into `out` (at least 16 bytes); the field is the 32-byte index itself. */
void cry_identity_index_key(const unsigned char bidx[CRY_BIDX_BYTES], char *out, size_t n);

/* True if `s` is a well-formed mid (32 lower-case hex digits). */
int cry_identity_is_mid(const char *s);

/* ---- bulk support (key rotation, tools) ---- */

#define CRY_IDENTITY_FIELDS 2
/* Room for one sealed field (the longest BSUID padded to 64, header, tag). */
#define CRY_IDENTITY_SEALED_MAX 304

/* The sealed fields of a member record, in order: "wa", "uid". */
extern const char *const cry_identity_field_names[CRY_IDENTITY_FIELDS];

/*
 * Seal sealed field `f` (0 = wa, 1 = uid) of member `mid` at key `version`
 * the way the registry does (wa in the short format, padded to 16 bytes;
 * uid padded to 64): rotation and tools use it so that what they write is
 * what the registry writes. Same contract as cry_vault_seal_version.
 */
int cry_identity_seal_field(const struct cry_keys *k, uint32_t version, const char *mid, int f,
                            const void *plain, size_t plain_len, unsigned char *out,
                            size_t cap, size_t *out_len, struct core_err *err);

/* Copy at most CRY_NAME_MAX bytes of a profile name into `out`, cut on a
 * UTF-8 boundary. */
void cry_identity_name_cut(char out[CRY_NAME_MAX + 1], const char *name);

/*
 * Queue (pipelining, crypto/mrec.h) a compare-and-set of the sealed fields
 * of member `mid`: each field i must still hold old_v[i] (NULL: absent) and
 * then gets new_v[i] (NULL: deleted). The reply goes to
 * cry_mrec_update_reply (applied = 0: changed meanwhile). Call
 * cry_mrec_prepare before the pipeline.
 */
int cry_identity_append_cas(struct core_redis *r, const char *mid,
                            const unsigned char *const old_v[CRY_IDENTITY_FIELDS],
                            const size_t old_len[CRY_IDENTITY_FIELDS],
                            const unsigned char *const new_v[CRY_IDENTITY_FIELDS],
                            const size_t new_len[CRY_IDENTITY_FIELDS], struct core_err *err);

/*
 * Bulk creation for tools and tests (pipelining): queue exactly what the
 * registry writes for a new member known by `wa_id` alone - the index entry
 * (HSETNX) and the record (sealed wa, ct, li raised to `li` when > 0) - with
 * the same encodings and script, without the round trips of
 * cry_identity_resolve. The record is written only if it has no wa yet.
 * Call cry_mrec_prepare (crypto/mrec.h) before the pipeline.
 * Writes the mid and the number of queued replies (*replies, read them with
 * core_redis_get_reply). Returns 0 or -1.
 */
int cry_identity_append_bulk(struct cry_identity *id, struct core_redis *r, const char *wa_id,
                             int64_t ct, int64_t li, char mid[CRY_MID_LEN], int *replies,
                             struct core_err *err);

/*
 * Router handler (gw_router_fn; `ud` is the struct cry_identity). Register it
 * first: for every message event it handles user_changed_number and
 * user_changed_user_id, resolves the sender and writes the mid into
 * ctx->member_id for the handlers after it. Statuses and errors pass through
 * with an empty member_id. Returns -1 only on transient failures.
 */
int cry_identity_handler(void *ud, struct gw_router_ctx *ctx, const struct gw_event *ev,
                         struct core_err *err);

#endif
