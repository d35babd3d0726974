/*
 * moderation/utf8.h - decoding UTF-8 that is known to be valid (the keys
 * mod_norm produces) without a library call per code point. Input that is
 * not valid UTF-8 still decodes to something and never reads past `len`.
 */
#ifndef JANSEVA_MODERATION_UTF8_H
#define JANSEVA_MODERATION_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decode the code point at s[0..len) (len >= 1) into *c; returns the bytes
 * it used (1-4). A truncated or malformed sequence gives U+FFFD, 1 byte. */
static inline size_t mod_utf8_next(const char *p, size_t len, int32_t *c)
{
    const unsigned char *s = (const unsigned char *)p;

    if (s[0] < 0x80) {
        *c = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0 && len >= 2 && (s[1] & 0xC0) == 0x80) {
        *c = (int32_t)(s[0] & 0x1F) << 6 | (int32_t)(s[1] & 0x3F);
        return 2;
    }
    if ((s[0] & 0xF0) == 0xE0 && len >= 3 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
        *c = (int32_t)(s[0] & 0x0F) << 12 | (int32_t)(s[1] & 0x3F) << 6 | (int32_t)(s[2] & 0x3F);
        return 3;
    }
    if ((s[0] & 0xF8) == 0xF0 && len >= 4 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
        (s[3] & 0xC0) == 0x80) {
        *c = (int32_t)(s[0] & 0x07) << 18 | (int32_t)(s[1] & 0x3F) << 12 |
             (int32_t)(s[2] & 0x3F) << 6 | (int32_t)(s[3] & 0x3F);
        return 4;
    }
    *c = 0xFFFD;
    return 1;
}

#endif
