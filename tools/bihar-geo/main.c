/*
 * tools/bihar-geo/main.c - turn the public Bihar geography files
 * (../shared/data/geo) into janseva's hierarchy import CSVs.
 *
 * No public list of Bihar's police stations or beats exists, so the layout is
 * SYNTHETIC and labelled so in every name: one thana per CD block (534),
 * one beat per thana, and each district has an extra "unmapped" thana/beat
 * for localities whose block cannot be determined. Localities are the Census
 * 2011 villages (mapped to a block by sub-district name; no coordinates),
 * PMGSY habitations (coordinates, population) and 2025 polling stations
 * (coordinates), each placed under the nearest block centroid of its
 * district when the block is not given by name. PIN codes come from the
 * nearest post office of the same district.
 *
 * Usage: bihar-geo DATA_DIR OUT_DIR  (writes state.csv ... locality.csv)
 */
#include "core/buf.h"
#include "core/csv.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- input ---- */

struct table {
    char *path;
    char *data;
    size_t len;
    struct core_csv csv;
    char *header[CORE_CSV_MAX_FIELDS];
    size_t n_header;
};

/* The whole file; .gz files are read through gzip(1) (no zlib dependency). */
static char *slurp(const char *path, size_t *len)
{
    size_t pl = strlen(path);
    int gz = pl > 3 && strcmp(path + pl - 3, ".gz") == 0;
    struct core_buf b;
    char chunk[65536];
    char cmd[1200];
    FILE *f;
    size_t n;

    if (gz) {
        if (strchr(path, '\'') != NULL)
            return NULL;
        snprintf(cmd, sizeof cmd, "gzip -dc '%s'", path);
        f = popen(cmd, "r");
    } else {
        f = fopen(path, "rb");
    }
    if (f == NULL)
        return NULL;
    core_buf_init(&b, 0);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        core_buf_append(&b, chunk, n);
    if ((gz ? pclose(f) : fclose(f)) != 0) {
        core_buf_cleanup(&b);
        errno = EIO;
        return NULL;
    }
    *len = b.len;
    return core_buf_steal(&b);
}

static int table_open(struct table *t, const char *dir, const char *name)
{
    char path[1024];
    struct core_err err;

    snprintf(path, sizeof path, "%s/geo/%s", dir, name);
    memset(t, 0, sizeof *t);
    t->path = core_strdup(path);
    t->data = slurp(path, &t->len);
    if (t->data == NULL) {
        fprintf(stderr, "bihar-geo: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    core_csv_init(&t->csv, t->data, t->len);
    if (core_csv_next(&t->csv, &err) != 1) {
        fprintf(stderr, "bihar-geo: %s: no header\n", path);
        return -1;
    }
    for (size_t i = 0; i < t->csv.n_fields; i++)
        t->header[i] = core_strdup(t->csv.field[i]);
    t->n_header = t->csv.n_fields;
    return 0;
}

static void table_close(struct table *t)
{
    for (size_t i = 0; i < t->n_header; i++)
        free(t->header[i]);
    core_csv_cleanup(&t->csv);
    free(t->data);
    free(t->path);
}

static int col(const struct table *t, const char *name)
{
    for (size_t i = 0; i < t->n_header; i++) {
        if (strcmp(t->header[i], name) == 0)
            return (int)i;
    }
    fprintf(stderr, "bihar-geo: %s has no column %s\n", t->path, name);
    exit(65);
}

/* Next row; returns 0 at the end. Malformed rows are skipped with a note. */
static int table_next(struct table *t)
{
    struct core_err err;
    int rc;

    while ((rc = core_csv_next(&t->csv, &err)) < 0)
        fprintf(stderr, "bihar-geo: %s:%ld: skipped: %s\n", t->path, t->csv.line, err.msg);
    return rc == 1 && t->csv.n_fields == t->n_header ? 1 : rc == 1 ? table_next(t) : 0;
}

static const char *f(const struct table *t, int c)
{
    return t->csv.field[c];
}

/* lower-case ASCII letters and digits only: "Purnia East" -> "purniaeast" */
static void norm(const char *s, char *out, size_t n)
{
    size_t k = 0;

    for (; *s != '\0' && k + 1 < n; s++) {
        if (isalnum((unsigned char)*s))
            out[k++] = (char)tolower((unsigned char)*s);
    }
    out[k] = '\0';
}

static void title(const char *s, char *out, size_t n)
{
    size_t k = 0;
    int start = 1;

    for (; *s != '\0' && k + 1 < n; s++) {
        unsigned char c = (unsigned char)*s;

        out[k++] = (char)(start ? toupper(c) : tolower(c));
        start = !isalpha(c);
    }
    out[k] = '\0';
}

static int in_bihar(double lat, double lon)
{
    return lat >= 24.2 && lat <= 27.7 && lon >= 83.2 && lon <= 88.4;
}

/* Keep letters and digits of `s` for use inside a unit code. */
static void code_part(const char *s, char *out, size_t n)
{
    size_t k = 0;

    for (; *s != '\0' && k + 1 < n; s++) {
        if (isalnum((unsigned char)*s))
            out[k++] = *s;
    }
    out[k] = '\0';
}

/* Cut `s` to at most `max` bytes without splitting a UTF-8 sequence. */
static void cut_utf8(char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    s[max] = '\0';
}

/* A set of codes already written (open addressing; codes are short). */
#define SEEN_SLOTS (1u << 19)
#define CODE_LEN 48
static char (*seen)[CODE_LEN];

static unsigned hash_str(const char *s)
{
    unsigned h = 2166136261u;

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Make `code` unique by appending -2, -3, ... when it was used before. */
static void unique_code(char code[CODE_LEN])
{
    char base[CODE_LEN];
    int k = 1;

    memcpy(base, code, CODE_LEN);
    for (;;) {
        unsigned i = hash_str(code) & (SEEN_SLOTS - 1);

        while (seen[i][0] != '\0' && strcmp(seen[i], code) != 0)
            i = (i + 1) & (SEEN_SLOTS - 1);
        if (seen[i][0] == '\0') {
            memcpy(seen[i], code, CODE_LEN);
            return;
        }
        if (snprintf(code, CODE_LEN, "%.36s-%d", base, ++k) >= CODE_LEN)
            code[CODE_LEN - 1] = '\0';
    }
}

/* ---- model ---- */

#define MAX_DISTRICTS 64
#define MAX_BLOCKS 1024

struct district {
    int lgd, census, eci, pmgsy;
    char name[64];
    char key[64]; /* normalised name */
    int n_blocks;
    int has_unmapped;
};

struct block {
    int lgd;
    int district; /* index */
    char name[64];
    char name_hi[128];
    char key[64];
    int pmgsy_id;
    double lat, lon;
    int has_coords;
};

struct po {
    char pin[8];
    int district;
    double lat, lon;
};

static struct district districts[MAX_DISTRICTS];
static int n_districts;
static struct block blocks[MAX_BLOCKS];
static int n_blocks;
static struct po *pos;
static size_t n_pos;

static int district_by(int which, int v)
{
    for (int i = 0; i < n_districts; i++) {
        int x = which == 0 ? districts[i].lgd
                : which == 1 ? districts[i].census
                : which == 2 ? districts[i].eci
                             : districts[i].pmgsy;

        if (x == v)
            return i;
    }
    return -1;
}

static int district_by_name(const char *name)
{
    char k[64];

    norm(name, k, sizeof k);
    for (int i = 0; i < n_districts; i++) {
        if (strcmp(districts[i].key, k) == 0)
            return i;
    }
    return -1;
}

static int block_by_name(int d, const char *name)
{
    char k[64];

    norm(name, k, sizeof k);
    for (int i = 0; i < n_blocks; i++) {
        if (blocks[i].district == d && strcmp(blocks[i].key, k) == 0)
            return i;
    }
    return -1;
}

static double dist2(double lat1, double lon1, double lat2, double lon2)
{
    double dx = (lon1 - lon2) * cos((lat1 + lat2) * M_PI / 360.0);
    double dy = lat1 - lat2;

    return dx * dx + dy * dy;
}

static int nearest_block(int d, double lat, double lon)
{
    int best = -1;
    double bd = 1e18;

    for (int i = 0; i < n_blocks; i++) {
        double x;

        if (blocks[i].district != d || !blocks[i].has_coords)
            continue;
        x = dist2(lat, lon, blocks[i].lat, blocks[i].lon);
        if (x < bd) {
            bd = x;
            best = i;
        }
    }
    return best;
}

static const char *nearest_pin(int d, double lat, double lon)
{
    const char *best = NULL;
    double bd = 1e18;

    for (size_t i = 0; i < n_pos; i++) {
        double x;

        if (pos[i].district != d)
            continue;
        x = dist2(lat, lon, pos[i].lat, pos[i].lon);
        if (x < bd) {
            bd = x;
            best = pos[i].pin;
        }
    }
    return best != NULL ? best : "";
}

static int to_int(const char *s)
{
    int64_t v;

    return core_parse_i64(s, &v) == 0 ? (int)v : -1;
}

static int to_coords(const char *slat, const char *slon, double *lat, double *lon)
{
    char *e1;
    char *e2;

    if (slat[0] == '\0' || slon[0] == '\0')
        return -1;
    *lat = strtod(slat, &e1);
    *lon = strtod(slon, &e2);
    if (*e1 != '\0' || *e2 != '\0' || !in_bihar(*lat, *lon))
        return -1;
    return 0;
}

/* ---- output ---- */

static void csv_field(FILE *out, const char *s, int last)
{
    if (strpbrk(s, ",\"\n\r") != NULL) {
        fputc('"', out);
        for (; *s != '\0'; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    } else {
        fputs(s, out);
    }
    fputc(last ? '\n' : ',', out);
}

static FILE *open_out(const char *dir, const char *name, const char *header)
{
    char path[1024];
    FILE *o;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    o = fopen(path, "w");
    if (o == NULL) {
        fprintf(stderr, "bihar-geo: cannot write %s: %s\n", path, strerror(errno));
        exit(73);
    }
    fputs(header, o);
    return o;
}

static void unmapped_code(int d, char *thana, char *beat, size_t n)
{
    snprintf(thana, n, "T%d-X", districts[d].lgd);
    snprintf(beat, n, "B%d-X", districts[d].lgd);
    districts[d].has_unmapped = 1;
}

static long n_loc[3], n_unmapped[3], n_coords[3];

static void locality(FILE *o, int kind, const char *code_in, int d, int b, const char *name,
                     const char *type, int has, double lat, double lon, const char *pop)
{
    char parent[32], thana[32];
    char code[CODE_LEN];
    char slat[32] = "", slon[32] = "";
    const char *pin = "";

    if (b >= 0) {
        snprintf(parent, sizeof parent, "B%d", blocks[b].lgd);
    } else {
        unmapped_code(d, thana, parent, sizeof parent);
        n_unmapped[kind]++;
    }
    if (has) {
        snprintf(slat, sizeof slat, "%.6f", lat);
        snprintf(slon, sizeof slon, "%.6f", lon);
        pin = nearest_pin(d, lat, lon);
        n_coords[kind]++;
    }
    /* sources repeat some ids (villages across sub-districts, stations per room) */
    snprintf(code, sizeof code, "%s", code_in);
    unique_code(code);
    csv_field(o, code, 0);
    csv_field(o, parent, 0);
    csv_field(o, name, 0);
    csv_field(o, "", 0);
    csv_field(o, type, 0);
    csv_field(o, pin, 0);
    csv_field(o, pop, 0);
    csv_field(o, slat, 0);
    csv_field(o, slon, 1);
    n_loc[kind]++;
}

int main(int argc, char **argv)
{
    struct table t;
    const char *data;
    const char *out;
    FILE *o;
    FILE *ot;
    FILE *ob;
    int c1, c2, c3, c4, c5, c6, c7, c8, c9;

    if (argc != 3) {
        fprintf(stderr, "usage: bihar-geo DATA_DIR OUT_DIR\n"
                        "Builds state/district/thana/beat/locality CSVs for 'janseva import'\n"
                        "from ../shared/data (synthetic thana and beat layout).\n");
        return 64;
    }
    data = argv[1];
    out = argv[2];
    seen = core_calloc(SEEN_SLOTS, sizeof *seen);

    /* districts and their codes in other sources */
    if (table_open(&t, data, "lgd_bihar_districts.csv") != 0)
        return 66;
    c1 = col(&t, "district_lgd_code");
    c2 = col(&t, "district_name");
    c3 = col(&t, "census2011_code");
    while (table_next(&t) && n_districts < MAX_DISTRICTS) {
        struct district *d = &districts[n_districts++];

        d->lgd = to_int(f(&t, c1));
        d->census = to_int(f(&t, c3));
        title(f(&t, c2), d->name, sizeof d->name);
        norm(d->name, d->key, sizeof d->key);
    }
    table_close(&t);
    if (table_open(&t, data, "district_crosswalk.csv") != 0)
        return 66;
    c1 = col(&t, "lgd_district_code");
    c2 = col(&t, "eci_district_no");
    c3 = col(&t, "pmgsy_district_id");
    c4 = col(&t, "indiapost_district_name");
    while (table_next(&t)) {
        int d = district_by(0, to_int(f(&t, c1)));

        if (d >= 0) {
            districts[d].eci = to_int(f(&t, c2));
            districts[d].pmgsy = to_int(f(&t, c3));
            (void)c4;
        }
    }
    table_close(&t);

    /* blocks (one synthetic thana and beat each) */
    if (table_open(&t, data, "lgd_bihar_blocks.csv") != 0)
        return 66;
    c1 = col(&t, "district_lgd_code");
    c2 = col(&t, "block_lgd_code");
    c3 = col(&t, "block_name");
    c4 = col(&t, "block_name_local");
    while (table_next(&t) && n_blocks < MAX_BLOCKS) {
        struct block *b = &blocks[n_blocks];
        int d = district_by(0, to_int(f(&t, c1)));

        if (d < 0)
            continue;
        b->lgd = to_int(f(&t, c2));
        b->district = d;
        title(f(&t, c3), b->name, sizeof b->name);
        snprintf(b->name_hi, sizeof b->name_hi, "%s", f(&t, c4));
        norm(b->name, b->key, sizeof b->key);
        b->pmgsy_id = -1;
        districts[d].n_blocks++;
        n_blocks++;
    }
    table_close(&t);
    if (table_open(&t, data, "pmgsy_bihar_block_centroids.csv") != 0)
        return 66;
    c1 = col(&t, "pmgsy_block_id");
    c2 = col(&t, "block_name");
    c3 = col(&t, "pmgsy_district_id");
    c4 = col(&t, "centroid_lat");
    c5 = col(&t, "centroid_lon");
    while (table_next(&t)) {
        int d = district_by(3, to_int(f(&t, c3)));
        int b = d >= 0 ? block_by_name(d, f(&t, c2)) : -1;
        double lat, lon;

        if (b >= 0 && to_coords(f(&t, c4), f(&t, c5), &lat, &lon) == 0) {
            blocks[b].lat = lat;
            blocks[b].lon = lon;
            blocks[b].has_coords = 1;
            blocks[b].pmgsy_id = to_int(f(&t, c1));
        }
    }
    table_close(&t);

    /* post offices for PIN codes (swapped coordinates put right) */
    if (table_open(&t, data, "india_post_bihar_post_offices.csv") != 0)
        return 66;
    c1 = col(&t, "pincode");
    c2 = col(&t, "district");
    c3 = col(&t, "latitude");
    c4 = col(&t, "longitude");
    c5 = col(&t, "coord_quality");
    pos = core_calloc(20000, sizeof *pos);
    while (table_next(&t) && n_pos < 20000) {
        int d = district_by_name(f(&t, c2));
        double lat, lon;
        int swapped = strcmp(f(&t, c5), "swapped") == 0;

        if (d < 0 || (strcmp(f(&t, c5), "ok") != 0 && !swapped))
            continue;
        if (to_coords(f(&t, swapped ? c4 : c3), f(&t, swapped ? c3 : c4), &lat, &lon) != 0)
            continue;
        snprintf(pos[n_pos].pin, sizeof pos[n_pos].pin, "%s", f(&t, c1));
        pos[n_pos].district = d;
        pos[n_pos].lat = lat;
        pos[n_pos].lon = lon;
        n_pos++;
    }
    table_close(&t);

    /* state, districts, thanas, beats */
    o = open_out(out, "state.csv", "code,name_en,name_hi,lat,lon\n");
    fputs("BR,Bihar,बिहार,25.600000,85.100000\n", o);
    fclose(o);
    o = open_out(out, "district.csv", "code,parent,name_en,name_hi\n");
    for (int i = 0; i < n_districts; i++)
        fprintf(o, "D%d,BR,%s,\n", districts[i].lgd, districts[i].name);
    fclose(o);

    /* localities first (they decide which districts need an unmapped unit) */
    o = open_out(out, "locality.csv",
                 "code,parent,name_en,name_hi,type,pincode,population,lat,lon\n");
    if (table_open(&t, data, "census2011_bihar_villages.csv") != 0)
        return 66;
    c1 = col(&t, "village_code_2011");
    c2 = col(&t, "village_name");
    c3 = col(&t, "lgd_district_code");
    c4 = col(&t, "subdistrict_name");
    while (table_next(&t)) {
        int d = district_by(0, to_int(f(&t, c3)));
        char code[32];

        if (d < 0)
            continue;
        snprintf(code, sizeof code, "V%s", f(&t, c1));
        locality(o, 0, code, d, block_by_name(d, f(&t, c4)), f(&t, c2), "village", 0, 0, 0,
                 "");
    }
    table_close(&t);
    if (table_open(&t, data, "pmgsy_bihar_habitations.csv.gz") != 0)
        return 66;
    c1 = col(&t, "hab_id");
    c2 = col(&t, "hab_name");
    c3 = col(&t, "population");
    c4 = col(&t, "pmgsy_district_id");
    c5 = col(&t, "block_name");
    c6 = col(&t, "lat");
    c7 = col(&t, "lon");
    while (table_next(&t)) {
        int d = district_by(3, to_int(f(&t, c4)));
        double lat = 0, lon = 0;
        int has;
        int b;
        char code[32];

        if (d < 0)
            continue;
        has = to_coords(f(&t, c6), f(&t, c7), &lat, &lon) == 0;
        b = block_by_name(d, f(&t, c5));
        if (b < 0 && has)
            b = nearest_block(d, lat, lon);
        snprintf(code, sizeof code, "H%s", f(&t, c1));
        locality(o, 1, code, d, b, f(&t, c2), "habitation", has, lat, lon,
                 to_int(f(&t, c3)) >= 0 ? f(&t, c3) : "");
    }
    table_close(&t);
    if (table_open(&t, data, "bihar_polling_stations_2025.csv.gz") != 0)
        return 66;
    c1 = col(&t, "district_no");
    c2 = col(&t, "ac_no");
    c3 = col(&t, "ps_no");
    c4 = col(&t, "ps_type");
    c5 = col(&t, "ps_name");
    c6 = col(&t, "latitude");
    c7 = col(&t, "longitude");
    c8 = col(&t, "coord_quality");
    c9 = col(&t, "district_name");
    while (table_next(&t)) {
        int d = district_by(2, to_int(f(&t, c1)));
        double lat = 0, lon = 0;
        int has;
        char code[CODE_LEN];
        char name[300];
        char ps[16];
        char type[8];

        if (d < 0)
            d = district_by_name(f(&t, c9));
        if (d < 0)
            continue;
        has = (strcmp(f(&t, c8), "ok") == 0 || strcmp(f(&t, c8), "swapped") == 0) &&
              to_coords(f(&t, c6), f(&t, c7), &lat, &lon) == 0;
        code_part(f(&t, c3), ps, sizeof ps);
        code_part(f(&t, c4), type, sizeof type);
        snprintf(code, sizeof code, "P%s-%s-%s", f(&t, c2), ps, type[0] ? type : "M");
        snprintf(name, sizeof name, "%s", f(&t, c5));
        cut_utf8(name, 160);
        snprintf(name + strlen(name), sizeof name - strlen(name), " (polling station %s)",
                 f(&t, c3));
        cut_utf8(name, 200);
        locality(o, 2, code, d, has ? nearest_block(d, lat, lon) : -1, name, "polling_station",
                 has, lat, lon, "");
    }
    table_close(&t);
    fclose(o);

    ot = open_out(out, "thana.csv", "code,parent,name_en,name_hi,lat,lon\n");
    ob = open_out(out, "beat.csv", "code,parent,name_en,name_hi,lat,lon\n");
    for (int i = 0; i < n_blocks; i++) {
        struct block *b = &blocks[i];
        char slat[32] = "", slon[32] = "", hi[200] = "", name[160];

        if (b->has_coords) {
            snprintf(slat, sizeof slat, "%.6f", b->lat);
            snprintf(slon, sizeof slon, "%.6f", b->lon);
        }
        if (b->name_hi[0] != '\0')
            snprintf(hi, sizeof hi, "%s थाना (कृत्रिम)", b->name_hi);
        snprintf(name, sizeof name, "%s thana (synthetic, one per block)", b->name);
        fprintf(ot, "T%d,D%d,", b->lgd, districts[b->district].lgd);
        csv_field(ot, name, 0);
        csv_field(ot, hi, 0);
        fprintf(ot, "%s,%s\n", slat, slon);
        snprintf(name, sizeof name, "%s beat (synthetic)", b->name);
        fprintf(ob, "B%d,T%d,", b->lgd, b->lgd);
        csv_field(ob, name, 0);
        fprintf(ob, ",%s,%s\n", slat, slon);
    }
    for (int i = 0; i < n_districts; i++) {
        if (!districts[i].has_unmapped)
            continue;
        fprintf(ot, "T%d-X,D%d,%s: localities with unknown block (synthetic),,,\n",
                districts[i].lgd, districts[i].lgd, districts[i].name);
        fprintf(ob, "B%d-X,T%d-X,%s: unmapped beat (synthetic),,,\n", districts[i].lgd,
                districts[i].lgd, districts[i].name);
    }
    fclose(ot);
    fclose(ob);
    {
        int with = 0;

        for (int i = 0; i < n_blocks; i++)
            with += blocks[i].has_coords;
        printf("districts %d, blocks %d (%d with a centroid), post offices %zu\n", n_districts,
               n_blocks, with, n_pos);
    }
    printf("villages %ld (%ld unmapped), habitations %ld (%ld unmapped, %ld with coordinates), "
           "polling stations %ld (%ld without coordinates, %ld with)\n",
           n_loc[0], n_unmapped[0], n_loc[1], n_unmapped[1], n_coords[1], n_loc[2],
           n_unmapped[2], n_coords[2]);
    free(pos);
    free(seen);
    return 0;
}
