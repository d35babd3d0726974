/*
 * moderation/hash.h - the fast non-cryptographic hash used for feature ids,
 * shingles and fingerprints (a multiply-xorshift over 8-byte words with the
 * splitmix64 finaliser). Keyed hashes for Redis key names use libsodium
 * (BLAKE2b) instead; these values only index in-memory tables and are
 * stable across runs and machines (little- and big-endian alike), because
 * feature ids are stored in model files.
 */
#ifndef JANSEVA_MODERATION_HASH_H
#define JANSEVA_MODERATION_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Seeds of the feature families hashed outside features.c: a word's token
 * feature is mod_hash64(word, MOD_SEED_TOKEN + type), its skeleton's
 * mod_hash64(skeleton, MOD_SEED_SKEL). Stored models hold these ids:
 * changing a seed invalidates every model. */
#define MOD_SEED_TOKEN 0x6a616e736576610aULL
#define MOD_SEED_SKEL 0x736b656c65746f6eULL

/* splitmix64 finaliser: a bijective mix of 64 bits. */
static inline uint64_t mod_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* Hash `n` bytes with `seed`. */
static inline uint64_t mod_hash64(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *s = (const unsigned char *)p;
    uint64_t h = seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(n + 1));

    while (n >= 8) {
        uint64_t w = (uint64_t)s[0] | (uint64_t)s[1] << 8 | (uint64_t)s[2] << 16 |
                     (uint64_t)s[3] << 24 | (uint64_t)s[4] << 32 | (uint64_t)s[5] << 40 |
                     (uint64_t)s[6] << 48 | (uint64_t)s[7] << 56;

        h = mod_mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
        s += 8;
        n -= 8;
    }
    if (n > 0) {
        /* the last 1-7 bytes as a little-endian word, without a loop: two
         * overlapping 4-byte reads (or three single bytes) put every byte
         * at its place; the bytes read twice OR in the same value */
        uint64_t w;

        if (n >= 4) {
            const unsigned char *e = s + n - 4;

            w = (uint64_t)s[0] | (uint64_t)s[1] << 8 | (uint64_t)s[2] << 16 |
                (uint64_t)s[3] << 24;
            w |= ((uint64_t)e[0] | (uint64_t)e[1] << 8 | (uint64_t)e[2] << 16 |
                  (uint64_t)e[3] << 24)
                 << (8 * (n - 4));
        } else {
            w = (uint64_t)s[0] | (uint64_t)s[n / 2] << (8 * (n / 2)) |
                (uint64_t)s[n - 1] << (8 * (n - 1));
        }
        h = mod_mix64(h ^ w ^ 0x5555555555555555ULL);
    }
    return mod_mix64(h);
}

/* Combine two hashes (order matters). */
static inline uint64_t mod_hash_pair(uint64_t a, uint64_t b, uint64_t salt)
{
    return mod_mix64(a ^ mod_mix64(b + salt));
}

#endif
