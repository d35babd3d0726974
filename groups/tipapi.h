/*
 * groups/tipapi.h - the tips HTTP API, for the dashboard and scripts.
 *
 *   GET  /api/tips[?state=open|closed&limit=N]   cases the caller may see
 *   GET  /api/tips/{case}                        one case, decrypted
 *   GET  /api/tips/{case}/media/{n}              the media of item n
 *   POST /api/tips/{case}/replies  {"text":..., "key":...}   reply (202)
 *   POST /api/tips/{case}/close    {"reason":...}            close
 *
 * {case} is a case id or a pseudonym (T-4KQ9-27). Every request needs
 * `Authorization: Bearer <api_token>` (JANSEVA_API_TOKEN; compared in
 * constant time; unset: 503). The token holder is an operator with HQ
 * visibility; a front end that has authenticated an officer adds
 * `X-Janseva-Officer: <officer member id>` and the answers are limited to
 * that officer's jurisdiction (js:off:{MID}). A case outside it answers 404,
 * like a case that does not exist. Answers never contain a number, a name or
 * a member id; they carry `Cache-Control: no-store`. Reveals are not on the
 * API: they are a console ceremony (janseva tip reveal, docs/tips.md).
 */
#ifndef JANSEVA_GROUPS_TIPAPI_H
#define JANSEVA_GROUPS_TIPAPI_H

#include "core/config.h"
#include "core/httpd.h"
#include "core/redis.h"
#include "groups/tip.h"

#include <stddef.h>

#define GRP_TIPAPI_REF_MAX 80
#define GRP_TIPAPI_LIMIT_MAX 1000

enum grp_tipapi_op {
    GRP_TIPAPI_LIST = 0,
    GRP_TIPAPI_GET,
    GRP_TIPAPI_MEDIA,
    GRP_TIPAPI_REPLY,
    GRP_TIPAPI_CLOSE,
};

/* A parsed request. `text` and `reason` point into `owned` (free with
 * grp_tipapi_req_cleanup). */
struct grp_tipapi_req {
    enum grp_tipapi_op op;
    char ref[GRP_TIPAPI_REF_MAX + 1];
    long n;                 /* media item */
    char state[8];          /* list filter: "", "open", "closed" */
    size_t limit;           /* list size */
    char key[101];          /* reply idempotency key, or "" */
    const char *text;       /* reply text */
    const char *reason;     /* close reason, or NULL */
    json_t *owned;
};

/*
 * Parse method, path, query values (may be NULL) and body into `out`.
 * Returns the HTTP status to answer when the request is bad (400, 404,
 * 405) with a one-line reason in `msg`, or 0 when `out` is ready. Never
 * crashes on any input (fuzzed).
 */
int grp_tipapi_parse(const char *method, const char *path, const char *q_state,
                     const char *q_limit, const char *body, size_t body_len,
                     struct grp_tipapi_req *out, char *msg, size_t msg_len);

/* Release what a parse kept. */
void grp_tipapi_req_cleanup(struct grp_tipapi_req *req);

struct grp_tipapi;

/* The API over `cfg`, `t` and `pool` (borrowed). Never fails. */
struct grp_tipapi *grp_tipapi_new(const struct core_cfg *cfg, struct grp_tip *t,
                                  struct core_redis_pool *pool);

/* Register the routes on `httpd` (before it starts). */
void grp_tipapi_register(struct grp_tipapi *api, struct core_httpd *httpd);

/* Free (after the server stopped). NULL is a no-op. */
void grp_tipapi_free(struct grp_tipapi *api);

#endif
