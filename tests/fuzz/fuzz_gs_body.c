/*
 * tests/fuzz/fuzz_gs_body.c - libFuzzer driver for the body of PUT
 * /api/units/{CODE}/settings (groups/gsettings.c): any input is accepted or
 * refused with one line; an accepted body gives 1 to GRP_GS_MAX changes,
 * each a known setting with a valid value, and a refusal repeats nothing
 * of the body.
 */
#include "groups/digest.h"
#include "groups/gsettings.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct grp_gs_change ch[GRP_GS_MAX];
    char why[160];
    enum grp_relay_mode m;
    int n;

    why[0] = '\0';
    n = grp_gs_parse_body((const char *)data, size, ch, why, sizeof why);
    if (n == 0 || n > GRP_GS_MAX)
        abort();
    if (n > 0) {
        for (int i = 0; i < n; i++) {
            if (strcmp(ch[i].name, "relay") != 0 || grp_relay_mode_parse(ch[i].value, &m) != 0)
                abort();
        }
    } else if (why[0] == '\0' || strlen(why) >= sizeof why || strstr(why, "98765") != NULL) {
        abort();
    }
    return 0;
}
