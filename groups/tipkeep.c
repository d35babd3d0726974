/*
 * groups/tipkeep.c - the tip retention thread (see tipkeep.h).
 */
#include "groups/tipkeep.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "core/waiter.h"

#include <pthread.h>
#include <stdlib.h>

#define LOCK_KEY "js:tip:purge:lock"

struct grp_tipkeep {
    const struct core_cfg *cfg;
    struct grp_tip *t;
    struct core_redis *r;
    pthread_t thread;
    struct core_waiter wt; /* stop flag and pause */
};

static void run_once(struct grp_tipkeep *k)
{
    struct grp_tip_purge_stats st;
    struct core_err err;
    redisReply *rep;
    int locked;

    core_err_clear(&err);
    if (core_redis_cmdf(k->r, &rep, &err, "SET " LOCK_KEY " 1 NX EX 600") != 0) {
        core_log_warn("tipkeep", NULL, "retention not run: %s", err.msg);
        return;
    }
    locked = rep->type == REDIS_REPLY_STATUS;
    freeReplyObject(rep);
    if (!locked)
        return; /* another process is purging */
    if (grp_tip_purge(k->t, k->r, k->cfg->tip_retention_days, 0, "system", &st, &err) != 0)
        core_log_warn("tipkeep", NULL, "retention stopped early (the next run goes on): %s",
                      err.msg);
    core_redis_cmdf(k->r, NULL, &err, "DEL " LOCK_KEY);
}

static void *main_loop(void *arg)
{
    struct grp_tipkeep *k = arg;
    int64_t pause = GRP_TIPKEEP_FIRST_MS;

    for (;;) {
        core_waiter_pause(&k->wt, pause);
        if (core_waiter_stopping(&k->wt))
            break;
        run_once(k);
        pause = GRP_TIPKEEP_EVERY_MS;
    }
    return NULL;
}

struct grp_tipkeep *grp_tipkeep_start(const struct core_cfg *cfg, struct grp_tip *t,
                                      struct core_err *err)
{
    struct core_redis_opts ro = {cfg->redis, cfg->redis_user, cfg->redis_password,
                                 cfg->redis_timeout_ms};
    struct grp_tipkeep *k;

    if (cfg->tip_retention_days <= 0)
        return NULL;
    k = core_calloc(1, sizeof *k);
    k->cfg = cfg;
    k->t = t;
    k->r = core_redis_new(&ro);
    core_waiter_init(&k->wt);
    if (pthread_create(&k->thread, NULL, main_loop, k) != 0) {
        core_err_set(err, CORE_EX_SOFTWARE, "tipkeep: cannot start the retention thread");
        core_waiter_cleanup(&k->wt);
        core_redis_free(k->r);
        free(k);
        return NULL;
    }
    core_log_info("tipkeep", NULL, "tip cases closed more than %d days ago are purged hourly",
                  cfg->tip_retention_days);
    return k;
}

void grp_tipkeep_stop(struct grp_tipkeep *k)
{
    if (k == NULL)
        return;
    core_waiter_stop(&k->wt);
    pthread_join(k->thread, NULL);
    core_waiter_cleanup(&k->wt);
    core_redis_free(k->r);
    free(k);
}
