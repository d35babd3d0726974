/*
 * tools/cloudsim/sim_cfg.c - command-line parsing for cloudsim (see
 * sim_cfg.h).
 */
#include "tools/cloudsim/sim_cfg.h"

#include "core/mem.h"
#include "core/util.h"
#include "core/version.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char sim_cfg_help[] =
    "Usage: cloudsim [OPTIONS]\n"
    "\n"
    "A local WhatsApp Business Cloud API (Graph API) simulator for tests, the\n"
    "sandbox and benchmarks: message sends with Meta's validation and limits,\n"
    "signed status webhooks, inbound messages on command, media, fault\n"
    "injection and an inspection API under /_sim/. See docs/cloudsim.md.\n"
    "\n"
    "Prints 'listening on HOST:PORT' as its first line on stdout once it accepts\n"
    "requests; logs are JSON lines on stderr. SIGTERM or SIGINT stop it (exit 0).\n"
    "\n"
    "Server:\n"
    "  --bind ADDR                 listen address (127.0.0.1)\n"
    "  --port N                    port; 0 picks a free one (8091)\n"
    "  --threads N                 HTTP worker threads (2)\n"
    "  --public-url URL            base of media download URLs (http://BIND:PORT)\n"
    "  --max-body-bytes N          largest request body, media uploads included (16777216)\n"
    "  --log-level LEVEL           debug, info, warn, error (info)\n"
    "\n"
    "Accounts:\n"
    "  --token TOKEN               accepted bearer token; repeatable (default: any\n"
    "                              non-empty token)\n"
    "  --phone-number-id ID[:DISPLAY]  a known business number; repeatable (default:\n"
    "                              any id is accepted)\n"
    "  --display-phone-number D    display number of ids not listed (" SIM_DEFAULT_DISPLAY ")\n"
    "  --waba-id ID                WhatsApp Business Account id in webhooks\n"
    "                              (" SIM_DEFAULT_WABA ")\n"
    "  --templates FILE            approved templates (JSON, Meta's format)\n"
    "\n"
    "Limits:\n"
    "  --mps N                     messages/second per number, else 130429 (80)\n"
    "  --mps-burst N               token-bucket size (same as --mps)\n"
    "  --pair-spacing-ms N         least gap between two sends to one recipient,\n"
    "                              else 131056; 0 = off (6000)\n"
    "  --window-hours N            customer service window; free-form outside it\n"
    "                              fails with 131047; 0 = always open (24)\n"
    "\n"
    "Webhooks:\n"
    "  --webhook-url URL           POST status and inbound webhooks here (none)\n"
    "  --app-secret SECRET         sign them (X-Hub-Signature-256); also\n"
    "                              $CLOUDSIM_APP_SECRET\n"
    "  --status-delay-ms N         mean gap between sent, delivered, read (200)\n"
    "  --deliver-rate P            share of sent messages that get delivered (1)\n"
    "  --read-rate P               share of delivered messages that get read (0.8)\n"
    "  --skip-delivered-rate P     share of reads without a delivered status (0.1)\n"
    "  --dup-rate P                share of statuses posted twice (0.02)\n"
    "  --reorder-rate P            share of messages whose statuses swap order (0.05)\n"
    "  --batch-max N               statuses per POST at most (50)\n"
    "  --batch-window-ms N         statuses due within N ms share a POST (10)\n"
    "  --seed N                    seed for every random decision (random)\n"
    "  --webhook-timeout-ms N      per POST (5000)\n"
    "  --webhook-retry-base-ms N   first retry delay, doubling to 30 s (1000)\n"
    "  --webhook-retry-for-ms N    give a webhook up after this long (60000)\n"
    "  --webhook-concurrency N     POSTs in flight at most (32)\n"
    "  --webhook-queue-max N       statuses waiting at most; more are dropped (1000000)\n"
    "\n"
    "Memory:\n"
    "  --record-cap N              requests kept for /_sim/sends (50000)\n"
    "  --media-max-bytes N         media kept in memory (268435456)\n"
    "\n"
    "  -h, --help                  this help\n"
    "  --version                   print the version\n"
    "\n"
    "Exit status: 0 clean stop; 64 usage error; 69 the port cannot be bound;\n"
    "78 a bad option value or templates file.\n";

enum {
    OPT_BIND = 256,
    OPT_PORT,
    OPT_THREADS,
    OPT_PUBLIC_URL,
    OPT_MAX_BODY,
    OPT_LOG_LEVEL,
    OPT_TOKEN,
    OPT_PNID,
    OPT_DISPLAY,
    OPT_WABA,
    OPT_TEMPLATES,
    OPT_MPS,
    OPT_MPS_BURST,
    OPT_PAIR,
    OPT_WINDOW,
    OPT_WEBHOOK_URL,
    OPT_APP_SECRET,
    OPT_STATUS_DELAY,
    OPT_DELIVER_RATE,
    OPT_READ_RATE,
    OPT_SKIP_DELIVERED,
    OPT_DUP_RATE,
    OPT_REORDER_RATE,
    OPT_BATCH_MAX,
    OPT_BATCH_WINDOW,
    OPT_SEED,
    OPT_HOOK_TIMEOUT,
    OPT_HOOK_RETRY_BASE,
    OPT_HOOK_RETRY_FOR,
    OPT_HOOK_CONCURRENCY,
    OPT_HOOK_QUEUE,
    OPT_RECORD_CAP,
    OPT_MEDIA_MAX,
    OPT_VERSION,
};

static const struct option options[] = {
    {"bind", required_argument, NULL, OPT_BIND},
    {"port", required_argument, NULL, OPT_PORT},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"public-url", required_argument, NULL, OPT_PUBLIC_URL},
    {"max-body-bytes", required_argument, NULL, OPT_MAX_BODY},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"phone-number-id", required_argument, NULL, OPT_PNID},
    {"display-phone-number", required_argument, NULL, OPT_DISPLAY},
    {"waba-id", required_argument, NULL, OPT_WABA},
    {"templates", required_argument, NULL, OPT_TEMPLATES},
    {"mps", required_argument, NULL, OPT_MPS},
    {"mps-burst", required_argument, NULL, OPT_MPS_BURST},
    {"pair-spacing-ms", required_argument, NULL, OPT_PAIR},
    {"window-hours", required_argument, NULL, OPT_WINDOW},
    {"webhook-url", required_argument, NULL, OPT_WEBHOOK_URL},
    {"app-secret", required_argument, NULL, OPT_APP_SECRET},
    {"status-delay-ms", required_argument, NULL, OPT_STATUS_DELAY},
    {"deliver-rate", required_argument, NULL, OPT_DELIVER_RATE},
    {"read-rate", required_argument, NULL, OPT_READ_RATE},
    {"skip-delivered-rate", required_argument, NULL, OPT_SKIP_DELIVERED},
    {"dup-rate", required_argument, NULL, OPT_DUP_RATE},
    {"reorder-rate", required_argument, NULL, OPT_REORDER_RATE},
    {"batch-max", required_argument, NULL, OPT_BATCH_MAX},
    {"batch-window-ms", required_argument, NULL, OPT_BATCH_WINDOW},
    {"seed", required_argument, NULL, OPT_SEED},
    {"webhook-timeout-ms", required_argument, NULL, OPT_HOOK_TIMEOUT},
    {"webhook-retry-base-ms", required_argument, NULL, OPT_HOOK_RETRY_BASE},
    {"webhook-retry-for-ms", required_argument, NULL, OPT_HOOK_RETRY_FOR},
    {"webhook-concurrency", required_argument, NULL, OPT_HOOK_CONCURRENCY},
    {"webhook-queue-max", required_argument, NULL, OPT_HOOK_QUEUE},
    {"record-cap", required_argument, NULL, OPT_RECORD_CAP},
    {"media-max-bytes", required_argument, NULL, OPT_MEDIA_MAX},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static void set_defaults(struct sim_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->bind = core_strdup("127.0.0.1");
    c->port = SIM_DEFAULT_PORT;
    c->threads = 2;
    c->display = core_strdup(SIM_DEFAULT_DISPLAY);
    c->waba_id = core_strdup(SIM_DEFAULT_WABA);
    c->mps = 80;
    c->pair_spacing_ms = 6000;
    c->window_hours = 24;
    c->status_delay_ms = 200;
    c->deliver_rate = 1.0;
    c->read_rate = 0.8;
    c->skip_delivered_rate = 0.1;
    c->dup_rate = 0.02;
    c->reorder_rate = 0.05;
    c->batch_max = 50;
    c->batch_window_ms = 10;
    c->webhook_timeout_ms = 5000;
    c->webhook_retry_base_ms = 1000;
    c->webhook_retry_for_ms = 60000;
    c->webhook_concurrency = 32;
    c->webhook_queue_max = 1000000;
    c->record_cap = 50000;
    c->media_max_bytes = 256LL * 1024 * 1024;
    c->max_body_bytes = 16LL * 1024 * 1024;
    c->log_level = CORE_LOG_INFO;
}

void sim_cfg_cleanup(struct sim_cfg *c)
{
    size_t i;

    free(c->bind);
    for (i = 0; i < c->n_tokens; i++)
        free(c->tokens[i]);
    free(c->tokens);
    if (c->app_secret != NULL) {
        memset(c->app_secret, 0, strlen(c->app_secret));
        free(c->app_secret);
    }
    free(c->webhook_url);
    for (i = 0; i < c->n_numbers; i++) {
        free(c->numbers[i].id);
        free(c->numbers[i].display);
    }
    free(c->numbers);
    free(c->display);
    free(c->waba_id);
    free(c->templates_file);
    free(c->public_url);
    memset(c, 0, sizeof *c);
}

/* An integer option in [lo, hi]. */
static int opt_int(const char *name, const char *arg, int64_t lo, int64_t hi, int64_t *out,
                   struct core_err *err)
{
    int64_t v;

    if (core_parse_i64(arg, &v) != 0 || v < lo || v > hi)
        return core_err_set(err, CORE_EX_USAGE, "--%s must be an integer from %lld to %lld", name,
                            (long long)lo, (long long)hi);
    *out = v;
    return 0;
}

/* A probability in [0, 1]. */
static int opt_rate(const char *name, const char *arg, double *out, struct core_err *err)
{
    char *end = NULL;
    double v = strtod(arg, &end);

    if (end == arg || *end != '\0' || !isfinite(v) || v < 0.0 || v > 1.0)
        return core_err_set(err, CORE_EX_USAGE, "--%s must be a number from 0 to 1", name);
    *out = v;
    return 0;
}

static int is_digits(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return 0;
    }
    return 1;
}

static int is_http_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static void replace(char **slot, const char *v)
{
    free(*slot);
    *slot = core_strdup(v);
}

static int add_number(struct sim_cfg *c, const char *arg, struct core_err *err)
{
    const char *colon = strchr(arg, ':');
    char *id = colon != NULL ? core_strndup(arg, (size_t)(colon - arg)) : core_strdup(arg);
    const char *display = colon != NULL ? colon + 1 : NULL;

    if (!is_digits(id) || (display != NULL && !is_digits(display))) {
        free(id);
        return core_err_set(err, CORE_EX_USAGE,
                            "--phone-number-id wants digits, optionally :DISPLAY digits");
    }
    c->numbers = core_realloc(c->numbers, (c->n_numbers + 1) * sizeof *c->numbers);
    c->numbers[c->n_numbers].id = id;
    c->numbers[c->n_numbers].display = display != NULL ? core_strdup(display) : NULL;
    c->n_numbers++;
    return 0;
}

/* Apply one parsed option. Returns 0 or -1. */
static int apply(struct sim_cfg *c, int opt, const char *arg, struct core_err *err)
{
    int64_t v = 0;
    const char *name = NULL;
    size_t i;

    for (i = 0; options[i].name != NULL; i++) {
        if (options[i].val == opt)
            name = options[i].name;
    }
    switch (opt) {
    case OPT_BIND: {
        unsigned char tmp[16];

        if (inet_pton(AF_INET, arg, tmp) != 1 && inet_pton(AF_INET6, arg, tmp) != 1)
            return core_err_set(err, CORE_EX_USAGE, "--bind wants an IPv4 or IPv6 address");
        replace(&c->bind, arg);
        return 0;
    }
    case OPT_PORT:
        if (opt_int(name, arg, 0, 65535, &v, err) != 0)
            return -1;
        c->port = (int)v;
        return 0;
    case OPT_THREADS:
        if (opt_int(name, arg, 1, 256, &v, err) != 0)
            return -1;
        c->threads = (int)v;
        return 0;
    case OPT_PUBLIC_URL:
        if (!is_http_url(arg))
            return core_err_set(err, CORE_EX_USAGE, "--public-url wants an http(s):// URL");
        replace(&c->public_url, arg);
        return 0;
    case OPT_MAX_BODY:
        return opt_int(name, arg, 65536, 1LL << 31, &c->max_body_bytes, err);
    case OPT_LOG_LEVEL:
        if (core_log_level_parse(arg, &c->log_level) != 0)
            return core_err_set(err, CORE_EX_USAGE, "--log-level wants debug, info, warn or error");
        return 0;
    case OPT_TOKEN:
        if (arg[0] == '\0')
            return core_err_set(err, CORE_EX_USAGE, "--token must not be empty");
        c->tokens = core_realloc(c->tokens, (c->n_tokens + 1) * sizeof *c->tokens);
        c->tokens[c->n_tokens++] = core_strdup(arg);
        return 0;
    case OPT_PNID:
        return add_number(c, arg, err);
    case OPT_DISPLAY:
        if (!is_digits(arg))
            return core_err_set(err, CORE_EX_USAGE, "--display-phone-number wants digits");
        replace(&c->display, arg);
        return 0;
    case OPT_WABA:
        if (!is_digits(arg))
            return core_err_set(err, CORE_EX_USAGE, "--waba-id wants digits");
        replace(&c->waba_id, arg);
        return 0;
    case OPT_TEMPLATES:
        replace(&c->templates_file, arg);
        return 0;
    case OPT_MPS:
        return opt_int(name, arg, 1, 100000000, &c->mps, err);
    case OPT_MPS_BURST:
        return opt_int(name, arg, 1, 100000000, &c->mps_burst, err);
    case OPT_PAIR:
        return opt_int(name, arg, 0, 86400000, &c->pair_spacing_ms, err);
    case OPT_WINDOW:
        return opt_int(name, arg, 0, 24 * 365, &c->window_hours, err);
    case OPT_WEBHOOK_URL:
        if (!is_http_url(arg))
            return core_err_set(err, CORE_EX_USAGE, "--webhook-url wants an http(s):// URL");
        replace(&c->webhook_url, arg);
        return 0;
    case OPT_APP_SECRET:
        if (arg[0] == '\0')
            return core_err_set(err, CORE_EX_USAGE, "--app-secret must not be empty");
        replace(&c->app_secret, arg);
        return 0;
    case OPT_STATUS_DELAY:
        return opt_int(name, arg, 0, 3600000, &c->status_delay_ms, err);
    case OPT_DELIVER_RATE:
        return opt_rate(name, arg, &c->deliver_rate, err);
    case OPT_READ_RATE:
        return opt_rate(name, arg, &c->read_rate, err);
    case OPT_SKIP_DELIVERED:
        return opt_rate(name, arg, &c->skip_delivered_rate, err);
    case OPT_DUP_RATE:
        return opt_rate(name, arg, &c->dup_rate, err);
    case OPT_REORDER_RATE:
        return opt_rate(name, arg, &c->reorder_rate, err);
    case OPT_BATCH_MAX:
        return opt_int(name, arg, 1, 1000, &c->batch_max, err);
    case OPT_BATCH_WINDOW:
        return opt_int(name, arg, 0, 10000, &c->batch_window_ms, err);
    case OPT_SEED:
        if (opt_int(name, arg, 0, INT64_MAX, &v, err) != 0)
            return -1;
        c->seed = (uint64_t)v;
        c->seed_set = 1;
        return 0;
    case OPT_HOOK_TIMEOUT:
        return opt_int(name, arg, 1, 600000, &c->webhook_timeout_ms, err);
    case OPT_HOOK_RETRY_BASE:
        return opt_int(name, arg, 1, 3600000, &c->webhook_retry_base_ms, err);
    case OPT_HOOK_RETRY_FOR:
        return opt_int(name, arg, 0, 7LL * 86400000, &c->webhook_retry_for_ms, err);
    case OPT_HOOK_CONCURRENCY:
        return opt_int(name, arg, 1, 4096, &c->webhook_concurrency, err);
    case OPT_HOOK_QUEUE:
        return opt_int(name, arg, 1, 100000000, &c->webhook_queue_max, err);
    case OPT_RECORD_CAP:
        return opt_int(name, arg, 1, 100000000, &c->record_cap, err);
    case OPT_MEDIA_MAX:
        return opt_int(name, arg, 0, 1LL << 40, &c->media_max_bytes, err);
    default:
        return core_err_set(err, CORE_EX_USAGE, "unknown option (see cloudsim --help)");
    }
}

int sim_cfg_parse(struct sim_cfg *c, int argc, char **argv, struct core_err *err)
{
    const char *env_secret = getenv("CLOUDSIM_APP_SECRET");
    int opt;

    set_defaults(c);
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            fputs(sim_cfg_help, stdout);
            return 1;
        }
        if (opt == OPT_VERSION) {
            printf("cloudsim (janseva %s)\n", JANSEVA_VERSION);
            return 1;
        }
        if (opt == '?' || opt == ':') {
            if (optopt != 0)
                return core_err_set(err, CORE_EX_USAGE,
                                    "option -%c is unknown or lacks its value (see --help)",
                                    optopt);
            const char *bad = argv[optind - 1];
            size_t n = strcspn(bad, "="); /* never echo a value: it may be a secret */

            return core_err_set(err, CORE_EX_USAGE,
                                "option '%.*s' is unknown or lacks its value (see --help)",
                                (int)(n > 64 ? 64 : n), bad);
        }
        if (apply(c, opt, optarg, err) != 0)
            return -1;
    }
    if (optind < argc)
        return core_err_set(err, CORE_EX_USAGE, "unexpected argument '%s' (see --help)",
                            argv[optind]);
    if (c->app_secret == NULL && env_secret != NULL && env_secret[0] != '\0')
        c->app_secret = core_strdup(env_secret);
    if (c->mps_burst == 0)
        c->mps_burst = c->mps;
    if (!c->seed_set)
        c->seed = ((uint64_t)core_random_below(UINT32_MAX) << 32) | core_random_below(UINT32_MAX);
    return 0;
}
