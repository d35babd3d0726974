/*
 * moderation/seed.c - lookup of the embedded files (see seed.h).
 */
#include "moderation/seed.h"

#include <string.h>

const struct mod_seed_file *mod_seed_find(const char *name)
{
    size_t i;

    for (i = 0; i < mod_seed_nfiles; i++) {
        if (strcmp(mod_seed_files[i].name, name) == 0)
            return &mod_seed_files[i];
    }
    return NULL;
}
