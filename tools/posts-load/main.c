/*
 * tools/posts-load/main.c - benchmark helper for group posts (scripts/
 * bench-posts.sh): webhook-to-relay-enqueued latency.
 *
 *   posts-load ADDR:PORT PNID MEMBERS RATE SECONDS TEXTS [CONNS]
 *
 * Sends RATE signed text webhooks per second for SECONDS to
 * http://ADDR:PORT/webhook over CONNS keep-alive connections (default 4,
 * one sender thread each, every post at its scheduled time t0 + seq/RATE).
 * Post seq comes from member serial seq % MEMBERS (numbers 9170nnnnnnnn,
 * as tools/groups-load members writes them), so each member posts
 * SECONDS * RATE / MEMBERS times; its text is two lines of TEXTS (distinct
 * pairs, so no two posts are near-duplicates) and " (ref SEQ)".
 *
 * Before sending, it computes what janseva will compute: each post's id
 * (gw_router_event_key with the dedupe key of JANSEVA_KEYS_DIR, then
 * grp_post_id) and the idempotency key hash of its relay to every other
 * member of the author's group (post:<PID>:<MID>, gw_outbox_key_hash;
 * groups read from the membership hashes js:u:{CODE}:mem). A reader
 * thread does XREAD BLOCK on the bulk lane js:out:{PNID}:2, looks each
 * entry's key hash up (nothing is opened) and records, for the first
 * entry of each post, the time it saw it (CLOCK_REALTIME, the clock the
 * senders use) and the entry id's Redis ms.
 * The latency of a post = first entry seen - POST written. After the last
 * send it waits up to 5 s for stragglers, then prints one line:
 *
 *   RESULT sent S relayed K non200 E posts/s A p50 P p90 Q p99 R max M
 *          idp50 I idp99 J                           (ms; id*: stream id ms)
 *
 * Settings come from the environment (JANSEVA_REDIS, JANSEVA_KEYS_DIR,
 * JANSEVA_APP_SECRET) like janseva's. Not a library module: plain exits.
 */
#include "core/cli.h"
#include "core/config.h"
#include "core/redis.h"
#include "core/util.h"
#include "crypto/bidx.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "gateway/outbox.h"
#include "gateway/router.h"
#include "groups/post.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX 32
#define RESP_MAX 8192
#define TAG " (ref "
#define DRAIN_MS 5000

struct run {
    struct sockaddr_in addr;
    const char *pnid;
    const char *secret;
    long members;
    long rate;
    long total;
    int conns;
    char **texts;
    size_t ntexts;
    int64_t t0_us;
    long long run_id; /* in the wamids: distinct runs, distinct posts */
    int64_t *sent_us;  /* per seq, written by senders */
    int64_t *first_us; /* per seq, written by the reader */
    int64_t *id_ms;    /* per seq: ms part of the first entry's id */
    long non200;
    int done; /* senders finished */
    struct core_cfg cfg;
    struct cry_keys *keys;
    /* open-addressing table: relay key hash -> seq */
    char (*kh)[GW_KEY_HASH_LEN];
    long *kh_seq;
    size_t kh_cap;
};

static size_t kh_slot(const struct run *run, const char *kh)
{
    size_t h = strtoull((char[17]){kh[0], kh[1], kh[2], kh[3], kh[4], kh[5], kh[6], kh[7],
                                   kh[8], kh[9], kh[10], kh[11], kh[12], kh[13], kh[14], kh[15],
                                   0},
                        NULL, 16);

    for (size_t i = h % run->kh_cap;; i = (i + 1) % run->kh_cap) {
        if (run->kh[i][0] == '\0' || strcmp(run->kh[i], kh) == 0)
            return i;
    }
}

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_until_us(int64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000), (long)(t % 1000000) * 1000};

    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static int dial(const struct run *run)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;

    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)&run->addr, sizeof run->addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The webhook body of post `seq` (caller frees). */
static char *body_of(const struct run *run, long seq)
{
    long serial = seq % run->members;
    size_t a = (size_t)seq % run->ntexts;
    size_t b = (a + 1 + ((size_t)seq / run->ntexts) % (run->ntexts - 1)) % run->ntexts;
    char wa[32], id[64], ts[24], *text, *out;
    size_t n = strlen(run->texts[a]) + strlen(run->texts[b]) + 64;
    json_t *j;

    snprintf(wa, sizeof wa, "9170%08ld", serial);
    snprintf(id, sizeof id, "wamid.bench.%lld.%ld", run->run_id, seq);
    snprintf(ts, sizeof ts, "%lld", (long long)(now_us() / 1000000));
    text = malloc(n);
    snprintf(text, n, "%s %s" TAG "%ld)", run->texts[a], run->texts[b], seq);
    j = json_pack("{s:s,s:[{s:s,s:[{s:s,s:{s:s,s:{s:s,s:s},s:[{s:{s:s},s:s}],s:[{s:s,s:s,s:s,"
                  "s:s,s:{s:s}}]}}]}]}",
                  "object", "whatsapp_business_account", "entry", "id", "0", "changes", "field",
                  "messages", "value", "messaging_product", "whatsapp", "metadata",
                  "display_phone_number", "910000000000", "phone_number_id", run->pnid,
                  "contacts", "profile", "name", "Synthetic Member", "wa_id", wa, "messages",
                  "from", wa, "id", id, "timestamp", ts, "type", "text", "text", "body", text);
    out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    free(text);
    return out;
}

/* Read one HTTP response; returns its status, or -1 (connection gone). */
static int read_response(int fd)
{
    char buf[RESP_MAX];
    size_t got = 0;

    for (;;) {
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        char *end;

        if (n <= 0)
            return -1;
        got += (size_t)n;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end != NULL) {
            const char *cl = strcasestr(buf, "content-length:");
            size_t want = (size_t)(end + 4 - buf) + (cl != NULL ? strtoul(cl + 15, NULL, 10) : 0);
            int status = (int)strtol(buf + 9, NULL, 10);

            while (got < want && got < sizeof buf - 1) {
                n = read(fd, buf + got, sizeof buf - 1 - got);
                if (n <= 0)
                    return -1;
                got += (size_t)n;
            }
            return status;
        }
        if (got >= sizeof buf - 1)
            return -1;
    }
}

struct sender {
    struct run *run;
    int index;
};

static void *send_loop(void *arg)
{
    struct sender *s = arg;
    struct run *run = s->run;
    int fd = dial(run);

    for (long seq = s->index; seq < run->total; seq += run->conns) {
        char *body = body_of(run, seq);
        size_t bl = strlen(body);
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        char hex[2 * sizeof mac + 1];
        crypto_auth_hmacsha256_state st;
        char head[512];
        int hl;
        int status = -1;

        crypto_auth_hmacsha256_init(&st, (const unsigned char *)run->secret, strlen(run->secret));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, bl);
        crypto_auth_hmacsha256_final(&st, mac);
        core_hex(hex, mac, sizeof mac);
        hl = snprintf(head, sizeof head,
                      "POST /webhook HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                      "X-Hub-Signature-256: sha256=%s\r\nContent-Length: %zu\r\n\r\n",
                      hex, bl);
        sleep_until_us(run->t0_us + seq * 1000000 / run->rate);
        for (int attempt = 0; attempt < 2 && status < 0; attempt++) {
            if (fd < 0)
                fd = dial(run);
            if (fd < 0)
                break;
            __atomic_store_n(&run->sent_us[seq], now_us(), __ATOMIC_RELEASE);
            if (write(fd, head, (size_t)hl) == hl && write(fd, body, bl) == (ssize_t)bl)
                status = read_response(fd);
            if (status < 0) {
                close(fd);
                fd = -1;
            }
        }
        if (status != 200)
            __atomic_add_fetch(&run->non200, 1, __ATOMIC_RELAXED);
        free(body);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void take_entry(struct run *run, const redisReply *e)
{
    const redisReply *f;
    size_t slot;
    long seq;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
        return;
    f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        if (strcmp(f->element[i]->str, "k") != 0 || f->element[i + 1]->len != GW_KEY_HASH_LEN - 1)
            continue;
        slot = kh_slot(run, f->element[i + 1]->str);
        if (run->kh[slot][0] == '\0')
            return;
        seq = run->kh_seq[slot];
        if (run->first_us[seq] == 0) {
            run->first_us[seq] = now_us();
            run->id_ms[seq] = strtoll(e->element[0]->str, NULL, 10);
        }
        return;
    }
}

/* The relay key hashes of every post (see the top). */
static int expect(struct run *run, struct core_redis *r, struct core_err *err)
{
    struct gw_router *rt = gw_router_new(&run->cfg);
    char **mid = calloc((size_t)run->members, sizeof *mid);
    char **grp = calloc((size_t)run->members, sizeof *grp);
    redisReply **mem = calloc((size_t)run->members, sizeof *mem);

    gw_router_set_hash_key(rt, cry_keys_get(run->keys, CRY_KEY_DEDUPE), CRY_KEYBYTES);
    for (long s = 0; s < run->members; s++) {
        unsigned char bidx[CRY_BIDX_BYTES];
        char wa[32];
        struct grp_member gm;

        snprintf(wa, sizeof wa, "9170%08ld", s);
        mid[s] = calloc(1, CRY_MID_LEN);
        if (cry_bidx_wa(run->keys, wa, bidx, err) != 0)
            return -1;
        cry_identity_mid(run->keys, bidx, 0, mid[s]);
        if (grp_member_load(r, mid[s], &gm, err) != 0)
            return -1;
        grp[s] = strdup(gm.group);
        for (long t = 0; t < s; t++) {
            if (strcmp(grp[t], grp[s]) == 0) {
                mem[s] = mem[t];
                break;
            }
        }
        if (mem[s] == NULL &&
            core_redis_cmdf(r, &mem[s], err, "HKEYS js:u:{%s}:mem", grp[s]) != 0)
            return -1;
    }
    run->kh_cap = 1;
    for (long seq = 0; seq < run->total; seq++)
        run->kh_cap += mem[seq % run->members]->elements;
    run->kh_cap *= 2;
    run->kh = calloc(run->kh_cap, sizeof *run->kh);
    run->kh_seq = calloc(run->kh_cap, sizeof *run->kh_seq);
    for (long seq = 0; seq < run->total; seq++) {
        const redisReply *m = mem[seq % run->members];
        struct gw_event ev;
        char ek[GW_EVENT_KEY_HEX], pid[GRP_POST_ID_LEN], id[64];

        memset(&ev, 0, sizeof ev);
        ev.kind = GW_EVENT_MESSAGE;
        snprintf(id, sizeof id, "wamid.bench.%lld.%ld", run->run_id, seq);
        ev.id = id;
        gw_router_event_key(rt, "", &ev, ek);
        grp_post_id(ek, pid);
        for (size_t i = 0; i < m->elements; i++) {
            char key[GW_OUT_KEY_MAX + 1], kh[GW_KEY_HASH_LEN];
            char other[CRY_MID_LEN];
            size_t slot;

            /* the membership hash's fields are binary mids */
            if (grp_member_mid_from_set(m->element[i], other) != 0 ||
                strcmp(other, mid[seq % run->members]) == 0)
                continue;
            snprintf(key, sizeof key, "post:%s:%s", pid, other);
            gw_outbox_key_hash(key, kh);
            slot = kh_slot(run, kh);
            memcpy(run->kh[slot], kh, GW_KEY_HASH_LEN);
            run->kh_seq[slot] = seq;
        }
    }
    gw_router_free(rt);
    return 0;
}

static void *read_loop(void *arg)
{
    struct run *run = arg;
    struct core_redis_opts o = {run->cfg.redis, run->cfg.redis_user, run->cfg.redis_password,
                                60000};
    struct core_redis *r = core_redis_new(&o);
    char lane[128];
    char last[64] = "$";
    int64_t stop_at = 0;

    gw_outbox_lane_key(run->pnid, GW_LANE_BULK, lane, sizeof lane);
    for (;;) {
        redisReply *rep;
        struct core_err err;

        if (__atomic_load_n(&run->done, __ATOMIC_ACQUIRE)) {
            long missing = 0;

            if (stop_at == 0)
                stop_at = core_mono_ms() + DRAIN_MS;
            for (long i = 0; i < run->total; i++)
                missing += run->first_us[i] == 0;
            if (missing == 0 || core_mono_ms() > stop_at)
                break;
        }
        if (core_redis_cmdf(r, &rep, &err, "XREAD COUNT 2000 BLOCK 200 STREAMS %s %s", lane,
                            last) != 0) {
            fprintf(stderr, "posts-load: %s\n", err.msg);
            exit(69);
        }
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1) {
            const redisReply *entries = rep->element[0]->element[1];

            for (size_t i = 0; i < entries->elements; i++)
                take_entry(run, entries->element[i]);
            if (entries->elements > 0)
                snprintf(last, sizeof last, "%s",
                         entries->element[entries->elements - 1]->element[0]->str);
        }
        freeReplyObject(rep);
    }
    core_redis_free(r);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static double pct(const int64_t *v, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);

    return n == 0 ? 0.0 : (double)v[i];
}

static char **read_texts(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    char **v = NULL;
    size_t cap = 0;
    char line[4096];

    *n = 0;
    if (f == NULL)
        return NULL;
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            v = realloc(v, cap * sizeof *v);
        }
        v[(*n)++] = strdup(line);
    }
    fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    static struct run run;
    struct core_err err;
    struct core_redis *r;
    pthread_t senders[CONNS_MAX];
    struct sender sa[CONNS_MAX];
    pthread_t reader;
    int64_t v_seconds, last_sent = 0;
    int64_t *lat, *idlat;
    size_t nl = 0;
    char host[64];
    const char *colon;

    if (argc < 7 || (colon = strchr(argv[1], ':')) == NULL ||
        (size_t)(colon - argv[1]) >= sizeof host ||
        core_parse_i64(argv[3], &v_seconds) != 0 || v_seconds < 1 ||
        (run.members = v_seconds, core_parse_i64(argv[4], &v_seconds) != 0) || v_seconds < 1 ||
        (run.rate = v_seconds, core_parse_i64(argv[5], &v_seconds) != 0) || v_seconds < 1) {
        fprintf(stderr, "usage: posts-load ADDR:PORT PNID MEMBERS RATE SECONDS TEXTS [CONNS]\n");
        return 64;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - argv[1]), argv[1]);
    run.addr.sin_family = AF_INET;
    run.addr.sin_port = htons((uint16_t)(int)strtol(colon + 1, NULL, 10));
    if (inet_pton(AF_INET, host, &run.addr.sin_addr) != 1) {
        fprintf(stderr, "posts-load: %s: not an IPv4 address\n", host);
        return 64;
    }
    run.pnid = argv[2];
    run.total = run.rate * v_seconds;
    run.conns = argc > 7 ? (int)strtol(argv[7], NULL, 10) : 4;
    if (run.conns < 1 || run.conns > CONNS_MAX)
        run.conns = 4;
    run.secret = getenv("JANSEVA_APP_SECRET");
    run.texts = read_texts(argv[6], &run.ntexts);
    if (run.secret == NULL || run.texts == NULL || run.ntexts < 2) {
        fprintf(stderr, "posts-load: needs JANSEVA_APP_SECRET and at least 2 texts in %s\n",
                argv[6]);
        return 66;
    }
    if (sodium_init() < 0)
        return 70;
    if (core_cli_load_config(&run.cfg, NULL, &err) != 0) {
        fprintf(stderr, "posts-load: %s\n", err.msg);
        return 78;
    }
    run.keys = cry_keys_load_configured(run.cfg.keys_dir, NULL, &err);
    if (run.keys == NULL) {
        fprintf(stderr, "posts-load: %s\n", err.msg);
        return 78;
    }
    {
        struct core_redis_opts o = {run.cfg.redis, run.cfg.redis_user, run.cfg.redis_password,
                                    10000};

        r = core_redis_new(&o);
        if (cry_keys_refresh(run.keys, r, &err) != 0) {
            fprintf(stderr, "posts-load: %s\n", err.msg);
            return 69;
        }
        run.run_id = (long long)now_us();
        if (expect(&run, r, &err) != 0) {
            fprintf(stderr, "posts-load: %s\n", err.msg);
            return 69;
        }
        core_redis_free(r);
    }
    run.sent_us = calloc((size_t)run.total, sizeof *run.sent_us);
    run.first_us = calloc((size_t)run.total, sizeof *run.first_us);
    run.id_ms = calloc((size_t)run.total, sizeof *run.id_ms);
    pthread_create(&reader, NULL, read_loop, &run);
    core_sleep_ms(300); /* the reader's first XREAD is blocking on "$" */
    run.t0_us = now_us() + 100000;
    for (int i = 0; i < run.conns; i++) {
        sa[i].run = &run;
        sa[i].index = i;
        pthread_create(&senders[i], NULL, send_loop, &sa[i]);
    }
    for (int i = 0; i < run.conns; i++)
        pthread_join(senders[i], NULL);
    __atomic_store_n(&run.done, 1, __ATOMIC_RELEASE);
    pthread_join(reader, NULL);

    lat = calloc((size_t)run.total, sizeof *lat);
    idlat = calloc((size_t)run.total, sizeof *idlat);
    for (long i = 0; i < run.total; i++) {
        if (run.sent_us[i] > last_sent)
            last_sent = run.sent_us[i];
        if (run.first_us[i] == 0 || run.sent_us[i] == 0)
            continue;
        lat[nl] = run.first_us[i] - run.sent_us[i];
        idlat[nl++] = run.id_ms[i] * 1000 - run.sent_us[i];
    }
    qsort(lat, nl, sizeof *lat, cmp_i64);
    qsort(idlat, nl, sizeof *idlat, cmp_i64);
    printf("RESULT sent %ld relayed %zu non200 %ld posts/s %.0f p50 %.2f p90 %.2f p99 %.2f "
           "max %.2f idp50 %.1f idp99 %.1f\n",
           run.total, nl, run.non200,
           (double)run.total * 1e6 / (double)(last_sent - run.sent_us[0] + 1000000 / run.rate),
           pct(lat, nl, 0.50) / 1000, pct(lat, nl, 0.90) / 1000, pct(lat, nl, 0.99) / 1000,
           nl > 0 ? (double)lat[nl - 1] / 1000 : 0.0, pct(idlat, nl, 0.50) / 1000,
           pct(idlat, nl, 0.99) / 1000);
    return 0;
}
