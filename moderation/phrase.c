/*
 * moderation/phrase.c - phrase lists matched on token sequences (phrase.h).
 *
 * Phrases are indexed by the hash of their first token (its text, or its
 * skeleton for '~' phrases); phrases whose first token is a prefix ('*')
 * are kept apart and tried at every position. A post's skeletons are only
 * computed when the set holds '~' phrases.
 */
#include "moderation/phrase.h"
#include "core/mem.h"
#include "moderation/hash.h"
#include "moderation/norm.h"
#include "moderation/translit.h"

#include <stdlib.h>
#include <string.h>

#define SEED_PHRASE 0x7068726173656b31ULL

struct ptok {
    char *text;    /* token text (or skeleton for '~' phrases); owned */
    size_t len;
    uint8_t type;  /* enum mod_tok_type */
    uint8_t prefix; /* 1: matches tokens starting with text */
};

struct phrase {
    enum mod_phrase_list list;
    char *tag;
    char *source;
    int skel;          /* match on skeletons */
    size_t ntok;
    struct ptok tok[MOD_PHRASE_MAX_TOKENS];
    size_t next;       /* next phrase with the same first-token hash (+1; 0 ends) */
};

struct mod_phrases {
    struct phrase *v;
    size_t n;
    size_t cap;
    size_t *heads;     /* hash of first token -> phrase index + 1 */
    uint64_t *head_keys;
    size_t head_mask;
    size_t n_heads;
    size_t *prefixed;  /* phrases whose first token is a prefix */
    size_t n_prefixed;
    int any_skel;
};

static const char *const list_names[MOD_NLISTS] = {"block", "hold", "allow", "urgent", "report"};

const char *mod_phrase_list_name(enum mod_phrase_list l)
{
    return (unsigned)l < MOD_NLISTS ? list_names[l] : "?";
}

int mod_phrase_list_parse(const char *s, size_t len, enum mod_phrase_list *out)
{
    unsigned i;

    for (i = 0; i < MOD_NLISTS; i++) {
        if (strlen(list_names[i]) == len && memcmp(list_names[i], s, len) == 0) {
            *out = (enum mod_phrase_list)i;
            return 0;
        }
    }
    return -1;
}

struct mod_phrases *mod_phrases_new(void)
{
    struct mod_phrases *p = core_calloc(1, sizeof *p);

    p->head_mask = 255;
    p->heads = core_calloc(p->head_mask + 1, sizeof p->heads[0]);
    p->head_keys = core_calloc(p->head_mask + 1, sizeof p->head_keys[0]);
    return p;
}

static void phrase_cleanup(struct phrase *ph)
{
    size_t i;

    for (i = 0; i < ph->ntok; i++)
        free(ph->tok[i].text);
    free(ph->tag);
    free(ph->source);
}

void mod_phrases_free(struct mod_phrases *p)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < p->n; i++)
        phrase_cleanup(&p->v[i]);
    free(p->v);
    free(p->heads);
    free(p->head_keys);
    free(p->prefixed);
    free(p);
}

size_t mod_phrases_count(const struct mod_phrases *p)
{
    return p->n;
}

static uint64_t key_of(const char *s, size_t len, unsigned type)
{
    uint64_t k = mod_hash64(s, len, SEED_PHRASE + type);

    return k == 0 ? 1 : k;
}

/* Slot of `key` in the head table (existing or empty). */
static size_t head_slot(const struct mod_phrases *p, uint64_t key)
{
    size_t s = (size_t)key & p->head_mask;

    while (p->head_keys[s] != 0 && p->head_keys[s] != key)
        s = (s + 1) & p->head_mask;
    return s;
}

static void head_grow(struct mod_phrases *p)
{
    size_t old_cap = p->head_mask + 1;
    size_t *oh = p->heads;
    uint64_t *ok = p->head_keys;
    size_t i;

    p->head_mask = old_cap * 2 - 1;
    p->heads = core_calloc(p->head_mask + 1, sizeof p->heads[0]);
    p->head_keys = core_calloc(p->head_mask + 1, sizeof p->head_keys[0]);
    for (i = 0; i < old_cap; i++) {
        if (ok[i] != 0) {
            size_t s = head_slot(p, ok[i]);

            p->head_keys[s] = ok[i];
            p->heads[s] = oh[i];
        }
    }
    free(oh);
    free(ok);
}

/* Normalise and tokenise one space-separated piece of a phrase. */
static int add_piece(struct phrase *ph, struct mod_norm *nm, struct mod_toks *tk, const char *s,
                     size_t len)
{
    int prefix = 0;
    size_t i;

    if (len > 0 && s[len - 1] == '*') {
        prefix = 1;
        len--;
    }
    mod_norm_run(nm, s, len);
    mod_tokenise(tk, nm->key, nm->len);
    for (i = 0; i < tk->n; i++) {
        struct ptok *pt;
        const char *tx = mod_tok_text(tk, i);

        if (ph->ntok == MOD_PHRASE_MAX_TOKENS)
            return -1;
        pt = &ph->tok[ph->ntok++];
        pt->type = tk->v[i].type;
        pt->prefix = (uint8_t)(prefix && i + 1 == tk->n);
        if (ph->skel && tk->v[i].type == MOD_TOK_WORD) {
            char sk[MOD_SKEL_MAX];

            pt->len = mod_skeleton(tx, tk->v[i].len, sk);
            pt->text = core_strndup(sk, pt->len);
        } else {
            pt->len = tk->v[i].len;
            pt->text = core_strndup(tx, pt->len);
        }
    }
    return 0;
}

int mod_phrases_add(struct mod_phrases *p, enum mod_phrase_list list, const char *tag,
                    const char *phrase, struct core_err *err)
{
    struct phrase ph;
    struct mod_norm nm;
    struct mod_toks tk;
    const char *s = phrase;
    int rc = 0;

    memset(&ph, 0, sizeof ph);
    ph.list = list;
    if (*s == '~') {
        ph.skel = 1;
        s++;
    }
    mod_norm_init(&nm);
    mod_toks_init(&tk);
    while (*s != '\0' && rc == 0) {
        size_t n;

        while (*s == ' ' || *s == '\t')
            s++;
        n = strcspn(s, " \t");
        if (n > 0)
            rc = add_piece(&ph, &nm, &tk, s, n);
        s += n;
    }
    mod_norm_cleanup(&nm);
    mod_toks_cleanup(&tk);
    if (rc != 0 || ph.ntok == 0 || (ph.skel && ph.tok[0].len == 0)) {
        phrase_cleanup(&ph);
        return core_err_set(err, CORE_EX_DATAERR,
                            rc != 0 ? "phrase has more than %d tokens"
                                    : "phrase has no word to match (%d tokens at most)",
                            MOD_PHRASE_MAX_TOKENS);
    }
    ph.tag = core_strdup(tag);
    ph.source = core_strdup(phrase);
    if (p->n == p->cap) {
        p->cap = p->cap == 0 ? 64 : p->cap * 2;
        p->v = core_realloc(p->v, p->cap * sizeof p->v[0]);
    }
    p->any_skel |= ph.skel;
    if (ph.tok[0].prefix) {
        p->prefixed = core_realloc(p->prefixed, (p->n_prefixed + 1) * sizeof p->prefixed[0]);
        p->prefixed[p->n_prefixed++] = p->n;
    } else {
        uint64_t key = key_of(ph.tok[0].text, ph.tok[0].len,
                              ph.skel && ph.tok[0].type == MOD_TOK_WORD ? 0xFF : ph.tok[0].type);
        size_t slot;

        if ((p->n_heads + 1) * 2 > p->head_mask + 1)
            head_grow(p);
        slot = head_slot(p, key);
        if (p->head_keys[slot] == 0) {
            p->head_keys[slot] = key;
            p->n_heads++;
        }
        ph.next = p->heads[slot];
        p->heads[slot] = p->n + 1;
    }
    p->v[p->n++] = ph;
    return 0;
}

int mod_phrases_add_text(struct mod_phrases *p, const char *name, const char *text, size_t len,
                         struct core_err *err)
{
    size_t first = p->n;
    size_t line = 0;
    size_t i = 0;

    while (i < len) {
        const char *ln = text + i;
        size_t n = 0;
        const char *t1;
        const char *t2;
        enum mod_phrase_list list;
        char tag[64];
        char *phrase;
        int rc;

        while (i + n < len && text[i + n] != '\n')
            n++;
        i += n + 1;
        line++;
        if (n > 0 && ln[n - 1] == '\r')
            n--;
        if (n == 0 || ln[0] == '#')
            continue;
        t1 = memchr(ln, '\t', n);
        t2 = t1 != NULL ? memchr(t1 + 1, '\t', n - (size_t)(t1 + 1 - ln)) : NULL;
        if (t2 == NULL || mod_phrase_list_parse(ln, (size_t)(t1 - ln), &list) != 0 ||
            t2 - t1 - 1 <= 0 || (size_t)(t2 - t1 - 1) >= sizeof tag) {
            core_err_set(err, CORE_EX_DATAERR,
                         "%s:%zu: expected LIST<TAB>TAG<TAB>PHRASE with LIST one of block, "
                         "hold, allow, urgent, report",
                         name, line);
            goto fail;
        }
        memcpy(tag, t1 + 1, (size_t)(t2 - t1 - 1));
        tag[t2 - t1 - 1] = '\0';
        phrase = core_strndup(t2 + 1, n - (size_t)(t2 + 1 - ln));
        rc = mod_phrases_add(p, list, tag, phrase, err);
        free(phrase);
        if (rc != 0) {
            core_err_wrap(err, "%s:%zu", name, line);
            goto fail;
        }
    }
    return 0;
fail:
    /* take back what this text added: newest first keeps the chains valid */
    while (p->n > first) {
        struct phrase *ph = &p->v[p->n - 1];

        if (ph->tok[0].prefix) {
            p->n_prefixed--;
        } else {
            uint64_t key = key_of(ph->tok[0].text, ph->tok[0].len,
                                  ph->skel && ph->tok[0].type == MOD_TOK_WORD ? 0xFF
                                                                         : ph->tok[0].type);
            size_t slot = head_slot(p, key);

            p->heads[slot] = ph->next;
        }
        phrase_cleanup(ph);
        p->n--;
    }
    return -1;
}

/* ======================= matching ======================= */

struct post_view {
    const struct mod_toks *t;
    char (*skel)[MOD_SKEL_MAX]; /* skeletons of the post's tokens, or NULL */
    size_t *skel_len;
};

static int tok_eq(const struct ptok *pt, const struct post_view *pv, size_t i, int skel)
{
    const struct mod_tok *k = &pv->t->v[i];
    const char *s;
    size_t len;

    if (skel && k->type == MOD_TOK_WORD && pt->type == MOD_TOK_WORD) {
        s = pv->skel[i];
        len = pv->skel_len[i];
    } else {
        if (k->type != pt->type)
            return 0;
        s = mod_tok_text(pv->t, i);
        len = k->len;
    }
    if (pt->prefix)
        return len >= pt->len && memcmp(s, pt->text, pt->len) == 0;
    return len == pt->len && memcmp(s, pt->text, len) == 0;
}

static int match_at(const struct phrase *ph, const struct post_view *pv, size_t at)
{
    size_t j;

    if (at + ph->ntok > pv->t->n)
        return 0;
    for (j = 0; j < ph->ntok; j++) {
        if (!tok_eq(&ph->tok[j], pv, at + j, ph->skel))
            return 0;
    }
    return 1;
}

static size_t record(const struct mod_phrases *p, size_t idx, size_t at,
                     struct mod_phrase_hit *hits, size_t nh, size_t max, unsigned char *seen)
{
    const struct phrase *ph = &p->v[idx];

    if (seen[idx / 8] & (1u << (idx % 8)) || nh >= max)
        return nh;
    seen[idx / 8] |= (unsigned char)(1u << (idx % 8));
    hits[nh].list = ph->list;
    hits[nh].tag = ph->tag;
    hits[nh].phrase = ph->source;
    hits[nh].at = at;
    return nh + 1;
}

static size_t scan_chain(const struct mod_phrases *p, uint64_t key, const struct post_view *pv,
                         size_t at, struct mod_phrase_hit *hits, size_t nh, size_t max,
                         unsigned char *seen)
{
    size_t slot = head_slot(p, key);
    size_t idx;

    if (p->head_keys[slot] == 0)
        return nh;
    for (idx = p->heads[slot]; idx != 0; idx = p->v[idx - 1].next) {
        if (match_at(&p->v[idx - 1], pv, at))
            nh = record(p, idx - 1, at, hits, nh, max, seen);
    }
    return nh;
}

size_t mod_phrases_match(const struct mod_phrases *p, const struct mod_toks *t,
                         struct mod_phrase_hit *hits, size_t max)
{
    struct post_view pv;
    unsigned char seen_small[256];
    unsigned char *seen = seen_small;
    size_t nh = 0;
    size_t i;
    size_t j;

    if (p->n == 0 || t->n == 0)
        return 0;
    if (p->n > sizeof seen_small * 8)
        seen = core_calloc(p->n / 8 + 1, 1);
    else
        memset(seen_small, 0, sizeof seen_small);
    pv.t = t;
    pv.skel = NULL;
    pv.skel_len = NULL;
    if (p->any_skel) {
        pv.skel = core_malloc(t->n * sizeof pv.skel[0]);
        pv.skel_len = core_malloc(t->n * sizeof pv.skel_len[0]);
        for (i = 0; i < t->n; i++)
            pv.skel_len[i] = mod_tok_skel(t, i, pv.skel[i]);
    }
    for (i = 0; i < t->n && nh < max; i++) {
        const struct mod_tok *k = &t->v[i];

        nh = scan_chain(p, key_of(mod_tok_text(t, i), k->len, k->type), &pv, i, hits, nh, max,
                        seen);
        if (pv.skel != NULL && k->type == MOD_TOK_WORD && pv.skel_len[i] > 0)
            nh = scan_chain(p, key_of(pv.skel[i], pv.skel_len[i], 0xFF), &pv, i, hits, nh, max,
                            seen);
        for (j = 0; j < p->n_prefixed; j++) {
            if (match_at(&p->v[p->prefixed[j]], &pv, i))
                nh = record(p, p->prefixed[j], i, hits, nh, max, seen);
        }
    }
    if (seen != seen_small)
        free(seen);
    free(pv.skel);
    free(pv.skel_len);
    return nh;
}
