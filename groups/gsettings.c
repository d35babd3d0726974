/*
 * groups/gsettings.c - the settings of a village group (see gsettings.h).
 */
#include "groups/gsettings.h"
#include "core/util.h"
#include "groups/broadcast.h"
#include "groups/digest.h"
#include "groups/hier.h"
#include "groups/member.h"
#include "groups/relay.h"

#include <stdio.h>
#include <string.h>

/* Check that `code` is a locality: 0 (u filled; clean it up), or -1 with
 * CORE_EX_NOINPUT. */
static int locality(struct core_redis *r, const char *code, struct grp_unit *u,
                    struct core_err *err)
{
    int found;

    if (code == NULL || !grp_code_ok(code, strlen(code)))
        return core_err_set(err, CORE_EX_NOINPUT, "no village group '%.40s'",
                            code != NULL ? code : "");
    found = grp_unit_get(r, code, u, err);
    if (found < 0)
        return -1;
    if (found == 0)
        return core_err_set(err, CORE_EX_NOINPUT, "no village group '%s'", code);
    if (u->kind != GRP_LOCALITY) {
        core_err_set(err, CORE_EX_NOINPUT, "'%s' is a %s, not a village group", code,
                     grp_kind_name(u->kind));
        grp_unit_cleanup(u);
        return -1;
    }
    return 0;
}

int grp_gs_locality(struct core_redis *r, const char *code, struct core_err *err)
{
    struct grp_unit u;

    if (locality(r, code, &u, err) != 0)
        return -1;
    grp_unit_cleanup(&u);
    return 0;
}

int grp_gs_show(struct core_redis *r, const struct core_cfg *cfg, const char *code,
                json_t **out, struct core_err *err)
{
    struct grp_unit u;
    enum grp_relay_mode m;
    long long members;
    long long cost = 0, charged = 0, queued = 0, skipped = 0;
    long long posts[2] = {0, 0}, rcpt[2] = {0, 0};
    bool done[2] = {false, false};
    char days[2][GRP_DIGEST_DAY_LEN];
    char money[32];
    char budget[32];
    int64_t now = core_now_ms() / 1000;
    json_t *j;

    *out = NULL;
    if (locality(r, code, &u, err) != 0)
        return -1;
    members = grp_member_group_count(r, code, err);
    if (members < 0 || grp_relay_mode_get(r, code, &m, err) != 0 ||
        grp_relay_day(r, code, now, &cost, &charged, &queued, &skipped, err) != 0)
        goto fail;
    grp_digest_day(now, cfg->digest_hour, cfg->digest_utc_offset_min, days[0]);
    grp_digest_due_day(now, cfg->digest_hour, cfg->digest_utc_offset_min, days[1]);
    for (int i = 0; i < 2; i++) {
        if (grp_digest_info(r, code, days[i], &posts[i], &rcpt[i], &done[i], err) != 0)
            goto fail;
    }
    grp_bc_money(cost, money, sizeof money);
    grp_bc_money(cfg->post_daily_budget, budget, sizeof budget);
    j = json_pack("{s:s,s:s,s:s,s:I,s:{s:s},s:{s:s,s:s,s:I,s:I,s:I,s:I}}", "code", code,
                  "name_en", u.name_en != NULL ? u.name_en : "", "name_hi",
                  u.name_hi != NULL ? u.name_hi : "", "members", (json_int_t)members,
                  "settings", "relay", grp_relay_mode_name(m), "today", "cost_inr", money,
                  "budget_inr", budget, "charged", (json_int_t)charged, "queued",
                  (json_int_t)queued, "skipped", (json_int_t)skipped, "cost", (json_int_t)cost);
    json_object_set_new(j, "digest",
                        json_pack("{s:{s:s,s:I,s:I,s:i},s:{s:s,s:I,s:I,s:b}}", "collecting",
                                  "day", days[0], "posts", (json_int_t)posts[0], "members",
                                  (json_int_t)rcpt[0], "hour", cfg->digest_hour, "due", "day",
                                  days[1], "posts", (json_int_t)posts[1], "members",
                                  (json_int_t)rcpt[1], "sent", done[1]));
    grp_unit_cleanup(&u);
    *out = j;
    return 0;
fail:
    grp_unit_cleanup(&u);
    return -1;
}

/* A known setting and a valid value: 0, or -1 with CORE_EX_DATAERR. */
static int check_value(const char *name, const char *value, struct core_err *err)
{
    enum grp_relay_mode m;

    if (name == NULL || strcmp(name, "relay") != 0)
        return core_err_set(err, CORE_EX_DATAERR, "unknown group setting '%.40s' (relay)",
                            name != NULL ? name : "");
    if (value == NULL || grp_relay_mode_parse(value, &m) != 0)
        return core_err_set(err, CORE_EX_DATAERR, "relay must be each or digest, not '%.20s'",
                            value != NULL ? value : "");
    return 0;
}

int grp_gs_check(struct core_redis *r, const char *code, const char *name, const char *value,
                 struct core_err *err)
{
    if (check_value(name, value, err) != 0)
        return -1;
    return grp_gs_locality(r, code, err);
}

int grp_gs_parse_body(const char *body, size_t len, struct grp_gs_change out[GRP_GS_MAX],
                      char *why, size_t wn)
{
    json_error_t jerr;
    json_t *root = json_loadb(body != NULL ? body : "", body != NULL ? len : 0,
                              JSON_REJECT_DUPLICATES, &jerr);
    struct core_err err;
    const char *k;
    json_t *v;
    int n = 0;

    if (root == NULL || !json_is_object(root) || json_object_size(root) == 0) {
        json_decref(root);
        snprintf(why, wn, "the body must be a JSON object such as {\"relay\": \"digest\"}");
        return -1;
    }
    if (json_object_size(root) > GRP_GS_MAX) {
        json_decref(root);
        snprintf(why, wn, "at most %d settings at a time", GRP_GS_MAX);
        return -1;
    }
    json_object_foreach(root, k, v)
    {
        const char *val = json_string_value(v);

        core_err_clear(&err);
        if (strcmp(k, "relay") != 0) { /* the one setting there is */
            snprintf(why, wn, "unknown group setting (there is one: relay)");
            n = -1;
            break;
        }
        if (val == NULL) {
            snprintf(why, wn, "relay must be a string: each or digest");
            n = -1;
            break;
        }
        if (strlen(val) >= GRP_GS_FIELD_MAX || check_value(k, val, &err) != 0) {
            snprintf(why, wn, "relay must be each or digest"); /* the value is not repeated */
            n = -1;
            break;
        }
        snprintf(out[n].name, sizeof out[n].name, "%s", k);
        snprintf(out[n].value, sizeof out[n].value, "%s", val);
        n++;
    }
    json_decref(root);
    return n;
}

int grp_gs_set(struct core_redis *r, struct cry_audit *audit, const char *actor, const char *code,
               const char *name, const char *value, int *changed, struct core_err *err)
{
    enum grp_relay_mode m;
    enum grp_relay_mode cur;
    char reason[64];

    if (changed != NULL)
        *changed = 0;
    if (grp_gs_check(r, code, name, value, err) != 0)
        return -1;
    grp_relay_mode_parse(value, &m);
    if (grp_relay_mode_get(r, code, &cur, err) != 0)
        return -1;
    if (cur == m)
        return 0;
    /* the record first: a change never goes unrecorded (a crash in between
     * leaves a record of a change that a repeat then makes) */
    snprintf(reason, sizeof reason, "relay=%s (was %s)", grp_relay_mode_name(m),
             grp_relay_mode_name(cur));
    if (audit != NULL &&
        cry_audit_append(audit, r, actor, "group.set", code, reason, NULL, err) != 0)
        return -1;
    if (grp_relay_mode_set(r, code, m, err) != 0)
        return -1;
    if (changed != NULL)
        *changed = 1;
    return 0;
}
