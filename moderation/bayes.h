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
 * Storage: one open-addressing table entry per feature holds the counts and
 * the cached log(n + alpha) of every class, so classifying costs one cache
 * line per feature. Not thread-safe for learning; classifying only reads.
 */
#ifndef JANSEVA_MODERATION_BAYES_H
#define JANSEVA_MODERATION_BAYES_H

#include "moderation/label.h"

#include <stddef.h>
#include <stdint.h>

#define MOD_BAYES_ALPHA 0.1 /* default smoothing */

struct mod_bayes_entry {
    uint32_t key;                /* feature id; 0 = empty slot */
    uint32_t n[MOD_NLABELS];     /* posts of each class holding the feature */
    float lg[MOD_NLABELS];       /* cached log(n + alpha) */
};

struct mod_bayes {
    struct mod_bayes_entry *tab;
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
 * every class gets log(1/active classes) or -INFINITY).
 */
size_t mod_bayes_classify(const struct mod_bayes *b, const uint32_t *feats, size_t n,
                          double logp[MOD_NLABELS]);

/* The entry of feature `key`, or NULL. Borrowed. */
const struct mod_bayes_entry *mod_bayes_find(const struct mod_bayes *b, uint32_t key);

/* Insert or replace one entry wholesale (model loading). Counts are taken
 * as given; class totals are not touched. */
void mod_bayes_put(struct mod_bayes *b, uint32_t key, const uint32_t n[MOD_NLABELS]);

/* Approximate bytes of memory held. */
size_t mod_bayes_memory(const struct mod_bayes *b);

#endif
