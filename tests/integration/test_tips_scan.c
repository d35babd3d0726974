/*
 * tests/integration/test_tips_scan.c - the plaintext scan of the crypto
 * foundation (test_plaintext_scan.c), for tips: no tipster's number, name,
 * tip text, place, media bytes or officer reply is stored, logged or
 * exported in clear.
 *
 * 40 tipsters write to a running `janseva serve` (log level debug) through
 * the Cloud API simulator: TIP, a text quoting their own number, a photo
 * whose bytes carry a marker, a location with a named place, and a
 * follow-up quoting their pseudonym; officers reply to every other one
 * through the API (delivered by the dispatcher) and read every case and
 * photo. The service's tip flow handles every message; the test makes the
 * same (idempotent) tip calls in-process with the router's event keys, to
 * look inside, logging at debug level into a file of the test directory.
 * Then janseva stops, Redis SAVEs, every key is read back by type into a
 * file (th_redis_dump_live: packed member records and binary values
 * included), and every file (that dump, RDB, AOF, the
 * service's, the simulator's, Redis's and the flow's logs) plus a /metrics
 * scrape is scanned for every such value: zero hits.
 * Values planted in clear are then found by the same scanner.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "crypto/identity.h"
#include "crypto/reveal.h"
#include "gateway/webhook.h"
#include "groups/tip.h"
#include "tests/harness/stack.h"

#include <dirent.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TOKEN "scan-api-token-0123456789"
#define N_TIPSTERS 40
#define PREFIX_LEN 8
#define PHOTO_BYTES 2048

static const char *const hi_names[] = {
    "\xe0\xa4\xb8\xe0\xa5\x81\xe0\xa4\xa8\xe0\xa5\x80\xe0\xa4\xa4\xe0\xa4\xbe \xe0\xa4\xa6\xe0"
    "\xa5\x87\xe0\xa4\xb5\xe0\xa5\x80",
    "\xe0\xa4\xb0\xe0\xa4\xae\xe0\xa5\x87\xe0\xa4\xb6 \xe0\xa4\xaf\xe0\xa4\xbe\xe0\xa4\xa6\xe0"
    "\xa4\xb5"};

struct tipster {
    char wa[16];
    char name[96];
    char text[200];
    char place[64];
    char follow[200];
    char reply[200];
    char mark[32];
    char mid[CRY_MID_LEN];
    struct grp_tip_case c;
};

/* ======================= the scanner (as in test_plaintext_scan.c) ======================= */

struct scanner {
    char **s;
    size_t *len;
    size_t *hits;
    size_t n, cap;
    size_t *head;
    size_t *next;
    size_t mask;
};

static uint64_t prefix_hash(const unsigned char *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof v);
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdULL;
    v ^= v >> 33;
    return v;
}

static void scanner_init(struct scanner *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->mask = (1u << 16) - 1;
    sc->head = calloc(sc->mask + 1, sizeof *sc->head);
}

static void scanner_free(struct scanner *sc)
{
    for (size_t i = 0; i < sc->n; i++)
        free(sc->s[i]);
    free(sc->s);
    free(sc->len);
    free(sc->hits);
    free(sc->next);
    free(sc->head);
}

static size_t scanner_add(struct scanner *sc, const char *needle)
{
    size_t l = strlen(needle);
    size_t h;
    size_t i;

    assert_true(l >= PREFIX_LEN);
    h = prefix_hash((const unsigned char *)needle) & sc->mask;
    for (i = sc->head[h]; i != 0; i = sc->next[i - 1]) {
        if (sc->len[i - 1] == l && memcmp(sc->s[i - 1], needle, l) == 0)
            return i - 1;
    }
    if (sc->n == sc->cap) {
        sc->cap = sc->cap ? sc->cap * 2 : 256;
        sc->s = realloc(sc->s, sc->cap * sizeof *sc->s);
        sc->len = realloc(sc->len, sc->cap * sizeof *sc->len);
        sc->hits = realloc(sc->hits, sc->cap * sizeof *sc->hits);
        sc->next = realloc(sc->next, sc->cap * sizeof *sc->next);
    }
    i = sc->n++;
    sc->s[i] = strdup(needle);
    sc->len[i] = l;
    sc->hits[i] = 0;
    sc->next[i] = sc->head[h];
    sc->head[h] = i + 1;
    return i;
}

static void scanner_run(struct scanner *sc, const char *buf, size_t len)
{
    for (size_t i = 0; i + PREFIX_LEN <= len; i++) {
        size_t k = sc->head[prefix_hash((const unsigned char *)buf + i) & sc->mask];

        while (k != 0) {
            size_t j = k - 1;

            if (sc->len[j] <= len - i && memcmp(buf + i, sc->s[j], sc->len[j]) == 0)
                sc->hits[j]++;
            k = sc->next[j];
        }
    }
}

static size_t scanner_total(const struct scanner *sc, size_t *first)
{
    size_t t = 0;

    *first = (size_t)-1;
    for (size_t i = 0; i < sc->n; i++) {
        if (sc->hits[i] > 0 && *first == (size_t)-1)
            *first = i;
        t += sc->hits[i];
    }
    return t;
}

static size_t scan_tree(struct scanner *sc, const char *dir, int *files)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t total = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        char path[1024];
        struct stat st;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            total += scan_tree(sc, path, files);
        } else if (S_ISREG(st.st_mode)) {
            size_t len = 0;
            char *buf = th_read_file(path, &len);

            if (buf != NULL) {
                scanner_run(sc, buf, len);
                total += len;
                (*files)++;
            }
            free(buf);
        }
    }
    closedir(d);
    return total;
}

static void devanagari(const char *digits, char *out, size_t n)
{
    size_t k = 0;

    for (; *digits != '\0' && k + 4 < n; digits++) {
        unsigned cp = 0x0966 + (unsigned)(*digits - '0');

        out[k++] = (char)(0xE0 | (cp >> 12));
        out[k++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[k++] = (char)(0x80 | (cp & 0x3F));
    }
    out[k] = '\0';
}

static void add_number(struct scanner *sc, const char *wa)
{
    char buf[96];

    scanner_add(sc, wa + 2);
    scanner_add(sc, wa);
    snprintf(buf, sizeof buf, "+%s", wa);
    scanner_add(sc, buf);
    devanagari(wa + 2, buf, sizeof buf);
    scanner_add(sc, buf);
}

/* ======================= the flow, in-process ======================= */

struct fix {
    struct th_stack s;
    struct core_cfg cfg;
    struct grp_tip *t;
    FILE *flow_log;
};

static char phone_list[] = TH_SIM_PNID;
static char *phones[1] = {phone_list};

/* A citizen's message through the simulator, parsed as janseva got it. */
static void inbound(struct fix *f, const struct tipster *tp, const char *fields,
                    struct gw_webhook *hook, const struct gw_event **ev,
                    struct gw_router_ctx *ctx)
{
    static char body[16384];
    char *out = NULL;
    json_t *j;
    const char *posted;
    const char *wamid;
    struct core_err err;

    snprintf(body, sizeof body, "{\"from\":\"%s\",\"name\":\"%s\",%s}", tp->wa, tp->name,
             fields);
    assert_int_equal(th_cloudsim_req(&f->s.sim, "POST", "/_sim/inbound", body, &out), 200);
    j = json_loads(out, 0, NULL);
    free(out);
    assert_int_equal(json_integer_value(json_object_get(j, "webhook_status")), 200);
    posted = json_string_value(json_object_get(j, "body"));
    assert_int_equal(gw_webhook_parse(hook, posted, strlen(posted), &err), 0);
    *ev = &hook->events[0];
    wamid = json_string_value(json_object_get(j, "wamid"));
    memset(ctx, 0, sizeof *ctx);
    ctx->redis = f->s.r;
    memcpy(ctx->member_id, tp->mid, CRY_MID_LEN);
    /* the router's event key: the service's tip flow handles the same event
     * and every tip call is idempotent by it, so these calls return what the
     * flow did */
    th_stack_event_key(&f->s, wamid, ctx->event_key);
    json_decref(j);
}

static long api(struct fix *f, const char *method, const char *path, const char *json,
                size_t *len)
{
    struct th_http_resp resp;
    char url[300];
    const char *h[] = {"Authorization: Bearer " TOKEN, "Content-Type: application/json", NULL};
    long st;

    snprintf(url, sizeof url, "%s%s", f->s.app.url, path);
    if (th_http(method, url, h, json, json != NULL ? strlen(json) : 0, &resp) != 0)
        return -1;
    st = resp.status;
    if (len != NULL)
        *len = resp.len;
    th_http_resp_free(&resp);
    return st;
}

struct done_wait {
    struct fix *f;
    struct tipster *tps;
};

static int media_done(void *ud)
{
    struct done_wait *w = ud;
    struct core_err err;

    for (int i = 0; i < N_TIPSTERS; i++) {
        char st[32] = "";

        grp_tip_media_state(w->f->s.r, w->tps[i].c.id, 2, st, sizeof st, &err);
        if (strcmp(st, "stored") != 0)
            return 0;
    }
    return 1;
}

static int replies_sent(void *ud)
{
    struct done_wait *w = ud;

    return th_stack_accepted(&w->f->s, NULL) >= N_TIPSTERS / 2;
}

static void test_no_tip_in_clear(void **state)
{
    static const char *const env[] = {"JANSEVA_API_TOKEN=" TOKEN, NULL};
    struct fix *f = calloc(1, sizeof *f);
    struct tipster *tps = calloc(N_TIPSTERS, sizeof *tps);
    struct done_wait dw = {f, tps};
    struct scanner sc;
    struct core_err err;
    char flow_path[700];
    char env_redis[700], env_keys[700];
    const char *cli_env[5];
    size_t first;
    size_t bytes;
    int files = 0;

    (void)state;
    assert_int_equal(th_stack_start(&f->s, "tipscan", NULL, env), 0);
    /* the reveal key (a case is never opened without one) */
    snprintf(env_redis, sizeof env_redis, "JANSEVA_REDIS=%s", f->s.redis.addr);
    snprintf(env_keys, sizeof env_keys, "JANSEVA_KEYS_DIR=%s", f->s.app.keys_dir);
    cli_env[0] = env_redis;
    cli_env[1] = env_keys;
    cli_env[2] = "JANSEVA_LOG_LEVEL=debug";
    cli_env[3] = NULL;
    {
        char out_dir[700];
        const char *argv[] = {th_bin(), "keys", "init-reveal", "--out", out_dir, NULL};
        char *o = NULL, *e = NULL;

        snprintf(out_dir, sizeof out_dir, "%s/shares", f->s.dir);
        assert_int_equal(th_run(argv, cli_env, NULL, 0, &o, &e), 0);
        free(o);
        free(e);
    }
    assert_int_equal(core_cfg_load(&f->cfg, NULL, &err), 0);
    f->cfg.phone_numbers = phones;
    f->cfg.n_phone_numbers = 1;
    f->t = grp_tip_new(&f->cfg, f->s.keys, f->s.ident);
    snprintf(flow_path, sizeof flow_path, "%s/flow.log", f->s.dir);
    f->flow_log = fopen(flow_path, "w");
    core_log_set_output(f->flow_log);
    core_log_set_level(CORE_LOG_DEBUG);
    freeReplyObject(th_redis_cmd(&f->s.redis, "HSET js:u:{PAT-DNP} k thana p PAT en Danapur"));
    freeReplyObject(th_redis_cmd(&f->s.redis, "HSET js:u:{PAT} k district p BR en Patna"));

    for (int i = 0; i < N_TIPSTERS; i++) {
        struct tipster *tp = &tps[i];
        struct gw_webhook hook;
        const struct gw_event *ev;
        struct gw_router_ctx ctx;
        struct grp_tip_added a;
        unsigned char photo[PHOTO_BYTES];
        char b64[sodium_base64_ENCODED_LEN(PHOTO_BYTES, sodium_base64_VARIANT_ORIGINAL)];
        char fields[4096];
        int created;

        snprintf(tp->wa, sizeof tp->wa, "9197%08d", 31000000 + i * 7919);
        if (i % 2 == 0)
            snprintf(tp->name, sizeof tp->name, "%s %d", hi_names[i % 4 / 2], i);
        else
            snprintf(tp->name, sizeof tp->name, "Informer Kumari %d", i);
        snprintf(tp->text, sizeof tp->text, "TIPSECRET-%04d illegal arms near the school", i);
        snprintf(tp->place, sizeof tp->place, "PLACE-%04d-behind-the-temple", i);
        snprintf(tp->follow, sizeof tp->follow, "FOLLOW-%04d they moved it", i);
        snprintf(tp->reply, sizeof tp->reply, "OFFREPLY-%04d stay away from it", i);
        snprintf(tp->mark, sizeof tp->mark, "MEDIAMARK-%04d", i);
        /* a first message: the member is created by janseva's router */
        assert_int_equal(th_stack_inbound(&f->s, tp->wa, "नमस्ते"), 0);
        assert_int_equal(th_stack_member(&f->s, tp->wa, tp->mid), 0);
        if (i % 3 == 0)
            th_member_set(&f->s.redis, tp->mid, "g", "PAT-DNP", NULL);
        snprintf(fields, sizeof fields, "\"text\":\"TIP\"");
        inbound(f, tp, fields, &hook, &ev, &ctx);
        assert_int_equal(grp_tip_open_case(f->t, &ctx, ev, NULL, &tp->c, &created, &err), 0);
        gw_webhook_free(&hook);
        /* a text quoting the tipster's own number */
        snprintf(fields, sizeof fields, "\"text\":\"%s call me on %s or +91 %s\"", tp->text,
                 tp->wa, tp->wa + 2);
        inbound(f, tp, fields, &hook, &ev, &ctx);
        assert_int_equal(grp_tip_add(f->t, &ctx, ev, tp->c.id, &a, &err), 0);
        gw_webhook_free(&hook);
        /* a photo whose bytes carry a marker */
        for (size_t k = 0; k < sizeof photo; k++)
            photo[k] = (unsigned char)tp->mark[k % strlen(tp->mark)];
        sodium_bin2base64(b64, sizeof b64, photo, sizeof photo, sodium_base64_VARIANT_ORIGINAL);
        snprintf(fields, sizeof fields,
                 "\"type\":\"image\",\"mime_type\":\"image/jpeg\",\"media_base64\":\"%s\"", b64);
        inbound(f, tp, fields, &hook, &ev, &ctx);
        assert_int_equal(grp_tip_add(f->t, &ctx, ev, tp->c.id, &a, &err), 0);
        assert_int_equal(a.n, 2);
        gw_webhook_free(&hook);
        /* a location */
        snprintf(fields, sizeof fields,
                 "\"type\":\"location\",\"latitude\":25.6,\"longitude\":85.1,"
                 "\"location_name\":\"%s\"",
                 tp->place);
        inbound(f, tp, fields, &hook, &ev, &ctx);
        assert_int_equal(grp_tip_add(f->t, &ctx, ev, tp->c.id, &a, &err), 0);
        gw_webhook_free(&hook);
        /* a follow-up quoting the pseudonym */
        {
            char cid[GRP_TIP_CASE_LEN];
            int found = 0;

            snprintf(fields, sizeof fields, "\"text\":\"%s %s\"", tp->c.pseudonym, tp->follow);
            inbound(f, tp, fields, &hook, &ev, &ctx);
            assert_int_equal(grp_tip_find_by_pseudonym(f->t, f->s.r, ev->text, tp->mid, cid,
                                                       &found, &err),
                             0);
            assert_int_equal(found, 1);
            assert_int_equal(grp_tip_add(f->t, &ctx, ev, cid, &a, &err), 0);
            gw_webhook_free(&hook);
        }
    }
    /* officers reply to every other tipster */
    for (int i = 0; i < N_TIPSTERS; i += 2) {
        char path[200];
        char json[300];

        snprintf(path, sizeof path, "/api/tips/%s/replies", tps[i].c.id);
        snprintf(json, sizeof json, "{\"text\":\"%s\"}", tps[i].reply);
        assert_int_equal(api(f, "POST", path, json, NULL), 202);
    }
    /* every photo fetched and stored by the service */
    assert_int_equal(th_wait(media_done, &dw, 30000), 0);
    assert_int_equal(th_wait(replies_sent, &dw, 20000), 0);
    /* officers read every case and every photo */
    for (int i = 0; i < N_TIPSTERS; i++) {
        char path[200];
        size_t len = 0;

        snprintf(path, sizeof path, "/api/tips/%s", tps[i].c.id);
        assert_int_equal(api(f, "GET", path, NULL, NULL), 200);
        snprintf(path, sizeof path, "/api/tips/%s/media/2", tps[i].c.pseudonym);
        assert_int_equal(api(f, "GET", path, NULL, &len), 200);
        assert_int_equal(len, PHOTO_BYTES);
    }
    /* metrics, then stop everything that writes */
    {
        struct th_http_resp resp;
        char url[128];
        char path[700];

        snprintf(url, sizeof url, "%s/metrics", f->s.app.url);
        assert_int_equal(th_http("GET", url, NULL, NULL, 0, &resp), 0);
        assert_non_null(strstr(resp.body, "janseva_tip_media_total{result=\"stored\"} 40"));
        snprintf(path, sizeof path, "%s/metrics.txt", f->s.dir);
        assert_int_equal(th_write_file(path, resp.body, resp.len), 0);
        th_http_resp_free(&resp);
    }
    assert_int_equal(th_janseva_stop(&f->s.app), 0);
    freeReplyObject(th_redis_cmd(&f->s.redis, "SAVE"));
    /* every key read back by type too (packed member records, binary
     * values: the RDB compresses long values) */
    {
        char path[700];

        snprintf(path, sizeof path, "%s/redis-live.dump", f->s.dir);
        assert_int_equal(th_redis_dump_live(&f->s.redis, path), 0);
    }
    core_log_set_output(NULL);
    fclose(f->flow_log);

    scanner_init(&sc);
    for (int i = 0; i < N_TIPSTERS; i++) {
        add_number(&sc, tps[i].wa);
        scanner_add(&sc, tps[i].name);
        scanner_add(&sc, tps[i].text);
        scanner_add(&sc, tps[i].place);
        scanner_add(&sc, tps[i].follow);
        scanner_add(&sc, tps[i].reply);
        scanner_add(&sc, tps[i].mark);
    }
    bytes = scan_tree(&sc, f->s.dir, &files);
    print_message("scanned %d files, %zu bytes, for %zu distinct values\n", files, bytes, sc.n);
    assert_true(files >= 6); /* RDB, AOF, janseva, cloudsim, redis and flow logs, metrics */
    if (scanner_total(&sc, &first) != 0)
        fail_msg("found a tip value in clear: \"%s\"", sc.s[first]);

    /* the scanner sees what it looks for */
    {
        char line[300];
        char path[700];
        size_t idx[4];

        freeReplyObject(th_redis_cmd(&f->s.redis, "SET js:plant:a %s", tps[3].text));
        freeReplyObject(th_redis_cmd(&f->s.redis, "SET js:plant:b %s", tps[4].mark));
        freeReplyObject(th_redis_cmd(&f->s.redis, "SAVE"));
        snprintf(line, sizeof line, "{\"msg\":\"leak\",\"x\":\"%s %s\"}\n", tps[5].wa + 2,
                 tps[6].name);
        snprintf(path, sizeof path, "%s/planted.log", f->s.dir);
        assert_int_equal(th_write_file(path, line, strlen(line)), 0);
        idx[0] = scanner_add(&sc, tps[3].text);
        idx[1] = scanner_add(&sc, tps[4].mark);
        idx[2] = scanner_add(&sc, tps[5].wa + 2);
        idx[3] = scanner_add(&sc, tps[6].name);
        memset(sc.hits, 0, sc.n * sizeof *sc.hits);
        files = 0;
        scan_tree(&sc, f->s.dir, &files);
        for (int i = 0; i < 4; i++)
            assert_true(sc.hits[idx[i]] >= 1);
    }
    scanner_free(&sc);
    grp_tip_free(f->t);
    f->cfg.phone_numbers = NULL;
    f->cfg.n_phone_numbers = 0;
    core_cfg_cleanup(&f->cfg);
    assert_int_equal(th_stack_stop(&f->s), 0);
    free(tps);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_tip_in_clear),
    };

    if (sodium_init() < 0)
        return 1;
    cry_reveal_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
