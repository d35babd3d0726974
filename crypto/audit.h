/*
 * crypto/audit.h - the append-only, hash-chained, signed audit log.
 *
 * Records live in the Redis stream CRY_AUDIT_LOG with fields
 *   seq  1, 2, 3, ... (no gaps)
 *   e    the entry: canonical JSON (compact, ASCII, fixed key order)
 *        {"seq":N,"ts":MS,"actor":..,"action":..,"object":..,"reason":..,"prev":HEX}
 *   h    hex of h_N = BLAKE2b-256(h_{N-1} || u32be len(e) || e), h_0 = 32 zero bytes
 * and CRY_AUDIT_HEAD holds "N HEX" of the last record. Appenders serialise
 * with WATCH head / MULTI XADD SET / EXEC and retry when another appender
 * won (all keys share the {audit} hash tag, so this works on a cluster).
 * The WATCH and the transaction are pipelined on one connection and never
 * retried on a fresh one, so a reconnect cannot drop the WATCH silently.
 *
 * Checkpoints in CRY_AUDIT_CKPT (fields seq, ts, h, sig, kid) sign
 *   "janseva-audit-checkpoint-v1|<seq>|<ts ms>|<hex h>"
 * with the audit Ed25519 key: after every CRY_AUDIT_CKPT_EVERY records, at
 * least every CRY_AUDIT_CKPT_MAX_AGE_MS when there were new records (the
 * service's upkeep thread), on `janseva audit checkpoint` and before export.
 * Hash chain alone proves order and completeness only up to whoever can
 * recompute it; the signed checkpoints, exported off the server, are what
 * an attacker with Redis access cannot forge.
 *
 * Entries carry ids (member ids, case ids, key ids, user names of officers),
 * never phone numbers, BSUIDs or profile names: the log is exported and
 * read by people who must not learn them.
 */
#ifndef JANSEVA_CRYPTO_AUDIT_H
#define JANSEVA_CRYPTO_AUDIT_H

#include "core/err.h"
#include "core/redis.h"
#include "crypto/keys.h"

#include <stdint.h>
#include <stdio.h>

#define CRY_AUDIT_LOG "js:{audit}:log"
#define CRY_AUDIT_HEAD "js:{audit}:head"
#define CRY_AUDIT_CKPT "js:{audit}:ckpt"
#define CRY_AUDIT_HASHBYTES 32
#define CRY_AUDIT_HASH_HEX (2 * CRY_AUDIT_HASHBYTES + 1)
#define CRY_AUDIT_CKPT_EVERY 100
#define CRY_AUDIT_CKPT_MAX_AGE_MS 60000
#define CRY_AUDIT_FIELD_MAX 512 /* longest actor, action, object or reason */
#define CRY_AUDIT_CKPT_DOMAIN "janseva-audit-checkpoint-v1"
#define CRY_AUDIT_EXPORT_TYPE "janseva-audit-export"

struct cry_audit;

/* The outcome of a verification. */
struct cry_audit_report {
    uint64_t records;      /* records checked */
    uint64_t checkpoints;  /* checkpoints whose signature and hash were checked */
    uint64_t first_seq;    /* first record checked (0 if none) */
    uint64_t last_seq;     /* last record checked */
    uint64_t signed_upto;  /* highest record covered by a valid checkpoint */
    int broken;            /* 1 when a problem was found */
    uint64_t bad_seq;      /* the first broken or missing record (0: none or n/a) */
    char problem[CORE_ERR_LEN]; /* one line naming it */
};

/* A writer over `keys` (borrowed: signs checkpoints). Never fails. */
struct cry_audit *cry_audit_new(const struct cry_keys *keys);

/* Free; NULL is a no-op. */
void cry_audit_free(struct cry_audit *a);

/* Register the audit metrics. */
void cry_audit_metrics_init(void);

/*
 * Append one record. `actor` (who: "system", "cli:<user>", an officer id),
 * `action` (dotted verb, "keys.rotate.start") and `object` (what, by id) are
 * required; `reason` may be NULL. Each at most CRY_AUDIT_FIELD_MAX bytes.
 * Writes a checkpoint when one is due. *seq (may be NULL) gets the record's
 * number. Returns 0 or -1 (CORE_EX_UNAVAILABLE: Redis; CORE_EX_TEMPFAIL:
 * too much contention; CORE_EX_USAGE: bad fields).
 */
int cry_audit_append(struct cry_audit *a, struct core_redis *r, const char *actor,
                     const char *action, const char *object, const char *reason, uint64_t *seq,
                     struct core_err *err);

/*
 * Sign the current head into a checkpoint when there are records not yet
 * covered and either `force` is set, CRY_AUDIT_CKPT_EVERY records passed or
 * the last checkpoint is older than CRY_AUDIT_CKPT_MAX_AGE_MS. *seq (may be
 * NULL) gets the record signed, or 0 when nothing was due.
 */
int cry_audit_checkpoint(struct cry_audit *a, struct core_redis *r, int force, uint64_t *seq,
                         struct core_err *err);

/* h = BLAKE2b-256(prev || u32be len || entry). */
void cry_audit_chain(const unsigned char prev[CRY_AUDIT_HASHBYTES], const char *entry,
                     size_t len, unsigned char h[CRY_AUDIT_HASHBYTES]);

/* The string a checkpoint signs, into `out` (n bytes). */
void cry_audit_ckpt_message(uint64_t seq, int64_t ts, const char *h_hex, char *out, size_t n);

/*
 * Verify the log in Redis against the audit public key `pk`: sequence, chain,
 * hashes, head, and every checkpoint's signature and hash. `from` (NULL: the
 * start) is a record number or a stream id; the first record checked is then
 * trusted for its `prev`. Returns 0 when the check ran (rep->broken tells the
 * result) or -1 when it could not (Redis unreachable).
 */
int cry_audit_verify_redis(const unsigned char pk[CRY_SIGN_PUBLICKEYBYTES], struct core_redis *r,
                           const char *from, struct cry_audit_report *rep, struct core_err *err)
    __attribute__((warn_unused_result));

/*
 * Verify an export file (JSON lines, see cry_audit_export). The file must
 * end with records covered by a signed checkpoint. Returns 0 when the check
 * ran (rep->broken) or -1 on an I/O error.
 */
int cry_audit_verify_file(const unsigned char pk[CRY_SIGN_PUBLICKEYBYTES], FILE *in,
                          struct cry_audit_report *rep, struct core_err *err)
    __attribute__((warn_unused_result));

/*
 * Write the log as JSON lines to `out`: a header line (type
 * "janseva-audit-export", format, public key, key id), every checkpoint
 * (type "checkpoint"), then every record (type "record" with id, seq, e, h).
 * When `a` is not NULL a checkpoint of the current head is written first so
 * the export is signed to its end. *records (may be NULL) gets the count.
 */
int cry_audit_export(struct cry_audit *a, const unsigned char pk[CRY_SIGN_PUBLICKEYBYTES],
                     const char *key_id, struct core_redis *r, FILE *out, uint64_t *records,
                     struct core_err *err);

#endif
