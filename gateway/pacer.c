/*
 * gateway/pacer.c - shared token bucket and recipient spacing (see pacer.h).
 */
#include "gateway/pacer.h"

#include <stdio.h>
#include <string.h>

/*
 * KEYS[1] bucket hash {t = tokens, ts = last refill in microseconds}
 * ARGV[1] rate (tokens/s), ARGV[2] capacity, ARGV[3] wanted
 * Returns the number granted. Server time keeps all dispatchers on one clock.
 */
static struct core_redis_script bucket_script = {
    "pacer_bucket",
    "local now = redis.call('TIME')\n"
    "local us = tonumber(now[1]) * 1000000 + tonumber(now[2])\n"
    "local rate = tonumber(ARGV[1])\n"
    "local cap = tonumber(ARGV[2])\n"
    "local want = tonumber(ARGV[3])\n"
    "local st = redis.call('HMGET', KEYS[1], 't', 'ts')\n"
    "local t = tonumber(st[1])\n"
    "local ts = tonumber(st[2])\n"
    "if t == nil or ts == nil then t = cap; ts = us end\n"
    "if us > ts then t = math.min(cap, t + (us - ts) * rate / 1000000) end\n"
    "local g = math.min(want, math.floor(t))\n"
    "if g < 0 then g = 0 end\n"
    "t = t - g\n"
    "redis.call('HSET', KEYS[1], 't', tostring(t), 'ts', tostring(us))\n"
    "redis.call('PEXPIRE', KEYS[1], 60000)\n"
    "return g\n",
    ""};

int gw_pacer_take(struct core_redis *r, const char *number, double mps, int want, int *granted,
                  struct core_err *err)
{
    char key[96];
    char rate[32], cap[32], w[16];
    const char *argv[4];
    redisReply *rep;
    double capacity = mps / 20.0;

    *granted = 0;
    if (want <= 0)
        return 0;
    if (capacity < 1)
        capacity = 1;
    snprintf(key, sizeof key, "js:out:{%s}:tb", number);
    snprintf(rate, sizeof rate, "%.6f", mps);
    snprintf(cap, sizeof cap, "%.6f", capacity);
    snprintf(w, sizeof w, "%d", want);
    argv[0] = key;
    argv[1] = rate;
    argv[2] = cap;
    argv[3] = w;
    if (core_redis_eval(r, &bucket_script, 1, 4, argv, NULL, &rep, err) != 0)
        return -1;
    *granted = (int)core_redis_int(rep);
    if (*granted < 0)
        *granted = 0;
    freeReplyObject(rep);
    return 0;
}

/*
 * KEYS[1] recipient slot; ARGV[1] spacing ms.
 * Returns 0 when taken now, else the remaining TTL in ms.
 */
static struct core_redis_script slot_script = {
    "pacer_slot",
    "if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end\n"
    "local ttl = redis.call('PTTL', KEYS[1])\n"
    "if ttl < 1 then ttl = 1 end\n"
    "return ttl\n",
    ""};

int gw_pacer_recipient(struct core_redis *r, const char *number, const char *mid,
                       int64_t spacing_ms, int64_t *wait_ms, struct core_err *err)
{
    char key[160];
    char ms[32];
    const char *argv[2];
    redisReply *rep;

    *wait_ms = 0;
    if (spacing_ms <= 0)
        return 0;
    snprintf(key, sizeof key, "js:out:{%s}:r:%s", number, mid);
    snprintf(ms, sizeof ms, "%lld", (long long)spacing_ms);
    argv[0] = key;
    argv[1] = ms;
    if (core_redis_eval(r, &slot_script, 1, 2, argv, NULL, &rep, err) != 0)
        return -1;
    *wait_ms = core_redis_int(rep);
    freeReplyObject(rep);
    return 0;
}

int gw_pacer_recipient_hold(struct core_redis *r, const char *number, const char *mid,
                            int64_t ms, struct core_err *err)
{
    char key[160];
    char v[32];

    snprintf(key, sizeof key, "js:out:{%s}:r:%s", number, mid);
    snprintf(v, sizeof v, "%lld", (long long)(ms > 0 ? ms : 1));
    return core_redis_cmdf(r, NULL, err, "SET %s 1 PX %s", key, v);
}
