/*
 * crypto/revealcli.c - `janseva keys init-reveal`: create the reveal key
 * and the custodians' share files (see reveal.h and docs/tips.md).
 */
#include "crypto/revealcli.h"
#include "core/cli.h"
#include "core/config.h"
#include "core/redis.h"
#include "core/util.h"
#include "crypto/audit.h"
#include "crypto/cli.h"
#include "crypto/keys.h"
#include "crypto/reveal.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_TIMEOUT_MS 2000

static const char help[] =
    "Usage: janseva keys init-reveal [--custodians N] [--threshold K] [OPTIONS]\n"
    "\n"
    "Create the reveal key: an X25519 key pair whose public key seals every\n"
    "tipster's identity. The private key is split with Shamir's scheme\n"
    "(libgfshare) into N shares, any K of which rebuild it; each share is\n"
    "written once to its own file for one custodian, and the private key is\n"
    "wiped. The key directory keeps only the public key (reveal.json).\n"
    "\n"
    "Options:\n"
    "  -n, --custodians N   number of custodians (2-16, default 3)\n"
    "  -k, --threshold K    custodians needed for a reveal (2-N, default 2)\n"
    "  -N, --names LIST     custodian ids, comma-separated (default\n"
    "                       custodian-1..N): A-Z a-z 0-9 . _ -\n"
    "  -O, --officers LIST  the custodians' officer member ids, comma-separated,\n"
    "                       empty for none: they get a WhatsApp message about\n"
    "                       every reveal request\n"
    "  -o, --out DIR        where the share files go (default ./reveal-shares,\n"
    "                       created 0700)\n"
    "  -d, --dir DIR        key directory (default JANSEVA_KEYS_DIR)\n"
    "  -c, --config FILE    settings file; also $JANSEVA_CONFIG\n"
    "  -h, --help           show this help\n"
    "\n"
    "Then hand each share file to its custodian (an encrypted USB stick, or\n"
    "printed and sealed) and delete it from this machine. Refuses to replace\n"
    "an existing reveal key. Exit status: 0 ok; 64 usage; 73 a reveal key or a\n"
    "share file exists; 74 cannot write; 78 key directory problem.\n";

/* Split a comma list into at most `max` items (empty items allowed). */
static int split(char *s, const char **out, unsigned max, unsigned *n)
{
    char *p = s;

    *n = 0;
    for (;;) {
        char *comma = strchr(p, ',');

        if (*n == max)
            return -1;
        out[(*n)++] = p;
        if (comma == NULL)
            return 0;
        *comma = '\0';
        p = comma + 1;
    }
}

int cry_reveal_cli_init(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"custodians", required_argument, NULL, 'n'}, {"threshold", required_argument, NULL, 'k'},
        {"names", required_argument, NULL, 'N'},      {"officers", required_argument, NULL, 'O'},
        {"out", required_argument, NULL, 'o'},        {"dir", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *config = NULL, *dir = NULL, *out = "reveal-shares";
    char *names = NULL, *officers = NULL;
    const char *ids[CRY_REVEAL_MAX_CUSTODIANS];
    const char *offs[CRY_REVEAL_MAX_CUSTODIANS];
    char paths[CRY_REVEAL_MAX_CUSTODIANS][CRY_REVEAL_PATH_MAX];
    struct cry_reveal_params p = {3, 2, NULL, NULL};
    struct cry_reveal_meta m;
    struct core_cfg cfg;
    struct core_err err;
    char keys_dir[CRY_KEYS_PATH_MAX];
    int from_creds = 0;
    int c;
    int rc = 0;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "n:k:N:O:o:d:c:h", lopts, NULL)) != -1) {
        int64_t v;

        switch (c) {
        case 'n':
        case 'k':
            if (core_parse_i64(optarg, &v) != 0 || v < 2 || v > CRY_REVEAL_MAX_CUSTODIANS)
                return core_cli_usage_error("keys init-reveal", "--%s takes 2-%d",
                                            c == 'n' ? "custodians" : "threshold",
                                            CRY_REVEAL_MAX_CUSTODIANS);
            if (c == 'n')
                p.n = (unsigned)v;
            else
                p.threshold = (unsigned)v;
            break;
        case 'N': names = optarg; break;
        case 'O': officers = optarg; break;
        case 'o': out = optarg; break;
        case 'd': dir = optarg; break;
        case 'c': config = optarg; break;
        case 'h':
            fputs(help, stdout);
            return 0;
        default:
            return core_cli_usage_error("keys init-reveal", "unknown option");
        }
    }
    if (optind < argc)
        return core_cli_usage_error("keys init-reveal", "unexpected argument '%s'", argv[optind]);
    if (p.threshold > p.n)
        return core_cli_usage_error("keys init-reveal", "--threshold cannot exceed --custodians");
    if (names != NULL) {
        unsigned k = 0;

        if (split(names, ids, CRY_REVEAL_MAX_CUSTODIANS, &k) != 0 || k != p.n)
            return core_cli_usage_error("keys init-reveal", "--names must list %u ids", p.n);
        p.ids = ids;
    }
    if (officers != NULL) {
        unsigned k = 0;

        if (split(officers, offs, CRY_REVEAL_MAX_CUSTODIANS, &k) != 0 || k != p.n)
            return core_cli_usage_error("keys init-reveal",
                                        "--officers must have %u entries (empty for none)", p.n);
        p.officers = offs;
    }
    core_err_clear(&err);
    if (core_cli_load_config(&cfg, config, &err) != 0) {
        rc = core_cli_fail(&err);
        goto out;
    }
    if (dir == NULL) {
        if (cry_keys_dir_resolve(cfg.keys_dir, keys_dir, &from_creds, &err) != 0) {
            rc = core_cli_fail(&err);
            goto out;
        }
        dir = keys_dir;
    }
    cry_reveal_init();
    if (cry_reveal_create(dir, out, &p, &m, paths, &err) != 0) {
        rc = core_cli_fail(&err);
        goto out;
    }
    printf("reveal key %s created: any %u of %u custodians can reveal a tipster\n"
           "  public key in %s/%s (the server keeps nothing else)\n",
           m.id, m.threshold, m.n, dir, CRY_REVEAL_META_FILE);
    for (unsigned i = 0; i < m.n; i++)
        printf("  custodian %-20s share %3u  %s\n", m.custodians[i].id,
               (unsigned)m.custodians[i].number, paths[i]);
    printf("Give each file to its custodian now (encrypted USB stick, or printed and\n"
           "sealed), then delete it here: a share left on this server weakens the\n"
           "two-custodian rule. Restart running services, or they pick the key up\n"
           "when the first tip arrives.\n");
    fflush(stdout);
    {
        struct cry_keys *k = cry_keys_load(dir, from_creds, &err);
        struct core_redis_opts ro = {cfg.redis, cfg.redis_user, cfg.redis_password,
                                     AUDIT_TIMEOUT_MS};
        struct core_redis *r = core_redis_new(&ro);
        char actor[96];
        char object[160];

        cry_cli_actor(actor, sizeof actor);
        snprintf(object, sizeof object, "reveal key %s threshold %u of %u", m.id, m.threshold,
                 m.n);
        if (k != NULL) {
            struct cry_audit *a = cry_audit_new(k);

            if (cry_keys_refresh(k, r, &err) != 0 ||
                cry_audit_append(a, r, actor, "keys.reveal.init", object, NULL, NULL, &err) != 0)
                fprintf(stderr, "keys: note: not recorded in the audit log (%s)\n", err.msg);
            cry_audit_free(a);
        } else {
            fprintf(stderr, "keys: note: not recorded in the audit log (%s)\n", err.msg);
        }
        core_redis_free(r);
        cry_keys_free(k);
    }
out:
    core_cfg_cleanup(&cfg);
    return rc;
}
