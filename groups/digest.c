/*
 * groups/digest.c - the per-group relay mode, the digest of the day's posts
 * for members outside their window, the digest job and its scheduler thread
 * (see digest.h).
 */
#include "groups/digest.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/util.h"
#include "core/waiter.h"
#include "crypto/identity.h"
#include "crypto/vault.h"
#include "gateway/outbox.h"
#include "groups/member.h"
#include "groups/relay.h"
#include "groups/texts.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WINDOW_S 86400      /* WhatsApp's customer-service window */
#define ENTRY_MAX 2048      /* sealed entry of one post */
#define SEP " · "           /* between two posts in {{3}} */

/* ======================= metrics ======================= */

CORE_COUNTER(m_posts, "janseva_digest_posts_total", NULL,
             "group posts noted in a daily digest (digest mode, members outside the window)");
CORE_COUNTER(m_groups, "janseva_digest_groups_total", NULL, "group digests sent");
CORE_COUNTER(m_queued, "janseva_digest_messages_total", "result=\"queued\"",
             "daily digest messages, by what happened to them");
CORE_COUNTER(m_dup, "janseva_digest_messages_total", "result=\"duplicate\"",
             "daily digest messages, by what happened to them");
CORE_COUNTER(m_budget, "janseva_digest_messages_total", "result=\"over_budget\"",
             "daily digest messages, by what happened to them");

void grp_digest_metrics_init(void)
{
    core_metrics_register(&m_posts);
    core_metrics_register(&m_groups);
    core_metrics_register(&m_queued);
    core_metrics_register(&m_dup);
    core_metrics_register(&m_budget);
}

/* ======================= the relay mode ======================= */

const char *grp_relay_mode_name(enum grp_relay_mode m)
{
    return m == GRP_RELAY_DIGEST ? "digest" : "each";
}

int grp_relay_mode_parse(const char *s, enum grp_relay_mode *out)
{
    if (s != NULL && strcmp(s, "each") == 0) {
        *out = GRP_RELAY_EACH;
        return 0;
    }
    if (s != NULL && strcmp(s, "digest") == 0) {
        *out = GRP_RELAY_DIGEST;
        return 0;
    }
    return -1;
}

int grp_relay_mode_get(struct core_redis *r, const char *code, enum grp_relay_mode *out,
                       struct core_err *err)
{
    redisReply *rep;

    *out = GRP_RELAY_EACH;
    if (core_redis_cmdf(r, &rep, err, "HGET js:u:{%s}:cfg relay", code) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_STRING && grp_relay_mode_parse(rep->str, out) != 0)
        *out = GRP_RELAY_EACH;
    freeReplyObject(rep);
    return 0;
}

int grp_relay_mode_set(struct core_redis *r, const char *code, enum grp_relay_mode m,
                       struct core_err *err)
{
    struct grp_unit u;
    int found;

    if (code == NULL || !grp_code_ok(code, strlen(code)))
        return core_err_set(err, CORE_EX_NOINPUT, "no village group '%.40s'", code ? code : "");
    found = grp_unit_get(r, code, &u, err);
    if (found < 0)
        return -1;
    if (found == 0)
        return core_err_set(err, CORE_EX_NOINPUT, "no village group '%s'", code);
    grp_unit_cleanup(&u);
    if (u.kind != GRP_LOCALITY)
        return core_err_set(err, CORE_EX_NOINPUT, "'%s' is a %s, not a village group", code,
                            grp_kind_name(u.kind));
    if (m == GRP_RELAY_EACH)
        return core_redis_cmdf(r, NULL, err, "HDEL js:u:{%s}:cfg relay", code);
    return core_redis_cmdf(r, NULL, err, "HSET js:u:{%s}:cfg relay %s", code,
                           grp_relay_mode_name(m));
}

/* ======================= days ======================= */

static void local_date(int64_t t, char out[GRP_DIGEST_DAY_LEN])
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, GRP_DIGEST_DAY_LEN, "%Y%m%d", &tm);
}

void grp_digest_day(int64_t now_s, int hour, int offset_min, char out[GRP_DIGEST_DAY_LEN])
{
    local_date(now_s + (int64_t)offset_min * 60 + (int64_t)(24 - hour) * 3600, out);
}

void grp_digest_due_day(int64_t now_s, int hour, int offset_min, char out[GRP_DIGEST_DAY_LEN])
{
    local_date(now_s + (int64_t)offset_min * 60 - (int64_t)hour * 3600, out);
}

bool grp_digest_day_ok(const char *s)
{
    int y, m, d;

    if (s == NULL || strlen(s) != GRP_DIGEST_DAY_LEN - 1 || strspn(s, "0123456789") != 8)
        return false;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    m = (s[4] - '0') * 10 + (s[5] - '0');
    d = (s[6] - '0') * 10 + (s[7] - '0');
    return y >= 2000 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* The day's local date one day before `day` (both YYYYMMDD). */
static void day_before(const char *day, char out[GRP_DIGEST_DAY_LEN])
{
    struct tm tm;

    memset(&tm, 0, sizeof tm);
    tm.tm_year = ((day[0] - '0') * 1000 + (day[1] - '0') * 100 + (day[2] - '0') * 10 +
                  (day[3] - '0')) -
                 1900;
    tm.tm_mon = (day[4] - '0') * 10 + (day[5] - '0') - 1;
    tm.tm_mday = (day[6] - '0') * 10 + (day[7] - '0') - 1;
    tm.tm_hour = 12;
    local_date((int64_t)timegm(&tm), out);
}

/* js:dg:{CODE}:DAY with `suffix` ("", ":m", ":job") into out. */
static void dg_key(char *out, size_t n, const char *code, const char *day, const char *suffix)
{
    snprintf(out, n, "js:dg:{%s}:%s%s", code, day, suffix);
}

/* ======================= noting posts ======================= */

int grp_digest_add_members(struct core_redis *r, const char *code, const char *day,
                           const char *const *mids, size_t n, struct core_err *err)
{
    char key[GRP_DIGEST_KEY_MAX];
    const char **argv;
    int rc;

    if (n == 0)
        return 0;
    dg_key(key, sizeof key, code, day, ":m");
    argv = core_calloc(2 * n + 3, sizeof *argv);
    argv[0] = "ZADD";
    argv[1] = key;
    for (size_t i = 0; i < n; i++) {
        argv[2 + 2 * i] = "0";
        argv[3 + 2 * i] = mids[i];
    }
    rc = core_redis_cmdv(r, (int)(2 * n + 2), argv, NULL, NULL, err);
    free(argv);
    if (rc != 0)
        return -1;
    return core_redis_cmdf(r, NULL, err, "EXPIRE %s %d", key, GRP_DIGEST_TTL_S);
}

int grp_digest_add_post(struct core_redis *r, const struct cry_keys *keys, const char *code,
                        const char *day, const struct grp_digest_post *p, int *added,
                        struct core_err *err)
{
    char key[GRP_DIGEST_KEY_MAX];
    char *flat = grp_text_one_line(p->text != NULL ? p->text : "", GRP_DIGEST_TEXT_MAX);
    json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:I}", "l", p->label != NULL ? p->label : "", "k",
                          p->type != NULL ? p->type : "text", "x", flat, "n",
                          p->number != NULL ? p->number : "", "t",
                          (json_int_t)(core_now_ms() / 1000));
    char *plain = json_dumps(e, JSON_COMPACT);
    unsigned char sealed[ENTRY_MAX];
    size_t sl = 0;
    redisReply *rep = NULL;
    int rc = -1;

    if (added != NULL)
        *added = 0;
    dg_key(key, sizeof key, code, day, "");
    if (plain == NULL || cry_vault_seal(keys, CRY_VAULT_PII, key, p->pid, plain, strlen(plain),
                                        sealed, sizeof sealed, &sl, err) != 0)
        goto out;
    if (core_redis_cmdf(r, &rep, err, "HSETNX %s %s %b", key, p->pid, sealed, sl) != 0)
        goto out;
    if (core_redis_int(rep) == 1) {
        if (added != NULL)
            *added = 1;
        core_metric_inc(&m_posts);
    }
    if (core_redis_cmdf(r, NULL, err, "EXPIRE %s %d", key, GRP_DIGEST_TTL_S) != 0 ||
        core_redis_cmdf(r, NULL, err, "SADD js:dg:days:%s %s", day, code) != 0 ||
        core_redis_cmdf(r, NULL, err, "EXPIRE js:dg:days:%s %d", day, GRP_DIGEST_TTL_S) != 0)
        goto out;
    rc = 0;
out:
    if (plain != NULL) {
        sodium_memzero(plain, strlen(plain));
        free(plain);
    }
    free(flat);
    json_decref(e);
    freeReplyObject(rep);
    return rc;
}

/* ======================= the digest of a group ======================= */

void grp_digest_opts_from_cfg(struct grp_digest_opts *o, const struct core_cfg *cfg)
{
    memset(o, 0, sizeof *o);
    o->template_name = core_cfg_is_set(cfg->digest_template) ? cfg->digest_template
                                                              : "janseva_group_digest";
    o->price = cfg->price_utility;
    o->budget = cfg->post_daily_budget;
    o->window_margin_s = cfg->dispatch_window_margin_s;
    o->hour = cfg->digest_hour;
    o->utc_offset_min = cfg->digest_utc_offset_min;
    o->batch = GRP_DIGEST_BATCH;
    o->number = cfg->n_phone_numbers > 0 ? cfg->phone_numbers[0] : NULL;
}

/* One job: a group's digest of a day. */
struct job {
    struct core_redis *r;
    const struct cry_keys *keys;
    const struct grp_digest_opts *o;
    const char *code;
    const char *day;
    int64_t now_s;
    struct grp_digest_stats *st;
    struct core_err *err;
    json_t *entries;       /* opened entries, oldest first (new reference) */
    char number[64];       /* to send from */
    json_t *tpl[2];        /* the template message: hi, en */
    char relay_key[GRP_DIGEST_KEY_MAX]; /* js:relay:{CODE}:DAY of now: the budget */
    char job_key[GRP_DIGEST_KEY_MAX];
};

static int cmp_entry(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a;
    const json_t *y = *(const json_t *const *)b;
    json_int_t tx = json_integer_value(json_object_get(x, "t"));
    json_int_t ty = json_integer_value(json_object_get(y, "t"));

    if (tx != ty)
        return tx < ty ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, "p")),
                  json_string_value(json_object_get(y, "p")));
}

/* Open the day's entries into j->entries, sorted by time. Returns 0 or -1. */
static int load_entries(struct job *j)
{
    char key[GRP_DIGEST_KEY_MAX];
    redisReply *rep;
    json_t **v = NULL;
    size_t n = 0;

    dg_key(key, sizeof key, j->code, j->day, "");
    if (core_redis_cmdf(j->r, &rep, j->err, "HGETALL %s", key) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0)
        v = core_calloc(rep->elements / 2 + 1, sizeof *v);
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
        const redisReply *f = rep->element[i];
        const redisReply *c = rep->element[i + 1];
        unsigned char plain[ENTRY_MAX];
        size_t pl = 0;
        struct core_err oerr;
        json_t *e;

        if (f->type != REDIS_REPLY_STRING || c->type != REDIS_REPLY_STRING ||
            cry_vault_open(j->keys, CRY_VAULT_PII, key, f->str, (const unsigned char *)c->str,
                           c->len, plain, sizeof plain - 1, &pl, &oerr) != 0) {
            core_log_warn("digest", NULL, "group %s day %s: an entry does not open; left out",
                          j->code, j->day);
            continue;
        }
        e = json_loadb((const char *)plain, pl, 0, NULL);
        sodium_memzero(plain, sizeof plain);
        if (!json_is_object(e)) {
            json_decref(e);
            continue;
        }
        json_object_set_new(e, "p", json_string(f->str));
        v[n++] = e;
    }
    freeReplyObject(rep);
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_entry);
    j->entries = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(j->entries, v[i]);
    free(v);
    return 0;
}

/* The posts of the day on one line in `lang` (new string). */
static char *posts_line(const struct job *j, enum grp_lang lang)
{
    size_t cap = 1;
    char *s;
    size_t i;
    json_t *e;
    char *flat;

    json_array_foreach(j->entries, i, e)
    {
        const char *x = json_string_value(json_object_get(e, "x"));

        cap += (x != NULL ? strlen(x) : 0) + GRP_LABEL_MAX + 96;
    }
    s = core_calloc(1, cap);
    json_array_foreach(j->entries, i, e)
    {
        const char *type = json_string_value(json_object_get(e, "k"));
        const char *text = json_string_value(json_object_get(e, "x"));
        const char *lc = json_string_value(json_object_get(e, "l"));
        struct grp_member m;
        char label[GRP_LABEL_MAX];
        size_t len = strlen(s);

        memset(&m, 0, sizeof m);
        snprintf(m.label, sizeof m.label, "%s", lc != NULL ? lc : "");
        if (text == NULL)
            text = "";
        grp_member_label(&m, lang, label, sizeof label);
        if (type == NULL || strcmp(type, "text") == 0) {
            snprintf(s + len, cap - len, "%s%s: %s", i > 0 ? SEP : "", label, text);
        } else {
            char kind_id[48];
            char *kind;

            snprintf(kind_id, sizeof kind_id, "post.kind.%s", type);
            if (grp_text_raw(lang, kind_id) == NULL)
                snprintf(kind_id, sizeof kind_id, "post.kind.document");
            kind = grp_text_fmt(lang, kind_id, NULL, 0);
            snprintf(s + len, cap - len, "%s%s: [%s]%s%s", i > 0 ? SEP : "", label, kind,
                     text[0] != '\0' ? " " : "", text);
            free(kind);
        }
    }
    flat = grp_text_one_line(s[0] != '\0' ? s : "-", GRP_DIGEST_PARAM_MAX);
    free(s);
    return flat;
}

static json_t *template_of(const char *name, enum grp_lang lang, const char *group, size_t nposts,
                           const char *line)
{
    char count[24];
    json_t *t = json_pack("{s:s,s:{s:s}}", "name", name, "language", "code", grp_lang_code(lang));
    json_t *ps;

    snprintf(count, sizeof count, "%zu", nposts);
    ps = json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "type", "text", "text", group, "type",
                   "text", "text", count, "type", "text", "text", line);
    json_object_set_new(t, "components",
                        json_pack("[{s:s,s:o}]", "type", "body", "parameters", ps));
    return json_pack("{s:s,s:o}", "type", "template", "template", t);
}

/* The number to send from and the two template messages. Returns 0 or -1. */
static int build_messages(struct job *j)
{
    struct grp_unit u;
    const char *names[2];
    size_t i;
    json_t *e;
    int found;

    json_array_foreach(j->entries, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "n"));

        if (n != NULL && n[0] != '\0') {
            snprintf(j->number, sizeof j->number, "%s", n);
            break;
        }
    }
    if (j->number[0] == '\0' && j->o->number != NULL)
        snprintf(j->number, sizeof j->number, "%s", j->o->number);
    if (j->number[0] == '\0')
        return core_err_set(j->err, CORE_EX_CONFIG,
                            "digest %s: no business number to send from (phone_number_id)",
                            j->code);
    found = grp_unit_get(j->r, j->code, &u, j->err);
    if (found < 0)
        return -1;
    names[1] = found && u.name_en != NULL && u.name_en[0] != '\0' ? u.name_en : j->code;
    names[0] = found && u.name_hi != NULL && u.name_hi[0] != '\0' ? u.name_hi : names[1];
    for (int l = 0; l < 2; l++) {
        enum grp_lang lang = l == 1 ? GRP_LANG_EN : GRP_LANG_HI;
        char *line = posts_line(j, lang);

        j->tpl[l] = template_of(j->o->template_name, lang, names[l],
                                json_array_size(j->entries), line);
        free(line);
    }
    if (found)
        grp_unit_cleanup(&u);
    return 0;
}

static long long field_ll(const redisReply *v)
{
    int64_t x = 0;

    if (v != NULL && v->type == REDIS_REPLY_STRING)
        core_parse_i64(v->str, &x);
    else if (v != NULL && v->type == REDIS_REPLY_INTEGER)
        x = v->integer;
    return x;
}

/* Queue the digest for `n` recipients (borrowed); record what was newly
 * queued and spent. Returns 0 or -1. */
static int send_batch(struct job *j, const char *const *mids, size_t n)
{
    struct gw_outmsg *out = core_calloc(n + 1, sizeof *out);
    char(*keys)[GW_OUT_KEY_MAX + 1] = core_calloc(n + 1, sizeof *keys);
    int *dup = core_calloc(n + 1, sizeof *dup);
    int *charged = core_calloc(n + 1, sizeof *charged);
    long long spent = 0;
    long new_queued = 0;
    long new_charged = 0;
    long dups = 0;
    long skipped = 0;
    size_t nm = 0;
    int rc = -1;

    if (grp_relay_day(j->r, j->code, j->now_s, &spent, NULL, NULL, NULL, j->err) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct grp_member m;
        int inside;

        if (!cry_identity_is_mid(mids[i]))
            continue;
        if (grp_member_load(j->r, mids[i], &m, j->err) != 0)
            goto out;
        if (!grp_member_receives(&m, j->code) || m.merged_into[0] != '\0') {
            j->st->not_receiving++;
            continue;
        }
        inside = m.li > 0 && m.li + WINDOW_S - j->o->window_margin_s > j->now_s;
        if (!inside) {
            if (spent + j->o->price > j->o->budget) {
                skipped++;
                continue;
            }
            spent += j->o->price;
            charged[nm] = 1;
        }
        snprintf(keys[nm], sizeof keys[nm], "digest:%s:%s:%s", j->code, j->day, mids[i]);
        out[nm].key = keys[nm];
        out[nm].number = j->number;
        out[nm].lane = GW_LANE_BULK;
        out[nm].mid = mids[i];
        out[nm].group = j->code; /* dropped at send time if they leave it */
        out[nm].message = j->tpl[m.lang == GRP_LANG_EN];
        nm++;
    }
    if (nm > 0 && gw_outbox_enqueue_batch(j->r, j->keys, out, nm, dup, NULL, j->err) != 0)
        goto out;
    for (size_t i = 0; i < nm; i++) {
        if (dup[i]) {
            dups++;
            continue;
        }
        new_queued++;
        new_charged += charged[i];
    }
    j->st->queued += new_queued;
    j->st->duplicate += dups;
    j->st->charged += new_charged;
    j->st->cost += (long long)new_charged * j->o->price;
    j->st->skipped_budget += skipped;
    core_metric_add(&m_queued, new_queued);
    core_metric_add(&m_dup, dups);
    core_metric_add(&m_budget, skipped);
    if (new_queued > 0 || skipped > 0) {
        /* the relay's day record (cost accounting shared with relay.c), then
         * the job's own counters; a re-walked batch adds nothing */
        long long cost = (long long)new_charged * j->o->price;

        if (core_redis_appendf(j->r, j->err, "HINCRBY %s cost %lld", j->relay_key, cost) != 0 ||
            core_redis_appendf(j->r, j->err, "HINCRBY %s charged %ld", j->relay_key,
                               new_charged) != 0 ||
            core_redis_appendf(j->r, j->err, "HINCRBY %s queued %ld", j->relay_key,
                               new_queued) != 0 ||
            core_redis_appendf(j->r, j->err, "HINCRBY %s skipped %ld", j->relay_key, skipped) !=
                0 ||
            core_redis_appendf(j->r, j->err, "EXPIRE %s %d", j->relay_key,
                               GRP_RELAY_DAY_TTL_S) != 0 ||
            core_redis_appendf(j->r, j->err, "HINCRBY %s queued %ld", j->job_key, new_queued) !=
                0 ||
            core_redis_appendf(j->r, j->err, "HINCRBY %s skipped %ld", j->job_key, skipped) != 0 ||
            core_redis_appendf(j->r, j->err, "HINCRBY %s cost %lld", j->job_key, cost) != 0)
            goto out;
        for (int k = 0; k < 8; k++) {
            redisReply *rep;

            if (core_redis_get_reply(j->r, &rep, j->err) != 0)
                goto out;
            freeReplyObject(rep);
        }
    }
    if (skipped > 0)
        core_log_kv(CORE_LOG_WARN, "digest", NULL, "daily budget reached: members skipped",
                    json_pack("{s:s,s:s,s:i,s:I}", "group", j->code, "day", j->day, "skipped",
                              (int)skipped, "spent", (json_int_t)spent));
    rc = 0;
out:
    free(out);
    free(keys);
    free(dup);
    free(charged);
    return rc;
}

/* Mark the job done (and keep it GRP_DIGEST_TTL_S). Returns 0 or -1. */
static int mark_done(struct job *j, size_t nposts)
{
    if (core_redis_cmdf(j->r, NULL, j->err, "HSET %s st done posts %lld t %lld", j->job_key,
                        (long long)nposts, (long long)j->now_s) != 0)
        return -1;
    return core_redis_cmdf(j->r, NULL, j->err, "EXPIRE %s %d", j->job_key, GRP_DIGEST_TTL_S);
}

/* Walk the recipients from the saved cursor. Returns 0, 1 (test stop) or -1. */
static int walk(struct job *j, bool *resumed)
{
    char mkey[GRP_DIGEST_KEY_MAX];
    char cur[CRY_MID_LEN + 2] = "";
    size_t batch = j->o->batch > 0 ? j->o->batch : GRP_DIGEST_BATCH;
    long nb = 0;
    redisReply *rep;

    dg_key(mkey, sizeof mkey, j->code, j->day, ":m");
    if (core_redis_cmdf(j->r, &rep, j->err, "HGET %s cur", j->job_key) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_STRING && rep->len < sizeof cur - 1)
        snprintf(cur, sizeof cur, "%s", rep->str);
    freeReplyObject(rep);
    *resumed = cur[0] != '\0';
    for (;;) {
        char from[CRY_MID_LEN + 4];
        char cnt[24];
        const char **mids;
        size_t n;
        int rc;

        if (cur[0] != '\0')
            snprintf(from, sizeof from, "(%s", cur);
        else
            snprintf(from, sizeof from, "-");
        snprintf(cnt, sizeof cnt, "%zu", batch);
        if (core_redis_cmdf(j->r, &rep, j->err, "ZRANGEBYLEX %s %s + LIMIT 0 %s", mkey, from,
                            cnt) != 0)
            return -1;
        n = rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0;
        if (n == 0) {
            freeReplyObject(rep);
            return 0;
        }
        mids = core_calloc(n, sizeof *mids);
        for (size_t i = 0; i < n; i++)
            mids[i] = rep->element[i]->type == REDIS_REPLY_STRING ? rep->element[i]->str : "";
        rc = send_batch(j, mids, n);
        if (rc == 0)
            snprintf(cur, sizeof cur, "%s", mids[n - 1]);
        free(mids);
        freeReplyObject(rep);
        if (rc != 0)
            return -1;
        nb++;
        if (j->o->test_crash_after > 0 && nb == j->o->test_crash_after)
            return 1; /* as if the process died before saving the cursor */
        if (core_redis_cmdf(j->r, NULL, j->err, "HSET %s cur %s", j->job_key, cur) != 0 ||
            core_redis_cmdf(j->r, NULL, j->err, "EXPIRE %s %d", j->job_key, GRP_DIGEST_TTL_S) !=
                0)
            return -1;
        if (n < batch)
            return 0;
    }
}

int grp_digest_run_group(struct core_redis *r, const struct cry_keys *keys,
                         const struct grp_digest_opts *o, const char *code, const char *day,
                         int64_t now_s, struct grp_digest_stats *st, struct core_err *err)
{
    struct grp_digest_stats local;
    struct grp_digest_stats before;
    struct job j;
    redisReply *rep;
    bool resumed = false;
    int rc = -1;

    memset(&local, 0, sizeof local);
    memset(&j, 0, sizeof j);
    j.r = r;
    j.keys = keys;
    j.o = o;
    j.code = code;
    j.day = day;
    j.now_s = now_s;
    j.st = st != NULL ? st : &local;
    j.err = err;
    before = *j.st;
    dg_key(j.job_key, sizeof j.job_key, code, day, ":job");
    grp_relay_day_key(code, now_s, j.relay_key, sizeof j.relay_key);
    if (core_redis_cmdf(r, &rep, err, "HGET %s st", j.job_key) != 0)
        return -1;
    if (rep->type == REDIS_REPLY_STRING && strcmp(rep->str, "done") == 0) {
        freeReplyObject(rep);
        j.st->already_done++;
        return 0;
    }
    freeReplyObject(rep);
    if (load_entries(&j) != 0)
        goto out;
    if (json_array_size(j.entries) == 0) {
        rc = 0; /* nothing noted (yet): not marked done, posts may still come */
        goto out;
    }
    if (build_messages(&j) != 0)
        goto out;
    rc = walk(&j, &resumed);
    if (rc != 0)
        goto out;
    if (mark_done(&j, json_array_size(j.entries)) != 0) {
        rc = -1;
        goto out;
    }
    j.st->groups++;
    j.st->posts += (long)json_array_size(j.entries);
    core_metric_inc(&m_groups);
    core_log_kv(CORE_LOG_INFO, "digest", NULL, "group digest sent",
                json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:I,s:b}", "group", code, "day", day,
                          "posts", (int)json_array_size(j.entries), "queued",
                          (int)(j.st->queued - before.queued), "duplicate",
                          (int)(j.st->duplicate - before.duplicate), "not_receiving",
                          (int)(j.st->not_receiving - before.not_receiving), "skipped_budget",
                          (int)(j.st->skipped_budget - before.skipped_budget), "cost",
                          (json_int_t)(j.st->cost - before.cost), "resumed", resumed));
out:
    json_decref(j.entries);
    json_decref(j.tpl[0]);
    json_decref(j.tpl[1]);
    return rc;
}

/* KEYS[1] the lease; ARGV[1] owner, ARGV[2] ms: extend it if it is ours
 * (1), else 0. */
static struct core_redis_script renew_script = {
    "digest_renew",
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "end\n"
    "return 0\n",
    ""};

/* Extend the day's lease before a group; -1 when it is no longer ours. */
static int renew(struct core_redis *r, const char *day, const char *owner, struct core_err *err)
{
    char lease[64];
    char ms[24];
    const char *argv[3];
    redisReply *rep;
    int ours;

    snprintf(lease, sizeof lease, "js:dg:lease:%s", day);
    snprintf(ms, sizeof ms, "%d", GRP_DIGEST_LEASE_MS);
    argv[0] = lease;
    argv[1] = owner;
    argv[2] = ms;
    if (core_redis_eval(r, &renew_script, 1, 3, argv, NULL, &rep, err) != 0)
        return -1;
    ours = core_redis_int(rep) == 1;
    freeReplyObject(rep);
    if (!ours)
        return core_err_set(err, CORE_EX_TEMPFAIL, "digest %s: lease lost to another process",
                            day);
    return 0;
}

/* Run every group of `day`, checking `stop` (may be NULL) between groups. */
static int run_day(struct core_redis *r, const struct cry_keys *keys,
                   const struct grp_digest_opts *o, const char *day, int64_t now_s,
                   FILE *progress, const atomic_bool *stop, const char *lease_owner,
                   struct grp_digest_stats *st, struct core_err *err)
{
    redisReply *rep;
    char **codes;
    size_t n;
    int rc = 0;

    if (core_redis_cmdf(r, &rep, err, "SMEMBERS js:dg:days:%s", day) != 0)
        return -1;
    n = rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0;
    codes = core_calloc(n + 1, sizeof *codes);
    for (size_t i = 0; i < n; i++)
        codes[i] = core_strdup(rep->element[i]->type == REDIS_REPLY_STRING ? rep->element[i]->str
                                                                           : "");
    freeReplyObject(rep);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct grp_digest_stats g;

        if (stop != NULL && atomic_load(stop)) {
            rc = 1;
            break;
        }
        if (!grp_code_ok(codes[i], strlen(codes[i])))
            continue;
        if (lease_owner != NULL && renew(r, day, lease_owner, err) != 0) {
            rc = -1;
            break;
        }
        memset(&g, 0, sizeof g);
        rc = grp_digest_run_group(r, keys, o, codes[i], day, now_s, &g, err);
        if (progress != NULL && rc == 0)
            fprintf(progress, "digest %s %s: %s%ld posts, %ld queued, %ld over budget\n", day,
                    codes[i], g.already_done ? "already sent; " : "", g.posts, g.queued,
                    g.skipped_budget);
        st->groups += g.groups;
        st->already_done += g.already_done;
        st->posts += g.posts;
        st->queued += g.queued;
        st->duplicate += g.duplicate;
        st->not_receiving += g.not_receiving;
        st->skipped_budget += g.skipped_budget;
        st->charged += g.charged;
        st->cost += g.cost;
        if (rc < 0)
            core_err_wrap(err, "digest of %s", codes[i]);
    }
    for (size_t i = 0; i < n; i++)
        free(codes[i]);
    free(codes);
    return rc;
}

int grp_digest_run_day(struct core_redis *r, const struct cry_keys *keys,
                       const struct grp_digest_opts *o, const char *day, int64_t now_s,
                       FILE *progress, struct grp_digest_stats *st, struct core_err *err)
{
    return run_day(r, keys, o, day, now_s, progress, NULL, NULL, st, err);
}

int grp_digest_info(struct core_redis *r, const char *code, const char *day, long long *posts,
                    long long *members, bool *done, struct core_err *err)
{
    char ek[GRP_DIGEST_KEY_MAX];
    char mk[GRP_DIGEST_KEY_MAX];
    char jk[GRP_DIGEST_KEY_MAX];
    redisReply *rep[3] = {NULL, NULL, NULL};
    int rc = -1;

    dg_key(ek, sizeof ek, code, day, "");
    dg_key(mk, sizeof mk, code, day, ":m");
    dg_key(jk, sizeof jk, code, day, ":job");
    if (core_redis_appendf(r, err, "HLEN %s", ek) != 0 ||
        core_redis_appendf(r, err, "ZCARD %s", mk) != 0 ||
        core_redis_appendf(r, err, "HGET %s st", jk) != 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        if (core_redis_get_reply(r, &rep[i], err) != 0)
            goto out;
    }
    if (posts != NULL)
        *posts = field_ll(rep[0]);
    if (members != NULL)
        *members = field_ll(rep[1]);
    if (done != NULL)
        *done = rep[2]->type == REDIS_REPLY_STRING && strcmp(rep[2]->str, "done") == 0;
    rc = 0;
out:
    for (int i = 0; i < 3; i++)
        freeReplyObject(rep[i]);
    return rc;
}

/* ======================= the scheduler ======================= */

/* KEYS[1] the lease; ARGV[1] owner: delete it if it is ours. */
static struct core_redis_script release_script = {
    "digest_release",
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n",
    ""};

static int tick(struct core_redis *r, const struct cry_keys *keys,
                const struct grp_digest_opts *o, const char *owner, int64_t now_s,
                const atomic_bool *stop, int *ran, struct core_err *err)
{
    char days[2][GRP_DIGEST_DAY_LEN];

    if (ran != NULL)
        *ran = 0;
    grp_digest_due_day(now_s, o->hour, o->utc_offset_min, days[0]);
    day_before(days[0], days[1]);
    /* the day before first: a process that was down at digest time catches up */
    for (int d = 1; d >= 0; d--) {
        struct grp_digest_stats st;
        char lease[64];
        const char *argv[2];
        redisReply *rep;
        int got;
        int rc;

        if (core_redis_cmdf(r, &rep, err, "EXISTS js:dg:done:%s", days[d]) != 0)
            return -1;
        got = core_redis_int(rep) == 1;
        freeReplyObject(rep);
        if (got)
            continue;
        if (core_redis_cmdf(r, &rep, err, "SET js:dg:lease:%s %s NX PX %d", days[d], owner,
                            GRP_DIGEST_LEASE_MS) != 0)
            return -1;
        got = rep->type == REDIS_REPLY_STATUS;
        freeReplyObject(rep);
        if (!got)
            continue; /* another process runs it */
        memset(&st, 0, sizeof st);
        rc = run_day(r, keys, o, days[d], now_s, NULL, stop, owner, &st, err);
        if (rc == 0 &&
            core_redis_cmdf(r, NULL, err, "SET js:dg:done:%s 1 EX %d", days[d],
                            GRP_DIGEST_TTL_S) != 0)
            rc = -1;
        snprintf(lease, sizeof lease, "js:dg:lease:%s", days[d]);
        argv[0] = lease;
        argv[1] = owner;
        {
            struct core_err rerr;

            core_err_clear(&rerr);
            if (core_redis_eval(r, &release_script, 1, 2, argv, NULL, NULL, &rerr) != 0 &&
                rc == 0) {
                if (err != NULL)
                    *err = rerr;
                rc = -1;
            }
        }
        if (rc != 0)
            return rc < 0 ? -1 : 0;
        if (ran != NULL)
            (*ran)++;
        if (st.groups > 0 || st.skipped_budget > 0)
            core_log_kv(CORE_LOG_INFO, "digest", NULL, "day's digests sent",
                        json_pack("{s:s,s:i,s:i,s:i,s:i,s:I}", "day", days[d], "groups",
                                  (int)st.groups, "posts", (int)st.posts, "queued",
                                  (int)st.queued, "skipped_budget", (int)st.skipped_budget,
                                  "cost", (json_int_t)st.cost));
    }
    return 0;
}

int grp_digest_tick(struct core_redis *r, const struct cry_keys *keys,
                    const struct grp_digest_opts *o, const char *owner, int64_t now_s, int *ran,
                    struct core_err *err)
{
    return tick(r, keys, o, owner, now_s, NULL, ran, err);
}

struct grp_digest_worker {
    struct grp_digest_opts o;
    char *template_name;
    char *number;
    const struct cry_keys *keys;
    struct core_redis *r;
    char owner[64];
    pthread_t thread;
    struct core_waiter wt; /* stop flag and pause */
};

static void *worker_main(void *arg)
{
    struct grp_digest_worker *w = arg;

    core_log_info("digest", NULL, "digest scheduler %s started (digests at %02d:00, UTC%+d min)",
                  w->owner, w->o.hour, w->o.utc_offset_min);
    while (!core_waiter_stopping(&w->wt)) {
        struct core_err err;
        int64_t pause = GRP_DIGEST_POLL_MS;

        core_err_clear(&err);
        if (tick(w->r, w->keys, &w->o, w->owner, core_now_ms() / 1000, &w->wt.stop, NULL, &err) !=
            0)
            core_log_warn("digest", NULL, "scheduler: %s", err.msg);
        core_waiter_pause(&w->wt, pause);
    }
    core_log_info("digest", NULL, "digest scheduler %s stopped", w->owner);
    return NULL;
}

struct grp_digest_worker *grp_digest_worker_start(const struct grp_digest_opts *o,
                                                  const struct cry_keys *keys,
                                                  const struct core_redis_opts *ro,
                                                  struct core_err *err)
{
    struct grp_digest_worker *w = core_calloc(1, sizeof *w);
    char rnd[CORE_REQ_ID_LEN];

    w->o = *o;
    w->template_name = core_strdup(o->template_name != NULL ? o->template_name
                                                             : "janseva_group_digest");
    w->number = o->number != NULL ? core_strdup(o->number) : NULL;
    w->o.template_name = w->template_name;
    w->o.number = w->number;
    w->o.test_crash_after = 0;
    w->keys = keys;
    w->r = core_redis_new(ro);
    core_req_id(rnd);
    snprintf(w->owner, sizeof w->owner, "%ld-%s", (long)getpid(), rnd);
    core_waiter_init(&w->wt);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        core_redis_free(w->r);
        core_waiter_cleanup(&w->wt);
        free(w->template_name);
        free(w->number);
        free(w);
        core_err_set(err, CORE_EX_SOFTWARE, "digest: cannot start the scheduler thread");
        return NULL;
    }
    return w;
}

void grp_digest_worker_stop(struct grp_digest_worker *w)
{
    if (w == NULL)
        return;
    core_waiter_stop(&w->wt);
    pthread_join(w->thread, NULL);
    core_redis_free(w->r);
    core_waiter_cleanup(&w->wt);
    free(w->template_name);
    free(w->number);
    free(w);
}
