/*
 * groups/sanction.c - mute and ban (see sanction.h).
 */
#include "groups/sanction.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "crypto/identity.h"
#include "groups/hier.h"
#include "groups/member.h"

#include <stdio.h>
#include <string.h>

CORE_COUNTER(m_mute, "janseva_member_sanctions_total", "action=\"mute\"",
             "Sanctions changed by moderators, by action");
CORE_COUNTER(m_unmute, "janseva_member_sanctions_total", "action=\"unmute\"",
             "Sanctions changed by moderators, by action");
CORE_COUNTER(m_ban, "janseva_member_sanctions_total", "action=\"ban\"",
             "Sanctions changed by moderators, by action");
CORE_COUNTER(m_unban, "janseva_member_sanctions_total", "action=\"unban\"",
             "Sanctions changed by moderators, by action");

static struct core_metric *const counters[] = {&m_mute, &m_unmute, &m_ban, &m_unban};
static const char *const action_names[] = {"mute", "unmute", "ban", "unban"};

void grp_sx_metrics_init(void)
{
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        core_metrics_register(counters[i]);
}

int grp_sx_action_parse(const char *s, enum grp_sx_action *out)
{
    for (size_t i = 0; i < sizeof action_names / sizeof action_names[0]; i++) {
        if (s != NULL && strcmp(s, action_names[i]) == 0) {
            *out = (enum grp_sx_action)i;
            return 0;
        }
    }
    return -1;
}

const char *grp_sx_action_name(enum grp_sx_action a)
{
    return (unsigned)a < sizeof action_names / sizeof action_names[0] ? action_names[a] : "?";
}

const char *grp_sx_state_name(enum grp_sx_state s)
{
    return s == GRP_SX_MUTED ? "muted" : s == GRP_SX_BANNED ? "banned" : "none";
}

static void sx_key(const char *mid, char *out, size_t n)
{
    snprintf(out, n, GRP_SX_PREFIX "%s}", mid);
}

int grp_sx_get(struct core_redis *r, const char *mid, enum grp_sx_state *out,
               struct core_err *err)
{
    char key[CRY_MID_LEN + 16];
    redisReply *rep;

    *out = GRP_SX_NONE;
    sx_key(mid, key, sizeof key);
    if (core_redis_cmdf(r, &rep, err, "HGET %s s", key) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_STRING)
        *out = strcmp(rep->str, "banned") == 0  ? GRP_SX_BANNED
               : strcmp(rep->str, "muted") == 0 ? GRP_SX_MUTED
                                                : GRP_SX_NONE;
    freeReplyObject(rep);
    return 0;
}

static int sx_set(struct core_redis *r, const char *mid, enum grp_sx_state s,
                  struct core_err *err)
{
    char key[CRY_MID_LEN + 16];
    char now[24];

    sx_key(mid, key, sizeof key);
    if (s == GRP_SX_NONE)
        return core_redis_cmdf(r, NULL, err, "DEL %s", key);
    snprintf(now, sizeof now, "%lld", (long long)(core_now_ms() / 1000));
    return core_redis_cmdf(r, NULL, err, "HSET %s s %s t %s", key, grp_sx_state_name(s), now);
}

/* True (1) when locality `code` still exists, 0 when not, -1 on error. */
static int locality_exists(struct core_redis *r, const char *code, struct core_err *err)
{
    struct grp_unit u;
    int found = grp_unit_get(r, code, &u, err);

    if (found <= 0)
        return found;
    found = u.kind == GRP_LOCALITY;
    grp_unit_cleanup(&u);
    return found;
}

/* Bring the member's st in line with sanction `s`; *changed |= 1 when it
 * moved. */
static int sync_member(struct core_redis *r, const struct grp_member *m, enum grp_sx_state s,
                       int *changed, struct core_err *err)
{
    int in_group = (m->st == GRP_MEMBER_ACTIVE || m->st == GRP_MEMBER_MUTED ||
                    m->st == GRP_MEMBER_BANNED) &&
                   m->group[0] != '\0';
    enum grp_member_state want;
    int ok;

    if (!in_group)
        return 0; /* the record alone: checked when they join */
    want = s == GRP_SX_BANNED ? GRP_MEMBER_BANNED
           : s == GRP_SX_MUTED ? GRP_MEMBER_MUTED
                               : GRP_MEMBER_ACTIVE;
    if (want == m->st)
        return 0;
    *changed = 1;
    if (want == GRP_MEMBER_ACTIVE && m->st == GRP_MEMBER_BANNED) {
        ok = locality_exists(r, m->group, err);
        if (ok < 0)
            return -1;
        if (!ok) /* the village is gone: free to join another */
            return grp_member_leave(r, m->mid, err);
    }
    return grp_member_set_state(r, m->mid, want, err);
}

enum grp_sx_rc grp_sx_apply(struct core_redis *r, struct cry_audit *audit, const char *actor,
                            const char *mid, enum grp_sx_action a, const char *reason,
                            int *changed, struct core_err *err)
{
    struct grp_member m;
    enum grp_sx_state cur, want;
    int ch = 0;

    if (changed != NULL)
        *changed = 0;
    if (!cry_identity_is_mid(mid)) {
        core_err_set(err, CORE_EX_DATAERR, "not a member id");
        return GRP_SX_ENOTFOUND;
    }
    if (grp_member_load(r, mid, &m, err) != 0)
        return GRP_SX_EFAIL;
    if (!m.exists) {
        core_err_set(err, CORE_EX_NOINPUT, "no such member");
        return GRP_SX_ENOTFOUND;
    }
    if (grp_sx_get(r, mid, &cur, err) != 0)
        return GRP_SX_EFAIL;
    switch (a) {
    case GRP_SX_MUTE:
    case GRP_SX_UNMUTE:
        if (cur == GRP_SX_BANNED) {
            core_err_set(err, CORE_EX_NOPERM, "the member is banned: unban first");
            return GRP_SX_ESTATE;
        }
        want = a == GRP_SX_MUTE ? GRP_SX_MUTED : GRP_SX_NONE;
        break;
    case GRP_SX_BAN:
        want = GRP_SX_BANNED;
        break;
    case GRP_SX_UNBAN:
    default:
        want = cur == GRP_SX_BANNED ? GRP_SX_NONE : cur;
        break;
    }
    /* the record first: a crash before the state is finished by a repeat */
    if (want != cur) {
        ch = 1;
        if (sx_set(r, mid, want, err) != 0)
            return GRP_SX_EFAIL;
    }
    if (sync_member(r, &m, want, &ch, err) != 0)
        return GRP_SX_EFAIL;
    if (!ch)
        return GRP_SX_OK;
    if (audit != NULL) {
        char action[24];

        snprintf(action, sizeof action, "member.%s", grp_sx_action_name(a));
        if (cry_audit_append(audit, r, actor, action, mid, reason, NULL, err) != 0)
            return GRP_SX_EFAIL;
    }
    core_metric_inc(counters[a]);
    core_log_kv(CORE_LOG_INFO, "sanction", NULL, "member sanction changed",
                json_pack("{s:s,s:s,s:s,s:s}", "member", mid, "action", grp_sx_action_name(a),
                          "by", actor, "group", m.group));
    if (changed != NULL)
        *changed = 1;
    return GRP_SX_OK;
}
