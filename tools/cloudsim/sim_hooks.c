/*
 * tools/cloudsim/sim_hooks.c - status plans, the webhook emitter thread and
 * immediate POSTs (see sim_hooks.h).
 *
 * Producers (HTTP worker threads) append planned statuses to an inbox under
 * `lock`; the emitter moves them into a min-heap ordered by due time (ties
 * keep submission order), starts POSTs through one CURLM handle and sleeps
 * in curl_multi_poll() until the next item is due or a socket is ready. A
 * producer wakes it (curl_multi_wakeup) only when its item is due before
 * the emitter planned to wake; both sides decide under `lock`, so no wake-up
 * is lost.
 */
#include "tools/cloudsim/sim_hooks.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "gateway/signature.h"
#include "tools/cloudsim/sim_errors.h"
#include "tools/cloudsim/sim_rng.h"
#include "tools/cloudsim/sim_state.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_RETRY_CAP_MS 30000
#define SIM_IDLE_WAIT_MS 1000
#define SIM_MAX_EVENTS 8
#define SIM_USER_AGENT "facebookexternalua"

enum item_kind { ITEM_STATUS, ITEM_RETRY };

enum st_kind { ST_SENT, ST_DELIVERED, ST_READ, ST_FAILED };

/* A unit of work for the emitter: one status, or a whole body to resend. */
struct item {
    int64_t due;    /* core_mono_ms() */
    uint64_t order; /* submission order, breaks ties */
    unsigned gen;   /* sim generation when queued */
    enum item_kind kind;
    /* ITEM_STATUS */
    char *pnid;
    json_t *status; /* owned */
    enum st_kind st;
    int dup;
    /* ITEM_RETRY */
    char *body;
    size_t len;
    int attempt;      /* attempts made so far */
    int64_t first_ms; /* monotonic time of the first attempt */
};

/* A POST in flight. */
struct post {
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    size_t len;
    int attempt;
    int64_t first_ms;
    unsigned gen;
    struct post *prev, *next; /* in flight */
};

struct sim_hooks {
    struct sim *s;
    CURLM *multi;
    pthread_t thread;
    int running;
    pthread_mutex_t lock; /* inbox, order, stopping, sleep_until */
    struct item **inbox;
    size_t n_inbox, cap_inbox;
    uint64_t order;
    int stopping;
    int64_t sleep_until; /* when the emitter plans to wake (mono) */
    atomic_llong queued;
    atomic_llong in_flight;
    /* emitter thread only */
    struct item **heap;
    size_t n_heap, cap_heap;
    struct post *posts; /* in flight */
    int failing;        /* the last POST failed (for transition logs) */
};

/* ======================= items and the heap ======================= */

static void free_item(struct item *it)
{
    if (it == NULL)
        return;
    free(it->pnid);
    json_decref(it->status);
    free(it->body);
    free(it);
}

static int before(const struct item *a, const struct item *b)
{
    return a->due < b->due || (a->due == b->due && a->order < b->order);
}

static void heap_push(struct sim_hooks *h, struct item *it)
{
    size_t i;

    if (h->n_heap == h->cap_heap) {
        h->cap_heap = h->cap_heap ? h->cap_heap * 2 : 256;
        h->heap = core_realloc(h->heap, h->cap_heap * sizeof *h->heap);
    }
    i = h->n_heap++;
    while (i > 0 && before(it, h->heap[(i - 1) / 2])) {
        h->heap[i] = h->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->heap[i] = it;
}

static struct item *heap_pop(struct sim_hooks *h)
{
    struct item *top = h->heap[0];
    struct item *last = h->heap[--h->n_heap];
    size_t i = 0;

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= h->n_heap)
            break;
        if (c + 1 < h->n_heap && before(h->heap[c + 1], h->heap[c]))
            c++;
        if (!before(h->heap[c], last))
            break;
        h->heap[i] = h->heap[c];
        i = c;
    }
    if (h->n_heap > 0)
        h->heap[i] = last;
    return top;
}

/* ======================= serialisation ======================= */

/* Meta escapes with lower-case hex digits: \u00e4, not \u00E4. */
static void lower_unicode_escapes(char *p)
{
    while (*p != '\0') {
        if (p[0] == '\\' && p[1] == 'u') {
            int i;

            for (i = 2; i < 6 && p[i] != '\0'; i++) {
                if (p[i] >= 'A' && p[i] <= 'F')
                    p[i] = (char)(p[i] - 'A' + 'a');
            }
            p += i;
        } else if (p[0] == '\\' && p[1] != '\0') {
            p += 2;
        } else {
            p++;
        }
    }
}

char *sim_hooks_envelope(struct sim *s, const char *pnid, json_t *value, size_t *len)
{
    json_t *v = json_object();
    json_t *top;
    char *text;

    json_object_set_new(v, "messaging_product", json_string("whatsapp"));
    json_object_set_new(v, "metadata",
                        json_pack("{s:s,s:s}", "display_phone_number", sim_display_of(s, pnid),
                                  "phone_number_id", pnid));
    json_object_update(v, value);
    json_decref(value);
    top = json_pack("{s:s,s:[{s:s,s:[{s:o,s:s}]}]}", "object", "whatsapp_business_account", "entry",
                    "id", s->cfg->waba_id, "changes", "value", v, "field", "messages");
    text =
        json_dumps(top, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH | JSON_PRESERVE_ORDER);
    json_decref(top);
    if (text == NULL)
        text = core_strdup("{}");
    lower_unicode_escapes(text);
    *len = strlen(text);
    return text;
}

static struct curl_slist *signed_headers(struct sim *s, const char *body, size_t len)
{
    struct curl_slist *hdrs = NULL;

    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (s->cfg->app_secret != NULL) {
        char sig[GW_SIG_HEADER_LEN + 1];
        char line[sizeof GW_SIG_HEADER + GW_SIG_HEADER_LEN + 4];

        gw_sig_compute(s->cfg->app_secret, strlen(s->cfg->app_secret), body, len, sig);
        snprintf(line, sizeof line, "%s: %s", GW_SIG_HEADER, sig);
        hdrs = curl_slist_append(hdrs, line);
    }
    return hdrs;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* Common options of every webhook request. */
static void setup_easy(struct sim *s, CURL *c, const char *url, const char *body, size_t len,
                       struct curl_slist *hdrs)
{
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_USERAGENT, SIM_USER_AGENT);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->cfg->webhook_timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)s->cfg->webhook_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
}

/* ======================= plans ======================= */

struct event {
    const char *status;
    enum st_kind st;
    int64_t due; /* ms after acceptance */
    int64_t ts;  /* ms after acceptance, for the timestamp */
    int dup;
};

static int64_t jitter(uint64_t *rng, int64_t d)
{
    if (d <= 0)
        return 0;
    return d / 2 + (int64_t)(sim_rng_next(rng) % (uint64_t)(d + 1));
}

static void add_event(struct event *ev, size_t *n, const char *status, enum st_kind st, int64_t t)
{
    ev[*n].status = status;
    ev[*n].st = st;
    ev[*n].due = t;
    ev[*n].ts = t;
    ev[*n].dup = 0;
    (*n)++;
}

/* The status object of one event (new reference). */
static json_t *status_obj(const struct sim_outbound *m, const struct event *e)
{
    char ts[24];
    json_t *o = json_object();

    snprintf(ts, sizeof ts, "%lld", (long long)((m->now_ms + e->ts) / 1000));
    json_object_set_new(o, "id", json_string(m->wamid));
    json_object_set_new(o, "status", json_string(e->status));
    json_object_set_new(o, "timestamp", json_string(ts));
    json_object_set_new(o, m->bsuid ? "recipient_user_id" : "recipient_id",
                        json_string(m->recipient));
    if (m->biz_opaque != NULL)
        json_object_set_new(o, "biz_opaque_callback_data", json_string(m->biz_opaque));
    if (e->st == ST_FAILED) {
        json_object_set_new(o, "errors",
                            json_pack("[o]", sim_error_status_obj(m->fail_code, m->fail_details)));
    } else {
        json_object_set_new(o, "pricing",
                            json_pack("{s:b,s:s,s:s,s:s}", "billable", m->billable, "pricing_model",
                                      "PMP", "category", m->category, "type",
                                      m->billable ? "regular" : "free_customer_service"));
    }
    return o;
}

/* Decide the events of `m`; returns how many (duplicates included), sorted by due. */
static size_t plan(struct sim *s, const struct sim_outbound *m, struct event *ev, int *reordered)
{
    struct sim_knobs *k = &s->knobs;
    uint64_t rng = m->rng;
    int64_t d = atomic_load(&k->status_delay_ms);
    size_t n = 0;
    size_t i;
    size_t base;

    *reordered = 0;
    if (m->fail_code != 0) {
        add_event(ev, &n, "failed", ST_FAILED, jitter(&rng, d));
    } else {
        int64_t t = jitter(&rng, d);
        int delivered = sim_rng_chance(&rng, sim_knob_rate(&k->deliver_ppm));
        int read = delivered && sim_rng_chance(&rng, sim_knob_rate(&k->read_ppm));
        int skip = read && sim_rng_chance(&rng, sim_knob_rate(&k->skip_delivered_ppm));

        add_event(ev, &n, "sent", ST_SENT, t);
        t += jitter(&rng, d);
        if (delivered && !skip)
            add_event(ev, &n, "delivered", ST_DELIVERED, t);
        t += jitter(&rng, d);
        if (read)
            add_event(ev, &n, "read", ST_READ, t);
        if (n >= 2 && sim_rng_chance(&rng, sim_knob_rate(&k->reorder_ppm))) {
            /* two neighbours swap places: the later status goes out first */
            size_t a = (size_t)(sim_rng_next(&rng) % (n - 1));
            struct event tmp = ev[a];

            ev[a].status = ev[a + 1].status;
            ev[a].st = ev[a + 1].st;
            ev[a].ts = ev[a + 1].ts;
            ev[a + 1].status = tmp.status;
            ev[a + 1].st = tmp.st;
            ev[a + 1].ts = tmp.ts;
            *reordered = 1;
        }
    }
    base = n;
    for (i = 0; i < base; i++) {
        if (sim_rng_chance(&rng, sim_knob_rate(&k->dup_ppm))) {
            ev[n] = ev[i];
            ev[n].due = ev[i].due + jitter(&rng, d) + 1;
            ev[n].dup = 1;
            n++;
        }
    }
    /* insertion sort by due (stable): the order they are queued in */
    for (i = 1; i < n; i++) {
        struct event e = ev[i];
        size_t j = i;

        while (j > 0 && ev[j - 1].due > e.due) {
            ev[j] = ev[j - 1];
            j--;
        }
        ev[j] = e;
    }
    return n;
}

/* Append `"name":["a","b"]` of the events selected by `pick` (0 all, 1 non-dup, 2 dup). */
static void names_json(struct core_buf *b, const char *name, const struct event *ev, size_t n,
                       int pick)
{
    size_t i;
    int first = 1;

    core_buf_printf(b, "\"%s\":[", name);
    for (i = 0; i < n; i++) {
        if ((pick == 1 && ev[i].dup) || (pick == 2 && !ev[i].dup))
            continue;
        core_buf_printf(b, "%s\"%s\"", first ? "" : ",", ev[i].status);
        first = 0;
    }
    core_buf_puts(b, "]");
}

/*
 * The plan as JSON text (caller frees). Built by hand: it runs on every
 * send and holds only fixed status names and numbers.
 */
static char *plan_text(const struct sim_outbound *m, const struct event *ev, size_t n,
                       int reordered, int queued)
{
    static const struct event logical[4] = {{"sent", ST_SENT, 0, 0, 0},
                                            {"delivered", ST_DELIVERED, 0, 0, 0},
                                            {"read", ST_READ, 0, 0, 0},
                                            {"failed", ST_FAILED, 0, 0, 0}};
    struct event present[4];
    size_t n_present = 0;
    struct core_buf b;
    size_t i;
    size_t j;

    for (i = 0; i < 4; i++) {
        for (j = 0; j < n; j++) {
            if (!ev[j].dup && ev[j].st == logical[i].st) {
                present[n_present++] = logical[i];
                break;
            }
        }
    }
    core_buf_init(&b, 0);
    core_buf_puts(&b, "{");
    names_json(&b, "statuses", present, n_present, 0);
    core_buf_puts(&b, ",");
    names_json(&b, "order", ev, n, 0);
    core_buf_puts(&b, ",");
    names_json(&b, "duplicates", ev, n, 2);
    core_buf_printf(&b, ",\"reordered\":%s,\"queued\":%s", reordered ? "true" : "false",
                    queued ? "true" : "false");
    if (m->fail_code != 0)
        core_buf_printf(&b, ",\"failed\":%d", m->fail_code);
    core_buf_puts(&b, "}");
    return core_buf_steal(&b);
}

/* Wake the emitter if `due` is earlier than it planned to wake (lock held). */
static int need_wake(struct sim_hooks *h, int64_t due)
{
    return due < h->sleep_until;
}

char *sim_hooks_submit(struct sim_hooks *h, const struct sim_outbound *m)
{
    struct sim *s = h->s;
    struct event ev[SIM_MAX_EVENTS];
    struct item *items[SIM_MAX_EVENTS];
    int reordered;
    size_t n = plan(s, m, ev, &reordered);
    int queued = 0;
    char *url = atomic_load(&s->knobs.has_url) ? sim_webhook_url(s) : NULL;
    size_t i;

    if (url != NULL && h->running) {
        if (atomic_load(&h->queued) + (long long)n > s->cfg->webhook_queue_max) {
            atomic_fetch_add(&s->counters.hook_dropped, (long long)n);
        } else {
            int64_t now = core_mono_ms();
            unsigned gen = atomic_load(&s->generation);
            int wake = 0;

            for (i = 0; i < n; i++) {
                items[i] = core_calloc(1, sizeof *items[i]);
                items[i]->kind = ITEM_STATUS;
                items[i]->due = now + ev[i].due;
                items[i]->gen = gen;
                items[i]->pnid = core_strdup(m->pnid);
                items[i]->status = status_obj(m, &ev[i]);
                items[i]->st = ev[i].st;
                items[i]->dup = ev[i].dup;
            }
            pthread_mutex_lock(&h->lock);
            if (h->n_inbox + n > h->cap_inbox) {
                h->cap_inbox = (h->n_inbox + n) * 2;
                h->inbox = core_realloc(h->inbox, h->cap_inbox * sizeof *h->inbox);
            }
            for (i = 0; i < n; i++) {
                items[i]->order = h->order++;
                h->inbox[h->n_inbox++] = items[i];
                if (need_wake(h, items[i]->due))
                    wake = 1;
            }
            pthread_mutex_unlock(&h->lock);
            atomic_fetch_add(&h->queued, (long long)n);
            if (wake)
                curl_multi_wakeup(h->multi);
            queued = 1;
        }
    }
    free(url);
    return plan_text(m, ev, n, reordered, queued);
}

/* ======================= the emitter ======================= */

static int64_t backoff_ms(const struct sim *s, int attempt)
{
    int64_t d = s->cfg->webhook_retry_base_ms;
    int i;

    for (i = 1; i < attempt && d < SIM_RETRY_CAP_MS; i++)
        d *= 2;
    return d < SIM_RETRY_CAP_MS ? d : SIM_RETRY_CAP_MS;
}

static void free_post(struct post *p)
{
    if (p == NULL)
        return;
    if (p->easy != NULL)
        curl_easy_cleanup(p->easy);
    curl_slist_free_all(p->hdrs);
    free(p->body);
    free(p);
}

/* Start a POST of `body` (taken over). */
static void start_post(struct sim_hooks *h, char *body, size_t len, int attempt, int64_t first_ms,
                       unsigned gen)
{
    struct sim *s = h->s;
    char *url = sim_webhook_url(s);
    struct post *p;

    if (url == NULL) { /* the URL was removed meanwhile */
        atomic_fetch_add(&s->counters.hook_dropped, 1);
        free(body);
        return;
    }
    p = core_calloc(1, sizeof *p);
    p->body = body;
    p->len = len;
    p->attempt = attempt + 1;
    p->first_ms = first_ms;
    p->gen = gen;
    p->hdrs = signed_headers(s, body, len);
    p->easy = curl_easy_init();
    setup_easy(s, p->easy, url, p->body, p->len, p->hdrs);
    curl_easy_setopt(p->easy, CURLOPT_PRIVATE, p);
    free(url);
    if (curl_multi_add_handle(h->multi, p->easy) != CURLM_OK) {
        atomic_fetch_add(&s->counters.hook_dropped, 1);
        free_post(p);
        return;
    }
    p->next = h->posts;
    if (h->posts != NULL)
        h->posts->prev = p;
    h->posts = p;
    atomic_fetch_add(&h->in_flight, 1);
    atomic_fetch_add(&s->counters.hook_posts, 1);
    if (attempt > 0)
        atomic_fetch_add(&s->counters.hook_retries, 1);
}

static void count_status(struct sim *s, const struct item *it)
{
    atomic_llong *c[] = {&s->counters.st_sent, &s->counters.st_delivered, &s->counters.st_read,
                         &s->counters.st_failed};

    if (it->dup)
        atomic_fetch_add(&s->counters.st_duplicates, 1);
    else
        atomic_fetch_add(c[it->st], 1);
}

/* Start every POST that is due, as concurrency allows. */
static void launch(struct sim_hooks *h, int64_t now)
{
    struct sim *s = h->s;
    unsigned gen = atomic_load(&s->generation);

    while (h->n_heap > 0 && atomic_load(&h->in_flight) < s->cfg->webhook_concurrency) {
        struct item *top = h->heap[0];
        json_t *batch;
        char *pnid;
        char *body;
        size_t len;
        size_t n = 0;

        if (top->due > now)
            break;
        if (top->kind == ITEM_RETRY) {
            heap_pop(h);
            atomic_fetch_sub(&h->queued, 1);
            start_post(h, top->body, top->len, top->attempt, top->first_ms, top->gen);
            top->body = NULL;
            free_item(top);
            continue;
        }
        pnid = core_strdup(top->pnid);
        batch = json_array();
        while (h->n_heap > 0 && (int64_t)n < s->cfg->batch_max) {
            struct item *it = h->heap[0];

            if (it->kind != ITEM_STATUS || it->due > now + s->cfg->batch_window_ms ||
                strcmp(it->pnid, pnid) != 0)
                break;
            heap_pop(h);
            atomic_fetch_sub(&h->queued, 1);
            count_status(s, it);
            json_array_append(batch, it->status);
            free_item(it);
            n++;
        }
        body = sim_hooks_envelope(s, pnid, json_pack("{s:o}", "statuses", batch), &len);
        start_post(h, body, len, 0, now, gen);
        free(pnid);
    }
}

/* Handle finished POSTs: count, and queue retries. */
static void reap(struct sim_hooks *h)
{
    struct sim *s = h->s;
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        struct post *p = NULL;
        long code = 0;
        int64_t now = core_mono_ms();

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&p);
        if (msg->data.result == CURLE_OK)
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        curl_multi_remove_handle(h->multi, msg->easy_handle);
        atomic_fetch_sub(&h->in_flight, 1);
        if (p->prev != NULL)
            p->prev->next = p->next;
        else
            h->posts = p->next;
        if (p->next != NULL)
            p->next->prev = p->prev;
        if (p->gen != atomic_load(&s->generation)) {
            free_post(p); /* from before a reset: not counted */
            continue;
        }
        if (code >= 200 && code < 300) {
            atomic_fetch_add(&s->counters.hook_ok, 1);
            if (h->failing)
                core_log_info("cloudsim", NULL, "webhook deliveries succeed again");
            h->failing = 0;
            free_post(p);
            continue;
        }
        atomic_fetch_add(&s->counters.hook_failed, 1);
        if (!h->failing)
            core_log_kv(CORE_LOG_WARN, "cloudsim", NULL, "webhook POST failed; retrying",
                        json_pack("{s:i,s:s}", "http_status", (int)code, "error",
                                  curl_easy_strerror(msg->data.result)));
        h->failing = 1;
        if (now - p->first_ms + backoff_ms(s, p->attempt) <= s->cfg->webhook_retry_for_ms) {
            struct item *it = core_calloc(1, sizeof *it);

            it->kind = ITEM_RETRY;
            it->due = now + backoff_ms(s, p->attempt);
            it->gen = p->gen;
            it->body = p->body;
            it->len = p->len;
            it->attempt = p->attempt;
            it->first_ms = p->first_ms;
            p->body = NULL;
            pthread_mutex_lock(&h->lock);
            it->order = h->order++;
            pthread_mutex_unlock(&h->lock);
            heap_push(h, it);
            atomic_fetch_add(&h->queued, 1);
        } else {
            atomic_fetch_add(&s->counters.hook_given_up, 1);
            core_log_kv(CORE_LOG_WARN, "cloudsim", NULL, "webhook given up",
                        json_pack("{s:i,s:i}", "attempts", p->attempt, "http_status", (int)code));
        }
        free_post(p);
    }
}

/* Drop heap items queued before a reset. */
static void purge_old(struct sim_hooks *h, unsigned gen)
{
    size_t i;
    size_t k = 0;
    struct item **keep = core_calloc(h->n_heap + 1, sizeof *keep);
    size_t n = h->n_heap;

    for (i = 0; i < n; i++) {
        if (h->heap[i]->gen == gen) {
            keep[k++] = h->heap[i];
        } else {
            free_item(h->heap[i]);
            atomic_fetch_sub(&h->queued, 1);
        }
    }
    h->n_heap = 0;
    for (i = 0; i < k; i++)
        heap_push(h, keep[i]);
    free(keep);
}

static void *emitter_main(void *arg)
{
    struct sim_hooks *h = arg;
    struct sim *s = h->s;
    unsigned seen_gen = atomic_load(&s->generation);

    for (;;) {
        struct item **in;
        size_t n_in;
        size_t i;
        int still;
        int64_t now;
        int64_t wait;
        unsigned gen;

        pthread_mutex_lock(&h->lock);
        if (h->stopping) {
            pthread_mutex_unlock(&h->lock);
            break;
        }
        in = h->inbox;
        n_in = h->n_inbox;
        h->inbox = NULL;
        h->n_inbox = 0;
        h->cap_inbox = 0;
        pthread_mutex_unlock(&h->lock);
        for (i = 0; i < n_in; i++)
            heap_push(h, in[i]);
        free(in);
        gen = atomic_load(&s->generation);
        if (gen != seen_gen) {
            purge_old(h, gen);
            seen_gen = gen;
        }
        now = core_mono_ms();
        launch(h, now);
        curl_multi_perform(h->multi, &still);
        reap(h);
        now = core_mono_ms();
        if (h->n_heap == 0 || atomic_load(&h->in_flight) >= s->cfg->webhook_concurrency)
            wait = SIM_IDLE_WAIT_MS;
        else
            wait = h->heap[0]->due - now;
        if (wait > SIM_IDLE_WAIT_MS)
            wait = SIM_IDLE_WAIT_MS;
        if (wait < 0)
            wait = 0;
        pthread_mutex_lock(&h->lock);
        if (h->n_inbox > 0 || h->stopping)
            wait = 0;
        h->sleep_until = now + wait;
        pthread_mutex_unlock(&h->lock);
        if (wait > 0 || still > 0)
            curl_multi_poll(h->multi, NULL, 0, (int)wait, NULL);
    }
    return NULL;
}

/* ======================= lifecycle ======================= */

struct sim_hooks *sim_hooks_new(struct sim *s)
{
    struct sim_hooks *h = core_calloc(1, sizeof *h);

    h->s = s;
    pthread_mutex_init(&h->lock, NULL);
    h->multi = curl_multi_init();
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)s->cfg->webhook_concurrency);
    return h;
}

int sim_hooks_start(struct sim_hooks *h, struct core_err *err)
{
    if (h->multi == NULL)
        return core_err_set(err, CORE_EX_SOFTWARE, "webhooks: libcurl multi handle unavailable");
    if (pthread_create(&h->thread, NULL, emitter_main, h) != 0)
        return core_err_set(err, CORE_EX_SOFTWARE, "webhooks: cannot start the emitter thread");
    h->running = 1;
    return 0;
}

void sim_hooks_reset(struct sim_hooks *h)
{
    struct item **in;
    size_t n;
    size_t i;

    pthread_mutex_lock(&h->lock);
    in = h->inbox;
    n = h->n_inbox;
    h->inbox = NULL;
    h->n_inbox = 0;
    h->cap_inbox = 0;
    pthread_mutex_unlock(&h->lock);
    for (i = 0; i < n; i++)
        free_item(in[i]);
    atomic_fetch_sub(&h->queued, (long long)n);
    free(in);
    if (h->multi != NULL)
        curl_multi_wakeup(h->multi); /* the emitter purges its heap */
}

void sim_hooks_free(struct sim_hooks *h)
{
    size_t i;

    if (h == NULL)
        return;
    if (h->running) {
        pthread_mutex_lock(&h->lock);
        h->stopping = 1;
        pthread_mutex_unlock(&h->lock);
        curl_multi_wakeup(h->multi);
        pthread_join(h->thread, NULL);
        h->running = 0;
    }
    while (h->posts != NULL) {
        struct post *p = h->posts;

        h->posts = p->next;
        curl_multi_remove_handle(h->multi, p->easy);
        free_post(p);
    }
    if (h->multi != NULL)
        curl_multi_cleanup(h->multi);
    for (i = 0; i < h->n_heap; i++)
        free_item(h->heap[i]);
    free(h->heap);
    for (i = 0; i < h->n_inbox; i++)
        free_item(h->inbox[i]);
    free(h->inbox);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

long sim_hooks_post_now(struct sim_hooks *h, const char *body, size_t len, const char **why)
{
    struct sim *s = h->s;
    char *url = sim_webhook_url(s);
    struct curl_slist *hdrs;
    CURL *c;
    CURLcode rc;
    long code = 0;

    if (url == NULL) {
        *why = "no webhook URL is configured";
        return 0;
    }
    hdrs = signed_headers(s, body, len);
    c = curl_easy_init();
    setup_easy(s, c, url, body, len, hdrs);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    else
        *why = curl_easy_strerror(rc);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    free(url);
    return code;
}

json_t *sim_hooks_stats(struct sim_hooks *h)
{
    return json_pack("{s:I,s:I}", "queued", (json_int_t)atomic_load(&h->queued), "in_flight",
                     (json_int_t)atomic_load(&h->in_flight));
}
