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

#endif
