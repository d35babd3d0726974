/*
 * moderation/engine.c - the moderation engine (see engine.h): a pipeline of
 * checks from a static registry, each adding what it found to the task and
 * one object to the reasons, then one decision function with the rule that
 * decided. Cheap checks run first; only the sightings check does I/O.
 */
#include "moderation/engine.h"
#include "moderation/hash.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "moderation/model.h"
#include "moderation/phrase.h"
#include "moderation/prep.h"
#include "moderation/seed.h"
#include "moderation/store.h"
#include "moderation/train.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REASONS_MAX (64 * 1024)
#define REASONS_START 1024
#define SYNC_BATCH 500
#define HINGLISH_SET 128 /* open-addressing set of the Hinglish words' hashes */
#define THRESHOLDS_JSON_MAX 96 /* two numbers of at most 14 bytes and 49 bytes of keys */

/* ======================= output helpers ======================= */

/*
 * Append `n` bytes to `b`: while there is room (the usual case: buffers are
 * reused) a copy without a call; otherwise core_buf_append(), which grows
 * the buffer or refuses past its cap exactly as before. Returns 0 or -1.
 */
static inline int out_put(struct core_buf *b, const char *s, size_t n)
{
    if (b->data != NULL && n < b->cap - b->len && (b->max == 0 || b->len + n <= b->max)) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
    }
    return core_buf_append(b, s, n);
}

/* A string literal: its length is known at compile time. */
#define OUT_LIT(b, lit) out_put((b), (lit), sizeof(lit) - 1)

static inline int out_str(struct core_buf *b, const char *s)
{
    return out_put(b, s, strlen(s));
}

/* ======================= engine state ======================= */

struct scratch {
    struct mod_prep prep;
    struct mod_phrase_hit hits[MOD_PHRASE_MAX_HITS];
    size_t nhits;
    struct scratch *next;
};

struct mod_engine {
    struct mod_opts o;
    struct mod_model *model;       /* guarded by lock */
    struct mod_phrases *phrases;   /* guarded by lock; replaced when operators edit */
    char *file_phrases;            /* text of o.phrases_path, kept to rebuild */
    size_t file_phrases_len;
    long long phrases_ver;         /* operator phrase version applied */
    char fopts_id[24];             /* feature options, for feedback entries */
    pthread_rwlock_t lock;
    pthread_mutex_t pool_lock;     /* guards pool */
    struct scratch *pool;
    uint64_t hinglish[HINGLISH_SET]; /* token hashes of hinglish_words[] (0 = empty slot) */
    char thresholds_json[THRESHOLDS_JSON_MAX]; /* the classifier reason's middle part */
    size_t thresholds_json_len;
};

void mod_opts_default(struct mod_opts *o)
{
    memset(o, 0, sizeof *o);
    o->builtin_phrases = 1;
    o->probation_posts = 3;
    o->probation_hours = 24;
    o->flood_per_hour = 20;
    o->strikes_hold = 3;
    o->forwarded_shift = 2.0;
    o->chain_members = 5;
    o->chain_groups = 3;
    o->sightings_ttl_s = 86400;
    o->emoji_many = 6;
}

static struct scratch *scratch_get(struct mod_engine *e)
{
    struct scratch *s;

    pthread_mutex_lock(&e->pool_lock);
    s = e->pool;
    if (s != NULL)
        e->pool = s->next;
    pthread_mutex_unlock(&e->pool_lock);
    if (s == NULL) {
        s = core_calloc(1, sizeof *s);
        mod_prep_init(&s->prep);
    }
    return s;
}

static void scratch_put(struct mod_engine *e, struct scratch *s)
{
    pthread_mutex_lock(&e->pool_lock);
    s->next = e->pool;
    e->pool = s;
    pthread_mutex_unlock(&e->pool_lock);
}

/* Build a phrase set: shipped lists, the file, then operator lines. */
static struct mod_phrases *build_phrases(const struct mod_engine *e, const char *oper,
                                         size_t oper_len, struct core_err *err)
{
    struct mod_phrases *p = mod_phrases_new();

    if (e->o.builtin_phrases) {
        const struct mod_seed_file *f = mod_seed_find("rules/phrases.tsv");

        if (f != NULL && mod_phrases_add_text(p, "built-in phrases", f->data, f->len, err) != 0)
            goto fail;
    }
    if (e->file_phrases != NULL &&
        mod_phrases_add_text(p, e->o.phrases_path, e->file_phrases, e->file_phrases_len, err) != 0)
        goto fail;
    if (oper != NULL && oper_len > 0 &&
        mod_phrases_add_text(p, MOD_KEY_PHRASES, oper, oper_len, err) != 0)
        goto fail;
    return p;
fail:
    mod_phrases_free(p);
    return NULL;
}

static char *read_text_file(const char *path, size_t *len, struct core_err *err)
{
    FILE *f = fopen(path, "rb");
    struct core_buf b;
    char chunk[8192];
    size_t n;

    if (f == NULL) {
        core_err_set(err, CORE_EX_NOINPUT, "cannot read %s", path);
        return NULL;
    }
    core_buf_init(&b, 64 * 1024 * 1024);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (out_put(&b, chunk, n) != 0) {
            fclose(f);
            core_buf_cleanup(&b);
            core_err_set(err, CORE_EX_DATAERR, "%s is too large", path);
            return NULL;
        }
    }
    fclose(f);
    *len = b.len;
    return core_buf_steal(&b);
}

static void hinglish_set_fill(uint64_t set[HINGLISH_SET]);
static void thresholds_json_fill(struct mod_engine *e);

struct mod_engine *mod_engine_new_with_model(const struct mod_opts *o, struct mod_model *m,
                                             struct core_err *err)
{
    struct mod_engine *e = core_calloc(1, sizeof *e);

    if (o != NULL)
        e->o = *o;
    else
        mod_opts_default(&e->o);
    e->model = m;
    hinglish_set_fill(e->hinglish);
    thresholds_json_fill(e);
    snprintf(e->fopts_id, sizeof e->fopts_id, "%u.%u.%u.%u.%u", m->fopts.osb_window,
             m->fopts.char_min, m->fopts.char_max, m->fopts.skeleton, m->fopts.char_all);
    pthread_rwlock_init(&e->lock, NULL);
    pthread_mutex_init(&e->pool_lock, NULL);
    if (e->o.phrases_path != NULL) {
        e->file_phrases = read_text_file(e->o.phrases_path, &e->file_phrases_len, err);
        if (e->file_phrases == NULL)
            goto fail;
    }
    e->o.phrases_path = NULL; /* borrowed only during creation */
    e->o.model_path = NULL;
    e->phrases = build_phrases(e, NULL, 0, err);
    if (e->phrases == NULL)
        goto fail;
    return e;
fail:
    mod_engine_free(e);
    return NULL;
}

struct mod_engine *mod_engine_new(const struct mod_opts *o, struct core_err *err)
{
    struct mod_opts def;
    struct mod_model *m;

    if (o == NULL) {
        mod_opts_default(&def);
        o = &def;
    }
    if (o->model_path != NULL)
        m = mod_model_load(o->model_path, err);
    else
        m = mod_builtin_model();
    if (m == NULL)
        return NULL;
    return mod_engine_new_with_model(o, m, err);
}

void mod_engine_free(struct mod_engine *e)
{
    struct scratch *s;

    if (e == NULL)
        return;
    while ((s = e->pool) != NULL) {
        e->pool = s->next;
        mod_prep_cleanup(&s->prep);
        free(s);
    }
    mod_model_free(e->model);
    mod_phrases_free(e->phrases);
    free(e->file_phrases);
    pthread_rwlock_destroy(&e->lock);
    pthread_mutex_destroy(&e->pool_lock);
    free(e);
}

const struct mod_model *mod_engine_model(const struct mod_engine *e)
{
    return e->model;
}

/* ======================= JSON text helpers ======================= */

static void json_str(struct core_buf *b, const char *s, size_t len)
{
    size_t i;
    size_t run = 0;

    OUT_LIT(b, "\"");
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        out_put(b, s + run, i - run);
        run = i + 1;
        if (c == '"')
            OUT_LIT(b, "\\\"");
        else if (c == '\\')
            OUT_LIT(b, "\\\\");
        else if (c == '\n')
            OUT_LIT(b, "\\n");
        else if (c == '\t')
            OUT_LIT(b, "\\t");
        else
            core_buf_printf(b, "\\u%04x", c);
    }
    out_put(b, s + run, len - run);
    OUT_LIT(b, "\"");
}

static void json_cstr(struct core_buf *b, const char *s)
{
    json_str(b, s, strlen(s));
}

/* Append an unsigned integer. */
static void put_uint(struct core_buf *b, uint64_t v)
{
    char buf[24];
    size_t i = sizeof buf;

    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    out_put(b, buf + i, sizeof buf - i);
}

/* Append `v` with `dec` (1-6) decimals; printf is too slow for the hot
 * path. Values are clamped to +-1e9. */
static void put_fixed(struct core_buf *b, double v, int dec)
{
    static const uint64_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    uint64_t scale = pow10[dec];
    uint64_t x;
    uint64_t frac;
    char digits[32]; /* "-" + 10 digits + "." + 6 decimals */
    size_t o = sizeof digits;
    int neg;
    int i;

    if (!isfinite(v))
        v = v > 0 ? 1000 : -1000;
    if (v > 1e9)
        v = 1e9;
    if (v < -1e9)
        v = -1e9;
    x = (uint64_t)(fabs(v) * (double)scale + 0.5);
    if (x == 0 || (x == scale && v > 0)) {
        /* naive Bayes posteriors are mostly 0 or 1 at this precision */
        static const char zero[] = "0.000000";
        static const char one[] = "1.000000";

        out_put(b, x == 0 ? zero : one, 2 + (size_t)dec);
        return;
    }
    neg = v < 0;
    /* built right to left in one buffer, appended once */
    frac = x % scale;
    for (i = 0; i < dec; i++) {
        digits[--o] = (char)('0' + frac % 10);
        frac /= 10;
    }
    digits[--o] = '.';
    x /= scale;
    do {
        digits[--o] = (char)('0' + x % 10);
        x /= 10;
    } while (x > 0);
    if (neg)
        digits[--o] = '-';
    out_put(b, digits + o, sizeof digits - o);
}

static void json_num(struct core_buf *b, double v)
{
    put_fixed(b, v, 3);
}

/* The fixed part of every classifier reason: the model's thresholds. */
static void thresholds_json_fill(struct mod_engine *e)
{
    struct core_buf b;

    core_buf_init(&b, 0);
    OUT_LIT(&b, ",\"relay_below\":");
    json_num(&b, e->model->relay_max);
    OUT_LIT(&b, ",\"drop_from\":");
    json_num(&b, e->model->drop_min);
    OUT_LIT(&b, ",\"known_features\":");
    /* put_fixed() clamps to +-1e9: never longer than the room */
    e->thresholds_json_len = b.len < sizeof e->thresholds_json ? b.len : 0;
    memcpy(e->thresholds_json, core_buf_str(&b), e->thresholds_json_len);
    core_buf_cleanup(&b);
}

/* ======================= the task and the checks ======================= */

struct task {
    struct mod_engine *e;
    struct core_redis *redis;
    const struct mod_post *post;
    struct scratch *sc;
    struct mod_prep *prep;
    struct mod_result *res;
    struct core_buf *rs; /* reasons being written */
    int nreasons;
    /* what the checks found */
    const struct mod_phrase_hit *allow, *block, *hold;
    const struct mod_phrase_hit *urgent, *report;
    const struct mod_fp_entry *mark;
    double mark_score;
    int sight_ok;
    struct mod_sightings sight;
    double logp[MOD_NLABELS];
    size_t known;
    double u;          /* unwanted log-odds, forwarded shift included */
    int probation;
    int flood;
    int strikes;
    int deva_words;
};

/* Open a reason object: {"check":"NAME" ... the caller adds fields and
 * closes with "}". */
static void reason_open(struct task *t, const char *check)
{
    out_str(t->rs, t->nreasons > 0 ? ",{\"check\":\"" : "{\"check\":\"");
    out_str(t->rs, check); /* our own names, [a-z_]: nothing to escape */
    OUT_LIT(t->rs, "\"");
    t->nreasons++;
}

static int check_signals(struct task *t)
{
    unsigned sig = t->prep->signals;
    int first = 1;
    unsigned i;

    if (sig == 0)
        return 0;
    reason_open(t, "signals");
    OUT_LIT(t->rs, ",\"fired\":[");
    for (i = 0; i < MOD_SIG_COUNT; i++) {
        if ((sig & (1u << i)) == 0)
            continue;
        out_str(t->rs, first ? "\"" : ",\"");
        out_str(t->rs, mod_signal_name(i)); /* [A-Z_]: nothing to escape */
        OUT_LIT(t->rs, "\"");
        first = 0;
    }
    OUT_LIT(t->rs, "],\"emoji\":");
    put_uint(t->rs, t->prep->norm.n_emoji);
    OUT_LIT(t->rs, "}");
    return 1;
}

static int check_sender(struct task *t)
{
    const struct mod_sender *s = &t->post->sender;
    const struct mod_opts *o = &t->e->o;

    int64_t now;

    if (!s->known)
        return 0;
    now = t->post->now_ms != 0 ? t->post->now_ms : core_now_ms(); /* not for unknown senders */
    t->probation = s->posts < o->probation_posts ||
                   (s->joined_ms > 0 && now - s->joined_ms < (int64_t)o->probation_hours * 3600000);
    t->flood = o->flood_per_hour > 0 && s->posts_last_hour > o->flood_per_hour;
    t->strikes = o->strikes_hold > 0 && s->strikes >= o->strikes_hold;
    if (!t->probation && !t->flood && !t->strikes)
        return 0;
    reason_open(t, "sender");
    core_buf_printf(t->rs, ",\"new_member\":%s,\"flood\":%s,\"strikes\":%d,\"posts\":%ld}",
                    t->probation ? "true" : "false", t->flood ? "true" : "false", s->strikes,
                    s->posts);
    return 1;
}

static void phrase_reason(struct task *t, const char *check, const struct mod_phrase_hit *h)
{
    reason_open(t, check);
    OUT_LIT(t->rs, ",\"list\":");
    json_cstr(t->rs, mod_phrase_list_name(h->list));
    OUT_LIT(t->rs, ",\"tag\":");
    json_cstr(t->rs, h->tag);
    OUT_LIT(t->rs, ",\"phrase\":");
    json_cstr(t->rs, h->phrase);
    OUT_LIT(t->rs, "}");
}

static int check_phrases(struct task *t)
{
    struct scratch *sc = t->sc;
    size_t i;
    int fired = 0;

    sc->nhits =
        mod_phrases_match(t->e->phrases, &t->prep->toks, sc->hits, MOD_PHRASE_MAX_HITS);
    for (i = 0; i < sc->nhits; i++) {
        const struct mod_phrase_hit *h = &sc->hits[i];
        const struct mod_phrase_hit **slot = NULL;
        const char *check = "phrase";

        switch (h->list) {
        case MOD_LIST_ALLOW:
            slot = &t->allow;
            break;
        case MOD_LIST_BLOCK:
            slot = &t->block;
            break;
        case MOD_LIST_HOLD:
            slot = &t->hold;
            break;
        case MOD_LIST_URGENT:
            slot = &t->urgent;
            check = "urgent";
            break;
        case MOD_LIST_REPORT:
            slot = &t->report;
            check = "report";
            break;
        default:
            continue;
        }
        if (*slot != NULL)
            continue; /* the first hit of each list is enough */
        *slot = h;
        phrase_reason(t, check, h);
        fired = 1;
    }
    return fired;
}

static int check_templates(struct task *t)
{
    if (mod_fpstore_count(t->e->model->marks) == 0)
        return 0; /* nothing to compare with: no fingerprint needed */
    mod_prep_fp(t->prep);
    t->mark = mod_fpstore_lookup(t->e->model->marks, &t->prep->fp, &t->mark_score);
    if (t->mark == NULL)
        return 0;
    reason_open(t, "template");
    core_buf_printf(t->rs, ",\"mark\":\"%s\",\"label\":\"%s\",\"score\":",
                    t->mark->mark == MOD_MARK_GOOD ? "known_good" : "known_bad",
                    mod_label_name(t->mark->label));
    json_num(t->rs, t->mark_score);
    OUT_LIT(t->rs, "}");
    return 1;
}

static int check_sightings(struct task *t)
{
    const struct mod_post *p = t->post;
    struct core_err err;

    if (t->redis == NULL || p->member_id == NULL || p->group_id == NULL ||
        t->prep->norm.len == 0)
        return 0;
    core_err_clear(&err);
    mod_prep_fp(t->prep);
    if (mod_store_sight(t->redis, &t->prep->fp, p->member_id, p->group_id,
                        t->e->o.sightings_ttl_s, p->now_ms != 0 ? p->now_ms : core_now_ms(),
                        &t->sight, &err) != 0) {
        reason_open(t, "sightings");
        OUT_LIT(t->rs, ",\"error\":\"fingerprint store unavailable\"}");
        core_log_warn("moderation", NULL, "sightings skipped: %s", err.msg);
        return 1;
    }
    t->sight_ok = 1;
    memcpy(t->res->fingerprint, t->sight.id, MOD_FP_ID_HEX);
    t->res->seen_posts = t->sight.posts;
    t->res->seen_members = t->sight.members;
    t->res->seen_groups = t->sight.groups;
    if (t->sight.posts <= 1)
        return 0;
    reason_open(t, "sightings");
    core_buf_printf(t->rs, ",\"posts\":%ld,\"members\":%ld,\"groups\":%ld}", t->sight.posts,
                    t->sight.members, t->sight.groups);
    return 1;
}

static int check_classifier(struct task *t)
{
    const struct mod_model *m = t->e->model;
    unsigned c;
    unsigned best = MOD_LEGIT;

    t->known = mod_bayes_classify(&m->nb, t->prep->feats.v, t->prep->feats.n, t->logp);
    t->u = mod_model_score(&m->fopts, t->logp, t->known);
    if (t->post->forwarded && !t->post->frequently_forwarded)
        t->u += t->e->o.forwarded_shift;
    for (c = 0; c < MOD_NLABELS; c++) {
        t->res->scores[c] = t->logp[c] == -INFINITY ? 0 : exp(t->logp[c]);
        if (t->logp[c] > t->logp[best])
            best = c;
    }
    t->res->unwanted = t->u;
    reason_open(t, "classifier");
    OUT_LIT(t->rs, ",\"label\":\"");
    out_str(t->rs, mod_label_name((enum mod_label)best));
    OUT_LIT(t->rs, "\",\"p\":");
    json_num(t->rs, t->res->scores[best]);
    OUT_LIT(t->rs, ",\"unwanted\":");
    json_num(t->rs, t->u);
    /* ,"relay_below":...,"drop_from":...,"known_features": (the model's
     * thresholds never change while the engine has it: written once) */
    out_put(t->rs, t->e->thresholds_json, t->e->thresholds_json_len);
    put_uint(t->rs, t->known);
    OUT_LIT(t->rs, "}");
    return 1;
}

/* The registry: run in this order, all of them, for every post. */
struct mod_check {
    const char *name;
    int (*run)(struct task *t); /* 1 fired, 0 nothing to say */
    int locked;                 /* reads the model or lists: under the read lock */
};

static const struct mod_check checks[] = {
    {.name = "signals", .run = check_signals, .locked = 0},
    {.name = "sender", .run = check_sender, .locked = 0},
    {.name = "phrases", .run = check_phrases, .locked = 1},
    {.name = "templates", .run = check_templates, .locked = 1},
    {.name = "classifier", .run = check_classifier, .locked = 1},
    {.name = "sightings", .run = check_sightings, .locked = 0},
};

#define NCHECKS (sizeof checks / sizeof checks[0])

/* ======================= the decision ======================= */

static enum mod_label label_of_tag(const char *tag, enum mod_label fallback)
{
    enum mod_label l;

    if (mod_label_parse(tag, strlen(tag), &l) == 0)
        return l;
    return fallback;
}

/* The most likely class, and the most likely unwanted class. */
static enum mod_label argmax(const double *logp, int unwanted_only)
{
    unsigned best = unwanted_only ? 1 : 0;
    unsigned c;

    for (c = best + 1; c < MOD_NLABELS; c++) {
        if (logp[c] > logp[best])
            best = c;
    }
    return (enum mod_label)best;
}

/*
 * True if s[0..len) is one of the common Hinglish words below. The words
 * are grouped by their first letter, each group a run of entries of one
 * length byte and up to 7 letters, so a token is compared with a handful
 * of words and most of them are rejected by the length alone.
 */
struct hinglish_entry {
    uint8_t len;
    char w[7];
};

#define HW(s) {sizeof(s) - 1, s}

static const struct hinglish_entry hinglish_words[] = {
    HW("aur"),   HW("aap"),    HW("ap"),    HW("abhi"),   HW("apna"),    HW("apne"),
    HW("bhi"),   HW("bhai"),   HW("baithe"), HW("chahiye"), HW("diya"),   HW("gaon"),
    HW("gaya"),  HW("gayi"),   HW("hai"),   HW("hain"),   HW("ho"),      HW("hum"),
    HW("hamare"), HW("hamara"), HW("ji"),   HW("jaldi"),  HW("ka"),      HW("ki"),
    HW("ke"),    HW("ko"),     HW("kya"),   HW("kar"),    HW("karo"),    HW("kare"),
    HW("karen"), HW("kal"),    HW("kaise"), HW("kahan"),  HW("log"),     HW("liye"),
    HW("mein"),  HW("me"),     HW("mera"),  HW("meri"),   HW("nahi"),    HW("nhi"),
    HW("par"),   HW("pe"),     HW("raha"),  HW("rahe"),   HW("se"),      HW("sab"),
    HW("sabhi"), HW("tum"),    HW("woh"),   HW("wo"),     HW("yeh"),     HW("ye"),
};

#undef HW

static int hinglish_word(const char *s, size_t len)
{
    /* [first letter - 'a'] = index of its first entry; the group ends where
     * the next letter's begins (letters without words have empty groups);
     * test_mod_engine checks every word and its neighbours */
    static const uint8_t starts[27] = {
        0, 6, 9, 10, 11, 11, 11, 14, 20, 20, 22, 34, 36, 40, 42, 42, 44, 44, 46, 49, 50, 50, 50,
        52, 52, 54, 54,
    };
    const char *w;
    size_t i;

    if (len == 0 || len > sizeof hinglish_words[0].w || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (i = starts[s[0] - 'a']; i < starts[s[0] - 'a' + 1]; i++) {
        size_t k;

        if (hinglish_words[i].len != len)
            continue;
        w = hinglish_words[i].w;
        for (k = 1; k < len && w[k] == s[k]; k++)
            ;
        if (k == len)
            return 1;
    }
    return 0;
}

static size_t hinglish_slot(uint64_t h)
{
    return (size_t)(h >> 40) & (HINGLISH_SET - 1);
}

/* The set of the Hinglish words' token hashes (mod_tok.hash), so that a
 * word is tested with one probe; a hit is confirmed by hinglish_word(). */
static void hinglish_set_fill(uint64_t set[HINGLISH_SET])
{
    size_t i;

    _Static_assert(sizeof hinglish_words / sizeof hinglish_words[0] * 2 <= HINGLISH_SET,
                   "the set stays at most half full");
    memset(set, 0, HINGLISH_SET * sizeof set[0]);
    for (i = 0; i < sizeof hinglish_words / sizeof hinglish_words[0]; i++) {
        uint64_t h = mod_hash64(hinglish_words[i].w, hinglish_words[i].len,
                                MOD_SEED_TOKEN + MOD_TOK_WORD);
        size_t s = hinglish_slot(h);

        while (set[s] != 0)
            s = (s + 1) & (HINGLISH_SET - 1);
        set[s] = h;
    }
}

/* True if word token i is a Hinglish word: by its hash when the tokens
 * carry hashes, then by its text. */
static int hinglish_tok(const uint64_t set[HINGLISH_SET], const struct mod_toks *t, size_t i)
{
    const struct mod_tok *k = &t->v[i];
    size_t s;

    if (!t->hashed)
        return hinglish_word(mod_tok_text(t, i), k->len);
    for (s = hinglish_slot(k->hash); set[s] != 0; s = (s + 1) & (HINGLISH_SET - 1)) {
        if (set[s] == k->hash)
            return hinglish_word(mod_tok_text(t, i), k->len);
    }
    return 0;
}

/* Hindi (Devanagari or Hinglish) or English, for the notice. */
static const char *guess_lang(const struct mod_engine *e, const struct mod_prep *p)
{
    unsigned hits = 0;
    size_t i;

    if (p->norm.n_deva > 0 && p->norm.n_deva >= p->norm.n_latin)
        return "hi";
    for (i = 0; i < p->toks.n && hits < 2; i++) {
        const struct mod_tok *k = &p->toks.v[i];

        if (k->type != MOD_TOK_WORD || k->len > 7)
            continue;
        hits += (unsigned)hinglish_tok(e->hinglish, &p->toks, i);
    }
    return hits >= 2 ? "hi" : "en";
}

static void decide(struct task *t)
{
    const struct mod_opts *o = &t->e->o;
    const struct mod_model *m = t->e->model;
    struct mod_result *r = t->res;
    unsigned sig = t->prep->signals;
    int risky_links = (sig & (MOD_SIG_URL | MOD_SIG_PHONE | MOD_SIG_UPI)) != 0;
    int obfuscated = (sig & (MOD_SIG_INVISIBLE | MOD_SIG_MIXED_SCRIPT | MOD_SIG_SPACED)) != 0;
    int chain = t->sight_ok && t->sight.members >= o->chain_members &&
                t->sight.groups >= o->chain_groups;

    r->label = argmax(t->logp, 0);
    if (t->known == 0)
        r->label = MOD_LEGIT;
    if (t->allow != NULL) {
        r->verdict = MOD_RELAY;
        r->rule = "allow_list";
        r->label = MOD_LEGIT;
    } else if (t->mark != NULL && t->mark->mark == MOD_MARK_GOOD) {
        r->verdict = MOD_RELAY;
        r->rule = "known_good";
        r->label = t->mark->label;
    } else if (t->strikes) {
        r->verdict = MOD_HOLD;
        r->rule = "strikes";
    } else if (t->flood) {
        r->verdict = MOD_HOLD;
        r->rule = "flood";
    } else if (t->block != NULL) {
        r->verdict = MOD_DROP;
        r->rule = "block_list";
        r->label = label_of_tag(t->block->tag, argmax(t->logp, 1));
    } else if (t->mark != NULL) {
        r->verdict = MOD_DROP;
        r->rule = "known_bad";
        r->label = t->mark->label;
    } else if ((t->hold != NULL || chain) && t->u >= m->drop_min) {
        /* a hold phrase or a spreading chain never softens a sure drop */
        r->verdict = MOD_DROP;
        r->rule = "classifier_drop";
        r->label = argmax(t->logp, 1);
    } else if (t->hold != NULL) {
        r->verdict = MOD_HOLD;
        r->rule = "hold_list";
        r->label = label_of_tag(t->hold->tag, argmax(t->logp, 1));
    } else if (chain) {
        r->verdict = MOD_HOLD;
        r->rule = "chain_spread";
        if (r->label == MOD_LEGIT)
            r->label = MOD_RUMOUR;
    } else if (t->known == 0 && (sig & MOD_SIG_MEDIA_NO_CAPTION) == 0) {
        r->verdict = MOD_RELAY;
        r->rule = "no_evidence";
    } else if (t->u >= m->drop_min) {
        r->verdict = MOD_DROP;
        r->rule = "classifier_drop";
        r->label = argmax(t->logp, 1);
    } else if (t->u >= m->relay_max) {
        r->verdict = MOD_HOLD;
        r->rule = "classifier_hold";
        r->label = argmax(t->logp, 1);
    } else {
        r->verdict = MOD_RELAY;
        r->rule = "classifier_relay";
    }
    /* signals that only ever make a relayed post wait for review */
    if (r->verdict == MOD_RELAY && strncmp(r->rule, "classifier", 10) == 0) {
        size_t words = t->prep->toks.count[MOD_TOK_WORD] + t->prep->toks.count[MOD_TOK_NUM];

        if (t->post->frequently_forwarded) {
            r->verdict = MOD_HOLD;
            r->rule = "forwarded_many";
        } else if (t->probation && (t->u >= 0 || risky_links)) {
            r->verdict = MOD_HOLD;
            r->rule = "new_member";
        } else if (obfuscated && t->u >= 0) {
            r->verdict = MOD_HOLD;
            r->rule = "obfuscation";
        } else if (words <= 3 && r->label != MOD_LEGIT && t->u >= 0 && t->report == NULL &&
                   t->urgent == NULL) {
            /* "सुप्रभात", "जय हिंद": little evidence, not a report */
            r->verdict = MOD_HOLD;
            r->rule = "short_unwanted";
        }
    }
    if (r->verdict == MOD_RELAY && (sig & MOD_SIG_MEDIA_NO_CAPTION) != 0 &&
        (t->post->forwarded || t->post->frequently_forwarded || t->probation)) {
        r->verdict = MOD_HOLD;
        r->rule = "media_no_caption";
    }
    if (t->urgent != NULL) {
        r->urgent = true;
        snprintf(r->urgent_kind, sizeof r->urgent_kind, "%s", t->urgent->tag);
        if (r->verdict == MOD_DROP) {
            r->verdict = MOD_HOLD;
            r->rule = "urgent_never_dropped";
        }
    }
    r->is_report = t->report != NULL || t->urgent != NULL;
    /* a report relayed by the classifier is what it says, whatever class its
     * words resemble most */
    if (r->verdict == MOD_RELAY && r->is_report && strcmp(r->rule, "classifier_relay") == 0)
        r->label = MOD_LEGIT;
    r->lang = guess_lang(t->e, t->prep);
    reason_open(t, "decision");
    OUT_LIT(t->rs, ",\"rule\":\"");
    out_str(t->rs, r->rule);
    OUT_LIT(t->rs, "\",\"verdict\":\"");
    out_str(t->rs, mod_verdict_name(r->verdict));
    OUT_LIT(t->rs, "\",\"label\":\"");
    out_str(t->rs, mod_label_name(r->label));
    OUT_LIT(t->rs, "\"}");
}

/* ======================= classify ======================= */

int mod_classify(struct mod_engine *e, struct core_redis *redis, const struct mod_post *post,
                 struct mod_result *out, struct core_err *err)
{
    struct task t;
    size_t i;

    memset(out, 0, sizeof *out);
    core_buf_init(&out->reasons, REASONS_MAX);
    /* room for the usual reasons at once, instead of four reallocations */
    out->reasons.cap = REASONS_START;
    out->reasons.data = core_malloc(REASONS_START);
    out->reasons.data[0] = '\0';
    out->seen_posts = out->seen_members = out->seen_groups = -1;
    out->rule = "none";
    out->lang = "hi";
    if (post == NULL)
        return core_err_set(err, CORE_EX_SOFTWARE, "moderation: no post");
    memset(&t, 0, sizeof t);
    t.e = e;
    t.redis = redis;
    t.post = post;
    t.res = out;
    t.rs = &out->reasons;
    t.sc = scratch_get(e);
    t.prep = &t.sc->prep;
    /* the fingerprint only when marks or sightings ask for it */
    mod_prep_run_nofp(t.prep, post, &e->model->fopts, e->o.emoji_many);
    OUT_LIT(t.rs, "[");
    for (i = 0; i < NCHECKS; i++) {
        /* consecutive checks that read the model share one read lock */
        if (checks[i].locked && (i == 0 || !checks[i - 1].locked))
            pthread_rwlock_rdlock(&e->lock);
        checks[i].run(&t);
        if (checks[i].locked && (i + 1 == NCHECKS || !checks[i + 1].locked))
            pthread_rwlock_unlock(&e->lock);
    }
    pthread_rwlock_rdlock(&e->lock);
    decide(&t);
    pthread_rwlock_unlock(&e->lock);
    OUT_LIT(t.rs, "]");
    scratch_put(e, t.sc);
    return 0;
}

void mod_result_cleanup(struct mod_result *r)
{
    core_buf_cleanup(&r->reasons);
}

int mod_result_write_json(const struct mod_result *r, struct core_buf *out)
{
    unsigned c;
    int rc = 0;

    size_t before = out->len;

    rc |= OUT_LIT(out, "{\"label\":\"");
    rc |= out_put(out, mod_label_name(r->label), mod_label_name_len(r->label));
    rc |= OUT_LIT(out, "\",\"verdict\":\"");
    rc |= out_str(out, mod_verdict_name(r->verdict));
    rc |= out_str(out, r->urgent ? "\",\"urgent\":true,\"scores\":{"
                                       : "\",\"urgent\":false,\"scores\":{");
    for (c = 0; c < MOD_NLABELS; c++) {
        if (c > 0)
            rc |= OUT_LIT(out, ",\"");
        else
            rc |= OUT_LIT(out, "\"");
        rc |= out_put(out, mod_label_name((enum mod_label)c),
                      mod_label_name_len((enum mod_label)c));
        rc |= OUT_LIT(out, "\":");
        put_fixed(out, r->scores[c], 4);
    }
    rc |= OUT_LIT(out, "},\"reasons\":");
    if (r->reasons.len > 0)
        rc |= out_put(out, r->reasons.data, r->reasons.len);
    else
        rc |= OUT_LIT(out, "[]");
    rc |= out_str(out, r->is_report ? ",\"report\":true,\"rule\":\""
                                          : ",\"report\":false,\"rule\":\"");
    rc |= out_str(out, r->rule);
    rc |= OUT_LIT(out, "\"}");
    if (rc != 0) {
        out->len = before; /* never leave half an object */
        if (out->data != NULL)
            out->data[before] = '\0';
        return -1;
    }
    return 0;
}

json_t *mod_result_json(const struct mod_result *r)
{
    struct core_buf b;
    json_t *o;

    core_buf_init(&b, 0);
    mod_result_write_json(r, &b);
    o = json_loads(core_buf_str(&b), 0, NULL);
    core_buf_cleanup(&b);
    if (o == NULL)
        o = json_object();
    json_object_set_new(o, "lang", json_string(r->lang));
    json_object_set_new(o, "urgent_kind", json_string(r->urgent_kind));
    json_object_set_new(o, "unwanted", json_real(r->unwanted));
    json_object_set_new(o, "fingerprint", json_string(r->fingerprint));
    json_object_set_new(o, "seen_posts", json_integer(r->seen_posts));
    json_object_set_new(o, "seen_members", json_integer(r->seen_members));
    json_object_set_new(o, "seen_groups", json_integer(r->seen_groups));
    return o;
}

/* ======================= feedback ======================= */

static void apply_feedback(struct mod_engine *e, enum mod_label label, unsigned flags,
                           const uint32_t *feats, size_t nf, const struct mod_fp *fp)
{
    struct mod_model *m = e->model;

    if (flags & MOD_FB_UNLEARN)
        mod_bayes_learn(&m->nb, feats, nf, label, -1);
    if (flags & MOD_FB_LEARN) {
        mod_bayes_learn(&m->nb, feats, nf, label, 1);
        m->learned++;
    }
    if (flags & MOD_FB_MARK)
        mod_fpstore_add(m->marks, fp, label == MOD_LEGIT ? MOD_MARK_GOOD : MOD_MARK_BAD, label);
}

int mod_feedback(struct mod_engine *e, struct core_redis *redis, const struct mod_post *post,
                 enum mod_label label, unsigned flags, struct core_err *err)
{
    struct scratch *sc;
    int rc = 0;

    if (post == NULL || (unsigned)label >= MOD_NLABELS || flags == 0 || flags > 7)
        return core_err_set(err, CORE_EX_SOFTWARE, "moderation: bad feedback arguments");
    sc = scratch_get(e);
    mod_prep_run(&sc->prep, post, &e->model->fopts, e->o.emoji_many);
    if (redis == NULL) {
        pthread_rwlock_wrlock(&e->lock);
        apply_feedback(e, label, flags, sc->prep.feats.v, sc->prep.feats.n, &sc->prep.fp);
        pthread_rwlock_unlock(&e->lock);
    } else {
        rc = mod_store_feedback_add(redis, e->fopts_id, label, flags, sc->prep.feats.v,
                                    sc->prep.feats.n, &sc->prep.fp, err);
    }
    scratch_put(e, sc);
    if (rc != 0)
        return -1;
    if (redis != NULL && mod_engine_sync(e, redis, err) < 0)
        return -1;
    return 0;
}

struct pending {
    enum mod_label label;
    unsigned flags;
    uint32_t *f;
    size_t nf;
    struct mod_fp fp;
    int skip;
};

struct batch {
    struct pending v[SYNC_BATCH];
    size_t n;
    const char *fopts_id;
    long foreign;
};

static void collect(void *ud, const char *id, const char *opts, enum mod_label label,
                    unsigned flags, const uint32_t *feats, size_t nf, const struct mod_fp *fp)
{
    struct batch *b = ud;
    struct pending *p;

    (void)id;
    if (b->n >= SYNC_BATCH)
        return;
    p = &b->v[b->n++];
    p->skip = strcmp(opts, b->fopts_id) != 0;
    b->foreign += p->skip;
    p->label = label;
    p->flags = flags;
    p->f = core_memdup(feats, nf * sizeof feats[0]);
    p->nf = nf;
    p->fp = *fp;
}

long mod_engine_sync(struct mod_engine *e, struct core_redis *redis, struct core_err *err)
{
    struct batch *b = core_calloc(1, sizeof *b);
    char after[MOD_FEEDBACK_ID_MAX];
    char last[64];
    long total = 0;
    long skipped = 0;
    long long ver = 0;

    if (redis == NULL) {
        free(b);
        return 0;
    }
    b->fopts_id = e->fopts_id;
    pthread_rwlock_rdlock(&e->lock);
    snprintf(after, sizeof after, "%s", e->model->feedback_id);
    pthread_rwlock_unlock(&e->lock);
    for (;;) {
        long n;
        size_t i;

        b->n = 0;
        last[0] = '\0';
        n = mod_store_feedback_read(redis, after, SYNC_BATCH, collect, b, last, &skipped, err);
        if (n < 0) {
            free(b);
            return -1;
        }
        if (n == 0)
            break;
        pthread_rwlock_wrlock(&e->lock);
        for (i = 0; i < b->n; i++) {
            if (!b->v[i].skip)
                apply_feedback(e, b->v[i].label, b->v[i].flags, b->v[i].f, b->v[i].nf,
                               &b->v[i].fp);
            free(b->v[i].f);
        }
        snprintf(e->model->feedback_id, sizeof e->model->feedback_id, "%s", last);
        pthread_rwlock_unlock(&e->lock);
        snprintf(after, sizeof after, "%s", last);
        total += n;
        if (n < SYNC_BATCH)
            break;
    }
    if (skipped > 0 || b->foreign > 0)
        core_log_warn("moderation", NULL,
                      "feedback: skipped %ld malformed and %ld entries of other feature options",
                      skipped, b->foreign);
    free(b);
    /* operator phrases */
    if (mod_store_phrases_version(redis, &ver, err) != 0)
        return -1;
    if (ver != e->phrases_ver) {
        struct core_buf text;
        struct mod_phrases *np;
        struct mod_phrases *old;

        core_buf_init(&text, 16 * 1024 * 1024);
        if (mod_store_phrases_get(redis, &text, err) != 0) {
            core_buf_cleanup(&text);
            return -1;
        }
        np = build_phrases(e, core_buf_str(&text), text.len, err);
        core_buf_cleanup(&text);
        if (np == NULL) {
            /* keep the lists in use; a bad operator line must not stop moderation */
            core_log_warn("moderation", NULL, "operator phrases not applied: %s", err->msg);
            core_err_clear(err);
            e->phrases_ver = ver;
            return total;
        }
        pthread_rwlock_wrlock(&e->lock);
        old = e->phrases;
        e->phrases = np;
        e->phrases_ver = ver;
        pthread_rwlock_unlock(&e->lock);
        mod_phrases_free(old);
    }
    return total;
}

/* ======================= notices and the built-in model ======================= */

static char *notice_texts[MOD_NLABELS][2]; /* [label][0 = hi, 1 = en], set once */
static pthread_once_t notice_once = PTHREAD_ONCE_INIT;

/* Parse the shipped rules/notices.tsv: LABEL<TAB>LANG<TAB>TEXT. */
static void notices_load(void)
{
    const struct mod_seed_file *f = mod_seed_find("rules/notices.tsv");
    const char *s;
    const char *end;

    if (f == NULL)
        return;
    s = f->data;
    end = f->data + f->len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl != NULL ? nl : end;
        const char *t1 = memchr(s, '\t', (size_t)(le - s));
        const char *t2 = t1 != NULL ? memchr(t1 + 1, '\t', (size_t)(le - t1 - 1)) : NULL;
        enum mod_label l;

        if (s[0] != '#' && t2 != NULL && mod_label_parse(s, (unsigned long)(t1 - s), &l) == 0 &&
            t2 - t1 == 3) {
            int en = memcmp(t1 + 1, "en", 2) == 0;

            if (en || memcmp(t1 + 1, "hi", 2) == 0) {
                free(notice_texts[l][en]);
                notice_texts[l][en] = core_strndup(t2 + 1, (size_t)(le - t2 - 1));
            }
        }
        s = le + 1;
    }
}

const char *mod_notice(enum mod_label label, const char *lang)
{
    static const char *const fallback[2] = {
        "आपका संदेश समूह में नहीं "
        "भेजा गया। यह समूह केवल गाँव की "
        "सुरक्षा और "
        "पुलिस से जुड़ी सूचनाओं के लिए है। "
        "धन्यवाद।",
        "Your message was not posted to the group. This group is only for safety and police "
        "matters in your area. Thank you.",
    };
    int en = lang == NULL || strcmp(lang, "hi") != 0;

    pthread_once(&notice_once, notices_load);
    if ((unsigned)label < MOD_NLABELS && notice_texts[label][en] != NULL)
        return notice_texts[label][en];
    return fallback[en];
}

/* Feed the lines LABEL<TAB>TEXT of an embedded file to the trainer. */
static void train_file(struct mod_trainer *t, const struct mod_seed_file *f)
{
    const char *s = f->data;
    const char *end = f->data + f->len;

    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl != NULL ? nl : end;
        const char *tab = memchr(s, '\t', (size_t)(le - s));
        enum mod_label l;

        if (s[0] != '#' && tab != NULL && mod_label_parse(s, (unsigned long)(tab - s), &l) == 0)
            mod_trainer_add(t, l, tab + 1, (size_t)(le - tab - 1));
        s = le + 1;
    }
}

/* Marks: MARK<TAB>LABEL<TAB>TEXT with MARK bad or good. */
static void mark_file(struct mod_trainer *t, const struct mod_seed_file *f)
{
    const char *s = f->data;
    const char *end = f->data + f->len;

    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl != NULL ? nl : end;
        const char *t1 = memchr(s, '\t', (size_t)(le - s));
        const char *t2 = t1 != NULL ? memchr(t1 + 1, '\t', (size_t)(le - t1 - 1)) : NULL;
        enum mod_label l;

        if (s[0] != '#' && t2 != NULL &&
            mod_label_parse(t1 + 1, (unsigned long)(t2 - t1 - 1), &l) == 0) {
            if (t1 - s == 3 && memcmp(s, "bad", 3) == 0)
                mod_trainer_add_mark(t, MOD_MARK_BAD, l, t2 + 1, (size_t)(le - t2 - 1));
            else if (t1 - s == 4 && memcmp(s, "good", 4) == 0)
                mod_trainer_add_mark(t, MOD_MARK_GOOD, l, t2 + 1, (size_t)(le - t2 - 1));
        }
        s = le + 1;
    }
}

struct mod_model *mod_builtin_model(void)
{
    struct mod_trainer *t = mod_trainer_new(NULL);
    struct mod_model *m;
    size_t i;

    for (i = 0; i < mod_seed_nfiles; i++) {
        const struct mod_seed_file *f = &mod_seed_files[i];

        if (strncmp(f->name, "seed/", 5) != 0)
            continue;
        if (strcmp(f->name, "seed/marks.tsv") == 0)
            mark_file(t, f);
        else
            train_file(t, f);
    }
    m = mod_trainer_build(t, NULL, NULL, 5, MOD_TARGET_BLOCKED, MOD_TARGET_DROPPED, NULL, NULL);
    mod_trainer_free(t);
    return m;
}
