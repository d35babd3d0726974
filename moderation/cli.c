/*
 * moderation/cli.c - `janseva train`, `classify` and `eval` (see cli.h).
 *
 * All three read their whole input before writing anything, so a bad line
 * anywhere means exit 65 with one line on stderr and no output (and for
 * train, no model file). Errors name the file and line but never quote the
 * message text.
 */
#include "moderation/cli.h"
#include "core/buf.h"
#include "core/cli.h"
#include "core/mem.h"
#include "core/util.h"
#include "moderation/engine.h"
#include "moderation/model.h"
#include "moderation/train.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define LINE_MAX_BYTES (1024 * 1024)
#define PROGRESS_EVERY 100000
#define OUT_CHUNK (256 * 1024) /* classify output gathered before each write */

/* ======================= shared: labelled input ======================= */

struct item {
    enum mod_label label;
    char *text;
    size_t len;
};

struct corpus {
    struct item *v;
    size_t n;
    size_t cap;
};

static void corpus_free(struct corpus *c)
{
    size_t i;

    for (i = 0; i < c->n; i++)
        free(c->v[i].text);
    free(c->v);
    memset(c, 0, sizeof *c);
}

static void corpus_add(struct corpus *c, enum mod_label l, const char *text, size_t len)
{
    if (c->n == c->cap) {
        c->cap = c->cap == 0 ? 1024 : c->cap * 2;
        c->v = core_realloc(c->v, c->cap * sizeof c->v[0]);
    }
    c->v[c->n].label = l;
    c->v[c->n].text = core_strndup(text, len);
    c->v[c->n].len = len;
    c->n++;
}

/* Print "janseva CMD: MSG" on stderr; returns `code`. */
static int fail(const char *cmd, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(const char *cmd, int code, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "janseva %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

/* A label short and plain enough to quote in an error. */
static int quotable(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > 16)
        return 0;
    for (i = 0; i < n; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ||
              s[i] == '-'))
            return 0;
    }
    return 1;
}

static FILE *open_input(const char *path)
{
    return strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
}

/*
 * Read LABEL<TAB>TEXT lines of `path` into `c`. Blank lines and lines
 * starting with '#' are skipped. Returns 0 or an exit status (message
 * printed).
 */
static int read_labelled(const char *cmd, const char *path, struct corpus *c, int progress)
{
    FILE *f = open_input(path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    size_t lineno = 0;
    int rc = 0;

    if (f == NULL)
        return fail(cmd, CORE_EX_NOINPUT, "cannot read %s: %s", path, strerror(errno));
    while ((n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        const char *tab;
        enum mod_label l;

        lineno++;
        if (progress && lineno % PROGRESS_EVERY == 0)
            fprintf(stderr, "janseva %s: %s: %zu lines read\n", cmd, path, lineno);
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0 || line[0] == '#')
            continue;
        if (len > LINE_MAX_BYTES) {
            rc = fail(cmd, CORE_EX_DATAERR, "%s:%zu: line longer than %d bytes", path, lineno,
                      LINE_MAX_BYTES);
            break;
        }
        tab = memchr(line, '\t', len);
        if (tab == NULL) {
            rc = fail(cmd, CORE_EX_DATAERR, "%s:%zu: malformed line: expected LABEL<TAB>TEXT",
                      path, lineno);
            break;
        }
        if (mod_label_parse(line, (unsigned long)(tab - line), &l) != 0) {
            if (quotable(line, (size_t)(tab - line)))
                rc = fail(cmd, CORE_EX_DATAERR,
                          "%s:%zu: unknown label '%.*s' (expected legit, greeting, political, "
                          "commercial, rumour, hostile, ham or spam)",
                          path, lineno, (int)(tab - line), line);
            else
                rc = fail(cmd, CORE_EX_DATAERR,
                          "%s:%zu: unknown label (expected legit, greeting, political, "
                          "commercial, rumour, hostile, ham or spam)",
                          path, lineno);
            break;
        }
        if ((size_t)(tab - line) + 1 >= len) {
            rc = fail(cmd, CORE_EX_DATAERR, "%s:%zu: malformed line: empty text", path, lineno);
            break;
        }
        corpus_add(c, l, tab + 1, len - (size_t)(tab - line) - 1);
    }
    if (rc == 0 && ferror(f))
        rc = fail(cmd, CORE_EX_NOINPUT, "cannot read %s: %s", path, strerror(errno));
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

/* Marks file: MARK<TAB>LABEL<TAB>TEXT, MARK bad or good. */
static int read_marks(const char *cmd, const char *path, struct mod_trainer *t)
{
    FILE *f = open_input(path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    size_t lineno = 0;
    int rc = 0;

    if (f == NULL)
        return fail(cmd, CORE_EX_NOINPUT, "cannot read %s: %s", path, strerror(errno));
    while ((n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        const char *t1;
        const char *t2;
        enum mod_label l;
        enum mod_fp_mark mark;

        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0 || line[0] == '#')
            continue;
        t1 = memchr(line, '\t', len);
        t2 = t1 != NULL ? memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - line)) : NULL;
        if (t2 != NULL && t1 - line == 3 && memcmp(line, "bad", 3) == 0)
            mark = MOD_MARK_BAD;
        else if (t2 != NULL && t1 - line == 4 && memcmp(line, "good", 4) == 0)
            mark = MOD_MARK_GOOD;
        else
            mark = MOD_MARK_NONE;
        if (mark == MOD_MARK_NONE || mod_label_parse(t1 + 1, (unsigned long)(t2 - t1 - 1), &l) ||
            (size_t)(t2 - line) + 1 >= len) {
            rc = fail(cmd, CORE_EX_DATAERR,
                      "%s:%zu: malformed line: expected bad|good<TAB>LABEL<TAB>TEXT", path,
                      lineno);
            break;
        }
        mod_trainer_add_mark(t, mark, l, t2 + 1, len - (size_t)(t2 + 1 - line));
    }
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

static int parse_rate(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= 0 && v < 1))
        return -1;
    *out = v;
    return 0;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    int64_t v;

    if (core_parse_i64(s, &v) != 0 || v < lo || v > hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

struct progress {
    const char *cmd; /* the subcommand named in progress lines */
};

static void progress_line(void *ud, const char *msg)
{
    const struct progress *p = ud;

    fprintf(stderr, "janseva %s: %s\n", p->cmd, msg);
}

/* ======================= train ======================= */

static const char train_help[] =
    "Usage: janseva train --out MODEL [OPTIONS] FILE...\n"
    "\n"
    "Train a moderation model from labelled posts and write it to MODEL.\n"
    "Each FILE (- for standard input) has one post per line:\n"
    "\n"
    "  LABEL<TAB>TEXT\n"
    "\n"
    "LABEL is legit, greeting, political, commercial, rumour or hostile;\n"
    "ham is read as legit and spam as commercial. Blank lines and lines\n"
    "starting with # are skipped. Exact duplicates (after normalisation) are\n"
    "learned once. The decision thresholds are calibrated by cross-validation\n"
    "so that about RATE of the legitimate posts would be held or dropped.\n"
    "\n"
    "Options:\n"
    "  -o, --out MODEL          where to write the model (required)\n"
    "  -m, --marks FILE         known templates: bad|good<TAB>LABEL<TAB>TEXT\n"
    "  -f, --folds N            calibration folds, 2-20 (default 5; 0 = none)\n"
    "  -b, --legit-blocked RATE target share of legitimate posts held or\n"
    "                           dropped (default 0.003)\n"
    "  -F, --features SPEC      feature options, e.g. osb=3,char=3-4,\n"
    "                           char-scope=all|devanagari,skeleton=1,norm=32\n"
    "                           (default osb=3,char=0,skeleton=1,norm=32)\n"
    "  -q, --quiet              no progress or summary on stderr\n"
    "  -h, --help               show this help\n"
    "\n"
    "Exit status: 0 written; 64 usage; 65 unknown label or malformed line (one\n"
    "line on stderr names the file and line; nothing is written); 66 a FILE\n"
    "cannot be read; 74 MODEL cannot be written.\n";

int mod_cli_train(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"marks", required_argument, NULL, 'm'},
                                         {"folds", required_argument, NULL, 'f'},
                                         {"legit-blocked", required_argument, NULL, 'b'},
                                         {"features", required_argument, NULL, 'F'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct mod_feat_opts fo;
    const char *out = NULL;
    const char *marks = NULL;
    unsigned folds = 5;
    double rate = MOD_TARGET_BLOCKED;
    int quiet = 0;
    struct progress prog = {"train"};
    struct corpus c;
    struct mod_trainer *t = NULL;
    struct mod_model *m = NULL;
    struct core_err err;
    size_t i;
    int rc = 0;
    int ch;

    mod_feat_opts_default(&fo);
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's */
    while ((ch = getopt_long(argc, argv, "o:m:f:b:F:qh", opts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            out = optarg;
            break;
        case 'm':
            marks = optarg;
            break;
        case 'f':
            if (parse_uint(optarg, 0, 20, &folds) != 0 || folds == 1)
                return core_cli_usage_error("train", "--folds wants 0 or 2-20");
            break;
        case 'b':
            if (parse_rate(optarg, &rate) != 0)
                return core_cli_usage_error("train", "--legit-blocked wants a share in [0, 1)");
            break;
        case 'F':
            if (mod_feat_opts_parse(optarg, &fo) != 0)
                return core_cli_usage_error("train", "--features: malformed SPEC");
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            fputs(train_help, stdout);
            return 0;
        default:
            return core_cli_usage_error("train", "unknown option");
        }
    }
    if (out == NULL)
        return core_cli_usage_error("train", "--out MODEL is required");
    if (optind >= argc)
        return core_cli_usage_error("train", "expects at least one FILE");
    memset(&c, 0, sizeof c);
    for (i = (size_t)optind; i < (size_t)argc && rc == 0; i++)
        rc = read_labelled("train", argv[i], &c, !quiet);
    if (rc != 0)
        goto out;
    t = mod_trainer_new(&fo);
    if (marks != NULL && (rc = read_marks("train", marks, t)) != 0)
        goto out;
    for (i = 0; i < c.n; i++) {
        mod_trainer_add(t, c.v[i].label, c.v[i].text, c.v[i].len);
        if (!quiet && (i + 1) % PROGRESS_EVERY == 0)
            fprintf(stderr, "janseva train: %zu posts prepared\n", i + 1);
    }
    if (mod_trainer_count(t) == 0) {
        rc = fail("train", CORE_EX_DATAERR, "no posts to learn from");
        goto out;
    }
    m = mod_trainer_build(t, NULL, NULL, folds, rate, rate / 6, quiet ? NULL : progress_line,
                          &prog);
    core_err_clear(&err);
    if (mod_model_save(m, out, &err) != 0) {
        rc = core_cli_fail(&err);
        goto out;
    }
    if (!quiet)
        fprintf(stderr,
                "janseva train: %zu posts (%zu duplicates skipped), %zu features; relay below "
                "%.2f, drop from %.2f; wrote %s\n",
                mod_trainer_count(t), mod_trainer_duplicates(t), m->nb.used, m->relay_max,
                m->drop_min, out);
out:
    mod_model_free(m);
    mod_trainer_free(t);
    corpus_free(&c);
    return rc;
}

/* ======================= classify ======================= */

static const char classify_help[] =
    "Usage: janseva classify [--model MODEL] [--phrases FILE] [--no-lists]\n"
    "\n"
    "Moderate posts read from standard input, one per line, and write one JSON\n"
    "object per input line, in order:\n"
    "\n"
    "  {\"label\":...,\"verdict\":\"relay|hold|drop\",\"urgent\":bool,\n"
    "   \"scores\":{label:probability,...},\"reasons\":[...],\"report\":bool,\"rule\":...}\n"
    "\n"
    "An input line is plain text, LABEL<TAB>TEXT (the label is ignored), or a\n"
    "JSON object with \"text\" and optionally \"caption\", \"type\" (text, image,\n"
    "...), \"has_media\", \"forwarded\" and \"frequently_forwarded\".\n"
    "Without --model the built-in model (trained from the seed corpus) is used.\n"
    "\n"
    "Options:\n"
    "  -m, --model MODEL   a model written by 'janseva train'\n"
    "  -p, --phrases FILE  extra phrase lists (LIST<TAB>TAG<TAB>PHRASE)\n"
    "  -n, --no-lists      without the shipped phrase lists\n"
    "  -h, --help          show this help\n"
    "\n"
    "The whole input is read and checked before anything is written.\n"
    "\n"
    "Exit status: 0 done; 64 usage; 65 a malformed JSON line (one line on\n"
    "stderr names the line; nothing is written) or a bad model or phrase file;\n"
    "66 MODEL cannot be read; 74 output error.\n";

/* Fill `p` from a JSON object line. Returns 0 or -1 with `why` set. */
static int post_from_json(json_t *o, struct mod_post *p, const char **why)
{
    json_t *v;

    if (!json_is_object(o)) {
        *why = "not a JSON object";
        return -1;
    }
    v = json_object_get(o, "text");
    if (v != NULL && !json_is_string(v) && !json_is_null(v)) {
        *why = "\"text\" is not a string";
        return -1;
    }
    if (json_is_string(v)) {
        p->text = json_string_value(v);
        p->len = json_string_length(v);
    }
    v = json_object_get(o, "caption");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v)) {
            *why = "\"caption\" is not a string";
            return -1;
        }
        p->caption = json_string_value(v);
    }
    v = json_object_get(o, "type");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v)) {
            *why = "\"type\" is not a string";
            return -1;
        }
        p->type = json_string_value(v);
    }
    {
        static const char *const flags[] = {"forwarded", "frequently_forwarded", "has_media"};
        bool *dst[] = {&p->forwarded, &p->frequently_forwarded, &p->has_media};
        size_t i;

        for (i = 0; i < 3; i++) {
            v = json_object_get(o, flags[i]);
            if (v == NULL || json_is_null(v))
                continue;
            if (!json_is_boolean(v)) {
                *why = "a flag (forwarded, frequently_forwarded, has_media) is not true/false";
                return -1;
            }
            *dst[i] = json_is_true(v);
        }
    }
    if (p->text == NULL && p->caption == NULL &&
        (p->type == NULL || strcmp(p->type, "text") == 0) && !p->has_media) {
        *why = "no \"text\"";
        return -1;
    }
    return 0;
}

/*
 * All of `f` in one buffer (NUL-terminated; the caller frees it), *len its
 * length; NULL on a read error. A regular file is read into a buffer of its
 * size at once; a pipe into one that doubles.
 */
static char *read_all(FILE *f, size_t *len)
{
    struct stat st;
    size_t cap = 65536;
    size_t n = 0;
    char *buf;

    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        cap = (size_t)st.st_size + 1; /* one more: the read comes back short at the end */
    buf = core_malloc(cap + 1);      /* + 1: the NUL */
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);

        n += got;
        if (n < cap) { /* a short read: the end, or an error */
            if (ferror(f)) {
                free(buf);
                return NULL;
            }
            break;
        }
        cap *= 2; /* full: there may be more (a pipe, or a growing file) */
        buf = core_realloc(buf, cap + 1);
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int mod_cli_classify(int argc, char **argv)
{
    static const struct option opts[] = {{"model", required_argument, NULL, 'm'},
                                         {"phrases", required_argument, NULL, 'p'},
                                         {"no-lists", no_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct mod_opts o;
    struct mod_engine *e = NULL;
    struct core_err err;
    char *in;
    size_t in_len;
    struct core_buf out;
    int pass;
    int rc = 0;
    int ch;

    mod_opts_default(&o);
    core_buf_init(&out, 0);
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's */
    while ((ch = getopt_long(argc, argv, "m:p:nh", opts, NULL)) != -1) {
        switch (ch) {
        case 'm':
            o.model_path = optarg;
            break;
        case 'p':
            o.phrases_path = optarg;
            break;
        case 'n':
            o.builtin_phrases = 0;
            break;
        case 'h':
            fputs(classify_help, stdout);
            return 0;
        default:
            return core_cli_usage_error("classify", "unknown option");
        }
    }
    if (optind < argc)
        return core_cli_usage_error("classify", "unexpected argument (posts come on stdin)");
    /* all of the input first: a malformed line anywhere means no output */
    in = read_all(stdin, &in_len);
    if (in == NULL)
        return fail("classify", CORE_EX_NOINPUT, "cannot read standard input");
    for (pass = 0; pass < 2 && rc == 0; pass++) {
        const char *p = in;
        const char *end = p + in_len;
        size_t lineno = 0;

        if (pass == 1) {
            core_err_clear(&err);
            e = mod_engine_new(&o, &err);
            if (e == NULL) {
                rc = core_cli_fail(&err);
                break;
            }
        }
        while (p < end && rc == 0) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
            const char *line = p;
            struct mod_post post;
            json_t *j = NULL;
            const char *tab;
            enum mod_label l;

            p += len + (nl != NULL);
            lineno++;
            if (pass == 1 && lineno % PROGRESS_EVERY == 0)
                fprintf(stderr, "janseva classify: %zu lines\n", lineno);
            while (len > 0 && line[len - 1] == '\r')
                len--;
            memset(&post, 0, sizeof post);
            post.text = line;
            post.len = len;
            if (len > 0 && line[0] == '{') {
                json_error_t jerr;
                const char *why = NULL;

                j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
                if (j == NULL) {
                    rc = fail("classify", CORE_EX_DATAERR,
                              "stdin:%zu: not valid JSON (column %d)", lineno, jerr.column);
                    break;
                }
                memset(&post, 0, sizeof post);
                if (post_from_json(j, &post, &why) != 0) {
                    json_decref(j);
                    rc = fail("classify", CORE_EX_DATAERR, "stdin:%zu: %s", lineno, why);
                    break;
                }
            } else if ((tab = memchr(line, '\t', len)) != NULL &&
                       mod_label_parse(line, (unsigned long)(tab - line), &l) == 0) {
                post.text = tab + 1;
                post.len = len - (size_t)(tab + 1 - line);
            }
            if (pass == 1) {
                struct mod_result r;

                mod_classify(e, NULL, &post, &r, &err);
                mod_result_write_json(&r, &out);
                core_buf_puts(&out, "\n");
                mod_result_cleanup(&r);
                /* whole lines, written OUT_CHUNK bytes at a time: one write(2)
                 * per few hundred posts instead of one per ten */
                if (out.len >= OUT_CHUNK) {
                    if (fwrite(out.data, 1, out.len, stdout) != out.len)
                        rc = fail("classify", CORE_EX_IOERR, "cannot write the output: %s",
                                  strerror(errno));
                    core_buf_reset(&out);
                }
            }
            json_decref(j);
        }
    }
    if (rc == 0 && out.len > 0 && fwrite(out.data, 1, out.len, stdout) != out.len)
        rc = fail("classify", CORE_EX_IOERR, "cannot write the output: %s", strerror(errno));
    if (rc == 0 && fflush(stdout) != 0)
        rc = fail("classify", CORE_EX_IOERR, "cannot write the output: %s", strerror(errno));
    core_buf_cleanup(&out);
    free(in);
    mod_engine_free(e);
    return rc;
}

/* ======================= eval ======================= */

static const char eval_help[] =
    "Usage: janseva eval --model MODEL [OPTIONS] FILE...\n"
    "       janseva eval --folds K [OPTIONS] FILE...\n"
    "\n"
    "Measure moderation quality on labelled posts (LABEL<TAB>TEXT, as for\n"
    "'janseva train'). Exact duplicates are removed first. With --model the\n"
    "model is tested on all posts; with --folds the posts are split into K\n"
    "folds, near-duplicates always in the same fold, and each fold is\n"
    "moderated by a model trained (as 'janseva train' would) on the others.\n"
    "\n"
    "Reported: per-class precision, recall and F1 of the label, the confusion\n"
    "matrix (rows: true label, columns: label given), macro-F1, \"unwanted\n"
    "caught\" (share of non-legit posts held or dropped), \"legit blocked\"\n"
    "(share of legit posts held or dropped), the review load (held), MCC of\n"
    "the relay/not-relay decision, and classification speed.\n"
    "\n"
    "Options:\n"
    "  -m, --model MODEL         evaluate this model\n"
    "  -k, --folds K             cross-validate with K folds (2-20)\n"
    "  -b, --legit-blocked RATE  calibration target when training (--folds)\n"
    "  -F, --features SPEC       feature options when training (--folds)\n"
    "  -n, --no-lists            without the shipped phrase lists\n"
    "  -w, --write-splits DIR    also write DIR/fold-N-train.tsv and -test.tsv\n"
    "  -j, --json                one JSON object instead of the text report\n"
    "  -q, --quiet               no progress on stderr\n"
    "  -h, --help                show this help\n"
    "\n"
    "Exit status: 0 done; 64 usage; 65 unknown label or malformed line (one\n"
    "line on stderr names the file and line; nothing is written); 66 a FILE or\n"
    "MODEL cannot be read.\n";

struct metrics {
    uint64_t cm[MOD_NLABELS][MOD_NLABELS]; /* [true][given] */
    uint64_t verdicts[MOD_NLABELS][3];     /* [true][verdict] */
    uint64_t posts;
    double seconds; /* classification time */
    size_t model_bytes;
    size_t model_features;
};

struct fold_use {
    const uint32_t *fold;
    uint32_t k;
};

static int not_in_fold(void *ud, size_t i)
{
    const struct fold_use *u = ud;

    return u->fold[i] != u->k;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Moderate the posts with `which[i] == k` (or all, when which is NULL). */
static void run_engine(struct mod_engine *e, const struct corpus *c, const uint32_t *which,
                       uint32_t k, struct metrics *mt)
{
    double t0 = now_s();
    size_t i;

    for (i = 0; i < c->n; i++) {
        struct mod_post p;
        struct mod_result r;
        struct core_err err;

        if (which != NULL && which[i] != k)
            continue;
        memset(&p, 0, sizeof p);
        p.text = c->v[i].text;
        p.len = c->v[i].len;
        mod_classify(e, NULL, &p, &r, &err);
        mt->cm[c->v[i].label][r.label]++;
        mt->verdicts[c->v[i].label][r.verdict]++;
        mt->posts++;
        mod_result_cleanup(&r);
    }
    mt->seconds += now_s() - t0;
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static double f1(double p, double r)
{
    return p + r > 0 ? 2 * p * r / (p + r) : 0;
}

static json_t *metrics_json(const struct metrics *mt, const char *mode)
{
    json_t *o = json_object();
    json_t *cls = json_object();
    json_t *cm = json_object();
    uint64_t legit = 0;
    uint64_t legit_blocked = 0;
    uint64_t unwanted = 0;
    uint64_t caught = 0;
    uint64_t held = 0;
    uint64_t dropped = 0;
    double macro = 0;
    unsigned present = 0;
    uint64_t tp = 0;
    uint64_t fp = 0;
    uint64_t fn = 0;
    uint64_t tn = 0;
    unsigned a;
    unsigned b;

    for (a = 0; a < MOD_NLABELS; a++) {
        uint64_t row = 0;
        uint64_t col = 0;
        json_t *r = json_object();
        double p;
        double rec;

        for (b = 0; b < MOD_NLABELS; b++) {
            row += mt->cm[a][b];
            col += mt->cm[b][a];
            json_object_set_new(r, mod_label_name((enum mod_label)b),
                                json_integer((json_int_t)mt->cm[a][b]));
        }
        json_object_set_new(cm, mod_label_name((enum mod_label)a), r);
        held += mt->verdicts[a][MOD_HOLD];
        dropped += mt->verdicts[a][MOD_DROP];
        if (a == MOD_LEGIT) {
            legit = row;
            legit_blocked = mt->verdicts[a][MOD_HOLD] + mt->verdicts[a][MOD_DROP];
            tn = mt->verdicts[a][MOD_RELAY];
            fp = legit_blocked;
        } else {
            unwanted += row;
            caught += mt->verdicts[a][MOD_HOLD] + mt->verdicts[a][MOD_DROP];
            tp += mt->verdicts[a][MOD_HOLD] + mt->verdicts[a][MOD_DROP];
            fn += mt->verdicts[a][MOD_RELAY];
        }
        if (row == 0 && col == 0)
            continue;
        p = ratio((double)mt->cm[a][a], (double)col);
        rec = ratio((double)mt->cm[a][a], (double)row);
        json_object_set_new(cls, mod_label_name((enum mod_label)a),
                            json_pack("{s:I,s:f,s:f,s:f}", "support", (json_int_t)row,
                                      "precision", p, "recall", rec, "f1", f1(p, rec)));
        if (row > 0) {
            macro += f1(p, rec);
            present++;
        }
    }
    json_object_set_new(o, "mode", json_string(mode));
    json_object_set_new(o, "posts", json_integer((json_int_t)mt->posts));
    json_object_set_new(o, "classes", cls);
    json_object_set_new(o, "confusion", cm);
    json_object_set_new(o, "macro_f1", json_real(present > 0 ? macro / present : 0));
    json_object_set_new(o, "unwanted_caught", json_real(ratio((double)caught, (double)unwanted)));
    json_object_set_new(o, "legit_blocked", json_real(ratio((double)legit_blocked, (double)legit)));
    json_object_set_new(o, "held", json_integer((json_int_t)held));
    json_object_set_new(o, "dropped", json_integer((json_int_t)dropped));
    {
        /* the relay / not-relay decision against legit / unwanted */
        double num = (double)tp * (double)tn - (double)fp * (double)fn;
        double den = sqrt(((double)tp + (double)fp) * ((double)tp + (double)fn) *
                          ((double)tn + (double)fp) * ((double)tn + (double)fn));
        double pr = ratio((double)tp, (double)(tp + fp));
        double rc = ratio((double)tp, (double)(tp + fn));
        double pr_l = ratio((double)tn, (double)(tn + fn));
        double rc_l = ratio((double)tn, (double)(tn + fp));

        json_object_set_new(o, "mcc", json_real(den > 0 ? num / den : 0));
        json_object_set_new(o, "blocked_precision", json_real(pr));
        json_object_set_new(o, "blocked_f1", json_real(f1(pr, rc)));
        json_object_set_new(o, "binary_macro_f1", json_real((f1(pr, rc) + f1(pr_l, rc_l)) / 2));
    }
    {
        /* legit vs unwanted on the label (the classifier's best guess) */
        uint64_t ltp = 0;
        uint64_t lfp = 0;
        uint64_t lfn = 0;
        uint64_t ltn = 0;
        double p1;
        double r1;
        double p0;
        double r0;

        for (a = 0; a < MOD_NLABELS; a++) {
            for (b = 0; b < MOD_NLABELS; b++) {
                uint64_t v = mt->cm[a][b];

                if (a != MOD_LEGIT && b != MOD_LEGIT)
                    ltp += v;
                else if (a == MOD_LEGIT && b != MOD_LEGIT)
                    lfp += v;
                else if (a != MOD_LEGIT)
                    lfn += v;
                else
                    ltn += v;
            }
        }
        p1 = ratio((double)ltp, (double)(ltp + lfp));
        r1 = ratio((double)ltp, (double)(ltp + lfn));
        p0 = ratio((double)ltn, (double)(ltn + lfn));
        r0 = ratio((double)ltn, (double)(ltn + lfp));
        json_object_set_new(o, "label_unwanted_f1", json_real(f1(p1, r1)));
        json_object_set_new(o, "label_binary_macro_f1", json_real((f1(p1, r1) + f1(p0, r0)) / 2));
    }
    json_object_set_new(o, "seconds", json_real(mt->seconds));
    json_object_set_new(o, "posts_per_second",
                        json_real(mt->seconds > 0 ? (double)mt->posts / mt->seconds : 0));
    json_object_set_new(o, "model_bytes", json_integer((json_int_t)mt->model_bytes));
    json_object_set_new(o, "model_features", json_integer((json_int_t)mt->model_features));
    return o;
}

static void print_report(json_t *o, FILE *f)
{
    json_t *cls = json_object_get(o, "classes");
    json_t *cm = json_object_get(o, "confusion");
    unsigned a;
    unsigned b;

    fprintf(f, "posts: %lld (%s)\n\n", (long long)json_integer_value(json_object_get(o, "posts")),
            json_string_value(json_object_get(o, "mode")));
    fprintf(f, "%-11s %8s %9s %7s %7s\n", "class", "support", "precision", "recall", "F1");
    for (a = 0; a < MOD_NLABELS; a++) {
        json_t *c = json_object_get(cls, mod_label_name((enum mod_label)a));

        if (c == NULL)
            continue;
        fprintf(f, "%-11s %8lld %9.4f %7.4f %7.4f\n", mod_label_name((enum mod_label)a),
                (long long)json_integer_value(json_object_get(c, "support")),
                json_real_value(json_object_get(c, "precision")),
                json_real_value(json_object_get(c, "recall")),
                json_real_value(json_object_get(c, "f1")));
    }
    fprintf(f, "\nconfusion (rows: true label, columns: label given)\n%-11s", "");
    for (b = 0; b < MOD_NLABELS; b++)
        fprintf(f, " %10.10s", mod_label_name((enum mod_label)b));
    fputc('\n', f);
    for (a = 0; a < MOD_NLABELS; a++) {
        json_t *r = json_object_get(cm, mod_label_name((enum mod_label)a));

        fprintf(f, "%-11s", mod_label_name((enum mod_label)a));
        for (b = 0; b < MOD_NLABELS; b++)
            fprintf(f, " %10lld",
                    (long long)json_integer_value(
                        json_object_get(r, mod_label_name((enum mod_label)b))));
        fputc('\n', f);
    }
    fprintf(f,
            "\nmacro-F1 (labels present):        %.4f\n"
            "legit vs unwanted macro-F1 (label): %.4f\n"
            "unwanted caught (held or dropped): %.4f\n"
            "legit blocked (held or dropped):   %.4f\n"
            "held: %lld  dropped: %lld\n"
            "MCC (relay vs not):                %.4f\n"
            "speed: %.0f posts/s (classification only); model %lld features, %lld bytes\n",
            json_real_value(json_object_get(o, "macro_f1")),
            json_real_value(json_object_get(o, "label_binary_macro_f1")),
            json_real_value(json_object_get(o, "unwanted_caught")),
            json_real_value(json_object_get(o, "legit_blocked")),
            (long long)json_integer_value(json_object_get(o, "held")),
            (long long)json_integer_value(json_object_get(o, "dropped")),
            json_real_value(json_object_get(o, "mcc")),
            json_real_value(json_object_get(o, "posts_per_second")),
            (long long)json_integer_value(json_object_get(o, "model_features")),
            (long long)json_integer_value(json_object_get(o, "model_bytes")));
}

static int write_splits(const char *dir, const struct corpus *c, const uint32_t *fold,
                        unsigned k)
{
    unsigned f;
    size_t i;

    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return fail("eval", CORE_EX_IOERR, "cannot create %s: %s", dir, strerror(errno));
    for (f = 0; f < k; f++) {
        char path[4096];
        FILE *tr;
        FILE *te;

        snprintf(path, sizeof path, "%s/fold-%u-train.tsv", dir, f + 1);
        tr = fopen(path, "w");
        snprintf(path, sizeof path, "%s/fold-%u-test.tsv", dir, f + 1);
        te = fopen(path, "w");
        if (tr == NULL || te == NULL) {
            if (tr != NULL)
                fclose(tr);
            if (te != NULL)
                fclose(te);
            return fail("eval", CORE_EX_IOERR, "cannot write in %s: %s", dir, strerror(errno));
        }
        for (i = 0; i < c->n; i++) {
            FILE *to = fold[i] == f ? te : tr;
            size_t j;

            fprintf(to, "%s\t", mod_label_name(c->v[i].label));
            for (j = 0; j < c->v[i].len; j++) {
                char ch = c->v[i].text[j];

                fputc(ch == '\t' || ch == '\n' || ch == '\r' ? ' ' : ch, to);
            }
            fputc('\n', to);
        }
        if (fclose(tr) != 0 || fclose(te) != 0)
            return fail("eval", CORE_EX_IOERR, "cannot write in %s", dir);
    }
    return 0;
}

int mod_cli_eval(int argc, char **argv)
{
    static const struct option opts[] = {{"model", required_argument, NULL, 'm'},
                                         {"folds", required_argument, NULL, 'k'},
                                         {"legit-blocked", required_argument, NULL, 'b'},
                                         {"features", required_argument, NULL, 'F'},
                                         {"no-lists", no_argument, NULL, 'n'},
                                         {"write-splits", required_argument, NULL, 'w'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *model = NULL;
    const char *splits = NULL;
    unsigned folds = 0;
    double rate = MOD_TARGET_BLOCKED;
    int as_json = 0;
    int quiet = 0;
    struct mod_opts o;
    struct mod_feat_opts fo;
    struct corpus all;
    struct corpus c;
    struct mod_trainer *t = NULL;
    struct metrics *mt = core_calloc(1, sizeof *mt);
    uint32_t *fold = NULL;
    struct core_err err;
    size_t i;
    int rc = 0;
    int ch;

    mod_opts_default(&o);
    mod_feat_opts_default(&fo);
    memset(&all, 0, sizeof all);
    memset(&c, 0, sizeof c);
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's */
    while ((ch = getopt_long(argc, argv, "m:k:b:F:nw:jqh", opts, NULL)) != -1) {
        switch (ch) {
        case 'm':
            model = optarg;
            break;
        case 'k':
            if (parse_uint(optarg, 2, 20, &folds) != 0) {
                free(mt);
                return core_cli_usage_error("eval", "--folds wants 2-20");
            }
            break;
        case 'b':
            if (parse_rate(optarg, &rate) != 0) {
                free(mt);
                return core_cli_usage_error("eval", "--legit-blocked wants a share in [0, 1)");
            }
            break;
        case 'F':
            if (mod_feat_opts_parse(optarg, &fo) != 0) {
                free(mt);
                return core_cli_usage_error("eval", "--features: malformed SPEC");
            }
            break;
        case 'n':
            o.builtin_phrases = 0;
            break;
        case 'w':
            splits = optarg;
            break;
        case 'j':
            as_json = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            fputs(eval_help, stdout);
            free(mt);
            return 0;
        default:
            free(mt);
            return core_cli_usage_error("eval", "unknown option");
        }
    }
    if ((model == NULL) == (folds == 0)) {
        free(mt);
        return core_cli_usage_error("eval", "give either --model MODEL or --folds K");
    }
    if (optind >= argc) {
        free(mt);
        return core_cli_usage_error("eval", "expects at least one FILE");
    }
    for (i = (size_t)optind; i < (size_t)argc && rc == 0; i++)
        rc = read_labelled("eval", argv[i], &all, !quiet);
    if (rc != 0)
        goto out;
    /* de-duplicate: the trainer knows the normalised keys */
    t = mod_trainer_new(&fo);
    for (i = 0; i < all.n; i++) {
        if (mod_trainer_add(t, all.v[i].label, all.v[i].text, all.v[i].len))
            corpus_add(&c, all.v[i].label, all.v[i].text, all.v[i].len);
    }
    if (!quiet)
        fprintf(stderr, "janseva eval: %zu posts, %zu exact duplicates removed\n", c.n,
                mod_trainer_duplicates(t));
    core_err_clear(&err);
    if (model != NULL) {
        struct mod_engine *e;

        o.model_path = model;
        e = mod_engine_new(&o, &err);
        if (e == NULL) {
            rc = core_cli_fail(&err);
            goto out;
        }
        mt->model_bytes = mod_model_memory(mod_engine_model(e));
        mt->model_features = mod_engine_model(e)->nb.used;
        run_engine(e, &c, NULL, 0, mt);
        mod_engine_free(e);
    } else {
        unsigned k;

        fold = core_malloc((c.n + 1) * sizeof fold[0]);
        for (i = 0; i < c.n; i++) {
            uint64_t h = mod_trainer_group(t, i) * 0x9E3779B97F4A7C15ULL;

            fold[i] = (uint32_t)((h >> 32) % folds);
        }
        if (splits != NULL && (rc = write_splits(splits, &c, fold, folds)) != 0)
            goto out;
        for (k = 0; k < folds; k++) {
            struct fold_use u = {fold, k};
            struct mod_model *m;
            struct mod_engine *e;

            if (!quiet)
                fprintf(stderr, "janseva eval: fold %u of %u: training\n", k + 1, folds);
            m = mod_trainer_build(t, not_in_fold, &u, 5, rate, rate / 6, NULL, NULL);
            mt->model_bytes = mod_model_memory(m);
            mt->model_features = m->nb.used;
            e = mod_engine_new_with_model(&o, m, &err);
            if (e == NULL) {
                rc = core_cli_fail(&err);
                goto out;
            }
            run_engine(e, &c, fold, k, mt);
            mod_engine_free(e);
        }
    }
    {
        char mode[64];
        json_t *j;

        if (model != NULL)
            snprintf(mode, sizeof mode, "model");
        else
            snprintf(mode, sizeof mode, "%u-fold cross-validation", folds);
        j = metrics_json(mt, mode);
        if (as_json) {
            char *s = json_dumps(j, JSON_COMPACT);

            puts(s);
            free(s);
        } else {
            print_report(j, stdout);
        }
        json_decref(j);
        if (fflush(stdout) != 0)
            rc = fail("eval", CORE_EX_IOERR, "cannot write the report");
    }
out:
    free(fold);
    free(mt);
    mod_trainer_free(t);
    corpus_free(&c);
    corpus_free(&all);
    return rc;
}
