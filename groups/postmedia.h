/*
 * groups/postmedia.h - the media worker of group posts: re-upload the file
 * of an approved photo, video, voice note, document or sticker post, then
 * relay it (docs/groups.md, "Media posts").
 *
 * grp_post_relay of a media post, when media relay is on
 * (grp_posts_set_media), queues the post id in the stream js:post:mq
 * (field p) and marks the record ms=pending instead of relaying. A thread
 * of `janseva serve` (router role) reads it through the consumer group
 * "postmedia": download the file from the Graph API (groups/media.h, at
 * most WhatsApp's limit for the type), upload it for the business number
 * the post came to, store the new id in the record (mu, ms=uploaded) and
 * relay (relay keys unchanged). A file that is too large or refused is
 * marked ms=failed and relayed as text (label, kind, caption). Transient
 * failures are retried 4 times, 1 s doubling. A job is acknowledged only
 * when done; a post already uploaded is relayed without a second upload,
 * so a job done twice uploads once and queues nothing twice. The bytes
 * live only in memory and are wiped; logs name the post, never a media id.
 */
#ifndef JANSEVA_GROUPS_POSTMEDIA_H
#define JANSEVA_GROUPS_POSTMEDIA_H

#include "core/config.h"
#include "core/err.h"
#include "groups/post.h"

#define GRP_POSTMEDIA_STREAM "js:post:mq"
#define GRP_POSTMEDIA_GROUP "postmedia"

struct grp_postmedia;

/*
 * Start the worker over `cfg` (graph_url, access_token, graph_timeout_ms,
 * Redis) and `posts` (both borrowed; must outlive it). Returns NULL with
 * err when the thread cannot start.
 */
struct grp_postmedia *grp_postmedia_start(const struct core_cfg *cfg,
                                          const struct grp_posts *posts, struct core_err *err);

/* Stop the thread (within about a second) and free. NULL is a no-op. */
void grp_postmedia_stop(struct grp_postmedia *m);

/* Handle post `pid` once, in the caller's thread (the worker's job; tests
 * call it directly). Returns 0 when the job is finished, -1 to retry. */
int grp_postmedia_job(const struct core_cfg *cfg, const struct grp_posts *posts,
                      struct core_redis *r, const char *pid, struct core_err *err);

#endif
