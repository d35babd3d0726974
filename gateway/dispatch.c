/*
 * gateway/dispatch.c - the dispatcher role (see dispatch.h and
 * docs/dispatch.md).
 *
 * One thread drives every business number: it promotes deferred messages
 * that are due, reads the lanes, takes pacing tokens, checks recipient slots
 * and the 24-hour window, records "sending", hands bodies to the Graph client
 * and acts on each answer. Redis work for a batch is pipelined.
 */
#include "gateway/dispatch.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"
#include "gateway/graph.h"
#include "gateway/outbox.h"
#include "gateway/pacer.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GROUP "dispatch"
#define DEAD_STREAM "js:out:dead"
#define WINDOW_S (24 * 3600)
#define PROMOTE_EVERY_MS 200
#define CLAIM_EVERY_MS 30000
#define CLAIM_IDLE_MS "120000"
#define PAUSE_REFRESH_MS 1000
#define PAUSE_MAX_MS 600000
#define THROTTLE_FIRST_MS 1000
#define THROTTLE_MAX_MS 60000
#define RETRY_MAX_MS 300000
#define MSG_TTL "604800"
#define FALLBACK_TTL "86400"
#define SEP '\x1f'

/* ======================= metrics ======================= */

CORE_COUNTER(m_ok, "janseva_dispatch_sends_total", "outcome=\"ok\"",
             "Graph API sends, by outcome");
CORE_COUNTER(m_throttled, "janseva_dispatch_sends_total", "outcome=\"throttled\"",
             "Graph API sends, by outcome");
CORE_COUNTER(m_pair, "janseva_dispatch_sends_total", "outcome=\"pair_limit\"",
             "Graph API sends, by outcome");
CORE_COUNTER(m_window, "janseva_dispatch_sends_total", "outcome=\"window_closed\"",
             "Graph API sends, by outcome");
CORE_COUNTER(m_pause, "janseva_dispatch_sends_total", "outcome=\"pause\"",
             "Graph API sends, by outcome");
CORE_COUNTER(m_permanent, "janseva_dispatch_sends_total", "outcome=\"permanent\"",
             "Graph API sends, by outcome");
CORE_COUNTER(m_transient, "janseva_dispatch_sends_total", "outcome=\"transient\"",
             "Graph API sends, by outcome");
CORE_COUNTER(m_ambiguous, "janseva_dispatch_sends_total", "outcome=\"ambiguous\"",
             "Graph API sends, by outcome");
CORE_COUNTER(m_drop_stopped, "janseva_dispatch_dropped_total", "reason=\"stopped\"",
             "Alert and bulk messages dropped at send time (the recipient may no longer "
             "receive them, or their broadcast was cancelled)");
CORE_COUNTER(m_drop_banned, "janseva_dispatch_dropped_total", "reason=\"banned\"",
             "Alert and bulk messages dropped at send time (the recipient may no longer "
             "receive them, or their broadcast was cancelled)");
CORE_COUNTER(m_drop_group, "janseva_dispatch_dropped_total", "reason=\"left_group\"",
             "Alert and bulk messages dropped at send time (the recipient may no longer "
             "receive them, or their broadcast was cancelled)");
CORE_COUNTER(m_drop_cancelled, "janseva_dispatch_dropped_total", "reason=\"cancelled\"",
             "Alert and bulk messages dropped at send time (the recipient may no longer "
             "receive them, or their broadcast was cancelled)");
CORE_COUNTER(m_retries, "janseva_dispatch_retries_total", NULL,
             "Messages scheduled again after a transient failure");
CORE_COUNTER(m_dead, "janseva_dispatch_dead_letters_total", NULL,
             "Messages given up (js:out:dead)");
CORE_COUNTER(m_def_spacing, "janseva_dispatch_deferred_total", "reason=\"recipient_spacing\"",
             "Messages deferred, by reason");
CORE_COUNTER(m_def_sched, "janseva_dispatch_deferred_total", "reason=\"scheduled\"",
             "Messages deferred, by reason");
CORE_COUNTER(m_def_unconfirmed, "janseva_dispatch_deferred_total", "reason=\"unconfirmed\"",
             "Messages deferred, by reason");
CORE_COUNTER(m_def_backoff, "janseva_dispatch_deferred_total", "reason=\"backoff\"",
             "Messages deferred, by reason");
CORE_COUNTER(m_resent, "janseva_dispatch_resent_unconfirmed_total", NULL,
             "Sends repeated because no status confirmed the first within the grace period");
CORE_COUNTER(m_tpl, "janseva_dispatch_window_template_total", NULL,
             "Free-form messages sent as their template because the 24 h window was closed");
CORE_COUNTER(m_already, "janseva_dispatch_already_sent_total", NULL,
             "Queue entries found already sent (replayed after a crash) and dropped");
CORE_COUNTER(m_status, "janseva_delivery_statuses_total", "result=\"applied\"",
             "Status webhooks, by result");
CORE_COUNTER(m_status_stale, "janseva_delivery_statuses_total", "result=\"stale\"",
             "Status webhooks, by result");
CORE_COUNTER(m_status_unknown, "janseva_delivery_statuses_total", "result=\"unknown_message\"",
             "Status webhooks, by result");
CORE_COUNTER(m_status_fallback, "janseva_delivery_statuses_total", "result=\"resent_as_template\"",
             "Status webhooks, by result");

/* Graph API error answers by code: the codes the brief's table names. */
static const int error_codes[] = {130429, 131056, 131047, 131026, 131049, 131050, 132000, 132001,
                                  131009, 190,    368,    133010, 131000, 131053, 131048, 4};
#define N_CODES (sizeof error_codes / sizeof error_codes[0])
static struct core_metric m_codes[N_CODES + 1];
static char code_labels[N_CODES + 1][32];

static void count_code(int code)
{
    size_t i;

    if (code == 0)
        return;
    for (i = 0; i < N_CODES && error_codes[i] != code; i++)
        ;
    core_metric_inc(&m_codes[i]); /* i == N_CODES: "other" */
}

void gw_dispatch_metrics_init(void)
{
    static int codes_ready;

    if (!codes_ready) {
        for (size_t i = 0; i <= N_CODES; i++) {
            if (i < N_CODES)
                snprintf(code_labels[i], sizeof code_labels[i], "code=\"%d\"", error_codes[i]);
            else
                snprintf(code_labels[i], sizeof code_labels[i], "code=\"other\"");
            m_codes[i].name = "janseva_dispatch_errors_total";
            m_codes[i].labels = code_labels[i];
            m_codes[i].help = "Graph API error answers (including failed statuses), by code";
            m_codes[i].type = "counter";
            core_metrics_register(&m_codes[i]);
        }
        codes_ready = 1;
    }
    struct core_metric *all[] = {&m_ok,           &m_throttled,   &m_pair,         &m_window,
                                 &m_pause,        &m_permanent,   &m_transient,    &m_ambiguous,
                                 &m_drop_stopped, &m_drop_banned, &m_drop_group,
                                 &m_drop_cancelled,
                                 &m_retries,      &m_dead,        &m_def_spacing,  &m_def_sched,
                                 &m_def_unconfirmed, &m_def_backoff, &m_resent,   &m_tpl,
                                 &m_already,      &m_status,      &m_status_stale,
                                 &m_status_unknown, &m_status_fallback};

    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        core_metrics_register(all[i]);
}

/* ======================= scripts ======================= */

/* KEYS[1] lane, KEYS[2] delay; ARGV group, id, due, member */
static struct core_redis_script defer_script = {
    "dispatch_defer",
    "redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])\n"
    "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('XDEL', KEYS[1], ARGV[2])\n"
    "return 1\n",
    ""};

/* KEYS[1] delay, KEYS[2..4] lanes; ARGV now, limit. Moves due messages back. */
static struct core_redis_script promote_script = {
    "dispatch_promote",
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0,"
    " tonumber(ARGV[2]))\n"
    "for _, m in ipairs(due) do\n"
    "  local parts = {}\n"
    "  local pos = 1\n"
    "  local ok = true\n"
    "  for i = 1, 6 do\n"
    "    local s = string.find(m, '\\31', pos, true)\n"
    "    if s == nil then ok = false; break end\n"
    "    parts[i] = string.sub(m, pos, s - 1)\n"
    "    pos = s + 1\n"
    "  end\n"
    "  local lane = tonumber(parts[1] or '')\n"
    "  if ok and lane ~= nil and lane >= 0 and lane <= 2 then\n"
    "    redis.call('XADD', KEYS[2 + lane], '*', 'k', parts[2], 'm', parts[3], 'b', parts[4],"
    " 'nb', '0', 'a', parts[5], 'fb', parts[6], 'p', string.sub(m, pos))\n"
    "  end\n"
    "  redis.call('ZREM', KEYS[1], m)\n"
    "end\n"
    "return #due\n",
    ""};

/*
 * KEYS[1] message state, KEYS[2] (optional, same slot) where the template
 * fallback of a free-form send is kept; ARGV now, grace, number, member,
 * attempts, lane, fallback (with KEYS[2]). Returns {verdict, detail}: done
 * (already sent or failed), wait (ms until an unconfirmed send may be
 * repeated) or go (previous state). The fallback is stored before the send,
 * never after it: Meta's asynchronous 131047 may arrive before the send's
 * answer is handled.
 */
static struct core_redis_script begin_script = {
    "dispatch_begin",
    "local st = redis.call('HMGET', KEYS[1], 'st', 'ts')\n"
    "local cur = st[1]\n"
    "if cur == 'accepted' or cur == 'sent' or cur == 'delivered' or cur == 'read' or\n"
    "   cur == 'failed' or cur == 'superseded' then return {'done', cur} end\n"
    "if (cur == 'sending' or cur == 'unknown') and\n"
    "   tonumber(st[2]) + tonumber(ARGV[2]) > tonumber(ARGV[1]) then\n"
    "  return {'wait', tostring(tonumber(st[2]) + tonumber(ARGV[2]) - tonumber(ARGV[1]))}\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'st', 'sending', 'ts', ARGV[1], 'n', ARGV[3], 'm', ARGV[4],"
    " 'a', ARGV[5], 'l', ARGV[6])\n"
    "redis.call('EXPIRE', KEYS[1], " MSG_TTL ")\n"
    "if KEYS[2] then redis.call('SET', KEYS[2], ARGV[7], 'EX', " FALLBACK_TTL ") end\n"
    "return {'go', cur or 'new'}\n",
    ""};

/*
 * KEYS[1] message state; ARGV mode (accepted|unknown|queued), now, wamid hash.
 * Moves a message out of "sending" without ever going backwards.
 */
static struct core_redis_script mark_script = {
    "dispatch_mark",
    "local cur = redis.call('HGET', KEYS[1], 'st')\n"
    "if ARGV[1] == 'accepted' then\n"
    "  if cur == 'sending' or cur == 'unknown' or cur == 'queued' or cur == false then\n"
    "    redis.call('HSET', KEYS[1], 'st', 'accepted')\n"
    "  end\n"
    "  redis.call('HSET', KEYS[1], 'w', ARGV[3])\n"
    "elseif cur == 'sending' then\n"
    "  redis.call('HSET', KEYS[1], 'st', ARGV[1], 'ts', ARGV[2])\n"
    "end\n"
    "redis.call('EXPIRE', KEYS[1], " MSG_TTL ")\n"
    "return 1\n",
    ""};

/*
 * KEYS[1] message state, KEYS[2] broadcast counters (optional, same slot).
 * ARGV new status (sent|delivered|read|failed|superseded), error code.
 * Monotonic: sent < delivered < read; failed and superseded are terminal.
 * Each counter moves once per message. Returns the resulting state.
 */
static struct core_redis_script status_script = {
    "delivery_status",
    "local rank = {queued=0, sending=0, unknown=0, accepted=1, sent=2, delivered=3, read=4}\n"
    "local cur = redis.call('HGET', KEYS[1], 'st') or 'queued'\n"
    "local new = ARGV[1]\n"
    "if cur == 'failed' or cur == 'superseded' or cur == 'dropped' then return {cur, 0} end\n"
    "if new == 'dropped' then\n"
    "  if cur ~= 'queued' then return {cur, 0} end\n"
    "  redis.call('HSET', KEYS[1], 'st', 'dropped', 'e', ARGV[2])\n"
    "  redis.call('EXPIRE', KEYS[1], " MSG_TTL ")\n"
    "  if KEYS[2] then\n"
    "    redis.call('HINCRBY', KEYS[2], 'queued', -1)\n"
    "    redis.call('HINCRBY', KEYS[2], 'skipped', 1)\n"
    "    redis.call('HINCRBY', KEYS[2], 'dropped', 1)\n"
    "  end\n"
    "  return {new, 1}\n"
    "end\n"
    "if new == 'failed' or new == 'superseded' then\n"
    "  if cur == 'read' then return {cur, 0} end\n"
    "  redis.call('HSET', KEYS[1], 'st', new, 'e', ARGV[2])\n"
    "  redis.call('EXPIRE', KEYS[1], " MSG_TTL ")\n"
    "  if new == 'failed' and KEYS[2] then redis.call('HINCRBY', KEYS[2], 'failed', 1) end\n"
    "  return {new, 1}\n"
    "end\n"
    "local r0 = rank[cur] or 0\n"
    "local r1 = rank[new]\n"
    "if r1 == nil or r1 <= r0 then return {cur, 0} end\n"
    "if KEYS[2] then\n"
    "  for _, s in ipairs({'sent', 'delivered', 'read'}) do\n"
    "    if rank[s] > r0 and rank[s] <= r1 then redis.call('HINCRBY', KEYS[2], s, 1) end\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'st', new)\n"
    "redis.call('EXPIRE', KEYS[1], " MSG_TTL ")\n"
    "return {new, 1}\n",
    ""};

/* ======================= state ======================= */

struct job {
    struct job *next;
    int num;                 /* index in d->nums */
    enum gw_lane lane;
    char id[48];             /* stream entry id */
    char kh[GW_KEY_HASH_LEN];
    char mid[GW_OUT_RCPT_MAX + 1]; /* a member id, or "<kind>:<id>" */
    char bid[72];
    int attempts;            /* transient failures so far */
    int fallback;            /* send the template fallback */
    int64_t nb;              /* not before, wall ms */
    unsigned char *p;        /* sealed payload (owned); NULL until loaded when `pk` is set */
    size_t p_len;
    char pk[GW_KEY_HASH_LEN]; /* shared body: the ref `p` is sealed under and read from
                               * (js:out:{N}:b:<ref>); "" when `p` is sealed under kh */
    int has_fallback;        /* payload carries a template */
    int sent_fallback;       /* the body sent was the template */
};

struct num {
    char *id;
    char lane_key[GW_LANES][96];
    char delay_key[96];
    char pause_key[96];
    struct job *head[GW_LANES];
    struct job *tail[GW_LANES];
    size_t n_ready;
    int64_t paused_until;   /* monotonic ms */
    int64_t pause_checked;  /* when the shared pause key was last read */
    int pause_ms;           /* next pause length after 190/368/133010 */
    int throttle_ms;        /* next backoff after throttling */
    atomic_int paused_code; /* last pausing error code, 0 when running */
    int64_t next_promote;
    int64_t next_claim;
    atomic_llong rate_sec;  /* second of rate_count */
    atomic_llong rate_count;
    atomic_llong rate_last; /* sends in the last complete second */
};

/* A shared body (gw_outbox_enqueue_batch): the members of a fan-out read
 * the same one in a row, so a few recent ones are kept. */
#define BODY_CACHE 16
struct body_cache {
    int num;
    char ref[GW_KEY_HASH_LEN];
    unsigned char *b; /* sealed (owned); NULL when the slot is empty */
    size_t len;
};

struct resolver {
    const char *prefix;
    gw_rcpt_resolver fn;
    void *ud;
};

struct gw_dispatch {
    const struct core_cfg *cfg;
    const struct cry_keys *keys;
    struct cry_identity *ident;
    struct resolver resolvers[GW_DISPATCH_MAX_RESOLVERS];
    size_t n_resolvers;
    gw_send_check check; /* NULL: every message goes */
    void *check_ud;
    struct num *nums;
    size_t n_nums;
    struct core_redis *redis;
    struct core_redis *metrics_redis; /* the collector's own, under metrics_lock */
    pthread_mutex_t metrics_lock;
    struct gw_graph *graph;
    char consumer[96];
    pthread_t thread;
    atomic_bool stop;
    int running;
    struct body_cache bodies[BODY_CACHE]; /* shared bodies read lately (dispatch thread) */
    size_t body_next;
};

static void job_free(struct job *j)
{
    if (j == NULL)
        return;
    free(j->p);
    free(j);
}

static void job_free_ud(void *ud)
{
    job_free(ud);
}

/* State key of a message: in its broadcast's slot when it has one, so the
 * status script can move the broadcast counters in the same step. */
static void state_key(const char *kh, const char *bid, const char *suffix, char *out, size_t n)
{
    if (bid != NULL && bid[0] != '\0')
        snprintf(out, n, "js:msg:{%s}:%s%s", bid, kh, suffix);
    else
        snprintf(out, n, "js:msg:{%s}%s", kh, suffix);
}

static void msg_key(const struct job *j, char *out, size_t n)
{
    state_key(j->kh, j->bid, "", out, n);
}

static void push_ready(struct num *nm, struct job *j)
{
    j->next = NULL;
    if (nm->tail[j->lane] != NULL)
        nm->tail[j->lane]->next = j;
    else
        nm->head[j->lane] = j;
    nm->tail[j->lane] = j;
    nm->n_ready++;
}

/* The next job in priority order, or NULL. */
static struct job *pop_ready(struct num *nm)
{
    for (int l = 0; l < GW_LANES; l++) {
        struct job *j = nm->head[l];

        if (j != NULL) {
            nm->head[l] = j->next;
            if (nm->head[l] == NULL)
                nm->tail[l] = NULL;
            nm->n_ready--;
            return j;
        }
    }
    return NULL;
}

static void count_rate(struct num *nm)
{
    long long sec = core_now_ms() / 1000;

    if (atomic_load(&nm->rate_sec) != sec) {
        atomic_store(&nm->rate_last, atomic_load(&nm->rate_sec) == sec - 1
                                         ? atomic_load(&nm->rate_count)
                                         : 0);
        atomic_store(&nm->rate_sec, sec);
        atomic_store(&nm->rate_count, 0);
    }
    atomic_fetch_add(&nm->rate_count, 1);
}

/* ======================= Redis helpers ======================= */

static int ack(struct gw_dispatch *d, const struct job *j, struct core_err *err)
{
    const struct num *nm = &d->nums[j->num];

    if (core_redis_appendf(d->redis, err, "XACK %s %s %s", nm->lane_key[j->lane], GROUP, j->id) !=
            0 ||
        core_redis_appendf(d->redis, err, "XDEL %s %s", nm->lane_key[j->lane], j->id) != 0)
        return -1;
    if (core_redis_get_reply(d->redis, NULL, err) != 0)
        return -1;
    return core_redis_get_reply(d->redis, NULL, err);
}

/* ======================= shared bodies ======================= */

/*
 * Load the sealed payload of `j` when it names a shared body (j->pk): from
 * the cache, else GET js:out:{N}:b:<ref>. Returns 0 (j->p set), or -1 with
 * err: CORE_EX_NOINPUT when the body is gone (it lives as long as the
 * entries' dedupe keys, 7 days), CORE_EX_UNAVAILABLE from Redis.
 */
static int job_payload(struct gw_dispatch *d, struct job *j, struct core_err *err)
{
    struct body_cache *c;
    char key[160];
    redisReply *rep;

    if (j->p != NULL || j->pk[0] == '\0')
        return 0;
    for (size_t i = 0; i < BODY_CACHE; i++) {
        c = &d->bodies[i];
        if (c->b != NULL && c->num == j->num && strcmp(c->ref, j->pk) == 0) {
            j->p = core_memdup(c->b, c->len);
            j->p_len = c->len;
            return 0;
        }
    }
    gw_outbox_body_key(d->nums[j->num].id, j->pk, key, sizeof key);
    if (core_redis_cmdf(d->redis, &rep, err, "GET %s", key) != 0)
        return -1;
    if (rep->type != REDIS_REPLY_STRING) {
        freeReplyObject(rep);
        return core_err_set(err, CORE_EX_NOINPUT, "dispatch: the message's body is gone");
    }
    c = &d->bodies[d->body_next++ % BODY_CACHE];
    free(c->b);
    c->num = j->num;
    memcpy(c->ref, j->pk, sizeof c->ref);
    c->b = core_memdup(rep->str, rep->len);
    c->len = rep->len;
    j->p = core_memdup(rep->str, rep->len);
    j->p_len = rep->len;
    freeReplyObject(rep);
    return 0;
}

/*
 * Before `j`'s payload is stored on its own (the delay set, the dead
 * letters): seal it under its key hash, as a message queued alone. Returns
 * 0, or -1 (the payload stays as it was).
 */
static int own_payload(struct gw_dispatch *d, struct job *j, struct core_err *err)
{
    json_t *payload;
    unsigned char *sealed;
    size_t len = 0;

    if (j->pk[0] == '\0')
        return 0;
    if (job_payload(d, j, err) != 0)
        return -1;
    payload = gw_outbox_open(d->keys, j->pk, j->p, j->p_len, err);
    if (payload == NULL)
        return -1;
    sealed = gw_outbox_seal(d->keys, j->kh, payload, &len, err);
    json_decref(payload);
    if (sealed == NULL)
        return -1;
    free(j->p);
    j->p = sealed;
    j->p_len = len;
    j->pk[0] = '\0';
    return 0;
}

/* Move `j` to the delay set for `wait_ms` (one atomic step with the ack). */
static int defer(struct gw_dispatch *d, struct job *j, int64_t wait_ms, struct core_err *err)
{
    struct num *nm = &d->nums[j->num];
    struct core_buf member;
    char due[32];
    const char *argv[6];
    size_t lens[6];
    redisReply *rep;
    int rc;

    if (own_payload(d, j, err) != 0)
        return -1;
    core_buf_init(&member, 0);
    core_buf_printf(&member, "%d%c%s%c%s%c%s%c%d%c%d%c", (int)j->lane, SEP, j->kh, SEP, j->mid,
                    SEP, j->bid, SEP, j->attempts, SEP, j->fallback, SEP);
    core_buf_append(&member, j->p, j->p_len);
    snprintf(due, sizeof due, "%lld", (long long)(core_now_ms() + (wait_ms > 0 ? wait_ms : 0)));
    argv[0] = nm->lane_key[j->lane];
    argv[1] = nm->delay_key;
    argv[2] = GROUP;
    argv[3] = j->id;
    argv[4] = due;
    argv[5] = member.data;
    for (int i = 0; i < 5; i++)
        lens[i] = strlen(argv[i]);
    lens[5] = member.len;
    rc = core_redis_eval(d->redis, &defer_script, 2, 6, argv, lens, &rep, err);
    core_buf_cleanup(&member);
    if (rc == 0)
        freeReplyObject(rep);
    return rc;
}

static int mark(struct gw_dispatch *d, const struct job *j, const char *mode, const char *wh,
                struct core_err *err)
{
    char key[200];
    char now[32];
    const char *argv[4];
    redisReply *rep;

    msg_key(j, key, sizeof key);
    snprintf(now, sizeof now, "%lld", (long long)core_now_ms());
    argv[0] = key;
    argv[1] = mode;
    argv[2] = now;
    argv[3] = wh != NULL ? wh : "";
    if (core_redis_eval(d->redis, &mark_script, 1, 4, argv, NULL, &rep, err) != 0)
        return -1;
    freeReplyObject(rep);
    return 0;
}

/* Apply a terminal or delivery status through the status script. */
static int apply_status(struct core_redis *r, const char *kh, const char *bid, const char *st,
                        int code, char *result, size_t rn, struct core_err *err)
{
    char key[200];
    char bc[120];
    char cs[16];
    const char *argv[4];
    redisReply *rep;
    int nkeys = 1;

    state_key(kh, bid, "", key, sizeof key);
    if (bid != NULL && bid[0] != '\0') {
        snprintf(bc, sizeof bc, "js:bc:{%s}", bid);
        nkeys = 2;
    }
    snprintf(cs, sizeof cs, "%d", code);
    argv[0] = key;
    if (nkeys == 2) {
        argv[1] = bc;
        argv[2] = st;
        argv[3] = cs;
    } else {
        argv[1] = st;
        argv[2] = cs;
    }
    if (core_redis_eval(r, &status_script, nkeys, nkeys + 2, argv, NULL, &rep, err) != 0)
        return -1;
    if (result != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 &&
        rep->element[0]->type == REDIS_REPLY_STRING)
        snprintf(result, rn, "%s", rep->element[0]->str);
    freeReplyObject(rep);
    return 0;
}

/* Give up on `j`: state failed, counters, dead-letter entry, ack. */
static void give_up(struct gw_dispatch *d, struct job *j, const char *reason, int code,
                    const char *details)
{
    struct num *nm = &d->nums[j->num];
    struct core_err err;
    char cs[16];
    char att[16];
    const char *argv[24];
    size_t lens[24];
    int n = 0;

    snprintf(cs, sizeof cs, "%d", code);
    snprintf(att, sizeof att, "%d", j->attempts);
    if (own_payload(d, j, &err) != 0)
        core_err_clear(&err); /* recorded as it is: sealed under the ref in `pk` */
    apply_status(d->redis, j->kh, j->bid, "failed", code, NULL, 0, &err);
    argv[n++] = "XADD";
    argv[n++] = DEAD_STREAM;
    argv[n++] = "*";
    argv[n++] = "reason";
    argv[n++] = reason;
    argv[n++] = "code";
    argv[n++] = cs;
    argv[n++] = "details";
    argv[n++] = details != NULL ? details : "";
    argv[n++] = "number";
    argv[n++] = nm->id;
    argv[n++] = "k";
    argv[n++] = j->kh;
    argv[n++] = "m";
    argv[n++] = j->mid;
    argv[n++] = "b";
    argv[n++] = j->bid;
    argv[n++] = "attempts";
    argv[n++] = att;
    if (j->pk[0] != '\0') {
        argv[n++] = "pk";
        argv[n++] = j->pk;
    }
    argv[n++] = "p";
    for (int i = 0; i < n; i++)
        lens[i] = strlen(argv[i]);
    argv[n] = j->p != NULL ? (const char *)j->p : "";
    lens[n++] = j->p != NULL ? j->p_len : 0;
    core_redis_cmdv(d->redis, n, argv, lens, NULL, &err);
    ack(d, j, &err);
    core_metric_inc(&m_dead);
    core_log_kv(CORE_LOG_WARN, "dispatch", NULL, "message given up",
                json_pack("{s:s,s:s,s:s,s:i,s:s}", "message", j->kh, "member", j->mid, "reason",
                          reason, "code", code, "details", details != NULL ? details : ""));
    job_free(j);
}

/* Drop `j` without sending it: the recipient may no longer receive it, or
 * its broadcast was cancelled. State dropped, counters, ack. */
static void drop(struct gw_dispatch *d, struct job *j, const char *reason)
{
    struct core_err err;

    core_err_clear(&err);
    if (apply_status(d->redis, j->kh, j->bid, "dropped", 0, NULL, 0, &err) != 0) {
        push_ready(&d->nums[j->num], j); /* Redis: try again later */
        return;
    }
    ack(d, j, &err);
    if (strcmp(reason, "cancelled") == 0)
        core_metric_inc(&m_drop_cancelled);
    else if (strcmp(reason, "banned") == 0)
        core_metric_inc(&m_drop_banned);
    else if (strcmp(reason, "left_group") == 0)
        core_metric_inc(&m_drop_group);
    else
        core_metric_inc(&m_drop_stopped);
    core_log_kv(CORE_LOG_INFO, "dispatch", NULL, "message dropped",
                json_pack("{s:s,s:s,s:s,s:s}", "message", j->kh, "member", j->mid, "broadcast",
                          j->bid, "reason", reason));
    job_free(j);
}

/* ======================= reading the lanes ======================= */

static const redisReply *field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(fields->element[i]->str, name) == 0)
            return fields->element[i + 1];
    }
    return NULL;
}

static void copy_str(char *dst, size_t n, const redisReply *v)
{
    size_t k = 0;

    if (v != NULL && v->type == REDIS_REPLY_STRING) {
        k = v->len < n - 1 ? v->len : n - 1;
        memcpy(dst, v->str, k);
    }
    dst[k] = '\0';
}

/* A job from a stream entry [id, [field, value, ...]], or NULL if malformed. */
static struct job *job_from_entry(int num, enum gw_lane lane, const redisReply *e)
{
    const redisReply *f = e->element[1];
    const redisReply *p;
    struct job *j;
    char num_s[32];
    int64_t v;

    if (f->type != REDIS_REPLY_ARRAY)
        return NULL;
    p = field(f, "p");
    if (p == NULL)
        p = field(f, "r"); /* a shared body's ref: read when the job is sent */
    if (p == NULL || p->type != REDIS_REPLY_STRING || field(f, "k") == NULL ||
        field(f, "m") == NULL)
        return NULL;
    if (field(f, "p") == NULL && p->len != GW_KEY_HASH_LEN - 1)
        return NULL;
    j = core_calloc(1, sizeof *j);
    j->num = num;
    j->lane = lane;
    copy_str(j->id, sizeof j->id, e->element[0]);
    copy_str(j->kh, sizeof j->kh, field(f, "k"));
    copy_str(j->mid, sizeof j->mid, field(f, "m"));
    copy_str(j->bid, sizeof j->bid, field(f, "b"));
    copy_str(num_s, sizeof num_s, field(f, "a"));
    j->attempts = core_parse_i64(num_s, &v) == 0 ? (int)v : 0;
    copy_str(num_s, sizeof num_s, field(f, "fb"));
    j->fallback = num_s[0] == '1';
    copy_str(num_s, sizeof num_s, field(f, "nb"));
    j->nb = core_parse_i64(num_s, &v) == 0 ? v : 0;
    if (field(f, "p") != NULL) {
        j->p = core_memdup(p->str, p->len);
        j->p_len = p->len;
    } else {
        memcpy(j->pk, p->str, GW_KEY_HASH_LEN - 1);
        j->pk[GW_KEY_HASH_LEN - 1] = '\0';
    }
    return j;
}

static void ensure_groups(struct gw_dispatch *d, struct num *nm)
{
    struct core_err err;

    for (int l = 0; l < GW_LANES; l++) {
        if (core_redis_cmdf(d->redis, NULL, &err, "XGROUP CREATE %s %s 0 MKSTREAM",
                            nm->lane_key[l], GROUP) != 0 &&
            !core_redis_err_is(&err, "BUSYGROUP"))
            core_log_warn("dispatch", NULL, "cannot create consumer group: %s", err.msg);
    }
}

/* Add the entries of an XREADGROUP/XCLAIM reply for lane `lane` to the queue. */
static size_t take_entries(struct gw_dispatch *d, int ni, enum gw_lane lane,
                           const redisReply *entries, char *last_id, size_t last_n)
{
    struct num *nm = &d->nums[ni];
    size_t added = 0;
    struct core_err err;

    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        struct job *j;

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
            continue;
        if (last_id != NULL)
            copy_str(last_id, last_n, e->element[0]);
        j = job_from_entry(ni, lane, e);
        if (j == NULL) {
            struct job tmp;

            /* deleted or malformed: nothing can be sent; drop it */
            memset(&tmp, 0, sizeof tmp);
            tmp.num = ni;
            tmp.lane = lane;
            copy_str(tmp.id, sizeof tmp.id, e->element[0]);
            ack(d, &tmp, &err);
            continue;
        }
        push_ready(nm, j);
        added++;
    }
    return added;
}

/* Read up to `count` new entries of every lane of number `ni`. */
static int read_new(struct gw_dispatch *d, int ni, int count, struct core_err *err)
{
    struct num *nm = &d->nums[ni];
    redisReply *rep;
    char c[16];

    snprintf(c, sizeof c, "%d", count);
    if (core_redis_cmdf(d->redis, &rep, err,
                        "XREADGROUP GROUP %s %s COUNT %s STREAMS %s %s %s > > >", GROUP,
                        d->consumer, c, nm->lane_key[0], nm->lane_key[1], nm->lane_key[2]) != 0) {
        if (core_redis_err_is(err, "NOGROUP"))
            ensure_groups(d, nm);
        return -1;
    }
    if (rep->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < rep->elements; i++) {
            const redisReply *s = rep->element[i];

            for (int l = 0; l < GW_LANES; l++) {
                if (s->element[0]->len == strlen(nm->lane_key[l]) &&
                    memcmp(s->element[0]->str, nm->lane_key[l], s->element[0]->len) == 0)
                    take_entries(d, ni, (enum gw_lane)l, s->element[1], NULL, 0);
            }
        }
    }
    freeReplyObject(rep);
    return 0;
}

/* At start: everything this consumer had read before a restart. */
static void read_history(struct gw_dispatch *d, int ni)
{
    struct num *nm = &d->nums[ni];
    struct core_err err;

    for (int l = 0; l < GW_LANES; l++) {
        char last[48] = "0";

        for (;;) {
            redisReply *rep;
            size_t added = 0;

            if (core_redis_cmdf(d->redis, &rep, &err,
                                "XREADGROUP GROUP %s %s COUNT 1000 STREAMS %s %s", GROUP,
                                d->consumer, nm->lane_key[l], last) != 0)
                break;
            if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1)
                added = take_entries(d, ni, (enum gw_lane)l, rep->element[0]->element[1], last,
                                     sizeof last);
            freeReplyObject(rep);
            if (added == 0)
                break;
        }
    }
}

/* Entries other dispatchers read and never finished (they died). */
static void claim_stale(struct gw_dispatch *d, int ni)
{
    struct num *nm = &d->nums[ni];
    struct core_err err;

    for (int l = 0; l < GW_LANES; l++) {
        redisReply *pend;

        if (core_redis_cmdf(d->redis, &pend, &err, "XPENDING %s %s IDLE %s - + 100",
                            nm->lane_key[l], GROUP, CLAIM_IDLE_MS) != 0)
            continue;
        for (size_t i = 0; pend->type == REDIS_REPLY_ARRAY && i < pend->elements; i++) {
            const redisReply *p = pend->element[i];
            redisReply *got;

            if (p->type != REDIS_REPLY_ARRAY || p->elements < 2 ||
                strcmp(p->element[1]->str, d->consumer) == 0)
                continue; /* our own: still in our queue */
            if (core_redis_cmdf(d->redis, &got, &err, "XCLAIM %s %s %s %s %s", nm->lane_key[l],
                                GROUP, d->consumer, CLAIM_IDLE_MS, p->element[0]->str) != 0)
                continue;
            if (got->type == REDIS_REPLY_ARRAY && take_entries(d, ni, (enum gw_lane)l, got,
                                                                NULL, 0) > 0)
                core_log_info("dispatch", NULL, "claimed a message left by another dispatcher");
            freeReplyObject(got);
        }
        freeReplyObject(pend);
    }
}

static void promote(struct gw_dispatch *d, struct num *nm)
{
    struct core_err err;
    char now[32];
    const char *argv[6];
    redisReply *rep;

    snprintf(now, sizeof now, "%lld", (long long)core_now_ms());
    argv[0] = nm->delay_key;
    argv[1] = nm->lane_key[0];
    argv[2] = nm->lane_key[1];
    argv[3] = nm->lane_key[2];
    argv[4] = now;
    argv[5] = "500";
    if (core_redis_eval(d->redis, &promote_script, 4, 6, argv, NULL, &rep, &err) == 0)
        freeReplyObject(rep);
}

/* ======================= sending ======================= */

/* Is the number paused (throttled or by an account error)? */
static int paused(struct gw_dispatch *d, struct num *nm, int64_t now)
{
    struct core_err err;
    redisReply *rep;

    if (now - nm->pause_checked >= PAUSE_REFRESH_MS) {
        nm->pause_checked = now;
        if (core_redis_cmdf(d->redis, &rep, &err, "PTTL %s", nm->pause_key) == 0) {
            long long ttl = core_redis_int(rep);

            freeReplyObject(rep);
            nm->paused_until = ttl > 0 ? now + ttl : 0;
            if (ttl <= 0 && atomic_load(&nm->paused_code) != 0) {
                core_log_info("dispatch", NULL, "number %s: sending resumes (probing)", nm->id);
                atomic_store(&nm->paused_code, 0);
            }
        }
    }
    return nm->paused_until > now;
}

static void pause_number(struct gw_dispatch *d, struct num *nm, int ms, int code)
{
    struct core_err err;
    char v[32];

    snprintf(v, sizeof v, "%d", ms);
    core_redis_cmdf(d->redis, NULL, &err, "SET %s %d PX %s", nm->pause_key, code, v);
    nm->paused_until = core_mono_ms() + ms;
    nm->pause_checked = core_mono_ms();
}

void gw_dispatch_add_resolver(struct gw_dispatch *d, const char *prefix, gw_rcpt_resolver fn,
                              void *ud)
{
    if (d->n_resolvers == GW_DISPATCH_MAX_RESOLVERS)
        abort(); /* a programming error: raise GW_DISPATCH_MAX_RESOLVERS */
    d->resolvers[d->n_resolvers].prefix = prefix;
    d->resolvers[d->n_resolvers].fn = fn;
    d->resolvers[d->n_resolvers].ud = ud;
    d->n_resolvers++;
}

void gw_dispatch_set_send_check(struct gw_dispatch *d, gw_send_check fn, void *ud)
{
    d->check = fn;
    d->check_ud = ud;
}

/* The member id of recipient `rcpt` through its kind's resolver. */
static int resolve(struct gw_dispatch *d, const char *rcpt, char mid[CRY_MID_LEN],
                   struct core_err *err)
{
    for (size_t i = 0; i < d->n_resolvers; i++) {
        const struct resolver *r = &d->resolvers[i];

        if (strncmp(rcpt, r->prefix, strlen(r->prefix)) != 0)
            continue;
        if (r->fn(r->ud, d->redis, rcpt, mid, err) != 0)
            return -1;
        if (!cry_identity_is_mid(mid)) {
            sodium_memzero(mid, CRY_MID_LEN);
            return core_err_set(err, CORE_EX_SOFTWARE, "dispatch: resolver gave no member id");
        }
        return 0;
    }
    return core_err_set(err, CORE_EX_NOINPUT, "dispatch: no resolver for this recipient kind");
}

/* The Graph body for `j` (new reference), or NULL after giving up on it. */
static json_t *build_body(struct gw_dispatch *d, struct job *j)
{
    struct core_err err;
    struct cry_member_pii *pii = NULL;
    json_t *payload;
    json_t *msg;
    json_t *body;
    const char *type;
    char opaque[GW_KEY_HASH_LEN + 80];
    char mid[CRY_MID_LEN];
    int resolved;
    int64_t now_s = core_now_ms() / 1000;

    if (job_payload(d, j, &err) != 0) {
        if (err.code == CORE_EX_UNAVAILABLE) {
            push_ready(&d->nums[j->num], j); /* Redis: try again later */
            return NULL;
        }
        give_up(d, j, "the queued message's body is gone", 0, err.msg);
        return NULL;
    }
    payload = gw_outbox_open(d->keys, j->pk[0] != '\0' ? j->pk : j->kh, j->p, j->p_len, &err);
    if (payload == NULL) {
        give_up(d, j, "cannot open the queued message", 0, err.msg);
        return NULL;
    }
    j->has_fallback = json_is_object(json_object_get(payload, "fallback"));
    /* A recipient "<kind>:<id>" is resolved to a member id for this send
     * only: the result stays in `mid` and is wiped below, so it never
     * reaches a log line, a queue entry or a state record. */
    resolved = !cry_identity_is_mid(j->mid);
    if (resolved && resolve(d, j->mid, mid, &err) != 0) {
        json_decref(payload);
        if (err.code == CORE_EX_UNAVAILABLE) {
            push_ready(&d->nums[j->num], j);
            return NULL;
        }
        give_up(d, j, "recipient unknown", 0, "the recipient cannot be resolved");
        return NULL;
    }
    if (!resolved)
        memcpy(mid, j->mid, sizeof mid);
    if (cry_identity_open(d->ident, d->redis, mid, &pii, &err) != 0) {
        json_decref(payload);
        sodium_memzero(mid, sizeof mid);
        if (err.code == CORE_EX_UNAVAILABLE) {
            push_ready(&d->nums[j->num], j); /* Redis down: try again later */
            return NULL;
        }
        give_up(d, j, "recipient unknown", 0, "no member record");
        return NULL;
    }
    if (pii->merged_into[0] != '\0') {
        snprintf(mid, sizeof mid, "%s", pii->merged_into);
        if (!resolved)
            snprintf(j->mid, sizeof j->mid, "%s", mid);
        cry_member_pii_free(pii);
        pii = NULL;
        if (cry_identity_open(d->ident, d->redis, mid, &pii, &err) != 0) {
            json_decref(payload);
            sodium_memzero(mid, sizeof mid);
            give_up(d, j, "recipient unknown", 0, "merged member record missing");
            return NULL;
        }
    }
    if (j->lane != GW_LANE_REPLY && d->check != NULL) {
        const char *reason = "stopped";
        const char *group = json_string_value(json_object_get(payload, "g"));
        int rc;

        core_err_clear(&err);
        rc = d->check(d->check_ud, d->redis, mid, j->bid, group != NULL ? group : "", &reason,
                      &err);
        if (rc < 0 && err.code == CORE_EX_UNAVAILABLE) {
            cry_member_pii_free(pii);
            json_decref(payload);
            sodium_memzero(mid, sizeof mid);
            push_ready(&d->nums[j->num], j);
            return NULL;
        }
        if (rc < 0)
            core_log_warn("dispatch", NULL, "message %s: send check failed (%s); sending", j->kh,
                          err.msg);
        if (rc == 0) {
            cry_member_pii_free(pii);
            json_decref(payload);
            sodium_memzero(mid, sizeof mid);
            drop(d, j, reason != NULL ? reason : "stopped");
            return NULL;
        }
    }
    sodium_memzero(mid, sizeof mid);
    msg = json_object_get(payload, "message");
    type = json_string_value(json_object_get(msg, "type"));
    if (!j->fallback && type != NULL && strcmp(type, "template") != 0 &&
        (pii->last_inbound <= 0 ||
         now_s - pii->last_inbound >= WINDOW_S - d->cfg->dispatch_window_margin_s)) {
        if (!j->has_fallback) {
            cry_member_pii_free(pii);
            json_decref(payload);
            give_up(d, j, "24-hour window closed and no template", 131047,
                    "the member has not written in the last 24 hours");
            return NULL;
        }
        j->fallback = 1;
        core_metric_inc(&m_tpl);
    }
    if (j->fallback)
        msg = json_object_get(payload, "fallback");
    j->sent_fallback = j->fallback;
    body = json_object();
    json_object_set_new(body, "messaging_product", json_string("whatsapp"));
    json_object_set_new(body, "recipient_type", json_string("individual"));
    if (pii->wa_id[0] != '\0')
        json_object_set_new(body, "to", json_string(pii->wa_id));
    else
        json_object_set_new(body, "recipient", json_string(pii->user_id));
    json_object_update(body, msg);
    if (j->bid[0] != '\0')
        snprintf(opaque, sizeof opaque, "%s:%s", j->kh, j->bid);
    else
        snprintf(opaque, sizeof opaque, "%s", j->kh);
    json_object_set_new(body, "biz_opaque_callback_data", json_string(opaque));
    cry_member_pii_free(pii);
    json_decref(payload);
    return body;
}

/* Take one job towards a send. */
static void start_job(struct gw_dispatch *d, struct job *j)
{
    struct num *nm = &d->nums[j->num];
    struct core_err err;
    int64_t wait = 0;
    json_t *body;
    char *text;
    char key[200];
    char pkey[220];
    char pref[4 + GW_KEY_HASH_LEN];
    char now[32], grace[32], att[16], lane[8];
    const char *argv[9];
    size_t lens[9];
    int nkeys = 1;
    redisReply *rep;

    if (j->nb > core_now_ms()) {
        core_metric_inc(&m_def_sched);
        defer(d, j, j->nb - core_now_ms(), &err);
        job_free(j);
        return;
    }
    if (gw_pacer_recipient(d->redis, nm->id, j->mid, d->cfg->dispatch_pair_spacing_ms, &wait,
                           &err) != 0) {
        push_ready(nm, j);
        return;
    }
    if (wait > 0) {
        core_metric_inc(&m_def_spacing);
        if (defer(d, j, wait, &err) != 0)
            push_ready(nm, j);
        else
            job_free(j);
        return;
    }
    body = build_body(d, j);
    if (body == NULL)
        return;
    msg_key(j, key, sizeof key);
    snprintf(now, sizeof now, "%lld", (long long)core_now_ms());
    snprintf(grace, sizeof grace, "%d", d->cfg->dispatch_ambiguous_grace_ms);
    snprintf(att, sizeof att, "%d", j->attempts);
    snprintf(lane, sizeof lane, "%d", (int)j->lane);
    argv[0] = key;
    argv[1] = now;
    argv[2] = grace;
    argv[3] = nm->id;
    argv[4] = j->mid;
    argv[5] = att;
    argv[6] = lane;
    for (int i = 0; i < 7; i++)
        lens[i] = strlen(argv[i]);
    if (j->has_fallback && !j->sent_fallback) {
        /* kept a day: Meta may report 131047 asynchronously, even before the answer */
        state_key(j->kh, j->bid, ":p", pkey, sizeof pkey);
        memmove(argv + 2, argv + 1, 6 * sizeof argv[0]);
        memmove(lens + 2, lens + 1, 6 * sizeof lens[0]);
        argv[1] = pkey;
        lens[1] = strlen(pkey);
        if (j->pk[0] != '\0') { /* a shared body: its ref (the body outlives this) */
            snprintf(pref, sizeof pref, "ref:%s", j->pk);
            argv[8] = pref;
            lens[8] = strlen(pref);
        } else {
            argv[8] = (const char *)j->p;
            lens[8] = j->p_len;
        }
        nkeys = 2;
    }
    if (core_redis_eval(d->redis, &begin_script, nkeys, 6 + nkeys + (nkeys - 1), argv, lens,
                        &rep, &err) != 0) {
        json_decref(body);
        push_ready(nm, j);
        return;
    }
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
        strcmp(rep->element[0]->str, "done") == 0) {
        /* sent (or failed) before a crash; the queue entry was not yet removed */
        core_metric_inc(&m_already);
        freeReplyObject(rep);
        json_decref(body);
        ack(d, j, &err);
        job_free(j);
        return;
    }
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
        strcmp(rep->element[0]->str, "wait") == 0) {
        int64_t ms;

        core_parse_i64(rep->element[1]->str, &ms);
        freeReplyObject(rep);
        json_decref(body);
        core_metric_inc(&m_def_unconfirmed);
        if (defer(d, j, ms, &err) != 0)
            push_ready(nm, j);
        else
            job_free(j);
        return;
    }
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
        (strcmp(rep->element[1]->str, "sending") == 0 ||
         strcmp(rep->element[1]->str, "unknown") == 0)) {
        core_metric_inc(&m_resent);
        core_log_warn("dispatch", NULL,
                      "message %s: no status confirmed an earlier send; sending again", j->kh);
    }
    freeReplyObject(rep);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL || gw_graph_send(d->graph, nm->id, text, strlen(text), j, &err) != 0) {
        mark(d, j, "queued", NULL, &err);
        push_ready(nm, j);
    }
    if (text != NULL) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
}

static int64_t backoff_ms(int attempts)
{
    int64_t b = 1000;

    for (int i = 1; i < attempts && b < RETRY_MAX_MS; i++)
        b *= 2;
    if (b > RETRY_MAX_MS)
        b = RETRY_MAX_MS;
    return b + core_random_below((uint32_t)(b / 2 + 1));
}

static void on_result(struct gw_dispatch *d, const struct gw_graph_result *res)
{
    struct job *j = res->ud;
    struct num *nm = &d->nums[j->num];
    struct core_err err;

    count_code(res->error_code);
    switch (res->outcome) {
    case GW_SEND_OK: {
        char wh[GW_KEY_HASH_LEN];
        char wkey[80];
        char ref[GW_KEY_HASH_LEN + 80];
        char wm[GW_GRAPH_WAMID_MAX + 4];

        core_metric_inc(&m_ok);
        count_rate(nm);
        snprintf(wm, sizeof wm, "w|%s", res->wamid);
        gw_outbox_key_hash(wm, wh);
        mark(d, j, "accepted", wh, &err);
        snprintf(wkey, sizeof wkey, "js:wamid:%s", wh);
        snprintf(ref, sizeof ref, "%s:%s", j->kh, j->bid);
        core_redis_cmdf(d->redis, NULL, &err, "SET %s %s EX %s", wkey, ref, MSG_TTL);
        ack(d, j, &err);
        nm->throttle_ms = THROTTLE_FIRST_MS;
        nm->pause_ms = d->cfg->dispatch_pause_ms;
        job_free(j);
        return;
    }
    case GW_SEND_THROTTLED:
        core_metric_inc(&m_throttled);
        mark(d, j, "queued", NULL, &err);
        pause_number(d, nm, nm->throttle_ms, res->error_code);
        core_log_warn("dispatch", NULL, "number %s throttled (%d); backing off %d ms", nm->id,
                      res->error_code, nm->throttle_ms);
        core_metric_inc(&m_def_backoff);
        if (defer(d, j, nm->throttle_ms, &err) != 0)
            push_ready(nm, j), j = NULL;
        nm->throttle_ms = nm->throttle_ms * 2 > THROTTLE_MAX_MS ? THROTTLE_MAX_MS
                                                                : nm->throttle_ms * 2;
        break;
    case GW_SEND_PAIR_LIMIT: {
        int64_t hold = d->cfg->dispatch_pair_spacing_ms > 3000
                           ? 2 * (int64_t)d->cfg->dispatch_pair_spacing_ms
                           : 6000;

        core_metric_inc(&m_pair);
        mark(d, j, "queued", NULL, &err);
        gw_pacer_recipient_hold(d->redis, nm->id, j->mid, hold, &err);
        core_metric_inc(&m_def_spacing);
        if (defer(d, j, hold, &err) != 0)
            push_ready(nm, j), j = NULL;
        break;
    }
    case GW_SEND_WINDOW_CLOSED:
        core_metric_inc(&m_window);
        mark(d, j, "queued", NULL, &err);
        if (j->has_fallback && !j->sent_fallback) {
            j->fallback = 1;
            core_metric_inc(&m_tpl);
            if (defer(d, j, 0, &err) != 0)
                push_ready(nm, j), j = NULL;
        } else {
            give_up(d, j, "24-hour window closed", res->error_code, res->details);
            j = NULL;
        }
        break;
    case GW_SEND_PAUSE:
        core_metric_inc(&m_pause);
        mark(d, j, "queued", NULL, &err);
        atomic_store(&nm->paused_code, res->error_code);
        pause_number(d, nm, nm->pause_ms, res->error_code);
        core_log_kv(CORE_LOG_ERROR, "dispatch", NULL,
                    "ALERT: number paused by an account error; fix it, sending resumes by itself",
                    json_pack("{s:s,s:i,s:s,s:i}", "number", nm->id, "code", res->error_code,
                              "details", res->details, "retry_in_ms", nm->pause_ms));
        if (defer(d, j, nm->pause_ms, &err) != 0)
            push_ready(nm, j), j = NULL;
        nm->pause_ms = nm->pause_ms * 2 > PAUSE_MAX_MS ? PAUSE_MAX_MS : nm->pause_ms * 2;
        break;
    case GW_SEND_PERMANENT:
        core_metric_inc(&m_permanent);
        give_up(d, j, "rejected by WhatsApp", res->error_code, res->details);
        j = NULL;
        break;
    case GW_SEND_TRANSIENT:
        core_metric_inc(&m_transient);
        mark(d, j, "queued", NULL, &err);
        j->attempts++;
        if (j->attempts >= d->cfg->dispatch_max_attempts) {
            give_up(d, j, "too many transient failures", res->error_code, res->details);
            j = NULL;
            break;
        }
        core_metric_inc(&m_retries);
        core_metric_inc(&m_def_backoff);
        if (defer(d, j, backoff_ms(j->attempts), &err) != 0)
            push_ready(nm, j), j = NULL;
        break;
    case GW_SEND_AMBIGUOUS:
        core_metric_inc(&m_ambiguous);
        mark(d, j, "unknown", NULL, &err);
        core_metric_inc(&m_def_unconfirmed);
        if (defer(d, j, d->cfg->dispatch_ambiguous_grace_ms, &err) != 0)
            push_ready(nm, j), j = NULL;
        break;
    }
    job_free(j);
}

/* ======================= the loop ======================= */

static int tick_number(struct gw_dispatch *d, int ni)
{
    struct num *nm = &d->nums[ni];
    int64_t now = core_mono_ms();
    struct core_err err;
    size_t room;
    size_t want_ready;
    int granted = 0;
    int work = 0;

    if (now >= nm->next_promote) {
        promote(d, nm);
        nm->next_promote = now + PROMOTE_EVERY_MS;
    }
    if (now >= nm->next_claim) {
        claim_stale(d, ni);
        nm->next_claim = now + CLAIM_EVERY_MS;
    }
    if (paused(d, nm, now))
        return 0;
    room = gw_graph_room(d->graph);
    /* read ahead a quarter second of sending, within reason */
    want_ready = room + (size_t)(d->cfg->dispatch_mps < 4096 ? d->cfg->dispatch_mps / 4 : 1024) + 8;
    if (nm->n_ready < want_ready && read_new(d, ni, (int)(want_ready - nm->n_ready), &err) != 0)
        return 0;
    if (room == 0 || nm->n_ready == 0)
        return 0;
    if (gw_pacer_take(d->redis, nm->id, (double)d->cfg->dispatch_mps,
                      (int)(room < nm->n_ready ? room : nm->n_ready), &granted, &err) != 0)
        return 0;
    for (int i = 0; i < granted; i++) {
        struct job *j = pop_ready(nm);

        if (j == NULL)
            break;
        start_job(d, j);
        work = 1;
    }
    return work;
}

static void *dispatch_main(void *arg)
{
    struct gw_dispatch *d = arg;
    struct gw_graph_result res[64];

    for (size_t i = 0; i < d->n_nums; i++) {
        ensure_groups(d, &d->nums[i]);
        read_history(d, (int)i);
    }
    while (!atomic_load(&d->stop)) {
        int work = 0;
        size_t n = 0;

        for (size_t i = 0; i < d->n_nums; i++)
            work |= tick_number(d, (int)i);
        gw_graph_poll(d->graph, gw_graph_inflight(d->graph) > 0 ? 5 : 0, res,
                      sizeof res / sizeof res[0], &n);
        for (size_t i = 0; i < n; i++)
            on_result(d, &res[i]);
        if (!work && n == 0 && gw_graph_inflight(d->graph) == 0)
            core_sleep_ms(10);
    }
    return NULL;
}

struct gw_dispatch *gw_dispatch_new(const struct core_cfg *cfg, const struct cry_keys *keys,
                                    struct cry_identity *ident, struct core_err *err)
{
    struct gw_dispatch *d;
    struct core_redis_opts ro = {cfg->redis, cfg->redis_user, cfg->redis_password,
                                 cfg->redis_timeout_ms};
    struct gw_graph_opts go;
    char host[64] = "janseva";

    if (cfg->n_phone_numbers == 0) {
        core_err_set(err, CORE_EX_CONFIG,
                     "config: JANSEVA_PHONE_NUMBER_ID is not set (the dispatch role sends from "
                     "these numbers)");
        return NULL;
    }
    if (strcmp(cfg->mode, "live") == 0 &&
        core_cfg_require(cfg->access_token, "JANSEVA_ACCESS_TOKEN",
                         "the dispatch role needs it in live mode", err) != 0)
        return NULL;
    gw_dispatch_metrics_init();
    d = core_calloc(1, sizeof *d);
    d->cfg = cfg;
    d->keys = keys;
    d->ident = ident;
    d->n_nums = cfg->n_phone_numbers;
    d->nums = core_calloc(d->n_nums, sizeof *d->nums);
    for (size_t i = 0; i < d->n_nums; i++) {
        struct num *nm = &d->nums[i];

        nm->id = core_strdup(cfg->phone_numbers[i]);
        for (int l = 0; l < GW_LANES; l++)
            gw_outbox_lane_key(nm->id, (enum gw_lane)l, nm->lane_key[l], sizeof nm->lane_key[l]);
        snprintf(nm->delay_key, sizeof nm->delay_key, "js:out:{%s}:delay", nm->id);
        snprintf(nm->pause_key, sizeof nm->pause_key, "js:out:{%s}:pause", nm->id);
        nm->throttle_ms = THROTTLE_FIRST_MS;
        nm->pause_ms = cfg->dispatch_pause_ms;
    }
    d->redis = core_redis_new(&ro);
    d->metrics_redis = core_redis_new(&ro);
    pthread_mutex_init(&d->metrics_lock, NULL);
    memset(&go, 0, sizeof go);
    go.base_url = cfg->graph_url;
    go.token = core_cfg_is_set(cfg->access_token) ? cfg->access_token : "sandbox";
    go.timeout_ms = cfg->graph_timeout_ms;
    go.max_inflight = cfg->dispatch_inflight;
    d->graph = gw_graph_new(&go);
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(d->consumer, sizeof d->consumer, "%s-d0", host);
    atomic_init(&d->stop, false);
    return d;
}

int gw_dispatch_start(struct gw_dispatch *d, struct core_err *err)
{
    if (pthread_create(&d->thread, NULL, dispatch_main, d) != 0)
        return core_err_set(err, CORE_EX_SOFTWARE, "dispatch: cannot start its thread");
    d->running = 1;
    core_log_kv(CORE_LOG_INFO, "dispatch", NULL, "dispatcher started",
                json_pack("{s:i,s:i,s:i,s:s}", "numbers", (int)d->n_nums, "mps",
                          d->cfg->dispatch_mps, "pair_spacing_ms",
                          d->cfg->dispatch_pair_spacing_ms, "graph", d->cfg->graph_url));
    return 0;
}

void gw_dispatch_stop(struct gw_dispatch *d)
{
    if (!d->running)
        return;
    atomic_store(&d->stop, true);
    pthread_join(d->thread, NULL);
    d->running = 0;
}

void gw_dispatch_free(struct gw_dispatch *d)
{
    if (d == NULL)
        return;
    gw_dispatch_stop(d);
    /* sends in flight stay "sending" in Redis: resumed after the grace */
    gw_graph_abort(d->graph, job_free_ud);
    gw_graph_free(d->graph);
    for (size_t i = 0; i < d->n_nums; i++) {
        struct job *j;

        while ((j = pop_ready(&d->nums[i])) != NULL)
            job_free(j); /* still pending in Redis: read again at the next start */
        free(d->nums[i].id);
    }
    free(d->nums);
    for (size_t i = 0; i < BODY_CACHE; i++)
        free(d->bodies[i].b);
    core_redis_free(d->redis);
    core_redis_free(d->metrics_redis);
    pthread_mutex_destroy(&d->metrics_lock);
    free(d);
}

/* Queue depths from Redis: lanes, delay sets, dead letters. */
static void collect_depths(struct gw_dispatch *d, struct core_buf *out)
{
    struct core_err err;
    size_t per = GW_LANES + 1;
    size_t total = d->n_nums * per + 1;
    long long *v = core_calloc(total, sizeof *v);
    size_t k = 0;
    int ok = 1;

    pthread_mutex_lock(&d->metrics_lock);
    for (size_t i = 0; i < d->n_nums && ok; i++) {
        for (int l = 0; l < GW_LANES && ok; l++)
            ok = core_redis_appendf(d->metrics_redis, &err, "XLEN %s",
                                    d->nums[i].lane_key[l]) == 0;
        ok = ok && core_redis_appendf(d->metrics_redis, &err, "ZCARD %s",
                                      d->nums[i].delay_key) == 0;
    }
    ok = ok && core_redis_appendf(d->metrics_redis, &err, "XLEN %s", DEAD_STREAM) == 0;
    for (k = 0; ok && k < total; k++) {
        redisReply *rep;

        if (core_redis_get_reply(d->metrics_redis, &rep, &err) != 0) {
            ok = core_redis_connected(d->metrics_redis);
            continue;
        }
        v[k] = core_redis_int(rep);
        freeReplyObject(rep);
    }
    pthread_mutex_unlock(&d->metrics_lock);
    if (ok) {
        core_buf_printf(out, "# HELP janseva_dispatch_queue_depth Messages waiting in a lane\n"
                             "# TYPE janseva_dispatch_queue_depth gauge\n");
        for (size_t i = 0; i < d->n_nums; i++)
            for (int l = 0; l < GW_LANES; l++)
                core_buf_printf(out, "janseva_dispatch_queue_depth{number=\"%s\",lane=\"%s\"} "
                                     "%lld\n",
                                d->nums[i].id, gw_lane_name((enum gw_lane)l), v[i * per + l]);
        core_buf_printf(out, "# HELP janseva_dispatch_delayed Messages waiting for their time "
                             "(spacing, backoff, unconfirmed sends)\n"
                             "# TYPE janseva_dispatch_delayed gauge\n");
        for (size_t i = 0; i < d->n_nums; i++)
            core_buf_printf(out, "janseva_dispatch_delayed{number=\"%s\"} %lld\n",
                            d->nums[i].id, v[i * per + GW_LANES]);
        core_buf_printf(out, "# HELP janseva_dispatch_dead_letter_length Messages given up, "
                             "kept in js:out:dead\n"
                             "# TYPE janseva_dispatch_dead_letter_length gauge\n"
                             "janseva_dispatch_dead_letter_length %lld\n",
                        v[total - 1]);
    }
    free(v);
}

void gw_dispatch_collect(void *ud, struct core_buf *out)
{
    struct gw_dispatch *d = ud;

    collect_depths(d, out);
    core_buf_printf(out, "# HELP janseva_dispatch_paused Whether a number is paused by an "
                         "account error (1), with the error code\n"
                         "# TYPE janseva_dispatch_paused gauge\n");
    for (size_t i = 0; i < d->n_nums; i++) {
        int code = atomic_load(&d->nums[i].paused_code);

        core_buf_printf(out, "janseva_dispatch_paused{number=\"%s\",code=\"%d\"} %d\n",
                        d->nums[i].id, code, code != 0);
    }
    core_buf_printf(out, "# HELP janseva_dispatch_rate_mps Messages accepted by WhatsApp in the "
                         "last complete second, per number\n"
                         "# TYPE janseva_dispatch_rate_mps gauge\n");
    for (size_t i = 0; i < d->n_nums; i++) {
        struct num *nm = &d->nums[i];
        long long sec = core_now_ms() / 1000;
        long long v = atomic_load(&nm->rate_sec) == sec       ? atomic_load(&nm->rate_last)
                      : atomic_load(&nm->rate_sec) == sec - 1 ? atomic_load(&nm->rate_count)
                                                              : 0;

        core_buf_printf(out, "janseva_dispatch_rate_mps{number=\"%s\"} %lld\n", nm->id, v);
    }
}

/* ======================= status webhooks ======================= */

static int is_hex32(const char *s, size_t n)
{
    if (n != GW_KEY_HASH_LEN - 1)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

static int is_bid(const char *s)
{
    size_t n = strlen(s);

    if (n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

/* "kh" or "kh:bid" into its parts. */
static int parse_ref(const char *ref, char kh[GW_KEY_HASH_LEN], char *bid, size_t bn)
{
    const char *colon = strchr(ref, ':');
    size_t kl = colon != NULL ? (size_t)(colon - ref) : strlen(ref);

    if (!is_hex32(ref, kl))
        return -1;
    memcpy(kh, ref, kl);
    kh[kl] = '\0';
    snprintf(bid, bn, "%s", colon != NULL ? colon + 1 : "");
    return is_bid(bid) ? 0 : -1;
}

/* Resend a failed free-form message as its template (async 131047). */
static int resend_as_template(const struct cry_keys *keys, struct core_redis *r, const char *kh,
                              const char *bid, int *done, struct core_err *err)
{
    char pkey[220];
    char skey[200];
    char key[GW_OUT_KEY_MAX];
    redisReply *p = NULL;
    redisReply *st = NULL;
    json_t *payload;
    struct gw_outmsg m;
    int rc = 0;

    *done = 0;
    state_key(kh, bid, ":p", pkey, sizeof pkey);
    state_key(kh, bid, "", skey, sizeof skey);
    if (core_redis_cmdf(r, &p, err, "GET %s", pkey) != 0)
        return -1;
    if (p->type != REDIS_REPLY_STRING) {
        freeReplyObject(p);
        return 0;
    }
    if (core_redis_cmdf(r, &st, err, "HMGET %s n m l", skey) != 0) {
        freeReplyObject(p);
        return -1;
    }
    if (p->len == 4 + GW_KEY_HASH_LEN - 1 && memcmp(p->str, "ref:", 4) == 0 &&
        st->type == REDIS_REPLY_ARRAY && st->elements == 3 &&
        st->element[0]->type == REDIS_REPLY_STRING) {
        /* the message was a fan-out's: its shared body */
        char bkey[160];
        redisReply *b = NULL;

        gw_outbox_body_key(st->element[0]->str, p->str + 4, bkey, sizeof bkey);
        payload = NULL;
        if (core_redis_cmdf(r, &b, err, "GET %s", bkey) == 0 && b->type == REDIS_REPLY_STRING)
            payload = gw_outbox_open(keys, p->str + 4, (const unsigned char *)b->str, b->len,
                                     err);
        freeReplyObject(b);
    } else {
        payload = gw_outbox_open(keys, kh, (const unsigned char *)p->str, p->len, err);
    }
    if (payload != NULL && json_is_object(json_object_get(payload, "fallback")) &&
        st->type == REDIS_REPLY_ARRAY && st->elements == 3 &&
        st->element[0]->type == REDIS_REPLY_STRING && st->element[1]->type == REDIS_REPLY_STRING) {
        int64_t lane = 2;

        if (st->element[2]->type == REDIS_REPLY_STRING)
            core_parse_i64(st->element[2]->str, &lane);
        snprintf(key, sizeof key, "template-after-131047:%s", kh);
        memset(&m, 0, sizeof m);
        m.key = key;
        m.number = st->element[0]->str;
        m.lane = lane >= 0 && lane < GW_LANES ? (enum gw_lane)lane : GW_LANE_BULK;
        m.mid = st->element[1]->str;
        m.message = json_object_get(payload, "fallback");
        m.broadcast = bid[0] != '\0' ? bid : NULL;
        rc = gw_outbox_enqueue(r, keys, &m, NULL, err);
        *done = rc == 0;
    }
    json_decref(payload);
    freeReplyObject(p);
    freeReplyObject(st);
    return rc;
}

int gw_delivery_handler(void *ud, struct gw_router_ctx *ctx, const struct gw_event *ev,
                        struct core_err *err)
{
    const struct cry_keys *keys = ud;
    char ref[GW_KEY_HASH_LEN + 80] = "";
    char kh[GW_KEY_HASH_LEN];
    char bid[72];
    char result[32] = "";
    const char *st;
    int code = ev->n_errors > 0 ? ev->error_codes[0] : 0;

    if (ev->kind != GW_EVENT_STATUS)
        return 0;
    switch (ev->status) {
    case GW_STATUS_SENT:
        st = "sent";
        break;
    case GW_STATUS_DELIVERED:
        st = "delivered";
        break;
    case GW_STATUS_READ:
    case GW_STATUS_PLAYED:
        st = "read";
        break;
    case GW_STATUS_FAILED:
        st = "failed";
        break;
    default:
        return 0;
    }
    if (ev->biz_opaque != NULL && strlen(ev->biz_opaque) < sizeof ref)
        snprintf(ref, sizeof ref, "%s", ev->biz_opaque);
    if (parse_ref(ref, kh, bid, sizeof bid) != 0) {
        char wm[GW_GRAPH_WAMID_MAX + 4];
        char wh[GW_KEY_HASH_LEN];
        redisReply *rep;

        snprintf(wm, sizeof wm, "w|%s", ev->id);
        gw_outbox_key_hash(wm, wh);
        if (core_redis_cmdf(ctx->redis, &rep, err, "GET js:wamid:%s", wh) != 0)
            return -1;
        if (rep->type == REDIS_REPLY_STRING && rep->len < sizeof ref)
            snprintf(ref, sizeof ref, "%s", rep->str);
        freeReplyObject(rep);
        if (parse_ref(ref, kh, bid, sizeof bid) != 0) {
            core_metric_inc(&m_status_unknown);
            return 0; /* not ours, or older than 7 days */
        }
    }
    if (strcmp(st, "failed") == 0)
        count_code(code != 0 ? code : -1);
    if (strcmp(st, "failed") == 0 && code == 131047) {
        int done = 0;

        if (resend_as_template(keys, ctx->redis, kh, bid, &done, err) != 0)
            return -1;
        if (done) {
            core_metric_inc(&m_status_fallback);
            st = "superseded"; /* the template takes its place in the counters */
        }
    }
    if (apply_status(ctx->redis, kh, bid, st, code, result, sizeof result, err) != 0)
        return -1;
    core_metric_inc(strcmp(result, st) == 0 ? &m_status : &m_status_stale);
    return 0;
}

int gw_dispatch_state(struct core_redis *r, const char *key, const char *broadcast, char *out,
                      size_t n, struct core_err *err)
{
    char kh[GW_KEY_HASH_LEN];
    char skey[200];
    redisReply *rep;

    gw_outbox_key_hash(key, kh);
    state_key(kh, broadcast, "", skey, sizeof skey);
    if (core_redis_cmdf(r, &rep, err, "HGET %s st", skey) != 0)
        return -1;
    snprintf(out, n, "%s", rep->type == REDIS_REPLY_STRING ? rep->str : "queued");
    freeReplyObject(rep);
    return 0;
}
