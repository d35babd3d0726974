/*
 * tools/cloudsim/sim_map.c - string-keyed hash map (see sim_map.h).
 */
#include "tools/cloudsim/sim_map.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

#define SIM_MAP_MIN_BUCKETS 64

struct entry {
    struct entry *next;
    uint64_t hash;
    void *val;
    char key[]; /* NUL-terminated copy */
};

struct sim_map {
    struct entry **buckets;
    size_t n_buckets; /* a power of two */
    size_t len;
};

uint64_t sim_hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

struct sim_map *sim_map_new(void)
{
    struct sim_map *m = core_calloc(1, sizeof *m);

    m->n_buckets = SIM_MAP_MIN_BUCKETS;
    m->buckets = core_calloc(m->n_buckets, sizeof *m->buckets);
    return m;
}

void sim_map_free(struct sim_map *m, void (*free_val)(void *))
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->n_buckets; i++) {
        struct entry *e = m->buckets[i];

        while (e != NULL) {
            struct entry *next = e->next;

            if (free_val != NULL)
                free_val(e->val);
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    free(m);
}

static struct entry **find(const struct sim_map *m, const char *key, uint64_t h)
{
    struct entry **pp = &m->buckets[h & (m->n_buckets - 1)];

    while (*pp != NULL && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
        pp = &(*pp)->next;
    return pp;
}

void *sim_map_get(const struct sim_map *m, const char *key)
{
    struct entry **pp = find(m, key, sim_hash(key, strlen(key)));

    return *pp != NULL ? (*pp)->val : NULL;
}

static void grow(struct sim_map *m)
{
    size_t n = m->n_buckets * 2;
    struct entry **b = core_calloc(n, sizeof *b);
    size_t i;

    for (i = 0; i < m->n_buckets; i++) {
        struct entry *e = m->buckets[i];

        while (e != NULL) {
            struct entry *next = e->next;

            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->n_buckets = n;
}

void *sim_map_put(struct sim_map *m, const char *key, void *val)
{
    size_t klen = strlen(key);
    uint64_t h = sim_hash(key, klen);
    struct entry **pp = find(m, key, h);
    struct entry *e;

    if (*pp != NULL) {
        void *old = (*pp)->val;

        (*pp)->val = val;
        return old;
    }
    e = core_malloc(sizeof *e + klen + 1);
    e->next = NULL;
    e->hash = h;
    e->val = val;
    memcpy(e->key, key, klen + 1);
    *pp = e;
    m->len++;
    if (m->len > m->n_buckets)
        grow(m);
    return NULL;
}

void *sim_map_del(struct sim_map *m, const char *key)
{
    struct entry **pp = find(m, key, sim_hash(key, strlen(key)));
    struct entry *e = *pp;
    void *val;

    if (e == NULL)
        return NULL;
    *pp = e->next;
    val = e->val;
    free(e);
    m->len--;
    return val;
}

size_t sim_map_len(const struct sim_map *m)
{
    return m->len;
}

void sim_map_sweep(struct sim_map *m, int (*fn)(void *ud, const char *key, void *val), void *ud)
{
    size_t i;

    for (i = 0; i < m->n_buckets; i++) {
        struct entry **pp = &m->buckets[i];

        while (*pp != NULL) {
            struct entry *e = *pp;

            if (fn(ud, e->key, e->val)) {
                *pp = e->next;
                free(e);
                m->len--;
            } else {
                pp = &e->next;
            }
        }
    }
}
