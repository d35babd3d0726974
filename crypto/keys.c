/*
 * crypto/keys.c - key directory, locked key memory, subkey derivation and the
 * current data-key version (see keys.h).
 */
#include "crypto/keys.h"
#include "core/mem.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HEX_KEY_LEN (2 * CRY_KEYBYTES) /* 64 hex digits in a key file */
#define KEY_FILE_MAX 160               /* a key file is 64 hex digits and a newline */
#define META_FILE_MAX 16384
#define KEY_ID_BYTES 8
#define KEY_ID_DOMAIN "janseva key id v1"
#define AUDIT_ID_DOMAIN "janseva audit key id v1"

/* Secrets: one sodium_malloc'd region, read-only once filled. */
struct secret {
    unsigned char root[CRY_KEYBYTES];
    unsigned char sign_sk[crypto_sign_SECRETKEYBYTES];
    unsigned char sub[CRY_KEY_PURPOSE_COUNT][CRY_KEYBYTES]; /* unversioned subkeys */
    unsigned char seed[CRY_KEYBYTES];                       /* scratch, wiped after use */
};

struct cry_keys {
    struct secret *s;           /* locked, read-only after load */
    struct cry_keys_meta meta;  /* public facts */
    char dir[CRY_KEYS_PATH_MAX];
    int locked;                 /* mlock succeeded */
    _Atomic uint32_t version;   /* current data-key version, 0 = unknown */
};

/* Exactly 8 bytes each (crypto_kdf_CONTEXTBYTES); never change them: every
 * stored ciphertext and index depends on them. */
static const char contexts[CRY_KEY_PURPOSE_COUNT][crypto_kdf_CONTEXTBYTES + 1] = {
    [CRY_KEY_PII] = "js.pii.f",     [CRY_KEY_INGRESS] = "js.ingrs",
    [CRY_KEY_TIP] = "js.tiprl",     [CRY_KEY_BIDX] = "js.bidx.",
    [CRY_KEY_MID] = "js.mid..",     [CRY_KEY_DEDUPE] = "js.dedup",
    [CRY_KEY_SESSION] = "js.sessn", [CRY_KEY_AUDIT_MAC] = "js.audit",
};

_Static_assert(crypto_kdf_CONTEXTBYTES == 8, "libsodium KDF contexts are 8 bytes");
_Static_assert(crypto_kdf_KEYBYTES == CRY_KEYBYTES, "root key size");
_Static_assert(crypto_sign_PUBLICKEYBYTES == CRY_SIGN_PUBLICKEYBYTES, "Ed25519 public key");
_Static_assert(crypto_sign_BYTES == CRY_SIGN_BYTES, "Ed25519 signature");
_Static_assert(crypto_sign_SEEDBYTES == CRY_KEYBYTES, "Ed25519 seed");

int cry_keys_purpose_versioned(enum cry_key_purpose p)
{
    return p == CRY_KEY_PII || p == CRY_KEY_INGRESS || p == CRY_KEY_TIP;
}

const char *cry_keys_context(enum cry_key_purpose p)
{
    if ((int)p < 0 || p >= CRY_KEY_PURPOSE_COUNT)
        return NULL;
    return contexts[p];
}

/* ======================= small helpers ======================= */

static void iso_now(char out[CRY_KEYS_DATE_LEN])
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, CRY_KEYS_DATE_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* 16 hex digits of BLAKE2b-64 keyed with `key` over the id domain string. */
static void key_id(const unsigned char key[CRY_KEYBYTES], char out[CRY_KEY_ID_LEN])
{
    unsigned char h[KEY_ID_BYTES];

    crypto_generichash(h, sizeof h, (const unsigned char *)KEY_ID_DOMAIN,
                       sizeof KEY_ID_DOMAIN - 1, key, CRY_KEYBYTES);
    core_hex(out, h, sizeof h);
}

/* 16 hex digits of BLAKE2b-64 over the domain string and the public key. */
static void audit_key_id(const unsigned char pk[CRY_SIGN_PUBLICKEYBYTES],
                         char out[CRY_KEY_ID_LEN])
{
    crypto_generichash_state st;
    unsigned char h[KEY_ID_BYTES];

    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)AUDIT_ID_DOMAIN,
                              sizeof AUDIT_ID_DOMAIN - 1);
    crypto_generichash_update(&st, pk, CRY_SIGN_PUBLICKEYBYTES);
    crypto_generichash_final(&st, h, sizeof h);
    core_hex(out, h, sizeof h);
}

static int join_path(char *out, size_t n, const char *dir, const char *name, struct core_err *err)
{
    int w = snprintf(out, n, "%s/%s", dir, name);

    if (w < 0 || (size_t)w >= n)
        return core_err_set(err, CORE_EX_CONFIG, "keys: key directory path is too long");
    return 0;
}

static int check_mode(const char *what, const char *path, mode_t mode, int relaxed,
                      struct core_err *err)
{
    mode_t bad = relaxed ? (mode_t)S_IRWXO : (mode_t)(S_IRWXG | S_IRWXO);
    int dir = strcmp(what, "key directory") == 0;

    if ((mode & bad) == 0)
        return 0;
    return core_err_set(err, CORE_EX_CONFIG,
                        "keys: %s %s is accessible by %s (mode %04o); run: chmod %s %s", what,
                        path, relaxed ? "others" : "group or others", (unsigned)(mode & 07777),
                        dir ? "700" : "600", path);
}

/*
 * Read a key-directory file into `buf` (cap bytes, NUL-terminated). Refuses
 * symlinks, non-regular files, loose permissions and oversized files.
 */
static int read_dir_file(const char *dir, const char *name, int relaxed, char *buf, size_t cap,
                         size_t *len, struct core_err *err)
{
    char path[CRY_KEYS_PATH_MAX + 32];
    struct stat st;
    size_t n = 0;
    int fd;

    *len = 0;
    if (join_path(path, sizeof path, dir, name, err) != 0)
        return -1;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return core_err_set(err, CORE_EX_CONFIG,
                                "keys: %s is missing (an incomplete key directory; see "
                                "'janseva keys init')",
                                path);
        if (errno == ELOOP)
            return core_err_set(err, CORE_EX_CONFIG,
                                "keys: %s is a symbolic link; key files must be regular files",
                                path);
        return core_err_set(err, CORE_EX_CONFIG, "keys: cannot read %s: %s", path,
                            strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return core_err_set(err, CORE_EX_CONFIG, "keys: %s is not a regular file", path);
    }
    if (check_mode("key file", path, st.st_mode, relaxed, err) != 0) {
        close(fd);
        return -1;
    }
    if (st.st_size < 0 || (size_t)st.st_size >= cap) {
        close(fd);
        return core_err_set(err, CORE_EX_CONFIG, "keys: %s is too large to be a janseva key file",
                            path);
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;

            close(fd);
            sodium_memzero(buf, cap);
            return core_err_set(err, CORE_EX_CONFIG, "keys: cannot read %s: %s", path,
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

/* 64 hex digits, optionally followed by one newline, into 32 bytes. */
static int parse_hex_key(const char *text, size_t len, unsigned char out[CRY_KEYBYTES])
{
    size_t bin_len = 0;
    const char *end = NULL;

    if (len != HEX_KEY_LEN && !(len == HEX_KEY_LEN + 1 && text[HEX_KEY_LEN] == '\n'))
        return -1;
    if (sodium_hex2bin(out, CRY_KEYBYTES, text, HEX_KEY_LEN, NULL, &bin_len, &end) != 0 ||
        bin_len != CRY_KEYBYTES || end != text + HEX_KEY_LEN) {
        sodium_memzero(out, CRY_KEYBYTES);
        return -1;
    }
    return 0;
}

/* ======================= the handle ======================= */

static struct cry_keys *keys_alloc(void)
{
    struct cry_keys *k = core_calloc(1, sizeof *k);

    k->s = sodium_malloc(sizeof *k->s);
    if (k->s == NULL) {
        fputs("janseva: out of memory (sodium_malloc)\n", stderr);
        abort();
    }
    sodium_memzero(k->s, sizeof *k->s);
    atomic_init(&k->version, 0);
    return k;
}

/* Derive the unversioned subkeys, lock and seal the region. */
static void keys_finish(struct cry_keys *k)
{
    int p;

    for (p = 0; p < CRY_KEY_PURPOSE_COUNT; p++) {
        if (cry_keys_purpose_versioned((enum cry_key_purpose)p))
            continue;
        crypto_kdf_derive_from_key(k->s->sub[p], CRY_KEYBYTES, 0, contexts[p], k->s->root);
    }
    sodium_memzero(k->s->seed, sizeof k->s->seed);
    /* sodium_malloc already tried mlock and ignored failure; check it here. */
    k->locked = sodium_mlock(k->s, sizeof *k->s) == 0;
    sodium_mprotect_readonly(k->s);
}

/* The signing key pair from the seed in k->s->seed; public key to meta. */
static void keys_sign_from_seed(struct cry_keys *k)
{
    crypto_sign_seed_keypair(k->meta.audit_public, k->s->sign_sk, k->s->seed);
}

struct cry_keys *cry_keys_from_bytes(const unsigned char root[CRY_KEYBYTES],
                                     const unsigned char audit_seed[CRY_KEYBYTES])
{
    struct cry_keys *k = keys_alloc();

    memcpy(k->s->root, root, CRY_KEYBYTES);
    memcpy(k->s->seed, audit_seed, CRY_KEYBYTES);
    keys_sign_from_seed(k);
    k->meta.format = CRY_KEYS_FORMAT;
    key_id(k->s->root, k->meta.root_id);
    audit_key_id(k->meta.audit_public, k->meta.audit_id);
    keys_finish(k);
    return k;
}

void cry_keys_free(struct cry_keys *k)
{
    if (k == NULL)
        return;
    sodium_free(k->s); /* makes it writable, wipes, unlocks */
    free(k);
}

/* ======================= loading ======================= */

int cry_keys_dir_resolve(const char *configured, char out[CRY_KEYS_PATH_MAX],
                         int *from_credentials, struct core_err *err)
{
    const char *creds = getenv("CREDENTIALS_DIRECTORY");
    const char *dir = NULL;
    int fc = 0;

    if (configured != NULL && configured[0] != '\0') {
        dir = configured;
    } else if (creds != NULL && creds[0] != '\0') {
        dir = creds;
        fc = 1;
    }
    if (from_credentials != NULL)
        *from_credentials = fc;
    if (dir == NULL)
        return core_err_set(err, CORE_EX_CONFIG,
                            "keys: no key directory: set JANSEVA_KEYS_DIR (create one with "
                            "'janseva keys init --dir DIR') or pass it as systemd credentials");
    if (strlen(dir) >= CRY_KEYS_PATH_MAX)
        return core_err_set(err, CORE_EX_CONFIG, "keys: key directory path is too long");
    snprintf(out, CRY_KEYS_PATH_MAX, "%s", dir);
    return 0;
}

static int check_dir(const char *dir, int relaxed, struct core_err *err)
{
    struct stat st;

    if (stat(dir, &st) != 0) {
        if (errno == ENOENT)
            return core_err_set(err, CORE_EX_CONFIG,
                                "keys: key directory %s does not exist (create it with: "
                                "janseva keys init --dir %s)",
                                dir, dir);
        return core_err_set(err, CORE_EX_CONFIG, "keys: cannot access key directory %s: %s", dir,
                            strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return core_err_set(err, CORE_EX_CONFIG, "keys: %s is not a directory", dir);
    return check_mode("key directory", dir, st.st_mode, relaxed, err);
}

static int meta_str(json_t *obj, const char *key, char *out, size_t n)
{
    const char *v = json_string_value(json_object_get(obj, key));

    if (v == NULL || strlen(v) >= n)
        return -1;
    snprintf(out, n, "%s", v);
    return 0;
}

static int load_meta(const char *dir, int relaxed, struct cry_keys_meta *m, struct core_err *err)
{
    char *text = core_malloc(META_FILE_MAX);
    char path[CRY_KEYS_PATH_MAX + 32];
    char pk_hex[2 * CRY_SIGN_PUBLICKEYBYTES + 8];
    json_t *root = NULL;
    json_t *rk;
    json_t *ak;
    size_t len;
    size_t pk_len = 0;
    int rc = -1;

    snprintf(path, sizeof path, "%s/%s", dir, CRY_KEYS_META_FILE);
    if (read_dir_file(dir, CRY_KEYS_META_FILE, relaxed, text, META_FILE_MAX, &len, err) != 0)
        goto out;
    root = json_loadb(text, len, 0, NULL);
    rk = json_object_get(root, "root");
    ak = json_object_get(root, "audit");
    m->format = (int)json_integer_value(json_object_get(root, "format"));
    if (root == NULL || m->format != CRY_KEYS_FORMAT || meta_str(rk, "id", m->root_id,
                                                                 sizeof m->root_id) != 0 ||
        meta_str(rk, "created", m->root_created, sizeof m->root_created) != 0 ||
        meta_str(ak, "id", m->audit_id, sizeof m->audit_id) != 0 ||
        meta_str(ak, "created", m->audit_created, sizeof m->audit_created) != 0 ||
        meta_str(ak, "public_key", pk_hex, sizeof pk_hex) != 0 ||
        sodium_hex2bin(m->audit_public, sizeof m->audit_public, pk_hex, strlen(pk_hex), NULL,
                       &pk_len, NULL) != 0 ||
        pk_len != CRY_SIGN_PUBLICKEYBYTES) {
        core_err_set(err, CORE_EX_CONFIG,
                     "keys: %s is not a janseva key metadata file (format %d expected)", path,
                     CRY_KEYS_FORMAT);
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    free(text);
    return rc;
}

/* Read a 64-hex-digit key file into `out` (32 bytes). */
static int load_key_file(const char *dir, const char *name, int relaxed,
                         unsigned char out[CRY_KEYBYTES], struct core_err *err)
{
    char text[KEY_FILE_MAX];
    size_t len = 0;
    int rc;

    rc = read_dir_file(dir, name, relaxed, text, sizeof text, &len, err);
    if (rc == 0 && parse_hex_key(text, len, out) != 0)
        rc = core_err_set(err, CORE_EX_CONFIG, "keys: %s/%s is not a key file (64 hex digits)",
                          dir, name);
    sodium_memzero(text, sizeof text);
    return rc;
}

struct cry_keys *cry_keys_load(const char *dir, int from_credentials, struct core_err *err)
{
    struct cry_keys *k;
    char rid[CRY_KEY_ID_LEN];
    char aid[CRY_KEY_ID_LEN];

    if (strlen(dir) >= CRY_KEYS_PATH_MAX) {
        core_err_set(err, CORE_EX_CONFIG, "keys: key directory path is too long");
        return NULL;
    }
    if (check_dir(dir, from_credentials, err) != 0)
        return NULL;
    k = keys_alloc();
    snprintf(k->dir, sizeof k->dir, "%s", dir);
    if (load_meta(dir, from_credentials, &k->meta, err) != 0 ||
        load_key_file(dir, CRY_KEYS_ROOT_FILE, from_credentials, k->s->root, err) != 0 ||
        load_key_file(dir, CRY_KEYS_AUDIT_FILE, from_credentials, k->s->seed, err) != 0)
        goto fail;
    {
        unsigned char expect_pk[CRY_SIGN_PUBLICKEYBYTES];

        memcpy(expect_pk, k->meta.audit_public, sizeof expect_pk);
        keys_sign_from_seed(k);
        if (sodium_memcmp(expect_pk, k->meta.audit_public, sizeof expect_pk) != 0) {
            core_err_set(err, CORE_EX_CONFIG,
                         "keys: %s/%s does not match the audit public key in %s", dir,
                         CRY_KEYS_AUDIT_FILE, CRY_KEYS_META_FILE);
            goto fail;
        }
    }
    key_id(k->s->root, rid);
    audit_key_id(k->meta.audit_public, aid);
    if (strcmp(rid, k->meta.root_id) != 0 || strcmp(aid, k->meta.audit_id) != 0) {
        core_err_set(err, CORE_EX_CONFIG, "keys: %s/%s does not match the key ids in %s", dir,
                     CRY_KEYS_ROOT_FILE, CRY_KEYS_META_FILE);
        goto fail;
    }
    keys_finish(k);
    return k;
fail:
    cry_keys_free(k);
    return NULL;
}

/* ======================= init ======================= */

static int write_new_file(const char *path, const void *data, size_t len, struct core_err *err)
{
    const unsigned char *p = data;
    size_t done = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

    if (fd < 0)
        return core_err_set(err, errno == EEXIST ? CORE_EX_CANTCREAT : CORE_EX_IOERR,
                            "keys: cannot create %s: %s", path, strerror(errno));
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
fail:
    {
        int e = errno;

        if (fd >= 0)
            close(fd);
        unlink(path);
        return core_err_set(err, CORE_EX_IOERR, "keys: cannot write %s: %s", path, strerror(e));
    }
}

/* Secrets of init: locked scratch memory, freed (and wiped) at the end. */
struct init_secret {
    unsigned char root[CRY_KEYBYTES];
    unsigned char seed[CRY_KEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    char hex[HEX_KEY_LEN + 2];
};

static char *meta_json(const struct cry_keys_meta *m)
{
    char pk_hex[2 * CRY_SIGN_PUBLICKEYBYTES + 1];
    json_t *j;
    char *text;

    core_hex(pk_hex, m->audit_public, sizeof m->audit_public);
    j = json_pack("{s:i,s:{s:s,s:s,s:s},s:{s:s,s:s,s:s,s:s},s:{s:s,s:s,s:[s,s,s],s:[s,s,s,s,s]}}",
                  "format", CRY_KEYS_FORMAT, "root", "id", m->root_id, "created",
                  m->root_created, "use", "root of every data key (crypto_kdf_derive_from_key)",
                  "audit", "id", m->audit_id, "created", m->audit_created, "algorithm",
                  "ed25519", "public_key", pk_hex, "data_keys", "derivation",
                  "crypto_kdf_derive_from_key(root, subkey_id = version, context)",
                  "current_version", "Redis key " CRY_KEYS_VERSION_KEY, "versioned", "pii",
                  "ingress", "tip", "unversioned", "bidx", "mid", "dedupe", "session",
                  "audit_mac");
    text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (text != NULL) {
        size_t n = strlen(text);
        char *t = realloc(text, n + 2);

        if (t == NULL) {
            free(text);
            return NULL;
        }
        t[n] = '\n';
        t[n + 1] = '\0';
        text = t;
    }
    return text;
}

int cry_keys_init_dir(const char *dir, struct cry_keys_meta *meta, struct core_err *err)
{
    static const char *const files[] = {CRY_KEYS_ROOT_FILE, CRY_KEYS_AUDIT_FILE,
                                        CRY_KEYS_META_FILE};
    char paths[3][CRY_KEYS_PATH_MAX + 32];
    int written[3] = {0, 0, 0};
    struct init_secret *s = NULL;
    struct cry_keys_meta m;
    struct stat st;
    char *json = NULL;
    int made_dir = 0;
    int rc = -1;
    int i;

    memset(&m, 0, sizeof m);
    if (strlen(dir) == 0 || strlen(dir) >= CRY_KEYS_PATH_MAX)
        return core_err_set(err, CORE_EX_USAGE, "keys: bad key directory path");
    for (i = 0; i < 3; i++) {
        if (join_path(paths[i], sizeof paths[i], dir, files[i], err) != 0)
            return -1;
        if (lstat(paths[i], &st) == 0 || errno != ENOENT)
            return core_err_set(err, CORE_EX_CANTCREAT,
                                "keys: %s already exists; refusing to overwrite keys (move the "
                                "directory away first)",
                                paths[i]);
    }
    if (mkdir(dir, 0700) == 0) {
        made_dir = 1;
    } else if (errno != EEXIST) {
        return core_err_set(err, CORE_EX_CANTCREAT, "keys: cannot create %s: %s", dir,
                            strerror(errno));
    } else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return core_err_set(err, CORE_EX_CANTCREAT, "keys: %s exists and is not a directory",
                            dir);
    }
    if (chmod(dir, 0700) != 0) {
        core_err_set(err, CORE_EX_CANTCREAT, "keys: cannot chmod 700 %s: %s", dir,
                     strerror(errno));
        goto out;
    }
    s = sodium_malloc(sizeof *s);
    if (s == NULL) {
        fputs("janseva: out of memory (sodium_malloc)\n", stderr);
        abort();
    }
    randombytes_buf(s->root, sizeof s->root);
    randombytes_buf(s->seed, sizeof s->seed);
    crypto_sign_seed_keypair(m.audit_public, s->sk, s->seed);
    m.format = CRY_KEYS_FORMAT;
    key_id(s->root, m.root_id);
    audit_key_id(m.audit_public, m.audit_id);
    iso_now(m.root_created);
    snprintf(m.audit_created, sizeof m.audit_created, "%s", m.root_created);

    sodium_bin2hex(s->hex, sizeof s->hex, s->root, sizeof s->root);
    s->hex[HEX_KEY_LEN] = '\n';
    if (write_new_file(paths[0], s->hex, HEX_KEY_LEN + 1, err) != 0)
        goto out;
    written[0] = 1;
    sodium_bin2hex(s->hex, sizeof s->hex, s->seed, sizeof s->seed);
    s->hex[HEX_KEY_LEN] = '\n';
    if (write_new_file(paths[1], s->hex, HEX_KEY_LEN + 1, err) != 0)
        goto out;
    written[1] = 1;
    json = meta_json(&m);
    if (json == NULL || write_new_file(paths[2], json, strlen(json), err) != 0) {
        if (json == NULL)
            core_err_set(err, CORE_EX_SOFTWARE, "keys: cannot build %s", CRY_KEYS_META_FILE);
        goto out;
    }
    written[2] = 1;
    {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    if (meta != NULL)
        *meta = m;
    rc = 0;
out:
    if (rc != 0) {
        for (i = 0; i < 3; i++) {
            if (written[i])
                unlink(paths[i]);
        }
        if (made_dir)
            rmdir(dir);
    }
    free(json);
    sodium_free(s); /* wipes */
    return rc;
}

/* ======================= using the keys ======================= */

int cry_keys_derive(const struct cry_keys *k, enum cry_key_purpose p, uint32_t version,
                    unsigned char out[CRY_KEYBYTES])
{
    if ((int)p < 0 || p >= CRY_KEY_PURPOSE_COUNT)
        return -1;
    if (!cry_keys_purpose_versioned(p)) {
        memcpy(out, k->s->sub[p], CRY_KEYBYTES);
        return 0;
    }
    if (version == 0)
        return -1;
    return crypto_kdf_derive_from_key(out, CRY_KEYBYTES, (uint64_t)version, contexts[p],
                                      k->s->root) == 0
               ? 0
               : -1;
}

const unsigned char *cry_keys_get(const struct cry_keys *k, enum cry_key_purpose p)
{
    if ((int)p < 0 || p >= CRY_KEY_PURPOSE_COUNT || cry_keys_purpose_versioned(p))
        return NULL;
    return k->s->sub[p];
}

void cry_keys_sign(const struct cry_keys *k, const void *m, size_t len,
                   unsigned char sig[CRY_SIGN_BYTES])
{
    crypto_sign_detached(sig, NULL, m, len, k->s->sign_sk);
}

const struct cry_keys_meta *cry_keys_meta(const struct cry_keys *k)
{
    return &k->meta;
}

const char *cry_keys_dir(const struct cry_keys *k)
{
    return k->dir;
}

int cry_keys_locked(const struct cry_keys *k)
{
    return k->locked;
}

void cry_keys_data_id(const struct cry_keys *k, enum cry_key_purpose p, uint32_t version,
                      char out[CRY_KEY_ID_LEN])
{
    unsigned char sub[CRY_KEYBYTES];

    if (cry_keys_derive(k, p, version, sub) != 0) {
        snprintf(out, CRY_KEY_ID_LEN, "%s", "-");
        return;
    }
    key_id(sub, out);
    sodium_memzero(sub, sizeof sub);
}

/* ======================= version ======================= */

uint32_t cry_keys_version(const struct cry_keys *k)
{
    return atomic_load(&k->version);
}

void cry_keys_set_version(struct cry_keys *k, uint32_t version)
{
    atomic_store(&k->version, version);
}

int cry_keys_read_version(struct core_redis *r, uint32_t *version, struct core_err *err)
{
    redisReply *reply = NULL;
    long long v;

    if (core_redis_cmdf(r, &reply, err, "GET %s", CRY_KEYS_VERSION_KEY) != 0)
        return -1;
    if (reply->type == REDIS_REPLY_NIL) {
        freeReplyObject(reply);
        /* First start on this Redis: version 1 (NX: never lower a version). */
        if (core_redis_cmdf(r, NULL, err, "SET %s 1 NX", CRY_KEYS_VERSION_KEY) != 0 ||
            core_redis_cmdf(r, &reply, err, "GET %s", CRY_KEYS_VERSION_KEY) != 0)
            return -1;
    }
    v = core_redis_int(reply);
    freeReplyObject(reply);
    if (v < 1 || v > (long long)UINT32_MAX)
        return core_err_set(err, CORE_EX_DATAERR, "keys: %s does not hold a key version",
                            CRY_KEYS_VERSION_KEY);
    *version = (uint32_t)v;
    return 0;
}

int cry_keys_refresh(struct cry_keys *k, struct core_redis *r, struct core_err *err)
{
    uint32_t v;

    if (cry_keys_read_version(r, &v, err) != 0)
        return -1;
    cry_keys_set_version(k, v);
    return 0;
}

struct cry_keys *cry_keys_load_configured(const char *keys_dir, int *from_credentials,
                                          struct core_err *err)
{
    char dir[CRY_KEYS_PATH_MAX];
    int fc = 0;

    if (cry_keys_dir_resolve(keys_dir, dir, &fc, err) != 0)
        return NULL;
    if (from_credentials != NULL)
        *from_credentials = fc;
    return cry_keys_load(dir, fc, err);
}
