// SPDX-License-Identifier: GPL-2.0
#include "state.h"

#include <linux/lockdep.h>
#include <linux/percpu.h>
#include <linux/u64_stats_sync.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <uapi/linux/genl_echo.h>

/* Per-CPU so that the echo path shares no cache line between CPUs. */
struct genl_echo_pcpu_stats {
	u64_stats_t echo_requests;
	u64_stats_t echo_bytes;
	u64_stats_t chars_converted;
	u64_stats_t mode_changes;
	u64_stats_t rejected;
	struct u64_stats_sync syncp;
};

static unsigned int genl_echo_net_id __read_mostly;

struct genl_echo_net *genl_echo_net(const struct net *net)
{
	return net_generic(net, genl_echo_net_id);
}

/* Caller holds @gn->mode_lock. Returns the previous mode. */
u32 genl_echo_mode_xchg(struct genl_echo_net *gn, u32 mode)
{
	struct genl_echo_pcpu_stats *s;
	u32 prev;

	lockdep_assert_held(&gn->mode_lock);

	prev = gn->mode;
	WRITE_ONCE(gn->mode, mode);
	if (prev != mode) {
		s = get_cpu_ptr(gn->stats);
		u64_stats_update_begin(&s->syncp);
		u64_stats_inc(&s->mode_changes);
		u64_stats_update_end(&s->syncp);
		put_cpu_ptr(gn->stats);
	}
	return prev;
}

void genl_echo_stats_echo(struct genl_echo_net *gn, size_t bytes,
			  size_t converted)
{
	struct genl_echo_pcpu_stats *s = get_cpu_ptr(gn->stats);

	u64_stats_update_begin(&s->syncp);
	u64_stats_inc(&s->echo_requests);
	u64_stats_add(&s->echo_bytes, bytes);
	u64_stats_add(&s->chars_converted, converted);
	u64_stats_update_end(&s->syncp);
	put_cpu_ptr(gn->stats);
}

void genl_echo_stats_rejected(struct genl_echo_net *gn)
{
	struct genl_echo_pcpu_stats *s = get_cpu_ptr(gn->stats);

	u64_stats_update_begin(&s->syncp);
	u64_stats_inc(&s->rejected);
	u64_stats_update_end(&s->syncp);
	put_cpu_ptr(gn->stats);
}

void genl_echo_stats_read(struct genl_echo_net *gn,
			  struct genl_echo_stats *out)
{
	int cpu;

	memset(out, 0, sizeof(*out));
	for_each_possible_cpu(cpu) {
		const struct genl_echo_pcpu_stats *s = per_cpu_ptr(gn->stats, cpu);
		struct genl_echo_stats snap;
		unsigned int start;

		do {
			start = u64_stats_fetch_begin(&s->syncp);
			snap.echo_requests = u64_stats_read(&s->echo_requests);
			snap.echo_bytes = u64_stats_read(&s->echo_bytes);
			snap.chars_converted = u64_stats_read(&s->chars_converted);
			snap.mode_changes = u64_stats_read(&s->mode_changes);
			snap.rejected = u64_stats_read(&s->rejected);
		} while (u64_stats_fetch_retry(&s->syncp, start));

		out->echo_requests += snap.echo_requests;
		out->echo_bytes += snap.echo_bytes;
		out->chars_converted += snap.chars_converted;
		out->mode_changes += snap.mode_changes;
		out->rejected += snap.rejected;
	}
}

static int __net_init genl_echo_net_init(struct net *net)
{
	struct genl_echo_net *gn = genl_echo_net(net);
	int cpu;

	gn->stats = alloc_percpu(struct genl_echo_pcpu_stats);
	if (!gn->stats)
		return -ENOMEM;
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(gn->stats, cpu)->syncp);

	mutex_init(&gn->mode_lock);
	gn->mode = GENL_ECHO_MODE_NONE;
	return 0;
}

static void __net_exit genl_echo_net_exit(struct net *net)
{
	struct genl_echo_net *gn = genl_echo_net(net);

	free_percpu(gn->stats);
	mutex_destroy(&gn->mode_lock);
}

static struct pernet_operations genl_echo_net_ops = {
	.init = genl_echo_net_init,
	.exit = genl_echo_net_exit,
	.id = &genl_echo_net_id,
	.size = sizeof(struct genl_echo_net),
};

int __init genl_echo_state_init(void)
{
	return register_pernet_subsys(&genl_echo_net_ops);
}

void genl_echo_state_uninit(void)
{
	unregister_pernet_subsys(&genl_echo_net_ops);
}
