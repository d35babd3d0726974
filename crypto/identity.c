/*
 * crypto/identity.c - the identity registry: blind-index lookups, member
 * records with sealed identities, number/user-id changes, the router
 * handler (see identity.h).
 */
#include "crypto/identity.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"
#include "crypto/mrec.h"
#include "crypto/vault.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ATTEMPTS 8
#define MID_MAX_COLLISIONS 16
#define PADDED(n) (((n) / CRY_VAULT_PADBLOCK + 1) * CRY_VAULT_PADBLOCK)
#define SEALED_MAX CRY_IDENTITY_SEALED_MAX
#define KEY_LEN 96

_Static_assert(CRY_VAULT_HEADERBYTES + PADDED(CRY_USER_ID_MAX) + CRY_VAULT_ABYTES <= SEALED_MAX,
               "sealed field bound");
_Static_assert(PADDED(CRY_WA_ID_MAX) <= PADDED(CRY_USER_ID_MAX), "sealed field bound");

enum field { F_WA = 0, F_UID, N_FIELDS };

const char *const cry_identity_field_names[CRY_IDENTITY_FIELDS] = {"wa", "uid"};

_Static_assert(N_FIELDS == CRY_IDENTITY_FIELDS, "field table");

struct cry_identity {
    const struct cry_keys *keys; /* borrowed */
};

/* A member record as read: sealed values (kept for compare-and-set). */
struct record {
    int exists;
    int present[N_FIELDS];
    unsigned char sealed[N_FIELDS][SEALED_MAX];
    size_t sealed_len[N_FIELDS];
    uint32_t kv;
    int has_ct;
    int64_t ct;
    int64_t li;
    char mg[CRY_MID_LEN];
};

/* Plaintext working memory: one sodium_malloc'd block per call. */
struct scratch {
    struct cry_member_pii cur;  /* the record, opened */
    struct cry_member_pii want; /* what the record should hold */
    unsigned char plain[SEALED_MAX];
    struct cry_mrec rec;        /* the packed record as read (sealed values only) */
};

CORE_COUNTER(m_created, "janseva_identity_members_created_total", NULL,
             "Members created by the identity registry");
CORE_COUNTER(m_change_number, "janseva_identity_changes_total", "kind=\"number\"",
             "Identity changes applied, by kind");
CORE_COUNTER(m_change_uid, "janseva_identity_changes_total", "kind=\"user_id\"",
             "Identity changes applied, by kind");
CORE_COUNTER(m_merges, "janseva_identity_merges_total", NULL,
             "Two member records found to be one person and linked");
CORE_COUNTER(m_conflicts, "janseva_identity_conflicts_total", NULL,
             "Concurrent updates of one member record (retried)");
CORE_COUNTER(m_bad_sender, "janseva_identity_bad_senders_total", NULL,
             "Message events whose sender identity could not be used");

void cry_identity_metrics_init(void)
{
    core_metrics_register(&m_created);
    core_metrics_register(&m_change_number);
    core_metrics_register(&m_change_uid);
    core_metrics_register(&m_merges);
    core_metrics_register(&m_conflicts);
    core_metrics_register(&m_bad_sender);
}

/* KEYS[1] = index bucket; ARGV[1] = blind index (field), ARGV[2] = binary
 * mid. Deletes the entry only if it still names that member. */
static struct core_redis_script unlink_script = {
    "index_unlink",
    "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then\n"
    "  return redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "end\n"
    "return 0\n",
    ""};

/* ======================= names and keys ======================= */

struct cry_identity *cry_identity_new(const struct cry_keys *keys)
{
    struct cry_identity *id = core_calloc(1, sizeof *id);

    id->keys = keys;
    cry_identity_metrics_init();
    return id;
}

void cry_identity_free(struct cry_identity *id)
{
    free(id);
}

void cry_identity_mid(const struct cry_keys *k, const unsigned char bidx[CRY_BIDX_BYTES],
                      uint32_t n, char mid[CRY_MID_LEN])
{
    crypto_generichash_state st;
    unsigned char le[4] = {(unsigned char)(n & 0xff), (unsigned char)((n >> 8) & 0xff),
                           (unsigned char)((n >> 16) & 0xff), (unsigned char)(n >> 24)};
    unsigned char h[CRY_MID_BYTES];

    crypto_generichash_init(&st, cry_keys_get(k, CRY_KEY_MID), CRY_KEYBYTES, sizeof h);
    crypto_generichash_update(&st, bidx, CRY_BIDX_BYTES);
    crypto_generichash_update(&st, le, sizeof le);
    crypto_generichash_final(&st, h, sizeof h);
    sodium_memzero(&st, sizeof st);
    core_hex(mid, h, sizeof h);
}

void cry_identity_index_key(const unsigned char bidx[CRY_BIDX_BYTES], char *out, size_t n)
{
    snprintf(out, n, "%s%02x%02x}", CRY_INDEX_KEY_PREFIX, bidx[0], bidx[1]);
}

int cry_identity_seal_field(const struct cry_keys *k, uint32_t version, const char *mid, int f,
                            const void *plain, size_t plain_len, unsigned char *out,
                            size_t cap, size_t *out_len, struct core_err *err)
{
    if (f == F_WA)
        return cry_vault_seal_short(k, CRY_VAULT_PII, version, mid, cry_identity_field_names[f],
                                    plain, plain_len, out, cap, out_len, err);
    if (f == F_UID)
        return cry_vault_seal_version(k, CRY_VAULT_PII, version, mid,
                                      cry_identity_field_names[f], plain, plain_len, out, cap,
                                      out_len, err);
    return core_err_set(err, CORE_EX_SOFTWARE, "identity: no sealed field %d", f);
}

int cry_identity_is_mid(const char *s)
{
    size_t i;

    if (s == NULL)
        return 0;
    for (i = 0; i < 2 * CRY_MID_BYTES; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return s[i] == '\0';
}

static struct scratch *scratch_new(void)
{
    struct scratch *s = sodium_malloc(sizeof *s);

    if (s == NULL) {
        fputs("janseva: out of memory (sodium_malloc)\n", stderr);
        abort();
    }
    sodium_memzero(s, sizeof *s);
    return s;
}

static void scratch_free(struct scratch *s)
{
    sodium_free(s); /* wipes */
}

static char *pii_field(struct cry_member_pii *p, enum field f, size_t *cap)
{
    if (f == F_WA) {
        *cap = sizeof p->wa_id;
        return p->wa_id;
    }
    *cap = sizeof p->user_id;
    return p->user_id;
}

void cry_identity_name_cut(char out[CRY_NAME_MAX + 1], const char *name)
{
    size_t n = strlen(name);

    if (n > CRY_NAME_MAX) {
        n = CRY_NAME_MAX;
        while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out, name, n);
    out[n] = '\0';
}

/* ======================= Redis steps ======================= */

/* Binary mid (the index's value) from its hex form; -1 if not a mid. */
static int mid_to_bin(const char *mid, unsigned char out[CRY_MID_BYTES])
{
    size_t bin_len = 0;

    if (!cry_identity_is_mid(mid) ||
        sodium_hex2bin(out, CRY_MID_BYTES, mid, 2 * CRY_MID_BYTES, NULL, &bin_len, NULL) != 0 ||
        bin_len != CRY_MID_BYTES)
        return -1;
    return 0;
}

/* An index value (16 binary bytes) into `mid`; -1 when it is not one. */
static int mid_from_reply(const redisReply *v, char mid[CRY_MID_LEN])
{
    mid[0] = '\0';
    if (v->type != REDIS_REPLY_STRING)
        return 0;
    if (v->len != CRY_MID_BYTES)
        return -1;
    core_hex(mid, (const unsigned char *)v->str, CRY_MID_BYTES);
    return 0;
}

/* HGET an index; `mid` gets the value or "" when absent. */
static int get_index(struct core_redis *r, const unsigned char bidx[CRY_BIDX_BYTES],
                     char mid[CRY_MID_LEN], struct core_err *err)
{
    char key[KEY_LEN];
    redisReply *reply = NULL;
    int rc;

    mid[0] = '\0';
    cry_identity_index_key(bidx, key, sizeof key);
    if (core_redis_cmdf(r, &reply, err, "HGET %s %b", key, (const char *)bidx,
                        (size_t)CRY_BIDX_BYTES) != 0)
        return -1;
    rc = mid_from_reply(reply, mid);
    freeReplyObject(reply);
    if (rc != 0)
        return core_err_set(err, CORE_EX_DATAERR, "identity: index holds a bad member id");
    return 0;
}

/* index -> mid (HSETNX unless `force`). *set = 1 when written. */
static int set_index(struct core_redis *r, const unsigned char bidx[CRY_BIDX_BYTES],
                     const char *mid, int force, int *set, struct core_err *err)
{
    char key[KEY_LEN];
    unsigned char bin[CRY_MID_BYTES];
    redisReply *reply = NULL;

    if (mid_to_bin(mid, bin) != 0)
        return core_err_set(err, CORE_EX_SOFTWARE, "identity: not a member id");
    cry_identity_index_key(bidx, key, sizeof key);
    if (core_redis_cmdf(r, &reply, err, force ? "HSET %s %b %b" : "HSETNX %s %b %b", key,
                        (const char *)bidx, (size_t)CRY_BIDX_BYTES, (const char *)bin,
                        sizeof bin) != 0)
        return -1;
    /* HSET answers 0 when it overwrote a field: still written */
    *set = force || core_redis_int(reply) == 1;
    freeReplyObject(reply);
    return 0;
}

static int unlink_index(struct core_redis *r, const unsigned char bidx[CRY_BIDX_BYTES],
                        const char *mid, struct core_err *err)
{
    char key[KEY_LEN];
    unsigned char bin[CRY_MID_BYTES];
    const char *argv[3];
    size_t lens[3];
    redisReply *reply = NULL;

    if (mid_to_bin(mid, bin) != 0)
        return core_err_set(err, CORE_EX_SOFTWARE, "identity: not a member id");
    cry_identity_index_key(bidx, key, sizeof key);
    argv[0] = key;
    lens[0] = strlen(key);
    argv[1] = (const char *)bidx;
    lens[1] = CRY_BIDX_BYTES;
    argv[2] = (const char *)bin;
    lens[2] = sizeof bin;
    if (core_redis_eval(r, &unlink_script, 1, 3, argv, lens, &reply, err) != 0)
        return -1;
    freeReplyObject(reply);
    return 0;
}

static int member_exists(struct core_redis *r, const char *mid, int *exists,
                         struct core_err *err)
{
    int rc = cry_mrec_exists(r, mid, err);

    if (rc < 0)
        return -1;
    *exists = rc;
    return 0;
}

/* Open one sealed field of `mid` into the matching string of `p`. */
static int open_field(const struct cry_identity *id, const char *mid, enum field f,
                      const unsigned char *c, size_t len, struct cry_member_pii *p,
                      unsigned char *plain, struct core_err *err)
{
    size_t cap;
    char *dst = pii_field(p, f, &cap);
    size_t plen = 0;

    if (cry_vault_open_size(len) > SEALED_MAX ||
        cry_vault_open(id->keys, CRY_VAULT_PII, mid, cry_identity_field_names[f], c, len, plain,
                       SEALED_MAX, &plen, err) != 0)
        return core_err_set(err, CORE_EX_DATAERR,
                            "identity: sealed field %s of member %s does not open",
                            cry_identity_field_names[f], mid);
    if (plen >= cap) {
        sodium_memzero(plain, SEALED_MAX);
        return core_err_set(err, CORE_EX_DATAERR, "identity: field %s of member %s too long",
                            cry_identity_field_names[f], mid);
    }
    memcpy(dst, plain, plen);
    dst[plen] = '\0';
    sodium_memzero(plain, SEALED_MAX);
    return 0;
}

static const int sealed_tag[N_FIELDS] = {CRY_MR_WA, CRY_MR_UID};

/* Load the record; open its fields into `cur` when `s` is not NULL. */
static int read_record(const struct cry_identity *id, struct core_redis *r, const char *mid,
                       struct record *rec, struct scratch *s, struct core_err *err)
{
    struct cry_mrec *m = &s->rec;
    int i;

    memset(rec, 0, sizeof *rec);
    sodium_memzero(&s->cur, sizeof s->cur);
    if (cry_mrec_load(r, mid, m, err) != 0) {
        if (err->code == CORE_EX_DATAERR)
            core_err_set(err, CORE_EX_DATAERR, "identity: record of member %s is malformed", mid);
        return -1;
    }
    rec->exists = m->exists;
    for (i = 0; i < N_FIELDS; i++) {
        size_t len = 0;
        const unsigned char *v = cry_mrec_raw(m, sealed_tag[i], &len);
        uint32_t kv;

        if (v == NULL)
            continue;
        if (len > SEALED_MAX)
            return core_err_set(err, CORE_EX_DATAERR,
                                "identity: sealed field of member %s too long", mid);
        memcpy(rec->sealed[i], v, len);
        rec->sealed_len[i] = len;
        rec->present[i] = 1;
        /* the key version is in each seal's header; the record's is the
         * oldest */
        kv = cry_vault_version(v, len);
        if (rec->kv == 0 || kv < rec->kv)
            rec->kv = kv;
    }
    rec->has_ct = cry_mrec_raw(m, CRY_MR_CT, NULL) != NULL;
    rec->ct = cry_mrec_int(m, CRY_MR_CT);
    rec->li = cry_mrec_int(m, CRY_MR_LI);
    cry_mrec_str(m, CRY_MR_MG, rec->mg, sizeof rec->mg);
    for (i = 0; i < N_FIELDS; i++) {
        if (rec->present[i] && open_field(id, mid, (enum field)i, rec->sealed[i],
                                          rec->sealed_len[i], &s->cur, s->plain, err) != 0)
            return -1;
    }
    s->cur.key_version = rec->kv;
    s->cur.created = rec->ct;
    s->cur.last_inbound = rec->li;
    memcpy(s->cur.merged_into, rec->mg, sizeof rec->mg);
    return 0;
}

/*
 * Write every field of `s->want` sealed at the current version, provided the
 * record still holds what `rec` read. *written = 0 on a conflict.
 */
static int write_record(const struct cry_identity *id, struct core_redis *r, const char *mid,
                        const struct record *rec, struct scratch *s, int64_t li, int *written,
                        struct core_err *err)
{
    unsigned char sealed[N_FIELDS][SEALED_MAX];
    size_t slen[N_FIELDS];
    uint32_t version = cry_keys_version(id->keys);
    struct cry_mrec_ops o;
    int i;

    *written = 0;
    if (version == 0)
        return core_err_set(err, CORE_EX_UNAVAILABLE, "identity: key version not known yet");
    cry_mrec_ops_init(&o);
    for (i = 0; i < N_FIELDS; i++) {
        size_t cap;
        const char *v = pii_field(&s->want, (enum field)i, &cap);

        slen[i] = 0;
        if (v[0] != '\0' && cry_identity_seal_field(id->keys, version, mid, i, v, strlen(v),
                                                    sealed[i], sizeof sealed[i], &slen[i],
                                                    err) != 0)
            return -1;
        cry_mrec_op_expect_raw(&o, sealed_tag[i], rec->present[i] ? rec->sealed[i] : NULL,
                               rec->sealed_len[i]);
        if (slen[i] > 0)
            cry_mrec_op_set_raw(&o, sealed_tag[i], sealed[i], slen[i]);
        else
            cry_mrec_op_del(&o, sealed_tag[i]);
    }
    if (!rec->has_ct)
        cry_mrec_op_setnx_int(&o, CRY_MR_CT, core_now_ms() / 1000);
    if (li > 0)
        cry_mrec_op_max(&o, CRY_MR_LI, li);
    if (cry_mrec_update(r, mid, &o, written, err) != 0)
        return -1;
    if (!*written)
        core_metric_inc(&m_conflicts);
    return 0;
}

/* Raise li only. */
static int touch_li(struct core_redis *r, const char *mid, int64_t li, struct core_err *err)
{
    struct cry_mrec_ops o;

    cry_mrec_ops_init(&o);
    cry_mrec_op_max(&o, CRY_MR_LI, li);
    return cry_mrec_update(r, mid, &o, NULL, err);
}

/* Record that `loser` is one person with `winner` (mg). */
static int set_merged(struct core_redis *r, const char *loser, const char *winner,
                      struct core_err *err)
{
    struct cry_mrec_ops o;

    cry_mrec_ops_init(&o);
    cry_mrec_op_set(&o, CRY_MR_MG, winner);
    return cry_mrec_update(r, loser, &o, NULL, err);
}

/* ======================= resolving ======================= */

/* The identities of one request, with their blind indexes. */
struct ids {
    const char *value[2]; /* [F_WA], [F_UID]: NULL when not given */
    unsigned char bidx[2][CRY_BIDX_BYTES];
    char found[2][CRY_MID_LEN]; /* index lookups: mid or "" */
};

static int bidx_of(const struct cry_identity *id, enum field f, const char *value,
                   unsigned char out[CRY_BIDX_BYTES], struct core_err *err)
{
    return f == F_WA ? cry_bidx_wa(id->keys, value, out, err)
                     : cry_bidx_bsuid(id->keys, value, out, err);
}

static int ids_init(const struct cry_identity *id, struct ids *x, const char *wa,
                    const char *uid, struct core_err *err)
{
    memset(x, 0, sizeof *x);
    if (wa != NULL && wa[0] == '\0')
        wa = NULL;
    if (uid != NULL && uid[0] == '\0')
        uid = NULL;
    if (wa == NULL && uid == NULL)
        return core_err_set(err, CORE_EX_DATAERR, "identity: no sender identity");
    x->value[F_WA] = wa;
    x->value[F_UID] = uid;
    if (wa != NULL && bidx_of(id, F_WA, wa, x->bidx[F_WA], err) != 0)
        return -1;
    if (uid != NULL && bidx_of(id, F_UID, uid, x->bidx[F_UID], err) != 0)
        return -1;
    return 0;
}

/* Look both indexes up in one round trip (pipelined GETs). */
static int ids_lookup(struct core_redis *r, struct ids *x, struct core_err *err)
{
    redisReply *reply[2] = {NULL, NULL};
    int queued[2] = {0, 0};
    int rc = 0;
    int f;

    for (f = F_WA; f <= F_UID; f++) {
        char key[KEY_LEN];

        x->found[f][0] = '\0';
        if (x->value[f] == NULL)
            continue;
        cry_identity_index_key(x->bidx[f], key, sizeof key);
        if (core_redis_appendf(r, err, "HGET %s %b", key, (const char *)x->bidx[f],
                               (size_t)CRY_BIDX_BYTES) != 0)
            return -1;
        queued[f] = 1;
    }
    /* Read every queued reply, keeping the first error, so the connection
     * is never left with an unread reply. */
    for (f = F_WA; f <= F_UID; f++) {
        struct core_err later;

        if (!queued[f])
            continue;
        if (core_redis_get_reply(r, &reply[f], rc == 0 ? err : &later) != 0) {
            rc = -1;
            if (!core_redis_connected(r))
                break;
            continue;
        }
        if (mid_from_reply(reply[f], x->found[f]) != 0) {
            if (rc == 0)
                core_err_set(err, CORE_EX_DATAERR, "identity: index holds a bad member id");
            rc = -1;
        }
    }
    for (f = F_WA; f <= F_UID; f++) {
        if (reply[f] != NULL)
            freeReplyObject(reply[f]);
    }
    return rc;
}

/* Create the index of a new identity. Returns 0 (then retry the lookup). */
static int create_member(const struct cry_identity *id, struct core_redis *r,
                         const struct ids *x, char mid[CRY_MID_LEN], int *created,
                         struct core_err *err)
{
    enum field primary = x->value[F_WA] != NULL ? F_WA : F_UID;
    uint32_t n;
    int exists = 1;
    int set = 0;

    for (n = 0; n < MID_MAX_COLLISIONS; n++) {
        cry_identity_mid(id->keys, x->bidx[primary], n, mid);
        if (member_exists(r, mid, &exists, err) != 0)
            return -1;
        if (!exists)
            break;
    }
    if (exists)
        return core_err_set(err, CORE_EX_SOFTWARE, "identity: no free member id");
    if (set_index(r, x->bidx[primary], mid, 0, &set, err) != 0)
        return -1;
    if (set) {
        *created = 1;
        core_metric_inc(&m_created);
    }
    return 0;
}

/* Two members are one person: keep the wa_id's member (`winner`). */
static int merge(struct core_redis *r, const struct ids *x, const char *winner,
                 const char *loser, const char *req, struct core_err *err)
{
    int set = 0;

    if (set_index(r, x->bidx[F_UID], winner, 1, &set, err) != 0)
        return -1;
    if (set_merged(r, loser, winner, err) != 0)
        return -1;
    core_metric_inc(&m_merges);
    core_log_kv(CORE_LOG_WARN, "identity", req, "two member records linked as one person",
                json_pack("{s:s,s:s}", "member", winner, "merged", loser));
    return 0;
}

/*
 * The member is known (`mid`): link the identities that are not indexed yet,
 * bring the record up to date, unlink replaced identities. `authoritative`:
 * a system message says the given identity is now the member's (else a
 * different identity is adopted only by a message at least as new as the
 * newest seen, so a late message cannot undo a change). *done = 0 on a
 * conflict (retry).
 */
static int update_member(const struct cry_identity *id, struct core_redis *r, const char *mid,
                         struct ids *x, int64_t ts, int authoritative,
                         struct scratch *s, int *done, struct core_err *err)
{
    struct record rec;
    unsigned char old_bidx[2][CRY_BIDX_BYTES];
    int unlink[2] = {0, 0};
    int change = 0;
    int f;

    *done = 0;
    if (read_record(id, r, mid, &rec, s, err) != 0)
        return -1;
    s->want = s->cur;
    for (f = F_WA; f <= F_UID; f++) {
        size_t cap;
        char *cur = pii_field(&s->cur, (enum field)f, &cap);
        char *want = pii_field(&s->want, (enum field)f, &cap);
        const char *given = x->value[f];
        char norm[21] = "";
        int same;
        int set = 0;

        if (given == NULL)
            continue;
        if (f == F_WA && cry_bidx_normalise_wa(given, norm) == 0)
            given = norm;
        same = strcmp(cur, given) == 0;
        if (!same && cur[0] != '\0' && !authoritative && ts < rec.li &&
            strcmp(x->found[f], mid) != 0)
            continue; /* a late message from a replaced identity */
        if (x->found[f][0] == '\0') {
            if (set_index(r, x->bidx[f], mid, 0, &set, err) != 0)
                return -1;
            if (!set)
                return 0; /* someone indexed it meanwhile: look up again */
        }
        if (!same) {
            if (cur[0] != '\0') {
                if (bidx_of(id, (enum field)f, cur, old_bidx[f], err) == 0)
                    unlink[f] = 1;
            }
            snprintf(want, cap, "%s", given);
            change = 1;
        }
        sodium_memzero(norm, sizeof norm);
    }
    if (change || !rec.exists || !rec.has_ct) {
        int written = 0;

        if (write_record(id, r, mid, &rec, s, ts, &written, err) != 0)
            return -1;
        if (!written)
            return 0;
    } else if (ts > rec.li) {
        if (touch_li(r, mid, ts, err) != 0)
            return -1;
    }
    for (f = F_WA; f <= F_UID; f++) {
        if (unlink[f] && unlink_index(r, old_bidx[f], mid, err) != 0)
            return -1;
    }
    *done = 1;
    return 0;
}

/* The resolve loop shared by senders and identity changes. */
static int resolve(struct cry_identity *id, struct core_redis *r, struct ids *x,
                   int64_t ts, int authoritative, const char *req,
                   char mid[CRY_MID_LEN], int *created, struct core_err *err)
{
    struct scratch *s = scratch_new();
    int attempt;
    int rc = -1;

    if (created != NULL)
        *created = 0;
    for (attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        int done = 0;
        int dummy = 0;

        if (ids_lookup(r, x, err) != 0)
            goto out;
        if (x->found[F_WA][0] == '\0' && x->found[F_UID][0] == '\0') {
            if (create_member(id, r, x, mid, created != NULL ? created : &dummy, err) != 0)
                goto out;
            continue; /* the next lookup finds it (ours or a concurrent one) */
        }
        if (x->found[F_WA][0] != '\0' && x->found[F_UID][0] != '\0' &&
            strcmp(x->found[F_WA], x->found[F_UID]) != 0) {
            if (merge(r, x, x->found[F_WA], x->found[F_UID], req, err) != 0)
                goto out;
            continue;
        }
        memcpy(mid, x->found[F_WA][0] != '\0' ? x->found[F_WA] : x->found[F_UID], CRY_MID_LEN);
        if (update_member(id, r, mid, x, ts, authoritative, s, &done, err) != 0)
            goto out;
        if (done) {
            rc = 0;
            goto out;
        }
    }
    core_err_set(err, CORE_EX_TEMPFAIL, "identity: member %s changed too often; retry", mid);
out:
    scratch_free(s);
    if (rc != 0)
        mid[0] = '\0';
    return rc;
}

int cry_identity_resolve(struct cry_identity *id, struct core_redis *r, const char *wa_id,
                         const char *user_id, const char *name, int64_t ts,
                         char mid[CRY_MID_LEN], int *created, struct core_err *err)
{
    struct ids x;
    int rc;

    mid[0] = '\0';
    if (created != NULL)
        *created = 0;
    if (ids_init(id, &x, wa_id, user_id, err) != 0)
        return -1;
    (void)name; /* never stored: docs/internals/crypto.md, "Profile names" */
    rc = resolve(id, r, &x, ts, 0, NULL, mid, created, err);
    sodium_memzero(&x, sizeof x);
    return rc;
}

/* An identity change: `old` -> `new` of kind `f`. */
static int change(struct cry_identity *id, struct core_redis *r, enum field f, const char *old,
                  const char *new_value, int64_t ts, const char *req, char mid[CRY_MID_LEN],
                  struct core_err *err)
{
    struct ids x;
    unsigned char old_bidx[CRY_BIDX_BYTES];
    char old_mid[CRY_MID_LEN];
    int rc = -1;
    int set = 0;
    int attempt;

    mid[0] = '\0';
    memset(&x, 0, sizeof x);
    if (bidx_of(id, f, old, old_bidx, err) != 0 ||
        ids_init(id, &x, f == F_WA ? new_value : NULL, f == F_UID ? new_value : NULL, err) != 0)
        goto out;
    for (attempt = 0;; attempt++) {
        if (attempt == MAX_ATTEMPTS) {
            core_err_set(err, CORE_EX_TEMPFAIL, "identity: identity change contended; retry");
            goto out;
        }
        if (get_index(r, old_bidx, old_mid, err) != 0 || ids_lookup(r, &x, err) != 0)
            goto out;
        if (old_mid[0] == '\0') {
            /* Done already (a replay), or the old identity was never seen:
             * the new one is an ordinary sender. */
            rc = resolve(id, r, &x, ts, 0, req, mid, NULL, err);
            goto out;
        }
        if (strcmp(x.found[f], old_mid) == 0)
            break;
        if (x.found[f][0] != '\0') {
            /* The new identity already had a member (its messages arrived
             * before the change): the established member continues. */
            if (set_index(r, x.bidx[f], old_mid, 1, &set, err) != 0)
                goto out;
            if (set_merged(r, x.found[f], old_mid, err) != 0)
                goto out;
            core_metric_inc(&m_merges);
            core_log_kv(CORE_LOG_WARN, "identity", req,
                        "identity change joined two member records",
                        json_pack("{s:s,s:s}", "member", old_mid, "merged", x.found[f]));
            break;
        }
        if (set_index(r, x.bidx[f], old_mid, 0, &set, err) != 0)
            goto out;
        if (set)
            break;
        /* another router indexed the new identity meanwhile: look again */
    }
    /* The index of the new identity names the member now; the record update
     * adopts it and unlinks the old index. */
    rc = resolve(id, r, &x, ts, 1, req, mid, NULL, err);
    if (rc == 0) {
        if (unlink_index(r, old_bidx, mid, err) != 0) {
            rc = -1;
            goto out;
        }
        core_metric_inc(f == F_WA ? &m_change_number : &m_change_uid);
    }
out:
    sodium_memzero(&x, sizeof x);
    sodium_memzero(old_bidx, sizeof old_bidx);
    return rc;
}

int cry_identity_change_number(struct cry_identity *id, struct core_redis *r,
                               const char *old_wa_id, const char *new_wa_id, int64_t ts,
                               char mid[CRY_MID_LEN], struct core_err *err)
{
    return change(id, r, F_WA, old_wa_id, new_wa_id, ts, NULL, mid, err);
}

int cry_identity_change_user_id(struct cry_identity *id, struct core_redis *r,
                                const char *old_user_id, const char *new_user_id, int64_t ts,
                                char mid[CRY_MID_LEN], struct core_err *err)
{
    return change(id, r, F_UID, old_user_id, new_user_id, ts, NULL, mid, err);
}

int cry_identity_find(struct cry_identity *id, struct core_redis *r, const char *wa_id,
                      const char *user_id, char mid[CRY_MID_LEN], int *found,
                      struct core_err *err)
{
    struct ids x;
    int rc = -1;

    mid[0] = '\0';
    *found = 0;
    if (ids_init(id, &x, wa_id, user_id, err) != 0)
        goto out;
    if (ids_lookup(r, &x, err) != 0)
        goto out;
    if (x.found[F_WA][0] != '\0' || x.found[F_UID][0] != '\0') {
        memcpy(mid, x.found[F_WA][0] != '\0' ? x.found[F_WA] : x.found[F_UID], CRY_MID_LEN);
        *found = 1;
    }
    rc = 0;
out:
    sodium_memzero(&x, sizeof x);
    return rc;
}

int cry_identity_open(struct cry_identity *id, struct core_redis *r, const char *mid,
                      struct cry_member_pii **out, struct core_err *err)
{
    struct scratch *s;
    struct record rec;
    struct cry_member_pii *p;

    *out = NULL;
    if (!cry_identity_is_mid(mid))
        return core_err_set(err, CORE_EX_USAGE, "identity: not a member id");
    s = scratch_new();
    if (read_record(id, r, mid, &rec, s, err) != 0) {
        scratch_free(s);
        return -1;
    }
    if (!rec.exists) {
        scratch_free(s);
        return core_err_set(err, CORE_EX_NOINPUT, "identity: no member %s", mid);
    }
    p = sodium_malloc(sizeof *p);
    if (p == NULL) {
        fputs("janseva: out of memory (sodium_malloc)\n", stderr);
        abort();
    }
    *p = s->cur;
    scratch_free(s);
    *out = p;
    return 0;
}

void cry_member_pii_free(struct cry_member_pii *p)
{
    if (p != NULL)
        sodium_free(p); /* wipes */
}

/* ======================= bulk support ======================= */

int cry_identity_append_cas(struct core_redis *r, const char *mid,
                            const unsigned char *const old_v[CRY_IDENTITY_FIELDS],
                            const size_t old_len[CRY_IDENTITY_FIELDS],
                            const unsigned char *const new_v[CRY_IDENTITY_FIELDS],
                            const size_t new_len[CRY_IDENTITY_FIELDS], struct core_err *err)
{
    struct cry_mrec_ops o;
    int i;

    cry_mrec_ops_init(&o);
    for (i = 0; i < N_FIELDS; i++) {
        cry_mrec_op_expect_raw(&o, sealed_tag[i], old_v[i], old_len[i]);
        if (new_v[i] != NULL)
            cry_mrec_op_set_raw(&o, sealed_tag[i], new_v[i], new_len[i]);
        else
            cry_mrec_op_del(&o, sealed_tag[i]);
    }
    return cry_mrec_append_update(r, mid, &o, err);
}

int cry_identity_append_bulk(struct cry_identity *id, struct core_redis *r, const char *wa_id,
                             int64_t ct, int64_t li, char mid[CRY_MID_LEN], int *replies,
                             struct core_err *err)
{
    unsigned char bidx[CRY_BIDX_BYTES];
    unsigned char bin[CRY_MID_BYTES];
    unsigned char sealed[SEALED_MAX];
    size_t slen = 0;
    char norm[CRY_WA_ID_MAX + 1];
    char key[KEY_LEN];
    struct cry_mrec_ops o;
    uint32_t version = cry_keys_version(id->keys);
    int rc = -1;

    *replies = 0;
    mid[0] = '\0';
    if (cry_bidx_normalise_wa(wa_id, norm) != 0)
        return core_err_set(err, CORE_EX_DATAERR, "identity: not a wa_id");
    if (cry_bidx_wa(id->keys, norm, bidx, err) != 0)
        goto out;
    cry_identity_mid(id->keys, bidx, 0, mid);
    if (mid_to_bin(mid, bin) != 0 ||
        cry_identity_seal_field(id->keys, version, mid, F_WA, norm, strlen(norm), sealed,
                                sizeof sealed, &slen, err) != 0)
        goto out;
    cry_identity_index_key(bidx, key, sizeof key);
    if (core_redis_appendf(r, err, "HSETNX %s %b %b", key, (const char *)bidx,
                           (size_t)CRY_BIDX_BYTES, (const char *)bin, sizeof bin) != 0)
        goto out;
    (*replies)++;
    cry_mrec_ops_init(&o);
    cry_mrec_op_expect_raw(&o, CRY_MR_WA, NULL, 0);
    cry_mrec_op_set_raw(&o, CRY_MR_WA, sealed, slen);
    cry_mrec_op_setnx_int(&o, CRY_MR_CT, ct);
    if (li > 0)
        cry_mrec_op_max(&o, CRY_MR_LI, li);
    if (cry_mrec_append_update(r, mid, &o, err) != 0)
        goto out;
    (*replies)++;
    rc = 0;
out:
    sodium_memzero(norm, sizeof norm);
    sodium_memzero(bidx, sizeof bidx);
    if (rc != 0)
        mid[0] = '\0';
    return rc;
}

/* ======================= router handler ======================= */

int cry_identity_handler(void *ud, struct gw_router_ctx *ctx, const struct gw_event *ev,
                         struct core_err *err)
{
    struct cry_identity *id = ud;
    char mid[CRY_MID_LEN];
    int created = 0;
    int rc;
    const char *what = "member resolved";

    ctx->member_id[0] = '\0';
    if (ev->kind != GW_EVENT_MESSAGE || ev->problem != NULL)
        return 0;
    if (ev->system_type != NULL && strcmp(ev->system_type, "user_changed_number") == 0 &&
        ev->from != NULL && ev->new_wa_id != NULL) {
        rc = change(id, ctx->redis, F_WA, ev->from, ev->new_wa_id, ev->timestamp, ctx->req_id,
                    mid, err);
        what = "member changed number";
    } else if (ev->system_type != NULL && strcmp(ev->system_type, "user_changed_user_id") == 0 &&
               ev->previous_user_id != NULL &&
               (ev->new_user_id != NULL || ev->user_id != NULL)) {
        rc = change(id, ctx->redis, F_UID, ev->previous_user_id,
                    ev->new_user_id != NULL ? ev->new_user_id : ev->user_id, ev->timestamp,
                    ctx->req_id, mid, err);
        what = "member changed user id";
    } else {
        struct ids x;

        rc = ids_init(id, &x, ev->from, ev->user_id, err);
        if (rc == 0)
            rc = resolve(id, ctx->redis, &x, ev->timestamp, 0, ctx->req_id, mid,
                         &created, err);
        sodium_memzero(&x, sizeof x);
    }
    if (rc != 0) {
        if (err->code == CORE_EX_DATAERR) {
            /* Not transient: retrying cannot help. The event goes on without
             * a member; the message names no identifier. */
            core_metric_inc(&m_bad_sender);
            core_log_kv(CORE_LOG_WARN, "identity", ctx->req_id, "sender identity not usable",
                        json_pack("{s:s,s:s}", "event", ctx->event_key, "error", err->msg));
            core_err_clear(err);
            return 0;
        }
        return -1;
    }
    memcpy(ctx->member_id, mid, CRY_MID_LEN);
    core_log_kv(CORE_LOG_DEBUG, "identity", ctx->req_id, what,
                json_pack("{s:s,s:s,s:b}", "event", ctx->event_key, "member", mid, "created",
                          created));
    return 0;
}
