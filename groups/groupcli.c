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
#include "crypto/audit.h"
#include "crypto/cli.h"
#include "groups/digest.h"
#include "groups/gsettings.h"
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
    "village group; 69 Redis unavailable; 78 settings or keys (set needs the\n"
    "keys: every change is written to the audit log).\n";

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

static int group_set(struct core_redis *r, const struct core_cfg *cfg, const char *code,
                     const char *setting, struct core_err *err)
{
    const char *eq = strchr(setting, '=');
    char name[48];
    char actor[64];
    struct cry_keys *keys;
    struct cry_audit *audit;
    int changed = 0;
    int rc;

    if (eq == NULL)
        return core_err_set(err, CORE_EX_USAGE, "expected NAME=VALUE, e.g. relay=digest");
    snprintf(name, sizeof name, "%.*s", (int)(eq - setting > 40 ? 40 : eq - setting), setting);
    if (grp_gs_check(r, code, name, eq + 1, err) != 0)
        return -1;
    /* the change is audited: the keys sign the log's checkpoints */
    keys = cry_keys_load_configured(cfg->keys_dir, NULL, err);
    if (keys == NULL)
        return -1;
    if (cry_keys_refresh(keys, r, err) != 0) {
        cry_keys_free(keys);
        return -1;
    }
    audit = cry_audit_new(keys);
    cry_cli_actor(actor, sizeof actor);
    rc = grp_gs_set(r, audit, actor, code, name, eq + 1, &changed, err);
    cry_audit_free(audit);
    cry_keys_free(keys);
    if (rc != 0)
        return -1;
    printf("group %s: %s = %s%s\n", code, name, eq + 1, changed ? "" : " (unchanged)");
    return 0;
}

static int group_show(struct core_redis *r, const struct core_cfg *cfg, const char *code,
                      int as_json, struct core_err *err)
{
    json_t *j;
    json_t *today;
    json_t *dg;

    if (grp_gs_show(r, cfg, code, &j, err) != 0)
        return -1;
    if (as_json) {
        char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

        if (t != NULL)
            puts(t);
        free(t);
        json_decref(j);
        return 0;
    }
    today = json_object_get(j, "today");
    printf("group %s: %s / %s, %lld members\n", code,
           json_string_value(json_object_get(j, "name_en")),
           json_string_value(json_object_get(j, "name_hi")),
           (long long)json_integer_value(json_object_get(j, "members")));
    printf("relay = %s\n",
           json_string_value(json_object_get(json_object_get(j, "settings"), "relay")));
    printf("today (UTC): relay cost INR %s of INR %s budget; %lld queued, %lld charged, %lld "
           "skipped over budget\n",
           json_string_value(json_object_get(today, "cost_inr")),
           json_string_value(json_object_get(today, "budget_inr")),
           (long long)json_integer_value(json_object_get(today, "queued")),
           (long long)json_integer_value(json_object_get(today, "charged")),
           (long long)json_integer_value(json_object_get(today, "skipped")));
    dg = json_object_get(json_object_get(j, "digest"), "collecting");
    printf("digest %s (sent at %02lld:00): %lld posts, %lld members outside the window\n",
           json_string_value(json_object_get(dg, "day")),
           (long long)json_integer_value(json_object_get(dg, "hour")),
           (long long)json_integer_value(json_object_get(dg, "posts")),
           (long long)json_integer_value(json_object_get(dg, "members")));
    {
        json_t *due = json_object_get(json_object_get(j, "digest"), "due");
        const char *d0 = json_string_value(json_object_get(dg, "day"));
        const char *d1 = json_string_value(json_object_get(due, "day"));
        long long p1 = (long long)json_integer_value(json_object_get(due, "posts"));

        if (d0 != NULL && d1 != NULL && strcmp(d0, d1) != 0)
            printf("digest %s: %lld posts, %lld members, %s\n", d1, p1,
                   (long long)json_integer_value(json_object_get(due, "members")),
                   json_is_true(json_object_get(due, "sent")) ? "sent"
                   : p1 > 0                                   ? "not sent yet"
                                                              : "nothing to send");
    }
    json_decref(j);
    return 0;
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
        rc = group_set(r, &cfg, argv[optind + 1], argv[optind + 2], &err);
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
        rc = grp_gs_locality(r, code, &err);
        if (rc == 0) {
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
