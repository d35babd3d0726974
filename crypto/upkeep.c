/*
 * crypto/upkeep.c - key-version refresh, the service.start audit record and
 * periodic audit checkpoints (see upkeep.h).
 */
#include "crypto/upkeep.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define TICK_MS 100

struct cry_upkeep {
    struct cry_keys *keys;
    struct cry_audit *audit;
    struct core_redis *redis;
    char *reason;
    pthread_t thread;
    atomic_bool stop;
    int started_logged;
};

CORE_GAUGE(m_version, "janseva_keys_version", NULL,
           "Data key version new seals use (0 while unknown)");

void cry_upkeep_metrics_init(void)
{
    core_metrics_register(&m_version);
}

static void refresh(struct cry_upkeep *u)
{
    struct core_err err;
    uint32_t before = cry_keys_version(u->keys);

    core_err_clear(&err);
    if (cry_keys_refresh(u->keys, u->redis, &err) != 0) {
        core_log_debug("keys", NULL, "key version not refreshed: %s", err.msg);
        return;
    }
    core_metric_set(&m_version, (long long)cry_keys_version(u->keys));
    if (before != cry_keys_version(u->keys))
        core_log_info("keys", NULL, "data key version is now %u (was %u)",
                      (unsigned)cry_keys_version(u->keys), (unsigned)before);
}

static void audit_start(struct cry_upkeep *u)
{
    const struct cry_keys_meta *m = cry_keys_meta(u->keys);
    struct core_err err;
    char object[128];

    if (u->audit == NULL || u->started_logged || cry_keys_version(u->keys) == 0)
        return;
    snprintf(object, sizeof object, "keys root=%s audit=%s data=v%u", m->root_id, m->audit_id,
             (unsigned)cry_keys_version(u->keys));
    core_err_clear(&err);
    if (cry_audit_append(u->audit, u->redis, "system", "service.start", object, u->reason, NULL,
                         &err) == 0)
        u->started_logged = 1;
    else
        core_log_debug("audit", NULL, "service.start not recorded yet: %s", err.msg);
}

static void *upkeep_main(void *arg)
{
    struct cry_upkeep *u = arg;
    int64_t next_refresh = 0;
    int64_t next_ckpt = core_mono_ms() + CRY_UPKEEP_CKPT_CHECK_MS;

    while (!atomic_load(&u->stop)) {
        int64_t now = core_mono_ms();

        if (now >= next_refresh) {
            refresh(u);
            audit_start(u);
            next_refresh = now + CRY_KEYS_REFRESH_MS;
        }
        if (u->audit != NULL && now >= next_ckpt) {
            struct core_err err;

            core_err_clear(&err);
            if (cry_audit_checkpoint(u->audit, u->redis, 0, NULL, &err) != 0)
                core_log_debug("audit", NULL, "checkpoint not written: %s", err.msg);
            next_ckpt = now + CRY_UPKEEP_CKPT_CHECK_MS;
        }
        core_sleep_ms(TICK_MS);
    }
    return NULL;
}

struct cry_upkeep *cry_upkeep_start(struct cry_keys *keys, struct cry_audit *audit,
                                    const struct core_redis_opts *opts, const char *reason,
                                    struct core_err *err)
{
    struct cry_upkeep *u = core_calloc(1, sizeof *u);

    cry_upkeep_metrics_init();
    u->keys = keys;
    u->audit = audit;
    u->redis = core_redis_new(opts);
    u->reason = core_strdup(reason != NULL ? reason : "");
    atomic_init(&u->stop, false);
    core_metric_set(&m_version, (long long)cry_keys_version(keys));
    if (pthread_create(&u->thread, NULL, upkeep_main, u) != 0) {
        core_redis_free(u->redis);
        free(u->reason);
        free(u);
        core_err_set(err, CORE_EX_SOFTWARE, "keys: cannot start the upkeep thread");
        return NULL;
    }
    return u;
}

void cry_upkeep_stop(struct cry_upkeep *u)
{
    if (u == NULL)
        return;
    atomic_store(&u->stop, true);
    pthread_join(u->thread, NULL);
    core_redis_free(u->redis);
    free(u->reason);
    free(u);
}
