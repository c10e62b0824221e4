// SPDX-License-Identifier: GPL-2.0
/*
 * The family's tables, from its YNL spec: the attribute policies, the split
 * ops table and the multicast group table that the kernel's generator wrote
 * for the C module (genl-kmod/netlink-gen.c), compiled here unchanged. The
 * ops name the doit functions genl_echo_nl_*_doit, which the Rust module
 * defines (genl_echo_rs.rs, through genl.rs's genl_doit!). The generator
 * makes the group table static, so this file includes netlink-gen.c, as
 * the C module's netlink.c does, and hands the tables to the family
 * through genl_echo_rs_tables().
 */
#include <linux/module.h>
#include <net/genetlink.h>

#include "netlink-gen.c"
#include "version.h"

void genl_echo_rs_tables(struct genl_family *family);
int genl_echo_rs_refuse_attrs(const struct genl_info *info);

void genl_echo_rs_tables(struct genl_family *family)
{
	family->split_ops = genl_echo_nl_ops;
	family->n_split_ops = ARRAY_SIZE(genl_echo_nl_ops);
	family->mcgrps = genl_echo_nl_mcgrps;
	family->n_mcgrps = ARRAY_SIZE(genl_echo_nl_mcgrps);
}

/*
 * GET_CASE and STATS take no attributes and the spec gives them no policy;
 * at dispatch the core then parses nothing for a split op. The C module
 * (genl-kmod/netlink.c) refuses attributes itself with this policy, as the
 * core does for an op without one when it describes it: the same here, so
 * both modules give the same errors and extack.
 */
static const struct nla_policy genl_echo_rs_reject_all[GENL_ECHO_A_PAD + 1] = {
	[GENL_ECHO_A_UNSPEC] = { .type = NLA_REJECT },
	[GENL_ECHO_A_PAD] = { .type = NLA_REJECT },
};

int genl_echo_rs_refuse_attrs(const struct genl_info *info)
{
	struct nlattr *tb[ARRAY_SIZE(genl_echo_rs_reject_all)];

	return nlmsg_parse(info->nlhdr, GENL_HDRLEN, tb,
			   ARRAY_SIZE(genl_echo_rs_reject_all) - 1,
			   genl_echo_rs_reject_all, info->extack);
}

MODULE_VERSION(GENL_ECHO_MODULE_VERSION);
MODULE_ALIAS_GENL_FAMILY(GENL_ECHO_FAMILY_NAME);
