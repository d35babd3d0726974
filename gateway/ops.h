/*
 * gateway/ops.h - operational endpoints: GET /healthz (the process is up),
 * GET /readyz (Redis answers: 200, else 503) and GET /metrics (Prometheus
 * text format).
 */
#ifndef JANSEVA_GATEWAY_OPS_H
#define JANSEVA_GATEWAY_OPS_H

#include "core/httpd.h"
#include "core/redis.h"

/* Register the three routes. `pool` is borrowed and must outlive `httpd`. */
void gw_ops_register(struct core_httpd *httpd, struct core_redis_pool *pool);

#endif
