/*
 * groups/broadcast.h - officer alerts and operator broadcasts as jobs:
 * prepare (scope, reach, 24 h window, cost), confirm, fan-out in batches,
 * live counters, cancel, and a final report to the officer.
 *
 * Life of a broadcast (state `st` in js:bc:{BID}):
 *
 *   draft --confirm--> confirmed --worker--> running --> sending --> done
 *     |                    |                    |        |  (report sent)
 *     +-- expires          +------ cancel ------+--------+--> cancelled (report when
 *                                                     anything was queued)
 *
 * grp_bc_prepare() checks the request and the actor's jurisdiction, counts
 * the members of the scope (exactly up to broadcast_preview_max members,
 * else from a sample), estimates the cost from the configured prices and
 * stores a draft that expires after broadcast_draft_ttl_s. Nothing is sent
 * before grp_bc_confirm(). The fan-out runs in a worker thread of `janseva
 * serve` (grp_bc_worker_start; any number of processes share the work
 * through js:bcs:live and a lease per job), never in the caller: it walks
 * the localities under the scope in code order, reads their membership sets
 * in batches, skips members who are not active, and queues one message per
 * member on the alert lane with the idempotency key bc:<BID>:<MID> (text
 * inside the member's 24 h window, the template outside it). After each
 * batch the cursor is saved; a restarted or other worker resumes from it,
 * and the outbox's keys make the repeated part of a batch queue nothing
 * twice. Counters: targeted (members examined), queued, skipped (not
 * active) are exact, counted through a per-job set of handled members;
 * sent, delivered, read, failed are kept by the delivery handler
 * (gateway/dispatch.h).
 *
 * Redis layout, docs/broadcasts.md:
 *   js:bc:{BID}          hash  the job, its cursor and counters
 *   js:bc:{BID}:q        set   members handled so far (16-byte ids; deleted
 *                              when the fan-out ends)
 *   js:bc:{BID}:lease    str   the worker that runs it (PX lease)
 *   js:bcs               zset  every broadcast by creation time (lists)
 *   js:bcs:live          zset  jobs the workers must look at, by due time
 *
 * Every creation, confirmation and cancellation is audited (crypto/audit.h)
 * with the broadcast id, scope and numbers, never the text. The alert text
 * is sealed in the job (vault purpose PII, record id = BID, field "bc").
 *
 * Thread-safety: a struct grp_bc is shared by every thread; each call takes
 * the caller's Redis connection.
 */
#ifndef JANSEVA_GROUPS_BROADCAST_H
#define JANSEVA_GROUPS_BROADCAST_H

#include "core/config.h"
#include "core/err.h"
#include "core/redis.h"
#include "crypto/keys.h"
#include "groups/hier.h"
#include "groups/officer.h"

#include <jansson.h>
#include <stdint.h>

#define GRP_BC_ID_LEN 17          /* 16 hex digits + NUL */
#define GRP_BC_TEXT_MAX 900       /* characters of an alert (fits a template parameter) */
#define GRP_BC_MAX_PARAMS 10      /* template body parameters */
#define GRP_BC_PARAM_MAX 900      /* characters of one parameter */
#define GRP_BC_TEMPLATE_MAX 512   /* bytes of a template name */
#define GRP_BC_ACTOR_MAX 96       /* bytes of an audit actor name */
#define GRP_BC_LIVE_KEY "js:bcs:live"
#define GRP_BC_INDEX_KEY "js:bcs"

struct grp_bc;
struct cry_audit;

/* Results of the calls an officer's conversation or the API make. */
enum grp_bc_rc {
    GRP_BC_OK = 0,
    GRP_BC_EFAIL = -1,     /* Redis or internal; err->code CORE_EX_UNAVAILABLE = retry later */
    GRP_BC_ENOTFOUND = 1,  /* no such broadcast, unit or officer */
    GRP_BC_EFORBIDDEN = 2, /* outside the actor's jurisdiction */
    GRP_BC_EINVALID = 3,   /* bad request: text, template, parameters, scope */
    GRP_BC_EEXPIRED = 4,   /* a draft older than broadcast_draft_ttl_s */
    GRP_BC_ESTATE = 5,     /* not possible in the job's state (e.g. confirm after cancel) */
};

/* The sysexits code of a result (CLI exit status): 0, 66, 77, 65, 65, 65,
 * or err->code for GRP_BC_EFAIL. */
int grp_bc_exit_code(enum grp_bc_rc rc, const struct core_err *err);

/* Who acts: an operator (CLI, API token) or a registered officer. */
enum grp_bc_actor_kind { GRP_BC_OPERATOR = 0, GRP_BC_OFFICER = 1 };

struct grp_bc_actor {
    enum grp_bc_actor_kind kind;
    char name[GRP_BC_ACTOR_MAX]; /* audit actor: "cli:<user>", "api:<name>", "officer:<code>" */
    struct grp_officer officer;  /* GRP_BC_OFFICER only */
};

/* An operator actor named `name` (e.g. "cli:ram"). */
void grp_bc_actor_operator(struct grp_bc_actor *a, const char *name);

/* The officer with code `code` (or, for _mid, member `mid`) as the actor.
 * Returns GRP_BC_OK, GRP_BC_ENOTFOUND (not an officer) or GRP_BC_EFAIL. */
enum grp_bc_rc grp_bc_actor_officer_code(struct core_redis *r, const char *code,
                                         struct grp_bc_actor *a, struct core_err *err);
enum grp_bc_rc grp_bc_actor_officer_mid(struct core_redis *r, const char *mid,
                                        struct grp_bc_actor *a, struct core_err *err);

/* What to broadcast. Everything borrowed for the call. */
struct grp_bc_req {
    const char *scope;        /* unit code; NULL = the officer's own unit */
    const char *text;         /* one text for everybody, or NULL */
    const char *text_hi;      /* or per language (members get theirs, else the other) */
    const char *text_en;
    const char *template_name; /* or an approved template (sent as is, in and out of window) */
    const char *const *params; /* its body parameters */
    size_t n_params;
    const char *lang;         /* template language; NULL = each member's (hi or en) */
    const char *category;     /* the template's Meta category, utility|marketing; NULL:
                               * broadcast_category */
    const char *idem;         /* idempotency key (e.g. the event key of the officer's
                               * ALERT message): the same key gives the same draft; or NULL */
};

/* Reach and cost of a scope (a preview). */
struct grp_bc_reach {
    char scope[GRP_CODE_MAX + 1];
    enum grp_kind kind;
    char name_en[GRP_NAME_MAX + 1];
    char name_hi[GRP_NAME_MAX + 1];
    long localities;    /* localities under the scope */
    long members;       /* entries of their membership sets */
    long reach;         /* active members (those a broadcast goes to) */
    long in_window;     /* of those, inside their 24 h window now (text is free for them) */
    int estimated;      /* reach and in_window scaled from a sample */
    long sampled;       /* members read */
    char category[16];  /* "utility" or "marketing": what is charged */
    long charged;       /* messages charged: templates outside the window (marketing: all) */
    long price;         /* INR per charged message, 1/10000 units */
    long long cost;     /* estimated INR, 1/10000 units */
};

/* A prepared draft. */
struct grp_bc_preview {
    char id[GRP_BC_ID_LEN];
    struct grp_bc_reach reach;
    int64_t expires_ms; /* wall clock: confirm before this */
};

/* A job as stored, for status screens and the report. */
struct grp_bc_status {
    char id[GRP_BC_ID_LEN];
    char state[16];          /* draft, confirmed, running, sending, done, cancelled, expired */
    char creator[GRP_BC_ACTOR_MAX];
    char officer[GRP_CODE_MAX + 1]; /* creating officer's code, or "" */
    char content[12];        /* "text" or "template" */
    char template_name[GRP_BC_TEMPLATE_MAX + 1];
    struct grp_bc_reach reach; /* the preview's numbers */
    long long targeted, queued, skipped, sent, delivered, read, failed;
    int64_t created_ms, expires_ms, confirmed_ms, fanned_ms, cancelled_ms, done_ms;
    int64_t report_ms;       /* when the final report was made (0: not yet) */
    int report_sent;         /* 1 when it went to the officer over WhatsApp */
    char cursor[GRP_CODE_MAX + 1]; /* locality the fan-out reached */
};

/* ---- the engine ---- */

/*
 * Create the engine from the settings (copied), `keys` and `audit`
 * (borrowed; audit may be NULL in tests). Never fails.
 */
struct grp_bc *grp_bc_new(const struct core_cfg *cfg, const struct cry_keys *keys,
                          struct cry_audit *audit);

/* Free; NULL is a no-op. */
void grp_bc_free(struct grp_bc *bc);

/* Register the broadcast metrics. */
void grp_bc_metrics_init(void);

/* True for a well-formed broadcast id. */
int grp_bc_id_ok(const char *id);

/* ---- what the ALERT conversation, the API and the CLI call ---- */

/*
 * Reach and cost of sending `req` (content kind and category matter) to
 * `scope` as `who` (NULL: no jurisdiction check). Nothing is stored.
 * Returns GRP_BC_OK, ENOTFOUND (unit), EFORBIDDEN, EINVALID or EFAIL.
 */
enum grp_bc_rc grp_bc_estimate(struct grp_bc *bc, struct core_redis *r,
                               const struct grp_bc_actor *who, const char *scope,
                               const struct grp_bc_req *req, struct grp_bc_reach *out,
                               struct core_err *err);

/*
 * Check `req`, the scope (req->scope, or the officer's unit) and `who`'s
 * jurisdiction, estimate reach and cost, and store a draft: out->id names
 * it for grp_bc_confirm / grp_bc_cancel. With req->idem set, preparing
 * again returns the same draft (a replayed message). Audited as
 * broadcast.create. Returns GRP_BC_OK, ENOTFOUND, EFORBIDDEN, EINVALID or
 * EFAIL.
 */
enum grp_bc_rc grp_bc_prepare(struct grp_bc *bc, struct core_redis *r,
                              const struct grp_bc_actor *who, const struct grp_bc_req *req,
                              struct grp_bc_preview *out, struct core_err *err);

/*
 * Confirm draft `id`: the fan-out starts in a worker. Officers may confirm
 * their own drafts and those inside their jurisdiction. Confirming again is
 * GRP_BC_OK (a replayed button). Audited as broadcast.confirm. Returns
 * GRP_BC_OK, ENOTFOUND, EFORBIDDEN, EEXPIRED, ESTATE (cancelled) or EFAIL.
 */
enum grp_bc_rc grp_bc_confirm(struct grp_bc *bc, struct core_redis *r,
                              const struct grp_bc_actor *who, const char *id,
                              struct core_err *err);

/*
 * Cancel `id` (a draft, a confirmed or running fan-out: it stops after the
 * batch in progress, or one still sending: messages still queued are
 * dropped by the dispatcher's send check, groups/sendcheck.h). Cancelling
 * again is GRP_BC_OK. Audited as broadcast.cancel. Returns GRP_BC_OK,
 * ENOTFOUND, EFORBIDDEN, ESTATE (done: everything had gone out) or EFAIL.
 */
enum grp_bc_rc grp_bc_cancel(struct grp_bc *bc, struct core_redis *r,
                             const struct grp_bc_actor *who, const char *id,
                             struct core_err *err);

/*
 * The text of broadcast `id` as typed by its creator (a broadcast with one
 * text for everybody, like an officer's ALERT), into *text (malloc'd; the
 * caller wipes it with sodium_memzero and frees it). `who` as for
 * grp_bc_cancel (NULL: no check). The ALERT conversation uses it to prepare
 * the same text for a smaller area. Returns GRP_BC_OK, ENOTFOUND,
 * EFORBIDDEN, EINVALID (a template or per-language texts) or EFAIL.
 */
enum grp_bc_rc grp_bc_draft_text(struct grp_bc *bc, struct core_redis *r,
                                 const struct grp_bc_actor *who, const char *id, char **text,
                                 struct core_err *err);

/* The job `id` (who: NULL = no check; officers see their own and those in
 * their jurisdiction). Returns GRP_BC_OK, ENOTFOUND, EFORBIDDEN or EFAIL. */
enum grp_bc_rc grp_bc_status(struct grp_bc *bc, struct core_redis *r,
                             const struct grp_bc_actor *who, const char *id,
                             struct grp_bc_status *out, struct core_err *err);

/*
 * The newest broadcasts, at most `limit`, that `who` may see (NULL: all):
 * `*ids` is an array of heap strings freed with grp_codes_free(). Returns
 * GRP_BC_OK or EFAIL.
 */
enum grp_bc_rc grp_bc_list(struct grp_bc *bc, struct core_redis *r,
                           const struct grp_bc_actor *who, size_t limit, char ***ids, size_t *n,
                           struct core_err *err);

/* ---- rendering ---- */

/* JSON of a reach (new reference). */
json_t *grp_bc_reach_json(const struct grp_bc_reach *r);

/* JSON of a preview / a status (new references). */
json_t *grp_bc_preview_json(const struct grp_bc_preview *p);
json_t *grp_bc_status_json(const struct grp_bc_status *s);

/* "1234.57": rupees of a 1/10000-unit amount, rounded to paise, into `out`. */
void grp_bc_money(long long amount, char *out, size_t n);

/*
 * The officer's preview message in `lang` (hi/en) from the texts of
 * groups/bctext.h: scope, members, window, cost and the text. The ALERT
 * conversation sends it with the bc.btn_confirm / bc.btn_cancel buttons.
 * Appends to `out`; returns 0 or -1 (cap).
 */
int grp_bc_preview_text(const struct grp_bc_preview *p, const char *lang, const char *text,
                        struct core_buf *out);

/* ---- the fan-out worker (janseva serve) ---- */

struct grp_bc_worker;

/*
 * Start one worker thread with its own Redis connection (`ro` copied).
 * It needs a business number (cfg phone_number_id): without one, returns
 * NULL with CORE_EX_CONFIG.
 */
struct grp_bc_worker *grp_bc_worker_start(struct grp_bc *bc, const struct core_redis_opts *ro,
                                          struct core_err *err);

/* Stop (within about a second: the batch in progress is finished) and free.
 * NULL is a no-op. */
void grp_bc_worker_stop(struct grp_bc_worker *w);

/*
 * One pass of the worker over the due jobs (tests; the thread calls it in a
 * loop). `owner` names the lease holder. *did (may be NULL) counts jobs
 * worked on. Returns 0 or -1.
 */
int grp_bc_work_once(struct grp_bc *bc, struct core_redis *r, const char *owner, int *did,
                     struct core_err *err);

/*
 * Test hook: make the fan-out stop as if the process died after queueing
 * the messages of batch number `n` (1-based) and before saving its cursor;
 * 0 disables. Not for production use.
 */
void grp_bc_test_crash_after(struct grp_bc *bc, long n);

#endif
