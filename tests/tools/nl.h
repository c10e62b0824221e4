/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The small raw netlink layer shared by the genl_echo test tools:
 * socket set-up, generic netlink family resolution (CTRL_CMD_GETFAMILY),
 * message building, receiving with a timeout, attribute parsing and
 * NLMSG_ERROR / extended ACK decoding. No libnl, no libmnl.
 */
#ifndef GENL_ECHO_TOOLS_NL_H
#define GENL_ECHO_TOOLS_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <linux/genl_echo.h>

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define NL_ALIGN4(x)		(((x) + 3U) & ~3U)
#define NL_HDRLEN		16U	/* struct nlmsghdr */
#define NL_GENL_HDRLEN		(NL_HDRLEN + GENL_HDRLEN)

/* Biggest datagram a reply can be: an ECHO of 65530 bytes, or an error
 * that quotes a 64 KiB request plus extended ACK TLVs.
 */
#define NL_RECV_BUF		(256U * 1024U)

/* nl_open() flags */
#define NL_O_EXT_ACK		0x1	/* NETLINK_EXT_ACK */
#define NL_O_CAP_ACK		0x2	/* NETLINK_CAP_ACK */

struct nl_sock {
	int fd;
	uint32_t portid;
	uint32_t seq;
	unsigned int flags;
	uint8_t *rbuf;		/* NL_RECV_BUF bytes */
};

/* A growable byte buffer for building one or many messages. */
struct nl_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

struct nl_err {
	int error;			/* errno, positive; 0 for an ACK */
	const struct nlmsghdr *orig;	/* the request's header, as quoted */
	const uint8_t *orig_payload;	/* NULL when capped */
	size_t orig_payload_len;
	bool capped;
	bool has_tlvs;
	const char *msg;		/* NLMSGERR_ATTR_MSG or NULL */
	bool has_offs;
	uint32_t offs;
	bool has_miss_type;
	uint32_t miss_type;
};

struct genl_echo_stats {
	uint32_t mode;
	uint64_t echo_requests;
	uint64_t echo_bytes;
	uint64_t chars_converted;
	uint64_t mode_changes;
	uint64_t rejected;
};

/* -- utilities ------------------------------------------------------------- */
/* splitmix64: small, seedable, reproducible */
struct rng {
	uint64_t s;
};

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in [0, n) */
static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

/* n bytes of ASCII letters, both cases */
void gen_letters(struct rng *r, uint8_t *dst, size_t n);

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void *xmalloc(size_t size);
double now_sec(void);
const char *errno_name(int err);
uint64_t parse_u64(const char *opt, const char *s);

/* -- sockets --------------------------------------------------------------- */
/* Opens and binds a NETLINK_GENERIC socket; rcvbuf/sndbuf 0 keep defaults.
 * Returns 0 or -errno.
 */
int nl_open(struct nl_sock *s, unsigned int flags, int rcvbuf, int sndbuf);
void nl_close(struct nl_sock *s);
/* send() of the whole buffer; returns 0 or -errno. */
int nl_send(struct nl_sock *s, const void *buf, size_t len);
/* Receives one datagram into s->rbuf, waiting at most timeout_ms.
 * Returns its length, 0 on timeout, -EMSGSIZE if it did not fit, or
 * -errno. With timeout_ms == 0 it does not wait (-EAGAIN: nothing queued).
 */
long nl_recv(struct nl_sock *s, int timeout_ms);

/* -- building -------------------------------------------------------------- */
void nb_init(struct nl_buf *b, size_t cap);
void nb_free(struct nl_buf *b);
void nb_reset(struct nl_buf *b);
void *nb_reserve(struct nl_buf *b, size_t len);
void nb_put(struct nl_buf *b, const void *data, size_t len);
void nb_pad4(struct nl_buf *b);
/* Appends a netlink + genetlink header (nlmsg_len 0 until nb_msg_end());
 * returns the header's offset in the buffer.
 */
size_t nb_genl_begin(struct nl_buf *b, uint16_t type, uint16_t flags,
		     uint32_t seq, uint8_t cmd, uint8_t version,
		     uint16_t reserved);
/* Sets nlmsg_len of the message at @off to the bytes since @off. */
void nb_msg_end(struct nl_buf *b, size_t off);
/* Appends an attribute header with an arbitrary (possibly lying) length
 * field, then @len payload bytes, then padding to 4 bytes.
 */
void nb_attr_raw(struct nl_buf *b, uint16_t nla_len, uint16_t type,
		 const void *data, size_t len);
void nb_attr(struct nl_buf *b, uint16_t type, const void *data, size_t len);
void nb_attr_u32(struct nl_buf *b, uint16_t type, uint32_t v);
void nb_attr_str(struct nl_buf *b, uint16_t type, const char *s);
void nb_attr_strn(struct nl_buf *b, uint16_t type, const void *s, size_t len);

/* -- parsing --------------------------------------------------------------- */
/* The next message in a datagram, or NULL at the end; *err is set to -1 if
 * the datagram is malformed (a length that does not fit).
 */
const struct nlmsghdr *nl_next(const uint8_t *buf, size_t len, size_t *off,
			       int *err);
/* Strict attribute parse: every attribute must be well formed and the
 * stream must end exactly; types above maxtype are ignored, a repeated type
 * is an error. tb has maxtype + 1 entries. Returns 0 or -1.
 */
int nl_attr_parse(const uint8_t *buf, size_t len, const struct nlattr **tb,
		  unsigned int maxtype);

static inline const uint8_t *nla_payload(const struct nlattr *a)
{
	return (const uint8_t *)a + NLA_HDRLEN;
}

static inline size_t nla_plen(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

bool nla_get_u32_checked(const struct nlattr *a, uint32_t *v);
bool nla_get_u64_checked(const struct nlattr *a, uint64_t *v);
/* Decodes an NLMSG_ERROR message; returns 0, or -1 if it is malformed. */
int nl_parse_err(const struct nlmsghdr *nh, struct nl_err *e);

/* -- generic netlink ------------------------------------------------------- */
/* CTRL_CMD_GETFAMILY by name (may autoload the module). Returns 0 and the
 * id, or -errno (-ENOENT: no such family).
 */
int genl_resolve(struct nl_sock *s, const char *name, uint16_t *id,
		 int timeout_ms);
/* CTRL_CMD_GETFAMILY by id (never autoloads). 0, or -errno. */
int genl_lookup_id(struct nl_sock *s, uint16_t id, int timeout_ms);
/* Sends one request and waits for the reply with its sequence number:
 * returns 0 with *reply pointing into s->rbuf, or -errno from an
 * NLMSG_ERROR, or -ETIMEDOUT, or -EBADMSG for a malformed reply.
 */
int genl_transact(struct nl_sock *s, const struct nl_buf *req,
		  const struct nlmsghdr **reply, int timeout_ms);

/* -- genl_echo ------------------------------------------------------------- */
int ge_stats(struct nl_sock *s, uint16_t id, struct genl_echo_stats *st,
	     int timeout_ms);
/* SET_CASE; *prev gets PREV_MODE. */
int ge_set_case(struct nl_sock *s, uint16_t id, uint32_t mode, uint32_t *prev,
		int timeout_ms);
/* Reference conversion, as the protocol defines it (ASCII letters only);
 * returns the number of bytes changed. dst may equal src.
 */
size_t ge_convert(uint8_t *dst, const uint8_t *src, size_t len, uint32_t mode);

/* What the ECHO reply to a message must carry. */
struct ge_echo_want {
	const uint8_t *msg;	/* the request's message, len bytes */
	size_t len;
	uint8_t *conv;		/* len bytes: msg converted under conv_mode */
	uint32_t conv_mode;	/* GE_MODE_UNSET: conv not computed yet */
	size_t converted;	/* letters changed under conv_mode */
};

#define GE_MODE_UNSET		UINT32_MAX

/* Sets the message a reply will be checked against; conv must hold len bytes. */
void ge_echo_want_set(struct ge_echo_want *w, const uint8_t *msg, size_t len,
		      uint8_t *conv);
/*
 * Checks an ECHO reply of family fid: the ECHO command, a known MODE, and a
 * MSG that is exactly w's message converted under that MODE (conv is redone
 * only when the mode changes), NUL-terminated. Sequence number, port id and
 * datagram length are the caller's. Returns 0 and the mode in *mode, or -1
 * with what is wrong in why.
 */
int ge_echo_check(const struct nlmsghdr *nh, uint16_t fid,
		  struct ge_echo_want *w, uint32_t *mode, char *why,
		  size_t why_len);

#endif /* GENL_ECHO_TOOLS_NL_H */
