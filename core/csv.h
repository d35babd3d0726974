/*
 * core/csv.h - a strict RFC 4180 CSV reader for operator-supplied files
 * (hierarchy and officer imports).
 *
 * Fields are separated by commas; a field may be quoted with '"' (a doubled
 * quote inside stands for one quote; quoted fields may contain commas and
 * line breaks). Lines end with LF or CRLF. A UTF-8 byte-order mark at the
 * start is skipped. Every field must be valid UTF-8 without control
 * characters (tab excepted). Problems are reported with the line and the
 * column (1-based field number) where they occur.
 *
 * The reader works on a memory buffer it borrows; fields returned point into
 * a scratch area owned by the reader and stay valid until the next call to
 * core_csv_next().
 */
#ifndef JANSEVA_CORE_CSV_H
#define JANSEVA_CORE_CSV_H

#include "core/err.h"

#include <stddef.h>

#define CORE_CSV_MAX_FIELDS 64
#define CORE_CSV_MAX_FIELD 4096

struct core_csv {
    const char *data; /* borrowed input */
    size_t len;
    size_t pos;
    long line;           /* line number where the current record starts */
    long next_line;      /* line number after it */
    char *scratch;       /* unescaped field bytes (owned) */
    size_t scratch_cap;
    const char *field[CORE_CSV_MAX_FIELDS];
    size_t field_len[CORE_CSV_MAX_FIELDS];
    size_t n_fields;
    long bad_column; /* column of the last problem (0 = none) */
};

/* Start reading `len` bytes of `data` (borrowed). Cannot fail. */
void core_csv_init(struct core_csv *c, const char *data, size_t len);

/* Release the scratch area. */
void core_csv_cleanup(struct core_csv *c);

/*
 * Read the next record into c->field / c->n_fields. Returns 1 when a record
 * was read, 0 at the end of input, -1 on a malformed record (err says what;
 * c->line and c->bad_column say where; reading can continue with the next
 * line). Blank lines are skipped.
 */
int core_csv_next(struct core_csv *c, struct core_err *err);

/* Check text: 0 = valid UTF-8 without control characters (tab allowed),
 * -1 = not valid UTF-8, -2 = contains a control character. */
int core_csv_text_check(const char *s, size_t len);

#endif
