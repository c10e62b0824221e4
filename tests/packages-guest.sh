#!/bin/bash
# tests/packages-guest.sh STAGE: runs as root in the Debian root that
# tests/packages.sh prepares (it copies this script and the packages into
# the root's /root/pkg). It does what an admin does and checks the result.
# The package operations run with the root as a chroot (DKMS compiles at
# the host's speed, for the root's installed kernel, as in an installer or
# a container); the runtime checks run in the root booted as a VM on that
# kernel.
#
#   install      (chroot) apt install the two packages, version OLD: DKMS
#                built and installed the module for the kernel
#   run VERSION  (booted) nothing loaded at boot; nlctl echo autoloads the
#                module, which is VERSION; man page and bash completion
#   upgrade      (chroot) apt install version NEW: DKMS rebuilt the module
#                (only NEW left), the CLI is replaced, OLD's sources gone
#   purge        (chroot) apt purge of both leaves none of their files
#
# /root/pkg/env gives OLD, NEW and KVER (the root's kernel); /root/pkg/OLD
# and /root/pkg/NEW hold the .deb files; /root/pkg/files lists every file
# the packages ship.
set -uo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin
cd /root/pkg || exit 1
# shellcheck source=/dev/null
. ./env

fails=0
ok() { printf 'ok: %s\n' "$*"; }
fail() {
	printf 'FAIL: %s\n' "$*"
	fails=$((fails + 1))
}
# check DESCRIPTION CMD...: CMD must succeed
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
loaded() { grep -q '^genl_echo ' /proc/modules; }
ko=/lib/modules/$KVER/updates/dkms/genl_echo.ko

# dkms status must list exactly VERSION as installed for the root's kernel.
dkms_has_only() {
	local st
	st=$(dkms status 2>&1)
	printf 'dkms status: %s\n' "$st"
	[ "$st" = "genl_echo/$1, $KVER, $(uname -m): installed" ]
}
module_file_version() { [ -f "$ko" ] && [ "$(modinfo -F version "$ko")" = "$1" ]; }
cli_version() { [ "$(nlctl --version)" = "nlctl $1" ]; }
echo_hi() {
	local out
	out=$(nlctl echo hi) && printf 'nlctl echo hi: %s\n' "$out" &&
		[ "$out" = '{"msg":"hi","mode":"none"}' ]
}
apt_install() {
	apt install -y -q "./$1/genl-echo-dkms_${1}_all.deb" "./$1/nlctl_${1}_amd64.deb"
}

case ${1:-} in
install)
	check "apt install ./genl-echo-dkms_${OLD}_all.deb ./nlctl_${OLD}_amd64.deb" apt_install "$OLD"
	check "DKMS built and installed $OLD for $KVER" dkms_has_only "$OLD"
	check "$ko is version $OLD" module_file_version "$OLD"
	check "modprobe resolves the family's alias to it" \
		eval 'modprobe -S "$KVER" -R net-pf-16-proto-16-family-genl_echo | grep -qx genl_echo'
	check "sources in /usr/src/genl_echo-$OLD" test -f "/usr/src/genl_echo-$OLD/dkms.conf"
	check "UAPI header in /usr/include/linux" test -f /usr/include/linux/genl_echo.h
	check "nlctl is $OLD" cli_version "$OLD"
	;;
run)
	want=${2:?run VERSION}
	check "booted the root's kernel $KVER" test "$(uname -r)" = "$KVER"
	check "not loaded after the boot" eval '! loaded'
	check "nlctl echo hi (no insmod: the family's alias autoloads the module)" echo_hi
	check "the autoloaded module is $want" \
		eval 'loaded && [ "$(cat /sys/module/genl_echo/version)" = "$want" ]'
	check "nlctl is $want" cli_version "$want"
	check "man nlctl" eval 'MANPAGER=cat man nlctl 2>/dev/null | grep -q "EXIT STATUS"'
	check "man -w nlctl is the system's man page" \
		eval '[ "$(man -w nlctl)" = /usr/share/man/man1/nlctl.1.gz ]'
	# What bash does on TAB after `nlctl s`: bash-completion loads the
	# completion from its standard directory on demand and calls it.
	completion=$(bash -c '
		. /usr/share/bash-completion/bash_completion
		_completion_loader nlctl
		f=$(complete -p nlctl | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
		COMP_WORDS=(nlctl s); COMP_CWORD=1; COMP_LINE="nlctl s"; COMP_POINT=${#COMP_LINE}
		"$f" nlctl s nlctl
		printf "%s\n" "${COMPREPLY[@]}"' 2>&1)
	printf 'bash completion of "nlctl s": %s\n' "$(echo $completion)"
	check "bash completion offers set-mode and stats" \
		eval 'grep -qx set-mode <<<"$completion" && grep -qx stats <<<"$completion"'
	;;
upgrade)
	check "apt install ./genl-echo-dkms_${NEW}_all.deb ./nlctl_${NEW}_amd64.deb (upgrade)" apt_install "$NEW"
	check "DKMS rebuilt the module: only $NEW installed" dkms_has_only "$NEW"
	check "$ko is version $NEW" module_file_version "$NEW"
	check "/usr/src/genl_echo-$OLD is gone" test ! -e "/usr/src/genl_echo-$OLD"
	check "nlctl is $NEW" cli_version "$NEW"
	;;
purge)
	check "apt purge genl-echo-dkms nlctl" apt purge -y -q genl-echo-dkms nlctl
	check "dkms status is empty" eval '[ -z "$(dkms status 2>&1)" ]'
	check "nothing under /usr/src/genl_echo-*" eval '! compgen -G "/usr/src/genl_echo-*" >/dev/null'
	check "no /lib/modules/*/updates/dkms/genl_echo.ko*" \
		eval '! compgen -G "/lib/modules/*/updates/dkms/genl_echo.ko*" >/dev/null'
	check "no /var/lib/dkms/genl_echo" test ! -e /var/lib/dkms/genl_echo
	check "dpkg -S finds nothing of genl_echo or nlctl" eval '! dpkg -S genl_echo nlctl >/dev/null 2>&1'
	check "dpkg has neither package (purged or unknown)" \
		eval '! dpkg-query -W -f="\${db:Status-Abbrev}\n" genl-echo-dkms nlctl 2>/dev/null | grep -v "^pn" | grep -q .'
	left=$(while read -r f; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\n' "$f"; fi; done <files)
	check "none of the $(wc -l <files) files the packages shipped is left" test -z "$left"
	[ -z "$left" ] || printf 'left behind: %s\n' "$left"
	check "modprobe no longer finds the module" eval '! modprobe -S "$KVER" -n genl_echo 2>/dev/null'
	;;
*)
	echo "usage: $0 install|run VERSION|upgrade|purge" >&2
	exit 2
	;;
esac
echo "stage $*: $fails failed"
[ "$fails" = 0 ]
