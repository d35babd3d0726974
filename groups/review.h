/*
 * groups/review.h - the moderators' review queue of held posts and the
 * police inbox of each thana: storage, decisions, `janseva review`,
 * `janseva inbox` and the HTTP API.
 *
 * Redis (post records are js:post:{PID}, groups/post.h):
 *   js:review          zset  held posts waiting for a moderator, by time (ms)
 *   js:inbox:{THANA}   zset  posts that are reports to the police of THANA,
 *                            by time (ms); urgent ones are flagged in the
 *                            post record
 * Both are sets of post ids, so adding the same post twice (a replayed
 * event) changes nothing.
 *
 * Decisions: approve relays the post to its group (keys post:<PID>:<MID>:
 * approving twice relays once) and tells the author; reject tells the
 * author. Both teach the moderation engine the label (mod_feedback,
 * MOD_FB_LEARN) and are audited (crypto/audit.h, actions post.approve and
 * post.reject, object = the post id, reason = label and the moderator's
 * reason; never the text). A post decided once cannot be decided again
 * the other way (GRP_REVIEW_ESTATE).
 *
 * Moderators: operators (CLI, API token alone) and officers with the role
 * hq. The inbox of a thana is read by operators and by officers whose
 * jurisdiction holds the thana (grp_off_may_reach).
 *
 * HTTP (under the /api/ token, groups/api.h; an officer adds the header
 * X-Janseva-Officer: CODE):
 *   GET  /api/review[?limit=N]            held posts, oldest first
 *   GET  /api/review/{PID}                one post with its decision
 *   POST /api/review/{PID}/approve        body {"label":..,"reason":..} optional
 *   POST /api/review/{PID}/reject         body {"label":.. (required), "reason":..}
 *   GET  /api/review/{PID}/member         the author: state, group, posts,
 *                                         strikes, sanction (mid and label only)
 *   POST /api/review/{PID}/mute|unmute|ban|unban
 *                                         sanction the author (groups/sanction.h);
 *                                         body {"reason":..} optional
 *   GET  /api/inbox?unit=CODE[&limit=N]   the inbox of the thana of CODE, newest first
 */
#ifndef JANSEVA_GROUPS_REVIEW_H
#define JANSEVA_GROUPS_REVIEW_H

#include "core/config.h"
#include "core/err.h"
#include "core/httpd.h"
#include "core/redis.h"
#include "groups/hier.h"
#include "groups/officer.h"
#include "groups/member.h"
#include "groups/post.h"
#include "groups/sanction.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define GRP_REVIEW_KEY "js:review"
#define GRP_REVIEW_REASON_MAX 200 /* characters of a moderator's reason */
#define GRP_REVIEW_LIST_MAX 500
#define GRP_REVIEW_BODY_MAX 4096

/* Results of a decision. */
enum grp_review_rc {
    GRP_REVIEW_OK = 0,
    GRP_REVIEW_EFAIL = -1,     /* Redis or internal (err) */
    GRP_REVIEW_ENOTFOUND = 1,  /* no such post, or not a held one */
    GRP_REVIEW_EFORBIDDEN = 2, /* not a moderator / outside jurisdiction */
    GRP_REVIEW_EINVALID = 3,   /* bad label or reason */
    GRP_REVIEW_ESTATE = 4,     /* decided the other way already */
};

/* ---- storage (the post flow calls these) ---- */

/* Put held post `pid` in the review queue. *added (may be NULL) = 1 when
 * it was not there. Returns 0 or -1. */
int grp_review_hold(struct core_redis *r, const char *pid, int64_t t_ms, int *added,
                    struct core_err *err);

/* js:inbox:{THANA} into out. */
void grp_review_inbox_key(const char *thana, char *out, size_t n);

/* Put report `pid` in the inbox of `thana`. *added as above. Returns 0 or -1. */
int grp_review_inbox_add(struct core_redis *r, const char *thana, const char *pid, int64_t t_ms,
                         int *added, struct core_err *err);

/* ---- reading ---- */

/* Held posts, oldest first, at most `limit`, with their content (new
 * reference: an array of grp_post_rec_json objects), or NULL (err). */
json_t *grp_review_list(const struct grp_posts *p, struct core_redis *r, size_t limit,
                        struct core_err *err);

/* The inbox of `thana`, newest first, at most `limit` (as above). */
json_t *grp_review_inbox_list(const struct grp_posts *p, struct core_redis *r, const char *thana,
                              size_t limit, struct core_err *err);

/* ---- deciding ---- */

/* Who decides. */
struct grp_review_actor {
    char name[96];          /* audit actor: "cli:<user>", "api:<name>", "officer:<code>" */
    bool officer;
    struct grp_officer off; /* officer only */
};

/*
 * Approve (`approve` true) or reject held post `pid`. `label` is what the
 * post is (NULL: legit when approving; required when rejecting), `reason`
 * may be NULL. Approving an approved post (or rejecting a rejected one)
 * is GRP_REVIEW_OK and does nothing more than repeat the relay (queued
 * once). `*out` (may be NULL) gets the post's JSON afterwards.
 */
enum grp_review_rc grp_review_decide(const struct grp_posts *p, struct core_redis *r,
                                     const struct grp_review_actor *who, const char *pid,
                                     bool approve, const char *label, const char *reason,
                                     json_t **out, struct core_err *err);

/* True if `who` may moderate (operators; officers with role hq). */
bool grp_review_may_moderate(const struct grp_review_actor *who);

/* ---- the API request body (exposed for the fuzzer) ---- */

struct grp_review_body {
    json_t *root;       /* owns the strings */
    const char *label;  /* NULL when absent */
    const char *reason; /* NULL when absent */
};

/*
 * Moderators' sanctions (groups/sanction.h) on the author of post `id` (16
 * hex digits) or on member `id` (a mid): `action` "mute", "unmute", "ban",
 * "unban", or NULL to only look. On GRP_REVIEW_OK *out (may be NULL) gets
 * the member as JSON (grp_review_member_json; new reference). Errors:
 * EFORBIDDEN (not a moderator), EINVALID (action, reason), ENOTFOUND,
 * ESTATE (muting a banned member), EFAIL.
 */
enum grp_review_rc grp_review_member(const struct grp_posts *p, struct core_redis *r,
                                     const struct grp_review_actor *who, const char *id,
                                     const char *action, const char *reason, json_t **out,
                                     struct core_err *err);

/* {"member","label","state","group","lang","joined","posts","strikes",
 * "sanction"} of a member: its mid and pseudonymous label, never a number
 * or a name (new reference). */
json_t *grp_review_member_json(const struct grp_member *m, enum grp_sx_state sx);

/*
 * Parse a decision body: empty, or a JSON object with optional string
 * fields label (a moderation label) and reason (at most
 * GRP_REVIEW_REASON_MAX characters), nothing else. Returns 0, or -1 with a
 * message in `why` that never quotes the input. Release with
 * grp_review_body_free (also after -1).
 */
int grp_review_parse_body(const char *body, size_t len, struct grp_review_body *out, char *why,
                          size_t n);
void grp_review_body_free(struct grp_review_body *b);

/* ---- HTTP ---- */

struct grp_review_api;

/* The API over `p` and `pool` (borrowed), or NULL when cfg->api_token is
 * unset. */
struct grp_review_api *grp_review_api_new(const struct core_cfg *cfg, const struct grp_posts *p,
                                          struct core_redis_pool *pool);
void grp_review_api_free(struct grp_review_api *a);
void grp_review_api_register(struct grp_review_api *a, struct core_httpd *h);

/* ---- command line ---- */

/* `janseva review ...` and `janseva inbox ...`: exit status. */
int grp_review_cli_main(int argc, char **argv);
int grp_review_inbox_cli_main(int argc, char **argv);

/* Register the review metrics. */
void grp_review_metrics_init(void);

#endif
