/*
 * gateway/router.h - router workers: consume the ingress stream, parse each
 * webhook and hand every event to the registered handlers exactly once in
 * effect.
 *
 * Delivery guarantees (docs/architecture.md, "Crash safety"):
 *  - Workers read `js:in` through the consumer group "router". An entry is
 *    acknowledged and deleted (MULTI XACK XDEL) only after every event in it
 *    has been handled, so a crash at any point leaves it pending; the same
 *    worker re-reads its pending entries on restart, and entries left by a
 *    worker that never returns are claimed after router_claim_idle_ms.
 *  - Each event gets a key: a BLAKE2b hash of (message wamid), (status
 *    wamid + status) or (entry id + position). After the handlers
 *    succeeded, `js:seen:<key>` is set for 7 days (Meta's retry window); an
 *    event whose key is already set is skipped as a duplicate. Handlers must
 *    still make their effects idempotent (keyed by ctx->event_key), because
 *    a crash between the effects and the marker replays the event.
 *  - An entry that fails router_max_deliveries times, or whose body is not a
 *    webhook, moves to `js:in:dead` with the reason.
 *
 * Handlers run on router threads with the worker's own Redis connection.
 */
#ifndef JANSEVA_GATEWAY_ROUTER_H
#define JANSEVA_GATEWAY_ROUTER_H

#include "core/buf.h"
#include "core/config.h"
#include "core/redis.h"
#include "gateway/webhook.h"

#define GW_EVENT_KEY_HEX 33 /* 16-byte hash as hex + NUL */
#define GW_MEMBER_ID_LEN 33 /* a member id (crypto/identity.h CRY_MID_LEN) */
#define GW_SEEN_TTL_S 604800

struct cry_keys;

/* What a handler gets besides the event. All borrowed. */
struct gw_router_ctx {
    struct core_redis *redis;            /* the worker's connection */
    const char *entry_id;                /* stream entry id */
    const char *req_id;                  /* ingress request id (for logs) */
    char event_key[GW_EVENT_KEY_HEX];    /* stable id of this event */
    const struct gw_webhook *hook;       /* the whole webhook */
    char member_id[GW_MEMBER_ID_LEN];    /* sender's member id, set by the identity
                                          * handler (registered first); "" for
                                          * statuses, errors and unknown senders */
};

/*
 * A handler returns 0 when the event's effects are stored (or the event is
 * not for it), -1 on a transient failure: the entry then stays pending and
 * is retried with backoff.
 */
typedef int (*gw_router_fn)(void *ud, struct gw_router_ctx *ctx, const struct gw_event *ev,
                            struct core_err *err);

struct gw_router;

/* Create a router from the settings (borrowed). Never fails. */
struct gw_router *gw_router_new(const struct core_cfg *cfg);

/* Add a handler; called in registration order. `name` is static, `ud`
 * borrowed. Before gw_router_start() only. */
void gw_router_add_handler(struct gw_router *rt, const char *name, gw_router_fn fn, void *ud);

/* Key the event hashes (BLAKE2b key, 16-64 bytes, copied). Without a key the
 * hash is unkeyed. Before gw_router_start() only. */
void gw_router_set_hash_key(struct gw_router *rt, const unsigned char *key, size_t len);

/*
 * Keys to open sealed ingress bodies (`f` = "sealed") and to seal the body of
 * every dead letter (borrowed; must outlive the router). Without keys only
 * the old `raw` format is processed and sealed entries are dead-lettered.
 * Before gw_router_start() only.
 */
void gw_router_set_keys(struct gw_router *rt, const struct cry_keys *keys);

/* Start cfg->router_threads workers. */
int gw_router_start(struct gw_router *rt, struct core_err *err);

/* Ask workers to stop and wait for them (within about one second). */
void gw_router_stop(struct gw_router *rt);

/* Stop if running, then free. NULL is a no-op. */
void gw_router_free(struct gw_router *rt);

/* Register the router metrics. */
void gw_router_metrics_init(void);

/*
 * Metrics collector (core_metrics_collector): stream length, pending
 * entries, dead letters and lag, read from Redis through `pool`
 * (a struct core_redis_pool *).
 */
void gw_router_collect(void *pool, struct core_buf *out);

/* The event key of `ev` in `entry_id` (hex, GW_EVENT_KEY_HEX bytes). */
void gw_router_event_key(const struct gw_router *rt, const char *entry_id,
                         const struct gw_event *ev, char out[GW_EVENT_KEY_HEX]);

#endif
