/*
 * groups/bctext.h - the texts of officer broadcasts in Hindi and English:
 * the alert as citizens see it, the preview, buttons, confirmations and the
 * final report officers get.
 *
 * The texts are ids "bc.*" of the shared text catalogue (groups/texts.h;
 * files groups/texts/broadcast_{hi,en}.tsv). Hindi is the default language.
 */
#ifndef JANSEVA_GROUPS_BCTEXT_H
#define JANSEVA_GROUPS_BCTEXT_H

#include "core/buf.h"

#include <stddef.h>

#define GRP_BC_LANGS 2
#define GRP_BC_TEXT_MAX_ARGS 9

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
 * Check the "bc." texts: present in both languages with the same
 * placeholders, and the catalogue loaded without problems. Returns 0, or -1
 * with the first problem in `why`.
 */
int grp_bc_texts_check(char *why, size_t n);

#endif
