/*
 * tools/cloudsim/sim_control.c - /_sim/ endpoints (see sim_control.h).
 * Answers are JSON; a bad request gets 400 {"error":"..."}.
 */
#include "tools/cloudsim/sim_control.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "gateway/webhook.h"
#include "tools/cloudsim/sim_errors.h"
#include "tools/cloudsim/sim_faults.h"
#include "tools/cloudsim/sim_hooks.h"
#include "tools/cloudsim/sim_media.h"
#include "tools/cloudsim/sim_records.h"
#include "tools/cloudsim/sim_state.h"
#include "tools/cloudsim/sim_templates.h"
#include "tools/cloudsim/sim_validate.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_CONTROL_BODY (64 * 1024)
#define SIM_TEMPLATES_BODY (4 * 1024 * 1024)
#define SIM_INBOUND_BODY (24 * 1024 * 1024)
#define SIM_MODULE "cloudsim"

/* ======================= helpers ======================= */

/* Answer `v` (stolen) as JSON with `status`. */
static void reply(struct core_http_resp *resp, int status, json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));

    core_http_resp_json(resp, status, text != NULL ? text : "{}");
    free(text);
    json_decref(v);
}

static void bad_request(struct core_http_resp *resp, const char *why)
{
    reply(resp, 400, json_pack("{s:s}", "error", why));
}

/* The request body as a JSON object, or NULL after answering 400. An empty body is {}. */
static json_t *body_object(const struct core_http_req *req, struct core_http_resp *resp)
{
    json_error_t je;
    json_t *v;

    if (req->body_len == 0)
        return json_object();
    v = json_loadb(req->body, req->body_len, 0, &je);
    if (!json_is_object(v)) {
        json_decref(v);
        bad_request(resp, "the body must be a JSON object");
        return NULL;
    }
    return v;
}

static int64_t query_i64(const struct core_http_req *req, const char *name, int64_t dflt)
{
    const char *v = core_http_req_query(req, name);
    int64_t n;

    if (v == NULL || core_parse_i64(v, &n) != 0)
        return dflt;
    return n;
}

/* ======================= inspection ======================= */

static void health(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct sim *s = ud;

    (void)req;
    reply(resp, 200, json_pack("{s:b,s:i}", "ok", 1, "port", s->port));
}

static void sends(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct sim *s = ud;
    struct sim_rec_filter f;
    char to[SIM_RECIPIENT_LEN];
    const char *raw_to = core_http_req_query(req, "to");
    int64_t limit = query_i64(req, "limit", 0);

    memset(&f, 0, sizeof f);
    if (raw_to != NULL) {
        int bsuid;

        if (sim_recipient_normalize(raw_to, to, &bsuid) != 0) {
            bad_request(resp, "to: not a phone number or BSUID");
            return;
        }
        f.to = to;
    }
    f.type = core_http_req_query(req, "type");
    f.outcome = core_http_req_query(req, "outcome");
    f.wamid = core_http_req_query(req, "wamid");
    f.pnid = core_http_req_query(req, "phone_number_id");
    f.error_code = (int)query_i64(req, "code", 0);
    f.since_ms = query_i64(req, "since", 0);
    f.after = (uint64_t)query_i64(req, "after", 0);
    f.limit = limit > 0 ? (size_t)limit : 0;
    reply(resp, 200, sim_records_query(s->records, &f));
}

static void counters(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    (void)req;
    reply(resp, 200, sim_counters_json(ud));
}

static void reset(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    (void)req;
    sim_reset(ud);
    core_log_info(SIM_MODULE, req->id, "reset");
    reply(resp, 200, json_pack("{s:b}", "ok", 1));
}

/* ======================= faults ======================= */

static void faults_get(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct sim *s = ud;

    (void)req;
    reply(resp, 200, sim_faults_list(s->faults, core_mono_ms()));
}

static void faults_post(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct sim *s = ud;
    json_t *v = body_object(req, resp);
    struct core_err err;
    int id;

    if (v == NULL)
        return;
    core_err_clear(&err);
    id = sim_faults_add(s->faults, v, core_mono_ms(), &err);
    if (id < 0) {
        json_decref(v);
        bad_request(resp, err.msg);
        return;
    }
    core_log_kv(
        CORE_LOG_INFO, SIM_MODULE, req->id, "fault added",
        json_pack("{s:i,s:s}", "fault", id, "mode", json_string_value(json_object_get(v, "mode"))));
    json_decref(v);
    reply(resp, 200, json_pack("{s:i}", "id", id));
}

static void faults_delete(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct sim *s = ud;
    const char *tail = req->path + strlen("/_sim/faults");
    int64_t id;

    if (*tail == '\0' || strcmp(tail, "/") == 0) {
        sim_faults_clear(s->faults);
        core_log_info(SIM_MODULE, req->id, "faults cleared");
        reply(resp, 200, json_pack("{s:b}", "ok", 1));
        return;
    }
    if (core_parse_i64(tail + 1, &id) != 0 || id <= 0 || id > INT32_MAX ||
        sim_faults_remove(s->faults, (int)id) != 0) {
        reply(resp, 404, json_pack("{s:s}", "error", "no such fault"));
        return;
    }
    reply(resp, 200, json_pack("{s:b}", "ok", 1));
}

/* ======================= clock, window, config, tokens ======================= */

static void clock_get(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    (void)req;
    reply(resp, 200, sim_clock_json(ud));
}

static void clock_post(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct sim *s = ud;
    json_t *v = body_object(req, resp);
    json_t *adv;
    json_t *freeze;

    if (v == NULL)
        return;
    adv = json_object_get(v, "advance_ms");
    freeze = json_object_get(v, "freeze");
    if ((adv != NULL && !json_is_integer(adv)) || (freeze != NULL && !json_is_boolean(freeze))) {
        json_decref(v);
        bad_request(resp, "clock: {\"advance_ms\": integer, \"freeze\": boolean}");
        return;
    }
    if (freeze != NULL)
        sim_clock_freeze(s, json_is_true(freeze));
    if (adv != NULL)
        sim_clock_advance(s, json_integer_value(adv));
    core_log_kv(CORE_LOG_INFO, SIM_MODULE, req->id, "clock changed",
                json_pack("{s:I}", "offset_ms", (json_int_t)atomic_load(&s->clock.offset_ms)));
    json_decref(v);
    reply(resp, 200, sim_clock_json(s));
}

static json_t *window_state(struct sim *s, const char *pnid, const char *to)
{
    struct sim_limit_params lp;
    int64_t last = sim_limits_last_inbound(s->limits, pnid, to);
    int64_t now = sim_now_ms(s);

    sim_knobs_limits(s, &lp);
    return json_pack("{s:s,s:s,s:o,s:b}", "phone_number_id", pnid, "to", to, "last_inbound_ms",
                     last == SIM_NEVER ? json_null() : json_integer(last), "open",
                     lp.window_ms == 0 || (last != SIM_NEVER && now - last < lp.window_ms));
}

static void window_get(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct sim *s = ud;
    const char *raw = core_http_req_query(req, "to");
    const char *pnid = core_http_req_query(req, "phone_number_id");
    char to[SIM_RECIPIENT_LEN];
    int bsuid;

    if (sim_recipient_normalize(raw, to, &bsuid) != 0) {
        bad_request(resp, "window: ?to= a phone number or BSUID");
        return;
    }
    reply(resp, 200, window_state(s, pnid != NULL ? pnid : sim_default_pnid(s), to));
}

static void window_post(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct sim *s = ud;
    json_t *v = body_object(req, resp);
    const char *raw;
    const char *pnid;
    const json_t *last;
    const json_t *ago;
    struct sim_limit_params lp;
    char to[SIM_RECIPIENT_LEN];
    int64_t when;
    int bsuid;

    if (v == NULL)
        return;
    raw = json_string_value(json_object_get(v, "to"));
    pnid = json_string_value(json_object_get(v, "phone_number_id"));
    last = json_object_get(v, "last_inbound_ms");
    ago = json_object_get(v, "ago_ms");
    if (sim_recipient_normalize(raw, to, &bsuid) != 0 ||
        (last != NULL && !json_is_integer(last) && !json_is_null(last)) ||
        (ago != NULL && !json_is_integer(ago)) || (last != NULL && ago != NULL)) {
        json_decref(v);
        bad_request(resp, "window: {\"to\": recipient, \"last_inbound_ms\": ms|null} or "
                          "{\"to\": recipient, \"ago_ms\": ms}");
        return;
    }
    if (pnid == NULL)
        pnid = sim_default_pnid(s);
    if (ago != NULL)
        when = sim_now_ms(s) - json_integer_value(ago);
    else if (last != NULL && json_is_integer(last))
        when = json_integer_value(last);
    else if (last != NULL)
        when = SIM_NEVER;
    else
        when = sim_now_ms(s);
    sim_knobs_limits(s, &lp);
    sim_limits_set_inbound(s->limits, pnid, to, when, &lp);
    reply(resp, 200, window_state(s, pnid, to));
    json_decref(v);
}

static void config_get(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    (void)req;
    reply(resp, 200, sim_knobs_json(ud));
}

static void config_post(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct sim *s = ud;
    json_t *v = body_object(req, resp);
    struct core_err err;

    if (v == NULL)
        return;
    core_err_clear(&err);
    if (sim_knobs_update(s, v, &err) != 0) {
        json_decref(v);
        bad_request(resp, err.msg);
        return;
    }
    json_decref(v);
    core_log_info(SIM_MODULE, req->id, "settings changed");
    reply(resp, 200, sim_knobs_json(s));
}

static void tokens_post(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct sim *s = ud;
    json_t *v = body_object(req, resp);
    struct core_err err;

    if (v == NULL)
        return;
    core_err_clear(&err);
    if (sim_token_set(s, json_string_value(json_object_get(v, "token")),
                      json_string_value(json_object_get(v, "state")), &err) != 0) {
        json_decref(v);
        bad_request(resp, err.msg);
        return;
    }
    core_log_kv(CORE_LOG_INFO, SIM_MODULE, req->id, "token state changed",
                json_pack("{s:s}", "state", json_string_value(json_object_get(v, "state"))));
    json_decref(v);
    reply(resp, 200, json_pack("{s:b}", "ok", 1));
}

/* ======================= templates and media ======================= */

static void templates_get(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct sim *s = ud;

    (void)req;
    reply(resp, 200, json_pack("{s:o}", "templates", sim_templates_list(s->templates)));
}

static void templates_post(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct sim *s = ud;
    json_t *v = json_loadb(req->body, req->body_len, 0, NULL);
    struct core_err err;
    int n;

    if (v == NULL) {
        bad_request(resp, "templates: the body must be JSON");
        return;
    }
    core_err_clear(&err);
    n = sim_templates_add(s->templates, v, &err);
    json_decref(v);
    if (n < 0) {
        bad_request(resp, err.msg);
        return;
    }
    reply(resp, 200, json_pack("{s:i}", "added", n));
}

static void templates_delete(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct sim *s = ud;

    (void)req;
    sim_templates_clear(s->templates);
    reply(resp, 200, json_pack("{s:b}", "ok", 1));
}

static json_t *media_json(const struct sim_media_info *mi)
{
    return json_pack("{s:s,s:s,s:s,s:I}", "id", mi->id, "mime_type", mi->mime, "sha256", mi->sha256,
                     "file_size", (json_int_t)mi->size);
}

static void media_post(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct sim *s = ud;
    const char *mime = core_http_req_query(req, "mime_type");
    struct sim_media_info mi;
    struct core_err err;

    if (mime == NULL || mime[0] == '\0' || strlen(mime) >= SIM_MIME_LEN || req->body_len == 0) {
        bad_request(resp, "media: raw bytes in the body and ?mime_type=");
        return;
    }
    core_err_clear(&err);
    if (sim_media_put(s->media, atomic_fetch_add(&s->id_seq, 1) + 1, req->body, req->body_len, mime,
                      &mi, &err) != 0) {
        bad_request(resp, err.msg);
        return;
    }
    reply(resp, 200, media_json(&mi));
}

/* ======================= be a citizen ======================= */

/* Deterministic placeholder bytes for inbound media without "media_base64". */
static void placeholder_media(const char *wamid, const char *type, struct core_buf *out)
{
    unsigned char h[32];
    int i;

    core_buf_printf(out, "cloudsim placeholder %s for %s\n", type, wamid);
    crypto_generichash(h, sizeof h, (const unsigned char *)wamid, strlen(wamid), NULL, 0);
    for (i = 0; i < 8; i++)
        core_buf_append(out, h, sizeof h);
}

static const char *default_mime(const char *type)
{
    if (strcmp(type, "image") == 0)
        return "image/jpeg";
    if (strcmp(type, "video") == 0)
        return "video/mp4";
    if (strcmp(type, "audio") == 0)
        return "audio/ogg; codecs=opus";
    if (strcmp(type, "sticker") == 0)
        return "image/webp";
    return "application/pdf";
}

static const char *opt_str(const json_t *v, const char *key)
{
    return json_string_value(json_object_get(v, key));
}

/* Build the media object of an inbound media message; stores the bytes. */
static int inbound_media(struct sim *s, const json_t *v, const char *type, const char *wamid,
                         json_t *msg, json_t *result, const char **why)
{
    const char *b64 = opt_str(v, "media_base64");
    const char *mime = opt_str(v, "mime_type");
    const char *caption = opt_str(v, "caption");
    struct core_buf bytes;
    struct sim_media_info mi;
    struct core_err err;
    json_t *m;

    core_buf_init(&bytes, 0);
    if (mime == NULL)
        mime = default_mime(type);
    if (strlen(mime) >= SIM_MIME_LEN) {
        *why = "mime_type is too long";
        return -1;
    }
    if (b64 != NULL) {
        size_t cap = strlen(b64);
        size_t len = 0;
        unsigned char *raw = core_malloc(cap + 1);

        if (sodium_base642bin(raw, cap, b64, strlen(b64), " \n\r", &len, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0) {
            free(raw);
            *why = "media_base64 is not base64";
            return -1;
        }
        core_buf_append(&bytes, raw, len);
        free(raw);
    } else {
        placeholder_media(wamid, type, &bytes);
    }
    core_err_clear(&err);
    if (sim_media_put(s->media, atomic_fetch_add(&s->id_seq, 1) + 1, bytes.data, bytes.len, mime,
                      &mi, &err) != 0) {
        core_buf_cleanup(&bytes);
        *why = "media too large for the store";
        return -1;
    }
    core_buf_cleanup(&bytes);
    m = json_object();
    if (caption != NULL && strcmp(type, "audio") != 0 && strcmp(type, "sticker") != 0)
        json_object_set_new(m, "caption", json_string(caption));
    if (strcmp(type, "document") == 0)
        json_object_set_new(
            m, "filename",
            json_string(opt_str(v, "filename") != NULL ? opt_str(v, "filename") : "document.pdf"));
    json_object_set_new(m, "mime_type", json_string(mi.mime));
    json_object_set_new(m, "sha256", json_string(mi.sha256));
    json_object_set_new(m, "id", json_string(mi.id));
    if (strcmp(type, "audio") == 0)
        json_object_set_new(m, "voice", json_boolean(json_is_true(json_object_get(v, "voice"))));
    if (strcmp(type, "sticker") == 0)
        json_object_set_new(m, "animated",
                            json_boolean(json_is_true(json_object_get(v, "animated"))));
    json_object_set_new(msg, type, m);
    json_object_set_new(result, "media_id", json_string(mi.id));
    return 0;
}

/* The type object of an inbound message; -1 with *why when the request lacks a field. */
static int inbound_type(struct sim *s, const json_t *v, const char *type, const char *wamid,
                        json_t *msg, json_t *result, const char **why)
{
    const char *text = opt_str(v, "text");

    if (strcmp(type, "text") == 0) {
        if (text == NULL || text[0] == '\0') {
            *why = "text messages need \"text\"";
            return -1;
        }
        json_object_set_new(msg, "text", json_pack("{s:s}", "body", text));
        return 0;
    }
    if (strcmp(type, "image") == 0 || strcmp(type, "video") == 0 || strcmp(type, "audio") == 0 ||
        strcmp(type, "document") == 0 || strcmp(type, "sticker") == 0) {
        if (opt_str(v, "caption") == NULL && text != NULL &&
            (strcmp(type, "image") == 0 || strcmp(type, "video") == 0 ||
             strcmp(type, "document") == 0)) {
            json_t *copy = json_deep_copy(v);
            int rc;

            json_object_set_new(copy, "caption", json_string(text));
            rc = inbound_media(s, copy, type, wamid, msg, result, why);
            json_decref(copy);
            return rc;
        }
        return inbound_media(s, v, type, wamid, msg, result, why);
    }
    if (strcmp(type, "location") == 0) {
        json_t *lat = json_object_get(v, "latitude");
        json_t *lon = json_object_get(v, "longitude");
        json_t *loc;

        if (!json_is_number(lat) || !json_is_number(lon)) {
            *why = "location messages need numeric \"latitude\" and \"longitude\"";
            return -1;
        }
        loc = json_pack("{s:O,s:O}", "latitude", lat, "longitude", lon);
        if (opt_str(v, "location_name") != NULL)
            json_object_set_new(loc, "name", json_string(opt_str(v, "location_name")));
        if (opt_str(v, "address") != NULL)
            json_object_set_new(loc, "address", json_string(opt_str(v, "address")));
        json_object_set_new(msg, "location", loc);
        return 0;
    }
    if (strcmp(type, "interactive") == 0) {
        const json_t *r = json_object_get(v, "reply");
        const char *rtype = opt_str(r, "type");
        const char *id = opt_str(r, "id");
        const char *title = opt_str(r, "title");
        json_t *inner;

        if (rtype == NULL || id == NULL || title == NULL ||
            (strcmp(rtype, "button_reply") != 0 && strcmp(rtype, "list_reply") != 0)) {
            *why = "interactive messages need \"reply\": {\"type\": button_reply|list_reply, "
                   "\"id\", \"title\"}";
            return -1;
        }
        inner = json_pack("{s:s,s:s}", "id", id, "title", title);
        if (opt_str(r, "description") != NULL)
            json_object_set_new(inner, "description", json_string(opt_str(r, "description")));
        json_object_set_new(msg, "interactive",
                            json_pack("{s:s,s:o}", "type", rtype, rtype, inner));
        return 0;
    }
    if (strcmp(type, "button") == 0) {
        const char *payload = opt_str(v, "payload");

        if (payload == NULL || text == NULL) {
            *why = "button messages need \"payload\" and \"text\"";
            return -1;
        }
        json_object_set_new(msg, "button",
                            json_pack("{s:s,s:s}", "payload", payload, "text", text));
        return 0;
    }
    if (strcmp(type, "reaction") == 0) {
        const char *target = opt_str(v, "message_id");
        const char *emoji = opt_str(v, "emoji");

        if (target == NULL) {
            *why = "reaction messages need \"message_id\"";
            return -1;
        }
        json_object_set_new(
            msg, "reaction",
            json_pack("{s:s,s:s}", "message_id", target, "emoji", emoji != NULL ? emoji : ""));
        return 0;
    }
    if (strcmp(type, "unsupported") == 0) {
        json_object_set_new(msg, "errors",
                            json_pack("[o]", sim_error_status_obj(131051, "Message type is "
                                                                          "currently not "
                                                                          "supported.")));
        json_object_set_new(msg, "unsupported", json_pack("{s:s}", "type", "poll_creation"));
        return 0;
    }
    *why = "type must be text, image, video, audio, document, sticker, location, interactive, "
           "button, reaction or unsupported";
    return -1;
}

static void inbound(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct sim *s = ud;
    json_t *v = body_object(req, resp);
    const char *from;
    const char *user_id;
    const char *name;
    const char *type;
    const char *pnid;
    const char *reply_to;
    const json_t *jts;
    const json_t *raw;
    const char *why = NULL;
    char wamid[SIM_WAMID_LEN];
    char ts[24];
    struct sim_limit_params lp;
    json_t *result;
    json_t *msg;
    json_t *contact;
    json_t *value;
    char *body;
    size_t len;
    int64_t when;
    long status;

    if (v == NULL)
        return;
    from = opt_str(v, "from");
    user_id = opt_str(v, "user_id");
    name = opt_str(v, "name");
    type = opt_str(v, "type") != NULL ? opt_str(v, "type") : "text";
    pnid =
        opt_str(v, "phone_number_id") != NULL ? opt_str(v, "phone_number_id") : sim_default_pnid(s);
    reply_to = opt_str(v, "reply_to");
    jts = json_object_get(v, "timestamp");
    raw = json_object_get(v, "message");
    if ((from == NULL && user_id == NULL) || (from != NULL && !gw_is_wa_id(from)) ||
        (user_id != NULL && !gw_is_bsuid(user_id))) {
        json_decref(v);
        bad_request(resp, "inbound: \"from\" (digits) and/or \"user_id\" (BSUID) are needed");
        return;
    }
    if ((jts != NULL && !json_is_integer(jts)) || (raw != NULL && !json_is_object(raw))) {
        json_decref(v);
        bad_request(resp, "inbound: \"timestamp\" is Unix seconds; \"message\" an object");
        return;
    }
    when = jts != NULL ? json_integer_value(jts) * 1000 : sim_now_ms(s);
    sim_new_wamid(s, wamid);
    result = json_pack("{s:s}", "wamid", wamid);
    msg = json_object();
    if (reply_to != NULL)
        json_object_set_new(
            msg, "context",
            json_pack("{s:s,s:s}", "from", sim_display_of(s, pnid), "id", reply_to));
    else if (json_is_true(json_object_get(v, "frequently_forwarded")))
        json_object_set_new(msg, "context",
                            json_pack("{s:b,s:b}", "forwarded", 1, "frequently_forwarded", 1));
    else if (json_is_true(json_object_get(v, "forwarded")))
        json_object_set_new(msg, "context", json_pack("{s:b}", "forwarded", 1));
    if (from != NULL)
        json_object_set_new(msg, "from", json_string(from));
    if (user_id != NULL)
        json_object_set_new(msg, "from_user_id", json_string(user_id));
    snprintf(ts, sizeof ts, "%lld", (long long)(when / 1000));
    json_object_set_new(msg, "id", json_string(wamid));
    json_object_set_new(msg, "timestamp", json_string(ts));
    json_object_set_new(msg, "type", json_string(type));
    if (raw == NULL && inbound_type(s, v, type, wamid, msg, result, &why) != 0) {
        json_decref(msg);
        json_decref(result);
        json_decref(v);
        bad_request(resp, why);
        return;
    }
    if (raw != NULL)
        json_object_update(msg, (json_t *)(uintptr_t)raw);
    contact = json_pack("{s:{s:s}}", "profile", "name", name != NULL ? name : "Test Citizen");
    if (opt_str(v, "username") != NULL)
        json_object_set_new(json_object_get(contact, "profile"), "username",
                            json_string(opt_str(v, "username")));
    if (from != NULL)
        json_object_set_new(contact, "wa_id", json_string(from));
    if (user_id != NULL)
        json_object_set_new(contact, "user_id", json_string(user_id));
    value = json_pack("{s:[o],s:[o]}", "contacts", contact, "messages", msg);

    /* the citizen wrote: the window opens, and the id can be marked read */
    sim_knobs_limits(s, &lp);
    if (from != NULL)
        sim_limits_set_inbound(s->limits, pnid, from, when, &lp);
    if (user_id != NULL)
        sim_limits_set_inbound(s->limits, pnid, user_id, when, &lp);
    sim_limits_add_inbound_id(s->limits, pnid, wamid);

    body = sim_hooks_envelope(s, pnid, value, &len);
    if (json_is_false(json_object_get(v, "deliver"))) {
        json_object_set_new(result, "webhook_status", json_integer(0));
        json_object_set_new(result, "delivered", json_false());
    } else {
        atomic_fetch_add(&s->counters.inbound, 1);
        status = sim_hooks_post_now(s->hooks, body, len, &why);
        if (status >= 200 && status < 300)
            atomic_fetch_add(&s->counters.inbound_ok, 1);
        else
            atomic_fetch_add(&s->counters.inbound_failed, 1);
        json_object_set_new(result, "webhook_status", json_integer(status));
        if (status == 0)
            json_object_set_new(result, "error", json_string(why));
        core_log_kv(CORE_LOG_DEBUG, SIM_MODULE, req->id, "inbound message posted",
                    json_pack("{s:s,s:i}", "type", type, "http_status", (int)status));
    }
    json_object_set_new(result, "body", json_stringn(body, len));
    free(body);
    json_decref(v);
    reply(resp, 200, result);
}

/* ======================= registration ======================= */

void sim_control_register(struct sim *s, struct core_httpd *h)
{
    core_httpd_route(h, "GET", "/_sim/health", 0, health, s);
    core_httpd_route(h, "GET", "/_sim/sends", 0, sends, s);
    core_httpd_route(h, "GET", "/_sim/counters", 0, counters, s);
    core_httpd_route(h, "POST", "/_sim/reset", 0, reset, s);
    core_httpd_route(h, "GET", "/_sim/faults", 0, faults_get, s);
    core_httpd_route(h, "POST", "/_sim/faults", SIM_CONTROL_BODY, faults_post, s);
    core_httpd_route(h, "DELETE", "/_sim/faults*", 0, faults_delete, s);
    core_httpd_route(h, "GET", "/_sim/clock", 0, clock_get, s);
    core_httpd_route(h, "POST", "/_sim/clock", SIM_CONTROL_BODY, clock_post, s);
    core_httpd_route(h, "GET", "/_sim/window", 0, window_get, s);
    core_httpd_route(h, "POST", "/_sim/window", SIM_CONTROL_BODY, window_post, s);
    core_httpd_route(h, "GET", "/_sim/config", 0, config_get, s);
    core_httpd_route(h, "POST", "/_sim/config", SIM_CONTROL_BODY, config_post, s);
    core_httpd_route(h, "POST", "/_sim/tokens", SIM_CONTROL_BODY, tokens_post, s);
    core_httpd_route(h, "GET", "/_sim/templates", 0, templates_get, s);
    core_httpd_route(h, "POST", "/_sim/templates", SIM_TEMPLATES_BODY, templates_post, s);
    core_httpd_route(h, "DELETE", "/_sim/templates", 0, templates_delete, s);
    core_httpd_route(h, "POST", "/_sim/media", (size_t)s->cfg->max_body_bytes, media_post, s);
    core_httpd_route(h, "POST", "/_sim/inbound", SIM_INBOUND_BODY, inbound, s);
}
