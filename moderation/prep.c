/*
 * moderation/prep.c - normalise, tokenise, add meta tokens, extract
 * features and fingerprint one post (see prep.h).
 */
#include "moderation/prep.h"

#include <stdio.h>
#include <string.h>

static const char *const signal_names[MOD_SIG_COUNT] = {
    "FWD",     "FWD_MANY", "MEDIA_NO_CAPTION", "HAS_INVISIBLE", "MIXED_SCRIPT", "SPACED_LETTERS",
    "EMOJI_MANY", "URL",  "PHONE",            "UPI",           "EMAIL",
};

const char *mod_signal_name(unsigned i)
{
    return i < MOD_SIG_COUNT ? signal_names[i] : "?";
}

void mod_prep_init(struct mod_prep *p)
{
    memset(p, 0, sizeof *p);
    mod_norm_init(&p->norm);
    mod_toks_init(&p->toks);
    mod_feats_init(&p->feats);
}

void mod_prep_cleanup(struct mod_prep *p)
{
    mod_norm_cleanup(&p->norm);
    mod_toks_cleanup(&p->toks);
    mod_feats_cleanup(&p->feats);
    memset(p, 0, sizeof *p);
}

static void meta(struct mod_prep *p, unsigned bit, unsigned idx)
{
    p->signals |= bit;
    mod_toks_add_meta(&p->toks, signal_names[idx]);
}

void mod_prep_fp(struct mod_prep *p)
{
    if (p->fp_done)
        return;
    mod_fp_compute(&p->toks, &p->fp);
    p->fp_done = 1;
}

static void run(struct mod_prep *p, const struct mod_post *post, const struct mod_feat_opts *fo,
                int emoji_many, int with_fp)
{
    const char *text = post->text;
    size_t len = post->text != NULL ? post->len : 0;
    const char *type = post->type != NULL && post->type[0] != '\0' ? post->type : "text";

    if (len == 0 && post->caption != NULL) {
        text = post->caption;
        len = strlen(post->caption);
    }
    p->text = text;
    p->len = len;
    p->signals = 0;
    mod_norm_run(&p->norm, text, len);
    mod_tokenise(&p->toks, p->norm.key, p->norm.len);
    mod_toks_skeletons(&p->toks);
    /* the fingerprint covers the words only, not the signals */
    p->fp_done = 0;
    if (with_fp)
        mod_prep_fp(p);
    if (p->toks.count[MOD_TOK_URL] > 0)
        p->signals |= MOD_SIG_URL;
    if (p->toks.count[MOD_TOK_PHONE] > 0)
        p->signals |= MOD_SIG_PHONE;
    if (p->toks.count[MOD_TOK_UPI] > 0)
        p->signals |= MOD_SIG_UPI;
    if (p->toks.count[MOD_TOK_EMAIL] > 0)
        p->signals |= MOD_SIG_EMAIL;
    if (post->frequently_forwarded)
        meta(p, MOD_SIG_FWD_MANY, 1);
    if (post->forwarded || post->frequently_forwarded)
        meta(p, MOD_SIG_FWD, 0);
    if ((post->has_media || strcmp(type, "text") != 0) && p->norm.len == 0)
        meta(p, MOD_SIG_MEDIA_NO_CAPTION, 2);
    if (p->norm.flags & MOD_NORM_INVISIBLE)
        meta(p, MOD_SIG_INVISIBLE, 3);
    if (p->norm.flags & MOD_NORM_MIXED_SCRIPT)
        meta(p, MOD_SIG_MIXED_SCRIPT, 4);
    if (p->norm.flags & MOD_NORM_SPACED)
        meta(p, MOD_SIG_SPACED, 5);
    if (emoji_many > 0 && p->norm.n_emoji >= (unsigned)emoji_many)
        meta(p, MOD_SIG_EMOJI_MANY, 6);
    if (strcmp(type, "text") != 0) {
        char name[40];

        snprintf(name, sizeof name, "TYPE_%.30s", type);
        mod_toks_add_meta(&p->toks, name);
    }
    mod_feats_extract(&p->feats, &p->toks, fo);
}

void mod_prep_run(struct mod_prep *p, const struct mod_post *post, const struct mod_feat_opts *fo,
                  int emoji_many)
{
    run(p, post, fo, emoji_many, 1);
}

void mod_prep_run_nofp(struct mod_prep *p, const struct mod_post *post,
                       const struct mod_feat_opts *fo, int emoji_many)
{
    run(p, post, fo, emoji_many, 0);
}
