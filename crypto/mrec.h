/*
 * crypto/mrec.h - the packed member record and its bucket hashes: the one
 * place that knows how a member is laid out in Redis.
 *
 * A member is one value in a bucket hash (docs/internals/crypto.md, "Memory
 * layout"):
 *
 *   js:mb:{hhhh}  hash; field = the member's 16-byte binary mid, value = the
 *                 packed record. hhhh = the first 4 hex digits of the mid:
 *                 65,536 buckets, each a small listpack (Redis keeps a hash
 *                 a listpack while it has at most hash-max-listpack-entries
 *                 fields of at most hash-max-listpack-value bytes: set them
 *                 to 512 and 4096, docs/operations.md). The bucket's {} hash
 *                 tag is the member's cluster slot.
 *
 * Packed record: u8 format (CRY_MREC_FORMAT), then for each present field
 * u8 tag, its length (1 byte below 128, else 2 bytes: low 7 bits | 0x80,
 * then the rest), the bytes. A field is present or absent; absent fields
 * take no room. Tags and value types:
 *
 *   wa uid      sealed wa_id / BSUID (crypto/identity.h), raw bytes
 *   ct li cts jt np sk
 *               non-negative integers below 2^48, little-endian, minimal
 *               length (0 is the empty value)
 *   mg          a mid, 16 binary bytes (text form: 32 hex digits)
 *   st          one byte: the index of the state name in CRY_MREC_STATES
 *   g lang ds dd cv lbl
 *               text, as given
 *
 * Every change is one Lua script on the whole record (read, apply a list of
 * operations, write back), so field-level operations stay atomic: set,
 * delete, set-if-absent, increment, raise-to-maximum, and compare (the
 * record is written only if every compared field still holds the expected
 * value: the compare-and-set of the identity registry). Reading is one
 * HGET, pipelinable (cry_mrec_append_load + cry_mrec_from_reply).
 *
 * Nothing here opens or seals: sealed fields are opaque bytes.
 */
#ifndef JANSEVA_CRYPTO_MREC_H
#define JANSEVA_CRYPTO_MREC_H

#include "core/err.h"
#include "core/redis.h"

#include <stddef.h>
#include <stdint.h>

#define CRY_MREC_FORMAT 1
#define CRY_MREC_MID_BYTES 16
#define CRY_MREC_BUCKET_PREFIX "js:mb:{"
#define CRY_MREC_KEY_MAX 16     /* "js:mb:{abcd}" + NUL, with room */
#define CRY_MREC_MAX 4096       /* longest packed record (bytes) */
#define CRY_MREC_VALUE_MAX 2560 /* longest field value (bytes) */
#define CRY_MREC_INT_MAX ((int64_t)1 << 48)
#define CRY_MREC_OPS_MAX 24
#define CRY_MREC_LISTPACK_ENTRIES 512  /* the Redis setting the layout needs */
#define CRY_MREC_LISTPACK_VALUE 4096   /* ditto, >= CRY_MREC_MAX */

/* Field tags. Values never change (they are stored). */
enum cry_mrec_tag {
    CRY_MR_WA = 1,
    CRY_MR_UID = 2,
    CRY_MR_CT = 3,
    CRY_MR_LI = 4,
    CRY_MR_MG = 5,
    CRY_MR_ST = 6,
    CRY_MR_G = 7,
    CRY_MR_LANG = 8,
    CRY_MR_DS = 9,
    CRY_MR_DD = 10,
    CRY_MR_CV = 11,
    CRY_MR_CTS = 12,
    CRY_MR_JT = 13,
    CRY_MR_NP = 14,
    CRY_MR_SK = 15,
    CRY_MR_LBL = 16,
    CRY_MR_TAGS /* one past the last tag */
};

/* The state names stored as one byte in st, in order (groups/member.h). */
#define CRY_MREC_STATES {"new", "enrolling", "active", "left", "muted", "banned"}
#define CRY_MREC_N_STATES 6

/* A record as read. Values point into `buf` (valid while the struct is). */
struct cry_mrec {
    int exists;                               /* the member has a record */
    const unsigned char *v[CRY_MR_TAGS];      /* NULL when absent */
    size_t len[CRY_MR_TAGS];
    unsigned char buf[CRY_MREC_MAX];
    size_t buf_len;
};

/* A list of operations for one atomic update; see cry_mrec_ops_init. */
struct cry_mrec_ops {
    int n;
    int bad;                                  /* a value could not be encoded */
    char code[CRY_MREC_OPS_MAX][2];           /* op letter, tag */
    const unsigned char *v[CRY_MREC_OPS_MAX]; /* borrowed or into small[] */
    size_t len[CRY_MREC_OPS_MAX];
    unsigned char small[CRY_MREC_OPS_MAX][24];
};

/* ---- names and keys ---- */

/* The bucket key of `mid` (32 hex digits) into `out`. */
void cry_mrec_key(const char *mid, char out[CRY_MREC_KEY_MAX]);

/* 32 hex digits -> 16 bytes; -1 when `mid` is not a mid. */
int cry_mrec_mid_to_bin(const char *mid, unsigned char out[CRY_MREC_MID_BYTES]);

/* The tag of field `name` ("st", "li", ...), or -1. */
int cry_mrec_tag(const char *name);

/* The name of `tag`, or "?" */
const char *cry_mrec_tag_name(int tag);

/* ---- codec (no Redis) ---- */

/*
 * Decode `len` bytes of a packed record into `out` (copied into out->buf).
 * `raw` NULL means no record (exists = 0, every field absent). Returns 0, or
 * -1 with CORE_EX_DATAERR for a malformed record (unknown format, a field
 * running past the end, a repeated or unknown tag, a bad integer): never
 * a partial result.
 */
int cry_mrec_decode(const void *raw, size_t len, struct cry_mrec *out, struct core_err *err);

/*
 * Encode the present fields of `m` (in tag order) into `out` (`cap` bytes).
 * Returns the length, or 0 when it does not fit in `cap` or CRY_MREC_MAX.
 */
size_t cry_mrec_encode(const struct cry_mrec *m, unsigned char *out, size_t cap);

/* The stored bytes of the text form `text` of `tag` (see cry_mrec_str) into
 * `out` (`cap` bytes); *len gets their length. Returns 0, or -1 when it
 * does not encode (not a number, not a state, too long). */
int cry_mrec_encode_value(int tag, const char *text, unsigned char *out, size_t cap,
                          size_t *len);

/* ---- reading fields ---- */

/* Raw bytes of `tag` (NULL when absent; *len may be NULL). */
const unsigned char *cry_mrec_raw(const struct cry_mrec *m, int tag, size_t *len);

/* Integer field (0 when absent). */
int64_t cry_mrec_int(const struct cry_mrec *m, int tag);

/*
 * The text form of `tag` into `out` (`cap` bytes, NUL-terminated, cut when
 * longer): text as is, integers in decimal, st as its name, mg as hex.
 * "" when absent. Returns 1 when present, 0 when absent. Not for sealed
 * fields (binary).
 */
int cry_mrec_str(const struct cry_mrec *m, int tag, char *out, size_t cap);

/* ---- building updates ---- */

/* Start an empty list. */
void cry_mrec_ops_init(struct cry_mrec_ops *o);

/* Set `tag` from its text form (see cry_mrec_str); a value that does not
 * encode (not a state, not a number) makes the update fail. */
void cry_mrec_op_set(struct cry_mrec_ops *o, int tag, const char *text);

/* Set raw bytes (borrowed until the update is sent): sealed fields. */
void cry_mrec_op_set_raw(struct cry_mrec_ops *o, int tag, const void *v, size_t len);

/* Set an integer field. */
void cry_mrec_op_set_int(struct cry_mrec_ops *o, int tag, int64_t v);

/* Set an integer field only when absent (HSETNX). */
void cry_mrec_op_setnx_int(struct cry_mrec_ops *o, int tag, int64_t v);

/* Raise an integer field to `v` when absent or smaller. */
void cry_mrec_op_max(struct cry_mrec_ops *o, int tag, int64_t v);

/* Add `by` (>= 0 result) to an integer field (absent counts as 0). */
void cry_mrec_op_incr(struct cry_mrec_ops *o, int tag, int64_t by);

/* Delete `tag`. */
void cry_mrec_op_del(struct cry_mrec_ops *o, int tag);

/* Compare: the update applies only if `tag` holds exactly these raw bytes
 * (`v` NULL: only if absent). Compares come first in the list's effect
 * whatever their position. */
void cry_mrec_op_expect_raw(struct cry_mrec_ops *o, int tag, const void *v, size_t len);

/* ---- Redis ---- */

/* HGET the record of `mid` into `out`. Returns 0 (exists = 0 when there is
 * none, or when `mid` is not a mid at all) or -1 (Redis error;
 * CORE_EX_DATAERR for a malformed record). */
int cry_mrec_load(struct core_redis *r, const char *mid, struct cry_mrec *out,
                  struct core_err *err);

/* Queue the HGET of cry_mrec_load (pipelining; a string that is not a mid
 * queues a read that answers "no record"); read the reply with
 * core_redis_get_reply and decode it with cry_mrec_from_reply. */
int cry_mrec_append_load(struct core_redis *r, const char *mid, struct core_err *err);

/* Decode a reply queued by cry_mrec_append_load (borrowed). */
int cry_mrec_from_reply(const redisReply *rep, struct cry_mrec *out, struct core_err *err);

/* True (1) if `mid` has a record, 0 if not, -1 on error. */
int cry_mrec_exists(struct core_redis *r, const char *mid, struct core_err *err);

/*
 * Apply `o` to the record of `mid` atomically (one script). *applied (may
 * be NULL) is 1 when written, 0 when a compare failed (nothing written).
 * A record left with no field is deleted. Returns 0, or -1 (Redis error;
 * CORE_EX_DATAERR for a malformed stored record, a value that did not
 * encode, a result larger than CRY_MREC_MAX or a negative counter).
 */
int cry_mrec_update(struct core_redis *r, const char *mid, const struct cry_mrec_ops *o,
                    int *applied, struct core_err *err);

/* Load the update script on `r` (nothing pending): call it before a
 * pipeline of cry_mrec_append_update (and after NOSCRIPT). */
int cry_mrec_prepare(struct core_redis *r, struct core_err *err);

/* Queue the script of cry_mrec_update (pipelining; cry_mrec_prepare
 * first); the reply goes to cry_mrec_update_reply. */
int cry_mrec_append_update(struct core_redis *r, const char *mid, const struct cry_mrec_ops *o,
                           struct core_err *err);

/* After a NOSCRIPT error in a pipeline of updates (Redis restarted): the
 * next update loads the script again. */
void cry_mrec_script_forget(void);

/* Interpret a reply queued by cry_mrec_append_update. */
int cry_mrec_update_reply(const redisReply *rep, int *applied, struct core_err *err);

#endif
