/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything that differs between the kernels this module supports lives
 * here, so the core files carry no version checks. Kbuild force-includes it.
 * Features are detected rather than versions compared: by a macro where
 * one marks the feature, else by Kbuild looking into the kernel's headers
 * (GENL_ECHO_COMPAT_*).
 */
#ifndef GENL_ECHO_COMPAT_H
#define GENL_ECHO_COMPAT_H

#include <net/genetlink.h>

/* Arrived in 6.1 with resv_start_op, which the family relies on. */
#ifndef GENL_REQ_ATTR_CHECK
#error "genl_echo needs Linux 6.1 or later"
#endif

/*
 * The generated ops table (netlink-gen.c) is made of struct genl_split_ops,
 * which 6.2 added (the do and dump halves of a command as separate entries,
 * family->split_ops) without a macro to test for: Kbuild defines
 * GENL_ECHO_COMPAT_NO_SPLIT_OPS when the kernel's genetlink.h lacks it.
 * Every genl_echo command is do-only, and each initialiser the generator
 * writes for one (cmd, doit, policy, maxattr, flags) names a member of
 * 6.1's struct genl_ops, so there the table is a plain ops table;
 * GENL_CMD_CAP_DO in its flags is what 6.1 reports for a doit anyway.
 */
#ifdef GENL_ECHO_COMPAT_NO_SPLIT_OPS
#define genl_split_ops genl_ops
#define split_ops ops
#define n_split_ops n_ops
#endif

#endif /* GENL_ECHO_COMPAT_H */
