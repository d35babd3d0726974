/*
 * tools/cloudsim/sim_validate.c - Cloud API send validation (see
 * sim_validate.h). Each check returns 0 or an error code and fills the
 * details; the first failing check decides the answer, in document order.
 */
#include "tools/cloudsim/sim_validate.h"

#include "gateway/webhook.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Validation context: the details buffer. */
struct vctx {
    char *details;
};

static int fail(struct vctx *v, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct vctx *v, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(v->details, SIM_DETAILS_MAX, fmt, ap);
    va_end(ap);
    return code;
}

size_t sim_utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    }
    return n;
}

int sim_recipient_normalize(const char *in, char out[SIM_RECIPIENT_LEN], int *bsuid)
{
    size_t k = 0;
    const char *p;

    if (in == NULL)
        return -1;
    if (gw_is_bsuid(in)) {
        if (strlen(in) >= SIM_RECIPIENT_LEN)
            return -1;
        memcpy(out, in, strlen(in) + 1);
        *bsuid = 1;
        return 0;
    }
    for (p = in; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9') {
            if (k + 1 >= SIM_RECIPIENT_LEN)
                return -1;
            out[k++] = *p;
        } else if (!(*p == '+' && p == in) && *p != ' ' && *p != '-' && *p != '(' && *p != ')') {
            return -1;
        }
    }
    out[k] = '\0';
    *bsuid = 0;
    return gw_is_wa_id(out) ? 0 : -1;
}

/* ---- field helpers ---- */

/*
 * A string member: required (missing -> 131008), of type string (else 100),
 * at most `max` characters (0 = no limit) and, when `nonempty`, not empty
 * (else 131009). *out gets the value or NULL when absent and optional.
 */
static int str_field(struct vctx *v, const json_t *o, const char *key, const char *path,
                     int required, int nonempty, size_t max, const char **out)
{
    const json_t *j = json_object_get(o, key);
    size_t n;

    *out = NULL;
    if (j == NULL || json_is_null(j)) {
        if (required)
            return fail(v, 131008, "Param %s is required", path);
        return 0;
    }
    if (!json_is_string(j))
        return fail(v, 100, "Param %s must be a string", path);
    *out = json_string_value(j);
    n = sim_utf8_chars(*out);
    if (nonempty && n == 0)
        return fail(v, 131009, "Param %s must not be empty", path);
    if (max > 0 && n > max)
        return fail(v, 131009, "Param %s must be at most %zu characters long", path, max);
    return 0;
}

/* An object member: required (missing -> 131008), an object (else 100). */
static int obj_field(struct vctx *v, const json_t *o, const char *key, const char *path,
                     int required, const json_t **out)
{
    const json_t *j = json_object_get(o, key);

    *out = NULL;
    if (j == NULL || json_is_null(j)) {
        if (required)
            return fail(v, 131008, "Param %s is required", path);
        return 0;
    }
    if (!json_is_object(j))
        return fail(v, 100, "Param %s must be an object", path);
    *out = j;
    return 0;
}

/* An array member with between `min` and `max` elements. */
static int arr_field(struct vctx *v, const json_t *o, const char *key, const char *path, size_t min,
                     size_t max, const json_t **out)
{
    const json_t *j = json_object_get(o, key);
    size_t n;

    *out = NULL;
    if (j == NULL || json_is_null(j))
        return fail(v, 131008, "Param %s is required", path);
    if (!json_is_array(j))
        return fail(v, 100, "Param %s must be an array", path);
    n = json_array_size(j);
    if (n < min || n > max)
        return fail(v, 131009, "Param %s must have between %zu and %zu elements", path, min, max);
    *out = j;
    return 0;
}

static int is_http_url(const char *s)
{
    return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

/* ---- message types ---- */

static int check_text(struct vctx *v, const json_t *body)
{
    const json_t *text;
    const json_t *preview;
    const char *s;
    int rc;

    if ((rc = obj_field(v, body, "text", "text", 1, &text)) != 0)
        return rc;
    if ((rc = str_field(v, text, "body", "text['body']", 1, 1, SIM_TEXT_MAX, &s)) != 0)
        return rc;
    preview = json_object_get(text, "preview_url");
    if (preview != NULL && !json_is_boolean(preview))
        return fail(v, 100, "Param text['preview_url'] must be a boolean");
    return 0;
}

static int check_media(struct vctx *v, const json_t *body, const char *type, struct sim_send *out)
{
    const json_t *m;
    const char *link;
    const char *id;
    const char *s;
    char path[64];
    int rc;

    if ((rc = obj_field(v, body, type, type, 1, &m)) != 0)
        return rc;
    snprintf(path, sizeof path, "%s['link']", type);
    if ((rc = str_field(v, m, "link", path, 0, 1, 2048, &link)) != 0)
        return rc;
    snprintf(path, sizeof path, "%s['id']", type);
    if ((rc = str_field(v, m, "id", path, 0, 1, 128, &id)) != 0)
        return rc;
    if (link == NULL && id == NULL)
        return fail(v, 131008, "Param %s must contain a link or an id", type);
    if (link != NULL && id != NULL)
        return fail(v, 131009, "Param %s must contain either a link or an id, not both", type);
    if (link != NULL && !is_http_url(link))
        return fail(v, 131009, "Param %s['link'] must be an http(s) URL", type);
    out->media_id = id;
    if (json_object_get(m, "caption") != NULL) {
        if (strcmp(type, "audio") == 0 || strcmp(type, "sticker") == 0)
            return fail(v, 100, "Param %s['caption'] is not supported for %s", type, type);
        snprintf(path, sizeof path, "%s['caption']", type);
        if ((rc = str_field(v, m, "caption", path, 0, 0, SIM_CAPTION_MAX, &s)) != 0)
            return rc;
    }
    if (strcmp(type, "document") == 0 &&
        (rc = str_field(v, m, "filename", "document['filename']", 0, 1, SIM_FILENAME_MAX, &s)) != 0)
        return rc;
    return 0;
}

static int check_reaction(struct vctx *v, const json_t *body)
{
    const json_t *r;
    const char *s;
    int rc;

    if ((rc = obj_field(v, body, "reaction", "reaction", 1, &r)) != 0)
        return rc;
    if ((rc = str_field(v, r, "message_id", "reaction['message_id']", 1, 1, 256, &s)) != 0)
        return rc;
    if (json_object_get(r, "emoji") == NULL)
        return fail(v, 131008, "Param reaction['emoji'] is required");
    return str_field(v, r, "emoji", "reaction['emoji']", 1, 0, 10, &s);
}

static int coordinate(struct vctx *v, const json_t *loc, const char *key, double limit)
{
    const json_t *j = json_object_get(loc, key);
    double d;

    if (j == NULL)
        return fail(v, 131008, "Param location['%s'] is required", key);
    if (!json_is_number(j))
        return fail(v, 100, "Param location['%s'] must be a number", key);
    d = json_number_value(j);
    if (!isfinite(d) || d < -limit || d > limit)
        return fail(v, 131009, "Param location['%s'] must be between %g and %g", key, -limit,
                    limit);
    return 0;
}

static int check_location(struct vctx *v, const json_t *body)
{
    const json_t *loc;
    const char *s;
    int rc;

    if ((rc = obj_field(v, body, "location", "location", 1, &loc)) != 0)
        return rc;
    if ((rc = coordinate(v, loc, "latitude", 90.0)) != 0)
        return rc;
    if ((rc = coordinate(v, loc, "longitude", 180.0)) != 0)
        return rc;
    if ((rc = str_field(v, loc, "name", "location['name']", 0, 0, 1000, &s)) != 0)
        return rc;
    return str_field(v, loc, "address", "location['address']", 0, 0, 1000, &s);
}

/* header (kind list: text only) and footer of an interactive message. */
static int check_header_footer(struct vctx *v, const json_t *in, int text_only)
{
    const json_t *header;
    const json_t *footer;
    const char *s;
    int rc;

    if ((rc = obj_field(v, in, "header", "interactive['header']", 0, &header)) != 0)
        return rc;
    if (header != NULL) {
        const char *type;

        if ((rc = str_field(v, header, "type", "interactive['header']['type']", 1, 1, 0, &type)) !=
            0)
            return rc;
        if (strcmp(type, "text") == 0) {
            if ((rc = str_field(v, header, "text", "interactive['header']['text']", 1, 1,
                                SIM_HEADER_TEXT_MAX, &s)) != 0)
                return rc;
        } else if (text_only) {
            return fail(v, 131009, "Param interactive['header']['type'] must be text for lists");
        } else if (strcmp(type, "image") == 0 || strcmp(type, "video") == 0 ||
                   strcmp(type, "document") == 0) {
            struct sim_send unused;

            memset(&unused, 0, sizeof unused);
            if ((rc = check_media(v, header, type, &unused)) != 0)
                return rc;
        } else {
            return fail(v, 100,
                        "Param interactive['header']['type'] must be text, image, video or "
                        "document");
        }
    }
    if ((rc = obj_field(v, in, "footer", "interactive['footer']", 0, &footer)) != 0)
        return rc;
    if (footer != NULL)
        return str_field(v, footer, "text", "interactive['footer']['text']", 1, 1, SIM_FOOTER_MAX,
                         &s);
    return 0;
}

static int body_text(struct vctx *v, const json_t *in, size_t max)
{
    const json_t *b;
    const char *s;
    int rc;

    if ((rc = obj_field(v, in, "body", "interactive['body']", 1, &b)) != 0)
        return rc;
    return str_field(v, b, "text", "interactive['body']['text']", 1, 1, max, &s);
}

static int check_buttons(struct vctx *v, const json_t *action)
{
    const char *titles[SIM_BUTTONS_MAX];
    const char *ids[SIM_BUTTONS_MAX];
    const json_t *buttons;
    const json_t *b;
    size_t i;
    size_t j;
    int rc;

    if ((rc = arr_field(v, action, "buttons", "interactive['action']['buttons']", 1,
                        SIM_BUTTONS_MAX, &buttons)) != 0)
        return rc;
    json_array_foreach(buttons, i, b)
    {
        const json_t *reply;
        const char *type;
        char path[96];

        if (!json_is_object(b))
            return fail(v, 100, "Param interactive['action']['buttons'][%zu] must be an object", i);
        snprintf(path, sizeof path, "interactive['action']['buttons'][%zu]['type']", i);
        if ((rc = str_field(v, b, "type", path, 1, 1, 0, &type)) != 0)
            return rc;
        if (strcmp(type, "reply") != 0)
            return fail(v, 100, "Param %s must be reply", path);
        snprintf(path, sizeof path, "interactive['action']['buttons'][%zu]['reply']", i);
        if ((rc = obj_field(v, b, "reply", path, 1, &reply)) != 0)
            return rc;
        snprintf(path, sizeof path, "interactive['action']['buttons'][%zu]['reply']['id']", i);
        if ((rc = str_field(v, reply, "id", path, 1, 1, SIM_BUTTON_ID_MAX, &ids[i])) != 0)
            return rc;
        snprintf(path, sizeof path, "interactive['action']['buttons'][%zu]['reply']['title']", i);
        if ((rc = str_field(v, reply, "title", path, 1, 1, SIM_BUTTON_TITLE_MAX, &titles[i])) != 0)
            return rc;
        for (j = 0; j < i; j++) {
            if (strcmp(titles[j], titles[i]) == 0)
                return fail(v, 131009, "Button titles must be unique (buttons %zu and %zu)", j, i);
            if (strcmp(ids[j], ids[i]) == 0)
                return fail(v, 131009, "Button ids must be unique (buttons %zu and %zu)", j, i);
        }
    }
    return 0;
}

static int check_list(struct vctx *v, const json_t *action)
{
    const char *row_ids[SIM_LIST_ROWS_MAX];
    size_t n_rows = 0;
    const json_t *sections;
    const json_t *sec;
    const char *s;
    size_t i;
    int rc;

    if ((rc = str_field(v, action, "button", "interactive['action']['button']", 1, 1,
                        SIM_LIST_BUTTON_MAX, &s)) != 0)
        return rc;
    if ((rc = arr_field(v, action, "sections", "interactive['action']['sections']", 1,
                        SIM_LIST_SECTIONS_MAX, &sections)) != 0)
        return rc;
    json_array_foreach(sections, i, sec)
    {
        const json_t *rows;
        const json_t *row;
        char path[112];
        size_t j;

        if (!json_is_object(sec))
            return fail(v, 100, "Param interactive['action']['sections'][%zu] must be an object",
                        i);
        snprintf(path, sizeof path, "interactive['action']['sections'][%zu]['title']", i);
        if ((rc = str_field(v, sec, "title", path, json_array_size(sections) > 1, 1,
                            SIM_SECTION_TITLE_MAX, &s)) != 0)
            return rc;
        snprintf(path, sizeof path, "interactive['action']['sections'][%zu]['rows']", i);
        if ((rc = arr_field(v, sec, "rows", path, 1, SIM_LIST_ROWS_MAX, &rows)) != 0)
            return rc;
        json_array_foreach(rows, j, row)
        {
            const char *id;
            size_t k;

            if (n_rows == SIM_LIST_ROWS_MAX)
                return fail(v, 131009, "A list may have at most %d rows in total",
                            SIM_LIST_ROWS_MAX);
            if (!json_is_object(row))
                return fail(v, 100, "Param %s[%zu] must be an object", path, j);
            snprintf(path, sizeof path, "interactive['action']['sections'][%zu]['rows'][%zu]['id']",
                     i, j);
            if ((rc = str_field(v, row, "id", path, 1, 1, SIM_ROW_ID_MAX, &id)) != 0)
                return rc;
            for (k = 0; k < n_rows; k++) {
                if (strcmp(row_ids[k], id) == 0)
                    return fail(v, 131009, "Row ids must be unique");
            }
            row_ids[n_rows++] = id;
            snprintf(path, sizeof path,
                     "interactive['action']['sections'][%zu]['rows'][%zu]['title']", i, j);
            if ((rc = str_field(v, row, "title", path, 1, 1, SIM_ROW_TITLE_MAX, &s)) != 0)
                return rc;
            snprintf(path, sizeof path,
                     "interactive['action']['sections'][%zu]['rows'][%zu]['description']", i, j);
            if ((rc = str_field(v, row, "description", path, 0, 0, SIM_ROW_DESCRIPTION_MAX, &s)) !=
                0)
                return rc;
            snprintf(path, sizeof path, "interactive['action']['sections'][%zu]['rows']", i);
        }
    }
    return 0;
}

static int check_interactive(struct vctx *v, const json_t *body)
{
    const json_t *in;
    const json_t *action;
    const char *type;
    const char *name;
    int rc;

    if ((rc = obj_field(v, body, "interactive", "interactive", 1, &in)) != 0)
        return rc;
    if ((rc = str_field(v, in, "type", "interactive['type']", 1, 1, 0, &type)) != 0)
        return rc;
    if ((rc = obj_field(v, in, "action", "interactive['action']", 1, &action)) != 0)
        return rc;
    if (strcmp(type, "button") == 0) {
        if ((rc = body_text(v, in, SIM_BUTTON_BODY_MAX)) != 0 ||
            (rc = check_header_footer(v, in, 0)) != 0)
            return rc;
        return check_buttons(v, action);
    }
    if (strcmp(type, "list") == 0) {
        if ((rc = body_text(v, in, SIM_LIST_BODY_MAX)) != 0 ||
            (rc = check_header_footer(v, in, 1)) != 0)
            return rc;
        return check_list(v, action);
    }
    if (strcmp(type, "cta_url") == 0) {
        const json_t *params;
        const char *url;
        const char *s;

        if ((rc = body_text(v, in, SIM_BUTTON_BODY_MAX)) != 0 ||
            (rc = check_header_footer(v, in, 0)) != 0)
            return rc;
        if ((rc = str_field(v, action, "name", "interactive['action']['name']", 1, 1, 0, &name)) !=
            0)
            return rc;
        if (strcmp(name, "cta_url") != 0)
            return fail(v, 100, "Param interactive['action']['name'] must be cta_url");
        if ((rc = obj_field(v, action, "parameters", "interactive['action']['parameters']", 1,
                            &params)) != 0)
            return rc;
        if ((rc = str_field(v, params, "display_text",
                            "interactive['action']['parameters']['display_text']", 1, 1,
                            SIM_BUTTON_TITLE_MAX, &s)) != 0)
            return rc;
        if ((rc = str_field(v, params, "url", "interactive['action']['parameters']['url']", 1, 1,
                            2048, &url)) != 0)
            return rc;
        if (!is_http_url(url))
            return fail(v, 131009,
                        "Param interactive['action']['parameters']['url'] must be an http(s) URL");
        return 0;
    }
    if (strcmp(type, "location_request_message") == 0) {
        if ((rc = body_text(v, in, SIM_BUTTON_BODY_MAX)) != 0)
            return rc;
        if ((rc = str_field(v, action, "name", "interactive['action']['name']", 1, 1, 0, &name)) !=
            0)
            return rc;
        if (strcmp(name, "send_location") != 0)
            return fail(v, 100, "Param interactive['action']['name'] must be send_location");
        return 0;
    }
    return fail(v, 100,
                "Param interactive['type'] must be one of {button, list, cta_url, "
                "location_request_message} in the simulator");
}

/* ---- the send ---- */

static int check_recipient(struct vctx *v, const json_t *body, struct sim_send *out)
{
    const json_t *to = json_object_get(body, "to");
    const json_t *rcp = json_object_get(body, "recipient");
    const json_t *use = to != NULL ? to : rcp;
    const char *name = to != NULL ? "to" : "recipient";

    if (use == NULL)
        return fail(v, 131008, "Param to (or recipient) is required");
    if (!json_is_string(use))
        return fail(v, 100, "Param %s must be a string", name);
    out->input = json_string_value(use);
    if (sim_recipient_normalize(out->input, out->recipient, &out->bsuid) != 0)
        return fail(v, 131009, "Param %s is not a phone number or business-scoped user id", name);
    return 0;
}

static int check_read(struct vctx *v, const json_t *body, struct sim_send *out)
{
    const json_t *typing = json_object_get(body, "typing_indicator");
    const char *status = json_string_value(json_object_get(body, "status"));
    int rc;

    if (status == NULL || strcmp(status, "read") != 0)
        return fail(v, 100, "Param status must be read");
    if ((rc = str_field(v, body, "message_id", "message_id", 1, 1, 256, &out->message_id)) != 0)
        return rc;
    if (typing != NULL) {
        const char *t = json_string_value(json_object_get(typing, "type"));

        if (!json_is_object(typing) || t == NULL || strcmp(t, "text") != 0)
            return fail(v, 100, "Param typing_indicator['type'] must be text");
    }
    out->kind = SIM_KIND_READ;
    out->type = "read";
    return 0;
}

int sim_validate_send(const json_t *body, struct sim_send *out, char details[SIM_DETAILS_MAX])
{
    struct vctx v = {details};
    const json_t *context;
    const char *mp;
    const char *rtype;
    const char *type;
    int rc;

    memset(out, 0, sizeof *out);
    details[0] = '\0';
    if (!json_is_object(body))
        return fail(&v, 100, "The request body must be a JSON object");
    if ((rc = str_field(&v, body, "messaging_product", "messaging_product", 1, 1, 0, &mp)) != 0)
        return rc;
    if (strcmp(mp, "whatsapp") != 0)
        return fail(&v, 100, "Param messaging_product must be whatsapp");
    if (json_object_get(body, "status") != NULL)
        return check_read(&v, body, out);
    if ((rc = str_field(&v, body, "recipient_type", "recipient_type", 0, 1, 0, &rtype)) != 0)
        return rc;
    if (rtype != NULL && strcmp(rtype, "individual") != 0)
        return fail(&v, 100, "Param recipient_type must be individual (groups are not simulated)");
    if ((rc = check_recipient(&v, body, out)) != 0)
        return rc;
    if ((rc = str_field(&v, body, "type", "type", 0, 1, 0, &type)) != 0)
        return rc;
    out->type = type != NULL ? type : "text";
    if ((rc = obj_field(&v, body, "context", "context", 0, &context)) != 0)
        return rc;
    if (context != NULL) {
        const char *s;

        if ((rc = str_field(&v, context, "message_id", "context['message_id']", 1, 1, 256, &s)) !=
            0)
            return rc;
    }
    if ((rc = str_field(&v, body, "biz_opaque_callback_data", "biz_opaque_callback_data", 0, 0,
                        SIM_OPAQUE_MAX, &out->biz_opaque)) != 0)
        return rc;
    type = out->type;
    if (strcmp(type, "text") == 0) {
        out->kind = SIM_KIND_TEXT;
        return check_text(&v, body);
    }
    if (strcmp(type, "template") == 0) {
        const json_t *tpl;

        out->kind = SIM_KIND_TEMPLATE;
        if ((rc = obj_field(&v, body, "template", "template", 1, &tpl)) != 0)
            return rc;
        out->template_obj = tpl;
        return 0;
    }
    if (strcmp(type, "interactive") == 0) {
        out->kind = SIM_KIND_INTERACTIVE;
        return check_interactive(&v, body);
    }
    if (strcmp(type, "image") == 0 || strcmp(type, "video") == 0 || strcmp(type, "audio") == 0 ||
        strcmp(type, "document") == 0 || strcmp(type, "sticker") == 0) {
        out->kind = SIM_KIND_MEDIA;
        return check_media(&v, body, type, out);
    }
    if (strcmp(type, "reaction") == 0) {
        out->kind = SIM_KIND_REACTION;
        return check_reaction(&v, body);
    }
    if (strcmp(type, "location") == 0) {
        out->kind = SIM_KIND_LOCATION;
        return check_location(&v, body);
    }
    return fail(&v, 100,
                "Param type must be one of {text, template, interactive, image, video, audio, "
                "document, sticker, reaction, location}");
}

void sim_validate_peek(const json_t *body, char recipient[SIM_RECIPIENT_LEN], const char **type)
{
    const char *to = json_string_value(json_object_get(body, "to"));
    const char *t = json_string_value(json_object_get(body, "type"));
    int bsuid;

    if (to == NULL)
        to = json_string_value(json_object_get(body, "recipient"));
    if (sim_recipient_normalize(to, recipient, &bsuid) != 0)
        recipient[0] = '\0';
    if (json_object_get(body, "status") != NULL)
        t = "read";
    else if (t == NULL && json_is_object(body))
        t = "text";
    *type = t != NULL ? t : "";
}
