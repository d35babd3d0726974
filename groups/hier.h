/*
 * groups/hier.h - the police hierarchy: state > district > thana (police
 * station) > beat > locality (village or urban mohalla/ward). A locality is
 * a village group.
 *
 * Redis layout (docs/hierarchy.md):
 *   js:u:{CODE}     hash   k kind, p parent, en name, hi Hindi name, lat, lon,
 *                          t locality type, pin PIN code, pop population
 *   js:u:{CODE}:c   set    codes of the unit's children (same hash slot)
 *   js:kind:KIND    set    codes of every unit of one kind
 *   js:geo:loc      geo    localities with coordinates (member = code)
 *   js:pin:{PIN}    set    localities with that PIN code
 *   js:hier:ver     int    bumped by every import (caches reload)
 * Unit codes are operator-chosen identifiers ([A-Za-z0-9_.:-], at most 40
 * characters), never personal data.
 */
#ifndef JANSEVA_GROUPS_HIER_H
#define JANSEVA_GROUPS_HIER_H

#include "core/err.h"
#include "core/redis.h"

#include <stdbool.h>
#include <stddef.h>

#define GRP_CODE_MAX 40
#define GRP_NAME_MAX 200

enum grp_kind {
    GRP_STATE = 0,
    GRP_DISTRICT,
    GRP_THANA,
    GRP_BEAT,
    GRP_LOCALITY,
    GRP_KIND_COUNT
};

/* A unit as stored. Strings are owned; release with grp_unit_cleanup(). */
struct grp_unit {
    char code[GRP_CODE_MAX + 1];
    enum grp_kind kind;
    char parent[GRP_CODE_MAX + 1]; /* "" for the state */
    char *name_en;
    char *name_hi;                 /* may be "" */
    bool has_coords;
    double lat, lon;
    char type[24];                 /* locality type: village, ward, ... */
    char pincode[8];               /* "" when unknown */
    long population;               /* -1 when unknown */
};

/* "state", "district", "thana", "beat", "locality". */
const char *grp_kind_name(enum grp_kind kind);

/* Parse a kind name; returns 0 or -1. */
int grp_kind_parse(const char *s, enum grp_kind *out);

/* True if `s` is a valid unit code. */
bool grp_code_ok(const char *s, size_t len);

/* True for a 6-digit Indian PIN code. */
bool grp_pincode_ok(const char *s, size_t len);

/*
 * Load unit `code`. Returns 1 when found (fills `out`), 0 when there is no
 * such unit, -1 on a Redis error.
 */
int grp_unit_get(struct core_redis *r, const char *code, struct grp_unit *out,
                 struct core_err *err);

/* Free the strings of a unit loaded by grp_unit_get. */
void grp_unit_cleanup(struct grp_unit *u);

/* Number of units of `kind` (SCARD). Returns -1 on error. */
long long grp_count(struct core_redis *r, enum grp_kind kind, struct core_err *err);

/* One locality found near a point. */
struct grp_near {
    char code[GRP_CODE_MAX + 1];
    double km;
};

/*
 * Up to `max` localities within `radius_km` of (lat, lon), nearest first.
 * `out` has room for `max`; *n receives the count. Returns 0 or -1.
 */
int grp_nearest(struct core_redis *r, double lat, double lon, double radius_km, size_t max,
                struct grp_near *out, size_t *n, struct core_err *err);

/*
 * The codes of `code`'s children, sorted by code; `*codes` is an array of
 * heap strings the caller frees with grp_codes_free(). Returns 0 or -1.
 */
int grp_children(struct core_redis *r, const char *code, char ***codes, size_t *n,
                 struct core_err *err);

/* Localities with PIN code `pin` (same contract as grp_children). */
int grp_by_pincode(struct core_redis *r, const char *pin, char ***codes, size_t *n,
                   struct core_err *err);

/* Free an array returned above. */
void grp_codes_free(char **codes, size_t n);

#endif
