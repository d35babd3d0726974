/*
 * crypto/cli.c - `janseva keys` and `janseva audit` (see cli.h).
 */
#include "crypto/cli.h"
#include "core/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/redis.h"
#include "core/util.h"
#include "crypto/audit.h"
#include "crypto/keys.h"
#include "crypto/revealcli.h"
#include "crypto/rotate.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INIT_REDIS_TIMEOUT_MS 2000
#define STATUS_VERSIONS 5

static const char keys_help[] =
    "Usage: janseva keys COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  init [--dir DIR]   create a key directory (0700) with a root key, an audit\n"
    "                     signing key and keys.json (files 0600); refuses to\n"
    "                     overwrite anything; DIR defaults to JANSEVA_KEYS_DIR\n"
    "  status             key ids, versions and creation dates (never key material)\n"
    "  rotate             start (or resume) a new data-key version and re-encrypt\n"
    "                     every member record while the service runs; progress on\n"
    "                     stderr; safe to interrupt and rerun\n"
    "  rotate --status    show the progress of the current or last rotation\n"
    "  init-reveal        create the reveal key for tips and split it among\n"
    "                     custodians (--custodians N --threshold K; see its --help)\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE  read settings from FILE (also $JANSEVA_CONFIG)\n"
    "  -h, --help         show this help\n"
    "\n"
    "The key directory is JANSEVA_KEYS_DIR, or $CREDENTIALS_DIRECTORY under systemd.\n"
    "Exit status: 0 ok; 64 usage; 65 records that did not open; 69 Redis\n"
    "unavailable; 73 the key directory already exists; 75 another rotation is\n"
    "running; 78 key directory missing, incomplete or accessible by others.\n";

static const char audit_help[] =
    "Usage: janseva audit COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  verify [--from ID]   check the audit log in Redis: sequence, hash chain,\n"
    "                       head and checkpoint signatures; ID is a record number\n"
    "                       or a stream id; names the first broken or missing record\n"
    "  verify --file FILE   check an export file instead\n"
    "  export [--out FILE]  write records and checkpoints as JSON lines (standard\n"
    "                       output by default), signed to the end\n"
    "  checkpoint           sign a checkpoint of the current head now\n"
    "\n"
    "Options:\n"
    "  --pubkey HEX       verify against this audit public key (from 'janseva keys\n"
    "                     status') instead of the key directory's\n"
    "  -c, --config FILE  read settings from FILE (also $JANSEVA_CONFIG)\n"
    "  -h, --help         show this help\n"
    "\n"
    "Exit status: 0 ok; 64 usage; 65 the log is broken (one line names the record);\n"
    "69 Redis unavailable; 74 cannot write FILE; 78 key directory problem.\n";

struct opts {
    const char *config;
    const char *dir;
    const char *from;
    const char *file;
    const char *out;
    const char *pubkey;
    int status;
};

void cry_cli_actor(char *out, size_t n)
{
    struct passwd *pw = getpwuid(geteuid());

    if (pw != NULL && pw->pw_name != NULL)
        snprintf(out, n, "cli:%s", pw->pw_name);
    else
        snprintf(out, n, "cli:uid%u", (unsigned)geteuid());
}

static int parse(int argc, char **argv, const char *cmd, const char *help, const char *allowed,
                 struct opts *o)
{
    static const struct option lopts[] = {
        {"config", required_argument, NULL, 'c'}, {"dir", required_argument, NULL, 'd'},
        {"from", required_argument, NULL, 'f'},   {"file", required_argument, NULL, 'F'},
        {"out", required_argument, NULL, 'o'},    {"pubkey", required_argument, NULL, 'p'},
        {"status", no_argument, NULL, 's'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;

    memset(o, 0, sizeof *o);
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's */
    while ((c = getopt_long(argc, argv, "c:h", lopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return -1;
        }
        if (c == '?' || (c != 'c' && strchr(allowed, c) == NULL))
            return core_cli_usage_error(cmd, "unknown option");
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case 'd':
            o->dir = optarg;
            break;
        case 'f':
            o->from = optarg;
            break;
        case 'F':
            o->file = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'p':
            o->pubkey = optarg;
            break;
        case 's':
            o->status = 1;
            break;
        default:
            break;
        }
    }
    if (optind < argc)
        return core_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    return 0;
}

static struct core_redis *redis_of(const struct core_cfg *cfg, int timeout_ms)
{
    struct core_redis_opts o = {cfg->redis, cfg->redis_user, cfg->redis_password,
                                timeout_ms > 0 ? timeout_ms : cfg->redis_timeout_ms};

    return core_redis_new(&o);
}

/* Load the configured key directory (CORE_EX_CONFIG problems). */
/* ======================= keys ======================= */

static int keys_init(const struct core_cfg *cfg, const struct opts *o)
{
    struct cry_keys_meta m;
    struct core_err err;
    const char *dir = o->dir != NULL ? o->dir : cfg->keys_dir;
    struct cry_keys *k;
    struct core_redis *r;
    struct cry_audit *a;
    char actor[96];
    char object[96];

    core_err_clear(&err);
    if (dir == NULL || dir[0] == '\0')
        return core_cli_usage_error("keys init", "needs --dir DIR (or JANSEVA_KEYS_DIR)");
    if (cry_keys_init_dir(dir, &m, &err) != 0)
        return core_cli_fail(&err);
    printf("keys: created key directory %s\n"
           "  root key    id %s  (%s)\n"
           "  audit key   id %s  (%s, ed25519; public key in %s)\n"
           "Back it up offline now (docs/threat-model.md, \"Key ceremony\"): without\n"
           "%s every sealed record is lost.\n",
           dir, m.root_id, CRY_KEYS_ROOT_FILE, m.audit_id, CRY_KEYS_AUDIT_FILE,
           CRY_KEYS_META_FILE, CRY_KEYS_ROOT_FILE);
    fflush(stdout);
    /* Record the creation in the audit log when Redis is reachable. */
    k = cry_keys_load(dir, 0, &err);
    if (k == NULL)
        return core_cli_fail(&err);
    r = redis_of(cfg, INIT_REDIS_TIMEOUT_MS);
    a = cry_audit_new(k);
    cry_cli_actor(actor, sizeof actor);
    snprintf(object, sizeof object, "keys root=%s audit=%s", m.root_id, m.audit_id);
    if (cry_keys_refresh(k, r, &err) != 0 ||
        cry_audit_append(a, r, actor, "keys.init", object, NULL, NULL, &err) != 0)
        fprintf(stderr, "keys: note: not recorded in the audit log (%s)\n", err.msg);
    cry_audit_free(a);
    core_redis_free(r);
    cry_keys_free(k);
    return 0;
}

static int keys_status(const struct core_cfg *cfg)
{
    struct core_err err;
    struct cry_keys *k;
    struct core_redis *r;
    const struct cry_keys_meta *m;
    char pk_hex[2 * CRY_SIGN_PUBLICKEYBYTES + 1];
    uint32_t cur = 0;
    uint32_t v;
    int fc = 0;

    core_err_clear(&err);
    k = cry_keys_load_configured(cfg->keys_dir, &fc, &err);
    if (k == NULL)
        return core_cli_fail(&err);
    m = cry_keys_meta(k);
    core_hex(pk_hex, m->audit_public, sizeof m->audit_public);
    printf("key directory  %s (%s)\n", cry_keys_dir(k),
           fc ? "systemd credentials" : "JANSEVA_KEYS_DIR");
    printf("format         %d\n", m->format);
    printf("root key       id %s  created %s\n", m->root_id, m->root_created);
    printf("audit key      id %s  created %s  ed25519\n", m->audit_id, m->audit_created);
    printf("audit public   %s\n", pk_hex);
    printf("key memory     %s\n", cry_keys_locked(k)
                                      ? "locked in RAM (mlock)"
                                      : "NOT locked (raise RLIMIT_MEMLOCK / LimitMEMLOCK=)");
    r = redis_of(cfg, INIT_REDIS_TIMEOUT_MS);
    if (cry_keys_read_version(r, &cur, &err) != 0) {
        printf("data keys      current version unknown (%s)\n", err.msg);
    } else {
        printf("data keys      current version v%u (Redis %s)\n", (unsigned)cur,
               CRY_KEYS_VERSION_KEY);
        for (v = cur > STATUS_VERSIONS ? cur - STATUS_VERSIONS + 1 : 1; v <= cur; v++) {
            char pii[CRY_KEY_ID_LEN];
            char ing[CRY_KEY_ID_LEN];

            cry_keys_data_id(k, CRY_KEY_PII, v, pii);
            cry_keys_data_id(k, CRY_KEY_INGRESS, v, ing);
            printf("  v%-4u        pii %s  ingress %s\n", (unsigned)v, pii, ing);
        }
        fflush(stdout);
        if (cry_rotate_status(r, stdout, 0, &err) != 0)
            printf("rotation: unknown (%s)\n", err.msg);
    }
    core_redis_free(r);
    cry_keys_free(k);
    return 0;
}

static int keys_rotate(const struct core_cfg *cfg, const struct opts *o)
{
    struct core_err err;
    struct cry_rotate_opts ro;
    struct cry_rotate_result res;
    struct cry_keys *k;
    struct core_redis *r;
    struct cry_audit *a;
    char actor[96];
    int rc = 0;

    core_err_clear(&err);
    k = cry_keys_load_configured(cfg->keys_dir, NULL, &err);
    if (k == NULL)
        return core_cli_fail(&err);
    r = redis_of(cfg, 0);
    if (o->status) {
        if (cry_rotate_status(r, stdout, 1, &err) != 0)
            rc = core_cli_fail(&err);
        core_redis_free(r);
        cry_keys_free(k);
        return rc;
    }
    a = cry_audit_new(k);
    cry_cli_actor(actor, sizeof actor);
    memset(&ro, 0, sizeof ro);
    ro.actor = actor;
    ro.progress = stderr;
    if (cry_rotate_run(k, a, r, &ro, &res, &err) != 0) {
        rc = core_cli_fail(&err);
    } else {
        printf("keys: data key version v%u: %s; %llu records re-encrypted in %.1f s "
               "(%d passes; %.0f records/s while scanning), %llu failed\n",
               (unsigned)res.target, res.resumed ? "rotation resumed and done" : "rotation done",
               (unsigned long long)res.reencrypted, (double)res.ms / 1000.0, res.passes,
               res.busy_ms > 0 ? (double)res.run_scanned * 1000.0 / (double)res.busy_ms : 0.0,
               (unsigned long long)res.failed);
        if (res.failed > 0) {
            fprintf(stderr, "janseva: keys: %llu records did not open and keep their old "
                            "version (see the log for their member ids)\n",
                    (unsigned long long)res.failed);
            rc = CORE_EX_DATAERR;
        }
    }
    cry_audit_free(a);
    core_redis_free(r);
    cry_keys_free(k);
    return rc;
}

int cry_cli_keys(int argc, char **argv)
{
    struct core_cfg cfg;
    struct core_err err;
    struct opts o;
    const char *sub;
    int rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(keys_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CORE_EX_USAGE : 0;
    }
    sub = argv[1];
    if (strcmp(sub, "init-reveal") == 0)
        return cry_reveal_cli_init(argc - 1, argv + 1);
    if (strcmp(sub, "init") == 0)
        rc = parse(argc - 1, argv + 1, "keys init", keys_help, "d", &o);
    else if (strcmp(sub, "status") == 0)
        rc = parse(argc - 1, argv + 1, "keys status", keys_help, "", &o);
    else if (strcmp(sub, "rotate") == 0)
        rc = parse(argc - 1, argv + 1, "keys rotate", keys_help, "s", &o);
    else
        return core_cli_usage_error("keys", "unknown command '%s'", sub);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    core_err_clear(&err);
    if (core_cli_load_config(&cfg, o.config, &err) != 0) {
        core_cfg_cleanup(&cfg);
        return core_cli_fail(&err);
    }
    if (strcmp(sub, "init") == 0)
        rc = keys_init(&cfg, &o);
    else if (strcmp(sub, "status") == 0)
        rc = keys_status(&cfg);
    else
        rc = keys_rotate(&cfg, &o);
    core_cfg_cleanup(&cfg);
    return rc;
}

/* ======================= audit ======================= */

static int report(const struct cry_audit_report *rep)
{
    if (rep->broken) {
        fprintf(stderr, "janseva: audit: BROKEN: %s\n", rep->problem);
        return CORE_EX_DATAERR;
    }
    if (rep->records == 0)
        printf("audit: ok: no records\n");
    else
        printf("audit: ok: %llu records (%llu-%llu), %llu checkpoints verified, signed up to "
               "record %llu%s\n",
               (unsigned long long)rep->records, (unsigned long long)rep->first_seq,
               (unsigned long long)rep->last_seq, (unsigned long long)rep->checkpoints,
               (unsigned long long)rep->signed_upto,
               rep->signed_upto < rep->last_seq ? " (later records await the next checkpoint)"
                                                : "");
    return 0;
}

static int audit_verify(const struct core_cfg *cfg, const struct opts *o)
{
    unsigned char pk[CRY_SIGN_PUBLICKEYBYTES];
    struct cry_audit_report rep;
    struct core_err err;
    int rc;

    core_err_clear(&err);
    if (o->pubkey != NULL) {
        size_t n = 0;
        const char *end = NULL;

        if (strlen(o->pubkey) != 2 * CRY_SIGN_PUBLICKEYBYTES ||
            sodium_hex2bin(pk, sizeof pk, o->pubkey, strlen(o->pubkey), NULL, &n, &end) != 0 ||
            n != sizeof pk)
            return core_cli_usage_error("audit verify", "--pubkey takes 64 hex digits");
    } else {
        struct cry_keys *k = cry_keys_load_configured(cfg->keys_dir, NULL, &err);

        if (k == NULL)
            return core_cli_fail(&err);
        memcpy(pk, cry_keys_meta(k)->audit_public, sizeof pk);
        cry_keys_free(k);
    }
    if (o->file != NULL) {
        FILE *f = strcmp(o->file, "-") == 0 ? stdin : fopen(o->file, "r");

        if (f == NULL) {
            fprintf(stderr, "janseva: cannot read %s: %s\n", o->file, strerror(errno));
            return CORE_EX_NOINPUT;
        }
        rc = cry_audit_verify_file(pk, f, &rep, &err);
        if (f != stdin)
            fclose(f);
    } else {
        struct core_redis *r = redis_of(cfg, 0);

        rc = cry_audit_verify_redis(pk, r, o->from, &rep, &err);
        core_redis_free(r);
    }
    if (rc != 0)
        return core_cli_fail(&err);
    return report(&rep);
}

static int audit_export(const struct core_cfg *cfg, const struct opts *o)
{
    struct core_err err;
    struct cry_keys *k;
    struct cry_audit *a;
    struct core_redis *r;
    FILE *out = stdout;
    uint64_t n = 0;
    int rc = 0;

    core_err_clear(&err);
    k = cry_keys_load_configured(cfg->keys_dir, NULL, &err);
    if (k == NULL)
        return core_cli_fail(&err);
    if (o->out != NULL && strcmp(o->out, "-") != 0) {
        int fd = open(o->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        out = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (out == NULL) {
            fprintf(stderr, "janseva: cannot write %s: %s\n", o->out, strerror(errno));
            if (fd >= 0)
                close(fd);
            cry_keys_free(k);
            return CORE_EX_IOERR;
        }
    }
    r = redis_of(cfg, 0);
    a = cry_audit_new(k);
    if (cry_audit_export(a, cry_keys_meta(k)->audit_public, cry_keys_meta(k)->audit_id, r, out,
                         &n, &err) != 0)
        rc = core_cli_fail(&err);
    else
        fprintf(stderr, "audit: exported %llu records\n", (unsigned long long)n);
    if (out != stdout && fclose(out) != 0 && rc == 0) {
        fprintf(stderr, "janseva: cannot write %s\n", o->out);
        rc = CORE_EX_IOERR;
    }
    cry_audit_free(a);
    core_redis_free(r);
    cry_keys_free(k);
    return rc;
}

static int audit_checkpoint(const struct core_cfg *cfg)
{
    struct core_err err;
    struct cry_keys *k;
    struct cry_audit *a;
    struct core_redis *r;
    uint64_t seq = 0;
    int rc = 0;

    core_err_clear(&err);
    k = cry_keys_load_configured(cfg->keys_dir, NULL, &err);
    if (k == NULL)
        return core_cli_fail(&err);
    r = redis_of(cfg, 0);
    a = cry_audit_new(k);
    if (cry_audit_checkpoint(a, r, 1, &seq, &err) != 0)
        rc = core_cli_fail(&err);
    else if (seq == 0)
        printf("audit: nothing new to sign\n");
    else
        printf("audit: checkpoint signed for record %llu\n", (unsigned long long)seq);
    cry_audit_free(a);
    core_redis_free(r);
    cry_keys_free(k);
    return rc;
}

int cry_cli_audit(int argc, char **argv)
{
    struct core_cfg cfg;
    struct core_err err;
    struct opts o;
    const char *sub;
    int rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(audit_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CORE_EX_USAGE : 0;
    }
    sub = argv[1];
    if (strcmp(sub, "verify") == 0)
        rc = parse(argc - 1, argv + 1, "audit verify", audit_help, "fFp", &o);
    else if (strcmp(sub, "export") == 0)
        rc = parse(argc - 1, argv + 1, "audit export", audit_help, "o", &o);
    else if (strcmp(sub, "checkpoint") == 0)
        rc = parse(argc - 1, argv + 1, "audit checkpoint", audit_help, "", &o);
    else
        return core_cli_usage_error("audit", "unknown command '%s'", sub);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    core_err_clear(&err);
    if (core_cli_load_config(&cfg, o.config, &err) != 0) {
        core_cfg_cleanup(&cfg);
        return core_cli_fail(&err);
    }
    if (strcmp(sub, "verify") == 0)
        rc = audit_verify(&cfg, &o);
    else if (strcmp(sub, "export") == 0)
        rc = audit_export(&cfg, &o);
    else
        rc = audit_checkpoint(&cfg);
    core_cfg_cleanup(&cfg);
    return rc;
}
