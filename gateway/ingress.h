/*
 * gateway/ingress.h - the webhook endpoint: GET /webhook (Meta's
 * verification handshake) and POST /webhook (verify, seal, persist, 200).
 *
 * POST: the body is bounded (webhook_max_bytes, 413 beyond), the
 * X-Hub-Signature-256 is checked over the raw bytes before anything else
 * (401 otherwise), then the body is sealed (crypto/vault, purpose ingress,
 * record id = the request id, field "b") and appended to the `js:in` stream
 * as fields f=sealed, r=<request id>, b=<sealed body> by a Lua script that
 * refuses when the backlog is full. The plaintext body never reaches Redis.
 * 200 is answered only after Redis acknowledged the write; with Redis
 * unreachable, the key version unknown or the backlog full the answer is
 * 503, so Meta retries (for up to 7 days). Nothing is parsed and no Graph
 * API call is made in the request.
 */
#ifndef JANSEVA_GATEWAY_INGRESS_H
#define JANSEVA_GATEWAY_INGRESS_H

#include "core/config.h"
#include "core/httpd.h"
#include "core/redis.h"

/* Stream keys shared by ingress and the router. */
#define GW_STREAM_IN "js:in"
#define GW_STREAM_DEAD "js:in:dead"
#define GW_GROUP_ROUTER "router"

struct gw_ingress;

/*
 * Create the endpoint. `cfg` and `pool` are borrowed and must outlive it.
 * Fails with CORE_EX_CONFIG when app_secret or verify_token is unset.
 */
struct gw_ingress *gw_ingress_new(const struct core_cfg *cfg, struct core_redis_pool *pool,
                                  struct core_err *err);

struct cry_keys;

/* The keys bodies are sealed with (borrowed; must outlive the endpoint).
 * Until set, POSTs are answered 503: a body is never stored unsealed. */
void gw_ingress_set_keys(struct gw_ingress *in, const struct cry_keys *keys);

/* Register GET and POST /webhook on `httpd`. */
void gw_ingress_register(struct gw_ingress *in, struct core_httpd *httpd);

/* Free; NULL is a no-op. */
void gw_ingress_free(struct gw_ingress *in);

/* Register the ingress metrics (also done by gw_ingress_new). */
void gw_ingress_metrics_init(void);

#endif
