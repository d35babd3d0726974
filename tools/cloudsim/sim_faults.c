/*
 * tools/cloudsim/sim_faults.c - injected faults (see sim_faults.h).
 */
#include "tools/cloudsim/sim_faults.h"

#include "core/mem.h"
#include "tools/cloudsim/sim_rng.h"
#include "tools/cloudsim/sim_validate.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_TIMEOUT_HOLD_MS 60000

struct fault {
    int id;
    enum sim_fault_mode mode;
    enum sim_fault_scope scope;
    int64_t remaining;  /* -1 = unlimited */
    int64_t until_mono; /* 0 = no end */
    double probability;
    int64_t delay_ms; /* slow: added delay; timeout: hold */
    int http;
    int code;
    int async;
    int process;
    char *pnid; /* NULL = any */
    char *to;   /* normalised; NULL = any */
    char message[SIM_FAULT_TEXT_LEN];
    char details[SIM_FAULT_TEXT_LEN];
    int64_t hits;
    struct fault *next;
};

struct sim_faults {
    pthread_mutex_t lock;
    atomic_int active; /* number of faults in the list */
    struct fault *head;
    int next_id;
};

static const struct {
    const char *name;
    enum sim_fault_mode mode;
    enum sim_fault_phase phase;
} modes[] = {
    {"5xx", SIM_FAULT_5XX, SIM_PHASE_PRE},
    {"slow", SIM_FAULT_SLOW, SIM_PHASE_PRE},
    {"timeout", SIM_FAULT_TIMEOUT, SIM_PHASE_PRE},
    {"reset", SIM_FAULT_RESET, SIM_PHASE_PRE},
    {"throttle", SIM_FAULT_THROTTLE, SIM_PHASE_PRE},
    {"token_expired", SIM_FAULT_TOKEN_EXPIRED, SIM_PHASE_PRE},
    {"blocked", SIM_FAULT_BLOCKED, SIM_PHASE_PRE},
    {"not_registered", SIM_FAULT_NOT_REGISTERED, SIM_PHASE_PRE},
    {"error", SIM_FAULT_ERROR, SIM_PHASE_PRE},
    {"pair_limit", SIM_FAULT_PAIR_LIMIT, SIM_PHASE_POST},
    {"undeliverable", SIM_FAULT_UNDELIVERABLE, SIM_PHASE_POST},
};

const char *sim_fault_mode_name(enum sim_fault_mode m)
{
    size_t i;

    for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (modes[i].mode == m)
            return modes[i].name;
    }
    return "?";
}

static enum sim_fault_phase phase_of(const struct fault *x)
{
    size_t i;

    if (x->mode == SIM_FAULT_ERROR)
        return x->async ? SIM_PHASE_POST : SIM_PHASE_PRE;
    for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (modes[i].mode == x->mode)
            return modes[i].phase;
    }
    return SIM_PHASE_PRE;
}

static void free_fault(struct fault *x)
{
    free(x->pnid);
    free(x->to);
    free(x);
}

struct sim_faults *sim_faults_new(void)
{
    struct sim_faults *f = core_calloc(1, sizeof *f);

    pthread_mutex_init(&f->lock, NULL);
    f->next_id = 1;
    return f;
}

void sim_faults_clear(struct sim_faults *f)
{
    struct fault *x;

    pthread_mutex_lock(&f->lock);
    x = f->head;
    f->head = NULL;
    atomic_store(&f->active, 0);
    pthread_mutex_unlock(&f->lock);
    while (x != NULL) {
        struct fault *next = x->next;

        free_fault(x);
        x = next;
    }
}

void sim_faults_free(struct sim_faults *f)
{
    if (f == NULL)
        return;
    sim_faults_clear(f);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

/* An optional non-negative integer member. */
static int get_int(const json_t *spec, const char *key, int64_t lo, int64_t hi, int64_t *out,
                   struct core_err *err)
{
    const json_t *j = json_object_get(spec, key);
    int64_t v;

    if (j == NULL)
        return 0;
    if (!json_is_integer(j))
        return core_err_set(err, CORE_EX_DATAERR, "fault: \"%s\" must be an integer", key);
    v = json_integer_value(j);
    if (v < lo || v > hi)
        return core_err_set(err, CORE_EX_DATAERR, "fault: \"%s\" must be from %lld to %lld", key,
                            (long long)lo, (long long)hi);
    *out = v;
    return 0;
}

static int get_text(const json_t *spec, const char *key, char out[SIM_FAULT_TEXT_LEN],
                    struct core_err *err)
{
    const json_t *j = json_object_get(spec, key);

    if (j == NULL)
        return 0;
    if (!json_is_string(j))
        return core_err_set(err, CORE_EX_DATAERR, "fault: \"%s\" must be a string", key);
    snprintf(out, SIM_FAULT_TEXT_LEN, "%s", json_string_value(j));
    return 0;
}

/* Defaults of each mode (HTTP status and Graph code). */
static void mode_defaults(struct fault *x)
{
    switch (x->mode) {
    case SIM_FAULT_5XX:
        x->http = 500;
        break;
    case SIM_FAULT_TIMEOUT:
        x->delay_ms = SIM_TIMEOUT_HOLD_MS;
        break;
    case SIM_FAULT_THROTTLE:
        x->code = 130429;
        x->http = 400;
        break;
    case SIM_FAULT_TOKEN_EXPIRED:
        x->code = 190;
        x->http = 401;
        break;
    case SIM_FAULT_BLOCKED:
        x->code = 368;
        x->http = 403;
        break;
    case SIM_FAULT_NOT_REGISTERED:
        x->code = 133010;
        x->http = 400;
        break;
    case SIM_FAULT_ERROR:
        x->code = 131000;
        break;
    case SIM_FAULT_PAIR_LIMIT:
        x->code = 131056;
        x->http = 400;
        break;
    case SIM_FAULT_UNDELIVERABLE:
        x->code = 131026;
        x->async = 1;
        break;
    case SIM_FAULT_SLOW:
    case SIM_FAULT_RESET:
        break;
    }
}

static int parse_spec(struct fault *x, const json_t *spec, int64_t now_mono, struct core_err *err)
{
    const char *mode = json_string_value(json_object_get(spec, "mode"));
    const char *scope = json_string_value(json_object_get(spec, "scope"));
    const char *to = json_string_value(json_object_get(spec, "to"));
    const char *pnid = json_string_value(json_object_get(spec, "phone_number_id"));
    const json_t *prob = json_object_get(spec, "probability");
    const json_t *jasync = json_object_get(spec, "async");
    const json_t *jproc = json_object_get(spec, "process");
    int64_t count = -1;
    int64_t duration = 0;
    int64_t v;
    size_t i;
    int found = 0;

    if (!json_is_object(spec) || mode == NULL)
        return core_err_set(err, CORE_EX_DATAERR, "fault: a JSON object with \"mode\" is needed");
    for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(mode, modes[i].name) == 0) {
            x->mode = modes[i].mode;
            found = 1;
        }
    }
    if (!found)
        return core_err_set(err, CORE_EX_DATAERR,
                            "fault: unknown mode (5xx, slow, timeout, reset, throttle, "
                            "token_expired, blocked, not_registered, error, pair_limit, "
                            "undeliverable)");
    mode_defaults(x);
    x->scope = SIM_SCOPE_MESSAGES;
    if (scope != NULL) {
        if (strcmp(scope, "messages") == 0)
            x->scope = SIM_SCOPE_MESSAGES;
        else if (strcmp(scope, "media") == 0)
            x->scope = SIM_SCOPE_MEDIA;
        else if (strcmp(scope, "all") == 0)
            x->scope = SIM_SCOPE_ALL;
        else
            return core_err_set(err, CORE_EX_DATAERR,
                                "fault: \"scope\" must be messages, media or all");
    }
    if (get_int(spec, "count", 1, INT64_MAX, &count, err) != 0 ||
        get_int(spec, "duration_ms", 1, INT64_MAX / 4, &duration, err) != 0 ||
        get_text(spec, "message", x->message, err) != 0 ||
        get_text(spec, "details", x->details, err) != 0)
        return -1;
    x->remaining = count;
    x->until_mono = duration > 0 ? now_mono + duration : 0;
    v = x->delay_ms;
    if (get_int(spec, "delay_ms", 0, 3600000, &v, err) != 0)
        return -1;
    x->delay_ms = v;
    if (x->mode == SIM_FAULT_SLOW && x->delay_ms == 0)
        x->delay_ms = 1000;
    v = x->http;
    if (get_int(spec, "status", 100, 599, &v, err) != 0)
        return -1;
    x->http = (int)v;
    if (x->mode == SIM_FAULT_5XX && (x->http < 500 || x->http > 599))
        return core_err_set(err, CORE_EX_DATAERR, "fault: 5xx wants a \"status\" from 500 to 599");
    v = x->code;
    if (get_int(spec, "code", 1, 10000000, &v, err) != 0)
        return -1;
    x->code = (int)v;
    if (jasync != NULL) {
        if (!json_is_boolean(jasync))
            return core_err_set(err, CORE_EX_DATAERR, "fault: \"async\" must be a boolean");
        if (x->mode == SIM_FAULT_ERROR)
            x->async = json_is_true(jasync);
    }
    if (jproc != NULL) {
        if (!json_is_boolean(jproc))
            return core_err_set(err, CORE_EX_DATAERR, "fault: \"process\" must be a boolean");
        x->process = json_is_true(jproc);
    }
    x->probability = 1.0;
    if (prob != NULL) {
        double p = json_number_value(prob);

        if (!json_is_number(prob) || !isfinite(p) || p < 0.0 || p > 1.0)
            return core_err_set(err, CORE_EX_DATAERR,
                                "fault: \"probability\" must be a number from 0 to 1");
        x->probability = p;
    }
    if (to != NULL) {
        char norm[SIM_RECIPIENT_LEN];
        int bsuid;

        if (sim_recipient_normalize(to, norm, &bsuid) != 0)
            return core_err_set(err, CORE_EX_DATAERR,
                                "fault: \"to\" is not a phone number or BSUID");
        x->to = core_strdup(norm);
    }
    if (pnid != NULL)
        x->pnid = core_strdup(pnid);
    return 0;
}

int sim_faults_add(struct sim_faults *f, const json_t *spec, int64_t now_mono, struct core_err *err)
{
    struct fault *x = core_calloc(1, sizeof *x);
    struct fault **pp;
    int id;

    if (parse_spec(x, spec, now_mono, err) != 0) {
        free_fault(x);
        return -1;
    }
    pthread_mutex_lock(&f->lock);
    id = f->next_id++;
    x->id = id;
    for (pp = &f->head; *pp != NULL; pp = &(*pp)->next)
        ;
    *pp = x;
    atomic_fetch_add(&f->active, 1);
    pthread_mutex_unlock(&f->lock);
    return id;
}

/* Unlink *pp (locked). */
static void unlink_fault(struct sim_faults *f, struct fault **pp)
{
    struct fault *x = *pp;

    *pp = x->next;
    atomic_fetch_sub(&f->active, 1);
    free_fault(x);
}

int sim_faults_remove(struct sim_faults *f, int id)
{
    struct fault **pp;
    int rc = -1;

    pthread_mutex_lock(&f->lock);
    for (pp = &f->head; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            unlink_fault(f, pp);
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

static void fill_hit(const struct fault *x, struct sim_fault_hit *hit)
{
    memset(hit, 0, sizeof *hit);
    hit->id = x->id;
    hit->mode = x->mode;
    hit->http = x->http;
    hit->code = x->code;
    hit->async = x->async;
    hit->process = x->process;
    hit->hold_ms = x->delay_ms;
    memcpy(hit->message, x->message, sizeof hit->message);
    memcpy(hit->details, x->details, sizeof hit->details);
}

int sim_faults_check(struct sim_faults *f, enum sim_fault_phase phase, enum sim_fault_scope scope,
                     const char *pnid, const char *to, int64_t now_mono, uint64_t *rng,
                     struct sim_fault_hit *hit, int64_t *delay_ms)
{
    struct fault **pp;
    int decided = 0;

    if (atomic_load_explicit(&f->active, memory_order_relaxed) == 0)
        return 0;
    pthread_mutex_lock(&f->lock);
    pp = &f->head;
    while (*pp != NULL && !decided) {
        struct fault *x = *pp;

        if (x->until_mono != 0 && now_mono >= x->until_mono) {
            unlink_fault(f, pp); /* expired */
            continue;
        }
        if (phase_of(x) != phase || (x->scope & scope) == 0 ||
            (x->pnid != NULL && strcmp(x->pnid, pnid) != 0) ||
            (x->to != NULL && strcmp(x->to, to) != 0) ||
            (x->probability < 1.0 && !sim_rng_chance(rng, x->probability))) {
            pp = &x->next;
            continue;
        }
        x->hits++;
        if (x->mode == SIM_FAULT_SLOW)
            *delay_ms += x->delay_ms;
        else {
            fill_hit(x, hit);
            decided = 1;
        }
        if (x->remaining > 0 && --x->remaining == 0)
            unlink_fault(f, pp);
        else
            pp = &x->next;
    }
    pthread_mutex_unlock(&f->lock);
    return decided;
}

json_t *sim_faults_list(struct sim_faults *f, int64_t now_mono)
{
    json_t *arr = json_array();
    struct fault *x;

    pthread_mutex_lock(&f->lock);
    for (x = f->head; x != NULL; x = x->next) {
        json_t *o =
            json_pack("{s:i,s:s,s:I,s:I}", "id", x->id, "mode", sim_fault_mode_name(x->mode),
                      "remaining", (json_int_t)x->remaining, "hits", (json_int_t)x->hits);

        json_object_set_new(o, "expires_in_ms",
                            x->until_mono != 0 ? json_integer(x->until_mono - now_mono)
                                               : json_null());
        json_object_set_new(o, "scope",
                            json_string(x->scope == SIM_SCOPE_ALL     ? "all"
                                        : x->scope == SIM_SCOPE_MEDIA ? "media"
                                                                      : "messages"));
        if (x->http != 0)
            json_object_set_new(o, "status", json_integer(x->http));
        if (x->code != 0)
            json_object_set_new(o, "code", json_integer(x->code));
        if (x->delay_ms != 0)
            json_object_set_new(o, "delay_ms", json_integer(x->delay_ms));
        if (x->probability < 1.0)
            json_object_set_new(o, "probability", json_real(x->probability));
        if (x->async)
            json_object_set_new(o, "async", json_true());
        if (x->process)
            json_object_set_new(o, "process", json_true());
        if (x->pnid != NULL)
            json_object_set_new(o, "phone_number_id", json_string(x->pnid));
        if (x->to != NULL)
            json_object_set_new(o, "to", json_string(x->to));
        json_array_append_new(arr, o);
    }
    pthread_mutex_unlock(&f->lock);
    return json_pack("{s:o}", "faults", arr);
}
