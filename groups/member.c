/*
 * groups/member.c - member state and group membership (see member.h).
 *
 * Order of the steps (each idempotent; a crash between two of them is
 * finished by repeating the call, which the router does by replaying the
 * event):
 *   join/move: 1. add to the new set (+n)  2. remove from the old set (-n)
 *              3. write g, st, jt, consent, label; clear the dialogue
 *              Until 3, the record still names the old group, so a repeat
 *              knows which set to leave.
 *   leave:     1. st = left (relays check it)  2. remove from the set (-n)
 *              3. forget g and the dialogue
 */
#include "groups/member.h"
#include "core/mem.h"
#include "core/util.h"
#include "crypto/mrec.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[GRP_MEMBER_STATE_COUNT] = {
    "new", "enrolling", "active", "left", "muted", "banned",
};

const char *grp_member_state_name(enum grp_member_state st)
{
    return (unsigned)st < GRP_MEMBER_STATE_COUNT ? state_names[st] : "new";
}

int grp_member_state_parse(const char *s, enum grp_member_state *out)
{
    int i;

    for (i = 0; i < GRP_MEMBER_STATE_COUNT; i++) {
        if (s != NULL && strcmp(s, state_names[i]) == 0) {
            *out = (enum grp_member_state)i;
            return 0;
        }
    }
    return -1;
}

void grp_member_label_code(const char *mid, char out[GRP_LABEL_CODE_LEN])
{
    static const char alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    static const char domain[] = "janseva label v1";
    crypto_generichash_state st;
    unsigned char h[8];
    uint32_t v;
    int i;

    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)domain, sizeof domain - 1);
    crypto_generichash_update(&st, (const unsigned char *)mid, strlen(mid));
    crypto_generichash_final(&st, h, sizeof h);
    v = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    for (i = 0; i < GRP_LABEL_CODE_LEN - 1; i++) {
        out[i] = alphabet[v & 31u];
        v >>= 5;
    }
    out[GRP_LABEL_CODE_LEN - 1] = '\0';
}

void grp_member_label(const struct grp_member *m, enum grp_lang lang, char *out, size_t n)
{
    char code[GRP_LABEL_CODE_LEN];
    const char *args[1];
    char *s;

    if (m->label[0] != '\0')
        memcpy(code, m->label, sizeof code);
    else
        grp_member_label_code(m->mid, code);
    args[0] = code;
    s = grp_text_fmt(lang, "member.label", args, 1);
    snprintf(out, n, "%s", s);
    free(s);
}

/* ======================= loading ======================= */

/* Fill `m` from a packed record (crypto/mrec.h). */
static void fill(struct grp_member *m, const char *mid, const struct cry_mrec *rec)
{
    char tmp[32];

    memset(m, 0, sizeof *m);
    snprintf(m->mid, sizeof m->mid, "%s", mid);
    m->exists = cry_mrec_raw(rec, CRY_MR_CT, NULL) != NULL;
    cry_mrec_str(rec, CRY_MR_ST, tmp, sizeof tmp);
    if (grp_member_state_parse(tmp, &m->st) != 0)
        m->st = GRP_MEMBER_NEW;
    cry_mrec_str(rec, CRY_MR_G, m->group, sizeof m->group);
    cry_mrec_str(rec, CRY_MR_LANG, tmp, sizeof tmp);
    if (grp_lang_parse(tmp, &m->lang) != 0)
        m->lang = GRP_LANG_HI;
    cry_mrec_str(rec, CRY_MR_DS, m->ds, sizeof m->ds);
    cry_mrec_str(rec, CRY_MR_DD, m->dd, sizeof m->dd);
    cry_mrec_str(rec, CRY_MR_CV, m->cv, sizeof m->cv);
    m->cts = cry_mrec_int(rec, CRY_MR_CTS);
    m->jt = cry_mrec_int(rec, CRY_MR_JT);
    m->np = cry_mrec_int(rec, CRY_MR_NP);
    m->sk = cry_mrec_int(rec, CRY_MR_SK);
    cry_mrec_str(rec, CRY_MR_LBL, m->label, sizeof m->label);
    m->li = cry_mrec_int(rec, CRY_MR_LI);
    cry_mrec_str(rec, CRY_MR_MG, m->merged_into, sizeof m->merged_into);
    if (m->dd[0] != '\0') {
        json_t *j = json_loads(m->dd, 0, NULL);

        if (json_is_object(j))
            m->ds_time = (int64_t)json_integer_value(json_object_get(j, "t"));
        json_decref(j);
    }
    if (m->label[0] == '\0')
        grp_member_label_code(mid, m->label);
}

/* The member's defaults (no record). */
static void empty(struct grp_member *m, const char *mid)
{
    struct cry_mrec rec;
    struct core_err err;

    cry_mrec_decode(NULL, 0, &rec, &err);
    fill(m, mid, &rec);
}

int grp_member_load(struct core_redis *r, const char *mid, struct grp_member *m,
                    struct core_err *err)
{
    struct cry_mrec rec;

    if (cry_mrec_load(r, mid, &rec, err) != 0) {
        empty(m, mid);
        return -1;
    }
    fill(m, mid, &rec);
    return 0;
}

int grp_member_append_load(struct core_redis *r, const char *mid, struct core_err *err)
{
    return cry_mrec_append_load(r, mid, err);
}

int grp_member_from_reply(const redisReply *rep, const char *mid, struct grp_member *m,
                          struct core_err *err)
{
    struct cry_mrec rec;

    if (cry_mrec_from_reply(rep, &rec, err) != 0) {
        empty(m, mid);
        return -1;
    }
    fill(m, mid, &rec);
    return 0;
}

bool grp_member_receives(const struct grp_member *m, const char *code)
{
    return (m->st == GRP_MEMBER_ACTIVE || m->st == GRP_MEMBER_MUTED) && m->group[0] != '\0' &&
           code != NULL && strcmp(m->group, code) == 0;
}

/* ======================= set membership ======================= */

/* KEYS[1] js:u:{CODE}:mem, KEYS[2] js:u:{CODE}; ARGV[1] binary mid.
 * -1: not a locality; 1 added; 0 already there. */
static struct core_redis_script add_script = {
    "member_add",
    "if redis.call('HGET', KEYS[2], 'k') ~= 'locality' then return -1 end\n"
    "if redis.call('HSETNX', KEYS[1], ARGV[1], '') == 1 then\n"
    "  redis.call('HINCRBY', KEYS[2], 'n', 1)\n"
    "  return 1\n"
    "end\n"
    "return 0\n",
    ""};

/* Same keys. 1 removed; 0 was not there. */
static struct core_redis_script remove_script = {
    "member_remove",
    "if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then\n"
    "  if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HINCRBY', KEYS[2], 'n', -1) end\n"
    "  return 1\n"
    "end\n"
    "return 0\n",
    ""};

/* The arguments of add_script / remove_script. */
struct set_args {
    char set[GRP_CODE_MAX + 16];
    char unit[GRP_CODE_MAX + 16];
    unsigned char bin[CRY_MREC_MID_BYTES];
    const char *argv[3];
    size_t lens[3];
};

static int set_args(struct set_args *a, const char *code, const char *mid, struct core_err *err)
{
    if (!grp_code_ok(code, strlen(code)))
        return core_err_set(err, CORE_EX_DATAERR, "member: bad group code");
    if (cry_mrec_mid_to_bin(mid, a->bin) != 0)
        return core_err_set(err, CORE_EX_USAGE, "member: not a member id");
    snprintf(a->set, sizeof a->set, "js:u:{%s}:mem", code);
    snprintf(a->unit, sizeof a->unit, "js:u:{%s}", code);
    a->argv[0] = a->set;
    a->lens[0] = strlen(a->set);
    a->argv[1] = a->unit;
    a->lens[1] = strlen(a->unit);
    a->argv[2] = (const char *)a->bin;
    a->lens[2] = sizeof a->bin;
    return 0;
}

static int set_op(struct core_redis *r, struct core_redis_script *s, const char *code,
                  const char *mid, long long *result, struct core_err *err)
{
    struct set_args a;
    redisReply *rep;

    if (set_args(&a, code, mid, err) != 0)
        return -1;
    if (core_redis_eval(r, s, 2, 3, a.argv, a.lens, &rep, err) != 0)
        return -1;
    *result = core_redis_int(rep);
    freeReplyObject(rep);
    return 0;
}

/* ======================= changing ======================= */

int grp_member_set_lang(struct core_redis *r, const char *mid, enum grp_lang lang,
                        struct core_err *err)
{
    struct cry_mrec_ops o;

    cry_mrec_ops_init(&o);
    if (lang == GRP_LANG_HI)
        cry_mrec_op_del(&o, CRY_MR_LANG);
    else
        cry_mrec_op_set(&o, CRY_MR_LANG, grp_lang_code(lang));
    return cry_mrec_update(r, mid, &o, NULL, err);
}

int grp_member_set_dialogue(struct core_redis *r, const char *mid, const char *ds, const json_t *dd,
                            int64_t now, struct core_err *err)
{
    struct cry_mrec_ops o;
    json_t *j;
    char *text;
    int rc;

    cry_mrec_ops_init(&o);
    if (ds == NULL || ds[0] == '\0') {
        cry_mrec_op_del(&o, CRY_MR_DS);
        cry_mrec_op_del(&o, CRY_MR_DD);
        return cry_mrec_update(r, mid, &o, NULL, err);
    }
    if (strlen(ds) >= GRP_DS_MAX || (dd != NULL && !json_is_object(dd)))
        return core_err_set(err, CORE_EX_DATAERR, "member: bad dialogue state");
    j = dd != NULL ? json_deep_copy(dd) : json_object();
    json_object_set_new(j, "t", json_integer((json_int_t)now));
    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text == NULL || strlen(text) >= GRP_DD_MAX) {
        free(text);
        return core_err_set(err, CORE_EX_DATAERR, "member: dialogue data too large");
    }
    cry_mrec_op_set(&o, CRY_MR_DS, ds);
    cry_mrec_op_set(&o, CRY_MR_DD, text);
    rc = cry_mrec_update(r, mid, &o, NULL, err);
    free(text);
    return rc;
}

/* st = `st` (and nothing else). */
static int put_state(struct core_redis *r, const char *mid, enum grp_member_state st,
                     struct core_err *err)
{
    struct cry_mrec_ops o;

    cry_mrec_ops_init(&o);
    cry_mrec_op_set(&o, CRY_MR_ST, grp_member_state_name(st));
    return cry_mrec_update(r, mid, &o, NULL, err);
}

int grp_member_set_state(struct core_redis *r, const char *mid, enum grp_member_state st,
                         struct core_err *err)
{
    struct grp_member m;
    long long res;

    if ((unsigned)st >= GRP_MEMBER_STATE_COUNT)
        return core_err_set(err, CORE_EX_DATAERR, "member: bad state");
    if (st == GRP_MEMBER_LEFT)
        return grp_member_leave(r, mid, err);
    if (grp_member_load(r, mid, &m, err) != 0)
        return -1;
    switch (st) {
    case GRP_MEMBER_NEW:
    case GRP_MEMBER_ENROLLING:
        if (m.group[0] != '\0')
            return core_err_set(err, CORE_EX_DATAERR,
                                "member: %s is only for members without a group",
                                grp_member_state_name(st));
        break;
    case GRP_MEMBER_ACTIVE:
    case GRP_MEMBER_MUTED:
        if (m.group[0] != '\0' && set_op(r, &add_script, m.group, mid, &res, err) != 0)
            return -1;
        break;
    case GRP_MEMBER_BANNED:
    default:
        /* state first, so a relay that reads it stops at once */
        if (put_state(r, mid, st, err) != 0)
            return -1;
        if (m.group[0] != '\0' && set_op(r, &remove_script, m.group, mid, &res, err) != 0)
            return -1;
        return 0;
    }
    return put_state(r, mid, st, err);
}

int grp_member_join(struct core_redis *r, const char *mid, const char *code, const char *cv,
                    int64_t now, int *moved, struct core_err *err)
{
    struct grp_member m;
    struct cry_mrec_ops o;
    long long res;

    if (moved != NULL)
        *moved = 0;
    if (!grp_code_ok(code, strlen(code)))
        return core_err_set(err, CORE_EX_DATAERR, "member: bad group code");
    if (grp_member_load(r, mid, &m, err) != 0)
        return -1;
    /* 1. into the new set (checks that it is a locality) */
    if (set_op(r, &add_script, code, mid, &res, err) != 0)
        return -1;
    if (res < 0)
        return core_err_set(err, CORE_EX_NOINPUT, "member: %s is not a locality", code);
    /* The label is not stored: it is derived from the mid on loading (a
     * stored lbl, from an older build, still wins). */
    cry_mrec_ops_init(&o);
    cry_mrec_op_set(&o, CRY_MR_CV, cv);
    cry_mrec_op_set_int(&o, CRY_MR_CTS, now);
    cry_mrec_op_del(&o, CRY_MR_DS);
    cry_mrec_op_del(&o, CRY_MR_DD);
    if (m.group[0] != '\0' && strcmp(m.group, code) == 0 &&
        (m.st == GRP_MEMBER_ACTIVE || m.st == GRP_MEMBER_MUTED)) {
        /* already there: renew the consent, end the dialogue */
        return cry_mrec_update(r, mid, &o, NULL, err);
    }
    /* 2. out of the old one */
    if (m.group[0] != '\0' && strcmp(m.group, code) != 0) {
        if (set_op(r, &remove_script, m.group, mid, &res, err) != 0)
            return -1;
        if (moved != NULL && (m.st == GRP_MEMBER_ACTIVE || m.st == GRP_MEMBER_MUTED))
            *moved = 1;
    }
    /* 3. the record, in one step */
    cry_mrec_op_set(&o, CRY_MR_G, code);
    cry_mrec_op_set(&o, CRY_MR_ST, grp_member_state_name(GRP_MEMBER_ACTIVE));
    cry_mrec_op_set_int(&o, CRY_MR_JT, now);
    return cry_mrec_update(r, mid, &o, NULL, err);
}

int grp_member_leave(struct core_redis *r, const char *mid, struct core_err *err)
{
    struct grp_member m;
    struct cry_mrec_ops o;
    long long res;

    if (grp_member_load(r, mid, &m, err) != 0)
        return -1;
    if (put_state(r, mid, GRP_MEMBER_LEFT, err) != 0)
        return -1;
    if (m.group[0] != '\0' && set_op(r, &remove_script, m.group, mid, &res, err) != 0)
        return -1;
    cry_mrec_ops_init(&o);
    cry_mrec_op_del(&o, CRY_MR_G);
    cry_mrec_op_del(&o, CRY_MR_DS);
    cry_mrec_op_del(&o, CRY_MR_DD);
    return cry_mrec_update(r, mid, &o, NULL, err);
}

/* `tag` += 1, atomically. */
static int count(struct core_redis *r, const char *mid, int tag, struct core_err *err)
{
    struct cry_mrec_ops o;

    cry_mrec_ops_init(&o);
    cry_mrec_op_incr(&o, tag, 1);
    return cry_mrec_update(r, mid, &o, NULL, err);
}

int grp_member_count_post(struct core_redis *r, const char *mid, struct core_err *err)
{
    return count(r, mid, CRY_MR_NP, err);
}

int grp_member_append_count_post(struct core_redis *r, const char *mid, struct core_err *err)
{
    struct cry_mrec_ops o;

    cry_mrec_ops_init(&o);
    cry_mrec_op_incr(&o, CRY_MR_NP, 1);
    return cry_mrec_append_update(r, mid, &o, err);
}

int grp_member_count_reply(struct core_redis *r, struct core_err *err)
{
    redisReply *rep = NULL;
    int rc;

    if (core_redis_get_reply(r, &rep, err) != 0) {
        if (core_redis_err_is(err, "NOSCRIPT"))
            cry_mrec_script_forget();
        return -1;
    }
    rc = cry_mrec_update_reply(rep, NULL, err);
    freeReplyObject(rep);
    return rc;
}

int grp_member_add_strike(struct core_redis *r, const char *mid, struct core_err *err)
{
    return count(r, mid, CRY_MR_SK, err);
}

int grp_member_bulk_prepare(struct core_redis *r, struct core_err *err)
{
    if (core_redis_script_load(r, &add_script, err) != 0)
        return -1;
    return cry_mrec_prepare(r, err);
}

int grp_member_append_bulk_join(struct core_redis *r, const char *mid, const char *code,
                                const char *cv, enum grp_lang lang, int64_t now, int *replies,
                                struct core_err *err)
{
    struct set_args a;
    struct cry_mrec_ops o;

    *replies = 0;
    if (set_args(&a, code, mid, err) != 0)
        return -1;
    if (core_redis_eval_append(r, &add_script, 2, 3, a.argv, a.lens, err) != 0)
        return -1;
    (*replies)++;
    cry_mrec_ops_init(&o);
    cry_mrec_op_set(&o, CRY_MR_CV, cv);
    cry_mrec_op_set_int(&o, CRY_MR_CTS, now);
    cry_mrec_op_del(&o, CRY_MR_DS);
    cry_mrec_op_del(&o, CRY_MR_DD);
    cry_mrec_op_set(&o, CRY_MR_G, code);
    cry_mrec_op_set(&o, CRY_MR_ST, grp_member_state_name(GRP_MEMBER_ACTIVE));
    cry_mrec_op_set_int(&o, CRY_MR_JT, now);
    if (lang != GRP_LANG_HI)
        cry_mrec_op_set(&o, CRY_MR_LANG, grp_lang_code(lang));
    if (cry_mrec_append_update(r, mid, &o, err) != 0)
        return -1;
    (*replies)++;
    return 0;
}

/* ======================= groups ======================= */

long long grp_member_group_count(struct core_redis *r, const char *code, struct core_err *err)
{
    char unit[GRP_CODE_MAX + 16];
    redisReply *rep;
    long long n;

    snprintf(unit, sizeof unit, "js:u:{%s}", code);
    if (core_redis_cmdf(r, &rep, err, "HGET %s n", unit) != 0)
        return -1;
    n = rep->type == REDIS_REPLY_STRING ? core_redis_int(rep) : 0;
    freeReplyObject(rep);
    return n < 0 ? 0 : n;
}

int grp_member_in_group(struct core_redis *r, const char *code, const char *mid,
                        struct core_err *err)
{
    char set[GRP_CODE_MAX + 16];
    unsigned char bin[CRY_MREC_MID_BYTES];
    redisReply *rep;
    long long n;

    if (cry_mrec_mid_to_bin(mid, bin) != 0)
        return 0;
    snprintf(set, sizeof set, "js:u:{%s}:mem", code);
    if (core_redis_cmdf(r, &rep, err, "HEXISTS %s %b", set, (const char *)bin, sizeof bin) != 0)
        return -1;
    n = core_redis_int(rep);
    freeReplyObject(rep);
    return n == 1;
}

int grp_member_mid_from_set(const redisReply *e, char mid[CRY_MID_LEN])
{
    mid[0] = '\0';
    if (e == NULL || e->type != REDIS_REPLY_STRING || e->len != CRY_MREC_MID_BYTES)
        return -1;
    core_hex(mid, (const unsigned char *)e->str, CRY_MREC_MID_BYTES);
    return 0;
}

int grp_member_group_scan(struct core_redis *r, const char *code, char cursor[GRP_CURSOR_MAX],
                          size_t batch, int (*fn)(void *ud, const char *const *mids, size_t n),
                          void *ud, struct core_err *err)
{
    char set[GRP_CODE_MAX + 16];
    char count[24];
    const char **mids = NULL;
    char(*hex)[CRY_MID_LEN] = NULL;
    size_t cap = 0;
    int rc = 0;

    snprintf(set, sizeof set, "js:u:{%s}:mem", code);
    snprintf(count, sizeof count, "%zu", batch > 0 ? batch : 100);
    if (cursor[0] == '\0')
        snprintf(cursor, GRP_CURSOR_MAX, "0");
    for (;;) {
        redisReply *rep;
        const redisReply *items;
        size_t n = 0;

        if (core_redis_cmdf(r, &rep, err, "HSCAN %s %s COUNT %s", set, cursor, count) != 0) {
            rc = -1;
            break;
        }
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
            rep->element[0]->type != REDIS_REPLY_STRING ||
            rep->element[1]->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(rep);
            rc = core_err_set(err, CORE_EX_SOFTWARE, "member: unexpected HSCAN reply");
            break;
        }
        items = rep->element[1];
        if (items->elements / 2 > cap) {
            cap = items->elements / 2;
            mids = core_realloc(mids, cap * sizeof *mids);
            hex = core_realloc(hex, cap * sizeof *hex);
        }
        /* field, value pairs: the fields are the binary mids */
        for (size_t i = 0; i + 1 < items->elements; i += 2) {
            if (grp_member_mid_from_set(items->element[i], hex[n]) == 0) {
                mids[n] = hex[n];
                n++;
            }
        }
        if (n > 0)
            rc = fn(ud, mids, n);
        snprintf(cursor, GRP_CURSOR_MAX, "%s", rep->element[0]->str);
        freeReplyObject(rep);
        if (rc != 0 || strcmp(cursor, "0") == 0)
            break;
    }
    free(mids);
    free(hex);
    return rc;
}
