/*
 * groups/lookup.h - an in-memory index of the hierarchy for the dialogue:
 * unit names in both languages, parents and children (menus), and tolerant
 * search of locality names in Devanagari and Latin script.
 *
 * Built from Redis (every unit of js:kind:*, their js:u:{CODE} hashes) or
 * by hand (tests). A built index is immutable and shared by all router
 * threads; grp_lookup_cache keeps the current one and rebuilds it when
 * js:hier:ver changes (every import bumps it), checking at most once per
 * `check_ms`. With the full Bihar data (about 243,000 localities) an index
 * takes a few seconds to build and tens of megabytes (docs/internals/
 * groups.md has the measured numbers).
 *
 * Name matching (grp_lookup_search). A query and every locality name get
 * three keys, made with the moderation normaliser (moderation/norm.h: NFKC,
 * case fold, nukta, chandrabindu, ...) and its cross-script consonant
 * skeleton (moderation/translit.h):
 *   - a Latin key (ASCII letters and digits of Latin words),
 *   - a Devanagari key (one byte per Devanagari code point),
 *   - a skeleton key (the words' skeletons, with the aspiration left after
 *     a consonant dropped: "chhapra" and "chapra" both give "cpr").
 * Words such as "gaon", "village", "मोहल्ला", "मेरा" are ignored. A query
 * is compared with every contiguous span of words of a name (Damerau-
 * Levenshtein with spaces ignored; in the skeleton, d/r (ड़), b/v, n/m, s/c
 * and k/q are half a change): same script by letters, either script by
 * skeleton. A match is ranked by how much of the name it covers (whole
 * name, then its first words, then words inside it), then by distance, then
 * villages, towns and wards before habitations before polling stations,
 * then population, then name.
 */
#ifndef JANSEVA_GROUPS_LOOKUP_H
#define JANSEVA_GROUPS_LOOKUP_H

#include "core/err.h"
#include "core/redis.h"
#include "groups/hier.h"
#include "groups/texts.h"

#include <stddef.h>
#include <stdint.h>

#define GRP_LOOKUP_QUERY_MAX 200 /* bytes of a name query looked at */

struct grp_lookup;

/* One unit of the index. Borrowed from the index; valid while it is held. */
struct grp_place {
    const char *code;
    const char *name_en;
    const char *name_hi; /* "" when the unit has no Hindi name */
    enum grp_kind kind;
    int32_t parent;     /* index of the parent in the index, -1 for none */
    char pin[8];        /* "" when unknown */
    uint8_t type_rank;  /* 0 village/town/ward, 1 habitation/other, 2 polling station */
    int32_t population; /* -1 unknown */
    /* match keys (localities only): letters of the Latin words, letters of
     * the Devanagari words (a byte per code point), the skeletons of each;
     * NULL when there are none. mask: the letters of each key. */
    const char *key[4];
    uint32_t mask[4];
};

/* ---- building ---- */

/* An empty index to fill with grp_lookup_add(), then grp_lookup_finish(). */
struct grp_lookup *grp_lookup_new(void);

/*
 * Add a unit (strings copied). `parent` is a code ("" for none); `type` the
 * locality type ("village", ...; NULL = village); `population` -1 when
 * unknown. A code added twice keeps the first.
 */
void grp_lookup_add(struct grp_lookup *lk, const char *code, enum grp_kind kind, const char *parent,
                    const char *name_en, const char *name_hi, const char *pin, const char *type,
                    long population);

/* Resolve parents, compute the match keys and the children lists. */
void grp_lookup_finish(struct grp_lookup *lk);

/*
 * Build an index of every unit in Redis (pipelined reads). `*version`
 * receives js:hier:ver (0 when unset). Returns a finished index, or NULL
 * on a Redis error.
 */
struct grp_lookup *grp_lookup_load(struct core_redis *r, long long *version, struct core_err *err);

/* Free an index built by hand (not one from a cache: release those). */
void grp_lookup_free(struct grp_lookup *lk);

/* ---- reading ---- */

/* Number of units, and unit i. */
size_t grp_lookup_size(const struct grp_lookup *lk);
const struct grp_place *grp_lookup_at(const struct grp_lookup *lk, size_t i);

/* The unit with `code`, or NULL. */
const struct grp_place *grp_lookup_find(const struct grp_lookup *lk, const char *code);

/* The name of `p` in `lang` (Hindi falls back to English). Borrowed. */
const char *grp_place_name(const struct grp_place *p, enum grp_lang lang);

/* The nearest ancestor of `p` (or `p` itself) of `kind`, or NULL. */
const struct grp_place *grp_lookup_ancestor(const struct grp_lookup *lk, const struct grp_place *p,
                                            enum grp_kind kind);

/*
 * The choices of a menu level, sorted by name in `lang`:
 *   code NULL or ""  -> every district;
 *   a district       -> its thanas;
 *   a thana or beat  -> the localities under it (through its beats).
 * `*out` is a malloc'd array of borrowed places the caller frees (NULL when
 * empty). Returns the count.
 */
size_t grp_lookup_menu(const struct grp_lookup *lk, const char *code, enum grp_lang lang,
                       const struct grp_place ***out);

/* A locality found by name. */
struct grp_match {
    const struct grp_place *place;
    int rank; /* lower is better */
};

/*
 * Localities whose name matches `query` (`len` bytes of UTF-8, typed by a
 * citizen; at most GRP_LOOKUP_QUERY_MAX are used), best first, at most
 * `max` into `out`. When `only` is not NULL, only the `n_only` localities
 * with those codes are considered. Returns the count (0: nothing close, or
 * a query with no letters).
 */
size_t grp_lookup_search(const struct grp_lookup *lk, const char *query, size_t len,
                         const char *const *only, size_t n_only, struct grp_match *out, size_t max);

/* ---- the shared, self-refreshing index ---- */

struct grp_lookup_cache;

/* A cache that checks js:hier:ver at most every `check_ms` (0: on every
 * get, one GET). When it changed, one thread rebuilds and the others that
 * need the index wait for it. Never fails. */
struct grp_lookup_cache *grp_lookup_cache_new(int check_ms);

/* Free the cache (no index may still be held). NULL is a no-op. */
void grp_lookup_cache_free(struct grp_lookup_cache *c);

/*
 * The current index, rebuilt first when js:hier:ver changed (the first call
 * builds it). The caller holds a reference until grp_lookup_release().
 * When Redis fails and an older index exists, that one is returned; with no
 * index at all, NULL (err set).
 */
const struct grp_lookup *grp_lookup_cache_get(struct grp_lookup_cache *c, struct core_redis *r,
                                              struct core_err *err);

/* Drop a reference taken with grp_lookup_cache_get(). NULL is a no-op. */
void grp_lookup_release(const struct grp_lookup *lk);

#endif
