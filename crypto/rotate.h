/*
 * crypto/rotate.h - `janseva keys rotate`: a new data-key version and the
 * re-encryption of every stored member record, while the service runs.
 *
 * Steps (state in the Redis hash CRY_ROTATE_KEY, so a killed run resumes):
 *  1. take the lock CRY_ROTATE_LOCK (SET NX PX, refreshed every batch; a
 *     killed rotator's lock expires after CRY_ROTATE_LOCK_TTL_MS);
 *  2. no rotation running: record state=running target=v+1, then raise
 *     CRY_KEYS_VERSION_KEY to v+1 and write the audit record
 *     keys.rotate.start. Services pick the new version up within
 *     CRY_KEYS_REFRESH_MS; old versions stay derivable for decryption.
 *     A rotation already running is resumed from its saved SCAN cursor;
 *  3. SCAN the member buckets js:mb:{* (crypto/mrec.h) in batches, reading
 *     each bucket whole (HGETALL): every packed record whose sealed fields
 *     are below the target is opened and re-sealed at the target, in the
 *     format the registry uses (cry_identity_seal_field), with a
 *     compare-and-set
 *     (a record the service changed meanwhile is left to it or to the next
 *     pass); the cursor and counters are saved after each batch;
 *  4. a pass that started at least CRY_ROTATE_SETTLE_MS after the version
 *     was raised ends the rotation (records written by a service that had
 *     not seen the new version yet are caught by that pass); earlier passes
 *     are followed by another one;
 *  5. state=done, audit record keys.rotate.finish, lock released.
 *
 * Only member records are re-encrypted. Ingress entries are deleted once
 * processed and dead letters keep their version; both stay readable because
 * every version is derivable from the root key.
 */
#ifndef JANSEVA_CRYPTO_ROTATE_H
#define JANSEVA_CRYPTO_ROTATE_H

#include "core/err.h"
#include "core/redis.h"
#include "crypto/audit.h"
#include "crypto/keys.h"

#include <stdint.h>
#include <stdio.h>

#define CRY_ROTATE_KEY "js:keys:rotation"
#define CRY_ROTATE_LOCK "js:keys:rotation:lock"
#define CRY_ROTATE_LOCK_TTL_MS 3000
#define CRY_ROTATE_SETTLE_MS (2 * CRY_KEYS_REFRESH_MS + 2000)
#define CRY_ROTATE_BATCH 1000

struct cry_rotate_opts {
    const char *actor; /* audit actor, e.g. "cli:root" */
    FILE *progress;    /* one line per second or so; NULL = silent */
    int batch;         /* SCAN COUNT; 0 = CRY_ROTATE_BATCH */
};

struct cry_rotate_result {
    uint32_t from;        /* version before */
    uint32_t target;      /* version after */
    int resumed;          /* continued an interrupted rotation */
    uint64_t scanned;     /* records looked at (all passes, all runs) */
    uint64_t reencrypted; /* records re-sealed */
    uint64_t failed;      /* records that did not open (left as they were) */
    int passes;
    int64_t ms;           /* duration of this run */
    int64_t busy_ms;      /* of which scanning and re-sealing (not settling) */
    uint64_t run_scanned; /* records scanned by this run */
};

/*
 * Run (or resume) a rotation to completion. Returns 0, or -1 with err:
 * CORE_EX_TEMPFAIL when another rotator holds the lock, CORE_EX_UNAVAILABLE
 * for Redis. Records that fail to open are counted, logged by member id and
 * left untouched (the rotation still finishes; the caller decides the exit
 * status from res->failed).
 */
int cry_rotate_run(const struct cry_keys *k, struct cry_audit *a, struct core_redis *r,
                   const struct cry_rotate_opts *o, struct cry_rotate_result *res,
                   struct core_err *err);

/* Print the state of the last or current rotation to `out` (preceded by the
 * current version when `with_version`). */
int cry_rotate_status(struct core_redis *r, FILE *out, int with_version, struct core_err *err);

#endif
