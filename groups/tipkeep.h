/*
 * groups/tipkeep.h - the retention thread of `janseva serve`: when the
 * setting tip_retention_days is above 0, purge the tip cases closed longer
 * ago than that (grp_tip_purge, actor "system"), a minute after the start
 * and then every hour. One process at a time (a lock js:tip:purge:lock,
 * SET NX with a 10-minute expiry), so two services do not audit one purge
 * twice. Nothing runs when the setting is 0.
 */
#ifndef JANSEVA_GROUPS_TIPKEEP_H
#define JANSEVA_GROUPS_TIPKEEP_H

#include "core/config.h"
#include "core/err.h"
#include "groups/tip.h"

#define GRP_TIPKEEP_FIRST_MS 60000
#define GRP_TIPKEEP_EVERY_MS 3600000

struct grp_tipkeep;

/*
 * Start the thread over `cfg` and `t` (borrowed; must outlive it). Returns
 * NULL without error when tip_retention_days is 0 (nothing to do), and NULL
 * with err when the thread cannot start.
 */
struct grp_tipkeep *grp_tipkeep_start(const struct core_cfg *cfg, struct grp_tip *t,
                                      struct core_err *err);

/* Stop (within about a second, or when a running purge ends) and free.
 * NULL is a no-op. */
void grp_tipkeep_stop(struct grp_tipkeep *k);

#endif
