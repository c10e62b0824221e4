// SPDX-License-Identifier: GPL-2.0
/*
 * The C half of the generic netlink layer (genl.rs): the static inline
 * functions and macros of <net/genetlink.h>, <net/netns/generic.h> and
 * <linux/percpu.h> that the kernel neither exports nor wraps for Rust
 * (no rust_helper_* in vmlinux), each as one call. An out-of-tree module
 * cannot add helpers to vmlinux, so it links its own. Only genl.rs calls
 * these; its SAFETY comments state what each needs.
 */
#include <linux/percpu.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "genl_helpers.h"

struct net *genl_rs_info_net(const struct genl_info *info)
{
	return genl_info_net(info);
}

void *genl_rs_net_generic(const struct net *net, unsigned int id)
{
	return net_generic(net, id);
}

int genl_rs_reply(struct sk_buff *skb, struct genl_info *info)
{
	return genlmsg_reply(skb, info);
}

int genl_rs_multicast(const struct genl_family *family, struct net *net,
		      struct sk_buff *skb, unsigned int group)
{
	return genlmsg_multicast_netns(family, net, skb, 0, group, GFP_KERNEL);
}

bool genl_rs_has_listeners(const struct genl_family *family, struct net *net,
			   unsigned int group)
{
	return genl_has_listeners(family, net, group);
}

void genl_rs_set_err(const struct genl_family *family, struct net *net,
		     unsigned int group, int code)
{
	genl_set_err(family, net, 0, group, code);
}

/*
 * Per-CPU counters: @n u64 per CPU. x86's __percpu is a named address
 * space, which a void * cannot carry: the handle is the per-CPU address as
 * an integer, turned back into a __percpu pointer here only.
 */
unsigned long genl_rs_pcpu_alloc(size_t n)
{
	u64 __percpu *p = __alloc_percpu(n * sizeof(u64), __alignof__(u64));

	return (unsigned long)p;
}

void genl_rs_pcpu_free(unsigned long handle)
{
	free_percpu((u64 __percpu *)handle);
}

void genl_rs_pcpu_add(unsigned long handle, size_t i, u64 v)
{
	u64 __percpu *p = (u64 __percpu *)handle;

	this_cpu_add(p[i], v);
}

u64 genl_rs_pcpu_sum(unsigned long handle, size_t i)
{
	u64 __percpu *p = (u64 __percpu *)handle;
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(*per_cpu_ptr(&p[i], cpu));
	return sum;
}
