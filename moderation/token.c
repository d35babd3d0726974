/*
 * moderation/token.c - tokens of a normalised post (see token.h).
 *
 * One left-to-right scan. At the start of every word it tries, in order:
 * an e-mail address or UPI id, a URL, a phone number; otherwise it takes
 * the word (or number) itself. Emoji and currency signs are single tokens.
 */
#include "moderation/token.h"
#include "core/mem.h"
#include "moderation/hash.h"
#include "moderation/norm.h"
#include "moderation/translit.h"
#include "moderation/utf8.h"

#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

#define TOK_TEXT_MAX 512 /* longest token text kept (longer words are cut) */

void mod_toks_init(struct mod_toks *t)
{
    memset(t, 0, sizeof *t);
}

void mod_toks_cleanup(struct mod_toks *t)
{
    free(t->memo);
    free(t->v);
    free(t->text);
    memset(t, 0, sizeof *t);
}

static void push(struct mod_toks *t, enum mod_tok_type type, const char *s, size_t len, int deva,
                 int digit)
{
    struct mod_tok *k;

    if (t->n >= MOD_TOK_MAX)
        return;
    if (len > TOK_TEXT_MAX)
        len = TOK_TEXT_MAX;
    if (t->n == t->cap) {
        t->cap = t->cap == 0 ? 64 : t->cap * 2;
        t->v = core_realloc(t->v, t->cap * sizeof t->v[0]);
    }
    if (t->text_len + len + 1 > t->text_cap) {
        t->text_cap = (t->text_len + len + 1) * 2 + 256;
        t->text = core_realloc(t->text, t->text_cap);
    }
    k = &t->v[t->n++];
    k->off = (uint32_t)t->text_len;
    k->skel_len = 0;
    k->len = (uint16_t)len;
    k->type = (uint8_t)type;
    k->deva = (uint8_t)deva;
    k->digit = (uint8_t)digit;
    k->hash = 0;
    k->skel_hash = 0;
    if (len > 0)
        memcpy(t->text + t->text_len, s, len);
    t->text[t->text_len + len] = '\0';
    t->text_len += len + 1;
    t->count[type]++;
}

void mod_toks_add_meta(struct mod_toks *t, const char *name)
{
    push(t, MOD_TOK_META, name, strlen(name), 0, 0);
}

_Static_assert(sizeof(struct mod_skel_memo) == 64, "one memo entry per cache line");

/* The memo entry of word token k (k->hash set) when it holds that word. */
static const struct mod_skel_memo *memo_hit(const struct mod_toks *t, const struct mod_tok *k)
{
    const struct mod_skel_memo *m;

    if (t->memo == NULL || k->len > sizeof m->word)
        return NULL;
    m = &t->memo[(k->hash >> 20) % MOD_SKEL_CACHE];
    if (m->wlen == k->len && m->hash == k->hash && memcmp(m->word, t->text + k->off, k->len) == 0)
        return m;
    return NULL;
}

/* The skeleton's length and hash of word token k (k->hash set), from the
 * memo of recent words when possible: words repeat a lot, and both are pure
 * functions of the word. Returns the skeleton's length. */
static size_t skeleton_memo(struct mod_toks *t, struct mod_tok *k)
{
    char sk[MOD_SKEL_MAX];
    const char *w = t->text + k->off;
    size_t len = k->len;
    const struct mod_skel_memo *hit = memo_hit(t, k);
    struct mod_skel_memo *m;
    size_t n;

    if (hit != NULL) {
        k->skel_hash = hit->skel_hash;
        return hit->slen;
    }
    m = len <= sizeof m->word ? &t->memo[(k->hash >> 20) % MOD_SKEL_CACHE] : NULL;
    n = mod_skeleton(w, len, sk);
    k->skel_hash = n >= 2 ? mod_hash64(sk, n, MOD_SEED_SKEL) : 0;
    if (m != NULL && n <= sizeof m->skel) {
        m->hash = k->hash;
        m->skel_hash = k->skel_hash;
        m->wlen = (uint8_t)len;
        m->slen = (uint8_t)n;
        memcpy(m->word, w, len);
        memcpy(m->skel, sk, n);
    }
    return n;
}

void mod_toks_skeletons(struct mod_toks *t)
{
    size_t i;

    if (t->memo == NULL)
        t->memo = core_calloc(MOD_SKEL_CACHE, sizeof t->memo[0]);
    /* hash every word first and ask for its memo entry: the entries are
     * cache misses, fetched in parallel while the other words are hashed */
    for (i = 0; i < t->n; i++) {
        struct mod_tok *k = &t->v[i];

        if (k->type != MOD_TOK_WORD)
            continue;
        k->hash = mod_hash64(t->text + k->off, k->len, MOD_SEED_TOKEN + MOD_TOK_WORD);
        __builtin_prefetch(&t->memo[(k->hash >> 20) % MOD_SKEL_CACHE]);
    }
    for (i = 0; i < t->n; i++) {
        struct mod_tok *k = &t->v[i];

        if (k->type != MOD_TOK_WORD)
            continue;
        k->skel_len = (uint8_t)skeleton_memo(t, k);
    }
    t->hashed = 1;
}

size_t mod_tok_skel(const struct mod_toks *t, size_t i, char out[MOD_SKEL_MAX])
{
    const struct mod_tok *k = &t->v[i];
    const struct mod_skel_memo *m;

    out[0] = '\0';
    if (k->type != MOD_TOK_WORD || k->skel_len == 0)
        return 0;
    m = memo_hit(t, k);
    if (m != NULL && m->slen == k->skel_len) {
        memcpy(out, m->skel, m->slen);
        out[m->slen] = '\0';
        return m->slen;
    }
    return mod_skeleton(t->text + k->off, k->len, out);
}

const char *mod_tok_type_name(enum mod_tok_type type)
{
    static const char *const names[] = {"WORD", "NUM",   "URL",      "PHONE", "UPI",
                                        "EMAIL", "EMOJI", "CURRENCY", "META"};

    return (unsigned)type <= MOD_TOK_META ? names[type] : "?";
}

size_t mod_tok_render(const struct mod_toks *t, size_t i, char *buf, size_t size)
{
    const struct mod_tok *k = &t->v[i];
    const char *s = mod_tok_text(t, i);
    int n;

    switch (k->type) {
    case MOD_TOK_URL:
    case MOD_TOK_UPI:
    case MOD_TOK_EMAIL:
    case MOD_TOK_EMOJI:
        n = snprintf(buf, size, "%s:%s", mod_tok_type_name((enum mod_tok_type)k->type), s);
        break;
    case MOD_TOK_PHONE:
        n = snprintf(buf, size, "PHONE");
        break;
    default:
        n = snprintf(buf, size, "%s", s);
        break;
    }
    return n < 0 ? 0 : (size_t)n;
}

/* ======================= recognisers ======================= */

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_dig(char c)
{
    return c >= '0' && c <= '9';
}

static int is_tld(const char *s, size_t n)
{
    /* "|"-separated, so a candidate is found with its length (no strlen) */
    static const char tlds[] =
        "|com|net|org|in|co|info|xyz|ly|me|io|biz|online|site|club|live|app|link|gl|to|tk|ml"
        "|ga|cf|top|gov|edu|uk|us|tv|cc|ws|ru|cn|shop|store|page|click|win|vip|fun|buzz|icu"
        "|work|bid|loan|nic|res|ai|news|social|network|net.in|co.in|";
    const char *p = tlds;

    if (n == 0 || n > 8)
        return 0;
    while ((p = memchr(p, s[0], sizeof tlds - 1 - (size_t)(p - tlds))) != NULL) {
        size_t left = (size_t)(tlds + sizeof tlds - 1 - p);

        if (p > tlds && p[-1] == '|' && left > n && memcmp(p, s, n) == 0 && p[n] == '|')
            return 1;
        p++;
    }
    return 0;
}

/* Length of a host name at s[0..len): [a-z0-9.-]+, trailing dots excluded. */
static size_t host_len(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len && (is_alnum(s[i]) || s[i] == '-' || s[i] == '.'))
        i++;
    while (i > 0 && s[i - 1] == '.')
        i--;
    return i;
}

/* True if host s[0..n) ends in a known top-level domain after a label. */
static int host_has_tld(const char *s, size_t n)
{
    size_t i = n;

    while (i > 0 && s[i - 1] != '.')
        i--;
    return i > 1 && n - i >= 2 && is_tld(s + i, n - i);
}

/* Length of a run of non-space bytes. */
static size_t chunk_len(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len && s[i] != ' ')
        i++;
    return i;
}

/* e-mail / UPI at s: local@host. Returns bytes consumed or 0. */
static size_t try_at(struct mod_toks *t, const char *s, size_t len)
{
    size_t i = 0;
    size_t h;

    while (i < len && (is_alnum(s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '-'))
        i++;
    if (i == 0 || i >= len || s[i] != '@')
        return 0;
    h = host_len(s + i + 1, len - i - 1);
    if (h < 2)
        return 0;
    if (memchr(s + i + 1, '.', h) != NULL) {
        if (!host_has_tld(s + i + 1, h))
            return 0;
        push(t, MOD_TOK_EMAIL, s + i + 1, h, 0, 0);
    } else {
        push(t, MOD_TOK_UPI, s + i + 1, h, 0, 0);
    }
    return i + 1 + h;
}

/* A URL at s. Returns bytes consumed (the rest of the chunk) or 0. */
static size_t try_url(struct mod_toks *t, const char *s, size_t len)
{
    size_t p = 0;
    size_t h;
    int scheme = 0;

    if (len > 8 && memcmp(s, "https://", 8) == 0) {
        p = 8;
        scheme = 1;
    } else if (len > 7 && memcmp(s, "http://", 7) == 0) {
        p = 7;
        scheme = 1;
    }
    h = host_len(s + p, len - p);
    if (h == 0 || memchr(s + p, '.', h) == NULL)
        return 0;
    if (!scheme && !(h > 4 && memcmp(s + p, "www.", 4) == 0) && !host_has_tld(s + p, h))
        return 0;
    if (h > 4 && memcmp(s + p, "www.", 4) == 0)
        push(t, MOD_TOK_URL, s + p + 4, h - 4, 0, 0);
    else
        push(t, MOD_TOK_URL, s + p, h, 0, 0);
    return p + chunk_len(s + p, len - p);
}

static int groups_match(const size_t *g, size_t n, const size_t *want, size_t wn)
{
    size_t i;

    if (n != wn)
        return 0;
    for (i = 0; i < n; i++) {
        if (g[i] != want[i])
            return 0;
    }
    return 1;
}

/*
 * A phone number at s (a digit or '+'): 10-13 digits in one run, or grouped
 * with '-', or with spaces/dots in the usual Indian groupings. Returns bytes
 * consumed or 0.
 */
static size_t try_phone(struct mod_toks *t, const char *s, size_t len)
{
    static const size_t spaced[][4] = {
        {5, 5, 0, 0}, {3, 3, 4, 0}, {4, 3, 3, 0}, {2, 5, 5, 0}, {2, 10, 0, 0},
        {3, 10, 0, 0}, {3, 5, 5, 0}, {2, 3, 3, 4}, {4, 7, 0, 0}, {4, 6, 0, 0},
    };
    size_t g[8];
    size_t ng = 0;
    size_t i = 0;
    size_t digits = 0;
    size_t end;
    int other_sep = 0;
    size_t k;

    if (s[0] == '+')
        i = 1;
    for (;;) {
        size_t st = i;

        while (i < len && is_dig(s[i]))
            i++;
        if (i == st)
            return 0;
        if (ng == sizeof g / sizeof g[0])
            return 0;
        g[ng++] = i - st;
        digits += i - st;
        end = i;
        if (i + 1 < len && (s[i] == ' ' || s[i] == '-' || s[i] == '.') && is_dig(s[i + 1]) &&
            digits < 13) {
            if (s[i] != '-')
                other_sep = 1;
            i++;
            continue;
        }
        break;
    }
    if (end < len && (is_alnum(s[end]) || (unsigned char)s[end] >= 0x80))
        return 0; /* glued to a word */
    if (digits < 10 || digits > 13)
        return 0;
    if (ng > 1 && other_sep) {
        int ok = 0;

        for (k = 0; k < sizeof spaced / sizeof spaced[0]; k++) {
            size_t wn = 0;

            while (wn < 4 && spaced[k][wn] != 0)
                wn++;
            if (groups_match(g, ng, spaced[k], wn))
                ok = 1;
        }
        if (!ok)
            return 0;
    }
    push(t, MOD_TOK_PHONE, "", 0, 0, 0);
    return end;
}

/* ======================= the scan ======================= */

/* mod_norm_is_word_cp() without the call for ASCII (most code points). */
static inline int word_cp(int32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
    return mod_norm_is_word_cp(c);
}

void mod_tokenise(struct mod_toks *t, const char *key, size_t len)
{
    size_t i = 0;
    int at_word_start = 1; /* previous code point was not part of a word */

    t->n = 0;
    t->text_len = 0;
    t->hashed = 0;
    memset(t->count, 0, sizeof t->count);
    while (i < len) {
        int32_t c;
        size_t k = mod_utf8_next(key + i, len - i, &c);

        if (at_word_start && c < 0x80 && (is_alnum((char)c) || c == '+')) {
            size_t used = 0;
            size_t r = 0;
            size_t a = 0; /* the leading [a-z0-9] of the run */
            size_t digits = 0;
            int dot = 0;

            /* one look at the run of [a-z0-9._-] decides which recogniser can
             * apply: first its leading [a-z0-9] (the word, most of the time),
             * then the rest */
            while (i + a < len && is_alnum(key[i + a])) {
                digits += is_dig(key[i + a]);
                a++;
            }
            r = a;
            while (i + r < len && (is_alnum(key[i + r]) || key[i + r] == '.' ||
                                   key[i + r] == '_' || key[i + r] == '-')) {
                dot |= key[i + r] == '.';
                r++;
            }
            if (c != '+' && i + r < len && key[i + r] == '@')
                used = try_at(t, key + i, len - i);
            if (used == 0 && c != '+' && (dot || (r == 4 && len - i > 4 && key[i + 4] == ':') ||
                                          (r == 5 && len - i > 5 && key[i + 5] == ':')))
                used = try_url(t, key + i, len - i);
            if (used == 0 && (is_dig((char)c) || (c == '+' && i + 1 < len &&
                                                   is_dig(key[i + 1]))))
                used = try_phone(t, key + i, len - i);
            if (used > 0) {
                i += used;
                continue;
            }
            /* an ASCII word followed by ASCII that is no part of a word (or
             * by the end): taken as it is, without decoding it again */
            if (a > 0 && (i + a == len || ((unsigned char)key[i + a] < 0x80 &&
                                           !word_cp(key[i + a])))) {
                push(t, digits == a ? MOD_TOK_NUM : MOD_TOK_WORD, key + i, a, 0, digits > 0);
                i += a;
                at_word_start = 0;
                continue;
            }
        }
        if (word_cp(c)) {
            size_t st = i;
            int digits_only = 1;
            int digit = 0;
            int deva = 0;

            while (i < len) {
                int32_t d;
                size_t m = mod_utf8_next(key + i, len - i, &d);

                if (!word_cp(d))
                    break;
                if (!(d >= '0' && d <= '9'))
                    digits_only = 0;
                else
                    digit = 1;
                if (d >= 0x0900 && d < 0x0980)
                    deva = 1;
                i += m;
            }
            push(t, digits_only ? MOD_TOK_NUM : MOD_TOK_WORD, key + st, i - st, deva, digit);
            at_word_start = 0;
            continue;
        }
        if (c < 0x80) {
            if (c == '$') /* no ASCII character is an emoji or another currency sign */
                push(t, MOD_TOK_CURRENCY, key + i, 1, 0, 0);
        } else if (mod_norm_is_emoji_cp(c)) {
            push(t, MOD_TOK_EMOJI, key + i, k, 0, 0);
        } else if (utf8proc_category(c) == UTF8PROC_CATEGORY_SC) {
            push(t, MOD_TOK_CURRENCY, key + i, k, 0, 0);
        }
        at_word_start = 1;
        i += k;
    }
}
