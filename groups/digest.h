/*
 * groups/digest.h - the per-group relay mode and the daily digest of group
 * posts (docs/groups.md, "Relay economics"; docs/internals/groups.md,
 * "Daily digest").
 *
 * Every village group has a relay mode, kept with the group in the hash
 * js:u:{CODE}:cfg (field `relay`; absent = each):
 *
 *   each    (default) members outside their 24-hour window get every post
 *           as the post_template template, charged price_utility, within
 *           the group's daily budget (groups/relay.h);
 *   digest  members inside the window still get each post free-form at
 *           once; members outside it get nothing at post time: the post is
 *           noted in the group's digest of the day, and the member in the
 *           digest's recipients. Once a day, at digest_hour local time, each
 *           recipient who still receives the group's messages gets ONE
 *           template (digest_template: {{1}} group, {{2}} number of posts,
 *           {{3}} the posts on one line), charged price_utility against the
 *           same daily budget when their window is closed at that time.
 *
 * Rule (who gets the digest): the members who were outside their window
 * for at least one of the day's digested posts, and still receive the
 * group's messages (grp_member_receives, not merged) when the digest goes.
 * Members inside the window for every post already have them all and get
 * no digest.
 *
 * Digest day: a post belongs to the digest sent next, at digest_hour local
 * time (UTC + digest_utc_offset_min): day D collects from D-1 at
 * digest_hour to D at digest_hour. Days are YYYYMMDD local dates.
 *
 * Redis (all in the group's slot {CODE} but the day index and markers):
 *
 *   js:u:{CODE}:cfg           hash  relay = each | digest
 *   js:dg:{CODE}:DAY          hash  PID -> the post's entry, sealed (vault PII,
 *                                   record js:dg:{CODE}:DAY, field PID): JSON
 *                                   {"l":label,"k":type,"x":one-line text,
 *                                   "n":business number,"t":Unix s}
 *   js:dg:{CODE}:DAY:m        zset  recipients (mids, score 0; walked by lex)
 *   js:dg:{CODE}:DAY:job      hash  cur (last mid done), st (done), counters
 *   js:dg:days:DAY            set   codes of the groups with a digest that day
 *   js:dg:lease:DAY           str   the process running the day (PX lease)
 *   js:dg:done:DAY            str   every group of the day is done
 *
 * All expire GRP_DIGEST_TTL_S after their last write. Crash safety: the
 * entry is written with HSETNX (a replayed relay notes a post once), the
 * recipients are a set; each digest message has the idempotency key
 * digest:<CODE>:<DAY>:<MID> and costs are recorded only for messages newly
 * queued; the job saves its cursor after each batch, so a restart resumes
 * there and a batch queued but not saved is re-walked without queueing or
 * charging anything twice.
 */
#ifndef JANSEVA_GROUPS_DIGEST_H
#define JANSEVA_GROUPS_DIGEST_H

#include "core/config.h"
#include "core/err.h"
#include "core/redis.h"
#include "crypto/keys.h"
#include "groups/hier.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GRP_DIGEST_DAY_LEN 9          /* "YYYYMMDD" + NUL */
#define GRP_DIGEST_TTL_S (4 * 86400)  /* digest keys live this long after the last write */
#define GRP_DIGEST_BATCH 500          /* recipients per batch (cursor saved after each) */
#define GRP_DIGEST_PARAM_MAX 900      /* characters of the {{3}} parameter, "…" when cut */
#define GRP_DIGEST_TEXT_MAX 200       /* characters of one post in the digest */
#define GRP_DIGEST_LEASE_MS 300000    /* a day's run whose process died resumes after */
#define GRP_DIGEST_POLL_MS 60000      /* the worker looks at the clock this often */
#define GRP_DIGEST_KEY_MAX (GRP_CODE_MAX + 40)

/* ---- the relay mode of a group ---- */

enum grp_relay_mode {
    GRP_RELAY_EACH = 0, /* a template per post outside the window (default) */
    GRP_RELAY_DIGEST    /* a daily digest outside the window */
};

/* "each", "digest". */
const char *grp_relay_mode_name(enum grp_relay_mode m);

/* Parse "each" or "digest"; returns 0 or -1. */
int grp_relay_mode_parse(const char *s, enum grp_relay_mode *out);

/* The mode of group `code` (each when unset). Returns 0 or -1 (Redis). */
int grp_relay_mode_get(struct core_redis *r, const char *code, enum grp_relay_mode *out,
                       struct core_err *err);

/*
 * Set the mode of group `code`, which must be a locality (-1 with
 * CORE_EX_NOINPUT otherwise). Returns 0 or -1.
 */
int grp_relay_mode_set(struct core_redis *r, const char *code, enum grp_relay_mode m,
                       struct core_err *err);

/* ---- days ---- */

/* The digest day collecting at `now_s`: the local date (UTC + offset_min)
 * of now + (24 - hour) hours. */
void grp_digest_day(int64_t now_s, int hour, int offset_min, char out[GRP_DIGEST_DAY_LEN]);

/* The latest digest day whose sending time (that day at `hour` local time)
 * is at or before `now_s`. */
void grp_digest_due_day(int64_t now_s, int hour, int offset_min, char out[GRP_DIGEST_DAY_LEN]);

/* True for 8 digits that make a date YYYYMMDD. */
bool grp_digest_day_ok(const char *s);

/* ---- noting posts (relay.c, at post time) ---- */

/* A post as the digest keeps it. Strings borrowed. */
struct grp_digest_post {
    const char *pid;    /* post id */
    const char *label;  /* the author's label code ("K7Q2") */
    const char *type;   /* text, location, image, ... */
    const char *text;   /* text, caption or "lat, lon"; cut to GRP_DIGEST_TEXT_MAX */
    const char *number; /* business number the post came to */
};

/*
 * Add the `n` mids (borrowed) to the recipients of group `code`'s digest of
 * `day` (idempotent). Returns 0 or -1.
 */
int grp_digest_add_members(struct core_redis *r, const char *code, const char *day,
                           const char *const *mids, size_t n, struct core_err *err);

/*
 * Note post `p` in group `code`'s digest of `day`, sealed (once: a replay
 * changes nothing), and the group in the day's index. *added (may be NULL)
 * is 1 when the post is new. Returns 0 or -1.
 */
int grp_digest_add_post(struct core_redis *r, const struct cry_keys *keys, const char *code,
                        const char *day, const struct grp_digest_post *p, int *added,
                        struct core_err *err);

/* ---- sending (the job) ---- */

/* Settings (strings borrowed). */
struct grp_digest_opts {
    const char *template_name; /* digest_template */
    long price;                /* price_utility, 1/10000 INR per template */
    long budget;               /* post_daily_budget, 1/10000 INR per group and day */
    int window_margin_s;       /* dispatch_window_margin_s */
    int hour;                  /* digest_hour */
    int utc_offset_min;        /* digest_utc_offset_min */
    size_t batch;              /* recipients per batch; 0: GRP_DIGEST_BATCH */
    const char *number;        /* number to send from when no post names one (may be NULL) */
    long test_crash_after;     /* tests: stop after queueing batch n, before its cursor */
};

/* Fill `o` from the settings (strings borrowed from cfg). */
void grp_digest_opts_from_cfg(struct grp_digest_opts *o, const struct core_cfg *cfg);

/* Counts of a run (added to, never reset). */
struct grp_digest_stats {
    long groups;         /* group digests finished in this run */
    long already_done;   /* groups whose digest of the day had been sent before */
    long posts;          /* posts in the digests finished */
    long queued;         /* digest messages newly queued */
    long duplicate;      /* already queued (a resumed batch) */
    long not_receiving;  /* recipients who left, were banned, moved or merged */
    long skipped_budget; /* window closed, over the day's budget: not queued */
    long charged;        /* newly queued with the window closed */
    long long cost;      /* their estimated cost, 1/10000 INR */
};

/*
 * Send group `code`'s digest of `day`: one template per recipient (see the
 * rule above), lane bulk, key digest:<CODE>:<DAY>:<MID>, in the member's
 * language. Resumes from the saved cursor; a finished digest is not sent
 * again (already_done). `now_s` gives the windows and the budget day.
 * Returns 0 (done), 1 (stopped by test_crash_after) or -1 (Redis; run it
 * again).
 */
int grp_digest_run_group(struct core_redis *r, const struct cry_keys *keys,
                         const struct grp_digest_opts *o, const char *code, const char *day,
                         int64_t now_s, struct grp_digest_stats *st, struct core_err *err);

/*
 * Send every group digest of `day` (js:dg:days:DAY), one group after the
 * other; `progress` (may be NULL) gets a line per group. Returns 0, 1 or -1
 * like grp_digest_run_group (stops at the first -1 or 1).
 */
int grp_digest_run_day(struct core_redis *r, const struct cry_keys *keys,
                       const struct grp_digest_opts *o, const char *day, int64_t now_s,
                       FILE *progress, struct grp_digest_stats *st, struct core_err *err);

/* The state of a group's digest of `day`: posts noted, recipients, and
 * whether it was sent (any pointer may be NULL). Returns 0 or -1. */
int grp_digest_info(struct core_redis *r, const char *code, const char *day, long long *posts,
                    long long *members, bool *done, struct core_err *err);

/* ---- the scheduler (janseva serve) ---- */

/*
 * One look at the clock: when the digest of the due day (grp_digest_due_day)
 * or of the day before has not been sent by any process (js:dg:done:DAY),
 * take the day's lease (SET NX PX, `owner`) and run it. *ran (may be NULL)
 * is set to the number of days run. Returns 0 or -1.
 */
int grp_digest_tick(struct core_redis *r, const struct cry_keys *keys,
                    const struct grp_digest_opts *o, const char *owner, int64_t now_s, int *ran,
                    struct core_err *err);

struct grp_digest_worker;

/*
 * Start the thread that calls grp_digest_tick every GRP_DIGEST_POLL_MS with
 * its own Redis connection (`ro` and the strings of `o` copied; `keys`
 * borrowed, must outlive it). Returns NULL with err when the thread cannot
 * start.
 */
struct grp_digest_worker *grp_digest_worker_start(const struct grp_digest_opts *o,
                                                  const struct cry_keys *keys,
                                                  const struct core_redis_opts *ro,
                                                  struct core_err *err);

/* Stop (the group in progress is finished first) and free. NULL is a no-op. */
void grp_digest_worker_stop(struct grp_digest_worker *w);

/* Register the digest metrics (janseva_digest_*). */
void grp_digest_metrics_init(void);

#endif
