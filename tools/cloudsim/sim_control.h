/*
 * tools/cloudsim/sim_control.h - the control and inspection API under
 * /_sim/ that tests, the sandbox and benchmarks use: recorded sends,
 * counters, reset, faults, the clock, windows, templates, tokens, runtime
 * settings, media injection and "be a citizen" (inbound messages).
 * docs/cloudsim.md is the contract. Control requests need no token: bind
 * the simulator to loopback.
 */
#ifndef JANSEVA_SIM_CONTROL_H
#define JANSEVA_SIM_CONTROL_H

#include "core/httpd.h"

struct sim;

/* Register every /_sim/ route on `h`; `s` is borrowed. */
void sim_control_register(struct sim *s, struct core_httpd *h);

#endif
