// SPDX-License-Identifier: GPL-2.0
/*
 * libseqlog.so: an LD_PRELOAD shim that writes down the header of every
 * netlink message an unmodified program sends, so that a test can forge a
 * reply with the sequence number the program will use next (tests/vm/
 * test_forged.py: the library must ignore it).
 *
 * After every successful send(), sendto(), sendmsg() or sendmmsg() on a
 * netlink socket it appends one line per message to the file GE_SEQLOG:
 *   port=P type=T flags=F seq=S
 * P being the socket's port id (getsockname). One write() per call, so the
 * lines of concurrent senders do not mix. No variable set: the shim does
 * nothing.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int,
			     const struct sockaddr *, socklen_t);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
typedef int (*sendmmsg_fn)(int, struct mmsghdr *, unsigned int, int);

#define SL_LINE 64
#define SL_MAX_LINES 256

static const char *sl_path;

__attribute__((constructor)) static void sl_init(void)
{
	sl_path = getenv("GE_SEQLOG");
}

/* The socket's port id, or 0 when FD is not a netlink socket. */
static unsigned int sl_port(int fd)
{
	struct sockaddr_nl a;
	socklen_t len = sizeof(a);

	memset(&a, 0, sizeof(a));
	if (getsockname(fd, (struct sockaddr *)&a, &len) != 0 ||
	    a.nl_family != AF_NETLINK)
		return 0;
	return a.nl_pid;
}

struct sl_buf {
	char text[SL_LINE * SL_MAX_LINES];
	size_t len;
	unsigned int lines;
};

/* Adds a line per whole netlink message in BUF (LEN bytes). */
static void sl_parse(struct sl_buf *out, unsigned int port,
		     const unsigned char *buf, size_t len)
{
	size_t off = 0;

	while (off + sizeof(struct nlmsghdr) <= len &&
	       out->lines < SL_MAX_LINES) {
		struct nlmsghdr h;
		int n;

		memcpy(&h, buf + off, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len - off)
			break;
		n = snprintf(out->text + out->len, sizeof(out->text) - out->len,
			     "port=%u type=%u flags=%u seq=%u\n", port,
			     h.nlmsg_type, h.nlmsg_flags, h.nlmsg_seq);
		if (n < 0 || (size_t)n >= sizeof(out->text) - out->len)
			break;
		out->len += n;
		out->lines++;
		off += NLMSG_ALIGN(h.nlmsg_len);
	}
}

static void sl_parse_msg(struct sl_buf *out, unsigned int port,
			 const struct msghdr *m)
{
	size_t i;

	/* netlink senders put whole messages in each iovec */
	for (i = 0; i < m->msg_iovlen; i++)
		sl_parse(out, port, m->msg_iov[i].iov_base,
			 m->msg_iov[i].iov_len);
}

static void sl_write(const struct sl_buf *out, int err)
{
	int fd;

	if (out->len) {
		fd = open(sl_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			  0644);
		if (fd >= 0) {
			if (write(fd, out->text, out->len) != (ssize_t)out->len)
				perror("libseqlog: write");
			close(fd);
		}
	}
	errno = err;
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	static send_fn real;
	struct sl_buf out = { .len = 0 };
	unsigned int port;
	ssize_t ret;

	if (!real)
		real = (send_fn)dlsym(RTLD_NEXT, "send");
	ret = real(fd, buf, len, flags);
	if (ret > 0 && sl_path) {
		int err = errno;

		port = sl_port(fd);
		if (port)
			sl_parse(&out, port, buf, (size_t)ret);
		sl_write(&out, err);
	}
	return ret;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags,
	       const struct sockaddr *to, socklen_t tolen)
{
	static sendto_fn real;
	struct sl_buf out = { .len = 0 };
	unsigned int port;
	ssize_t ret;

	if (!real)
		real = (sendto_fn)dlsym(RTLD_NEXT, "sendto");
	ret = real(fd, buf, len, flags, to, tolen);
	if (ret > 0 && sl_path) {
		int err = errno;

		port = sl_port(fd);
		if (port)
			sl_parse(&out, port, buf, (size_t)ret);
		sl_write(&out, err);
	}
	return ret;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	static sendmsg_fn real;
	struct sl_buf out = { .len = 0 };
	unsigned int port;
	ssize_t ret;

	if (!real)
		real = (sendmsg_fn)dlsym(RTLD_NEXT, "sendmsg");
	ret = real(fd, msg, flags);
	if (ret > 0 && sl_path) {
		int err = errno;

		port = sl_port(fd);
		if (port)
			sl_parse_msg(&out, port, msg);
		sl_write(&out, err);
	}
	return ret;
}

int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	static sendmmsg_fn real;
	struct sl_buf out = { .len = 0 };
	unsigned int port;
	int ret, i;

	if (!real)
		real = (sendmmsg_fn)dlsym(RTLD_NEXT, "sendmmsg");
	ret = real(fd, vec, vlen, flags);
	if (ret > 0 && sl_path) {
		int err = errno;

		port = sl_port(fd);
		for (i = 0; port && i < ret; i++)
			sl_parse_msg(&out, port, &vec[i].msg_hdr);
		sl_write(&out, err);
	}
	return ret;
}
