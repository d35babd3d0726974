/*
 * tests/fuzz/fuzz_webhook.c - libFuzzer driver for the webhook parser
 * (gateway/webhook.c) and its JSON rendering: any byte string must parse or
 * fail cleanly, never crash or leak; every event must render.
 */
#include "gateway/webhook.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_webhook hook;
    struct core_err err;
    size_t i;

    if (gw_webhook_parse(&hook, (const char *)data, size, &err) == 0) {
        for (i = 0; i < hook.n_events; i++) {
            json_t *o = gw_event_to_json(&hook.events[i]);
            char *s = json_dumps(o, JSON_COMPACT);

            /* invariants: every event names its kind; problems are static text */
            if (json_object_get(o, "kind") == NULL)
                abort();
            if (hook.events[i].problem != NULL && strlen(hook.events[i].problem) > 100)
                abort();
            free(s);
            json_decref(o);
        }
    } else if (err.code != 65) {
        abort();
    }
    gw_webhook_free(&hook);
    return 0;
}
