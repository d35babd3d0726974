/*
 * tools/cloudsim/sim_state.c - the simulator's context: knobs, clock,
 * counters, tokens and ids (see sim_state.h).
 */
#include "tools/cloudsim/sim_state.h"

#include "core/mem.h"
#include "core/util.h"
#include "gateway/signature.h"
#include "tools/cloudsim/sim_faults.h"
#include "tools/cloudsim/sim_hooks.h"
#include "tools/cloudsim/sim_media.h"
#include "tools/cloudsim/sim_records.h"
#include "tools/cloudsim/sim_rng.h"
#include "tools/cloudsim/sim_templates.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_HOUR_MS 3600000LL

/* ======================= knobs ======================= */

static long long to_ppm(double p)
{
    return (long long)llround(p * SIM_PPM);
}

double sim_knob_rate(atomic_llong *ppm)
{
    return (double)atomic_load_explicit(ppm, memory_order_relaxed) / SIM_PPM;
}

static void knobs_init(struct sim_knobs *k, const struct sim_cfg *c)
{
    atomic_store(&k->mps, c->mps);
    atomic_store(&k->mps_burst, c->mps_burst);
    atomic_store(&k->pair_spacing_ms, c->pair_spacing_ms);
    atomic_store(&k->window_ms, c->window_hours * SIM_HOUR_MS);
    atomic_store(&k->status_delay_ms, c->status_delay_ms);
    atomic_store(&k->deliver_ppm, to_ppm(c->deliver_rate));
    atomic_store(&k->read_ppm, to_ppm(c->read_rate));
    atomic_store(&k->skip_delivered_ppm, to_ppm(c->skip_delivered_rate));
    atomic_store(&k->dup_ppm, to_ppm(c->dup_rate));
    atomic_store(&k->reorder_ppm, to_ppm(c->reorder_rate));
    pthread_mutex_lock(&k->url_lock);
    free(k->webhook_url);
    k->webhook_url = core_strdup(c->webhook_url);
    atomic_store(&k->has_url, k->webhook_url != NULL);
    pthread_mutex_unlock(&k->url_lock);
}

void sim_knobs_limits(struct sim *s, struct sim_limit_params *p)
{
    p->mps = atomic_load_explicit(&s->knobs.mps, memory_order_relaxed);
    p->burst = atomic_load_explicit(&s->knobs.mps_burst, memory_order_relaxed);
    p->spacing_ms = atomic_load_explicit(&s->knobs.pair_spacing_ms, memory_order_relaxed);
    p->window_ms = atomic_load_explicit(&s->knobs.window_ms, memory_order_relaxed);
}

char *sim_webhook_url(struct sim *s)
{
    char *url;

    pthread_mutex_lock(&s->knobs.url_lock);
    url = core_strdup(s->knobs.webhook_url);
    pthread_mutex_unlock(&s->knobs.url_lock);
    return url;
}

/* An integer knob from `v`: present -> checked and stored. */
static int knob_int(const json_t *v, const char *key, int64_t lo, int64_t hi, int64_t scale,
                    atomic_llong *dst, struct core_err *err)
{
    const json_t *j = json_object_get(v, key);
    int64_t x;

    if (j == NULL)
        return 0;
    if (!json_is_integer(j) || (x = json_integer_value(j)) < lo || x > hi)
        return core_err_set(err, CORE_EX_DATAERR,
                            "config: \"%s\" must be an integer from %lld "
                            "to %lld",
                            key, (long long)lo, (long long)hi);
    atomic_store(dst, x * scale);
    return 0;
}

static int knob_rate(const json_t *v, const char *key, atomic_llong *dst, struct core_err *err)
{
    const json_t *j = json_object_get(v, key);
    double p;

    if (j == NULL)
        return 0;
    p = json_number_value(j);
    if (!json_is_number(j) || !isfinite(p) || p < 0.0 || p > 1.0)
        return core_err_set(err, CORE_EX_DATAERR, "config: \"%s\" must be a number from 0 to 1",
                            key);
    atomic_store(dst, to_ppm(p));
    return 0;
}

static const char *const knob_names[] = {
    "mps",          "mps_burst", "pair_spacing_ms",     "window_hours", "status_delay_ms",
    "deliver_rate", "read_rate", "skip_delivered_rate", "dup_rate",     "reorder_rate",
    "webhook_url",
};

int sim_knobs_update(struct sim *s, const json_t *v, struct core_err *err)
{
    struct sim_knobs *k = &s->knobs;
    const json_t *url = json_object_get(v, "webhook_url");
    const char *key;
    const json_t *val;

    if (!json_is_object(v))
        return core_err_set(err, CORE_EX_DATAERR, "config: a JSON object is needed");
    json_object_foreach((json_t *)(uintptr_t)v, key, val)
    {
        size_t i;
        int known = 0;

        for (i = 0; i < sizeof knob_names / sizeof knob_names[0]; i++) {
            if (strcmp(key, knob_names[i]) == 0)
                known = 1;
        }
        if (!known)
            return core_err_set(err, CORE_EX_DATAERR, "config: unknown setting \"%.40s\"", key);
    }
    if (url != NULL && !json_is_null(url)) {
        const char *u = json_string_value(url);

        if (u == NULL || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0))
            return core_err_set(err, CORE_EX_DATAERR,
                                "config: \"webhook_url\" must be an http(s) URL or null");
    }
    if (knob_int(v, "mps", 1, 100000000, 1, &k->mps, err) != 0 ||
        knob_int(v, "mps_burst", 1, 100000000, 1, &k->mps_burst, err) != 0 ||
        knob_int(v, "pair_spacing_ms", 0, 86400000, 1, &k->pair_spacing_ms, err) != 0 ||
        knob_int(v, "window_hours", 0, 24 * 365, SIM_HOUR_MS, &k->window_ms, err) != 0 ||
        knob_int(v, "status_delay_ms", 0, 3600000, 1, &k->status_delay_ms, err) != 0 ||
        knob_rate(v, "deliver_rate", &k->deliver_ppm, err) != 0 ||
        knob_rate(v, "read_rate", &k->read_ppm, err) != 0 ||
        knob_rate(v, "skip_delivered_rate", &k->skip_delivered_ppm, err) != 0 ||
        knob_rate(v, "dup_rate", &k->dup_ppm, err) != 0 ||
        knob_rate(v, "reorder_rate", &k->reorder_ppm, err) != 0)
        return -1;
    /* a new mps without a burst keeps "burst = one second's worth" */
    if (json_object_get(v, "mps") != NULL && json_object_get(v, "mps_burst") == NULL)
        atomic_store(&k->mps_burst, atomic_load(&k->mps));
    if (url != NULL) {
        pthread_mutex_lock(&k->url_lock);
        free(k->webhook_url);
        k->webhook_url = core_strdup(json_string_value(url));
        atomic_store(&k->has_url, k->webhook_url != NULL);
        pthread_mutex_unlock(&k->url_lock);
    }
    return 0;
}

json_t *sim_knobs_json(struct sim *s)
{
    struct sim_knobs *k = &s->knobs;
    char *url = sim_webhook_url(s);
    json_t *o = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:f}", "mps", (json_int_t)atomic_load(&k->mps),
        "mps_burst", (json_int_t)atomic_load(&k->mps_burst), "pair_spacing_ms",
        (json_int_t)atomic_load(&k->pair_spacing_ms), "window_hours",
        (json_int_t)(atomic_load(&k->window_ms) / SIM_HOUR_MS), "status_delay_ms",
        (json_int_t)atomic_load(&k->status_delay_ms), "deliver_rate",
        sim_knob_rate(&k->deliver_ppm), "read_rate", sim_knob_rate(&k->read_ppm),
        "skip_delivered_rate", sim_knob_rate(&k->skip_delivered_ppm), "dup_rate",
        sim_knob_rate(&k->dup_ppm), "reorder_rate", sim_knob_rate(&k->reorder_ppm));

    json_object_set_new(o, "webhook_url", url != NULL ? json_string(url) : json_null());
    json_object_set_new(o, "seed", json_integer((json_int_t)(s->seed & INT64_MAX)));
    free(url);
    return o;
}

/* ======================= clock ======================= */

static int64_t clock_base(struct sim *s)
{
    int64_t frozen = atomic_load(&s->clock.frozen_base);

    if (frozen != SIM_NEVER)
        return frozen;
    return s->clock.wall0 + (core_mono_ms() - s->clock.mono0);
}

int64_t sim_now_ms(struct sim *s)
{
    return clock_base(s) + atomic_load(&s->clock.offset_ms);
}

void sim_clock_advance(struct sim *s, int64_t delta_ms)
{
    atomic_fetch_add(&s->clock.offset_ms, delta_ms);
}

void sim_clock_freeze(struct sim *s, int freeze)
{
    struct sim_clock *c = &s->clock;
    int64_t frozen;

    pthread_mutex_lock(&c->lock);
    frozen = atomic_load(&c->frozen_base);
    if (freeze && frozen == SIM_NEVER) {
        atomic_store(&c->frozen_base, c->wall0 + (core_mono_ms() - c->mono0));
    } else if (!freeze && frozen != SIM_NEVER) {
        int64_t running = c->wall0 + (core_mono_ms() - c->mono0);

        /* resume where it stood: the time spent frozen is subtracted */
        atomic_fetch_sub(&c->offset_ms, running - frozen);
        atomic_store(&c->frozen_base, SIM_NEVER);
    }
    pthread_mutex_unlock(&c->lock);
}

json_t *sim_clock_json(struct sim *s)
{
    return json_pack("{s:I,s:I,s:b}", "now_ms", (json_int_t)sim_now_ms(s), "offset_ms",
                     (json_int_t)atomic_load(&s->clock.offset_ms), "frozen",
                     atomic_load(&s->clock.frozen_base) != SIM_NEVER);
}

static void clock_init(struct sim_clock *c)
{
    c->wall0 = core_now_ms();
    c->mono0 = core_mono_ms();
    atomic_store(&c->offset_ms, 0);
    atomic_store(&c->frozen_base, SIM_NEVER);
}

/* ======================= tokens ======================= */

static void tokens_init(struct sim *s)
{
    size_t i;

    s->n_tokens = s->cfg->n_tokens;
    s->tokens = core_calloc(s->n_tokens + 1, sizeof *s->tokens);
    for (i = 0; i < s->n_tokens; i++)
        s->tokens[i] = core_strdup(s->cfg->tokens[i]);
    s->token_states = json_object();
    atomic_store(&s->token_rules, s->n_tokens > 0);
}

static void tokens_cleanup(struct sim *s)
{
    size_t i;

    for (i = 0; i < s->n_tokens; i++) {
        sodium_memzero(s->tokens[i], strlen(s->tokens[i]));
        free(s->tokens[i]);
    }
    free(s->tokens);
    s->tokens = NULL;
    s->n_tokens = 0;
    json_decref(s->token_states);
    s->token_states = NULL;
}

enum sim_token_verdict sim_token_check(struct sim *s, const char *authorization)
{
    enum sim_token_verdict v = SIM_TOKEN_OK;
    const char *tok;
    const char *state;
    size_t i;

    if (authorization == NULL || strncmp(authorization, "Bearer ", 7) != 0)
        return SIM_TOKEN_MISSING;
    tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    if (*tok == '\0')
        return SIM_TOKEN_MISSING;
    if (atomic_load_explicit(&s->token_rules, memory_order_acquire) == 0)
        return SIM_TOKEN_OK;
    pthread_rwlock_rdlock(&s->tokens_lock);
    state = json_string_value(json_object_get(s->token_states, tok));
    if (state != NULL) {
        v = strcmp(state, "expired") == 0 ? SIM_TOKEN_EXPIRED : SIM_TOKEN_REVOKED;
    } else if (s->n_tokens > 0) {
        v = SIM_TOKEN_INVALID;
        for (i = 0; i < s->n_tokens; i++) {
            if (gw_sig_token_equal(s->tokens[i], tok))
                v = SIM_TOKEN_OK;
        }
    }
    pthread_rwlock_unlock(&s->tokens_lock);
    return v;
}

int sim_token_set(struct sim *s, const char *token, const char *state, struct core_err *err)
{
    size_t i;
    int listed = 0;

    if (token == NULL || token[0] == '\0' || state == NULL)
        return core_err_set(err, CORE_EX_DATAERR, "tokens: \"token\" and \"state\" are needed");
    if (strcmp(state, "valid") != 0 && strcmp(state, "revoked") != 0 &&
        strcmp(state, "expired") != 0)
        return core_err_set(err, CORE_EX_DATAERR,
                            "tokens: \"state\" must be valid, revoked or expired");
    pthread_rwlock_wrlock(&s->tokens_lock);
    if (strcmp(state, "valid") == 0) {
        json_object_del(s->token_states, token);
        for (i = 0; i < s->n_tokens; i++) {
            if (strcmp(s->tokens[i], token) == 0)
                listed = 1;
        }
        if (!listed && s->n_tokens > 0) { /* an allow-list exists: add to it */
            s->tokens = core_realloc(s->tokens, (s->n_tokens + 1) * sizeof *s->tokens);
            s->tokens[s->n_tokens++] = core_strdup(token);
        }
    } else {
        json_object_set_new(s->token_states, token, json_string(state));
    }
    atomic_store(&s->token_rules, s->n_tokens > 0 || json_object_size(s->token_states) > 0);
    pthread_rwlock_unlock(&s->tokens_lock);
    return 0;
}

/* ======================= ids and counters ======================= */

void sim_new_wamid(struct sim *s, char out[SIM_WAMID_LEN])
{
    unsigned char raw[24];
    uint64_t n = atomic_fetch_add(&s->id_seq, 1) + 1;
    uint64_t mix = sim_rng_for(s->salt, 7, n);
    size_t i;

    /* a Meta-like prefix, then the salt and counter: unique, opaque, no phone number */
    raw[0] = 0x1c;
    raw[1] = 0x18;
    raw[2] = 0x0c;
    for (i = 0; i < 8; i++) {
        raw[3 + i] = (unsigned char)(s->salt >> (8 * i));
        raw[11 + i] = (unsigned char)(n >> (8 * (7 - i)));
    }
    for (i = 19; i < sizeof raw; i++)
        raw[i] = (unsigned char)(mix >> (8 * (i - 19)));
    memcpy(out, "wamid.", 6);
    sodium_bin2base64(out + 6, SIM_WAMID_LEN - 6, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
}

void sim_count_code(struct sim *s, int code)
{
    int i = sim_error_index(code);

    if (i >= 0)
        atomic_fetch_add(&s->counters.by_code[i], 1);
    else
        atomic_fetch_add(&s->counters.by_code_other, 1);
}

#define C(x) ((json_int_t)atomic_load(&c->x))

json_t *sim_counters_json(struct sim *s)
{
    struct sim_counters *c = &s->counters;
    json_t *codes = json_object();
    json_t *o;
    char key[16];
    int i;

    for (i = 0; i < SIM_N_CODES; i++) {
        long long n = atomic_load(&c->by_code[i]);

        if (n > 0) {
            snprintf(key, sizeof key, "%d", sim_error_code_at(i));
            json_object_set_new(codes, key, json_integer(n));
        }
    }
    if (atomic_load(&c->by_code_other) > 0)
        json_object_set_new(codes, "other", json_integer(C(by_code_other)));
    o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "requests", C(requests), "accepted",
                  C(accepted), "failed", C(failed), "rejected", C(rejected), "no_response",
                  C(no_response), "marked_read", C(marked_read), "faults", C(faults), "by_code",
                  codes);
    json_object_set_new(o, "statuses",
                        json_pack("{s:I,s:I,s:I,s:I,s:I}", "sent", C(st_sent), "delivered",
                                  C(st_delivered), "read", C(st_read), "failed", C(st_failed),
                                  "duplicates", C(st_duplicates)));
    json_object_set_new(o, "webhooks",
                        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "posts", C(hook_posts), "ok",
                                  C(hook_ok), "failed", C(hook_failed), "retries", C(hook_retries),
                                  "given_up", C(hook_given_up), "dropped", C(hook_dropped), "queue",
                                  sim_hooks_stats(s->hooks)));
    json_object_set_new(o, "inbound",
                        json_pack("{s:I,s:I,s:I}", "posted", C(inbound), "ok", C(inbound_ok),
                                  "failed", C(inbound_failed)));
    json_object_set_new(o, "media",
                        json_pack("{s:I,s:I,s:o}", "uploads", C(media_uploads), "downloads",
                                  C(media_downloads), "store", sim_media_stats(s->media)));
    json_object_set_new(o, "numbers", sim_limits_numbers_json(s->limits, core_mono_ms()));
    json_object_set_new(o, "recipients",
                        json_integer((json_int_t)sim_limits_recipients(s->limits)));
    json_object_set_new(o, "records", sim_records_stats(s->records));
    return o;
}

#undef C

/* ======================= numbers ======================= */

const char *sim_default_pnid(const struct sim *s)
{
    return s->cfg->n_numbers > 0 ? s->cfg->numbers[0].id : SIM_DEFAULT_PNID;
}

const char *sim_display_of(const struct sim *s, const char *pnid)
{
    size_t i;

    for (i = 0; i < s->cfg->n_numbers; i++) {
        if (strcmp(s->cfg->numbers[i].id, pnid) == 0 && s->cfg->numbers[i].display != NULL)
            return s->cfg->numbers[i].display;
    }
    return s->cfg->display;
}

int sim_number_known(const struct sim *s, const char *pnid)
{
    size_t i;

    if (s->cfg->n_numbers == 0)
        return 1;
    for (i = 0; i < s->cfg->n_numbers; i++) {
        if (strcmp(s->cfg->numbers[i].id, pnid) == 0)
            return 1;
    }
    return 0;
}

/* ======================= lifecycle ======================= */

struct sim *sim_new(const struct sim_cfg *cfg)
{
    struct sim *s = core_calloc(1, sizeof *s);

    s->cfg = cfg;
    s->seed = cfg->seed;
    randombytes_buf(&s->salt, sizeof s->salt);
    pthread_mutex_init(&s->knobs.url_lock, NULL);
    knobs_init(&s->knobs, cfg);
    pthread_mutex_init(&s->clock.lock, NULL);
    clock_init(&s->clock);
    pthread_rwlock_init(&s->tokens_lock, NULL);
    tokens_init(s);
    s->limits = sim_limits_new();
    s->faults = sim_faults_new();
    s->records = sim_records_new((size_t)cfg->record_cap);
    s->templates = sim_templates_new();
    s->media = sim_media_new((size_t)cfg->media_max_bytes);
    s->hooks = sim_hooks_new(s);
    return s;
}

void sim_free(struct sim *s)
{
    if (s == NULL)
        return;
    sim_hooks_free(s->hooks);
    sim_media_free(s->media);
    sim_templates_free(s->templates);
    sim_records_free(s->records);
    sim_faults_free(s->faults);
    sim_limits_free(s->limits);
    tokens_cleanup(s);
    pthread_rwlock_destroy(&s->tokens_lock);
    pthread_mutex_destroy(&s->clock.lock);
    free(s->knobs.webhook_url);
    pthread_mutex_destroy(&s->knobs.url_lock);
    free(s);
}

void sim_reset(struct sim *s)
{
    atomic_llong *all = (atomic_llong *)&s->counters;
    size_t i;

    atomic_fetch_add(&s->generation, 1);
    atomic_store(&s->req_seq, 0); /* the same requests draw the same decisions again */
    sim_hooks_reset(s->hooks);
    sim_faults_clear(s->faults);
    sim_records_reset(s->records);
    sim_limits_reset(s->limits);
    knobs_init(&s->knobs, s->cfg);
    pthread_mutex_lock(&s->clock.lock);
    clock_init(&s->clock);
    pthread_mutex_unlock(&s->clock.lock);
    pthread_rwlock_wrlock(&s->tokens_lock);
    tokens_cleanup(s);
    tokens_init(s);
    pthread_rwlock_unlock(&s->tokens_lock);
    for (i = 0; i < sizeof s->counters / sizeof(atomic_llong); i++)
        atomic_store(&all[i], 0);
}
