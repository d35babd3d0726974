/*
 * moderation/features.c - hashed classifier features (see features.h).
 */
#include "moderation/features.h"
#include "core/mem.h"
#include "moderation/hash.h"
#include "moderation/translit.h"
#include "moderation/utf8.h"

#include <stdlib.h>
#include <string.h>

#define SET_BITS 14 /* dedup set of up to 16384 slots, at most half full */
#define SET_MIN_BITS 8 /* ... and at least 256: a short post's set stays in L1 */
#define WORD_CPS_MAX 48

/* Seeds separate the feature families. */
#define SEED_TOKEN MOD_SEED_TOKEN
#define SEED_OSB 0x6f73622070616972ULL
#define SEED_CHAR 0x63686172206e6772ULL

void mod_feat_opts_default(struct mod_feat_opts *o)
{
    o->osb_window = 3;
    o->char_min = 0; /* measured: no gain on UCI, Hindi UCI, CONSTRAINT or the seed */
    o->char_max = 0;
    o->skeleton = 1;
    o->char_all = 0;
    o->score_norm = 32; /* measured: CONSTRAINT catches far more at the same legit blocked */
}

/* Parse an unsigned number at *s, advancing it. */
static int num(const char **s, unsigned max, unsigned *out)
{
    unsigned v = 0;
    int digits = 0;

    while (**s >= '0' && **s <= '9' && digits < 3) {
        v = v * 10 + (unsigned)(**s - '0');
        (*s)++;
        digits++;
    }
    if (digits == 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

int mod_feat_opts_parse(const char *spec, struct mod_feat_opts *o)
{
    const char *s = spec;

    while (*s != '\0') {
        unsigned a;
        unsigned b;

        if (strncmp(s, "osb=", 4) == 0) {
            s += 4;
            if (num(&s, 8, &a) != 0)
                return -1;
            o->osb_window = (uint8_t)a;
        } else if (strncmp(s, "char=", 5) == 0) {
            s += 5;
            if (num(&s, 8, &a) != 0)
                return -1;
            b = a;
            if (*s == '-') {
                s++;
                if (num(&s, 8, &b) != 0)
                    return -1;
            }
            if (b < a || (a == 0 && b != 0))
                return -1;
            o->char_min = (uint8_t)a;
            o->char_max = (uint8_t)b;
        } else if (strncmp(s, "char-scope=all", 14) == 0) {
            s += 14;
            o->char_all = 1;
        } else if (strncmp(s, "char-scope=devanagari", 21) == 0) {
            s += 21;
            o->char_all = 0;
        } else if (strncmp(s, "norm=", 5) == 0) {
            s += 5;
            if (num(&s, 255, &a) != 0)
                return -1;
            o->score_norm = (uint8_t)a;
        } else if (strncmp(s, "skeleton=", 9) == 0) {
            s += 9;
            if (num(&s, 1, &a) != 0)
                return -1;
            o->skeleton = (uint8_t)a;
        } else {
            return -1;
        }
        if (*s == ',')
            s++;
        else if (*s != '\0')
            return -1;
    }
    return 0;
}

void mod_feats_init(struct mod_feats *f)
{
    memset(f, 0, sizeof *f);
    f->v = core_malloc(MOD_FEAT_MAX * sizeof f->v[0]);
    f->set_mask = ((size_t)1 << SET_BITS) - 1;
    f->set = core_calloc(f->set_mask + 1, sizeof f->set[0]);
    f->gen = 0;
}

void mod_feats_cleanup(struct mod_feats *f)
{
    free(f->v);
    free(f->set);
    memset(f, 0, sizeof *f);
}

static void add(struct mod_feats *f, uint64_t h)
{
    uint32_t id = (uint32_t)(h ^ (h >> 32));
    uint64_t mine;
    size_t slot;

    if (id == 0)
        id = 1;
    if (f->n >= MOD_FEAT_MAX)
        return;
    mine = (uint64_t)f->gen << 32 | id;
    slot = (size_t)(id * 2654435761u) & f->set_mask;
    /* a slot of an earlier post (another generation) counts as empty */
    while ((uint32_t)(f->set[slot] >> 32) == f->gen) {
        if (f->set[slot] == mine)
            return;
        slot = (slot + 1) & f->set_mask;
    }
    f->set[slot] = mine;
    f->v[f->n++] = id;
}

static uint64_t token_hash_of(const char *s, size_t len, unsigned type)
{
    return mod_hash64(s, len, SEED_TOKEN + type);
}

/* Hash of token i as a unigram: numbers of 5+ digits by their length;
 * words hashed once by mod_toks_skeletons(). */
static uint64_t token_hash(const struct mod_toks *t, size_t i)
{
    const struct mod_tok *k = &t->v[i];
    const char *s = mod_tok_text(t, i);

    if (k->type == MOD_TOK_WORD && t->hashed)
        return k->hash;
    if (k->type == MOD_TOK_NUM && k->len > 4) {
        char shape[8];

        shape[0] = '#';
        shape[1] = (char)('0' + (k->len > 15 ? 15 : k->len) / 10);
        shape[2] = (char)('0' + (k->len > 15 ? 15 : k->len) % 10);
        return token_hash_of(shape, 3, k->type);
    }
    return token_hash_of(s, k->len, k->type);
}

uint32_t mod_feat_token_id(const struct mod_toks *t, size_t i)
{
    uint64_t h = token_hash(t, i);
    uint32_t id = (uint32_t)(h ^ (h >> 32));

    return id == 0 ? 1 : id;
}

/* Latin letters mixed with digits read as leetspeak: "fr33" -> "free". */
static int leet(const char *s, size_t len, char *out, size_t cap)
{
    int letters = 0;
    int digits = 0;
    size_t i;

    if (len >= cap)
        return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (c >= 'a' && c <= 'z') {
            letters++;
        } else if (c >= '0' && c <= '9') {
            static const char map[] = "oizeasgtbg";

            digits++;
            c = map[c - '0'];
        } else {
            return 0;
        }
        out[i] = c;
    }
    return letters >= 2 && digits >= 1;
}

static void char_ngrams(struct mod_feats *f, const char *s, size_t len,
                        const struct mod_feat_opts *o)
{
    int32_t cps[WORD_CPS_MAX + 2];
    size_t n = 0;
    size_t i = 0;
    unsigned g;

    cps[n++] = 0x02; /* start of word */
    while (i < len && n < WORD_CPS_MAX + 1) {
        int32_t c;

        i += mod_utf8_next(s + i, len - i, &c);
        cps[n++] = c;
    }
    cps[n++] = 0x03; /* end of word */
    for (g = o->char_min; g <= o->char_max; g++) {
        size_t st;

        if (n < g)
            break;
        for (st = 0; st + g <= n; st++) {
            /* a gram that is the whole padded word repeats the unigram */
            if (st == 0 && st + g == n)
                continue;
            add(f, mod_hash64(cps + st, g * sizeof cps[0], SEED_CHAR));
        }
    }
}

void mod_feats_extract(struct mod_feats *f, const struct mod_toks *t,
                       const struct mod_feat_opts *o)
{
    uint64_t hist[8];
    size_t nh = 0;
    size_t win = o->osb_window > 8 ? 8 : o->osb_window;
    size_t bound;
    size_t i;

    /* a new generation empties the set without touching it; after 2^32 - 1
     * posts the set is cleared once (generation 0 is never current) */
    if (++f->gen == 0) {
        memset(f->set, 0, ((size_t)1 << SET_BITS) * sizeof f->set[0]);
        f->gen = 1;
    }
    f->n = 0;
    /* the set in use: twice the features this post can give (a token, its
     * skeleton, its leetspeak form and its bigrams), so that it stays at
     * most half full; the whole set with character n-grams */
    bound = t->n * (3 + (win > 1 ? win - 1 : 0));
    if (o->char_min > 0 || bound > MOD_FEAT_MAX)
        bound = MOD_FEAT_MAX;
    f->set_mask = ((size_t)1 << SET_MIN_BITS) - 1;
    while (f->set_mask + 1 < 2 * bound)
        f->set_mask = f->set_mask * 2 + 1;
    for (i = 0; i < t->n; i++) {
        const struct mod_tok *k = &t->v[i];
        const char *s = mod_tok_text(t, i);
        uint64_t h = token_hash(t, i);
        size_t d;

        add(f, h);
        if (k->type == MOD_TOK_META)
            continue;
        if (k->type == MOD_TOK_WORD) {
            char buf[64];

            /* skeletons exist after mod_toks_skeletons() (t->hashed) */
            if (o->skeleton && t->hashed && k->skel_len >= 2)
                add(f, k->skel_hash);
            /* leetspeak needs a digit (the tokeniser noted one) */
            if ((k->digit || !t->hashed) && leet(s, k->len, buf, sizeof buf))
                add(f, token_hash_of(buf, k->len, MOD_TOK_WORD));
            if (o->char_min > 0 && (k->deva || o->char_all))
                char_ngrams(f, s, k->len, o);
        }
        /* OSB: pair with the previous win-1 tokens, gap in the hash */
        for (d = 1; d < win && d <= nh; d++)
            add(f, mod_hash_pair(hist[(nh - d) % 8], h, SEED_OSB + d));
        hist[nh % 8] = h;
        nh++;
    }
}
