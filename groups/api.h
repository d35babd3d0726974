/*
 * groups/api.h - the HTTP API of broadcasts for the dashboard, under /api/:
 *
 *   POST /api/broadcasts                  create a draft (201 + preview); "confirm": true
 *                                         confirms it at once
 *   GET  /api/broadcasts[?limit=N]        the newest broadcasts the caller may see
 *   GET  /api/broadcasts/{id}             status, live counters, final report
 *   POST /api/broadcasts/{id}/confirm     start the fan-out
 *   POST /api/broadcasts/{id}/cancel      stop it
 *   GET  /api/units/{code}/reach          members, 24 h window and cost of a scope
 *                                         (?template=1&category=marketing for templates)
 *
 * Every request needs "Authorization: Bearer <api_token>" (compared in
 * constant time; 401 otherwise). The token acts as the operator
 * `api_operator`; a request on behalf of an officer adds the header
 * "X-Janseva-Officer: <officer code>" and is then limited to that
 * officer's jurisdiction (403 outside it). Answers are JSON; errors are
 * {"error": "..."} with 400, 401, 403, 404, 409, 413 or 503, never quoting
 * personal data. Handlers do Redis work only (the fan-out runs in the
 * broadcast worker). docs/broadcasts.md has the request and answer shapes.
 */
#ifndef JANSEVA_GROUPS_API_H
#define JANSEVA_GROUPS_API_H

#include "core/config.h"
#include "core/httpd.h"
#include "core/redis.h"
#include "crypto/audit.h"
#include "groups/broadcast.h"

#include <stdbool.h>

#define GRP_API_MAX_BODY 65536
#define GRP_API_OFFICER_HEADER "X-Janseva-Officer"

struct grp_api;

/*
 * The API over `cfg`, `bc`, `pool` and `audit` (borrowed; they must outlive
 * it; `audit` records changes of group settings), or NULL when
 * cfg->api_token is unset (the API is off).
 */
struct grp_api *grp_api_new(const struct core_cfg *cfg, struct grp_bc *bc,
                            struct core_redis_pool *pool, struct cry_audit *audit);

/* Free (wipes the token); NULL is a no-op. */
void grp_api_free(struct grp_api *api);

/* Register the routes on `h` (before core_httpd_start). */
void grp_api_register(struct grp_api *api, struct core_httpd *h);

/* ---- the request body of POST /api/broadcasts (exposed for the fuzzer) ---- */

struct grp_api_create {
    json_t *root;                              /* owns every string below */
    struct grp_bc_req req;                     /* borrowed pointers into root */
    const char *params[GRP_BC_MAX_PARAMS];
    bool confirm;                              /* confirm at once */
};

/*
 * Parse a create body: a JSON object with scope, text, text_hi, text_en,
 * template, params (array of strings), lang, category (strings) and
 * confirm (boolean), all optional, nothing else. Returns 0, or -1 with a
 * message in `why` that never quotes the input. The content rules are
 * checked later by grp_bc_prepare. Release with grp_api_create_free (also
 * after -1).
 */
int grp_api_parse_create(const char *body, size_t len, struct grp_api_create *out, char *why,
                         size_t n);

/* Release a parsed body. */
void grp_api_create_free(struct grp_api_create *c);

/* Constant-time check of an Authorization header value against `token`. */
bool grp_api_auth_ok(const char *header, const char *token);

#endif
