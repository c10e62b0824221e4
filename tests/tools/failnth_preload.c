// SPDX-License-Identifier: GPL-2.0
/*
 * libfailnth.so: an LD_PRELOAD shim that makes the kernel fail exactly one
 * slab allocation of one netlink request of an unmodified client (nlctl).
 *
 * Before the GE_FAILNTH_SEND-th send(), sendto() or sendmsg() on a netlink
 * socket of the process (1 = the first), it writes GE_FAILNTH_AT to
 * /proc/thread-self/fail-nth, so the kernel fails the GE_FAILNTH_AT-th
 * failable allocation the sending thread makes from then on; right after
 * the call it reads the file back (0: the failure was injected) and disarms
 * it. Generic netlink handles a request inside the sender's send(), so the
 * window holds the request's whole kernel path: the request skb, the attribute
 * parse, the handler, its reply or error, and any notification.
 *
 * One line goes to the file GE_FAILNTH_REPORT (appended):
 *   send=K at=N injected=0|1 ret=R errno=E
 * No variable set: the shim does nothing.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int,
			     const struct sockaddr *, socklen_t);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);

static long fn_at;
static long fn_send = 1;
static const char *fn_report;
static atomic_long fn_sends;

__attribute__((constructor)) static void fn_init(void)
{
	const char *at = getenv("GE_FAILNTH_AT");
	const char *k = getenv("GE_FAILNTH_SEND");

	fn_at = at ? strtol(at, NULL, 10) : 0;
	if (k)
		fn_send = strtol(k, NULL, 10);
	fn_report = getenv("GE_FAILNTH_REPORT");
}

static int fn_is_netlink(int fd)
{
	int domain = 0;
	socklen_t len = sizeof(domain);

	return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
	       domain == AF_NETLINK;
}

static void fn_report_line(long k, int injected, ssize_t ret, int err)
{
	char line[128];
	int fd, n;

	if (!fn_report)
		return;
	n = snprintf(line, sizeof(line),
		     "send=%ld at=%ld injected=%d ret=%zd errno=%d\n",
		     k, fn_at, injected, ret, ret < 0 ? err : 0);
	fd = open(fn_report, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, n) != n)
		perror("libfailnth: report");
	close(fd);
}

/*
 * Before a send: when it is the chosen one, opens fail-nth (opening
 * allocates too, so before arming) and arms it. Returns the file, or -1.
 */
static int fn_arm(int fd, long *k)
{
	char b[24];
	int f, n;

	if (fn_at <= 0 || !fn_is_netlink(fd))
		return -1;
	*k = atomic_fetch_add(&fn_sends, 1) + 1;
	if (*k != fn_send)
		return -1;
	f = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (f < 0) {
		perror("libfailnth: /proc/thread-self/fail-nth");
		return -1;
	}
	n = snprintf(b, sizeof(b), "%ld", fn_at);
	if (write(f, b, n) != n) {
		perror("libfailnth: arm");
		close(f);
		return -1;
	}
	return f;
}

/* After the send: 0 read back means the failure was injected. */
static void fn_disarm(int f, long k, ssize_t ret, int err)
{
	char b[24] = "";
	int injected;

	if (f < 0)
		return;
	injected = pread(f, b, sizeof(b) - 1, 0) > 0 &&
		   strtol(b, NULL, 10) == 0;
	if (write(f, "0", 1) != 1)
		perror("libfailnth: disarm");
	close(f);
	fn_report_line(k, injected, ret, err);
	errno = err;
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	static send_fn real;
	long k = 0;
	ssize_t ret;
	int f;

	if (!real)
		real = (send_fn)dlsym(RTLD_NEXT, "send");
	f = fn_arm(fd, &k);
	ret = real(fd, buf, len, flags);
	fn_disarm(f, k, ret, errno);
	return ret;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags,
	       const struct sockaddr *to, socklen_t tolen)
{
	static sendto_fn real;
	long k = 0;
	ssize_t ret;
	int f;

	if (!real)
		real = (sendto_fn)dlsym(RTLD_NEXT, "sendto");
	f = fn_arm(fd, &k);
	ret = real(fd, buf, len, flags, to, tolen);
	fn_disarm(f, k, ret, errno);
	return ret;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	static sendmsg_fn real;
	long k = 0;
	ssize_t ret;
	int f;

	if (!real)
		real = (sendmsg_fn)dlsym(RTLD_NEXT, "sendmsg");
	f = fn_arm(fd, &k);
	ret = real(fd, msg, flags);
	fn_disarm(f, k, ret, errno);
	return ret;
}
