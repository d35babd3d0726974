/*
 * groups/bctext.c - broadcast texts, a view on the shared catalogue
 * (see bctext.h).
 */
#include "groups/bctext.h"
#include "groups/texts.h"

#include <stdio.h>
#include <string.h>

const char *grp_bc_lang(const char *lang)
{
    return lang != NULL && strcmp(lang, "en") == 0 ? "en" : "hi";
}

static enum grp_lang lang_of(const char *lang)
{
    return strcmp(grp_bc_lang(lang), "en") == 0 ? GRP_LANG_EN : GRP_LANG_HI;
}

const char *grp_bc_text_raw(const char *lang, const char *id)
{
    if (id == NULL || strncmp(id, "bc.", 3) != 0)
        return NULL;
    return grp_text_raw(lang_of(lang), id);
}

int grp_bc_text(struct core_buf *out, const char *lang, const char *id, const char *const *args,
                size_t nargs)
{
    const char *t = grp_bc_text_raw(lang, id);

    if (t == NULL)
        return -1;
    while (*t != '\0') {
        const char *brace = strchr(t, '{');

        if (brace == NULL)
            return core_buf_puts(out, t);
        if (core_buf_append(out, t, (size_t)(brace - t)) != 0)
            return -1;
        if (brace[1] >= '1' && brace[1] <= '9' && brace[2] == '}') {
            size_t k = (size_t)(brace[1] - '1');

            if (k < nargs && args[k] != NULL && core_buf_puts(out, args[k]) != 0)
                return -1;
            t = brace + 3;
        } else {
            if (core_buf_append(out, "{", 1) != 0)
                return -1;
            t = brace + 1;
        }
    }
    return 0;
}

int grp_bc_texts_check(char *why, size_t n)
{
    size_t count = grp_text_count(GRP_LANG_HI);
    size_t seen = 0;

    if (grp_text_problems()[0] != '\0') {
        snprintf(why, n, "%s", grp_text_problems());
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        const char *id = grp_text_id_at(GRP_LANG_HI, i);
        const char *en;

        if (strncmp(id, "bc.", 3) != 0)
            continue;
        seen++;
        en = grp_text_raw(GRP_LANG_EN, id);
        if (en == NULL) {
            snprintf(why, n, "%s is in broadcast_hi.tsv but not in broadcast_en.tsv", id);
            return -1;
        }
        if (grp_text_placeholders(grp_text_raw(GRP_LANG_HI, id)) != grp_text_placeholders(en)) {
            snprintf(why, n, "%s has other placeholders in Hindi than in English", id);
            return -1;
        }
    }
    if (seen == 0) {
        snprintf(why, n, "no broadcast texts (bc.*) in the catalogue");
        return -1;
    }
    return 0;
}
