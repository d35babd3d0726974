/*
 * tools/cloudsim/sim_errors.h - the Graph API error codes the simulator
 * answers with, their HTTP statuses and texts, and the two JSON shapes Meta
 * uses for them: the synchronous error body of a failed request and the
 * error object inside a `failed` status webhook.
 */
#ifndef JANSEVA_SIM_ERRORS_H
#define JANSEVA_SIM_ERRORS_H

#include "core/httpd.h"

#include <jansson.h>
#include <stdint.h>

/* Codes with their own counter (see sim_error_index); others count as "other". */
#define SIM_N_CODES 24

struct sim_error_info {
    int code;
    int http;            /* HTTP status of a synchronous answer */
    const char *title;   /* Meta's short title (status webhooks) */
    const char *message; /* the text after "(#CODE) " in error.message */
};

/* The catalogue entry for `code`; unknown codes get a generic entry (HTTP 400). */
const struct sim_error_info *sim_error_lookup(int code);

/* Index of `code` in the catalogue (0 .. SIM_N_CODES-1), or -1. */
int sim_error_index(int code);

/* The code at catalogue index `i`. */
int sim_error_code_at(int i);

/*
 * Fill `resp` with Meta's error body for `code`:
 *   {"error":{"message":"(#CODE) ...","type":"OAuthException","code":CODE,
 *    "error_data":{"messaging_product":"whatsapp","details":"..."},
 *    "fbtrace_id":"..."}}
 * `http` 0 takes the catalogue's status; `message` NULL the catalogue's text;
 * `details` NULL the message. `trace` seeds the fbtrace_id.
 */
void sim_error_respond(struct core_http_resp *resp, int code, int http, const char *message,
                       const char *details, uint64_t trace);

/*
 * The error object of a failed status (new reference):
 *   {"code":N,"title":"...","message":"...","error_data":{"details":"..."},"href":"..."}
 */
json_t *sim_error_status_obj(int code, const char *details);

#endif
