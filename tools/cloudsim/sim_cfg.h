/*
 * tools/cloudsim/sim_cfg.h - the simulator's command line: every option,
 * its default and its parsing. The values a test may change while the
 * simulator runs (POST /_sim/config) are copied into struct sim_knobs at
 * startup; this struct itself is read-only once parsed.
 */
#ifndef JANSEVA_SIM_CFG_H
#define JANSEVA_SIM_CFG_H

#include "core/err.h"
#include "core/log.h"

#include <stddef.h>
#include <stdint.h>

#define SIM_DEFAULT_PORT 8091
#define SIM_DEFAULT_PNID "106540352242922"
#define SIM_DEFAULT_DISPLAY "15550001234"
#define SIM_DEFAULT_WABA "102290129340398"

/* A business number the simulator knows (--phone-number-id ID[:DISPLAY]). */
struct sim_number {
    char *id;      /* phone_number_id */
    char *display; /* display_phone_number (digits) */
};

struct sim_cfg {
    char *bind;    /* listen address */
    int port;      /* 0 = any free port */
    int threads;   /* HTTP worker threads */
    char **tokens; /* accepted bearer tokens; none = any non-empty token */
    size_t n_tokens;
    char *app_secret;           /* signs webhooks; NULL = unsigned (warned) */
    char *webhook_url;          /* where statuses and inbound messages go; NULL = nowhere */
    struct sim_number *numbers; /* known numbers; none = any id is accepted */
    size_t n_numbers;
    char *display;        /* display number for ids not listed */
    char *waba_id;        /* entry[].id of webhooks */
    char *templates_file; /* NULL = no templates at start */
    char *public_url;     /* base of media URLs; NULL = http://BIND:PORT */
    int64_t mps;          /* messages/second per number */
    int64_t mps_burst;    /* bucket size (0 = same as mps) */
    int64_t pair_spacing_ms;
    int64_t window_hours; /* customer service window; 0 = always open */
    int64_t status_delay_ms;
    double deliver_rate;        /* P(delivered | sent) */
    double read_rate;           /* P(read | delivered) */
    double skip_delivered_rate; /* P(no delivered webhook | read) */
    double dup_rate;            /* P(a status webhook is sent twice) */
    double reorder_rate;        /* P(a message's statuses are swapped) */
    int64_t batch_max;          /* statuses per webhook POST at most */
    int64_t batch_window_ms;    /* statuses due this close together share a POST */
    uint64_t seed;
    int seed_set;
    int64_t webhook_timeout_ms;
    int64_t webhook_retry_base_ms;
    int64_t webhook_retry_for_ms;
    int64_t webhook_concurrency;
    int64_t webhook_queue_max;
    int64_t record_cap;      /* recorded requests kept (ring buffer) */
    int64_t media_max_bytes; /* media kept in memory */
    int64_t max_body_bytes;  /* largest request body (media uploads) */
    enum core_log_level log_level;
};

/* The --help text. */
extern const char sim_cfg_help[];

/*
 * Parse the command line into `cfg` (defaults first). Returns 0, 1 when
 * --help or --version was printed (exit 0), or -1 with err (code 64 for a
 * usage error, 78 for a bad value). cfg must be cleaned up in every case.
 */
int sim_cfg_parse(struct sim_cfg *cfg, int argc, char **argv, struct core_err *err);

/* Free every string; the struct can be parsed into again. */
void sim_cfg_cleanup(struct sim_cfg *cfg);

#endif
