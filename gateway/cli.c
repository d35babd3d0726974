/*
 * gateway/cli.c - `janseva parse-webhook` (see cli.h).
 */
#include "gateway/cli.h"
#include "core/buf.h"
#include "core/cli.h"
#include "gateway/webhook.h"
#include "core/util.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "gateway/dispatch.h"
#include "gateway/outbox.h"

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

/* ======================= janseva send ======================= */

static const char send_help[] =
    "Usage: janseva send --to ID (--text TEXT | --template NAME) [options]\n"
    "\n"
    "Queue one WhatsApp message from the police number, through the same outbox\n"
    "as every other message: priority lanes, pacing, the 24-hour window and\n"
    "retries apply. ID is the recipient's WhatsApp number (digits, country code\n"
    "first, e.g. 9198xxxxxxxx) or business-scoped user id (e.g. IN.1234...).\n"
    "\n"
    "With --text only, the message is free-form: it is sent only inside the\n"
    "recipient's 24-hour window (else it is given up). With --template it is a\n"
    "template; with both, the text is sent inside the window and the template\n"
    "outside it.\n"
    "\n"
    "Options:\n"
    "  -t, --to ID          recipient (required)\n"
    "  -m, --text TEXT      free-form text (up to 4096 characters)\n"
    "  -T, --template NAME  approved template name\n"
    "  -L, --lang CODE      template language (default hi)\n"
    "  -P, --param TEXT     template body parameter, repeatable, in order\n"
    "  -f, --from ID        business phone_number_id (default: the first configured)\n"
    "  -l, --lane LANE      reply (default), alert or bulk\n"
    "  -k, --key KEY        idempotency key (default: random); the same key is sent once\n"
    "  -w, --wait SECONDS   wait until WhatsApp reports the message sent, delivered,\n"
    "                       read or failed, and print the state\n"
    "  -c, --config FILE    settings file; also $JANSEVA_CONFIG\n"
    "  -h, --help           show this help\n"
    "\n"
    "Prints the message's key and member id (never the number). Exit status: 0\n"
    "queued (with --wait: sent or better); 64 usage; 65 bad message; 69 Redis\n"
    "unavailable, or with --wait the message failed; 75 --wait timed out;\n"
    "78 settings or keys.\n";

#define MAX_PARAMS 16

static json_t *template_message(const char *name, const char *lang, const char *const *params,
                                size_t n)
{
    json_t *t = json_pack("{s:s,s:{s:s}}", "name", name, "language", "code", lang);

    if (n > 0) {
        json_t *ps = json_array();

        for (size_t i = 0; i < n; i++)
            json_array_append_new(ps, json_pack("{s:s,s:s}", "type", "text", "text", params[i]));
        json_object_set_new(t, "components",
                            json_pack("[{s:s,s:o}]", "type", "body", "parameters", ps));
    }
    return json_pack("{s:s,s:o}", "type", "template", "template", t);
}

int gw_cli_send(int argc, char **argv)
{
    static const struct option opts[] = {
        {"to", required_argument, NULL, 't'},       {"text", required_argument, NULL, 'm'},
        {"template", required_argument, NULL, 'T'}, {"lang", required_argument, NULL, 'L'},
        {"param", required_argument, NULL, 'P'},    {"from", required_argument, NULL, 'f'},
        {"lane", required_argument, NULL, 'l'},     {"key", required_argument, NULL, 'k'},
        {"wait", required_argument, NULL, 'w'},     {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    const char *to = NULL, *text = NULL, *tpl = NULL, *lang = "hi", *from = NULL;
    const char *lane_s = "reply", *key = NULL, *config = NULL;
    const char *params[MAX_PARAMS];
    size_t n_params = 0;
    int64_t wait_s = 0;
    char key_buf[64];
    char kh[GW_KEY_HASH_LEN];
    char mid[CRY_MID_LEN];
    struct core_cfg cfg;
    struct core_err err;
    struct cry_keys *keys = NULL;
    struct cry_identity *ident = NULL;
    struct core_redis *r = NULL;
    json_t *message = NULL;
    json_t *fallback = NULL;
    struct gw_outmsg m;
    enum gw_lane lane = GW_LANE_REPLY;
    int created = 0;
    int dup = 0;
    int c;
    int rc = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "t:m:T:L:P:f:l:k:w:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 't': to = optarg; break;
        case 'm': text = optarg; break;
        case 'T': tpl = optarg; break;
        case 'L': lang = optarg; break;
        case 'P':
            if (n_params == MAX_PARAMS)
                return core_cli_usage_error("send", "at most %d --param", MAX_PARAMS);
            params[n_params++] = optarg;
            break;
        case 'f': from = optarg; break;
        case 'l': lane_s = optarg; break;
        case 'k': key = optarg; break;
        case 'w':
            if (core_parse_i64(optarg, &wait_s) != 0 || wait_s < 1 || wait_s > 3600)
                return core_cli_usage_error("send", "--wait takes 1-3600 seconds");
            break;
        case 'c': config = optarg; break;
        case 'h':
            fputs(send_help, stdout);
            return 0;
        default:
            return core_cli_usage_error("send", "unknown option");
        }
    }
    if (optind < argc)
        return core_cli_usage_error("send", "unexpected argument '%s'", argv[optind]);
    if (to == NULL)
        return core_cli_usage_error("send", "--to is required");
    if (text == NULL && tpl == NULL)
        return core_cli_usage_error("send", "give --text, --template or both");
    if (!gw_is_wa_id(to) && !gw_is_bsuid(to))
        return core_cli_usage_error("send", "--to must be digits (country code first) or a "
                                            "business-scoped user id");
    if (text != NULL && (text[0] == '\0' || strlen(text) > 4096 * 4))
        return core_cli_usage_error("send", "--text must be 1-4096 characters");
    for (int l = 0; l < GW_LANES; l++) {
        if (strcmp(lane_s, gw_lane_name((enum gw_lane)l)) == 0)
            lane = (enum gw_lane)l;
    }
    if (strcmp(lane_s, gw_lane_name(lane)) != 0)
        return core_cli_usage_error("send", "--lane is reply, alert or bulk");
    if (key == NULL) {
        char rnd[CORE_REQ_ID_LEN];

        core_req_id(rnd);
        snprintf(key_buf, sizeof key_buf, "cli:%s", rnd);
        key = key_buf;
    }
    core_err_clear(&err);
    if (core_cli_load_config(&cfg, config, &err) != 0)
        goto fail;
    if (from == NULL) {
        if (cfg.n_phone_numbers == 0) {
            core_err_set(&err, CORE_EX_CONFIG,
                         "config: JANSEVA_PHONE_NUMBER_ID is not set (or give --from)");
            goto fail;
        }
        from = cfg.phone_numbers[0];
    }
    keys = cry_keys_load_configured(cfg.keys_dir, NULL, &err);
    if (keys == NULL)
        goto fail;
    {
        struct core_redis_opts ro = {cfg.redis, cfg.redis_user, cfg.redis_password,
                                     cfg.redis_timeout_ms};

        r = core_redis_new(&ro);
    }
    if (cry_keys_refresh(keys, r, &err) != 0)
        goto fail;
    ident = cry_identity_new(keys);
    if (cry_identity_resolve(ident, r, gw_is_wa_id(to) ? to : NULL,
                             gw_is_bsuid(to) ? to : NULL, NULL, 0, mid, &created, &err) != 0)
        goto fail;
    if (text != NULL)
        message = json_pack("{s:s,s:{s:s,s:b}}", "type", "text", "text", "body", text,
                            "preview_url", 0);
    if (tpl != NULL) {
        json_t *t = template_message(tpl, lang, params, n_params);

        if (message == NULL)
            message = t;
        else
            fallback = t;
    }
    memset(&m, 0, sizeof m);
    m.key = key;
    m.number = from;
    m.lane = lane;
    m.mid = mid;
    m.message = message;
    m.fallback = fallback;
    if (gw_outbox_enqueue(r, keys, &m, &dup, &err) != 0)
        goto fail;
    gw_outbox_key_hash(key, kh);
    printf("%s message %s to member %s%s (lane %s)\n", dup ? "already queued:" : "queued",
           kh, mid, created ? " (new)" : "", gw_lane_name(lane));
    if (wait_s > 0) {
        int64_t end = core_mono_ms() + wait_s * 1000;
        char st[32] = "queued";

        for (;;) {
            if (gw_dispatch_state(r, key, NULL, st, sizeof st, &err) != 0)
                goto fail;
            if (strcmp(st, "sent") == 0 || strcmp(st, "delivered") == 0 ||
                strcmp(st, "read") == 0 || strcmp(st, "failed") == 0 ||
                strcmp(st, "superseded") == 0 || core_mono_ms() >= end)
                break;
            core_sleep_ms(200);
        }
        printf("state: %s\n", st);
        rc = strcmp(st, "failed") == 0                                      ? CORE_EX_UNAVAILABLE
             : strcmp(st, "queued") == 0 || strcmp(st, "sending") == 0 ||
                       strcmp(st, "accepted") == 0 || strcmp(st, "unknown") == 0
                 ? CORE_EX_TEMPFAIL
                 : 0;
    }
    goto out;
fail:
    rc = core_cli_fail(&err);
out:
    json_decref(message);
    json_decref(fallback);
    cry_identity_free(ident);
    core_redis_free(r);
    cry_keys_free(keys);
    core_cfg_cleanup(&cfg);
    return rc;
}
