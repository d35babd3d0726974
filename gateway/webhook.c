/*
 * gateway/webhook.c - WhatsApp Cloud API webhook parser (see webhook.h).
 *
 * Shapes follow ../shared/brief/whatsapp-cloud-api.md section 1: envelope,
 * messages[] of every type, statuses[], value-level errors[], contacts[]
 * with wa_id and/or user_id (BSUID), and the 2026 BSUID-only senders.
 */
#include "gateway/webhook.h"
#include "core/mem.h"
#include "core/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- small JSON helpers: all return borrowed values or NULL ---- */

static json_t *get_obj(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_object(v) ? v : NULL;
}

static json_t *get_arr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_array(v) ? v : NULL;
}

static const char *get_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key)); /* NULL unless a string */
}

static bool get_true(json_t *o, const char *key)
{
    return json_is_true(json_object_get(o, key));
}

/* A coordinate given as a JSON number or a numeric string. */
static int get_coord(json_t *o, const char *key, double lo, double hi, double *out)
{
    json_t *v = json_object_get(o, key);
    double d;

    if (json_is_number(v)) {
        d = json_number_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;

        d = strtod(s, &end);
        if (end == s || *end != '\0')
            return -1;
    } else {
        return -1;
    }
    if (!isfinite(d) || d < lo || d > hi)
        return -1;
    *out = d;
    return 0;
}

/* Unix seconds from a string or integer; millisecond values are converted. */
static int get_timestamp(json_t *o, const char *key, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    int64_t t;

    if (json_is_string(v)) {
        const char *s = json_string_value(v);

        if (s[0] == '-' || core_parse_i64(s, &t) != 0)
            return -1;
    } else if (json_is_integer(v)) {
        t = json_integer_value(v);
    } else {
        return -1;
    }
    if (t <= 0)
        return -1;
    if (t >= 1000000000000LL) /* milliseconds */
        t /= 1000;
    *out = t;
    return 0;
}

static void collect_errors(struct gw_event *ev, json_t *arr)
{
    size_t i;
    json_t *e;

    if (!json_is_array(arr))
        return;
    json_array_foreach(arr, i, e)
    {
        json_t *code = json_object_get(e, "code");
        int64_t n;

        if (ev->n_errors >= GW_MAX_ERROR_CODES)
            break;
        if (json_is_integer(code))
            n = json_integer_value(code);
        else if (!json_is_string(code) || core_parse_i64(json_string_value(code), &n) != 0)
            continue;
        /* the same range for both forms: a huge integer must not wrap into an int */
        if (n >= 0 && n <= 10000000)
            ev->error_codes[ev->n_errors++] = (int)n;
    }
}

/* ---- identity validation ---- */

/* Longest accepted BSUID: "CC." and up to about 128 alphanumerics; be generous. */
#define MAX_BSUID_LEN 160

bool gw_is_wa_id(const char *s)
{
    size_t n;

    if (s == NULL)
        return false;
    for (n = 0; s[n] != '\0'; n++) {
        if (s[n] < '0' || s[n] > '9')
            return false;
    }
    return n >= 3 && n <= 20;
}

static bool is_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool gw_is_bsuid(const char *s)
{
    size_t n;
    bool part = false;

    if (s == NULL || !(s[0] >= 'A' && s[0] <= 'Z') || !(s[1] >= 'A' && s[1] <= 'Z') ||
        s[2] != '.')
        return false;
    for (n = 3; s[n] != '\0'; n++) {
        if (n >= MAX_BSUID_LEN) /* n characters already: one more is too many */
            return false;
        if (is_alnum(s[n])) {
            part = true;
        } else if (s[n] == '.' && part) {
            part = false;
        } else {
            return false;
        }
    }
    return part;
}

/* ---- events ---- */

static struct gw_event *new_event(struct gw_webhook *h, enum gw_event_kind kind, size_t entry,
                                  size_t change, size_t index, json_t *value)
{
    struct gw_event *ev;
    json_t *meta = get_obj(value, "metadata");

    if (h->n_events == h->cap_events) {
        h->cap_events = h->cap_events ? h->cap_events * 2 : 8;
        h->events = core_realloc(h->events, h->cap_events * sizeof *h->events);
    }
    ev = &h->events[h->n_events++];
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    ev->entry = entry;
    ev->change = change;
    ev->index = index;
    ev->phone_number_id = get_str(meta, "phone_number_id");
    ev->display_phone = get_str(meta, "display_phone_number");
    if (ev->phone_number_id == NULL || ev->phone_number_id[0] == '\0')
        ev->problem = "change has no metadata.phone_number_id";
    return ev;
}

static void set_problem(struct gw_event *ev, const char *problem)
{
    if (ev->problem == NULL)
        ev->problem = problem;
}

static const char *valid_id(struct gw_event *ev, const char *id, const char *what_missing)
{
    if (id == NULL || id[0] == '\0') {
        set_problem(ev, what_missing);
        return NULL;
    }
    if (strlen(id) > GW_MAX_ID_LEN) {
        set_problem(ev, "id is too long");
        return NULL;
    }
    return id;
}

/*
 * The contacts[] element describing this sender, if any: the one whose wa_id
 * or user_id is an id the message itself carries. Failing that, a lone
 * contact that carries no id at all (a bare profile) may give the name. A
 * contact with other ids is somebody else: never take a name or an identity
 * from it, and never make up a sender the message does not name.
 */
static json_t *find_contact(json_t *contacts, const char *from, const char *user_id)
{
    size_t i;
    json_t *c;

    if (contacts == NULL)
        return NULL;
    json_array_foreach(contacts, i, c)
    {
        const char *w = get_str(c, "wa_id");
        const char *u = get_str(c, "user_id");

        if ((from != NULL && w != NULL && strcmp(w, from) == 0) ||
            (user_id != NULL && u != NULL && strcmp(u, user_id) == 0))
            return c;
    }
    if (json_array_size(contacts) != 1)
        return NULL;
    c = json_array_get(contacts, 0);
    if (json_object_get(c, "wa_id") != NULL || json_object_get(c, "user_id") != NULL)
        return NULL;
    return c;
}

static void parse_sender(struct gw_event *ev, json_t *m, json_t *contacts)
{
    json_t *from = json_object_get(m, "from");
    json_t *from_uid = json_object_get(m, "from_user_id");
    json_t *contact;
    static const char bad_sender[] = "sender is neither digits nor a business-scoped user id";

    if (from != NULL && !json_is_null(from)) {
        const char *s = json_string_value(from);

        if (gw_is_wa_id(s))
            ev->from = s;
        else if (gw_is_bsuid(s))
            ev->user_id = s;
        else
            set_problem(ev, bad_sender);
    }
    if (from_uid != NULL && !json_is_null(from_uid)) {
        const char *s = json_string_value(from_uid);

        if (!gw_is_bsuid(s))
            set_problem(ev, bad_sender);
        else if (ev->user_id == NULL)
            ev->user_id = s;
    }
    contact = find_contact(contacts, ev->from, ev->user_id);
    if (contact != NULL) {
        json_t *profile = get_obj(contact, "profile");
        const char *w = get_str(contact, "wa_id");
        const char *u = get_str(contact, "user_id");

        ev->name = get_str(profile, "name");
        ev->username = get_str(profile, "username");
        if (ev->from == NULL && gw_is_wa_id(w))
            ev->from = w;
        if (ev->user_id == NULL && gw_is_bsuid(u))
            ev->user_id = u;
    }
    if (ev->from == NULL && ev->user_id == NULL)
        set_problem(ev, "message has no sender");
}

static void parse_media(struct gw_event *ev, json_t *media)
{
    if (media == NULL)
        return;
    ev->media_id = get_str(media, "id");
    ev->mime_type = get_str(media, "mime_type");
    ev->text = get_str(media, "caption");
    ev->filename = get_str(media, "filename");
    if (get_true(media, "voice"))
        ev->voice = true;
}

static void parse_interactive(struct gw_event *ev, json_t *it)
{
    const char *t = get_str(it, "type");
    json_t *r;

    if (t == NULL)
        return;
    if (strcmp(t, "button_reply") == 0 || strcmp(t, "list_reply") == 0) {
        r = get_obj(it, t);
        ev->reply_id = get_str(r, "id");
        ev->text = get_str(r, "title");
    } else if (strcmp(t, "nfm_reply") == 0) {
        r = get_obj(it, "nfm_reply");
        ev->reply_id = get_str(r, "name");
        ev->text = get_str(r, "body");
    }
}

static void parse_system(struct gw_event *ev, json_t *sys)
{
    const char *w;
    const char *u;
    const char *p;

    if (sys == NULL)
        return;
    ev->system_type = get_str(sys, "type");
    ev->text = get_str(sys, "body");
    w = get_str(sys, "wa_id");
    u = get_str(sys, "user_id");
    p = get_str(sys, "previous_user_id");
    if (w != NULL && !gw_is_wa_id(w))
        set_problem(ev, "system message carries a malformed new wa_id");
    else
        ev->new_wa_id = w;
    if (u != NULL && !gw_is_bsuid(u))
        set_problem(ev, "system message carries a malformed new user id");
    else
        ev->new_user_id = u;
    if (p != NULL && !gw_is_bsuid(p))
        set_problem(ev, "system message carries a malformed previous user id");
    else
        ev->previous_user_id = p;
}

static void parse_message(struct gw_webhook *h, json_t *value, json_t *m, size_t entry,
                          size_t change, size_t index)
{
    struct gw_event *ev = new_event(h, GW_EVENT_MESSAGE, entry, change, index, value);
    json_t *ctx;
    const char *type;

    if (!json_is_object(m)) {
        set_problem(ev, "message is not an object");
        return;
    }
    ev->id = valid_id(ev, get_str(m, "id"), "message has no id");
    parse_sender(ev, m, get_arr(value, "contacts"));
    if (get_timestamp(m, "timestamp", &ev->timestamp) != 0)
        set_problem(ev, "message has a missing or bad timestamp");
    type = get_str(m, "type");
    if (type == NULL || type[0] == '\0') {
        set_problem(ev, "message has no type");
        type = "unknown";
    }
    ev->type = type;
    ctx = get_obj(m, "context");
    if (ctx != NULL) {
        ev->forwarded = get_true(ctx, "forwarded") || get_true(ctx, "frequently_forwarded");
        ev->frequently_forwarded = get_true(ctx, "frequently_forwarded");
        ev->context_id = get_str(ctx, "id");
        ev->context_from = get_str(ctx, "from");
    }
    ev->group_id = get_str(m, "group_id");
    ev->has_referral = get_obj(m, "referral") != NULL;
    collect_errors(ev, json_object_get(m, "errors"));

    if (strcmp(type, "text") == 0) {
        ev->text = get_str(get_obj(m, "text"), "body");
    } else if (strcmp(type, "image") == 0 || strcmp(type, "video") == 0 ||
               strcmp(type, "audio") == 0 || strcmp(type, "document") == 0 ||
               strcmp(type, "sticker") == 0) {
        parse_media(ev, get_obj(m, type));
    } else if (strcmp(type, "voice") == 0) {
        /* some senders use a "voice" object; report it as a voice note */
        ev->type = "audio";
        parse_media(ev, get_obj(m, "voice"));
        ev->voice = true;
    } else if (strcmp(type, "location") == 0) {
        json_t *loc = get_obj(m, "location");

        if (loc == NULL || get_coord(loc, "latitude", -90, 90, &ev->latitude) != 0 ||
            get_coord(loc, "longitude", -180, 180, &ev->longitude) != 0) {
            set_problem(ev, "location has missing or out-of-range coordinates");
        } else {
            ev->has_location = true;
            ev->location_name = get_str(loc, "name");
            ev->location_address = get_str(loc, "address");
        }
    } else if (strcmp(type, "contacts") == 0) {
        ev->n_contacts = json_array_size(get_arr(m, "contacts"));
    } else if (strcmp(type, "interactive") == 0) {
        parse_interactive(ev, get_obj(m, "interactive"));
    } else if (strcmp(type, "button") == 0) {
        json_t *b = get_obj(m, "button");

        ev->text = get_str(b, "text");
        ev->reply_id = get_str(b, "payload");
    } else if (strcmp(type, "reaction") == 0) {
        json_t *r = get_obj(m, "reaction");

        ev->reaction_to = get_str(r, "message_id");
        ev->text = get_str(r, "emoji");
    } else if (strcmp(type, "order") == 0) {
        ev->text = get_str(get_obj(m, "order"), "text");
    } else if (strcmp(type, "system") == 0) {
        parse_system(ev, get_obj(m, "system"));
    } else if (strcmp(type, "unsupported") == 0) {
        ev->unsupported_type = get_str(get_obj(m, "unsupported"), "type");
    } else if (ev->problem == NULL) {
        /* A type this parser does not know is handled like Meta's own
         * "unsupported": the sender is asked to resend as text or photo. */
        ev->unsupported_type = type;
        ev->type = "unsupported";
    }
}

static const struct {
    const char *name;
    enum gw_status status;
} status_names[] = {
    {"sent", GW_STATUS_SENT},       {"delivered", GW_STATUS_DELIVERED},
    {"read", GW_STATUS_READ},       {"played", GW_STATUS_PLAYED},
    {"failed", GW_STATUS_FAILED},   {"deleted", GW_STATUS_DELETED},
};

static void parse_status(struct gw_webhook *h, json_t *value, json_t *s, size_t entry,
                         size_t change, size_t index)
{
    struct gw_event *ev = new_event(h, GW_EVENT_STATUS, entry, change, index, value);
    const char *st;
    json_t *pricing;
    size_t i;

    if (!json_is_object(s)) {
        set_problem(ev, "status is not an object");
        return;
    }
    ev->id = valid_id(ev, get_str(s, "id"), "status has no message id");
    st = get_str(s, "status");
    for (i = 0; st != NULL && i < sizeof status_names / sizeof status_names[0]; i++) {
        if (strcmp(st, status_names[i].name) == 0) {
            ev->status = status_names[i].status;
            ev->status_name = status_names[i].name;
        }
    }
    if (ev->status == GW_STATUS_NONE)
        set_problem(ev, "unknown status");
    if (get_timestamp(s, "timestamp", &ev->timestamp) != 0)
        set_problem(ev, "status has a missing or bad timestamp");
    ev->recipient = get_str(s, "recipient_id");
    if (ev->recipient == NULL)
        ev->recipient = get_str(s, "recipient_user_id");
    ev->biz_opaque = get_str(s, "biz_opaque_callback_data");
    pricing = get_obj(s, "pricing");
    ev->pricing_category = get_str(pricing, "category");
    ev->billable = get_true(pricing, "billable");
    collect_errors(ev, json_object_get(s, "errors"));
}

static void parse_value_errors(struct gw_webhook *h, json_t *value, json_t *errors, size_t entry,
                               size_t change)
{
    size_t i;
    json_t *e;

    json_array_foreach(errors, i, e)
    {
        struct gw_event *ev = new_event(h, GW_EVENT_ERROR, entry, change, i, value);
        json_t *one = json_array();

        json_array_append(one, e);
        collect_errors(ev, one);
        json_decref(one);
    }
}

static void parse_change(struct gw_webhook *h, json_t *ch, size_t entry, size_t change)
{
    const char *field = get_str(ch, "field");
    json_t *value = get_obj(ch, "value");
    json_t *arr;
    json_t *item;
    size_t i;

    if (field == NULL || strcmp(field, "messages") != 0) {
        if (h->ignored < sizeof h->ignored_field / sizeof h->ignored_field[0])
            h->ignored_field[h->ignored] = field != NULL ? field : "(none)";
        h->ignored++;
        return;
    }
    if (value == NULL) {
        struct gw_event *ev = new_event(h, GW_EVENT_ERROR, entry, change, 0, NULL);

        ev->problem = "change has no value object"; /* the real reason, not "no metadata" */
        return;
    }
    arr = get_arr(value, "messages");
    json_array_foreach(arr, i, item) parse_message(h, value, item, entry, change, i);
    arr = get_arr(value, "statuses");
    json_array_foreach(arr, i, item) parse_status(h, value, item, entry, change, i);
    arr = get_arr(value, "errors");
    if (arr != NULL)
        parse_value_errors(h, value, arr, entry, change);
}

int gw_webhook_parse(struct gw_webhook *hook, const char *body, size_t len, struct core_err *err)
{
    json_error_t jerr;
    const char *object;
    json_t *entries;
    json_t *entry;
    size_t i;

    memset(hook, 0, sizeof *hook);
    hook->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (hook->root == NULL)
        /* jerr.text may quote the input: report only the position */
        return core_err_set(err, CORE_EX_DATAERR,
                            "not a WhatsApp webhook: invalid JSON at line %d column %d",
                            jerr.line, jerr.column);
    if (!json_is_object(hook->root))
        return core_err_set(err, CORE_EX_DATAERR,
                            "not a WhatsApp webhook: the body is not a JSON object");
    object = get_str(hook->root, "object");
    if (object == NULL || strcmp(object, "whatsapp_business_account") != 0)
        return core_err_set(err, CORE_EX_DATAERR,
                            "not a WhatsApp webhook: \"object\" is not "
                            "\"whatsapp_business_account\"");
    entries = get_arr(hook->root, "entry");
    if (entries == NULL)
        return core_err_set(err, CORE_EX_DATAERR,
                            "not a WhatsApp webhook: no \"entry\" array");
    json_array_foreach(entries, i, entry)
    {
        json_t *changes = get_arr(entry, "changes");
        json_t *ch;
        size_t k;

        if (changes == NULL) {
            struct gw_event *ev = new_event(hook, GW_EVENT_ERROR, i, 0, 0, NULL);

            ev->problem = "entry has no changes array"; /* the real reason, not "no metadata" */
            continue;
        }
        json_array_foreach(changes, k, ch) parse_change(hook, ch, i, k);
    }
    return 0;
}

void gw_webhook_free(struct gw_webhook *hook)
{
    if (hook == NULL)
        return;
    free(hook->events);
    json_decref(hook->root);
    memset(hook, 0, sizeof *hook);
}

size_t gw_webhook_problems(const struct gw_webhook *hook)
{
    size_t i;
    size_t n = 0;

    for (i = 0; i < hook->n_events; i++) {
        if (hook->events[i].problem != NULL)
            n++;
    }
    return n;
}

const char *gw_event_kind_name(enum gw_event_kind kind)
{
    switch (kind) {
    case GW_EVENT_MESSAGE:
        return "message";
    case GW_EVENT_STATUS:
        return "status";
    case GW_EVENT_ERROR:
        return "error";
    }
    return "unknown";
}

/* ---- JSON output for `janseva parse-webhook` ---- */

static json_t *str_or_null(const char *s)
{
    json_t *v = s != NULL ? json_string(s) : NULL;

    return v != NULL ? v : json_null();
}

static void put_opt(json_t *o, const char *key, const char *s)
{
    if (s != NULL)
        json_object_set_new(o, key, str_or_null(s));
}

static json_t *error_array(const struct gw_event *ev)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < ev->n_errors; i++)
        json_array_append_new(a, json_integer(ev->error_codes[i]));
    return a;
}

json_t *gw_event_to_json(const struct gw_event *ev)
{
    json_t *o = json_object();

    json_object_set_new(o, "kind", json_string(gw_event_kind_name(ev->kind)));
    json_object_set_new(o, "phone_number_id", str_or_null(ev->phone_number_id));
    switch (ev->kind) {
    case GW_EVENT_MESSAGE:
        json_object_set_new(o, "id", str_or_null(ev->id));
        json_object_set_new(o, "from", str_or_null(ev->from));
        json_object_set_new(o, "user_id", str_or_null(ev->user_id));
        json_object_set_new(o, "name", str_or_null(ev->name));
        json_object_set_new(o, "timestamp", json_integer(ev->timestamp));
        json_object_set_new(o, "type", str_or_null(ev->type));
        json_object_set_new(o, "voice", json_boolean(ev->voice));
        json_object_set_new(o, "text", str_or_null(ev->text));
        json_object_set_new(o, "reply_id", str_or_null(ev->reply_id));
        json_object_set_new(o, "context_id", str_or_null(ev->context_id));
        json_object_set_new(o, "forwarded", json_boolean(ev->forwarded));
        json_object_set_new(o, "frequently_forwarded", json_boolean(ev->frequently_forwarded));
        json_object_set_new(o, "latitude",
                            ev->has_location ? json_real(ev->latitude) : json_null());
        json_object_set_new(o, "longitude",
                            ev->has_location ? json_real(ev->longitude) : json_null());
        json_object_set_new(o, "media_id", str_or_null(ev->media_id));
        json_object_set_new(o, "errors", error_array(ev));
        put_opt(o, "username", ev->username);
        put_opt(o, "mime_type", ev->mime_type);
        put_opt(o, "filename", ev->filename);
        put_opt(o, "group_id", ev->group_id);
        put_opt(o, "location_name", ev->location_name);
        put_opt(o, "location_address", ev->location_address);
        put_opt(o, "reaction_to", ev->reaction_to);
        put_opt(o, "unsupported_type", ev->unsupported_type);
        put_opt(o, "system_type", ev->system_type);
        put_opt(o, "new_wa_id", ev->new_wa_id);
        put_opt(o, "new_user_id", ev->new_user_id);
        put_opt(o, "previous_user_id", ev->previous_user_id);
        if (ev->n_contacts > 0)
            json_object_set_new(o, "contacts", json_integer((json_int_t)ev->n_contacts));
        if (ev->has_referral)
            json_object_set_new(o, "referral", json_true());
        break;
    case GW_EVENT_STATUS:
        json_object_set_new(o, "id", str_or_null(ev->id));
        json_object_set_new(o, "status", str_or_null(ev->status_name));
        json_object_set_new(o, "recipient", str_or_null(ev->recipient));
        json_object_set_new(o, "timestamp", json_integer(ev->timestamp));
        json_object_set_new(o, "errors", error_array(ev));
        json_object_set_new(o, "pricing_category", str_or_null(ev->pricing_category));
        if (ev->biz_opaque != NULL)
            json_object_set_new(o, "biz_opaque_callback_data", str_or_null(ev->biz_opaque));
        break;
    case GW_EVENT_ERROR:
        json_object_set_new(o, "errors", error_array(ev));
        break;
    }
    return o;
}
