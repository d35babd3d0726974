/*
 * core/config.h - settings from a config file and JANSEVA_* environment.
 *
 * Every setting has a lower-case name (`app_secret`) and an environment
 * variable (`JANSEVA_APP_SECRET`). Precedence: built-in default < config
 * file < environment. The config file holds `name = value` lines (the
 * JANSEVA_NAME=value form is accepted too, so a systemd EnvironmentFile
 * works as a config file); `#` starts a comment; values may be quoted.
 * The full list with defaults is in docs/configuration.md and printed by
 * `janseva config`.
 *
 * Secrets (app_secret, verify_token, access_token, redis_password, api_token) are never
 * printed; their memory is wiped by core_cfg_cleanup().
 */
#ifndef JANSEVA_CORE_CONFIG_H
#define JANSEVA_CORE_CONFIG_H

#include "core/err.h"
#include "core/log.h"

#include <stddef.h>

#define CORE_CFG_MAX_WARNINGS 16
#define CORE_CFG_MONEY_SCALE 10000 /* money settings are stored in 1/10000 of a rupee */

/* The effective configuration. Strings are owned; NULL or "" = unset. */
struct core_cfg {
    char *mode;           /* "live" or "sandbox" (derived when unset) */
    char *app_secret;     /* Meta App Secret: signs webhook POSTs */
    char *verify_token;   /* webhook verification handshake token */
    char *access_token;   /* Graph API bearer token (System User) */
    char **phone_numbers; /* phone_number_id list (owned array) */
    size_t n_phone_numbers;
    char *graph_url;      /* base URL including the version */
    char *redis;          /* "unix:/path" or "host:port" */
    char *redis_user;     /* ACL user, or unset for default */
    char *redis_password; /* ACL password */
    int redis_timeout_ms; /* connect and command timeout */
    char *http_bind;      /* listen address */
    int http_port;        /* listen port */
    int http_threads;     /* libmicrohttpd thread pool size */
    char *keys_dir;       /* key directory (crypto) */
    enum core_log_level log_level;
    long webhook_max_bytes;   /* largest webhook body accepted */
    long ingress_max_backlog; /* stream length beyond which ingress answers 503 */
    int router_threads;       /* router worker threads per process */
    int router_batch;         /* entries read per XREADGROUP */
    int router_claim_idle_ms; /* reclaim entries pending this long */
    int router_max_deliveries; /* after this many attempts -> dead letter */
    int graph_timeout_ms;      /* per Graph API request */
    int dispatch_mps;          /* messages per second per business number */
    int dispatch_pair_spacing_ms; /* least gap between two messages to one member */
    int dispatch_inflight;     /* Graph requests in flight per dispatcher */
    int dispatch_max_attempts; /* transient failures before a message is dead */
    int dispatch_window_margin_s; /* treat the 24 h window as closed this much early */
    int dispatch_ambiguous_grace_ms; /* wait for a status before resending an unknown send */
    int dispatch_pause_ms;     /* first pause of a number after 190/368/133010 */
    int dialogue_state_ttl_s;  /* forget an unfinished dialogue step after this */
    int join_radius_km;        /* localities offered for a shared location */
    char *roles;              /* serve roles: "all" or a comma list */
    char *api_token;          /* bearer token of the HTTP API (dashboard); unset = API off */
    char *api_operator;       /* operator name the API token acts as (audit actor) */
    long price_utility;       /* INR per utility template outside the window, 1/10000 units */
    long price_marketing;     /* INR per marketing template, 1/10000 units */
    char *broadcast_template; /* template used outside the 24 h window for text broadcasts */
    char *broadcast_category; /* its category: "utility" or "marketing" */
    char *broadcast_report_template; /* template of the final report outside the window */
    int broadcast_batch;      /* members per fan-out batch */
    int broadcast_batch_pause_ms; /* pause between fan-out batches */
    int broadcast_draft_ttl_s; /* an unconfirmed broadcast expires after this */
    int broadcast_lease_ms;   /* a job whose worker stopped renewing resumes elsewhere after */
    int broadcast_report_after_s; /* report at the latest this long after the fan-out */
    int broadcast_preview_max; /* members read one by one in a preview; beyond: a sample */
    int tip_session_idle_s;   /* a tip session ends after this quiet time */
    int tip_max_items;        /* messages one tip case keeps at most */
    long tip_media_max_bytes; /* larger tip media are noted, not stored */
    int tip_relay_keep_days;  /* routing record of a closed case kept this long */
    int tip_retention_days;   /* closed cases purged this long after closing (0: kept) */
    int tip_reveal_ttl_s;     /* custodians must approve a reveal within this time */
    char *tip_reply_template; /* template of a tip reply outside the 24 h window */
    char *post_template;      /* template of a relayed post outside the 24 h window */
    long post_daily_budget;   /* INR a group's relays may cost per day, 1/10000 units */
    char *digest_template;    /* template of the daily digest of a group in digest mode */
    int digest_hour;          /* local hour at which the day's digests are sent */
    int digest_utc_offset_min; /* local time = UTC + this (Asia/Kolkata: 330) */

    /* bookkeeping, not settings */
    char *config_file;                          /* file read, or NULL */
    char *warnings[CORE_CFG_MAX_WARNINGS];      /* non-fatal notes to log */
    size_t n_warnings;
    unsigned char source[64];                   /* per spec: 0 default 1 file 2 env */
};

/*
 * Load defaults, then `file` (may be NULL: then $JANSEVA_CONFIG, if set),
 * then the environment. On error returns -1 with err->code CORE_EX_CONFIG and
 * a message naming the setting (never its value if secret). `cfg` must be
 * released with core_cfg_cleanup() in every case.
 */
int core_cfg_load(struct core_cfg *cfg, const char *file, struct core_err *err);

/* Free every string, wiping secrets first. Safe on a zeroed struct. */
void core_cfg_cleanup(struct core_cfg *cfg);

/* True if the named string setting is set and non-empty. */
int core_cfg_is_set(const char *value);

/*
 * Fail with CORE_EX_CONFIG unless `value` is set: the message names the
 * environment variable `env` and says `why` it is needed.
 */
int core_cfg_require(const char *value, const char *env, const char *why, struct core_err *err);

/*
 * Print every setting as `name = value  # source` to `out`; secrets show
 * only "(set)" or "(unset)".
 */
void core_cfg_print(const struct core_cfg *cfg, FILE *out);

/* True if `role` is enabled by cfg->roles ("all" enables every role). */
int core_cfg_has_role(const struct core_cfg *cfg, const char *role);

#endif
