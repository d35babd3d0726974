/*
 * crypto/audit.c - hash-chained audit records, signed checkpoints,
 * verification (Redis or export file) and export (see audit.h).
 */
#include "crypto/audit.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ATTEMPTS 32
#define BATCH "1000"
#define ID_MAX 48
#define SIG_HEX (2 * CRY_SIGN_BYTES + 1)
#define MSG_MAX 160
#define LINE_MAX_BYTES (1024 * 1024)

struct cry_audit {
    const struct cry_keys *keys; /* borrowed; signs checkpoints */
};

CORE_COUNTER(m_records, "janseva_audit_records_total", NULL, "Audit records appended");
CORE_COUNTER(m_ckpts, "janseva_audit_checkpoints_total", NULL, "Audit checkpoints signed");
CORE_COUNTER(m_retries, "janseva_audit_append_retries_total", NULL,
             "Audit appends retried because another appender won the race");

void cry_audit_metrics_init(void)
{
    core_metrics_register(&m_records);
    core_metrics_register(&m_ckpts);
    core_metrics_register(&m_retries);
}

struct cry_audit *cry_audit_new(const struct cry_keys *keys)
{
    struct cry_audit *a = core_calloc(1, sizeof *a);

    a->keys = keys;
    cry_audit_metrics_init();
    return a;
}

void cry_audit_free(struct cry_audit *a)
{
    free(a);
}

/* ======================= hashing and signing ======================= */

void cry_audit_chain(const unsigned char prev[CRY_AUDIT_HASHBYTES], const char *entry,
                     size_t len, unsigned char h[CRY_AUDIT_HASHBYTES])
{
    crypto_generichash_state st;
    unsigned char be[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
                           (unsigned char)(len >> 8), (unsigned char)len};

    crypto_generichash_init(&st, NULL, 0, CRY_AUDIT_HASHBYTES);
    crypto_generichash_update(&st, prev, CRY_AUDIT_HASHBYTES);
    crypto_generichash_update(&st, be, sizeof be);
    crypto_generichash_update(&st, (const unsigned char *)entry, len);
    crypto_generichash_final(&st, h, CRY_AUDIT_HASHBYTES);
}

void cry_audit_ckpt_message(uint64_t seq, int64_t ts, const char *h_hex, char *out, size_t n)
{
    snprintf(out, n, "%s|%llu|%lld|%s", CRY_AUDIT_CKPT_DOMAIN, (unsigned long long)seq,
             (long long)ts, h_hex);
}

static int parse_u64(const char *s, size_t len, uint64_t *out)
{
    int64_t v;

    if (core_parse_i64n(s, len, &v) != 0 || v < 0)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_hash_hex(const char *hex, unsigned char out[CRY_AUDIT_HASHBYTES])
{
    size_t bin_len = 0;
    const char *end = NULL;

    if (hex == NULL || strlen(hex) != 2 * CRY_AUDIT_HASHBYTES)
        return -1;
    if (sodium_hex2bin(out, CRY_AUDIT_HASHBYTES, hex, 2 * CRY_AUDIT_HASHBYTES, NULL, &bin_len,
                       &end) != 0 ||
        bin_len != CRY_AUDIT_HASHBYTES || *end != '\0')
        return -1;
    return 0;
}

/* "N HEX" of the head; absent = 0 and zeros. */
static int parse_head(const redisReply *reply, uint64_t *seq,
                      unsigned char h[CRY_AUDIT_HASHBYTES])
{
    const char *sp;

    *seq = 0;
    memset(h, 0, CRY_AUDIT_HASHBYTES);
    if (reply == NULL || reply->type == REDIS_REPLY_NIL)
        return 0;
    if (reply->type != REDIS_REPLY_STRING)
        return -1;
    sp = memchr(reply->str, ' ', reply->len);
    if (sp == NULL || parse_u64(reply->str, (size_t)(sp - reply->str), seq) != 0 ||
        parse_hash_hex(sp + 1, h) != 0)
        return -1;
    return 0;
}

/* ======================= appending ======================= */

static int check_field(const char *name, const char *v, int required, struct core_err *err)
{
    if (v == NULL || v[0] == '\0') {
        if (required)
            return core_err_set(err, CORE_EX_USAGE, "audit: %s is required", name);
        return 0;
    }
    if (strlen(v) > CRY_AUDIT_FIELD_MAX)
        return core_err_set(err, CORE_EX_USAGE, "audit: %s is too long", name);
    return 0;
}

static char *build_entry(uint64_t seq, int64_t ts, const char *actor, const char *action,
                         const char *object, const char *reason, const char *prev_hex)
{
    json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s}", "seq", (json_int_t)seq, "ts",
                          (json_int_t)ts, "actor", actor, "action", action, "object", object,
                          "reason", reason != NULL ? reason : "", "prev", prev_hex);
    char *s;

    if (j == NULL)
        return NULL; /* not UTF-8 */
    s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    json_decref(j);
    return s;
}

/* Read `n` pipelined replies; replies[i] is NULL for an error reply.
 * Returns -1 when the connection broke (the rest are lost). */
static int read_replies(struct core_redis *r, int n, redisReply **replies, struct core_err *err)
{
    int i;
    int rc = 0;

    for (i = 0; i < n; i++) {
        replies[i] = NULL;
        if (rc != 0)
            continue;
        if (core_redis_get_reply(r, &replies[i], err) != 0 && !core_redis_connected(r))
            rc = -1;
    }
    return rc;
}

static void free_replies(int n, redisReply **replies)
{
    int i;

    for (i = 0; i < n; i++) {
        if (replies[i] != NULL)
            freeReplyObject(replies[i]);
    }
}

/* One optimistic attempt. Returns 1 written, 0 lost the race, -1 error. */
static int append_once(struct core_redis *r, const char *actor, const char *action,
                       const char *object, const char *reason, uint64_t *seq_out,
                       struct core_err *err)
{
    redisReply *rep[4];
    unsigned char prev[CRY_AUDIT_HASHBYTES];
    unsigned char h[CRY_AUDIT_HASHBYTES];
    char prev_hex[CRY_AUDIT_HASH_HEX];
    char h_hex[CRY_AUDIT_HASH_HEX];
    char seq_s[24];
    char head[24 + CRY_AUDIT_HASH_HEX];
    const char *argv[9];
    size_t lens[9];
    uint64_t seq;
    char *entry;
    int rc;
    int i;

    /* WATCH and GET travel together on this connection: no reconnect can
     * come between them (core_redis never retries pipelined commands). */
    if (core_redis_appendf(r, err, "WATCH %s", CRY_AUDIT_HEAD) != 0 ||
        core_redis_appendf(r, err, "GET %s", CRY_AUDIT_HEAD) != 0)
        return -1;
    if (read_replies(r, 2, rep, err) != 0) {
        free_replies(2, rep);
        return -1;
    }
    if (rep[0] == NULL || parse_head(rep[1], &seq, prev) != 0) {
        int bad_head = rep[0] != NULL;

        free_replies(2, rep);
        core_redis_cmdf(r, NULL, NULL, "UNWATCH");
        if (bad_head)
            return core_err_set(err, CORE_EX_DATAERR, "audit: %s is damaged", CRY_AUDIT_HEAD);
        return -1;
    }
    free_replies(2, rep);
    seq++;
    core_hex(prev_hex, prev, sizeof prev);
    entry = build_entry(seq, core_now_ms(), actor, action, object, reason, prev_hex);
    if (entry == NULL) {
        core_redis_cmdf(r, NULL, NULL, "UNWATCH");
        return core_err_set(err, CORE_EX_USAGE, "audit: fields must be UTF-8 text");
    }
    cry_audit_chain(prev, entry, strlen(entry), h);
    core_hex(h_hex, h, sizeof h);
    snprintf(seq_s, sizeof seq_s, "%llu", (unsigned long long)seq);
    snprintf(head, sizeof head, "%s %s", seq_s, h_hex);
    argv[0] = "XADD";
    argv[1] = CRY_AUDIT_LOG;
    argv[2] = "*";
    argv[3] = "seq";
    argv[4] = seq_s;
    argv[5] = "e";
    argv[6] = entry;
    argv[7] = "h";
    argv[8] = h_hex;
    for (i = 0; i < 9; i++)
        lens[i] = strlen(argv[i]);
    rc = core_redis_appendf(r, err, "MULTI");
    if (rc == 0)
        rc = core_redis_append(r, 9, argv, lens, err);
    if (rc == 0)
        rc = core_redis_appendf(r, err, "SET %s %s", CRY_AUDIT_HEAD, head);
    if (rc == 0)
        rc = core_redis_appendf(r, err, "EXEC");
    free(entry);
    if (rc != 0)
        return -1;
    if (read_replies(r, 4, rep, err) != 0) {
        free_replies(4, rep);
        return -1;
    }
    if (rep[3] == NULL) {
        free_replies(4, rep);
        return core_err_set(err, CORE_EX_SOFTWARE, "audit: transaction failed");
    }
    rc = rep[3]->type == REDIS_REPLY_ARRAY ? 1 : 0; /* nil: the head moved */
    if (rc == 1) {
        for (i = 0; i < (int)rep[3]->elements; i++) {
            if (rep[3]->element[i]->type == REDIS_REPLY_ERROR) {
                free_replies(4, rep);
                return core_err_set(err, CORE_EX_SOFTWARE, "audit: append refused by Redis");
            }
        }
        *seq_out = seq;
    }
    free_replies(4, rep);
    return rc;
}

int cry_audit_append(struct cry_audit *a, struct core_redis *r, const char *actor,
                     const char *action, const char *object, const char *reason, uint64_t *seq,
                     struct core_err *err)
{
    struct core_err cerr;
    uint64_t s = 0;
    int attempt;

    if (seq != NULL)
        *seq = 0;
    if (check_field("actor", actor, 1, err) != 0 || check_field("action", action, 1, err) != 0 ||
        check_field("object", object, 1, err) != 0 || check_field("reason", reason, 0, err) != 0)
        return -1;
    for (attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        int rc = append_once(r, actor, action, object, reason, &s, err);

        if (rc < 0)
            return -1;
        if (rc == 1)
            break;
        core_metric_inc(&m_retries);
        core_sleep_ms(1 + (int64_t)core_random_below(5));
    }
    if (s == 0)
        return core_err_set(err, CORE_EX_TEMPFAIL, "audit: too many concurrent appenders");
    core_metric_inc(&m_records);
    if (seq != NULL)
        *seq = s;
    core_err_clear(&cerr);
    if (cry_audit_checkpoint(a, r, 0, NULL, &cerr) != 0)
        core_log_warn("audit", NULL, "checkpoint not written (retried later): %s", cerr.msg);
    return 0;
}

/* ======================= checkpoints ======================= */

/* Last checkpoint's seq and ts (0 when none). */
static int last_checkpoint(struct core_redis *r, uint64_t *seq, int64_t *ts, struct core_err *err)
{
    redisReply *reply = NULL;
    const redisReply *fields;
    size_t i;

    *seq = 0;
    *ts = 0;
    if (core_redis_cmdf(r, &reply, err, "XREVRANGE %s + - COUNT 1", CRY_AUDIT_CKPT) != 0)
        return -1;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
        reply->element[0]->elements == 2 &&
        reply->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
        fields = reply->element[0]->element[1];
        for (i = 0; i + 1 < fields->elements; i += 2) {
            const redisReply *k = fields->element[i];
            const redisReply *v = fields->element[i + 1];

            if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
                continue;
            if (strcmp(k->str, "seq") == 0)
                parse_u64(v->str, v->len, seq);
            else if (strcmp(k->str, "ts") == 0)
                core_parse_i64n(v->str, v->len, ts);
        }
    }
    freeReplyObject(reply);
    return 0;
}

int cry_audit_checkpoint(struct cry_audit *a, struct core_redis *r, int force, uint64_t *seq,
                         struct core_err *err)
{
    redisReply *reply = NULL;
    unsigned char h[CRY_AUDIT_HASHBYTES];
    unsigned char sig[CRY_SIGN_BYTES];
    char h_hex[CRY_AUDIT_HASH_HEX];
    char sig_hex[SIG_HEX];
    char msg[MSG_MAX];
    char seq_s[24];
    char ts_s[24];
    uint64_t head_seq;
    uint64_t last_seq;
    int64_t last_ts;
    int64_t now = core_now_ms();
    int bad;

    if (seq != NULL)
        *seq = 0;
    if (core_redis_cmdf(r, &reply, err, "GET %s", CRY_AUDIT_HEAD) != 0)
        return -1;
    bad = parse_head(reply, &head_seq, h);
    freeReplyObject(reply);
    if (bad)
        return core_err_set(err, CORE_EX_DATAERR, "audit: %s is damaged", CRY_AUDIT_HEAD);
    if (head_seq == 0 || last_checkpoint(r, &last_seq, &last_ts, err) != 0)
        return head_seq == 0 ? 0 : -1;
    if (head_seq <= last_seq)
        return 0;
    if (!force && head_seq - last_seq < CRY_AUDIT_CKPT_EVERY &&
        now - last_ts < CRY_AUDIT_CKPT_MAX_AGE_MS)
        return 0;
    core_hex(h_hex, h, sizeof h);
    cry_audit_ckpt_message(head_seq, now, h_hex, msg, sizeof msg);
    cry_keys_sign(a->keys, msg, strlen(msg), sig);
    core_hex(sig_hex, sig, sizeof sig);
    snprintf(seq_s, sizeof seq_s, "%llu", (unsigned long long)head_seq);
    snprintf(ts_s, sizeof ts_s, "%lld", (long long)now);
    if (core_redis_cmdf(r, NULL, err, "XADD %s * seq %s ts %s h %s sig %s kid %s", CRY_AUDIT_CKPT,
                        seq_s, ts_s, h_hex, sig_hex, cry_keys_meta(a->keys)->audit_id) != 0)
        return -1;
    core_metric_inc(&m_ckpts);
    if (seq != NULL)
        *seq = head_seq;
    return 0;
}

/* ======================= verification ======================= */

struct ckpt {
    char id[ID_MAX];
    uint64_t seq;
    int64_t ts;
    char h[CRY_AUDIT_HASH_HEX];
    char sig[SIG_HEX];
};

struct verifier {
    const unsigned char *pk;
    struct ckpt *ck;
    size_t n_ck;
    size_t cap_ck;
    size_t next_ck;      /* first checkpoint not yet checked (sorted by seq) */
    int sorted;
    uint64_t from_seq;   /* skip records below (0: none) */
    int trust_first;     /* --from: take the first record's prev on trust */
    int started;
    uint64_t expect;     /* next record number */
    unsigned char prev[CRY_AUDIT_HASHBYTES];
    struct cry_audit_report *rep;
};

static void v_init(struct verifier *v, const unsigned char *pk, struct cry_audit_report *rep)
{
    memset(v, 0, sizeof *v);
    memset(rep, 0, sizeof *rep);
    v->pk = pk;
    v->rep = rep;
    v->expect = 1;
}

static void v_cleanup(struct verifier *v)
{
    free(v->ck);
    v->ck = NULL;
}

static int v_problem(struct verifier *v, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int v_problem(struct verifier *v, uint64_t seq, const char *fmt, ...)
{
    va_list ap;

    if (v->rep->broken)
        return -1;
    v->rep->broken = 1;
    v->rep->bad_seq = seq;
    va_start(ap, fmt);
    vsnprintf(v->rep->problem, sizeof v->rep->problem, fmt, ap);
    va_end(ap);
    return -1;
}

static int v_checkpoint(struct verifier *v, const char *id, const char *seq_s, size_t seq_len,
                        const char *ts_s, size_t ts_len, const char *h, const char *sig)
{
    struct ckpt *c;

    if (v->rep->broken)
        return -1;
    if (v->n_ck == v->cap_ck) {
        v->cap_ck = v->cap_ck ? v->cap_ck * 2 : 16;
        v->ck = core_realloc(v->ck, v->cap_ck * sizeof *v->ck);
    }
    c = &v->ck[v->n_ck];
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", id != NULL ? id : "?");
    if (seq_s == NULL || ts_s == NULL || h == NULL || sig == NULL ||
        parse_u64(seq_s, seq_len, &c->seq) != 0 || c->seq == 0 ||
        core_parse_i64n(ts_s, ts_len, &c->ts) != 0 || strlen(h) != CRY_AUDIT_HASH_HEX - 1 ||
        strlen(sig) != SIG_HEX - 1)
        return v_problem(v, 0, "checkpoint %s is malformed", c->id);
    snprintf(c->h, sizeof c->h, "%s", h);
    snprintf(c->sig, sizeof c->sig, "%s", sig);
    v->n_ck++;
    v->sorted = 0;
    return 0;
}

static int ckpt_cmp(const void *a, const void *b)
{
    const struct ckpt *x = a;
    const struct ckpt *y = b;

    return x->seq < y->seq ? -1 : x->seq > y->seq ? 1 : 0;
}

static void v_sort(struct verifier *v)
{
    if (!v->sorted && v->n_ck > 1)
        qsort(v->ck, v->n_ck, sizeof *v->ck, ckpt_cmp);
    v->sorted = 1;
}

static int sig_ok(const struct verifier *v, const struct ckpt *c)
{
    unsigned char sig[CRY_SIGN_BYTES];
    char msg[MSG_MAX];
    size_t bin_len = 0;

    if (sodium_hex2bin(sig, sizeof sig, c->sig, strlen(c->sig), NULL, &bin_len, NULL) != 0 ||
        bin_len != sizeof sig)
        return 0;
    cry_audit_ckpt_message(c->seq, c->ts, c->h, msg, sizeof msg);
    return crypto_sign_verify_detached(sig, (const unsigned char *)msg, strlen(msg), v->pk) == 0;
}

/* Check the checkpoints of record `seq`, whose verified hash is `h_hex`. */
static int v_check_ckpts(struct verifier *v, uint64_t seq, const char *rec_id, const char *h_hex)
{
    while (v->next_ck < v->n_ck && v->ck[v->next_ck].seq <= seq) {
        const struct ckpt *c = &v->ck[v->next_ck++];

        if (c->seq < seq)
            continue; /* before the first record checked (--from) */
        if (!sig_ok(v, c))
            return v_problem(v, seq,
                             "checkpoint %s for record %llu: signature does not verify "
                             "(forged or damaged)",
                             c->id, (unsigned long long)seq);
        if (strcmp(c->h, h_hex) != 0)
            return v_problem(v, seq,
                             "record %llu (id %s) does not match signed checkpoint %s (the log "
                             "was rewritten up to it)",
                             (unsigned long long)seq, rec_id, c->id);
        v->rep->checkpoints++;
        if (seq > v->rep->signed_upto)
            v->rep->signed_upto = seq;
    }
    return 0;
}

static int v_record(struct verifier *v, const char *id, const char *seq_s, size_t seq_len,
                    const char *e, size_t e_len, const char *h_hex)
{
    unsigned char h[CRY_AUDIT_HASHBYTES];
    char calc_hex[CRY_AUDIT_HASH_HEX];
    char prev_hex[CRY_AUDIT_HASH_HEX];
    json_t *j;
    json_t *js;
    const char *jprev;
    uint64_t seq;
    int first;

    if (v->rep->broken)
        return -1;
    if (id == NULL)
        id = "?";
    if (seq_s == NULL || e == NULL || h_hex == NULL || parse_u64(seq_s, seq_len, &seq) != 0 ||
        seq == 0)
        return v_problem(v, v->expect, "record at id %s is malformed (expected record %llu)", id,
                         (unsigned long long)v->expect);
    if (!v->started && seq < v->from_seq)
        return 0;
    v_sort(v);
    first = !v->started;
    if (first) {
        v->started = 1;
        v->rep->first_seq = seq;
        if (v->trust_first || v->from_seq > 0)
            v->expect = seq;
    }
    if (seq > v->expect)
        return v_problem(v, v->expect,
                         "record %llu is missing or out of order (found record %llu at id %s)",
                         (unsigned long long)v->expect, (unsigned long long)seq, id);
    if (seq < v->expect)
        return v_problem(v, seq,
                         "record %llu (id %s) is out of order or repeated (expected record %llu)",
                         (unsigned long long)seq, id, (unsigned long long)v->expect);
    j = json_loadb(e, e_len, JSON_REJECT_DUPLICATES, NULL);
    js = json_object_get(j, "seq");
    jprev = json_string_value(json_object_get(j, "prev"));
    if (j == NULL || !json_is_object(j) || !json_is_integer(js) ||
        (uint64_t)json_integer_value(js) != seq || jprev == NULL) {
        json_decref(j);
        return v_problem(v, seq, "record %llu (id %s): entry is not a valid audit entry",
                         (unsigned long long)seq, id);
    }
    if (first && (v->trust_first || v->from_seq > 0)) {
        if (parse_hash_hex(jprev, v->prev) != 0) {
            json_decref(j);
            return v_problem(v, seq, "record %llu (id %s): bad prev", (unsigned long long)seq,
                             id);
        }
    }
    core_hex(prev_hex, v->prev, sizeof v->prev);
    if (strcmp(jprev, prev_hex) != 0) {
        json_decref(j);
        return v_problem(v, seq,
                         "record %llu (id %s): prev does not match record %llu (records removed, "
                         "reordered or rewritten)",
                         (unsigned long long)seq, id, (unsigned long long)(seq - 1));
    }
    json_decref(j);
    cry_audit_chain(v->prev, e, e_len, h);
    core_hex(calc_hex, h, sizeof h);
    if (strcmp(calc_hex, h_hex) != 0)
        return v_problem(v, seq, "record %llu (id %s): hash does not match its contents (modified)",
                         (unsigned long long)seq, id);
    memcpy(v->prev, h, sizeof h);
    v->expect = seq + 1;
    v->rep->records++;
    v->rep->last_seq = seq;
    return v_check_ckpts(v, seq, id, calc_hex);
}

/*
 * After the last record: checkpoints beyond it, the head (Redis), coverage
 * (files). `head_seq` < 0: no head to compare.
 */
static void v_finish(struct verifier *v, long long head_seq, const unsigned char *head_h,
                     int require_cover)
{
    uint64_t last = v->rep->last_seq;

    v_sort(v);
    while (!v->rep->broken && v->next_ck < v->n_ck) {
        const struct ckpt *c = &v->ck[v->next_ck++];

        if (c->seq <= last && v->started)
            continue;
        if (!sig_ok(v, c)) {
            v_problem(v, c->seq, "checkpoint %s for record %llu: signature does not verify "
                                 "(forged or damaged)",
                      c->id, (unsigned long long)c->seq);
            break;
        }
        if (v->started || v->from_seq == 0)
            v_problem(v, last + 1,
                      "record %llu is missing: signed checkpoint %s covers up to record %llu",
                      (unsigned long long)(last + 1), c->id, (unsigned long long)c->seq);
    }
    if (!v->rep->broken && head_seq >= 0) {
        char head_hex[CRY_AUDIT_HASH_HEX];
        char prev_hex[CRY_AUDIT_HASH_HEX];

        if ((uint64_t)head_seq > last && (v->started || v->from_seq == 0))
            v_problem(v, last + 1, "record %llu is missing: the head names record %lld",
                      (unsigned long long)(last + 1), head_seq);
        else if ((uint64_t)head_seq < last)
            v_problem(v, (uint64_t)head_seq + 1,
                      "record %llu was added without updating the head (which names record "
                      "%lld)",
                      (unsigned long long)head_seq + 1, head_seq);
        if (!v->rep->broken && v->started && head_h != NULL) {
            core_hex(head_hex, head_h, CRY_AUDIT_HASHBYTES);
            core_hex(prev_hex, v->prev, sizeof v->prev);
            if (strcmp(head_hex, prev_hex) != 0)
                v_problem(v, last, "record %llu does not match the head",
                          (unsigned long long)last);
        }
    }
    if (!v->rep->broken && require_cover && v->started && v->rep->signed_upto < last)
        v_problem(v, v->rep->signed_upto + 1,
                  "records %llu-%llu are not covered by a signed checkpoint (the export was cut, "
                  "extended or written without the signing key)",
                  (unsigned long long)v->rep->signed_upto + 1, (unsigned long long)last);
}

/* Field `name` of a stream entry's field array, or NULL. */
static const redisReply *entry_field(const redisReply *fields, const char *name)
{
    size_t i;

    if (fields == NULL || fields->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i];
        const redisReply *v = fields->element[i + 1];

        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            strcmp(k->str, name) == 0)
            return v;
    }
    return NULL;
}

#define FSTR(f) ((f) != NULL ? (f)->str : NULL)
#define FLEN(f) ((f) != NULL ? (f)->len : 0)

/*
 * Walk a stream in batches from `start` ("-" or an id), calling `fn` for each
 * entry (id, fields). `fn` returns 0 to go on. Returns 0 or -1 (Redis).
 */
static int walk_stream(struct core_redis *r, const char *key, const char *start,
                       int (*fn)(void *ud, const char *id, const redisReply *fields), void *ud,
                       struct core_err *err)
{
    char from[ID_MAX + 2];

    snprintf(from, sizeof from, "%s", start);
    for (;;) {
        redisReply *reply = NULL;
        size_t i;
        int stop = 0;

        if (core_redis_cmdf(r, &reply, err, "XRANGE %s %s + COUNT %s", key, from, BATCH) != 0)
            return -1;
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
            freeReplyObject(reply);
            return 0;
        }
        for (i = 0; i < reply->elements && !stop; i++) {
            const redisReply *e = reply->element[i];

            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[0]->type != REDIS_REPLY_STRING)
                continue;
            stop = fn(ud, e->element[0]->str, e->element[1]) != 0;
            snprintf(from, sizeof from, "(%s", e->element[0]->str);
        }
        freeReplyObject(reply);
        if (stop)
            return 0;
    }
}

static int on_redis_ckpt(void *ud, const char *id, const redisReply *f)
{
    const redisReply *seq = entry_field(f, "seq");
    const redisReply *ts = entry_field(f, "ts");

    return v_checkpoint(ud, id, FSTR(seq), FLEN(seq), FSTR(ts), FLEN(ts),
                        FSTR(entry_field(f, "h")), FSTR(entry_field(f, "sig")));
}

static int on_redis_record(void *ud, const char *id, const redisReply *f)
{
    const redisReply *seq = entry_field(f, "seq");
    const redisReply *e = entry_field(f, "e");

    return v_record(ud, id, FSTR(seq), FLEN(seq), FSTR(e), FLEN(e), FSTR(entry_field(f, "h")));
}

int cry_audit_verify_redis(const unsigned char pk[CRY_SIGN_PUBLICKEYBYTES], struct core_redis *r,
                           const char *from, struct cry_audit_report *rep, struct core_err *err)
{
    struct verifier v;
    redisReply *reply = NULL;
    unsigned char head_h[CRY_AUDIT_HASHBYTES];
    uint64_t head_seq = 0;
    const char *start = "-";
    int rc = -1;

    v_init(&v, pk, rep);
    if (from != NULL && from[0] != '\0') {
        if (strchr(from, '-') != NULL) {
            if (strlen(from) >= ID_MAX)
                return core_err_set(err, CORE_EX_USAGE, "audit: bad stream id");
            start = from;
            v.trust_first = 1;
        } else if (parse_u64(from, strlen(from), &v.from_seq) != 0 || v.from_seq == 0) {
            return core_err_set(err, CORE_EX_USAGE,
                                "audit: --from takes a record number or a stream id");
        }
    }
    if (walk_stream(r, CRY_AUDIT_CKPT, "-", on_redis_ckpt, &v, err) != 0)
        goto out;
    if (core_redis_cmdf(r, &reply, err, "GET %s", CRY_AUDIT_HEAD) != 0)
        goto out;
    if (parse_head(reply, &head_seq, head_h) != 0) {
        v_problem(&v, 0, "the head %s is damaged", CRY_AUDIT_HEAD);
        freeReplyObject(reply);
        rc = 0;
        goto out;
    }
    freeReplyObject(reply);
    if (walk_stream(r, CRY_AUDIT_LOG, start, on_redis_record, &v, err) != 0)
        goto out;
    v_finish(&v, (long long)head_seq, head_h, 0);
    rc = 0;
out:
    v_cleanup(&v);
    return rc;
}

/* ======================= export files ======================= */

static int file_line(struct verifier *v, const char *line, size_t len, int lineno,
                     int *seen_header, int *seen_record)
{
    json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    int rc = 0;

    if (j == NULL || type == NULL) {
        json_decref(j);
        return v_problem(v, 0, "line %d is not an audit export line", lineno);
    }
    if (!*seen_header) {
        const char *pkh = json_string_value(json_object_get(j, "public_key"));
        char want[2 * CRY_SIGN_PUBLICKEYBYTES + 1];

        core_hex(want, v->pk, CRY_SIGN_PUBLICKEYBYTES);
        if (strcmp(type, CRY_AUDIT_EXPORT_TYPE) != 0 ||
            json_integer_value(json_object_get(j, "format")) != 1)
            rc = v_problem(v, 0, "not a janseva audit export (line 1)");
        else if (pkh == NULL || strcmp(pkh, want) != 0)
            rc = v_problem(v, 0, "the export names another audit key than the one trusted");
        *seen_header = 1;
    } else if (strcmp(type, "checkpoint") == 0) {
        char seq[24];
        char ts[24];
        json_t *js = json_object_get(j, "seq");
        json_t *jt = json_object_get(j, "ts");

        if (*seen_record) {
            rc = v_problem(v, 0, "line %d: checkpoint after records (not an export file)",
                           lineno);
        } else if (!json_is_integer(js) || !json_is_integer(jt)) {
            rc = v_problem(v, 0, "line %d: malformed checkpoint", lineno);
        } else {
            snprintf(seq, sizeof seq, "%lld", (long long)json_integer_value(js));
            snprintf(ts, sizeof ts, "%lld", (long long)json_integer_value(jt));
            rc = v_checkpoint(v, json_string_value(json_object_get(j, "id")), seq, strlen(seq),
                              ts, strlen(ts), json_string_value(json_object_get(j, "h")),
                              json_string_value(json_object_get(j, "sig")));
        }
    } else if (strcmp(type, "record") == 0) {
        char seq[24];
        json_t *js = json_object_get(j, "seq");
        json_t *je = json_object_get(j, "e");

        *seen_record = 1;
        if (!json_is_integer(js) || !json_is_string(je)) {
            rc = v_problem(v, v->expect, "line %d: malformed record (expected record %llu)",
                           lineno, (unsigned long long)v->expect);
        } else {
            snprintf(seq, sizeof seq, "%lld", (long long)json_integer_value(js));
            rc = v_record(v, json_string_value(json_object_get(j, "id")), seq, strlen(seq),
                          json_string_value(je), json_string_length(je),
                          json_string_value(json_object_get(j, "h")));
        }
    } else {
        rc = v_problem(v, 0, "line %d: unknown line type", lineno);
    }
    json_decref(j);
    return rc;
}

int cry_audit_verify_file(const unsigned char pk[CRY_SIGN_PUBLICKEYBYTES], FILE *in,
                          struct cry_audit_report *rep, struct core_err *err)
{
    struct verifier v;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0;
    int seen_header = 0;
    int seen_record = 0;

    v_init(&v, pk, rep);
    while ((n = getline(&line, &cap, in)) >= 0) {
        size_t len = (size_t)n;

        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        if (len > LINE_MAX_BYTES) {
            v_problem(&v, 0, "line %d is too long", lineno);
            break;
        }
        if (file_line(&v, line, len, lineno, &seen_header, &seen_record) != 0)
            break;
    }
    free(line);
    if (ferror(in)) {
        v_cleanup(&v);
        return core_err_set(err, CORE_EX_IOERR, "audit: cannot read the export file");
    }
    if (!rep->broken && !seen_header)
        v_problem(&v, 0, "empty file: not a janseva audit export");
    if (!rep->broken)
        v_finish(&v, -1, NULL, 1);
    v_cleanup(&v);
    return 0;
}

/* ======================= export ======================= */

struct export_ctx {
    FILE *out;
    uint64_t upto; /* last record to write (0: all) */
    uint64_t n;
    int failed;
};

static int put_line(struct export_ctx *x, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);

    json_decref(j);
    if (s == NULL || fprintf(x->out, "%s\n", s) < 0)
        x->failed = 1;
    free(s);
    return x->failed;
}

static int on_export_ckpt(void *ud, const char *id, const redisReply *f)
{
    const redisReply *seq = entry_field(f, "seq");
    const redisReply *ts = entry_field(f, "ts");
    int64_t s = 0;
    int64_t t = 0;

    core_parse_i64n(FSTR(seq), FLEN(seq), &s);
    core_parse_i64n(FSTR(ts), FLEN(ts), &t);
    return put_line(ud, json_pack("{s:s,s:s,s:I,s:I,s:s?,s:s?,s:s?}", "type", "checkpoint", "id",
                                  id, "seq", (json_int_t)s, "ts", (json_int_t)t, "h",
                                  FSTR(entry_field(f, "h")), "sig", FSTR(entry_field(f, "sig")),
                                  "kid", FSTR(entry_field(f, "kid"))));
}

static int on_export_record(void *ud, const char *id, const redisReply *f)
{
    struct export_ctx *x = ud;
    const redisReply *seq = entry_field(f, "seq");
    const redisReply *e = entry_field(f, "e");
    int64_t s = 0;

    core_parse_i64n(FSTR(seq), FLEN(seq), &s);
    if (x->upto > 0 && (uint64_t)s > x->upto)
        return 1; /* appended after the export's checkpoint */
    x->n++;
    return put_line(x, json_pack("{s:s,s:s,s:I,s:s%,s:s?}", "type", "record", "id", id, "seq",
                                 (json_int_t)s, "e", FSTR(e) != NULL ? FSTR(e) : "", FLEN(e), "h",
                                 FSTR(entry_field(f, "h"))));
}

int cry_audit_export(struct cry_audit *a, const unsigned char pk[CRY_SIGN_PUBLICKEYBYTES],
                     const char *key_id, struct core_redis *r, FILE *out, uint64_t *records,
                     struct core_err *err)
{
    struct export_ctx x;
    char pk_hex[2 * CRY_SIGN_PUBLICKEYBYTES + 1];

    memset(&x, 0, sizeof x);
    x.out = out;
    if (records != NULL)
        *records = 0;
    if (a != NULL) {
        redisReply *reply = NULL;
        unsigned char h[CRY_AUDIT_HASHBYTES];

        if (cry_audit_checkpoint(a, r, 1, NULL, err) != 0 ||
            core_redis_cmdf(r, &reply, err, "GET %s", CRY_AUDIT_HEAD) != 0)
            return -1;
        if (parse_head(reply, &x.upto, h) != 0) {
            freeReplyObject(reply);
            return core_err_set(err, CORE_EX_DATAERR, "audit: %s is damaged", CRY_AUDIT_HEAD);
        }
        freeReplyObject(reply);
        if (x.upto == 0)
            x.upto = 1; /* empty log: write no record */
    }
    core_hex(pk_hex, pk, CRY_SIGN_PUBLICKEYBYTES);
    if (put_line(&x, json_pack("{s:s,s:i,s:s,s:s,s:I}", "type", CRY_AUDIT_EXPORT_TYPE, "format",
                               1, "public_key", pk_hex, "key_id", key_id != NULL ? key_id : "",
                               "exported_ms", (json_int_t)core_now_ms())) != 0 ||
        walk_stream(r, CRY_AUDIT_CKPT, "-", on_export_ckpt, &x, err) != 0 || x.failed ||
        walk_stream(r, CRY_AUDIT_LOG, "-", on_export_record, &x, err) != 0 || x.failed) {
        if (x.failed)
            core_err_set(err, CORE_EX_IOERR, "audit: cannot write the export");
        return -1;
    }
    if (fflush(out) != 0)
        return core_err_set(err, CORE_EX_IOERR, "audit: cannot write the export");
    if (records != NULL)
        *records = x.n;
    return 0;
}
