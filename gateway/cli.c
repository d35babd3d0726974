/*
 * gateway/cli.c - `janseva parse-webhook` (see cli.h).
 */
#include "gateway/cli.h"
#include "core/buf.h"
#include "core/cli.h"
#include "gateway/webhook.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT (64L * 1024 * 1024)

static const char parse_help[] =
    "Usage: janseva parse-webhook [FILE|-]\n"
    "\n"
    "Parse one WhatsApp Cloud API webhook body (from FILE, or standard input\n"
    "when FILE is - or absent) and print one JSON object per event, in order.\n"
    "\n"
    "Every object has \"kind\" (message, status or error) and \"phone_number_id\".\n"
    "Messages add: id, from, user_id, name, timestamp, type, voice, text,\n"
    "reply_id, context_id, forwarded, frequently_forwarded, latitude, longitude,\n"
    "media_id, errors. Statuses add: id, status, recipient, timestamp, errors,\n"
    "pricing_category. Errors add: errors (codes).\n"
    "\n"
    "Exit status: 0 all events parsed; 65 the body is not a WhatsApp webhook\n"
    "(one line on stderr says why) or some events are malformed (each reported\n"
    "on stderr; the others are still printed); 66 FILE cannot be read.\n"
    "\n"
    "The output contains the personal data the body holds: handle it as such.\n";

static int read_all(FILE *f, struct core_buf *b)
{
    char chunk[65536];
    size_t n;

    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (core_buf_append(b, chunk, n) != 0)
            return -1;
    }
    return ferror(f) ? -1 : 0;
}

int gw_cli_parse_webhook(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    struct core_buf body;
    struct gw_webhook hook;
    struct core_err err;
    const char *path = "-";
    FILE *f;
    size_t i;
    int c;
    int rc = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(parse_help, stdout);
            return 0;
        }
        return core_cli_usage_error("parse-webhook", "unknown option");
    }
    if (argc - optind > 1)
        return core_cli_usage_error("parse-webhook", "expects at most one FILE");
    if (optind < argc)
        path = argv[optind];
    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "janseva: cannot read %s: %s\n", path, strerror(errno));
        return CORE_EX_NOINPUT;
    }
    core_buf_init(&body, (size_t)MAX_INPUT);
    if (read_all(f, &body) != 0) {
        fprintf(stderr, "janseva: cannot read %s (error or larger than %ld bytes)\n", path,
                MAX_INPUT);
        if (f != stdin)
            fclose(f);
        core_buf_cleanup(&body);
        return CORE_EX_NOINPUT;
    }
    if (f != stdin)
        fclose(f);
    core_err_clear(&err);
    if (gw_webhook_parse(&hook, core_buf_str(&body), body.len, &err) != 0) {
        gw_webhook_free(&hook);
        core_buf_cleanup(&body);
        return core_cli_fail(&err);
    }
    for (i = 0; i < hook.n_events; i++) {
        const struct gw_event *ev = &hook.events[i];

        if (ev->problem != NULL) {
            fprintf(stderr, "janseva: entry %zu change %zu %s %zu: %s\n", ev->entry, ev->change,
                    gw_event_kind_name(ev->kind), ev->index, ev->problem);
            rc = CORE_EX_DATAERR;
            continue;
        }
        {
            json_t *o = gw_event_to_json(ev);
            char *line =
                json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));

            if (line != NULL) {
                puts(line);
                free(line);
            }
            json_decref(o);
        }
    }
    gw_webhook_free(&hook);
    core_buf_cleanup(&body);
    if (fflush(stdout) != 0)
        return CORE_EX_IOERR;
    return rc;
}
