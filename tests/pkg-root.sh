#!/bin/bash
# tests/pkg-root.sh: prints the path of a Debian 12 root file system (a tar
# made by mmdebstrap from the Debian archive) for tests/packages.sh to boot:
# a plain system with the 6.1 kernel and its headers, DKMS (and so the
# compiler), man-db and bash-completion installed, as an admin's machine
# would have them before installing genl_echo's packages. It has never seen
# this repository.
#
# Built once and cached in ~/.cache/genl-echo/pkg-root-HASH.tar, where HASH
# is the hash of this recipe (the lines between the RECIPE markers), so a
# change to the recipe builds a new one; older ones are deleted.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# RECIPE
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
PACKAGES=(
	linux-image-amd64 linux-headers-amd64 # the kernel the root boots, and its headers for DKMS
	dkms                                  # what genl-echo-dkms depends on (pulls gcc, make)
	man-db bash-completion                # what the admin's checks use
	kmod procps                           # lsmod, modinfo, modprobe; pgrep
	udev                                  # a normal system's device manager
)
# RECIPE END

command -v mmdebstrap >/dev/null || die "mmdebstrap not found (apt-get install mmdebstrap)"
hash=$(recipe_hash "$0")
cache=$GENL_ECHO_CACHE
tar=$cache/pkg-root-$hash.tar
if [ ! -s "$tar" ]; then
	mkdir -p "$cache"
	tmp=$cache/pkg-root-$hash.tmp.tar # mmdebstrap picks the format by the name's end
	rm -f "$tmp"
	echo "building the Debian root $tar (mmdebstrap $SUITE: ${PACKAGES[*]})" >&2
	include=$(
		IFS=,
		echo "${PACKAGES[*]}"
	)
	# The security suite too: the kernel packages there are newer than the
	# release's, as on an up-to-date machine.
	mmdebstrap --variant=important --include="$include" \
		--customize-hook='echo genl-echo-test >"$1/etc/hostname"' \
		"$SUITE" "$tmp" \
		"deb $MIRROR $SUITE main" \
		"deb $MIRROR $SUITE-updates main" \
		"deb http://security.debian.org/debian-security $SUITE-security main" >&2
	mv "$tmp" "$tar"
	find "$cache" -maxdepth 1 -name 'pkg-root-*.tar' ! -name "${tar##*/}" -delete
fi
printf '%s\n' "$tar"
