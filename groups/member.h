/*
 * groups/member.h - a member's non-personal state and group membership.
 *
 * A member is one packed record in a bucket hash js:mb:{hhhh} (crypto/mrec.h:
 * the only code that knows the layout; every change is one atomic script).
 * The identity registry (crypto/identity.h) owns its sealed fields; groups
 * add these plain fields to the same record, through this module only
 * (docs/groups.md, "Members"; readers elsewhere load a struct grp_member,
 * pipelined with grp_member_append_load + grp_member_from_reply):
 *
 *   st    new | enrolling | active | left | muted | banned (absent = new)
 *   g     locality code of the member's group (absent when none)
 *   lang  hi | en (absent = hi)
 *   ds    dialogue state ("join:pick", "tip", ...; absent = idle)
 *   dd    the state's data: compact JSON object, "t" = when it was set
 *   cv    consent text version (groups/texts.h), cts its time (Unix s)
 *   jt    time the current group was joined (Unix s)
 *   np    posts so far; sk strikes
 *   lbl   pseudonymous label code ("K7Q2"), shown as "सदस्य K7Q2"; not
 *         written any more (derived from the mid on loading), read if there
 *
 * Membership: js:u:{CODE}:mem holds the mids of locality CODE and `n` in
 * js:u:{CODE} its size (both in the locality's hash slot, changed together
 * by one script). It is a set kept as a HASH: field = the 16-byte binary
 * mid, value = "" - Redis 7.0 keeps small hashes as compact listpacks but
 * sets of strings only as hashtables (~115 instead of ~45 bytes per member
 * at 1M members; docs/internals/broadcasts.md). Read it only through the
 * functions below (grp_member_mid_from_set for raw HSCAN/HRANDFIELD
 * replies). The bucket and the locality are in different
 * slots. Invariant: a member is in the set of `g` exactly
 * when st is active or muted. Join, move and leave run as separate steps in
 * the member's slot and the localities' slots (a cluster never sees a
 * cross-slot script); every step is idempotent, and their order makes a
 * repeat after a crash finish the job (see member.c).
 *
 * Who receives group messages: the members of js:u:{CODE}:mem. A relay or
 * broadcast must also check grp_member_receives() on the member loaded just
 * before it sends (a member who sent STOP a moment ago is already out of the
 * set, but a message queued before that must not go: docs/internals/
 * groups.md, "STOP").
 *
 * Nothing here is personal data: no number, name or text ever reaches these
 * fields. All functions take the caller's Redis connection.
 */
#ifndef JANSEVA_GROUPS_MEMBER_H
#define JANSEVA_GROUPS_MEMBER_H

#include "core/err.h"
#include "core/redis.h"
#include "crypto/identity.h"
#include "groups/hier.h"
#include "groups/texts.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define GRP_DS_MAX 48        /* dialogue state name, NUL included */
#define GRP_DD_MAX 2048      /* dialogue data (JSON text), NUL included */
#define GRP_CV_MAX 16        /* consent version, NUL included */
#define GRP_LABEL_CODE_LEN 5 /* "K7Q2" + NUL */
#define GRP_LABEL_MAX 64     /* "सदस्य K7Q2" with room to spare */

enum grp_member_state {
    GRP_MEMBER_NEW = 0,   /* wrote, never welcomed (absent st) */
    GRP_MEMBER_ENROLLING, /* welcomed, not in a group */
    GRP_MEMBER_ACTIVE,    /* in group g */
    GRP_MEMBER_LEFT,      /* sent STOP: receives nothing */
    GRP_MEMBER_MUTED,     /* in group g, may not post (moderators) */
    GRP_MEMBER_BANNED,    /* removed by moderators; g kept for the record */
    GRP_MEMBER_STATE_COUNT
};

/* A member as loaded. Plain data; nothing to free. */
struct grp_member {
    char mid[CRY_MID_LEN];
    bool exists; /* the record exists (identity created it) */
    enum grp_member_state st;
    char group[GRP_CODE_MAX + 1]; /* g, "" when none */
    enum grp_lang lang;
    char ds[GRP_DS_MAX]; /* "" when idle */
    char dd[GRP_DD_MAX]; /* JSON object text, "" when none */
    int64_t ds_time;     /* "t" of dd: when ds was set (0 unknown) */
    char cv[GRP_CV_MAX]; /* "" when never consented */
    int64_t cts;
    int64_t jt;
    long long np;
    long long sk;
    char label[GRP_LABEL_CODE_LEN]; /* lbl, else derived from the mid */
    int64_t li;                     /* last inbound (identity's li), 0 unknown */
    char merged_into[CRY_MID_LEN];  /* identity's mg, "" normally */
};

/* ---- names ---- */

/* "new", "enrolling", "active", "left", "muted", "banned". */
const char *grp_member_state_name(enum grp_member_state st);

/* Parse a state name; returns 0 or -1. */
int grp_member_state_parse(const char *s, enum grp_member_state *out);

/*
 * The label code of a member: 4 characters of 23456789ABCDEFGHJKLMNPQRSTUVWXYZ
 * from BLAKE2b("janseva label v1" || mid). Stable for a mid; reveals
 * nothing about the number. 20 bits: two members of a 500-member group
 * share one with about 12 % probability, which only makes two pseudonyms
 * look alike.
 */
void grp_member_label_code(const char *mid, char out[GRP_LABEL_CODE_LEN]);

/* The label as shown in `lang` ("सदस्य K7Q2", "Member K7Q2"), into `out`. */
void grp_member_label(const struct grp_member *m, enum grp_lang lang, char *out, size_t n);

/* ---- loading ---- */

/*
 * Load member `mid` into `m` (always fully initialised: a missing record
 * gives exists = false and the defaults). Returns 0, or -1 on a Redis
 * error.
 */
int grp_member_load(struct core_redis *r, const char *mid, struct grp_member *m,
                    struct core_err *err);

/*
 * Pipelined loading: queue the read of `mid` (core_redis_append style),
 * then give its reply (read with core_redis_get_reply, borrowed) to
 * grp_member_from_reply, which fills `m` as grp_member_load does. Both
 * return 0 or -1 (CORE_EX_DATAERR: a malformed record; `m` then holds the
 * defaults).
 */
int grp_member_append_load(struct core_redis *r, const char *mid, struct core_err *err);
int grp_member_from_reply(const redisReply *rep, const char *mid, struct grp_member *m,
                          struct core_err *err);

/*
 * True if `m` must receive the messages of group `code`: st is active or
 * muted and g is `code`. Relays and broadcasts check this on a freshly
 * loaded member right before sending.
 */
bool grp_member_receives(const struct grp_member *m, const char *code);

/* ---- changing ---- */

/* Set the language (hi is stored as the absence of the field). */
int grp_member_set_lang(struct core_redis *r, const char *mid, enum grp_lang lang,
                        struct core_err *err);

/*
 * Set the dialogue state `ds` with its data `dd` (a JSON object or NULL,
 * borrowed; "t" = now is added), or clear both when ds is NULL or "". The
 * text of dd must stay under GRP_DD_MAX bytes (else -1, CORE_EX_DATAERR).
 */
int grp_member_set_dialogue(struct core_redis *r, const char *mid, const char *ds, const json_t *dd,
                            int64_t now, struct core_err *err);

/*
 * Set the membership state, keeping the invariant above: active and muted
 * put the member into the set of g (when g is set), left and banned take
 * them out (left also forgets g, like grp_member_leave). new and enrolling
 * are only for members without a group (-1, CORE_EX_DATAERR otherwise).
 * Idempotent. Returns 0 or -1.
 */
int grp_member_set_state(struct core_redis *r, const char *mid, enum grp_member_state st,
                         struct core_err *err);

/*
 * Join (or move to) locality `code`: add to its set, leave the previous
 * group's set, then record g, st = active, jt = now, the consent `cv` with
 * cts = now, the label, and clear the dialogue state. `code` must be an
 * existing locality (-1, CORE_EX_NOINPUT otherwise). Joining the group one
 * is already active in changes nothing but the dialogue state and consent.
 * Idempotent: repeating it after a crash at any step completes the move.
 * `*moved` (may be NULL) is set to 1 when the member was active in another
 * group before.
 */
int grp_member_join(struct core_redis *r, const char *mid, const char *code, const char *cv,
                    int64_t now, int *moved, struct core_err *err);

/*
 * Leave (STOP): st = left first, then out of the group's set, then forget g
 * and the dialogue state. Idempotent. Returns 0 or -1.
 */
int grp_member_leave(struct core_redis *r, const char *mid, struct core_err *err);

/* np += 1 (a post was received). Returns 0 or -1. */
int grp_member_count_post(struct core_redis *r, const char *mid, struct core_err *err);

/* The same, queued first in a pipeline (nothing may be pending before it);
 * its reply goes to grp_member_count_reply(): 0, or -1 with err (a
 * NOSCRIPT error after a Redis restart: the script is forgotten, so that
 * grp_member_count_post() loads it again). */
int grp_member_append_count_post(struct core_redis *r, const char *mid, struct core_err *err);
int grp_member_count_reply(struct core_redis *r, struct core_err *err);

/* sk += 1 (a post was dropped as hostile, commercial or political).
 * Returns 0 or -1. */
int grp_member_add_strike(struct core_redis *r, const char *mid, struct core_err *err);

/*
 * Bulk (tools, benchmarks; pipelining): queue exactly what grp_member_join
 * and grp_member_set_lang write for a member joining `code` for the first
 * time - the set entry with its count (the same script), then the record
 * (g, st = active, jt, cv, cts = `now`, lang) in one update - without
 * reading anything first (grp_member_bulk_prepare before the pipeline).
 * *replies = the replies queued. Returns 0 or -1.
 */
/* Load the scripts of grp_member_append_bulk_join (and of the identity's
 * bulk writes) on `r`; call it with nothing pending, before the pipeline. */
int grp_member_bulk_prepare(struct core_redis *r, struct core_err *err);

int grp_member_append_bulk_join(struct core_redis *r, const char *mid, const char *code,
                                const char *cv, enum grp_lang lang, int64_t now, int *replies,
                                struct core_err *err);

/* ---- groups ---- */

/* Members of locality `code` (`n` of js:u:{CODE}); 0 when none, -1 on error. */
long long grp_member_group_count(struct core_redis *r, const char *code, struct core_err *err);

/* True (1) if `mid` is in the set of `code`, 0 if not, -1 on error. */
int grp_member_in_group(struct core_redis *r, const char *code, const char *mid,
                        struct core_err *err);

/*
 * Walk the members of `code` in batches (HSCAN, about `batch` a call):
 * fn(ud, mids, n) gets each batch (borrowed for the call) and returns 0 to
 * go on or non-zero to stop (returned as is). `*cursor` ("0" to start)
 * is updated after every batch, so a caller can save it and resume; it is
 * "0" again at the end. Members may appear twice if the set changes during
 * the walk (Redis HSCAN semantics): make the per-member effect idempotent.
 * Returns 0 at the end, fn's value when it stopped, -1 on a Redis error.
 */
#define GRP_CURSOR_MAX 24

/* A field of a membership hash (an element of an HSCAN/HKEYS/HRANDFIELD
 * reply, borrowed) as a mid; -1 (mid "") when it is not one. */
int grp_member_mid_from_set(const redisReply *e, char mid[CRY_MID_LEN]);

int grp_member_group_scan(struct core_redis *r, const char *code, char cursor[GRP_CURSOR_MAX],
                          size_t batch, int (*fn)(void *ud, const char *const *mids, size_t n),
                          void *ud, struct core_err *err);

#endif
