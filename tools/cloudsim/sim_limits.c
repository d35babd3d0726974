/*
 * tools/cloudsim/sim_limits.c - throughput, pair rate, windows and inbound
 * ids (see sim_limits.h).
 */
#include "tools/cloudsim/sim_limits.h"

#include "core/mem.h"
#include "tools/cloudsim/sim_map.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_SHARDS 64
#define SIM_SWEEP_MIN 4096
#define SIM_INBOUND_IDS_MAX 100000
#define SIM_KEY_MAX 512

/* ---- numbers ---- */

struct number {
    pthread_mutex_t lock;
    double tokens;
    int64_t refilled_ms; /* sim clock of the last refill */
    int64_t sec;         /* monotonic second of `count` */
    long long count;     /* sends accepted in `sec` */
    long long last;      /* sends accepted in sec - 1 */
    long long peak;      /* most sends accepted in one complete second */
    long long accepted;
    long long throttled;
};

/* ---- recipients ---- */

struct recipient {
    int64_t last_send;    /* sim clock, SIM_NEVER */
    int64_t last_inbound; /* sim clock, SIM_NEVER */
};

struct shard {
    pthread_mutex_t lock;
    struct sim_map *map; /* "pnid\x1frecipient" -> struct recipient */
    size_t sweep_at;
};

struct sim_limits {
    pthread_rwlock_t numbers_lock;
    struct sim_map *numbers; /* pnid -> struct number */
    struct shard shards[SIM_SHARDS];
    pthread_mutex_t ids_lock;
    struct sim_map *ids; /* "pnid\x1fwamid" -> (void *)1 */
    char **id_ring;      /* keys in insertion order, for eviction */
    size_t id_head;
    size_t id_len;
};

static void free_number(void *p)
{
    struct number *n = p;

    if (n == NULL)
        return;
    pthread_mutex_destroy(&n->lock);
    free(n);
}

struct sim_limits *sim_limits_new(void)
{
    struct sim_limits *l = core_calloc(1, sizeof *l);
    size_t i;

    pthread_rwlock_init(&l->numbers_lock, NULL);
    l->numbers = sim_map_new();
    for (i = 0; i < SIM_SHARDS; i++) {
        pthread_mutex_init(&l->shards[i].lock, NULL);
        l->shards[i].map = sim_map_new();
        l->shards[i].sweep_at = SIM_SWEEP_MIN;
    }
    pthread_mutex_init(&l->ids_lock, NULL);
    l->ids = sim_map_new();
    l->id_ring = core_calloc(SIM_INBOUND_IDS_MAX, sizeof *l->id_ring);
    return l;
}

static void clear_ids(struct sim_limits *l)
{
    size_t i;

    for (i = 0; i < SIM_INBOUND_IDS_MAX; i++) {
        free(l->id_ring[i]);
        l->id_ring[i] = NULL;
    }
    l->id_head = 0;
    l->id_len = 0;
    sim_map_free(l->ids, NULL);
    l->ids = sim_map_new();
}

void sim_limits_free(struct sim_limits *l)
{
    size_t i;

    if (l == NULL)
        return;
    sim_map_free(l->numbers, free_number);
    pthread_rwlock_destroy(&l->numbers_lock);
    for (i = 0; i < SIM_SHARDS; i++) {
        sim_map_free(l->shards[i].map, free);
        pthread_mutex_destroy(&l->shards[i].lock);
    }
    clear_ids(l);
    sim_map_free(l->ids, NULL);
    free(l->id_ring);
    pthread_mutex_destroy(&l->ids_lock);
    free(l);
}

void sim_limits_reset(struct sim_limits *l)
{
    size_t i;

    pthread_rwlock_wrlock(&l->numbers_lock);
    sim_map_free(l->numbers, free_number);
    l->numbers = sim_map_new();
    pthread_rwlock_unlock(&l->numbers_lock);
    for (i = 0; i < SIM_SHARDS; i++) {
        pthread_mutex_lock(&l->shards[i].lock);
        sim_map_free(l->shards[i].map, free);
        l->shards[i].map = sim_map_new();
        l->shards[i].sweep_at = SIM_SWEEP_MIN;
        pthread_mutex_unlock(&l->shards[i].lock);
    }
    pthread_mutex_lock(&l->ids_lock);
    clear_ids(l);
    pthread_mutex_unlock(&l->ids_lock);
}

/*
 * The number's state, created with a full bucket on first use. Returns with
 * numbers_lock read-locked (a reset cannot free it meanwhile); the caller
 * unlocks.
 */
static struct number *get_number(struct sim_limits *l, const char *pnid, int64_t now,
                                 const struct sim_limit_params *p)
{
    struct number *n;

    pthread_rwlock_rdlock(&l->numbers_lock);
    n = sim_map_get(l->numbers, pnid);
    if (n != NULL)
        return n;
    pthread_rwlock_unlock(&l->numbers_lock);
    pthread_rwlock_wrlock(&l->numbers_lock);
    if (sim_map_get(l->numbers, pnid) == NULL) {
        n = core_calloc(1, sizeof *n);
        pthread_mutex_init(&n->lock, NULL);
        n->tokens = (double)p->burst;
        n->refilled_ms = now;
        sim_map_put(l->numbers, pnid, n);
    }
    pthread_rwlock_unlock(&l->numbers_lock);
    pthread_rwlock_rdlock(&l->numbers_lock);
    return sim_map_get(l->numbers, pnid); /* a reset in between recreates it below */
}

static void refill(struct number *n, int64_t now, const struct sim_limit_params *p)
{
    if (now > n->refilled_ms) {
        n->tokens += (double)(now - n->refilled_ms) * (double)p->mps / 1000.0;
        n->refilled_ms = now;
    } else if (now < n->refilled_ms) {
        n->refilled_ms = now; /* the clock was set back: no refill */
    }
    if (n->tokens > (double)p->burst)
        n->tokens = (double)p->burst;
}

/* Move the per-second counters of `n` to monotonic second `sec`. */
static void roll(struct number *n, int64_t sec)
{
    if (sec == n->sec)
        return;
    if (n->sec != 0 && n->count > n->peak)
        n->peak = n->count;
    n->last = sec == n->sec + 1 ? n->count : 0;
    n->sec = sec;
    n->count = 0;
}

static int make_key(char *out, size_t n, const char *a, const char *b)
{
    int k = snprintf(out, n, "%s\x1f%s", a, b);

    return k > 0 && (size_t)k < n ? 0 : -1;
}

static struct shard *shard_of(struct sim_limits *l, const char *key)
{
    return &l->shards[sim_hash(key, strlen(key)) % SIM_SHARDS];
}

struct sweep_ctx {
    int64_t now;
    const struct sim_limit_params *p;
};

/* Drop entries that no longer decide anything. */
static int stale(void *ud, const char *key, void *val)
{
    const struct sweep_ctx *c = ud;
    struct recipient *r = val;
    int send_done = r->last_send == SIM_NEVER || r->last_send + c->p->spacing_ms <= c->now;
    int window_done = c->p->window_ms == 0 || r->last_inbound == SIM_NEVER ||
                      r->last_inbound + c->p->window_ms <= c->now;

    (void)key;
    if (send_done && window_done) {
        free(r);
        return 1;
    }
    return 0;
}

/* Called with the shard locked, before an insertion. */
static void maybe_sweep(struct shard *sh, int64_t now, const struct sim_limit_params *p)
{
    struct sweep_ctx c = {now, p};
    size_t left;

    if (sim_map_len(sh->map) < sh->sweep_at)
        return;
    sim_map_sweep(sh->map, stale, &c);
    left = sim_map_len(sh->map);
    sh->sweep_at = left * 2 > SIM_SWEEP_MIN ? left * 2 : SIM_SWEEP_MIN;
}

static struct recipient *get_recipient(struct shard *sh, const char *key, int64_t now,
                                       const struct sim_limit_params *p, int create)
{
    struct recipient *r = sim_map_get(sh->map, key);

    if (r != NULL || !create)
        return r;
    maybe_sweep(sh, now, p);
    r = core_malloc(sizeof *r);
    r->last_send = SIM_NEVER;
    r->last_inbound = SIM_NEVER;
    sim_map_put(sh->map, key, r);
    return r;
}

int sim_limits_admit(struct sim_limits *l, const char *pnid, const char *recipient, int64_t now,
                     int64_t mono_ms, const struct sim_limit_params *p)
{
    struct number *n;
    char key[SIM_KEY_MAX];
    struct shard *sh = NULL;
    struct recipient *r = NULL;
    int rc = 0;

    if (make_key(key, sizeof key, pnid, recipient) != 0)
        return 131009;
    while ((n = get_number(l, pnid, now, p)) == NULL)
        pthread_rwlock_unlock(&l->numbers_lock);
    pthread_mutex_lock(&n->lock);
    refill(n, now, p);
    roll(n, mono_ms / 1000);
    if (n->tokens < 1.0) {
        rc = 130429;
    } else if (p->spacing_ms > 0) {
        sh = shard_of(l, key);
        pthread_mutex_lock(&sh->lock);
        r = get_recipient(sh, key, now, p, 0);
        if (r != NULL && r->last_send != SIM_NEVER && now - r->last_send < p->spacing_ms)
            rc = 131056;
    }
    if (rc == 0) {
        n->tokens -= 1.0;
        n->count++;
        n->accepted++;
        if (p->spacing_ms > 0) {
            r = get_recipient(sh, key, now, p, 1);
            r->last_send = now;
        }
    } else if (rc == 130429) {
        n->throttled++;
    }
    if (sh != NULL)
        pthread_mutex_unlock(&sh->lock);
    pthread_mutex_unlock(&n->lock);
    pthread_rwlock_unlock(&l->numbers_lock);
    return rc;
}

void sim_limits_set_inbound(struct sim_limits *l, const char *pnid, const char *recipient,
                            int64_t when, const struct sim_limit_params *p)
{
    char key[SIM_KEY_MAX];
    struct shard *sh;
    struct recipient *r;

    if (make_key(key, sizeof key, pnid, recipient) != 0)
        return;
    sh = shard_of(l, key);
    pthread_mutex_lock(&sh->lock);
    r = get_recipient(sh, key, when == SIM_NEVER ? 0 : when, p, when != SIM_NEVER);
    if (r != NULL)
        r->last_inbound = when;
    pthread_mutex_unlock(&sh->lock);
}

int64_t sim_limits_last_inbound(struct sim_limits *l, const char *pnid, const char *recipient)
{
    char key[SIM_KEY_MAX];
    struct shard *sh;
    struct recipient *r;
    int64_t when = SIM_NEVER;

    if (make_key(key, sizeof key, pnid, recipient) != 0)
        return SIM_NEVER;
    sh = shard_of(l, key);
    pthread_mutex_lock(&sh->lock);
    r = sim_map_get(sh->map, key);
    if (r != NULL)
        when = r->last_inbound;
    pthread_mutex_unlock(&sh->lock);
    return when;
}

void sim_limits_add_inbound_id(struct sim_limits *l, const char *pnid, const char *wamid)
{
    char key[SIM_KEY_MAX];
    size_t slot;

    if (make_key(key, sizeof key, pnid, wamid) != 0)
        return;
    pthread_mutex_lock(&l->ids_lock);
    if (sim_map_get(l->ids, key) == NULL) {
        slot = (l->id_head + l->id_len) % SIM_INBOUND_IDS_MAX;
        if (l->id_len == SIM_INBOUND_IDS_MAX) {
            sim_map_del(l->ids, l->id_ring[l->id_head]);
            free(l->id_ring[l->id_head]);
            l->id_ring[l->id_head] = NULL;
            l->id_head = (l->id_head + 1) % SIM_INBOUND_IDS_MAX;
            l->id_len--;
        }
        l->id_ring[slot] = core_strdup(key);
        l->id_len++;
        sim_map_put(l->ids, key, (void *)1);
    }
    pthread_mutex_unlock(&l->ids_lock);
}

int sim_limits_inbound_id_known(struct sim_limits *l, const char *pnid, const char *wamid)
{
    char key[SIM_KEY_MAX];
    int known;

    if (make_key(key, sizeof key, pnid, wamid) != 0)
        return 0;
    pthread_mutex_lock(&l->ids_lock);
    known = sim_map_get(l->ids, key) != NULL;
    pthread_mutex_unlock(&l->ids_lock);
    return known;
}

struct numbers_ctx {
    json_t *out;
    int64_t sec;
};

static int number_json(void *ud, const char *key, void *val)
{
    struct numbers_ctx *c = ud;
    struct number *n = val;
    long long mps;
    long long peak;

    pthread_mutex_lock(&n->lock);
    if (c->sec == n->sec)
        mps = n->last;
    else if (c->sec == n->sec + 1)
        mps = n->count;
    else
        mps = 0;
    peak = n->peak > mps ? n->peak : mps;
    json_object_set_new(c->out, key,
                        json_pack("{s:I,s:I,s:I,s:I,s:f}", "mps", (json_int_t)mps, "peak_mps",
                                  (json_int_t)peak, "accepted", (json_int_t)n->accepted,
                                  "throttled", (json_int_t)n->throttled, "tokens", n->tokens));
    pthread_mutex_unlock(&n->lock);
    return 0;
}

json_t *sim_limits_numbers_json(struct sim_limits *l, int64_t mono_ms)
{
    struct numbers_ctx c = {json_object(), mono_ms / 1000};

    pthread_rwlock_rdlock(&l->numbers_lock);
    sim_map_sweep(l->numbers, number_json, &c);
    pthread_rwlock_unlock(&l->numbers_lock);
    return c.out;
}

size_t sim_limits_recipients(struct sim_limits *l)
{
    size_t n = 0;
    size_t i;

    for (i = 0; i < SIM_SHARDS; i++) {
        pthread_mutex_lock(&l->shards[i].lock);
        n += sim_map_len(l->shards[i].map);
        pthread_mutex_unlock(&l->shards[i].lock);
    }
    return n;
}
