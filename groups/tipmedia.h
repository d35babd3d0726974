/*
 * groups/tipmedia.h - fetch the media of tips (photos, voice notes, videos,
 * documents) from the Graph API and store them sealed.
 *
 * grp_tip_add queues a job in the stream js:tip:mq (fields c = case id,
 * n = item number). A fetcher thread of `janseva serve` (router role)
 * reads it through the consumer group "tipmedia":
 *
 *   GET {graph_url}/{media id}          (Bearer access token) -> url, file_size
 *   GET url                              (Bearer access token) -> the bytes
 *
 * checks the size against tip_media_max_bytes (larger media are marked
 * "too_large": the item keeps its type and caption) and the sha256 when
 * Meta gives one in hex, then seals the bytes (vault purpose TIP, record =
 * case id, field "md:<n>") into js:tip:{CID}:md:<n> and marks the item
 * "stored". Transient failures (network, 5xx, 429, an expired URL) are
 * retried 4 times, 1 s doubling; then the item is "failed". A job is
 * acknowledged only when finished, so a crash re-reads it at the next
 * start; finished items are skipped, so a job done twice stores once.
 * Media bytes are wiped from memory after sealing. Logs name the case and
 * the item, never the media id or the URL.
 */
#ifndef JANSEVA_GROUPS_TIPMEDIA_H
#define JANSEVA_GROUPS_TIPMEDIA_H

#include "core/config.h"
#include "core/err.h"
#include "groups/tip.h"

#define GRP_TIPMEDIA_STREAM "js:tip:mq"
#define GRP_TIPMEDIA_GROUP "tipmedia"

struct grp_tipmedia;

/* Register the fetcher metrics. */
void grp_tipmedia_metrics_init(void);

/*
 * Start the fetcher thread over `cfg` (graph_url, access_token,
 * graph_timeout_ms, tip_media_max_bytes, Redis) and `t` (both borrowed).
 * Returns NULL with err when the thread cannot start.
 */
struct grp_tipmedia *grp_tipmedia_start(const struct core_cfg *cfg, struct grp_tip *t,
                                        struct core_err *err);

/* Stop the thread (within about a second) and free. NULL is a no-op. */
void grp_tipmedia_stop(struct grp_tipmedia *m);

#endif
