/*
 * groups/lookup.c - the in-memory hierarchy index and name search (see
 * lookup.h).
 */
#include "groups/lookup.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "moderation/norm.h"
#include "moderation/translit.h"
#include "moderation/utf8.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 256 /* bytes of one match key */
#define SPAN_MAX 63 /* bytes of one compared span (spaces removed) */
#define ARENA_CHUNK (1u << 20)
#define LOAD_BATCH 2000 /* HMGETs per pipeline round trip */
#define ENOUGH 5        /* matches that make the second search pass unneeded, */
#define GOOD_RANK 3     /* ... with one this good (a whole name, one change) */

/* ======================= the index ======================= */

struct arena_chunk {
    struct arena_chunk *next;
    size_t used;
    size_t cap;
    char data[];
};

struct grp_lookup {
    struct grp_place *p;
    size_t n;
    size_t cap;
    int32_t *slots; /* code hash table: index + 1, 0 = empty */
    size_t n_slots;
    int32_t *child_start; /* CSR children: child_start[i]..child_start[i+1] in child */
    int32_t *child;
    char **parent_code; /* until finish */
    struct arena_chunk *arena;
    atomic_int refs; /* when owned by a cache */
    long long version;
};

static char *arena_dup(struct grp_lookup *lk, const char *s, size_t n)
{
    struct arena_chunk *c = lk->arena;
    char *out;

    if (c == NULL || c->cap - c->used < n + 1) {
        size_t cap = n + 1 > ARENA_CHUNK ? n + 1 : ARENA_CHUNK;

        c = core_malloc(sizeof *c + cap);
        c->next = lk->arena;
        c->used = 0;
        c->cap = cap;
        lk->arena = c;
    }
    out = c->data + c->used;
    memcpy(out, s, n);
    out[n] = '\0';
    c->used += n + 1;
    return out;
}

static uint32_t hash_code(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static void table_insert(struct grp_lookup *lk, int32_t idx)
{
    size_t mask = lk->n_slots - 1;
    size_t i = hash_code(lk->p[idx].code) & mask;

    while (lk->slots[i] != 0)
        i = (i + 1) & mask;
    lk->slots[i] = idx + 1;
}

static void table_grow(struct grp_lookup *lk)
{
    size_t want = 64;

    while (want < 2 * (lk->n + 1))
        want *= 2;
    if (want <= lk->n_slots)
        return;
    free(lk->slots);
    lk->n_slots = want;
    lk->slots = core_calloc(want, sizeof *lk->slots);
    for (size_t i = 0; i < lk->n; i++)
        table_insert(lk, (int32_t)i);
}

static int32_t table_find(const struct grp_lookup *lk, const char *code)
{
    size_t mask;
    size_t i;

    if (lk->n_slots == 0 || code == NULL)
        return -1;
    mask = lk->n_slots - 1;
    for (i = hash_code(code) & mask; lk->slots[i] != 0; i = (i + 1) & mask) {
        if (strcmp(lk->p[lk->slots[i] - 1].code, code) == 0)
            return lk->slots[i] - 1;
    }
    return -1;
}

struct grp_lookup *grp_lookup_new(void)
{
    struct grp_lookup *lk = core_calloc(1, sizeof *lk);

    atomic_init(&lk->refs, 0);
    return lk;
}

static uint8_t type_rank(const char *type)
{
    if (type == NULL || type[0] == '\0' || strcmp(type, "village") == 0 ||
        strcmp(type, "town") == 0 || strcmp(type, "ward") == 0)
        return 0;
    if (strcmp(type, "polling_station") == 0)
        return 2;
    return 1;
}

void grp_lookup_add(struct grp_lookup *lk, const char *code, enum grp_kind kind, const char *parent,
                    const char *name_en, const char *name_hi, const char *pin, const char *type,
                    long population)
{
    struct grp_place *p;

    if (code == NULL || code[0] == '\0' || table_find(lk, code) >= 0)
        return;
    if (lk->n == lk->cap) {
        lk->cap = lk->cap != 0 ? 2 * lk->cap : 1024;
        lk->p = core_realloc(lk->p, lk->cap * sizeof *lk->p);
        lk->parent_code = core_realloc(lk->parent_code, lk->cap * sizeof *lk->parent_code);
    }
    p = &lk->p[lk->n];
    memset(p, 0, sizeof *p);
    p->code = arena_dup(lk, code, strlen(code));
    if (name_en == NULL)
        name_en = "";
    if (name_hi == NULL)
        name_hi = "";
    p->name_en = arena_dup(lk, name_en, strlen(name_en));
    p->name_hi = arena_dup(lk, name_hi, strlen(name_hi));
    p->kind = kind;
    p->parent = -1;
    snprintf(p->pin, sizeof p->pin, "%s", pin != NULL ? pin : "");
    p->type_rank = type_rank(type);
    p->population = population >= 0 && population < INT32_MAX ? (int32_t)population : -1;
    lk->parent_code[lk->n] = parent != NULL && parent[0] != '\0' ? core_strdup(parent) : NULL;
    lk->n++;
    if (2 * (lk->n + 1) > lk->n_slots)
        table_grow(lk);
    else
        table_insert(lk, (int32_t)(lk->n - 1));
}

/* ======================= match keys ======================= */

/* Words a citizen adds around a name ("mera gaon haldi chhapra hai"):
 * "filler" in groups/texts/words.tsv, normalised once. */
static char **fillers;
static size_t n_fillers;
static pthread_once_t fillers_once = PTHREAD_ONCE_INIT;

static void filler_add(void *ud, const char *kind, const char *word)
{
    struct mod_norm *n = ud;

    if (strcmp(kind, "filler") != 0)
        return;
    mod_norm_run(n, word, strlen(word));
    fillers = core_realloc(fillers, (n_fillers + 1) * sizeof *fillers);
    fillers[n_fillers++] = core_strdup(n->key);
}

static void fillers_init(void)
{
    struct mod_norm n;

    mod_norm_init(&n);
    grp_text_words(filler_add, &n);
    mod_norm_cleanup(&n);
}

/* The four keys of a text: letters of its Latin and of its Devanagari
 * words, and the skeletons of each (compared across scripts only). */
enum { K_LAT, K_DEV, K_SKEL_LAT, K_SKEL_DEV, N_KEYS };

struct keyset {
    char k[N_KEYS][KEY_MAX];
    size_t len[N_KEYS];
};

static void key_put(char *k, size_t *len, const char *s, size_t n)
{
    if (n == 0 || *len + n + 2 > KEY_MAX)
        return;
    if (*len > 0)
        k[(*len)++] = ' ';
    memcpy(k + *len, s, n);
    *len += n;
    k[*len] = '\0';
}

/* "chh" keeps an 'h' in the skeleton ("chhapra" -> "chpr") where "ch" does
 * not ("chapra" -> "cpr"): drop it. Other 'h's stay (piprahi is not pipra);
 * they are cheap to add or remove in the distance. */
static size_t fold_skeleton(char *s, size_t n)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == 'h' && o > 0 && s[o - 1] == 'c')
            continue;
        s[o++] = s[i];
    }
    s[o] = '\0';
    return o;
}

static int is_filler(const char *w, size_t n)
{
    pthread_once(&fillers_once, fillers_init);
    for (size_t i = 0; i < n_fillers; i++) {
        if (strlen(fillers[i]) == n && memcmp(fillers[i], w, n) == 0)
            return 1;
    }
    return 0;
}

/*
 * Keys of a normalised text `t` (mod_norm output). With `drop_filler` the
 * filler words are skipped (queries, not names: a real name may contain
 * "tola" or "nagar", which are not fillers anyway).
 */
static void keys_of(const char *t, size_t len, int drop_filler, struct keyset *ks)
{
    size_t i = 0;

    for (int x = 0; x < N_KEYS; x++) {
        ks->len[x] = 0;
        ks->k[x][0] = '\0';
    }
    while (i < len) {
        size_t start = i;
        size_t end;
        char lat[KEY_MAX];
        char dev[KEY_MAX];
        size_t nl = 0;
        size_t nd = 0;
        char sk[MOD_SKEL_MAX];
        size_t ns;
        int32_t c;

        /* a word: a run of letters, marks and digits */
        while (i < len) {
            size_t k = mod_utf8_next(t + i, len - i, &c);

            if (!mod_norm_is_word_cp(c))
                break;
            i += k;
        }
        end = i;
        if (end == start) {
            i += mod_utf8_next(t + i, len - i, &c);
            continue;
        }
        if (drop_filler && is_filler(t + start, end - start))
            continue;
        for (size_t j = start; j < end && nl + 1 < sizeof lat && nd + 1 < sizeof dev;) {
            j += mod_utf8_next(t + j, end - j, &c);
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
                lat[nl++] = (char)c;
            else if (c >= 0x0900 && c <= 0x097F)
                dev[nd++] = (char)(0x80 + (c - 0x0900)); /* one byte per code point */
        }
        key_put(ks->k[K_LAT], &ks->len[K_LAT], lat, nl);
        key_put(ks->k[K_DEV], &ks->len[K_DEV], dev, nd);
        ns = mod_skeleton(t + start, end - start, sk);
        ns = fold_skeleton(sk, ns);
        /* a word is in the script most of its letters are in */
        if (nd > nl)
            key_put(ks->k[K_SKEL_DEV], &ks->len[K_SKEL_DEV], sk, ns);
        else
            key_put(ks->k[K_SKEL_LAT], &ks->len[K_SKEL_LAT], sk, ns);
    }
}

/* The letters of a key as a bit set (byte mod 32; collisions only make it
 * more permissive). A span can only be within d changes of the query if at
 * most d of the query's letters are missing from the whole key. */
static uint32_t key_mask(const char *k)
{
    uint32_t m = 0;

    for (; k != NULL && *k != '\0'; k++) {
        if (*k != ' ')
            m |= 1u << ((unsigned char)*k & 31u);
    }
    return m;
}

static const char *arena_key(struct grp_lookup *lk, const char *k, size_t n)
{
    return n > 0 ? arena_dup(lk, k, n) : NULL;
}

static void place_keys(struct grp_lookup *lk, struct grp_place *p, struct mod_norm *norm)
{
    struct keyset ks;
    struct keyset hi;

    mod_norm_run(norm, p->name_en, strlen(p->name_en));
    keys_of(norm->key, norm->len, 0, &ks);
    /* the Hindi name adds its words (an English name may be Devanagari too) */
    if (p->name_hi[0] != '\0') {
        mod_norm_run(norm, p->name_hi, strlen(p->name_hi));
        keys_of(norm->key, norm->len, 0, &hi);
        for (int x = 0; x < N_KEYS; x++) {
            if (hi.len[x] > 0 && (ks.len[x] == 0 || x == K_DEV || x == K_SKEL_DEV)) {
                memcpy(ks.k[x], hi.k[x], hi.len[x] + 1);
                ks.len[x] = hi.len[x];
            }
        }
    }
    for (int x = 0; x < N_KEYS; x++) {
        p->key[x] = arena_key(lk, ks.k[x], ks.len[x]);
        p->mask[x] = key_mask(p->key[x]);
    }
}

void grp_lookup_finish(struct grp_lookup *lk)
{
    struct mod_norm norm;
    size_t i;
    int32_t *fill;

    mod_norm_init(&norm);
    for (i = 0; i < lk->n; i++) {
        struct grp_place *p = &lk->p[i];

        if (lk->parent_code != NULL && lk->parent_code[i] != NULL) {
            p->parent = table_find(lk, lk->parent_code[i]);
            free(lk->parent_code[i]);
            lk->parent_code[i] = NULL;
        }
        if (p->kind == GRP_LOCALITY)
            place_keys(lk, p, &norm);
    }
    mod_norm_cleanup(&norm);
    free(lk->parent_code);
    lk->parent_code = NULL;
    /* children, in insertion order */
    lk->child_start = core_calloc(lk->n + 2, sizeof *lk->child_start);
    lk->child = core_calloc(lk->n + 1, sizeof *lk->child);
    for (i = 0; i < lk->n; i++) {
        if (lk->p[i].parent >= 0)
            lk->child_start[lk->p[i].parent + 1]++;
    }
    for (i = 0; i < lk->n; i++)
        lk->child_start[i + 1] += lk->child_start[i];
    fill = core_calloc(lk->n + 1, sizeof *fill);
    for (i = 0; i < lk->n; i++) {
        int32_t par = lk->p[i].parent;

        if (par >= 0)
            lk->child[lk->child_start[par] + fill[par]++] = (int32_t)i;
    }
    free(fill);
}

void grp_lookup_free(struct grp_lookup *lk)
{
    if (lk == NULL)
        return;
    while (lk->arena != NULL) {
        struct arena_chunk *next = lk->arena->next;

        free(lk->arena);
        lk->arena = next;
    }
    if (lk->parent_code != NULL) {
        for (size_t i = 0; i < lk->n; i++)
            free(lk->parent_code[i]);
        free(lk->parent_code);
    }
    free(lk->p);
    free(lk->slots);
    free(lk->child_start);
    free(lk->child);
    free(lk);
}

/* ======================= reading ======================= */

size_t grp_lookup_size(const struct grp_lookup *lk)
{
    return lk != NULL ? lk->n : 0;
}

const struct grp_place *grp_lookup_at(const struct grp_lookup *lk, size_t i)
{
    return lk != NULL && i < lk->n ? &lk->p[i] : NULL;
}

const struct grp_place *grp_lookup_find(const struct grp_lookup *lk, const char *code)
{
    int32_t i = lk != NULL ? table_find(lk, code) : -1;

    return i >= 0 ? &lk->p[i] : NULL;
}

const char *grp_place_name(const struct grp_place *p, enum grp_lang lang)
{
    if (lang == GRP_LANG_HI && p->name_hi[0] != '\0')
        return p->name_hi;
    return p->name_en[0] != '\0' ? p->name_en : p->code;
}

const struct grp_place *grp_lookup_ancestor(const struct grp_lookup *lk, const struct grp_place *p,
                                            enum grp_kind kind)
{
    int guard = 0;

    while (p != NULL && p->kind != kind && guard++ < 16)
        p = p->parent >= 0 ? &lk->p[p->parent] : NULL;
    return p != NULL && p->kind == kind ? p : NULL;
}

static int cmp_place_name(const void *a, const void *b, void *ud)
{
    const struct grp_place *pa = *(const struct grp_place *const *)a;
    const struct grp_place *pb = *(const struct grp_place *const *)b;
    enum grp_lang lang = *(const enum grp_lang *)ud;
    int c = strcmp(grp_place_name(pa, lang), grp_place_name(pb, lang));

    return c != 0 ? c : strcmp(pa->code, pb->code);
}

size_t grp_lookup_menu(const struct grp_lookup *lk, const char *code, enum grp_lang lang,
                       const struct grp_place ***out)
{
    const struct grp_place **v = NULL;
    size_t n = 0;
    size_t cap = 0;
    const struct grp_place *u;

    *out = NULL;
    if (lk == NULL)
        return 0;
    if (code == NULL || code[0] == '\0') {
        for (size_t i = 0; i < lk->n; i++) {
            if (lk->p[i].kind != GRP_DISTRICT)
                continue;
            if (n == cap) {
                cap = cap != 0 ? 2 * cap : 64;
                v = core_realloc(v, cap * sizeof *v);
            }
            v[n++] = &lk->p[i];
        }
    } else if ((u = grp_lookup_find(lk, code)) != NULL && u->kind != GRP_LOCALITY) {
        /* a state lists its districts, a district its thanas; a thana the
         * localities of its beats, a beat its localities */
        enum grp_kind want = u->kind == GRP_STATE      ? GRP_DISTRICT
                             : u->kind == GRP_DISTRICT ? GRP_THANA
                                                       : GRP_LOCALITY;
        int32_t stack[64];
        int sp = 0;

        stack[sp++] = (int32_t)(u - lk->p);
        while (sp > 0) {
            int32_t x = stack[--sp];

            for (int32_t k = lk->child_start[x]; k < lk->child_start[x + 1]; k++) {
                const struct grp_place *c = &lk->p[lk->child[k]];

                if (c->kind == want) {
                    if (n == cap) {
                        cap = cap != 0 ? 2 * cap : 64;
                        v = core_realloc(v, cap * sizeof *v);
                    }
                    v[n++] = c;
                } else if (want == GRP_LOCALITY && c->kind == GRP_BEAT && sp < 64) {
                    stack[sp++] = lk->child[k];
                }
            }
        }
    }
    if (n > 1)
        qsort_r(v, n, sizeof *v, cmp_place_name, &lang);
    *out = v;
    return n;
}

/* ======================= search ======================= */

/* Cheap skeleton substitutions: sounds Hindi spellings swap. */
static int cheap_pair(unsigned char a, unsigned char b)
{
    static const char pairs[][2] = {{'d', 'r'}, {'b', 'v'}, {'n', 'm'}};

    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if ((a == pairs[i][0] && b == pairs[i][1]) || (a == pairs[i][1] && b == pairs[i][0]))
            return 1;
    }
    return 0;
}

/* Adding or removing a letter; an 'h' is half a change (Hinglish spellers
 * drop and add aspiration freely: chapra, chhapra; the skeleton keeps it
 * after vowels: piprahi). */
static int indel(char c, int skel)
{
    (void)skel;
    return c == 'h' ? 1 : 2;
}

static int min3(int a, int b, int c)
{
    int m = a < b ? a : b;

    return m < c ? m : c;
}

/*
 * Optimal-string-alignment distance in half changes (a change costs 2, a
 * cheap skeleton substitution 1), or bound + 1 once it must exceed `bound`.
 */
static int distance(const char *a, size_t la, const char *b, size_t lb, int skel, int bound)
{
    enum { INF = 1 << 20 };
    int rows[3][SPAN_MAX + 2];
    int *pp = rows[0];
    int *prev = rows[1];
    int *cur = rows[2];
    /* a path leaving the diagonal band |i - j| <= w costs more than bound */
    size_t w = (size_t)bound; /* an 'h' costs 1 */
    size_t i;
    size_t j;

    if (la > SPAN_MAX)
        la = SPAN_MAX;
    if (lb > SPAN_MAX)
        lb = SPAN_MAX;
    if ((la > lb ? la - lb : lb - la) > w)
        return bound + 1;
    for (j = 0; j <= lb + 1; j++)
        pp[j] = prev[j] = cur[j] = INF;
    prev[0] = 0;
    for (j = 1; j <= lb && j <= w; j++)
        prev[j] = prev[j - 1] + indel(b[j - 1], skel);
    for (i = 1; i <= la; i++) {
        size_t lo = i > w ? i - w : 1;
        size_t hi = i + w < lb ? i + w : lb;
        int row_min;
        int *t;

        cur[0] = i <= w ? prev[0] + indel(a[i - 1], skel) : INF;
        if (lo > 1)
            cur[lo - 1] = INF;
        row_min = cur[0];
        for (j = lo; j <= hi; j++) {
            unsigned char ca = (unsigned char)a[i - 1];
            unsigned char cb = (unsigned char)b[j - 1];
            int sub = ca == cb ? 0 : (skel && cheap_pair(ca, cb) ? 1 : 2);
            int v = min3(prev[j] + indel(a[i - 1], skel), cur[j - 1] + indel(b[j - 1], skel),
                         prev[j - 1] + sub);

            if (i > 1 && j > 1 && ca == (unsigned char)b[j - 2] && (unsigned char)a[i - 2] == cb &&
                pp[j - 2] + 2 < v)
                v = pp[j - 2] + 2;
            cur[j] = v;
            if (v < row_min)
                row_min = v;
        }
        if (hi < lb)
            cur[hi + 1] = INF;
        if (row_min > bound)
            return bound + 1;
        t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb] > bound ? bound + 1 : prev[lb];
}

/* Allowed distance (half changes) for a key of `n` bytes without spaces. */
static int bound_letters(size_t n)
{
    return n <= 3 ? 0 : n <= 5 ? 2 : n <= 10 ? 4 : 6;
}

static int bound_skel(size_t n)
{
    return n <= 2 ? 0 : n <= 4 ? 1 : n <= 7 ? 2 : 3;
}

/* A key split into words (offsets into the key). */
struct words {
    size_t n;
    size_t start[24];
    size_t end[24];
};

static void split_words(const char *k, struct words *w)
{
    size_t i = 0;

    w->n = 0;
    if (k == NULL)
        return;
    while (k[i] != '\0' && w->n < 24) {
        w->start[w->n] = i;
        while (k[i] != '\0' && k[i] != ' ')
            i++;
        w->end[w->n++] = i;
        if (k[i] == ' ')
            i++;
    }
}

/* Words [a, b) of `k` without spaces into `out` (SPAN_MAX + 1). */
static size_t span(const char *k, const struct words *w, size_t a, size_t b, char *out)
{
    size_t n = 0;

    for (size_t x = a; x < b; x++) {
        for (size_t i = w->start[x]; i < w->end[x] && n < SPAN_MAX; i++)
            out[n++] = k[i];
    }
    out[n] = '\0';
    return n;
}

struct query {
    char key[N_KEYS][SPAN_MAX + 1]; /* without spaces */
    size_t len[N_KEYS];
    size_t words[N_KEYS];
    int bound[N_KEYS];
    uint32_t mask[N_KEYS];
    int first_letter; /* only spans starting with the query's first letter */
};

/*
 * Best (lowest) rank of name key `k` against query key `qi`: every span of
 * words of about the query's word count; the whole name scores best, then
 * spans at its start, then spans inside. -1 when nothing is close enough.
 */
static int match_key(const struct query *q, int qi, const char *k, uint32_t mask, int skel)
{
    struct words w;
    char buf[SPAN_MAX + 1];
    int best = -1;
    size_t lo;
    size_t hi;
    /* half changes per missing letter: an edit (2), or a cheap skeleton one (1) */
    int missing = __builtin_popcount(q->mask[qi] & ~mask) * (skel ? 1 : 2);

    if (k == NULL || q->len[qi] == 0 || missing > q->bound[qi])
        return -1;
    split_words(k, &w);
    lo = q->words[qi] > 1 ? q->words[qi] - 1 : 1;
    hi = q->words[qi] + 1;
    for (size_t a = 0; a < w.n; a++) {
        size_t n = 0;

        /* letters of words [a, a + lo - 1) */
        for (size_t x = a; x + 1 < a + lo && x < w.n; x++)
            n += w.end[x] - w.start[x];
        for (size_t cnt = lo; cnt <= hi && a + cnt <= w.n; cnt++) {
            int tier = (a == 0 && cnt == w.n) ? 0 : (a == 0 ? 1 : 2);
            int d;
            int rank;

            size_t m;

            n += w.end[a + cnt - 1] - w.start[a + cnt - 1];
            /* long names and queries are compared on their first SPAN_MAX
             * letters; a length the query cannot reach within its bound
             * needs no copy and no DP (an 'h' costs 1, other letters 2) */
            m = n > SPAN_MAX ? SPAN_MAX : n;
            if ((m > q->len[qi] ? m - q->len[qi] : q->len[qi] - m) > (size_t)q->bound[qi])
                continue;
            /* a short skeleton says little: whole names and first words only */
            if (skel && q->len[qi] < 3 && tier == 2)
                continue;
            if (best >= 0 && tier * 3 >= best)
                continue; /* cannot beat what this name already scored */
            if (q->first_letter && k[w.start[a]] != q->key[qi][0] &&
                !(skel && cheap_pair((unsigned char)k[w.start[a]], (unsigned char)q->key[qi][0])))
                continue;
            span(k, &w, a, a + cnt, buf);
            d = distance(q->key[qi], q->len[qi], buf, m, skel, q->bound[qi]);
            if (d > q->bound[qi])
                continue;
            /* the skeleton is lossy: the same distance in letters ranks higher */
            rank = tier * 3 + d + (skel ? 1 : 0);
            if (best < 0 || rank < best)
                best = rank;
        }
    }
    return best;
}

static int better(const struct grp_match *a, const struct grp_match *b)
{
    const struct grp_place *pa = a->place;
    const struct grp_place *pb = b->place;
    int c;

    if (a->rank != b->rank)
        return a->rank < b->rank;
    if (pa->type_rank != pb->type_rank)
        return pa->type_rank < pb->type_rank;
    if (pa->population != pb->population)
        return pa->population > pb->population;
    c = strcmp(pa->name_en, pb->name_en);
    if (c != 0)
        return c < 0;
    return strcmp(pa->code, pb->code) < 0;
}

static void consider(const struct query *q, const struct grp_place *p, struct grp_match *out,
                     size_t max, size_t *n)
{
    /* same script by letters; across scripts by skeleton */
    static const int pairs[N_KEYS][3] = {
        {K_LAT, K_LAT, 0},
        {K_DEV, K_DEV, 0},
        {K_SKEL_DEV, K_SKEL_LAT, 1}, /* a Devanagari query, a Latin name */
        {K_SKEL_LAT, K_SKEL_DEV, 1}, /* a Latin query, a Devanagari name */
    };
    int best = -1;
    struct grp_match m;
    size_t i;

    for (int x = 0; x < N_KEYS; x++) {
        int r = match_key(q, pairs[x][0], p->key[pairs[x][1]], p->mask[pairs[x][1]], pairs[x][2]);

        if (r >= 0 && (best < 0 || r < best))
            best = r;
    }
    if (best < 0)
        return;
    m.place = p;
    m.rank = best;
    if (*n == max && !better(&m, &out[max - 1]))
        return;
    /* insertion into the sorted top list */
    i = *n < max ? (*n)++ : max - 1;
    while (i > 0 && better(&m, &out[i - 1])) {
        out[i] = out[i - 1];
        i--;
    }
    out[i] = m;
}

static size_t count_words(const char *k)
{
    size_t n = k[0] != '\0';

    for (; *k != '\0'; k++)
        n += *k == ' ';
    return n;
}

static size_t squeeze(const char *k, char *out)
{
    size_t n = 0;

    for (; *k != '\0' && n < SPAN_MAX; k++) {
        if (*k != ' ')
            out[n++] = *k;
    }
    out[n] = '\0';
    return n;
}

size_t grp_lookup_search(const struct grp_lookup *lk, const char *query, size_t len,
                         const char *const *only, size_t n_only, struct grp_match *out, size_t max)
{
    struct mod_norm norm;
    struct keyset ks;
    struct query q;
    size_t n = 0;

    if (lk == NULL || query == NULL || max == 0)
        return 0;
    if (len > GRP_LOOKUP_QUERY_MAX)
        len = GRP_LOOKUP_QUERY_MAX;
    mod_norm_init(&norm);
    mod_norm_run(&norm, query, len);
    keys_of(norm.key, norm.len, 1, &ks);
    mod_norm_cleanup(&norm);
    for (int x = 0; x < N_KEYS; x++) {
        q.words[x] = count_words(ks.k[x]);
        q.len[x] = squeeze(ks.k[x], q.key[x]);
        q.bound[x] = x == K_LAT || x == K_DEV ? bound_letters(q.len[x]) : bound_skel(q.len[x]);
        q.mask[x] = key_mask(q.key[x]);
    }
    /* a query needs two letters at least */
    if (q.len[K_LAT] + q.len[K_DEV] < 2)
        return 0;
    /*
     * Two passes: people rarely get the first letter of their village
     * wrong, and requiring it skips most comparisons; when that finds few
     * names, everything is compared.
     */
    for (q.first_letter = 1; q.first_letter >= 0; q.first_letter--) {
        n = 0;
        if (only != NULL) {
            for (size_t i = 0; i < n_only; i++) {
                const struct grp_place *p = grp_lookup_find(lk, only[i]);

                if (p != NULL && p->kind == GRP_LOCALITY)
                    consider(&q, p, out, max, &n);
            }
        } else {
            for (size_t i = 0; i < lk->n; i++) {
                if (lk->p[i].kind == GRP_LOCALITY)
                    consider(&q, &lk->p[i], out, max, &n);
            }
        }
        if (n > 0 && out[0].rank <= GOOD_RANK && (n >= ENOUGH || n >= max))
            break;
    }
    return n;
}

/* ======================= loading from Redis ======================= */

static const char *str_el(const redisReply *r, size_t i)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || i >= r->elements ||
        r->element[i]->type != REDIS_REPLY_STRING)
        return NULL;
    return r->element[i]->str;
}

static int load_kind(struct core_redis *r, struct grp_lookup *lk, enum grp_kind kind,
                     struct core_err *err)
{
    redisReply *codes;
    size_t done = 0;

    if (core_redis_cmdf(r, &codes, err, "SMEMBERS js:kind:%s", grp_kind_name(kind)) != 0)
        return -1;
    while (codes->type == REDIS_REPLY_ARRAY && done < codes->elements) {
        size_t batch = codes->elements - done < LOAD_BATCH ? codes->elements - done : LOAD_BATCH;

        for (size_t i = 0; i < batch; i++) {
            char key[GRP_CODE_MAX + 16];

            snprintf(key, sizeof key, "js:u:{%s}", codes->element[done + i]->str);
            if (core_redis_appendf(r, err, "HMGET %s p en hi pin t pop", key) != 0) {
                freeReplyObject(codes);
                return -1;
            }
        }
        for (size_t i = 0; i < batch; i++) {
            redisReply *h;
            const char *pop;
            int64_t pv = -1;

            if (core_redis_get_reply(r, &h, err) != 0) {
                freeReplyObject(codes);
                return -1;
            }
            pop = str_el(h, 5);
            if (pop == NULL || core_parse_i64(pop, &pv) != 0)
                pv = -1;
            grp_lookup_add(lk, codes->element[done + i]->str, kind, str_el(h, 0), str_el(h, 1),
                           str_el(h, 2), str_el(h, 3), str_el(h, 4), (long)pv);
            freeReplyObject(h);
        }
        done += batch;
    }
    freeReplyObject(codes);
    return 0;
}

struct grp_lookup *grp_lookup_load(struct core_redis *r, long long *version, struct core_err *err)
{
    struct grp_lookup *lk;
    redisReply *rep;
    int k;

    if (core_redis_cmdf(r, &rep, err, "GET js:hier:ver") != 0)
        return NULL;
    *version = rep->type == REDIS_REPLY_STRING ? core_redis_int(rep) : 0;
    freeReplyObject(rep);
    lk = grp_lookup_new();
    for (k = 0; k < GRP_KIND_COUNT; k++) {
        if (load_kind(r, lk, (enum grp_kind)k, err) != 0) {
            grp_lookup_free(lk);
            return NULL;
        }
    }
    grp_lookup_finish(lk);
    lk->version = *version;
    return lk;
}

/* ======================= the cache ======================= */

struct grp_lookup_cache {
    pthread_mutex_t mu;       /* cur, next_check */
    pthread_mutex_t build_mu; /* one build at a time */
    struct grp_lookup *cur;
    int64_t next_check;
    int check_ms;
};

struct grp_lookup_cache *grp_lookup_cache_new(int check_ms)
{
    struct grp_lookup_cache *c = core_calloc(1, sizeof *c);

    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->build_mu, NULL);
    c->check_ms = check_ms >= 0 ? check_ms : 0;
    return c;
}

void grp_lookup_cache_free(struct grp_lookup_cache *c)
{
    if (c == NULL)
        return;
    grp_lookup_release(c->cur);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->build_mu);
    free(c);
}

void grp_lookup_release(const struct grp_lookup *lk)
{
    struct grp_lookup *m = (struct grp_lookup *)(uintptr_t)lk;

    if (m != NULL && atomic_fetch_sub(&m->refs, 1) == 1)
        grp_lookup_free(m);
}

static struct grp_lookup *take(struct grp_lookup *lk)
{
    if (lk != NULL)
        atomic_fetch_add(&lk->refs, 1);
    return lk;
}

const struct grp_lookup *grp_lookup_cache_get(struct grp_lookup_cache *c, struct core_redis *r,
                                              struct core_err *err)
{
    struct grp_lookup *lk;
    struct grp_lookup *old;
    redisReply *rep;
    long long ver;
    int64_t now = core_mono_ms();
    int64_t t0;

    pthread_mutex_lock(&c->mu);
    if (c->cur != NULL && now < c->next_check) {
        lk = take(c->cur);
        pthread_mutex_unlock(&c->mu);
        return lk;
    }
    c->next_check = now + c->check_ms;
    pthread_mutex_unlock(&c->mu);

    if (core_redis_cmdf(r, &rep, err, "GET js:hier:ver") != 0) {
        pthread_mutex_lock(&c->mu);
        lk = take(c->cur);
        pthread_mutex_unlock(&c->mu);
        return lk;
    }
    ver = rep->type == REDIS_REPLY_STRING ? core_redis_int(rep) : 0;
    freeReplyObject(rep);
    pthread_mutex_lock(&c->mu);
    if (c->cur != NULL && c->cur->version == ver) {
        lk = take(c->cur);
        pthread_mutex_unlock(&c->mu);
        return lk;
    }
    pthread_mutex_unlock(&c->mu);
    /* one thread builds; the others wait for it rather than answer from an
     * index that misses what was just imported */
    pthread_mutex_lock(&c->build_mu);
    pthread_mutex_lock(&c->mu);
    if (c->cur != NULL && c->cur->version == ver) {
        lk = take(c->cur);
        pthread_mutex_unlock(&c->mu);
        pthread_mutex_unlock(&c->build_mu);
        return lk;
    }
    pthread_mutex_unlock(&c->mu);
    t0 = core_mono_ms();
    lk = grp_lookup_load(r, &ver, err);
    if (lk == NULL) {
        pthread_mutex_unlock(&c->build_mu);
        pthread_mutex_lock(&c->mu);
        lk = take(c->cur);
        pthread_mutex_unlock(&c->mu);
        return lk;
    }
    core_log_info("groups", NULL, "hierarchy index built: %zu units, version %lld, %lld ms", lk->n,
                  ver, (long long)(core_mono_ms() - t0));
    take(lk); /* the cache's reference */
    pthread_mutex_lock(&c->mu);
    old = c->cur;
    c->cur = lk;
    take(lk); /* the caller's */
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_unlock(&c->build_mu);
    grp_lookup_release(old);
    return lk;
}
