#!/bin/bash
# tests/packages-guest.sh STAGE: runs as root inside the Debian root that
# tests/packages.sh boots (it copies this script and the packages into the
# root's /root). It does what an admin does and checks the result:
#
#   install   apt install the two packages (version OLD); DKMS built and
#             installed the module for the running kernel, nothing loaded it
#   upgrade   (after a reboot) nlctl echo autoloads the module; man page and
#             bash completion; apt install version NEW: DKMS rebuilt the
#             module, the CLI is replaced, the reloaded module is NEW;
#             apt purge of both leaves none of their files behind
#
# /root/pkg/env gives OLD and NEW; /root/pkg/OLD and /root/pkg/NEW hold the
# .deb files; /root/pkg/files lists every file the packages ship.
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
kver=$(uname -r)
ko=/lib/modules/$kver/updates/dkms/genl_echo.ko

# dkms status must list exactly VERSION as installed for the running kernel.
dkms_has_only() {
	local st
	st=$(dkms status 2>&1)
	printf 'dkms status: %s\n' "$st"
	[ "$st" = "genl_echo/$1, $kver, $(uname -m): installed" ]
}
module_file_version() { [ -f "$ko" ] && [ "$(modinfo -F version "$ko")" = "$1" ]; }
cli_version() { [ "$(nlctl --version)" = "nlctl $1" ]; }
echo_hi() {
	local out
	out=$(nlctl echo hi) && printf 'nlctl echo hi: %s\n' "$out" &&
		[ "$out" = '{"msg":"hi","mode":"none"}' ]
}

case ${1:-} in
install)
	check "not loaded before the install" eval '! loaded'
	check "apt install ./genl-echo-dkms_${OLD}_all.deb ./nlctl_${OLD}_amd64.deb" \
		apt install -y -q "./$OLD/genl-echo-dkms_${OLD}_all.deb" "./$OLD/nlctl_${OLD}_amd64.deb"
	check "DKMS built and installed $OLD for $kver" dkms_has_only "$OLD"
	check "$ko is version $OLD" module_file_version "$OLD"
	check "modprobe knows the family alias" eval 'modprobe -R net-pf-16-proto-16-family-genl_echo | grep -qx genl_echo'
	check "sources in /usr/src/genl_echo-$OLD" test -f "/usr/src/genl_echo-$OLD/dkms.conf"
	check "UAPI header in /usr/include/linux" test -f /usr/include/linux/genl_echo.h
	check "nlctl is $OLD" cli_version "$OLD"
	check "installing loaded nothing" eval '! loaded'
	;;
upgrade)
	check "after the boot, not loaded yet" eval '! loaded'
	check "nlctl echo hi (no insmod: the alias autoloads the module)" echo_hi
	check "the module was autoloaded, version $OLD" eval 'loaded && [ "$(cat /sys/module/genl_echo/version)" = "$OLD" ]'
	check "man nlctl" eval 'MANPAGER=cat man nlctl 2>/dev/null | grep -q "EXIT STATUS"'
	check "man -w nlctl is the system's man page" eval '[ "$(man -w nlctl)" = /usr/share/man/man1/nlctl.1.gz ]'
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
	check "bash completion offers set-mode and stats" eval 'grep -qx set-mode <<<"$completion" && grep -qx stats <<<"$completion"'

	check "apt install ./genl-echo-dkms_${NEW}_all.deb ./nlctl_${NEW}_amd64.deb (upgrade)" \
		apt install -y -q "./$NEW/genl-echo-dkms_${NEW}_all.deb" "./$NEW/nlctl_${NEW}_amd64.deb"
	check "DKMS rebuilt the module: only $NEW installed" dkms_has_only "$NEW"
	check "$ko is version $NEW" module_file_version "$NEW"
	check "/usr/src/genl_echo-$OLD is gone" test ! -e "/usr/src/genl_echo-$OLD"
	check "nlctl is $NEW" cli_version "$NEW"
	check "rmmod the old module" rmmod genl_echo
	check "nlctl echo hi autoloads the new module" echo_hi
	check "the loaded module is $NEW" eval '[ "$(cat /sys/module/genl_echo/version)" = "$NEW" ]'
	rmmod genl_echo || fail "rmmod genl_echo"

	check "apt purge genl-echo-dkms nlctl" apt purge -y -q genl-echo-dkms nlctl
	check "dkms status is empty" eval '[ -z "$(dkms status 2>&1)" ]'
	check "nothing under /usr/src/genl_echo-*" eval '! compgen -G "/usr/src/genl_echo-*" >/dev/null'
	check "no /lib/modules/*/updates/dkms/genl_echo.ko*" eval '! compgen -G "/lib/modules/*/updates/dkms/genl_echo.ko*" >/dev/null'
	check "no /var/lib/dkms/genl_echo" test ! -e /var/lib/dkms/genl_echo
	check "dpkg -S finds nothing of genl_echo or nlctl" eval '! dpkg -S genl_echo nlctl >/dev/null 2>&1'
	check "dpkg has neither package (purged or unknown)" eval '! dpkg-query -W -f="\${db:Status-Abbrev}\n" genl-echo-dkms nlctl 2>/dev/null | grep -v "^pn" | grep -q .'
	left=$(while read -r f; do [ -e "$f" ] || [ -L "$f" ] && printf '%s\n' "$f"; done <files)
	check "none of the $(wc -l <files) files the packages shipped is left" test -z "$left"
	[ -z "$left" ] || printf 'left behind: %s\n' "$left"
	check "modprobe no longer finds the module" eval '! modprobe -n genl_echo 2>/dev/null'
	;;
*)
	echo "usage: $0 install|upgrade" >&2
	exit 2
	;;
esac
echo "stage $1: $fails failed"
[ "$fails" = 0 ]
