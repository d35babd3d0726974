/*
 * moderation/cli.h - `janseva train`, `janseva classify` and `janseva
 * eval` (docs/moderation.md describes them for operators). Each takes the
 * argv of its subcommand (argv[0] is the subcommand name) and returns the
 * exit status: 0, 64 usage, 65 bad input data (one line on stderr naming
 * the file and line; nothing written), 66 unreadable input, 74 output
 * error.
 */
#ifndef JANSEVA_MODERATION_CLI_H
#define JANSEVA_MODERATION_CLI_H

int mod_cli_train(int argc, char **argv);
int mod_cli_classify(int argc, char **argv);
int mod_cli_eval(int argc, char **argv);

#endif
