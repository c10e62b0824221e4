/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	genl-kmod/genl_echo.yaml */
/* YNL-GEN uapi header */

#ifndef _UAPI_LINUX_GENL_ECHO_H
#define _UAPI_LINUX_GENL_ECHO_H

#define GENL_ECHO_FAMILY_NAME		"genl_echo"
#define GENL_ECHO_FAMILY_VERSION	1

#define GENL_ECHO_MSG_MAX	65530

/**
 * enum genl_echo_mode - How ECHO converts ASCII letters. Bytes >= 0x80 never
 *   change.
 * @GENL_ECHO_MODE_NONE: Return the message unchanged. The mode at load.
 * @GENL_ECHO_MODE_UPPER: Convert a-z to A-Z.
 * @GENL_ECHO_MODE_LOWER: Convert A-Z to a-z.
 */
enum genl_echo_mode {
	GENL_ECHO_MODE_NONE,
	GENL_ECHO_MODE_UPPER,
	GENL_ECHO_MODE_LOWER,

	/* private: */
	__GENL_ECHO_MODE_MAX,
	GENL_ECHO_MODE_MAX = (__GENL_ECHO_MODE_MAX - 1)
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

	__GENL_ECHO_A_MAX,
	GENL_ECHO_A_MAX = (__GENL_ECHO_A_MAX - 1)
};

enum genl_echo_cmd {
	GENL_ECHO_CMD_UNSPEC,
	GENL_ECHO_CMD_ECHO,
	GENL_ECHO_CMD_SET_CASE,
	GENL_ECHO_CMD_GET_CASE,
	GENL_ECHO_CMD_STATS,
	GENL_ECHO_CMD_CASE_NTF,

	__GENL_ECHO_CMD_MAX,
	GENL_ECHO_CMD_MAX = (__GENL_ECHO_CMD_MAX - 1)
};

#define GENL_ECHO_MCGRP_EVENTS	"events"

#endif /* _UAPI_LINUX_GENL_ECHO_H */
