/*
 * gateway/webhook.h - parse a WhatsApp Cloud API webhook body into events.
 *
 * One POST may carry several entries, each with several changes, each with
 * several messages, statuses and errors: every one becomes a `struct
 * gw_event`. Entries and changes keep their order; within one change the
 * messages come first, then the statuses, then the errors. Changes whose `field` is not "messages"
 * (template status, quality updates, group updates, ...) are counted in
 * `ignored` and otherwise skipped.
 *
 * A body that is not a WhatsApp webhook at all (not JSON, not an object,
 * `object` is not "whatsapp_business_account", no `entry` array) fails with
 * CORE_EX_DATAERR. A single malformed event (no sender, a sender that is
 * neither digits nor a business-scoped user id, a bad timestamp, an unknown
 * status, ...) does not fail the parse: the event is kept with `problem`
 * set, so the caller can report it and go on with the others.
 *
 * Error messages and problems never quote the input: it may hold phone
 * numbers and names.
 *
 * Ownership: the strings in events point into the parsed JSON held by the
 * `struct gw_webhook`; they live until gw_webhook_free().
 */
#ifndef JANSEVA_GATEWAY_WEBHOOK_H
#define JANSEVA_GATEWAY_WEBHOOK_H

#include "core/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_MAX_ERROR_CODES 8
#define GW_MAX_ID_LEN 512 /* wamids are up to 128 characters; be generous */

enum gw_event_kind {
    GW_EVENT_MESSAGE,
    GW_EVENT_STATUS,
    GW_EVENT_ERROR,
};

enum gw_status {
    GW_STATUS_NONE = 0,
    GW_STATUS_SENT,
    GW_STATUS_DELIVERED,
    GW_STATUS_READ,
    GW_STATUS_PLAYED,
    GW_STATUS_FAILED,
    GW_STATUS_DELETED,
};

struct gw_event {
    enum gw_event_kind kind;
    const char *problem; /* NULL, or why this event is malformed (static text) */
    size_t entry, change, index; /* position in the body, for reports */

    const char *phone_number_id; /* the business number it concerns */
    const char *display_phone;   /* metadata.display_phone_number */

    /* message and status */
    const char *id;    /* wamid */
    int64_t timestamp; /* Unix seconds (millisecond values converted) */
    int error_codes[GW_MAX_ERROR_CODES];
    size_t n_errors;

    /* message */
    const char *from;     /* wa_id (digits), or NULL */
    const char *user_id;  /* business-scoped user id (BSUID), or NULL */
    const char *name;     /* profile name, or NULL */
    const char *username; /* profile username, or NULL */
    const char *type;     /* "text", "image", ...; unknown types become "unsupported" */
    bool voice;           /* audio sent as a voice note */
    const char *text;     /* body, caption, button text, reply title, ... */
    const char *reply_id; /* interactive reply id or button payload */
    const char *context_id;   /* wamid this message replies to */
    const char *context_from; /* who wrote the quoted message */
    bool forwarded;
    bool frequently_forwarded;
    bool has_location;
    double latitude, longitude;
    const char *location_name;
    const char *location_address;
    const char *media_id;
    const char *mime_type;
    const char *filename;
    const char *group_id;
    size_t n_contacts;            /* shared vCards (type "contacts") */
    const char *reaction_to;      /* reaction: wamid reacted to */
    const char *unsupported_type; /* type Meta or janseva does not support, e.g. "poll" */
    const char *system_type;      /* user_changed_number, user_changed_user_id, ... */
    const char *new_wa_id;        /* system: the member's new number */
    const char *new_user_id;      /* system: the member's new BSUID */
    const char *previous_user_id; /* system: the BSUID it replaces */
    bool has_referral;            /* came from a click-to-WhatsApp ad */

    /* status */
    enum gw_status status;
    const char *status_name;
    const char *recipient;        /* recipient_id (wa_id, BSUID or group id) */
    const char *pricing_category; /* pricing.category */
    const char *biz_opaque;       /* biz_opaque_callback_data we sent */
    bool billable;
};

struct gw_webhook {
    json_t *root; /* owns every string the events point to */
    struct gw_event *events;
    size_t n_events;
    size_t cap_events;
    size_t ignored;               /* changes with another `field` */
    const char *ignored_field[8]; /* the first few such fields */
};

/*
 * Parse `len` bytes of `body`. On success fills `hook` (release with
 * gw_webhook_free, also after failure). Returns 0 or -1 (CORE_EX_DATAERR:
 * not a WhatsApp webhook).
 */
int gw_webhook_parse(struct gw_webhook *hook, const char *body, size_t len,
                     struct core_err *err);

/* Release everything; the struct is zeroed. */
void gw_webhook_free(struct gw_webhook *hook);

/* Number of events with `problem` set. */
size_t gw_webhook_problems(const struct gw_webhook *hook);

/*
 * The event as a JSON object (new reference) with the fields documented for
 * `janseva parse-webhook` (docs/internals/gateway.md).
 */
json_t *gw_event_to_json(const struct gw_event *ev);

/* "message", "status", "error". */
const char *gw_event_kind_name(enum gw_event_kind kind);

/* True for a WhatsApp id: 3-20 ASCII digits. */
bool gw_is_wa_id(const char *s);

/* True for a business-scoped user id such as "US.13491208655302741918":
 * two upper-case letters, a dot, then dot-separated alphanumeric parts. */
bool gw_is_bsuid(const char *s);

#endif
