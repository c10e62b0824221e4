/* SPDX-License-Identifier: GPL-2.0 */
/* The C half of genl.rs: see genl_helpers.c. */
#ifndef GENL_RS_HELPERS_H
#define GENL_RS_HELPERS_H

#include <net/genetlink.h>

struct net *genl_rs_info_net(const struct genl_info *info);
void *genl_rs_net_generic(const struct net *net, unsigned int id);
int genl_rs_reply(struct sk_buff *skb, struct genl_info *info);
int genl_rs_multicast(const struct genl_family *family, struct net *net,
		      struct sk_buff *skb, unsigned int group);
bool genl_rs_has_listeners(const struct genl_family *family, struct net *net,
			   unsigned int group);
void genl_rs_set_err(const struct genl_family *family, struct net *net,
		     unsigned int group, int code);
unsigned long genl_rs_pcpu_alloc(size_t n);
void genl_rs_pcpu_free(unsigned long handle);
void genl_rs_pcpu_add(unsigned long handle, size_t i, u64 v);
u64 genl_rs_pcpu_sum(unsigned long handle, size_t i);

#endif /* GENL_RS_HELPERS_H */
