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
trunk build --release --skip-version-check "$@"

# What a browser downloads, gzipped: the figure the web app's size budget
# (600 KB) is about.
total=0
for f in frontend/dist/*; do
    total=$((total + $(gzip -9c "$f" | wc -c)))
done
echo "web app transfer size (gzip -9, all of frontend/dist): $((total / 1000)) KB"
