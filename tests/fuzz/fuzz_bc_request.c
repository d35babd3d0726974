/*
 * tests/fuzz/fuzz_bc_request.c - libFuzzer driver for the body of POST
 * /api/broadcasts (groups/api.c): any input is accepted or refused with a
 * message; an accepted body gives strings that are valid for the request
 * (params within bounds, pointers into the parsed document), and the error
 * message never contains the input's digits run (no echo of the body).
 */
#include "groups/api.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct grp_api_create c;
    char why[200];

    why[0] = '\0';
    if (grp_api_parse_create((const char *)data, size, &c, why, sizeof why) == 0) {
        if (c.req.n_params > GRP_BC_MAX_PARAMS || (c.req.n_params > 0 && c.req.params == NULL))
            abort();
        for (size_t i = 0; i < c.req.n_params; i++) {
            if (c.req.params[i] == NULL)
                abort();
            (void)strlen(c.req.params[i]);
        }
        if (c.req.scope != NULL)
            (void)strlen(c.req.scope);
        if (c.req.text != NULL)
            (void)strlen(c.req.text);
    } else {
        if (why[0] == '\0' || strlen(why) >= sizeof why)
            abort();
        /* fixed messages: never a copy of the body */
        if (strstr(why, "98765") != NULL)
            abort();
    }
    grp_api_create_free(&c);
    return 0;
}
