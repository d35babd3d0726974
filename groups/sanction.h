/*
 * groups/sanction.h - moderators' sanctions on members: mute, ban and their
 * reversal (docs/groups.md, "Sanctions").
 *
 *   mute    the member stays in the group and keeps receiving its
 *           messages, but their posts are not taken (post.muted)
 *   ban     the member is taken out of the group (nothing more is relayed
 *           to them) and cannot join any group (post.banned)
 *   unmute, unban   undo; an unbanned member returns to the group they
 *           were banned from (g is kept), when it still exists
 *
 * A sanction outlives the membership: STOP and a later JOIN, or MOVE to
 * another village, keep it (the record below is checked when a member
 * joins; a muted member joins muted, a banned one cannot join).
 *
 * Redis:
 *   js:sx:{MID}   hash: s = muted | banned, t = when (Unix s); absent
 *                 when the member has no sanction. The member's st mirrors
 *                 it while they are in a group (groups/member.h: muted,
 *                 banned), which is what posts, relays and the
 *                 dispatcher's send-time check read.
 *
 * Crash safety: the record is written first, then the member's state; a
 * repeat of the same action finishes what a crash interrupted, and
 * repeating a finished action changes nothing (and is not audited twice).
 * Every change is audited (crypto/audit.h: member.mute, member.unmute,
 * member.ban, member.unban; object = the mid; reason = the moderator's).
 * Members are only ever named by mid or by their pseudonymous label.
 */
#ifndef JANSEVA_GROUPS_SANCTION_H
#define JANSEVA_GROUPS_SANCTION_H

#include "core/err.h"
#include "core/redis.h"
#include "crypto/audit.h"

#include <stdbool.h>
#include <stddef.h>

#define GRP_SX_PREFIX "js:sx:{"

enum grp_sx_action { GRP_SX_MUTE, GRP_SX_UNMUTE, GRP_SX_BAN, GRP_SX_UNBAN };
enum grp_sx_state { GRP_SX_NONE, GRP_SX_MUTED, GRP_SX_BANNED };

/* Results of grp_sx_apply. */
enum grp_sx_rc {
    GRP_SX_OK = 0,
    GRP_SX_EFAIL = -1,    /* Redis or internal (err) */
    GRP_SX_ENOTFOUND = 1, /* no such member */
    GRP_SX_ESTATE = 2,    /* not possible in the member's state (err says why) */
};

/* Register the sanction metrics. */
void grp_sx_metrics_init(void);

/* "mute", "unmute", "ban", "unban" to an action: 0, or -1 when unknown. */
int grp_sx_action_parse(const char *s, enum grp_sx_action *out);

/* The action's name ("mute", ...). */
const char *grp_sx_action_name(enum grp_sx_action a);

/* "none", "muted", "banned". */
const char *grp_sx_state_name(enum grp_sx_state s);

/* The sanction of `mid` into *out. Returns 0 or -1 (Redis). */
int grp_sx_get(struct core_redis *r, const char *mid, enum grp_sx_state *out,
               struct core_err *err);

/*
 * Apply `a` to member `mid` on behalf of `actor` ("cli:<user>",
 * "officer:<code>"); `reason` may be NULL (at most 200 characters, checked
 * by the caller). `audit` may be NULL (tests). *changed (may be NULL) is
 * 1 when something changed. Refused (GRP_SX_ESTATE): muting or unmuting a
 * banned member (unban first). Unmuting or unbanning a member without that
 * sanction is OK and changes nothing.
 */
enum grp_sx_rc grp_sx_apply(struct core_redis *r, struct cry_audit *audit, const char *actor,
                            const char *mid, enum grp_sx_action a, const char *reason,
                            int *changed, struct core_err *err);

#endif
