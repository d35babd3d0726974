/*
 * groups/relay.h - relaying an approved post to the other members of its
 * village group, and the economics of it (docs/groups.md, "Relay
 * economics").
 *
 * Fan-out: the members of js:u:{CODE}:mem are walked in batches
 * (grp_member_group_scan); each member's st, g, lang, li and mg are read in
 * one pipeline (with the day's cost so far), and every member who receives
 * the group's messages (grp_member_receives: active or muted, in that
 * group, not merged), except the author, gets one outbox message on the
 * bulk lane with the idempotency key post:<PID>:<MID>. A replayed event or
 * a repeated approval walks the group again and queues nothing twice; a
 * crash in the middle is finished by the repeat (the router retries the
 * event).
 *
 * Message: the text in the recipient's language frame (post.relay:
 * "💬 *सदस्य K7Q2* · हल्दी छपरा" and the text), never a number or a profile
 * name; a location as a location message named with the label. Media:
 * once the media worker (groups/postmedia.h) has re-uploaded the file,
 * `media_up` names the copy and an image, video or document goes as that
 * media with the frame and the caption as its caption; an audio (voice
 * note) or sticker takes no caption, so members inside the window first get
 * the frame as a short text (key post:<PID>:<MID>:l), then the media.
 * Without `media_up` (no worker, or the file could not be fetched or
 * re-uploaded) a media post goes as the label, the kind ("[फ़ोटो]") and the
 * caption.
 *
 * Economics: inside a member's 24-hour window (last inbound `li`, closed
 * dispatch_window_margin_s early) the text is free. Outside it the
 * dispatcher sends the template fallback (post_template, utility: {{1}}
 * group, {{2}} label, {{3}} the text on one line), charged price_utility.
 * Each group has a daily budget (post_daily_budget_inr): before a batch,
 * the day's cost so far is read from js:relay:{CODE}:DAY (hash: cost in
 * 1/10000 INR, charged, queued, skipped); a member outside the window whose
 * template would exceed the budget is skipped (counted, logged), not
 * queued. Costs are added only for messages newly queued, so a replay
 * charges nothing twice. Concurrent relays of one group may overshoot the
 * budget by at most one batch.
 *
 * Digest mode (groups/digest.h; the group's `relay` setting in
 * js:u:{CODE}:cfg, read once per fan-out): members inside the window get
 * the post as above; members outside it get nothing now: they are added to
 * the recipients of the group's digest of the day and the post is noted in
 * it (once; a replay notes nothing twice). Nothing is charged at post time;
 * the digest job charges its templates against the same budget.
 */
#ifndef JANSEVA_GROUPS_RELAY_H
#define JANSEVA_GROUPS_RELAY_H

#include "core/err.h"
#include "core/redis.h"
#include "crypto/keys.h"
#include "groups/hier.h"
#include "groups/texts.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define GRP_RELAY_BATCH 500     /* members per SSCAN batch */
#define GRP_RELAY_TEXT_MAX 3500 /* characters of a relayed text (the frame needs room) */
#define GRP_RELAY_CAPTION_MAX 1000 /* characters of a media caption (Meta: 1024) */
#define GRP_RELAY_DAY_TTL_S (40 * 86400)

/* Settings (strings borrowed). */
struct grp_relay_opts {
    const char *template_name; /* post_template */
    long price;                /* price_utility, 1/10000 INR per template */
    long budget;               /* post_daily_budget, 1/10000 INR per group and day */
    int window_margin_s;       /* dispatch_window_margin_s */
    int digest_hour;           /* digest_hour: digest day of a post (groups/digest.h) */
    int digest_utc_offset_min; /* digest_utc_offset_min */
};

/* What to relay. Everything borrowed for the call. */
struct grp_relay_post {
    const char *pid;            /* post id */
    const char *code;           /* the group's locality code */
    const char *name_hi;        /* its names */
    const char *name_en;
    const char *author_mid;     /* never receives it */
    const char *label_code;     /* "K7Q2" */
    const char *number;         /* business phone_number_id to send from */
    const json_t *content;      /* {"type","text","lat","lon","name","address"} */
    const char *media_up;       /* id of the re-uploaded media, or NULL */
};

/* Counts of one fan-out. */
struct grp_relay_stats {
    long queued;         /* newly queued */
    long duplicate;      /* already queued (a replay) */
    long not_receiving;  /* in the set but not receiving (left, banned, merged) */
    long skipped_budget; /* outside the window, over the day's budget: not queued */
    long digested;       /* outside the window, group in digest mode: noted for the digest */
    long charged;        /* newly queued with a charged template */
    long long cost;      /* their estimated cost, 1/10000 INR */
};

/*
 * Fan post `p` out to its group. `now_s` is the wall clock in seconds
 * (window and day). `st` may be NULL. Returns 0, or -1 (Redis:
 * CORE_EX_UNAVAILABLE; run it again, keys make it safe).
 */
int grp_relay_fanout(struct core_redis *r, const struct cry_keys *keys,
                     const struct grp_relay_opts *o, const struct grp_relay_post *p,
                     int64_t now_s, struct grp_relay_stats *st, struct core_err *err);

/*
 * The message a member in `lang` receives (new reference; NULL when the
 * content has nothing to relay), and its template fallback (new reference
 * into *fallback, may be NULL when fallback is NULL).
 */
json_t *grp_relay_message(const struct grp_relay_opts *o, const struct grp_relay_post *p,
                          enum grp_lang lang, json_t **fallback);

/* True for the post types that carry a file (image, video, audio, document,
 * sticker). */
bool grp_relay_media_type(const char *type);

/* For an audio or sticker with `media_up`: the frame sent as text before
 * it (new reference); NULL for every other post. */
json_t *grp_relay_label_message(const struct grp_relay_post *p, enum grp_lang lang);

/* The day key js:relay:{CODE}:YYYYMMDD (UTC) into out. */
void grp_relay_day_key(const char *code, int64_t now_s, char *out, size_t n);

/* The day's numbers of group `code`: cost (1/10000 INR), charged, queued,
 * skipped (any may be NULL). Returns 0 or -1. */
int grp_relay_day(struct core_redis *r, const char *code, int64_t now_s, long long *cost,
                  long long *charged, long long *queued, long long *skipped,
                  struct core_err *err);

/* Register the relay metrics. */
void grp_relay_metrics_init(void);

#endif
