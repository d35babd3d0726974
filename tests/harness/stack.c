/*
 * tests/harness/stack.c - Redis + Cloud API simulator + janseva wired
 * together for integration tests (see stack.h).
 */
#include "tests/harness/stack.h"
#include "gateway/dispatch.h"

#include "core/util.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Templates every stack's simulator knows (Meta's format). */
static const char templates[] =
    "[{\"name\":\"janseva_notice\",\"language\":\"hi\",\"category\":\"UTILITY\","
    "\"status\":\"APPROVED\",\"components\":[{\"type\":\"BODY\",\"text\":\"सूचना: {{1}}\"}]},"
    "{\"name\":\"janseva_notice\",\"language\":\"en\",\"category\":\"UTILITY\","
    "\"status\":\"APPROVED\",\"components\":[{\"type\":\"BODY\",\"text\":\"Notice: {{1}}\"}]}]";

static int start_app(struct th_stack *s, const char *const env[])
{
    const char *all[40];
    size_t n = 0;

    all[n++] = s->graph_env;
    all[n++] = "JANSEVA_ACCESS_TOKEN=" TH_SIM_TOKEN;
    all[n++] = "JANSEVA_MODE=sandbox";
    all[n++] = "JANSEVA_PHONE_NUMBER_ID=" TH_SIM_PNID;
    all[n++] = "JANSEVA_GRAPH_TIMEOUT_MS=1000";
    all[n++] = "JANSEVA_DISPATCH_AMBIGUOUS_GRACE_MS=1500";
    all[n++] = "JANSEVA_DISPATCH_PAUSE_MS=1000";
    all[n++] = "JANSEVA_DISPATCH_PAIR_SPACING_MS=0";
    all[n++] = "JANSEVA_DISPATCH_MPS=500";
    for (size_t i = 0; env != NULL && env[i] != NULL && n + 1 < sizeof all / sizeof all[0]; i++)
        all[n++] = env[i];
    all[n] = NULL;
    return th_janseva_start(&s->app, s->dir, &s->redis, all);
}

int th_stack_start(struct th_stack *s, const char *tag, const char *const sim_args[],
                   const char *const env[])
{
    const char *args[40];
    size_t n = 0;
    char cfg[300];
    struct core_redis_opts ro;
    struct core_err err;

    memset(s, 0, sizeof *s);
    s->dir = th_tmpdir(tag);
    if (s->dir == NULL || th_redis_start(&s->redis, s->dir) != 0)
        return -1;
    args[n++] = "--phone-number-id";
    args[n++] = TH_SIM_PNID;
    args[n++] = "--status-delay-ms";
    args[n++] = "20";
    args[n++] = "--seed";
    args[n++] = "7";
    args[n++] = "--mps";
    args[n++] = "1000";
    args[n++] = "--pair-spacing-ms";
    args[n++] = "0";
    for (size_t i = 0; sim_args != NULL && sim_args[i] != NULL && n + 1 < 40; i++)
        args[n++] = sim_args[i];
    args[n] = NULL;
    if (th_cloudsim_start(&s->sim, s->dir, args) != 0)
        return -1;
    if (th_cloudsim_req(&s->sim, "POST", "/_sim/templates", templates, NULL) != 200)
        return -1;
    snprintf(s->graph_env, sizeof s->graph_env, "JANSEVA_GRAPH_URL=%s/%s", s->sim.url,
             TH_SIM_VERSION);
    if (start_app(s, env) != 0)
        return -1;
    snprintf(cfg, sizeof cfg, "{\"webhook_url\":\"%s/webhook\"}", s->app.url);
    if (th_cloudsim_req(&s->sim, "POST", "/_sim/config", cfg, NULL) != 200)
        return -1;
    s->keys = cry_keys_load(s->app.keys_dir, 0, &err);
    if (s->keys == NULL) {
        fprintf(stderr, "stack: %s\n", err.msg);
        return -1;
    }
    ro.addr = s->redis.addr;
    ro.user = NULL;
    ro.password = NULL;
    ro.timeout_ms = 5000;
    s->r = core_redis_new(&ro);
    cry_keys_refresh(s->keys, s->r, &err);
    s->ident = cry_identity_new(s->keys);
    return 0;
}

int th_stack_restart_app(struct th_stack *s, const char *const env[])
{
    char cfg[300];

    if (start_app(s, env) != 0)
        return -1;
    snprintf(cfg, sizeof cfg, "{\"webhook_url\":\"%s/webhook\"}", s->app.url);
    return th_cloudsim_req(&s->sim, "POST", "/_sim/config", cfg, NULL) == 200 ? 0 : -1;
}

int th_stack_stop(struct th_stack *s)
{
    int app = 0;
    int sim;

    if (s->app.proc.pid > 0)
        app = th_janseva_stop(&s->app);
    sim = th_cloudsim_stop(&s->sim);
    cry_identity_free(s->ident);
    cry_keys_free(s->keys);
    core_redis_free(s->r);
    th_redis_stop(&s->redis, 0);
    if (app != 0)
        fprintf(stderr, "stack: janseva exited %d (log %s)\n", app, s->app.log_path);
    if (app == 0 && sim == 0)
        th_rmrf(s->dir);
    free(s->dir);
    return app != 0 ? app : sim;
}

void th_stack_event_key(const struct th_stack *s, const char *wamid,
                        char out[GW_EVENT_KEY_HEX])
{
    crypto_generichash_state st;
    unsigned char h[16];

    crypto_generichash_init(&st, cry_keys_get(s->keys, CRY_KEY_DEDUPE), CRY_KEYBYTES, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)"m|", 2);
    crypto_generichash_update(&st, (const unsigned char *)wamid, strlen(wamid));
    crypto_generichash_final(&st, h, sizeof h);
    core_hex(out, h, sizeof h);
}

int th_stack_member(struct th_stack *s, const char *wa_id, char mid[CRY_MID_LEN])
{
    struct core_err err;
    int created;

    if (cry_identity_resolve(s->ident, s->r, wa_id, NULL, NULL, 0, mid, &created, &err) != 0) {
        fprintf(stderr, "stack: resolve: %s\n", err.msg);
        return -1;
    }
    return 0;
}

struct li_wait {
    struct th_stack *s;
    const char *wa_id;
};

static int window_open(void *ud)
{
    struct li_wait *w = ud;
    struct core_err err;
    struct cry_member_pii *pii = NULL;
    char mid[CRY_MID_LEN];
    int found = 0;
    int open = 0;

    if (cry_identity_find(w->s->ident, w->s->r, w->wa_id, NULL, mid, &found, &err) != 0 ||
        !found)
        return 0;
    if (cry_identity_open(w->s->ident, w->s->r, mid, &pii, &err) == 0) {
        open = pii->last_inbound > 0;
        cry_member_pii_free(pii);
    }
    return open;
}

int th_stack_inbound(struct th_stack *s, const char *wa_id, const char *text)
{
    char body[512];
    char *out = NULL;
    struct li_wait w = {s, wa_id};
    json_t *j;
    int ok;

    snprintf(body, sizeof body, "{\"from\":\"%s\",\"name\":\"Test Citizen\",\"text\":\"%s\"}",
             wa_id, text);
    if (th_cloudsim_req(&s->sim, "POST", "/_sim/inbound", body, &out) != 200) {
        free(out);
        return -1;
    }
    j = json_loads(out, 0, NULL);
    ok = j != NULL && json_integer_value(json_object_get(j, "webhook_status")) == 200;
    json_decref(j);
    free(out);
    /* the router resolves the sender asynchronously: wait for the window */
    return ok && th_wait(window_open, &w, 10000) == 0 ? 0 : -1;
}

int th_stack_queue(struct th_stack *s, const char *key, const char *wa_id, const char *text,
                   const char *template_name, enum gw_lane lane, const char *broadcast)
{
    char mid[CRY_MID_LEN];
    struct gw_outmsg m;
    struct core_err err;
    json_t *message = NULL;
    json_t *fallback = NULL;
    int rc;

    if (th_stack_member(s, wa_id, mid) != 0)
        return -1;
    if (text != NULL)
        message = json_pack("{s:s,s:{s:s}}", "type", "text", "text", "body", text);
    if (template_name != NULL) {
        json_t *t = json_pack("{s:s,s:{s:s,s:{s:s},s:[{s:s,s:[{s:s,s:s}]}]}}", "type",
                              "template", "template", "name", template_name, "language",
                              "code", "hi", "components", "type", "body", "parameters",
                              "type", "text", "text", "परीक्षण");

        if (message == NULL)
            message = t;
        else
            fallback = t;
    }
    memset(&m, 0, sizeof m);
    m.key = key;
    m.number = TH_SIM_PNID;
    m.lane = lane;
    m.mid = mid;
    m.message = message;
    m.fallback = fallback;
    m.broadcast = broadcast;
    rc = gw_outbox_enqueue(s->r, s->keys, &m, NULL, &err);
    if (rc != 0)
        fprintf(stderr, "stack: enqueue: %s\n", err.msg);
    json_decref(message);
    json_decref(fallback);
    return rc;
}

long th_stack_accepted(struct th_stack *s, const char *wa_id)
{
    char path[200];
    json_t *j;
    long n = -1;

    if (wa_id != NULL)
        snprintf(path, sizeof path, "/_sim/sends?outcome=accepted&limit=50000&to=%s", wa_id);
    else
        snprintf(path, sizeof path, "/_sim/sends?outcome=accepted&limit=50000");
    j = th_cloudsim_json(&s->sim, path);
    if (j != NULL)
        n = (long)json_array_size(json_object_get(j, "sends"));
    json_decref(j);
    return n;
}

char *th_stack_state(struct th_stack *s, const char *key, const char *broadcast)
{
    char st[32] = "?";
    struct core_err err;

    gw_dispatch_state(s->r, key, broadcast, st, sizeof st, &err);
    return strdup(st);
}

long long th_stack_metric(struct th_stack *s, const char *series)
{
    struct th_http_resp resp;
    char url[128];
    long long v = -1;
    const char *p;

    snprintf(url, sizeof url, "%s/metrics", s->app.url);
    if (th_http("GET", url, NULL, NULL, 0, &resp) != 0)
        return -1;
    for (p = resp.body; p != NULL && (p = strstr(p, series)) != NULL; p++) {
        if ((p == resp.body || p[-1] == '\n') && p[strlen(series)] == ' ') {
            v = strtoll(p + strlen(series) + 1, NULL, 10);
            break;
        }
    }
    th_http_resp_free(&resp);
    return v;
}

/* ======================= playing people ======================= */

int th_stack_cli(struct th_stack *s, const char *const args[], char **out)
{
    char redis[700];
    char keys[700];
    const char *env[] = {redis, keys, "JANSEVA_PHONE_NUMBER_ID=" TH_SIM_PNID,
                         "JANSEVA_LOG_LEVEL=warn", NULL};
    const char *argv[24];
    char *o = NULL;
    char *err = NULL;
    size_t n = 0;
    int rc;

    snprintf(redis, sizeof redis, "JANSEVA_REDIS=%s", s->redis.addr);
    snprintf(keys, sizeof keys, "JANSEVA_KEYS_DIR=%s", s->app.keys_dir);
    argv[n++] = th_bin();
    for (size_t i = 0; args[i] != NULL && n + 1 < sizeof argv / sizeof argv[0]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    rc = th_run(argv, env, NULL, 0, &o, &err);
    if (rc != 0)
        fprintf(stderr, "janseva %s: exit %d: %s\n", args[0], rc, err != NULL ? err : "");
    if (out != NULL)
        *out = o;
    else
        free(o);
    free(err);
    return rc;
}

json_t *th_stack_send(struct th_stack *s, json_t *req)
{
    char *body = json_dumps(req, JSON_COMPACT);
    char *out = NULL;
    json_t *j = NULL;
    long st;

    json_decref(req);
    st = th_cloudsim_req(&s->sim, "POST", "/_sim/inbound", body, &out);
    free(body);
    if (st == 200)
        j = json_loads(out != NULL ? out : "", 0, NULL);
    if (j == NULL || json_integer_value(json_object_get(j, "webhook_status")) != 200) {
        fprintf(stderr, "stack: inbound refused (%ld): %s\n", st, out != NULL ? out : "");
        json_decref(j);
        j = NULL;
    }
    free(out);
    return j;
}

json_t *th_stack_say(struct th_stack *s, const char *wa, const char *name, const char *text)
{
    return th_stack_send(s, json_pack("{s:s,s:s,s:s}", "from", wa, "name", name, "text", text));
}

int th_stack_tap(struct th_stack *s, const char *wa, const char *name, const char *id)
{
    json_t *j = th_stack_send(s, json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s}}", "from", wa, "name",
                                           name, "type", "interactive", "reply", "type",
                                           "button_reply", "id", id, "title", "OK"));

    json_decref(j);
    return j != NULL ? 0 : -1;
}

json_t *th_stack_sent_to(struct th_stack *s, const char *wa)
{
    char path[200];
    json_t *j;
    json_t *out = json_array();
    size_t i;
    json_t *e;

    snprintf(path, sizeof path, "/_sim/sends?outcome=accepted&limit=1000&to=%s", wa);
    j = th_cloudsim_json(&s->sim, path);
    if (j == NULL) {
        json_decref(out);
        return NULL;
    }
    json_array_foreach(json_object_get(j, "sends"), i, e)
    {
        json_t *b = json_loads(json_string_value(json_object_get(e, "body")), 0, NULL);
        char *t;

        if (b == NULL)
            continue;
        json_object_del(b, "to"); /* the recipient; the rest is what they read */
        t = json_dumps(b, JSON_COMPACT);
        json_array_append_new(out, json_string(t));
        free(t);
        json_decref(b);
    }
    json_decref(j);
    return out;
}

size_t th_stack_count_with(struct th_stack *s, const char *wa, const char *needle)
{
    json_t *a = th_stack_sent_to(s, wa);
    size_t i;
    json_t *e;
    size_t n = 0;

    json_array_foreach(a, i, e)
    {
        n += strstr(json_string_value(e), needle) != NULL;
    }
    json_decref(a);
    return n;
}

char *th_stack_last_with(struct th_stack *s, const char *wa, const char *needle)
{
    json_t *a = th_stack_sent_to(s, wa);
    size_t i;
    json_t *e;
    char *hit = NULL;

    json_array_foreach(a, i, e)
    {
        if (strstr(json_string_value(e), needle) != NULL) {
            free(hit);
            hit = strdup(json_string_value(e));
        }
    }
    json_decref(a);
    return hit;
}

struct want_sends {
    struct th_stack *s;
    const char *wa;
    const char *needle;
    size_t n;
};

static int sends_reached(void *ud)
{
    struct want_sends *w = ud;

    return th_stack_count_with(w->s, w->wa, w->needle) >= w->n;
}

int th_stack_wait_for(struct th_stack *s, const char *wa, const char *needle, size_t n,
                      int timeout_ms)
{
    struct want_sends w = {s, wa, needle, n};

    if (th_wait(sends_reached, &w, timeout_ms) == 0)
        return 0;
    fprintf(stderr, "stack: no send #%zu to %s with \"%s\" (log %s)\n", n, wa, needle,
            s->app.log_path);
    return -1;
}

static int quiet(void *ud)
{
    struct th_stack *s = ud;

    return th_redis_int(&s->redis, "XLEN js:in") == 0 &&
           th_redis_int(&s->redis, "XLEN js:out:{%s}:0", TH_SIM_PNID) == 0 &&
           th_redis_int(&s->redis, "XLEN js:out:{%s}:1", TH_SIM_PNID) == 0 &&
           th_redis_int(&s->redis, "XLEN js:out:{%s}:2", TH_SIM_PNID) == 0 &&
           th_redis_int(&s->redis, "ZCARD js:out:{%s}:delay", TH_SIM_PNID) <= 0;
}

int th_stack_wait_quiet(struct th_stack *s, int timeout_ms)
{
    if (th_wait(quiet, s, timeout_ms) == 0)
        return 0;
    fprintf(stderr, "stack: janseva did not settle (log %s)\n", s->app.log_path);
    return -1;
}

int th_stack_member_load(struct th_stack *s, const char *wa, struct grp_member *m)
{
    char mid[CRY_MID_LEN];
    struct core_err err;

    if (th_stack_member(s, wa, mid) != 0)
        return -1;
    if (grp_member_load(s->r, mid, m, &err) != 0) {
        fprintf(stderr, "stack: member of %s: %s\n", wa, err.msg);
        return -1;
    }
    return 0;
}

int th_stack_enrol(struct th_stack *s, const char *wa, const char *name, const char *code,
                   int english)
{
    struct grp_member m;
    char id[64];
    json_t *j;

    j = th_stack_say(s, wa, name, "नमस्ते");
    if (j == NULL)
        return -1;
    json_decref(j);
    snprintf(id, sizeof id, "join:yes:%s", code);
    if (th_stack_wait_for(s, wa, "\"type\":\"interactive\"", 1, 15000) != 0 ||
        th_stack_tap(s, wa, name, id) != 0 || th_stack_wait_for(s, wa, "\"type\"", 2, 15000) != 0)
        return -1;
    if (english) {
        j = th_stack_say(s, wa, name, "english");
        if (j == NULL)
            return -1;
        json_decref(j);
        if (th_stack_wait_for(s, wa, "\"type\"", 3, 15000) != 0)
            return -1;
    }
    if (th_stack_wait_quiet(s, 15000) != 0 || th_stack_member_load(s, wa, &m) != 0)
        return -1;
    if (m.st != GRP_MEMBER_ACTIVE || strcmp(m.group, code) != 0) {
        fprintf(stderr, "stack: %s is %s in '%s', not active in %s\n", wa,
                grp_member_state_name(m.st), m.group, code);
        return -1;
    }
    return 0;
}
