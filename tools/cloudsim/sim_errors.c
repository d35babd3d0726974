/*
 * tools/cloudsim/sim_errors.c - Graph API error catalogue and bodies (see
 * sim_errors.h). Texts follow the copies of Meta's error table quoted in
 * the project brief; where Meta's wording is unknown the text says what the
 * simulator checked.
 */
#include "tools/cloudsim/sim_errors.h"

#include "core/mem.h"
#include "tools/cloudsim/sim_rng.h"

#include <stdio.h>
#include <stdlib.h>

#define SIM_ERROR_HREF                                                                             \
    "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
#define SIM_TRACE_LEN 27

static const struct sim_error_info catalogue[SIM_N_CODES] = {
    {1, 500, "Unknown error", "An unknown error has occurred."},
    {2, 503, "Service temporarily unavailable", "Service temporarily unavailable"},
    {4, 400, "Too many calls", "Application request limit reached"},
    {100, 400, "Invalid parameter", "Invalid parameter"},
    {190, 401, "Access token has expired", "Error validating access token"},
    {368, 403, "Temporarily blocked for policies violations",
     "Temporarily blocked for policies violations"},
    {80007, 400, "Rate limit issues", "Rate limit issues"},
    {130429, 400, "Rate limit hit", "Rate limit hit"},
    {131000, 500, "Something went wrong", "Something went wrong"},
    {131005, 403, "Access denied", "Access denied"},
    {131008, 400, "Required parameter is missing", "Required parameter is missing"},
    {131009, 400, "Parameter value is not valid", "Parameter value is not valid"},
    {131026, 400, "Message undeliverable", "Message undeliverable"},
    {131047, 400, "Re-engagement message", "Re-engagement message"},
    {131048, 400, "Spam rate limit hit", "Spam rate limit hit"},
    {131049, 400, "This message was not delivered to maintain healthy ecosystem engagement.",
     "This message was not delivered to maintain healthy ecosystem engagement."},
    {131051, 400, "Unsupported message type", "Unsupported message type"},
    {131053, 400, "Media upload error", "Media upload error"},
    {131056, 400, "(Business Account, Consumer Account) pair rate limit hit",
     "(Business Account, Consumer Account) pair rate limit hit"},
    {131057, 400, "Account in maintenance mode", "Account in maintenance mode"},
    {132000, 400, "Number of parameters does not match the expected number of params",
     "Number of parameters does not match the expected number of params"},
    {132001, 404, "Template name does not exist in the translation",
     "Template name does not exist in the translation"},
    {133010, 400, "Account not registered", "Account not registered"},
    {131031, 403, "Business Account locked", "Business Account locked"},
};

const struct sim_error_info *sim_error_lookup(int code)
{
    static const struct sim_error_info generic = {0, 400, "Simulated error", "Simulated error"};
    int i = sim_error_index(code);

    return i >= 0 ? &catalogue[i] : &generic;
}

int sim_error_index(int code)
{
    int i;

    for (i = 0; i < SIM_N_CODES; i++) {
        if (catalogue[i].code == code)
            return i;
    }
    return -1;
}

int sim_error_code_at(int i)
{
    return i >= 0 && i < SIM_N_CODES ? catalogue[i].code : 0;
}

/* A 27-character id like Meta's fbtrace_id ("AbC0...") from `trace`. */
static void trace_id(char out[SIM_TRACE_LEN + 1], uint64_t trace)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint64_t st = trace;
    int i;

    for (i = 0; i < SIM_TRACE_LEN; i++)
        out[i] = alphabet[sim_rng_next(&st) & 63];
    out[SIM_TRACE_LEN] = '\0';
}

void sim_error_respond(struct core_http_resp *resp, int code, int http, const char *message,
                       const char *details, uint64_t trace)
{
    const struct sim_error_info *info = sim_error_lookup(code);
    char text[512];
    char fbtrace[SIM_TRACE_LEN + 1];
    json_t *err;
    json_t *top;
    char *dump;

    snprintf(text, sizeof text, "(#%d) %s", code, message != NULL ? message : info->message);
    trace_id(fbtrace, trace);
    err = json_pack("{s:s,s:s,s:i}", "message", text, "type", "OAuthException", "code", code);
    if (code == 1 || code == 2 || code == 131000)
        json_object_set_new(err, "is_transient", json_true());
    json_object_set_new(err, "error_data",
                        json_pack("{s:s,s:s}", "messaging_product", "whatsapp", "details",
                                  details != NULL ? details : text));
    json_object_set_new(err, "fbtrace_id", json_string(fbtrace));
    top = json_object();
    json_object_set_new(top, "error", err);
    dump = json_dumps(top, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(top);
    core_http_resp_json(resp, http != 0 ? http : info->http, dump != NULL ? dump : "{}");
    free(dump);
}

json_t *sim_error_status_obj(int code, const char *details)
{
    const struct sim_error_info *info = sim_error_lookup(code);

    return json_pack("{s:i,s:s,s:s,s:{s:s},s:s}", "code", code, "title", info->title, "message",
                     info->message, "error_data", "details",
                     details != NULL ? details : info->message, "href", SIM_ERROR_HREF);
}
