/*
 * core/util.h - small helpers shared by several modules: clocks, random ids,
 * hex, safe integer parsing, sleeping.
 */
#ifndef JANSEVA_CORE_UTIL_H
#define JANSEVA_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Length of a request id string (16 hex chars) including the NUL. */
#define CORE_REQ_ID_LEN 17

/* Wall-clock milliseconds since the Unix epoch. */
int64_t core_now_ms(void);

/* Monotonic milliseconds (for timeouts and backoff). */
int64_t core_mono_ms(void);

/* Sleep for `ms` milliseconds (interrupted sleeps are resumed). */
void core_sleep_ms(int64_t ms);

/* Fill `out` (CORE_REQ_ID_LEN bytes) with a fresh random 64-bit hex id. */
void core_req_id(char out[CORE_REQ_ID_LEN]);

/* Lower-case hex of `n` bytes into `out` (2n+1 bytes). */
void core_hex(char *out, const unsigned char *in, size_t n);

/*
 * Parse a base-10 signed 64-bit integer that fills the whole of `s` (no
 * spaces, no sign other than a leading '-'). Returns 0 or -1.
 */
int core_parse_i64(const char *s, int64_t *out);

/* Same for a string of `len` bytes that need not be NUL-terminated. */
int core_parse_i64n(const char *s, size_t len, int64_t *out);

/* Random integer in [0, upper) from the CSPRNG. */
uint32_t core_random_below(uint32_t upper);

#endif
