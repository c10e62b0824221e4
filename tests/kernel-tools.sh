#!/bin/bash
# tests/kernel-tools.sh: unpacks, from Debian's linux-source-6.12 package, the
# kernel's own tools the tests use into .cache/linux-tools/ (never committed):
#   checkpatch.pl (+ spelling.txt, const_structs.checkpatch)  for `make style`
#   ynl/         tools/net/ynl: the generic YNL client cli.py, its library and
#                the code generator ynl-gen-c.py (`cargo xtask gen`)
#   netlink/     Documentation/netlink: the spec schemas, unchanged (our spec
#                is genetlink-legacy, the level that has uns-admin-perm)
# The unpacked copy is redone when the tarball or this script changes.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

dest=$ROOT/.cache/linux-tools
tarball=/usr/src/linux-source-6.12.tar.xz
stamp=$dest/.stamp

if [ ! -r "$tarball" ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-source-6.12 >/dev/null
fi
want_stamp=$(sha256sum "$0" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$stamp" -nt "$tarball" ] && [ "$(cat "$stamp")" = "$want_stamp" ]; then
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
[ -f "$dest/ynl/ynl-gen-c.py" ] || die "no tools/net/ynl/ynl-gen-c.py in $tarball"
echo "$want_stamp" >"$stamp"
echo "kernel tools in $dest"
