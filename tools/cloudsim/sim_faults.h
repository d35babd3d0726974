/*
 * tools/cloudsim/sim_faults.h - faults injected on command
 * (POST /_sim/faults). A fault has a mode, an optional scope (which
 * endpoints, which number, which recipient), a lifetime (the next `count`
 * matching requests and/or `duration_ms`) and a hit probability drawn from
 * the seeded RNG. Faults are checked in the order they were added; the
 * first one that applies decides, except `slow`, which only adds delay.
 *
 * Two phases: "pre" faults act before authentication and validation (as a
 * load balancer or an outage would): 5xx, slow, timeout, reset, throttle,
 * token_expired, blocked, not_registered, error. "post" faults need a
 * valid send: pair_limit, undeliverable, and error with "async": true.
 *
 * Thread-safe; with no fault active the check is one atomic load.
 */
#ifndef JANSEVA_SIM_FAULTS_H
#define JANSEVA_SIM_FAULTS_H

#include "core/err.h"

#include <jansson.h>
#include <stdint.h>

#define SIM_FAULT_TEXT_LEN 200

enum sim_fault_mode {
    SIM_FAULT_5XX,
    SIM_FAULT_SLOW,
    SIM_FAULT_TIMEOUT,
    SIM_FAULT_RESET,
    SIM_FAULT_THROTTLE,
    SIM_FAULT_TOKEN_EXPIRED,
    SIM_FAULT_BLOCKED,
    SIM_FAULT_NOT_REGISTERED,
    SIM_FAULT_ERROR,
    SIM_FAULT_PAIR_LIMIT,
    SIM_FAULT_UNDELIVERABLE,
};

enum sim_fault_phase { SIM_PHASE_PRE, SIM_PHASE_POST };

/* Which endpoints a fault covers. */
enum sim_fault_scope {
    SIM_SCOPE_MESSAGES = 1, /* POST .../messages (default) */
    SIM_SCOPE_MEDIA = 2,    /* media upload, media info and download */
    SIM_SCOPE_ALL = 3,
};

/* What a matching fault asks for. */
struct sim_fault_hit {
    int id; /* the fault's id */
    enum sim_fault_mode mode;
    int http;                         /* HTTP status to answer (0 = the code's) */
    int code;                         /* Graph error code (0 for 5xx without body code) */
    int async;                        /* deliver `code` as a failed status instead */
    int process;                      /* timeout/reset: accept the send before dropping */
    int64_t hold_ms;                  /* timeout: how long to hold the connection */
    char message[SIM_FAULT_TEXT_LEN]; /* "" = the catalogue's */
    char details[SIM_FAULT_TEXT_LEN]; /* "" = the message */
};

struct sim_faults;

/* No faults. Never fails. */
struct sim_faults *sim_faults_new(void);

/* NULL is a no-op. */
void sim_faults_free(struct sim_faults *f);

/*
 * Add a fault from its JSON description (borrowed; see docs/cloudsim.md).
 * Returns its id (> 0), or -1 with err (CORE_EX_DATAERR) saying what is
 * wrong. `now_mono` starts a duration.
 */
int sim_faults_add(struct sim_faults *f, const json_t *spec, int64_t now_mono,
                   struct core_err *err);

/*
 * Check the faults of `phase` for a request to `scope`, number `pnid` and
 * recipient `to` ("" if none). Returns 1 with *hit filled when a fault
 * decides the answer, 0 otherwise. Slow faults add to *delay_ms either way.
 * `rng` is the request's random state (advanced).
 */
int sim_faults_check(struct sim_faults *f, enum sim_fault_phase phase, enum sim_fault_scope scope,
                     const char *pnid, const char *to, int64_t now_mono, uint64_t *rng,
                     struct sim_fault_hit *hit, int64_t *delay_ms);

/* Remove one fault; returns 0, or -1 if there is no such id. */
int sim_faults_remove(struct sim_faults *f, int id);

/* Remove every fault. */
void sim_faults_clear(struct sim_faults *f);

/* {"faults":[{"id","mode","remaining","expires_in_ms","hits",...}]} (new reference). */
json_t *sim_faults_list(struct sim_faults *f, int64_t now_mono);

/* "5xx", "slow", ... */
const char *sim_fault_mode_name(enum sim_fault_mode m);

#endif
