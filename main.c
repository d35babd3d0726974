/*
 * main.c - the janseva command: parse the command line, wire the modules,
 * run a subcommand. Subcommand logic lives in the modules; `serve` is the
 * wiring of the long-running roles.
 */
#include "core/cli.h"
#include "core/config.h"
#include "core/httpd.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/redis.h"
#include "core/version.h"
#include "crypto/audit.h"
#include "crypto/cli.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "crypto/reveal.h"
#include "crypto/upkeep.h"
#include "gateway/cli.h"
#include "gateway/dispatch.h"
#include "gateway/ingress.h"
#include "gateway/ops.h"
#include "gateway/router.h"
#include "groups/api.h"
#include "groups/broadcast.h"
#include "groups/digest.h"
#include "groups/groupcli.h"
#include "groups/cli.h"
#include "groups/tip.h"
#include "groups/tipapi.h"
#include "groups/tipcli.h"
#include "groups/postmedia.h"
#include "groups/sendcheck.h"
#include "groups/tipkeep.h"
#include "groups/tipmedia.h"
#include "groups/tipreveal.h"
#include "groups/dialogue.h"
#include "groups/post.h"
#include "groups/review.h"
#include "moderation/cli.h"
#include "moderation/engine.h"

#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* ======================= serve ======================= */

static const char serve_help[] =
    "Usage: janseva serve [--config FILE] [--roles LIST]\n"
    "\n"
    "Run the service in the foreground until SIGTERM or SIGINT; logs go to\n"
    "stderr, one JSON object per line.\n"
    "\n"
    "Roles (default all; JANSEVA_ROLES):\n"
    "  http    webhook endpoint (GET/POST /webhook), /healthz, /readyz, /metrics,\n"
    "          the tips API /api/tips, the review and inbox API /api/review,\n"
    "          /api/inbox (need JANSEVA_API_TOKEN)\n"
    "  router  consume the ingress stream and route every webhook event; fetch\n"
    "          tip media\n"
    "  dispatch  send queued messages through the Graph API (needs\n"
    "          JANSEVA_PHONE_NUMBER_ID; in live mode JANSEVA_ACCESS_TOKEN)\n"
    "  broadcast  fan out confirmed broadcasts (needs JANSEVA_PHONE_NUMBER_ID)\n"
    "          and send the daily group digests at JANSEVA_DIGEST_HOUR;\n"
    "          the http role also serves the broadcast API under /api/ when\n"
    "          JANSEVA_API_TOKEN is set\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE  read settings from FILE (also $JANSEVA_CONFIG)\n"
    "  -r, --roles LIST   comma-separated roles to run in this process\n"
    "  -h, --help         show this help\n"
    "\n"
    "Settings are listed by 'janseva config' and in docs/configuration.md.\n"
    "Both roles need the key directory (JANSEVA_KEYS_DIR, or systemd credentials;\n"
    "create one with 'janseva keys init'): webhook bodies and member identities\n"
    "are sealed before they reach Redis.\n"
    "Exit status: 0 clean stop; 78 invalid or missing settings or keys; 69 the\n"
    "HTTP port cannot be bound.\n";

static int parse_common(int argc, char **argv, const char *cmd, const char *help,
                        const char **config, const char **roles)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"roles", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, roles != NULL ? "c:r:h" : "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            *config = optarg;
            break;
        case 'r':
            if (roles == NULL)
                return core_cli_usage_error(cmd, "unknown option --roles");
            *roles = optarg;
            break;
        case 'h':
            fputs(help, stdout);
            return -1;
        default:
            return core_cli_usage_error(cmd, "unknown option");
        }
    }
    if (optind < argc)
        return core_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    return 0;
}

static int check_roles(const char *roles, struct core_err *err)
{
    static const char *const known[] = {"all", "http", "router", "dispatch", "broadcast"};
    const char *p = roles;

    while (*p != '\0') {
        const char *start;
        size_t n;
        size_t i;
        int ok = 0;

        while (*p == ',' || *p == ' ')
            p++;
        start = p;
        while (*p != '\0' && *p != ',' && *p != ' ')
            p++;
        n = (size_t)(p - start);
        if (n == 0)
            continue;
        for (i = 0; i < sizeof known / sizeof known[0]; i++) {
            if (strlen(known[i]) == n && strncmp(known[i], start, n) == 0)
                ok = 1;
        }
        if (!ok)
            return core_err_set(err, CORE_EX_CONFIG,
                                "config: JANSEVA_ROLES has an unknown role '%.*s' (known: all, "
                                "http, router, dispatch, broadcast)",
                                (int)n, start);
    }
    return 0;
}

/* Load the key directory for serve (one line and 78 on any problem). */
static struct cry_keys *serve_keys(const struct core_cfg *cfg, struct core_err *err)
{
    struct cry_keys *k = cry_keys_load_configured(cfg->keys_dir, NULL, err);

    if (k != NULL && !cry_keys_locked(k))
        core_log_warn("keys", NULL,
                      "key memory could not be locked in RAM (mlock); raise RLIMIT_MEMLOCK "
                      "(systemd: LimitMEMLOCK=) or make sure swap is encrypted");
    return k;
}

static int cmd_serve(int argc, char **argv)
{
    const char *config = NULL;
    const char *roles = NULL;
    struct core_cfg cfg;
    struct core_err err;
    struct core_redis_pool *pool = NULL;
    struct core_httpd *httpd = NULL;
    struct gw_ingress *ingress = NULL;
    struct gw_router *router = NULL;
    struct cry_keys *keys = NULL;
    struct cry_audit *audit = NULL;
    struct cry_identity *identity = NULL;
    struct cry_upkeep *upkeep = NULL;
    struct gw_dispatch *dispatch = NULL;
    struct grp_tip *tip = NULL;
    struct grp_tipmedia *tipmedia = NULL;
    struct grp_tipkeep *tipkeep = NULL;
    struct grp_tipapi *tipapi = NULL;
    struct grp_bc *bc = NULL;
    struct grp_bc_worker *bc_worker = NULL;
    struct grp_digest_worker *dg_worker = NULL;
    struct grp_api *api = NULL;
    struct grp_dialogue *dialogue = NULL;
    struct grp_dlg_opts dopts;
    struct mod_engine *moderation = NULL;
    struct grp_posts *posts = NULL;
    struct grp_postmedia *postmedia = NULL;
    struct grp_review_api *review_api = NULL;
    struct core_redis *probe;
    struct core_redis_opts ropts;
    struct rlimit nocore = {0, 0};
    sigset_t stop_set;
    char reason[128];
    int sig = 0;
    int rc;
    int want_http;
    int want_router;
    int want_dispatch;
    int want_broadcast;

    rc = parse_common(argc, argv, "serve", serve_help, &config, &roles);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    core_err_clear(&err);
    if (core_cli_load_config(&cfg, config, &err) != 0)
        goto fail;
    if (roles != NULL) {
        free(cfg.roles);
        cfg.roles = strdup(roles);
    }
    if (check_roles(cfg.roles, &err) != 0)
        goto fail;
    want_http = core_cfg_has_role(&cfg, "http");
    want_router = core_cfg_has_role(&cfg, "router");
    want_dispatch = core_cfg_has_role(&cfg, "dispatch");
    want_broadcast = core_cfg_has_role(&cfg, "broadcast");
    if (want_dispatch && cfg.n_phone_numbers == 0) {
        if (strcmp(cfg.roles, "all") != 0 || strcmp(cfg.mode, "live") == 0) {
            core_err_set(&err, CORE_EX_CONFIG,
                         "config: JANSEVA_PHONE_NUMBER_ID is not set (the dispatch role sends "
                         "from these numbers)");
            goto fail;
        }
        core_log_warn("serve", NULL,
                      "no JANSEVA_PHONE_NUMBER_ID: the dispatch role is off, nothing is sent");
        want_dispatch = 0;
    }
    if (want_broadcast && cfg.n_phone_numbers == 0) {
        if (strcmp(cfg.roles, "all") != 0) {
            core_err_set(&err, CORE_EX_CONFIG,
                         "config: JANSEVA_PHONE_NUMBER_ID is not set (the broadcast role sends "
                         "from it)");
            goto fail;
        }
        want_broadcast = 0;
    }

    /* No core dumps: they would hold keys and personal data. */
    setrlimit(RLIMIT_CORE, &nocore);
    /* Signals are taken by sigwait() below; worker threads inherit the mask. */
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    signal(SIGPIPE, SIG_IGN);

    ropts.addr = cfg.redis;
    ropts.user = cfg.redis_user;
    ropts.password = cfg.redis_password;
    ropts.timeout_ms = cfg.redis_timeout_ms;
    pool = core_redis_pool_new(&ropts, (size_t)cfg.http_threads + 2);
    probe = core_redis_new(&ropts);
    if (core_redis_ping(probe, &err) != 0) {
        if (err.code == CORE_EX_CONFIG) {
            core_redis_free(probe);
            goto fail;
        }
        core_log_warn("serve", NULL,
                      "%s; starting anyway: webhooks get 503 until Redis is back", err.msg);
    }
    /* Settings first (one line naming a missing one), then the keys. */
    if (want_http) {
        ingress = gw_ingress_new(&cfg, pool, &err);
        if (ingress == NULL) {
            core_redis_free(probe);
            goto fail;
        }
    }
    keys = serve_keys(&cfg, &err);
    if (keys == NULL) {
        core_redis_free(probe);
        goto fail;
    }
    if (cry_keys_refresh(keys, probe, &err) != 0)
        core_log_warn("keys", NULL, "data key version unknown until Redis answers: %s", err.msg);
    core_err_clear(&err);
    core_redis_free(probe);
    core_log_kv(CORE_LOG_INFO, "serve", NULL, "janseva starting",
                json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s,s:i,s:b}}", "version", JANSEVA_VERSION,
                          "mode", cfg.mode, "roles", cfg.roles, "redis", cfg.redis, "keys",
                          "root", cry_keys_meta(keys)->root_id, "audit",
                          cry_keys_meta(keys)->audit_id, "data_version",
                          (int)cry_keys_version(keys), "locked", cry_keys_locked(keys)));
    if (strcmp(cfg.mode, "sandbox") == 0)
        core_log_info("serve", NULL,
                      "sandbox mode: no WhatsApp access token configured; nothing is sent to "
                      "Meta");
    audit = cry_audit_new(keys);
    snprintf(reason, sizeof reason, "janseva %s roles %s", JANSEVA_VERSION, cfg.roles);
    upkeep = cry_upkeep_start(keys, audit, &ropts, reason, &err);
    if (upkeep == NULL)
        goto fail;

    identity = cry_identity_new(keys);
    /* Tips: cases, the media fetcher (router), the reply resolver
     * (dispatch) and the API (http) share one store. */
    tip = grp_tip_new(&cfg, keys, identity);
    {
        struct cry_reveal_meta rm;
        struct core_err rerr;

        if (grp_tip_reveal_meta(tip, &rm, &rerr) == 0)
            core_log_info("serve", NULL, "tips: reveal key %s (%u of %u custodians)", rm.id,
                          rm.threshold, rm.n);
    }
    if (want_router) {
        tipmedia = grp_tipmedia_start(&cfg, tip, &err);
        if (tipmedia == NULL)
            goto fail;
        core_err_clear(&err);
        tipkeep = grp_tipkeep_start(&cfg, tip, &err);
        if (tipkeep == NULL && err.code != 0)
            goto fail;
    }
    /* the broadcast engine: the worker, the API and (router) the officers' ALERT flow */
    if (want_broadcast || want_router || (want_http && core_cfg_is_set(cfg.api_token)))
        bc = grp_bc_new(&cfg, keys, audit);
    /* group posts: the moderation engine (router: every post; http: the
     * moderators' feedback through the review API) */
    if (want_router || (want_http && core_cfg_is_set(cfg.api_token))) {
        struct mod_opts mo;

        mod_opts_default(&mo);
        moderation = mod_engine_new(&mo, &err);
        if (moderation == NULL)
            goto fail;
        posts = grp_posts_new(&cfg, keys, audit, moderation);
        /* media posts: re-uploaded by the media worker (router role), then relayed */
        grp_posts_set_media(posts, true);
    }
    if (want_router) {
        router = gw_router_new(&cfg);
        gw_router_set_hash_key(router, cry_keys_get(keys, CRY_KEY_DEDUPE), CRY_KEYBYTES);
        gw_router_set_keys(router, keys);
        /* First: every later handler sees ctx->member_id. */
        gw_router_add_handler(router, "identity", cry_identity_handler, identity);
        gw_router_add_handler(router, "delivery", gw_delivery_handler, keys);
        /* Then the citizens' dialogue: it answers in the member's language. */
        grp_dlg_opts_from_cfg(&dopts, &cfg);
        dialogue = grp_dlg_new(&dopts, keys, identity);
        grp_dlg_set_moderation(dialogue, moderation);
        grp_dlg_set_posts(dialogue, posts);      /* the "post" flow */
        grp_dlg_set_tips(dialogue, tip);         /* the "tip" flow */
        grp_dlg_set_broadcast(dialogue, bc);     /* the officers' "alert" flow */
        postmedia = grp_postmedia_start(&cfg, posts, &err);
        if (postmedia == NULL)
            goto fail;
        gw_router_add_handler(router, "dialogue", grp_dlg_handler, dialogue);
        grp_dlg_warm_up(dialogue, &ropts);
        if (gw_router_start(router, &err) != 0)
            goto fail;
    }
    if (want_dispatch) {
        dispatch = gw_dispatch_new(&cfg, keys, identity, &err);
        if (dispatch == NULL)
            goto fail;
        gw_dispatch_add_resolver(dispatch, GRP_TIP_RCPT_PREFIX, grp_tip_resolve_recipient, tip);
        /* STOP, bans, moves and cancelled broadcasts stop queued messages */
        gw_dispatch_set_send_check(dispatch, grp_sendcheck, NULL);
        if (gw_dispatch_start(dispatch, &err) != 0)
            goto fail;
    }
    if (want_broadcast) {
        bc_worker = grp_bc_worker_start(bc, &ropts, &err);
        if (bc_worker == NULL)
            goto fail;
    }
    if (want_broadcast) {
        /* the daily digests of the groups in digest mode (once per day across
         * processes: a lease and a per-day marker) */
        struct grp_digest_opts dgo;

        grp_digest_opts_from_cfg(&dgo, &cfg);
        dg_worker = grp_digest_worker_start(&dgo, keys, &ropts, &err);
        if (dg_worker == NULL)
            goto fail;
    }
    if (want_http) {
        gw_ingress_set_keys(ingress, keys);
        httpd = core_httpd_new();
        gw_ingress_register(ingress, httpd);
        gw_ops_register(httpd, pool);
        tipapi = grp_tipapi_new(&cfg, tip, pool);
        grp_tipapi_register(tipapi, httpd);
        grp_tip_metrics_init();
        grp_tipmedia_metrics_init();
        grp_tiprv_metrics_init();
        api = grp_api_new(&cfg, bc, pool, audit);
        review_api = grp_review_api_new(&cfg, posts, pool);
        if (review_api != NULL)
            grp_review_api_register(review_api, httpd);
        if (api != NULL)
            grp_api_register(api, httpd);
        else
            core_log_info("serve", NULL,
                          "JANSEVA_API_TOKEN is not set: the API under /api/ is off");
        gw_router_metrics_init();
        cry_identity_metrics_init();
        cry_audit_metrics_init();
        grp_dlg_metrics_init();
        grp_post_metrics_init();
        grp_sx_metrics_init();
        core_metrics_add_collector(gw_router_collect, pool);
        if (dispatch != NULL) {
            gw_dispatch_metrics_init();
            core_metrics_add_collector(gw_dispatch_collect, dispatch);
        }
        if (core_httpd_start(httpd, cfg.http_bind, cfg.http_port, cfg.http_threads, &err) != 0)
            goto fail;
        core_log_kv(CORE_LOG_INFO, "serve", NULL, "listening",
                    json_pack("{s:s,s:i}", "bind", cfg.http_bind, "port",
                              core_httpd_port(httpd)));
    }
    core_log_info("serve", NULL, "ready");
    sigwait(&stop_set, &sig);
    core_log_info("serve", NULL, "stopping on signal %d", sig);
    rc = 0;
    goto out;
fail:
    rc = core_cli_fail(&err);
out:
    core_metrics_clear_collectors();
    core_httpd_free(httpd);
    grp_tipapi_free(tipapi);
    grp_api_free(api);
    grp_review_api_free(review_api);
    grp_bc_worker_stop(bc_worker);
    grp_digest_worker_stop(dg_worker);
    gw_ingress_free(ingress);
    gw_router_free(router);
    grp_dlg_free(dialogue);
    grp_postmedia_stop(postmedia);
    grp_posts_free(posts);
    mod_engine_free(moderation);
    gw_dispatch_free(dispatch);
    grp_tipkeep_stop(tipkeep);
    grp_tipmedia_stop(tipmedia);
    grp_tip_free(tip);
    grp_bc_free(bc);
    cry_upkeep_stop(upkeep);
    cry_identity_free(identity);
    cry_audit_free(audit);
    cry_keys_free(keys);
    core_redis_pool_free(pool);
    core_cfg_cleanup(&cfg);
    if (rc == 0)
        core_log_info("serve", NULL, "stopped");
    return rc;
}

/* ======================= config ======================= */

static const char config_help[] =
    "Usage: janseva config [--config FILE]\n"
    "\n"
    "Load the settings as 'serve' would (defaults, then FILE, then JANSEVA_*\n"
    "environment variables), check them, and print every setting with where\n"
    "its value came from. Secrets are shown only as (set) or (unset).\n"
    "Exit status: 0 valid; 78 invalid (one line on stderr names the setting).\n";

static int cmd_config(int argc, char **argv)
{
    const char *config = NULL;
    struct core_cfg cfg;
    struct core_err err;
    int rc = parse_common(argc, argv, "config", config_help, &config, NULL);

    if (rc != 0)
        return rc < 0 ? 0 : rc;
    core_err_clear(&err);
    if (core_cli_load_config(&cfg, config, &err) != 0) {
        core_cfg_cleanup(&cfg);
        return core_cli_fail(&err);
    }
    core_cfg_print(&cfg, stdout);
    core_cfg_cleanup(&cfg);
    return 0;
}

/* ======================= dispatch ======================= */

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("janseva %s\n", JANSEVA_VERSION);
    return 0;
}

static const struct command commands[] = {
    {"serve", cmd_serve, "run the service (webhook endpoint, router)"},
    {"parse-webhook", gw_cli_parse_webhook, "print the events of a webhook body as JSON lines"},
    {"send", gw_cli_send, "queue a WhatsApp message (operators; same rules as all sends)"},
    {"import", grp_cli_import, "import a level of the police hierarchy, or officers, from CSV"},
    {"broadcast", grp_cli_broadcast, "officer alerts: preview, create, confirm, status, cancel"},
    {"group", grp_groupcli_main, "a village group's settings (relay=each|digest) and costs"},
    {"digest", grp_groupcli_digest, "send the daily digests of groups in digest mode now"},
    {"keys", cry_cli_keys, "key directory: init, status, rotate, init-reveal"},
    {"review", grp_review_cli_main, "held posts: list, show, approve, reject; mute or ban authors"},
    {"inbox", grp_review_inbox_cli_main, "the police inbox of a thana: reports from groups"},
    {"tip", grp_tipcli_main, "secret tips: cases, replies, the two-custodian reveal"},
    {"audit", cry_cli_audit, "signed audit log: verify, export, checkpoint"},
    {"config", cmd_config, "check the settings and print them (secrets masked)"},
    {"train", mod_cli_train, "train a moderation model from labelled posts"},
    {"classify", mod_cli_classify, "moderate posts from stdin: one JSON verdict per line"},
    {"eval", mod_cli_eval, "measure moderation quality on labelled posts"},
    {"version", cmd_version, "print the version"},
};

static void usage(FILE *out)
{
    size_t i;

    fprintf(out, "Usage: janseva COMMAND [OPTIONS]\n\n"
                 "janseva runs a police WhatsApp number for Mission Jan Seva: moderated\n"
                 "village groups, officer alerts and protected tips (see README.md).\n\n"
                 "Commands:\n");
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-15s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'janseva COMMAND --help' for a command's options.\n"
                 "Exit status follows sysexits(3): 64 usage, 65 bad data, 69 service\n"
                 "unavailable, 78 configuration.\n");
}

int main(int argc, char **argv)
{
    size_t i;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sodium_init() < 0) {
        fprintf(stderr, "janseva: libsodium failed to initialise\n");
        return CORE_EX_SOFTWARE;
    }
    /* libgfshare's random hook, before anything splits or recombines */
    cry_reveal_init();
    if (argc < 2) {
        usage(stderr);
        return CORE_EX_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(0, NULL);
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "janseva: unknown command '%s' (see 'janseva --help')\n", argv[1]);
    return CORE_EX_USAGE;
}
