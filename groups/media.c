/*
 * groups/media.c - Graph API media download and upload (see media.h).
 */
#include "groups/media.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INFO_MAX 65536

int grp_media_http_init(struct grp_media_http *h, const struct core_cfg *cfg)
{
    const char *token = core_cfg_is_set(cfg->access_token) ? cfg->access_token : "sandbox";
    size_t al = strlen(token) + 32;

    memset(h, 0, sizeof *h);
    h->cfg = cfg;
    h->curl = curl_easy_init();
    if (h->curl == NULL)
        return -1;
    h->auth = core_malloc(al);
    snprintf(h->auth, al, "Authorization: Bearer %s", token);
    return 0;
}

void grp_media_http_cleanup(struct grp_media_http *h)
{
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    if (h->auth != NULL) {
        sodium_memzero(h->auth, strlen(h->auth));
        free(h->auth);
    }
    memset(h, 0, sizeof *h);
}

int grp_media_id_ok(const char *id)
{
    return id != NULL && id[0] != '\0' && strlen(id) < GRP_MEDIA_ID_MAX &&
           strspn(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-") ==
               strlen(id);
}

size_t grp_media_limit(const char *type)
{
    if (type == NULL)
        return 0;
    if (strcmp(type, "image") == 0)
        return 5u << 20;
    if (strcmp(type, "video") == 0 || strcmp(type, "audio") == 0)
        return 16u << 20;
    if (strcmp(type, "document") == 0)
        return 100u << 20;
    if (strcmp(type, "sticker") == 0)
        return 500u << 10;
    return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct core_buf *b = ud;

    if (core_buf_append(b, p, size * n) != 0)
        return 0; /* over the cap: libcurl stops with CURLE_WRITE_ERROR */
    return size * n;
}

/* Common options of a request to `url` answering into `body`. */
static struct curl_slist *setup(struct grp_media_http *h, const char *url, struct core_buf *body)
{
    struct curl_slist *hd = curl_slist_append(NULL, h->auth);
    CURL *c = h->curl;

    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->cfg->graph_timeout_ms * 4);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)h->cfg->graph_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    /* the bearer token is not sent to another host after a redirect */
    curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
    if (body->max > 0)
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)body->max);
    return hd;
}

/* GET `url` into `body` (capped). *status gets the HTTP status (0: none). */
static CURLcode get(struct grp_media_http *h, const char *url, struct core_buf *body,
                    long *status)
{
    struct curl_slist *hd = setup(h, url, body);
    CURLcode rc;

    *status = 0;
    rc = curl_easy_perform(h->curl);
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hd);
    return rc;
}

static int transient_status(long st)
{
    return st == 0 || st == 408 || st == 429 || st >= 500;
}

static int is_hex64(const char *s)
{
    if (s == NULL || strlen(s) != 64)
        return 0;
    for (size_t i = 0; i < 64; i++) {
        char c = s[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

enum grp_media_result grp_media_download(struct grp_media_http *h, const char *what,
                                         const char *media_id, size_t max, struct core_buf *data,
                                         char *mime, size_t mime_n)
{
    struct core_buf info;
    char url[2048];
    char sha[65] = "";
    long st = 0;
    json_t *j;
    const char *u;
    json_int_t size;
    enum grp_media_result out = GRP_MEDIA_OK;
    CURLcode rc;

    if (mime != NULL && mime_n > 0)
        mime[0] = '\0';
    if (!grp_media_id_ok(media_id))
        return GRP_MEDIA_PERMANENT;
    snprintf(url, sizeof url, "%s/%s", h->cfg->graph_url, media_id);
    core_buf_init(&info, INFO_MAX);
    rc = get(h, url, &info, &st);
    if (rc != CURLE_OK || st != 200) {
        out = rc != CURLE_OK || transient_status(st) ? GRP_MEDIA_TRANSIENT : GRP_MEDIA_PERMANENT;
        core_log_warn("media", NULL, "%s: media info: %s (HTTP %ld)", what,
                      rc != CURLE_OK ? curl_easy_strerror(rc) : "refused", st);
        core_buf_cleanup(&info);
        return out;
    }
    j = json_loadb(info.data, info.len, 0, NULL);
    core_buf_cleanup(&info);
    u = json_string_value(json_object_get(j, "url"));
    size = json_integer_value(json_object_get(j, "file_size"));
    if (is_hex64(json_string_value(json_object_get(j, "sha256"))))
        snprintf(sha, sizeof sha, "%s", json_string_value(json_object_get(j, "sha256")));
    if (mime != NULL && mime_n > 0 && json_is_string(json_object_get(j, "mime_type")))
        snprintf(mime, mime_n, "%s", json_string_value(json_object_get(j, "mime_type")));
    if (u == NULL || strlen(u) >= sizeof url ||
        (strncmp(u, "https://", 8) != 0 &&
         (strncmp(u, "http://", 7) != 0 || strcmp(h->cfg->mode, "live") == 0))) {
        json_decref(j);
        core_log_warn("media", NULL, "%s: media info without a usable URL", what);
        return GRP_MEDIA_PERMANENT;
    }
    if (size > (json_int_t)max) {
        json_decref(j);
        return GRP_MEDIA_TOO_LARGE;
    }
    snprintf(url, sizeof url, "%s", u);
    json_decref(j);
    data->max = max;
    rc = get(h, url, data, &st);
    if (rc == CURLE_WRITE_ERROR || rc == CURLE_FILESIZE_EXCEEDED) {
        out = GRP_MEDIA_TOO_LARGE;
    } else if (rc != CURLE_OK || st != 200) {
        /* an expired URL (404) is fetched again from the id */
        out = rc != CURLE_OK || transient_status(st) || st == 404 ? GRP_MEDIA_TRANSIENT
                                                                  : GRP_MEDIA_PERMANENT;
        core_log_warn("media", NULL, "%s: download: %s (HTTP %ld)", what,
                      rc != CURLE_OK ? curl_easy_strerror(rc) : "refused", st);
    } else if (sha[0] != '\0') {
        unsigned char hh[crypto_hash_sha256_BYTES];
        char hex[65];

        crypto_hash_sha256(hh, (const unsigned char *)data->data, data->len);
        core_hex(hex, hh, sizeof hh);
        if (strcasecmp(hex, sha) != 0) {
            core_log_warn("media", NULL, "%s: download does not match its sha256", what);
            out = GRP_MEDIA_TRANSIENT;
        }
    }
    return out;
}

enum grp_media_result grp_media_upload(struct grp_media_http *h, const char *what,
                                       const char *number, const char *mime,
                                       const unsigned char *data, size_t len,
                                       char id_out[GRP_MEDIA_ID_MAX])
{
    struct core_buf body;
    struct curl_slist *hd;
    curl_mime *form;
    curl_mimepart *part;
    char url[1024];
    long st = 0;
    json_t *j;
    const char *id;
    enum grp_media_result out = GRP_MEDIA_OK;
    CURLcode rc;

    id_out[0] = '\0';
    snprintf(url, sizeof url, "%s/%s/media", h->cfg->graph_url, number);
    core_buf_init(&body, INFO_MAX);
    hd = setup(h, url, &body);
    form = curl_mime_init(h->curl);
    part = curl_mime_addpart(form);
    curl_mime_name(part, "messaging_product");
    curl_mime_data(part, "whatsapp", CURL_ZERO_TERMINATED);
    part = curl_mime_addpart(form);
    curl_mime_name(part, "type");
    curl_mime_data(part, mime, CURL_ZERO_TERMINATED);
    part = curl_mime_addpart(form);
    curl_mime_name(part, "file");
    curl_mime_filename(part, "file");
    curl_mime_type(part, mime);
    curl_mime_data(part, (const char *)data, len);
    curl_easy_setopt(h->curl, CURLOPT_MIMEPOST, form);
    rc = curl_easy_perform(h->curl);
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &st);
    curl_mime_free(form); /* frees its copy of the bytes; wiping it is libcurl's business */
    curl_slist_free_all(hd);
    j = json_loadb(body.data != NULL ? body.data : "", body.len, 0, NULL);
    core_buf_cleanup(&body);
    id = json_string_value(json_object_get(j, "id"));
    if (rc == CURLE_OK && st == 200 && grp_media_id_ok(id)) {
        snprintf(id_out, GRP_MEDIA_ID_MAX, "%s", id);
    } else {
        json_int_t code = json_integer_value(json_object_get(json_object_get(j, "error"), "code"));

        out = rc != CURLE_OK || transient_status(st) ? GRP_MEDIA_TRANSIENT : GRP_MEDIA_PERMANENT;
        core_log_warn("media", NULL, "%s: upload: %s (HTTP %ld, code %lld)", what,
                      rc != CURLE_OK ? curl_easy_strerror(rc) : "refused", st, (long long)code);
    }
    json_decref(j);
    return out;
}
