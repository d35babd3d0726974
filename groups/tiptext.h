/*
 * groups/tiptext.h - the tip line's texts: ids "tip.*" of the shared text
 * catalogue (groups/texts.h; files groups/texts/tip_{hi,en}.tsv). Hindi is
 * the default; an unknown language falls back to it.
 */
#ifndef JANSEVA_GROUPS_TIPTEXT_H
#define JANSEVA_GROUPS_TIPTEXT_H

#include "core/buf.h"

#include <stddef.h>

#define GRP_TIPTEXT_MAX_ARGS 9

/* The text `id` in `lang` ("hi", "en"; anything else is "hi"), with line
 * breaks unescaped; NULL when the id is unknown. Borrowed, static. */
const char *grp_tiptext_get(const char *lang, const char *id);

/* Append text `id` in `lang` to `out` with {1}..{n} replaced by
 * args[0..n-1] (a missing argument becomes ""). Returns 0, or -1 for an
 * unknown id. */
int grp_tiptext_format(const char *lang, const char *id, const char *const *args, size_t nargs,
                       struct core_buf *out);

/* Number of "tip." ids in `lang` (tests). */
size_t grp_tiptext_count(const char *lang);

/* The i-th "tip." id of `lang` in catalogue order (tests), or NULL. */
const char *grp_tiptext_id_at(const char *lang, size_t i);

#endif
