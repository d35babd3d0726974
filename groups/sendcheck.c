/*
 * groups/sendcheck.c - may a queued group message still go (see
 * sendcheck.h and docs/internals/groups.md, "STOP and relays").
 */
#include "groups/sendcheck.h"
#include "crypto/identity.h"

#include <stdio.h>
#include <string.h>

static const char *element_str(const redisReply *rep, size_t i)
{
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || i >= rep->elements ||
        rep->element[i]->type != REDIS_REPLY_STRING)
        return "";
    return rep->element[i]->str;
}

int grp_sendcheck(void *ud, struct core_redis *r, const char *mid, const char *broadcast,
                  const char *group, const char **reason, struct core_err *err)
{
    char key[96];
    redisReply *m = NULL;
    redisReply *b = NULL;
    const char *st;
    const char *g;
    int with_bc = broadcast != NULL && broadcast[0] != '\0';
    int rc = 1;

    (void)ud;
    cry_identity_member_key(mid, key, sizeof key);
    if (core_redis_appendf(r, err, "HMGET %s st g", key) != 0)
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
    st = element_str(m, 0);
    g = element_str(m, 1);
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
