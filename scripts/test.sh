#!/usr/bin/env bash
# Every test: formatting, clippy (warnings are errors), unit tests, aws-smithy-mocks
# fault tests, and the integration tests against a moto server started here.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_venv
echo "==> cargo fmt --check" >&2
cargo fmt --all -- --check
echo "==> cargo clippy -D warnings" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
start_moto
export WARDEN_TEST_ENDPOINT="$AWS_ENDPOINT_URL"
echo "==> cargo test" >&2
log="$ROOT/target/test-output.log"
set +e
cargo test --workspace --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { p += $4; f += $6 } END { printf "all tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
