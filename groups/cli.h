/*
 * groups/cli.h - groups subcommands: import (hierarchy levels and officers)
 * and broadcast.
 */
#ifndef JANSEVA_GROUPS_CLI_H
#define JANSEVA_GROUPS_CLI_H

/* janseva import --kind KIND [--dry-run] [--config FILE] FILE.csv */
int grp_cli_import(int argc, char **argv);

/* janseva broadcast preview|create|confirm|status|cancel|list [options] */
int grp_cli_broadcast(int argc, char **argv);

#endif
