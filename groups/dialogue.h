/*
 * groups/dialogue.h - the router handler "dialogue": everything a citizen or
 * officer writes to the police number goes through it (docs/groups.md, "The
 * dialogue"). It loads the sender's member record and decides, in order:
 *
 *   1. keywords: the whole message (normalised, both scripts) or an
 *      interactive reply id "kw:NAME" is STOP, HELP, LANG, JOIN, MOVE, MENU,
 *      TIP, ALERT, ... -> each flow's on_keyword() in registry order until
 *      one handles it;
 *   2. interactive replies whose id starts with a flow's reply_prefix ->
 *      that flow's on_message();
 *   3. the dialogue state `ds` -> the flow whose state_prefix it starts
 *      with (a state older than dialogue_state_ttl_s is forgotten first);
 *   4. each flow's on_other() (content a flow recognises anywhere: a tip
 *      session, a quoted tip pseudonym), in registry order;
 *   5. membership: new, enrolling and left -> the "enrol" flow; active,
 *      muted and banned -> the "post" flow.
 * Whatever happens, a message never goes unanswered unless a flow decides
 * so on purpose (STOP's "nothing more", a post held silently by part B...).
 *
 * Flows. A flow is a static `struct grp_flow` listed in the registry table
 * at the top of dialogue.c (style §11: vtable + static registry). To add
 * one: write `const struct grp_flow grp_xxx_flow = {...}` in your module,
 * declare it in your header, and add `&grp_xxx_flow` to that table (before
 * "post", which takes everything an active member writes). A flow handles
 * the states and reply ids of its prefixes and the keywords it wants;
 * docs/internals/groups.md has a skeleton.
 *
 * Replies. Flows answer with the grp_dlg_reply_*() helpers: each queues one
 * message in the outbox, lane `reply`, from the business number the citizen
 * wrote to, with the idempotency key "r:<event key>:<n>" (n counts the
 * replies to this event from 0), so a replayed event never answers twice.
 * Texts come from the catalogue (groups/texts.h) in the member's language.
 * Lists respect WhatsApp's limits: at most 10 rows, titles clipped to 24
 * characters and descriptions to 72, paged 9 at a time with a "More" row.
 *
 * Idempotency. Handlers run again when an event is replayed (a crash after
 * the effects, before js:seen). Rule of this module: queue the replies
 * first, then change state; a repeat then finds the same state, computes
 * the same replies (queued once, by key) and finishes the state change.
 *
 * Return values of flow functions: 1 handled, 0 not mine (dispatch goes
 * on), -1 transient failure (err set; the router retries the event).
 */
#ifndef JANSEVA_GROUPS_DIALOGUE_H
#define JANSEVA_GROUPS_DIALOGUE_H

#include "core/config.h"
#include "core/err.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "gateway/router.h"
#include "groups/lookup.h"
#include "groups/member.h"
#include "groups/texts.h"

#include <jansson.h>
#include <stdint.h>

#define GRP_DLG_ROWS_MAX 10    /* rows of one list message (WhatsApp) */
#define GRP_DLG_PAGE 9         /* rows of a page when a "More" row follows */
#define GRP_DLG_BUTTONS_MAX 3  /* reply buttons of one message (WhatsApp) */
#define GRP_DLG_ROW_ID_MAX 200 /* list row id (WhatsApp) */
#define GRP_DLG_BUTTON_ID_MAX 256
#define GRP_DLG_KEYWORD_MAX 64 /* longer messages are never keywords */

/* ---- keywords ---- */

enum grp_keyword {
    GRP_KW_NONE = 0,
    GRP_KW_STOP,    /* STOP, रोकें, रोको, रुकें, unsubscribe, ... */
    GRP_KW_HELP,    /* HELP, मदद, सहायता */
    GRP_KW_LANG,    /* LANG, भाषा, language */
    GRP_KW_JOIN,    /* JOIN, जुड़ें, start */
    GRP_KW_MOVE,    /* MOVE, बदलें, change group */
    GRP_KW_MENU,    /* MENU, मेनू */
    GRP_KW_TIP,     /* TIP, गुप्त सूचना */
    GRP_KW_ALERT,   /* ALERT, उद्घोषणा: officers only (their flow decides) */
    GRP_KW_REPORT,  /* the menu's "tell the police" (reply id kw:report) */
    GRP_KW_HINDI,   /* हिंदी, hindi: Hindi at once */
    GRP_KW_ENGLISH, /* english, अंग्रेज़ी: English at once */
    GRP_KW_COUNT
};

/* "stop", "help", ...: the NAME of reply ids "kw:NAME". */
const char *grp_keyword_name(enum grp_keyword kw);

/*
 * The keyword a whole message is, or GRP_KW_NONE. `text` is `len` bytes of
 * UTF-8 as typed: case, nukta, chandrabindu, extra spaces and punctuation or
 * emoji around it do not matter ("Stop!", "रोकें 🙏", "ROKEN"), but other
 * words do ("stop the car" is not STOP). Thread-safe.
 */
enum grp_keyword grp_dlg_keyword(const char *text, size_t len);

/* The keyword of an interactive reply id "kw:NAME", or GRP_KW_NONE. */
enum grp_keyword grp_dlg_keyword_id(const char *reply_id);

/*
 * A keyword that may lead a longer message (today only ALERT: "ALERT <text>",
 * "उद्घोषणा <text>"): the first word of `text` (normalised like a whole
 * message; punctuation around it ignored) is such a keyword -> that keyword,
 * and *rest (may be NULL) is the byte offset of what follows it, spaces
 * skipped (== len when nothing follows). Else GRP_KW_NONE. Thread-safe.
 */
enum grp_keyword grp_dlg_keyword_lead(const char *text, size_t len, size_t *rest);

/* A message that says "I have finished" (DONE, हो गया, bas, ...: the "done"
 * words of words.tsv): 1, else 0. Not a keyword: flows that ask for it
 * (the tip flow) look for it themselves. */
int grp_dlg_done(const char *text, size_t len);

/* A typed answer to a yes/no question: 1 yes (हाँ, ji, ok, ...), 0 no (नहीं,
 * nahi, ...), -1 neither. */
int grp_dlg_yes_no(const char *text, size_t len);

/*
 * A message that is a PIN code (six digits, any script, optionally with
 * "PIN", "pincode", "पिन कोड" around or a space in the middle): 1 and the
 * digits in `pin`, else 0.
 */
int grp_dlg_pincode(const char *text, size_t len, char pin[7]);

/* ---- the handler ---- */

struct grp_dialogue;

/* Settings used (borrowed; must outlive the dialogue): see core/config.h. */
struct grp_dlg_opts {
    int state_ttl_s;     /* a dialogue state older than this is forgotten */
    int join_radius_km;  /* localities offered for a shared location */
    int lookup_check_ms; /* js:hier:ver is looked at most this often (0: every use) */
};

/* Defaults: 1800 s, 10 km, 0 ms. */
void grp_dlg_opts_default(struct grp_dlg_opts *o);

/* From the service settings (dialogue_state_ttl_s, join_radius_km). */
void grp_dlg_opts_from_cfg(struct grp_dlg_opts *o, const struct core_cfg *cfg);

/*
 * The dialogue over `keys` and `identity` (borrowed; they must outlive it).
 * Never fails. Shared by all router threads.
 */
struct grp_dialogue *grp_dlg_new(const struct grp_dlg_opts *o, const struct cry_keys *keys,
                                 struct cry_identity *identity);

/*
 * Give the flows the moderation engine (borrowed, may be NULL; part B's post
 * flow uses it). Before the router starts.
 */
struct mod_engine;
void grp_dlg_set_moderation(struct grp_dialogue *dlg, struct mod_engine *engine);

/*
 * Give the "post" flow its engine (groups/post.h; borrowed, may be NULL:
 * posts are then only acknowledged). Before the router starts.
 */
struct grp_posts;
void grp_dlg_set_posts(struct grp_dialogue *dlg, struct grp_posts *posts);

/*
 * Give the flows the tip store (groups/tip.h; the "tip" flow) and the
 * broadcast engine (groups/broadcast.h; the "alert" flow). Borrowed, may be
 * NULL (then TIP answers that the line is not open and ALERT is an ordinary
 * message). Before the router starts.
 */
struct grp_tip;
struct grp_bc;
void grp_dlg_set_tips(struct grp_dialogue *dlg, struct grp_tip *tips);
void grp_dlg_set_broadcast(struct grp_dialogue *dlg, struct grp_bc *bc);

/*
 * Build the hierarchy index now, on a thread of its own with a connection
 * made from `redis` (copied; its strings must outlive the dialogue), so the
 * first citizen who searches does not wait for it (a few seconds with the
 * full Bihar data). Optional; at most once.
 */
void grp_dlg_warm_up(struct grp_dialogue *dlg, const struct core_redis_opts *redis);

/* Free (after the warm-up finished); NULL is a no-op. */
void grp_dlg_free(struct grp_dialogue *dlg);

/* Register the dialogue metrics. */
void grp_dlg_metrics_init(void);

/*
 * The router handler (gw_router_fn; `ud` is the struct grp_dialogue).
 * Register it after "identity" and "delivery". Message events with a
 * member only; statuses, errors, reactions and system messages pass.
 */
int grp_dlg_handler(void *ud, struct gw_router_ctx *ctx, const struct gw_event *ev,
                    struct core_err *err);

/* ---- what a flow gets ---- */

/* Why a flow's on_message() is called. */
enum grp_dlg_route {
    GRP_ROUTE_REPLY,      /* an interactive reply id with the flow's reply_prefix */
    GRP_ROUTE_STATE,      /* the member's ds starts with the flow's state_prefix */
    GRP_ROUTE_OTHER,      /* on_other(): nothing above claimed it */
    GRP_ROUTE_MEMBERSHIP, /* nothing else claimed it: by the member's st */
};

struct grp_dlg_scratch;

/* One event being handled. Flows read the fields; they change state only
 * through groups/member and answer only through the reply helpers. */
struct grp_dlg {
    struct grp_dialogue *dlg;
    struct gw_router_ctx *ctx; /* Redis connection, event key, member id, req id */
    struct core_redis *redis;  /* = ctx->redis */
    const struct gw_event *ev;
    struct grp_member member; /* loaded before dispatch */
    enum grp_keyword kw;      /* the event's keyword, or NONE */
    enum grp_dlg_route route; /* set before on_message() */
    const char *text;         /* ev->text, or "" */
    const char *reply_id;     /* ev->reply_id, or "" */
    int64_t now;              /* Unix seconds */
    struct core_err *err;
    int n_replies; /* replies queued so far for this event */
    int n_dup;     /* of them, found already queued (a replayed event) */
    /* private */
    const struct grp_lookup *lookup;
    struct grp_dlg_scratch *scratch;
};

struct grp_flow {
    const char *name;         /* "enrol", "post", "alert", "tip" */
    const char *state_prefix; /* dialogue states it owns, e.g. "join:"; NULL none */
    const char *reply_prefix; /* interactive reply ids it owns, e.g. "join:"; NULL none */
    int (*on_keyword)(struct grp_dlg *d, enum grp_keyword kw); /* NULL: none */
    int (*on_message)(struct grp_dlg *d);                      /* NULL: none */
    /* A message no keyword, reply id or state claimed, before the
     * membership route (which would make it a group post): a flow that
     * recognises something anywhere (a tip session, a quoted pseudonym)
     * takes it here. Keep it cheap: every such message passes. NULL: none. */
    int (*on_other)(struct grp_dlg *d);
};

/* The registered flow called `name`, or NULL. */
const struct grp_flow *grp_dlg_flow(const char *name);

/* The registered flows, in dispatch order. */
size_t grp_dlg_flow_count(void);
const struct grp_flow *grp_dlg_flow_at(size_t i);

/* The settings, the shared hierarchy index (taken once per event, NULL when
 * Redis has none and cannot be read), the engines. */
const struct grp_dlg_opts *grp_dlg_opts(const struct grp_dlg *d);
const struct grp_lookup *grp_dlg_lookup(struct grp_dlg *d);
const struct cry_keys *grp_dlg_keys(const struct grp_dlg *d);
struct cry_identity *grp_dlg_identity(const struct grp_dlg *d);
struct mod_engine *grp_dlg_moderation(const struct grp_dlg *d);
struct grp_posts *grp_dlg_posts(const struct grp_dlg *d);
struct grp_tip *grp_dlg_tips(const struct grp_dlg *d);
struct grp_bc *grp_dlg_broadcast(const struct grp_dlg *d);

/* ---- replies ---- */

/*
 * The catalogue text `id` in the member's language with args (may be NULL
 * when nargs is 0). The string lives until the event is handled.
 */
const char *grp_dlg_text(struct grp_dlg *d, const char *id, const char *const args[], size_t nargs);

/* The same with arguments inline: GRP_DLG_TEXT(d, "join.done", name, label). */
#define GRP_DLG_TEXT(d, id, ...)                                                                   \
    grp_dlg_text((d), (id), (const char *const[]){__VA_ARGS__},                                    \
                 sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* A copy of `s` that lives until the event is handled (for built strings). */
const char *grp_dlg_keep(struct grp_dlg *d, char *s /* taken over */);

/* One choice of a button or list message. Strings are borrowed. */
struct grp_dlg_option {
    const char *id;    /* reply id (buttons ≤ 256, rows ≤ 200 bytes) */
    const char *title; /* clipped to 20 (button) / 24 (row) characters */
    const char *desc;  /* rows only, may be NULL; clipped to 72 */
};

/* A text message (body clipped to 4096 characters). */
int grp_dlg_reply_text(struct grp_dlg *d, const char *body);

/* 1-3 reply buttons (body clipped to 1024). */
int grp_dlg_reply_buttons(struct grp_dlg *d, const char *body, const struct grp_dlg_option *buttons,
                          size_t n);

/* A list of 1-10 rows in one section (body clipped to 4096; `button` is the
 * label of the button that opens it, clipped to 20). */
int grp_dlg_reply_list(struct grp_dlg *d, const char *body, const char *button,
                       const struct grp_dlg_option *rows, size_t n);

/*
 * One page of a long list: rows [offset, ...) of `all` (n in total). When
 * more than 10 remain, 9 are shown and a tenth row "More" (catalogue
 * dlg.more.row/.desc) gets the id `more_prefix` + the next offset.
 * An offset past the end shows the last page.
 */
int grp_dlg_reply_page(struct grp_dlg *d, const char *body, const char *button,
                       const struct grp_dlg_option *all, size_t n, size_t offset,
                       const char *more_prefix);

/* WhatsApp's "send location" request with `body` (clipped to 1024). */
int grp_dlg_reply_location_request(struct grp_dlg *d, const char *body);

/* Any Graph message body ({"type":...}); `message` is stolen. */
int grp_dlg_reply_json(struct grp_dlg *d, json_t *message);

/* ---- pure helpers (tests, fuzzing) ---- */

/*
 * The page of a list of `n` rows starting at `offset`: *first and *count
 * rows are shown, *more is 1 when a "More" row follows (then count is 9).
 */
void grp_dlg_page(size_t n, size_t offset, size_t *first, size_t *count, int *more);

/*
 * Build the Graph body of a list message (new reference), applying every
 * limit (rows, clipping, unique ids). NULL when n is 0.
 */
json_t *grp_dlg_list_json(const char *body, const char *button, const struct grp_dlg_option *rows,
                          size_t n);

/* The same for reply buttons; NULL when n is 0 or more than 3. */
json_t *grp_dlg_buttons_json(const char *body, const struct grp_dlg_option *buttons, size_t n);

#endif
