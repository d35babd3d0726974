/*
 * gateway/outbox.c - queue outbound messages (see outbox.h).
 */
#include "gateway/outbox.h"
#include "core/mem.h"
#include "core/util.h"
#include "crypto/vault.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const lane_names[GW_LANES] = {"reply", "alert", "bulk"};

const char *gw_lane_name(enum gw_lane lane)
{
    return (unsigned)lane < GW_LANES ? lane_names[lane] : "unknown";
}

void gw_outbox_key_hash(const char *key, char out[GW_KEY_HASH_LEN])
{
    unsigned char h[16];

    crypto_generichash(h, sizeof h, (const unsigned char *)key, strlen(key),
                       (const unsigned char *)"janseva-outbox-1", 16);
    core_hex(out, h, sizeof h);
}

void gw_outbox_lane_key(const char *number, enum gw_lane lane, char *out, size_t n)
{
    snprintf(out, n, "js:out:{%s}:%d", number, (int)lane);
}

void gw_outbox_body_key(const char *number, const char *ref, char *out, size_t n)
{
    snprintf(out, n, "js:out:{%s}:b:%s", number, ref);
}

unsigned char *gw_outbox_seal(const struct cry_keys *keys, const char *kh, const json_t *payload,
                              size_t *len, struct core_err *err)
{
    char *text = json_dumps(payload, JSON_COMPACT);
    size_t tl;
    size_t cap;
    unsigned char *out;

    if (text == NULL) {
        core_err_set(err, CORE_EX_DATAERR, "outbox: message is not serialisable");
        return NULL;
    }
    tl = strlen(text);
    cap = cry_vault_sealed_size(tl);
    out = core_malloc(cap);
    if (cry_vault_seal(keys, CRY_VAULT_PII, kh, "out", text, tl, out, cap, len, err) != 0) {
        free(out);
        out = NULL;
    }
    sodium_memzero(text, tl);
    free(text);
    return out;
}

json_t *gw_outbox_open(const struct cry_keys *keys, const char *kh, const unsigned char *sealed,
                       size_t len, struct core_err *err)
{
    size_t cap = cry_vault_open_size(len);
    unsigned char *plain = core_malloc(cap + 1);
    size_t pl = 0;
    json_t *j = NULL;

    if (cry_vault_open(keys, CRY_VAULT_PII, kh, "out", sealed, len, plain, cap, &pl, err) == 0) {
        j = json_loadb((const char *)plain, pl, 0, NULL);
        if (j == NULL)
            core_err_set(err, CORE_EX_DATAERR, "outbox: sealed message is not JSON");
    }
    sodium_memzero(plain, cap);
    free(plain);
    return j;
}

/*
 * KEYS[1] dedupe key, KEYS[2] lane stream (same {number} slot).
 * ARGV: dedupe ttl, then the stream fields. Returns 1 queued, 0 duplicate.
 */
static struct core_redis_script enqueue_script = {
    "outbox_enqueue",
    "if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end\n"
    "redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))\n"
    "return 1\n",
    ""};

static int valid_text(const char *s, size_t max)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= max;
}

static int check_msg(const struct gw_outmsg *m, struct core_err *err)
{
    if (!valid_text(m->key, GW_OUT_KEY_MAX) || !valid_text(m->number, 40) ||
        !valid_text(m->mid, GW_OUT_RCPT_MAX) || (unsigned)m->lane >= GW_LANES ||
        !json_is_object(m->message) || !json_is_string(json_object_get(m->message, "type")) ||
        (m->fallback != NULL && !json_is_object(m->fallback)) ||
        (m->broadcast != NULL && !valid_text(m->broadcast, 64)))
        return core_err_set(err, CORE_EX_DATAERR,
                            "outbox: a message needs a key, a number, a member, a lane and a "
                            "Graph body with a type");
    return 0;
}

/* Seal a payload already serialised as `text` for key hash `kh`. */
static unsigned char *seal_text(const struct cry_keys *keys, const char *kh, const char *text,
                                size_t *len, struct core_err *err)
{
    size_t tl = strlen(text);
    size_t cap = cry_vault_sealed_size(tl);
    unsigned char *out = core_malloc(cap);

    if (cry_vault_seal(keys, CRY_VAULT_PII, kh, "out", text, tl, out, cap, len, err) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* The payload {"message":..,"fallback":..,"g":..} of `m` as compact JSON
 * (malloc'd). */
static char *payload_text(const struct gw_outmsg *m, struct core_err *err)
{
    json_t *payload = json_pack("{s:O}", "message", m->message);
    char *text;

    if (m->fallback != NULL)
        json_object_set(payload, "fallback", (json_t *)(uintptr_t)m->fallback);
    if (m->group != NULL && m->group[0] != '\0')
        json_object_set_new(payload, "g", json_string(m->group));
    text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    if (text == NULL)
        core_err_set(err, CORE_EX_DATAERR, "outbox: message is not serialisable");
    return text;
}

static void wipe_text(char *text)
{
    if (text != NULL) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
}

/* The script's keys and arguments for `m` (sealed payload last). */
struct enq_args {
    char kh[GW_KEY_HASH_LEN];
    char dedupe[160];
    char lane[160];
    char ttl[16];
    char nb[32];
    const char *argv[16];
    size_t lens[16];
    int n;
};

static void build_args(struct enq_args *a, const struct gw_outmsg *m, const unsigned char *sealed,
                       size_t sealed_len)
{
    int n = 0;

    snprintf(a->dedupe, sizeof a->dedupe, "js:out:{%s}:e:%s", m->number, a->kh);
    gw_outbox_lane_key(m->number, m->lane, a->lane, sizeof a->lane);
    snprintf(a->ttl, sizeof a->ttl, "%d", GW_OUT_DEDUPE_S);
    snprintf(a->nb, sizeof a->nb, "%lld", (long long)m->not_before_ms);
    a->argv[n++] = a->dedupe;
    a->argv[n++] = a->lane;
    a->argv[n++] = a->ttl;
    a->argv[n++] = "k";
    a->argv[n++] = a->kh;
    a->argv[n++] = "m";
    a->argv[n++] = m->mid;
    a->argv[n++] = "b";
    a->argv[n++] = m->broadcast != NULL ? m->broadcast : "";
    a->argv[n++] = "nb";
    a->argv[n++] = a->nb;
    a->argv[n++] = "a";
    a->argv[n++] = "0";
    a->argv[n++] = "p";
    for (int i = 0; i < n; i++)
        a->lens[i] = strlen(a->argv[i]);
    a->argv[n] = (const char *)sealed;
    a->lens[n++] = sealed_len;
    a->n = n;
}

int gw_outbox_enqueue(struct core_redis *r, const struct cry_keys *keys,
                      const struct gw_outmsg *m, int *duplicate, struct core_err *err)
{
    struct enq_args a;
    unsigned char *sealed;
    size_t sealed_len = 0;
    redisReply *rep;
    char *text;
    int rc;

    if (duplicate != NULL)
        *duplicate = 0;
    if (check_msg(m, err) != 0)
        return -1;
    gw_outbox_key_hash(m->key, a.kh);
    text = payload_text(m, err);
    if (text == NULL)
        return -1;
    sealed = seal_text(keys, a.kh, text, &sealed_len, err);
    wipe_text(text);
    if (sealed == NULL)
        return -1;
    build_args(&a, m, sealed, sealed_len);
    rc = core_redis_eval(r, &enqueue_script, 2, a.n, a.argv, a.lens, &rep, err);
    free(sealed);
    if (rc != 0)
        return -1;
    if (duplicate != NULL)
        *duplicate = core_redis_int(rep) == 0;
    freeReplyObject(rep);
    return 0;
}

/*
 * The batch form: messages of one business number (all keys in its hash
 * slot). Fan-outs send one payload to many members, so a chunk stores each
 * distinct payload once as a body, js:out:{N}:b:<ref> (sealed with record
 * id <ref> = the key hash of the first message using it), and each stream
 * entry carries `r` = <ref> instead of its own sealed copy `p`; the
 * dispatcher reads the body when it takes the entry (gw_outbox_entry_open).
 * KEYS = the chunk's body keys, then (dedupe, lane) per message; ARGV[1] =
 * dedupe ttl (also the bodies' lifetime), ARGV[2] = number of bodies, then
 * the sealed bodies, then per message its key hash, member, broadcast,
 * not-before and body ref. Returns one 1 (queued) or 0 (duplicate) per
 * message. Bodies are written even when every message is a duplicate: the
 * same plaintext under the same ref, so entries queued before still open.
 */
#define BATCH_VALUES 5
#define BATCH_CHUNK 128
#define BATCH_BODIES 8

static struct core_redis_script batch_script = {
    "outbox_enqueue_batch_r",
    "local nb = tonumber(ARGV[2])\n"
    "for i = 1, nb do redis.call('SET', KEYS[i], ARGV[2 + i], 'EX', ARGV[1]) end\n"
    "local out = {}\n"
    "local base = 2 + nb\n"
    "for i = 1, (#KEYS - nb) / 2 do\n"
    "  if redis.call('SET', KEYS[nb + 2 * i - 1], '1', 'NX', 'EX', ARGV[1]) then\n"
    "    local b = base + (i - 1) * 5\n"
    "    redis.call('XADD', KEYS[nb + 2 * i], '*', 'k', ARGV[b + 1], 'm', ARGV[b + 2],\n"
    "               'b', ARGV[b + 3], 'nb', ARGV[b + 4], 'a', '0', 'r', ARGV[b + 5])\n"
    "    out[i] = 1\n"
    "  else\n"
    "    out[i] = 0\n"
    "  end\n"
    "end\n"
    "return out\n",
    ""};

/* One distinct payload of a chunk. */
struct body {
    const json_t *msg;
    const json_t *fb;
    const char *group;
    char ref[GW_KEY_HASH_LEN];
    char key[160];
    unsigned char *sealed; /* owned */
    size_t len;
};

/* One chunk being built: the messages' arguments and their bodies. */
struct chunk {
    struct enq_args a[BATCH_CHUNK];
    int body_of[BATCH_CHUNK];
    struct body bodies[BATCH_BODIES];
    size_t n_bodies;
    size_t first; /* index of a[0] in the batch */
    size_t m;
};

static void chunk_clear(struct chunk *c)
{
    for (size_t i = 0; i < c->n_bodies; i++)
        free(c->bodies[i].sealed);
    c->n_bodies = 0;
    c->m = 0;
}

/* Queue the chunk's EVALSHA (body keys, message keys, then the values). */
static int chunk_append(struct core_redis *r, struct chunk *c, struct core_err *err)
{
    size_t argc = c->n_bodies + 2 * c->m + 2 + c->n_bodies + BATCH_VALUES * c->m;
    const char **argv = core_calloc(argc, sizeof *argv);
    size_t *lens = core_calloc(argc, sizeof *lens);
    char nb[16];
    size_t k = 0;
    int rc;

    for (size_t i = 0; i < c->n_bodies; i++) {
        argv[k] = c->bodies[i].key;
        lens[k++] = strlen(c->bodies[i].key);
    }
    for (size_t i = 0; i < c->m; i++) {
        argv[k] = c->a[i].dedupe;
        lens[k++] = strlen(c->a[i].dedupe);
        argv[k] = c->a[i].lane;
        lens[k++] = strlen(c->a[i].lane);
    }
    snprintf(nb, sizeof nb, "%zu", c->n_bodies);
    argv[k] = c->a[0].ttl;
    lens[k++] = strlen(c->a[0].ttl);
    argv[k] = nb;
    lens[k++] = strlen(nb);
    for (size_t i = 0; i < c->n_bodies; i++) {
        argv[k] = (const char *)c->bodies[i].sealed;
        lens[k++] = c->bodies[i].len;
    }
    for (size_t i = 0; i < c->m; i++) {
        const char *v[BATCH_VALUES] = {c->a[i].kh, c->a[i].argv[6], c->a[i].argv[8], c->a[i].nb,
                                       c->bodies[c->body_of[i]].ref};

        for (int f = 0; f < BATCH_VALUES; f++) {
            argv[k] = v[f];
            lens[k++] = strlen(v[f]);
        }
    }
    rc = core_redis_eval_append(r, &batch_script, (int)(c->n_bodies + 2 * c->m), (int)k, argv,
                                lens, err);
    free(argv);
    free(lens);
    return rc;
}

/* Replies of the chunks queued so far, read in order. */
struct replies {
    size_t *first; /* index in the batch of each chunk's first message */
    size_t *size;  /* messages per chunk */
    size_t queued; /* chunks appended */
    size_t read;   /* replies read */
    int dead;      /* the connection was reset: the other replies are gone */
};

/* Read the next reply into status[]; errors set *rc (first one wins). */
static void read_reply(struct core_redis *r, struct replies *q, signed char *status, int *rc,
                       int *noscript, struct core_err *err)
{
    redisReply *rep = NULL;
    struct core_err e2;
    size_t i = q->read++;

    if (core_redis_get_reply(r, &rep, &e2) != 0) {
        if (core_redis_err_is(&e2, "NOSCRIPT")) {
            *noscript = 1;
        } else if (*rc == 0) {
            *rc = -1;
            if (err != NULL)
                *err = e2;
        }
        if (e2.code == CORE_EX_UNAVAILABLE)
            q->dead = 1;
        return;
    }
    for (size_t k = 0; rep->type == REDIS_REPLY_ARRAY && k < rep->elements && k < q->size[i];
         k++) {
        /* a message queued by an earlier pass keeps its answer */
        if (status[q->first[i] + k] < 0)
            status[q->first[i] + k] = rep->element[k]->integer == 1 ? 1 : 0;
    }
    freeReplyObject(rep);
}

/* Send chunk `c`; then read replies until one chunk is left in flight, so
 * that Redis runs a chunk while the next one is sealed. */
static int send_chunk(struct core_redis *r, struct chunk *c, struct replies *q,
                      signed char *status, int *noscript, struct core_err *err)
{
    int rc = chunk_append(r, c, err);

    if (rc == 0) {
        q->first[q->queued] = c->first;
        q->size[q->queued++] = c->m;
    }
    chunk_clear(c);
    while (rc == 0 && !q->dead && q->read + 1 < q->queued)
        read_reply(r, q, status, &rc, noscript, err);
    return rc != 0 || q->dead ? -1 : 0;
}

/* Both NULL/empty, or the same group code. */
static int same_group(const char *a, const char *b)
{
    if (a == NULL || a[0] == '\0')
        return b == NULL || b[0] == '\0';
    return b != NULL && strcmp(a, b) == 0;
}

/* One pass over the batch: chunks of one number, each one EVALSHA, one in
 * flight while the next is built. *noscript is set when Redis had
 * forgotten the script (the caller reloads it and runs the batch again). */
static int enqueue_pass(struct core_redis *r, const struct cry_keys *keys,
                        const struct gw_outmsg *msgs, size_t n, signed char *status,
                        int *noscript, struct core_err *err)
{
    struct chunk *c = core_calloc(1, sizeof *c);
    struct replies q;
    size_t i;
    int rc = 0;

    memset(&q, 0, sizeof q);
    q.first = core_calloc(n + 1, sizeof *q.first);
    q.size = core_calloc(n + 1, sizeof *q.size);
    *noscript = 0;
    for (i = 0; i < n && rc == 0; i++) {
        const struct gw_outmsg *m = &msgs[i];
        struct enq_args *a;
        size_t b;

        if (c->m > 0 &&
            (c->m == BATCH_CHUNK || strcmp(m->number, msgs[c->first].number) != 0)) {
            rc = send_chunk(r, c, &q, status, noscript, err);
            if (rc != 0)
                break;
        }
        if (c->m == 0)
            c->first = i;
        a = &c->a[c->m];
        gw_outbox_key_hash(m->key, a->kh);
        for (b = 0; b < c->n_bodies; b++) {
            const struct body *y = &c->bodies[b];

            if (y->msg == m->message && y->fb == m->fallback && same_group(y->group, m->group))
                break;
        }
        if (b == c->n_bodies && b == BATCH_BODIES) {
            /* a chunk holds a few distinct payloads: send it, start anew */
            rc = send_chunk(r, c, &q, status, noscript, err);
            if (rc != 0)
                break;
            c->first = i;
            b = 0;
        }
        if (b == c->n_bodies) {
            struct body *y = &c->bodies[b];
            char *text = payload_text(m, err);

            if (text == NULL) {
                rc = -1;
                break;
            }
            y->msg = m->message;
            y->fb = m->fallback;
            y->group = m->group;
            char ref[GW_KEY_HASH_LEN];

            memcpy(ref, a->kh, sizeof ref);
            gw_outbox_body_key(m->number, ref, y->key, sizeof y->key);
            memcpy(y->ref, ref, sizeof y->ref);
            y->sealed = seal_text(keys, y->ref, text, &y->len, err);
            wipe_text(text);
            if (y->sealed == NULL) {
                rc = -1;
                break;
            }
            c->n_bodies++;
        }
        c->body_of[c->m] = (int)b;
        build_args(a, m, NULL, 0);
        c->m++;
    }
    if (rc == 0 && c->m > 0)
        rc = send_chunk(r, c, &q, status, noscript, err);
    chunk_clear(c);
    free(c);
    /* read every reply that was queued, even after a failure */
    while (!q.dead && q.read < q.queued)
        read_reply(r, &q, status, &rc, noscript, err);
    free(q.first);
    free(q.size);
    if (rc == 0 && (*noscript || q.dead))
        rc = -1;
    return rc;
}

int gw_outbox_enqueue_batch(struct core_redis *r, const struct cry_keys *keys,
                            const struct gw_outmsg *msgs, size_t n, int *duplicates,
                            size_t *queued, struct core_err *err)
{
    signed char *status;
    int noscript = 0;
    int rc = -1;
    size_t i;

    if (queued != NULL)
        *queued = 0;
    for (i = 0; i < n; i++) {
        if (duplicates != NULL)
            duplicates[i] = 0;
        if (check_msg(&msgs[i], err) != 0)
            return core_err_wrap(err, "message %zu", i);
    }
    status = core_malloc(n + 1);
    memset(status, -1, n + 1);
    for (int pass = 0; pass < 2; pass++) {
        rc = enqueue_pass(r, keys, msgs, n, status, &noscript, err);
        if (rc == 0 || !noscript)
            break;
        /* Redis restarted and lost the script: every message is keyed, so
         * running the whole batch again queues only what is missing. */
        core_redis_script_forget(&batch_script);
        rc = core_err_set(err, CORE_EX_UNAVAILABLE,
                          "outbox: the enqueue script keeps vanishing");
    }
    if (rc == 0) {
        for (i = 0; i < n; i++) {
            if (duplicates != NULL)
                duplicates[i] = status[i] == 0;
            if (queued != NULL && status[i] == 1)
                (*queued)++;
        }
    }
    free(status);
    return rc;
}

/* The string value of field `name` of a stream entry, or NULL. */
static const redisReply *entry_field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; fields != NULL && fields->type == REDIS_REPLY_ARRAY &&
                       i + 1 < fields->elements;
         i += 2) {
        const redisReply *k = fields->element[i];

        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0)
            return fields->element[i + 1]->type == REDIS_REPLY_STRING ? fields->element[i + 1]
                                                                       : NULL;
    }
    return NULL;
}

json_t *gw_outbox_entry_open(struct core_redis *r, const struct cry_keys *keys,
                             const char *number, const redisReply *fields, struct core_err *err)
{
    const redisReply *k = entry_field(fields, "k");
    const redisReply *p = entry_field(fields, "p");
    const redisReply *ref = entry_field(fields, "r");
    char key[160];
    redisReply *body;
    json_t *j;

    if (k == NULL || k->len != GW_KEY_HASH_LEN - 1) {
        core_err_set(err, CORE_EX_DATAERR, "outbox: an entry without a key hash");
        return NULL;
    }
    if (p != NULL)
        return gw_outbox_open(keys, k->str, (const unsigned char *)p->str, p->len, err);
    if (ref == NULL || ref->len != GW_KEY_HASH_LEN - 1) {
        core_err_set(err, CORE_EX_DATAERR, "outbox: an entry without a payload");
        return NULL;
    }
    gw_outbox_body_key(number, ref->str, key, sizeof key);
    if (core_redis_cmdf(r, &body, err, "GET %s", key) != 0)
        return NULL;
    if (body->type != REDIS_REPLY_STRING) {
        freeReplyObject(body);
        core_err_set(err, CORE_EX_NOINPUT, "outbox: the message's body is gone");
        return NULL;
    }
    j = gw_outbox_open(keys, ref->str, (const unsigned char *)body->str, body->len, err);
    freeReplyObject(body);
    return j;
}
