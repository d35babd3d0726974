/*
 * tests/fuzz/fuzz_dialogue.c - libFuzzer driver for everything the dialogue
 * parses from what a citizen types or taps: keywords, yes/no, PIN codes,
 * interactive reply ids, the locality-name search (over a small built-in
 * hierarchy) and the clipping of texts into WhatsApp's limits. Any input
 * must be handled without a crash, a leak or an out-of-range answer.
 */
#include "groups/alertflow.h"
#include "groups/dialogue.h"
#include "groups/lookup.h"
#include "groups/texts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct grp_lookup *index_once(void)
{
    static struct grp_lookup *lk;
    static const char *const v[][4] = {
        {"HLD-01", "Haldi Chhapra", "हल्दी छपरा", "801108"},
        {"KHG-01", "Khagaul", "खगौल", "801105"},
        {"PAT-W28", "Kankarbagh Ward 28", "कंकड़बाग वार्ड 28", "800020"},
        {"SJT-01", "Sujata Garh", "सुजाता गढ़", "824231"},
        {"PS-1", "Prathamik Vidyalay, Pipra (polling station 001)", "", "845107"},
        {"V-1", "Pipra", "", ""},
        {"D-1", "उत्क्रमित मध्य विद्यालय गंगौड़ा बॉया भाग कमरा नं0 01", "", ""},
    };

    if (lk != NULL)
        return lk;
    lk = grp_lookup_new();
    grp_lookup_add(lk, "BR", GRP_STATE, "", "Bihar", "बिहार", NULL, NULL, -1);
    grp_lookup_add(lk, "PAT", GRP_DISTRICT, "BR", "Patna", "पटना", NULL, NULL, -1);
    grp_lookup_add(lk, "T", GRP_THANA, "PAT", "Danapur", "दानापुर", NULL, NULL, -1);
    grp_lookup_add(lk, "B", GRP_BEAT, "T", "Beat", "", NULL, NULL, -1);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        grp_lookup_add(lk, v[i][0], GRP_LOCALITY, "B", v[i][1], v[i][2], v[i][3], NULL, 100);
    grp_lookup_finish(lk);
    return lk;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct grp_match m[9];
    size_t n;
    char pin[7];
    char *nul = malloc(size + 1);
    enum grp_keyword kw;
    int yn;

    memcpy(nul, data, size);
    nul[size] = '\0';

    kw = grp_dlg_keyword(text, size);
    if ((unsigned)kw >= GRP_KW_COUNT)
        abort();
    kw = grp_dlg_keyword_id(nul);
    if ((unsigned)kw >= GRP_KW_COUNT)
        abort();
    {
        size_t rest = 0;
        struct grp_alert_cmd c;

        kw = grp_dlg_keyword_lead(text, size, &rest);
        if (kw != GRP_KW_NONE && (kw != GRP_KW_ALERT || rest > size))
            abort();
        for (int k = 0; k < 2; k++) {
            if (grp_alertflow_parse(text, size, k, &c) &&
                (c.scope_off > size || c.text_off > size || c.text_off < c.scope_off ||
                 strlen(c.scope) > GRP_CODE_MAX ||
                 (c.scope[0] != '\0' && memcmp(text + c.scope_off, c.scope,
                                                strlen(c.scope)) != 0)))
                abort();
        }
        if (grp_dlg_done(text, size) > 1)
            abort();
    }
    yn = grp_dlg_yes_no(text, size);
    if (yn < -1 || yn > 1)
        abort();
    if (grp_dlg_pincode(text, size, pin)) {
        if (strlen(pin) != 6 || pin[0] < '1' || pin[0] > '9')
            abort();
        for (int i = 0; i < 6; i++) {
            if (pin[i] < '0' || pin[i] > '9')
                abort();
        }
    } else if (pin[0] != '\0') {
        abort();
    }

    n = grp_lookup_search(index_once(), text, size, NULL, 0, m, 9);
    if (n > 9)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (m[i].place == NULL || m[i].place->kind != GRP_LOCALITY ||
            (i > 0 && m[i].rank < m[i - 1].rank))
            abort();
    }

    /* clipping keeps a prefix within the limit */
    {
        char *c = strdup(nul);
        size_t len = grp_text_clip(c, GRP_TEXT_ROW_MAX);

        if (len != strlen(c) || grp_text_chars(c, len) > GRP_TEXT_ROW_MAX)
            abort();
        free(c);
    }

    /* a list built from typed titles stays within WhatsApp's limits */
    {
        struct grp_dlg_option rows[12];
        json_t *j;

        for (int i = 0; i < 12; i++)
            rows[i] = (struct grp_dlg_option){i % 2 ? "a" : "b", nul, nul};
        j = grp_dlg_list_json(nul, nul, rows, 12);
        if (j != NULL) {
            json_t *r = json_object_get(
                json_array_get(json_object_get(json_object_get(json_object_get(j, "interactive"),
                                                               "action"),
                                               "sections"),
                               0),
                "rows");

            if (json_array_size(r) > GRP_DLG_ROWS_MAX || json_array_size(r) > 2)
                abort();
            json_decref(j);
        }
        j = grp_dlg_buttons_json(nul, rows, 3);
        json_decref(j);
    }
    free(nul);
    return 0;
}
