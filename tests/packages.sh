#!/bin/bash
# tests/packages.sh: the Debian packages, installed the way an admin installs
# them, on a Debian 12 system that has never seen this repository.
#
#  1. `cargo xtask deb`: genl-echo-dkms and nlctl at the workspace version
#     OLD, lintian clean (errors and warnings fail);
#  2. the same in a copy of the tree whose version is raised to NEW (the
#     patch number plus one, `cargo xtask set-version` and `gen`);
#  3. a fresh copy of the cached Debian root (tests/pkg-root.sh: kernel,
#     headers, DKMS, man-db, bash-completion) gets the packages and
#     tests/packages-guest.sh in /root/pkg, and boots twice as a VM's root
#     file system on its own kernel (virtme-ng `--root`: the guest sees that
#     directory only, not the host's files):
#       boot 1: apt install OLD; DKMS built the module for the kernel;
#       boot 2: nlctl echo autoloads it; man page, bash completion; apt
#               install NEW rebuilds the module and replaces the CLI; apt
#               purge of both leaves none of their files behind.
#
# Exit status 0 when every check passed. Needs root, debhelper, dh-dkms,
# lintian, mmdebstrap (tests/setup.sh installs them). Output in
# tests/out/pkg/: the packages (OLD/, NEW/), the guest logs.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start=$(date +%s)
# section with the time since the start
psection() { section "$* (at $(($(date +%s) - start)) s)"; }
out=$OUT/pkg
mkdir -p "$out"
rm -f "$out"/*.log
old=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$ROOT/genl-kmod/dkms.conf")
IFS=. read -r major minor patch <<<"$old"
new=$major.$minor.$((patch + 1))

psection "packages: build $old (cargo xtask deb, lintian)"
(cd "$ROOT" && cargo xtask deb --out "$out/$old")

psection "packages: build $new in a copy of the tree with the version raised"
copy=$out/src-$new
rm -rf "$copy"
mkdir -p "$copy"
git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
	tar -C "$ROOT" --null -T - -cf - | tar -C "$copy" -xf -
# xtask deb copies what git lists: make the copy a repository of its own.
git -C "$copy" init -q
git -C "$copy" add -A
# The kernel's YNL tools that `cargo xtask gen` runs (unpacked by
# tests/kernel-tools.sh); cargo's build directory is shared, the crates
# being the same.
ln -sfn "$ROOT/.cache" "$copy/.cache"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
# (--root: the copy's files are the tree's, so cargo may run the tree's xtask)
(cd "$copy" && cargo xtask set-version "$new" --root "$copy" && cargo xtask gen --root "$copy" >/dev/null &&
	cargo xtask check --root "$copy" && cargo xtask deb --root "$copy" --out "$out/$new")
# The shared build directory's nlctl is the copy's now: link the tree's own
# again (its objects are still there, under another hash).
(cd "$ROOT" && cargo build -q --release -p nlctl)
rm -rf "$copy"

psection "packages: a fresh Debian 12 root (tests/pkg-root.sh)"
tar=$("$ROOT/tests/pkg-root.sh")
root=$out/root
rm -rf "$root"
mkdir -p "$root"
tar -C "$root" -xf "$tar"
kimage=$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n1)
[ -n "$kimage" ] || die "no kernel in $root/boot"
echo "$tar -> $root, kernel ${kimage##*/}"
guest=$root/root/pkg
mkdir -p "$guest/$old" "$guest/$new"
cp "$out/$old"/*.deb "$guest/$old/"
cp "$out/$new"/*.deb "$guest/$new/"
cp "$ROOT/tests/packages-guest.sh" "$guest/"
printf 'OLD=%s\nNEW=%s\n' "$old" "$new" >"$guest/env"
# every file (not directory) either version ships
for d in "$out/$old"/*.deb "$out/$new"/*.deb; do
	dpkg-deb -c "$d" | awk '$1 !~ /^d/ {print substr($6, 2)}'
done | sort -u >"$guest/files"

fs_opts=()
command -v virtiofsd >/dev/null || fs_opts=(--force-9p)
# boot STAGE: one VM boot on the root's kernel running the guest script.
boot() {
	local t0=$(date +%s) rc
	psection "packages: boot ($1)"
	set +e
	timeout -k 30 "${VM_TIMEOUT:-900}" \
		vng --run "$kimage" --root "$root" --rw --cwd "$root/root" --disable-kvm "${fs_opts[@]}" \
		--memory "${VM_MEMORY:-2G}" --cpus "${VM_CPUS:-2}" \
		--exec "bash /root/pkg/packages-guest.sh $1 2>&1 | tee /root/pkg/$1.log; exit \${PIPESTATUS[0]}" \
		</dev/null 2>&1 | cat
	rc=${PIPESTATUS[0]}
	set -e
	cp "$guest/$1.log" "$out/" 2>/dev/null || true
	echo "boot ($1): exit $rc, $(($(date +%s) - t0)) s"
	if ! grep -q "^stage $1: " "$guest/$1.log" 2>/dev/null; then
		echo "the guest did not finish stage $1 (vng exit $rc)" >&2
		[ "$rc" != 0 ] || rc=1
	fi
	return "$rc"
}
rc=0
boot install || rc=1
[ "$rc" != 0 ] || boot upgrade || rc=1
rm -rf "$root"
echo "packages: $([ "$rc" = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - start)) s"
exit "$rc"
