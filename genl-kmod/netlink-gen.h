/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	genl-kmod/genl_echo.yaml */
/* YNL-GEN kernel header */

#ifndef _LINUX_GENL_ECHO_GEN_H
#define _LINUX_GENL_ECHO_GEN_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include <uapi/linux/genl_echo.h>

/* Ops table for genl_echo */
extern const struct genl_split_ops genl_echo_nl_ops[4];

int genl_echo_nl_echo_doit(struct sk_buff *skb, struct genl_info *info);
int genl_echo_nl_set_case_doit(struct sk_buff *skb, struct genl_info *info);
int genl_echo_nl_get_case_doit(struct sk_buff *skb, struct genl_info *info);
int genl_echo_nl_stats_doit(struct sk_buff *skb, struct genl_info *info);

enum {
	GENL_ECHO_NLGRP_EVENTS,
};

#endif /* _LINUX_GENL_ECHO_GEN_H */
