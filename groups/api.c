/*
 * groups/api.c - the broadcast HTTP API (see api.h).
 */
#include "groups/api.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"
#include "groups/gsettings.h"
#include "groups/officer.h"

#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 50
#define LIST_LIMIT 200

struct grp_api {
    const struct core_cfg *cfg;
    struct grp_bc *bc;
    struct core_redis_pool *pool;
    struct cry_audit *audit;
    char *token;
    char operator_name[GRP_BC_ACTOR_MAX];
};

CORE_COUNTER(m_req, "janseva_api_requests_total", "result=\"ok\"", "API requests by result");
CORE_COUNTER(m_unauth, "janseva_api_requests_total", "result=\"unauthorized\"",
             "API requests by result");
CORE_COUNTER(m_forbidden, "janseva_api_requests_total", "result=\"forbidden\"",
             "API requests by result");
CORE_COUNTER(m_bad, "janseva_api_requests_total", "result=\"error\"", "API requests by result");

struct grp_api *grp_api_new(const struct core_cfg *cfg, struct grp_bc *bc,
                            struct core_redis_pool *pool, struct cry_audit *audit)
{
    struct grp_api *api;

    if (!core_cfg_is_set(cfg->api_token))
        return NULL;
    api = core_calloc(1, sizeof *api);
    api->cfg = cfg;
    api->bc = bc;
    api->pool = pool;
    api->audit = audit;
    api->token = core_strdup(cfg->api_token);
    snprintf(api->operator_name, sizeof api->operator_name, "api:%s", cfg->api_operator);
    core_metrics_register(&m_req);
    core_metrics_register(&m_unauth);
    core_metrics_register(&m_forbidden);
    core_metrics_register(&m_bad);
    return api;
}

void grp_api_free(struct grp_api *api)
{
    if (api == NULL)
        return;
    sodium_memzero(api->token, strlen(api->token));
    free(api->token);
    free(api);
}

bool grp_api_auth_ok(const char *header, const char *token)
{
    unsigned char a[32];
    unsigned char b[32];
    const char *given;

    if (header == NULL || token == NULL || strncmp(header, "Bearer ", 7) != 0)
        return false;
    given = header + 7;
    /* compare fixed-size hashes: the time depends on neither content nor length */
    crypto_generichash(a, sizeof a, (const unsigned char *)given, strlen(given), NULL, 0);
    crypto_generichash(b, sizeof b, (const unsigned char *)token, strlen(token), NULL, 0);
    return sodium_memcmp(a, b, sizeof a) == 0;
}

/* ======================= request body ======================= */

void grp_api_create_free(struct grp_api_create *c)
{
    json_decref(c->root);
    memset(c, 0, sizeof *c);
}

static int get_str(json_t *v, const char **out)
{
    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 0;
}

int grp_api_parse_create(const char *body, size_t len, struct grp_api_create *out, char *why,
                         size_t n)
{
    static const char *const known[] = {"scope",  "text",     "text_hi", "text_en", "template",
                                        "params", "lang",     "category", "confirm"};
    json_error_t jerr;
    const char *k;
    json_t *v;
    json_t *params;

    memset(out, 0, sizeof *out);
    out->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (out->root == NULL) {
        snprintf(why, n, "the body is not JSON (line %d, column %d)", jerr.line, jerr.column);
        return -1;
    }
    if (!json_is_object(out->root)) {
        snprintf(why, n, "the body must be a JSON object");
        return -1;
    }
    json_object_foreach(out->root, k, v)
    {
        size_t i;

        for (i = 0; i < sizeof known / sizeof known[0]; i++) {
            if (strcmp(k, known[i]) == 0)
                break;
        }
        if (i == sizeof known / sizeof known[0]) {
            snprintf(why, n, "unknown field (known: scope, text, text_hi, text_en, template, "
                             "params, lang, category, confirm)");
            return -1;
        }
    }
    if (get_str(json_object_get(out->root, "scope"), &out->req.scope) != 0 ||
        get_str(json_object_get(out->root, "text"), &out->req.text) != 0 ||
        get_str(json_object_get(out->root, "text_hi"), &out->req.text_hi) != 0 ||
        get_str(json_object_get(out->root, "text_en"), &out->req.text_en) != 0 ||
        get_str(json_object_get(out->root, "template"), &out->req.template_name) != 0 ||
        get_str(json_object_get(out->root, "lang"), &out->req.lang) != 0 ||
        get_str(json_object_get(out->root, "category"), &out->req.category) != 0) {
        snprintf(why, n, "scope, text, text_hi, text_en, template, lang and category must be "
                         "strings");
        return -1;
    }
    v = json_object_get(out->root, "confirm");
    if (v != NULL && !json_is_boolean(v)) {
        snprintf(why, n, "confirm must be true or false");
        return -1;
    }
    out->confirm = json_is_true(v);
    params = json_object_get(out->root, "params");
    if (params != NULL) {
        size_t i;
        json_t *p;

        if (!json_is_array(params) || json_array_size(params) > GRP_BC_MAX_PARAMS) {
            snprintf(why, n, "params must be an array of at most %d strings", GRP_BC_MAX_PARAMS);
            return -1;
        }
        json_array_foreach(params, i, p)
        {
            if (!json_is_string(p)) {
                snprintf(why, n, "params must be an array of at most %d strings",
                         GRP_BC_MAX_PARAMS);
                return -1;
            }
            out->params[i] = json_string_value(p);
        }
        out->req.params = out->params;
        out->req.n_params = json_array_size(params);
    }
    return 0;
}

/* ======================= answers ======================= */

static void answer_json(struct core_http_resp *resp, int status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

    core_http_resp_json(resp, status, text != NULL ? text : "{}");
    free(text);
    json_decref(j);
}

static void answer_error(struct core_http_resp *resp, int status, const char *msg)
{
    core_metric_inc(status == MHD_HTTP_UNAUTHORIZED ? &m_unauth
                    : status == MHD_HTTP_FORBIDDEN  ? &m_forbidden
                                                    : &m_bad);
    answer_json(resp, status, json_pack("{s:s}", "error", msg));
}

/* An engine result as an HTTP answer (errors only). */
static void answer_rc(struct core_http_resp *resp, const struct core_http_req *req,
                      enum grp_bc_rc rc, const struct core_err *err)
{
    switch (rc) {
    case GRP_BC_OK:
        break;
    case GRP_BC_ENOTFOUND:
        answer_error(resp, MHD_HTTP_NOT_FOUND, err->msg);
        return;
    case GRP_BC_EFORBIDDEN:
        answer_error(resp, MHD_HTTP_FORBIDDEN, err->msg);
        return;
    case GRP_BC_EINVALID:
        answer_error(resp, MHD_HTTP_BAD_REQUEST, err->msg);
        return;
    case GRP_BC_EEXPIRED:
    case GRP_BC_ESTATE:
        answer_error(resp, MHD_HTTP_CONFLICT, err->msg);
        return;
    case GRP_BC_EFAIL:
        core_log_warn("api", req->id, "%s", err->msg);
        if (err->code == CORE_EX_UNAVAILABLE || err->code == CORE_EX_CONFIG)
            answer_error(resp, MHD_HTTP_SERVICE_UNAVAILABLE,
                         err->code == CORE_EX_CONFIG ? err->msg
                                                     : "storage unavailable, try again");
        else
            answer_error(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
        return;
    }
}

/* ======================= requests ======================= */

/* Authenticate and find the actor. Returns 0, or -1 with the answer made. */
static int authorise(struct grp_api *api, struct core_redis *r, const struct core_http_req *req,
                     struct core_http_resp *resp, struct grp_bc_actor *who)
{
    const char *code;
    struct core_err err;
    enum grp_bc_rc rc;

    if (!grp_api_auth_ok(core_http_req_header(req, "Authorization"), api->token)) {
        core_http_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"janseva\"");
        answer_error(resp, MHD_HTTP_UNAUTHORIZED, "a valid API token is required");
        return -1;
    }
    code = core_http_req_header(req, GRP_API_OFFICER_HEADER);
    if (code == NULL) {
        grp_bc_actor_operator(who, api->operator_name);
        return 0;
    }
    core_err_clear(&err);
    rc = grp_bc_actor_officer_code(r, code, who, &err);
    if (rc == GRP_BC_ENOTFOUND) {
        answer_error(resp, MHD_HTTP_FORBIDDEN, "unknown officer code");
        return -1;
    }
    if (rc != GRP_BC_OK) {
        answer_rc(resp, req, rc, &err);
        return -1;
    }
    return 0;
}

static void status_answer(struct grp_api *api, struct core_redis *r,
                          const struct core_http_req *req, struct core_http_resp *resp,
                          const struct grp_bc_actor *who, const char *id, int http_status)
{
    struct grp_bc_status st;
    struct core_err err;
    enum grp_bc_rc rc;

    core_err_clear(&err);
    rc = grp_bc_status(api->bc, r, who, id, &st, &err);
    if (rc != GRP_BC_OK) {
        answer_rc(resp, req, rc, &err);
        return;
    }
    core_metric_inc(&m_req);
    answer_json(resp, http_status, grp_bc_status_json(&st));
}

static void do_create(struct grp_api *api, struct core_redis *r, const struct core_http_req *req,
                      struct core_http_resp *resp, const struct grp_bc_actor *who)
{
    struct grp_api_create c;
    struct grp_bc_preview p;
    struct core_err err;
    char why[200];
    enum grp_bc_rc rc;
    json_t *j;

    if (grp_api_parse_create(req->body, req->body_len, &c, why, sizeof why) != 0) {
        grp_api_create_free(&c);
        answer_error(resp, MHD_HTTP_BAD_REQUEST, why);
        return;
    }
    core_err_clear(&err);
    rc = grp_bc_prepare(api->bc, r, who, &c.req, &p, &err);
    if (rc == GRP_BC_OK && c.confirm)
        rc = grp_bc_confirm(api->bc, r, who, p.id, &err);
    if (rc != GRP_BC_OK) {
        grp_api_create_free(&c);
        answer_rc(resp, req, rc, &err);
        return;
    }
    core_metric_inc(&m_req);
    j = grp_bc_preview_json(&p);
    if (c.confirm)
        json_object_set_new(j, "state", json_string("confirmed"));
    grp_api_create_free(&c);
    {
        char loc[64];

        snprintf(loc, sizeof loc, "/api/broadcasts/%s", p.id);
        core_http_resp_header(resp, "Location", loc);
    }
    answer_json(resp, MHD_HTTP_CREATED, j);
}

static void do_list(struct grp_api *api, struct core_redis *r, const struct core_http_req *req,
                    struct core_http_resp *resp, const struct grp_bc_actor *who)
{
    const char *ls = core_http_req_query(req, "limit");
    int64_t limit = LIST_DEFAULT;
    struct core_err err;
    char **ids = NULL;
    size_t n = 0;
    enum grp_bc_rc rc;
    json_t *arr;

    if (ls != NULL && (core_parse_i64(ls, &limit) != 0 || limit < 1 || limit > LIST_LIMIT)) {
        answer_error(resp, MHD_HTTP_BAD_REQUEST, "limit must be 1-200");
        return;
    }
    core_err_clear(&err);
    rc = grp_bc_list(api->bc, r, who, (size_t)limit, &ids, &n, &err);
    if (rc != GRP_BC_OK) {
        answer_rc(resp, req, rc, &err);
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        struct grp_bc_status st;

        if (grp_bc_status(api->bc, r, who, ids[i], &st, &err) == GRP_BC_OK)
            json_array_append_new(arr, grp_bc_status_json(&st));
    }
    grp_codes_free(ids, n);
    core_metric_inc(&m_req);
    answer_json(resp, MHD_HTTP_OK, json_pack("{s:o}", "broadcasts", arr));
}

static void on_broadcasts(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct grp_api *api = ud;
    struct core_redis *r = core_redis_pool_get(api->pool);
    struct grp_bc_actor who;
    const char *rest = req->path + strlen("/api/broadcasts");

    if (authorise(api, r, req, resp, &who) != 0)
        goto out;
    if (rest[0] == '\0') {
        if (strcmp(req->method, "POST") == 0)
            do_create(api, r, req, resp, &who);
        else if (strcmp(req->method, "GET") == 0)
            do_list(api, r, req, resp, &who);
        else
            answer_error(resp, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET or POST");
        goto out;
    }
    if (rest[0] == '/') {
        char id[GRP_BC_ID_LEN];
        const char *slash = strchr(rest + 1, '/');
        size_t idlen = slash != NULL ? (size_t)(slash - rest - 1) : strlen(rest + 1);
        const char *action = slash != NULL ? slash + 1 : NULL;

        if (idlen != GRP_BC_ID_LEN - 1) {
            answer_error(resp, MHD_HTTP_NOT_FOUND, "no such broadcast");
            goto out;
        }
        memcpy(id, rest + 1, idlen);
        id[idlen] = '\0';
        if (!grp_bc_id_ok(id)) {
            answer_error(resp, MHD_HTTP_NOT_FOUND, "no such broadcast");
            goto out;
        }
        if (action == NULL) {
            if (strcmp(req->method, "GET") != 0)
                answer_error(resp, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
            else
                status_answer(api, r, req, resp, &who, id, MHD_HTTP_OK);
            goto out;
        }
        if (strcmp(action, "confirm") == 0 || strcmp(action, "cancel") == 0) {
            struct core_err err;
            enum grp_bc_rc rc;

            if (strcmp(req->method, "POST") != 0) {
                answer_error(resp, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
                goto out;
            }
            core_err_clear(&err);
            rc = action[1] == 'o' ? grp_bc_confirm(api->bc, r, &who, id, &err)
                                  : grp_bc_cancel(api->bc, r, &who, id, &err);
            if (rc != GRP_BC_OK)
                answer_rc(resp, req, rc, &err);
            else
                status_answer(api, r, req, resp, &who, id, MHD_HTTP_OK);
            goto out;
        }
    }
    answer_error(resp, MHD_HTTP_NOT_FOUND, "no such resource");
out:
    core_redis_pool_put(api->pool, r);
}

/* An error of the group settings as an HTTP answer. */
static void answer_gs_error(struct core_http_resp *resp, const struct core_http_req *req,
                            const struct core_err *err)
{
    if (err->code == CORE_EX_NOINPUT)
        answer_error(resp, MHD_HTTP_NOT_FOUND, err->msg);
    else if (err->code == CORE_EX_DATAERR)
        answer_error(resp, MHD_HTTP_BAD_REQUEST, err->msg);
    else
        answer_rc(resp, req, GRP_BC_EFAIL, err);
}

/*
 * GET /api/units/{CODE}/settings: the group's settings and today's numbers;
 * PUT (or POST) with {"relay": "each"|"digest"}: change them (audited), then
 * the same answer. An officer only for a group inside their jurisdiction.
 */
static void unit_settings(struct grp_api *api, struct core_redis *r,
                          const struct core_http_req *req, struct core_http_resp *resp,
                          const struct grp_bc_actor *who, const char *code)
{
    struct core_err err;
    json_t *j = NULL;

    core_err_clear(&err);
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "PUT") != 0 &&
        strcmp(req->method, "POST") != 0) {
        answer_error(resp, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET, or PUT to change");
        return;
    }
    if (grp_gs_locality(r, code, &err) != 0) {
        answer_gs_error(resp, req, &err);
        return;
    }
    if (who->kind == GRP_BC_OFFICER) {
        int ok = 0;

        if (grp_off_may_reach(r, &who->officer, code, &ok, &err) != 0) {
            answer_gs_error(resp, req, &err);
            return;
        }
        if (!ok) {
            answer_error(resp, MHD_HTTP_FORBIDDEN, "the group is outside the officer's "
                                                   "jurisdiction");
            return;
        }
    }
    if (strcmp(req->method, "GET") != 0) {
        /* every setting checked before any is changed */
        struct grp_gs_change ch[GRP_GS_MAX];
        char why[160];
        int n = grp_gs_parse_body(req->body, req->body_len, ch, why, sizeof why);

        if (n < 0) {
            answer_error(resp, MHD_HTTP_BAD_REQUEST, why);
            return;
        }
        for (int i = 0; i < n; i++) {
            if (grp_gs_set(r, api->audit, who->name, code, ch[i].name, ch[i].value, NULL,
                           &err) != 0) {
                answer_gs_error(resp, req, &err);
                return;
            }
        }
    }
    if (grp_gs_show(r, api->cfg, code, &j, &err) != 0) {
        answer_gs_error(resp, req, &err);
        return;
    }
    core_metric_inc(&m_req);
    answer_json(resp, MHD_HTTP_OK, j);
}

static void on_units(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct grp_api *api = ud;
    struct core_redis *r = core_redis_pool_get(api->pool);
    struct grp_bc_actor who;
    const char *rest = req->path + strlen("/api/units/");
    const char *slash = strchr(rest, '/');
    char code[GRP_CODE_MAX + 1];
    struct grp_bc_req breq;
    struct grp_bc_reach reach;
    struct core_err err;
    enum grp_bc_rc rc;
    const char *tpl = core_http_req_query(req, "template");
    const char *cat = core_http_req_query(req, "category");

    if (authorise(api, r, req, resp, &who) != 0)
        goto out;
    if (slash == NULL || (strcmp(slash, "/reach") != 0 && strcmp(slash, "/settings") != 0) ||
        slash == rest || (size_t)(slash - rest) > GRP_CODE_MAX) {
        answer_error(resp, MHD_HTTP_NOT_FOUND, "no such resource");
        goto out;
    }
    memcpy(code, rest, (size_t)(slash - rest));
    code[slash - rest] = '\0';
    if (strcmp(slash, "/settings") == 0) {
        unit_settings(api, r, req, resp, &who, code);
        goto out;
    }
    if (strcmp(req->method, "GET") != 0) {
        answer_error(resp, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
        goto out;
    }
    if (cat != NULL && strcmp(cat, "utility") != 0 && strcmp(cat, "marketing") != 0) {
        answer_error(resp, MHD_HTTP_BAD_REQUEST, "category must be utility or marketing");
        goto out;
    }
    memset(&breq, 0, sizeof breq);
    if (tpl != NULL && strcmp(tpl, "1") == 0) {
        breq.template_name = "any";
        breq.category = cat;
    }
    core_err_clear(&err);
    rc = grp_bc_estimate(api->bc, r, &who, code, &breq, &reach, &err);
    if (rc != GRP_BC_OK) {
        answer_rc(resp, req, rc, &err);
        goto out;
    }
    core_metric_inc(&m_req);
    answer_json(resp, MHD_HTTP_OK, grp_bc_reach_json(&reach));
out:
    core_redis_pool_put(api->pool, r);
}

void grp_api_register(struct grp_api *api, struct core_httpd *h)
{
    core_httpd_route(h, NULL, "/api/broadcasts", GRP_API_MAX_BODY, on_broadcasts, api);
    core_httpd_route(h, NULL, "/api/broadcasts/*", GRP_API_MAX_BODY, on_broadcasts, api);
    core_httpd_route(h, NULL, "/api/units/*", GRP_API_MAX_BODY, on_units, api);
}
