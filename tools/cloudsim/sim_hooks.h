/*
 * tools/cloudsim/sim_hooks.h - webhooks the simulator sends to the
 * configured URL, signed like Meta's (X-Hub-Signature-256 = HMAC-SHA256
 * of the raw body with the app secret):
 *
 *   - status webhooks for every accepted message: sent, delivered, read
 *     (or one failed with its error), planned when the send is accepted
 *     from the seeded RNG: delays, reads without a delivered, duplicates,
 *     swapped order. Statuses due close together for one number share a
 *     POST (Meta batches). One emitter thread drives libcurl's multi
 *     interface with many POSTs in flight; a failed POST (connection error
 *     or non-2xx) is retried with doubling delays for a bounded time.
 *   - inbound message webhooks (POST /_sim/inbound), sent at once from the
 *     calling thread so the caller learns the gateway's answer.
 *
 * Bodies are compact JSON with non-ASCII characters and slashes escaped
 * (\u0915, \/), as Meta sends them: a receiver must verify the raw bytes.
 */
#ifndef JANSEVA_SIM_HOOKS_H
#define JANSEVA_SIM_HOOKS_H

#include "core/err.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct sim;
struct sim_hooks;

/* An accepted message: what its statuses need. Pointers are borrowed. */
struct sim_outbound {
    const char *wamid;
    const char *pnid;
    const char *recipient; /* wa_id digits or BSUID */
    int bsuid;
    const char *biz_opaque; /* echoed in every status, or NULL */
    const char *category;   /* pricing.category: service, utility, marketing, ... */
    int billable;
    int fail_code;            /* 0: delivered normally; else one failed status */
    const char *fail_details; /* NULL = the catalogue text */
    int64_t now_ms;           /* simulator clock at acceptance */
    uint64_t rng;             /* this message's random state */
};

/* The emitter of `s` (borrowed). Never fails; start it with sim_hooks_start(). */
struct sim_hooks *sim_hooks_new(struct sim *s);

/* Start the emitter thread. 0, or -1 with err. */
int sim_hooks_start(struct sim_hooks *h, struct core_err *err);

/* Stop the thread, abandon queued statuses and in-flight POSTs, free. NULL is a no-op. */
void sim_hooks_free(struct sim_hooks *h);

/* Abandon every queued status and retry (POST /_sim/reset). */
void sim_hooks_reset(struct sim_hooks *h);

/*
 * Plan the statuses of `m` and queue them when a webhook URL is set.
 * Returns the plan as JSON text for the record (caller frees):
 *   {"statuses":[...],"order":[...],"duplicates":[...],"failed":CODE,"queued":bool}
 */
char *sim_hooks_submit(struct sim_hooks *h, const struct sim_outbound *m);

/*
 * Wrap `value` (stolen) in Meta's envelope for `pnid`, serialise it like
 * Meta and return the text (caller frees).
 */
char *sim_hooks_envelope(struct sim *s, const char *pnid, json_t *value, size_t *len);

/*
 * POST `body` to the webhook URL now, signed, from the calling thread.
 * Returns the HTTP status, or 0 with `why` (static text) when there is no
 * URL or the connection failed.
 */
long sim_hooks_post_now(struct sim_hooks *h, const char *body, size_t len, const char **why);

/* {"queued":N,"in_flight":N} (new reference). */
json_t *sim_hooks_stats(struct sim_hooks *h);

#endif
