/*
 * tools/cloudsim/sim_media.c - in-memory media store (see sim_media.h).
 */
#include "tools/cloudsim/sim_media.h"

#include "core/mem.h"
#include "core/util.h"
#include "tools/cloudsim/sim_map.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SIM_MB (1024 * 1024)

struct item {
    struct sim_media_info info;
    unsigned char *data;
    struct item *older, *newer; /* eviction order */
};

struct sim_media {
    pthread_mutex_t lock;
    struct sim_map *map; /* id -> struct item */
    struct item *oldest, *newest;
    size_t bytes;
    size_t max_bytes;
    uint64_t evicted;
};

static const struct {
    const char *prefix; /* MIME type or prefix */
    size_t limit;
} limits[] = {
    {"image/webp", 500 * 1024}, /* stickers */
    {"image/jpeg", 5 * SIM_MB},           {"image/png", 5 * SIM_MB},
    {"video/mp4", 16 * SIM_MB},           {"video/3gpp", 16 * SIM_MB},
    {"audio/aac", 16 * SIM_MB},           {"audio/amr", 16 * SIM_MB},
    {"audio/mpeg", 16 * SIM_MB},          {"audio/mp4", 16 * SIM_MB},
    {"audio/ogg", 16 * SIM_MB},           {"text/plain", 100 * SIM_MB},
    {"application/pdf", 100 * SIM_MB},    {"application/vnd.", 100 * SIM_MB},
    {"application/msword", 100 * SIM_MB},
};

size_t sim_media_limit(const char *mime)
{
    size_t i;

    if (mime == NULL)
        return 0;
    for (i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        if (strncasecmp(mime, limits[i].prefix, strlen(limits[i].prefix)) == 0)
            return limits[i].limit;
    }
    return 0;
}

const char *sim_media_static_mime(const char *mime)
{
    static const char *const known[] = {
        "image/jpeg",
        "image/png",
        "image/webp",
        "video/mp4",
        "video/3gpp",
        "audio/aac",
        "audio/amr",
        "audio/mpeg",
        "audio/mp4",
        "audio/ogg",
        "audio/ogg; codecs=opus",
        "text/plain",
        "application/pdf",
        "application/msword",
    };
    size_t i;

    for (i = 0; mime != NULL && i < sizeof known / sizeof known[0]; i++) {
        if (strcasecmp(mime, known[i]) == 0)
            return known[i];
    }
    return "application/octet-stream";
}

struct sim_media *sim_media_new(size_t max_bytes)
{
    struct sim_media *m = core_calloc(1, sizeof *m);

    pthread_mutex_init(&m->lock, NULL);
    m->map = sim_map_new();
    m->max_bytes = max_bytes;
    return m;
}

static void free_item(void *p)
{
    struct item *it = p;

    if (it == NULL)
        return;
    free(it->data);
    free(it);
}

void sim_media_free(struct sim_media *m)
{
    if (m == NULL)
        return;
    sim_map_free(m->map, free_item);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* Unlink from the eviction list (locked). */
static void unlink_item(struct sim_media *m, struct item *it)
{
    if (it->older != NULL)
        it->older->newer = it->newer;
    else
        m->oldest = it->newer;
    if (it->newer != NULL)
        it->newer->older = it->older;
    else
        m->newest = it->older;
    m->bytes -= it->info.size;
}

int sim_media_put(struct sim_media *m, uint64_t seq, const void *data, size_t len, const char *mime,
                  struct sim_media_info *info, struct core_err *err)
{
    struct item *it;
    unsigned char hash[crypto_hash_sha256_BYTES];

    if (len > m->max_bytes)
        return core_err_set(err, CORE_EX_DATAERR, "media: %zu bytes exceed the store's %zu", len,
                            m->max_bytes);
    it = core_calloc(1, sizeof *it);
    /* 16 digits like Meta's media ids; the sequence keeps them unique */
    snprintf(it->info.id, sizeof it->info.id, "%llu",
             (unsigned long long)(1000000000000000ULL + seq));
    snprintf(it->info.mime, sizeof it->info.mime, "%s", mime);
    crypto_hash_sha256(hash, data, len);
    core_hex(it->info.sha256, hash, sizeof hash);
    it->info.size = len;
    it->data = core_memdup(data, len);
    pthread_mutex_lock(&m->lock);
    while (m->oldest != NULL && m->bytes + len > m->max_bytes) {
        struct item *old = m->oldest;

        unlink_item(m, old);
        sim_map_del(m->map, old->info.id);
        free_item(old);
        m->evicted++;
    }
    it->older = m->newest;
    if (m->newest != NULL)
        m->newest->newer = it;
    else
        m->oldest = it;
    m->newest = it;
    m->bytes += len;
    free_item(sim_map_put(m->map, it->info.id, it));
    pthread_mutex_unlock(&m->lock);
    *info = it->info;
    return 0;
}

int sim_media_info(struct sim_media *m, const char *id, struct sim_media_info *info)
{
    struct item *it;

    pthread_mutex_lock(&m->lock);
    it = sim_map_get(m->map, id);
    if (it != NULL)
        *info = it->info;
    pthread_mutex_unlock(&m->lock);
    return it != NULL ? 0 : -1;
}

int sim_media_read(struct sim_media *m, const char *id, unsigned char **data, size_t *len,
                   struct sim_media_info *info)
{
    struct item *it;

    pthread_mutex_lock(&m->lock);
    it = sim_map_get(m->map, id);
    if (it != NULL) {
        *info = it->info;
        *data = core_memdup(it->data, it->info.size);
        *len = it->info.size;
    }
    pthread_mutex_unlock(&m->lock);
    return it != NULL ? 0 : -1;
}

int sim_media_delete(struct sim_media *m, const char *id)
{
    struct item *it;
    int rc = -1;

    pthread_mutex_lock(&m->lock);
    it = sim_map_del(m->map, id);
    if (it != NULL) {
        unlink_item(m, it);
        rc = 0;
    }
    pthread_mutex_unlock(&m->lock);
    free_item(it);
    return rc;
}

json_t *sim_media_stats(struct sim_media *m)
{
    json_t *o;

    pthread_mutex_lock(&m->lock);
    o = json_pack("{s:I,s:I,s:I,s:I}", "items", (json_int_t)sim_map_len(m->map), "bytes",
                  (json_int_t)m->bytes, "max_bytes", (json_int_t)m->max_bytes, "evicted",
                  (json_int_t)m->evicted);
    pthread_mutex_unlock(&m->lock);
    return o;
}
