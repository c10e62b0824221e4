/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GENL_ECHO_CONVERT_H
#define GENL_ECHO_CONVERT_H

#include <linux/types.h>

size_t genl_echo_convert(u8 *dst, const u8 *src, size_t len, u32 mode);

#endif /* GENL_ECHO_CONVERT_H */
