/*
 * gateway/cli.h - gateway subcommands.
 */
#ifndef JANSEVA_GATEWAY_CLI_H
#define JANSEVA_GATEWAY_CLI_H

/*
 * janseva parse-webhook [FILE|-]: print one JSON object per event. Exit 0;
 * 65 when the body is not a webhook or some event is malformed (reported on
 * stderr, the others still printed); 66 when FILE cannot be read.
 */
int gw_cli_parse_webhook(int argc, char **argv);

/*
 * janseva send --to ID (--text TEXT | --template NAME ...) [options]: queue
 * one message through the outbox (the same lanes, pacing and window rules as
 * everything else) and optionally wait for its delivery state.
 */
int gw_cli_send(int argc, char **argv);

#endif
