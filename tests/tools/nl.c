// SPDX-License-Identifier: GPL-2.0
/*
 * Raw netlink helpers shared by genl_fuzz, genl_stress and
 * genl_cbench. See nl.h.
 */
#include "nl.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

void *xmalloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	if (!p)
		die("out of memory (%zu bytes)", size);
	return p;
}

double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *errno_name(int err)
{
	switch (err) {
	case 0: return "OK";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case ENOMEM: return "ENOMEM";
	case EBUSY: return "EBUSY";
	case EINVAL: return "EINVAL";
	case ERANGE: return "ERANGE";
	case EAGAIN: return "EAGAIN";
	case EBADMSG: return "EBADMSG";
	case EMSGSIZE: return "EMSGSIZE";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ENOBUFS: return "ENOBUFS";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ESRCH: return "ESRCH";
	case ENODEV: return "ENODEV";
	case EPROTO: return "EPROTO";
	default: return "E?";
	}
}

uint64_t parse_u64(const char *opt, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end || *s == '-')
		die("%s: not a number: '%s'", opt, s);
	return v;
}

void gen_letters(struct rng *r, uint8_t *dst, size_t n)
{
	static const char letters[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = letters[rng_below(r, 52)];
}

/* -- sockets --------------------------------------------------------------- */

static int set_buf(int fd, int force_opt, int opt, int size)
{
	if (!size)
		return 0;
	/* the *FORCE variants need CAP_NET_ADMIN; fall back to the capped ones */
	if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) == 0)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size)) == 0)
		return 0;
	return -errno;
}

int nl_open(struct nl_sock *s, unsigned int flags, int rcvbuf, int sndbuf)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t salen = sizeof(sa);
	int one = 1, err;

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (s->fd < 0)
		return -errno;
	s->flags = flags;
	if ((flags & NL_O_EXT_ACK) &&
	    setsockopt(s->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)))
		goto err;
	if ((flags & NL_O_CAP_ACK) &&
	    setsockopt(s->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)))
		goto err;
	err = set_buf(s->fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf);
	if (!err)
		err = set_buf(s->fd, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf);
	if (err) {
		errno = -err;
		goto err;
	}
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto err;
	if (getsockname(s->fd, (struct sockaddr *)&sa, &salen))
		goto err;
	s->portid = sa.nl_pid;
	s->seq = 1;
	s->rbuf = xmalloc(NL_RECV_BUF);
	return 0;
err:
	err = -errno;
	close(s->fd);
	s->fd = -1;
	return err;
}

void nl_close(struct nl_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->rbuf);
	s->rbuf = NULL;
}

int nl_send(struct nl_sock *s, const void *buf, size_t len)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	ssize_t n;

	do {
		n = sendto(s->fd, buf, len, 0, (struct sockaddr *)&sa,
			   sizeof(sa));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EMSGSIZE;
	return 0;
}

long nl_recv(struct nl_sock *s, int timeout_ms)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	ssize_t n;
	int r;

	if (timeout_ms > 0) {
		do {
			r = poll(&pfd, 1, timeout_ms);
		} while (r < 0 && errno == EINTR);
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
	}
	do {
		n = recv(s->fd, s->rbuf, NL_RECV_BUF, MSG_TRUNC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n > NL_RECV_BUF)
		return -EMSGSIZE;
	return n;
}

/* -- building -------------------------------------------------------------- */

void nb_init(struct nl_buf *b, size_t cap)
{
	b->data = xmalloc(cap);
	b->len = 0;
	b->cap = cap;
}

void nb_free(struct nl_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void nb_reset(struct nl_buf *b)
{
	b->len = 0;
}

void *nb_reserve(struct nl_buf *b, size_t len)
{
	void *p;

	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + len)
			cap *= 2;
		b->data = realloc(b->data, cap);
		if (!b->data)
			die("out of memory (%zu bytes)", cap);
		b->cap = cap;
	}
	p = b->data + b->len;
	memset(p, 0, len);
	b->len += len;
	return p;
}

void nb_put(struct nl_buf *b, const void *data, size_t len)
{
	if (len)
		memcpy(nb_reserve(b, len), data, len);
}

void nb_pad4(struct nl_buf *b)
{
	nb_reserve(b, NL_ALIGN4(b->len) - b->len);
}

size_t nb_genl_begin(struct nl_buf *b, uint16_t type, uint16_t flags,
		     uint32_t seq, uint8_t cmd, uint8_t version,
		     uint16_t reserved)
{
	size_t off;
	struct nlmsghdr nh = {
		.nlmsg_type = type,
		.nlmsg_flags = flags,
		.nlmsg_seq = seq,
	};
	struct genlmsghdr gh = {
		.cmd = cmd,
		.version = version,
		.reserved = reserved,
	};

	nb_pad4(b);
	off = b->len;
	nb_put(b, &nh, sizeof(nh));
	nb_put(b, &gh, sizeof(gh));
	return off;
}

void nb_msg_end(struct nl_buf *b, size_t off)
{
	uint32_t len = b->len - off;

	memcpy(b->data + off, &len, sizeof(len));
}

void nb_attr_raw(struct nl_buf *b, uint16_t nla_len, uint16_t type,
		 const void *data, size_t len)
{
	struct nlattr a = { .nla_len = nla_len, .nla_type = type };

	nb_put(b, &a, sizeof(a));
	nb_put(b, data, len);
	nb_pad4(b);
}

void nb_attr(struct nl_buf *b, uint16_t type, const void *data, size_t len)
{
	if (len > 0xffff - NLA_HDRLEN)
		die("attribute of %zu bytes does not fit nla_len", len);
	nb_attr_raw(b, NLA_HDRLEN + len, type, data, len);
}

void nb_attr_u32(struct nl_buf *b, uint16_t type, uint32_t v)
{
	nb_attr(b, type, &v, sizeof(v));
}

void nb_attr_strn(struct nl_buf *b, uint16_t type, const void *s, size_t len)
{
	struct nlattr a = { .nla_len = NLA_HDRLEN + len + 1, .nla_type = type };

	if (len + 1 > 0xffff - NLA_HDRLEN)
		die("string of %zu bytes does not fit nla_len", len);
	nb_put(b, &a, sizeof(a));
	nb_put(b, s, len);
	nb_reserve(b, 1);
	nb_pad4(b);
}

void nb_attr_str(struct nl_buf *b, uint16_t type, const char *s)
{
	nb_attr_strn(b, type, s, strlen(s));
}

/* -- parsing --------------------------------------------------------------- */

const struct nlmsghdr *nl_next(const uint8_t *buf, size_t len, size_t *off,
			       int *err)
{
	const struct nlmsghdr *nh;

	*err = 0;
	if (*off >= len)
		return NULL;
	if (len - *off < NL_HDRLEN) {
		*err = -1;
		return NULL;
	}
	nh = (const struct nlmsghdr *)(buf + *off);
	if (nh->nlmsg_len < NL_HDRLEN || nh->nlmsg_len > len - *off) {
		*err = -1;
		return NULL;
	}
	*off += NL_ALIGN4(nh->nlmsg_len);
	return nh;
}

int nl_attr_parse(const uint8_t *buf, size_t len, const struct nlattr **tb,
		  unsigned int maxtype)
{
	size_t off = 0;

	memset(tb, 0, sizeof(*tb) * (maxtype + 1));
	while (off < len) {
		const struct nlattr *a = (const struct nlattr *)(buf + off);
		unsigned int type;

		if (len - off < NLA_HDRLEN || a->nla_len < NLA_HDRLEN ||
		    a->nla_len > len - off)
			return -1;
		type = a->nla_type & NLA_TYPE_MASK;
		if (type <= maxtype) {
			if (tb[type])
				return -1;
			tb[type] = a;
		}
		off += NL_ALIGN4(a->nla_len);
	}
	/* the last attribute may omit its padding */
	return off == len || off == NL_ALIGN4(len) ? 0 : -1;
}

bool nla_get_u32_checked(const struct nlattr *a, uint32_t *v)
{
	if (!a || nla_plen(a) != sizeof(*v))
		return false;
	memcpy(v, nla_payload(a), sizeof(*v));
	return true;
}

bool nla_get_u64_checked(const struct nlattr *a, uint64_t *v)
{
	if (!a || nla_plen(a) != sizeof(*v))
		return false;
	memcpy(v, nla_payload(a), sizeof(*v));
	return true;
}

int nl_parse_err(const struct nlmsghdr *nh, struct nl_err *e)
{
	const uint8_t *p = (const uint8_t *)nh + NL_HDRLEN;
	size_t len, tlv_off;
	int32_t error;

	memset(e, 0, sizeof(*e));
	if (nh->nlmsg_type != NLMSG_ERROR ||
	    nh->nlmsg_len < NL_HDRLEN + sizeof(struct nlmsgerr))
		return -1;
	len = nh->nlmsg_len - NL_HDRLEN;
	memcpy(&error, p, sizeof(error));
	if (error > 0 || error < -4095)
		return -1;
	e->error = -error;
	e->orig = (const struct nlmsghdr *)(p + sizeof(error));
	e->capped = nh->nlmsg_flags & NLM_F_CAPPED;
	e->has_tlvs = nh->nlmsg_flags & NLM_F_ACK_TLVS;
	tlv_off = sizeof(struct nlmsgerr);
	if (!e->capped) {
		if (e->orig->nlmsg_len < NL_HDRLEN)
			return -1;
		e->orig_payload = p + tlv_off;
		e->orig_payload_len = e->orig->nlmsg_len - NL_HDRLEN;
		tlv_off += NL_ALIGN4(e->orig_payload_len);
		if (tlv_off > NL_ALIGN4(len))
			return -1;
	}
	if (tlv_off > len)
		tlv_off = len;
	if (e->has_tlvs) {
		const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
		const struct nlattr *m;

		if (nl_attr_parse(p + tlv_off, len - tlv_off, tb,
				  NLMSGERR_ATTR_MAX))
			return -1;
		m = tb[NLMSGERR_ATTR_MSG];
		if (m) {
			if (!nla_plen(m) || nla_payload(m)[nla_plen(m) - 1])
				return -1;
			e->msg = (const char *)nla_payload(m);
		}
		if (tb[NLMSGERR_ATTR_OFFS]) {
			if (!nla_get_u32_checked(tb[NLMSGERR_ATTR_OFFS],
						 &e->offs))
				return -1;
			e->has_offs = true;
		}
		if (tb[NLMSGERR_ATTR_MISS_TYPE]) {
			if (!nla_get_u32_checked(tb[NLMSGERR_ATTR_MISS_TYPE],
						 &e->miss_type))
				return -1;
			e->has_miss_type = true;
		}
	} else if (tlv_off != len && NL_ALIGN4(tlv_off) != NL_ALIGN4(len)) {
		return -1;
	}
	return 0;
}

/* -- generic netlink ------------------------------------------------------- */

int genl_transact(struct nl_sock *s, const struct nl_buf *req,
		  const struct nlmsghdr **reply, int timeout_ms)
{
	const struct nlmsghdr *rq = (const struct nlmsghdr *)req->data;
	double deadline = now_sec() + timeout_ms / 1000.0;
	int err;

	err = nl_send(s, req->data, req->len);
	if (err)
		return err;
	for (;;) {
		int left = (deadline - now_sec()) * 1000;
		const struct nlmsghdr *nh;
		size_t off = 0;
		long n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = nl_recv(s, left);
		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0)
			return n;
		while ((nh = nl_next(s->rbuf, n, &off, &err))) {
			struct nl_err e;

			if (nh->nlmsg_seq != rq->nlmsg_seq)
				continue;	/* stale, or a notification */
			if (nh->nlmsg_type == NLMSG_ERROR) {
				if (nl_parse_err(nh, &e))
					return -EBADMSG;
				if (!e.error)
					continue;	/* an ACK */
				return -e.error;
			}
			if (nh->nlmsg_len < NL_GENL_HDRLEN)
				return -EBADMSG;
			*reply = nh;
			return 0;
		}
		if (err)
			return -EBADMSG;
	}
}

/*
 * Sends the request in @req (and frees it), waits for its reply and parses
 * the reply's attributes into @tb.
 */
static int genl_call(struct nl_sock *s, struct nl_buf *req,
		     const struct nlattr **tb, unsigned int maxattr,
		     int timeout_ms)
{
	const struct nlmsghdr *reply;
	int err;

	err = genl_transact(s, req, &reply, timeout_ms);
	nb_free(req);
	if (err)
		return err;
	if (nl_attr_parse((const uint8_t *)reply + NL_GENL_HDRLEN,
			  reply->nlmsg_len - NL_GENL_HDRLEN, tb, maxattr))
		return -EBADMSG;
	return 0;
}

static int genl_getfamily(struct nl_sock *s, const char *name, uint16_t id,
			  uint16_t *out, int timeout_ms)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1];
	struct nl_buf b;
	size_t off;
	int err;

	nb_init(&b, 256);
	off = nb_genl_begin(&b, GENL_ID_CTRL, NLM_F_REQUEST, s->seq++,
			    CTRL_CMD_GETFAMILY, 2, 0);
	if (name)
		nb_attr_str(&b, CTRL_ATTR_FAMILY_NAME, name);
	else
		nb_attr(&b, CTRL_ATTR_FAMILY_ID, &id, sizeof(id));
	nb_msg_end(&b, off);
	err = genl_call(s, &b, tb, CTRL_ATTR_MAX, timeout_ms);
	if (err)
		return err;
	if (!tb[CTRL_ATTR_FAMILY_ID] ||
	    nla_plen(tb[CTRL_ATTR_FAMILY_ID]) != sizeof(uint16_t))
		return -EBADMSG;
	if (out)
		memcpy(out, nla_payload(tb[CTRL_ATTR_FAMILY_ID]),
		       sizeof(*out));
	return 0;
}

int genl_resolve(struct nl_sock *s, const char *name, uint16_t *id,
		 int timeout_ms)
{
	return genl_getfamily(s, name, 0, id, timeout_ms);
}

int genl_lookup_id(struct nl_sock *s, uint16_t id, int timeout_ms)
{
	return genl_getfamily(s, NULL, id, NULL, timeout_ms);
}

/* -- genl_echo ------------------------------------------------------------- */

int ge_stats(struct nl_sock *s, uint16_t id, struct genl_echo_stats *st,
	     int timeout_ms)
{
	const struct nlattr *tb[GENL_ECHO_A_MAX + 1];
	struct nl_buf b;
	size_t off;
	int err;

	nb_init(&b, 64);
	off = nb_genl_begin(&b, id, NLM_F_REQUEST, s->seq++,
			    GENL_ECHO_CMD_STATS, GENL_ECHO_FAMILY_VERSION, 0);
	nb_msg_end(&b, off);
	err = genl_call(s, &b, tb, GENL_ECHO_A_MAX, timeout_ms);
	if (err)
		return err;
	if (!nla_get_u32_checked(tb[GENL_ECHO_A_MODE], &st->mode) ||
	    !nla_get_u64_checked(tb[GENL_ECHO_A_STATS_ECHO_REQUESTS],
				 &st->echo_requests) ||
	    !nla_get_u64_checked(tb[GENL_ECHO_A_STATS_ECHO_BYTES],
				 &st->echo_bytes) ||
	    !nla_get_u64_checked(tb[GENL_ECHO_A_STATS_CHARS_CONVERTED],
				 &st->chars_converted) ||
	    !nla_get_u64_checked(tb[GENL_ECHO_A_STATS_MODE_CHANGES],
				 &st->mode_changes) ||
	    !nla_get_u64_checked(tb[GENL_ECHO_A_STATS_REJECTED],
				 &st->rejected))
		return -EBADMSG;
	return 0;
}

int ge_set_case(struct nl_sock *s, uint16_t id, uint32_t mode, uint32_t *prev,
		int timeout_ms)
{
	const struct nlattr *tb[GENL_ECHO_A_MAX + 1];
	struct nl_buf b;
	uint32_t got;
	size_t off;
	int err;

	nb_init(&b, 64);
	off = nb_genl_begin(&b, id, NLM_F_REQUEST, s->seq++,
			    GENL_ECHO_CMD_SET_CASE, GENL_ECHO_FAMILY_VERSION, 0);
	nb_attr_u32(&b, GENL_ECHO_A_MODE, mode);
	nb_msg_end(&b, off);
	err = genl_call(s, &b, tb, GENL_ECHO_A_MAX, timeout_ms);
	if (err)
		return err;
	if (!nla_get_u32_checked(tb[GENL_ECHO_A_MODE], &got) || got != mode ||
	    !nla_get_u32_checked(tb[GENL_ECHO_A_PREV_MODE], prev))
		return -EBADMSG;
	return 0;
}

size_t ge_convert(uint8_t *dst, const uint8_t *src, size_t len, uint32_t mode)
{
	uint8_t first, last;
	size_t i, changed = 0;

	switch (mode) {
	case GENL_ECHO_MODE_UPPER:
		first = 'a';
		last = 'z';
		break;
	case GENL_ECHO_MODE_LOWER:
		first = 'A';
		last = 'Z';
		break;
	default:
		if (dst != src)
			memcpy(dst, src, len);
		return 0;
	}
	for (i = 0; i < len; i++) {
		uint8_t c = src[i];

		if (c >= first && c <= last) {
			c ^= 0x20;
			changed++;
		}
		dst[i] = c;
	}
	return changed;
}

void ge_echo_want_set(struct ge_echo_want *w, const uint8_t *msg, size_t len,
		      uint8_t *conv)
{
	w->msg = msg;
	w->len = len;
	w->conv = conv;
	w->conv_mode = GE_MODE_UNSET;
	w->converted = 0;
}

int ge_echo_check(const struct nlmsghdr *nh, uint16_t fid,
		  struct ge_echo_want *w, uint32_t *mode, char *why,
		  size_t why_len)
{
	const struct genlmsghdr *gh = (const void *)((const uint8_t *)nh +
						     NL_HDRLEN);
	const struct nlattr *tb[GENL_ECHO_A_MAX + 1];
	const struct nlattr *a;

	if (nh->nlmsg_len < NL_GENL_HDRLEN) {
		snprintf(why, why_len, "reply of %u bytes", nh->nlmsg_len);
		return -1;
	}
	if (nh->nlmsg_type != fid || gh->cmd != GENL_ECHO_CMD_ECHO) {
		snprintf(why, why_len, "reply type %u cmd %u", nh->nlmsg_type,
			 gh->cmd);
		return -1;
	}
	if (nl_attr_parse((const uint8_t *)nh + NL_GENL_HDRLEN,
			  nh->nlmsg_len - NL_GENL_HDRLEN, tb, GENL_ECHO_A_MAX)) {
		snprintf(why, why_len, "malformed ECHO reply");
		return -1;
	}
	if (!nla_get_u32_checked(tb[GENL_ECHO_A_MODE], mode) ||
	    *mode > GENL_ECHO_MODE_MAX) {
		snprintf(why, why_len, "ECHO reply without a valid MODE");
		return -1;
	}
	a = tb[GENL_ECHO_A_MSG];
	if (!a || nla_plen(a) != w->len + 1 || nla_payload(a)[w->len]) {
		snprintf(why, why_len, "ECHO reply MSG of the wrong length");
		return -1;
	}
	if (w->conv_mode != *mode) {
		w->converted = ge_convert(w->conv, w->msg, w->len, *mode);
		w->conv_mode = *mode;
	}
	if (memcmp(nla_payload(a), w->conv, w->len)) {
		snprintf(why, why_len,
			 "ECHO reply of %zu bytes is not entirely mode %u",
			 w->len, *mode);
		return -1;
	}
	return 0;
}
