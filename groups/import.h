/*
 * groups/import.h - import one level of the hierarchy from a CSV file.
 *
 * Everything is validated before anything is written: unknown or misplaced
 * columns, missing values, bad codes, duplicate codes, bad or out-of-bounds
 * coordinates, malformed PIN codes, text that is not UTF-8, unknown parents
 * or parents of the wrong level, and codes already used by another level.
 * Each problem is reported as "FILE:LINE:COL: message" (COL is the 1-based
 * column); with any problem nothing is imported. Otherwise every row is
 * upserted: re-importing the same file changes nothing, a changed row is
 * updated (including a move to another parent).
 *
 * Column layout per level: docs/hierarchy.md; officers: docs/broadcasts.md.
 */
#ifndef JANSEVA_GROUPS_IMPORT_H
#define JANSEVA_GROUPS_IMPORT_H

#include "core/err.h"
#include "core/redis.h"
#include "groups/hier.h"

#include <stdio.h>

struct cry_identity;
struct cry_audit;

struct grp_import_opts {
    enum grp_kind kind;
    double min_lat, max_lat, min_lon, max_lon; /* accepted coordinates */
    int dry_run;                               /* validate only */
    FILE *progress;                            /* progress lines, or NULL */
    size_t max_problems;                       /* stop listing after this many */
};

struct grp_import_result {
    long rows;      /* data rows read */
    long created;   /* units that did not exist */
    long updated;   /* units that changed */
    long unchanged; /* units already exactly so */
    long problems;  /* problems found (nothing written when > 0) */
};

/* Defaults: India's bounding box, 100 problems listed, no progress. */
void grp_import_opts_init(struct grp_import_opts *o, enum grp_kind kind);

/*
 * Import `len` bytes of CSV read from `path` (the name is used in reports).
 * Problems go to `problems` (one line each). Returns 0, or -1 with
 * err->code CORE_EX_DATAERR (problems found; nothing written) or
 * CORE_EX_UNAVAILABLE (Redis failed; a partial write is completed by
 * running the same import again).
 */
int grp_import(struct core_redis *r, const char *path, const char *data, size_t len,
               const struct grp_import_opts *o, FILE *problems, struct grp_import_result *res,
               struct core_err *err);

/*
 * Import officers (kind "officer"): columns code, unit, role
 * (beat|sho|district|hq), name (designation), phone (the officer's WhatsApp
 * number with country code; spaces, hyphens and a leading + are ignored).
 * Validated like the levels above, plus: the unit exists and is of the
 * role's level, no phone twice in the file, no phone that already belongs
 * to another officer code. Problems never quote a phone number.
 *
 * Each phone goes through the identity registry (`ident`): only its sealed
 * form and blind index are stored. An officer whose code is known with
 * another phone is moved to the new number (the old record is removed).
 * Every created or changed officer is audited (`audit`, actor `actor`)
 * as officer.register / officer.update. `o->kind` is ignored. Same return
 * values as grp_import.
 */
int grp_import_officers(struct core_redis *r, struct cry_identity *ident, struct cry_audit *audit,
                        const char *actor, const char *path, const char *data, size_t len,
                        const struct grp_import_opts *o, FILE *problems,
                        struct grp_import_result *res, struct core_err *err);

#endif
