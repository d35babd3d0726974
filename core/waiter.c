/*
 * core/waiter.c - a background thread's stop flag and pause (see waiter.h).
 */
#include "core/waiter.h"

#include <time.h>

void core_waiter_init(struct core_waiter *w)
{
    atomic_init(&w->stop, false);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
}

void core_waiter_cleanup(struct core_waiter *w)
{
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
}

void core_waiter_pause(struct core_waiter *w, int64_t ms)
{
    struct timespec until;

    if (ms < 0)
        ms = 0;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    until.tv_sec += (time_t)(ms / 1000) + until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&w->lock);
    /* the flag is read under the lock core_waiter_stop() signals under:
     * a stop between the two is never missed */
    while (!atomic_load(&w->stop)) {
        if (pthread_cond_timedwait(&w->wake, &w->lock, &until) != 0)
            break; /* timed out */
    }
    pthread_mutex_unlock(&w->lock);
}

void core_waiter_stop(struct core_waiter *w)
{
    pthread_mutex_lock(&w->lock);
    atomic_store(&w->stop, true);
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

bool core_waiter_stopping(struct core_waiter *w)
{
    return atomic_load(&w->stop);
}
