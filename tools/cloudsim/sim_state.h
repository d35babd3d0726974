/*
 * tools/cloudsim/sim_state.h - the simulator's context: the settings that
 * can change at runtime (knobs), its clock, its counters, the access tokens,
 * and handles to every table. One `struct sim` is created by main and
 * passed to every handler; there is no other global state.
 */
#ifndef JANSEVA_SIM_STATE_H
#define JANSEVA_SIM_STATE_H

#include "core/err.h"
#include "tools/cloudsim/sim_cfg.h"
#include "tools/cloudsim/sim_errors.h"
#include "tools/cloudsim/sim_limits.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct sim_faults;
struct sim_records;
struct sim_templates;
struct sim_media;
struct sim_hooks;

/* Rates are kept as parts per million so they can be atomics. */
#define SIM_PPM 1000000

/* Settings a test may change with POST /_sim/config. */
struct sim_knobs {
    atomic_llong mps;
    atomic_llong mps_burst;
    atomic_llong pair_spacing_ms;
    atomic_llong window_ms;
    atomic_llong status_delay_ms;
    atomic_llong deliver_ppm;
    atomic_llong read_ppm;
    atomic_llong skip_delivered_ppm;
    atomic_llong dup_ppm;
    atomic_llong reorder_ppm;
    pthread_mutex_t url_lock;
    char *webhook_url;  /* under url_lock; NULL = none */
    atomic_int has_url; /* webhook_url != NULL, readable without the lock */
};

/*
 * The simulator's clock: wall time at start plus monotonic time since,
 * plus an offset tests move (advance) and an optional freeze.
 */
struct sim_clock {
    int64_t wall0;
    int64_t mono0;
    atomic_llong offset_ms;
    atomic_llong frozen_base; /* SIM_NEVER when running */
    pthread_mutex_t lock;     /* serialises freeze/unfreeze/advance */
};

struct sim_counters {
    atomic_llong requests;    /* messages endpoint requests */
    atomic_llong accepted;    /* 200 with a wamid, delivered normally */
    atomic_llong failed;      /* 200 with a wamid, then a failed status */
    atomic_llong rejected;    /* answered with an error */
    atomic_llong no_response; /* timeout/reset faults */
    atomic_llong marked_read; /* mark-as-read answered success */
    atomic_llong faults;      /* requests a fault acted on */
    atomic_llong by_code[SIM_N_CODES];
    atomic_llong by_code_other;
    atomic_llong st_sent, st_delivered, st_read, st_failed, st_duplicates;
    atomic_llong hook_posts, hook_ok, hook_failed, hook_retries, hook_given_up, hook_dropped;
    atomic_llong inbound, inbound_ok, inbound_failed;
    atomic_llong media_uploads, media_downloads;
};

/* Why a bearer token was refused (0 = accepted). */
enum sim_token_verdict {
    SIM_TOKEN_OK = 0,
    SIM_TOKEN_MISSING,
    SIM_TOKEN_INVALID,
    SIM_TOKEN_REVOKED,
    SIM_TOKEN_EXPIRED,
};

struct sim {
    const struct sim_cfg *cfg; /* borrowed, read-only */
    struct sim_knobs knobs;
    struct sim_clock clock;
    struct sim_counters counters;
    uint64_t seed;
    uint64_t salt;          /* makes wamids unique across runs */
    atomic_ullong req_seq;  /* Graph API requests, for the RNG streams */
    atomic_ullong id_seq;   /* wamids and media ids */
    atomic_uint generation; /* bumped by reset; stale webhooks are not counted */
    int port;               /* bound port */
    char base_url[256];     /* media URLs start with this */
    /* tokens */
    pthread_rwlock_t tokens_lock;
    char **tokens; /* accepted (configured + added) */
    size_t n_tokens;
    json_t *token_states;   /* token -> "revoked" | "expired" */
    atomic_int token_rules; /* tokens configured or states set: check needed */
    /* tables */
    struct sim_limits *limits;
    struct sim_faults *faults;
    struct sim_records *records;
    struct sim_templates *templates;
    struct sim_media *media;
    struct sim_hooks *hooks;
};

/* Build the context from `cfg` (borrowed; must outlive it). Never fails. */
struct sim *sim_new(const struct sim_cfg *cfg);

/* Stop the webhook emitter and free everything. NULL is a no-op. */
void sim_free(struct sim *s);

/* Reset to the startup state, keeping templates and media (POST /_sim/reset). */
void sim_reset(struct sim *s);

/* ---- clock ---- */

/* The simulator's time in Unix milliseconds. */
int64_t sim_now_ms(struct sim *s);

/* Move the clock by `delta_ms` (may be negative). */
void sim_clock_advance(struct sim *s, int64_t delta_ms);

/* Freeze (non-zero) or resume the clock without a jump. */
void sim_clock_freeze(struct sim *s, int freeze);

/* {"now_ms","offset_ms","frozen"} (new reference). */
json_t *sim_clock_json(struct sim *s);

/* ---- knobs ---- */

/* The limits in force now. */
void sim_knobs_limits(struct sim *s, struct sim_limit_params *p);

/* A rate knob as a probability. */
double sim_knob_rate(atomic_llong *ppm);

/* A copy of the webhook URL (caller frees), or NULL. */
char *sim_webhook_url(struct sim *s);

/* Apply {"mps":..,"webhook_url":..,...} (borrowed). Returns 0 or -1 with err. */
int sim_knobs_update(struct sim *s, const json_t *v, struct core_err *err);

/* The knobs as JSON (new reference). */
json_t *sim_knobs_json(struct sim *s);

/* ---- tokens ---- */

/* Check an Authorization header value (NULL = absent). */
enum sim_token_verdict sim_token_check(struct sim *s, const char *authorization);

/* Set a token's state: "valid" (also accepts it), "revoked" or "expired". */
int sim_token_set(struct sim *s, const char *token, const char *state, struct core_err *err);

/* ---- ids and counters ---- */

/* A fresh wamid ("wamid." + base64 of 24 bytes) into `out`. */
#define SIM_WAMID_LEN 48
void sim_new_wamid(struct sim *s, char out[SIM_WAMID_LEN]);

/* Count an error answer or failed status with `code`. */
void sim_count_code(struct sim *s, int code);

/* Every counter as JSON (new reference; see docs/cloudsim.md). */
json_t *sim_counters_json(struct sim *s);

/* The phone_number_id inbound messages use when none is given. */
const char *sim_default_pnid(const struct sim *s);

/* The display number of `pnid`. */
const char *sim_display_of(const struct sim *s, const char *pnid);

/* Non-zero when `pnid` may be used (no --phone-number-id given, or listed). */
int sim_number_known(const struct sim *s, const char *pnid);

#endif
