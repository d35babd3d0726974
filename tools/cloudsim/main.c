/*
 * tools/cloudsim/main.c - the cloudsim command: parse the options, load the
 * templates, start the webhook emitter and the HTTP server, print
 * "listening on HOST:PORT" on stdout, and run until SIGTERM or SIGINT.
 * Everything else lives in the sim_* modules; docs/cloudsim.md is the
 * contract.
 */
#include "core/err.h"
#include "core/httpd.h"
#include "core/log.h"
#include "core/version.h"
#include "tools/cloudsim/sim_api.h"
#include "tools/cloudsim/sim_cfg.h"
#include "tools/cloudsim/sim_hooks.h"
#include "tools/cloudsim/sim_state.h"
#include "tools/cloudsim/sim_templates.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define SIM_MODULE "cloudsim"

static int fail(const struct core_err *err)
{
    fprintf(stderr, "cloudsim: %s\n", err->msg);
    return err->code != 0 ? err->code : CORE_EX_SOFTWARE;
}

/* Host part of a URL for the log: never the path or query (they may hold tokens). */
static void url_host(const char *url, char *out, size_t n)
{
    const char *p = url != NULL ? strstr(url, "://") : NULL;
    size_t len;

    if (p == NULL) {
        snprintf(out, n, "none");
        return;
    }
    p += 3;
    len = strcspn(p, "/?#");
    snprintf(out, n, "%.*s", (int)len, p);
}

static int run(const struct sim_cfg *cfg, struct core_err *err)
{
    struct sim *s = sim_new(cfg);
    struct core_httpd *httpd = NULL;
    sigset_t stop_set;
    char host[128];
    int sig = 0;
    int rc = -1;

    if (cfg->templates_file != NULL) {
        int n = sim_templates_load(s->templates, cfg->templates_file, err);

        if (n < 0)
            goto out;
        core_log_kv(CORE_LOG_INFO, SIM_MODULE, NULL, "templates loaded",
                    json_pack("{s:i}", "templates", n));
    }
    /* Signals are taken by sigwait(); every thread started below inherits the mask. */
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (sim_hooks_start(s->hooks, err) != 0)
        goto out;
    httpd = core_httpd_new();
    core_httpd_enable_delays(httpd);
    sim_api_register(s, httpd);
    if (core_httpd_start(httpd, cfg->bind, cfg->port, cfg->threads, err) != 0)
        goto out;
    s->port = core_httpd_port(httpd);
    if (cfg->public_url != NULL)
        snprintf(s->base_url, sizeof s->base_url, "%s", cfg->public_url);
    else if (strchr(cfg->bind, ':') != NULL)
        snprintf(s->base_url, sizeof s->base_url, "http://[%s]:%d", cfg->bind, s->port);
    else
        snprintf(s->base_url, sizeof s->base_url, "http://%s:%d", cfg->bind, s->port);
    url_host(cfg->webhook_url, host, sizeof host);
    if (cfg->webhook_url != NULL && cfg->app_secret == NULL)
        core_log_warn(SIM_MODULE, NULL, "no --app-secret: webhooks go out unsigned");
    core_log_kv(CORE_LOG_INFO, SIM_MODULE, NULL, "listening",
                json_pack("{s:s,s:s,s:i,s:i,s:s,s:I,s:I,s:I,s:I}", "version", JANSEVA_VERSION,
                          "bind", cfg->bind, "port", s->port, "threads", cfg->threads,
                          "webhook_host", host, "mps", (json_int_t)cfg->mps, "pair_spacing_ms",
                          (json_int_t)cfg->pair_spacing_ms, "window_hours",
                          (json_int_t)cfg->window_hours, "seed",
                          (json_int_t)(cfg->seed & INT64_MAX)));
    printf(strchr(cfg->bind, ':') != NULL ? "listening on [%s]:%d\n" : "listening on %s:%d\n",
           cfg->bind, s->port);
    fflush(stdout);
    sigwait(&stop_set, &sig);
    core_log_info(SIM_MODULE, NULL, "stopping on signal %d", sig);
    rc = 0;
out:
    core_httpd_free(httpd);
    sim_free(s);
    if (rc == 0)
        core_log_info(SIM_MODULE, NULL, "stopped");
    return rc;
}

int main(int argc, char **argv)
{
    struct sim_cfg cfg;
    struct core_err err;
    int rc;

    if (sodium_init() < 0) {
        fprintf(stderr, "cloudsim: libsodium failed to initialise\n");
        return CORE_EX_SOFTWARE;
    }
    core_err_clear(&err);
    rc = sim_cfg_parse(&cfg, argc, argv, &err);
    if (rc != 0) {
        sim_cfg_cleanup(&cfg);
        return rc > 0 ? 0 : fail(&err);
    }
    core_log_set_level(cfg.log_level);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        sim_cfg_cleanup(&cfg);
        fprintf(stderr, "cloudsim: libcurl failed to initialise\n");
        return CORE_EX_SOFTWARE;
    }
    json_object_seed(0);
    rc = run(&cfg, &err) == 0 ? 0 : fail(&err);
    curl_global_cleanup();
    sim_cfg_cleanup(&cfg);
    return rc;
}
