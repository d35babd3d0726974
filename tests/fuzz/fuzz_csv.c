/*
 * tests/fuzz/fuzz_csv.c - libFuzzer driver for the CSV reader: any input
 * must read to the end without crashing; fields are NUL-terminated, their
 * lengths true, and the text of every accepted field passes the UTF-8 check.
 */
#include "core/csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct core_csv c;
    struct core_err err;
    int rc;
    size_t records = 0;

    core_csv_init(&c, (const char *)data, size);
    while ((rc = core_csv_next(&c, &err)) != 0) {
        if (++records > size + 1)
            abort(); /* must always make progress */
        if (rc < 0)
            continue;
        for (size_t i = 0; i < c.n_fields; i++) {
            if (strlen(c.field[i]) != c.field_len[i] ||
                core_csv_text_check(c.field[i], c.field_len[i]) != 0)
                abort();
        }
    }
    core_csv_cleanup(&c);
    return 0;
}
