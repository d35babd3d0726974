/*
 * gateway/graph.c - libcurl multi Graph API client and answer
 * classification (see graph.h).
 */
#include "gateway/graph.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/util.h"

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RESPONSE (1024 * 1024)

struct xfer {
    struct xfer *prev, *next; /* transfers in flight */
    CURL *easy;
    char *body;
    size_t body_len;
    size_t read_pos;    /* body bytes handed to libcurl */
    int rewind_refused; /* libcurl wanted to send the body again */
    struct core_buf resp;
    void *ud;
    int64_t start_ms;
};

struct gw_graph {
    CURLM *multi;
    char *base_url;
    struct curl_slist *headers; /* shared by every request; holds the token */
    int timeout_ms;
    size_t max_inflight;
    size_t inflight;
    struct xfer *live; /* list of transfers in flight */
};

const char *gw_send_outcome_name(enum gw_send_outcome o)
{
    static const char *const names[] = {"ok",        "throttled", "pair_limit",
                                        "window_closed", "pause",  "permanent",
                                        "transient", "ambiguous"};

    return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "unknown";
}

struct gw_graph *gw_graph_new(const struct gw_graph_opts *o)
{
    struct gw_graph *g = core_calloc(1, sizeof *g);
    char *auth;
    size_t n;

    g->multi = curl_multi_init();
    curl_multi_setopt(g->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(g->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 32L);
    g->base_url = core_strdup(o->base_url);
    g->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 15000;
    g->max_inflight = o->max_inflight > 0 ? (size_t)o->max_inflight : 64;
    n = strlen("Authorization: Bearer ") + strlen(o->token != NULL ? o->token : "") + 1;
    auth = sodium_malloc(n);
    snprintf(auth, n, "Authorization: Bearer %s", o->token != NULL ? o->token : "");
    g->headers = curl_slist_append(NULL, auth);
    sodium_free(auth); /* sodium_free wipes */
    g->headers = curl_slist_append(g->headers, "Content-Type: application/json");
    g->headers = curl_slist_append(g->headers, "Expect:");
    return g;
}

static void xfer_free(struct xfer *x)
{
    if (x == NULL)
        return;
    if (x->body != NULL) {
        sodium_memzero(x->body, x->body_len);
        free(x->body);
    }
    if (x->resp.data != NULL)
        sodium_memzero(x->resp.data, x->resp.len);
    core_buf_cleanup(&x->resp);
    curl_easy_cleanup(x->easy);
    free(x);
}

static void unlink_xfer(struct gw_graph *g, struct xfer *x)
{
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        g->live = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    g->inflight--;
}

void gw_graph_abort(struct gw_graph *g, void (*drop)(void *ud))
{
    while (g->live != NULL) {
        struct xfer *x = g->live;

        curl_multi_remove_handle(g->multi, x->easy);
        unlink_xfer(g, x);
        if (drop != NULL)
            drop(x->ud);
        xfer_free(x);
    }
}

void gw_graph_free(struct gw_graph *g)
{
    struct curl_slist *s;

    if (g == NULL)
        return;
    gw_graph_abort(g, NULL); /* what is still in flight */
    for (s = g->headers; s != NULL; s = s->next)
        sodium_memzero(s->data, strlen(s->data));
    curl_multi_cleanup(g->multi);
    curl_slist_free_all(g->headers);
    free(g->base_url);
    free(g);
}

size_t gw_graph_inflight(const struct gw_graph *g)
{
    return g->inflight;
}

size_t gw_graph_room(const struct gw_graph *g)
{
    return g->inflight >= g->max_inflight ? 0 : g->max_inflight - g->inflight;
}

/* The body goes out through a read callback, not CURLOPT_POSTFIELDS, so that
 * a resend needs our permission (see on_seek). */
static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t left = x->body_len - x->read_pos;
    size_t k = size * n < left ? size * n : left;

    memcpy(buf, x->body + x->read_pos, k);
    x->read_pos += k;
    return k;
}

/*
 * libcurl silently retries a request on a fresh connection when a reused one
 * dies before any answer byte arrives (HTTP/1.1). For a message send that
 * would be a second send if the server had already taken the first. To
 * resend, libcurl must rewind the body: refuse once the whole body has gone
 * out, so the transfer fails (CURLE_SEND_FAIL_REWIND) and is reported as
 * ambiguous instead of silently duplicated.
 */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
    struct xfer *x = ud;

    if (origin != SEEK_SET || offset != 0)
        return CURL_SEEKFUNC_CANTSEEK;
    if (x->read_pos >= x->body_len && x->body_len > 0) {
        x->rewind_refused = 1;
        return CURL_SEEKFUNC_CANTSEEK;
    }
    x->read_pos = 0; /* not fully sent: the server cannot have acted on it */
    return CURL_SEEKFUNC_OK;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;

    if (core_buf_append(&x->resp, p, size * n) != 0)
        return 0; /* over the cap: abort the transfer */
    return size * n;
}

int gw_graph_send(struct gw_graph *g, const char *number, const char *body, size_t len, void *ud,
                  struct core_err *err)
{
    struct xfer *x;
    char url[1024];

    if (gw_graph_room(g) == 0)
        return core_err_set(err, CORE_EX_TEMPFAIL, "graph: %zu requests already in flight",
                            g->inflight);
    snprintf(url, sizeof url, "%s/%s/messages", g->base_url, number);
    x = core_calloc(1, sizeof *x);
    x->easy = curl_easy_init();
    x->body = core_memdup(body, len);
    x->body_len = len;
    x->ud = ud;
    x->start_ms = core_mono_ms();
    core_buf_init(&x->resp, MAX_RESPONSE);
    curl_easy_setopt(x->easy, CURLOPT_URL, url);
    curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(x->easy, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(x->easy, CURLOPT_READDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(x->easy, CURLOPT_SEEKDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, g->headers);
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long)g->timeout_ms);
    curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(x->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(x->easy, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    if (curl_multi_add_handle(g->multi, x->easy) != CURLM_OK) {
        xfer_free(x);
        return core_err_set(err, CORE_EX_SOFTWARE, "graph: cannot start a transfer");
    }
    x->next = g->live;
    if (g->live != NULL)
        g->live->prev = x;
    g->live = x;
    g->inflight++;
    return 0;
}

/* Copy `s` into out (cap n) with any run of 7+ digits masked: error texts
 * must never carry a phone number into logs or dead letters. */
static void scrub(const char *s, char *out, size_t n)
{
    size_t k = 0;
    size_t i = 0;

    while (s[i] != '\0' && k + 1 < n) {
        size_t run = 0;

        while (s[i + run] >= '0' && s[i + run] <= '9')
            run++;
        if (run >= 7) {
            for (size_t j = 0; j < run && k + 1 < n; j++)
                out[k++] = '#';
            i += run;
            continue;
        }
        if (run > 0) {
            for (size_t j = 0; j < run && k + 1 < n; j++)
                out[k++] = s[i + j];
            i += run;
            continue;
        }
        out[k++] = (s[i] == '\n' || s[i] == '\r') ? ' ' : s[i];
        i++;
    }
    out[k] = '\0';
}

static enum gw_send_outcome by_code(int code, long http)
{
    switch (code) {
    case 130429:
    case 4:
    case 80007:
    case 131048:
    case 133016:
    case 131057:
        return GW_SEND_THROTTLED;
    case 131056:
        return GW_SEND_PAIR_LIMIT;
    case 131047:
        return GW_SEND_WINDOW_CLOSED;
    case 190:
    case 0:
    case 368:
    case 133010:
        return GW_SEND_PAUSE;
    case 131000:
    case 131053:
    case 1:
    case 2:
        return GW_SEND_TRANSIENT;
    default:
        break;
    }
    if (http == 429)
        return GW_SEND_THROTTLED;
    if (http >= 500)
        return GW_SEND_TRANSIENT;
    return GW_SEND_PERMANENT;
}

void gw_graph_classify(long http_status, int curl_code, int request_sent, const char *body,
                       size_t len, struct gw_graph_result *out)
{
    json_t *root = NULL;
    json_t *e;

    out->http_status = http_status;
    out->error_code = 0;
    out->details[0] = '\0';
    out->wamid[0] = '\0';
    if (curl_code != CURLE_OK) {
        scrub(curl_easy_strerror((CURLcode)curl_code), out->details, sizeof out->details);
        /* Once the request went out, Meta may have accepted it. */
        out->outcome = request_sent && curl_code != CURLE_COULDNT_CONNECT &&
                               curl_code != CURLE_COULDNT_RESOLVE_HOST
                           ? GW_SEND_AMBIGUOUS
                           : GW_SEND_TRANSIENT;
        return;
    }
    if (body != NULL && len > 0)
        root = json_loadb(body, len, 0, NULL);
    if (http_status >= 200 && http_status < 300 && root != NULL) {
        json_t *msgs = json_object_get(root, "messages");
        const char *id = json_string_value(json_object_get(json_array_get(msgs, 0), "id"));

        if (id != NULL && strlen(id) <= GW_GRAPH_WAMID_MAX) {
            snprintf(out->wamid, sizeof out->wamid, "%s", id);
            out->outcome = GW_SEND_OK;
            json_decref(root);
            return;
        }
        if (json_is_true(json_object_get(root, "success"))) {
            out->outcome = GW_SEND_OK; /* mark-as-read */
            json_decref(root);
            return;
        }
    }
    e = json_object_get(root, "error");
    if (json_is_object(e)) {
        const char *d = json_string_value(
            json_object_get(json_object_get(e, "error_data"), "details"));

        if (d == NULL)
            d = json_string_value(json_object_get(e, "message"));
        out->error_code = (int)json_integer_value(json_object_get(e, "code"));
        if (d != NULL)
            scrub(d, out->details, sizeof out->details);
        out->outcome = json_object_get(e, "code") != NULL ? by_code(out->error_code, http_status)
                                                          : by_code(-1, http_status);
    } else if (http_status >= 200 && http_status < 300) {
        snprintf(out->details, sizeof out->details, "answer without a message id");
        out->outcome = GW_SEND_AMBIGUOUS;
    } else {
        snprintf(out->details, sizeof out->details, "HTTP %ld without an error body",
                 http_status);
        out->outcome = by_code(-1, http_status);
    }
    json_decref(root);
}

int gw_graph_poll(struct gw_graph *g, int wait_ms, struct gw_graph_result *out, size_t max,
                  size_t *n)
{
    int running = 0;
    CURLMsg *m;
    int left;

    *n = 0;
    curl_multi_perform(g->multi, &running);
    if (g->inflight > 0 && wait_ms > 0)
        curl_multi_poll(g->multi, NULL, 0, wait_ms, NULL);
    curl_multi_perform(g->multi, &running);
    while (*n < max && (m = curl_multi_info_read(g->multi, &left)) != NULL) {
        struct xfer *x = NULL;
        long http = 0;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &http);
        memset(&out[*n], 0, sizeof out[*n]);
        out[*n].ud = x->ud;
        out[*n].latency_ms = core_mono_ms() - x->start_ms;
        gw_graph_classify(http, (int)m->data.result,
                          x->rewind_refused || x->read_pos >= x->body_len, x->resp.data,
                          x->resp.len, &out[*n]);
        (*n)++;
        curl_multi_remove_handle(g->multi, m->easy_handle);
        unlink_xfer(g, x);
        xfer_free(x);
    }
    return 0;
}
