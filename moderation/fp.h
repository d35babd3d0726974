/*
 * moderation/fp.h - near-duplicate fingerprints of posts, and the in-memory
 * store of marked templates (known rumour/spam, known-good advisories).
 *
 * The fingerprint text of a post is its tokens with every word replaced by
 * its cross-script skeleton (translit.h), so a Devanagari chain and its
 * Hinglish copy share most of it; URLs, phone numbers and UPI ids keep a
 * placeholder, emoji are left out. Its shingles are the 4-byte windows of
 * that text; the fingerprint is a one-permutation MinHash of 32 slots
 * (densified by rotation) plus the shingle count, which lets us estimate
 * both resemblance (Jaccard) and containment: "a known chain with a personal
 * line added" is contained in the post even when the resemblance is low.
 * Texts with fewer than MOD_FP_MIN_SHINGLES shingles are "short" and match
 * only exactly (hash of the fingerprint text).
 *
 * Near-duplicate rule (mod_fp_near): estimated Jaccard >= 0.75, or the
 * known text is not short, >= 0.75 of it is contained in the post and the
 * post is at most about four times longer (Jaccard >= 0.2).
 */
#ifndef JANSEVA_MODERATION_FP_H
#define JANSEVA_MODERATION_FP_H

#include "moderation/label.h"
#include "moderation/token.h"

#include <stddef.h>
#include <stdint.h>

#define MOD_FP_SLOTS 32
#define MOD_FP_MIN_SHINGLES 16
#define MOD_FP_ID_HEX 17 /* 16 hex digits + NUL */

struct mod_fp {
    uint32_t sig[MOD_FP_SLOTS]; /* MinHash slots (all zero for a short text) */
    uint32_t n;                 /* shingles */
    uint64_t exact;             /* hash of the fingerprint text */
};

enum mod_fp_mark {
    MOD_MARK_NONE = 0,
    MOD_MARK_BAD = 1,  /* known rumour / spam / hate: drop near-duplicates */
    MOD_MARK_GOOD = 2, /* known-good (an official advisory): relay near-duplicates */
};

/* Fingerprint of a tokenised post (skeletons computed: mod_toks_skeletons). */
void mod_fp_compute(const struct mod_toks *t, struct mod_fp *out);

/* True if the fingerprint has too few shingles for near matching. */
int mod_fp_is_short(const struct mod_fp *f);

/* Estimated Jaccard resemblance (0..1) of two fingerprints. */
double mod_fp_resemblance(const struct mod_fp *a, const struct mod_fp *b);

/* Estimated share of `part`'s shingles that occur in `whole` (0..1). */
double mod_fp_containment(const struct mod_fp *part, const struct mod_fp *whole);

/* True if `post` is a near-duplicate of `known` (rule above). `score`
 * (may be NULL) receives the larger of resemblance and containment. */
int mod_fp_near(const struct mod_fp *known, const struct mod_fp *post, double *score);

/* A stable id for the fingerprint (hex of a hash of its slots, or of the
 * exact hash for a short text). */
void mod_fp_id(const struct mod_fp *f, char out[MOD_FP_ID_HEX]);

/*
 * LSH band keys: `nbands` keys (nbands divides MOD_FP_SLOTS) such that two
 * fingerprints with resemblance J share at least one with probability
 * 1 - (1 - J^(32/nbands))^nbands. A short text has one key (its exact hash).
 * Returns the number of keys written.
 */
size_t mod_fp_bands(const struct mod_fp *f, size_t nbands, uint64_t *keys);

/* Pack / unpack for storage: MOD_FP_PACKED bytes, little-endian. */
#define MOD_FP_PACKED (MOD_FP_SLOTS * 4 + 4 + 8)
void mod_fp_pack(const struct mod_fp *f, unsigned char out[MOD_FP_PACKED]);
void mod_fp_unpack(const unsigned char in[MOD_FP_PACKED], struct mod_fp *f);

/*
 * Group near-duplicates: on return group[i] is the smallest index of the
 * cluster of fingerprint i (clusters are the transitive closure of
 * mod_fp_near in either direction, found through LSH bands, so a pair may
 * be missed with small probability). `group` has n elements.
 */
void mod_fp_cluster(const struct mod_fp *fps, size_t n, uint32_t *group);

/* ---- the in-memory template store ---- */

struct mod_fp_entry {
    struct mod_fp fp;
    enum mod_fp_mark mark;
    enum mod_label label; /* what the template is (rumour, commercial, legit, ...) */
};

struct mod_fpstore;

/* An empty store; never fails. Free with mod_fpstore_free (NULL ok). */
struct mod_fpstore *mod_fpstore_new(void);
void mod_fpstore_free(struct mod_fpstore *s);

/* Add a template (copied). A template equal to an existing one (same id)
 * replaces its mark and label. */
void mod_fpstore_add(struct mod_fpstore *s, const struct mod_fp *fp, enum mod_fp_mark mark,
                     enum mod_label label);

/*
 * The best near-duplicate template of `post`, or NULL. `score` (may be
 * NULL) receives its score. When both a good and a bad template match, the
 * good one wins only if it scores at least as high. Borrowed.
 */
const struct mod_fp_entry *mod_fpstore_lookup(const struct mod_fpstore *s,
                                              const struct mod_fp *post, double *score);

/* Number of templates, and template i (for saving). */
size_t mod_fpstore_count(const struct mod_fpstore *s);
const struct mod_fp_entry *mod_fpstore_get(const struct mod_fpstore *s, size_t i);

#endif
