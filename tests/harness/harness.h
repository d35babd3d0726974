/*
 * tests/harness/harness.h - what integration tests use to run the real
 * thing: a temporary directory, a real redis-server on a unix socket (AOF
 * on), the real janseva binary, HTTP through libcurl, and commands whose
 * output is captured. Children get PR_SET_PDEATHSIG so a crashed test
 * leaves no process behind.
 *
 * Functions return 0 / -1 and print the reason on stderr (tests then fail
 * with assert_int_equal(..., 0)). Strings returned are malloc'd; free them.
 */
#ifndef JANSEVA_TESTS_HARNESS_H
#define JANSEVA_TESTS_HARNESS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <sys/types.h>

#define TH_APP_SECRET "test-app-secret-0123456789abcdef"
#define TH_VERIFY_TOKEN "test-verify-token"

/* ---- files and directories ---- */

/* A fresh directory under $TMPDIR (or /tmp). Remove with th_rmrf(). */
char *th_tmpdir(const char *tag);

/* rm -rf `dir`. */
void th_rmrf(const char *dir);

/* Whole file into a NUL-terminated buffer; NULL if unreadable. */
char *th_read_file(const char *path, size_t *len);

/* Write `len` bytes to `path`. */
int th_write_file(const char *path, const void *data, size_t len);

/* Count occurrences of `needle` in the file (0 if unreadable). */
size_t th_file_count(const char *path, const char *needle);

/* ---- environment of the test run ---- */

/* The janseva binary under test ($JANSEVA_TEST_BIN). */
const char *th_bin(void);

/* The build directory ($JANSEVA_TEST_BUILD), where tools live. */
const char *th_build_dir(void);

/*
 * ../shared/data ($JANSEVA_TEST_DATA) or NULL; when NULL the caller must
 * skip with a visible message (th_skip_without_data).
 */
const char *th_data_dir(void);

/* A TCP port that was free a moment ago. */
int th_free_port(void);

/* ---- processes ---- */

struct th_proc {
    pid_t pid; /* 0 when not running */
    int status; /* exit status once reaped: exit code, or 128+signal */
};

/*
 * Start argv[0] (a path) with the current environment minus JANSEVA_*
 * settings, plus `env` ("NAME=VALUE" strings, NULL-terminated, may be NULL).
 * stdout and stderr go to `log_path` (appended) or /dev/null.
 */
int th_spawn(struct th_proc *p, const char *const argv[], const char *const env[],
             const char *log_path);

/* Send `sig` and wait up to `timeout_ms` (then SIGKILL). Returns the exit
 * status (exit code, or 128+signal). */
int th_stop(struct th_proc *p, int sig, int timeout_ms);

/* True if the process is still running (reaps it if not). */
int th_alive(struct th_proc *p);

/*
 * Run a command to completion, feeding `in` (may be NULL) on stdin and
 * capturing stdout and stderr. Returns the exit status, or -1.
 */
int th_run(const char *const argv[], const char *const env[], const char *in, size_t in_len,
           char **out, char **err);

/* ---- redis-server ---- */

struct th_redis {
    struct th_proc proc;
    char dir[512];
    char sock[600];
    char addr[620]; /* "unix:<sock>" for JANSEVA_REDIS */
    redisContext *ctx; /* cached client connection */
};

/* Start redis-server with a unix socket and AOF in `dir`; waits for PING. */
int th_redis_start(struct th_redis *r, const char *dir);

/* Stop it (SIGTERM, or SIGKILL when `hard`) and close the client. */
void th_redis_stop(struct th_redis *r, int hard);

/* Run a command through the cached connection (reconnects as needed).
 * Returns a reply to free with freeReplyObject(), or NULL. */
redisReply *th_redis_cmd(struct th_redis *r, const char *fmt, ...);

/* Integer result of a command (INTEGER reply, or -1). */
long long th_redis_int(struct th_redis *r, const char *fmt, ...);

/* Records of the audit log (js:{audit}:log) with action `action` on
 * `object` by `actor` (NULL: any object, any actor); -1 when the log cannot
 * be read. */
int th_audit_count(struct th_redis *r, const char *action, const char *object,
                   const char *actor);

/* Every key of `r` and its value read back by type (strings, hashes - the
 * packed member buckets included -, lists, sets, sorted sets, streams),
 * written raw, one item a line, to the file `path`: for plaintext scans,
 * which cannot see into the RDB's compressed values. Returns 0 or -1. */
int th_redis_dump_live(struct th_redis *r, const char *path);

/* ---- member records (crypto/mrec.h), for tests that plant or peek ---- */

struct cry_mrec;

/* Load member `mid`'s packed record into `out` (exists = 0 when none).
 * Returns 0, or -1 when it is malformed or Redis failed. */
int th_member_load(struct th_redis *r, const char *mid, struct cry_mrec *out);

/* Set fields of member `mid`'s record like HSET: name, value pairs in their
 * text form (cry_mrec_str: "st", "active", "li", "1700000000", ...), ended
 * by a NULL name; a NULL value deletes the field. One atomic update (the
 * record's own script), so a running service's writes are never lost.
 * Aborts the test on a name or value that does not encode. */
void th_member_set(struct th_redis *r, const char *mid, ...);

/* Set one field of member `mid`'s record to raw bytes (sealed fields;
 * `v` NULL deletes it). */
void th_member_set_raw(struct th_redis *r, const char *mid, const char *name, const void *v,
                       size_t len);

/* Membership hashes js:u:{CODE}:mem (groups/member.h: field = binary mid):
 * add `mid` (without touching the count n), remove it, test it (1/0). */
void th_group_add(struct th_redis *r, const char *code, const char *mid);
void th_group_del(struct th_redis *r, const char *code, const char *mid);
int th_group_has(struct th_redis *r, const char *code, const char *mid);

/* One field of member `mid` in its text form, malloc'd (free it), or NULL
 * when absent. */
char *th_member_get(struct th_redis *r, const char *mid, const char *name);

/* ---- janseva serve ---- */

struct th_janseva {
    struct th_proc proc;
    int port;
    char url[64];       /* "http://127.0.0.1:PORT" */
    char log_path[600]; /* stderr of the service */
    char keys_dir[620]; /* "<dir>/keys", created by the first start */
};

/*
 * Start `janseva serve` with JANSEVA_REDIS pointing at `r`, the test secrets,
 * a free port, log level debug and JANSEVA_KEYS_DIR=<dir>/keys (created with
 * `janseva keys init` on the first start in `dir`); `env` adds or overrides
 * settings. Waits until /healthz answers (10 s).
 */
int th_janseva_start(struct th_janseva *j, const char *dir, const struct th_redis *r,
                     const char *const env[]);

/* SIGTERM and wait; returns the exit status (0 for a clean stop). */
int th_janseva_stop(struct th_janseva *j);

/* SIGKILL (a crash). */
void th_janseva_kill(struct th_janseva *j);

/* ---- HTTP ---- */

struct th_http_resp {
    long status;
    char *body;
    size_t len;
};

/* One request. `headers` are "Name: value" strings, NULL-terminated. */
int th_http(const char *method, const char *url, const char *const headers[], const void *body,
            size_t len, struct th_http_resp *resp);

void th_http_resp_free(struct th_http_resp *resp);

/* "sha256=<hex>" for `body` under `secret`. Caller frees. */
char *th_sign(const char *secret, const void *body, size_t len);

/* POST a signed webhook to `j`; returns the HTTP status, or -1. */
long th_post_webhook(const struct th_janseva *j, const char *body, size_t len);

/* ---- waiting ---- */

/* Poll `cond(ud)` every 20 ms until it returns non-zero or `timeout_ms`
 * passes. Returns 0 when the condition held. */
int th_wait(int (*cond)(void *ud), void *ud, int timeout_ms);

/* Sleep for `ms` milliseconds. */
void th_sleep_ms(int ms);

/* A minimal text webhook body for `wa_id` with message id `wamid`. */
char *th_text_webhook(const char *wa_id, const char *wamid, const char *text);

#endif
