/*
 * tools/cloudsim/sim_records.c - ring buffer of received requests (see
 * sim_records.h).
 */
#include "tools/cloudsim/sim_records.h"

#include "core/mem.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SIM_REC_DEFAULT_LIMIT 1000

/* A stored record: fixed fields and its strings in one allocation. */
struct blob {
    uint64_t seq;
    int64_t time_ms;
    int http_status;
    int error_code;
    int fault_id;
    size_t body_len;
    const char *pnid, *to, *type, *wamid, *outcome, *plan, *body; /* into data[] */
    size_t size;                                                  /* bytes of this allocation */
    char data[];
};

struct sim_records {
    pthread_mutex_t lock;
    struct blob **ring;
    size_t cap;
    uint64_t next_seq;  /* seq of the next record */
    uint64_t first_seq; /* oldest seq still stored (valid when stored > 0) */
    size_t stored;
    uint64_t overwritten;
};

struct sim_records *sim_records_new(size_t cap)
{
    struct sim_records *r = core_calloc(1, sizeof *r);

    pthread_mutex_init(&r->lock, NULL);
    r->cap = cap > 0 ? cap : 1;
    r->ring = core_calloc(r->cap, sizeof *r->ring);
    r->next_seq = 1;
    r->first_seq = 1;
    return r;
}

static void clear(struct sim_records *r)
{
    size_t i;

    for (i = 0; i < r->cap; i++) {
        free(r->ring[i]);
        r->ring[i] = NULL;
    }
    r->stored = 0;
    r->first_seq = r->next_seq;
}

void sim_records_free(struct sim_records *r)
{
    if (r == NULL)
        return;
    clear(r);
    free(r->ring);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Copy `s` (NULL = "") at *p and return where it went. */
static const char *put(char **p, const char *s, size_t n)
{
    char *at = *p;

    if (n > 0)
        memcpy(at, s, n);
    at[n] = '\0';
    *p += n + 1;
    return at;
}

static size_t len0(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

uint64_t sim_records_add(struct sim_records *r, const struct sim_rec *in)
{
    size_t n_pnid = len0(in->pnid), n_to = len0(in->to), n_type = len0(in->type);
    size_t n_wamid = len0(in->wamid), n_out = len0(in->outcome), n_plan = len0(in->plan);
    size_t size =
        sizeof(struct blob) + n_pnid + n_to + n_type + n_wamid + n_out + n_plan + in->body_len + 7;
    struct blob *b = core_malloc(size);
    struct blob *old;
    char *p = b->data;
    uint64_t seq;

    b->time_ms = in->time_ms;
    b->http_status = in->http_status;
    b->error_code = in->error_code;
    b->fault_id = in->fault_id;
    b->body_len = in->body_len;
    b->size = size;
    b->pnid = put(&p, in->pnid, n_pnid);
    b->to = put(&p, in->to, n_to);
    b->type = put(&p, in->type, n_type);
    b->wamid = put(&p, in->wamid, n_wamid);
    b->outcome = put(&p, in->outcome, n_out);
    b->plan = in->plan != NULL ? put(&p, in->plan, n_plan) : NULL;
    b->body = put(&p, in->body, in->body_len);

    pthread_mutex_lock(&r->lock);
    seq = r->next_seq++;
    b->seq = seq;
    old = r->ring[seq % r->cap];
    r->ring[seq % r->cap] = b;
    if (old != NULL) {
        r->overwritten++;
        r->first_seq = old->seq + 1;
    } else {
        if (r->stored == 0)
            r->first_seq = seq;
        r->stored++;
    }
    pthread_mutex_unlock(&r->lock);
    free(old);
    return seq;
}

static int matches(const struct blob *b, const struct sim_rec_filter *f)
{
    if (f->after != 0 && b->seq <= f->after)
        return 0;
    if (f->since_ms != 0 && b->time_ms < f->since_ms)
        return 0;
    if (f->to != NULL && strcmp(b->to, f->to) != 0)
        return 0;
    if (f->type != NULL && strcmp(b->type, f->type) != 0)
        return 0;
    if (f->outcome != NULL && strcmp(b->outcome, f->outcome) != 0)
        return 0;
    if (f->wamid != NULL && strcmp(b->wamid, f->wamid) != 0)
        return 0;
    if (f->pnid != NULL && strcmp(b->pnid, f->pnid) != 0)
        return 0;
    if (f->error_code != 0 && b->error_code != f->error_code)
        return 0;
    return 1;
}

/* Rebase a copied blob's string pointers onto the copy. */
static struct blob *copy_blob(const struct blob *b)
{
    struct blob *c = core_malloc(b->size);
    ptrdiff_t d;

    memcpy(c, b, b->size);
    d = c->data - b->data;
    c->pnid = b->pnid + d;
    c->to = b->to + d;
    c->type = b->type + d;
    c->wamid = b->wamid + d;
    c->outcome = b->outcome + d;
    c->plan = b->plan != NULL ? b->plan + d : NULL;
    c->body = b->body + d;
    return c;
}

static json_t *body_json(const struct blob *b)
{
    json_t *s = json_stringn(b->body, b->body_len);

    if (s == NULL) { /* not UTF-8: hand it over as base64 */
        size_t n = sodium_base64_encoded_len(b->body_len, sodium_base64_VARIANT_ORIGINAL);
        char *enc = core_malloc(n);

        sodium_bin2base64(enc, n, (const unsigned char *)b->body, b->body_len,
                          sodium_base64_VARIANT_ORIGINAL);
        s = json_pack("{s:s}", "base64", enc);
        free(enc);
    }
    return s;
}

static json_t *blob_json(const struct blob *b)
{
    json_t *o = json_object();
    json_t *plan = b->plan != NULL ? json_loads(b->plan, 0, NULL) : NULL;

    json_object_set_new(o, "seq", json_integer((json_int_t)b->seq));
    json_object_set_new(o, "time_ms", json_integer(b->time_ms));
    json_object_set_new(o, "phone_number_id", json_string(b->pnid));
    json_object_set_new(o, "to", json_string(b->to));
    json_object_set_new(o, "type", json_string(b->type));
    json_object_set_new(o, "wamid", json_string(b->wamid));
    json_object_set_new(o, "outcome", json_string(b->outcome));
    json_object_set_new(o, "http_status", json_integer(b->http_status));
    json_object_set_new(o, "error_code", json_integer(b->error_code));
    json_object_set_new(o, "fault", json_integer(b->fault_id));
    json_object_set_new(o, "plan", plan != NULL ? plan : json_null());
    json_object_set_new(o, "body", body_json(b));
    return o;
}

json_t *sim_records_query(struct sim_records *r, const struct sim_rec_filter *f)
{
    size_t limit = f->limit != 0 ? f->limit : SIM_REC_DEFAULT_LIMIT;
    struct blob **found;
    size_t n = 0;
    uint64_t seq;
    uint64_t dropped;
    uint64_t last = f->after;
    json_t *arr = json_array();
    size_t i;

    if (limit > r->cap)
        limit = r->cap;
    found = core_calloc(limit, sizeof *found);
    pthread_mutex_lock(&r->lock);
    dropped = r->overwritten;
    seq = r->stored > 0 ? r->first_seq : r->next_seq;
    if (f->after + 1 > seq)
        seq = f->after + 1;
    for (; seq < r->next_seq && n < limit; seq++) {
        const struct blob *b = r->ring[seq % r->cap];

        if (b != NULL && b->seq == seq && matches(b, f))
            found[n++] = copy_blob(b);
    }
    pthread_mutex_unlock(&r->lock);
    for (i = 0; i < n; i++) {
        json_array_append_new(arr, blob_json(found[i]));
        last = found[i]->seq;
        free(found[i]);
    }
    free(found);
    return json_pack("{s:o,s:I,s:I}", "sends", arr, "next", (json_int_t)last, "dropped",
                     (json_int_t)dropped);
}

void sim_records_reset(struct sim_records *r)
{
    pthread_mutex_lock(&r->lock);
    clear(r);
    r->overwritten = 0;
    pthread_mutex_unlock(&r->lock);
}

json_t *sim_records_stats(struct sim_records *r)
{
    json_t *o;

    pthread_mutex_lock(&r->lock);
    o = json_pack("{s:I,s:I,s:I,s:I}", "stored", (json_int_t)r->stored, "cap", (json_int_t)r->cap,
                  "overwritten", (json_int_t)r->overwritten, "last_seq",
                  (json_int_t)(r->next_seq - 1));
    pthread_mutex_unlock(&r->lock);
    return o;
}
