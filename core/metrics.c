/*
 * core/metrics.c - metric registry and Prometheus rendering (see metrics.h).
 */
#include "core/metrics.h"

#include <pthread.h>
#include <string.h>

#define MAX_COLLECTORS 16

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct core_metric *g_head;
static struct core_metric *g_tail;
static struct {
    core_metrics_collector fn;
    void *ud;
} g_collectors[MAX_COLLECTORS];
static size_t g_ncollectors;

void core_metrics_register(struct core_metric *m)
{
    pthread_mutex_lock(&g_lock);
    if (!m->registered) {
        m->registered = 1;
        m->next = NULL;
        if (g_tail != NULL)
            g_tail->next = m;
        else
            g_head = m;
        g_tail = m;
    }
    pthread_mutex_unlock(&g_lock);
}

void core_metrics_add_collector(core_metrics_collector fn, void *ud)
{
    pthread_mutex_lock(&g_lock);
    if (g_ncollectors < MAX_COLLECTORS) {
        g_collectors[g_ncollectors].fn = fn;
        g_collectors[g_ncollectors].ud = ud;
        g_ncollectors++;
    }
    pthread_mutex_unlock(&g_lock);
}

void core_metrics_clear_collectors(void)
{
    pthread_mutex_lock(&g_lock);
    g_ncollectors = 0;
    pthread_mutex_unlock(&g_lock);
}

static void render_one(struct core_buf *out, const struct core_metric *m)
{
    if (m->labels != NULL && m->labels[0] != '\0')
        core_buf_printf(out, "%s{%s} %lld\n", m->name, m->labels,
                        (long long)atomic_load(&m->value));
    else
        core_buf_printf(out, "%s %lld\n", m->name, (long long)atomic_load(&m->value));
}

void core_metrics_render(struct core_buf *out)
{
    const struct core_metric *m;
    core_metrics_collector fns[MAX_COLLECTORS];
    void *uds[MAX_COLLECTORS];
    size_t n;
    size_t i;

    pthread_mutex_lock(&g_lock);
    /* Group series by name: HELP/TYPE once, then every label set. */
    for (m = g_head; m != NULL; m = m->next) {
        const struct core_metric *p;
        int seen = 0;

        for (p = g_head; p != m; p = p->next) {
            if (strcmp(p->name, m->name) == 0) {
                seen = 1;
                break;
            }
        }
        if (seen)
            continue;
        core_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
        for (p = m; p != NULL; p = p->next) {
            if (strcmp(p->name, m->name) == 0)
                render_one(out, p);
        }
    }
    n = g_ncollectors;
    for (i = 0; i < n; i++) {
        fns[i] = g_collectors[i].fn;
        uds[i] = g_collectors[i].ud;
    }
    pthread_mutex_unlock(&g_lock);
    for (i = 0; i < n; i++)
        fns[i](uds[i], out);
}
