/*
 * tools/cloudsim/sim_validate.h - checks the body of
 * POST /{version}/{phone_number_id}/messages the way the Cloud API does:
 * message types, required fields, Meta's length and count limits, and the
 * recipient (`to` digits, or a BSUID in `to` or `recipient`).
 *
 * Error codes follow one rule, documented in docs/cloudsim.md:
 *   100     malformed: not a JSON object, wrong JSON type, unknown value of
 *           an enumeration (type, interactive type, ...);
 *   131008  a required parameter is missing;
 *   131009  a value is out of range: lengths, counts, duplicates, bad
 *           recipient or URL.
 * Template existence and parameter counts are sim_templates' job (132001,
 * 132000). `details` never quotes message text or recipients.
 */
#ifndef JANSEVA_SIM_VALIDATE_H
#define JANSEVA_SIM_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

#define SIM_RECIPIENT_LEN 192
#define SIM_DETAILS_MAX 256

/* Meta's limits (docs/cloudsim.md lists their sources). */
#define SIM_TEXT_MAX 4096
#define SIM_CAPTION_MAX 1024
#define SIM_BUTTONS_MAX 3
#define SIM_BUTTON_TITLE_MAX 20
#define SIM_BUTTON_ID_MAX 256
#define SIM_BUTTON_BODY_MAX 1024
#define SIM_LIST_BODY_MAX 4096
#define SIM_LIST_ROWS_MAX 10
#define SIM_LIST_SECTIONS_MAX 10
#define SIM_LIST_BUTTON_MAX 20
#define SIM_ROW_ID_MAX 200
#define SIM_ROW_TITLE_MAX 24
#define SIM_ROW_DESCRIPTION_MAX 72
#define SIM_SECTION_TITLE_MAX 24
#define SIM_HEADER_TEXT_MAX 60
#define SIM_FOOTER_MAX 60
#define SIM_OPAQUE_MAX 512
#define SIM_FILENAME_MAX 240

enum sim_kind {
    SIM_KIND_TEXT,
    SIM_KIND_TEMPLATE,
    SIM_KIND_INTERACTIVE,
    SIM_KIND_MEDIA,
    SIM_KIND_REACTION,
    SIM_KIND_LOCATION,
    SIM_KIND_READ, /* mark-as-read */
};

/* A valid send. Pointers borrow from the JSON body. */
struct sim_send {
    enum sim_kind kind;
    const char *type;                  /* "text", "image", ...; "read" for mark-as-read */
    const char *input;                 /* `to` or `recipient` exactly as given */
    char recipient[SIM_RECIPIENT_LEN]; /* digits, or the BSUID */
    int bsuid;                         /* recipient is a BSUID */
    const json_t *template_obj;        /* kind TEMPLATE */
    const char *media_id;              /* kind MEDIA sent by id, else NULL */
    const char *message_id;            /* kind READ */
    const char *biz_opaque;            /* biz_opaque_callback_data or NULL */
};

/*
 * Validate `body` (borrowed). Returns 0 with `out` filled, or an error code
 * (100, 131008, 131009) with `details`.
 */
int sim_validate_send(const json_t *body, struct sim_send *out, char details[SIM_DETAILS_MAX]);

/*
 * Best effort on any body (valid or not), for records and fault filters:
 * the normalised recipient ("" if none) and the type (never NULL).
 */
void sim_validate_peek(const json_t *body, char recipient[SIM_RECIPIENT_LEN], const char **type);

/*
 * Normalise a recipient: a phone number ("+91 98-..." → digits) or a BSUID
 * ("IN.123..."). Returns 0, or -1 if it is neither.
 */
int sim_recipient_normalize(const char *in, char out[SIM_RECIPIENT_LEN], int *bsuid);

/* Unicode code points in a UTF-8 string (what Meta's length limits count). */
size_t sim_utf8_chars(const char *s);

#endif
