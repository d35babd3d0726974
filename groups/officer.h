/*
 * groups/officer.h - registered officers: role, unit, designation, and the
 * jurisdiction that follows from them.
 *
 * An officer is a member (crypto/identity.h: the phone number is sealed in
 * the member's record, never stored in clear) with an officer record:
 *
 *   js:off:{MID}      hash  role (beat|sho|district|hq), unit (unit code),
 *                           name (designation, not personal data), code
 *                           (the operator's officer code)
 *   js:offs:{UNIT}    set   mids of the officers of a unit
 *   js:off:codes      hash  officer code -> mid
 *
 * Jurisdiction = the subtree of the officer's unit: a beat officer reaches
 * the localities of the beat, an SHO those of the thana, a district officer
 * the district's, HQ the state's. A role belongs to one level (beat: beat,
 * sho: thana, district: district, hq: state); the import enforces it.
 *
 * Officers are written only by the import (groups/import.h); everything
 * here reads. All functions take the caller's Redis connection.
 */
#ifndef JANSEVA_GROUPS_OFFICER_H
#define JANSEVA_GROUPS_OFFICER_H

#include "core/err.h"
#include "core/redis.h"
#include "crypto/identity.h"
#include "groups/hier.h"

#define GRP_OFF_CODES_KEY "js:off:codes"

enum grp_off_role {
    GRP_OFF_BEAT = 0, /* beat officer: a beat */
    GRP_OFF_SHO,      /* station house officer: a thana */
    GRP_OFF_DISTRICT, /* district (SP/SSP office): a district */
    GRP_OFF_HQ,       /* police headquarters: the state */
    GRP_OFF_ROLE_COUNT
};

/* An officer as stored. */
struct grp_officer {
    char mid[CRY_MID_LEN];             /* member id */
    char code[GRP_CODE_MAX + 1];       /* officer code */
    enum grp_off_role role;
    char unit[GRP_CODE_MAX + 1];       /* unit code */
    char name[GRP_NAME_MAX + 1];       /* designation */
};

/* "beat", "sho", "district", "hq". */
const char *grp_off_role_name(enum grp_off_role role);

/* Parse a role name; returns 0 or -1. */
int grp_off_role_parse(const char *s, enum grp_off_role *out);

/* The level a role's unit must be (beat -> beat, sho -> thana, ...). */
enum grp_kind grp_off_role_kind(enum grp_off_role role);

/* js:off:{MID} into `out` (at least 48 bytes). */
void grp_off_key(const char *mid, char *out, size_t n);

/* js:offs:{UNIT} into `out` (at least 56 bytes). */
void grp_off_unit_key(const char *unit, char *out, size_t n);

/*
 * The officer record of member `mid`. Returns 1 (found, `out` filled), 0
 * (not an officer) or -1 (Redis; a damaged record is CORE_EX_DATAERR).
 */
int grp_off_get(struct core_redis *r, const char *mid, struct grp_officer *out,
                struct core_err *err);

/* The officer with operator code `code`; same results as grp_off_get. */
int grp_off_find_code(struct core_redis *r, const char *code, struct grp_officer *out,
                      struct core_err *err);

/*
 * The mids of the officers of `unit`, sorted; `*mids` is an array of heap
 * strings freed with grp_codes_free(). Returns 0 or -1.
 */
int grp_off_list_unit(struct core_redis *r, const char *unit, char ***mids, size_t *n,
                      struct core_err *err);

/*
 * The officers of role `role` responsible for unit `code`: those registered
 * at the ancestor-or-self of `code` whose level is the role's (beat
 * officers of a locality's beat, SHOs of its thana, ...). Up to `max` into
 * `out` (sorted by code), their number in *n. Urgent escalation uses it.
 * Returns 0 or -1.
 */
int grp_off_responsible(struct core_redis *r, const char *code, enum grp_off_role role,
                        struct grp_officer *out, size_t max, size_t *n, struct core_err *err);

/*
 * *inside = 1 when unit `code` is `ancestor` or lies below it (walks the
 * parents of `code`: at most five reads), else 0. An unknown `code` is not
 * inside anything. Returns 0 or -1.
 */
int grp_off_unit_within(struct core_redis *r, const char *ancestor, const char *code,
                        int *inside, struct core_err *err);

/*
 * Whether officer `o` may reach unit `scope` (its jurisdiction holds it).
 * Returns 0 (and *ok) or -1.
 */
int grp_off_may_reach(struct core_redis *r, const struct grp_officer *o, const char *scope,
                      int *ok, struct core_err *err);

#endif
