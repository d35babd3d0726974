/*
 * tools/cloudsim/sim_api.c - Graph API endpoints (see sim_api.h).
 *
 * A send goes through these steps, and the first that fails answers:
 *   1. "pre" faults (outage-like: 5xx, timeout, reset, throttle, ...);
 *   2. the bearer token (190);
 *   3. the phone_number_id (100 when --phone-number-id lists others);
 *   4. the body (100, 131008, 131009) and, for templates, 132001/132000;
 *   5. mark-as-read answers here (131009 for an unknown message id);
 *   6. "post" faults (pair_limit 131056, undeliverable, async errors);
 *   7. throughput (130429) and pair spacing (131056);
 *   8. accepted: a wamid; a free-form send outside the 24 h window, an
 *      unknown media id or an async fault fail later with a failed status.
 * Every request is recorded (sim_records) with its outcome.
 */
#include "tools/cloudsim/sim_api.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "tools/cloudsim/sim_control.h"
#include "tools/cloudsim/sim_errors.h"
#include "tools/cloudsim/sim_faults.h"
#include "tools/cloudsim/sim_hooks.h"
#include "tools/cloudsim/sim_media.h"
#include "tools/cloudsim/sim_multipart.h"
#include "tools/cloudsim/sim_records.h"
#include "tools/cloudsim/sim_rng.h"
#include "tools/cloudsim/sim_state.h"
#include "tools/cloudsim/sim_templates.h"
#include "tools/cloudsim/sim_validate.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_SEGMENTS 4
#define SIM_SEGMENT_LEN 128
#define SIM_MEDIA_URL_TTL_MS 300000
#define SIM_URL_HASH_HEX 32
#define SIM_WINDOW_DETAILS                                                                         \
    "Message failed to send because more than 24 hours have passed since the customer last "       \
    "replied to this number."

/* RNG streams (sim_rng_for) of the API. */
#define SIM_STREAM_REQUEST 1
#define SIM_STREAM_TRACE 2

/* ======================= helpers ======================= */

/* Split "/a/b/c" into at most SIM_SEGMENTS segments; returns the count or -1. */
static int split_path(const char *path, char seg[SIM_SEGMENTS][SIM_SEGMENT_LEN])
{
    int n = 0;
    const char *p = path;

    while (*p == '/')
        p++;
    while (*p != '\0') {
        const char *e = strchr(p, '/');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);

        if (n == SIM_SEGMENTS || len == 0 || len >= SIM_SEGMENT_LEN)
            return -1;
        memcpy(seg[n], p, len);
        seg[n][len] = '\0';
        n++;
        p += len;
        while (*p == '/')
            p++;
    }
    return n;
}

/* "v25.0", "v21" */
static int is_version(const char *s)
{
    int digits = 0;

    if (s[0] != 'v')
        return 0;
    for (s++; *s != '\0'; s++) {
        if (*s >= '0' && *s <= '9')
            digits++;
        else if (*s != '.' || digits == 0)
            return 0;
    }
    return digits > 0;
}

static int is_digits(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return 0;
    }
    return 1;
}

static uint64_t trace_seed(struct sim *s, uint64_t seq)
{
    return sim_rng_for(s->seed, SIM_STREAM_TRACE, seq);
}

/* Answer an error and account for it. */
static void reject(struct sim *s, struct core_http_resp *resp, struct sim_rec *rec, int code,
                   int http, const char *message, const char *details, uint64_t seq)
{
    sim_error_respond(resp, code, http, message, details, trace_seed(s, seq));
    if (rec != NULL) {
        rec->outcome = "rejected";
        rec->http_status = resp->status;
        rec->error_code = code;
    }
    atomic_fetch_add(&s->counters.rejected, 1);
    sim_count_code(s, code);
}

static const char *token_message(enum sim_token_verdict v)
{
    switch (v) {
    case SIM_TOKEN_MISSING:
        return "An active access token must be used to query information about the current "
               "user.";
    case SIM_TOKEN_INVALID:
        return "Invalid OAuth access token - Cannot parse access token";
    case SIM_TOKEN_REVOKED:
        return "Error validating access token: The session has been invalidated because the "
               "user changed their password or Facebook has changed the session for security "
               "reasons.";
    case SIM_TOKEN_EXPIRED:
        return "Error validating access token: Session has expired";
    case SIM_TOKEN_OK:
        break;
    }
    return "";
}

/* Answer a fault hit from the "pre" phase (not timeout/reset). */
static void answer_fault(struct sim *s, struct core_http_resp *resp, struct sim_rec *rec,
                         const struct sim_fault_hit *hit, uint64_t seq)
{
    const char *msg = hit->message[0] != '\0' ? hit->message : NULL;
    const char *det = hit->details[0] != '\0' ? hit->details : NULL;

    if (hit->mode == SIM_FAULT_5XX) {
        int code = hit->code != 0 ? hit->code : (hit->http == 503 ? 2 : 1);

        reject(s, resp, rec, code, hit->http, msg, det, seq);
        return;
    }
    if (hit->mode == SIM_FAULT_TOKEN_EXPIRED && msg == NULL)
        msg = token_message(SIM_TOKEN_EXPIRED);
    reject(s, resp, rec, hit->code, hit->http, msg, det, seq);
}

/* Close without answering (timeout holds first). */
static void no_answer(struct sim *s, struct core_http_resp *resp, struct sim_rec *rec,
                      const struct sim_fault_hit *hit, int64_t delay)
{
    resp->drop = 1;
    resp->delay_ms = delay + (hit->mode == SIM_FAULT_TIMEOUT ? hit->hold_ms : 0);
    if (rec != NULL && rec->outcome == NULL)
        rec->outcome = "no_response";
    if (rec != NULL)
        rec->http_status = 0;
    atomic_fetch_add(&s->counters.no_response, 1);
}

/* Steps 1-3 for every Graph request; returns 1 when the request is answered. */
static int gate(struct sim *s, const struct core_http_req *req, struct core_http_resp *resp,
                struct sim_rec *rec, enum sim_fault_scope scope, const char *pnid, const char *to,
                uint64_t seq, uint64_t *rng, int64_t *delay, struct sim_fault_hit *drop_later)
{
    struct sim_fault_hit hit;
    enum sim_token_verdict v;

    if (sim_faults_check(s->faults, SIM_PHASE_PRE, scope, pnid != NULL ? pnid : "",
                         to != NULL ? to : "", core_mono_ms(), rng, &hit, delay)) {
        atomic_fetch_add(&s->counters.faults, 1);
        if (rec != NULL)
            rec->fault_id = hit.id;
        if (hit.mode == SIM_FAULT_TIMEOUT || hit.mode == SIM_FAULT_RESET) {
            if (!hit.process || drop_later == NULL) {
                no_answer(s, resp, rec, &hit, *delay);
                return 1;
            }
            *drop_later = hit; /* accept it, then never answer */
        } else {
            answer_fault(s, resp, rec, &hit, seq);
            resp->delay_ms = *delay;
            return 1;
        }
    } else if (*delay > 0) {
        atomic_fetch_add(&s->counters.faults, 1);
    }
    v = sim_token_check(s, core_http_req_header(req, "Authorization"));
    if (v != SIM_TOKEN_OK) {
        reject(s, resp, rec, 190, 401, token_message(v), NULL, seq);
        resp->delay_ms = *delay;
        return 1;
    }
    if (pnid != NULL && !sim_number_known(s, pnid)) {
        char msg[SIM_SEGMENT_LEN + 160];

        snprintf(msg, sizeof msg,
                 "Unsupported post request. Object with ID '%s' does not exist, cannot be "
                 "loaded due to missing permissions, or does not support this operation",
                 pnid);
        reject(s, resp, rec, 100, 400, msg, NULL, seq);
        resp->delay_ms = *delay;
        return 1;
    }
    return 0;
}

/* ======================= POST .../messages ======================= */

static void mark_read(struct sim *s, struct core_http_resp *resp, struct sim_rec *rec,
                      const char *pnid, const struct sim_send *send, uint64_t seq)
{
    if (!sim_limits_inbound_id_known(s->limits, pnid, send->message_id)) {
        reject(s, resp, rec, 131009, 400, NULL, "message_id is not a message this number received",
               seq);
        return;
    }
    core_http_resp_json(resp, 200, "{\"success\":true}");
    rec->outcome = "accepted";
    rec->http_status = 200;
    atomic_fetch_add(&s->counters.marked_read, 1);
}

/* The success body of an accepted send. */
static void answer_accepted(struct core_http_resp *resp, const struct sim_send *send,
                            const char *wamid)
{
    core_http_resp_json(resp, 200, "");
    /* every interpolated value was validated: digits, '+', ' ', '-', '(', ')', BSUID, base64 */
    core_buf_printf(&resp->body,
                    "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":\"%s\",\"%s\":"
                    "\"%s\"}],\"messages\":[{\"id\":\"%s\"%s}]}",
                    send->input, send->bsuid ? "user_id" : "wa_id", send->recipient, wamid,
                    send->kind == SIM_KIND_TEMPLATE ? ",\"message_status\":\"accepted\"" : "");
}

static void handle_messages(struct sim *s, const struct core_http_req *req,
                            struct core_http_resp *resp, const char *pnid)
{
    uint64_t seq = atomic_fetch_add(&s->req_seq, 1) + 1;
    uint64_t rng = sim_rng_for(s->seed, SIM_STREAM_REQUEST, seq);
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
    char recipient[SIM_RECIPIENT_LEN] = "";
    char details[SIM_DETAILS_MAX];
    char category[SIM_CATEGORY_LEN] = "service";
    char wamid[SIM_WAMID_LEN] = "";
    struct sim_fault_hit drop_later;
    struct sim_fault_hit hit;
    struct sim_limit_params lp;
    struct sim_outbound out;
    struct sim_send send;
    struct sim_rec rec;
    const char *type = "";
    const char *fail_details = NULL;
    char *plan = NULL;
    int64_t delay = 0;
    int64_t now;
    int fail_code = 0;
    int window_open = 1;
    int code;

    memset(&rec, 0, sizeof rec);
    memset(&drop_later, 0, sizeof drop_later);
    atomic_fetch_add(&s->counters.requests, 1);
    now = sim_now_ms(s);
    if (body != NULL)
        sim_validate_peek(body, recipient, &type);
    rec.time_ms = now;
    rec.pnid = pnid;
    rec.to = recipient;
    rec.type = type;
    rec.body = req->body;
    rec.body_len = req->body_len;
    if (gate(s, req, resp, &rec, SIM_SCOPE_MESSAGES, pnid, recipient, seq, &rng, &delay,
             &drop_later))
        goto out;
    if (body == NULL) {
        reject(s, resp, &rec, 100, 400, NULL, "The request body is not valid JSON", seq);
        goto out;
    }
    code = sim_validate_send(body, &send, details);
    if (code != 0) {
        reject(s, resp, &rec, code, 0, NULL, details, seq);
        goto out;
    }
    if (send.kind == SIM_KIND_READ) {
        mark_read(s, resp, &rec, pnid, &send, seq);
        goto out;
    }
    if (send.kind == SIM_KIND_TEMPLATE) {
        code = sim_templates_check(s->templates, send.template_obj, category, details);
        if (code != 0) {
            reject(s, resp, &rec, code, 0, NULL, details, seq);
            goto out;
        }
    }
    if (sim_faults_check(s->faults, SIM_PHASE_POST, SIM_SCOPE_MESSAGES, pnid, send.recipient,
                         core_mono_ms(), &rng, &hit, &delay)) {
        atomic_fetch_add(&s->counters.faults, 1);
        rec.fault_id = hit.id;
        if (!hit.async) {
            reject(s, resp, &rec, hit.code, hit.http, hit.message[0] ? hit.message : NULL,
                   hit.details[0] ? hit.details : NULL, seq);
            goto out;
        }
        fail_code = hit.code;
        fail_details = hit.details[0] != '\0' ? hit.details : NULL;
    }
    sim_knobs_limits(s, &lp);
    code = sim_limits_admit(s->limits, pnid, send.recipient, now, core_mono_ms(), &lp);
    if (code != 0) {
        reject(s, resp, &rec, code, 0, NULL,
               code == 130429 ? "Cloud API message throughput has been reached."
                              : "Message failed to send because there were too many messages "
                                "sent from this phone number to the same phone number in a "
                                "short period of time.",
               seq);
        goto out;
    }
    if (lp.window_ms > 0) {
        int64_t last = sim_limits_last_inbound(s->limits, pnid, send.recipient);

        window_open = last != SIM_NEVER && now - last < lp.window_ms;
    }
    if (fail_code == 0 && send.kind != SIM_KIND_TEMPLATE && !window_open) {
        fail_code = 131047;
        fail_details = SIM_WINDOW_DETAILS;
    }
    if (fail_code == 0 && send.media_id != NULL) {
        struct sim_media_info mi;

        if (sim_media_info(s->media, send.media_id, &mi) != 0) {
            fail_code = 131053;
            fail_details = "Media download failed: the media id is not known";
        }
    }
    sim_new_wamid(s, wamid);
    memset(&out, 0, sizeof out);
    out.wamid = wamid;
    out.pnid = pnid;
    out.recipient = send.recipient;
    out.bsuid = send.bsuid;
    out.biz_opaque = send.biz_opaque;
    out.category = category;
    /* free: service messages, and utility templates inside the window */
    out.billable =
        send.kind == SIM_KIND_TEMPLATE && (strcmp(category, "utility") != 0 || !window_open);
    out.fail_code = fail_code;
    out.fail_details = fail_details;
    out.now_ms = now;
    out.rng = sim_rng_next(&rng);
    plan = sim_hooks_submit(s->hooks, &out);
    rec.plan = plan;
    rec.wamid = wamid;
    rec.to = send.recipient;
    rec.type = send.type;
    rec.http_status = 200;
    if (fail_code != 0) {
        rec.outcome = "failed";
        rec.error_code = fail_code;
        atomic_fetch_add(&s->counters.failed, 1);
        sim_count_code(s, fail_code);
    } else {
        rec.outcome = "accepted";
        atomic_fetch_add(&s->counters.accepted, 1);
    }
    answer_accepted(resp, &send, wamid);
    if (drop_later.id != 0) {
        no_answer(s, resp, &rec, &drop_later, delay);
        delay = resp->delay_ms;
    }
out:
    if (resp->delay_ms == 0)
        resp->delay_ms = delay;
    sim_records_add(s->records, &rec);
    free(plan);
    json_decref(body);
}

/* ======================= media ======================= */

/* The URL's tamper check: BLAKE2b(salt; id|exp), hex. */
static void url_hash(struct sim *s, const char *id, int64_t exp, char out[SIM_URL_HASH_HEX + 1])
{
    unsigned char key[crypto_generichash_KEYBYTES_MIN];
    unsigned char h[SIM_URL_HASH_HEX / 2];
    char msg[96];
    size_t i;

    for (i = 0; i < sizeof key; i++)
        key[i] = (unsigned char)(s->salt >> (8 * (i % 8)));
    snprintf(msg, sizeof msg, "%s|%lld", id, (long long)exp);
    crypto_generichash(h, sizeof h, (const unsigned char *)msg, strlen(msg), key, sizeof key);
    core_hex(out, h, sizeof h);
}

static void media_upload(struct sim *s, const struct core_http_req *req,
                         struct core_http_resp *resp, const char *pnid)
{
    uint64_t seq = atomic_fetch_add(&s->req_seq, 1) + 1;
    uint64_t rng = sim_rng_for(s->seed, SIM_STREAM_REQUEST, seq);
    struct sim_part parts[SIM_MULTIPART_MAX_PARTS];
    const struct sim_part *file = NULL;
    const char *product = NULL;
    char mime[SIM_MIME_LEN] = "";
    struct sim_media_info info;
    struct core_err err;
    const char *why = NULL;
    int64_t delay = 0;
    size_t limit;
    int n;
    int i;

    if (gate(s, req, resp, NULL, SIM_SCOPE_MEDIA, pnid, NULL, seq, &rng, &delay, NULL))
        return;
    resp->delay_ms = delay;
    n = sim_multipart_parse(core_http_req_header(req, "Content-Type"), req->body, req->body_len,
                            parts, SIM_MULTIPART_MAX_PARTS, &why);
    if (n < 0) {
        reject(s, resp, NULL, 100, 400, NULL, why, seq);
        return;
    }
    for (i = 0; i < n; i++) {
        if (strcmp(parts[i].name, "file") == 0)
            file = &parts[i];
        else if (strcmp(parts[i].name, "messaging_product") == 0)
            product = parts[i].len == 8 && memcmp(parts[i].data, "whatsapp", 8) == 0 ? "whatsapp"
                                                                                     : "other";
        else if (strcmp(parts[i].name, "type") == 0)
            snprintf(mime, sizeof mime, "%.*s",
                     (int)(parts[i].len < sizeof mime ? parts[i].len : sizeof mime - 1),
                     parts[i].data);
    }
    if (product == NULL) {
        reject(s, resp, NULL, 131008, 400, NULL, "Param messaging_product is required", seq);
        return;
    }
    if (strcmp(product, "whatsapp") != 0) {
        reject(s, resp, NULL, 100, 400, NULL, "Param messaging_product must be whatsapp", seq);
        return;
    }
    if (file == NULL) {
        reject(s, resp, NULL, 131008, 400, NULL, "Param file is required", seq);
        return;
    }
    if (mime[0] == '\0')
        snprintf(mime, sizeof mime, "%s", file->content_type);
    limit = sim_media_limit(mime);
    if (limit == 0 || file->len == 0 || file->len > limit) {
        reject(s, resp, NULL, 131053, 400, NULL,
               limit == 0       ? "Unsupported file type"
               : file->len == 0 ? "The file is empty"
                                : "The file is larger than WhatsApp allows for its type",
               seq);
        return;
    }
    core_err_clear(&err);
    if (sim_media_put(s->media, atomic_fetch_add(&s->id_seq, 1) + 1, file->data, file->len, mime,
                      &info, &err) != 0) {
        reject(s, resp, NULL, 131053, 400, NULL, err.msg, seq);
        return;
    }
    atomic_fetch_add(&s->counters.media_uploads, 1);
    core_http_resp_json(resp, 200, "");
    core_buf_printf(&resp->body, "{\"id\":\"%s\"}", info.id);
}

static void media_get(struct sim *s, const struct core_http_req *req, struct core_http_resp *resp,
                      const char *id)
{
    uint64_t seq = atomic_fetch_add(&s->req_seq, 1) + 1;
    uint64_t rng = sim_rng_for(s->seed, SIM_STREAM_REQUEST, seq);
    struct sim_media_info info;
    char hash[SIM_URL_HASH_HEX + 1];
    int64_t delay = 0;
    int64_t exp;
    json_t *o;
    char *text;
    char url[512];

    if (gate(s, req, resp, NULL, SIM_SCOPE_MEDIA, NULL, NULL, seq, &rng, &delay, NULL))
        return;
    resp->delay_ms = delay;
    if (!is_digits(id) || sim_media_info(s->media, id, &info) != 0) {
        reject(s, resp, NULL, 100, 400,
               "Unsupported get request. Object with ID does not exist, cannot be loaded due to "
               "missing permissions, or does not support this operation",
               NULL, seq);
        return;
    }
    exp = sim_now_ms(s) + SIM_MEDIA_URL_TTL_MS;
    url_hash(s, info.id, exp, hash);
    snprintf(url, sizeof url, "%s/whatsapp_business/attachments/?mid=%s&ext=%lld&hash=%s",
             s->base_url, info.id, (long long)exp, hash);
    o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "messaging_product", "whatsapp", "url", url,
                  "mime_type", info.mime, "sha256", info.sha256, "file_size", (json_int_t)info.size,
                  "id", info.id);
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    core_http_resp_json(resp, 200, text != NULL ? text : "{}");
    free(text);
    json_decref(o);
}

static void media_delete(struct sim *s, const struct core_http_req *req,
                         struct core_http_resp *resp, const char *id)
{
    uint64_t seq = atomic_fetch_add(&s->req_seq, 1) + 1;
    uint64_t rng = sim_rng_for(s->seed, SIM_STREAM_REQUEST, seq);
    int64_t delay = 0;

    if (gate(s, req, resp, NULL, SIM_SCOPE_MEDIA, NULL, NULL, seq, &rng, &delay, NULL))
        return;
    resp->delay_ms = delay;
    if (sim_media_delete(s->media, id) != 0) {
        reject(s, resp, NULL, 100, 400, NULL, "No media with this id", seq);
        return;
    }
    core_http_resp_json(resp, 200, "{\"success\":true}");
}

static void media_download(struct sim *s, const struct core_http_req *req,
                           struct core_http_resp *resp)
{
    uint64_t seq = atomic_fetch_add(&s->req_seq, 1) + 1;
    uint64_t rng = sim_rng_for(s->seed, SIM_STREAM_REQUEST, seq);
    const char *mid = core_http_req_query(req, "mid");
    const char *ext = core_http_req_query(req, "ext");
    const char *hash = core_http_req_query(req, "hash");
    char want[SIM_URL_HASH_HEX + 1];
    struct sim_media_info info;
    unsigned char *data = NULL;
    size_t len = 0;
    int64_t delay = 0;
    int64_t exp;

    if (gate(s, req, resp, NULL, SIM_SCOPE_MEDIA, NULL, NULL, seq, &rng, &delay, NULL))
        return;
    resp->delay_ms = delay;
    if (mid == NULL || ext == NULL || hash == NULL || core_parse_i64(ext, &exp) != 0) {
        core_http_resp_text(resp, 404, "not found\n");
        return;
    }
    url_hash(s, mid, exp, want);
    if (strcmp(want, hash) != 0 || sim_now_ms(s) > exp) {
        core_http_resp_text(resp, 404, "URL signature expired\n");
        return;
    }
    if (sim_media_read(s->media, mid, &data, &len, &info) != 0) {
        core_http_resp_text(resp, 404, "not found\n");
        return;
    }
    atomic_fetch_add(&s->counters.media_downloads, 1);
    resp->status = 200;
    resp->content_type = sim_media_static_mime(info.mime);
    core_buf_append(&resp->body, data, len);
    free(data);
}

/* ======================= routing ======================= */

static void unknown(struct sim *s, const struct core_http_req *req, struct core_http_resp *resp)
{
    char msg[160];

    snprintf(msg, sizeof msg, "Unsupported %.10s request. Unknown path components", req->method);
    sim_error_respond(resp, 100, 400, msg, NULL, trace_seed(s, 0));
}

static void graph(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct sim *s = ud;
    char seg[SIM_SEGMENTS][SIM_SEGMENT_LEN];
    int n = split_path(req->path, seg);
    int post = strcmp(req->method, "POST") == 0;
    int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;

    if (n == 2 && get && strcmp(seg[0], "whatsapp_business") == 0 &&
        strcmp(seg[1], "attachments") == 0) {
        media_download(s, req, resp);
        return;
    }
    if (n < 2 || !is_version(seg[0])) {
        if (strncmp(req->path, "/_sim/", 6) == 0)
            core_http_resp_json(resp, 404, "{\"error\":\"no such control endpoint\"}");
        else
            unknown(s, req, resp);
        return;
    }
    if (n == 3 && post && strcmp(seg[2], "messages") == 0) {
        handle_messages(s, req, resp, seg[1]);
        return;
    }
    if (n == 3 && post && strcmp(seg[2], "media") == 0) {
        media_upload(s, req, resp, seg[1]);
        return;
    }
    if (n == 2 && get) {
        media_get(s, req, resp, seg[1]);
        return;
    }
    if (n == 2 && strcmp(req->method, "DELETE") == 0) {
        media_delete(s, req, resp, seg[1]);
        return;
    }
    unknown(s, req, resp);
}

void sim_api_register(struct sim *s, struct core_httpd *h)
{
    sim_control_register(s, h);
    core_httpd_route(h, NULL, "/*", (size_t)s->cfg->max_body_bytes, graph, s);
}
