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
#     tests/packages-guest.sh in /root/pkg. The package operations run with
#     the root as a chroot (DKMS then compiles at the host's speed, for the
#     root's installed kernel, as in an installer; under emulation the same
#     build takes many minutes); the runtime checks boot the root as a VM's
#     root file system on its own kernel (virtme-ng `--root`: the guest sees
#     that directory only, not the host's files):
#       install  apt install OLD; DKMS built the module for the kernel;
#       boot     nlctl echo autoloads it (OLD); man page, bash completion;
#       upgrade  apt install NEW: DKMS rebuilt the module, CLI replaced;
#       boot     nlctl echo autoloads the rebuilt module (NEW);
#       purge    apt purge of both leaves none of their files behind.
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
(cd "$ROOT" && cargo xtask deb --root "$ROOT" --out "$out/$old")

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
# every file (not directory) either version ships
for d in "$out/$old"/*.deb "$out/$new"/*.deb; do
	dpkg-deb -c "$d" | awk '$1 !~ /^d/ {print substr($6, 2)}'
done | sort -u >"$guest/files"

kver=${kimage##*/vmlinuz-}
printf 'OLD=%s\nNEW=%s\nKVER=%s\n' "$old" "$new" "$kver" >"$guest/env"

# chroot_stage STAGE: the guest script with the root as a chroot, in a
# private mount namespace (/proc, /sys, /dev for dpkg, DKMS and kbuild).
chroot_stage() {
	local t0 rc
	t0=$(date +%s)
	psection "packages: $* (apt, dpkg, DKMS in the root as a chroot)"
	set +e
	unshare --mount --propagation private -- sh -c '
		mount -t proc proc "$0/proc" && mount -t sysfs sys "$0/sys" &&
		mount --rbind /dev "$0/dev" && mount -t tmpfs tmp "$0/tmp" &&
		exec chroot "$0" bash /root/pkg/packages-guest.sh "$@"' "$root" "$@" 2>&1 |
		tee "$out/$1.log"
	rc=${PIPESTATUS[0]}
	set -e
	echo "$*: exit $rc, $(($(date +%s) - t0)) s"
	return "$rc"
}

fs_opts=()
command -v virtiofsd >/dev/null || fs_opts=(--force-9p)
# boot_stage VERSION: one VM boot on the root's kernel, with the root as its
# root file system, running the guest script's runtime checks.
boot_stage() {
	local t0 rc log=$out/run-$1.log
	t0=$(date +%s)
	psection "packages: boot the root on $kver, runtime checks of $1"
	set +e
	timeout -k 30 "${VM_TIMEOUT:-900}" \
		vng --run "$kimage" --root "$root" --rw --cwd "$root/root" --disable-kvm "${fs_opts[@]}" \
		--memory "${VM_MEMORY:-2G}" --cpus "${VM_CPUS:-2}" \
		--exec "bash /root/pkg/packages-guest.sh run $1 >/root/pkg/run.log 2>&1; rc=\$?; cat /root/pkg/run.log; exit \$rc" \
		</dev/null 2>&1 | cat
	rc=${PIPESTATUS[0]}
	set -e
	cp "$guest/run.log" "$log" 2>/dev/null || true
	rm -f "$guest/run.log"
	echo "boot ($1): exit $rc, $(($(date +%s) - t0)) s"
	if ! grep -q "^stage run $1: " "$log" 2>/dev/null; then
		echo "the guest did not finish its checks (vng exit $rc)" >&2
		[ "$rc" != 0 ] || rc=1
	fi
	return "$rc"
}

rc=0
chroot_stage install || rc=1
[ "$rc" != 0 ] || boot_stage "$old" || rc=1
[ "$rc" != 0 ] || chroot_stage upgrade || rc=1
[ "$rc" != 0 ] || boot_stage "$new" || rc=1
[ "$rc" != 0 ] || chroot_stage purge || rc=1
rm -rf "$root"
echo "packages: $([ "$rc" = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - start)) s"
exit "$rc"
