/*
 * crypto/upkeep.h - the crypto housekeeping thread of a running service.
 *
 * One thread per `janseva serve` process, with its own Redis connection:
 *  - re-reads the current data-key version every CRY_KEYS_REFRESH_MS (so a
 *    `janseva keys rotate` is picked up without a restart) and exports it as
 *    the janseva_keys_version gauge;
 *  - appends the audit record service.start (with the key ids) as soon as
 *    Redis answers;
 *  - signs an audit checkpoint when one is due (CRY_AUDIT_CKPT_MAX_AGE_MS
 *    after the last, when there are new records).
 */
#ifndef JANSEVA_CRYPTO_UPKEEP_H
#define JANSEVA_CRYPTO_UPKEEP_H

#include "core/err.h"
#include "core/redis.h"
#include "crypto/audit.h"
#include "crypto/keys.h"

#define CRY_UPKEEP_CKPT_CHECK_MS 5000

struct cry_upkeep;

/*
 * Start the thread. `keys` and `audit` are borrowed and must outlive it
 * (audit may be NULL: no audit work); `opts` strings are copied. `reason` is
 * the text of the service.start record (copied). Returns NULL with err only
 * when the thread cannot be created.
 */
struct cry_upkeep *cry_upkeep_start(struct cry_keys *keys, struct cry_audit *audit,
                                    const struct core_redis_opts *opts, const char *reason,
                                    struct core_err *err);

/* Stop the thread (within about 200 ms), then free. NULL is a no-op. */
void cry_upkeep_stop(struct cry_upkeep *u);

/* Register the janseva_keys_version gauge. */
void cry_upkeep_metrics_init(void);

#endif
