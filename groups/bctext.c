/*
 * groups/bctext.c - broadcast texts parsed from the embedded TSV files
 * (see bctext.h).
 */
#include "groups/bctext.h"
#include "core/mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEXTS 64

struct entry {
    char *id;
    char *text; /* \n unescaped */
    long line;
};

struct catalogue {
    struct entry e[MAX_TEXTS];
    size_t n;
    char problem[200]; /* first parse problem, "" when none */
};

static struct catalogue cats[GRP_BC_LANGS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void parse(struct catalogue *c, const struct grp_bc_text_file *f)
{
    const char *p = f->data;
    const char *end = f->data + f->len;
    long line = 0;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *tab;
        size_t len;

        if (eol == NULL)
            eol = end;
        line++;
        len = (size_t)(eol - p);
        if (len > 0 && p[0] != '#') {
            tab = memchr(p, '\t', len);
            if (tab == NULL || tab == p || tab + 1 == eol) {
                if (c->problem[0] == '\0')
                    snprintf(c->problem, sizeof c->problem, "%s:%ld: expected ID<TAB>TEXT",
                             f->path, line);
            } else if (c->n == MAX_TEXTS) {
                if (c->problem[0] == '\0')
                    snprintf(c->problem, sizeof c->problem, "%s: more than %d texts", f->path,
                             MAX_TEXTS);
            } else {
                struct entry *e = &c->e[c->n++];
                const char *s = tab + 1;
                size_t k = 0;

                e->id = core_strndup(p, (size_t)(tab - p));
                e->text = core_malloc((size_t)(eol - s) + 1);
                e->line = line;
                while (s < eol) {
                    if (s[0] == '\\' && s + 1 < eol && s[1] == 'n') {
                        e->text[k++] = '\n';
                        s += 2;
                    } else {
                        e->text[k++] = *s++;
                    }
                }
                e->text[k] = '\0';
            }
        }
        p = eol + 1;
    }
}

static void load(void)
{
    for (int i = 0; i < GRP_BC_LANGS; i++)
        parse(&cats[i], &grp_bc_text_files[i]);
}

const char *grp_bc_lang(const char *lang)
{
    return lang != NULL && strcmp(lang, "en") == 0 ? "en" : "hi";
}

static const struct entry *find(const struct catalogue *c, const char *id)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->e[i].id, id) == 0)
            return &c->e[i];
    }
    return NULL;
}

static const struct catalogue *cat_of(const char *lang)
{
    const char *l = grp_bc_lang(lang);

    pthread_once(&once, load);
    for (int i = 0; i < GRP_BC_LANGS; i++) {
        if (strcmp(grp_bc_text_files[i].lang, l) == 0)
            return &cats[i];
    }
    return &cats[0];
}

const char *grp_bc_text_raw(const char *lang, const char *id)
{
    const struct entry *e = find(cat_of(lang), id);

    return e != NULL ? e->text : NULL;
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

/* Bit set of the placeholders {1}..{9} in `t`; -1 for a malformed one. */
static int placeholders(const char *t)
{
    int set = 0;

    for (const char *p = strchr(t, '{'); p != NULL; p = strchr(p + 1, '{')) {
        if (p[1] < '1' || p[1] > '9' || p[2] != '}')
            return -1;
        set |= 1 << (p[1] - '0');
    }
    return set;
}

int grp_bc_texts_check(char *why, size_t n)
{
    pthread_once(&once, load);
    for (int i = 0; i < GRP_BC_LANGS; i++) {
        const struct catalogue *c = &cats[i];
        const struct catalogue *o = &cats[(i + 1) % GRP_BC_LANGS];

        if (c->problem[0] != '\0') {
            snprintf(why, n, "%s", c->problem);
            return -1;
        }
        for (size_t k = 0; k < c->n; k++) {
            const struct entry *e = &c->e[k];
            const struct entry *twin = find(o, e->id);

            if (find(c, e->id) != e) {
                snprintf(why, n, "%s:%ld: id %s appears twice", grp_bc_text_files[i].path,
                         e->line, e->id);
                return -1;
            }
            if (strncmp(e->id, "bc.", 3) != 0) {
                snprintf(why, n, "%s:%ld: ids start with bc.", grp_bc_text_files[i].path,
                         e->line);
                return -1;
            }
            if (placeholders(e->text) < 0) {
                snprintf(why, n, "%s:%ld: placeholders are {1} to {9}",
                         grp_bc_text_files[i].path, e->line);
                return -1;
            }
            if (twin == NULL) {
                snprintf(why, n, "%s:%ld: %s is missing in %s", grp_bc_text_files[i].path,
                         e->line, e->id, grp_bc_text_files[(i + 1) % GRP_BC_LANGS].path);
                return -1;
            }
            if (placeholders(twin->text) != placeholders(e->text)) {
                snprintf(why, n, "%s:%ld: %s has other placeholders than in %s",
                         grp_bc_text_files[i].path, e->line, e->id,
                         grp_bc_text_files[(i + 1) % GRP_BC_LANGS].path);
                return -1;
            }
        }
    }
    return 0;
}
