/*
 * groups/tipcli.c - `janseva tip ...` (see tipcli.h).
 */
#include "groups/tipcli.h"
#include "core/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/redis.h"
#include "core/util.h"
#include "crypto/cli.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "crypto/reveal.h"
#include "groups/tip.h"
#include "groups/tipreveal.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char help[] =
    "Usage: janseva tip COMMAND [OPTIONS]\n"
    "\n"
    "Secret tips: read cases, reply to tipsters, and the two-custodian reveal.\n"
    "\n"
    "Cases (CASE is a case id or a pseudonym such as T-4KQ9-27):\n"
    "  list [--state open|closed] [--limit N]   cases you may see, newest first\n"
    "  show CASE                                the case, decrypted\n"
    "  reply CASE --text TEXT [--key KEY]       send TEXT to the tipster from the\n"
    "                                           police number (outside the 24-hour\n"
    "                                           window a template announces it)\n"
    "  close CASE [--reason TEXT]               close the case\n"
    "  media CASE N --out FILE                  write the media of item N (0600)\n"
    "  purge [--older-than DAYS] [--dry-run]    delete the cases closed more than\n"
    "                                           DAYS ago (default: the setting\n"
    "                                           tip_retention_days), each audited;\n"
    "                                           open cases are never purged\n"
    "\n"
    "Reveal (docs/tips.md, \"The reveal ceremony\"):\n"
    "  reveal request CASE --reason TEXT [--no-wait]\n"
    "                      ask to reveal who gave the tip, for a written legal\n"
    "                      reason; then hold the ceremony (as 'wait') unless\n"
    "                      --no-wait\n"
    "  reveal wait REQUEST hold the ceremony: wait for the custodians'\n"
    "                      approvals; prints the identity to you alone\n"
    "  reveal approve REQUEST --custodian ID --share FILE\n"
    "                      approve as custodian ID with your share file\n"
    "  reveal deny REQUEST --custodian ID [--reason TEXT]\n"
    "                      decline; the request is refused\n"
    "  reveal status [REQUEST]   requests and their state\n"
    "  reveal notices --for WHO  notices for custodian:ID or a requester\n"
    "\n"
    "Options:\n"
    "  -o, --officer MID    act as that officer (their jurisdiction); default:\n"
    "                       operator, every case\n"
    "  -j, --json           print JSON\n"
    "  -w, --wait-seconds N stop waiting for approvals after N seconds\n"
    "  -D, --older-than DAYS purge: closed more than DAYS days ago (1-36500)\n"
    "  -d, --dry-run        purge: only count what would be purged\n"
    "  -c, --config FILE    settings file; also $JANSEVA_CONFIG\n"
    "  -h, --help           show this help\n"
    "\n"
    "Exit status: 0 ok; 64 usage; 65 refused (bad share, shares that do not\n"
    "rebuild the key); 66 no such case or request; 69 Redis unavailable;\n"
    "73 FILE exists; 75 expired or gave up waiting; 77 not allowed (custodian\n"
    "or share used twice, outside jurisdiction); 78 settings or keys.\n";

struct opts {
    const char *config;
    const char *officer;
    const char *state;
    const char *text;
    const char *key;
    const char *reason;
    const char *out;
    const char *custodian;
    const char *share;
    const char *who;
    long limit;
    long wait_s;
    int json;
    int no_wait;
    long older_than; /* purge: days, 0 = the setting */
    int dry_run;
    const char *pos[3];
    int npos;
};

struct ctx {
    struct core_cfg cfg;
    struct cry_keys *keys;
    struct cry_identity *ident;
    struct core_redis *r;
    struct grp_tip *t;
    struct grp_tip_viewer v;
    char actor[GRP_TIP_ACTOR_MAX];
};

static int parse(int argc, char **argv, const char *cmd, struct opts *o)
{
    static const struct option lopts[] = {
        {"config", required_argument, NULL, 'c'},   {"officer", required_argument, NULL, 'o'},
        {"state", required_argument, NULL, 's'},    {"text", required_argument, NULL, 't'},
        {"key", required_argument, NULL, 'k'},      {"reason", required_argument, NULL, 'r'},
        {"out", required_argument, NULL, 'O'},      {"custodian", required_argument, NULL, 'C'},
        {"share", required_argument, NULL, 'S'},    {"for", required_argument, NULL, 'f'},
        {"limit", required_argument, NULL, 'l'},    {"wait-seconds", required_argument, NULL, 'w'},
        {"json", no_argument, NULL, 'j'},           {"no-wait", no_argument, NULL, 'n'},
        {"older-than", required_argument, NULL, 'D'}, {"dry-run", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    int c;

    memset(o, 0, sizeof *o);
    o->limit = 100;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:o:s:t:k:r:O:C:S:f:l:w:D:djnh", lopts, NULL)) != -1) {
        int64_t v;

        switch (c) {
        case 'c': o->config = optarg; break;
        case 'o': o->officer = optarg; break;
        case 's': o->state = optarg; break;
        case 't': o->text = optarg; break;
        case 'k': o->key = optarg; break;
        case 'r': o->reason = optarg; break;
        case 'O': o->out = optarg; break;
        case 'C': o->custodian = optarg; break;
        case 'S': o->share = optarg; break;
        case 'f': o->who = optarg; break;
        case 'j': o->json = 1; break;
        case 'n': o->no_wait = 1; break;
        case 'd': o->dry_run = 1; break;
        case 'D':
            if (core_parse_i64(optarg, &v) != 0 || v < 1 || v > 36500)
                return core_cli_usage_error(cmd, "--older-than takes 1-36500 days");
            o->older_than = (long)v;
            break;
        case 'l':
            if (core_parse_i64(optarg, &v) != 0 || v < 1 || v > 10000)
                return core_cli_usage_error(cmd, "--limit takes 1-10000");
            o->limit = (long)v;
            break;
        case 'w':
            if (core_parse_i64(optarg, &v) != 0 || v < 1 || v > 604800)
                return core_cli_usage_error(cmd, "--wait-seconds takes 1-604800");
            o->wait_s = (long)v;
            break;
        case 'h':
            fputs(help, stdout);
            return -1;
        default:
            return core_cli_usage_error(cmd, "unknown option");
        }
    }
    for (int i = optind; i < argc; i++) {
        if (o->npos == 3)
            return core_cli_usage_error(cmd, "too many arguments");
        o->pos[o->npos++] = argv[i];
    }
    if (o->state != NULL && strcmp(o->state, "open") != 0 && strcmp(o->state, "closed") != 0)
        return core_cli_usage_error(cmd, "--state is open or closed");
    if (o->officer != NULL && !cry_identity_is_mid(o->officer))
        return core_cli_usage_error(cmd, "--officer takes an officer's member id (32 hex)");
    return 0;
}

static void ctx_free(struct ctx *x)
{
    grp_tip_free(x->t);
    cry_identity_free(x->ident);
    core_redis_free(x->r);
    cry_keys_free(x->keys);
    core_cfg_cleanup(&x->cfg);
}

static int ctx_open(struct ctx *x, const struct opts *o, struct core_err *err)
{
    struct core_redis_opts ro;
    char login[96];

    memset(x, 0, sizeof *x);
    if (core_cli_load_config(&x->cfg, o->config, err) != 0)
        return -1;
    x->keys = cry_keys_load_configured(x->cfg.keys_dir, NULL, err);
    if (x->keys == NULL)
        return -1;
    ro.addr = x->cfg.redis;
    ro.user = x->cfg.redis_user;
    ro.password = x->cfg.redis_password;
    ro.timeout_ms = x->cfg.redis_timeout_ms;
    x->r = core_redis_new(&ro);
    if (cry_keys_refresh(x->keys, x->r, err) != 0)
        return -1;
    x->ident = cry_identity_new(x->keys);
    x->t = grp_tip_new(&x->cfg, x->keys, x->ident);
    cry_cli_actor(login, sizeof login);
    if (o->officer != NULL) {
        if (grp_tip_viewer_officer(x->r, o->officer, &x->v, err) != 0)
            return -1;
        snprintf(x->actor, sizeof x->actor, "%s/off:%s", login, o->officer);
        snprintf(x->v.actor, sizeof x->v.actor, "%s", x->actor);
    } else {
        snprintf(x->actor, sizeof x->actor, "%s", login);
        grp_tip_viewer_operator(&x->v, x->actor);
    }
    return 0;
}

static void when(int64_t ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M", &tm);
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    if (s != NULL) {
        puts(s);
        free(s);
    }
}

/* ======================= cases ======================= */

static int cmd_list(struct ctx *x, const struct opts *o, struct core_err *err)
{
    json_t *l = grp_tip_list(x->t, x->r, &x->v, o->state, (size_t)o->limit, err);
    json_t *c;
    size_t i;

    if (l == NULL)
        return -1;
    if (o->json) {
        print_json(l);
    } else {
        json_array_foreach(l, i, c)
        {
            char u[32];

            when(json_integer_value(json_object_get(c, "updated_ms")), u, sizeof u);
            printf("%-10s %-6s thana %-12s %3lld message(s) %3lld reply(ies)  updated %s UTC  "
                   "%s\n",
                   json_string_value(json_object_get(c, "pseudonym")),
                   json_string_value(json_object_get(c, "state")),
                   json_string_value(json_object_get(c, "thana"))[0]
                       ? json_string_value(json_object_get(c, "thana"))
                       : "(HQ)",
                   (long long)json_integer_value(json_object_get(c, "messages")),
                   (long long)json_integer_value(json_object_get(c, "replies")), u,
                   json_string_value(json_object_get(c, "case")));
        }
        if (json_array_size(l) == 0)
            printf("no cases\n");
    }
    json_decref(l);
    return 0;
}

static void print_item(json_t *it)
{
    const char *type = json_string_value(json_object_get(it, "type"));
    const char *from = json_string_value(json_object_get(it, "from"));
    json_t *m = json_object_get(it, "media");
    char at[32];

    when(json_integer_value(json_object_get(it, "at")), at, sizeof at);
    printf("%3lld  %s  %-8s ", (long long)json_integer_value(json_object_get(it, "n")), at,
           from != NULL ? from : "?");
    if (type == NULL)
        type = "?";
    if (strcmp(type, "reply") == 0) {
        printf("reply by %s [%s]: %s\n", json_string_value(json_object_get(it, "by")),
               json_string_value(json_object_get(it, "delivery")),
               json_string_value(json_object_get(it, "text")));
    } else if (strcmp(type, "text") == 0) {
        printf("%s\n", json_string_value(json_object_get(it, "text")));
    } else if (strcmp(type, "location") == 0) {
        printf("location %.6f, %.6f %s %s\n", json_number_value(json_object_get(it, "lat")),
               json_number_value(json_object_get(it, "lon")),
               json_string_value(json_object_get(it, "place")) != NULL
                   ? json_string_value(json_object_get(it, "place"))
                   : "",
               json_string_value(json_object_get(it, "address")) != NULL
                   ? json_string_value(json_object_get(it, "address"))
                   : "");
    } else if (m != NULL) {
        printf("%s%s (%s", type, json_is_true(json_object_get(m, "voice")) ? " (voice)" : "",
               json_string_value(json_object_get(m, "state")));
        if (json_is_integer(json_object_get(m, "size")))
            printf(", %lld bytes", (long long)json_integer_value(json_object_get(m, "size")));
        if (json_is_string(json_object_get(m, "mime")))
            printf(", %s", json_string_value(json_object_get(m, "mime")));
        printf(")%s%s\n", json_is_string(json_object_get(it, "caption")) ? ": " : "",
               json_is_string(json_object_get(it, "caption"))
                   ? json_string_value(json_object_get(it, "caption"))
                   : "");
    } else {
        printf("%s\n", type);
    }
}

static int cmd_show(struct ctx *x, const struct opts *o, struct core_err *err)
{
    json_t *v = grp_tip_view(x->t, x->r, &x->v, o->pos[0], err);
    json_t *it;
    size_t i;
    char c[32];

    if (v == NULL)
        return -1;
    if (o->json) {
        print_json(v);
        json_decref(v);
        return 0;
    }
    when(json_integer_value(json_object_get(v, "created_ms")), c, sizeof c);
    printf("case %s  %s  thana %s  district %s  (routing %s, language %s)\n"
           "id %s  opened %s UTC\n\n",
           json_string_value(json_object_get(v, "pseudonym")),
           json_string_value(json_object_get(v, "state")),
           json_string_value(json_object_get(v, "thana"))[0]
               ? json_string_value(json_object_get(v, "thana"))
               : "-",
           json_string_value(json_object_get(v, "district"))[0]
               ? json_string_value(json_object_get(v, "district"))
               : "-",
           json_string_value(json_object_get(v, "routing")),
           json_string_value(json_object_get(v, "language")),
           json_string_value(json_object_get(v, "case")), c);
    json_array_foreach(json_object_get(v, "items"), i, it) print_item(it);
    json_decref(v);
    return 0;
}

static int cmd_reply(struct ctx *x, const struct opts *o, struct core_err *err)
{
    struct grp_tip_reply_result rr;

    if (grp_tip_reply(x->t, x->r, &x->v, o->pos[0], o->text, o->key, &rr, err) != 0)
        return -1;
    printf("%s reply %ld to case %s (message %s); the dispatcher delivers it\n",
           rr.duplicate ? "already queued:" : "queued", rr.n, o->pos[0], rr.key);
    return 0;
}

static int cmd_close(struct ctx *x, const struct opts *o, struct core_err *err)
{
    if (grp_tip_close(x->t, x->r, &x->v, o->pos[0], o->reason, err) != 0)
        return -1;
    printf("closed %s\n", o->pos[0]);
    return 0;
}

static int cmd_purge(struct ctx *x, const struct opts *o, struct core_err *err)
{
    long days = o->older_than > 0 ? o->older_than : x->cfg.tip_retention_days;
    struct grp_tip_purge_stats st;

    if (o->officer != NULL)
        return core_err_set(err, CORE_EX_NOPERM, "tip purge is for operators, not officers");
    if (days < 1)
        return core_err_set(err, CORE_EX_USAGE, "give --older-than DAYS or set "
                                                "tip_retention_days");
    if (grp_tip_purge(x->t, x->r, (int)days, o->dry_run, x->actor, &st, err) != 0)
        return -1;
    if (o->json) {
        json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:b}", "days", (json_int_t)days, "purged",
                              (json_int_t)st.purged, "items", (json_int_t)st.items,
                              "open_kept", (json_int_t)st.open_old, "dry_run", o->dry_run);

        print_json(j);
        json_decref(j);
    } else {
        printf("%s %ld closed cases (%ld items) closed more than %ld days ago; %ld open cases "
               "older than that kept\n",
               o->dry_run ? "would purge" : "purged", st.purged, st.items, days, st.open_old);
    }
    return 0;
}

static int cmd_media(struct ctx *x, const struct opts *o, struct core_err *err)
{
    unsigned char *data = NULL;
    size_t len = 0;
    size_t done = 0;
    char mime[80];
    int64_t n;
    int fd;

    if (core_parse_i64(o->pos[1], &n) != 0 || n < 1)
        return core_err_set(err, CORE_EX_USAGE, "N is an item number");
    if (grp_tip_media(x->t, x->r, &x->v, o->pos[0], (long)n, &data, &len, mime, err) != 0)
        return -1;
    fd = open(o->out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        grp_tip_media_release(data, len);
        return core_err_set(err, errno == EEXIST ? CORE_EX_CANTCREAT : CORE_EX_IOERR,
                            "cannot create %s: %s", o->out, strerror(errno));
    }
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    close(fd);
    grp_tip_media_release(data, len);
    if (done != len)
        return core_err_set(err, CORE_EX_IOERR, "cannot write %s", o->out);
    printf("wrote %zu bytes (%s) to %s\n", len, mime, o->out);
    return 0;
}

/* ======================= reveal ======================= */

static void print_identity(const struct grp_tiprv_identity *id, const char *actor,
                           const char *rid)
{
    char since[32] = "-";

    if (id->member_since > 0)
        when(id->member_since * 1000, since, sizeof since);
    printf("REVEALED to %s (request %s, case %s):\n", actor, rid, id->pseudonym);
    printf("  WhatsApp number          %s%s\n", id->wa_id[0] ? "+" : "",
           id->wa_id[0] ? id->wa_id : "(none: a username user)");
    printf("  business-scoped user id  %s\n", id->user_id[0] ? id->user_id : "-");
    printf("  profile name             %s\n", id->name[0] ? id->name : "-");
    printf("  first wrote to janseva   %s UTC\n", since);
    printf("This is confidential. The reveal is in the audit log and every custodian\n"
           "has been told.\n");
    fflush(stdout);
}

static int hold(struct ctx *x, const struct opts *o, const char *rid, struct core_err *err)
{
    struct grp_tiprv_identity *id = NULL;

    if (grp_tiprv_wait(x->t, x->r, x->actor, rid, o->wait_s * 1000, stderr, &id, err) != 0)
        return -1;
    print_identity(id, x->actor, rid);
    grp_tiprv_identity_free(id);
    return 0;
}

static void print_request(const struct grp_tiprv_info *in)
{
    char c[32], e[32];

    when(in->created_ms, c, sizeof c);
    when(in->expires_ms, e, sizeof e);
    printf("request %s  case %s  %s  %u of %u approvals%s  by %s  %s UTC (until %s UTC)\n"
           "  reason: %s\n",
           in->id, in->pseudonym, in->state, in->approvals, in->threshold,
           in->live ? "  (ceremony held now)" : "", in->requester, c, e, in->reason);
    if (in->outcome[0] != '\0')
        printf("  outcome: %s\n", in->outcome);
}

static int cmd_reveal(struct ctx *x, const struct opts *o, const char *action,
                      struct core_err *err)
{
    if (strcmp(action, "request") == 0) {
        struct grp_tiprv_info in;

        if (grp_tiprv_request(x->t, x->r, x->actor, o->officer,
                              o->officer != NULL ? &x->v : NULL, o->pos[0], o->reason, &in,
                              err) != 0)
            return -1;
        printf("reveal request %s for case %s: %u custodians must approve\n", in.id,
               in.pseudonym, in.threshold);
        fflush(stdout);
        if (o->no_wait)
            return 0;
        return hold(x, o, in.id, err);
    }
    if (strcmp(action, "wait") == 0)
        return hold(x, o, o->pos[0], err);
    if (strcmp(action, "approve") == 0) {
        struct cry_reveal_share *s = cry_reveal_share_new();
        struct grp_tiprv_approval a;
        int rc;

        if (cry_reveal_share_read(o->share, s, err) != 0) {
            char why[CORE_ERR_LEN + 16];
            struct core_err e;

            snprintf(why, sizeof why, "custodian %s: %s", o->custodian, err->msg);
            grp_tiprv_refuse(x->t, x->r, x->actor, o->pos[0], why, &e);
            cry_reveal_share_free(s);
            err->code = err->code == CORE_EX_NOINPUT ? CORE_EX_NOINPUT : CORE_EX_DATAERR;
            return core_err_wrap(err, "reveal refused, nothing was revealed");
        }
        rc = grp_tiprv_approve(x->t, x->r, x->actor, o->pos[0], o->custodian, s, &a, err);
        cry_reveal_share_free(s);
        if (rc != 0)
            return -1;
        printf("approval of custodian %s recorded (%u of %u)%s\n", o->custodian, a.count,
               a.threshold,
               a.count >= a.threshold ? "; the ceremony now rebuilds the key" : "");
        return 0;
    }
    if (strcmp(action, "deny") == 0) {
        if (grp_tiprv_deny(x->t, x->r, x->actor, o->pos[0], o->custodian, o->reason, err) != 0)
            return -1;
        printf("request %s declined by custodian %s\n", o->pos[0], o->custodian);
        return 0;
    }
    if (strcmp(action, "status") == 0) {
        if (o->npos == 1) {
            struct grp_tiprv_info in;

            if (grp_tiprv_get(x->t, x->r, o->pos[0], &in, err) != 0)
                return -1;
            print_request(&in);
        } else {
            json_t *l = grp_tiprv_list(x->t, x->r, (size_t)o->limit, err);
            json_t *e;
            size_t i;

            if (l == NULL)
                return -1;
            if (o->json)
                print_json(l);
            else
                json_array_foreach(l, i, e) printf(
                    "request %s  case %s  %s  %lld of %lld  by %s\n",
                    json_string_value(json_object_get(e, "request")),
                    json_string_value(json_object_get(e, "case")),
                    json_string_value(json_object_get(e, "state")),
                    (long long)json_integer_value(json_object_get(e, "approvals")),
                    (long long)json_integer_value(json_object_get(e, "threshold")),
                    json_string_value(json_object_get(e, "requester")));
            json_decref(l);
        }
        return 0;
    }
    if (strcmp(action, "notices") == 0) {
        json_t *l = grp_tiprv_notices(x->r, o->who, (size_t)o->limit, err);

        if (l == NULL)
            return -1;
        print_json(l);
        json_decref(l);
        return 0;
    }
    return core_err_set(err, CORE_EX_USAGE, "unknown reveal command");
}

/* ======================= dispatch ======================= */

int grp_tipcli_main(int argc, char **argv)
{
    struct opts o;
    struct ctx x;
    struct core_err err;
    const char *sub;
    const char *action = NULL;
    int rc;
    int need;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CORE_EX_USAGE : 0;
    }
    sub = argv[1];
    if (strcmp(sub, "reveal") == 0) {
        if (argc < 3)
            return core_cli_usage_error("tip reveal", "needs a command (request, wait, approve, "
                                                      "deny, status, notices)");
        action = argv[2];
        rc = parse(argc - 2, argv + 2, "tip reveal", &o);
    } else {
        rc = parse(argc - 1, argv + 1, "tip", &o);
    }
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    /* arguments each command needs */
    need = strcmp(sub, "list") == 0 || strcmp(sub, "purge") == 0 ? 0
           : strcmp(sub, "media") == 0                            ? 2
                                                                  : 1;
    if (action != NULL)
        need = strcmp(action, "status") == 0 || strcmp(action, "notices") == 0 ? -1 : 1;
    if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "reply") != 0 &&
        strcmp(sub, "close") != 0 && strcmp(sub, "media") != 0 && strcmp(sub, "reveal") != 0 &&
        strcmp(sub, "purge") != 0)
        return core_cli_usage_error("tip", "unknown command '%s'", sub);
    if (action != NULL && strcmp(action, "request") != 0 && strcmp(action, "wait") != 0 &&
        strcmp(action, "approve") != 0 && strcmp(action, "deny") != 0 &&
        strcmp(action, "status") != 0 && strcmp(action, "notices") != 0)
        return core_cli_usage_error("tip reveal", "unknown command '%s'", action);
    if (need >= 0 && o.npos != need)
        return core_cli_usage_error(action != NULL ? "tip reveal" : "tip",
                                    "'%s' takes %d argument(s)", action != NULL ? action : sub,
                                    need);
    if (need < 0 && o.npos > 1)
        return core_cli_usage_error("tip reveal", "too many arguments");
    if (strcmp(sub, "reply") == 0 && o.text == NULL)
        return core_cli_usage_error("tip reply", "--text is required");
    if (strcmp(sub, "media") == 0 && o.out == NULL)
        return core_cli_usage_error("tip media", "--out FILE is required");
    if (action != NULL && strcmp(action, "request") == 0 && o.reason == NULL)
        return core_cli_usage_error("tip reveal request", "--reason is required: a written "
                                                          "legal reason");
    if (action != NULL && (strcmp(action, "approve") == 0 || strcmp(action, "deny") == 0) &&
        o.custodian == NULL)
        return core_cli_usage_error("tip reveal", "--custodian ID is required");
    if (action != NULL && strcmp(action, "approve") == 0 && o.share == NULL)
        return core_cli_usage_error("tip reveal approve", "--share FILE is required");
    if (action != NULL && strcmp(action, "notices") == 0 && o.who == NULL)
        return core_cli_usage_error("tip reveal notices", "--for WHO is required");
    core_err_clear(&err);
    cry_reveal_init();
    if (ctx_open(&x, &o, &err) != 0) {
        ctx_free(&x);
        return core_cli_fail(&err);
    }
    if (action != NULL)
        rc = cmd_reveal(&x, &o, action, &err);
    else if (strcmp(sub, "list") == 0)
        rc = cmd_list(&x, &o, &err);
    else if (strcmp(sub, "show") == 0)
        rc = cmd_show(&x, &o, &err);
    else if (strcmp(sub, "reply") == 0)
        rc = cmd_reply(&x, &o, &err);
    else if (strcmp(sub, "close") == 0)
        rc = cmd_close(&x, &o, &err);
    else if (strcmp(sub, "purge") == 0)
        rc = cmd_purge(&x, &o, &err);
    else
        rc = cmd_media(&x, &o, &err);
    if (fflush(stdout) != 0 && rc == 0)
        rc = core_err_set(&err, CORE_EX_IOERR, "cannot write the output");
    ctx_free(&x);
    return rc == 0 ? 0 : core_cli_fail(&err);
}
