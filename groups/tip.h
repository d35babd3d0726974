/*
 * groups/tip.h - secret tips: cases with speakable pseudonyms, content
 * sealed at rest, the tipster's identity in its two protected forms, officer
 * views within jurisdiction, officer replies through the outbox, and the
 * calls the dialogue's tip flow makes (docs/tips.md).
 *
 * A case never touches a village group or the relay. Officers know a case
 * by its id (32 hex, random) and its pseudonym (`T-4KQ9-27`); nothing they
 * can read holds a number, a name or a member id. The tipster's member id
 * exists in exactly two places, both sealed:
 *
 *   js:tip:{CID}:rl   the routing record: AEAD (vault purpose TIP, record =
 *                     case id, field "rl") of the member id; opened only to
 *                     deliver replies (the dispatcher's recipient resolver)
 *                     and to check that a follow-up comes from the tipster;
 *                     expires tip_relay_keep_days after the case is closed
 *   js:tip:{CID} si   crypto_box_seal to the reveal public key of the
 *                     tipster's wa_id, BSUID, profile name and first-seen
 *                     time, bound to the case id, wrapped in the vault
 *                     (field "si") so that nobody without the server's keys
 *                     can plant another; opened only by a two-custodian
 *                     reveal (groups/tipreveal.h)
 *
 * Redis layout (docs/tips.md has the full table):
 *   js:tip:{CID}          hash: ps pseudonym, st open|closed, th thana, dt
 *                         district, rt routing, lg language, pn business
 *                         number, ct/ut/cl times (ms), ni items, nr replies,
 *                         si sealed identity, rk reveal key id, m<n>/ms<n>
 *                         media state and size
 *   js:tip:{CID}:it       hash: item number -> sealed item (field "it:<n>")
 *   js:tip:{CID}:ev       hash: idempotency key -> item number
 *   js:tip:{CID}:md:<n>   string: sealed media bytes (field "md:<n>")
 *   js:tip:ps:<code>      string: pseudonym index -> case id
 *   js:tip:oe:<event>     string: the case a TIP event opened (7 days)
 *   js:tip:ss:<hash>      string: sealed current case of a member in a tip
 *                         session (keyed hash of the mid; expires when quiet)
 *   js:tip:kh:<hash>      string: case of an outbox reply (7 days)
 *   js:tip:all            zset: case ids by last update
 *   js:tip:mq             stream: media to fetch (groups/tipmedia.h)
 *
 * Threads: a struct grp_tip is shared (read-only after creation, its
 * reveal key loaded lazily under a lock); every call takes the caller's
 * Redis connection. Errors follow core/err.h; messages never carry an
 * identifier or content.
 */
#ifndef JANSEVA_GROUPS_TIP_H
#define JANSEVA_GROUPS_TIP_H

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/redis.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "crypto/reveal.h"
#include "gateway/router.h"
#include "gateway/webhook.h"
#include "groups/hier.h"

#include <jansson.h>
#include <stdint.h>

#define GRP_TIP_CASE_LEN 33      /* case id: 32 lower-case hex + NUL */
#define GRP_TIP_PSEUDONYM_LEN 10 /* "T-4KQ9-27" + NUL */
/* 28 symbols: digits 2-9 and letters without B I L O S Z (0 O 1 I L and
 * the look-alikes of 8 5 2 are out), easy to read out on the phone */
#define GRP_TIP_ALPHABET "23456789ACDEFGHJKMNPQRTUVWXY"
#define GRP_TIP_RCPT_PREFIX "tip:" /* outbox recipient "tip:<case id>" */
#define GRP_TIP_TEXT_MAX 16384   /* bytes of text kept per item */
#define GRP_TIP_ACTOR_MAX 160
#define GRP_TIP_STATE_LEN 8

struct grp_tip;

/* What a reader of cases may see. */
struct grp_tip_viewer {
    int hq;                           /* every case */
    char thana[GRP_CODE_MAX + 1];     /* an SHO: cases routed to this thana */
    char district[GRP_CODE_MAX + 1];  /* a district officer: cases of its thanas */
    char actor[GRP_TIP_ACTOR_MAX];    /* audit actor: "cli:<login>", "off:<mid>", "api" */
    char officer[CRY_MID_LEN];        /* the officer's member id, or "" */
};

/* A case as officers see it: no identity, no member id. */
struct grp_tip_case {
    char id[GRP_TIP_CASE_LEN];
    char pseudonym[GRP_TIP_PSEUDONYM_LEN];
    char state[GRP_TIP_STATE_LEN];    /* "open" or "closed" */
    char thana[GRP_CODE_MAX + 1];     /* "" when not routed to a thana */
    char district[GRP_CODE_MAX + 1];
    char routing[12];                 /* "locality", "chosen" or "hq" */
    char lang[4];                     /* the tipster's language: "hi" or "en" */
    char number[40];                  /* business phone_number_id written to */
    char reveal_key[CRY_KEY_ID_LEN];  /* the reveal key the identity is sealed to */
    int64_t created_ms, updated_ms, closed_ms;
    long items;                       /* item numbers used (messages and replies) */
    long replies;                     /* officer replies */
};

/* Result of grp_tip_add. */
struct grp_tip_added {
    long n;          /* item number (0 when not kept) */
    int duplicate;   /* the event was added before (a replay) */
    int kept;        /* 0: a kind of message a tip does not keep (reaction, ...) */
    int media;       /* a media item, queued for fetching */
    int reopened;    /* the case was closed and is open again */
};

/* Result of grp_tip_reply. */
struct grp_tip_reply_result {
    long n;                      /* item number of the reply */
    int duplicate;               /* the idempotency key was used before */
    char key[GW_MEMBER_ID_LEN + 64]; /* outbox idempotency key "tip-reply:<case>:<n>" */
};

/* ---- lifecycle ---- */

/*
 * A tip store over `cfg` (tip_* settings, phone numbers), `keys` and `ident`
 * (all borrowed, must outlive it). The reveal public key is read from the
 * key directory's reveal.json when first needed. Never fails.
 */
struct grp_tip *grp_tip_new(const struct core_cfg *cfg, const struct cry_keys *keys,
                            struct cry_identity *ident);

/* Free; NULL is a no-op. */
void grp_tip_free(struct grp_tip *t);

/* Use this reveal key instead of reveal.json (tests, tools). */
void grp_tip_set_reveal(struct grp_tip *t, const struct cry_reveal_meta *m);

/*
 * The reveal key's public facts into `m` (loading reveal.json when not yet
 * loaded). Returns 0, or -1 (CORE_EX_CONFIG: no reveal key yet).
 */
int grp_tip_reveal_meta(struct grp_tip *t, struct cry_reveal_meta *m, struct core_err *err);

/* Register the tip metrics. */
void grp_tip_metrics_init(void);

/* Tests only: call fn(stage, ud) at named stages ("combined": the reveal
 * key was rebuilt, before the audit record; "opened": the identity was
 * just decrypted), to inject faults and check the order of steps. */
void grp_tip_set_test_hook(struct grp_tip *t, void (*fn)(const char *stage, void *ud), void *ud);

/* Run the test hook, if any (the tip modules call it). */
void grp_tip_test_hook(struct grp_tip *t, const char *stage);

/* Tests only: draw pseudonyms from `fn` instead of the CSPRNG (NULL: back
 * to random), to exercise collisions. */
void grp_tip_set_pseudonym_source(struct grp_tip *t, void (*fn)(char out[GRP_TIP_PSEUDONYM_LEN]));

/* ---- the tip flow (called by the dialogue on a router thread) ---- */

/*
 * Open a case for the sender of `ev` (ctx->member_id, who chose "secret
 * information"): a fresh id and pseudonym, routed to the thana of `unit`
 * (a unit code the citizen chose; NULL: the member's locality `g`), with HQ
 * visibility; the routing record and the sealed identity are written and
 * the member's tip session starts. Idempotent per ctx->event_key: a
 * replayed event returns the same case (*created 0). Returns 0, or -1:
 * CORE_EX_CONFIG no reveal key (tell the citizen the line is unavailable),
 * CORE_EX_NOINPUT no member, CORE_EX_UNAVAILABLE Redis (retry).
 */
int grp_tip_open_case(struct grp_tip *t, struct gw_router_ctx *ctx, const struct gw_event *ev,
                      const char *unit, struct grp_tip_case *out, int *created,
                      struct core_err *err);

/*
 * Add what the tipster sent (`ev`: text, image, video, audio/voice,
 * document, sticker, location, contacts, interactive replies) to case
 * `case_id`, sealed. Media are queued for fetching (groups/tipmedia.h).
 * Idempotent per ctx->event_key. Refreshes the member's tip session. A
 * closed case opens again. Returns 0 (see `out`), or -1: CORE_EX_NOINPUT
 * unknown case, CORE_EX_NOPERM the sender is not the case's tipster,
 * CORE_EX_DATAERR the case is full (tip_max_items).
 */
int grp_tip_add(struct grp_tip *t, struct gw_router_ctx *ctx, const struct gw_event *ev,
                const char *case_id, struct grp_tip_added *out, struct core_err *err);

/*
 * The case a member quotes in `text` (a pseudonym anywhere in it, in any
 * case, with or without "T" and separators, Devanagari digits allowed):
 * *found is 1 and `case_id` filled only when the pseudonym exists AND the
 * case's tipster is `mid` (anyone else learns nothing). Returns 0 or -1.
 */
int grp_tip_find_by_pseudonym(struct grp_tip *t, struct core_redis *r, const char *text,
                              const char *mid, char case_id[GRP_TIP_CASE_LEN], int *found,
                              struct core_err *err);

/*
 * The case of the reply `context_wamid` answers (a tipster answering an
 * officer's reply with WhatsApp's "reply"), under the same owner check.
 */
int grp_tip_find_by_context(struct grp_tip *t, struct core_redis *r, const char *context_wamid,
                            const char *mid, char case_id[GRP_TIP_CASE_LEN], int *found,
                            struct core_err *err);

/*
 * What the tipster is told when asking for news (in `lang`): the case's
 * pseudonym, messages received, state and the officers' replies (the last
 * three). Appends to `out`. The caller has checked the owner (find_by_*).
 */
int grp_tip_status_text(struct grp_tip *t, struct core_redis *r, const char *case_id,
                        const char *lang, struct core_buf *out, struct core_err *err);

/* The member's current tip session: *found and `case_id`. */
int grp_tip_session_get(struct grp_tip *t, struct core_redis *r, const char *mid,
                        char case_id[GRP_TIP_CASE_LEN], int *found, struct core_err *err);

/* End the member's tip session (the tipster wrote DONE). Idempotent. */
int grp_tip_session_end(struct grp_tip *t, struct core_redis *r, const char *mid,
                        struct core_err *err);

/* ---- officers (CLI, HTTP API) ---- */

/* An operator (CLI user, API token holder): HQ visibility. */
void grp_tip_viewer_operator(struct grp_tip_viewer *v, const char *actor);

/*
 * The viewer of officer `mid` from js:off:{MID} (role sho: its thana;
 * district: its district; hq: all). Returns -1 with CORE_EX_NOPERM for an
 * unknown officer or a role without access to tips (beat).
 */
int grp_tip_viewer_officer(struct core_redis *r, const char *mid, struct grp_tip_viewer *v,
                           struct core_err *err);

/*
 * A case id or a pseudonym (any spelling grp_tip_pseudonym_scan accepts)
 * to the case id. Returns 0, or -1 with CORE_EX_NOINPUT when unknown.
 */
int grp_tip_resolve_ref(struct core_redis *r, const char *ref, char case_id[GRP_TIP_CASE_LEN],
                        struct core_err *err);

/*
 * The case `ref` if `v` may see it (else CORE_EX_NOINPUT, as for an unknown
 * case: existence is not revealed). Returns 0 or -1.
 */
int grp_tip_get(struct grp_tip *t, struct core_redis *r, const struct grp_tip_viewer *v,
                const char *ref, struct grp_tip_case *out, struct core_err *err);

/*
 * The officer's view of case `ref` as JSON (new reference): the case's
 * facts and every item decrypted (text, location, media state with a
 * download path, replies with their delivery state). Audited
 * (tip.case.view). NULL with err on failure.
 */
json_t *grp_tip_view(struct grp_tip *t, struct core_redis *r, const struct grp_tip_viewer *v,
                     const char *ref, struct core_err *err);

/*
 * Cases `v` may see, newest first, as a JSON array (new reference) of
 * summaries; `state` "open", "closed" or NULL for both; at most `limit`.
 */
json_t *grp_tip_list(struct grp_tip *t, struct core_redis *r, const struct grp_tip_viewer *v,
                     const char *state, size_t limit, struct core_err *err);

/*
 * The stored media of item `n` of case `ref`: *data (malloc'd; free with
 * grp_tip_media_release, which wipes), *len, and its type in `mime` (a safe
 * type or "application/octet-stream"). Audited (tip.media.view). -1 with
 * CORE_EX_NOINPUT when not visible, not media or not (yet) stored.
 */
int grp_tip_media(struct grp_tip *t, struct core_redis *r, const struct grp_tip_viewer *v,
                  const char *ref, long n, unsigned char **data, size_t *len, char mime[80],
                  struct core_err *err);

/* Wipe and free media returned by grp_tip_media. */
void grp_tip_media_release(unsigned char *data, size_t len);

/*
 * An officer's reply to case `ref`: kept in the case (sealed) and queued in
 * the outbox to recipient "tip:<case id>", lane reply, as the text
 * tip.reply in the tipster's language, with the template tip_reply_template
 * (tip.reply_notice, no officer text) for outside the 24-hour window.
 * `key` (may be NULL: random) makes the call idempotent. Audited
 * (tip.reply). Returns 0 or -1 (CORE_EX_DATAERR: empty or too long text).
 */
int grp_tip_reply(struct grp_tip *t, struct core_redis *r, const struct grp_tip_viewer *v,
                  const char *ref, const char *text, const char *key,
                  struct grp_tip_reply_result *out, struct core_err *err);

/* Close case `ref` (the routing record then expires). Audited. */
int grp_tip_close(struct grp_tip *t, struct core_redis *r, const struct grp_tip_viewer *v,
                  const char *ref, const char *reason, struct core_err *err);

/* ---- delivery (the dispatcher) ---- */

/*
 * Recipient resolver for the dispatcher (gw_rcpt_resolver): "tip:<case id>"
 * to the tipster's member id, from the routing record. `ud` is the struct
 * grp_tip. -1 with CORE_EX_NOINPUT when the case or its routing record is
 * gone, CORE_EX_UNAVAILABLE on Redis errors.
 */
int grp_tip_resolve_recipient(void *ud, struct core_redis *r, const char *rcpt,
                              char mid[CRY_MID_LEN], struct core_err *err);

/* ---- pseudonyms ---- */

/* A fresh random pseudonym "T-XXXX-YC" (C: Luhn mod 28 check symbol). */
void grp_tip_pseudonym_new(char out[GRP_TIP_PSEUDONYM_LEN]);

/* The check symbol of 5 alphabet symbols, or 0 if one is not in the alphabet. */
char grp_tip_pseudonym_check(const char body[5]);

/* True for a canonical pseudonym with a valid check symbol. */
int grp_tip_pseudonym_valid(const char *s);

/*
 * The first pseudonym quoted in `len` bytes of `text` (see
 * grp_tip_find_by_pseudonym), canonical, into `out`. Returns 1 found, 0 not.
 */
int grp_tip_pseudonym_scan(const char *text, size_t len, char out[GRP_TIP_PSEUDONYM_LEN]);

/* ---- for the other tip modules (tipmedia, tipreveal, tipapi) ---- */

/* The audit writer of `t` (borrowed). */
struct cry_audit *grp_tip_audit(struct grp_tip *t);

/* The keys of `t` (borrowed). */
const struct cry_keys *grp_tip_keys(const struct grp_tip *t);

/* The settings of `t` (borrowed). */
const struct core_cfg *grp_tip_cfg(const struct grp_tip *t);

/* Load a case's public facts (no access check). 0, or -1 NOINPUT. */
int grp_tip_load(struct core_redis *r, const char *case_id, struct grp_tip_case *out,
                 struct core_err *err);

/* Item `n` of a case, opened (new JSON reference), or NULL with err. */
json_t *grp_tip_item_open(struct grp_tip *t, struct core_redis *r, const char *case_id, long n,
                          struct core_err *err);

/* Store fetched media of item `n` sealed and mark it stored (idempotent). */
int grp_tip_media_store(struct grp_tip *t, struct core_redis *r, const char *case_id, long n,
                        const unsigned char *data, size_t len, struct core_err *err);

/* Mark media item `n` "too_large" or "failed". */
int grp_tip_media_mark(struct core_redis *r, const char *case_id, long n, const char *state,
                       struct core_err *err);

/* The media state of item `n` ("pending", "stored", ...) into `out`. */
int grp_tip_media_state(struct core_redis *r, const char *case_id, long n, char *out, size_t cap,
                        struct core_err *err);

/*
 * The sealed identity of a case (the crypto_box_seal to the reveal key,
 * taken out of its vault wrapping, which proves it was written by janseva
 * for this case): *data malloc'd (caller frees), *len. -1 with
 * CORE_EX_DATAERR when the wrapping does not open (tampered or moved).
 */
int grp_tip_sealed_identity(struct grp_tip *t, struct core_redis *r, const char *case_id,
                            unsigned char **data, size_t *len, struct core_err *err);

/* True for a well-formed case id (32 lower-case hex digits). */
int grp_tip_is_case_id(const char *s);

/* ---- routing by a shared place ---- */

#define GRP_TIP_PLACE_KM 25.0

/*
 * The tipster shared a location (lat, lon) in case `cid`: the locality
 * nearest to it within GRP_TIP_PLACE_KM gives the case its thana and
 * district (routing "place"), so the tip reaches the police of where it
 * happened rather than of where the tipster lives. Only a case routed
 * automatically ("locality", "hq") moves, and only by its first place; a
 * case already routed by a place or by a choice stays. *moved = 1 when
 * the thana changed (audited: tip.case.route). Returns 0 (also when no
 * locality is near), or -1.
 */
int grp_tip_route_by_place(struct grp_tip *t, struct core_redis *r, const char *cid, double lat,
                           double lon, int *moved, struct core_err *err);

/* ---- retention ---- */

struct grp_tip_purge_stats {
    long purged;   /* closed cases purged (or, in a dry run, that would be) */
    long items;    /* their items */
    long open_old; /* open cases without activity for longer: never purged */
};

/*
 * Retention (docs/tips.md, "Retention"): purge every case closed more than
 * `days` days ago (>= 1) - its record, items, event index, media, routing
 * record and pseudonym - each audited (tip.case.purge, as `actor`) before
 * anything is deleted. Open cases are never purged, however old; a case
 * reopened by the tipster is open. `dry_run` only counts. Idempotent; a run
 * that crashed is finished by the next. Returns 0 or -1.
 */
int grp_tip_purge(struct grp_tip *t, struct core_redis *r, int days, int dry_run,
                  const char *actor, struct grp_tip_purge_stats *st, struct core_err *err);

#endif
