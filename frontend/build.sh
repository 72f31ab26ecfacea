#!/usr/bin/env bash
# Builds the web app into frontend/dist (release: wasm-opt -Oz), which the
# hub embeds when it is compiled next. Run `bash .ci/setup` once first.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules ]; then
    npm ci --no-audit --no-fund
fi
# npm's wasm-opt must win over any other on PATH (see Trunk.toml).
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cd ..
# The same bytes from any checkout: paths in panic messages (the generated
# protobuf code's OUT_DIR, crates' sources) are written relative to stable
# prefixes, never this machine's. frontend/dist is committed and CI
# rebuilds it to check (see .ci/check-dist).
export CARGO_ENCODED_RUSTFLAGS="--remap-path-prefix=$PWD=/vtr$(printf '\x1f')--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"
trunk build --release --skip-version-check "$@"
# What built it: the bytes match only with the same tools.
{
    rustc --version
    wasm-bindgen --version
    echo "wasm-opt $(wasm-opt --version | awk '{print $3}')"
    trunk --version
} > frontend/dist-toolchain.txt

# What a browser downloads, gzipped: the figure the web app's size budget
# (600 KB) is about.
total=0
for f in frontend/dist/*; do
    total=$((total + $(gzip -9c "$f" | wc -c)))
done
echo "web app transfer size (gzip -9, all of frontend/dist): $((total / 1000)) KB"
