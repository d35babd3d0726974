/*
 * gateway/ingress.c - GET/POST /webhook (see ingress.h).
 */
#include "gateway/ingress.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "crypto/vault.h"
#include "gateway/signature.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gw_ingress {
    const struct core_cfg *cfg;
    struct core_redis_pool *pool;
    const struct cry_keys *keys; /* borrowed; NULL until set */
};

CORE_COUNTER(m_received, "janseva_webhooks_received_total", NULL,
             "Webhook POSTs received (before any check)");
CORE_COUNTER(m_accepted, "janseva_webhooks_accepted_total", NULL,
             "Webhook POSTs persisted to the ingress stream and answered 200");
CORE_COUNTER(m_rej_missing, "janseva_webhooks_rejected_total", "reason=\"signature_missing\"",
             "Webhook POSTs rejected, by reason");
CORE_COUNTER(m_rej_bad, "janseva_webhooks_rejected_total", "reason=\"signature_invalid\"",
             "Webhook POSTs rejected, by reason");
CORE_COUNTER(m_rej_large, "janseva_webhooks_rejected_total", "reason=\"too_large\"",
             "Webhook POSTs rejected, by reason");
CORE_COUNTER(m_rej_redis, "janseva_webhooks_rejected_total", "reason=\"redis_unavailable\"",
             "Webhook POSTs rejected, by reason");
CORE_COUNTER(m_rej_backlog, "janseva_webhooks_rejected_total", "reason=\"backlog_full\"",
             "Webhook POSTs rejected, by reason");
CORE_COUNTER(m_rej_keys, "janseva_webhooks_rejected_total", "reason=\"keys_unavailable\"",
             "Webhook POSTs rejected, by reason");
CORE_COUNTER(m_verify_ok, "janseva_webhook_verifications_total", "result=\"ok\"",
             "Webhook verification handshakes (GET), by result");
CORE_COUNTER(m_verify_bad, "janseva_webhook_verifications_total", "result=\"forbidden\"",
             "Webhook verification handshakes (GET), by result");

void gw_ingress_metrics_init(void)
{
    core_metrics_register(&m_received);
    core_metrics_register(&m_accepted);
    core_metrics_register(&m_rej_missing);
    core_metrics_register(&m_rej_bad);
    core_metrics_register(&m_rej_large);
    core_metrics_register(&m_rej_redis);
    core_metrics_register(&m_rej_backlog);
    core_metrics_register(&m_rej_keys);
    core_metrics_register(&m_verify_ok);
    core_metrics_register(&m_verify_bad);
}

/*
 * KEYS[1] = ingress stream; ARGV[1] = backlog limit; ARGV[2..] = fields.
 * Refuses with BACKLOG when the stream holds too many unprocessed entries
 * (the router deletes entries once processed, so XLEN is the backlog).
 */
static struct core_redis_script xadd_script = {
    "ingress_xadd",
    "if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then\n"
    "  return redis.error_reply('BACKLOG ingress backlog is full')\n"
    "end\n"
    "return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))\n",
    ""};

struct gw_ingress *gw_ingress_new(const struct core_cfg *cfg, struct core_redis_pool *pool,
                                  struct core_err *err)
{
    struct gw_ingress *in;

    if (core_cfg_require(cfg->app_secret, "JANSEVA_APP_SECRET",
                         "needed to verify webhook signatures", err) != 0 ||
        core_cfg_require(cfg->verify_token, "JANSEVA_VERIFY_TOKEN",
                         "needed for Meta's webhook verification", err) != 0)
        return NULL;
    gw_ingress_metrics_init();
    in = core_calloc(1, sizeof *in);
    in->cfg = cfg;
    in->pool = pool;
    return in;
}

void gw_ingress_free(struct gw_ingress *in)
{
    free(in);
}

void gw_ingress_set_keys(struct gw_ingress *in, const struct cry_keys *keys)
{
    in->keys = keys;
}

/* GET /webhook?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C */
static void on_verify(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct gw_ingress *in = ud;
    const char *mode = core_http_req_query(req, "hub.mode");
    const char *token = core_http_req_query(req, "hub.verify_token");
    const char *challenge = core_http_req_query(req, "hub.challenge");

    if (mode != NULL && strcmp(mode, "subscribe") == 0 && challenge != NULL &&
        gw_sig_token_equal(token, in->cfg->verify_token)) {
        core_metric_inc(&m_verify_ok);
        core_log_info("ingress", req->id, "webhook verification handshake accepted");
        core_http_resp_text(resp, MHD_HTTP_OK, challenge);
        return;
    }
    core_metric_inc(&m_verify_bad);
    core_log_warn("ingress", req->id, "webhook verification handshake refused");
    core_http_resp_text(resp, MHD_HTTP_FORBIDDEN, "forbidden\n");
}

/*
 * Seal the verified body and append it to the stream; returns 0, or -1 with
 * err (CORE_EX_CONFIG/UNAVAILABLE from the keys: `*keys_failed` set).
 */
static int persist(struct gw_ingress *in, const struct core_http_req *req, char *stream_id,
                   size_t id_len, int *keys_failed, struct core_err *err)
{
    char limit[32];
    const char *argv[8];
    size_t lens[8];
    struct core_redis *r;
    redisReply *reply;
    unsigned char *sealed;
    size_t cap;
    size_t sealed_len = 0;
    int rc;

    *keys_failed = 0;
    if (in->keys == NULL) {
        *keys_failed = 1;
        return core_err_set(err, CORE_EX_UNAVAILABLE, "ingress: no key to seal bodies");
    }
    cap = cry_vault_sealed_size(req->body_len);
    sealed = core_malloc(cap);
    if (cry_vault_seal(in->keys, CRY_VAULT_INGRESS, req->id, "b", req->body, req->body_len,
                       sealed, cap, &sealed_len, err) != 0) {
        free(sealed);
        *keys_failed = 1;
        return -1;
    }
    snprintf(limit, sizeof limit, "%ld", in->cfg->ingress_max_backlog);
    argv[0] = GW_STREAM_IN;
    argv[1] = limit;
    argv[2] = "f"; /* body format: sealed (crypto/vault, purpose ingress) */
    argv[3] = "sealed";
    argv[4] = "r"; /* request id: the record id of the seal, and for logs */
    argv[5] = req->id;
    argv[6] = "b";
    argv[7] = (const char *)sealed;
    for (int i = 0; i < 7; i++)
        lens[i] = strlen(argv[i]);
    lens[7] = sealed_len;
    r = core_redis_pool_get(in->pool);
    rc = core_redis_eval(r, &xadd_script, 1, 8, argv, lens, &reply, err);
    core_redis_pool_put(in->pool, r);
    free(sealed);
    if (rc != 0)
        return -1;
    if (reply->type == REDIS_REPLY_STRING)
        snprintf(stream_id, id_len, "%s", reply->str);
    freeReplyObject(reply);
    return 0;
}

/* POST /webhook */
static void on_post(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct gw_ingress *in = ud;
    const char *sig = core_http_req_header(req, GW_SIG_HEADER);
    enum gw_sig_result sr;
    struct core_err err;
    char stream_id[64] = "";
    int keys_failed = 0;

    core_metric_inc(&m_received);
    sr = gw_sig_verify(in->cfg->app_secret, strlen(in->cfg->app_secret), sig, req->body,
                       req->body_len);
    if (sr != GW_SIG_OK) {
        core_metric_inc(sr == GW_SIG_MISSING ? &m_rej_missing : &m_rej_bad);
        core_log_kv(CORE_LOG_WARN, "ingress", req->id, "webhook rejected: bad signature",
                    json_pack("{s:s,s:I}", "signature", gw_sig_result_name(sr), "bytes",
                              (json_int_t)req->body_len));
        core_http_resp_text(resp, MHD_HTTP_UNAUTHORIZED, "invalid signature\n");
        return;
    }
    core_err_clear(&err);
    if (persist(in, req, stream_id, sizeof stream_id, &keys_failed, &err) != 0) {
        int backlog = core_redis_err_is(&err, "BACKLOG");

        core_metric_inc(keys_failed ? &m_rej_keys : backlog ? &m_rej_backlog : &m_rej_redis);
        core_log_kv(CORE_LOG_ERROR, "ingress", req->id,
                    "webhook not persisted; answered 503 so Meta retries",
                    json_pack("{s:s}", "error", err.msg));
        core_http_resp_header(resp, "Retry-After", "5");
        core_http_resp_text(resp, MHD_HTTP_SERVICE_UNAVAILABLE,
                            backlog ? "backlog full, retry later\n"
                                    : "storage unavailable, retry later\n");
        return;
    }
    core_metric_inc(&m_accepted);
    core_log_kv(CORE_LOG_INFO, "ingress", req->id, "webhook accepted",
                json_pack("{s:s,s:I,s:I}", "entry", stream_id, "bytes", (json_int_t)req->body_len,
                          "ms", (json_int_t)(core_mono_ms() - req->started_ms)));
    core_http_resp_text(resp, MHD_HTTP_OK, "ok\n");
}

void gw_ingress_register(struct gw_ingress *in, struct core_httpd *httpd)
{
    core_httpd_route(httpd, "GET", "/webhook", 0, on_verify, in);
    core_httpd_route(httpd, "POST", "/webhook", (size_t)in->cfg->webhook_max_bytes, on_post, in);
    core_httpd_route_reject_metric(httpd, &m_rej_large);
}
