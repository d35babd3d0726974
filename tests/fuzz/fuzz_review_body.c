/*
 * tests/fuzz/fuzz_review_body.c - libFuzzer driver for the body of POST
 * /api/review/{id}/approve|reject (groups/review.c): any input is accepted
 * or refused with a fixed message; an accepted body gives a known label (or
 * none) and a reason within the limit, and a refusal never echoes the body.
 */
#include "groups/review.h"
#include "moderation/label.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct grp_review_body b;
    char why[200];
    enum mod_label l;

    why[0] = '\0';
    if (grp_review_parse_body((const char *)data, size, &b, why, sizeof why) == 0) {
        if (b.label != NULL && mod_label_parse(b.label, strlen(b.label), &l) != 0)
            abort();
        if (b.reason != NULL && strlen(b.reason) > 4 * GRP_REVIEW_REASON_MAX)
            abort();
    } else {
        if (why[0] == '\0' || strlen(why) >= sizeof why)
            abort();
        if (strstr(why, "98765") != NULL)
            abort();
    }
    grp_review_body_free(&b);
    return 0;
}
