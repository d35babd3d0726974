/*
 * groups/import.c - validate-then-upsert import of hierarchy CSV files
 * (see import.h).
 */
#include "groups/import.h"
#include "core/csv.h"
#include "core/mem.h"
#include "core/util.h"
#include "crypto/audit.h"
#include "crypto/identity.h"
#include "groups/officer.h"

#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BATCH 1000

enum col {
    C_CODE,
    C_PARENT,
    C_NAME_EN,
    C_NAME_HI,
    C_LAT,
    C_LON,
    C_TYPE,
    C_PINCODE,
    C_POPULATION,
    C_COUNT
};

static const char *const col_names[C_COUNT] = {"code", "parent", "name_en", "name_hi", "lat",
                                               "lon", "type", "pincode", "population"};

static const char *const locality_types[] = {"village", "ward", "habitation", "polling_station",
                                             "town", "other"};

/* One validated row; strings are owned ("" when absent). */
struct row {
    long line;
    int shape_ok; /* right number of fields: values can be checked */
    char *v[C_COUNT];
};

struct ctx {
    const char *path;
    const struct grp_import_opts *o;
    FILE *problems;
    long n_problems;
    int col_of[C_COUNT]; /* 1-based column in the file, 0 = absent */
    size_t n_header;     /* fields in the header row */
    struct row *rows;
    size_t n_rows;
    size_t cap_rows;
};

void grp_import_opts_init(struct grp_import_opts *o, enum grp_kind kind)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->min_lat = 6.0;
    o->max_lat = 37.5;
    o->min_lon = 68.0;
    o->max_lon = 97.5;
    o->max_problems = 100;
}

static void problem(struct ctx *c, long line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(struct ctx *c, long line, int column, const char *fmt, ...)
{
    va_list ap;

    c->n_problems++;
    if (c->problems == NULL || (size_t)c->n_problems > c->o->max_problems)
        return;
    fprintf(c->problems, "%s:%ld:%d: ", c->path, line, column);
    va_start(ap, fmt);
    vfprintf(c->problems, fmt, ap);
    va_end(ap);
    fputc('\n', c->problems);
}

static int allowed(enum grp_kind kind, enum col col)
{
    switch (col) {
    case C_PARENT:
        return kind != GRP_STATE;
    case C_TYPE:
    case C_PINCODE:
    case C_POPULATION:
        return kind == GRP_LOCALITY;
    default:
        return 1;
    }
}

static int required(enum grp_kind kind, enum col col)
{
    return col == C_CODE || col == C_NAME_EN || (col == C_PARENT && kind != GRP_STATE);
}

static int read_header(struct ctx *c, struct core_csv *csv)
{
    struct core_err err;
    int rc = core_csv_next(csv, &err);
    size_t i;
    int k;

    if (rc == 0) {
        problem(c, 1, 1, "the file is empty (a header row is required)");
        return -1;
    }
    if (rc < 0) {
        problem(c, csv->line, (int)csv->bad_column, "%s", err.msg);
        return -1;
    }
    for (i = 0; i < csv->n_fields; i++) {
        const char *name = csv->field[i];
        int found = -1;

        for (k = 0; k < C_COUNT; k++) {
            if (strcasecmp(name, col_names[k]) == 0)
                found = k;
        }
        if (found < 0 || !allowed(c->o->kind, (enum col)found)) {
            problem(c, csv->line, (int)i + 1, "unknown column '%.40s' for %s files", name,
                    grp_kind_name(c->o->kind));
            continue;
        }
        if (c->col_of[found] != 0) {
            problem(c, csv->line, (int)i + 1, "column '%s' appears twice", col_names[found]);
            continue;
        }
        c->col_of[found] = (int)i + 1;
    }
    c->n_header = csv->n_fields;
    for (k = 0; k < C_COUNT; k++) {
        if (required(c->o->kind, (enum col)k) && c->col_of[k] == 0)
            problem(c, csv->line, 1, "missing required column '%s'", col_names[k]);
    }
    return c->n_problems == 0 ? 0 : -1;
}

static char *trimmed_copy(const char *s, size_t len)
{
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    return core_memdup(s, len);
}

static int parse_coord(const char *s, double lo, double hi, double *out)
{
    char *end;
    double d;

    if (s[0] == '\0')
        return -1;
    d = strtod(s, &end);
    if (*end != '\0' || !isfinite(d) || d < lo || d > hi)
        return -1;
    *out = d;
    return 0;
}

/* Check one row's values; normalise coordinates. */
static void check_row(struct ctx *c, struct row *r)
{
    enum grp_kind kind = c->o->kind;
    char **v = r->v;
    double lat = 0, lon = 0;

    if (!grp_code_ok(v[C_CODE], strlen(v[C_CODE])))
        problem(c, r->line, c->col_of[C_CODE],
                "code must be 1-%d characters of A-Z a-z 0-9 _ . : -", GRP_CODE_MAX);
    if (kind != GRP_STATE && !grp_code_ok(v[C_PARENT], strlen(v[C_PARENT])))
        problem(c, r->line, c->col_of[C_PARENT], "parent must be a unit code");
    if (v[C_NAME_EN][0] == '\0')
        problem(c, r->line, c->col_of[C_NAME_EN], "name_en is empty");
    else if (strlen(v[C_NAME_EN]) > GRP_NAME_MAX)
        problem(c, r->line, c->col_of[C_NAME_EN], "name_en is longer than %d bytes",
                GRP_NAME_MAX);
    if (strlen(v[C_NAME_HI]) > GRP_NAME_MAX)
        problem(c, r->line, c->col_of[C_NAME_HI], "name_hi is longer than %d bytes",
                GRP_NAME_MAX);
    if ((v[C_LAT][0] == '\0') != (v[C_LON][0] == '\0')) {
        problem(c, r->line, c->col_of[v[C_LAT][0] == '\0' ? C_LAT : C_LON],
                "lat and lon must be given together");
    } else if (v[C_LAT][0] != '\0') {
        int bad = 0;

        if (parse_coord(v[C_LAT], -90, 90, &lat) != 0) {
            problem(c, r->line, c->col_of[C_LAT], "lat is not a latitude");
            bad = 1;
        }
        if (parse_coord(v[C_LON], -180, 180, &lon) != 0) {
            problem(c, r->line, c->col_of[C_LON], "lon is not a longitude");
            bad = 1;
        }
        if (!bad && (lat < c->o->min_lat || lat > c->o->max_lat || lon < c->o->min_lon ||
                     lon > c->o->max_lon))
            problem(c, r->line, c->col_of[C_LAT],
                    "coordinates %.4f,%.4f are outside the accepted area %.1f-%.1f N, "
                    "%.1f-%.1f E (swapped lat and lon?)",
                    lat, lon, c->o->min_lat, c->o->max_lat, c->o->min_lon, c->o->max_lon);
        if (!bad) {
            char buf[32];

            snprintf(buf, sizeof buf, "%.6f", lat);
            free(v[C_LAT]);
            v[C_LAT] = core_strdup(buf);
            snprintf(buf, sizeof buf, "%.6f", lon);
            free(v[C_LON]);
            v[C_LON] = core_strdup(buf);
        }
    }
    if (kind == GRP_LOCALITY) {
        size_t i;
        int ok = v[C_TYPE][0] == '\0';

        for (i = 0; i < sizeof locality_types / sizeof locality_types[0]; i++)
            ok |= strcmp(v[C_TYPE], locality_types[i]) == 0;
        if (!ok)
            problem(c, r->line, c->col_of[C_TYPE],
                    "type must be village, ward, habitation, polling_station, town or other");
        if (v[C_TYPE][0] == '\0') {
            free(v[C_TYPE]);
            v[C_TYPE] = core_strdup("village");
        }
        if (v[C_PINCODE][0] != '\0' && !grp_pincode_ok(v[C_PINCODE], strlen(v[C_PINCODE])))
            problem(c, r->line, c->col_of[C_PINCODE], "pincode must be 6 digits");
        if (v[C_POPULATION][0] != '\0') {
            int64_t n;

            if (core_parse_i64(v[C_POPULATION], &n) != 0 || n < 0)
                problem(c, r->line, c->col_of[C_POPULATION],
                        "population must be a whole number");
        }
    }
}

static int read_rows(struct ctx *c, struct core_csv *csv)
{
    struct core_err err;
    int rc;

    while ((rc = core_csv_next(csv, &err)) != 0) {
        struct row *r;
        int k;

        if (rc < 0) {
            problem(c, csv->line, (int)csv->bad_column, "%s", err.msg);
            continue;
        }
        if (csv->n_fields == 1 && csv->field_len[0] == 0)
            continue;
        if (c->n_rows == c->cap_rows) {
            c->cap_rows = c->cap_rows ? c->cap_rows * 2 : 1024;
            c->rows = core_realloc(c->rows, c->cap_rows * sizeof *c->rows);
        }
        r = &c->rows[c->n_rows++];
        r->line = csv->line;
        r->shape_ok = csv->n_fields == c->n_header;
        for (k = 0; k < C_COUNT; k++) {
            int col = c->col_of[k];

            if (col != 0 && (size_t)col <= csv->n_fields)
                r->v[k] = trimmed_copy(csv->field[col - 1], csv->field_len[col - 1]);
            else
                r->v[k] = core_strdup("");
        }
        if (csv->n_fields != c->n_header) {
            size_t at = csv->n_fields < c->n_header ? csv->n_fields + 1 : c->n_header + 1;

            problem(c, r->line, (int)at, "expected %zu fields, found %zu", c->n_header,
                    csv->n_fields);
            continue;
        }
        check_row(c, r);
        if (c->o->progress != NULL && c->n_rows % 20000 == 0)
            fprintf(c->o->progress, "import: read %zu rows\n", c->n_rows);
    }
    return 0;
}

/* ---- cross-row checks ---- */

static int cmp_row_code(const void *a, const void *b)
{
    const struct row *x = *(const struct row *const *)a;
    const struct row *y = *(const struct row *const *)b;
    int d = strcmp(x->v[C_CODE], y->v[C_CODE]);

    return d != 0 ? d : (x->line < y->line ? -1 : x->line > y->line);
}

static void check_duplicates(struct ctx *c)
{
    struct row **sorted = core_calloc(c->n_rows, sizeof *sorted);
    size_t i;

    for (i = 0; i < c->n_rows; i++)
        sorted[i] = &c->rows[i];
    qsort(sorted, c->n_rows, sizeof *sorted, cmp_row_code);
    for (i = 1; i < c->n_rows; i++) {
        if (strcmp(sorted[i]->v[C_CODE], sorted[i - 1]->v[C_CODE]) == 0)
            problem(c, sorted[i]->line, c->col_of[C_CODE],
                    "duplicate code '%s' (first on line %ld)", sorted[i]->v[C_CODE],
                    sorted[i - 1]->line);
    }
    free(sorted);
}

/* Existing state of every row's unit, fetched in pipelined batches. */
struct existing {
    redisReply *reply; /* HMGET k p en hi lat lon t pin pop, or NULL */
};

static const char *ex_field(const struct existing *e, int i)
{
    const redisReply *v;

    if (e->reply == NULL || e->reply->type != REDIS_REPLY_ARRAY || (size_t)i >= e->reply->elements)
        return NULL;
    v = e->reply->element[i];
    return v->type == REDIS_REPLY_STRING ? v->str : NULL;
}

static int fetch_existing(struct ctx *c, struct core_redis *r, struct existing *ex,
                          struct core_err *err)
{
    size_t i;

    for (i = 0; i < c->n_rows; i += BATCH) {
        size_t end = i + BATCH < c->n_rows ? i + BATCH : c->n_rows;
        size_t k;

        for (k = i; k < end; k++) {
            if (core_redis_appendf(r, err, "HMGET js:u:{%s} k p en hi lat lon t pin pop",
                                   c->rows[k].v[C_CODE]) != 0)
                return -1;
        }
        for (k = i; k < end; k++) {
            if (core_redis_get_reply(r, &ex[k].reply, err) != 0)
                return -1;
        }
    }
    return 0;
}

/* Parents must exist and be one level up; codes must not belong to another level. */
static int check_links(struct ctx *c, struct core_redis *r, const struct existing *ex,
                       struct core_err *err)
{
    enum grp_kind want = c->o->kind == GRP_STATE ? GRP_STATE : (enum grp_kind)(c->o->kind - 1);
    size_t i;

    for (i = 0; i < c->n_rows; i++) {
        const char *k = ex_field(&ex[i], 0);

        if (!c->rows[i].shape_ok)
            continue;
        if (k != NULL && strcmp(k, grp_kind_name(c->o->kind)) != 0)
            problem(c, c->rows[i].line, c->col_of[C_CODE], "code '%s' is already a %s",
                    c->rows[i].v[C_CODE], k);
    }
    if (c->o->kind == GRP_STATE)
        return 0;
    for (i = 0; i < c->n_rows; i += BATCH) {
        size_t end = i + BATCH < c->n_rows ? i + BATCH : c->n_rows;
        size_t k;

        for (k = i; k < end; k++) {
            if (core_redis_appendf(r, err, "HGET js:u:{%s} k", c->rows[k].v[C_PARENT]) != 0)
                return -1;
        }
        for (k = i; k < end; k++) {
            redisReply *rep;
            enum grp_kind pk;

            if (core_redis_get_reply(r, &rep, err) != 0)
                return -1;
            if (!c->rows[k].shape_ok || !grp_code_ok(c->rows[k].v[C_PARENT],
                                                      strlen(c->rows[k].v[C_PARENT])))
                ; /* already reported */
            else if (rep->type != REDIS_REPLY_STRING)
                problem(c, c->rows[k].line, c->col_of[C_PARENT],
                        "unknown parent '%s' (import the %s level first)",
                        c->rows[k].v[C_PARENT], grp_kind_name(want));
            else if (grp_kind_parse(rep->str, &pk) != 0 || pk != want)
                problem(c, c->rows[k].line, c->col_of[C_PARENT],
                        "parent '%s' is a %s; a %s's parent must be a %s",
                        c->rows[k].v[C_PARENT], rep->str, grp_kind_name(c->o->kind),
                        grp_kind_name(want));
            freeReplyObject(rep);
        }
    }
    return 0;
}

/* ---- writing ---- */

static int same(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

static const int field_col[] = {-1, C_PARENT, C_NAME_EN, C_NAME_HI, C_LAT,
                                C_LON, C_TYPE, C_PINCODE, C_POPULATION};
static const char *const field_name[] = {"k", "p", "en", "hi", "lat", "lon", "t", "pin", "pop"};
#define N_FIELDS 9

/* True if the stored unit differs from `row` (or does not exist). */
static int row_changed(const struct ctx *c, const struct row *row, const struct existing *ex)
{
    int i;

    for (i = 0; i < N_FIELDS; i++) {
        const char *want = i == 0 ? grp_kind_name(c->o->kind) : row->v[field_col[i]];

        if (!same(ex_field(ex, i), want))
            return 1;
    }
    return 0;
}

/* Queue the commands that make row `r` true; returns how many were queued. */
static int queue_row(struct ctx *c, struct core_redis *rd, const struct row *row,
                     const struct existing *ex, int *changed, struct core_err *err)
{
    const char *kind = grp_kind_name(c->o->kind);
    char *const *v = row->v;
    const char *old_parent = ex_field(ex, 1);
    const char *old_pin = ex_field(ex, 7);
    const char *argv[2 + 2 * C_COUNT + 2];
    size_t lens[2 + 2 * C_COUNT + 2];
    char key[GRP_CODE_MAX + 16];
    int n = 0;
    int q = 0;

    *changed = row_changed(c, row, ex);
    if (!*changed)
        return 0;
    snprintf(key, sizeof key, "js:u:{%s}", v[C_CODE]);
    argv[n++] = "HSET";
    argv[n++] = key;
    argv[n++] = "k";
    argv[n++] = kind;
    for (int i = 1; i < N_FIELDS; i++) {
        if (v[field_col[i]][0] == '\0')
            continue;
        argv[n++] = field_name[i];
        argv[n++] = v[field_col[i]];
    }
    for (int i = 0; i < n; i++)
        lens[i] = strlen(argv[i]);
    if (core_redis_append(rd, n, argv, lens, err) != 0)
        return -1;
    q++;
    /* fields that became empty are removed */
    for (int i = 1; i < N_FIELDS; i++) {
        if (v[field_col[i]][0] == '\0' && ex_field(ex, i) != NULL) {
            if (core_redis_appendf(rd, err, "HDEL %s %s", key, field_name[i]) != 0)
                return -1;
            q++;
        }
    }
    if (core_redis_appendf(rd, err, "SADD js:kind:%s %s", kind, v[C_CODE]) != 0)
        return -1;
    q++;
    if (c->o->kind != GRP_STATE) {
        if (core_redis_appendf(rd, err, "SADD js:u:{%s}:c %s", v[C_PARENT], v[C_CODE]) != 0)
            return -1;
        q++;
        if (old_parent != NULL && strcmp(old_parent, v[C_PARENT]) != 0) {
            if (core_redis_appendf(rd, err, "SREM js:u:{%s}:c %s", old_parent, v[C_CODE]) != 0)
                return -1;
            q++;
        }
    }
    if (c->o->kind == GRP_LOCALITY) {
        if (v[C_LAT][0] != '\0') {
            if (core_redis_appendf(rd, err, "GEOADD js:geo:loc %s %s %s", v[C_LON], v[C_LAT],
                                   v[C_CODE]) != 0)
                return -1;
        } else if (core_redis_appendf(rd, err, "ZREM js:geo:loc %s", v[C_CODE]) != 0) {
            return -1;
        }
        q++;
        if (old_pin != NULL && !same(old_pin, v[C_PINCODE])) {
            if (core_redis_appendf(rd, err, "SREM js:pin:{%s} %s", old_pin, v[C_CODE]) != 0)
                return -1;
            q++;
        }
        if (v[C_PINCODE][0] != '\0') {
            if (core_redis_appendf(rd, err, "SADD js:pin:{%s} %s", v[C_PINCODE], v[C_CODE]) != 0)
                return -1;
            q++;
        }
    }
    return q;
}

static int write_rows(struct ctx *c, struct core_redis *r, const struct existing *ex,
                      struct grp_import_result *res, struct core_err *err)
{
    size_t i;

    for (i = 0; i < c->n_rows; i += BATCH) {
        size_t end = i + BATCH < c->n_rows ? i + BATCH : c->n_rows;
        long queued = 0;
        size_t k;

        for (k = i; k < end; k++) {
            int changed;
            int q = queue_row(c, r, &c->rows[k], &ex[k], &changed, err);

            if (q < 0)
                return -1;
            queued += q;
            if (!changed)
                res->unchanged++;
            else if (ex_field(&ex[k], 0) == NULL)
                res->created++;
            else
                res->updated++;
        }
        while (queued-- > 0) {
            if (core_redis_get_reply(r, NULL, err) != 0)
                return -1;
        }
        if (c->o->progress != NULL && end % 20000 < BATCH && end != c->n_rows)
            fprintf(c->o->progress, "import: wrote %zu of %zu rows (%zu%%)\n", end, c->n_rows,
                    end * 100 / c->n_rows);
    }
    return core_redis_cmdf(r, NULL, err, "INCR js:hier:ver");
}

int grp_import(struct core_redis *r, const char *path, const char *data, size_t len,
               const struct grp_import_opts *o, FILE *problems, struct grp_import_result *res,
               struct core_err *err)
{
    struct ctx c;
    struct core_csv csv;
    struct existing *ex = NULL;
    size_t i;
    int rc = -1;

    memset(&c, 0, sizeof c);
    memset(res, 0, sizeof *res);
    c.path = path;
    c.o = o;
    c.problems = problems;
    core_csv_init(&csv, data, len);
    if (read_header(&c, &csv) == 0) {
        read_rows(&c, &csv);
        check_duplicates(&c);
    }
    res->rows = (long)c.n_rows;
    if (c.n_header > 0) {
        /* Links are checked even when rows have problems: report them all at once. */
        long before = c.n_problems;

        ex = core_calloc(c.n_rows + 1, sizeof *ex);
        if (fetch_existing(&c, r, ex, err) != 0 || check_links(&c, r, ex, err) != 0) {
            if (before == 0)
                goto out; /* Redis is the only problem */
            if (problems != NULL)
                fprintf(problems, "%s: parents not checked: %s\n", path, err->msg);
        }
    }
    res->problems = c.n_problems;
    if (c.n_problems > 0) {
        if ((size_t)c.n_problems > o->max_problems && problems != NULL)
            fprintf(problems, "%s: ... and %ld more problem(s)\n", path,
                    c.n_problems - (long)o->max_problems);
        core_err_set(err, CORE_EX_DATAERR, "%s: %ld problem(s); nothing imported", path,
                     c.n_problems);
        goto out;
    }
    if (o->dry_run) {
        for (i = 0; i < c.n_rows; i++) {
            if (ex_field(&ex[i], 0) == NULL)
                res->created++;
            else if (row_changed(&c, &c.rows[i], &ex[i]))
                res->updated++;
            else
                res->unchanged++;
        }
        rc = 0;
        goto out;
    }
    rc = write_rows(&c, r, ex, res, err);
out:
    for (i = 0; i < c.n_rows; i++) {
        for (int k = 0; k < C_COUNT; k++)
            free(c.rows[i].v[k]);
        if (ex != NULL && ex[i].reply != NULL)
            freeReplyObject(ex[i].reply);
    }
    free(ex);
    free(c.rows);
    core_csv_cleanup(&csv);
    return rc;
}

/* ======================= officers ======================= */

enum ocol { O_CODE, O_UNIT, O_ROLE, O_NAME, O_PHONE, O_COUNT };

static const char *const ocol_names[O_COUNT] = {"code", "unit", "role", "name", "phone"};

/* One officer row; strings owned. `wa` is the normalised phone (digits). */
struct orow {
    long line;
    int ok; /* shape and values checked without problems */
    int code_ok, unit_ok, role_ok, phone_ok; /* each value on its own */
    char *v[O_COUNT];
    char wa[CRY_WA_ID_MAX + 1];
    enum grp_off_role role;
    char mid[CRY_MID_LEN];  /* existing member of the phone, or "" */
    struct grp_officer cur; /* existing officer record of that member */
    int has_cur;
};

struct octx {
    const char *path;
    const struct grp_import_opts *o;
    FILE *problems;
    long n_problems;
    int col_of[O_COUNT];
    size_t n_header;
    struct orow *rows;
    size_t n_rows;
    size_t cap_rows;
};

static void oproblem(struct octx *c, long line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void oproblem(struct octx *c, long line, int column, const char *fmt, ...)
{
    va_list ap;

    c->n_problems++;
    if (c->problems == NULL || (size_t)c->n_problems > c->o->max_problems)
        return;
    fprintf(c->problems, "%s:%ld:%d: ", c->path, line, column);
    va_start(ap, fmt);
    vfprintf(c->problems, fmt, ap);
    va_end(ap);
    fputc('\n', c->problems);
}

/*
 * Normalise a phone: drop spaces, hyphens, dots, brackets and one leading
 * '+'; the rest must be 11-15 digits (country code first). Returns 0, -1
 * (malformed) or -2 (looks like a 10-digit Indian number without 91).
 */
static int normalise_phone(const char *s, char out[CRY_WA_ID_MAX + 1])
{
    size_t n = 0;
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        char ch = s[i];

        if (ch == ' ' || ch == '-' || ch == '.' || ch == '(' || ch == ')' ||
            (ch == '+' && n == 0 && i == strspn(s, " ")))
            continue;
        if (ch < '0' || ch > '9' || n == CRY_WA_ID_MAX)
            return -1;
        out[n++] = ch;
    }
    out[n] = '\0';
    if (n == 10 && out[0] >= '6' && out[0] <= '9')
        return -2;
    if (n < 11 || n > 15 || out[0] == '0')
        return -1;
    return 0;
}

static int oread_header(struct octx *c, struct core_csv *csv)
{
    struct core_err err;
    int rc = core_csv_next(csv, &err);

    if (rc == 0) {
        oproblem(c, 1, 1, "the file is empty (a header row is required)");
        return -1;
    }
    if (rc < 0) {
        oproblem(c, csv->line, (int)csv->bad_column, "%s", err.msg);
        return -1;
    }
    for (size_t i = 0; i < csv->n_fields; i++) {
        int found = -1;

        for (int k = 0; k < O_COUNT; k++) {
            if (strcasecmp(csv->field[i], ocol_names[k]) == 0)
                found = k;
        }
        if (found < 0) {
            oproblem(c, csv->line, (int)i + 1, "unknown column '%.40s' for officer files",
                     csv->field[i]);
            continue;
        }
        if (c->col_of[found] != 0) {
            oproblem(c, csv->line, (int)i + 1, "column '%s' appears twice", ocol_names[found]);
            continue;
        }
        c->col_of[found] = (int)i + 1;
    }
    c->n_header = csv->n_fields;
    for (int k = 0; k < O_COUNT; k++) {
        if (c->col_of[k] == 0)
            oproblem(c, csv->line, 1, "missing required column '%s'", ocol_names[k]);
    }
    return c->n_problems == 0 ? 0 : -1;
}

static void ocheck_row(struct octx *c, struct orow *r)
{
    long before = c->n_problems;
    int rc;

    r->code_ok = grp_code_ok(r->v[O_CODE], strlen(r->v[O_CODE]));
    if (!r->code_ok)
        oproblem(c, r->line, c->col_of[O_CODE],
                 "code must be 1-%d characters of A-Z a-z 0-9 _ . : -", GRP_CODE_MAX);
    r->unit_ok = grp_code_ok(r->v[O_UNIT], strlen(r->v[O_UNIT]));
    if (!r->unit_ok)
        oproblem(c, r->line, c->col_of[O_UNIT], "unit must be a unit code");
    r->role_ok = grp_off_role_parse(r->v[O_ROLE], &r->role) == 0;
    if (!r->role_ok)
        oproblem(c, r->line, c->col_of[O_ROLE], "role must be beat, sho, district or hq");
    if (r->v[O_NAME][0] == '\0')
        oproblem(c, r->line, c->col_of[O_NAME], "name (the designation) is empty");
    else if (strlen(r->v[O_NAME]) > GRP_NAME_MAX)
        oproblem(c, r->line, c->col_of[O_NAME], "name is longer than %d bytes", GRP_NAME_MAX);
    /* never quote the number: problems are printed and logged */
    rc = normalise_phone(r->v[O_PHONE], r->wa);
    if (rc == -2)
        oproblem(c, r->line, c->col_of[O_PHONE],
                 "phone has 10 digits: write it with the country code (91 for India)");
    else if (rc != 0)
        oproblem(c, r->line, c->col_of[O_PHONE],
                 "phone must be a WhatsApp number with country code: 11-15 digits");
    r->phone_ok = rc == 0;
    r->ok = c->n_problems == before;
}

static void oread_rows(struct octx *c, struct core_csv *csv)
{
    struct core_err err;
    int rc;

    while ((rc = core_csv_next(csv, &err)) != 0) {
        struct orow *r;

        if (rc < 0) {
            oproblem(c, csv->line, (int)csv->bad_column, "%s", err.msg);
            continue;
        }
        if (csv->n_fields == 1 && csv->field_len[0] == 0)
            continue;
        if (c->n_rows == c->cap_rows) {
            c->cap_rows = c->cap_rows ? c->cap_rows * 2 : 256;
            c->rows = core_realloc(c->rows, c->cap_rows * sizeof *c->rows);
        }
        r = &c->rows[c->n_rows++];
        memset(r, 0, sizeof *r);
        r->line = csv->line;
        for (int k = 0; k < O_COUNT; k++) {
            int col = c->col_of[k];

            if (col != 0 && (size_t)col <= csv->n_fields)
                r->v[k] = trimmed_copy(csv->field[col - 1], csv->field_len[col - 1]);
            else
                r->v[k] = core_strdup("");
        }
        if (csv->n_fields != c->n_header) {
            size_t at = csv->n_fields < c->n_header ? csv->n_fields + 1 : c->n_header + 1;

            oproblem(c, r->line, (int)at, "expected %zu fields, found %zu", c->n_header,
                     csv->n_fields);
            continue;
        }
        ocheck_row(c, r);
    }
}

static int cmp_orow(const void *a, const void *b, int col)
{
    const struct orow *x = *(const struct orow *const *)a;
    const struct orow *y = *(const struct orow *const *)b;
    int d = col < 0 ? strcmp(x->wa, y->wa) : strcmp(x->v[col], y->v[col]);

    return d != 0 ? d : (x->line < y->line ? -1 : x->line > y->line);
}

static int cmp_orow_code(const void *a, const void *b)
{
    return cmp_orow(a, b, O_CODE);
}

static int cmp_orow_phone(const void *a, const void *b)
{
    return cmp_orow(a, b, -1);
}

static void ocheck_duplicates(struct octx *c)
{
    struct orow **s = core_calloc(c->n_rows + 1, sizeof *s);
    size_t n = 0;

    for (size_t i = 0; i < c->n_rows; i++) {
        if (c->rows[i].code_ok)
            s[n++] = &c->rows[i];
    }
    qsort(s, n, sizeof *s, cmp_orow_code);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(s[i]->v[O_CODE], s[i - 1]->v[O_CODE]) == 0)
            oproblem(c, s[i]->line, c->col_of[O_CODE], "duplicate code '%s' (first on line %ld)",
                     s[i]->v[O_CODE], s[i - 1]->line);
    }
    n = 0;
    for (size_t i = 0; i < c->n_rows; i++) {
        if (c->rows[i].phone_ok)
            s[n++] = &c->rows[i];
    }
    qsort(s, n, sizeof *s, cmp_orow_phone);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(s[i]->wa, s[i - 1]->wa) == 0)
            oproblem(c, s[i]->line, c->col_of[O_PHONE],
                     "the same phone as line %ld (one number per officer)", s[i - 1]->line);
    }
    free(s);
}

/* Units exist and fit the role; phones do not belong to another officer. */
static int ocheck_links(struct octx *c, struct core_redis *r, struct cry_identity *ident,
                        struct core_err *err)
{
    for (size_t i = 0; i < c->n_rows; i += BATCH) {
        size_t end = i + BATCH < c->n_rows ? i + BATCH : c->n_rows;

        for (size_t k = i; k < end; k++) {
            if (core_redis_appendf(r, err, "HGET js:u:{%s} k", c->rows[k].v[O_UNIT]) != 0)
                return -1;
        }
        for (size_t k = i; k < end; k++) {
            struct orow *row = &c->rows[k];
            redisReply *rep;
            enum grp_kind kind;

            if (core_redis_get_reply(r, &rep, err) != 0)
                return -1;
            if (!row->unit_ok)
                ; /* already reported */
            else if (rep->type != REDIS_REPLY_STRING)
                oproblem(c, row->line, c->col_of[O_UNIT], "unknown unit '%s'", row->v[O_UNIT]);
            else if (row->role_ok &&
                     (grp_kind_parse(rep->str, &kind) != 0 || kind != grp_off_role_kind(row->role)))
                oproblem(c, row->line, c->col_of[O_UNIT],
                         "unit '%s' is a %s; a %s officer's unit must be a %s", row->v[O_UNIT],
                         rep->str, grp_off_role_name(row->role),
                         grp_kind_name(grp_off_role_kind(row->role)));
            freeReplyObject(rep);
        }
    }
    for (size_t i = 0; i < c->n_rows; i++) {
        struct orow *row = &c->rows[i];
        int found = 0;
        int rc;

        if (!row->phone_ok)
            continue;
        if (cry_identity_find(ident, r, row->wa, NULL, row->mid, &found, err) != 0)
            return -1;
        if (!found) {
            row->mid[0] = '\0';
            continue;
        }
        rc = grp_off_get(r, row->mid, &row->cur, err);
        if (rc < 0)
            return -1;
        row->has_cur = rc == 1;
        if (row->has_cur && row->code_ok && strcmp(row->cur.code, row->v[O_CODE]) != 0)
            oproblem(c, row->line, c->col_of[O_PHONE],
                     "this phone already belongs to officer '%s'", row->cur.code);
    }
    return 0;
}

static int same_officer(const struct orow *row)
{
    return row->has_cur && row->cur.role == row->role &&
           strcmp(row->cur.unit, row->v[O_UNIT]) == 0 &&
           strcmp(row->cur.name, row->v[O_NAME]) == 0 &&
           strcmp(row->cur.code, row->v[O_CODE]) == 0;
}

/* Write one officer (idempotent); *what: 0 unchanged, 1 created, 2 updated. */
static int owrite_row(struct core_redis *r, struct cry_identity *ident, struct cry_audit *audit,
                      const char *actor, struct orow *row, int *what, struct core_err *err)
{
    char key[64];
    char ukey[64];
    char old_mid[CRY_MID_LEN] = "";
    char object[GRP_CODE_MAX + 16];
    char reason[160];
    struct grp_officer prev;
    int had_code;
    int created = 0;
    redisReply *rep;

    *what = 0;
    if (cry_identity_resolve(ident, r, row->wa, NULL, NULL, 0, row->mid, &created, err) != 0)
        return -1;
    /* the code's officer until now (another number: this is a new phone) */
    had_code = grp_off_find_code(r, row->v[O_CODE], &prev, err);
    if (had_code < 0)
        return -1;
    if (had_code == 1)
        snprintf(old_mid, sizeof old_mid, "%s", prev.mid);
    if (grp_off_get(r, row->mid, &row->cur, err) < 0)
        return -1;
    row->has_cur = row->cur.mid[0] != '\0';
    if (same_officer(row) && had_code == 1 && strcmp(old_mid, row->mid) == 0)
        return 0;
    grp_off_key(row->mid, key, sizeof key);
    if (core_redis_cmdf(r, &rep, err, "HSET %s role %s unit %s name %s code %s", key,
                        grp_off_role_name(row->role), row->v[O_UNIT], row->v[O_NAME],
                        row->v[O_CODE]) != 0)
        return -1;
    freeReplyObject(rep);
    grp_off_unit_key(row->v[O_UNIT], ukey, sizeof ukey);
    if (core_redis_cmdf(r, NULL, err, "SADD %s %s", ukey, row->mid) != 0)
        return -1;
    if (row->has_cur && strcmp(row->cur.unit, row->v[O_UNIT]) != 0) {
        grp_off_unit_key(row->cur.unit, ukey, sizeof ukey);
        if (core_redis_cmdf(r, NULL, err, "SREM %s %s", ukey, row->mid) != 0)
            return -1;
    }
    if (core_redis_cmdf(r, NULL, err, "HSET " GRP_OFF_CODES_KEY " %s %s", row->v[O_CODE],
                        row->mid) != 0)
        return -1;
    if (old_mid[0] != '\0' && strcmp(old_mid, row->mid) != 0) {
        /* the officer changed number: the old member is no officer any more */
        grp_off_unit_key(prev.unit, ukey, sizeof ukey);
        grp_off_key(old_mid, key, sizeof key);
        if (core_redis_cmdf(r, NULL, err, "SREM %s %s", ukey, old_mid) != 0 ||
            core_redis_cmdf(r, NULL, err, "DEL %s", key) != 0)
            return -1;
    }
    *what = had_code == 1 || row->has_cur ? 2 : 1;
    snprintf(object, sizeof object, "officer:%s", row->v[O_CODE]);
    snprintf(reason, sizeof reason, "role=%s unit=%s%s", grp_off_role_name(row->role),
             row->v[O_UNIT],
             old_mid[0] != '\0' && strcmp(old_mid, row->mid) != 0 ? " new-phone" : "");
    if (audit != NULL &&
        cry_audit_append(audit, r, actor, *what == 1 ? "officer.register" : "officer.update",
                         object, reason, NULL, err) != 0)
        return -1;
    return 0;
}

int grp_import_officers(struct core_redis *r, struct cry_identity *ident, struct cry_audit *audit,
                        const char *actor, const char *path, const char *data, size_t len,
                        const struct grp_import_opts *o, FILE *problems,
                        struct grp_import_result *res, struct core_err *err)
{
    struct octx c;
    struct core_csv csv;
    size_t i;
    int rc = -1;

    memset(&c, 0, sizeof c);
    memset(res, 0, sizeof *res);
    c.path = path;
    c.o = o;
    c.problems = problems;
    core_csv_init(&csv, data, len);
    if (oread_header(&c, &csv) == 0) {
        oread_rows(&c, &csv);
        ocheck_duplicates(&c);
    }
    res->rows = (long)c.n_rows;
    if (c.n_header > 0) {
        long before = c.n_problems;

        if (ocheck_links(&c, r, ident, err) != 0) {
            if (before == 0)
                goto out; /* Redis is the only problem */
            if (problems != NULL)
                fprintf(problems, "%s: units and phones not checked: %s\n", path, err->msg);
        }
    }
    res->problems = c.n_problems;
    if (c.n_problems > 0) {
        if ((size_t)c.n_problems > o->max_problems && problems != NULL)
            fprintf(problems, "%s: ... and %ld more problem(s)\n", path,
                    c.n_problems - (long)o->max_problems);
        core_err_set(err, CORE_EX_DATAERR, "%s: %ld problem(s); nothing imported", path,
                     c.n_problems);
        goto out;
    }
    for (i = 0; i < c.n_rows; i++) {
        struct orow *row = &c.rows[i];
        int what = 0;

        if (o->dry_run) {
            struct grp_officer prev;
            int had = grp_off_find_code(r, row->v[O_CODE], &prev, err);

            if (had < 0)
                goto out;
            if (had == 0 && !row->has_cur)
                res->created++;
            else if (same_officer(row) && had == 1 && strcmp(prev.mid, row->mid) == 0)
                res->unchanged++;
            else
                res->updated++;
            continue;
        }
        if (owrite_row(r, ident, audit, actor, row, &what, err) != 0)
            goto out;
        if (what == 0)
            res->unchanged++;
        else if (what == 1)
            res->created++;
        else
            res->updated++;
        if (o->progress != NULL && (i + 1) % 1000 == 0 && i + 1 != c.n_rows)
            fprintf(o->progress, "import: wrote %zu of %zu officers\n", i + 1, c.n_rows);
    }
    rc = 0;
out:
    for (i = 0; i < c.n_rows; i++) {
        sodium_memzero(c.rows[i].v[O_PHONE], strlen(c.rows[i].v[O_PHONE]));
        for (int k = 0; k < O_COUNT; k++)
            free(c.rows[i].v[k]);
        sodium_memzero(c.rows[i].wa, sizeof c.rows[i].wa);
    }
    free(c.rows);
    core_csv_cleanup(&csv);
    return rc;
}
