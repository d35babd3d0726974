/*
 * groups/broadcast.c - broadcast jobs: preview, drafts, confirmation,
 * batched resumable fan-out, counters, final report, the worker thread
 * (see broadcast.h and docs/internals/broadcasts.md).
 */
#include "groups/broadcast.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"
#include "core/waiter.h"
#include "crypto/audit.h"
#include "crypto/vault.h"
#include "gateway/outbox.h"
#include "groups/bctext.h"
#include "groups/member.h"
#include "groups/texts.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <utf8proc.h>

#define WINDOW_S 86400          /* WhatsApp's customer-service window */
#define MEMBER_BATCH 1000       /* members read per pipeline in previews */
#define UNIT_BATCH 512          /* units per pipeline when walking the hierarchy */
#define DRAFT_KEEP_MS 86400000  /* an expired draft stays visible this long */
#define POLL_MS 250             /* worker: look for due jobs this often */
#define DRAFT_RECHECK_MS 1000   /* a draft in js:bcs:live is looked at again after */
#define SENDING_RECHECK_MS 2000 /* waiting for statuses before the report */
#define DUE_PER_PASS 16         /* jobs taken from js:bcs:live per pass */
#define BIG_LOCALITY_FACTOR 2   /* localities above batch * this are read with HSCAN */
#define LIST_MAX 1000

/* ======================= engine ======================= */

struct grp_bc {
    const struct cry_keys *keys; /* borrowed */
    struct cry_audit *audit;     /* borrowed, may be NULL */
    char *number;                /* business number broadcasts go from, or NULL */
    long price_utility;
    long price_marketing;
    char *template_name;         /* fallback of text broadcasts */
    char *category;              /* its category */
    char *report_template;
    int batch;
    int batch_pause_ms;
    int draft_ttl_s;
    int lease_ms;
    int report_after_s;
    int preview_max;
    int window_margin_s;
    atomic_long crash_after;     /* test hook */
};

CORE_COUNTER(m_created, "janseva_broadcasts_total", "event=\"created\"",
             "Broadcast jobs by event");
CORE_COUNTER(m_confirmed, "janseva_broadcasts_total", "event=\"confirmed\"",
             "Broadcast jobs by event");
CORE_COUNTER(m_cancelled, "janseva_broadcasts_total", "event=\"cancelled\"",
             "Broadcast jobs by event");
CORE_COUNTER(m_fanned, "janseva_broadcasts_total", "event=\"fanned_out\"",
             "Broadcast jobs by event");
CORE_COUNTER(m_reported, "janseva_broadcasts_total", "event=\"reported\"",
             "Broadcast jobs by event");
CORE_COUNTER(m_resumed, "janseva_broadcasts_total", "event=\"resumed\"",
             "Broadcast jobs by event");
CORE_COUNTER(m_queued, "janseva_broadcast_messages_total", "result=\"queued\"",
             "Members handled by broadcast fan-outs, by result");
CORE_COUNTER(m_skipped, "janseva_broadcast_messages_total", "result=\"skipped\"",
             "Members handled by broadcast fan-outs, by result");
CORE_COUNTER(m_batches, "janseva_broadcast_batches_total", NULL,
             "Fan-out batches whose messages were queued");

void grp_bc_metrics_init(void)
{
    core_metrics_register(&m_created);
    core_metrics_register(&m_confirmed);
    core_metrics_register(&m_cancelled);
    core_metrics_register(&m_fanned);
    core_metrics_register(&m_reported);
    core_metrics_register(&m_resumed);
    core_metrics_register(&m_queued);
    core_metrics_register(&m_skipped);
    core_metrics_register(&m_batches);
}

struct grp_bc *grp_bc_new(const struct core_cfg *cfg, const struct cry_keys *keys,
                          struct cry_audit *audit)
{
    struct grp_bc *bc = core_calloc(1, sizeof *bc);

    bc->keys = keys;
    bc->audit = audit;
    bc->number = cfg->n_phone_numbers > 0 ? core_strdup(cfg->phone_numbers[0]) : NULL;
    bc->price_utility = cfg->price_utility;
    bc->price_marketing = cfg->price_marketing;
    bc->template_name = core_strdup(cfg->broadcast_template);
    bc->category = core_strdup(cfg->broadcast_category);
    bc->report_template = core_strdup(cfg->broadcast_report_template);
    bc->batch = cfg->broadcast_batch > 0 ? cfg->broadcast_batch : 1000;
    bc->batch_pause_ms = cfg->broadcast_batch_pause_ms;
    bc->draft_ttl_s = cfg->broadcast_draft_ttl_s > 0 ? cfg->broadcast_draft_ttl_s : 3600;
    bc->lease_ms = cfg->broadcast_lease_ms > 0 ? cfg->broadcast_lease_ms : 15000;
    bc->report_after_s = cfg->broadcast_report_after_s > 0 ? cfg->broadcast_report_after_s
                                                           : 21600;
    bc->preview_max = cfg->broadcast_preview_max > 0 ? cfg->broadcast_preview_max : 100000;
    bc->window_margin_s = cfg->dispatch_window_margin_s;
    grp_bc_metrics_init();
    return bc;
}

void grp_bc_free(struct grp_bc *bc)
{
    if (bc == NULL)
        return;
    free(bc->number);
    free(bc->template_name);
    free(bc->category);
    free(bc->report_template);
    free(bc);
}

void grp_bc_test_crash_after(struct grp_bc *bc, long n)
{
    atomic_store(&bc->crash_after, n);
}

int grp_bc_exit_code(enum grp_bc_rc rc, const struct core_err *err)
{
    switch (rc) {
    case GRP_BC_OK:
        return 0;
    case GRP_BC_ENOTFOUND:
        return CORE_EX_NOINPUT;
    case GRP_BC_EFORBIDDEN:
        return CORE_EX_NOPERM;
    case GRP_BC_EINVALID:
    case GRP_BC_EEXPIRED:
    case GRP_BC_ESTATE:
        return CORE_EX_DATAERR;
    case GRP_BC_EFAIL:
        break;
    }
    return err != NULL && err->code != 0 ? err->code : CORE_EX_SOFTWARE;
}

int grp_bc_id_ok(const char *id)
{
    size_t i;

    if (id == NULL)
        return 0;
    for (i = 0; i < GRP_BC_ID_LEN - 1; i++) {
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    }
    return id[i] == '\0';
}

static void job_key(const char *id, char *out, size_t n)
{
    snprintf(out, n, "js:bc:{%s}", id);
}

static void job_subkey(const char *id, const char *suffix, char *out, size_t n)
{
    snprintf(out, n, "js:bc:{%s}:%s", id, suffix);
}

/* ======================= actors ======================= */

void grp_bc_actor_operator(struct grp_bc_actor *a, const char *name)
{
    memset(a, 0, sizeof *a);
    a->kind = GRP_BC_OPERATOR;
    snprintf(a->name, sizeof a->name, "%s", name != NULL && name[0] != '\0' ? name : "operator");
}

static enum grp_bc_rc actor_from(struct grp_bc_actor *a, int found, struct core_err *err)
{
    if (found < 0)
        return GRP_BC_EFAIL;
    if (found == 0) {
        core_err_set(err, CORE_EX_NOINPUT, "no such officer");
        return GRP_BC_ENOTFOUND;
    }
    a->kind = GRP_BC_OFFICER;
    snprintf(a->name, sizeof a->name, "officer:%s", a->officer.code);
    return GRP_BC_OK;
}

enum grp_bc_rc grp_bc_actor_officer_code(struct core_redis *r, const char *code,
                                         struct grp_bc_actor *a, struct core_err *err)
{
    memset(a, 0, sizeof *a);
    return actor_from(a, grp_off_find_code(r, code, &a->officer, err), err);
}

enum grp_bc_rc grp_bc_actor_officer_mid(struct core_redis *r, const char *mid,
                                        struct grp_bc_actor *a, struct core_err *err)
{
    memset(a, 0, sizeof *a);
    return actor_from(a, grp_off_get(r, mid, &a->officer, err), err);
}

/*
 * May `who` act on something in unit `scope` created by officer `creator`
 * ("" for an operator)? Operators may do anything; officers act on their
 * own broadcasts and inside their jurisdiction.
 */
static enum grp_bc_rc may_act(struct core_redis *r, const struct grp_bc_actor *who,
                              const char *scope, const char *creator, struct core_err *err)
{
    int inside = 0;

    if (who == NULL || who->kind == GRP_BC_OPERATOR)
        return GRP_BC_OK;
    if (creator != NULL && creator[0] != '\0' && strcmp(creator, who->officer.mid) == 0)
        return GRP_BC_OK;
    if (grp_off_may_reach(r, &who->officer, scope, &inside, err) != 0)
        return GRP_BC_EFAIL;
    if (inside)
        return GRP_BC_OK;
    core_err_set(err, CORE_EX_NOPERM, "unit %s is outside the jurisdiction of officer %s (%s)",
                 scope, who->officer.code, who->officer.unit);
    return GRP_BC_EFORBIDDEN;
}

/* ======================= members =======================
 *
 * Membership is read with the names fixed in docs/groups.md: the
 * membership hash js:u:{CODE}:mem (fields = binary mids, converted with
 * grp_member_mid_from_set), and st, lang, li (and the identity registry's
 * mg) of the member's record, loaded through groups/member.h. These few
 * functions are the only place in this file that reads them.
 */

static void member_set_key(const char *locality, char *out, size_t n)
{
    snprintf(out, n, "js:u:{%s}:mem", locality);
}

struct mstate {
    int ok;       /* a well-formed record exists */
    int active;   /* st == active and not merged into another record */
    int en;       /* lang == en */
    int64_t li;   /* last inbound, Unix s (0: never) */
};

static int read_members(struct core_redis *r, char *const *mids, size_t n, struct mstate *out,
                        struct core_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (grp_member_append_load(r, mids[i], err) != 0)
            return -1;
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *rep;
        struct grp_member m;
        struct core_err perr;

        if (core_redis_get_reply(r, &rep, err) != 0)
            return -1;
        memset(&out[i], 0, sizeof out[i]);
        /* a malformed record is not well-formed (ok = 0) */
        if (grp_member_from_reply(rep, mids[i], &m, &perr) == 0) {
            out[i].ok = m.exists || m.st != GRP_MEMBER_NEW;
            out[i].active = out[i].ok && m.st == GRP_MEMBER_ACTIVE && m.merged_into[0] == '\0';
            out[i].en = m.lang == GRP_LANG_EN;
            out[i].li = m.li;
        }
        freeReplyObject(rep);
    }
    return 0;
}

/* The language of member `mid` ("hi" unless lang is en). */
static const char *member_lang(struct core_redis *r, const char *mid)
{
    struct grp_member m;
    struct core_err err;
    int en = 0;

    if (grp_member_load(r, mid, &m, &err) == 0)
        en = m.lang == GRP_LANG_EN;
    return en ? "en" : "hi";
}

static int in_window(const struct grp_bc *bc, int64_t li, int64_t now_s)
{
    return li > 0 && li + WINDOW_S - bc->window_margin_s > now_s;
}

/* ======================= hierarchy walk ======================= */

/* A growable array of heap strings. */
struct strv {
    char **v;
    size_t n;
    size_t cap;
};

static void strv_push(struct strv *s, const char *p, size_t len)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = core_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = core_memdup(p, len);
}

static void strv_free(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The localities under unit `code` of level `kind`, sorted by code (the
 * order the fan-out follows). Walks the child sets level by level, one
 * pipeline per UNIT_BATCH units.
 */
static int collect_localities(struct core_redis *r, const char *code, enum grp_kind kind,
                              struct strv *out, struct core_err *err)
{
    struct strv cur = {0};
    struct strv next = {0};

    memset(out, 0, sizeof *out);
    strv_push(&cur, code, strlen(code));
    for (int level = (int)kind; level < (int)GRP_LOCALITY; level++) {
        for (size_t i = 0; i < cur.n; i += UNIT_BATCH) {
            size_t end = i + UNIT_BATCH < cur.n ? i + UNIT_BATCH : cur.n;

            for (size_t k = i; k < end; k++) {
                if (core_redis_appendf(r, err, "SMEMBERS js:u:{%s}:c", cur.v[k]) != 0)
                    goto fail;
            }
            for (size_t k = i; k < end; k++) {
                redisReply *rep;

                if (core_redis_get_reply(r, &rep, err) != 0)
                    goto fail;
                for (size_t e = 0; rep->type == REDIS_REPLY_ARRAY && e < rep->elements; e++)
                    strv_push(&next, rep->element[e]->str, rep->element[e]->len);
                freeReplyObject(rep);
            }
        }
        strv_free(&cur);
        cur = next;
        memset(&next, 0, sizeof next);
    }
    if (cur.n > 1)
        qsort(cur.v, cur.n, sizeof *cur.v, cmp_str);
    *out = cur;
    return 0;
fail:
    strv_free(&cur);
    strv_free(&next);
    return -1;
}

/* HLEN of every locality's membership hash into sizes[]. */
static int locality_sizes(struct core_redis *r, const struct strv *locs, long *sizes,
                          struct core_err *err)
{
    for (size_t i = 0; i < locs->n; i += UNIT_BATCH) {
        size_t end = i + UNIT_BATCH < locs->n ? i + UNIT_BATCH : locs->n;

        for (size_t k = i; k < end; k++) {
            char key[GRP_CODE_MAX + 16];

            member_set_key(locs->v[k], key, sizeof key);
            if (core_redis_appendf(r, err, "HLEN %s", key) != 0)
                return -1;
        }
        for (size_t k = i; k < end; k++) {
            redisReply *rep;

            if (core_redis_get_reply(r, &rep, err) != 0)
                return -1;
            sizes[k] = (long)core_redis_int(rep);
            if (sizes[k] < 0)
                sizes[k] = 0;
            freeReplyObject(rep);
        }
    }
    return 0;
}

/* ======================= requests and content ======================= */

/* Valid UTF-8 without control characters other than \n and \t; returns the
 * number of characters, or -1. */
static long text_chars(const char *s)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t len = strlen(s);
    size_t i = 0;
    long n = 0;

    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);

        if (k <= 0 || c < 0)
            return -1;
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
            return -1;
        i += (size_t)k;
        n++;
    }
    return n;
}

static int template_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > GRP_BC_TEMPLATE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

static int lang_ok(const char *s)
{
    return s != NULL && (strcmp(s, "hi") == 0 || strcmp(s, "en") == 0);
}

static enum grp_bc_rc invalid(struct core_err *err, const char *msg)
{
    core_err_set(err, CORE_EX_DATAERR, "%s", msg);
    return GRP_BC_EINVALID;
}

static enum grp_bc_rc check_text(const char *t, const char *what, struct core_err *err)
{
    long n;

    if (t == NULL)
        return GRP_BC_OK;
    n = text_chars(t);
    if (n < 0) {
        core_err_set(err, CORE_EX_DATAERR, "%s must be UTF-8 text without control characters",
                     what);
        return GRP_BC_EINVALID;
    }
    if (n == 0 || n > GRP_BC_TEXT_MAX) {
        core_err_set(err, CORE_EX_DATAERR, "%s must be 1-%d characters", what, GRP_BC_TEXT_MAX);
        return GRP_BC_EINVALID;
    }
    return GRP_BC_OK;
}

/* Is the content of `req` well-formed? (scope is checked elsewhere) */
static enum grp_bc_rc check_req(const struct grp_bc_req *req, struct core_err *err)
{
    int texts = req->text != NULL || req->text_hi != NULL || req->text_en != NULL;
    enum grp_bc_rc rc;

    if (texts && req->template_name != NULL)
        return invalid(err, "give a text or a template, not both");
    if (!texts && req->template_name == NULL)
        return invalid(err, "a broadcast needs a text (text, or text_hi and/or text_en) or a "
                            "template");
    if (req->text != NULL && (req->text_hi != NULL || req->text_en != NULL))
        return invalid(err, "give text, or text_hi and/or text_en, not both");
    if ((rc = check_text(req->text, "text", err)) != GRP_BC_OK ||
        (rc = check_text(req->text_hi, "text_hi", err)) != GRP_BC_OK ||
        (rc = check_text(req->text_en, "text_en", err)) != GRP_BC_OK)
        return rc;
    if (req->template_name != NULL) {
        if (!template_name_ok(req->template_name))
            return invalid(err, "template must be a template name (a-z, 0-9, _)");
        if (req->n_params > GRP_BC_MAX_PARAMS)
            return invalid(err, "at most 10 template parameters");
        for (size_t i = 0; i < req->n_params; i++) {
            long n = req->params[i] != NULL ? text_chars(req->params[i]) : -1;

            if (n < 1 || n > GRP_BC_PARAM_MAX || strchr(req->params[i], '\n') != NULL ||
                strchr(req->params[i], '\t') != NULL)
                return invalid(err, "template parameters must be 1-900 characters of text on "
                                    "one line");
        }
    } else if (req->n_params > 0) {
        return invalid(err, "parameters belong to a template");
    }
    if (req->lang != NULL && !lang_ok(req->lang))
        return invalid(err, "lang must be hi or en");
    if (req->lang != NULL && req->template_name == NULL)
        return invalid(err, "lang chooses a template's language; texts use text_hi/text_en");
    if (req->category != NULL && strcmp(req->category, "utility") != 0 &&
        strcmp(req->category, "marketing") != 0)
        return invalid(err, "category must be utility or marketing");
    if (req->category != NULL && req->template_name == NULL)
        return invalid(err, "category belongs to a template (text broadcasts use the "
                            "configured broadcast_category)");
    if (req->idem != NULL && (req->idem[0] == '\0' || strlen(req->idem) > 200))
        return invalid(err, "idempotency key must be 1-200 bytes");
    return GRP_BC_OK;
}

/* The category a request is charged at. */
static const char *req_category(const struct grp_bc *bc, const struct grp_bc_req *req)
{
    if (req != NULL && req->template_name != NULL)
        return req->category != NULL ? req->category : bc->category;
    return bc->category;
}

/* ======================= reach and cost ======================= */

static void reach_cost(const struct grp_bc *bc, const struct grp_bc_req *req,
                       struct grp_bc_reach *out)
{
    const char *cat = req_category(bc, req);
    int marketing = strcmp(cat, "marketing") == 0;
    int is_template = req != NULL && req->template_name != NULL;

    snprintf(out->category, sizeof out->category, "%s", cat);
    out->price = marketing ? bc->price_marketing : bc->price_utility;
    /* marketing templates are charged everywhere; utility ones (and the
     * fallback of a text) only outside the window; text inside it is free */
    out->charged = is_template && marketing ? out->reach : out->reach - out->in_window;
    if (out->charged < 0)
        out->charged = 0;
    out->cost = (long long)out->charged * out->price;
}

/* Count active and in-window members among `mids`. */
static int tally(struct grp_bc *bc, struct core_redis *r, struct strv *mids, long *active,
                 long *inwin, struct core_err *err)
{
    struct mstate *st = core_calloc(MEMBER_BATCH, sizeof *st);
    int64_t now_s = core_now_ms() / 1000;
    int rc = 0;

    for (size_t i = 0; i < mids->n && rc == 0; i += MEMBER_BATCH) {
        size_t n = mids->n - i < MEMBER_BATCH ? mids->n - i : MEMBER_BATCH;

        rc = read_members(r, mids->v + i, n, st, err);
        for (size_t k = 0; rc == 0 && k < n; k++) {
            if (!st[k].active)
                continue;
            (*active)++;
            *inwin += in_window(bc, st[k].li, now_s);
        }
    }
    free(st);
    return rc;
}

/* Members of localities [i, end) (HKEYS, or HRANDFIELD `want[k]` when
 * want != NULL) appended to `mids`. */
static int fetch_members(struct core_redis *r, const struct strv *locs, size_t i, size_t end,
                         const long *want, struct strv *mids, struct core_err *err)
{
    size_t queued = 0;

    for (size_t k = i; k < end; k++) {
        char key[GRP_CODE_MAX + 16];
        char cnt[24];

        if (want != NULL && want[k] <= 0)
            continue;
        member_set_key(locs->v[k], key, sizeof key);
        if (want != NULL) {
            snprintf(cnt, sizeof cnt, "%ld", want[k]);
            if (core_redis_appendf(r, err, "HRANDFIELD %s %s", key, cnt) != 0)
                return -1;
        } else if (core_redis_appendf(r, err, "HKEYS %s", key) != 0) {
            return -1;
        }
        queued++;
    }
    while (queued-- > 0) {
        redisReply *rep;

        if (core_redis_get_reply(r, &rep, err) != 0)
            return -1;
        for (size_t e = 0; rep->type == REDIS_REPLY_ARRAY && e < rep->elements; e++) {
            char mid[CRY_MID_LEN];

            if (grp_member_mid_from_set(rep->element[e], mid) == 0)
                strv_push(mids, mid, CRY_MID_LEN - 1);
        }
        freeReplyObject(rep);
    }
    return 0;
}

static enum grp_bc_rc load_scope(struct core_redis *r, const char *scope, struct grp_bc_reach *out,
                                 struct core_err *err)
{
    struct grp_unit u;
    int found;

    memset(out, 0, sizeof *out);
    if (scope == NULL || !grp_code_ok(scope, strlen(scope))) {
        core_err_set(err, CORE_EX_DATAERR, "scope must be a unit code");
        return GRP_BC_EINVALID;
    }
    found = grp_unit_get(r, scope, &u, err);
    if (found < 0)
        return GRP_BC_EFAIL;
    if (found == 0) {
        core_err_set(err, CORE_EX_NOINPUT, "no such unit: %s", scope);
        return GRP_BC_ENOTFOUND;
    }
    snprintf(out->scope, sizeof out->scope, "%s", scope);
    out->kind = u.kind;
    snprintf(out->name_en, sizeof out->name_en, "%s", u.name_en);
    snprintf(out->name_hi, sizeof out->name_hi, "%s", u.name_hi[0] ? u.name_hi : u.name_en);
    grp_unit_cleanup(&u);
    return GRP_BC_OK;
}

/* Fill out->localities, members, reach, in_window, estimated, sampled. */
static int count_reach(struct grp_bc *bc, struct core_redis *r, struct grp_bc_reach *out,
                       struct core_err *err)
{
    struct strv locs;
    struct strv mids = {0};
    long *sizes = NULL;
    long *want = NULL;
    long active = 0;
    long inwin = 0;
    int rc = -1;

    if (collect_localities(r, out->scope, out->kind, &locs, err) != 0)
        return -1;
    sizes = core_calloc(locs.n + 1, sizeof *sizes);
    if (locality_sizes(r, &locs, sizes, err) != 0)
        goto out;
    out->localities = (long)locs.n;
    for (size_t i = 0; i < locs.n; i++)
        out->members += sizes[i];
    out->estimated = out->members > bc->preview_max;
    if (out->estimated) {
        /* a stratified sample: about preview_max members, each locality in
         * proportion to its size (randomised rounding keeps it unbiased) */
        double f = (double)bc->preview_max / (double)out->members;

        want = core_calloc(locs.n + 1, sizeof *want);
        for (size_t i = 0; i < locs.n; i++) {
            double x = (double)sizes[i] * f;
            long k = (long)x;

            if ((double)core_random_below(1u << 20) / (double)(1u << 20) < x - (double)k)
                k++;
            want[i] = k;
        }
    }
    for (size_t i = 0; i < locs.n;) {
        size_t end = i;
        long total = 0;

        /* localities until about MEMBER_BATCH members */
        while (end < locs.n && (end == i || total < MEMBER_BATCH)) {
            total += want != NULL ? want[end] : sizes[end];
            end++;
        }
        if (total > 0) {
            if (fetch_members(r, &locs, i, end, want, &mids, err) != 0 ||
                tally(bc, r, &mids, &active, &inwin, err) != 0)
                goto out;
            out->sampled += (long)mids.n;
            strv_free(&mids);
        }
        i = end;
    }
    if (out->estimated && out->sampled > 0) {
        out->reach = (long)((double)out->members * (double)active / (double)out->sampled + 0.5);
        out->in_window =
            (long)((double)out->members * (double)inwin / (double)out->sampled + 0.5);
    } else {
        out->reach = active;
        out->in_window = inwin;
    }
    rc = 0;
out:
    strv_free(&mids);
    strv_free(&locs);
    free(sizes);
    free(want);
    return rc;
}

enum grp_bc_rc grp_bc_estimate(struct grp_bc *bc, struct core_redis *r,
                               const struct grp_bc_actor *who, const char *scope,
                               const struct grp_bc_req *req, struct grp_bc_reach *out,
                               struct core_err *err)
{
    enum grp_bc_rc rc;

    if (scope == NULL && who != NULL && who->kind == GRP_BC_OFFICER)
        scope = who->officer.unit;
    rc = load_scope(r, scope, out, err);
    if (rc != GRP_BC_OK)
        return rc;
    rc = may_act(r, who, out->scope, NULL, err);
    if (rc != GRP_BC_OK)
        return rc;
    if (count_reach(bc, r, out, err) != 0)
        return GRP_BC_EFAIL;
    reach_cost(bc, req, out);
    return GRP_BC_OK;
}

/* ======================= jobs ======================= */

/*
 * KEYS[1] job. ARGV[1] expiry of the hash in ms, then field/value pairs.
 * Creates the job unless it exists. Returns 1 created, 0 existed.
 */
static struct core_redis_script create_script = {
    "bc_create",
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
    "redis.call('HSET', KEYS[1], unpack(ARGV, 2))\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
    "return 1\n",
    ""};

/* KEYS[1] job. ARGV now ms, actor. */
static struct core_redis_script confirm_script = {
    "bc_confirm",
    "local st = redis.call('HGET', KEYS[1], 'st')\n"
    "if not st then return 'missing' end\n"
    "if st == 'draft' then\n"
    "  if tonumber(redis.call('HGET', KEYS[1], 'exp') or '0') < tonumber(ARGV[1]) then\n"
    "    return 'expired'\n"
    "  end\n"
    "  redis.call('HSET', KEYS[1], 'st', 'confirmed', 'cf', ARGV[1], 'cby', ARGV[2])\n"
    "  redis.call('PERSIST', KEYS[1])\n"
    "  return 'ok'\n"
    "end\n"
    "if st == 'cancelled' then return 'cancelled' end\n"
    "return 'already'\n",
    ""};

/* KEYS[1] job. ARGV now ms, actor. Returns the state before. */
static struct core_redis_script cancel_script = {
    "bc_cancel",
    "local st = redis.call('HGET', KEYS[1], 'st')\n"
    "if not st then return 'missing' end\n"
    "if st == 'draft' or st == 'confirmed' or st == 'running' or st == 'sending' then\n"
    "  redis.call('HSET', KEYS[1], 'st', 'cancelled', 'xt', ARGV[1], 'xby', ARGV[2])\n"
    "end\n"
    "return st\n",
    ""};

static void audit(struct grp_bc *bc, struct core_redis *r, const struct grp_bc_actor *who,
                  const char *action, const char *id, const char *reason)
{
    char object[48];
    struct core_err err;

    if (bc->audit == NULL)
        return;
    snprintf(object, sizeof object, "broadcast:%s", id);
    if (cry_audit_append(bc->audit, r, who != NULL ? who->name : "system", action, object, reason,
                         NULL, &err) != 0)
        core_log_error("broadcast", id, "audit record %s not written: %s", action, err.msg);
}

static void new_id(const struct grp_bc_req *req, char out[GRP_BC_ID_LEN])
{
    if (req->idem != NULL) {
        unsigned char h[8];

        crypto_generichash(h, sizeof h, (const unsigned char *)req->idem, strlen(req->idem),
                           (const unsigned char *)"janseva-bc-idem1", 16);
        core_hex(out, h, sizeof h);
    } else {
        core_req_id(out);
    }
}

/* The content of `req` as sealed JSON (malloc'd). */
static unsigned char *seal_content(struct grp_bc *bc, const char *id, const struct grp_bc_req *req,
                                   size_t *len, struct core_err *err)
{
    json_t *j = json_object();
    unsigned char *out = NULL;
    char *text;
    size_t tl;

    if (req->text != NULL)
        json_object_set_new(j, "text", json_string(req->text));
    if (req->text_hi != NULL)
        json_object_set_new(j, "text_hi", json_string(req->text_hi));
    if (req->text_en != NULL)
        json_object_set_new(j, "text_en", json_string(req->text_en));
    if (req->n_params > 0) {
        json_t *ps = json_array();

        for (size_t i = 0; i < req->n_params; i++)
            json_array_append_new(ps, json_string(req->params[i]));
        json_object_set_new(j, "params", ps);
    }
    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text == NULL) {
        core_err_set(err, CORE_EX_DATAERR, "broadcast content is not serialisable");
        return NULL;
    }
    tl = strlen(text);
    out = core_malloc(cry_vault_sealed_size(tl));
    if (cry_vault_seal(bc->keys, CRY_VAULT_PII, id, "bc", text, tl, out,
                       cry_vault_sealed_size(tl), len, err) != 0) {
        free(out);
        out = NULL;
    }
    sodium_memzero(text, tl);
    free(text);
    return out;
}

/* Field/value list for HSET; values copied. */
struct fields {
    const char *argv[96];
    size_t lens[96];
    char store[48][32]; /* numbers */
    int n;
    int ns;
};

static void f_str(struct fields *f, const char *name, const char *v)
{
    f->argv[f->n] = name;
    f->lens[f->n++] = strlen(name);
    f->argv[f->n] = v;
    f->lens[f->n++] = strlen(v);
}

static void f_num(struct fields *f, const char *name, long long v)
{
    snprintf(f->store[f->ns], sizeof f->store[f->ns], "%lld", v);
    f_str(f, name, f->store[f->ns++]);
}

enum grp_bc_rc grp_bc_prepare(struct grp_bc *bc, struct core_redis *r,
                              const struct grp_bc_actor *who, const struct grp_bc_req *req,
                              struct grp_bc_preview *out, struct core_err *err)
{
    const char *scope = req->scope;
    struct fields f;
    char key[64];
    char ttl[32];
    char reason[256];
    char cost[32];
    unsigned char *sealed = NULL;
    size_t sealed_len = 0;
    int64_t now = core_now_ms();
    redisReply *rep;
    enum grp_bc_rc rc;
    int created;

    memset(out, 0, sizeof *out);
    rc = check_req(req, err);
    if (rc != GRP_BC_OK)
        return rc;
    if (bc->number == NULL) {
        core_err_set(err, CORE_EX_CONFIG,
                     "config: JANSEVA_PHONE_NUMBER_ID is not set (broadcasts are sent from it)");
        return GRP_BC_EFAIL;
    }
    if (scope == NULL && (who == NULL || who->kind != GRP_BC_OFFICER))
        return invalid(err, "scope (a unit code) is required");
    rc = grp_bc_estimate(bc, r, who, scope, req, &out->reach, err);
    if (rc != GRP_BC_OK)
        return rc;
    new_id(req, out->id);
    out->expires_ms = now + (int64_t)bc->draft_ttl_s * 1000;
    sealed = seal_content(bc, out->id, req, &sealed_len, err);
    if (sealed == NULL)
        return GRP_BC_EFAIL;
    memset(&f, 0, sizeof f);
    job_key(out->id, key, sizeof key);
    snprintf(ttl, sizeof ttl, "%lld", (long long)bc->draft_ttl_s * 1000 + DRAFT_KEEP_MS);
    f.argv[f.n] = key;
    f.lens[f.n++] = strlen(key);
    f.argv[f.n] = ttl;
    f.lens[f.n++] = strlen(ttl);
    f_str(&f, "st", "draft");
    f_str(&f, "scope", out->reach.scope);
    f_str(&f, "sk", grp_kind_name(out->reach.kind));
    f_str(&f, "en", out->reach.name_en);
    f_str(&f, "hi", out->reach.name_hi);
    f_str(&f, "by", who != NULL ? who->name : "system");
    f_str(&f, "bym", who != NULL && who->kind == GRP_BC_OFFICER ? who->officer.mid : "");
    f_str(&f, "boc", who != NULL && who->kind == GRP_BC_OFFICER ? who->officer.code : "");
    f_num(&f, "ct", now);
    f_num(&f, "exp", out->expires_ms);
    f_str(&f, "ty", req->template_name != NULL ? "template" : "text");
    f_str(&f, "tpl", req->template_name != NULL ? req->template_name : bc->template_name);
    f_str(&f, "lang", req->lang != NULL ? req->lang : "");
    f_str(&f, "cat", out->reach.category);
    f_str(&f, "num", bc->number);
    f_num(&f, "loc", out->reach.localities);
    f_num(&f, "plan", out->reach.members);
    f_num(&f, "reach", out->reach.reach);
    f_num(&f, "inwin", out->reach.in_window);
    f_num(&f, "est", out->reach.estimated);
    f_num(&f, "smp", out->reach.sampled);
    f_num(&f, "chg", out->reach.charged);
    f_num(&f, "price", out->reach.price);
    f_num(&f, "cost", out->reach.cost);
    f.argv[f.n] = "msg";
    f.lens[f.n++] = 3;
    f.argv[f.n] = (const char *)sealed;
    f.lens[f.n++] = sealed_len;
    if (core_redis_eval(r, &create_script, 1, f.n, f.argv, f.lens, &rep, err) != 0) {
        free(sealed);
        return GRP_BC_EFAIL;
    }
    free(sealed);
    created = core_redis_int(rep) == 1;
    freeReplyObject(rep);
    if (!created) {
        /* the same idempotency key: the draft made the first time */
        struct grp_bc_status st;

        rc = grp_bc_status(bc, r, NULL, out->id, &st, err);
        if (rc != GRP_BC_OK)
            return rc;
        out->reach = st.reach;
        out->expires_ms = st.expires_ms;
        return GRP_BC_OK;
    }
    if (core_redis_cmdf(r, NULL, err, "ZADD " GRP_BC_INDEX_KEY " %lld %s", (long long)now,
                        out->id) != 0)
        return GRP_BC_EFAIL;
    core_metric_inc(&m_created);
    grp_bc_money(out->reach.cost, cost, sizeof cost);
    snprintf(reason, sizeof reason, "scope=%s content=%s members=%ld reach=%ld%s in_window=%ld "
             "cost_inr=%s category=%s",
             out->reach.scope, req->template_name != NULL ? "template" : "text",
             out->reach.members, out->reach.reach, out->reach.estimated ? "(est)" : "",
             out->reach.in_window, cost, out->reach.category);
    audit(bc, r, who, "broadcast.create", out->id, reason);
    core_log_kv(CORE_LOG_INFO, "broadcast", out->id, "broadcast drafted",
                json_pack("{s:s,s:s,s:I,s:I}", "scope", out->reach.scope, "by",
                          who != NULL ? who->name : "system", "reach",
                          (json_int_t)out->reach.reach, "cost_e4",
                          (json_int_t)out->reach.cost));
    return GRP_BC_OK;
}

/* The fields of a job that access checks need. */
struct job_head {
    char st[16];
    char scope[GRP_CODE_MAX + 1];
    char bym[CRY_MID_LEN];
};

static enum grp_bc_rc load_head(struct core_redis *r, const char *id, struct job_head *h,
                                struct core_err *err)
{
    char key[64];
    redisReply *rep;
    int found;

    memset(h, 0, sizeof *h);
    if (!grp_bc_id_ok(id)) {
        core_err_set(err, CORE_EX_NOINPUT, "no such broadcast");
        return GRP_BC_ENOTFOUND;
    }
    job_key(id, key, sizeof key);
    if (core_redis_cmdf(r, &rep, err, "HMGET %s st scope bym", key) != 0)
        return GRP_BC_EFAIL;
    found = rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
            rep->element[0]->type == REDIS_REPLY_STRING;
    if (found) {
        snprintf(h->st, sizeof h->st, "%s", rep->element[0]->str);
        if (rep->element[1]->type == REDIS_REPLY_STRING)
            snprintf(h->scope, sizeof h->scope, "%s", rep->element[1]->str);
        if (rep->element[2]->type == REDIS_REPLY_STRING)
            snprintf(h->bym, sizeof h->bym, "%s", rep->element[2]->str);
    }
    freeReplyObject(rep);
    if (!found) {
        core_err_set(err, CORE_EX_NOINPUT, "no such broadcast: %s", id);
        return GRP_BC_ENOTFOUND;
    }
    return GRP_BC_OK;
}

static enum grp_bc_rc run_state_script(struct core_redis *r, struct core_redis_script *s,
                                       const char *id, const struct grp_bc_actor *who,
                                       char *result, size_t rn, struct core_err *err)
{
    char key[64];
    char now[32];
    const char *argv[3];
    redisReply *rep;

    job_key(id, key, sizeof key);
    snprintf(now, sizeof now, "%lld", (long long)core_now_ms());
    argv[0] = key;
    argv[1] = now;
    argv[2] = who != NULL ? who->name : "system";
    if (core_redis_eval(r, s, 1, 3, argv, NULL, &rep, err) != 0)
        return GRP_BC_EFAIL;
    snprintf(result, rn, "%s", rep->type == REDIS_REPLY_STRING ? rep->str : "?");
    freeReplyObject(rep);
    return GRP_BC_OK;
}

enum grp_bc_rc grp_bc_confirm(struct grp_bc *bc, struct core_redis *r,
                              const struct grp_bc_actor *who, const char *id,
                              struct core_err *err)
{
    struct job_head h;
    char res[16];
    enum grp_bc_rc rc;

    rc = load_head(r, id, &h, err);
    if (rc == GRP_BC_OK)
        rc = may_act(r, who, h.scope, h.bym, err);
    if (rc != GRP_BC_OK)
        return rc;
    /* Into the workers' schedule first: if we die right after confirming,
     * a worker still finds the job (a draft found there is looked at again
     * until it is confirmed or expires). */
    if (strcmp(h.st, "draft") == 0 &&
        core_redis_cmdf(r, NULL, err, "ZADD " GRP_BC_LIVE_KEY " %lld %s",
                        (long long)core_now_ms(), id) != 0)
        return GRP_BC_EFAIL;
    rc = run_state_script(r, &confirm_script, id, who, res, sizeof res, err);
    if (rc != GRP_BC_OK)
        return rc;
    if (strcmp(res, "ok") == 0) {
        char reason[80];

        core_metric_inc(&m_confirmed);
        snprintf(reason, sizeof reason, "scope=%s", h.scope);
        audit(bc, r, who, "broadcast.confirm", id, reason);
        core_log_info("broadcast", id, "broadcast confirmed by %s",
                      who != NULL ? who->name : "system");
        return GRP_BC_OK;
    }
    if (strcmp(res, "already") == 0)
        return GRP_BC_OK;
    if (strcmp(res, "expired") == 0) {
        core_err_set(err, CORE_EX_DATAERR, "broadcast %s expired before it was confirmed", id);
        return GRP_BC_EEXPIRED;
    }
    if (strcmp(res, "cancelled") == 0) {
        core_err_set(err, CORE_EX_DATAERR, "broadcast %s was cancelled", id);
        return GRP_BC_ESTATE;
    }
    core_err_set(err, CORE_EX_NOINPUT, "no such broadcast: %s", id);
    return GRP_BC_ENOTFOUND;
}

enum grp_bc_rc grp_bc_cancel(struct grp_bc *bc, struct core_redis *r,
                             const struct grp_bc_actor *who, const char *id,
                             struct core_err *err)
{
    struct job_head h;
    char before[16];
    enum grp_bc_rc rc;

    rc = load_head(r, id, &h, err);
    if (rc == GRP_BC_OK)
        rc = may_act(r, who, h.scope, h.bym, err);
    if (rc != GRP_BC_OK)
        return rc;
    rc = run_state_script(r, &cancel_script, id, who, before, sizeof before, err);
    if (rc != GRP_BC_OK)
        return rc;
    if (strcmp(before, "draft") == 0 || strcmp(before, "confirmed") == 0 ||
        strcmp(before, "running") == 0 || strcmp(before, "sending") == 0) {
        char reason[80];

        core_metric_inc(&m_cancelled);
        snprintf(reason, sizeof reason, "scope=%s was=%s", h.scope, before);
        audit(bc, r, who, "broadcast.cancel", id, reason);
        core_log_info("broadcast", id, "broadcast cancelled (was %s) by %s", before,
                      who != NULL ? who->name : "system");
        /* a worker winds it up (report of what was already queued) */
        if (strcmp(before, "draft") != 0 &&
            core_redis_cmdf(r, NULL, err, "ZADD " GRP_BC_LIVE_KEY " %lld %s",
                            (long long)core_now_ms(), id) != 0)
            return GRP_BC_EFAIL;
        return GRP_BC_OK;
    }
    if (strcmp(before, "cancelled") == 0)
        return GRP_BC_OK;
    if (strcmp(before, "missing") == 0) {
        core_err_set(err, CORE_EX_NOINPUT, "no such broadcast: %s", id);
        return GRP_BC_ENOTFOUND;
    }
    core_err_set(err, CORE_EX_DATAERR,
                 "broadcast %s is %s: its messages have all gone out",
                 id, before);
    return GRP_BC_ESTATE;
}

static long long num_of(const redisReply *v)
{
    int64_t n = 0;

    if (v != NULL && v->type == REDIS_REPLY_STRING)
        core_parse_i64(v->str, &n);
    return n;
}

static void str_of(char *dst, size_t cap, const redisReply *v)
{
    size_t n = 0;

    if (v != NULL && v->type == REDIS_REPLY_STRING)
        n = v->len < cap - 1 ? v->len : cap - 1;
    if (n > 0)
        memcpy(dst, v->str, n);
    dst[n] = '\0';
}

enum grp_bc_rc grp_bc_status(struct grp_bc *bc, struct core_redis *r,
                             const struct grp_bc_actor *who, const char *id,
                             struct grp_bc_status *out, struct core_err *err)
{
    char key[64];
    char bym[CRY_MID_LEN] = "";
    char kind[16] = "";
    redisReply *rep;
    enum grp_bc_rc rc;

    (void)bc;
    memset(out, 0, sizeof *out);
    if (!grp_bc_id_ok(id)) {
        core_err_set(err, CORE_EX_NOINPUT, "no such broadcast");
        return GRP_BC_ENOTFOUND;
    }
    job_key(id, key, sizeof key);
    if (core_redis_cmdf(r, &rep, err, "HGETALL %s", key) != 0)
        return GRP_BC_EFAIL;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) {
        freeReplyObject(rep);
        core_err_set(err, CORE_EX_NOINPUT, "no such broadcast: %s", id);
        return GRP_BC_ENOTFOUND;
    }
    snprintf(out->id, sizeof out->id, "%s", id);
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        const char *k = rep->element[i]->str;
        const redisReply *v = rep->element[i + 1];
        struct grp_bc_reach *re = &out->reach;

        if (strcmp(k, "st") == 0)
            str_of(out->state, sizeof out->state, v);
        else if (strcmp(k, "scope") == 0)
            str_of(re->scope, sizeof re->scope, v);
        else if (strcmp(k, "sk") == 0)
            str_of(kind, sizeof kind, v);
        else if (strcmp(k, "en") == 0)
            str_of(re->name_en, sizeof re->name_en, v);
        else if (strcmp(k, "hi") == 0)
            str_of(re->name_hi, sizeof re->name_hi, v);
        else if (strcmp(k, "by") == 0)
            str_of(out->creator, sizeof out->creator, v);
        else if (strcmp(k, "bym") == 0)
            str_of(bym, sizeof bym, v);
        else if (strcmp(k, "boc") == 0)
            str_of(out->officer, sizeof out->officer, v);
        else if (strcmp(k, "ty") == 0)
            str_of(out->content, sizeof out->content, v);
        else if (strcmp(k, "tpl") == 0)
            str_of(out->template_name, sizeof out->template_name, v);
        else if (strcmp(k, "cat") == 0)
            str_of(re->category, sizeof re->category, v);
        else if (strcmp(k, "cl") == 0)
            str_of(out->cursor, sizeof out->cursor, v);
        else if (strcmp(k, "loc") == 0)
            re->localities = (long)num_of(v);
        else if (strcmp(k, "plan") == 0)
            re->members = (long)num_of(v);
        else if (strcmp(k, "reach") == 0)
            re->reach = (long)num_of(v);
        else if (strcmp(k, "inwin") == 0)
            re->in_window = (long)num_of(v);
        else if (strcmp(k, "est") == 0)
            re->estimated = (int)num_of(v);
        else if (strcmp(k, "smp") == 0)
            re->sampled = (long)num_of(v);
        else if (strcmp(k, "chg") == 0)
            re->charged = (long)num_of(v);
        else if (strcmp(k, "price") == 0)
            re->price = (long)num_of(v);
        else if (strcmp(k, "cost") == 0)
            re->cost = num_of(v);
        else if (strcmp(k, "targeted") == 0)
            out->targeted = num_of(v);
        else if (strcmp(k, "queued") == 0)
            out->queued = num_of(v);
        else if (strcmp(k, "skipped") == 0)
            out->skipped = num_of(v);
        else if (strcmp(k, "sent") == 0)
            out->sent = num_of(v);
        else if (strcmp(k, "delivered") == 0)
            out->delivered = num_of(v);
        else if (strcmp(k, "read") == 0)
            out->read = num_of(v);
        else if (strcmp(k, "failed") == 0)
            out->failed = num_of(v);
        else if (strcmp(k, "ct") == 0)
            out->created_ms = num_of(v);
        else if (strcmp(k, "exp") == 0)
            out->expires_ms = num_of(v);
        else if (strcmp(k, "cf") == 0)
            out->confirmed_ms = num_of(v);
        else if (strcmp(k, "ft") == 0)
            out->fanned_ms = num_of(v);
        else if (strcmp(k, "xt") == 0)
            out->cancelled_ms = num_of(v);
        else if (strcmp(k, "dt") == 0)
            out->done_ms = num_of(v);
        else if (strcmp(k, "rep") == 0)
            out->report_ms = num_of(v);
        else if (strcmp(k, "rsent") == 0)
            out->report_sent = (int)num_of(v);
    }
    freeReplyObject(rep);
    grp_kind_parse(kind, &out->reach.kind);
    if (strcmp(out->state, "draft") == 0 && out->expires_ms < core_now_ms())
        snprintf(out->state, sizeof out->state, "expired");
    rc = may_act(r, who, out->reach.scope, bym, err);
    if (rc != GRP_BC_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

enum grp_bc_rc grp_bc_list(struct grp_bc *bc, struct core_redis *r,
                           const struct grp_bc_actor *who, size_t limit, char ***ids, size_t *n,
                           struct core_err *err)
{
    redisReply *rep;
    char cnt[24];
    struct strv out = {0};

    (void)bc;
    *ids = NULL;
    *n = 0;
    if (limit == 0 || limit > LIST_MAX)
        limit = LIST_MAX;
    /* officers see a subset: read more than asked and filter */
    snprintf(cnt, sizeof cnt, "%zu", who != NULL && who->kind == GRP_BC_OFFICER ? LIST_MAX
                                                                                 : limit);
    if (core_redis_cmdf(r, &rep, err, "ZREVRANGE " GRP_BC_INDEX_KEY " 0 %s", cnt) != 0)
        return GRP_BC_EFAIL;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements && out.n < limit;
         i++) {
        const char *id = rep->element[i]->str;

        if (who != NULL && who->kind == GRP_BC_OFFICER) {
            struct job_head h;
            struct core_err e2;
            enum grp_bc_rc rc = load_head(r, id, &h, &e2);

            if (rc == GRP_BC_OK)
                rc = may_act(r, who, h.scope, h.bym, &e2);
            if (rc == GRP_BC_EFAIL) {
                freeReplyObject(rep);
                strv_free(&out);
                if (err != NULL)
                    *err = e2;
                return GRP_BC_EFAIL;
            }
            if (rc != GRP_BC_OK)
                continue;
        }
        strv_push(&out, id, strlen(id));
    }
    freeReplyObject(rep);
    *ids = out.v;
    *n = out.n;
    return GRP_BC_OK;
}

/* ======================= rendering ======================= */

void grp_bc_money(long long amount, char *out, size_t n)
{
    /* 1/10000 rupee -> rupees with 2 decimals, rounded half up */
    long long paise = (amount + 50) / 100;

    snprintf(out, n, "%lld.%02lld", paise / 100, paise % 100);
}

json_t *grp_bc_reach_json(const struct grp_bc_reach *r)
{
    char cost[32];
    char price[32];

    grp_bc_money(r->cost, cost, sizeof cost);
    snprintf(price, sizeof price, "%ld.%04ld", r->price / CORE_CFG_MONEY_SCALE,
             r->price % CORE_CFG_MONEY_SCALE);
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:b,s:I,s:{s:s,s:I,s:s,s:s}}", "scope",
                     r->scope, "kind", grp_kind_name(r->kind), "name_en", r->name_en, "name_hi",
                     r->name_hi, "localities", (json_int_t)r->localities, "members",
                     (json_int_t)r->members, "reach", (json_int_t)r->reach, "in_window",
                     (json_int_t)r->in_window, "estimated", r->estimated, "sampled",
                     (json_int_t)r->sampled, "cost", "category", r->category, "charged",
                     (json_int_t)r->charged, "price_inr", price, "estimated_inr", cost);
}

json_t *grp_bc_preview_json(const struct grp_bc_preview *p)
{
    return json_pack("{s:s,s:s,s:o,s:I}", "id", p->id, "state", "draft", "reach",
                     grp_bc_reach_json(&p->reach), "expires_ms", (json_int_t)p->expires_ms);
}

json_t *grp_bc_status_json(const struct grp_bc_status *s)
{
    json_t *j = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:o,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I,s:I,s:I}}",
        "id", s->id, "state", s->state, "creator", s->creator, "officer", s->officer, "content",
        s->content, "reach", grp_bc_reach_json(&s->reach), "counters", "targeted",
        (json_int_t)s->targeted, "queued", (json_int_t)s->queued, "skipped",
        (json_int_t)s->skipped, "sent", (json_int_t)s->sent, "delivered",
        (json_int_t)s->delivered, "read", (json_int_t)s->read, "failed", (json_int_t)s->failed,
        "times_ms", "created", (json_int_t)s->created_ms, "expires", (json_int_t)s->expires_ms,
        "confirmed", (json_int_t)s->confirmed_ms, "fanned_out", (json_int_t)s->fanned_ms,
        "cancelled", (json_int_t)s->cancelled_ms, "done", (json_int_t)s->done_ms);

    if (strcmp(s->content, "template") == 0)
        json_object_set_new(j, "template", json_string(s->template_name));
    if (s->report_ms > 0)
        json_object_set_new(j, "report",
                            json_pack("{s:I,s:b,s:I,s:I,s:I,s:I,s:I}", "made_ms",
                                      (json_int_t)s->report_ms, "sent_to_officer",
                                      s->report_sent, "queued", (json_int_t)s->queued, "sent",
                                      (json_int_t)s->sent, "delivered", (json_int_t)s->delivered,
                                      "read", (json_int_t)s->read, "failed",
                                      (json_int_t)s->failed));
    if (strcmp(s->state, "running") == 0 && s->cursor[0] != '\0')
        json_object_set_new(j, "cursor", json_string(s->cursor));
    return j;
}

int grp_bc_preview_text(const struct grp_bc_preview *p, const char *lang, const char *text,
                        struct core_buf *out)
{
    const char *l = grp_bc_lang(lang);
    char members[24];
    char inwin[24];
    char cost[32];
    const char *args[5];

    snprintf(members, sizeof members, "%ld", p->reach.reach);
    snprintf(inwin, sizeof inwin, "%ld", p->reach.in_window);
    grp_bc_money(p->reach.cost, cost, sizeof cost);
    args[0] = strcmp(l, "en") == 0 ? p->reach.name_en : p->reach.name_hi;
    args[1] = members;
    args[2] = inwin;
    args[3] = cost;
    args[4] = text != NULL ? text : "";
    if (grp_bc_text(out, l, "bc.preview", args, 5) != 0)
        return -1;
    if (p->reach.estimated &&
        (core_buf_puts(out, "\n") != 0 ||
         grp_bc_text(out, l, "bc.preview_estimated", NULL, 0) != 0))
        return -1;
    return 0;
}

/* ======================= fan-out ======================= */

/* KEYS[1] job. ARGV now. confirmed -> running. Returns "started", or the
 * state found ("running": a resumed fan-out). */
static struct core_redis_script start_script = {
    "bc_start",
    "local st = redis.call('HGET', KEYS[1], 'st')\n"
    "if st == 'confirmed' then\n"
    "  redis.call('HSET', KEYS[1], 'st', 'running', 'rt', ARGV[1])\n"
    "  return 'started'\n"
    "end\n"
    "return st or 'missing'\n",
    ""};

/*
 * KEYS[1] job, KEYS[2] its set of handled members. ARGV[1] = number of
 * active members A, then A active and then the skipped members' 16-byte
 * ids. Only while running: each member not yet in the set counts once as
 * queued or skipped (and targeted). Returns {queued, skipped} newly
 * counted, or -1 when not running. (SADD in slices: Lua's unpack limit.)
 */
static struct core_redis_script mark_script = {
    "bc_mark",
    "if redis.call('HGET', KEYS[1], 'st') ~= 'running' then return -1 end\n"
    "local function add(from, to)\n"
    "  local n = 0\n"
    "  while from <= to do\n"
    "    local last = math.min(from + 3999, to)\n"
    "    n = n + redis.call('SADD', KEYS[2], unpack(ARGV, from, last))\n"
    "    from = last + 1\n"
    "  end\n"
    "  return n\n"
    "end\n"
    "local a = tonumber(ARGV[1])\n"
    "local q = add(2, a + 1)\n"
    "local s = add(a + 2, #ARGV)\n"
    "if q + s > 0 then\n"
    "  redis.call('HINCRBY', KEYS[1], 'queued', q)\n"
    "  redis.call('HINCRBY', KEYS[1], 'skipped', s)\n"
    "  redis.call('HINCRBY', KEYS[1], 'targeted', q + s)\n"
    "end\n"
    "return {q, s}\n",
    ""};

/* KEYS[1] job, KEYS[2] lease. ARGV owner, lease ms, locality, scan cursor.
 * Saves the cursor and renews the lease if we still hold it (1), else 0. */
static struct core_redis_script cursor_script = {
    "bc_cursor",
    "if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end\n"
    "redis.call('PEXPIRE', KEYS[2], ARGV[2])\n"
    "redis.call('HSET', KEYS[1], 'cl', ARGV[3], 'cc', ARGV[4])\n"
    "return 1\n",
    ""};

/* KEYS[1] job, KEYS[2] handled set. ARGV now. running -> sending. */
static struct core_redis_script finish_script = {
    "bc_finish",
    "if redis.call('HGET', KEYS[1], 'st') ~= 'running' then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'st', 'sending', 'ft', ARGV[1])\n"
    "redis.call('DEL', KEYS[2])\n"
    "return 1\n",
    ""};

/* KEYS[1] lease. ARGV owner. */
static struct core_redis_script release_script = {
    "bc_release",
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n",
    ""};

/* KEYS[1] job, KEYS[2] handled set. ARGV now, sent to officer (0/1).
 * Records the final report once: 1 when this call did. */
static struct core_redis_script report_script = {
    "bc_report",
    "if redis.call('HEXISTS', KEYS[1], 'rep') == 1 then return 0 end\n"
    "local st = redis.call('HGET', KEYS[1], 'st')\n"
    "if st ~= 'sending' and st ~= 'cancelled' then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'rep', ARGV[1], 'dt', ARGV[1], 'rsent', ARGV[2])\n"
    "if st == 'sending' then redis.call('HSET', KEYS[1], 'st', 'done') end\n"
    "redis.call('DEL', KEYS[2])\n"
    "return 1\n",
    ""};

/* A job as the worker needs it. */
struct job {
    char id[GRP_BC_ID_LEN];
    char st[16];
    char scope[GRP_CODE_MAX + 1];
    enum grp_kind kind;
    char en[GRP_NAME_MAX + 1];
    char hi[GRP_NAME_MAX + 1];
    char type[12];
    char tpl[GRP_BC_TEMPLATE_MAX + 1];
    char lang[4];
    char num[48];
    char bym[CRY_MID_LEN];
    char cl[GRP_CODE_MAX + 1]; /* cursor: locality */
    char cc[32];               /* cursor: HSCAN cursor, "-" = locality done */
    unsigned char *msg;        /* sealed content (owned) */
    size_t msg_len;
    long long queued, sent, failed, delivered, read;
    int64_t exp, ft, xt;
    int has_rep;
};

static void job_cleanup(struct job *j)
{
    free(j->msg);
    j->msg = NULL;
}

/* 1 loaded, 0 no such job, -1 error. */
static int load_job(struct core_redis *r, const char *id, struct job *j, struct core_err *err)
{
    char key[64];
    char kind[16] = "";
    redisReply *rep;

    memset(j, 0, sizeof *j);
    job_key(id, key, sizeof key);
    if (core_redis_cmdf(r, &rep, err, "HGETALL %s", key) != 0)
        return -1;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) {
        freeReplyObject(rep);
        return 0;
    }
    snprintf(j->id, sizeof j->id, "%s", id);
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        const char *k = rep->element[i]->str;
        const redisReply *v = rep->element[i + 1];

        if (strcmp(k, "st") == 0)
            str_of(j->st, sizeof j->st, v);
        else if (strcmp(k, "scope") == 0)
            str_of(j->scope, sizeof j->scope, v);
        else if (strcmp(k, "sk") == 0)
            str_of(kind, sizeof kind, v);
        else if (strcmp(k, "en") == 0)
            str_of(j->en, sizeof j->en, v);
        else if (strcmp(k, "hi") == 0)
            str_of(j->hi, sizeof j->hi, v);
        else if (strcmp(k, "ty") == 0)
            str_of(j->type, sizeof j->type, v);
        else if (strcmp(k, "tpl") == 0)
            str_of(j->tpl, sizeof j->tpl, v);
        else if (strcmp(k, "lang") == 0)
            str_of(j->lang, sizeof j->lang, v);
        else if (strcmp(k, "num") == 0)
            str_of(j->num, sizeof j->num, v);
        else if (strcmp(k, "bym") == 0)
            str_of(j->bym, sizeof j->bym, v);
        else if (strcmp(k, "cl") == 0)
            str_of(j->cl, sizeof j->cl, v);
        else if (strcmp(k, "cc") == 0)
            str_of(j->cc, sizeof j->cc, v);
        else if (strcmp(k, "msg") == 0 && v->type == REDIS_REPLY_STRING) {
            j->msg = core_memdup(v->str, v->len);
            j->msg_len = v->len;
        } else if (strcmp(k, "queued") == 0)
            j->queued = num_of(v);
        else if (strcmp(k, "sent") == 0)
            j->sent = num_of(v);
        else if (strcmp(k, "failed") == 0)
            j->failed = num_of(v);
        else if (strcmp(k, "delivered") == 0)
            j->delivered = num_of(v);
        else if (strcmp(k, "read") == 0)
            j->read = num_of(v);
        else if (strcmp(k, "exp") == 0)
            j->exp = num_of(v);
        else if (strcmp(k, "ft") == 0)
            j->ft = num_of(v);
        else if (strcmp(k, "xt") == 0)
            j->xt = num_of(v);
        else if (strcmp(k, "rep") == 0)
            j->has_rep = 1;
    }
    freeReplyObject(rep);
    if (grp_kind_parse(kind, &j->kind) != 0 || j->scope[0] == '\0' || j->num[0] == '\0') {
        job_cleanup(j);
        return core_err_set(err, CORE_EX_DATAERR, "broadcast %s: damaged job record", id);
    }
    return 1;
}

static json_t *template_msg(const char *name, const char *lang, const char *const *params,
                            size_t n)
{
    json_t *t = json_pack("{s:s,s:{s:s}}", "name", name, "language", "code", lang);

    if (n > 0) {
        json_t *ps = json_array();

        for (size_t i = 0; i < n; i++)
            json_array_append_new(ps, json_pack("{s:s,s:s}", "type", "text", "text", params[i]));
        json_object_set_new(t, "components",
                            json_pack("[{s:s,s:o}]", "type", "body", "parameters", ps));
    }
    return json_pack("{s:s,s:o}", "type", "template", "template", t);
}

/* The messages of a job per member language (index 0 hi, 1 en). */
struct content {
    json_t *msg[2];
    json_t *fb[2];
};

static void content_free(struct content *c)
{
    for (int i = 0; i < 2; i++) {
        json_decref(c->msg[i]);
        json_decref(c->fb[i]);
        c->msg[i] = NULL;
        c->fb[i] = NULL;
    }
}

static int build_content(struct grp_bc *bc, const struct job *j, struct content *c,
                         struct core_err *err)
{
    size_t cap = cry_vault_open_size(j->msg_len);
    unsigned char *plain = core_malloc(cap + 1);
    size_t pl = 0;
    json_t *doc = NULL;
    int rc = -1;

    memset(c, 0, sizeof *c);
    if (j->msg == NULL ||
        cry_vault_open(bc->keys, CRY_VAULT_PII, j->id, "bc", j->msg, j->msg_len, plain, cap, &pl,
                       err) != 0)
        goto out;
    doc = json_loadb((const char *)plain, pl, 0, NULL);
    if (!json_is_object(doc)) {
        core_err_set(err, CORE_EX_DATAERR, "broadcast %s: content is not JSON", j->id);
        goto out;
    }
    for (int l = 0; l < 2; l++) {
        const char *lang = l == 1 ? "en" : "hi";

        if (strcmp(j->type, "template") == 0) {
            json_t *ps = json_object_get(doc, "params");
            const char *params[GRP_BC_MAX_PARAMS];
            size_t n = 0;
            size_t i;
            json_t *p;

            json_array_foreach(ps, i, p)
            {
                if (n < GRP_BC_MAX_PARAMS && json_is_string(p))
                    params[n++] = json_string_value(p);
            }
            c->msg[l] = template_msg(j->tpl, j->lang[0] != '\0' ? j->lang : lang, params, n);
        } else {
            const char *all = json_string_value(json_object_get(doc, "text"));
            const char *hi = json_string_value(json_object_get(doc, "text_hi"));
            const char *en = json_string_value(json_object_get(doc, "text_en"));
            const char *t = all != NULL ? all : l == 1 ? (en != NULL ? en : hi)
                                                       : (hi != NULL ? hi : en);
            const char *unit = l == 1 ? j->en : j->hi;
            const char *args[2] = {unit, t};
            const char *tparams[2];
            struct core_buf body;
            char *flat;

            if (t == NULL) {
                core_err_set(err, CORE_EX_DATAERR, "broadcast %s: no text", j->id);
                goto out;
            }
            core_buf_init(&body, 0);
            grp_bc_text(&body, lang, "bc.alert", args, 2);
            c->msg[l] = json_pack("{s:s,s:{s:s,s:b}}", "type", "text", "text", "body",
                                  core_buf_str(&body), "preview_url", 0);
            core_buf_cleanup(&body);
            flat = grp_text_one_line(t, 0);
            tparams[0] = unit;
            tparams[1] = flat;
            c->fb[l] = template_msg(j->tpl, lang, tparams, 2);
            free(flat);
        }
    }
    rc = 0;
out:
    json_decref(doc);
    sodium_memzero(plain, cap);
    free(plain);
    if (rc != 0)
        content_free(c);
    return rc;
}

/*
 * The text of a text broadcast, for the ALERT conversation's area picker
 * (groups/alertflow.c), which prepares the same text for a smaller area.
 */
enum grp_bc_rc grp_bc_draft_text(struct grp_bc *bc, struct core_redis *r,
                                 const struct grp_bc_actor *who, const char *id, char **text,
                                 struct core_err *err)
{
    struct job j;
    size_t cap;
    unsigned char *plain;
    size_t pl = 0;
    json_t *doc = NULL;
    const char *t;
    enum grp_bc_rc rc = GRP_BC_EFAIL;
    int found;

    *text = NULL;
    if (!grp_bc_id_ok(id)) {
        core_err_set(err, CORE_EX_NOINPUT, "no such broadcast");
        return GRP_BC_ENOTFOUND;
    }
    found = load_job(r, id, &j, err);
    if (found < 0)
        return GRP_BC_EFAIL;
    if (found == 0) {
        core_err_set(err, CORE_EX_NOINPUT, "no such broadcast: %s", id);
        return GRP_BC_ENOTFOUND;
    }
    rc = may_act(r, who, j.scope, j.bym, err);
    if (rc != GRP_BC_OK) {
        job_cleanup(&j);
        return rc;
    }
    rc = GRP_BC_EFAIL;
    cap = cry_vault_open_size(j.msg_len);
    plain = core_malloc(cap + 1);
    if (j.msg == NULL ||
        cry_vault_open(bc->keys, CRY_VAULT_PII, j.id, "bc", j.msg, j.msg_len, plain, cap, &pl,
                       err) != 0)
        goto out;
    doc = json_loadb((const char *)plain, pl, 0, NULL);
    t = json_string_value(json_object_get(doc, "text"));
    if (strcmp(j.type, "text") != 0 || t == NULL) {
        rc = invalid(err, "not a broadcast with one text");
        goto out;
    }
    *text = core_strdup(t);
    rc = GRP_BC_OK;
out:
    json_decref(doc);
    sodium_memzero(plain, cap);
    free(plain);
    job_cleanup(&j);
    return rc;
}

/* Why a fan-out stopped before the end. */
enum stop_why { RUN_DONE = 0, RUN_CANCELLED, RUN_LEASE_LOST, RUN_STOPPING, RUN_CRASH_HOOK };

struct run {
    struct grp_bc *bc;
    struct core_redis *r;
    struct job *job;
    struct content content;
    const char *owner;
    const atomic_bool *stop;
    char key[64];
    char qkey[64];
    char lkey[64];
    long batches;
};

/* Handle the members of one batch: count them once, queue the active. */
static int process_batch(struct run *u, struct strv *mids, enum stop_why *why,
                         struct core_err *err)
{
    struct mstate *st = core_calloc(mids->n + 1, sizeof *st);
    const char **argv = core_calloc(mids->n + 4, sizeof *argv);
    size_t *lens = core_calloc(mids->n + 4, sizeof *lens);
    unsigned char(*bin)[CRY_MID_BYTES] = core_calloc(mids->n + 1, sizeof *bin);
    int *ok = core_calloc(mids->n + 1, sizeof *ok);
    struct gw_outmsg *msgs = core_calloc(mids->n + 1, sizeof *msgs);
    char(*keys)[80] = core_calloc(mids->n + 1, sizeof *keys);
    char n_active[24];
    size_t nm = 0;
    int argc = 3;
    int rc = -1;
    redisReply *rep = NULL;

    if (read_members(u->r, mids->v, mids->n, st, err) != 0)
        goto out;
    argv[0] = u->key;
    argv[1] = u->qkey;
    argv[2] = n_active;
    lens[0] = strlen(u->key);
    lens[1] = strlen(u->qkey);
    for (size_t i = 0; i < mids->n; i++) {
        ok[i] = cry_identity_is_mid(mids->v[i]) &&
                sodium_hex2bin(bin[i], CRY_MID_BYTES, mids->v[i], CRY_MID_LEN - 1, NULL, NULL,
                               NULL) == 0;
        if (!ok[i] || !st[i].active)
            continue;
        argv[argc] = (const char *)bin[i];
        lens[argc++] = CRY_MID_BYTES;
        snprintf(keys[nm], sizeof keys[nm], "bc:%s:%s", u->job->id, mids->v[i]);
        msgs[nm].key = keys[nm];
        msgs[nm].number = u->job->num;
        msgs[nm].lane = GW_LANE_ALERT;
        msgs[nm].mid = mids->v[i];
        msgs[nm].message = u->content.msg[st[i].en];
        msgs[nm].fallback = u->content.fb[st[i].en];
        msgs[nm].broadcast = u->job->id;
        nm++;
    }
    snprintf(n_active, sizeof n_active, "%zu", nm);
    lens[2] = strlen(n_active);
    for (size_t i = 0; i < mids->n; i++) {
        if (ok[i] && !st[i].active) {
            argv[argc] = (const char *)bin[i];
            lens[argc++] = CRY_MID_BYTES;
        }
    }
    if (argc > 3) {
        /* count first: a repeat of this batch after a crash counts nothing twice */
        if (core_redis_eval(u->r, &mark_script, 2, argc, argv, lens, &rep, err) != 0)
            goto out;
        if (rep->type == REDIS_REPLY_INTEGER && rep->integer < 0) {
            *why = RUN_CANCELLED;
            rc = 0;
            goto out;
        }
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
            core_metric_add(&m_queued, rep->element[0]->integer);
            core_metric_add(&m_skipped, rep->element[1]->integer);
        }
    }
    /* then queue every active member of the batch: keys bc:<BID>:<MID> make
     * the ones queued before a crash no-ops */
    if (nm > 0 && gw_outbox_enqueue_batch(u->r, u->bc->keys, msgs, nm, NULL, NULL, err) != 0)
        goto out;
    core_metric_inc(&m_batches);
    rc = 0;
out:
    if (rep != NULL)
        freeReplyObject(rep);
    free(st);
    free(argv);
    free(lens);
    free(bin);
    free(ok);
    free(msgs);
    free(keys);
    return rc;
}

static int save_cursor(struct run *u, const char *cl, const char *cc, int *held,
                       struct core_err *err)
{
    char ms[24];
    const char *argv[6];
    redisReply *rep;

    snprintf(ms, sizeof ms, "%d", u->bc->lease_ms);
    argv[0] = u->key;
    argv[1] = u->lkey;
    argv[2] = u->owner;
    argv[3] = ms;
    argv[4] = cl;
    argv[5] = cc;
    if (core_redis_eval(u->r, &cursor_script, 2, 6, argv, NULL, &rep, err) != 0)
        return -1;
    *held = core_redis_int(rep) == 1;
    freeReplyObject(rep);
    snprintf(u->job->cl, sizeof u->job->cl, "%s", cl);
    snprintf(u->job->cc, sizeof u->job->cc, "%s", cc);
    return 0;
}

/*
 * Walk the localities from the saved cursor. Small localities are read
 * together (HKEYS, up to `batch` members and UNIT_BATCH sets per
 * batch); big ones in steps of HSCAN. After each batch the cursor (the
 * locality, and the HSCAN cursor inside it or "-" when it is done) is saved
 * with the lease renewed.
 */
static int fan_out(struct run *u, enum stop_why *why, struct core_err *err)
{
    struct grp_bc *bc = u->bc;
    struct job *j = u->job;
    struct strv locs;
    struct strv mids = {0};
    long *sizes = NULL;
    long big = (long)bc->batch * BIG_LOCALITY_FACTOR;
    char scan[32] = "0";
    size_t i = 0;
    int rc = -1;

    *why = RUN_DONE;
    if (collect_localities(u->r, j->scope, j->kind, &locs, err) != 0)
        return -1;
    sizes = core_calloc(locs.n + 1, sizeof *sizes);
    if (locality_sizes(u->r, &locs, sizes, err) != 0)
        goto out;
    if (j->cl[0] != '\0') {
        while (i < locs.n && strcmp(locs.v[i], j->cl) < 0)
            i++;
        if (i < locs.n && strcmp(locs.v[i], j->cl) == 0) {
            if (strcmp(j->cc, "-") == 0)
                i++;
            else if (j->cc[0] != '\0')
                snprintf(scan, sizeof scan, "%s", j->cc);
        }
    }
    while (i < locs.n) {
        char next_cl[GRP_CODE_MAX + 1];
        char next_cc[32];
        size_t next_i;
        int held = 0;
        long crash;

        if (u->stop != NULL && atomic_load(u->stop)) {
            *why = RUN_STOPPING;
            break;
        }
        if (sizes[i] > big || strcmp(scan, "0") != 0) {
            char key[GRP_CODE_MAX + 16];
            char count[16];
            redisReply *rep;

            member_set_key(locs.v[i], key, sizeof key);
            snprintf(count, sizeof count, "%d", bc->batch);
            if (core_redis_cmdf(u->r, &rep, err, "HSCAN %s %s COUNT %s", key, scan, count) != 0)
                goto out;
            if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
                rep->element[0]->type == REDIS_REPLY_STRING) {
                const redisReply *els = rep->element[1];

                snprintf(scan, sizeof scan, "%s", rep->element[0]->str);
                /* field, value pairs: the fields are the binary mids */
                for (size_t e = 0; e + 1 < els->elements; e += 2) {
                    char mid[CRY_MID_LEN];

                    if (grp_member_mid_from_set(els->element[e], mid) == 0)
                        strv_push(&mids, mid, CRY_MID_LEN - 1);
                }
            } else {
                snprintf(scan, sizeof scan, "0");
            }
            freeReplyObject(rep);
            snprintf(next_cl, sizeof next_cl, "%s", locs.v[i]);
            if (strcmp(scan, "0") == 0) {
                snprintf(next_cc, sizeof next_cc, "-");
                next_i = i + 1;
            } else {
                snprintf(next_cc, sizeof next_cc, "%s", scan);
                next_i = i;
            }
        } else {
            size_t end = i;
            long total = 0;

            while (end < locs.n && end - i < UNIT_BATCH && sizes[end] <= big &&
                   (end == i || total + sizes[end] <= bc->batch)) {
                total += sizes[end];
                end++;
            }
            if (fetch_members(u->r, &locs, i, end, NULL, &mids, err) != 0)
                goto out;
            snprintf(next_cl, sizeof next_cl, "%s", locs.v[end - 1]);
            snprintf(next_cc, sizeof next_cc, "-");
            next_i = end;
        }
        if (mids.n > 0) {
            if (process_batch(u, &mids, why, err) != 0)
                goto out;
            strv_free(&mids);
            if (*why == RUN_CANCELLED)
                break;
            u->batches++;
            crash = atomic_load(&bc->crash_after);
            if (crash > 0 && u->batches == crash) {
                *why = RUN_CRASH_HOOK; /* as if killed before the cursor was saved */
                break;
            }
        }
        if (save_cursor(u, next_cl, next_cc, &held, err) != 0)
            goto out;
        if (!held) {
            *why = RUN_LEASE_LOST;
            break;
        }
        i = next_i;
        if (bc->batch_pause_ms > 0 && i < locs.n)
            core_sleep_ms(bc->batch_pause_ms);
    }
    rc = 0;
out:
    strv_free(&mids);
    strv_free(&locs);
    free(sizes);
    return rc;
}

/* ======================= report ======================= */

static int make_report(struct grp_bc *bc, struct core_redis *r, const struct job *j,
                       struct core_err *err)
{
    char key[64];
    char qkey[64];
    char now[32];
    const char *argv[4];
    redisReply *rep;
    int sent = 0;
    int won;

    if (j->bym[0] != '\0' && j->queued > 0) {
        const char *lang = member_lang(r, j->bym);
        int en = strcmp(lang, "en") == 0;
        char nums[5][24];
        const char *args[7];
        struct core_buf text;
        char okey[64];
        char *flat;
        json_t *msg;
        json_t *fb;
        const char *fparams[1];
        struct gw_outmsg m;

        snprintf(nums[0], sizeof nums[0], "%lld", j->queued);
        snprintf(nums[1], sizeof nums[1], "%lld", j->sent);
        snprintf(nums[2], sizeof nums[2], "%lld", j->delivered);
        snprintf(nums[3], sizeof nums[3], "%lld", j->read);
        snprintf(nums[4], sizeof nums[4], "%lld", j->failed);
        args[0] = j->id;
        args[1] = en ? j->en : j->hi;
        for (int i = 0; i < 5; i++)
            args[2 + i] = nums[i];
        core_buf_init(&text, 0);
        grp_bc_text(&text, lang, strcmp(j->st, "cancelled") == 0 ? "bc.report_cancelled"
                                                                  : "bc.report",
                    args, 7);
        msg = json_pack("{s:s,s:{s:s,s:b}}", "type", "text", "text", "body",
                        core_buf_str(&text), "preview_url", 0);
        flat = grp_text_one_line(core_buf_str(&text), 0);
        fparams[0] = flat;
        fb = template_msg(bc->report_template, lang, fparams, 1);
        snprintf(okey, sizeof okey, "bcr:%s", j->id);
        memset(&m, 0, sizeof m);
        m.key = okey;
        m.number = j->num;
        m.lane = GW_LANE_REPLY;
        m.mid = j->bym;
        m.message = msg;
        m.fallback = fb;
        /* queued before the report is recorded: a crash in between queues
         * it again under the same key, which is a no-op */
        sent = gw_outbox_enqueue(r, bc->keys, &m, NULL, err) == 0;
        json_decref(msg);
        json_decref(fb);
        free(flat);
        core_buf_cleanup(&text);
        if (!sent)
            return -1;
    }
    job_key(j->id, key, sizeof key);
    job_subkey(j->id, "q", qkey, sizeof qkey);
    snprintf(now, sizeof now, "%lld", (long long)core_now_ms());
    argv[0] = key;
    argv[1] = qkey;
    argv[2] = now;
    argv[3] = sent ? "1" : "0";
    if (core_redis_eval(r, &report_script, 2, 4, argv, NULL, &rep, err) != 0)
        return -1;
    won = core_redis_int(rep) == 1;
    freeReplyObject(rep);
    if (won) {
        char reason[200];

        core_metric_inc(&m_reported);
        snprintf(reason, sizeof reason,
                 "state=%s queued=%lld sent=%lld delivered=%lld read=%lld failed=%lld "
                 "report_to_officer=%s",
                 j->st, j->queued, j->sent, j->delivered, j->read, j->failed, sent ? "yes" : "no");
        audit(bc, r, NULL, "broadcast.finish", j->id, reason);
        core_log_kv(CORE_LOG_INFO, "broadcast", j->id, "broadcast finished",
                    json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:b}", "state", j->st, "queued",
                              (json_int_t)j->queued, "sent", (json_int_t)j->sent, "delivered",
                              (json_int_t)j->delivered, "read", (json_int_t)j->read, "failed",
                              (json_int_t)j->failed, "report_sent", sent));
    }
    return 0;
}

/* ======================= the worker ======================= */

static int live_set(struct core_redis *r, const char *id, int64_t due, struct core_err *err)
{
    return core_redis_cmdf(r, NULL, err, "ZADD " GRP_BC_LIVE_KEY " %lld %s", (long long)due, id);
}

static int live_remove(struct core_redis *r, const char *id, struct core_err *err)
{
    return core_redis_cmdf(r, NULL, err, "ZREM " GRP_BC_LIVE_KEY " %s", id);
}

static int release(struct core_redis *r, const char *lkey, const char *owner,
                   struct core_err *err)
{
    const char *argv[2] = {lkey, owner};
    redisReply *rep;

    if (core_redis_eval(r, &release_script, 1, 2, argv, NULL, &rep, err) != 0)
        return -1;
    freeReplyObject(rep);
    return 0;
}

/* Work on job `id` while holding its lease. Returns 0 or -1; *keep_lease
 * is set when the lease must not be released (crash hook). */
static int handle(struct grp_bc *bc, struct core_redis *r, const char *id, const char *owner,
                  const atomic_bool *stop, int *keep_lease, struct core_err *err)
{
    struct job j;
    int64_t now = core_now_ms();
    int found = load_job(r, id, &j, err);
    int rc = -1;

    *keep_lease = 0;
    if (found < 0) {
        if (err->code == CORE_EX_DATAERR) {
            core_log_error("broadcast", id, "%s; dropped from the schedule", err->msg);
            return live_remove(r, id, err);
        }
        return -1;
    }
    if (found == 0)
        return live_remove(r, id, err);
    if (strcmp(j.st, "draft") == 0) {
        rc = j.exp < now ? live_remove(r, id, err) : live_set(r, id, now + DRAFT_RECHECK_MS, err);
    } else if (strcmp(j.st, "confirmed") == 0 || strcmp(j.st, "running") == 0) {
        struct run u;
        enum stop_why why = RUN_DONE;
        char res[16];
        const char *argv[2];
        char nows[32];
        redisReply *rep;

        memset(&u, 0, sizeof u);
        u.bc = bc;
        u.r = r;
        u.job = &j;
        u.owner = owner;
        u.stop = stop;
        job_key(id, u.key, sizeof u.key);
        job_subkey(id, "q", u.qkey, sizeof u.qkey);
        job_subkey(id, "lease", u.lkey, sizeof u.lkey);
        snprintf(nows, sizeof nows, "%lld", (long long)now);
        argv[0] = u.key;
        argv[1] = nows;
        if (core_redis_eval(r, &start_script, 1, 2, argv, NULL, &rep, err) != 0)
            goto out;
        snprintf(res, sizeof res, "%s", rep->type == REDIS_REPLY_STRING ? rep->str : "?");
        freeReplyObject(rep);
        if (strcmp(res, "started") != 0 && strcmp(res, "running") != 0) {
            rc = live_set(r, id, now, err); /* changed meanwhile: look again */
            goto out;
        }
        if (strcmp(res, "running") == 0) {
            core_metric_inc(&m_resumed);
            core_log_info("broadcast", id, "resuming the fan-out after %s/%s", j.cl, j.cc);
        }
        if (build_content(bc, &j, &u.content, err) != 0)
            goto out;
        rc = fan_out(&u, &why, err);
        content_free(&u.content);
        if (rc != 0)
            goto out;
        switch (why) {
        case RUN_DONE: {
            const char *fargv[3] = {u.key, u.qkey, nows};

            snprintf(nows, sizeof nows, "%lld", (long long)core_now_ms());
            rc = core_redis_eval(r, &finish_script, 2, 3, fargv, NULL, &rep, err);
            if (rc != 0)
                goto out;
            if (core_redis_int(rep) == 1) {
                core_metric_inc(&m_fanned);
                core_log_info("broadcast", id, "fan-out finished in %ld batch(es)", u.batches);
            }
            freeReplyObject(rep);
            rc = live_set(r, id, core_now_ms(), err);
            break;
        }
        case RUN_CANCELLED:
            rc = live_set(r, id, core_now_ms(), err);
            break;
        case RUN_CRASH_HOOK:
            *keep_lease = 1;
            break;
        case RUN_LEASE_LOST:
            core_log_warn("broadcast", id, "lease lost: another worker continues the fan-out");
            *keep_lease = 1; /* not ours to release */
            break;
        case RUN_STOPPING:
            break; /* stays due in js:bcs:live; the next worker resumes */
        }
    } else if (strcmp(j.st, "sending") == 0 || strcmp(j.st, "cancelled") == 0) {
        int64_t base = j.ft > 0 ? j.ft : j.xt;

        if (j.has_rep) {
            rc = live_remove(r, id, err);
        } else if (j.queued == 0 || j.sent + j.failed >= j.queued ||
                   now >= base + (int64_t)bc->report_after_s * 1000) {
            rc = make_report(bc, r, &j, err);
            if (rc == 0)
                rc = live_remove(r, id, err);
        } else {
            rc = live_set(r, id, now + SENDING_RECHECK_MS, err);
        }
    } else {
        rc = live_remove(r, id, err); /* done */
    }
out:
    job_cleanup(&j);
    return rc;
}

static int work_once(struct grp_bc *bc, struct core_redis *r, const char *owner,
                     const atomic_bool *stop, int *did, struct core_err *err)
{
    redisReply *rep;
    struct strv due = {0};
    char now[32];
    char ms[24];
    int rc = 0;

    if (did != NULL)
        *did = 0;
    snprintf(now, sizeof now, "%lld", (long long)core_now_ms());
    if (core_redis_cmdf(r, &rep, err, "ZRANGEBYSCORE " GRP_BC_LIVE_KEY " -inf %s LIMIT 0 %d", now,
                        DUE_PER_PASS) != 0)
        return -1;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++)
        strv_push(&due, rep->element[i]->str, rep->element[i]->len);
    freeReplyObject(rep);
    snprintf(ms, sizeof ms, "%d", bc->lease_ms);
    for (size_t i = 0; i < due.n && rc == 0; i++) {
        char lkey[64];
        int got;
        int keep = 0;

        if (stop != NULL && atomic_load(stop))
            break;
        if (!grp_bc_id_ok(due.v[i])) {
            rc = live_remove(r, due.v[i], err);
            continue;
        }
        job_subkey(due.v[i], "lease", lkey, sizeof lkey);
        if (core_redis_cmdf(r, &rep, err, "SET %s %s NX PX %s", lkey, owner, ms) != 0) {
            rc = -1;
            break;
        }
        got = rep->type == REDIS_REPLY_STATUS;
        freeReplyObject(rep);
        if (!got)
            continue; /* another worker has it */
        if (did != NULL)
            (*did)++;
        rc = handle(bc, r, due.v[i], owner, stop, &keep, err);
        if (!keep) {
            struct core_err e2;

            if (release(r, lkey, owner, &e2) != 0 && rc == 0) {
                rc = -1;
                *err = e2;
            }
        }
        if (rc != 0)
            core_log_warn("broadcast", due.v[i], "%s (tried again later)", err->msg);
    }
    strv_free(&due);
    return rc;
}

int grp_bc_work_once(struct grp_bc *bc, struct core_redis *r, const char *owner, int *did,
                     struct core_err *err)
{
    return work_once(bc, r, owner, NULL, did, err);
}

struct grp_bc_worker {
    struct grp_bc *bc;
    struct core_redis *r;
    char owner[64];
    pthread_t thread;
    struct core_waiter wt; /* stop flag and pause */
};

static void *worker_main(void *arg)
{
    struct grp_bc_worker *w = arg;

    core_log_info("broadcast", NULL, "fan-out worker %s started", w->owner);
    while (!core_waiter_stopping(&w->wt)) {
        struct core_err err;
        int did = 0;
        int64_t pause = POLL_MS;

        core_err_clear(&err);
        if (work_once(w->bc, w->r, w->owner, &w->wt.stop, &did, &err) != 0)
            pause = 1000; /* Redis trouble: logged per job or below */
        if (err.code == CORE_EX_UNAVAILABLE)
            core_log_warn("broadcast", NULL, "worker: %s", err.msg);
        if (did > 0 && pause == POLL_MS)
            continue;
        core_waiter_pause(&w->wt, pause);
    }
    core_log_info("broadcast", NULL, "fan-out worker %s stopped", w->owner);
    return NULL;
}

struct grp_bc_worker *grp_bc_worker_start(struct grp_bc *bc, const struct core_redis_opts *ro,
                                          struct core_err *err)
{
    struct grp_bc_worker *w;
    char rnd[CORE_REQ_ID_LEN];

    if (bc->number == NULL) {
        core_err_set(err, CORE_EX_CONFIG,
                     "config: JANSEVA_PHONE_NUMBER_ID is not set (broadcasts are sent from it)");
        return NULL;
    }
    w = core_calloc(1, sizeof *w);
    w->bc = bc;
    w->r = core_redis_new(ro);
    core_req_id(rnd);
    snprintf(w->owner, sizeof w->owner, "%ld-%s", (long)getpid(), rnd);
    core_waiter_init(&w->wt);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        core_redis_free(w->r);
        core_waiter_cleanup(&w->wt);
        free(w);
        core_err_set(err, CORE_EX_SOFTWARE, "broadcast: cannot start the worker thread");
        return NULL;
    }
    return w;
}

void grp_bc_worker_stop(struct grp_bc_worker *w)
{
    if (w == NULL)
        return;
    core_waiter_stop(&w->wt);
    pthread_join(w->thread, NULL);
    core_redis_free(w->r);
    core_waiter_cleanup(&w->wt);
    free(w);
}
