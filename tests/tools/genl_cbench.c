// SPDX-License-Identifier: GPL-2.0
/*
 * genl_cbench - the minimal C client for the performance comparison: a raw
 * AF_NETLINK socket, hand-built messages, one request at a time.
 *
 *   genl_cbench --size BYTES (--seconds S | --count N) [--warmup N]
 *
 * Sends ECHO requests of BYTES letters (the message length before its NUL,
 * 0..65530) on one socket, each one only after the previous reply has been
 * read (no batching, no pipelining): sendto(2), then a blocking recv(2)
 * (SO_RCVTIMEO bounds the wait), two system calls per request. Every reply
 * is checked in full, as `nlctl bench` checks it: one message of exactly
 * the expected length, the family's type, the request's sequence number
 * and port id, the ECHO command, and the echoed bytes equal to the
 * request's converted under the MODE the reply reports. --warmup requests
 * (default 100) are sent first and not counted. Prints one JSON line:
 *   {"client":"c","size":..,"requests":..,"seconds":..,"rps":..,
 *    "p50_us":..,"p99_us":..}
 * where seconds is the wall time of the measured requests and the
 * percentiles are of the round trip (before sendto to after the check) of
 * one request in SAMPLE_EVERY: like nlctl, the loop reads the clock only
 * for those, because where the clocksource has no vDSO fast path (HPET
 * under QEMU TCG) a clock read costs about as much as a system call.
 */
#include "nl.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>
#include <sys/time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* nearest-rank percentile of sorted v[0..n) */
static double pct_us(const uint64_t *v, size_t n, double p)
{
	size_t rank;

	if (!n)
		return 0;
	rank = (size_t)(p / 100.0 * n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1] / 1000.0;
}

/* must match nlctl's bench::SAMPLE_EVERY: the same timing cost per request */
#define SAMPLE_EVERY	8

struct expect {
	uint16_t fid;
	uint32_t portid;
	size_t reply_len;
	struct ge_echo_want want;
};

static void check_reply(struct expect *x, const uint8_t *d, long n,
			uint32_t seq)
{
	const struct nlmsghdr *r = (const struct nlmsghdr *)d;
	char why[128];
	uint32_t mode;

	if (n < 0)
		die("recv: %s", strerror(-n));
	if ((size_t)n >= NL_HDRLEN && r->nlmsg_type == NLMSG_ERROR) {
		struct nl_err e;

		if (nl_parse_err(r, &e))
			die("malformed error reply");
		die("ECHO failed: %s%s%s", strerror(e.error), e.msg ? ": " : "",
		    e.msg ? e.msg : "");
	}
	if ((size_t)n < NL_HDRLEN)
		die("unexpected reply: %ld bytes", n);
	if ((size_t)n != x->reply_len || r->nlmsg_len != x->reply_len ||
	    r->nlmsg_seq != seq || r->nlmsg_pid != x->portid)
		die("unexpected reply: %ld bytes, length %u, seq %u, port %u (expected %zu, %u, %u)",
		    n, r->nlmsg_len, r->nlmsg_seq, r->nlmsg_pid, x->reply_len,
		    seq, x->portid);
	if (ge_echo_check(r, x->fid, &x->want, &mode, why, sizeof(why)))
		die("reply %u: %s", seq, why);
}

/* one request, one reply, checked */
static void one(struct nl_sock *s, struct nl_buf *req, struct expect *x)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)req->data;
	ssize_t n;
	int err;

	nh->nlmsg_seq = s->seq++;
	err = nl_send(s, req->data, req->len);
	if (err)
		die("send: %s", strerror(-err));
	do {
		n = recv(s->fd, s->rbuf, NL_RECV_BUF, MSG_TRUNC);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		die("recv: no reply within 10 s");
	check_reply(x, s->rbuf, n < 0 ? -errno : (long)n, nh->nlmsg_seq);
}

static void print_usage(void)
{
	fprintf(stderr, "usage: genl_cbench --size BYTES (--seconds S | "
		"--count N) [--warmup N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 'z' },
		{ "seconds", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t size = 64, count = 0, warmup = 100, *lat, t0, elapsed;
	size_t n = 0, cap, off;
	struct timeval tv = { 0 };
	struct expect x = { 0 };
	double seconds = 0, secs;
	struct rng rng = { .s = 1 };
	struct nl_sock s;
	struct nl_buf req;
	uint8_t *text;
	uint16_t fid;
	int opt, err;
	uint64_t i;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'z':
			size = parse_u64("--size", optarg);
			break;
		case 's':
			seconds = strtod(optarg, NULL);
			if (seconds <= 0)
				print_usage();
			break;
		case 'c':
			count = parse_u64("--count", optarg);
			break;
		case 'w':
			warmup = parse_u64("--warmup", optarg);
			break;
		default:
			print_usage();
		}
	}
	if (optind != argc || size > GENL_ECHO_MSG_MAX || (!count == !seconds))
		print_usage();

	err = nl_open(&s, NL_O_CAP_ACK | NL_O_EXT_ACK, 0, 0);
	if (err)
		die("socket: %s", strerror(-err));
	err = genl_resolve(&s, GENL_ECHO_FAMILY_NAME, &fid, 10000);
	if (err)
		die("resolving %s: %s", GENL_ECHO_FAMILY_NAME, strerror(-err));

	tv.tv_sec = 10;
	if (setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		die("SO_RCVTIMEO: %s", strerror(errno));

	text = xmalloc(size + 1);
	gen_letters(&rng, text, size);
	x.fid = fid;
	x.portid = s.portid;
	ge_echo_want_set(&x.want, text, size, xmalloc(size + 1));
	nb_init(&req, size + 64);
	off = nb_genl_begin(&req, fid, NLM_F_REQUEST, 0, GENL_ECHO_CMD_ECHO,
			    GENL_ECHO_FAMILY_VERSION, 0);
	nb_attr_strn(&req, GENL_ECHO_A_MSG, text, size);
	nb_msg_end(&req, off);
	/* reply: headers, MSG (same size, padded), MODE */
	x.reply_len = NL_GENL_HDRLEN + NL_ALIGN4(NLA_HDRLEN + size + 1) +
		      NLA_HDRLEN + 4;

	for (i = 0; i < warmup; i++)
		one(&s, &req, &x);
	i = 0;

	cap = count ? count / SAMPLE_EVERY + 1 : 1 << 17;
	lat = xmalloc(cap * sizeof(*lat));
	t0 = now_ns();
	for (;;) {
		uint64_t t1, ts = 0;
		bool timed = (i % SAMPLE_EVERY) == 0;

		if (count && i == count)
			break;
		if (timed)
			ts = now_ns();
		one(&s, &req, &x);
		i++;
		if (!timed)
			continue;
		t1 = now_ns();
		if (n == cap) {
			cap *= 2;
			lat = realloc(lat, cap * sizeof(*lat));
			if (!lat)
				die("out of memory");
		}
		lat[n++] = t1 - ts;
		if (!count && t1 - t0 >= (uint64_t)(seconds * 1e9))
			break;
	}
	elapsed = now_ns() - t0;
	secs = elapsed / 1e9;
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("{\"client\":\"c\",\"size\":%" PRIu64 ",\"requests\":%" PRIu64
	       ",\"seconds\":%.3f,\"rps\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
	       size, i, secs, secs > 0 ? i / secs : 0.0, pct_us(lat, n, 50),
	       pct_us(lat, n, 99));
	free(lat);
	free(x.want.conv);
	free(text);
	nb_free(&req);
	nl_close(&s);
	return 0;
}
