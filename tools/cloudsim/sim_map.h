/*
 * tools/cloudsim/sim_map.h - a small string-keyed hash map (chained,
 * doubling) for the simulator's tables. Not thread-safe: callers hold their
 * own lock. Keys are copied; values are borrowed pointers the caller owns.
 */
#ifndef JANSEVA_SIM_MAP_H
#define JANSEVA_SIM_MAP_H

#include <stddef.h>
#include <stdint.h>

struct sim_map;

/* 64-bit FNV-1a of `n` bytes. */
uint64_t sim_hash(const void *p, size_t n);

/* An empty map. Never fails. Free with sim_map_free(). */
struct sim_map *sim_map_new(void);

/* Free the map and its key copies; `free_val` (may be NULL) gets each value. NULL is a no-op. */
void sim_map_free(struct sim_map *m, void (*free_val)(void *));

/* The value stored under `key`, or NULL. */
void *sim_map_get(const struct sim_map *m, const char *key);

/* Store `val` under `key` (copied). Returns the value it replaced, or NULL. */
void *sim_map_put(struct sim_map *m, const char *key, void *val);

/* Remove `key`; returns its value (the caller frees it), or NULL. */
void *sim_map_del(struct sim_map *m, const char *key);

/* Number of entries. */
size_t sim_map_len(const struct sim_map *m);

/*
 * Call `fn` for every entry; when it returns non-zero the entry is removed
 * (fn must then have released the value). Do not modify the map otherwise.
 */
void sim_map_sweep(struct sim_map *m, int (*fn)(void *ud, const char *key, void *val), void *ud);

#endif
