/*
 * groups/alertflow.c - the dialogue's "alert" flow (see alertflow.h and
 * docs/broadcasts.md). The engine's calls are idempotent (prepare by the
 * event key, confirm and cancel by state), so a replayed webhook prepares,
 * confirms or cancels nothing twice.
 */
#include "groups/alertflow.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"
#include "groups/bctext.h"
#include "groups/broadcast.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

CORE_COUNTER(m_preview, "janseva_alertflow_messages_total", "step=\"preview\"",
             "officers' ALERT conversation steps");
CORE_COUNTER(m_confirm, "janseva_alertflow_messages_total", "step=\"confirmed\"",
             "officers' ALERT conversation steps");
CORE_COUNTER(m_cancel, "janseva_alertflow_messages_total", "step=\"cancelled\"",
             "officers' ALERT conversation steps");
CORE_COUNTER(m_refused, "janseva_alertflow_messages_total", "step=\"refused\"",
             "officers' ALERT conversation steps");
CORE_COUNTER(m_areas, "janseva_alertflow_messages_total", "step=\"area_list\"",
             "officers' ALERT conversation steps");
CORE_COUNTER(m_picked, "janseva_alertflow_messages_total", "step=\"area_chosen\"",
             "officers' ALERT conversation steps");

void grp_alertflow_metrics_init(void)
{
    core_metrics_register(&m_preview);
    core_metrics_register(&m_confirm);
    core_metrics_register(&m_cancel);
    core_metrics_register(&m_refused);
    core_metrics_register(&m_areas);
    core_metrics_register(&m_picked);
}

/* ======================= parsing ======================= */

static int space(char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

static int code_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int grp_alertflow_parse(const char *text, size_t len, int keyword, struct grp_alert_cmd *out)
{
    size_t a = 0;
    size_t b;
    int ok = 1;

    memset(out, 0, sizeof *out);
    if (text == NULL)
        return 0;
    if (keyword) {
        if (grp_dlg_keyword_lead(text, len, &a) != GRP_KW_ALERT) {
            /* the whole message may be the keyword ("ALERT!") */
            if (grp_dlg_keyword(text, len) != GRP_KW_ALERT)
                return 0;
            a = len;
        }
    }
    while (a < len && space(text[a]))
        a++;
    out->scope_off = a;
    out->text_off = a;
    b = a;
    while (b < len && !space(text[b]))
        b++;
    if (b - a < 2 || b - a > GRP_CODE_MAX)
        return 1;
    for (size_t i = a; i < b; i++)
        ok &= code_char(text[i]);
    /* at least one capital letter: "2024" or "112" is text, not a code */
    if (ok) {
        int letter = 0;

        for (size_t i = a; i < b; i++)
            letter |= text[i] >= 'A' && text[i] <= 'Z';
        ok = letter && grp_code_ok(text + a, b - a);
    }
    if (!ok)
        return 1;
    memcpy(out->scope, text + a, b - a);
    out->scope[b - a] = '\0';
    while (b < len && space(text[b]))
        b++;
    out->text_off = b;
    return 1;
}

void grp_alertflow_page(size_t n, size_t offset, size_t reserve, struct grp_alert_page *pg)
{
    size_t start = 0;
    size_t prev = 0;

    memset(pg, 0, sizeof *pg);
    if (reserve > GRP_DLG_ROWS_MAX - 2)
        reserve = GRP_DLG_ROWS_MAX - 2;
    for (;;) {
        size_t room = GRP_DLG_ROWS_MAX - (start > 0 ? 1 : reserve);
        size_t left = n > start ? n - start : 0;
        int more = left > room;
        size_t count = more ? room - 1 : left;

        if (!more || offset < start + count) {
            pg->first = start;
            pg->count = count;
            pg->back = start > 0;
            pg->more = more;
            pg->prev = prev;
            pg->next = start + count;
            return;
        }
        prev = start;
        start += count;
    }
}

/* ======================= helpers ======================= */

static int reply(struct grp_dlg *d, const char *body)
{
    return grp_dlg_reply_text(d, body) != 0 ? -1 : 1;
}

/* 1 officer (`who` filled), 0 not an officer, -1 error. */
static int officer(struct grp_dlg *d, struct grp_bc_actor *who)
{
    switch (grp_bc_actor_officer_mid(d->redis, d->member.mid, who, d->err)) {
    case GRP_BC_OK:
        return 1;
    case GRP_BC_ENOTFOUND:
        core_err_clear(d->err);
        return 0;
    default:
        return -1;
    }
}

/* The name of unit `code` in the member's language (kept), or the code. */
static const char *unit_name(struct grp_dlg *d, const char *code)
{
    struct grp_unit u;
    struct core_err err;
    const char *name = code;

    memset(&u, 0, sizeof u);
    if (grp_unit_get(d->redis, code, &u, &err) == 1) {
        if (d->member.lang == GRP_LANG_HI && u.name_hi != NULL && u.name_hi[0] != '\0')
            name = grp_dlg_keep(d, core_strdup(u.name_hi));
        else if (u.name_en != NULL && u.name_en[0] != '\0')
            name = grp_dlg_keep(d, core_strdup(u.name_en));
        grp_unit_cleanup(&u);
    }
    return name;
}

static int clear_state(struct grp_dlg *d)
{
    if (d->member.ds[0] == '\0')
        return 0;
    if (grp_member_set_dialogue(d->redis, d->member.mid, NULL, NULL, d->now, d->err) != 0)
        return -1;
    d->member.ds[0] = '\0';
    return 0;
}

/*
 * The scope and text of what an officer wrote: a leading code counts only
 * when such a unit exists ("NH31 blocked" stays text). 0 or -1.
 */
static int split(struct grp_dlg *d, int keyword, char scope[GRP_CODE_MAX + 1], const char **text)
{
    struct grp_alert_cmd c;
    size_t len = strlen(d->text);
    int rc;

    scope[0] = '\0';
    *text = "";
    if (!grp_alertflow_parse(d->text, len, keyword, &c))
        return 0;
    *text = d->text + c.scope_off;
    if (c.scope[0] == '\0')
        return 0;
    {
        struct grp_unit u;

        memset(&u, 0, sizeof u);
        rc = grp_unit_get(d->redis, c.scope, &u, d->err);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            grp_unit_cleanup(&u);
            snprintf(scope, GRP_CODE_MAX + 1, "%s", c.scope);
            *text = d->text + c.text_off;
        }
    }
    return 0;
}

/* "Write the text of the alert for X." (state alert:text, dd {"s":scope}) */
static int ask_text(struct grp_dlg *d, const struct grp_bc_actor *who, const char *scope)
{
    const char *area = unit_name(d, scope[0] != '\0' ? scope : who->officer.unit);
    json_t *dd = scope[0] != '\0' ? json_pack("{s:s}", "s", scope) : NULL;
    int rc;

    if (grp_dlg_reply_text(d, GRP_DLG_TEXT(d, "bc.ask_text", area)) != 0) {
        json_decref(dd);
        return -1;
    }
    rc = grp_member_set_dialogue(d->redis, d->member.mid, GRP_ALERTFLOW_STATE, dd, d->now, d->err);
    json_decref(dd);
    return rc != 0 ? -1 : 1;
}

/*
 * Prepare the broadcast and show the preview with Confirm / Cancel (and
 * "Choose area" when the scope has sub-units). *made (may be NULL) is set
 * to 1 when a draft was prepared and its preview queued.
 */
static int prepare(struct grp_dlg *d, const struct grp_bc_actor *who, const char *scope,
                   const char *text, int *made)
{
    struct grp_bc_req req;
    struct grp_bc_preview p;
    struct core_buf b;
    struct grp_dlg_option btn[GRP_DLG_BUTTONS_MAX];
    char ok[sizeof GRP_ALERTFLOW_OK + GRP_BC_ID_LEN];
    char no[sizeof GRP_ALERTFLOW_NO + GRP_BC_ID_LEN];
    char pick[sizeof GRP_ALERTFLOW_PICK + GRP_BC_ID_LEN]; /* or GRP_ALERTFLOW_UP */
    const char *lang = grp_lang_code(d->member.lang);
    size_t nb = 2;
    int rc;

    if (made != NULL)
        *made = 0;
    memset(&req, 0, sizeof req);
    req.scope = scope[0] != '\0' ? scope : NULL;
    req.text = text;
    req.idem = d->ctx->event_key;
    switch (grp_bc_prepare(grp_dlg_broadcast(d), d->redis, who, &req, &p, d->err)) {
    case GRP_BC_OK:
        break;
    case GRP_BC_EFORBIDDEN:
        core_err_clear(d->err);
        core_metric_inc(&m_refused);
        rc = reply(d, GRP_DLG_TEXT(d, "bc.outside", unit_name(d, who->officer.unit)));
        return rc < 0 || clear_state(d) != 0 ? -1 : 1;
    case GRP_BC_EINVALID:
        core_err_clear(d->err);
        rc = reply(d, grp_dlg_text(d, "bc.invalid", NULL, 0));
        return rc < 0 || clear_state(d) != 0 ? -1 : 1;
    case GRP_BC_ENOTFOUND:
        core_err_clear(d->err);
        rc = reply(d, GRP_DLG_TEXT(d, "bc.unknown_unit", scope));
        return rc < 0 || clear_state(d) != 0 ? -1 : 1;
    default:
        return -1;
    }
    if (p.reach.reach == 0) {
        const char *name = strcmp(lang, "en") == 0 || p.reach.name_hi[0] == '\0'
                               ? p.reach.name_en
                               : p.reach.name_hi;

        rc = reply(d, GRP_DLG_TEXT(d, "bc.empty", name));
        return rc < 0 || clear_state(d) != 0 ? -1 : 1;
    }
    core_buf_init(&b, 0);
    if (grp_bc_preview_text(&p, lang, text, &b) != 0 || core_buf_puts(&b, "\n\n") != 0 ||
        core_buf_puts(&b, grp_dlg_text(d, "bc.confirm_question", NULL, 0)) != 0) {
        core_buf_cleanup(&b);
        return core_err_set(d->err, CORE_EX_SOFTWARE, "alert: preview too long");
    }
    snprintf(ok, sizeof ok, "%s%s", GRP_ALERTFLOW_OK, p.id);
    snprintf(no, sizeof no, "%s%s", GRP_ALERTFLOW_NO, p.id);
    btn[0] = (struct grp_dlg_option){ok, grp_dlg_text(d, "bc.btn_confirm", NULL, 0), NULL};
    btn[1] = (struct grp_dlg_option){no, grp_dlg_text(d, "bc.btn_cancel", NULL, 0), NULL};
    if (p.reach.kind != GRP_LOCALITY) {
        /* a scope with sub-units: the officer may narrow it down (and widen
         * it from the list) */
        snprintf(pick, sizeof pick, "%s%s", GRP_ALERTFLOW_PICK, p.id);
        btn[nb++] = (struct grp_dlg_option){pick, grp_dlg_text(d, "bc.btn_pick", NULL, 0), NULL};
    } else if (strcmp(p.reach.scope, who->officer.unit) != 0) {
        /* a village narrower than the officer's unit: widen it again */
        snprintf(pick, sizeof pick, "%s%s", GRP_ALERTFLOW_UP, p.id);
        btn[nb++] = (struct grp_dlg_option){pick, grp_dlg_text(d, "bc.btn_up", NULL, 0), NULL};
    }
    rc = grp_dlg_reply_buttons(d, b.data, btn, nb);
    core_buf_cleanup(&b);
    if (rc != 0)
        return -1;
    if (d->n_dup == 0)
        core_metric_inc(&m_preview);
    if (made != NULL)
        *made = 1;
    return clear_state(d) != 0 ? -1 : 1;
}

/* An alert's text from what was written (`keyword`: after ALERT). */
static int from_text(struct grp_dlg *d, const struct grp_bc_actor *who, int keyword)
{
    char scope[GRP_CODE_MAX + 1];
    const char *text;
    size_t n;

    if (split(d, keyword, scope, &text) != 0)
        return -1;
    if (!keyword && scope[0] == '\0' && d->member.dd[0] != '\0') {
        json_t *dd = json_loads(d->member.dd, 0, NULL);
        const char *s = json_string_value(json_object_get(dd, "s"));

        if (s != NULL && grp_code_ok(s, strlen(s)))
            snprintf(scope, sizeof scope, "%s", s);
        json_decref(dd);
    }
    n = strlen(text);
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\n' || text[n - 1] == '\t'))
        n--;
    if (n == 0)
        return ask_text(d, who, scope);
    if (text[n] != '\0')
        text = grp_dlg_keep(d, core_strndup(text, n));
    return prepare(d, who, scope, text, NULL);
}

/* Confirm or cancel broadcast `bid` as `who`. */
static int decide(struct grp_dlg *d, const struct grp_bc_actor *who, const char *bid, int confirm)
{
    struct grp_bc *bc = grp_dlg_broadcast(d);
    struct grp_bc_status st;
    enum grp_bc_rc rc;
    int expired;
    int live;

    if (!grp_bc_id_ok(bid))
        return reply(d, grp_dlg_text(d, "bc.expired", NULL, 0));
    rc = grp_bc_status(bc, d->redis, NULL, bid, &st, d->err);
    if (rc == GRP_BC_ENOTFOUND) {
        core_err_clear(d->err);
        return reply(d, grp_dlg_text(d, "bc.expired", NULL, 0));
    }
    if (rc != GRP_BC_OK)
        return -1;
    if (strcmp(st.officer, who->officer.code) != 0) {
        /* only the officer who prepared it: a forwarded button or a
         * colleague's phone sends nothing */
        core_metric_inc(&m_refused);
        return reply(d, grp_dlg_text(d, "bc.not_yours", NULL, 0));
    }
    expired = strcmp(st.state, "expired") == 0 ||
              (strcmp(st.state, "draft") == 0 && st.expires_ms <= core_now_ms());
    if (expired)
        return reply(d, grp_dlg_text(d, "bc.expired", NULL, 0));
    if (strcmp(st.state, "cancelled") == 0)
        return reply(d, GRP_DLG_TEXT(d, "bc.cancelled", bid));
    if (confirm && strcmp(st.state, "draft") != 0)
        return reply(d, GRP_DLG_TEXT(d, "bc.already", bid));
    live = strcmp(st.state, "draft") == 0 || strcmp(st.state, "confirmed") == 0 ||
           strcmp(st.state, "running") == 0 || strcmp(st.state, "sending") == 0;
    if (!confirm && !live)
        return reply(d, GRP_DLG_TEXT(d, "bc.too_late", bid));
    rc = confirm ? grp_bc_confirm(bc, d->redis, who, bid, d->err)
                 : grp_bc_cancel(bc, d->redis, who, bid, d->err);
    switch (rc) {
    case GRP_BC_OK:
        core_metric_inc(confirm ? &m_confirm : &m_cancel);
        return reply(d, GRP_DLG_TEXT(d, confirm ? "bc.confirmed" : "bc.cancelled", bid));
    case GRP_BC_EEXPIRED:
        core_err_clear(d->err);
        return reply(d, grp_dlg_text(d, "bc.expired", NULL, 0));
    case GRP_BC_ESTATE:
        core_err_clear(d->err);
        return reply(d, GRP_DLG_TEXT(d, confirm ? "bc.cancelled" : "bc.too_late", bid));
    case GRP_BC_EFORBIDDEN:
    case GRP_BC_ENOTFOUND:
        core_err_clear(d->err);
        core_metric_inc(&m_refused);
        return reply(d, grp_dlg_text(d, "bc.not_yours", NULL, 0));
    default:
        return -1;
    }
}

/* ======================= the area picker ======================= */

/*
 * Draft `bid` of officer `who`, still open: 1 (st filled), 0 (answered
 * why not: expired, cancelled or replaced, already sent, not theirs), -1.
 */
static int open_draft(struct grp_dlg *d, const struct grp_bc_actor *who, const char *bid,
                      struct grp_bc_status *st)
{
    enum grp_bc_rc rc;

    if (!grp_bc_id_ok(bid))
        return reply(d, grp_dlg_text(d, "bc.expired", NULL, 0)) < 0 ? -1 : 0;
    rc = grp_bc_status(grp_dlg_broadcast(d), d->redis, NULL, bid, st, d->err);
    if (rc == GRP_BC_ENOTFOUND) {
        core_err_clear(d->err);
        return reply(d, grp_dlg_text(d, "bc.expired", NULL, 0)) < 0 ? -1 : 0;
    }
    if (rc != GRP_BC_OK)
        return -1;
    if (strcmp(st->officer, who->officer.code) != 0) {
        core_metric_inc(&m_refused);
        return reply(d, grp_dlg_text(d, "bc.not_yours", NULL, 0)) < 0 ? -1 : 0;
    }
    if (strcmp(st->state, "expired") == 0 ||
        (strcmp(st->state, "draft") == 0 && st->expires_ms <= core_now_ms()))
        return reply(d, grp_dlg_text(d, "bc.expired", NULL, 0)) < 0 ? -1 : 0;
    if (strcmp(st->state, "cancelled") == 0)
        return reply(d, GRP_DLG_TEXT(d, "bc.cancelled", bid)) < 0 ? -1 : 0;
    if (strcmp(st->state, "draft") != 0)
        return reply(d, GRP_DLG_TEXT(d, "bc.already", bid)) < 0 ? -1 : 0;
    return 1;
}

/* The kind of a unit in the officer's language ("Beat", "थाना", ...). */
static const char *kind_label(struct grp_dlg *d, enum grp_kind k)
{
    char id[32];

    snprintf(id, sizeof id, "bc.kind.%s", grp_kind_name(k));
    return grp_dlg_text(d, id, NULL, 0);
}

/* "alert:pick:<BID>[:<OFF>]": the sub-units of the draft's scope, one page. */
static int area_list(struct grp_dlg *d, const struct grp_bc_actor *who, const char *arg)
{
    char bid[GRP_BC_ID_LEN];
    char ids[GRP_DLG_ROWS_MAX][GRP_DLG_ROW_ID_MAX];
    struct grp_dlg_option rows[GRP_DLG_ROWS_MAX];
    struct grp_bc_status st;
    struct grp_alert_page pg;
    char **codes = NULL;
    size_t n = 0;
    size_t k = 0;
    size_t offset = 0;
    const char *colon = strchr(arg, ':');
    size_t len = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
    int wider;
    int rc;

    if (len != GRP_BC_ID_LEN - 1)
        return reply(d, grp_dlg_text(d, "bc.expired", NULL, 0));
    snprintf(bid, sizeof bid, "%.*s", (int)len, arg);
    if (colon != NULL) {
        int64_t v;

        if (core_parse_i64(colon + 1, &v) == 0 && v >= 0 && v < 100000)
            offset = (size_t)v;
    }
    rc = open_draft(d, who, bid, &st);
    if (rc <= 0)
        return rc < 0 ? -1 : 1;
    if (grp_children(d->redis, st.reach.scope, &codes, &n, d->err) != 0)
        return -1;
    if (n == 0) {
        grp_codes_free(codes, n);
        return reply(d, GRP_DLG_TEXT(d, "bc.pick_none", unit_name(d, st.reach.scope)));
    }
    wider = strcmp(st.reach.scope, who->officer.unit) != 0;
    grp_alertflow_page(n, offset, (size_t)wider, &pg);
    if (wider && !pg.back) {
        snprintf(ids[k], sizeof ids[k], "%s%s", GRP_ALERTFLOW_UP, bid);
        rows[k] = (struct grp_dlg_option){ids[k], grp_dlg_text(d, "bc.pick_up.row", NULL, 0),
                                          grp_dlg_text(d, "bc.pick_up.desc", NULL, 0)};
        k++;
    }
    if (pg.back) {
        snprintf(ids[k], sizeof ids[k], "%s%s:%zu", GRP_ALERTFLOW_PICK, bid, pg.prev);
        rows[k] = (struct grp_dlg_option){ids[k], grp_dlg_text(d, "bc.pick_back.row", NULL, 0),
                                          grp_dlg_text(d, "bc.pick_back.desc", NULL, 0)};
        k++;
    }
    for (size_t i = pg.first; i < pg.first + pg.count; i++) {
        struct grp_unit u;
        const char *name = codes[i];
        const char *desc = codes[i];

        memset(&u, 0, sizeof u);
        rc = grp_unit_get(d->redis, codes[i], &u, d->err);
        if (rc < 0) {
            grp_codes_free(codes, n);
            return -1;
        }
        if (rc == 1) {
            if (d->member.lang == GRP_LANG_HI && u.name_hi != NULL && u.name_hi[0] != '\0')
                name = grp_dlg_keep(d, core_strdup(u.name_hi));
            else if (u.name_en != NULL && u.name_en[0] != '\0')
                name = grp_dlg_keep(d, core_strdup(u.name_en));
            desc = GRP_DLG_TEXT(d, "bc.pick_row", kind_label(d, u.kind), codes[i]);
            grp_unit_cleanup(&u);
        }
        snprintf(ids[k], sizeof ids[k], "%s%s:%s", GRP_ALERTFLOW_SUB, bid, codes[i]);
        rows[k] = (struct grp_dlg_option){ids[k], name, desc};
        k++;
    }
    if (pg.more) {
        snprintf(ids[k], sizeof ids[k], "%s%s:%zu", GRP_ALERTFLOW_PICK, bid, pg.next);
        rows[k] = (struct grp_dlg_option){ids[k], grp_dlg_text(d, "bc.pick_more.row", NULL, 0),
                                          grp_dlg_text(d, "bc.pick_more.desc", NULL, 0)};
        k++;
    }
    grp_codes_free(codes, n);
    if (grp_dlg_reply_list(d, GRP_DLG_TEXT(d, "bc.pick_body", unit_name(d, st.reach.scope)),
                           grp_dlg_text(d, "bc.pick_list", NULL, 0), rows, k) != 0)
        return -1;
    if (d->n_dup == 0)
        core_metric_inc(&m_areas);
    return 1;
}

/*
 * The text of draft `bid` prepared for `code` (already checked), its
 * preview, then `bid` cancelled: superseded.
 */
static int redo_for(struct grp_dlg *d, const struct grp_bc_actor *who, const char *bid,
                    const char *code)
{
    struct grp_bc *bc = grp_dlg_broadcast(d);
    char *text = NULL;
    int made = 0;
    int rc;

    switch (grp_bc_draft_text(bc, d->redis, who, bid, &text, d->err)) {
    case GRP_BC_OK:
        break;
    case GRP_BC_ENOTFOUND:
    case GRP_BC_EINVALID:
        core_err_clear(d->err);
        return reply(d, grp_dlg_text(d, "bc.expired", NULL, 0));
    case GRP_BC_EFORBIDDEN:
        core_err_clear(d->err);
        core_metric_inc(&m_refused);
        return reply(d, grp_dlg_text(d, "bc.not_yours", NULL, 0));
    default:
        return -1;
    }
    rc = prepare(d, who, code, text, &made);
    sodium_memzero(text, strlen(text));
    free(text);
    if (rc < 0 || !made)
        return rc;
    if (d->n_dup == 0)
        core_metric_inc(&m_picked);
    /* the first draft is superseded: only the new one can be sent */
    switch (grp_bc_cancel(bc, d->redis, who, bid, d->err)) {
    case GRP_BC_OK:
        return 1;
    case GRP_BC_ESTATE:
    case GRP_BC_ENOTFOUND:
        core_err_clear(d->err); /* confirmed meanwhile, or gone: nothing to supersede */
        return 1;
    default:
        return -1;
    }
}

/*
 * "alert:sub:<BID>:<CODE>": the text of draft BID prepared for CODE, its
 * preview, then BID cancelled. In that order (dialogue.h, "Idempotency"):
 * a replay prepares the same draft (the event key), queues nothing twice,
 * and finds BID cancelled, which is then answered under a key already used.
 */
static int area_chosen(struct grp_dlg *d, const struct grp_bc_actor *who, const char *arg)
{
    char bid[GRP_BC_ID_LEN];
    char code[GRP_CODE_MAX + 1];
    struct grp_bc_status st;
    const char *colon = strchr(arg, ':');
    int inside = 0;
    int rc;

    if (colon == NULL || (size_t)(colon - arg) != GRP_BC_ID_LEN - 1 ||
        !grp_code_ok(colon + 1, strlen(colon + 1)) || strlen(colon + 1) > GRP_CODE_MAX)
        return reply(d, grp_dlg_text(d, "bc.expired", NULL, 0));
    snprintf(bid, sizeof bid, "%.*s", GRP_BC_ID_LEN - 1, arg);
    snprintf(code, sizeof code, "%s", colon + 1);
    rc = open_draft(d, who, bid, &st);
    if (rc <= 0)
        return rc < 0 ? -1 : 1;
    /* never beyond the officer's jurisdiction (the engine refuses it too) */
    if (grp_off_may_reach(d->redis, &who->officer, code, &inside, d->err) != 0)
        return -1;
    if (!inside) {
        core_metric_inc(&m_refused);
        core_log_warn("alert", d->ctx->req_id, "officer %s chose area %s outside %s",
                      who->officer.code, code, who->officer.unit);
        return reply(d, GRP_DLG_TEXT(d, "bc.outside", unit_name(d, who->officer.unit)));
    }
    /* and only the sub-units of the draft's area that the list offered */
    inside = 0;
    if (strcmp(code, st.reach.scope) != 0 &&
        grp_off_unit_within(d->redis, st.reach.scope, code, &inside, d->err) != 0)
        return -1;
    if (!inside) {
        core_metric_inc(&m_refused);
        return reply(d, GRP_DLG_TEXT(d, "bc.pick_invalid", unit_name(d, code),
                                     unit_name(d, st.reach.scope)));
    }
    return redo_for(d, who, bid, code);
}

/*
 * "alert:up:<BID>": the text of draft BID prepared for the parent of its
 * scope, which must still lie in the officer's jurisdiction (their own
 * unit is the widest), its preview, then BID cancelled, as for a row.
 */
static int area_up(struct grp_dlg *d, const struct grp_bc_actor *who, const char *arg)
{
    char bid[GRP_BC_ID_LEN];
    struct grp_bc_status st;
    struct grp_unit u;
    char parent[GRP_CODE_MAX + 1];
    int inside = 0;
    int rc;

    if (strlen(arg) != GRP_BC_ID_LEN - 1)
        return reply(d, grp_dlg_text(d, "bc.expired", NULL, 0));
    snprintf(bid, sizeof bid, "%s", arg);
    rc = open_draft(d, who, bid, &st);
    if (rc <= 0)
        return rc < 0 ? -1 : 1;
    if (strcmp(st.reach.scope, who->officer.unit) == 0) /* already the widest */
        return reply(d, GRP_DLG_TEXT(d, "bc.up_none", unit_name(d, st.reach.scope)));
    rc = grp_unit_get(d->redis, st.reach.scope, &u, d->err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return reply(d, grp_dlg_text(d, "bc.expired", NULL, 0));
    snprintf(parent, sizeof parent, "%s", u.parent);
    grp_unit_cleanup(&u);
    if (parent[0] != '\0' &&
        grp_off_may_reach(d->redis, &who->officer, parent, &inside, d->err) != 0)
        return -1;
    if (!inside) {
        core_metric_inc(&m_refused);
        return reply(d, GRP_DLG_TEXT(d, "bc.up_none", unit_name(d, st.reach.scope)));
    }
    return redo_for(d, who, bid, parent);
}

/* ======================= the flow ======================= */

static int on_keyword(struct grp_dlg *d, enum grp_keyword kw)
{
    struct grp_bc_actor who;
    int rc;

    if (kw != GRP_KW_ALERT || grp_dlg_broadcast(d) == NULL)
        return 0;
    rc = officer(d, &who);
    if (rc <= 0)
        return rc; /* not an officer: ALERT is an ordinary message */
    if (d->reply_id[0] != '\0')
        return ask_text(d, &who, ""); /* the menu's kw:alert */
    return from_text(d, &who, 1);
}

static int on_message(struct grp_dlg *d)
{
    struct grp_bc_actor who;
    int rc;

    if (grp_dlg_broadcast(d) == NULL)
        return clear_state(d) != 0 ? -1 : 0;
    rc = officer(d, &who);
    if (rc < 0)
        return -1;
    if (rc == 0) /* not (or no longer) an officer: the normal dialogue */
        return clear_state(d) != 0 ? -1 : 0;
    if (d->route == GRP_ROUTE_REPLY) {
        if (strncmp(d->reply_id, GRP_ALERTFLOW_PICK, strlen(GRP_ALERTFLOW_PICK)) == 0)
            return area_list(d, &who, d->reply_id + strlen(GRP_ALERTFLOW_PICK));
        if (strncmp(d->reply_id, GRP_ALERTFLOW_SUB, strlen(GRP_ALERTFLOW_SUB)) == 0)
            return area_chosen(d, &who, d->reply_id + strlen(GRP_ALERTFLOW_SUB));
        if (strncmp(d->reply_id, GRP_ALERTFLOW_UP, strlen(GRP_ALERTFLOW_UP)) == 0)
            return area_up(d, &who, d->reply_id + strlen(GRP_ALERTFLOW_UP));
        if (strncmp(d->reply_id, GRP_ALERTFLOW_OK, strlen(GRP_ALERTFLOW_OK)) == 0)
            return decide(d, &who, d->reply_id + strlen(GRP_ALERTFLOW_OK), 1);
        if (strncmp(d->reply_id, GRP_ALERTFLOW_NO, strlen(GRP_ALERTFLOW_NO)) == 0)
            return decide(d, &who, d->reply_id + strlen(GRP_ALERTFLOW_NO), 0);
        return 0;
    }
    if (strcmp(d->ev->type, "text") != 0) {
        json_t *dd = json_loads(d->member.dd, 0, NULL);
        const char *s = json_string_value(json_object_get(dd, "s"));
        char scope[GRP_CODE_MAX + 1];

        snprintf(scope, sizeof scope, "%s", s != NULL ? s : "");
        json_decref(dd);
        return ask_text(d, &who, scope);
    }
    return from_text(d, &who, 0);
}

const struct grp_flow grp_alertflow_flow = {
    .name = "alert",
    .state_prefix = "alert:",
    .reply_prefix = "alert:",
    .on_keyword = on_keyword,
    .on_message = on_message,
    .on_other = NULL,
};
