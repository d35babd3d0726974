/*
 * moderation/model.c - model training, calibration and the model file
 * (see model.h for the format and the loader's checks).
 */
#include "moderation/model.h"
#include "core/buf.h"
#include "core/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char magic[8] = {'J', 'S', 'M', 'O', 'D', 'E', 'L', '\n'};
#define CHECKSUM_BYTES 32
#define FEATURE_BYTES (4 + 4 * MOD_NLABELS)
#define TEMPLATE_BYTES (4 + MOD_FP_PACKED)

struct mod_model *mod_model_new(const struct mod_feat_opts *o)
{
    struct mod_model *m = core_calloc(1, sizeof *m);

    if (o != NULL)
        m->fopts = *o;
    else
        mod_feat_opts_default(&m->fopts);
    mod_bayes_init(&m->nb, MOD_BAYES_ALPHA);
    m->marks = mod_fpstore_new();
    m->relay_max = 0;
    m->drop_min = 8;
    m->target_blocked = MOD_TARGET_BLOCKED;
    snprintf(m->feedback_id, sizeof m->feedback_id, "0-0");
    return m;
}

void mod_model_free(struct mod_model *m)
{
    if (m == NULL)
        return;
    mod_bayes_cleanup(&m->nb);
    mod_fpstore_free(m->marks);
    free(m);
}

size_t mod_model_memory(const struct mod_model *m)
{
    return sizeof *m + mod_bayes_memory(&m->nb) +
           mod_fpstore_count(m->marks) * (sizeof(struct mod_fp_entry) + 16 * 16);
}

double mod_model_unwanted(const double logp[MOD_NLABELS])
{
    double mx = -INFINITY;
    double sum = 0;
    double u;
    unsigned c;

    for (c = 1; c < MOD_NLABELS; c++) {
        if (logp[c] > mx)
            mx = logp[c];
    }
    if (mx == -INFINITY)
        return -1000;
    if (logp[MOD_LEGIT] == -INFINITY)
        return 1000;
    for (c = 1; c < MOD_NLABELS; c++)
        sum += exp(logp[c] - mx);
    u = mx + log(sum) - logp[MOD_LEGIT];
    if (u > 1000)
        u = 1000;
    if (u < -1000)
        u = -1000;
    return u;
}

double mod_model_score(const struct mod_feat_opts *o, const double logp[MOD_NLABELS],
                       size_t known)
{
    double u = mod_model_unwanted(logp);

    if (o->score_norm == 0 || known <= o->score_norm || u == 1000 || u == -1000)
        return u;
    return u * sqrt((double)o->score_norm / (double)known);
}

/* ======================= training ======================= */

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * A threshold above all but k of the sorted (descending) scores, k =
 * floor(share * n) but at least `min_k` once there are 20 scores (with
 * fewer than 1/share scores the finest step the data allows is one post):
 * the midpoint to the next score, or 1 above the top one when k is 0.
 */
static double quantile_threshold(const double *sorted, size_t n, double share, size_t min_k)
{
    size_t k = (size_t)floor(share * (double)n);

    if (k < min_k && n >= 20)
        k = min_k;
    if (n == 0)
        return 0;
    if (k == 0)
        return sorted[0] + 1.0;
    if (k >= n)
        return sorted[n - 1];
    return (sorted[k] + sorted[k - 1]) / 2;
}

static uint64_t fold_of(uint32_t group, unsigned folds)
{
    uint64_t h = group * 0x9E3779B97F4A7C15ULL;

    h ^= h >> 29;
    return h % folds;
}

void mod_model_train(struct mod_model *m, const struct mod_sample *s, size_t n, unsigned folds,
                     double target_blocked, double target_dropped,
                     void (*progress)(void *ud, const char *msg), void *ud)
{
    double *legit = NULL;
    size_t nl = 0;
    size_t i;
    unsigned f;
    char msg[128];

    for (i = 0; i < n; i++) {
        mod_bayes_learn(&m->nb, s[i].f, s[i].nf, s[i].label, 1);
        m->learned++;
    }
    m->target_blocked = target_blocked;
    m->relay_max = 0;
    m->drop_min = 8;
    if (folds < 2)
        return;
    legit = core_malloc((n + 1) * sizeof legit[0]);
    for (f = 0; f < folds; f++) {
        struct mod_bayes nb;

        if (progress != NULL) {
            snprintf(msg, sizeof msg, "calibrating thresholds: fold %u of %u", f + 1, folds);
            progress(ud, msg);
        }
        mod_bayes_init(&nb, m->nb.alpha);
        for (i = 0; i < n; i++) {
            if (fold_of(s[i].group, folds) != f)
                mod_bayes_learn(&nb, s[i].f, s[i].nf, s[i].label, 1);
        }
        for (i = 0; i < n; i++) {
            double logp[MOD_NLABELS];
            size_t known;

            if (fold_of(s[i].group, folds) != f || s[i].label != MOD_LEGIT)
                continue;
            known = mod_bayes_classify(&nb, s[i].f, s[i].nf, logp);
            legit[nl++] = mod_model_score(&m->fopts, logp, known);
        }
        mod_bayes_cleanup(&nb);
    }
    if (nl >= 2) {
        qsort(legit, nl, sizeof legit[0], cmp_desc);
        m->relay_max = quantile_threshold(legit, nl, target_blocked, target_blocked > 0);
        if (m->relay_max < 0)
            m->relay_max = 0;
        m->drop_min = quantile_threshold(legit, nl, target_dropped, 0);
        if (m->drop_min < m->relay_max + 2)
            m->drop_min = m->relay_max + 2;
    }
    free(legit);
}

/* ======================= writing ======================= */

static void put_u8(struct core_buf *b, unsigned v)
{
    unsigned char c = (unsigned char)v;

    core_buf_append(b, &c, 1);
}

static void put_u32(struct core_buf *b, uint32_t v)
{
    unsigned char p[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};

    core_buf_append(b, p, 4);
}

static void put_u64(struct core_buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_f64(struct core_buf *b, double d)
{
    uint64_t v;

    memcpy(&v, &d, sizeof v);
    put_u64(b, v);
}

void mod_model_serialise(const struct mod_model *m, unsigned char **out, size_t *len)
{
    struct core_buf b;
    unsigned char sum[CHECKSUM_BYTES];
    size_t id_len = strlen(m->feedback_id);
    size_t i;
    unsigned c;

    core_buf_init(&b, 0);
    core_buf_append(&b, magic, sizeof magic);
    put_u32(&b, MOD_MODEL_VERSION);
    put_u32(&b, 0);
    put_u8(&b, m->fopts.osb_window);
    put_u8(&b, m->fopts.char_min);
    put_u8(&b, m->fopts.char_max);
    put_u8(&b, m->fopts.skeleton);
    put_u8(&b, m->fopts.char_all);
    put_u8(&b, m->fopts.score_norm);
    put_u8(&b, 0);
    put_u8(&b, 0);
    put_u32(&b, MOD_NLABELS);
    put_f64(&b, m->nb.alpha);
    put_f64(&b, m->relay_max);
    put_f64(&b, m->drop_min);
    put_f64(&b, m->target_blocked);
    put_u64(&b, m->learned);
    for (c = 0; c < MOD_NLABELS; c++)
        put_u64(&b, m->nb.docs[c]);
    for (c = 0; c < MOD_NLABELS; c++)
        put_u64(&b, m->nb.total[c]);
    put_u32(&b, (uint32_t)id_len);
    core_buf_append(&b, m->feedback_id, id_len);
    put_u64(&b, m->nb.used);
    for (i = 0; i <= m->nb.mask; i++) {
        uint32_t key;
        uint32_t n[MOD_NLABELS];

        if (!mod_bayes_slot_at(&m->nb, i, &key, n))
            continue;
        put_u32(&b, key);
        for (c = 0; c < MOD_NLABELS; c++)
            put_u32(&b, n[c]);
    }
    put_u64(&b, mod_fpstore_count(m->marks));
    for (i = 0; i < mod_fpstore_count(m->marks); i++) {
        const struct mod_fp_entry *e = mod_fpstore_get(m->marks, i);
        unsigned char packed[MOD_FP_PACKED];

        put_u8(&b, e->mark);
        put_u8(&b, e->label);
        put_u8(&b, 0);
        put_u8(&b, 0);
        mod_fp_pack(&e->fp, packed);
        core_buf_append(&b, packed, sizeof packed);
    }
    crypto_generichash(sum, sizeof sum, (const unsigned char *)b.data, b.len, NULL, 0);
    core_buf_append(&b, sum, sizeof sum);
    *len = b.len;
    *out = (unsigned char *)core_buf_steal(&b);
}

int mod_model_save(const struct mod_model *m, const char *path, struct core_err *err)
{
    unsigned char *data;
    size_t len;
    size_t off = 0;
    char *tmp;
    size_t tl = strlen(path) + 16;
    int fd;

    mod_model_serialise(m, &data, &len);
    tmp = core_malloc(tl);
    snprintf(tmp, tl, "%s.tmpXXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        core_err_set(err, CORE_EX_IOERR, "cannot create %s: %s", path, strerror(errno));
        goto fail;
    }
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            core_err_set(err, CORE_EX_IOERR, "cannot write %s: %s", path, strerror(errno));
            goto fail_fd;
        }
        off += (size_t)w;
    }
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        core_err_set(err, CORE_EX_IOERR, "cannot write %s: %s", path, strerror(errno));
        goto fail_fd;
    }
    if (close(fd) != 0) {
        fd = -1;
        core_err_set(err, CORE_EX_IOERR, "cannot write %s: %s", path, strerror(errno));
        goto fail_unlink;
    }
    if (rename(tmp, path) != 0) {
        core_err_set(err, CORE_EX_IOERR, "cannot write %s: %s", path, strerror(errno));
        goto fail_unlink;
    }
    free(tmp);
    free(data);
    return 0;
fail_fd:
    close(fd);
fail_unlink:
    unlink(tmp);
fail:
    free(tmp);
    free(data);
    return -1;
}

/* ======================= reading ======================= */

struct reader {
    const unsigned char *p;
    size_t len;
    size_t pos;
    int bad; /* set once a read ran past the end */
};

static int need(struct reader *r, size_t n)
{
    if (r->bad || r->len - r->pos < n) {
        r->bad = 1;
        return 0;
    }
    return 1;
}

static unsigned get_u8(struct reader *r)
{
    if (!need(r, 1))
        return 0;
    return r->p[r->pos++];
}

static uint32_t get_u32(struct reader *r)
{
    const unsigned char *p;

    if (!need(r, 4))
        return 0;
    p = r->p + r->pos;
    r->pos += 4;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(struct reader *r)
{
    uint64_t lo = get_u32(r);

    return lo | (uint64_t)get_u32(r) << 32;
}

static double get_f64(struct reader *r)
{
    uint64_t v = get_u64(r);
    double d;

    memcpy(&d, &v, sizeof d);
    return d;
}

#define BAD(...)                                                                                  \
    do {                                                                                          \
        core_err_set(err, CORE_EX_DATAERR, "model: " __VA_ARGS__);                              \
        goto fail;                                                                                \
    } while (0)

struct mod_model *mod_model_load_mem(const unsigned char *buf, size_t len, unsigned flags,
                                     struct core_err *err)
{
    struct reader r = {buf, 0, 0, 0};
    struct mod_model *m = NULL;
    struct mod_feat_opts fo;
    uint64_t docs[MOD_NLABELS];
    uint64_t total[MOD_NLABELS];
    uint64_t sums[MOD_NLABELS] = {0};
    uint64_t nfeat;
    uint64_t ntpl;
    uint32_t version;
    uint32_t id_len;
    double alpha;
    double relay_max;
    double drop_min;
    double target;
    uint64_t learned;
    size_t i;
    unsigned c;

    if (len < sizeof magic + CHECKSUM_BYTES || memcmp(buf, magic, sizeof magic) != 0)
        BAD("not a janseva model file");
    if ((flags & MOD_MODEL_NO_CHECKSUM) == 0) {
        unsigned char sum[CHECKSUM_BYTES];

        crypto_generichash(sum, sizeof sum, buf, len - CHECKSUM_BYTES, NULL, 0);
        if (sodium_memcmp(sum, buf + len - CHECKSUM_BYTES, CHECKSUM_BYTES) != 0)
            BAD("checksum mismatch (truncated or damaged file)");
    }
    r.len = len - CHECKSUM_BYTES;
    r.pos = sizeof magic;
    version = get_u32(&r);
    if (version != MOD_MODEL_VERSION)
        BAD("unsupported version %u (this janseva reads version %d)", (unsigned)version,
            MOD_MODEL_VERSION);
    if (get_u32(&r) != 0)
        BAD("unknown flags");
    fo.osb_window = (uint8_t)get_u8(&r);
    fo.char_min = (uint8_t)get_u8(&r);
    fo.char_max = (uint8_t)get_u8(&r);
    fo.skeleton = (uint8_t)get_u8(&r);
    fo.char_all = (uint8_t)get_u8(&r);
    fo.score_norm = (uint8_t)get_u8(&r); /* 0 in files written before it existed */
    get_u8(&r);
    get_u8(&r);
    if (fo.osb_window > 8 || fo.char_max > 8 || fo.char_min > fo.char_max ||
        (fo.char_min == 0 && fo.char_max != 0) || fo.skeleton > 1 || fo.char_all > 1)
        BAD("invalid feature options");
    if (get_u32(&r) != MOD_NLABELS)
        BAD("wrong number of labels");
    alpha = get_f64(&r);
    relay_max = get_f64(&r);
    drop_min = get_f64(&r);
    target = get_f64(&r);
    learned = get_u64(&r);
    if (!isfinite(alpha) || alpha <= 0 || alpha > 10 || !isfinite(relay_max) ||
        !isfinite(drop_min) || fabs(relay_max) > 1e6 || fabs(drop_min) > 1e6 ||
        !isfinite(target) || target < 0 || target > 1)
        BAD("invalid parameters");
    for (c = 0; c < MOD_NLABELS; c++)
        docs[c] = get_u64(&r);
    for (c = 0; c < MOD_NLABELS; c++)
        total[c] = get_u64(&r);
    id_len = get_u32(&r);
    if (r.bad)
        BAD("truncated header");
    if (id_len >= MOD_FEEDBACK_ID_MAX || !need(&r, id_len))
        BAD("invalid feedback id");
    for (i = 0; i < id_len; i++) {
        unsigned char ch = buf[r.pos + i];

        if (!((ch >= '0' && ch <= '9') || ch == '-'))
            BAD("invalid feedback id");
    }
    m = mod_model_new(&fo);
    mod_bayes_cleanup(&m->nb);
    mod_bayes_init(&m->nb, alpha);
    memcpy(m->feedback_id, buf + r.pos, id_len);
    m->feedback_id[id_len] = '\0';
    r.pos += id_len;
    m->relay_max = relay_max;
    m->drop_min = drop_min;
    m->target_blocked = target;
    m->learned = learned;
    nfeat = get_u64(&r);
    if (r.bad || nfeat > (r.len - r.pos) / FEATURE_BYTES)
        BAD("feature count larger than the file");
    mod_bayes_reserve(&m->nb, (size_t)nfeat);
    for (i = 0; i < nfeat; i++) {
        uint32_t key = get_u32(&r);
        uint32_t n[MOD_NLABELS];
        uint32_t dup[MOD_NLABELS];

        for (c = 0; c < MOD_NLABELS; c++) {
            n[c] = get_u32(&r);
            if (n[c] > docs[c])
                BAD("feature %zu counts more posts than its class has", i);
            sums[c] += n[c];
        }
        if (key == 0)
            BAD("feature %zu has id 0", i);
        if (mod_bayes_counts(&m->nb, key, dup) != 0)
            BAD("feature %zu is listed twice", i);
        mod_bayes_put(&m->nb, key, n);
    }
    for (c = 0; c < MOD_NLABELS; c++) {
        if (sums[c] != total[c])
            BAD("feature counts do not add up to the totals");
        m->nb.docs[c] = docs[c];
        m->nb.total[c] = total[c];
    }
    ntpl = get_u64(&r);
    if (r.bad || ntpl > (r.len - r.pos) / TEMPLATE_BYTES)
        BAD("template count larger than the file");
    for (i = 0; i < ntpl; i++) {
        unsigned mark = get_u8(&r);
        unsigned label = get_u8(&r);
        struct mod_fp fp;

        if (get_u8(&r) != 0 || get_u8(&r) != 0)
            BAD("template %zu: reserved bytes set", i);
        if ((mark != MOD_MARK_BAD && mark != MOD_MARK_GOOD) || label >= MOD_NLABELS)
            BAD("template %zu: invalid mark or label", i);
        if (!need(&r, MOD_FP_PACKED))
            BAD("truncated template");
        mod_fp_unpack(buf + r.pos, &fp);
        r.pos += MOD_FP_PACKED;
        mod_fpstore_add(m->marks, &fp, (enum mod_fp_mark)mark, (enum mod_label)label);
    }
    if (r.bad)
        BAD("truncated file");
    if (r.pos != r.len)
        BAD("%zu unexpected bytes before the checksum", r.len - r.pos);
    return m;
fail:
    mod_model_free(m);
    return NULL;
}

struct mod_model *mod_model_load(const char *path, struct core_err *err)
{
    FILE *f = fopen(path, "rb");
    struct core_buf b;
    struct mod_model *m;
    char chunk[65536];
    size_t n;

    if (f == NULL) {
        core_err_set(err, CORE_EX_NOINPUT, "cannot read model %s: %s", path, strerror(errno));
        return NULL;
    }
    core_buf_init(&b, (size_t)MOD_MODEL_MAX_BYTES);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (core_buf_append(&b, chunk, n) != 0) {
            fclose(f);
            core_buf_cleanup(&b);
            core_err_set(err, CORE_EX_DATAERR, "model %s is larger than %ld bytes", path,
                         MOD_MODEL_MAX_BYTES);
            return NULL;
        }
    }
    if (ferror(f)) {
        fclose(f);
        core_buf_cleanup(&b);
        core_err_set(err, CORE_EX_NOINPUT, "cannot read model %s", path);
        return NULL;
    }
    fclose(f);
    m = mod_model_load_mem((const unsigned char *)b.data, b.len, 0, err);
    core_buf_cleanup(&b);
    if (m == NULL)
        core_err_wrap(err, "%s", path);
    return m;
}
