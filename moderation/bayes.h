/*
 * moderation/bayes.h - the multi-class naive Bayes text classifier.
 *
 * Multinomial naive Bayes over binary (present / absent) hashed features
 * with additive smoothing `alpha`: for class c,
 *   log P(c | post) = log prior(c) + sum over known features f of
 *                     log((n(f,c) + alpha) / (N(c) + alpha * V)) - log Z
 * where n(f,c) counts class-c posts holding f, N(c) the feature occurrences
 * of class c and V the distinct features. Features never seen in training
 * are ignored; classes without a single training post get probability 0.
 *
 * Learning is incremental and reversible: mod_bayes_learn(..., +1) adds a
 * post, (..., -1) takes a learned post back out (a moderator corrects a
 * label). There is no retraining from scratch.
 *
 * Storage: an open-addressing table whose 32-byte slots hold the feature id
 * and the cached log(n + alpha) of every class (two slots per cache line:
 * classifying costs about one cache miss per feature); the counts live in
 * a parallel array touched only when learning. Not thread-safe for
 * learning; classifying only reads.
 */
#ifndef JANSEVA_MODERATION_BAYES_H
#define JANSEVA_MODERATION_BAYES_H

#include "moderation/label.h"

#include <stddef.h>
#include <stdint.h>

#define MOD_BAYES_ALPHA 0.1 /* default smoothing */

struct mod_bayes_slot {
    uint32_t key;            /* feature id; 0 = empty slot */
    float lg[MOD_NLABELS];   /* cached log(n + alpha) per class */
    float pad;
};

struct mod_bayes {
    struct mod_bayes_slot *tab;
    uint32_t (*cnt)[MOD_NLABELS]; /* counts per slot: posts of each class holding it */
    size_t mask;                 /* capacity - 1 (a power of two) */
    size_t used;                 /* distinct features (V) */
    uint64_t docs[MOD_NLABELS];  /* posts learned per class */
    uint64_t total[MOD_NLABELS]; /* feature occurrences per class (N) */
    double alpha;
    double log_alpha;
};

/* Initialise an empty classifier; cannot fail. Pair with _cleanup. */
void mod_bayes_init(struct mod_bayes *b, double alpha);
void mod_bayes_cleanup(struct mod_bayes *b);

/*
 * Learn (sign +1) or unlearn (sign -1) one post of class `label` given its
 * `n` distinct features. Unlearning never takes a count below zero.
 */
void mod_bayes_learn(struct mod_bayes *b, const uint32_t *feats, size_t n, enum mod_label label,
                     int sign);

/*
 * Class log-probabilities (natural log, normalised: they log-sum to 0) of a
 * post with features `feats`. Classes never trained get -INFINITY. Returns
 * the number of known features used; 0 also when nothing is trained (then
 * every class gets log(1/6)).
 */
size_t mod_bayes_classify(const struct mod_bayes *b, const uint32_t *feats, size_t n,
                          double logp[MOD_NLABELS]);

/* The counts of feature `key` into `n`; returns 1, or 0 if unknown. */
int mod_bayes_counts(const struct mod_bayes *b, uint32_t key, uint32_t n[MOD_NLABELS]);

/* Slot i (0 <= i <= mask) for iteration: returns 1 and fills key and
 * counts if the slot is used, else 0. */
int mod_bayes_slot_at(const struct mod_bayes *b, size_t i, uint32_t *key,
                      uint32_t n[MOD_NLABELS]);

/* Make room for `n` distinct features at once (model loading): the table
 * ends as large as n insertions would make it, without the rehashing on
 * the way. */
void mod_bayes_reserve(struct mod_bayes *b, size_t n);

/* Insert or replace one feature's counts wholesale (model loading). Class
 * totals are not touched. */
void mod_bayes_put(struct mod_bayes *b, uint32_t key, const uint32_t n[MOD_NLABELS]);

/* Approximate bytes of memory held. */
size_t mod_bayes_memory(const struct mod_bayes *b);

#endif
