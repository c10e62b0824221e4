// SPDX-License-Identifier: GPL-2.0
/*
 * genl_stress - concurrent ECHO clients against mode flippers, with exact
 * counter accounting; or, with --until-error, a load generator that runs
 * until the genl_echo family disappears (module unload tests).
 *
 *   genl_stress [--threads N] [--count M] [--flippers K] [--min-flips F]
 *               [--max-len L] [--seed S] [--timeout-ms T] [--ready-file PATH]
 *   genl_stress --until-error [--threads N] [--flippers K] [--max-len L]
 *               [--seed S] [--timeout-ms T] [--max-seconds S]
 *               [--ready-file PATH]
 *
 * Default mode: N threads (8), each on its own socket, send M (20000) ECHO
 * requests one at a time, each a random string of upper and lower case
 * letters (1..L bytes, L 256); K threads (1) set the mode to random values
 * until the echo threads are done (and at least F times). Every ECHO reply
 * must be the input converted under the reply's MODE, exactly: never half
 * one mode and half another. At the end the STATS deltas must equal what
 * was sent: echo_requests = N*M, echo_bytes = the bytes sent,
 * chars_converted = the letters changed under each reply's mode,
 * mode_changes = the SET_CASE replies whose PREV_MODE differed from the
 * mode set, rejected = 0. With one flipper, each SET_CASE's PREV_MODE must
 * also be the mode the previous one set. Nothing else may use the family in
 * the network namespace meanwhile.
 *
 * --until-error: the same clients (and flippers), with no count, until a
 * request fails. A failure is clean when the family is gone: ENOENT (or
 * EOPNOTSUPP) from the request and then ENOENT when the family id is looked
 * up (by id: that never autoloads the module), or ENOENT when resolving the
 * name at start. Anything else (a wrong reply, a timeout, another errno,
 * the family still there after --max-seconds) is unexpected.
 *
 * --ready-file PATH (both modes) is created once every thread has had one
 * successful reply, so that a test can act while the load is running.
 *
 * Exit status 0 if everything matched (or every failure was clean), 1 if
 * not, 2 on usage or set-up errors. Prints one JSON line.
 */
#include "nl.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_WORKERS	256

static struct {
	unsigned int threads;
	uint64_t count;
	unsigned int flippers;
	uint64_t min_flips;
	size_t max_len;
	uint64_t seed;
	int timeout_ms;
	bool until_error;
	double max_seconds;
	const char *ready_file;
} O = {
	.threads = 8,
	.count = 20000,
	.flippers = 1,
	.max_len = 256,
	.seed = 1,
	.timeout_ms = 10000,
	.max_seconds = 300,
};

static atomic_bool echoes_done;
static atomic_bool stop_all;
static atomic_uint ready_count;
static double t_start;

enum outcome {
	OUT_DONE,	/* count reached, or stopped by another thread */
	OUT_CLEAN,	/* --until-error: the family went away */
	OUT_FAIL,	/* anything unexpected */
};

struct worker {
	pthread_t tid;
	unsigned int idx;
	bool flipper;
	struct rng rng;
	struct nl_sock sock;
	uint16_t fid;
	bool ready;
	enum outcome outcome;
	char why[256];
	int clean_errno;	/* the errno that ended an --until-error run */
	/* echo threads */
	uint64_t echoes, bytes, converted;
	uint64_t by_mode[GENL_ECHO_MODE_MAX + 1];
	/* flippers */
	uint64_t flips, changed;
	uint16_t *flip_log;	/* mode << 8 | prev, per flip (one flipper) */
	size_t flip_log_len, flip_log_cap;
};

static struct worker workers[MAX_WORKERS];

static void set_fail(struct worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_fail(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
	w->outcome = OUT_FAIL;
	atomic_store(&stop_all, true);
}

/* A failed request in --until-error mode: is the family gone? */
static void classify(struct worker *w, int err)
{
	int e2;

	if (err != -ENOENT && err != -EOPNOTSUPP) {
		set_fail(w, "request failed with %s (%s), not a vanished family",
			 errno_name(-err), strerror(-err));
		return;
	}
	e2 = genl_lookup_id(&w->sock, w->fid, O.timeout_ms);
	if (e2 == -ENOENT) {
		w->outcome = OUT_CLEAN;
		w->clean_errno = -err;
		return;
	}
	set_fail(w, "request failed with %s but family id %u: %s",
		 errno_name(-err), w->fid, e2 ? strerror(-e2) : "still there");
}

static void mark_ready(struct worker *w)
{
	unsigned int n;
	int fd;

	if (w->ready)
		return;
	w->ready = true;
	n = atomic_fetch_add(&ready_count, 1) + 1;
	if (n == O.threads + O.flippers && O.ready_file) {
		fd = open(O.ready_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0644);
		if (fd >= 0)
			close(fd);
	}
}

/* true if the worker should stop before its next request */
static bool should_stop(struct worker *w)
{
	if (atomic_load(&stop_all))
		return true;
	if (O.until_error && now_sec() - t_start > O.max_seconds) {
		set_fail(w, "the family was still there after %.0f s",
			 O.max_seconds);
		return true;
	}
	return false;
}

static bool check_echo_reply(struct worker *w, const struct nlmsghdr *nh,
			     const uint8_t *in, size_t len, uint8_t *conv)
{
	struct ge_echo_want want;
	char why[128];
	uint32_t mode;

	ge_echo_want_set(&want, in, len, conv);
	if (ge_echo_check(nh, w->fid, &want, &mode, why, sizeof(why))) {
		set_fail(w, "%s", why);
		return false;
	}
	w->echoes++;
	w->bytes += len;
	w->converted += want.converted;
	w->by_mode[mode]++;
	return true;
}

static int worker_open(struct worker *w)
{
	int err = nl_open(&w->sock, NL_O_EXT_ACK | NL_O_CAP_ACK, 0, 0);

	if (err) {
		set_fail(w, "socket: %s", strerror(-err));
		return err;
	}
	err = genl_resolve(&w->sock, GENL_ECHO_FAMILY_NAME, &w->fid,
			   O.timeout_ms);
	if (!err)
		return 0;
	if (O.until_error && err == -ENOENT) {
		w->outcome = OUT_CLEAN;
		w->clean_errno = ENOENT;
	} else {
		set_fail(w, "resolving %s: %s", GENL_ECHO_FAMILY_NAME,
			 strerror(-err));
	}
	return err;
}

static void *echo_main(void *arg)
{
	struct worker *w = arg;
	uint8_t *in = xmalloc(O.max_len + 1), *conv = xmalloc(O.max_len + 1);
	struct nl_buf b;
	uint64_t i;

	nb_init(&b, O.max_len + 64);
	if (worker_open(w))
		goto out;
	for (i = 0; O.until_error || i < O.count; i++) {
		const struct nlmsghdr *reply;
		size_t len, off;
		int err;

		if (should_stop(w))
			break;
		len = 1 + rng_below(&w->rng, O.max_len);
		gen_letters(&w->rng, in, len);
		nb_reset(&b);
		off = nb_genl_begin(&b, w->fid, NLM_F_REQUEST, w->sock.seq++,
				    GENL_ECHO_CMD_ECHO, GENL_ECHO_FAMILY_VERSION,
				    0);
		nb_attr_strn(&b, GENL_ECHO_A_MSG, in, len);
		nb_msg_end(&b, off);
		err = genl_transact(&w->sock, &b, &reply, O.timeout_ms);
		if (err) {
			if (O.until_error)
				classify(w, err);
			else
				set_fail(w, "ECHO: %s", strerror(-err));
			break;
		}
		if (!check_echo_reply(w, reply, in, len, conv))
			break;
		mark_ready(w);
	}
out:
	nl_close(&w->sock);
	nb_free(&b);
	free(in);
	free(conv);
	return NULL;
}

static void *flip_main(void *arg)
{
	struct worker *w = arg;

	if (worker_open(w))
		goto out;
	for (;;) {
		uint32_t mode, prev;
		int err;

		if (should_stop(w))
			break;
		if (!O.until_error && atomic_load(&echoes_done) &&
		    w->flips >= O.min_flips)
			break;
		mode = rng_below(&w->rng, GENL_ECHO_MODE_MAX + 1);
		err = ge_set_case(&w->sock, w->fid, mode, &prev, O.timeout_ms);
		if (err) {
			if (O.until_error)
				classify(w, err);
			else
				set_fail(w, "SET_CASE: %s", strerror(-err));
			break;
		}
		if (prev > GENL_ECHO_MODE_MAX) {
			set_fail(w, "SET_CASE PREV_MODE %u", prev);
			break;
		}
		w->flips++;
		w->changed += prev != mode;
		if (O.flippers == 1 && !O.until_error) {
			if (w->flip_log_len == w->flip_log_cap) {
				w->flip_log_cap = w->flip_log_cap ?
						  w->flip_log_cap * 2 : 4096;
				w->flip_log = realloc(w->flip_log,
						      w->flip_log_cap *
						      sizeof(*w->flip_log));
				if (!w->flip_log)
					die("out of memory");
			}
			w->flip_log[w->flip_log_len++] = mode << 8 | prev;
		}
		mark_ready(w);
	}
out:
	nl_close(&w->sock);
	return NULL;
}

/* -- reporting ------------------------------------------------------------- */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

struct totals {
	uint64_t echoes, bytes, converted, flips, changed;
	uint64_t by_mode[GENL_ECHO_MODE_MAX + 1];
	uint64_t clean[2];	/* ENOENT, EOPNOTSUPP */
	unsigned int clean_workers, failed, done;
};

static void sum(struct totals *t)
{
	unsigned int i, m;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < O.threads + O.flippers; i++) {
		const struct worker *w = &workers[i];

		t->echoes += w->echoes;
		t->bytes += w->bytes;
		t->converted += w->converted;
		t->flips += w->flips;
		t->changed += w->changed;
		for (m = 0; m <= GENL_ECHO_MODE_MAX; m++)
			t->by_mode[m] += w->by_mode[m];
		if (w->outcome == OUT_CLEAN) {
			t->clean_workers++;
			t->clean[w->clean_errno == EOPNOTSUPP]++;
		} else if (w->outcome == OUT_FAIL) {
			t->failed++;
		} else {
			t->done++;
		}
	}
}

static void print_failures(const char *extra)
{
	bool first = true;
	unsigned int i;

	printf(",\"failures\":[");
	for (i = 0; i < O.threads + O.flippers; i++) {
		if (workers[i].outcome != OUT_FAIL)
			continue;
		printf("%s", first ? "" : ",");
		json_str(workers[i].why);
		first = false;
	}
	if (extra) {
		printf("%s", first ? "" : ",");
		json_str(extra);
	}
	printf("]");
}

static void print_common(const struct totals *t, bool pass, double secs)
{
	printf("{\"tool\":\"genl_stress\",\"mode\":\"%s\",\"result\":\"%s\","
	       "\"threads\":%u,\"flippers\":%u,\"max_len\":%zu,"
	       "\"seed\":%" PRIu64 ",\"echoes\":%" PRIu64 ",\"bytes\":%" PRIu64
	       ",\"converted\":%" PRIu64 ",\"replies_by_mode\":{\"none\":%"
	       PRIu64 ",\"upper\":%" PRIu64 ",\"lower\":%" PRIu64 "},"
	       "\"flips\":%" PRIu64 ",\"flips_changed\":%" PRIu64
	       ",\"seconds\":%.3f,\"echo_rps\":%.0f",
	       O.until_error ? "until-error" : "count", pass ? "pass" : "fail",
	       O.threads, O.flippers, O.max_len, O.seed, t->echoes, t->bytes,
	       t->converted, t->by_mode[GENL_ECHO_MODE_NONE],
	       t->by_mode[GENL_ECHO_MODE_UPPER],
	       t->by_mode[GENL_ECHO_MODE_LOWER], t->flips, t->changed, secs,
	       secs > 0 ? t->echoes / secs : 0.0);
}

static void print_stats(const char *name, const struct genl_echo_stats *d)
{
	printf(",\"%s\":{\"echo_requests\":%" PRIu64 ",\"echo_bytes\":%" PRIu64
	       ",\"chars_converted\":%" PRIu64 ",\"mode_changes\":%" PRIu64
	       ",\"rejected\":%" PRIu64 "}", name, d->echo_requests,
	       d->echo_bytes, d->chars_converted, d->mode_changes, d->rejected);
}

/* the SET_CASE replies of a lone flipper must chain */
static const char *check_flip_chain(uint32_t first_prev, uint32_t final_mode)
{
	const struct worker *w = &workers[O.threads];
	uint32_t cur = first_prev;
	static char why[128];
	size_t i;

	if (O.flippers != 1)
		return NULL;
	for (i = 0; i < w->flip_log_len; i++) {
		if ((w->flip_log[i] & 0xff) != cur) {
			snprintf(why, sizeof(why), "flip %zu: PREV_MODE %u, the "
				 "previous flip set %u", i, w->flip_log[i] & 0xff,
				 cur);
			return why;
		}
		cur = w->flip_log[i] >> 8;
	}
	if (cur != final_mode) {
		snprintf(why, sizeof(why), "final mode %u, the last flip set %u",
			 final_mode, cur);
		return why;
	}
	return NULL;
}

static int run_count_mode(void)
{
	struct genl_echo_stats before, after, want = { 0 }, got;
	const char *extra = NULL;
	struct nl_sock s;
	struct totals t;
	unsigned int i;
	uint16_t fid;
	double secs;
	bool pass;
	int err;

	err = nl_open(&s, NL_O_EXT_ACK | NL_O_CAP_ACK, 0, 0);
	if (err)
		die("socket: %s", strerror(-err));
	err = genl_resolve(&s, GENL_ECHO_FAMILY_NAME, &fid, O.timeout_ms);
	if (err)
		die("resolving %s: %s", GENL_ECHO_FAMILY_NAME, strerror(-err));
	err = ge_stats(&s, fid, &before, O.timeout_ms);
	if (err)
		die("STATS: %s", strerror(-err));

	if (O.ready_file)
		unlink(O.ready_file);
	t_start = now_sec();
	for (i = 0; i < O.threads + O.flippers; i++) {
		struct worker *w = &workers[i];

		w->idx = i;
		w->flipper = i >= O.threads;
		w->rng.s = O.seed * 1000003 + i;
		if (pthread_create(&w->tid, NULL,
				   w->flipper ? flip_main : echo_main, w))
			die("pthread_create failed");
	}
	for (i = 0; i < O.threads; i++)
		pthread_join(workers[i].tid, NULL);
	secs = now_sec() - t_start;
	atomic_store(&echoes_done, true);
	for (i = O.threads; i < O.threads + O.flippers; i++)
		pthread_join(workers[i].tid, NULL);

	err = ge_stats(&s, fid, &after, O.timeout_ms);
	if (err)
		die("STATS: %s", strerror(-err));
	sum(&t);
	want.echo_requests = t.echoes;
	want.echo_bytes = t.bytes;
	want.chars_converted = t.converted;
	want.mode_changes = t.changed;
	got.echo_requests = after.echo_requests - before.echo_requests;
	got.echo_bytes = after.echo_bytes - before.echo_bytes;
	got.chars_converted = after.chars_converted - before.chars_converted;
	got.mode_changes = after.mode_changes - before.mode_changes;
	got.rejected = after.rejected - before.rejected;

	pass = !t.failed;
	if (pass && t.echoes != O.threads * O.count) {
		extra = "not every echo was answered";
		pass = false;
	}
	if (pass && (want.echo_requests != got.echo_requests ||
		     want.echo_bytes != got.echo_bytes ||
		     want.chars_converted != got.chars_converted ||
		     want.mode_changes != got.mode_changes ||
		     want.rejected != got.rejected)) {
		extra = "STATS deltas differ from what was sent and converted";
		pass = false;
	}
	if (pass && t.flips < O.min_flips * O.flippers) {
		extra = "fewer flips than --min-flips";
		pass = false;
	}
	if (pass) {
		extra = check_flip_chain(before.mode, after.mode);
		pass = !extra;
	}

	print_common(&t, pass, secs);
	printf(",\"count\":%" PRIu64, O.count);
	print_stats("expected", &want);
	print_stats("observed", &got);
	print_failures(extra);
	printf("}\n");
	nl_close(&s);
	return pass ? 0 : 1;
}

static int run_until_error(void)
{
	struct totals t;
	unsigned int i;
	double secs;
	bool pass;

	if (O.ready_file)
		unlink(O.ready_file);
	t_start = now_sec();
	for (i = 0; i < O.threads + O.flippers; i++) {
		struct worker *w = &workers[i];

		w->idx = i;
		w->flipper = i >= O.threads;
		w->rng.s = O.seed * 1000003 + i;
		if (pthread_create(&w->tid, NULL,
				   w->flipper ? flip_main : echo_main, w))
			die("pthread_create failed");
	}
	for (i = 0; i < O.threads + O.flippers; i++)
		pthread_join(workers[i].tid, NULL);
	secs = now_sec() - t_start;
	sum(&t);
	pass = t.clean_workers == O.threads + O.flippers;

	print_common(&t, pass, secs);
	printf(",\"clean\":{\"ENOENT\":%" PRIu64 ",\"EOPNOTSUPP\":%" PRIu64
	       "},\"clean_workers\":%u,\"unexpected\":%u", t.clean[0],
	       t.clean[1], t.clean_workers, t.failed);
	print_failures(NULL);
	printf("}\n");
	return pass ? 0 : 1;
}

static void print_usage(void)
{
	fprintf(stderr,
		"usage: genl_stress [--threads N] [--count M] [--flippers K] "
		"[--min-flips F]\n"
		"                   [--max-len L] [--seed S] [--timeout-ms T] "
		"[--ready-file PATH]\n"
		"       genl_stress --until-error [--threads N] [--flippers K] "
		"[--max-len L]\n"
		"                   [--seed S] [--timeout-ms T] "
		"[--max-seconds S] [--ready-file PATH]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "threads", required_argument, NULL, 'n' },
		{ "count", required_argument, NULL, 'c' },
		{ "flippers", required_argument, NULL, 'k' },
		{ "min-flips", required_argument, NULL, 'f' },
		{ "max-len", required_argument, NULL, 'l' },
		{ "seed", required_argument, NULL, 's' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "until-error", no_argument, NULL, 'u' },
		{ "max-seconds", required_argument, NULL, 'm' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			O.threads = parse_u64("--threads", optarg);
			break;
		case 'c':
			O.count = parse_u64("--count", optarg);
			break;
		case 'k':
			O.flippers = parse_u64("--flippers", optarg);
			break;
		case 'f':
			O.min_flips = parse_u64("--min-flips", optarg);
			break;
		case 'l':
			O.max_len = parse_u64("--max-len", optarg);
			break;
		case 's':
			O.seed = parse_u64("--seed", optarg);
			break;
		case 't':
			O.timeout_ms = parse_u64("--timeout-ms", optarg);
			break;
		case 'u':
			O.until_error = true;
			break;
		case 'm':
			O.max_seconds = parse_u64("--max-seconds", optarg);
			break;
		case 'r':
			O.ready_file = optarg;
			break;
		default:
			print_usage();
		}
	}
	if (optind != argc || !O.threads ||
	    O.threads + O.flippers > MAX_WORKERS || !O.max_len ||
	    O.max_len > GENL_ECHO_MSG_MAX)
		print_usage();
	return O.until_error ? run_until_error() : run_count_mode();
}
