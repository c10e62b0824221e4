// SPDX-License-Identifier: GPL-2.0
/*
 * genl_fuzz - seeded, reproducible raw netlink fuzzer for the genl_echo
 * family. It does not use nlctl or genl-proto.
 *
 *   genl_fuzz [--seed N] [--count N] [--timeout-ms N] [--trace]
 *             [--resv-start-op N] [--skew-rejected]
 *
 * It generates --count messages ("units") from a fixed list of hostile
 * categories and sends them in batches (several messages per send()). The
 * generator only produces bytes; the outcome of every batch is predicted by
 * a model of what the kernel does with them:
 *
 *   - netlink_rcv_skb(): walks the batch; a message whose nlmsg_len is below
 *     16 or beyond the end of the batch ends the walk silently; messages
 *     without NLM_F_REQUEST, or of a control type, are skipped (ACKed with 0
 *     if they ask for NLM_F_ACK); an error is ACKed with the error;
 *   - genetlink: unknown family id -> ENOENT, short genetlink header ->
 *     EINVAL, reserved byte / nlmsg_flags checks for commands at or above
 *     the family's resv_start_op (probed at start) -> EINVAL, unknown
 *     command or NLM_F_DUMP -> EOPNOTSUPP;
 *   - strict attribute validation against the per-command policies of
 *     genl-kmod/netlink.c (lib/nlattr.c rules, with the extack offset);
 *   - the module's handlers: mode, echo conversion, and the five counters.
 *
 * Every response must be exactly the predicted reply, ACK or NLMSG_ERROR
 * (errno, quoted header, quoted payload, extack offset and missing type),
 * in order, with nothing extra; mid-run STATS replies must equal the model's
 * counters, and at the end the STATS deltas must equal the predicted ones
 * (in particular `rejected`: requests that passed the policy but a handler
 * refused). Needs CAP_NET_ADMIN (SET_CASE) and nothing else using the
 * family in the network namespace while it runs.
 *
 * --resv-start-op N replaces the probe (the model then checks the reserved
 * byte and nlmsg_flags of commands >= N); --skew-rejected makes the model
 * expect one `rejected` too many. Both exist to show that the checks bite:
 * with a wrong value the run must fail.
 *
 * Exit status: 0 all as predicted, 1 a mismatch, a hang (no response within
 * --timeout-ms) or an unexpected response, 2 a usage or set-up error. The
 * last line on stdout is a JSON summary.
 */
#include "nl.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIRST_UNUSED_FAMILY_ID	(GENL_MAX_ID + 1)
#define BATCH_BYTES_MAX		(192U * 1024U)
#define BATCH_UNITS_MAX		64
#define SOCK_BUF		(8 * 1024 * 1024)
#define MSG_STR_MAX		GENL_ECHO_MSG_MAX

/* -- random numbers (seeded, reproducible) --------------------------------- */

static struct rng rng;

static uint64_t rnd(void)
{
	return rng_next(&rng);
}

/* uniform in [0, n) */
static uint32_t rnd_below(uint32_t n)
{
	return rng_below(&rng, n);
}

/* uniform in [lo, hi] */
static uint32_t rnd_range(uint32_t lo, uint32_t hi)
{
	return lo + rnd_below(hi - lo + 1);
}

static bool chance(unsigned int percent)
{
	return rnd_below(100) < percent;
}

/* -- categories ------------------------------------------------------------ */

enum cat {
	C_ECHO_VALID,
	C_ECHO_BOUNDARY,
	C_ECHO_OVERSIZE,
	C_ECHO_EMBEDDED_NUL,
	C_ECHO_UNTERMINATED,
	C_ECHO_EMPTY_ATTR,
	C_ECHO_NO_ATTRS,
	C_ECHO_DUP_ATTRS,
	C_SET_VALID,
	C_SET_NO_ATTRS,
	C_SET_OUT_OF_RANGE,
	C_ATTR_WRONG_SIZE,
	C_GET_VALID,
	C_STATS_VALID,
	C_NOATTR_WITH_ATTRS,
	C_ATTR_UNKNOWN,
	C_ATTR_NESTED,
	C_ATTR_BYTEORDER,
	C_NLA_LEN_LIE,
	C_TRAILING_BYTES,
	C_CMD_UNKNOWN,
	C_GENL_VERSION,
	C_DUMP_FLAG,
	C_RESERVED_NONZERO,
	C_FLAGS_NOISE,
	C_ACK_FLAG,
	C_NO_REQUEST_FLAG,
	C_CONTROL_TYPE,
	C_FAMILY_UNKNOWN,
	C_GENL_HDR_TRUNCATED,
	C_RANDOM_TLV,
	C_LEN_SWALLOW,
	/* terminal: the kernel stops walking the batch in (or after) these */
	C_NL_HDR_TRUNCATED,
	C_LEN_TOO_LONG,
	C_LEN_TOO_SHORT,
	C_LEN_SHORT_LIE,
	C_SMUGGLED,		/* never generated alone: inside C_LEN_SHORT_LIE */
	C_COUNT
};

#define C_FIRST_TERMINAL	C_NL_HDR_TRUNCATED

static const struct {
	const char *name;
	unsigned int weight;
} cats[C_COUNT] = {
	[C_ECHO_VALID]		= { "echo_valid", 14 },
	[C_ECHO_BOUNDARY]	= { "echo_boundary", 1 },
	[C_ECHO_OVERSIZE]	= { "echo_oversize", 1 },
	[C_ECHO_EMBEDDED_NUL]	= { "echo_embedded_nul", 3 },
	[C_ECHO_UNTERMINATED]	= { "echo_unterminated", 3 },
	[C_ECHO_EMPTY_ATTR]	= { "echo_empty_attr", 2 },
	[C_ECHO_NO_ATTRS]	= { "echo_no_attrs", 4 },
	[C_ECHO_DUP_ATTRS]	= { "echo_dup_attrs", 2 },
	[C_SET_VALID]		= { "set_valid", 6 },
	[C_SET_NO_ATTRS]	= { "set_no_attrs", 3 },
	[C_SET_OUT_OF_RANGE]	= { "set_out_of_range", 3 },
	[C_ATTR_WRONG_SIZE]	= { "attr_wrong_size", 3 },
	[C_GET_VALID]		= { "get_valid", 2 },
	[C_STATS_VALID]		= { "stats_valid", 2 },
	[C_NOATTR_WITH_ATTRS]	= { "noattr_with_attrs", 3 },
	[C_ATTR_UNKNOWN]	= { "attr_unknown", 5 },
	[C_ATTR_NESTED]		= { "attr_nested", 3 },
	[C_ATTR_BYTEORDER]	= { "attr_byteorder", 2 },
	[C_NLA_LEN_LIE]		= { "nla_len_lie", 5 },
	[C_TRAILING_BYTES]	= { "trailing_bytes", 3 },
	[C_CMD_UNKNOWN]		= { "cmd_unknown", 4 },
	[C_GENL_VERSION]	= { "genl_version", 3 },
	[C_DUMP_FLAG]		= { "dump_flag", 3 },
	[C_RESERVED_NONZERO]	= { "reserved_nonzero", 3 },
	[C_FLAGS_NOISE]		= { "flags_noise", 3 },
	[C_ACK_FLAG]		= { "ack_flag", 3 },
	[C_NO_REQUEST_FLAG]	= { "no_request_flag", 2 },
	[C_CONTROL_TYPE]	= { "control_type", 2 },
	[C_FAMILY_UNKNOWN]	= { "family_unknown", 2 },
	[C_GENL_HDR_TRUNCATED]	= { "genl_hdr_truncated", 2 },
	[C_RANDOM_TLV]		= { "random_tlv", 6 },
	[C_LEN_SWALLOW]		= { "len_swallow", 2 },
	[C_NL_HDR_TRUNCATED]	= { "nl_hdr_truncated", 2 },
	[C_LEN_TOO_LONG]	= { "len_too_long", 2 },
	[C_LEN_TOO_SHORT]	= { "len_too_short", 2 },
	[C_LEN_SHORT_LIE]	= { "len_short_lie", 4 },
	[C_SMUGGLED]		= { "smuggled", 0 },
};

struct cat_count {
	uint64_t units;		/* generated */
	uint64_t ok;		/* answered with a reply */
	uint64_t err;		/* answered with an NLMSG_ERROR (errno != 0) */
	uint64_t ack;		/* answered with an ACK (error 0) only */
	uint64_t silent;	/* seen by the kernel, no response */
	uint64_t unseen;	/* swallowed by another message or dropped */
	uint64_t rejected;	/* bumped the `rejected` counter */
};

/* -- the model of the kernel ----------------------------------------------- */

struct model {
	uint16_t fid;
	unsigned int resv_start_op;
	uint32_t mode;
	struct genl_echo_stats st;
};

enum exp_kind { EXP_ERR, EXP_ACK, EXP_REPLY };

struct expect {
	enum exp_kind kind;
	int cat;
	size_t msg_off;		/* the request in the batch buffer */
	struct nlmsghdr req;	/* the request's header, as the kernel saw it */
	int err;		/* EXP_ERR */
	int32_t offs;		/* expected NLMSGERR_ATTR_OFFS or -1 (absent) */
	int32_t miss_type;	/* expected NLMSGERR_ATTR_MISS_TYPE or -1 */
	uint8_t cmd;		/* EXP_REPLY */
	uint32_t mode, prev;
	size_t text_off, text_len;	/* ECHO: expected text in the arena */
	struct genl_echo_stats st;	/* STATS */
};

struct unit {
	size_t off;
	size_t len;
	int cat;
	bool seen;
};

struct batch {
	struct nl_buf buf;
	struct unit units[BATCH_UNITS_MAX * 4];
	int n_units;
	struct expect *exp;
	int n_exp, cap_exp;
	struct nl_buf arena;	/* expected ECHO texts */
	struct nl_sock *sock;
};

struct state {
	struct model m;
	struct nl_sock sa;	/* NETLINK_EXT_ACK + NETLINK_CAP_ACK */
	struct nl_sock sb;	/* neither */
	uint32_t seq;
	int timeout_ms;
	bool trace;
	bool skew_rejected;
	int resv_override;
	uint64_t seed, count;
	/* tallies */
	uint64_t units, sends, kmsgs, responses, replies, acks, errors;
	uint64_t silent, bytes_sent, max_batch, batches_multi;
	uint64_t errnos[4096];
	struct cat_count cc[C_COUNT];
	struct genl_echo_stats base;
	uint64_t batch_no;
	const char *failure;
	double seconds_start;
};

static struct state S;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void hexdump(const char *what, const uint8_t *p, size_t len)
{
	size_t i;

	fprintf(stderr, "%s (%zu bytes):", what, len);
	for (i = 0; i < len && i < 256; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n  ", p[i]);
	fprintf(stderr, "%s\n", len > 256 ? "\n  ..." : "");
}

static void print_summary(const struct genl_echo_stats *now);

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "genl_fuzz: FAIL (seed %" PRIu64 ", batch %" PRIu64
		"): ", S.seed, S.batch_no);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	S.failure = "mismatch";
	print_summary(NULL);
	exit(1);
}

static struct expect *exp_add(struct batch *b, enum exp_kind kind, int cat,
			      size_t msg_off, const struct nlmsghdr *req)
{
	struct expect *e;

	if (b->n_exp == b->cap_exp) {
		b->cap_exp = b->cap_exp ? b->cap_exp * 2 : 64;
		b->exp = realloc(b->exp, b->cap_exp * sizeof(*b->exp));
		if (!b->exp)
			die("out of memory");
	}
	e = &b->exp[b->n_exp++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->cat = cat;
	e->msg_off = msg_off;
	e->req = *req;
	e->offs = -1;
	e->miss_type = -1;
	return e;
}

enum ptype { PT_UNSPEC, PT_NUL_STRING, PT_U32_MODE };

static unsigned int op_maxattr(uint8_t cmd)
{
	switch (cmd) {
	case GENL_ECHO_CMD_ECHO:
		return GENL_ECHO_A_MSG;
	case GENL_ECHO_CMD_SET_CASE:
		return GENL_ECHO_A_MODE;
	default:
		return GENL_ECHO_A_PAD;
	}
}

static enum ptype op_policy(uint8_t cmd, unsigned int type)
{
	if (cmd == GENL_ECHO_CMD_ECHO && type == GENL_ECHO_A_MSG)
		return PT_NUL_STRING;
	if (cmd == GENL_ECHO_CMD_SET_CASE && type == GENL_ECHO_A_MODE)
		return PT_U32_MODE;
	return PT_UNSPEC;
}

struct parsed {
	int err;
	int32_t offs;
	const uint8_t *tb[GENL_ECHO_A_MAX + 1];	/* attribute headers */
};

/* lib/nlattr.c __nla_validate_parse() + validate_nla(), NL_VALIDATE_STRICT,
 * for the policies in genl-kmod/netlink.c
 */
static void model_attrs(const uint8_t *m, uint32_t len, uint8_t cmd,
			struct parsed *p)
{
	unsigned int maxtype = op_maxattr(cmd);
	const uint8_t *a = m + NL_GENL_HDRLEN;
	int rem = (int)len - (int)NL_GENL_HDRLEN;

	memset(p, 0, sizeof(*p));
	p->offs = -1;
	while (rem >= (int)NLA_HDRLEN) {
		uint16_t nla_len, raw_type, type;
		const uint8_t *data = a + NLA_HDRLEN;
		int attrlen;
		uint32_t v;

		memcpy(&nla_len, a, 2);
		memcpy(&raw_type, a + 2, 2);
		if (nla_len < NLA_HDRLEN || nla_len > rem)
			break;
		type = raw_type & NLA_TYPE_MASK;
		attrlen = nla_len - NLA_HDRLEN;
		p->offs = a - m;
		if (type == 0 || type > maxtype) {
			p->err = EINVAL;	/* Unknown attribute type */
			return;
		}
		switch (op_policy(cmd, type)) {
		case PT_UNSPEC:
			p->err = EINVAL;	/* Unsupported attribute */
			return;
		case PT_U32_MODE:
			if (attrlen != 4) {
				p->err = EINVAL;	/* invalid length */
				return;
			}
			if (raw_type & NLA_F_NESTED) {
				p->err = EINVAL;	/* NLA_F_NESTED not expected */
				return;
			}
			memcpy(&v, data, 4);
			if (v > GENL_ECHO_MODE_MAX) {
				p->err = ERANGE;	/* integer out of range */
				return;
			}
			break;
		case PT_NUL_STRING: {
			int minlen = attrlen < MSG_STR_MAX + 1 ? attrlen :
				     MSG_STR_MAX + 1;

			if (raw_type & NLA_F_NESTED) {
				p->err = EINVAL;
				return;
			}
			if (!minlen || !memchr(data, 0, minlen)) {
				p->err = EINVAL;
				return;
			}
			if (data[attrlen - 1] == 0)
				attrlen--;
			if (attrlen > MSG_STR_MAX) {
				p->err = ERANGE;
				return;
			}
			break;
		}
		}
		p->tb[type] = a;
		rem -= NL_ALIGN4(nla_len);
		a += NL_ALIGN4(nla_len);
	}
	p->offs = -1;
	if (rem > 0)
		p->err = EINVAL;	/* bytes leftover after parsing attributes */
}

static struct cat_count *cc_of(int cat)
{
	return &S.cc[cat];
}

/* One message as the kernel sees it. Returns false if the model cannot
 * predict it (the generator must never produce such a message).
 */
static bool model_msg(struct batch *b, size_t off, int cat)
{
	const uint8_t *m = b->buf.data + off;
	struct nlmsghdr nh;
	struct genlmsghdr gh;
	struct parsed p;
	struct expect *e;
	bool ack;
	uint16_t fl;

	memcpy(&nh, m, sizeof(nh));
	fl = nh.nlmsg_flags;
	ack = fl & NLM_F_ACK;
	S.kmsgs++;

	if (!(fl & NLM_F_REQUEST) || nh.nlmsg_type < NLMSG_MIN_TYPE) {
		if (ack)
			exp_add(b, EXP_ACK, cat, off, &nh);
		else
			cc_of(cat)->silent++;
		return true;
	}
	if (nh.nlmsg_type != S.m.fid) {
		if (nh.nlmsg_type < FIRST_UNUSED_FAMILY_ID)
			return false;	/* might be a real family */
		exp_add(b, EXP_ERR, cat, off, &nh)->err = ENOENT;
		return true;
	}
	if (nh.nlmsg_len < NL_GENL_HDRLEN) {
		exp_add(b, EXP_ERR, cat, off, &nh)->err = EINVAL;
		return true;
	}
	memcpy(&gh, m + NL_HDRLEN, sizeof(gh));
	if (gh.cmd >= S.m.resv_start_op) {
		uint16_t f = fl;

		if ((f & NLM_F_DUMP) == NLM_F_DUMP)
			f &= ~NLM_F_DUMP;
		if (gh.reserved ||
		    (f & ~(NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO))) {
			exp_add(b, EXP_ERR, cat, off, &nh)->err = EINVAL;
			return true;
		}
	}
	if (gh.cmd < GENL_ECHO_CMD_ECHO || gh.cmd > GENL_ECHO_CMD_STATS ||
	    (fl & NLM_F_DUMP) == NLM_F_DUMP) {
		exp_add(b, EXP_ERR, cat, off, &nh)->err = EOPNOTSUPP;
		return true;
	}
	model_attrs(m, nh.nlmsg_len, gh.cmd, &p);
	if (p.err) {
		e = exp_add(b, EXP_ERR, cat, off, &nh);
		e->err = p.err;
		e->offs = p.offs;
		return true;
	}

	/* the handlers */
	switch (gh.cmd) {
	case GENL_ECHO_CMD_ECHO: {
		const uint8_t *a = p.tb[GENL_ECHO_A_MSG];
		uint16_t nla_len;
		size_t len, conv;
		uint8_t *t;

		if (!a) {
			e = exp_add(b, EXP_ERR, cat, off, &nh);
			e->err = EINVAL;
			e->miss_type = GENL_ECHO_A_MSG;
			S.m.st.rejected++;
			cc_of(cat)->rejected++;
			return true;
		}
		memcpy(&nla_len, a, 2);
		len = strnlen((const char *)a + NLA_HDRLEN, nla_len - NLA_HDRLEN);
		e = exp_add(b, EXP_REPLY, cat, off, &nh);
		e->cmd = gh.cmd;
		e->mode = S.m.mode;
		e->text_off = b->arena.len;
		e->text_len = len;
		t = nb_reserve(&b->arena, len);
		conv = ge_convert(t, a + NLA_HDRLEN, len, S.m.mode);
		S.m.st.echo_requests++;
		S.m.st.echo_bytes += len;
		S.m.st.chars_converted += conv;
		break;
	}
	case GENL_ECHO_CMD_SET_CASE: {
		const uint8_t *a = p.tb[GENL_ECHO_A_MODE];
		uint32_t mode;

		if (!a) {
			e = exp_add(b, EXP_ERR, cat, off, &nh);
			e->err = EINVAL;
			e->miss_type = GENL_ECHO_A_MODE;
			S.m.st.rejected++;
			cc_of(cat)->rejected++;
			return true;
		}
		memcpy(&mode, a + NLA_HDRLEN, 4);
		e = exp_add(b, EXP_REPLY, cat, off, &nh);
		e->cmd = gh.cmd;
		e->mode = mode;
		e->prev = S.m.mode;
		if (mode != S.m.mode)
			S.m.st.mode_changes++;
		S.m.mode = mode;
		break;
	}
	case GENL_ECHO_CMD_GET_CASE:
		e = exp_add(b, EXP_REPLY, cat, off, &nh);
		e->cmd = gh.cmd;
		e->mode = S.m.mode;
		break;
	case GENL_ECHO_CMD_STATS:
		e = exp_add(b, EXP_REPLY, cat, off, &nh);
		e->cmd = gh.cmd;
		e->mode = S.m.mode;
		e->st = S.m.st;
		e->st.mode = S.m.mode;
		break;
	}
	if (ack)
		exp_add(b, EXP_ACK, cat, off, &nh);
	return true;
}

static int unit_at(const struct batch *b, size_t off)
{
	int i;

	for (i = b->n_units - 1; i >= 0; i--)
		if (b->units[i].off <= off)
			return i;
	return 0;
}

/* net/netlink/af_netlink.c netlink_rcv_skb() over the whole batch */
static void model_batch(struct batch *b)
{
	size_t len = b->buf.len, off = 0;
	int i;

	while (len - off >= NL_HDRLEN) {
		uint32_t mlen;
		int u;

		memcpy(&mlen, b->buf.data + off, 4);
		if (mlen < NL_HDRLEN || mlen > len - off)
			break;
		u = unit_at(b, off);
		/* a message starting inside another unit was smuggled */
		if (b->units[u].off != off && b->units[u].cat == C_LEN_SHORT_LIE)
			u = -1;
		if (u >= 0)
			b->units[u].seen = true;
		if (!model_msg(b, off, u >= 0 ? b->units[u].cat : C_SMUGGLED)) {
			hexdump("batch", b->buf.data, b->buf.len);
			die("genl_fuzz: generator bug: unpredictable message at "
			    "offset %zu of batch %" PRIu64 " (unit %s)", off,
			    S.batch_no, cats[b->units[unit_at(b, off)].cat].name);
		}
		mlen = NL_ALIGN4(mlen);
		off += mlen < len - off ? mlen : len - off;
	}
	for (i = 0; i < b->n_units; i++)
		if (!b->units[i].seen)
			cc_of(b->units[i].cat)->unseen++;
}

/* -- the generator --------------------------------------------------------- */

static uint8_t *scratch;	/* MSG_STR_MAX + 64 bytes */

enum text_style { T_LOWER, T_MIXED, T_PRINTABLE, T_HIGH, T_BINARY, T_STYLES };

/* fills dst with len non-NUL bytes */
static void gen_text(uint8_t *dst, size_t len, enum text_style style)
{
	static const char letters[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	size_t i;

	for (i = 0; i < len; i++) {
		uint64_t r = rnd();

		switch (style) {
		case T_LOWER:
			dst[i] = 'a' + r % 26;
			break;
		case T_MIXED:
			dst[i] = letters[r % 52];
			break;
		case T_PRINTABLE:
			dst[i] = 0x20 + r % 95;
			break;
		case T_HIGH:	/* UTF-8-ish: high bytes among ASCII */
			dst[i] = r & 1 ? (uint8_t)(0x80 + (r >> 8) % 128) :
				 (uint8_t)letters[(r >> 8) % 52];
			break;
		default:
			dst[i] = 1 + r % 255;
			break;
		}
	}
}

static size_t gen_len(void)
{
	uint32_t r = rnd_below(1000);

	if (r < 700)
		return rnd_range(0, 64);
	if (r < 900)
		return rnd_range(65, 1024);
	if (r < 985)
		return rnd_range(1025, 8192);
	return rnd_range(8193, MSG_STR_MAX);
}

static enum text_style gen_style(void)
{
	return rnd_below(T_STYLES);
}

static uint8_t gen_cmd(void)
{
	return rnd_range(GENL_ECHO_CMD_ECHO, GENL_ECHO_CMD_STATS);
}

static size_t begin(struct batch *b, uint16_t flags, uint8_t cmd)
{
	return nb_genl_begin(&b->buf, S.m.fid, flags, S.seq++, cmd,
			     GENL_ECHO_FAMILY_VERSION, 0);
}

static void set_hdr_type(struct batch *b, size_t off, uint16_t type)
{
	memcpy(b->buf.data + off + 4, &type, 2);
}

static void set_hdr_len(struct batch *b, size_t off, uint32_t len)
{
	memcpy(b->buf.data + off, &len, 4);
}

static void buf_msg_attr(struct nl_buf *nb, size_t len, enum text_style st)
{
	gen_text(scratch, len, st);
	nb_attr_strn(nb, GENL_ECHO_A_MSG, scratch, len);
}

/* the attributes a valid request of cmd carries */
static void buf_valid_body(struct nl_buf *nb, uint8_t cmd, size_t maxlen)
{
	size_t len = gen_len();

	if (cmd == GENL_ECHO_CMD_ECHO)
		buf_msg_attr(nb, len < maxlen ? len : maxlen, gen_style());
	else if (cmd == GENL_ECHO_CMD_SET_CASE)
		nb_attr_u32(nb, GENL_ECHO_A_MODE,
			    rnd_below(GENL_ECHO_MODE_MAX + 1));
}

static void put_msg_attr(struct batch *b, size_t len, enum text_style st)
{
	buf_msg_attr(&b->buf, len, st);
}

static void put_mode_attr(struct batch *b, uint32_t mode)
{
	nb_attr_u32(&b->buf, GENL_ECHO_A_MODE, mode);
}

static void put_valid_body(struct batch *b, uint8_t cmd)
{
	buf_valid_body(&b->buf, cmd, MSG_STR_MAX);
}

static size_t valid_msg(struct batch *b, uint16_t flags, uint8_t cmd)
{
	size_t off = begin(b, flags, cmd);

	put_valid_body(b, cmd);
	nb_msg_end(&b->buf, off);
	return off;
}

/* an attribute no policy of cmd accepts, for attr_unknown */
static uint16_t bad_attr_type(uint8_t cmd)
{
	switch (rnd_below(5)) {
	case 0:
		return 0;
	case 1:
		return GENL_ECHO_A_PAD;
	case 2:	/* reply-only attributes */
		return rnd_range(GENL_ECHO_A_PREV_MODE, GENL_ECHO_A_MAX);
	case 3:
		return rnd_range(GENL_ECHO_A_MAX + 1, NLA_TYPE_MASK);
	default:	/* valid for another command */
		return cmd == GENL_ECHO_CMD_ECHO ? GENL_ECHO_A_MODE :
		       GENL_ECHO_A_MSG;
	}
}

static void put_random_payload_attr(struct batch *b, uint16_t type, int depth);

static void put_random_nest(struct batch *b, int depth)
{
	int i, n = rnd_range(0, 3);

	for (i = 0; i < n; i++)
		put_random_payload_attr(b, rnd_below(12) |
					(chance(20) ? NLA_F_NESTED : 0), depth + 1);
}

/* an attribute with a random payload and, sometimes, a lying nla_len */
static void put_random_payload_attr(struct batch *b, uint16_t type, int depth)
{
	size_t hdr = b->buf.len, start, plen;
	uint16_t nla_len;

	nb_reserve(&b->buf, NLA_HDRLEN);
	start = b->buf.len;
	switch (depth < 3 ? rnd_below(6) : rnd_below(5)) {
	case 0:
		nb_put(&b->buf, &(uint32_t){ rnd_below(4) }, 4);
		break;
	case 1:
		nb_put(&b->buf, &(uint32_t){ (uint32_t)rnd() }, 4);
		break;
	case 2:	/* a string with its NUL */
		plen = rnd_range(0, 40);
		gen_text(scratch, plen, gen_style());
		scratch[plen] = 0;
		nb_put(&b->buf, scratch, plen + 1);
		break;
	case 3:	/* a string without */
		plen = rnd_range(1, 40);
		gen_text(scratch, plen, gen_style());
		nb_put(&b->buf, scratch, plen);
		break;
	case 4:	/* raw bytes, NULs included */
		plen = rnd_range(0, 40);
		for (size_t i = 0; i < plen; i++)
			scratch[i] = rnd();
		nb_put(&b->buf, scratch, plen);
		break;
	default:
		put_random_nest(b, depth);
		type |= NLA_F_NESTED;
		break;
	}
	plen = b->buf.len - start;
	nla_len = NLA_HDRLEN + plen;
	if (chance(10)) {
		switch (rnd_below(3)) {
		case 0:
			nla_len = rnd_below(NLA_HDRLEN);
			break;
		case 1:
			nla_len += rnd_range(1, 64);
			break;
		default:
			if (nla_len > NLA_HDRLEN)
				nla_len -= rnd_range(1, plen);
			break;
		}
	}
	memcpy(b->buf.data + hdr, &nla_len, 2);
	memcpy(b->buf.data + hdr + 2, &type, 2);
	nb_pad4(&b->buf);
}

static void unit_add(struct batch *b, size_t off, int cat)
{
	struct unit *u = &b->units[b->n_units++];

	u->off = off;
	u->len = b->buf.len - off;
	u->cat = cat;
	u->seen = false;
	S.cc[cat].units++;
	S.units++;
}

static int pick_cat(bool allow_terminal)
{
	static unsigned int total, total_nonterm;
	unsigned int r;
	int c;

	if (!total) {
		for (c = 0; c < C_COUNT; c++) {
			total += cats[c].weight;
			if (c < C_FIRST_TERMINAL)
				total_nonterm += cats[c].weight;
		}
	}
	r = rnd_below(allow_terminal ? total : total_nonterm);
	for (c = 0; c < C_COUNT; c++) {
		if (r < cats[c].weight)
			return c;
		r -= cats[c].weight;
	}
	return C_ECHO_VALID;
}

static void gen_unit(struct batch *b, int cat);

/* Non-terminal units: complete messages, the next one starts after them. */
static void gen_simple(struct batch *b, int cat)
{
	uint8_t cmd = gen_cmd();
	size_t off = 0, len;
	uint32_t v;

	switch (cat) {
	case C_ECHO_VALID:
		off = begin(b, NLM_F_REQUEST, GENL_ECHO_CMD_ECHO);
		put_msg_attr(b, gen_len(), gen_style());
		nb_msg_end(&b->buf, off);
		/* the last attribute's padding is optional */
		if (chance(10)) {
			uint16_t nla_len;

			memcpy(&nla_len, b->buf.data + off + NL_GENL_HDRLEN, 2);
			set_hdr_len(b, off, NL_GENL_HDRLEN + nla_len);
		}
		break;
	case C_ECHO_BOUNDARY:
		off = begin(b, NLM_F_REQUEST, GENL_ECHO_CMD_ECHO);
		switch (rnd_below(4)) {
		case 0:
			len = MSG_STR_MAX;
			break;
		case 1:
			len = MSG_STR_MAX - rnd_range(1, 3);
			break;
		case 2:
			len = 0;
			break;
		default:
			len = 1;
			break;
		}
		put_msg_attr(b, len, gen_style());
		nb_msg_end(&b->buf, off);
		break;
	case C_ECHO_OVERSIZE:
		off = begin(b, NLM_F_REQUEST, GENL_ECHO_CMD_ECHO);
		switch (rnd_below(3)) {
		case 0:	/* 65531 bytes, no NUL at all */
			len = MSG_STR_MAX + 1;
			gen_text(scratch, len, gen_style());
			break;
		case 1:	/* 65531 bytes, a NUL inside but not at the end */
			len = MSG_STR_MAX + 1;
			gen_text(scratch, len, gen_style());
			scratch[rnd_below(len - 1)] = 0;
			break;
		default:	/* 65530 bytes, no NUL */
			len = MSG_STR_MAX;
			gen_text(scratch, len, gen_style());
			break;
		}
		nb_attr(&b->buf, GENL_ECHO_A_MSG, scratch, len);
		nb_msg_end(&b->buf, off);
		break;
	case C_ECHO_EMBEDDED_NUL:
		off = begin(b, NLM_F_REQUEST, GENL_ECHO_CMD_ECHO);
		len = rnd_range(2, 300);
		gen_text(scratch, len, gen_style());
		scratch[rnd_below(len - 1)] = 0;
		if (chance(50))
			scratch[len - 1] = 0;
		nb_attr(&b->buf, GENL_ECHO_A_MSG, scratch, len);
		nb_msg_end(&b->buf, off);
		break;
	case C_ECHO_UNTERMINATED:
		off = begin(b, NLM_F_REQUEST, GENL_ECHO_CMD_ECHO);
		len = rnd_range(1, 2000);
		gen_text(scratch, len, gen_style());
		nb_attr(&b->buf, GENL_ECHO_A_MSG, scratch, len);
		nb_msg_end(&b->buf, off);
		break;
	case C_ECHO_EMPTY_ATTR:
		off = begin(b, NLM_F_REQUEST, GENL_ECHO_CMD_ECHO);
		nb_attr(&b->buf, GENL_ECHO_A_MSG, NULL, 0);
		nb_msg_end(&b->buf, off);
		break;
	case C_ECHO_NO_ATTRS:
		off = begin(b, NLM_F_REQUEST, GENL_ECHO_CMD_ECHO);
		nb_msg_end(&b->buf, off);
		break;
	case C_ECHO_DUP_ATTRS:
		off = begin(b, NLM_F_REQUEST, GENL_ECHO_CMD_ECHO);
		put_msg_attr(b, rnd_range(0, 100), gen_style());
		put_msg_attr(b, rnd_range(0, 100), gen_style());
		nb_msg_end(&b->buf, off);
		break;
	case C_SET_VALID:
		off = begin(b, NLM_F_REQUEST, GENL_ECHO_CMD_SET_CASE);
		put_mode_attr(b, rnd_below(GENL_ECHO_MODE_MAX + 1));
		if (chance(10))	/* duplicates: the last one counts */
			put_mode_attr(b, rnd_below(GENL_ECHO_MODE_MAX + 1));
		nb_msg_end(&b->buf, off);
		break;
	case C_SET_NO_ATTRS:
		off = begin(b, NLM_F_REQUEST, GENL_ECHO_CMD_SET_CASE);
		nb_msg_end(&b->buf, off);
		break;
	case C_SET_OUT_OF_RANGE:
		off = begin(b, NLM_F_REQUEST, GENL_ECHO_CMD_SET_CASE);
		switch (rnd_below(3)) {
		case 0:
			v = GENL_ECHO_MODE_MAX + 1;
			break;
		case 1:
			v = UINT32_MAX - rnd_below(2);
			break;
		default:
			v = rnd_range(GENL_ECHO_MODE_MAX + 1, UINT32_MAX);
			break;
		}
		put_mode_attr(b, v);
		nb_msg_end(&b->buf, off);
		break;
	case C_ATTR_WRONG_SIZE: {
		static const uint8_t sizes[] = { 0, 1, 2, 3, 5, 6, 7, 8, 12, 64 };

		off = begin(b, NLM_F_REQUEST, GENL_ECHO_CMD_SET_CASE);
		len = sizes[rnd_below(sizeof(sizes))];
		memset(scratch, 0, len);
		if (len)
			scratch[0] = rnd_below(GENL_ECHO_MODE_MAX + 1);
		nb_attr(&b->buf, GENL_ECHO_A_MODE, scratch, len);
		nb_msg_end(&b->buf, off);
		break;
	}
	case C_GET_VALID:
		off = valid_msg(b, NLM_F_REQUEST, GENL_ECHO_CMD_GET_CASE);
		break;
	case C_STATS_VALID:
		off = valid_msg(b, NLM_F_REQUEST, GENL_ECHO_CMD_STATS);
		break;
	case C_NOATTR_WITH_ATTRS:
		cmd = rnd_range(GENL_ECHO_CMD_GET_CASE, GENL_ECHO_CMD_STATS);
		off = begin(b, NLM_F_REQUEST, cmd);
		switch (rnd_below(3)) {
		case 0:
			nb_attr_u32(&b->buf, GENL_ECHO_A_PAD, 0);
			break;
		case 1:
			put_mode_attr(b, rnd_below(3));
			break;
		default:
			put_msg_attr(b, rnd_range(0, 20), T_MIXED);
			break;
		}
		nb_msg_end(&b->buf, off);
		break;
	case C_ATTR_UNKNOWN:
		off = begin(b, NLM_F_REQUEST, cmd);
		if (chance(50))
			put_valid_body(b, cmd);
		len = rnd_range(0, 12);
		gen_text(scratch, len, T_BINARY);
		nb_attr(&b->buf, bad_attr_type(cmd) |
			(chance(10) ? NLA_F_NESTED : 0), scratch, len);
		if (chance(50))
			put_valid_body(b, cmd);
		nb_msg_end(&b->buf, off);
		break;
	case C_ATTR_NESTED:
		off = begin(b, NLM_F_REQUEST, cmd);
		if (chance(60)) {
			/* a known attribute flagged as a nest */
			size_t hdr = b->buf.len;
			uint16_t t;

			if (cmd == GENL_ECHO_CMD_SET_CASE)
				put_mode_attr(b, rnd_below(3));
			else
				put_msg_attr(b, rnd_range(0, 30), T_MIXED);
			memcpy(&t, b->buf.data + hdr + 2, 2);
			t |= NLA_F_NESTED;
			memcpy(b->buf.data + hdr + 2, &t, 2);
		} else {
			/* a nest of garbage under some type */
			size_t hdr = b->buf.len;
			uint16_t nla_len, t = rnd_below(12) | NLA_F_NESTED;

			nb_reserve(&b->buf, NLA_HDRLEN);
			put_random_nest(b, 0);
			nla_len = b->buf.len - hdr;
			memcpy(b->buf.data + hdr, &nla_len, 2);
			memcpy(b->buf.data + hdr + 2, &t, 2);
		}
		nb_msg_end(&b->buf, off);
		break;
	case C_ATTR_BYTEORDER: {
		size_t hdr;
		uint16_t t;

		cmd = chance(50) ? GENL_ECHO_CMD_ECHO : GENL_ECHO_CMD_SET_CASE;
		off = begin(b, NLM_F_REQUEST, cmd);
		hdr = b->buf.len;
		put_valid_body(b, cmd);
		memcpy(&t, b->buf.data + hdr + 2, 2);
		t |= NLA_F_NET_BYTEORDER;
		memcpy(b->buf.data + hdr + 2, &t, 2);
		nb_msg_end(&b->buf, off);
		break;
	}
	case C_NLA_LEN_LIE: {
		size_t hdr;
		uint16_t nla_len, plen;

		cmd = chance(70) ? GENL_ECHO_CMD_ECHO : GENL_ECHO_CMD_SET_CASE;
		off = begin(b, NLM_F_REQUEST, cmd);
		if (chance(30))
			put_valid_body(b, cmd);
		hdr = b->buf.len;
		put_valid_body(b, cmd);
		memcpy(&nla_len, b->buf.data + hdr, 2);
		plen = nla_len - NLA_HDRLEN;
		switch (rnd_below(4)) {
		case 0:		/* below the header size */
			nla_len = rnd_below(NLA_HDRLEN);
			break;
		case 1:		/* past the end of the message */
			nla_len += rnd_range(NL_ALIGN4(nla_len) - nla_len + 1,
					     NL_ALIGN4(nla_len) - nla_len + 64);
			break;
		case 2:		/* 0xffff */
			nla_len = 0xffff;
			break;
		default:	/* shorter than the payload */
			if (plen)
				nla_len -= rnd_range(1, plen);
			break;
		}
		memcpy(b->buf.data + hdr, &nla_len, 2);
		if (chance(30))
			put_valid_body(b, cmd);
		nb_msg_end(&b->buf, off);
		break;
	}
	case C_TRAILING_BYTES:
		off = begin(b, NLM_F_REQUEST, cmd);
		put_valid_body(b, cmd);
		len = rnd_range(1, 3);
		gen_text(scratch, len, T_BINARY);
		nb_put(&b->buf, scratch, len);
		nb_msg_end(&b->buf, off);
		break;
	case C_CMD_UNKNOWN:
		switch (rnd_below(4)) {
		case 0:
			cmd = GENL_ECHO_CMD_UNSPEC;
			break;
		case 1:
			cmd = GENL_ECHO_CMD_CASE_NTF;
			break;
		case 2:
			cmd = GENL_ECHO_CMD_MAX + 1;
			break;
		default:
			cmd = rnd_range(GENL_ECHO_CMD_MAX + 1, 255);
			break;
		}
		off = begin(b, NLM_F_REQUEST | (chance(20) ? NLM_F_ACK : 0), cmd);
		if (chance(50))
			put_msg_attr(b, rnd_range(0, 20), T_MIXED);
		nb_msg_end(&b->buf, off);
		break;
	case C_GENL_VERSION:
		off = valid_msg(b, NLM_F_REQUEST, cmd);
		b->buf.data[off + NL_HDRLEN + 1] =
			chance(50) ? 0 : rnd_range(GENL_ECHO_FAMILY_VERSION + 1, 255);
		break;
	case C_DUMP_FLAG:
		off = valid_msg(b, NLM_F_REQUEST | NLM_F_DUMP |
				(chance(30) ? NLM_F_ACK : 0), cmd);
		break;
	case C_RESERVED_NONZERO:
		off = valid_msg(b, NLM_F_REQUEST, cmd);
		v = rnd_range(1, 0xffff);
		memcpy(b->buf.data + off + NL_HDRLEN + 2, &v, 2);
		break;
	case C_FLAGS_NOISE: {
		uint16_t f;

		/* at least one flag beyond REQUEST, ACK and ECHO; not a dump */
		do {
			f = (rnd() & 0xfffe) & ~NLM_F_ACK;
		} while ((f & NLM_F_DUMP) == NLM_F_DUMP || !(f & ~NLM_F_ECHO));
		off = valid_msg(b, NLM_F_REQUEST | f, cmd);
		break;
	}
	case C_ACK_FLAG:
		off = valid_msg(b, NLM_F_REQUEST | NLM_F_ACK, cmd);
		break;
	case C_NO_REQUEST_FLAG:
		off = valid_msg(b, chance(50) ? NLM_F_ACK : 0, cmd);
		break;
	case C_CONTROL_TYPE:
		off = valid_msg(b, NLM_F_REQUEST | (chance(50) ? NLM_F_ACK : 0),
				cmd);
		set_hdr_type(b, off, rnd_below(NLMSG_MIN_TYPE));
		break;
	case C_FAMILY_UNKNOWN:
		off = valid_msg(b, NLM_F_REQUEST | (chance(30) ? NLM_F_ACK : 0),
				cmd);
		set_hdr_type(b, off, rnd_range(FIRST_UNUSED_FAMILY_ID, 0xffff));
		break;
	case C_GENL_HDR_TRUNCATED:
		/* nlmsg_len covers 0..3 bytes of the genetlink header; with 0
		 * the message is just the netlink header
		 */
		off = begin(b, NLM_F_REQUEST | (chance(30) ? NLM_F_ACK : 0), cmd);
		len = rnd_below(GENL_HDRLEN);
		if (!len)
			b->buf.len -= GENL_HDRLEN;
		set_hdr_len(b, off, NL_HDRLEN + len);
		break;
	case C_RANDOM_TLV: {
		int i, n = rnd_range(0, 6);

		off = begin(b, NLM_F_REQUEST, cmd);
		for (i = 0; i < n; i++) {
			uint16_t t = chance(50) ? rnd_range(0, 5) : rnd_below(0x4000);

			if (chance(10))
				t |= NLA_F_NESTED;
			if (chance(5))
				t |= NLA_F_NET_BYTEORDER;
			if (chance(40) && (t & NLA_TYPE_MASK) == GENL_ECHO_A_MSG)
				put_msg_attr(b, rnd_range(0, 50), gen_style());
			else if (chance(40) && (t & NLA_TYPE_MASK) == GENL_ECHO_A_MODE)
				put_mode_attr(b, rnd_below(4));
			else
				put_random_payload_attr(b, t, 0);
		}
		if (chance(10)) {
			len = rnd_range(1, 3);
			gen_text(scratch, len, T_BINARY);
			nb_put(&b->buf, scratch, len);
		}
		nb_msg_end(&b->buf, off);
		break;
	}
	default:
		die("%s: category %d", __func__, cat);
	}
	unit_add(b, off, cat);
}

/* len_swallow: nlmsg_len also covers the next 1..3 units, which the kernel
 * then parses as this message's attributes.
 */
static void gen_swallow(struct batch *b)
{
	int i, n = rnd_range(1, 3), first;
	size_t off;
	uint8_t cmd = gen_cmd();

	off = valid_msg(b, NLM_F_REQUEST | (chance(20) ? NLM_F_ACK : 0), cmd);
	unit_add(b, off, C_LEN_SWALLOW);
	first = b->n_units;
	for (i = 0; i < n && (!i || b->buf.len < BATCH_BYTES_MAX / 2); i++) {
		int c;

		do {
			c = pick_cat(false);
		} while (c == C_LEN_SWALLOW);
		gen_simple(b, c);
	}
	nb_pad4(&b->buf);
	set_hdr_len(b, off, b->buf.len - off);
	b->units[first - 1].len = b->buf.len - off;
}

/* len_short_lie: nlmsg_len ends before the message does; the kernel goes on
 * at the aligned end of the claimed length, where the sender left letters
 * (a "length" far beyond the batch: the walk ends), another message
 * (smuggled: it is processed) or less than a header (the walk ends).
 */
static void gen_short_lie(struct batch *b)
{
	size_t off, plen, cut, at;
	uint8_t cmd;

	switch (rnd_below(3)) {
	case 0: {
		/* an ECHO of letters, cut inside MSG */
		plen = rnd_range(8, 2000);
		off = begin(b, NLM_F_REQUEST | (chance(20) ? NLM_F_ACK : 0),
			    GENL_ECHO_CMD_ECHO);
		put_msg_attr(b, plen, chance(50) ? T_LOWER : T_MIXED);
		nb_msg_end(&b->buf, off);
		/* resume at off + ALIGN(cut): 4 letters there */
		cut = rnd_range(NL_GENL_HDRLEN + 1,
				(NL_GENL_HDRLEN + plen) & ~3U);
		set_hdr_len(b, off, cut);
		break;
	}
	case 1:
		/* no attributes visible: ECHO/SET_CASE refused by the handler,
		 * GET_CASE/STATS answered; the attributes follow as a "header"
		 * whose length is beyond the end of the batch
		 */
		cmd = gen_cmd();
		off = begin(b, NLM_F_REQUEST | (chance(20) ? NLM_F_ACK : 0), cmd);
		if (cmd == GENL_ECHO_CMD_ECHO || cmd == GENL_ECHO_CMD_SET_CASE)
			put_valid_body(b, cmd);
		nb_msg_end(&b->buf, off);
		set_hdr_len(b, off, NL_GENL_HDRLEN);
		break;
	default: {
		/* an ECHO whose MSG payload carries a whole second message */
		struct nl_buf inner;
		size_t ioff, pre = 4 * rnd_range(0, 8);
		uint16_t nla_len;

		nb_init(&inner, 256);
		cmd = gen_cmd();
		ioff = nb_genl_begin(&inner, S.m.fid,
				     NLM_F_REQUEST | (chance(30) ? NLM_F_ACK : 0),
				     S.seq++, cmd, GENL_ECHO_FAMILY_VERSION, 0);
		if (chance(20))
			buf_valid_body(&inner, cmd, 256);
		else if (cmd == GENL_ECHO_CMD_ECHO)
			nb_attr_str(&inner, GENL_ECHO_A_MSG, "smuggled");
		else if (cmd == GENL_ECHO_CMD_SET_CASE)
			nb_attr_u32(&inner, GENL_ECHO_A_MODE, rnd_below(3));
		nb_msg_end(&inner, ioff);
		off = begin(b, NLM_F_REQUEST, GENL_ECHO_CMD_ECHO);
		at = b->buf.len;
		nb_reserve(&b->buf, NLA_HDRLEN);
		gen_text(nb_reserve(&b->buf, pre), pre, T_LOWER);
		cut = b->buf.len - off;
		nb_put(&b->buf, inner.data, inner.len);
		nb_reserve(&b->buf, 1);
		nla_len = b->buf.len - at;
		memcpy(b->buf.data + at, &nla_len, 2);
		memcpy(b->buf.data + at + 2, &(uint16_t){ GENL_ECHO_A_MSG }, 2);
		nb_pad4(&b->buf);
		nb_free(&inner);
		/* claim only up to the inner message; sometimes a bit less,
		 * still aligned to the same place
		 */
		set_hdr_len(b, off, cut - (chance(50) ? rnd_below(4) : 0));
		break;
	}
	}
	unit_add(b, off, C_LEN_SHORT_LIE);
}

static void gen_terminal(struct batch *b, int cat)
{
	size_t off, len;

	switch (cat) {
	case C_NL_HDR_TRUNCATED:
		nb_pad4(&b->buf);
		off = b->buf.len;
		/* (an empty send() is refused with ENODATA) */
		len = rnd_range(1, NL_HDRLEN - 1);
		gen_text(nb_reserve(&b->buf, len), len, T_BINARY);
		if (len >= 6 && chance(50))	/* looks like ours */
			set_hdr_type(b, off, S.m.fid);
		unit_add(b, off, cat);
		break;
	case C_LEN_TOO_LONG:
		off = valid_msg(b, NLM_F_REQUEST | (chance(30) ? NLM_F_ACK : 0),
				gen_cmd());
		set_hdr_len(b, off, b->buf.len - off +
			    (chance(20) ? rnd_range(1, 3) :
			     chance(50) ? rnd_range(4, 4096) :
			     rnd_range(4096, UINT32_MAX - 262144)));
		unit_add(b, off, cat);
		break;
	case C_LEN_TOO_SHORT:
		off = valid_msg(b, NLM_F_REQUEST | (chance(30) ? NLM_F_ACK : 0),
				gen_cmd());
		set_hdr_len(b, off, rnd_below(NL_HDRLEN));
		unit_add(b, off, cat);
		break;
	case C_LEN_SHORT_LIE:
		gen_short_lie(b);
		break;
	default:
		die("%s: category %d", __func__, cat);
	}
}

static void gen_unit(struct batch *b, int cat)
{
	if (cat == C_LEN_SWALLOW)
		gen_swallow(b);
	else if (cat >= C_FIRST_TERMINAL)
		gen_terminal(b, cat);
	else
		gen_simple(b, cat);
}

static int gen_batch_size(void)
{
	uint32_t r = rnd_below(100);

	if (r < 50)
		return 1;
	if (r < 80)
		return rnd_range(2, 8);
	if (r < 95)
		return rnd_range(9, 32);
	return rnd_range(33, BATCH_UNITS_MAX);
}

static void gen_batch(struct batch *b, uint64_t left)
{
	int want = gen_batch_size(), i;

	nb_reset(&b->buf);
	nb_reset(&b->arena);
	b->n_units = 0;
	b->n_exp = 0;
	if ((uint64_t)want > left)
		want = left;
	for (i = 0; i < want && b->buf.len < BATCH_BYTES_MAX - 70000; i++) {
		int cat = pick_cat(true);

		gen_unit(b, cat);
		if (cat >= C_FIRST_TERMINAL)
			break;
	}
	b->sock = chance(80) ? &S.sa : &S.sb;
}

/* -- checking responses ---------------------------------------------------- */

static void check_quoted(const struct expect *e, const struct nl_err *ne)
{
	if (memcmp(ne->orig, &e->req, sizeof(e->req)))
		fail("%s: quoted request header differs (len %u/%u type %u/%u "
		     "seq %u/%u)", cats[e->cat].name, ne->orig->nlmsg_len,
		     e->req.nlmsg_len, ne->orig->nlmsg_type, e->req.nlmsg_type,
		     ne->orig->nlmsg_seq, e->req.nlmsg_seq);
}

static void check_err(const struct expect *e, const struct batch *b,
		      const struct nlmsghdr *nh)
{
	bool ext = b->sock->flags & NL_O_EXT_ACK;
	bool cap = b->sock->flags & NL_O_CAP_ACK;
	struct nl_err ne;

	if (nh->nlmsg_type != NLMSG_ERROR)
		fail("%s: expected %s, got a message of type %u (seq %u)",
		     cats[e->cat].name,
		     e->kind == EXP_ACK ? "an ACK" : errno_name(e->err),
		     nh->nlmsg_type, nh->nlmsg_seq);
	if (nl_parse_err(nh, &ne)) {
		hexdump("error message", (const uint8_t *)nh, nh->nlmsg_len);
		fail("%s: malformed NLMSG_ERROR", cats[e->cat].name);
	}
	if (nh->nlmsg_seq != e->req.nlmsg_seq ||
	    nh->nlmsg_pid != b->sock->portid)
		fail("%s: error/ack seq %u pid %u, expected %u %u",
		     cats[e->cat].name, nh->nlmsg_seq, nh->nlmsg_pid,
		     e->req.nlmsg_seq, b->sock->portid);
	check_quoted(e, &ne);
	if (e->kind == EXP_ACK) {
		if (ne.error)
			fail("%s: expected an ACK, got %s%s%s", cats[e->cat].name,
			     errno_name(ne.error), ne.msg ? ": " : "",
			     ne.msg ? ne.msg : "");
		if (!ne.capped)
			fail("%s: ACK not capped", cats[e->cat].name);
		return;
	}
	if (ne.error != e->err)
		fail("%s: expected %s, got %s%s%s (offs %d)", cats[e->cat].name,
		     errno_name(e->err), errno_name(ne.error),
		     ne.msg ? ": " : "", ne.msg ? ne.msg : "",
		     ne.has_offs ? (int)ne.offs : -1);
	if (ne.capped != cap)
		fail("%s: NLM_F_CAPPED %d on a socket with CAP_ACK %d",
		     cats[e->cat].name, ne.capped, cap);
	if (!cap) {
		size_t plen = e->req.nlmsg_len - NL_HDRLEN;

		if (ne.orig_payload_len != plen ||
		    memcmp(ne.orig_payload, b->buf.data + e->msg_off + NL_HDRLEN,
			   plen))
			fail("%s: quoted request payload differs",
			     cats[e->cat].name);
	}
	if (ne.has_tlvs && !ext)
		fail("%s: extended ACK TLVs without NETLINK_EXT_ACK",
		     cats[e->cat].name);
	if (!ext)
		return;
	if (e->offs >= 0 && (!ne.has_offs || ne.offs != (uint32_t)e->offs))
		fail("%s: %s with extack offset %d, expected %d (%s)",
		     cats[e->cat].name, errno_name(ne.error),
		     ne.has_offs ? (int)ne.offs : -1, e->offs,
		     ne.msg ? ne.msg : "no message");
	if (e->offs < 0 && ne.has_offs)
		fail("%s: unexpected extack offset %u (%s)", cats[e->cat].name,
		     ne.offs, ne.msg ? ne.msg : "no message");
	if (e->miss_type >= 0 &&
	    (!ne.has_miss_type || ne.miss_type != (uint32_t)e->miss_type))
		fail("%s: missing-attribute type %d, expected %d",
		     cats[e->cat].name,
		     ne.has_miss_type ? (int)ne.miss_type : -1, e->miss_type);
	if (e->miss_type < 0 && ne.has_miss_type)
		fail("%s: unexpected missing-attribute type %u",
		     cats[e->cat].name, ne.miss_type);
	if (ne.has_offs && ne.offs >= e->req.nlmsg_len)
		fail("%s: extack offset %u beyond the request (%u bytes)",
		     cats[e->cat].name, ne.offs, e->req.nlmsg_len);
}

static void check_u64(const struct expect *e, const struct nlattr *a,
		      uint64_t want, const char *name)
{
	uint64_t v;

	if (!nla_get_u64_checked(a, &v))
		fail("%s: STATS reply without a valid %s", cats[e->cat].name,
		     name);
	if (v != want)
		fail("%s: STATS %s = %" PRIu64 ", model says %" PRIu64,
		     cats[e->cat].name, name, v, want);
}

static void check_reply(const struct expect *e, const struct batch *b,
			const struct nlmsghdr *nh)
{
	const struct nlattr *tb[GENL_ECHO_A_MAX + 1];
	const struct genlmsghdr *gh;
	const uint8_t *attrs;
	size_t alen, off, want_len;
	unsigned int n = 0, i;
	uint32_t v;

	if (nh->nlmsg_type == NLMSG_ERROR) {
		struct nl_err ne;

		nl_parse_err(nh, &ne);
		fail("%s: expected a reply to cmd %u, got %s%s%s",
		     cats[e->cat].name, e->cmd, errno_name(ne.error),
		     ne.msg ? ": " : "", ne.msg ? ne.msg : "");
	}
	if (nh->nlmsg_type != S.m.fid || nh->nlmsg_flags ||
	    nh->nlmsg_seq != e->req.nlmsg_seq ||
	    nh->nlmsg_pid != b->sock->portid || nh->nlmsg_len < NL_GENL_HDRLEN)
		fail("%s: bad reply header type %u flags %#x seq %u/%u pid %u "
		     "len %u", cats[e->cat].name, nh->nlmsg_type,
		     nh->nlmsg_flags, nh->nlmsg_seq, e->req.nlmsg_seq,
		     nh->nlmsg_pid, nh->nlmsg_len);
	gh = (const struct genlmsghdr *)((const uint8_t *)nh + NL_HDRLEN);
	if (gh->cmd != e->cmd || gh->version != GENL_ECHO_FAMILY_VERSION ||
	    gh->reserved)
		fail("%s: reply genl header cmd %u version %u reserved %u",
		     cats[e->cat].name, gh->cmd, gh->version, gh->reserved);
	attrs = (const uint8_t *)nh + NL_GENL_HDRLEN;
	alen = nh->nlmsg_len - NL_GENL_HDRLEN;
	if (nl_attr_parse(attrs, alen, tb, GENL_ECHO_A_MAX))
		fail("%s: malformed reply attributes", cats[e->cat].name);
	for (off = 0; off < alen; n++)
		off += NL_ALIGN4(((const struct nlattr *)(attrs + off))->nla_len);
	for (i = 0; i <= GENL_ECHO_A_MAX; i++)
		if (tb[i] && (tb[i]->nla_type & ~NLA_TYPE_MASK))
			fail("%s: reply attribute %u has flags",
			     cats[e->cat].name, i);
	if (!nla_get_u32_checked(tb[GENL_ECHO_A_MODE], &v) || v != e->mode)
		fail("%s: reply MODE %d, expected %u", cats[e->cat].name,
		     tb[GENL_ECHO_A_MODE] ? (int)v : -1, e->mode);

	switch (e->cmd) {
	case GENL_ECHO_CMD_ECHO: {
		const struct nlattr *a = tb[GENL_ECHO_A_MSG];

		want_len = NL_GENL_HDRLEN + NL_ALIGN4(NLA_HDRLEN + e->text_len + 1)
			   + NLA_HDRLEN + 4;
		if (n != 2 || !a || nla_plen(a) != e->text_len + 1 ||
		    nla_payload(a)[e->text_len] ||
		    memcmp(nla_payload(a), b->arena.data + e->text_off,
			   e->text_len))
			fail("%s: ECHO reply text differs from the model (mode "
			     "%u, %zu bytes)", cats[e->cat].name, e->mode,
			     e->text_len);
		if (nh->nlmsg_len != want_len)
			fail("%s: ECHO reply of %u bytes, expected %zu",
			     cats[e->cat].name, nh->nlmsg_len, want_len);
		break;
	}
	case GENL_ECHO_CMD_SET_CASE:
		if (n != 2 ||
		    !nla_get_u32_checked(tb[GENL_ECHO_A_PREV_MODE], &v) ||
		    v != e->prev)
			fail("%s: SET_CASE reply PREV_MODE differs (expected %u)",
			     cats[e->cat].name, e->prev);
		break;
	case GENL_ECHO_CMD_GET_CASE:
		if (n != 1)
			fail("%s: GET_CASE reply with %u attributes",
			     cats[e->cat].name, n);
		break;
	case GENL_ECHO_CMD_STATS:
		check_u64(e, tb[GENL_ECHO_A_STATS_ECHO_REQUESTS],
			  e->st.echo_requests, "echo_requests");
		check_u64(e, tb[GENL_ECHO_A_STATS_ECHO_BYTES],
			  e->st.echo_bytes, "echo_bytes");
		check_u64(e, tb[GENL_ECHO_A_STATS_CHARS_CONVERTED],
			  e->st.chars_converted, "chars_converted");
		check_u64(e, tb[GENL_ECHO_A_STATS_MODE_CHANGES],
			  e->st.mode_changes, "mode_changes");
		check_u64(e, tb[GENL_ECHO_A_STATS_REJECTED],
			  e->st.rejected, "rejected");
		break;
	}
}

static void check_one(const struct expect *e, const struct batch *b,
		      const struct nlmsghdr *nh)
{
	struct cat_count *c = cc_of(e->cat);

	if (S.trace)
		fprintf(stderr, "  resp seq %u type %u len %u -> %s\n",
			nh->nlmsg_seq, nh->nlmsg_type, nh->nlmsg_len,
			cats[e->cat].name);
	switch (e->kind) {
	case EXP_REPLY:
		check_reply(e, b, nh);
		S.replies++;
		c->ok++;
		break;
	case EXP_ACK:
		check_err(e, b, nh);
		S.acks++;
		/* an ACK after a reply is not an extra outcome */
		if (e == b->exp || e[-1].msg_off != e->msg_off)
			c->ack++;
		break;
	case EXP_ERR:
		check_err(e, b, nh);
		S.errors++;
		S.errnos[e->err]++;
		c->err++;
		break;
	}
}

static void run_batch(struct batch *b)
{
	struct nl_sock *s = b->sock;
	int i = 0, err;
	long n;

	model_batch(b);
	if (S.trace)
		fprintf(stderr, "batch %" PRIu64 ": %d units, %zu bytes, %d "
			"responses expected, socket %s\n", S.batch_no,
			b->n_units, b->buf.len, b->n_exp,
			s == &S.sa ? "ext-ack" : "plain");
	err = nl_send(s, b->buf.data, b->buf.len);
	if (err)
		fail("send() of %zu bytes: %s", b->buf.len, strerror(-err));
	S.sends++;
	S.bytes_sent += b->buf.len;
	if ((uint64_t)b->n_units > S.max_batch)
		S.max_batch = b->n_units;
	if (b->n_units > 1)
		S.batches_multi++;

	while (i < b->n_exp) {
		const struct nlmsghdr *nh;
		size_t off = 0;

		n = nl_recv(s, S.timeout_ms);
		if (n == 0)
			fail("no response within %d ms: %d of %d received "
			     "(waiting for %s, seq %u)", S.timeout_ms, i,
			     b->n_exp, cats[b->exp[i].cat].name,
			     b->exp[i].req.nlmsg_seq);
		if (n < 0)
			fail("recv: %s", strerror(-n));
		while ((nh = nl_next(s->rbuf, n, &off, &err))) {
			if (i >= b->n_exp) {
				hexdump("unexpected", (const uint8_t *)nh,
					nh->nlmsg_len);
				fail("unexpected extra response (type %u seq %u)",
				     nh->nlmsg_type, nh->nlmsg_seq);
			}
			check_one(&b->exp[i++], b, nh);
			S.responses++;
		}
		if (err)
			fail("malformed datagram of %ld bytes", n);
	}
	/* the kernel answers within send(): nothing may be left over */
	n = nl_recv(s, 0);
	if (n != -EAGAIN) {
		if (n > 0)
			hexdump("unexpected", s->rbuf, n);
		fail("unexpected response after the batch (%ld)", n);
	}
}

/* -- set-up ---------------------------------------------------------------- */

/* Which commands does the kernel check the reserved byte of? They are the
 * commands at or above the family's resv_start_op.
 */
static void probe_resv_start_op(void)
{
	bool checked[GENL_ECHO_CMD_MAX + 2];
	unsigned int c, first = 0;
	struct nl_buf b;

	nb_init(&b, 128);
	for (c = 0; c <= GENL_ECHO_CMD_MAX + 1; c++) {
		const struct nlmsghdr *reply;
		size_t off;
		int err;

		nb_reset(&b);
		off = nb_genl_begin(&b, S.m.fid, NLM_F_REQUEST, S.sa.seq++, c,
				    GENL_ECHO_FAMILY_VERSION, 1);
		if (c == GENL_ECHO_CMD_ECHO)
			nb_attr_str(&b, GENL_ECHO_A_MSG, "");
		else if (c == GENL_ECHO_CMD_SET_CASE)
			nb_attr_u32(&b, GENL_ECHO_A_MODE, S.m.mode);
		nb_msg_end(&b, off);
		err = genl_transact(&S.sa, &b, &reply, S.timeout_ms);
		if (c >= GENL_ECHO_CMD_ECHO && c <= GENL_ECHO_CMD_STATS) {
			if (err && err != -EINVAL)
				die("probe of cmd %u: %s", c, strerror(-err));
			checked[c] = err == -EINVAL;
		} else {
			if (err != -EINVAL && err != -EOPNOTSUPP)
				die("probe of cmd %u: %s", c, strerror(-err));
			checked[c] = err == -EINVAL;
		}
	}
	nb_free(&b);
	while (first <= GENL_ECHO_CMD_MAX + 1 && !checked[first])
		first++;
	for (c = first; c <= GENL_ECHO_CMD_MAX + 1; c++)
		if (!checked[c])
			die("reserved-byte checks are not monotonic in cmd "
			    "(cmd %u unchecked, %u checked)", c, first);
	if (first > GENL_ECHO_CMD_MAX + 1)
		die("no command has its reserved byte checked: resv_start_op "
		    "beyond %u is not modelled", GENL_ECHO_CMD_MAX + 1);
	S.m.resv_start_op = first;
}

static void read_stats(struct genl_echo_stats *st)
{
	int err = ge_stats(&S.sa, S.m.fid, st, S.timeout_ms);

	if (err)
		die("STATS: %s", strerror(-err));
}

/* -- summary --------------------------------------------------------------- */

/* now: the final STATS, or NULL if the run stopped early */
static void print_summary(const struct genl_echo_stats *now)
{
	bool first = true;
	size_t i;
	int c;

	printf("{\"tool\":\"genl_fuzz\",\"result\":\"%s\",\"seed\":%" PRIu64
	       ",\"count\":%" PRIu64 ",\"units\":%" PRIu64 ",\"sends\":%" PRIu64
	       ",\"batches_multi\":%" PRIu64 ",\"max_batch\":%" PRIu64
	       ",\"bytes_sent\":%" PRIu64 ",\"kernel_messages\":%" PRIu64
	       ",\"responses\":%" PRIu64 ",\"replies\":%" PRIu64
	       ",\"acks\":%" PRIu64 ",\"errors\":%" PRIu64
	       ",\"resv_start_op\":%u",
	       S.failure ? "fail" : "pass", S.seed, S.count, S.units, S.sends,
	       S.batches_multi, S.max_batch, S.bytes_sent, S.kmsgs,
	       S.responses, S.replies, S.acks, S.errors, S.m.resv_start_op);
	printf(",\"errno\":{");
	for (i = 1; i < ARRAY_SIZE(S.errnos); i++) {
		if (!S.errnos[i])
			continue;
		printf("%s\"%s\":%" PRIu64, first ? "" : ",", errno_name(i),
		       S.errnos[i]);
		first = false;
	}
	printf("},\"expected\":{\"echo_requests\":%" PRIu64
	       ",\"echo_bytes\":%" PRIu64 ",\"chars_converted\":%" PRIu64
	       ",\"mode_changes\":%" PRIu64 ",\"rejected\":%" PRIu64 "}",
	       S.m.st.echo_requests - S.base.echo_requests,
	       S.m.st.echo_bytes - S.base.echo_bytes,
	       S.m.st.chars_converted - S.base.chars_converted,
	       S.m.st.mode_changes - S.base.mode_changes,
	       S.m.st.rejected - S.base.rejected);
	if (now)
		printf(",\"observed\":{\"echo_requests\":%" PRIu64
		       ",\"echo_bytes\":%" PRIu64 ",\"chars_converted\":%" PRIu64
		       ",\"mode_changes\":%" PRIu64 ",\"rejected\":%" PRIu64 "}",
		       now->echo_requests - S.base.echo_requests,
		       now->echo_bytes - S.base.echo_bytes,
		       now->chars_converted - S.base.chars_converted,
		       now->mode_changes - S.base.mode_changes,
		       now->rejected - S.base.rejected);
	printf(",\"categories\":{");
	for (c = 0; c < C_COUNT; c++) {
		const struct cat_count *k = &S.cc[c];

		printf("%s\"%s\":{\"units\":%" PRIu64 ",\"ok\":%" PRIu64
		       ",\"err\":%" PRIu64 ",\"ack\":%" PRIu64
		       ",\"silent\":%" PRIu64 ",\"unseen\":%" PRIu64
		       ",\"rejected\":%" PRIu64 "}", c ? "," : "", cats[c].name,
		       k->units, k->ok, k->err, k->ack, k->silent, k->unseen,
		       k->rejected);
	}
	printf("},\"seconds\":%.3f}\n", now_sec() - S.seconds_start);
	fflush(stdout);
}

static void print_usage(void)
{
	fprintf(stderr,
		"usage: genl_fuzz [--seed N] [--count N] [--timeout-ms N] "
		"[--trace]\n"
		"                 [--resv-start-op N] [--skew-rejected]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "trace", no_argument, NULL, 'T' },
		{ "resv-start-op", required_argument, NULL, 'r' },
		{ "skew-rejected", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct genl_echo_stats end;
	struct batch b = { 0 };
	int opt, err;

	S.seed = 1;
	S.count = 100000;
	S.timeout_ms = 10000;
	S.resv_override = -1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			S.seed = parse_u64("--seed", optarg);
			break;
		case 'c':
			S.count = parse_u64("--count", optarg);
			break;
		case 't':
			S.timeout_ms = parse_u64("--timeout-ms", optarg);
			break;
		case 'T':
			S.trace = true;
			break;
		case 'r':
			S.resv_override = parse_u64("--resv-start-op", optarg);
			if (S.resv_override > 255)
				print_usage();
			break;
		case 'k':
			S.skew_rejected = true;
			break;
		default:
			print_usage();
		}
	}
	if (optind != argc)
		print_usage();
	S.seconds_start = now_sec();
	rng.s = S.seed;
	scratch = xmalloc(MSG_STR_MAX + 64);

	err = nl_open(&S.sa, NL_O_EXT_ACK | NL_O_CAP_ACK, SOCK_BUF, SOCK_BUF);
	if (!err)
		err = nl_open(&S.sb, 0, SOCK_BUF, SOCK_BUF);
	if (err)
		die("netlink socket: %s", strerror(-err));
	err = genl_resolve(&S.sa, GENL_ECHO_FAMILY_NAME, &S.m.fid, S.timeout_ms);
	if (err)
		die("resolving %s: %s", GENL_ECHO_FAMILY_NAME, strerror(-err));
	read_stats(&S.base);
	S.m.mode = S.base.mode;
	if (S.resv_override >= 0)
		S.m.resv_start_op = S.resv_override;
	else
		probe_resv_start_op();
	/* the probes may have echoed: start the model from here */
	read_stats(&S.base);
	S.m.st = S.base;
	S.m.mode = S.base.mode;
	if (S.skew_rejected)
		S.m.st.rejected++;
	/* SET_CASE must work, or the model is wrong from the first one */
	err = ge_set_case(&S.sa, S.m.fid, S.m.mode, &(uint32_t){ 0 },
			  S.timeout_ms);
	if (err)
		die("SET_CASE: %s (needs CAP_NET_ADMIN)", strerror(-err));
	S.seq = 0x10000;

	nb_init(&b.buf, BATCH_BYTES_MAX + 70000);
	nb_init(&b.arena, BATCH_BYTES_MAX + 70000);
	while (S.units < S.count) {
		S.batch_no++;
		gen_batch(&b, S.count - S.units);
		run_batch(&b);
	}

	read_stats(&end);
	if (end.echo_requests != S.m.st.echo_requests ||
	    end.echo_bytes != S.m.st.echo_bytes ||
	    end.chars_converted != S.m.st.chars_converted ||
	    end.mode_changes != S.m.st.mode_changes ||
	    end.rejected != S.m.st.rejected || end.mode != S.m.mode) {
		fprintf(stderr, "genl_fuzz: FAIL (seed %" PRIu64 "): final "
			"STATS differ from the model\n", S.seed);
		S.failure = "counters";
		print_summary(&end);
		return 1;
	}
	print_summary(&end);
	return 0;
}
