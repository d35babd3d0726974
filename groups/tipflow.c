/*
 * groups/tipflow.c - the dialogue's "tip" flow (see tipflow.h and
 * docs/tips.md). Every call into groups/tip.h is idempotent per event key,
 * and replies are keyed by the event, so a replayed webhook repeats nothing.
 */
#include "groups/tipflow.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "groups/tip.h"

#include <stdio.h>
#include <string.h>

CORE_COUNTER(m_opened, "janseva_tipflow_messages_total", "step=\"opened\"",
             "messages of the tip conversation, by what they did");
CORE_COUNTER(m_added, "janseva_tipflow_messages_total", "step=\"added\"",
             "messages of the tip conversation, by what they did");
CORE_COUNTER(m_done, "janseva_tipflow_messages_total", "step=\"done\"",
             "messages of the tip conversation, by what they did");
CORE_COUNTER(m_followup, "janseva_tipflow_messages_total", "step=\"followup\"",
             "messages of the tip conversation, by what they did");
CORE_COUNTER(m_status, "janseva_tipflow_messages_total", "step=\"status\"",
             "messages of the tip conversation, by what they did");
CORE_COUNTER(m_ended, "janseva_tipflow_messages_total", "step=\"ended\"",
             "messages of the tip conversation, by what they did");
CORE_COUNTER(m_unavailable, "janseva_tipflow_messages_total", "step=\"unavailable\"",
             "messages of the tip conversation, by what they did");
CORE_COUNTER(m_routed, "janseva_tipflow_messages_total", "step=\"routed_by_place\"",
             "messages of the tip conversation, by what they did");

void grp_tipflow_metrics_init(void)
{
    core_metrics_register(&m_opened);
    core_metrics_register(&m_added);
    core_metrics_register(&m_done);
    core_metrics_register(&m_followup);
    core_metrics_register(&m_status);
    core_metrics_register(&m_ended);
    core_metrics_register(&m_unavailable);
    core_metrics_register(&m_routed);
}

/* ======================= helpers ======================= */

static int reply_id(struct grp_dlg *d, const char *id)
{
    return grp_dlg_reply_text(d, grp_dlg_text(d, id, NULL, 0)) != 0 ? -1 : 1;
}

static int set_state(struct grp_dlg *d)
{
    return grp_member_set_dialogue(d->redis, d->member.mid, GRP_TIPFLOW_STATE, NULL, d->now,
                                   d->err);
}

static int clear_state(struct grp_dlg *d)
{
    if (d->member.ds[0] == '\0')
        return 0;
    if (grp_member_set_dialogue(d->redis, d->member.mid, NULL, NULL, d->now, d->err) != 0)
        return -1;
    d->member.ds[0] = '\0';
    d->member.dd[0] = '\0';
    return 0;
}

/* The pseudonym of case `cid` into `ps` ("" when it cannot be read). */
static int pseudonym_of(struct grp_dlg *d, const char *cid, char ps[GRP_TIP_PSEUDONYM_LEN])
{
    struct grp_tip_case c;

    ps[0] = '\0';
    if (grp_tip_load(d->redis, cid, &c, d->err) != 0) {
        if (d->err->code == CORE_EX_UNAVAILABLE)
            return -1;
        core_err_clear(d->err);
        return 0;
    }
    snprintf(ps, GRP_TIP_PSEUDONYM_LEN, "%s", c.pseudonym);
    return 0;
}

static int says_done(const struct grp_dlg *d)
{
    if (strcmp(d->reply_id, GRP_TIPFLOW_DONE_ID) == 0)
        return 1;
    return strcmp(d->ev->type, "text") == 0 && grp_dlg_done(d->text, strlen(d->text));
}

/* ======================= steps ======================= */

/* TIP: the protection notice and a new case with its pseudonym. */
static int open_case(struct grp_dlg *d)
{
    struct grp_tip *t = grp_dlg_tips(d);
    struct grp_tip_case c;
    int created = 0;
    const char *intro;
    const char *opened;
    char *body;
    size_t n;

    if (t == NULL) {
        core_metric_inc(&m_unavailable);
        return reply_id(d, "tip.soon");
    }
    if (grp_tip_open_case(t, d->ctx, d->ev, NULL, &c, &created, d->err) != 0) {
        if (d->err->code != CORE_EX_CONFIG)
            return -1;
        /* no reveal key yet: the line cannot protect anyone, so it is closed */
        core_log_warn("tipflow", d->ctx->req_id, "tip line unavailable: %s", d->err->msg);
        core_err_clear(d->err);
        core_metric_inc(&m_unavailable);
        return reply_id(d, "tip.unavailable");
    }
    intro = grp_dlg_text(d, "tip.intro", NULL, 0);
    opened = GRP_DLG_TEXT(d, "tip.opened", c.pseudonym);
    n = strlen(intro) + strlen(opened) + 3;
    body = core_malloc(n);
    snprintf(body, n, "%s\n\n%s", intro, opened);
    if (grp_dlg_reply_text(d, grp_dlg_keep(d, body)) != 0)
        return -1;
    if (created && d->n_dup == 0)
        core_metric_inc(&m_opened);
    return set_state(d) != 0 ? -1 : 1;
}

/*
 * Add the message to case `cid`; acknowledge with "received" and the Done
 * button (in a session) or "added to your tip" (a follow-up). Returns 1,
 * 0 when the case turned out not to be the sender's, or -1.
 */
static int add_to(struct grp_dlg *d, const char *cid, int in_session)
{
    struct grp_tip *t = grp_dlg_tips(d);
    struct grp_tip_added a;
    char ps[GRP_TIP_PSEUDONYM_LEN];
    struct grp_dlg_option done;

    if (grp_tip_add(t, d->ctx, d->ev, cid, &a, d->err) != 0) {
        if (d->err->code == CORE_EX_NOINPUT || d->err->code == CORE_EX_NOPERM) {
            core_err_clear(d->err);
            return 0;
        }
        if (d->err->code != CORE_EX_DATAERR)
            return -1;
        core_err_clear(d->err);
        if (pseudonym_of(d, cid, ps) != 0)
            return -1;
        return grp_dlg_reply_text(d, GRP_DLG_TEXT(d, "tip.full", ps)) != 0 ? -1 : 1;
    }
    if (!a.kept)
        return reply_id(d, "tip.unsupported");
    if (!a.duplicate)
        core_metric_inc(in_session ? &m_added : &m_followup);
    if (d->ev->type != NULL && strcmp(d->ev->type, "location") == 0 && d->ev->has_location) {
        int moved = 0;

        /* where it happened decides which police get it (tip.h) */
        if (grp_tip_route_by_place(t, d->redis, cid, d->ev->latitude, d->ev->longitude, &moved,
                                   d->err) != 0)
            return -1;
        if (moved)
            core_metric_inc(&m_routed);
    }
    if (in_session) {
        done.id = GRP_TIPFLOW_DONE_ID;
        done.title = grp_dlg_text(d, "tip.done.btn", NULL, 0);
        done.desc = NULL;
        return grp_dlg_reply_buttons(d, grp_dlg_text(d, "tip.received", NULL, 0), &done, 1) != 0
                   ? -1
                   : 1;
    }
    if (pseudonym_of(d, cid, ps) != 0)
        return -1;
    return grp_dlg_reply_text(d, GRP_DLG_TEXT(d, "tip.followup", ps)) != 0 ? -1 : 1;
}

/* A message while the member's tip session on `cid` lives. */
static int in_session(struct grp_dlg *d, const char *cid)
{
    struct grp_tip *t = grp_dlg_tips(d);
    char ps[GRP_TIP_PSEUDONYM_LEN];
    int rc;

    if (says_done(d)) {
        if (pseudonym_of(d, cid, ps) != 0)
            return -1;
        if (grp_dlg_reply_text(d, GRP_DLG_TEXT(d, "tip.done", ps)) != 0)
            return -1;
        if (grp_tip_session_end(t, d->redis, d->member.mid, d->err) != 0)
            return -1;
        if (d->n_dup == 0)
            core_metric_inc(&m_done);
        return clear_state(d) != 0 ? -1 : 1;
    }
    rc = add_to(d, cid, 1);
    if (rc <= 0)
        return rc;
    /* the state's time follows the session's */
    return set_state(d) != 0 ? -1 : 1;
}

/* The news of case `cid` (a message that is little more than its code). */
static int status(struct grp_dlg *d, const char *cid)
{
    struct core_buf b;
    int rc;

    core_buf_init(&b, 0);
    if (grp_tip_status_text(grp_dlg_tips(d), d->redis, cid, grp_lang_code(d->member.lang), &b,
                            d->err) != 0) {
        core_buf_cleanup(&b);
        return -1;
    }
    rc = grp_dlg_reply_text(d, b.data != NULL ? b.data : "");
    core_buf_cleanup(&b);
    if (rc != 0)
        return -1;
    if (d->n_dup == 0)
        core_metric_inc(&m_status);
    return 1;
}

/* ======================= the flow ======================= */

static int on_keyword(struct grp_dlg *d, enum grp_keyword kw)
{
    return kw == GRP_KW_TIP ? open_case(d) : 0;
}

/* State "tip:open" or the Done button. */
static int on_message(struct grp_dlg *d)
{
    struct grp_tip *t = grp_dlg_tips(d);
    char cid[GRP_TIP_CASE_LEN];
    int found = 0;

    if (t == NULL) {
        if (clear_state(d) != 0)
            return -1;
        return d->route == GRP_ROUTE_REPLY ? reply_id(d, "tip.soon") : 0;
    }
    if (grp_tip_session_get(t, d->redis, d->member.mid, cid, &found, d->err) != 0)
        return -1;
    if (found)
        return in_session(d, cid);
    /* The session ended (quiet for tip_session_idle_s, or DONE): say so
     * once rather than pass what was meant for the tip on to a group. */
    if (grp_dlg_reply_text(d, grp_dlg_text(d, "tip.ended", NULL, 0)) != 0)
        return -1;
    if (d->n_dup == 0)
        core_metric_inc(&m_ended);
    return clear_state(d) != 0 ? -1 : 1;
}

/* Anything else: a live session whose state another step replaced, a
 * WhatsApp reply to an officer's message, a quoted pseudonym. */
static int on_other(struct grp_dlg *d)
{
    struct grp_tip *t = grp_dlg_tips(d);
    char cid[GRP_TIP_CASE_LEN];
    char ps[GRP_TIP_PSEUDONYM_LEN];
    int found = 0;
    int rc;
    size_t len = strlen(d->text);

    if (t == NULL)
        return 0;
    if (grp_tip_session_get(t, d->redis, d->member.mid, cid, &found, d->err) != 0)
        return -1;
    if (found) {
        if (d->member.st != GRP_MEMBER_LEFT || d->member.ds[0] != '\0')
            return in_session(d, cid);
        /* STOP during the session (it cleared ds): the session ends too */
        if (grp_tip_session_end(t, d->redis, d->member.mid, d->err) != 0)
            return -1;
    }
    if (d->ev->context_id != NULL && d->ev->context_id[0] != '\0') {
        if (grp_tip_find_by_context(t, d->redis, d->ev->context_id, d->member.mid, cid, &found,
                                    d->err) != 0)
            return -1;
        rc = found ? add_to(d, cid, 0) : 0;
        if (rc != 0)
            return rc;
    }
    if (len == 0 || !grp_tip_pseudonym_scan(d->text, len, ps))
        return 0;
    if (grp_tip_find_by_pseudonym(t, d->redis, d->text, d->member.mid, cid, &found, d->err) != 0)
        return -1;
    if (!found) {
        /* only a message that is the code itself gets an answer: a
         * sentence that happens to contain one is an ordinary message */
        if (len > GRP_TIPFLOW_SHORT)
            return 0;
        return grp_dlg_reply_text(d, GRP_DLG_TEXT(d, "tip.unknown", ps)) != 0 ? -1 : 1;
    }
    if (len <= GRP_TIPFLOW_SHORT && strcmp(d->ev->type, "text") == 0)
        return status(d, cid);
    return add_to(d, cid, 0);
}

const struct grp_flow grp_tipflow_flow = {
    .name = "tip",
    .state_prefix = "tip:",
    .reply_prefix = "tip:",
    .on_keyword = on_keyword,
    .on_message = on_message,
    .on_other = on_other,
};
