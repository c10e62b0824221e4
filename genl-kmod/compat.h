/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything that differs between the kernels this module supports lives
 * here, so the core files carry no version checks. Kbuild force-includes it.
 * Features are detected rather than versions compared.
 */
#ifndef GENL_ECHO_COMPAT_H
#define GENL_ECHO_COMPAT_H

#include <net/genetlink.h>

/* Arrived in 6.1 with resv_start_op, which the family relies on. */
#ifndef GENL_REQ_ATTR_CHECK
#error "genl_echo needs Linux 6.1 or later"
#endif

#endif /* GENL_ECHO_COMPAT_H */
