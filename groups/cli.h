/*
 * groups/cli.h - groups subcommands.
 */
#ifndef JANSEVA_GROUPS_CLI_H
#define JANSEVA_GROUPS_CLI_H

/* janseva import --kind KIND [--dry-run] [--config FILE] FILE.csv */
int grp_cli_import(int argc, char **argv);

#endif
