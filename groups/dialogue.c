/*
 * groups/dialogue.c - the router handler "dialogue": keywords, the flow
 * registry, dispatch and the reply helpers (see dialogue.h).
 */
#include "groups/dialogue.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"
#include "gateway/outbox.h"
#include "groups/alertflow.h"
#include "groups/enrol.h"
#include "groups/post.h"
#include "groups/tipflow.h"
#include "moderation/norm.h"
#include "moderation/utf8.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================= the flow registry ======================= */

/*
 * The registry, in dispatch order: keywords go to each on_keyword() in this
 * order; "enrol" first (STOP must always work), "post" last. Add a flow by
 * adding its address here (docs/internals/groups.md, "Adding a flow").
 */
static const struct grp_flow *const flows[] = {
    &grp_enrol_flow,
    &grp_alertflow_flow,
    &grp_tipflow_flow,
    &grp_post_flow, /* last: takes everything an active member writes */
};

#define N_FLOWS (sizeof flows / sizeof flows[0])

size_t grp_dlg_flow_count(void)
{
    return N_FLOWS;
}

const struct grp_flow *grp_dlg_flow_at(size_t i)
{
    return i < N_FLOWS ? flows[i] : NULL;
}

const struct grp_flow *grp_dlg_flow(const char *name)
{
    for (size_t i = 0; i < N_FLOWS; i++) {
        if (name != NULL && strcmp(flows[i]->name, name) == 0)
            return flows[i];
    }
    return NULL;
}

/* ======================= metrics ======================= */

CORE_COUNTER(m_keyword, "janseva_dialogue_messages_total", "route=\"keyword\"",
             "messages handled by the dialogue, by what decided their handling");
CORE_COUNTER(m_reply, "janseva_dialogue_messages_total", "route=\"reply\"",
             "messages handled by the dialogue, by what decided their handling");
CORE_COUNTER(m_state, "janseva_dialogue_messages_total", "route=\"state\"",
             "messages handled by the dialogue, by what decided their handling");
CORE_COUNTER(m_other, "janseva_dialogue_messages_total", "route=\"other\"",
             "messages handled by the dialogue, by what decided their handling");
CORE_COUNTER(m_membership, "janseva_dialogue_messages_total", "route=\"membership\"",
             "messages handled by the dialogue, by what decided their handling");
CORE_COUNTER(m_unknown, "janseva_dialogue_messages_total", "route=\"unknown\"",
             "messages handled by the dialogue, by what decided their handling");
CORE_COUNTER(m_replies, "janseva_dialogue_replies_total", NULL,
             "replies queued by the dialogue (a replayed event queues none)");
CORE_COUNTER(m_failed, "janseva_dialogue_failures_total", NULL,
             "Messages the dialogue could not handle for a reason other than an outage (logged)");

void grp_dlg_metrics_init(void)
{
    core_metrics_register(&m_keyword);
    core_metrics_register(&m_failed);
    core_metrics_register(&m_reply);
    core_metrics_register(&m_state);
    core_metrics_register(&m_membership);
    core_metrics_register(&m_other);
    core_metrics_register(&m_unknown);
    core_metrics_register(&m_replies);
    grp_enrol_metrics_init();
    grp_tipflow_metrics_init();
    grp_alertflow_metrics_init();
}

/* ======================= keywords ======================= */

static const char *const kw_names[GRP_KW_COUNT] = {
    "",     "stop", "help",  "lang",   "join",  "move",
    "menu", "tip",  "alert", "report", "hindi", "english",
};

/* The words of groups/texts/words.tsv, normalised like every message. */
struct kw_word {
    enum grp_keyword kw;
    char *norm;
};

struct word_list {
    char **w;
    size_t n;
};

static struct kw_word *kw_words;
static size_t n_kw_words;
static struct word_list yes_words;
static struct word_list no_words;
static struct word_list pin_words;
static struct word_list done_words;
static pthread_once_t kw_once = PTHREAD_ONCE_INIT;

/*
 * The matching form of a short message: normalised (moderation/norm.h),
 * then anything that is not part of a word trimmed from both ends. Writes
 * at most `cap` bytes; returns 0, or -1 when it does not fit (too long to
 * be a keyword).
 */
static int short_form(struct mod_norm *n, const char *text, size_t len, char *out, size_t cap)
{
    const char *k;
    size_t kl;
    size_t a = 0;
    size_t b;

    if (len > 4 * GRP_DLG_KEYWORD_MAX)
        return -1;
    mod_norm_run(n, text, len);
    k = n->key;
    kl = n->len;
    /* leading non-word code points */
    while (a < kl) {
        int32_t c;
        size_t step = mod_utf8_next(k + a, kl - a, &c);

        if (mod_norm_is_word_cp(c))
            break;
        a += step;
    }
    /* trailing: find the end of the last word */
    b = a;
    for (size_t i = a; i < kl;) {
        int32_t c;
        size_t step = mod_utf8_next(k + i, kl - i, &c);

        i += step;
        if (mod_norm_is_word_cp(c))
            b = i;
    }
    if (b - a >= cap)
        return -1;
    memcpy(out, k + a, b - a);
    out[b - a] = '\0';
    return 0;
}

static char *norm_copy(struct mod_norm *n, const char *w)
{
    char buf[GRP_DLG_KEYWORD_MAX * 4];

    if (short_form(n, w, strlen(w), buf, sizeof buf) != 0)
        return core_strdup("");
    return core_strdup(buf);
}

static void list_add(struct word_list *l, char *w)
{
    l->w = core_realloc(l->w, (l->n + 1) * sizeof *l->w);
    l->w[l->n++] = w;
}

static void kw_add(void *ud, const char *kind, const char *word)
{
    struct mod_norm *n = ud;

    if (strcmp(kind, "yes") == 0) {
        list_add(&yes_words, norm_copy(n, word));
    } else if (strcmp(kind, "no") == 0) {
        list_add(&no_words, norm_copy(n, word));
    } else if (strcmp(kind, "pin") == 0) {
        list_add(&pin_words, norm_copy(n, word));
    } else if (strcmp(kind, "done") == 0) {
        list_add(&done_words, norm_copy(n, word));
    } else {
        for (int i = 1; i < GRP_KW_COUNT; i++) {
            if (strcmp(kind, kw_names[i]) != 0)
                continue;
            kw_words = core_realloc(kw_words, (n_kw_words + 1) * sizeof *kw_words);
            kw_words[n_kw_words].kw = (enum grp_keyword)i;
            kw_words[n_kw_words].norm = norm_copy(n, word);
            n_kw_words++;
        }
    }
}

static void kw_init(void)
{
    struct mod_norm n;

    mod_norm_init(&n);
    grp_text_words(kw_add, &n);
    mod_norm_cleanup(&n);
}

static int in_list(const struct word_list *l, const char *w, size_t n)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strlen(l->w[i]) == n && memcmp(l->w[i], w, n) == 0)
            return 1;
    }
    return 0;
}

const char *grp_keyword_name(enum grp_keyword kw)
{
    return (unsigned)kw < GRP_KW_COUNT ? kw_names[kw] : "";
}

enum grp_keyword grp_dlg_keyword(const char *text, size_t len)
{
    struct mod_norm n;
    char buf[GRP_DLG_KEYWORD_MAX * 4];
    enum grp_keyword kw = GRP_KW_NONE;
    int rc;

    if (text == NULL || len == 0)
        return GRP_KW_NONE;
    pthread_once(&kw_once, kw_init);
    mod_norm_init(&n);
    rc = short_form(&n, text, len, buf, sizeof buf);
    mod_norm_cleanup(&n);
    if (rc != 0 || buf[0] == '\0')
        return GRP_KW_NONE;
    for (size_t i = 0; i < n_kw_words; i++) {
        if (strcmp(buf, kw_words[i].norm) == 0) {
            kw = kw_words[i].kw;
            break;
        }
    }
    return kw;
}

/* Keywords that may lead a longer message. */
static int leads(enum grp_keyword kw)
{
    return kw == GRP_KW_ALERT;
}

static int is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

enum grp_keyword grp_dlg_keyword_lead(const char *text, size_t len, size_t *rest)
{
    size_t a = 0;
    size_t b;
    enum grp_keyword kw;

    if (text == NULL)
        return GRP_KW_NONE;
    while (a < len && is_space(text[a]))
        a++;
    b = a;
    while (b < len && !is_space(text[b]))
        b++;
    if (b == a || b - a > GRP_DLG_KEYWORD_MAX)
        return GRP_KW_NONE;
    kw = grp_dlg_keyword(text + a, b - a);
    if (!leads(kw))
        return GRP_KW_NONE;
    while (b < len && is_space(text[b]))
        b++;
    if (rest != NULL)
        *rest = b;
    return kw;
}

enum grp_keyword grp_dlg_keyword_id(const char *reply_id)
{
    if (reply_id == NULL || strncmp(reply_id, "kw:", 3) != 0)
        return GRP_KW_NONE;
    for (int i = 1; i < GRP_KW_COUNT; i++) {
        if (strcmp(reply_id + 3, kw_names[i]) == 0)
            return (enum grp_keyword)i;
    }
    return GRP_KW_NONE;
}

int grp_dlg_yes_no(const char *text, size_t len)
{
    struct mod_norm n;
    char buf[GRP_DLG_KEYWORD_MAX * 4];
    int rc;

    if (text == NULL || len == 0)
        return -1;
    pthread_once(&kw_once, kw_init);
    mod_norm_init(&n);
    rc = short_form(&n, text, len, buf, sizeof buf);
    mod_norm_cleanup(&n);
    if (rc != 0)
        return -1;
    if (in_list(&yes_words, buf, strlen(buf)))
        return 1;
    if (in_list(&no_words, buf, strlen(buf)))
        return 0;
    return -1;
}

int grp_dlg_done(const char *text, size_t len)
{
    struct mod_norm n;
    char buf[GRP_DLG_KEYWORD_MAX * 4];
    int rc;

    if (text == NULL || len == 0)
        return 0;
    pthread_once(&kw_once, kw_init);
    mod_norm_init(&n);
    rc = short_form(&n, text, len, buf, sizeof buf);
    mod_norm_cleanup(&n);
    return rc == 0 && buf[0] != '\0' && in_list(&done_words, buf, strlen(buf));
}

int grp_dlg_pincode(const char *text, size_t len, char pin[7])
{
    struct mod_norm n;
    char buf[GRP_DLG_KEYWORD_MAX * 4];
    char digits[8];
    size_t nd = 0;
    size_t i = 0;
    int ok = 1;

    pin[0] = '\0';
    if (text == NULL || len == 0)
        return 0;
    pthread_once(&kw_once, kw_init);
    mod_norm_init(&n);
    if (short_form(&n, text, len, buf, sizeof buf) != 0)
        ok = 0;
    mod_norm_cleanup(&n);
    /* words: digits (collected), or one of pin_words; anything else fails */
    while (ok && buf[i] != '\0') {
        size_t start = i;
        size_t w;
        int all_digits = 1;

        while (buf[i] != '\0' && buf[i] != ' ' && buf[i] != '-' && buf[i] != ':' && buf[i] != '.' &&
               buf[i] != ',')
            i++;
        w = i - start;
        for (size_t k = start; k < i; k++)
            all_digits &= buf[k] >= '0' && buf[k] <= '9';
        if (w > 0 && all_digits) {
            if (nd + w > 6)
                ok = 0;
            else {
                memcpy(digits + nd, buf + start, w);
                nd += w;
            }
        } else if (w > 0) {
            ok = in_list(&pin_words, buf + start, w);
        }
        while (buf[i] == ' ' || buf[i] == '-' || buf[i] == ':' || buf[i] == '.' || buf[i] == ',')
            i++;
    }
    if (!ok || nd != 6 || !grp_pincode_ok(digits, 6))
        return 0;
    memcpy(pin, digits, 6);
    pin[6] = '\0';
    return 1;
}

/* ======================= the dialogue ======================= */

struct grp_dialogue {
    struct grp_dlg_opts opts;
    const struct cry_keys *keys;
    struct cry_identity *identity;
    struct grp_lookup_cache *lookup;
    struct mod_engine *moderation;
    struct grp_posts *posts;
    struct grp_tip *tips;
    struct grp_bc *bc;
    pthread_t warm; /* builds the hierarchy index at start */
    int warm_started;
    struct core_redis_opts warm_redis;
};

void grp_dlg_opts_default(struct grp_dlg_opts *o)
{
    o->state_ttl_s = 1800;
    o->join_radius_km = 10;
    o->lookup_check_ms = 0;
}

void grp_dlg_opts_from_cfg(struct grp_dlg_opts *o, const struct core_cfg *cfg)
{
    grp_dlg_opts_default(o);
    if (cfg->dialogue_state_ttl_s > 0)
        o->state_ttl_s = cfg->dialogue_state_ttl_s;
    if (cfg->join_radius_km > 0)
        o->join_radius_km = cfg->join_radius_km;
}

struct grp_dialogue *grp_dlg_new(const struct grp_dlg_opts *o, const struct cry_keys *keys,
                                 struct cry_identity *identity)
{
    struct grp_dialogue *dlg = core_calloc(1, sizeof *dlg);

    if (o != NULL)
        dlg->opts = *o;
    else
        grp_dlg_opts_default(&dlg->opts);
    dlg->keys = keys;
    dlg->identity = identity;
    dlg->lookup = grp_lookup_cache_new(dlg->opts.lookup_check_ms);
    return dlg;
}

void grp_dlg_set_moderation(struct grp_dialogue *dlg, struct mod_engine *engine)
{
    dlg->moderation = engine;
}

void grp_dlg_set_posts(struct grp_dialogue *dlg, struct grp_posts *posts)
{
    dlg->posts = posts;
}

void grp_dlg_set_tips(struct grp_dialogue *dlg, struct grp_tip *tips)
{
    dlg->tips = tips;
}

void grp_dlg_set_broadcast(struct grp_dialogue *dlg, struct grp_bc *bc)
{
    dlg->bc = bc;
}

static void *warm_up(void *ud)
{
    struct grp_dialogue *dlg = ud;
    struct core_redis *r = core_redis_new(&dlg->warm_redis);
    struct core_err err;
    const struct grp_lookup *lk;

    core_err_clear(&err);
    lk = grp_lookup_cache_get(dlg->lookup, r, &err);
    if (lk == NULL)
        core_log_warn("dialogue", NULL,
                      "hierarchy index not built at start (%s); it will be "
                      "built on first use",
                      err.msg);
    grp_lookup_release(lk);
    core_redis_free(r);
    return NULL;
}

void grp_dlg_warm_up(struct grp_dialogue *dlg, const struct core_redis_opts *redis)
{
    if (dlg->warm_started)
        return;
    dlg->warm_redis = *redis;
    dlg->warm_started = pthread_create(&dlg->warm, NULL, warm_up, dlg) == 0;
}

void grp_dlg_free(struct grp_dialogue *dlg)
{
    if (dlg == NULL)
        return;
    if (dlg->warm_started)
        pthread_join(dlg->warm, NULL);
    grp_lookup_cache_free(dlg->lookup);
    free(dlg);
}

const struct grp_dlg_opts *grp_dlg_opts(const struct grp_dlg *d)
{
    return &d->dlg->opts;
}

const struct grp_lookup *grp_dlg_lookup(struct grp_dlg *d)
{
    struct core_err err;

    if (d->lookup == NULL) {
        core_err_clear(&err);
        d->lookup = grp_lookup_cache_get(d->dlg->lookup, d->redis, &err);
        if (d->lookup == NULL)
            core_log_warn("dialogue", d->ctx->req_id, "hierarchy index unavailable: %s", err.msg);
    }
    return d->lookup;
}

const struct cry_keys *grp_dlg_keys(const struct grp_dlg *d)
{
    return d->dlg->keys;
}

struct cry_identity *grp_dlg_identity(const struct grp_dlg *d)
{
    return d->dlg->identity;
}

struct mod_engine *grp_dlg_moderation(const struct grp_dlg *d)
{
    return d->dlg->moderation;
}

struct grp_posts *grp_dlg_posts(const struct grp_dlg *d)
{
    return d->dlg->posts;
}

struct grp_tip *grp_dlg_tips(const struct grp_dlg *d)
{
    return d->dlg->tips;
}

struct grp_bc *grp_dlg_broadcast(const struct grp_dlg *d)
{
    return d->dlg->bc;
}

/* ======================= per-event scratch ======================= */

struct grp_dlg_scratch {
    struct grp_dlg_scratch *next;
    char *s;
};

const char *grp_dlg_keep(struct grp_dlg *d, char *s)
{
    struct grp_dlg_scratch *x = core_malloc(sizeof *x);

    x->s = s;
    x->next = d->scratch;
    d->scratch = x;
    return s;
}

const char *grp_dlg_text(struct grp_dlg *d, const char *id, const char *const args[], size_t nargs)
{
    return grp_dlg_keep(d, grp_text_fmt(d->member.lang, id, args, nargs));
}

static void scratch_free(struct grp_dlg *d)
{
    while (d->scratch != NULL) {
        struct grp_dlg_scratch *next = d->scratch->next;

        free(d->scratch->s);
        free(d->scratch);
        d->scratch = next;
    }
}

/* ======================= message bodies ======================= */

static json_t *clipped(const char *s, size_t max)
{
    char *c = core_strdup(s != NULL ? s : "");
    json_t *j;

    grp_text_clip(c, max);
    j = json_string(c);
    if (j == NULL) /* not UTF-8: never from the catalogue; be safe */
        j = json_string("?");
    free(c);
    return j;
}

static int valid_id(const char *id, size_t max)
{
    return id != NULL && id[0] != '\0' && strlen(id) <= max;
}

json_t *grp_dlg_buttons_json(const char *body, const struct grp_dlg_option *buttons, size_t n)
{
    json_t *arr;
    json_t *msg;

    if (n == 0 || n > GRP_DLG_BUTTONS_MAX)
        return NULL;
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        if (!valid_id(buttons[i].id, GRP_DLG_BUTTON_ID_MAX))
            continue;
        json_array_append_new(arr, json_pack("{s:s,s:{s:s,s:o}}", "type", "reply", "reply", "id",
                                             buttons[i].id, "title",
                                             clipped(buttons[i].title, GRP_TEXT_BUTTON_MAX)));
    }
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return NULL;
    }
    msg = json_pack("{s:s,s:{s:s,s:{s:o},s:{s:o}}}", "type", "interactive", "interactive", "type",
                    "button", "body", "text", clipped(body, GRP_TEXT_BODY_MAX), "action", "buttons",
                    arr);
    return msg;
}

json_t *grp_dlg_list_json(const char *body, const char *button, const struct grp_dlg_option *rows,
                          size_t n)
{
    json_t *arr = json_array();
    json_t *msg;

    for (size_t i = 0; i < n && json_array_size(arr) < GRP_DLG_ROWS_MAX; i++) {
        json_t *row;
        int dup = 0;
        size_t k;
        json_t *e;

        if (!valid_id(rows[i].id, GRP_DLG_ROW_ID_MAX))
            continue;
        json_array_foreach(arr, k, e)
        {
            dup |= strcmp(json_string_value(json_object_get(e, "id")), rows[i].id) == 0;
        }
        if (dup)
            continue;
        row = json_pack("{s:s,s:o}", "id", rows[i].id, "title",
                        clipped(rows[i].title, GRP_TEXT_ROW_MAX));
        if (rows[i].desc != NULL && rows[i].desc[0] != '\0')
            json_object_set_new(row, "description", clipped(rows[i].desc, GRP_TEXT_DESC_MAX));
        json_array_append_new(arr, row);
    }
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return NULL;
    }
    msg = json_pack("{s:s,s:{s:s,s:{s:o},s:{s:o,s:[{s:o}]}}}", "type", "interactive", "interactive",
                    "type", "list", "body", "text", clipped(body, GRP_TEXT_LONG_MAX), "action",
                    "button", clipped(button, GRP_TEXT_BUTTON_MAX), "sections", "rows", arr);
    return msg;
}

void grp_dlg_page(size_t n, size_t offset, size_t *first, size_t *count, int *more)
{
    if (n == 0) {
        *first = *count = 0;
        *more = 0;
        return;
    }
    if (offset >= n) /* past the end: the last page */
        offset = n > GRP_DLG_ROWS_MAX ? ((n - 1) / GRP_DLG_PAGE) * GRP_DLG_PAGE : 0;
    *first = offset;
    if (n - offset <= GRP_DLG_ROWS_MAX) {
        *count = n - offset;
        *more = 0;
    } else {
        *count = GRP_DLG_PAGE;
        *more = 1;
    }
}

/* ======================= replies ======================= */

int grp_dlg_reply_json(struct grp_dlg *d, json_t *message)
{
    char key[GW_OUT_KEY_MAX + 1];
    struct gw_outmsg m;
    int dup = 0;
    int rc;

    if (message == NULL)
        return core_err_set(d->err, CORE_EX_SOFTWARE, "dialogue: empty reply");
    if (d->ev->phone_number_id == NULL || d->ev->phone_number_id[0] == '\0') {
        json_decref(message);
        core_log_warn("dialogue", d->ctx->req_id, "event %s: no business number to reply from",
                      d->ctx->event_key);
        return 0;
    }
    snprintf(key, sizeof key, "r:%s:%d", d->ctx->event_key, d->n_replies);
    memset(&m, 0, sizeof m);
    m.key = key;
    m.number = d->ev->phone_number_id;
    m.lane = GW_LANE_REPLY;
    m.mid = d->ctx->member_id;
    m.message = message;
    rc = gw_outbox_enqueue(d->redis, d->dlg->keys, &m, &dup, d->err);
    json_decref(message);
    if (rc != 0) {
        if (d->err->code == CORE_EX_DATAERR) {
            /* a bug, not a transient failure: say so, do not retry forever */
            core_log_error("dialogue", d->ctx->req_id, "event %s: reply refused: %s",
                           d->ctx->event_key, d->err->msg);
            core_err_clear(d->err);
            d->n_replies++;
            return 0;
        }
        return -1;
    }
    d->n_replies++;
    if (dup)
        d->n_dup++;
    else
        core_metric_inc(&m_replies);
    return 0;
}

int grp_dlg_reply_text(struct grp_dlg *d, const char *body)
{
    return grp_dlg_reply_json(d, json_pack("{s:s,s:{s:o,s:b}}", "type", "text", "text", "body",
                                           clipped(body, GRP_TEXT_LONG_MAX), "preview_url", 0));
}

int grp_dlg_reply_buttons(struct grp_dlg *d, const char *body, const struct grp_dlg_option *buttons,
                          size_t n)
{
    json_t *j = grp_dlg_buttons_json(body, buttons, n);

    return j != NULL ? grp_dlg_reply_json(d, j) : grp_dlg_reply_text(d, body);
}

int grp_dlg_reply_list(struct grp_dlg *d, const char *body, const char *button,
                       const struct grp_dlg_option *rows, size_t n)
{
    json_t *j = grp_dlg_list_json(body, button, rows, n);

    return j != NULL ? grp_dlg_reply_json(d, j) : grp_dlg_reply_text(d, body);
}

int grp_dlg_reply_page(struct grp_dlg *d, const char *body, const char *button,
                       const struct grp_dlg_option *all, size_t n, size_t offset,
                       const char *more_prefix)
{
    struct grp_dlg_option rows[GRP_DLG_ROWS_MAX];
    size_t first;
    size_t count;
    int more;
    char more_id[GRP_DLG_ROW_ID_MAX + 1];
    char left[24];

    grp_dlg_page(n, offset, &first, &count, &more);
    for (size_t i = 0; i < count; i++)
        rows[i] = all[first + i];
    if (more) {
        snprintf(more_id, sizeof more_id, "%s%zu", more_prefix, first + count);
        snprintf(left, sizeof left, "%zu", n - first - count);
        rows[count].id = more_id;
        rows[count].title = grp_dlg_text(d, "dlg.more.row", NULL, 0);
        rows[count].desc = GRP_DLG_TEXT(d, "dlg.more.desc", left);
        count++;
    }
    return grp_dlg_reply_list(d, body, button, rows, count);
}

int grp_dlg_reply_location_request(struct grp_dlg *d, const char *body)
{
    return grp_dlg_reply_json(d, json_pack("{s:s,s:{s:s,s:{s:o},s:{s:s}}}", "type", "interactive",
                                           "interactive", "type", "location_request_message",
                                           "body", "text", clipped(body, GRP_TEXT_BODY_MAX),
                                           "action", "name", "send_location"));
}

/* ======================= dispatch ======================= */

static int has_prefix(const char *s, const char *prefix)
{
    return prefix != NULL && prefix[0] != '\0' && s != NULL &&
           strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Events the dialogue leaves alone: not something a person said to us. */
static int ignored(const struct gw_event *ev)
{
    static const char *const types[] = {"system", "reaction", "order"};

    if (ev->type == NULL)
        return 1;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(ev->type, types[i]) == 0)
            return 1;
    }
    return ev->group_id != NULL;
}

static int is_text_like(const struct gw_event *ev)
{
    return strcmp(ev->type, "text") == 0 || strcmp(ev->type, "button") == 0 ||
           strcmp(ev->type, "interactive") == 0;
}

static enum grp_keyword event_keyword(const struct grp_dlg *d)
{
    enum grp_keyword kw = grp_dlg_keyword_id(d->reply_id);

    if (kw == GRP_KW_NONE && is_text_like(d->ev) && d->reply_id[0] == '\0')
        kw = grp_dlg_keyword(d->text, strlen(d->text));
    /* "ALERT <text>": the keyword as the first word (its flow reads the rest) */
    if (kw == GRP_KW_NONE && strcmp(d->ev->type, "text") == 0)
        kw = grp_dlg_keyword_lead(d->text, strlen(d->text), NULL);
    /* a template's quick-reply button may carry the keyword as payload */
    if (kw == GRP_KW_NONE && strcmp(d->ev->type, "button") == 0)
        kw = grp_dlg_keyword(d->reply_id, strlen(d->reply_id));
    return kw;
}

static int dispatch(struct grp_dlg *d)
{
    const struct grp_flow *f;
    int rc;

    d->kw = event_keyword(d);
    if (d->kw != GRP_KW_NONE) {
        for (size_t i = 0; i < N_FLOWS; i++) {
            if (flows[i]->on_keyword == NULL)
                continue;
            rc = flows[i]->on_keyword(d, d->kw);
            if (rc != 0) {
                core_metric_inc(&m_keyword);
                return rc;
            }
        }
        /* ALERT from someone no flow knows as an officer: an ordinary message */
    }
    if (d->reply_id[0] != '\0') {
        for (size_t i = 0; i < N_FLOWS; i++) {
            if (flows[i]->on_message == NULL || !has_prefix(d->reply_id, flows[i]->reply_prefix))
                continue;
            d->route = GRP_ROUTE_REPLY;
            rc = flows[i]->on_message(d);
            if (rc != 0) {
                core_metric_inc(&m_reply);
                return rc;
            }
        }
    }
    if (d->member.ds[0] != '\0') {
        int owned = 0;

        for (size_t i = 0; i < N_FLOWS; i++) {
            if (!has_prefix(d->member.ds, flows[i]->state_prefix))
                continue;
            owned = 1;
            if (flows[i]->on_message == NULL)
                continue;
            d->route = GRP_ROUTE_STATE;
            rc = flows[i]->on_message(d);
            if (rc != 0) {
                core_metric_inc(&m_state);
                return rc;
            }
        }
        if (!owned) {
            /* a state no flow owns (a flow removed): forget it */
            core_log_warn("dialogue", d->ctx->req_id, "member %s: unknown state %s forgotten",
                          d->member.mid, d->member.ds);
            if (grp_member_set_dialogue(d->redis, d->member.mid, NULL, NULL, d->now, d->err) != 0)
                return -1;
            d->member.ds[0] = '\0';
            d->member.dd[0] = '\0';
        }
    }
    for (size_t i = 0; i < N_FLOWS; i++) {
        if (flows[i]->on_other == NULL)
            continue;
        d->route = GRP_ROUTE_OTHER;
        rc = flows[i]->on_other(d);
        if (rc != 0) {
            core_metric_inc(&m_other);
            return rc;
        }
    }
    switch (d->member.st) {
    case GRP_MEMBER_ACTIVE:
    case GRP_MEMBER_MUTED:
    case GRP_MEMBER_BANNED:
        f = grp_dlg_flow("post");
        break;
    default:
        f = grp_dlg_flow("enrol");
        break;
    }
    if (f != NULL && f->on_message != NULL) {
        d->route = GRP_ROUTE_MEMBERSHIP;
        rc = f->on_message(d);
        if (rc != 0) {
            core_metric_inc(&m_membership);
            return rc;
        }
    }
    /* never silence */
    core_metric_inc(&m_unknown);
    return grp_dlg_reply_text(d, grp_dlg_text(d, "dlg.unknown", NULL, 0)) != 0 ? -1 : 1;
}

int grp_dlg_handler(void *ud, struct gw_router_ctx *ctx, const struct gw_event *ev,
                    struct core_err *err)
{
    struct grp_dialogue *dlg = ud;
    struct grp_dlg d;
    int rc;

    if (ev->kind != GW_EVENT_MESSAGE || ev->problem != NULL || ctx->member_id[0] == '\0' ||
        ignored(ev))
        return 0;
    memset(&d, 0, sizeof d);
    d.dlg = dlg;
    d.ctx = ctx;
    d.redis = ctx->redis;
    d.ev = ev;
    d.text = ev->text != NULL ? ev->text : "";
    d.reply_id = ev->reply_id != NULL ? ev->reply_id : "";
    d.now = core_now_ms() / 1000;
    d.err = err;
    if (grp_member_load(ctx->redis, ctx->member_id, &d.member, err) != 0)
        return -1;
    /* a dialogue state left unfinished for too long is forgotten */
    if (d.member.ds[0] != '\0' &&
        (d.member.ds_time <= 0 || d.now - d.member.ds_time > dlg->opts.state_ttl_s)) {
        if (grp_member_set_dialogue(ctx->redis, ctx->member_id, NULL, NULL, d.now, err) != 0)
            return -1;
        d.member.ds[0] = '\0';
        d.member.dd[0] = '\0';
    }
    rc = dispatch(&d);
    core_log_kv(CORE_LOG_DEBUG, "dialogue", ctx->req_id, "message handled",
                json_pack("{s:s,s:s,s:s,s:s,s:i,s:i}", "event", ctx->event_key, "member",
                          ctx->member_id, "state", grp_member_state_name(d.member.st), "keyword",
                          grp_keyword_name(d.kw), "replies", d.n_replies, "rc", rc));
    scratch_free(&d);
    grp_lookup_release(d.lookup);
    if (rc < 0 && err->code != CORE_EX_UNAVAILABLE && err->code != CORE_EX_TEMPFAIL) {
        /* Not a passing outage: retrying cannot help (the router would try
         * ten times, then dead-letter the whole webhook). Log and move on. */
        core_metric_inc(&m_failed);
        core_log_kv(CORE_LOG_ERROR, "dialogue", ctx->req_id, "message not handled",
                    json_pack("{s:s,s:s,s:s}", "event", ctx->event_key, "member",
                              ctx->member_id, "error", err->msg));
        core_err_clear(err);
        return 0;
    }
    return rc < 0 ? -1 : 0;
}
