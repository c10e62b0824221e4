#!/bin/bash
# tests/coverage.sh: line, branch and function coverage of the module, for
# the debug-kernel tier (tests/run-debug-tier.sh), whose kernel has
# CONFIG_GCOV_KERNEL and whose module is built with `GENL_ECHO_GCOV=1`
# (genl-kmod/Kbuild).
#
#   tests/coverage.sh collect      in the guest, after the tests: copies the
#                                  module's counts (.gcda) out of debugfs
#                                  into tests/out/coverage/gcda/BOOT/
#   tests/coverage.sh report KVER  on the host: adds up the boots' counts,
#                                  matches them with the build's .gcno files
#                                  (tests/out/kmod/KVER/) and writes the
#                                  report; prints the summary per file and
#                                  every line and branch not reached
#   tests/coverage.sh clean        forgets the counts of earlier runs
#
# The kernel keeps a module's counts when it is unloaded and adds the next
# load's to them (gcov_persist=1, its default), so what the guest copies
# covers every load of the boot, up to the last rmmod.
#
# Output in tests/out/coverage/: genl_echo.info (lcov's tracefile),
# summary.txt (per file), unreached.txt (the lines and branches never
# reached), html/index.html (genhtml, with the branches).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

cov=$OUT/coverage

collect() {
	local dbg=/sys/kernel/debug gcov dir boot n=0 f
	mountpoint -q "$dbg" || mount -t debugfs none "$dbg"
	gcov=$dbg/gcov
	if [ ! -d "$gcov" ]; then
		echo "coverage: this kernel has no gcov (CONFIG_GCOV_KERNEL)"
		return 0
	fi
	# tests/build-kmod.sh builds in tests/out/kmod/.build-KVER.XXXXXX, the
	# path the objects' counts are filed under
	dir=$(find "$gcov$OUT/kmod" -mindepth 1 -maxdepth 1 -type d \
		-name ".build-$GENL_ECHO_KVER.*" 2>/dev/null | head -n1)
	if [ -z "$dir" ] || ! compgen -G "$dir/*.gcda" >/dev/null; then
		echo "coverage: no counts for the module (not built with GENL_ECHO_GCOV=1, or never loaded)"
		return 0
	fi
	boot=$cov/gcda/$(cat /proc/sys/kernel/random/boot_id)
	rm -rf "$boot"
	mkdir -p "$boot"
	for f in "$dir"/*.gcda; do
		# debugfs gives no size: read, do not copy
		cat "$f" >"$boot/${f##*/}"
		n=$((n + 1))
	done
	echo "coverage: $n .gcda files copied to $boot (module $(lsmod | awk '$1 == "genl_echo" {print "loaded"; f=1} END {if (!f) print "unloaded"}'))"
}

# every line with no count, every branch not taken (as "LINE: N of M":
# the Nth of the line's M branch outcomes, counted from 1, in gcov's
# order), per file, from an lcov tracefile; paths relative to the repository
unreached() {
	awk -v root="$ROOT/" '
	function flush(i, l) {
		if (file == "")
			return
		printf "%s: %d lines, %d branches not reached\n", file, nl, nb
		if (lines != "")
			printf "  lines:%s\n", lines
		for (i = 1; i <= nbl; i++) {
			l = bl[i]
			if (missed[l] != "")
				printf "  branch at line %s:%s of %d\n", l, missed[l], total[l]
		}
	}
	/^SF:/ {
		file = substr($0, 4)
		if (index(file, root) == 1)
			file = substr(file, length(root) + 1)
		lines = ""; nl = 0; nb = 0; nbl = 0
		split("", bl); split("", total); split("", missed)
	}
	/^DA:/ {
		split(substr($0, 4), a, ",")
		if (a[2] == 0) { lines = lines " " a[1]; nl++ }
	}
	/^BRDA:/ {
		split(substr($0, 6), a, ",")
		l = a[1]
		if (!(l in total)) { bl[++nbl] = l; total[l] = 0; missed[l] = "" }
		total[l]++
		if (a[4] == "-" || a[4] == 0) {
			missed[l] = missed[l] (missed[l] == "" ? " " : ",") total[l]
			nb++
		}
	}
	/^end_of_record/ { flush(); file = "" }
	' "$1"
}

report() {
	local kver=$1 build sets merged work d i=0 t0 lcov_rc log
	t0=$(date +%s)
	if ! command -v lcov >/dev/null || ! command -v genhtml >/dev/null; then
		echo "installing: lcov"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends lcov
	fi
	build=$OUT/kmod/$kver
	[ -d "$build" ] || die "no module build in $build (tests/build-kmod.sh $kver)"
	compgen -G "$build/*.gcno" >/dev/null ||
		die "no .gcno files in $build: the module was not built with GENL_ECHO_GCOV=1"
	mapfile -t sets < <(find "$cov/gcda" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort)
	[ "${#sets[@]}" -gt 0 ] || die "no counts in $cov/gcda (tests/coverage.sh collect in the guest)"

	work=$cov/work
	rm -rf "$work" "$cov/html"
	mkdir -p "$work"
	# the boots' counts added up (gcov-tool merges two directories at a time)
	merged=${sets[0]}
	for d in "${sets[@]:1}"; do
		i=$((i + 1))
		gcov-tool merge "$merged" "$d" -o "$work/merge.$i" >/dev/null
		merged=$work/merge.$i
	done
	cp "$build"/*.gcno "$work/"
	cp "$merged"/*.gcda "$work/"
	rm -rf "$work"/merge.*

	# The .gcno files name the sources in genl-kmod/ (GENL_ECHO_GCOV_SRC).
	# (relative names in them are the kernel tree's headers)
	lcov_rc=(--rc lcov_branch_coverage=1)
	log=$cov/lcov.log
	if ! {
		lcov -q "${lcov_rc[@]}" --capture --directory "$work" \
			--base-directory "$(kdir_for "$kver")" --output-file "$cov/all.info" &&
			# only the module's own files (the kernel's inline headers
			# are counted too)
			lcov -q "${lcov_rc[@]}" --extract "$cov/all.info" "$ROOT/genl-kmod/*" \
				--output-file "$cov/genl_echo.info" &&
			genhtml -q --branch-coverage --legend --prefix "$ROOT" \
				--title "genl_echo (debug-kernel tier)" \
				--output-directory "$cov/html" "$cov/genl_echo.info"
	} >"$log" 2>&1; then
		cat "$log" >&2
		die "lcov failed (log: $log)"
	fi
	{
		echo "genl_echo coverage, debug-kernel tier, kernel $kver, ${#sets[@]} boot(s)"
		lcov "${lcov_rc[@]}" --list-full-path --list "$cov/genl_echo.info" |
			sed "s|$ROOT/||"
		lcov "${lcov_rc[@]}" --summary "$cov/genl_echo.info" 2>&1 | grep -E '^ +(lines|functions|branches)'
	} >"$cov/summary.txt"
	unreached "$cov/genl_echo.info" >"$cov/unreached.txt"

	section "coverage of the module"
	cat "$cov/summary.txt"
	echo
	echo "not reached:"
	cat "$cov/unreached.txt"
	echo
	echo "report: $cov/html/index.html (made in $(($(date +%s) - t0)) s)"
}

case ${1:-} in
collect) collect ;;
report)
	[ $# = 2 ] || die "usage: $0 report KVER"
	report "$2"
	;;
clean) rm -rf "$cov" ;;
*) die "usage: $0 collect | report KVER | clean" ;;
esac
