/*
 * groups/sendcheck.c - may a queued group message still go (see
 * sendcheck.h and docs/internals/groups.md, "STOP and relays").
 */
#include "groups/sendcheck.h"
#include "crypto/identity.h"
#include "groups/member.h"

#include <stdio.h>
#include <string.h>

int grp_sendcheck(void *ud, struct core_redis *r, const char *mid, const char *broadcast,
                  const char *group, const char **reason, struct core_err *err)
{
    redisReply *m = NULL;
    redisReply *b = NULL;
    struct grp_member mem;
    struct core_err perr;
    const char *st;
    const char *g;
    int with_bc = broadcast != NULL && broadcast[0] != '\0';
    int rc = 1;

    (void)ud;
    if (grp_member_append_load(r, mid, err) != 0)
        return -1;
    if (with_bc && core_redis_appendf(r, err, "HGET js:bc:{%s} st", broadcast) != 0) {
        /* the first command is queued: read its reply to keep the pipeline in step */
        if (core_redis_get_reply(r, &m, err) == 0)
            freeReplyObject(m);
        return -1;
    }
    if (core_redis_get_reply(r, &m, err) != 0)
        return -1;
    if (with_bc && core_redis_get_reply(r, &b, err) != 0) {
        freeReplyObject(m);
        return -1;
    }
    /* a malformed record reads as the defaults (no state, no group) */
    (void)grp_member_from_reply(m, mid, &mem, &perr);
    st = grp_member_state_name(mem.st);
    g = mem.group;
    if (strcmp(st, "left") == 0) {
        *reason = "stopped";
        rc = 0;
    } else if (strcmp(st, "banned") == 0) {
        *reason = "banned";
        rc = 0;
    } else if (group != NULL && group[0] != '\0' &&
               (strcmp(g, group) != 0 || (strcmp(st, "active") != 0 && strcmp(st, "muted") != 0))) {
        *reason = "left_group";
        rc = 0;
    } else if (b != NULL && b->type == REDIS_REPLY_STRING && strcmp(b->str, "cancelled") == 0) {
        *reason = "cancelled";
        rc = 0;
    }
    freeReplyObject(m);
    if (b != NULL)
        freeReplyObject(b);
    return rc;
}
