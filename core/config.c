/*
 * core/config.c - table-driven settings loader (see config.h).
 *
 * Adding a setting = one field in struct core_cfg + one row in `specs`.
 */
#include "core/config.h"
#include "core/mem.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum spec_type { T_STR, T_SECRET, T_INT, T_LONG, T_LEVEL, T_LIST, T_MONEY };

struct spec {
    const char *name;    /* lower-case; env is JANSEVA_ + upper-case */
    enum spec_type type;
    size_t off;          /* offset in struct core_cfg */
    const char *def;     /* default as text, or NULL */
    long min, max;       /* integer bounds */
    const char *help;    /* one line for `janseva config` and docs */
};

#define F(field) offsetof(struct core_cfg, field)

static const struct spec specs[] = {
    {"mode", T_STR, F(mode), NULL, 0, 0,
     "live or sandbox; default: live when access_token is set, else sandbox"},
    {"app_secret", T_SECRET, F(app_secret), NULL, 0, 0,
     "Meta App Secret; webhook POSTs are signed with it"},
    {"verify_token", T_SECRET, F(verify_token), NULL, 0, 0,
     "token Meta echoes in the webhook verification GET"},
    {"access_token", T_SECRET, F(access_token), NULL, 0, 0, "Graph API System User token"},
    {"phone_number_id", T_LIST, F(phone_numbers), NULL, 0, 0,
     "business phone number id(s), comma-separated"},
    {"graph_url", T_STR, F(graph_url), "https://graph.facebook.com/v25.0", 0, 0,
     "Graph API base URL including the version"},
    {"redis", T_STR, F(redis), "127.0.0.1:6379", 0, 0, "unix:/path/to/sock or host:port"},
    {"redis_user", T_STR, F(redis_user), NULL, 0, 0, "Redis ACL user"},
    {"redis_password", T_SECRET, F(redis_password), NULL, 0, 0, "Redis ACL password"},
    {"redis_timeout_ms", T_INT, F(redis_timeout_ms), "5000", 50, 600000,
     "Redis connect/command timeout in milliseconds"},
    {"http_bind", T_STR, F(http_bind), "127.0.0.1", 0, 0,
     "HTTP listen address (put a TLS reverse proxy in front)"},
    {"http_port", T_INT, F(http_port), "8080", 1, 65535, "HTTP listen port"},
    {"http_threads", T_INT, F(http_threads), "4", 1, 256, "HTTP worker threads"},
    {"keys_dir", T_STR, F(keys_dir), NULL, 0, 0,
     "key directory (janseva keys init); unset: $CREDENTIALS_DIRECTORY"},
    {"log_level", T_LEVEL, F(log_level), "info", 0, 0, "debug, info, warn or error"},
    {"webhook_max_bytes", T_LONG, F(webhook_max_bytes), "3145728", 1024, 64L * 1024 * 1024,
     "largest webhook body accepted (413 beyond)"},
    {"ingress_max_backlog", T_LONG, F(ingress_max_backlog), "1000000", 1, 1000000000L,
     "unprocessed webhooks beyond which ingress answers 503"},
    {"router_threads", T_INT, F(router_threads), "2", 1, 64, "router worker threads"},
    {"router_batch", T_INT, F(router_batch), "64", 1, 10000, "stream entries read per batch"},
    {"router_claim_idle_ms", T_INT, F(router_claim_idle_ms), "30000", 100, 86400000,
     "reclaim entries another worker left pending this long"},
    {"router_max_deliveries", T_INT, F(router_max_deliveries), "10", 1, 1000,
     "attempts before an entry goes to the dead-letter stream"},
    {"graph_timeout_ms", T_INT, F(graph_timeout_ms), "15000", 500, 600000,
     "timeout of one Graph API request"},
    {"dispatch_mps", T_INT, F(dispatch_mps), "80", 1, 1000000,
     "messages per second per business number (Meta: 80, up to 1,000 after upgrade)"},
    {"dispatch_pair_spacing_ms", T_INT, F(dispatch_pair_spacing_ms), "6000", 0, 600000,
     "least gap between two messages to one member (Meta's pair rate limit)"},
    {"dispatch_inflight", T_INT, F(dispatch_inflight), "64", 1, 4096,
     "Graph API requests in flight per dispatcher process"},
    {"dispatch_max_attempts", T_INT, F(dispatch_max_attempts), "8", 1, 100,
     "transient failures before a message goes to the dead-letter stream"},
    {"dispatch_window_margin_s", T_INT, F(dispatch_window_margin_s), "900", 0, 43200,
     "treat the 24-hour window as closed this many seconds early"},
    {"dispatch_ambiguous_grace_ms", T_INT, F(dispatch_ambiguous_grace_ms), "30000", 100,
     3600000, "wait this long for a status webhook before resending an unconfirmed send"},
    {"dispatch_pause_ms", T_INT, F(dispatch_pause_ms), "60000", 100, 3600000,
     "first pause of a number after an account error (190, 368, 133010); doubles to 10 min"},
    {"dialogue_state_ttl_s", T_INT, F(dialogue_state_ttl_s), "1800", 60, 604800,
     "an unfinished dialogue step (choosing a village, ...) is forgotten after this long"},
    {"join_radius_km", T_INT, F(join_radius_km), "10", 1, 100,
     "villages and mohallas offered for a shared location lie within this distance"},
    {"roles", T_STR, F(roles), "all", 0, 0,
     "serve roles: all, or a list of http,router,dispatch,broadcast"},
    {"api_token", T_SECRET, F(api_token), NULL, 0, 0,
     "bearer token of the HTTP API under /api/ (dashboard); unset: the API is off"},
    {"api_operator", T_STR, F(api_operator), "dashboard", 0, 0,
     "operator the API token acts as (audit records name it)"},
    {"price_utility_inr", T_MONEY, F(price_utility), "0.115", 0, 1000L * CORE_CFG_MONEY_SCALE,
     "INR per utility template delivered outside the 24-hour window (cost estimates)"},
    {"price_marketing_inr", T_MONEY, F(price_marketing), "0.8631", 0,
     1000L * CORE_CFG_MONEY_SCALE, "INR per marketing template delivered (cost estimates)"},
    {"broadcast_template", T_STR, F(broadcast_template), "janseva_alert", 0, 0,
     "template sent for a text broadcast outside the 24-hour window ({{1}} unit, {{2}} text)"},
    {"broadcast_category", T_STR, F(broadcast_category), "utility", 0, 0,
     "Meta category of broadcast_template: utility or marketing"},
    {"broadcast_report_template", T_STR, F(broadcast_report_template), "janseva_notice", 0, 0,
     "template of an officer's final report outside the 24-hour window ({{1}} the report)"},
    {"broadcast_batch", T_INT, F(broadcast_batch), "1000", 1, 10000,
     "members per fan-out batch (the cursor is saved after each)"},
    {"broadcast_batch_pause_ms", T_INT, F(broadcast_batch_pause_ms), "0", 0, 60000,
     "pause between fan-out batches, to leave Redis to other work"},
    {"broadcast_draft_ttl_s", T_INT, F(broadcast_draft_ttl_s), "3600", 10, 604800,
     "an unconfirmed broadcast expires after this many seconds"},
    {"broadcast_lease_ms", T_INT, F(broadcast_lease_ms), "15000", 200, 600000,
     "a fan-out whose process died resumes in another process after this long"},
    {"broadcast_report_after_s", T_INT, F(broadcast_report_after_s), "21600", 1, 2592000,
     "send the final report at the latest this long after the fan-out"},
    {"broadcast_preview_max", T_INT, F(broadcast_preview_max), "100000", 10, 100000000,
     "members a preview reads one by one; larger scopes are estimated from a sample"},
    {"tip_session_idle_s", T_INT, F(tip_session_idle_s), "1800", 60, 86400,
     "a tip session ends after this many seconds without a message"},
    {"tip_max_items", T_INT, F(tip_max_items), "500", 10, 100000,
     "messages (and replies) one tip case keeps at most"},
    {"tip_media_max_bytes", T_LONG, F(tip_media_max_bytes), "16777216", 1024,
     64L * 1024 * 1024, "tip media larger than this are noted but not stored"},
    {"tip_relay_keep_days", T_INT, F(tip_relay_keep_days), "30", 1, 3650,
     "days the routing record of a closed tip case is kept (replies need it)"},
    {"tip_retention_days", T_INT, F(tip_retention_days), "0", 0, 36500,
     "closed tip cases are purged (every item and media) this many days after closing; "
     "0 keeps them until purged by hand"},
    {"tip_reveal_ttl_s", T_INT, F(tip_reveal_ttl_s), "3600", 1, 604800,
     "custodians must approve a reveal request within this many seconds"},
    {"tip_reply_template", T_STR, F(tip_reply_template), "janseva_notice", 0, 0,
     "approved template (one body parameter) announcing a tip reply outside the 24 h window"},
    {"post_template", T_STR, F(post_template), "janseva_group_post", 0, 0,
     "template of a relayed group post outside the 24-hour window ({{1}} group, {{2}} label, "
     "{{3}} text)"},
    {"post_daily_budget_inr", T_MONEY, F(post_daily_budget), "50", 0,
     1000000L * CORE_CFG_MONEY_SCALE,
     "INR one group's relayed posts may cost per day (templates outside the window); 0: none"},
    {"digest_template", T_STR, F(digest_template), "janseva_group_digest", 0, 0,
     "template of a group's daily digest ({{1}} group, {{2}} number of posts, {{3}} the posts)"},
    {"digest_hour", T_INT, F(digest_hour), "20", 0, 23,
     "local hour (digest_utc_offset_min) at which the day's group digests are sent"},
    {"digest_utc_offset_min", T_INT, F(digest_utc_offset_min), "330", -720, 840,
     "minutes local time is ahead of UTC for digest_hour (Asia/Kolkata: 330, no DST)"},
};

#define NSPECS (sizeof specs / sizeof specs[0])
_Static_assert(NSPECS <= sizeof ((struct core_cfg *)0)->source, "grow core_cfg.source");

static char **str_field(struct core_cfg *cfg, const struct spec *s)
{
    return (char **)(void *)((char *)cfg + s->off);
}

static void env_name(const struct spec *s, char *out, size_t n)
{
    size_t i;
    size_t k = (size_t)snprintf(out, n, "JANSEVA_");

    for (i = 0; s->name[i] != '\0' && k + 1 < n; i++)
        out[k++] = (char)toupper((unsigned char)s->name[i]);
    out[k] = '\0';
}

static void wipe_free(char *s)
{
    if (s == NULL)
        return;
    sodium_memzero(s, strlen(s));
    free(s);
}

static void free_list(struct core_cfg *cfg)
{
    size_t i;

    for (i = 0; i < cfg->n_phone_numbers; i++)
        free(cfg->phone_numbers[i]);
    free(cfg->phone_numbers);
    cfg->phone_numbers = NULL;
    cfg->n_phone_numbers = 0;
}

static int parse_list(struct core_cfg *cfg, const char *v, const char *where, struct core_err *err)
{
    const char *p = v;

    free_list(cfg);
    while (*p != '\0') {
        const char *start;
        size_t len;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        start = p;
        while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        len = (size_t)(p - start);
        for (size_t i = 0; i < len; i++) {
            if (!isdigit((unsigned char)start[i]))
                return core_err_set(err, CORE_EX_CONFIG,
                                    "config: %s: phone number ids are digits only", where);
        }
        cfg->phone_numbers =
            core_realloc(cfg->phone_numbers, (cfg->n_phone_numbers + 1) * sizeof(char *));
        cfg->phone_numbers[cfg->n_phone_numbers++] = core_strndup(start, len);
    }
    return 0;
}

/* "0.8631" -> 8631 (1/10000 units); digits, an optional point and at most
 * four decimals. Returns 0 or -1. */
static int parse_money(const char *v, long *out)
{
    long whole = 0;
    long frac = 0;
    int decimals = 0;
    const char *p = v;

    if (!isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        if (whole > 100000000L)
            return -1;
        whole = whole * 10 + (*p - '0');
    }
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        for (; isdigit((unsigned char)*p); p++) {
            if (++decimals > 4)
                return -1;
            frac = frac * 10 + (*p - '0');
        }
    }
    if (*p != '\0')
        return -1;
    for (; decimals < 4; decimals++)
        frac *= 10;
    *out = whole * CORE_CFG_MONEY_SCALE + frac;
    return 0;
}

/* Set one setting from text; `where` names the source for messages. */
static int set_value(struct core_cfg *cfg, const struct spec *s, const char *v, const char *where,
                     struct core_err *err)
{
    char *end;
    long n;

    switch (s->type) {
    case T_STR:
    case T_SECRET: {
        char **f = str_field(cfg, s);

        if (s->type == T_SECRET)
            wipe_free(*f);
        else
            free(*f);
        *f = core_strdup(v);
        return 0;
    }
    case T_INT:
    case T_LONG:
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0' || n < s->min || n > s->max)
            return core_err_set(err, CORE_EX_CONFIG,
                                "config: %s must be a whole number from %ld to %ld", where, s->min,
                                s->max);
        if (s->type == T_INT)
            *(int *)(void *)((char *)cfg + s->off) = (int)n;
        else
            *(long *)(void *)((char *)cfg + s->off) = n;
        return 0;
    case T_LEVEL:
        if (core_log_level_parse(v, (enum core_log_level *)(void *)((char *)cfg + s->off)) != 0)
            return core_err_set(err, CORE_EX_CONFIG,
                                "config: %s must be one of debug, info, warn, error", where);
        return 0;
    case T_LIST:
        return parse_list(cfg, v, where, err);
    case T_MONEY:
        if (parse_money(v, &n) != 0 || n < s->min || n > s->max)
            return core_err_set(err, CORE_EX_CONFIG,
                                "config: %s must be an amount in rupees from %ld to %ld with at "
                                "most 4 decimals (e.g. 0.115)",
                                where, s->min / CORE_CFG_MONEY_SCALE,
                                s->max / CORE_CFG_MONEY_SCALE);
        *(long *)(void *)((char *)cfg + s->off) = n;
        return 0;
    }
    return 0;
}

static const struct spec *find_spec(const char *key)
{
    size_t i;
    char env[64];

    for (i = 0; i < NSPECS; i++) {
        if (strcasecmp(key, specs[i].name) == 0)
            return &specs[i];
        env_name(&specs[i], env, sizeof env);
        if (strcmp(key, env) == 0)
            return &specs[i];
    }
    return NULL;
}

static void add_warning(struct core_cfg *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_warning(struct core_cfg *cfg, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (cfg->n_warnings >= CORE_CFG_MAX_WARNINGS)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cfg->warnings[cfg->n_warnings++] = core_strdup(msg);
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

static int load_file(struct core_cfg *cfg, const char *path, struct core_err *err)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = 0;

    if (f == NULL)
        return core_err_set(err, CORE_EX_CONFIG, "config: cannot read %s: %s", path,
                            strerror(errno));
    while (getline(&line, &cap, f) != -1) {
        char *p;
        char *eq;
        char *key;
        char *val;
        const struct spec *s;
        char where[512];
        size_t vl;

        lineno++;
        p = trim(line);
        if (*p == '\0' || *p == '#')
            continue;
        if (strncmp(p, "export ", 7) == 0)
            p = trim(p + 7);
        eq = strchr(p, '=');
        if (eq == NULL) {
            rc = core_err_set(err, CORE_EX_CONFIG, "config: %s:%ld: expected name = value",
                              path, lineno);
            break;
        }
        *eq = '\0';
        key = trim(p);
        val = trim(eq + 1);
        vl = strlen(val);
        if (vl >= 2 && ((val[0] == '"' && val[vl - 1] == '"') ||
                        (val[0] == '\'' && val[vl - 1] == '\''))) {
            val[vl - 1] = '\0';
            val++;
        }
        s = find_spec(key);
        if (s == NULL) {
            rc = core_err_set(err, CORE_EX_CONFIG, "config: %s:%ld: unknown setting '%.64s'",
                              path, lineno, key);
            break;
        }
        snprintf(where, sizeof where, "%s:%ld: %s", path, lineno, s->name);
        if (set_value(cfg, s, val, where, err) != 0) {
            rc = -1;
            break;
        }
        cfg->source[s - specs] = 1;
    }
    if (line != NULL) {
        sodium_memzero(line, cap);
        free(line);
    }
    fclose(f);
    return rc;
}

static int load_env(struct core_cfg *cfg, struct core_err *err)
{
    size_t i;
    extern char **environ;
    char **e;

    for (i = 0; i < NSPECS; i++) {
        char env[64];
        const char *v;

        env_name(&specs[i], env, sizeof env);
        v = getenv(env);
        if (v == NULL)
            continue;
        if (set_value(cfg, &specs[i], v, env, err) != 0)
            return -1;
        cfg->source[i] = 2;
    }
    /* Warn about JANSEVA_* names nobody reads: usually a typo. */
    for (e = environ; e != NULL && *e != NULL; e++) {
        char name[64];
        const char *eq = strchr(*e, '=');
        size_t len;

        if (strncmp(*e, "JANSEVA_", 8) != 0 || eq == NULL)
            continue;
        len = (size_t)(eq - *e);
        if (len >= sizeof name)
            len = sizeof name - 1;
        memcpy(name, *e, len);
        name[len] = '\0';
        if (find_spec(name) == NULL && strcmp(name, "JANSEVA_CONFIG") != 0 &&
            strncmp(name, "JANSEVA_TEST_", 13) != 0 && strncmp(name, "JANSEVA_SIM_", 12) != 0)
            add_warning(cfg, "unknown environment setting %s ignored", name);
    }
    return 0;
}

static int validate(struct core_cfg *cfg, struct core_err *err)
{
    if (!core_cfg_is_set(cfg->mode)) {
        free(cfg->mode);
        cfg->mode = core_strdup(core_cfg_is_set(cfg->access_token) ? "live" : "sandbox");
    } else if (strcmp(cfg->mode, "live") != 0 && strcmp(cfg->mode, "sandbox") != 0) {
        return core_err_set(err, CORE_EX_CONFIG, "config: JANSEVA_MODE must be live or sandbox");
    }
    if (strncmp(cfg->graph_url, "http://", 7) != 0 && strncmp(cfg->graph_url, "https://", 8) != 0)
        return core_err_set(err, CORE_EX_CONFIG,
                            "config: JANSEVA_GRAPH_URL must start with http:// or https://");
    if (strncmp(cfg->redis, "unix:", 5) == 0) {
        if (cfg->redis[5] == '\0')
            return core_err_set(err, CORE_EX_CONFIG,
                                "config: JANSEVA_REDIS unix: needs a socket path");
    } else {
        const char *colon = strrchr(cfg->redis, ':');
        char *end;
        long port;

        if (colon == NULL || colon == cfg->redis)
            return core_err_set(err, CORE_EX_CONFIG,
                                "config: JANSEVA_REDIS must be unix:/path or host:port");
        port = strtol(colon + 1, &end, 10);
        if (*end != '\0' || port < 1 || port > 65535)
            return core_err_set(err, CORE_EX_CONFIG,
                                "config: JANSEVA_REDIS port must be 1-65535");
    }
    if (core_cfg_is_set(cfg->redis_password) && !core_cfg_is_set(cfg->redis_user))
        add_warning(cfg, "JANSEVA_REDIS_PASSWORD without JANSEVA_REDIS_USER authenticates as "
                         "the default user");
    if (strcmp(cfg->broadcast_category, "utility") != 0 &&
        strcmp(cfg->broadcast_category, "marketing") != 0)
        return core_err_set(err, CORE_EX_CONFIG,
                            "config: JANSEVA_BROADCAST_CATEGORY must be utility or marketing");
    if (!core_cfg_is_set(cfg->broadcast_template) ||
        !core_cfg_is_set(cfg->broadcast_report_template) || !core_cfg_is_set(cfg->api_operator))
        return core_err_set(err, CORE_EX_CONFIG,
                            "config: JANSEVA_BROADCAST_TEMPLATE, JANSEVA_BROADCAST_REPORT_TEMPLATE "
                            "and JANSEVA_API_OPERATOR must not be empty");
    if (core_cfg_is_set(cfg->api_token) && strlen(cfg->api_token) < 16)
        return core_err_set(err, CORE_EX_CONFIG,
                            "config: JANSEVA_API_TOKEN must be at least 16 characters");
    if (strcmp(cfg->mode, "live") == 0 && strncmp(cfg->graph_url, "https://", 8) != 0)
        add_warning(cfg, "live mode with a plain-http JANSEVA_GRAPH_URL");
    return 0;
}

int core_cfg_load(struct core_cfg *cfg, const char *file, struct core_err *err)
{
    size_t i;

    memset(cfg, 0, sizeof *cfg);
    for (i = 0; i < NSPECS; i++) {
        if (specs[i].def != NULL && set_value(cfg, &specs[i], specs[i].def, specs[i].name, err))
            return -1;
    }
    if (file == NULL)
        file = getenv("JANSEVA_CONFIG");
    if (file != NULL && file[0] != '\0') {
        cfg->config_file = core_strdup(file);
        if (load_file(cfg, file, err) != 0)
            return -1;
    }
    if (load_env(cfg, err) != 0)
        return -1;
    return validate(cfg, err);
}

void core_cfg_cleanup(struct core_cfg *cfg)
{
    size_t i;

    for (i = 0; i < NSPECS; i++) {
        if (specs[i].type == T_STR)
            free(*str_field(cfg, &specs[i]));
        else if (specs[i].type == T_SECRET)
            wipe_free(*str_field(cfg, &specs[i]));
        if (specs[i].type == T_STR || specs[i].type == T_SECRET)
            *str_field(cfg, &specs[i]) = NULL;
    }
    free_list(cfg);
    free(cfg->config_file);
    cfg->config_file = NULL;
    for (i = 0; i < cfg->n_warnings; i++)
        free(cfg->warnings[i]);
    cfg->n_warnings = 0;
}

int core_cfg_is_set(const char *value)
{
    return value != NULL && value[0] != '\0';
}

int core_cfg_require(const char *value, const char *env, const char *why, struct core_err *err)
{
    if (core_cfg_is_set(value))
        return 0;
    return core_err_set(err, CORE_EX_CONFIG, "config: %s is not set (%s)", env, why);
}

void core_cfg_print(const struct core_cfg *cfg, FILE *out)
{
    static const char *const src[] = {"default", "file", "environment"};
    size_t i;

    for (i = 0; i < NSPECS; i++) {
        const struct spec *s = &specs[i];
        const char *from = src[cfg->source[i] < 3 ? cfg->source[i] : 0];
        char env[64];

        env_name(s, env, sizeof env);
        fprintf(out, "%-22s = ", s->name);
        switch (s->type) {
        case T_STR: {
            const char *v = *(char *const *)(const void *)((const char *)cfg + s->off);

            fprintf(out, "%s", core_cfg_is_set(v) ? v : "(unset)");
            break;
        }
        case T_SECRET: {
            const char *v = *(char *const *)(const void *)((const char *)cfg + s->off);

            fprintf(out, "%s", core_cfg_is_set(v) ? "(set)" : "(unset)");
            break;
        }
        case T_INT:
            fprintf(out, "%d", *(const int *)(const void *)((const char *)cfg + s->off));
            break;
        case T_LONG:
            fprintf(out, "%ld", *(const long *)(const void *)((const char *)cfg + s->off));
            break;
        case T_LEVEL:
            fprintf(out, "%s", core_log_level_name(cfg->log_level));
            break;
        case T_MONEY: {
            long m = *(const long *)(const void *)((const char *)cfg + s->off);

            fprintf(out, "%ld.%04ld", m / CORE_CFG_MONEY_SCALE, m % CORE_CFG_MONEY_SCALE);
            break;
        }
        case T_LIST:
            if (cfg->n_phone_numbers == 0)
                fprintf(out, "(unset)");
            for (size_t k = 0; k < cfg->n_phone_numbers; k++)
                fprintf(out, "%s%s", k ? "," : "", cfg->phone_numbers[k]);
            break;
        }
        fprintf(out, "    # %s; %s (%s)\n", from, s->help, env);
    }
}

int core_cfg_has_role(const struct core_cfg *cfg, const char *role)
{
    const char *p = cfg->roles;
    size_t rl = strlen(role);

    if (p == NULL || strcmp(p, "all") == 0)
        return 1;
    while (*p != '\0') {
        const char *start;

        while (*p == ',' || *p == ' ')
            p++;
        start = p;
        while (*p != '\0' && *p != ',' && *p != ' ')
            p++;
        if ((size_t)(p - start) == rl && strncmp(start, role, rl) == 0)
            return 1;
        if ((size_t)(p - start) == 3 && strncmp(start, "all", 3) == 0)
            return 1;
    }
    return 0;
}
