// SPDX-License-Identifier: GPL-2.0
#include "convert.h"

#include <linux/string.h>
#include <uapi/linux/genl_echo.h>

/*
 * The kernel's toupper()/tolower() follow Latin-1 and would rewrite bytes
 * 0xc0-0xfe, corrupting UTF-8; only ASCII letters are ours to change.
 */
static size_t genl_echo_convert_range(u8 *dst, const u8 *src, size_t len,
				      u8 first, u8 last)
{
	size_t i, changed = 0;

	for (i = 0; i < len; i++) {
		u8 c = src[i];

		if (c >= first && c <= last) {
			c ^= 'a' ^ 'A';
			changed++;
		}
		dst[i] = c;
	}
	return changed;
}

/**
 * genl_echo_convert - copy a message, converting the case of ASCII letters
 * @dst: destination, @len bytes
 * @src: source, @len bytes; may not overlap @dst
 * @len: bytes to copy
 * @mode: enum genl_echo_mode
 *
 * Return: the number of letters whose case changed.
 */
size_t genl_echo_convert(u8 *dst, const u8 *src, size_t len, u32 mode)
{
	switch (mode) {
	case GENL_ECHO_MODE_UPPER:
		return genl_echo_convert_range(dst, src, len, 'a', 'z');
	case GENL_ECHO_MODE_LOWER:
		return genl_echo_convert_range(dst, src, len, 'A', 'Z');
	default:
		memcpy(dst, src, len);
		return 0;
	}
}
