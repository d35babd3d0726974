/*
 * groups/groupcli.h - `janseva group` (a village group's settings and the
 * day's relay numbers) and `janseva digest` (send the daily digests now).
 * docs/groups.md, "Relay economics".
 */
#ifndef JANSEVA_GROUPS_GROUPCLI_H
#define JANSEVA_GROUPS_GROUPCLI_H

/* janseva group set CODE relay=each|digest | group show CODE [--json] */
int grp_groupcli_main(int argc, char **argv);

/* janseva digest run [--day YYYYMMDD] [CODE] */
int grp_groupcli_digest(int argc, char **argv);

#endif
