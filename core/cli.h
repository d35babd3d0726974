/*
 * core/cli.h - helpers every subcommand shares: one-line errors on stderr,
 * the --config/--help options, loading settings.
 */
#ifndef JANSEVA_CORE_CLI_H
#define JANSEVA_CORE_CLI_H

#include "core/config.h"
#include "core/err.h"

/* Print "janseva: <msg>" on stderr and return err->code (or 70). */
int core_cli_fail(const struct core_err *err);

/* Print "janseva <cmd>: <msg>" for a usage problem, then a hint to run
 * --help; returns 64. */
int core_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Load settings from `config_file` (NULL: $JANSEVA_CONFIG) and the
 * environment, apply the log level and log the loader's warnings. Returns 0
 * or -1 (err filled; cfg must still be cleaned up).
 */
int core_cli_load_config(struct core_cfg *cfg, const char *config_file, struct core_err *err);

#endif
