/*
 * tests/integration/test_alertpick.c - officers' alerts over WhatsApp with
 * the area picker, as whole conversations through the real `janseva serve`
 * (every role), the Cloud API simulator and Redis. Officers and citizens
 * write through the simulator; what they get is read from its sends, and
 * the broadcast's counters from the HTTP API.
 *
 *  - Hindi: the SHO of Danapur writes "उद्घोषणा <text>", taps "क्षेत्र चुनें",
 *    picks the beat "दानापुर बीट 2 (मनेर)" from the Hindi list, taps भेजें:
 *    exactly the beat's members receive it, each once and in their own
 *    language; the first draft is cancelled; the report comes in Hindi
 *  - English: the SSP of Patna opens MENU (the "Alert / उद्घोषणा" row that a
 *    citizen's menu lacks), writes the text, walks down Patna -> Danapur ->
 *    Danapur Beat 1 with "Choose area", taps Send: exactly that beat's
 *    members, in their languages; both superseded drafts cancelled; a forged
 *    row outside the jurisdiction is refused; the report comes in English
 *  - restart mid-broadcast, once per language: the officer picks a beat of
 *    300 members and confirms; janseva is killed (SIGKILL) while the alert
 *    is being fanned out and sent, and restarted: every member gets it
 *    exactly once (counted at the simulator), targeted = queued = sent =
 *    delivered = 300, and the officer gets the final report in their
 *    language
 *
 * Waits poll a condition with long timeouts (the suite runs on a busy
 * machine) and say what they waited for when they give up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/util.h"
#include "groups/alertflow.h"
#include "groups/broadcast.h"
#include "groups/member.h"
#include "groups/texts.h"
#include "tests/harness/stack.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN "test-api-token-0123456789"
#define SHO_NUMBER "919800059001" /* SHO Danapur (PAT-DNP), Hindi */
#define SSP_NUMBER "919800059004" /* SSP Patna (PAT), English */
#define WAIT_REPLY_MS 60000       /* a reply to the officer */
#define WAIT_SEND_MS 120000       /* a whole broadcast sent and reported */

static const char officers_csv[] = "code,unit,role,name,phone\n"
                                   "SHO-DNP,PAT-DNP,sho,SHO Danapur," SHO_NUMBER "\n"
                                   "SP-PAT,PAT,district,SSP Patna," SSP_NUMBER "\n";

/* The stack of the current test (one per test: the restart tests need their
 * own settings). */
static struct th_stack S;

/* ======================= the world ======================= */

static int cli(const char *const args[], char **out)
{
    char redis[700];
    char keys[700];
    const char *env[5];
    const char *argv[24];
    char *o = NULL;
    char *err = NULL;
    size_t n = 0;
    int rc;

    snprintf(redis, sizeof redis, "JANSEVA_REDIS=%s", S.redis.addr);
    snprintf(keys, sizeof keys, "JANSEVA_KEYS_DIR=%s", S.app.keys_dir);
    env[0] = redis;
    env[1] = keys;
    env[2] = "JANSEVA_PHONE_NUMBER_ID=" TH_SIM_PNID;
    env[3] = "JANSEVA_LOG_LEVEL=warn";
    env[4] = NULL;
    argv[n++] = th_bin();
    for (size_t i = 0; args[i] != NULL && n + 1 < sizeof argv / sizeof argv[0]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    rc = th_run(argv, env, NULL, 0, &o, &err);
    if (rc != 0)
        fprintf(stderr, "cli %s: %s %s\n", args[0], o != NULL ? o : "", err != NULL ? err : "");
    if (out != NULL)
        *out = o;
    else
        free(o);
    free(err);
    return rc;
}

/* The stack with the sample hierarchy, the two officers and the sandbox
 * templates. */
static void world(const char *tag, const char *const env[])
{
    static const char *const kinds[] = {"state", "district", "thana", "beat", "locality"};
    char path[700];
    char *templates;
    size_t len = 0;

    assert_int_equal(th_stack_start(&S, tag, NULL, env), 0);
    for (int i = 0; i < 5; i++) {
        char file[128];
        const char *args[] = {"import", "--kind", kinds[i], file, NULL};

        snprintf(file, sizeof file, "data/sample-hierarchy/%s.csv", kinds[i]);
        assert_int_equal(cli(args, NULL), 0);
    }
    snprintf(path, sizeof path, "%s/officers.csv", S.dir);
    assert_int_equal(th_write_file(path, officers_csv, strlen(officers_csv)), 0);
    {
        const char *args[] = {"import", "--kind", "officer", path, NULL};

        assert_int_equal(cli(args, NULL), 0);
    }
    templates = th_read_file("data/sandbox/templates.json", &len);
    assert_non_null(templates);
    assert_int_equal(th_cloudsim_req(&S.sim, "POST", "/_sim/templates", templates, NULL), 200);
    free(templates);
}

static void number(int i, char out[16])
{
    snprintf(out, 16, "9198000%05d", 58000 + i);
}

static void set_lang(const char *wa, enum grp_lang lang)
{
    char mid[CRY_MID_LEN];
    struct core_err err;

    assert_int_equal(th_stack_member(&S, wa, mid), 0);
    if (grp_member_set_lang(S.r, mid, lang, &err) != 0)
        fail_msg("set_lang: %s", err.msg);
}

/* Member i joins locality `loc` (through the member API, consent given)
 * and speaks `lang`. */
static void member(int i, const char *loc, enum grp_lang lang)
{
    char num[16];
    char mid[CRY_MID_LEN];
    struct core_err err;
    int moved = 0;

    number(i, num);
    assert_int_equal(th_stack_member(&S, num, mid), 0);
    if (grp_member_join(S.r, mid, loc, grp_text_consent_version(), core_now_ms() / 1000, &moved,
                        &err) != 0)
        fail_msg("join %s: %s", loc, err.msg);
    if (grp_member_set_lang(S.r, mid, lang, &err) != 0)
        fail_msg("set_lang: %s", err.msg);
}

/* ======================= talking through the simulator ======================= */

/* POST `req` (stolen) to the simulator: its answer; janseva took it (200). */
static json_t *inbound(json_t *req)
{
    json_t *j = th_stack_send(&S, req);

    if (j == NULL)
        fail_msg("inbound refused (log %s)", S.app.log_path);
    return j;
}

static void say(const char *wa, const char *text)
{
    json_decref(inbound(json_pack("{s:s,s:s,s:s}", "from", wa, "name", "Officer", "text", text)));
}

/* A tap on a reply button ("button_reply") or a list row ("list_reply"). */
static void tap(const char *wa, const char *kind, const char *id)
{
    json_decref(inbound(json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s}}", "from", wa, "name", "Officer",
                                  "type", "interactive", "reply", "type", kind, "id", id,
                                  "title", "x")));
}

/* Accepted sends to `wa` (all when NULL), oldest first (new ref). */
static json_t *sends_to(const char *wa)
{
    char path[200];
    json_t *j;
    json_t *out;

    if (wa != NULL)
        snprintf(path, sizeof path, "/_sim/sends?outcome=accepted&limit=50000&to=%s", wa);
    else
        snprintf(path, sizeof path, "/_sim/sends?outcome=accepted&limit=50000");
    j = th_cloudsim_json(&S.sim, path);
    assert_non_null(j);
    out = json_incref(json_object_get(j, "sends"));
    json_decref(j);
    return out;
}

static size_t n_sends(const char *wa)
{
    json_t *a = sends_to(wa);
    size_t n = json_array_size(a);

    json_decref(a);
    return n;
}

/* The Graph body of a simulator record (new ref). */
static json_t *graph_body(const json_t *rec)
{
    json_t *b = json_loads(json_string_value(json_object_get(rec, "body")), 0, NULL);

    assert_non_null(b);
    return b;
}

static const char *text_of(const json_t *b)
{
    const char *t = json_string_value(json_object_get(json_object_get(b, "text"), "body"));

    if (t == NULL)
        t = json_string_value(
            json_object_get(json_object_get(json_object_get(b, "interactive"), "body"), "text"));
    return t != NULL ? t : "";
}

struct want_body {
    const char *wa;
    const char *needle;
    size_t after; /* only sends after this many */
    json_t *found;
};

static int body_found(void *ud)
{
    struct want_body *w = ud;
    json_t *a = sends_to(w->wa);
    size_t i;
    json_t *e;

    json_array_foreach(a, i, e)
    {
        json_t *b;

        if (i < w->after)
            continue;
        b = graph_body(e);
        if (strstr(text_of(b), w->needle) != NULL ||
            strstr(json_string_value(json_object_get(e, "body")), w->needle) != NULL) {
            w->found = json_incref(e);
            json_decref(b);
            break;
        }
        json_decref(b);
    }
    json_decref(a);
    return w->found != NULL;
}

/* Wait for a message to `wa` (after the first `after`) whose text or Graph
 * body holds `needle`; returns its Graph body (new ref). */
static json_t *wait_reply(const char *wa, const char *needle, size_t after, int timeout_ms)
{
    struct want_body w = {wa, needle, after, NULL};
    json_t *b;

    if (th_wait(body_found, &w, timeout_ms) != 0) {
        json_t *a = sends_to(wa);
        size_t i;
        json_t *e;

        json_array_foreach(a, i, e)
        {
            json_t *g = graph_body(e);

            fprintf(stderr, "  send %zu to the officer: %.300s\n", i, text_of(g));
            json_decref(g);
        }
        json_decref(a);
        fail_msg("waited %d ms for a message to the officer holding \"%s\" (log %s)",
                 timeout_ms, needle, S.app.log_path);
    }
    b = graph_body(w.found);
    json_decref(w.found);
    return b;
}

/* Reply button `i` of an interactive body (borrowed), or NULL. */
static const char *button(const json_t *b, size_t i)
{
    json_t *btns =
        json_object_get(json_object_get(json_object_get(b, "interactive"), "action"), "buttons");

    return json_string_value(
        json_object_get(json_object_get(json_array_get(btns, i), "reply"), "id"));
}

static json_t *rows_of(const json_t *b)
{
    json_t *sec = json_array_get(
        json_object_get(json_object_get(json_object_get(b, "interactive"), "action"), "sections"),
        0);

    return json_object_get(sec, "rows");
}

/* The id of the list row titled `title` (copied to `out`); fails when absent. */
static void row_titled(const json_t *b, const char *title, char *out, size_t n)
{
    size_t i;
    json_t *r;

    json_array_foreach(rows_of(b), i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "title")), title) == 0) {
            snprintf(out, n, "%s", json_string_value(json_object_get(r, "id")));
            return;
        }
    }
    fail_msg("no row \"%s\" in the list \"%s\"", title, text_of(b));
}

/*
 * Wait for a preview (a message with the Send button alert:ok:<BID>) after
 * the officer's first `after` messages; its BID into `bid`, the body (new
 * ref) returned. `needle` (may be NULL) must be in its text.
 */
static json_t *wait_preview(const char *wa, size_t after, const char *needle,
                            char bid[GRP_BC_ID_LEN])
{
    json_t *b = wait_reply(wa, GRP_ALERTFLOW_OK, after, WAIT_REPLY_MS);
    const char *ok = button(b, 0);

    assert_non_null(ok);
    assert_int_equal(strncmp(ok, GRP_ALERTFLOW_OK, strlen(GRP_ALERTFLOW_OK)), 0);
    snprintf(bid, GRP_BC_ID_LEN, "%s", ok + strlen(GRP_ALERTFLOW_OK));
    if (needle != NULL && strstr(text_of(b), needle) == NULL)
        fail_msg("preview \"%s\" lacks \"%s\"", text_of(b), needle);
    return b;
}

/* The "Choose area" button of a preview (copied), asserted. */
static void pick_button(const json_t *preview, char *out, size_t n)
{
    const char *id = button(preview, 2);

    if (id == NULL || strncmp(id, GRP_ALERTFLOW_PICK, strlen(GRP_ALERTFLOW_PICK)) != 0)
        fail_msg("preview \"%s\" has no \"Choose area\" button", text_of(preview));
    snprintf(out, n, "%s", id);
}

/* ======================= the HTTP API ======================= */

/* GET /api/broadcasts/<id> as officer `code` (new ref), or NULL. */
static json_t *bc_get(const char *id, const char *code)
{
    char url[256];
    char off[96];
    const char *headers[] = {"Authorization: Bearer " TOKEN, off, NULL};
    struct th_http_resp resp;
    json_t *j = NULL;

    snprintf(url, sizeof url, "%s/api/broadcasts/%s", S.app.url, id);
    snprintf(off, sizeof off, "X-Janseva-Officer: %s", code);
    if (th_http("GET", url, headers, NULL, 0, &resp) != 0)
        return NULL;
    if (resp.status == 200)
        j = json_loadb(resp.body != NULL ? resp.body : "", resp.len, 0, NULL);
    if (resp.body != NULL && strstr(resp.body, "9800058") != NULL)
        fail_msg("a phone number in an API answer");
    th_http_resp_free(&resp);
    return j;
}

static long long bc_counter(const json_t *j, const char *name)
{
    return json_integer_value(json_object_get(json_object_get(j, "counters"), name));
}

static const char *bc_state(const json_t *j)
{
    const char *s = json_string_value(json_object_get(j, "state"));

    return s != NULL ? s : "?";
}

struct want_bc {
    const char *id;
    const char *code;
    const char *state;  /* NULL: any */
    long long n;        /* sent, delivered (and queued, targeted) == n; -1: any */
    int report;         /* the report went to the officer */
};

static int bc_reached(void *ud)
{
    struct want_bc *w = ud;
    json_t *j = bc_get(w->id, w->code);
    int hit;

    if (j == NULL)
        return 0;
    hit = (w->state == NULL || strcmp(bc_state(j), w->state) == 0) &&
          (w->n < 0 || (bc_counter(j, "queued") == w->n && bc_counter(j, "sent") == w->n &&
                        bc_counter(j, "delivered") == w->n)) &&
          (!w->report ||
           json_is_true(json_object_get(json_object_get(j, "report"), "sent_to_officer")));
    json_decref(j);
    return hit;
}

/* Wait until broadcast `id` is in `state` with its counters at `n` (and its
 * report sent); names everything on failure. */
static void wait_bc(const char *id, const char *code, const char *state, long long n, int report,
                    int timeout_ms)
{
    struct want_bc w = {id, code, state, n, report};

    if (th_wait(bc_reached, &w, timeout_ms) != 0) {
        json_t *j = bc_get(id, code);
        char *d = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

        fail_msg("waited %d ms for broadcast %s to be %s with %lld queued/sent/delivered%s; "
                 "it is %s (log %s)",
                 timeout_ms, id, state != NULL ? state : "(any state)", n,
                 report ? " and its report sent" : "", d != NULL ? d : "unreadable",
                 S.app.log_path);
    }
}

/* ======================= what members received ======================= */

/* True if simulator record `e` is a message of broadcast `id` (the
 * dispatcher's biz_opaque_callback_data ends with ":<BID>"). */
static int of_broadcast(const json_t *e, const char *id)
{
    const char *body = json_string_value(json_object_get(e, "body"));
    char tag[96];

    snprintf(tag, sizeof tag, ":%s\"", id);
    return body != NULL && strstr(body, "\"biz_opaque_callback_data\"") != NULL &&
           strstr(body, tag) != NULL;
}

/* The language a broadcast message was sent in: "hi", "en" or "?". */
static const char *lang_of(const json_t *e)
{
    json_t *b = graph_body(e);
    const char *type = json_string_value(json_object_get(b, "type"));
    const char *out = "?";

    if (type != NULL && strcmp(type, "template") == 0) {
        const char *code = json_string_value(
            json_object_get(json_object_get(json_object_get(b, "template"), "language"), "code"));

        out = code != NULL && strcmp(code, "hi") == 0 ? "hi" : code != NULL ? "en" : "?";
    } else if (strstr(text_of(b), "बिहार पुलिस सूचना") != NULL) {
        out = "hi";
    } else if (strstr(text_of(b), "Bihar Police notice") != NULL) {
        out = "en";
    }
    json_decref(b);
    return out;
}

/*
 * Broadcast `id` at the simulator: for members 0..n-1 how many messages
 * each got and in which language (languages[i] "hi"/"en"/"" when none);
 * returns how many went to anybody else but the officers (9198000590xx,
 * who get the report).
 */
static long received(const char *id, int n, int *count, const char **languages)
{
    json_t *a = sends_to(NULL);
    size_t i;
    json_t *e;
    long others = 0;

    memset(count, 0, (size_t)n * sizeof *count);
    for (int k = 0; k < n; k++)
        languages[k] = "";
    json_array_foreach(a, i, e)
    {
        const char *to = json_string_value(json_object_get(e, "to"));
        int k = -1;

        /* the officers' report carries the broadcast id too */
        if (!of_broadcast(e, id) || (to != NULL && strncmp(to, "9198000590", 10) == 0))
            continue;
        if (to != NULL && strncmp(to, "9198000", 7) == 0 && strlen(to) == 12)
            k = (int)strtol(to + 7, NULL, 10) - 58000;
        if (k < 0 || k >= n) {
            others++;
            continue;
        }
        count[k]++;
        languages[k] = lang_of(e);
    }
    json_decref(a);
    return others;
}

/* Members 0..n-1: those with want[i] got broadcast `id` exactly once in
 * lang[i]; the others (and anybody else) nothing. */
static void check_received(const char *id, int n, const int *want, const enum grp_lang *lang)
{
    int count[64];
    const char *got[64];
    long others;

    assert_true(n <= 64);
    others = received(id, n, count, got);
    for (int i = 0; i < n; i++) {
        const char *l = lang[i] == GRP_LANG_HI ? "hi" : "en";

        if (count[i] != (want[i] ? 1 : 0))
            fail_msg("member %d received %d messages of %s (want %d)", i, count[i], id,
                     want[i] ? 1 : 0);
        if (want[i] && strcmp(got[i], l) != 0)
            fail_msg("member %d got %s in \"%s\" (speaks %s)", i, id, got[i], l);
    }
    if (others != 0)
        fail_msg("%ld messages of %s went to numbers outside the chosen area", others, id);
}

/* ======================= Hindi: उद्घोषणा and a beat ======================= */

/* The members of both picker tests: locality, language. */
static const struct {
    const char *loc;
    enum grp_lang lang;
} people[] = {
    {"KHG-01", GRP_LANG_HI}, /* 0  Danapur beat 1 */
    {"KHG-01", GRP_LANG_EN}, /* 1 */
    {"JMP-01", GRP_LANG_HI}, /* 2 */
    {"SHP-01", GRP_LANG_EN}, /* 3 */
    {"MNR-01", GRP_LANG_HI}, /* 4  Danapur beat 2 */
    {"MNR-01", GRP_LANG_EN}, /* 5 */
    {"HLD-01", GRP_LANG_HI}, /* 6 */
    {"BHT-01", GRP_LANG_HI}, /* 7  Bihta (another thana) */
    {"PAT-W28", GRP_LANG_EN}, /* 8  Kankarbagh (another thana) */
    {"BKR-01", GRP_LANG_HI}, /* 9  Gaya (another district) */
};
#define N_PEOPLE ((int)(sizeof people / sizeof people[0]))

static int setup_people(void **state)
{
    static const char *const env[] = {"JANSEVA_API_TOKEN=" TOKEN,
                                      "JANSEVA_BROADCAST_REPORT_AFTER_S=30", NULL};

    (void)state;
    world("alertpick", env);
    for (int i = 0; i < N_PEOPLE; i++)
        member(i, people[i].loc, people[i].lang);
    set_lang(SHO_NUMBER, GRP_LANG_HI);
    set_lang(SSP_NUMBER, GRP_LANG_EN);
    return 0;
}

static int teardown_people(void **state)
{
    (void)state;
    if (th_file_count(S.app.log_path, "9800058") != 0 ||
        th_file_count(S.app.log_path, "9800059") != 0) {
        fprintf(stderr, "a phone number in the service log %s\n", S.app.log_path);
        return -1;
    }
    return th_stack_stop(&S) == 0 ? 0 : -1;
}

static void test_hindi_pick_a_beat(void **state)
{
    char bid[GRP_BC_ID_LEN];
    char bid2[GRP_BC_ID_LEN];
    char id[256];
    int want[N_PEOPLE];
    enum grp_lang lang[N_PEOPLE];
    size_t before;
    json_t *b;
    json_t *j;

    (void)state;
    before = n_sends(SHO_NUMBER);
    say(SHO_NUMBER, "उद्घोषणा कल सुबह 9 से 12 बजे तक पानी की आपूर्ति बंद रहेगी");
    /* the whole thana: 7 members, with क्षेत्र चुनें */
    b = wait_preview(SHO_NUMBER, before, "सदस्य: 7", bid);
    assert_non_null(strstr(text_of(b), "दानापुर"));
    pick_button(b, id, sizeof id);
    json_decref(b);
    before = n_sends(SHO_NUMBER);
    tap(SHO_NUMBER, "button_reply", id);
    /* the thana's beats, in Hindi */
    b = wait_reply(SHO_NUMBER, "इस उद्घोषणा के लिए क्षेत्र चुनें", before, WAIT_REPLY_MS);
    assert_int_equal(json_array_size(rows_of(b)), 2);
    row_titled(b, "दानापुर बीट 2 (मनेर)", id, sizeof id);
    json_decref(b);
    before = n_sends(SHO_NUMBER);
    tap(SHO_NUMBER, "list_reply", id);
    /* the beat's preview: its 3 members */
    b = wait_preview(SHO_NUMBER, before, "सदस्य: 3", bid2);
    assert_string_not_equal(bid, bid2);
    assert_non_null(strstr(text_of(b), "मनेर"));
    assert_non_null(strstr(text_of(b), "पानी की आपूर्ति"));
    snprintf(id, sizeof id, "%s", button(b, 0));
    json_decref(b);
    /* the first draft can no longer be sent */
    j = bc_get(bid, "SHO-DNP");
    assert_non_null(j);
    assert_string_equal(bc_state(j), "cancelled");
    json_decref(j);
    before = n_sends(SHO_NUMBER);
    tap(SHO_NUMBER, "button_reply", id);
    json_decref(wait_reply(SHO_NUMBER, "भेजी जा रही है", before, WAIT_REPLY_MS));
    wait_bc(bid2, "SHO-DNP", "done", 3, 1, WAIT_SEND_MS);
    /* the report, in Hindi */
    json_decref(wait_reply(SHO_NUMBER, "की रिपोर्ट", before, WAIT_REPLY_MS));
    for (int i = 0; i < N_PEOPLE; i++) {
        want[i] = strcmp(people[i].loc, "MNR-01") == 0 || strcmp(people[i].loc, "HLD-01") == 0;
        lang[i] = people[i].lang;
    }
    th_sleep_ms(300); /* a duplicate would show up now */
    check_received(bid2, N_PEOPLE, want, lang);
    /* the cancelled draft sent nothing */
    for (int i = 0; i < N_PEOPLE; i++)
        want[i] = 0;
    check_received(bid, N_PEOPLE, want, lang);
}

/* ======================= English: MENU, two levels down ======================= */

static void test_english_menu_two_levels(void **state)
{
    char bid[GRP_BC_ID_LEN];
    char bid2[GRP_BC_ID_LEN];
    char bid3[GRP_BC_ID_LEN];
    char id[256];
    char x[16];
    int want[N_PEOPLE];
    enum grp_lang lang[N_PEOPLE];
    size_t before;
    json_t *b;
    json_t *j;

    (void)state;
    /* a citizen's menu has no alert row */
    number(1, x);
    before = n_sends(x);
    say(x, "MENU");
    b = wait_reply(x, "kw:help", before, WAIT_REPLY_MS);
    {
        size_t i;
        json_t *r;

        json_array_foreach(rows_of(b), i, r)
            assert_string_not_equal(json_string_value(json_object_get(r, "id")), "kw:alert");
    }
    json_decref(b);
    /* the officer's has, first */
    before = n_sends(SSP_NUMBER);
    say(SSP_NUMBER, "MENU");
    b = wait_reply(SSP_NUMBER, "kw:alert", before, WAIT_REPLY_MS);
    row_titled(b, "Alert / उद्घोषणा", id, sizeof id);
    assert_string_equal(id, "kw:alert");
    assert_true(json_array_size(rows_of(b)) <= 10);
    json_decref(b);
    before = n_sends(SSP_NUMBER);
    tap(SSP_NUMBER, "list_reply", "kw:alert");
    json_decref(wait_reply(SSP_NUMBER, "Write the text of the alert for Patna", before,
                           WAIT_REPLY_MS));
    before = n_sends(SSP_NUMBER);
    say(SSP_NUMBER, "Road closed at the Danapur crossing until 6 pm.");
    /* all of Patna: 9 members */
    b = wait_preview(SSP_NUMBER, before, "Members: 9", bid);
    assert_non_null(strstr(text_of(b), "Patna"));
    pick_button(b, id, sizeof id);
    json_decref(b);
    before = n_sends(SSP_NUMBER);
    tap(SSP_NUMBER, "button_reply", id);
    b = wait_reply(SSP_NUMBER, "Choose the area for this alert", before, WAIT_REPLY_MS);
    assert_int_equal(json_array_size(rows_of(b)), 3); /* the district's thanas */
    row_titled(b, "Danapur", id, sizeof id);
    json_decref(b);
    before = n_sends(SSP_NUMBER);
    tap(SSP_NUMBER, "list_reply", id);
    b = wait_preview(SSP_NUMBER, before, "Members: 7", bid2);
    pick_button(b, id, sizeof id);
    json_decref(b);
    /* a forged row outside the jurisdiction: refused, nothing prepared */
    {
        char forged[128];

        snprintf(forged, sizeof forged, "%s%s:GAY-BDG-1", GRP_ALERTFLOW_SUB, bid2);
        before = n_sends(SSP_NUMBER);
        tap(SSP_NUMBER, "list_reply", forged);
        json_decref(wait_reply(SSP_NUMBER, "only send alerts within your own area", before,
                               WAIT_REPLY_MS));
        j = bc_get(bid2, "SP-PAT");
        assert_string_equal(bc_state(j), "draft");
        json_decref(j);
    }
    before = n_sends(SSP_NUMBER);
    tap(SSP_NUMBER, "button_reply", id);
    b = wait_reply(SSP_NUMBER, "Choose the area for this alert", before, WAIT_REPLY_MS);
    row_titled(b, "Danapur Beat 1 (Khagaul)", id, sizeof id);
    json_decref(b);
    before = n_sends(SSP_NUMBER);
    tap(SSP_NUMBER, "list_reply", id);
    b = wait_preview(SSP_NUMBER, before, "Members: 4", bid3);
    assert_non_null(strstr(text_of(b), "Danapur Beat 1"));
    snprintf(id, sizeof id, "%s", button(b, 0));
    json_decref(b);
    for (int k = 0; k < 2; k++) {
        j = bc_get(k == 0 ? bid : bid2, "SP-PAT");
        assert_non_null(j);
        assert_string_equal(bc_state(j), "cancelled");
        json_decref(j);
    }
    before = n_sends(SSP_NUMBER);
    tap(SSP_NUMBER, "button_reply", id);
    json_decref(wait_reply(SSP_NUMBER, "is going out", before, WAIT_REPLY_MS));
    wait_bc(bid3, "SP-PAT", "done", 4, 1, WAIT_SEND_MS);
    json_decref(wait_reply(SSP_NUMBER, "Report on alert", before, WAIT_REPLY_MS));
    for (int i = 0; i < N_PEOPLE; i++) {
        want[i] = strcmp(people[i].loc, "KHG-01") == 0 || strcmp(people[i].loc, "JMP-01") == 0 ||
                  strcmp(people[i].loc, "SHP-01") == 0;
        lang[i] = people[i].lang;
    }
    th_sleep_ms(300);
    check_received(bid3, N_PEOPLE, want, lang);
    for (int i = 0; i < N_PEOPLE; i++)
        want[i] = 0;
    check_received(bid, N_PEOPLE, want, lang);
    check_received(bid2, N_PEOPLE, want, lang);
}

/* ======================= restart mid-broadcast ======================= */

#define N_BIG 300

struct want_progress {
    const char *id;
    const char *code;
    long long queued;
};

static int in_progress(void *ud)
{
    struct want_progress *w = ud;
    json_t *j = bc_get(w->id, w->code);
    int hit;

    if (j == NULL)
        return 0;
    hit = bc_counter(j, "queued") >= w->queued;
    json_decref(j);
    return hit;
}

/* Accepted sends of broadcast `id` to anybody but the officers (whose
 * previews and report carry its id too). */
static long sent_so_far(const char *id)
{
    json_t *a = sends_to(NULL);
    size_t i;
    json_t *e;
    long n = 0;

    json_array_foreach(a, i, e)
    {
        const char *to = json_string_value(json_object_get(e, "to"));

        n += of_broadcast(e, id) && to != NULL && strncmp(to, "9198000590", 10) != 0;
    }
    json_decref(a);
    return n;
}

struct want_sent {
    const char *id;
    long n;
};

static int all_sent(void *ud)
{
    struct want_sent *w = ud;

    return sent_so_far(w->id) >= w->n;
}

/*
 * The officer (`wa`, officer code `code`, speaking `lang`) writes `text`,
 * picks beat `beat_title` from the list and confirms; the beat has N_BIG
 * members. janseva is killed with SIGKILL while the alert is fanned out
 * and sent, then restarted.
 */
static void restart_mid_broadcast(const char *tag, const char *wa, const char *code,
                                  enum grp_lang lang, const char *text, const char *beat_title,
                                  const char *loc)
{
    /* slow enough that the kill lands in the middle: batches of 10 with a
     * pause, and a send rate of 100 a second */
    static const char *const env[] = {"JANSEVA_API_TOKEN=" TOKEN,
                                      "JANSEVA_BROADCAST_LEASE_MS=1000",
                                      "JANSEVA_BROADCAST_BATCH=10",
                                      "JANSEVA_BROADCAST_BATCH_PAUSE_MS=60",
                                      "JANSEVA_BROADCAST_REPORT_AFTER_S=30",
                                      "JANSEVA_DISPATCH_MPS=100",
                                      NULL};
    const int hi = lang == GRP_LANG_HI;
    char bid[GRP_BC_ID_LEN];
    char bid2[GRP_BC_ID_LEN];
    char id[256];
    int count[N_BIG];
    const char *got[N_BIG];
    size_t before;
    long others;
    int fanning;
    json_t *b;
    json_t *j;

    world(tag, env);
    for (int i = 0; i < N_BIG; i++)
        member(i, loc, i % 3 == 0 ? GRP_LANG_EN : GRP_LANG_HI);
    set_lang(wa, lang);
    /* prepare, pick the beat, confirm */
    before = n_sends(wa);
    say(wa, text);
    b = wait_preview(wa, before, NULL, bid);
    pick_button(b, id, sizeof id);
    json_decref(b);
    before = n_sends(wa);
    tap(wa, "button_reply", id);
    b = wait_reply(wa, hi ? "क्षेत्र चुनें" : "Choose the area", before, WAIT_REPLY_MS);
    row_titled(b, beat_title, id, sizeof id);
    json_decref(b);
    before = n_sends(wa);
    tap(wa, "list_reply", id);
    b = wait_preview(wa, before, hi ? "सदस्य: 300" : "Members: 300", bid2);
    snprintf(id, sizeof id, "%s", button(b, 0));
    json_decref(b);
    before = n_sends(wa);
    tap(wa, "button_reply", id);
    /* the fan-out is under way: kill -9 */
    {
        struct want_progress w = {bid2, code, 30};

        if (th_wait(in_progress, &w, 60000) != 0)
            fail_msg("broadcast %s never queued 30 messages (log %s)", bid2, S.app.log_path);
    }
    j = bc_get(bid2, code);
    assert_non_null(j);
    if (strcmp(bc_state(j), "done") == 0 || bc_counter(j, "sent") >= N_BIG)
        fail_msg("broadcast %s was finished before the kill (%s, %lld sent)", bid2, bc_state(j),
                 bc_counter(j, "sent"));
    fprintf(stderr, "restart: killing janseva with %s %s, %lld queued, %lld sent\n", bid2,
            bc_state(j), bc_counter(j, "queued"), bc_counter(j, "sent"));
    fanning = strcmp(bc_state(j), "running") == 0 || strcmp(bc_state(j), "confirmed") == 0;
    json_decref(j);
    th_janseva_kill(&S.app);
    assert_true(sent_so_far(bid2) < N_BIG);
    assert_int_equal(th_stack_restart_app(&S, env), 0);
    /* in the end: everybody once, the counters add up, the report */
    {
        struct want_sent w = {bid2, N_BIG};

        if (th_wait(all_sent, &w, WAIT_SEND_MS) != 0)
            fail_msg("only %ld of %d messages of %s reached the simulator (log %s)",
                     sent_so_far(bid2), N_BIG, bid2, S.app.log_path);
    }
    wait_bc(bid2, code, "done", N_BIG, 1, WAIT_SEND_MS);
    /* killed during the fan-out: the restarted service resumed it */
    if (fanning)
        assert_true(th_stack_metric(&S, "janseva_broadcasts_total{event=\"resumed\"}") >= 1);
    th_sleep_ms(500); /* a duplicate would show up now */
    j = bc_get(bid2, code);
    assert_int_equal(bc_counter(j, "targeted"), N_BIG);
    assert_int_equal(bc_counter(j, "queued") + bc_counter(j, "skipped"), N_BIG);
    assert_int_equal(bc_counter(j, "queued"), N_BIG);
    assert_int_equal(bc_counter(j, "sent"), N_BIG);
    assert_int_equal(bc_counter(j, "delivered"), N_BIG);
    assert_int_equal(bc_counter(j, "failed"), 0);
    json_decref(j);
    others = received(bid2, N_BIG, count, got);
    for (int i = 0; i < N_BIG; i++) {
        const char *l = i % 3 == 0 ? "en" : "hi";

        if (count[i] != 1)
            fail_msg("member %d received %d messages of %s (want exactly 1)", i, count[i], bid2);
        if (strcmp(got[i], l) != 0)
            fail_msg("member %d got %s in \"%s\" (speaks %s)", i, bid2, got[i], l);
    }
    assert_int_equal(others, 0);
    /* the superseded draft: nothing */
    j = bc_get(bid, code);
    assert_string_equal(bc_state(j), "cancelled");
    json_decref(j);
    assert_int_equal(sent_so_far(bid), 0);
    /* the report names this alert, in the officer's language, with its numbers */
    {
        char needle[128];
        json_t *r;

        snprintf(needle, sizeof needle, hi ? "उद्घोषणा %s (" : "Report on alert %s (", bid2);
        r = wait_reply(wa, needle, before, WAIT_REPLY_MS);
        if (strstr(text_of(r), hi ? "की रिपोर्ट: 300 सदस्यों" : "sent to 300 members") == NULL ||
            strstr(text_of(r), hi ? "300 भेजी जा चुकीं" : "300 sent,") == NULL)
            fail_msg("report \"%s\" is not the %s report of 300", text_of(r),
                     hi ? "Hindi" : "English");
        json_decref(r);
    }
    assert_true(th_file_count(S.app.log_path, "9800058") == 0);
    assert_int_equal(th_stack_stop(&S), 0);
}

static void test_restart_hindi(void **state)
{
    (void)state;
    restart_mid_broadcast("alertpick-rh", SHO_NUMBER, "SHO-DNP", GRP_LANG_HI,
                          "उद्घोषणा आज रात नदी का जलस्तर बढ़ेगा, किनारे से दूर रहें",
                          "दानापुर बीट 2 (मनेर)", "HLD-01");
}

static void test_restart_english(void **state)
{
    (void)state;
    restart_mid_broadcast("alertpick-re", SSP_NUMBER, "SP-PAT", GRP_LANG_EN,
                          "ALERT Heavy rain tonight: stay away from the river bank",
                          "Bihta", "AMH-01");
}

int main(void)
{
    const struct CMUnitTest pick[] = {
        cmocka_unit_test(test_hindi_pick_a_beat),
        cmocka_unit_test(test_english_menu_two_levels),
    };
    const struct CMUnitTest restart[] = {
        cmocka_unit_test(test_restart_hindi),
        cmocka_unit_test(test_restart_english),
    };
    int rc;

    rc = cmocka_run_group_tests_name("alert picker", pick, setup_people, teardown_people);
    rc |= cmocka_run_group_tests_name("restart mid-broadcast", restart, NULL, NULL);
    return rc;
}
