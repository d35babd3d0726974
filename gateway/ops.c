/*
 * gateway/ops.c - health, readiness and metrics endpoints (see ops.h).
 */
#include "gateway/ops.h"
#include "core/log.h"
#include "core/metrics.h"

#include <microhttpd.h>

static void on_healthz(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    (void)ud;
    (void)req;
    core_http_resp_text(resp, MHD_HTTP_OK, "ok\n");
}

static void on_readyz(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct core_redis_pool *pool = ud;
    struct core_redis *r = core_redis_pool_get(pool);
    struct core_err err;
    int rc = core_redis_ping(r, &err);

    core_redis_pool_put(pool, r);
    if (rc == 0) {
        core_http_resp_text(resp, MHD_HTTP_OK, "ready\n");
        return;
    }
    core_log_warn("ops", req->id, "not ready: %s", err.msg);
    core_http_resp_text(resp, MHD_HTTP_SERVICE_UNAVAILABLE, "redis unavailable\n");
}

static void on_metrics(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    (void)ud;
    (void)req;
    resp->status = MHD_HTTP_OK;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    core_metrics_render(&resp->body);
}

void gw_ops_register(struct core_httpd *httpd, struct core_redis_pool *pool)
{
    core_httpd_route(httpd, "GET", "/healthz", 0, on_healthz, NULL);
    core_httpd_route(httpd, "GET", "/readyz", 0, on_readyz, pool);
    core_httpd_route(httpd, "GET", "/metrics", 0, on_metrics, NULL);
}
