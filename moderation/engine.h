/*
 * moderation/engine.h - the moderation engine: every citizen post in, a
 * verdict (relay / hold / drop) out, with the label, scores, urgency, the
 * police-report flag and a JSON record of every check that fired.
 *
 * Canonical use (the groups/router code, once per group post):
 *
 *     struct mod_opts o;
 *     mod_opts_default(&o);                    // o.model_path = NULL: built-in
 *     struct mod_engine *e = mod_engine_new(&o, &err);
 *     ...
 *     mod_engine_sync(e, redis, &err);         // now and then: feedback of others
 *     struct mod_post p = {.text = ev->text, .len = strlen(ev->text),
 *                          .type = ev->type, .forwarded = ev->forwarded, ...};
 *     struct mod_result r;
 *     if (mod_classify(e, redis, &p, &r, &err) == 0) {
 *         ... r.verdict, r.label, r.urgent, r.is_report, r.reasons ...
 *         mod_result_cleanup(&r);
 *     }
 *     ...
 *     mod_feedback(e, redis, &p, MOD_COMMERCIAL, MOD_FB_LEARN, &err);  // moderator
 *     mod_engine_free(e);
 *
 * Threads: one engine serves all threads. mod_classify() may run
 * concurrently with itself and with mod_feedback()/mod_engine_sync() (a
 * read-write lock guards the model; scratch buffers come from a pool).
 * Redis connections are not shared: every call takes the caller's
 * connection (`struct core_redis *`, borrowed; NULL = no Redis).
 *
 * Redis is optional. Without it there are no cross-member sightings and
 * feedback stays in this process. With it (keys in docs/internals/
 * moderation.md, all under js:mod:, cluster-friendly):
 *  - sightings of near-duplicates (posts, members, groups) are counted;
 *  - feedback is appended to the stream js:mod:feedback (hashed features
 *    and a fingerprint, never the text) and every engine applies the
 *    stream in mod_engine_sync(), so all processes learn the same things
 *    incrementally, with no retraining;
 *  - operator phrase lines in the set js:mod:phrases are added to the
 *    built-in lists when js:mod:phrases:ver changes.
 * A Redis failure during mod_classify() never fails the post: the
 * sightings check is skipped and says so in the reasons.
 */
#ifndef JANSEVA_MODERATION_ENGINE_H
#define JANSEVA_MODERATION_ENGINE_H

#include "core/buf.h"
#include "core/err.h"
#include "core/redis.h"
#include "moderation/fp.h"
#include "moderation/label.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mod_engine;
struct mod_model;

/* Engine settings. Strings are borrowed during mod_engine_new() only. */
struct mod_opts {
    const char *model_path;   /* model file; NULL = built-in model from the seed corpus */
    const char *phrases_path; /* extra phrase list file (phrase.h format); NULL = none */
    int builtin_phrases;      /* 1 (default): load the shipped lists in moderation/rules/ */
    int probation_posts;      /* members with fewer posts are checked more strictly (3) */
    int probation_hours;      /* ... and members who joined less than this long ago (24) */
    int flood_per_hour;       /* more posts than this in an hour are held (20) */
    int strikes_hold;         /* members with this many strikes are held (3) */
    double forwarded_shift;   /* added to the unwanted log-odds of a forwarded post (2) */
    int chain_members;        /* near-duplicates from this many members ... (5) */
    int chain_groups;         /* ... in this many groups are a chain (3) */
    int sightings_ttl_s;      /* how long sightings are counted (86400) */
    int emoji_many;           /* this many emoji add the EMOJI_MANY signal (6) */
};

/* The defaults above. */
void mod_opts_default(struct mod_opts *o);

/* What the sender has done so far (from the groups code). */
struct mod_sender {
    bool known;              /* false: history unknown (CLI); history rules are skipped */
    long posts;              /* posts so far, all groups */
    long posts_last_hour;
    int strikes;             /* sanctions so far */
    int64_t joined_ms;       /* when the member joined, Unix ms; 0 unknown */
};

/* One post. Everything is borrowed for the duration of the call. */
struct mod_post {
    const char *text;        /* message body (UTF-8), may be NULL */
    size_t len;              /* bytes of text */
    const char *caption;     /* media caption, may be NULL (NUL-terminated) */
    const char *type;        /* webhook message type ("text", "image", ...); NULL = "text" */
    bool has_media;
    bool forwarded;
    bool frequently_forwarded;
    const char *group_id;    /* pseudonymous group id; NULL = unknown (no sightings) */
    const char *member_id;   /* pseudonymous member id; NULL = unknown (no sightings) */
    struct mod_sender sender;
    int64_t now_ms;          /* 0 = the clock */
};

/* The decision about one post. Release with mod_result_cleanup(). */
struct mod_result {
    enum mod_label label;       /* what the post most likely is */
    enum mod_verdict verdict;   /* what to do with it */
    bool urgent;                /* an urgent incident: escalate; never dropped */
    bool is_report;             /* a report or request to the police: police inbox */
    double scores[MOD_NLABELS]; /* class probabilities from the classifier */
    double unwanted;            /* unwanted log-odds (model.h) */
    const char *rule;           /* the rule that decided (static string) */
    const char *lang;           /* "hi" or "en": language of the sender, for notices */
    char urgent_kind[32];       /* "firing", "murder", ... or "" */
    char fingerprint[MOD_FP_ID_HEX]; /* near-duplicate cluster id, "" when not counted */
    long seen_posts;            /* sightings of this near-duplicate; -1 unknown */
    long seen_members;
    long seen_groups;
    struct core_buf reasons;    /* JSON array text: every check that fired */
};

/* Create an engine. NULL on error (err: CORE_EX_NOINPUT / CORE_EX_DATAERR
 * for a bad model or phrase file). Free with mod_engine_free(). */
struct mod_engine *mod_engine_new(const struct mod_opts *o, struct core_err *err);

/* Create an engine around a model it takes over (tests, `janseva eval`).
 * `m` is owned by the engine from here on, also on failure. */
struct mod_engine *mod_engine_new_with_model(const struct mod_opts *o, struct mod_model *m,
                                             struct core_err *err);

/* Free; NULL is a no-op. No call may be running. */
void mod_engine_free(struct mod_engine *e);

/*
 * Decide about `post`. `redis` (may be NULL) is used for sightings. On
 * success fills `out` (release with mod_result_cleanup) and returns 0; -1
 * only for a programming error (NULL post). Never fails because of Redis.
 */
int mod_classify(struct mod_engine *e, struct core_redis *redis, const struct mod_post *post,
                 struct mod_result *out, struct core_err *err);

/* Release a result's memory (the struct may be reused). */
void mod_result_cleanup(struct mod_result *r);

/*
 * Append the result as one JSON object to `out`:
 * {"label":..,"verdict":..,"urgent":..,"scores":{..},"reasons":[..],
 *  "report":..,"rule":..}. Returns 0, or -1 if `out` is full.
 */
int mod_result_write_json(const struct mod_result *r, struct core_buf *out);

/* The result as a new jansson object (same fields plus lang, urgent_kind,
 * fingerprint and sightings). */
json_t *mod_result_json(const struct mod_result *r);

/* Feedback flags. */
#define MOD_FB_LEARN 0x1u   /* learn the post as `label` */
#define MOD_FB_UNLEARN 0x2u /* take back an earlier learning of the post as `label` */
#define MOD_FB_MARK 0x4u    /* mark its fingerprint: known-good if legit, else known-bad */

/*
 * A moderator's decision about `post`: learn it as `label` and/or mark its
 * fingerprint (flags above). With `redis` the feedback is appended to
 * js:mod:feedback and applied through mod_engine_sync() (so this and every
 * other process apply it exactly once, in stream order); without, it is
 * applied here at once. Returns 0 or -1 (CORE_EX_UNAVAILABLE: Redis down;
 * nothing was applied, retry later).
 */
int mod_feedback(struct mod_engine *e, struct core_redis *redis, const struct mod_post *post,
                 enum mod_label label, unsigned flags, struct core_err *err);

/*
 * Apply feedback entries other processes appended since the last sync, and
 * reload operator phrases if they changed. Returns the number of entries
 * applied, or -1 (CORE_EX_UNAVAILABLE). Malformed entries are skipped and
 * logged.
 */
long mod_engine_sync(struct mod_engine *e, struct core_redis *redis, struct core_err *err);

/* The engine's model (borrowed; for saving a snapshot with mod_model_save,
 * while no feedback is being applied). */
const struct mod_model *mod_engine_model(const struct mod_engine *e);

/* The polite notice for a dropped post of class `label` in `lang` ("hi" or
 * "en"; anything else = "en"). Static text; never NULL. */
const char *mod_notice(enum mod_label label, const char *lang);

/* Build the built-in model from the embedded seed corpus (what
 * mod_engine_new() does without a model path). Never fails. */
struct mod_model *mod_builtin_model(void);

#endif
