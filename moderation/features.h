/*
 * moderation/features.h - classifier features of a tokenised post, as
 * 32-bit hashed ids (0 is never used), each at most once per post:
 *  - every token (word, number shape, URL:domain, PHONE, EMOJI:x, meta ...);
 *  - the cross-script skeleton of every word (translit.h), so Hinglish and
 *    Devanagari spellings share a feature;
 *  - orthogonal sparse bigrams: each token paired with each of the previous
 *    osb_window - 1 tokens, the gap being part of the feature;
 *  - character n-grams (char_min..char_max code points) of every word (or
 *    of Devanagari words only) padded with boundary marks, which carry
 *    short posts, inflections and misspellings.
 * The options are stored in the model so that training and classifying
 * extract the same features (and score them the same way: score_norm).
 */
#ifndef JANSEVA_MODERATION_FEATURES_H
#define JANSEVA_MODERATION_FEATURES_H

#include "moderation/token.h"

#include <stddef.h>
#include <stdint.h>

#define MOD_FEAT_MAX 8192 /* features kept per post */

struct mod_feat_opts {
    uint8_t osb_window; /* 0 or 1: no bigrams; 2..5 */
    uint8_t char_min;   /* 0: no character n-grams */
    uint8_t char_max;
    uint8_t skeleton;   /* 1: cross-script skeleton unigrams */
    uint8_t char_all;   /* 1: n-grams of every word; 0: of Devanagari words only */
    uint8_t score_norm; /* not a feature: the length normalisation of the unwanted
                         * score, K in u * sqrt(K / max(known features, K)); 0 = none
                         * (model.h, mod_model_score) */
};

/* The defaults used by `janseva train`: osb=3, no character n-grams,
 * skeleton=1, norm=32 (docs/benchmarks.md has the measurements behind
 * them). */
void mod_feat_opts_default(struct mod_feat_opts *o);

/*
 * Change `o` by a spec such as "osb=3,char=3-4,char-scope=all,skeleton=1"
 * (any subset, comma-separated; char=0 turns n-grams off; char-scope is
 * all or devanagari; norm=K sets score_norm, 0-255). Returns 0, or -1 for
 * a malformed spec (o may be partly changed).
 */
int mod_feat_opts_parse(const char *spec, struct mod_feat_opts *o);

/* Reusable feature buffer with a per-post dedup set. */
struct mod_feats {
    uint32_t *v; /* the features of the last extraction */
    size_t n;
    uint64_t *set; /* open-addressing set (room for 16384), set_mask + 1 in use:
                    * generation << 32 | feature id; other generations are empty */
    size_t set_mask;
    uint32_t gen;  /* the generation of the current post (>= 1) */
};

void mod_feats_init(struct mod_feats *f);
void mod_feats_cleanup(struct mod_feats *f);

/* Extract the features of `t` into f->v (replaces the previous ones). */
void mod_feats_extract(struct mod_feats *f, const struct mod_toks *t,
                       const struct mod_feat_opts *o);

/* The feature id of one token as a unigram (what phrase lists and tests
 * look up). */
uint32_t mod_feat_token_id(const struct mod_toks *t, size_t i);

#endif
