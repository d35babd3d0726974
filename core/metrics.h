/*
 * core/metrics.h - process-wide counters and gauges in Prometheus text
 * format (served at GET /metrics).
 *
 * Metrics are statics defined where they are counted and registered once at
 * startup; increments are lock-free atomics. Values that live in Redis
 * (stream length, pending entries, lag) are produced at scrape time by
 * collectors. Labels never carry identifiers of people.
 */
#ifndef JANSEVA_CORE_METRICS_H
#define JANSEVA_CORE_METRICS_H

#include "core/buf.h"

#include <stdatomic.h>

struct core_metric {
    const char *name;   /* e.g. "janseva_webhooks_rejected_total" */
    const char *labels; /* e.g. "reason=\"signature\"", or NULL */
    const char *help;   /* one line */
    const char *type;   /* "counter" or "gauge" */
    atomic_llong value;
    struct core_metric *next; /* registry link; do not touch */
    int registered;
};

/* Define a static counter/gauge. */
#define CORE_COUNTER(var, name, labels, help)                                                      \
    static struct core_metric var = {name, labels, help, "counter", 0, NULL, 0}
#define CORE_GAUGE(var, name, labels, help)                                                        \
    static struct core_metric var = {name, labels, help, "gauge", 0, NULL, 0}

/* Add a metric to the registry (idempotent). `m` must outlive the registry. */
void core_metrics_register(struct core_metric *m);

static inline void core_metric_add(struct core_metric *m, long long n)
{
    atomic_fetch_add_explicit(&m->value, n, memory_order_relaxed);
}
static inline void core_metric_inc(struct core_metric *m)
{
    core_metric_add(m, 1);
}
static inline void core_metric_set(struct core_metric *m, long long v)
{
    atomic_store_explicit(&m->value, v, memory_order_relaxed);
}
static inline long long core_metric_get(struct core_metric *m)
{
    return atomic_load_explicit(&m->value, memory_order_relaxed);
}

/*
 * A collector appends complete Prometheus lines (with # HELP / # TYPE) to
 * `out` at scrape time. `ud` is borrowed.
 */
typedef void (*core_metrics_collector)(void *ud, struct core_buf *out);

/* Register a collector (at most 16). */
void core_metrics_add_collector(core_metrics_collector fn, void *ud);

/* Remove every collector (at shutdown, before their `ud` is freed). */
void core_metrics_clear_collectors(void);

/* Render every registered metric, then run the collectors. */
void core_metrics_render(struct core_buf *out);

#endif
