// SPDX-License-Identifier: GPL-2.0
/*
 * genl_failnth: systematic allocation-failure injection around the two
 * operations that are not netlink requests (those go through the
 * libfailnth.so shim with nlctl itself):
 *
 *   genl_failnth insmod PATH.ko   finit_module() of the module
 *   genl_failnth netns            unshare(CLONE_NEWNET) with the module loaded,
 *                                 then an ECHO in the new namespace
 *
 * For N = 1, 2, ... it writes N to /proc/thread-self/fail-nth right before
 * the operation, so the kernel fails the operation's N-th failable
 * allocation, and reads the file back afterwards (0: injected). It stops at
 * the first N that is not reached: that run had no failure and must succeed.
 * An injected run must fail cleanly (-1 with an errno: ENOMEM or ENOBUFS
 * for insmod) or succeed as if nothing happened; after a failed insmod the module must not be loaded,
 * after a successful one it is checked and unloaded again.
 *
 * Output: one line per run, "at=N injected=0|1 ret=R errno=NAME", then
 *   summary op=OP sites=S failed=F absorbed=A errnos=NAME:count,...
 * Exit 0 when every run behaved, 1 otherwise (the offending line says why).
 * Needs a kernel with CONFIG_FAULT_INJECTION and failslab set up by the
 * caller (ignore-gfp-wait N, verbose 0).
 */
#include "nl.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FN_MAX_SITES	100000
#define FN_TIMEOUT_MS	10000

struct fn_tally {
	long sites;		/* injected runs */
	long failed;		/* ... that failed with an errno */
	long absorbed;		/* ... that succeeded anyway */
	long by_errno[256];
	bool bad;
};

static int fn_arm(long n)
{
	char b[24];
	int f, len;

	f = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (f < 0)
		die("/proc/thread-self/fail-nth: %s (CONFIG_FAULT_INJECTION?)",
		    strerror(errno));
	len = snprintf(b, sizeof(b), "%ld", n);
	if (write(f, b, len) != len)
		die("arming fail-nth: %s", strerror(errno));
	return f;
}

/* Returns true if the armed failure was injected; disarms. */
static bool fn_disarm(int f)
{
	char b[24] = "";
	bool injected;

	injected = pread(f, b, sizeof(b) - 1, 0) > 0 && atol(b) == 0;
	if (write(f, "0", 1) != 1)
		die("disarming fail-nth: %s", strerror(errno));
	close(f);
	return injected;
}

static bool module_loaded(void)
{
	struct stat st;

	return stat("/sys/module/genl_echo", &st) == 0;
}

static const char *err_name(int err)
{
	const char *n = strerrorname_np(err);

	return n ? n : "E?";
}

/* One ECHO round trip in the current netns: the module must answer. */
static int echo_once(const char *why)
{
	static const char msg[] = "failnth";
	const struct nlattr *tb[GENL_ECHO_A_MAX + 1];
	const struct nlmsghdr *reply;
	struct nl_sock s;
	struct nl_buf b;
	uint16_t id;
	size_t off;
	int ret;

	ret = nl_open(&s, NL_O_EXT_ACK, 0, 0);
	if (ret)
		goto out;
	ret = genl_resolve(&s, GENL_ECHO_FAMILY_NAME, &id, FN_TIMEOUT_MS);
	if (ret)
		goto close;
	nb_init(&b, 64);
	off = nb_genl_begin(&b, id, NLM_F_REQUEST, ++s.seq, GENL_ECHO_CMD_ECHO,
			    GENL_ECHO_FAMILY_VERSION, 0);
	nb_attr_str(&b, GENL_ECHO_A_MSG, msg);
	nb_msg_end(&b, off);
	ret = genl_transact(&s, &b, &reply, FN_TIMEOUT_MS);
	nb_free(&b);
	if (!ret && (nl_attr_parse((const uint8_t *)reply + NL_GENL_HDRLEN,
				   reply->nlmsg_len - NL_GENL_HDRLEN, tb,
				   GENL_ECHO_A_MAX) ||
		     !tb[GENL_ECHO_A_MSG] ||
		     nla_plen(tb[GENL_ECHO_A_MSG]) != sizeof(msg)))
		ret = -EBADMSG;
close:
	nl_close(&s);
out:
	if (ret)
		printf("ECHO after %s failed: %s\n", why, err_name(-ret));
	return ret;
}

/*
 * STRICT: an allocation failure may only turn into ENOMEM or ENOBUFS. Not
 * for unshare(), whose errno is whatever the failing subsystem's pernet
 * init returns (ENODEV from a device that could not be registered, ...).
 */
static void tally(struct fn_tally *t, bool injected, int ret, int err,
		  bool strict)
{
	if (!injected)
		return;
	t->sites++;
	if (ret == 0) {
		t->absorbed++;
		return;
	}
	t->failed++;
	t->by_errno[err & 0xff]++;
	if (strict && err != ENOMEM && err != ENOBUFS) {
		printf("unexpected errno %s for an allocation failure\n",
		       err_name(err));
		t->bad = true;
	}
}

static void summary(const char *op, const struct fn_tally *t)
{
	const char *sep = "";
	int e;

	printf("summary op=%s sites=%ld failed=%ld absorbed=%ld errnos=",
	       op, t->sites, t->failed, t->absorbed);
	for (e = 0; e < 256; e++) {
		if (!t->by_errno[e])
			continue;
		printf("%s%s:%ld", sep, err_name(e), t->by_errno[e]);
		sep = ",";
	}
	printf("\n");
}

static int sweep_insmod(const char *path)
{
	struct fn_tally t = { 0 };
	long n;

	if (module_loaded())
		die("genl_echo is loaded: unload it first");
	for (n = 1; n <= FN_MAX_SITES; n++) {
		int fd, f, ret, err;
		bool injected;

		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("%s: %s", path, strerror(errno));
		f = fn_arm(n);
		ret = syscall(SYS_finit_module, fd, "", 0);
		err = errno;
		injected = fn_disarm(f);
		close(fd);
		printf("at=%ld injected=%d ret=%d errno=%s\n", n, injected,
		       ret, ret ? err_name(err) : "0");
		tally(&t, injected, ret, err, true);
		if (ret == 0) {
			if (!module_loaded() || echo_once("insmod")) {
				printf("module unusable after a successful load\n");
				t.bad = true;
			}
			if (!injected)
				break;
			if (syscall(SYS_delete_module, "genl_echo", O_NONBLOCK))
				die("rmmod genl_echo: %s", strerror(errno));
		} else if (module_loaded()) {
			printf("module loaded although insmod failed\n");
			t.bad = true;
		}
		if (!injected) {
			printf("insmod failed with no failure injected\n");
			t.bad = true;
			break;
		}
		fflush(stdout);
	}
	summary("insmod", &t);
	return t.bad ? 1 : 0;
}

static int sweep_netns(void)
{
	struct fn_tally t = { 0 };
	long n;

	if (!module_loaded())
		die("genl_echo is not loaded");
	for (n = 1; n <= FN_MAX_SITES; n++) {
		int f, ret, err;
		bool injected;

		f = fn_arm(n);
		ret = unshare(CLONE_NEWNET);
		err = errno;
		injected = fn_disarm(f);
		printf("at=%ld injected=%d ret=%d errno=%s\n", n, injected,
		       ret, ret ? err_name(err) : "0");
		tally(&t, injected, ret, err, false);
		/*
		 * Created or not, this process is in a namespace where the
		 * family must answer; the one it left (if any) is torn down
		 * by the kernel's cleanup_net work once unreferenced.
		 */
		if (echo_once("unshare"))
			t.bad = true;
		if (!injected) {
			if (ret) {
				printf("unshare failed with no failure injected\n");
				t.bad = true;
			}
			break;
		}
		fflush(stdout);
	}
	summary("netns", &t);
	return t.bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "insmod"))
		return sweep_insmod(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "netns"))
		return sweep_netns();
	fprintf(stderr, "usage: genl_failnth insmod PATH.ko | netns\n");
	return 2;
}
