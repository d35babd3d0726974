/*
 * core/httpd.h - the HTTP server shared by the webhook endpoint, the health
 * and metrics endpoints and the dashboard (libmicrohttpd, epoll + thread
 * pool).
 *
 * Modules register routes; a handler runs once the whole body has arrived
 * (bodies beyond the route's limit are answered 413 without calling the
 * handler: at once when Content-Length announces it, otherwise after the
 * excess has been discarded). Unknown paths get 404, a known path with
 * another method 405. Every request gets a random 16-hex-digit request id,
 * returned in the X-Request-Id header and used in log lines.
 *
 * Handlers run on the server's worker threads and must not block for long
 * (no Graph API calls; Redis round trips are fine).
 *
 * A handler may also ask for its answer to be held back (`delay_ms`) or for
 * the connection to be closed without any answer (`drop`): a held response
 * suspends the connection instead of a worker thread, so thousands can wait
 * at once. Holding requires core_httpd_enable_delays() before start.
 */
#ifndef JANSEVA_CORE_HTTPD_H
#define JANSEVA_CORE_HTTPD_H

#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"

#include <stddef.h>
#include <stdint.h>

struct core_httpd;
struct MHD_Connection;

#define CORE_HTTP_MAX_HEADERS 8

/* A complete request. All pointers are borrowed for the handler's duration. */
struct core_http_req {
    const char *method;          /* "GET", "POST", ... */
    const char *path;            /* path without the query string */
    const char *body;            /* NUL-terminated copy of the body ("" if none) */
    size_t body_len;             /* body bytes, excluding the NUL */
    char id[CORE_REQ_ID_LEN];    /* request id */
    int64_t started_ms;          /* monotonic time of the first byte */
    struct MHD_Connection *conn; /* for core_http_req_header/query only */
};

/* The response a handler fills. Defaults: 200, text/plain, empty body. */
struct core_http_resp {
    int status;
    const char *content_type; /* static string */
    struct core_buf body;     /* owned by the server */
    const char *hdr_name[CORE_HTTP_MAX_HEADERS];
    char *hdr_value[CORE_HTTP_MAX_HEADERS]; /* owned copies */
    size_t n_hdr;
    int64_t delay_ms; /* > 0: answer only after this long (needs core_httpd_enable_delays) */
    int drop;         /* non-zero: close the connection without answering (after delay_ms) */
};

typedef void (*core_http_handler)(void *ud, const struct core_http_req *req,
                                  struct core_http_resp *resp);

/* Create a server with no routes. Never fails. */
struct core_httpd *core_httpd_new(void);

/*
 * Add a route before core_httpd_start(). `method` NULL matches any method;
 * `path` is exact, or a prefix when it ends in '*'. `max_body` bounds the
 * request body (0 = the 64 KiB default). `ud` is borrowed.
 */
void core_httpd_route(struct core_httpd *h, const char *method, const char *path,
                      size_t max_body, core_http_handler fn, void *ud);

/* Count 413 answers of the route added last in `m` (borrowed, static). */
struct core_metric;
void core_httpd_route_reject_metric(struct core_httpd *h, struct core_metric *m);

/*
 * Allow handlers to hold responses back (resp->delay_ms) before
 * core_httpd_start(): the server then suspends such connections and a timer
 * thread resumes them. Without it delay_ms is ignored. Held connections are
 * closed unanswered by core_httpd_stop().
 */
void core_httpd_enable_delays(struct core_httpd *h);

/* Listen on `bind`:`port` (port 0 = any free port) with `threads` workers. */
int core_httpd_start(struct core_httpd *h, const char *bind, int port, int threads,
                     struct core_err *err);

/* The port actually bound (after start). */
int core_httpd_port(const struct core_httpd *h);

/* Stop accepting and finish; blocks until workers have returned. */
void core_httpd_stop(struct core_httpd *h);

/* Stop if running, then free. NULL is a no-op. */
void core_httpd_free(struct core_httpd *h);

/* A request header (case-insensitive), or NULL. */
const char *core_http_req_header(const struct core_http_req *req, const char *name);

/* A decoded query-string argument, or NULL. */
const char *core_http_req_query(const struct core_http_req *req, const char *name);

/* Add a response header; `name` must be a static string, `value` is copied. */
void core_http_resp_header(struct core_http_resp *resp, const char *name, const char *value);

/* Set status, text/plain and a body in one go. */
void core_http_resp_text(struct core_http_resp *resp, int status, const char *text);

/* Set status, application/json and a body in one go. */
void core_http_resp_json(struct core_http_resp *resp, int status, const char *json);

#endif
