/*
 * tests/harness/cloudsim.h - the Cloud API simulator in integration tests:
 * start the real build/<flavor>/cloudsim on a free port, talk to its Graph
 * and control APIs, and receive its webhooks in a small in-process HTTP
 * server (a "sink") that checks every signature.
 *
 * Functions return 0 / -1 (or an HTTP status, 0 when the request failed)
 * and print the reason on stderr. Strings handed out are malloc'd.
 */
#ifndef JANSEVA_TESTS_HARNESS_CLOUDSIM_H
#define JANSEVA_TESTS_HARNESS_CLOUDSIM_H

#include "tests/harness/harness.h"

#include <jansson.h>
#include <stddef.h>

#define TH_SIM_TOKEN "test-token"
#define TH_SIM_PNID "106540352242922"
#define TH_SIM_VERSION "v25.0"

/* ---- the simulator process ---- */

struct th_cloudsim {
    struct th_proc proc;
    int port;
    char url[64];       /* "http://127.0.0.1:PORT" */
    char log_path[600]; /* its stdout and stderr */
};

/*
 * Start cloudsim with --port 0, --app-secret TH_APP_SECRET, --token
 * TH_SIM_TOKEN, --log-level debug and then `args` (NULL-terminated, may be
 * NULL; later options win). Waits for its "listening on" line (10 s).
 */
int th_cloudsim_start(struct th_cloudsim *s, const char *dir, const char *const args[]);

/* SIGTERM and wait; returns the exit status (0 for a clean stop). */
int th_cloudsim_stop(struct th_cloudsim *s);

/* A request to `path` of the simulator; body copied to *out when out != NULL. */
long th_cloudsim_req(const struct th_cloudsim *s, const char *method, const char *path,
                     const char *json, char **out);

/* POST `json` to .../TH_SIM_PNID/messages with `token` (NULL = no header). */
long th_cloudsim_send(const struct th_cloudsim *s, const char *token, const char *json, char **out);

/* GET `path` and parse it (new reference, or NULL). */
json_t *th_cloudsim_json(const struct th_cloudsim *s, const char *path);

/* A counter of GET /_sim/counters by dotted path ("webhooks.ok"), or -1. */
long long th_cloudsim_counter(const struct th_cloudsim *s, const char *dotted);

/* ---- the webhook sink ---- */

struct th_sink;

/* A sink on 127.0.0.1 (free port) checking signatures with `secret`. NULL on failure. */
struct th_sink *th_sink_start(const char *secret);

/* Stop and free; NULL is a no-op. */
void th_sink_free(struct th_sink *k);

/* "http://127.0.0.1:PORT/webhook" (borrowed). */
const char *th_sink_url(const struct th_sink *k);

/* Answer every POST with `status` from now on (default 200). */
void th_sink_set_status(struct th_sink *k, int status);

/* POSTs received so far (answered with any status). */
size_t th_sink_count(struct th_sink *k);

/* POST number `i` (0-based): its body (caller frees) and whether its signature verified. */
char *th_sink_body(struct th_sink *k, size_t i, int *sig_ok);

/* Forget what was received. */
void th_sink_clear(struct th_sink *k);

/*
 * Every status of every POST received so far, in arrival order, as a JSON
 * array of {"post":i,"sig_ok":bool,"status":{...}} (new reference).
 */
json_t *th_sink_statuses(struct th_sink *k);

#endif
