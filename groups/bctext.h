/*
 * groups/bctext.h - the texts of officer broadcasts in Hindi and English:
 * the alert as citizens see it, the preview, buttons, confirmations and the
 * final report officers get.
 *
 * The texts are data: groups/texts/broadcast_{hi,en}.tsv (ID<TAB>TEXT, {1}
 * {2} ... placeholders, \n for a line break, # comments), compiled into the
 * binary as groups/bc_texts_data.c by groups/texts/embed-broadcast.sh. Ids
 * start with "bc." so the files can join the dialogue's catalogue
 * (groups/texts/{hi,en}.tsv) unchanged; see docs/internals/broadcasts.md.
 * Hindi is the default language. Thread-safe (parsed once).
 */
#ifndef JANSEVA_GROUPS_BCTEXT_H
#define JANSEVA_GROUPS_BCTEXT_H

#include "core/buf.h"

#include <stddef.h>

#define GRP_BC_LANGS 2
#define GRP_BC_TEXT_MAX_ARGS 9

/* One embedded file. */
struct grp_bc_text_file {
    const char *lang; /* "hi", "en" */
    const char *path; /* source file in the repository */
    const char *data; /* contents, NUL-terminated */
    size_t len;
};

/* The embedded files, Hindi first. */
extern const struct grp_bc_text_file grp_bc_text_files[GRP_BC_LANGS];

/* "en" for "en", else "hi" (the default). */
const char *grp_bc_lang(const char *lang);

/* The text `id` in `lang` with line breaks unescaped, placeholders left as
 * they are; NULL when unknown. Borrowed (static). */
const char *grp_bc_text_raw(const char *lang, const char *id);

/*
 * Append text `id` in `lang` to `out`, with {n} replaced by args[n-1]
 * (n = 1..nargs; a missing argument becomes ""). Returns 0, or -1 for an
 * unknown id or when `out`'s cap is reached.
 */
int grp_bc_text(struct core_buf *out, const char *lang, const char *id, const char *const *args,
                size_t nargs);

/*
 * Check the catalogues: every line well-formed, no id twice, the same ids in
 * both languages with the same placeholders, placeholders {1}-{9} only.
 * Returns 0, or -1 with the first problem in `why`.
 */
int grp_bc_texts_check(char *why, size_t n);

#endif
