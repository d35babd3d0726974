/*
 * crypto/rotate.c - data-key rotation with background re-encryption
 * (see rotate.h).
 */
#include "crypto/rotate.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "crypto/identity.h"
#include "crypto/mrec.h"
#include "crypto/vault.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NF CRY_IDENTITY_FIELDS
#define SEALED_MAX CRY_IDENTITY_SEALED_MAX
#define BUCKET_KEY_LEN (sizeof CRY_MREC_BUCKET_PREFIX - 1 + 4 + 1)
#define PER_BUCKET 16 /* about how many members a bucket holds at 1M members */
#define PROGRESS_MS 1000

/* Lock refresh: only the holder extends it. KEYS[1] lock, ARGV token, ttl. */
static struct core_redis_script lock_script = {
    "rotate_lock",
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "end\n"
    "return 0\n",
    ""};

/* Release: KEYS[1] lock, ARGV token. */
static struct core_redis_script unlock_script = {
    "rotate_unlock",
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n",
    ""};

/* Raise the version to at least ARGV[1]. KEYS[1] version key. */
static struct core_redis_script raise_script = {
    "rotate_raise",
    "local v = tonumber(redis.call('GET', KEYS[1]) or '1') or 1\n"
    "if v < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) return 1 end\n"
    "return 0\n",
    ""};

struct state {
    int running;
    uint32_t from, target;
    int pass;
    char cursor[32];
    uint64_t scanned, reencrypted, failed, pass_reencrypted;
    int64_t bumped_ms, pass_started_ms, started_ms, finished_ms;
};

/* One record of a batch. */
struct item {
    char mid[CRY_MID_LEN];
    int present[NF];
    unsigned char old_v[NF][SEALED_MAX];
    size_t old_len[NF];
    unsigned char new_v[NF][SEALED_MAX];
    size_t new_len[NF];
    int stale; /* 1: needs re-sealing, queued */
};

struct run {
    const struct cry_keys *k;
    struct core_redis *r;
    const struct cry_rotate_opts *o;
    struct state st;
    char token[33];
    unsigned char *plain; /* sodium_malloc'd scratch for one field */
    struct item *items;
    size_t cap_items;
    int64_t last_progress_ms;
    int64_t run_started_ms;
    uint64_t run_scanned;
    int64_t busy_ms;
};

/* ======================= state ======================= */

static int load_state(struct core_redis *r, struct state *st, int *exists, struct core_err *err)
{
    redisReply *reply = NULL;
    size_t i;

    memset(st, 0, sizeof *st);
    snprintf(st->cursor, sizeof st->cursor, "0");
    *exists = 0;
    if (core_redis_cmdf(r, &reply, err, "HGETALL %s", CRY_ROTATE_KEY) != 0)
        return -1;
    for (i = 0; reply->type == REDIS_REPLY_ARRAY && i + 1 < reply->elements; i += 2) {
        const char *k = reply->element[i]->str;
        const redisReply *v = reply->element[i + 1];
        int64_t n = 0;

        if (k == NULL || v->type != REDIS_REPLY_STRING)
            continue;
        *exists = 1;
        if (strcmp(k, "state") == 0) {
            st->running = strcmp(v->str, "running") == 0;
            continue;
        }
        if (strcmp(k, "cursor") == 0) {
            snprintf(st->cursor, sizeof st->cursor, "%s", v->str);
            continue;
        }
        if (core_parse_i64n(v->str, v->len, &n) != 0 || n < 0)
            continue;
        if (strcmp(k, "from") == 0)
            st->from = (uint32_t)n;
        else if (strcmp(k, "target") == 0)
            st->target = (uint32_t)n;
        else if (strcmp(k, "pass") == 0)
            st->pass = (int)n;
        else if (strcmp(k, "scanned") == 0)
            st->scanned = (uint64_t)n;
        else if (strcmp(k, "reencrypted") == 0)
            st->reencrypted = (uint64_t)n;
        else if (strcmp(k, "failed") == 0)
            st->failed = (uint64_t)n;
        else if (strcmp(k, "pass_reencrypted") == 0)
            st->pass_reencrypted = (uint64_t)n;
        else if (strcmp(k, "bumped_ms") == 0)
            st->bumped_ms = n;
        else if (strcmp(k, "pass_started_ms") == 0)
            st->pass_started_ms = n;
        else if (strcmp(k, "started_ms") == 0)
            st->started_ms = n;
        else if (strcmp(k, "finished_ms") == 0)
            st->finished_ms = n;
    }
    freeReplyObject(reply);
    return 0;
}

static int save_state(struct core_redis *r, const struct state *st, struct core_err *err)
{
    char v[12][24];

    snprintf(v[0], sizeof v[0], "%u", (unsigned)st->from);
    snprintf(v[1], sizeof v[1], "%u", (unsigned)st->target);
    snprintf(v[2], sizeof v[2], "%d", st->pass);
    snprintf(v[3], sizeof v[3], "%llu", (unsigned long long)st->scanned);
    snprintf(v[4], sizeof v[4], "%llu", (unsigned long long)st->reencrypted);
    snprintf(v[5], sizeof v[5], "%llu", (unsigned long long)st->failed);
    snprintf(v[6], sizeof v[6], "%llu", (unsigned long long)st->pass_reencrypted);
    snprintf(v[7], sizeof v[7], "%lld", (long long)st->bumped_ms);
    snprintf(v[8], sizeof v[8], "%lld", (long long)st->pass_started_ms);
    snprintf(v[9], sizeof v[9], "%lld", (long long)st->started_ms);
    snprintf(v[10], sizeof v[10], "%lld", (long long)st->finished_ms);
    return core_redis_cmdf(r, NULL, err,
                           "HSET %s state %s from %s target %s pass %s cursor %s scanned %s "
                           "reencrypted %s failed %s pass_reencrypted %s bumped_ms %s "
                           "pass_started_ms %s started_ms %s finished_ms %s",
                           CRY_ROTATE_KEY, st->running ? "running" : "done", v[0], v[1], v[2],
                           st->cursor, v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]);
}

/* ======================= lock ======================= */

static int lock_take(struct run *x, struct core_err *err)
{
    unsigned char raw[16];
    int64_t deadline = core_mono_ms() + CRY_ROTATE_LOCK_TTL_MS + 1000;
    int said = 0;

    randombytes_buf(raw, sizeof raw);
    core_hex(x->token, raw, sizeof raw);
    for (;;) {
        redisReply *reply = NULL;
        int got;

        if (core_redis_cmdf(x->r, &reply, err, "SET %s %s NX PX %d", CRY_ROTATE_LOCK, x->token,
                            CRY_ROTATE_LOCK_TTL_MS) != 0)
            return -1;
        got = reply->type == REDIS_REPLY_STATUS;
        freeReplyObject(reply);
        if (got)
            return 0;
        if (core_mono_ms() > deadline)
            return core_err_set(err, CORE_EX_TEMPFAIL,
                                "keys: another rotation is running (lock %s held)",
                                CRY_ROTATE_LOCK);
        if (!said && x->o->progress != NULL) {
            fprintf(x->o->progress,
                    "rotate: waiting for the lock of an earlier run to expire...\n");
            said = 1;
        }
        core_sleep_ms(200);
    }
}

static int lock_refresh(struct run *x, struct core_err *err)
{
    const char *argv[3];
    char ttl[16];
    redisReply *reply = NULL;
    int held;

    snprintf(ttl, sizeof ttl, "%d", CRY_ROTATE_LOCK_TTL_MS);
    argv[0] = CRY_ROTATE_LOCK;
    argv[1] = x->token;
    argv[2] = ttl;
    if (core_redis_eval(x->r, &lock_script, 1, 3, argv, NULL, &reply, err) != 0)
        return -1;
    held = core_redis_int(reply) == 1;
    freeReplyObject(reply);
    if (!held)
        return core_err_set(err, CORE_EX_TEMPFAIL,
                            "keys: lost the rotation lock (stalled too long); rerun to resume");
    return 0;
}

static void lock_release(struct run *x)
{
    const char *argv[2] = {CRY_ROTATE_LOCK, x->token};
    redisReply *reply = NULL;
    struct core_err err;

    if (core_redis_eval(x->r, &unlock_script, 1, 2, argv, NULL, &reply, &err) == 0)
        freeReplyObject(reply);
}

/* ======================= one batch ======================= */

static int is_bucket_key(const char *key, size_t len)
{
    size_t p = sizeof CRY_MREC_BUCKET_PREFIX - 1;
    size_t i;

    if (len != BUCKET_KEY_LEN || strncmp(key, CRY_MREC_BUCKET_PREFIX, p) != 0 ||
        key[len - 1] != '}')
        return 0;
    for (i = p; i < p + 4; i++) {
        if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
            return 0;
    }
    return 1;
}

/* A slot for one more item of the batch. */
static struct item *next_item(struct run *x, size_t n)
{
    if (n == x->cap_items) {
        x->cap_items = x->cap_items > 0 ? 2 * x->cap_items : 256;
        x->items = core_realloc(x->items, x->cap_items * sizeof *x->items);
    }
    return &x->items[n];
}

/* Take the sealed fields of one packed record into `it`; 1 when it has
 * one below the target (stale), 0 if not, -1 when it is malformed. */
static int take_record(struct run *x, struct item *it, const redisReply *v)
{
    static const int tags[NF] = {CRY_MR_WA, CRY_MR_UID};
    struct cry_mrec *m = sodium_malloc(sizeof *m);
    struct core_err err;
    int stale = 0;
    int f;

    if (m == NULL) {
        fputs("janseva: out of memory (sodium_malloc)\n", stderr);
        abort();
    }
    if (cry_mrec_decode(v->str, v->len, m, &err) != 0) {
        sodium_free(m);
        return -1;
    }
    for (f = 0; f < NF; f++) {
        size_t len = 0;
        const unsigned char *s = cry_mrec_raw(m, tags[f], &len);

        it->present[f] = s != NULL && len <= SEALED_MAX;
        it->old_len[f] = 0;
        if (!it->present[f])
            continue;
        memcpy(it->old_v[f], s, len);
        it->old_len[f] = len;
        if (cry_vault_version(it->old_v[f], it->old_len[f]) != x->st.target)
            stale = 1;
    }
    sodium_free(m); /* wipes */
    return stale && (it->present[0] || it->present[1]);
}

/* Re-seal the fields of one item for the target. Returns 0, or -1 when a
 * field does not open (the item is then skipped). */
static int reseal_item(struct run *x, struct item *it, struct core_err *err)
{
    uint32_t target = x->st.target;
    size_t cap = cry_vault_open_size(SEALED_MAX);
    int i;

    for (i = 0; i < NF; i++) {
        size_t plen = 0;
        int rc;

        it->new_len[i] = 0;
        if (!it->present[i])
            continue;
        rc = cry_vault_open(x->k, CRY_VAULT_PII, it->mid, cry_identity_field_names[i],
                            it->old_v[i], it->old_len[i], x->plain, cap, &plen, err);
        if (rc == 0)
            rc = cry_identity_seal_field(x->k, target, it->mid, i, x->plain, plen, it->new_v[i],
                                         sizeof it->new_v[i], &it->new_len[i], err);
        sodium_memzero(x->plain, cap);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static void progress(struct run *x, int force)
{
    int64_t now = core_mono_ms();
    double secs;

    if (x->o->progress == NULL || (!force && now - x->last_progress_ms < PROGRESS_MS))
        return;
    x->last_progress_ms = now;
    secs = (double)(now - x->run_started_ms) / 1000.0;
    fprintf(x->o->progress,
            "rotate: v%u -> v%u pass %d: %llu scanned, %llu re-encrypted, %llu failed "
            "(%.0f records/s)\n",
            (unsigned)x->st.from, (unsigned)x->st.target, x->st.pass,
            (unsigned long long)x->st.scanned, (unsigned long long)x->st.reencrypted,
            (unsigned long long)x->st.failed,
            secs > 0 ? (double)x->run_scanned / secs : 0.0);
    fflush(x->o->progress);
}

static int do_batch(struct run *x, struct core_err *err)
{
    char count[16];
    redisReply *scan = NULL;
    const redisReply *keys;
    size_t nkeys;
    size_t n = 0;
    size_t i;
    size_t queued = 0;
    int batch = x->o->batch > 0 ? x->o->batch : CRY_ROTATE_BATCH;
    int rc = -1;

    /* about `batch` records: buckets hold ~PER_BUCKET members each */
    snprintf(count, sizeof count, "%d", batch / PER_BUCKET > 0 ? batch / PER_BUCKET : 1);
    if (core_redis_cmdf(x->r, &scan, err, "SCAN %s MATCH %s* COUNT %s", x->st.cursor,
                        CRY_MREC_BUCKET_PREFIX, count) != 0)
        return -1;
    if (scan->type != REDIS_REPLY_ARRAY || scan->elements != 2 ||
        scan->element[0]->type != REDIS_REPLY_STRING ||
        scan->element[1]->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(scan);
        return core_err_set(err, CORE_EX_SOFTWARE, "keys: unexpected SCAN reply");
    }
    keys = scan->element[1];
    nkeys = keys->elements;
    /* Read every bucket of the batch in one pipeline. */
    for (i = 0; i < nkeys; i++) {
        const redisReply *key = keys->element[i];

        if (key->type != REDIS_REPLY_STRING || !is_bucket_key(key->str, key->len))
            continue;
        if (core_redis_appendf(x->r, err, "HGETALL %s", key->str) != 0)
            goto out;
    }
    for (i = 0; i < nkeys; i++) {
        const redisReply *key = keys->element[i];
        redisReply *all = NULL;
        size_t e;

        if (key->type != REDIS_REPLY_STRING || !is_bucket_key(key->str, key->len))
            continue;
        if (core_redis_get_reply(x->r, &all, err) != 0) {
            if (!core_redis_connected(x->r))
                goto out;
            continue; /* not a hash: not ours */
        }
        for (e = 0; all->type == REDIS_REPLY_ARRAY && e + 1 < all->elements; e += 2) {
            const redisReply *fld = all->element[e];
            const redisReply *val = all->element[e + 1];
            struct item *it;
            int stale;

            if (fld->type != REDIS_REPLY_STRING || fld->len != CRY_MID_BYTES ||
                val->type != REDIS_REPLY_STRING)
                continue;
            it = next_item(x, n);
            core_hex(it->mid, (const unsigned char *)fld->str, CRY_MID_BYTES);
            it->stale = 0;
            x->st.scanned++;
            x->run_scanned++;
            stale = take_record(x, it, val);
            if (stale < 0) {
                x->st.failed++;
                core_log_warn("rotate", NULL, "member %s: malformed record; left as it is",
                              it->mid);
                continue;
            }
            if (stale == 0)
                continue;
            if (reseal_item(x, it, err) != 0) {
                x->st.failed++;
                core_log_warn("rotate", NULL, "member %s does not open; left as it is", it->mid);
                continue;
            }
            it->stale = 1;
            n++;
        }
        freeReplyObject(all);
    }
    /* Write them back, each only if unchanged since read (the script is
     * loaded first, with nothing pending: after a NOSCRIPT it was
     * forgotten). */
    if (n > 0 && cry_mrec_prepare(x->r, err) != 0)
        goto out;
    for (i = 0; i < n; i++) {
        struct item *it = &x->items[i];
        const unsigned char *ov[NF];
        const unsigned char *nv[NF];
        int f;

        for (f = 0; f < NF; f++) {
            ov[f] = it->present[f] ? it->old_v[f] : NULL;
            nv[f] = it->present[f] ? it->new_v[f] : NULL;
        }
        if (cry_identity_append_cas(x->r, it->mid, ov, it->old_len, nv, it->new_len, err) != 0)
            goto out;
        queued++;
    }
    for (i = 0; i < queued; i++) {
        redisReply *reply = NULL;
        int applied = 0;

        if (core_redis_get_reply(x->r, &reply, err) != 0) {
            if (!core_redis_connected(x->r))
                goto out;
            if (core_redis_err_is(err, "NOSCRIPT"))
                cry_mrec_script_forget(); /* the next batch reloads it */
            continue;
        }
        if (cry_mrec_update_reply(reply, &applied, err) == 0 && applied) {
            x->st.reencrypted++;
            x->st.pass_reencrypted++;
        }
        freeReplyObject(reply);
    }
    for (i = 0; i < n; i++)
        sodium_memzero(x->items[i].new_v, sizeof x->items[i].new_v);
    snprintf(x->st.cursor, sizeof x->st.cursor, "%s", scan->element[0]->str);
    if (lock_refresh(x, err) != 0 || save_state(x->r, &x->st, err) != 0)
        goto out;
    progress(x, 0);
    rc = 0;
out:
    freeReplyObject(scan);
    return rc;
}

/* ======================= the run ======================= */

static int audit_note(struct run *x, struct cry_audit *a, const char *action, const char *reason,
                      struct core_err *err)
{
    char object[160];
    char pii[CRY_KEY_ID_LEN];
    char ing[CRY_KEY_ID_LEN];

    if (a == NULL)
        return 0;
    cry_keys_data_id(x->k, CRY_KEY_PII, x->st.target, pii);
    cry_keys_data_id(x->k, CRY_KEY_INGRESS, x->st.target, ing);
    snprintf(object, sizeof object, "data keys v%u -> v%u (pii %s, ingress %s)",
             (unsigned)x->st.from, (unsigned)x->st.target, pii, ing);
    return cry_audit_append(a, x->r, x->o->actor != NULL ? x->o->actor : "system", action,
                            object, reason, NULL, err);
}

static int start_or_resume(struct run *x, struct cry_audit *a, struct cry_rotate_result *res,
                           struct core_err *err)
{
    const char *argv[2];
    char target[16];
    redisReply *reply = NULL;
    int exists = 0;
    int raised;

    if (load_state(x->r, &x->st, &exists, err) != 0)
        return -1;
    if (exists && x->st.running && x->st.target > 0) {
        res->resumed = 1;
    } else {
        uint32_t cur = 0;

        if (cry_keys_read_version(x->r, &cur, err) != 0)
            return -1;
        memset(&x->st, 0, sizeof x->st);
        x->st.running = 1;
        x->st.from = cur;
        x->st.target = cur + 1;
        x->st.pass = 1;
        snprintf(x->st.cursor, sizeof x->st.cursor, "0");
        x->st.started_ms = core_now_ms();
        x->st.bumped_ms = x->st.started_ms;
        x->st.pass_started_ms = x->st.started_ms;
        if (save_state(x->r, &x->st, err) != 0)
            return -1;
    }
    snprintf(target, sizeof target, "%u", (unsigned)x->st.target);
    argv[0] = CRY_KEYS_VERSION_KEY;
    argv[1] = target;
    if (core_redis_eval(x->r, &raise_script, 1, 2, argv, NULL, &reply, err) != 0)
        return -1;
    raised = core_redis_int(reply) == 1;
    freeReplyObject(reply);
    if (raised && res->resumed) {
        /* The earlier run died before raising the version: settle from now. */
        x->st.bumped_ms = core_now_ms();
        if (save_state(x->r, &x->st, err) != 0)
            return -1;
    }
    if (audit_note(x, a, res->resumed ? "keys.rotate.resume" : "keys.rotate.start", NULL, err) !=
        0)
        return -1;
    core_log_info("rotate", NULL, "%s rotation to data key version %u",
                  res->resumed ? "resuming" : "starting", (unsigned)x->st.target);
    return 0;
}

int cry_rotate_run(const struct cry_keys *k, struct cry_audit *a, struct core_redis *r,
                   const struct cry_rotate_opts *o, struct cry_rotate_result *res,
                   struct core_err *err)
{
    struct run x;
    int have_lock = 0;
    int rc = -1;
    size_t i;

    memset(res, 0, sizeof *res);
    memset(&x, 0, sizeof x);
    x.k = k;
    x.r = r;
    x.o = o;
    x.run_started_ms = core_mono_ms();
    x.plain = sodium_malloc(SEALED_MAX);
    if (x.plain == NULL) {
        fputs("janseva: out of memory (sodium_malloc)\n", stderr);
        abort();
    }
    if (lock_take(&x, err) != 0)
        goto out;
    have_lock = 1;
    if (cry_mrec_prepare(r, err) != 0 || start_or_resume(&x, a, res, err) != 0)
        goto out;
    for (;;) {
        int64_t b0 = core_mono_ms();

        if (do_batch(&x, err) != 0)
            goto out;
        x.busy_ms += core_mono_ms() - b0;
        if (strcmp(x.st.cursor, "0") != 0)
            continue;
        /* A pass is complete. */
        if (x.st.pass_started_ms >= x.st.bumped_ms + CRY_ROTATE_SETTLE_MS)
            break;
        while (core_now_ms() < x.st.bumped_ms + CRY_ROTATE_SETTLE_MS) {
            core_sleep_ms(200);
            if (lock_refresh(&x, err) != 0)
                goto out;
        }
        x.st.pass++;
        x.st.pass_reencrypted = 0;
        x.st.pass_started_ms = core_now_ms();
        if (save_state(r, &x.st, err) != 0)
            goto out;
        progress(&x, 1);
    }
    x.st.running = 0;
    x.st.finished_ms = core_now_ms();
    if (save_state(r, &x.st, err) != 0)
        goto out;
    progress(&x, 1);
    {
        char reason[160];

        snprintf(reason, sizeof reason, "%llu records re-encrypted, %llu failed, %d passes",
                 (unsigned long long)x.st.reencrypted, (unsigned long long)x.st.failed,
                 x.st.pass);
        if (audit_note(&x, a, "keys.rotate.finish", reason, err) != 0)
            goto out;
    }
    rc = 0;
out:
    if (have_lock)
        lock_release(&x);
    res->from = x.st.from;
    res->target = x.st.target;
    res->scanned = x.st.scanned;
    res->reencrypted = x.st.reencrypted;
    res->failed = x.st.failed;
    res->passes = x.st.pass;
    res->ms = core_mono_ms() - x.run_started_ms;
    res->busy_ms = x.busy_ms;
    res->run_scanned = x.run_scanned;
    for (i = 0; i < x.cap_items; i++)
        sodium_memzero(&x.items[i], sizeof x.items[i]);
    free(x.items);
    sodium_free(x.plain);
    return rc;
}

int cry_rotate_status(struct core_redis *r, FILE *out, int with_version, struct core_err *err)
{
    struct state st;
    uint32_t cur = 0;
    int exists = 0;
    int64_t end;

    if (load_state(r, &st, &exists, err) != 0 || cry_keys_read_version(r, &cur, err) != 0)
        return -1;
    if (with_version)
        fprintf(out, "current data key version: v%u\n", (unsigned)cur);
    if (!exists) {
        fprintf(out, "rotation: none has run\n");
        return 0;
    }
    end = st.running ? core_now_ms() : st.finished_ms;
    fprintf(out,
            "rotation: v%u -> v%u, %s, pass %d, %llu scanned, %llu re-encrypted, %llu failed, "
            "%.1f s%s\n",
            (unsigned)st.from, (unsigned)st.target, st.running ? "running" : "done", st.pass,
            (unsigned long long)st.scanned, (unsigned long long)st.reencrypted,
            (unsigned long long)st.failed, (double)(end - st.started_ms) / 1000.0,
            st.running ? " so far (rerun 'janseva keys rotate' to resume if it stopped)" : "");
    return 0;
}
