/*
 * groups/media.h - the Graph API media calls that tips and group posts
 * share: download a media item a citizen sent, upload one to send it on.
 *
 *   download: GET {graph_url}/{media id} (Bearer token) -> url, mime_type,
 *             file_size, sha256; then GET url (Bearer token) -> the bytes,
 *             capped, checked against the sha256 when Meta gives one.
 *   upload:   POST {graph_url}/{phone_number_id}/media, multipart form with
 *             messaging_product=whatsapp, type (the MIME type) and file ->
 *             {"id":"..."}.
 *
 * A struct grp_media_http is one libcurl easy handle and the bearer header:
 * one per thread. Logs name what the caller passes in `what` (a case item,
 * a post id), never a media id, a URL or the token. Callers wipe the bytes.
 */
#ifndef JANSEVA_GROUPS_MEDIA_H
#define JANSEVA_GROUPS_MEDIA_H

#include "core/buf.h"
#include "core/config.h"

#include <stddef.h>

#define GRP_MEDIA_MIME_MAX 128
#define GRP_MEDIA_ID_MAX 128

enum grp_media_result {
    GRP_MEDIA_OK = 0,
    GRP_MEDIA_TOO_LARGE, /* over the cap: not fetched (or refused by Meta) */
    GRP_MEDIA_TRANSIENT, /* network, 5xx, 429, an expired URL: try again later */
    GRP_MEDIA_PERMANENT, /* refused, no usable URL, bad media: give up */
};

/* One handle and the bearer header (cfg borrowed; token from
 * access_token, "sandbox" when unset). */
struct grp_media_http {
    const struct core_cfg *cfg;
    void *curl;
    char *auth;
};

/* Set up `h`; returns 0, or -1 when libcurl cannot make a handle. */
int grp_media_http_init(struct grp_media_http *h, const struct core_cfg *cfg);

/* Release (the header is wiped). Safe on a zeroed struct. */
void grp_media_http_cleanup(struct grp_media_http *h);

/*
 * Download media `media_id` into `data` (initialised by the caller; at most
 * `max` bytes, else GRP_MEDIA_TOO_LARGE); `mime` (may be NULL) receives
 * Meta's mime_type ("" when none).
 */
enum grp_media_result grp_media_download(struct grp_media_http *h, const char *what,
                                         const char *media_id, size_t max, struct core_buf *data,
                                         char *mime, size_t mime_n);

/*
 * Upload `len` bytes of type `mime` for business number `number`; the new
 * media id goes into id_out. Meta's 131053 (bad media: type, size) is
 * GRP_MEDIA_PERMANENT.
 */
enum grp_media_result grp_media_upload(struct grp_media_http *h, const char *what,
                                       const char *number, const char *mime,
                                       const unsigned char *data, size_t len,
                                       char id_out[GRP_MEDIA_ID_MAX]);

/* True for a media id Meta could have made (letters, digits, "._-"). */
int grp_media_id_ok(const char *id);

/* The largest file WhatsApp takes for a post of `type` ("image" 5 MB,
 * "video" and "audio" 16 MB, "document" 100 MB, "sticker" 500 KB); 0 for
 * other types. */
size_t grp_media_limit(const char *type);

#endif
