/*
 * moderation/train.h - building a model from labelled texts: what
 * `janseva train`, `janseva eval --folds` and the built-in model share.
 *
 * Texts go through mod_prep (the same features as classification). Exact
 * duplicates (the same normalised tokens: punctuation, case, width, nukta
 * and spacing do not count) are learned once; near-duplicates are
 * grouped (fp.h) so that threshold calibration never trains and tests on
 * copies of one message. Marked templates (known rumour / known-good) go
 * into the model's template store.
 */
#ifndef JANSEVA_MODERATION_TRAIN_H
#define JANSEVA_MODERATION_TRAIN_H

#include "moderation/fp.h"
#include "moderation/label.h"
#include "moderation/model.h"

#include <stddef.h>
#include <stdint.h>

struct mod_trainer;

/* A trainer for feature options `fo` (NULL: defaults). Never fails. */
struct mod_trainer *mod_trainer_new(const struct mod_feat_opts *fo);

/* Free; NULL is a no-op. */
void mod_trainer_free(struct mod_trainer *t);

/*
 * Add one labelled text (copied as features; the text itself is not kept).
 * Returns 1 if added, 0 if it duplicates an earlier text (ignored).
 */
int mod_trainer_add(struct mod_trainer *t, enum mod_label label, const char *text, size_t len);

/* Add a marked template (MOD_MARK_BAD / MOD_MARK_GOOD) of class `label`. */
void mod_trainer_add_mark(struct mod_trainer *t, enum mod_fp_mark mark, enum mod_label label,
                          const char *text, size_t len);

/* Texts added (duplicates excluded), and how many were duplicates. */
size_t mod_trainer_count(const struct mod_trainer *t);
size_t mod_trainer_duplicates(const struct mod_trainer *t);

/* Label, near-duplicate group and fingerprint of sample i (for splitting). */
enum mod_label mod_trainer_label(const struct mod_trainer *t, size_t i);
uint32_t mod_trainer_group(struct mod_trainer *t, size_t i);

/*
 * Build a model from the samples for which `use(ud, i)` is true (NULL: all)
 * with `folds`-fold threshold calibration (model.h). The trainer keeps its
 * samples; it can build several models (cross-validation).
 */
struct mod_model *mod_trainer_build(struct mod_trainer *t, int (*use)(void *ud, size_t i),
                                    void *ud, unsigned folds, double target_blocked,
                                    double target_dropped,
                                    void (*progress)(void *ud, const char *msg), void *pud);

#endif
