/*
 * groups/gsettings.h - the settings of a village group, read and changed
 * the same way by `janseva group` and the HTTP API (/api/units/{CODE}/settings).
 *
 * One setting today: relay=each|digest (digest.h). A change is written to
 * the audit log ("group.set", the group's code, "relay=digest (was each)")
 * before it takes effect, so no change goes unrecorded; setting the value a
 * group already has changes and records nothing.
 */
#ifndef JANSEVA_GROUPS_GSETTINGS_H
#define JANSEVA_GROUPS_GSETTINGS_H

#include "core/config.h"
#include "core/err.h"
#include "core/redis.h"
#include "crypto/audit.h"

#include <jansson.h>

#define GRP_GS_MAX 4         /* settings in one request */
#define GRP_GS_FIELD_MAX 16  /* a setting's name or value, NUL included */

/* One change asked for: a known setting and a valid value for it. */
struct grp_gs_change {
    char name[GRP_GS_FIELD_MAX];
    char value[GRP_GS_FIELD_MAX];
};

/*
 * Parse the body of PUT /api/units/{CODE}/settings: a JSON object of
 * settings (names known, values strings valid for them), at least one, at
 * most GRP_GS_MAX. Returns their number (the changes in `out`), or -1 with
 * one line in `why` (`wn` bytes) that repeats nothing of the body. Pure;
 * fuzzed.
 */
int grp_gs_parse_body(const char *body, size_t len, struct grp_gs_change out[GRP_GS_MAX],
                      char *why, size_t wn);

/* Whether `code` is a village group (a locality): 0, or -1 with
 * CORE_EX_NOINPUT (it is not, and says what it is) or a Redis error. */
int grp_gs_locality(struct core_redis *r, const char *code, struct core_err *err);

/*
 * The settings and today's numbers of village group `code` as JSON (new
 * reference into *out): code, names, members, settings, today's relay
 * cost and counts, the digest being collected and the one due. Returns 0,
 * or -1 with err: CORE_EX_NOINPUT (no such village group), Redis errors.
 */
int grp_gs_show(struct core_redis *r, const struct core_cfg *cfg, const char *code,
                json_t **out, struct core_err *err);

/* Whether `value` is a valid `name` of village group `code`, with the
 * errors of grp_gs_set() (which checks the same first). Returns 0 or -1. */
int grp_gs_check(struct core_redis *r, const char *code, const char *name, const char *value,
                 struct core_err *err);

/*
 * Set `name` to `value` on village group `code` as `actor` (audit actor:
 * "cli:<user>", "api:<name>", "officer:<code>"), recording the change in
 * `audit` first (NULL: not recorded; for tests of the values alone).
 * *changed (may be NULL) says whether the value differed.
 * Returns 0, or -1 with err: CORE_EX_DATAERR (unknown setting or bad
 * value), CORE_EX_NOINPUT (no such village group), Redis or audit errors.
 */
int grp_gs_set(struct core_redis *r, struct cry_audit *audit, const char *actor, const char *code,
               const char *name, const char *value, int *changed, struct core_err *err);

#endif
