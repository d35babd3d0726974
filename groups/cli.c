/*
 * groups/cli.c - `janseva import` (see cli.h and docs/hierarchy.md).
 */
#include "groups/cli.h"
#include "core/buf.h"
#include "core/cli.h"
#include "core/log.h"
#include "core/redis.h"
#include "core/util.h"
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
    "Import one level of the police hierarchy from a UTF-8 CSV file with a\n"
    "header row. KIND is state, district, thana, beat or locality; import them\n"
    "in that order (a unit's parent must exist). Columns (docs/hierarchy.md):\n"
    "\n"
    "  all levels  code (required), name_en (required), name_hi, lat, lon\n"
    "  below state parent (required): the code of the unit one level up\n"
    "  locality    type (village|ward|habitation|polling_station|town|other),\n"
    "              pincode, population\n"
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
    enum grp_kind kind;
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
    if (grp_kind_parse(kind_s, &kind) != 0)
        return core_cli_usage_error("import", "unknown kind '%s' (state, district, thana, "
                                              "beat or locality)",
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
    rc = grp_import(r, argv[optind], data, len, &o, stderr, &res, &err);
    if (rc == 0) {
        printf("%s%s: %ld rows: %ld created, %ld updated, %ld unchanged (%.2f s)\n",
               dry ? "dry run: " : "", grp_kind_name(kind), res.rows, res.created, res.updated,
               res.unchanged, (double)(core_mono_ms() - t0) / 1000.0);
    } else {
        rc = core_cli_fail(&err);
    }
    core_redis_free(r);
    core_cfg_cleanup(&cfg);
    free(data);
    return rc;
}
