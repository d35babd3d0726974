/*
 * moderation/phrase.h - operator phrase lists matched as sequences of
 * normalised tokens (never regular expressions over raw text).
 *
 * A list file is UTF-8 text, one phrase per line:
 *
 *     LIST<TAB>TAG<TAB>PHRASE
 *
 * LIST is block, hold, allow, urgent or report; TAG is a class name for
 * block and hold (greeting, political, commercial, rumour, hostile), and a
 * free word for the others (the incident kind for urgent: firing, murder,
 * ...; the report kind for report: theft, missing, ...). '#' starts a
 * comment line; blank lines are ignored.
 *
 * PHRASE goes through the same normaliser and tokeniser as posts, so
 * "सुप्रभात", "ＳＵＰＲＡＢＨＡＴ" and "ज़मीन"/"जमीन"
 * need no variants. It
 * matches a post when its tokens appear consecutively in the post's tokens,
 * whole tokens only: "राम" does not match inside "रामा", and "है" is a word.
 * Two opt-ins:
 *   - a word ending in '*' matches any token starting with it
 *     ("गोली*" matches गोली, गोलीबारी);
 *   - a PHRASE starting with '~' matches on cross-script skeletons
 *     (translit.h), so "~goli chali" also matches "गोली चली".
 * Matching is case-, width- and nukta-insensitive by construction.
 */
#ifndef JANSEVA_MODERATION_PHRASE_H
#define JANSEVA_MODERATION_PHRASE_H

#include "core/err.h"
#include "moderation/token.h"

#include <stddef.h>
#include <stdint.h>

enum mod_phrase_list {
    MOD_LIST_BLOCK = 0,
    MOD_LIST_HOLD,
    MOD_LIST_ALLOW,
    MOD_LIST_URGENT,
    MOD_LIST_REPORT,
    MOD_NLISTS
};

#define MOD_PHRASE_MAX_TOKENS 16
#define MOD_PHRASE_MAX_HITS 32

struct mod_phrases;

/* One match: the phrase and where it starts in the post's tokens. */
struct mod_phrase_hit {
    enum mod_phrase_list list;
    const char *tag;    /* borrowed from the phrase set */
    const char *phrase; /* the phrase as written in the list, borrowed */
    size_t at;          /* token index */
};

/* An empty set. Free with mod_phrases_free(). Never fails. */
struct mod_phrases *mod_phrases_new(void);

/* Free; NULL is a no-op. */
void mod_phrases_free(struct mod_phrases *p);

/*
 * Add the lines of a list file held in `text` (`len` bytes). `name` names
 * the source in errors ("FILE:LINE: ..."). On a malformed line nothing of
 * this text is added and -1 is returned (CORE_EX_DATAERR).
 */
int mod_phrases_add_text(struct mod_phrases *p, const char *name, const char *text, size_t len,
                         struct core_err *err);

/* Add one phrase. Returns 0, or -1 (CORE_EX_DATAERR) if it has no token or
 * too many. `tag` and `phrase` are copied. */
int mod_phrases_add(struct mod_phrases *p, enum mod_phrase_list list, const char *tag,
                    const char *phrase, struct core_err *err);

/* Number of phrases. */
size_t mod_phrases_count(const struct mod_phrases *p);

/*
 * Find the phrases that occur in `t` (a post's tokens, skeletons computed
 * with mod_toks_skeletons()). Fills at most `max` hits, each phrase at most once,
 * in token order. Returns the number of hits.
 */
size_t mod_phrases_match(const struct mod_phrases *p, const struct mod_toks *t,
                         struct mod_phrase_hit *hits, size_t max);

/* "block", "hold", ...; mod_phrase_list_parse returns 0 or -1. */
const char *mod_phrase_list_name(enum mod_phrase_list l);
int mod_phrase_list_parse(const char *s, size_t len, enum mod_phrase_list *out);

#endif
