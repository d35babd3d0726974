/*
 * groups/sendcheck.h - the dispatcher's send-time check for group messages
 * (gw_send_check, gateway/dispatch.h): a member who sent STOP, was banned or
 * left the group a relay was meant for gets nothing more, even what was
 * queued before; nothing of a cancelled broadcast goes out.
 *
 * One round trip per alert or bulk message: the member's record
 * (grp_member_append_load: st and g are used), with
 * HGET js:bc:{BID} st pipelined when the message belongs to a broadcast.
 * Officers who receive reports or escalations on the alert lane usually
 * have no group: only a record saying left or banned, a group that is not
 * the one the message was for, or a cancelled broadcast stop a message.
 */
#ifndef JANSEVA_GROUPS_SENDCHECK_H
#define JANSEVA_GROUPS_SENDCHECK_H

#include "core/err.h"
#include "core/redis.h"

/*
 * gw_send_check: 1 send, 0 drop (*reason "stopped", "banned",
 * "left_group" or "cancelled"), -1 Redis error (CORE_EX_UNAVAILABLE).
 * `ud` is unused (NULL).
 */
int grp_sendcheck(void *ud, struct core_redis *r, const char *mid, const char *broadcast,
                  const char *group, const char **reason, struct core_err *err);

#endif
