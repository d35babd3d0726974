/*
 * groups/officer.c - officer records and jurisdiction checks (see
 * officer.h).
 */
#include "groups/officer.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A unit is never deeper than this (state > district > thana > beat >
 * locality); a longer parent chain is damaged data. */
#define MAX_DEPTH 8

static const char *const role_names[GRP_OFF_ROLE_COUNT] = {"beat", "sho", "district", "hq"};
static const enum grp_kind role_kinds[GRP_OFF_ROLE_COUNT] = {GRP_BEAT, GRP_THANA, GRP_DISTRICT,
                                                             GRP_STATE};

const char *grp_off_role_name(enum grp_off_role role)
{
    return (unsigned)role < GRP_OFF_ROLE_COUNT ? role_names[role] : "unknown";
}

int grp_off_role_parse(const char *s, enum grp_off_role *out)
{
    for (int i = 0; i < GRP_OFF_ROLE_COUNT; i++) {
        if (s != NULL && strcmp(s, role_names[i]) == 0) {
            *out = (enum grp_off_role)i;
            return 0;
        }
    }
    return -1;
}

enum grp_kind grp_off_role_kind(enum grp_off_role role)
{
    return (unsigned)role < GRP_OFF_ROLE_COUNT ? role_kinds[role] : GRP_KIND_COUNT;
}

void grp_off_key(const char *mid, char *out, size_t n)
{
    snprintf(out, n, "js:off:{%s}", mid);
}

void grp_off_unit_key(const char *unit, char *out, size_t n)
{
    snprintf(out, n, "js:offs:{%s}", unit);
}

static void copy_str(char *dst, size_t cap, const redisReply *v)
{
    size_t n = 0;

    if (v != NULL && v->type == REDIS_REPLY_STRING)
        n = v->len < cap - 1 ? v->len : cap - 1;
    if (n > 0)
        memcpy(dst, v->str, n);
    dst[n] = '\0';
}

int grp_off_get(struct core_redis *r, const char *mid, struct grp_officer *out,
                struct core_err *err)
{
    char key[64];
    redisReply *rep;
    int found = 0;

    memset(out, 0, sizeof *out);
    if (!cry_identity_is_mid(mid))
        return 0;
    grp_off_key(mid, key, sizeof key);
    if (core_redis_cmdf(r, &rep, err, "HMGET %s role unit name code", key) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4 &&
        rep->element[0]->type == REDIS_REPLY_STRING) {
        char role[16];

        found = 1;
        snprintf(out->mid, sizeof out->mid, "%s", mid);
        copy_str(role, sizeof role, rep->element[0]);
        copy_str(out->unit, sizeof out->unit, rep->element[1]);
        copy_str(out->name, sizeof out->name, rep->element[2]);
        copy_str(out->code, sizeof out->code, rep->element[3]);
        if (grp_off_role_parse(role, &out->role) != 0 || out->unit[0] == '\0' ||
            out->code[0] == '\0')
            found = core_err_set(err, CORE_EX_DATAERR, "officer record of %s is damaged", mid);
    }
    freeReplyObject(rep);
    return found;
}

int grp_off_find_code(struct core_redis *r, const char *code, struct grp_officer *out,
                      struct core_err *err)
{
    redisReply *rep;
    char mid[CRY_MID_LEN] = "";
    int rc;

    memset(out, 0, sizeof *out);
    if (code == NULL || !grp_code_ok(code, strlen(code)))
        return 0;
    if (core_redis_cmdf(r, &rep, err, "HGET " GRP_OFF_CODES_KEY " %s", code) != 0)
        return -1;
    copy_str(mid, sizeof mid, rep);
    freeReplyObject(rep);
    if (mid[0] == '\0')
        return 0;
    rc = grp_off_get(r, mid, out, err);
    /* a stale index entry (the record was replaced) is "no such officer" */
    if (rc == 1 && strcmp(out->code, code) != 0) {
        memset(out, 0, sizeof *out);
        rc = 0;
    }
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int grp_off_list_unit(struct core_redis *r, const char *unit, char ***mids, size_t *n,
                      struct core_err *err)
{
    char key[64];
    redisReply *rep;

    *mids = NULL;
    *n = 0;
    grp_off_unit_key(unit, key, sizeof key);
    if (core_redis_cmdf(r, &rep, err, "SMEMBERS %s", key) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0) {
        *mids = core_calloc(rep->elements, sizeof **mids);
        for (size_t i = 0; i < rep->elements; i++)
            (*mids)[(*n)++] = core_memdup(rep->element[i]->str, rep->element[i]->len);
        qsort(*mids, *n, sizeof **mids, cmp_str);
    }
    freeReplyObject(rep);
    return 0;
}

int grp_off_unit_within(struct core_redis *r, const char *ancestor, const char *code,
                        int *inside, struct core_err *err)
{
    char cur[GRP_CODE_MAX + 1];

    *inside = 0;
    if (ancestor == NULL || code == NULL || !grp_code_ok(code, strlen(code)))
        return 0;
    snprintf(cur, sizeof cur, "%s", code);
    for (int depth = 0; depth < MAX_DEPTH; depth++) {
        redisReply *rep;

        if (core_redis_cmdf(r, &rep, err, "HMGET js:u:{%s} k p", cur) != 0)
            return -1;
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
            rep->element[0]->type != REDIS_REPLY_STRING) {
            freeReplyObject(rep); /* no such unit */
            return 0;
        }
        if (strcmp(cur, ancestor) == 0) {
            freeReplyObject(rep);
            *inside = 1;
            return 0;
        }
        copy_str(cur, sizeof cur, rep->element[1]);
        freeReplyObject(rep);
        if (cur[0] == '\0')
            return 0; /* reached the state */
    }
    return 0;
}

int grp_off_may_reach(struct core_redis *r, const struct grp_officer *o, const char *scope,
                      int *ok, struct core_err *err)
{
    return grp_off_unit_within(r, o->unit, scope, ok, err);
}

static int cmp_officer(const void *a, const void *b)
{
    return strcmp(((const struct grp_officer *)a)->code, ((const struct grp_officer *)b)->code);
}

int grp_off_responsible(struct core_redis *r, const char *code, enum grp_off_role role,
                        struct grp_officer *out, size_t max, size_t *n, struct core_err *err)
{
    char cur[GRP_CODE_MAX + 1];
    enum grp_kind want = grp_off_role_kind(role);

    *n = 0;
    if (code == NULL || !grp_code_ok(code, strlen(code)))
        return 0;
    snprintf(cur, sizeof cur, "%s", code);
    for (int depth = 0; depth < MAX_DEPTH && cur[0] != '\0'; depth++) {
        redisReply *rep;
        enum grp_kind kind;
        int found;

        if (core_redis_cmdf(r, &rep, err, "HMGET js:u:{%s} k p", cur) != 0)
            return -1;
        found = rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
                rep->element[0]->type == REDIS_REPLY_STRING &&
                grp_kind_parse(rep->element[0]->str, &kind) == 0;
        if (!found) {
            freeReplyObject(rep);
            return 0;
        }
        if (kind == want) {
            char **mids = NULL;
            size_t nm = 0;

            freeReplyObject(rep);
            if (grp_off_list_unit(r, cur, &mids, &nm, err) != 0)
                return -1;
            for (size_t i = 0; i < nm && *n < max; i++) {
                int rc = grp_off_get(r, mids[i], &out[*n], err);

                if (rc < 0) {
                    grp_codes_free(mids, nm);
                    return -1;
                }
                if (rc == 1 && out[*n].role == role && strcmp(out[*n].unit, cur) == 0)
                    (*n)++;
            }
            grp_codes_free(mids, nm);
            qsort(out, *n, sizeof *out, cmp_officer);
            return 0;
        }
        copy_str(cur, sizeof cur, rep->element[1]);
        freeReplyObject(rep);
    }
    return 0;
}
