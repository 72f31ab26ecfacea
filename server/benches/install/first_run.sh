#!/bin/bash
# Time to first run: from a fresh clone of HEAD, with an empty Cargo home
# (every crate downloaded from crates.io), to the hub's READY line, running
# the README's first command. Needs only git and Rust (rustup).
#
#   bash server/benches/install/first_run.sh
set -euo pipefail
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
git clone -q "$repo" "$work/vtr"
mkdir -p "$work/cargo" "$work/home"
cd "$work/vtr"
export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup} CARGO_HOME=$work/cargo HOME=$work/home
start=$(date +%s%N)
cargo run --release --locked -- hub --listen 127.0.0.1:0 >"$work/out" 2>"$work/err" &
pid=$!
until grep -q '^READY' "$work/out" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
  sleep 0.2
done
end=$(date +%s%N)
kill "$pid"
grep -E '^ *Finished' "$work/err" || true
printf 'first run: %d s from clone to a running hub on %d cores; binary %d bytes\n' \
  $(((end - start) / 1000000000)) "$(nproc)" "$(stat -c %s target/release/vtr)"
