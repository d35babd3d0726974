/*
 * groups/tip.c - the tip store: cases, pseudonyms, sealed items, the
 * routing record and the sealed identity, officer views and replies, and
 * the calls of the tip flow (see tip.h and docs/tips.md).
 */
#include "groups/tip.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"
#include "crypto/audit.h"
#include "crypto/vault.h"
#include "gateway/dispatch.h"
#include "gateway/outbox.h"
#include "groups/member.h"
#include "groups/tiptext.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALPHA_N 28
#define EVENT_TTL_S 604800
#define OPEN_ATTEMPTS 32
#define LIST_SCAN_MAX 10000
#define REPLY_MAX_CHARS 3500
#define IDENTITY_MAX 4096
#define REVEAL_RETRY_MS 5000
#define SESSION_HASH_BYTES 16
#define SESSION_DOMAIN "janseva tip session key v1"
#define STATUS_REPLIES 3
#define KEY_MAX 160

_Static_assert(sizeof GRP_TIP_ALPHABET - 1 == ALPHA_N, "alphabet size");
_Static_assert(GRP_TIP_CASE_LEN == CRY_MID_LEN, "case ids and mids are both 32 hex");

CORE_COUNTER(m_opened, "janseva_tip_cases_opened_total", NULL, "Tip cases opened");
CORE_COUNTER(m_items, "janseva_tip_items_total", "from=\"tipster\"",
             "Items added to tip cases, by author");
CORE_COUNTER(m_replies, "janseva_tip_items_total", "from=\"officer\"",
             "Items added to tip cases, by author");
CORE_COUNTER(m_closed, "janseva_tip_cases_closed_total", NULL, "Tip cases closed");
CORE_COUNTER(m_purged, "janseva_tip_cases_purged_total", NULL,
             "Closed tip cases purged after the retention time");
CORE_COUNTER(m_denied, "janseva_tip_access_denied_total", NULL,
             "Officer requests for a tip case outside their jurisdiction");

void grp_tip_metrics_init(void)
{
    core_metrics_register(&m_opened);
    core_metrics_register(&m_items);
    core_metrics_register(&m_replies);
    core_metrics_register(&m_closed);
    core_metrics_register(&m_purged);
    core_metrics_register(&m_denied);
}

struct grp_tip {
    const struct core_cfg *cfg;
    const struct cry_keys *keys;
    struct cry_identity *ident;
    struct cry_audit *audit;
    unsigned char *skey; /* session-hash key, sodium_malloc'd, read-only */
    pthread_mutex_t lock;
    int has_reveal;
    int64_t reveal_tried_ms;
    struct cry_reveal_meta reveal;
    void (*pseudonym_fn)(char out[GRP_TIP_PSEUDONYM_LEN]); /* tests */
    void (*hook)(const char *stage, void *ud);             /* tests */
    void *hook_ud;
};

/* ======================= small helpers ======================= */

int grp_tip_is_case_id(const char *s)
{
    return cry_identity_is_mid(s);
}

static void case_key(const char *cid, const char *suffix, char *out, size_t n)
{
    snprintf(out, n, "js:tip:{%s}%s", cid, suffix);
}

static int64_t now_ms(void)
{
    return core_now_ms();
}

static void copy_reply(char *dst, size_t n, const redisReply *v)
{
    size_t k = 0;

    if (v != NULL && v->type == REDIS_REPLY_STRING) {
        k = v->len < n - 1 ? v->len : n - 1;
        memcpy(dst, v->str, k);
    }
    dst[k] = '\0';
}

static int64_t reply_i64(const redisReply *v)
{
    int64_t x = 0;

    if (v != NULL && v->type == REDIS_REPLY_STRING && core_parse_i64(v->str, &x) == 0)
        return x;
    if (v != NULL && v->type == REDIS_REPLY_INTEGER)
        return v->integer;
    return 0;
}

struct cry_audit *grp_tip_audit(struct grp_tip *t)
{
    return t->audit;
}

const struct cry_keys *grp_tip_keys(const struct grp_tip *t)
{
    return t->keys;
}

const struct core_cfg *grp_tip_cfg(const struct grp_tip *t)
{
    return t->cfg;
}

/* Append an audit record; a failure is logged, never fatal for the caller. */
static void audit(struct grp_tip *t, struct core_redis *r, const char *actor, const char *action,
                  const char *cid, const char *reason)
{
    struct core_err err;
    char object[64];

    snprintf(object, sizeof object, "case:%s", cid);
    if (cry_audit_append(t->audit, r, actor, action, object, reason, NULL, &err) != 0)
        core_log_warn("tip", NULL, "case %s: %s not recorded in the audit log: %s", cid, action,
                      err.msg);
}

/* Seal `len` bytes for case `cid`, field `field` (vault purpose TIP). */
static unsigned char *seal(const struct grp_tip *t, const char *cid, const char *field,
                           const void *plain, size_t len, size_t *out_len, struct core_err *err)
{
    size_t cap = cry_vault_sealed_size(len);
    unsigned char *out = core_malloc(cap);

    if (cry_vault_seal(t->keys, CRY_VAULT_TIP, cid, field, plain, len, out, cap, out_len, err) !=
        0) {
        free(out);
        return NULL;
    }
    return out;
}

/* Open a sealed value into a new buffer (NUL-terminated; caller wipes). */
static unsigned char *unseal(const struct grp_tip *t, const char *cid, const char *field,
                             const void *c, size_t c_len, size_t *len, struct core_err *err)
{
    size_t cap = cry_vault_open_size(c_len);
    unsigned char *out;

    *len = 0;
    if (cap == 0) {
        core_err_set(err, CORE_EX_DATAERR, "tip: case %s: a sealed value is damaged", cid);
        return NULL;
    }
    out = core_malloc(cap + 1);
    if (cry_vault_open(t->keys, CRY_VAULT_TIP, cid, field, c, c_len, out, cap, len, err) != 0) {
        free(out);
        core_err_set(err, CORE_EX_DATAERR, "tip: case %s: a sealed value does not open", cid);
        return NULL;
    }
    out[*len] = '\0';
    return out;
}

static void wipe_free(void *p, size_t n)
{
    if (p != NULL) {
        sodium_memzero(p, n);
        free(p);
    }
}

/* ======================= lifecycle ======================= */

struct grp_tip *grp_tip_new(const struct core_cfg *cfg, const struct cry_keys *keys,
                            struct cry_identity *ident)
{
    struct grp_tip *t = core_calloc(1, sizeof *t);
    const unsigned char *kmid = cry_keys_get(keys, CRY_KEY_MID);

    t->cfg = cfg;
    t->keys = keys;
    t->ident = ident;
    t->audit = cry_audit_new(keys);
    t->skey = sodium_malloc(CRY_KEYBYTES);
    if (t->skey == NULL)
        abort();
    crypto_generichash(t->skey, CRY_KEYBYTES, (const unsigned char *)SESSION_DOMAIN,
                       sizeof SESSION_DOMAIN - 1, kmid, CRY_KEYBYTES);
    sodium_mprotect_readonly(t->skey);
    pthread_mutex_init(&t->lock, NULL);
    return t;
}

void grp_tip_free(struct grp_tip *t)
{
    if (t == NULL)
        return;
    cry_audit_free(t->audit);
    sodium_free(t->skey);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void grp_tip_set_test_hook(struct grp_tip *t, void (*fn)(const char *stage, void *ud), void *ud)
{
    t->hook = fn;
    t->hook_ud = ud;
}

void grp_tip_test_hook(struct grp_tip *t, const char *stage)
{
    if (t->hook != NULL)
        t->hook(stage, t->hook_ud);
}

void grp_tip_set_pseudonym_source(struct grp_tip *t, void (*fn)(char out[GRP_TIP_PSEUDONYM_LEN]))
{
    t->pseudonym_fn = fn;
}

void grp_tip_set_reveal(struct grp_tip *t, const struct cry_reveal_meta *m)
{
    pthread_mutex_lock(&t->lock);
    t->reveal = *m;
    t->has_reveal = 1;
    pthread_mutex_unlock(&t->lock);
}

int grp_tip_reveal_meta(struct grp_tip *t, struct cry_reveal_meta *m, struct core_err *err)
{
    struct core_err e;
    int rc = 0;

    pthread_mutex_lock(&t->lock);
    if (!t->has_reveal && core_mono_ms() - t->reveal_tried_ms >= REVEAL_RETRY_MS) {
        const char *dir = cry_keys_dir(t->keys);
        int relaxed = t->cfg == NULL || !core_cfg_is_set(t->cfg->keys_dir);

        t->reveal_tried_ms = core_mono_ms();
        if (cry_reveal_meta_load(dir, relaxed, &t->reveal, &e) == 0)
            t->has_reveal = 1;
        else
            core_log_warn("tip", NULL, "no usable reveal key, tips cannot be taken: %s", e.msg);
    }
    if (t->has_reveal)
        *m = t->reveal;
    else
        rc = core_err_set(err, CORE_EX_CONFIG,
                          "tip: no reveal key: create one with 'janseva keys init-reveal'");
    pthread_mutex_unlock(&t->lock);
    return rc;
}

/* ======================= pseudonyms ======================= */

static int alpha_index(char c)
{
    const char *p;

    if (c >= 'a' && c <= 'z')
        c = (char)(c - 32);
    p = c != '\0' ? strchr(GRP_TIP_ALPHABET, c) : NULL;
    return p != NULL ? (int)(p - GRP_TIP_ALPHABET) : -1;
}

char grp_tip_pseudonym_check(const char body[5])
{
    int factor = 2;
    int sum = 0;

    for (int i = 4; i >= 0; i--) {
        int v = alpha_index(body[i]);
        int addend;

        if (v < 0)
            return 0;
        addend = factor * v;
        factor = factor == 2 ? 1 : 2;
        sum += addend / ALPHA_N + addend % ALPHA_N;
    }
    return GRP_TIP_ALPHABET[(ALPHA_N - sum % ALPHA_N) % ALPHA_N];
}

void grp_tip_pseudonym_new(char out[GRP_TIP_PSEUDONYM_LEN])
{
    char body[5];

    for (int i = 0; i < 5; i++)
        body[i] = GRP_TIP_ALPHABET[randombytes_uniform(ALPHA_N)];
    snprintf(out, GRP_TIP_PSEUDONYM_LEN, "T-%c%c%c%c-%c%c", body[0], body[1], body[2], body[3],
             body[4], grp_tip_pseudonym_check(body));
}

int grp_tip_pseudonym_valid(const char *s)
{
    char body[5];

    if (s == NULL || strlen(s) != GRP_TIP_PSEUDONYM_LEN - 1 || s[0] != 'T' || s[1] != '-' ||
        s[6] != '-')
        return 0;
    memcpy(body, s + 2, 4);
    body[4] = s[7];
    for (int i = 0; i < 5; i++) {
        if (alpha_index(body[i]) < 0 || body[i] != GRP_TIP_ALPHABET[alpha_index(body[i])])
            return 0;
    }
    return grp_tip_pseudonym_check(body) == s[8];
}

static int is_sep(char c)
{
    return c == '-' || c == ' ' || c == '.' || c == '_' || c == '/';
}

static int is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Try to read [T][sep] SSSS [sep] SS at `p` (end `e`); the symbols go to
 * `sym` (6). Returns the end position or NULL. */
static const char *read_code(const char *p, const char *e, int with_t, char sym[6])
{
    int k = 0;

    if (with_t) {
        if (p >= e || (*p != 'T' && *p != 't'))
            return NULL;
        p++;
        if (p < e && is_sep(*p))
            p++;
    }
    while (k < 6) {
        if (k == 4 && p < e && is_sep(*p))
            p++;
        if (p >= e || alpha_index(*p) < 0)
            return NULL;
        sym[k++] = *p++;
    }
    if (p < e && is_alnum(*p))
        return NULL;
    return p;
}

int grp_tip_pseudonym_scan(const char *text, size_t len, char out[GRP_TIP_PSEUDONYM_LEN])
{
    char norm[4096];
    size_t n = 0;

    if (text == NULL)
        return 0;
    /* ASCII as is; Devanagari digits U+0966..U+096F (E0 A5 A6..AF) to 0-9;
     * any other byte is a boundary */
    for (size_t i = 0; i < len && n < sizeof norm; i++) {
        unsigned char c = (unsigned char)text[i];

        if (c == 0xE0 && i + 2 < len && (unsigned char)text[i + 1] == 0xA5 &&
            (unsigned char)text[i + 2] >= 0xA6 && (unsigned char)text[i + 2] <= 0xAF) {
            norm[n++] = (char)('0' + ((unsigned char)text[i + 2] - 0xA6));
            i += 2;
        } else {
            norm[n++] = c < 0x80 ? (char)c : '\x01';
        }
    }
    for (size_t i = 0; i < n; i++) {
        char sym[6];

        if (i > 0 && is_alnum(norm[i - 1]))
            continue;
        for (int with_t = 1; with_t >= 0; with_t--) {
            char body[5];
            char c;

            if (read_code(norm + i, norm + n, with_t, sym) == NULL)
                continue;
            for (int k = 0; k < 6; k++)
                sym[k] = GRP_TIP_ALPHABET[alpha_index(sym[k])];
            memcpy(body, sym, 5);
            c = grp_tip_pseudonym_check(body);
            if (c != sym[5])
                continue;
            snprintf(out, GRP_TIP_PSEUDONYM_LEN, "T-%c%c%c%c-%c%c", sym[0], sym[1], sym[2],
                     sym[3], sym[4], sym[5]);
            return 1;
        }
    }
    return 0;
}

/* "T-4KQ9-27" -> "4KQ927" (the index key). */
static void compact(const char *p, char out[8])
{
    snprintf(out, 8, "%.4s%.2s", p + 2, p + 7);
}

/* ======================= loading cases ======================= */

int grp_tip_load(struct core_redis *r, const char *cid, struct grp_tip_case *c,
                 struct core_err *err)
{
    char key[80];
    redisReply *rep;

    memset(c, 0, sizeof *c);
    if (!grp_tip_is_case_id(cid))
        return core_err_set(err, CORE_EX_NOINPUT, "tip: no such case");
    case_key(cid, "", key, sizeof key);
    if (core_redis_cmdf(r, &rep, err, "HMGET %s ps st th dt rt lg pn rk ct ut cl ni nr", key) !=
        0)
        return -1;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 13 ||
        rep->element[0]->type != REDIS_REPLY_STRING ||
        rep->element[8]->type != REDIS_REPLY_STRING) {
        freeReplyObject(rep);
        return core_err_set(err, CORE_EX_NOINPUT, "tip: no such case");
    }
    snprintf(c->id, sizeof c->id, "%s", cid);
    copy_reply(c->pseudonym, sizeof c->pseudonym, rep->element[0]);
    copy_reply(c->state, sizeof c->state, rep->element[1]);
    copy_reply(c->thana, sizeof c->thana, rep->element[2]);
    copy_reply(c->district, sizeof c->district, rep->element[3]);
    copy_reply(c->routing, sizeof c->routing, rep->element[4]);
    copy_reply(c->lang, sizeof c->lang, rep->element[5]);
    copy_reply(c->number, sizeof c->number, rep->element[6]);
    copy_reply(c->reveal_key, sizeof c->reveal_key, rep->element[7]);
    c->created_ms = reply_i64(rep->element[8]);
    c->updated_ms = reply_i64(rep->element[9]);
    c->closed_ms = reply_i64(rep->element[10]);
    c->items = (long)reply_i64(rep->element[11]);
    c->replies = (long)reply_i64(rep->element[12]);
    freeReplyObject(rep);
    return 0;
}

int grp_tip_resolve_ref(struct core_redis *r, const char *ref, char cid[GRP_TIP_CASE_LEN],
                        struct core_err *err)
{
    char p[GRP_TIP_PSEUDONYM_LEN];
    char code[8];
    redisReply *rep;

    cid[0] = '\0';
    if (ref == NULL || ref[0] == '\0')
        return core_err_set(err, CORE_EX_NOINPUT, "tip: no such case");
    if (grp_tip_is_case_id(ref)) {
        long long e;

        if (core_redis_cmdf(r, &rep, err, "EXISTS js:tip:{%s}", ref) != 0)
            return -1;
        e = core_redis_int(rep);
        freeReplyObject(rep);
        if (e != 1)
            return core_err_set(err, CORE_EX_NOINPUT, "tip: no such case");
        snprintf(cid, GRP_TIP_CASE_LEN, "%s", ref);
        return 0;
    }
    if (strlen(ref) > 64 || !grp_tip_pseudonym_scan(ref, strlen(ref), p))
        return core_err_set(err, CORE_EX_NOINPUT, "tip: no such case");
    compact(p, code);
    if (core_redis_cmdf(r, &rep, err, "GET js:tip:ps:%s", code) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_STRING && grp_tip_is_case_id(rep->str))
        snprintf(cid, GRP_TIP_CASE_LEN, "%s", rep->str);
    freeReplyObject(rep);
    if (cid[0] == '\0')
        return core_err_set(err, CORE_EX_NOINPUT, "tip: no such case");
    return 0;
}

/* ======================= the routing record ======================= */

/* The tipster's member id from the routing record. */
static int relay_mid(struct grp_tip *t, struct core_redis *r, const char *cid,
                     char mid[CRY_MID_LEN], struct core_err *err)
{
    char key[80];
    redisReply *rep;
    unsigned char *plain;
    size_t len = 0;
    json_t *j;
    const char *m;
    int rc = -1;

    mid[0] = '\0';
    case_key(cid, ":rl", key, sizeof key);
    if (core_redis_cmdf(r, &rep, err, "GET %s", key) != 0)
        return -1;
    if (rep->type != REDIS_REPLY_STRING) {
        freeReplyObject(rep);
        return core_err_set(err, CORE_EX_NOINPUT,
                            "tip: case %s has no routing record (closed long ago)", cid);
    }
    plain = unseal(t, cid, "rl", rep->str, rep->len, &len, err);
    freeReplyObject(rep);
    if (plain == NULL)
        return -1;
    j = json_loadb((const char *)plain, len, 0, NULL);
    m = json_string_value(json_object_get(j, "mid"));
    if (m != NULL && cry_identity_is_mid(m)) {
        memcpy(mid, m, CRY_MID_LEN);
        rc = 0;
    } else {
        core_err_set(err, CORE_EX_DATAERR, "tip: case %s: routing record is malformed", cid);
    }
    json_decref(j);
    wipe_free(plain, len);
    return rc;
}

int grp_tip_resolve_recipient(void *ud, struct core_redis *r, const char *rcpt,
                              char mid[CRY_MID_LEN], struct core_err *err)
{
    struct grp_tip *t = ud;
    size_t pl = strlen(GRP_TIP_RCPT_PREFIX);
    char m[CRY_MID_LEN];
    struct grp_member mem;

    if (rcpt == NULL || strncmp(rcpt, GRP_TIP_RCPT_PREFIX, pl) != 0 ||
        !grp_tip_is_case_id(rcpt + pl))
        return core_err_set(err, CORE_EX_NOINPUT, "tip: not a tip recipient");
    if (relay_mid(t, r, rcpt + pl, m, err) != 0)
        return -1;
    /* follow a merge of the tipster's member record */
    if (grp_member_load(r, m, &mem, err) != 0) {
        sodium_memzero(m, sizeof m);
        return -1;
    }
    if (cry_identity_is_mid(mem.merged_into))
        memcpy(m, mem.merged_into, CRY_MID_LEN);
    memcpy(mid, m, CRY_MID_LEN);
    sodium_memzero(m, sizeof m);
    return 0;
}

/* Is `mid` the tipster of `cid` (directly, or through a merge)? */
static int is_owner(struct grp_tip *t, struct core_redis *r, const char *cid, const char *mid,
                    int *yes, struct core_err *err)
{
    char m[CRY_MID_LEN];
    struct grp_member mem;

    *yes = 0;
    if (!cry_identity_is_mid(mid))
        return 0;
    if (relay_mid(t, r, cid, m, err) != 0)
        return err->code == CORE_EX_NOINPUT || err->code == CORE_EX_DATAERR ? 0 : -1;
    if (sodium_memcmp(m, mid, CRY_MID_LEN - 1) == 0) {
        *yes = 1;
    } else {
        if (grp_member_load(r, m, &mem, err) != 0) {
            sodium_memzero(m, sizeof m);
            return -1;
        }
        *yes = strlen(mem.merged_into) == CRY_MID_LEN - 1 &&
               sodium_memcmp(mem.merged_into, mid, CRY_MID_LEN - 1) == 0;
    }
    sodium_memzero(m, sizeof m);
    return 0;
}

/* ======================= sessions ======================= */

static void session_key(const struct grp_tip *t, const char *mid, char *out, size_t n,
                        char hex[2 * SESSION_HASH_BYTES + 1])
{
    unsigned char h[SESSION_HASH_BYTES];

    crypto_generichash(h, sizeof h, (const unsigned char *)mid, strlen(mid), t->skey,
                       CRY_KEYBYTES);
    core_hex(hex, h, sizeof h);
    snprintf(out, n, "js:tip:ss:%s", hex);
}

static int session_set(struct grp_tip *t, struct core_redis *r, const char *mid, const char *cid,
                       struct core_err *err)
{
    char key[80];
    char hex[2 * SESSION_HASH_BYTES + 1];
    char ttl[16];
    unsigned char *s;
    size_t sl = 0;
    int rc;

    session_key(t, mid, key, sizeof key, hex);
    s = seal(t, hex, "ss", cid, strlen(cid), &sl, err);
    if (s == NULL)
        return -1;
    snprintf(ttl, sizeof ttl, "%d", t->cfg->tip_session_idle_s);
    rc = core_redis_cmdf(r, NULL, err, "SET %s %b EX %s", key, s, sl, ttl);
    free(s);
    return rc;
}

int grp_tip_session_get(struct grp_tip *t, struct core_redis *r, const char *mid,
                        char cid[GRP_TIP_CASE_LEN], int *found, struct core_err *err)
{
    char key[80];
    char hex[2 * SESSION_HASH_BYTES + 1];
    redisReply *rep;
    unsigned char *p;
    size_t len = 0;

    *found = 0;
    cid[0] = '\0';
    if (!cry_identity_is_mid(mid))
        return 0;
    session_key(t, mid, key, sizeof key, hex);
    if (core_redis_cmdf(r, &rep, err, "GET %s", key) != 0)
        return -1;
    if (rep->type != REDIS_REPLY_STRING) {
        freeReplyObject(rep);
        return 0;
    }
    p = unseal(t, hex, "ss", rep->str, rep->len, &len, err);
    freeReplyObject(rep);
    if (p == NULL)
        return 0; /* damaged: no session */
    if (len == GRP_TIP_CASE_LEN - 1 && grp_tip_is_case_id((const char *)p)) {
        memcpy(cid, p, GRP_TIP_CASE_LEN);
        *found = 1;
    }
    wipe_free(p, len);
    return 0;
}

int grp_tip_session_end(struct grp_tip *t, struct core_redis *r, const char *mid,
                        struct core_err *err)
{
    char key[80];
    char hex[2 * SESSION_HASH_BYTES + 1];

    if (!cry_identity_is_mid(mid))
        return 0;
    session_key(t, mid, key, sizeof key, hex);
    return core_redis_cmdf(r, NULL, err, "DEL %s", key);
}

/* Keep the session of `mid` alive when it is on case `cid`. */
static void session_touch(struct grp_tip *t, struct core_redis *r, const char *mid,
                          const char *cid)
{
    struct core_err err;
    char cur[GRP_TIP_CASE_LEN];
    int found = 0;

    if (grp_tip_session_get(t, r, mid, cur, &found, &err) == 0 && found &&
        strcmp(cur, cid) == 0)
        session_set(t, r, mid, cid, &err);
}

/* ======================= opening a case ======================= */

/* Append `s` as a JSON string to a fixed buffer; -1 when it does not fit. */
static int put_json_str(char *buf, size_t cap, size_t *pos, const char *s)
{
    size_t p = *pos;

    if (p + 1 >= cap)
        return -1;
    buf[p++] = '"';
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (p + 7 >= cap)
            return -1;
        if (c == '"' || c == '\\') {
            buf[p++] = '\\';
            buf[p++] = (char)c;
        } else if (c < 0x20) {
            p += (size_t)snprintf(buf + p, cap - p, "\\u%04x", c);
        } else {
            buf[p++] = (char)c;
        }
    }
    if (p + 1 >= cap)
        return -1;
    buf[p++] = '"';
    *pos = p;
    return 0;
}

/*
 * The identity sealed to the reveal key: wa_id, BSUID and first-seen time of
 * member `mid`, and the profile name the tip's message carried (`name`, may
 * be NULL: the registry never stores names, so this escrow is the only place
 * a name is kept), bound to the case id. Built in locked memory, never
 * through jansson (its heap is not wiped).
 */
static unsigned char *sealed_identity(struct grp_tip *t, struct core_redis *r, const char *cid,
                                      const char *mid, const char *name,
                                      const struct cry_reveal_meta *rm, size_t *out_len,
                                      struct core_err *err)
{
    struct cry_member_pii *pii = NULL;
    char *nm;
    char *buf;
    size_t pos = 0;
    size_t cap = IDENTITY_MAX;
    unsigned char *out = NULL;
    int ok;

    if (cry_identity_open(t->ident, r, mid, &pii, err) != 0)
        return NULL;
    buf = sodium_malloc(cap);
    nm = sodium_malloc(CRY_NAME_MAX + 1);
    if (buf == NULL || nm == NULL)
        abort();
    cry_identity_name_cut(nm, name != NULL ? name : "");
    pos = (size_t)snprintf(buf, cap, "{\"v\":1,\"case\":\"%s\",\"wa\":", cid);
    ok = put_json_str(buf, cap, &pos, pii->wa_id) == 0;
    if (ok && pos + 8 < cap) {
        memcpy(buf + pos, ",\"uid\":", 7);
        pos += 7;
        ok = put_json_str(buf, cap, &pos, pii->user_id) == 0;
    }
    if (ok && pos + 8 < cap) {
        memcpy(buf + pos, ",\"name\":", 8);
        pos += 8;
        ok = put_json_str(buf, cap, &pos, nm) == 0;
    }
    if (ok) {
        int w = snprintf(buf + pos, cap - pos, ",\"member_since\":%lld,\"opened_ms\":%lld}",
                         (long long)pii->created, (long long)now_ms());

        ok = w > 0 && (size_t)w < cap - pos;
        pos += ok ? (size_t)w : 0;
    }
    cry_member_pii_free(pii);
    sodium_free(nm); /* wipes */
    if (!ok) {
        core_err_set(err, CORE_EX_SOFTWARE, "tip: identity record does not fit");
    } else {
        size_t ocap = cry_reveal_sealed_size(pos);

        out = core_malloc(ocap);
        if (cry_reveal_seal(rm->pk, buf, pos, out, ocap, out_len, err) != 0) {
            free(out);
            out = NULL;
        }
    }
    sodium_free(buf);
    return out;
}

/* Walk from `code` up to a thana (and its district). */
static int route(struct core_redis *r, const char *code, char th[GRP_CODE_MAX + 1],
                 char dt[GRP_CODE_MAX + 1], struct core_err *err)
{
    char cur[GRP_CODE_MAX + 1];

    th[0] = dt[0] = '\0';
    if (code == NULL || code[0] == '\0' || !grp_code_ok(code, strlen(code)))
        return 0;
    snprintf(cur, sizeof cur, "%s", code);
    for (int depth = 0; depth < 6 && cur[0] != '\0'; depth++) {
        struct grp_unit u;
        int found = grp_unit_get(r, cur, &u, err);

        if (found < 0)
            return -1;
        if (found == 0)
            return 0;
        if (u.kind == GRP_THANA) {
            snprintf(th, GRP_CODE_MAX + 1, "%s", u.code);
            snprintf(dt, GRP_CODE_MAX + 1, "%s", u.parent);
            grp_unit_cleanup(&u);
            return 0;
        }
        if (u.kind == GRP_DISTRICT) {
            snprintf(dt, GRP_CODE_MAX + 1, "%s", u.code);
            grp_unit_cleanup(&u);
            return 0;
        }
        if (u.kind == GRP_STATE) {
            grp_unit_cleanup(&u);
            return 0;
        }
        snprintf(cur, sizeof cur, "%s", u.parent);
        grp_unit_cleanup(&u);
    }
    return 0;
}

/* KEYS[1] case hash, KEYS[2] routing record. ARGV[1] sealed routing record,
 * then field/value pairs. Creates the case once: returns 1, or 0 if it was. */
static struct core_redis_script create_script = {
    "tip_create",
    "if redis.call('HEXISTS', KEYS[1], 'ct') == 1 then return 0 end\n"
    "redis.call('HSET', KEYS[1], unpack(ARGV, 2))\n"
    "redis.call('SET', KEYS[2], ARGV[1])\n"
    "return 1\n",
    ""};

static int is_digits(const char *s, size_t max)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return 1;
}

int grp_tip_open_case(struct grp_tip *t, struct gw_router_ctx *ctx, const struct gw_event *ev,
                      const char *unit, struct grp_tip_case *out, int *created,
                      struct core_err *err)
{
    struct core_redis *r = ctx->redis;
    struct cry_reveal_meta rm;
    char cid[GRP_TIP_CASE_LEN] = "";
    char pseudo[GRP_TIP_PSEUDONYM_LEN] = "";
    char th[GRP_CODE_MAX + 1], dt[GRP_CODE_MAX + 1];
    char g[GRP_CODE_MAX + 1] = "";
    char lang[4] = "hi";
    char key[80], rkey[80], oe[80];
    char ct[24], relay_plain[80];
    const char *number;
    const char *routing;
    unsigned char *si = NULL;
    unsigned char *rl = NULL;
    size_t si_len = 0, rl_len = 0;
    redisReply *rep;
    int made = 0;
    int rc = -1;

    if (created != NULL)
        *created = 0;
    if (!cry_identity_is_mid(ctx->member_id))
        return core_err_set(err, CORE_EX_NOINPUT, "tip: the sender is not a member");
    if (grp_tip_reveal_meta(t, &rm, err) != 0)
        return -1;
    /* one case per TIP event, whatever happens to this call */
    snprintf(oe, sizeof oe, "js:tip:oe:%s", ctx->event_key);
    if (core_redis_cmdf(r, &rep, err, "GET %s", oe) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_STRING && grp_tip_is_case_id(rep->str))
        snprintf(cid, sizeof cid, "%s", rep->str);
    freeReplyObject(rep);
    if (cid[0] == '\0') {
        unsigned char rnd[16];

        randombytes_buf(rnd, sizeof rnd);
        core_hex(cid, rnd, sizeof rnd);
        if (core_redis_cmdf(r, &rep, err, "SET %s %s NX EX %d", oe, cid, EVENT_TTL_S) != 0)
            return -1;
        if (rep->type != REDIS_REPLY_STATUS) {
            freeReplyObject(rep);
            if (core_redis_cmdf(r, &rep, err, "GET %s", oe) != 0)
                return -1;
            if (rep->type == REDIS_REPLY_STRING && grp_tip_is_case_id(rep->str))
                snprintf(cid, sizeof cid, "%s", rep->str);
        }
        freeReplyObject(rep);
    }
    case_key(cid, "", key, sizeof key);
    case_key(cid, ":rl", rkey, sizeof rkey);
    if (grp_tip_load(r, cid, out, err) == 0) {
        /* a replay: the case exists */
        session_set(t, r, ctx->member_id, cid, err);
        return 0;
    }
    if (err->code != CORE_EX_NOINPUT)
        return -1;

    /* a pseudonym nobody has (a replay after a crash finds its own) */
    if (core_redis_cmdf(r, &rep, err, "HGET %s ps", key) != 0)
        return -1;
    copy_reply(pseudo, sizeof pseudo, rep);
    freeReplyObject(rep);
    for (int i = 0; pseudo[0] == '\0' && i < OPEN_ATTEMPTS; i++) {
        char cand[GRP_TIP_PSEUDONYM_LEN];
        char code[8];

        if (t->pseudonym_fn != NULL)
            t->pseudonym_fn(cand);
        else
            grp_tip_pseudonym_new(cand);
        compact(cand, code);
        if (core_redis_cmdf(r, &rep, err, "SET js:tip:ps:%s %s NX", code, cid) != 0)
            return -1;
        if (rep->type == REDIS_REPLY_STATUS)
            memcpy(pseudo, cand, sizeof cand);
        freeReplyObject(rep);
    }
    if (pseudo[0] == '\0')
        return core_err_set(err, CORE_EX_TEMPFAIL, "tip: no free pseudonym found");

    /* routing: the citizen's choice, else the member's locality */
    {
        struct grp_member mem;

        if (grp_member_load(r, ctx->member_id, &mem, err) != 0)
            return -1;
        snprintf(g, sizeof g, "%s", mem.group);
        if (mem.lang == GRP_LANG_EN)
            snprintf(lang, sizeof lang, "en");
    }
    if (route(r, unit != NULL && unit[0] != '\0' ? unit : g, th, dt, err) != 0)
        return -1;
    routing = th[0] == '\0' && dt[0] == '\0' ? "hq"
              : unit != NULL && unit[0] != '\0' ? "chosen"
                                                 : "locality";
    number = ev != NULL && is_digits(ev->phone_number_id, 30)
                 ? ev->phone_number_id
                 : (t->cfg->n_phone_numbers > 0 ? t->cfg->phone_numbers[0] : "");

    /* the two protected forms of the identity */
    si = sealed_identity(t, r, cid, ctx->member_id, ev != NULL ? ev->name : NULL, &rm, &si_len,
                         err);
    if (si == NULL)
        goto out;
    {
        /* crypto_box_seal is anonymous: anyone with the public key could
         * write a sealed box. Wrapping it in the vault (bound to the case)
         * makes a box planted by a Redis writer fail to open. */
        size_t wl = 0;
        unsigned char *w = seal(t, cid, "si", si, si_len, &wl, err);

        free(si);
        si = w;
        si_len = wl;
        if (si == NULL)
            goto out;
    }
    snprintf(relay_plain, sizeof relay_plain, "{\"v\":1,\"mid\":\"%s\"}", ctx->member_id);
    rl = seal(t, cid, "rl", relay_plain, strlen(relay_plain), &rl_len, err);
    sodium_memzero(relay_plain, sizeof relay_plain);
    if (rl == NULL)
        goto out;
    snprintf(ct, sizeof ct, "%lld", (long long)now_ms());
    {
        const char *argv[32];
        size_t lens[32];
        int n = 0;

        argv[n] = key, lens[n++] = strlen(key);
        argv[n] = rkey, lens[n++] = strlen(rkey);
        argv[n] = (const char *)rl, lens[n++] = rl_len;
#define KV(k, v) (argv[n] = (k), lens[n] = strlen(k), n++, argv[n] = (v), lens[n] = strlen(v), n++)
        KV("ps", pseudo);
        KV("st", "open");
        KV("th", th);
        KV("dt", dt);
        KV("rt", routing);
        KV("lg", lang);
        KV("pn", number);
        KV("ct", ct);
        KV("ut", ct);
        KV("ni", "0");
        KV("nr", "0");
        KV("rk", rm.id);
#undef KV
        argv[n] = "si", lens[n++] = 2;
        argv[n] = (const char *)si, lens[n++] = si_len;
        if (core_redis_eval(r, &create_script, 2, n, argv, lens, &rep, err) != 0)
            goto out;
        made = core_redis_int(rep) == 1;
        freeReplyObject(rep);
    }
    if (core_redis_cmdf(r, NULL, err, "ZADD js:tip:all %s %s", ct, cid) != 0 ||
        session_set(t, r, ctx->member_id, cid, err) != 0)
        goto out;
    if (made) {
        char reason[160];

        snprintf(reason, sizeof reason, "routing %s thana %s district %s", routing,
                 th[0] ? th : "-", dt[0] ? dt : "-");
        audit(t, r, "system", "tip.case.open", cid, reason);
        core_metric_inc(&m_opened);
        core_log_info("tip", NULL, "tip case %s opened (%s)", cid, pseudo);
    }
    if (created != NULL)
        *created = made;
    rc = grp_tip_load(r, cid, out, err);
out:
    free(si);
    free(rl);
    return rc;
}

/* ======================= adding items ======================= */

/*
 * KEYS[1] case, KEYS[2] idempotency map. ARGV key, max items, now.
 * Returns {n, duplicate}; n = -1 no case, -2 full.
 */
static struct core_redis_script reserve_script = {
    "tip_reserve",
    "if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end\n"
    "local n = redis.call('HGET', KEYS[2], ARGV[1])\n"
    "if n then return {tonumber(n), 1} end\n"
    "local cur = tonumber(redis.call('HGET', KEYS[1], 'ni') or '0')\n"
    "if cur >= tonumber(ARGV[2]) then return {-2, 0} end\n"
    "n = redis.call('HINCRBY', KEYS[1], 'ni', 1)\n"
    "redis.call('HSET', KEYS[2], ARGV[1], n)\n"
    "redis.call('HSET', KEYS[1], 'ut', ARGV[3])\n"
    "return {n, 0}\n",
    ""};

static int reserve(struct grp_tip *t, struct core_redis *r, const char *cid, const char *idem,
                   long *n, int *dup, struct core_err *err)
{
    char key[80], ev[80], max[16], now[24];
    const char *argv[5];
    redisReply *rep;
    long long v;

    case_key(cid, "", key, sizeof key);
    case_key(cid, ":ev", ev, sizeof ev);
    snprintf(max, sizeof max, "%d", t->cfg->tip_max_items);
    snprintf(now, sizeof now, "%lld", (long long)now_ms());
    argv[0] = key;
    argv[1] = ev;
    argv[2] = idem;
    argv[3] = max;
    argv[4] = now;
    if (core_redis_eval(r, &reserve_script, 2, 5, argv, NULL, &rep, err) != 0)
        return -1;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
        freeReplyObject(rep);
        return core_err_set(err, CORE_EX_SOFTWARE, "tip: unexpected answer from Redis");
    }
    v = rep->element[0]->integer;
    *dup = rep->element[1]->integer == 1;
    freeReplyObject(rep);
    if (v == -1)
        return core_err_set(err, CORE_EX_NOINPUT, "tip: no such case");
    if (v == -2)
        return core_err_set(err, CORE_EX_DATAERR, "tip: case %s is full", cid);
    *n = (long)v;
    return 0;
}

/* Seal item `n` (JSON) and store it once. */
static int store_item(struct grp_tip *t, struct core_redis *r, const char *cid, long n,
                      json_t *item, struct core_err *err)
{
    char field[32], key[80], nf[24];
    char *text = json_dumps(item, JSON_COMPACT);
    unsigned char *s;
    size_t sl = 0;
    int rc;

    if (text == NULL)
        return core_err_set(err, CORE_EX_SOFTWARE, "tip: item is not serialisable");
    snprintf(field, sizeof field, "it:%ld", n);
    snprintf(nf, sizeof nf, "%ld", n);
    s = seal(t, cid, field, text, strlen(text), &sl, err);
    wipe_free(text, strlen(text));
    if (s == NULL)
        return -1;
    case_key(cid, ":it", key, sizeof key);
    rc = core_redis_cmdf(r, NULL, err, "HSETNX %s %s %b", key, nf, s, sl);
    free(s);
    return rc;
}

/* Copy at most GRP_TIP_TEXT_MAX bytes of `s`, cut on a UTF-8 boundary. */
static json_t *text_value(const char *s)
{
    size_t n = strlen(s);

    if (n > GRP_TIP_TEXT_MAX) {
        n = GRP_TIP_TEXT_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    return json_stringn_nocheck(s, n);
}

/* The item of event `ev`, or NULL when a tip does not keep that kind. */
static json_t *item_of(const struct gw_event *ev, long n, int *media)
{
    const char *type = ev->type != NULL ? ev->type : "";
    json_t *it;

    *media = 0;
    it = json_pack("{s:i,s:I,s:s}", "n", (int)n, "at", (json_int_t)now_ms(), "from", "tipster");
    if (ev->forwarded)
        json_object_set_new(it, "fwd", json_true());
    if (strcmp(type, "text") == 0 || strcmp(type, "interactive") == 0 ||
        strcmp(type, "button") == 0) {
        if (ev->text == NULL || ev->text[0] == '\0')
            goto skip;
        json_object_set_new(it, "type", json_string("text"));
        json_object_set_new(it, "text", text_value(ev->text));
    } else if (strcmp(type, "image") == 0 || strcmp(type, "video") == 0 ||
               strcmp(type, "audio") == 0 || strcmp(type, "document") == 0 ||
               strcmp(type, "sticker") == 0) {
        json_t *m;

        if (ev->media_id == NULL || ev->media_id[0] == '\0' || strlen(ev->media_id) > 200)
            goto skip;
        m = json_pack("{s:s}", "id", ev->media_id);
        if (ev->mime_type != NULL)
            json_object_set_new(m, "mime", json_stringn_nocheck(ev->mime_type,
                                                                strnlen(ev->mime_type, 100)));
        if (ev->filename != NULL)
            json_object_set_new(m, "file", text_value(ev->filename));
        if (ev->voice)
            json_object_set_new(m, "voice", json_true());
        json_object_set_new(it, "type", json_string(type));
        json_object_set_new(it, "media", m);
        if (ev->text != NULL && ev->text[0] != '\0')
            json_object_set_new(it, "caption", text_value(ev->text));
        *media = 1;
    } else if (strcmp(type, "location") == 0 && ev->has_location) {
        json_object_set_new(it, "type", json_string("location"));
        json_object_set_new(it, "lat", json_real(ev->latitude));
        json_object_set_new(it, "lon", json_real(ev->longitude));
        if (ev->location_name != NULL)
            json_object_set_new(it, "place", text_value(ev->location_name));
        if (ev->location_address != NULL)
            json_object_set_new(it, "address", text_value(ev->location_address));
    } else if (strcmp(type, "contacts") == 0) {
        json_object_set_new(it, "type", json_string("contacts"));
        json_object_set_new(it, "contacts", json_integer((json_int_t)ev->n_contacts));
    } else {
        goto skip;
    }
    return it;
skip:
    json_decref(it);
    return NULL;
}

static int reopen(struct grp_tip *t, struct core_redis *r, const char *cid, int *reopened,
                  struct core_err *err)
{
    char key[80], rkey[80];
    redisReply *rep;

    *reopened = 0;
    case_key(cid, "", key, sizeof key);
    case_key(cid, ":rl", rkey, sizeof rkey);
    if (core_redis_cmdf(r, &rep, err, "HGET %s st", key) != 0)
        return -1;
    *reopened = rep->type == REDIS_REPLY_STRING && strcmp(rep->str, "closed") == 0;
    freeReplyObject(rep);
    if (!*reopened)
        return 0;
    if (core_redis_cmdf(r, NULL, err, "HSET %s st open", key) != 0 ||
        core_redis_cmdf(r, NULL, err, "PERSIST %s", rkey) != 0)
        return -1;
    audit(t, r, "system", "tip.case.reopen", cid, "the tipster added information");
    return 0;
}

int grp_tip_add(struct grp_tip *t, struct gw_router_ctx *ctx, const struct gw_event *ev,
                const char *cid, struct grp_tip_added *out, struct core_err *err)
{
    struct core_redis *r = ctx->redis;
    char idem[GW_EVENT_KEY_HEX + 8];
    char key[80];
    json_t *item;
    int owner = 0;
    int media = 0;
    long n = 0;
    int dup = 0;
    int rc;

    memset(out, 0, sizeof out[0]);
    if (!grp_tip_is_case_id(cid))
        return core_err_set(err, CORE_EX_NOINPUT, "tip: no such case");
    if (is_owner(t, r, cid, ctx->member_id, &owner, err) != 0)
        return -1;
    if (!owner)
        return core_err_set(err, CORE_EX_NOPERM,
                            "tip: the sender is not the tipster of this case");
    item = item_of(ev, 0, &media);
    if (item == NULL)
        return 0; /* not kept */
    snprintf(idem, sizeof idem, "ev:%s", ctx->event_key);
    if (reserve(t, r, cid, idem, &n, &dup, err) != 0) {
        json_decref(item);
        return -1;
    }
    json_object_set_new(item, "n", json_integer(n));
    rc = store_item(t, r, cid, n, item, err);
    json_decref(item);
    if (rc != 0)
        return -1;
    if (media) {
        char field[24], state[24] = "";

        case_key(cid, "", key, sizeof key);
        snprintf(field, sizeof field, "m%ld", n);
        if (grp_tip_media_state(r, cid, n, state, sizeof state, err) != 0)
            return -1;
        if (state[0] == '\0' || strcmp(state, "pending") == 0) {
            char nf[24];

            snprintf(nf, sizeof nf, "%ld", n);
            if (core_redis_cmdf(r, NULL, err, "HSETNX %s %s pending", key, field) != 0 ||
                core_redis_cmdf(r, NULL, err, "XADD js:tip:mq MAXLEN ~ 100000 * c %s n %s", cid,
                                nf) != 0)
                return -1;
            out->media = 1;
        }
    }
    if (reopen(t, r, cid, &out->reopened, err) != 0)
        return -1;
    {
        char now[24];

        snprintf(now, sizeof now, "%lld", (long long)now_ms());
        core_redis_cmdf(r, NULL, err, "ZADD js:tip:all %s %s", now, cid);
    }
    session_touch(t, r, ctx->member_id, cid);
    out->n = n;
    out->duplicate = dup;
    out->kept = 1;
    if (!dup) {
        core_metric_inc(&m_items);
        core_log_debug("tip", NULL, "tip case %s: item %ld added", cid, n);
    }
    return 0;
}

/* ======================= finding a case (tipster) ======================= */

int grp_tip_find_by_pseudonym(struct grp_tip *t, struct core_redis *r, const char *text,
                              const char *mid, char cid[GRP_TIP_CASE_LEN], int *found,
                              struct core_err *err)
{
    char p[GRP_TIP_PSEUDONYM_LEN];
    char code[8];
    char c[GRP_TIP_CASE_LEN] = "";
    redisReply *rep;
    int yes = 0;

    *found = 0;
    cid[0] = '\0';
    if (text == NULL || !grp_tip_pseudonym_scan(text, strlen(text), p))
        return 0;
    compact(p, code);
    if (core_redis_cmdf(r, &rep, err, "GET js:tip:ps:%s", code) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_STRING && grp_tip_is_case_id(rep->str))
        snprintf(c, sizeof c, "%s", rep->str);
    freeReplyObject(rep);
    if (c[0] == '\0')
        return 0;
    if (is_owner(t, r, c, mid, &yes, err) != 0)
        return -1;
    if (yes) {
        memcpy(cid, c, sizeof c);
        *found = 1;
    }
    return 0;
}

int grp_tip_find_by_context(struct grp_tip *t, struct core_redis *r, const char *context_wamid,
                            const char *mid, char cid[GRP_TIP_CASE_LEN], int *found,
                            struct core_err *err)
{
    char wm[GW_MAX_ID_LEN + 4];
    char wh[GW_KEY_HASH_LEN];
    char kh[GW_KEY_HASH_LEN] = "";
    char c[GRP_TIP_CASE_LEN] = "";
    redisReply *rep;
    int yes = 0;

    *found = 0;
    cid[0] = '\0';
    if (context_wamid == NULL || context_wamid[0] == '\0' ||
        strlen(context_wamid) >= GW_MAX_ID_LEN)
        return 0;
    snprintf(wm, sizeof wm, "w|%s", context_wamid);
    gw_outbox_key_hash(wm, wh);
    if (core_redis_cmdf(r, &rep, err, "GET js:wamid:%s", wh) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_STRING && rep->len >= GW_KEY_HASH_LEN - 1) {
        memcpy(kh, rep->str, GW_KEY_HASH_LEN - 1);
        kh[GW_KEY_HASH_LEN - 1] = '\0';
    }
    freeReplyObject(rep);
    if (kh[0] == '\0')
        return 0;
    if (core_redis_cmdf(r, &rep, err, "GET js:tip:kh:%s", kh) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_STRING && grp_tip_is_case_id(rep->str))
        snprintf(c, sizeof c, "%s", rep->str);
    freeReplyObject(rep);
    if (c[0] == '\0')
        return 0;
    if (is_owner(t, r, c, mid, &yes, err) != 0)
        return -1;
    if (yes) {
        memcpy(cid, c, sizeof c);
        *found = 1;
    }
    return 0;
}

/* ======================= items, opened ======================= */

json_t *grp_tip_item_open(struct grp_tip *t, struct core_redis *r, const char *cid, long n,
                          struct core_err *err)
{
    char key[80], field[32];
    redisReply *rep;
    unsigned char *p;
    size_t len = 0;
    json_t *j;

    case_key(cid, ":it", key, sizeof key);
    if (core_redis_cmdf(r, &rep, err, "HGET %s %ld", key, n) != 0)
        return NULL;
    if (rep->type != REDIS_REPLY_STRING) {
        freeReplyObject(rep);
        core_err_set(err, CORE_EX_NOINPUT, "tip: case %s has no item %ld", cid, n);
        return NULL;
    }
    snprintf(field, sizeof field, "it:%ld", n);
    p = unseal(t, cid, field, rep->str, rep->len, &len, err);
    freeReplyObject(rep);
    if (p == NULL)
        return NULL;
    j = json_loadb((const char *)p, len, 0, NULL);
    wipe_free(p, len);
    if (!json_is_object(j)) {
        json_decref(j);
        core_err_set(err, CORE_EX_DATAERR, "tip: case %s: item %ld is malformed", cid, n);
        return NULL;
    }
    return j;
}

/* Every item of a case, opened, ordered by number (new reference). */
static json_t *all_items(struct grp_tip *t, struct core_redis *r, const char *cid,
                         struct core_err *err)
{
    char key[80];
    redisReply *rep;
    json_t *arr;
    long max = 0;

    case_key(cid, ":it", key, sizeof key);
    if (core_redis_cmdf(r, &rep, err, "HGETALL %s", key) != 0)
        return NULL;
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        int64_t n = 0;

        if (core_parse_i64(rep->element[i]->str, &n) == 0 && n > max)
            max = (long)n;
    }
    arr = json_array();
    for (long want = 1; want <= max; want++) {
        for (size_t i = 0; i + 1 < rep->elements; i += 2) {
            int64_t n = 0;
            char field[32];
            unsigned char *p;
            size_t len = 0;
            json_t *j;
            struct core_err e;

            if (core_parse_i64(rep->element[i]->str, &n) != 0 || n != want)
                continue;
            snprintf(field, sizeof field, "it:%ld", want);
            p = unseal(t, cid, field, rep->element[i + 1]->str, rep->element[i + 1]->len, &len,
                       &e);
            if (p == NULL) {
                core_log_warn("tip", NULL, "case %s: item %ld does not open", cid, want);
                j = json_pack("{s:i,s:s}", "n", (int)want, "type", "damaged");
            } else {
                j = json_loadb((const char *)p, len, 0, NULL);
                wipe_free(p, len);
            }
            if (json_is_object(j))
                json_array_append_new(arr, j);
            else
                json_decref(j);
            break;
        }
    }
    freeReplyObject(rep);
    return arr;
}

/* ======================= the tipster's status ======================= */

int grp_tip_status_text(struct grp_tip *t, struct core_redis *r, const char *cid,
                        const char *lang, struct core_buf *out, struct core_err *err)
{
    struct grp_tip_case c;
    json_t *items;
    json_t *it;
    size_t i;
    long from_tipster = 0;
    long replies = 0;
    char count[24];
    const char *state;
    const char *args[3];

    if (grp_tip_load(r, cid, &c, err) != 0)
        return -1;
    items = all_items(t, r, cid, err);
    if (items == NULL)
        return -1;
    json_array_foreach(items, i, it)
    {
        const char *from = json_string_value(json_object_get(it, "from"));

        if (from != NULL && strcmp(from, "tipster") == 0)
            from_tipster++;
        else if (from != NULL && strcmp(from, "officer") == 0)
            replies++;
    }
    snprintf(count, sizeof count, "%ld", from_tipster);
    state = grp_tiptext_get(lang, strcmp(c.state, "closed") == 0 ? "tip.status_closed"
                                                                  : "tip.status_open");
    args[0] = c.pseudonym;
    args[1] = count;
    args[2] = state;
    grp_tiptext_format(lang, "tip.status", args, 3, out);
    core_buf_puts(out, "\n\n");
    if (replies == 0) {
        core_buf_puts(out, grp_tiptext_get(lang, "tip.status_no_reply"));
    } else {
        long skip = replies > STATUS_REPLIES ? replies - STATUS_REPLIES : 0;

        core_buf_puts(out, grp_tiptext_get(lang, "tip.status_replies"));
        json_array_foreach(items, i, it)
        {
            const char *from = json_string_value(json_object_get(it, "from"));
            const char *text = json_string_value(json_object_get(it, "text"));

            if (from == NULL || strcmp(from, "officer") != 0 || text == NULL)
                continue;
            if (skip > 0) {
                skip--;
                continue;
            }
            core_buf_puts(out, "\n- ");
            core_buf_puts(out, text);
        }
    }
    json_decref(items);
    return 0;
}

/* ======================= officers ======================= */

void grp_tip_viewer_operator(struct grp_tip_viewer *v, const char *actor)
{
    memset(v, 0, sizeof *v);
    v->hq = 1;
    snprintf(v->actor, sizeof v->actor, "%s", actor != NULL ? actor : "operator");
}

int grp_tip_viewer_officer(struct core_redis *r, const char *mid, struct grp_tip_viewer *v,
                           struct core_err *err)
{
    redisReply *rep;
    char role[16] = "";
    char unit[GRP_CODE_MAX + 1] = "";

    memset(v, 0, sizeof *v);
    if (!cry_identity_is_mid(mid))
        return core_err_set(err, CORE_EX_NOPERM, "tip: not an officer");
    if (core_redis_cmdf(r, &rep, err, "HMGET js:off:{%s} role unit", mid) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
        copy_reply(role, sizeof role, rep->element[0]);
        copy_reply(unit, sizeof unit, rep->element[1]);
    }
    freeReplyObject(rep);
    snprintf(v->actor, sizeof v->actor, "off:%s", mid);
    snprintf(v->officer, sizeof v->officer, "%s", mid);
    if (strcmp(role, "hq") == 0) {
        v->hq = 1;
    } else if (strcmp(role, "district") == 0 && unit[0] != '\0') {
        snprintf(v->district, sizeof v->district, "%s", unit);
    } else if (strcmp(role, "sho") == 0 && unit[0] != '\0') {
        snprintf(v->thana, sizeof v->thana, "%s", unit);
    } else {
        return core_err_set(err, CORE_EX_NOPERM,
                            "tip: this officer has no access to tips (SHO, district and HQ "
                            "officers have)");
    }
    return 0;
}

static int may_see(const struct grp_tip_viewer *v, const struct grp_tip_case *c)
{
    if (v->hq)
        return 1;
    if (v->district[0] != '\0' && strcmp(v->district, c->district) == 0)
        return 1;
    return v->thana[0] != '\0' && c->thana[0] != '\0' && strcmp(v->thana, c->thana) == 0;
}

int grp_tip_get(struct grp_tip *t, struct core_redis *r, const struct grp_tip_viewer *v,
                const char *ref, struct grp_tip_case *out, struct core_err *err)
{
    char cid[GRP_TIP_CASE_LEN];

    (void)t;
    if (grp_tip_resolve_ref(r, ref, cid, err) != 0 || grp_tip_load(r, cid, out, err) != 0)
        return -1;
    if (!may_see(v, out)) {
        core_metric_inc(&m_denied);
        core_log_warn("tip", NULL, "%s asked for tip case %s outside their jurisdiction",
                      v->actor, cid);
        memset(out, 0, sizeof *out);
        return core_err_set(err, CORE_EX_NOINPUT, "tip: no such case");
    }
    return 0;
}

static json_t *case_json(const struct grp_tip_case *c)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I}", "case", c->id,
                          "pseudonym", c->pseudonym, "state", c->state, "thana", c->thana,
                          "district", c->district, "routing", c->routing, "created_ms",
                          (json_int_t)c->created_ms, "updated_ms", (json_int_t)c->updated_ms,
                          "messages", (json_int_t)c->items, "replies", (json_int_t)c->replies);

    if (c->closed_ms > 0)
        json_object_set_new(o, "closed_ms", json_integer(c->closed_ms));
    json_object_set_new(o, "language", json_string(c->lang));
    return o;
}

/* The officer's form of an item: no media id, delivery state of replies. */
static json_t *view_item(struct core_redis *r, const char *cid, json_t *it, redisReply *meta)
{
    json_t *o = json_object();
    const char *k;
    json_t *v;
    long n = (long)json_integer_value(json_object_get(it, "n"));

    json_object_foreach(it, k, v)
    {
        if (strcmp(k, "media") == 0 || strcmp(k, "key") == 0)
            continue;
        json_object_set(o, k, v);
    }
    if (json_is_object(json_object_get(it, "media"))) {
        json_t *m = json_object_get(it, "media");
        json_t *mv = json_object();
        char f_state[24], f_size[24];
        char url[120];
        const char *state = "pending";
        int64_t size = -1;

        snprintf(f_state, sizeof f_state, "m%ld", n);
        snprintf(f_size, sizeof f_size, "ms%ld", n);
        for (size_t i = 0; meta != NULL && i + 1 < meta->elements; i += 2) {
            if (strcmp(meta->element[i]->str, f_state) == 0)
                state = meta->element[i + 1]->str;
            else if (strcmp(meta->element[i]->str, f_size) == 0)
                size = reply_i64(meta->element[i + 1]);
        }
        json_object_set_new(mv, "state", json_string(state));
        if (json_is_string(json_object_get(m, "mime")))
            json_object_set(mv, "mime", json_object_get(m, "mime"));
        if (json_is_string(json_object_get(m, "file")))
            json_object_set(mv, "file", json_object_get(m, "file"));
        if (json_is_true(json_object_get(m, "voice")))
            json_object_set_new(mv, "voice", json_true());
        if (size >= 0)
            json_object_set_new(mv, "size", json_integer(size));
        if (strcmp(state, "stored") == 0) {
            snprintf(url, sizeof url, "/api/tips/%s/media/%ld", cid, n);
            json_object_set_new(mv, "url", json_string(url));
        }
        json_object_set_new(o, "media", mv);
    }
    if (json_is_string(json_object_get(it, "key"))) {
        char st[32] = "queued";
        struct core_err e;

        gw_dispatch_state(r, json_string_value(json_object_get(it, "key")), NULL, st, sizeof st,
                          &e);
        json_object_set_new(o, "delivery", json_string(st));
    }
    return o;
}

json_t *grp_tip_view(struct grp_tip *t, struct core_redis *r, const struct grp_tip_viewer *v,
                     const char *ref, struct core_err *err)
{
    struct grp_tip_case c;
    char key[80];
    redisReply *meta = NULL;
    json_t *items;
    json_t *out;
    json_t *arr;
    json_t *it;
    size_t i;

    if (grp_tip_get(t, r, v, ref, &c, err) != 0)
        return NULL;
    items = all_items(t, r, c.id, err);
    if (items == NULL)
        return NULL;
    case_key(c.id, "", key, sizeof key);
    if (core_redis_cmdf(r, &meta, err, "HGETALL %s", key) != 0) {
        json_decref(items);
        return NULL;
    }
    out = case_json(&c);
    arr = json_array();
    json_array_foreach(items, i, it) json_array_append_new(arr, view_item(r, c.id, it, meta));
    json_object_set_new(out, "items", arr);
    freeReplyObject(meta);
    json_decref(items);
    audit(t, r, v->actor, "tip.case.view", c.id, NULL);
    return out;
}

json_t *grp_tip_list(struct grp_tip *t, struct core_redis *r, const struct grp_tip_viewer *v,
                     const char *state, size_t limit, struct core_err *err)
{
    redisReply *ids;
    json_t *arr = json_array();

    (void)t;
    if (core_redis_cmdf(r, &ids, err, "ZREVRANGE js:tip:all 0 %d", LIST_SCAN_MAX - 1) != 0) {
        json_decref(arr);
        return NULL;
    }
    for (size_t i = 0; i < ids->elements && json_array_size(arr) < limit; i++) {
        struct grp_tip_case c;
        struct core_err e;

        if (grp_tip_load(r, ids->element[i]->str, &c, &e) != 0)
            continue;
        if (!may_see(v, &c) || (state != NULL && strcmp(state, c.state) != 0))
            continue;
        json_array_append_new(arr, case_json(&c));
    }
    freeReplyObject(ids);
    return arr;
}

/* ======================= media ======================= */

int grp_tip_media_state(struct core_redis *r, const char *cid, long n, char *out, size_t cap,
                        struct core_err *err)
{
    char key[80];
    redisReply *rep;

    out[0] = '\0';
    case_key(cid, "", key, sizeof key);
    if (core_redis_cmdf(r, &rep, err, "HGET %s m%ld", key, n) != 0)
        return -1;
    copy_reply(out, cap, rep);
    freeReplyObject(rep);
    return 0;
}

int grp_tip_media_mark(struct core_redis *r, const char *cid, long n, const char *state,
                       struct core_err *err)
{
    char key[80];
    char field[24];

    case_key(cid, "", key, sizeof key);
    snprintf(field, sizeof field, "m%ld", n);
    return core_redis_cmdf(r, NULL, err, "HSET %s %s %s", key, field, state);
}

int grp_tip_media_store(struct grp_tip *t, struct core_redis *r, const char *cid, long n,
                        const unsigned char *data, size_t len, struct core_err *err)
{
    char key[80], mkey[80], field[24], sfield[24], size[24], sf[24];
    unsigned char *s;
    size_t sl = 0;
    int rc;

    snprintf(field, sizeof field, "md:%ld", n);
    s = seal(t, cid, field, data, len, &sl, err);
    if (s == NULL)
        return -1;
    case_key(cid, "", key, sizeof key);
    snprintf(mkey, sizeof mkey, "js:tip:{%s}:md:%ld", cid, n);
    snprintf(sfield, sizeof sfield, "m%ld", n);
    snprintf(sf, sizeof sf, "ms%ld", n);
    snprintf(size, sizeof size, "%zu", len);
    rc = core_redis_cmdf(r, NULL, err, "SET %s %b", mkey, s, sl);
    free(s);
    if (rc == 0)
        rc = core_redis_cmdf(r, NULL, err, "HSET %s %s stored %s %s", key, sfield, sf, size);
    return rc;
}

/* Types a browser may show inline without surprises; others download. */
static const char *safe_mime(const char *m)
{
    static const char *const ok[] = {"image/jpeg", "image/png",  "image/webp", "audio/ogg",
                                     "audio/mpeg", "audio/aac",  "audio/amr",  "audio/mp4",
                                     "video/mp4",  "video/3gpp", "application/pdf"};

    for (size_t i = 0; m != NULL && i < sizeof ok / sizeof ok[0]; i++) {
        if (strncmp(m, ok[i], strlen(ok[i])) == 0 &&
            (m[strlen(ok[i])] == '\0' || m[strlen(ok[i])] == ';'))
            return ok[i];
    }
    return "application/octet-stream";
}

int grp_tip_media(struct grp_tip *t, struct core_redis *r, const struct grp_tip_viewer *v,
                  const char *ref, long n, unsigned char **data, size_t *len, char mime[80],
                  struct core_err *err)
{
    struct grp_tip_case c;
    char mkey[80], field[24];
    redisReply *rep;
    json_t *it;
    char reason[32];

    *data = NULL;
    *len = 0;
    snprintf(mime, 80, "application/octet-stream");
    if (grp_tip_get(t, r, v, ref, &c, err) != 0)
        return -1;
    it = grp_tip_item_open(t, r, c.id, n, err);
    if (it == NULL)
        return -1;
    if (!json_is_object(json_object_get(it, "media"))) {
        json_decref(it);
        return core_err_set(err, CORE_EX_NOINPUT, "tip: item %ld is not media", n);
    }
    snprintf(mime, 80, "%s",
             safe_mime(json_string_value(json_object_get(json_object_get(it, "media"), "mime"))));
    json_decref(it);
    snprintf(mkey, sizeof mkey, "js:tip:{%s}:md:%ld", c.id, n);
    if (core_redis_cmdf(r, &rep, err, "GET %s", mkey) != 0)
        return -1;
    if (rep->type != REDIS_REPLY_STRING) {
        freeReplyObject(rep);
        return core_err_set(err, CORE_EX_NOINPUT, "tip: the media of item %ld is not stored",
                            n);
    }
    snprintf(field, sizeof field, "md:%ld", n);
    *data = unseal(t, c.id, field, rep->str, rep->len, len, err);
    freeReplyObject(rep);
    if (*data == NULL)
        return -1;
    snprintf(reason, sizeof reason, "item %ld", n);
    audit(t, r, v->actor, "tip.media.view", c.id, reason);
    return 0;
}

void grp_tip_media_release(unsigned char *data, size_t len)
{
    wipe_free(data, len);
}

int grp_tip_sealed_identity(struct grp_tip *t, struct core_redis *r, const char *cid,
                            unsigned char **data, size_t *len, struct core_err *err)
{
    char key[80];
    redisReply *rep;

    *data = NULL;
    *len = 0;
    case_key(cid, "", key, sizeof key);
    if (core_redis_cmdf(r, &rep, err, "HGET %s si", key) != 0)
        return -1;
    if (rep->type != REDIS_REPLY_STRING) {
        freeReplyObject(rep);
        return core_err_set(err, CORE_EX_NOINPUT, "tip: case %s has no sealed identity", cid);
    }
    *data = unseal(t, cid, "si", rep->str, rep->len, len, err);
    freeReplyObject(rep);
    if (*data == NULL)
        return core_err_set(err, CORE_EX_DATAERR,
                            "tip: case %s: the sealed identity was tampered with or moved", cid);
    return 0;
}

/* ======================= replies and closing ======================= */

static long utf8_len(const char *s)
{
    long n = 0;

    for (; *s != '\0'; s++) {
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    }
    return n;
}

static json_t *reply_message(const struct grp_tip_case *c, const char *text)
{
    struct core_buf b;
    const char *args[2] = {c->pseudonym, text};
    json_t *m;

    core_buf_init(&b, 0);
    grp_tiptext_format(c->lang, "tip.reply", args, 2, &b);
    m = json_pack("{s:s,s:{s:s,s:b}}", "type", "text", "text", "body", core_buf_str(&b),
                  "preview_url", 0);
    sodium_memzero(b.data, b.len);
    core_buf_cleanup(&b);
    return m;
}

static json_t *reply_template(const struct grp_tip *t, const struct grp_tip_case *c)
{
    struct core_buf b;
    const char *args[1] = {c->pseudonym};
    json_t *m;

    core_buf_init(&b, 0);
    grp_tiptext_format(c->lang, "tip.reply_notice", args, 1, &b);
    m = json_pack("{s:s,s:{s:s,s:{s:s},s:[{s:s,s:[{s:s,s:s}]}]}}", "type", "template",
                  "template", "name", t->cfg->tip_reply_template, "language", "code", c->lang,
                  "components", "type", "body", "parameters", "type", "text", "text",
                  core_buf_str(&b));
    core_buf_cleanup(&b);
    return m;
}

int grp_tip_reply(struct grp_tip *t, struct core_redis *r, const struct grp_tip_viewer *v,
                  const char *ref, const char *text, const char *key,
                  struct grp_tip_reply_result *out, struct core_err *err)
{
    struct grp_tip_case c;
    char idem[KEY_MAX];
    char rnd[CORE_REQ_ID_LEN];
    char kh[GW_KEY_HASH_LEN];
    json_t *item;
    json_t *msg = NULL;
    json_t *fb = NULL;
    struct gw_outmsg m;
    int rc;

    memset(out, 0, sizeof *out);
    if (text == NULL || text[0] == '\0' || strlen(text) > 4 * REPLY_MAX_CHARS ||
        utf8_len(text) > REPLY_MAX_CHARS)
        return core_err_set(err, CORE_EX_DATAERR, "tip: a reply is 1-%d characters",
                            REPLY_MAX_CHARS);
    if (key != NULL && (key[0] == '\0' || strlen(key) > 100))
        return core_err_set(err, CORE_EX_DATAERR, "tip: an idempotency key is 1-100 bytes");
    if (grp_tip_get(t, r, v, ref, &c, err) != 0)
        return -1;
    if (c.number[0] == '\0')
        return core_err_set(err, CORE_EX_CONFIG, "tip: no business number to send from");
    if (key == NULL) {
        core_req_id(rnd);
        key = rnd;
    }
    snprintf(idem, sizeof idem, "reply:%s", key);
    if (reserve(t, r, c.id, idem, &out->n, &out->duplicate, err) != 0)
        return -1;
    snprintf(out->key, sizeof out->key, "tip-reply:%s:%ld", c.id, out->n);
    item = json_pack("{s:i,s:I,s:s,s:s,s:s,s:s,s:s}", "n", (int)out->n, "at",
                     (json_int_t)now_ms(), "from", "officer", "by", v->actor, "type", "reply",
                     "text", text, "key", out->key);
    rc = store_item(t, r, c.id, out->n, item, err);
    json_decref(item);
    if (rc != 0)
        return -1;
    msg = reply_message(&c, text);
    fb = reply_template(t, &c);
    memset(&m, 0, sizeof m);
    {
        char rcpt[GRP_TIP_CASE_LEN + 8];

        snprintf(rcpt, sizeof rcpt, "%s%s", GRP_TIP_RCPT_PREFIX, c.id);
        m.key = out->key;
        m.number = c.number;
        m.lane = GW_LANE_REPLY;
        m.mid = rcpt;
        m.message = msg;
        m.fallback = fb;
        rc = gw_outbox_enqueue(r, t->keys, &m, NULL, err);
    }
    json_decref(msg);
    json_decref(fb);
    if (rc != 0)
        return -1;
    gw_outbox_key_hash(out->key, kh);
    core_redis_cmdf(r, NULL, err, "SET js:tip:kh:%s %s EX %d", kh, c.id, EVENT_TTL_S);
    if (!out->duplicate) {
        char key2[80], reason[40];

        case_key(c.id, "", key2, sizeof key2);
        core_redis_cmdf(r, NULL, err, "HINCRBY %s nr 1", key2);
        snprintf(reason, sizeof reason, "item %ld", out->n);
        audit(t, r, v->actor, "tip.reply", c.id, reason);
        core_metric_inc(&m_replies);
        core_log_info("tip", NULL, "tip case %s: reply %ld queued by %s", c.id, out->n,
                      v->actor);
    }
    return 0;
}

int grp_tip_close(struct grp_tip *t, struct core_redis *r, const struct grp_tip_viewer *v,
                  const char *ref, const char *reason, struct core_err *err)
{
    struct grp_tip_case c;
    char key[80], rkey[80], now[24], ttl[24];
    char why[CRY_AUDIT_FIELD_MAX];

    if (grp_tip_get(t, r, v, ref, &c, err) != 0)
        return -1;
    case_key(c.id, "", key, sizeof key);
    case_key(c.id, ":rl", rkey, sizeof rkey);
    snprintf(now, sizeof now, "%lld", (long long)now_ms());
    snprintf(ttl, sizeof ttl, "%lld", (long long)t->cfg->tip_relay_keep_days * 86400);
    if (core_redis_cmdf(r, NULL, err, "HSET %s st closed cl %s cr %s", key, now, v->actor) != 0 ||
        core_redis_cmdf(r, NULL, err, "EXPIRE %s %s", rkey, ttl) != 0)
        return -1;
    if (strcmp(c.state, "closed") != 0) {
        snprintf(why, sizeof why, "%s", reason != NULL ? reason : "");
        audit(t, r, v->actor, "tip.case.close", c.id, why[0] ? why : NULL);
        core_metric_inc(&m_closed);
    }
    return 0;
}

/* ======================= retention ======================= */

#define PURGE_PAGE 200

/* Delete every key of case `cid` (whose record says `ni` items and
 * pseudonym `ps`), the record itself last and its place in js:tip:all
 * after that: a crash in between leaves the case listed, so the next run
 * finishes it. */
static int purge_case(struct core_redis *r, const char *cid, long ni, const char *ps,
                      struct core_err *err)
{
    char key[96];
    redisReply *rep;

    for (const char *const *sfx = (const char *const[]){":it", ":ev", ":rl", NULL}; *sfx != NULL;
         sfx++) {
        case_key(cid, *sfx, key, sizeof key);
        if (core_redis_cmdf(r, NULL, err, "DEL %s", key) != 0)
            return -1;
    }
    for (long n = 1; n <= ni; n++) {
        snprintf(key, sizeof key, "js:tip:{%s}:md:%ld", cid, n);
        if (core_redis_cmdf(r, NULL, err, "DEL %s", key) != 0)
            return -1;
    }
    if (ps[0] != '\0' && grp_tip_pseudonym_scan(ps, strlen(ps), key)) {
        char code[8];
        int mine;

        compact(key, code);
        if (core_redis_cmdf(r, &rep, err, "GET js:tip:ps:%s", code) != 0)
            return -1;
        mine = rep->type == REDIS_REPLY_STRING && strcmp(rep->str, cid) == 0;
        freeReplyObject(rep);
        if (mine && core_redis_cmdf(r, NULL, err, "DEL js:tip:ps:%s", code) != 0)
            return -1;
    }
    case_key(cid, "", key, sizeof key);
    if (core_redis_cmdf(r, NULL, err, "DEL %s", key) != 0)
        return -1;
    return core_redis_cmdf(r, NULL, err, "ZREM js:tip:all %s", cid);
}

int grp_tip_purge(struct grp_tip *t, struct core_redis *r, int days, int dry_run,
                  const char *actor, struct grp_tip_purge_stats *st, struct core_err *err)
{
    int64_t now = now_ms();
    int64_t cutoff = now - (int64_t)days * 86400000;
    long skip = 0;

    memset(st, 0, sizeof *st);
    if (days < 1)
        return core_err_set(err, CORE_EX_USAGE, "tip: the retention must be at least one day");
    for (;;) {
        redisReply *ids;
        size_t got;

        /* js:tip:all is scored by the last update, which is never later than
         * the closing: every case closed before the cutoff is in this range */
        if (core_redis_cmdf(r, &ids, err, "ZRANGEBYSCORE js:tip:all -inf %lld LIMIT %ld %d",
                            (long long)cutoff, skip, PURGE_PAGE) != 0)
            return -1;
        got = ids->type == REDIS_REPLY_ARRAY ? ids->elements : 0;
        for (size_t i = 0; i < got; i++) {
            const char *cid = ids->element[i]->str;
            char key[80], state[GRP_TIP_STATE_LEN] = "", ps[GRP_TIP_PSEUDONYM_LEN] = "";
            int64_t cl = 0, ni = 0;
            redisReply *rep;
            int gone;

            if (ids->element[i]->type != REDIS_REPLY_STRING || !grp_tip_is_case_id(cid)) {
                skip++;
                continue;
            }
            case_key(cid, "", key, sizeof key);
            if (core_redis_cmdf(r, &rep, err, "HMGET %s st cl ni ps", key) != 0) {
                freeReplyObject(ids);
                return -1;
            }
            gone = rep->element[0]->type != REDIS_REPLY_STRING;
            copy_reply(state, sizeof state, rep->element[0]);
            if (rep->element[1]->type == REDIS_REPLY_STRING)
                core_parse_i64(rep->element[1]->str, &cl);
            if (rep->element[2]->type == REDIS_REPLY_STRING)
                core_parse_i64(rep->element[2]->str, &ni);
            copy_reply(ps, sizeof ps, rep->element[3]);
            freeReplyObject(rep);
            if (!gone && (strcmp(state, "closed") != 0 || cl <= 0 || cl > cutoff)) {
                if (strcmp(state, "closed") != 0)
                    st->open_old++;
                skip++;
                continue;
            }
            if (dry_run) {
                st->purged++;
                skip++;
                continue;
            }
            if (!gone && t->audit != NULL) {
                char why[96];

                /* audited before anything is deleted */
                snprintf(why, sizeof why, "retention: closed %lld days ago, %lld items",
                         (long long)((now - cl) / 86400000), (long long)ni);
                snprintf(key, sizeof key, "case:%s", cid);
                if (cry_audit_append(t->audit, r, actor, "tip.case.purge", key, why, NULL,
                                     err) != 0) {
                    freeReplyObject(ids);
                    return -1;
                }
            }
            if (purge_case(r, cid, (long)ni, ps, err) != 0) {
                freeReplyObject(ids);
                return -1;
            }
            if (!gone) {
                st->purged++;
                st->items += (long)ni;
                core_metric_inc(&m_purged);
            }
        }
        freeReplyObject(ids);
        if (got < PURGE_PAGE)
            break;
    }
    if (!dry_run && st->purged > 0)
        core_log_info("tip", NULL, "retention: %ld closed cases purged (%ld items), %ld open "
                      "cases older than %d days kept", st->purged, st->items, st->open_old, days);
    return 0;
}

/* ======================= routing by a shared place ======================= */

int grp_tip_route_by_place(struct grp_tip *t, struct core_redis *r, const char *cid, double lat,
                           double lon, int *moved, struct core_err *err)
{
    char key[80];
    char rt[16] = "", th0[GRP_CODE_MAX + 1] = "";
    char th[GRP_CODE_MAX + 1], dt[GRP_CODE_MAX + 1];
    struct grp_near near[1];
    size_t n = 0;
    redisReply *rep;

    *moved = 0;
    if (!grp_tip_is_case_id(cid) || !(lat >= -90.0 && lat <= 90.0) ||
        !(lon >= -180.0 && lon <= 180.0))
        return 0;
    case_key(cid, "", key, sizeof key);
    if (core_redis_cmdf(r, &rep, err, "HMGET %s rt th", key) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
        copy_reply(rt, sizeof rt, rep->element[0]);
        copy_reply(th0, sizeof th0, rep->element[1]);
    }
    freeReplyObject(rep);
    /* only the automatic routings move, and only once */
    if (strcmp(rt, "hq") != 0 && strcmp(rt, "locality") != 0)
        return 0;
    if (grp_nearest(r, lat, lon, GRP_TIP_PLACE_KM, 1, near, &n, err) != 0)
        return -1;
    if (n == 0)
        return 0; /* nowhere we know: the routing stays */
    if (route(r, near[0].code, th, dt, err) != 0)
        return -1;
    if (th[0] == '\0')
        return 0;
    if (core_redis_cmdf(r, NULL, err, "HSET %s rt place th %s dt %s", key, th, dt) != 0)
        return -1;
    if (strcmp(th, th0) != 0) {
        char why[160];

        *moved = 1;
        snprintf(why, sizeof why, "routing place thana %s district %s (was %s)", th, dt,
                 th0[0] != '\0' ? th0 : "hq");
        audit(t, r, "system", "tip.case.route", cid, why);
    }
    return 0;
}
