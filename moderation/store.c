/*
 * moderation/store.c - sightings, the feedback stream and operator phrases
 * in Redis (see store.h for the keys).
 *
 * A sighting costs three pipelined round trips: the LSH band sets, the
 * candidates' fingerprints, then the updates with the counts read back.
 * Replies of a pipeline are always all read, so an error reply in the
 * middle never leaves the connection out of step.
 */
#include "moderation/store.h"
#include "core/mem.h"
#include "core/util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CANDIDATES 16
#define KEY_LEN 96

/* Read `n` queued replies into `rep` (NULL for error replies). Returns 0,
 * or -1 when the connection was lost (the remaining replies are gone). */
static int read_replies(struct core_redis *r, size_t n, redisReply **rep, struct core_err *err)
{
    size_t i;

    for (i = 0; i < n; i++)
        rep[i] = NULL;
    for (i = 0; i < n; i++) {
        struct core_err e2;

        core_err_clear(&e2);
        if (core_redis_get_reply(r, &rep[i], &e2) != 0) {
            rep[i] = NULL;
            if (e2.code != CORE_EX_SOFTWARE) {
                if (err != NULL)
                    *err = e2;
                return -1;
            }
        }
    }
    return 0;
}

static void free_replies(redisReply **rep, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (rep[i] != NULL)
            freeReplyObject(rep[i]);
        rep[i] = NULL;
    }
}

/* 16 hex chars of a BLAKE2b hash of a member or group id. */
static void hash_id(const char *id, char out[17])
{
    unsigned char h[8];

    crypto_generichash(h, sizeof h, (const unsigned char *)id, strlen(id), NULL, 0);
    sodium_bin2hex(out, 17, h, sizeof h);
}

static int queue(struct core_redis *r, struct core_err *err, int argc, const char **argv,
                 const size_t *lens)
{
    return core_redis_append(r, argc, argv, lens, err);
}

static int queue2(struct core_redis *r, struct core_err *err, const char *a, const char *b)
{
    const char *argv[2] = {a, b};

    return queue(r, err, 2, argv, NULL);
}

static int queue3(struct core_redis *r, struct core_err *err, const char *a, const char *b,
                  const char *c)
{
    const char *argv[3] = {a, b, c};

    return queue(r, err, 3, argv, NULL);
}

int mod_store_sight(struct core_redis *r, const struct mod_fp *fp, const char *member_id,
                    const char *group_id, int ttl_s, int64_t now_ms, struct mod_sightings *out,
                    struct core_err *err)
{
    uint64_t bands[MOD_STORE_BANDS];
    char bkey[MOD_STORE_BANDS][KEY_LEN];
    char cand[MAX_CANDIDATES][MOD_FP_ID_HEX];
    redisReply *rep[MOD_STORE_BANDS + MAX_CANDIDATES + 16];
    size_t nb = 0;
    size_t nc = 0;
    size_t i;
    size_t j;
    int fresh = 1;
    char key[KEY_LEN];
    char mkey[KEY_LEN];
    char gkey[KEY_LEN];
    char ttl[24];
    char now[24];
    char mh[17];
    char gh[17];
    unsigned char packed[MOD_FP_PACKED];
    size_t nq = 0;

    memset(out, 0, sizeof out[0]);
    mod_fp_id(fp, out->id);
    if (!mod_fp_is_short(fp)) {
        /* 1: candidates from the LSH bands */
        nb = mod_fp_bands(fp, MOD_STORE_BANDS, bands);
        for (i = 0; i < nb; i++) {
            snprintf(bkey[i], KEY_LEN, "js:mod:lsh:%zu:%016llx", i, (unsigned long long)bands[i]);
            if (queue2(r, err, "SMEMBERS", bkey[i]) != 0)
                return -1;
        }
        if (read_replies(r, nb, rep, err) != 0)
            return -1;
        for (i = 0; i < nb; i++) {
            if (rep[i] == NULL || rep[i]->type != REDIS_REPLY_ARRAY)
                continue;
            for (j = 0; j < rep[i]->elements && nc < MAX_CANDIDATES; j++) {
                redisReply *e = rep[i]->element[j];
                size_t k;
                int dup = 0;

                if (e->type != REDIS_REPLY_STRING || e->len != MOD_FP_ID_HEX - 1)
                    continue;
                for (k = 0; k < nc; k++)
                    dup |= memcmp(cand[k], e->str, MOD_FP_ID_HEX - 1) == 0;
                if (dup)
                    continue;
                memcpy(cand[nc], e->str, MOD_FP_ID_HEX - 1);
                cand[nc][MOD_FP_ID_HEX - 1] = '\0';
                nc++;
            }
        }
        free_replies(rep, nb);
        /* 2: the candidates' fingerprints; the best near-duplicate wins */
        if (nc > 0) {
            double best = 0;

            for (i = 0; i < nc; i++) {
                snprintf(key, sizeof key, "js:mod:fp:{%.16s}", cand[i]);
                if (queue3(r, err, "HGET", key, "s") != 0)
                    return -1;
            }
            if (read_replies(r, nc, rep, err) != 0)
                return -1;
            for (i = 0; i < nc; i++) {
                struct mod_fp other;
                double sc;

                if (rep[i] == NULL || rep[i]->type != REDIS_REPLY_STRING ||
                    rep[i]->len != MOD_FP_PACKED)
                    continue;
                mod_fp_unpack((const unsigned char *)rep[i]->str, &other);
                if ((mod_fp_near(&other, fp, &sc) || mod_fp_near(fp, &other, &sc)) &&
                    sc > best) {
                    best = sc;
                    memcpy(out->id, cand[i], MOD_FP_ID_HEX);
                    fresh = 0;
                }
            }
            free_replies(rep, nc);
        }
    }
    /* 3: record and count */
    snprintf(key, sizeof key, "js:mod:fp:{%s}", out->id);
    snprintf(mkey, sizeof mkey, "js:mod:fp:{%s}:m", out->id);
    snprintf(gkey, sizeof gkey, "js:mod:fp:{%s}:g", out->id);
    snprintf(ttl, sizeof ttl, "%d", ttl_s > 0 ? ttl_s : 86400);
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    hash_id(member_id != NULL ? member_id : "", mh);
    hash_id(group_id != NULL ? group_id : "", gh);
    mod_fp_pack(fp, packed);
    {
        const char *argv[4] = {"HSETNX", key, "s", (const char *)packed};
        size_t lens[4] = {6, strlen(key), 1, sizeof packed};

        if (queue(r, err, 4, argv, lens) != 0)
            return -1;
        nq++;
    }
    {
        const char *argv[4] = {"HSETNX", key, "f", now};

        if (queue(r, err, 4, argv, NULL) != 0)
            return -1;
        nq++;
    }
    {
        const char *argv[4] = {"HINCRBY", key, "p", "1"};

        if (queue(r, err, 4, argv, NULL) != 0)
            return -1;
        nq++; /* reply 2: posts */
    }
    if (queue3(r, err, "PFADD", mkey, mh) != 0 || queue3(r, err, "PFADD", gkey, gh) != 0 ||
        queue2(r, err, "PFCOUNT", mkey) != 0 || queue2(r, err, "PFCOUNT", gkey) != 0 ||
        queue3(r, err, "EXPIRE", key, ttl) != 0 || queue3(r, err, "EXPIRE", mkey, ttl) != 0 ||
        queue3(r, err, "EXPIRE", gkey, ttl) != 0)
        return -1;
    nq += 7; /* replies 5 and 6: member and group counts */
    if (fresh) {
        for (i = 0; i < nb; i++) {
            if (queue3(r, err, "SADD", bkey[i], out->id) != 0 ||
                queue3(r, err, "EXPIRE", bkey[i], ttl) != 0)
                return -1;
            nq += 2;
        }
    }
    if (read_replies(r, nq, rep, err) != 0)
        return -1;
    out->posts = rep[2] != NULL ? (long)core_redis_int(rep[2]) : -1;
    out->members = rep[5] != NULL ? (long)core_redis_int(rep[5]) : -1;
    out->groups = rep[6] != NULL ? (long)core_redis_int(rep[6]) : -1;
    for (i = 0; i < nq; i++) {
        if (rep[i] == NULL) {
            free_replies(rep, nq);
            return core_err_set(err, CORE_EX_SOFTWARE, "redis: a sightings command failed");
        }
    }
    free_replies(rep, nq);
    return 0;
}

/* ======================= feedback stream ======================= */

int mod_store_feedback_add(struct core_redis *r, const char *opts, enum mod_label label,
                           unsigned flags, const uint32_t *feats, size_t nf,
                           const struct mod_fp *fp, struct core_err *err)
{
    unsigned char packed[MOD_FP_PACKED];
    unsigned char *fb = core_malloc(nf * 4 + 1);
    char fl[16];
    const char *argv[18] = {"XADD", MOD_KEY_FEEDBACK, "MAXLEN", "~", MOD_FEEDBACK_MAXLEN, "*",
                            "v",    "1",              "o",      opts,
                            "l",    mod_label_name(label),      "k",  fl,
                            "f",    (const char *)fb, "p",      (const char *)packed};
    size_t lens[18];
    redisReply *rep = NULL;
    size_t i;
    int rc;

    for (i = 0; i < nf; i++) {
        fb[i * 4] = (unsigned char)feats[i];
        fb[i * 4 + 1] = (unsigned char)(feats[i] >> 8);
        fb[i * 4 + 2] = (unsigned char)(feats[i] >> 16);
        fb[i * 4 + 3] = (unsigned char)(feats[i] >> 24);
    }
    mod_fp_pack(fp, packed);
    snprintf(fl, sizeof fl, "%u", flags);
    for (i = 0; i < 18; i++)
        lens[i] = argv[i] == (const char *)fb       ? nf * 4
                  : argv[i] == (const char *)packed ? sizeof packed
                                                    : strlen(argv[i]);
    rc = core_redis_cmdv(r, 18, argv, lens, &rep, err);
    if (rep != NULL)
        freeReplyObject(rep);
    free(fb);
    return rc;
}

/* The value of field `name` in a flat field/value array, or NULL. */
static const redisReply *field(const redisReply *fv, const char *name)
{
    size_t i;

    if (fv == NULL || fv->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (i = 0; i + 1 < fv->elements; i += 2) {
        const redisReply *k = fv->element[i];

        if (k->type == REDIS_REPLY_STRING && k->len == strlen(name) &&
            memcmp(k->str, name, k->len) == 0)
            return fv->element[i + 1];
    }
    return NULL;
}

/* Validate and deliver one stream entry. Returns 0 if valid. */
static int deliver(const redisReply *fv, const char *id, mod_store_feedback_fn fn, void *ud)
{
    const redisReply *v = field(fv, "v");
    const redisReply *o = field(fv, "o");
    const redisReply *l = field(fv, "l");
    const redisReply *k = field(fv, "k");
    const redisReply *f = field(fv, "f");
    const redisReply *p = field(fv, "p");
    enum mod_label label;
    int64_t flags;
    uint32_t *feats;
    struct mod_fp fp;
    size_t nf;
    size_t i;

    char opts[32];

    if (v == NULL || o == NULL || l == NULL || k == NULL || f == NULL || p == NULL ||
        v->type != REDIS_REPLY_STRING || o->type != REDIS_REPLY_STRING ||
        o->len >= sizeof opts || l->type != REDIS_REPLY_STRING ||
        k->type != REDIS_REPLY_STRING || f->type != REDIS_REPLY_STRING ||
        p->type != REDIS_REPLY_STRING)
        return -1;
    if (v->len != 1 || v->str[0] != '1' || mod_label_parse(l->str, l->len, &label) != 0 ||
        core_parse_i64n(k->str, k->len, &flags) != 0 || flags < 0 || flags > 7 ||
        f->len % 4 != 0 || f->len / 4 > 65536 || p->len != MOD_FP_PACKED)
        return -1;
    nf = f->len / 4;
    feats = core_malloc(nf * sizeof feats[0] + 1);
    for (i = 0; i < nf; i++) {
        const unsigned char *b = (const unsigned char *)f->str + i * 4;

        feats[i] = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                   (uint32_t)b[3] << 24;
    }
    mod_fp_unpack((const unsigned char *)p->str, &fp);
    memcpy(opts, o->str, o->len);
    opts[o->len] = '\0';
    fn(ud, id, opts, label, (unsigned)flags, feats, nf, &fp);
    free(feats);
    return 0;
}

long mod_store_feedback_read(struct core_redis *r, const char *after, size_t max,
                             mod_store_feedback_fn fn, void *ud, char last[64], long *skipped,
                             struct core_err *err)
{
    char count[24];
    const char *argv[6] = {"XREAD", "COUNT", count, "STREAMS", MOD_KEY_FEEDBACK, after};
    redisReply *rep = NULL;
    const redisReply *entries;
    long n = 0;
    size_t i;

    snprintf(count, sizeof count, "%zu", max);
    if (core_redis_cmdv(r, 6, argv, NULL, &rep, err) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_NIL) {
        freeReplyObject(rep);
        return 0;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 ||
        rep->element[0]->type != REDIS_REPLY_ARRAY || rep->element[0]->elements != 2 ||
        rep->element[0]->element[1]->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(rep);
        return core_err_set(err, CORE_EX_SOFTWARE, "redis: unexpected XREAD reply");
    }
    entries = rep->element[0]->element[1];
    for (i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];

        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= 64)
            continue;
        memcpy(last, e->element[0]->str, e->element[0]->len);
        last[e->element[0]->len] = '\0';
        n++;
        if (deliver(e->element[1], last, fn, ud) != 0 && skipped != NULL)
            (*skipped)++;
    }
    freeReplyObject(rep);
    return n;
}

/* ======================= operator phrases ======================= */

int mod_store_phrases_version(struct core_redis *r, long long *ver, struct core_err *err)
{
    redisReply *rep = NULL;

    if (core_redis_cmdf(r, &rep, err, "GET %s", MOD_KEY_PHRASES_VER) != 0)
        return -1;
    *ver = rep->type == REDIS_REPLY_NIL ? 0 : core_redis_int(rep);
    freeReplyObject(rep);
    return 0;
}

int mod_store_phrases_get(struct core_redis *r, struct core_buf *out, struct core_err *err)
{
    redisReply *rep = NULL;
    size_t i;

    if (core_redis_cmdf(r, &rep, err, "SMEMBERS %s", MOD_KEY_PHRASES) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_ARRAY) {
        for (i = 0; i < rep->elements; i++) {
            const redisReply *e = rep->element[i];

            if (e->type != REDIS_REPLY_STRING || memchr(e->str, '\n', e->len) != NULL)
                continue;
            if (core_buf_append(out, e->str, e->len) != 0 || core_buf_puts(out, "\n") != 0) {
                freeReplyObject(rep);
                return core_err_set(err, CORE_EX_DATAERR, "operator phrases too large");
            }
        }
    }
    freeReplyObject(rep);
    return 0;
}
