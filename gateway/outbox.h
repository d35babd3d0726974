/*
 * gateway/outbox.h - what producers (replies, relays, alerts, the send CLI)
 * call to send a WhatsApp message. The dispatcher (dispatch.h) does the
 * sending.
 *
 * A message is queued in one of three priority lanes of its business number
 * - replies and dialogue prompts, then alerts, then relays and digests -
 * as an entry of the Redis stream js:out:{NUMBER}:LANE, so nothing queued
 * is lost on a restart. Each message has an idempotency key chosen by the
 * producer (e.g. "reply:<event key>", "bc:<broadcast>:<member>"): queueing
 * the same key twice within 7 days queues it once (one Lua step with the
 * stream, in the number's hash slot).
 *
 * The message (Graph body without messaging_product/to) and its template
 * fallback are sealed with the vault before they reach Redis: posts can
 * carry names and numbers people typed. The recipient is a member id; the
 * dispatcher looks the WhatsApp identity up only when it sends. A recipient
 * may also be "<kind>:<id>" - "tip:<case id>" for a reply to a tipster -
 * which the dispatcher resolves to a member id only at send time through a
 * resolver (gw_dispatch_add_resolver), so the producer never handles the
 * member id.
 */
#ifndef JANSEVA_GATEWAY_OUTBOX_H
#define JANSEVA_GATEWAY_OUTBOX_H

#include "core/err.h"
#include "core/redis.h"
#include "crypto/keys.h"

#include <jansson.h>
#include <stdint.h>

#define GW_LANES 3
#define GW_KEY_HASH_LEN 33 /* 16-byte hash as hex + NUL */
#define GW_OUT_KEY_MAX 200 /* longest idempotency key */
#define GW_OUT_DEDUPE_S 604800
#define GW_OUT_RCPT_MAX 64 /* longest recipient: a mid, or "<kind>:<id>" */

enum gw_lane {
    GW_LANE_REPLY = 0, /* answers, dialogue prompts, officer confirmations */
    GW_LANE_ALERT = 1, /* officer alerts, escalations */
    GW_LANE_BULK = 2,  /* relayed posts, digests */
};

/* A message to queue. Everything is borrowed for the call. */
struct gw_outmsg {
    const char *key;        /* idempotency key (no personal data) */
    const char *number;     /* business phone_number_id to send from */
    enum gw_lane lane;
    const char *mid;        /* recipient: member id, or "<kind>:<id>" (above) */
    const json_t *message;  /* e.g. {"type":"text","text":{"body":"..."}} */
    const json_t *fallback; /* template message used outside the 24 h window, or NULL */
    const char *broadcast;  /* broadcast id for delivery counters, or NULL */
    int64_t not_before_ms;  /* wall-clock ms before which it must not go; 0 = now */
    const char *group;      /* locality code of the group the message is for (a relay), or
                             * NULL: the dispatcher's send check drops it when the
                             * recipient is no longer in that group (sealed with the body) */
};

/*
 * Queue `m`. *duplicate (may be NULL) is set to 1 when the key was already
 * queued (nothing is added). Returns 0, or -1 (bad message: CORE_EX_DATAERR;
 * Redis: CORE_EX_UNAVAILABLE / CORE_EX_SOFTWARE).
 */
int gw_outbox_enqueue(struct core_redis *r, const struct cry_keys *keys,
                      const struct gw_outmsg *m, int *duplicate, struct core_err *err);

/*
 * Queue `n` messages through one pipeline (fan-outs: broadcasts, relays).
 * Same rules as gw_outbox_enqueue for each message; consecutive messages
 * that share their `message` and `fallback` pointers are serialised once.
 * duplicates[i] (the array may be NULL) is set to 1 for a key that was
 * already queued; *queued (may be NULL) gets the number newly queued. All
 * messages are checked before anything is sent. On -1 some messages may be
 * queued and others not: run the same batch again (keys make it safe).
 */
int gw_outbox_enqueue_batch(struct core_redis *r, const struct cry_keys *keys,
                            const struct gw_outmsg *msgs, size_t n, int *duplicates,
                            size_t *queued, struct core_err *err);

/* The hash of an idempotency key, as used in Redis key names. */
void gw_outbox_key_hash(const char *key, char out[GW_KEY_HASH_LEN]);

/* Stream key of a lane: js:out:{NUMBER}:LANE. */
void gw_outbox_lane_key(const char *number, enum gw_lane lane, char *out, size_t n);

/* Key of a shared body: js:out:{NUMBER}:b:<ref> (see gw_outbox_enqueue_batch). */
void gw_outbox_body_key(const char *number, const char *ref, char *out, size_t n);

/*
 * The payload {"message":..,"fallback":..,"g":..} of a lane entry of
 * `number` (`fields`: the entry's field/value array): its own sealed `p`,
 * or the shared body its `r` names (one GET). Returns a new reference, or
 * NULL with err (CORE_EX_NOINPUT: the body is gone; CORE_EX_DATAERR: does
 * not open). For tools and tests; the dispatcher caches bodies itself.
 */
json_t *gw_outbox_entry_open(struct core_redis *r, const struct cry_keys *keys,
                             const char *number, const redisReply *fields, struct core_err *err);

/* "reply", "alert", "bulk". */
const char *gw_lane_name(enum gw_lane lane);

/* Seal/open the payload {"message":..,"fallback":..} of message `kh`.
 * Seal returns a malloc'd buffer; open returns a new JSON reference. */
unsigned char *gw_outbox_seal(const struct cry_keys *keys, const char *kh, const json_t *payload,
                              size_t *len, struct core_err *err);
json_t *gw_outbox_open(const struct cry_keys *keys, const char *kh, const unsigned char *sealed,
                       size_t len, struct core_err *err);

#endif
