/*
 * moderation/fp.c - MinHash fingerprints and the template store (fp.h).
 */
#include "moderation/fp.h"
#include "core/mem.h"
#include "moderation/hash.h"
#include "moderation/translit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEED_SHINGLE 0x73686e676c653031ULL
#define SEED_EXACT 0x6578616374747874ULL
#define SEED_BAND 0x62616e646b657973ULL
#define FP_TEXT_MAX 8192
#define STORE_BANDS 16 /* 2 rows each: recall 0.99 at J = 0.5 */

/* ======================= fingerprints ======================= */

static void text_put(char *buf, size_t *o, const char *s, size_t n)
{
    if (*o + n + 1 >= FP_TEXT_MAX)
        return;
    if (*o > 0)
        buf[(*o)++] = ' ';
    memcpy(buf + *o, s, n);
    *o += n;
}

/* The fingerprint text of a post (see fp.h). */
static size_t fp_text(const struct mod_toks *t, char *buf)
{
    size_t o = 0;
    size_t i;

    for (i = 0; i < t->n; i++) {
        const struct mod_tok *k = &t->v[i];
        const char *s = mod_tok_text(t, i);

        switch (k->type) {
        case MOD_TOK_WORD: {
            char sk[MOD_SKEL_MAX];
            size_t n = mod_tok_skel(t, i, sk);

            if (n > 0)
                text_put(buf, &o, sk, n);
            else
                text_put(buf, &o, s, k->len);
            break;
        }
        case MOD_TOK_NUM:
            text_put(buf, &o, s, k->len);
            break;
        case MOD_TOK_URL:
            text_put(buf, &o, "u:", 2);
            if (o + k->len + 1 < FP_TEXT_MAX) {
                memcpy(buf + o, s, k->len);
                o += k->len;
            }
            break;
        case MOD_TOK_PHONE:
            text_put(buf, &o, "#p", 2);
            break;
        case MOD_TOK_UPI:
        case MOD_TOK_EMAIL:
            text_put(buf, &o, "@", 1);
            break;
        default:
            break;
        }
    }
    buf[o] = '\0';
    return o;
}

void mod_fp_compute(const struct mod_toks *t, struct mod_fp *out)
{
    char buf[FP_TEXT_MAX];
    size_t len = fp_text(t, buf);
    size_t i;
    int filled = 0;

    memset(out, 0, sizeof *out);
    out->exact = mod_hash64(buf, len, SEED_EXACT);
    if (len >= 4)
        out->n = (uint32_t)(len - 3);
    if (out->n < MOD_FP_MIN_SHINGLES)
        return;
    for (i = 0; i < MOD_FP_SLOTS; i++)
        out->sig[i] = UINT32_MAX;
    for (i = 0; i + 4 <= len; i++) {
        const unsigned char *b = (const unsigned char *)buf + i;
        uint32_t w = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                     (uint32_t)b[3] << 24;
        uint64_t h = mod_mix64(SEED_SHINGLE ^ w);
        unsigned bin = (unsigned)(h >> 59); /* 32 bins */
        uint32_t v = (uint32_t)h;

        if (v < out->sig[bin])
            out->sig[bin] = v;
    }
    for (i = 0; i < MOD_FP_SLOTS; i++)
        filled += out->sig[i] != UINT32_MAX;
    if (filled == 0)
        return;
    /* densify: an empty bin borrows from the next filled one, shifted */
    {
        uint32_t src[MOD_FP_SLOTS];

        memcpy(src, out->sig, sizeof src);
        for (i = 0; i < MOD_FP_SLOTS; i++) {
            size_t d = 1;

            if (src[i] != UINT32_MAX)
                continue;
            while (src[(i + d) % MOD_FP_SLOTS] == UINT32_MAX)
                d++;
            out->sig[i] = src[(i + d) % MOD_FP_SLOTS] + (uint32_t)d * 0x9E3779B1u;
        }
    }
}

int mod_fp_is_short(const struct mod_fp *f)
{
    return f->n < MOD_FP_MIN_SHINGLES;
}

double mod_fp_resemblance(const struct mod_fp *a, const struct mod_fp *b)
{
    unsigned same = 0;
    unsigned i;

    if (mod_fp_is_short(a) || mod_fp_is_short(b))
        return a->exact == b->exact ? 1.0 : 0.0;
    for (i = 0; i < MOD_FP_SLOTS; i++)
        same += a->sig[i] == b->sig[i];
    return (double)same / MOD_FP_SLOTS;
}

double mod_fp_containment(const struct mod_fp *part, const struct mod_fp *whole)
{
    double j = mod_fp_resemblance(part, whole);
    double c;

    if (part->n == 0)
        return 0;
    c = j * ((double)part->n + (double)whole->n) / ((1.0 + j) * (double)part->n);
    return c > 1.0 ? 1.0 : c;
}

int mod_fp_near(const struct mod_fp *known, const struct mod_fp *post, double *score)
{
    double j = mod_fp_resemblance(known, post);
    double c = 0;
    int near;

    if (mod_fp_is_short(known) || mod_fp_is_short(post)) {
        near = known->exact == post->exact;
        if (score != NULL)
            *score = near ? 1.0 : 0.0;
        return near;
    }
    c = mod_fp_containment(known, post);
    near = j >= 0.75 || (c >= 0.75 && j >= 0.2);
    if (score != NULL)
        *score = j > c ? j : c;
    return near;
}

void mod_fp_id(const struct mod_fp *f, char out[MOD_FP_ID_HEX])
{
    uint64_t h;

    if (mod_fp_is_short(f))
        h = f->exact;
    else
        h = mod_hash64(f->sig, sizeof f->sig, SEED_EXACT);
    snprintf(out, MOD_FP_ID_HEX, "%016llx", (unsigned long long)h);
}

size_t mod_fp_bands(const struct mod_fp *f, size_t nbands, uint64_t *keys)
{
    size_t rows;
    size_t b;

    if (mod_fp_is_short(f)) {
        keys[0] = f->exact;
        return 1;
    }
    if (nbands == 0 || MOD_FP_SLOTS % nbands != 0)
        nbands = 8;
    rows = MOD_FP_SLOTS / nbands;
    for (b = 0; b < nbands; b++) {
        unsigned char buf[MOD_FP_SLOTS * 4];
        size_t r;

        for (r = 0; r < rows; r++) {
            uint32_t v = f->sig[b * rows + r];

            buf[r * 4] = (unsigned char)v;
            buf[r * 4 + 1] = (unsigned char)(v >> 8);
            buf[r * 4 + 2] = (unsigned char)(v >> 16);
            buf[r * 4 + 3] = (unsigned char)(v >> 24);
        }
        keys[b] = mod_hash64(buf, rows * 4, SEED_BAND + b);
    }
    return nbands;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void mod_fp_pack(const struct mod_fp *f, unsigned char out[MOD_FP_PACKED])
{
    size_t i;

    for (i = 0; i < MOD_FP_SLOTS; i++)
        put32(out + i * 4, f->sig[i]);
    put32(out + MOD_FP_SLOTS * 4, f->n);
    put32(out + MOD_FP_SLOTS * 4 + 4, (uint32_t)f->exact);
    put32(out + MOD_FP_SLOTS * 4 + 8, (uint32_t)(f->exact >> 32));
}

void mod_fp_unpack(const unsigned char in[MOD_FP_PACKED], struct mod_fp *f)
{
    size_t i;

    for (i = 0; i < MOD_FP_SLOTS; i++)
        f->sig[i] = get32(in + i * 4);
    f->n = get32(in + MOD_FP_SLOTS * 4);
    f->exact = (uint64_t)get32(in + MOD_FP_SLOTS * 4 + 4) |
               (uint64_t)get32(in + MOD_FP_SLOTS * 4 + 8) << 32;
}

/* ======================= clustering ======================= */

static uint32_t uf_find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

static void uf_union(uint32_t *parent, uint32_t a, uint32_t b)
{
    a = uf_find(parent, a);
    b = uf_find(parent, b);
    if (a < b)
        parent[b] = a;
    else if (b < a)
        parent[a] = b;
}

struct band_pair {
    uint64_t key;
    uint32_t idx;
};

static int cmp_band(const void *x, const void *y)
{
    const struct band_pair *a = x;
    const struct band_pair *b = y;

    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

void mod_fp_cluster(const struct mod_fp *fps, size_t n, uint32_t *group)
{
    struct band_pair *pairs = core_malloc((n * STORE_BANDS + 1) * sizeof pairs[0]);
    size_t np = 0;
    size_t i;
    size_t j;

    for (i = 0; i < n; i++) {
        uint64_t keys[STORE_BANDS];
        size_t nk = mod_fp_bands(&fps[i], STORE_BANDS, keys);
        size_t k;

        group[i] = (uint32_t)i;
        for (k = 0; k < nk; k++) {
            /* the band number keeps exact-hash keys apart from band keys */
            pairs[np].key = keys[k] ^ (mod_fp_is_short(&fps[i]) ? 0 : k + 1);
            pairs[np].idx = (uint32_t)i;
            np++;
        }
    }
    qsort(pairs, np, sizeof pairs[0], cmp_band);
    for (i = 0; i < np; i = j) {
        j = i + 1;
        while (j < np && pairs[j].key == pairs[i].key)
            j++;
        /* compare every member of a bucket with its first few members */
        {
            size_t a;
            size_t b;

            for (a = i; a < j && a < i + 8; a++) {
                for (b = a + 1; b < j; b++) {
                    const struct mod_fp *x = &fps[pairs[a].idx];
                    const struct mod_fp *y = &fps[pairs[b].idx];

                    if (mod_fp_near(x, y, NULL) || mod_fp_near(y, x, NULL))
                        uf_union(group, pairs[a].idx, pairs[b].idx);
                }
            }
        }
    }
    for (i = 0; i < n; i++)
        group[i] = uf_find(group, (uint32_t)i);
    free(pairs);
}

/* ======================= the template store ======================= */

struct band_slot {
    uint64_t key;   /* 0 = empty */
    uint32_t entry; /* template index */
};

struct mod_fpstore {
    struct mod_fp_entry *v;
    size_t n;
    size_t cap;
    /* multimap band key -> template, open addressing; each (key, template)
     * pair has its own slot */
    struct band_slot *slots;
    size_t mask;
    size_t used;
};

struct mod_fpstore *mod_fpstore_new(void)
{
    struct mod_fpstore *s = core_calloc(1, sizeof *s);

    s->mask = 255;
    s->slots = core_calloc(s->mask + 1, sizeof s->slots[0]);
    return s;
}

void mod_fpstore_free(struct mod_fpstore *s)
{
    if (s == NULL)
        return;
    free(s->v);
    free(s->slots);
    free(s);
}

size_t mod_fpstore_count(const struct mod_fpstore *s)
{
    return s->n;
}

const struct mod_fp_entry *mod_fpstore_get(const struct mod_fpstore *s, size_t i)
{
    return i < s->n ? &s->v[i] : NULL;
}

static void slot_insert(struct mod_fpstore *s, uint64_t key, uint32_t entry)
{
    size_t i;

    if (key == 0)
        key = 1;
    i = (size_t)key & s->mask;
    while (s->slots[i].key != 0)
        i = (i + 1) & s->mask;
    s->slots[i].key = key;
    s->slots[i].entry = entry;
    s->used++;
}

static void index_entry(struct mod_fpstore *s, uint32_t idx)
{
    uint64_t keys[STORE_BANDS];
    size_t nk = mod_fp_bands(&s->v[idx].fp, STORE_BANDS, keys);
    size_t k;

    while ((s->used + nk) * 2 > s->mask + 1) {
        struct band_slot *old = s->slots;
        size_t old_cap = s->mask + 1;
        size_t i;

        s->mask = old_cap * 2 - 1;
        s->slots = core_calloc(s->mask + 1, sizeof s->slots[0]);
        s->used = 0;
        for (i = 0; i < old_cap; i++) {
            if (old[i].key != 0)
                slot_insert(s, old[i].key, old[i].entry);
        }
        free(old);
    }
    for (k = 0; k < nk; k++)
        slot_insert(s, keys[k], idx);
}

/* The template identical to `fp` (same text fingerprint), or NULL. */
static struct mod_fp_entry *find_same(struct mod_fpstore *s, const struct mod_fp *fp)
{
    uint64_t keys[STORE_BANDS];
    uint64_t key;
    size_t i;

    mod_fp_bands(fp, STORE_BANDS, keys);
    key = keys[0] == 0 ? 1 : keys[0];
    for (i = (size_t)key & s->mask; s->slots[i].key != 0; i = (i + 1) & s->mask) {
        struct mod_fp_entry *e = &s->v[s->slots[i].entry];

        if (s->slots[i].key == key && e->fp.exact == fp->exact && e->fp.n == fp->n &&
            memcmp(e->fp.sig, fp->sig, sizeof fp->sig) == 0)
            return e;
    }
    return NULL;
}

void mod_fpstore_add(struct mod_fpstore *s, const struct mod_fp *fp, enum mod_fp_mark mark,
                     enum mod_label label)
{
    struct mod_fp_entry *same = find_same(s, fp);

    if (same != NULL) {
        same->mark = mark;
        same->label = label;
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap == 0 ? 16 : s->cap * 2;
        s->v = core_realloc(s->v, s->cap * sizeof s->v[0]);
    }
    s->v[s->n].fp = *fp;
    s->v[s->n].mark = mark;
    s->v[s->n].label = label;
    s->n++;
    index_entry(s, (uint32_t)(s->n - 1));
}

const struct mod_fp_entry *mod_fpstore_lookup(const struct mod_fpstore *s,
                                              const struct mod_fp *post, double *score)
{
    uint64_t keys[STORE_BANDS];
    size_t nk;
    const struct mod_fp_entry *best = NULL;
    double best_score = 0;
    size_t k;

    if (s->n == 0)
        return NULL;
    nk = mod_fp_bands(post, STORE_BANDS, keys);
    for (k = 0; k < nk; k++) {
        uint64_t key = keys[k] == 0 ? 1 : keys[k];
        size_t i = (size_t)key & s->mask;

        while (s->slots[i].key != 0) {
            if (s->slots[i].key == key) {
                const struct mod_fp_entry *e = &s->v[s->slots[i].entry];
                double sc;

                if (e != best && mod_fp_near(&e->fp, post, &sc)) {
                    int better = best == NULL || sc > best_score ||
                                 (sc == best_score && e->mark == MOD_MARK_GOOD);

                    if (better) {
                        best = e;
                        best_score = sc;
                    }
                }
            }
            i = (i + 1) & s->mask;
        }
    }
    if (score != NULL)
        *score = best_score;
    return best;
}
