/*
 * tests/fuzz/fuzz_normalise.c - libFuzzer driver for the moderation
 * normaliser, tokeniser, skeletons, features, fingerprints and phrase
 * matching (moderation/norm.c, token.c, translit.c, features.c, fp.c,
 * phrase.c). Any byte string must go through without a crash or leak, and:
 * the key is valid UTF-8 without leading, trailing or doubled spaces; the
 * key is a fixed point (normalising it again changes nothing); the fast
 * Devanagari path and the general utf8proc path agree.
 */
#include "moderation/features.h"
#include "moderation/fp.h"
#include "moderation/norm.h"
#include "moderation/phrase.h"
#include "moderation/seed.h"
#include "moderation/token.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mod_norm nm;
static struct mod_norm again;
static struct mod_norm slow;
static struct mod_toks tk;
static struct mod_feats fs;
static struct mod_phrases *phrases;

static void init(void)
{
    const struct mod_seed_file *f = mod_seed_find("rules/phrases.tsv");
    struct core_err err;

    mod_norm_init(&nm);
    mod_norm_init(&again);
    mod_norm_init(&slow);
    slow.no_fast_path = 1;
    mod_toks_init(&tk);
    mod_feats_init(&fs);
    phrases = mod_phrases_new();
    if (f == NULL || mod_phrases_add_text(phrases, "phrases", f->data, f->len, &err) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct mod_feat_opts fo;
    struct mod_phrase_hit hits[MOD_PHRASE_MAX_HITS];
    struct mod_fp fp;
    utf8proc_ssize_t off = 0;
    size_t i;

    if (!ready) {
        init();
        ready = 1;
    }
    mod_norm_run(&nm, (const char *)data, size);
    /* valid UTF-8, single inner spaces */
    while ((size_t)off < nm.len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)nm.key + off,
                                              (utf8proc_ssize_t)nm.len - off, &c);

        if (k <= 0)
            abort();
        off += k;
    }
    if (strlen(nm.key) != nm.len)
        abort();
    if (nm.len > 0 && (nm.key[0] == ' ' || nm.key[nm.len - 1] == ' '))
        abort();
    if (strstr(nm.key, "  ") != NULL)
        abort();
    /* a fixed point (unless the key had to be cut) */
    if ((nm.flags & MOD_NORM_TRUNCATED) == 0 && nm.len <= MOD_NORM_MAX_BYTES) {
        mod_norm_run(&again, nm.key, nm.len);
        if (strcmp(again.key, nm.key) != 0)
            abort();
    }
    /* the fast path agrees with the general path */
    mod_norm_run(&slow, (const char *)data, size);
    if (strcmp(slow.key, nm.key) != 0 || slow.flags != nm.flags)
        abort();
    mod_tokenise(&tk, nm.key, nm.len);
    mod_toks_add_meta(&tk, "FWD");
    mod_toks_skeletons(&tk);
    for (i = 0; i < tk.n; i++) {
        char sk[MOD_SKEL_MAX];
        size_t sl = mod_tok_skel(&tk, i, sk);

        if (sl >= 64 || sl != tk.v[i].skel_len || strlen(sk) != sl)
            abort();
        if (tk.v[i].len == 0 && tk.v[i].type != MOD_TOK_PHONE)
            abort();
    }
    mod_feat_opts_default(&fo);
    fo.char_min = 3;
    fo.char_max = 4;
    fo.char_all = 1;
    mod_feats_extract(&fs, &tk, &fo);
    if (fs.n > MOD_FEAT_MAX)
        abort();
    for (i = 0; i < fs.n; i++) {
        if (fs.v[i] == 0)
            abort();
    }
    mod_fp_compute(&tk, &fp);
    if (mod_phrases_match(phrases, &tk, hits, MOD_PHRASE_MAX_HITS) > MOD_PHRASE_MAX_HITS)
        abort();
    return 0;
}
