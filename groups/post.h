/*
 * groups/post.h - group posts: the dialogue flow "post" that takes every
 * message of an active member that no keyword or other flow claimed, asks
 * the moderation engine, stores the decision, and then relays, holds or
 * drops the post (docs/groups.md, "Posts, relay, inbox"). Whatever the
 * verdict, a post that looks like a report reaches the thana's police inbox
 * and an urgent one is escalated to the locality's beat officer and SHO at
 * once (lane alert).
 *
 * A post is one hash js:post:{PID}. PID = 16 hex digits of
 * BLAKE2b("janseva post v1" || event key), so a replayed webhook event
 * names the same post: the record is written once (a script refuses a
 * second write), the stored decision is reused, and every message queued
 * for it has an idempotency key made of PID (relays post:<PID>:<MID>,
 * escalations urg:<PID>:<MID>, the notice to the author r:<event key>:0).
 *
 *   g    locality code of the group        m    author's member id
 *   lbl  author's label code ("K7Q2")      n    business number it came to
 *   ty   message type                      t    when received, Unix ms
 *   v    verdict relay|hold|drop           lb   moderation label
 *   u    1 when urgent, k its kind         r    1 when a report
 *   th   the locality's thana ("" none)    d    the decision (JSON reasons
 *                                               record of moderation/engine.h)
 *   st   relayed|held|dropped|approved|rejected
 *   c    the content, sealed (vault PII, record PID, field "post"):
 *        {"type","text","lat","lon","name","address","media"}
 *   by, why, dt  moderator, reason and time of a review decision
 *   ms, mu  media posts when media relay is on: pending|uploaded|failed,
 *           and the id of the re-uploaded copy (groups/postmedia.h)
 *
 * Nothing in the clear is personal: ids, codes, labels and the decision
 * (which lists the checks that fired, never the text). Held and reported
 * posts are kept; others expire after GRP_POST_KEEP_S (the replay window
 * of the outbox keys).
 *
 * Thread-safety: a struct grp_posts is shared by all router threads; every
 * call takes the caller's Redis connection.
 */
#ifndef JANSEVA_GROUPS_POST_H
#define JANSEVA_GROUPS_POST_H

#include "core/config.h"
#include "core/err.h"
#include "core/redis.h"
#include "crypto/keys.h"
#include "groups/dialogue.h"
#include "groups/hier.h"
#include "groups/member.h"
#include "groups/relay.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define GRP_POST_ID_LEN 17       /* 16 hex digits + NUL */
#define GRP_POST_KEEP_S 604800   /* relayed and dropped posts are kept 7 days */
#define GRP_POST_OFFICERS_MAX 16 /* beat officers (and SHOs) an escalation reaches */

struct cry_audit;
struct mod_engine;

/*
 * The posts engine. Fields are set by grp_posts_new and only read after
 * (relay.c and review.c read them too); everything is borrowed.
 */
struct grp_posts {
    const struct cry_keys *keys;
    struct cry_audit *audit;   /* may be NULL (tests) */
    struct mod_engine *engine; /* may be NULL: every post is held */
    struct grp_relay_opts relay;
    int64_t synced_ms;         /* last mod_engine_sync (atomic access) */
    bool media;                /* media posts go through the media worker */
};

/*
 * Create the engine from the settings (post_template, post_daily_budget_inr,
 * price_utility_inr, broadcast_template, dispatch_window_margin_s), `keys`,
 * `audit` and `engine` (borrowed; must outlive it). Never fails.
 */
struct grp_posts *grp_posts_new(const struct core_cfg *cfg, const struct cry_keys *keys,
                                struct cry_audit *audit, struct mod_engine *engine);

/* Free; NULL is a no-op. */
void grp_posts_free(struct grp_posts *p);

/* Relay media posts with their files: grp_post_relay queues them for the
 * media worker (groups/postmedia.h) that `serve` runs. Off by default
 * (then media posts are relayed as text). Call before use. */
void grp_posts_set_media(struct grp_posts *p, bool on);

/* Register the post metrics (janseva_posts_total{verdict}, ...). */
void grp_post_metrics_init(void);

/* The flow "post" (dialogue.c registers it last). Without a posts engine
 * (grp_dlg_set_posts) it only acknowledges with post.received. */
extern const struct grp_flow grp_post_flow;

/* ---- ids and records ---- */

/* The post id of an event key. */
void grp_post_id(const char *event_key, char out[GRP_POST_ID_LEN]);

/* True for 16 lower-case hex digits. */
bool grp_post_id_ok(const char *id);

/* js:post:{PID} into out (at least 40 bytes). */
void grp_post_key(const char *id, char *out, size_t n);

/* A stored post. Release with grp_post_rec_cleanup(). */
struct grp_post_rec {
    char id[GRP_POST_ID_LEN];
    char group[GRP_CODE_MAX + 1];
    char thana[GRP_CODE_MAX + 1];
    char mid[CRY_MID_LEN];
    char label[GRP_LABEL_CODE_LEN];
    char number[64];
    char type[16];
    char verdict[8];
    char mlabel[16];
    char state[12];
    char kind[32];
    bool urgent;
    bool report;
    int64_t t_ms;
    char by[96];    /* moderator of a review decision, "" */
    char why[256];  /* its reason, "" */
    int64_t dt_ms;  /* its time, 0 */
    char media_state[12]; /* ms: "", pending, uploaded, failed */
    char media_up[128];   /* mu: id of the re-uploaded media, "" */
    json_t *decision; /* the decision record (new reference), or NULL */
    json_t *content;  /* the opened content (new reference), NULL unless asked for */
};

/*
 * Load post `id`; with `open` also unseal its content. Returns 1 (found),
 * 0 (no such post) or -1 (Redis; a content that does not open is
 * CORE_EX_DATAERR).
 */
int grp_post_load(const struct grp_posts *p, struct core_redis *r, const char *id, bool open,
                  struct grp_post_rec *out, struct core_err *err);

/* Release what grp_post_load allocated (the struct may be reused). */
void grp_post_rec_cleanup(struct grp_post_rec *rec);

/* The record as JSON for the CLI and the API (new reference): ids, group,
 * label, state, verdict, label, urgency, time, decision, and the content
 * when loaded. */
json_t *grp_post_rec_json(const struct grp_post_rec *rec);

/*
 * The moderation input of a stored post (for feedback): fills `mp` with
 * pointers into rec->content (which must be loaded). */
struct mod_post;
void grp_post_mod_input(const struct grp_post_rec *rec, struct mod_post *mp);

/*
 * Relay stored post `rec` (content loaded) to the other members of its
 * group (groups/relay.h), as the flow does for a relay verdict and a
 * moderator's approval. A media post with media relay on and no uploaded
 * copy yet is queued for the media worker instead (once: ms=pending), which
 * calls this again when the copy is there. `st` may be NULL. Returns 0 or
 * -1.
 */
int grp_post_relay(const struct grp_posts *p, struct core_redis *r, const struct grp_post_rec *rec,
                   int64_t now_ms, struct grp_relay_stats *st, struct core_err *err);

/*
 * The thana above unit `code` (itself when it is one) into `out`, "" when
 * there is none. Returns 0 or -1 (Redis).
 */
int grp_post_thana_of(struct core_redis *r, const char *code, char out[GRP_CODE_MAX + 1],
                      struct core_err *err);

/* Queue a notice (catalogue text `text_id`) to a post's author on the reply
 * lane, key "post:<PID>:<what>". Returns 0 or -1. */
int grp_post_notify_author(const struct grp_posts *p, struct core_redis *r,
                           const struct grp_post_rec *rec, const char *text_id, const char *what,
                           struct core_err *err);

#endif
