/*
 * groups/tipapi.c - the tips HTTP API (see tipapi.h).
 */
#include "groups/tipapi.h"
#include "groups/officer.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "/api/tips"
#define LIMIT_DEFAULT 100

struct grp_tipapi {
    const struct core_cfg *cfg;
    struct grp_tip *t;
    struct core_redis_pool *pool;
};

/* ======================= parsing ======================= */

static int fail(char *msg, size_t n, int status, const char *text)
{
    snprintf(msg, n, "%s", text);
    return status;
}

/* The next path segment after `*p` (which points at '/'), into `out`. */
static int segment(const char **p, char *out, size_t n)
{
    const char *s = *p;
    size_t k = 0;

    if (*s != '/')
        return -1;
    s++;
    while (*s != '\0' && *s != '/') {
        char c = *s;

        if (k + 1 >= n || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                            (c >= 'A' && c <= 'Z') || c == '-' || c == '_' || c == '.'))
            return -1;
        out[k++] = c;
        s++;
    }
    out[k] = '\0';
    *p = s;
    return k > 0 ? 0 : -1;
}

static json_t *body_object(const char *body, size_t len, char *msg, size_t n, int *status)
{
    json_t *j;

    *status = 0;
    if (len == 0) {
        *status = fail(msg, n, 400, "a JSON object body is needed");
        return NULL;
    }
    j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        *status = fail(msg, n, 400, "the body is not a JSON object");
        return NULL;
    }
    return j;
}

int grp_tipapi_parse(const char *method, const char *path, const char *q_state,
                     const char *q_limit, const char *body, size_t body_len,
                     struct grp_tipapi_req *out, char *msg, size_t msg_len)
{
    const char *p;
    char seg[GRP_TIPAPI_REF_MAX + 1];
    int get;
    int post;

    memset(out, 0, sizeof *out);
    msg[0] = '\0';
    if (method == NULL || path == NULL || strncmp(path, PREFIX, strlen(PREFIX)) != 0)
        return fail(msg, msg_len, 404, "not found");
    get = strcmp(method, "GET") == 0;
    post = strcmp(method, "POST") == 0;
    p = path + strlen(PREFIX);
    if (*p == '\0' || strcmp(p, "/") == 0) {
        int64_t lim = LIMIT_DEFAULT;

        if (!get)
            return fail(msg, msg_len, 405, "method not allowed");
        out->op = GRP_TIPAPI_LIST;
        if (q_state != NULL && q_state[0] != '\0') {
            if (strcmp(q_state, "open") != 0 && strcmp(q_state, "closed") != 0)
                return fail(msg, msg_len, 400, "state is open or closed");
            snprintf(out->state, sizeof out->state, "%s", q_state);
        }
        if (q_limit != NULL && (core_parse_i64(q_limit, &lim) != 0 || lim < 1 ||
                                lim > GRP_TIPAPI_LIMIT_MAX))
            return fail(msg, msg_len, 400, "limit is 1-1000");
        out->limit = (size_t)lim;
        return 0;
    }
    if (segment(&p, out->ref, sizeof out->ref) != 0)
        return fail(msg, msg_len, 404, "not found");
    if (*p == '\0' || strcmp(p, "/") == 0) {
        if (!get)
            return fail(msg, msg_len, 405, "method not allowed");
        out->op = GRP_TIPAPI_GET;
        return 0;
    }
    if (segment(&p, seg, sizeof seg) != 0)
        return fail(msg, msg_len, 404, "not found");
    if (strcmp(seg, "media") == 0) {
        char nb[24];
        int64_t n;

        if (segment(&p, nb, sizeof nb) != 0 || *p != '\0' || core_parse_i64(nb, &n) != 0 ||
            n < 1 || n > 10000000)
            return fail(msg, msg_len, 404, "not found");
        if (!get)
            return fail(msg, msg_len, 405, "method not allowed");
        out->op = GRP_TIPAPI_MEDIA;
        out->n = (long)n;
        return 0;
    }
    if (*p != '\0')
        return fail(msg, msg_len, 404, "not found");
    if (strcmp(seg, "replies") == 0) {
        int st;
        json_t *k;

        if (!post)
            return fail(msg, msg_len, 405, "method not allowed");
        out->op = GRP_TIPAPI_REPLY;
        out->owned = body_object(body, body_len, msg, msg_len, &st);
        if (out->owned == NULL)
            return st;
        out->text = json_string_value(json_object_get(out->owned, "text"));
        if (out->text == NULL || out->text[0] == '\0') {
            grp_tipapi_req_cleanup(out);
            return fail(msg, msg_len, 400, "\"text\" (a non-empty string) is needed");
        }
        k = json_object_get(out->owned, "key");
        if (k != NULL) {
            const char *ks = json_string_value(k);

            if (ks == NULL || ks[0] == '\0' || strlen(ks) >= sizeof out->key) {
                grp_tipapi_req_cleanup(out);
                return fail(msg, msg_len, 400, "\"key\" is a string of 1-100 bytes");
            }
            snprintf(out->key, sizeof out->key, "%s", ks);
        }
        return 0;
    }
    if (strcmp(seg, "close") == 0) {
        if (!post)
            return fail(msg, msg_len, 405, "method not allowed");
        out->op = GRP_TIPAPI_CLOSE;
        if (body_len > 0) {
            int st;
            json_t *r;

            out->owned = body_object(body, body_len, msg, msg_len, &st);
            if (out->owned == NULL)
                return st;
            r = json_object_get(out->owned, "reason");
            if (r != NULL && (!json_is_string(r) || strlen(json_string_value(r)) > 400)) {
                grp_tipapi_req_cleanup(out);
                return fail(msg, msg_len, 400, "\"reason\" is a string of at most 400 bytes");
            }
            out->reason = json_string_value(r);
        }
        return 0;
    }
    return fail(msg, msg_len, 404, "not found");
}

void grp_tipapi_req_cleanup(struct grp_tipapi_req *req)
{
    json_decref(req->owned);
    req->owned = NULL;
    req->text = NULL;
    req->reason = NULL;
}

/* ======================= answering ======================= */

static void json_answer(struct core_http_resp *resp, int status, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);

    core_http_resp_json(resp, status, s != NULL ? s : "{}");
    core_http_resp_header(resp, "Cache-Control", "no-store");
    if (s != NULL) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
    json_decref(j);
}

static void error_answer(struct core_http_resp *resp, int status, const char *msg)
{
    json_answer(resp, status, json_pack("{s:s}", "error", msg));
}

static int status_of(const struct core_err *err)
{
    switch (err->code) {
    case CORE_EX_NOINPUT:
        return 404;
    case CORE_EX_DATAERR:
    case CORE_EX_USAGE:
        return 400;
    case CORE_EX_NOPERM:
        return 403;
    case CORE_EX_UNAVAILABLE:
    case CORE_EX_TEMPFAIL:
        return 503;
    default:
        return 500;
    }
}

/* Constant-time comparison of the presented token with the configured one. */
static int token_ok(const char *configured, const char *header)
{
    unsigned char a[32], b[32];
    const char *given;

    if (header == NULL || strncmp(header, "Bearer ", 7) != 0)
        return 0;
    given = header + 7;
    crypto_generichash(a, sizeof a, (const unsigned char *)configured, strlen(configured), NULL,
                       0);
    crypto_generichash(b, sizeof b, (const unsigned char *)given, strlen(given), NULL, 0);
    return sodium_memcmp(a, b, sizeof a) == 0;
}

static void handle(struct grp_tipapi *api, struct core_redis *r, const struct core_http_req *req,
                   const struct grp_tipapi_req *q, struct core_http_resp *resp)
{
    struct grp_tip_viewer v;
    struct core_err err;
    const char *officer = core_http_req_header(req, "X-Janseva-Officer");

    core_err_clear(&err);
    if (officer != NULL) {
        struct grp_officer o;
        int found;

        /* the same header as the broadcast API: the officer's code */
        found = grp_off_find_code(r, officer, &o, &err);
        if (found < 0) {
            error_answer(resp, status_of(&err), "service unavailable");
            return;
        }
        if (found == 0) {
            error_answer(resp, 403, "unknown officer");
            return;
        }
        if (grp_tip_viewer_officer(r, o.mid, &v, &err) != 0) {
            error_answer(resp, err.code == CORE_EX_NOPERM ? 403 : status_of(&err),
                         err.code == CORE_EX_NOPERM ? "this officer has no access to tips"
                                                    : "service unavailable");
            return;
        }
    } else {
        grp_tip_viewer_operator(&v, "api");
    }
    switch (q->op) {
    case GRP_TIPAPI_LIST: {
        json_t *l = grp_tip_list(api->t, r, &v, q->state[0] ? q->state : NULL, q->limit, &err);

        if (l == NULL)
            break;
        json_answer(resp, 200, json_pack("{s:o}", "cases", l));
        return;
    }
    case GRP_TIPAPI_GET: {
        json_t *view = grp_tip_view(api->t, r, &v, q->ref, &err);

        if (view == NULL)
            break;
        json_answer(resp, 200, view);
        return;
    }
    case GRP_TIPAPI_MEDIA: {
        unsigned char *data = NULL;
        size_t len = 0;
        char mime[80];
        char disp[80];

        if (grp_tip_media(api->t, r, &v, q->ref, q->n, &data, &len, mime, &err) != 0)
            break;
        resp->status = 200;
        resp->content_type = strcmp(mime, "image/jpeg") == 0         ? "image/jpeg"
                             : strcmp(mime, "image/png") == 0        ? "image/png"
                             : strcmp(mime, "image/webp") == 0       ? "image/webp"
                             : strcmp(mime, "audio/ogg") == 0        ? "audio/ogg"
                             : strcmp(mime, "audio/mpeg") == 0       ? "audio/mpeg"
                             : strcmp(mime, "audio/aac") == 0        ? "audio/aac"
                             : strcmp(mime, "audio/amr") == 0        ? "audio/amr"
                             : strcmp(mime, "audio/mp4") == 0        ? "audio/mp4"
                             : strcmp(mime, "video/mp4") == 0        ? "video/mp4"
                             : strcmp(mime, "video/3gpp") == 0       ? "video/3gpp"
                             : strcmp(mime, "application/pdf") == 0  ? "application/pdf"
                                                                      : "application/octet-stream";
        core_buf_append(&resp->body, data, len);
        grp_tip_media_release(data, len);
        snprintf(disp, sizeof disp, "attachment; filename=\"tip-item-%ld\"", q->n);
        core_http_resp_header(resp, "Content-Disposition", disp);
        core_http_resp_header(resp, "X-Content-Type-Options", "nosniff");
        core_http_resp_header(resp, "Cache-Control", "no-store");
        return;
    }
    case GRP_TIPAPI_REPLY: {
        struct grp_tip_reply_result rr;

        if (grp_tip_reply(api->t, r, &v, q->ref, q->text, q->key[0] ? q->key : NULL, &rr,
                          &err) != 0)
            break;
        json_answer(resp, 202,
                    json_pack("{s:I,s:s,s:b,s:s}", "reply", (json_int_t)rr.n, "key", rr.key,
                              "duplicate", rr.duplicate, "delivery", "queued"));
        return;
    }
    case GRP_TIPAPI_CLOSE:
        if (grp_tip_close(api->t, r, &v, q->ref, q->reason, &err) != 0)
            break;
        json_answer(resp, 200, json_pack("{s:s}", "state", "closed"));
        return;
    }
    if (status_of(&err) >= 500)
        core_log_warn("tipapi", req->id, "%s", err.msg);
    error_answer(resp, status_of(&err),
                 err.code == CORE_EX_NOINPUT ? "no such case"
                 : status_of(&err) == 400    ? err.msg
                 : status_of(&err) == 503    ? "service unavailable, try again"
                                             : "internal error");
}

static void on_request(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct grp_tipapi *api = ud;
    struct grp_tipapi_req q;
    struct core_redis *r;
    char msg[128];
    int st;

    if (!core_cfg_is_set(api->cfg->api_token)) {
        error_answer(resp, 503, "the API is off: set JANSEVA_API_TOKEN");
        return;
    }
    if (!token_ok(api->cfg->api_token, core_http_req_header(req, "Authorization"))) {
        core_http_resp_header(resp, "WWW-Authenticate", "Bearer");
        error_answer(resp, 401, "a valid bearer token is needed");
        return;
    }
    st = grp_tipapi_parse(req->method, req->path, core_http_req_query(req, "state"),
                          core_http_req_query(req, "limit"), req->body, req->body_len, &q, msg,
                          sizeof msg);
    if (st != 0) {
        error_answer(resp, st, msg);
        return;
    }
    r = core_redis_pool_get(api->pool);
    handle(api, r, req, &q, resp);
    core_redis_pool_put(api->pool, r);
    grp_tipapi_req_cleanup(&q);
}

struct grp_tipapi *grp_tipapi_new(const struct core_cfg *cfg, struct grp_tip *t,
                                  struct core_redis_pool *pool)
{
    struct grp_tipapi *api = core_calloc(1, sizeof *api);

    api->cfg = cfg;
    api->t = t;
    api->pool = pool;
    return api;
}

void grp_tipapi_register(struct grp_tipapi *api, struct core_httpd *httpd)
{
    core_httpd_route(httpd, NULL, PREFIX "*", 0, on_request, api);
}

void grp_tipapi_free(struct grp_tipapi *api)
{
    free(api);
}
