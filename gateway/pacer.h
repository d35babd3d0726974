/*
 * gateway/pacer.h - WhatsApp's two rate limits, enforced in Redis so that
 * every dispatcher process shares them.
 *
 * 1. Per business number: a token bucket refilled at `mps` tokens a second
 *    with a small capacity (1/20 s worth, at least 1), so sends are spread
 *    evenly instead of bursting at second boundaries (Meta answers 130429
 *    above the number's throughput). The bucket lives in
 *    js:out:{NUMBER}:tb and uses Redis server time, so clocks of dispatcher
 *    hosts do not matter.
 * 2. Per recipient: at most one message every `spacing_ms` (default 6 s;
 *    Meta answers 131056 when a business number writes to one user too
 *    fast). A recipient's slot is js:out:{NUMBER}:r:MEMBER with a TTL; a
 *    busy recipient is deferred without holding anyone else up.
 */
#ifndef JANSEVA_GATEWAY_PACER_H
#define JANSEVA_GATEWAY_PACER_H

#include "core/err.h"
#include "core/redis.h"

#include <stdint.h>

/*
 * Take up to `want` send tokens for `number` at `mps` messages a second.
 * *granted receives how many were given (0..want). Returns 0 or -1.
 */
int gw_pacer_take(struct core_redis *r, const char *number, double mps, int want, int *granted,
                  struct core_err *err);

/*
 * Claim the recipient slot of member `mid` on `number` for `spacing_ms`.
 * *wait_ms receives 0 when the slot was free (now taken), else how long
 * until it frees. Returns 0 or -1.
 */
int gw_pacer_recipient(struct core_redis *r, const char *number, const char *mid,
                       int64_t spacing_ms, int64_t *wait_ms, struct core_err *err);

/*
 * Push the recipient's next slot to at least `ms` from now (after Meta
 * answered 131056 anyway). Returns 0 or -1.
 */
int gw_pacer_recipient_hold(struct core_redis *r, const char *number, const char *mid,
                            int64_t ms, struct core_err *err);

#endif
