/*
 * tools/cloudsim/sim_records.h - what the simulator received on the
 * messages endpoint, kept for tests and the sandbox: a ring buffer of the
 * last `cap` requests (exact body, recipient, type, wamid, outcome, error
 * code, status plan). Older records are overwritten, so memory is bounded.
 *
 * Adding copies everything into one allocation; the ring lock is held only
 * to swap a slot, and queries copy matching records out before building
 * JSON, so inspection never stalls the send path for long.
 */
#ifndef JANSEVA_SIM_RECORDS_H
#define JANSEVA_SIM_RECORDS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct sim_records;

/* One request as the API layer describes it; every pointer is borrowed. */
struct sim_rec {
    int64_t time_ms;     /* simulator clock */
    const char *pnid;    /* phone_number_id of the path */
    const char *to;      /* normalised recipient, or "" */
    const char *type;    /* message type, "read" for mark-as-read, or "" */
    const char *wamid;   /* assigned id, or "" */
    const char *outcome; /* "accepted", "failed", "rejected", "no_response" */
    int http_status;     /* 0 when no answer was sent */
    int error_code;      /* 0, or the Graph error code (sync or async) */
    int fault_id;        /* the fault that shaped the answer, or 0 */
    const char *plan;    /* JSON text of the status plan, or NULL */
    const char *body;    /* request body */
    size_t body_len;
};

/* Query filters; NULL / 0 fields do not filter. */
struct sim_rec_filter {
    const char *to;
    const char *type;
    const char *outcome;
    const char *wamid;
    const char *pnid;
    int error_code;
    int64_t since_ms; /* time_ms >= since_ms */
    uint64_t after;   /* seq > after */
    size_t limit;     /* 0 = 1000 */
};

/* A ring of `cap` records. Never fails. */
struct sim_records *sim_records_new(size_t cap);

/* NULL is a no-op. */
void sim_records_free(struct sim_records *r);

/* Store a copy of `in`; returns its sequence number (1, 2, ...). */
uint64_t sim_records_add(struct sim_records *r, const struct sim_rec *in);

/*
 * Matching records, oldest first (new reference):
 *   {"sends":[{"seq","time_ms","phone_number_id","to","type","wamid","outcome",
 *     "http_status","error_code","fault","plan","body"}...],"next":SEQ,"dropped":N}
 * `next` is the highest seq returned (pass it as `after` to poll);
 * `dropped` counts records already overwritten.
 */
json_t *sim_records_query(struct sim_records *r, const struct sim_rec_filter *f);

/* Forget every record (sequence numbers keep growing). */
void sim_records_reset(struct sim_records *r);

/* {"stored":N,"cap":N,"overwritten":N,"last_seq":N} (new reference). */
json_t *sim_records_stats(struct sim_records *r);

#endif
