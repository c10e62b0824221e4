/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GENL_ECHO_STATE_H
#define GENL_ECHO_STATE_H

#include <linux/mutex.h>
#include <linux/types.h>

struct net;
struct genl_echo_pcpu_stats;

struct genl_echo_stats {
	u64 echo_requests;
	u64 echo_bytes;
	u64 chars_converted;
	u64 mode_changes;
	u64 rejected;
};

/* One per network namespace. */
struct genl_echo_net {
	/* Serialises mode changes so that events leave in the order of the
	 * changes they describe; readers of @mode do not take it.
	 */
	struct mutex mode_lock;
	u32 mode;
	struct genl_echo_pcpu_stats __percpu *stats;
};

struct genl_echo_net *genl_echo_net(const struct net *net);

static inline u32 genl_echo_mode(const struct genl_echo_net *gn)
{
	return READ_ONCE(gn->mode);
}

u32 genl_echo_mode_xchg(struct genl_echo_net *gn, u32 mode);

void genl_echo_stats_echo(struct genl_echo_net *gn, size_t bytes,
			  size_t converted);
void genl_echo_stats_rejected(struct genl_echo_net *gn);
void genl_echo_stats_read(struct genl_echo_net *gn,
			  struct genl_echo_stats *out);

int genl_echo_state_init(void);
void genl_echo_state_uninit(void);

#endif /* GENL_ECHO_STATE_H */
