/*
 * core/cli.c - shared command-line helpers (see cli.h).
 */
#include "core/cli.h"
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

int core_cli_fail(const struct core_err *err)
{
    fprintf(stderr, "janseva: %s\n", err->msg[0] ? err->msg : "failed");
    return err->code != 0 ? err->code : CORE_EX_SOFTWARE;
}

int core_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "janseva %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'janseva %s --help')\n", cmd);
    return CORE_EX_USAGE;
}

int core_cli_load_config(struct core_cfg *cfg, const char *config_file, struct core_err *err)
{
    size_t i;

    if (core_cfg_load(cfg, config_file, err) != 0)
        return -1;
    core_log_set_level(cfg->log_level);
    for (i = 0; i < cfg->n_warnings; i++)
        core_log_warn("config", NULL, "%s", cfg->warnings[i]);
    return 0;
}
