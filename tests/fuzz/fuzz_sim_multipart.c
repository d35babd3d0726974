/*
 * tests/fuzz/fuzz_sim_multipart.c - libFuzzer driver for the Cloud API
 * simulator's multipart/form-data parser (media uploads): the first line is
 * the Content-Type header, the rest the body. Parts must lie inside the
 * body, in order, and a failure must come with a reason.
 */
#include "tools/cloudsim/sim_multipart.c"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    struct sim_part parts[SIM_MULTIPART_MAX_PARTS];
    char ct[256];
    size_t hl;
    const char *body;
    size_t len;
    const char *why = NULL;
    const char *prev_end;
    int n;
    int i;

    if (nl == NULL)
        return 0;
    hl = (size_t)(nl - data);
    if (hl >= sizeof ct)
        return 0;
    memcpy(ct, data, hl);
    ct[hl] = '\0';
    /* a private copy, so reads past the body are caught by ASan */
    len = size - hl - 1;
    body = malloc(len + 1);
    memcpy((char *)(uintptr_t)body, nl + 1, len);
    n = sim_multipart_parse(ct, body, len, parts, SIM_MULTIPART_MAX_PARTS, &why);
    if (n < 0 && why == NULL)
        abort();
    prev_end = body;
    for (i = 0; i < n; i++) {
        if (parts[i].data < prev_end || parts[i].data + parts[i].len > body + len)
            abort();
        if (strlen(parts[i].name) >= SIM_MULTIPART_FIELD_LEN ||
            strlen(parts[i].filename) >= SIM_MULTIPART_FIELD_LEN ||
            strlen(parts[i].content_type) >= SIM_MULTIPART_FIELD_LEN)
            abort();
        prev_end = parts[i].data + parts[i].len;
    }
    free((void *)(uintptr_t)body);
    return 0;
}
