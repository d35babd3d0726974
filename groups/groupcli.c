/*
 * groups/groupcli.c - `janseva group set|show` and `janseva digest run`
 * (see groupcli.h).
 */
#include "groups/groupcli.h"
#include "core/cli.h"
#include "core/log.h"
#include "core/redis.h"
#include "core/util.h"
#include "crypto/keys.h"
#include "groups/broadcast.h"
#include "groups/digest.h"
#include "groups/hier.h"
#include "groups/member.h"
#include "groups/relay.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char group_help[] =
    "Usage: janseva group COMMAND CODE [options]\n"
    "\n"
    "The settings of a village group (locality CODE) and its relay numbers\n"
    "(docs/groups.md, \"Relay economics\").\n"
    "\n"
    "Commands:\n"
    "  set CODE relay=each|digest   how members outside their 24-hour window\n"
    "                               get the group's posts: each = one template\n"
    "                               per post (default); digest = one template a\n"
    "                               day at JANSEVA_DIGEST_HOUR with the day's\n"
    "                               posts (members inside the window still get\n"
    "                               every post at once, free)\n"
    "  show CODE                    the settings, members, today's relay cost\n"
    "                               and counts, the pending digest\n"
    "\n"
    "Options:\n"
    "  -j, --json           print JSON instead of text (show)\n"
    "  -c, --config FILE    settings file (Redis address); also $JANSEVA_CONFIG\n"
    "  -h, --help           show this help\n"
    "\n"
    "Exit status: 0 done; 64 usage; 65 bad setting or value; 66 no such\n"
    "village group; 69 Redis unavailable; 78 settings.\n";

static const char digest_help[] =
    "Usage: janseva digest run [--day YYYYMMDD] [--config FILE] [CODE]\n"
    "\n"
    "Send the daily digests of the groups in digest mode now: one template\n"
    "(JANSEVA_DIGEST_TEMPLATE) per member who was outside the 24-hour window\n"
    "for one of the day's posts and still receives the group's messages,\n"
    "within the group's daily budget. `janseva serve` does this by itself\n"
    "every day at JANSEVA_DIGEST_HOUR local time; running it again, or after\n"
    "the service, queues nothing twice (a digest is sent once per group and\n"
    "day; an interrupted one resumes where it stopped). A day sent before its\n"
    "time is closed for the groups sent: posts noted later that day get no\n"
    "digest (a warning says so).\n"
    "\n"
    "Options:\n"
    "  -d, --day YYYYMMDD   the digest day (default: the latest whose time has\n"
    "                       come: today after JANSEVA_DIGEST_HOUR, else\n"
    "                       yesterday)\n"
    "  -c, --config FILE    settings file; also $JANSEVA_CONFIG\n"
    "  -h, --help           show this help\n"
    "CODE: only this group (default: every group with a digest that day).\n"
    "Progress goes to stderr, the totals to stdout.\n"
    "\n"
    "Exit status: 0 done; 64 usage; 65 bad day; 66 no such village group;\n"
    "69 Redis unavailable; 78 settings or keys.\n";

/* Settings and a Redis connection; -1 after printing the error. */
static int open_redis(const char *config, struct core_cfg *cfg, struct core_redis **r,
                      struct core_err *err)
{
    struct core_redis_opts ro;

    core_err_clear(err);
    if (core_cli_load_config(cfg, config, err) != 0)
        return -1;
    ro.addr = cfg->redis;
    ro.user = cfg->redis_user;
    ro.password = cfg->redis_password;
    ro.timeout_ms = cfg->redis_timeout_ms;
    *r = core_redis_new(&ro);
    return 0;
}

/* Check that `code` is a locality: 0, or -1 with CORE_EX_NOINPUT. */
static int locality(struct core_redis *r, const char *code, struct grp_unit *u,
                    struct core_err *err)
{
    int found;

    if (!grp_code_ok(code, strlen(code)))
        return core_err_set(err, CORE_EX_NOINPUT, "no village group '%.40s'", code);
    found = grp_unit_get(r, code, u, err);
    if (found < 0)
        return -1;
    if (found == 0)
        return core_err_set(err, CORE_EX_NOINPUT, "no village group '%s'", code);
    if (u->kind != GRP_LOCALITY) {
        core_err_set(err, CORE_EX_NOINPUT, "'%s' is a %s, not a village group", code,
                     grp_kind_name(u->kind));
        grp_unit_cleanup(u);
        return -1;
    }
    return 0;
}

static int group_set(struct core_redis *r, const char *code, const char *setting,
                     struct core_err *err)
{
    const char *eq = strchr(setting, '=');
    enum grp_relay_mode m;

    if (eq == NULL || (size_t)(eq - setting) != strlen("relay") ||
        strncmp(setting, "relay", 5) != 0) {
        if (eq == NULL)
            return core_err_set(err, CORE_EX_USAGE, "expected NAME=VALUE, e.g. relay=digest");
        return core_err_set(err, CORE_EX_DATAERR, "unknown group setting '%.*s' (relay)",
                            (int)(eq - setting > 40 ? 40 : eq - setting), setting);
    }
    if (grp_relay_mode_parse(eq + 1, &m) != 0)
        return core_err_set(err, CORE_EX_DATAERR, "relay must be each or digest, not '%.20s'",
                            eq + 1);
    if (grp_relay_mode_set(r, code, m, err) != 0)
        return -1;
    printf("group %s: relay = %s\n", code, grp_relay_mode_name(m));
    return 0;
}

static int group_show(struct core_redis *r, const struct core_cfg *cfg, const char *code,
                      int as_json, struct core_err *err)
{
    struct grp_unit u;
    enum grp_relay_mode m;
    long long members;
    long long cost = 0, charged = 0, queued = 0, skipped = 0;
    long long posts[2] = {0, 0}, rcpt[2] = {0, 0};
    bool done[2] = {false, false};
    char days[2][GRP_DIGEST_DAY_LEN];
    char money[32];
    int64_t now = core_now_ms() / 1000;
    json_t *j;

    if (locality(r, code, &u, err) != 0)
        return -1;
    members = grp_member_group_count(r, code, err);
    if (members < 0 || grp_relay_mode_get(r, code, &m, err) != 0 ||
        grp_relay_day(r, code, now, &cost, &charged, &queued, &skipped, err) != 0)
        goto fail;
    grp_digest_day(now, cfg->digest_hour, cfg->digest_utc_offset_min, days[0]);
    grp_digest_due_day(now, cfg->digest_hour, cfg->digest_utc_offset_min, days[1]);
    for (int i = 0; i < 2; i++) {
        if (grp_digest_info(r, code, days[i], &posts[i], &rcpt[i], &done[i], err) != 0)
            goto fail;
    }
    grp_bc_money(cost, money, sizeof money);
    j = json_pack("{s:s,s:s,s:s,s:I,s:{s:s},s:{s:s,s:I,s:I,s:I,s:I}}", "code", code, "name_en",
                  u.name_en != NULL ? u.name_en : "", "name_hi",
                  u.name_hi != NULL ? u.name_hi : "", "members", (json_int_t)members,
                  "settings", "relay", grp_relay_mode_name(m), "today", "cost_inr", money,
                  "charged", (json_int_t)charged, "queued", (json_int_t)queued, "skipped",
                  (json_int_t)skipped, "cost", (json_int_t)cost);
    json_object_set_new(j, "digest",
                        json_pack("{s:{s:s,s:I,s:I},s:{s:s,s:I,s:I,s:b}}", "collecting", "day",
                                  days[0], "posts", (json_int_t)posts[0], "members",
                                  (json_int_t)rcpt[0], "due", "day", days[1], "posts",
                                  (json_int_t)posts[1], "members", (json_int_t)rcpt[1],
                                  "sent", done[1]));
    if (as_json) {
        char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

        if (t != NULL)
            puts(t);
        free(t);
    } else {
        printf("group %s: %s / %s, %lld members\n", code, u.name_en != NULL ? u.name_en : "",
               u.name_hi != NULL ? u.name_hi : "", members);
        printf("relay = %s\n", grp_relay_mode_name(m));
        printf("today (UTC): relay cost INR %s of INR %ld.%02ld budget; %lld queued, %lld "
               "charged, %lld skipped over budget\n",
               money, cfg->post_daily_budget / CORE_CFG_MONEY_SCALE,
               cfg->post_daily_budget % CORE_CFG_MONEY_SCALE / 100, queued, charged, skipped);
        printf("digest %s (sent at %02d:00): %lld posts, %lld members outside the window\n",
               days[0], cfg->digest_hour, posts[0], rcpt[0]);
        if (strcmp(days[0], days[1]) != 0)
            printf("digest %s: %lld posts, %lld members, %s\n", days[1], posts[1], rcpt[1],
                   done[1] ? "sent" : posts[1] > 0 ? "not sent yet" : "nothing to send");
    }
    json_decref(j);
    grp_unit_cleanup(&u);
    return 0;
fail:
    grp_unit_cleanup(&u);
    return -1;
}

int grp_groupcli_main(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL;
    const char *cmd;
    int as_json = 0;
    struct core_cfg cfg;
    struct core_err err;
    struct core_redis *r = NULL;
    int c;
    int rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "jc:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            as_json = 1;
            break;
        case 'c':
            config = optarg;
            break;
        case 'h':
            fputs(group_help, stdout);
            return 0;
        default:
            return core_cli_usage_error("group", "unknown option");
        }
    }
    if (optind >= argc)
        return core_cli_usage_error("group", "expects a command: set or show");
    cmd = argv[optind];
    if (strcmp(cmd, "set") == 0) {
        if (argc - optind != 3)
            return core_cli_usage_error("group", "set expects CODE relay=each|digest");
        if (strchr(argv[optind + 2], '=') == NULL)
            return core_cli_usage_error("group", "expected NAME=VALUE, e.g. relay=digest");
    } else if (strcmp(cmd, "show") == 0) {
        if (argc - optind != 2)
            return core_cli_usage_error("group", "show expects CODE");
    } else {
        return core_cli_usage_error("group", "unknown command '%s' (set, show)", cmd);
    }
    if (open_redis(config, &cfg, &r, &err) != 0) {
        rc = core_cli_fail(&err);
        goto out;
    }
    if (strcmp(cmd, "set") == 0)
        rc = group_set(r, argv[optind + 1], argv[optind + 2], &err);
    else
        rc = group_show(r, &cfg, argv[optind + 1], as_json, &err);
    if (rc != 0)
        rc = core_cli_fail(&err);
out:
    core_redis_free(r);
    core_cfg_cleanup(&cfg);
    return rc;
}

int grp_groupcli_digest(int argc, char **argv)
{
    static const struct option opts[] = {{"day", required_argument, NULL, 'd'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL;
    const char *day_arg = NULL;
    const char *code = NULL;
    char day[GRP_DIGEST_DAY_LEN];
    struct grp_digest_opts o;
    struct grp_digest_stats st;
    struct core_cfg cfg;
    struct core_err err;
    struct core_redis *r = NULL;
    struct cry_keys *keys = NULL;
    int64_t now;
    int c;
    int rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "d:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            day_arg = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'h':
            fputs(digest_help, stdout);
            return 0;
        default:
            return core_cli_usage_error("digest", "unknown option");
        }
    }
    if (optind >= argc || strcmp(argv[optind], "run") != 0)
        return core_cli_usage_error("digest", "expects the command run");
    if (argc - optind > 2)
        return core_cli_usage_error("digest", "run takes at most one CODE");
    if (argc - optind == 2)
        code = argv[optind + 1];
    if (day_arg != NULL && !grp_digest_day_ok(day_arg)) {
        fprintf(stderr, "janseva: bad day '%.20s' (YYYYMMDD)\n", day_arg);
        return CORE_EX_DATAERR;
    }
    memset(&cfg, 0, sizeof cfg);
    if (open_redis(config, &cfg, &r, &err) != 0) {
        rc = core_cli_fail(&err);
        goto out;
    }
    now = core_now_ms() / 1000;
    if (day_arg != NULL)
        snprintf(day, sizeof day, "%s", day_arg);
    else
        grp_digest_due_day(now, cfg.digest_hour, cfg.digest_utc_offset_min, day);
    {
        char collecting[GRP_DIGEST_DAY_LEN];

        grp_digest_day(now, cfg.digest_hour, cfg.digest_utc_offset_min, collecting);
        if (strcmp(day, collecting) >= 0)
            fprintf(stderr, "janseva digest: warning: %s is still collecting posts until "
                            "%02d:00; a group sent now gets no second digest that day\n",
                    day, cfg.digest_hour);
    }
    grp_digest_opts_from_cfg(&o, &cfg);
    memset(&st, 0, sizeof st);
    keys = cry_keys_load_configured(cfg.keys_dir, NULL, &err);
    if (keys == NULL || cry_keys_refresh(keys, r, &err) != 0) {
        rc = core_cli_fail(&err);
        goto out;
    }
    if (code != NULL) {
        struct grp_unit u;

        rc = locality(r, code, &u, &err);
        if (rc == 0) {
            grp_unit_cleanup(&u);
            rc = grp_digest_run_group(r, keys, &o, code, day, now, &st, &err);
            if (rc == 0)
                fprintf(stderr, "digest %s %s: %s%ld posts, %ld queued, %ld over budget\n", day,
                        code, st.already_done ? "already sent; " : "", st.posts, st.queued,
                        st.skipped_budget);
        }
    } else {
        rc = grp_digest_run_day(r, keys, &o, day, now, stderr, &st, &err);
    }
    if (rc != 0) {
        rc = core_cli_fail(&err);
        goto out;
    }
    {
        char money[32];

        grp_bc_money(st.cost, money, sizeof money);
        printf("digest %s: %ld group%s sent (%ld already), %ld posts; %ld queued, %ld charged "
               "(INR %s), %ld over budget, %ld no longer in the group\n",
               day, st.groups, st.groups == 1 ? "" : "s", st.already_done, st.posts, st.queued,
               st.charged, money, st.skipped_budget, st.not_receiving);
    }
out:
    cry_keys_free(keys);
    core_redis_free(r);
    core_cfg_cleanup(&cfg);
    return rc;
}
