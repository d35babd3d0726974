/*
 * moderation/prep.h - one post made ready for the checks: normalised key,
 * tokens (with meta tokens for the webhook signals), classifier features
 * and fingerprint. Training, classifying and feedback all go through
 * mod_prep_run(), so they see exactly the same features.
 *
 * Meta tokens (also classifier features): FWD (forwarded), FWD_MANY
 * (frequently forwarded), MEDIA_NO_CAPTION, HAS_INVISIBLE, MIXED_SCRIPT,
 * SPACED_LETTERS, EMOJI_MANY, and TYPE_<type> for non-text messages.
 */
#ifndef JANSEVA_MODERATION_PREP_H
#define JANSEVA_MODERATION_PREP_H

#include "moderation/engine.h"
#include "moderation/features.h"
#include "moderation/fp.h"
#include "moderation/norm.h"
#include "moderation/token.h"

/* Signals found (bits of mod_prep.signals). */
#define MOD_SIG_FWD 0x001u
#define MOD_SIG_FWD_MANY 0x002u
#define MOD_SIG_MEDIA_NO_CAPTION 0x004u
#define MOD_SIG_INVISIBLE 0x008u
#define MOD_SIG_MIXED_SCRIPT 0x010u
#define MOD_SIG_SPACED 0x020u
#define MOD_SIG_EMOJI_MANY 0x040u
#define MOD_SIG_URL 0x080u
#define MOD_SIG_PHONE 0x100u
#define MOD_SIG_UPI 0x200u
#define MOD_SIG_EMAIL 0x400u
#define MOD_SIG_COUNT 11

struct mod_prep {
    struct mod_norm norm;
    struct mod_toks toks;
    struct mod_feats feats;
    struct mod_fp fp;
    int fp_done;        /* fp is computed (mod_prep_fp()) */
    unsigned signals;   /* MOD_SIG_* */
    const char *text;   /* the text that was used (body or caption), borrowed */
    size_t len;
};

/* Initialise; cannot fail. Pair with mod_prep_cleanup(). */
void mod_prep_init(struct mod_prep *p);
void mod_prep_cleanup(struct mod_prep *p);

/* Prepare `post` with feature options `fo`; `emoji_many` is the emoji count
 * that raises EMOJI_MANY (0 = never). `post` is borrowed until the next run. */
void mod_prep_run(struct mod_prep *p, const struct mod_post *post, const struct mod_feat_opts *fo,
                  int emoji_many);

/* The same without the fingerprint: p->fp is left for mod_prep_fp(), for
 * callers that may not need it (classifying without marks or sightings;
 * the fingerprint covers the word tokens only, so it does not depend on
 * when it is computed). */
void mod_prep_run_nofp(struct mod_prep *p, const struct mod_post *post,
                       const struct mod_feat_opts *fo, int emoji_many);

/* Compute p->fp if the last run did not: after mod_prep_run_nofp(), before
 * p->fp is read. */
void mod_prep_fp(struct mod_prep *p);

/* Name of signal bit i (0 <= i < MOD_SIG_COUNT): "FWD", "FWD_MANY", ... */
const char *mod_signal_name(unsigned i);

#endif
