/*
 * groups/tiptext.c - the tip line's text catalogue (see tiptext.h).
 */
#include "groups/tiptext.h"
#include "core/mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEXTS 64

struct entry {
    char *id;
    char *text;
};

struct lang_table {
    const char *lang;
    struct entry e[MAX_TEXTS];
    size_t n;
};

static struct lang_table tables[2] = {{"hi", {{NULL, NULL}}, 0}, {"en", {{NULL, NULL}}, 0}};
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* One line "id<TAB>text" into the table; "\n" (two characters) -> newline. */
static void add_line(struct lang_table *t, const char *p, size_t n)
{
    const char *tab = memchr(p, '\t', n);
    char *text;
    size_t k = 0;

    if (tab == NULL || tab == p || t->n == MAX_TEXTS || p[0] == '#')
        return;
    text = core_malloc(n + 1);
    for (const char *q = tab + 1; q < p + n; q++) {
        if (q[0] == '\\' && q + 1 < p + n && q[1] == 'n') {
            text[k++] = '\n';
            q++;
        } else {
            text[k++] = *q;
        }
    }
    text[k] = '\0';
    t->e[t->n].id = core_strndup(p, (size_t)(tab - p));
    t->e[t->n].text = text;
    t->n++;
}

static void load(void)
{
    for (size_t f = 0; f < grp_tiptext_nfiles; f++) {
        const struct grp_tiptext_file *file = &grp_tiptext_files[f];
        struct lang_table *t = NULL;
        const char *p = file->data;
        const char *end = file->data + file->len;

        for (size_t i = 0; i < 2; i++) {
            if (strcmp(tables[i].lang, file->lang) == 0)
                t = &tables[i];
        }
        if (t == NULL)
            continue;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

            if (n > 0 && p[n - 1] == '\r')
                n--;
            add_line(t, p, n);
            p = nl != NULL ? nl + 1 : end;
        }
    }
}

static const struct lang_table *table(const char *lang)
{
    pthread_once(&once, load);
    return lang != NULL && strcmp(lang, "en") == 0 ? &tables[1] : &tables[0];
}

const char *grp_tiptext_get(const char *lang, const char *id)
{
    const struct lang_table *t = table(lang);

    for (size_t i = 0; id != NULL && i < t->n; i++) {
        if (strcmp(t->e[i].id, id) == 0)
            return t->e[i].text;
    }
    return NULL;
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

size_t grp_tiptext_count(const char *lang)
{
    return table(lang)->n;
}

const char *grp_tiptext_id_at(const char *lang, size_t i)
{
    const struct lang_table *t = table(lang);

    return i < t->n ? t->e[i].id : NULL;
}
