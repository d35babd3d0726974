/*
 * tools/groups-load/main.c - benchmark helper for groups (scripts/
 * bench-groups.sh): synthetic members written fast, and a broadcast
 * fan-out timed through the real library.
 *
 *   groups-load members SCOPE COUNT [SCOPE COUNT ...]
 *       COUNT synthetic members per SCOPE, spread evenly over the
 *       localities under it, written by the same functions and scripts as
 *       the real code, pipelined (cry_identity_append_bulk: the blind-index
 *       entry and the packed record with the sealed number, ct, li - 30 %
 *       inside the 24 h window; grp_member_append_bulk_join: the membership
 *       set entry and st=active, g, lang (10 % en), cv, cts, jt).
 *       Numbers are 9170nnnnnnnn (synthetic), one pipeline per 2,000
 *       members. Prints "members N in S s".
 *   groups-load fanout SCOPE
 *       prepare and confirm a broadcast to SCOPE as an operator, then run
 *       the fan-out in this process exactly as the serve worker does
 *       (grp_bc_work_once) and print "fanout queued Q skipped S in T s"
 *       (time from confirmation to the end of the fan-out).
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
#include "groups/member.h"

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

static int members(struct cry_identity *id, struct core_redis *r, const char *scope, long count,
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
    if (grp_member_bulk_prepare(r, &err) != 0) {
        fprintf(stderr, "groups-load: %s\n", err.msg);
        return 69;
    }
    for (long i = 0; i < count; i++, (*serial)++) {
        char wa[24], mid[CRY_MID_LEN];
        const char *loc = locs[(size_t)i % nloc];
        /* 30 % wrote in the last 24 h, the others 2-30 days ago */
        int64_t li = *serial % 10 < 3 ? now - *serial % 40000 : now - 86400 * (2 + *serial % 28);
        int replies = 0;

        snprintf(wa, sizeof wa, "9170%08ld", *serial);
        /* exactly what the registry and the member module write */
        if (cry_identity_append_bulk(id, r, wa, now - 86400 * 30 + *serial % 86400, li, mid,
                                     &replies, &err) != 0) {
            fprintf(stderr, "groups-load: %s\n", err.msg);
            return 70;
        }
        pending += replies;
        if (grp_member_append_bulk_join(r, mid, loc, "1",
                                        *serial % 10 == 9 ? GRP_LANG_EN : GRP_LANG_HI,
                                        now - 86400 * 29, &replies, &err) != 0) {
            fprintf(stderr, "groups-load: %s\n", err.msg);
            return 69;
        }
        pending += replies;
        if (pending >= 4 * PIPE || i + 1 == count) {
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
        (strcmp(argv[1], "members") != 0 && strcmp(argv[1], "fanout") != 0)) {
        fprintf(stderr, "usage: groups-load members SCOPE COUNT [SCOPE COUNT ...]\n"
                        "       groups-load fanout SCOPE\n");
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
        struct cry_identity *id = cry_identity_new(k);
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
            rc = members(id, r, argv[i], (long)c, &serial);
            total += (long)c;
        }
        if (rc == 0)
            printf("members %ld in %.2f s\n", total, (double)(core_mono_ms() - t0) / 1000.0);
        cry_identity_free(id);
    } else {
        rc = fanout(&cfg, k, r, argv[2]);
    }
    core_redis_free(r);
    cry_keys_free(k);
    core_cfg_cleanup(&cfg);
    return rc;
}
