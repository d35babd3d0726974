/*
 * tests/unit/grp_fixture.h - the sample hierarchy (data/sample-hierarchy)
 * for the groups unit tests: as an in-memory lookup index read straight
 * from the CSV files, or imported into a Redis with the library's import.
 * Header-only (static functions): include it in one test file each.
 */
#ifndef JANSEVA_TESTS_UNIT_GRP_FIXTURE_H
#define JANSEVA_TESTS_UNIT_GRP_FIXTURE_H

#include "core/csv.h"
#include "groups/import.h"
#include "groups/lookup.h"
#include "tests/harness/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const grp_fixture_kinds[] = {"state", "district", "thana", "beat", "locality"};

static inline const char *grp_fixture_src(void)
{
    const char *s = getenv("JANSEVA_TEST_SRC");

    return s != NULL && s[0] != '\0' ? s : ".";
}

static inline char *grp_fixture_read(const char *kind, size_t *len)
{
    char path[4096];

    snprintf(path, sizeof path, "%s/data/sample-hierarchy/%s.csv", grp_fixture_src(), kind);
    return th_read_file(path, len);
}

/* The sample hierarchy as a finished lookup index (free with grp_lookup_free). */
static inline struct grp_lookup *grp_fixture_lookup(void)
{
    struct grp_lookup *lk = grp_lookup_new();

    for (int k = 0; k < 5; k++) {
        size_t len = 0;
        char *data = grp_fixture_read(grp_fixture_kinds[k], &len);
        struct core_csv c;
        struct core_err err;
        int col[10];
        static const char *const names[10] = {"code", "parent",     "name_en", "name_hi", "pincode",
                                              "type", "population", "",        "",        ""};
        int rc;
        int header = 1;

        if (data == NULL)
            return NULL;
        core_csv_init(&c, data, len);
        while ((rc = core_csv_next(&c, &err)) != 0) {
            const char *v[7] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};

            if (rc < 0)
                continue;
            if (header) {
                for (int i = 0; i < 7; i++) {
                    col[i] = -1;
                    for (size_t j = 0; j < c.n_fields; j++) {
                        if (strcmp(c.field[j], names[i]) == 0)
                            col[i] = (int)j;
                    }
                }
                header = 0;
                continue;
            }
            for (int i = 0; i < 7; i++)
                v[i] = col[i] >= 0 ? c.field[col[i]] : NULL;
            grp_lookup_add(lk, v[0], (enum grp_kind)k, v[1], v[2], v[3], v[4], v[5],
                           v[6] != NULL && v[6][0] != '\0' ? strtol(v[6], NULL, 10) : -1);
        }
        core_csv_cleanup(&c);
        free(data);
    }
    grp_lookup_finish(lk);
    return lk;
}

/* Import the sample hierarchy into Redis with the library. Returns 0 or -1. */
static inline int grp_fixture_import(struct core_redis *r)
{
    for (int k = 0; k < 5; k++) {
        size_t len = 0;
        char *data = grp_fixture_read(grp_fixture_kinds[k], &len);
        struct grp_import_opts o;
        struct grp_import_result res;
        struct core_err err;
        int rc;

        if (data == NULL)
            return -1;
        grp_import_opts_init(&o, (enum grp_kind)k);
        rc = grp_import(r, grp_fixture_kinds[k], data, len, &o, stderr, &res, &err);
        free(data);
        if (rc != 0) {
            fprintf(stderr, "import %s: %s\n", grp_fixture_kinds[k], err.msg);
            return -1;
        }
    }
    return 0;
}

#endif
