/*
 * crypto/revealcli.h - `janseva keys init-reveal` (the reveal key and its
 * custodians' share files; see crypto/reveal.h).
 */
#ifndef JANSEVA_CRYPTO_REVEALCLI_H
#define JANSEVA_CRYPTO_REVEALCLI_H

/* `janseva keys init-reveal ...`: argv[0] is "init-reveal". Returns the
 * exit status. */
int cry_reveal_cli_init(int argc, char **argv);

#endif
