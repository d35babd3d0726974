/*
 * moderation/label.c - names of the moderation classes and verdicts.
 */
#include "moderation/label.h"

#include <strings.h>

static const char *const label_names[MOD_NLABELS] = {
    "legit", "greeting", "political", "commercial", "rumour", "hostile",
};

/* strlen of each name, known at compile time */
#define NAME_LEN(s) (sizeof(s) - 1)
static const unsigned char label_lens[MOD_NLABELS] = {
    NAME_LEN("legit"),      NAME_LEN("greeting"), NAME_LEN("political"),
    NAME_LEN("commercial"), NAME_LEN("rumour"),   NAME_LEN("hostile"),
};
#undef NAME_LEN

const char *mod_label_name(enum mod_label l)
{
    return (unsigned)l < MOD_NLABELS ? label_names[l] : "?";
}

size_t mod_label_name_len(enum mod_label l)
{
    return (unsigned)l < MOD_NLABELS ? label_lens[l] : 1;
}

int mod_label_parse(const char *s, unsigned long len, enum mod_label *out)
{
    unsigned i;

    for (i = 0; i < MOD_NLABELS; i++) {
        const char *n = label_names[i];
        unsigned long k = 0;

        while (n[k] != '\0')
            k++;
        if (k == len && strncasecmp(s, n, len) == 0) {
            *out = (enum mod_label)i;
            return 0;
        }
    }
    if (len == 3 && strncasecmp(s, "ham", 3) == 0) {
        *out = MOD_LEGIT;
        return 0;
    }
    if (len == 4 && strncasecmp(s, "spam", 4) == 0) {
        *out = MOD_COMMERCIAL;
        return 0;
    }
    return -1;
}

const char *mod_verdict_name(enum mod_verdict v)
{
    switch (v) {
    case MOD_RELAY:
        return "relay";
    case MOD_HOLD:
        return "hold";
    case MOD_DROP:
        return "drop";
    }
    return "?";
}
