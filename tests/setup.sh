#!/bin/bash
# Installs and builds everything the tests need, on a fresh Debian 12 machine
# as root. Idempotent: steps whose result is already there are skipped.
#
#   tests/setup.sh                       6.1 kernel only
#   GENL_ECHO_BACKPORTS=1 tests/setup.sh also the 6.12 kernel from bookworm-backports
#   GENL_ECHO_TRIXIE=1 tests/setup.sh    also Debian's 7.3 (trixie-backports): its
#                                        image and a trixie build environment,
#                                        cached (tests/trixie-env.sh)
#   GENL_ECHO_TRIXIE=1 GENL_ECHO_RUST_MODULE=1 tests/setup.sh
#                                        also the Rust module (genl-kmod-rs/) for
#                                        7.3 and its build environment, cached
#                                        (tests/rust-env.sh)
#
# Steps: Debian packages, the Python venv (.venv: virtme-ng, pytest), the Rust
# workspace (cargo build --release --workspace, and genl-echo's examples), a
# program on the library built outside the workspace (tests/build-consumer.sh),
# the module for every target kernel (tests/build-kmod.sh; for Debian's 7.3 in
# the trixie environment tests/trixie-env.sh makes).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

APT_PACKAGES=(
	linux-image-amd64 linux-headers-amd64 # the 6.1 kernel the suite boots, and its headers
	qemu-system-x86                       # the VM (TCG: no KVM needed)
	busybox-static                        # virtme-ng's initramfs
	python3 python3-venv                  # .venv for virtme-ng and pytest
	make gcc libc6-dev                    # module build
	sparse                                # make -C genl-kmod check
	lcov                                  # tests/coverage.sh: the debug tier's coverage report
	dkms                                  # tests/dkms-build.sh: the DKMS install path
	debhelper dh-dkms lintian             # cargo xtask deb: the Debian packages
	mmdebstrap                            # tests/pkg-root.sh: the fresh Debian root they are installed on
	time                                  # GNU time -v: nlctl's peak RSS in the bench
	jq iproute2 util-linux kmod procps     # used by the suite inside the guest
	udev                                  # udevadm, used by virtme-ng's guest init when present
	libcap-ng-dev libseccomp-dev pkg-config # to build virtiofsd (below)
	ca-certificates
)
BACKPORTS_LIST=/etc/apt/sources.list.d/genl-echo-backports.list

export DEBIAN_FRONTEND=noninteractive

need_root() {
	[ "$(id -u)" = 0 ] || die "run as root (apt-get, kernel packages)"
}

missing_packages() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			printf '%s\n' "$p"
	done
}

apt_updated=0
apt_update() {
	if [ "$apt_updated" = 0 ]; then
		apt-get update -q
		apt_updated=1
	fi
}

section "setup: Debian packages"
mapfile -t missing < <(missing_packages "${APT_PACKAGES[@]}")
if [ "${#missing[@]}" -gt 0 ]; then
	need_root
	echo "installing: ${missing[*]}"
	apt_update
	apt-get install -y -q --no-install-recommends "${missing[@]}"
else
	echo "all present"
fi

if [ "${GENL_ECHO_BACKPORTS:-0}" = 1 ]; then
	section "setup: 6.12 kernel from bookworm-backports"
	if [ -z "$(newest_kernel 6.12.)" ] || ! kdir_for "$(newest_kernel 6.12.)" >/dev/null 2>&1; then
		need_root
		if ! grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
			echo 'deb http://deb.debian.org/debian bookworm-backports main' >"$BACKPORTS_LIST"
			apt_updated=0
		fi
		apt_update
		# Install the versioned packages the backports meta-packages point at,
		# so the 6.1 meta-packages (and the 6.1 kernel) stay installed.
		img=$(apt-cache depends linux-image-amd64/bookworm-backports |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.12/ {print $2; exit}')
		hdr=$(apt-cache depends linux-headers-amd64/bookworm-backports |
			awk '$1 == "Depends:" && $2 ~ /^linux-headers-6\.12/ {print $2; exit}')
		if [ -z "$img" ] || [ -z "$hdr" ]; then
			die "no 6.12 kernel in bookworm-backports"
		fi
		echo "installing: $img $hdr"
		apt-get install -y -q --no-install-recommends -t bookworm-backports "$img" "$hdr"
	else
		echo "present: $(newest_kernel 6.12.)"
	fi
fi

section "setup: Python venv (.venv)"
req_sum=$(sha256sum "$ROOT/tests/requirements.txt" | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/vng" ] &&
	[ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" = "$req_sum" ]; then
	echo "up to date: $("$VENV/bin/vng" --version), $("$VENV/bin/python" -m pytest --version 2>&1)"
else
	rm -rf "$VENV"
	# Debian's python (not a pyenv shim): the guest sees the host's /usr, so
	# the venv works inside the VM too.
	/usr/bin/python3 -m venv "$VENV"
	"$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/tests/requirements.txt"
	echo "$req_sum" >"$VENV/.requirements.sha256"
	echo "installed: $("$VENV/bin/vng" --version), $("$VENV/bin/python" -m pytest --version 2>&1)"
fi

section "setup: Rust workspace (cargo build --release --workspace, and the examples)"
command -v cargo >/dev/null || die "cargo not found (the machine's Rust toolchain)"
(cd "$ROOT" && cargo build --release --workspace && cargo build --release --workspace --examples)
ls -l "$ROOT/target/release/nlctl" "$ROOT/target/release/examples/echo" "$ROOT/target/release/examples/monitor"

section "setup: a program outside the workspace on the genl-echo library (tests/build-consumer.sh)"
"$ROOT/tests/build-consumer.sh"

section "setup: virtiofsd $VIRTIOFSD_VERSION (faster guest file system than 9p)"
# virtme-ng shares the host's root with the guest over virtio-fs when it
# finds a virtiofsd, else over 9p; under emulation 9p is 3-4 times slower
# for the suite (every exec and Python import). Debian 12 has no virtiofsd
# package, so build the pinned crate.
if [ -x "$TOOLS/bin/virtiofsd" ] && "$TOOLS/bin/virtiofsd" --version 2>/dev/null | grep -qF "$VIRTIOFSD_VERSION"; then
	echo "present: $("$TOOLS/bin/virtiofsd" --version)"
else
	cargo install --locked --quiet --root "$TOOLS" "virtiofsd@$VIRTIOFSD_VERSION"
	"$TOOLS/bin/virtiofsd" --version
fi

if [ -x "$ROOT/tests/kernel-tools.sh" ]; then
	section "setup: kernel tools (tests/kernel-tools.sh)"
	"$ROOT/tests/kernel-tools.sh"
fi

if [ -f "$ROOT/tests/tools/Makefile" ]; then
	section "setup: C test tools (make -C tests/tools)"
	make -s -C "$ROOT/tests/tools" O="$OUT/tools"
	ls "$OUT/tools"
fi

mapfile -t kernels < <(target_kernels)
for kver in "${kernels[@]}"; do
	if [ "$kver" = "$(trixie_kernel)" ]; then
		section "setup: Debian's $kver and its trixie build environment (tests/trixie-env.sh)"
		need_root
		"$ROOT/tests/trixie-env.sh"
		if [ "${GENL_ECHO_RUST_MODULE:-0}" = 1 ]; then
			section "setup: the Rust module's build environment for $kver (tests/rust-env.sh)"
			"$ROOT/tests/rust-env.sh"
		fi
	fi
done

section "setup: kernel module (Kbuild, and through DKMS)"
for kver in "${kernels[@]}"; do
	"$ROOT/tests/build-kmod.sh" "$kver"
	"$ROOT/tests/dkms-build.sh" "$kver"
	if [ "$kver" = "$(trixie_kernel)" ] && [ "${GENL_ECHO_RUST_MODULE:-0}" = 1 ]; then
		"$ROOT/tests/build-kmod-rs.sh" "$kver"
	fi
done
