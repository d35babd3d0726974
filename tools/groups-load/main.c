/*
 * tools/groups-load/main.c - benchmark helper for groups (scripts/
 * bench-groups.sh): synthetic members written fast, and a broadcast
 * fan-out timed through the real library.
 *
 *   groups-load members SCOPE COUNT [SCOPE COUNT ...]
 *       COUNT synthetic members per SCOPE, spread evenly over the
 *       localities under it, written as the identity registry and the
 *       member module write them (docs/groups.md): js:m:{MID} with the
 *       sealed number (wa) and profile name (nm), kv, ct, li (30 % inside
 *       the 24 h window), st=active, g, lang (10 % en), cv, cts, jt; the
 *       blind index js:id:<bidx>; the membership set js:u:{CODE}:mem.
 *       Numbers are 9170nnnnnnnn (synthetic), one pipeline per 2,000
 *       members. Prints "members N in S s".
 *   groups-load fanout SCOPE
 *       prepare and confirm a broadcast to SCOPE as an operator, then run
 *       the fan-out in this process exactly as the serve worker does
 *       (grp_bc_work_once) and print "fanout queued Q skipped S in T s"
 *       (time from confirmation to the end of the fan-out).
 *
 *   groups-load compact COUNT
 *       the same members in the compact layout docs/internals/broadcasts.md
 *       proposes, to measure what it would cost (prototype, nothing reads
 *       it): members packed into 65,536 bucket hashes js:mb:{XXXX} (field =
 *       16-byte mid, value = an 84-byte record: the number sealed with
 *       16-byte padding, 64 bytes, stood in for by random bytes of that
 *       size, then st, lang, li, ct, locality index, cv, cts), the blind
 *       index in bucket hashes js:ib:{XXXX} (16-byte index -> 16-byte
 *       mid), membership sets of 16-byte mids (js:mm:{N}, 10 per set).
 *       Needs hash-max-listpack-entries >= COUNT / 65536 * 2.
 *
 * Settings come from the environment (JANSEVA_REDIS, JANSEVA_KEYS_DIR,
 * JANSEVA_PHONE_NUMBER_ID, JANSEVA_BROADCAST_*) like janseva's.
 */
#include "core/cli.h"
#include "core/config.h"
#include "core/redis.h"
#include "core/util.h"
#include "crypto/bidx.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "crypto/vault.h"
#include "groups/broadcast.h"
#include "groups/hier.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIPE 2000

/* The localities under `scope`, level by level (unsorted is fine here). */
static char **localities(struct core_redis *r, const char *scope, size_t *n)
{
    char **cur = malloc(sizeof *cur);
    size_t nc = 1;
    struct core_err err;

    cur[0] = strdup(scope);
    for (int depth = 0; depth < 6; depth++) {
        char **next = NULL;
        size_t nn = 0;
        size_t cap = 0;
        int leaf = 0;

        for (size_t i = 0; i < nc; i++) {
            redisReply *rep;

            if (core_redis_cmdf(r, &rep, &err, "HGET js:u:{%s} k", cur[i]) != 0)
                exit(69);
            leaf = rep->type == REDIS_REPLY_STRING && strcmp(rep->str, "locality") == 0;
            freeReplyObject(rep);
            if (leaf)
                break;
            if (core_redis_cmdf(r, &rep, &err, "SMEMBERS js:u:{%s}:c", cur[i]) != 0)
                exit(69);
            for (size_t e = 0; rep->type == REDIS_REPLY_ARRAY && e < rep->elements; e++) {
                if (nn == cap) {
                    cap = cap ? cap * 2 : 256;
                    next = realloc(next, cap * sizeof *next);
                }
                next[nn++] = strdup(rep->element[e]->str);
            }
            freeReplyObject(rep);
        }
        if (leaf)
            break;
        for (size_t i = 0; i < nc; i++)
            free(cur[i]);
        free(cur);
        cur = next;
        nc = nn;
    }
    *n = nc;
    return cur;
}

static int members(struct cry_keys *k, struct core_redis *r, const char *scope, long count,
                   long *serial)
{
    struct core_err err;
    size_t nloc = 0;
    char **locs = localities(r, scope, &nloc);
    int64_t now = core_now_ms() / 1000;
    int pending = 0;

    if (nloc == 0) {
        fprintf(stderr, "groups-load: no localities under %s\n", scope);
        return 65;
    }
    for (long i = 0; i < count; i++, (*serial)++) {
        unsigned char bidx[CRY_BIDX_BYTES];
        unsigned char swa[128], snm[160];
        char wa[24], name[40], mid[CRY_MID_LEN], mkey[64], ikey[96];
        char kv[16], ct[24], li[24], cts[24];
        const char *loc = locs[(size_t)i % nloc];
        size_t lwa = 0, lnm = 0;
        const char *argv[26];
        size_t lens[26];
        int n = 0;

        snprintf(wa, sizeof wa, "9170%08ld", *serial);
        snprintf(name, sizeof name, "Synthetic Member %ld", *serial);
        if (cry_bidx_wa(k, wa, bidx, &err) != 0)
            return 70;
        cry_identity_mid(k, bidx, 0, mid);
        if (cry_vault_seal(k, CRY_VAULT_PII, mid, "wa", wa, strlen(wa), swa, sizeof swa, &lwa,
                           &err) != 0 ||
            cry_vault_seal(k, CRY_VAULT_PII, mid, "nm", name, strlen(name), snm, sizeof snm,
                           &lnm, &err) != 0) {
            fprintf(stderr, "groups-load: %s\n", err.msg);
            return 70;
        }
        cry_identity_member_key(mid, mkey, sizeof mkey);
        cry_identity_index_key(bidx, ikey, sizeof ikey);
        snprintf(kv, sizeof kv, "%u", (unsigned)cry_keys_version(k));
        snprintf(ct, sizeof ct, "%lld", (long long)(now - 86400 * 30 + *serial % 86400));
        /* 30 % wrote in the last 24 h, the others 2-30 days ago */
        snprintf(li, sizeof li, "%lld",
                 (long long)(*serial % 10 < 3 ? now - *serial % 40000
                                              : now - 86400 * (2 + *serial % 28)));
        snprintf(cts, sizeof cts, "%lld", (long long)(now - 86400 * 29));
        argv[n++] = "HSET";
        argv[n++] = mkey;
        argv[n++] = "wa";
        argv[n++] = (const char *)swa;
        argv[n++] = "nm";
        argv[n++] = (const char *)snm;
        argv[n++] = "kv";
        argv[n++] = kv;
        argv[n++] = "ct";
        argv[n++] = ct;
        argv[n++] = "li";
        argv[n++] = li;
        argv[n++] = "st";
        argv[n++] = "active";
        argv[n++] = "g";
        argv[n++] = loc;
        argv[n++] = "lang";
        argv[n++] = *serial % 10 == 9 ? "en" : "hi";
        argv[n++] = "cv";
        argv[n++] = "1";
        argv[n++] = "cts";
        argv[n++] = cts;
        argv[n++] = "jt";
        argv[n++] = cts;
        for (int j = 0; j < n; j++)
            lens[j] = strlen(argv[j]);
        lens[3] = lwa;
        lens[5] = lnm;
        if (core_redis_append(r, n, argv, lens, &err) != 0 ||
            core_redis_appendf(r, &err, "SET %s %s", ikey, mid) != 0 ||
            core_redis_appendf(r, &err, "SADD js:u:{%s}:mem %s", loc, mid) != 0)
            return 69;
        pending += 3;
        if (pending >= 3 * PIPE || i + 1 == count) {
            while (pending > 0) {
                if (core_redis_get_reply(r, NULL, &err) != 0) {
                    fprintf(stderr, "groups-load: %s\n", err.msg);
                    return 69;
                }
                pending--;
            }
        }
    }
    for (size_t i = 0; i < nloc; i++)
        free(locs[i]);
    free(locs);
    return 0;
}

static int compact(struct core_redis *r, long count)
{
    struct core_err err;
    int pending = 0;

    for (long i = 0; i < count; i++) {
        unsigned char mid[16], idx[16], rec[84];
        char mkey[32], ikey[32], skey[32];
        const char *argv[4];
        size_t lens[4];

        randombytes_buf(mid, sizeof mid);
        randombytes_buf(idx, sizeof idx);
        randombytes_buf(rec, sizeof rec);
        snprintf(mkey, sizeof mkey, "js:mb:{%02x%02x}", mid[0], mid[1]);
        snprintf(ikey, sizeof ikey, "js:ib:{%02x%02x}", idx[0], idx[1]);
        snprintf(skey, sizeof skey, "js:mm:{%ld}", i / 10);
        argv[0] = "HSET";
        argv[1] = mkey;
        argv[2] = (const char *)mid;
        argv[3] = (const char *)rec;
        lens[0] = 4;
        lens[1] = strlen(mkey);
        lens[2] = sizeof mid;
        lens[3] = sizeof rec;
        if (core_redis_append(r, 4, argv, lens, &err) != 0)
            return 69;
        argv[1] = ikey;
        argv[2] = (const char *)idx;
        argv[3] = (const char *)mid;
        lens[1] = strlen(ikey);
        lens[2] = sizeof idx;
        lens[3] = sizeof mid;
        if (core_redis_append(r, 4, argv, lens, &err) != 0)
            return 69;
        argv[0] = "SADD";
        argv[1] = skey;
        argv[2] = (const char *)mid;
        lens[0] = 4;
        lens[1] = strlen(skey);
        lens[2] = sizeof mid;
        if (core_redis_append(r, 3, argv, lens, &err) != 0)
            return 69;
        pending += 3;
        if (pending >= 3 * PIPE || i + 1 == count) {
            while (pending > 0) {
                if (core_redis_get_reply(r, NULL, &err) != 0) {
                    fprintf(stderr, "groups-load: %s\n", err.msg);
                    return 69;
                }
                pending--;
            }
        }
    }
    return 0;
}

static int fanout(struct core_cfg *cfg, struct cry_keys *k, struct core_redis *r,
                  const char *scope)
{
    struct grp_bc *bc = grp_bc_new(cfg, k, NULL);
    struct grp_bc_actor who;
    struct grp_bc_req req;
    struct grp_bc_preview p;
    struct grp_bc_status st;
    struct core_err err;
    int64_t t0;
    int rc = 0;

    grp_bc_actor_operator(&who, "cli:bench");
    memset(&req, 0, sizeof req);
    req.scope = scope;
    req.text_hi = "बाढ़ की चेतावनी: नदी के किनारे न जाएँ, बच्चों को पानी से "
                  "दूर रखें। मदद के लिए 112 पर कॉल करें।";
    req.text_en = "Flood warning: keep away from the river bank and keep children away from the "
                  "water. Call 112 for help.";
    if (grp_bc_prepare(bc, r, &who, &req, &p, &err) != GRP_BC_OK ||
        grp_bc_confirm(bc, r, &who, p.id, &err) != GRP_BC_OK) {
        fprintf(stderr, "groups-load: %s\n", err.msg);
        grp_bc_free(bc);
        return 69;
    }
    printf("preview reach %ld in_window %ld%s in %s\n", p.reach.reach, p.reach.in_window,
           p.reach.estimated ? " (estimated)" : "", p.id);
    t0 = core_mono_ms();
    for (;;) {
        if (grp_bc_work_once(bc, r, "bench", NULL, &err) != 0 ||
            grp_bc_status(bc, r, NULL, p.id, &st, &err) != GRP_BC_OK) {
            fprintf(stderr, "groups-load: %s\n", err.msg);
            rc = 69;
            break;
        }
        if (strcmp(st.state, "confirmed") != 0 && strcmp(st.state, "running") != 0)
            break;
    }
    if (rc == 0)
        printf("fanout queued %lld skipped %lld in %.2f s\n", st.queued, st.skipped,
               (double)(core_mono_ms() - t0) / 1000.0);
    grp_bc_free(bc);
    return rc;
}

int main(int argc, char **argv)
{
    struct core_cfg cfg;
    struct core_err err;
    struct cry_keys *k;
    struct core_redis *r;
    int rc = 0;

    if (argc < 3 || (strcmp(argv[1], "members") == 0 && argc % 2 != 0) ||
        (strcmp(argv[1], "members") != 0 && strcmp(argv[1], "fanout") != 0 &&
         strcmp(argv[1], "compact") != 0)) {
        fprintf(stderr, "usage: groups-load members SCOPE COUNT [SCOPE COUNT ...]\n"
                        "       groups-load fanout SCOPE\n"
                        "       groups-load compact COUNT\n");
        return 64;
    }
    if (sodium_init() < 0)
        return 70;
    if (core_cli_load_config(&cfg, NULL, &err) != 0) {
        fprintf(stderr, "groups-load: %s\n", err.msg);
        return 78;
    }
    k = cry_keys_load_configured(cfg.keys_dir, NULL, &err);
    if (k == NULL) {
        fprintf(stderr, "groups-load: %s\n", err.msg);
        return 78;
    }
    {
        struct core_redis_opts o = {cfg.redis, cfg.redis_user, cfg.redis_password, 60000};

        r = core_redis_new(&o);
    }
    if (cry_keys_refresh(k, r, &err) != 0) {
        fprintf(stderr, "groups-load: %s\n", err.msg);
        return 69;
    }
    if (strcmp(argv[1], "members") == 0) {
        long serial = 0;
        long total = 0;
        int64_t t0 = core_mono_ms();

        for (int i = 2; i + 1 < argc && rc == 0; i += 2) {
            int64_t c;

            if (core_parse_i64(argv[i + 1], &c) != 0 || c < 1 || c > 50000000) {
                fprintf(stderr, "groups-load: COUNT must be 1-50000000\n");
                rc = 64;
                break;
            }
            rc = members(k, r, argv[i], (long)c, &serial);
            total += (long)c;
        }
        if (rc == 0)
            printf("members %ld in %.2f s\n", total, (double)(core_mono_ms() - t0) / 1000.0);
    } else if (strcmp(argv[1], "compact") == 0) {
        int64_t c;

        if (core_parse_i64(argv[2], &c) != 0 || c < 1 || c > 50000000) {
            fprintf(stderr, "groups-load: COUNT must be 1-50000000\n");
            rc = 64;
        } else {
            rc = compact(r, (long)c);
            if (rc == 0)
                printf("compact %lld\n", (long long)c);
        }
    } else {
        rc = fanout(&cfg, k, r, argv[2]);
    }
    core_redis_free(r);
    cry_keys_free(k);
    core_cfg_cleanup(&cfg);
    return rc;
}
