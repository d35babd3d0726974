/*
 * tests/integration/test_keys.c - `janseva keys` and `janseva audit` from the
 * command line, and `janseva serve` refusing bad key directories.
 *
 * keys init creates 0700/0600 files, records keys.init in the audit log and
 * refuses to overwrite (73); keys status shows ids and versions but never key
 * material; serve (every role) exits 78 with one line naming the path for a
 * missing directory, a directory 0755, a key file 0644 and an unset setting,
 * and creates nothing; systemd's $CREDENTIALS_DIRECTORY works; the audit log
 * of a running service verifies, exports, verifies from the file with only
 * the public key, and a tampered record or forged checkpoint makes verify
 * exit 65 naming it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/harness/harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char *dir;
    struct th_redis redis;
    struct th_janseva app;
    char keys[700];
    char redis_env[700];
    char keys_env[720];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    f->dir = th_tmpdir("keys");
    if (f->dir == NULL || th_redis_start(&f->redis, f->dir) != 0)
        return -1;
    /* the directory th_janseva_start would create: it finds it and uses it */
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    snprintf(f->redis_env, sizeof f->redis_env, "JANSEVA_REDIS=%s", f->redis.addr);
    snprintf(f->keys_env, sizeof f->keys_env, "JANSEVA_KEYS_DIR=%s", f->keys);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int rc = 0;

    if (f->app.proc.pid > 0 && th_janseva_stop(&f->app) != 0) {
        fprintf(stderr, "janseva did not stop cleanly (log: %s)\n", f->app.log_path);
        rc = -1;
    }
    th_redis_stop(&f->redis, 0);
    if (rc == 0)
        th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return rc;
}

/* Run `janseva <args>` with Redis and (unless no_keys) the key directory. */
static int jv(struct fixture *f, int no_keys, const char *const args[], char **out, char **err)
{
    const char *argv[16];
    const char *env[] = {f->redis_env, no_keys ? NULL : f->keys_env, NULL};
    size_t n = 0;

    argv[n++] = th_bin();
    while (*args != NULL && n + 1 < sizeof argv / sizeof argv[0])
        argv[n++] = *args++;
    argv[n] = NULL;
    return th_run(argv, env, NULL, 0, out, err);
}

static void init_keys(struct fixture *f)
{
    const char *args[] = {"keys", "init", "--dir", f->keys, NULL};
    char *out = NULL;
    char *err = NULL;

    assert_int_equal(jv(f, 1, args, &out, &err), 0);
    assert_non_null(strstr(out, "created key directory"));
    free(out);
    free(err);
}

static char *file_text(struct fixture *f, const char *name)
{
    char path[800];
    char *s;

    snprintf(path, sizeof path, "%s/%s", f->keys, name);
    s = th_read_file(path, NULL);
    assert_non_null(s);
    return s;
}

static int count_lines(const char *s, const char *prefix)
{
    int n = 0;
    const char *p = s;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            n++;
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return n;
}

static void test_init_status_and_refusal(void **state)
{
    struct fixture *f = *state;
    const char *again[] = {"keys", "init", "--dir", f->keys, NULL};
    const char *nodir[] = {"keys", "init", NULL};
    const char *status[] = {"keys", "status", NULL};
    char *out = NULL;
    char *err = NULL;
    char *root;
    char *audit;
    char path[800];
    struct stat st;
    redisReply *log;

    init_keys(f);
    assert_int_equal(stat(f->keys, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    snprintf(path, sizeof path, "%s/root.key", f->keys);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    /* the creation is in the audit log (Redis was reachable) */
    log = th_redis_cmd(&f->redis, "XRANGE js:{audit}:log - +");
    assert_int_equal(log->elements, 1);
    assert_non_null(strstr(log->element[0]->element[1]->element[3]->str, "\"keys.init\""));
    freeReplyObject(log);
    /* never overwritten */
    root = file_text(f, "root.key");
    assert_int_equal(jv(f, 1, again, &out, &err), 73);
    assert_non_null(strstr(err, "refusing to overwrite"));
    free(out);
    free(err);
    audit = file_text(f, "root.key");
    assert_string_equal(root, audit);
    free(audit);
    assert_int_equal(jv(f, 1, nodir, &out, &err), 64);
    free(out);
    free(err);
    /* status: ids, versions, dates; no key material on any stream */
    audit = file_text(f, "audit.key");
    root[64] = '\0';
    audit[64] = '\0';
    assert_int_equal(jv(f, 0, status, &out, &err), 0);
    assert_non_null(strstr(out, "root key       id "));
    assert_non_null(strstr(out, "current version v1"));
    assert_non_null(strstr(out, "pii "));
    assert_non_null(strstr(out, "created 20"));
    assert_null(strstr(out, root));
    assert_null(strstr(err, root));
    assert_null(strstr(out, audit));
    assert_null(strstr(err, audit));
    free(out);
    free(err);
    free(root);
    free(audit);
}

/* serve must exit 78 with one line naming `needle`, and create nothing. */
static void assert_serve_refuses(struct fixture *f, const char *roles, const char *keys_env,
                                 const char *needle)
{
    const char *argv[] = {th_bin(), "serve", "--roles", roles, NULL};
    char port[32];
    const char *env[] = {f->redis_env,
                         keys_env,
                         "JANSEVA_APP_SECRET=" TH_APP_SECRET,
                         "JANSEVA_VERIFY_TOKEN=" TH_VERIFY_TOKEN,
                         port,
                         NULL};
    char *out = NULL;
    char *err = NULL;

    snprintf(port, sizeof port, "JANSEVA_HTTP_PORT=%d", th_free_port());
    assert_int_equal(th_run(argv, env, NULL, 0, &out, &err), 78);
    if (strstr(err, needle) == NULL)
        fail_msg("stderr does not name '%s': %s", needle, err);
    assert_int_equal(count_lines(err, "janseva: "), 1);
    free(out);
    free(err);
}

static void test_serve_refuses_bad_key_directories(void **state)
{
    struct fixture *f = *state;
    static const char *const roles[] = {"all", "http", "router"};
    char missing[800];
    char env_missing[820];
    char root[800];
    char meta[800];
    struct stat st;
    size_t r;

    snprintf(missing, sizeof missing, "%s/nope", f->dir);
    snprintf(env_missing, sizeof env_missing, "JANSEVA_KEYS_DIR=%s", missing);
    for (r = 0; r < 3; r++) {
        /* not configured at all */
        assert_serve_refuses(f, roles[r], "JANSEVA_LOG_LEVEL=info", "JANSEVA_KEYS_DIR");
        /* missing: named, and never generated silently */
        assert_serve_refuses(f, roles[r], env_missing, missing);
        assert_int_not_equal(stat(missing, &st), 0);
    }
    init_keys(f);
    snprintf(root, sizeof root, "%s/root.key", f->keys);
    snprintf(meta, sizeof meta, "%s/keys.json", f->keys);
    for (r = 0; r < 3; r++) {
        chmod(f->keys, 0755);
        assert_serve_refuses(f, roles[r], f->keys_env, f->keys);
        assert_serve_refuses(f, roles[r], f->keys_env, "mode 0755");
        chmod(f->keys, 0700);
        chmod(root, 0644);
        assert_serve_refuses(f, roles[r], f->keys_env, root);
        chmod(root, 0600);
        chmod(meta, 0644);
        assert_serve_refuses(f, roles[r], f->keys_env, meta);
        chmod(meta, 0600);
    }
    /* and the fixed directory works */
    assert_int_equal(th_janseva_start(&f->app, f->dir, &f->redis, (const char *const[]){
                                                                      f->keys_env, NULL}),
                     0);
}

static void test_systemd_credentials(void **state)
{
    struct fixture *f = *state;
    char creds[800];
    const char *env[] = {"JANSEVA_KEYS_DIR=", creds, NULL};
    char *body = th_text_webhook("919812345678", "wamid.creds", "hello");

    init_keys(f);
    snprintf(creds, sizeof creds, "CREDENTIALS_DIRECTORY=%s", f->keys);
    assert_int_equal(th_janseva_start(&f->app, f->dir, &f->redis, env), 0);
    assert_int_equal(th_post_webhook(&f->app, body, strlen(body)), 200);
    free(body);
    assert_int_equal(th_janseva_stop(&f->app), 0);
    assert_true(th_file_count(f->app.log_path, "\"webhook accepted\"") == 1);
}

/* Rewrite the audit log with record `seq`'s entry changed (same ids). */
static void tamper_record(struct fixture *f, int seq)
{
    redisReply *all = th_redis_cmd(&f->redis, "XRANGE js:{audit}:log - +");
    size_t i;

    freeReplyObject(th_redis_cmd(&f->redis, "DEL js:{audit}:log"));
    for (i = 0; i < all->elements; i++) {
        const redisReply *fl = all->element[i]->element[1];
        char entry[2048];

        snprintf(entry, sizeof entry, "%s", fl->element[3]->str);
        if ((int)i + 1 == seq)
            memcpy(strstr(entry, "\"system\""), "\"hacker\"", 8);
        freeReplyObject(th_redis_cmd(&f->redis, "XADD js:{audit}:log %s seq %s e %s h %s",
                                     all->element[i]->element[0]->str, fl->element[1]->str,
                                     entry, fl->element[5]->str));
    }
    freeReplyObject(all);
}

static void test_audit_commands(void **state)
{
    struct fixture *f = *state;
    const char *verify[] = {"audit", "verify", NULL};
    const char *ckpt[] = {"audit", "checkpoint", NULL};
    char export_path[800];
    char pkarg[200];
    const char *exp[] = {"audit", "export", "--out", export_path, NULL};
    const char *vfile[] = {"audit", "verify", "--file", export_path, NULL};
    const char *vpk[] = {"audit", "verify", "--file", export_path, "--pubkey", pkarg, NULL};
    const char *vfrom[] = {"audit", "verify", "--from", "2", NULL};
    char *out = NULL;
    char *err = NULL;
    char *meta;
    char *p;
    struct stat st;
    char *body = th_text_webhook("919812345678", "wamid.audit", "hello");

    init_keys(f);
    /* a service start is recorded with the key ids */
    assert_int_equal(th_janseva_start(&f->app, f->dir, &f->redis, (const char *const[]){
                                                                      f->keys_env, NULL}),
                     0);
    assert_int_equal(th_post_webhook(&f->app, body, strlen(body)), 200);
    free(body);
    for (int i = 0; i < 100 && th_redis_int(&f->redis, "XLEN js:{audit}:log") < 2; i++)
        th_sleep_ms(50);
    assert_int_equal(th_janseva_stop(&f->app), 0);
    assert_int_equal(th_redis_int(&f->redis, "XLEN js:{audit}:log"), 2);
    assert_int_equal(jv(f, 0, verify, &out, &err), 0);
    assert_non_null(strstr(out, "audit: ok: 2 records"));
    free(out);
    free(err);
    assert_int_equal(jv(f, 0, ckpt, &out, &err), 0);
    assert_non_null(strstr(out, "checkpoint signed for record 2"));
    free(out);
    free(err);
    /* export: a 0600 file with ids only, verifiable with just the public key */
    snprintf(export_path, sizeof export_path, "%s/audit.jsonl", f->dir);
    assert_int_equal(jv(f, 0, exp, &out, &err), 0);
    free(out);
    free(err);
    assert_int_equal(stat(export_path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(th_file_count(export_path, "9812345678"), 0);
    assert_true(th_file_count(export_path, "service.start") == 1);
    assert_int_equal(jv(f, 0, vfile, &out, &err), 0);
    assert_non_null(strstr(out, "signed up to record 2"));
    free(out);
    free(err);
    meta = file_text(f, "keys.json");
    p = strstr(meta, "\"public_key\": \"") + 15;
    snprintf(pkarg, sizeof pkarg, "%.64s", p);
    free(meta);
    assert_int_equal(jv(f, 1, vpk, &out, &err), 0);
    free(out);
    free(err);
    assert_int_equal(jv(f, 0, vfrom, &out, &err), 0);
    free(out);
    free(err);
    /* a modified record: exit 65, named */
    tamper_record(f, 2);
    assert_int_equal(jv(f, 0, verify, &out, &err), 65);
    assert_non_null(strstr(err, "record 2"));
    assert_non_null(strstr(err, "modified"));
    assert_int_equal(count_lines(err, "janseva: "), 1);
    free(out);
    free(err);
    /* the export still verifies (it is off the server) but a forged
     * checkpoint in it does not */
    {
        size_t len = 0;
        char *text = th_read_file(export_path, &len);
        char *sig = strstr(text, "\"sig\":\"") + 7;

        sig[5] = sig[5] == 'a' ? 'b' : 'a';
        th_write_file(export_path, text, len);
        free(text);
    }
    assert_int_equal(jv(f, 0, vfile, &out, &err), 65);
    assert_non_null(strstr(err, "signature does not verify"));
    assert_non_null(strstr(err, "record 1"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_status_and_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serve_refuses_bad_key_directories, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_systemd_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_commands, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
