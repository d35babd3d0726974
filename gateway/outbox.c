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

int gw_outbox_enqueue(struct core_redis *r, const struct cry_keys *keys,
                      const struct gw_outmsg *m, int *duplicate, struct core_err *err)
{
    char kh[GW_KEY_HASH_LEN];
    char dedupe[160];
    char lane[160];
    char ttl[16];
    char nb[32];
    json_t *payload;
    unsigned char *sealed;
    size_t sealed_len = 0;
    const char *argv[16];
    size_t lens[16];
    redisReply *rep;
    int n = 0;
    int rc;

    if (duplicate != NULL)
        *duplicate = 0;
    if (!valid_text(m->key, GW_OUT_KEY_MAX) || !valid_text(m->number, 40) ||
        !valid_text(m->mid, GW_OUT_RCPT_MAX) || (unsigned)m->lane >= GW_LANES ||
        !json_is_object(m->message) || !json_is_string(json_object_get(m->message, "type")) ||
        (m->fallback != NULL && !json_is_object(m->fallback)) ||
        (m->broadcast != NULL && !valid_text(m->broadcast, 64)))
        return core_err_set(err, CORE_EX_DATAERR,
                            "outbox: a message needs a key, a number, a member, a lane and a "
                            "Graph body with a type");
    gw_outbox_key_hash(m->key, kh);
    payload = json_pack("{s:O}", "message", m->message);
    if (m->fallback != NULL)
        json_object_set(payload, "fallback", (json_t *)(uintptr_t)m->fallback);
    sealed = gw_outbox_seal(keys, kh, payload, &sealed_len, err);
    json_decref(payload);
    if (sealed == NULL)
        return -1;
    snprintf(dedupe, sizeof dedupe, "js:out:{%s}:e:%s", m->number, kh);
    gw_outbox_lane_key(m->number, m->lane, lane, sizeof lane);
    snprintf(ttl, sizeof ttl, "%d", GW_OUT_DEDUPE_S);
    snprintf(nb, sizeof nb, "%lld", (long long)m->not_before_ms);
    argv[n++] = dedupe;
    argv[n++] = lane;
    argv[n++] = ttl;
    argv[n++] = "k";
    argv[n++] = kh;
    argv[n++] = "m";
    argv[n++] = m->mid;
    argv[n++] = "b";
    argv[n++] = m->broadcast != NULL ? m->broadcast : "";
    argv[n++] = "nb";
    argv[n++] = nb;
    argv[n++] = "a";
    argv[n++] = "0";
    argv[n++] = "p";
    for (int i = 0; i < n; i++)
        lens[i] = strlen(argv[i]);
    argv[n] = (const char *)sealed;
    lens[n++] = sealed_len;
    rc = core_redis_eval(r, &enqueue_script, 2, n, argv, lens, &rep, err);
    free(sealed);
    if (rc != 0)
        return -1;
    if (duplicate != NULL)
        *duplicate = core_redis_int(rep) == 0;
    freeReplyObject(rep);
    return 0;
}
