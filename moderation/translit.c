/*
 * moderation/translit.c - the cross-script consonant skeleton of a word
 * (see translit.h). Two steps: Devanagari -> rough Latin spelling, then one
 * folding function applied to every Latin spelling, whatever its source.
 */
#include "moderation/translit.h"
#include "moderation/utf8.h"

#include <string.h>

#define ROUGH_MAX 160

/* Latin spelling of Devanagari consonants U+0915..U+0939. */
static const char *const deva_consonant[] = {
    "k",  "kh", "g",  "gh", "n",  "ch", "chh", "j", "jh", "n",  "t", "th",
    "d",  "dh", "n",  "t",  "th", "d",  "dh",  "n", "n",  "p",  "ph", "b",
    "bh", "m",  "y",  "r",  "r",  "l",  "l",   "l", "v",  "sh", "sh", "s",
    "h",
};

/* Independent vowels U+0904..U+0914. */
static const char *const deva_vowel[] = {
    "a", "a", "aa", "i", "ii", "u", "uu", "ri", "li", "e", "e", "e", "ai", "o", "o", "o", "au",
};

/* Vowel signs U+093E..U+094C. */
static const char *const deva_matra[] = {
    "aa", "i", "ii", "u", "uu", "ri", "ri", "e", "e", "e", "ai", "o", "o", "o", "au",
};

static int is_consonant_cp(int32_t c)
{
    return c >= 0x0915 && c <= 0x0939;
}

static int is_sign_cp(int32_t c)
{
    return (c >= 0x093E && c <= 0x094D) || c == 0x0901 || c == 0x0902 || c == 0x0903;
}

static void put(char *buf, size_t *o, const char *s)
{
    size_t n = strlen(s);

    if (*o + n < ROUGH_MAX) {
        memcpy(buf + *o, s, n);
        *o += n;
    }
}

/* Rough Latin spelling of a word (lower-case ASCII letters only). */
static size_t rough_latin(const char *w, size_t len, char *buf)
{
    size_t i = 0;
    size_t o = 0;

    while (i < len) {
        int32_t c;

        i += mod_utf8_next(w + i, len - i, &c);
        if (c < 0x80) {
            if (c >= 'a' && c <= 'z' && o + 1 < ROUGH_MAX)
                buf[o++] = (char)c;
            else if (c >= 'A' && c <= 'Z' && o + 1 < ROUGH_MAX)
                buf[o++] = (char)(c - 'A' + 'a');
            continue;
        }
        if (is_consonant_cp(c)) {
            int32_t next = 0;

            put(buf, &o, deva_consonant[c - 0x0915]);
            if (i < len)
                mod_utf8_next(w + i, len - i, &next);
            /* the inherent vowel, except before a sign and at the end */
            if (i < len && !is_sign_cp(next))
                put(buf, &o, "a");
            continue;
        }
        if (c >= 0x0904 && c <= 0x0914)
            put(buf, &o, deva_vowel[c - 0x0904]);
        else if (c >= 0x093E && c <= 0x094C)
            put(buf, &o, deva_matra[c - 0x093E]);
        else if (c == 0x0902 || c == 0x0901)
            put(buf, &o, "n");
        else if (c == 0x0903)
            put(buf, &o, "h");
        /* virama, digits, other scripts: nothing */
    }
    buf[o] = '\0';
    return o;
}

static int is_vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* Aspirated stops and sh: a following 'h' is dropped. */
static int takes_h(char c)
{
    return c == 'k' || c == 'g' || c == 'c' || c == 'j' || c == 't' || c == 'd' || c == 'p' ||
           c == 'b' || c == 's';
}

static void emit(char *out, size_t *o, char c)
{
    if (*o > 0 && out[*o - 1] == c)
        return; /* doubled letters collapse */
    if (*o + 1 < MOD_SKEL_MAX)
        out[(*o)++] = c;
}

size_t mod_skeleton(const char *w, size_t len, char out[MOD_SKEL_MAX])
{
    char s[ROUGH_MAX];
    size_t n = rough_latin(w, len, s);
    size_t o = 0;
    size_t i = 0;
    int prev_vowel = 0;

    if (n > 0 && is_vowel(s[0])) {
        emit(out, &o, 'a');
        while (i < n && is_vowel(s[i]))
            i++;
        prev_vowel = 1;
    }
    while (i < n) {
        char c = s[i];
        char nx = i + 1 < n ? s[i + 1] : '\0';
        char m = c;

        if (is_vowel(c)) {
            prev_vowel = 1;
            i++;
            continue;
        }
        if (c == 'h' && i > 0 && takes_h(s[i - 1]) && !is_vowel(s[i - 1])) {
            i++; /* aspiration: bh, dh, sh, ch, ... */
            continue;
        }
        switch (c) {
        case 'c':
            m = (nx == 'e' || nx == 'i' || nx == 'y') ? 's' : (nx == 'h' ? 'c' : 'k');
            break;
        case 'q':
            m = 'k';
            break;
        case 'z':
            m = 'j';
            break;
        case 'w':
            m = 'v';
            break;
        case 'p':
            m = nx == 'h' ? 'f' : 'p';
            break;
        case 'x':
            emit(out, &o, 'k');
            m = 's';
            break;
        case 'y':
            if (prev_vowel) {
                i++;
                continue;
            }
            break;
        case 'm':
            if (nx == 'b' || nx == 'p')
                m = 'n'; /* sambandh = संबंध */
            break;
        case 'n':
            if (prev_vowel && i + 1 == n) {
                i++; /* a final nasal: nahin = nahi */
                continue;
            }
            break;
        default:
            break;
        }
        emit(out, &o, m);
        prev_vowel = 0;
        i++;
    }
    out[o] = '\0';
    return o;
}
