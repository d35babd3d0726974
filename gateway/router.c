/*
 * gateway/router.c - ingress stream consumers (see router.h).
 */
#include "gateway/router.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"
#include "crypto/vault.h"
#include "gateway/ingress.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_HANDLERS 16
#define STATS_KEY "js:router:stats"
#define BLOCK_MS "500"
#define RETRY_FIRST_MS 250
#define RETRY_MAX_MS 30000

struct handler {
    const char *name;
    gw_router_fn fn;
    void *ud;
};

struct worker {
    struct gw_router *rt;
    pthread_t thread;
    int index;
    char consumer[128];
    struct core_redis *redis;
    int need_history;      /* re-read our pending entries before new ones */
    int retry_ms;          /* backoff between failing history passes */
    int64_t next_claim_ms; /* next XAUTOCLAIM */
};

struct gw_router {
    const struct core_cfg *cfg;
    struct handler handlers[MAX_HANDLERS];
    size_t n_handlers;
    unsigned char key[crypto_generichash_KEYBYTES_MAX];
    size_t key_len;
    const struct cry_keys *keys; /* borrowed: open sealed bodies, seal dead letters */
    struct worker *workers;
    int n_workers;
    atomic_bool stop;
    int running;
};

CORE_COUNTER(m_entries, "janseva_router_entries_total", NULL,
             "Ingress stream entries fully processed and acknowledged");
CORE_COUNTER(m_ev_msg, "janseva_router_events_total", "kind=\"message\"",
             "Webhook events handled, by kind");
CORE_COUNTER(m_ev_status, "janseva_router_events_total", "kind=\"status\"",
             "Webhook events handled, by kind");
CORE_COUNTER(m_ev_error, "janseva_router_events_total", "kind=\"error\"",
             "Webhook events handled, by kind");
CORE_COUNTER(m_dups, "janseva_router_duplicates_total", NULL,
             "Events skipped because they were already handled");
CORE_COUNTER(m_malformed, "janseva_router_malformed_total", NULL,
             "Malformed events skipped (reported in the log)");
CORE_COUNTER(m_dead, "janseva_router_dead_letters_total", NULL,
             "Entries moved to the dead-letter stream");
CORE_COUNTER(m_failures, "janseva_router_failures_total", NULL,
             "Entries left pending after a transient failure (retried)");

void gw_router_metrics_init(void)
{
    core_metrics_register(&m_entries);
    core_metrics_register(&m_ev_msg);
    core_metrics_register(&m_ev_status);
    core_metrics_register(&m_ev_error);
    core_metrics_register(&m_dups);
    core_metrics_register(&m_malformed);
    core_metrics_register(&m_dead);
    core_metrics_register(&m_failures);
}

struct gw_router *gw_router_new(const struct core_cfg *cfg)
{
    struct gw_router *rt = core_calloc(1, sizeof *rt);

    rt->cfg = cfg;
    atomic_init(&rt->stop, false);
    gw_router_metrics_init();
    return rt;
}

void gw_router_add_handler(struct gw_router *rt, const char *name, gw_router_fn fn, void *ud)
{
    if (rt->n_handlers >= MAX_HANDLERS) {
        core_log_error("router", NULL, "too many handlers; %s ignored", name);
        return;
    }
    rt->handlers[rt->n_handlers].name = name;
    rt->handlers[rt->n_handlers].fn = fn;
    rt->handlers[rt->n_handlers].ud = ud;
    rt->n_handlers++;
}

void gw_router_set_hash_key(struct gw_router *rt, const unsigned char *key, size_t len)
{
    if (len > sizeof rt->key)
        len = sizeof rt->key;
    memcpy(rt->key, key, len);
    rt->key_len = len;
}

void gw_router_set_keys(struct gw_router *rt, const struct cry_keys *keys)
{
    rt->keys = keys;
}

void gw_router_event_key(const struct gw_router *rt, const char *entry_id,
                         const struct gw_event *ev, char out[GW_EVENT_KEY_HEX])
{
    crypto_generichash_state st;
    unsigned char h[16];
    char pos[96];

    crypto_generichash_init(&st, rt->key_len ? rt->key : NULL, rt->key_len, sizeof h);
    switch (ev->kind) {
    case GW_EVENT_MESSAGE:
        crypto_generichash_update(&st, (const unsigned char *)"m|", 2);
        crypto_generichash_update(&st, (const unsigned char *)ev->id, strlen(ev->id));
        break;
    case GW_EVENT_STATUS:
        crypto_generichash_update(&st, (const unsigned char *)"s|", 2);
        crypto_generichash_update(&st, (const unsigned char *)ev->id, strlen(ev->id));
        crypto_generichash_update(&st, (const unsigned char *)"|", 1);
        crypto_generichash_update(&st, (const unsigned char *)ev->status_name,
                                  strlen(ev->status_name));
        break;
    case GW_EVENT_ERROR:
        snprintf(pos, sizeof pos, "e|%s|%zu|%zu|%zu", entry_id, ev->entry, ev->change, ev->index);
        crypto_generichash_update(&st, (const unsigned char *)pos, strlen(pos));
        break;
    }
    crypto_generichash_final(&st, h, sizeof h);
    core_hex(out, h, sizeof h);
}

/* ---- one entry ---- */

/* A stream entry as read: borrowed pointers into a reply. */
struct entry {
    const char *id;
    const char *body;
    size_t body_len;
    const char *format;
    const char *req;
    long long deliveries;
};

static void entry_fields(const redisReply *e, struct entry *out)
{
    const redisReply *fields;
    size_t i;

    memset(out, 0, sizeof *out);
    out->id = e->element[0]->str;
    fields = e->element[1];
    if (fields == NULL || fields->type != REDIS_REPLY_ARRAY)
        return;
    for (i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i];
        const redisReply *v = fields->element[i + 1];

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(k->str, "b") == 0) {
            out->body = v->str;
            out->body_len = v->len;
        } else if (strcmp(k->str, "f") == 0) {
            out->format = v->str;
        } else if (strcmp(k->str, "r") == 0) {
            out->req = v->str;
        }
    }
}

/*
 * KEYS[1] the event's seen key, KEYS[2] the stats hash; ARGV ttl, stats
 * field. Marks the event done: 1, or 0 when another worker already had.
 */
static struct core_redis_script done_script = {
    "router_done",
    "if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then\n"
    "  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)\n"
    "  return 1\n"
    "end\n"
    "return 0\n",
    ""};

/* An event handled, to be marked done with its entry's acknowledgement. */
struct done {
    char seen[64];
    const char *field; /* stats field: messages, statuses, errors */
    enum gw_event_kind kind;
    int code;          /* errors: the first error code */
    char event_key[GW_EVENT_KEY_HEX];
};

/* Acknowledge and delete an entry in one transaction. */
static int ack(struct worker *w, const char *id, struct core_err *err)
{
    int rc = 0;
    int i;

    if (core_redis_appendf(w->redis, err, "MULTI") != 0 ||
        core_redis_appendf(w->redis, err, "XACK %s %s %s", GW_STREAM_IN, GW_GROUP_ROUTER, id) !=
            0 ||
        core_redis_appendf(w->redis, err, "XDEL %s %s", GW_STREAM_IN, id) != 0 ||
        core_redis_appendf(w->redis, err, "EXEC") != 0)
        return -1;
    for (i = 0; i < 4; i++) {
        if (core_redis_get_reply(w->redis, NULL, err) != 0) {
            rc = -1;
            if (!core_redis_connected(w->redis))
                break;
        }
    }
    return rc;
}

/*
 * Move an entry to the dead-letter stream. The body is kept for replay but
 * never in clear: a sealed body is copied as it is, any other body (the old
 * `raw` format, an unknown format) is sealed first (record id = the request
 * id, or the entry id when there is none; `of` keeps the original format).
 */
static int dead_letter(struct worker *w, const struct entry *e, const char *reason,
                       struct core_err *err)
{
    char deliveries[32];
    const char *argv[17];
    size_t lens[17];
    unsigned char *sealed = NULL;
    const char *body = e->body != NULL ? e->body : "";
    size_t body_len = e->body != NULL ? e->body_len : 0;
    const char *format = e->format != NULL ? e->format : "raw";
    const char *record = e->req != NULL && e->req[0] != '\0' ? e->req : e->id;
    char why[CORE_ERR_LEN];
    int argc = 13;
    int i;
    int rc;

    snprintf(why, sizeof why, "%s", reason); /* `reason` may live in `err` */

    if (strcmp(format, "sealed") != 0 && w->rt->keys != NULL) {
        size_t cap = cry_vault_sealed_size(body_len);
        size_t n = 0;

        sealed = core_malloc(cap);
        if (cry_vault_seal(w->rt->keys, CRY_VAULT_INGRESS, record, "b", body, body_len, sealed,
                           cap, &n, err) != 0) {
            free(sealed);
            return -1; /* key version unknown: retry later */
        }
        body = (const char *)sealed;
        body_len = n;
    }
    snprintf(deliveries, sizeof deliveries, "%lld", e->deliveries);
    argv[0] = "XADD";
    argv[1] = GW_STREAM_DEAD;
    argv[2] = "*";
    argv[3] = "reason";
    argv[4] = why;
    argv[5] = "entry";
    argv[6] = e->id;
    argv[7] = "deliveries";
    argv[8] = deliveries;
    argv[9] = "f";
    argv[10] = sealed != NULL ? "sealed" : format;
    argv[11] = "b";
    argv[12] = body;
    if (sealed != NULL || strcmp(format, "sealed") == 0) {
        argv[argc++] = "r";
        argv[argc++] = record;
    }
    if (sealed != NULL) {
        argv[argc++] = "of";
        argv[argc++] = format;
    }
    for (i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    lens[12] = body_len;
    rc = core_redis_cmdv(w->redis, argc, argv, lens, NULL, err);
    free(sealed);
    if (rc != 0)
        return -1;
    if (ack(w, e->id, err) != 0)
        return -1;
    core_metric_inc(&m_dead);
    core_log_kv(CORE_LOG_ERROR, "router", e->req, "entry moved to the dead-letter stream",
                json_pack("{s:s,s:s,s:I}", "entry", e->id, "reason", why, "deliveries",
                          (json_int_t)e->deliveries));
    return 0;
}

/*
 * Handle one event. Returns 0 (handled: *d describes it, d->seen set; or a
 * duplicate or malformed event: d->seen empty) or -1 (retry later). The
 * event is marked done by finish_entry(), with its entry's ack.
 */
static int handle_event(struct worker *w, const struct entry *e, const struct gw_webhook *hook,
                        const struct gw_event *ev, struct done *d, struct core_err *err)
{
    struct gw_router *rt = w->rt;
    struct gw_router_ctx ctx;
    char seen[64];
    redisReply *reply;
    const char *field;
    size_t i;
    int fresh;

    d->seen[0] = '\0';
    if (ev->problem != NULL) {
        core_metric_inc(&m_malformed);
        core_log_kv(CORE_LOG_WARN, "router", e->req, "malformed event skipped",
                    json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "entry", e->id, "kind",
                              gw_event_kind_name(ev->kind), "problem", ev->problem,
                              "entry_index", (json_int_t)ev->entry, "change",
                              (json_int_t)ev->change, "index", (json_int_t)ev->index));
        return 0;
    }
    memset(&ctx, 0, sizeof ctx);
    ctx.redis = w->redis;
    ctx.entry_id = e->id;
    ctx.req_id = e->req;
    ctx.hook = hook;
    gw_router_event_key(rt, e->id, ev, ctx.event_key);
    snprintf(seen, sizeof seen, "js:seen:%s", ctx.event_key);
    if (core_redis_cmdf(w->redis, &reply, err, "EXISTS %s", seen) != 0)
        return -1;
    fresh = core_redis_int(reply) == 0;
    freeReplyObject(reply);
    if (!fresh) {
        core_metric_inc(&m_dups);
        core_log_debug("router", e->req, "duplicate event %s skipped", ctx.event_key);
        return 0;
    }
    for (i = 0; i < rt->n_handlers; i++) {
        if (rt->handlers[i].fn(rt->handlers[i].ud, &ctx, ev, err) != 0)
            return core_err_wrap(err, "handler %s", rt->handlers[i].name);
    }
    field = ev->kind == GW_EVENT_MESSAGE ? "messages"
            : ev->kind == GW_EVENT_STATUS ? "statuses"
                                          : "errors";
    snprintf(d->seen, sizeof d->seen, "%s", seen);
    d->field = field;
    d->kind = ev->kind;
    d->code = ev->n_errors ? ev->error_codes[0] : 0;
    snprintf(d->event_key, sizeof d->event_key, "%s", ctx.event_key);
    return 0;
}

/* The outcome of marking `d` done (`fresh`: this worker was first). */
static void done_counted(const struct entry *e, const struct done *d, int fresh)
{
    if (!fresh) {
        core_metric_inc(&m_dups); /* another worker finished it meanwhile */
        return;
    }
    core_metric_inc(d->kind == GW_EVENT_MESSAGE  ? &m_ev_msg
                    : d->kind == GW_EVENT_STATUS ? &m_ev_status
                                                 : &m_ev_error);
    if (d->kind == GW_EVENT_ERROR)
        core_log_kv(CORE_LOG_WARN, "router", e->req, "WhatsApp reported an error",
                    json_pack("{s:s,s:i}", "event", d->event_key, "code", d->code));
}

/*
 * Mark the handled events of entry `e` done (seen, counted) and, with
 * `do_ack`, acknowledge the entry, in one pipeline: one round trip where
 * there were three per event. The marks go first, so a crash in between leaves the entry
 * pending and its events seen: the redelivery skips them. Returns 0 or -1
 * (the entry stays pending; handlers are idempotent).
 */
static int finish_entry(struct worker *w, const struct entry *e, const struct done *dn, size_t n,
                        int do_ack, struct core_err *err)
{
    char ttl[16];
    const char *argv[4];
    unsigned char *retry = core_calloc(n + 1, 1); /* marks that met NOSCRIPT */
    size_t i;
    size_t queued = 0;
    int acks = 0;
    int rc = 0;
    int again = 0;

    snprintf(ttl, sizeof ttl, "%d", GW_SEEN_TTL_S);
    argv[1] = STATS_KEY;
    argv[2] = ttl;
    for (i = 0; i < n && rc == 0; i++) {
        if (dn[i].seen[0] == '\0')
            continue;
        argv[0] = dn[i].seen;
        argv[3] = dn[i].field;
        if (core_redis_eval_append(w->redis, &done_script, 2, 4, argv, NULL, err) != 0)
            rc = -1;
        else
            queued++;
    }
    /* the ack only when every mark is queued: it must not overtake them */
    if (!do_ack) {
        /* marks only: an event of the entry failed, the entry stays pending */
    } else if (rc == 0 && core_redis_appendf(w->redis, err, "MULTI") == 0) {
        acks++;
        if (core_redis_appendf(w->redis, err, "XACK %s %s %s", GW_STREAM_IN, GW_GROUP_ROUTER,
                               e->id) == 0)
            acks++;
        if (acks == 2 && core_redis_appendf(w->redis, err, "XDEL %s %s", GW_STREAM_IN, e->id) == 0)
            acks++;
        if (acks == 3 && core_redis_appendf(w->redis, err, "EXEC") == 0)
            acks++;
        if (acks < 4)
            rc = -1;
    } else {
        rc = -1;
    }
    /* every reply queued is read, whatever happened to the others */
    for (i = 0; i < n && queued > 0; i++) {
        redisReply *rep = NULL;

        if (dn[i].seen[0] == '\0')
            continue;
        queued--;
        if (core_redis_get_reply(w->redis, &rep, err) != 0) {
            if (!core_redis_connected(w->redis)) {
                free(retry);
                return -1;
            }
            if (core_redis_err_is(err, "NOSCRIPT"))
                retry[i] = again = 1;
            else
                rc = -1;
            continue;
        }
        done_counted(e, &dn[i], rep->type == REDIS_REPLY_INTEGER && rep->integer == 1);
        freeReplyObject(rep);
    }
    for (int k = 0; k < acks; k++) {
        if (core_redis_get_reply(w->redis, NULL, err) != 0) {
            rc = -1;
            if (!core_redis_connected(w->redis))
                break;
        }
    }
    if (again && core_redis_connected(w->redis)) {
        /* Redis lost its scripts (a restart): load again, mark those now */
        core_redis_script_forget(&done_script);
        for (i = 0; i < n; i++) {
            redisReply *rep = NULL;

            if (!retry[i])
                continue;
            argv[0] = dn[i].seen;
            argv[3] = dn[i].field;
            if (core_redis_eval(w->redis, &done_script, 2, 4, argv, NULL, &rep, err) != 0) {
                rc = -1;
                continue;
            }
            done_counted(e, &dn[i], rep->type == REDIS_REPLY_INTEGER && rep->integer == 1);
            freeReplyObject(rep);
        }
    }
    free(retry);
    return rc;
}

/*
 * The body of an entry in clear: the entry's own bytes for the old `raw`
 * format, or a new buffer (*owned, wiped and freed by the caller) for
 * `sealed`. Returns NULL with `reason` set when the entry must be
 * dead-lettered.
 */
static const char *entry_body(struct worker *w, const struct entry *e, size_t *len,
                              char **owned, const char **reason)
{
    size_t cap;
    size_t n = 0;
    struct core_err err;

    *owned = NULL;
    if (e->format == NULL || strcmp(e->format, "raw") == 0) {
        *len = e->body_len;
        return e->body;
    }
    if (strcmp(e->format, "sealed") != 0) {
        *reason = "unknown body format";
        return NULL;
    }
    if (w->rt->keys == NULL) {
        *reason = "no key to open a sealed body";
        return NULL;
    }
    cap = cry_vault_open_size(e->body_len);
    if (cap == 0 || e->req == NULL) {
        *reason = "undecryptable body";
        return NULL;
    }
    *owned = core_malloc(cap);
    if (cry_vault_open(w->rt->keys, CRY_VAULT_INGRESS, e->req, "b",
                       (const unsigned char *)e->body, e->body_len, (unsigned char *)*owned, cap,
                       &n, &err) != 0) {
        free(*owned);
        *owned = NULL;
        *reason = "undecryptable body";
        return NULL;
    }
    *len = n;
    return *owned;
}

static void wipe_free(char *p, size_t len)
{
    if (p == NULL)
        return;
    sodium_memzero(p, len);
    free(p);
}

/* Process one entry. Returns 0 when acknowledged, -1 when left pending. */
static int process_entry(struct worker *w, struct entry *e)
{
    struct gw_webhook hook;
    struct core_err err;
    const char *reason = NULL;
    const char *body;
    char *owned = NULL;
    size_t body_len = 0;
    struct done *dn;
    size_t n_dn;
    size_t i;
    int failed = 0;

    core_err_clear(&err);
    if (e->deliveries > w->rt->cfg->router_max_deliveries)
        return dead_letter(w, e, "too many failed attempts", &err);
    if (e->body == NULL)
        return dead_letter(w, e, "entry has no body", &err);
    body = entry_body(w, e, &body_len, &owned, &reason);
    if (body == NULL)
        return dead_letter(w, e, reason, &err);
    if (gw_webhook_parse(&hook, body, body_len, &err) != 0) {
        gw_webhook_free(&hook);
        wipe_free(owned, body_len);
        return dead_letter(w, e, err.msg, &err);
    }
    if (hook.ignored > 0)
        core_log_debug("router", e->req, "%zu change(s) with other fields ignored (first: %s)",
                       hook.ignored, hook.ignored_field[0]);
    dn = core_calloc(hook.n_events + 1, sizeof dn[0]);
    for (i = 0; i < hook.n_events && !failed; i++) {
        if (handle_event(w, e, &hook, &hook.events[i], &dn[i], &err) != 0)
            failed = 1;
    }
    n_dn = i;
    gw_webhook_free(&hook);
    wipe_free(owned, body_len);
    if (!failed && finish_entry(w, e, dn, n_dn, 1, &err) == 0) {
        free(dn);
        core_metric_inc(&m_entries);
        return 0;
    }
    if (failed) { /* the events handled before the failure are done: not again */
        struct core_err err2;

        finish_entry(w, e, dn, n_dn, 0, &err2);
    }
    free(dn);
    core_metric_inc(&m_failures);
    core_log_kv(CORE_LOG_WARN, "router", e->req, "entry left pending; will retry",
                json_pack("{s:s,s:s}", "entry", e->id, "error", err.msg));
    return -1;
}

/* ---- the worker loop ---- */

static void ensure_group(struct worker *w)
{
    struct core_err err;

    if (core_redis_cmdf(w->redis, NULL, &err, "XGROUP CREATE %s %s 0 MKSTREAM", GW_STREAM_IN,
                        GW_GROUP_ROUTER) != 0 &&
        !core_redis_err_is(&err, "BUSYGROUP") && w->index == 0)
        core_log_warn("router", NULL, "cannot create consumer group: %s", err.msg);
}

/* Delivery counts of our own pending entries: [id, consumer, idle, count]. */
static redisReply *own_pending(struct worker *w, int batch)
{
    redisReply *reply = NULL;
    struct core_err err;
    char n[16];

    snprintf(n, sizeof n, "%d", batch);
    if (core_redis_cmdf(w->redis, &reply, &err, "XPENDING %s %s - + %s %s", GW_STREAM_IN,
                        GW_GROUP_ROUTER, n, w->consumer) != 0)
        return NULL;
    return reply;
}

static long long deliveries_of(const redisReply *pending, const char *id)
{
    size_t i;

    if (pending == NULL || pending->type != REDIS_REPLY_ARRAY)
        return 1;
    for (i = 0; i < pending->elements; i++) {
        const redisReply *p = pending->element[i];

        if (p->type == REDIS_REPLY_ARRAY && p->elements >= 4 &&
            p->element[0]->type == REDIS_REPLY_STRING && strcmp(p->element[0]->str, id) == 0)
            return p->element[3]->integer;
    }
    return 1;
}

/*
 * Read a batch (history when `history`, else new entries, blocking briefly)
 * and process it. Returns the number of entries read, or -1 on a Redis error.
 */
static int read_batch(struct worker *w, int history)
{
    struct core_err err;
    redisReply *reply = NULL;
    redisReply *pending = NULL;
    redisReply *entries;
    char count[16];
    size_t i;
    int failures = 0;
    int rc;

    snprintf(count, sizeof count, "%d", w->rt->cfg->router_batch);
    if (history) {
        pending = own_pending(w, w->rt->cfg->router_batch);
        rc = core_redis_cmdf(w->redis, &reply, &err,
                             "XREADGROUP GROUP %s %s COUNT %s STREAMS %s 0", GW_GROUP_ROUTER,
                             w->consumer, count, GW_STREAM_IN);
    } else {
        rc = core_redis_cmdf(w->redis, &reply, &err,
                             "XREADGROUP GROUP %s %s COUNT %s BLOCK %s STREAMS %s >",
                             GW_GROUP_ROUTER, w->consumer, count, BLOCK_MS, GW_STREAM_IN);
    }
    if (rc != 0) {
        if (pending != NULL)
            freeReplyObject(pending);
        if (core_redis_err_is(&err, "NOGROUP")) {
            core_log_warn("router", NULL, "consumer group missing; recreating it");
            ensure_group(w);
            return 0;
        }
        return -1;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
        freeReplyObject(reply);
        if (pending != NULL)
            freeReplyObject(pending);
        return 0;
    }
    entries = reply->element[0]->element[1];
    for (i = 0; i < entries->elements; i++) {
        redisReply *e = entries->element[i];
        struct entry ent;

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
            continue;
        if (e->element[1]->type != REDIS_REPLY_ARRAY) {
            /* pending but deleted from the stream: nothing left to do */
            ack(w, e->element[0]->str, &err);
            continue;
        }
        entry_fields(e, &ent);
        ent.deliveries = history ? deliveries_of(pending, ent.id) : 1;
        if (process_entry(w, &ent) != 0)
            failures++;
    }
    rc = (int)entries->elements;
    freeReplyObject(reply);
    if (pending != NULL)
        freeReplyObject(pending);
    if (failures > 0) {
        w->need_history = 1;
        core_sleep_ms(w->retry_ms);
        w->retry_ms = w->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : w->retry_ms * 2;
    } else if (history) {
        w->retry_ms = RETRY_FIRST_MS;
    }
    return rc;
}

/* Claim entries other (dead) workers left pending too long. */
static void claim_stale(struct worker *w)
{
    struct core_err err;
    redisReply *reply;
    char idle[16];

    snprintf(idle, sizeof idle, "%d", w->rt->cfg->router_claim_idle_ms);
    if (core_redis_cmdf(w->redis, &reply, &err,
                        "XAUTOCLAIM %s %s %s %s 0-0 COUNT 100 JUSTID", GW_STREAM_IN,
                        GW_GROUP_ROUTER, w->consumer, idle) != 0)
        return;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2 &&
        reply->element[1]->type == REDIS_REPLY_ARRAY && reply->element[1]->elements > 0) {
        core_log_info("router", NULL, "claimed %zu stale entries from other workers",
                      reply->element[1]->elements);
        w->need_history = 1;
    }
    freeReplyObject(reply);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct gw_router *rt = w->rt;
    int claim_every = rt->cfg->router_claim_idle_ms / 2;

    if (claim_every < 1000)
        claim_every = 1000;
    ensure_group(w);
    w->need_history = 1; /* finish what this consumer had before a restart */
    w->retry_ms = RETRY_FIRST_MS;
    w->next_claim_ms = core_mono_ms() + claim_every;
    while (!atomic_load(&rt->stop)) {
        int n;

        if (core_mono_ms() >= w->next_claim_ms) {
            claim_stale(w);
            w->next_claim_ms = core_mono_ms() + claim_every;
        }
        if (w->need_history) {
            n = read_batch(w, 1);
            if (n == 0)
                w->need_history = 0;
        } else {
            n = read_batch(w, 0);
        }
        if (n < 0)
            core_sleep_ms(200); /* Redis unavailable; the connection backs off */
    }
    return NULL;
}

int gw_router_start(struct gw_router *rt, struct core_err *err)
{
    char host[64] = "janseva";
    int i;

    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    rt->n_workers = rt->cfg->router_threads;
    rt->workers = core_calloc((size_t)rt->n_workers, sizeof *rt->workers);
    for (i = 0; i < rt->n_workers; i++) {
        struct worker *w = &rt->workers[i];
        struct core_redis_opts o = {rt->cfg->redis, rt->cfg->redis_user, rt->cfg->redis_password,
                                    rt->cfg->redis_timeout_ms};

        w->rt = rt;
        w->index = i;
        /* Stable names: a restarted process resumes its own pending entries. */
        snprintf(w->consumer, sizeof w->consumer, "%s-%d", host, i);
        w->redis = core_redis_new(&o);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            core_redis_free(w->redis);
            w->redis = NULL;
            rt->n_workers = i;
            gw_router_stop(rt);
            return core_err_set(err, CORE_EX_SOFTWARE, "router: cannot start worker threads");
        }
    }
    rt->running = 1;
    core_log_info("router", NULL, "%d router worker(s) started", rt->n_workers);
    return 0;
}

void gw_router_stop(struct gw_router *rt)
{
    int i;

    atomic_store(&rt->stop, true);
    for (i = 0; i < rt->n_workers; i++) {
        pthread_join(rt->workers[i].thread, NULL);
        core_redis_free(rt->workers[i].redis);
    }
    free(rt->workers);
    rt->workers = NULL;
    rt->n_workers = 0;
    rt->running = 0;
}

void gw_router_free(struct gw_router *rt)
{
    if (rt == NULL)
        return;
    if (rt->running)
        gw_router_stop(rt);
    sodium_memzero(rt->key, sizeof rt->key);
    free(rt);
}

/* ---- metrics collector ---- */

void gw_router_collect(void *pool_ud, struct core_buf *out)
{
    struct core_redis_pool *pool = pool_ud;
    struct core_redis *r = core_redis_pool_get(pool);
    struct core_err err;
    redisReply *len = NULL;
    redisReply *pend = NULL;
    redisReply *dead = NULL;
    redisReply *first = NULL;
    int up;
    double lag = 0;

    up = core_redis_appendf(r, &err, "XLEN %s", GW_STREAM_IN) == 0 &&
         core_redis_appendf(r, &err, "XPENDING %s %s", GW_STREAM_IN, GW_GROUP_ROUTER) == 0 &&
         core_redis_appendf(r, &err, "XLEN %s", GW_STREAM_DEAD) == 0 &&
         core_redis_appendf(r, &err, "XRANGE %s - + COUNT 1", GW_STREAM_IN) == 0;
    if (up) {
        /* XPENDING fails with NOGROUP before the first router start: fine */
        int ok1 = core_redis_get_reply(r, &len, &err) == 0;
        int ok2 = core_redis_get_reply(r, &pend, &err) == 0;
        int ok3 = core_redis_get_reply(r, &dead, &err) == 0;
        int ok4 = core_redis_get_reply(r, &first, &err) == 0;

        up = core_redis_connected(r) && (ok1 || ok2 || ok3 || ok4);
    }
    core_redis_pool_put(pool, r);
    core_buf_printf(out, "# HELP janseva_redis_up Whether Redis answered this scrape\n"
                         "# TYPE janseva_redis_up gauge\njanseva_redis_up %d\n",
                    up ? 1 : 0);
    if (first != NULL && first->type == REDIS_REPLY_ARRAY && first->elements > 0) {
        int64_t ms;
        const char *id = first->element[0]->element[0]->str;
        const char *dash = strchr(id, '-');

        if (dash != NULL && core_parse_i64n(id, (size_t)(dash - id), &ms) == 0)
            lag = (double)(core_now_ms() - ms) / 1000.0;
        if (lag < 0)
            lag = 0;
    }
    core_buf_printf(out,
                    "# HELP janseva_ingress_stream_length Webhooks persisted and not yet "
                    "processed\n# TYPE janseva_ingress_stream_length gauge\n"
                    "janseva_ingress_stream_length %lld\n"
                    "# HELP janseva_ingress_pending Entries read by a router and not yet "
                    "acknowledged\n# TYPE janseva_ingress_pending gauge\n"
                    "janseva_ingress_pending %lld\n"
                    "# HELP janseva_ingress_dead_letters Entries in the dead-letter stream\n"
                    "# TYPE janseva_ingress_dead_letters gauge\n"
                    "janseva_ingress_dead_letters %lld\n"
                    "# HELP janseva_router_lag_seconds Age of the oldest unprocessed webhook\n"
                    "# TYPE janseva_router_lag_seconds gauge\n"
                    "janseva_router_lag_seconds %.3f\n",
                    len != NULL ? core_redis_int(len) : 0,
                    pend != NULL && pend->type == REDIS_REPLY_ARRAY && pend->elements > 0
                        ? core_redis_int(pend->element[0])
                        : 0,
                    dead != NULL ? core_redis_int(dead) : 0, lag);
    if (len != NULL)
        freeReplyObject(len);
    if (pend != NULL)
        freeReplyObject(pend);
    if (dead != NULL)
        freeReplyObject(dead);
    if (first != NULL)
        freeReplyObject(first);
}
