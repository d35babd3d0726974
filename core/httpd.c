/*
 * core/httpd.c - libmicrohttpd wrapper with routes and body limits
 * (see httpd.h).
 */
#include "core/httpd.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_ROUTES 64
#define DEFAULT_MAX_BODY (64 * 1024)
#define CONNECTION_TIMEOUT_S 30
#define CONNECTION_LIMIT 2048
#define CONNECTION_MEMORY 65536

struct route {
    const char *method;
    const char *path;
    size_t path_len;
    int prefix;
    size_t max_body;
    core_http_handler fn;
    void *ud;
    struct core_metric *too_large; /* counts 413 answers, or NULL */
};

struct conn_state;

/* A suspended connection waiting for its held response (resp->delay_ms). */
struct held {
    struct MHD_Connection *conn;
    struct conn_state *st;
    int64_t due_ms; /* core_mono_ms() */
    struct held *next;
};

struct core_httpd {
    struct MHD_Daemon *daemon;
    struct route routes[MAX_ROUTES];
    size_t n_routes;
    int port;
    /* held responses (core_httpd_enable_delays) */
    int delays;
    int sync_init;         /* lock and cond initialised */
    int timer_running;
    int stopping;          /* under lock: no more holding, resume at once */
    pthread_t timer;
    pthread_mutex_t lock;
    pthread_cond_t cond;   /* CLOCK_MONOTONIC */
    struct held *held;     /* sorted by due_ms */
};

/* Per-request state kept by libmicrohttpd between calls. */
struct conn_state {
    const struct route *route;
    struct core_buf body;
    size_t discarded; /* bytes thrown away after the limit was hit */
    int too_big;
    char id[CORE_REQ_ID_LEN];
    int64_t started_ms;
    int holding;                     /* held_resp waits for the timer */
    struct core_http_resp held_resp; /* owned while holding */
};

struct core_httpd *core_httpd_new(void)
{
    return core_calloc(1, sizeof(struct core_httpd));
}

void core_httpd_route(struct core_httpd *h, const char *method, const char *path,
                      size_t max_body, core_http_handler fn, void *ud)
{
    struct route *r;
    size_t len = strlen(path);

    if (h->n_routes >= MAX_ROUTES) {
        core_log_error("httpd", NULL, "too many routes; %s ignored", path);
        return;
    }
    r = &h->routes[h->n_routes++];
    r->method = method;
    r->prefix = len > 0 && path[len - 1] == '*';
    r->path = path;
    r->path_len = r->prefix ? len - 1 : len;
    r->max_body = max_body != 0 ? max_body : DEFAULT_MAX_BODY;
    r->fn = fn;
    r->ud = ud;
}

void core_httpd_route_reject_metric(struct core_httpd *h, struct core_metric *m)
{
    if (h->n_routes > 0)
        h->routes[h->n_routes - 1].too_large = m;
}

static enum MHD_Result send_too_large(struct MHD_Connection *conn, struct conn_state *st);

/* Bytes of an oversized body read and thrown away before cutting it off. */
static size_t discard_limit(const struct route *r)
{
    return 2 * r->max_body + DEFAULT_MAX_BODY;
}

static int path_matches(const struct route *r, const char *url)
{
    if (r->prefix)
        return strncmp(url, r->path, r->path_len) == 0;
    return strcmp(url, r->path) == 0;
}

/* Find the route for (method, url); *path_known tells 404 from 405. */
static const struct route *find_route(const struct core_httpd *h, const char *method,
                                      const char *url, int *path_known)
{
    size_t i;

    *path_known = 0;
    for (i = 0; i < h->n_routes; i++) {
        const struct route *r = &h->routes[i];

        if (!path_matches(r, url))
            continue;
        *path_known = 1;
        if (r->method == NULL || strcmp(r->method, method) == 0)
            return r;
        /* HEAD is served by GET routes (libmicrohttpd drops the body). */
        if (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0)
            return r;
    }
    return NULL;
}

static void resp_init(struct core_http_resp *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->status = 200;
    resp->content_type = "text/plain; charset=utf-8";
    core_buf_init(&resp->body, 0);
}

static void resp_cleanup(struct core_http_resp *resp)
{
    size_t i;

    core_buf_cleanup(&resp->body);
    for (i = 0; i < resp->n_hdr; i++)
        free(resp->hdr_value[i]);
    resp->n_hdr = 0;
}

static int resp_has_header(const struct core_http_resp *resp, const char *name)
{
    size_t i;

    for (i = 0; i < resp->n_hdr; i++) {
        if (strcasecmp(resp->hdr_name[i], name) == 0)
            return 1;
    }
    return 0;
}

void core_http_resp_header(struct core_http_resp *resp, const char *name, const char *value)
{
    if (resp->n_hdr >= CORE_HTTP_MAX_HEADERS)
        return;
    resp->hdr_name[resp->n_hdr] = name;
    resp->hdr_value[resp->n_hdr] = core_strdup(value);
    resp->n_hdr++;
}

void core_http_resp_text(struct core_http_resp *resp, int status, const char *text)
{
    resp->status = status;
    resp->content_type = "text/plain; charset=utf-8";
    core_buf_reset(&resp->body);
    core_buf_puts(&resp->body, text);
}

void core_http_resp_json(struct core_http_resp *resp, int status, const char *json)
{
    resp->status = status;
    resp->content_type = "application/json";
    core_buf_reset(&resp->body);
    core_buf_puts(&resp->body, json);
}

/* Queue `resp` on `conn`; consumes the response's body and headers. */
static enum MHD_Result send_resp(struct MHD_Connection *conn, struct core_http_resp *resp,
                                 const char *req_id)
{
    struct MHD_Response *mr;
    size_t len = resp->body.len;
    char *data = core_buf_steal(&resp->body);
    enum MHD_Result ret;
    size_t i;

    mr = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (mr == NULL) {
        free(data);
        resp_cleanup(resp);
        return MHD_NO;
    }
    MHD_add_response_header(mr, "Content-Type", resp->content_type);
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(mr, "X-Request-Id", req_id);
    if (!resp_has_header(resp, "Cache-Control"))
        MHD_add_response_header(mr, "Cache-Control", "no-store");
    for (i = 0; i < resp->n_hdr; i++)
        MHD_add_response_header(mr, resp->hdr_name[i], resp->hdr_value[i]);
    ret = MHD_queue_response(conn, (unsigned int)resp->status, mr);
    MHD_destroy_response(mr);
    resp_cleanup(resp);
    return ret;
}

static enum MHD_Result send_simple(struct MHD_Connection *conn, int status, const char *text,
                                   const char *req_id, const char *allow)
{
    struct core_http_resp resp;

    resp_init(&resp);
    core_http_resp_text(&resp, status, text);
    if (allow != NULL)
        core_http_resp_header(&resp, "Allow", allow);
    return send_resp(conn, &resp, req_id);
}

/* Answer 413 for the request's route; the route is then done. */
static enum MHD_Result send_too_large(struct MHD_Connection *conn, struct conn_state *st)
{
    if (st->route->too_large != NULL)
        core_metric_inc(st->route->too_large);
    core_log_warn("httpd", st->id, "request body over the %zu-byte limit refused",
                  st->route->max_body);
    st->route = NULL;
    return send_simple(conn, MHD_HTTP_CONTENT_TOO_LARGE, "body too large\n", st->id, NULL);
}

/* Build the Allow header for a path answered 405. */
static void allowed_methods(const struct core_httpd *h, const char *url, char *out, size_t n)
{
    size_t i;
    size_t k = 0;

    out[0] = '\0';
    for (i = 0; i < h->n_routes && k + 8 < n; i++) {
        const struct route *r = &h->routes[i];

        if (path_matches(r, url) && r->method != NULL)
            k += (size_t)snprintf(out + k, n - k, "%s%s", k ? ", " : "", r->method);
    }
}

/* ---- held responses ---- */

/*
 * Make the close that follows an MHD_NO a reset (SO_LINGER 0), so the client
 * sees the connection torn down rather than a tidy end of stream.
 */
static void close_hard(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct linger lg = {1, 0};

    if (ci != NULL)
        setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

/*
 * Queue a suspended connection for resumption at `due_ms`. Once the server
 * is stopping, the connection is resumed at once and closed unanswered.
 */
static void hold_add(struct core_httpd *h, struct MHD_Connection *conn, struct conn_state *st,
                     int64_t due_ms)
{
    struct held *e;
    struct held **pp;

    pthread_mutex_lock(&h->lock);
    if (h->stopping) {
        pthread_mutex_unlock(&h->lock);
        st->held_resp.drop = 1;
        MHD_resume_connection(conn);
        return;
    }
    e = core_calloc(1, sizeof *e);
    e->conn = conn;
    e->st = st;
    e->due_ms = due_ms;
    for (pp = &h->held; *pp != NULL && (*pp)->due_ms <= due_ms; pp = &(*pp)->next)
        ;
    e->next = *pp;
    *pp = e;
    if (h->held == e)
        pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

/* Resume every connection of a detached list; `drop` closes them unanswered. */
static void resume_list(struct held *e, int drop)
{
    while (e != NULL) {
        struct held *next = e->next;

        if (drop)
            e->st->held_resp.drop = 1;
        MHD_resume_connection(e->conn);
        free(e);
        e = next;
    }
}

/* The timer thread: resume held connections when they are due. */
static void *timer_main(void *arg)
{
    struct core_httpd *h = arg;

    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        int64_t now = core_mono_ms();
        struct held *due = NULL;
        struct held **tail = &due;

        while (h->held != NULL && h->held->due_ms <= now) {
            *tail = h->held;
            h->held = h->held->next;
            tail = &(*tail)->next;
        }
        *tail = NULL;
        if (due != NULL) {
            /* resume outside our lock: MHD takes its own locks */
            pthread_mutex_unlock(&h->lock);
            resume_list(due, 0);
            pthread_mutex_lock(&h->lock);
            continue;
        }
        if (h->held == NULL) {
            pthread_cond_wait(&h->cond, &h->lock);
        } else {
            struct timespec ts;
            int64_t wait_ms = h->held->due_ms - now;

            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += (time_t)(wait_ms / 1000);
            ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&h->cond, &h->lock, &ts);
        }
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

void core_httpd_enable_delays(struct core_httpd *h)
{
    h->delays = 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct core_httpd *h = cls;
    struct conn_state *st = *con_cls;
    struct core_http_req req;
    struct core_http_resp resp;

    (void)version;
    if (st == NULL) {
        const struct route *route;
        int known;
        const char *cl;

        st = core_calloc(1, sizeof *st);
        core_req_id(st->id);
        st->started_ms = core_mono_ms();
        *con_cls = st;
        route = find_route(h, method, url, &known);
        if (route == NULL) {
            char allow[128];

            if (!known)
                return send_simple(conn, MHD_HTTP_NOT_FOUND, "not found\n", st->id, NULL);
            allowed_methods(h, url, allow, sizeof allow);
            return send_simple(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
                               st->id, allow);
        }
        st->route = route;
        core_buf_init(&st->body, route->max_body);
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl != NULL) {
            int64_t n;
            const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Expect");

            if (core_parse_i64(cl, &n) == 0 && n > (int64_t)route->max_body) {
                /* Answer before the body only when the client waits for it
                 * (100-continue) or the body is absurd; otherwise drain it so
                 * the client reliably reads the 413 instead of a reset. */
                if (expect != NULL || n > (int64_t)discard_limit(route))
                    return send_too_large(conn, st);
                st->too_big = 1;
            }
        }
        return MHD_YES;
    }
    if (st->holding) {
        /* resumed by the timer (or by core_httpd_stop, which sets drop) */
        st->holding = 0;
        if (st->held_resp.drop) {
            resp_cleanup(&st->held_resp);
            close_hard(conn);
            return MHD_NO;
        }
        return send_resp(conn, &st->held_resp, st->id);
    }
    if (st->route == NULL) {
        *upload_data_size = 0; /* a response is already queued: drop the rest */
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        if (!st->too_big && core_buf_append(&st->body, upload_data, *upload_data_size) != 0) {
            st->too_big = 1;
            core_buf_cleanup(&st->body);
        }
        if (st->too_big) {
            st->discarded += *upload_data_size;
            /* Refuse to keep draining an endless body. */
            if (st->discarded > discard_limit(st->route))
                return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->too_big)
        return send_too_large(conn, st);
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = url;
    req.body = core_buf_str(&st->body);
    req.body_len = st->body.len;
    memcpy(req.id, st->id, sizeof req.id);
    req.started_ms = st->started_ms;
    req.conn = conn;
    resp_init(&resp);
    st->route->fn(st->route->ud, &req, &resp);
    st->route = NULL;
    if (resp.delay_ms > 0 && h->delays) {
        st->held_resp = resp; /* moved: freed when sent or dropped */
        st->holding = 1;
        MHD_suspend_connection(conn);
        hold_add(h, conn, st, core_mono_ms() + resp.delay_ms);
        return MHD_YES;
    }
    if (resp.drop) {
        resp_cleanup(&resp);
        close_hard(conn);
        return MHD_NO;
    }
    return send_resp(conn, &resp, st->id);
}

/* Free the per-request state once libmicrohttpd is done with a request. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn_state *st = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (st == NULL)
        return;
    if (st->holding)
        resp_cleanup(&st->held_resp);
    core_buf_cleanup(&st->body);
    free(st);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    core_log_warn("httpd", NULL, "libmicrohttpd: %s", msg);
}

/*
 * Stop the timer thread and resume every held connection so that it is
 * closed unanswered; MHD must have no suspended connection when it stops.
 */
static void stop_timer(struct core_httpd *h)
{
    struct held *all;

    if (!h->timer_running)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = 1;
    all = h->held;
    h->held = NULL;
    pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->timer, NULL);
    h->timer_running = 0;
    resume_list(all, 1);
}

int core_httpd_start(struct core_httpd *h, const char *bind, int port, int threads,
                     struct core_err *err)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    struct sockaddr *sa;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;

    memset(&sin, 0, sizeof sin);
    memset(&sin6, 0, sizeof sin6);
    if (inet_pton(AF_INET, bind, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&sin;
    } else if (inet_pton(AF_INET6, bind, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&sin6;
        flags |= MHD_USE_IPv6;
    } else {
        return core_err_set(err, CORE_EX_CONFIG,
                            "config: JANSEVA_HTTP_BIND is not an IPv4 or IPv6 address");
    }
    if (threads < 1)
        threads = 1;
    if (h->delays) {
        pthread_condattr_t ca;

        flags |= MHD_ALLOW_SUSPEND_RESUME;
        pthread_mutex_init(&h->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&h->cond, &ca);
        pthread_condattr_destroy(&ca);
        h->sync_init = 1;
        h->stopping = 0;
        if (pthread_create(&h->timer, NULL, timer_main, h) != 0)
            return core_err_set(err, CORE_EX_SOFTWARE, "http: cannot start the timer thread");
        h->timer_running = 1;
    }
    /* The logger must be the first option, or early messages bypass it. */
    h->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
        MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
    if (h->daemon == NULL) {
        stop_timer(h);
        return core_err_set(err, CORE_EX_UNAVAILABLE, "http: cannot listen on %s:%d", bind,
                            port);
    }
    info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info != NULL ? (int)info->port : port;
    return 0;
}

int core_httpd_port(const struct core_httpd *h)
{
    return h->port;
}

void core_httpd_stop(struct core_httpd *h)
{
    stop_timer(h);
    if (h->daemon != NULL) {
        MHD_stop_daemon(h->daemon);
        h->daemon = NULL;
    }
}

void core_httpd_free(struct core_httpd *h)
{
    if (h == NULL)
        return;
    core_httpd_stop(h);
    if (h->sync_init) {
        pthread_cond_destroy(&h->cond);
        pthread_mutex_destroy(&h->lock);
    }
    free(h);
}

const char *core_http_req_header(const struct core_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *core_http_req_query(const struct core_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}
