/*
 * tools/cloudsim/sim_multipart.c - multipart/form-data splitting (see
 * sim_multipart.h). RFC 7578 as curl and browsers send it: parts separated
 * by CRLF "--boundary", headers up to an empty line, a final
 * "--boundary--". Preamble and epilogue are ignored.
 */
#include "tools/cloudsim/sim_multipart.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SIM_BOUNDARY_MAX 70

/* Copy a header parameter `key="value"` (or unquoted) of `hdr` into out. */
static void header_param(const char *hdr, size_t hlen, const char *key, char *out, size_t n)
{
    size_t klen = strlen(key);
    size_t i;

    out[0] = '\0';
    for (i = 0; i + klen + 1 <= hlen; i++) {
        size_t k = 0;

        if (strncasecmp(hdr + i, key, klen) != 0 || hdr[i + klen] != '=')
            continue;
        if (i > 0 && hdr[i - 1] != ' ' && hdr[i - 1] != ';' && hdr[i - 1] != '\t')
            continue;
        i += klen + 1;
        if (i < hlen && hdr[i] == '"') {
            i++;
            while (i < hlen && hdr[i] != '"' && k + 1 < n)
                out[k++] = hdr[i++];
        } else {
            while (i < hlen && hdr[i] != ';' && hdr[i] != ' ' && k + 1 < n)
                out[k++] = hdr[i++];
        }
        out[k] = '\0';
        return;
    }
}

/* The boundary of a multipart/form-data content type; 0 or -1. */
static int boundary_of(const char *ct, char out[SIM_BOUNDARY_MAX + 1])
{
    const char *b;
    size_t k = 0;

    if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0)
        return -1;
    b = strcasestr(ct, "boundary=");
    if (b == NULL)
        return -1;
    b += 9;
    if (*b == '"') {
        b++;
        while (*b != '\0' && *b != '"' && k < SIM_BOUNDARY_MAX)
            out[k++] = *b++;
    } else {
        while (*b != '\0' && *b != ';' && *b != ' ' && k < SIM_BOUNDARY_MAX)
            out[k++] = *b++;
    }
    out[k] = '\0';
    return k > 0 ? 0 : -1;
}

/* Parse one part's header block [h, h+hlen) into `p`. */
static void part_headers(const char *h, size_t hlen, struct sim_part *p)
{
    size_t i = 0;

    while (i < hlen) {
        const char *line = h + i;
        const char *eol = memchr(line, '\n', hlen - i);
        size_t llen = eol != NULL ? (size_t)(eol - line) : hlen - i;
        size_t vlen;

        i += llen + 1;
        if (llen > 0 && line[llen - 1] == '\r')
            llen--;
        if (llen > 20 && strncasecmp(line, "Content-Disposition:", 20) == 0) {
            header_param(line + 20, llen - 20, "name", p->name, sizeof p->name);
            header_param(line + 20, llen - 20, "filename", p->filename, sizeof p->filename);
        } else if (llen > 13 && strncasecmp(line, "Content-Type:", 13) == 0) {
            const char *v = line + 13;

            vlen = llen - 13;
            while (vlen > 0 && (*v == ' ' || *v == '\t')) {
                v++;
                vlen--;
            }
            snprintf(p->content_type, sizeof p->content_type, "%.*s",
                     (int)(vlen < sizeof p->content_type ? vlen : sizeof p->content_type - 1), v);
        }
    }
}

int sim_multipart_parse(const char *content_type, const char *body, size_t len,
                        struct sim_part *parts, size_t max, const char **why)
{
    char boundary[SIM_BOUNDARY_MAX + 1];
    char delim[SIM_BOUNDARY_MAX + 5]; /* "\r\n--" + boundary */
    size_t dlen;
    const char *p;
    const char *end = body + len;
    size_t n = 0;

    if (boundary_of(content_type, boundary) != 0) {
        *why = "Content-Type must be multipart/form-data with a boundary";
        return -1;
    }
    dlen = (size_t)snprintf(delim, sizeof delim, "\r\n--%s", boundary);
    /* the first delimiter may start the body (no preceding CRLF) */
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
        p = body + dlen - 2;
    } else {
        p = memmem(body, len, delim, dlen);
        if (p == NULL) {
            *why = "the body has no multipart boundary";
            return -1;
        }
        p += dlen;
    }
    for (;;) {
        const char *hend;
        const char *next;
        struct sim_part part;

        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return (int)n; /* closing delimiter */
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
            *why = "a multipart boundary is not followed by CRLF";
            return -1;
        }
        p += 2;
        hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (hend == NULL) {
            *why = "a multipart part has no end of headers";
            return -1;
        }
        memset(&part, 0, sizeof part);
        part_headers(p, (size_t)(hend - p), &part);
        p = hend + 4;
        next = memmem(p, (size_t)(end - p), delim, dlen);
        if (next == NULL) {
            *why = "the multipart body is not terminated";
            return -1;
        }
        part.data = p;
        part.len = (size_t)(next - p);
        if (n < max)
            parts[n++] = part;
        else {
            *why = "too many multipart parts";
            return -1;
        }
        p = next + dlen;
    }
}
