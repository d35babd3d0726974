/*
 * gateway/dispatch.h - the dispatcher role: takes queued messages out of the
 * outbox lanes (outbox.h) and sends them through the Graph API without ever
 * breaking WhatsApp's rules, then tracks their delivery.
 *
 * For every business number (cfg->phone_numbers):
 *  - lanes in priority order: replies, then alerts, then relays;
 *  - a token bucket shared by every dispatcher process (dispatch_mps), and a
 *    spacing slot per recipient (dispatch_pair_spacing_ms): a member whose
 *    slot is busy is deferred without holding anyone else up;
 *  - the 24-hour window, from the member's last inbound message: free-form
 *    messages only inside it, the producer's template fallback outside it
 *    (no fallback: dead letter "window closed");
 *  - answers by error code: throttling backs the number off; 131056 delays
 *    that member; 131047 switches to the template; 190/368/133010 pause the
 *    number and raise an alert (it probes again after 60 s, doubling to
 *    10 min); permanent errors go to js:out:dead with the reason; transient
 *    ones are retried with exponential backoff and jitter
 *    (dispatch_max_attempts); deferred messages wait in js:out:{NUMBER}:delay.
 *
 * Idempotency and crashes: before each HTTP send the message's state
 * (js:msg:{...}) becomes "sending"; the key of the message travels as
 * biz_opaque_callback_data and comes back in status webhooks. A message found
 * "sending" (a crash mid-send) or "unknown" (timeout or reset after the
 * request went out) is sent again only after dispatch_ambiguous_grace_ms and
 * only if no status webhook for it arrived meanwhile. The one remaining
 * window for a duplicate: Meta accepted the first send but no status for it
 * reached us within the grace period (docs/dispatch.md).
 */
#ifndef JANSEVA_GATEWAY_DISPATCH_H
#define JANSEVA_GATEWAY_DISPATCH_H

#include "core/buf.h"
#include "core/config.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "gateway/router.h"

struct gw_dispatch;

/*
 * Create the dispatcher for cfg->phone_numbers. `cfg`, `keys` and `ident`
 * are borrowed. Fails (CORE_EX_CONFIG) without phone numbers, or in live
 * mode without an access token.
 */
struct gw_dispatch *gw_dispatch_new(const struct core_cfg *cfg, const struct cry_keys *keys,
                                    struct cry_identity *ident, struct core_err *err);

/*
 * Recipients that are not members. A queued message's recipient is a member
 * id, or "<kind>:<id>" (e.g. "tip:<case id>", docs/tips.md): the dispatcher
 * asks the resolver registered for that prefix for the member id to send to
 * - on its own Redis connection, at send time. The member id is used for
 * that one send only (window, merges, the WhatsApp identity) and wiped: it
 * never reaches a log line, a queue entry or a message state, which all
 * keep "<kind>:<id>". A resolver returns 0 with `mid` filled, or -1:
 * CORE_EX_UNAVAILABLE retries later, anything else gives the message up
 * ("recipient unknown").
 */
#define GW_DISPATCH_MAX_RESOLVERS 4

typedef int (*gw_rcpt_resolver)(void *ud, struct core_redis *r, const char *rcpt,
                                char mid[GW_MEMBER_ID_LEN], struct core_err *err);

/* Register the resolver of recipients starting with `prefix` (a static
 * string ending in ':'). Before gw_dispatch_start(). `ud` is borrowed. */
void gw_dispatch_add_resolver(struct gw_dispatch *d, const char *prefix, gw_rcpt_resolver fn,
                              void *ud);

/*
 * Send-time check (docs/dispatch.md, "Who still receives"). Before a
 * message of lane alert or bulk goes to a member, the dispatcher asks `fn`,
 * on its own Redis connection, whether it still may: 1 send; 0 drop it
 * (*reason: a static word, "stopped", "banned", "left_group" or
 * "cancelled"); -1 error (CORE_EX_UNAVAILABLE: the message waits; any other
 * error: it is sent, as without a check). `mid` is the recipient after
 * merges, `broadcast` the message's broadcast id or "", `group` the group
 * code it was queued for (gw_outmsg.group) or "". Replies (lane reply) are
 * never checked. A dropped message is acknowledged, never sent, its state
 * becomes "dropped" and, for a broadcast, it moves from `queued` to
 * `skipped` (and counts in `dropped`). Register before gw_dispatch_start;
 * `ud` is borrowed. The groups/ side is grp_sendcheck (groups/sendcheck.h):
 * the gateway knows nothing of members' states.
 */
typedef int (*gw_send_check)(void *ud, struct core_redis *r, const char *mid,
                             const char *broadcast, const char *group, const char **reason,
                             struct core_err *err);

void gw_dispatch_set_send_check(struct gw_dispatch *d, gw_send_check fn, void *ud);

/* Start the dispatcher thread. */
int gw_dispatch_start(struct gw_dispatch *d, struct core_err *err);

/* Stop: sends in flight are abandoned and stay "sending" (see above). */
void gw_dispatch_stop(struct gw_dispatch *d);

/* Stop if running and free. NULL is a no-op. */
void gw_dispatch_free(struct gw_dispatch *d);

/* Metrics collector (core_metrics_collector): queue depths, paused numbers,
 * current rate per number. `ud` is the struct gw_dispatch. */
void gw_dispatch_collect(void *ud, struct core_buf *out);

/* Register the dispatch metrics. */
void gw_dispatch_metrics_init(void);

/*
 * Router handler for status webhooks: applies sent < delivered < read
 * (failed terminal) to the message's state, once per transition, and the
 * counters of the broadcast it belongs to. `ud` is the struct cry_keys.
 */
int gw_delivery_handler(void *ud, struct gw_router_ctx *ctx, const struct gw_event *ev,
                        struct core_err *err);

/* Delivery state of a queued message, by idempotency key (tests, CLI).
 * Writes "queued", "sending", "accepted", "sent", "delivered", "read",
 * "failed", "dropped", "dead" or "unknown" into `out`. Returns 0 or -1. */
int gw_dispatch_state(struct core_redis *r, const char *key, const char *broadcast, char *out,
                      size_t n, struct core_err *err);

#endif
