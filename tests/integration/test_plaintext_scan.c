/*
 * tests/integration/test_plaintext_scan.c - nothing identifying is stored,
 * logged or exported in clear.
 *
 * 3,000 synthetic members enrol through signed webhooks into a running
 * `janseva serve` (log level debug): Indian numbers 9198..., some with a
 * BSUID, some BSUID-only (IN....), Devanagari and Latin profile names, message
 * texts quoting the sender's own number, and 600 number changes (system
 * messages whose body names the person and both numbers, then a message from
 * the new number). Then Redis SAVEs, the service stops, every key is read
 * back by type (binary values and the packed member records of the
 * js:mb:{hhhh} and js:ib:{hhhh} buckets included: the RDB compresses long
 * values), and every file of the test directory (that dump, RDB, AOF,
 * janseva's and Redis's logs) plus a /metrics
 * scrape is scanned for every number (10 digits, with 91, with +91, in
 * Devanagari digits), every BSUID, every name (UTF-8) and every wamid: zero
 * hits. The same scanner must then find values planted in clear on purpose,
 * which proves it can see them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/redis.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "crypto/mrec.h"
#include "tests/harness/harness.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define N_MEMBERS 3000
#define PER_WEBHOOK 50
#define PREFIX_LEN 8 /* needles are found by their first 8 bytes */

/* ======================= synthetic members ======================= */

static const char *const hi_first[] = {
    "राम", "सीता", "मोहन", "गीता", "सुनीता",
    "रमेश", "अनिल", "पूजा", "विकास", "कविता",
    "अजय", "रेखा", "संजय", "ममता", "दीपक",
    "प्रिया", "राजेश", "आरती", "मुकेश", "नेहा"
};
static const char *const hi_last[] = {
    "कुमार", "देवी", "यादव", "सिंह", "प्रसाद",
    "शर्मा", "मिश्रा", "पासवान", "मंडल", "झा",
    "ठाकुर", "राय", "पांडेय", "चौधरी", "महतो",
    "साह", "गुप्ता", "वर्मा", "तिवारी", "पाठक"
};
static const char *const en_first[] = {
    "Ramesh", "Sunita", "Anil", "Pooja", "Vikash", "Kavita", "Ajay", "Rekha", "Sanjay",
    "Mamta", "Deepak", "Priya", "Rajesh", "Aarti", "Mukesh", "Neha", "Suresh", "Anjali",
    "Manoj", "Kiran"
};
static const char *const en_last[] = {
    "Kumar", "Devi", "Yadav", "Singh", "Prasad", "Sharma", "Mishra", "Paswan", "Mandal", "Jha",
    "Thakur", "Rai", "Pandey", "Choudhary", "Mahto", "Sah", "Gupta", "Verma", "Tiwari",
    "Pathak"
};

struct member {
    char wa[16];      /* "9198xxxxxxxx", or "" for BSUID-only users */
    char uid[32];     /* "IN.<20 digits>", or "" */
    char name[96];
    char new_wa[16];  /* number after a change, or "" */
    char wamid[3][96];
};

static void make_member(struct member *m, int i)
{
    int kind = i % 10;
    int idx = i % 400;

    memset(m, 0, sizeof *m);
    if (kind != 6 && kind != 7)
        snprintf(m->wa, sizeof m->wa, "9198%08d", (i * 7919 + 1234567) % 100000000);
    if (kind == 6 || kind == 7 || i % 3 == 0)
        snprintf(m->uid, sizeof m->uid, "IN.157%017d", i * 9973 + 31);
    if (kind >= 8)
        snprintf(m->new_wa, sizeof m->new_wa, "9197%08d", (i * 6007 + 7654321) % 100000000);
    if (i % 2 == 0)
        snprintf(m->name, sizeof m->name, "%s %s", hi_first[idx % 20], hi_last[idx / 20]);
    else
        snprintf(m->name, sizeof m->name, "%s %s", en_first[idx % 20], en_last[idx / 20]);
    /* wamids embed the number in base64 like Meta's; the suffix makes them unique */
    snprintf(m->wamid[0], sizeof m->wamid[0], "wamid.HBgMOTE5ODEyMzQ1Njc4FQIAEhgg%06dA", i);
    snprintf(m->wamid[1], sizeof m->wamid[1], "wamid.HBgMOTE5ODc2NTAxMjM0FQIAEhgg%06dB", i);
    snprintf(m->wamid[2], sizeof m->wamid[2], "wamid.HBgMOTE5ODc2NTAxMjM0FQIAEhgg%06dC", i);
}

/* One message in a webhook: from `wa`/`uid` (either may be "") with text. */
static void add_message(struct core_buf *msgs, struct core_buf *contacts, const char *wa,
                        const char *uid, const char *name, const char *wamid, int64_t ts,
                        const char *text)
{
    if (contacts->len > 0)
        core_buf_puts(contacts, ",");
    core_buf_printf(contacts, "{\"profile\":{\"name\":\"%s\"}", name);
    if (wa[0] != '\0')
        core_buf_printf(contacts, ",\"wa_id\":\"%s\"", wa);
    if (uid[0] != '\0')
        core_buf_printf(contacts, ",\"user_id\":\"%s\"", uid);
    core_buf_puts(contacts, "}");
    if (msgs->len > 0)
        core_buf_puts(msgs, ",");
    if (wa[0] != '\0')
        core_buf_printf(msgs, "{\"from\":\"%s\"", wa);
    else
        core_buf_printf(msgs, "{\"from_user_id\":\"%s\"", uid);
    core_buf_printf(msgs,
                    ",\"id\":\"%s\",\"timestamp\":\"%lld\",\"type\":\"text\","
                    "\"text\":{\"body\":\"%s\"}}",
                    wamid, (long long)ts, text);
}

static char *wrap(const struct core_buf *msgs, const struct core_buf *contacts)
{
    struct core_buf b;

    core_buf_init(&b, 0);
    core_buf_printf(&b,
                    "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1044\","
                    "\"changes\":[{\"field\":\"messages\",\"value\":{\"messaging_product\":"
                    "\"whatsapp\",\"metadata\":{\"display_phone_number\":\"916122201234\","
                    "\"phone_number_id\":\"108765432109876\"},\"contacts\":[%s],"
                    "\"messages\":[%s]}}]}]}",
                    core_buf_str(contacts), core_buf_str(msgs));
    return core_buf_steal(&b);
}

/* ======================= the scanner ======================= */

struct scanner {
    char **s;
    size_t *len;
    size_t *hits;
    size_t n, cap;
    size_t *head; /* hash of the first 8 bytes -> needle index + 1 */
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
    sc->mask = (1u << 18) - 1;
    sc->head = calloc(sc->mask + 1, sizeof *sc->head);
}

static void scanner_free(struct scanner *sc)
{
    size_t i;

    for (i = 0; i < sc->n; i++)
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
    for (i = sc->head[h]; i != 0; i = sc->next[i - 1]) { /* names repeat: one copy */
        if (sc->len[i - 1] == l && memcmp(sc->s[i - 1], needle, l) == 0)
            return i - 1;
    }
    if (sc->n == sc->cap) {
        sc->cap = sc->cap ? sc->cap * 2 : 1024;
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

/* Count every needle occurrence in `len` bytes. */
static void scanner_run(struct scanner *sc, const char *buf, size_t len)
{
    size_t i;

    for (i = 0; i + PREFIX_LEN <= len; i++) {
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
    size_t i;

    *first = (size_t)-1;
    for (i = 0; i < sc->n; i++) {
        if (sc->hits[i] > 0 && *first == (size_t)-1)
            *first = i;
        t += sc->hits[i];
    }
    return t;
}

static void scanner_reset(struct scanner *sc)
{
    memset(sc->hits, 0, sc->n * sizeof *sc->hits);
}

/* Every regular file under `dir`, recursively; returns bytes scanned. */
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

/* "9812345678" -> the same in Devanagari digits (U+0966..U+096F). */
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

/* Every form of a number: national 10 digits, 91..., +91..., Devanagari. */
static void add_number(struct scanner *sc, const char *wa)
{
    char buf[96];
    const char *national = wa + 2;

    scanner_add(sc, national);
    scanner_add(sc, wa);
    snprintf(buf, sizeof buf, "+%s", wa);
    scanner_add(sc, buf);
    devanagari(national, buf, sizeof buf);
    scanner_add(sc, buf);
    devanagari(wa, buf, sizeof buf);
    scanner_add(sc, buf);
}

/* ======================= the test ======================= */

struct fixture {
    char *dir;
    struct th_redis redis;
    struct th_janseva app;
};

/* Every key of the live Redis read back by type into the test directory
 * (scanned with the other files). */
static void dump_live(struct fixture *f)
{
    char path[700];

    snprintf(path, sizeof path, "%s/redis-live.dump", f->dir);
    assert_int_equal(th_redis_dump_live(&f->redis, path), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = th_tmpdir("scan");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    if (th_janseva_start(&f->app, f->dir, &f->redis, NULL) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int rc = 0;

    if (f->app.proc.pid > 0 && th_janseva_stop(&f->app) != 0) {
        fprintf(stderr, "janseva did not stop cleanly (log: %s)\n", f->app.log_path);
        rc = -1;
    }
    th_redis_stop(&f->redis, 0);
    if (rc == 0)
        th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return rc;
}

struct want {
    struct fixture *f;
    long long messages;
};

static int routed(void *ud)
{
    struct want *w = ud;

    return th_redis_int(&w->f->redis, "HGET js:router:stats messages") >= w->messages &&
           th_redis_int(&w->f->redis, "XLEN js:in") == 0;
}

static void post(struct fixture *f, struct core_buf *msgs, struct core_buf *contacts)
{
    char *body = wrap(msgs, contacts);

    assert_int_equal(th_post_webhook(&f->app, body, strlen(body)), 200);
    free(body);
    core_buf_reset(msgs);
    core_buf_reset(contacts);
}

static void test_no_identifier_in_clear(void **state)
{
    struct fixture *f = *state;
    struct member *m = calloc(N_MEMBERS, sizeof *m);
    struct core_buf msgs, contacts;
    struct scanner sc;
    struct want w = {f, 0};
    size_t first;
    size_t bytes;
    int files = 0;
    int i;

    core_buf_init(&msgs, 0);
    core_buf_init(&contacts, 0);
    for (i = 0; i < N_MEMBERS; i++)
        make_member(&m[i], i);
    /* 1. everyone writes once; many quote their own number */
    for (i = 0; i < N_MEMBERS; i++) {
        char text[160];

        if (m[i].wa[0] != '\0' && i % 4 == 0)
            snprintf(text, sizeof text, "%s +91 %s %s, call me on %s", "मेरा नंबर",
                     m[i].wa + 2, "है", m[i].wa);
        else
            snprintf(text, sizeof text, "%s %s %d", "गाँव में",
                     "चोरी हुई है", i);
        add_message(&msgs, &contacts, m[i].wa, m[i].uid, m[i].name, m[i].wamid[0],
                    1763800000 + i, text);
        w.messages++;
        if ((i + 1) % PER_WEBHOOK == 0)
            post(f, &msgs, &contacts);
    }
    if (msgs.len > 0)
        post(f, &msgs, &contacts);
    assert_int_equal(th_wait(routed, &w, 60000), 0);
    /* 2. number changes (Meta's system body names the person and both
     * numbers), then a message from the new number */
    for (i = 0; i < N_MEMBERS; i++) {
        struct core_buf b;
        char *body;

        if (m[i].new_wa[0] == '\0')
            continue;
        core_buf_init(&b, 0);
        core_buf_printf(&b,
                        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1044\","
                        "\"changes\":[{\"field\":\"messages\",\"value\":{\"metadata\":{"
                        "\"phone_number_id\":\"108765432109876\"},\"messages\":[{\"from\":"
                        "\"%s\",\"id\":\"%s\",\"timestamp\":\"%d\",\"type\":\"system\","
                        "\"system\":{\"body\":\"User %s changed from %s to %s\",\"wa_id\":"
                        "\"%s\",\"type\":\"user_changed_number\"}}]}}]}]}",
                        m[i].wa, m[i].wamid[1], 1763900000 + i, m[i].name, m[i].wa,
                        m[i].new_wa, m[i].new_wa);
        body = core_buf_steal(&b);
        assert_int_equal(th_post_webhook(&f->app, body, strlen(body)), 200);
        free(body);
        core_buf_cleanup(&b);
        w.messages++;
        add_message(&msgs, &contacts, m[i].new_wa, m[i].uid, m[i].name, m[i].wamid[2],
                    1763950000 + i, "नया नंबर");
        w.messages++;
        if (msgs.len > 20000)
            post(f, &msgs, &contacts);
    }
    if (msgs.len > 0)
        post(f, &msgs, &contacts);
    assert_int_equal(th_wait(routed, &w, 60000), 0);

    /* The registry is right: one record per person, changes applied. */
    {
        struct core_err err;
        struct cry_keys *k = cry_keys_load(f->app.keys_dir, 0, &err);
        struct cry_identity *id;
        struct core_redis_opts o = {f->redis.addr, NULL, NULL, 5000};
        struct core_redis *r = core_redis_new(&o);
        redisReply *keys = th_redis_cmd(&f->redis, "KEYS js:mb:{*");
        struct cry_mrec *rec = malloc(sizeof *rec);
        size_t records = 0;
        size_t live = 0;
        size_t j;

        /* Two router threads may handle a new number's first message before
         * its user_changed_number: that makes a record which the change then
         * merges (field mg). Every person has exactly one live record. */
        assert_non_null(k);
        for (j = 0; j < keys->elements; j++) {
            redisReply *all = th_redis_cmd(&f->redis, "HGETALL %s", keys->element[j]->str);

            for (size_t e = 0; e + 1 < all->elements; e += 2) {
                assert_int_equal(cry_mrec_decode(all->element[e + 1]->str,
                                                 all->element[e + 1]->len, rec, &err),
                                 0);
                records++;
                if (cry_mrec_raw(rec, CRY_MR_MG, NULL) == NULL)
                    live++;
            }
            freeReplyObject(all);
        }
        print_message("%zu member records, %zu live, %zu merged\n", records, live,
                      records - live);
        assert_int_equal(live, N_MEMBERS);
        free(rec);
        freeReplyObject(keys);
        id = cry_identity_new(k);
        for (i = 0; i < N_MEMBERS; i += 97) {
            char mid[CRY_MID_LEN];
            int found = 0;
            const char *now = m[i].new_wa[0] != '\0' ? m[i].new_wa : m[i].wa;

            assert_int_equal(cry_identity_find(id, r, now[0] ? now : NULL,
                                               m[i].uid[0] ? m[i].uid : NULL, mid, &found, &err),
                             0);
            assert_int_equal(found, 1);
            if (m[i].new_wa[0] != '\0') {
                assert_int_equal(cry_identity_find(id, r, m[i].wa, NULL, mid, &found, &err), 0);
                assert_int_equal(found, 0); /* the old number no longer leads anywhere */
            }
        }
        cry_identity_free(id);
        core_redis_free(r);
        cry_keys_free(k);
    }

    /* Persist everything, scrape /metrics, stop the service (flushes logs). */
    {
        struct th_http_resp resp;
        char url[128];
        char path[700];

        snprintf(url, sizeof url, "%s/metrics", f->app.url);
        assert_int_equal(th_http("GET", url, NULL, NULL, 0, &resp), 0);
        snprintf(path, sizeof path, "%s/metrics.txt", f->dir);
        assert_int_equal(th_write_file(path, resp.body, resp.len), 0);
        assert_non_null(strstr(resp.body, "janseva_identity_members_created_total"));
        th_http_resp_free(&resp);
    }
    assert_int_equal(th_janseva_stop(&f->app), 0);
    freeReplyObject(th_redis_cmd(&f->redis, "SAVE"));
    /* The RDB compresses long values (LZF) and keeps small hashes as
     * listpack blobs: also read every key back by type, binary values and
     * the packed member records included, so that nothing escapes. */
    dump_live(f);

    scanner_init(&sc);
    for (i = 0; i < N_MEMBERS; i++) {
        int j;

        if (m[i].wa[0] != '\0')
            add_number(&sc, m[i].wa);
        if (m[i].new_wa[0] != '\0')
            add_number(&sc, m[i].new_wa);
        if (m[i].uid[0] != '\0')
            scanner_add(&sc, m[i].uid);
        scanner_add(&sc, m[i].name);
        for (j = 0; j < 3; j++)
            scanner_add(&sc, m[i].wamid[j]);
    }
    bytes = scan_tree(&sc, f->dir, &files);
    print_message("scanned %d files, %zu bytes, for %zu distinct values\n", files, bytes, sc.n);
    assert_true(files >= 4); /* RDB, AOF parts, janseva.log, metrics */
    assert_true(bytes > 1000000);
    if (scanner_total(&sc, &first) != 0)
        fail_msg("found an identifier in clear (needle %zu, %zu bytes long)", first,
                 sc.len[first]);

    /* The scanner sees what it looks for: plant values in clear and rescan. */
    {
        char dev[96];
        char plus[32];
        char line[256];
        char path[700];
        size_t idx[6];

        snprintf(plus, sizeof plus, "+%s", m[0].wa);
        devanagari(m[10].wa + 2, dev, sizeof dev);
        freeReplyObject(th_redis_cmd(&f->redis, "SET js:plant:a %s", plus));
        freeReplyObject(th_redis_cmd(&f->redis, "HSET js:plant:b n %s u %s", dev, m[6].uid));
        freeReplyObject(th_redis_cmd(&f->redis, "SET js:plant:c %s", m[2].name));
        /* and inside a packed member record of a bucket */
        th_member_set(&f->redis, "0123456789abcdef0123456789abcdef", "dd", m[30].name, NULL);
        freeReplyObject(th_redis_cmd(&f->redis, "SAVE"));
        dump_live(f);
        snprintf(line, sizeof line, "{\"msg\":\"leak\",\"x\":\"%s\"}\n", m[20].wa + 2);
        snprintf(path, sizeof path, "%s/planted.log", f->dir);
        assert_int_equal(th_write_file(path, line, strlen(line)), 0);
        idx[0] = scanner_add(&sc, plus);
        idx[1] = scanner_add(&sc, dev);
        idx[2] = scanner_add(&sc, m[6].uid);
        idx[3] = scanner_add(&sc, m[2].name);
        idx[4] = scanner_add(&sc, m[20].wa + 2);
        idx[5] = scanner_add(&sc, m[30].name);
        scanner_reset(&sc);
        files = 0;
        scan_tree(&sc, f->dir, &files);
        for (i = 0; i < 6; i++)
            assert_true(sc.hits[idx[i]] >= 1);
        /* +91 number found as itself and through its 10-digit and 91 forms */
        assert_true(sc.hits[scanner_add(&sc, m[0].wa + 2)] >= 1);
    }
    scanner_free(&sc);
    core_buf_cleanup(&msgs);
    core_buf_cleanup(&contacts);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_identifier_in_clear, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
