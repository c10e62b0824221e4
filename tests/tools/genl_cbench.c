// SPDX-License-Identifier: GPL-2.0
/*
 * genl_cbench - the minimal C client for the performance comparison: a raw
 * AF_NETLINK socket, hand-built messages, one request at a time.
 *
 *   genl_cbench --size BYTES (--seconds S | --count N) [--warmup N]
 *
 * Sends ECHO requests of BYTES letters (the message length before its NUL,
 * 0..65530) on one socket, each one only after the previous reply has been
 * read (no batching, no pipelining), and checks every reply's header,
 * sequence number and length. --warmup requests (default 100) are sent
 * first and not counted. Prints one JSON line:
 *   {"client":"c","size":..,"requests":..,"seconds":..,"rps":..,
 *    "p50_us":..,"p99_us":..}
 * where seconds is the wall time of the measured requests and the
 * percentiles are of the per-request round trip (send to reply received).
 */
#include "nl.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* one request, one reply; returns the round trip in ns */
static uint64_t one(struct nl_sock *s, struct nl_buf *req, uint16_t fid,
		    size_t want_len)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)req->data;
	const struct nlmsghdr *r;
	uint64_t t0;
	long n;
	int err;

	nh->nlmsg_seq = s->seq++;
	t0 = now_ns();
	err = nl_send(s, req->data, req->len);
	if (err)
		die("send: %s", strerror(-err));
	n = nl_recv(s, 10000);
	if (n <= 0)
		die("recv: %s", n ? strerror(-n) : "timeout");
	t0 = now_ns() - t0;
	r = (const struct nlmsghdr *)s->rbuf;
	if ((size_t)n < NL_HDRLEN || r->nlmsg_seq != nh->nlmsg_seq)
		die("unexpected reply (seq %u, expected %u)",
		    (size_t)n >= NL_HDRLEN ? r->nlmsg_seq : 0, nh->nlmsg_seq);
	if (r->nlmsg_type == NLMSG_ERROR) {
		struct nl_err e;

		if (nl_parse_err(r, &e))
			die("malformed error reply");
		die("ECHO failed: %s%s%s", strerror(e.error), e.msg ? ": " : "",
		    e.msg ? e.msg : "");
	}
	if (r->nlmsg_type != fid || r->nlmsg_len != want_len ||
	    (size_t)n != want_len)
		die("unexpected reply: type %u, %u bytes (expected %zu)",
		    r->nlmsg_type, r->nlmsg_len, want_len);
	return t0;
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
	size_t n = 0, cap, want_len, off;
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

	text = xmalloc(size + 1);
	gen_letters(&rng, text, size);
	nb_init(&req, size + 64);
	off = nb_genl_begin(&req, fid, NLM_F_REQUEST, 0, GENL_ECHO_CMD_ECHO,
			    GENL_ECHO_FAMILY_VERSION, 0);
	nb_attr_strn(&req, GENL_ECHO_A_MSG, text, size);
	nb_msg_end(&req, off);
	/* reply: headers, MSG (same size, padded), MODE */
	want_len = NL_GENL_HDRLEN + NL_ALIGN4(NLA_HDRLEN + size + 1) +
		   NLA_HDRLEN + 4;

	for (i = 0; i < warmup; i++)
		one(&s, &req, fid, want_len);

	cap = count ? count : 1 << 20;
	lat = xmalloc(cap * sizeof(*lat));
	t0 = now_ns();
	for (;;) {
		if (count && n == count)
			break;
		if (!count && (n & 63) == 0 &&
		    now_ns() - t0 >= (uint64_t)(seconds * 1e9))
			break;
		if (n == cap) {
			cap *= 2;
			lat = realloc(lat, cap * sizeof(*lat));
			if (!lat)
				die("out of memory");
		}
		lat[n++] = one(&s, &req, fid, want_len);
	}
	elapsed = now_ns() - t0;
	secs = elapsed / 1e9;
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("{\"client\":\"c\",\"size\":%" PRIu64 ",\"requests\":%zu,"
	       "\"seconds\":%.3f,\"rps\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
	       size, n, secs, secs > 0 ? n / secs : 0.0, pct_us(lat, n, 50),
	       pct_us(lat, n, 99));
	free(lat);
	free(text);
	nb_free(&req);
	nl_close(&s);
	return 0;
}
