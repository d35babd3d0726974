/*
 * tools/outbox-load/main.c - benchmark helper: create N members and queue
 * one template message to each through the real outbox (gw_outbox_enqueue),
 * as fast as the library allows. Used by scripts/bench-dispatch.sh.
 *
 * Usage: outbox-load KEYS_DIR REDIS_ADDR PHONE_NUMBER_ID COUNT [PREFIX]
 * Members get numbers 917PPPPnnnnnn (synthetic, not real subscribers).
 */
#include "core/err.h"
#include "core/redis.h"
#include "core/util.h"
#include "crypto/identity.h"
#include "crypto/keys.h"
#include "gateway/outbox.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    struct core_redis_opts ro = {NULL, NULL, NULL, 10000};
    struct core_err err;
    struct cry_keys *keys;
    struct cry_identity *ident;
    struct core_redis *r;
    json_t *msg;
    int64_t count;
    int64_t t0;
    const char *prefix = argc > 5 ? argv[5] : "1";

    if (argc < 5 || core_parse_i64(argv[4], &count) != 0 || count < 1 || count > 99999999 ||
        strlen(prefix) > 2) {
        fprintf(stderr, "usage: outbox-load KEYS_DIR REDIS_ADDR PHONE_NUMBER_ID COUNT (1-99999999) "
                        "[PREFIX (1-2 digits)]\n");
        return 64;
    }
    if (sodium_init() < 0)
        return 70;
    keys = cry_keys_load(argv[1], 0, &err);
    if (keys == NULL) {
        fprintf(stderr, "outbox-load: %s\n", err.msg);
        return 78;
    }
    ro.addr = argv[2];
    r = core_redis_new(&ro);
    if (cry_keys_refresh(keys, r, &err) != 0) {
        fprintf(stderr, "outbox-load: %s\n", err.msg);
        return 69;
    }
    ident = cry_identity_new(keys);
    msg = json_pack("{s:s,s:{s:s,s:{s:s},s:[{s:s,s:[{s:s,s:s}]}]}}", "type", "template",
                    "template", "name", "janseva_notice", "language", "code", "hi",
                    "components", "type", "body", "parameters", "type", "text", "text",
                    "बेंचमार्क");
    t0 = core_mono_ms();
    for (int64_t i = 0; i < count; i++) {
        char wa[40];
        char key[64];
        char mid[CRY_MID_LEN];
        int created;
        struct gw_outmsg m;

        snprintf(wa, sizeof wa, "917%s%08lld", prefix, (long long)i);
        snprintf(key, sizeof key, "bench:%s:%lld", prefix, (long long)i);
        if (cry_identity_resolve(ident, r, wa, NULL, NULL, 0, mid, &created, &err) != 0) {
            fprintf(stderr, "outbox-load: %s\n", err.msg);
            return 69;
        }
        memset(&m, 0, sizeof m);
        m.key = key;
        m.number = argv[3];
        m.lane = GW_LANE_BULK;
        m.mid = mid;
        m.message = msg;
        if (gw_outbox_enqueue(r, keys, &m, NULL, &err) != 0) {
            fprintf(stderr, "outbox-load: %s\n", err.msg);
            return 69;
        }
    }
    printf("queued %lld messages in %.2f s\n", (long long)count,
           (double)(core_mono_ms() - t0) / 1000.0);
    json_decref(msg);
    cry_identity_free(ident);
    core_redis_free(r);
    cry_keys_free(keys);
    return 0;
}
