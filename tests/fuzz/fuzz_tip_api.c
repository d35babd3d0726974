/*
 * tests/fuzz/fuzz_tip_api.c - libFuzzer driver for the tips API request
 * parser. Input: a method line, a path line, a state line, a limit line,
 * then the body (lines end in '\n'). Any input gives an HTTP status or a
 * consistent request, never a crash or a leak.
 */
#include "groups/tipapi.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next line of the input as a NUL-terminated copy (NULL at the end). */
static char *line(const uint8_t **p, const uint8_t *e)
{
    const uint8_t *nl;
    char *s;

    if (*p >= e)
        return NULL;
    nl = memchr(*p, '\n', (size_t)(e - *p));
    if (nl == NULL)
        nl = e;
    s = malloc((size_t)(nl - *p) + 1);
    memcpy(s, *p, (size_t)(nl - *p));
    s[nl - *p] = '\0';
    *p = nl < e ? nl + 1 : e;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    const uint8_t *e = data + size;
    char *method = line(&p, e);
    char *path = line(&p, e);
    char *state = line(&p, e);
    char *limit = line(&p, e);
    char *body = malloc((size_t)(e - p) + 1);
    struct grp_tipapi_req req;
    char msg[128];
    int st;

    memcpy(body, p, (size_t)(e - p));
    body[e - p] = '\0';
    st = grp_tipapi_parse(method, path, state != NULL && state[0] ? state : NULL,
                          limit != NULL && limit[0] ? limit : NULL, body, (size_t)(e - p), &req,
                          msg, sizeof msg);
    if (st == 0) {
        if (req.op == GRP_TIPAPI_REPLY && (req.text == NULL || req.text[0] == '\0'))
            abort();
        if (req.op == GRP_TIPAPI_LIST && (req.limit < 1 || req.limit > GRP_TIPAPI_LIMIT_MAX))
            abort();
        if (req.op != GRP_TIPAPI_LIST && req.ref[0] == '\0')
            abort();
        if (req.op == GRP_TIPAPI_MEDIA && req.n < 1)
            abort();
    } else if (st != 400 && st != 404 && st != 405) {
        abort();
    } else if (msg[0] == '\0') {
        abort();
    }
    grp_tipapi_req_cleanup(&req);
    free(method);
    free(path);
    free(state);
    free(limit);
    free(body);
    return 0;
}
