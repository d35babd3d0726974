/*
 * groups/tiptext.c - the tip line's texts, a view on the shared catalogue
 * (see tiptext.h).
 */
#include "groups/tiptext.h"
#include "groups/texts.h"

#include <string.h>

static enum grp_lang lang_of(const char *lang)
{
    enum grp_lang l = GRP_LANG_HI;

    if (lang != NULL)
        grp_lang_parse(lang, &l);
    return l;
}

const char *grp_tiptext_get(const char *lang, const char *id)
{
    if (id == NULL || strncmp(id, "tip.", 4) != 0)
        return NULL;
    return grp_text_raw(lang_of(lang), id);
}

int grp_tiptext_format(const char *lang, const char *id, const char *const *args, size_t nargs,
                       struct core_buf *out)
{
    const char *t = grp_tiptext_get(lang, id);
    const char *p;

    if (t == NULL)
        return -1;
    for (p = t; *p != '\0'; p++) {
        if (p[0] == '{' && p[1] >= '1' && p[1] <= '9' && p[2] == '}') {
            size_t i = (size_t)(p[1] - '1');

            if (i < nargs && args[i] != NULL)
                core_buf_puts(out, args[i]);
            p += 2;
            continue;
        }
        core_buf_append(out, p, 1);
    }
    return 0;
}

const char *grp_tiptext_id_at(const char *lang, size_t i)
{
    enum grp_lang l = lang_of(lang);
    size_t n = grp_text_count(l);

    for (size_t k = 0; k < n; k++) {
        const char *id = grp_text_id_at(l, k);

        if (strncmp(id, "tip.", 4) == 0 && i-- == 0)
            return id;
    }
    return NULL;
}

size_t grp_tiptext_count(const char *lang)
{
    size_t n = 0;

    while (grp_tiptext_id_at(lang, n) != NULL)
        n++;
    return n;
}
