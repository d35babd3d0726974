/*
 * moderation/norm.c - the matching key of a post (see norm.h for the rules).
 *
 * Work happens on an array of code points: sanitise the UTF-8, decompose
 * with compatibility mappings and case folding (NFKD + casefold), apply the
 * Devanagari folds on the decomposed form (where a nukta is a separate
 * code point), drop ignorables, compose (NFKC), then the word-level passes
 * (scripts, repeats, spaced letters) and finally encode to UTF-8.
 */
#include "moderation/norm.h"
#include "core/mem.h"

#include <string.h>
#include <utf8proc.h>

#if UTF8PROC_VERSION_MAJOR < 2 || (UTF8PROC_VERSION_MAJOR == 2 && UTF8PROC_VERSION_MINOR < 5)
#error "moderation needs utf8proc 2.5 or later (Debian 12 ships 2.8)"
#endif

/* Negative values mark removed ignorables until they are resolved. */
#define SPACE 0x20

#define DEVA_NUKTA 0x093C
#define DEVA_CANDRABINDU 0x0901
#define DEVA_ANUSVARA 0x0902
#define DEVA_VIRAMA 0x094D
#define ZWNJ 0x200C
#define ZWJ 0x200D

enum script {
    SCRIPT_LATIN = 1,
    SCRIPT_CYRILLIC = 2,
    SCRIPT_GREEK = 4,
    SCRIPT_DEVA = 8,
};

/* ======================= character classes ======================= */

static int is_deva_block(int32_t c)
{
    return c >= 0x0900 && c <= 0x097F;
}

static int is_letter(int32_t c)
{
    utf8proc_category_t cat;

    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (is_deva_block(c)) /* Devanagari letters, without the utf8proc lookup */
        return (c >= 0x0904 && c <= 0x0939) || c == 0x093D || c == 0x0950 ||
               (c >= 0x0958 && c <= 0x0961) || c >= 0x0971;
    cat = utf8proc_category(c);
    return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
}

static int is_digit(int32_t c)
{
    if (c < 0x80)
        return c >= '0' && c <= '9';
    if (is_deva_block(c))
        return c >= 0x0966 && c <= 0x096F;
    return utf8proc_category(c) == UTF8PROC_CATEGORY_ND;
}

int mod_norm_is_word_cp(int32_t c)
{
    utf8proc_category_t cat;

    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (is_deva_block(c)) /* all letters, marks and digits but the dandas and 0970 */
        return c != 0x0964 && c != 0x0965 && c != 0x0970;
    if (c > 0x10FFFF)
        return 0;
    cat = utf8proc_category(c);
    return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO;
}

int mod_norm_is_emoji_cp(int32_t c)
{
    const utf8proc_property_t *p;

    if (c < 0xA9 || c > 0x10FFFF || is_deva_block(c))
        return 0;
    if (c >= 0x1F1E6 && c <= 0x1F1FF) /* regional indicators (flags) */
        return 1;
    p = utf8proc_get_property(c);
    return p->boundclass == UTF8PROC_BOUNDCLASS_EXTENDED_PICTOGRAPHIC ||
           p->boundclass == UTF8PROC_BOUNDCLASS_E_ZWG;
}

static int is_space_cp(int32_t c)
{
    utf8proc_category_t cat;

    if (c < 0x80)
        return c == ' ' || (c >= 0x09 && c <= 0x0D) || c < 0x20 || c == 0x7F;
    cat = utf8proc_category(c);
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
           cat == UTF8PROC_CATEGORY_ZP || cat == UTF8PROC_CATEGORY_CC ||
           cat == UTF8PROC_CATEGORY_CS;
}

static int is_latin_letter(int32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    return ((c >= 0xC0 && c < 0x250) || (c >= 0x1E00 && c < 0x1F00)) && is_letter(c);
}

static unsigned script_of(int32_t c)
{
    if (is_latin_letter(c))
        return SCRIPT_LATIN;
    if (c >= 0x0400 && c < 0x0530)
        return SCRIPT_CYRILLIC;
    if (c >= 0x0370 && c < 0x0400)
        return SCRIPT_GREEK;
    if ((c >= 0x0900 && c < 0x0980) || (c >= 0xA8E0 && c < 0xA900))
        return SCRIPT_DEVA;
    return 0;
}

static int is_deva_consonant(int32_t c)
{
    return c >= 0x0915 && c <= 0x0939;
}

/* Stops (क..न, प..म): a nasal + virama before one of these is an anusvara. */
static int is_deva_stop(int32_t c)
{
    return (c >= 0x0915 && c <= 0x0928) || (c >= 0x092A && c <= 0x092E);
}

static int is_deva_nasal(int32_t c)
{
    return c == 0x0919 || c == 0x091E || c == 0x0923 || c == 0x0928 || c == 0x092E;
}

/* Lower-case Cyrillic and Greek letters that look like Latin ones. */
static int32_t confusable_to_latin(int32_t c)
{
    static const int32_t map[][2] = {
        {0x0430, 'a'}, {0x0432, 'b'}, {0x0435, 'e'}, {0x043A, 'k'}, {0x043C, 'm'},
        {0x043D, 'h'}, {0x043E, 'o'}, {0x0440, 'p'}, {0x0441, 'c'}, {0x0442, 't'},
        {0x0443, 'y'}, {0x0445, 'x'}, {0x0451, 'e'}, {0x0455, 's'}, {0x0456, 'i'},
        {0x0458, 'j'}, {0x04BB, 'h'}, {0x0501, 'd'}, {0x051B, 'q'}, {0x051D, 'w'},
        {0x03B1, 'a'}, {0x03B5, 'e'}, {0x03B9, 'i'}, {0x03BA, 'k'}, {0x03BD, 'v'},
        {0x03BF, 'o'}, {0x03C1, 'p'}, {0x03C4, 't'}, {0x03C5, 'u'}, {0x03C7, 'x'},
    };
    size_t i;

    for (i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (map[i][0] == c)
            return map[i][1];
    }
    return c;
}

/* ======================= buffers ======================= */

static void cp_reserve(struct mod_norm *n, size_t want)
{
    if (want <= n->cp_cap)
        return;
    n->cp_cap = want + want / 2 + 64;
    n->cp = core_realloc(n->cp, n->cp_cap * sizeof n->cp[0]);
}

void mod_norm_init(struct mod_norm *n)
{
    memset(n, 0, sizeof *n);
}

void mod_norm_cleanup(struct mod_norm *n)
{
    free(n->cp);
    free(n->in);
    free(n->key);
    memset(n, 0, sizeof *n);
}

/* Copy `len` bytes of `text` into n->in as valid UTF-8 (bad bytes become
 * U+FFFD). Returns the number of bytes written. */
static size_t sanitise(struct mod_norm *n, const char *text, size_t len)
{
    const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)text;
    size_t i = 0;
    size_t o = 0;

    if (len > MOD_NORM_MAX_BYTES) {
        len = MOD_NORM_MAX_BYTES;
        n->flags |= MOD_NORM_TRUNCATED;
    }
    if (n->in_cap < len * 3 + 4) {
        n->in_cap = len * 3 + 4;
        n->in = core_realloc(n->in, n->in_cap);
    }
    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k;

        if (s[i] < 0x80) {
            n->in[o++] = (char)(s[i] == 0 ? ' ' : s[i]);
            i++;
            continue;
        }
        k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0) {
            if (len - i < 4 && (n->flags & MOD_NORM_TRUNCATED) != 0) {
                break; /* a character cut by the length limit */
            }
            memcpy(n->in + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
            n->flags |= MOD_NORM_BAD_UTF8;
            continue;
        }
        memcpy(n->in + o, s + i, (size_t)k);
        o += (size_t)k;
        i += (size_t)k;
    }
    n->in[o] = '\0';
    return o;
}

/* ======================= passes ======================= */

/* NFKD + casefold of n->in into n->cp. Returns the number of code points. */
static size_t decompose(struct mod_norm *n, size_t inlen)
{
    const utf8proc_option_t opt =
        UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD;
    utf8proc_ssize_t r;

    cp_reserve(n, inlen + 16);
    for (;;) {
        r = utf8proc_decompose_custom((const utf8proc_uint8_t *)n->in, (utf8proc_ssize_t)inlen,
                                      n->cp, (utf8proc_ssize_t)n->cp_cap, opt, NULL, NULL);
        if (r < 0)
            return 0; /* cannot happen on sanitised input */
        if ((size_t)r <= n->cp_cap)
            return (size_t)r;
        cp_reserve(n, (size_t)r);
    }
}

/*
 * White space, controls, Devanagari folds; ignorables become negative
 * markers (-code point) resolved by resolve_ignorables(). In place.
 */
static size_t fold(struct mod_norm *n, size_t len)
{
    int32_t *c = n->cp;
    size_t j = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        int32_t x = c[i];

        if (x < 0x80) {
            if (x == ' ' || x < 0x20 || x == 0x7F) {
                if (j > 0 && c[j - 1] != SPACE)
                    c[j++] = SPACE;
                continue;
            }
            c[j++] = x;
            continue;
        }
        if (x == DEVA_NUKTA)
            continue;
        if (utf8proc_get_property(x)->ignorable) {
            c[j++] = -x;
            continue;
        }
        if (is_space_cp(x)) {
            if (j > 0 && c[j - 1] != SPACE)
                c[j++] = SPACE;
            continue;
        }
        switch (x) {
        case DEVA_CANDRABINDU:
            x = DEVA_ANUSVARA;
            break;
        case 0x0949: /* ॉ candra o -> ा */
            x = 0x093E;
            break;
        case 0x0945: /* ॅ candra e -> े */
            x = 0x0947;
            break;
        case 0x0911: /* ऑ -> आ */
            x = 0x0906;
            break;
        case 0x090D: /* ऍ -> ए */
            x = 0x090F;
            break;
        default:
            if (x >= 0x0966 && x <= 0x096F) /* Devanagari digits */
                x = '0' + (x - 0x0966);
            break;
        }
        c[j++] = x;
    }
    return j;
}

/* The nearest code point before/after position i that is not a marker. */
static int32_t neighbour(const int32_t *c, size_t len, size_t i, int dir)
{
    for (;;) {
        if (dir < 0) {
            if (i == 0)
                return 0;
            i--;
        } else {
            if (i + 1 >= len)
                return 0;
            i++;
        }
        if (c[i] >= 0)
            return c[i];
    }
}

/* Count ignorables between letters (see norm.h), then drop all markers. */
static size_t resolve_ignorables(struct mod_norm *n, size_t len)
{
    int32_t *c = n->cp;
    size_t j = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        if (c[i] >= 0) {
            c[j++] = c[i];
            continue;
        }
        {
            int32_t orig = -c[i];
            int32_t prev = neighbour(c, len, i, -1);
            int32_t next = neighbour(c, len, i, 1);
            int counted;

            if (orig == ZWJ || orig == ZWNJ)
                counted = is_latin_letter(prev) && is_latin_letter(next);
            else if (orig >= 0xFE00 && orig <= 0xFE0F)
                counted = 0; /* variation selectors follow emoji and CJK */
            else
                counted = mod_norm_is_word_cp(prev) && is_letter(next);
            if (counted) {
                n->n_invisible++;
                n->flags |= MOD_NORM_INVISIBLE;
            }
        }
    }
    return j;
}

/*
 * Canonical ordering again: an ignorable between two combining marks (a
 * variation selector, say) blocked the reordering of the decomposition;
 * now that it is gone, marks must be in combining-class order or the key
 * would change when normalised a second time.
 */
static void reorder_marks(int32_t *c, size_t len)
{
    size_t i;

    for (i = 1; i < len; i++) {
        int ccc = utf8proc_get_property(c[i])->combining_class;
        size_t j = i;

        if (ccc == 0)
            continue;
        while (j > 0 && utf8proc_get_property(c[j - 1])->combining_class > ccc) {
            int32_t tmp = c[j - 1];

            c[j - 1] = c[j];
            c[j] = tmp;
            j--;
        }
    }
}

/* A nasal consonant + virama before a stop becomes an anusvara. In place;
 * runs on the composed form (Devanagari consonants are single code points). */
static size_t nasal_to_anusvara(int32_t *c, size_t len)
{
    size_t j = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        if (i + 2 < len && is_deva_nasal(c[i]) && c[i + 1] == DEVA_VIRAMA &&
            is_deva_stop(c[i + 2]) && c[i + 2] != c[i] && j > 0 &&
            (is_deva_consonant(c[j - 1]) || (c[j - 1] >= 0x093E && c[j - 1] <= 0x094C) ||
             (c[j - 1] >= 0x0904 && c[j - 1] <= 0x0914))) {
            c[j++] = DEVA_ANUSVARA;
            i++; /* skip the virama */
            continue;
        }
        c[j++] = c[i];
    }
    return j;
}

/* Scripts per word: map look-alikes in Latin words, flag mixtures, count. */
static void scripts(struct mod_norm *n, int32_t *c, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t start;
        unsigned seen = 0;
        size_t k;

        if (!mod_norm_is_word_cp(c[i])) {
            i++;
            continue;
        }
        start = i;
        while (i < len && mod_norm_is_word_cp(c[i])) {
            seen |= script_of(c[i]);
            i++;
        }
        if ((seen & SCRIPT_LATIN) != 0 && (seen & (SCRIPT_CYRILLIC | SCRIPT_GREEK)) != 0) {
            for (k = start; k < i; k++)
                c[k] = confusable_to_latin(c[k]);
        }
        if ((seen & (seen - 1)) != 0)
            n->flags |= MOD_NORM_MIXED_SCRIPT;
        for (k = start; k < i; k++) {
            unsigned s = script_of(c[k]);

            if (s == SCRIPT_LATIN)
                n->n_latin++;
            else if (s == SCRIPT_DEVA)
                n->n_deva++;
        }
    }
}

/* True if the chunk c[0..len) looks like a URL ("www." or "://" in it). */
static int url_like(const int32_t *c, size_t len)
{
    size_t i;

    if (len >= 4 && c[0] == 'w' && c[1] == 'w' && c[2] == 'w' && c[3] == '.')
        return 1;
    for (i = 0; i + 2 < len; i++) {
        if (c[i] == ':' && c[i + 1] == '/' && c[i + 2] == '/')
            return 1;
    }
    return 0;
}

/* Runs of 3+ identical code points (digits excepted) keep 2, except in
 * URLs ("www."). In place. */
static size_t collapse_repeats(int32_t *c, size_t len)
{
    size_t j = 0;
    size_t i = 0;

    while (i < len) {
        size_t e = i;

        while (e < len && c[e] != SPACE)
            e++;
        if (url_like(c + i, e - i)) {
            while (i < e)
                c[j++] = c[i++];
        } else {
            size_t start = j;

            for (; i < e; i++) {
                if (j >= start + 2 && c[i] == c[j - 1] && c[i] == c[j - 2] && !is_digit(c[i]))
                    continue;
                c[j++] = c[i];
            }
        }
        if (i < len)
            c[j++] = c[i++]; /* the space */
    }
    return j;
}

/*
 * Common one-letter words that must not be glued to their neighbours: 2 for
 * a Devanagari word (है, को: kept apart at the ends of a run), 1 for a Latin
 * SMS word (u, r: only counted), 0 otherwise.
 */
static int short_stopword(const int32_t *c, size_t len)
{
    static const char *const deva[] = {
        "है", "हैं", "की", "का", "के", "को", "से", "ने",
        "में", "मैं", "तो", "भी", "ही", "न", "व", "या",
        "जो", "वो", "वे", "ये", "हो", "था", "थी", "थे",
        "दो", "लो", "दे", "ले", "पे", "कि", "जी", "ना",
        "हां", "मां", "ओ", "ए", "रे", "तू", "सो", "नि",
    };
    char buf[32];
    size_t o = 0;
    size_t i;

    if (len == 1 && c[0] < 0x80)
        return strchr("aiurnycbk", (int)c[0]) != NULL ? 1 : 0;
    for (i = 0; i < len; i++) {
        if (o + 4 >= sizeof buf)
            return 0;
        o += (size_t)utf8proc_encode_char(c[i], (utf8proc_uint8_t *)buf + o);
    }
    buf[o] = '\0';
    for (i = 0; i < sizeof deva / sizeof deva[0]; i++) {
        if (strcmp(buf, deva[i]) == 0)
            return 2;
    }
    return 0;
}

/*
 * True if c[0..len) is one letter with its marks: a Latin letter, or a
 * Devanagari akshara (consonants joined by virama, then vowel sign and
 * anusvara), as Unicode 15.1 grapheme clusters have it.
 */
static int is_single_letter(const int32_t *c, size_t len)
{
    size_t i;

    if (len == 0 || len > 8 || !is_letter(c[0]))
        return 0;
    for (i = 1; i < len; i++) {
        if (is_letter(c[i])) {
            if (c[i - 1] != DEVA_VIRAMA)
                return 0;
        } else if (!mod_norm_is_word_cp(c[i]) || is_digit(c[i])) {
            return 0;
        }
    }
    return 1;
}

/* Emit chunk c[s..e) at write position *j, after a space unless `glue`. */
static void put_chunk(int32_t *c, size_t *j, size_t s, size_t e, int glue)
{
    size_t k;

    if (*j > 0 && !glue)
        c[(*j)++] = SPACE;
    for (k = s; k < e; k++)
        c[(*j)++] = c[k];
}

/*
 * Join runs of 3+ single-letter chunks separated by single spaces. Common
 * Devanagari one-letter words (है, को) at either end of a run stay apart,
 * and a run where more than half are common one-letter words (है, u, r) is
 * left alone. In place.
 */
static size_t join_spaced(struct mod_norm *n, int32_t *c, size_t len)
{
    size_t starts[64];
    size_t ends[64];
    int stop[64];
    size_t nrun = 0;
    size_t i = 0;
    size_t j = 0; /* write position, never ahead of the read position */

    while (i <= len) {
        size_t s = i;
        size_t e;
        int single;

        while (i < len && c[i] != SPACE)
            i++;
        e = i;
        if (e == s && i < len) {
            i++; /* an empty chunk (two spaces, once an ignorable went) */
            continue;
        }
        single = e > s && is_single_letter(c + s, e - s);
        if (single) {
            starts[nrun] = s;
            ends[nrun] = e;
            nrun++;
        }
        if (!single || i >= len || nrun == sizeof starts / sizeof starts[0]) {
            size_t lo = 0;
            size_t hi = nrun;
            size_t stops = 0;
            size_t r;

            for (r = 0; r < nrun && nrun >= 3; r++) /* only runs can glue */
                stop[r] = short_stopword(c + starts[r], ends[r] - starts[r]);
            if (nrun < 3)
                hi = 0;

            while (lo < hi && stop[lo] == 2)
                lo++;
            while (hi > lo && stop[hi - 1] == 2)
                hi--;
            for (r = lo; r < hi; r++)
                stops += stop[r] != 0;
            if (!(hi - lo >= 3 && stops * 2 <= hi - lo))
                lo = hi = 0;
            else
                n->flags |= MOD_NORM_SPACED;
            for (r = 0; r < nrun; r++)
                put_chunk(c, &j, starts[r], ends[r], r > lo && r < hi);
            if (!single && e > s)
                put_chunk(c, &j, s, e, 0);
            nrun = 0;
        }
        i++; /* skip the space */
    }
    return j;
}

/* The grapheme-break state after an ASCII character (what
 * utf8proc_grapheme_break_stateful leaves after any printable ASCII one). */
static utf8proc_int32_t ascii_state(void)
{
    utf8proc_int32_t st = 0;

    utf8proc_grapheme_break_stateful('a', 'a', &st);
    return st;
}

/*
 * For ASCII text (single spaces, none at either end): false when
 * join_spaced() would change nothing, i.e. there is no run of 3 or more
 * one-letter words. Saves the copy for almost every post.
 */
static int ascii_may_join(const int32_t *c, size_t len)
{
    size_t run = 0;
    size_t i = 0;

    while (i < len) {
        size_t s = i;

        while (i < len && c[i] != SPACE)
            i++;
        if (i - s == 1 && ((c[s] >= 'a' && c[s] <= 'z') || (c[s] >= 'A' && c[s] <= 'Z'))) {
            if (++run >= 3)
                return 1;
        } else {
            run = 0;
        }
        i++; /* the space */
    }
    return 0;
}

static void encode(struct mod_norm *n, const int32_t *c, size_t len, int ascii)
{
    utf8proc_int32_t state = 0;
    utf8proc_int32_t after_ascii;
    size_t o = 0;
    size_t i;

    if (ascii) {
        /* one byte, one code point, one grapheme (CR LF cannot occur) */
        if (n->key_cap < len + 1) {
            n->key_cap = len + 1;
            n->key = core_realloc(n->key, n->key_cap);
        }
        for (i = 0; i < len; i++)
            n->key[i] = (char)c[i];
        n->key[len] = '\0';
        n->len = len;
        n->n_graphemes = (unsigned)len;
        return;
    }
    if (n->key_cap < len * 4 + 1) {
        n->key_cap = len * 4 + 1;
        n->key = core_realloc(n->key, n->key_cap);
    }
    after_ascii = ascii_state();
    n->n_graphemes = 0;
    for (i = 0; i < len; i++) {
        if (c[i] < 0x80) {
            n->key[o++] = (char)c[i];
            if (i > 0 && c[i - 1] < 0x80) {
                /* two ASCII characters (no CR or LF: fold() made them
                 * spaces) always have a break between them, and the state
                 * after any ASCII character is the same */
                n->n_graphemes++;
                state = after_ascii;
                continue;
            }
        } else {
            o += (size_t)utf8proc_encode_char(c[i], (utf8proc_uint8_t *)n->key + o);
        }
        if (is_deva_block(c[i])) /* no lookup: Devanagari signs extend the cluster */
            n->n_graphemes += (unsigned)is_letter(c[i]) | (unsigned)is_digit(c[i]) |
                              (unsigned)(c[i] == 0x0964 || c[i] == 0x0965 || c[i] == 0x0970);
        else if (i == 0 || utf8proc_grapheme_break_stateful(c[i - 1], c[i], &state))
            n->n_graphemes++;
    }
    n->key[o] = '\0';
    n->len = o;
}

/* ASCII fast path: no decomposition needed, only case and spaces. */
static size_t ascii_to_cp(struct mod_norm *n, const char *text, size_t len)
{
    size_t j = 0;
    size_t i;

    cp_reserve(n, len + 1);
    for (i = 0; i < len; i++) {
        int32_t x = (unsigned char)text[i];

        if (x <= ' ' || x == 0x7F) {
            if (j > 0 && n->cp[j - 1] != SPACE)
                n->cp[j++] = SPACE;
            continue;
        }
        if (x >= 'A' && x <= 'Z')
            x += 'a' - 'A';
        n->cp[j++] = x;
    }
    return j;
}

/*
 * What NFKC + case folding (and fold()) make of a Latin-1 code point
 * U+0080..U+00FF, for the fast path: the code point itself (symbols and
 * lower-case letters, which are already NFC), the lower-case letter (À..Þ
 * but ×), SPACE (the C1 controls and NBSP: fold() turns them into a
 * space), -0xAD (the soft hyphen, an ignorable: resolved later like ZWJ),
 * or 0 when the general path must decide (compatibility decompositions
 * such as ª ² ¼ µ ¨ ´ ¸ ¯, and ß, which folds to "ss").
 */
static int32_t latin1_fast(int32_t c)
{
    if (c < 0xA0)
        return SPACE;
    switch (c) {
    case 0xA0:
        return SPACE;
    case 0xAD:
        return -0xAD;
    case 0xA8: case 0xAA: case 0xAF: case 0xB2: case 0xB3: case 0xB4: case 0xB5:
    case 0xB8: case 0xB9: case 0xBA: case 0xBC: case 0xBD: case 0xBE: case 0xDF:
        return 0;
    default:
        break;
    }
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
        return c + 0x20;
    return c;
}

/*
 * Fast path for the common case: ASCII, Devanagari (without the Vedic
 * signs), pictographs and the ignorables around them. For these NFKC +
 * case folding is the identity except for ASCII case and the nukta letters,
 * so the result equals the general path's (tests/unit/test_mod_norm.c
 * checks that on real corpora) at a fraction of the cost. Returns 0 when
 * the text needs the general path.
 */
static int fast_eligible_cp(int32_t c)
{
    if (c < 0x80)
        return 1;
    if (is_deva_block(c))
        return c < 0x0951 || c > 0x0954;
    if (c >= 0x1F300 && c <= 0x1FAFF)
        return 1;
    if (c < 0x100) /* Latin-1: see latin1_fast() */
        return latin1_fast(c) != 0;
    return c == 0x2026 || c == ZWJ || c == ZWNJ || c == 0xFE0F || c == 0x00A0 || c == 0x20B9 ||
           c == 0x2018 || c == 0x2019 || c == 0x201C || c == 0x201D || c == 0x2013 ||
           c == 0x2014 || (c >= 0x2600 && c <= 0x27BF && c != 0x2122);
}

/* Strict UTF-8 decoding for the fast path: returns the length, or 0 for a
 * malformed, overlong, surrogate or out-of-range sequence. */
static size_t strict_utf8(const unsigned char *s, size_t len, int32_t *c)
{
    if ((s[0] & 0xE0) == 0xC0) {
        if (len < 2 || (s[1] & 0xC0) != 0x80)
            return 0;
        *c = (int32_t)(s[0] & 0x1F) << 6 | (int32_t)(s[1] & 0x3F);
        return *c >= 0x80 ? 2 : 0;
    }
    if ((s[0] & 0xF0) == 0xE0) {
        if (len < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        *c = (int32_t)(s[0] & 0x0F) << 12 | (int32_t)(s[1] & 0x3F) << 6 | (int32_t)(s[2] & 0x3F);
        return *c >= 0x800 && (*c < 0xD800 || *c > 0xDFFF) ? 3 : 0;
    }
    if ((s[0] & 0xF8) == 0xF0) {
        if (len < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        *c = (int32_t)(s[0] & 0x07) << 18 | (int32_t)(s[1] & 0x3F) << 12 |
             (int32_t)(s[2] & 0x3F) << 6 | (int32_t)(s[3] & 0x3F);
        return *c >= 0x10000 && *c <= 0x10FFFF ? 4 : 0;
    }
    return 0;
}

/* Fill n->cp from `text` as the general path would; 0 if not eligible. */
static size_t fast_path(struct mod_norm *n, const char *text, size_t len, int *ok)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    size_t j = 0;

    *ok = 0;
    cp_reserve(n, len + 1);
    while (i < len) {
        int32_t x;
        size_t k;

        if (s[i] < 0x80) {
            x = s[i++];
            if (x <= ' ' || x == 0x7F) {
                if (j > 0 && n->cp[j - 1] != SPACE)
                    n->cp[j++] = SPACE;
                continue;
            }
            if (x >= 'A' && x <= 'Z')
                x += 'a' - 'A';
            n->cp[j++] = x;
            continue;
        }
        k = strict_utf8(s + i, len - i, &x);
        if (k == 0 || !fast_eligible_cp(x))
            return 0;
        i += k;
        if (x < 0x100) {
            x = latin1_fast(x);
            if (x == SPACE) {
                if (j > 0 && n->cp[j - 1] != SPACE)
                    n->cp[j++] = SPACE;
                continue;
            }
            n->cp[j++] = x;
            continue;
        }
        if (x == 0x2026) { /* … is "..." (a compatibility decomposition) */
            n->cp[j++] = '.';
            n->cp[j++] = '.';
            n->cp[j++] = '.';
            continue;
        }
        if (x == ZWJ || x == ZWNJ || x == 0xFE0F) {
            n->cp[j++] = -x;
            continue;
        }
        if (is_deva_block(x)) {
            if (x == DEVA_NUKTA)
                continue;
            if (x >= 0x0958 && x <= 0x095F) {
                static const int32_t base[] = {0x0915, 0x0916, 0x0917, 0x091C,
                                               0x0921, 0x0922, 0x092B, 0x092F};

                x = base[x - 0x0958];
            } else if (x == 0x0929 || x == 0x0931 || x == 0x0934) {
                x -= 1;
            } else if (x == DEVA_CANDRABINDU) {
                x = DEVA_ANUSVARA;
            } else if (x == 0x0949) {
                x = 0x093E;
            } else if (x == 0x0945) {
                x = 0x0947;
            } else if (x == 0x0911) {
                x = 0x0906;
            } else if (x == 0x090D) {
                x = 0x090F;
            } else if (x >= 0x0966 && x <= 0x096F) {
                x = '0' + (x - 0x0966);
            }
        }
        n->cp[j++] = x;
    }
    *ok = 1;
    return j;
}

/*
 * A few non-ASCII symbols common in short posts that the whole pipeline
 * leaves alone: NFKC + casefold keeps them, they are no letters, marks,
 * digits, spaces, ignorables or pictographs, and each is one grapheme. The
 * byte path copies them as they are (test_mod_norm.c checks every one
 * against the general path). Returns the code point of the 2- or 3-byte
 * sequence at s[0..len) and its length in *k, or 0 if it is none of them.
 */
static int32_t inert_symbol(const unsigned char *s, size_t len, size_t *k)
{
    int32_t c;

    if (len >= 2 && s[0] == 0xC2 && (s[1] == 0xA3 || s[1] == 0xA5)) {
        *k = 2;
        return 0x80 | (s[1] & 0x3F); /* £ ¥ */
    }
    if (len < 3 || s[0] != 0xE2 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
        return 0;
    c = 0x2000 | (int32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
    switch (c) {
    case 0x2013: /* – */
    case 0x2014: /* — */
    case 0x2018: /* ‘ */
    case 0x2019: /* ’ */
    case 0x201C: /* “ */
    case 0x201D: /* ” */
    case 0x2022: /* • */
    case 0x20AC: /* € */
    case 0x20B9: /* ₹ */
        *k = 3;
        return c;
    default:
        return 0;
    }
}

/*
 * ASCII text (and the inert symbols above) straight into the key, bytes in
 * and bytes out, with no code point array: the same key and counts as
 * ascii_to_cp() or the fast path, join_spaced() (when there is nothing to
 * join), collapse_repeats() and encode() (tests/unit/test_mod_norm.c
 * compares them). Returns 0, with n->key clobbered, when the text holds
 * another non-ASCII byte or spaced letters to join.
 */
static int ascii_bytes(struct mod_norm *n, const char *text, size_t len)
{
    const unsigned char *in = (const unsigned char *)text;
    unsigned char *k;
    size_t o = 0;
    size_t i = 0;
    unsigned latin = 0;
    unsigned symbols = 0; /* inert symbols copied: code points = bytes - 1 or 2 each */
    size_t run = 0;

    if (n->key_cap < len + 1) {
        n->key_cap = len + 1;
        n->key = core_realloc(n->key, n->key_cap);
    }
    k = (unsigned char *)n->key;
    /* one pass, chunk by chunk (a chunk = a run of bytes other than blanks
     * and controls): lower case, one space between chunks and none at
     * either end, letters counted (before the repeats are collapsed), runs
     * of 3+ identical code points (digits excepted) cut to 2, except in a
     * URL ("://" anywhere in the chunk, or "www." at its start: such a chunk
     * is copied again as it is) */
    while (i < len) {
        size_t s;
        size_t start;
        int32_t prev1 = -1; /* the last two code points kept in this chunk */
        int32_t prev2 = -1;
        int url = 0;

        while (i < len && (in[i] <= ' ' || in[i] == 0x7F))
            i++;
        if (i == len)
            break;
        if (o > 0)
            k[o++] = ' ';
        s = i;
        start = o;
        while (i < len) {
            unsigned x = in[i];

            if (x <= ' ' || x == 0x7F)
                break;
            if (x >= 0x80) {
                size_t m;
                int32_t c = inert_symbol(in + i, len - i, &m);

                if (c == 0)
                    return 0;
                symbols++;
                if (!(c == prev1 && c == prev2)) {
                    memcpy(k + o, in + i, m);
                    o += m;
                    prev2 = prev1;
                    prev1 = c;
                }
                i += m;
                continue;
            }
            if (x - 'A' < 26u)
                x += 'a' - 'A';
            latin += x - 'a' < 26u;
            if (x == ':' && i + 2 < len && in[i + 1] == '/' && in[i + 2] == '/')
                url = 1;
            i++;
            if ((int32_t)x == prev1 && (int32_t)x == prev2 && x - '0' >= 10u)
                continue;
            k[o++] = (unsigned char)x;
            prev2 = prev1;
            prev1 = (int32_t)x;
        }
        /* a run of 3 one-letter words: join_spaced() decides (general code) */
        if (i - s == 1 && (unsigned)((in[s] | 0x20) - 'a') < 26u) {
            if (++run >= 3)
                return 0;
        } else {
            run = 0;
        }
        if (i - s >= 4 && (in[s] | 0x20) == 'w' && (in[s + 1] | 0x20) == 'w' &&
            (in[s + 2] | 0x20) == 'w' && in[s + 3] == '.')
            url = 1;
        if (url) {
            size_t j;

            o = start;
            for (j = s; j < i; j++)
                k[o++] = (unsigned char)((unsigned)in[j] - 'A' < 26u ? in[j] + ('a' - 'A') : in[j]);
        }
    }
    k[o] = '\0';
    n->len = o;
    n->n_latin = latin;
    if (symbols == 0) {
        n->n_graphemes = (unsigned)o; /* one byte, one code point, one grapheme */
    } else {
        /* one grapheme per code point: the bytes that start one */
        unsigned g = 0;
        size_t j;

        for (j = 0; j < o; j++)
            g += (k[j] & 0xC0) != 0x80;
        n->n_graphemes = g;
    }
    return 1;
}

void mod_norm_run(struct mod_norm *n, const char *text, size_t len)
{
    size_t cnt;
    size_t i;
    int ascii = 1;

    n->flags = 0;
    n->n_invisible = 0;
    n->n_emoji = 0;
    n->n_graphemes = 0;
    n->n_latin = 0;
    n->n_deva = 0;
    if (text == NULL)
        len = 0;
    if (len > MOD_NORM_MAX_BYTES) {
        len = MOD_NORM_MAX_BYTES;
        n->flags |= MOD_NORM_TRUNCATED;
    }
    if (!n->no_fast_path && ascii_bytes(n, text, len))
        return;
    if (n->no_fast_path)
        ascii = 0;
    for (i = 0; i < len && ascii; i++) {
        if ((unsigned char)text[i] >= 0x80) {
            ascii = 0;
            break;
        }
    }
    if (ascii) {
        cnt = ascii_to_cp(n, text, len);
    } else {
        int fast = 0;

        if (!n->no_fast_path)
            cnt = fast_path(n, text, len, &fast);
        if (fast) {
            cnt = resolve_ignorables(n, cnt);
        } else {
            size_t inlen = sanitise(n, text, len);

            cnt = decompose(n, inlen);
            cnt = fold(n, cnt);
            cnt = resolve_ignorables(n, cnt);
            reorder_marks(n->cp, cnt);
            if (cnt > 0) {
                utf8proc_ssize_t r =
                    utf8proc_normalize_utf32(n->cp, (utf8proc_ssize_t)cnt,
                                             UTF8PROC_STABLE | UTF8PROC_COMPOSE);
                cnt = r < 0 ? 0 : (size_t)r;
            }
        }
        cnt = nasal_to_anusvara(n->cp, cnt);
        for (i = 0; i < cnt; i++)
            n->n_emoji += (unsigned)mod_norm_is_emoji_cp(n->cp[i]);
    }
    while (cnt > 0 && n->cp[cnt - 1] == SPACE)
        cnt--;
    /* join, then look at the scripts of the words joined, then collapse, so
     * that the key is a fixed point: "f f f" -> "fff" -> "ff", "e e ρ" ->
     * "eeρ" -> "eep", and normalising the key again changes nothing */
    if (!ascii || ascii_may_join(n->cp, cnt))
        cnt = join_spaced(n, n->cp, cnt);
    if (ascii) {
        for (i = 0; i < cnt; i++) /* one script: only the letters to count */
            n->n_latin += (unsigned)((n->cp[i] | 0x20) >= 'a' && (n->cp[i] | 0x20) <= 'z');
    } else {
        scripts(n, n->cp, cnt);
    }
    cnt = collapse_repeats(n->cp, cnt);
    encode(n, n->cp, cnt, ascii);
}
