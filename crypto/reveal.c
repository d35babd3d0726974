/*
 * crypto/reveal.c - the reveal escrow key: creation, Shamir shares through
 * libgfshare, share files, recombination with the public-key check, and
 * sealing identities to the public key (see reveal.h).
 */
#include "crypto/reveal.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgfshare.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

_Static_assert(crypto_box_PUBLICKEYBYTES == CRY_REVEAL_PUBLICKEYBYTES, "pk");
_Static_assert(crypto_box_SECRETKEYBYTES == CRY_REVEAL_SECRETKEYBYTES, "sk");
_Static_assert(crypto_box_SEALBYTES == CRY_REVEAL_SEALBYTES, "seal");
_Static_assert(crypto_scalarmult_BYTES == CRY_REVEAL_PUBLICKEYBYTES, "scalarmult");

#define KEY_ID_DOMAIN "janseva reveal key id v1"
#define CHECK_DOMAIN "janseva-reveal-share-check-1"
#define META_MAX 65536
#define SHARE_HEX (2 * CRY_REVEAL_SHAREBYTES)
#define CHECK_BYTES 8
#define MAX_SECRET 1024

/* ======================= the random hook ======================= */

/* libgfshare's hook type differs from randombytes_buf's: never assign that
 * directly (an incompatible pointer; calling through it is undefined). */
static void cry_gfshare_rand(unsigned char *buf, unsigned int len)
{
    randombytes_buf(buf, (size_t)len);
}

void cry_reveal_init(void)
{
    gfshare_fill_rand = cry_gfshare_rand;
}

int cry_reveal_ready(void)
{
    return gfshare_fill_rand == cry_gfshare_rand;
}

static int need_ready(struct core_err *err)
{
    if (!cry_reveal_ready())
        return core_err_set(err, CORE_EX_SOFTWARE,
                            "reveal: libgfshare's random source is not set (cry_reveal_init)");
    return 0;
}

/* ======================= Shamir ======================= */

static int numbers_ok(const unsigned char *numbers, unsigned n)
{
    unsigned char seen[256];

    memset(seen, 0, sizeof seen);
    for (unsigned i = 0; i < n; i++) {
        if (numbers[i] == 0 || seen[numbers[i]])
            return 0;
        seen[numbers[i]] = 1;
    }
    return 1;
}

void cry_reveal_pick_numbers(unsigned n, unsigned char *out)
{
    unsigned got = 0;

    while (got < n && got < 255) {
        unsigned char c = (unsigned char)(1 + randombytes_uniform(255));
        unsigned i;

        for (i = 0; i < got && out[i] != c; i++)
            ;
        if (i == got)
            out[got++] = c;
    }
}

int cry_reveal_split(const unsigned char *secret, size_t len, unsigned k, unsigned n,
                     const unsigned char *numbers, unsigned char *shares, struct core_err *err)
{
    unsigned char nrs[255];
    unsigned char *sec;
    gfshare_ctx *ctx;

    if (need_ready(err) != 0)
        return -1;
    if (len == 0 || len > MAX_SECRET || k < 2 || k > n || n > 255)
        return core_err_set(err, CORE_EX_USAGE,
                            "reveal: a split needs 2 <= threshold <= shares <= 255");
    if (!numbers_ok(numbers, n))
        return core_err_set(err, CORE_EX_USAGE,
                            "reveal: share numbers must be distinct and non-zero");
    memcpy(nrs, numbers, n);
    sec = sodium_malloc(len);
    if (sec == NULL)
        abort();
    memcpy(sec, secret, len);
    ctx = gfshare_ctx_init_enc(nrs, n, (unsigned char)k, (unsigned int)len);
    if (ctx == NULL) {
        sodium_free(sec);
        return core_err_set(err, CORE_EX_SOFTWARE, "reveal: libgfshare refused the split");
    }
    gfshare_ctx_enc_setsecret(ctx, sec);
    for (unsigned i = 0; i < n; i++)
        gfshare_ctx_enc_getshare(ctx, (unsigned char)i, shares + (size_t)i * len);
    gfshare_ctx_free(ctx); /* scrubs its buffers through the hook */
    sodium_free(sec);
    return 0;
}

int cry_reveal_recombine(const unsigned char *numbers, const unsigned char *const *shares,
                         unsigned count, size_t len, unsigned char *secret, struct core_err *err)
{
    unsigned char nrs[255];
    unsigned char *scratch;
    gfshare_ctx *ctx;

    if (need_ready(err) != 0)
        return -1;
    if (len == 0 || len > MAX_SECRET || count < 1 || count > 255)
        return core_err_set(err, CORE_EX_USAGE, "reveal: bad recombination arguments");
    if (!numbers_ok(numbers, count))
        return core_err_set(err, CORE_EX_DATAERR,
                            "reveal: share numbers must be distinct and non-zero");
    memcpy(nrs, numbers, count);
    ctx = gfshare_ctx_init_dec(nrs, count, (unsigned int)len);
    if (ctx == NULL)
        return core_err_set(err, CORE_EX_SOFTWARE, "reveal: libgfshare refused the shares");
    scratch = sodium_malloc(len);
    if (scratch == NULL)
        abort();
    for (unsigned i = 0; i < count; i++) {
        memcpy(scratch, shares[i], len); /* giveshare takes a non-const pointer */
        gfshare_ctx_dec_giveshare(ctx, (unsigned char)i, scratch);
    }
    gfshare_ctx_dec_extract(ctx, secret);
    gfshare_ctx_free(ctx);
    sodium_free(scratch);
    return 0;
}

/* ======================= ids, dates, files ======================= */

void cry_reveal_key_id(const unsigned char pk[CRY_REVEAL_PUBLICKEYBYTES], char out[CRY_KEY_ID_LEN])
{
    crypto_generichash_state st;
    unsigned char h[8];

    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)KEY_ID_DOMAIN,
                              sizeof KEY_ID_DOMAIN - 1);
    crypto_generichash_update(&st, pk, CRY_REVEAL_PUBLICKEYBYTES);
    crypto_generichash_final(&st, h, sizeof h);
    core_hex(out, h, sizeof h);
}

int cry_reveal_id_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > CRY_REVEAL_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int is_hex_lower(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

static int officer_ok(const char *s)
{
    return s == NULL || s[0] == '\0' ||
           (strlen(s) == CRY_REVEAL_OFFICER_LEN - 1 && is_hex_lower(s, strlen(s)));
}

static void iso_now(char out[CRY_KEYS_DATE_LEN])
{
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, CRY_KEYS_DATE_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int write_new_file(const char *path, const void *data, size_t len, struct core_err *err)
{
    const unsigned char *p = data;
    size_t done = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

    if (fd < 0)
        return core_err_set(err, errno == EEXIST ? CORE_EX_CANTCREAT : CORE_EX_IOERR,
                            "reveal: cannot create %s: %s", path, strerror(errno));
    if (fchmod(fd, 0600) != 0)
        goto fail;
    while (done < len) {
        ssize_t w = write(fd, p + done, len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        done += (size_t)w;
    }
    if (fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    return 0;
fail: {
    int e = errno;

    if (fd >= 0)
        close(fd);
    unlink(path);
    return core_err_set(err, CORE_EX_IOERR, "reveal: cannot write %s: %s", path, strerror(e));
}
}

/* Read a whole small file into `buf` (cap bytes, NUL-terminated). */
static int read_small(const char *path, int nofollow, char *buf, size_t cap, size_t *len,
                      struct stat *st, struct core_err *err)
{
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));

    *len = 0;
    if (fd < 0)
        return core_err_set(err, CORE_EX_NOINPUT, "reveal: cannot read %s: %s", path,
                            strerror(errno));
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return core_err_set(err, CORE_EX_NOINPUT, "reveal: %s is not a regular file", path);
    }
    if (st->st_size < 0 || (size_t)st->st_size >= cap) {
        close(fd);
        return core_err_set(err, CORE_EX_DATAERR, "reveal: %s is too large", path);
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;

            close(fd);
            sodium_memzero(buf, cap);
            return core_err_set(err, CORE_EX_NOINPUT, "reveal: cannot read %s: %s", path,
                                strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n >= cap - 1)
            break;
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return 0;
}

/* ======================= reveal.json ======================= */

static char *meta_json(const struct cry_reveal_meta *m)
{
    char pk[2 * CRY_REVEAL_PUBLICKEYBYTES + 1];
    json_t *cs = json_array();
    json_t *o;
    char *s;

    core_hex(pk, m->pk, sizeof m->pk);
    for (unsigned i = 0; i < m->n; i++) {
        json_t *c = json_pack("{s:s,s:i}", "id", m->custodians[i].id, "share",
                              (int)m->custodians[i].number);

        if (m->custodians[i].officer[0] != '\0')
            json_object_set_new(c, "officer", json_string(m->custodians[i].officer));
        json_array_append_new(cs, c);
    }
    o = json_pack("{s:i,s:s,s:s,s:s,s:s,s:i,s:o,s:s}", "format", m->format, "id", m->id,
                  "created", m->created, "algorithm",
                  "X25519 crypto_box_seal; private key split by Shamir over GF(256) "
                  "(libgfshare)",
                  "public_key", pk, "threshold", (int)m->threshold, "custodians", cs, "note",
                  "public facts only: the private key exists only as the custodians' shares");
    s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

int cry_reveal_meta_parse(const char *json, size_t len, struct cry_reveal_meta *m,
                          struct core_err *err)
{
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *cs;
    const char *s;
    char id[CRY_KEY_ID_LEN];
    size_t bin = 0;
    json_int_t v;
    int rc = -1;

    memset(m, 0, sizeof *m);
    if (!json_is_object(o)) {
        core_err_set(err, CORE_EX_CONFIG, "reveal: reveal.json is not a JSON object");
        goto out;
    }
    if (!json_is_integer(json_object_get(o, "format")) ||
        json_integer_value(json_object_get(o, "format")) != CRY_REVEAL_META_FORMAT) {
        core_err_set(err, CORE_EX_CONFIG, "reveal: reveal.json has an unknown format");
        goto out;
    }
    m->format = CRY_REVEAL_META_FORMAT;
    s = json_string_value(json_object_get(o, "public_key"));
    if (s == NULL || strlen(s) != 2 * CRY_REVEAL_PUBLICKEYBYTES ||
        sodium_hex2bin(m->pk, sizeof m->pk, s, strlen(s), NULL, &bin, NULL) != 0 ||
        bin != sizeof m->pk) {
        core_err_set(err, CORE_EX_CONFIG, "reveal: reveal.json: bad public_key");
        goto out;
    }
    cry_reveal_key_id(m->pk, id);
    s = json_string_value(json_object_get(o, "id"));
    if (s == NULL || strcmp(s, id) != 0) {
        core_err_set(err, CORE_EX_CONFIG,
                     "reveal: reveal.json: the key id does not match the public key");
        goto out;
    }
    memcpy(m->id, id, sizeof id);
    s = json_string_value(json_object_get(o, "created"));
    if (s != NULL && strlen(s) < sizeof m->created)
        memcpy(m->created, s, strlen(s) + 1);
    cs = json_object_get(o, "custodians");
    v = json_integer_value(json_object_get(o, "threshold"));
    if (!json_is_array(cs) || json_array_size(cs) < 2 ||
        json_array_size(cs) > CRY_REVEAL_MAX_CUSTODIANS ||
        !json_is_integer(json_object_get(o, "threshold")) || v < 2 ||
        (size_t)v > json_array_size(cs)) {
        core_err_set(err, CORE_EX_CONFIG,
                     "reveal: reveal.json: needs 2 <= threshold <= custodians <= %d",
                     CRY_REVEAL_MAX_CUSTODIANS);
        goto out;
    }
    m->threshold = (unsigned)v;
    m->n = (unsigned)json_array_size(cs);
    for (unsigned i = 0; i < m->n; i++) {
        json_t *c = json_array_get(cs, i);
        const char *cid = json_string_value(json_object_get(c, "id"));
        json_t *nr = json_object_get(c, "share");
        json_t *off = json_object_get(c, "officer");

        if (!cry_reveal_id_ok(cid) || !json_is_integer(nr) || json_integer_value(nr) < 1 ||
            json_integer_value(nr) > 255 || (off != NULL && !json_is_string(off)) ||
            !officer_ok(json_string_value(off))) {
            core_err_set(err, CORE_EX_CONFIG, "reveal: reveal.json: custodian %u is malformed",
                         i + 1);
            goto out;
        }
        snprintf(m->custodians[i].id, sizeof m->custodians[i].id, "%s", cid);
        m->custodians[i].number = (unsigned char)json_integer_value(nr);
        if (off != NULL)
            snprintf(m->custodians[i].officer, sizeof m->custodians[i].officer, "%s",
                     json_string_value(off));
        for (unsigned j = 0; j < i; j++) {
            if (strcmp(m->custodians[j].id, cid) == 0 ||
                m->custodians[j].number == m->custodians[i].number) {
                core_err_set(err, CORE_EX_CONFIG,
                             "reveal: reveal.json: custodian ids and share numbers must be "
                             "distinct");
                goto out;
            }
        }
    }
    rc = 0;
out:
    json_decref(o);
    if (rc != 0)
        memset(m, 0, sizeof *m);
    return rc;
}

int cry_reveal_meta_load(const char *keys_dir, int relaxed, struct cry_reveal_meta *m,
                         struct core_err *err)
{
    char path[CRY_REVEAL_PATH_MAX];
    char *buf;
    size_t len = 0;
    struct stat st;
    mode_t bad = relaxed ? (mode_t)S_IRWXO : (mode_t)(S_IRWXG | S_IRWXO);
    int rc;

    memset(m, 0, sizeof *m);
    if (keys_dir == NULL || keys_dir[0] == '\0')
        return core_err_set(err, CORE_EX_NOINPUT, "reveal: no key directory");
    if ((size_t)snprintf(path, sizeof path, "%s/%s", keys_dir, CRY_REVEAL_META_FILE) >=
        sizeof path)
        return core_err_set(err, CORE_EX_CONFIG, "reveal: key directory path is too long");
    if (lstat(path, &st) != 0 && errno == ENOENT)
        return core_err_set(err, CORE_EX_NOINPUT,
                            "reveal: no reveal key (%s); create it with 'janseva keys "
                            "init-reveal'",
                            path);
    buf = malloc(META_MAX);
    if (buf == NULL)
        abort();
    rc = read_small(path, 1, buf, META_MAX, &len, &st, err);
    if (rc == 0 && (st.st_mode & bad) != 0)
        rc = core_err_set(err, CORE_EX_CONFIG,
                          "reveal: %s is accessible by %s (mode %04o); run: chmod 600 %s", path,
                          relaxed ? "others" : "group or others", (unsigned)(st.st_mode & 07777),
                          path);
    if (rc == 0)
        rc = cry_reveal_meta_parse(buf, len, m, err);
    else if (err != NULL && err->code != CORE_EX_CONFIG)
        err->code = CORE_EX_CONFIG;
    free(buf);
    return rc;
}

const struct cry_reveal_custodian *cry_reveal_custodian_find(const struct cry_reveal_meta *m,
                                                             const char *id)
{
    for (unsigned i = 0; id != NULL && i < m->n; i++) {
        if (strcmp(m->custodians[i].id, id) == 0)
            return &m->custodians[i];
    }
    return NULL;
}

/* ======================= share files ======================= */

struct cry_reveal_share *cry_reveal_share_new(void)
{
    struct cry_reveal_share *s = sodium_malloc(sizeof *s);

    if (s == NULL)
        abort();
    memset(s, 0, sizeof *s);
    return s;
}

void cry_reveal_share_free(struct cry_reveal_share *s)
{
    if (s != NULL)
        sodium_free(s); /* wipes */
}

/* The check of a share: BLAKE2b-64 over its canonical fields. */
static void share_check(const struct cry_reveal_share *s, char out[2 * CHECK_BYTES + 1])
{
    crypto_generichash_state st;
    unsigned char h[CHECK_BYTES];
    char hex[SHARE_HEX + 1];
    char head[160];
    int n;

    core_hex(hex, s->data, sizeof s->data);
    n = snprintf(head, sizeof head, "%s|%s|%s|%u|%u|", CHECK_DOMAIN, s->key_id, s->custodian,
                 (unsigned)s->number, s->threshold);
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)head, (size_t)n);
    crypto_generichash_update(&st, (const unsigned char *)hex, SHARE_HEX);
    crypto_generichash_final(&st, h, sizeof h);
    core_hex(out, h, sizeof h);
    sodium_memzero(hex, sizeof hex);
    sodium_memzero(&st, sizeof st);
}

int cry_reveal_share_format(const struct cry_reveal_share *s, char *out, size_t n)
{
    char hex[SHARE_HEX + 1];
    char check[2 * CHECK_BYTES + 1];
    int w;

    core_hex(hex, s->data, sizeof s->data);
    share_check(s, check);
    w = snprintf(out, n,
                 "# janseva reveal share: custodian %s, share %u of reveal key %s.\n"
                 "# Any %u custodians' shares together rebuild the key that reveals a\n"
                 "# tipster's identity. Keep this file offline (an encrypted USB stick,\n"
                 "# or paper in a sealed envelope); bring it only to a reveal ceremony.\n"
                 "format: %s\n"
                 "key: %s\n"
                 "custodian: %s\n"
                 "number: %u\n"
                 "threshold: %u\n"
                 "data: %s\n"
                 "check: %s\n",
                 s->custodian, (unsigned)s->number, s->key_id, s->threshold,
                 CRY_REVEAL_SHARE_FORMAT, s->key_id, s->custodian, (unsigned)s->number,
                 s->threshold, hex, check);
    sodium_memzero(hex, sizeof hex);
    if (w < 0 || (size_t)w >= n) {
        sodium_memzero(out, n);
        return -1;
    }
    return w;
}

enum share_field { F_FORMAT, F_KEY, F_CUSTODIAN, F_NUMBER, F_THRESHOLD, F_DATA, F_CHECK, F_N };

static const char *const share_fields[F_N] = {"format",    "key",  "custodian", "number",
                                              "threshold", "data", "check"};

static int parse_small_uint(const char *v, size_t n, unsigned lo, unsigned hi, unsigned *out)
{
    int64_t x;

    if (n == 0 || n > 3 || core_parse_i64n(v, n, &x) != 0 || v[0] == '-' || x < lo || x > hi)
        return -1;
    *out = (unsigned)x;
    return 0;
}

int cry_reveal_share_parse(const char *text, size_t len, struct cry_reveal_share *s,
                           struct core_err *err)
{
    const char *val[F_N];
    size_t vlen[F_N];
    char check[2 * CHECK_BYTES + 1];
    size_t pos = 0;
    unsigned line = 0;
    unsigned u;
    size_t bin = 0;

    memset(s, 0, sizeof *s);
    memset(val, 0, sizeof val);
    memset(vlen, 0, sizeof vlen);
    if (len > CRY_REVEAL_SHARE_FILE_MAX)
        return core_err_set(err, CORE_EX_DATAERR, "share file: too large to be a share");
    while (pos < len) {
        size_t end = pos;
        size_t e;
        size_t k;
        size_t colon;
        int f;

        while (end < len && text[end] != '\n')
            end++;
        line++;
        e = end;
        if (e > pos && text[e - 1] == '\r')
            e--;
        for (k = pos; k < e; k++) {
            if ((unsigned char)text[k] < 0x20 && text[k] != '\t')
                goto bad_char;
        }
        while (pos < e && (text[pos] == ' ' || text[pos] == '\t'))
            pos++;
        if (pos == e || text[pos] == '#') {
            pos = end + 1;
            continue;
        }
        for (colon = pos; colon < e && text[colon] != ':'; colon++)
            ;
        if (colon == e)
            goto bad_line;
        k = colon;
        while (k > pos && (text[k - 1] == ' ' || text[k - 1] == '\t'))
            k--;
        for (f = 0; f < F_N; f++) {
            if (strlen(share_fields[f]) == k - pos &&
                memcmp(share_fields[f], text + pos, k - pos) == 0)
                break;
        }
        if (f == F_N) {
            memset(s, 0, sizeof *s);
            return core_err_set(err, CORE_EX_DATAERR, "share file: line %u: unknown field",
                                line);
        }
        if (val[f] != NULL) {
            memset(s, 0, sizeof *s);
            return core_err_set(err, CORE_EX_DATAERR, "share file: line %u: '%s' given twice",
                                line, share_fields[f]);
        }
        k = colon + 1;
        while (k < e && (text[k] == ' ' || text[k] == '\t'))
            k++;
        while (e > k && (text[e - 1] == ' ' || text[e - 1] == '\t'))
            e--;
        val[f] = text + k;
        vlen[f] = e - k;
        pos = end + 1;
    }
    for (int f = 0; f < F_N; f++) {
        if (val[f] == NULL)
            return core_err_set(err, CORE_EX_DATAERR, "share file: '%s' is missing",
                                share_fields[f]);
    }
    if (vlen[F_FORMAT] != strlen(CRY_REVEAL_SHARE_FORMAT) ||
        memcmp(val[F_FORMAT], CRY_REVEAL_SHARE_FORMAT, vlen[F_FORMAT]) != 0)
        return core_err_set(err, CORE_EX_DATAERR, "share file: unknown format (expected %s)",
                            CRY_REVEAL_SHARE_FORMAT);
    if (vlen[F_KEY] != CRY_KEY_ID_LEN - 1 || !is_hex_lower(val[F_KEY], vlen[F_KEY]))
        return core_err_set(err, CORE_EX_DATAERR, "share file: 'key' is not a key id");
    memcpy(s->key_id, val[F_KEY], vlen[F_KEY]);
    if (vlen[F_CUSTODIAN] == 0 || vlen[F_CUSTODIAN] > CRY_REVEAL_ID_MAX)
        goto bad_custodian;
    memcpy(s->custodian, val[F_CUSTODIAN], vlen[F_CUSTODIAN]);
    if (!cry_reveal_id_ok(s->custodian))
        goto bad_custodian;
    if (parse_small_uint(val[F_NUMBER], vlen[F_NUMBER], 1, 255, &u) != 0) {
        memset(s, 0, sizeof *s);
        return core_err_set(err, CORE_EX_DATAERR, "share file: 'number' must be 1-255");
    }
    s->number = (unsigned char)u;
    if (parse_small_uint(val[F_THRESHOLD], vlen[F_THRESHOLD], 2, 255, &s->threshold) != 0) {
        memset(s, 0, sizeof *s);
        return core_err_set(err, CORE_EX_DATAERR, "share file: 'threshold' must be 2-255");
    }
    if (vlen[F_DATA] != SHARE_HEX ||
        sodium_hex2bin(s->data, sizeof s->data, val[F_DATA], vlen[F_DATA], NULL, &bin, NULL) !=
            0 ||
        bin != sizeof s->data) {
        sodium_memzero(s, sizeof *s);
        return core_err_set(err, CORE_EX_DATAERR,
                            "share file: 'data' must be %d hex digits", SHARE_HEX);
    }
    share_check(s, check);
    if (vlen[F_CHECK] != 2 * CHECK_BYTES ||
        sodium_memcmp(check, val[F_CHECK], 2 * CHECK_BYTES) != 0) {
        sodium_memzero(s, sizeof *s);
        return core_err_set(err, CORE_EX_DATAERR,
                            "share file: the check does not match (a typing error or a "
                            "damaged file)");
    }
    return 0;
bad_custodian:
    memset(s, 0, sizeof *s);
    return core_err_set(err, CORE_EX_DATAERR, "share file: 'custodian' is not a custodian id");
bad_line:
    memset(s, 0, sizeof *s);
    return core_err_set(err, CORE_EX_DATAERR, "share file: line %u is not 'field: value'",
                        line);
bad_char:
    memset(s, 0, sizeof *s);
    return core_err_set(err, CORE_EX_DATAERR, "share file: line %u has a control character",
                        line);
}

int cry_reveal_share_read(const char *path, struct cry_reveal_share *s, struct core_err *err)
{
    char *buf = sodium_malloc(CRY_REVEAL_SHARE_FILE_MAX + 2);
    size_t len = 0;
    struct stat st;
    int rc;

    if (buf == NULL)
        abort();
    memset(s, 0, sizeof *s);
    rc = read_small(path, 0, buf, CRY_REVEAL_SHARE_FILE_MAX + 2, &len, &st, err);
    if (rc == 0)
        rc = cry_reveal_share_parse(buf, len, s, err);
    sodium_free(buf);
    return rc;
}

/* ======================= creating the key ======================= */

/* Secrets of creation, in one locked region. */
struct create_secret {
    unsigned char sk[CRY_REVEAL_SECRETKEYBYTES];
    unsigned char shares[CRY_REVEAL_MAX_CUSTODIANS * CRY_REVEAL_SHAREBYTES];
    struct cry_reveal_share share;
    char text[CRY_REVEAL_SHARE_FILE_MAX];
};

int cry_reveal_create(const char *keys_dir, const char *share_dir,
                      const struct cry_reveal_params *p, struct cry_reveal_meta *out,
                      char (*paths)[CRY_REVEAL_PATH_MAX], struct core_err *err)
{
    struct cry_reveal_meta m;
    struct create_secret *sec = NULL;
    char meta_path[CRY_REVEAL_PATH_MAX];
    char share_path[CRY_REVEAL_MAX_CUSTODIANS][CRY_REVEAL_PATH_MAX];
    unsigned char numbers[CRY_REVEAL_MAX_CUSTODIANS];
    unsigned written = 0;
    struct stat st;
    char *json = NULL;
    int rc = -1;

    if (need_ready(err) != 0)
        return -1;
    if (p->n < 2 || p->n > CRY_REVEAL_MAX_CUSTODIANS || p->threshold < 2 ||
        p->threshold > p->n)
        return core_err_set(err, CORE_EX_USAGE,
                            "reveal: needs 2 <= threshold <= custodians <= %d",
                            CRY_REVEAL_MAX_CUSTODIANS);
    memset(&m, 0, sizeof m);
    m.format = CRY_REVEAL_META_FORMAT;
    m.threshold = p->threshold;
    m.n = p->n;
    for (unsigned i = 0; i < p->n; i++) {
        struct cry_reveal_custodian *c = &m.custodians[i];

        if (p->ids != NULL) {
            if (!cry_reveal_id_ok(p->ids[i]))
                return core_err_set(err, CORE_EX_USAGE,
                                    "reveal: custodian ids are 1-%d of A-Z a-z 0-9 . _ -",
                                    CRY_REVEAL_ID_MAX);
            snprintf(c->id, sizeof c->id, "%s", p->ids[i]);
        } else {
            snprintf(c->id, sizeof c->id, "custodian-%u", i + 1);
        }
        if (p->officers != NULL && p->officers[i] != NULL) {
            if (!officer_ok(p->officers[i]))
                return core_err_set(err, CORE_EX_USAGE,
                                    "reveal: an officer is given by member id (32 hex digits)");
            snprintf(c->officer, sizeof c->officer, "%s", p->officers[i]);
        }
        for (unsigned j = 0; j < i; j++) {
            if (strcmp(m.custodians[j].id, c->id) == 0)
                return core_err_set(err, CORE_EX_USAGE, "reveal: custodian ids must differ");
        }
    }
    if ((size_t)snprintf(meta_path, sizeof meta_path, "%s/%s", keys_dir,
                         CRY_REVEAL_META_FILE) >= sizeof meta_path)
        return core_err_set(err, CORE_EX_USAGE, "reveal: key directory path is too long");
    if (lstat(meta_path, &st) == 0)
        return core_err_set(err, CORE_EX_CANTCREAT,
                            "reveal: %s exists: a reveal key was already created (refusing to "
                            "overwrite it)",
                            meta_path);
    if (stat(keys_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return core_err_set(err, CORE_EX_CONFIG,
                            "reveal: key directory %s is missing (janseva keys init)", keys_dir);
    if (stat(share_dir, &st) != 0) {
        if (mkdir(share_dir, 0700) != 0)
            return core_err_set(err, CORE_EX_CANTCREAT, "reveal: cannot create %s: %s",
                                share_dir, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        return core_err_set(err, CORE_EX_USAGE, "reveal: %s is not a directory", share_dir);
    }

    sec = sodium_malloc(sizeof *sec);
    if (sec == NULL)
        abort();
    crypto_box_keypair(m.pk, sec->sk);
    cry_reveal_key_id(m.pk, m.id);
    iso_now(m.created);
    cry_reveal_pick_numbers(m.n, numbers);
    for (unsigned i = 0; i < m.n; i++)
        m.custodians[i].number = numbers[i];
    if (cry_reveal_split(sec->sk, sizeof sec->sk, m.threshold, m.n, numbers, sec->shares, err) !=
        0)
        goto out;
    for (unsigned i = 0; i < m.n; i++) {
        int w;

        if ((size_t)snprintf(share_path[i], sizeof share_path[i], "%s/reveal-%s-%s.share",
                             share_dir, m.id, m.custodians[i].id) >= sizeof share_path[i]) {
            core_err_set(err, CORE_EX_USAGE, "reveal: share directory path is too long");
            goto out;
        }
        memset(&sec->share, 0, sizeof sec->share);
        memcpy(sec->share.key_id, m.id, sizeof m.id);
        snprintf(sec->share.custodian, sizeof sec->share.custodian, "%s", m.custodians[i].id);
        sec->share.number = numbers[i];
        sec->share.threshold = m.threshold;
        memcpy(sec->share.data, sec->shares + (size_t)i * CRY_REVEAL_SHAREBYTES,
               CRY_REVEAL_SHAREBYTES);
        w = cry_reveal_share_format(&sec->share, sec->text, sizeof sec->text);
        if (w < 0) {
            core_err_set(err, CORE_EX_SOFTWARE, "reveal: share text does not fit");
            goto out;
        }
        if (write_new_file(share_path[i], sec->text, (size_t)w, err) != 0)
            goto out;
        written++;
    }
    json = meta_json(&m);
    if (json == NULL) {
        core_err_set(err, CORE_EX_SOFTWARE, "reveal: cannot render reveal.json");
        goto out;
    }
    if (write_new_file(meta_path, json, strlen(json), err) != 0)
        goto out;
    if (out != NULL)
        *out = m;
    if (paths != NULL) {
        for (unsigned i = 0; i < m.n; i++)
            memcpy(paths[i], share_path[i], sizeof share_path[i]);
    }
    rc = 0;
out:
    if (rc != 0) {
        for (unsigned i = 0; i < written; i++)
            unlink(share_path[i]);
    }
    free(json);
    sodium_free(sec); /* wipes the private key, the shares and their text */
    return rc;
}

/* ======================= recombining ======================= */

int cry_reveal_combine(const struct cry_reveal_meta *m,
                       const struct cry_reveal_share *const *shares,
                       unsigned count, unsigned char sk[CRY_REVEAL_SECRETKEYBYTES],
                       struct core_err *err)
{
    unsigned char numbers[CRY_REVEAL_MAX_CUSTODIANS];
    const unsigned char *data[CRY_REVEAL_MAX_CUSTODIANS];
    unsigned char pk[CRY_REVEAL_PUBLICKEYBYTES];

    sodium_memzero(sk, CRY_REVEAL_SECRETKEYBYTES);
    if (count < m->threshold)
        return core_err_set(err, CORE_EX_DATAERR,
                            "reveal: %u share(s) given, the reveal key needs %u", count,
                            m->threshold);
    if (count > m->n)
        return core_err_set(err, CORE_EX_DATAERR, "reveal: more shares than custodians");
    for (unsigned i = 0; i < count; i++) {
        const struct cry_reveal_share *s = shares[i];
        const struct cry_reveal_custodian *c = cry_reveal_custodian_find(m, s->custodian);

        if (strcmp(s->key_id, m->id) != 0)
            return core_err_set(err, CORE_EX_DATAERR,
                                "reveal: a share belongs to another reveal key");
        if (c == NULL)
            return core_err_set(err, CORE_EX_DATAERR, "reveal: a share names an unknown "
                                                      "custodian");
        if (c->number != s->number)
            return core_err_set(err, CORE_EX_DATAERR,
                                "reveal: a share's number is not its custodian's");
        for (unsigned j = 0; j < i; j++) {
            if (strcmp(shares[j]->custodian, s->custodian) == 0 ||
                shares[j]->number == s->number)
                return core_err_set(err, CORE_EX_DATAERR,
                                    "reveal: the same custodian or share was given twice");
        }
        numbers[i] = s->number;
        data[i] = s->data;
    }
    if (cry_reveal_recombine(numbers, data, count, CRY_REVEAL_SECRETKEYBYTES, sk, err) != 0) {
        sodium_memzero(sk, CRY_REVEAL_SECRETKEYBYTES);
        return -1;
    }
    if (crypto_scalarmult_base(pk, sk) != 0 || sodium_memcmp(pk, m->pk, sizeof pk) != 0) {
        sodium_memzero(sk, CRY_REVEAL_SECRETKEYBYTES);
        sodium_memzero(pk, sizeof pk);
        return core_err_set(err, CORE_EX_DATAERR,
                            "reveal: the shares do not rebuild the reveal key (a share is wrong "
                            "or damaged); nothing was opened");
    }
    sodium_memzero(pk, sizeof pk);
    return 0;
}

/* ======================= sealing ======================= */

static size_t padded(size_t len)
{
    return (len / CRY_REVEAL_PADBLOCK + 1) * CRY_REVEAL_PADBLOCK;
}

size_t cry_reveal_sealed_size(size_t len)
{
    return padded(len) + CRY_REVEAL_SEALBYTES;
}

int cry_reveal_seal(const unsigned char pk[CRY_REVEAL_PUBLICKEYBYTES], const void *plain,
                    size_t len, unsigned char *out, size_t cap, size_t *out_len,
                    struct core_err *err)
{
    size_t plen = padded(len);
    size_t pl = 0;
    unsigned char *buf;
    int rc = 0;

    *out_len = 0;
    if (len > CRY_REVEAL_MAX_PLAIN || cap < plen + CRY_REVEAL_SEALBYTES)
        return core_err_set(err, CORE_EX_DATAERR, "reveal: value too long to seal");
    buf = sodium_malloc(plen);
    if (buf == NULL)
        abort();
    memcpy(buf, plain, len);
    if (sodium_pad(&pl, buf, len, CRY_REVEAL_PADBLOCK, plen) != 0 || pl != plen ||
        crypto_box_seal(out, buf, pl, pk) != 0)
        rc = core_err_set(err, CORE_EX_SOFTWARE, "reveal: sealing failed");
    else
        *out_len = pl + CRY_REVEAL_SEALBYTES;
    sodium_free(buf);
    return rc;
}

int cry_reveal_open(const unsigned char sk[CRY_REVEAL_SECRETKEYBYTES],
                    const unsigned char pk[CRY_REVEAL_PUBLICKEYBYTES], const unsigned char *c,
                    size_t len, unsigned char *out, size_t cap, size_t *out_len,
                    struct core_err *err)
{
    size_t m_len;
    size_t un = 0;

    *out_len = 0;
    if (len < CRY_REVEAL_SEALBYTES + CRY_REVEAL_PADBLOCK ||
        (len - CRY_REVEAL_SEALBYTES) % CRY_REVEAL_PADBLOCK != 0 ||
        cap < len - CRY_REVEAL_SEALBYTES + 1) {
        if (cap > 0)
            sodium_memzero(out, cap);
        return core_err_set(err, CORE_EX_DATAERR, "reveal: not a sealed value");
    }
    m_len = len - CRY_REVEAL_SEALBYTES;
    if (crypto_box_seal_open(out, c, len, pk, sk) != 0 ||
        sodium_unpad(&un, out, m_len, CRY_REVEAL_PADBLOCK) != 0) {
        sodium_memzero(out, cap);
        return core_err_set(err, CORE_EX_DATAERR,
                            "reveal: the sealed value does not open with this key");
    }
    sodium_memzero(out + un, cap - un);
    *out_len = un;
    return 0;
}
