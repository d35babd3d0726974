/*
 * moderation/label.h - the six moderation classes and the three verdicts,
 * with their names as they appear in training files and JSON output.
 */
#ifndef JANSEVA_MODERATION_LABEL_H
#define JANSEVA_MODERATION_LABEL_H

#include <stddef.h>

enum mod_label {
    MOD_LEGIT = 0,   /* reports, complaints, questions, useful local information */
    MOD_GREETING,    /* festival and good-morning wishes, congratulations, birthdays */
    MOD_POLITICAL,   /* promotion of parties, politicians, rallies, election appeals */
    MOD_COMMERCIAL,  /* ads, offers, jobs-for-fee, loans, betting */
    MOD_RUMOUR,      /* chain forwards, unverified alarming claims */
    MOD_HOSTILE,     /* communal or caste hate, threats, abuse, defamation */
    MOD_NLABELS
};

enum mod_verdict {
    MOD_RELAY = 0, /* post to the group */
    MOD_HOLD,      /* review queue (HQ moderator) */
    MOD_DROP,      /* keep out of the group; polite notice to the sender */
};

/* "legit", "greeting", ... ; "?" when out of range. */
const char *mod_label_name(enum mod_label l);

/* strlen(mod_label_name(l)), without the scan (the JSON writer). */
size_t mod_label_name_len(enum mod_label l);

/*
 * Parse a label of a training file: the six names, plus "ham" (= legit) and
 * "spam" (= commercial), case-insensitive, `len` bytes. Returns 0 or -1.
 */
int mod_label_parse(const char *s, unsigned long len, enum mod_label *out);

/* "relay", "hold", "drop". */
const char *mod_verdict_name(enum mod_verdict v);

#endif
