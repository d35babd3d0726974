/*
 * moderation/store.h - what the moderation engine keeps in Redis (all
 * through core/redis.h; every key starts with js:mod:).
 *
 *   js:mod:lsh:<band>:<hex>   set     near-duplicate cluster ids by LSH band
 *   js:mod:fp:{<id>}          hash    s = packed fingerprint, p = posts,
 *                                     f = first seen (Unix ms)
 *   js:mod:fp:{<id>}:m        HLL     members who posted it (hashed ids)
 *   js:mod:fp:{<id>}:g        HLL     groups it was posted in (hashed ids)
 *   js:mod:feedback           stream  moderator feedback: v, o (feature
 *                                     options), l (label), k (flags), f (u32
 *                                     features), p (packed fingerprint);
 *                                     never the text
 *   js:mod:phrases            set     operator phrase lines (phrase.h format)
 *   js:mod:phrases:ver        string  bumped (INCR) after editing the set
 *
 * The keys of one cluster share the hash tag {<id>}; every command touches
 * one key, so the layout works on Redis Cluster. Sightings keys expire
 * `ttl_s` after the last sighting. Member and group ids are hashed
 * (BLAKE2b) before they reach Redis.
 */
#ifndef JANSEVA_MODERATION_STORE_H
#define JANSEVA_MODERATION_STORE_H

#include "core/buf.h"
#include "core/err.h"
#include "core/redis.h"
#include "moderation/fp.h"
#include "moderation/label.h"

#include <stddef.h>
#include <stdint.h>

#define MOD_KEY_FEEDBACK "js:mod:feedback"
#define MOD_KEY_PHRASES "js:mod:phrases"
#define MOD_KEY_PHRASES_VER "js:mod:phrases:ver"
#define MOD_STORE_BANDS 8         /* 4 rows each */
#define MOD_FEEDBACK_MAXLEN "1000000" /* approximate stream cap */

struct mod_sightings {
    char id[MOD_FP_ID_HEX]; /* cluster id */
    long posts;
    long members;
    long groups;
};

/*
 * Record one sighting of a post with fingerprint `fp` by `member_id` in
 * `group_id`: find its near-duplicate cluster (or start one) and return
 * the cluster's counts. Returns 0 or -1 (Redis error).
 */
int mod_store_sight(struct core_redis *r, const struct mod_fp *fp, const char *member_id,
                    const char *group_id, int ttl_s, int64_t now_ms, struct mod_sightings *out,
                    struct core_err *err);

/* Append one feedback entry; `opts` names the feature options the ids were
 * extracted with (entries with other options are skipped by readers).
 * Returns 0 or -1. */
int mod_store_feedback_add(struct core_redis *r, const char *opts, enum mod_label label,
                           unsigned flags, const uint32_t *feats, size_t nf,
                           const struct mod_fp *fp, struct core_err *err);

/* Called for each valid feedback entry, in stream order. */
typedef void (*mod_store_feedback_fn)(void *ud, const char *id, const char *opts,
                                      enum mod_label label, unsigned flags,
                                      const uint32_t *feats, size_t nf, const struct mod_fp *fp);

/*
 * Read up to `max` entries after stream id `after` and call `fn` for each
 * valid one; `last` (64 bytes) receives the id of the last entry read
 * (valid or not). Returns the number of entries read (0: none), or -1.
 * `skipped` (may be NULL) is incremented for malformed entries.
 */
long mod_store_feedback_read(struct core_redis *r, const char *after, size_t max,
                             mod_store_feedback_fn fn, void *ud, char last[64], long *skipped,
                             struct core_err *err);

/* The operator phrase version (0 when unset). Returns 0 or -1. */
int mod_store_phrases_version(struct core_redis *r, long long *ver, struct core_err *err);

/* All operator phrase lines, joined with newlines, appended to `out`. */
int mod_store_phrases_get(struct core_redis *r, struct core_buf *out, struct core_err *err);

#endif
