/*
 * moderation/translit.h - a cross-script key for one word, so that the same
 * Hindi word written in Devanagari and in Hinglish (romanised) meets:
 * "शिकायत" and "shikayat" both give "skt", "शुभकामनाएं" and
 * "shubhkamnayein" both give "sbkmn".
 *
 * The proposal of docs/internals/moderation.md (after moderation.md §7):
 * Devanagari is transliterated letter by letter (inherent vowel dropped at
 * the end of a word), then the Latin spelling is folded to a consonant
 * skeleton: aspiration dropped (bh -> b, sh -> s), z -> j, w -> v, ph -> f,
 * c -> s/k as English spells it, vowels dropped (a word starting with a vowel
 * keeps one leading "a"), y/v between vowels dropped, a final nasal after a
 * vowel dropped (nahi = nahin = नहीं), doubled letters collapsed.
 *
 * It is deliberately lossy (many words share a skeleton): it is used as an
 * extra classifier feature, for fingerprints, and for phrases that ask for
 * it, never as the only key. Words in other scripts give an empty key.
 */
#ifndef JANSEVA_MODERATION_TRANSLIT_H
#define JANSEVA_MODERATION_TRANSLIT_H

#include <stddef.h>

#define MOD_SKEL_MAX 64 /* longest skeleton kept (bytes, NUL included) */

/*
 * Write the skeleton of the normalised word `w` (`len` bytes of UTF-8, as
 * produced by mod_norm) into `out` (MOD_SKEL_MAX bytes, NUL-terminated).
 * Returns its length; 0 when the word has no Latin or Devanagari letter.
 */
size_t mod_skeleton(const char *w, size_t len, char out[MOD_SKEL_MAX]);

#endif
