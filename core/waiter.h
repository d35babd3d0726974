/*
 * core/waiter.h - the stop flag and the interruptible pause of a background
 * thread (the broadcast fan-out worker, the digest scheduler, the tip
 * retention thread): the thread waits between rounds with
 * core_waiter_pause() and returns at once when another thread calls
 * core_waiter_stop(), instead of finishing a sleep.
 *
 * Threads: core_waiter_stop() and core_waiter_stopping() from any thread;
 * the pause from the owning thread. The struct is embedded by its owner
 * (init/cleanup pair, no allocation).
 */
#ifndef JANSEVA_CORE_WAITER_H
#define JANSEVA_CORE_WAITER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct core_waiter {
    atomic_bool stop; /* also handed to long work as its "stop now" flag */
    pthread_mutex_t lock;
    pthread_cond_t wake;
};

/* Not stopping; cannot fail. Pair with core_waiter_cleanup(). */
void core_waiter_init(struct core_waiter *w);

void core_waiter_cleanup(struct core_waiter *w);

/* Wait `ms` milliseconds, or less when stopped (at once if already). */
void core_waiter_pause(struct core_waiter *w, int64_t ms);

/* Ask the thread to stop, and wake it from its pause. */
void core_waiter_stop(struct core_waiter *w);

bool core_waiter_stopping(struct core_waiter *w);

#endif
