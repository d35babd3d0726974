/*
 * core/log.c - JSON-lines logger (see log.h).
 */
#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static atomic_int g_level = CORE_LOG_INFO;
static FILE *g_out;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void core_log_set_level(enum core_log_level level)
{
    atomic_store(&g_level, (int)level);
}

enum core_log_level core_log_get_level(void)
{
    return (enum core_log_level)atomic_load(&g_level);
}

void core_log_set_output(FILE *out)
{
    pthread_mutex_lock(&g_lock);
    g_out = out;
    pthread_mutex_unlock(&g_lock);
}

int core_log_level_parse(const char *s, enum core_log_level *out)
{
    size_t i;

    if (s == NULL)
        return -1;
    for (i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum core_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = CORE_LOG_WARN;
        return 0;
    }
    return -1;
}

const char *core_log_level_name(enum core_log_level level)
{
    if ((int)level < 0 || (size_t)level >= sizeof level_names / sizeof level_names[0])
        return "unknown";
    return level_names[level];
}

int core_log_enabled(enum core_log_level level)
{
    return (int)level >= atomic_load(&g_level);
}

static void format_ts(char *out, size_t n)
{
    struct timespec ts;
    struct tm tm;

    size_t k;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    if (k > 0 && k + 6 <= n)
        snprintf(out + k, n - k, ".%03dZ", (int)(ts.tv_nsec / 1000000L) % 1000);
}

void core_log_kv(enum core_log_level level, const char *module, const char *req, const char *msg,
                 json_t *fields)
{
    char ts[40];
    json_t *line;
    json_t *jmsg;
    char *text;
    FILE *out;

    if (!core_log_enabled(level)) {
        json_decref(fields);
        return;
    }
    format_ts(ts, sizeof ts);
    line = json_object();
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(core_log_level_name(level)));
    json_object_set_new(line, "module", json_string(module != NULL ? module : "-"));
    if (req != NULL && req[0] != '\0')
        json_object_set_new(line, "req", json_string(req));
    /* json_string rejects invalid UTF-8; fall back to a marker. */
    jmsg = json_string(msg != NULL ? msg : "");
    if (jmsg == NULL)
        jmsg = json_string("(message was not valid UTF-8)");
    json_object_set_new(line, "msg", jmsg);
    if (fields != NULL && json_is_object(fields))
        json_object_update_missing(line, fields);
    json_decref(fields);
    text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text == NULL)
        return;
    pthread_mutex_lock(&g_lock);
    out = g_out != NULL ? g_out : stderr;
    fputs(text, out);
    fputc('\n', out);
    fflush(out);
    pthread_mutex_unlock(&g_lock);
    free(text);
}

void core_log(enum core_log_level level, const char *module, const char *req, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (!core_log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    core_log_kv(level, module, req, msg, NULL);
}
