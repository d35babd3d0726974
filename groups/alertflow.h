/*
 * groups/alertflow.h - the dialogue's "alert" flow: a registered officer's
 * ALERT over WhatsApp (docs/broadcasts.md, "From WhatsApp"), on top of the
 * broadcast engine (groups/broadcast.h) that main.c gives the dialogue
 * (grp_dlg_set_broadcast).
 *
 *   ALERT <text> / उद्घोषणा <text>      -> grp_bc_prepare with the officer's
 *   ALERT <CODE> <text>                    unit (or sub-unit CODE) as scope;
 *                                          the preview (area, members, how
 *                                          many inside the 24 h window,
 *                                          estimated cost) with the buttons
 *                                          alert:ok:<BID> / alert:no:<BID>
 *   ALERT alone (or the menu's kw:alert) -> asks for the text (ds
 *                                          "alert:text", dd {"s": CODE})
 *   alert:ok:<BID>                       -> grp_bc_confirm (once; only the
 *                                          officer who prepared it)
 *   alert:no:<BID>                       -> grp_bc_cancel
 *   alert:pick:<BID>[:<OFF>]             -> the preview's "Choose area"
 *                                          button (scopes with sub-units):
 *                                          a list of the direct sub-units
 *                                          of the draft's scope, a page at
 *                                          a time ("back" / "more" rows)
 *   alert:sub:<BID>:<CODE>               -> a row of that list: the same
 *                                          text prepared for CODE (which
 *                                          must lie under the draft's scope
 *                                          and in the officer's
 *                                          jurisdiction), its preview, and
 *                                          draft BID cancelled (superseded:
 *                                          only the new one can be sent);
 *                                          its preview offers "Choose area"
 *                                          again, one level further down
 *   alert:up:<BID>                       -> "Wider area" (a button of a
 *                                          village's preview, the first row
 *                                          of the area list) when the draft
 *                                          is narrower than the officer's
 *                                          unit: the same text prepared for
 *                                          the parent of its scope, BID
 *                                          cancelled, as for a row
 *
 * The menu (groups/enrol.c) shows registered officers a row "Alert /
 * उद्घोषणा" (kw:alert); citizens never see it.
 *
 * Whoever is not an officer (js:off:{MID}) never sees any of it: ALERT is
 * then an ordinary message. Jurisdiction is the engine's (grp_bc_prepare
 * refuses a scope outside the officer's unit).
 */
#ifndef JANSEVA_GROUPS_ALERTFLOW_H
#define JANSEVA_GROUPS_ALERTFLOW_H

#include "groups/broadcast.h"
#include "groups/dialogue.h"
#include "groups/hier.h"

#include <stddef.h>

#define GRP_ALERTFLOW_STATE "alert:text"
#define GRP_ALERTFLOW_OK "alert:ok:" /* + BID: the Confirm button */
#define GRP_ALERTFLOW_NO "alert:no:" /* + BID: the Cancel button */
#define GRP_ALERTFLOW_PICK "alert:pick:" /* + BID [":" offset]: "Choose area", list pages */
#define GRP_ALERTFLOW_SUB "alert:sub:"   /* + BID ":" CODE: a row of the area list */
#define GRP_ALERTFLOW_UP "alert:up:"     /* + BID: "Wider area", the scope's parent */

/* What an officer's message says, before anything is looked up. */
struct grp_alert_cmd {
    char scope[GRP_CODE_MAX + 1]; /* a first word that looks like a unit code
                                   * (capitals, digits, '-'), or "" */
    size_t scope_off;             /* where the words after the keyword begin */
    size_t text_off;              /* where the text begins if `scope` is a unit */
};

/*
 * Read "ALERT [CODE] [text]" (`len` bytes of UTF-8 as typed; the keyword in
 * either script, see grp_dlg_keyword_lead). Returns 1 when the message
 * starts with the keyword (`out` filled; the text may be empty), else 0.
 * With `keyword` 0 the message is read as "[CODE] [text]" (the answer to
 * "write the text"). Pure; fuzzed.
 */
int grp_alertflow_parse(const char *text, size_t len, int keyword, struct grp_alert_cmd *out);

/*
 * One page of the area list: `n` sub-units, the page that holds `offset`;
 * `reserve` rows of the first page are taken by others ("Wider area").
 * The first page shows up to 10 - reserve sub-units, or one fewer and a
 * "more" row; later pages start with a "back" row, then up to 9
 * sub-units, or 8 and "more": never more than GRP_DLG_ROWS_MAX rows. An
 * offset past the end gives the last page. Pure.
 */
struct grp_alert_page {
    size_t first; /* index of the first sub-unit shown */
    size_t count; /* sub-units shown */
    int back;     /* a "back" row comes first (offset `prev`) */
    int more;     /* a "more" row comes last (offset `next`) */
    size_t prev;
    size_t next;
};

void grp_alertflow_page(size_t n, size_t offset, size_t reserve, struct grp_alert_page *pg);

/* The flow (registered in dialogue.c's flows[]). */
extern const struct grp_flow grp_alertflow_flow;

/* Register the flow's metrics. */
void grp_alertflow_metrics_init(void);

#endif
