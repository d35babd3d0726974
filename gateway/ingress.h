/*
 * gateway/ingress.h - the webhook endpoint: GET /webhook (Meta's
 * verification handshake) and POST /webhook (verify, persist, 200).
 *
 * POST: the body is bounded (webhook_max_bytes, 413 beyond), the
 * X-Hub-Signature-256 is checked over the raw bytes before anything else
 * (401 otherwise), and the raw body is appended to the `js:in` stream by a
 * Lua script that refuses when the backlog is full. 200 is answered only
 * after Redis acknowledged the write; with Redis unreachable or the backlog
 * full the answer is 503, so Meta retries (for up to 7 days). Nothing is
 * parsed and no Graph API call is made in the request.
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

/* Register GET and POST /webhook on `httpd`. */
void gw_ingress_register(struct gw_ingress *in, struct core_httpd *httpd);

/* Free; NULL is a no-op. */
void gw_ingress_free(struct gw_ingress *in);

/* Register the ingress metrics (also done by gw_ingress_new). */
void gw_ingress_metrics_init(void);

#endif
