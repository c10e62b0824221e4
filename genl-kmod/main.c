// SPDX-License-Identifier: GPL-2.0
#include "netlink.h"
#include "state.h"
#include "version.h"

#include <linux/genetlink.h>
#include <linux/init.h>
#include <linux/module.h>
#include <uapi/linux/genl_echo.h>

static int __init genl_echo_mod_init(void)
{
	int ret;

	/* Per-namespace state must exist before the first request arrives. */
	ret = genl_echo_state_init();
	if (ret < 0)
		goto err_state;

	ret = genl_echo_genetlink_init();
	if (ret < 0)
		goto err_netlink;

	pr_info("genl_echo " GENL_ECHO_MODULE_VERSION " loaded\n");
	return 0;

err_netlink:
	genl_echo_state_uninit();
err_state:
	return ret;
}

static void __exit genl_echo_mod_exit(void)
{
	/* Waits for running handlers, so the state can go afterwards. */
	genl_echo_genetlink_uninit();
	genl_echo_state_uninit();
}

module_init(genl_echo_mod_init);
module_exit(genl_echo_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Generic netlink echo service with per-namespace case conversion");
MODULE_AUTHOR("genl_echo developers");
MODULE_VERSION(GENL_ECHO_MODULE_VERSION);
MODULE_ALIAS_GENL_FAMILY(GENL_ECHO_FAMILY_NAME);
