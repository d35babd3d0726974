/*
 * groups/enrol.c - the "enrol" flow: first contact, joining a group, and the
 * citizen keywords (see enrol.h). Replies first, then state changes
 * (dialogue.h, "Idempotency").
 */
#include "groups/enrol.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"
#include "groups/hier.h"
#include "groups/officer.h"
#include "groups/sanction.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows of the menu: at most 7 today (an officer who is a member), within
 * WhatsApp's 10 (GRP_DLG_ROWS_MAX). */
#define MENU_ROWS_MAX 8
_Static_assert(MENU_ROWS_MAX <= GRP_DLG_ROWS_MAX, "a WhatsApp list has at most 10 rows");

CORE_COUNTER(m_welcomes, "janseva_enrol_welcomes_total", NULL,
             "first contacts answered with the welcome and privacy notice");
CORE_COUNTER(m_joins, "janseva_enrol_joins_total", NULL,
             "members who joined a group (consent recorded)");
CORE_COUNTER(m_moves, "janseva_enrol_moves_total", NULL, "members who moved to another group");
CORE_COUNTER(m_leaves, "janseva_enrol_leaves_total", NULL, "STOP received");
CORE_COUNTER(m_search_loc, "janseva_enrol_searches_total", "by=\"location\"",
             "searches for a group, by how the citizen chose");
CORE_COUNTER(m_search_pin, "janseva_enrol_searches_total", "by=\"pin\"",
             "searches for a group, by how the citizen chose");
CORE_COUNTER(m_search_name, "janseva_enrol_searches_total", "by=\"name\"",
             "searches for a group, by how the citizen chose");
CORE_COUNTER(m_search_menu, "janseva_enrol_searches_total", "by=\"menu\"",
             "searches for a group, by how the citizen chose");

void grp_enrol_metrics_init(void)
{
    core_metrics_register(&m_welcomes);
    core_metrics_register(&m_joins);
    core_metrics_register(&m_moves);
    core_metrics_register(&m_leaves);
    core_metrics_register(&m_search_loc);
    core_metrics_register(&m_search_pin);
    core_metrics_register(&m_search_name);
    core_metrics_register(&m_search_menu);
}

#define T(d, id) grp_dlg_text((d), (id), NULL, 0)

/* A rank a name match needs when the citizen was not asked for a name
 * (an enrolling member typing something): whole name, at most one change. */
#define STRICT_RANK 3

/* ======================= places ======================= */

/* Name of unit `code` in the member's language, kept for the event. */
static const char *place_name(struct grp_dlg *d, const char *code)
{
    const struct grp_lookup *lk = grp_dlg_lookup(d);
    const struct grp_place *p = grp_lookup_find(lk, code);
    struct grp_unit u;
    struct core_err err;
    char *s;

    if (p != NULL)
        return grp_place_name(p, d->member.lang);
    /* imported after the index was built: ask Redis */
    if (grp_unit_get(d->redis, code, &u, &err) == 1) {
        s = core_strdup(d->member.lang == GRP_LANG_HI && u.name_hi[0] != '\0' ? u.name_hi
                                                                              : u.name_en);
        grp_unit_cleanup(&u);
        return grp_dlg_keep(d, s);
    }
    return code;
}

/* "thana, district" of a locality in the member's language, or NULL. */
static const char *place_where(struct grp_dlg *d, const struct grp_place *p)
{
    const struct grp_lookup *lk = grp_dlg_lookup(d);
    const struct grp_place *t = grp_lookup_ancestor(lk, p, GRP_THANA);
    const struct grp_place *ds = grp_lookup_ancestor(lk, p, GRP_DISTRICT);

    if (t == NULL || ds == NULL)
        return NULL;
    return GRP_DLG_TEXT(d, "join.place.desc", grp_place_name(t, d->member.lang),
                        grp_place_name(ds, d->member.lang));
}

/* 1 if `code` is a locality (the index first, then Redis), 0 if not, -1 on
 * a Redis error. */
static int is_locality(struct grp_dlg *d, const char *code)
{
    const struct grp_place *p;
    struct grp_unit u;
    int rc;

    if (!grp_code_ok(code, strlen(code)))
        return 0;
    p = grp_lookup_find(grp_dlg_lookup(d), code);
    if (p != NULL && p->kind == GRP_LOCALITY)
        return 1;
    rc = grp_unit_get(d->redis, code, &u, d->err);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        rc = u.kind == GRP_LOCALITY;
        grp_unit_cleanup(&u);
    }
    return rc;
}

/* ======================= small replies ======================= */

static int set_ds(struct grp_dlg *d, const char *ds, json_t *dd /* stolen, may be NULL */)
{
    int rc = grp_member_set_dialogue(d->redis, d->member.mid, ds, dd, d->now, d->err);

    json_decref(dd);
    return rc;
}

static int clear_ds(struct grp_dlg *d)
{
    if (d->member.ds[0] == '\0')
        return 0;
    return grp_member_set_dialogue(d->redis, d->member.mid, NULL, NULL, d->now, d->err);
}

static int text_reply(struct grp_dlg *d, const char *id)
{
    return grp_dlg_reply_text(d, T(d, id)) != 0 ? -1 : 1;
}

static int is_member(const struct grp_dlg *d)
{
    return (d->member.st == GRP_MEMBER_ACTIVE || d->member.st == GRP_MEMBER_MUTED) &&
           d->member.group[0] != '\0';
}

/*
 * Whether the member is a registered officer who can send alerts from
 * WhatsApp (the "alert" flow has a broadcast engine): 1, 0, or -1 (Redis).
 */
static int alert_officer(struct grp_dlg *d)
{
    struct grp_officer o;
    int rc;

    if (grp_dlg_broadcast(d) == NULL || grp_dlg_flow("alert") == NULL)
        return 0;
    rc = grp_off_get(d->redis, d->member.mid, &o, d->err);
    if (rc < 0 && d->err->code == CORE_EX_DATAERR) {
        /* a damaged officer record: no alert row, the menu still answers */
        core_log_warn("enrol", d->ctx->req_id, "member %s: %s", d->member.mid, d->err->msg);
        core_err_clear(d->err);
        return 0;
    }
    return rc;
}

/*
 * The menu's rows for this member into `rows` (room for MENU_ROWS_MAX):
 * registered officers get "Alert / उद्घोषणा" first (kw:alert), citizens
 * never. Returns the number of rows, or -1 (Redis).
 */
static int menu_rows(struct grp_dlg *d, struct grp_dlg_option *rows)
{
    int n = 0;
    int tip = grp_dlg_flow("tip") != NULL;
    int off = alert_officer(d);

    if (off < 0)
        return -1;
    if (off)
        rows[n++] =
            (struct grp_dlg_option){"kw:alert", T(d, "menu.alert.row"), T(d, "menu.alert.desc")};
    if (!is_member(d))
        rows[n++] =
            (struct grp_dlg_option){"kw:join", T(d, "menu.join.row"), T(d, "menu.join.desc")};
    rows[n++] =
        (struct grp_dlg_option){"kw:report", T(d, "menu.report.row"), T(d, "menu.report.desc")};
    rows[n++] = (struct grp_dlg_option){"kw:tip", T(d, "menu.tip.row"),
                                        T(d, tip ? "menu.tip.desc" : "menu.tip_soon.desc")};
    if (is_member(d))
        rows[n++] =
            (struct grp_dlg_option){"kw:move", T(d, "menu.move.row"), T(d, "menu.move.desc")};
    rows[n++] = (struct grp_dlg_option){"kw:help", T(d, "menu.help.row"), T(d, "menu.help.desc")};
    rows[n++] = (struct grp_dlg_option){"kw:lang", T(d, "menu.lang.row"), T(d, "menu.lang.desc")};
    if (is_member(d))
        rows[n++] =
            (struct grp_dlg_option){"kw:stop", T(d, "menu.stop.row"), T(d, "menu.stop.desc")};
    return n;
}

/* First contact: who we are, privacy, consent, the menu. One message. */
static int welcome(struct grp_dlg *d)
{
    struct grp_dlg_option rows[MENU_ROWS_MAX];
    int n = menu_rows(d, rows);

    if (n < 0 ||
        grp_dlg_reply_list(d, T(d, "enrol.welcome.long"), T(d, "menu.list"), rows, (size_t)n) != 0)
        return -1;
    if (d->member.st == GRP_MEMBER_NEW) {
        if (grp_member_set_state(d->redis, d->member.mid, GRP_MEMBER_ENROLLING, d->err) != 0)
            return -1;
        core_metric_inc(&m_welcomes);
    }
    return 1;
}

static int menu(struct grp_dlg *d)
{
    struct grp_dlg_option rows[MENU_ROWS_MAX];
    int n = menu_rows(d, rows);
    const char *body = is_member(d)
                           ? GRP_DLG_TEXT(d, "menu.body_member", place_name(d, d->member.group))
                           : T(d, "menu.body");

    if (n < 0 || grp_dlg_reply_list(d, body, T(d, "menu.list"), rows, (size_t)n) != 0)
        return -1;
    return clear_ds(d) != 0 ? -1 : 1;
}

static int help(struct grp_dlg *d)
{
    const char *body = T(d, "help.body");

    if (is_member(d)) {
        char label[GRP_LABEL_MAX];
        char *s;
        const char *head;

        grp_member_label(&d->member, d->member.lang, label, sizeof label);
        head = GRP_DLG_TEXT(d, "help.in_group", place_name(d, d->member.group), label);
        s = core_malloc(strlen(head) + strlen(body) + 3);
        snprintf(s, strlen(head) + strlen(body) + 3, "%s\n\n%s", head, body);
        body = grp_dlg_keep(d, s);
    }
    return grp_dlg_reply_text(d, body) != 0 ? -1 : 1;
}

static int lang_ask(struct grp_dlg *d)
{
    struct grp_dlg_option b[2] = {
        {"kw:hindi", T(d, "lang.hi.btn"), NULL},
        {"kw:english", T(d, "lang.en.btn"), NULL},
    };

    return grp_dlg_reply_buttons(d, T(d, "lang.ask"), b, 2) != 0 ? -1 : 1;
}

static int lang_set(struct grp_dlg *d, enum grp_lang lang)
{
    d->member.lang = lang; /* every reply from here on is in the new language */
    if (d->member.st == GRP_MEMBER_NEW) {
        if (welcome(d) < 0)
            return -1;
    } else if (grp_dlg_reply_text(d, T(d, "lang.set")) != 0) {
        return -1;
    }
    return grp_member_set_lang(d->redis, d->member.mid, lang, d->err) != 0 ? -1 : 1;
}

/* STOP: out of the group at once, then the one confirmation. */
static int stop(struct grp_dlg *d)
{
    const char *group =
        d->member.group[0] != '\0' && is_member(d) ? place_name(d, d->member.group) : NULL;

    if (grp_member_leave(d->redis, d->member.mid, d->err) != 0)
        return -1;
    core_metric_inc(&m_leaves);
    core_log_kv(CORE_LOG_INFO, "enrol", d->ctx->req_id, "member left",
                json_pack("{s:s,s:s}", "member", d->member.mid, "group", d->member.group));
    if (group != NULL)
        return grp_dlg_reply_text(d, GRP_DLG_TEXT(d, "stop.done", group)) != 0 ? -1 : 1;
    return text_reply(d, "stop.done_nogroup");
}

static int report(struct grp_dlg *d)
{
    struct grp_dlg_option b[2];

    if (is_member(d))
        return text_reply(d, "report.howto");
    b[0] = (struct grp_dlg_option){"kw:join", T(d, "report.join.btn"), NULL};
    b[1] = (struct grp_dlg_option){"kw:help", T(d, "report.help.btn"), NULL};
    return grp_dlg_reply_buttons(d, T(d, "report.join_first"), b, 2) != 0 ? -1 : 1;
}

/* A moderator's ban keeps a member out of every group, also after STOP
 * (groups/sanction.h). Reads the member's sanction into *sx; when it is a
 * ban, answers and returns 1; 0 when not banned, -1 on error. */
static int refuse_banned(struct grp_dlg *d, enum grp_sx_state *sx)
{
    if (grp_sx_get(d->redis, d->member.mid, sx, d->err) != 0)
        return -1;
    if (d->member.st != GRP_MEMBER_BANNED && *sx != GRP_SX_BANNED)
        return 0;
    if (grp_dlg_reply_text(d, T(d, "post.banned")) != 0)
        return -1;
    return clear_ds(d) != 0 ? -1 : 1;
}

/* JOIN / MOVE: the three ways to choose. */
static int join_prompt(struct grp_dlg *d)
{
    struct grp_dlg_option b[3] = {
        {"join:how:loc", T(d, "join.loc.btn"), NULL},
        {"join:how:menu", T(d, "join.menu.btn"), NULL},
        {"join:how:pin", T(d, "join.pin.btn"), NULL},
    };
    const char *body = T(d, "join.ask");
    enum grp_sx_state sx;
    int banned = refuse_banned(d, &sx);

    if (banned != 0)
        return banned;
    if (is_member(d)) {
        const char *now = GRP_DLG_TEXT(d, "join.move_now", place_name(d, d->member.group));
        size_t n = strlen(now) + strlen(body) + 3;
        char *s = core_malloc(n);

        snprintf(s, n, "%s\n\n%s", now, body);
        body = grp_dlg_keep(d, s);
    }
    if (grp_dlg_reply_buttons(d, body, b, 3) != 0)
        return -1;
    return set_ds(d, "join:ask", NULL) != 0 ? -1 : 1;
}

/* ======================= offering localities ======================= */

static int confirm(struct grp_dlg *d, const char *code);

/* Rows for localities (borrowed places), with "km" descriptions when given. */
static struct grp_dlg_option *locality_rows(struct grp_dlg *d, const struct grp_place *const *p,
                                            const int *tenth_km, size_t n)
{
    struct grp_dlg_option *rows = core_calloc(n + 1, sizeof *rows);

    for (size_t i = 0; i < n; i++) {
        const char *where = place_where(d, p[i]);
        char *id = core_malloc(strlen(p[i]->code) + 16);

        snprintf(id, strlen(p[i]->code) + 16, "join:loc:%s", p[i]->code);
        rows[i].id = grp_dlg_keep(d, id);
        rows[i].title = grp_place_name(p[i], d->member.lang);
        if (tenth_km != NULL && tenth_km[i] >= 0) {
            const struct grp_place *t = grp_lookup_ancestor(grp_dlg_lookup(d), p[i], GRP_THANA);
            const struct grp_place *ds = grp_lookup_ancestor(grp_dlg_lookup(d), p[i], GRP_DISTRICT);
            char km[24];

            snprintf(km, sizeof km, "%d.%d", tenth_km[i] / 10, tenth_km[i] % 10);
            if (t != NULL && ds != NULL)
                rows[i].desc =
                    GRP_DLG_TEXT(d, "join.near.desc", km, grp_place_name(t, d->member.lang),
                                 grp_place_name(ds, d->member.lang));
            else
                rows[i].desc = where;
        } else {
            rows[i].desc = where;
        }
    }
    return rows;
}

/*
 * Offer `n` localities (page at `offset`): a list whose rows ask to confirm.
 * `more` is the prefix of the "More" row id.
 */
static int offer(struct grp_dlg *d, const char *body, const struct grp_place *const *p,
                 const int *tenth_km, size_t n, size_t offset, const char *more)
{
    struct grp_dlg_option *rows;
    int rc;

    if (n == 0)
        return text_reply(d, "join.empty");
    rows = locality_rows(d, p, tenth_km, n);
    rc = grp_dlg_reply_page(d, body, T(d, "join.list"), rows, n, offset, more);
    free(rows);
    return rc != 0 ? -1 : 1;
}

/* Offer a result list kept in dd ({"k":"c","c":[...],"km":[...]}). */
static int offer_kept(struct grp_dlg *d, const char *body_id, json_t *dd, size_t offset)
{
    const struct grp_lookup *lk = grp_dlg_lookup(d);
    json_t *codes = json_object_get(dd, "c");
    json_t *km = json_object_get(dd, "km");
    const struct grp_place *p[GRP_ENROL_RESULTS_MAX];
    int tenth[GRP_ENROL_RESULTS_MAX];
    size_t n = 0;
    size_t i;
    json_t *e;

    json_array_foreach(codes, i, e)
    {
        const struct grp_place *x = grp_lookup_find(lk, json_string_value(e));

        if (x == NULL || x->kind != GRP_LOCALITY || n == GRP_ENROL_RESULTS_MAX)
            continue;
        tenth[n] = json_is_integer(json_array_get(km, i))
                       ? (int)json_integer_value(json_array_get(km, i))
                       : -1;
        p[n++] = x;
    }
    return offer(d, T(d, body_id), p, km != NULL ? tenth : NULL, n, offset, "join:more:c:");
}

/* Keep results in the state and offer their first page. */
static int offer_results(struct grp_dlg *d, const char *body_id, const struct grp_place *const *p,
                         const int *tenth_km, size_t n)
{
    json_t *dd = json_pack("{s:s,s:[],s:s}", "k", "c", "c", "b", body_id);
    json_t *codes = json_object_get(dd, "c");
    int rc;

    if (tenth_km != NULL)
        json_object_set_new(dd, "km", json_array());
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(codes, json_string(p[i]->code));
        if (tenth_km != NULL)
            json_array_append_new(json_object_get(dd, "km"), json_integer(tenth_km[i]));
    }
    rc = offer(d, T(d, body_id), p, tenth_km, n, 0, "join:more:c:");
    if (rc < 0) {
        json_decref(dd);
        return -1;
    }
    return set_ds(d, "join:pick", dd) != 0 ? -1 : 1;
}

/* A shared location: the nearest localities. */
static int by_location(struct grp_dlg *d)
{
    const struct grp_lookup *lk = grp_dlg_lookup(d);
    struct grp_near near[GRP_ENROL_RESULTS_MAX];
    const struct grp_place *p[GRP_ENROL_RESULTS_MAX];
    int tenth[GRP_ENROL_RESULTS_MAX];
    size_t n = 0;
    size_t k = 0;

    if (lk == NULL)
        return core_err_set(d->err, CORE_EX_UNAVAILABLE, "enrol: no hierarchy index");
    core_metric_inc(&m_search_loc);
    if (grp_nearest(d->redis, d->ev->latitude, d->ev->longitude,
                    (double)grp_dlg_opts(d)->join_radius_km, GRP_ENROL_RESULTS_MAX, near, &n,
                    d->err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct grp_place *x = grp_lookup_find(lk, near[i].code);

        if (x == NULL || x->kind != GRP_LOCALITY)
            continue;
        tenth[k] = (int)(near[i].km * 10.0 + 0.5);
        p[k++] = x;
    }
    if (k == 0) {
        char km[16];

        snprintf(km, sizeof km, "%d", grp_dlg_opts(d)->join_radius_km);
        if (grp_dlg_reply_text(d, GRP_DLG_TEXT(d, "join.loc_none", km)) != 0)
            return -1;
        return set_ds(d, "join:ask", NULL) != 0 ? -1 : 1;
    }
    return offer_results(d, "join.pick_loc", p, tenth, k);
}

static int cmp_name_hi(const void *a, const void *b)
{
    const struct grp_place *pa = *(const struct grp_place *const *)a;
    const struct grp_place *pb = *(const struct grp_place *const *)b;
    int c = strcmp(grp_place_name(pa, GRP_LANG_HI), grp_place_name(pb, GRP_LANG_HI));

    return c != 0 ? c : strcmp(pa->code, pb->code);
}

static int cmp_name_en(const void *a, const void *b)
{
    const struct grp_place *pa = *(const struct grp_place *const *)a;
    const struct grp_place *pb = *(const struct grp_place *const *)b;
    int c = strcmp(grp_place_name(pa, GRP_LANG_EN), grp_place_name(pb, GRP_LANG_EN));

    return c != 0 ? c : strcmp(pa->code, pb->code);
}

/*
 * The localities of a PIN code (sorted by name), then, when they are fewer
 * than a page, the nearest others around them (PIN areas in the data are
 * approximate). Deterministic, so a page can be recomputed from its id.
 * `*out` is malloc'd. Returns the count, or -1 on a Redis error.
 */
static long pin_places(struct grp_dlg *d, const char *pin, const struct grp_place ***out)
{
    const struct grp_lookup *lk = grp_dlg_lookup(d);
    char **codes = NULL;
    size_t nc = 0;
    const struct grp_place **p;
    size_t n = 0;
    double lat = 0;
    double lon = 0;
    size_t with_coords = 0;

    *out = NULL;
    if (lk == NULL)
        return core_err_set(d->err, CORE_EX_UNAVAILABLE, "enrol: no hierarchy index");
    if (grp_by_pincode(d->redis, pin, &codes, &nc, d->err) != 0)
        return -1;
    p = core_calloc(nc + GRP_DLG_ROWS_MAX + 1, sizeof *p);
    for (size_t i = 0; i < nc; i++) {
        const struct grp_place *x = grp_lookup_find(lk, codes[i]);
        struct grp_unit u;

        if (x == NULL || x->kind != GRP_LOCALITY)
            continue;
        p[n++] = x;
        /* coordinates are not in the index: Redis has them */
        if (n <= 50 && grp_unit_get(d->redis, x->code, &u, d->err) == 1) {
            if (u.has_coords) {
                lat += u.lat;
                lon += u.lon;
                with_coords++;
            }
            grp_unit_cleanup(&u);
        }
    }
    grp_codes_free(codes, nc);
    qsort(p, n, sizeof *p, d->member.lang == GRP_LANG_HI ? cmp_name_hi : cmp_name_en);
    if (n > 0 && n < GRP_DLG_PAGE && with_coords > 0) {
        struct grp_near near[GRP_DLG_ROWS_MAX];
        size_t nn = 0;

        if (grp_nearest(d->redis, lat / (double)with_coords, lon / (double)with_coords,
                        (double)grp_dlg_opts(d)->join_radius_km, GRP_DLG_ROWS_MAX, near, &nn,
                        d->err) != 0) {
            free(p);
            return -1;
        }
        for (size_t i = 0; i < nn && n < GRP_DLG_PAGE; i++) {
            const struct grp_place *x = grp_lookup_find(lk, near[i].code);
            int seen = 0;

            for (size_t k = 0; k < n && x != NULL; k++)
                seen |= p[k] == x;
            if (x != NULL && x->kind == GRP_LOCALITY && !seen)
                p[n++] = x;
        }
    }
    *out = p;
    return (long)n;
}

static int by_pin(struct grp_dlg *d, const char *pin, size_t offset)
{
    const struct grp_place **p;
    long n = pin_places(d, pin, &p);
    char more[48];
    int rc;

    if (n < 0)
        return -1;
    if (offset == 0)
        core_metric_inc(&m_search_pin);
    if (n == 0) {
        free(p);
        if (grp_dlg_reply_text(d, GRP_DLG_TEXT(d, "join.pin_none", pin)) != 0)
            return -1;
        return set_ds(d, "join:ask", NULL) != 0 ? -1 : 1;
    }
    snprintf(more, sizeof more, "join:more:p:%s:", pin);
    rc = offer(d, GRP_DLG_TEXT(d, "join.pick_pin", pin), p, NULL, (size_t)n, offset, more);
    free(p);
    if (rc < 0)
        return -1;
    return set_ds(d, "join:pick", json_pack("{s:s,s:s}", "k", "p", "p", pin)) != 0 ? -1 : 1;
}

/*
 * A typed name. With `strict` (the citizen was not asked for a name) only
 * close whole-name matches count, and nothing found returns 0 so the
 * dispatcher answers with the general help. Inside a PIN's list, the PIN's
 * localities are searched first.
 */
static int by_name(struct grp_dlg *d, int strict)
{
    const struct grp_lookup *lk = grp_dlg_lookup(d);
    struct grp_match m[GRP_ENROL_RESULTS_MAX];
    const struct grp_place *p[GRP_ENROL_RESULTS_MAX];
    size_t n = 0;
    size_t k = 0;
    json_t *dd = d->member.dd[0] != '\0' ? json_loads(d->member.dd, 0, NULL) : NULL;
    const char *pin = json_string_value(json_object_get(dd, "p"));

    if (lk == NULL) {
        json_decref(dd);
        return core_err_set(d->err, CORE_EX_UNAVAILABLE, "enrol: no hierarchy index");
    }
    core_metric_inc(&m_search_name);
    if (pin != NULL) {
        const struct grp_place **pp;
        long np = pin_places(d, pin, &pp);
        const char **only;

        if (np < 0) {
            json_decref(dd);
            return -1;
        }
        only = core_calloc((size_t)np + 1, sizeof *only);
        for (long i = 0; i < np; i++)
            only[i] = pp[i]->code;
        n = grp_lookup_search(lk, d->text, strlen(d->text), only, (size_t)np, m,
                              GRP_ENROL_RESULTS_MAX);
        free(only);
        free(pp);
    }
    json_decref(dd);
    if (n == 0)
        n = grp_lookup_search(lk, d->text, strlen(d->text), NULL, 0, m, GRP_ENROL_RESULTS_MAX);
    for (size_t i = 0; i < n; i++) {
        if (!strict || m[i].rank <= STRICT_RANK)
            p[k++] = m[i].place;
    }
    if (k == 0) {
        if (strict)
            return 0;
        return text_reply(d, "join.name_none");
    }
    return offer_results(d, "join.pick_name", p, NULL, k);
}

/* The menus: districts, a district's thanas, a thana's localities. */
static int by_menu(struct grp_dlg *d, const char *code, size_t offset)
{
    const struct grp_lookup *lk = grp_dlg_lookup(d);
    const struct grp_place **v = NULL;
    const struct grp_place *u = code[0] != '\0' ? grp_lookup_find(lk, code) : NULL;
    size_t n;
    struct grp_dlg_option *rows;
    const char *body;
    char more[GRP_CODE_MAX + 24];
    int rc;

    if (lk == NULL)
        return core_err_set(d->err, CORE_EX_UNAVAILABLE, "enrol: no hierarchy index");
    if (code[0] != '\0' && u == NULL)
        return text_reply(d, "join.gone");
    if (u != NULL && u->kind == GRP_LOCALITY)
        return confirm(d, code);
    if (offset == 0)
        core_metric_inc(&m_search_menu);
    n = grp_lookup_menu(lk, code, d->member.lang, &v);
    snprintf(more, sizeof more, "join:more:u:%s:", code);
    if (u != NULL && (u->kind == GRP_THANA || u->kind == GRP_BEAT)) {
        /* the last level: localities, each asking to confirm */
        rc = offer(d, GRP_DLG_TEXT(d, "join.pick_locality", grp_place_name(u, d->member.lang)), v,
                   NULL, n, offset, more);
        free(v);
        if (rc < 0)
            return -1;
        return set_ds(d, "join:pick", json_pack("{s:s,s:s}", "k", "u", "u", code)) != 0 ? -1 : 1;
    }
    if (n == 0) {
        free(v);
        return text_reply(d, "join.empty");
    }
    rows = core_calloc(n, sizeof *rows);
    for (size_t i = 0; i < n; i++) {
        char *id = core_malloc(strlen(v[i]->code) + 16);

        snprintf(id, strlen(v[i]->code) + 16, "join:unit:%s", v[i]->code);
        rows[i].id = grp_dlg_keep(d, id);
        rows[i].title = grp_place_name(v[i], d->member.lang);
        rows[i].desc = NULL;
    }
    body = u == NULL || u->kind == GRP_STATE
               ? T(d, "join.pick_district")
               : GRP_DLG_TEXT(d, "join.pick_thana", grp_place_name(u, d->member.lang));
    rc = grp_dlg_reply_page(d, body, T(d, "join.list"), rows, n, offset, more);
    free(rows);
    free(v);
    if (rc != 0)
        return -1;
    return set_ds(d, "join:pick", json_pack("{s:s,s:s}", "k", "u", "u", code)) != 0 ? -1 : 1;
}

/* ======================= confirming ======================= */

static int confirm(struct grp_dlg *d, const char *code)
{
    const struct grp_place *p;
    struct grp_dlg_option b[2];
    const char *where;
    const char *q;
    const char *rules;
    const char *consent;
    char *body;
    size_t len;
    int rc = is_locality(d, code);
    char yes[GRP_CODE_MAX + 16];

    if (rc < 0)
        return -1;
    if (rc == 0)
        return text_reply(d, "join.gone");
    if (is_member(d) && strcmp(d->member.group, code) == 0) {
        if (grp_dlg_reply_text(d, GRP_DLG_TEXT(d, "join.already", place_name(d, code))) != 0)
            return -1;
        return clear_ds(d) != 0 ? -1 : 1;
    }
    p = grp_lookup_find(grp_dlg_lookup(d), code);
    where = p != NULL ? place_where(d, p) : NULL;
    q = GRP_DLG_TEXT(d, "join.confirm", place_name(d, code), where != NULL ? where : code);
    rules = T(d, "rules.body");
    consent = T(d, "join.consent");
    len = strlen(q) + strlen(rules) + strlen(consent) + 8;
    body = core_malloc(len);
    snprintf(body, len, "%s\n\n%s\n\n%s", q, rules, consent);
    snprintf(yes, sizeof yes, "join:yes:%s", code);
    b[0] = (struct grp_dlg_option){yes, T(d, "join.yes.btn"), NULL};
    b[1] = (struct grp_dlg_option){"join:no", T(d, "join.no.btn"), NULL};
    if (grp_dlg_reply_buttons(d, grp_dlg_keep(d, body), b, 2) != 0)
        return -1;
    return set_ds(d, "join:confirm", json_pack("{s:s}", "c", code)) != 0 ? -1 : 1;
}

/* "Yes, join": the consent. */
static int accept(struct grp_dlg *d, const char *code)
{
    char label[GRP_LABEL_MAX];
    int moved = 0;
    int rc = is_locality(d, code);
    struct grp_member after;
    enum grp_sx_state sx = GRP_SX_NONE;
    int banned;

    if (rc < 0)
        return -1;
    banned = refuse_banned(d, &sx);
    if (banned != 0)
        return banned;
    if (rc == 0)
        return text_reply(d, "join.gone");
    if (is_member(d) && strcmp(d->member.group, code) == 0) {
        /* an old "Yes" tapped again (a replay lands here too: its reply is
         * already queued under the same key, so nothing is sent twice; and
         * a mute a crash left unapplied after the join is applied now) */
        if (sx == GRP_SX_MUTED && d->member.st == GRP_MEMBER_ACTIVE &&
            grp_member_set_state(d->redis, d->member.mid, GRP_MEMBER_MUTED, d->err) != 0)
            return -1;
        if (grp_dlg_reply_text(d, GRP_DLG_TEXT(d, "join.already", place_name(d, code))) != 0)
            return -1;
        return clear_ds(d) != 0 ? -1 : 1;
    }
    after = d->member;
    grp_member_label(&after, d->member.lang, label, sizeof label);
    if (grp_dlg_reply_text(d, GRP_DLG_TEXT(d, "join.done", place_name(d, code), label)) != 0)
        return -1;
    if (grp_member_join(d->redis, d->member.mid, code, grp_text_consent_version(), d->now, &moved,
                        d->err) != 0) {
        if (d->err->code == CORE_EX_NOINPUT) {
            /* removed between the check and the join: rare; the next
             * message finds the member without a group */
            core_log_warn("enrol", d->ctx->req_id, "member %s: locality %s vanished", d->member.mid,
                          code);
            core_err_clear(d->err);
            return 1;
        }
        return -1;
    }
    /* a moderator's mute follows the member into the new group */
    if (sx == GRP_SX_MUTED &&
        grp_member_set_state(d->redis, d->member.mid, GRP_MEMBER_MUTED, d->err) != 0)
        return -1;
    if (d->n_dup == 0) {
        core_metric_inc(moved ? &m_moves : &m_joins);
        core_log_kv(CORE_LOG_INFO, "enrol", d->ctx->req_id,
                    moved ? "member moved" : "member joined",
                    json_pack("{s:s,s:s,s:s,s:s}", "member", d->member.mid, "group", code, "from",
                              d->member.group, "consent", grp_text_consent_version()));
    }
    return 1;
}

/* ======================= the flow ======================= */

static int on_keyword(struct grp_dlg *d, enum grp_keyword kw)
{
    switch (kw) {
    case GRP_KW_STOP:
        return stop(d);
    case GRP_KW_HELP:
        return help(d);
    case GRP_KW_LANG:
        return lang_ask(d);
    case GRP_KW_HINDI:
        return lang_set(d, GRP_LANG_HI);
    case GRP_KW_ENGLISH:
        return lang_set(d, GRP_LANG_EN);
    case GRP_KW_MENU:
        return d->member.st == GRP_MEMBER_NEW ? welcome(d) : menu(d);
    case GRP_KW_JOIN:
    case GRP_KW_MOVE:
        /* the privacy notice comes before anything else */
        return d->member.st == GRP_MEMBER_NEW ? welcome(d) : join_prompt(d);
    case GRP_KW_REPORT:
        return d->member.st == GRP_MEMBER_NEW ? welcome(d) : report(d);
    default:
        return 0; /* TIP, ALERT: other flows */
    }
}

/* Parse "N" at the end of a reply id into *off. */
static int parse_offset(const char *s, size_t *off)
{
    int64_t v;

    if (core_parse_i64(s, &v) != 0 || v < 0 || v > 100000)
        return -1;
    *off = (size_t)v;
    return 0;
}

static int on_reply(struct grp_dlg *d)
{
    const char *id = d->reply_id + strlen("join:");
    size_t off;

    if (strcmp(id, "how:loc") == 0) {
        if (grp_dlg_reply_location_request(d, T(d, "join.loc_request")) != 0)
            return -1;
        return set_ds(d, "join:ask", NULL) != 0 ? -1 : 1;
    }
    if (strcmp(id, "how:pin") == 0) {
        if (text_reply(d, "join.pin_ask") < 0)
            return -1;
        return set_ds(d, "join:ask", NULL) != 0 ? -1 : 1;
    }
    if (strcmp(id, "how:menu") == 0)
        return by_menu(d, "", 0);
    if (strncmp(id, "unit:", 5) == 0)
        return by_menu(d, id + 5, 0);
    if (strncmp(id, "loc:", 4) == 0)
        return confirm(d, id + 4);
    if (strncmp(id, "yes:", 4) == 0)
        return accept(d, id + 4);
    if (strcmp(id, "no") == 0)
        return join_prompt(d);
    if (strncmp(id, "more:u:", 7) == 0 || strncmp(id, "more:p:", 7) == 0) {
        const char *arg = id + 7;
        const char *colon = strrchr(arg, ':');
        char what[GRP_CODE_MAX + 1];
        size_t n = colon != NULL ? (size_t)(colon - arg) : 0;

        if (colon != NULL && n < sizeof what && parse_offset(colon + 1, &off) == 0) {
            memcpy(what, arg, n);
            what[n] = '\0';
            if (id[5] == 'u' && (n == 0 || grp_code_ok(what, n)))
                return by_menu(d, what, off);
            if (id[5] == 'p' && grp_pincode_ok(what, n))
                return by_pin(d, what, off);
        }
    }
    if (strncmp(id, "more:c:", 7) == 0 && parse_offset(id + 7, &off) == 0) {
        json_t *dd = d->member.dd[0] != '\0' ? json_loads(d->member.dd, 0, NULL) : NULL;
        int rc;

        if (strcmp(d->member.ds, "join:pick") == 0 && json_is_array(json_object_get(dd, "c"))) {
            const char *b = json_string_value(json_object_get(dd, "b"));

            rc = offer_kept(
                d, b != NULL && strncmp(b, "join.pick_", 10) == 0 ? b : "join.pick_name", dd, off);
            json_decref(dd);
            return rc;
        }
        json_decref(dd);
        /* the results are gone (expired, or another search since) */
        return join_prompt(d);
    }
    /* an id of ours we do not know (an older version's): start again */
    return join_prompt(d);
}

/* A message while choosing (ds join:...), or from an enrolling member. */
static int on_choosing(struct grp_dlg *d, int asked)
{
    char pin[7];

    if (d->ev->has_location)
        return by_location(d);
    if (strcmp(d->ev->type, "text") != 0 || d->text[0] == '\0')
        return 0; /* a photo, a voice note: not a choice */
    if (strcmp(d->member.ds, "join:confirm") == 0) {
        int yn = grp_dlg_yes_no(d->text, strlen(d->text));
        json_t *dd = json_loads(d->member.dd, 0, NULL);
        const char *code = json_string_value(json_object_get(dd, "c"));
        char c[GRP_CODE_MAX + 1];

        snprintf(c, sizeof c, "%s", code != NULL ? code : "");
        json_decref(dd);
        if (yn == 1 && c[0] != '\0')
            return accept(d, c);
        if (yn == 0)
            return join_prompt(d);
    }
    if (grp_dlg_pincode(d->text, strlen(d->text), pin))
        return by_pin(d, pin, 0);
    return by_name(d, !asked);
}

static int on_message(struct grp_dlg *d)
{
    switch (d->route) {
    case GRP_ROUTE_REPLY:
        return on_reply(d);
    case GRP_ROUTE_STATE:
        return on_choosing(d, 1);
    case GRP_ROUTE_MEMBERSHIP:
    default:
        break;
    }
    switch (d->member.st) {
    case GRP_MEMBER_NEW:
        return welcome(d);
    case GRP_MEMBER_LEFT:
        return text_reply(d, "left.note");
    case GRP_MEMBER_ENROLLING: {
        int rc = on_choosing(d, 0);

        if (rc != 0)
            return rc;
        if (strcmp(d->ev->type, "text") != 0 && strcmp(d->ev->type, "interactive") != 0 &&
            strcmp(d->ev->type, "button") != 0)
            return text_reply(d, "dlg.media");
        return 0; /* the dispatcher's general help */
    }
    default:
        return 0;
    }
}

const struct grp_flow grp_enrol_flow = {
    .name = "enrol",
    .state_prefix = "join:",
    .reply_prefix = "join:",
    .on_keyword = on_keyword,
    .on_message = on_message,
};
