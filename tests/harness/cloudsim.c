/*
 * tests/harness/cloudsim.c - run the Cloud API simulator and receive its
 * webhooks (see cloudsim.h).
 */
#include "tests/harness/cloudsim.h"

#include "core/httpd.h"
#include "gateway/signature.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TH_SINK_MAX_BODY (8 * 1024 * 1024)

/* ---- the simulator process ---- */

struct listen_ctx {
    struct th_cloudsim *s;
};

/* Parse "listening on 127.0.0.1:PORT" from the log, or give up if it died. */
static int listening(void *ud)
{
    struct listen_ctx *c = ud;
    char *log = th_read_file(c->s->log_path, NULL);
    const char *p = log != NULL ? strstr(log, "listening on ") : NULL;
    int done = 0;

    if (p != NULL) {
        const char *end = strchr(p, '\n');
        const char *colon = NULL;
        const char *q;

        for (q = p; end != NULL && q < end; q++) {
            if (*q == ':')
                colon = q;
        }
        if (colon != NULL)
            c->s->port = (int)strtol(colon + 1, NULL, 10);
        done = c->s->port > 0;
    }
    free(log);
    if (!done && !th_alive(&c->s->proc))
        return 1;
    return done;
}

int th_cloudsim_start(struct th_cloudsim *s, const char *dir, const char *const args[])
{
    char bin[600];
    const char *argv[64];
    size_t n = 0;
    size_t i;
    struct listen_ctx c = {s};

    memset(s, 0, sizeof *s);
    snprintf(bin, sizeof bin, "%s/cloudsim", th_build_dir());
    for (i = 0; i < 1000; i++) { /* one log per start in the same directory */
        snprintf(s->log_path, sizeof s->log_path, "%s/cloudsim-%zu.log", dir, i);
        if (access(s->log_path, F_OK) != 0)
            break;
    }
    argv[n++] = bin;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--app-secret";
    argv[n++] = TH_APP_SECRET;
    argv[n++] = "--token";
    argv[n++] = TH_SIM_TOKEN;
    argv[n++] = "--log-level";
    argv[n++] = "debug";
    for (i = 0; args != NULL && args[i] != NULL && n + 1 < sizeof argv / sizeof argv[0]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (th_spawn(&s->proc, argv, NULL, s->log_path) != 0)
        return -1;
    if (th_wait(listening, &c, 10000) != 0 || s->port <= 0 || !th_alive(&s->proc)) {
        fprintf(stderr, "harness: cloudsim did not start (exit %d); log %s\n", s->proc.status,
                s->log_path);
        th_stop(&s->proc, SIGKILL, 1000);
        return -1;
    }
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    return 0;
}

int th_cloudsim_stop(struct th_cloudsim *s)
{
    return th_stop(&s->proc, SIGTERM, 15000);
}

long th_cloudsim_req(const struct th_cloudsim *s, const char *method, const char *path,
                     const char *json, char **out)
{
    struct th_http_resp resp;
    char url[1024];
    const char *headers[] = {"Content-Type: application/json", NULL};
    long status;

    if (out != NULL)
        *out = NULL;
    snprintf(url, sizeof url, "%s%s", s->url, path);
    if (th_http(method, url, headers, json, json != NULL ? strlen(json) : 0, &resp) != 0)
        return 0;
    status = resp.status;
    if (out != NULL)
        *out = resp.body;
    else
        th_http_resp_free(&resp);
    return status;
}

long th_cloudsim_send(const struct th_cloudsim *s, const char *token, const char *json, char **out)
{
    struct th_http_resp resp;
    char url[256];
    char auth[512];
    const char *headers[] = {"Content-Type: application/json", auth, NULL};
    long status;

    if (out != NULL)
        *out = NULL;
    snprintf(url, sizeof url, "%s/%s/%s/messages", s->url, TH_SIM_VERSION, TH_SIM_PNID);
    if (token != NULL)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    else
        headers[1] = NULL;
    if (th_http("POST", url, headers, json, strlen(json), &resp) != 0)
        return 0;
    status = resp.status;
    if (out != NULL)
        *out = resp.body;
    else
        th_http_resp_free(&resp);
    return status;
}

json_t *th_cloudsim_json(const struct th_cloudsim *s, const char *path)
{
    char *body = NULL;
    json_t *v = NULL;

    if (th_cloudsim_req(s, "GET", path, NULL, &body) == 200)
        v = json_loads(body, 0, NULL);
    free(body);
    return v;
}

long long th_cloudsim_counter(const struct th_cloudsim *s, const char *dotted)
{
    json_t *root = th_cloudsim_json(s, "/_sim/counters");
    json_t *v = root;
    char key[128];
    const char *p = dotted;
    long long n = -1;

    while (v != NULL && *p != '\0') {
        size_t len = strcspn(p, ".");

        snprintf(key, sizeof key, "%.*s", (int)len, p);
        v = json_object_get(v, key);
        p += len;
        if (*p == '.')
            p++;
    }
    if (json_is_integer(v))
        n = json_integer_value(v);
    json_decref(root);
    return n;
}

/* ---- the webhook sink ---- */

struct post {
    char *body;
    int sig_ok;
};

struct th_sink {
    struct core_httpd *httpd;
    char secret[128];
    char url[64];
    atomic_int status;
    pthread_mutex_t lock;
    struct post *posts;
    size_t n, cap;
};

static void on_post(void *ud, const struct core_http_req *req, struct core_http_resp *resp)
{
    struct th_sink *k = ud;
    const char *sig = core_http_req_header(req, GW_SIG_HEADER);
    int ok =
        gw_sig_verify(k->secret, strlen(k->secret), sig, req->body, req->body_len) == GW_SIG_OK;

    pthread_mutex_lock(&k->lock);
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 64;
        k->posts = realloc(k->posts, k->cap * sizeof *k->posts);
        if (k->posts == NULL)
            abort();
    }
    k->posts[k->n].body = strdup(req->body);
    k->posts[k->n].sig_ok = ok;
    k->n++;
    pthread_mutex_unlock(&k->lock);
    core_http_resp_text(resp, atomic_load(&k->status), "ok\n");
}

struct th_sink *th_sink_start(const char *secret)
{
    struct th_sink *k = calloc(1, sizeof *k);
    struct core_err err;

    if (k == NULL)
        return NULL;
    snprintf(k->secret, sizeof k->secret, "%s", secret);
    atomic_store(&k->status, 200);
    pthread_mutex_init(&k->lock, NULL);
    k->httpd = core_httpd_new();
    core_httpd_route(k->httpd, "POST", "/webhook", TH_SINK_MAX_BODY, on_post, k);
    core_err_clear(&err);
    if (core_httpd_start(k->httpd, "127.0.0.1", 0, 2, &err) != 0) {
        fprintf(stderr, "harness: sink: %s\n", err.msg);
        th_sink_free(k);
        return NULL;
    }
    snprintf(k->url, sizeof k->url, "http://127.0.0.1:%d/webhook", core_httpd_port(k->httpd));
    return k;
}

void th_sink_clear(struct th_sink *k)
{
    size_t i;

    pthread_mutex_lock(&k->lock);
    for (i = 0; i < k->n; i++)
        free(k->posts[i].body);
    k->n = 0;
    pthread_mutex_unlock(&k->lock);
}

void th_sink_free(struct th_sink *k)
{
    if (k == NULL)
        return;
    core_httpd_free(k->httpd);
    th_sink_clear(k);
    free(k->posts);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

const char *th_sink_url(const struct th_sink *k)
{
    return k->url;
}

void th_sink_set_status(struct th_sink *k, int status)
{
    atomic_store(&k->status, status);
}

size_t th_sink_count(struct th_sink *k)
{
    size_t n;

    pthread_mutex_lock(&k->lock);
    n = k->n;
    pthread_mutex_unlock(&k->lock);
    return n;
}

char *th_sink_body(struct th_sink *k, size_t i, int *sig_ok)
{
    char *b = NULL;

    pthread_mutex_lock(&k->lock);
    if (i < k->n) {
        b = strdup(k->posts[i].body);
        if (sig_ok != NULL)
            *sig_ok = k->posts[i].sig_ok;
    }
    pthread_mutex_unlock(&k->lock);
    return b;
}

json_t *th_sink_statuses(struct th_sink *k)
{
    json_t *out = json_array();
    size_t n = th_sink_count(k);
    size_t i;

    for (i = 0; i < n; i++) {
        int ok = 0;
        char *b = th_sink_body(k, i, &ok);
        json_t *root = b != NULL ? json_loads(b, 0, NULL) : NULL;
        json_t *entry;
        size_t e;

        json_array_foreach(json_object_get(root, "entry"), e, entry)
        {
            json_t *ch;
            size_t c;

            json_array_foreach(json_object_get(entry, "changes"), c, ch)
            {
                json_t *st;
                size_t j;

                json_array_foreach(json_object_get(json_object_get(ch, "value"), "statuses"), j, st)
                {
                    json_array_append_new(out, json_pack("{s:I,s:b,s:O}", "post", (json_int_t)i,
                                                         "sig_ok", ok, "status", st));
                }
            }
        }
        json_decref(root);
        free(b);
    }
    return out;
}
