#!/bin/bash
# tests/gen-check.sh: the YNL spec genl-kmod/genl_echo.yaml is the single
# source of the ABI; this checks that it is one (run by tests/run-all.sh).
#   1. the spec validates against the kernel's own schema for its protocol
#      level (.cache/linux-tools/netlink/, unpacked unchanged by
#      tests/kernel-tools.sh);
#   2. every committed generated file is what `cargo xtask gen` makes of it
#      (`cargo xtask check`: regenerates into a temporary tree, names any
#      file that differs);
#   3. a hand edit to any generated file, in a copy of the tree, makes that
#      check fail and name exactly that file;
#   4. a copy of the tree whose spec gains an attribute regenerates into a
#      new UAPI header, new kernel policy tables, new Rust enums and new
#      Python numbers, and the copy still builds: the module with W=1 and no
#      warning against every target kernel's headers, and the Rust
#      workspace, whose header test then agrees with the new header.
# Needs the kernel tools (tests/kernel-tools.sh) and the venv (tests/setup.sh).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

cd "$ROOT"
python=$VENV/bin/python
tools=$ROOT/.cache/linux-tools
spec=genl-kmod/genl_echo.yaml
[ -x "$python" ] || die "no $python: run tests/setup.sh"
[ -f "$tools/ynl/ynl-gen-c.py" ] || die "no kernel tools in $tools: run tests/kernel-tools.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	fails=$((fails + 1))
}

section "gen: the spec against the kernel's schema"
protocol=$("$python" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1])).get("protocol", "genetlink"))' "$spec")
schema=$tools/netlink/$protocol.yaml
if "$python" -c 'import sys, yaml, jsonschema
jsonschema.validate(yaml.safe_load(open(sys.argv[1])), yaml.safe_load(open(sys.argv[2])))' "$spec" "$schema"; then
	echo "$spec validates against $schema"
else
	fail "$spec does not validate against $schema"
fi

section "gen: committed generated files are fresh (cargo xtask check)"
cargo build -q -p xtask
xtask=$ROOT/target/debug/xtask
"$xtask" check || fail "stale generated files (run cargo xtask gen)"

# A copy of the tree as committed (plus files not yet added), without
# build products.
copy_tree() {
	mkdir -p "$1"
	git ls-files -z --cached --others --exclude-standard |
		tar -C "$ROOT" --null -T - -cf - | tar -C "$1" -xf -
}

section "gen: a hand edit to a generated file makes the check fail"
copy_tree "$tmp/base"
cp -a "$tmp/base" "$tmp/edit"
"$xtask" check --root "$tmp/edit" >/dev/null 2>&1 || fail "the pristine copy is already stale"
for f in genl-kmod/include/uapi/linux/genl_echo.h genl-kmod/netlink-gen.c genl-kmod/netlink-gen.h \
	genl-proto/src/generated.rs genl-kmod-rs/uapi.rs tests/vm/genl_echo_gen.py genl-kmod/version.h \
	genl-kmod/dkms.conf debian/genl-echo-dkms.dkms; do
	cp "$tmp/edit/$f" "$tmp/orig"
	# one byte: 2 -> 3 where there is a 2, else a trailing space
	if grep -q 2 "$tmp/orig"; then
		sed '0,/2/s//3/' "$tmp/orig" >"$tmp/edit/$f"
	else
		sed '1s/$/ /' "$tmp/orig" >"$tmp/edit/$f"
	fi
	cmp -s "$tmp/orig" "$tmp/edit/$f" && die "could not edit $f"
	if out=$("$xtask" check --root "$tmp/edit" 2>&1); then
		fail "check passed after a hand edit of $f"
	elif [ "$(grep '^stale: ' <<<"$out" | cut -d' ' -f2)" != "$f" ]; then
		fail "check after a hand edit of $f named: $(grep '^stale: ' <<<"$out" | cut -d' ' -f2 | tr '\n' ' ')"
	else
		echo "hand edit of $f: check fails naming it"
	fi
	cp "$tmp/orig" "$tmp/edit/$f"
done

section "gen: debian/changelog and the path dependencies follow the version"
for edit in "debian/changelog:1s/(\([^)]*\))/(\1.9)/" "Cargo.toml:s/^genl-echo = \(.*\)version = \"=/genl-echo = \1version = \"=9/"; do
	f=${edit%%:*}
	cp "$tmp/edit/$f" "$tmp/orig"
	sed -i "${edit#*:}" "$tmp/edit/$f"
	cmp -s "$tmp/orig" "$tmp/edit/$f" && die "could not edit $f"
	if out=$("$xtask" check --root "$tmp/edit" 2>&1); then
		fail "check passed with the version changed in $f"
	elif ! grep -q "^version: $f: " <<<"$out"; then
		fail "check with the version changed in $f said: $out"
	else
		echo "version changed in $f: check fails naming it"
	fi
	cp "$tmp/orig" "$tmp/edit/$f"
done

section "gen: a new attribute in a copy of the spec regenerates everything and builds"
cp -a "$tmp/base" "$tmp/new"
# Attribute "flags" (u32, 10) taken by ECHO; the test edits only the spec.
"$python" - "$tmp/new/$spec" <<'EOF'
import sys
import yaml

path = sys.argv[1]
with open(path) as f:
    y = yaml.safe_load(f)
y["attribute-sets"][0]["attributes"].append(
    {"name": "flags", "type": "u32", "doc": "Test-only: a new attribute."})
for op in y["operations"]["list"]:
    if op["name"] == "echo":
        op["do"]["request"]["attributes"].append("flags")
with open(path) as f:
    licence = f.readline()
with open(path, "w") as f:
    f.write(licence)
    yaml.safe_dump(y, f, sort_keys=False)
EOF
"$xtask" gen --root "$tmp/new" >/dev/null
diffs=$(diff -rq --no-dereference "$tmp/base" "$tmp/new" || true)
changed=$(sed -n "s|^Files $tmp/base/\([^ ]*\) and .* differ\$|\1|p" <<<"$diffs" | LC_ALL=C sort | tr '\n' ' ')
want="genl-kmod-rs/uapi.rs genl-kmod/genl_echo.yaml genl-kmod/include/uapi/linux/genl_echo.h genl-kmod/netlink-gen.c genl-proto/src/generated.rs tests/vm/genl_echo_gen.py "
if [ "$changed" = "$want" ] && ! grep -q '^Only in' <<<"$diffs"; then
	echo "changed: $changed"
else
	printf '%s\n' "$diffs" >&2
	fail "files changed by the new attribute: '$changed', expected '$want'"
fi
expect() { # FILE FIXED-STRING WHAT
	if grep -qF -- "$2" "$tmp/new/$1"; then
		echo "$3: $1 has '$2'"
	else
		fail "$3: $1 lacks '$2'"
	fi
}
expect genl-kmod/include/uapi/linux/genl_echo.h "	GENL_ECHO_A_FLAGS," "UAPI header"
expect genl-kmod/netlink-gen.c "[GENL_ECHO_A_FLAGS] = { .type = NLA_U32, }," "ECHO policy"
expect genl-kmod/netlink-gen.c "genl_echo_echo_nl_policy[GENL_ECHO_A_FLAGS + 1]" "ECHO policy size"
expect genl-kmod/netlink-gen.c ".maxattr	= GENL_ECHO_A_FLAGS," "ECHO ops entry"
expect genl-proto/src/generated.rs "    Flags = 10," "Rust enum Attr"
expect genl-proto/src/generated.rs "pub const ALL: [Attr; 11]" "Rust Attr::ALL"
expect tests/vm/genl_echo_gen.py "A_FLAGS = 10" "Python numbers"
expect genl-kmod-rs/uapi.rs "pub(crate) const A_FLAGS: u16 = 10;" "Rust module's numbers"
"$xtask" check --root "$tmp/new" >/dev/null 2>&1 || fail "the regenerated copy is not fresh"

while read -r kver; do
	log=$tmp/kmod-$kver.log
	# in_build_env: for Debian's 7.3, inside the trixie environment
	if in_build_env "$kver" -b "$tmp" make -C "$tmp/new/genl-kmod" KDIR="$(kdir_for "$kver")" W=1 >"$log" 2>&1 &&
		[ -f "$tmp/new/genl-kmod/genl_echo.ko" ] && ! grep -q 'warning:' "$log"; then
		echo "module with the new attribute builds for $kver, W=1, no warnings"
	else
		cat "$log" >&2
		fail "module with the new attribute does not build cleanly for $kver"
	fi
	in_build_env "$kver" -b "$tmp" make -s -C "$tmp/new/genl-kmod" KDIR="$(kdir_for "$kver")" clean >/dev/null 2>&1 || true
done < <(target_kernels)

# Own target dir: the copy's crates must not disturb the workspace's build.
export CARGO_TARGET_DIR=$ROOT/target/gen-check
if (cd "$tmp/new" && cargo build -q --offline --workspace &&
	cargo test -q --offline -p genl-proto --test header --test spec); then
	echo "Rust workspace with the new attribute builds; genl-proto's header and spec tests pass"
else
	fail "Rust workspace with the new attribute does not build or its tests fail"
fi

if [ "$fails" -gt 0 ]; then
	die "$fails check(s) failed"
fi
echo "gen: all checks passed"
