/*
 * groups/tipflow.h - the dialogue's "tip" flow: the WhatsApp side of the
 * secret tip line (docs/tips.md, "The conversation"). It talks to the tip
 * store (groups/tip.h) that main.c gives the dialogue (grp_dlg_set_tips).
 *
 *   TIP / गुप्त सूचना / menu kw:tip  -> what is and is not protected + the
 *                                     case's pseudonym (grp_tip_open_case);
 *                                     state ds = "tip:open"
 *   anything while the tip session   -> into the case (grp_tip_add), "received"
 *   lives                               with a Done button (reply id tip:done)
 *   DONE / हो गया / Done button       -> grp_tip_session_end, closing message
 *   a WhatsApp reply to an officer's  -> into that case (grp_tip_find_by_context)
 *   message
 *   a message quoting the pseudonym   -> into that case, or its news when the
 *                                        message is little more than the code
 *
 * The case id is never written to the member record: the flow asks the tip
 * store for the member's session (grp_tip_session_get, sealed under a keyed
 * hash of the mid) at each message. `ds` only says "tip:open". While a
 * session lives nothing the member sends reaches the "post" flow (the flow's
 * on_other hook runs before the membership route), except after STOP.
 */
#ifndef JANSEVA_GROUPS_TIPFLOW_H
#define JANSEVA_GROUPS_TIPFLOW_H

#include "groups/dialogue.h"

#define GRP_TIPFLOW_STATE "tip:open"  /* ds while a tip is being given */
#define GRP_TIPFLOW_DONE_ID "tip:done" /* the Done button's reply id */
#define GRP_TIPFLOW_SHORT 24           /* bytes: a quote this short asks for news */

/* The flow (registered in dialogue.c's flows[]). */
extern const struct grp_flow grp_tipflow_flow;

/* Register the flow's metrics. */
void grp_tipflow_metrics_init(void);

#endif
