/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GENL_ECHO_NETLINK_H
#define GENL_ECHO_NETLINK_H

int genl_echo_genetlink_init(void);
void genl_echo_genetlink_uninit(void);

#endif /* GENL_ECHO_NETLINK_H */
