#!/usr/bin/env bash
# Every test: formatting, clippy (warnings are errors), unit tests, aws-smithy-mocks
# fault tests, the integration tests against a moto server started here, and the
# deployment checks (cfn-lint, sam validate, checkov, template/code, arm64 builds).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_venv
ensure_chromium
echo "==> cargo fmt --check" >&2
cargo fmt --all -- --check
echo "==> cargo clippy -D warnings" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
start_moto
export WARDEN_TEST_ENDPOINT="$AWS_ENDPOINT_URL"
# The property tests (crates/*/tests/properties_*.rs) draw their inputs from this seed:
# the same inputs on every run, another seed to explore (PROPTEST_RNG_SEED=$RANDOM).
export PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-20261205}"
# Test threads get 8 MiB of stack, as Lambda's main thread has: a debug build's async
# frames are several times a release build's (the SDK's builders, one slot per match
# arm), and a central-mode batch nests them 60 deep (1.5 MiB overflowed, 2 MiB is the
# default).
export RUST_MIN_STACK="${RUST_MIN_STACK:-8388608}"
echo "==> cargo test (property tests' seed: $PROPTEST_RNG_SEED)" >&2
log="$ROOT/target/test-output.log"
set +e
cargo test --workspace --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# Two more checks: the demo end to end through EventBridge and the queue, and the
# deployment checks. Each counts as one test in the closing line.
extra_pass=0 extra_fail=0
if [ "$status" -eq 0 ]; then
  export WARDEN_BIN="$ROOT/target/debug/warden"  # built by cargo test for the CLI's tests
  for check in "$ROOT/scripts/demo.sh --check" "$ROOT/scripts/deploy-checks.sh"; do
    echo "==> $check" >&2
    if $check; then extra_pass=$((extra_pass + 1)); else status=1; extra_fail=$((extra_fail + 1)); fi
  done
fi
# One closing line for the whole run (cargo prints one per test binary).
awk -v ep="$extra_pass" -v ef="$extra_fail" '/^test result:/ { p += $4; f += $6 } END { printf "all tests: %d passed, %d failed\n", p + ep, f + ef }' "$log"
exit "$status"
