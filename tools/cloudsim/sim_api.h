/*
 * tools/cloudsim/sim_api.h - the Graph API side of the simulator:
 *
 *   POST   /{version}/{phone_number_id}/messages   send, mark as read
 *   POST   /{version}/{phone_number_id}/media      upload (multipart)
 *   GET    /{version}/{media_id}                   media URL and metadata
 *   DELETE /{version}/{media_id}                   delete media
 *   GET    /whatsapp_business/attachments/?mid=... media bytes (Bearer)
 *
 * and the registration of every route (the control API lives in
 * sim_control). docs/cloudsim.md is the contract.
 */
#ifndef JANSEVA_SIM_API_H
#define JANSEVA_SIM_API_H

#include "core/httpd.h"

struct sim;

/* Register the control routes and the Graph API on `h`; `s` is borrowed. */
void sim_api_register(struct sim *s, struct core_httpd *h);

#endif
