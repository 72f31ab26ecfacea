#!/bin/bash
# Release profile choices, measured: for each variant, a clean build of the
# `vtr` binary (its own target directory) and the binary's size. The
# variants override Cargo.toml's [profile.release] through Cargo's
# environment variables. Takes about half an hour on 2 cores.
#
#   bash server/benches/install/profiles.sh [VARIANT...]
set -euo pipefail
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
declare -A variants=(
  [chosen]=""
  [no-strip]="CARGO_PROFILE_RELEASE_STRIP=none"
  [strip-symbols]="CARGO_PROFILE_RELEASE_STRIP=symbols"
  [lto-thin]="CARGO_PROFILE_RELEASE_LTO=thin"
  [lto-fat-cgu1]="CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1"
  [cgu1]="CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1"
  [panic-abort]="CARGO_PROFILE_RELEASE_PANIC=abort"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(chosen lto-thin cgu1 lto-fat-cgu1 panic-abort)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-14s %10s %8s  %s\n' variant bytes build env
for name in "${names[@]}"; do
  env_vars=${variants[$name]?"unknown variant $name (one of ${!variants[*]})"}
  start=$(date +%s)
  env $env_vars CARGO_TARGET_DIR="$work/$name" \
    cargo build --release --locked -p vtr --quiet
  end=$(date +%s)
  printf '%-14s %10d %7ds  %s\n' "$name" "$(stat -c %s "$work/$name/release/vtr")" \
    $((end - start)) "${env_vars:-(Cargo.toml as is)}"
  rm -rf "${work:?}/$name"
done
