/*
 * tests/harness/harness.c - processes, Redis, HTTP and files for the
 * integration tests (see harness.h).
 */
#include "tests/harness/harness.h"
#include "crypto/mrec.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

__attribute__((constructor)) static void th_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sodium_init() < 0)
        abort();
    signal(SIGPIPE, SIG_IGN);
}

__attribute__((destructor)) static void th_fini(void)
{
    curl_global_cleanup();
}

/* ---- files ---- */

char *th_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char path[512];

    snprintf(path, sizeof path, "%s/janseva-%s.XXXXXX", base != NULL ? base : "/tmp",
             tag != NULL ? tag : "test");
    if (mkdtemp(path) == NULL) {
        fprintf(stderr, "harness: mkdtemp %s: %s\n", path, strerror(errno));
        return NULL;
    }
    return strdup(path);
}

void th_rmrf(const char *dir)
{
    const char *argv[] = {"/bin/rm", "-rf", dir, NULL};
    char *out = NULL;
    char *err = NULL;

    if (dir == NULL || strlen(dir) < 8)
        return;
    th_run(argv, NULL, NULL, 0, &out, &err);
    free(out);
    free(err);
}

char *th_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0;
    size_t n = 0;
    size_t r;

    if (f == NULL)
        return NULL;
    do {
        if (n + 65536 + 1 > cap) {
            cap = cap ? cap * 2 : 131072;
            buf = realloc(buf, cap);
            if (buf == NULL)
                abort();
        }
        r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
    } while (r > 0);
    fclose(f);
    if (buf == NULL)
        buf = calloc(1, 1);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

int th_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL)
        return -1;
    if (fwrite(data, 1, len, f) != len) {
        fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

size_t th_file_count(const char *path, const char *needle)
{
    size_t len;
    char *s = th_read_file(path, &len);
    size_t n = 0;
    size_t nl = strlen(needle);
    const char *p;

    if (s == NULL || nl == 0) {
        free(s);
        return 0;
    }
    for (p = s; (p = memmem(p, len - (size_t)(p - s), needle, nl)) != NULL; p += nl)
        n++;
    free(s);
    return n;
}

/* ---- environment ---- */

const char *th_bin(void)
{
    const char *b = getenv("JANSEVA_TEST_BIN");

    return b != NULL ? b : "build/rel/janseva";
}

const char *th_build_dir(void)
{
    const char *b = getenv("JANSEVA_TEST_BUILD");

    return b != NULL ? b : "build/rel";
}

const char *th_data_dir(void)
{
    const char *d = getenv("JANSEVA_TEST_DATA");
    struct stat st;

    if (d == NULL || stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return d;
}

int th_free_port(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port = -1;

    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
        getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
        port = ntohs(sin.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

void th_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int th_wait(int (*cond)(void *ud), void *ud, int timeout_ms)
{
    int waited = 0;

    for (;;) {
        if (cond(ud))
            return 0;
        if (waited >= timeout_ms)
            return -1;
        th_sleep_ms(20);
        waited += 20;
    }
}

/* ---- processes ---- */

/* environ minus JANSEVA_* plus `extra`; later NAME= entries win. */
static char **child_env(const char *const extra[])
{
    size_t n = 0;
    size_t k = 0;
    char **env;
    size_t i;

    while (environ[n] != NULL)
        n++;
    for (i = 0; extra != NULL && extra[i] != NULL; i++)
        n++;
    env = calloc(n + 1, sizeof *env);
    for (i = 0; environ[i] != NULL; i++) {
        if (strncmp(environ[i], "JANSEVA_", 8) != 0)
            env[k++] = environ[i];
    }
    for (i = 0; extra != NULL && extra[i] != NULL; i++) {
        const char *eq = strchr(extra[i], '=');
        size_t nl = eq != NULL ? (size_t)(eq - extra[i]) + 1 : strlen(extra[i]);
        size_t j;

        for (j = 0; j < k; j++) {
            if (strncmp(env[j], extra[i], nl) == 0) {
                env[j] = (char *)(uintptr_t)extra[i];
                break;
            }
        }
        if (j == k)
            env[k++] = (char *)(uintptr_t)extra[i];
    }
    env[k] = NULL;
    return env;
}

int th_spawn(struct th_proc *p, const char *const argv[], const char *const env[],
             const char *log_path)
{
    char **envp = child_env(env);
    pid_t pid;

    p->pid = 0;
    p->status = -1;
    pid = fork();
    if (pid < 0) {
        free(envp);
        return -1;
    }
    if (pid == 0) {
        int fd = open(log_path != NULL ? log_path : "/dev/null",
                      O_WRONLY | O_CREAT | O_APPEND, 0600);
        int in = open("/dev/null", O_RDONLY);

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (in >= 0)
            dup2(in, 0);
        execve(argv[0], (char *const *)(uintptr_t)argv, envp);
        fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(envp);
    p->pid = pid;
    return 0;
}

static int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

int th_alive(struct th_proc *p)
{
    int st;
    pid_t r;

    if (p->pid <= 0)
        return 0;
    r = waitpid(p->pid, &st, WNOHANG);
    if (r == 0)
        return 1;
    if (r == p->pid)
        p->status = decode_status(st);
    p->pid = 0;
    return 0;
}

int th_stop(struct th_proc *p, int sig, int timeout_ms)
{
    int waited = 0;
    int st;

    if (p->pid <= 0)
        return p->status;
    kill(p->pid, sig);
    for (;;) {
        pid_t r = waitpid(p->pid, &st, WNOHANG);

        if (r == p->pid) {
            p->status = decode_status(st);
            break;
        }
        if (waited >= timeout_ms) {
            fprintf(stderr, "harness: pid %d did not stop after signal %d; killing\n",
                    (int)p->pid, sig);
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
            p->status = decode_status(st);
            break;
        }
        th_sleep_ms(10);
        waited += 10;
    }
    p->pid = 0;
    return p->status;
}

struct growbuf {
    char *data;
    size_t len;
    size_t cap;
};

static void grow_append(struct growbuf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = realloc(b->data, b->cap);
        if (b->data == NULL)
            abort();
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

int th_run(const char *const argv[], const char *const env[], const char *in, size_t in_len,
           char **out, char **err)
{
    int pin[2], pout[2], perr[2];
    char **envp;
    struct growbuf ob = {0}, eb = {0};
    size_t written = 0;
    pid_t pid;
    int st;

    if (pipe(pin) != 0 || pipe(pout) != 0 || pipe(perr) != 0)
        return -1;
    envp = child_env(env);
    pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        close(pin[1]);
        close(pout[0]);
        close(perr[0]);
        execve(argv[0], (char *const *)(uintptr_t)argv, envp);
        _exit(127);
    }
    free(envp);
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    if (in == NULL || in_len == 0) {
        close(pin[1]);
        pin[1] = -1;
    }
    grow_append(&ob, "", 0);
    grow_append(&eb, "", 0);
    for (;;) {
        struct pollfd fds[3];
        int nf = 0;
        char buf[65536];

        if (pout[0] >= 0)
            fds[nf++] = (struct pollfd){pout[0], POLLIN, 0};
        if (perr[0] >= 0)
            fds[nf++] = (struct pollfd){perr[0], POLLIN, 0};
        if (pin[1] >= 0)
            fds[nf++] = (struct pollfd){pin[1], POLLOUT, 0};
        if (nf == 0)
            break;
        if (poll(fds, (nfds_t)nf, 30000) <= 0)
            break;
        for (int i = 0; i < nf; i++) {
            if (fds[i].revents == 0)
                continue;
            if (fds[i].fd == pin[1]) {
                ssize_t w = write(pin[1], in + written, in_len - written);

                if (w > 0)
                    written += (size_t)w;
                if (w < 0 || written == in_len) {
                    close(pin[1]);
                    pin[1] = -1;
                }
            } else {
                ssize_t r = read(fds[i].fd, buf, sizeof buf);
                int *fdp = fds[i].fd == pout[0] ? &pout[0] : &perr[0];

                if (r > 0) {
                    grow_append(fdp == &pout[0] ? &ob : &eb, buf, (size_t)r);
                } else {
                    close(*fdp);
                    *fdp = -1;
                }
            }
        }
    }
    if (pin[1] >= 0)
        close(pin[1]);
    if (pout[0] >= 0)
        close(pout[0]);
    if (perr[0] >= 0)
        close(perr[0]);
    waitpid(pid, &st, 0);
    if (out != NULL)
        *out = ob.data;
    else
        free(ob.data);
    if (err != NULL)
        *err = eb.data;
    else
        free(eb.data);
    return decode_status(st);
}

/* ---- redis ---- */

static redisContext *redis_connect(const struct th_redis *r)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectUnixWithTimeout(r->sock, tv);

    if (c != NULL && c->err != 0) {
        redisFree(c);
        return NULL;
    }
    return c;
}

int th_redis_start(struct th_redis *r, const char *dir)
{
    char conf[1200];
    char text[2048];
    char log[600];
    const char *argv[] = {"/usr/bin/redis-server", conf, NULL};
    int i;

    r->ctx = NULL;
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    snprintf(r->sock, sizeof r->sock, "%s/redis.sock", dir);
    snprintf(r->addr, sizeof r->addr, "unix:%s", r->sock);
    snprintf(conf, sizeof conf, "%s/redis.conf", dir);
    snprintf(log, sizeof log, "%s/redis.log", dir);
    snprintf(text, sizeof text,
             "port 0\nunixsocket %s\nunixsocketperm 700\ndir %s\nappendonly yes\n"
             "appendfsync everysec\nsave \"\"\ndaemonize no\nlogfile \"\"\n"
             "hash-max-listpack-entries %d\nhash-max-listpack-value %d\n",
             r->sock, dir, CRY_MREC_LISTPACK_ENTRIES, CRY_MREC_LISTPACK_VALUE);
    if (th_write_file(conf, text, strlen(text)) != 0)
        return -1;
    if (th_spawn(&r->proc, argv, NULL, log) != 0)
        return -1;
    for (i = 0; i < 500; i++) {
        redisContext *c = redis_connect(r);

        if (c != NULL) {
            redisReply *rep = redisCommand(c, "PING");
            int ok = rep != NULL && rep->type == REDIS_REPLY_STATUS;

            if (rep != NULL)
                freeReplyObject(rep);
            if (ok) {
                r->ctx = c;
                return 0;
            }
            redisFree(c);
        }
        if (!th_alive(&r->proc))
            break;
        th_sleep_ms(20);
    }
    fprintf(stderr, "harness: redis-server did not start (see %s)\n", log);
    th_stop(&r->proc, SIGKILL, 1000);
    return -1;
}

void th_redis_stop(struct th_redis *r, int hard)
{
    if (r->ctx != NULL) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
    th_stop(&r->proc, hard ? SIGKILL : SIGTERM, 10000);
}

static redisReply *vcmd(struct th_redis *r, const char *fmt, va_list ap)
{
    redisReply *rep;
    va_list cp;

    if (r->ctx == NULL || r->ctx->err != 0) {
        if (r->ctx != NULL)
            redisFree(r->ctx);
        r->ctx = redis_connect(r);
        if (r->ctx == NULL)
            return NULL;
    }
    va_copy(cp, ap);
    rep = redisvCommand(r->ctx, fmt, cp);
    va_end(cp);
    return rep;
}

redisReply *th_redis_cmd(struct th_redis *r, const char *fmt, ...)
{
    va_list ap;
    redisReply *rep;

    va_start(ap, fmt);
    rep = vcmd(r, fmt, ap);
    va_end(ap);
    return rep;
}

long long th_redis_int(struct th_redis *r, const char *fmt, ...)
{
    va_list ap;
    redisReply *rep;
    long long v = -1;

    va_start(ap, fmt);
    rep = vcmd(r, fmt, ap);
    va_end(ap);
    if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
        v = rep->integer;
    else if (rep != NULL && rep->type == REDIS_REPLY_STRING)
        v = strtoll(rep->str, NULL, 10);
    if (rep != NULL)
        freeReplyObject(rep);
    return v;
}

int th_audit_count(struct th_redis *r, const char *action, const char *object,
                   const char *actor)
{
    redisReply *rep = th_redis_cmd(r, "XRANGE js:{audit}:log - +");
    char a[128];
    char o[128];
    char w[128];
    int n = 0;

    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
        if (rep != NULL)
            freeReplyObject(rep);
        return -1;
    }
    snprintf(a, sizeof a, "\"action\":\"%s\"", action);
    snprintf(o, sizeof o, "\"object\":\"%s\"", object != NULL ? object : "");
    snprintf(w, sizeof w, "\"actor\":\"%s\"", actor != NULL ? actor : "");
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *f = rep->element[i]->element[1];

        for (size_t k = 0; k < f->elements; k++) {
            const char *x = f->element[k]->str;

            n += x != NULL && strstr(x, a) != NULL && (object == NULL || strstr(x, o) != NULL) &&
                 (actor == NULL || strstr(x, w) != NULL);
        }
    }
    freeReplyObject(rep);
    return n;
}

static void dump_reply(FILE *out, const redisReply *v)
{
    if (v == NULL)
        return;
    if (v->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < v->elements; i++)
            dump_reply(out, v->element[i]);
        return;
    }
    if (v->type == REDIS_REPLY_STRING || v->type == REDIS_REPLY_STATUS) {
        fwrite(v->str, 1, v->len, out);
        fputc('\n', out);
    }
}

int th_redis_dump_live(struct th_redis *r, const char *path)
{
    redisReply *keys = th_redis_cmd(r, "KEYS *");
    FILE *out = fopen(path, "wb");

    if (keys == NULL || out == NULL || keys->type != REDIS_REPLY_ARRAY) {
        if (out != NULL)
            fclose(out);
        if (keys != NULL)
            freeReplyObject(keys);
        return -1;
    }
    for (size_t i = 0; i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        redisReply *t = th_redis_cmd(r, "TYPE %b", k->str, k->len);
        redisReply *v = NULL;
        const char *type = t != NULL && t->type == REDIS_REPLY_STATUS ? t->str : "";

        if (strcmp(type, "string") == 0)
            v = th_redis_cmd(r, "GET %b", k->str, k->len);
        else if (strcmp(type, "hash") == 0)
            v = th_redis_cmd(r, "HGETALL %b", k->str, k->len);
        else if (strcmp(type, "list") == 0)
            v = th_redis_cmd(r, "LRANGE %b 0 -1", k->str, k->len);
        else if (strcmp(type, "set") == 0)
            v = th_redis_cmd(r, "SMEMBERS %b", k->str, k->len);
        else if (strcmp(type, "zset") == 0)
            v = th_redis_cmd(r, "ZRANGE %b 0 -1", k->str, k->len);
        else if (strcmp(type, "stream") == 0)
            v = th_redis_cmd(r, "XRANGE %b - +", k->str, k->len);
        dump_reply(out, k);
        dump_reply(out, v);
        if (v != NULL)
            freeReplyObject(v);
        if (t != NULL)
            freeReplyObject(t);
    }
    freeReplyObject(keys);
    return fclose(out) == 0 ? 0 : -1;
}

/* ---- member records ---- */

int th_member_load(struct th_redis *r, const char *mid, struct cry_mrec *out)
{
    char key[CRY_MREC_KEY_MAX];
    unsigned char bin[CRY_MREC_MID_BYTES];
    struct core_err err;
    redisReply *rep;
    int rc = -1;

    cry_mrec_decode(NULL, 0, out, &err);
    if (cry_mrec_mid_to_bin(mid, bin) != 0)
        return -1;
    cry_mrec_key(mid, key);
    rep = th_redis_cmd(r, "HGET %s %b", key, (const char *)bin, sizeof bin);
    if (rep != NULL)
        rc = cry_mrec_from_reply(rep, out, &err);
    if (rep != NULL)
        freeReplyObject(rep);
    return rc;
}

/* Apply `o` to member `mid` with the record's own update script (atomic: a
 * running service writing the same record loses nothing). */
static void member_update(struct th_redis *r, const char *mid, const struct cry_mrec_ops *o)
{
    struct core_redis_opts opts;
    struct core_redis *c;
    struct core_err err;

    memset(&opts, 0, sizeof opts);
    opts.addr = r->addr;
    c = core_redis_new(&opts);
    if (cry_mrec_update(c, mid, o, NULL, &err) != 0) {
        fprintf(stderr, "harness: member %s: %s\n", mid, err.msg);
        abort();
    }
    core_redis_free(c);
}

void th_member_set(struct th_redis *r, const char *mid, ...)
{
    struct cry_mrec_ops o;
    const char *name;
    va_list ap;

    cry_mrec_ops_init(&o);
    va_start(ap, mid);
    while ((name = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        int t = cry_mrec_tag(name);

        if (t < 0) {
            fprintf(stderr, "harness: no member field %s\n", name);
            abort();
        }
        if (value != NULL)
            cry_mrec_op_set(&o, t, value);
        else
            cry_mrec_op_del(&o, t);
    }
    va_end(ap);
    member_update(r, mid, &o);
}

void th_member_set_raw(struct th_redis *r, const char *mid, const char *name, const void *v,
                       size_t len)
{
    struct cry_mrec_ops o;
    int t = cry_mrec_tag(name);

    cry_mrec_ops_init(&o);
    if (v != NULL)
        cry_mrec_op_set_raw(&o, t, v, len);
    else
        cry_mrec_op_del(&o, t);
    member_update(r, mid, &o);
}

static void mid_bin(const char *mid, unsigned char bin[CRY_MREC_MID_BYTES])
{
    if (cry_mrec_mid_to_bin(mid, bin) != 0) {
        fprintf(stderr, "harness: not a mid: %s\n", mid);
        abort();
    }
}

void th_group_add(struct th_redis *r, const char *code, const char *mid)
{
    unsigned char bin[CRY_MREC_MID_BYTES];

    mid_bin(mid, bin);
    freeReplyObject(th_redis_cmd(r, "HSET js:u:{%s}:mem %b %s", code, (const char *)bin,
                                 sizeof bin, ""));
}

void th_group_del(struct th_redis *r, const char *code, const char *mid)
{
    unsigned char bin[CRY_MREC_MID_BYTES];

    mid_bin(mid, bin);
    freeReplyObject(th_redis_cmd(r, "HDEL js:u:{%s}:mem %b", code, (const char *)bin,
                                 sizeof bin));
}

int th_group_has(struct th_redis *r, const char *code, const char *mid)
{
    unsigned char bin[CRY_MREC_MID_BYTES];

    mid_bin(mid, bin);
    return (int)th_redis_int(r, "HEXISTS js:u:{%s}:mem %b", code, (const char *)bin, sizeof bin);
}

char *th_member_get(struct th_redis *r, const char *mid, const char *name)
{
    struct cry_mrec *m = malloc(sizeof *m);
    char *out = malloc(CRY_MREC_VALUE_MAX + 1);
    int t = cry_mrec_tag(name);

    if (t < 0 || th_member_load(r, mid, m) != 0 ||
        !cry_mrec_str(m, t, out, CRY_MREC_VALUE_MAX + 1)) {
        free(out);
        out = NULL;
    }
    free(m);
    return out;
}

/* ---- janseva ---- */

static int http_request(const char *method, const char *url, const char *const headers[],
                        const void *body, size_t len, struct th_http_resp *resp, int quiet);

static int healthy(void *ud)
{
    struct th_janseva *j = ud;
    struct th_http_resp resp;
    char url[128];
    int ok;

    if (!th_alive(&j->proc))
        return 1; /* stop waiting: it died */
    snprintf(url, sizeof url, "%s/healthz", j->url);
    if (http_request("GET", url, NULL, NULL, 0, &resp, 1) != 0)
        return 0;
    ok = resp.status == 200;
    th_http_resp_free(&resp);
    return ok;
}

int th_janseva_start(struct th_janseva *j, const char *dir, const struct th_redis *r,
                     const char *const env[])
{
    char redis_env[700];
    char port_env[64];
    char keys_env[700];
    const char *argv[] = {th_bin(), "serve", NULL};
    const char *all[64];
    size_t n = 0;
    size_t i;

    snprintf(redis_env, sizeof redis_env, "JANSEVA_REDIS=%s", r != NULL ? r->addr : "");
    snprintf(j->keys_dir, sizeof j->keys_dir, "%s/keys", dir);
    if (access(j->keys_dir, F_OK) != 0) {
        /* A key directory per test directory, made once (serve needs one). */
        const char *kargv[] = {th_bin(), "keys", "init", "--dir", j->keys_dir, NULL};
        const char *kenv[] = {redis_env, NULL};
        char *out = NULL;
        char *errs = NULL;
        int st = th_run(kargv, kenv, NULL, 0, &out, &errs);

        if (st != 0)
            fprintf(stderr, "harness: janseva keys init exited %d: %s\n", st,
                    errs != NULL ? errs : "");
        free(out);
        free(errs);
        if (st != 0)
            return -1;
    }
    snprintf(keys_env, sizeof keys_env, "JANSEVA_KEYS_DIR=%s", j->keys_dir);
    j->port = th_free_port();
    snprintf(j->url, sizeof j->url, "http://127.0.0.1:%d", j->port);
    snprintf(j->log_path, sizeof j->log_path, "%s/janseva.log", dir);
    snprintf(port_env, sizeof port_env, "JANSEVA_HTTP_PORT=%d", j->port);
    all[n++] = redis_env;
    all[n++] = port_env;
    all[n++] = keys_env;
    all[n++] = "JANSEVA_APP_SECRET=" TH_APP_SECRET;
    all[n++] = "JANSEVA_VERIFY_TOKEN=" TH_VERIFY_TOKEN;
    all[n++] = "JANSEVA_LOG_LEVEL=debug";
    all[n++] = "JANSEVA_ROUTER_CLAIM_IDLE_MS=1000";
    for (i = 0; env != NULL && env[i] != NULL && n + 1 < sizeof all / sizeof all[0]; i++)
        all[n++] = env[i];
    all[n] = NULL;
    if (th_spawn(&j->proc, argv, all, j->log_path) != 0)
        return -1;
    if (th_wait(healthy, j, 10000) != 0 || !th_alive(&j->proc)) {
        fprintf(stderr, "harness: janseva did not become healthy (exit %d); log %s\n",
                j->proc.status, j->log_path);
        th_stop(&j->proc, SIGKILL, 1000);
        return -1;
    }
    return 0;
}

int th_janseva_stop(struct th_janseva *j)
{
    return th_stop(&j->proc, SIGTERM, 15000);
}

void th_janseva_kill(struct th_janseva *j)
{
    th_stop(&j->proc, SIGKILL, 5000);
}

/* ---- HTTP ---- */

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    grow_append(ud, p, size * n);
    return size * n;
}

static int http_request(const char *method, const char *url, const char *const headers[],
                        const void *body, size_t len, struct th_http_resp *resp, int quiet)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    struct growbuf b = {0};
    CURLcode rc;
    size_t i;

    memset(resp, 0, sizeof *resp);
    grow_append(&b, "", 0);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    h = curl_slist_append(h, "Expect:");
    for (i = 0; headers != NULL && headers[i] != NULL; i++)
        h = curl_slist_append(h, headers[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_slist_free_all(h);
    resp->body = b.data;
    resp->len = b.len;
    if (rc != CURLE_OK) {
        if (!quiet)
            fprintf(stderr, "harness: %s %s: %s\n", method, url, curl_easy_strerror(rc));
        resp->status = 0;
        free(resp->body); /* nothing to hand back on failure */
        resp->body = NULL;
        resp->len = 0;
        curl_easy_cleanup(c);
        return -1;
    }
    curl_easy_cleanup(c);
    return 0;
}

int th_http(const char *method, const char *url, const char *const headers[], const void *body,
            size_t len, struct th_http_resp *resp)
{
    return http_request(method, url, headers, body, len, resp, 0);
}

void th_http_resp_free(struct th_http_resp *resp)
{
    free(resp->body);
    resp->body = NULL;
}

char *th_sign(const char *secret, const void *body, size_t len)
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[32];
    char *out = malloc(72);

    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, 65, mac, sizeof mac);
    return out;
}

long th_post_webhook(const struct th_janseva *j, const char *body, size_t len)
{
    char *sig = th_sign(TH_APP_SECRET, body, len);
    char hdr[128];
    char url[128];
    const char *headers[] = {hdr, "Content-Type: application/json", NULL};
    struct th_http_resp resp;
    long status = -1;

    snprintf(hdr, sizeof hdr, "X-Hub-Signature-256: %s", sig);
    snprintf(url, sizeof url, "%s/webhook", j->url);
    if (th_http("POST", url, headers, body, len, &resp) == 0)
        status = resp.status;
    th_http_resp_free(&resp);
    free(sig);
    return status;
}

char *th_text_webhook(const char *wa_id, const char *wamid, const char *text)
{
    char *out = NULL;
    int n = asprintf(
        &out,
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"102290129340398\","
        "\"changes\":[{\"value\":{\"messaging_product\":\"whatsapp\",\"metadata\":{"
        "\"display_phone_number\":\"15550783881\",\"phone_number_id\":\"106540352242922\"},"
        "\"contacts\":[{\"profile\":{\"name\":\"Test User\"},\"wa_id\":\"%s\"}],"
        "\"messages\":[{\"from\":\"%s\",\"id\":\"%s\",\"timestamp\":\"1763800000\","
        "\"type\":\"text\",\"text\":{\"body\":\"%s\"}}]},\"field\":\"messages\"}]}]}",
        wa_id, wa_id, wamid, text);

    return n < 0 ? NULL : out;
}
