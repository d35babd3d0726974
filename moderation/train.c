/*
 * moderation/train.c - labelled texts to a model (see train.h).
 */
#include "moderation/train.h"
#include "core/mem.h"
#include "moderation/hash.h"
#include "moderation/prep.h"

#include <stdlib.h>
#include <string.h>

#define SEED_DEDUP 0x6465647570313233ULL

struct tmark {
    struct mod_fp fp;
    enum mod_fp_mark mark;
    enum mod_label label;
};

struct mod_trainer {
    struct mod_feat_opts fo;
    struct mod_prep prep;
    struct mod_sample *s;
    struct mod_fp *fps;
    size_t n;
    size_t cap;
    size_t dups;
    uint64_t *seen; /* open-addressing set of normalised-key hashes */
    size_t seen_mask;
    size_t seen_n;
    int grouped;    /* s[].group is up to date */
    struct tmark *marks;
    size_t nmarks;
};

struct mod_trainer *mod_trainer_new(const struct mod_feat_opts *fo)
{
    struct mod_trainer *t = core_calloc(1, sizeof *t);

    if (fo != NULL)
        t->fo = *fo;
    else
        mod_feat_opts_default(&t->fo);
    mod_prep_init(&t->prep);
    t->seen_mask = 1023;
    t->seen = core_calloc(t->seen_mask + 1, sizeof t->seen[0]);
    return t;
}

void mod_trainer_free(struct mod_trainer *t)
{
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->n; i++)
        free(t->s[i].f);
    free(t->s);
    free(t->fps);
    free(t->seen);
    free(t->marks);
    mod_prep_cleanup(&t->prep);
    free(t);
}

/* Insert `h` into the seen set; returns 0 if it was already there. */
static int seen_insert(struct mod_trainer *t, uint64_t h)
{
    size_t i;

    if (h == 0)
        h = 1;
    if ((t->seen_n + 1) * 2 > t->seen_mask + 1) {
        uint64_t *old = t->seen;
        size_t old_cap = t->seen_mask + 1;

        t->seen_mask = old_cap * 2 - 1;
        t->seen = core_calloc(t->seen_mask + 1, sizeof t->seen[0]);
        for (i = 0; i < old_cap; i++) {
            size_t j;

            if (old[i] == 0)
                continue;
            for (j = (size_t)old[i] & t->seen_mask; t->seen[j] != 0; j = (j + 1) & t->seen_mask)
                ;
            t->seen[j] = old[i];
        }
        free(old);
    }
    for (i = (size_t)h & t->seen_mask; t->seen[i] != 0; i = (i + 1) & t->seen_mask) {
        if (t->seen[i] == h)
            return 0;
    }
    t->seen[i] = h;
    t->seen_n++;
    return 1;
}

/* Hash of the token sequence: posts differing only in punctuation, case,
 * spacing or normalisation are duplicates. */
static uint64_t tokens_hash(const struct mod_toks *t)
{
    uint64_t h = SEED_DEDUP;
    size_t i;

    for (i = 0; i < t->n; i++)
        h = mod_hash_pair(h, mod_hash64(mod_tok_text(t, i), t->v[i].len, t->v[i].type), i);
    return h;
}

int mod_trainer_add(struct mod_trainer *t, enum mod_label label, const char *text, size_t len)
{
    struct mod_post post;
    struct mod_sample *s;

    memset(&post, 0, sizeof post);
    post.text = text;
    post.len = len;
    mod_prep_run(&t->prep, &post, &t->fo, 0);
    if (!seen_insert(t, tokens_hash(&t->prep.toks))) {
        t->dups++;
        return 0;
    }
    if (t->n == t->cap) {
        t->cap = t->cap == 0 ? 256 : t->cap * 2;
        t->s = core_realloc(t->s, t->cap * sizeof t->s[0]);
        t->fps = core_realloc(t->fps, t->cap * sizeof t->fps[0]);
    }
    s = &t->s[t->n];
    s->label = label;
    s->nf = t->prep.feats.n;
    s->f = core_memdup(t->prep.feats.v, s->nf * sizeof s->f[0]);
    s->group = (uint32_t)t->n;
    t->fps[t->n] = t->prep.fp;
    t->n++;
    t->grouped = 0;
    return 1;
}

void mod_trainer_add_mark(struct mod_trainer *t, enum mod_fp_mark mark, enum mod_label label,
                          const char *text, size_t len)
{
    struct mod_post post;

    memset(&post, 0, sizeof post);
    post.text = text;
    post.len = len;
    mod_prep_run(&t->prep, &post, &t->fo, 0);
    t->marks = core_realloc(t->marks, (t->nmarks + 1) * sizeof t->marks[0]);
    t->marks[t->nmarks].fp = t->prep.fp;
    t->marks[t->nmarks].mark = mark;
    t->marks[t->nmarks].label = label;
    t->nmarks++;
}

size_t mod_trainer_count(const struct mod_trainer *t)
{
    return t->n;
}

size_t mod_trainer_duplicates(const struct mod_trainer *t)
{
    return t->dups;
}

enum mod_label mod_trainer_label(const struct mod_trainer *t, size_t i)
{
    return t->s[i].label;
}

static void group_all(struct mod_trainer *t)
{
    uint32_t *g;
    size_t i;

    if (t->grouped)
        return;
    g = core_malloc((t->n + 1) * sizeof g[0]);
    mod_fp_cluster(t->fps, t->n, g);
    for (i = 0; i < t->n; i++)
        t->s[i].group = g[i];
    free(g);
    t->grouped = 1;
}

uint32_t mod_trainer_group(struct mod_trainer *t, size_t i)
{
    group_all(t);
    return t->s[i].group;
}

struct mod_model *mod_trainer_build(struct mod_trainer *t, int (*use)(void *ud, size_t i),
                                    void *ud, unsigned folds, double target_blocked,
                                    double target_dropped,
                                    void (*progress)(void *ud, const char *msg), void *pud)
{
    struct mod_model *m = mod_model_new(&t->fo);
    struct mod_sample *sel;
    size_t n = 0;
    size_t i;

    group_all(t);
    sel = core_malloc((t->n + 1) * sizeof sel[0]);
    for (i = 0; i < t->n; i++) {
        if (use == NULL || use(ud, i))
            sel[n++] = t->s[i];
    }
    mod_model_train(m, sel, n, folds, target_blocked, target_dropped, progress, pud);
    free(sel);
    for (i = 0; i < t->nmarks; i++)
        mod_fpstore_add(m->marks, &t->marks[i].fp, t->marks[i].mark, t->marks[i].label);
    return m;
}
