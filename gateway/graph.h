/*
 * gateway/graph.h - the Graph API client: many sends in flight over one
 * libcurl multi handle (keep-alive, HTTP/2 multiplexing where the server
 * offers it), and the classification of every answer by Meta's error code
 * (../shared/brief/whatsapp-cloud-api.md section 6).
 *
 * Not thread-safe: one client per dispatcher thread. The bearer token and
 * bodies are never logged.
 */
#ifndef JANSEVA_GATEWAY_GRAPH_H
#define JANSEVA_GATEWAY_GRAPH_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#define GW_GRAPH_WAMID_MAX 512
#define GW_GRAPH_DETAILS_MAX 160

/* What a dispatcher should do with an answer. */
enum gw_send_outcome {
    GW_SEND_OK = 0,          /* accepted: a wamid came back */
    GW_SEND_THROTTLED,       /* 130429, 4, 80007, 131048, 133016, 131057, HTTP 429:
                                back off the number */
    GW_SEND_PAIR_LIMIT,      /* 131056: delay only this recipient */
    GW_SEND_WINDOW_CLOSED,   /* 131047: free-form outside the 24 h window: template or hold */
    GW_SEND_PAUSE,           /* 190, 0, 368, 133010: stop the number and alert a human */
    GW_SEND_PERMANENT,       /* 131026, 131049, 131050, 132000, 132001, 131009, 130472, 100, ... */
    GW_SEND_TRANSIENT,       /* 131000, 131053, 5xx, connection refused: retry with backoff */
    GW_SEND_AMBIGUOUS,       /* timeout or reset after the request was sent: Meta may have it */
};

struct gw_graph_result {
    void *ud;                             /* what gw_graph_send was given */
    enum gw_send_outcome outcome;
    long http_status;                     /* 0 when no HTTP answer */
    int error_code;                       /* Meta's error.code, or 0 */
    char details[GW_GRAPH_DETAILS_MAX];   /* error_data.details / message, trimmed */
    char wamid[GW_GRAPH_WAMID_MAX + 1];   /* on success */
    int64_t latency_ms;
};

struct gw_graph_opts {
    const char *base_url;  /* e.g. https://graph.facebook.com/v25.0 (copied) */
    const char *token;     /* bearer token (copied into locked memory) */
    int timeout_ms;        /* per request, default 15000 */
    int max_inflight;      /* default 64 */
};

struct gw_graph;

/* Create a client. Never fails (libcurl must be initialised). */
struct gw_graph *gw_graph_new(const struct gw_graph_opts *o);

/* Abort transfers in flight (their results are dropped) and free. */
void gw_graph_free(struct gw_graph *g);

/*
 * Abort the transfers in flight, handing each one's `ud` to `drop` (which
 * owns it from then on; NULL: the uds are the caller's business). Their
 * results never come. The client stays usable.
 */
void gw_graph_abort(struct gw_graph *g, void (*drop)(void *ud));

/* Requests in flight. */
size_t gw_graph_inflight(const struct gw_graph *g);

/* Room for more requests (max_inflight - inflight). */
size_t gw_graph_room(const struct gw_graph *g);

/*
 * Start POST {base}/{number}/messages with `body` (JSON, copied). `ud` comes
 * back in the result. Returns 0, or -1 when no room is left.
 */
int gw_graph_send(struct gw_graph *g, const char *number, const char *body, size_t len, void *ud,
                  struct core_err *err);

/*
 * Drive transfers for up to `wait_ms` and collect finished ones into `out`
 * (room for `max`); *n receives the count. Returns 0 or -1.
 */
int gw_graph_poll(struct gw_graph *g, int wait_ms, struct gw_graph_result *out, size_t max,
                  size_t *n);

/* Classify an answer: exposed for tests. `body` may be NULL. */
void gw_graph_classify(long http_status, int curl_code, int request_sent, const char *body,
                       size_t len, struct gw_graph_result *out);

/* "ok", "throttled", ... */
const char *gw_send_outcome_name(enum gw_send_outcome o);

#endif
