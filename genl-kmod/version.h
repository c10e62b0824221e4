/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GENL_ECHO_VERSION_H
#define GENL_ECHO_VERSION_H

#define GENL_ECHO_MODULE_VERSION "0.1.0"

#endif /* GENL_ECHO_VERSION_H */
