/*
 * tools/cloudsim/sim_limits.h - Meta's sending limits as the simulator
 * enforces them, and what it remembers about recipients:
 *
 *   - throughput: a token bucket per business number (`mps` tokens per
 *     second, `burst` at most); a send finding it empty gets 130429;
 *   - pair rate: two accepted sends from one number to one recipient closer
 *     than `spacing_ms` - the second gets 131056;
 *   - the customer service window: when each recipient last wrote to each
 *     number (inbound messages), so free-form sends outside it fail 131047;
 *   - the ids of inbound messages, which mark-as-read must name.
 *
 * Times are the simulator's clock (sim_now_ms), so tests move them with
 * POST /_sim/clock instead of sleeping. Recipient entries that no longer
 * matter (spacing passed, window closed) are swept, so memory follows the
 * active recipients. Thread-safe: a lock per number and 64 recipient
 * shards; no lock is held while anything else runs.
 */
#ifndef JANSEVA_SIM_LIMITS_H
#define JANSEVA_SIM_LIMITS_H

#include <jansson.h>
#include <stdint.h>

#define SIM_NEVER INT64_MIN

struct sim_limits;

/* The limits in force for one decision (from the runtime knobs). */
struct sim_limit_params {
    int64_t mps;
    int64_t burst;
    int64_t spacing_ms; /* 0 = no pair limit */
    int64_t window_ms;  /* 0 = the window is always open */
};

/* Empty tables. Never fails. Free with sim_limits_free(). */
struct sim_limits *sim_limits_new(void);

/* NULL is a no-op. */
void sim_limits_free(struct sim_limits *l);

/* Forget every number, recipient and inbound id. */
void sim_limits_reset(struct sim_limits *l);

/*
 * Decide one send from `pnid` to `recipient` at `now`: returns 0 and charges
 * both limits, or 130429 (bucket empty) or 131056 (pair spacing), charging
 * nothing. `mono_ms` feeds the per-number rate gauges.
 */
int sim_limits_admit(struct sim_limits *l, const char *pnid, const char *recipient, int64_t now,
                     int64_t mono_ms, const struct sim_limit_params *p);

/* Record that `recipient` wrote to `pnid` at `when` (SIM_NEVER forgets it). */
void sim_limits_set_inbound(struct sim_limits *l, const char *pnid, const char *recipient,
                            int64_t when, const struct sim_limit_params *p);

/* When `recipient` last wrote to `pnid`, or SIM_NEVER. */
int64_t sim_limits_last_inbound(struct sim_limits *l, const char *pnid, const char *recipient);

/* Remember an inbound message id for mark-as-read (the oldest are forgotten). */
void sim_limits_add_inbound_id(struct sim_limits *l, const char *pnid, const char *wamid);

/* Non-zero if `wamid` is an inbound message to `pnid`. */
int sim_limits_inbound_id_known(struct sim_limits *l, const char *pnid, const char *wamid);

/*
 * Per-number gauges (new reference): {"<pnid>":{"mps":N,"peak_mps":N,
 * "accepted":N,"throttled":N,"tokens":X}}. "mps" counts the sends accepted
 * in the last complete second.
 */
json_t *sim_limits_numbers_json(struct sim_limits *l, int64_t mono_ms);

/* Number of recipient entries held (for the counters). */
size_t sim_limits_recipients(struct sim_limits *l);

#endif
