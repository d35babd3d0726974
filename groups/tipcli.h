/*
 * groups/tipcli.h - `janseva tip ...`: officers' and custodians' console.
 *
 *   janseva tip list [--state open|closed] [--limit N] [--officer MID] [--json]
 *   janseva tip show CASE [--officer MID] [--json]
 *   janseva tip reply CASE --text TEXT [--key KEY] [--officer MID]
 *   janseva tip close CASE [--reason TEXT] [--officer MID]
 *   janseva tip media CASE N --out FILE [--officer MID]
 *   janseva tip reveal request CASE --reason TEXT [--officer MID] [--no-wait]
 *   janseva tip reveal wait REQUEST [--officer MID]
 *   janseva tip reveal approve REQUEST --custodian ID --share FILE
 *   janseva tip reveal deny REQUEST --custodian ID [--reason TEXT]
 *   janseva tip reveal status [REQUEST]
 *   janseva tip reveal notices --for WHO
 *
 * CASE is a case id or a pseudonym. Without --officer the user is an
 * operator with HQ visibility; with it, the officer's jurisdiction applies
 * (js:off:{MID}). Every action is in the audit log as "cli:<login>" (plus
 * "/off:<mid>"). Nothing printed ever holds a number, a name or a member id,
 * except the identity a completed reveal prints to its requester.
 */
#ifndef JANSEVA_GROUPS_TIPCLI_H
#define JANSEVA_GROUPS_TIPCLI_H

/* `janseva tip ...`: argv[0] is "tip". Returns the exit status. */
int grp_tipcli_main(int argc, char **argv);

#endif
