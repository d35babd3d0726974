/*
 * tests/harness/stack.h - the whole outbound path for integration tests: a
 * real redis-server, the real Cloud API simulator and the real `janseva
 * serve` (every role), wired together (janseva sends to the simulator, the
 * simulator's signed webhooks come back to janseva). The test process also
 * gets the stack's keys and a Redis connection, to create members and queue
 * messages through the library exactly as the service does.
 */
#ifndef JANSEVA_TESTS_HARNESS_STACK_H
#define JANSEVA_TESTS_HARNESS_STACK_H

#include "core/redis.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "gateway/outbox.h"
#include "gateway/router.h"
#include "tests/harness/cloudsim.h"
#include "tests/harness/harness.h"

#include "groups/member.h"

#include <jansson.h>

struct th_stack {
    char *dir;
    struct th_redis redis;
    struct th_cloudsim sim;
    struct th_janseva app;
    struct cry_keys *keys;          /* the service's keys, loaded in-process */
    struct cry_identity *ident;
    struct core_redis *r;           /* the test's own connection */
    char graph_env[160];
};

/*
 * Start everything. `sim_args` and `env` (NULL-terminated, may be NULL) add
 * simulator options and janseva settings; the defaults are fast for tests
 * (status delays 20 ms, grace 1.5 s, Graph timeout 1 s, pause 1 s).
 */
int th_stack_start(struct th_stack *s, const char *tag, const char *const sim_args[],
                   const char *const env[]);

/* Stop janseva (asserting a clean exit: returns its status), the simulator
 * and Redis; remove the directory when everything was clean. */
int th_stack_stop(struct th_stack *s);

/* Restart janseva only (after th_janseva_kill, say). */
int th_stack_restart_app(struct th_stack *s, const char *const env[]);

/* The member id of a WhatsApp number, created if new (no window opened). */
int th_stack_member(struct th_stack *s, const char *wa_id, char mid[CRY_MID_LEN]);

/*
 * The event key janseva's router gives the message `wamid` (keyed with the
 * stack's dedupe key, as gw_router_event_key does), so a test can make the
 * same idempotent calls a handler made for that event and get its results.
 */
void th_stack_event_key(const struct th_stack *s, const char *wamid,
                        char out[GW_EVENT_KEY_HEX]);

/* Make the number write to the police number through the simulator (opens
 * the 24 h window on both sides); returns 0 once janseva accepted it. */
int th_stack_inbound(struct th_stack *s, const char *wa_id, const char *text);

/* Queue a message (text and/or template) to `wa_id` with idempotency `key`. */
int th_stack_queue(struct th_stack *s, const char *key, const char *wa_id, const char *text,
                   const char *template_name, enum gw_lane lane, const char *broadcast);

/* Accepted sends the simulator recorded for `wa_id` (all when NULL). */
long th_stack_accepted(struct th_stack *s, const char *wa_id);

/* Delivery state of message `key` ("queued", "sent", ...): caller frees. */
char *th_stack_state(struct th_stack *s, const char *key, const char *broadcast);

/* A janseva metric by exact series name ("name{labels}"), or -1. */
long long th_stack_metric(struct th_stack *s, const char *series);

/* ---- playing people (conversation tests) ----
 * Each returns an error (and says what went wrong on stderr) rather than
 * failing the test: tests assert on the result. */

/* Run `janseva ARGS...` (args NULL-terminated, without the program) against
 * the stack's Redis and keys: its exit status; its stdout into *out (caller
 * frees) when out is not NULL. Prints stderr when the status is not 0. */
int th_stack_cli(struct th_stack *s, const char *const args[], char **out);

/* POST `req` (stolen) to the simulator's /_sim/inbound: the simulator's
 * answer (new reference), or NULL when it or janseva refused it. */
json_t *th_stack_send(struct th_stack *s, json_t *req);

/* `wa` (profile name `name`) writes `text`, or taps button `id`. */
json_t *th_stack_say(struct th_stack *s, const char *wa, const char *name, const char *text);
int th_stack_tap(struct th_stack *s, const char *wa, const char *name, const char *id);

/* Accepted sends to `wa` as compact text of their Graph bodies without the
 * recipient (what they read), oldest first: a new array, or NULL. */
json_t *th_stack_sent_to(struct th_stack *s, const char *wa);

/* How many sends to `wa` hold `needle`; the newest one that does (caller
 * frees), or NULL. */
size_t th_stack_count_with(struct th_stack *s, const char *wa, const char *needle);
char *th_stack_last_with(struct th_stack *s, const char *wa, const char *needle);

/* Wait until `wa` got `n` sends holding `needle`: 0, or -1 after
 * `timeout_ms`. */
int th_stack_wait_for(struct th_stack *s, const char *wa, const char *needle, size_t n,
                      int timeout_ms);

/* Wait until janseva has handled every webhook and sent everything queued
 * (the inbound stream, the three lanes and the delay set are empty). */
int th_stack_wait_quiet(struct th_stack *s, int timeout_ms);

/* The member record of `wa` (created when unknown) into *m: 0 or -1. */
int th_stack_member_load(struct th_stack *s, const char *wa, struct grp_member *m);

/* `wa` (profile `name`) joins village group `code` as a citizen does:
 * greets, taps "join:yes:<code>" on the confirmation, and with `english`
 * writes "english"; then waits until everything is handled. 0 when the
 * member is active in `code`, -1 otherwise (said on stderr). */
int th_stack_enrol(struct th_stack *s, const char *wa, const char *name, const char *code,
                   int english);

#endif
