/*
 * groups/cli.c - `janseva import` (see cli.h and docs/hierarchy.md).
 */
#include "groups/cli.h"
#include "core/buf.h"
#include "core/cli.h"
#include "core/log.h"
#include "core/redis.h"
#include "core/util.h"
#include "crypto/audit.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "groups/broadcast.h"
#include "groups/hier.h"
#include "groups/import.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FILE (512L * 1024 * 1024)

static const char import_help[] =
    "Usage: janseva import --kind KIND [--dry-run] [--config FILE] FILE.csv\n"
    "\n"
    "Import one level of the police hierarchy, or the officers, from a UTF-8\n"
    "CSV file with a header row. KIND is state, district, thana, beat,\n"
    "locality or officer; import them in that order (a unit's parent, an\n"
    "officer's unit must exist). Columns (docs/hierarchy.md, docs/broadcasts.md):\n"
    "\n"
    "  all levels  code (required), name_en (required), name_hi, lat, lon\n"
    "  below state parent (required): the code of the unit one level up\n"
    "  locality    type (village|ward|habitation|polling_station|town|other),\n"
    "              pincode, population\n"
    "  officer     code, unit, role (beat|sho|district|hq: the unit's level is\n"
    "              beat, thana, district, state), name (designation), phone\n"
    "              (WhatsApp number with country code; stored only sealed,\n"
    "              needs the key directory JANSEVA_KEYS_DIR)\n"
    "\n"
    "Everything is checked before anything is written; each problem is printed\n"
    "as FILE:LINE:COLUMN: message and then nothing is imported. Rows are\n"
    "upserted: importing the same file again changes nothing.\n"
    "\n"
    "Options:\n"
    "  -k, --kind KIND     the level in the file\n"
    "  -n, --dry-run       check the file and report what would change\n"
    "  -c, --config FILE   settings file (Redis address); also $JANSEVA_CONFIG\n"
    "  -h, --help          show this help\n"
    "\n"
    "Exit status: 0 imported; 64 usage; 65 problems in the file (nothing\n"
    "imported); 66 the file cannot be read; 69 Redis unavailable; 78 settings.\n";

/* The audit actor of a command-line user: "cli:<login>". */
static void cli_actor(char *out, size_t n)
{
    const char *user = getenv("USER");

    if (user == NULL || user[0] == '\0' || strlen(user) > 32 ||
        strspn(user, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            strlen(user))
        user = "operator";
    snprintf(out, n, "cli:%s", user);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct core_buf b;
    char chunk[65536];
    size_t n;

    if (f == NULL)
        return NULL;
    core_buf_init(&b, (size_t)MAX_FILE);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (core_buf_append(&b, chunk, n) != 0) {
            errno = EFBIG;
            core_buf_cleanup(&b);
            fclose(f);
            return NULL;
        }
    }
    if (ferror(f)) {
        core_buf_cleanup(&b);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = b.len;
    return core_buf_steal(&b);
}

int grp_cli_import(int argc, char **argv)
{
    static const struct option opts[] = {{"kind", required_argument, NULL, 'k'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *kind_s = NULL;
    const char *config = NULL;
    int dry = 0;
    struct grp_import_opts o;
    struct grp_import_result res;
    enum grp_kind kind = GRP_LOCALITY;
    int officers;
    struct cry_keys *keys = NULL;
    struct cry_identity *ident = NULL;
    struct cry_audit *audit = NULL;
    struct core_cfg cfg;
    struct core_err err;
    struct core_redis *r = NULL;
    char *data;
    size_t len = 0;
    int64_t t0;
    int c;
    int rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "k:nc:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            kind_s = optarg;
            break;
        case 'n':
            dry = 1;
            break;
        case 'c':
            config = optarg;
            break;
        case 'h':
            fputs(import_help, stdout);
            return 0;
        default:
            return core_cli_usage_error("import", "unknown option");
        }
    }
    if (kind_s == NULL)
        return core_cli_usage_error("import", "--kind is required");
    officers = strcmp(kind_s, "officer") == 0;
    if (!officers && grp_kind_parse(kind_s, &kind) != 0)
        return core_cli_usage_error("import", "unknown kind '%s' (state, district, thana, "
                                              "beat, locality or officer)",
                                    kind_s);
    if (argc - optind != 1)
        return core_cli_usage_error("import", "expects exactly one FILE.csv");
    data = read_file(argv[optind], &len);
    if (data == NULL) {
        fprintf(stderr, "janseva: cannot read %s: %s\n", argv[optind], strerror(errno));
        return CORE_EX_NOINPUT;
    }
    core_err_clear(&err);
    if (core_cli_load_config(&cfg, config, &err) != 0) {
        free(data);
        core_cfg_cleanup(&cfg);
        return core_cli_fail(&err);
    }
    {
        struct core_redis_opts ro = {cfg.redis, cfg.redis_user, cfg.redis_password,
                                     cfg.redis_timeout_ms};

        r = core_redis_new(&ro);
    }
    grp_import_opts_init(&o, kind);
    o.dry_run = dry;
    o.progress = isatty(2) || len > 1024 * 1024 ? stderr : NULL;
    t0 = core_mono_ms();
    if (officers) {
        char actor[GRP_BC_ACTOR_MAX];

        o.progress = isatty(2) || len > 64 * 1024 ? stderr : NULL;
        keys = cry_keys_load_configured(cfg.keys_dir, NULL, &err);
        if (keys == NULL || cry_keys_refresh(keys, r, &err) != 0) {
            rc = -1;
        } else {
            ident = cry_identity_new(keys);
            audit = cry_audit_new(keys);
            cli_actor(actor, sizeof actor);
            rc = grp_import_officers(r, ident, audit, actor, argv[optind], data, len, &o, stderr,
                                     &res, &err);
        }
    } else {
        rc = grp_import(r, argv[optind], data, len, &o, stderr, &res, &err);
    }
    if (rc == 0) {
        printf("%s%s: %ld rows: %ld created, %ld updated, %ld unchanged (%.2f s)\n",
               dry ? "dry run: " : "", officers ? "officer" : grp_kind_name(kind), res.rows,
               res.created, res.updated, res.unchanged, (double)(core_mono_ms() - t0) / 1000.0);
    } else {
        rc = core_cli_fail(&err);
    }
    cry_audit_free(audit);
    cry_identity_free(ident);
    cry_keys_free(keys);
    core_redis_free(r);
    core_cfg_cleanup(&cfg);
    free(data);
    return rc;
}

/* ======================= janseva broadcast ======================= */

static const char broadcast_help[] =
    "Usage: janseva broadcast COMMAND [options]\n"
    "\n"
    "Officer alerts and operator broadcasts to the members of a unit (a\n"
    "locality, beat, thana, district or the state). A broadcast is a job: it\n"
    "is drafted with a preview, confirmed, then fanned out by the running\n"
    "service (janseva serve) in batches, resumable after a crash, with live\n"
    "counters and a final report (docs/broadcasts.md).\n"
    "\n"
    "Commands:\n"
    "  preview --scope CODE CONTENT   members, 24-hour window and estimated cost;\n"
    "                                 nothing is stored\n"
    "  create  --scope CODE CONTENT   store a draft and print its id and preview\n"
    "          [--confirm] [--watch]  (confirm at once; follow the fan-out)\n"
    "  confirm ID [--watch]           start the fan-out of draft ID\n"
    "  status  ID [--watch]           state, counters, final report\n"
    "  cancel  ID                     stop the fan-out (queued messages still go)\n"
    "  list    [--limit N]            the newest broadcasts\n"
    "\n"
    "CONTENT is one of:\n"
    "  -m, --text TEXT        one text for everybody (up to 900 characters)\n"
    "  --text-hi TEXT, --text-en TEXT   a text per member language\n"
    "  -T, --template NAME    an approved template, with -P/--param TEXT (repeat,\n"
    "                         in order), -L/--lang hi|en (default: each member's)\n"
    "                         and --category utility|marketing (default:\n"
    "                         JANSEVA_BROADCAST_CATEGORY)\n"
    "Texts go free-form to members inside their 24-hour window and as the\n"
    "template JANSEVA_BROADCAST_TEMPLATE outside it.\n"
    "\n"
    "Options:\n"
    "  -s, --scope CODE     unit to reach (an officer's default: their unit)\n"
    "  -o, --officer CODE   act as this officer: their jurisdiction applies and\n"
    "                       they get the final report on WhatsApp\n"
    "  -w, --watch          print progress every second until the fan-out ends\n"
    "  -n, --limit N        list at most N (default 20)\n"
    "  -j, --json           print JSON instead of text\n"
    "  -c, --config FILE    settings file; also $JANSEVA_CONFIG\n"
    "  -h, --help           show this help\n"
    "\n"
    "Exit status: 0 done; 64 usage; 65 bad request or not possible in the\n"
    "broadcast's state (expired, cancelled); 66 no such unit, broadcast or\n"
    "officer; 69 Redis unavailable; 77 outside the officer's jurisdiction;\n"
    "78 settings or keys.\n";

#define CLI_MAX_PARAMS 10

struct bc_cli {
    const char *cmd;
    const char *id;
    struct grp_bc_req req;
    const char *params[CLI_MAX_PARAMS];
    const char *officer;
    const char *config;
    int confirm;
    int watch;
    int json;
    long limit;
};

static void print_json(json_t *j)
{
    char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    if (t != NULL)
        puts(t);
    free(t);
    json_decref(j);
}

static void print_reach(const struct grp_bc_reach *r)
{
    char cost[32];

    grp_bc_money(r->cost, cost, sizeof cost);
    printf("scope: %s (%s) %s / %s, %ld localit%s\n", r->scope, grp_kind_name(r->kind),
           r->name_en, r->name_hi, r->localities, r->localities == 1 ? "y" : "ies");
    printf("members: %ld in the groups; %s%ld active, %ld of them inside the 24-hour window%s\n",
           r->members, r->estimated ? "about " : "", r->reach, r->in_window,
           r->estimated ? " (estimated from a sample)" : "");
    printf("estimated cost: INR %s (%ld %s templates at INR %ld.%04ld)\n", cost, r->charged,
           r->category, r->price / CORE_CFG_MONEY_SCALE, r->price % CORE_CFG_MONEY_SCALE);
}

static void print_status(const struct grp_bc_status *s)
{
    long long done = s->queued + s->skipped;

    printf("broadcast %s: %s (by %s)\n", s->id, s->state, s->creator);
    print_reach(&s->reach);
    printf("fan-out: %lld of about %ld members handled: %lld queued, %lld skipped (not active)\n",
           done, s->reach.members, s->queued, s->skipped);
    printf("delivery: %lld sent, %lld delivered, %lld read, %lld failed\n", s->sent,
           s->delivered, s->read, s->failed);
    if (s->report_ms > 0)
        printf("final report made%s\n", s->report_sent ? " and sent to the officer" : "");
}

static int terminal_fanout(const char *st)
{
    return strcmp(st, "confirmed") != 0 && strcmp(st, "running") != 0;
}

/* Follow the fan-out, one progress line a second. */
static enum grp_bc_rc watch(struct grp_bc *bc, struct core_redis *r,
                            const struct grp_bc_actor *who, const char *id,
                            struct grp_bc_status *st, struct core_err *err)
{
    for (;;) {
        enum grp_bc_rc rc = grp_bc_status(bc, r, who, id, st, err);
        long long done;

        if (rc != GRP_BC_OK)
            return rc;
        done = st->queued + st->skipped;
        fprintf(stderr, "broadcast %s: %s: %lld of about %ld members handled (%lld%%), %lld "
                        "queued, %lld sent\n",
                id, st->state, done, st->reach.members,
                st->reach.members > 0 ? done * 100 / st->reach.members : 100, st->queued,
                st->sent);
        if (terminal_fanout(st->state))
            return GRP_BC_OK;
        core_sleep_ms(1000);
    }
}

static int parse_bc_args(int argc, char **argv, struct bc_cli *c)
{
    static const struct option opts[] = {
        {"scope", required_argument, NULL, 's'},    {"text", required_argument, NULL, 'm'},
        {"text-hi", required_argument, NULL, 'H'},  {"text-en", required_argument, NULL, 'E'},
        {"template", required_argument, NULL, 'T'}, {"param", required_argument, NULL, 'P'},
        {"lang", required_argument, NULL, 'L'},     {"category", required_argument, NULL, 'K'},
        {"officer", required_argument, NULL, 'o'},  {"confirm", no_argument, NULL, 'y'},
        {"watch", no_argument, NULL, 'w'},          {"limit", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},           {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    int ch;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "s:m:H:E:T:P:L:K:o:ywn:jc:h", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            c->req.scope = optarg;
            break;
        case 'm':
            c->req.text = optarg;
            break;
        case 'H':
            c->req.text_hi = optarg;
            break;
        case 'E':
            c->req.text_en = optarg;
            break;
        case 'T':
            c->req.template_name = optarg;
            break;
        case 'P':
            if (c->req.n_params == CLI_MAX_PARAMS)
                return core_cli_usage_error("broadcast", "at most %d --param", CLI_MAX_PARAMS);
            c->params[c->req.n_params++] = optarg;
            break;
        case 'L':
            c->req.lang = optarg;
            break;
        case 'K':
            c->req.category = optarg;
            break;
        case 'o':
            c->officer = optarg;
            break;
        case 'y':
            c->confirm = 1;
            break;
        case 'w':
            c->watch = 1;
            break;
        case 'n': {
            int64_t v;

            if (core_parse_i64(optarg, &v) != 0 || v < 1 || v > 1000)
                return core_cli_usage_error("broadcast", "--limit takes 1-1000");
            c->limit = (long)v;
            break;
        }
        case 'j':
            c->json = 1;
            break;
        case 'c':
            c->config = optarg;
            break;
        case 'h':
            fputs(broadcast_help, stdout);
            return -1;
        default:
            return core_cli_usage_error("broadcast", "unknown option");
        }
    }
    c->req.params = c->params;
    return 0;
}

int grp_cli_broadcast(int argc, char **argv)
{
    static const char *const cmds[] = {"preview", "create", "confirm", "status", "cancel", "list"};
    struct bc_cli c;
    struct core_cfg cfg;
    struct core_err err;
    struct cry_keys *keys = NULL;
    struct cry_audit *audit = NULL;
    struct grp_bc *bc = NULL;
    struct core_redis *r = NULL;
    struct grp_bc_actor who;
    enum grp_bc_rc rc = GRP_BC_OK;
    char actor[GRP_BC_ACTOR_MAX];
    int needs_id;
    int is_content;
    int ok = 0;
    int exit_rc;

    memset(&c, 0, sizeof c);
    c.limit = 20;
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(broadcast_help, stdout);
        return 0;
    }
    if (argc < 2)
        return core_cli_usage_error("broadcast", "a command is required (preview, create, "
                                                 "confirm, status, cancel, list)");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        ok |= strcmp(argv[1], cmds[i]) == 0;
    if (!ok)
        return core_cli_usage_error("broadcast", "unknown command '%s'", argv[1]);
    c.cmd = argv[1];
    exit_rc = parse_bc_args(argc - 1, argv + 1, &c);
    if (exit_rc != 0)
        return exit_rc < 0 ? 0 : exit_rc;
    needs_id = strcmp(c.cmd, "confirm") == 0 || strcmp(c.cmd, "status") == 0 ||
               strcmp(c.cmd, "cancel") == 0;
    is_content = strcmp(c.cmd, "preview") == 0 || strcmp(c.cmd, "create") == 0;
    if (needs_id) {
        if (argc - 1 - optind != 1)
            return core_cli_usage_error("broadcast", "%s expects one broadcast id", c.cmd);
        c.id = argv[1 + optind];
    } else if (argc - 1 - optind != 0) {
        return core_cli_usage_error("broadcast", "unexpected argument '%s'", argv[1 + optind]);
    }
    if (!is_content && (c.req.scope != NULL || c.req.text != NULL || c.req.text_hi != NULL ||
                        c.req.text_en != NULL || c.req.template_name != NULL ||
                        c.req.n_params > 0 || c.req.lang != NULL || c.req.category != NULL))
        return core_cli_usage_error("broadcast", "%s takes no scope or content options", c.cmd);
    if (c.confirm && strcmp(c.cmd, "create") != 0)
        return core_cli_usage_error("broadcast", "--confirm belongs to create");
    if (c.watch && strcmp(c.cmd, "create") != 0 && strcmp(c.cmd, "confirm") != 0 &&
        strcmp(c.cmd, "status") != 0)
        return core_cli_usage_error("broadcast", "--watch belongs to create, confirm, status");
    if (is_content && c.req.scope == NULL && c.officer == NULL)
        return core_cli_usage_error("broadcast", "--scope is required");
    if (is_content && c.req.text == NULL && c.req.text_hi == NULL && c.req.text_en == NULL &&
        c.req.template_name == NULL)
        return core_cli_usage_error("broadcast", "give --text, --text-hi/--text-en or "
                                                 "--template");

    core_err_clear(&err);
    if (core_cli_load_config(&cfg, c.config, &err) != 0) {
        core_cfg_cleanup(&cfg);
        return core_cli_fail(&err);
    }
    {
        struct core_redis_opts ro = {cfg.redis, cfg.redis_user, cfg.redis_password,
                                     cfg.redis_timeout_ms};

        r = core_redis_new(&ro);
    }
    keys = cry_keys_load_configured(cfg.keys_dir, NULL, &err);
    if (keys == NULL || cry_keys_refresh(keys, r, &err) != 0) {
        rc = GRP_BC_EFAIL;
        goto done;
    }
    audit = cry_audit_new(keys);
    bc = grp_bc_new(&cfg, keys, audit);
    if (c.officer != NULL) {
        rc = grp_bc_actor_officer_code(r, c.officer, &who, &err);
        if (rc != GRP_BC_OK)
            goto done;
    } else {
        cli_actor(actor, sizeof actor);
        grp_bc_actor_operator(&who, actor);
    }

    if (strcmp(c.cmd, "preview") == 0) {
        struct grp_bc_reach reach;

        rc = grp_bc_estimate(bc, r, &who, c.req.scope, &c.req, &reach, &err);
        if (rc == GRP_BC_OK) {
            if (c.json)
                print_json(grp_bc_reach_json(&reach));
            else
                print_reach(&reach);
        }
    } else if (strcmp(c.cmd, "create") == 0) {
        struct grp_bc_preview p;

        rc = grp_bc_prepare(bc, r, &who, &c.req, &p, &err);
        if (rc == GRP_BC_OK && c.confirm)
            rc = grp_bc_confirm(bc, r, &who, p.id, &err);
        if (rc == GRP_BC_OK) {
            if (c.json) {
                json_t *j = grp_bc_preview_json(&p);

                if (c.confirm)
                    json_object_set_new(j, "state", json_string("confirmed"));
                print_json(j);
            } else {
                printf("broadcast %s %s\n", p.id,
                       c.confirm ? "confirmed: the service fans it out now"
                                 : "drafted: confirm it with 'janseva broadcast confirm ID'");
                print_reach(&p.reach);
            }
            fflush(stdout);
            if (c.watch && c.confirm) {
                struct grp_bc_status st;

                rc = watch(bc, r, &who, p.id, &st, &err);
                if (rc == GRP_BC_OK && !c.json)
                    print_status(&st);
            }
        }
    } else if (strcmp(c.cmd, "confirm") == 0 || strcmp(c.cmd, "cancel") == 0 ||
               strcmp(c.cmd, "status") == 0) {
        struct grp_bc_status st;

        if (strcmp(c.cmd, "confirm") == 0)
            rc = grp_bc_confirm(bc, r, &who, c.id, &err);
        else if (strcmp(c.cmd, "cancel") == 0)
            rc = grp_bc_cancel(bc, r, &who, c.id, &err);
        if (rc == GRP_BC_OK && c.watch)
            rc = watch(bc, r, &who, c.id, &st, &err);
        if (rc == GRP_BC_OK)
            rc = grp_bc_status(bc, r, &who, c.id, &st, &err);
        if (rc == GRP_BC_OK) {
            if (c.json)
                print_json(grp_bc_status_json(&st));
            else
                print_status(&st);
        }
    } else {
        char **ids = NULL;
        size_t n = 0;
        json_t *arr = json_array();

        rc = grp_bc_list(bc, r, &who, (size_t)c.limit, &ids, &n, &err);
        for (size_t i = 0; rc == GRP_BC_OK && i < n; i++) {
            struct grp_bc_status st;

            if (grp_bc_status(bc, r, &who, ids[i], &st, &err) != GRP_BC_OK)
                continue;
            if (c.json) {
                json_array_append_new(arr, grp_bc_status_json(&st));
            } else {
                char cost[32];

                grp_bc_money(st.reach.cost, cost, sizeof cost);
                printf("%s  %-9s  %-14s  %8lld queued  %8lld sent  %8lld read  INR %s  %s\n",
                       st.id, st.state, st.reach.scope, st.queued, st.sent, st.read, cost,
                       st.creator);
            }
        }
        if (rc == GRP_BC_OK && c.json)
            print_json(json_pack("{s:O}", "broadcasts", arr));
        json_decref(arr);
        grp_codes_free(ids, n);
    }
done:
    exit_rc = grp_bc_exit_code(rc, &err);
    if (rc != GRP_BC_OK) {
        if (err.code == 0)
            err.code = exit_rc;
        fprintf(stderr, "janseva: %s\n", err.msg);
    }
    grp_bc_free(bc);
    cry_audit_free(audit);
    cry_keys_free(keys);
    core_redis_free(r);
    core_cfg_cleanup(&cfg);
    if (rc == GRP_BC_OK && fflush(stdout) != 0)
        return CORE_EX_IOERR;
    return exit_rc;
}
