/*
 * core/csv.c - strict RFC 4180 reader (see csv.h).
 */
#include "core/csv.h"
#include "core/mem.h"

#include <string.h>
#include <utf8proc.h>

void core_csv_init(struct core_csv *c, const char *data, size_t len)
{
    memset(c, 0, sizeof *c);
    c->data = data;
    c->len = len;
    c->next_line = 1;
    if (len >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB &&
        (unsigned char)data[2] == 0xBF)
        c->pos = 3;
}

void core_csv_cleanup(struct core_csv *c)
{
    free(c->scratch);
    c->scratch = NULL;
    c->scratch_cap = 0;
}

int core_csv_text_check(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);

        if (n <= 0)
            return -1;
        if ((cp < 0x20 && cp != '\t') || cp == 0x7F)
            return -2;
        i += (size_t)n;
    }
    return 0;
}

/* Skip to the start of the next line after an error. */
static void skip_line(struct core_csv *c)
{
    while (c->pos < c->len && c->data[c->pos] != '\n')
        c->pos++;
    if (c->pos < c->len) {
        c->pos++;
        c->next_line++;
    }
}

static int fail(struct core_csv *c, long column, struct core_err *err, const char *what)
{
    c->bad_column = column;
    skip_line(c);
    return core_err_set(err, CORE_EX_DATAERR, "%s", what);
}

int core_csv_next(struct core_csv *c, struct core_err *err)
{
    size_t used = 0;
    size_t starts[CORE_CSV_MAX_FIELDS];

    c->n_fields = 0;
    c->bad_column = 0;
    /* skip blank lines */
    while (c->pos < c->len && (c->data[c->pos] == '\n' || c->data[c->pos] == '\r')) {
        if (c->data[c->pos] == '\n')
            c->next_line++;
        c->pos++;
    }
    if (c->pos >= c->len)
        return 0;
    c->line = c->next_line;
    if (c->scratch_cap < c->len + 1) {
        c->scratch_cap = c->len + 1;
        c->scratch = core_realloc(c->scratch, c->scratch_cap);
    }
    for (;;) {
        size_t start = used;
        long column = (long)c->n_fields + 1;

        if (c->n_fields >= CORE_CSV_MAX_FIELDS)
            return fail(c, column, err, "too many fields");
        if (c->pos < c->len && c->data[c->pos] == '"') {
            c->pos++;
            for (;;) {
                char ch;

                if (c->pos >= c->len)
                    return fail(c, column, err, "quoted field is not closed");
                ch = c->data[c->pos++];
                if (ch == '"') {
                    if (c->pos < c->len && c->data[c->pos] == '"') {
                        c->scratch[used++] = '"';
                        c->pos++;
                        continue;
                    }
                    break;
                }
                if (ch == '\n')
                    c->next_line++;
                c->scratch[used++] = ch;
            }
            if (c->pos < c->len && c->data[c->pos] != ',' && c->data[c->pos] != '\n' &&
                c->data[c->pos] != '\r')
                return fail(c, column, err, "text after a closing quote");
        } else {
            while (c->pos < c->len && c->data[c->pos] != ',' && c->data[c->pos] != '\n' &&
                   c->data[c->pos] != '\r') {
                if (c->data[c->pos] == '"')
                    return fail(c, column, err, "quote inside an unquoted field");
                c->scratch[used++] = c->data[c->pos++];
            }
        }
        if (used - start > CORE_CSV_MAX_FIELD)
            return fail(c, column, err, "field is too long");
        switch (core_csv_text_check(c->scratch + start, used - start)) {
        case -1:
            return fail(c, column, err, "not valid UTF-8 text (wrong encoding?)");
        case -2:
            return fail(c, column, err, "control character (such as a line break) in a field");
        default:
            break;
        }
        starts[c->n_fields] = start;
        c->field_len[c->n_fields] = used - start;
        c->scratch[used++] = '\0';
        c->n_fields++;
        if (c->pos < c->len && c->data[c->pos] == ',') {
            c->pos++;
            continue;
        }
        if (c->pos < c->len && c->data[c->pos] == '\r')
            c->pos++;
        if (c->pos < c->len && c->data[c->pos] == '\n') {
            c->pos++;
            c->next_line++;
        } else if (c->pos < c->len) {
            return fail(c, column, err, "carriage return inside a line");
        }
        break;
    }
    for (size_t i = 0; i < c->n_fields; i++)
        c->field[i] = c->scratch + starts[i];
    return 1;
}
