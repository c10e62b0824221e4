#!/bin/bash
# tests/trixie-env.sh: makes (once) what the tests need for Debian's 7.3
# kernel, which Debian 12 cannot build for (its headers name gcc-14), and
# prints the kernel's release on its last line:
#
#   root/    a Debian 13 (trixie) build environment made by mmdebstrap from
#            the Debian archive: gcc-14, make, DKMS and the kernel's
#            headers from trixie-backports, and unstable's sparse. tests/build-kmod.sh and
#            tests/dkms-build.sh run inside it (tests/lib.sh: in_build_env),
#            as a trixie machine would build the module.
#   linux-tools/  from linux-source-7.3: tools/net/ynl (ynl/: the kernel's
#            YNL CLI and generator) and Documentation/netlink (netlink/: the
#            spec schemas), the layout of .cache/linux-tools
#            (tests/kernel-tools.sh, from 6.12): test_ynl.py uses them on 7.3.
#   kernel/  Debian's own kernel, the packages linux-image-KVER depends on
#            unpacked: usr/lib/modules/KVER/ with vmlinuz (linux-binary-KVER),
#            the modules (linux-modules-KVER), config and System.map
#            (linux-base-KVER): what the VM boots (tests/vm.sh). They are
#            unpacked with dpkg-deb -x rather than installed, on the host or
#            in root/: installing runs the kernel's maintainer scripts
#            (initramfs, boot loader), which the VM does not need and the
#            host must not run for a kernel it does not boot.
#
# Cached in $GENL_ECHO_CACHE (default ~/.cache/genl-echo) as
# trixie-env-HASH/, HASH being the hash of this recipe (the lines between
# the RECIPE markers), so a change to it makes a new one; older ones are
# deleted. tests/out/trixie-env points at the entry, where tests/lib.sh
# finds the image, the modules and the build environment.
# Nothing on the host changes: apt runs inside the new root, with its own
# sources.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# RECIPE
KVER=7.3.4+deb13-amd64 # the kernel (its ABI name: the packages' names end in it)
SUITE=trixie
MIRROR=http://deb.debian.org/debian
PACKAGES=(
	"linux-headers-$KVER"   # with -common and linux-kbuild-7.3.4+deb13, from trixie-backports
	gcc-14 make libc6-dev   # the compiler the headers name (CONFIG_CC_VERSION_TEXT)
	dkms kmod               # tests/dkms-build.sh; modinfo
)
# sparse (make -C genl-kmod check): trixie's 0.6.4 stops at the 7.3 headers'
# __typeof_unqual__; unstable's 0.6.5 reads them, and its binary needs only
# the C library: it is unpacked into root/usr/local/bin.
SPARSE_SUITE=sid
IMAGE=("linux-binary-$KVER" "linux-modules-$KVER" "linux-base-$KVER") # unpacked into kernel/
SOURCE=linux-source-7.3 # its tools/net/ynl and Documentation/netlink, into linux-tools/
# RECIPE END

command -v mmdebstrap >/dev/null || die "mmdebstrap not found (apt-get install mmdebstrap)"
[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap makes a chroot)"
hash=$(recipe_hash "$0")
cache=$GENL_ECHO_CACHE
dir=$cache/trixie-env-$hash
mkdir -p "$OUT"

if [ -f "$dir/.done" ]; then
	echo "cached: $dir" >&2
else
	t0=$(date +%s)
	rm -rf "$dir"
	mkdir -p "$dir"
	echo "building the trixie environment $dir (mmdebstrap $SUITE: ${PACKAGES[*]}; ${IMAGE[*]} unpacked)" >&2
	include=$(
		IFS=,
		echo "${PACKAGES[*]}"
	)
	# The kernel's packages are fetched inside the new root by its own apt
	# (before mmdebstrap empties the package lists) into /var/tmp.
	mmdebstrap --variant=apt --include="$include" \
		--aptopt='APT::Install-Recommends "false"' \
		--customize-hook="chroot \"\$1\" sh -c 'cd /var/tmp && apt-get download -q ${IMAGE[*]} $SOURCE'" \
		"$SUITE" "$dir/root" \
		"deb $MIRROR $SUITE main" \
		"deb $MIRROR $SUITE-updates main" \
		"deb $MIRROR $SUITE-backports main" \
		"deb http://security.debian.org/debian-security $SUITE-security main" >&2
	# sparse from $SPARSE_SUITE, with apt's own state in a private folder
	apt_dir=$dir/apt-$SPARSE_SUITE
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
	echo "deb $MIRROR $SPARSE_SUITE main" >"$apt_dir/sources.list"
	apt_opts=(-q -o Dir::Etc::sourcelist="$apt_dir/sources.list" -o Dir::Etc::sourceparts=/nonexistent
		-o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir" -o Dir::State::status=/dev/null
		-o APT::Sandbox::User=root)
	apt-get "${apt_opts[@]}" update >&2
	(cd "$apt_dir" && apt-get "${apt_opts[@]}" download sparse) >&2
	deb=$(find "$apt_dir" -maxdepth 1 -name 'sparse_*.deb' | head -n1)
	[ -n "$deb" ] || die "sparse was not downloaded from $SPARSE_SUITE"
	dpkg-deb -x "$deb" "$apt_dir/unpacked"
	install -m755 "$apt_dir/unpacked/usr/bin/sparse" "$dir/root/usr/local/bin/sparse"
	echo "${deb##*/}" >"$dir/sparse-package"
	rm -rf "$apt_dir"

	mkdir -p "$dir/kernel"
	for p in "${IMAGE[@]}"; do
		deb=$(find "$dir/root/var/tmp" -maxdepth 1 -name "${p}_*.deb" | head -n1)
		[ -n "$deb" ] || die "$p was not downloaded"
		dpkg-deb -x "$deb" "$dir/kernel"
		echo "${deb##*/}" >>"$dir/kernel-packages"
		rm -f "$deb"
	done
	# The kernel's own YNL tools (test_ynl.py drives the module with the
	# CLI of the kernel it runs on) and the netlink spec schemas.
	deb=$(find "$dir/root/var/tmp" -maxdepth 1 -name "${SOURCE}_*.deb" | head -n1)
	[ -n "$deb" ] || die "$SOURCE was not downloaded"
	src_tmp=$dir/source.tmp
	mkdir -p "$src_tmp"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$SOURCE.tar.xz" |
		tar -C "$src_tmp" -xJf - --wildcards "$SOURCE/tools/net/ynl/*" "$SOURCE/Documentation/netlink/*"
	mkdir -p "$dir/linux-tools"
	mv "$src_tmp/$SOURCE/tools/net/ynl" "$dir/linux-tools/ynl"
	mv "$src_tmp/$SOURCE/Documentation/netlink" "$dir/linux-tools/netlink"
	rm -rf "$src_tmp" "$deb"
	[ -f "$dir/linux-tools/ynl/pyynl/cli.py" ] || die "no tools/net/ynl/pyynl/cli.py in $SOURCE"

	moddir=$(kernel_moddir "$dir/kernel" "$KVER") || die "no lib/modules/$KVER in ${IMAGE[*]}"
	[ -r "$moddir/vmlinuz" ] || die "no $moddir/vmlinuz in ${IMAGE[*]}"
	# The packages ship no modules.dep (the postinst runs depmod): make the
	# indexes now, so neither virtme-ng nor the guest has to.
	depmod -b "${moddir%/lib/modules/*}" "$KVER"
	[ -d "$dir/root/usr/src/linux-headers-$KVER" ] || die "no headers for $KVER in the environment"
	echo "$KVER" >"$dir/release"
	touch "$dir/.done"
	echo "made in $(($(date +%s) - t0)) s" >&2
	find "$cache" -maxdepth 1 -name 'trixie-env-*' ! -name "${dir##*/}" -exec rm -rf {} +
fi

ln -sfn "$dir" "$OUT/trixie-env"
cat "$dir/release"
