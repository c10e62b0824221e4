// SPDX-License-Identifier: GPL-2.0
/*
 * The handlers and the family. The attribute policies, the ops table and
 * the multicast group table come from the YNL spec genl_echo.yaml through
 * the kernel's generator (netlink-gen.c, `make gen`). With the
 * genetlink-legacy spec level the generator leaves the family struct to us
 * but makes its group table static, so the generated file is compiled as
 * part of this one rather than on its own.
 */
#include "netlink.h"
#include "convert.h"
#include "state.h"

#include <linux/genetlink.h>
#include <linux/kernel.h>
#include <net/genetlink.h>
#include <uapi/linux/genl_echo.h>

#include "netlink-gen.c"

static struct genl_family genl_echo_family;

static int genl_echo_nl_reject(struct genl_echo_net *gn, int err)
{
	genl_echo_stats_rejected(gn);
	return err;
}

int genl_echo_nl_echo_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct genl_echo_net *gn = genl_echo_net(genl_info_net(info));
	const struct nlattr *in;
	struct sk_buff *msg;
	struct nlattr *out;
	size_t len, converted;
	void *hdr;
	u32 mode;

	if (GENL_REQ_ATTR_CHECK(info, GENL_ECHO_A_MSG)) {
		GENL_SET_ERR_MSG(info, "missing attribute GENL_ECHO_A_MSG");
		return genl_echo_nl_reject(gn, -EINVAL);
	}
	in = info->attrs[GENL_ECHO_A_MSG];
	/* The policy guarantees a NUL; bytes after the first one are ignored. */
	len = strnlen(nla_data(in), nla_len(in));
	/* One read per request: a reply is never half one mode, half another. */
	mode = genl_echo_mode(gn);

	msg = genlmsg_new(nla_total_size(len + 1) + nla_total_size(sizeof(u32)),
			  GFP_KERNEL);
	if (!msg)
		return genl_echo_nl_reject(gn, -ENOMEM);

	hdr = genlmsg_put_reply(msg, info, &genl_echo_family, 0,
				GENL_ECHO_CMD_ECHO);
	if (!hdr)
		goto err_msgsize;
	out = nla_reserve(msg, GENL_ECHO_A_MSG, len + 1);
	if (!out)
		goto err_msgsize;
	converted = genl_echo_convert(nla_data(out), nla_data(in), len, mode);
	((u8 *)nla_data(out))[len] = '\0';
	if (nla_put_u32(msg, GENL_ECHO_A_MODE, mode))
		goto err_msgsize;
	genlmsg_end(msg, hdr);

	genl_echo_stats_echo(gn, len, converted);
	return genlmsg_reply(msg, info);

err_msgsize:
	nlmsg_free(msg);
	return genl_echo_nl_reject(gn, -EMSGSIZE);
}

static size_t genl_echo_nl_case_size(void)
{
	return 2 * nla_total_size(sizeof(u32));
}

/* Fills both the SET_CASE reply and the CASE_NTF event. */
static int genl_echo_nl_case_fill(struct sk_buff *msg, u32 portid, u32 seq,
				  u8 cmd, u32 mode, u32 prev)
{
	void *hdr;

	hdr = genlmsg_put(msg, portid, seq, &genl_echo_family, 0, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(msg, GENL_ECHO_A_MODE, mode) ||
	    nla_put_u32(msg, GENL_ECHO_A_PREV_MODE, prev)) {
		genlmsg_cancel(msg, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return 0;
}

static void genl_echo_nl_case_notify(struct net *net, u32 mode, u32 prev)
{
	struct sk_buff *msg;

	if (!genl_has_listeners(&genl_echo_family, net,
				GENL_ECHO_NLGRP_EVENTS))
		return;

	msg = genlmsg_new(genl_echo_nl_case_size(), GFP_KERNEL);
	if (!msg)
		goto err_lost;
	if (genl_echo_nl_case_fill(msg, 0, 0, GENL_ECHO_CMD_CASE_NTF, mode,
				   prev)) {
		nlmsg_free(msg);
		goto err_lost;
	}
	/* Listeners that overflow see ENOBUFS on their socket. */
	genlmsg_multicast_netns(&genl_echo_family, net, msg, 0,
				GENL_ECHO_NLGRP_EVENTS, GFP_KERNEL);
	return;

err_lost:
	/* A listener must learn that it missed an event, as on overflow. */
	genl_set_err(&genl_echo_family, net, 0, GENL_ECHO_NLGRP_EVENTS,
		     -ENOBUFS);
}

int genl_echo_nl_set_case_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct genl_echo_net *gn = genl_echo_net(net);
	struct sk_buff *msg;
	u32 mode, prev;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, GENL_ECHO_A_MODE)) {
		GENL_SET_ERR_MSG(info, "missing attribute GENL_ECHO_A_MODE");
		return genl_echo_nl_reject(gn, -EINVAL);
	}
	mode = nla_get_u32(info->attrs[GENL_ECHO_A_MODE]);

	/* Allocate before changing anything, so a failure changes nothing. */
	msg = genlmsg_new(genl_echo_nl_case_size(), GFP_KERNEL);
	if (!msg)
		return genl_echo_nl_reject(gn, -ENOMEM);

	mutex_lock(&gn->mode_lock);
	prev = genl_echo_mode_xchg(gn, mode);
	genl_echo_nl_case_notify(net, mode, prev);
	mutex_unlock(&gn->mode_lock);

	err = genl_echo_nl_case_fill(msg, info->snd_portid, info->snd_seq,
				     GENL_ECHO_CMD_SET_CASE, mode, prev);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

/*
 * GET_CASE and STATS take no attributes, so the spec gives them no policy.
 * The core gives such an op a policy that refuses every attribute, but
 * only for ops it copies from struct genl_ops (all of them on 6.1); for
 * struct genl_split_ops (6.2 on) it does so only when it describes the op
 * to the controller, and at dispatch parses nothing. This is that policy,
 * applied as the core would (strict, after the genl header): the same
 * errors and extack on every kernel, and a no-op where the core has
 * already refused the attributes.
 */
static const struct nla_policy genl_echo_nl_reject_all[GENL_ECHO_A_PAD + 1] = {
	[GENL_ECHO_A_UNSPEC] = { .type = NLA_REJECT },
	[GENL_ECHO_A_PAD] = { .type = NLA_REJECT },
};

static int genl_echo_nl_no_attrs(const struct genl_info *info)
{
	struct nlattr *tb[ARRAY_SIZE(genl_echo_nl_reject_all)];

	return nlmsg_parse(info->nlhdr, GENL_HDRLEN, tb,
			   ARRAY_SIZE(genl_echo_nl_reject_all) - 1,
			   genl_echo_nl_reject_all, info->extack);
}

int genl_echo_nl_get_case_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct genl_echo_net *gn = genl_echo_net(genl_info_net(info));
	struct sk_buff *msg;
	void *hdr;
	int err;

	/* A policy failure, not a refusal: not counted as rejected. */
	err = genl_echo_nl_no_attrs(info);
	if (err)
		return err;

	msg = genlmsg_new(nla_total_size(sizeof(u32)), GFP_KERNEL);
	if (!msg)
		return genl_echo_nl_reject(gn, -ENOMEM);

	hdr = genlmsg_put_reply(msg, info, &genl_echo_family, 0,
				GENL_ECHO_CMD_GET_CASE);
	if (!hdr || nla_put_u32(msg, GENL_ECHO_A_MODE, genl_echo_mode(gn))) {
		nlmsg_free(msg);
		return genl_echo_nl_reject(gn, -EMSGSIZE);
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int genl_echo_nl_put_stats(struct sk_buff *msg,
				  const struct genl_echo_stats *st)
{
	if (nla_put_u64_64bit(msg, GENL_ECHO_A_STATS_ECHO_REQUESTS,
			      st->echo_requests, GENL_ECHO_A_PAD) ||
	    nla_put_u64_64bit(msg, GENL_ECHO_A_STATS_ECHO_BYTES,
			      st->echo_bytes, GENL_ECHO_A_PAD) ||
	    nla_put_u64_64bit(msg, GENL_ECHO_A_STATS_CHARS_CONVERTED,
			      st->chars_converted, GENL_ECHO_A_PAD) ||
	    nla_put_u64_64bit(msg, GENL_ECHO_A_STATS_MODE_CHANGES,
			      st->mode_changes, GENL_ECHO_A_PAD) ||
	    nla_put_u64_64bit(msg, GENL_ECHO_A_STATS_REJECTED,
			      st->rejected, GENL_ECHO_A_PAD))
		return -EMSGSIZE;
	return 0;
}

int genl_echo_nl_stats_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct genl_echo_net *gn = genl_echo_net(genl_info_net(info));
	struct genl_echo_stats st;
	struct sk_buff *msg;
	void *hdr;
	int err;

	err = genl_echo_nl_no_attrs(info);
	if (err)
		return err;

	msg = genlmsg_new(nla_total_size(sizeof(u32)) +
			  5 * nla_total_size_64bit(sizeof(u64)), GFP_KERNEL);
	if (!msg)
		return genl_echo_nl_reject(gn, -ENOMEM);

	hdr = genlmsg_put_reply(msg, info, &genl_echo_family, 0,
				GENL_ECHO_CMD_STATS);
	if (!hdr)
		goto err_msgsize;
	genl_echo_stats_read(gn, &st);
	if (nla_put_u32(msg, GENL_ECHO_A_MODE, genl_echo_mode(gn)) ||
	    genl_echo_nl_put_stats(msg, &st))
		goto err_msgsize;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err_msgsize:
	nlmsg_free(msg);
	return genl_echo_nl_reject(gn, -EMSGSIZE);
}

/*
 * resv_start_op stays 0: commands below it are treated as legacy, so at 0
 * the core checks genlmsghdr.reserved and nlmsg_flags for every command.
 * GET_CASE and STATS refuse attributes themselves (genl_echo_nl_no_attrs()).
 */
static struct genl_family genl_echo_family __ro_after_init = {
	.name = GENL_ECHO_FAMILY_NAME,
	.version = GENL_ECHO_FAMILY_VERSION,
	.maxattr = GENL_ECHO_A_MAX,
	.netnsok = true,
	.parallel_ops = true,
	.module = THIS_MODULE,
	.split_ops = genl_echo_nl_ops,
	.n_split_ops = ARRAY_SIZE(genl_echo_nl_ops),
	.mcgrps = genl_echo_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(genl_echo_nl_mcgrps),
};

int __init genl_echo_genetlink_init(void)
{
	return genl_register_family(&genl_echo_family);
}

void genl_echo_genetlink_uninit(void)
{
	genl_unregister_family(&genl_echo_family);
}
