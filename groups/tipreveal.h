/*
 * groups/tipreveal.h - revealing a tipster's identity: a written request,
 * K custodians approving with their shares within a time limit, the reveal
 * key rebuilt in locked memory for ONE case, everything audited and every
 * party told (docs/tips.md, "The reveal ceremony").
 *
 *   1. request: the requester names the case and a legal reason. Recorded
 *      (js:tip:rv:{RID}), audited (tip.reveal.request), custodians and
 *      requester notified.
 *   2. wait: the requester's process holds the ceremony. It makes an
 *      ephemeral X25519 key pair in locked memory and publishes the public
 *      half with a heartbeat (js:tip:rv:{RID}:live).
 *   3. approve (each custodian, from their own session): the share file is
 *      checked (format, key, custodian, share number), the approval recorded
 *      once per custodian and per share (tip.reveal.approve), and the share
 *      sealed to the ceremony's ephemeral key (js:tip:rv:{RID}:sh).
 *   4. with K shares the waiting process rebuilds the reveal key, checks it
 *      against the public key, appends tip.reveal.open to the audit log
 *      (BEFORE decrypting; no record, no reveal), opens only that case's
 *      sealed identity, hands it to the requester, and wipes the key, the
 *      shares and the ephemeral key.
 *
 * Shares never rest anywhere readable: in Redis they exist only sealed to a
 * key that lived in one process's locked memory and is gone once the
 * ceremony ends, so an RDB/AOF copy - even with the server's root key -
 * never yields a share. If the waiting process dies, approvals must be
 * given again (their sealed shares can no longer be opened).
 *
 * Refusals, each audited (tip.reveal.refuse) and notified, nothing revealed:
 * unknown case or request, a request that is not pending, an expired
 * request, an unknown custodian, a damaged share file, a share of another
 * key or of another custodian, a custodian approving twice, a share used
 * twice, nobody holding the ceremony, and shares that do not rebuild the
 * key (then the whole request is refused: Shamir cannot tell which share
 * was wrong).
 */
#ifndef JANSEVA_GROUPS_TIPREVEAL_H
#define JANSEVA_GROUPS_TIPREVEAL_H

#include "core/err.h"
#include "core/redis.h"
#include "crypto/reveal.h"
#include "groups/tip.h"

#include <stdint.h>
#include <stdio.h>

#define GRP_TIPRV_ID_LEN 17     /* request id: 16 lower-case hex + NUL */
#define GRP_TIPRV_REASON_MIN 20 /* a written legal reason, not a word */
#define GRP_TIPRV_REASON_MAX 500
#define GRP_TIPRV_HEARTBEAT_MS 1000
#define GRP_TIPRV_LIVE_MS 5000

/* A request as stored (no identity). */
struct grp_tiprv_info {
    char id[GRP_TIPRV_ID_LEN];
    char case_id[GRP_TIP_CASE_LEN];
    char pseudonym[GRP_TIP_PSEUDONYM_LEN];
    char requester[GRP_TIP_ACTOR_MAX];
    char state[12];      /* pending, revealed, refused, expired, denied */
    char reason[GRP_TIPRV_REASON_MAX + 1];
    char outcome[256];   /* why it was refused, when it was */
    char key_id[CRY_KEY_ID_LEN];
    unsigned threshold;
    unsigned approvals;
    int64_t created_ms, expires_ms;
    int live;            /* a ceremony is being held right now */
};

/* A revealed identity: sodium_malloc'd, freed (and wiped) with
 * grp_tiprv_identity_free. */
struct grp_tiprv_identity {
    char case_id[GRP_TIP_CASE_LEN];
    char pseudonym[GRP_TIP_PSEUDONYM_LEN];
    char wa_id[CRY_WA_ID_MAX + 1];
    char user_id[CRY_USER_ID_MAX + 1];
    char name[CRY_NAME_MAX + 1];
    int64_t member_since;   /* Unix s */
    int64_t opened_ms;      /* when the case was opened */
};

/* Result of an approval. */
struct grp_tiprv_approval {
    unsigned count;      /* approvals recorded so far */
    unsigned threshold;
};

/* Register the reveal metrics. */
void grp_tiprv_metrics_init(void);

/*
 * Request the reveal of case `case_ref` (id or pseudonym) by `actor`
 * ("cli:<login>", "off:<mid>"; `officer` its officer mid or NULL), for
 * `reason` (GRP_TIPRV_REASON_MIN..MAX bytes). When `viewer` is not NULL
 * the case must be within its jurisdiction. Fills `out`. Returns 0, or -1:
 * CORE_EX_NOINPUT unknown case (audited refusal), CORE_EX_USAGE reason
 * missing or too short, CORE_EX_CONFIG no reveal key or the case sealed to
 * another key.
 */
int grp_tiprv_request(struct grp_tip *t, struct core_redis *r, const char *actor,
                      const char *officer, const struct grp_tip_viewer *viewer,
                      const char *case_ref, const char *reason, struct grp_tiprv_info *out,
                      struct core_err *err);

/*
 * Hold the ceremony of request `rid` (only its requester, `actor`): wait
 * for approvals until the request expires, then rebuild the key, audit,
 * and open the case's identity into *out (free with
 * grp_tiprv_identity_free). Progress lines go to `progress` (may be NULL).
 * `max_wait_ms` > 0 gives up earlier (the request stays pending). Returns
 * 0, or -1: CORE_EX_NOPERM not the requester, CORE_EX_TEMPFAIL expired or
 * gave up, CORE_EX_DATAERR refused (the shares did not rebuild the key, the
 * sealed identity does not open or belongs to another case),
 * CORE_EX_UNAVAILABLE the audit log could not be written (nothing opened).
 */
int grp_tiprv_wait(struct grp_tip *t, struct core_redis *r, const char *actor, const char *rid,
                   int64_t max_wait_ms, FILE *progress, struct grp_tiprv_identity **out,
                   struct core_err *err);

/*
 * Approve request `rid` as custodian `custodian` with `share` (parsed from
 * the custodian's file). Every check of the header comment; a refusal is
 * audited and notified. Returns 0 (see `out`), or -1 with a message naming
 * the refusal (CORE_EX_DATAERR bad share, CORE_EX_NOPERM custodian or
 * share already used, CORE_EX_TEMPFAIL expired or nobody holding the
 * ceremony, CORE_EX_NOINPUT unknown request).
 */
int grp_tiprv_approve(struct grp_tip *t, struct core_redis *r, const char *actor, const char *rid,
                      const char *custodian, const struct cry_reveal_share *share,
                      struct grp_tiprv_approval *out, struct core_err *err);

/*
 * Record a refusal that happened before a share could be read (a damaged or
 * unreadable share file, say): audited and notified for `rid` when it names
 * a request. Returns 0 or -1.
 */
int grp_tiprv_refuse(struct grp_tip *t, struct core_redis *r, const char *actor, const char *rid,
                     const char *why, struct core_err *err);

/* A custodian declines request `rid`: it is refused for good. Audited. */
int grp_tiprv_deny(struct grp_tip *t, struct core_redis *r, const char *actor, const char *rid,
                   const char *custodian, const char *reason, struct core_err *err);

/* Load request `rid` into `out` (expired requests are marked so). */
int grp_tiprv_get(struct grp_tip *t, struct core_redis *r, const char *rid,
                  struct grp_tiprv_info *out, struct core_err *err);

/* Requests, newest first, as a JSON array (new reference). */
json_t *grp_tiprv_list(struct grp_tip *t, struct core_redis *r, size_t limit,
                       struct core_err *err);

/*
 * Notices for `who` ("custodian:<id>" or the requester's actor), newest
 * first, as a JSON array (new reference).
 */
json_t *grp_tiprv_notices(struct core_redis *r, const char *who, size_t limit,
                          struct core_err *err);

/* Wipe and free; NULL is a no-op. */
void grp_tiprv_identity_free(struct grp_tiprv_identity *id);

/*
 * Parse the plaintext of a sealed identity (the JSON janseva wrote) into
 * `out` without copying it anywhere else. Returns 0 or -1 (fuzzed).
 */
int grp_tiprv_identity_parse(const char *json, size_t len, struct grp_tiprv_identity *out);

/* True for a well-formed request id. */
int grp_tiprv_is_id(const char *s);

#endif
