// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only impostor: registers the family "genl_echo" at version 2 and
 * answers every command with a reply a correct client must refuse or
 * tolerate, so the VM suite can check nlctl against a misbehaving kernel
 * side. Load it only while genl_echo.ko is not loaded.
 *
 *   ECHO      reply lacks GENL_ECHO_A_MSG               -> client error
 *   SET_CASE  GENL_ECHO_A_MODE is a u16                 -> client error
 *   GET_CASE  valid mode plus unknown attributes 42, 99 -> tolerated
 *   STATS     GENL_ECHO_A_MODE is 99, a mode from a later
 *             version, with every counter                -> decoded, printed as 99
 */
#include <linux/module.h>
#include <net/genetlink.h>
#include <uapi/linux/genl_echo.h>

#define EVIL_A_UNKNOWN_1 42
#define EVIL_A_UNKNOWN_2 99

static struct genl_family evil_family;

static int evil_reply(struct genl_info *info, u8 cmd,
		      int (*put)(struct sk_buff *msg))
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &evil_family, 0, cmd);
	if (!hdr || put(msg)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int evil_put_echo(struct sk_buff *msg)
{
	return nla_put_u32(msg, GENL_ECHO_A_MODE, GENL_ECHO_MODE_UPPER);
}

static int evil_put_set_case(struct sk_buff *msg)
{
	return nla_put_u16(msg, GENL_ECHO_A_MODE, GENL_ECHO_MODE_UPPER) ||
	       nla_put_u32(msg, GENL_ECHO_A_PREV_MODE, GENL_ECHO_MODE_NONE);
}

static int evil_put_get_case(struct sk_buff *msg)
{
	return nla_put_u32(msg, EVIL_A_UNKNOWN_1, 0xdeadbeef) ||
	       nla_put_u32(msg, GENL_ECHO_A_MODE, GENL_ECHO_MODE_UPPER) ||
	       nla_put_string(msg, EVIL_A_UNKNOWN_2, "from a later version");
}

static int evil_put_stats(struct sk_buff *msg)
{
	return nla_put_u32(msg, GENL_ECHO_A_MODE, 99) ||
	       nla_put_u64_64bit(msg, GENL_ECHO_A_STATS_ECHO_REQUESTS, 1, GENL_ECHO_A_PAD) ||
	       nla_put_u64_64bit(msg, GENL_ECHO_A_STATS_ECHO_BYTES, 2, GENL_ECHO_A_PAD) ||
	       nla_put_u64_64bit(msg, GENL_ECHO_A_STATS_CHARS_CONVERTED, 3, GENL_ECHO_A_PAD) ||
	       nla_put_u64_64bit(msg, GENL_ECHO_A_STATS_MODE_CHANGES, 4, GENL_ECHO_A_PAD) ||
	       nla_put_u64_64bit(msg, GENL_ECHO_A_STATS_REJECTED, 5, GENL_ECHO_A_PAD);
}

static int evil_echo_doit(struct sk_buff *skb, struct genl_info *info)
{
	return evil_reply(info, GENL_ECHO_CMD_ECHO, evil_put_echo);
}

static int evil_set_case_doit(struct sk_buff *skb, struct genl_info *info)
{
	return evil_reply(info, GENL_ECHO_CMD_SET_CASE, evil_put_set_case);
}

static int evil_get_case_doit(struct sk_buff *skb, struct genl_info *info)
{
	return evil_reply(info, GENL_ECHO_CMD_GET_CASE, evil_put_get_case);
}

static int evil_stats_doit(struct sk_buff *skb, struct genl_info *info)
{
	return evil_reply(info, GENL_ECHO_CMD_STATS, evil_put_stats);
}

/* Accept anything the real family would: the replies are what is wrong. */
static const struct nla_policy evil_policy[GENL_ECHO_A_MAX + 1] = {
	[GENL_ECHO_A_MSG] = { .type = NLA_NUL_STRING },
	[GENL_ECHO_A_MODE] = { .type = NLA_U32 },
};

static const struct genl_small_ops evil_ops[] = {
	{ .cmd = GENL_ECHO_CMD_ECHO, .doit = evil_echo_doit },
	{ .cmd = GENL_ECHO_CMD_SET_CASE, .doit = evil_set_case_doit },
	{ .cmd = GENL_ECHO_CMD_GET_CASE, .doit = evil_get_case_doit },
	{ .cmd = GENL_ECHO_CMD_STATS, .doit = evil_stats_doit },
};

static const struct genl_multicast_group evil_mcgrps[] = {
	{ .name = GENL_ECHO_MCGRP_EVENTS },
};

static struct genl_family evil_family __ro_after_init = {
	.name = GENL_ECHO_FAMILY_NAME,
	.version = GENL_ECHO_FAMILY_VERSION + 1,
	.maxattr = GENL_ECHO_A_MAX,
	.policy = evil_policy,
	.netnsok = true,
	.module = THIS_MODULE,
	.small_ops = evil_ops,
	.n_small_ops = ARRAY_SIZE(evil_ops),
	.mcgrps = evil_mcgrps,
	.n_mcgrps = ARRAY_SIZE(evil_mcgrps),
};

static int __init evil_init(void)
{
	return genl_register_family(&evil_family);
}

static void __exit evil_exit(void)
{
	genl_unregister_family(&evil_family);
}

module_init(evil_init);
module_exit(evil_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("genl_echo impostor with malformed replies, for tests only");
