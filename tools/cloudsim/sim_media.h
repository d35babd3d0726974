/*
 * tools/cloudsim/sim_media.h - media held in memory: uploads
 * (POST /{version}/{phone_number_id}/media), test injections
 * (POST /_sim/media) and the images etc. of inbound messages. Each item has
 * a numeric id like Meta's, a MIME type, its SHA-256 and its bytes. The
 * store has a byte budget; the oldest items are evicted beyond it.
 * Thread-safe; lookups copy what they return.
 */
#ifndef JANSEVA_SIM_MEDIA_H
#define JANSEVA_SIM_MEDIA_H

#include "core/err.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_MEDIA_ID_LEN 24
#define SIM_MIME_LEN 128
#define SIM_SHA256_HEX_LEN 65

struct sim_media;

/* What GET /{version}/{media_id} reports. */
struct sim_media_info {
    char id[SIM_MEDIA_ID_LEN];
    char mime[SIM_MIME_LEN];
    char sha256[SIM_SHA256_HEX_LEN];
    size_t size;
};

/* A store holding at most `max_bytes` of media. Never fails. */
struct sim_media *sim_media_new(size_t max_bytes);

/* NULL is a no-op. */
void sim_media_free(struct sim_media *m);

/*
 * The largest file Meta accepts for `mime` (image 5 MB, video and audio
 * 16 MB, sticker 500 KB, documents 100 MB), or 0 if the type is not one
 * WhatsApp supports.
 */
size_t sim_media_limit(const char *mime);

/*
 * A static string for `mime` (responses need one): the canonical spelling
 * of a supported type, else "application/octet-stream".
 */
const char *sim_media_static_mime(const char *mime);

/*
 * Store a copy of `len` bytes under a fresh id (`seq` makes it unique).
 * Returns 0 with *info filled, or -1 with err (CORE_EX_DATAERR) when the
 * item alone exceeds the budget.
 */
int sim_media_put(struct sim_media *m, uint64_t seq, const void *data, size_t len, const char *mime,
                  struct sim_media_info *info, struct core_err *err);

/* Look up `id`: 0 with *info, or -1. */
int sim_media_info(struct sim_media *m, const char *id, struct sim_media_info *info);

/* A copy of the bytes of `id` (caller frees *data) and its info: 0, or -1. */
int sim_media_read(struct sim_media *m, const char *id, unsigned char **data, size_t *len,
                   struct sim_media_info *info);

/* Delete `id`: 0, or -1 if unknown. */
int sim_media_delete(struct sim_media *m, const char *id);

/* {"items":N,"bytes":N,"max_bytes":N,"evicted":N} (new reference). */
json_t *sim_media_stats(struct sim_media *m);

#endif
