/*
 * crypto/cli.h - the `janseva keys` and `janseva audit` subcommands.
 *
 *   janseva keys init [--dir DIR]        create a key directory
 *   janseva keys status                  key ids, versions, dates (no key material)
 *   janseva keys rotate [--status]       new data-key version + re-encryption
 *   janseva keys init-reveal ...         the reveal key for tips (revealcli.h)
 *   janseva audit verify [--from ID] [--file FILE] [--pubkey HEX]
 *   janseva audit export [--out FILE]
 *   janseva audit checkpoint
 *
 * Exit status (sysexits): 0 ok; 64 usage; 65 audit log broken or records
 * that do not open; 69 Redis unavailable; 73 key directory exists (init);
 * 75 another rotation is running; 78 key directory missing, incomplete or
 * too open.
 */
#ifndef JANSEVA_CRYPTO_CLI_H
#define JANSEVA_CRYPTO_CLI_H

#include <stddef.h>

/* `janseva keys ...`: argv[0] is "keys". Returns the exit status. */
int cry_cli_keys(int argc, char **argv);

/* `janseva audit ...`: argv[0] is "audit". Returns the exit status. */
int cry_cli_audit(int argc, char **argv);

/* The audit actor of a command-line user: "cli:<login name>". */
void cry_cli_actor(char *out, size_t n);

#endif
