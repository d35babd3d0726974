/*
 * groups/texts.c - the text catalogue (see texts.h): parse the embedded
 * .tsv files once, look texts up by id, fill placeholders.
 */
#include "groups/texts.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char *id;
    char *text; /* unescaped */
};

struct table {
    struct entry *e;
    size_t cap; /* entries allocated */
    size_t n;
};

static struct table tables[GRP_LANG_COUNT];
static struct table words; /* id = kind, text = word, in file order */
static char consent_version[GRP_TEXT_VERSION_LEN];
static struct core_buf problems;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The texts a member consents to (their version is recorded as `cv`). */
static const char *const consent_ids[] = {"enrol.welcome.long", "rules.body", "join.consent"};

static const char *const lang_codes[GRP_LANG_COUNT] = {"hi", "en"};

const char *grp_lang_code(enum grp_lang lang)
{
    return (unsigned)lang < GRP_LANG_COUNT ? lang_codes[lang] : "hi";
}

int grp_lang_parse(const char *s, enum grp_lang *out)
{
    int i;

    for (i = 0; i < GRP_LANG_COUNT; i++) {
        if (s != NULL && strcmp(s, lang_codes[i]) == 0) {
            *out = (enum grp_lang)i;
            return 0;
        }
    }
    return -1;
}

/* ======================= parsing ======================= */

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->id, ((const struct entry *)b)->id);
}

/* Unescape `\n` and `\\` of a TSV value; other escapes are reported. */
static char *unescape(const char *s, size_t n, const char *file, size_t line)
{
    struct core_buf b;
    size_t i;

    core_buf_init(&b, 0);
    for (i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == 'n') {
            core_buf_append(&b, "\n", 1);
            i++;
        } else if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\\') {
            core_buf_append(&b, "\\", 1);
            i++;
        } else {
            if (s[i] == '\\')
                core_buf_printf(&problems, "%s:%zu: unknown escape\n", file, line);
            core_buf_append(&b, s + i, 1);
        }
    }
    return core_buf_steal(&b);
}

static void parse_file(const struct grp_text_file *f, struct table *t, int sorted)
{
    const char *p = f->data;
    const char *end = f->data + f->len;
    size_t line = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;
        const char *tab;

        line++;
        if (eol > p && eol[-1] == '\r')
            eol--;
        if (eol > p && p[0] != '#') {
            tab = memchr(p, '\t', (size_t)(eol - p));
            if (tab == NULL || tab == p || tab + 1 >= eol) {
                core_buf_printf(&problems, "%s:%zu: not ID<TAB>TEXT\n", f->name, line);
            } else {
                if (t->n == t->cap) { /* the table may already hold other files */
                    t->cap = t->cap != 0 ? 2 * t->cap : 64;
                    t->e = core_realloc(t->e, t->cap * sizeof *t->e);
                }
                t->e[t->n].id = core_strndup(p, (size_t)(tab - p));
                t->e[t->n].text = unescape(tab + 1, (size_t)(eol - tab - 1), f->name, line);
                t->n++;
            }
        }
        p = nl != NULL ? nl + 1 : end;
    }
    if (!sorted)
        return;
    qsort(t->e, t->n, sizeof *t->e, cmp_entry);
    for (size_t i = 1; i < t->n; i++) {
        if (strcmp(t->e[i - 1].id, t->e[i].id) == 0)
            core_buf_printf(&problems, "%s: duplicate id %s\n", f->name, t->e[i].id);
    }
}

static const struct entry *find(const struct table *t, const char *id)
{
    struct entry key;

    key.id = (char *)(uintptr_t)id;
    key.text = NULL;
    if (t->n == 0)
        return NULL;
    return bsearch(&key, t->e, t->n, sizeof *t->e, cmp_entry);
}

static void compute_consent_version(void)
{
    crypto_generichash_state st;
    unsigned char h[16];
    size_t i;
    int l;

    crypto_generichash_init(&st, NULL, 0, sizeof h);
    for (l = 0; l < GRP_LANG_COUNT; l++) {
        for (i = 0; i < sizeof consent_ids / sizeof consent_ids[0]; i++) {
            const struct entry *e = find(&tables[l], consent_ids[i]);
            const char *s = e != NULL ? e->text : "";

            /* length-prefixed, so texts cannot slide into each other */
            crypto_generichash_update(&st, (const unsigned char *)consent_ids[i],
                                      strlen(consent_ids[i]) + 1);
            crypto_generichash_update(&st, (const unsigned char *)s, strlen(s) + 1);
        }
    }
    crypto_generichash_final(&st, h, sizeof h);
    consent_version[0] = 'c';
    core_hex(consent_version + 1, h, 4);
}

static void load(void)
{
    size_t i;

    core_buf_init(&problems, 0);
    for (i = 0; i < grp_text_nfiles; i++) {
        enum grp_lang lang;
        char code[8];
        const char *name = grp_text_files[i].name;
        const char *dot = strchr(name, '.');
        const char *start = name;
        size_t n;

        if (strcmp(name, "words.tsv") == 0) {
            parse_file(&grp_text_files[i], &words, 0);
            continue;
        }
        /* LANG.tsv or PART_LANG.tsv (tip_hi.tsv, broadcast_en.tsv): one catalogue */
        for (const char *p = name; dot != NULL && p < dot; p++) {
            if (*p == '_')
                start = p + 1;
        }
        n = dot != NULL ? (size_t)(dot - start) : 0;
        if (n == 0 || n >= sizeof code) {
            core_buf_printf(&problems, "%s: file name is not LANG.tsv or PART_LANG.tsv\n", name);
            continue;
        }
        memcpy(code, start, n);
        code[n] = '\0';
        if (grp_lang_parse(code, &lang) != 0) {
            core_buf_printf(&problems, "%s: unknown language\n", grp_text_files[i].name);
            continue;
        }
        parse_file(&grp_text_files[i], &tables[lang], 1);
    }
    compute_consent_version();
}

static void ensure_loaded(void)
{
    pthread_once(&once, load);
}

/* ======================= lookups ======================= */

void grp_text_words(void (*fn)(void *ud, const char *kind, const char *word), void *ud)
{
    ensure_loaded();
    for (size_t i = 0; i < words.n; i++)
        fn(ud, words.e[i].id, words.e[i].text);
}

const char *grp_text_raw(enum grp_lang lang, const char *id)
{
    const struct entry *e;

    ensure_loaded();
    if ((unsigned)lang >= GRP_LANG_COUNT || id == NULL)
        return NULL;
    e = find(&tables[lang], id);
    return e != NULL ? e->text : NULL;
}

char *grp_text_fmt(enum grp_lang lang, const char *id, const char *const args[], size_t nargs)
{
    const char *t = grp_text_raw(lang, id);
    struct core_buf b;
    const char *p;

    if (t == NULL)
        t = grp_text_raw(GRP_LANG_HI, id);
    if (t == NULL) {
        const char *shown = id != NULL ? id : "?";

        core_log_error("texts", NULL, "no text with id '%s' in the catalogue", shown);
        return core_strdup(shown);
    }
    core_buf_init(&b, 0);
    for (p = t; *p != '\0'; p++) {
        if (p[0] == '{' && p[1] >= '1' && p[1] <= '9' && p[2] == '}') {
            size_t k = (size_t)(p[1] - '1');

            if (k < nargs && args[k] != NULL)
                core_buf_puts(&b, args[k]);
            p += 2;
        } else {
            core_buf_append(&b, p, 1);
        }
    }
    return core_buf_steal(&b);
}

size_t grp_text_chars(const char *s, size_t len)
{
    size_t i;
    size_t n = 0;

    for (i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    }
    return n;
}

size_t grp_text_clip(char *s, size_t max)
{
    static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */
    size_t len = strlen(s);
    size_t i;
    size_t n = 0;

    if (grp_text_chars(s, len) <= max)
        return len;
    if (max == 0) {
        s[0] = '\0';
        return 0;
    }
    /* keep max-1 characters, then the ellipsis */
    for (i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (n == max - 1)
                break;
            n++;
        }
    }
    /* room for the ellipsis: the cut-off part must be at least as long */
    while (i > 0 && len - i < sizeof ellipsis - 1) {
        i--;
        while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
            i--;
    }
    /* a cut inside a word's combining marks is fine: the ellipsis follows */
    while (i > 0 && s[i - 1] == ' ')
        i--;
    memcpy(s + i, ellipsis, sizeof ellipsis); /* NUL included; fits (above) */
    return i + sizeof ellipsis - 1;
}

char *grp_text_one_line(const char *s, size_t max)
{
    size_t n = strlen(s);
    char *out = core_malloc(n + 1);
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i] == '\n' || s[i] == '\t' || s[i] == '\r' ? ' ' : s[i];

        if (c == ' ' && (k == 0 || out[k - 1] == ' '))
            continue;
        out[k++] = c;
    }
    while (k > 0 && out[k - 1] == ' ')
        k--;
    out[k] = '\0';
    if (max > 0)
        grp_text_clip(out, max);
    return out;
}

const char *grp_text_consent_version(void)
{
    ensure_loaded();
    return consent_version;
}

size_t grp_text_count(enum grp_lang lang)
{
    ensure_loaded();
    return (unsigned)lang < GRP_LANG_COUNT ? tables[lang].n : 0;
}

const char *grp_text_id_at(enum grp_lang lang, size_t i)
{
    ensure_loaded();
    if ((unsigned)lang >= GRP_LANG_COUNT || i >= tables[lang].n)
        return NULL;
    return tables[lang].e[i].id;
}

unsigned grp_text_placeholders(const char *text)
{
    unsigned mask = 0;
    const char *p;

    for (p = text; *p != '\0'; p++) {
        if (*p != '{')
            continue;
        if (p[1] >= '1' && p[1] <= '9' && p[2] == '}')
            mask |= 1u << (p[1] - '0');
        else
            mask |= 1u;
    }
    return mask;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

size_t grp_text_limit(const char *id)
{
    if (ends_with(id, ".btn") || ends_with(id, ".list"))
        return GRP_TEXT_BUTTON_MAX;
    if (ends_with(id, ".row"))
        return GRP_TEXT_ROW_MAX;
    if (ends_with(id, ".desc"))
        return GRP_TEXT_DESC_MAX;
    if (ends_with(id, ".long"))
        return GRP_TEXT_LONG_MAX;
    return GRP_TEXT_BODY_MAX;
}

const char *grp_text_problems(void)
{
    ensure_loaded();
    return core_buf_str(&problems);
}
