#!/bin/bash
# tests/kernel-tools.sh: unpacks, from Debian's linux-source-6.12 package, the
# kernel's own tools the tests use into .cache/linux-tools/ (never committed):
#   checkpatch.pl (+ spelling.txt, const_structs.checkpatch)  for `make style`
#   ynl/         tools/net/ynl: the generic YNL client cli.py and its library
#   netlink/     Documentation/netlink: the spec schemas
# 6.12's genetlink.yaml predates the "uns-admin-perm" operation flag that
# later kernels accept; the copy here gets that one word added so our spec,
# which uses it, validates.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

dest=$ROOT/.cache/linux-tools
tarball=/usr/src/linux-source-6.12.tar.xz
stamp=$dest/.stamp

if [ ! -r "$tarball" ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-source-6.12 >/dev/null
fi
if [ -f "$stamp" ] && [ "$stamp" -nt "$tarball" ]; then
	exit 0
fi

rm -rf "$dest"
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -C "$tmp" -xJf "$tarball" --wildcards \
	'linux-source-6.12/tools/net/ynl/*' \
	'linux-source-6.12/Documentation/netlink/*' \
	'linux-source-6.12/scripts/checkpatch.pl' \
	'linux-source-6.12/scripts/spelling.txt' \
	'linux-source-6.12/scripts/const_structs.checkpatch'
src=$tmp/linux-source-6.12
cp "$src/scripts/checkpatch.pl" "$src/scripts/spelling.txt" \
	"$src/scripts/const_structs.checkpatch" "$dest/"
cp -r "$src/tools/net/ynl" "$dest/ynl"
cp -r "$src/Documentation/netlink" "$dest/netlink"
sed -i 's/enum: \[ admin-perm \]/enum: [ admin-perm, uns-admin-perm ]/' \
	"$dest/netlink/genetlink.yaml"
grep -q 'uns-admin-perm' "$dest/netlink/genetlink.yaml" ||
	die "could not extend genetlink.yaml's flags"
touch "$stamp"
echo "kernel tools in $dest"
