/*
 * moderation/token.h - tokens of a normalised post (the key of mod_norm).
 *
 * A word is a maximal run of letters, combining marks and digits, so a
 * matra, virama or anusvara is part of its word (राम and रामा are different
 * words; है is one word). Runs of digits are numbers; a phone number (10-13
 * digits, optionally grouped the way Indians write them) is one PHONE
 * token; URLs become URL tokens holding the domain ("bit.ly"), e-mail
 * addresses EMAIL tokens (the domain) and UPI ids (name@bank) UPI tokens
 * (the bank handle); every pictograph is an EMOJI token; currency signs are
 * CURRENCY tokens. Other punctuation separates tokens. Meta tokens (FWD,
 * FWD_MANY, HAS_INVISIBLE, MIXED_SCRIPT, MEDIA_NO_CAPTION, ...) are added by
 * the caller with mod_toks_add_meta().
 *
 * Token text lives in an arena inside struct mod_toks; pointers returned by
 * mod_tok_text() are valid until the next mod_tokenise() or add.
 */
#ifndef JANSEVA_MODERATION_TOKEN_H
#define JANSEVA_MODERATION_TOKEN_H

#include <stddef.h>
#include "moderation/translit.h"

#include <stdint.h>

#define MOD_TOK_MAX 4096 /* tokens kept per post; the rest are ignored */

enum mod_tok_type {
    MOD_TOK_WORD = 0,
    MOD_TOK_NUM,
    MOD_TOK_URL,
    MOD_TOK_PHONE,
    MOD_TOK_UPI,
    MOD_TOK_EMAIL,
    MOD_TOK_EMOJI,
    MOD_TOK_CURRENCY,
    MOD_TOK_META,
};

struct mod_tok {
    uint32_t off;       /* text offset in the arena */
    uint64_t hash;      /* words, after mod_toks_skeletons: the token feature's hash,
                         * mod_hash64(text, MOD_SEED_TOKEN + MOD_TOK_WORD) (hash.h) */
    uint64_t skel_hash; /* ... and the skeleton's, mod_hash64(skel, MOD_SEED_SKEL) when
                         * skel_len >= 2 */
    uint16_t len;       /* text length in bytes */
    uint8_t type;       /* enum mod_tok_type */
    uint8_t deva;       /* 1 if a word holds Devanagari */
    uint8_t skel_len;   /* skeleton length; 0 for non-words or no skeleton */
    uint8_t digit;      /* 1 if a word holds an ASCII digit (leetspeak is possible) */
};

#define MOD_SKEL_CACHE 16384 /* words whose skeleton is remembered (per mod_toks) */

/* One remembered word: 64 bytes, one cache line. Longer words and
 * skeletons are computed every time. */
struct mod_skel_memo {
    uint64_t hash;      /* the word's token hash (mod_tok.hash) */
    uint64_t skel_hash; /* mod_tok.skel_hash */
    uint8_t wlen;       /* word length (<= 30); 0 = empty entry */
    uint8_t slen;       /* skeleton length (<= 16) */
    char word[30];
    char skel[16];
};

struct mod_toks {
    struct mod_skel_memo *memo; /* MOD_SKEL_CACHE entries, allocated on first use */
    struct mod_tok *v;
    size_t n;
    size_t cap;
    char *text; /* arena: token texts, each NUL-terminated */
    size_t text_len;
    size_t text_cap;
    unsigned count[MOD_TOK_META + 1]; /* tokens per type */
    int hashed; /* 1 after mod_toks_skeletons(): words carry hash and skel_hash */
};

/* Initialise; cannot fail. Pair with mod_toks_cleanup(). */
void mod_toks_init(struct mod_toks *t);

/* Free the buffers. */
void mod_toks_cleanup(struct mod_toks *t);

/* Tokenise `len` bytes of a normalised key (replaces previous tokens). */
void mod_tokenise(struct mod_toks *t, const char *key, size_t len);

/* Append a meta token such as "FWD". `name` is copied. */
void mod_toks_add_meta(struct mod_toks *t, const char *name);

/* The text of token i (NUL-terminated, borrowed). Inline: features, phrases
 * and the language guess call it for every token. */
static inline const char *mod_tok_text(const struct mod_toks *t, size_t i)
{
    return t->text + t->v[i].off;
}

/* Compute, for every word token, the hashes of the word and of its
 * cross-script skeleton (translit.h) and the skeleton's length (mod_tok.hash,
 * skel_hash, skel_len) that features use; recent words are remembered, so a
 * frequent word is looked up, not recomputed. The skeleton's text is not
 * kept: mod_tok_skel() gives it to the few that need it (fingerprints,
 * phrases). Call after the tokens are complete (meta tokens get none). */
void mod_toks_skeletons(struct mod_toks *t);

/* Write the skeleton of token i into `out` (NUL-terminated; "" if none) and
 * return its length (mod_tok.skel_len). Valid after mod_toks_skeletons(). */
size_t mod_tok_skel(const struct mod_toks *t, size_t i, char out[MOD_SKEL_MAX]);

/* "WORD", "NUM", "URL", ... */
const char *mod_tok_type_name(enum mod_tok_type type);

/*
 * Render token i for people and reasons: the word itself, "URL:bit.ly",
 * "PHONE", "UPI:ybl", "EMOJI:🙏", "FWD". Writes at most `size` bytes
 * (NUL-terminated). Returns the length it needed.
 */
size_t mod_tok_render(const struct mod_toks *t, size_t i, char *buf, size_t size);

#endif
