/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * genl_echo: a generic netlink family that echoes a string back, converting
 * its ASCII letters to upper or lower case according to a per network
 * namespace mode.
 *
 * The family is resolved by name (GENL_ECHO_FAMILY_NAME) through the generic
 * netlink controller; it has no protocol number or family id of its own.
 * All operations are "do" operations; none supports NLM_F_DUMP.
 *
 * Every attribute below is given as an attribute tree. u64 counters are put
 * with GENL_ECHO_A_PAD for alignment; receivers skip GENL_ECHO_A_PAD and
 * any attribute type they do not know.
 *
 * GENL_ECHO_CMD_ECHO
 *   request:
 *     GENL_ECHO_A_MSG: NUL-terminated string, 0 to GENL_ECHO_MSG_MAX bytes
 *                      before the NUL (required)
 *   reply:
 *     GENL_ECHO_A_MSG: the string converted under GENL_ECHO_A_MODE
 *     GENL_ECHO_A_MODE: u32, enum genl_echo_mode, the mode that was applied
 *
 * GENL_ECHO_CMD_SET_CASE (needs CAP_NET_ADMIN over the network namespace)
 *   request:
 *     GENL_ECHO_A_MODE: u32, enum genl_echo_mode (required)
 *   reply:
 *     GENL_ECHO_A_MODE: u32, the new mode
 *     GENL_ECHO_A_PREV_MODE: u32, the mode before this request
 *   A successful request also sends GENL_ECHO_CMD_CASE_NTF to the
 *   GENL_ECHO_MCGRP_EVENTS group of the request's network namespace.
 *
 * GENL_ECHO_CMD_GET_CASE
 *   request: no attributes
 *   reply:
 *     GENL_ECHO_A_MODE: u32, the current mode
 *
 * GENL_ECHO_CMD_STATS
 *   request: no attributes
 *   reply:
 *     GENL_ECHO_A_MODE: u32, the current mode
 *     GENL_ECHO_A_STATS_ECHO_REQUESTS: u64, ECHO requests answered
 *     GENL_ECHO_A_STATS_ECHO_BYTES: u64, message bytes echoed (NUL excluded)
 *     GENL_ECHO_A_STATS_CHARS_CONVERTED: u64, letters whose case changed
 *     GENL_ECHO_A_STATS_MODE_CHANGES: u64, SET_CASE requests that changed
 *                                     the mode
 *     GENL_ECHO_A_STATS_REJECTED: u64, requests that passed the attribute
 *                                 policy but that a handler refused
 *
 * GENL_ECHO_CMD_CASE_NTF (notification only, never a request)
 *   GENL_ECHO_A_MODE: u32, the new mode
 *   GENL_ECHO_A_PREV_MODE: u32, the mode before the change
 */
#ifndef _UAPI_LINUX_GENL_ECHO_H
#define _UAPI_LINUX_GENL_ECHO_H

#define GENL_ECHO_FAMILY_NAME		"genl_echo"
#define GENL_ECHO_FAMILY_VERSION	1

#define GENL_ECHO_MCGRP_EVENTS		"events"

/*
 * The longest message, in bytes, not counting its terminating NUL: a 16-bit
 * nla_len less the 4-byte attribute header leaves 65531 bytes of payload,
 * one of which is the NUL.
 */
#define GENL_ECHO_MSG_MAX		65530

enum genl_echo_mode {
	GENL_ECHO_MODE_NONE,
	GENL_ECHO_MODE_UPPER,
	GENL_ECHO_MODE_LOWER,

	/* private: */
	__GENL_ECHO_MODE_MAX,
	GENL_ECHO_MODE_MAX = __GENL_ECHO_MODE_MAX - 1
};

enum genl_echo_attr {
	GENL_ECHO_A_UNSPEC,
	GENL_ECHO_A_PAD,
	GENL_ECHO_A_MSG,
	GENL_ECHO_A_MODE,
	GENL_ECHO_A_PREV_MODE,
	GENL_ECHO_A_STATS_ECHO_REQUESTS,
	GENL_ECHO_A_STATS_ECHO_BYTES,
	GENL_ECHO_A_STATS_CHARS_CONVERTED,
	GENL_ECHO_A_STATS_MODE_CHANGES,
	GENL_ECHO_A_STATS_REJECTED,

	/* private: */
	__GENL_ECHO_A_MAX,
	GENL_ECHO_A_MAX = __GENL_ECHO_A_MAX - 1
};

enum genl_echo_cmd {
	GENL_ECHO_CMD_UNSPEC,
	GENL_ECHO_CMD_ECHO,
	GENL_ECHO_CMD_SET_CASE,
	GENL_ECHO_CMD_GET_CASE,
	GENL_ECHO_CMD_STATS,
	GENL_ECHO_CMD_CASE_NTF,

	/* private: */
	__GENL_ECHO_CMD_MAX,
	GENL_ECHO_CMD_MAX = __GENL_ECHO_CMD_MAX - 1
};

#endif /* _UAPI_LINUX_GENL_ECHO_H */
