#!/usr/bin/env bash
# Package size per function: the release arm64 binaries cargo-lambda builds for Lambda
# (`make build`'s selection plus the hello-world baseline, in one invocation so that they
# share one feature resolution), and each zipped with `zip -9` as Lambda receives it.
#
#   bench/sizes.sh            (needs: make tools, for cargo-lambda and zig)
# Environment: PG_SERVER is not needed; BENCH_OUT, BENCH_NO_BUILD (see bench/common.sh).
# Writes $BENCH_OUT/sizes.json.
set -euo pipefail
source "$(dirname "$0")/common.sh"

if [ "${BENCH_NO_BUILD:-}" != 1 ]; then
  rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
  cargo lambda build --release --arm64 --quiet -p auth -p films -p screenings -p reservations -p migrate -p hello
fi

mkdir -p "$out_dir/zip"
: >"$out_dir/sizes.json"
for function in "${api_functions[@]}" hello; do
  binary=$target_dir/lambda/$function/bootstrap
  file "$binary" | grep -q 'ARM aarch64' || { echo "$binary is not an arm64 binary" >&2; exit 1; }
  rm -f "$out_dir/zip/$function.zip"
  zip -9 -j -q "$out_dir/zip/$function.zip" "$binary"
  printf '{"function": "%s", "binary_bytes": %d, "zip_bytes": %d, "host_binary_bytes": %d}\n' \
    "$function" "$(stat -c %s "$binary")" "$(stat -c %s "$out_dir/zip/$function.zip")" \
    "$(stat -c %s "$bin_dir/$function" 2>/dev/null || echo 0)" >>"$out_dir/sizes.json"
done
cat "$out_dir/sizes.json" >&2
