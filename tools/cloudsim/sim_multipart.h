/*
 * tools/cloudsim/sim_multipart.h - a small multipart/form-data parser for
 * media uploads (POST /{version}/{phone_number_id}/media). It reads the
 * boundary from the Content-Type header and splits the body into parts
 * with their name, filename and content type. Parts point into the body:
 * nothing is copied or allocated. Malformed input fails with a reason that
 * never quotes the input. Fuzzed by tests/fuzz/fuzz_sim_multipart.c.
 */
#ifndef JANSEVA_SIM_MULTIPART_H
#define JANSEVA_SIM_MULTIPART_H

#include <stddef.h>

#define SIM_MULTIPART_MAX_PARTS 16
#define SIM_MULTIPART_FIELD_LEN 128

struct sim_part {
    char name[SIM_MULTIPART_FIELD_LEN];         /* form field name */
    char filename[SIM_MULTIPART_FIELD_LEN];     /* "" if none */
    char content_type[SIM_MULTIPART_FIELD_LEN]; /* "" if none */
    const char *data;                           /* into the body */
    size_t len;
};

/*
 * Split `body` (`len` bytes) sent with `content_type`. Returns the number of
 * parts (up to `max`), or -1 with `why` set to a static reason.
 */
int sim_multipart_parse(const char *content_type, const char *body, size_t len,
                        struct sim_part *parts, size_t max, const char **why);

#endif
