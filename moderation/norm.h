/*
 * moderation/norm.h - the matching key of a post: Unicode and Devanagari
 * normalisation for moderation (never shown to anyone; the original text is
 * kept for display and evidence).
 *
 * The key is NFKC + case fold (utf8proc 2.8) with:
 *  - default-ignorable code points removed (ZWSP, ZWJ, ZWNJ, soft hyphen,
 *    word joiner, BOM, variation selectors); those found between two
 *    letters are counted and flag MOD_NORM_INVISIBLE (ZWJ/ZWNJ only when
 *    between Latin letters: inside Devanagari they are orthography);
 *  - Devanagari folds: nukta removed (क़ = क, ज़ = ज, ड़ = ड, ऩ = न),
 *    chandrabindu -> anusvara (हँ = हं), candra vowels folded (ॉ -> ा,
 *    ॅ -> े), a nasal + virama before a stop -> anusvara
 *    (हिन्दी = हिंदी),
 *    Devanagari digits -> ASCII digits;
 *  - Cyrillic/Greek look-alikes inside Latin words mapped to Latin, and
 *    words mixing scripts flagged MOD_NORM_MIXED_SCRIPT;
 *  - runs of 3 or more identical characters (not digits, not in URLs)
 *    collapsed to 2;
 *  - runs of 3 or more spaced single letters joined ("F R E E" -> "free",
 *    "ब धा ई" -> "बधाई"), flagged MOD_NORM_SPACED; common one-letter words
 *    (है, को, u, r) at the ends of a run stay apart, and runs made mostly of
 *    them are left alone;
 *  - every kind of white space and control character -> one ASCII space,
 *    leading and trailing space removed.
 * Combining marks (Mn, Mc) are never stripped: a matra, virama or anusvara
 * stays part of its word.
 *
 * Input that is not valid UTF-8 is repaired (each bad byte becomes U+FFFD,
 * MOD_NORM_BAD_UTF8); input beyond MOD_NORM_MAX_BYTES is ignored
 * (MOD_NORM_TRUNCATED). Normalisation cannot fail.
 *
 * Usage: embed a struct mod_norm, mod_norm_init() once, mod_norm_run() per
 * text (buffers are reused), mod_norm_cleanup() at the end. Not thread-safe:
 * one per thread.
 */
#ifndef JANSEVA_MODERATION_NORM_H
#define JANSEVA_MODERATION_NORM_H

#include <stddef.h>
#include <stdint.h>

#define MOD_NORM_MAX_BYTES 16384 /* WhatsApp text bodies are at most 4096 characters */

#define MOD_NORM_INVISIBLE 0x01u   /* invisible characters between letters */
#define MOD_NORM_MIXED_SCRIPT 0x02u /* a word mixes Latin/Cyrillic/Greek/Devanagari */
#define MOD_NORM_SPACED 0x04u      /* spaced-out letters were joined */
#define MOD_NORM_BAD_UTF8 0x08u    /* invalid UTF-8 repaired */
#define MOD_NORM_TRUNCATED 0x10u   /* input longer than MOD_NORM_MAX_BYTES */

struct mod_norm {
    char *key;             /* NUL-terminated UTF-8 key; owned, valid until the next run */
    size_t len;            /* bytes in key */
    unsigned flags;        /* MOD_NORM_* */
    unsigned n_invisible;  /* invisible characters between letters */
    unsigned n_emoji;      /* pictographic code points before repeat collapse */
    unsigned n_graphemes;  /* grapheme clusters in the key (spaces included) */
    unsigned n_latin;      /* Latin letters in the key */
    unsigned n_deva;       /* Devanagari letters and signs in the key */
    int no_fast_path;      /* tests: always take the general utf8proc path (ASCII too) */
    /* scratch, reused between runs */
    int32_t *cp;
    size_t cp_cap;
    char *in;
    size_t in_cap;
    size_t key_cap;
};

/* Initialise; cannot fail. Pair with mod_norm_cleanup(). */
void mod_norm_init(struct mod_norm *n);

/* Free the buffers; the struct may be initialised again. */
void mod_norm_cleanup(struct mod_norm *n);

/*
 * Normalise `len` bytes of `text` (need not be NUL-terminated; NULL with
 * len 0 is the empty text) into n->key. Cannot fail; `text` is borrowed.
 */
void mod_norm_run(struct mod_norm *n, const char *text, size_t len);

/* True for a code point that is part of a word: a letter, a combining
 * mark (Mn, Mc, Me) or a digit (Nd, Nl, No). */
int mod_norm_is_word_cp(int32_t c);

/* True for a pictographic code point (emoji) or a regional indicator. */
int mod_norm_is_emoji_cp(int32_t c);

#endif
