/*
 * groups/texts.h - the text catalogue: every sentence janseva says to a
 * citizen, in Hindi (the default) and English.
 *
 * The catalogue lives in groups/texts/hi.tsv and en.tsv (ID<TAB>TEXT, `\n`
 * for a line break, {1}..{9} placeholders), next to words.tsv (the words
 * recognised in what citizens type), and is compiled into the binary by
 * groups/texts/embed.sh (groups/texts_data.c). C code never holds a
 * citizen-facing sentence: it names a text by id ("join.done") and fills
 * its placeholders.
 *
 * Id suffixes say where a text is used and bound its length (characters =
 * Unicode code points, as WhatsApp counts them): `.btn` reply-button title
 * (20), `.row` list-row title (24), `.desc` row description (72), `.list`
 * list button (20), `.long` text or list body (4096), anything else a body
 * that also fits a button message (1024). tests/unit/test_grp_texts.c
 * checks every id exists in both languages with the same placeholders
 * within these limits.
 *
 * The catalogue is parsed once, on first use (thread-safe); after that
 * every function here is read-only and may be called from any thread.
 */
#ifndef JANSEVA_GROUPS_TEXTS_H
#define JANSEVA_GROUPS_TEXTS_H

#include <stddef.h>

#define GRP_TEXT_BODY_MAX 1024  /* body of a button message; most texts */
#define GRP_TEXT_LONG_MAX 4096  /* text body, list body (.long texts) */
#define GRP_TEXT_BUTTON_MAX 20  /* reply-button title (.btn), list button (.list) */
#define GRP_TEXT_ROW_MAX 24     /* list-row title (.row) */
#define GRP_TEXT_DESC_MAX 72    /* list-row description (.desc) */
#define GRP_TEXT_MAX_ARGS 9     /* placeholders {1}..{9} */
#define GRP_TEXT_VERSION_LEN 10 /* "c" + 8 hex digits + NUL */

enum grp_lang {
    GRP_LANG_HI = 0, /* Hindi, the default */
    GRP_LANG_EN,
    GRP_LANG_COUNT
};

/* An embedded catalogue file (groups/texts_data.c). */
struct grp_text_file {
    const char *name; /* "hi.tsv" */
    const char *data;
    size_t len;
};

extern const struct grp_text_file grp_text_files[];
extern const size_t grp_text_nfiles;

/* ---- languages ---- */

/* "hi" or "en" (ISO 639-1; also the WhatsApp template language code). */
const char *grp_lang_code(enum grp_lang lang);

/* Parse "hi"/"en"; returns 0, or -1 for anything else (*out untouched). */
int grp_lang_parse(const char *s, enum grp_lang *out);

/* ---- texts ---- */

/*
 * The text `id` in `lang` with its placeholders still in, or NULL when the
 * id is unknown in that language. Borrowed, static.
 */
const char *grp_text_raw(enum grp_lang lang, const char *id);

/*
 * The text `id` in `lang` with {i} replaced by args[i-1] (a missing or NULL
 * argument becomes ""). Never fails: an id unknown in `lang` falls back to
 * Hindi, and an id unknown everywhere yields the id itself (and an error in
 * the log), so a citizen never gets silence. Returns a malloc'd string the
 * caller frees.
 */
char *grp_text_fmt(enum grp_lang lang, const char *id, const char *const args[], size_t nargs);

/* Number of Unicode code points in the UTF-8 string `s` (`len` bytes). */
size_t grp_text_chars(const char *s, size_t len);

/*
 * Cut `s` (NUL-terminated, modified in place) to at most `max` code points;
 * when it is cut, the last kept character becomes "…". Returns the new
 * length in bytes.
 */
size_t grp_text_clip(char *s, size_t max);

/*
 * `s` as one line for a template parameter: line breaks and tabs become
 * spaces, runs of spaces one, none at either end (Meta refuses them); then
 * clipped to `max` code points like grp_text_clip (0: not clipped).
 * Returns a new string the caller frees.
 */
char *grp_text_one_line(const char *s, size_t max);

/*
 * The version of the consent texts (the privacy notice of the welcome, the
 * group rules and the consent sentence, in both languages): "c" + the first
 * 8 hex digits of their BLAKE2b hash. Recorded with a member's consent
 * (`cv`); it changes whenever that wording changes, and `git log -p
 * groups/texts/` finds the wording of any version. Static string.
 */
const char *grp_text_consent_version(void);

/* ---- word lists ---- */

/*
 * The words janseva recognises in what citizens type (groups/texts/
 * words.tsv: keywords in both scripts, yes/no answers, words around a PIN
 * code, fillers of a village-name search): fn(ud, kind, word) for every
 * entry, in file order. Strings are static.
 */
void grp_text_words(void (*fn)(void *ud, const char *kind, const char *word), void *ud);

/* ---- for tests and tools ---- */

/* Number of ids of a language, and the i-th id (sorted). */
size_t grp_text_count(enum grp_lang lang);
const char *grp_text_id_at(enum grp_lang lang, size_t i);

/*
 * The placeholders a text uses, as a bit mask (bit i for {i}). A "{" that
 * does not start a valid placeholder sets bit 0.
 */
unsigned grp_text_placeholders(const char *text);

/*
 * The length limit of an id from its suffix (GRP_TEXT_BUTTON_MAX, ...).
 */
size_t grp_text_limit(const char *id);

/*
 * Problems found while parsing the embedded catalogue (duplicate ids, lines
 * without a tab, unknown escapes), one per line, or "" when there were
 * none. Static string.
 */
const char *grp_text_problems(void);

#endif
