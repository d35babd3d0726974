/*
 * moderation/model.h - what `janseva train` produces and the engine uses:
 * feature options, the naive Bayes counts, the decision thresholds and the
 * marked templates; with training (incl. threshold calibration), and a
 * versioned binary file format.
 *
 * Thresholds are on the "unwanted log-odds" of a post,
 *     u = log P(not legit | post) - log P(legit | post),
 * as computed by mod_model_unwanted(), scaled for long posts by
 * mod_model_score() (feature option score_norm). A post with u < relay_max may be
 * relayed (as far as the classifier is concerned); u >= drop_min may be
 * dropped; in between it is held. `janseva train` calibrates both by
 * cross-validation on its own input (see mod_model_train).
 *
 * File format (docs/internals/moderation.md, "Model file"): little-endian,
 *   "JSMODEL\n" magic, u32 version (MOD_MODEL_VERSION), u32 flags (0),
 *   8 bytes of feature options (the 6th: score_norm), u32 number of labels (6), f64 alpha,
 *   f64 relay_max, f64 drop_min, f64 target_blocked, u64 posts learned,
 *   u64 docs[6], u64 totals[6], u32 length + bytes of the last applied
 *   feedback stream id (at most 63), u64 feature count, then per feature
 *   u32 id + u32 counts[6], u64 template count, then per template u8 mark,
 *   u8 label, u16 zero, MOD_FP_PACKED bytes of fingerprint, and last a
 *   32-byte BLAKE2b of everything before it.
 * The loader treats the file as untrusted input: every length is bounded
 * by the bytes present, counts are cross-checked against the totals, ids
 * must be non-zero and unique, marks and labels in range, floats finite.
 */
#ifndef JANSEVA_MODERATION_MODEL_H
#define JANSEVA_MODERATION_MODEL_H

#include "core/err.h"
#include "moderation/bayes.h"
#include "moderation/features.h"
#include "moderation/fp.h"
#include "moderation/label.h"

#include <stddef.h>
#include <stdint.h>

#define MOD_MODEL_VERSION 1
#define MOD_MODEL_MAX_BYTES (512L * 1024 * 1024)
#define MOD_MODEL_NO_CHECKSUM 0x1u /* loader flag for the fuzz driver only */
#define MOD_FEEDBACK_ID_MAX 64

/* Defaults of the calibration targets (shares of legitimate posts). */
#define MOD_TARGET_BLOCKED 0.003 /* held or dropped */
#define MOD_TARGET_DROPPED 0.0005

struct mod_model {
    struct mod_feat_opts fopts;
    struct mod_bayes nb;
    struct mod_fpstore *marks;    /* owned */
    double relay_max;             /* u below this: relay */
    double drop_min;              /* u at or above this: drop */
    double target_blocked;        /* what relay_max was calibrated for */
    uint64_t learned;             /* posts learned, feedback included */
    char feedback_id[MOD_FEEDBACK_ID_MAX]; /* last feedback entry applied, "0-0" none */
};

/* One labelled training post, as features. */
struct mod_sample {
    enum mod_label label;
    uint32_t *f; /* features, owned by the caller */
    size_t nf;
    uint32_t group; /* near-duplicate cluster: kept on one side of every split */
};

/* An empty model with feature options `o` (NULL: defaults). Never fails. */
struct mod_model *mod_model_new(const struct mod_feat_opts *o);

/* Free; NULL is a no-op. */
void mod_model_free(struct mod_model *m);

/*
 * Learn `n` samples, then calibrate relay_max and drop_min by `folds`-fold
 * cross-validation over the samples' groups: relay_max is set so that at
 * most `target_blocked` of the legitimate posts score at or above it when
 * unseen (never below 0: the classifier alone never holds a post it finds
 * more likely legitimate); with fewer legitimate posts than 1/target_blocked
 * (but at least 20) it lets one of them score above, the finest step the
 * data allows. drop_min is set so that none but `target_dropped` of them
 * would be dropped (never below relay_max + 2). With fewer than 2
 * legitimate posts the thresholds stay at 0 and 8. `progress` (may be NULL) is called with a
 * short status line.
 */
void mod_model_train(struct mod_model *m, const struct mod_sample *s, size_t n, unsigned folds,
                     double target_blocked, double target_dropped,
                     void (*progress)(void *ud, const char *msg), void *ud);

/*
 * Unwanted log-odds from class log-probabilities (clamped to +-1000; a model
 * without legitimate posts gives +1000, without any other class -1000).
 */
double mod_model_unwanted(const double logp[MOD_NLABELS]);

/*
 * The score the thresholds apply to: u = mod_model_unwanted(logp), scaled
 * by sqrt(K / known) for a post with more than K = o->score_norm known
 * features (K = 0: u itself). Naive Bayes adds one log-ratio per feature,
 * so long posts (tweets, forwards) get extreme u in both directions and a
 * threshold calibrated on legitimate posts is set by the longest of them;
 * the scaling puts long and short posts on one scale (measured in
 * docs/benchmarks.md). The sentinels -1000 / 1000 are kept.
 */
double mod_model_score(const struct mod_feat_opts *o, const double logp[MOD_NLABELS],
                       size_t known);

/* Write the model to `path` atomically (temporary file + rename): on error
 * nothing is left at `path` and -1 is returned (CORE_EX_IOERR). */
int mod_model_save(const struct mod_model *m, const char *path, struct core_err *err);

/* Serialise into a malloc'd buffer (*out, *len); the caller frees it. */
void mod_model_serialise(const struct mod_model *m, unsigned char **out, size_t *len);

/* Load from `path`. NULL on error (CORE_EX_NOINPUT unreadable,
 * CORE_EX_DATAERR malformed: the message says what is wrong). */
struct mod_model *mod_model_load(const char *path, struct core_err *err);

/* Load from memory (`flags`: MOD_MODEL_NO_CHECKSUM skips the checksum for
 * fuzzing). The buffer is borrowed. NULL on error (CORE_EX_DATAERR). */
struct mod_model *mod_model_load_mem(const unsigned char *buf, size_t len, unsigned flags,
                                     struct core_err *err);

/* Approximate memory held by the model, in bytes. */
size_t mod_model_memory(const struct mod_model *m);

#endif
