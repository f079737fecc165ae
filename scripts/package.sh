#!/usr/bin/env bash
# cargo lambda build --release --arm64 of every function, zipped, with its size.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_tools
for fn in "${FUNCTIONS[@]}"; do
  echo "==> cargo lambda build --release --arm64 --bin $fn" >&2
  cargo lambda build --release --arm64 --bin "$fn" --output-format zip --locked
done
echo "function   zipped bootstrap (arm64)"
for fn in "${FUNCTIONS[@]}"; do
  zip="target/lambda/$fn/bootstrap.zip"
  printf '%-10s %s bytes (%s)\n' "$fn" "$(stat -c %s "$zip")" "$(numfmt --to=iec "$(stat -c %s "$zip")")"
done
