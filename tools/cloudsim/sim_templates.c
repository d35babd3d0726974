/*
 * tools/cloudsim/sim_templates.c - template store and parameter checks
 * (see sim_templates.h).
 *
 * Parameters expected per component:
 *   header  TEXT: the distinct {{..}} placeholders of its text;
 *           IMAGE, VIDEO, DOCUMENT, LOCATION: exactly 1; none otherwise;
 *   body    the distinct placeholders of its text;
 *   button  i: URL buttons the placeholders of their url, COPY_CODE 1,
 *           QUICK_REPLY 0 or 1 (an optional payload), others 0.
 */
#include "tools/cloudsim/sim_templates.h"

#include "core/mem.h"
#include "tools/cloudsim/sim_map.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SIM_MAX_BUTTONS 10
#define SIM_MAX_PLACEHOLDERS 64
#define SIM_TPL_KEY_MAX 600

enum button_rule { BTN_EXACT, BTN_OPTIONAL_ONE };

struct tpl {
    char *name;
    char *lang;
    char category[SIM_CATEGORY_LEN];
    int header; /* parameters the header takes */
    int body;   /* parameters the body takes */
    int n_buttons;
    int button[SIM_MAX_BUTTONS];
    enum button_rule rule[SIM_MAX_BUTTONS];
};

struct sim_templates {
    pthread_rwlock_t lock;
    struct sim_map *map; /* "name\x1flang" -> struct tpl */
};

static void free_tpl(void *p)
{
    struct tpl *t = p;

    if (t == NULL)
        return;
    free(t->name);
    free(t->lang);
    free(t);
}

struct sim_templates *sim_templates_new(void)
{
    struct sim_templates *t = core_calloc(1, sizeof *t);

    pthread_rwlock_init(&t->lock, NULL);
    t->map = sim_map_new();
    return t;
}

void sim_templates_free(struct sim_templates *t)
{
    if (t == NULL)
        return;
    sim_map_free(t->map, free_tpl);
    pthread_rwlock_destroy(&t->lock);
    free(t);
}

void sim_templates_clear(struct sim_templates *t)
{
    pthread_rwlock_wrlock(&t->lock);
    sim_map_free(t->map, free_tpl);
    t->map = sim_map_new();
    pthread_rwlock_unlock(&t->lock);
}

/* Distinct {{...}} placeholders in `text` (positional or named). */
static int count_placeholders(const char *text)
{
    char seen[SIM_MAX_PLACEHOLDERS][64];
    int n = 0;
    const char *p = text;

    while (p != NULL && (p = strstr(p, "{{")) != NULL) {
        const char *end = strstr(p + 2, "}}");
        const char *start = p + 2;
        size_t len;
        char name[64];
        int i;
        int dup = 0;

        if (end == NULL)
            break;

        len = (size_t)(end - start);
        while (len > 0 && isspace((unsigned char)*start)) {
            start++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)start[len - 1]))
            len--;
        snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), start);
        for (i = 0; i < n; i++) {
            if (strcmp(seen[i], name) == 0)
                dup = 1;
        }
        if (!dup && n < SIM_MAX_PLACEHOLDERS)
            memcpy(seen[n++], name, sizeof name);
        p = end + 2;
    }
    return n;
}

static const char *get_s(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int key_of(char *out, size_t n, const char *name, const char *lang)
{
    int k = snprintf(out, n, "%s\x1f%s", name, lang);

    return k > 0 && (size_t)k < n ? 0 : -1;
}

/* Parse one template definition into a new struct tpl, or NULL with err. */
static struct tpl *parse_tpl(const json_t *v, size_t idx, struct core_err *err)
{
    const char *name = get_s(v, "name");
    const char *lang = get_s(v, "language");
    const char *cat = get_s(v, "category");
    const json_t *comps = json_object_get(v, "components");
    const json_t *c;
    struct tpl *t;
    size_t i;
    size_t k;

    if (!json_is_object(v) || name == NULL || name[0] == '\0' || lang == NULL || lang[0] == '\0') {
        core_err_set(err, CORE_EX_DATAERR, "template %zu: needs \"name\" and \"language\"", idx);
        return NULL;
    }
    if (comps != NULL && !json_is_array(comps)) {
        core_err_set(err, CORE_EX_DATAERR, "template %zu: \"components\" must be an array", idx);
        return NULL;
    }
    t = core_calloc(1, sizeof *t);
    t->name = core_strdup(name);
    t->lang = core_strdup(lang);
    snprintf(t->category, sizeof t->category, "%s", cat != NULL ? cat : "utility");
    for (k = 0; t->category[k] != '\0'; k++)
        t->category[k] = (char)tolower((unsigned char)t->category[k]);
    json_array_foreach(comps, i, c)
    {
        const char *type = get_s(c, "type");
        const char *text = get_s(c, "text");

        if (type == NULL)
            continue;
        if (strcasecmp(type, "HEADER") == 0) {
            const char *fmt = get_s(c, "format");

            if (fmt == NULL || strcasecmp(fmt, "TEXT") == 0)
                t->header = count_placeholders(text);
            else
                t->header = 1;
        } else if (strcasecmp(type, "BODY") == 0) {
            t->body = count_placeholders(text);
        } else if (strcasecmp(type, "BUTTONS") == 0) {
            const json_t *buttons = json_object_get(c, "buttons");
            const json_t *b;
            size_t j;

            json_array_foreach(buttons, j, b)
            {
                const char *bt = get_s(b, "type");

                if (t->n_buttons >= SIM_MAX_BUTTONS)
                    break;
                t->rule[t->n_buttons] = BTN_EXACT;
                t->button[t->n_buttons] = 0;
                if (bt != NULL && strcasecmp(bt, "URL") == 0) {
                    t->button[t->n_buttons] = count_placeholders(get_s(b, "url"));
                } else if (bt != NULL && strcasecmp(bt, "COPY_CODE") == 0) {
                    t->button[t->n_buttons] = 1;
                } else if (bt != NULL && strcasecmp(bt, "QUICK_REPLY") == 0) {
                    t->rule[t->n_buttons] = BTN_OPTIONAL_ONE;
                }
                t->n_buttons++;
            }
        }
    }
    return t;
}

static int is_approved(const json_t *v)
{
    const char *status = get_s(v, "status");

    return status == NULL || strcasecmp(status, "APPROVED") == 0;
}

int sim_templates_add(struct sim_templates *t, const json_t *v, struct core_err *err)
{
    const json_t *list = v;
    struct tpl **parsed;
    size_t n;
    size_t i;
    int added = 0;

    if (json_is_object(v) && json_is_array(json_object_get(v, "data")))
        list = json_object_get(v, "data");
    else if (json_is_object(v) && json_is_array(json_object_get(v, "templates")))
        list = json_object_get(v, "templates");
    if (json_is_object(list)) {
        json_t *one = json_array();
        int rc;

        json_array_append(one, (json_t *)(uintptr_t)list);
        rc = sim_templates_add(t, one, err);
        json_decref(one);
        return rc;
    }
    if (!json_is_array(list))
        return core_err_set(err, CORE_EX_DATAERR,
                            "templates must be an array, {\"data\":[...]}, "
                            "{\"templates\":[...]} or one template object");
    n = json_array_size(list);
    parsed = core_calloc(n + 1, sizeof *parsed);
    for (i = 0; i < n; i++) {
        char key[SIM_TPL_KEY_MAX];

        parsed[i] = parse_tpl(json_array_get(list, i), i, err);
        if (parsed[i] == NULL || key_of(key, sizeof key, parsed[i]->name, parsed[i]->lang) != 0) {
            size_t j;

            if (parsed[i] != NULL)
                core_err_set(err, CORE_EX_DATAERR, "template %zu: name too long", i);
            for (j = 0; j <= i; j++)
                free_tpl(parsed[j]);
            free(parsed);
            return -1;
        }
    }
    pthread_rwlock_wrlock(&t->lock);
    for (i = 0; i < n; i++) {
        char key[SIM_TPL_KEY_MAX];

        key_of(key, sizeof key, parsed[i]->name, parsed[i]->lang);
        if (is_approved(json_array_get(list, i))) {
            free_tpl(sim_map_put(t->map, key, parsed[i]));
            added++;
        } else {
            free_tpl(sim_map_del(t->map, key)); /* not approved: as if absent */
            free_tpl(parsed[i]);
        }
    }
    pthread_rwlock_unlock(&t->lock);
    free(parsed);
    return added;
}

int sim_templates_load(struct sim_templates *t, const char *path, struct core_err *err)
{
    json_error_t je;
    json_t *v = json_load_file(path, 0, &je);
    int rc;

    if (v == NULL && je.line > 0)
        return core_err_set(err, CORE_EX_CONFIG, "templates file %s: %s (line %d)", path, je.text,
                            je.line);
    if (v == NULL)
        return core_err_set(err, CORE_EX_CONFIG, "templates file %s: %s", path, je.text);
    rc = sim_templates_add(t, v, err);
    json_decref(v);
    if (rc < 0) {
        err->code = CORE_EX_CONFIG;
        return core_err_wrap(err, "templates file %s", path);
    }
    return rc;
}

/* Parameters of one component of a send, or -1 if they are not an array. */
static int count_params(const json_t *comp, char details[SIM_DETAILS_LEN], const char *what)
{
    const json_t *params = json_object_get(comp, "parameters");
    const json_t *p;
    size_t i;

    if (params == NULL)
        return 0;
    if (!json_is_array(params)) {
        snprintf(details, SIM_DETAILS_LEN, "%s parameters must be an array", what);
        return -1;
    }
    json_array_foreach(params, i, p)
    {
        if (!json_is_object(p) || get_s(p, "type") == NULL) {
            snprintf(details, SIM_DETAILS_LEN, "%s parameter %zu needs a \"type\"", what, i);
            return -1;
        }
    }
    return (int)json_array_size(params);
}

static int mismatch(char details[SIM_DETAILS_LEN], const char *what, int expected, int got)
{
    snprintf(details, SIM_DETAILS_LEN,
             "%s: number of localizable_params (%d) does not match the expected number of "
             "params (%d)",
             what, got, expected);
    return 132000;
}

int sim_templates_check(struct sim_templates *t, const json_t *tpl, char category[SIM_CATEGORY_LEN],
                        char details[SIM_DETAILS_LEN])
{
    const char *name = get_s(tpl, "name");
    const json_t *language = json_object_get(tpl, "language");
    const char *code = get_s(language, "code");
    const json_t *comps = json_object_get(tpl, "components");
    char key[SIM_TPL_KEY_MAX];
    struct tpl copy;
    struct tpl *found;
    int header = 0, body = 0;
    int buttons[SIM_MAX_BUTTONS] = {0};
    const json_t *c;
    size_t i;

    if (!json_is_object(tpl) || name == NULL || name[0] == '\0') {
        snprintf(details, SIM_DETAILS_LEN, "template['name'] is required");
        return 131008;
    }
    if (code == NULL || code[0] == '\0') {
        snprintf(details, SIM_DETAILS_LEN, "template['language']['code'] is required");
        return 131008;
    }
    if (comps != NULL && !json_is_array(comps)) {
        snprintf(details, SIM_DETAILS_LEN, "template['components'] must be an array");
        return 100;
    }
    if (key_of(key, sizeof key, name, code) != 0) {
        snprintf(details, SIM_DETAILS_LEN, "template name is too long");
        return 132001;
    }
    pthread_rwlock_rdlock(&t->lock);
    found = sim_map_get(t->map, key);
    if (found != NULL)
        copy = *found;
    pthread_rwlock_unlock(&t->lock);
    if (found == NULL) {
        snprintf(details, SIM_DETAILS_LEN, "template name (%.100s) does not exist in %.20s", name,
                 code);
        return 132001;
    }
    json_array_foreach(comps, i, c)
    {
        const char *type = get_s(c, "type");
        int n;

        if (!json_is_object(c) || type == NULL) {
            snprintf(details, SIM_DETAILS_LEN, "component %zu needs a \"type\"", i);
            return 100;
        }
        if (strcasecmp(type, "header") == 0) {
            if ((n = count_params(c, details, "header")) < 0)
                return 100;
            header += n;
        } else if (strcasecmp(type, "body") == 0) {
            if ((n = count_params(c, details, "body")) < 0)
                return 100;
            body += n;
        } else if (strcasecmp(type, "button") == 0) {
            const json_t *jidx = json_object_get(c, "index");
            long long idx = -1;

            if (json_is_integer(jidx))
                idx = json_integer_value(jidx);
            else if (json_is_string(jidx) && strlen(json_string_value(jidx)) < 4)
                idx = strtoll(json_string_value(jidx), NULL, 10);
            if (idx < 0 || idx >= copy.n_buttons) {
                snprintf(details, SIM_DETAILS_LEN, "button index %lld is not in the template", idx);
                return 132000;
            }
            if ((n = count_params(c, details, "button")) < 0)
                return 100;
            buttons[idx] += n;
        } else {
            snprintf(details, SIM_DETAILS_LEN, "component type must be header, body or button");
            return 100;
        }
    }
    if (header != copy.header)
        return mismatch(details, "header", copy.header, header);
    if (body != copy.body)
        return mismatch(details, "body", copy.body, body);
    for (i = 0; i < (size_t)copy.n_buttons; i++) {
        if (copy.rule[i] == BTN_OPTIONAL_ONE && buttons[i] <= 1)
            continue;
        if (buttons[i] != copy.button[i]) {
            char what[32];

            snprintf(what, sizeof what, "button %zu", i);
            return mismatch(details, what, copy.button[i], buttons[i]);
        }
    }
    snprintf(category, SIM_CATEGORY_LEN, "%s", copy.category);
    return 0;
}

static int list_one(void *ud, const char *key, void *val)
{
    json_t *arr = ud;
    const struct tpl *t = val;
    json_t *btn = json_array();
    int i;

    (void)key;
    for (i = 0; i < t->n_buttons; i++)
        json_array_append_new(btn, json_integer(t->button[i]));
    json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:{s:i,s:i,s:o}}", "name", t->name,
                                         "language", t->lang, "category", t->category, "params",
                                         "header", t->header, "body", t->body, "buttons", btn));
    return 0;
}

json_t *sim_templates_list(struct sim_templates *t)
{
    json_t *arr = json_array();

    pthread_rwlock_rdlock(&t->lock);
    sim_map_sweep(t->map, list_one, arr);
    pthread_rwlock_unlock(&t->lock);
    return arr;
}
