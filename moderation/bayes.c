/*
 * moderation/bayes.c - multi-class naive Bayes (see bayes.h).
 */
#include "moderation/bayes.h"
#include "core/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define INITIAL_BITS 12
#define PREFETCH_AHEAD 24
#define PREFETCH_RING 32 /* home slots remembered, > PREFETCH_AHEAD, a power of two */
#define HUGE_PAGE ((size_t)2 << 20) /* tables this large go on transparent huge pages */

_Static_assert(PREFETCH_RING > PREFETCH_AHEAD && (PREFETCH_RING & (PREFETCH_RING - 1)) == 0,
               "the ring holds every home slot prefetched and not yet read");
_Static_assert(MOD_NLABELS >= 4 && MOD_NLABELS <= 8, "two 4-lane vectors cover the classes");

static size_t slot_of(uint32_t key, size_t mask)
{
    return (size_t)((key * 0x9E3779B1u) ^ (key >> 15)) & mask;
}

/*
 * The zeroed slot table (free(3) it). A table of a few MiB is read at
 * random, one slot per feature: on 4 KiB pages nearly every look-up is also
 * a TLB miss, so a large table is aligned to and advised onto 2 MiB pages
 * (where the kernel allows transparent huge pages; otherwise nothing
 * changes).
 */
static struct mod_bayes_slot *slots_alloc(size_t cap)
{
    size_t bytes = cap * sizeof(struct mod_bayes_slot);
    void *p = NULL;

    if (bytes < HUGE_PAGE || posix_memalign(&p, HUGE_PAGE, bytes) != 0)
        return core_calloc(cap, sizeof(struct mod_bayes_slot));
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: failure changes nothing */
#endif
    memset(p, 0, bytes);
    return p;
}

static void alloc_table(struct mod_bayes *b, size_t cap)
{
    b->mask = cap - 1;
    b->tab = slots_alloc(cap);
    b->cnt = core_calloc(cap, sizeof b->cnt[0]);
}

void mod_bayes_init(struct mod_bayes *b, double alpha)
{
    memset(b, 0, sizeof *b);
    b->alpha = alpha > 0 ? alpha : MOD_BAYES_ALPHA;
    b->log_alpha = log(b->alpha);
    alloc_table(b, (size_t)1 << INITIAL_BITS);
}

void mod_bayes_cleanup(struct mod_bayes *b)
{
    free(b->tab);
    free(b->cnt);
    memset(b, 0, sizeof *b);
}

static void grow(struct mod_bayes *b)
{
    size_t old_cap = b->mask + 1;
    struct mod_bayes_slot *old = b->tab;
    uint32_t(*old_cnt)[MOD_NLABELS] = b->cnt;
    size_t i;

    alloc_table(b, old_cap * 2);
    for (i = 0; i < old_cap; i++) {
        size_t s;

        if (old[i].key == 0)
            continue;
        s = slot_of(old[i].key, b->mask);
        while (b->tab[s].key != 0)
            s = (s + 1) & b->mask;
        b->tab[s] = old[i];
        memcpy(b->cnt[s], old_cnt[i], sizeof b->cnt[s]);
    }
    free(old);
    free(old_cnt);
}

void mod_bayes_reserve(struct mod_bayes *b, size_t n)
{
    size_t cap = b->mask + 1;

    while (n * 2 > cap)
        cap *= 2;
    if (cap == b->mask + 1)
        return;
    if (b->used == 0) {
        free(b->tab);
        free(b->cnt);
        alloc_table(b, cap);
        return;
    }
    while (b->mask + 1 < cap)
        grow(b);
}

/* Slot index of `key`, or SIZE_MAX when absent. */
static size_t find_slot(const struct mod_bayes *b, uint32_t key)
{
    size_t s = slot_of(key, b->mask);

    while (b->tab[s].key != 0) {
        if (b->tab[s].key == key)
            return s;
        s = (s + 1) & b->mask;
    }
    return SIZE_MAX;
}

/* The slot for `key`, created (zero counts) if absent. */
static size_t upsert(struct mod_bayes *b, uint32_t key)
{
    size_t s;
    unsigned c;

    if ((b->used + 1) * 2 > b->mask + 1)
        grow(b);
    s = slot_of(key, b->mask);
    while (b->tab[s].key != 0) {
        if (b->tab[s].key == key)
            return s;
        s = (s + 1) & b->mask;
    }
    b->tab[s].key = key;
    for (c = 0; c < MOD_NLABELS; c++) {
        b->cnt[s][c] = 0;
        b->tab[s].lg[c] = (float)b->log_alpha;
    }
    b->used++;
    return s;
}

int mod_bayes_counts(const struct mod_bayes *b, uint32_t key, uint32_t n[MOD_NLABELS])
{
    size_t s = key == 0 ? SIZE_MAX : find_slot(b, key);

    if (s == SIZE_MAX)
        return 0;
    memcpy(n, b->cnt[s], sizeof b->cnt[s]);
    return 1;
}

int mod_bayes_slot_at(const struct mod_bayes *b, size_t i, uint32_t *key,
                      uint32_t n[MOD_NLABELS])
{
    if (i > b->mask || b->tab[i].key == 0)
        return 0;
    *key = b->tab[i].key;
    memcpy(n, b->cnt[i], sizeof b->cnt[i]);
    return 1;
}

void mod_bayes_put(struct mod_bayes *b, uint32_t key, const uint32_t n[MOD_NLABELS])
{
    size_t s = upsert(b, key);
    unsigned c;

    for (c = 0; c < MOD_NLABELS; c++) {
        b->cnt[s][c] = n[c];
        /* most counts are 0: log(0 + alpha) is log_alpha, the same float */
        b->tab[s].lg[c] = n[c] == 0 ? (float)b->log_alpha : (float)log((double)n[c] + b->alpha);
    }
}

void mod_bayes_learn(struct mod_bayes *b, const uint32_t *feats, size_t n, enum mod_label label,
                     int sign)
{
    size_t i;

    if ((unsigned)label >= MOD_NLABELS)
        return;
    if (sign > 0) {
        b->docs[label]++;
    } else if (b->docs[label] > 0) {
        b->docs[label]--;
    } else {
        return;
    }
    for (i = 0; i < n; i++) {
        size_t s;

        if (feats[i] == 0)
            continue;
        if (sign > 0) {
            s = upsert(b, feats[i]);
            if (b->cnt[s][label] == UINT32_MAX)
                continue;
            b->cnt[s][label]++;
            b->total[label]++;
        } else {
            s = find_slot(b, feats[i]);
            if (s == SIZE_MAX || b->cnt[s][label] == 0)
                continue;
            b->cnt[s][label]--;
            b->total[label]--;
        }
        b->tab[s].lg[label] = (float)log((double)b->cnt[s][label] + b->alpha);
    }
}

size_t mod_bayes_classify(const struct mod_bayes *b, const uint32_t *feats, size_t n,
                          double logp[MOD_NLABELS])
{
    /* classes 0-3 and 2-5 as two 4-lane vectors: each class still sums its
     * features in the same order, so the floats are those of a scalar loop */
    typedef float v4f __attribute__((vector_size(16)));
    v4f lo = {0, 0, 0, 0};
    v4f hi = {0, 0, 0, 0};
    float acc[MOD_NLABELS];
    uint64_t all_docs = 0;
    unsigned active = 0;
    size_t known = 0;
    double mx = -INFINITY;
    double sum = 0;
    size_t home[PREFETCH_RING]; /* home slots of the features being prefetched */
    unsigned c;
    size_t i;

    for (c = 0; c < MOD_NLABELS; c++) {
        all_docs += b->docs[c];
        active += b->docs[c] > 0;
    }
    if (active == 0) {
        for (c = 0; c < MOD_NLABELS; c++)
            logp[c] = -log((double)MOD_NLABELS);
        return 0;
    }
    /* the lookups are cache misses: ask for the slots of the features
     * PREFETCH_AHEAD look-ups ahead, so the memory system fetches them in
     * parallel and each arrives before it is needed */
    for (i = 0; i < n && i < PREFETCH_AHEAD; i++) {
        home[i] = slot_of(feats[i], b->mask);
        __builtin_prefetch(&b->tab[home[i]]);
    }
    for (i = 0; i < n; i++) {
        size_t s = home[i % PREFETCH_RING];

        if (i + PREFETCH_AHEAD < n) {
            size_t a = slot_of(feats[i + PREFETCH_AHEAD], b->mask);

            home[(i + PREFETCH_AHEAD) % PREFETCH_RING] = a;
            __builtin_prefetch(&b->tab[a]);
        }
        /* find_slot() from the home slot computed for the prefetch */
        while (b->tab[s].key != 0 && b->tab[s].key != feats[i])
            s = (s + 1) & b->mask;
        if (b->tab[s].key == 0)
            continue;
        known++;
        {
            v4f x;
            v4f y;

            memcpy(&x, &b->tab[s].lg[0], sizeof x);
            memcpy(&y, &b->tab[s].lg[MOD_NLABELS - 4], sizeof y);
            lo += x;
            hi += y;
        }
    }
    for (c = 0; c < MOD_NLABELS; c++)
        acc[c] = c < 4 ? lo[c] : hi[c - (MOD_NLABELS - 4)];
    for (c = 0; c < MOD_NLABELS; c++) {
        if (b->docs[c] == 0) {
            logp[c] = -INFINITY;
            continue;
        }
        logp[c] = log((double)b->docs[c] / (double)all_docs) + (double)acc[c] -
                  (double)known * log((double)b->total[c] + b->alpha * (double)b->used);
        if (logp[c] > mx)
            mx = logp[c];
    }
    for (c = 0; c < MOD_NLABELS; c++) {
        if (b->docs[c] > 0)
            sum += exp(logp[c] - mx);
    }
    for (c = 0; c < MOD_NLABELS; c++) {
        if (b->docs[c] > 0)
            logp[c] = logp[c] - mx - log(sum);
    }
    return known;
}

size_t mod_bayes_memory(const struct mod_bayes *b)
{
    return sizeof *b + (b->mask + 1) * (sizeof b->tab[0] + sizeof b->cnt[0]);
}
