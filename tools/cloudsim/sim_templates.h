/*
 * tools/cloudsim/sim_templates.h - the approved message templates the
 * simulator knows, in Meta's own format (as GET /{waba}/message_templates
 * lists them), so a real template export can be loaded as is:
 *
 *   {"data":[{"name":"alert_v1","language":"hi","category":"UTILITY",
 *     "status":"APPROVED","components":[
 *       {"type":"HEADER","format":"TEXT","text":"{{1}} alert"},
 *       {"type":"BODY","text":"Dear {{1}}, {{2}}"},
 *       {"type":"BUTTONS","buttons":[{"type":"URL","url":"https://x/{{1}}"}]}]}]}
 *
 * A file or a POST body may be that object, {"templates":[...]}, a bare
 * array or a single template. A send names a template by name and language
 * code; unknown (or not APPROVED) gives 132001, a parameter count that does
 * not match the placeholders gives 132000. Thread-safe (rwlock).
 */
#ifndef JANSEVA_SIM_TEMPLATES_H
#define JANSEVA_SIM_TEMPLATES_H

#include "core/err.h"

#include <jansson.h>
#include <stddef.h>

#define SIM_CATEGORY_LEN 32
#define SIM_DETAILS_LEN 256

struct sim_templates;

/* An empty store. Never fails. */
struct sim_templates *sim_templates_new(void);

/* NULL is a no-op. */
void sim_templates_free(struct sim_templates *t);

/*
 * Add or replace the templates in `v` (borrowed). Returns how many were
 * added, or -1 with err (CORE_EX_DATAERR) naming the first bad template;
 * nothing is added then.
 */
int sim_templates_add(struct sim_templates *t, const json_t *v, struct core_err *err);

/* Load a JSON file; -1 with err (CORE_EX_CONFIG) when unreadable or invalid. */
int sim_templates_load(struct sim_templates *t, const char *path, struct core_err *err);

/* Forget every template. */
void sim_templates_clear(struct sim_templates *t);

/*
 * Check the `template` object of a send (borrowed). Returns 0 and the
 * template's category in lower case ("utility", "marketing",
 * "authentication"), or the error code (100, 131008, 132000, 132001) with
 * `details` filled.
 */
int sim_templates_check(struct sim_templates *t, const json_t *tpl, char category[SIM_CATEGORY_LEN],
                        char details[SIM_DETAILS_LEN]);

/* Every template as {"name","language","category","params":{...}} (new reference). */
json_t *sim_templates_list(struct sim_templates *t);

#endif
