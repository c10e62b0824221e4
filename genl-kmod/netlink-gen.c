// SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)
/* Do not edit directly, auto-generated from: */
/*	genl-kmod/genl_echo.yaml */
/* YNL-GEN kernel source */

#include <net/netlink.h>
#include <net/genetlink.h>

#include "netlink-gen.h"

#include <uapi/linux/genl_echo.h>

/* GENL_ECHO_CMD_ECHO - do */
static const struct nla_policy genl_echo_echo_nl_policy[GENL_ECHO_A_MSG + 1] = {
	[GENL_ECHO_A_MSG] = { .type = NLA_NUL_STRING, .len = GENL_ECHO_MSG_MAX, },
};

/* GENL_ECHO_CMD_SET_CASE - do */
static const struct nla_policy genl_echo_set_case_nl_policy[GENL_ECHO_A_MODE + 1] = {
	[GENL_ECHO_A_MODE] = NLA_POLICY_MAX(NLA_U32, 2),
};

/* Ops table for genl_echo */
const struct genl_split_ops genl_echo_nl_ops[4] = {
	{
		.cmd		= GENL_ECHO_CMD_ECHO,
		.doit		= genl_echo_nl_echo_doit,
		.policy		= genl_echo_echo_nl_policy,
		.maxattr	= GENL_ECHO_A_MSG,
		.flags		= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= GENL_ECHO_CMD_SET_CASE,
		.doit		= genl_echo_nl_set_case_doit,
		.policy		= genl_echo_set_case_nl_policy,
		.maxattr	= GENL_ECHO_A_MODE,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd	= GENL_ECHO_CMD_GET_CASE,
		.doit	= genl_echo_nl_get_case_doit,
		.flags	= GENL_CMD_CAP_DO,
	},
	{
		.cmd	= GENL_ECHO_CMD_STATS,
		.doit	= genl_echo_nl_stats_doit,
		.flags	= GENL_CMD_CAP_DO,
	},
};

static const struct genl_multicast_group genl_echo_nl_mcgrps[] = {
	[GENL_ECHO_NLGRP_EVENTS] = { "events", },
};
