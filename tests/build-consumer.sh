#!/bin/bash
# Builds genl-echo-probe the way a user builds a program on the library: a
# new Cargo project in a temporary folder, outside the workspace, depending
# on genl-echo by path (with its tokio front end). Offline, from the cargo registry cache the
# workspace's build filled (the workspace's Cargo.lock is copied in, so the
# same versions resolve). The binary goes to tests/out/consumer/, where
# tests/vm/test_library.py runs it in the VM (the guest cannot build: its
# view of the host is read-only).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

dest=$OUT/consumer
proj=$(mktemp -d /tmp/genl-echo-consumer.XXXXXX)
trap 'rm -rf "$proj"' EXIT
mkdir -p "$proj/src" "$dest"
cat >"$proj/Cargo.toml" <<TOML
[package]
name = "genl-echo-probe"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
genl-echo = { path = "$ROOT/genl-echo", features = ["tokio"] }
tokio = { version = "1", default-features = false, features = ["rt-multi-thread", "time"] }
futures-core = "0.3"

# A workspace of its own: this project is not part of genl_echo's.
[workspace]
TOML
cp "$ROOT/tests/consumer/main.rs" "$proj/src/main.rs"
cp "$ROOT/Cargo.lock" "$proj/Cargo.lock"
(cd "$proj" && CARGO_TARGET_DIR="$dest/target" cargo build --release --offline --quiet)
install -m755 "$dest/target/release/genl-echo-probe" "$dest/genl-echo-probe"
# What the test checks: where it was built and from which source.
{
	echo "project=$proj"
	echo "manifest_dependency=$(grep '^genl-echo' "$proj/Cargo.toml")"
	echo "source_sha256=$(sha256sum "$ROOT/tests/consumer/main.rs" | cut -d' ' -f1)"
} >"$dest/build-info.txt"
echo "built $dest/genl-echo-probe from $proj"
