/*
 * groups/enrol.h - the "enrol" flow of the dialogue: first contact (welcome,
 * privacy notice, menu), joining a village/mohalla group by shared location,
 * PIN code, name or menus, confirmation with the group rules and consent,
 * and the keywords every citizen has: STOP, HELP, LANG (and HINDI,
 * ENGLISH), JOIN, MOVE, MENU and the menu's "tell the police".
 *
 * Dialogue states (ds) and interactive reply ids it owns, all "join:...":
 *
 *   ds join:ask      asked for a location, PIN or name
 *   ds join:pick     offered a list; dd {"k":"c","c":[codes],"km":[tenths]}
 *                    for name and location results (PIN and menu lists are
 *                    recomputed from the reply id instead)
 *   ds join:confirm  asked to confirm; dd {"c":CODE}
 *
 *   join:how:loc | join:how:pin | join:how:menu     the three ways to choose
 *   join:unit:CODE                 open a district or thana in the menus
 *   join:more:u:CODE:N             next page of a menu level ("" = districts)
 *   join:more:p:PIN:N              next page of a PIN's localities
 *   join:more:c:N                  next page of the last name/location results
 *   join:loc:CODE                  a locality picked: ask to confirm
 *   join:yes:CODE | join:no        confirmed (consent) / choose another
 *
 * Every reply id names what it acts on, so a tap on an old message still
 * does what its button said; codes are checked against the hierarchy.
 * Nothing a citizen types (a name, a PIN they did not choose) is stored.
 */
#ifndef JANSEVA_GROUPS_ENROL_H
#define JANSEVA_GROUPS_ENROL_H

#include "groups/dialogue.h"

#define GRP_ENROL_RESULTS_MAX 27 /* name and location results: three pages */

/* The flow (registered in dialogue.c). */
extern const struct grp_flow grp_enrol_flow;

/* Register the enrolment metrics (called by grp_dlg_metrics_init). */
void grp_enrol_metrics_init(void);

#endif
